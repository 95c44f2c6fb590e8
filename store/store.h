// Store: one filesystem's log on this node — verification, persistence in
// LevelDB, the view, and the local operations the CLI, FUSE and the daemon
// share.
//
// Everything enters through two doors. AddEntry/AddBlock take untrusted bytes
// (from the network or a file): they verify encoding, hash, signature and
// limits, place the entry in the view (waiting in a bounded in-memory pool if
// its parent or its author's grant has not arrived), store it, and apply it.
// The local operations (WriteFile, Mkdir, ...) build and sign entries with
// the caller's key, check permission against the current view, and return
// only after one synced LevelDB batch holds all of them: an acknowledged
// write survives kill -9 and power loss.
//
// Thread-safety: none; one thread owns a Store. Only one process can open a
// store directory at a time (Open fails with Code::kBusy).
#pragma once

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "store/chunker.h"
#include "store/log_store.h"
#include "store/view.h"

namespace basefs {

// Remote write entries may name files up to this size whatever this node's
// own limit is, so that all nodes store the same set of entries.
inline constexpr uint64_t kMaxRemoteFileBytes = 1ull << 30;

struct StoreOptions {
  // Largest file a local write may create; larger ones fail with
  // Code::kTooLarge (EFBIG in the mount).
  uint64_t max_file_bytes = kDefaultMaxFileBytes;
  // Entries held in memory while they wait for a parent or a grant.
  size_t max_pending_entries = 65536;
  // Clock seam for entry timestamps (informative only). Must be set.
  std::function<uint64_t()> now_ms;
  // File-system seam for LevelDB (nullptr: the real file system). Tests and
  // the simulator pass an in-memory Env; it must outlive the store.
  leveldb::Env* env = nullptr;
};

// Normalises "/a//b/" to "/a/b", checking every component. Paths are
// absolute; "/" is the root.
Result<std::string> NormalizePath(std::string_view path);

class Store {
 public:
  // Opens an existing filesystem's store in `dir`.
  static Result<std::unique_ptr<Store>> Open(const std::string& dir, StoreOptions options);
  // Creates a new filesystem: the genesis entry (root key = `root`) and the
  // file /.cluster with `cluster_toml`, in one synced batch.
  static Result<std::unique_ptr<Store>> Create(const std::string& dir, const KeyPair& root, std::string_view fs_name,
                                               std::string_view cluster_toml, StoreOptions options);
  // Creates a replica of an existing filesystem from its genesis entry (as
  // the first step of a clone); the rest arrives through AddEntry/AddBlock.
  static Result<std::unique_ptr<Store>> CreateReplica(const std::string& dir, std::string_view genesis_bytes,
                                                      StoreOptions options);
  ~Store();

  // --- Untrusted input --------------------------------------------------
  // Verifies and adds one encoded entry. kReady means stored and applied
  // (with any pending entries it released); kMissingParent/kUnknownAuthor
  // mean held in memory; errors mean rejected and counted.
  Result<Placement> AddEntry(std::string_view bytes, bool sync = false);
  // Verifies and stores one block (content-addressed); completes writes
  // waiting for it.
  Status AddBlock(std::string_view bytes, bool sync = false);

  // --- Local operations, signed with `key`, synced before returning --------
  // With `attrs` not empty, an attr entry follows the write in the same
  // batch; with `exec`, a mode entry makes the file executable.
  Status WriteFile(const KeyPair& key, std::string_view path, std::string_view content, const AttrChange& attrs = {},
                   bool exec = false);
  // `attrs` (if not empty) go to the last directory of `path`.
  Status Mkdir(const KeyPair& key, std::string_view path, bool parents, const AttrChange& attrs = {});
  Status Remove(const KeyPair& key, std::string_view path, bool recursive);
  Status Symlink(const KeyPair& key, std::string_view path, std::string_view target);
  // A hard link at `path` naming the file `target` names (a link to a
  // link names its file). With `retarget`, an existing hard link at `path`
  // is pointed at `target` instead of being an error.
  Status Link(const KeyPair& key, std::string_view path, std::string_view target, bool retarget = false);
  Status SetExec(const KeyPair& key, std::string_view path, bool exec);
  // One attr entry: permission bits, owner, group, mtime (store/attrs.h) of
  // a file or directory.
  Status SetAttrs(const KeyPair& key, std::string_view path, const AttrChange& change);
  // Moves a file, symlink or hard link to `to` (replacing what is there,
  // but not a directory) in one synced batch: the entry at `to` (sharing
  // the content's blocks), a mode entry if the executable bit would differ,
  // an attr entry giving it the attributes and mtime it had, and the delete
  // of `from`. A crash leaves the old name or the new one,
  // never neither.
  Status Rename(const KeyPair& key, std::string_view from, std::string_view to);
  // Grants `grantee` write permission below `path` (a directory, created if
  // missing).
  Status Grant(const KeyPair& key, std::string_view path, const PublicKey& grantee);
  // Revokes a grant at `path`. Unless `purge`, acks every path below whose
  // current head is by `revoked`, so the visible state does not change.
  Status Revoke(const KeyPair& key, std::string_view path, const PublicKey& revoked, bool purge);
  // Reverts `path` to an earlier revision of its history (hash or a unique
  // hex prefix of at least 8 digits).
  Status Revert(const KeyPair& key, std::string_view path, std::string_view revision);

