#include "daemon/latency_hold.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <vector>

#include "replicate/fake_network.h"

namespace basefs {
namespace {

// A LatencyHold on simulated time that records what it asked the kernel.
struct Rig {
  explicit Rig(LatencyHold::Options o = {.hold_ms = 20, .burst = 4}, bool grant = true)
      : grant(grant), hold(&clock, o, [this](bool low) {
          calls.push_back(low);
          return !low || this->grant;
        }) {}
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

TEST(LatencyHoldTest, ABurstTakesTheHoldAndQuietGivesItBack) {
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

TEST(LatencyHoldTest, RequestsWhileHeldExtendIt) {
  Rig r;
  r.Requests(4);
  // A request every 10 ms keeps it for as long as they come.
  r.Requests(10, 10);
  EXPECT_TRUE(r.hold.held());
  EXPECT_EQ(r.hold.held_ms(), 90u);
  r.clock.RunFor(19);
  EXPECT_TRUE(r.hold.held());
  r.clock.RunFor(1);
  EXPECT_FALSE(r.hold.held());
  EXPECT_EQ(r.calls, (std::vector<bool>{true, false}));
  EXPECT_EQ(r.hold.held_ms(), 110u);
}

TEST(LatencyHoldTest, SpacedRequestsAreNoBurst) {
  Rig r;
  r.Requests(50, 21);  // each one more than hold_ms after the one before
  EXPECT_FALSE(r.hold.held());
  EXPECT_TRUE(r.calls.empty());
  // After a hold ends, it takes a whole new burst to take it again.
  r.Requests(4);
  ASSERT_TRUE(r.hold.held());
  r.clock.RunFor(20);
  r.Requests(3);
  EXPECT_FALSE(r.hold.held());
  r.Requests(1);
  EXPECT_TRUE(r.hold.held());
  EXPECT_EQ(r.hold.holds(), 2u);
}

TEST(LatencyHoldTest, ARefusedRequestIsNotTriedAgain) {
  Rig r({.hold_ms = 20, .burst = 4}, /*grant=*/false);
  r.Requests(4);
  EXPECT_FALSE(r.hold.held());
  EXPECT_FALSE(r.hold.available());
  r.Requests(100);
  EXPECT_EQ(r.calls, std::vector<bool>{true});
  EXPECT_EQ(r.hold.holds(), 0u);
}

TEST(LatencyHoldTest, ZeroHoldNeverAsks) {
  Rig r({.hold_ms = 0, .burst = 1});
  r.Requests(100);
  EXPECT_FALSE(r.hold.available());
  EXPECT_TRUE(r.calls.empty());
}

TEST(LatencyHoldTest, DestroyingAHeldHoldWithdrawsIt) {
  ManualClock clock;
  std::vector<bool> calls;
  {
    LatencyHold hold(&clock, {.hold_ms = 20, .burst = 1}, [&](bool low) {
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
  if (::access("/dev/cpu_dma_latency", W_OK) != 0) GTEST_SKIP() << "/dev/cpu_dma_latency is not writable here";
  const int32_t before = CurrentCpuLatency();
  if (before <= 0) GTEST_SKIP() << "another process holds the CPU latency at 0: cannot see ours";
  auto request = CpuLatencyRequest();
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
