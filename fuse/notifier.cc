#define FUSE_USE_VERSION 34
#include "fuse/notifier.h"

#include <fuse_lowlevel.h>

#include <cassert>
#include <chrono>

namespace basefs {

Notifier::Notifier(fuse_session* se, size_t max_queued) : se_(se), max_queued_(max_queued) {
  thread_ = std::thread([this] { Run(); });
}

Notifier::~Notifier() { assert(!thread_.joinable() && "Notifier::Stop() not called"); }

void Notifier::Inode(uint64_t ino) { Push(Item{ino, {}, false}); }
void Notifier::Entry(uint64_t parent, std::string name) { Push(Item{parent, std::move(name), true}); }

void Notifier::Listing(uint64_t dir) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_ || !listed_.insert(dir).second) return;
    listings_.push_back(dir);
  }
  cv_.notify_one();
}

void Notifier::Push(Item item) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;
    if (queue_.size() >= max_queued_) {
      ++dropped_;
      return;
    }
    queue_.push_back(std::move(item));
  }
  cv_.notify_one();
}

void Notifier::Run() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    cv_.wait(lock, [this] { return stopping_ || !queue_.empty() || !listings_.empty(); });
    if (stopping_) break;
    Item item;
    if (!listings_.empty()) {
      // Taken off the set before it is sent: a change after this point
      // queues the directory again.
      item = Item{listings_.front(), {}, false};
      listings_.pop_front();
      listed_.erase(item.ino);
    } else {
      item = std::move(queue_.front());
      queue_.pop_front();
    }
    lock.unlock();
    // Errors (-ENOENT for an inode the kernel forgot, -ENOSYS on old
    // kernels) mean there is nothing cached to drop.
    if (item.entry)
      fuse_lowlevel_notify_inval_entry(se_, item.ino, item.name.data(), item.name.size());
    else
      fuse_lowlevel_notify_inval_inode(se_, item.ino, 0, 0);
    lock.lock();
    ++sent_;
  }
  finished_ = true;
}

bool Notifier::Stop(const std::function<void()>& pump, int deadline_ms) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    queue_.clear();
    listings_.clear();
    listed_.clear();
  }
  cv_.notify_all();
  const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(deadline_ms);
  while (true) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (finished_) break;
    }
    if (std::chrono::steady_clock::now() >= end) {
      thread_.detach();
      return false;
    }
    pump();
  }
  thread_.join();
  return true;
}

uint64_t Notifier::sent() const {
  std::lock_guard<std::mutex> lock(mu_);
  return sent_;
}

uint64_t Notifier::dropped() const {
  std::lock_guard<std::mutex> lock(mu_);
  return dropped_;
}

}  // namespace basefs
