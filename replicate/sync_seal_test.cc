#include "replicate/sync_seal.h"

#include <sodium.h>

#include <string>

#include <gtest/gtest.h>

namespace basefs {
namespace {

Keyring Ring(std::initializer_list<uint8_t> seeds) {
  Keyring ring;
  for (uint8_t s : seeds) {
    std::array<uint8_t, Keyring::kKeyBytes> key{};
    key.fill(s);
    ring.Add(key);
  }
  return ring;
}

std::string RandomBytes(size_t n) {
  std::string s(n, '\0');
  randombytes_buf(s.data(), s.size());
  return s;
}

// A record's length field.
std::string LengthField(uint32_t len) {
  return {static_cast<char>(len >> 24), static_cast<char>(len >> 16), static_cast<char>(len >> 8),
          static_cast<char>(len)};
}

// Moves everything `from` has for the wire into `to`, `chunk` bytes per
// Open call; returns the first error.
Status Deliver(SyncSeal& from, SyncSeal& to, std::string* plain, size_t chunk) {
  const std::string wire = from.TakeWire();
  for (size_t i = 0; i < wire.size(); i += chunk) {
    Status st = to.Open(std::string_view(wire).substr(i, chunk), plain);
    if (!st.ok()) return st;
  }
  return Status::Ok();
}

// Delivers both ways until neither side has bytes for the other.
Status Exchange(SyncSeal& a, SyncSeal& b, std::string* at_a, std::string* at_b, size_t chunk) {
  for (int round = 0; round < 4; ++round) {
    if (Status st = Deliver(a, b, at_b, chunk); !st.ok()) return st;
    if (Status st = Deliver(b, a, at_a, chunk); !st.ok()) return st;
  }
  return Status::Ok();
}

TEST(SyncSealTest, BothDirectionsOpenInAnyChunking) {
  for (size_t chunk : {size_t{1}, size_t{7}, size_t{4096}, size_t{1} << 20}) {
    const Keyring ring = Ring({1});
    SyncSeal a(ring, true), b(ring, false);
    const std::string big = RandomBytes(3 * kSealedPlainBytes + 123);  // several records
    a.Seal("hello from a");                                            // before either handshake arrived: held
    a.Seal(big);
    b.Seal("hello from b");
    std::string at_a, at_b;
    ASSERT_TRUE(Exchange(a, b, &at_a, &at_b, chunk).ok());
    EXPECT_EQ(at_b, "hello from a" + big) << "chunk " << chunk;
    EXPECT_EQ(at_a, "hello from b") << "chunk " << chunk;
    b.Seal("more");
    ASSERT_TRUE(Deliver(b, a, &at_a, chunk).ok());
    EXPECT_EQ(at_a, "hello from bmore");
  }
}

TEST(SyncSealTest, NothingButTheHandshakeGoesOutBeforeThePeersHandshake) {
  const Keyring ring = Ring({1});
  SyncSeal a(ring, true);
  a.Seal("secret");
  const std::string wire = a.TakeWire();
  EXPECT_EQ(wire.size(), kSyncHandshakeBytes);
  EXPECT_EQ(wire.find("secret"), std::string::npos);
}

TEST(SyncSealTest, APeerWithAnotherKeyIsRefused) {
  SyncSeal a(Ring({1}), true), b(Ring({2}), false);
  a.Seal("hello");
  b.Seal("hello");
  std::string at_a, at_b;
  ASSERT_TRUE(Deliver(a, b, &at_b, 1 << 20).ok());  // a handshake is only random bytes
  for (const Status& st : {Deliver(b, a, &at_a, 1 << 20), Deliver(a, b, &at_b, 1 << 20)}) {
    EXPECT_EQ(st.code(), Code::kPermission);
    EXPECT_NE(st.message().find("not sealed with this cluster's key"), std::string::npos) << st.message();
  }
  EXPECT_TRUE(at_a.empty());
  EXPECT_TRUE(at_b.empty());
}

TEST(SyncSealTest, APlaintextPeerIsRefusedAtItsFirstByte) {
  SyncSeal b(Ring({1}), false);
  std::string plain;
  // A plaintext session's first frame: length, then HELLO's type byte.
  const std::string hello("\x00\x00\x00\x41\x01", 5);
  Status st = b.Open(hello, &plain);
  EXPECT_EQ(st.code(), Code::kPermission);
  EXPECT_NE(st.message().find("does not seal"), std::string::npos) << st.message();
}

TEST(SyncSealTest, AnotherVersionIsRefused) {
  SyncSeal b(Ring({1}), false);
  std::string plain;
  const std::string hs = std::string(1, static_cast<char>(kSyncSealed)) + std::string(1, 2) + std::string(32, 'x');
  EXPECT_EQ(b.Open(hs, &plain).code(), Code::kInvalid);
}

TEST(SyncSealTest, AChangedByteEndsTheSession) {
  const Keyring ring = Ring({1});
  // Bytes of the ciphertext and of its tag (a changed length only makes
  // the reader wait for a record that never completes: the idle timeout).
  for (size_t flip : {kSyncHandshakeBytes + 4, kSyncHandshakeBytes + 10, kSyncHandshakeBytes + 4 + 14 + 15}) {
    SyncSeal a(ring, true), b(ring, false);
    a.Seal("a first record");
    std::string ignored;
    ASSERT_TRUE(Deliver(b, a, &ignored, 64).ok());  // b's handshake
    std::string wire = a.TakeWire();                // a's handshake, then its first record
    ASSERT_EQ(wire.size(), kSyncHandshakeBytes + 4 + 14 + 16);
    wire[flip] = static_cast<char>(wire[flip] ^ 0x01);
    std::string plain;
    EXPECT_FALSE(b.Open(wire, &plain).ok()) << "flipped byte " << flip;
    EXPECT_TRUE(plain.empty());
  }
}

TEST(SyncSealTest, RecordsOutOfOrderOrFromAnotherSessionDoNotOpen) {
  const Keyring ring = Ring({1});
  SyncSeal a(ring, true), b(ring, false);
  std::string ignored;
  ASSERT_TRUE(Deliver(b, a, &ignored, 64).ok());
  const std::string hs = a.TakeWire();
  a.Seal("one");
  const std::string r1 = a.TakeWire();
  a.Seal("two");
  const std::string r2 = a.TakeWire();
  std::string plain;
  ASSERT_TRUE(b.Open(hs, &plain).ok());
  EXPECT_FALSE(b.Open(r2, &plain).ok());  // second record first: wrong nonce

  // The same records replayed to a new responder: fresh random bytes, other keys.
  SyncSeal c(ring, false);
  std::string p2;
  ASSERT_TRUE(c.Open(hs, &p2).ok());
  EXPECT_FALSE(c.Open(r1, &p2).ok());
  EXPECT_TRUE(p2.empty());
}

TEST(SyncSealTest, ASessionRelayedBackToItsOwnNodeIsRefused) {
  const Keyring ring = Ring({1});
  SyncSeal a(ring, true);
  std::string plain;
  EXPECT_EQ(a.Open(a.TakeWire(), &plain).code(), Code::kInvalid);  // its own handshake echoed

  // One outbound and one inbound session of the same node, crossed by a
  // relay: each would otherwise derive the other's keys and sync with itself.
  SyncSeal::Randoms node;
  SyncSeal out(ring, true, &node), in(ring, false, &node);
  const std::string out_hs = out.TakeWire(), in_hs = in.TakeWire();
  EXPECT_EQ(in.Open(out_hs, &plain).code(), Code::kInvalid);
  EXPECT_EQ(out.Open(in_hs, &plain).code(), Code::kInvalid);

  // Seals of two nodes are not refused for it, and a seal leaves the set
  // when it goes.
  SyncSeal::Randoms other;
  SyncSeal peer(ring, false, &other), out2(ring, true, &node);
  EXPECT_TRUE(out2.Open(peer.TakeWire(), &plain).ok());
  EXPECT_EQ(node.size(), 3u);
  { SyncSeal brief(ring, true, &node); }
  EXPECT_EQ(node.size(), 3u);
}

TEST(SyncSealTest, ASidesOwnRecordsReflectedBackDoNotOpen) {
  // Each direction has its own key: a's record comes back to a.
  const Keyring ring = Ring({1});
  SyncSeal a(ring, true), b(ring, false);
  std::string ignored;
  ASSERT_TRUE(Deliver(b, a, &ignored, 64).ok());
  a.Seal("hello");
  const std::string wire = a.TakeWire();
  ASSERT_GT(wire.size(), kSyncHandshakeBytes);
  std::string plain;
  EXPECT_EQ(a.Open(std::string_view(wire).substr(kSyncHandshakeBytes), &plain).code(), Code::kPermission);
  EXPECT_TRUE(plain.empty());
}

TEST(SyncSealTest, AResponderStreamReplayedToANewInitiatorDoesNotOpen) {
  const Keyring ring = Ring({1});
  SyncSeal a(ring, true), b(ring, false);
  b.Seal("from b");
  std::string ignored;
  ASSERT_TRUE(Deliver(a, b, &ignored, 64).ok());  // b now seals
  const std::string recorded = b.TakeWire();      // b's handshake and record
  SyncSeal c(ring, true);
  std::string plain;
  EXPECT_EQ(c.Open(recorded, &plain).code(), Code::kPermission);
  EXPECT_TRUE(plain.empty());
}

TEST(SyncSealTest, AFirstRecordIsSmall) {
  const Keyring ring = Ring({1});
  SyncSeal a(ring, true), b(ring, false);
  std::string ignored;
  ASSERT_TRUE(Deliver(a, b, &ignored, 64).ok());
  const uint32_t len = kFirstPlainBytes + 17;  // within the later records' bound
  const std::string big = LengthField(len);
  std::string plain;
  EXPECT_EQ(b.Open(big, &plain).code(), Code::kInvalid);
}

TEST(SyncSealTest, KeyRotationOpensWithAnyKeyOfTheRing) {
  // Mid-rotation: a already seals with the new key, b still with the old.
  SyncSeal a(Ring({9, 1}), true), b(Ring({1, 9}), false);
  a.Seal("from a");
  b.Seal("from b");
  std::string at_a, at_b;
  ASSERT_TRUE(Exchange(a, b, &at_a, &at_b, 100).ok());
  a.Seal(", again");  // a second record each: the key each side settled on
  b.Seal(", again");
  ASSERT_TRUE(Exchange(a, b, &at_a, &at_b, 100).ok());
  EXPECT_EQ(at_b, "from a, again");
  EXPECT_EQ(at_a, "from b, again");
}

TEST(SyncSealTest, LengthsOutsideTheBoundsAreRefused) {
  const Keyring ring = Ring({1});
  for (uint32_t len : {uint32_t{0}, uint32_t{16}, static_cast<uint32_t>(kSealedRecordBytes + 1), 0xffffffffu}) {
    SyncSeal a(ring, true), b(ring, false);
    std::string ignored;
    ASSERT_TRUE(Deliver(a, b, &ignored, 64).ok());  // a's handshake into b
    const std::string bad = LengthField(len);
    std::string plain;
    EXPECT_EQ(b.Open(bad, &plain).code(), Code::kInvalid) << len;
  }
}

}  // namespace
}  // namespace basefs
