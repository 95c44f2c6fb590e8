#include "store/view.h"

#include <algorithm>
#include <climits>
#include <cstring>

namespace basefs {

const char* KindName(Kind k) {
  switch (k) {
    case Kind::kDir: return "dir";
    case Kind::kFile: return "file";
    case Kind::kSymlink: return "symlink";
    case Kind::kLink: return "link";
    case Kind::kNone: return "none";
  }
  return "none";
}

namespace {

// Folds one entry (anything but a revert, which needs the earlier states)
// into a path's state and grants. A revoke erases the grant, so that equal
// permissions compare equal.
// After `ve` took a path from `before` to `s`: whether it created or
// deleted it.
void NotePresence(Kind before, NodeState* s, const ViewEntry* ve) {
  if ((before == Kind::kNone) != (s->kind == Kind::kNone)) s->presence = ve;
}

void Step(NodeState* st, std::map<PublicKey, bool>* grants, const ViewEntry* ve) {
  NodeState& s = *st;
  const Entry& e = ve->entry;
  const Kind before = s.kind;
  const ViewEntry* presence = s.presence;
  switch (e.action) {
    case Action::kMkdir:
      if (s.kind != Kind::kDir) s = NodeState{.kind = Kind::kDir, .modified = ve};
      break;
    case Action::kWrite:
      if (ve->complete) {
        // A new content keeps the attributes of the file it replaces; its
        // time is the write's own.
        NodeState next{.kind = Kind::kFile, .content = ve, .modified = ve};
        if (s.kind == Kind::kFile) {
          next.exec = s.exec;
          next.perm = s.perm;
          next.owner = s.owner;
          next.group = s.group;
        }
        s = next;
      }
      break;
    case Action::kDelete: s = NodeState{.modified = ve}; break;
    case Action::kGrant: (*grants)[e.ContentHash()] = true; break;
    case Action::kRevoke: grants->erase(e.ContentHash()); break;
    case Action::kAck:
    case Action::kRevert: break;
    case Action::kLink: s = NodeState{.kind = Kind::kLink, .content = ve, .modified = ve}; break;
    case Action::kSlink: s = NodeState{.kind = Kind::kSymlink, .content = ve, .modified = ve}; break;
    case Action::kMode:
      if (s.kind == Kind::kFile || s.kind == Kind::kDir) {
        s.exec = e.content[0] == 1;
        // With stored bits: +x where reading is allowed, or -x for all.
        if (s.perm >= 0) s.perm = s.exec ? s.perm | ((s.perm & 0444) >> 2) : s.perm & ~0111;
        s.modified = ve;
      }
      break;
    case Action::kAttr:
      if (s.kind == Kind::kFile || s.kind == Kind::kDir) {
        auto change = DecodeAttrs(e.content);
        if (!change.ok()) break;  // never stored: ValidateFields decodes it first
        if (change->reset) {
          s.perm = -1;
          s.owner = s.group = s.mtime = nullptr;
        }
        if (change->mode) {
          s.perm = *change->mode & (s.kind == Kind::kDir ? kStoredModeBits : 0777);
          s.exec = (s.perm & 0100) != 0;
        }
        if (change->owner) s.owner = ve;
        if (change->group) s.group = ve;
        if (change->mtime) s.mtime = ve;
      }
      break;
  }
  s.presence = presence;
  NotePresence(before, &s, ve);
  s.head = ve;
}

uint64_t HeadMs(const PathNode* n) { return n->chain().empty() ? 0 : n->chain().back()->entry.timestamp_ms; }
uint64_t PresenceMs(const PathNode* n) {
  const ViewEntry* p = n->state().presence;
  return p ? p->entry.timestamp_ms : 0;
}

Mtime FromMs(uint64_t ms) {
  return Mtime{static_cast<int64_t>(ms / 1000), static_cast<uint32_t>((ms % 1000) * 1000000)};
}

}  // namespace

std::string PathNode::FullPath() const {
  if (!parent_) return "/";
  std::vector<const PathNode*> parts;
  for (const PathNode* n = this; n->parent_; n = n->parent_) parts.push_back(n);
  std::string out;
  for (auto it = parts.rbegin(); it != parts.rend(); ++it) {
    out.push_back('/');
    out.append((*it)->name_);
  }
  return out;
}

StoredAttrs PathNode::Attrs() const {
  StoredAttrs a;
  const NodeState& s = state_;
  if (s.perm >= 0) a.perm = static_cast<uint16_t>(s.perm);
  if (s.owner) a.owner = DecodeAttrs(s.owner->entry.content)->owner;
  if (s.group) a.group = DecodeAttrs(s.group->entry.content)->group;
  uint64_t content_ms = s.modified ? s.modified->entry.timestamp_ms : HeadMs(this);
  uint64_t changed_ms = HeadMs(this);
  if (s.kind == Kind::kDir) {
    content_ms = std::max(content_ms, entries_changed_ms());
    changed_ms = std::max(changed_ms, entries_changed_ms());
  }
  // A time a tool set stands until the next change of the content.
  if (s.mtime && s.mtime->entry.timestamp_ms >= content_ms)
    a.mtime = *DecodeAttrs(s.mtime->entry.content)->mtime;
  else
    a.mtime = FromMs(content_ms);
  a.changed = FromMs(changed_ms);
  return a;
}

AttrChange StoredAttrs::Copy() const {
  AttrChange c;
  c.reset = true;
  c.mode = perm;
  c.owner = owner;
  c.group = group;
  c.mtime = mtime;
  return c;
}

View::View(BlockLookup lookup) : lookup_(std::move(lookup)) {}
View::~View() = default;

const ViewEntry* View::Find(const Hash& h) const {
  auto it = by_hash_.find(h);
  return it == by_hash_.end() ? nullptr : it->second.get();
}

Result<Placement> View::Classify(const Entry& e, const Hash& h) const {
  if (by_hash_.count(h)) return Placement::kDuplicate;
  if (e.IsGenesis()) {
    if (root_) return Invalid("a second genesis entry for this filesystem");
    return Placement::kReady;
  }
  if (!root_) return Placement::kMissingParent;
  auto it = by_hash_.find(e.parent);
  if (it == by_hash_.end()) return Placement::kMissingParent;
  const ViewEntry* parent = it->second.get();
  if (e.relation == Relation::kRevision) {
    if (parent->entry.name != e.name) return Invalid("a revision must keep its parent's name");
  } else {
    size_t len = 0;
    for (const PathNode* n = parent->path; n->parent_; n = n->parent_) len += 1 + n->name_.size();
    if (len + 1 + e.name.size() > kMaxPathBytes) return Status(Code::kTooLarge, "path longer than 4096 bytes");
  }
  if (e.author != root_key_ && !known_authors_.count(e.author)) return Placement::kUnknownAuthor;
  return Placement::kReady;
}

bool View::AuthorizedBelow(const PublicKey& author, const PathNode* dir) const {
  if (author == root_key_) return true;
  for (const PathNode* a = dir; a; a = a->parent_) {
    auto it = a->grants_.find(author);
    if (it != a->grants_.end() && it->second) return true;
  }
  return false;
}

int View::AuthorityLevel(const PublicKey& author, const PathNode* node) const {
  if (author == root_key_) return -1;
  int level = INT_MAX;
  for (const PathNode* a = node->parent_; a; a = a->parent_) {
    auto it = a->grants_.find(author);
    if (it != a->grants_.end() && it->second) level = a->depth_;
  }
  return level;
}

bool View::CheckComplete(const ViewEntry* ve) const {
  const Entry& e = ve->entry;
  if (e.action != Action::kWrite || e.IsInline()) return true;
  // Complete: every block stored, well formed, and adding up to the size.
  // A malformed tree is never complete, whatever order its blocks came in.
  const TreeInfo info = InspectTree(e.ContentHash(), lookup_);
  return info.status.ok() && info.complete && info.size == e.size;
}

std::vector<Change> View::Apply(const Entry& e, const Hash& h) {
  assert(!by_hash_.count(h) && "Apply of an entry already in the view");
  auto owned = std::make_unique<ViewEntry>();
  ViewEntry* ve = owned.get();
  ve->entry = e;
  ve->hash = h;
  PathNode* node = nullptr;
  bool fast = false;
  if (e.IsGenesis()) {
    assert(!root_);
    root_ = std::make_unique<PathNode>();
    root_->name_ = e.name;
    root_key_ = e.author;
    genesis_ = h;
    node = root_.get();
    node->roots_.push_back(ve);
    ++path_count_;
  } else {
    ViewEntry* parent = by_hash_.at(e.parent).get();
    if (e.relation == Relation::kChild) {
      PathNode* dir = parent->path;
      auto it = dir->children_.find(e.name);
      if (it == dir->children_.end()) {
        auto child = std::make_unique<PathNode>();
        child->name_ = e.name;
        child->name_hash_ = HashBytes(e.name);
        child->parent_ = dir;
        child->depth_ = dir->depth_ + 1;
        it = dir->children_.emplace(e.name, std::move(child)).first;
        ++path_count_;
      }
      node = it->second.get();
      node->roots_.push_back(ve);
    } else {
      node = parent->path;
      ve->parent = parent;
      parent->revisions.push_back(ve);
      fast = !node->chain_.empty() && node->chain_.back() == parent;
    }
  }
  ve->path = node;
  node->entries_.push_back(ve);
  by_hash_.emplace(h, std::move(owned));
  if (e.action == Action::kGrant || e.action == Action::kRevoke) known_authors_.insert(e.ContentHash());
  ve->complete = CheckComplete(ve);
  if (!ve->complete) incomplete_.emplace(h, ve);

  std::vector<Change> changes;
  // Fast path: an authorized, complete entry appended to the current head
  // only strengthens the winning branch at every fork above it, so the chain
  // just grows by one. Reverts need the states along the chain: recompute.
  fast = fast && ve->complete && e.action != Action::kRevert && Authorized(e.author, node);
  const auto old_grants = node->grants_;
  if (fast) {
    const NodeState before = node->state_;
    const uint64_t before_ms = PresenceMs(node);
    ve->authorized = ve->effective = ve->on_chain = true;
    node->chain_.push_back(ve);
    Step(&node->state_, &node->grants_, ve);
    HeadMoved(node, before_ms);
    if (!(before == node->state_) || e.action == Action::kGrant || e.action == Action::kRevoke)
      changes.push_back({node->FullPath(), e.action});
  } else {
    Recompute(node, &changes, e.action);
  }
  if (node->grants_ != old_grants) {
    for (auto& [name, child] : node->children_) RecomputeSubtree(child.get(), &changes, e.action);
  }
  MarkDirty(node);
  return changes;
}

std::vector<Change> View::RecheckComplete(const Hash& entry_hash) {
  std::vector<Change> changes;
  auto it = incomplete_.find(entry_hash);
  if (it == incomplete_.end()) return changes;
  ViewEntry* ve = it->second;
  if (!CheckComplete(ve)) return changes;
  ve->complete = true;
  incomplete_.erase(it);
  Recompute(ve->path, &changes, Action::kWrite);
  return changes;
}

void View::RecomputeSubtree(PathNode* node, std::vector<Change>* changes, Action cause) {
  // Pre-order, so each directory's grants are final before its children use them.
  std::vector<PathNode*> stack{node};
  while (!stack.empty()) {
    PathNode* n = stack.back();
    stack.pop_back();
    Recompute(n, changes, cause);
    for (auto& [name, child] : n->children_) stack.push_back(child.get());
  }
}

void View::Recompute(PathNode* node, std::vector<Change>* changes, Action cause) {
  const NodeState before = node->state_;
  const uint64_t before_ms = PresenceMs(node);
  const auto grants_before = node->grants_;

  // Authority per author, once per recomputation.
  std::map<PublicKey, int> level_cache;
  auto level_of = [&](const PublicKey& k) {
    auto [it, inserted] = level_cache.emplace(k, 0);
    if (inserted) it->second = AuthorityLevel(k, node);
    return it->second;
  };

  // Pre-order list of the revision forest (iterative: histories can be long).
  std::vector<ViewEntry*> order;
  order.reserve(node->entries_.size());
  {
    std::vector<ViewEntry*> stack(node->roots_.rbegin(), node->roots_.rend());
    while (!stack.empty()) {
      ViewEntry* e = stack.back();
      stack.pop_back();
      order.push_back(e);
      for (auto it = e->revisions.rbegin(); it != e->revisions.rend(); ++it) stack.push_back(*it);
    }
  }
  assert(order.size() == node->entries_.size());

  // Post-order aggregation: effectiveness, best authority and contributors.
  struct Agg {
    int best = INT_MAX;
    size_t contributors = 0;      // |authors| at the time it was computed
    std::set<PublicKey> authors;  // may be moved to the parent afterwards
  };
  std::unordered_map<const ViewEntry*, Agg> agg;
  agg.reserve(order.size());
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    ViewEntry* e = *it;
    e->on_chain = false;
    const int lvl = level_of(e->entry.author);
    e->authorized = lvl != INT_MAX;
    bool vouched = false;
    Agg a;
    // Small-to-large: adopt the largest child's set, merge the others in, so
    // a long history costs O(n log n), not O(n * authors).
    ViewEntry* largest = nullptr;
    for (ViewEntry* r : e->revisions) {
      if (!r->effective) continue;
      vouched = true;
      const Agg& ra = agg.at(r);
      a.best = std::min(a.best, ra.best);
      if (!largest || ra.authors.size() > agg.at(largest).authors.size()) largest = r;
    }
    if (largest) a.authors = std::move(agg.at(largest).authors);
    for (ViewEntry* r : e->revisions) {
      if (!r->effective || r == largest) continue;
      const Agg& ra = agg.at(r);
      a.authors.insert(ra.authors.begin(), ra.authors.end());
    }
    e->effective = e->authorized || vouched;
    if (e->effective) {
      a.best = std::min(a.best, lvl);
      a.authors.insert(e->entry.author);
    }
    a.contributors = a.authors.size();
    agg[e] = std::move(a);
  }

