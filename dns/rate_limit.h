// Response rate limiting (RRL) for the answers this server gives itself
// over UDP, as NSD and Knot do it: a spoofed-source flood must not turn the
// server into an amplifier aimed at the spoofed address.
//
// Responses are counted per second in buckets keyed by the client's network
// (/24 for IPv4, /56 for IPv6) and what is answered: the name and type for a
// positive answer, the response code alone for NXDOMAIN and errors (so
// random names count together). Past `responses_per_second` in a bucket,
// every `slip`-th limited response is sent truncated (TC set, no records:
// a real client retries over TCP and gets its answer) and the others are
// dropped; slip 0 drops them all, slip 1 truncates them all.
//
// Memory is fixed: `buckets` slots, a new key takes over the slot it hashes
// to (keyed SipHash, so a client cannot aim at another's slot). Sans-I/O:
// the caller passes the time.
#pragma once

#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <vector>

#include "dns/wire.h"

namespace basefs {

struct RateLimitOptions {
  uint32_t responses_per_second = 200;  // per bucket; 0 turns the limiter off
  uint32_t slip = 2;
  size_t buckets = 1 << 16;
};

class ResponseRateLimiter {
 public:
  enum class Verdict { kSend, kSlip, kDrop };

  explicit ResponseRateLimiter(RateLimitOptions options);

  // The fate of a response with `rcode` to `q` from `client` at second `now`.
  Verdict Check(const sockaddr* client, const Query& q, uint8_t rcode, uint32_t now);

  bool enabled() const { return opts_.responses_per_second > 0; }
  uint64_t slipped() const { return slipped_; }
  uint64_t dropped() const { return dropped_; }

 private:
  struct Bucket {
    uint64_t key = 0;
    uint32_t second = 0;
    uint32_t count = 0;
    uint32_t limited = 0;  // limited responses this second (for slip)
  };
  RateLimitOptions opts_;
  std::array<uint8_t, 16> secret_;
  std::vector<Bucket> buckets_;
  uint64_t slipped_ = 0, dropped_ = 0;
};

}  // namespace basefs
