#include "daemon/latency_hold.h"

#include <fcntl.h>
#include <unistd.h>

#include <vector>

#include <gtest/gtest.h>

#include "base/fake_seams.h"

namespace basefs {
namespace {

// A LatencyHold on simulated time that records what it asked the kernel.
struct Rig {
  explicit Rig(LatencyHold::Options o = {.period_ms = 20, .burst = 4}, bool grant = true)
      : grant(grant), hold(&clock, o, [this](bool low) {
          calls.push_back(low);
          return !low || this->grant;
        }) {}
  // n requests, every_ms apart.
  void Requests(int n, uint64_t every_ms = 0) {
    for (int i = 0; i < n; ++i) {
      if (i > 0) clock.RunFor(every_ms);
      hold.OnRequest();
    }
  }
  ManualClock clock;
  bool grant;
  std::vector<bool> calls;
  LatencyHold hold;
};

TEST(LatencyHoldTest, ABurstTakesTheHoldAndAQuietPeriodGivesItBack) {
  Rig r;
  r.Requests(3, 1);
  EXPECT_FALSE(r.hold.held());
  EXPECT_TRUE(r.calls.empty());
  r.Requests(1);
  EXPECT_TRUE(r.hold.held());
  EXPECT_EQ(r.calls, std::vector<bool>{true});
  r.clock.RunFor(19);
  EXPECT_TRUE(r.hold.held());
  r.clock.RunFor(1);
  EXPECT_FALSE(r.hold.held());
  EXPECT_EQ(r.calls, (std::vector<bool>{true, false}));
  EXPECT_EQ(r.hold.holds(), 1u);
  EXPECT_EQ(r.hold.held_ms(), 20u);
  EXPECT_EQ(r.clock.pending(), 0u);
}

TEST(LatencyHoldTest, BusyPeriodsKeepItAndAQuieterOneEndsIt) {
  Rig r;
  r.Requests(4);
  ASSERT_TRUE(r.hold.held());
  for (int period = 0; period < 5; ++period) {
    r.Requests(4, 4);  // 12 ms
    r.clock.RunFor(8);
    EXPECT_TRUE(r.hold.held()) << period;
  }
  EXPECT_EQ(r.hold.held_ms(), 100u);
  r.Requests(3, 1);
  r.clock.RunFor(18);
  EXPECT_FALSE(r.hold.held());
  EXPECT_EQ(r.calls, (std::vector<bool>{true, false}));
  EXPECT_EQ(r.hold.held_ms(), 120u);
}

TEST(LatencyHoldTest, AFrequentPollerIsNoBurst) {
  Rig r;
  r.Requests(100, 7);  // three in any 20 ms
  EXPECT_FALSE(r.hold.held());
  EXPECT_TRUE(r.calls.empty());
  // Nor does it keep a hold a burst took.
  r.clock.RunFor(7);
  r.Requests(4);
  ASSERT_TRUE(r.hold.held());
  r.Requests(10, 7);
  EXPECT_FALSE(r.hold.held());
  EXPECT_EQ(r.calls, (std::vector<bool>{true, false}));
  // After a hold ends, it takes a whole new burst to take it again.
  r.clock.RunFor(20);
  r.Requests(3);
  EXPECT_FALSE(r.hold.held());
  r.Requests(1);
  EXPECT_TRUE(r.hold.held());
  EXPECT_EQ(r.hold.holds(), 2u);
}

TEST(LatencyHoldTest, ARefusedRequestIsNotTriedAgain) {
  Rig r({.period_ms = 20, .burst = 4}, /*grant=*/false);
  r.Requests(4);
  EXPECT_FALSE(r.hold.held());
  EXPECT_FALSE(r.hold.available());
  r.Requests(100);
  EXPECT_EQ(r.calls, std::vector<bool>{true});
  EXPECT_EQ(r.hold.holds(), 0u);
}

TEST(LatencyHoldTest, NoRequestOrAZeroPeriodNeverHolds) {
  Rig r({.period_ms = 0, .burst = 1});
  r.Requests(100);
  EXPECT_FALSE(r.hold.available());
  EXPECT_TRUE(r.calls.empty());
  ManualClock clock;
  LatencyHold none(&clock, {.period_ms = 20, .burst = 1}, nullptr);
  none.OnRequest();
  EXPECT_FALSE(none.available());
  EXPECT_FALSE(none.held());
}

TEST(LatencyHoldTest, DestroyingAHeldHoldWithdrawsIt) {
  ManualClock clock;
  std::vector<bool> calls;
  {
    LatencyHold hold(&clock, {.period_ms = 20, .burst = 1}, [&](bool low) {
      calls.push_back(low);
      return true;
    });
    hold.OnRequest();
    ASSERT_TRUE(hold.held());
  }
  EXPECT_EQ(calls, (std::vector<bool>{true, false}));
  EXPECT_EQ(clock.pending(), 0u);  // its timer went with it
}

// The kernel's current CPU latency constraint, in µs.
int32_t CurrentCpuLatency() {
  const int fd = ::open("/dev/cpu_dma_latency", O_RDONLY | O_CLOEXEC);
  int32_t v = -1;
  if (fd >= 0) {
    if (::read(fd, &v, sizeof v) != static_cast<ssize_t>(sizeof v)) v = -1;
    ::close(fd);
  }
  return v;
}

TEST(CpuLatencyRequestTest, HoldsZeroUntilWithdrawn) {
  auto request = CpuLatencyRequest();
  if (!request) GTEST_SKIP() << "/dev/cpu_dma_latency cannot be opened for writing here (not root?)";
  const int32_t before = CurrentCpuLatency();
  if (before < 0) GTEST_SKIP() << "/dev/cpu_dma_latency cannot be read here";
  if (before == 0) GTEST_SKIP() << "another process holds the CPU latency at 0: ours cannot be seen";
  ASSERT_TRUE(request(true));
  EXPECT_EQ(CurrentCpuLatency(), 0);
  ASSERT_TRUE(request(true));  // again: still one request
  ASSERT_TRUE(request(false));
  EXPECT_EQ(CurrentCpuLatency(), before);
  ASSERT_TRUE(request(true));
  EXPECT_EQ(CurrentCpuLatency(), 0);
  request = nullptr;  // the last copy closes the device
  EXPECT_EQ(CurrentCpuLatency(), before);
}

}  // namespace
}  // namespace basefs
