#include "base/data_dir.h"

#include <gtest/gtest.h>

namespace basefs {
namespace {

TEST(DataDirTest, PathsOfAFilesystem) {
  DataDir d{"/var/lib/basefs", ""};
  EXPECT_EQ(d.KeyPath(), "/var/lib/basefs/key");
  EXPECT_EQ(d.FsDir("prod"), "/var/lib/basefs/prod");
  EXPECT_EQ(d.LogDir("prod"), "/var/lib/basefs/prod/log");
  EXPECT_EQ(d.ControlSocket("prod"), "/var/lib/basefs/prod/control.sock");
  d.key_file = "/etc/basefs/node.key";
  EXPECT_EQ(d.KeyPath(), "/etc/basefs/node.key");
}

TEST(DataDirTest, FilesystemNamesAreOneSafePathComponent) {
  for (const char* ok : {"prod", "a", "edge-eu_1.v2"}) EXPECT_TRUE(ValidateFsName(ok).ok()) << ok;
  for (const std::string& bad : {std::string(), std::string(".hidden"), std::string("a/b"), std::string(".."),
                                 std::string("sp ace"), std::string(65, 'x')})
    EXPECT_FALSE(ValidateFsName(bad).ok()) << bad;
}

}  // namespace
}  // namespace basefs
