// A six-node cluster of real daemons is cut in two halves (with the
// test-only BASEFS_TEST_BLOCK_FILE filter: datagrams and sync connections
// between the halves are dropped). Both halves keep accepting writes,
// including conflicting writes to one path; after the cut heals, every node
// ends with the same root digest, every write, and the same winner for the
// conflict. Nodes 1-5 start with no data and clone the filesystem from
// node 0 as they join (`basefs run --join`).
#include <filesystem>
#include <fstream>
#include <regex>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/process_util.h"

namespace basefs {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;
using testing::RunShell;

class PartitionTest : public ::testing::Test {
 protected:
  static constexpr int kNodes = 6;

  void SetUp() override {
    root_ = std::filesystem::temp_directory_path() / ("basefs-partition-" + std::to_string(getpid()));
    std::filesystem::remove_all(root_);
    std::filesystem::create_directories(root_);
    ASSERT_EQ(Cli(0, "bootstrap demo").code, 0);
    // Every node writes with the root key (copied): the conflict below is
    // decided by the branch rules, not by permissions.
    for (int i = 1; i < kNodes; ++i) {
      std::filesystem::create_directories(Dir(i));
      std::filesystem::copy_file(Dir(0) + "/key", Dir(i) + "/key");
    }
    port0_ = 21000 + static_cast<int>(getpid() % 2000) * 8;
  }
  void TearDown() override {
    for (pid_t p : pids_) testing::Stop(p);
    std::filesystem::remove_all(root_);
  }

  std::string Dir(int i) const { return (root_ / ("n" + std::to_string(i))).string(); }
  std::string Addr(int i) const { return "127.0.0.1:" + std::to_string(port0_ + i); }
  std::string BlockFile(int i) const { return (root_ / ("block" + std::to_string(i))).string(); }
  testing::Output Cli(int i, const std::string& args) {
    return RunShell(std::string(BASEFS_BIN) + " --data-dir " + Dir(i) + " " + args);
  }
  void Write(int i, const std::string& path, const std::string& content) {
    ASSERT_EQ(RunShell("printf '" + content + "' | " + std::string(BASEFS_BIN) + " --data-dir " + Dir(i) +
                       " write demo " + path)
                  .code,
              0)
        << "write on n" << i;
  }
  std::string Digest(int i) {
    auto r = Cli(i, "status demo --json");
    auto j = json::parse(r.out, nullptr, false);
    return j.is_object() ? j.value("root_digest", "") : "";
  }
  std::map<std::string, std::string> Members(int i) {
    std::map<std::string, std::string> out;
    auto r = Cli(i, "members demo --json");
    for (const auto& m : json::parse(r.out, nullptr, false)) out[m["name"]] = m["state"];
    return out;
  }
  void Cut(bool cut) {
    for (int i = 0; i < kNodes; ++i) {
      std::ofstream f(BlockFile(i));
      if (!cut) continue;
      for (int j = 0; j < kNodes; ++j)
        if ((i < 3) != (j < 3)) f << Addr(j) << "\n";
    }
  }

  std::filesystem::path root_;
  int port0_ = 0;
  std::vector<pid_t> pids_;
};

TEST_F(PartitionTest, BothHalvesWriteAndConvergeAfterHealing) {
  Cut(false);
  for (int i = 0; i < kNodes; ++i) {
    setenv("BASEFS_TEST_BLOCK_FILE", BlockFile(i).c_str(), 1);
    std::vector<std::string> argv = {
        BASEFS_BIN, "--data-dir", Dir(i), "run", "demo", "--bind", Addr(i), "--node-name", "n" + std::to_string(i),
        "--dns",    "127.0.0.1:0"};
    if (i > 0) argv.insert(argv.end(), {"--join", Addr(0)});
    pids_.push_back(testing::Spawn(argv, (root_ / ("log" + std::to_string(i))).string()));
    if (i == 0) {
      ASSERT_TRUE(testing::WaitFor([&] { return Cli(0, "members demo").code == 0; }, 10s));
    }
  }
  unsetenv("BASEFS_TEST_BLOCK_FILE");
  ASSERT_TRUE(testing::WaitFor(
      [&] {
        for (int i = 0; i < kNodes; ++i) {
          auto m = Members(i);
          if (m.size() != kNodes) return false;
          for (const auto& [n, st] : m)
            if (st != "alive") return false;
        }
        return true;
      },
      30s))
      << "cluster did not form";

  // Cut, and wait until each half has given up on the other.
  Cut(true);
  ASSERT_TRUE(testing::WaitFor(
      [&] {
        for (int i = 0; i < kNodes; ++i) {
          auto m = Members(i);
          for (int j = 0; j < kNodes; ++j)
            if ((i < 3) != (j < 3) && m["n" + std::to_string(j)] != "failed") return false;
        }
        return true;
      },
      40s))
      << "the halves did not notice the cut";

  // Both halves accept writes, including a conflict on /shared.
  Write(1, "/left", "written on the left");
  Write(4, "/right", "written on the right");
  Write(0, "/shared", "left version");
  Write(5, "/shared", "right version");
  ASSERT_TRUE(testing::WaitFor(
      [&] {
        for (int i = 0; i < kNodes; ++i) {
          const std::string mine = i < 3 ? "/left" : "/right";
          if (Cli(i, "cat demo " + mine).code != 0) return false;
        }
        return true;
      },
      10s));
  for (int i = 0; i < kNodes; ++i) {
    const std::string theirs = i < 3 ? "/right" : "/left";
    EXPECT_NE(Cli(i, "cat demo " + theirs).code, 0) << "n" << i << " saw across the cut";
  }

  // Heal: everyone converges to one digest holding every write.
  Cut(false);
  ASSERT_TRUE(testing::WaitFor(
      [&] {
        const std::string d = Digest(0);
        if (d.empty()) return false;
        for (int i = 1; i < kNodes; ++i)
          if (Digest(i) != d) return false;
        return true;
      },
      60s))
      << "digests did not converge after healing";
  const std::string shared = Cli(0, "cat demo /shared").out;
  EXPECT_TRUE(shared == "left version" || shared == "right version") << shared;
  for (int i = 0; i < kNodes; ++i) {
    EXPECT_EQ(Cli(i, "cat demo /left").out, "written on the left") << "n" << i;
    EXPECT_EQ(Cli(i, "cat demo /right").out, "written on the right") << "n" << i;
    EXPECT_EQ(Cli(i, "cat demo /shared").out, shared) << "n" << i;
  }
}

}  // namespace
}  // namespace basefs
