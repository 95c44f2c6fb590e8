// View: the tree everyone sees, a pure function of the set of stored entries.
//
// The rules are written out in docs/view_rules.md; in short:
//  - Each entry belongs to a path: the genesis is "/", a kChild entry is
//    parent-path + "/" + name, a kRevision entry is its parent's path.
//  - The entries of one path form a revision tree (several first entries are
//    siblings under a virtual root). An entry is *authorized* if its author
//    is the genesis key or is granted at a strict ancestor of the path; it is
//    *effective* if it is authorized or some authorized entry descends from
//    it in the path's revision tree (an `ack`, or any later write, vouches for
//    what it builds on).
//  - At every fork the winning branch is the one whose effective contributors
//    hold the highest authority (grant nearest the root), then the most
//    distinct contributors, then the greatest hash of the branch's first
//    entry. Following winners from the virtual root gives the path's chain;
//    folding the chain gives the path's state and its grants.
//  - A write whose blocks are not all stored is part of the tree but its
//    content is not applied until they are (the previous content stays).
//
// Apply() updates the view incrementally: an authorized entry appended to the
// current head of its path costs O(depth); anything else recomputes that
// path (O(its history)); a change of a directory's grants recomputes the
// subtree below it. Digests are recomputed lazily, only along dirty paths.
//
// Preconditions: Apply() is called only for entries Classify() accepted, each
// once. Thread-safety: none; one thread owns a View.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "store/attrs.h"
#include "store/chunker.h"
#include "store/entry.h"

namespace basefs {

struct HashHasher {
  size_t operator()(const Hash& h) const {
    size_t v;
    static_assert(sizeof(v) <= sizeof(Hash));
    __builtin_memcpy(&v, h.data(), sizeof(v));
    return v;
  }
};

class PathNode;

// One stored entry as the view holds it.
struct ViewEntry {
  Entry entry;
  Hash hash{};
  PathNode* path = nullptr;
  ViewEntry* parent = nullptr;        // null for first entries of a path
  std::vector<ViewEntry*> revisions;  // later entries of the same path built on this one
  bool complete = true;               // content blocks all stored
  // Derived by the last recomputation of the path:
  bool authorized = false;
  bool effective = false;
  bool on_chain = false;
};

enum class Kind : uint8_t { kNone = 0, kDir, kFile, kSymlink, kLink };
// "dir", "file", "symlink", "link" or "none" (`basefs ls --json`, the console).
const char* KindName(Kind k);

// The state of a path after folding its chain.
struct NodeState {
  Kind kind = Kind::kNone;
  bool exec = false;
  // Stored permission bits (kStoredModeBits) of a file or directory, or -1
  // when none are stored (the mount then shows its default).
  int32_t perm = -1;
  const ViewEntry* content = nullptr;   // write/link/slink entry whose content is current
  const ViewEntry* head = nullptr;      // last entry of the chain
  const ViewEntry* modified = nullptr;  // last entry that changed kind/content/mode
  const ViewEntry* presence = nullptr;  // last entry that created or deleted the path
  // The attr entries that set the stored owner, group and mtime (null:
  // none stored; a content change clears the mtime, which is then the
  // content entry's timestamp).
  const ViewEntry* owner = nullptr;
  const ViewEntry* group = nullptr;
  const ViewEntry* mtime = nullptr;
  bool operator==(const NodeState& o) const {
    return kind == o.kind && exec == o.exec && content == o.content && perm == o.perm && owner == o.owner &&
           group == o.group && mtime == o.mtime;
  }
};

// A path's stored attributes, decoded (docs/view_rules.md §5).
struct StoredAttrs {
  std::optional<uint16_t> perm;
  std::optional<std::string> owner;
  std::optional<std::string> group;
  // Modification time: the one a tool set after the last content change,
  // else the timestamp of the entry that last changed the content (for a
  // directory, or of the latest change of one of its entries, whichever
  // came last).
  Mtime mtime;
  // The time of the last change of any kind (ctime).
  Mtime changed;
  // The attr change that gives another path exactly these attributes and
  // this mtime (a rename, a hard link that becomes the file).
  AttrChange Copy() const;
};

class PathNode {
 public:
  const std::string& name() const { return name_; }
  // BLAKE2b of the name (sync buckets children by it).
  const Hash& name_hash() const { return name_hash_; }
  PathNode* parent() const { return parent_; }
  int depth() const { return depth_; }
  std::string FullPath() const;
  const NodeState& state() const { return state_; }
  bool exists() const { return state_.kind != Kind::kNone; }
  const std::vector<ViewEntry*>& chain() const { return chain_; }
  const std::vector<ViewEntry*>& entries() const { return entries_; }
  const std::vector<ViewEntry*>& roots() const { return roots_; }
  const std::map<std::string, std::unique_ptr<PathNode>, std::less<>>& children() const { return children_; }
  // Keys granted here by the chain and not revoked since (values are true).
  const std::map<PublicKey, bool>& grants() const { return grants_; }
  // The latest time one of this directory's entries was created or
  // deleted (the timestamp of that entry), 0 if never.
  // Kept as entries change; a rescan of the children only after the latest
  // one went back (another branch won), and then once, when asked.
  uint64_t entries_changed_ms() const;
  // The stored attributes, decoded.
  StoredAttrs Attrs() const;