  // Select the chain: at each fork, best authority, then most contributors,
  // then greatest hash.
  node->chain_.clear();
  const std::vector<ViewEntry*>* candidates = &node->roots_;
  while (true) {
    ViewEntry* best = nullptr;
    for (ViewEntry* c : *candidates) {
      if (!c->effective) continue;
      if (!best) {
        best = c;
        continue;
      }
      const Agg& ca = agg.at(c);
      const Agg& ba = agg.at(best);
      if (ca.best != ba.best) {
        if (ca.best < ba.best) best = c;
      } else if (ca.contributors != ba.contributors) {
        if (ca.contributors > ba.contributors) best = c;
      } else if (c->hash > best->hash) {
        best = c;
      }
    }
    if (!best) break;
    best->on_chain = true;
    node->chain_.push_back(best);
    candidates = &best->revisions;
  }
  Fold(node);
  HeadMoved(node, before_ms);
  if (!(before == node->state_) || grants_before != node->grants_) changes->push_back({node->FullPath(), cause});
  MarkDirty(node);
}

namespace {

// The state the first `n` entries of `chain` fold to, and their grants.
NodeState FoldChain(const std::vector<ViewEntry*>& chain, size_t n, std::map<PublicKey, bool>* grants) {
  NodeState s;
  std::vector<NodeState> states;
  states.reserve(n);
  std::unordered_map<Hash, size_t, HashHasher> index;
  for (size_t i = 0; i < n; ++i) {
    const ViewEntry* ve = chain[i];
    const Entry& e = ve->entry;
    const Kind before = s.kind;
    const ViewEntry* presence = s.presence;
    if (e.action == Action::kRevert) {
      auto it = index.find(e.ContentHash());
      if (it != index.end()) {
        s = states[it->second];
        s.modified = ve;
        s.presence = presence;
        NotePresence(before, &s, ve);
      }
    } else {
      Step(&s, grants, ve);
    }
    s.head = ve;
    index.emplace(ve->hash, i);
    states.push_back(s);
  }
  return s;
}

}  // namespace

