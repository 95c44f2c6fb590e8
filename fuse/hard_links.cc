#include "fuse/hard_links.h"

#include <iostream>
#include <optional>
#include <vector>

#include "base/log.h"

namespace basefs {

namespace {
constexpr int kMaxLinkHops = 8;
}  // namespace

const PathNode* HardLinks::Resolve(const Store& store, const PathNode* n) {
  for (int hops = 0; n && n->state().kind == Kind::kLink && hops < kMaxLinkHops; ++hops) {
    auto t = store.Stat(n->state().content->entry.content);
    n = t.ok() ? *t : nullptr;
  }
  return n;
}

std::string HardLinks::ContentPath(const Store& store, const std::string& path) {
  if (auto n = store.Stat(path); n.ok() && (*n)->state().kind == Kind::kLink) {
    if (const PathNode* r = Resolve(store, *n)) return r->FullPath();
  }
  return path;
}

void HardLinks::Set(const std::string& link, const std::string* target) {
  if (auto old = links_.find(link); old != links_.end()) {
    if (target && old->second == *target) return;
    auto back = links_to_.find(old->second);
    if (back != links_to_.end() && back->second.erase(link) && back->second.empty()) links_to_.erase(back);
    links_.erase(old);
  }
  if (!target) return;
  links_[link] = *target;
  links_to_[*target].insert(link);
}

void HardLinks::Track(const std::string& path) {
  auto n = store_->Stat(path);
  if (n.ok() && (*n)->state().kind == Kind::kLink)
    Set(path, &(*n)->state().content->entry.content);
  else
    Set(path, nullptr);
}

void HardLinks::FindBelow(const PathNode* node) {
  for (const auto& [name, child] : node->children()) {
    if (!child->exists()) continue;
    if (child->state().kind == Kind::kLink) Set(child->FullPath(), &child->state().content->entry.content);
    if (child->state().kind == Kind::kDir) FindBelow(child.get());
  }
}

const std::set<std::string>* HardLinks::LinksTo(const std::string& target) const {
  auto it = links_to_.find(target);
  return it == links_to_.end() ? nullptr : &it->second;
}

// Before the file at `path` goes: the hard links that name it (a link
// entry names a path, docs/decisions.md) become copies of its content, so
// they keep it, as the other names of a removed file do on a local file
// system (git links a new object, then unlinks its temporary name). Each
// write goes through the store's change listener, which may Track() the
// link again: the links are copied out of the index first.
void HardLinks::DetachLinksTo(const KeyPair& key, const std::string& path) {
  auto named = links_to_.find(path);
  if (named == links_to_.end()) return;
  const std::vector<std::string> links(named->second.begin(), named->second.end());
  std::optional<Result<std::string>> content;
  bool exec = false;
  for (const std::string& link : links) {
    auto n = store_->Stat(link);
    if (!n.ok() || (*n)->state().kind != Kind::kLink || (*n)->state().content->entry.content != path) {
      Track(link);  // out of date: take what the view says
      continue;
    }
    if (!content) {
      content = store_->ReadFile(path);
      auto target = store_->Stat(path);
      const PathNode* r = target.ok() ? Resolve(*store_, *target) : nullptr;
      exec = r && r->state().exec;
    }
    if (!content->ok()) return;
    Status st = store_->WriteFile(key, link, **content);
    if (st.ok() && exec) st = store_->SetExec(key, link, true);
    if (!st.ok()) LogError("{} links to {}, which goes, and could not keep its content: {}", link, path, st.message());
    Set(link, nullptr);
  }
}

}  // namespace basefs