 private:
  friend class View;
  std::string name_;
  Hash name_hash_{};
  PathNode* parent_ = nullptr;
  int depth_ = 0;
  std::map<std::string, std::unique_ptr<PathNode>, std::less<>> children_;
  std::vector<ViewEntry*> entries_;
  std::vector<ViewEntry*> roots_;
  std::vector<ViewEntry*> chain_;
  NodeState state_;
  std::map<PublicKey, bool> grants_;
  mutable uint64_t entries_changed_ms_ = 0;
  mutable bool entries_time_stale_ = false;
  mutable bool digest_dirty_ = true;  // set on every change below; cleared by View::Digest
  mutable Hash digest_{};
};

// What Classify() says about a new entry.
enum class Placement {
  kReady,          // parent and author known: can be stored and applied
  kDuplicate,      // already in the view
  kMissingParent,  // wait for the parent entry
  kUnknownAuthor,  // wait for a grant naming the author
};

// A change to the visible state of a path, for handlers and caches.
struct Change {
  std::string path;
  Action cause;
};

class View {
 public:
  // `has_block` says whether a block is stored (for completeness checks).
  explicit View(BlockLookup lookup);
  ~View();
  View(const View&) = delete;
  View& operator=(const View&) = delete;

  // Checks structure against the entries already applied. Never mutates.
  // Returns an error for an entry that can never be applied (a second
  // genesis, a revision whose name differs from its parent's, a path over
  // kMaxPathBytes).
  Result<Placement> Classify(const Entry& e, const Hash& h) const;

  // Applies an entry Classify() found kReady. Returns the visible changes.
  std::vector<Change> Apply(const Entry& e, const Hash& h);

  // Re-checks completeness of a chunked write after blocks arrived.
  std::vector<Change> RecheckComplete(const Hash& entry_hash);

  const ViewEntry* Find(const Hash& h) const;
  bool has_genesis() const { return root_ != nullptr; }
  const PathNode* root() const { return root_.get(); }
  const PublicKey& root_key() const { return root_key_; }
  const Hash& genesis() const { return genesis_; }
  bool KnowsAuthor(const PublicKey& k) const { return known_authors_.count(k) != 0; }
  size_t entry_count() const { return by_hash_.size(); }
  size_t path_count() const { return path_count_; }

  // Resolves a '/'-separated absolute path through existing directories.
  // Returns the node even if it does not exist (deleted) as long as its
  // parent directories exist; nullptr if a component has never existed.
  const PathNode* Lookup(std::string_view path) const { return Walk(path, true); }

  // The node at a path whatever its state (deleted directories included):
  // the log's tree, as sync compares it. nullptr if no entry names it.
  const PathNode* FindPath(std::string_view path) const { return Walk(path, false); }

  // Whether `author` may write an entry in `node`'s own chain, that is,
  // whether it is granted at `node->parent()` or above.
  bool Authorized(const PublicKey& author, const PathNode* node) const {
    return AuthorizedBelow(author, node->parent());
  }
  // Whether `author` may write entries of paths strictly below `dir` (the
  // genesis key may also write the root's own chain: dir == nullptr).
  bool AuthorizedBelow(const PublicKey& author, const PathNode* dir) const;
  // Authority level of `author` for entries of `node`: -1 for the genesis
  // key, otherwise the depth of the shallowest strict ancestor granting it;
  // INT_MAX when not authorized.
  int AuthorityLevel(const PublicKey& author, const PathNode* node) const;

  // The state `node` had with only the first `n` entries of its chain:
  // what it showed before the later ones (a delete) were applied.
  NodeState StateBefore(const PathNode* node, size_t n) const;

  // The Merkle digest of a path (and so of its subtree); root = whole log.
  Hash Digest(const PathNode* node) const;
  Hash RootDigest() const { return root_ ? Digest(root_.get()) : Hash{}; }

  // Chunked writes waiting for blocks.
  const std::unordered_map<Hash, ViewEntry*, HashHasher>& incomplete() const { return incomplete_; }

 private:
  // Follows a '/'-separated path from the root; with `through_directories`
  // every component on the way must currently be a directory.
  const PathNode* Walk(std::string_view path, bool through_directories) const;
  void Recompute(PathNode* node, std::vector<Change>* changes, Action cause);
  void RecomputeSubtree(PathNode* node, std::vector<Change>* changes, Action cause);
  void Fold(PathNode* node);
  // Keeps the parent's entries_changed_ms() after `node`'s last creation or
  // deletion moved from one with timestamp `before_ms` (0: none).
  static void HeadMoved(PathNode* node, uint64_t before_ms);
  void MarkDirty(PathNode* node);
  bool CheckComplete(const ViewEntry* ve) const;

  BlockLookup lookup_;
  std::unique_ptr<PathNode> root_;
  PublicKey root_key_{};
  Hash genesis_{};
  std::unordered_map<Hash, std::unique_ptr<ViewEntry>, HashHasher> by_hash_;
  std::set<PublicKey> known_authors_;
  std::unordered_map<Hash, ViewEntry*, HashHasher> incomplete_;
  size_t path_count_ = 0;
};

}  // namespace basefs
