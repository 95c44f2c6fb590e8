// The store under a failing disk: a LevelDB Env that makes the Nth append
// or sync of any file fail (an append after writing half of its bytes, as
// a torn write). For every N, the write that meets the fault reports an
// error, the process and the store stay up (later writes fail cleanly),
// and the store reopens with every acknowledged write intact.
#include <gtest/gtest.h>
#include <leveldb/env.h>

#include "store/test_util.h"

namespace basefs {
namespace {

// Counts appends and syncs of every writable file; the one numbered
// `fail_at` (from 1, once armed) fails.
class FaultEnv : public leveldb::EnvWrapper {
 public:
  explicit FaultEnv(leveldb::Env* target) : EnvWrapper(target) {}
  void Arm(int fail_at) {
    fail_at_ = fail_at;
    ops_ = 0;
    failed_ = false;
  }
  void Disarm() { fail_at_ = 0; }
  bool failed() const { return failed_; }

  leveldb::Status NewWritableFile(const std::string& f, leveldb::WritableFile** r) override {
    leveldb::Status s = target()->NewWritableFile(f, r);
    if (s.ok()) *r = new File(this, *r);
    return s;
  }
  leveldb::Status NewAppendableFile(const std::string& f, leveldb::WritableFile** r) override {
    leveldb::Status s = target()->NewAppendableFile(f, r);
    if (s.ok()) *r = new File(this, *r);
    return s;
  }

 private:
  // True when this operation is the one that fails.
  bool Hit() {
    if (fail_at_ == 0 || failed_) return false;
    if (++ops_ != fail_at_) return false;
    failed_ = true;
    return true;
  }
  class File : public leveldb::WritableFile {
   public:
    File(FaultEnv* env, leveldb::WritableFile* f) : env_(env), f_(f) {}
    ~File() override { delete f_; }
    leveldb::Status Append(const leveldb::Slice& data) override {
      if (env_->Hit()) {
        (void)f_->Append(leveldb::Slice(data.data(), data.size() / 2));
        return leveldb::Status::IOError("injected: torn append");
      }
      return f_->Append(data);
    }
    leveldb::Status Close() override { return f_->Close(); }
    leveldb::Status Flush() override { return f_->Flush(); }
    leveldb::Status Sync() override {
      if (env_->Hit()) return leveldb::Status::IOError("injected: sync failed");
      return f_->Sync();
    }

   private:
    FaultEnv* env_;
    leveldb::WritableFile* f_;
  };

  int fail_at_ = 0, ops_ = 0;
  bool failed_ = false;
};

std::string Content(int i) {
  return "file " + std::to_string(i) + " " + std::string(static_cast<size_t>(i % 7) * 300, 'x');
}

TEST(StoreFaultTest, AFailingDiskNeverLosesAnAcknowledgedWriteAndTheStoreReopens) {
  CryptoInit();
  int faults_met = 0;
  for (int fail_at = 1; fail_at <= 60; ++fail_at) {
    SCOPED_TRACE("fault at operation " + std::to_string(fail_at));
    std::unique_ptr<leveldb::Env> mem(leveldb::NewMemEnv(leveldb::Env::Default()));
    FaultEnv env(mem.get());
    StoreOptions o;
    uint64_t clock = 0;
    o.now_ms = [&clock] { return ++clock; };
    o.env = &env;
    const KeyPair key = GenerateKeyPair();
    std::vector<int> acked;
    {
      auto store = Store::Create("/db", key, "fault", "", o);
      ASSERT_TRUE(store.ok()) << store.status().message();
      ASSERT_TRUE((*store)->Mkdir(key, "/d", false).ok());
      env.Arm(fail_at);
      bool failed = false;
      for (int i = 0; i < 30; ++i) {
        Status st = (*store)->WriteFile(key, "/d/f" + std::to_string(i), Content(i));
        if (st.ok()) {
          EXPECT_FALSE(failed) << "a write succeeded after one failed, without a reopen";
          acked.push_back(i);
        } else {
          failed = true;
          EXPECT_EQ(st.code(), Code::kIO) << st.message();
        }
      }
      EXPECT_EQ(failed, env.failed()) << "an injected fault went unreported, or an error came without one";
      faults_met += env.failed();
      env.Disarm();
    }
    // Reopened, every acknowledged write reads back whole.
    auto store = Store::Open("/db", o);
    ASSERT_TRUE(store.ok()) << store.status().message();
    for (int i : acked) {
      auto got = (*store)->ReadFile("/d/f" + std::to_string(i));
      ASSERT_TRUE(got.ok()) << "acknowledged /d/f" << i << " lost: " << got.status().message();
      EXPECT_EQ(*got, Content(i));
    }
    // And it takes writes again.
    EXPECT_TRUE((*store)->WriteFile(key, "/d/after", "ok").ok());
  }
  EXPECT_GT(faults_met, 30) << "most fault points must fall inside the writes";
}

}  // namespace
}  // namespace basefs
