#include "daemon/loop_worker.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <exception>
#include <iostream>
#include <system_error>

#include <event2/event.h>

#include "base/log.h"

namespace basefs {

Result<std::unique_ptr<LoopWorker>> LoopWorker::Start(event_base* base) {
  std::unique_ptr<LoopWorker> w(new LoopWorker());
  w->fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (w->fd_ < 0) return IOError(std::string("eventfd: ") + std::strerror(errno));
  w->ev_ = event_new(base, w->fd_, EV_READ | EV_PERSIST, &LoopWorker::OnWake, w.get());
  if (!w->ev_ || event_add(w->ev_, nullptr) != 0) return IOError("cannot watch the worker's eventfd");
  try {
    w->thread_ = std::thread([raw = w.get()] { raw->Loop(); });
  } catch (const std::system_error& e) {
    return IOError(std::string("cannot start a worker thread: ") + e.what());
  }
  return w;
}

LoopWorker::~LoopWorker() {
  std::deque<Task> dropped;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
    dropped.swap(todo_);
  }
  cv_.notify_one();
  if (thread_.joinable()) thread_.join();
  dropped.clear();
  finished_.clear();
  if (ev_) event_free(ev_);
  if (fd_ >= 0) ::close(fd_);
}

void LoopWorker::Run(std::function<void()> work, std::function<void()> done) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    todo_.push_back(Task{std::move(work), std::move(done)});
  }
  ++pending_;
  cv_.notify_one();
}

void LoopWorker::Loop() {
  for (;;) {
    Task t;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return stop_ || !todo_.empty(); });
      if (stop_) return;
      t = std::move(todo_.front());
      todo_.pop_front();
    }
    try {
      if (t.work) t.work();
    } catch (const std::exception& e) {
      LogError("a background task failed: {}", e.what());
    }
    t.work = nullptr;  // what it held goes here, off the loop
    {
      std::lock_guard<std::mutex> lock(mu_);
      finished_.push_back(std::move(t));
    }
    const uint64_t one = 1;
    // (It cannot fail: the counter would have to reach 2^64 - 2, and the fd
    // is closed only after this thread is joined.)
    (void)!::write(fd_, &one, sizeof one);
  }
}

void LoopWorker::OnWake(int fd, short, void* arg) {
  auto* self = static_cast<LoopWorker*>(arg);
  uint64_t count = 0;
  (void)!::read(fd, &count, sizeof count);
  std::deque<Task> ready;
  {
    std::lock_guard<std::mutex> lock(self->mu_);
    ready.swap(self->finished_);
  }
  for (Task& t : ready) {
    --self->pending_;
    if (t.done) t.done();  // may Run() more (never destroy the worker)
  }
}

}  // namespace basefs
