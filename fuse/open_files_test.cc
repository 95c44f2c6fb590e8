#include "fuse/open_files.h"

#include <vector>

#include <gtest/gtest.h>

#include "store/test_util.h"

namespace basefs {
namespace {

using testing::MemStoreFactory;

class OpenFilesTest : public ::testing::Test {
 protected:
  static constexpr uint64_t kBudget = 100;
  static constexpr uint64_t kMaxFile = 1000;

  OpenFilesTest()
      : root_(GenerateKeyPair()),
        key_(root_),
        store_(f_.Create(root_, f_.NewDir())),
        files_(store_.get(), kBudget, kMaxFile) {}

  std::string Read(const std::string& path) {
    auto r = store_->ReadFile(path);
    return r.ok() ? *r : "<" + r.status().message() + ">";
  }
  int Save(uint64_t ino, OpenFile* f) {
    return files_.Save(ino, f, key_, [this](const std::string& target) { staled_.push_back(target); });
  }

  MemStoreFactory f_;
  KeyPair root_;
  std::optional<KeyPair> key_;
  std::unique_ptr<Store> store_;
  OpenFiles files_;
  std::vector<std::string> staled_;
};

TEST_F(OpenFilesTest, LoadCountsTheContentAgainstTheBudget) {
  ASSERT_TRUE(store_->WriteFile(root_, "/a", std::string(40, 'a')).ok());
  OpenFile* f = files_.Open(70, "/a", false, false, false);
  EXPECT_FALSE(f->loaded);
  EXPECT_EQ(files_.Load(f), 0);
  EXPECT_EQ(f->data, std::string(40, 'a'));
  EXPECT_EQ(files_.buffered_bytes(), 40u);
}

TEST_F(OpenFilesTest, LoadBeyondTheBudgetIsENOSPC) {
  ASSERT_TRUE(store_->WriteFile(root_, "/a", std::string(60, 'a')).ok());
  ASSERT_TRUE(store_->WriteFile(root_, "/b", std::string(60, 'b')).ok());
  ASSERT_EQ(files_.Load(files_.Open(70, "/a", false, false, false)), 0);
  OpenFile* b = files_.Open(71, "/b", false, false, false);
  EXPECT_EQ(files_.Load(b), ENOSPC);
  EXPECT_FALSE(b->loaded);
  EXPECT_EQ(files_.buffered_bytes(), 60u);
}

TEST_F(OpenFilesTest, UnloadGivesTheBytesBack) {
  ASSERT_TRUE(store_->WriteFile(root_, "/a", std::string(40, 'a')).ok());
  OpenFile* f = files_.Open(70, "/a", false, false, false);
  ASSERT_EQ(files_.Load(f), 0);
  files_.Unload(f);
  EXPECT_FALSE(f->loaded);
  EXPECT_EQ(files_.buffered_bytes(), 0u);
}

TEST_F(OpenFilesTest, LoadOfAnUnlinkedFileIsEIO) {
  ASSERT_TRUE(store_->WriteFile(root_, "/a", "a").ok());
  OpenFile* f = files_.Open(70, "/a", false, false, false);
  f->unlinked = true;
  EXPECT_EQ(files_.Load(f), EIO);
}

TEST_F(OpenFilesTest, WriteGrowsTheBufferAndItsAccount) {
  OpenFile* f = files_.Open(70, "/new", true, false, false);
  EXPECT_EQ(files_.Write(f, "hello", 5, 10), 0);
  EXPECT_EQ(f->data, std::string(10, '\0') + "hello");
  EXPECT_TRUE(f->dirty);
  EXPECT_TRUE(f->written);
  EXPECT_EQ(files_.buffered_bytes(), 15u);
}

TEST_F(OpenFilesTest, WriteBeyondTheBudgetIsENOSPC) {
  OpenFile* f = files_.Open(70, "/new", true, false, false);
  const std::string big(kBudget + 1, 'x');
  EXPECT_EQ(files_.Write(f, big.data(), big.size(), 0), ENOSPC);
  EXPECT_EQ(files_.buffered_bytes(), 0u);
  EXPECT_FALSE(f->failed);
}

TEST_F(OpenFilesTest, WritePastTheSizeLimitIsEFBIGAndTheFileIsNeverStored) {
  OpenFile* f = files_.Open(70, "/new", true, false, false);
  EXPECT_EQ(files_.Write(f, "x", 1, kMaxFile), EFBIG);
  EXPECT_TRUE(f->failed);
  EXPECT_EQ(files_.Write(f, "x", 1, 0), EFBIG);
  EXPECT_EQ(Save(70, f), EFBIG);
  EXPECT_FALSE(store_->Stat("/new").ok());
}

TEST_F(OpenFilesTest, TruncateShrinksAndGrowsTheAccount) {
  OpenFile* f = files_.Open(70, "/new", true, false, false);
  ASSERT_EQ(files_.Write(f, "0123456789", 10, 0), 0);
  EXPECT_EQ(files_.Truncate(f, 4), 0);
  EXPECT_EQ(f->data, "0123");
  EXPECT_EQ(files_.buffered_bytes(), 4u);
  EXPECT_EQ(files_.Truncate(f, kBudget + 1), ENOSPC);
  EXPECT_EQ(files_.Truncate(f, 20), 0);
  EXPECT_EQ(files_.buffered_bytes(), 20u);
}

TEST_F(OpenFilesTest, OpenWithTruncateEmptiesTheBuffer) {
  ASSERT_TRUE(store_->WriteFile(root_, "/a", "old").ok());
  OpenFile* f = files_.Open(70, "/a", false, false, true);
  EXPECT_TRUE(f->loaded);
  EXPECT_TRUE(f->dirty);
  EXPECT_EQ(f->data, "");
}

TEST_F(OpenFilesTest, OpenWithTruncateLeavesAFileThatWentPastTheSizeLimit) {
  OpenFile* f = files_.Open(70, "/new", true, false, false);
  ASSERT_EQ(files_.Write(f, "abc", 3, 0), 0);
  ASSERT_EQ(files_.Write(f, "x", 1, kMaxFile), EFBIG);
  files_.Open(70, "/new", false, false, true);
  EXPECT_EQ(f->data, "abc");
  EXPECT_EQ(f->opens, 2);
}

TEST_F(OpenFilesTest, ACreatedFileIsUnstoredUntilItsSave) {
  OpenFile* f = files_.Open(70, "/new", true, false, false);
  EXPECT_EQ(files_.Unstored("/new"), f);
  EXPECT_TRUE(files_.HasUnstoredChild("/"));
  ASSERT_EQ(files_.Write(f, "hi", 2, 0), 0);
  EXPECT_EQ(Save(70, f), 0);
  EXPECT_EQ(files_.Unstored("/new"), nullptr);
  EXPECT_TRUE(f->stored);
  EXPECT_FALSE(f->dirty);
  EXPECT_EQ(Read("/new"), "hi");
}

TEST_F(OpenFilesTest, SaveOfACreatedExecutableFileStoresTheExecBit) {
  OpenFile* f = files_.Open(70, "/run", true, true, false);
  EXPECT_EQ(Save(70, f), 0);
  EXPECT_TRUE((*store_->Stat("/run"))->state().exec);
}

TEST_F(OpenFilesTest, SaveWithNothingChangedStoresNothing) {
  ASSERT_TRUE(store_->WriteFile(root_, "/a", "a").ok());
  const size_t entries = store_->view().entry_count();
  OpenFile* f = files_.Open(70, "/a", false, false, false);
  ASSERT_EQ(files_.Load(f), 0);
  EXPECT_EQ(Save(70, f), 0);
  EXPECT_EQ(store_->view().entry_count(), entries);
}

TEST_F(OpenFilesTest, SaveThroughAHardLinkWritesItsTargetAndStalesIt) {
  ASSERT_TRUE(store_->WriteFile(root_, "/t", "old").ok());
  ASSERT_TRUE(store_->Link(root_, "/l", "/t").ok());
  OpenFile* f = files_.Open(70, "/l", false, false, true);
  ASSERT_EQ(files_.Write(f, "new", 3, 0), 0);
  EXPECT_EQ(Save(70, f), 0);
  EXPECT_EQ(Read("/t"), "new");
  EXPECT_EQ((*store_->Stat("/l"))->state().kind, Kind::kLink);
  EXPECT_EQ(staled_, std::vector<std::string>{"/t"});
}

TEST_F(OpenFilesTest, UnlinkUnstoredKeepsTheBufferWithoutAName) {
  OpenFile* f = files_.Open(70, "/new", true, false, false);
  EXPECT_TRUE(files_.UnlinkUnstored("/new"));
  EXPECT_FALSE(files_.UnlinkUnstored("/new"));
  EXPECT_TRUE(f->unlinked);
  EXPECT_EQ(files_.Unstored("/new"), nullptr);
  EXPECT_EQ(files_.Find(70), f);
}

TEST_F(OpenFilesTest, MoveUnstoredTakesTheNameFromAnUnstoredFileThere) {
  OpenFile* a = files_.Open(70, "/a", true, false, false);
  OpenFile* b = files_.Open(71, "/b", true, false, false);
  files_.MoveUnstored("/a", "/b");
  EXPECT_EQ(files_.Unstored("/b"), a);
  EXPECT_EQ(files_.Unstored("/a"), nullptr);
  EXPECT_EQ(a->path, "/b");
  EXPECT_TRUE(b->unlinked);
}

TEST_F(OpenFilesTest, EraseFreesTheBufferButNotANewerFilesName) {
  OpenFile* old = files_.Open(70, "/a", true, false, false);
  ASSERT_EQ(files_.Write(old, "x", 1, 0), 0);
  ASSERT_TRUE(files_.UnlinkUnstored("/a"));
  OpenFile* now = files_.Open(71, "/a", true, false, false);
  files_.Erase(70);
  EXPECT_EQ(files_.Find(70), nullptr);
  EXPECT_EQ(files_.buffered_bytes(), 0u);
  EXPECT_EQ(files_.Unstored("/a"), now);
}

TEST_F(OpenFilesTest, AFileBeyondTheBudgetIsReadInRangesWithoutBeingHeld) {
  std::string content(kBudget * 3, 'a');
  for (size_t i = 0; i < content.size(); ++i) content[i] = static_cast<char>('a' + i % 26);
  ASSERT_TRUE(store_->WriteFile(root_, "/big", content).ok());
  OpenFile* f = files_.Open(70, "/big", false, false, false);
  ASSERT_TRUE(files_.ReadsInRanges(*f));
  auto part = files_.ReadRange(f, 100, 50);
  ASSERT_TRUE(part.ok());
  EXPECT_EQ(*part, content.substr(100, 50));
  EXPECT_EQ(files_.buffered_bytes(), 0u);
}

TEST_F(OpenFilesTest, KeepContentLoadsAFileBeforeItsNameGoes) {
  ASSERT_TRUE(store_->WriteFile(root_, "/a", "kept").ok());
  OpenFile* f = files_.Open(70, "/a", false, false, false);
  files_.KeepContent(70);
  ASSERT_TRUE(store_->Remove(root_, "/a", false).ok());
  EXPECT_TRUE(f->loaded);
  EXPECT_EQ(f->data, "kept");
}

TEST_F(OpenFilesTest, KeepDeletedContentKeepsWhatThePathShowedBeforeTheDelete) {
  ASSERT_TRUE(store_->WriteFile(root_, "/a", "first").ok());
  ASSERT_TRUE(store_->WriteFile(root_, "/a", "second").ok());
  OpenFile* f = files_.Open(70, "/a", false, false, false);
  ASSERT_TRUE(store_->Remove(root_, "/a", false).ok());
  files_.KeepDeletedContent(f, "/a");
  EXPECT_TRUE(f->loaded);
  EXPECT_EQ(f->data, "second");
  EXPECT_EQ(files_.buffered_bytes(), 6u);
}

TEST_F(OpenFilesTest, KeepDeletedContentBeyondTheBudgetReadsInRanges) {
  const std::string content(kBudget * 2, 'z');
  ASSERT_TRUE(store_->WriteFile(root_, "/a", content).ok());
  OpenFile* f = files_.Open(70, "/a", false, false, false);
  ASSERT_TRUE(store_->Remove(root_, "/a", false).ok());
  files_.KeepDeletedContent(f, "/a");
  f->unlinked = true;
  EXPECT_FALSE(f->loaded);
  ASSERT_TRUE(files_.ReadsInRanges(*f));
  auto part = files_.ReadRange(f, 0, 10);
  ASSERT_TRUE(part.ok());
  EXPECT_EQ(*part, content.substr(0, 10));
}

}  // namespace
}  // namespace basefs
