#include "dns/answer_table.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <functional>
#include <random>
#include <set>

#include "dns/responder.h"
#include "dns/wire.h"
#include "zones/parse_cache.h"

namespace basefs {
namespace {

constexpr uint16_t kTypes[] = {1, 2, 5, 6, 12, 15, 16, 28, 33, 255, 65280};

// The answer `t` gives to (name, type), as bytes.
std::string Ask(const AnswerTable& t, const std::string& name, uint16_t type) {
  uint8_t qbuf[512];
  size_t qlen = 0;
  EXPECT_TRUE(NameToWire(name, qbuf + 12, &qlen)) << name;
  std::memset(qbuf, 0, 12);
  qbuf[5] = 1;
  WriteU16(qbuf + 12 + qlen, type);
  WriteU16(qbuf + 14 + qlen, 1);
  Query q;
  EXPECT_EQ(DecodeQuery(qbuf, 16 + qlen, &q), Decoded::kOk);
  static uint8_t out[kResponseBufferBytes];
  const size_t n = t.Answer(qbuf, q, kMaxDnsMessageBytes, out);
  return std::string(reinterpret_cast<char*>(out), n);
}

// Every name of the zones (owners and the names above them), plus names
// that do not exist.
std::set<std::string> NamesOf(const std::vector<Zone>& zones) {
  std::set<std::string> names = {"basefs.", "example.org.", "nope.example.org.", "x.nope.basefs.", "a.example.org."};
  for (const Zone& z : zones) {
    names.insert(z.apex);
    for (const Record& r : z.records)
      for (std::string n = r.owner; n.find('.') != std::string::npos && n.size() > 1; n = n.substr(n.find('.') + 1))
        names.insert(n);
  }
  return names;
}

// Asserts that `inc` answers every question exactly as `full` does.
void ExpectSameAnswers(const AnswerTable& inc, const AnswerTable& full, const std::vector<Zone>& zones,
                       const std::string& where) {
  EXPECT_EQ(inc.name_count(), full.name_count()) << where;
  EXPECT_EQ(inc.answer_count(), full.answer_count()) << where;
  for (const std::string& name : NamesOf(zones))
    for (uint16_t type : kTypes)
      ASSERT_EQ(Ask(inc, name, type), Ask(full, name, type)) << where << ": " << name << " type " << type;
  for (const Zone& z : zones) {
    uint8_t qbuf[512];
    size_t qlen = 0;
    ASSERT_TRUE(NameToWire(z.apex, qbuf + 12, &qlen));
    std::memset(qbuf, 0, 12);
    qbuf[5] = 1;
    WriteU16(qbuf + 12 + qlen, 252);
    WriteU16(qbuf + 14 + qlen, 1);
    Query q;
    ASSERT_EQ(DecodeQuery(qbuf, 16 + qlen, &q), Decoded::kOk);
    EXPECT_EQ(inc.Transfer(q), full.Transfer(q)) << where << ": AXFR " << z.apex;
  }
}

// Every answer of an incrementally built table equals a full build's.
TEST(AnswerTableTest, IncrementalBuildAnswersLikeAFullBuild) {
  ProjectionInput in;
  in.domain = "basefs.";
  in.self_node = "n1";
  in.members = {{"n1", "10.0.0.1", true, "K1", {}}, {"n2", "10.0.0.2", true, "K2", {}}};
  for (int i = 0; i < 20; ++i)
    in.files.push_back({"/services/s" + std::to_string(i % 5) + "/i" + std::to_string(i), i % 2 ? "K1" : "K2",
                        "port = " + std::to_string(100 + i) + "\ntags = [\"t" + std::to_string(i % 3) + "\"]\n"});
  in.files.push_back({"/zones/example.org/www", "K1", "A 192.0.2.1\n"});
  in.files.push_back({"/zones/example.org/alias", "K1", "CNAME www.example.org.\n"});
  in.files.push_back({"/zones/example.org/mx/@", "K1", "MX 10 www.example.org.\n"});

  std::vector<std::function<void()>> steps = {
      [&] { in.files.push_back({"/services/s9/new", "K1", "port = 9\n"}); },
      [&] { in.files.erase(in.files.begin() + 3); },
      [&] { in.files[0].content = "port = 1\naddress = \"192.0.2.99\"\n"; },
      [&] { in.members[1].alive = false; },
      [&] { in.members[0].failing.insert(InstanceId("s1", "i1")); },
      [&] { in.files.back().content = "MX 20 alias.example.org.\n"; },
      [&] { in.files.push_back({"/zones/example.org/www", "K1", "A 192.0.2.2\n"}); },
      [&] { in.files.push_back({"/zones/example.org/deep/er/x", "K1", "TXT x\n"}); },
      [&] { in.members[1].alive = true; },
  };
  Projection p = Project(in);
  uint32_t serial = 100;
  auto prev = AnswerTable::Build(p.zones, {serial, serial});
  ASSERT_TRUE(prev.ok());
  std::unique_ptr<AnswerTable> table = std::move(prev).value();
  for (size_t step = 0; step < steps.size(); ++step) {
    steps[step]();
    p = Project(in);
    ++serial;
    auto inc = AnswerTable::Build(p.zones, {serial, serial}, table.get());
    auto full = AnswerTable::Build(p.zones, {serial, serial});
    ASSERT_TRUE(inc.ok() && full.ok());
    EXPECT_LT((*inc)->answers_built(), (*full)->answers_built()) << "step " << step;
    ExpectSameAnswers(**inc, **full, p.zones, "step " + std::to_string(step));
    table = std::move(inc).value();
  }
}

// A change to one instance rebuilds the names that show it, not the
// service catalogue (_services._dns-sd._udp) or other services.
TEST(AnswerTableTest, EditingAnInstanceBuildsOnlyTheNamesThatShowIt) {
  ProjectionInput in;
  in.domain = "basefs.";
  in.self_node = "n1";
  in.members = {{"n1", "10.0.0.1", true, "K1", {}}};
  for (int i = 0; i < 50; ++i)
    in.files.push_back({"/services/s" + std::to_string(i) + "/i", "K1", "port = 80\n"});
  Projection p = Project(in);
  auto first = AnswerTable::Build(p.zones, {1});
  ASSERT_TRUE(first.ok());
  in.files[7].content = "port = 81\n";
  p = Project(in);
  auto next = AnswerTable::Build(p.zones, {2}, first->get());
  ASSERT_TRUE(next.ok());
  // s7.service, i.s7.instance, _s7._tcp, i._s7._tcp (SRV changed; each a
  // few answers) and the apex: far fewer than the 50 services' answers.
  EXPECT_LE((*next)->answers_built(), 30u);
  auto full = AnswerTable::Build(p.zones, {2});
  ASSERT_TRUE(full.ok());
  ExpectSameAnswers(**next, **full, p.zones, "after the edit");
}

// A PTR answer carries its instance's SRV and TXT and the addresses of the
// SRV target (RFC 6763 §12.1): a new address two links away rebuilds it.
TEST(AnswerTableTest, PtrAnswerFollowsTheAddressOfItsInstancesSrvTarget) {
  ProjectionInput in;
  in.domain = "basefs.";
  in.self_node = "n1";
  in.files = {{"/zones/example.org/list", "K", "PTR inst.example.org.\n"},
              {"/zones/example.org/inst", "K", "SRV 1 1 80 host.example.org.\nTXT path=/\n"},
              {"/zones/example.org/host", "K", "A 192.0.2.1\n"}};
  Projection p = Project(in);
  auto first = AnswerTable::Build(p.zones, {1, 1});
  ASSERT_TRUE(first.ok());
  in.files[2].content = "A 192.0.2.2\n";
  p = Project(in);
  auto next = AnswerTable::Build(p.zones, {2, 2}, first->get());
  auto full = AnswerTable::Build(p.zones, {2, 2});
  ASSERT_TRUE(next.ok() && full.ok());
  EXPECT_NE(Ask(**next, "list.example.org.", 12), Ask(**first, "list.example.org.", 12));
  ExpectSameAnswers(**next, **full, p.zones, "after the address change");
}

// With many /zones zones, a change in one, a new zone and a removed zone
// each build the names they touch, not every zone's apex.
TEST(AnswerTableTest, ChangesAmongManyZonesBuildOnlyTheirNames) {
  ProjectionInput in;
  in.domain = "basefs.";
  in.self_node = "n1";
  in.members = {{"n1", "10.0.0.1", true, "K1", {}}};
  for (int i = 0; i < 300; ++i)
    in.files.push_back({"/zones/z" + std::to_string(i) + ".test/www", "K1", "A 192.0.2.1\n"});
  Projection p = Project(in);
  ASSERT_EQ(p.zones.size(), 301u);
  std::vector<uint32_t> serials(301, 1);
  auto table = AnswerTable::Build(p.zones, serials);
  ASSERT_TRUE(table.ok());
  const size_t all = (*table)->answers_built();
  auto step = [&](const char* what) {
    p = Project(in);
    serials.assign(p.zones.size(), 1);
    auto next = AnswerTable::Build(p.zones, serials, table->get());
    ASSERT_TRUE(next.ok()) << what;
    EXPECT_LT((*next)->answers_built(), 20u) << what << " (a full build is " << all << ")";
    auto full = AnswerTable::Build(p.zones, serials);
    ASSERT_TRUE(full.ok());
    ExpectSameAnswers(**next, **full, p.zones, what);
    table = std::move(next);
  };
  in.files[7].content = "A 192.0.2.2\n";
  step("a change in one zone");
  in.files.push_back({"/zones/new.test/www", "K1", "A 192.0.2.3\n"});
  step("a new zone");
  in.files.erase(in.files.begin() + 3);
  step("a zone removed");
}

// An RRset too large for any DNS message (over 64 KiB) is answered with as
// many records as fit and TC, over TCP too; not with SERVFAIL.
TEST(AnswerTableTest, AnswerOverSixtyFourKibIsTruncatedNotAnError) {
  ProjectionInput in;
  in.domain = "basefs.";
  in.self_node = "n1";
  std::string lines;
  for (int i = 0; i < 5000; ++i) lines += "A 10.0." + std::to_string(i / 250) + "." + std::to_string(i % 250) + "\n";
  in.files.push_back({"/zones/example.org/big", "K", lines});
  const Projection p = Project(in);
  ASSERT_TRUE(p.bad_files.empty()) << p.bad_files[0].reason;
  auto t = AnswerTable::Build(p.zones, {1, 1});
  ASSERT_TRUE(t.ok());
  const std::string tcp = Ask(**t, "big.example.org.", 1);
  ASSERT_GE(tcp.size(), 12u);
  EXPECT_LE(tcp.size(), kMaxDnsMessageBytes);
  EXPECT_EQ(tcp[3] & 0x0f, 0) << "rcode";
  EXPECT_TRUE(tcp[2] & 0x02) << "TC";
  const uint16_t ancount = ReadU16(reinterpret_cast<const uint8_t*>(tcp.data()) + 6);
  EXPECT_GT(ancount, 3000);
  EXPECT_LT(ancount, 5000);
}

// Many CNAMEs to a large RRset answer with the chain alone (bounded
// memory); a CNAME to a small one carries the data too.
TEST(AnswerTableTest, CnameToALargeRRsetAnswersWithTheChainAlone) {
  ProjectionInput in;
  in.domain = "basefs.";
  in.self_node = "n1";
  std::string lines;
  for (int i = 0; i < 400; ++i)
    lines += "A 10.0." + std::to_string(i / 250) + "." + std::to_string(i % 250) + "\nAAAA 2001:db8::" + std::to_string(i + 1) + "\n";
  in.files.push_back({"/zones/example.org/big", "K", lines});
  in.files.push_back({"/zones/example.org/small", "K", "A 192.0.2.1\n"});
  for (int i = 0; i < 50; ++i)
    in.files.push_back({"/zones/example.org/c" + std::to_string(i), "K", "CNAME big.example.org.\n"});
  in.files.push_back({"/zones/example.org/s", "K", "CNAME small.example.org.\n"});
  const Projection p = Project(in);
  ASSERT_TRUE(p.bad_files.empty()) << p.bad_files[0].reason;
  auto t = AnswerTable::Build(p.zones, {1, 1});
  ASSERT_TRUE(t.ok());
  const std::string chain = Ask(**t, "c7.example.org.", 1);
  ASSERT_GE(chain.size(), 12u);
  EXPECT_EQ(chain[3] & 0x0f, 0);
  EXPECT_EQ(ReadU16(reinterpret_cast<const uint8_t*>(chain.data()) + 6), 1) << "the CNAME alone";
  EXPECT_LE(chain.size(), 200u);
  const std::string small = Ask(**t, "s.example.org.", 1);
  EXPECT_EQ(ReadU16(reinterpret_cast<const uint8_t*>(small.data()) + 6), 2) << "the CNAME and the A record";
}

TEST(AnswerTableTest, RefusesZonesThatAreNotSortedOrNotLowercase) {
  Zone z;
  z.apex = "example.org.";
  z.records = {{"b.example.org.", 1, 60, "192.0.2.1"}, {"a.example.org.", 1, 60, "192.0.2.2"}};
  EXPECT_FALSE(AnswerTable::Build({z}, {1}).ok());
  z.records = {{"A.example.org.", 1, 60, "192.0.2.1"}};
  EXPECT_FALSE(AnswerTable::Build({z}, {1}).ok());
}

uint64_t EnvU64(const char* name, uint64_t dflt) {
  const char* v = std::getenv(name);
  return v && *v ? std::stoull(v) : dflt;
}

// Random service files, /zones files (CNAME chains, also across zones and
// to names that do not exist, MX, SRV, PTR, empty non-terminals), members
// coming and going and failing checks: after every change the incremental
// table answers every question like a table built from scratch.
class RandomCluster {
 public:
  explicit RandomCluster(uint64_t seed) : rng_(seed) {
    in_.domain = "basefs.";
    in_.self_node = "n1";
    in_.members = {{"n1", "10.0.0.1", true, "K1", {}}, {"n2", "2001:db8::2", true, "K2", {}},
                   {"n3", "10.0.0.3", true, "K3", {}}};
  }
  ProjectionInput& input() { return in_; }

