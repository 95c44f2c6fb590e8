#define FUSE_USE_VERSION 34
#include "fuse/fuse_mount.h"

#include <event2/event.h>
#include <fcntl.h>
#include <fuse_lowlevel.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <iostream>
#include <optional>
#include <vector>

#include "fuse/errno_map.h"
#include "fuse/notifier.h"

namespace basefs {

namespace {

// Fixed inodes of the `.basefs/` directory and its files; the inode table
// hands out numbers from kFirstDynamicIno on.
constexpr uint64_t kStatusDirIno = 2;
constexpr uint64_t kFirstStatusFileIno = 3;
constexpr uint64_t kFirstDynamicIno = 64;
constexpr const char* kStatusDirName = ".basefs";
constexpr int kMaxLinkHops = 8;
// Handle-less directory listings kept between the reads of one pass.
constexpr size_t kMaxListings = 1024;
// The xattrs each path exposes (read-only).
constexpr const char* kXattrAuthor = "user.basefs.author";
constexpr const char* kXattrHash = "user.basefs.hash";
constexpr const char* kXattrRevisions = "user.basefs.revisions";

// FNV-1a of a path with the top bit set: never a number the table gives.
uint64_t PathIno(const std::string& path) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : path) h = (h ^ c) * 1099511628211ull;
  return h | (1ull << 63);
}

bool IsStatusIno(uint64_t ino) { return ino >= kStatusDirIno && ino < kFirstDynamicIno; }

std::string ParentOf(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == 0 ? "/" : path.substr(0, slash);
}
std::string NameOf(const std::string& path) { return path.substr(path.rfind('/') + 1); }

timespec FromMs(uint64_t ms) {
  timespec ts{};
  ts.tv_sec = static_cast<time_t>(ms / 1000);
  ts.tv_nsec = static_cast<long>((ms % 1000) * 1000000);
  return ts;
}

}  // namespace

struct FuseMount::OpenFile {
  std::string path;
  std::string data;     // the content, once loaded
  bool loaded = false;  // `data` holds the content (clean or dirty)
  bool dirty = false;   // `data` differs from the store
  bool written = false; // write() or truncate since the last save
  bool stored = true;   // false: created here, no entry yet
  bool unlinked = false;
  bool exec = false;    // wanted executable bit of an unstored file
  bool failed = false;  // a write went past the size limit: never store
  int opens = 0;
  // Over the memory budget, reads go through this instead of `data`.
  std::unique_ptr<ContentReader> reader;
  uint64_t created_ms = 0;
};

struct FuseMount::DirItem {
  std::string name;
  mode_t type;  // S_IFDIR, S_IFREG or S_IFLNK
};

// The low-level callbacks. Each one decodes, calls the store, replies once.
class FuseMount::Ops {
 public:
  static FuseMount* Self(fuse_req_t req) { return static_cast<FuseMount*>(fuse_req_userdata(req)); }

  // Marks the store calls of one request as this mount's own.
  class LocalOp {
   public:
    // Nests: an operation that saves a file (rename) stays local after
    // the save's own LocalOp ends.
    explicit LocalOp(FuseMount* m) : m_(m), outer_(m->in_local_op_) { m_->in_local_op_ = true; }
    ~LocalOp() { m_->in_local_op_ = outer_; }
    LocalOp(const LocalOp&) = delete;
    LocalOp& operator=(const LocalOp&) = delete;

   private:
    FuseMount* m_;
    bool outer_;
  };

  // --- Helpers ------------------------------------------------------------

  // The node a hard link resolves to (itself for anything else).
  static const PathNode* Resolve(FuseMount* m, const PathNode* n) {
    for (int hops = 0; n && n->state().kind == Kind::kLink && hops < kMaxLinkHops; ++hops) {
      auto t = m->store_->Stat(n->state().content->entry.content);
      n = t.ok() ? *t : nullptr;
    }
    return n;
  }

  static struct stat BaseStat(FuseMount* m, uint64_t ino) {
    struct stat st {};
    st.st_ino = ino;
    st.st_uid = m->uid_;
    st.st_gid = m->gid_;
    st.st_blksize = 4096;
    return st;
  }

  static struct stat StatOfNode(FuseMount* m, uint64_t ino, const PathNode* n) {
    struct stat st = BaseStat(m, ino);
    const NodeState& s = n->state();
    const ViewEntry* modified = s.modified ? s.modified : s.head;
    const timespec t = FromMs(modified ? modified->entry.timestamp_ms : 0);
    st.st_atim = st.st_mtim = st.st_ctim = t;
    switch (s.kind) {
      case Kind::kDir:
        st.st_mode = S_IFDIR | 0755;
        st.st_nlink = 2;
        break;
      case Kind::kSymlink:
        st.st_mode = S_IFLNK | 0777;
        st.st_nlink = 1;
        st.st_size = static_cast<off_t>(Store::ContentSize(n));
        break;
      case Kind::kFile:
      case Kind::kLink:
      case Kind::kNone: {
        const PathNode* r = Resolve(m, n);
        const bool exec = r ? r->state().exec : false;
        st.st_mode = S_IFREG | (exec ? 0755 : 0644);
        st.st_nlink = 1;
        st.st_size = r ? static_cast<off_t>(Store::ContentSize(r)) : 0;
        break;
      }
    }
    st.st_blocks = (st.st_size + 511) / 512;
    return st;
  }

  static struct stat StatOfOpen(FuseMount* m, uint64_t ino, const OpenFile& f) {
    struct stat st = BaseStat(m, ino);
    st.st_mode = S_IFREG | (f.exec ? 0755 : 0644);
    st.st_nlink = 1;
    st.st_size = static_cast<off_t>(!f.loaded && f.reader ? f.reader->size() : f.data.size());
    st.st_blocks = (st.st_size + 511) / 512;
    st.st_atim = st.st_mtim = st.st_ctim = FromMs(f.created_ms);
    return st;
  }

  static struct stat StatOfStatusDir(FuseMount* m) {
    struct stat st = BaseStat(m, kStatusDirIno);
    st.st_mode = S_IFDIR | 0555;
    st.st_nlink = 2;
    return st;
  }

  static struct stat StatOfStatusFile(FuseMount* m, uint64_t ino, size_t size) {
    struct stat st = BaseStat(m, ino);
    st.st_mode = S_IFREG | 0444;
    st.st_nlink = 1;
    st.st_size = static_cast<off_t>(size);
    return st;
  }

  static const StatusFile* StatusFileOf(FuseMount* m, uint64_t ino) {
    if (ino < kFirstStatusFileIno) return nullptr;
    const uint64_t i = ino - kFirstStatusFileIno;
    return i < m->options_.status_files.size() ? &m->options_.status_files[i] : nullptr;
  }

  // Attributes of inode `ino`: an open file's buffer if it is unsaved, the
  // view otherwise. Returns an errno, 0 on success.
  static int StatIno(FuseMount* m, uint64_t ino, struct stat* st) {
    if (ino == kStatusDirIno) {
      *st = StatOfStatusDir(m);
      return 0;
    }
    if (const StatusFile* f = StatusFileOf(m, ino)) {
      *st = StatOfStatusFile(m, ino, f->render().size());
      return 0;
    }
    if (auto it = m->open_.find(ino); it != m->open_.end()) {
      const OpenFile& f = *it->second;
      if (f.unlinked) {
        // Still open after its name went: the buffer's attributes.
        *st = StatOfOpen(m, ino, f);
        st->st_nlink = 0;
        return 0;
      }
      if (!f.stored || f.dirty) {
        *st = StatOfOpen(m, ino, f);
        if (f.stored) {
          // A stored file keeps its view mode and time while unsaved.
          if (auto n = m->store_->Stat(f.path); n.ok()) {
            const struct stat view = StatOfNode(m, ino, *n);
            st->st_mode = view.st_mode;
            st->st_atim = view.st_atim;
            st->st_mtim = view.st_mtim;
            st->st_ctim = view.st_ctim;
          }
        }
        return 0;
      }
    }
    const std::string* path = m->inodes_.PathOf(ino);
    if (!path) return ENOENT;
    auto n = m->store_->Stat(*path);
    if (!n.ok()) return ErrnoFor(n.status());
    *st = StatOfNode(m, ino, *n);
    return 0;
  }

