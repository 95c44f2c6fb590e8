#include "fuse/dir_listings.h"

namespace basefs {

uint64_t PathIno(const std::string& path) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : path) h = (h ^ c) * 1099511628211ull;
  return h | (1ull << 63);
}

std::vector<DirItem>* DirListings::ForHandle(uint64_t fh) {
  auto it = by_handle_.find(fh);
  return it == by_handle_.end() ? nullptr : &it->second;
}

// No handle: the listing of a read from offset 0 serves the reads that
// continue it, and is dropped at the end. (A change between two reads of
// one pass, with another pass starting meanwhile, can shift entries: the
// kernel's own listing cache makes that rare.)
std::vector<DirItem>* DirListings::ForPass(uint64_t ino, off_t off) {
  if (by_ino_.size() >= kMaxPasses) by_ino_.clear();
  auto [it, fresh] = by_ino_.try_emplace(ino);
  if (fresh || off == 0) it->second.clear();
  return &it->second;
}

}  // namespace basefs
