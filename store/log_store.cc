#include "store/log_store.h"

#include <cstring>

#include <leveldb/db.h>
#include <leveldb/write_batch.h>

namespace basefs {
namespace {

// Key prefixes; part of the on-disk format (docs/log_format.md).
constexpr char kEntryPrefix = 'e';              // 'e' + hash -> entry bytes
constexpr char kSeqPrefix = 's';                // 's' + be64 seq -> hash
constexpr char kBlockPrefix = 'b';              // 'b' + hash -> block bytes
constexpr char kMetaPrefix = 'm';               // 'm' + name -> value
const char kBlockCountKey[] = "m#block_count";  // GetMeta("block_count")

std::string Key(char prefix, const Hash& h) {
  std::string k(1, prefix);
  k.append(AsView(h));
  return k;
}

std::string SeqKey(uint64_t seq) {
  std::string k(1, kSeqPrefix);
  for (int i = 7; i >= 0; --i) k.push_back(static_cast<char>((seq >> (i * 8)) & 0xff));
  return k;
}

Status FromLevelDB(const leveldb::Status& s) {
  if (s.ok()) return Status::Ok();
  return IOError("store: " + s.ToString());
}

}  // namespace

LogStore::LogStore(leveldb::DB* db) : db_(db) {}
LogStore::~LogStore() { delete db_; }

Result<std::unique_ptr<LogStore>> LogStore::Open(const std::string& dir, bool create, leveldb::Env* env) {
  leveldb::Options options;
  if (env) options.env = env;
  options.create_if_missing = create;
  options.paranoid_checks = true;
  leveldb::DB* db = nullptr;
  leveldb::Status s = leveldb::DB::Open(options, dir, &db);
  if (!s.ok()) {
    const std::string msg = s.ToString();
    if (msg.find("lock") != std::string::npos || msg.find("Resource temporarily unavailable") != std::string::npos)
      return Status(Code::kBusy, "the store " + dir +
                                     " is in use by another process (a running 'basefs run'?); "
                                     "stop it or talk to it instead");
    if (s.IsInvalidArgument() && !create) return NotFound("no store in " + dir);
    return IOError("cannot open store " + dir + ": " + msg);
  }
  std::unique_ptr<LogStore> store(new LogStore(db));
  // The next sequence number is one past the last stored one.
  // The next sequence number is one past the last stored one: the last key
  // before the first key after the 's' prefix.
  std::unique_ptr<leveldb::Iterator> it(db->NewIterator(leveldb::ReadOptions()));
  it->Seek(std::string(1, kSeqPrefix + 1));
  if (it->Valid())
    it->Prev();
  else
    it->SeekToLast();
  if (it->Valid() && it->key().size() == 9 && it->key()[0] == kSeqPrefix) {
    uint64_t seq = 0;
    for (size_t i = 1; i < 9; ++i) seq = (seq << 8) | static_cast<uint8_t>(it->key()[i]);
    store->next_seq_ = seq + 1;
  }
  if (auto n = store->GetMeta("block_count")) store->block_count_ = std::stoull(*n);
  return store;
}

Status LogStore::Put(const std::vector<EntryRecord>& entries, const std::vector<Block>& blocks, bool sync) {
  leveldb::WriteBatch batch;
  uint64_t seq = next_seq_;
  uint64_t new_blocks = 0;
  for (const Block& b : blocks) {
    if (HasBlock(b.hash)) continue;
    batch.Put(Key(kBlockPrefix, b.hash), b.bytes);
    ++new_blocks;
  }
  for (const EntryRecord& e : entries) {
    batch.Put(Key(kEntryPrefix, e.hash), e.bytes);
    batch.Put(SeqKey(seq++), std::string(AsView(e.hash)));
  }
  if (new_blocks) batch.Put(kBlockCountKey, std::to_string(block_count_ + new_blocks));
  BASEFS_RETURN_IF_ERROR(Write(sync, &batch));
  next_seq_ = seq;
  block_count_ += new_blocks;
  return Status::Ok();
}

bool LogStore::HasBlock(const Hash& h) const {
  std::string v;
  return db_->Get(leveldb::ReadOptions(), Key(kBlockPrefix, h), &v).ok();
}

std::optional<std::string> LogStore::GetBlock(const Hash& h) const {
  std::string v;
  if (!db_->Get(leveldb::ReadOptions(), Key(kBlockPrefix, h), &v).ok()) return std::nullopt;
  return v;
}

Status LogStore::ForEachEntry(const std::function<Status(const Hash&, const std::string&)>& fn) const {
  std::unique_ptr<leveldb::Iterator> it(db_->NewIterator(leveldb::ReadOptions()));
  for (it->Seek(std::string(1, kSeqPrefix)); it->Valid() && it->key()[0] == kSeqPrefix; it->Next()) {
    if (it->value().size() != kHashBytes) return Corrupt("store: bad sequence record");
    Hash h;
    std::memcpy(h.data(), it->value().data(), kHashBytes);
    std::string bytes;
    leveldb::Status s = db_->Get(leveldb::ReadOptions(), Key(kEntryPrefix, h), &bytes);
    if (!s.ok()) return Corrupt("store: entry " + ToHex(h) + " listed but missing");
    BASEFS_RETURN_IF_ERROR(fn(h, bytes));
  }
  return FromLevelDB(it->status());
}

Status LogStore::ForEachBlock(const std::function<Status(const Hash&, const std::string&)>& fn) const {
  std::unique_ptr<leveldb::Iterator> it(db_->NewIterator(leveldb::ReadOptions()));
  for (it->Seek(std::string(1, kBlockPrefix)); it->Valid() && it->key()[0] == kBlockPrefix; it->Next()) {
    if (it->key().size() != 1 + kHashBytes) return Corrupt("store: bad block key");
    Hash h;
    std::memcpy(h.data(), it->key().data() + 1, kHashBytes);
    BASEFS_RETURN_IF_ERROR(fn(h, it->value().ToString()));
  }
  return FromLevelDB(it->status());
}

std::optional<std::string> LogStore::GetMeta(const std::string& key) const {
  std::string v;
  if (!db_->Get(leveldb::ReadOptions(), std::string(1, kMetaPrefix) + "#" + key, &v).ok()) return std::nullopt;
  return v;
}

Status LogStore::PutMeta(const std::string& key, const std::string& value) {
  leveldb::WriteBatch batch;
  batch.Put(std::string(1, kMetaPrefix) + "#" + key, value);
  return Write(true, &batch);
}

Status LogStore::Write(bool sync, leveldb::WriteBatch* batch) {
  if (!failed_.ok()) return failed_;
  leveldb::WriteOptions wo;
  wo.sync = sync;
  Status st = FromLevelDB(db_->Write(wo, batch));
  if (!st.ok())
    failed_ = Status(Code::kIO, "writing the log failed (" + st.message() +
                                    "); this node takes no more writes until it is restarted");
  return st;
}

void LogStore::Compact() { db_->CompactRange(nullptr, nullptr); }

uint64_t LogStore::ApproximateBytes() const {
  leveldb::Range all("\x00", "\xff");
  uint64_t size = 0;
  db_->GetApproximateSizes(&all, 1, &size);
  return size;
}

}  // namespace basefs
