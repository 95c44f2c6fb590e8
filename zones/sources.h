// Reads the projection's input files (/services and /zones) out of a
// store's view: one pass over those two trees (content of small files is
// inline in the entries, so most reads do not touch LevelDB).
#pragma once

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "store/store.h"
#include "zones/projection.h"

namespace basefs {

inline constexpr size_t kMaxZoneFileBytes = 256 * 1024;
inline constexpr size_t kMaxSourceFiles = 100000;

using SharedSource = std::shared_ptr<const SourceFile>;  // as in ProjectionInput::shared_files

// The files the last collection read, by path and entry: a rebuild after
// one change reads and allocates for one file, not for every file.
// Thread-compatible (the files it hands out are immutable: any thread may
// read and release them).
class SourceCache {
 public:
  // The file at `path` if it was read from the same entries before.
  const SharedSource* Find(const std::string& path, const Hash& content, const Hash& author);
  void Put(const std::string& path, const Hash& content, const Hash& author, SharedSource file);
  // Drops what was not found or put since the last Sweep().
  void Sweep();
  size_t size() const { return slots_.size(); }

 private:
  struct Slot {
    Hash content{}, author{};
    SharedSource file;
    bool used = true;
  };
  std::unordered_map<std::string, Slot> slots_;
};

// Every file under /services and /zones, in path order (hard links
// followed; symlinks and files too large or unreadable go to `bad`). With a
// cache, a file whose entries are unchanged since the last call is the one
// read then.
std::vector<SharedSource> CollectSharedSources(const Store& store, std::vector<BadFile>* bad,
                                               SourceCache* cache = nullptr);
// The same, copied.
std::vector<SourceFile> CollectSources(const Store& store, std::vector<BadFile>* bad);

}  // namespace basefs
