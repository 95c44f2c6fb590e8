// The forwarder against a scripted upstream on a loopback UDP socket, on a
// real event_base (no timers are waited for: the upstream answers at once
// or the test drives the loop until the reply arrives).
#include "dns/forwarder.h"

#include <arpa/inet.h>
#include <poll.h>
#include <unistd.h>

#include <cstring>
#include <optional>

#include <event2/event.h>
#include <gtest/gtest.h>
#include <ldns/ldns.h>

#include "base/fake_seams.h"
#include "dns/query_wire_testing.h"

namespace basefs {
namespace {

using testing::Pkt;

Pkt Parse(const std::string& wire) { return testing::ParsePkt(wire); }

// A client query for an A record: `name` as written (its case kept), EDNS
// with or without DO, and the CD bit.
std::string ClientQuery(uint16_t id, const std::string& name, bool edns, bool dnssec, bool cd) {
  testing::QueryOptions o;
  o.id = id;
  o.edns = edns;
  o.dnssec = dnssec;
  o.cd = cd;
  return testing::QueryWire(name, LDNS_RR_TYPE_A, o);
}

class ForwarderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    base_ = event_base_new();
    upstream_ = ::socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::bind(upstream_, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)), 0);
    socklen_t len = sizeof(sa);
    ::getsockname(upstream_, reinterpret_cast<sockaddr*>(&sa), &len);
    options_.upstreams = {"127.0.0.1:" + std::to_string(ntohs(sa.sin_port))};
  }
  void TearDown() override {
    forwarder_.reset();
    ::close(upstream_);
    event_base_free(base_);
  }
  void Start() {
    auto f = Forwarder::Create(base_, &clock_, options_);
    ASSERT_TRUE(f.ok()) << f.status().message();
    forwarder_ = std::move(f).value();
  }

  // Sends a client query through the forwarder; the reply lands in `*out`.
  void Ask(const std::string& wire, std::optional<std::string>* out, size_t udp_limit = 1232,
           const std::string& client = "client-a") {
    Query q;
    ASSERT_EQ(DecodeQuery(reinterpret_cast<const uint8_t*>(wire.data()), wire.size(), &q), Decoded::kOk);
    forwarder_->Resolve(reinterpret_cast<const uint8_t*>(wire.data()), wire.size(), q, udp_limit, client,
                        [out](const uint8_t* m, size_t n) { *out = std::string(reinterpret_cast<const char*>(m), n); });
  }

  // The next query the upstream got (within 5 s), and where it came from.
  std::optional<std::string> UpstreamReceives(sockaddr_in* from) {
    pollfd p{upstream_, POLLIN, 0};
    if (::poll(&p, 1, 5000) != 1) return std::nullopt;
    char buf[4096];
    socklen_t len = sizeof(*from);
    const ssize_t n = ::recvfrom(upstream_, buf, sizeof(buf), 0, reinterpret_cast<sockaddr*>(from), &len);
    if (n <= 0) return std::nullopt;
    return std::string(buf, static_cast<size_t>(n));
  }
  bool UpstreamIdle() {
    pollfd p{upstream_, POLLIN, 0};
    return ::poll(&p, 1, 0) == 0;
  }

  // Answers `query` with an A record and an OPT record of the upstream's own.
  void UpstreamAnswers(const std::string& query, const sockaddr_in& to) {
    Pkt q = Parse(query);
    ldns_pkt* r = ldns_pkt_new();
    ldns_pkt_set_id(r, ldns_pkt_id(q.get()));
    ldns_pkt_set_qr(r, true);
    ldns_pkt_set_rd(r, ldns_pkt_rd(q.get()));
    ldns_pkt_set_cd(r, ldns_pkt_cd(q.get()));
    ldns_pkt_set_ra(r, true);
    ldns_rr* question = ldns_rr_clone(ldns_rr_list_rr(ldns_pkt_question(q.get()), 0));
    char* owner = ldns_rdf2str(ldns_rr_owner(question));
    ldns_pkt_push_rr(r, LDNS_SECTION_QUESTION, question);
    ldns_rr* a = nullptr;
    ASSERT_EQ(ldns_rr_new_frm_str(&a, (std::string(owner) + " 300 IN A 192.0.2.53").c_str(), 0, nullptr, nullptr),
              LDNS_STATUS_OK);
    free(owner);
    ldns_pkt_push_rr(r, LDNS_SECTION_ANSWER, a);
    ldns_pkt_set_edns_udp_size(r, 4096);
    ldns_pkt_set_edns_do(r, ldns_pkt_edns_do(q.get()));
    uint8_t* wire = nullptr;
    size_t size = 0;
    ASSERT_EQ(ldns_pkt2wire(&wire, r, &size), LDNS_STATUS_OK);
    ::sendto(upstream_, wire, size, 0, reinterpret_cast<const sockaddr*>(&to), sizeof(to));
    free(wire);
    ldns_pkt_free(r);
  }

  // Runs the loop until `*out` has a reply (at most 5 s).
  void WaitFor(const std::optional<std::string>& out) {
    for (int i = 0; i < 500 && !out; ++i) {
      timeval tv{0, 10000};
      event_base_loopexit(base_, &tv);
      event_base_dispatch(base_);
    }
    ASSERT_TRUE(out.has_value()) << "no reply";
  }

  event_base* base_ = nullptr;
  ManualClock clock_;
  int upstream_ = -1;
  ForwarderOptions options_;
  std::unique_ptr<Forwarder> forwarder_;
};