  static void ReplyEntry(fuse_req_t req, FuseMount* m, uint64_t ino, const struct stat& st) {
    fuse_entry_param e{};
    e.ino = ino;
    e.attr = st;
    e.attr_timeout = m->options_.cache_timeout_s;
    e.entry_timeout = m->options_.cache_timeout_s;
    fuse_reply_entry(req, &e);
  }

  // Replies with a new reference to the node at `path` (after a create).
  static void ReplyPath(fuse_req_t req, FuseMount* m, const std::string& path) {
    auto n = m->store_->Stat(path);
    if (!n.ok()) {
      fuse_reply_err(req, ErrnoFor(n.status()));
      return;
    }
    const uint64_t ino = m->inodes_.Ref(path);
    ReplyEntry(req, m, ino, StatOfNode(m, ino, *n));
  }

  // The path of a directory inode the kernel names, or an errno.
  static int DirPath(FuseMount* m, uint64_t ino, std::string* out) {
    if (IsStatusIno(ino)) return EROFS;
    const std::string* p = m->inodes_.PathOf(ino);
    if (!p) return ENOENT;
    *out = *p;
    return 0;
  }

  // The path of `name` in directory `parent`, or an errno.
  static int Child(FuseMount* m, uint64_t parent, const char* name, std::string* out) {
    // `.basefs/` is the mount's own: it cannot be made, removed or renamed.
    if (parent == InodeTable::kRootIno && std::strcmp(name, kStatusDirName) == 0) return EBUSY;
    std::string dir;
    if (int e = DirPath(m, parent, &dir)) return e;
    return ChildPath(dir, name, out);
  }

  // Whether this mount may change anything (errno if not).
  static int Writable(FuseMount* m) {
    if (m->options_.read_only || !m->key_) return EROFS;
    return 0;
  }

  static OpenFile* Open(FuseMount* m, uint64_t ino) {
    auto it = m->open_.find(ino);
    return it == m->open_.end() ? nullptr : it->second.get();
  }

  // The size of the file at `path` in the view (hard links followed), 0 if none.
  static uint64_t StoredSize(FuseMount* m, const std::string& path) {
    auto n = m->store_->Stat(path);
    const PathNode* r = n.ok() ? Resolve(m, *n) : nullptr;
    return r ? Store::ContentSize(r) : 0;
  }

  // Whether `more` bytes of open-file content fit the memory budget.
  static bool Fits(const FuseMount* m, uint64_t more) {
    return m->buffered_bytes_ + more <= m->options_.max_buffered_bytes;
  }

  // Loads an open file's content from the store if it is not in memory
  // (ENOSPC when it does not fit the budget).
  static int Load(FuseMount* m, OpenFile* f) {
    if (f->loaded) return 0;
    if (f->unlinked) return EIO;  // its name is gone, and its content was not kept
    auto content = m->store_->ReadFile(f->path);
    if (!content.ok()) return ErrnoFor(content.status());
    if (!Fits(m, content->size())) return ENOSPC;
    m->buffered_bytes_ += content->size();
    f->data = std::move(content).value();
    f->loaded = true;
    return 0;
  }

  static void Unload(FuseMount* m, OpenFile* f) {
    f->reader.reset();  // a newer version may have come
    m->buffered_bytes_ -= f->data.size();
    f->data.clear();
    f->data.shrink_to_fit();
    f->loaded = false;
  }

  static void Resize(FuseMount* m, OpenFile* f, size_t size) {
    m->buffered_bytes_ = m->buffered_bytes_ - f->data.size() + size;
    f->data.resize(size);
  }

  // Forgets that `path` is the unsaved file `ino` (not a newer file that
  // took the name after this one was unlinked or renamed over).
  static void DropUnstored(FuseMount* m, const std::string& path, uint64_t ino) {
    auto it = m->unstored_.find(path);
    if (it != m->unstored_.end() && it->second == ino) m->unstored_.erase(it);
  }

  // Before the name `path` goes (unlinked, or renamed over): an open file
  // behind it keeps the content it had, as on a local file system. Over the
  // memory budget it is not kept, and its reads fail with EIO.
  static void KeepOpenContent(FuseMount* m, const std::string& path) {
    if (auto ino = m->inodes_.Find(path))
      if (OpenFile* f = Open(m, *ino); f && !f->loaded) (void)Load(m, f);
  }

  // An open file whose path was just deleted by a remote entry: load the
  // content it showed before (the state of the path's chain before its
  // last delete: a write, a revert to one, or a hard link, followed to its
  // target's content), or read it in ranges beyond the memory budget. A
  // path gone without a delete (its writer's key revoked) is not kept: its
  // reads fail with EIO.
  static void KeepDeletedContent(FuseMount* m, OpenFile* f, const std::string& path) {
    if (f->loaded) return;
    const View& view = m->store_->view();
    const PathNode* n = view.Lookup(path);
    if (!n) return;
    size_t last_delete = n->chain().size();
    while (last_delete > 0 && n->chain()[last_delete - 1]->entry.action != Action::kDelete) --last_delete;
    if (last_delete == 0) return;
    const NodeState before = view.StateBefore(n, last_delete - 1);
    const ViewEntry* ve = nullptr;
    if (before.kind == Kind::kFile) {
      ve = before.content;
    } else if (before.kind == Kind::kLink) {
      auto target = m->store_->Stat(before.content->entry.content);
      const PathNode* file = target.ok() ? Resolve(m, *target) : nullptr;
      if (file && file->state().kind == Kind::kFile) ve = file->state().content;
    }
    if (!ve || !ve->complete) return;
    if (!Fits(m, ve->entry.size)) {
      f->reader = m->store_->OpenContent(ve);  // read in ranges, as over-budget files are
      return;
    }
    auto content = m->store_->ReadContent(ve);
    if (!content.ok()) return;
    m->buffered_bytes_ += content->size();
    f->data = std::move(content).value();
    f->loaded = true;
  }

  // Before the file at `path` goes: the hard links that name it (a link
  // entry names a path, docs/decisions.md) become copies of its content, so
  // they keep it, as the other names of a removed file do on a local file
  // system (git links a new object, then unlinks its temporary name).
  static void DetachLinksTo(FuseMount* m, const std::string& path) {
    auto named = m->links_to_.find(path);
    if (named == m->links_to_.end()) return;
    const std::vector<std::string> links(named->second.begin(), named->second.end());
    std::optional<Result<std::string>> content;
    bool exec = false;
    for (const std::string& link : links) {
      auto n = m->store_->Stat(link);
      if (!n.ok() || (*n)->state().kind != Kind::kLink || (*n)->state().content->entry.content != path) {
        m->TrackLink(link);  // out of date: take what the view says
        continue;
      }
      if (!content) {
        content = m->store_->ReadFile(path);
        auto target = m->store_->Stat(path);
        const PathNode* r = target.ok() ? Resolve(m, *target) : nullptr;
        exec = r && r->state().exec;
      }
      if (!content->ok()) return;
      Status st = m->store_->WriteFile(*m->key_, link, **content);
      if (st.ok() && exec) st = m->store_->SetExec(*m->key_, link, true);
      if (!st.ok())
        std::cerr << "basefs: " << link << " links to " << path << ", which goes, and could not keep its content: "
                  << st.message() << std::endl;
      m->SetLink(link, nullptr);
    }
  }

  // Where content written at `path` goes: a hard link's target (followed),
  // so the link stays a link and the other names see it; `path` otherwise.
  static std::string ContentPath(FuseMount* m, const std::string& path) {
    if (auto n = m->store_->Stat(path); n.ok() && (*n)->state().kind == Kind::kLink) {
      if (const PathNode* r = Resolve(m, *n)) return r->FullPath();
    }
    return path;
  }

