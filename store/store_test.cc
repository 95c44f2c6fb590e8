#include "store/store.h"

#include <filesystem>

#include <gtest/gtest.h>

#include "store/test_util.h"

namespace basefs {
namespace {

using testing::CopyAll;
using testing::EntryBytes;
using testing::MakeEntry;
using testing::MemStoreFactory;
using testing::Replica;

class StoreTest : public ::testing::Test {
 protected:
  StoreTest() : root_(GenerateKeyPair()), alice_(GenerateKeyPair()), bob_(GenerateKeyPair()) {}

  std::string Read(Store& s, const std::string& path) {
    auto r = s.ReadFile(path);
    return r.ok() ? *r : "<" + r.status().message() + ">";
  }

  MemStoreFactory f_;
  KeyPair root_, alice_, bob_;
};

TEST_F(StoreTest, WritesAndReadsInlineAndChunkedFiles) {
  auto s = f_.Create(root_, f_.NewDir());
  ASSERT_TRUE(s->WriteFile(root_, "/small", "hello\n").ok());
  std::string big(300000, 'x');
  for (size_t i = 0; i < big.size(); i += 97) big[i] = static_cast<char>('a' + i % 26);
  ASSERT_TRUE(s->WriteFile(root_, "/big", big).ok());
  EXPECT_EQ(Read(*s, "/small"), "hello\n");
  EXPECT_EQ(Read(*s, "/big"), big);
  EXPECT_GT(s->log().block_count(), 200u);
}

TEST_F(StoreTest, ReopenReplaysTheSameView) {
  const std::string dir = f_.NewDir();
  Hash digest;
  {
    auto s = f_.Create(root_, dir);
    ASSERT_TRUE(s->Mkdir(root_, "/etc/app", true).ok());
    ASSERT_TRUE(s->WriteFile(root_, "/etc/app/conf", std::string(5000, 'c')).ok());
    ASSERT_TRUE(s->Grant(root_, "/etc", alice_.public_key).ok());
    ASSERT_TRUE(s->WriteFile(alice_, "/etc/app/conf", "by alice").ok());
    digest = s->view().RootDigest();
  }
  auto s = f_.Open(dir);
  EXPECT_EQ(s->view().RootDigest(), digest);
  EXPECT_EQ(Read(*s, "/etc/app/conf"), "by alice");
  EXPECT_EQ(s->view().entry_count(), 6u);
}

TEST_F(StoreTest, SecondOpenOfTheSameStoreIsBusy) {
  const auto dir = std::filesystem::temp_directory_path() / ("basefs-lock-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  StoreOptions o;
  o.now_ms = [] { return uint64_t{1}; };
  auto first = Store::Create(dir.string(), root_, "fs", "", o);
  ASSERT_TRUE(first.ok());
  auto second = Store::Open(dir.string(), o);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), Code::kBusy);
  EXPECT_NE(second.status().message().find("in use"), std::string::npos);
  first->reset();
  EXPECT_TRUE(Store::Open(dir.string(), o).ok());
  std::filesystem::remove_all(dir);
}

TEST_F(StoreTest, WriteWithoutGrantIsRefusedAndStoresNothing) {
  auto s = f_.Create(root_, f_.NewDir());
  const size_t before = s->view().entry_count();
  Status st = s->WriteFile(alice_, "/x", "nope");
  EXPECT_EQ(st.code(), Code::kPermission);
  EXPECT_NE(st.message().find("basefs grant"), std::string::npos);
  EXPECT_EQ(s->view().entry_count(), before);
  EXPECT_EQ(s->log().entry_count(), before);
  EXPECT_TRUE(s->WriteFile(root_, "/x", "yes").ok());  // the store stays usable
}

TEST_F(StoreTest, GrantCoversTheSubtreeOnly) {
  auto s = f_.Create(root_, f_.NewDir());
  ASSERT_TRUE(s->Grant(root_, "/services/web", alice_.public_key).ok());
  EXPECT_TRUE(s->WriteFile(alice_, "/services/web/a", "port = 1").ok());
  EXPECT_TRUE(s->Mkdir(alice_, "/services/web/deep/er", true).ok());
  EXPECT_EQ(s->WriteFile(alice_, "/services/db", "x").code(), Code::kPermission);
  EXPECT_EQ(s->Remove(alice_, "/services/web", true).code(), Code::kPermission)
      << "a grant at a directory covers what is below it, not the directory itself";
}

TEST_F(StoreTest, TamperedEntryIsRejectedAndNothingStored) {
  auto a = f_.Create(root_, f_.NewDir());
  ASSERT_TRUE(a->WriteFile(root_, "/f", "v1").ok());
  auto b = Replica(&f_, *a);
  ASSERT_TRUE(a->WriteFile(root_, "/f", "v2").ok());
  std::string bytes = EntryBytes(*a).back();
  std::string tampered = bytes;
  tampered[tampered.size() - 70] ^= 0x20;  // inside the content
  const size_t before = b->log().entry_count();
  EXPECT_FALSE(b->AddEntry(tampered).ok());
  EXPECT_FALSE(b->AddEntry(bytes.substr(0, 40)).ok());
  EXPECT_FALSE(b->AddEntry("").ok());
  EXPECT_EQ(b->log().entry_count(), before);
  EXPECT_EQ(b->rejected_count(), 3u);
  ASSERT_TRUE(b->AddEntry(bytes).ok());
  EXPECT_EQ(Read(*b, "/f"), "v2");
}

TEST_F(StoreTest, EntryByUnknownKeyWaitsForItsGrant) {
  auto a = f_.Create(root_, f_.NewDir());
  auto b = Replica(&f_, *a);
  ASSERT_TRUE(a->Grant(root_, "/team", alice_.public_key).ok());
  ASSERT_TRUE(a->WriteFile(alice_, "/team/cfg", "alice's").ok());
  const auto all = EntryBytes(*a);
  // Deliver alice's write first: its parent (the mkdir) is missing too.
  auto r = b->AddEntry(all.back());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, Placement::kMissingParent);
  EXPECT_EQ(b->log().entry_count(), 1u) << "nothing stored while it waits";
  for (size_t i = 1; i + 1 < all.size(); ++i) ASSERT_TRUE(b->AddEntry(all[i]).ok());
  EXPECT_EQ(b->pending_count(), 0u);
  EXPECT_EQ(Read(*b, "/team/cfg"), "alice's");
  EXPECT_EQ(b->view().RootDigest(), a->view().RootDigest());
}

