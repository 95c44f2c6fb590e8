#include "fuse/status_dir.h"

#include <gtest/gtest.h>

#include "fuse/fuse_mount.h"

namespace basefs {
namespace {

class StatusDirTest : public ::testing::Test {
 protected:
  StatusDirTest()
      : files_{{"members", [this] { return "m" + std::to_string(++renders_); }}, {"ports", [] { return "{}"; }}},
        dir_(&files_, Owner{1000, 100}) {}

  int renders_ = 0;
  std::vector<StatusFile> files_;
  StatusDir dir_;
};

TEST_F(StatusDirTest, FilesHaveFixedInodesInTheirOrder) {
  EXPECT_EQ(dir_.Find("members"), kFirstStatusFileIno);
  EXPECT_EQ(dir_.Find("ports"), kFirstStatusFileIno + 1);
  EXPECT_FALSE(dir_.Find("nothing").has_value());
  EXPECT_EQ(dir_.FileOf(kFirstStatusFileIno + 1)->name, "ports");
}

TEST_F(StatusDirTest, StatusInodesEndBelowTheFirstDynamicOne) {
  EXPECT_TRUE(IsStatusIno(kStatusDirIno));
  EXPECT_TRUE(IsStatusIno(kFirstDynamicIno - 1));
  EXPECT_FALSE(IsStatusIno(InodeTable::kRootIno));
  EXPECT_FALSE(IsStatusIno(kFirstDynamicIno));
}

TEST_F(StatusDirTest, TheDirectoryAndInodesPastTheFilesAreNoFile) {
  EXPECT_EQ(dir_.FileOf(kStatusDirIno), nullptr);
  EXPECT_EQ(dir_.FileOf(kFirstStatusFileIno + 2), nullptr);
}

TEST_F(StatusDirTest, ASnapshotIsRenderedOnceAtOpen) {
  dir_.TakeSnapshot(5, *dir_.FileOf(kFirstStatusFileIno));
  EXPECT_EQ(*dir_.Snapshot(5), "m1");
  EXPECT_EQ(*dir_.Snapshot(5), "m1");
  EXPECT_EQ(renders_, 1);
  dir_.DropSnapshot(5);
  EXPECT_EQ(dir_.Snapshot(5), nullptr);
}

TEST_F(StatusDirTest, EverythingIsReadOnlyAndOwnedByTheMountsOwner) {
  const struct stat d = dir_.DirStat();
  EXPECT_EQ(d.st_mode, static_cast<mode_t>(S_IFDIR | 0555));
  EXPECT_EQ(d.st_ino, kStatusDirIno);
  EXPECT_EQ(d.st_uid, 1000u);
  const struct stat f = dir_.FileStat(kFirstStatusFileIno, 12);
  EXPECT_EQ(f.st_mode, static_cast<mode_t>(S_IFREG | 0444));
  EXPECT_EQ(f.st_size, 12);
  EXPECT_EQ(f.st_gid, 100u);
}

}  // namespace
}  // namespace basefs
