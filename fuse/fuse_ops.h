// FuseMount::Ops: the libfuse low-level callbacks of the mount (internal to
// fuse/; only fuse_mount.cc and fuse_ops*.cc include it).
//
// Each callback decodes its arguments, does the operation with the mount's
// parts (the store, the inode table, OpenFiles, HardLinks, StatusDir,
// Attributes, DirListings) and replies exactly once, with an entry, data or
// an errno, as libfuse's example/passthrough_ll.c does. Helpers that can
// fail return an errno (0 on success) and leave the reply to the callback.
// The callbacks live in four files by what they act on:
//   fuse_ops.cc        lookups and attributes, statfs, xattrs, the table
//   fuse_ops_names.cc  mkdir, unlink, rmdir, symlink, link, rename
//   fuse_ops_files.cc  open, create, read, write, flush, fsync, release
//   fuse_ops_dirs.cc   opendir, readdir(plus), releasedir
//
// Invariants: every request callback replies exactly once on every path
// out of it (forget with fuse_reply_none); a reply that hands the kernel
// a path's inode (lookup, create, mkdir, symlink, link, readdirplus) takes
// a reference in the inode table for it (`.basefs/` inodes are fixed and
// take none). Store calls that change the view run under a LocalOp, so that
// OnChange does not invalidate what the kernel itself just did.
//
// Thread-safety: loop thread only (libfuse calls them from
// fuse_session_process_buf, which only FuseMount::Pump calls).
#pragma once

#ifndef FUSE_USE_VERSION
#define FUSE_USE_VERSION 34
#endif
#include <fuse_lowlevel.h>
#include <sys/stat.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "fuse/fuse_mount.h"

namespace basefs {

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

  // The lowlevel operations table (fuse_ops.cc).
  static fuse_lowlevel_ops Table();

  // --- Shared helpers (fuse_ops.cc) ---------------------------------------
  // Attributes of inode `ino`: an open file's buffer if it is unsaved, the
  // view otherwise. Returns an errno, 0 on success.
  static int StatIno(FuseMount* m, uint64_t ino, struct stat* st);
  static void ReplyEntry(fuse_req_t req, FuseMount* m, uint64_t ino, const struct stat& st);
  // Replies with a new reference to the node at `path` (after a create).
  static void ReplyPath(fuse_req_t req, FuseMount* m, const std::string& path);
  // The path of a directory inode the kernel names, or an errno.
  static int DirPath(FuseMount* m, uint64_t ino, std::string* out);
  // The path of `name` in directory `parent`, or an errno.
  static int Child(FuseMount* m, uint64_t parent, const char* name, std::string* out);
  // Whether this mount may change anything (errno if not).
  static int Writable(FuseMount* m);
  // Child() of a request that changes the directory: an errno also when
  // the mount is read-only.
  static int WritableChild(FuseMount* m, uint64_t parent, const char* name, std::string* out);
  // The path of a name `name` in `parent` that a request is to create: an
  // errno also when a file created here and not stored yet holds it.
  static int NewChild(FuseMount* m, uint64_t parent, const char* name, std::string* out);
  // Replies to a request that made `path`, `made` being its store call's status.
  static void ReplyMade(fuse_req_t req, FuseMount* m, const std::string& path, const Status& made);
  // The view node of an inode the kernel names, or an errno (`no_path`
  // when the inode has no path).
  static int NodeOf(FuseMount* m, uint64_t ino, const PathNode** node, int no_path = ENOENT);
  // After a write through a hard link: the target's own inode is another
  // one to the kernel, and a clean buffer of it is out of date.
  static void Stale(FuseMount* m, const std::string& path);
  // Stores an open file's unsaved content (OpenFiles::Save) as a change of
  // this mount's own. Returns an errno, 0 on success.
  static int Save(FuseMount* m, uint64_t ino, OpenFile* f);
  // Before the name `path` goes: an open file behind it keeps its content.
  static void KeepOpenContent(FuseMount* m, const std::string& path);
  // The open file the kernel knows as `path`, if any, has lost its name.
  static void MarkUnlinked(FuseMount* m, const std::string& path);

