#include "fuse/errno_map.h"

#include <cerrno>

#include <gtest/gtest.h>

namespace basefs {
namespace {

TEST(ErrnoMapTest, StoreCodesMapToWhatToolsExpect) {
  EXPECT_EQ(ErrnoFor(Status::Ok()), 0);
  EXPECT_EQ(ErrnoFor(PermissionDenied("x")), EACCES);
  EXPECT_EQ(ErrnoFor(NotFound("x")), ENOENT);
  EXPECT_EQ(ErrnoFor(Status(Code::kNotDir, "x")), ENOTDIR);
  EXPECT_EQ(ErrnoFor(Status(Code::kIsDir, "x")), EISDIR);
  EXPECT_EQ(ErrnoFor(Status(Code::kNotEmpty, "x")), ENOTEMPTY);
  EXPECT_EQ(ErrnoFor(Status(Code::kExists, "x")), EEXIST);
  EXPECT_EQ(ErrnoFor(Status(Code::kTooLarge, "x")), EFBIG);
  EXPECT_EQ(ErrnoFor(Invalid("x")), EINVAL);
  EXPECT_EQ(ErrnoFor(IOError("x")), EIO);
}

TEST(ErrnoMapTest, ChildPathJoinsAndChecksNames) {
  std::string p;
  ASSERT_EQ(ChildPath("/", "a", &p), 0);
  EXPECT_EQ(p, "/a");
  ASSERT_EQ(ChildPath("/a", "b c", &p), 0);
  EXPECT_EQ(p, "/a/b c");
  EXPECT_EQ(ChildPath("/", std::string(255, 'n'), &p), 0);
  EXPECT_EQ(ChildPath("/", std::string(256, 'n'), &p), ENAMETOOLONG);
  EXPECT_EQ(ChildPath("/" + std::string(4000, 'd'), std::string(200, 'n'), &p), ENAMETOOLONG);
  EXPECT_EQ(ChildPath("/", "..", &p), EINVAL);
  EXPECT_EQ(ChildPath("/", "", &p), EINVAL);
}

}  // namespace
}  // namespace basefs
