#include "zones/service_file.h"

#include <gtest/gtest.h>

namespace basefs {
namespace {

TEST(ServiceFileTest, ParsesEveryField) {
  auto s = ParseServiceFile(R"(
port = 8080
address = "192.0.2.10"
node = "Web-3"
protocol = "udp"
tags = ["primary", "V2"]
priority = 10
weight = 5
ttl = 30
[txt]
path = "/api"
[check]
tcp = "127.0.0.1:8080"
interval = "10s"
timeout = "2s"
)");
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(s->port, 8080);
  EXPECT_EQ(s->address, "192.0.2.10");
  EXPECT_EQ(s->node, "web-3");
  EXPECT_EQ(s->protocol, "udp");
  EXPECT_EQ(s->tags, (std::vector<std::string>{"primary", "v2"}));
  EXPECT_EQ(s->priority, 10);
  EXPECT_EQ(s->weight, 5);
  EXPECT_EQ(s->ttl, 30u);
  ASSERT_EQ(s->txt.size(), 1u);
  EXPECT_EQ(s->txt[0], (std::pair<std::string, std::string>{"path", "/api"}));
  EXPECT_EQ(s->check.kind, HealthCheck::Kind::kTcp);
  EXPECT_EQ(s->check.target, "127.0.0.1:8080");
  EXPECT_EQ(s->check.interval_ms, 10000u);
  EXPECT_EQ(s->check.timeout_ms, 2000u);
}

TEST(ServiceFileTest, DefaultsFromDesign) {
  auto s = ParseServiceFile("port = 53\n");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->protocol, "tcp");
  EXPECT_EQ(s->priority, 1);
  EXPECT_EQ(s->weight, 1);
  EXPECT_EQ(s->ttl, 10u);
  EXPECT_TRUE(s->address.empty());
}

TEST(ServiceFileTest, RejectsNonsenseWithReason) {
  struct Case {
    std::string text;
    const char* reason;
  } cases[] = {
      {"", "port is required"},
      {"port = 70000", "out of range"},
      {"port = 0", "out of range"},
      {"port = \"80\"", "integer"},
      {"port = 80\naddress = \"300.1.1.1\"", "not an IPv4 or IPv6"},
      {"port = 80\nprotocol = \"sctp\"", "protocol"},
      {"port = 80\ntags = [\"a b\"]", "tag"},
      {"port = 80\nnode = \"a.b\"", "node"},
      {"port = 80\ncolour = 1", "unknown key"},
      {"port = 80\n[txt]\nk = \"" + std::string(300, 'x') + "\"", "255"},
      {"port = 80\n[check]\ntcp = \"h:1\"\nhttp = \"http://x\"", "exactly one"},
      {"port = 80\n[check]\ntcp = \"h:1\"\ninterval = \"10 parsecs\"", "interval"},
      {"port = [", "bad TOML"},
      {"port = 80\n[check]\nhttp = \"http://db.internal:8080/health\"", "numeric IP address"},
      {"port = 80\n[check]\ntcp = \"db.internal:5432\"", "numeric IP address"},
      {"port = 80\n[check]\ntcp = \"127.0.0.1\"", "HOST:PORT"},
      {"port = 80\n[check]\ntcp = \"127.0.0.1:99999\"", "1..65535"},
      {"port = 80\n[check]\nhttp = \"https://127.0.0.1/\"", "http://"},
      {"port = 80\n[check]\nttl = \"10s\"\ntcp = \"127.0.0.1:1\"", "exactly one"},
      {"port = 80\n[check]\nttl = \"10s\"\ninterval = \"5s\"", "no interval"},
      {"port = 80\n[check]\nttl = \"2h\"", "1s..1h"},
  };
  for (const auto& c : cases) {
    auto s = ParseServiceFile(c.text);
    ASSERT_FALSE(s.ok()) << c.text;
    EXPECT_NE(s.status().message().find(c.reason), std::string::npos) << c.text << " -> " << s.status().message();
  }
}

// Checks connect to numeric addresses only: a name would be resolved on
// the daemon's loop, blocking it.
TEST(ServiceFileTest, CheckEndpointsAreNumeric) {
  HealthCheck c;
  c.kind = HealthCheck::Kind::kHttp;
  c.target = "http://localhost:8080/health";
  auto e = ParseCheckEndpoint(c);
  ASSERT_TRUE(e.ok()) << e.status().message();
  EXPECT_EQ(e->host, "127.0.0.1");
  EXPECT_EQ(e->port, 8080);
  EXPECT_EQ(e->path, "/health");
  c.target = "http://[::1]";
  e = ParseCheckEndpoint(c);
  ASSERT_TRUE(e.ok()) << e.status().message();
  EXPECT_EQ(e->Address(), "[::1]:80");
  EXPECT_EQ(e->path, "/");
  c.kind = HealthCheck::Kind::kTcp;
  c.target = "[2001:db8::1]:5432";
  e = ParseCheckEndpoint(c);
  ASSERT_TRUE(e.ok()) << e.status().message();
  EXPECT_EQ(e->host, "2001:db8::1");
  EXPECT_EQ(e->port, 5432);
  c.target = "example.org:80";
  EXPECT_FALSE(ParseCheckEndpoint(c).ok());
}

TEST(ServiceFileTest, FormatRoundTrips) {
  ServiceInstance s;
  s.port = 443;
  s.address = "2001:db8::1";
  s.node = "n1";
  s.protocol = "udp";
  s.tags = {"a", "b"};
  s.priority = 3;
  s.weight = 0;
  s.ttl = 60;
  s.txt = {{"path", "/x \"quoted\""}, {"v", "1"}};
  s.check.kind = HealthCheck::Kind::kHttp;
  s.check.target = "http://127.0.0.1:1/health";
  s.check.interval_ms = 5000;
  s.check.timeout_ms = 1500;
  auto back = ParseServiceFile(FormatServiceFile(s));
  ASSERT_TRUE(back.ok()) << back.status().message() << "\n" << FormatServiceFile(s);
  EXPECT_EQ(*back, s);
}

// A ttl check (Consul's TTL checks): the service reports its own status.
TEST(ServiceFileTest, TtlCheckRoundTrips) {
  auto s = ParseServiceFile("port = 80\n[check]\nttl = \"30s\"\n");
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(s->check.kind, HealthCheck::Kind::kTtl);
  EXPECT_EQ(s->check.interval_ms, 30000u);
  EXPECT_TRUE(s->check.target.empty());
  auto back = ParseServiceFile(FormatServiceFile(*s));
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(*back, *s);
}

TEST(ServiceFileTest, Durations) {
  EXPECT_EQ(*ParseDuration("10s"), 10000u);
  EXPECT_EQ(*ParseDuration("250ms"), 250u);
  EXPECT_EQ(*ParseDuration("2m"), 120000u);
  EXPECT_EQ(*ParseDuration("3"), 3000u);
  EXPECT_FALSE(ParseDuration("s").ok());
  EXPECT_FALSE(ParseDuration("99999999999s").ok());
}

}  // namespace
}  // namespace basefs
