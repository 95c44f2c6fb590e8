#include "zones/sources.h"

#include <gtest/gtest.h>

#include "store/test_util.h"

namespace basefs {
namespace {

class SourcesTest : public ::testing::Test {
 protected:
  SourcesTest() : root_(GenerateKeyPair()), other_(GenerateKeyPair()), store_(f_.Create(root_, f_.NewDir())) {
    EXPECT_TRUE(store_->Mkdir(root_, "/services/web", true).ok());
    EXPECT_TRUE(store_->Grant(root_, "/services", other_.public_key).ok());
  }
  // The files as CollectSharedSources gives them with the cache, by path.
  std::map<std::string, SharedSource> Collect() {
    std::vector<BadFile> bad;
    std::map<std::string, SharedSource> out;
    for (const SharedSource& f : CollectSharedSources(*store_, &bad, &cache_)) out[f->path] = f;
    // Whatever the cache gave is what a collection from nothing gives.
    std::vector<BadFile> bad_fresh;
    const std::vector<SourceFile> fresh = CollectSources(*store_, &bad_fresh);
    EXPECT_EQ(fresh.size(), out.size());
    for (const SourceFile& f : fresh) {
      auto it = out.find(f.path);
      if (it == out.end()) {
        ADD_FAILURE() << "missing " << f.path;
        continue;
      }
      EXPECT_EQ(it->second->content, f.content) << f.path;
      EXPECT_EQ(it->second->author, f.author) << f.path;
    }
    EXPECT_EQ(bad.size(), bad_fresh.size());
    return out;
  }

  testing::MemStoreFactory f_;
  KeyPair root_, other_;
  std::unique_ptr<Store> store_;
  SourceCache cache_;
};

TEST_F(SourcesTest, AnUnchangedFileIsTheSameObjectAndAChangedOneIsNew) {
  ASSERT_TRUE(store_->WriteFile(root_, "/services/web/a", "port = 1\n").ok());
  ASSERT_TRUE(store_->WriteFile(root_, "/services/web/b", "port = 2\n").ok());
  auto first = Collect();
  ASSERT_EQ(first.size(), 2u);
  ASSERT_TRUE(store_->WriteFile(root_, "/services/web/b", "port = 3\n").ok());
  auto second = Collect();
  EXPECT_EQ(second["/services/web/a"].get(), first["/services/web/a"].get());
  EXPECT_NE(second["/services/web/b"].get(), first["/services/web/b"].get());
  EXPECT_EQ(second["/services/web/b"]->content, "port = 3\n");
  EXPECT_EQ(cache_.size(), 2u);
  ASSERT_TRUE(store_->Remove(root_, "/services/web/a", false).ok());
  EXPECT_EQ(Collect().count("/services/web/a"), 0u);
  EXPECT_EQ(cache_.size(), 1u) << "what went is swept";
}

TEST_F(SourcesTest, TheSameContentByAnotherKeyOrAModeByAnotherKeyChangesTheAuthor) {
  ASSERT_TRUE(store_->WriteFile(root_, "/services/web/a", "port = 1\n").ok());
  const std::string by_root = Collect()["/services/web/a"]->author;
  ASSERT_TRUE(store_->WriteFile(other_, "/services/web/a", "port = 1\n").ok());
  const std::string by_other = Collect()["/services/web/a"]->author;
  EXPECT_NE(by_other, by_root);
  EXPECT_EQ(by_other, ToBase64(other_.public_key));
  ASSERT_TRUE(store_->SetExec(root_, "/services/web/a", true).ok());
  EXPECT_EQ(Collect()["/services/web/a"]->author, by_root);
}

TEST_F(SourcesTest, ARevertAndAHardLinkFollowTheirContent) {
  ASSERT_TRUE(store_->WriteFile(root_, "/services/web/a", "port = 1\n").ok());
  const std::string first = ToHex(store_->view().Lookup("/services/web/a")->chain().back()->hash);
  ASSERT_TRUE(store_->WriteFile(root_, "/services/web/a", "port = 2\n").ok());
  ASSERT_TRUE(store_->Link(root_, "/services/web/l", "/services/web/a").ok());
  auto before = Collect();
  EXPECT_EQ(before["/services/web/l"]->content, "port = 2\n");
  ASSERT_TRUE(store_->Revert(root_, "/services/web/a", first.substr(0, 8)).ok());
  auto after = Collect();
  EXPECT_EQ(after["/services/web/a"]->content, "port = 1\n");
  // The link's own entry did not change; its content did.
  EXPECT_EQ(after["/services/web/l"]->content, "port = 1\n");
}

}  // namespace
}  // namespace basefs