// Each client gets the answer as it asked: its ID, its question's letter
// case, its CD bit, and an OPT record only if it sent one. DO and CD are
// part of the cache key; the case is not.
TEST_F(ForwarderTest, RepliesFitEachClientAndTheCacheKeepsDnssecApart) {
  Start();
  std::optional<std::string> first;
  Ask(ClientQuery(0x1111, "EXT.example.", true, true, true), &first);
  sockaddr_in from{};
  auto up = UpstreamReceives(&from);
  ASSERT_TRUE(up);
  {
    Pkt q = Parse(*up);
    EXPECT_TRUE(ldns_pkt_edns_do(q.get()));
    EXPECT_TRUE(ldns_pkt_cd(q.get()));
    EXPECT_TRUE(ldns_pkt_rd(q.get()));
    EXPECT_EQ(std::string(*up).substr(12, 13), std::string("\x03"
                                                           "ext\x07"
                                                           "example\x00",
                                                           13));
  }
  UpstreamAnswers(*up, from);
  WaitFor(first);
  {
    Pkt r = Parse(*first);
    EXPECT_EQ(ldns_pkt_id(r.get()), 0x1111);
    EXPECT_TRUE(ldns_pkt_cd(r.get()));
    EXPECT_TRUE(ldns_pkt_edns(r.get()));
    EXPECT_TRUE(ldns_pkt_edns_do(r.get()));
    EXPECT_FALSE(ldns_pkt_aa(r.get()));
    EXPECT_TRUE(ldns_pkt_ra(r.get()));
    EXPECT_EQ(first->substr(12, 13), std::string("\x03"
                                                 "EXT\x07"
                                                 "example\x00",
                                                 13));
  }
  // Without DO and CD: another upstream question.
  std::optional<std::string> plain;
  Ask(ClientQuery(0x2222, "Ext.Example.", false, false, false), &plain);
  up = UpstreamReceives(&from);
  ASSERT_TRUE(up) << "a reply for DO+CD was served to a client that asked for neither";
  UpstreamAnswers(*up, from);
  WaitFor(plain);
  {
    Pkt r = Parse(*plain);
    EXPECT_EQ(ldns_pkt_id(r.get()), 0x2222);
    EXPECT_FALSE(ldns_pkt_cd(r.get()));
    EXPECT_FALSE(ldns_pkt_edns(r.get())) << "OPT in a reply to a query without EDNS";
    EXPECT_EQ(ldns_pkt_ancount(r.get()), 1u);
    EXPECT_EQ(plain->substr(12, 13), std::string("\x03"
                                                 "Ext\x07"
                                                 "Example\x00",
                                                 13));
  }
  // The same question in other letters: from the cache, in its own case.
  std::optional<std::string> cached;
  Ask(ClientQuery(0x3333, "eXt.example.", false, false, false), &cached);
  ASSERT_TRUE(cached.has_value());
  EXPECT_TRUE(UpstreamIdle());
  EXPECT_EQ(cached->substr(12, 13), std::string("\x03"
                                                "eXt\x07"
                                                "example\x00",
                                                13));
  EXPECT_EQ(ldns_pkt_id(Parse(*cached).get()), 0x3333);
  EXPECT_EQ(forwarder_->counters().cache_hits, 1u);
}

