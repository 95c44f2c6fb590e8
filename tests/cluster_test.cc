// Ten real `basefs run` daemons on 127.0.0.1: they all see each other alive,
// a write on one is readable on all, and kill -9 of one is detected by all
// the others. Conditions are waited for with deadlines; nothing sleeps for
// a fixed time.
#include <sys/wait.h>

#include <algorithm>
#include <filesystem>
#include <regex>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/process_util.h"

namespace basefs {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;
using testing::RunShell;

class ClusterTest : public ::testing::Test {
 protected:
  static constexpr int kNodes = 10;

  void SetUp() override {
    root_ = std::filesystem::temp_directory_path() / ("basefs-cluster-" + std::to_string(getpid()));
    std::filesystem::remove_all(root_);
    std::filesystem::create_directories(root_);
    ASSERT_EQ(Cli(0, "bootstrap demo").code, 0);
    for (int i = 1; i < kNodes; ++i) std::filesystem::copy(Dir(0), Dir(i), std::filesystem::copy_options::recursive);
  }
  void TearDown() override {
    for (pid_t p : pids_) testing::Stop(p);
    std::filesystem::remove_all(root_);
  }

  std::string Dir(int i) const { return (root_ / ("n" + std::to_string(i))).string(); }
  std::string Log(int i) const { return (root_ / ("log" + std::to_string(i))).string(); }
  testing::Output Cli(int i, const std::string& args) {
    return RunShell(std::string(BASEFS_BIN) + " --data-dir " + Dir(i) + " " + args);
  }

  // Starts node i bound to an ephemeral port; returns its gossip address.
  std::string Start(int i, const std::string& join, const std::vector<std::string>& extra = {}) {
    std::vector<std::string> argv = {BASEFS_BIN,    "--data-dir",  Dir(i),
                                     "run",         "demo",        "--bind",
                                     "127.0.0.1:0", "--node-name", "n" + std::to_string(i),
                                     "--dns",       "127.0.0.1:0"};
    if (!join.empty()) {
      argv.push_back("--join");
      argv.push_back(join);
    }
    argv.insert(argv.end(), extra.begin(), extra.end());
    pids_.push_back(testing::Spawn(argv, Log(i)));
    std::string addr;
    const std::regex re("serving 'demo' as n[0-9]+ at ([0-9.]+:[0-9]+)");
    EXPECT_TRUE(testing::WaitFor(
        [&] {
          std::smatch m;
          const std::string log = testing::Slurp(Log(i));
          if (!std::regex_search(log, m, re)) return false;
          addr = m[1];
          return true;
        },
        10s))
        << testing::Slurp(Log(i));
    return addr;
  }

  // The members table as node i sees it: name -> state.
  std::map<std::string, std::string> Members(int i) {
    std::map<std::string, std::string> out;
    auto r = Cli(i, "members demo --json");
    if (r.code != 0) return out;
    for (const auto& m : json::parse(r.out, nullptr, false)) out[m["name"]] = m["state"];
    return out;
  }

