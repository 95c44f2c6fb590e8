#include "dns/cookies.h"

#include <netinet/in.h>
#include <sodium.h>

#include <cstring>

namespace basefs {
namespace {

constexpr uint8_t kVersion = 1;

uint32_t ReadU32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) << 24 | static_cast<uint32_t>(p[1]) << 16 | static_cast<uint32_t>(p[2]) << 8 |
         p[3];
}

}  // namespace

DnsCookies::DnsCookies() { randombytes_buf(secret_.data(), secret_.size()); }

void DnsCookies::ServerCookie(const uint8_t* client_cookie, uint32_t timestamp, const sockaddr* client,
                              uint8_t* out) const {
  out[0] = kVersion;
  out[1] = out[2] = out[3] = 0;
  out[4] = static_cast<uint8_t>(timestamp >> 24);
  out[5] = static_cast<uint8_t>(timestamp >> 16);
  out[6] = static_cast<uint8_t>(timestamp >> 8);
  out[7] = static_cast<uint8_t>(timestamp);
  uint8_t input[kClientCookieBytes + 8 + 16];
  std::memcpy(input, client_cookie, kClientCookieBytes);
  std::memcpy(input + kClientCookieBytes, out, 8);
  size_t n = kClientCookieBytes + 8;
  if (client && client->sa_family == AF_INET) {
    std::memcpy(input + n, &reinterpret_cast<const sockaddr_in*>(client)->sin_addr, 4);
    n += 4;
  } else if (client && client->sa_family == AF_INET6) {
    const auto* v6 = reinterpret_cast<const sockaddr_in6*>(client);
    if (IN6_IS_ADDR_V4MAPPED(&v6->sin6_addr)) {
      std::memcpy(input + n, v6->sin6_addr.s6_addr + 12, 4);
      n += 4;
    } else {
      std::memcpy(input + n, v6->sin6_addr.s6_addr, 16);
      n += 16;
    }
  }
  static_assert(crypto_shorthash_siphash24_KEYBYTES == kSecretBytes);
  static_assert(crypto_shorthash_siphash24_BYTES == 8);
  crypto_shorthash_siphash24(out + 8, input, n, secret_.data());
}

bool DnsCookies::Answer(Query* q, const sockaddr* client, uint32_t now) const {
  if (q->cookie_len == 0) return false;
  bool valid = false;
  if (q->cookie_len == kClientCookieBytes + kServerCookieBytes && q->cookie[kClientCookieBytes] == kVersion) {
    const uint32_t ts = ReadU32(q->cookie + kClientCookieBytes + 4);
    // Serial-number arithmetic (RFC 1982): the age may wrap.
    const auto age = static_cast<int32_t>(now - ts);
    if (age <= static_cast<int32_t>(kValidSeconds) && age >= -static_cast<int32_t>(kFutureSeconds)) {
      uint8_t expect[kServerCookieBytes];
      ServerCookie(q->cookie, ts, client, expect);
      valid = sodium_memcmp(expect, q->cookie + kClientCookieBytes, kServerCookieBytes) == 0;
    }
  }
  std::memcpy(q->reply_cookie, q->cookie, kClientCookieBytes);
  ServerCookie(q->cookie, now, client, q->reply_cookie + kClientCookieBytes);
  q->reply_cookie_len = kClientCookieBytes + kServerCookieBytes;
  return valid;
}

}  // namespace basefs