TEST_F(StoreTest, RemoteWriteByNeverGrantedKeyIsHeldNotStored) {
  auto a = f_.Create(root_, f_.NewDir());
  const Hash head = a->view().root()->chain().back()->hash;
  Entry e = MakeEntry(bob_, Action::kWrite, Relation::kChild, head, "evil", "x", 1);
  auto r = a->AddEntry(e.Encode());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, Placement::kUnknownAuthor);
  EXPECT_FALSE(a->Stat("/evil").ok());
  EXPECT_EQ(a->log().entry_count(), 1u);
}

TEST_F(StoreTest, HigherAuthorityWinsAConflictWhateverTheHash) {
  auto a = f_.Create(root_, f_.NewDir());
  ASSERT_TRUE(a->Grant(root_, "/", alice_.public_key).ok());
  ASSERT_TRUE(a->Mkdir(root_, "/cfg", false).ok());
  ASSERT_TRUE(a->WriteFile(root_, "/cfg/x", "base").ok());
  auto b = Replica(&f_, *a);
  // Concurrent edits of /cfg/x: root on one replica, alice on the other.
  ASSERT_TRUE(a->WriteFile(root_, "/cfg/x", "root's").ok());
  ASSERT_TRUE(b->WriteFile(alice_, "/cfg/x", "alice's").ok());
  CopyAll(*a, b.get());
  CopyAll(*b, a.get());
  EXPECT_EQ(a->view().RootDigest(), b->view().RootDigest());
  EXPECT_EQ(Read(*a, "/cfg/x"), "root's");
  EXPECT_EQ(Read(*b, "/cfg/x"), "root's");
}

