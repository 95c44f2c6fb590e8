// LogStore: the persistent half of the store, in LevelDB.
//
// Holds verified entries (by hash, plus an arrival sequence so that a replay
// meets every parent before its children), verified blocks (by hash), and a
// few metadata values. It does not verify anything itself: Store does that
// before calling Put. Every Put is one atomic LevelDB batch; with sync=true
// it returns only after the batch is on disk (fsync), which is what makes a
// local write durable before it is acknowledged.
//
// Thread-safety: LevelDB is thread-safe, but basefs uses one LogStore from
// one thread. Only one process may open a store: a second Open fails with
// Code::kBusy.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/crypto.h"
#include "base/result.h"
#include "store/chunker.h"

namespace leveldb {
class DB;
class WriteBatch;
class Env;
}  // namespace leveldb

namespace basefs {

class LogStore {
 public:
  // Opens (or creates, if `create`) the LevelDB database in `dir`. `env` is
  // the file-system seam (nullptr: the real one); it must outlive the store.
  static Result<std::unique_ptr<LogStore>> Open(const std::string& dir, bool create, leveldb::Env* env = nullptr);
  ~LogStore();
  LogStore(const LogStore&) = delete;
  LogStore& operator=(const LogStore&) = delete;

  struct EntryRecord {
    Hash hash;
    std::string bytes;
  };
  // Stores entries (in the given order) and blocks in one atomic batch.
  Status Put(const std::vector<EntryRecord>& entries, const std::vector<Block>& blocks, bool sync);

  bool HasBlock(const Hash& h) const;
  std::optional<std::string> GetBlock(const Hash& h) const;

  // Calls `fn` for each stored entry in arrival order; stops on a non-OK status.
  Status ForEachEntry(const std::function<Status(const Hash&, const std::string&)>& fn) const;

  // Calls `fn` for each stored block in hash order; stops on a non-OK status.
  Status ForEachBlock(const std::function<Status(const Hash&, const std::string&)>& fn) const;

  std::optional<std::string> GetMeta(const std::string& key) const;
  Status PutMeta(const std::string& key, const std::string& value);

  uint64_t entry_count() const { return next_seq_; }
  uint64_t block_count() const { return block_count_; }
  // Compacts the whole database (maintenance; merges write-ahead logs and
  // levels so that disk use reflects live data).
  void Compact();
  // Bytes LevelDB uses on disk for the whole store (approximate).
  uint64_t ApproximateBytes() const;

 private:
  explicit LogStore(leveldb::DB* db);
  // Every write goes through here: after one fails, none is tried again.
  Status Write(bool sync, leveldb::WriteBatch* batch);
  leveldb::DB* db_;
  // The first write error. LevelDB goes on appending to its log after a
  // failed append (only a failed sync stops it), and a record written
  // after a torn one makes the log unreadable at the next open; so the
  // store stops writing at the first error (fail-stop) until it is opened
  // again, and the torn record stays the log's tail, which recovery drops.
  Status failed_;
  uint64_t next_seq_ = 0;
  uint64_t block_count_ = 0;
};

}  // namespace basefs
