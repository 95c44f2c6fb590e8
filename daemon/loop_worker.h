// LoopWorker: one thread beside the loop for work that must not stall it
// (the DNS rebuild's projection and answer building, the destruction of a
// large table). Each task's `work` runs on the worker thread, in the order
// given, and its `done` then runs on the loop: an eventfd the loop watches
// wakes it. A `work` that throws is logged, and its `done` still runs.
//
// Thread-safety: Run() and the destructor on the loop thread. A `work`
// must touch only what its caller handed over to it until its `done` runs.
// Lifetime: the event_base must outlive the worker.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

#include "base/result.h"

struct event_base;
struct event;

namespace basefs {

class LoopWorker {
 public:
  static Result<std::unique_ptr<LoopWorker>> Start(event_base* base);
  // Waits for the task running now; tasks not started and `done`s not yet
  // run are dropped (their functions destroyed on the loop thread).
  ~LoopWorker();
  LoopWorker(const LoopWorker&) = delete;
  LoopWorker& operator=(const LoopWorker&) = delete;

  // Queues `work` for the worker thread, then `done` (may be empty) for the
  // loop. A `done` may Run() more; it must not destroy the worker.
  void Run(std::function<void()> work, std::function<void()> done);
  // Tasks queued or running, and `done`s not yet run.
  size_t pending() const { return pending_; }

 private:
  struct Task {
    std::function<void()> work, done;
  };
  LoopWorker() = default;
  void Loop();
  static void OnWake(int fd, short what, void* arg);

  int fd_ = -1;
  event* ev_ = nullptr;
  size_t pending_ = 0;  // loop thread only
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Task> todo_;      // for the worker (guarded by mu_)
  std::deque<Task> finished_;  // for the loop (guarded by mu_)
  bool stop_ = false;          // guarded by mu_
  std::thread thread_;
};

}  // namespace basefs
