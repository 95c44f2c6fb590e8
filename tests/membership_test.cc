// Signed membership between real `basefs run` daemons on 127.0.0.1:
// forged gossip from a hostile process (tests/hostile_peer.cc) changes no
// view and no DNS answer, and --members-need-grant keeps out a node whose
// key holds no grant, takes it out when its grant is revoked, and keeps it
// out across its restart. Conditions are waited for with deadlines.
#include <filesystem>
#include <regex>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/process_util.h"

namespace basefs {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;
using testing::RunShell;

struct Node {
  pid_t pid = -1;
  std::string gossip, dns_port;
};

class MembershipTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = std::filesystem::temp_directory_path() / ("basefs-members-" + std::to_string(getpid()));
    std::filesystem::remove_all(root_);
    std::filesystem::create_directories(root_);
  }
  void TearDown() override {
    for (const Node& n : nodes_) testing::Stop(n.pid);
    std::filesystem::remove_all(root_);
  }
  std::string Dir(const std::string& n) const { return (root_ / n).string(); }
  testing::Output Cli(const std::string& n, const std::string& args) {
    return RunShell(std::string(BASEFS_BIN) + " --data-dir " + Dir(n) + " " + args);
  }
  Node Start(const std::string& name, std::vector<std::string> extra) {
    std::vector<std::string> argv = {BASEFS_BIN,    "--data-dir", Dir(name),     "run",         "demo", "--bind",
                                     "127.0.0.1:0", "--dns",      "127.0.0.1:0", "--node-name", name};
    argv.insert(argv.end(), extra.begin(), extra.end());
    const std::string log = Dir(name) + "." + std::to_string(nodes_.size()) + ".log";
    Node n;
    n.pid = testing::Spawn(argv, log);
    const std::regex re("at ([0-9.]+:[0-9]+) .*DNS on [0-9.]+:([0-9]+)");
    EXPECT_TRUE(testing::WaitFor(
        [&] {
          std::smatch m;
          const std::string text = testing::Slurp(log);
          if (!std::regex_search(text, m, re)) return false;
          n.gossip = m[1];
          n.dns_port = m[2];
          return true;
        },
        20s))
        << testing::Slurp(log);
    nodes_.push_back(n);
    return n;
  }
  // `name`'s row in node `at`'s member list (null when it has none).
  json MemberRow(const std::string& at, const std::string& name) {
    auto r = Cli(at, "members demo --json");
    if (r.code != 0) return nullptr;
    for (const auto& m : json::parse(r.out, nullptr, false))
      if (m.is_object() && m["name"] == name) return m;
    return nullptr;
  }
  std::string StateOf(const std::string& at, const std::string& name) {
    const json row = MemberRow(at, name);
    return row.is_null() ? "" : row["state"].get<std::string>();
  }
  json Counters(const std::string& at) { return json::parse(Cli(at, "status demo --json").out)["counters"]; }
  std::string Dig(const Node& n, const std::string& args) {
    return RunShell("dig +short +tries=1 +time=2 -p " + n.dns_port + " @127.0.0.1 " + args).out;
  }

  std::filesystem::path root_;
  std::vector<Node> nodes_;
};

