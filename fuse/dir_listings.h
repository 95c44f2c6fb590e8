// DirListings: the directory listings that serve the readdir requests of
// one pass over a directory, so that the reads that continue a listing see
// the entries the first one saw.
//
// Two kinds: by handle, where the kernel opens directories through us (a
// listing per opendir, kept until releasedir); and by inode, where it does
// not (FUSE_CAP_NO_OPENDIR_SUPPORT: every read comes with handle 0). A
// handle-less listing is taken by the read at offset 0, serves the reads
// that continue it, and is dropped at the end of the pass (or when a read
// fails). A listing is empty until the first read fills it.
//
// Invariants: at most kMaxPasses handle-less listings (all are dropped when
// one more is needed: a pass whose listing went starts again from the
// directory). Handles are the caller's (never 0).
//
// Thread-safety: none; the FUSE loop thread owns it.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace basefs {

struct DirItem {
  std::string name;
  mode_t type;  // S_IFDIR, S_IFREG or S_IFLNK
};

// What getdents shows as d_ino for a name the kernel holds no inode for:
// FNV-1a of the path with the top bit set, never a number the inode table
// gives (lookup gives the real one).
uint64_t PathIno(const std::string& path);

class DirListings {
 public:
  // Handle-less directory listings kept between the reads of one pass.
  static constexpr size_t kMaxPasses = 1024;

  // A handle was opened: its listing is empty until the first read.
  void Open(uint64_t fh) { by_handle_[fh]; }
  // The listing of handle `fh`, or null if it is not open.
  std::vector<DirItem>* ForHandle(uint64_t fh);
  void Close(uint64_t fh) { by_handle_.erase(fh); }

  // The listing of a handle-less read of directory `ino` at `off`: emptied
  // (to be taken again) at offset 0 or when none was kept.
  std::vector<DirItem>* ForPass(uint64_t ino, off_t off);
  // The pass over `ino` ended (or failed): its listing goes.
  void EndPass(uint64_t ino) { by_ino_.erase(ino); }

  size_t handles() const { return by_handle_.size(); }
  size_t passes() const { return by_ino_.size(); }

 private:
  // Directory listings by file handle.
  std::unordered_map<uint64_t, std::vector<DirItem>> by_handle_;
  // Listings of handle-less directory reads in progress, by inode.
  std::unordered_map<uint64_t, std::vector<DirItem>> by_ino_;
};

}  // namespace basefs
