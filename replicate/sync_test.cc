#include <random>

#include <gtest/gtest.h>

#include "replicate/sync_session.h"
#include "store/test_util.h"

namespace basefs {
namespace {

using testing::BlockBytes;
using testing::EntryBytes;
using testing::MemStoreFactory;

// Runs two sessions against each other in memory until both finish.
// Returns the number of frames exchanged, or -1 if they did not finish.
int Converse(SyncSession* a, SyncSession* b, int max_rounds = 100000) {
  a->Start();
  b->Start();
  for (int round = 0; round < max_rounds; ++round) {
    const std::string ab = a->TakeOutput();
    const std::string ba = b->TakeOutput();
    if (ab.empty() && ba.empty()) return a->finished() && b->finished() ? round : -1;
    if (!ab.empty() && !b->Feed(ab).ok()) return -1;
    if (!ba.empty() && !a->Feed(ba).ok()) return -1;
  }
  return -1;
}

class SyncTest : public ::testing::Test {
 protected:
  SyncTest() : root_(GenerateKeyPair()) {}

  // A source filesystem with `files` files in a small tree, some of them
  // large enough to be chunked, and some rewritten.
  std::unique_ptr<Store> MakeSource(int files, uint64_t seed) {
    auto s = f_.Create(root_, f_.NewDir());
    std::mt19937_64 rng(seed);
    for (int d = 0; d < 4; ++d) EXPECT_TRUE(s->Mkdir(root_, "/d" + std::to_string(d), false).ok());
    for (int i = 0; i < files; ++i) {
      const std::string path = "/d" + std::to_string(rng() % 4) + "/f" + std::to_string(i % (files / 2 + 1));
      std::string content = "value " + std::to_string(rng());
      if (rng() % 6 == 0) content.append(2000 + rng() % 3000, static_cast<char>('a' + rng() % 26));
      EXPECT_TRUE(s->WriteFile(root_, path, content).ok());
    }
    return s;
  }

  std::unique_ptr<Store> EmptyReplica(const Store& from) {
    auto r = Store::CreateReplica(f_.NewDir(), EntryBytes(from).at(0), f_.Options());
    EXPECT_TRUE(r.ok());
    return std::move(r).value();
  }