  void Step() {
    switch (Pick(10)) {
      case 0:
      case 1:
      case 2: Put(ServicePath(), ServiceText()); break;
      case 3:
      case 4: Put(ZonePath(), ZoneText()); break;
      case 5:
      case 6:
        if (!in_.files.empty()) in_.files.erase(in_.files.begin() + static_cast<long>(Pick(in_.files.size())));
        break;
      case 7: {
        MemberView& m = in_.members[Pick(in_.members.size())];
        m.alive = !m.alive;
        break;
      }
      case 8: {
        MemberView& m = in_.members[Pick(in_.members.size())];
        const std::string id = InstanceId("s" + std::to_string(Pick(4)), "i" + std::to_string(Pick(4)));
        if (!m.failing.erase(id)) m.failing.insert(id);
        break;
      }
      default: {
        MemberView& m = in_.members[Pick(in_.members.size())];
        m.address = Pick(2) ? "10.0.1." + std::to_string(Pick(9) + 1) : "2001:db8::" + std::to_string(Pick(9) + 1);
        break;
      }
    }
  }

 private:
  size_t Pick(size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng_); }

  void Put(const std::string& path, const std::string& content) {
    for (SourceFile& f : in_.files)
      if (f.path == path) {
        f.content = content;
        return;
      }
    in_.files.push_back({path, "K" + std::to_string(Pick(3) + 1), content});
  }

