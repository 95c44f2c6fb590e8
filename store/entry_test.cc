#include "store/entry.h"

#include <gtest/gtest.h>

#include "store/test_util.h"

namespace basefs {
namespace {

using testing::MakeEntry;

class EntryTest : public ::testing::Test {
 protected:
  void SetUp() override { CryptoInit(); }
  KeyPair key_ = (CryptoInit(), GenerateKeyPair());
  Hash parent_ = HashBytes("parent");
};

TEST_F(EntryTest, EveryActionRoundTrips) {
  const std::vector<Entry> entries = {
      MakeEntry(key_, Action::kMkdir, Relation::kChild, parent_, "dir"),
      MakeEntry(key_, Action::kWrite, Relation::kChild, parent_, "f", "hello", 5),
      MakeEntry(key_, Action::kWrite, Relation::kRevision, parent_, "f", std::string(32, 'h'), 1 << 20),
      MakeEntry(key_, Action::kWrite, Relation::kChild, parent_, "empty", "", 0),
      MakeEntry(key_, Action::kDelete, Relation::kRevision, parent_, "f"),
      MakeEntry(key_, Action::kRevert, Relation::kRevision, parent_, "f", std::string(32, 'r')),
      MakeEntry(key_, Action::kGrant, Relation::kRevision, parent_, "dir", std::string(32, 'k')),
      MakeEntry(key_, Action::kRevoke, Relation::kRevision, parent_, "dir", std::string(32, 'k')),
      MakeEntry(key_, Action::kAck, Relation::kRevision, parent_, "f"),
      MakeEntry(key_, Action::kLink, Relation::kChild, parent_, "l", "/a/b", 4),
      MakeEntry(key_, Action::kSlink, Relation::kChild, parent_, "s", "../x", 4),
      MakeEntry(key_, Action::kMode, Relation::kRevision, parent_, "f", std::string(1, '\1')),
  };
  for (const Entry& e : entries) {
    SCOPED_TRACE(ActionName(e.action));
    const std::string bytes = e.Encode();
    auto decoded = DecodeEntry(bytes);
    ASSERT_TRUE(decoded.ok()) << decoded.status().message();
    EXPECT_EQ(decoded->Encode(), bytes);
    EXPECT_EQ(decoded->ComputeHash(), e.ComputeHash());
    EXPECT_EQ(decoded->name, e.name);
    EXPECT_EQ(decoded->content, e.content);
    EXPECT_EQ(decoded->action, e.action);
    EXPECT_EQ(decoded->relation, e.relation);
  }
}

TEST_F(EntryTest, LargestEntryFitsOneDatagram) {
  Entry e = MakeEntry(key_, Action::kWrite, Relation::kChild, parent_, std::string(255, 'n'),
                      std::string(kMaxInlineBytes, 'c'), kMaxInlineBytes);
  EXPECT_LE(e.Encode().size(), kMaxEntryBytes);
  EXPECT_TRUE(DecodeEntry(e.Encode()).ok());
}

TEST_F(EntryTest, RejectsEveryTruncation) {
  const std::string bytes = MakeEntry(key_, Action::kWrite, Relation::kChild, parent_, "f", "abc", 3).Encode();
  for (size_t n = 0; n < bytes.size(); ++n) {
    auto r = DecodeEntry(std::string_view(bytes).substr(0, n));
    EXPECT_FALSE(r.ok()) << "prefix of " << n << " bytes accepted";
  }
}

TEST_F(EntryTest, RejectsTrailingBytes) {
  const std::string bytes = MakeEntry(key_, Action::kMkdir, Relation::kChild, parent_, "d").Encode();
  auto r = DecodeEntry(bytes + "x");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("trailing"), std::string::npos);
}

TEST_F(EntryTest, RejectsOversizedInput) {
  auto r = DecodeEntry(std::string(kMaxEntryBytes + 1, '\1'));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kTooLarge);
}

TEST_F(EntryTest, RejectsEverySingleByteTamper) {
  const std::string bytes = MakeEntry(key_, Action::kWrite, Relation::kChild, parent_, "f", "abc", 3).Encode();
  for (size_t i = 0; i < bytes.size(); ++i) {
    std::string t = bytes;
    t[i] = static_cast<char>(t[i] ^ 0x01);
    EXPECT_FALSE(DecodeEntry(t).ok()) << "tamper at byte " << i << " accepted";
  }
}