  MemStoreFactory f_;
  KeyPair root_;
};

TEST_F(SyncTest, ReplicasDifferingByDEntriesReconcile) {
  auto source = MakeSource(60, 1);
  const auto entries = EntryBytes(*source);
  const auto blocks = BlockBytes(*source);
  const size_t n = entries.size() - 1;
  std::mt19937_64 rng(7);
  for (size_t d : {size_t{1}, size_t{2}, size_t{5}, n / 4, n / 2, n}) {
    SCOPED_TRACE("d = " + std::to_string(d));
    // A random split: `d` entries are held by only one side (either), the
    // rest by both; one side misses some blocks of files it has.
    std::vector<size_t> idx(n);
    for (size_t i = 0; i < n; ++i) idx[i] = i + 1;
    std::shuffle(idx.begin(), idx.end(), rng);
    auto a = EmptyReplica(*source);
    auto b = EmptyReplica(*source);
    for (size_t k = 0; k < n; ++k) {
      const std::string& e = entries[idx[k]];
      const bool to_a = rng() % 2;
      if (k >= d || to_a) (void)a->AddEntry(e);
      if (k >= d || !to_a) (void)b->AddEntry(e);
    }
    for (const auto& blk : blocks) {
      (void)a->AddBlock(blk);
      if (rng() % 3) (void)b->AddBlock(blk);
    }
    SyncSession sa(a.get()), sb(b.get());
    ASSERT_GE(Converse(&sa, &sb), 0);
    EXPECT_EQ(ToHex(a->view().RootDigest()), ToHex(source->view().RootDigest()));
    EXPECT_EQ(ToHex(b->view().RootDigest()), ToHex(source->view().RootDigest()));
    EXPECT_TRUE(a->view().incomplete().empty())
        << "wanted " << a->Wanted(100).size() << " incomplete " << a->view().incomplete().size();
    for (const auto& [h, ve] : a->view().incomplete()) {
      TreeInfo ti = InspectTree(ve->entry.ContentHash(), [&](const Hash& x) { return a->log().GetBlock(x); });
      ADD_FAILURE() << "missing " << ti.missing.size() << " complete " << ti.complete << " size " << ti.size << " vs "
                    << ve->entry.size << " status " << ti.status.message() << " src has root "
                    << source->log().HasBlock(ve->entry.ContentHash());
    }
    EXPECT_TRUE(b->view().incomplete().empty());
    EXPECT_EQ(a->pending_count(), 0u);
    EXPECT_EQ(b->pending_count(), 0u);
  }
}

TEST_F(SyncTest, EqualReplicasFinishInOneExchange) {
  auto source = MakeSource(40, 2);
  auto a = EmptyReplica(*source);
  testing::CopyAll(*source, a.get());
  SyncSession s1(source.get()), s2(a.get());
  ASSERT_GE(Converse(&s1, &s2), 0);
  EXPECT_EQ(s1.stats().requests, 0u);
  EXPECT_LT(s1.stats().bytes_out, 200u);
}

TEST_F(SyncTest, CloneFromNothingAndResumeAfterAnInterruption) {
  auto source = MakeSource(400, 3);
  const std::string dir = f_.NewDir();
  std::unique_ptr<Store> clone;
  auto create = [&](std::string_view genesis) -> Result<Store*> {
    BASEFS_ASSIGN_OR_RETURN(clone, Store::CreateReplica(dir, genesis, f_.Options()));
    return clone.get();
  };
  {
    // Interrupted after a few exchanges.
    SyncSession server(source.get()), client(nullptr, SyncOptions(), create);
    server.Start();
    client.Start();
    for (int i = 0; i < 100 && (!clone || clone->view().entry_count() < 50); ++i) {
      ASSERT_TRUE(server.Feed(client.TakeOutput()).ok());
      ASSERT_TRUE(client.Feed(server.TakeOutput()).ok());
    }
    ASSERT_NE(clone, nullptr);
    EXPECT_FALSE(client.finished());
  }
  const size_t partial = clone->view().entry_count();
  EXPECT_GT(partial, 1u);
  EXPECT_LT(partial, source->view().entry_count());
  // Reopen what was stored and finish with a normal session.
  clone.reset();
  clone = f_.Open(dir);
  EXPECT_EQ(clone->view().entry_count(), partial);
  SyncSession server(source.get()), client(clone.get());
  ASSERT_GE(Converse(&server, &client), 0);
  EXPECT_EQ(ToHex(clone->view().RootDigest()), ToHex(source->view().RootDigest()));
  auto list = clone->List("/d1");
  ASSERT_TRUE(list.ok());
  for (const PathNode* n : *list)
    EXPECT_EQ(*clone->ReadFile("/d1/" + n->name()), *source->ReadFile("/d1/" + n->name()));
}

TEST_F(SyncTest, GarbageFromAPeerEndsTheSessionAndStoresNothing) {
  auto source = MakeSource(10, 4);
  auto a = EmptyReplica(*source);
  const size_t before = a->log().entry_count();
  std::mt19937_64 rng(5);
  for (int i = 0; i < 200; ++i) {
    SyncSession s(a.get());
    s.Start();
    std::string junk(rng() % 300, '\0');
    for (auto& c : junk) c = static_cast<char>(rng());
    // Frame-shaped junk half the time.
    if (i % 2) {
      std::string framed = EncodeFrame(HelloMsg{kSyncVersion, a->view().genesis(), HashBytes("lie")});
      framed += junk;
      junk = framed;
    }
    (void)s.Feed(junk);
  }
  EXPECT_EQ(a->log().entry_count(), before);
  // An oversized frame length is refused before any allocation.
  SyncSession s(a.get());
  s.Start();
  EXPECT_FALSE(s.Feed(std::string("\xff\xff\xff\xff\x01", 5)).ok());
}

TEST_F(SyncTest, LyingPeerCannotCorruptAndAnHonestOneStillCompletes) {
  auto source = MakeSource(30, 6);
  auto a = EmptyReplica(*source);
  // The liar claims a different root, answers summaries with made-up
  // hashes and bad names, and answers wants with tampered entries.
  SyncSession victim(a.get());
  victim.Start();
  (void)victim.TakeOutput();
  ASSERT_TRUE(victim.Feed(EncodeFrame(HelloMsg{kSyncVersion, a->view().genesis(), HashBytes("x")})).ok());
  (void)victim.TakeOutput();  // its summary request for "/"
  PathSummary lie;
  lie.path = "/";
  lie.known = true;
  lie.entries = {HashBytes("fake1"), HashBytes("fake2")};
  lie.children = {{"..", HashBytes("d")}, {"ok", HashBytes("d2")}};
  ASSERT_TRUE(victim.Feed(EncodeFrame(SummaryMsg{{lie}})).ok());
  std::string tampered = EntryBytes(*source).at(3);
  tampered[tampered.size() - 1] ^= 1;
  ASSERT_TRUE(victim.Feed(EncodeFrame(ObjectsMsg{{tampered, "junk"}, {"\x07not a block"}})).ok());
  EXPECT_EQ(a->log().entry_count(), 1u);
  EXPECT_EQ(a->log().block_count(), 0u);
  // The next session, with an honest peer, completes.
  SyncSession honest(source.get()), again(a.get());
  ASSERT_GE(Converse(&honest, &again), 0);
  EXPECT_EQ(ToHex(a->view().RootDigest()), ToHex(source->view().RootDigest()));
}

TEST_F(SyncTest, DifferentFilesystemsRefuseToSync) {
  auto a = MakeSource(5, 8);
  testing::MemStoreFactory other;
  auto b = other.Create(GenerateKeyPair(), other.NewDir());
  SyncSession sa(a.get()), sb(b.get());
  EXPECT_EQ(Converse(&sa, &sb), -1);
}

}  // namespace
}  // namespace basefs