void View::Fold(PathNode* node) {
  std::map<PublicKey, bool> grants;
  node->state_ = FoldChain(node->chain_, node->chain_.size(), &grants);
  node->grants_ = std::move(grants);
}

NodeState View::StateBefore(const PathNode* node, size_t n) const {
  std::map<PublicKey, bool> grants;
  return FoldChain(node->chain_, std::min(n, node->chain_.size()), &grants);
}

void View::HeadMoved(PathNode* node, uint64_t before_ms) {
  PathNode* dir = node->parent_;
  if (!dir || dir->entries_time_stale_) return;  // rescanned when asked
  const uint64_t now = PresenceMs(node);
  if (now >= dir->entries_changed_ms_) {
    dir->entries_changed_ms_ = now;
    return;
  }
  // The latest went back (another branch won): rescan, once, when asked
  // (a grant change recomputes every child: no rescan per child).
  if (before_ms >= dir->entries_changed_ms_) dir->entries_time_stale_ = true;
}

uint64_t PathNode::entries_changed_ms() const {
  if (entries_time_stale_) {
    uint64_t latest = 0;
    for (const auto& [name, child] : children_) latest = std::max(latest, PresenceMs(child.get()));
    entries_changed_ms_ = latest;
    entries_time_stale_ = false;
  }
  return entries_changed_ms_;
}

