// kill -9 of a writer at random moments never loses an acknowledged write,
// and the store always reopens. A real process, the real file system and
// LevelDB's synced writes: the writer prints "ACK i" only after WriteFile
// returned; the test kills it after a random number of acknowledgements
// (so mid-write, mid-batch or mid-fsync), reopens the store and checks that
// every acknowledged file is there with its content.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <random>
#include <string>

#include <gtest/gtest.h>

#include "store/store.h"
#include "tests/crash_content.h"

namespace basefs {
namespace {

struct Child {
  pid_t pid = -1;
  FILE* out = nullptr;
};

Child Spawn(const std::string& dir, long first, long count) {
  int fds[2];
  if (pipe(fds) != 0) std::abort();
  Child c;
  c.pid = fork();
  if (c.pid == 0) {
    dup2(fds[1], 1);
    close(fds[0]);
    close(fds[1]);
    const std::string f = std::to_string(first), n = std::to_string(count);
    execl(BASEFS_CRASH_WRITER, "crash_writer", dir.c_str(), f.c_str(), n.c_str(), nullptr);
    _exit(127);
  }
  close(fds[1]);
  c.out = fdopen(fds[0], "r");
  return c;
}

TEST(CrashTest, KillNineNeverLosesAnAcknowledgedWrite) {
  CryptoInit();
  const auto dir = std::filesystem::temp_directory_path() / ("basefs-crash-" + std::to_string(getpid()));
  std::filesystem::remove_all(dir);
  std::mt19937_64 rng(std::random_device{}());
  const uint64_t seed = rng();
  rng.seed(seed);
  SCOPED_TRACE("seed " + std::to_string(seed));
  StoreOptions o;
  o.now_ms = [] { return uint64_t{1}; };

  long next = 0;  // first index the next writer writes
  long acked_total = 0;
  const int rounds = 25;  // bounded: each round is one writer process
  for (int round = 0; round < rounds; ++round) {
    const long kill_after = static_cast<long>(rng() % 40);  // acks before the kill
    Child c = Spawn(dir.string(), next, 1000);
    long last_ack = next - 1;
    char line[64];
    long seen = 0;
    while (seen <= kill_after && std::fgets(line, sizeof(line), c.out)) {
      long i = -1;
      if (std::sscanf(line, "ACK %ld", &i) == 1) {
        ASSERT_EQ(i, last_ack + 1);
        last_ack = i;
        ++seen;
      }
    }
    // The writer is somewhere inside its next write now: kill it there.
    kill(c.pid, SIGKILL);
    int status = 0;
    waitpid(c.pid, &status, 0);
    // Drain acks written to the pipe before the kill landed.
    while (std::fgets(line, sizeof(line), c.out)) {
      long i = -1;
      if (std::sscanf(line, "ACK %ld", &i) == 1) last_ack = i;
    }
    std::fclose(c.out);

    auto store = Store::Open(dir.string(), o);
    ASSERT_TRUE(store.ok()) << "round " << round << ": store does not reopen: " << store.status().message();
    for (long i = 0; i <= last_ack; ++i) {
      auto content = (*store)->ReadFile("/k/" + std::to_string(i));
      ASSERT_TRUE(content.ok()) << "acknowledged write " << i << " lost in round " << round;
      ASSERT_EQ(*content, testing::CrashContent(i)) << "file " << i;
    }
    // A write that was in flight may or may not be there; it is never torn.
    if (auto extra = (*store)->ReadFile("/k/" + std::to_string(last_ack + 1)); extra.ok()) {
      EXPECT_EQ(*extra, testing::CrashContent(last_ack + 1));
      last_ack += 1;
    }
    acked_total = last_ack + 1;
    next = last_ack + 1;
  }
  std::printf("[crash] %d kills, %ld acknowledged writes, all present\n", rounds, acked_total);
  EXPECT_GT(acked_total, rounds) << "the writer should make progress between kills";
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace basefs