TEST_F(EntryTest, RejectsSignatureByAnotherKey) {
  Entry e = MakeEntry(key_, Action::kMkdir, Relation::kChild, parent_, "d");
  const KeyPair other = GenerateKeyPair();
  e.signature = Sign(other, e.SignedPart());
  auto r = DecodeEntry(e.Encode());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "bad signature");
}

TEST_F(EntryTest, RejectsUnknownActionAndVersion) {
  std::string bytes = MakeEntry(key_, Action::kMkdir, Relation::kChild, parent_, "d").Encode();
  std::string bad_action = bytes;
  bad_action[1] = 12;
  EXPECT_NE(DecodeEntry(bad_action).status().message().find("unknown action"), std::string::npos);
  bad_action[1] = 0;
  EXPECT_NE(DecodeEntry(bad_action).status().message().find("unknown action"), std::string::npos);
  std::string bad_version = bytes;
  bad_version[0] = 2;
  EXPECT_NE(DecodeEntry(bad_version).status().message().find("version"), std::string::npos);
}

// Encodes a raw entry without going through the field checks.
std::string RawEncode(const KeyPair& key, Entry e) {
  e.author = key.public_key;
  e.signature = Sign(key, e.SignedPart());
  return e.Encode();
}

TEST_F(EntryTest, RejectsBadNames) {
  for (const std::string& name :
       {std::string("a/b"), std::string("a\0b", 3), std::string(""), std::string("."), std::string("..")}) {
    Entry e;
    e.action = Action::kMkdir;
    e.parent = parent_;
    e.name = name;
    auto r = DecodeEntry(RawEncode(key_, e));
    EXPECT_FALSE(r.ok()) << "name '" << name << "' accepted";
  }
}

TEST_F(EntryTest, RejectsContentThatDoesNotFitTheAction) {
  struct Case {
    Action action;
    Relation rel;
    std::string content;
    uint64_t size;
  };
  const std::vector<Case> cases = {
      {Action::kMkdir, Relation::kChild, "x", 0},                      // mkdir with content
      {Action::kWrite, Relation::kChild, "abc", 4},                    // inline size mismatch
      {Action::kWrite, Relation::kChild, std::string(31, 'h'), 4096},  // chunked without a full hash
      {Action::kWrite, Relation::kChild, std::string(32, 'h'), kDefaultMaxFileBytes + 1},  // over limit
      {Action::kGrant, Relation::kRevision, "short", 0},                                   // grant without a key
      {Action::kMode, Relation::kRevision, std::string(1, '\2'), 0},                       // mode other than 0/1
      {Action::kLink, Relation::kChild, "relative", 8},                                    // hard link not absolute
      {Action::kSlink, Relation::kChild, "", 0},                                           // empty target
      {Action::kDelete, Relation::kChild, "", 0},  // a path cannot start with delete
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(ActionName(c.action));
    Entry e;
    e.action = c.action;
    e.relation = c.rel;
    e.parent = parent_;
    e.name = "n";
    e.content = c.content;
    e.size = c.size;
    EXPECT_FALSE(DecodeEntry(RawEncode(key_, e)).ok());
  }
}

TEST_F(EntryTest, OnlyAMkdirMayHaveNoParent) {
  Entry e;
  e.action = Action::kWrite;
  e.relation = Relation::kChild;
  e.name = "x";
  e.content = "a";
  e.size = 1;
  EXPECT_FALSE(DecodeEntry(RawEncode(key_, e)).ok());
}

TEST(CryptoTest, PublicKeyBase64RoundTripsAndRejectsJunk) {
  CryptoInit();
  const KeyPair k = GenerateKeyPair();
  auto parsed = ParsePublicKey(ToBase64(k.public_key) + "\n");
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(*parsed, k.public_key);
  EXPECT_FALSE(ParsePublicKey("not base64!").ok());
  EXPECT_FALSE(ParsePublicKey(ToBase64(k.public_key).substr(4)).ok());
  EXPECT_FALSE(ParsePublicKey(ToBase64(k.secret_key)).ok());
}

}  // namespace
}  // namespace basefs