  // After a write through a hard link: the target's own inode is another
  // one to the kernel, and a clean buffer of it is out of date.
  static void Stale(FuseMount* m, const std::string& path) {
    if (auto ino = m->inodes_.Find(path)) {
      m->notifier_->Inode(*ino);
      if (OpenFile* o = Open(m, *ino); o && !o->dirty) Unload(m, o);
    }
  }

  // Stores an open file's unsaved content as one write entry (plus a mode
  // entry for a new executable file). Returns an errno, 0 on success.
  static int Save(FuseMount* m, uint64_t ino, OpenFile* f) {
    if (f->failed) return EFBIG;
    if (!f->dirty || f->unlinked) return 0;
    LocalOp local(m);
    const std::string where = ContentPath(m, f->path);
    Status st = m->store_->WriteFile(*m->key_, where, f->data);
    if (!st.ok()) return ErrnoFor(st);
    if (where != f->path) Stale(m, where);
    if (!f->stored) {
      f->stored = true;
      DropUnstored(m, f->path, ino);
      if (f->exec) {
        st = m->store_->SetExec(*m->key_, f->path, true);
        if (!st.ok()) return ErrnoFor(st);
      }
    }
    f->dirty = false;
    f->written = false;
    return 0;
  }

  // --- Callbacks ------------------------------------------------------------

  static void Init(void* userdata, fuse_conn_info* conn) {
    auto* m = static_cast<FuseMount*>(userdata);
    // Directories need no open handle: the kernel then caches listings
    // without asking us at every opendir (see Opendir).
    m->no_opendir_ = (conn->capable & FUSE_CAP_NO_OPENDIR_SUPPORT) != 0;
    // Whole-file buffering is ours; the kernel's writeback cache would only
    // delay the moment we learn of a write.
    conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
    if (conn->capable & FUSE_CAP_READDIRPLUS) conn->want |= FUSE_CAP_READDIRPLUS;
    // Symlink targets stay in the kernel's page cache (dropped with the
    // inode's cache when a change invalidates it): a tree like /etc,
    // mostly symlinks, is then walked without a readlink round trip each.
    if (conn->capable & FUSE_CAP_CACHE_SYMLINKS) conn->want |= FUSE_CAP_CACHE_SYMLINKS;
  }

