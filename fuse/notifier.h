// Notifier: sends the kernel's cache invalidations (libfuse notify calls)
// from a thread of its own.
//
// Why a thread: an invalidation is a write to /dev/fuse that the kernel
// completes only after taking locks on the inode or its directory. A
// request the kernel has sent us (a lookup in that directory, a read of
// that file) may hold those locks while it waits for our reply. If the
// loop thread, which is the only one that replies, made the notify call
// itself, it would wait for a lock that waits for it. The helper thread
// only ever makes notify calls; the loop keeps answering, so every notify
// completes. The queue is bounded; when it is full further invalidations
// are dropped and counted (the kernel's attribute and entry timeouts bound
// how long a dropped one can leave stale data).
//
// Thread-safety: Inode()/Entry()/Stop() from the loop thread; the helper
// thread touches only the queue (under the mutex) and the session's
// notify calls, which libfuse allows from any thread.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

struct fuse_session;

namespace basefs {

class Notifier {
 public:
  Notifier(fuse_session* se, size_t max_queued);
  ~Notifier();  // Stop() must have been called
  Notifier(const Notifier&) = delete;
  Notifier& operator=(const Notifier&) = delete;

  // Attributes and page cache of an inode.
  void Inode(uint64_t ino);
  // The dentry `name` in directory `parent` (and the directory's attributes).
  void Entry(uint64_t parent, std::string name);

  // Drops what is queued and ends the thread. A notify call in progress can
  // only finish while requests are answered, so `pump` is called (on this
  // thread) to answer one batch of them until the helper is gone or
  // `deadline_ms` passes. Returns false if the helper did not finish (it
  // is then detached, and the session must be leaked, not destroyed).
  bool Stop(const std::function<void()>& pump, int deadline_ms);

  uint64_t sent() const;
  uint64_t dropped() const;

 private:
  struct Item {
    uint64_t ino;  // the inode, or the parent for an entry
    std::string name;
    bool entry;
  };
  void Run();
  void Push(Item item);

  fuse_session* se_;
  const size_t max_queued_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Item> queue_;
  bool stopping_ = false;
  bool finished_ = false;
  uint64_t sent_ = 0;
  uint64_t dropped_ = 0;
  std::thread thread_;
};

}  // namespace basefs
