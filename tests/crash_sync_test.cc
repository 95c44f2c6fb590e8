// kill -9 in the middle of replication: of a clone (`basefs get`), and of a
// daemon taking in a sync. A node A serves 1,500 files (every fifth split
// into blocks); B's clone and C's daemon are killed when their log has
// grown past a random point (a condition, not a timer), restarted, and
// must open their store and end with A's root digest. Seeded and logged.
#include <unistd.h>

#include <filesystem>
#include <functional>
#include <random>
#include <regex>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/process_util.h"

namespace basefs {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;
using testing::RunShell;

class CrashSyncTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = std::filesystem::temp_directory_path() / ("basefs-crashsync-" + std::to_string(getpid()));
    std::filesystem::remove_all(root_);
    for (const char* n : {"b", "c"}) std::filesystem::create_directories(root_ / n);
    std::filesystem::create_directories(root_ / "a" / "crash");
  }
  void TearDown() override {
    for (pid_t p : pids_) testing::Stop(p);
    std::filesystem::remove_all(root_);
  }
  std::string Dir(const std::string& n) const { return (root_ / n).string(); }
  testing::Output Cli(const std::string& n, const std::string& args) {
    return RunShell(std::string(BASEFS_BIN) + " --data-dir " + Dir(n) + " " + args);
  }
  uint64_t LogBytes(const std::string& n) {
    uint64_t total = 0;
    std::error_code ec;
    for (auto it = std::filesystem::recursive_directory_iterator(root_ / n / "crash", ec);
         !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec))
      if (it->is_regular_file(ec)) total += it->file_size(ec);
    return total;
  }
  std::string Digest(const std::string& n) {
    auto r = Cli(n, "status crash --json");
    if (r.code != 0) return "";
    auto j = json::parse(r.out, nullptr, false);
    return j.is_object() && j.contains("root_digest") ? j["root_digest"].get<std::string>() : "";
  }
  // True once the daemon logging to `log` serves (before that, `basefs
  // status` would open the store itself and keep the daemon from it).
  bool Serving(const std::string& log) {
    return testing::Slurp((root_ / log).string()).find("serving 'crash'") != std::string::npos;
  }
  pid_t Run(const std::string& n, const std::vector<std::string>& extra, const std::string& log) {
    std::vector<std::string> argv = {BASEFS_BIN,    "--data-dir", Dir(n),        "run",         "crash", "--bind",
                                     "127.0.0.1:0", "--dns",      "127.0.0.1:0", "--node-name", n};
    argv.insert(argv.end(), extra.begin(), extra.end());
    pids_.push_back(testing::Spawn(argv, (root_ / log).string()));
    return pids_.back();
  }
  // Kills `pid` with SIGKILL once node n's log holds `bytes` (or `done`
  // says it has all there is), unless it exits first; true if killed.
  bool KillAt(pid_t pid, const std::string& n, uint64_t bytes, const std::function<bool()>& done = nullptr) {
    int status = 0;
    bool exited = false;
    testing::WaitFor(
        [&] {
          if (waitpid(pid, &status, WNOHANG) == pid) return exited = true;
          return LogBytes(n) >= bytes || (done && done());
        },
        60s);
    if (exited) return false;
    testing::Stop(pid, SIGKILL);
    return true;
  }

  std::filesystem::path root_;
  std::vector<pid_t> pids_;
};

TEST_F(CrashSyncTest, KillNineDuringACloneOrAnIncomingSyncLosesNothing) {
  std::mt19937_64 rng(std::random_device{}());
  const uint64_t seed = rng();
  rng.seed(seed);
  SCOPED_TRACE("seed " + std::to_string(seed));

  // Node A: 1,500 files, written straight into its store.
  ASSERT_EQ(RunShell(std::string(BASEFS_CRASH_WRITER) + " " + Dir("a") + "/crash/log 0 1500 > /dev/null").code, 0);
  ASSERT_EQ(Cli("a", "genkey").code, 0);
  Run("a", {}, "a.log");
  std::string addr;
  ASSERT_TRUE(testing::WaitFor(
      [&] {
        std::smatch m;
        const std::string log = testing::Slurp((root_ / "a.log").string());
        static const std::regex re("serving 'crash' as a at ([0-9.]+:[0-9]+)");
        if (!std::regex_search(log, m, re)) return false;
        addr = m[1];
        return true;
      },
      15s))
      << testing::Slurp((root_ / "a.log").string());
  const std::string want = Digest("a");
  ASSERT_FALSE(want.empty());
  const uint64_t full = LogBytes("a");
  std::uniform_real_distribution<double> point(0.05, 0.9);

  // B: clones, killed at random points, then resumed to the end.
  int kills = 0;
  for (int round = 0; round < 3; ++round) {
    const uint64_t at = static_cast<uint64_t>(point(rng) * static_cast<double>(full));
    const pid_t get = testing::Spawn({BASEFS_BIN, "--data-dir", Dir("b"), "get", "crash", addr},
                                     (root_ / ("get" + std::to_string(round) + ".log")).string());
    kills += KillAt(get, "b", at);
  }
  const testing::Output resumed = Cli("b", "get crash " + addr);
  ASSERT_EQ(resumed.code, 0) << resumed.out;
  EXPECT_EQ(Digest("b"), want) << "the resumed clone differs from its source";

  // C: a clone killed early, then a daemon that syncs the rest, killed
  // during the sync, restarted, and converging.
  ASSERT_EQ(Cli("c", "genkey").code, 0);
  const pid_t get =
      testing::Spawn({BASEFS_BIN, "--data-dir", Dir("c"), "get", "crash", addr}, (root_ / "getc.log").string());
  kills += KillAt(get, "c", full / 20);
  const pid_t first = Run("c", {"--join", addr}, "c1.log");
  const bool killed = KillAt(first, "c", static_cast<uint64_t>(point(rng) * static_cast<double>(full)),
                             [&] { return Serving("c1.log") && Digest("c") == want; });
  kills += killed;
  if (!killed) FAIL() << "the daemon exited: " << testing::Slurp((root_ / "c1.log").string());
  Run("c", {"--join", addr}, "c2.log");
  ASSERT_TRUE(testing::WaitFor([&] { return Serving("c2.log"); }, 20s)) << testing::Slurp((root_ / "c2.log").string());
  ASSERT_TRUE(testing::WaitFor([&] { return Digest("c") == want; }, 60s))
      << "C did not converge after its crash\n"
      << testing::Slurp((root_ / "c2.log").string());
  std::cout << kills << " kill -9 during replication (seed " << seed << ")\n";
}

}  // namespace
}  // namespace basefs
