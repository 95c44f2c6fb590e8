#include "dns/answer_table.h"

#include <cstdlib>
#include <cstring>
#include <deque>
#include <functional>
#include <iostream>
#include <map>
#include <random>
#include <set>

#include <gtest/gtest.h>

#include "dns/responder.h"
#include "dns/wire.h"
#include "zones/parse_cache.h"

namespace basefs {
namespace {

constexpr uint16_t kTypes[] = {1, 2, 5, 6, 12, 13, 15, 16, 28, 33, 99, 255, 65280};

// The answer `t` gives to (name, type) within `limit` bytes, as bytes.
std::string Ask(const AnswerTable& t, const std::string& name, uint16_t type, size_t limit = kMaxDnsMessageBytes) {
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
  const size_t n = t.Answer(qbuf, q, limit, out);
  return std::string(reinterpret_cast<char*>(out), n);
}

std::vector<std::string> Axfr(const AnswerTable& t, const std::string& apex) {
  uint8_t qbuf[512];
  size_t qlen = 0;
  EXPECT_TRUE(NameToWire(apex, qbuf + 12, &qlen));
  std::memset(qbuf, 0, 12);
  qbuf[5] = 1;
  WriteU16(qbuf + 12 + qlen, 252);
  WriteU16(qbuf + 14 + qlen, 1);
  Query q;
  EXPECT_EQ(DecodeQuery(qbuf, 16 + qlen, &q), Decoded::kOk);
  return t.Transfer(q);
}

// Every name of the zones (owners and the names above them), a name that
// does not exist below each, and a few others.
void AddNames(const std::vector<Zone>& zones, std::set<std::string>* names) {
  for (const Zone& z : zones) {
    names->insert(z.apex);
    names->insert("zz-nx." + z.apex);
    for (const Record& r : z.records)
      for (std::string n = r.owner; n.find('.') != std::string::npos && n.size() > 1; n = n.substr(n.find('.') + 1)) {
        names->insert(n);
        names->insert("zz-nx." + n);
      }
  }
}

// Asserts that `inc` answers every question exactly as `full` does: every
// name of the new and the previous zones, every type, at 64 KiB and at 512
// bytes (the minimal and TC paths), and AXFR of every apex.
void ExpectSameAnswers(const AnswerTable& inc, const AnswerTable& full, const std::vector<Zone>& zones,
                       const std::string& where, const std::vector<Zone>* before = nullptr) {
  ASSERT_EQ(inc.name_count(), full.name_count()) << where;
  ASSERT_EQ(inc.answer_count(), full.answer_count()) << where;
  std::set<std::string> names = {"basefs.",           "example.org.",   "org.",
                                 "nope.example.org.", "x.nope.basefs.", "a.example.org."};
  AddNames(zones, &names);
  if (before) AddNames(*before, &names);
  for (const std::string& name : names)
    for (uint16_t type : kTypes)
      for (size_t limit : {kMaxDnsMessageBytes, size_t{512}})
        ASSERT_EQ(Ask(inc, name, type, limit), Ask(full, name, type, limit))
            << where << ": " << name << " type " << type << " within " << limit << " bytes";
  std::set<std::string> apexes;
  for (const Zone& z : zones) apexes.insert(z.apex);
  if (before)
    for (const Zone& z : *before) apexes.insert(z.apex);
  for (const std::string& a : apexes) ASSERT_EQ(Axfr(inc, a), Axfr(full, a)) << where << ": AXFR " << a;
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
      [&] {
        in.files.push_back({"/services/s9/new", "K1", "port = 9\n"});
      },
      [&] { in.files.erase(in.files.begin() + 3); },
      [&] { in.files[0].content = "port = 1\naddress = \"192.0.2.99\"\n"; },
      [&] { in.members[1].alive = false; },
      [&] { in.members[0].failing.insert(InstanceId("s1", "i1")); },
      [&] { in.files.back().content = "MX 20 alias.example.org.\n"; },
      [&] {
        in.files.push_back({"/zones/example.org/www", "K1", "A 192.0.2.2\n"});
      },
      [&] {
        in.files.push_back({"/zones/example.org/deep/er/x", "K1", "TXT x\n"});
      },
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
  for (int i = 0; i < 50; ++i) in.files.push_back({"/services/s" + std::to_string(i) + "/i", "K1", "port = 80\n"});
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
    lines += "A 10.0." + std::to_string(i / 250) + "." + std::to_string(i % 250) +
             "\nAAAA 2001:db8::" + std::to_string(i + 1) + "\n";
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

// Random service files, /zones files (nested zones and zones coming and
// going, SOA files, owners between nested apexes, CNAME chains up to ten
// links, also across zones and to names that do not exist, MX, NS, SRV,
// PTR to DNS-SD instances, RRsets beyond the 4 KiB chase limit and beyond
// 64 KiB), the cluster domain inside a /zones zone, members coming and
// going and failing checks; serials raised as the daemon does, always, or
// at random; tables built from the last table or an older one. After every
// change the incremental table answers every question like a table built
// from scratch.
class RandomWorld {
 public:
  explicit RandomWorld(uint64_t seed) : rng_(seed) {
    in_.domain = Pick(4) == 0 ? "c.example.org." : "basefs.";
    in_.self_node = "n1";
    in_.members = {
        {"n1", "10.0.0.1", true, "K1", {}}, {"n2", "2001:db8::2", true, "K2", {}}, {"n3", "10.0.0.3", true, "K3", {}}};
  }
  ProjectionInput& input() { return in_; }
  size_t Pick(size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng_); }

  void Step() {
    switch (Pick(15)) {
      case 0:
      case 1: Put(ServicePath(), ServiceText()); break;
      case 2:
      case 3:
      case 4:
      case 5: Put(ZonePath(), ZoneText()); break;
      case 6: Put("/zones/" + Zone_() + "/@", SoaText()); break;
      case 7:
      case 8:
        if (!in_.files.empty()) in_.files.erase(in_.files.begin() + static_cast<long>(Pick(in_.files.size())));
        break;
      case 9: {
        // Remove every file of one zone.
        const std::string z = "/zones/" + Zone_() + "/";
        std::erase_if(in_.files, [&](const SourceFile& f) { return f.path.rfind(z, 0) == 0; });
        break;
      }
      case 10: {
        MemberView& m = in_.members[Pick(in_.members.size())];
        m.alive = !m.alive;
        break;
      }
      case 11: {
        MemberView& m = in_.members[Pick(in_.members.size())];
        const std::string id = InstanceId("s" + std::to_string(Pick(3)), "i" + std::to_string(Pick(3)));
        if (!m.failing.erase(id)) m.failing.insert(id);
        break;
      }
      case 12: {
        MemberView& m = in_.members[Pick(in_.members.size())];
        m.address = Pick(2) ? "10.0.1." + std::to_string(Pick(4) + 1) : "2001:db8::" + std::to_string(Pick(4) + 1);
        break;
      }
      case 13: {
        // A large RRset: beyond 4 KiB (chase limit), rarely beyond 64 KiB.
        const size_t n = Pick(5) == 0 ? 4300 : Pick(2) ? 300 : 200 + Pick(100);
        std::string lines;
        for (size_t i = 0; i < n; ++i)
          lines +=
              "A 10." + std::to_string(Pick(2)) + "." + std::to_string(i / 250) + "." + std::to_string(i % 250) + "\n";
        if (Pick(2)) lines += "MX 10 www.example.org.\n";
        Put(std::string("/zones/") + (Pick(2) ? "example.org" : "sub.example.org") + "/big", lines);
        break;
      }
      default:
        // A long CNAME chain c0 -> c1 -> ... in one zone or across zones.
        for (int i = 0; i < 10; ++i)
          if (Pick(3))
            Put("/zones/" + Zone_() + "/c" + std::to_string(i),
                "CNAME c" + std::to_string(i + 1) + "." + Zone_() + ".\n");
        break;
    }
  }

 private:
  void Put(const std::string& path, const std::string& content) {
    for (SourceFile& f : in_.files)
      if (f.path == path) {
        f.content = content;
        return;
      }
    in_.files.push_back({path, "K" + std::to_string(Pick(3) + 1), content});
  }
  std::string ServicePath() { return "/services/s" + std::to_string(Pick(3)) + "/i" + std::to_string(Pick(3)); }
  std::string ServiceText() {
    std::string t = "port = " + std::to_string(Pick(2) + 80) + "\n";
    if (Pick(2))
      t += "address = \"" + std::string(Pick(2) ? "192.0.2." : "2001:db8::1:") + std::to_string(Pick(3) + 1) + "\"\n";
    if (Pick(3) == 0) t += "node = \"n" + std::to_string(Pick(3) + 1) + "\"\n";
    if (Pick(2)) t += "tags = [\"t" + std::to_string(Pick(2)) + "\"]\n";
    if (Pick(3) == 0) t += "protocol = \"udp\"\n";
    t += "ttl = " + std::to_string(Pick(2) * 10 + 5) + "\n";
    if (Pick(2)) t += "[txt]\nk = \"v" + std::to_string(Pick(2)) + "\"\n";
    return t;
  }
  std::string Zone_() {
    static const char* kZones[] = {
        "example.org", "example.org",   "sub.example.org", "x.sub.example.org", "org",
        "example.net", "b.example.org", "c.example.org",   "b.a.example.org",   "y.x.example.org"};
    return kZones[Pick(10)];
  }
  std::string Name() {
    static const char* kNames[] = {
        "www.example.org.",      "alias.example.org.",     "chain.example.org.",     "sub.example.org.",
        "www.sub.example.org.",  "a.b.example.org.",       "b.example.org.",         "example.org.",
        "srv.example.org.",      "www.example.net.",       "nope.example.net.",      "org.",
        "s1.service.basefs.",    "n1.node.basefs.",        "i1.s1.instance.basefs.", "inst.example.org.",
        "x.sub.example.org.",    "www.x.sub.example.org.", "c0.example.org.",        "c5.sub.example.org.",
        "elsewhere.test.",       "i0._s0._tcp.basefs.",    "www.c.example.org.",     "n2.node.c.example.org.",
        "deep.b.a.example.org.", "a.example.org.",         "inst.sub.example.org.",  "big.example.org.",
        "big.sub.example.org.",  "big.example.org."};
    return kNames[Pick(30)];
  }
  std::string ZonePath() {
    static const char* kOwners[] = {
        "www", "alias",   "mx/@",          "a/b/deep",    "srv",       "@",         "a/@",   "chain",
        "x/y", "sub/www", "sub/@",         "b/a",         "inst",      "x/@",       "x/www", "list",
        "a/b", "a/b/x",   "example/a/b/x", "example/www", "example/@", "sub/x/www", "x/y/z", "example/sub/x/y"};
    return "/zones/" + Zone_() + "/" + kOwners[Pick(24)];
  }
  std::string SoaText() {
    std::string t = "SOA ns" + std::to_string(Pick(2)) + ".example.org. h.example.org. 1 " +
                    std::to_string(60 + Pick(2)) + " 30 3600 " + std::to_string(5 + Pick(2) * 100) + "\n";
    if (Pick(2)) t += "A 192.0.2." + std::to_string(Pick(3) + 1) + "\n";
    if (Pick(2)) t += "TXT apex\n";
    if (Pick(3) == 0) t += "NS ns.example.net.\n";
    return t;
  }
  std::string ZoneText() {
    const size_t k = Pick(12);
    if (k < 3) return "CNAME " + Name() + "\n";
    if (k == 3 && Pick(6) == 0) {
      // A large RRset: beyond 4 KiB (chase limit), rarely beyond 64 KiB.
      const size_t n = Pick(4) == 0 ? 4300 : 300;
      std::string lines;
      for (size_t i = 0; i < n; ++i)
        lines +=
            "A 10." + std::to_string(Pick(2)) + "." + std::to_string(i / 250) + "." + std::to_string(i % 250) + "\n";
      return lines;
    }
    std::string t;
    for (size_t n = Pick(3) + 1; n > 0; --n) {
      switch (Pick(11)) {
        case 0: t += "A 192.0.2." + std::to_string(Pick(3) + 1) + "\n"; break;
        case 1: t += "AAAA 2001:db8::" + std::to_string(Pick(3) + 1) + "\n"; break;
        case 2: t += "MX " + std::to_string(Pick(2) * 10) + " " + Name() + "\n"; break;
        case 3: t += "TXT t" + std::to_string(Pick(2)) + "\n"; break;
        case 4: t += "SRV 1 1 80 " + Name() + "\n"; break;
        case 5: t += "PTR " + Name() + "\n"; break;
        case 6: t += "NS " + Name() + "\n"; break;
        case 7: t += std::to_string(Pick(2) * 100 + 50) + " A 192.0.2.9\n"; break;
        case 8: t += "SRV 0 0 443 " + Name() + "\nTXT path=/\n"; break;
        case 9: t += "HINFO a b\n"; break;
        default: t += "A 198.51.100." + std::to_string(Pick(2) + 1) + "\n"; break;
      }
    }
    return t;
  }

  std::mt19937_64 rng_;
  ProjectionInput in_;
};

TEST(AnswerTablePropertyTest, IncrementalBuildsAnswerLikeFullBuildsAfterRandomChanges) {
  const uint64_t base_seed = EnvU64("BASEFS_PROPERTY_SEED", 20261201);
  const uint64_t cases = EnvU64("BASEFS_PROPERTY_CASES", 12);
  size_t built_incremental = 0, built_full = 0;
  for (uint64_t c = 0; c < cases; ++c) {
    const uint64_t seed = base_seed + c;
    SCOPED_TRACE("seed " + std::to_string(seed) + " (BASEFS_PROPERTY_SEED=" + std::to_string(seed) +
                 " BASEFS_PROPERTY_CASES=1 replays it)");
    RandomWorld w(seed);
    ParseCache cache;
    struct Generation {
      std::unique_ptr<AnswerTable> table;
      std::vector<Zone> zones;
    };
    std::deque<Generation> history;
    std::map<std::string, uint32_t> serials_by_apex;
    const int serial_mode = static_cast<int>(seed % 3);  // 0: as the daemon, 1: every step, 2: at random
    for (int step = 0; step < 30; ++step) {
      w.Step();
      const Projection plain = Project(w.input());
      w.input().cache = &cache;
      const Projection p = Project(w.input());
      w.input().cache = nullptr;
      cache.Sweep();
      ASSERT_EQ(p.zones, plain.zones) << "step " << step << ": the parse cache changed the projection";
      const Generation* prev = history.empty() ? nullptr : &history.back();
      if (history.size() > 1 && w.Pick(5) == 0) prev = &history[w.Pick(history.size())];
      std::vector<uint32_t> serials;
      for (const Zone& z : p.zones) {
        uint32_t& serial = serials_by_apex[z.apex];
        const Zone* before = prev ? prev->table->source(z.apex) : nullptr;
        if (serial_mode == 0 ? (!before || !(*before == z)) : serial_mode == 1 || w.Pick(2)) ++serial;
        serials.push_back(serial);
      }
      auto inc = AnswerTable::Build(p.zones, serials, prev ? prev->table.get() : nullptr);
      auto full = AnswerTable::Build(p.zones, serials);
      ASSERT_TRUE(inc.ok()) << inc.status().message();
      ASSERT_TRUE(full.ok()) << full.status().message();
      ExpectSameAnswers(**inc, **full, p.zones, "step " + std::to_string(step), prev ? &prev->zones : nullptr);
      if (::testing::Test::HasFatalFailure()) {
        for (const auto& f : w.input().files) std::cerr << "  " << f.path << " = " << f.content.substr(0, 200) << "\n";
        return;
      }
      built_incremental += (*inc)->answers_built();
      built_full += (*full)->answers_built();
      history.push_back({std::move(inc).value(), p.zones});
      if (history.size() > 4) history.pop_front();
    }
  }
  // Not a timing: the incremental path must actually share answers.
  EXPECT_LT(built_incremental, built_full);
  std::printf("answers built: incremental %zu, full %zu\n", built_incremental, built_full);
}

// Regressions the random search found.

// A zone appears two labels below an apex, over an empty non-terminal of
// that zone, and goes again: the name between the apexes exists (it has
// names below it, RFC 8020) in both builds.
TEST(AnswerTableTest, ZoneBelowAnEmptyNonTerminalComesAndGoes) {
  ProjectionInput in;
  in.domain = "basefs.";
  in.self_node = "n1";
  in.members = {{"n1", "10.0.0.1", true, "K1", {}}};
  in.files = {{"/zones/example.org/a/b/www", "K1", "A 192.0.2.1\n"}};
  Projection p = Project(in);
  auto t0 = AnswerTable::Build(p.zones, std::vector<uint32_t>(p.zones.size(), 1));
  ASSERT_TRUE(t0.ok());
  EXPECT_EQ(Ask(**t0, "a.example.org.", 1)[3] & 0x0f, 0) << "an empty non-terminal: NODATA";
  in.files.push_back({"/zones/b.a.example.org/@", "K1", "TXT x\n"});
  p = Project(in);
  auto inc1 = AnswerTable::Build(p.zones, std::vector<uint32_t>(p.zones.size(), 2), t0->get());
  auto full1 = AnswerTable::Build(p.zones, std::vector<uint32_t>(p.zones.size(), 2));
  ASSERT_TRUE(inc1.ok() && full1.ok());
  EXPECT_EQ(Ask(**full1, "a.example.org.", 1)[3] & 0x0f, 0) << "still a name: a zone lies below it";
  ExpectSameAnswers(**inc1, **full1, p.zones, "zone added");
  in.files.pop_back();
  p = Project(in);
  auto inc2 = AnswerTable::Build(p.zones, std::vector<uint32_t>(p.zones.size(), 3), full1->get());
  auto full2 = AnswerTable::Build(p.zones, std::vector<uint32_t>(p.zones.size(), 3));
  ASSERT_TRUE(inc2.ok() && full2.ok());
  ExpectSameAnswers(**inc2, **full2, p.zones, "zone removed");
}

// A zone goes; its empty non-terminal stays as a name of the zone above,
// with that zone's SOA in its negative answers.
TEST(AnswerTableTest, EmptyNonTerminalOfARemovedZoneMovesToTheZoneAbove) {
  ProjectionInput in;
  in.domain = "basefs.";
  in.self_node = "n1";
  in.members = {{"n1", "10.0.0.1", true, "K1", {}}};
  in.files = {{"/zones/org/example/a/b/x", "K1", "A 192.0.2.1\n"}, {"/zones/example.org/a/b", "K1", "A 192.0.2.2\n"}};
  Projection p = Project(in);
  auto t0 = AnswerTable::Build(p.zones, std::vector<uint32_t>(p.zones.size(), 1));
  ASSERT_TRUE(t0.ok());
  in.files.pop_back();
  p = Project(in);
  auto inc = AnswerTable::Build(p.zones, std::vector<uint32_t>(p.zones.size(), 2), t0->get());
  auto full = AnswerTable::Build(p.zones, std::vector<uint32_t>(p.zones.size(), 2));
  ASSERT_TRUE(inc.ok() && full.ok());
  ExpectSameAnswers(**inc, **full, p.zones, "zone removed");
}

Zone BareZone(std::string apex, std::vector<Record> records) {
  Zone z;
  z.apex = std::move(apex);
  z.soa.mname = "ns.example.";
  z.soa.rname = "h.example.";
  z.records = std::move(records);
  return z;
}

// Zones as Build() may get them from elsewhere than Project(): an apex
// without records that gains one, an empty zone that goes, an owner not in
// the deepest zone holding it (refused).
TEST(AnswerTableTest, ApexRecordsAndEmptyZonesAndMisplacedOwners) {
  const std::vector<Zone> p = {BareZone("example.org.", {{"www.example.org.", 1, 60, "192.0.2.1"}}),
                               BareZone("empty.test.", {})};
  auto prev = AnswerTable::Build(p, {1, 1});
  ASSERT_TRUE(prev.ok());
  const std::vector<Zone> n = {
      BareZone("example.org.", {{"example.org.", 1, 60, "192.0.2.2"}, {"www.example.org.", 1, 60, "192.0.2.1"}})};
  auto inc = AnswerTable::Build(n, {1}, prev->get());
  auto full = AnswerTable::Build(n, {1});
  ASSERT_TRUE(inc.ok() && full.ok());
  ExpectSameAnswers(**inc, **full, n, "apex gains a record, empty zone removed", &p);
  const std::vector<Zone> misplaced = {BareZone("example.org.", {{"x.sub.example.org.", 1, 60, "192.0.2.3"}}),
                                       BareZone("sub.example.org.", {})};
  EXPECT_FALSE(AnswerTable::Build(misplaced, {1, 1}).ok());
  EXPECT_FALSE(AnswerTable::Build(misplaced, {1, 1}, full->get()).ok());
}

}  // namespace
}  // namespace basefs
