// The callbacks that make, remove and move names: mkdir, unlink, rmdir,
// symlink, link and rename.
#define FUSE_USE_VERSION 34
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "fuse/errno_map.h"
#include "fuse/fuse_ops.h"

namespace basefs {

void FuseMount::Ops::MakeChild(fuse_req_t req, fuse_ino_t parent, const char* name,
                               const std::function<Status(FuseMount*, const std::string&)>& make) {
  FuseMount* m = Self(req);
  std::string path;
  if (int e = NewChild(m, parent, name, &path)) {
    fuse_reply_err(req, e);
    return;
  }
  LocalOp local(m);
  ReplyMade(req, m, path, make(m, path));
}

void FuseMount::Ops::Mkdir(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode) {
  MakeChild(req, parent, name, [req, mode](FuseMount* m, const std::string& path) {
    return m->store_->Mkdir(*m->key_, path, false, CreationAttrs(m, req, path, mode, true));
  });
}

void FuseMount::Ops::Mknod(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode, dev_t) {
  if (!S_ISREG(mode)) {
    fuse_reply_err(req, EPERM);
    return;
  }
  MakeChild(req, parent, name, [req, mode](FuseMount* m, const std::string& path) {
    return m->store_->WriteFile(*m->key_, path, "", CreationAttrs(m, req, path, mode, false), (mode & 0111) != 0);
  });
}

void FuseMount::Ops::Unlink(fuse_req_t req, fuse_ino_t parent, const char* name) {
  FuseMount* m = Self(req);
  std::string path;
  if (int e = WritableChild(m, parent, name, &path)) {
    fuse_reply_err(req, e);
    return;
  }
  if (m->files_.UnlinkUnstored(path)) {
    // Never stored: the open handles keep an anonymous buffer.
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
  const std::optional<std::string> home = m->links_.RehomeLinksTo(*m->key_, path);
  Status st = m->store_->Remove(*m->key_, path, false);
  if (!st.ok()) {
    fuse_reply_err(req, ErrnoFor(st));
    return;
  }
  if (home) {
    MoveInode(m, path, *home);  // the file lives on under its other names
  } else {
    MarkUnlinked(m, path);
    m->inodes_.Detach(path);  // a new file at this path is a new inode
  }
  fuse_reply_err(req, 0);
}

void FuseMount::Ops::MoveInode(FuseMount* m, const std::string& from, const std::string& to) {
  m->inodes_.Move(from, to);
  if (auto ino = m->inodes_.Find(to)) {
    if (OpenFile* f = m->files_.Find(*ino)) f->path = to;
  }
}

void FuseMount::Ops::Rmdir(fuse_req_t req, fuse_ino_t parent, const char* name) {
  FuseMount* m = Self(req);
  std::string path;
  if (int e = WritableChild(m, parent, name, &path)) {
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
  if (m->files_.HasUnstoredChild(path)) {
    fuse_reply_err(req, ENOTEMPTY);
    return;
  }
  LocalOp local(m);
  Status st = m->store_->Remove(*m->key_, path, false);
  if (st.ok()) m->inodes_.Detach(path);
  fuse_reply_err(req, ErrnoFor(st));
}

void FuseMount::Ops::Symlink(fuse_req_t req, const char* link, fuse_ino_t parent, const char* name) {
  FuseMount* m = Self(req);
  std::string path;
  if (int e = NewChild(m, parent, name, &path)) {
    fuse_reply_err(req, e);
    return;
  }
  if (std::strlen(link) > kMaxLinkTargetBytes) {
    fuse_reply_err(req, ENAMETOOLONG);
    return;
  }
  LocalOp local(m);
  ReplyMade(req, m, path, m->store_->Symlink(*m->key_, path, link));
}

void FuseMount::Ops::Link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char* newname) {
  FuseMount* m = Self(req);
  std::string path;
  if (int e = WritableChild(m, newparent, newname, &path)) {
    fuse_reply_err(req, e);
    return;
  }
  const std::string* target = m->inodes_.PathOf(ino);
  if (!target) {
    fuse_reply_err(req, IsStatusIno(ino) ? EPERM : ENOENT);
    return;
  }
  if (OpenFile* f = m->files_.Find(ino); f && !f->stored) {
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
void FuseMount::Ops::Rename(fuse_req_t req, fuse_ino_t parent, const char* name, fuse_ino_t newparent,
                            const char* newname, unsigned int flags) {
  FuseMount* m = Self(req);
  std::string from, to;
  if (int e = WritableChild(m, parent, name, &from)) {
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
  const bool target_exists = target.ok() || m->files_.Unstored(to);
  if ((flags & RENAME_NOREPLACE) && target_exists) {
    fuse_reply_err(req, EEXIST);
    return;
  }
  LocalOp local(m);
  const PathNode* t = target.ok() ? *target : nullptr;
  if (m->files_.Unstored(from)) {
    fuse_reply_err(req, RenameUnstored(m, from, to, t));
    return;
  }
  fuse_reply_err(req, RenameStored(m, from, to, t));
}

// The source is still only a buffer: it moves, and is stored under the
// new name at its save.
int FuseMount::Ops::RenameUnstored(FuseMount* m, const std::string& from, const std::string& to,
                                   const PathNode* target) {
  if (target && target->state().kind == Kind::kDir) return EISDIR;
  // A saved file it replaces keeps its content for whoever has it
  // open, and must not be saved over the new one at its close.
  if (target) {
    KeepOpenContent(m, to);
    if (auto home = m->links_.RehomeLinksTo(*m->key_, to))
      MoveInode(m, to, *home);
    else
      MarkUnlinked(m, to);
  }
  m->files_.MoveUnstored(from, to);
  m->inodes_.Move(from, to);
  return 0;
}

// The source is in the view: the new name is written and the old one
// deleted; the inode and an open file of the source follow it.
int FuseMount::Ops::RenameStored(FuseMount* m, const std::string& from, const std::string& to, const PathNode* target) {
  auto source = m->store_->Stat(from);
  if (!source.ok()) return ErrnoFor(source.status());
  const PathNode* src = *source;
  const Kind kind = src->state().kind;
  const Kind tkind = target ? target->state().kind : Kind::kNone;
  if (target && kind != Kind::kDir && tkind != Kind::kDir) {
    // Two names of one file (a hard link and what it names): POSIX says
    // rename does nothing and succeeds.
    const PathNode* a = HardLinks::Resolve(*m->store_, src);
    if (a && a == HardLinks::Resolve(*m->store_, target) && (kind == Kind::kLink || tkind == Kind::kLink)) return 0;
  }
  if (int e = kind == Kind::kDir ? RenameDir(m, from, to, target) : RenameFile(m, from, to, target)) return e;
  MarkUnlinked(m, to);
  m->files_.UnlinkUnstored(to);  // replaced before it was ever saved
  MoveInode(m, from, to);
  return 0;
}

// An empty directory is renamed with a mkdir and an rmdir.
int FuseMount::Ops::RenameDir(FuseMount* m, const std::string& from, const std::string& to, const PathNode* target) {
  if (target && target->state().kind != Kind::kDir) return ENOTDIR;
  if (target && (!target->children().empty() && !m->store_->List(to)->empty())) return ENOTEMPTY;
  auto children = m->store_->List(from);
  if (!children.ok() || !children->empty() || m->files_.HasUnstoredChild(from))
    return children.ok() ? EXDEV : ErrnoFor(children.status());
  // The new name is the same directory: its mode, owners and mtime.
  auto source = m->store_->Stat(from);
  if (!source.ok()) return ErrnoFor(source.status());
  const AttrChange same = (*source)->Attrs().Copy();
  const Status made = target ? m->store_->SetAttrs(*m->key_, to, same) : m->store_->Mkdir(*m->key_, to, false, same);
  if (!made.ok()) return ErrnoFor(made);
  if (Status st = m->store_->Remove(*m->key_, from, false); !st.ok()) return ErrnoFor(st);
  return 0;
}

// A file, symlink or hard link: its entry at the new path and the delete
// of the old one (Store::Rename).
int FuseMount::Ops::RenameFile(FuseMount* m, const std::string& from, const std::string& to, const PathNode* target) {
  if (target && target->state().kind == Kind::kDir) return EISDIR;
  if (target) {
    KeepOpenContent(m, to);
    if (auto home = m->links_.RehomeLinksTo(*m->key_, to)) MoveInode(m, to, *home);
  }
  // Unsaved content of the source goes first, so what moves is current.
  // (A buffer that went past the size limit is never stored: what moves
  // is the stored content, as a reader sees it.)
  if (auto ino = m->inodes_.Find(from)) {
    if (OpenFile* f = m->files_.Find(*ino)) {
      if (int e = Save(m, *ino, f); e && e != EFBIG) return e;
    }
  }
  // The new name and the delete of the old one in one synced batch; the
  // links that named the old name follow it.
  if (Status st = m->store_->Rename(*m->key_, from, to); !st.ok()) return ErrnoFor(st);
  m->links_.RetargetLinks(*m->key_, from, to);
  return 0;
}

}  // namespace basefs
