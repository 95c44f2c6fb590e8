#include "fuse/attributes.h"

#include <gtest/gtest.h>

#include "store/test_util.h"

namespace basefs {
namespace {

using testing::MemStoreFactory;

class AttributesTest : public ::testing::Test {
 protected:
  AttributesTest()
      : root_(GenerateKeyPair()), store_(f_.Create(root_, f_.NewDir())), attrs_(store_.get(), Owner{1000, 100}) {}

  struct stat Of(const std::string& path) {
    return attrs_.OfNode(70, *store_->Stat(path));
  }

  MemStoreFactory f_;
  KeyPair root_;
  std::unique_ptr<Store> store_;
  Attributes attrs_;
};

TEST_F(AttributesTest, OnlyTheExecutableBitOfAFileShows) {
  ASSERT_TRUE(store_->WriteFile(root_, "/f", "12345").ok());
  EXPECT_EQ(Of("/f").st_mode, static_cast<mode_t>(S_IFREG | 0644));
  EXPECT_EQ(Of("/f").st_size, 5);
  EXPECT_EQ(Of("/f").st_uid, 1000u);
  ASSERT_TRUE(store_->SetExec(root_, "/f", true).ok());
  EXPECT_EQ(Of("/f").st_mode, static_cast<mode_t>(S_IFREG | 0755));
}

TEST_F(AttributesTest, DirectoriesAndSymlinksHaveFixedModes) {
  ASSERT_TRUE(store_->Mkdir(root_, "/d", false).ok());
  ASSERT_TRUE(store_->Symlink(root_, "/s", "target").ok());
  EXPECT_EQ(Of("/d").st_mode, static_cast<mode_t>(S_IFDIR | 0755));
  EXPECT_EQ(Of("/d").st_nlink, 2u);
  EXPECT_EQ(Of("/s").st_mode, static_cast<mode_t>(S_IFLNK | 0777));
  EXPECT_EQ(Of("/s").st_size, 6);
}

TEST_F(AttributesTest, AHardLinkShowsItsTargetsSizeAndMode) {
  ASSERT_TRUE(store_->WriteFile(root_, "/t", "1234567").ok());
  ASSERT_TRUE(store_->SetExec(root_, "/t", true).ok());
  ASSERT_TRUE(store_->Link(root_, "/l", "/t").ok());
  EXPECT_EQ(Of("/l").st_size, 7);
  EXPECT_EQ(Of("/l").st_mode, static_cast<mode_t>(S_IFREG | 0755));
  EXPECT_EQ(Of("/l").st_nlink, 1u);
}

TEST_F(AttributesTest, AnOpenFileShowsItsBuffer) {
  OpenFile f;
  f.data = "abc";
  f.exec = true;
  f.changed_at = timespec{5, 500000000};
  const struct stat st = attrs_.OfOpen(71, f);
  EXPECT_EQ(st.st_size, 3);
  EXPECT_EQ(st.st_mode, static_cast<mode_t>(S_IFREG | 0755));
  EXPECT_EQ(st.st_mtim.tv_sec, 5);
  EXPECT_EQ(st.st_mtim.tv_nsec, 500000000);
}

TEST_F(AttributesTest, StoredModesAndOwnersShowAndUnknownNamesFallBackToTheMountsOwner) {
  AttrChange c;
  c.mode = 0640;
  c.owner = "root";
  c.group = "no-such-group-here";
  c.mtime = Mtime{-1, 5};
  ASSERT_TRUE(store_->WriteFile(root_, "/f", "x", c).ok());
  const struct stat st = Of("/f");
  EXPECT_EQ(st.st_mode, static_cast<mode_t>(S_IFREG | 0640));
  EXPECT_EQ(st.st_uid, 0u) << "root is a name every host has";
  EXPECT_EQ(st.st_gid, 100u) << "a group unknown here shows as the mount's";
  EXPECT_EQ(st.st_mtim.tv_sec, -1);
  EXPECT_EQ(st.st_mtim.tv_nsec, 5);
  EXPECT_EQ(st.st_atim.tv_sec, -1) << "atime shows the mtime";
}

TEST_F(AttributesTest, CreationStoresOnlyWhatDiffersFromTheDefaults) {
  ASSERT_TRUE(store_->Mkdir(root_, "/d", false).ok());
  const PathNode* d = *store_->Stat("/d");
  EXPECT_TRUE(attrs_.ForCreation(0644, false, false, 1000, 100, d).empty()) << "the mount's owner, 0644";
  EXPECT_TRUE(attrs_.ForCreation(0755, true, true, 1000, 100, d).empty());
  EXPECT_EQ(attrs_.ForCreation(0640, false, false, 1000, 100, d).mode, 0640);
  EXPECT_EQ(attrs_.ForCreation(04755, false, true, 1000, 100, d).mode, std::nullopt) << "set-uid masked: 0755";
  EXPECT_EQ(attrs_.ForCreation(0644, false, false, 0, 100, d).owner, "root") << "another user: stored by name";
  // In a setgid directory: its group, and setgid for directories.
  AttrChange sg;
  sg.mode = 02775;
  sg.group = "adm";
  ASSERT_TRUE(store_->SetAttrs(root_, "/d", sg).ok());
  const AttrChange sub = attrs_.ForCreation(0755, true, true, 1000, 100, d);
  EXPECT_EQ(sub.mode, 02755);
  EXPECT_EQ(sub.group, "adm");
  EXPECT_EQ(attrs_.ForCreation(0644, false, false, 1000, 100, d).group, "adm");
}

TEST_F(AttributesTest, ASetattrStoresOnlyWhatTheLogDoesNotAlreadySay) {
  // The mount's owner here is uid 1000, gid 100 (names, if any, are this
  // host's); defaults 0644/0755.
  StoredAttrs none;
  AttrChange c;
  c.mode = 0644;
  EXPECT_TRUE(attrs_.Needed(none, false, false, c).empty()) << "cp -a's chmod to what is shown";
  c.mode = 0755;
  EXPECT_EQ(attrs_.Needed(none, false, false, c).mode, 0755) << "the executable bit changes";
  EXPECT_TRUE(attrs_.Needed(none, true, false, c).empty()) << "a directory's default";
  c.mode = 0600;
  EXPECT_EQ(attrs_.Needed(none, false, false, c).mode, 0600);
  StoredAttrs kept;
  kept.perm = 0600;
  kept.owner = "root";
  EXPECT_TRUE(attrs_.Needed(kept, false, false, c).empty()) << "already stored";
  c.mode = 0644;
  EXPECT_EQ(attrs_.Needed(kept, false, false, c).mode, 0644) << "back to the default, over stored bits";
  AttrChange own;
  own.owner = "root";
  EXPECT_TRUE(attrs_.Needed(kept, false, false, own).empty());
  EXPECT_EQ(attrs_.Needed(none, false, false, own).owner, "root") << "root is not the mount's owner here";
  own.mtime = Mtime{1, 0};
  EXPECT_EQ(attrs_.Needed(kept, false, false, own).mtime, (Mtime{1, 0})) << "a time is always stored";
}

TEST(OwnerTest, ParsesNamesNumbersAndTheUmask) {
  auto o = Owner::Parse("root:adm", "027");
  ASSERT_TRUE(o.ok()) << o.status().message();
  EXPECT_EQ(o->uid, 0u);
  EXPECT_EQ(o->gid, 4u) << "Debian's adm";
  EXPECT_EQ(o->FileMode(false), 0640u);
  o = Owner::Parse("1234:5678", "022");
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->uid, 1234u);
  EXPECT_EQ(o->gid, 5678u);
  o = Owner::Parse("nobody", "022");
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->gid, 65534u) << "a user brings its primary group";
  EXPECT_EQ(Owner::Parse("no-such-user-here", "022").status().code(), Code::kNotFound);
  EXPECT_EQ(Owner::Parse("root:no-such-group-here", "022").status().code(), Code::kNotFound);
}