TEST_F(StoreTest, MoreContributorsWinBetweenEqualAuthorities) {
  auto a = f_.Create(root_, f_.NewDir());
  ASSERT_TRUE(a->Grant(root_, "/", alice_.public_key).ok());
  ASSERT_TRUE(a->Grant(root_, "/", bob_.public_key).ok());
  ASSERT_TRUE(a->WriteFile(alice_, "/x", "base").ok());
  auto b = Replica(&f_, *a);
  // Branch 1: alice twice. Branch 2: alice then bob (two contributors).
  ASSERT_TRUE(a->WriteFile(alice_, "/x", "a1").ok());
  ASSERT_TRUE(a->WriteFile(alice_, "/x", "a2").ok());
  ASSERT_TRUE(b->WriteFile(alice_, "/x", "b1").ok());
  ASSERT_TRUE(b->WriteFile(bob_, "/x", "b2").ok());
  CopyAll(*a, b.get());
  CopyAll(*b, a.get());
  EXPECT_EQ(Read(*a, "/x"), "b2");
  EXPECT_EQ(Read(*b, "/x"), "b2");
}

TEST_F(StoreTest, GreaterHashBreaksTheLastTie) {
  auto a = f_.Create(root_, f_.NewDir());
  ASSERT_TRUE(a->WriteFile(root_, "/x", "base").ok());
  auto b = Replica(&f_, *a);
  ASSERT_TRUE(a->WriteFile(root_, "/x", "from a").ok());
  ASSERT_TRUE(b->WriteFile(root_, "/x", "from b").ok());
  const Hash ha = a->view().Lookup("/x")->chain().back()->hash;
  const Hash hb = b->view().Lookup("/x")->chain().back()->hash;
  CopyAll(*a, b.get());
  CopyAll(*b, a.get());
  const std::string want = ha > hb ? "from a" : "from b";
  EXPECT_EQ(Read(*a, "/x"), want);
  EXPECT_EQ(Read(*b, "/x"), want);
}

TEST_F(StoreTest, RevokeAcksKeepTheVisibleStateAndPurgeDropsIt) {
  for (bool purge : {false, true}) {
    SCOPED_TRACE(purge ? "purge" : "ack");
    auto s = f_.Create(root_, f_.NewDir());
    ASSERT_TRUE(s->Grant(root_, "/team", alice_.public_key).ok());
    ASSERT_TRUE(s->WriteFile(root_, "/team/shared", "root's").ok());
    ASSERT_TRUE(s->WriteFile(alice_, "/team/shared", "alice's").ok());
    ASSERT_TRUE(s->WriteFile(alice_, "/team/own", "alice's own").ok());
    ASSERT_TRUE(s->Revoke(root_, "/team", alice_.public_key, purge).ok());
    EXPECT_EQ(s->WriteFile(alice_, "/team/new", "x").code(), Code::kPermission);
    if (purge) {
      EXPECT_EQ(Read(*s, "/team/shared"), "root's") << "alice's edit drops out, the previous version shows";
      EXPECT_FALSE(s->Stat("/team/own").ok());
    } else {
      EXPECT_EQ(Read(*s, "/team/shared"), "alice's");
      EXPECT_EQ(Read(*s, "/team/own"), "alice's own");
    }
  }
}

TEST_F(StoreTest, WritesByARevokedKeyFromElsewhereAreIgnored) {
  auto a = f_.Create(root_, f_.NewDir());
  ASSERT_TRUE(a->Grant(root_, "/team", alice_.public_key).ok());
  ASSERT_TRUE(a->WriteFile(alice_, "/team/f", "before").ok());
  auto b = Replica(&f_, *a);
  ASSERT_TRUE(a->Revoke(root_, "/team", alice_.public_key, false).ok());
  ASSERT_TRUE(b->WriteFile(alice_, "/team/f", "after revoke, partitioned").ok());
  CopyAll(*b, a.get());
  CopyAll(*a, b.get());
  EXPECT_EQ(Read(*a, "/team/f"), "before");
  EXPECT_EQ(Read(*b, "/team/f"), "before");
  EXPECT_EQ(a->view().RootDigest(), b->view().RootDigest());
}