  // --- Reads --------------------------------------------------------------
  // The node at `path` if it exists in the view.
  Result<const PathNode*> Stat(std::string_view path) const;
  // File content (following hard links); symlinks give their target.
  Result<std::string> ReadFile(std::string_view path) const;
  // Content of a write/link/slink entry.
  Result<std::string> ReadContent(const ViewEntry* ve) const;
  // A reader of the file's current content (following hard links) that
  // reads ranges without assembling the whole file. It must not outlive
  // the store; it keeps reading the version current when it was opened.
  Result<std::unique_ptr<ContentReader>> OpenContent(std::string_view path) const;
  // The same for one write entry of the view (an earlier version, say).
  std::unique_ptr<ContentReader> OpenContent(const ViewEntry* ve) const;
  // Existing children of a directory, by name.
  Result<std::vector<const PathNode*>> List(std::string_view path) const;
  // Size in bytes of a path's current content.
  static uint64_t ContentSize(const PathNode* node);

  const View& view() const { return *view_; }
  const LogStore& log() const { return *log_; }
  LogStore& mutable_log() { return *log_; }
  const std::string& name() const { return name_; }
  size_t pending_count() const { return pending_count_; }
  uint64_t rejected_count() const { return rejected_; }

  // Called for every visible change, local or remote, after it is stored.
  void set_change_listener(std::function<void(const Change&)> fn) { listener_ = std::move(fn); }
  // Called for every entry stored (local or remote, including ones released
  // from a wait), after it is applied: what replication spreads.
  // `local` is true for entries this node wrote.
  void set_entry_listener(std::function<void(const Hash&, const std::string& bytes, bool local)> fn) {
    entry_listener_ = std::move(fn);
  }

  // --- For replication ------------------------------------------------------
  // True while a bulk transfer (a sync session) stores entries: listeners
  // may treat those as history rather than news.
  bool bulk() const { return bulk_ > 0; }
  class BulkScope {
   public:
    explicit BulkScope(Store* s) : s_(s) { ++s_->bulk_; }
    ~BulkScope() { --s_->bulk_; }
    BulkScope(const BulkScope&) = delete;
    BulkScope& operator=(const BulkScope&) = delete;

   private:
    Store* s_;
  };
  // The encoded entry with this hash, if stored.
  std::optional<std::string> EntryBytes(const Hash& h) const;
  // A block by hash: stored, or held in memory because nobody asked for it
  // yet (peers may want it all the same).
  std::optional<std::string> FindBlock(const Hash& h) const {
    if (auto b = log_->GetBlock(h)) return b;
    if (auto it = unsolicited_.find(h); it != unsolicited_.end()) return it->second;
    return std::nullopt;
  }
  // The blocks of a stored chunked write, if there are at most `max` of
  // them and all are stored; empty otherwise.
  std::vector<std::string> BlocksOf(const Hash& entry_hash, size_t max) const;
  // Hashes this node is waiting for: parents of held entries and missing
  // blocks of incomplete writes (at most `max`).
  std::vector<Hash> Wanted(size_t max) const;

 private:
  Store(std::unique_ptr<LogStore> log, StoreOptions options);
  // The node whose content `path` shows: hard links followed; not a directory.
  Result<const PathNode*> ResolveFile(std::string_view path) const;
  Status Replay();
  struct Pending {
    Entry entry;
    Hash hash;
  };
  // Stores entries (already signed and placed) and blocks in one batch, then
  // applies them and releases whatever waited for them.
  Status Commit(std::vector<Pending> entries, const std::vector<Block>& blocks, bool sync, bool local);
  // Wakes the incomplete writes waiting for these (now stored) blocks.
  void BlocksStored(const std::vector<Hash>& hashes);
  void ApplyOne(const Entry& e, const Hash& h, std::vector<Pending>* released);
  void TrackMissing(const Hash& entry_hash, const std::vector<Hash>& missing);
  void Hold(std::multimap<Hash, Pending>* pool, const Hash& key, Pending p);

  // Builds the next entry at `path` (revision of its head, or first entry
  // below its directory), checking permission. `dir` must exist.
  struct Target {
    const PathNode* dir = nullptr;
    const PathNode* node = nullptr;  // may be null or not existing
    std::string name;
    std::string path;
  };
  Result<Target> Resolve(std::string_view path) const;
  // The entries `mkdir [-p] path` would write (empty if nothing to do).
  Result<std::vector<Pending>> PlanMkdir(const KeyPair& key, std::string_view path, bool parents) const;
  Result<Pending> MakeEntry(const KeyPair& key, const Target& t, Action action, uint64_t size,
                            std::string content) const;
  Pending MakeEntryAfter(const KeyPair& key, const Hash& parent, Relation rel, Action action, std::string name,
                         uint64_t size, std::string content) const;

  std::unique_ptr<LogStore> log_;
  StoreOptions options_;
  std::unique_ptr<View> view_;
  std::string name_;
  std::function<void(const Change&)> listener_;
  std::function<void(const Hash&, const std::string&, bool)> entry_listener_;
  // In-memory waits (never stored until they can be applied).
  std::multimap<Hash, Pending> waiting_parent_;  // by parent hash
  std::multimap<Hash, Pending> waiting_author_;  // by author key (as a Hash)
  int bulk_ = 0;
  std::set<Hash> held_;  // hashes of everything in the two pools
  size_t pending_count_ = 0;
  // Blocks nobody has asked for yet, in memory only (FIFO, bounded).
  static constexpr size_t kMaxUnsolicitedBlocks = 4096;
  std::map<Hash, std::string> unsolicited_;
  std::deque<Hash> unsolicited_order_;
  uint64_t rejected_ = 0;
  // Chunked writes waiting for blocks: block -> entries, entry -> count.
  std::multimap<Hash, Hash> block_waiters_;
  std::map<Hash, size_t> outstanding_blocks_;
};

}  // namespace basefs
