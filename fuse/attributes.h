// Attributes: what stat(2) and getxattr(2) show for the paths of the view
// and for the files open through the mount.
//
// Nothing but a regular file's executable bit is stored: every path is
// owned by the daemon's user and group (`Owner`), files show 0644 or 0755,
// directories 0755, symlinks 0777, with a link count of 1 (2 for
// directories), and the time of the entry that last changed the path. A
// hard link shows its target's size and mode. The extended attributes
// (`user.basefs.*`) are read-only and describe the path's current entry.
//
// Invariants: no state but the store it reads and the owner, both fixed at
// construction; the same node gives the same attributes.
//
// Thread-safety: none; the FUSE loop thread uses it (the store is not
// thread-safe).
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <string>

#include "fuse/open_files.h"
#include "store/store.h"

namespace basefs {

// The owner of everything in the mount, and the attributes every inode
// starts from.
// Who owns what the mount shows, and the permission bits it shows: files
// 0666, executables and directories 0777, less `umask` (the log keeps no
// owners or modes beyond the exec bit yet: docs/fuse.md).
struct Owner {
  unsigned uid = 0;
  unsigned gid = 0;
  unsigned umask = 022;
  struct stat Base(uint64_t ino) const;
  unsigned FileMode(bool exec) const { return (exec ? 0777u : 0666u) & ~umask; }
  unsigned DirMode() const { return 0777u & ~umask; }
};

class Attributes {
 public:
  // `store` must outlive this.
  Attributes(const Store* store, Owner owner) : store_(store), owner_(owner) {}

  const Owner& owner() const { return owner_; }
  // The attributes of view node `n` as inode `ino`.
  struct stat OfNode(uint64_t ino, const PathNode* n) const;
  // The attributes of an open file's buffer (an unsaved file's, say).
  struct stat OfOpen(uint64_t ino, const OpenFile& f) const;

  // The read-only extended attribute `name` of `path`: its current entry's
  // author and hash, and how many revisions its chain has. Returns an errno
  // (ENODATA for an unknown name or a path with no entry), 0 on success.
  int Xattr(const std::string& path, const std::string& name, std::string* out) const;
  // The names of those attributes, each ended by a NUL (listxattr).
  static std::string XattrNames();
  // One name whose presence means a path has them all.
  static const char* const kProbeXattr;

 private:
  const Store* store_;
  Owner owner_;
};

}  // namespace basefs
