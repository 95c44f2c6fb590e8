#include "daemon/loop_worker.h"

#include <atomic>
#include <chrono>
#include <functional>
#include <stdexcept>
#include <thread>
#include <vector>

#include <event2/event.h>
#include <gtest/gtest.h>

namespace basefs {
namespace {

using namespace std::chrono_literals;

class LoopWorkerTest : public ::testing::Test {
 protected:
  LoopWorkerTest() : base_(event_base_new()) {}
  ~LoopWorkerTest() override {
    worker_.reset();
    event_base_free(base_);
  }
  void SetUp() override {
    auto w = LoopWorker::Start(base_);
    ASSERT_TRUE(w.ok()) << w.status().message();
    worker_ = std::move(w).value();
  }
  // Runs the loop until `pred` holds or 10 s pass.
  bool LoopUntil(const std::function<bool()>& pred) {
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    timeval tick{0, 10000};
    while (!pred()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      event_base_loopexit(base_, &tick);
      event_base_loop(base_, EVLOOP_ONCE);
    }
    return true;
  }
  event_base* base_;
  std::unique_ptr<LoopWorker> worker_;
};

TEST_F(LoopWorkerTest, WorkRunsOnItsThreadAndDoneOnTheLoopInOrder) {
  const auto loop_thread = std::this_thread::get_id();
  // Slot i belongs to work i, then to done i: handed over in turn.
  std::vector<std::thread::id> ran_on(5);
  std::vector<int> dones;
  for (int i = 0; i < 5; ++i)
    worker_->Run([&, i] { ran_on[i] = std::this_thread::get_id(); },
                 [&, i] {
                   EXPECT_EQ(std::this_thread::get_id(), loop_thread);
                   EXPECT_NE(ran_on[i], std::thread::id()) << "its work ran first";
                   EXPECT_NE(ran_on[i], loop_thread);
                   dones.push_back(i);
                 });
  EXPECT_EQ(worker_->pending(), 5u);
  ASSERT_TRUE(LoopUntil([&] { return dones.size() == 5; }));
  EXPECT_EQ(dones, (std::vector<int>{0, 1, 2, 3, 4}));
  EXPECT_EQ(worker_->pending(), 0u);
}

TEST_F(LoopWorkerTest, ADoneMayQueueMore) {
  int dones = 0;
  std::function<void()> again = [&] {
    if (++dones < 3) worker_->Run([] {}, again);
  };
  worker_->Run([] {}, again);
  ASSERT_TRUE(LoopUntil([&] { return dones == 3; }));
  EXPECT_EQ(worker_->pending(), 0u);
}

TEST_F(LoopWorkerTest, WhatAWorkHoldsIsReleasedOnTheWorker) {
  const auto loop_thread = std::this_thread::get_id();
  std::atomic<bool> released_elsewhere{false};
  struct Probe {
    std::thread::id loop;
    std::atomic<bool>* flag;
    ~Probe() { *flag = std::this_thread::get_id() != loop; }
  };
  auto probe = std::make_shared<Probe>(Probe{loop_thread, &released_elsewhere});
  bool done = false;
  worker_->Run([p = std::move(probe)] { (void)p; }, [&] { done = true; });
  ASSERT_TRUE(LoopUntil([&] { return done; }));
  EXPECT_TRUE(released_elsewhere);
}

TEST_F(LoopWorkerTest, DestroyingWaitsForTheRunningWork) {
  std::atomic<bool> started{false}, release{false}, finished{false};
  worker_->Run(
      [&] {
        started = true;
        while (!release) std::this_thread::yield();
        finished = true;
      },
      nullptr);
  while (!started) std::this_thread::yield();
  std::thread destroyer([&] { worker_.reset(); });
  release = true;
  destroyer.join();
  EXPECT_TRUE(finished) << "the destructor returned before the work it was running ended";
}

TEST_F(LoopWorkerTest, ADoneTheLoopHasNotRunIsDroppedAtDestruction) {
  std::atomic<bool> worked{false};
  bool done = false;
  worker_->Run([&] { worked = true; }, [&] { done = true; });
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (!worked && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
  ASSERT_TRUE(worked);
  worker_.reset();  // the loop never ran: the done waits in vain
  EXPECT_FALSE(done);
}

TEST_F(LoopWorkerTest, AWorkThatThrowsStillGetsItsDone) {
  bool done = false;
  worker_->Run([] { throw std::runtime_error("no"); }, [&] { done = true; });
  ASSERT_TRUE(LoopUntil([&] { return done; }));
  // And the worker goes on.
  bool again = false;
  worker_->Run([] {}, [&] { again = true; });
  ASSERT_TRUE(LoopUntil([&] { return again; }));
}

}  // namespace
}  // namespace basefs