  static void Lookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
    FuseMount* m = Self(req);
    if (parent == kStatusDirIno) {
      const auto& files = m->options_.status_files;
      for (size_t i = 0; i < files.size(); ++i) {
        if (files[i].name != name) continue;
        const uint64_t ino = kFirstStatusFileIno + i;
        fuse_entry_param e{};
        e.ino = ino;
        e.attr = StatOfStatusFile(m, ino, files[i].render().size());
        fuse_reply_entry(req, &e);  // zero timeouts: always asked again
        return;
      }
      fuse_reply_err(req, ENOENT);
      return;
    }
    if (parent == InodeTable::kRootIno && std::strcmp(name, kStatusDirName) == 0) {
      fuse_entry_param e{};
      e.ino = kStatusDirIno;
      e.attr = StatOfStatusDir(m);
      e.attr_timeout = e.entry_timeout = m->options_.cache_timeout_s;
      fuse_reply_entry(req, &e);
      return;
    }
    std::string path;
    if (int e = Child(m, parent, name, &path)) {
      fuse_reply_err(req, e == EROFS ? ENOENT : e);
      return;
    }
    if (auto u = m->unstored_.find(path); u != m->unstored_.end()) {
      const uint64_t ino = m->inodes_.Ref(path);
      ReplyEntry(req, m, ino, StatOfOpen(m, ino, *m->open_.at(u->second)));
      return;
    }
    auto n = m->store_->Stat(path);
    if (!n.ok()) {
      if (n.status().code() == Code::kNotFound) {
        // A negative entry the kernel may cache; a later creation that does
        // not come through this mount invalidates it.
        fuse_entry_param e{};
        e.entry_timeout = m->options_.cache_timeout_s;
        fuse_reply_entry(req, &e);
        return;
      }
      fuse_reply_err(req, ErrnoFor(n.status()));
      return;
    }
    const uint64_t ino = m->inodes_.Ref(path);
    ReplyEntry(req, m, ino, StatOfNode(m, ino, *n));
  }

  static void Forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup) {
    Self(req)->inodes_.Forget(ino, nlookup);
    fuse_reply_none(req);
  }

  static void ForgetMulti(fuse_req_t req, size_t count, fuse_forget_data* forgets) {
    FuseMount* m = Self(req);
    for (size_t i = 0; i < count; ++i) m->inodes_.Forget(forgets[i].ino, forgets[i].nlookup);
    fuse_reply_none(req);
  }

  static void Getattr(fuse_req_t req, fuse_ino_t ino, fuse_file_info*) {
    FuseMount* m = Self(req);
    struct stat st {};
    if (int e = StatIno(m, ino, &st)) {
      fuse_reply_err(req, e);
      return;
    }
    fuse_reply_attr(req, &st, IsStatusIno(ino) ? 0.0 : m->options_.cache_timeout_s);
  }

  static void Setattr(fuse_req_t req, fuse_ino_t ino, struct stat* attr, int to_set, fuse_file_info* fi) {
    FuseMount* m = Self(req);
    if (IsStatusIno(ino)) {
      fuse_reply_err(req, EROFS);
      return;
    }
    const std::string* p = m->inodes_.PathOf(ino);
    OpenFile* f = Open(m, ino);
    if (!p && !f) {
      fuse_reply_err(req, ENOENT);
      return;
    }
    const std::string path = f ? f->path : *p;
    if (to_set & (FUSE_SET_ATTR_SIZE | FUSE_SET_ATTR_MODE)) {
      if (int e = Writable(m)) {
        fuse_reply_err(req, e);
        return;
      }
    }
    if (to_set & FUSE_SET_ATTR_SIZE) {
      const uint64_t size = static_cast<uint64_t>(attr->st_size);
      if (size > m->options_.max_file_bytes) {
        fuse_reply_err(req, EFBIG);
        return;
      }
      if (f) {
        if (int e = Load(m, f)) {
          fuse_reply_err(req, e);
          return;
        }
        if (size > f->data.size() && !Fits(m, size - f->data.size())) {
          fuse_reply_err(req, ENOSPC);
          return;
        }
        if (f->data.size() != size) {
          Resize(m, f, size);
          f->dirty = true;
          f->written = true;
        }
        // truncate(2) by name: no descriptor of the caller's will be
        // closed to store it (the open one may only read), so store it now.
        if (!fi) {
          if (int e = Save(m, ino, f)) {
            fuse_reply_err(req, e);
            return;
          }
        }
      } else {
        auto n = m->store_->Stat(path);
        if (!n.ok()) {
          fuse_reply_err(req, ErrnoFor(n.status()));
          return;
        }
        if ((*n)->state().kind == Kind::kDir) {
          fuse_reply_err(req, EISDIR);
          return;
        }
        auto content = m->store_->ReadFile(path);
        if (!content.ok()) {
          fuse_reply_err(req, ErrnoFor(content.status()));
          return;
        }
        if (content->size() != size) {
          content->resize(size);
          LocalOp local(m);
          const std::string where = ContentPath(m, path);
          Status st = m->store_->WriteFile(*m->key_, where, *content);
          if (!st.ok()) {
            fuse_reply_err(req, ErrnoFor(st));
            return;
          }
          if (where != path) Stale(m, where);
        }
      }
    }
    if (to_set & FUSE_SET_ATTR_MODE) {
      const bool exec = (attr->st_mode & 0111) != 0;
      if (f && !f->stored) {
        f->exec = exec;
      } else if (f && f->unlinked) {
        // Its name is gone (or names another file now): nothing to store.
      } else {
        auto n = m->store_->Stat(path);
        if (!n.ok()) {
          fuse_reply_err(req, ErrnoFor(n.status()));
          return;
        }
        const Kind kind = (*n)->state().kind;
        // Only a regular file's executable bit is stored; other bits (and
        // directories and links) keep the mode the view gives them.
        if (kind == Kind::kFile && (*n)->state().exec != exec) {
          LocalOp local(m);
          Status st = m->store_->SetExec(*m->key_, path, exec);
          if (!st.ok()) {
            fuse_reply_err(req, ErrnoFor(st));
            return;
          }
        }
      }
    }
    // Owner, group and times are not stored: accepted and ignored.
    struct stat st {};
    if (int e = StatIno(m, ino, &st)) {
      fuse_reply_err(req, e);
      return;
    }
    fuse_reply_attr(req, &st, m->options_.cache_timeout_s);
  }

  static void Readlink(fuse_req_t req, fuse_ino_t ino) {
    FuseMount* m = Self(req);
    const std::string* p = m->inodes_.PathOf(ino);
    if (!p) {
      fuse_reply_err(req, IsStatusIno(ino) ? EINVAL : ENOENT);
      return;
    }
    auto n = m->store_->Stat(*p);
    if (!n.ok()) {
      fuse_reply_err(req, ErrnoFor(n.status()));
      return;
    }
    if ((*n)->state().kind != Kind::kSymlink) {
      fuse_reply_err(req, EINVAL);
      return;
    }
    auto target = m->store_->ReadContent((*n)->state().content);
    if (!target.ok()) {
      fuse_reply_err(req, ErrnoFor(target.status()));
      return;
    }
    fuse_reply_readlink(req, target->c_str());
  }

  static void Mkdir(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t) {
    FuseMount* m = Self(req);
    std::string path;
    if (int e = Writable(m) ? Writable(m) : Child(m, parent, name, &path)) {
      fuse_reply_err(req, e);
      return;
    }
    if (m->unstored_.count(path)) {
      fuse_reply_err(req, EEXIST);
      return;
    }
    LocalOp local(m);
    Status st = m->store_->Mkdir(*m->key_, path, false);
    if (!st.ok()) {
      fuse_reply_err(req, ErrnoFor(st));
      return;
    }
    ReplyPath(req, m, path);
  }

  static void Unlink(fuse_req_t req, fuse_ino_t parent, const char* name) {
    FuseMount* m = Self(req);
    std::string path;
    if (int e = Writable(m) ? Writable(m) : Child(m, parent, name, &path)) {
      fuse_reply_err(req, e);
      return;
    }
    if (auto u = m->unstored_.find(path); u != m->unstored_.end()) {
      // Never stored: the open handles keep an anonymous buffer.
      OpenFile* f = m->open_.at(u->second).get();
      f->unlinked = true;
      m->unstored_.erase(u);
      m->inodes_.Detach(path);
      fuse_reply_err(req, 0);
      return;
    }
    auto n = m->store_->Stat(path);
    if (!n.ok()) {
      fuse_reply_err(req, ErrnoFor(n.status()));
      return;
    }
    if ((*n)->state().kind == Kind::kDir) {
      fuse_reply_err(req, EISDIR);
      return;
    }
    LocalOp local(m);
    KeepOpenContent(m, path);
    DetachLinksTo(m, path);
    Status st = m->store_->Remove(*m->key_, path, false);
    if (!st.ok()) {
      fuse_reply_err(req, ErrnoFor(st));
      return;
    }
    if (auto ino = m->inodes_.Find(path)) {
      if (OpenFile* f = Open(m, *ino)) f->unlinked = true;
    }
    m->inodes_.Detach(path);  // a new file at this path is a new inode
    fuse_reply_err(req, 0);
  }

  static bool HasUnstoredChild(FuseMount* m, const std::string& dir) {
    for (const auto& [path, ino] : m->unstored_)
      if (ParentOf(path) == dir) return true;
    return false;
  }

  static void Rmdir(fuse_req_t req, fuse_ino_t parent, const char* name) {
    FuseMount* m = Self(req);
    std::string path;
    if (int e = Writable(m) ? Writable(m) : Child(m, parent, name, &path)) {
      fuse_reply_err(req, e);
      return;
    }
    auto n = m->store_->Stat(path);
    if (!n.ok()) {
      fuse_reply_err(req, ErrnoFor(n.status()));
      return;
    }
    if ((*n)->state().kind != Kind::kDir) {
      fuse_reply_err(req, ENOTDIR);
      return;
    }
    if (HasUnstoredChild(m, path)) {
      fuse_reply_err(req, ENOTEMPTY);
      return;
    }
    LocalOp local(m);
    Status st = m->store_->Remove(*m->key_, path, false);
    if (st.ok()) m->inodes_.Detach(path);
    fuse_reply_err(req, ErrnoFor(st));
  }

  static void Symlink(fuse_req_t req, const char* link, fuse_ino_t parent, const char* name) {
    FuseMount* m = Self(req);
    std::string path;
    if (int e = Writable(m) ? Writable(m) : Child(m, parent, name, &path)) {
      fuse_reply_err(req, e);
      return;
    }
    if (m->unstored_.count(path)) {
      fuse_reply_err(req, EEXIST);
      return;
    }
    if (std::strlen(link) > kMaxLinkTargetBytes) {
      fuse_reply_err(req, ENAMETOOLONG);
      return;
    }
    LocalOp local(m);
    Status st = m->store_->Symlink(*m->key_, path, link);
    if (!st.ok()) {
      fuse_reply_err(req, ErrnoFor(st));
      return;
    }
    ReplyPath(req, m, path);
  }

  static void Link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char* newname) {
    FuseMount* m = Self(req);
    std::string path;
    if (int e = Writable(m) ? Writable(m) : Child(m, newparent, newname, &path)) {
      fuse_reply_err(req, e);
      return;
    }
    const std::string* target = m->inodes_.PathOf(ino);
    if (!target) {
      fuse_reply_err(req, IsStatusIno(ino) ? EPERM : ENOENT);
      return;
    }
    if (OpenFile* f = Open(m, ino); f && !f->stored) {
      fuse_reply_err(req, EPERM);  // a link needs a stored target
      return;
    }
    LocalOp local(m);
    Status st = m->store_->Link(*m->key_, path, *target);
    if (!st.ok()) {
      fuse_reply_err(req, st.code() == Code::kInvalid ? EPERM : ErrnoFor(st));
      return;
    }
    ReplyPath(req, m, path);
  }

  // Rename is a new path plus a delete: the log has no move. A directory
  // with children answers EXDEV, so that mv(1) copies and removes it.
  static void Rename(fuse_req_t req, fuse_ino_t parent, const char* name, fuse_ino_t newparent,
                     const char* newname, unsigned int flags) {
    FuseMount* m = Self(req);
    std::string from, to;
    if (int e = Writable(m) ? Writable(m) : Child(m, parent, name, &from)) {
      fuse_reply_err(req, e);
      return;
    }
    if (int e = Child(m, newparent, newname, &to)) {
      fuse_reply_err(req, e);
      return;
    }
    if (flags & RENAME_EXCHANGE) {
      fuse_reply_err(req, EINVAL);
      return;
    }
    if (from == to) {
      fuse_reply_err(req, 0);
      return;
    }
    auto target = m->store_->Stat(to);
    const bool target_exists = target.ok() || m->unstored_.count(to);
    if ((flags & RENAME_NOREPLACE) && target_exists) {
      fuse_reply_err(req, EEXIST);
      return;
    }
    LocalOp local(m);
    if (auto u = m->unstored_.find(from); u != m->unstored_.end()) {
      if (target.ok() && (*target)->state().kind == Kind::kDir) {
        fuse_reply_err(req, EISDIR);
        return;
      }
      // Still only a buffer: it moves, and is stored under the new name.
      // A saved file it replaces keeps its content for whoever has it
      // open, and must not be saved over the new one at its close.
      if (target.ok()) {
        KeepOpenContent(m, to);
        DetachLinksTo(m, to);
        if (auto old = m->inodes_.Find(to)) {
          if (OpenFile* of = Open(m, *old)) of->unlinked = true;
        }
      }
      const uint64_t ino = u->second;
      m->unstored_.erase(u);
      if (auto old = m->unstored_.find(to); old != m->unstored_.end()) {
        m->open_.at(old->second)->unlinked = true;
        m->unstored_.erase(old);
      }
      OpenFile* f = m->open_.at(ino).get();
      f->path = to;
      m->unstored_[to] = ino;
      m->inodes_.Move(from, to);
      fuse_reply_err(req, 0);
      return;
    }
    auto source = m->store_->Stat(from);
    if (!source.ok()) {
      fuse_reply_err(req, ErrnoFor(source.status()));
      return;
    }
    const PathNode* src = *source;
    const Kind kind = src->state().kind;
    const Kind tkind = target.ok() ? (*target)->state().kind : Kind::kNone;
    if (target.ok() && kind != Kind::kDir && tkind != Kind::kDir) {
      // Two names of one file (a hard link and what it names): POSIX says
      // rename does nothing and succeeds.
      const PathNode* a = Resolve(m, src);
      if (a && a == Resolve(m, *target) && (kind == Kind::kLink || tkind == Kind::kLink)) {
        fuse_reply_err(req, 0);
        return;
      }
    }
    if (kind == Kind::kDir) {
      if (target.ok() && tkind != Kind::kDir) {
        fuse_reply_err(req, ENOTDIR);
        return;
      }
      if (target.ok() && (!(*target)->children().empty() && !m->store_->List(to)->empty())) {
        fuse_reply_err(req, ENOTEMPTY);
        return;
      }
      auto children = m->store_->List(from);
      if (!children.ok() || !children->empty() || HasUnstoredChild(m, from)) {
        fuse_reply_err(req, children.ok() ? EXDEV : ErrnoFor(children.status()));
        return;
      }
      if (!target.ok()) {
        if (Status st = m->store_->Mkdir(*m->key_, to, false); !st.ok()) {
          fuse_reply_err(req, ErrnoFor(st));
          return;
        }
      }
    } else {
      if (tkind == Kind::kDir) {
        fuse_reply_err(req, EISDIR);
        return;
      }
      if (target.ok()) {
        KeepOpenContent(m, to);
        DetachLinksTo(m, to);
      }
      // Unsaved content of the source goes first, so what moves is current.
      // (A buffer that went past the size limit is never stored: what moves
      // is the stored content, as a reader sees it.)
      if (auto ino = m->inodes_.Find(from)) {
        if (OpenFile* f = Open(m, *ino)) {
          if (int e = Save(m, *ino, f); e && e != EFBIG) {
            fuse_reply_err(req, e);
            return;
          }
        }
      }
      DetachLinksTo(m, from);
      // The new name and the delete of the old one in one synced batch.
      if (Status st = m->store_->Rename(*m->key_, from, to); !st.ok()) {
        fuse_reply_err(req, ErrnoFor(st));
        return;
      }
    }
    if (kind == Kind::kDir) {
      if (Status st = m->store_->Remove(*m->key_, from, false); !st.ok()) {
        fuse_reply_err(req, ErrnoFor(st));
        return;
      }
    }
    if (auto old = m->inodes_.Find(to)) {
      if (OpenFile* f = Open(m, *old)) f->unlinked = true;
    }
    if (auto old = m->unstored_.find(to); old != m->unstored_.end()) {
      m->open_.at(old->second)->unlinked = true;  // replaced before it was ever saved
      m->unstored_.erase(old);
    }
    m->inodes_.Move(from, to);
    if (auto ino = m->inodes_.Find(to)) {
      if (OpenFile* f = Open(m, *ino)) f->path = to;
    }
    fuse_reply_err(req, 0);
  }

  static void OpenCommon(FuseMount* m, uint64_t ino, const std::string& path, fuse_file_info* fi,
                         bool created, bool exec) {
    auto& slot = m->open_[ino];
    if (!slot) {
      slot = std::make_unique<OpenFile>();
      slot->path = path;
    }
    OpenFile* f = slot.get();
    ++f->opens;
    if (created) {
      f->stored = false;
      f->loaded = true;
      f->dirty = true;
      f->exec = exec;
      f->created_ms = static_cast<uint64_t>(::time(nullptr)) * 1000;
      m->unstored_[path] = ino;
    }
    if ((fi->flags & O_TRUNC) && (fi->flags & O_ACCMODE) != O_RDONLY && !f->failed) {
      if (!f->loaded) {
        f->loaded = true;
      }
      Resize(m, f, 0);
      f->dirty = true;
    }
    fi->fh = ino;
    // The kernel keeps cached pages across opens: changes that did not
    // come through this mount invalidate them.
    fi->keep_cache = 1;
    // A descriptor that cannot write has nothing to save at close: spare
    // the kernel the flush round trip.
    if ((fi->flags & O_ACCMODE) == O_RDONLY) fi->noflush = 1;
  }

  static void OpenFileOp(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
    FuseMount* m = Self(req);
    const bool writing = (fi->flags & O_ACCMODE) != O_RDONLY;
    if (const StatusFile* sf = StatusFileOf(m, ino)) {
      if (writing) {
        fuse_reply_err(req, EROFS);
        return;
      }
      const uint64_t fh = m->next_fh_++;
      m->snapshots_[fh] = sf->render();
      fi->fh = fh;
      fi->direct_io = 1;
      fuse_reply_open(req, fi);
      return;
    }
    if (ino == kStatusDirIno) {
      fuse_reply_err(req, EISDIR);
      return;
    }
    if (writing) {
      if (int e = Writable(m)) {
        fuse_reply_err(req, e);
        return;
      }
    }
    if (OpenFile* f = Open(m, ino)) {
      if (f->unlinked) {
        fuse_reply_err(req, ENOENT);
        return;
      }
      if (writing && f->stored) {
        auto n = m->store_->Stat(f->path);
        if (n.ok() && !m->store_->view().Authorized(m->key_->public_key, *n)) {
          fuse_reply_err(req, EACCES);
          return;
        }
      }
      OpenCommon(m, ino, f->path, fi, false, false);
      fuse_reply_open(req, fi);
      return;
    }
    const std::string* p = m->inodes_.PathOf(ino);
    if (!p) {
      fuse_reply_err(req, ENOENT);
      return;
    }
    auto n = m->store_->Stat(*p);
    if (!n.ok()) {
      fuse_reply_err(req, ErrnoFor(n.status()));
      return;
    }
    const Kind kind = (*n)->state().kind;
    if (kind == Kind::kDir) {
      fuse_reply_err(req, EISDIR);
      return;
    }
    if (kind == Kind::kSymlink) {
      fuse_reply_err(req, ELOOP);
      return;
    }
    if (writing && !m->store_->view().Authorized(m->key_->public_key, *n)) {
      fuse_reply_err(req, EACCES);
      return;
    }
    OpenCommon(m, ino, *p, fi, false, false);
    fuse_reply_open(req, fi);
  }

  static void Create(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode, fuse_file_info* fi) {
    FuseMount* m = Self(req);
    std::string path;
    if (int e = Writable(m) ? Writable(m) : Child(m, parent, name, &path)) {
      fuse_reply_err(req, e);
      return;
    }
    auto existing = m->store_->Stat(path);
    const bool exists = existing.ok() || m->unstored_.count(path);
    if (exists && (fi->flags & O_EXCL)) {
      fuse_reply_err(req, EEXIST);
      return;
    }
    if (existing.ok()) {
      // Open the existing file (O_CREAT without O_EXCL).
      const Kind kind = (*existing)->state().kind;
      if (kind == Kind::kDir) {
        fuse_reply_err(req, EISDIR);
        return;
      }
      if (!m->store_->view().Authorized(m->key_->public_key, *existing)) {
        fuse_reply_err(req, EACCES);
        return;
      }
      const uint64_t ino = m->inodes_.Ref(path);
      OpenCommon(m, ino, path, fi, false, false);
      fuse_entry_param e{};
      e.ino = ino;
      struct stat st {};
      StatIno(m, ino, &st);
      e.attr = st;
      e.attr_timeout = e.entry_timeout = m->options_.cache_timeout_s;
      fuse_reply_create(req, &e, fi);
      return;
    }
    if (auto u = m->unstored_.find(path); u != m->unstored_.end()) {
      const uint64_t ino = m->inodes_.Ref(path);
      OpenCommon(m, ino, path, fi, false, false);
      fuse_entry_param e{};
      e.ino = ino;
      e.attr = StatOfOpen(m, ino, *m->open_.at(ino));
      e.attr_timeout = e.entry_timeout = m->options_.cache_timeout_s;
      fuse_reply_create(req, &e, fi);
      return;
    }
    if (existing.status().code() != Code::kNotFound) {
      fuse_reply_err(req, ErrnoFor(existing.status()));
      return;
    }
    // The directory must exist and be writable by our key now, so that the
    // error comes at open and not at close.
    auto dir = m->store_->Stat(ParentOf(path));
    if (!dir.ok()) {
      fuse_reply_err(req, ErrnoFor(dir.status()));
      return;
    }
    if ((*dir)->state().kind != Kind::kDir) {
      fuse_reply_err(req, ENOTDIR);
      return;
    }
    if (!m->store_->view().AuthorizedBelow(m->key_->public_key, *dir)) {
      fuse_reply_err(req, EACCES);
      return;
    }
    const uint64_t ino = m->inodes_.Ref(path);
    OpenCommon(m, ino, path, fi, true, (mode & 0111) != 0);
    fuse_entry_param e{};
    e.ino = ino;
    e.attr = StatOfOpen(m, ino, *m->open_.at(ino));
    e.attr_timeout = e.entry_timeout = m->options_.cache_timeout_s;
    fuse_reply_create(req, &e, fi);
  }

  static void Read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi) {
    FuseMount* m = Self(req);
    if (StatusFileOf(m, ino)) {
      auto it = m->snapshots_.find(fi->fh);
      if (it == m->snapshots_.end()) {
        fuse_reply_err(req, EBADF);
        return;
      }
      const std::string& s = it->second;
      const size_t start = std::min(static_cast<size_t>(off), s.size());
      fuse_reply_buf(req, s.data() + start, std::min(size, s.size() - start));
      return;
    }
    OpenFile* f = Open(m, ino);
    if (!f) {
      fuse_reply_err(req, EBADF);
      return;
    }
    if (!f->loaded && (f->reader || (!f->unlinked && !Fits(m, StoredSize(m, f->path))))) {
      // Over the memory budget: read just the range, through a reader that
      // keeps its place, so a file read front to back costs each block once
      // (assembling the whole file for every 128 KiB read stalled the loop).
      if (!f->reader) {
        auto r = m->store_->OpenContent(f->path);
        if (!r.ok()) {
          fuse_reply_err(req, ErrnoFor(r.status()));
          return;
        }
        f->reader = std::move(r).value();
      }
      auto part = f->reader->Read(static_cast<uint64_t>(off), size);
      if (!part.ok()) {
        f->reader.reset();
        fuse_reply_err(req, ErrnoFor(part.status()));
        return;
      }
      fuse_reply_buf(req, part->data(), part->size());
      return;
    }
    if (int e = Load(m, f)) {
      fuse_reply_err(req, e);
      return;
    }
    const size_t start = std::min(static_cast<size_t>(off), f->data.size());
    fuse_reply_buf(req, f->data.data() + start, std::min(size, f->data.size() - start));
  }

  static void Write(fuse_req_t req, fuse_ino_t ino, const char* buf, size_t size, off_t off, fuse_file_info* fi) {
    FuseMount* m = Self(req);
    OpenFile* f = Open(m, ino);
    if (!f) {
      fuse_reply_err(req, IsStatusIno(ino) ? EROFS : EBADF);
      return;
    }
    if (off < 0) {
      fuse_reply_err(req, EINVAL);
      return;
    }
    if (fi && (fi->flags & O_APPEND)) {
      // The kernel put the write at the size it had cached; a remote
      // change may have made the file longer since: append at our end.
      if (int e = Load(m, f)) {
        fuse_reply_err(req, e);
        return;
      }
      if (static_cast<uint64_t>(off) != f->data.size()) {
        off = static_cast<off_t>(f->data.size());
        m->notifier_->Inode(ino);  // its cached size and pages are not ours
      }
    }
    const uint64_t end = static_cast<uint64_t>(off) + size;
    if (end > m->options_.max_file_bytes || f->failed) {
      // Nothing of this file will be stored; the previous content stays.
      f->failed = true;
      fuse_reply_err(req, EFBIG);
      return;
    }
    if (int e = Load(m, f)) {
      fuse_reply_err(req, e);
      return;
    }
    if (end > f->data.size()) {
      if (!Fits(m, end - f->data.size())) {
        fuse_reply_err(req, ENOSPC);
        return;
      }
      Resize(m, f, end);
    }
    std::memcpy(f->data.data() + off, buf, size);
    f->dirty = true;
    f->written = true;
    fuse_reply_write(req, size);
  }

  // close(2) of any descriptor. Only content that was written (or
  // truncated) since the last save is stored here: the close of a dup made
  // right after open (a shell's `> file`) must not store an empty file
  // first. Creation or O_TRUNC alone is stored at release or fsync.
  static void Flush(fuse_req_t req, fuse_ino_t ino, fuse_file_info*) {
    FuseMount* m = Self(req);
    OpenFile* f = Open(m, ino);
    if (f && !f->written && !f->failed) {
      fuse_reply_err(req, 0);
      return;
    }
    fuse_reply_err(req, f ? Save(m, ino, f) : 0);
  }

  static void Fsync(fuse_req_t req, fuse_ino_t ino, int, fuse_file_info*) {
    FuseMount* m = Self(req);
    OpenFile* f = Open(m, ino);
    fuse_reply_err(req, f ? Save(m, ino, f) : 0);
  }

  static void Release(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
    FuseMount* m = Self(req);
    if (StatusFileOf(m, ino)) {
      m->snapshots_.erase(fi->fh);
      fuse_reply_err(req, 0);
      return;
    }
    OpenFile* f = Open(m, ino);
    if (!f) {
      fuse_reply_err(req, 0);
      return;
    }
    if (int e = Save(m, ino, f); e && e != EFBIG)
      std::cerr << "basefs: could not store " << f->path << ": " << std::strerror(e) << std::endl;
    if (--f->opens > 0) {
      fuse_reply_err(req, 0);
      return;
    }
    const bool vanished = !f->stored && !f->unlinked;
    const std::string path = f->path;
    if (!f->stored) DropUnstored(m, f->path, ino);
    Unload(m, f);
    m->open_.erase(ino);
    if (vanished) {
      // Created here but never stored (EFBIG, a failed save): the kernel's
      // entry for it must go.
      if (auto parent = m->inodes_.Find(ParentOf(path))) {
        m->notifier_->Entry(*parent, NameOf(path));
        m->notifier_->Listing(*parent);
      }
    }
    fuse_reply_err(req, 0);
  }

  // The entries of directory `ino` (".", ".." first). Returns an errno.
  static int ListDir(FuseMount* m, uint64_t ino, std::vector<DirItem>* items) {
    *items = {{".", S_IFDIR}, {"..", S_IFDIR}};
    if (ino == kStatusDirIno) {
      for (const StatusFile& f : m->options_.status_files) items->push_back({f.name, S_IFREG});
      return 0;
    }
    const std::string* p = m->inodes_.PathOf(ino);
    if (!p) return ENOENT;
    auto list = m->store_->List(*p);
    if (!list.ok()) return ErrnoFor(list.status());
    if (ino == InodeTable::kRootIno) items->push_back({kStatusDirName, S_IFDIR});
    for (const PathNode* c : *list) {
      if (ino == InodeTable::kRootIno && c->name() == kStatusDirName) continue;  // shadowed
      const Kind k = c->state().kind;
      items->push_back(
          {c->name(), static_cast<mode_t>(k == Kind::kDir ? S_IFDIR : k == Kind::kSymlink ? S_IFLNK : S_IFREG)});
    }
    for (const auto& [path, fino] : m->unstored_)
      if (ParentOf(path) == *p && !m->store_->Stat(path).ok()) items->push_back({NameOf(path), S_IFREG});
    return 0;
  }

  // The listing is taken at the first readdir of the handle, not here: when
  // the kernel has the listing cached it opens the directory but never
  // reads it.
  static void Opendir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
    FuseMount* m = Self(req);
    if (m->no_opendir_) {
      // The kernel stops sending opendir/releasedir, reads with no handle
      // (fh 0) and caches listings (dropped as for cache_readdir below).
      fuse_reply_err(req, ENOSYS);
      return;
    }
    if (ino != kStatusDirIno) {
      const std::string* p = m->inodes_.PathOf(ino);
      if (!p) {
        fuse_reply_err(req, ENOENT);
        return;
      }
      auto n = m->store_->Stat(*p);
      if (!n.ok()) {
        fuse_reply_err(req, ErrnoFor(n.status()));
        return;
      }
      if ((*n)->state().kind != Kind::kDir) {
        fuse_reply_err(req, ENOTDIR);
        return;
      }
    }
    const uint64_t fh = m->next_fh_++;
    m->dirs_[fh];  // empty until the first readdir
    fi->fh = fh;
    // The kernel may keep the listing: its own creates and removes reset
    // it, and OnChange drops it (inval_inode on the directory) for the rest.
    // `.basefs/` is not cached.
    if (ino != kStatusDirIno) {
      fi->cache_readdir = 1;
      fi->keep_cache = 1;
    }
    fuse_reply_open(req, fi);
  }

  static void ReaddirCommon(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi, bool plus) {
    FuseMount* m = Self(req);
    std::vector<DirItem>* listing = nullptr;
    if (fi->fh == 0) {
      // No handle: the listing of a read from offset 0 serves the reads
      // that continue it, and is dropped at the end. (A change between two
      // reads of one pass, with another pass starting meanwhile, can shift
      // entries: the kernel's own listing cache makes that rare.)
      if (m->listings_.size() >= kMaxListings) m->listings_.clear();
      auto [lit, fresh] = m->listings_.try_emplace(ino);
      if (fresh || off == 0) lit->second.clear();
      listing = &lit->second;
    } else {
      auto it = m->dirs_.find(fi->fh);
      if (it == m->dirs_.end()) {
        fuse_reply_err(req, EBADF);
        return;
      }
      listing = &it->second;
    }
    if (listing->empty()) {
      if (int e = ListDir(m, ino, listing)) {
        if (fi->fh == 0) m->listings_.erase(ino);
        fuse_reply_err(req, e);
        return;
      }
    }
    const std::vector<DirItem>& items = *listing;
    std::string out(size, '\0');
    size_t used = 0;
    const std::string* dir = ino == kStatusDirIno ? nullptr : m->inodes_.PathOf(ino);
    for (size_t i = static_cast<size_t>(std::max<off_t>(off, 0)); i < items.size(); ++i) {
      const DirItem& item = items[i];
      const off_t next = static_cast<off_t>(i + 1);
      const bool dots = item.name == "." || item.name == "..";
      if (!plus || dots) {
        struct stat st {};
        st.st_mode = item.type;
        // What getdents shows as d_ino: the inode if the kernel holds one,
        // else a number derived from the path (lookup gives the real one).
        st.st_ino = ino;
        if (!dots && dir) {
          std::string path;
          if (ChildPath(*dir, item.name, &path) == 0) {
            auto known = m->inodes_.Find(path);
            st.st_ino = known ? *known : PathIno(path);
          }
        }
        const size_t need = plus ? [&] {
          fuse_entry_param e{};
          e.attr = st;
          return fuse_add_direntry_plus(req, out.data() + used, size - used, item.name.c_str(), &e, next);
        }()
                                 : fuse_add_direntry(req, out.data() + used, size - used, item.name.c_str(), &st, next);
        if (need > size - used) break;
        used += need;
        continue;
      }
      // readdirplus hands the kernel a reference to each entry.
      fuse_entry_param e{};
      if (ino == kStatusDirIno) {
        const uint64_t fino = kFirstStatusFileIno + (i - 2);
        e.ino = fino;
        e.attr = StatOfStatusFile(m, fino, 0);
      } else if (ino == InodeTable::kRootIno && item.name == kStatusDirName) {
        e.ino = kStatusDirIno;
        e.attr = StatOfStatusDir(m);
        e.attr_timeout = e.entry_timeout = m->options_.cache_timeout_s;
      } else {
        std::string path;
        if (!dir || ChildPath(*dir, item.name, &path) != 0) continue;
        const uint64_t cino = m->inodes_.Ref(path);
        struct stat st {};
        if (StatIno(m, cino, &st) != 0) {
          m->inodes_.Forget(cino, 1);
          continue;  // gone since the listing was taken
        }
        e.ino = cino;
        e.attr = st;
        e.attr_timeout = e.entry_timeout = m->options_.cache_timeout_s;
      }
      const size_t need = fuse_add_direntry_plus(req, out.data() + used, size - used, item.name.c_str(), &e, next);
      if (need > size - used) {
        if (!IsStatusIno(e.ino)) m->inodes_.Forget(e.ino, 1);
        break;
      }
      used += need;
    }
    if (used == 0 && fi->fh == 0) m->listings_.erase(ino);  // the end of a pass
    fuse_reply_buf(req, out.data(), used);
  }

  static void Readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi) {
    ReaddirCommon(req, ino, size, off, fi, false);
  }
  static void Readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi) {
    ReaddirCommon(req, ino, size, off, fi, true);
  }

  static void Releasedir(fuse_req_t req, fuse_ino_t, fuse_file_info* fi) {
    Self(req)->dirs_.erase(fi->fh);
    fuse_reply_err(req, 0);
  }

  static void Statfs(fuse_req_t req, fuse_ino_t) {
    FuseMount* m = Self(req);
    struct statvfs sv {};
    struct statvfs disk {};
    if (!m->options_.data_dir.empty() && ::statvfs(m->options_.data_dir.c_str(), &disk) == 0) {
      // The space of the disk the log lives on (what `df` users want to
      // know: how much more can be written here).
      sv.f_bsize = disk.f_bsize;
      sv.f_frsize = disk.f_frsize;
      sv.f_blocks = disk.f_blocks;
      sv.f_bfree = disk.f_bfree;
      sv.f_bavail = disk.f_bavail;
      sv.f_ffree = sv.f_favail = disk.f_favail;
    } else {
      sv.f_bsize = sv.f_frsize = 4096;
      sv.f_blocks = (m->options_.max_buffered_bytes / 4096) * 64;
      sv.f_bfree = sv.f_bavail = sv.f_blocks / 2;
      sv.f_ffree = sv.f_favail = 1000000;
    }
    sv.f_files = m->store_->view().path_count() + sv.f_ffree;
    sv.f_namemax = kMaxNameBytes;
    if (m->options_.read_only) sv.f_flag |= ST_RDONLY;
    fuse_reply_statfs(req, &sv);
  }

  // The read-only attributes of a path: its current entry's author and
  // hash, and how many revisions its chain has.
  static int XattrValue(FuseMount* m, uint64_t ino, const std::string& name, std::string* out) {
    if (IsStatusIno(ino)) return ENODATA;
    const std::string* p = m->inodes_.PathOf(ino);
    if (!p) return ENOENT;
    const PathNode* n = m->store_->view().Lookup(*p);
    if (!n || !n->exists() || n->chain().empty()) return ENODATA;  // unstored
    const ViewEntry* head = n->chain().back();
    if (name == kXattrAuthor) {
      *out = ToBase64(head->entry.author);
    } else if (name == kXattrHash) {
      *out = ToHex(head->hash);
    } else if (name == kXattrRevisions) {
      *out = std::to_string(n->chain().size());
    } else {
      return ENODATA;
    }
    return 0;
  }

  static void ReplyXattr(fuse_req_t req, const std::string& value, size_t size) {
    if (size == 0)
      fuse_reply_xattr(req, value.size());
    else if (size < value.size())
      fuse_reply_err(req, ERANGE);
    else
      fuse_reply_buf(req, value.data(), value.size());
  }

  static void Getxattr(fuse_req_t req, fuse_ino_t ino, const char* name, size_t size) {
    std::string value;
    if (int e = XattrValue(Self(req), ino, name, &value)) {
      fuse_reply_err(req, e);
      return;
    }
    ReplyXattr(req, value, size);
  }

  static void Listxattr(fuse_req_t req, fuse_ino_t ino, size_t size) {
    FuseMount* m = Self(req);
    std::string names;
    std::string unused;
    if (XattrValue(m, ino, kXattrHash, &unused) == 0)
      for (const char* n : {kXattrAuthor, kXattrHash, kXattrRevisions}) names.append(n, std::strlen(n) + 1);
    ReplyXattr(req, names, size);
  }

  static void Setxattr(fuse_req_t req, fuse_ino_t, const char* name, const char*, size_t, int) {
    const std::string n = name;
    fuse_reply_err(req, ENOTSUP);
  }

  static void Removexattr(fuse_req_t req, fuse_ino_t, const char* name) {
    const std::string n = name;
    fuse_reply_err(req, ENOTSUP);
  }

  static fuse_lowlevel_ops Table() {
    fuse_lowlevel_ops ops{};
    ops.init = Init;
    ops.lookup = Lookup;
    ops.forget = Forget;
    ops.forget_multi = ForgetMulti;
    ops.getattr = Getattr;
    ops.setattr = Setattr;
    ops.readlink = Readlink;
    ops.mkdir = Mkdir;
    ops.unlink = Unlink;
    ops.rmdir = Rmdir;
    ops.symlink = Symlink;
    ops.rename = Rename;
    ops.link = Link;
    ops.open = OpenFileOp;
    ops.read = Read;
    ops.write = Write;
    ops.flush = Flush;
    ops.release = Release;
    ops.fsync = Fsync;
    ops.opendir = Opendir;
    ops.readdir = Readdir;
    ops.readdirplus = Readdirplus;
    ops.releasedir = Releasedir;
    ops.statfs = Statfs;
    ops.setxattr = Setxattr;
    ops.getxattr = Getxattr;
    ops.listxattr = Listxattr;
    ops.removexattr = Removexattr;
    ops.create = Create;
    return ops;
  }
};

