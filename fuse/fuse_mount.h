// FuseMount: the view mounted with libfuse3's low-level API, served on the
// daemon's libevent loop.
//
// The session's /dev/fuse descriptor is a non-blocking persistent read
// event on the loop; each wakeup reads and answers a bounded batch of
// requests (fuse_session_receive_buf / fuse_session_process_buf). Every
// callback decodes its arguments, calls the store, and replies exactly once.
// Cache invalidations for changes that did not come through the mount
// (replication, the control socket) go through a Notifier thread, never
// from the loop (see notifier.h for the deadlock this avoids).
//
// Writes: each open regular file keeps its content in memory (shared by all
// handles of the inode); the new content becomes one signed write entry
// when a handle is closed (flush) or fsynced, and close/fsync returns only
// after that entry is synced to LevelDB. Until then nothing is acknowledged:
// a killed daemon or a forced unmount loses the unsaved buffer and never
// leaves a half-written entry. A file created through the mount exists only
// in that buffer (and in this mount's listings) until its first flush.
// Writes past `max_file_bytes` fail with EFBIG and make the handle's
// content unstorable: nothing is written for it.
//
// The root shows a read-only `.basefs/` directory (not in the log) whose
// files are rendered by callbacks at open time (docs/fuse.md).
//
// Layout: this class and fuse_mount.cc are the session (Mount, unmount,
// reading requests on the loop, the change listener). The callbacks are
// FuseMount::Ops (fuse_ops.h, fuse_ops*.cc); the state they work on is in
// parts with their own invariants: OpenFiles (open_files.h: buffers and
// the memory budget), HardLinks (hard_links.h), StatusDir (status_dir.h:
// `.basefs/`), Attributes (attributes.h: stat and xattrs) and DirListings
// (dir_listings.h).
//
// Thread-safety: loop thread only (the Notifier has its own thread).
// Lifetime: the event_base and the Store must outlive the mount; the
// destructor unmounts.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "fuse/attributes.h"
#include "fuse/dir_listings.h"
#include "fuse/hard_links.h"
#include "fuse/inode_table.h"
#include "fuse/op_stats.h"
#include "fuse/open_files.h"
#include "fuse/status_dir.h"
#include "store/store.h"

struct event_base;
struct event;
struct fuse_session;
struct fuse_buf;

namespace basefs {

class Notifier;

// One file of `.basefs/`: its name and how to render its content.
struct StatusFile {
  std::string name;
  std::function<std::string()> render;
};

struct MountOptions {
  std::string dir;
  // Mount read-only (the kernel answers EROFS to every change).
  bool read_only = false;
  // Where the store keeps its files: statfs reports that file system's
  // space (empty: made-up figures).
  std::string data_dir;
  // Largest file a write may make (the store's limit; EFBIG beyond).
  uint64_t max_file_bytes = kDefaultMaxFileBytes;
  // Content held for open files, all together; writes beyond get ENOSPC
  // and reads beyond are served without keeping the content.
  uint64_t max_buffered_bytes = 256ull << 20;
  // How long the kernel may keep attributes and directory entries without
  // asking again. Changes are also invalidated explicitly; this bounds the
  // staleness of a file or name whose invalidation had to be dropped
  // (directory listings' invalidations never are: Notifier::Listing).
  double cache_timeout_s = 10.0;
  // Invalidations waiting for the Notifier thread.
  size_t max_queued_invalidations = 65536;
  // Requests answered per wakeup of the loop before it serves others.
  int max_requests_per_wakeup = 64;
  // After a request, keep polling the device this long for the next one
  // before going back to sleep in the loop: a process working through many
  // files sends its next request within microseconds, and a sleep and
  // wake-up costs more than that (most on virtual machines). Bounded by
  // max_requests_per_wakeup too; 0 turns it off.
  int spin_us = 30;
  // Called after each request is answered (the daemon's LatencyHold).
  std::function<void()> on_request;
  // The files of `.basefs/` (at most kMaxStatusFiles).
  std::vector<StatusFile> status_files;
  static constexpr size_t kMaxStatusFiles = 16;
  // Let other users in (FUSE's allow_other; the kernel checks the modes
  // shown, default_permissions). Needs root, or user_allow_other in
  // /etc/fuse.conf (AllowOtherPossible).
  bool allow_other = false;
  // Owner, group and umask of everything shown (attributes.h, Owner).
  Owner owner{static_cast<unsigned>(::geteuid()), static_cast<unsigned>(::getegid()), 022};
};

// Whether this process may mount with allow_other: as root, or when
// /etc/fuse.conf says user_allow_other. When not, `why` says so and what
// to do.
bool AllowOtherPossible(std::string* why);

class FuseMount {
 public:
  // Mounts `store` at `options.dir`. Writes are signed with `key`; without
  // one the mount is read-only. `on_unmounted` runs (on the loop) when the
  // mount goes away from outside (fusermount3 -u, umount).
  // Fails with a message saying what to do for a missing directory, a stale
  // mount left by a killed daemon (ENOTCONN), or no FUSE permission.
  static Result<std::unique_ptr<FuseMount>> Mount(event_base* base, Store* store, std::optional<KeyPair> key,
                                                  MountOptions options, std::function<void()> on_unmounted);
  ~FuseMount();
  FuseMount(const FuseMount&) = delete;
  FuseMount& operator=(const FuseMount&) = delete;

  // Store change listener: drops the kernel's cached state for `c.path`
  // unless the change came from this mount's own request.
  void OnChange(const Change& c);

  const std::string& dir() const { return options_.dir; }
  const FuseOpStats& op_stats() const { return op_stats_; }

  // The low-level callbacks (fuse_ops.h): nested, so that the C callbacks
  // reach the members below.
  class Ops;

 private:
  FuseMount(event_base* base, Store* store, std::optional<KeyPair> key, MountOptions options,
            std::function<void()> on_unmounted);
  static void OnReadable(int fd, short what, void* arg);
  // Reads and answers up to `max` requests; false once the session ended.
  bool Pump(int max);

  event_base* base_;
  Store* store_;
  std::optional<KeyPair> key_;
  MountOptions options_;
  std::function<void()> on_unmounted_;
  fuse_session* se_ = nullptr;
  bool mounted_ = false;
  event* ev_ = nullptr;
  std::unique_ptr<fuse_buf> buf_;
  std::unique_ptr<Notifier> notifier_;
  FuseOpStats op_stats_;
  InodeTable inodes_;
  // Stat building, owned by the daemon's user and group.
  Attributes attrs_;
  // Open regular files: their buffers and the memory budget.
  OpenFiles files_;
  // The hard links of the view, both ways (kept from the change listener).
  HardLinks links_;
  // `.basefs/`: its files and the snapshots of open ones.
  StatusDir status_;
  // Directory listings being read, by handle or by inode.
  DirListings listings_;
  // Handles of open directories and `.basefs/` files (a regular file's
  // handle is its inode).
  uint64_t next_fh_ = 1;
  // Set while a request of this mount changes the store: the kernel
  // already knows about those changes.
  bool in_local_op_ = false;
  // The kernel opens directories without asking us (FUSE_CAP_NO_OPENDIR).
  bool no_opendir_ = false;
};

}  // namespace basefs
