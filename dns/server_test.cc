// The DNS server's client policies on real loopback sockets and a real
// event_base: who may recurse (--recursion-allow), the RA bit, response rate
// limiting and DNS Cookies. The upstream resolver is a socket the test
// holds; waits are on conditions with deadlines.
#include "dns/server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <optional>

#include <event2/event.h>
#include <gtest/gtest.h>
#include <ldns/ldns.h>

#include "base/fake_seams.h"
#include "base/host_port.h"
#include "dns/query_wire_testing.h"
#include "zones/projection.h"

namespace basefs {
namespace {

using testing::Pkt;

int UdpSocket(const char* addr) {
  const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  inet_pton(AF_INET, addr, &sa.sin_addr);
  EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)), 0) << addr;
  return fd;
}

std::string LocalAddress(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
  return FormatSockaddr(reinterpret_cast<sockaddr*>(&ss));
}

class DnsServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    base_ = event_base_new();
    upstream_ = UdpSocket("127.0.0.1");
    ForwarderOptions fo;
    fo.upstreams = {LocalAddress(upstream_)};
    auto f = Forwarder::Create(base_, &clock_, fo);
    ASSERT_TRUE(f.ok()) << f.status().message();
    forwarder_ = std::move(f).value();
    options_.listen = "127.0.0.1:0";
    options_.recursion_allow = {"127.0.0.2/32"};
    options_.rate_limit = {.responses_per_second = 5, .slip = 2, .buckets = 1024};
  }
  void TearDown() override {
    server_.reset();
    forwarder_.reset();
    for (int fd : {upstream_, client1_, client2_})
      if (fd >= 0) ::close(fd);
    event_base_free(base_);
  }
  void Start() {
    auto s = DnsServer::Start(base_, options_, forwarder_.get());
    ASSERT_TRUE(s.ok()) << s.status().message();
    server_ = std::move(s).value();
    ProjectionInput in;
    in.domain = "basefs.";
    in.self_node = "n1";
    in.members = {{"n1", "10.0.0.1", true, "K", {}}};
    in.files.push_back({"/services/web/web-1", "K", "port = 8080\naddress = \"192.0.2.10\"\n"});
    auto t = AnswerTable::Build(Project(in).zones, {1});
    ASSERT_TRUE(t.ok()) << t.status().message();
    server_->SetTable(std::shared_ptr<const AnswerTable>(std::move(t).value()));
    socklen_t len = 0;
    auto ss = ParseSockaddr(server_->local_address(), &len);
    ASSERT_TRUE(ss.ok());
    server_addr_ = *ss;
    server_len_ = len;
    client1_ = UdpSocket("127.0.0.1");
    client2_ = UdpSocket("127.0.0.2");
  }
  void Send(int fd, const std::string& wire) {
    ASSERT_EQ(::sendto(fd, wire.data(), wire.size(), 0, reinterpret_cast<sockaddr*>(&server_addr_), server_len_),
              static_cast<ssize_t>(wire.size()));
  }
  // Runs the loop until `done` holds (or 10 s pass: then false).
  bool RunUntil(const std::function<bool()>& done) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!done()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      event_base_loop(base_, EVLOOP_NONBLOCK);
      pollfd p[3] = {{client1_, POLLIN, 0}, {client2_, POLLIN, 0}, {upstream_, POLLIN, 0}};
      ::poll(p, 3, 5);
    }
    return true;
  }
  // Reads one datagram from `fd` if one is there.
  static std::optional<std::string> Read(int fd) {
    char buf[65536];
    const ssize_t n = ::recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
    if (n <= 0) return std::nullopt;
    return std::string(buf, static_cast<size_t>(n));
  }
  // Sends `wire` from `fd` and waits for the reply.
  Pkt Ask(int fd, const std::string& wire) {
    Send(fd, wire);
    std::optional<std::string> reply;
    EXPECT_TRUE(RunUntil([&] { return (reply = Read(fd)).has_value(); }));
    return reply ? testing::ParsePkt(*reply) : nullptr;
  }

  event_base* base_ = nullptr;
  ManualClock clock_;
  int upstream_ = -1, client1_ = -1, client2_ = -1;
  std::unique_ptr<Forwarder> forwarder_;
  DnsServerOptions options_;
  std::unique_ptr<DnsServer> server_;
  sockaddr_storage server_addr_{};
  socklen_t server_len_ = 0;
};

