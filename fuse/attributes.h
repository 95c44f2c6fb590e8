// Attributes: what stat(2) and getxattr(2) show for the paths of the view
// and for the files open through the mount, and what the mount stores
// when a file is created or its attributes set.
//
// The log keeps permission bits, owner and group by name, and a tool-set
// mtime (store/attrs.h); what it does not keep for a path, `Owner` gives:
// the mount's owner and group, files 0666 and executables and directories
// 0777 less the mount's umask. Names map to this host's ids (OwnerNames);
// a name unknown here shows as the mount's owner or group. Symlinks are
// 0777 with a link count of 1, directories have 2. Every name of a hard
// linked file shows the file's attributes and its link count (1 + the
// links that name it). The extended attributes (`user.basefs.*`) are
// read-only and describe the path's current entry.
//
// Invariants: no state but the store it reads, the owner (fixed at
// construction) and the name cache.
//
// Thread-safety: none; the FUSE loop thread uses it (the store is not
// thread-safe).
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <optional>
#include <string>

#include "fuse/hard_links.h"
#include "fuse/open_files.h"
#include "fuse/owner_names.h"
#include "store/store.h"

namespace basefs {

// Who owns what the mount shows and the permission bits it shows where the
// log stores none: files 0666, executables and directories 0777, less
// `umask` (docs/fuse.md).
struct Owner {
  unsigned uid = 0;
  unsigned gid = 0;
  unsigned umask = 022;
  struct stat Base(uint64_t ino) const;
  unsigned FileMode(bool exec) const { return (exec ? 0777u : 0666u) & ~umask; }
  unsigned DirMode() const { return 0777u & ~umask; }
  // --mount-owner USER[:GROUP] (names or numbers; empty: the process's
  // user and group; a user name brings its primary group) and
  // --mount-umask (octal). A name unknown on this host is an error.
  static Result<Owner> Parse(const std::string& spec, const std::string& umask);
};

class Attributes {
 public:
  // `store` must outlive this.
  Attributes(const Store* store, Owner owner) : store_(store), owner_(owner) {}

  const Owner& owner() const { return owner_; }
  // The mount's index of hard links, for link counts (none: always 1).
  void set_links(const HardLinks* links) { links_ = links; }
  // The attributes of view node `n` as inode `ino`.
  struct stat OfNode(uint64_t ino, const PathNode* n) const;
  // The attributes of an open file's buffer (an unsaved file's, say), with
  // the attributes waiting to be stored with it.
  struct stat OfOpen(uint64_t ino, const OpenFile& f) const;
  // Shows attributes not stored yet (`change`) in `st`.
  void Overlay(const AttrChange& change, struct stat* st) const;

  // What the log must keep for a file (or directory) created by user
  // `uid`, group `gid` with `mode` (the caller's umask applied) in
  // directory `parent`: the bits unless they are the default both here
  // and in the format (0644, 0755), the owner and group when they are not
  // the mount's; a directory with setgid gives its group (and, to
  // directories, the bit).
  AttrChange ForCreation(mode_t mode, bool dir, bool exec, unsigned uid, unsigned gid, const PathNode* parent) const;
  // The fields of `change` (a chmod, chown or touch of a path whose stored
  // attributes are `now`, executable or not) that the log must keep: not
  // those it already says, nor, where it says nothing, a value that is the
  // default both here and in the format (cp -a chowns and chmods
  // everything it copies to what it mostly already shows).
  AttrChange Needed(const StoredAttrs& now, bool dir, bool exec, const AttrChange& change) const;
  // A setattr's owner and group as names; EINVAL for an id with no name
  // here (the log keeps names). Returns an errno, 0 on success.
  int NameOwner(std::optional<unsigned> uid, std::optional<unsigned> gid, AttrChange* change) const;

  // The read-only extended attribute `name` of `path`: its current entry's
  // author and hash, and how many revisions its chain has. Returns an errno
  // (ENODATA for an unknown name or a path with no entry), 0 on success.
  int Xattr(const std::string& path, const std::string& name, std::string* out) const;
  // The names of those attributes, each ended by a NUL (listxattr).
  static std::string XattrNames();
  // One name whose presence means a path has them all.
  static const char* const kProbeXattr;

 private:
  unsigned UidOf(const std::optional<std::string>& name) const;
  unsigned GidOf(const std::optional<std::string>& name) const;

  const Store* store_;
  Owner owner_;
  const HardLinks* links_ = nullptr;
  mutable OwnerNames names_;
};

}  // namespace basefs
