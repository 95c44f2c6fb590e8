#include "daemon/node_identity.h"

#include <gtest/gtest.h>

namespace basefs {
namespace {

TEST(NodeIdentityTest, AdvertisesTheBoundAddressByDefault) {
  EXPECT_EQ(*ChooseAdvertise("", "192.0.2.1:7400", "198.51.100.9"), "192.0.2.1:7400");
  EXPECT_EQ(*ChooseAdvertise("", "[2001:db8::1]:7400", "198.51.100.9"), "[2001:db8::1]:7400");
}

TEST(NodeIdentityTest, AWildcardBindAdvertisesThePrimaryAddress) {
  EXPECT_EQ(*ChooseAdvertise("", "0.0.0.0:7400", "198.51.100.9"), "198.51.100.9:7400");
  EXPECT_EQ(*ChooseAdvertise("", "[::]:7401", "198.51.100.9"), "198.51.100.9:7401");
}

TEST(NodeIdentityTest, AnAdvertisedHostTakesTheBoundPort) {
  EXPECT_EQ(*ChooseAdvertise("203.0.113.5", "0.0.0.0:7400", "x"), "203.0.113.5:7400");
  EXPECT_EQ(*ChooseAdvertise("[2001:db8::5]", "0.0.0.0:7400", "x"), "[2001:db8::5]:7400");
  EXPECT_EQ(*ChooseAdvertise("2001:db8::5", "0.0.0.0:7400", "x"), "[2001:db8::5]:7400");
  EXPECT_EQ(*ChooseAdvertise("203.0.113.5:9000", "0.0.0.0:7400", "x"), "203.0.113.5:9000");
  EXPECT_EQ(*ChooseAdvertise("[2001:db8::5]:9000", "0.0.0.0:7400", "x"), "[2001:db8::5]:9000");
}

TEST(NodeIdentityTest, ABadAdvertiseIsRefusedWithTheFlagNamed) {
  auto r = ChooseAdvertise("203.0.113.5:99999", "0.0.0.0:7400", "x");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("--advertise"), std::string::npos) << r.status().message();
}

TEST(NodeIdentityTest, NodeNamesAreBounded) {
  EXPECT_EQ(*ChooseNodeName("web-1", 64), "web-1");
  EXPECT_FALSE(ChooseNodeName(std::string(65, 'n'), 64).ok());
  auto host = ChooseNodeName("", 64);  // the host name
  ASSERT_TRUE(host.ok()) << host.status().message();
  EXPECT_FALSE(host->empty());
}

}  // namespace
}  // namespace basefs
