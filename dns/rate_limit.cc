#include "dns/rate_limit.h"

#include <netinet/in.h>
#include <sodium.h>

#include <cstring>

namespace basefs {
namespace {

constexpr size_t kIpv4PrefixBytes = 3, kIpv6PrefixBytes = 7;  // /24 and /56

}  // namespace

ResponseRateLimiter::ResponseRateLimiter(RateLimitOptions options) : opts_(options) {
  randombytes_buf(secret_.data(), secret_.size());
  if (opts_.buckets == 0) opts_.buckets = 1;
  if (enabled()) buckets_.resize(opts_.buckets);
}

ResponseRateLimiter::Verdict ResponseRateLimiter::Check(const sockaddr* client, const Query& q, uint8_t rcode,
                                                        uint32_t now) {
  if (!enabled()) return Verdict::kSend;
  // The key: network | rcode | (for a positive answer) type and name.
  uint8_t input[1 + kIpv6PrefixBytes + 1 + 2 + kMaxWireNameBytes];
  size_t n = 0;
  input[n++] = static_cast<uint8_t>(client->sa_family);
  if (client->sa_family == AF_INET) {
    std::memcpy(input + n, &reinterpret_cast<const sockaddr_in*>(client)->sin_addr, kIpv4PrefixBytes);
    n += kIpv4PrefixBytes;
  } else if (client->sa_family == AF_INET6) {
    const auto* a = reinterpret_cast<const sockaddr_in6*>(client)->sin6_addr.s6_addr;
    const bool mapped = IN6_IS_ADDR_V4MAPPED(&reinterpret_cast<const sockaddr_in6*>(client)->sin6_addr);
    if (mapped) input[0] = AF_INET;
    std::memcpy(input + n, mapped ? a + 12 : a, mapped ? kIpv4PrefixBytes : kIpv6PrefixBytes);
    n += mapped ? kIpv4PrefixBytes : kIpv6PrefixBytes;
  }
  input[n++] = rcode;
  if (rcode == 0) {
    WriteU16(input + n, q.qtype);
    n += 2;
    std::memcpy(input + n, q.qname, q.qname_len);
    n += q.qname_len;
  }
  uint64_t key;
  crypto_shorthash_siphash24(reinterpret_cast<uint8_t*>(&key), input, n, secret_.data());
  Bucket& b = buckets_[key % buckets_.size()];
  if (b.key != key || b.second != now) {
    b.key = key;
    b.second = now;
    b.count = 0;
    b.limited = 0;
  }
  if (++b.count <= opts_.responses_per_second) return Verdict::kSend;
  ++b.limited;
  if (opts_.slip > 0 && b.limited % opts_.slip == 0) {
    ++slipped_;
    return Verdict::kSlip;
  }
  ++dropped_;
  return Verdict::kDrop;
}

}  // namespace basefs