TEST_F(MembershipTest, ForgedGossipChangesNoViewAndNoDnsAnswer) {
  ASSERT_EQ(Cli("a", "bootstrap demo").code, 0);
  Node a = Start("a", {});
  Start("b", {"--join", a.gossip});
  // An instance that lives as long as node b does.
  ASSERT_EQ(Cli("a", "publish demo web w1 --port 80 --address 192.0.2.5 --node b").code, 0);
  ASSERT_TRUE(testing::WaitFor([&] { return Dig(a, "A web.service.basefs.") == "192.0.2.5\n"; }, 20s));
  const json before = MemberRow("a", "b");
  ASSERT_EQ(before["state"], "alive");

  const auto r =
      RunShell(std::string(HOSTILE_PEER) + " forge-member " + a.gossip + " b " + before["address"].get<std::string>() +
               " " + std::to_string(before["incarnation"].get<uint64_t>()));
  ASSERT_EQ(r.code, 0) << r.out;
  // For three seconds every look at node a shows b alive where it was, and
  // its instance answered.
  const auto until = std::chrono::steady_clock::now() + 3s;
  int looks = 0;
  while (std::chrono::steady_clock::now() < until) {
    const json row = MemberRow("a", "b");
    ASSERT_FALSE(row.is_null());
    ASSERT_EQ(row["state"], "alive") << row.dump();
    ASSERT_EQ(row["address"], before["address"]) << row.dump();
    ASSERT_EQ(row["key"], before["key"]) << row.dump();
    ASSERT_EQ(Dig(a, "A web.service.basefs."), "192.0.2.5\n");
    ++looks;
  }
  EXPECT_GT(looks, 3);
  // What node a dropped, by reason; and b refuted the failure claim.
  ASSERT_TRUE(testing::WaitFor([&] { return Counters("a")["claims_refuted"].get<int>() >= 1; }, 10s))
      << Counters("a").dump();
  const json c = Counters("a");
  EXPECT_GE(c["dropped_wrong_key"].get<int>(), 1) << c.dump();  // the left (the move is newer than it knows)
  EXPECT_GE(c["dropped_wrong_key"].get<int>() + c["dropped_bad_signature"].get<int>(), 3) << c.dump();
  EXPECT_GE(c["dropped_unverifiable"].get<int>(), 1) << c.dump();
  EXPECT_GE(c["dropped_malformed"].get<int>(), 1) << c.dump();
  EXPECT_EQ(c["dropped_old_version"].get<int>(), 1) << c.dump();
  ASSERT_TRUE(testing::WaitFor(
      [&] { return MemberRow("a", "b")["incarnation"].get<uint64_t>() > before["incarnation"].get<uint64_t>(); }, 10s));
}

TEST_F(MembershipTest, MembersNeedGrantKeepsOutKeysWithoutOneAndRevokedOnes) {
  ASSERT_EQ(Cli("a", "bootstrap demo").code, 0);
  auto key = Cli("b", "genkey");
  ASSERT_EQ(key.code, 0) << key.out;
  const std::string b_key = key.out.substr(0, key.out.find('\n'));
  Node a = Start("a", {"--members-need-grant"});
  Node b = Start("b", {"--join", a.gossip, "--members-need-grant"});
  // b admits a (a's key is the root key) and a refuses b.
  ASSERT_TRUE(testing::WaitFor([&] { return StateOf("b", "a") == "alive"; }, 20s));
  ASSERT_TRUE(testing::WaitFor([&] { return Counters("a")["dropped_not_admitted"].get<int>() >= 1; }, 20s));
  EXPECT_TRUE(MemberRow("a", "b").is_null());

  // A grant lets it in; revoking it takes it out again.
  ASSERT_EQ(Cli("a", "grant demo /services " + b_key).code, 0);
  ASSERT_TRUE(testing::WaitFor([&] { return StateOf("a", "b") == "alive"; }, 20s));
  ASSERT_EQ(Cli("a", "revoke demo /services " + b_key).code, 0);
  ASSERT_TRUE(testing::WaitFor([&] { return MemberRow("a", "b").is_null(); }, 20s));

  // Restarted, it cannot rejoin.
  testing::Stop(b.pid);
  nodes_[1].pid = -1;
  const int refused = Counters("a")["dropped_not_admitted"].get<int>();
  Start("b", {"--join", a.gossip, "--members-need-grant"});
  ASSERT_TRUE(testing::WaitFor([&] { return Counters("a")["dropped_not_admitted"].get<int>() > refused; }, 20s));
  EXPECT_TRUE(MemberRow("a", "b").is_null());
}

}  // namespace
}  // namespace basefs