TEST_F(DnsServerTest, OnlyAllowedClientsRecurseAndSeeRa) {
  Start();
  // 127.0.0.1 is not in the list: REFUSED, no RA, and nothing goes upstream.
  Pkt p = Ask(client1_, testing::QueryWire("example.com.", LDNS_RR_TYPE_A));
  ASSERT_TRUE(p);
  EXPECT_EQ(ldns_pkt_get_rcode(p.get()), LDNS_RCODE_REFUSED);
  EXPECT_FALSE(ldns_pkt_ra(p.get()));
  EXPECT_EQ(server_->counters().recursion_refused, 1u);
  EXPECT_EQ(forwarder_->counters().upstream_sent, 0u);
  EXPECT_FALSE(Read(upstream_).has_value());
  // Our own names are answered to everyone, without RA for it.
  p = Ask(client1_, testing::QueryWire("web.service.basefs.", LDNS_RR_TYPE_A));
  ASSERT_TRUE(p);
  EXPECT_EQ(ldns_pkt_get_rcode(p.get()), LDNS_RCODE_NOERROR);
  EXPECT_TRUE(ldns_pkt_aa(p.get()));
  EXPECT_FALSE(ldns_pkt_ra(p.get()));

  // 127.0.0.2 is: its query goes upstream and the reply comes back with RA.
  Send(client2_, testing::QueryWire("example.com.", LDNS_RR_TYPE_A));
  std::optional<std::string> upstream_query;
  sockaddr_storage from{};
  socklen_t from_len = sizeof(from);
  ASSERT_TRUE(RunUntil([&] {
    char buf[4096];
    const ssize_t n =
        ::recvfrom(upstream_, buf, sizeof(buf), MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&from), &from_len);
    if (n > 0) upstream_query = std::string(buf, static_cast<size_t>(n));
    return upstream_query.has_value();
  }));
  std::string reply = *upstream_query;
  reply[2] = static_cast<char>(reply[2] | 0x80);  // QR
  reply[3] = static_cast<char>(0x80);             // RA, NOERROR
  ASSERT_GT(::sendto(upstream_, reply.data(), reply.size(), 0, reinterpret_cast<sockaddr*>(&from), from_len), 0);
  std::optional<std::string> answer;
  ASSERT_TRUE(RunUntil([&] { return (answer = Read(client2_)).has_value(); }));
  p = testing::ParsePkt(*answer);
  EXPECT_EQ(ldns_pkt_get_rcode(p.get()), LDNS_RCODE_NOERROR);
  EXPECT_TRUE(ldns_pkt_ra(p.get()));
  // And its authoritative answers say it may recurse.
  p = Ask(client2_, testing::QueryWire("web.service.basefs.", LDNS_RR_TYPE_A));
  ASSERT_TRUE(p);
  EXPECT_TRUE(ldns_pkt_ra(p.get()));
  EXPECT_EQ(server_->counters().recursion_refused, 1u);
}

TEST_F(DnsServerTest, ReloadedRecursionListTakesEffectAndBadOnesAreRefused) {
  Start();
  EXPECT_FALSE(server_->SetRecursionAllow({"10.0.0.0/33"}).ok());
  EXPECT_FALSE(server_->SetRecursionAllow({"localnet"}).ok());
  ASSERT_TRUE(server_->SetRecursionAllow({"localhost"}).ok());
  Send(client1_, testing::QueryWire("example.com.", LDNS_RR_TYPE_A));
  ASSERT_TRUE(RunUntil([&] { return Read(upstream_).has_value(); }));
  EXPECT_EQ(server_->counters().recursion_refused, 0u);
}