FuseMount::FuseMount(event_base* base, Store* store, std::optional<KeyPair> key, MountOptions options,
                     std::function<void()> on_unmounted)
    : base_(base),
      store_(store),
      key_(std::move(key)),
      options_(std::move(options)),
      on_unmounted_(std::move(on_unmounted)),
      buf_(std::make_unique<fuse_buf>()),
      inodes_(kFirstDynamicIno),
      uid_(::geteuid()),
      gid_(::getegid()) {}

Result<std::unique_ptr<FuseMount>> FuseMount::Mount(event_base* base, Store* store, std::optional<KeyPair> key,
                                                    MountOptions options, std::function<void()> on_unmounted) {
  if (options.status_files.size() > MountOptions::kMaxStatusFiles)
    return Invalid("too many .basefs files");
  const std::string dir = options.dir;
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) {
    const int e = errno;
    if (e == ENOTCONN)
      return IOError("mount point " + dir + " is a stale FUSE mount (its daemon died); run 'fusermount3 -u " +
                     dir + "' and start again");
    return NotFound("cannot use mount point " + dir + ": " + std::strerror(e));
  }
  if (!S_ISDIR(st.st_mode)) return Status(Code::kNotDir, "mount point " + dir + " is not a directory");
  if (::access("/dev/fuse", R_OK | W_OK) != 0)
    return IOError(std::string("cannot open /dev/fuse: ") + std::strerror(errno) +
                   " (install fuse3 and load the fuse module)");

  std::unique_ptr<FuseMount> m(
      new FuseMount(base, store, std::move(key), std::move(options), std::move(on_unmounted)));
  if (!m->key_) m->options_.read_only = true;
  std::string opts = "fsname=basefs:" + store->name() + ",subtype=basefs,default_permissions";
  if (m->options_.read_only) opts += ",ro";
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
  if (auto root = store->Stat("/"); root.ok()) m->FindLinks(*root);
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
  std::cerr << "basefs: " << self->options_.dir << " was unmounted" << std::endl;
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
    fuse_session_process_buf(se_, buf_.get());
    if (options_.on_request) options_.on_request();
  }
  return true;
}