  std::string ServicePath() { return "/services/s" + std::to_string(Pick(4)) + "/i" + std::to_string(Pick(4)); }
  std::string ServiceText() {
    std::string t = "port = " + std::to_string(Pick(3) + 80) + "\n";
    if (Pick(2)) t += "address = \"" + std::string(Pick(2) ? "192.0.2." : "2001:db8::1:") + std::to_string(Pick(5) + 1) + "\"\n";
    if (Pick(3) == 0) t += "node = \"n" + std::to_string(Pick(3) + 1) + "\"\n";
    if (Pick(2)) t += "tags = [\"t" + std::to_string(Pick(3)) + "\"]\n";
    if (Pick(3) == 0) t += "protocol = \"udp\"\n";
    t += "ttl = " + std::to_string(Pick(3) * 10 + 5) + "\n";
    if (Pick(2)) t += "[txt]\nk = \"v" + std::to_string(Pick(3)) + "\"\n";
    return t;
  }
  std::string ZonePath() {
    static const char* kZones[] = {"example.org", "example.org", "example.org", "example.net"};
    static const char* kOwners[] = {"www", "alias", "mx/@", "a/b/deep", "srv", "@", "a/@", "chain", "x/y"};
    return std::string("/zones/") + kZones[Pick(4)] + "/" + kOwners[Pick(9)];
  }
  std::string ZoneText() {
    static const char* kCnames[] = {"CNAME www.example.org.",   "CNAME alias.example.org.", "CNAME chain.example.org.",
                                    "CNAME s1.service.basefs.", "CNAME nope.example.org.",  "CNAME www.example.net."};
    static const char* kRecords[] = {
        "A 192.0.2.1",           "A 192.0.2.2",        "AAAA 2001:db8::7",           "A 192.0.2.3",
        "MX 10 www.example.org.", "MX 20 srv.example.org.", "TXT hello",                "TXT other",
        "SRV 1 1 80 www.example.org.", "SRV 1 1 80 srv.example.org.", "PTR www.example.org.", "PTR srv.example.org.",
        "NS ns.example.net.",
    };
    if (Pick(4) == 0) return std::string(kCnames[Pick(6)]) + "\n";
    std::string t;
    for (size_t n = Pick(3) + 1; n > 0; --n) t += std::string(kRecords[Pick(13)]) + "\n";
    return t;
  }

