// HardLinks: the mount's index of the hard links in the view, both ways.
//
// A hard link is a `link` entry naming its target by path (the log has no
// inode, docs/decisions.md). The mount needs to know, for a path, which
// links name it: before a file goes (unlink, a rename over it) those links
// become copies of its content (DetachLinksTo), and a change of the file
// stales the cached pages of each link, which is another inode to the
// kernel. The index is filled from the view at mount (FindBelow) and kept
// right from the store's change listener (Track).
//
// Invariants: `links_` maps each known link path to the path it names, and
// `links_to_` is exactly its inverse: a target is present only while at
// least one link names it (no empty sets).
//
// Thread-safety: none; the FUSE loop thread owns it (the store is not
// thread-safe either).
#pragma once

#include <map>
#include <set>
#include <string>

#include "store/store.h"

namespace basefs {

class HardLinks {
 public:
  // `store` must outlive the index.
  explicit HardLinks(Store* store) : store_(store) {}
  HardLinks(const HardLinks&) = delete;
  HardLinks& operator=(const HardLinks&) = delete;

  // The node a hard link resolves to, following links to links for a few
  // hops (itself for anything else; null when the target is missing).
  static const PathNode* Resolve(const Store& store, const PathNode* n);
  // Where content written at `path` goes: a hard link's target (followed),
  // so the link stays a link and the other names see it; `path` otherwise.
  static std::string ContentPath(const Store& store, const std::string& path);

  // Records `link` as naming `target` (null: not a link any more).
  void Set(const std::string& link, const std::string* target);
  // Takes what the view now says about `path` (a link or not).
  void Track(const std::string& path);
  // Records every link below `node` (at mount, from the root).
  void FindBelow(const PathNode* node);

  // Before the file at `path` goes: the links that name it are written as
  // copies of its content (and executable bit), signed with `key`.
  void DetachLinksTo(const KeyPair& key, const std::string& path);

  bool IsLink(const std::string& path) const { return links_.count(path) != 0; }
  // The links that name `target`, or null if none.
  const std::set<std::string>* LinksTo(const std::string& target) const;
  size_t size() const { return links_.size(); }

 private:
  Store* store_;
  // Paths whose view entry is a hard link, and the path each names (kept
  // from the change listener), and back: what must be preserved before a
  // file they name goes, and whose cached pages a change of it stales.
  std::map<std::string, std::string> links_;
  std::map<std::string, std::set<std::string>> links_to_;
};

}  // namespace basefs
