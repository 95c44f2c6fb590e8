// DNS Cookies (RFC 7873) with the interoperable server cookie of RFC 9018:
//
//   server cookie = version 1 | 3 reserved zero bytes | u32 timestamp (unix
//                   seconds) | SipHash-2-4(secret, client cookie | version |
//                   reserved | timestamp | client address)
//
// A server cookie is valid for an hour after its timestamp (and up to five
// minutes before it, for clocks apart). Every reply to a query with a
// COOKIE option carries the client's cookie and a fresh server cookie. A
// client that presents a valid server cookie has proved it receives replies
// at its source address, so it is exempt from response rate limiting
// (dns/rate_limit.h). Sans-I/O: the caller passes the time.
#pragma once

#include <sys/socket.h>

#include <array>
#include <cstdint>

#include "dns/wire.h"

namespace basefs {

class DnsCookies {
 public:
  static constexpr size_t kSecretBytes = 16;
  static constexpr size_t kServerCookieBytes = 16;
  static constexpr uint32_t kValidSeconds = 3600, kFutureSeconds = 300;

  explicit DnsCookies(const std::array<uint8_t, kSecretBytes>& secret) : secret_(secret) {}
  // A random secret.
  DnsCookies();

  // When `q` carries a COOKIE option: sets q->reply_cookie (its client
  // cookie and a server cookie for `client` at `now`) and returns whether
  // the server cookie it carried was valid. False when it had none.
  bool Answer(Query* q, const sockaddr* client, uint32_t now) const;

 private:
  void ServerCookie(const uint8_t* client_cookie, uint32_t timestamp, const sockaddr* client, uint8_t* out) const;
  std::array<uint8_t, kSecretBytes> secret_;
};

}  // namespace basefs