void FuseMount::SetLink(const std::string& link, const std::string* target) {
  if (auto old = links_.find(link); old != links_.end()) {
    if (target && old->second == *target) return;
    auto back = links_to_.find(old->second);
    if (back != links_to_.end() && back->second.erase(link) && back->second.empty()) links_to_.erase(back);
    links_.erase(old);
  }
  if (!target) return;
  links_[link] = *target;
  links_to_[*target].insert(link);
}

void FuseMount::TrackLink(const std::string& path) {
  auto n = store_->Stat(path);
  if (n.ok() && (*n)->state().kind == Kind::kLink)
    SetLink(path, &(*n)->state().content->entry.content);
  else
    SetLink(path, nullptr);
}

void FuseMount::FindLinks(const PathNode* node) {
  for (const auto& [name, child] : node->children()) {
    if (!child->exists()) continue;
    if (child->state().kind == Kind::kLink) SetLink(child->FullPath(), &child->state().content->entry.content);
    if (child->state().kind == Kind::kDir) FindLinks(child.get());
  }
}

void FuseMount::OnChange(const Change& c) {
  if (c.cause == Action::kLink || c.cause == Action::kRevert || links_.count(c.path)) TrackLink(c.path);
  // Hard links to the changed path are other inodes to the kernel, also
  // when the change came through this mount: their cached pages go too.
  if (auto named = links_to_.find(c.path); named != links_to_.end()) {
    for (const std::string& link : named->second) {
      if (auto lino = inodes_.Find(link)) {
        notifier_->Inode(*lino);
        if (auto it = open_.find(*lino); it != open_.end() && !it->second->dirty) Ops::Unload(this, it->second.get());
      }
    }
  }
  if (in_local_op_) return;  // the kernel saw it happen
  const auto ino = inodes_.Find(c.path);
  if (ino) {
    notifier_->Inode(*ino);
    if (auto it = open_.find(*ino); it != open_.end() && !it->second->dirty) {
      OpenFile* f = it->second.get();
      if (f->stored && !store_->Stat(c.path).ok()) {
        // Deleted on another node while open here: as after a local
        // unlink, the descriptor keeps the content it had, and a new file
        // at this path is a new inode. (A file being written keeps its
        // name: its save wins, docs/fuse.md.)
        Ops::KeepDeletedContent(this, f, c.path);
        f->unlinked = true;
        inodes_.Detach(c.path);
      } else {
        Ops::Unload(this, f);
      }
    }
  }
  if (c.path == "/") return;
  if (!ino || (c.cause != Action::kWrite && c.cause != Action::kMode)) {
    if (auto parent = inodes_.Find(ParentOf(c.path))) {
      notifier_->Entry(*parent, NameOf(c.path));
      notifier_->Listing(*parent);
    }
  }
}

}  // namespace basefs
