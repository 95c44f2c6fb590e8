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
// are dropped and counted: the kernel's attribute and entry timeouts bound
// how long a dropped one can leave stale data (a changed file's new mtime
// makes the kernel drop its pages then). A directory's cached listing has
// no such bound (its mtime does not change with its children), so listing
// invalidations are never dropped: they are kept apart, one per directory
// at most, however many changes arrive before the thread sends it.
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
#include <unordered_set>

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
  // The cached listing (and attributes) of directory `dir`: never dropped,
  // and queued once until sent.
  void Listing(uint64_t dir);

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
    uint64_t ino = 0;  // the inode, or the parent for an entry
    std::string name;
    bool entry = false;
  };
  void Run();
  void Push(Item item);

  fuse_session* se_;
  const size_t max_queued_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Item> queue_;
  std::deque<uint64_t> listings_;        // directories, sent first
  std::unordered_set<uint64_t> listed_;  // those in listings_
  bool stopping_ = false;
  bool finished_ = false;
  uint64_t sent_ = 0;
  uint64_t dropped_ = 0;
  std::thread thread_;
};

}  // namespace basefs