  // --- Lookups and attributes (fuse_ops.cc) -------------------------------
  static void Init(void* userdata, fuse_conn_info* conn);
  static void Lookup(fuse_req_t req, fuse_ino_t parent, const char* name);
  static void Forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup);
  static void ForgetMulti(fuse_req_t req, size_t count, fuse_forget_data* forgets);
  static void Getattr(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi);
  static void Setattr(fuse_req_t req, fuse_ino_t ino, struct stat* attr, int to_set, fuse_file_info* fi);
  // Setattr's parts. Each returns an errno, 0 on success.
  static int Truncate(FuseMount* m, uint64_t ino, OpenFile* f, const std::string& path, uint64_t size,
                      bool by_descriptor);
  static int TruncateStored(FuseMount* m, const std::string& path, uint64_t size);
  // The inode at `from` (and an open file of it) now lives at `to`.
  static void MoveInode(FuseMount* m, const std::string& from, const std::string& to);
  // The path whose inode the name `path` is: a hard link's file (all
  // names of a file are one inode), otherwise `path`.
  static std::string InodePath(FuseMount* m, const std::string& path);
  // The attribute part of a setattr (chmod, chown, utimensat) as one
  // change; errno on failure.
  static int AttrsOfSetattr(FuseMount* m, fuse_req_t req, const struct stat& attr, int to_set, AttrChange* change);
  static int SetAttrs(FuseMount* m, OpenFile* f, const std::string& path, const AttrChange& change);
  // What a new file or directory at `path` must store (Attributes::ForCreation).
  static AttrChange CreationAttrs(FuseMount* m, fuse_req_t req, const std::string& path, mode_t mode, bool dir);
  static void Readlink(fuse_req_t req, fuse_ino_t ino);
  static void Statfs(fuse_req_t req, fuse_ino_t ino);
  static int XattrValue(FuseMount* m, uint64_t ino, const std::string& name, std::string* out);
  static void ReplyXattr(fuse_req_t req, const std::string& value, size_t size);
  static void Getxattr(fuse_req_t req, fuse_ino_t ino, const char* name, size_t size);
  static void Listxattr(fuse_req_t req, fuse_ino_t ino, size_t size);
  static void Setxattr(fuse_req_t req, fuse_ino_t ino, const char* name, const char* value, size_t size, int flags);
  static void Removexattr(fuse_req_t req, fuse_ino_t ino, const char* name);

  // --- Names (fuse_ops_names.cc) ------------------------------------------
  // A new name under `parent`, made by `make` (signed with the mount's key),
  // answered with its entry or the error.
  static void MakeChild(fuse_req_t req, fuse_ino_t parent, const char* name,
                        const std::function<Status(FuseMount*, const std::string&)>& make);
  static void Mkdir(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode);
  // Regular files only (an empty file); FIFOs, devices and sockets have no
  // place in replicated configuration: EPERM (docs/fuse.md).
  static void Mknod(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode, dev_t rdev);
  static void Unlink(fuse_req_t req, fuse_ino_t parent, const char* name);
  static void Rmdir(fuse_req_t req, fuse_ino_t parent, const char* name);
  static void Symlink(fuse_req_t req, const char* link, fuse_ino_t parent, const char* name);
  static void Link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char* newname);
  static void Rename(fuse_req_t req, fuse_ino_t parent, const char* name, fuse_ino_t newparent, const char* newname,
                     unsigned int flags);
  // Rename's parts, by what moves. `target` is what `to` holds in the
  // view (null: nothing). Each returns an errno, 0 on success.
  static int RenameUnstored(FuseMount* m, const std::string& from, const std::string& to, const PathNode* target);
  static int RenameStored(FuseMount* m, const std::string& from, const std::string& to, const PathNode* target);
  static int RenameDir(FuseMount* m, const std::string& from, const std::string& to, const PathNode* target);
  static int RenameFile(FuseMount* m, const std::string& from, const std::string& to, const PathNode* target);

  // --- Files (fuse_ops_files.cc) ------------------------------------------
  static void OpenCommon(FuseMount* m, uint64_t ino, const std::string& path, fuse_file_info* fi, bool created,
                         bool exec);
  static void OpenStatusFile(fuse_req_t req, FuseMount* m, const StatusFile& sf, fuse_file_info* fi);
  static void OpenFileOp(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi);
  static void Create(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode, fuse_file_info* fi);
  static void ReplyCreate(fuse_req_t req, FuseMount* m, uint64_t ino, const struct stat& st, fuse_file_info* fi);
  // Create's checks that a new file may be made at `path`: an errno, or 0.
  static int MayCreate(FuseMount* m, const std::string& path);
  static void Read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi);
  static void Write(fuse_req_t req, fuse_ino_t ino, const char* buf, size_t size, off_t off, fuse_file_info* fi);
  static void Flush(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi);
  static void Fsync(fuse_req_t req, fuse_ino_t ino, int datasync, fuse_file_info* fi);
  static void Release(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi);

  // --- Directories (fuse_ops_dirs.cc) -------------------------------------
  // The entries of directory `ino` (".", ".." first). Returns an errno.
  static int ListDir(FuseMount* m, uint64_t ino, std::vector<DirItem>* items);
  static void Opendir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi);
  static void ReaddirCommon(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi, bool plus);
  // ReaddirCommon's parts: a plain entry (or "." and ".." of a readdirplus)
  // and, for readdirplus, the entry with a reference to its inode (false:
  // skip the item).
  static size_t AddPlain(fuse_req_t req, FuseMount* m, uint64_t ino, const std::string* dir, const DirItem& item,
                         bool plus, char* buf, size_t room, off_t next);
  static bool PlusEntry(FuseMount* m, uint64_t ino, const std::string* dir, const DirItem& item, size_t i,
                        fuse_entry_param* e);
  static void Readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi);
  static void Readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi);
  static void Releasedir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi);
};

}  // namespace basefs