TEST_F(AttributesTest, XattrsDescribeTheCurrentEntry) {
  ASSERT_TRUE(store_->WriteFile(root_, "/f", "a").ok());
  ASSERT_TRUE(store_->WriteFile(root_, "/f", "b").ok());
  std::string v;
  EXPECT_EQ(attrs_.Xattr("/f", "user.basefs.revisions", &v), 0);
  EXPECT_EQ(v, "2");
  EXPECT_EQ(attrs_.Xattr("/f", "user.basefs.author", &v), 0);
  EXPECT_EQ(v, ToBase64(root_.public_key));
}

TEST_F(AttributesTest, XattrOfAnUnknownNameOrAPathWithoutEntryIsENODATA) {
  ASSERT_TRUE(store_->WriteFile(root_, "/f", "a").ok());
  std::string v;
  EXPECT_EQ(attrs_.Xattr("/f", "user.other", &v), ENODATA);
  EXPECT_EQ(attrs_.Xattr("/missing", "user.basefs.hash", &v), ENODATA);
}

TEST_F(AttributesTest, XattrNamesListsTheThreeNames) {
  const std::string names = Attributes::XattrNames();
  EXPECT_EQ(names, std::string("user.basefs.author\0user.basefs.hash\0user.basefs.revisions\0", 58));
}

}  // namespace
}  // namespace basefs
