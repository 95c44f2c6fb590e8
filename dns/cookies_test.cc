#include "dns/cookies.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>

#include <gtest/gtest.h>

#include "dns/query_wire_testing.h"
#include "dns/responder.h"

namespace basefs {
namespace {

constexpr uint32_t kNow = 1'800'000'000;

sockaddr_in V4(const char* a) {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  inet_pton(AF_INET, a, &sa.sin_addr);
  return sa;
}

std::string WithCookie(const std::string& cookie) {
  testing::QueryOptions o;
  o.edns = true;
  o.cookie = cookie;
  return testing::QueryWire("web.service.basefs.", LDNS_RR_TYPE_A, o);
}

Decoded Decode(const std::string& wire, Query* q) {
  return DecodeQuery(reinterpret_cast<const uint8_t*>(wire.data()), wire.size(), q);
}

class CookiesTest : public ::testing::Test {
 protected:
  CookiesTest() : cookies_(std::array<uint8_t, 16>{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}) {}
  // The server cookie the server gives `client` for `client_cookie` at `now`.
  std::string ServerCookie(const std::string& client_cookie, const sockaddr_in& client, uint32_t now) {
    Query q;
    EXPECT_EQ(Decode(WithCookie(client_cookie), &q), Decoded::kOk);
    EXPECT_FALSE(cookies_.Answer(&q, reinterpret_cast<const sockaddr*>(&client), now));
    EXPECT_EQ(q.reply_cookie_len, 24);
    return std::string(reinterpret_cast<char*>(q.reply_cookie) + 8, 16);
  }
  bool Valid(const std::string& full, const sockaddr_in& client, uint32_t now) {
    Query q;
    EXPECT_EQ(Decode(WithCookie(full), &q), Decoded::kOk);
    return cookies_.Answer(&q, reinterpret_cast<const sockaddr*>(&client), now);
  }
  DnsCookies cookies_;
  const std::string client_cookie_ = "\x11\x22\x33\x44\x55\x66\x77\x88";
  const sockaddr_in a_ = V4("192.0.2.1"), b_ = V4("192.0.2.2");
};

TEST_F(CookiesTest, ServerCookieHasTheRfc9018Layout) {
  const std::string sc = ServerCookie(client_cookie_, a_, kNow);
  EXPECT_EQ(sc[0], 1);  // version
  EXPECT_EQ(sc.substr(1, 3), std::string(3, '\0'));
  const auto* ts = reinterpret_cast<const uint8_t*>(sc.data() + 4);
  EXPECT_EQ(static_cast<uint32_t>(ts[0]) << 24 | ts[1] << 16 | ts[2] << 8 | ts[3], kNow);
}

TEST_F(CookiesTest, ValidOnlyForTheSameClientWithinAnHour) {
  const std::string sc = ServerCookie(client_cookie_, a_, kNow);
  EXPECT_TRUE(Valid(client_cookie_ + sc, a_, kNow + 10));
  EXPECT_TRUE(Valid(client_cookie_ + sc, a_, kNow + 3600));
  EXPECT_FALSE(Valid(client_cookie_ + sc, a_, kNow + 3601));  // too old
  EXPECT_FALSE(Valid(client_cookie_ + sc, a_, kNow - 301));   // from too far in the future
  EXPECT_FALSE(Valid(client_cookie_ + sc, b_, kNow + 10));    // another address
  std::string other_client = client_cookie_;
  other_client[0] ^= 1;
  EXPECT_FALSE(Valid(other_client + sc, a_, kNow + 10));  // another client cookie
  std::string tampered = sc;
  tampered[15] ^= 1;
  EXPECT_FALSE(Valid(client_cookie_ + tampered, a_, kNow + 10));
  tampered = sc;
  tampered[7] ^= 1;  // the timestamp
  EXPECT_FALSE(Valid(client_cookie_ + tampered, a_, kNow + 10));
  // Another server's secret does not accept it.
  DnsCookies other(std::array<uint8_t, 16>{});
  Query q;
  ASSERT_EQ(Decode(WithCookie(client_cookie_ + sc), &q), Decoded::kOk);
  EXPECT_FALSE(other.Answer(&q, reinterpret_cast<const sockaddr*>(&a_), kNow + 10));
}

TEST_F(CookiesTest, QueriesWithoutACookieGetNone) {
  Query q;
  testing::QueryOptions o;
  o.edns = true;
  ASSERT_EQ(Decode(testing::QueryWire("x.basefs.", LDNS_RR_TYPE_A, o), &q), Decoded::kOk);
  EXPECT_FALSE(cookies_.Answer(&q, reinterpret_cast<const sockaddr*>(&a_), kNow));
  EXPECT_EQ(q.reply_cookie_len, 0);
}

TEST_F(CookiesTest, CookieLengthsOutsideRfc7873AreFormErr) {
  Query q;
  for (size_t n : {1u, 7u, 9u, 15u, 41u})
    EXPECT_EQ(Decode(WithCookie(std::string(n, 'c')), &q), Decoded::kFormErr) << n;
  for (size_t n : {8u, 16u, 24u, 40u}) {
    EXPECT_EQ(Decode(WithCookie(std::string(n, 'c')), &q), Decoded::kOk) << n;
    EXPECT_EQ(q.cookie_len, n);
  }
}

// Through the query path: the reply's OPT carries the client cookie and a
// server cookie, and it still fits the client's UDP size.
TEST_F(CookiesTest, RepliesCarryTheCookie) {
  ResponderOptions opts;
  opts.cookies = &cookies_;
  opts.client = reinterpret_cast<const sockaddr*>(&a_);
  opts.now = kNow;
  opts.forward = false;
  const std::string wire = WithCookie(client_cookie_);
  Query q;
  std::vector<uint8_t> out(kResponseBufferBytes);
  const Outcome o =
      Respond(reinterpret_cast<const uint8_t*>(wire.data()), wire.size(), false, nullptr, opts, &q, out.data());
  ASSERT_EQ(o.action, DnsAction::kReply);  // REFUSED: no table, no recursion
  EXPECT_FALSE(o.cookie_valid);
  auto p = testing::ParsePkt(std::string(reinterpret_cast<char*>(out.data()), o.len));
  ASSERT_TRUE(p);
  EXPECT_EQ(ldns_pkt_get_rcode(p.get()), LDNS_RCODE_REFUSED);
  // The OPT record is last: ... | 00 0a 00 18 | client cookie | server cookie.
  ASSERT_GE(o.len, 28u);
  const uint8_t* opt = out.data() + o.len - 28;
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(opt), 4), std::string("\x00\x0a\x00\x18", 4));
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(opt + 4), 8), client_cookie_);
  const std::string sc(reinterpret_cast<const char*>(opt + 12), 16);
  EXPECT_TRUE(Valid(client_cookie_ + sc, a_, kNow + 1));
  // Sent back, it is recognised.
  const std::string again = WithCookie(client_cookie_ + sc);
  const Outcome o2 =
      Respond(reinterpret_cast<const uint8_t*>(again.data()), again.size(), false, nullptr, opts, &q, out.data());
  EXPECT_TRUE(o2.cookie_valid);
}

}  // namespace
}  // namespace basefs
