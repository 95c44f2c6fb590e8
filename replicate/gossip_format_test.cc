#include "replicate/gossip_format.h"

#include <sodium.h>

#include <gtest/gtest.h>

namespace basefs {
namespace {

SignedMemberPart SignedMember(MemberState state, const KeyPair& key = GenerateKeyPair()) {
  MemberPart m;
  m.state = state;
  m.incarnation = 7;
  m.name = "node-1";
  m.addr = "127.0.0.1:7400";
  m.meta = "dns=127.0.0.1:5354";
  return SignMember(m, key);
}

std::vector<Part> AllParts() {
  MemberPart m;
  m.state = MemberState::kSuspect;
  m.incarnation = 42;
  m.name = "node-1";
  m.addr = "127.0.0.1:7400";
  m.meta = "dns=127.0.0.1:5354";
  return {PingPart{7, "node-2", "node-1", "127.0.0.1:7400"},
          AckPart{7, "node-2"},
          PingReqPart{9, "node-3", "127.0.0.1:7402"},
          m,
          EntryPart{std::string(300, 'e')},
          BlockPart{std::string(1024, 'b')},
          WantPart{{HashBytes("a"), HashBytes("b")}},
          PushPullPart{true},
          SignedMember(MemberState::kAlive),
          KeyringPart{5, KeyringOp::kUse, 7, {ClusterKey{1}}},
          KeyringReplyPart{5, false, "that key is not installed here", {ClusterKey{2}, ClusterKey{3}}}};
}

TEST(GossipFormatTest, EveryPartRoundTrips) {
  CryptoInit();
  DatagramBuilder b(kMaxDatagramBytes * 4);
  const auto parts = AllParts();
  for (const Part& p : parts) ASSERT_TRUE(b.Add(EncodePart(p)));
  auto decoded = DecodeDatagram(b.Finish().substr(0, kMaxDatagramBytes));
  // Too big for one datagram as a whole: decode the parts one by one instead.
  for (const Part& p : parts) {
    DatagramBuilder one;
    ASSERT_TRUE(one.Add(EncodePart(p)));
    auto d = DecodeDatagram(one.Finish());
    ASSERT_TRUE(d.ok()) << d.status().message();
    ASSERT_EQ(d->size(), 1u);
    EXPECT_EQ(EncodePart((*d)[0]), EncodePart(p));
  }
}

TEST(GossipFormatTest, BuilderKeepsWithinBudget) {
  DatagramBuilder b;
  int added = 0;
  while (b.Add(EncodePart(BlockPart{std::string(500, 'x')}))) ++added;
  EXPECT_EQ(added, 2);
  EXPECT_LE(b.Finish().size(), kMaxPlaintextBytes);
}

TEST(GossipFormatTest, RejectsMalformedDatagrams) {
  DatagramBuilder b;
  ASSERT_TRUE(b.Add(EncodePart(AllParts()[3])));
  const std::string good = b.Finish();
  ASSERT_TRUE(DecodeDatagram(good).ok());
  for (size_t n = 0; n < good.size(); ++n) {
    if (n == 2) continue;  // header alone: an empty datagram is valid
    EXPECT_FALSE(DecodeDatagram(good.substr(0, n)).ok()) << n;
  }
  std::string bad_type = good;
  bad_type[2] = 99;
  EXPECT_FALSE(DecodeDatagram(bad_type).ok());
  std::string bad_magic = good;
  bad_magic[0] = 'X';
  EXPECT_FALSE(DecodeDatagram(bad_magic).ok());
  EXPECT_FALSE(DecodeDatagram(std::string(kMaxDatagramBytes + 1, '\x42')).ok());
  // A member part whose state is out of range.
  std::string bad_state = good;
  bad_state[5] = 9;
  EXPECT_FALSE(DecodeDatagram(bad_state).ok());
  // A WANT claiming more hashes than it carries.
  std::string want = EncodePart(WantPart{{HashBytes("x")}});
  want[3] = 5;
  DatagramBuilder w;
  w.Add(want);
  EXPECT_FALSE(DecodeDatagram(w.Finish()).ok());
}

// A node's own statement verifies with its key only, and every field is
// covered by the signature.
TEST(GossipFormatTest, SignedMemberStatementsVerifyAndCoverEveryField) {
  const KeyPair key = GenerateKeyPair();
  const SignedMemberPart good = SignedMember(MemberState::kAlive, key);
  EXPECT_TRUE(VerifyMember(good));
  EXPECT_TRUE(VerifyMember(SignedMember(MemberState::kLeft, key)));
  std::vector<SignedMemberPart> tampered(6, good);
  tampered[0].member.state = MemberState::kLeft;
  tampered[1].member.incarnation += 1;
  tampered[2].member.name = "node-2";
  tampered[3].member.addr = "127.0.0.1:7401";
  tampered[4].member.meta += " ";
  tampered[5].key = GenerateKeyPair().public_key;
  for (size_t i = 0; i < tampered.size(); ++i) EXPECT_FALSE(VerifyMember(tampered[i])) << i;
  // Through the wire: a flipped byte anywhere in the part fails to decode
  // or to verify.
  const std::string wire = EncodePart(good);
  for (size_t i = 3; i < wire.size(); ++i) {
    std::string bad = wire;
    bad[i] = static_cast<char>(bad[i] ^ 0x01);
    DatagramBuilder b;
    ASSERT_TRUE(b.Add(bad));
    auto d = DecodeDatagram(b.Finish());
    if (!d.ok()) continue;
    ASSERT_EQ(d->size(), 1u);
    const auto* sm = std::get_if<SignedMemberPart>(&(*d)[0]);
    ASSERT_NE(sm, nullptr);
    EXPECT_FALSE(VerifyMember(*sm)) << "byte " << i;
  }
}

// Alive and left travel signed only; suspect and failed unsigned only.
TEST(GossipFormatTest, EachMemberStateHasItsPartType) {
  for (MemberState st : {MemberState::kAlive, MemberState::kLeft}) {
    MemberPart m;
    m.state = st;
    m.name = "n";
    EXPECT_FALSE(DecodeDatagram(std::string("\x42\x02") + EncodePart(m)).ok()) << MemberStateName(st);
  }
  for (MemberState st : {MemberState::kSuspect, MemberState::kFailed}) {
    EXPECT_FALSE(DecodeDatagram(std::string("\x42\x02") + EncodePart(SignedMember(st))).ok()) << MemberStateName(st);
  }
  // Version 1 is refused whatever it holds.
  std::string v1 = std::string("\x42\x01") + EncodePart(AckPart{1, "n"});
  EXPECT_FALSE(DecodeDatagram(v1).ok());
}

// Rotation steps on one keyring, and its file keeps keys, order and
// generation.
TEST(GossipFormatTest, KeyringStepsAndItsFile) {
  Keyring ring;
  const ClusterKey k1{1}, k2{2}, k3{3};
  ring.Add(k1);
  EXPECT_TRUE(ring.Install(k2).ok());
  EXPECT_TRUE(ring.Install(k2).ok());  // already there: fine, once
  EXPECT_EQ(ring.keys(), (std::vector<ClusterKey>{k1, k2}));
  EXPECT_FALSE(ring.Use(k3).ok());     // not installed
  EXPECT_FALSE(ring.Remove(k1).ok());  // the primary
  EXPECT_FALSE(ring.Remove(k3).ok());
  EXPECT_TRUE(ring.Use(k2).ok());
  EXPECT_EQ(ring.keys(), (std::vector<ClusterKey>{k2, k1}));
  EXPECT_TRUE(ring.Remove(k1).ok());
  EXPECT_EQ(ring.keys(), std::vector<ClusterKey>{k2});
  ring.set_generation(42);
  auto again = Keyring::Parse(ring.Text());
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_EQ(*again, ring);
  EXPECT_EQ(again->generation(), 42u);
  for (int i = 0; i < 15; ++i) ASSERT_TRUE(ring.Install(ClusterKey{static_cast<uint8_t>(10 + i)}).ok());
  EXPECT_FALSE(ring.Install(ClusterKey{99}).ok()) << "at most 16 keys";
  // A datagram sealed with the second key opens, and says which key it was.
  const std::string sealed = ring.SealWith("\x42\x02", 1);
  size_t index = 9;
  ASSERT_TRUE(ring.Open(sealed, &index).ok());
  EXPECT_EQ(index, 1u);
}

TEST(GossipFormatTest, SealedDatagramsOpenOnlyWithAClusterKey) {
  CryptoInit();
  std::array<uint8_t, 32> k1{}, k2{};
  randombytes_buf(k1.data(), k1.size());
  randombytes_buf(k2.data(), k2.size());
  Keyring a, b, rotated;
  a.Add(k1);
  b.Add(k2);
  rotated.Add(k2);
  rotated.Add(k1);  // old key still accepted during rotation
  const std::string plain = "\x42\x01hello";
  const std::string sealed = a.Seal(plain);
  EXPECT_LE(sealed.size(), plain.size() + kSealOverheadBytes);
  auto opened = a.Open(sealed);
  ASSERT_TRUE(opened.ok());
  EXPECT_EQ(*opened, plain);
  EXPECT_FALSE(b.Open(sealed).ok());
  EXPECT_TRUE(rotated.Open(sealed).ok());
  std::string tampered = sealed;
  tampered[30] ^= 1;
  EXPECT_FALSE(a.Open(tampered).ok());
  EXPECT_FALSE(a.Open(plain).ok());
  EXPECT_FALSE(Keyring::Parse("not base64").ok());
}

}  // namespace
}  // namespace basefs
