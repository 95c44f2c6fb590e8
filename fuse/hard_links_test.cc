#include "fuse/hard_links.h"

#include <gtest/gtest.h>

#include "store/test_util.h"

namespace basefs {
namespace {

using testing::MemStoreFactory;

class HardLinksTest : public ::testing::Test {
 protected:
  HardLinksTest() : root_(GenerateKeyPair()), store_(f_.Create(root_, f_.NewDir())), links_(store_.get()) {}

  std::string Read(const std::string& path) {
    auto r = store_->ReadFile(path);
    return r.ok() ? *r : "<" + r.status().message() + ">";
  }

  MemStoreFactory f_;
  KeyPair root_;
  std::unique_ptr<Store> store_;
  HardLinks links_;
};

TEST_F(HardLinksTest, SetRecordsTheLinkBothWays) {
  const std::string target = "/t";
  links_.Set("/a", &target);
  links_.Set("/b", &target);
  EXPECT_TRUE(links_.IsLink("/a"));
  ASSERT_NE(links_.LinksTo("/t"), nullptr);
  EXPECT_EQ(*links_.LinksTo("/t"), (std::set<std::string>{"/a", "/b"}));
}

TEST_F(HardLinksTest, SetToAnotherTargetForgetsTheOldOne) {
  const std::string t1 = "/t1", t2 = "/t2";
  links_.Set("/a", &t1);
  links_.Set("/a", &t2);
  EXPECT_EQ(links_.LinksTo("/t1"), nullptr);
  ASSERT_NE(links_.LinksTo("/t2"), nullptr);
  EXPECT_EQ(*links_.LinksTo("/t2"), std::set<std::string>{"/a"});
  EXPECT_EQ(links_.size(), 1u);
}

TEST_F(HardLinksTest, SetNullForgetsTheLinkButNotTheOtherLinksToItsTarget) {
  const std::string target = "/t";
  links_.Set("/a", &target);
  links_.Set("/b", &target);
  links_.Set("/a", nullptr);
  EXPECT_FALSE(links_.IsLink("/a"));
  EXPECT_EQ(*links_.LinksTo("/t"), std::set<std::string>{"/b"});
  links_.Set("/b", nullptr);
  EXPECT_EQ(links_.LinksTo("/t"), nullptr);
}

TEST_F(HardLinksTest, TrackTakesWhatTheViewSays) {
  ASSERT_TRUE(store_->WriteFile(root_, "/t", "x").ok());
  ASSERT_TRUE(store_->Link(root_, "/l", "/t").ok());
  links_.Track("/l");
  ASSERT_NE(links_.LinksTo("/t"), nullptr);
  ASSERT_TRUE(store_->WriteFile(root_, "/l", "own").ok());
  links_.Track("/l");
  EXPECT_FALSE(links_.IsLink("/l"));
  EXPECT_EQ(links_.LinksTo("/t"), nullptr);
}

TEST_F(HardLinksTest, FindBelowFindsLinksInSubdirectories) {
  ASSERT_TRUE(store_->Mkdir(root_, "/d/e", true).ok());
  ASSERT_TRUE(store_->WriteFile(root_, "/t", "x").ok());
  ASSERT_TRUE(store_->Link(root_, "/l1", "/t").ok());
  ASSERT_TRUE(store_->Link(root_, "/d/e/l2", "/t").ok());
  links_.FindBelow(*store_->Stat("/"));
  ASSERT_NE(links_.LinksTo("/t"), nullptr);
  EXPECT_EQ(*links_.LinksTo("/t"), (std::set<std::string>{"/d/e/l2", "/l1"}));
}

TEST_F(HardLinksTest, RehomeMakesTheFirstLinkTheFileAndTheOthersNameIt) {
  ASSERT_TRUE(store_->WriteFile(root_, "/t", "content").ok());
  ASSERT_TRUE(store_->SetExec(root_, "/t", true).ok());
  AttrChange attrs;
  attrs.group = "adm";
  attrs.mtime = Mtime{1577836800, 0};
  ASSERT_TRUE(store_->SetAttrs(root_, "/t", attrs).ok());
  ASSERT_TRUE(store_->Link(root_, "/l1", "/t").ok());
  ASSERT_TRUE(store_->Link(root_, "/l2", "/l1").ok()) << "a link to a link names the file";
  EXPECT_EQ((*store_->Stat("/l2"))->state().content->entry.content, "/t");
  links_.Track("/l1");
  links_.Track("/l2");
  EXPECT_EQ(links_.CountTo("/t"), 2u);
  EXPECT_EQ(links_.RehomeLinksTo(root_, "/t"), "/l1");
  const PathNode* l1 = *store_->Stat("/l1");
  EXPECT_EQ(l1->state().kind, Kind::kFile);
  EXPECT_TRUE(l1->state().exec);
  EXPECT_EQ(l1->Attrs().group, "adm");
  EXPECT_EQ(l1->Attrs().mtime, (Mtime{1577836800, 0}));
  EXPECT_EQ(Read("/l1"), "content");
  EXPECT_EQ((*store_->Stat("/l2"))->state().content->entry.content, "/l1");
  EXPECT_EQ(links_.CountTo("/t"), 0u);
  EXPECT_EQ(links_.CountTo("/l1"), 1u);
  EXPECT_EQ(links_.RehomeLinksTo(root_, "/l2"), std::nullopt) << "nothing names it";
}

TEST_F(HardLinksTest, RehomeSkipsALinkThatNoLongerNamesThePath) {
  ASSERT_TRUE(store_->WriteFile(root_, "/t", "t").ok());
  ASSERT_TRUE(store_->WriteFile(root_, "/u", "u").ok());
  const std::string stale = "/t";
  links_.Set("/l", &stale);  // the index says /t, the view says /u
  ASSERT_TRUE(store_->Link(root_, "/l", "/u").ok());
  EXPECT_EQ(links_.RehomeLinksTo(root_, "/t"), std::nullopt);
  EXPECT_EQ((*store_->Stat("/l"))->state().kind, Kind::kLink);
  EXPECT_EQ(links_.LinksTo("/t"), nullptr);
  ASSERT_NE(links_.LinksTo("/u"), nullptr);
}

TEST_F(HardLinksTest, LinksFollowTheirFileWhenItMoves) {
  ASSERT_TRUE(store_->WriteFile(root_, "/t", "t").ok());
  ASSERT_TRUE(store_->Link(root_, "/l", "/t").ok());
  links_.Track("/l");
  ASSERT_TRUE(store_->Rename(root_, "/t", "/moved").ok());
  links_.RetargetLinks(root_, "/t", "/moved");
  EXPECT_EQ((*store_->Stat("/l"))->state().content->entry.content, "/moved");
  EXPECT_EQ(Read("/l"), "t");
  EXPECT_EQ(links_.CountTo("/moved"), 1u);
}

TEST_F(HardLinksTest, ContentPathFollowsALinkToItsTarget) {
  ASSERT_TRUE(store_->Mkdir(root_, "/d", false).ok());
  ASSERT_TRUE(store_->WriteFile(root_, "/d/t", "x").ok());
  ASSERT_TRUE(store_->Link(root_, "/l", "/d/t").ok());
  EXPECT_EQ(HardLinks::ContentPath(*store_, "/l"), "/d/t");
  EXPECT_EQ(HardLinks::ContentPath(*store_, "/d/t"), "/d/t");
  EXPECT_EQ(HardLinks::ContentPath(*store_, "/missing"), "/missing");
}

TEST_F(HardLinksTest, ResolveOfALinkWhoseTargetWentIsNull) {
  ASSERT_TRUE(store_->WriteFile(root_, "/t", "x").ok());
  ASSERT_TRUE(store_->Link(root_, "/l", "/t").ok());
  EXPECT_EQ(HardLinks::Resolve(*store_, *store_->Stat("/l")), *store_->Stat("/t"));
  ASSERT_TRUE(store_->Remove(root_, "/t", false).ok());
  EXPECT_EQ(HardLinks::Resolve(*store_, *store_->Stat("/l")), nullptr);
}

}  // namespace
}  // namespace basefs
