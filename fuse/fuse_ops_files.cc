// The callbacks of regular files and `.basefs/` files: open, create, read,
// write, flush, fsync and release. The content itself is OpenFiles'.
#define FUSE_USE_VERSION 34
#include <fcntl.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <iostream>

#include "base/log.h"
#include "fuse/errno_map.h"
#include "fuse/fuse_ops.h"
#include "fuse/notifier.h"
#include "fuse/paths.h"

namespace basefs {

void FuseMount::Ops::OpenCommon(FuseMount* m, uint64_t ino, const std::string& path, fuse_file_info* fi, bool created,
                                bool exec) {
  const bool truncate = (fi->flags & O_TRUNC) && (fi->flags & O_ACCMODE) != O_RDONLY;
  m->files_.Open(ino, path, created, exec, truncate);
  fi->fh = ino;
  // The kernel keeps cached pages across opens: changes that did not
  // come through this mount invalidate them.
  fi->keep_cache = 1;
  // A descriptor that cannot write has nothing to save at close: spare
  // the kernel the flush round trip.
  if ((fi->flags & O_ACCMODE) == O_RDONLY) fi->noflush = 1;
}

// A `.basefs/` file is rendered once per open: reads of one descriptor
// see one snapshot, served with direct I/O.
void FuseMount::Ops::OpenStatusFile(fuse_req_t req, FuseMount* m, const StatusFile& sf, fuse_file_info* fi) {
  if ((fi->flags & O_ACCMODE) != O_RDONLY) {
    fuse_reply_err(req, EROFS);
    return;
  }
  const uint64_t fh = m->next_fh_++;
  m->status_.TakeSnapshot(fh, sf);
  fi->fh = fh;
  fi->direct_io = 1;
  fuse_reply_open(req, fi);
}

void FuseMount::Ops::OpenFileOp(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  FuseMount* m = Self(req);
  const bool writing = (fi->flags & O_ACCMODE) != O_RDONLY;
  if (const StatusFile* sf = m->status_.FileOf(ino)) {
    OpenStatusFile(req, m, *sf, fi);
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
  if (OpenFile* f = m->files_.Find(ino)) {
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
  const PathNode* n = nullptr;
  if (int e = NodeOf(m, ino, &n)) {
    fuse_reply_err(req, e);
    return;
  }
  const Kind kind = n->state().kind;
  if (kind == Kind::kDir) {
    fuse_reply_err(req, EISDIR);
    return;
  }
  if (kind == Kind::kSymlink) {
    fuse_reply_err(req, ELOOP);
    return;
  }
  if (writing && !m->store_->view().Authorized(m->key_->public_key, n)) {
    fuse_reply_err(req, EACCES);
    return;
  }
  OpenCommon(m, ino, *m->inodes_.PathOf(ino), fi, false, false);
  fuse_reply_open(req, fi);
}

void FuseMount::Ops::ReplyCreate(fuse_req_t req, FuseMount* m, uint64_t ino, const struct stat& st,
                                 fuse_file_info* fi) {
  fuse_entry_param e{};
  e.ino = ino;
  e.attr = st;
  e.attr_timeout = e.entry_timeout = m->options_.cache_timeout_s;
  fuse_reply_create(req, &e, fi);
}

void FuseMount::Ops::Create(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode, fuse_file_info* fi) {
  FuseMount* m = Self(req);
  std::string path;
  if (int e = WritableChild(m, parent, name, &path)) {
    fuse_reply_err(req, e);
    return;
  }
  auto existing = m->store_->Stat(path);
  const bool exists = existing.ok() || m->files_.Unstored(path);
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
    const std::string file = InodePath(m, path);
    const uint64_t ino = m->inodes_.Ref(file);
    OpenCommon(m, ino, file, fi, false, false);
    struct stat st {};
    StatIno(m, ino, &st);
    ReplyCreate(req, m, ino, st, fi);
    return;
  }
  if (m->files_.Unstored(path)) {
    const uint64_t ino = m->inodes_.Ref(path);
    OpenCommon(m, ino, path, fi, false, false);
    ReplyCreate(req, m, ino, m->attrs_.OfOpen(ino, *m->files_.Find(ino)), fi);
    return;
  }
  if (existing.status().code() != Code::kNotFound) {
    fuse_reply_err(req, ErrnoFor(existing.status()));
    return;
  }
  if (int e = MayCreate(m, path)) {
    fuse_reply_err(req, e);
    return;
  }
  const uint64_t ino = m->inodes_.Ref(path);
  OpenCommon(m, ino, path, fi, true, (mode & 0111) != 0);
  OpenFile* f = m->files_.Find(ino);
  f->attrs = CreationAttrs(m, req, path, mode, false);
  ReplyCreate(req, m, ino, m->attrs_.OfOpen(ino, *f), fi);
}

// The directory must exist and be writable by our key now, so that the
// error comes at open and not at close.
int FuseMount::Ops::MayCreate(FuseMount* m, const std::string& path) {
  auto dir = m->store_->Stat(ParentOf(path));
  if (!dir.ok()) return ErrnoFor(dir.status());
  if ((*dir)->state().kind != Kind::kDir) return ENOTDIR;
  if (!m->store_->view().AuthorizedBelow(m->key_->public_key, *dir)) return EACCES;
  return 0;
}

void FuseMount::Ops::Read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi) {
  FuseMount* m = Self(req);
  if (m->status_.FileOf(ino)) {
    const std::string* s = m->status_.Snapshot(fi->fh);
    if (!s) {
      fuse_reply_err(req, EBADF);
      return;
    }
    const size_t start = std::min(static_cast<size_t>(off), s->size());
    fuse_reply_buf(req, s->data() + start, std::min(size, s->size() - start));
    return;
  }
  OpenFile* f = m->files_.Find(ino);
  if (!f) {
    fuse_reply_err(req, EBADF);
    return;
  }
  if (m->files_.ReadsInRanges(*f)) {
    auto part = m->files_.ReadRange(f, static_cast<uint64_t>(off), size);
    if (!part.ok()) {
      fuse_reply_err(req, ErrnoFor(part.status()));
      return;
    }
    fuse_reply_buf(req, part->data(), part->size());
    return;
  }
  if (int e = m->files_.Load(f)) {
    fuse_reply_err(req, e);
    return;
  }
  const size_t start = std::min(static_cast<size_t>(off), f->data.size());
  fuse_reply_buf(req, f->data.data() + start, std::min(size, f->data.size() - start));
}

void FuseMount::Ops::Write(fuse_req_t req, fuse_ino_t ino, const char* buf, size_t size, off_t off,
                           fuse_file_info* fi) {
  FuseMount* m = Self(req);
  OpenFile* f = m->files_.Find(ino);
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
    if (int e = m->files_.Load(f)) {
      fuse_reply_err(req, e);
      return;
    }
    if (static_cast<uint64_t>(off) != f->data.size()) {
      off = static_cast<off_t>(f->data.size());
      m->notifier_->Inode(ino);  // its cached size and pages are not ours
    }
  }
  if (int e = m->files_.Write(f, buf, size, static_cast<uint64_t>(off))) {
    fuse_reply_err(req, e);
    return;
  }
  fuse_reply_write(req, size);
}