void View::MarkDirty(PathNode* node) {
  // Invariant: every ancestor of a dirty node is dirty, so the walk may stop
  // at the first dirty ancestor. The node itself may already be dirty (a new
  // path starts dirty) while its parent is not: always start at the parent.
  node->digest_dirty_ = true;
  for (PathNode* n = node->parent_; n && !n->digest_dirty_; n = n->parent_) n->digest_dirty_ = true;
}

Hash View::Digest(const PathNode* node) const {
  if (!node->digest_dirty_) return node->digest_;
  Hasher hasher;
  hasher.Update(std::string_view("basefs-digest-v1"));
  std::vector<Hash> hashes;
  hashes.reserve(node->entries_.size());
  for (const ViewEntry* e : node->entries_) hashes.push_back(e->hash);
  std::sort(hashes.begin(), hashes.end());
  auto put_u32 = [&](uint32_t v) {
    char b[4] = {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
                 static_cast<char>(v)};
    hasher.Update(std::string_view(b, 4));
  };
  put_u32(static_cast<uint32_t>(hashes.size()));
  for (const Hash& h : hashes) hasher.Update(h);
  put_u32(static_cast<uint32_t>(node->children_.size()));
  for (const auto& [name, child] : node->children_) {
    put_u32(static_cast<uint32_t>(name.size()));
    hasher.Update(name);
    hasher.Update(Digest(child.get()));
  }
  node->digest_ = hasher.Finish();
  node->digest_dirty_ = false;
  return node->digest_;
}

const PathNode* View::Walk(std::string_view path, bool through_directories) const {
  if (!root_) return nullptr;
  const PathNode* n = root_.get();
  size_t pos = 0;
  while (pos < path.size()) {
    while (pos < path.size() && path[pos] == '/') ++pos;
    if (pos >= path.size()) break;
    size_t end = path.find('/', pos);
    if (end == std::string_view::npos) end = path.size();
    if (through_directories && n->state_.kind != Kind::kDir) return nullptr;
    auto it = n->children_.find(path.substr(pos, end - pos));
    if (it == n->children_.end()) return nullptr;
    n = it->second.get();
    pos = end;
  }
  return n;
}

}  // namespace basefs
