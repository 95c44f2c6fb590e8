#include "fuse/inode_table.h"

#include <gtest/gtest.h>

namespace basefs {
namespace {

TEST(InodeTableTest, RootIsOneAndNeverForgotten) {
  InodeTable t;
  ASSERT_NE(t.PathOf(InodeTable::kRootIno), nullptr);
  EXPECT_EQ(*t.PathOf(InodeTable::kRootIno), "/");
  t.Forget(InodeTable::kRootIno, 100);
  EXPECT_EQ(*t.PathOf(InodeTable::kRootIno), "/");
}

TEST(InodeTableTest, SamePathSameNumberWhileReferenced) {
  InodeTable t(64);
  const uint64_t a = t.Ref("/a");
  EXPECT_GE(a, 64u);
  EXPECT_EQ(t.Ref("/a"), a);
  EXPECT_EQ(t.lookups(a), 2u);
  EXPECT_NE(t.Ref("/b"), a);
}

TEST(InodeTableTest, ForgetDropsAtZeroAndNumbersAreNotReused) {
  InodeTable t;
  const uint64_t a = t.Ref("/a");
  t.Ref("/a");
  t.Forget(a, 1);
  ASSERT_NE(t.PathOf(a), nullptr);
  t.Forget(a, 1);
  EXPECT_EQ(t.PathOf(a), nullptr);
  EXPECT_FALSE(t.Find("/a").has_value());
  EXPECT_NE(t.Ref("/a"), a);
}

TEST(InodeTableTest, ForgetMoreThanHeldDropsAndUnknownIsIgnored) {
  InodeTable t;
  const uint64_t a = t.Ref("/a");
  t.Forget(a, 10);
  EXPECT_EQ(t.PathOf(a), nullptr);
  t.Forget(12345, 1);
  EXPECT_EQ(t.size(), 1u);
}

TEST(InodeTableTest, MoveKeepsTheNumberAndDetachesTheOverwritten) {
  InodeTable t;
  const uint64_t a = t.Ref("/a");
  const uint64_t b = t.Ref("/b");
  t.Move("/a", "/b");
  EXPECT_EQ(*t.PathOf(a), "/b");
  EXPECT_EQ(t.Find("/b"), a);
  EXPECT_FALSE(t.Find("/a").has_value());
  EXPECT_EQ(t.PathOf(b), nullptr) << "the old /b is detached";
  t.Forget(b, 1);
  EXPECT_EQ(t.Find("/b"), a) << "forgetting the detached number leaves the moved one";
  t.Forget(a, 1);
  EXPECT_EQ(t.size(), 1u);
}

TEST(InodeTableTest, DetachGivesANewFileANewNumber) {
  InodeTable t;
  const uint64_t a = t.Ref("/a");
  t.Detach("/a");
  EXPECT_EQ(t.PathOf(a), nullptr);
  const uint64_t b = t.Ref("/a");
  EXPECT_NE(a, b);
  t.Forget(a, 1);
  EXPECT_EQ(t.Find("/a"), b);
  t.Detach("/");
  EXPECT_NE(t.PathOf(InodeTable::kRootIno), nullptr);
}

}  // namespace
}  // namespace basefs
