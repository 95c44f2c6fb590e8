#include "zones/sources.h"

#include "base/crypto.h"

namespace basefs {
namespace {

struct Walker {
  const Store& store;
  std::vector<BadFile>* bad;
  SourceCache* cache;
  std::vector<SharedSource> out;
  bool truncated = false;
  std::string path;  // of the node being walked; children append to it

  void Walk(const PathNode* node, size_t limit) {
    for (const auto& [name, child] : node->children()) {
      if (!child->exists()) continue;
      if (out.size() >= kMaxSourceFiles) {
        truncated = true;
        return;
      }
      const size_t at = path.size();
      path += '/';
      path += name;
      Visit(child.get(), limit);
      path.resize(at);
      if (truncated) return;
    }
  }

  void Visit(const PathNode* child, size_t limit) {
    const NodeState& st = child->state();
    if (st.kind == Kind::kDir) return Walk(child, limit);
    if (st.kind == Kind::kSymlink) {
      bad->push_back(BadFile{path, "symlinks are not followed for DNS data"});
      return;
    }
    if (Store::ContentSize(child) > limit) {
      bad->push_back(BadFile{path, "larger than " + std::to_string(limit) + " bytes"});
      return;
    }
    const ViewEntry* by = st.modified ? st.modified : st.head;
    // A hard link's content is its target's: not cached by the link's entry.
    const bool cacheable = cache && st.kind == Kind::kFile && by;
    if (cacheable) {
      if (const SharedSource* known = cache->Find(path, st.content->hash, by->hash)) {
        out.push_back(*known);
        return;
      }
    }
    // A file's content straight from its entry; a hard link by its path.
    auto content = st.kind == Kind::kFile ? store.ReadContent(st.content) : store.ReadFile(path);
    if (!content.ok()) {
      // Blocks still on their way: the file appears once they arrive.
      if (content.status().code() != Code::kNotFound) bad->push_back(BadFile{path, content.status().message()});
      return;
    }
    auto file = std::make_shared<const SourceFile>(
        SourceFile{path, by ? ToBase64(by->entry.author) : "", std::move(content).value()});
    if (cacheable) cache->Put(path, st.content->hash, by->hash, file);
    out.push_back(std::move(file));
  }
};

}  // namespace

const SharedSource* SourceCache::Find(const std::string& path, const Hash& content, const Hash& author) {
  auto it = slots_.find(path);
  if (it == slots_.end() || it->second.content != content || it->second.author != author) return nullptr;
  it->second.used = true;
  return &it->second.file;
}

void SourceCache::Put(const std::string& path, const Hash& content, const Hash& author, SharedSource file) {
  slots_[path] = Slot{content, author, std::move(file), true};
}

void SourceCache::Sweep() {
  for (auto it = slots_.begin(); it != slots_.end();) {
    if (!it->second.used) {
      it = slots_.erase(it);
    } else {
      it->second.used = false;
      ++it;
    }
  }
}

std::vector<SharedSource> CollectSharedSources(const Store& store, std::vector<BadFile>* bad, SourceCache* cache) {
  Walker w{store, bad, cache, {}, false, {}};
  if (cache) w.out.reserve(cache->size() + 16);
  for (const auto& [top, limit] : {std::pair<const char*, size_t>{"/services", kMaxServiceFileBytes},
                                   std::pair<const char*, size_t>{"/zones", kMaxZoneFileBytes}}) {
    auto dir = store.Stat(top);
    if (!dir.ok() || (*dir)->state().kind != Kind::kDir || w.truncated) continue;
    w.path = top;
    w.Walk(*dir, limit);
  }
  if (w.truncated)
    bad->push_back(BadFile{w.out.back()->path, "more than " + std::to_string(kMaxSourceFiles) +
                                                   " files under /services and /zones: the files after this one "
                                                   "are not served"});
  if (cache) cache->Sweep();
  return std::move(w.out);
}

std::vector<SourceFile> CollectSources(const Store& store, std::vector<BadFile>* bad) {
  std::vector<SourceFile> out;
  for (const SharedSource& f : CollectSharedSources(store, bad)) out.push_back(*f);
  return out;
}

}  // namespace basefs
