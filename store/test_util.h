// Helpers shared by the store tests: stores on an in-memory LevelDB Env, a
// fake clock, and a builder for hand-made entries.
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include <leveldb/env.h>
#include <leveldb/helpers/memenv.h>

#include "store/store.h"

namespace basefs::testing {

class MemStoreFactory {
 public:
  MemStoreFactory() : env_(leveldb::NewMemEnv(leveldb::Env::Default())) { CryptoInit(); }

  StoreOptions Options() {
    StoreOptions o;
    o.now_ms = [this] { return ++clock_ms_; };
    o.env = env_.get();
    return o;
  }
  std::string NewDir() { return "/mem/store" + std::to_string(++dirs_); }

  std::unique_ptr<Store> Create(const KeyPair& root, const std::string& dir, const std::string& cluster = "") {
    auto s = Store::Create(dir, root, "testfs", cluster, Options());
    if (!s.ok()) std::abort();
    return std::move(s).value();
  }
  std::unique_ptr<Store> Open(const std::string& dir) {
    auto s = Store::Open(dir, Options());
    if (!s.ok()) std::abort();
    return std::move(s).value();
  }
  leveldb::Env* env() { return env_.get(); }

 private:
  std::unique_ptr<leveldb::Env> env_;
  uint64_t clock_ms_ = 1700000000000;
  int dirs_ = 0;
};

// Builds and signs an entry by hand (for rejection tests and generators).
inline Entry MakeEntry(const KeyPair& key, Action action, Relation rel, const Hash& parent, std::string name,
                       std::string content = "", uint64_t size = 0, uint64_t ts = 1) {
  Entry e;
  e.action = action;
  e.relation = rel;
  e.parent = parent;
  e.timestamp_ms = ts;
  e.author = key.public_key;
  e.name = std::move(name);
  e.content = std::move(content);
  e.size = size;
  e.SignWith(key);
  return e;
}

inline std::string KeyContent(const PublicKey& k) {
  return std::string(reinterpret_cast<const char*>(k.data()), k.size());
}

}  // namespace basefs::testing

namespace basefs::testing {

inline std::vector<std::string> EntryBytes(const Store& s) {
  std::vector<std::string> out;
  Status st = s.log().ForEachEntry([&](const Hash&, const std::string& b) {
    out.push_back(b);
    return Status::Ok();
  });
  if (!st.ok()) std::abort();
  return out;
}

inline std::vector<std::string> BlockBytes(const Store& s) {
  std::vector<std::string> out;
  Status st = s.log().ForEachBlock([&](const Hash&, const std::string& b) {
    out.push_back(b);
    return Status::Ok();
  });
  if (!st.ok()) std::abort();
  return out;
}

// Copies every block and entry of `from` into `to` (what sync will do).
inline void CopyAll(const Store& from, Store* to) {
  for (const auto& b : BlockBytes(from))
    if (!to->AddBlock(b).ok()) std::abort();
  for (const auto& e : EntryBytes(from)) {
    auto r = to->AddEntry(e);
    if (!r.ok()) std::abort();
  }
}

inline std::unique_ptr<Store> Replica(MemStoreFactory* f, const Store& from) {
  auto r = Store::CreateReplica(f->NewDir(), EntryBytes(from).at(0), f->Options());
  if (!r.ok()) std::abort();
  CopyAll(from, r->get());
  return std::move(r).value();
}

}  // namespace basefs::testing