TEST_F(StoreTest, RevertRestoresAnEarlierRevision) {
  auto s = f_.Create(root_, f_.NewDir());
  ASSERT_TRUE(s->WriteFile(root_, "/f", "one").ok());
  const std::string first = ToHex(s->view().Lookup("/f")->chain().back()->hash);
  ASSERT_TRUE(s->WriteFile(root_, "/f", std::string(2000, 't')).ok());
  ASSERT_TRUE(s->Remove(root_, "/f", false).ok());
  EXPECT_FALSE(s->Stat("/f").ok());
  EXPECT_EQ(s->Revert(root_, "/f", "zz").code(), Code::kInvalid);
  EXPECT_EQ(s->Revert(root_, "/f", "00000000").code(), Code::kNotFound);
  ASSERT_TRUE(s->Revert(root_, "/f", first.substr(0, 8)).ok());
  EXPECT_EQ(Read(*s, "/f"), "one");
  EXPECT_EQ(s->view().Lookup("/f")->chain().size(), 4u);

  // What the path showed before each entry: nothing, "one", the long
  // write, nothing (deleted), and "one" again after the revert.
  const PathNode* n = s->view().Lookup("/f");
  EXPECT_EQ(s->view().StateBefore(n, 0).kind, Kind::kNone);
  EXPECT_EQ(s->view().StateBefore(n, 1).content, n->chain()[0]);
  EXPECT_EQ(s->view().StateBefore(n, 2).content, n->chain()[1]);
  EXPECT_EQ(s->view().StateBefore(n, 3).kind, Kind::kNone);
  EXPECT_EQ(s->view().StateBefore(n, 4).content, n->chain()[0]);
  EXPECT_EQ(s->view().StateBefore(n, 99), n->state());
  EXPECT_EQ(s->view().StateBefore(n, 4).head, n->chain()[3]);
}

TEST_F(StoreTest, LinksSymlinksAndModes) {
  auto s = f_.Create(root_, f_.NewDir());
  ASSERT_TRUE(s->WriteFile(root_, "/target", "content").ok());
  ASSERT_TRUE(s->Link(root_, "/hard", "/target").ok());
  ASSERT_TRUE(s->Symlink(root_, "/soft", "target").ok());
  ASSERT_TRUE(s->SetExec(root_, "/target", true).ok());
  EXPECT_EQ(Read(*s, "/hard"), "content");
  ASSERT_TRUE(s->WriteFile(root_, "/target", "updated").ok());
  EXPECT_EQ(Read(*s, "/hard"), "updated");
  EXPECT_EQ(Read(*s, "/soft"), "target");
  EXPECT_EQ((*s->Stat("/soft"))->state().kind, Kind::kSymlink);
  EXPECT_TRUE((*s->Stat("/target"))->state().exec) << "a new write keeps the executable bit";
  EXPECT_EQ(s->Symlink(root_, "/soft", "again").code(), Code::kExists);
  EXPECT_EQ(s->Link(root_, "/l2", "/nowhere").code(), Code::kNotFound);
}

