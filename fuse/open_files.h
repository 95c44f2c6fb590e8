// OpenFiles: the content of the regular files the kernel has open, by
// inode, and the memory budget those buffers share.
//
// Each open regular file keeps its content in memory (`OpenFile::data`),
// shared by every handle of the inode: writes only change that buffer, and
// Save() makes it one signed write entry. A file created through the mount
// exists only in its buffer until its first save: it is "unstored", and
// found by its path too. All buffers together are bounded by
// `max_buffered_bytes`: a write or truncate beyond answers ENOSPC, and a
// file that does not fit is read a range at a time (ReadRange) without
// being held. Content is loaded lazily, at the first read or write.
//
// Invariants (between requests):
// - buffered_bytes() is the sum of `data.size()` over the open files (an
//   unloaded file's `data` is empty);
// - every unstored path names an open file that is `!stored`, not
//   `unlinked`, and whose `path` is that path; a file is unstored until
//   its first save, its unlink, or its last release.
//
// Thread-safety: none; the FUSE loop thread owns it (the store is not
// thread-safe either).
#pragma once

#include <time.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>

#include "store/store.h"

namespace basefs {

struct OpenFile {
  std::string path;
  std::string data;      // the content, once loaded
  bool loaded = false;   // `data` holds the content (clean or dirty)
  bool dirty = false;    // `data` differs from the store
  bool written = false;  // write() or truncate since the last save
  bool stored = true;    // false: created here, no entry yet
  bool unlinked = false;
  bool exec = false;  // wanted executable bit of an unstored file
  // Attributes set while the content is unsaved (at creation, or by
  // fchmod/fchown/futimens before close, as cp -p does): stored in the
  // same batch as the content.
  AttrChange attrs;
  bool failed = false;  // a write went past the size limit: never store
  int opens = 0;
  // Over the memory budget, reads go through this instead of `data`.
  std::unique_ptr<ContentReader> reader;
  // When the buffer last changed (created, written, truncated): its mtime
  // and ctime until it is saved, as write(2) and ftruncate(2) promise.
  timespec changed_at{};
};

class OpenFiles {
 public:
  // `store` must outlive this. Writes past `max_file_bytes` fail (EFBIG).
  OpenFiles(Store* store, uint64_t max_buffered_bytes, uint64_t max_file_bytes);
  OpenFiles(const OpenFiles&) = delete;
  OpenFiles& operator=(const OpenFiles&) = delete;

  // --- Handles ------------------------------------------------------------
  // The open file of inode `ino`, or null.
  OpenFile* Find(uint64_t ino) const;
  // One more open of inode `ino` at `path` (the first makes its entry).
  // `created`: a new file, only in memory until saved, executable if
  // `exec`. `truncate`: opened for writing with O_TRUNC (ignored for a file
  // that went past the size limit).
  OpenFile* Open(uint64_t ino, const std::string& path, bool created, bool exec, bool truncate);
  // After the last release: forgets the file and frees its buffer.
  void Erase(uint64_t ino);

  // --- Files created here and not stored yet ------------------------------
  // The unstored file at `path`, or null.
  OpenFile* Unstored(const std::string& path) const;
  // Unstored files by path (in the map's order, which listings follow).
  const std::unordered_map<std::string, uint64_t>& unstored() const { return unstored_; }
  bool HasUnstoredChild(const std::string& dir) const;
  // The unstored file at `path`, if any, loses its name: its handles keep
  // an anonymous buffer. Returns whether there was one.
  bool UnlinkUnstored(const std::string& path);
  // The unstored file at `from` is now at `to`; an unstored file that was
  // at `to` loses its name. There must be one at `from`.
  void MoveUnstored(const std::string& from, const std::string& to);

  // --- Content and the memory budget --------------------------------------
  // Whether `more` bytes of open-file content fit the memory budget.
  bool Fits(uint64_t more) const { return buffered_bytes_ + more <= max_buffered_bytes_; }
  uint64_t buffered_bytes() const { return buffered_bytes_; }
  // Loads an open file's content from the store if it is not in memory
  // (ENOSPC when it does not fit the budget). Returns an errno, 0 on success.
  int Load(OpenFile* f);
  // Drops a clean buffer (a newer version may have come).
  void Unload(OpenFile* f);
  // Before the name of open inode `ino` goes through the mount: it keeps
  // the content it had (not over the budget: its reads then fail with EIO).
  void KeepContent(uint64_t ino);
  // The path of open file `f` was deleted by a remote entry: keep what it
  // showed before the delete.
  void KeepDeletedContent(OpenFile* f, const std::string& path);

  // --- Reads and changes --------------------------------------------------
  // Whether reads of `f` go through ReadRange (its content is over the
  // budget) rather than its buffer (after a Load).
  bool ReadsInRanges(const OpenFile& f) const;
  Result<std::string> ReadRange(OpenFile* f, uint64_t off, size_t size);
  // Writes `size` bytes at `off` into the buffer. Returns an errno: EFBIG
  // past the size limit (and the file is never stored after that), ENOSPC
  // over the budget.
  int Write(OpenFile* f, const char* buf, size_t size, uint64_t off);
  // Sets the buffer's size (ENOSPC over the budget). Returns an errno.
  int Truncate(OpenFile* f, uint64_t size);
  // Stores an open file's unsaved content as one write entry signed with
  // `key` (plus a mode entry for a new executable file and an attr entry
  // for its waiting attributes, in one batch); a write through a
  // hard link goes to its target, and `stale(target)` is called after it.
  // Returns an errno, 0 on success (also when there is nothing to save).
  int Save(uint64_t ino, OpenFile* f, const std::optional<KeyPair>& key,
           const std::function<void(const std::string& target)>& stale);

 private:
  void Resize(OpenFile* f, size_t size);
  // The size of the file at `path` in the view (hard links followed), 0 if none.
  uint64_t StoredSize(const std::string& path) const;
  void DropUnstored(const std::string& path, uint64_t ino);

  Store* store_;
  const uint64_t max_buffered_bytes_;
  const uint64_t max_file_bytes_;
  // Open regular files by inode; created-but-not-yet-stored files by path.
  std::unordered_map<uint64_t, std::unique_ptr<OpenFile>> open_;
  std::unordered_map<std::string, uint64_t> unstored_;
  uint64_t buffered_bytes_ = 0;
};

}  // namespace basefs