// Collects every reply to `n` copies of a query sent at once.
struct Replies {
  int full = 0, truncated = 0;
};

TEST_F(DnsServerTest, RateLimitsFloodsButNotClientsWithAValidCookie) {
  Start();
  const std::string wire = testing::QueryWire("web.service.basefs.", LDNS_RR_TYPE_A);
  constexpr int kFlood = 60;
  for (int i = 0; i < kFlood; ++i) Send(client1_, wire);
  Replies r;
  ASSERT_TRUE(RunUntil([&] {
    while (auto m = Read(client1_)) {
      Pkt p = testing::ParsePkt(*m);
      if (ldns_pkt_tc(p.get())) {
        EXPECT_EQ(ldns_pkt_ancount(p.get()), 0);
        ++r.truncated;
      } else {
        EXPECT_EQ(ldns_pkt_ancount(p.get()), 1);
        ++r.full;
      }
    }
    const DnsCounters& c = server_->counters();
    return c.udp_queries == kFlood && static_cast<uint64_t>(r.full + r.truncated) == kFlood - c.rate_limited_dropped;
  }));
  const DnsCounters& c = server_->counters();
  EXPECT_GT(c.rate_limited_dropped, 0u);
  EXPECT_EQ(static_cast<uint64_t>(r.truncated), c.rate_limited_slipped);
  EXPECT_GT(r.truncated, 0);

  // A client that returns the server's cookie is answered in full, every time.
  testing::QueryOptions o;
  o.edns = true;
  o.cookie = "abcdefgh";
  Pkt first = Ask(client2_, testing::QueryWire("web.service.basefs.", LDNS_RR_TYPE_A, o));
  ASSERT_TRUE(first);
  ldns_rdf* edns = ldns_pkt_edns_data(first.get());
  ASSERT_NE(edns, nullptr);
  ASSERT_EQ(ldns_rdf_size(edns), 28u);
  const std::string opt(reinterpret_cast<char*>(ldns_rdf_data(edns)), 28);
  EXPECT_EQ(opt.substr(4, 8), "abcdefgh");
  o.cookie = opt.substr(4);
  const std::string with_cookie = testing::QueryWire("web.service.basefs.", LDNS_RR_TYPE_A, o);
  for (int i = 0; i < kFlood; ++i) Send(client2_, with_cookie);
  int full = 0;
  ASSERT_TRUE(RunUntil([&] {
    while (auto m = Read(client2_)) {
      Pkt p = testing::ParsePkt(*m);
      EXPECT_FALSE(ldns_pkt_tc(p.get()));
      if (ldns_pkt_ancount(p.get()) == 1) ++full;
    }
    return full == kFlood;
  }));
  EXPECT_EQ(server_->counters().valid_cookies, static_cast<uint64_t>(kFlood));
}

TEST(AddressListTest, KeywordsAndBlocks) {
  auto l = ParseAddressList({"localhost"});
  ASSERT_TRUE(l.ok());
  sockaddr_in lo{};
  lo.sin_family = AF_INET;
  inet_pton(AF_INET, "127.9.9.9", &lo.sin_addr);
  EXPECT_TRUE(ListContains(*l, reinterpret_cast<sockaddr*>(&lo)));
  sockaddr_in out{};
  out.sin_family = AF_INET;
  inet_pton(AF_INET, "192.0.2.1", &out.sin_addr);
  EXPECT_FALSE(ListContains(*l, reinterpret_cast<sockaddr*>(&out)));
  // localnets holds at least the loopback network of `lo`.
  l = ParseAddressList({"localnets"});
  ASSERT_TRUE(l.ok());
  EXPECT_TRUE(ListContains(*l, reinterpret_cast<sockaddr*>(&lo)));
  EXPECT_FALSE(ParseAddressList({"10.0.0.0/8", "bogus"}).ok());
  EXPECT_TRUE(ParseAddressList({}).ok());
}

}  // namespace
}  // namespace basefs
