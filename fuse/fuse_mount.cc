// The session plumbing of the mount: Mount, the destructor's unmount,
// reading and answering requests on the loop (OnReadable, Pump), and the
// store's change listener (OnChange). The callbacks are in fuse_ops*.cc.
#define FUSE_USE_VERSION 34
#include "fuse/fuse_mount.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include <event2/event.h>

#include "base/log.h"
#include "fuse/fuse_ops.h"
#include "fuse/notifier.h"
#include "fuse/paths.h"

namespace basefs {

FuseMount::FuseMount(event_base* base, Store* store, std::optional<KeyPair> key, MountOptions options,
                     std::function<void()> on_unmounted)
    : base_(base),
      store_(store),
      key_(key),
      options_(std::move(options)),
      on_unmounted_(std::move(on_unmounted)),
      buf_(std::make_unique<fuse_buf>()),
      inodes_(kFirstDynamicIno),
      attrs_(store, options_.owner),
      files_(store, options_.max_buffered_bytes, options_.max_file_bytes),
      links_(store),
      status_(&options_.status_files, attrs_.owner()) {
  attrs_.set_links(&links_);
}

bool AllowOtherPossible(std::string* why) {
  if (::geteuid() == 0) return true;
  std::ifstream conf("/etc/fuse.conf");
  for (std::string line; std::getline(conf, line);) {
    const size_t start = line.find_first_not_of(" \t");
    if (start != std::string::npos && line.compare(start, 16, "user_allow_other") == 0) return true;
  }
  *why =
      "the mount is for this user only: other users (a service running as its own user) get EACCES; run the "
      "daemon as root, or add user_allow_other to /etc/fuse.conf";
  return false;
}

Result<std::unique_ptr<FuseMount>> FuseMount::Mount(event_base* base, Store* store, std::optional<KeyPair> key,
                                                    MountOptions options, std::function<void()> on_unmounted) {
  if (options.status_files.size() > MountOptions::kMaxStatusFiles) return Invalid("too many .basefs files");
  const std::string dir = options.dir;
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) {
    const int e = errno;
    if (e == ENOTCONN)
      return IOError("mount point " + dir + " is a stale FUSE mount (its daemon died); run 'fusermount3 -u " + dir +
                     "' and start again");
    return NotFound("cannot use mount point " + dir + ": " + std::strerror(e));
  }
  if (!S_ISDIR(st.st_mode)) return Status(Code::kNotDir, "mount point " + dir + " is not a directory");
  if (::access("/dev/fuse", R_OK | W_OK) != 0)
    return IOError(std::string("cannot open /dev/fuse: ") + std::strerror(errno) +
                   " (install fuse3 and load the fuse module)");

  std::unique_ptr<FuseMount> m(new FuseMount(base, store, key, std::move(options), std::move(on_unmounted)));
  if (!m->key_) m->options_.read_only = true;
  std::string opts = "fsname=basefs:" + store->name() + ",subtype=basefs,default_permissions";
  if (m->options_.read_only) opts += ",ro";
  if (m->options_.allow_other) opts += ",allow_other";
  // libfuse copies the arguments.
  std::vector<std::string> argv_s = {"basefs", "-o", opts};
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  fuse_args args = FUSE_ARGS_INIT(static_cast<int>(argv.size()), argv.data());
  const fuse_lowlevel_ops ops = Ops::Table();
  m->se_ = fuse_session_new(&args, &ops, sizeof(ops), m.get());
  fuse_opt_free_args(&args);
  if (!m->se_) return IOError("cannot create the FUSE session");
  if (fuse_session_mount(m->se_, dir.c_str()) != 0)
    return IOError("cannot mount at " + dir + " (are you root, or is fusermount3 installed and setuid?)");
  m->mounted_ = true;
  const int fd = fuse_session_fd(m->se_);
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  m->notifier_ = std::make_unique<Notifier>(m->se_, m->options_.max_queued_invalidations);
  if (auto root = store->Stat("/"); root.ok()) m->links_.FindBelow(*root);
  m->ev_ = event_new(base, fd, EV_READ | EV_PERSIST, &FuseMount::OnReadable, m.get());
  if (!m->ev_ || event_add(m->ev_, nullptr) != 0) return IOError("cannot watch the FUSE device");
  return m;
}

