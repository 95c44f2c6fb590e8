// The FuseTest fixture: real `basefs mount` daemons on loopback, each with
// its own kernel mount under a temporary directory, and the shell to drive
// them. Shared by fuse_test.cc and fuse_posix_test.cc. Skips, with the
// reason, only where /dev/fuse is missing or mounting is not permitted.
// Only processes started here are signalled, by PID.
#pragma once

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <regex>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/process_util.h"

namespace basefs {

using json = nlohmann::json;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

struct Sh {
  int code = -1;
  std::string out, err;
};

inline bool IsMounted(const std::string& dir) {
  std::ifstream in("/proc/self/mounts");
  std::string dev, mnt, rest;
  while (in >> dev >> mnt && std::getline(in, rest))
    if (mnt == dir) return true;
  return false;
}

class FuseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::access("/dev/fuse", R_OK | W_OK) != 0)
      GTEST_SKIP() << "/dev/fuse is not usable here (" << std::strerror(errno) << "): FUSE tests skipped";
    root_ = fs::temp_directory_path() / ("basefs-fuse-" + std::to_string(getpid()) + "-" +
                                         ::testing::UnitTest::GetInstance()->current_test_info()->name());
    Cleanup();
    fs::create_directories(root_);
    ASSERT_EQ(Run(Cli(0, "bootstrap demo")).code, 0);
  }

  void TearDown() override {
    for (pid_t p : pids_) testing::Stop(p);
    if (root_.empty()) return;
    if (HasFailure()) {
      for (int i = 0; i < 3; ++i)
        if (fs::exists(Log(i))) std::cerr << "--- daemon log " << i << ":\n" << testing::Slurp(Log(i));
    }
    Cleanup();
  }

  // Unmounts whatever is left under root_, then removes it (never through
  // a live mount).
  void Cleanup() {
    for (int i = 0; i < 3; ++i) {
      const std::string m = Mnt(i);
      if (IsMounted(m)) testing::RunShell("fusermount3 -u -z " + m);
    }
    for (int i = 0; i < 3; ++i)
      if (IsMounted(Mnt(i))) return;  // leave it rather than delete through it
    std::error_code ec;
    fs::remove_all(root_, ec);
  }

  std::string Dir(int i) const { return (root_ / ("n" + std::to_string(i))).string(); }
  std::string Mnt(int i) const { return (root_ / ("mnt" + std::to_string(i))).string(); }
  std::string Log(int i) const { return (root_ / ("log" + std::to_string(i))).string(); }
  std::string Cli(int i, const std::string& args) const {
    return std::string(BASEFS_BIN) + " --data-dir " + Dir(i) + " " + args;
  }

  Sh Run(const std::string& cmd) {
    const std::string o = (root_ / "sh.out").string(), e = (root_ / "sh.err").string();
    const int st = std::system(("( " + cmd + " ) >" + o + " 2>" + e).c_str());
    Sh r;
    r.code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    r.out = testing::Slurp(o);
    r.err = testing::Slurp(e);
    return r;
  }

  // Starts `basefs mount demo MNT` for node i; returns its gossip address,
  // or "" if the daemon did not come up (the log says why).
  std::string Mount(int i, const std::vector<std::string>& extra = {}) {
    std::error_code ec;
    fs::create_directories(Mnt(i), ec);  // a stale mount point answers ENOTCONN
    fs::remove(Log(i), ec);              // not the previous daemon's lines
    std::vector<std::string> argv = {BASEFS_BIN, "--data-dir",  Dir(i),        "mount",
                                     "demo",     Mnt(i),        "--bind",      "127.0.0.1:0",
                                     "--dns",    "127.0.0.1:0", "--node-name", "n" + std::to_string(i)};
    if (use_run_)
      argv = {BASEFS_BIN,
              "--data-dir",
              Dir(i),
              "run",
              "demo",
              "--mount",
              Mnt(i),
              "--bind",
              "127.0.0.1:0",
              "--dns",
              "127.0.0.1:0",
              "--node-name",
              "n" + std::to_string(i)};
    argv.insert(argv.end(), extra.begin(), extra.end());
    const pid_t pid = testing::Spawn(argv, Log(i));
    pids_.push_back(pid);
    last_pid_ = pid;
    std::string addr;
    const std::regex re("serving 'demo' as n[0-9]+ at ([0-9.]+:[0-9]+)");
    testing::WaitFor(
        [&] {
          const std::string log = testing::Slurp(Log(i));
          std::smatch m;
          if (log.find("mounted at") != std::string::npos && std::regex_search(log, m, re)) {
            addr = m[1];
            return true;
          }
          siginfo_t info{};
          // It gave up (the log says why): exited, not yet reaped.
          return ::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info.si_pid == pid;
        },
        10s);
    return addr;
  }

  // Mount() that skips the test if the kernel refuses us the mount.
  std::string MountOrSkip(int i, const std::vector<std::string>& extra = {}) {
    std::string addr = Mount(i, extra);
    if (addr.empty()) {
      const std::string log = testing::Slurp(Log(i));
      // Lack of privilege (a user without fusermount3, a container without
      // CAP_SYS_ADMIN) is a reason to skip; any other failure fails.
      if (log.find("cannot mount") != std::string::npos &&
          (log.find("not permitted") != std::string::npos || log.find("Permission denied") != std::string::npos))
        skip_reason_ = "mounting FUSE is not permitted here: " + log;
    }
    return addr;
  }

  // Waits for process `pid` (ours) to exit; returns its exit code or -1.
  int WaitExit(pid_t pid, std::chrono::milliseconds deadline) {
    int code = -1;
    testing::WaitFor(
        [&] {
          int st = 0;
          if (::waitpid(pid, &st, WNOHANG) != pid) return false;
          code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
          return true;
        },
        deadline);
    if (code != -1) std::erase(pids_, pid);
    return code;
  }

  static std::string Read(const std::string& path) { return testing::Slurp(path); }
  static void WriteLocal(const std::string& path, const std::string& content) {
    std::ofstream(path, std::ios::binary) << content;
  }

  fs::path root_;
  std::vector<pid_t> pids_;
  pid_t last_pid_ = -1;
  std::string skip_reason_;
  bool use_run_ = false;
};

#define MOUNT_OR_SKIP(var, ...)                                           \
  const std::string var = MountOrSkip(__VA_ARGS__);                       \
  if (var.empty() && !skip_reason_.empty()) GTEST_SKIP() << skip_reason_; \
  ASSERT_FALSE(var.empty()) << testing::Slurp(Log(0))

}  // namespace basefs