  std::filesystem::path root_;
  std::vector<pid_t> pids_;
};

TEST_F(ClusterTest, TenDaemonsJoinReplicateAndDetectAKill) {
  const std::string seed = Start(0, "");
  for (int i = 1; i < kNodes; ++i) Start(i, seed);

  // Everyone sees everyone alive.
  ASSERT_TRUE(testing::WaitFor(
      [&] {
        for (int i = 0; i < kNodes; ++i) {
          auto m = Members(i);
          if (m.size() != kNodes) return false;
          for (const auto& [name, state] : m)
            if (state != "alive") return false;
        }
        return true;
      },
      30s))
      << "membership did not converge";

  // A write on one node is readable on every node.
  ASSERT_EQ(
      RunShell("echo 'port = 8080' | " + std::string(BASEFS_BIN) + " --data-dir " + Dir(3) + " write demo /hello").code,
      0);
  ASSERT_TRUE(testing::WaitFor(
      [&] {
        for (int i = 0; i < kNodes; ++i)
          if (Cli(i, "cat demo /hello").out != "port = 8080\n") return false;
        return true;
      },
      10s))
      << "the write did not reach every node";
  const std::string digest = json::parse(Cli(0, "status demo --json").out)["root_digest"];
  for (int i = 1; i < kNodes; ++i)
    EXPECT_EQ(json::parse(Cli(i, "status demo --json").out)["root_digest"], digest) << "node " << i;

  // kill -9 of node 5 is detected by all the others.
  testing::Stop(pids_[5], SIGKILL);
  pids_[5] = -1;
  ASSERT_TRUE(testing::WaitFor(
      [&] {
        for (int i = 0; i < kNodes; ++i) {
          if (i == 5) continue;
          if (Members(i)["n5"] != "failed") return false;
        }
        return true;
      },
      40s))
      << "the killed node was not detected";
  for (int i = 0; i < kNodes; ++i) {
    if (i == 5) continue;
    auto m = Members(i);
    for (const auto& [name, state] : m) {
      if (name != "n5") {
        EXPECT_EQ(state, "alive") << name << " as seen by n" << i;
      }
    }
  }
}

// With a cluster key, sync (and so `get` and `run --join`) is sealed too: a
// clone needs the key, a clone with no key or another key gets nothing and
// a clear error, and the serving node says it refused.
TEST_F(ClusterTest, AClusterKeySealsSyncAndRefusesStrangers) {
  const std::string key = (root_ / "cluster.key").string(), other = (root_ / "other.key").string();
  ASSERT_EQ(RunShell("head -c32 /dev/urandom | base64 > " + key).code, 0);
  ASSERT_EQ(RunShell("head -c32 /dev/urandom | base64 > " + other).code, 0);
  const std::string seed = Start(0, "", {"--cluster-key", key});
  ASSERT_EQ(
      RunShell("echo 'port = 8080' | " + std::string(BASEFS_BIN) + " --data-dir " + Dir(0) + " write demo /secret")
          .code,
      0);

  const std::string fresh = (root_ / "fresh").string();
  auto get = [&](const std::string& key_args) {
    std::filesystem::remove_all(fresh);
    // Standard error too: the reason is what a user reads.
    return RunShell("{ " + std::string(BASEFS_BIN) + " --data-dir " + fresh + " get demo " + seed + key_args +
                    " 2>&1; }");
  };
  auto none = get("");
  EXPECT_NE(none.code, 0);
  EXPECT_NE(none.out.find("seals sync with a cluster key"), std::string::npos) << none.out;
  auto wrong = get(" --cluster-key " + other);
  EXPECT_NE(wrong.code, 0);
  EXPECT_NE(wrong.out.find("not sealed with this cluster's key"), std::string::npos) << wrong.out;
  EXPECT_FALSE(std::filesystem::exists(fresh + "/demo")) << "a refused clone left a filesystem behind";
  EXPECT_TRUE(testing::WaitFor([&] { return testing::Slurp(Log(0)).find("refused") != std::string::npos; }, 10s))
      << testing::Slurp(Log(0));

  auto right = get(" --cluster-key " + key);
  ASSERT_EQ(right.code, 0) << right.out;
  EXPECT_EQ(RunShell(std::string(BASEFS_BIN) + " --data-dir " + fresh + " cat demo /secret").out, "port = 8080\n");

  // A node that joins with the key clones through the sealed session first.
  std::filesystem::remove_all(Dir(1) + "/demo");
  Start(1, seed, {"--cluster-key", key});
  EXPECT_EQ(Cli(1, "cat demo /secret").out, "port = 8080\n") << testing::Slurp(Log(1));
}

// Online rotation of the cluster key with gossip and sync flowing: install
// a new key everywhere, seal with it, remove the old one — each step
// answered by every member and written to every key file. A node down
// during a rotation catches up when it comes back (it still holds a key
// the others hold); one that is believed alive but does not answer is
// named in the command's error.
TEST_F(ClusterTest, KeyringRotatesTheClusterKeyOnline) {
  auto key_file = [&](int i) { return (root_ / ("cluster" + std::to_string(i) + ".key")).string(); };
  const std::string k1 = Cli(0, "genkey --cluster").out.substr(0, 44);
  for (int i = 0; i < 3; ++i) ASSERT_EQ(RunShell("echo " + k1 + " > " + key_file(i)).code, 0);
  const std::string seed = Start(0, "", {"--cluster-key", key_file(0)});
  Start(1, seed, {"--cluster-key", key_file(1)});
  Start(2, seed, {"--cluster-key", key_file(2)});
  auto all_alive = [&] {
    auto m = Members(0);
    return m["n1"] == "alive" && m["n2"] == "alive" && Members(2)["n0"] == "alive";
  };
  ASSERT_TRUE(testing::WaitFor(all_alive, 20s));
  auto keys_in = [&](int i) {  // the key lines of node i's file, primary first
    std::vector<std::string> keys;
    std::istringstream in(testing::Slurp(key_file(i)));
    for (std::string line; std::getline(in, line);)
      if (!line.empty() && line[0] != '#') keys.push_back(line);
    return keys;
  };
  int writes = 0;
  auto flows = [&](int from, int to) {  // a write on `from` is read on `to`
    const std::string path = "/w" + std::to_string(++writes);
    if (RunShell("echo x | " + std::string(BASEFS_BIN) + " --data-dir " + Dir(from) + " write demo " + path).code != 0)
      return false;
    return testing::WaitFor([&] { return Cli(to, "cat demo " + path).out == "x\n"; }, 10s);
  };
  ASSERT_TRUE(flows(0, 2));

  const std::string k2 = Cli(0, "genkey --cluster").out.substr(0, 44);
  auto r = Cli(0, "keyring demo --install " + k2);
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("installed on 3 of 3 members"), std::string::npos) << r.out;
  for (int i = 0; i < 3; ++i) EXPECT_EQ(keys_in(i), (std::vector<std::string>{k1, k2})) << i;
  r = Cli(1, "keyring demo --use " + k2);  // any member can run a step
  ASSERT_EQ(r.code, 0) << r.out;
  for (int i = 0; i < 3; ++i) EXPECT_EQ(keys_in(i), (std::vector<std::string>{k2, k1})) << i;
  ASSERT_TRUE(flows(1, 0));
  ASSERT_TRUE(flows(2, 1));
  r = Cli(0, "keyring demo --remove " + k1);
  ASSERT_EQ(r.code, 0) << r.out;
  for (int i = 0; i < 3; ++i) EXPECT_EQ(keys_in(i), std::vector<std::string>{k2}) << i;
  r = Cli(0, "keyring demo --list");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(r.out, k2 + "  installed on 3 of 3 members, primary on 3\n");
  ASSERT_TRUE(flows(0, 2));

