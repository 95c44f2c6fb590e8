// The attr entry: its codec, and how the view folds it (docs/view_rules.md
// §5): permission bits, owners by name, tool-set mtimes, directory times.
#include "store/attrs.h"

#include <gtest/gtest.h>

#include "store/store.h"
#include "store/test_util.h"

namespace basefs {
namespace {

using testing::MemStoreFactory;

AttrChange Full() {
  AttrChange c;
  c.mode = 02750;
  c.owner = "www-data";
  c.group = "adm";
  c.mtime = Mtime{-86400, 999999999};
  return c;
}

TEST(AttrsCodecTest, RoundTripsEveryFieldAlone) {
  const AttrChange full = Full();
  for (int bits = 1; bits < 32; ++bits) {
    AttrChange c;
    c.reset = (bits & 16) != 0;
    if (bits & 1) c.mode = full.mode;
    if (bits & 2) c.owner = full.owner;
    if (bits & 4) c.group = full.group;
    if (bits & 8) c.mtime = full.mtime;
    auto back = DecodeAttrs(EncodeAttrs(c));
    ASSERT_TRUE(back.ok()) << bits << ": " << back.status().message();
    EXPECT_EQ(*back, c) << bits;
  }
}

TEST(AttrsCodecTest, RejectsWhatTheLogDoesNotKeep) {
  const std::string good = EncodeAttrs(Full());
  for (size_t n = 0; n < good.size(); ++n) EXPECT_FALSE(DecodeAttrs(good.substr(0, n)).ok()) << "truncated at " << n;
  EXPECT_FALSE(DecodeAttrs(good + "x").ok()) << "trailing byte";
  EXPECT_FALSE(DecodeAttrs(std::string(1, '\0')).ok()) << "no field";
  EXPECT_FALSE(DecodeAttrs(std::string(1, '\x20')).ok()) << "unknown field bit";
  for (uint16_t bad : {04755, 01777, 0100000}) {
    AttrChange c;
    c.mode = bad;
    EXPECT_FALSE(DecodeAttrs(EncodeAttrs(c)).ok()) << "mode " << bad;
  }
  for (const std::string& name : {std::string(""), std::string(33, 'a'), std::string("a:b"), std::string("a b"),
                                  std::string("a/b"), std::string("\xc3\xa9")}) {
    AttrChange c;
    c.owner = name;
    EXPECT_FALSE(DecodeAttrs(EncodeAttrs(c)).ok()) << "owner '" << name << "'";
    EXPECT_FALSE(ValidateOwnerName(name).ok());
  }
  for (Mtime t : {Mtime{kMaxMtimeSeconds + 1, 0}, Mtime{kMinMtimeSeconds - 1, 0}, Mtime{0, 1000000000}}) {
    AttrChange c;
    c.mtime = t;
    EXPECT_FALSE(DecodeAttrs(EncodeAttrs(c)).ok()) << t.seconds << "." << t.nanoseconds;
  }
}

class AttrsViewTest : public ::testing::Test {
 protected:
  AttrsViewTest() : root_(GenerateKeyPair()) {}
  StoredAttrs Of(Store& s, const std::string& path) { return (*s.Stat(path))->Attrs(); }
  uint64_t HeadMs(Store& s, const std::string& path) {
    return s.view().Lookup(path)->chain().back()->entry.timestamp_ms;
  }
  MemStoreFactory f_;
  KeyPair root_;
};

TEST_F(AttrsViewTest, AttrsStayAcrossWritesAndTheMtimeUntilTheNextWrite) {
  auto s = f_.Create(root_, f_.NewDir());
  ASSERT_TRUE(s->WriteFile(root_, "/secret.conf", "v1").ok());
  EXPECT_FALSE(Of(*s, "/secret.conf").perm) << "nothing stored: the mount shows its default";
  AttrChange c;
  c.mode = 0640;
  c.owner = "root";
  c.group = "adm";
  ASSERT_TRUE(s->SetAttrs(root_, "/secret.conf", c).ok());
  StoredAttrs a = Of(*s, "/secret.conf");
  EXPECT_EQ(a.perm, 0640);
  EXPECT_EQ(a.owner, "root");
  EXPECT_EQ(a.group, "adm");
  EXPECT_FALSE((*s->Stat("/secret.conf"))->state().exec);

  AttrChange touch;
  touch.mtime = Mtime{1000000000, 5};
  ASSERT_TRUE(s->SetAttrs(root_, "/secret.conf", touch).ok());
  EXPECT_EQ(Of(*s, "/secret.conf").mtime, (Mtime{1000000000, 5}));
  const Mtime ctime = Of(*s, "/secret.conf").changed;
  EXPECT_EQ(ctime.seconds * 1000 + ctime.nanoseconds / 1000000, static_cast<int64_t>(HeadMs(*s, "/secret.conf")));

  ASSERT_TRUE(s->WriteFile(root_, "/secret.conf", "v2").ok());
  a = Of(*s, "/secret.conf");
  EXPECT_EQ(a.perm, 0640) << "a write keeps the mode";
  EXPECT_EQ(a.group, "adm");
  const uint64_t written = HeadMs(*s, "/secret.conf");
  EXPECT_EQ(a.mtime, (Mtime{static_cast<int64_t>(written / 1000), static_cast<uint32_t>(written % 1000 * 1000000)}))
      << "a write's own time replaces the one a tool set";

  // chmod +x through the old mode entry sets x where r is.
  ASSERT_TRUE(s->SetExec(root_, "/secret.conf", true).ok());
  EXPECT_EQ(Of(*s, "/secret.conf").perm, 0750);
  ASSERT_TRUE(s->SetExec(root_, "/secret.conf", false).ok());
  EXPECT_EQ(Of(*s, "/secret.conf").perm, 0640);

  // Delete and create again: a new file, nothing stored.
  ASSERT_TRUE(s->Remove(root_, "/secret.conf", false).ok());
  ASSERT_TRUE(s->WriteFile(root_, "/secret.conf", "v3").ok());
  EXPECT_FALSE(Of(*s, "/secret.conf").perm);
  EXPECT_FALSE(Of(*s, "/secret.conf").owner);
}

TEST_F(AttrsViewTest, SetgidStaysOnDirectoriesOnlyAndSymlinksHaveNone) {
  auto s = f_.Create(root_, f_.NewDir());
  AttrChange c;
  c.mode = 02775;
  ASSERT_TRUE(s->Mkdir(root_, "/shared", false, c).ok());
  EXPECT_EQ(Of(*s, "/shared").perm, 02775);
  ASSERT_TRUE(s->WriteFile(root_, "/shared/f", "x", c).ok());
  EXPECT_EQ(Of(*s, "/shared/f").perm, 0775) << "setgid is not kept on files";
  EXPECT_TRUE((*s->Stat("/shared/f"))->state().exec);
  ASSERT_TRUE(s->Symlink(root_, "/l", "shared").ok());
  EXPECT_EQ(s->SetAttrs(root_, "/l", c).code(), Code::kInvalid);
  c.mode = 04755;
  EXPECT_EQ(s->SetAttrs(root_, "/shared/f", c).code(), Code::kInvalid) << "set-uid is refused, never stored";
}

TEST_F(AttrsViewTest, ADirectoryTimeMovesWithItsEntries) {
  auto s = f_.Create(root_, f_.NewDir());
  ASSERT_TRUE(s->Mkdir(root_, "/d", false).ok());
  const Mtime made = Of(*s, "/d").mtime;
  ASSERT_TRUE(s->WriteFile(root_, "/d/a", "1").ok());
  const Mtime created = Of(*s, "/d").mtime;
  EXPECT_GT(created.nanoseconds + created.seconds * 1000000000, made.nanoseconds + made.seconds * 1000000000);
  // Changing a file's content is not a change of the directory.
  ASSERT_TRUE(s->WriteFile(root_, "/d/a", "1 changed").ok());
  EXPECT_EQ(Of(*s, "/d").mtime, created);
  ASSERT_TRUE(s->Remove(root_, "/d/a", false).ok());
  const uint64_t removed = HeadMs(*s, "/d/a");
  EXPECT_EQ(Of(*s, "/d").mtime.seconds * 1000 + Of(*s, "/d").mtime.nanoseconds / 1000000,
            static_cast<int64_t>(removed));
  EXPECT_EQ((*s->Stat("/d"))->entries_changed_ms(), removed);
  // A tool's time stands until the next change of an entry.
  AttrChange touch;
  touch.mtime = Mtime{86400, 0};
  ASSERT_TRUE(s->SetAttrs(root_, "/d", touch).ok());
  EXPECT_EQ(Of(*s, "/d").mtime, (Mtime{86400, 0}));
  ASSERT_TRUE(s->WriteFile(root_, "/d/b", "2").ok());
  EXPECT_EQ(Of(*s, "/d").mtime.seconds * 1000 + Of(*s, "/d").mtime.nanoseconds / 1000000,
            static_cast<int64_t>(HeadMs(*s, "/d/b")));
}

TEST_F(AttrsViewTest, RenameGivesTheNewNameTheOldOnesAttributesAndMtime) {
  auto s = f_.Create(root_, f_.NewDir());
  ASSERT_TRUE(s->WriteFile(root_, "/new", "fresh").ok());
  AttrChange c;
  c.mode = 0600;
  c.owner = "www-data";
  c.mtime = Mtime{1234567890, 0};
  ASSERT_TRUE(s->SetAttrs(root_, "/new", c).ok());
  // Over a file with other stored attributes: none of them survive.
  ASSERT_TRUE(s->WriteFile(root_, "/app.conf", "old").ok());
  AttrChange old;
  old.mode = 0644;
  old.group = "adm";
  ASSERT_TRUE(s->SetAttrs(root_, "/app.conf", old).ok());
  ASSERT_TRUE(s->Rename(root_, "/new", "/app.conf").ok());
  const StoredAttrs a = Of(*s, "/app.conf");
  EXPECT_EQ(a.perm, 0600);
  EXPECT_EQ(a.owner, "www-data");
  EXPECT_FALSE(a.group) << "the replaced file's group is gone";
  EXPECT_EQ(a.mtime, (Mtime{1234567890, 0})) << "mv keeps the mtime";
}

TEST_F(AttrsViewTest, AnotherNodeShowsTheSameAttributes) {
  auto a = f_.Create(root_, f_.NewDir());
  ASSERT_TRUE(a->Mkdir(root_, "/etc", false).ok());
  AttrChange c = Full();
  c.mode = 0640;
  ASSERT_TRUE(a->WriteFile(root_, "/etc/x", "x", c).ok());
  auto b = testing::Replica(&f_, *a);
  const StoredAttrs x = Of(*a, "/etc/x"), y = Of(*b, "/etc/x");
  EXPECT_EQ(x.perm, y.perm);
  EXPECT_EQ(x.owner, y.owner);
  EXPECT_EQ(x.group, y.group);
  EXPECT_EQ(x.mtime, y.mtime);
  EXPECT_EQ(x.changed, y.changed);
  EXPECT_EQ(Of(*a, "/etc").mtime, Of(*b, "/etc").mtime);
}

}  // namespace
}  // namespace basefs
