// StatusDir: the read-only `.basefs/` directory at the root of the mount,
// which is not in the log. Its files (MountOptions::status_files) are
// rendered by callbacks; an open descriptor reads one snapshot, taken at
// open (docs/fuse.md).
//
// Invariants: `.basefs/` and its files have fixed inodes below
// kFirstDynamicIno, which the inode table never hands out: the directory
// is kStatusDirIno, file i is kFirstStatusFileIno + i. A snapshot exists
// from a file's open to its release, under the handle the open was given.
//
// Thread-safety: none; the FUSE loop thread owns it (render callbacks run
// there too).
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "fuse/attributes.h"

namespace basefs {

struct StatusFile;  // fuse_mount.h

// Fixed inodes of the `.basefs/` directory and its files; the inode table
// hands out numbers from kFirstDynamicIno on.
inline constexpr uint64_t kStatusDirIno = 2;
inline constexpr uint64_t kFirstStatusFileIno = 3;
inline constexpr uint64_t kFirstDynamicIno = 64;
inline constexpr const char* kStatusDirName = ".basefs";

inline bool IsStatusIno(uint64_t ino) { return ino >= kStatusDirIno && ino < kFirstDynamicIno; }

class StatusDir {
 public:
  // `files` must outlive this; its size must stay below
  // kFirstDynamicIno - kFirstStatusFileIno.
  StatusDir(const std::vector<StatusFile>* files, Owner owner) : files_(files), owner_(owner) {}
  StatusDir(const StatusDir&) = delete;
  StatusDir& operator=(const StatusDir&) = delete;

  const std::vector<StatusFile>& files() const { return *files_; }
  // The status file of inode `ino`, or null (the directory, or no file).
  const StatusFile* FileOf(uint64_t ino) const;
  // The inode of the file named `name` in `.basefs/`.
  std::optional<uint64_t> Find(std::string_view name) const;

  // 0555, owned by the mount's owner.
  struct stat DirStat() const;
  // 0444, `size` bytes (what a render gave, or 0 where it was not rendered).
  struct stat FileStat(uint64_t ino, size_t size) const;

  // Renders `file` for the descriptor that gets handle `fh`.
  void TakeSnapshot(uint64_t fh, const StatusFile& file);
  // The snapshot of handle `fh`, or null.
  const std::string* Snapshot(uint64_t fh) const;
  void DropSnapshot(uint64_t fh) { snapshots_.erase(fh); }
  size_t snapshot_count() const { return snapshots_.size(); }

 private:
  const std::vector<StatusFile>* files_;
  Owner owner_;
  // `.basefs/` snapshots by file handle.
  std::unordered_map<uint64_t, std::string> snapshots_;
};

}  // namespace basefs
