#include "zones/projection.h"

#include <set>

#include <gtest/gtest.h>
#include <ldns/ldns.h>

#include "zones/names.h"
#include "zones/parse_cache.h"

namespace basefs {
namespace {

constexpr char kKeyA[] = "KEY-A";
constexpr char kKeyB[] = "KEY-B";

class ProjectionTest : public ::testing::Test {
 protected:
  ProjectionTest() {
    in_.domain = "basefs.";
    in_.self_node = "n1";
    in_.members = {{"n1", "10.0.0.1", true, kKeyA, {}}, {"n2", "2001:db8::2", true, kKeyB, {}}};
  }
  void AddFile(std::string path, std::string content, std::string author = kKeyA) {
    in_.files.push_back(SourceFile{std::move(path), std::move(author), std::move(content)});
  }
  const Zone& Cluster() {
    out_ = Project(in_);
    return out_.zones.at(0);
  }
  static bool Has(const Zone& z, const std::string& owner, uint16_t type, const std::string& rdata = "") {
    for (const auto& r : z.records)
      if (r.owner == owner && r.type == type && (rdata.empty() || r.rdata == rdata)) return true;
    return false;
  }
  static size_t Count(const Zone& z, const std::string& owner, uint16_t type) {
    size_t n = 0;
    for (const auto& r : z.records) n += r.owner == owner && r.type == type;
    return n;
  }
  ProjectionInput in_;
  Projection out_;
};

TEST_F(ProjectionTest, EveryNameFormOfAnInstance) {
  AddFile("/services/Web/web-1",
          "port = 8080\naddress = \"192.0.2.10\"\ntags = [\"primary\"]\n[txt]\npath = \"/api\"\n");
  const Zone& z = Cluster();
  EXPECT_TRUE(out_.bad_files.empty());
  const std::string srv = "1 1 8080 web-1.web.instance.basefs.";
  EXPECT_TRUE(Has(z, "web.service.basefs.", LDNS_RR_TYPE_A, "192.0.2.10"));
  EXPECT_TRUE(Has(z, "web.service.basefs.", LDNS_RR_TYPE_SRV, srv));
  EXPECT_TRUE(Has(z, "primary.web.service.basefs.", LDNS_RR_TYPE_SRV, srv));
  EXPECT_TRUE(Has(z, "web-1.web.instance.basefs.", LDNS_RR_TYPE_A, "192.0.2.10"));
  EXPECT_TRUE(Has(z, "web-1.web.instance.basefs.", LDNS_RR_TYPE_TXT, "\"path=/api\""));
  EXPECT_TRUE(Has(z, "_web._tcp.basefs.", LDNS_RR_TYPE_SRV, srv));
  EXPECT_TRUE(Has(z, "_web._tcp.basefs.", LDNS_RR_TYPE_PTR, "web-1._web._tcp.basefs."));
  EXPECT_TRUE(Has(z, "web-1._web._tcp.basefs.", LDNS_RR_TYPE_SRV, srv));
  EXPECT_TRUE(Has(z, "web-1._web._tcp.basefs.", LDNS_RR_TYPE_TXT));
  EXPECT_TRUE(Has(z, "_services._dns-sd._udp.basefs.", LDNS_RR_TYPE_PTR, "_web._tcp.basefs."));
  EXPECT_TRUE(Has(z, "b._dns-sd._udp.basefs.", LDNS_RR_TYPE_PTR, "basefs."));
  EXPECT_TRUE(Has(z, "lb._dns-sd._udp.basefs.", LDNS_RR_TYPE_PTR, "basefs."));
}

TEST_F(ProjectionTest, TagsSelectInstances) {
  AddFile("/services/db/a", "port = 1\naddress = \"192.0.2.1\"\ntags = [\"primary\"]\n");
  AddFile("/services/db/b", "port = 1\naddress = \"192.0.2.2\"\ntags = [\"replica\"]\n");
  const Zone& z = Cluster();
  EXPECT_EQ(Count(z, "db.service.basefs.", LDNS_RR_TYPE_A), 2u);
  EXPECT_EQ(Count(z, "primary.db.service.basefs.", LDNS_RR_TYPE_A), 1u);
  EXPECT_TRUE(Has(z, "primary.db.service.basefs.", LDNS_RR_TYPE_A, "192.0.2.1"));
  EXPECT_TRUE(Has(z, "replica.db.service.basefs.", LDNS_RR_TYPE_A, "192.0.2.2"));
}

TEST_F(ProjectionTest, AddressDefaultsToTheWritingNode) {
  AddFile("/services/api/x", "port = 9000\n", kKeyB);
  const Zone& z = Cluster();
  EXPECT_TRUE(Has(z, "x.api.instance.basefs.", LDNS_RR_TYPE_AAAA, "2001:db8::2"));
  EXPECT_EQ(Count(z, "x.api.instance.basefs.", LDNS_RR_TYPE_A), 0u);
}

TEST_F(ProjectionTest, ExplicitNodeOwnsTheInstance) {
  AddFile("/services/api/x", "port = 9000\nnode = \"n2\"\n", kKeyA);
  EXPECT_TRUE(Has(Cluster(), "x.api.instance.basefs.", LDNS_RR_TYPE_AAAA, "2001:db8::2"));
}

TEST_F(ProjectionTest, InstancesOfFailedNodesAreLeftOutAndComeBack) {
  AddFile("/services/api/x", "port = 9000\n", kKeyB);
  in_.members[1].alive = false;
  EXPECT_FALSE(Has(Cluster(), "api.service.basefs.", LDNS_RR_TYPE_SRV));
  EXPECT_FALSE(Has(Cluster(), "n2.node.basefs.", LDNS_RR_TYPE_AAAA));
  in_.members[1].alive = true;
  EXPECT_TRUE(Has(Cluster(), "api.service.basefs.", LDNS_RR_TYPE_SRV));
  EXPECT_TRUE(Has(Cluster(), "n2.node.basefs.", LDNS_RR_TYPE_AAAA, "2001:db8::2"));
}

TEST_F(ProjectionTest, FailingHealthCheckHidesOnlyThatInstance) {
  AddFile("/services/api/x", "port = 9000\n", kKeyB);
  AddFile("/services/api/y", "port = 9001\n", kKeyB);
  in_.members[1].failing.insert(InstanceId("api", "x"));
  const Zone& z = Cluster();
  EXPECT_FALSE(Has(z, "x.api.instance.basefs.", LDNS_RR_TYPE_SRV));
  EXPECT_TRUE(Has(z, "y.api.instance.basefs.", LDNS_RR_TYPE_SRV));
}

TEST_F(ProjectionTest, UnknownWriterIsNotLive) {
  AddFile("/services/api/x", "port = 9000\n", "SOMEONE-ELSE");
  EXPECT_FALSE(Has(Cluster(), "api.service.basefs.", LDNS_RR_TYPE_SRV));
  EXPECT_TRUE(out_.bad_files.empty());
}

TEST_F(ProjectionTest, BadFilesAreListedAndTheRestServed) {
  AddFile("/services/web/ok", "port = 80\naddress = \"192.0.2.1\"\n");
  AddFile("/services/web/bad-port", "port = 70000\n");
  AddFile("/services/web/bad_toml", "port = 80\n");
  AddFile("/services/web/garbage", "port = [[[");
  AddFile("/services/loose", "port = 80\n");
  AddFile("/zones/example.org/www", "A 192.0.2.1\nBOGUS 1 2 3\n");
  const Zone& z = Cluster();
  EXPECT_TRUE(Has(z, "web.service.basefs.", LDNS_RR_TYPE_A, "192.0.2.1"));
  ASSERT_EQ(out_.bad_files.size(), 5u);
  for (const auto& b : out_.bad_files) EXPECT_FALSE(b.reason.empty()) << b.path;
  EXPECT_EQ(out_.bad_files[0].path, "/services/web/bad-port");
  EXPECT_NE(out_.bad_files[0].reason.find("70000"), std::string::npos);
}

// Every node that sees the same members gives the same SOA (checkers
// compare it across a zone's servers), with timers that pass them.
TEST_F(ProjectionTest, SoaIsTheSameOnEveryNode) {
  const SoaFields from_n1 = Cluster().soa;
  in_.self_node = "n2";
  const SoaFields from_n2 = Cluster().soa;
  EXPECT_EQ(from_n1, from_n2);
  EXPECT_EQ(from_n1.mname, "n1.node.basefs.");
  EXPECT_GE(from_n1.expire, 14u * 24 * 3600);
  EXPECT_GT(from_n1.refresh, from_n1.retry);
  EXPECT_GE(from_n1.expire, 7u * from_n1.refresh);
  // When n1 is down, both name n2.
  in_.members[0].alive = false;
  EXPECT_EQ(Cluster().soa.mname, "n2.node.basefs.");
}

TEST_F(ProjectionTest, NodeRecordsAndApex) {
  const Zone& z = Cluster();
  EXPECT_EQ(z.apex, "basefs.");
  EXPECT_EQ(z.soa.mname, "n1.node.basefs.");
  EXPECT_TRUE(Has(z, "n1.node.basefs.", LDNS_RR_TYPE_A, "10.0.0.1"));
  EXPECT_TRUE(Has(z, "basefs.", LDNS_RR_TYPE_NS, "n1.node.basefs."));
  EXPECT_TRUE(Has(z, "basefs.", LDNS_RR_TYPE_NS, "n2.node.basefs."));
}

TEST_F(ProjectionTest, ZoneDataFromPaths) {
  AddFile("/zones/example.org/@", "MX 10 mail\n3600 IN TXT \"v=spf1 -all\"\n");
  AddFile("/zones/example.org/www", "300 IN A 192.0.2.1\nAAAA 2001:db8::1\n");
  AddFile("/zones/example.org/api/@", "A 192.0.2.9\n");
  AddFile("/zones/example.org/api/v1", "CNAME www.example.org.\n");
  out_ = Project(in_);
  ASSERT_TRUE(out_.bad_files.empty()) << out_.bad_files[0].reason;
  ASSERT_EQ(out_.zones.size(), 2u);
  const Zone& z = out_.zones[1];
  EXPECT_EQ(z.apex, "example.org.");
  EXPECT_TRUE(Has(z, "example.org.", LDNS_RR_TYPE_MX, "10 mail.example.org."));
  EXPECT_TRUE(Has(z, "www.example.org.", LDNS_RR_TYPE_A, "192.0.2.1"));
  EXPECT_TRUE(Has(z, "www.example.org.", LDNS_RR_TYPE_AAAA, "2001:db8::1"));
  EXPECT_TRUE(Has(z, "api.example.org.", LDNS_RR_TYPE_A, "192.0.2.9"));
  EXPECT_TRUE(Has(z, "v1.api.example.org.", LDNS_RR_TYPE_CNAME, "www.example.org."));
  EXPECT_TRUE(Has(z, "example.org.", LDNS_RR_TYPE_NS, "n1.node.basefs."));
  EXPECT_EQ(z.soa.rname, "hostmaster.example.org.");
  for (const auto& r : z.records)
    if (r.owner == "www.example.org." && r.type == LDNS_RR_TYPE_AAAA) {
      EXPECT_EQ(r.ttl, 300u);
    }
}

TEST_F(ProjectionTest, ZoneProvidedSoaAndNsWin) {
  AddFile("/zones/example.net/@", "SOA ns1.example.net. admin.example.net. 7 100 50 1000 20\nNS ns1\n");
  out_ = Project(in_);
  ASSERT_EQ(out_.zones.size(), 2u);
  const Zone& z = out_.zones[1];
  EXPECT_EQ(z.soa.mname, "ns1.example.net.");
  EXPECT_EQ(z.soa.minimum, 20u);
  EXPECT_EQ(Count(z, "example.net.", LDNS_RR_TYPE_NS), 1u);
  EXPECT_TRUE(Has(z, "example.net.", LDNS_RR_TYPE_NS, "ns1.example.net."));
}

TEST_F(ProjectionTest, ZoneConflictsAreBadFiles) {
  AddFile("/zones/example.org/x", "CNAME a\nA 192.0.2.1\n");
  AddFile("/zones/example.org/y", "SOA a. b. 1 2 3 4 5\n");
  AddFile("/zones/sub.basefs/z", "A 192.0.2.1\n");
  AddFile("/zones/example.org/bad label", "A 192.0.2.1\n");
  out_ = Project(in_);
  EXPECT_EQ(out_.bad_files.size(), 4u);
}

// A CNAME beside other data of the same name, from two files, or at an
// apex: every file involved is listed and the name is left out.
TEST_F(ProjectionTest, CnameConflictsBetweenFilesAreBadFiles) {
  AddFile("/zones/example.org/WWW", "A 192.0.2.1\n");
  AddFile("/zones/example.org/www", "CNAME web.example.org.\n");
  AddFile("/zones/example.org/@", "CNAME other.example.net.\n");
  AddFile("/zones/example.org/ok", "A 192.0.2.2\n");
  out_ = Project(in_);
  ASSERT_EQ(out_.zones.size(), 2u);
  std::set<std::string> bad;
  for (const auto& b : out_.bad_files) bad.insert(b.path);
  EXPECT_EQ(bad, (std::set<std::string>{"/zones/example.org/WWW", "/zones/example.org/www", "/zones/example.org/@"}));
  const Zone& z = out_.zones[1];
  EXPECT_EQ(Count(z, "www.example.org.", LDNS_RR_TYPE_A) + Count(z, "www.example.org.", LDNS_RR_TYPE_CNAME), 0u);
  EXPECT_EQ(Count(z, "example.org.", LDNS_RR_TYPE_CNAME), 0u);
  EXPECT_TRUE(Has(z, "example.org.", LDNS_RR_TYPE_NS));
  EXPECT_TRUE(Has(z, "ok.example.org.", LDNS_RR_TYPE_A, "192.0.2.2"));
}

TEST_F(ProjectionTest, DeterministicOutput) {
  AddFile("/services/b/x", "port = 1\naddress = \"192.0.2.2\"\n");
  AddFile("/services/a/x", "port = 1\naddress = \"192.0.2.1\"\n");
  const Projection first = Project(in_);
  std::reverse(in_.files.begin(), in_.files.end());
  std::reverse(in_.members.begin(), in_.members.end());
  const Projection second = Project(in_);
  EXPECT_EQ(first.zones, second.zones);
}

// RFC 2181 §5: an RRset holds each record once, even when two files give
// it different TTLs (the lowest is kept).
TEST_F(ProjectionTest, ARecordSharedByInstancesWithOtherTtlsAppearsOnce) {
  AddFile("/services/web/a", "port = 1\naddress = \"192.0.2.1\"\nttl = 10\n");
  AddFile("/services/web/b", "port = 2\naddress = \"192.0.2.1\"\nttl = 30\n");
  AddFile("/services/db/c", "port = 3\naddress = \"192.0.2.3\"\nttl = 20\n");
  const Zone& z = Cluster();
  EXPECT_EQ(Count(z, "web.service.basefs.", LDNS_RR_TYPE_A), 1u);
  EXPECT_EQ(Count(z, "_services._dns-sd._udp.basefs.", LDNS_RR_TYPE_PTR), 2u);
  for (const auto& r : z.records)
    if (r.owner == "web.service.basefs." && r.type == LDNS_RR_TYPE_A) {
      EXPECT_EQ(r.ttl, 10u);
    }
}

// The cluster domain's names are the cluster's, even when a /zones zone
// holds the cluster domain.
TEST_F(ProjectionTest, ZoneDataAtOrBelowTheClusterDomainIsLeftToTheCluster) {
  in_.domain = "basefs.example.org.";
  AddFile("/zones/example.org/www", "A 192.0.2.1\n");
  AddFile("/zones/example.org/basefs/x", "A 192.0.2.2\n");
  AddFile("/services/web/a", "port = 1\naddress = \"192.0.2.9\"\n");
  out_ = Project(in_);
  ASSERT_EQ(out_.zones.size(), 2u);
  for (const auto& r : out_.zones[1].records) EXPECT_FALSE(InZone(r.owner, "basefs.example.org.")) << r.owner;
  EXPECT_TRUE(Has(out_.zones[1], "www.example.org.", LDNS_RR_TYPE_A, "192.0.2.1"));
  EXPECT_TRUE(Has(out_.zones[0], "web.service.basefs.example.org.", LDNS_RR_TYPE_A, "192.0.2.9"));
}

TEST_F(ProjectionTest, ParseCacheGivesTheSameProjectionAndForgetsUnusedFiles) {
  AddFile("/services/web/a", "port = 1\naddress = \"192.0.2.1\"\n");
  AddFile("/services/web/bad", "port = 70000\n");
  AddFile("/zones/example.org/www", "A 192.0.2.1\nMX 10 mail\n");
  AddFile("/zones/example.org/worse", "BOGUS 1\n");
  const Projection plain = Project(in_);
  ParseCache cache;
  in_.cache = &cache;
  for (int round = 0; round < 2; ++round) {
    const Projection cached = Project(in_);
    cache.Sweep();
    EXPECT_EQ(cached.zones, plain.zones);
    ASSERT_EQ(cached.bad_files.size(), plain.bad_files.size());
    for (size_t i = 0; i < plain.bad_files.size(); ++i)
      EXPECT_EQ(cached.bad_files[i].reason, plain.bad_files[i].reason);
  }
  EXPECT_EQ(cache.size(), 4u);
  in_.files.resize(1);
  Project(in_);
  cache.Sweep();
  EXPECT_EQ(cache.size(), 1u);
}

}  // namespace
}  // namespace basefs