// Clients asking a question already in flight wait for that one upstream
// query; distinct questions beyond the in-flight limit get SERVFAIL at once.
TEST_F(ForwarderTest, SameQuestionInFlightIsAskedOnceAndTheInFlightLimitHolds) {
  options_.max_inflight = 2;
  Start();
  std::optional<std::string> a, b, c, d;
  Ask(ClientQuery(1, "same.example.", false, false, false), &a);
  Ask(ClientQuery(2, "SAME.example.", true, false, false), &b);
  Ask(ClientQuery(3, "other.example.", false, false, false), &c);
  Ask(ClientQuery(4, "third.example.", false, false, false), &d);
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(ldns_pkt_get_rcode(Parse(*d).get()), LDNS_RCODE_SERVFAIL);
  sockaddr_in from{};
  auto up1 = UpstreamReceives(&from);
  ASSERT_TRUE(up1);
  const sockaddr_in from1 = from;
  auto up2 = UpstreamReceives(&from);
  ASSERT_TRUE(up2);
  EXPECT_TRUE(UpstreamIdle()) << "the same question went upstream twice";
  UpstreamAnswers(*up1, from1);
  UpstreamAnswers(*up2, from);
  WaitFor(a);
  WaitFor(b);
  WaitFor(c);
  EXPECT_EQ(ldns_pkt_ancount(Parse(*a).get()), 1u);
  EXPECT_EQ(ldns_pkt_id(Parse(*b).get()), 2);
  EXPECT_TRUE(ldns_pkt_edns(Parse(*b).get()));
  EXPECT_FALSE(ldns_pkt_edns(Parse(*a).get()));
  EXPECT_EQ(b->substr(12, 14), std::string("\x04"
                                           "SAME\x07"
                                           "example\x00",
                                           14));
  EXPECT_EQ(forwarder_->counters().joined, 1u);
}

// The per-client key: an IPv4 address, an IPv6 /64, and an IPv4 client of
// a dual-stack socket as its IPv4 address.
TEST(ForwarderClientKeyTest, IPv4MappedClientsAreTheirIPv4Address) {
  auto v4 = [](const char* a) {
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    inet_pton(AF_INET, a, &sa.sin_addr);
    return ClientKey(reinterpret_cast<const sockaddr*>(&sa));
  };
  auto v6 = [](const char* a) {
    sockaddr_in6 sa{};
    sa.sin6_family = AF_INET6;
    inet_pton(AF_INET6, a, &sa.sin6_addr);
    return ClientKey(reinterpret_cast<const sockaddr*>(&sa));
  };
  EXPECT_EQ(v6("::ffff:192.0.2.1"), v4("192.0.2.1"));
  EXPECT_NE(v6("::ffff:192.0.2.1"), v6("::ffff:192.0.2.2"));
  EXPECT_EQ(v6("2001:db8:1:2::1"), v6("2001:db8:1:2:ffff::9"));
  EXPECT_NE(v6("2001:db8:1:2::1"), v6("2001:db8:1:3::1"));
}

// One client cannot hold more than max_per_client questions in flight;
// another client still gets through, and the first one's slots come back
// when its answers do.
TEST_F(ForwarderTest, OneClientCannotTakeEveryInFlightSlot) {
  options_.max_per_client = 2;
  Start();
  std::optional<std::string> a1, a2, a3, b1, a4;
  Ask(ClientQuery(1, "one.example.", false, false, false), &a1, 1232, "a");
  Ask(ClientQuery(2, "two.example.", false, false, false), &a2, 1232, "a");
  Ask(ClientQuery(3, "three.example.", false, false, false), &a3, 1232, "a");
  ASSERT_TRUE(a3.has_value());
  EXPECT_EQ(ldns_pkt_get_rcode(Parse(*a3).get()), LDNS_RCODE_SERVFAIL);
  EXPECT_EQ(forwarder_->counters().client_limited, 1u);
  Ask(ClientQuery(4, "three.example.", false, false, false), &b1, 1232, "b");
  EXPECT_FALSE(b1.has_value()) << "another client was limited too";

  sockaddr_in from{};
  for (int i = 0; i < 3; ++i) {
    auto up = UpstreamReceives(&from);
    ASSERT_TRUE(up) << "query " << i << " did not go upstream";
    UpstreamAnswers(*up, from);
  }
  WaitFor(a1);
  WaitFor(a2);
  WaitFor(b1);
  EXPECT_EQ(ldns_pkt_get_rcode(Parse(*b1).get()), LDNS_RCODE_NOERROR);
  // Answered: client a may ask again.
  Ask(ClientQuery(5, "four.example.", false, false, false), &a4, 1232, "a");
  EXPECT_FALSE(a4.has_value());
  auto up = UpstreamReceives(&from);
  ASSERT_TRUE(up);
  UpstreamAnswers(*up, from);
  WaitFor(a4);
  EXPECT_EQ(ldns_pkt_get_rcode(Parse(*a4).get()), LDNS_RCODE_NOERROR);
  EXPECT_EQ(forwarder_->counters().client_limited, 1u);
}

}  // namespace
}  // namespace basefs
