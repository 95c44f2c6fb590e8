#include "zones/sources.h"

#include "store/crypto.h"

namespace basefs {
namespace {

void Walk(const Store& store, const PathNode* node, size_t limit, std::vector<SourceFile>* out,
          std::vector<BadFile>* bad, bool* truncated) {
  for (const auto& [name, child] : node->children()) {
    if (!child->exists()) continue;
    if (out->size() >= kMaxSourceFiles) {
      *truncated = true;
      return;
    }
    const NodeState& st = child->state();
    if (st.kind == Kind::kDir) {
      Walk(store, child.get(), limit, out, bad, truncated);
      continue;
    }
    const std::string path = child->FullPath();
    if (st.kind == Kind::kSymlink) {
      bad->push_back(BadFile{path, "symlinks are not followed for DNS data"});
      continue;
    }
    if (Store::ContentSize(child.get()) > limit) {
      bad->push_back(BadFile{path, "larger than " + std::to_string(limit) + " bytes"});
      continue;
    }
    // A file's content straight from its entry; a hard link by its path.
    auto content = st.kind == Kind::kFile ? store.ReadContent(st.content) : store.ReadFile(path);
    if (!content.ok()) {
      // Blocks still on their way: the file appears once they arrive.
      if (content.status().code() != Code::kNotFound) bad->push_back(BadFile{path, content.status().message()});
      continue;
    }
    const ViewEntry* by = st.modified ? st.modified : st.head;
    out->push_back(SourceFile{path, by ? ToBase64(by->entry.author) : "", std::move(content).value()});
  }
}

}  // namespace

std::vector<SourceFile> CollectSources(const Store& store, std::vector<BadFile>* bad) {
  std::vector<SourceFile> out;
  bool truncated = false;
  if (auto s = store.Stat("/services"); s.ok() && (*s)->state().kind == Kind::kDir)
    Walk(store, *s, kMaxServiceFileBytes, &out, bad, &truncated);
  if (auto z = store.Stat("/zones"); z.ok() && (*z)->state().kind == Kind::kDir)
    Walk(store, *z, kMaxZoneFileBytes, &out, bad, &truncated);
  if (truncated)
    bad->push_back(BadFile{out.back().path, "more than " + std::to_string(kMaxSourceFiles) +
                                                " files under /services and /zones: the files after this one are "
                                                "not served"});
  return out;
}

}  // namespace basefs