  std::mt19937_64 rng_;
  ProjectionInput in_;
};

TEST(AnswerTablePropertyTest, IncrementalBuildsAnswerLikeFullBuildsAfterRandomChanges) {
  const uint64_t base_seed = EnvU64("BASEFS_PROPERTY_SEED", 20261201);
  const uint64_t cases = EnvU64("BASEFS_PROPERTY_CASES", 40);
  size_t built_incremental = 0, built_full = 0;
  for (uint64_t c = 0; c < cases; ++c) {
    const uint64_t seed = base_seed + c;
    SCOPED_TRACE("seed " + std::to_string(seed) + " (BASEFS_PROPERTY_SEED=" + std::to_string(seed) +
                 " BASEFS_PROPERTY_CASES=1 replays it)");
    RandomCluster cluster(seed);
    ParseCache cache;
    std::unique_ptr<AnswerTable> table;
    for (int step = 0; step < 40; ++step) {
      cluster.Step();
      const Projection plain = Project(cluster.input());
      cluster.input().cache = &cache;
      const Projection p = Project(cluster.input());
      cluster.input().cache = nullptr;
      cache.Sweep();
      ASSERT_EQ(p.zones, plain.zones) << "step " << step << ": the parse cache changed the projection";
      std::vector<uint32_t> serials(p.zones.size(), static_cast<uint32_t>(step + 1));
      auto inc = AnswerTable::Build(p.zones, serials, table.get());
      auto full = AnswerTable::Build(p.zones, serials);
      ASSERT_TRUE(inc.ok()) << inc.status().message();
      ASSERT_TRUE(full.ok()) << full.status().message();
      ExpectSameAnswers(**inc, **full, p.zones, "step " + std::to_string(step));
      if (::testing::Test::HasFatalFailure()) return;
      built_incremental += (*inc)->answers_built();
      built_full += (*full)->answers_built();
      table = std::move(inc).value();
    }
  }
  // Not a timing: the incremental path must actually share answers.
  EXPECT_LT(built_incremental, built_full);
  std::printf("answers built: incremental %zu, full %zu\n", built_incremental, built_full);
}

}  // namespace
}  // namespace basefs
