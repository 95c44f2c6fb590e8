// HardLinks: the mount's index of the hard links in the view, both ways.
//
// A hard link is a `link` entry naming its target by path (the log has no
// inode, docs/decisions.md); the mount gives every name of a file the
// file's inode. It needs to know, for a path, which links name it: their
// count is the file's st_nlink; before the file goes (unlink, a rename
// over it) one link becomes the file and the others name it
// (RehomeLinksTo); when it moves they follow (RetargetLinks); and a change
// of the file stales the cached pages of a link the kernel still holds as
// an inode of its own (looked up before it was a link). The index is filled from the view at mount (FindBelow) and kept
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
#include <optional>
#include <set>
#include <string>
#include <vector>

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

  // Before the file at `path` goes (unlink, a rename over it): the first
  // link that names it becomes the file (content, executable bit,
  // attributes, mtime) and the others name that one, signed with `key`.
  // Returns that new home, or nullopt when no link names `path` (or the
  // content could not be written: logged).
  std::optional<std::string> RehomeLinksTo(const KeyPair& key, const std::string& path);
  // After the file at `from` moved to `to`: the links that named it name
  // `to`.
  void RetargetLinks(const KeyPair& key, const std::string& from, const std::string& to);
  // How many links name `path` (its link count is one more).
  size_t CountTo(const std::string& path) const {
    auto it = links_to_.find(path);
    return it == links_to_.end() ? 0 : it->second.size();
  }

  bool IsLink(const std::string& path) const { return links_.count(path) != 0; }
  // The path the link at `link` names, or null.
  const std::string* TargetOf(const std::string& link) const {
    auto it = links_.find(link);
    return it == links_.end() ? nullptr : &it->second;
  }
  // The links that name `target`, or null if none.
  const std::set<std::string>* LinksTo(const std::string& target) const;
  size_t size() const { return links_.size(); }

 private:
  // The links the index has for `path` that the view still agrees name it.
  std::vector<std::string> CurrentLinksTo(const std::string& path);
  void RetargetLinks(const KeyPair& key, const std::vector<std::string>& links, const std::string& to);

  Store* store_;
  // Paths whose view entry is a hard link, and the path each names (kept
  // from the change listener), and back: what must be preserved before a
  // file they name goes, and whose cached pages a change of it stales.
  std::map<std::string, std::string> links_;
  std::map<std::string, std::set<std::string>> links_to_;
};

}  // namespace basefs
