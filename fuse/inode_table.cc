#include "fuse/inode_table.h"

#include <cassert>

namespace basefs {

InodeTable::InodeTable(uint64_t first_dynamic) : next_(first_dynamic) {
  assert(first_dynamic > kRootIno);
  by_ino_[kRootIno] = Slot{"/", 1, true};
  by_path_["/"] = kRootIno;
}

uint64_t InodeTable::Ref(const std::string& path) {
  auto it = by_path_.find(path);
  if (it != by_path_.end()) {
    ++by_ino_[it->second].lookups;
    return it->second;
  }
  const uint64_t ino = next_++;
  by_ino_[ino] = Slot{path, 1, true};
  by_path_[path] = ino;
  return ino;
}

void InodeTable::Forget(uint64_t ino, uint64_t n) {
  if (ino == kRootIno) return;
  auto it = by_ino_.find(ino);
  if (it == by_ino_.end()) return;
  Slot& s = it->second;
  s.lookups = n >= s.lookups ? 0 : s.lookups - n;
  if (s.lookups != 0) return;
  if (s.attached) {
    auto p = by_path_.find(s.path);
    assert(p != by_path_.end() && p->second == ino);
    by_path_.erase(p);
  }
  by_ino_.erase(it);
}

const std::string* InodeTable::PathOf(uint64_t ino) const {
  auto it = by_ino_.find(ino);
  if (it == by_ino_.end() || !it->second.attached) return nullptr;
  return &it->second.path;
}

std::optional<uint64_t> InodeTable::Find(const std::string& path) const {
  auto it = by_path_.find(path);
  if (it == by_path_.end()) return std::nullopt;
  return it->second;
}

void InodeTable::Move(const std::string& from, const std::string& to) {
  if (from == to) return;
  if (auto t = by_path_.find(to); t != by_path_.end()) {
    by_ino_[t->second].attached = false;
    by_path_.erase(t);
  }
  auto f = by_path_.find(from);
  if (f == by_path_.end()) return;
  const uint64_t ino = f->second;
  by_path_.erase(f);
  by_ino_[ino].path = to;
  by_path_[to] = ino;
}

void InodeTable::Detach(const std::string& path) {
  if (path == "/") return;
  auto it = by_path_.find(path);
  if (it == by_path_.end()) return;
  by_ino_[it->second].attached = false;
  by_path_.erase(it);
}

uint64_t InodeTable::lookups(uint64_t ino) const {
  auto it = by_ino_.find(ino);
  return it == by_ino_.end() ? 0 : it->second.lookups;
}

}  // namespace basefs
