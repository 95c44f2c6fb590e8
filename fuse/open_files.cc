#include "fuse/open_files.h"

#include <cstring>
#include <ctime>

#include "fuse/errno_map.h"
#include "fuse/hard_links.h"
#include "fuse/paths.h"

namespace basefs {

OpenFiles::OpenFiles(Store* store, uint64_t max_buffered_bytes, uint64_t max_file_bytes)
    : store_(store), max_buffered_bytes_(max_buffered_bytes), max_file_bytes_(max_file_bytes) {}

OpenFile* OpenFiles::Find(uint64_t ino) const {
  auto it = open_.find(ino);
  return it == open_.end() ? nullptr : it->second.get();
}

OpenFile* OpenFiles::Open(uint64_t ino, const std::string& path, bool created, bool exec, bool truncate) {
  auto& slot = open_[ino];
  if (!slot) {
    slot = std::make_unique<OpenFile>();
    slot->path = path;
  }
  OpenFile* f = slot.get();
  ++f->opens;
  if (created) {
    f->stored = false;
    f->loaded = true;
    f->dirty = true;
    f->exec = exec;
    ::clock_gettime(CLOCK_REALTIME, &f->changed_at);
    unstored_[path] = ino;
  }
  if (truncate && !f->failed) {
    if (!f->loaded) {
      f->loaded = true;
    }
    Resize(f, 0);
    f->dirty = true;
  }
  return f;
}

void OpenFiles::Erase(uint64_t ino) {
  OpenFile* f = open_.at(ino).get();
  if (!f->stored) DropUnstored(f->path, ino);
  Unload(f);
  open_.erase(ino);
}

OpenFile* OpenFiles::Unstored(const std::string& path) const {
  auto it = unstored_.find(path);
  return it == unstored_.end() ? nullptr : open_.at(it->second).get();
}

bool OpenFiles::HasUnstoredChild(const std::string& dir) const {
  for (const auto& [path, ino] : unstored_)
    if (ParentOf(path) == dir) return true;
  return false;
}

bool OpenFiles::UnlinkUnstored(const std::string& path) {
  auto it = unstored_.find(path);
  if (it == unstored_.end()) return false;
  open_.at(it->second)->unlinked = true;
  unstored_.erase(it);
  return true;
}

void OpenFiles::MoveUnstored(const std::string& from, const std::string& to) {
  auto u = unstored_.find(from);
  const uint64_t ino = u->second;
  unstored_.erase(u);
  UnlinkUnstored(to);  // replaced before it was ever saved
  OpenFile* f = open_.at(ino).get();
  f->path = to;
  unstored_[to] = ino;
}

// Forgets that `path` is the unsaved file `ino` (not a newer file that
// took the name after this one was unlinked or renamed over).
void OpenFiles::DropUnstored(const std::string& path, uint64_t ino) {
  auto it = unstored_.find(path);
  if (it != unstored_.end() && it->second == ino) unstored_.erase(it);
}

int OpenFiles::Load(OpenFile* f) {
  if (f->loaded) return 0;
  if (f->unlinked) return EIO;  // its name is gone, and its content was not kept
  auto content = store_->ReadFile(f->path);
  if (!content.ok()) return ErrnoFor(content.status());
  if (!Fits(content->size())) return ENOSPC;
  buffered_bytes_ += content->size();
  f->data = std::move(content).value();
  f->loaded = true;
  return 0;
}

void OpenFiles::Unload(OpenFile* f) {
  f->reader.reset();  // a newer version may have come
  buffered_bytes_ -= f->data.size();
  f->data.clear();
  f->data.shrink_to_fit();
  f->loaded = false;
}

void OpenFiles::Resize(OpenFile* f, size_t size) {
  buffered_bytes_ = buffered_bytes_ - f->data.size() + size;
  f->data.resize(size);
}

uint64_t OpenFiles::StoredSize(const std::string& path) const {
  auto n = store_->Stat(path);
  const PathNode* r = n.ok() ? HardLinks::Resolve(*store_, *n) : nullptr;
  return r ? Store::ContentSize(r) : 0;
}

// Before the name goes (unlinked, or renamed over): an open file behind it
// keeps the content it had, as on a local file system. Over the memory
// budget it is not kept, and its reads fail with EIO.
void OpenFiles::KeepContent(uint64_t ino) {
  if (OpenFile* f = Find(ino); f && !f->loaded) (void)Load(f);
}

// An open file whose path was just deleted by a remote entry: load the
// content it showed before (the state of the path's chain before its
// last delete: a write, a revert to one, or a hard link, followed to its
// target's content), or read it in ranges beyond the memory budget. A
// path gone without a delete (its writer's key revoked) is not kept: its
// reads fail with EIO.
void OpenFiles::KeepDeletedContent(OpenFile* f, const std::string& path) {
  if (f->loaded) return;
  const View& view = store_->view();
  const PathNode* n = view.Lookup(path);
  if (!n) return;
  size_t last_delete = n->chain().size();
  while (last_delete > 0 && n->chain()[last_delete - 1]->entry.action != Action::kDelete) --last_delete;
  if (last_delete == 0) return;
  const NodeState before = view.StateBefore(n, last_delete - 1);
  const ViewEntry* ve = nullptr;
  if (before.kind == Kind::kFile) {
    ve = before.content;
  } else if (before.kind == Kind::kLink) {
    auto target = store_->Stat(before.content->entry.content);
    const PathNode* file = target.ok() ? HardLinks::Resolve(*store_, *target) : nullptr;
    if (file && file->state().kind == Kind::kFile) ve = file->state().content;
  }
  if (!ve || !ve->complete) return;
  if (!Fits(ve->entry.size)) {
    f->reader = store_->OpenContent(ve);  // read in ranges, as over-budget files are
    return;
  }
  auto content = store_->ReadContent(ve);
  if (!content.ok()) return;
  buffered_bytes_ += content->size();
  f->data = std::move(content).value();
  f->loaded = true;
}

bool OpenFiles::ReadsInRanges(const OpenFile& f) const {
  return !f.loaded && (f.reader || (!f.unlinked && !Fits(StoredSize(f.path))));
}

// Over the memory budget: read just the range, through a reader that
// keeps its place, so a file read front to back costs each block once
// (assembling the whole file for every 128 KiB read stalled the loop).
Result<std::string> OpenFiles::ReadRange(OpenFile* f, uint64_t off, size_t size) {
  if (!f->reader) {
    auto r = store_->OpenContent(f->path);
    if (!r.ok()) return r.status();
    f->reader = std::move(r).value();
  }
  auto part = f->reader->Read(off, size);
  if (!part.ok()) f->reader.reset();
  return part;
}

int OpenFiles::Write(OpenFile* f, const char* buf, size_t size, uint64_t off) {
  const uint64_t end = off + size;
  if (end > max_file_bytes_ || f->failed) {
    // Nothing of this file will be stored; the previous content stays.
    f->failed = true;
    return EFBIG;
  }
  if (int e = Load(f)) return e;
  if (end > f->data.size()) {
    if (!Fits(end - f->data.size())) return ENOSPC;
    Resize(f, end);
  }
  std::memcpy(f->data.data() + off, buf, size);
  f->dirty = true;
  f->written = true;
  ::clock_gettime(CLOCK_REALTIME, &f->changed_at);
  return 0;
}

int OpenFiles::Truncate(OpenFile* f, uint64_t size) {
  if (int e = Load(f)) return e;
  if (size > f->data.size() && !Fits(size - f->data.size())) return ENOSPC;
  if (f->data.size() != size) {
    Resize(f, size);
    f->dirty = true;
    f->written = true;
    ::clock_gettime(CLOCK_REALTIME, &f->changed_at);
  }
  return 0;
}

int OpenFiles::Save(uint64_t ino, OpenFile* f, const std::optional<KeyPair>& key,
                    const std::function<void(const std::string& target)>& stale) {
  if (f->failed) return EFBIG;
  if (!f->dirty || f->unlinked) return 0;
  const std::string where = HardLinks::ContentPath(*store_, f->path);
  Status st = store_->WriteFile(*key, where, f->data, f->attrs, !f->stored && f->exec);
  if (!st.ok()) return ErrnoFor(st);
  if (where != f->path) stale(where);
  if (!f->stored) {
    f->stored = true;
    DropUnstored(f->path, ino);
  }
  f->attrs = AttrChange{};
  f->dirty = false;
  f->written = false;
  return 0;
}

}  // namespace basefs
