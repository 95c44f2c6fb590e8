#include "store/store.h"

#include <algorithm>
#include <cstring>

namespace basefs {
namespace {

const char kNameMeta[] = "name";

Hash KeyAsHash(const PublicKey& k) {
  Hash h;
  std::memcpy(h.data(), k.data(), h.size());
  return h;
}

std::string KeyB64(const PublicKey& k) { return ToBase64(k); }

}  // namespace

Result<std::string> NormalizePath(std::string_view path) {
  if (path.empty() || path[0] != '/')
    return Invalid("path must be absolute (start with '/'): '" + std::string(path) + "'");
  std::string out;
  size_t pos = 0;
  while (pos < path.size()) {
    while (pos < path.size() && path[pos] == '/') ++pos;
    if (pos >= path.size()) break;
    size_t end = path.find('/', pos);
    if (end == std::string_view::npos) end = path.size();
    std::string_view comp = path.substr(pos, end - pos);
    Status st = ValidateName(comp);
    if (!st.ok()) return Status(st.code(), "bad path '" + std::string(path) + "': " + st.message());
    out.push_back('/');
    out.append(comp);
    pos = end;
  }
  if (out.size() > kMaxPathBytes) return Status(Code::kTooLarge, "path longer than 4096 bytes");
  return out.empty() ? std::string("/") : out;
}

Store::Store(std::unique_ptr<LogStore> log, StoreOptions options) : log_(std::move(log)), options_(std::move(options)) {
  assert(options_.now_ms);
  const LogStore* ls = log_.get();
  view_ = std::make_unique<View>([ls](const Hash& h) { return ls->GetBlock(h); });
}

Store::~Store() = default;

Result<std::unique_ptr<Store>> Store::Open(const std::string& dir, StoreOptions options) {
  BASEFS_ASSIGN_OR_RETURN(auto log, LogStore::Open(dir, false, options.env));
  std::unique_ptr<Store> store(new Store(std::move(log), std::move(options)));
  BASEFS_RETURN_IF_ERROR(store->Replay());
  if (!store->view_->has_genesis()) return Corrupt("store " + dir + " holds no filesystem");
  store->name_ = store->log_->GetMeta(kNameMeta).value_or(store->view_->root()->name());
  return store;
}

Result<std::unique_ptr<Store>> Store::Create(const std::string& dir, const KeyPair& root, std::string_view fs_name,
                                             std::string_view cluster_toml, StoreOptions options) {
  BASEFS_RETURN_IF_ERROR(ValidateName(fs_name));
  BASEFS_ASSIGN_OR_RETURN(auto log, LogStore::Open(dir, true, options.env));
  if (log->entry_count() != 0) return Status(Code::kExists, "a filesystem already exists in " + dir);
  std::unique_ptr<Store> store(new Store(std::move(log), std::move(options)));
  store->name_ = std::string(fs_name);
  Pending genesis = store->MakeEntryAfter(root, Hash{}, Relation::kChild, Action::kMkdir, std::string(fs_name), 0, "");
  std::vector<Pending> batch{genesis};
  std::vector<Block> blocks;
  if (!cluster_toml.empty()) {
    if (cluster_toml.size() > kMaxInlineBytes) {
      ChunkedContent cc = ChunkContent(cluster_toml);
      blocks = std::move(cc.blocks);
      batch.push_back(store->MakeEntryAfter(root, genesis.hash, Relation::kChild, Action::kWrite, ".cluster",
                                            cluster_toml.size(), std::string(AsView(cc.root))));
    } else {
      batch.push_back(store->MakeEntryAfter(root, genesis.hash, Relation::kChild, Action::kWrite, ".cluster",
                                            cluster_toml.size(), std::string(cluster_toml)));
    }
  }
  BASEFS_RETURN_IF_ERROR(store->Commit(std::move(batch), blocks, /*sync=*/true, /*local=*/true));
  BASEFS_RETURN_IF_ERROR(store->log_->PutMeta(kNameMeta, store->name_));
  return store;
}

Result<std::unique_ptr<Store>> Store::CreateReplica(const std::string& dir, std::string_view genesis_bytes,
                                                    StoreOptions options) {
  BASEFS_ASSIGN_OR_RETURN(Entry genesis, DecodeEntry(genesis_bytes, kMaxRemoteFileBytes));
  if (!genesis.IsGenesis()) return Invalid("not a genesis entry");
  BASEFS_ASSIGN_OR_RETURN(auto log, LogStore::Open(dir, true, options.env));
  if (log->entry_count() != 0) return Status(Code::kExists, "a filesystem already exists in " + dir);
  std::unique_ptr<Store> store(new Store(std::move(log), std::move(options)));
  store->name_ = genesis.name;
  BASEFS_RETURN_IF_ERROR(store->log_->PutMeta(kNameMeta, store->name_));
  const Hash h = HashBytes(genesis_bytes);
  BASEFS_RETURN_IF_ERROR(store->Commit({{std::move(genesis), h}}, {}, /*sync=*/true, /*local=*/false));
  return store;
}

Status Store::Replay() {
  return log_->ForEachEntry([this](const Hash& h, const std::string& bytes) -> Status {
    if (HashBytes(bytes) != h) return Corrupt("stored entry " + ToHex(h) + " does not match its hash");
    // Entries were verified before they were stored; the hash check above
    // catches disk corruption, so the signature need not be checked again.
    auto e = DecodeEntry(bytes, UINT64_MAX, /*check_signature=*/false);
    if (!e.ok()) return Corrupt("stored entry " + ToHex(h) + ": " + e.status().message());
    auto placement = view_->Classify(*e, h);
    if (!placement.ok() || *placement != Placement::kReady)
      return Corrupt("stored entry " + ToHex(h) + " out of order");
    std::vector<Pending> released;
    ApplyOne(*e, h, &released);
    assert(released.empty());
    return Status::Ok();
  });
}

void Store::Hold(std::multimap<Hash, Pending>* pool, const Hash& key, Pending p) {
  if (!held_.insert(p.hash).second) return;  // already waiting
  // A full pool evicts an entry: sync offers it again once what it waits
  // for has arrived, so memory stays bounded whatever peers send, and a
  // flood of junk cannot lock legitimate entries out.
  if (pending_count_ >= options_.max_pending_entries) {
    std::multimap<Hash, Pending>* victim = waiting_parent_.empty() ? &waiting_author_ : &waiting_parent_;
    if (!victim->empty()) {
      held_.erase(victim->begin()->second.hash);
      victim->erase(victim->begin());
      --pending_count_;
    }
  }
  pool->emplace(key, std::move(p));
  ++pending_count_;
}

Result<Placement> Store::AddEntry(std::string_view bytes, bool sync) {
  if (bytes.size() > kMaxEntryBytes) {
    ++rejected_;
    return Status(Code::kTooLarge, "entry larger than the 1,100-byte limit");
  }
  const Hash h = HashBytes(bytes);
  // Duplicates are the common case under gossip: answer before verifying.
  if (view_->Find(h)) return Placement::kDuplicate;
  if (held_.count(h)) return Placement::kMissingParent;
  // Remote writes are checked against the format's hard cap, not this
  // node's local limit, so every node stores the same set of entries.
  auto decoded = DecodeEntry(bytes, kMaxRemoteFileBytes);
  if (!decoded.ok()) {
    ++rejected_;
    return decoded.status();
  }
  Pending p{std::move(decoded).value(), h};
  if (p.entry.IsGenesis() && !view_->has_genesis()) {
    ++rejected_;
    return Invalid("a genesis entry can only come from bootstrap or a clone");
  }
  auto placement = view_->Classify(p.entry, p.hash);
  if (!placement.ok()) {
    ++rejected_;
    return placement.status();
  }
  switch (*placement) {
    case Placement::kDuplicate: return Placement::kDuplicate;
    case Placement::kMissingParent: {
      const Hash parent = p.entry.parent;  // read before p is moved
      Hold(&waiting_parent_, parent, std::move(p));
      return Placement::kMissingParent;
    }
    case Placement::kUnknownAuthor: {
      const Hash author = KeyAsHash(p.entry.author);
      Hold(&waiting_author_, author, std::move(p));
      return Placement::kUnknownAuthor;
    }
    case Placement::kReady: break;
  }
  BASEFS_RETURN_IF_ERROR(Commit({std::move(p)}, {}, sync, /*local=*/false));
  return Placement::kReady;
}

Status Store::AddBlock(std::string_view bytes, bool sync) {
  Status st = ValidateBlock(bytes);
  if (!st.ok()) {
    ++rejected_;
    return st;
  }
  const Hash h = HashBytes(bytes);
  if (log_->HasBlock(h)) {
    BlocksStored({h});
    return Status::Ok();
  }
  if (!block_waiters_.count(h)) {
    // Nobody asked for it (yet): keep it in a small bounded cache rather
    // than on disk, so a peer cannot fill the disk with junk blocks. An
    // entry that turns out to need it takes it from there.
    if (unsolicited_.emplace(h, std::string(bytes)).second) {
      unsolicited_order_.push_back(h);
      if (unsolicited_order_.size() > kMaxUnsolicitedBlocks) {
        unsolicited_.erase(unsolicited_order_.front());
        unsolicited_order_.pop_front();
      }
    }
    return Status::Ok();
  }
  BASEFS_RETURN_IF_ERROR(log_->Put({}, {Block{h, std::string(bytes)}}, sync));
  BlocksStored({h});
  return Status::Ok();
}

void Store::BlocksStored(const std::vector<Hash>& hashes) {
  const auto lookup = [this](const Hash& b) { return log_->GetBlock(b); };
  for (const Hash& h : hashes) {
    std::vector<Hash> waiters;
    for (auto [it, end] = block_waiters_.equal_range(h); it != end;) {
      waiters.push_back(it->second);
      it = block_waiters_.erase(it);
    }
    for (const Hash& entry_hash : waiters) {
      auto oit = outstanding_blocks_.find(entry_hash);
      assert(oit != outstanding_blocks_.end() && oit->second > 0);
      --oit->second;
      // An index block reveals what is missing below it (requested early).
      TrackMissing(entry_hash, InspectTree(h, lookup).missing);
      oit = outstanding_blocks_.find(entry_hash);
      if (oit == outstanding_blocks_.end() || oit->second != 0) continue;
      outstanding_blocks_.erase(oit);
      // Nothing outstanding: decide from the root, as a fresh node would.
      const ViewEntry* ve = view_->Find(entry_hash);
      const TreeInfo info = InspectTree(ve->entry.ContentHash(), lookup);
      if (!info.missing.empty()) {
        TrackMissing(entry_hash, info.missing);
        continue;
      }
      // Complete, or malformed for good: either way nothing more to wait for.
      for (const Change& c : view_->RecheckComplete(entry_hash))
        if (listener_) listener_(c);
    }
  }
}

void Store::TrackMissing(const Hash& entry_hash, const std::vector<Hash>& missing) {
  std::vector<Block> cached;
  for (const Hash& m : missing) {
    bool already = false;
    for (auto [it, end] = block_waiters_.equal_range(m); it != end; ++it) already |= it->second == entry_hash;
    if (already) continue;
    block_waiters_.emplace(m, entry_hash);
    ++outstanding_blocks_[entry_hash];
    if (auto c = unsolicited_.find(m); c != unsolicited_.end()) cached.push_back({m, c->second});
  }
  // Blocks that came before anyone wanted them.
  for (const Block& b : cached) {
    unsolicited_.erase(b.hash);
    if (log_->HasBlock(b.hash) || log_->Put({}, {b}, false).ok()) BlocksStored({b.hash});
  }
}

void Store::ApplyOne(const Entry& e, const Hash& h, std::vector<Pending>* released) {
  const bool was_known =
      e.action == Action::kGrant || e.action == Action::kRevoke ? view_->KnowsAuthor(e.ContentHash()) : true;
  for (const Change& c : view_->Apply(e, h))
    if (listener_) listener_(c);
  if (view_->incomplete().count(h)) {
    const auto lookup = [this](const Hash& b) { return log_->GetBlock(b); };
    TrackMissing(h, MissingBlocks(e.ContentHash(), lookup));
  }
  for (auto [it, end] = waiting_parent_.equal_range(h); it != end;) {
    held_.erase(it->second.hash);
    released->push_back(std::move(it->second));
    it = waiting_parent_.erase(it);
    --pending_count_;
  }
  if (!was_known) {
    for (auto [it, end] = waiting_author_.equal_range(e.ContentHash()); it != end;) {
      held_.erase(it->second.hash);
      released->push_back(std::move(it->second));
      it = waiting_author_.erase(it);
      --pending_count_;
    }
  }
}

Status Store::Commit(std::vector<Pending> entries, const std::vector<Block>& blocks, bool sync, bool local) {
  std::vector<LogStore::EntryRecord> records;
  records.reserve(entries.size());
  for (const Pending& p : entries) {
    // Invariant: callers place entries before committing; a duplicate here
    // would leave two sequence records and break the replay.
    assert(!view_->Find(p.hash));
    records.push_back({p.hash, p.entry.Encode()});
  }
  BASEFS_RETURN_IF_ERROR(log_->Put(records, blocks, sync));
  // From here the caller's entries are durable: later failures (storing
  // entries they released) must not be reported as the caller's.
  std::vector<Pending> released;
  for (size_t i = 0; i < entries.size(); ++i) {
    ApplyOne(entries[i].entry, entries[i].hash, &released);
    if (entry_listener_) entry_listener_(entries[i].hash, records[i].bytes, local);
  }
  if (!blocks.empty()) {
    std::vector<Hash> hashes;
    for (const Block& b : blocks) hashes.push_back(b.hash);
    BlocksStored(hashes);  // remote writes may have been waiting for these
  }
  // Entries released by these ones: place them again (they may still wait
  // for something else) and store the ready ones, unsynced like any remote
  // entry.
  while (!released.empty()) {
    Pending p = std::move(released.back());
    released.pop_back();
    auto placement = view_->Classify(p.entry, p.hash);
    if (!placement.ok()) {
      ++rejected_;
      continue;
    }
    if (*placement == Placement::kMissingParent) {
      const Hash parent = p.entry.parent;  // read before p is moved
      Hold(&waiting_parent_, parent, std::move(p));
    } else if (*placement == Placement::kUnknownAuthor) {
      const Hash author = KeyAsHash(p.entry.author);
      Hold(&waiting_author_, author, std::move(p));
    } else if (*placement == Placement::kReady) {
      const std::string bytes = p.entry.Encode();
      if (!log_->Put({{p.hash, bytes}}, {}, false).ok()) {
        // Keep it waiting on itself: a later sync offers it again.
        continue;
      }
      ApplyOne(p.entry, p.hash, &released);
      if (entry_listener_) entry_listener_(p.hash, bytes, false);
    }
  }
  return Status::Ok();
}

// --- Local operations -----------------------------------------------------

Store::Pending Store::MakeEntryAfter(const KeyPair& key, const Hash& parent, Relation rel, Action action,
                                     std::string name, uint64_t size, std::string content) const {
  Pending p;
  p.entry.action = action;
  p.entry.relation = rel;
  p.entry.parent = parent;
  p.entry.timestamp_ms = options_.now_ms();
  p.entry.author = key.public_key;
  p.entry.name = std::move(name);
  p.entry.size = size;
  p.entry.content = std::move(content);
  p.entry.SignWith(key);
  assert(ValidateFields(p.entry, UINT64_MAX).ok());
  p.hash = p.entry.ComputeHash();
  return p;
}

Result<Store::Target> Store::Resolve(std::string_view raw) const {
  BASEFS_ASSIGN_OR_RETURN(std::string path, NormalizePath(raw));
  Target t;
  t.path = path;
  if (path == "/") {
    t.node = view_->root();
    t.name = view_->root()->name();
    return t;
  }
  const size_t slash = path.rfind('/');
  const std::string dir_path = slash == 0 ? "/" : path.substr(0, slash);
  t.name = path.substr(slash + 1);
  t.dir = view_->Lookup(dir_path);
  if (!t.dir || !t.dir->exists()) return NotFound("no such directory: " + dir_path);
  if (t.dir->state().kind != Kind::kDir) return Status(Code::kNotDir, "not a directory: " + dir_path);
  auto it = t.dir->children().find(t.name);
  if (it != t.dir->children().end()) t.node = it->second.get();
  return t;
}

Result<Store::Pending> Store::MakeEntry(const KeyPair& key, const Target& t, Action action, uint64_t size,
                                        std::string content) const {
  const bool root = t.dir == nullptr;
  if (!(root ? key.public_key == view_->root_key() : view_->AuthorizedBelow(key.public_key, t.dir)))
    return PermissionDenied("permission denied: key " + KeyB64(key.public_key) + " has no grant covering " + t.path +
                            "; a key holding it can run 'basefs grant NAME PATH KEY'");
  // Build on the path's current head if it has one (never on entries that
  // are not part of the view: that would vouch for them).
  if (t.node && !t.node->chain().empty())
    return MakeEntryAfter(key, t.node->chain().back()->hash, Relation::kRevision, action, t.name, size,
                          std::move(content));
  if (action != Action::kMkdir && action != Action::kWrite && action != Action::kLink && action != Action::kSlink)
    return NotFound("no such file or directory: " + t.path);
  return MakeEntryAfter(key, t.dir->chain().back()->hash, Relation::kChild, action, t.name, size, std::move(content));
}

Status Store::WriteFile(const KeyPair& key, std::string_view path, std::string_view content, const AttrChange& attrs,
                        bool exec) {
  if (content.size() > options_.max_file_bytes)
    return Status(Code::kTooLarge, "file too large: " + std::to_string(content.size()) + " bytes, the limit is " +
                                       std::to_string(options_.max_file_bytes));
  BASEFS_ASSIGN_OR_RETURN(Target t, Resolve(path));
  if (!t.dir) return Status(Code::kIsDir, "/ is a directory");
  if (t.node && t.node->state().kind == Kind::kDir) return Status(Code::kIsDir, "is a directory: " + t.path);
  std::vector<Block> blocks;
  std::string body;
  if (content.size() <= kMaxInlineBytes) {
    body.assign(content);
  } else {
    ChunkedContent cc = ChunkContent(content);
    body.assign(AsView(cc.root));
    blocks = std::move(cc.blocks);
  }
  BASEFS_ASSIGN_OR_RETURN(Pending p, MakeEntry(key, t, Action::kWrite, content.size(), std::move(body)));
  std::vector<Pending> batch;
  batch.push_back(std::move(p));
  const bool exec_after = t.node && t.node->state().kind == Kind::kFile && t.node->state().exec;
  if (exec && !exec_after && !attrs.mode)
    batch.push_back(
        MakeEntryAfter(key, batch.back().hash, Relation::kRevision, Action::kMode, t.name, 0, std::string(1, 1)));
  if (!attrs.empty())
    batch.push_back(
        MakeEntryAfter(key, batch.back().hash, Relation::kRevision, Action::kAttr, t.name, 0, EncodeAttrs(attrs)));
  return Commit(std::move(batch), blocks, true, true);
}

Status Store::Mkdir(const KeyPair& key, std::string_view path, bool parents, const AttrChange& attrs) {
  BASEFS_ASSIGN_OR_RETURN(std::vector<Pending> batch, PlanMkdir(key, path, parents));
  if (batch.empty()) return Status::Ok();
  if (!attrs.empty()) {
    const Pending& last = batch.back();
    batch.push_back(
        MakeEntryAfter(key, last.hash, Relation::kRevision, Action::kAttr, last.entry.name, 0, EncodeAttrs(attrs)));
  }
  return Commit(std::move(batch), {}, true, true);
}

Result<std::vector<Store::Pending>> Store::PlanMkdir(const KeyPair& key, std::string_view raw, bool parents) const {
  BASEFS_ASSIGN_OR_RETURN(std::string path, NormalizePath(raw));
  if (path == "/") {
    if (parents) return std::vector<Pending>{};
    return Status(Code::kExists, "/ exists");
  }
  // Walk down, creating what is missing (only the last component unless
  // `parents`). All entries go in one batch.
  std::vector<Pending> batch;
  const PathNode* dir = view_->root();
  Hash dir_head = dir->chain().back()->hash;
  bool creating = false;  // below the first component this batch creates
  size_t pos = 1;
  while (pos <= path.size()) {
    size_t end = path.find('/', pos);
    if (end == std::string::npos) end = path.size();
    const std::string name = path.substr(pos, end - pos);
    const bool last = end == path.size();
    const std::string sofar = path.substr(0, end);
    const PathNode* node = nullptr;
    if (dir) {
      auto it = dir->children().find(name);
      if (it != dir->children().end()) node = it->second.get();
    }
    if (node && node->exists() && !creating) {
      if (node->state().kind != Kind::kDir)
        return Status(last ? Code::kExists : Code::kNotDir, "not a directory: " + sofar);
      if (last && !parents) return Status(Code::kExists, "already exists: " + sofar);
      dir = node;
      dir_head = node->chain().back()->hash;
    } else {
      if (!last && !parents) return NotFound("no such directory: " + sofar);
      // Permission: checked once, at the last existing directory; below it
      // everything is created by this batch with the same key.
      if (!creating && !view_->AuthorizedBelow(key.public_key, dir))
        return PermissionDenied("permission denied: key " + KeyB64(key.public_key) + " has no grant covering " + sofar +
                                "; a key holding it can run 'basefs grant NAME PATH KEY'");
      // A path with history (deleted, say) continues its chain; a new one
      // starts below its directory's head.
      Pending p =
          (node && !node->chain().empty())
              ? MakeEntryAfter(key, node->chain().back()->hash, Relation::kRevision, Action::kMkdir, name, 0, "")
              : MakeEntryAfter(key, dir_head, Relation::kChild, Action::kMkdir, name, 0, "");
      dir_head = p.hash;
      batch.push_back(std::move(p));
      creating = true;
      dir = node;  // may be null: then nothing below has history either
    }
    pos = end + 1;
  }
  return batch;
}

Status Store::Remove(const KeyPair& key, std::string_view path, bool recursive) {
  BASEFS_ASSIGN_OR_RETURN(Target t, Resolve(path));
  if (!t.dir) return Invalid("cannot remove /");
  if (!t.node || !t.node->exists()) return NotFound("no such file or directory: " + t.path);
  // Post-order: children before their directory.
  std::vector<const PathNode*> order;
  std::vector<std::pair<const PathNode*, bool>> stack{{t.node, false}};
  while (!stack.empty()) {
    auto [n, expanded] = stack.back();
    stack.pop_back();
    if (expanded || n->state().kind != Kind::kDir) {
      order.push_back(n);
      continue;
    }
    stack.push_back({n, true});
    for (const auto& [name, child] : n->children()) {
      if (!child->exists()) continue;
      if (!recursive) return Status(Code::kNotEmpty, "directory not empty: " + t.path + " (use -r)");
      stack.push_back({child.get(), false});
    }
  }
  std::vector<Pending> batch;
  for (const PathNode* n : order) {
    if (!view_->Authorized(key.public_key, n))
      return PermissionDenied("permission denied: key " + KeyB64(key.public_key) + " has no grant covering " +
                              n->FullPath());
    batch.push_back(
        MakeEntryAfter(key, n->chain().back()->hash, Relation::kRevision, Action::kDelete, n->name(), 0, ""));
  }
  return Commit(std::move(batch), {}, true, true);
}

Status Store::Symlink(const KeyPair& key, std::string_view path, std::string_view target) {
  if (target.empty() || target.size() > kMaxLinkTargetBytes || target.find('\0') != std::string_view::npos)
    return Invalid("symlink target must be 1..512 bytes without NUL");
  BASEFS_ASSIGN_OR_RETURN(Target t, Resolve(path));
  if (!t.dir) return Status(Code::kExists, "/ exists");
  if (t.node && t.node->exists()) return Status(Code::kExists, "already exists: " + t.path);
  BASEFS_ASSIGN_OR_RETURN(Pending p, MakeEntry(key, t, Action::kSlink, target.size(), std::string(target)));
  return Commit({std::move(p)}, {}, true, true);
}

Status Store::Link(const KeyPair& key, std::string_view path, std::string_view target, bool retarget) {
  BASEFS_ASSIGN_OR_RETURN(std::string named, NormalizePath(target));
  // A link to a link names the file: every name of a file names it.
  auto file = ResolveFile(named);
  if (!file.ok() && file.status().code() != Code::kNotFound)
    return Invalid("can only hard-link a regular file: " + named);
  BASEFS_RETURN_IF_ERROR(file.status());
  if ((*file)->state().kind != Kind::kFile) return Invalid("can only hard-link a regular file: " + named);
  const std::string tpath = (*file)->FullPath();
  if (tpath.size() > kMaxLinkTargetBytes) return Invalid("link target longer than 512 bytes");
  BASEFS_ASSIGN_OR_RETURN(Target t, Resolve(path));
  if (!t.dir) return Status(Code::kExists, "/ exists");
  if (t.path == tpath) return Invalid("a link cannot name itself: " + tpath);
  const bool is_link = t.node && t.node->state().kind == Kind::kLink;
  if (t.node && t.node->exists() && !(retarget && is_link)) return Status(Code::kExists, "already exists: " + t.path);
  BASEFS_ASSIGN_OR_RETURN(Pending p, MakeEntry(key, t, Action::kLink, tpath.size(), tpath));
  return Commit({std::move(p)}, {}, true, true);
}

Status Store::Rename(const KeyPair& key, std::string_view from, std::string_view to) {
  BASEFS_ASSIGN_OR_RETURN(Target src, Resolve(from));
  if (!src.dir || !src.node || !src.node->exists()) return NotFound("no such file or directory: " + src.path);
  const NodeState& s = src.node->state();
  if (s.kind == Kind::kDir) return Status(Code::kIsDir, "is a directory: " + src.path);
  BASEFS_ASSIGN_OR_RETURN(Target dst, Resolve(to));
  if (!dst.dir) return Status(Code::kIsDir, "/ is a directory");
  if (dst.path == src.path) return Status::Ok();
  const bool dst_exists = dst.node && dst.node->exists();
  if (dst_exists && dst.node->state().kind == Kind::kDir) return Status(Code::kIsDir, "is a directory: " + dst.path);
  if (!view_->Authorized(key.public_key, src.node))
    return PermissionDenied("permission denied: key " + KeyB64(key.public_key) + " has no grant covering " + src.path);
  const Entry& shown = s.content->entry;  // the write, link or slink whose content the path shows
  const Action action = s.kind == Kind::kFile      ? Action::kWrite
                        : s.kind == Kind::kSymlink ? Action::kSlink
                                                   : Action::kLink;
  BASEFS_ASSIGN_OR_RETURN(Pending moved, MakeEntry(key, dst, action, shown.size, shown.content));
  std::vector<Pending> batch;
  batch.push_back(std::move(moved));
  // A write keeps the executable bit of the file it revises (view rules).
  const bool exec_after = dst_exists && dst.node->state().kind == Kind::kFile && dst.node->state().exec;
  if (s.kind == Kind::kFile && s.exec != exec_after)
    batch.push_back(MakeEntryAfter(key, batch.back().hash, Relation::kRevision, Action::kMode, dst.name, 0,
                                   std::string(1, s.exec ? 1 : 0)));
  if (s.kind == Kind::kFile) {
    // The new name has exactly the old one's attributes and mtime (a write
    // would keep those of the file it replaces, and take its own time).
    const AttrChange change = src.node->Attrs().Copy();
    batch.push_back(
        MakeEntryAfter(key, batch.back().hash, Relation::kRevision, Action::kAttr, dst.name, 0, EncodeAttrs(change)));
  }
  batch.push_back(
      MakeEntryAfter(key, src.node->chain().back()->hash, Relation::kRevision, Action::kDelete, src.name, 0, ""));
  return Commit(std::move(batch), {}, true, true);
}

Status Store::SetExec(const KeyPair& key, std::string_view path, bool exec) {
  BASEFS_ASSIGN_OR_RETURN(Target t, Resolve(path));
  if (!t.node || !t.node->exists()) return NotFound("no such file or directory: " + t.path);
  BASEFS_ASSIGN_OR_RETURN(Pending p, MakeEntry(key, t, Action::kMode, 0, std::string(1, exec ? 1 : 0)));
  return Commit({std::move(p)}, {}, true, true);
}

Status Store::SetAttrs(const KeyPair& key, std::string_view path, const AttrChange& change) {
  if (change.empty()) return Status::Ok();
  if (auto valid = DecodeAttrs(EncodeAttrs(change)); !valid.ok()) return valid.status();
  BASEFS_ASSIGN_OR_RETURN(Target t, Resolve(path));
  if (!t.node || !t.node->exists()) return NotFound("no such file or directory: " + t.path);
  const Kind kind = t.node->state().kind;
  if (kind != Kind::kFile && kind != Kind::kDir)
    return Invalid("only files and directories have attributes: " + t.path);
  BASEFS_ASSIGN_OR_RETURN(Pending p, MakeEntry(key, t, Action::kAttr, 0, EncodeAttrs(change)));
  return Commit({std::move(p)}, {}, true, true);
}

Status Store::Grant(const KeyPair& key, std::string_view raw, const PublicKey& grantee) {
  BASEFS_ASSIGN_OR_RETURN(std::string path, NormalizePath(raw));
  const std::string grant_content(AsView(KeyAsHash(grantee)));
  const PathNode* existing = view_->Lookup(path);
  if (!existing || !existing->exists()) {
    // Create the directory and grant on it in one synced batch.
    BASEFS_ASSIGN_OR_RETURN(std::vector<Pending> batch, PlanMkdir(key, path, /*parents=*/true));
    if (batch.empty()) return Invalid("cannot grant on " + path);
    const Pending& dir = batch.back();
    batch.push_back(
        MakeEntryAfter(key, dir.hash, Relation::kRevision, Action::kGrant, dir.entry.name, 0, grant_content));
    return Commit(std::move(batch), {}, true, true);
  }
  BASEFS_ASSIGN_OR_RETURN(Target t, Resolve(path));
  if (t.node->state().kind != Kind::kDir) return Status(Code::kNotDir, "grants are made on directories: " + path);
  if (t.node->grants().count(grantee)) return Status::Ok();  // already granted here
  BASEFS_ASSIGN_OR_RETURN(Pending p, MakeEntry(key, t, Action::kGrant, 0, grant_content));
  return Commit({std::move(p)}, {}, true, true);
}

Status Store::Revoke(const KeyPair& key, std::string_view raw, const PublicKey& revoked, bool purge) {
  BASEFS_ASSIGN_OR_RETURN(Target t, Resolve(raw));
  if (!t.node || !t.node->exists()) return NotFound("no such directory: " + t.path);
  if (!t.node->grants().count(revoked))
    return NotFound("key " + KeyB64(revoked) + " holds no grant at " + t.path + " (see 'basefs keys')");
  BASEFS_ASSIGN_OR_RETURN(Pending p, MakeEntry(key, t, Action::kRevoke, 0, std::string(AsView(KeyAsHash(revoked)))));
  std::vector<Pending> batch{std::move(p)};
  if (!purge) {
    // Every path below whose head is by the revoked key gets an ack, which
    // vouches for its whole chain: the visible state stays as it is.
    std::vector<const PathNode*> stack;
    for (const auto& [name, child] : t.node->children()) stack.push_back(child.get());
    while (!stack.empty()) {
      const PathNode* n = stack.back();
      stack.pop_back();
      if (!n->chain().empty() && n->chain().back()->entry.author == revoked)
        batch.push_back(
            MakeEntryAfter(key, n->chain().back()->hash, Relation::kRevision, Action::kAck, n->name(), 0, ""));
      for (const auto& [name, child] : n->children()) stack.push_back(child.get());
    }
  }
  return Commit(std::move(batch), {}, true, true);
}

Status Store::Revert(const KeyPair& key, std::string_view path, std::string_view revision) {
  BASEFS_ASSIGN_OR_RETURN(Target t, Resolve(path));
  if (!t.node || t.node->chain().empty()) return NotFound("no history at " + t.path);
  std::string prefix(revision);
  std::transform(prefix.begin(), prefix.end(), prefix.begin(), [](unsigned char c) { return std::tolower(c); });
  if (prefix.size() < 8 || prefix.size() > 64 || prefix.find_first_not_of("0123456789abcdef") != std::string::npos)
    return Invalid("revision must be an entry hash or a prefix of at least 8 hex digits (see 'basefs log')");
  const ViewEntry* match = nullptr;
  for (const ViewEntry* ve : t.node->chain()) {
    if (ToHex(ve->hash).compare(0, prefix.size(), prefix) != 0) continue;
    if (match) return Invalid("revision prefix " + prefix + " is ambiguous; give more digits");
    match = ve;
  }
  if (!match) return NotFound("no revision " + prefix + " in the history of " + t.path + " (see 'basefs log')");
  BASEFS_ASSIGN_OR_RETURN(Pending p, MakeEntry(key, t, Action::kRevert, 0, std::string(AsView(match->hash))));
  return Commit({std::move(p)}, {}, true, true);
}

// --- Reads -------------------------------------------------------------------

Result<const PathNode*> Store::Stat(std::string_view raw) const {
  BASEFS_ASSIGN_OR_RETURN(std::string path, NormalizePath(raw));
  const PathNode* n = view_->Lookup(path);
  if (!n || !n->exists()) return NotFound("no such file or directory: " + path);
  return n;
}

Result<std::string> Store::ReadContent(const ViewEntry* ve) const {
  const Entry& e = ve->entry;
  if (e.action != Action::kWrite || e.IsInline()) return e.content;
  return AssembleContent(e.ContentHash(), e.size, [this](const Hash& h) { return log_->GetBlock(h); });
}

Result<const PathNode*> Store::ResolveFile(std::string_view path) const {
  BASEFS_ASSIGN_OR_RETURN(const PathNode* n, Stat(path));
  for (int hops = 0; n->state().kind == Kind::kLink; ++hops) {
    if (hops >= 8) return Invalid("too many levels of hard links at " + std::string(path));
    BASEFS_ASSIGN_OR_RETURN(n, Stat(n->state().content->entry.content));
  }
  if (n->state().kind == Kind::kDir) return Status(Code::kIsDir, "is a directory: " + std::string(path));
  return n;
}

Result<std::string> Store::ReadFile(std::string_view path) const {
  BASEFS_ASSIGN_OR_RETURN(const PathNode* n, ResolveFile(path));
  return ReadContent(n->state().content);
}

Result<std::unique_ptr<ContentReader>> Store::OpenContent(std::string_view path) const {
  BASEFS_ASSIGN_OR_RETURN(const PathNode* n, ResolveFile(path));
  return OpenContent(n->state().content);
}

std::unique_ptr<ContentReader> Store::OpenContent(const ViewEntry* ve) const {
  const Entry& e = ve->entry;
  if (e.action != Action::kWrite || e.IsInline()) return std::make_unique<ContentReader>(e.content);
  return std::make_unique<ContentReader>(e.ContentHash(), e.size, [this](const Hash& h) { return log_->GetBlock(h); });
}

Result<std::vector<const PathNode*>> Store::List(std::string_view path) const {
  BASEFS_ASSIGN_OR_RETURN(const PathNode* n, Stat(path));
  if (n->state().kind != Kind::kDir) return Status(Code::kNotDir, "not a directory: " + std::string(path));
  std::vector<const PathNode*> out;
  for (const auto& [name, child] : n->children())
    if (child->exists()) out.push_back(child.get());
  return out;
}

std::optional<std::string> Store::EntryBytes(const Hash& h) const {
  const ViewEntry* ve = view_->Find(h);
  if (!ve) return std::nullopt;
  return ve->entry.Encode();
}

std::vector<std::string> Store::BlocksOf(const Hash& entry_hash, size_t max) const {
  std::vector<std::string> out;
  const ViewEntry* ve = view_->Find(entry_hash);
  if (!ve || ve->entry.action != Action::kWrite || ve->entry.IsInline() || !ve->complete) return out;
  // Breadth-first over the index, stopping as soon as it is too big.
  std::vector<Hash> frontier{ve->entry.ContentHash()};
  while (!frontier.empty()) {
    const Hash h = frontier.back();
    frontier.pop_back();
    auto b = log_->GetBlock(h);
    if (!b || out.size() >= max) return {};
    if (static_cast<uint8_t>((*b)[0]) == kIndexBlock) {
      for (size_t off = 2; off + kHashBytes <= b->size(); off += kHashBytes) {
        Hash c;
        std::memcpy(c.data(), b->data() + off, kHashBytes);
        frontier.push_back(c);
      }
    }
    out.push_back(std::move(*b));
  }
  return out;
}

std::vector<Hash> Store::Wanted(size_t max) const {
  std::vector<Hash> out;
  for (auto it = waiting_parent_.begin(); it != waiting_parent_.end() && out.size() < max;
       it = waiting_parent_.upper_bound(it->first))
    out.push_back(it->first);
  for (auto it = block_waiters_.begin(); it != block_waiters_.end() && out.size() < max;
       it = block_waiters_.upper_bound(it->first))
    out.push_back(it->first);
  return out;
}

uint64_t Store::ContentSize(const PathNode* node) {
  const ViewEntry* c = node->state().content;
  return c ? c->entry.size : 0;
}

}  // namespace basefs
