// The lookup and attribute callbacks, statfs, extended attributes, the
// helpers the other fuse_ops_*.cc files share, and the operations table.
#define FUSE_USE_VERSION 34
#include "fuse/fuse_ops.h"

#include <sys/statvfs.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "fuse/errno_map.h"
#include "fuse/notifier.h"
#include "fuse/paths.h"

namespace basefs {

// --- Shared helpers ---------------------------------------------------------

int FuseMount::Ops::StatIno(FuseMount* m, uint64_t ino, struct stat* st) {
  if (ino == kStatusDirIno) {
    *st = m->status_.DirStat();
    return 0;
  }
  if (const StatusFile* f = m->status_.FileOf(ino)) {
    *st = m->status_.FileStat(ino, f->render().size());
    return 0;
  }
  if (const OpenFile* f = m->files_.Find(ino)) {
    if (f->unlinked) {
      // Still open after its name went: the buffer's attributes.
      *st = m->attrs_.OfOpen(ino, *f);
      st->st_nlink = 0;
      return 0;
    }
    if (!f->stored || f->dirty) {
      *st = m->attrs_.OfOpen(ino, *f);
      if (f->stored) {
        // A stored file keeps its view mode and time while unsaved.
        if (auto n = m->store_->Stat(f->path); n.ok()) {
          const struct stat view = m->attrs_.OfNode(ino, *n);
          st->st_mode = view.st_mode;
          st->st_uid = view.st_uid;
          st->st_gid = view.st_gid;
          st->st_atim = view.st_atim;
          st->st_mtim = view.st_mtim;
          st->st_ctim = view.st_ctim;
          // Written since the last save: the time of that change, as
          // write(2) and ftruncate(2) promise, before it is stored.
          if (f->written) st->st_atim = st->st_mtim = st->st_ctim = f->changed_at;
          m->attrs_.Overlay(f->attrs, st);
        }
      }
      return 0;
    }
  }
  const std::string* path = m->inodes_.PathOf(ino);
  if (!path) return ENOENT;
  auto n = m->store_->Stat(*path);
  if (!n.ok()) return ErrnoFor(n.status());
  *st = m->attrs_.OfNode(ino, *n);
  return 0;
}

void FuseMount::Ops::ReplyEntry(fuse_req_t req, FuseMount* m, uint64_t ino, const struct stat& st) {
  fuse_entry_param e{};
  e.ino = ino;
  e.attr = st;
  e.attr_timeout = m->options_.cache_timeout_s;
  e.entry_timeout = m->options_.cache_timeout_s;
  fuse_reply_entry(req, &e);
}

std::string FuseMount::Ops::InodePath(FuseMount* m, const std::string& path) {
  if (!m->links_.IsLink(path)) return path;
  auto n = m->store_->Stat(path);
  const PathNode* file = n.ok() ? HardLinks::Resolve(*m->store_, *n) : nullptr;
  return file && file->state().kind == Kind::kFile ? file->FullPath() : path;
}

void FuseMount::Ops::ReplyPath(fuse_req_t req, FuseMount* m, const std::string& path) {
  auto n = m->store_->Stat(path);
  if (!n.ok()) {
    fuse_reply_err(req, ErrnoFor(n.status()));
    return;
  }
  const uint64_t ino = m->inodes_.Ref(InodePath(m, path));
  ReplyEntry(req, m, ino, m->attrs_.OfNode(ino, *n));
}

int FuseMount::Ops::DirPath(FuseMount* m, uint64_t ino, std::string* out) {
  if (IsStatusIno(ino)) return EROFS;
  const std::string* p = m->inodes_.PathOf(ino);
  if (!p) return ENOENT;
  *out = *p;
  return 0;
}

int FuseMount::Ops::WritableChild(FuseMount* m, uint64_t parent, const char* name, std::string* out) {
  if (int e = Writable(m)) return e;
  return Child(m, parent, name, out);
}

int FuseMount::Ops::NewChild(FuseMount* m, uint64_t parent, const char* name, std::string* out) {
  if (int e = WritableChild(m, parent, name, out)) return e;
  return m->files_.Unstored(*out) ? EEXIST : 0;
}

void FuseMount::Ops::ReplyMade(fuse_req_t req, FuseMount* m, const std::string& path, const Status& made) {
  if (!made.ok()) {
    fuse_reply_err(req, ErrnoFor(made));
    return;
  }
  ReplyPath(req, m, path);
}

int FuseMount::Ops::NodeOf(FuseMount* m, uint64_t ino, const PathNode** node, int no_path) {
  const std::string* p = m->inodes_.PathOf(ino);
  if (!p) return no_path;
  auto n = m->store_->Stat(*p);
  if (!n.ok()) return ErrnoFor(n.status());
  *node = *n;
  return 0;
}

int FuseMount::Ops::Child(FuseMount* m, uint64_t parent, const char* name, std::string* out) {
  // `.basefs/` is the mount's own: it cannot be made, removed or renamed.
  if (parent == InodeTable::kRootIno && std::strcmp(name, kStatusDirName) == 0) return EBUSY;
  std::string dir;
  if (int e = DirPath(m, parent, &dir)) return e;
  return ChildPath(dir, name, out);
}

int FuseMount::Ops::Writable(FuseMount* m) {
  if (m->options_.read_only || !m->key_) return EROFS;
  return 0;
}

void FuseMount::Ops::Stale(FuseMount* m, const std::string& path) {
  if (auto ino = m->inodes_.Find(path)) {
    m->notifier_->Inode(*ino);
    if (OpenFile* o = m->files_.Find(*ino); o && !o->dirty) m->files_.Unload(o);
  }
}

int FuseMount::Ops::Save(FuseMount* m, uint64_t ino, OpenFile* f) {
  LocalOp local(m);
  return m->files_.Save(ino, f, m->key_, [m](const std::string& target) { Stale(m, target); });
}

void FuseMount::Ops::KeepOpenContent(FuseMount* m, const std::string& path) {
  if (auto ino = m->inodes_.Find(path)) m->files_.KeepContent(*ino);
}

void FuseMount::Ops::MarkUnlinked(FuseMount* m, const std::string& path) {
  if (auto ino = m->inodes_.Find(path)) {
    if (OpenFile* f = m->files_.Find(*ino)) f->unlinked = true;
  }
}

// --- Lookups and attributes -------------------------------------------------

void FuseMount::Ops::Init(void* userdata, fuse_conn_info* conn) {
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

void FuseMount::Ops::Lookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
  FuseMount* m = Self(req);
  if (parent == kStatusDirIno) {
    if (auto ino = m->status_.Find(name)) {
      fuse_entry_param e{};
      e.ino = *ino;
      e.attr = m->status_.FileStat(*ino, m->status_.FileOf(*ino)->render().size());
      fuse_reply_entry(req, &e);  // zero timeouts: always asked again
      return;
    }
    fuse_reply_err(req, ENOENT);
    return;
  }
  if (parent == InodeTable::kRootIno && std::strcmp(name, kStatusDirName) == 0) {
    fuse_entry_param e{};
    e.ino = kStatusDirIno;
    e.attr = m->status_.DirStat();
    e.attr_timeout = e.entry_timeout = m->options_.cache_timeout_s;
    fuse_reply_entry(req, &e);
    return;
  }
  std::string path;
  if (int e = Child(m, parent, name, &path)) {
    fuse_reply_err(req, e == EROFS ? ENOENT : e);
    return;
  }
  if (const OpenFile* f = m->files_.Unstored(path)) {
    const uint64_t ino = m->inodes_.Ref(path);
    ReplyEntry(req, m, ino, m->attrs_.OfOpen(ino, *f));
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
  const uint64_t ino = m->inodes_.Ref(InodePath(m, path));
  ReplyEntry(req, m, ino, m->attrs_.OfNode(ino, *n));
}

void FuseMount::Ops::Forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup) {
  Self(req)->inodes_.Forget(ino, nlookup);
  fuse_reply_none(req);
}

void FuseMount::Ops::ForgetMulti(fuse_req_t req, size_t count, fuse_forget_data* forgets) {
  FuseMount* m = Self(req);
  for (size_t i = 0; i < count; ++i) m->inodes_.Forget(forgets[i].ino, forgets[i].nlookup);
  fuse_reply_none(req);
}

void FuseMount::Ops::Getattr(fuse_req_t req, fuse_ino_t ino, fuse_file_info*) {
  FuseMount* m = Self(req);
  struct stat st {};
  if (int e = StatIno(m, ino, &st)) {
    fuse_reply_err(req, e);
    return;
  }
  fuse_reply_attr(req, &st, IsStatusIno(ino) ? 0.0 : m->options_.cache_timeout_s);
}

void FuseMount::Ops::Setattr(fuse_req_t req, fuse_ino_t ino, struct stat* attr, int to_set, fuse_file_info* fi) {
  FuseMount* m = Self(req);
  if (IsStatusIno(ino)) {
    fuse_reply_err(req, EROFS);
    return;
  }
  const std::string* p = m->inodes_.PathOf(ino);
  OpenFile* f = m->files_.Find(ino);
  if (!p && !f) {
    fuse_reply_err(req, ENOENT);
    return;
  }
  const std::string path = f ? f->path : *p;
  constexpr int kStored = FUSE_SET_ATTR_SIZE | FUSE_SET_ATTR_MODE | FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID |
                          FUSE_SET_ATTR_MTIME | FUSE_SET_ATTR_MTIME_NOW;
  if (to_set & kStored) {
    if (int e = Writable(m)) {
      fuse_reply_err(req, e);
      return;
    }
  }
  AttrChange change;
  if (int e = AttrsOfSetattr(m, req, *attr, to_set, &change)) {
    fuse_reply_err(req, e);
    return;
  }
  if (to_set & FUSE_SET_ATTR_SIZE) {
    if (int e = Truncate(m, ino, f, path, static_cast<uint64_t>(attr->st_size), fi != nullptr)) {
      fuse_reply_err(req, e);
      return;
    }
  }
  if (int e = SetAttrs(m, f, path, change)) {
    fuse_reply_err(req, e);
    return;
  }
  // atime is not stored (noatime); ctime follows every stored change.
  struct stat st {};
  if (int e = StatIno(m, ino, &st)) {
    fuse_reply_err(req, e);
    return;
  }
  fuse_reply_attr(req, &st, m->options_.cache_timeout_s);
}

int FuseMount::Ops::AttrsOfSetattr(FuseMount* m, fuse_req_t req, const struct stat& attr, int to_set,
                                   AttrChange* change) {
  if (to_set & FUSE_SET_ATTR_MODE) {
    // Set-uid and sticky are not kept (docs/fuse.md): masked, on every node.
    change->mode = static_cast<uint16_t>(attr.st_mode & kStoredModeBits);
  }
  std::optional<unsigned> uid, gid;
  if (to_set & FUSE_SET_ATTR_UID) uid = attr.st_uid;
  if (to_set & FUSE_SET_ATTR_GID) gid = attr.st_gid;
  if (uid || gid) {
    // The kernel checked chown(2)'s rules (default_permissions); the
    // daemon checks again, in case it is not the one mounting.
    const fuse_ctx* ctx = fuse_req_ctx(req);
    if (uid && ctx->uid != 0) return EPERM;
    if (int e = m->attrs_.NameOwner(uid, gid, change)) return e;
  }
  if (to_set & (FUSE_SET_ATTR_MTIME | FUSE_SET_ATTR_MTIME_NOW)) {
    timespec t = attr.st_mtim;
    if (to_set & FUSE_SET_ATTR_MTIME_NOW) ::clock_gettime(CLOCK_REALTIME, &t);
    // Like ext4, a time outside what is stored is clamped, not refused.
    const int64_t sec = std::clamp<int64_t>(t.tv_sec, kMinMtimeSeconds, kMaxMtimeSeconds);
    change->mtime = Mtime{sec, sec == t.tv_sec ? static_cast<uint32_t>(t.tv_nsec) : 0u};
  }
  return 0;
}

// The attribute part of a setattr: waits with the buffer of a file open
// with unsaved content (stored with it: cp -p sets times before close),
// otherwise stored now as one attr entry at the file a hard link names.
int FuseMount::Ops::SetAttrs(FuseMount* m, OpenFile* f, const std::string& path, const AttrChange& change) {
  if (change.empty()) return 0;
  if (f && f->unlinked) return 0;  // Its name is gone (or names another file now): nothing to store.
  if (f && (!f->stored || f->dirty)) {
    // Waits for the content: what the change asks, less what need not be
    // stored (which also drops an earlier wish for that field).
    AttrChange asked = change;
    if (asked.mode) *asked.mode &= 0777;  // setgid: directories only
    StoredAttrs now;
    bool exec = f->exec;
    if (f->stored) {
      if (auto n = m->store_->Stat(HardLinks::ContentPath(*m->store_, path)); n.ok()) {
        now = (*n)->Attrs();
        exec = (*n)->state().exec;
      }
    }
    const AttrChange needed = m->attrs_.Needed(now, false, exec, asked);
    AttrChange& a = f->attrs;
    if (asked.mode) {
      a.mode = needed.mode;
      f->exec = (*asked.mode & 0100) != 0;
    }
    if (asked.owner) a.owner = needed.owner;
    if (asked.group) a.group = needed.group;
    if (asked.mtime) a.mtime = asked.mtime;
    return 0;
  }
  const std::string where = HardLinks::ContentPath(*m->store_, path);
  auto n = m->store_->Stat(where);
  if (!n.ok()) return ErrnoFor(n.status());
  const Kind kind = (*n)->state().kind;
  if (kind == Kind::kSymlink) return change.mode ? EOPNOTSUPP : 0;  // lchown: symlinks have no owner here
  if (kind != Kind::kFile && kind != Kind::kDir) return EINVAL;
  // Nothing to store when the log already says it.
  AttrChange asked = change;
  if (asked.mode && kind != Kind::kDir) *asked.mode &= 0777;  // setgid: directories only
  const AttrChange needed = m->attrs_.Needed((*n)->Attrs(), kind == Kind::kDir, (*n)->state().exec, asked);
  if (needed.empty()) return 0;
  LocalOp local(m);
  Status st = m->store_->SetAttrs(*m->key_, where, needed);
  if (!st.ok()) return ErrnoFor(st);
  if (where != path) Stale(m, where);
  return 0;
}

AttrChange FuseMount::Ops::CreationAttrs(FuseMount* m, fuse_req_t req, const std::string& path, mode_t mode, bool dir) {
  const fuse_ctx* ctx = fuse_req_ctx(req);
  const PathNode* parent = m->store_->view().Lookup(ParentOf(path));
  return m->attrs_.ForCreation(mode, dir, (mode & 0111) != 0, ctx->uid, ctx->gid, parent);
}

// The size part of a setattr: of the open file `f`'s buffer if there is
// one, of the stored file at `path` otherwise.
int FuseMount::Ops::Truncate(FuseMount* m, uint64_t ino, OpenFile* f, const std::string& path, uint64_t size,
                             bool by_descriptor) {
  if (size > m->options_.max_file_bytes) return EFBIG;
  if (!f) return TruncateStored(m, path, size);
  if (int e = m->files_.Truncate(f, size)) return e;
  // truncate(2) by name: no descriptor of the caller's will be
  // closed to store it (the open one may only read), so store it now.
  if (!by_descriptor) return Save(m, ino, f);
  return 0;
}

// truncate(2) of a file nobody has open: stored at once.
int FuseMount::Ops::TruncateStored(FuseMount* m, const std::string& path, uint64_t size) {
  auto n = m->store_->Stat(path);
  if (!n.ok()) return ErrnoFor(n.status());
  if ((*n)->state().kind == Kind::kDir) return EISDIR;
  auto content = m->store_->ReadFile(path);
  if (!content.ok()) return ErrnoFor(content.status());
  if (content->size() != size) {
    content->resize(size);
    LocalOp local(m);
    const std::string where = HardLinks::ContentPath(*m->store_, path);
    Status st = m->store_->WriteFile(*m->key_, where, *content);
    if (!st.ok()) return ErrnoFor(st);
    if (where != path) Stale(m, where);
  }
  return 0;
}

void FuseMount::Ops::Readlink(fuse_req_t req, fuse_ino_t ino) {
  FuseMount* m = Self(req);
  const PathNode* n = nullptr;
  if (int e = NodeOf(m, ino, &n, IsStatusIno(ino) ? EINVAL : ENOENT)) {
    fuse_reply_err(req, e);
    return;
  }
  if (n->state().kind != Kind::kSymlink) {
    fuse_reply_err(req, EINVAL);
    return;
  }
  auto target = m->store_->ReadContent(n->state().content);
  if (!target.ok()) {
    fuse_reply_err(req, ErrnoFor(target.status()));
    return;
  }
  fuse_reply_readlink(req, target->c_str());
}

void FuseMount::Ops::Statfs(fuse_req_t req, fuse_ino_t) {
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

// --- Extended attributes ------------------------------------------------------

// The read-only attributes of a path: its current entry's author and
// hash, and how many revisions its chain has.
int FuseMount::Ops::XattrValue(FuseMount* m, uint64_t ino, const std::string& name, std::string* out) {
  if (IsStatusIno(ino)) return ENODATA;
  const std::string* p = m->inodes_.PathOf(ino);
  if (!p) return ENOENT;
  return m->attrs_.Xattr(*p, name, out);
}

void FuseMount::Ops::ReplyXattr(fuse_req_t req, const std::string& value, size_t size) {
  if (size == 0)
    fuse_reply_xattr(req, value.size());
  else if (size < value.size())
    fuse_reply_err(req, ERANGE);
  else
    fuse_reply_buf(req, value.data(), value.size());
}

void FuseMount::Ops::Getxattr(fuse_req_t req, fuse_ino_t ino, const char* name, size_t size) {
  std::string value;
  if (int e = XattrValue(Self(req), ino, name, &value)) {
    fuse_reply_err(req, e);
    return;
  }
  ReplyXattr(req, value, size);
}

void FuseMount::Ops::Listxattr(fuse_req_t req, fuse_ino_t ino, size_t size) {
  FuseMount* m = Self(req);
  std::string names;
  std::string unused;
  if (XattrValue(m, ino, Attributes::kProbeXattr, &unused) == 0) names = Attributes::XattrNames();
  ReplyXattr(req, names, size);
}

void FuseMount::Ops::Setxattr(fuse_req_t req, fuse_ino_t, const char* name, const char*, size_t, int) {
  const std::string n = name;
  fuse_reply_err(req, ENOTSUP);
}

void FuseMount::Ops::Removexattr(fuse_req_t req, fuse_ino_t, const char* name) {
  const std::string n = name;
  fuse_reply_err(req, ENOTSUP);
}

// --- The table ----------------------------------------------------------------

fuse_lowlevel_ops FuseMount::Ops::Table() {
  fuse_lowlevel_ops ops{};
  ops.init = Init;
  ops.lookup = Lookup;
  ops.forget = Forget;
  ops.forget_multi = ForgetMulti;
  ops.getattr = Getattr;
  ops.setattr = Setattr;
  ops.readlink = Readlink;
  ops.mkdir = Mkdir;
  ops.mknod = Mknod;
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

}  // namespace basefs