// Rename is one batch: the new name (sharing the blocks), the mode and
// attributes it needs, the delete of the old name; for files, symlinks and hard links,
// over nothing or over what was there, and it survives a reopen.
TEST_F(StoreTest, RenameMovesFilesSymlinksAndLinksInOneBatch) {
  const std::string dir = f_.NewDir();
  auto s = f_.Create(root_, dir);
  std::string big(300000, 'x');
  for (size_t i = 0; i < big.size(); i += 97) big[i] = static_cast<char>('a' + i % 26);
  ASSERT_TRUE(s->WriteFile(root_, "/tmp", big).ok());
  ASSERT_TRUE(s->SetExec(root_, "/tmp", true).ok());
  ASSERT_TRUE(s->WriteFile(root_, "/app", "old").ok());
  const size_t blocks = s->log().block_count(), entries = s->log().entry_count();
  ASSERT_TRUE(s->Rename(root_, "/tmp", "/app").ok());
  EXPECT_EQ(Read(*s, "/app"), big);
  EXPECT_TRUE((*s->Stat("/app"))->state().exec);
  EXPECT_FALSE(s->Stat("/tmp").ok());
  EXPECT_EQ(s->log().block_count(), blocks) << "the content's blocks are shared, not copied";
  EXPECT_EQ(s->log().entry_count(), entries + 4) << "write, mode, attr (its mtime), delete";

  // `ln -sfn v2 current`: the symlink is replaced, never absent.
  ASSERT_TRUE(s->Symlink(root_, "/current", "v1").ok());
  ASSERT_TRUE(s->Symlink(root_, "/current.new", "v2").ok());
  ASSERT_TRUE(s->Rename(root_, "/current.new", "/current").ok());
  EXPECT_EQ(Read(*s, "/current"), "v2");
  EXPECT_EQ((*s->Stat("/current"))->state().kind, Kind::kSymlink);

  ASSERT_TRUE(s->Link(root_, "/hard", "/app").ok());
  ASSERT_TRUE(s->Rename(root_, "/hard", "/moved").ok());
  EXPECT_EQ((*s->Stat("/moved"))->state().kind, Kind::kLink);
  EXPECT_EQ(Read(*s, "/moved"), big);

  // A plain file over an executable one becomes plain.
  ASSERT_TRUE(s->WriteFile(root_, "/plain", "p").ok());
  ASSERT_TRUE(s->Rename(root_, "/plain", "/app").ok());
  EXPECT_FALSE((*s->Stat("/app"))->state().exec);

  ASSERT_TRUE(s->Mkdir(root_, "/d", false).ok());
  EXPECT_EQ(s->Rename(root_, "/d", "/e").code(), Code::kIsDir);
  EXPECT_EQ(s->Rename(root_, "/app", "/d").code(), Code::kIsDir);
  EXPECT_EQ(s->Rename(root_, "/none", "/x").code(), Code::kNotFound);
  EXPECT_EQ(s->Rename(alice_, "/app", "/x").code(), Code::kPermission);

  const std::string digest = ToHex(s->view().RootDigest());
  s.reset();
  auto again = Store::Open(dir, f_.Options());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(ToHex((*again)->view().RootDigest()), digest);
  EXPECT_EQ(Read(**again, "/current"), "v2");
}

