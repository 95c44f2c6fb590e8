#include "dns/rate_limit.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <gtest/gtest.h>

#include "dns/query_wire_testing.h"

namespace basefs {
namespace {

constexpr uint8_t kNoError = 0, kNxDomain = 3;

sockaddr_storage Addr(const char* a) {
  sockaddr_storage ss{};
  if (inet_pton(AF_INET, a, &reinterpret_cast<sockaddr_in&>(ss).sin_addr) == 1) {
    ss.ss_family = AF_INET;
  } else {
    ss.ss_family = AF_INET6;
    EXPECT_EQ(inet_pton(AF_INET6, a, &reinterpret_cast<sockaddr_in6&>(ss).sin6_addr), 1) << a;
  }
  return ss;
}

Query Q(const std::string& name, ldns_rr_type type = LDNS_RR_TYPE_A) {
  const std::string wire = testing::QueryWire(name, type);
  Query q;
  EXPECT_EQ(DecodeQuery(reinterpret_cast<const uint8_t*>(wire.data()), wire.size(), &q), Decoded::kOk);
  return q;
}

struct Tally {
  int sent = 0, slipped = 0, dropped = 0;
};

Tally Flood(ResponseRateLimiter& rrl, const char* client, const Query& q, uint8_t rcode, uint32_t second, int n) {
  Tally t;
  const sockaddr_storage ss = Addr(client);
  for (int i = 0; i < n; ++i) {
    switch (rrl.Check(reinterpret_cast<const sockaddr*>(&ss), q, rcode, second)) {
      case ResponseRateLimiter::Verdict::kSend: ++t.sent; break;
      case ResponseRateLimiter::Verdict::kSlip: ++t.slipped; break;
      case ResponseRateLimiter::Verdict::kDrop: ++t.dropped; break;
    }
  }
  return t;
}

TEST(RateLimitTest, LimitsPerSecondAndSlipsEverySecondLimitedResponse) {
  ResponseRateLimiter rrl({.responses_per_second = 200, .slip = 2, .buckets = 1024});
  const Query q = Q("web.service.basefs.");
  Tally t = Flood(rrl, "192.0.2.1", q, kNoError, 100, 1000);
  EXPECT_EQ(t.sent, 200);
  EXPECT_EQ(t.slipped, 400);
  EXPECT_EQ(t.dropped, 400);
  EXPECT_EQ(rrl.slipped(), 400u);
  EXPECT_EQ(rrl.dropped(), 400u);
  // The next second starts afresh.
  t = Flood(rrl, "192.0.2.1", q, kNoError, 101, 200);
  EXPECT_EQ(t.sent, 200);
}

TEST(RateLimitTest, SlipZeroDropsAllAndSlipOneTruncatesAll) {
  const Query q = Q("web.service.basefs.");
  ResponseRateLimiter drop_all({.responses_per_second = 10, .slip = 0, .buckets = 64});
  Tally t = Flood(drop_all, "192.0.2.1", q, kNoError, 1, 50);
  EXPECT_EQ(t.sent, 10);
  EXPECT_EQ(t.dropped, 40);
  ResponseRateLimiter slip_all({.responses_per_second = 10, .slip = 1, .buckets = 64});
  t = Flood(slip_all, "192.0.2.1", q, kNoError, 1, 50);
  EXPECT_EQ(t.sent, 10);
  EXPECT_EQ(t.slipped, 40);
}

TEST(RateLimitTest, BucketsAreTheClientNetworkAndTheAnswer) {
  ResponseRateLimiter rrl({.responses_per_second = 10, .slip = 2, .buckets = 1 << 16});
  const Query web = Q("web.service.basefs."), db = Q("db.service.basefs."),
              web_aaaa = Q("web.service.basefs.", LDNS_RR_TYPE_AAAA);
  EXPECT_EQ(Flood(rrl, "192.0.2.1", web, kNoError, 7, 10).sent, 10);
  // The same /24: the same bucket, already spent.
  EXPECT_EQ(Flood(rrl, "192.0.2.200", web, kNoError, 7, 5).sent, 0);
  // Another /24, another name or another type: their own buckets.
  EXPECT_EQ(Flood(rrl, "192.0.3.1", web, kNoError, 7, 10).sent, 10);
  EXPECT_EQ(Flood(rrl, "192.0.2.1", db, kNoError, 7, 10).sent, 10);
  EXPECT_EQ(Flood(rrl, "192.0.2.1", web_aaaa, kNoError, 7, 10).sent, 10);
  // NXDOMAIN counts per network whatever the name: random names share one.
  for (int i = 0; i < 10; ++i)
    EXPECT_EQ(Flood(rrl, "198.51.100.1", Q("r" + std::to_string(i) + ".basefs."), kNxDomain, 7, 1).sent, 1);
  EXPECT_EQ(Flood(rrl, "198.51.100.1", Q("r99.basefs."), kNxDomain, 7, 1).sent, 0);
  // IPv6 by /56; an IPv4-mapped address is its IPv4 network.
  EXPECT_EQ(Flood(rrl, "2001:db8:0:100::1", web, kNoError, 7, 10).sent, 10);
  EXPECT_EQ(Flood(rrl, "2001:db8:0:1ff::2", web, kNoError, 7, 5).sent, 0);
  EXPECT_EQ(Flood(rrl, "2001:db8:0:200::1", web, kNoError, 7, 10).sent, 10);
  EXPECT_EQ(Flood(rrl, "::ffff:192.0.3.9", web, kNoError, 7, 5).sent, 0);
}

TEST(RateLimitTest, ZeroTurnsItOff) {
  ResponseRateLimiter rrl({.responses_per_second = 0, .slip = 2, .buckets = 16});
  EXPECT_FALSE(rrl.enabled());
  EXPECT_EQ(Flood(rrl, "192.0.2.1", Q("web.service.basefs."), kNoError, 1, 10000).sent, 10000);
}

}  // namespace
}  // namespace basefs
