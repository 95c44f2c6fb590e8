#include "base/host_port.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <gtest/gtest.h>

namespace basefs {
namespace {

TEST(HostPortTest, ParsesIpv4AndPort) {
  auto hp = ParseHostPort("192.0.2.1:7400");
  ASSERT_TRUE(hp.ok()) << hp.status().message();
  EXPECT_EQ(hp->host, "192.0.2.1");
  EXPECT_EQ(hp->port, 7400);
  EXPECT_FALSE(hp->is_ipv6());
  EXPECT_EQ(hp->ToString(), "192.0.2.1:7400");
}

TEST(HostPortTest, ParsesBracketedIpv6AndKeepsBracketsWhenFormatting) {
  auto hp = ParseHostPort("[2001:db8::1]:53");
  ASSERT_TRUE(hp.ok()) << hp.status().message();
  EXPECT_EQ(hp->host, "2001:db8::1");
  EXPECT_EQ(hp->port, 53);
  EXPECT_TRUE(hp->is_ipv6());
  EXPECT_EQ(hp->BracketedHost(), "[2001:db8::1]");
  EXPECT_EQ(hp->ToString(), "[2001:db8::1]:53");
}

TEST(HostPortTest, RefusesBareIpv6WhenAPortIsRequired) {
  auto hp = ParseHostPort("2001:db8::1:53");
  ASSERT_FALSE(hp.ok());
  EXPECT_NE(hp.status().message().find("[ADDR]:PORT"), std::string::npos) << hp.status().message();
}

TEST(HostPortTest, BareIpv6TakesTheDefaultPort) {
  auto hp = ParseHostPort("2001:db8::1", {.default_port = 53});
  ASSERT_TRUE(hp.ok()) << hp.status().message();
  EXPECT_EQ(hp->ToString(), "[2001:db8::1]:53");
  EXPECT_EQ(ParseHostPort("192.0.2.1", {.default_port = 53})->ToString(), "192.0.2.1:53");
  EXPECT_EQ(ParseHostPort("[::1]", {.default_port = 53})->ToString(), "[::1]:53");
}

TEST(HostPortTest, RefusesMissingOrBadPorts) {
  for (const char* bad : {"192.0.2.1", "192.0.2.1:", "192.0.2.1:0", "192.0.2.1:65536", "192.0.2.1:12a", "[::1]",
                          "[::1]:", "[::1]x53", "[::1:53", ":53", "192.0.2.1:999999"})
    EXPECT_FALSE(ParseHostPort(bad).ok()) << bad;
  EXPECT_TRUE(ParseHostPort("127.0.0.1:0", {.allow_port_zero = true}).ok());
}

TEST(HostPortTest, HostNamesOnlyWhereAllowed) {
  EXPECT_FALSE(ParseHostPort("seed.example:7400").ok());
  auto hp = ParseHostPort("seed-1.example:7400", {.allow_names = true});
  ASSERT_TRUE(hp.ok()) << hp.status().message();
  EXPECT_EQ(hp->host, "seed-1.example");
  EXPECT_FALSE(ParseHostPort("bad_name:7400", {.allow_names = true}).ok());
  EXPECT_FALSE(ParseHostPort("[not-v6]:7400", {.allow_names = true}).ok());
}

TEST(HostPortTest, SockaddrRoundTripsBothFamilies) {
  for (const char* text : {"127.0.0.1:5354", "[::1]:5354", "0.0.0.0:0", "[2001:db8::7]:65535"}) {
    socklen_t len = 0;
    auto ss = ParseSockaddr(text, &len);
    ASSERT_TRUE(ss.ok()) << text << ": " << ss.status().message();
    EXPECT_EQ(len, ss->ss_family == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6));
    EXPECT_EQ(FormatSockaddr(reinterpret_cast<const sockaddr*>(&*ss)), text);
  }
  socklen_t len = 0;
  EXPECT_FALSE(ParseSockaddr("localhost:53", &len).ok());
}

}  // namespace
}  // namespace basefs