// close(2) of any descriptor. Only content that was written (or
// truncated) since the last save is stored here: the close of a dup made
// right after open (a shell's `> file`) must not store an empty file
// first. Creation or O_TRUNC alone is stored at release or fsync.
void FuseMount::Ops::Flush(fuse_req_t req, fuse_ino_t ino, fuse_file_info*) {
  FuseMount* m = Self(req);
  OpenFile* f = m->files_.Find(ino);
  if (f && !f->written && !f->failed) {
    fuse_reply_err(req, 0);
    return;
  }
  fuse_reply_err(req, f ? Save(m, ino, f) : 0);
}

void FuseMount::Ops::Fsync(fuse_req_t req, fuse_ino_t ino, int, fuse_file_info*) {
  FuseMount* m = Self(req);
  OpenFile* f = m->files_.Find(ino);
  fuse_reply_err(req, f ? Save(m, ino, f) : 0);
}

void FuseMount::Ops::Release(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  FuseMount* m = Self(req);
  if (m->status_.FileOf(ino)) {
    m->status_.DropSnapshot(fi->fh);
    fuse_reply_err(req, 0);
    return;
  }
  OpenFile* f = m->files_.Find(ino);
  if (!f) {
    fuse_reply_err(req, 0);
    return;
  }
  if (int e = Save(m, ino, f); e && e != EFBIG) LogError("could not store {}: {}", f->path, std::strerror(e));
  if (--f->opens > 0) {
    fuse_reply_err(req, 0);
    return;
  }
  const bool vanished = !f->stored && !f->unlinked;
  const std::string path = f->path;
  m->files_.Erase(ino);
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

}  // namespace basefs
