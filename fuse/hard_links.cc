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

std::vector<std::string> HardLinks::CurrentLinksTo(const std::string& path) {
  auto named = links_to_.find(path);
  if (named == links_to_.end()) return {};
  // Copied out of the index: each write below goes through the store's
  // change listener, which may Track() the link again.
  const std::vector<std::string> links(named->second.begin(), named->second.end());
  std::vector<std::string> current;
  for (const std::string& link : links) {
    auto n = store_->Stat(link);
    if (!n.ok() || (*n)->state().kind != Kind::kLink || (*n)->state().content->entry.content != path) {
      Track(link);  // out of date: take what the view says
      continue;
    }
    current.push_back(link);
  }
  return current;
}

// Before the file at `path` goes: the first hard link that names it (a
// link entry names a path, docs/decisions.md) becomes the file — its
// content, executable bit, attributes and mtime — and the other links
// name that one, so every other name keeps the file, as on a local file
// system (git links a new object, then unlinks its temporary name).
std::optional<std::string> HardLinks::RehomeLinksTo(const KeyPair& key, const std::string& path) {
  const std::vector<std::string> links = CurrentLinksTo(path);
  if (links.empty()) return std::nullopt;
  auto file = store_->Stat(path);
  auto content = store_->ReadFile(path);
  if (!file.ok() || !content.ok()) return std::nullopt;
  const AttrChange attrs = (*file)->Attrs().Copy();
  const std::string& home = links.front();
  Status st = store_->WriteFile(key, home, *content, attrs, (*file)->state().exec);
  if (!st.ok()) {
    LogError("{} links to {}, which goes, and could not keep its content: {}", home, path, st.message());
    return std::nullopt;
  }
  Set(home, nullptr);
  RetargetLinks(key, links, home);
  return home;
}

void HardLinks::RetargetLinks(const KeyPair& key, const std::string& from, const std::string& to) {
  RetargetLinks(key, CurrentLinksTo(from), to);
}

void HardLinks::RetargetLinks(const KeyPair& key, const std::vector<std::string>& links, const std::string& to) {
  for (const std::string& link : links) {
    if (link == to) continue;
    Status st = store_->Link(key, link, to, /*retarget=*/true);
    if (!st.ok()) LogError("{} could not follow its file to {}: {}", link, to, st.message());
    Track(link);
  }
}

}  // namespace basefs
