#include "fuse/status_dir.h"

#include "fuse/fuse_mount.h"

namespace basefs {

const StatusFile* StatusDir::FileOf(uint64_t ino) const {
  if (ino < kFirstStatusFileIno) return nullptr;
  const uint64_t i = ino - kFirstStatusFileIno;
  return i < files_->size() ? &(*files_)[i] : nullptr;
}

std::optional<uint64_t> StatusDir::Find(std::string_view name) const {
  for (size_t i = 0; i < files_->size(); ++i)
    if ((*files_)[i].name == name) return kFirstStatusFileIno + i;
  return std::nullopt;
}

struct stat StatusDir::DirStat() const {
  struct stat st = owner_.Base(kStatusDirIno);
  st.st_mode = S_IFDIR | 0555;
  st.st_nlink = 2;
  return st;
}

struct stat StatusDir::FileStat(uint64_t ino, size_t size) const {
  struct stat st = owner_.Base(ino);
  st.st_mode = S_IFREG | 0444;
  st.st_nlink = 1;
  st.st_size = static_cast<off_t>(size);
  return st;
}

void StatusDir::TakeSnapshot(uint64_t fh, const StatusFile& file) { snapshots_[fh] = file.render(); }

const std::string* StatusDir::Snapshot(uint64_t fh) const {
  auto it = snapshots_.find(fh);
  return it == snapshots_.end() ? nullptr : &it->second;
}

}  // namespace basefs