FuseMount::~FuseMount() {
  if (ev_) event_free(ev_);
  bool leak_session = false;
  if (notifier_) {
    const int fd = fuse_session_fd(se_);
    // A notify call in progress may wait for a request only we can answer.
    leak_session = !notifier_->Stop(
        [&] {
          pollfd p{fd, POLLIN, 0};
          if (::poll(&p, 1, 10) > 0) Pump(options_.max_requests_per_wakeup);
        },
        2000);
  }
  if (se_) {
    if (mounted_) fuse_session_unmount(se_);
    if (!leak_session) fuse_session_destroy(se_);
  }
  if (leak_session) (void)notifier_.release();  // its thread still uses the session
  std::free(buf_->mem);
}

void FuseMount::OnReadable(int, short, void* arg) {
  auto* self = static_cast<FuseMount*>(arg);
  if (self->Pump(self->options_.max_requests_per_wakeup)) return;
  // Unmounted from outside: stop watching, then tell the owner.
  // fuse_session_unmount still runs at destruction: it frees libfuse's
  // copy of the mount point and finds the mount already gone.
  event_del(self->ev_);
  LogInfo("{} was unmounted", self->options_.dir);
  if (self->on_unmounted_) self->on_unmounted_();
}

bool FuseMount::Pump(int max) {
  const long spin_us = options_.spin_us;
  timespec start{};
  bool spinning = false;
  for (int i = 0; i < max; ++i) {
    const int res = fuse_session_receive_buf(se_, buf_.get());
    if (res == -EAGAIN && spin_us > 0) {
      timespec now{};
      clock_gettime(CLOCK_MONOTONIC, &now);
      if (!spinning) {
        start = now;
        spinning = true;
      }
      if ((now.tv_sec - start.tv_sec) * 1000000 + (now.tv_nsec - start.tv_nsec) / 1000 < spin_us) {
        --i;
        continue;
      }
      return true;
    }
    spinning = false;
    if (res == -EINTR || res == -EAGAIN) return true;
    if (res <= 0) {
      if (fuse_session_exited(se_)) return false;
      return res == 0 ? true : res != -ENODEV;
    }
    // The header is in memory unless the request came by splice.
    const bool in_memory = !(buf_->flags & FUSE_BUF_IS_FD);
    const size_t kind = FuseOpStats::KindOf(in_memory ? buf_->mem : nullptr, static_cast<size_t>(res));
    const auto begun = std::chrono::steady_clock::now();
    fuse_session_process_buf(se_, buf_.get());
    op_stats_.Count(kind, std::chrono::duration<double>(std::chrono::steady_clock::now() - begun).count());
    if (options_.on_request) options_.on_request();
  }
  return true;
}

void FuseMount::OnChange(const Change& c) {
  if (c.cause == Action::kLink || c.cause == Action::kRevert || links_.IsLink(c.path)) {
    // The files it named before and names now have another link count.
    std::optional<std::string> before;
    if (const std::string* t = links_.TargetOf(c.path)) before = *t;
    links_.Track(c.path);
    if (!in_local_op_) {
      const std::string* after = links_.TargetOf(c.path);
      const std::string* was = before ? &*before : nullptr;
      for (const std::string* t : {was, after}) {
        if (!t) continue;
        if (auto tino = inodes_.Find(*t)) notifier_->Inode(*tino);
      }
    }
  }
  // Hard links to the changed path are other inodes to the kernel, also
  // when the change came through this mount: their cached pages go too.
  if (const std::set<std::string>* named = links_.LinksTo(c.path)) {
    for (const std::string& link : *named) {
      if (auto lino = inodes_.Find(link)) {
        notifier_->Inode(*lino);
        if (OpenFile* f = files_.Find(*lino); f && !f->dirty) files_.Unload(f);
      }
    }
  }
  if (in_local_op_) return;  // the kernel saw it happen
  const auto ino = inodes_.Find(c.path);
  if (ino) {
    notifier_->Inode(*ino);
    if (OpenFile* f = files_.Find(*ino); f && !f->dirty) {
      if (f->stored && !store_->Stat(c.path).ok()) {
        // Deleted on another node while open here: as after a local
        // unlink, the descriptor keeps the content it had, and a new file
        // at this path is a new inode. (A file being written keeps its
        // name: its save wins, docs/fuse.md.)
        files_.KeepDeletedContent(f, c.path);
        f->unlinked = true;
        inodes_.Detach(c.path);
      } else {
        files_.Unload(f);
      }
    }
  }
  if (c.path == "/") return;
  if (!ino || (c.cause != Action::kWrite && c.cause != Action::kMode && c.cause != Action::kAttr)) {
    if (auto parent = inodes_.Find(ParentOf(c.path))) {
      notifier_->Entry(*parent, NameOf(c.path));
      notifier_->Listing(*parent);
    }
  }
}

}  // namespace basefs