  // n2 is down (stopped) while k3 goes in and becomes the primary.
  testing::Stop(pids_[2]);
  pids_[2] = -1;
  ASSERT_TRUE(testing::WaitFor([&] { return Members(0)["n2"] == "left"; }, 10s));
  const std::string k3 = Cli(0, "genkey --cluster").out.substr(0, 44);
  ASSERT_EQ(Cli(0, "keyring demo --install " + k3).code, 0);
  ASSERT_EQ(Cli(0, "keyring demo --use " + k3).code, 0);
  EXPECT_EQ(keys_in(2), std::vector<std::string>{k2});
  // Back with only k2: the others hold k2 still, see it seal with it, and
  // send it the newer keyring; it writes it and talks k3 from then on.
  Start(2, seed, {"--cluster-key", key_file(2)});
  ASSERT_TRUE(testing::WaitFor(
      [&] {
        return keys_in(2) == std::vector<std::string>{k3, k2};
      },
      20s))
      << testing::Slurp(Log(2));
  ASSERT_TRUE(testing::WaitFor(all_alive, 20s));
  ASSERT_TRUE(flows(0, 2));
  r = Cli(2, "keyring demo --remove " + k2);
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("removed on 3 of 3 members"), std::string::npos) << r.out;

  // n1 dies without a word: until it is found failed, a step names it.
  testing::Stop(pids_[1], SIGKILL);
  pids_[1] = -1;
  const std::string k4 = Cli(0, "genkey --cluster").out.substr(0, 44);
  r = RunShell("{ " + std::string(BASEFS_BIN) + " --data-dir " + Dir(0) + " keyring demo --install " + k4 + " 2>&1; }");
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_NE(r.out.find("installed on 2 of 3 members"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("n1: no answer"), std::string::npos) << r.out;
}

// SIGTERM in the middle of writes through the control socket: the node
// stops within 5 s, the others see it "left" (not "failed"), and after a
// restart every write that was acknowledged is there.
TEST_F(ClusterTest, SigtermDuringWritesLeavesGracefullyAndLosesNoAcknowledgedWrite) {
  const std::string seed = Start(0, "");
  Start(1, seed);
  ASSERT_TRUE(testing::WaitFor([&] { return Members(0)["n1"] == "alive" && Members(1)["n0"] == "alive"; }, 20s));
  // Writes on node 1, one process each, in a loop; each acknowledged one
  // (exit 0) is recorded after it returns.
  const std::string acked = (root_ / "acked").string();
  const pid_t writer =
      testing::Spawn({"/bin/sh", "-c",
                      "i=0; while [ $i -lt 300 ]; do echo v$i | " + std::string(BASEFS_BIN) + " --data-dir " + Dir(1) +
                          " write demo /w$i && echo $i >> " + acked + "; i=$((i+1)); done"},
                     (root_ / "writer.log").string());
  const auto acked_count = [&] {
    const std::string text = testing::Slurp(acked);
    return static_cast<size_t>(std::count(text.begin(), text.end(), '\n'));
  };
  ASSERT_TRUE(testing::WaitFor([&] { return acked_count() > 20; }, 30s)) << testing::Slurp(Log(1));
  const auto sent = std::chrono::steady_clock::now();
  ::kill(pids_[1], SIGTERM);
  int status = 0;
  ASSERT_TRUE(testing::WaitFor([&] { return ::waitpid(pids_[1], &status, WNOHANG) == pids_[1]; }, 10s));
  const double stop_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - sent).count();
  pids_[1] = -1;
  testing::Stop(writer, SIGKILL);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << testing::Slurp(Log(1));
  EXPECT_LT(stop_s, 5.0);
  EXPECT_TRUE(testing::WaitFor([&] { return Members(0)["n1"] == "left"; }, 10s)) << Members(0)["n1"];

  // Every acknowledged write is in node 1's store after it stopped.
  std::istringstream in(testing::Slurp(acked));
  std::vector<std::string> written;
  for (std::string i; in >> i;) written.push_back(i);
  ASSERT_GT(written.size(), 20u);
  for (const std::string& i : written) EXPECT_EQ(Cli(1, "cat demo /w" + i).out, "v" + i + "\n") << "/w" << i;
  // And node 1 comes back as a member.
  Start(1, seed);
  EXPECT_TRUE(testing::WaitFor([&] { return Members(0)["n1"] == "alive"; }, 20s));
}

}  // namespace
}  // namespace basefs