TEST_F(StoreTest, WriteWhoseBlocksAreMissingStaysInvisibleUntilTheyArrive) {
  auto a = f_.Create(root_, f_.NewDir());
  ASSERT_TRUE(a->WriteFile(root_, "/f", "old").ok());
  auto b = Replica(&f_, *a);
  std::string big(50000, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>('a' + (i * 7919) % 26);
  ASSERT_TRUE(a->WriteFile(root_, "/f", big).ok());
  ASSERT_TRUE(b->AddEntry(EntryBytes(*a).back()).ok());
  EXPECT_EQ(Read(*b, "/f"), "old") << "the previous version stays visible";
  EXPECT_EQ(b->view().RootDigest(), a->view().RootDigest()) << "digests cover entries, not blocks";
  auto blocks = testing::BlockBytes(*a);
  ASSERT_FALSE(blocks.empty());
  for (size_t i = 0; i + 1 < blocks.size(); ++i) ASSERT_TRUE(b->AddBlock(blocks[i]).ok());
  EXPECT_EQ(Read(*b, "/f"), "old");
  ASSERT_TRUE(b->AddBlock(blocks.back()).ok());
  EXPECT_EQ(Read(*b, "/f"), big);
  EXPECT_TRUE(b->view().incomplete().empty());
}

TEST_F(StoreTest, ALocalWriteOfTheSameBlocksCompletesAWaitingRemoteWrite) {
  auto a = f_.Create(root_, f_.NewDir());
  auto b = Replica(&f_, *a);
  std::string big(30000, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>('a' + (i * 13) % 26);
  ASSERT_TRUE(a->WriteFile(root_, "/remote", big).ok());
  ASSERT_TRUE(b->AddEntry(EntryBytes(*a).back()).ok());
  EXPECT_FALSE(b->Stat("/remote").ok());
  ASSERT_TRUE(b->WriteFile(root_, "/local", big).ok());
  EXPECT_EQ(Read(*b, "/remote"), big);
  EXPECT_TRUE(b->Wanted(100).empty());
}

TEST_F(StoreTest, UnrequestedBlocksAreNotStored) {
  auto s = f_.Create(root_, f_.NewDir());
  for (int i = 0; i < 100; ++i) {
    std::string junk(1, kDataBlock);
    junk += "junk " + std::to_string(i);
    ASSERT_TRUE(s->AddBlock(junk).ok());
  }
  EXPECT_EQ(s->log().block_count(), 0u);
}

TEST_F(StoreTest, WaitPoolStaysBoundedUnderAFlood) {
  StoreOptions o = f_.Options();
  o.max_pending_entries = 100;
  auto a = Store::Create(f_.NewDir(), root_, "fs", "", o);
  ASSERT_TRUE(a.ok());
  for (int i = 0; i < 1000; ++i) {
    Entry e = MakeEntry(bob_, Action::kMkdir, Relation::kChild, HashBytes("nowhere" + std::to_string(i)), "d");
    ASSERT_TRUE((*a)->AddEntry(e.Encode()).ok());
  }
  EXPECT_EQ((*a)->pending_count(), 100u);
  // A legitimate out-of-order entry still gets a place.
  auto b = Replica(&f_, **a);
  ASSERT_TRUE(b->WriteFile(root_, "/d", "x").ok());
  ASSERT_TRUE(b->WriteFile(root_, "/d", "y").ok());
  const auto all = EntryBytes(*b);
  EXPECT_EQ(*(*a)->AddEntry(all[2]), Placement::kMissingParent);
  EXPECT_EQ(*(*a)->AddEntry(all[1]), Placement::kReady);
  EXPECT_EQ(Read(**a, "/d"), "y");
}

TEST_F(StoreTest, FileOverTheLimitIsRefused) {
  StoreOptions o = f_.Options();
  o.max_file_bytes = 4096;
  auto s = Store::Create(f_.NewDir(), root_, "fs", "", o);
  ASSERT_TRUE(s.ok());
  Status st = (*s)->WriteFile(root_, "/f", std::string(4097, 'x'));
  EXPECT_EQ(st.code(), Code::kTooLarge);
  EXPECT_EQ((*s)->log().entry_count(), 1u);
}

TEST_F(StoreTest, RemovingANonEmptyDirectoryNeedsRecursive) {
  auto s = f_.Create(root_, f_.NewDir());
  ASSERT_TRUE(s->WriteFile(root_, "/d/f", "x").code() == Code::kNotFound);
  ASSERT_TRUE(s->Mkdir(root_, "/d/e", true).ok());
  ASSERT_TRUE(s->WriteFile(root_, "/d/e/f", "x").ok());
  EXPECT_EQ(s->Remove(root_, "/d", false).code(), Code::kNotEmpty);
  ASSERT_TRUE(s->Remove(root_, "/d", true).ok());
  EXPECT_FALSE(s->Stat("/d").ok());
  ASSERT_TRUE(s->Mkdir(root_, "/d", false).ok());
  auto list = s->List("/d");
  ASSERT_TRUE(list.ok());
  EXPECT_TRUE(list->empty()) << "a recreated directory does not bring back deleted children";
}

TEST_F(StoreTest, RejectsBadPaths) {
  auto s = f_.Create(root_, f_.NewDir());
  EXPECT_EQ(s->WriteFile(root_, "relative", "x").code(), Code::kInvalid);
  EXPECT_EQ(s->WriteFile(root_, "/a/../b", "x").code(), Code::kInvalid);
  EXPECT_EQ(s->WriteFile(root_, "/" + std::string(256, 'n'), "x").code(), Code::kTooLarge);
  EXPECT_EQ(s->WriteFile(root_, "/", "x").code(), Code::kIsDir);
  ASSERT_TRUE(s->WriteFile(root_, "/file", "x").ok());
  EXPECT_EQ(s->WriteFile(root_, "/file/child", "x").code(), Code::kNotDir);
}

}  // namespace
}  // namespace basefs
