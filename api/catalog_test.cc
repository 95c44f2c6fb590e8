#include "api/catalog.h"

#include <gtest/gtest.h>

namespace basefs {
namespace {

CatalogFileInput File(std::string path, std::string author, std::string content) {
  return CatalogFileInput{std::move(path), std::move(author), std::move(content), 1, 2};
}

// Ownership as in DNS: the file's node, else the member whose key wrote it.
TEST(CatalogTest, InstancesBelongToTheirNode) {
  CatalogInput in;
  in.self = "a";
  in.datacenter = "dc";
  in.members = {{"b", "10.0.0.2:7400", "alive", 1, "KEYB", {}}, {"a", "10.0.0.1:7400", "suspect", 1, "KEYA", {}}};
  in.files = {File("/services/web/w1", "KEYA", "port = 80\n"),
              File("/services/web/w2", "KEYA", "port = 80\nnode = \"b\"\n"),
              File("/services/web/w3", "NOBODY", "port = 80\n"), File("/services/web/w4", "KEYA", "port = 70000\n"),
              File("/services/Web_x/w5", "KEYA", "port = 80\n")};
  Catalog cat = BuildCatalog(in);
  ASSERT_EQ(cat.nodes.size(), 2u);
  EXPECT_EQ(cat.nodes[0].name, "a") << "sorted by name";
  EXPECT_TRUE(cat.nodes[0].alive) << "suspect is still alive";
  ASSERT_EQ(cat.instances.size(), 3u);
  EXPECT_EQ(cat.instances[0].node, "a");
  EXPECT_EQ(cat.instances[0].node_address, "10.0.0.1");
  EXPECT_TRUE(cat.instances[0].passing);
  EXPECT_EQ(cat.instances[1].node, "b");
  EXPECT_EQ(cat.instances[2].node, "") << "written by a key no member has";
  EXPECT_FALSE(cat.instances[2].passing);
  EXPECT_FALSE(cat.instances[2].serving);
  ASSERT_EQ(cat.bad_files.size(), 1u);
  EXPECT_EQ(cat.bad_files[0].path, "/services/web/w4");
}

// A warning keeps the instance in DNS but out of ?passing (as in Consul).
TEST(CatalogTest, LocalChecksReportWarningAndCritical) {
  CatalogInput in;
  in.self = "a";
  in.members = {{"a", "10.0.0.1:7400", "alive", 1, "KEYA", {}}};
  in.files = {File("/services/db/d1", "KEYA", "port = 5432\n[check]\nttl = \"10s\"\n")};
  in.local_checks[InstanceId("db", "d1")] = {"warning", "slow"};
  Catalog cat = BuildCatalog(in);
  ASSERT_EQ(cat.instances.size(), 1u);
  ASSERT_EQ(cat.instances[0].checks.size(), 2u);
  EXPECT_EQ(cat.instances[0].checks[1].status, "warning");
  EXPECT_EQ(cat.instances[0].checks[1].output, "slow");
  EXPECT_FALSE(cat.instances[0].passing);
  EXPECT_TRUE(cat.instances[0].serving);
  in.local_checks[InstanceId("db", "d1")] = {"critical", "down"};
  EXPECT_FALSE(BuildCatalog(in).instances[0].serving);
}

TEST(CatalogTest, NodeIdsAreStableUuids) {
  EXPECT_EQ(NodeUuid("KEY", "a"), NodeUuid("KEY", "b")) << "the key decides";
  EXPECT_NE(NodeUuid("KEY", "a"), NodeUuid("KEY2", "a"));
  EXPECT_EQ(NodeUuid("", "a").size(), 36u);
  EXPECT_EQ(NodeUuid("", "a")[8], '-');
}

}  // namespace
}  // namespace basefs
