// InodeTable: the inode numbers the kernel holds for paths of the view.
//
// The log names things by path, the kernel by inode number. Each path the
// kernel has looked up gets a number that is never reused while the process
// lives (a 64-bit counter), with the kernel's lookup count: Ref() on every
// reply that hands the kernel an inode (lookup, create, mkdir, symlink,
// link, readdirplus), Forget() when the kernel forgets. At count zero the
// number is dropped. The root is always inode 1 and never dropped.
//
// Rename keeps an inode number and moves it to the new path (the kernel
// moves its dentry); a number whose path was taken over is detached: it
// still exists for Forget() but resolves to no path.
//
// Invariants: path->ino and ino->path agree for every attached number.
// Thread-safety: none; the FUSE loop thread owns it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>

namespace basefs {

class InodeTable {
 public:
  static constexpr uint64_t kRootIno = 1;

  // Numbers below `first_dynamic` are left for fixed (virtual) inodes.
  explicit InodeTable(uint64_t first_dynamic = 64);

  // The number for `path` (assigned if new), its lookup count raised by one.
  uint64_t Ref(const std::string& path);
  // Lowers the lookup count of `ino` by `n`; drops it at zero. Unknown
  // numbers are ignored (the kernel may forget what a rename detached).
  void Forget(uint64_t ino, uint64_t n);
  // The path of an attached number, or null.
  const std::string* PathOf(uint64_t ino) const;
  // The number of a path, if the kernel holds one.
  std::optional<uint64_t> Find(const std::string& path) const;
  // `from` now lives at `to`: its number follows; a number held at `to`
  // is detached. Paths below `from` are not moved (callers only rename
  // leaves and empty directories).
  void Move(const std::string& from, const std::string& to);
  // `path` was removed: a number held for it is detached, so that a new
  // file at the same path gets a new number.
  void Detach(const std::string& path);
  size_t size() const { return by_ino_.size(); }
  uint64_t lookups(uint64_t ino) const;

 private:
  struct Slot {
    std::string path;
    uint64_t lookups = 0;
    bool attached = true;
  };
  uint64_t next_;
  std::unordered_map<uint64_t, Slot> by_ino_;
  std::unordered_map<std::string, uint64_t> by_path_;
};

}  // namespace basefs
