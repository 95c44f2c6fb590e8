// Gossip datagrams, version 2: the wire format of SWIM membership and entry
// dissemination. docs/gossip_format.md describes the same bytes.
//
// A datagram is at most 1,200 bytes on the wire. Plaintext form:
//   u8 0x42 ('B') | u8 version (=2) | parts...
// each part: u8 type | u16 length | payload. With a cluster key the whole
// plaintext is sealed (XChaCha20-Poly1305):
//   u8 0xE1 | u8 key id | 24-byte nonce | ciphertext (plaintext + 16-byte tag)
// so the plaintext is at most 1,200 - 42 = 1,158 bytes either way.
//
// Every length and count is checked against these limits before use; a
// datagram that breaks any of them is dropped whole.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "base/crypto.h"
#include "base/result.h"
#include "store/entry_format.h"

namespace basefs {

inline constexpr uint8_t kGossipMagic = 0x42;
inline constexpr uint8_t kGossipSealed = 0xE1;
inline constexpr uint8_t kGossipVersion = 2;
// Version 1 had unsigned membership; its datagrams are refused (counted in
// dropped_old_version, logged) rather than half understood.
inline constexpr uint8_t kGossipVersionUnsigned = 1;
inline constexpr size_t kMaxDatagramBytes = 1200;
inline constexpr size_t kSealOverheadBytes = 1 + 1 + 24 + 16;
inline constexpr size_t kMaxPlaintextBytes = kMaxDatagramBytes - kSealOverheadBytes;
inline constexpr size_t kMaxNodeNameBytes = 64;
inline constexpr size_t kMaxAddressBytes = 64;
inline constexpr size_t kMaxMetaBytes = 256;
inline constexpr size_t kMaxWantHashes = 32;

enum class PartType : uint8_t {
  kPing = 1,
  kAck = 2,
  kPingReq = 3,
  kMember = 4,
  kEntry = 5,
  kBlock = 6,
  kWant = 7,
  kPushPull = 8,
  kSignedMember = 9,
  kKeyring = 10,
  kKeyringReply = 11,
};

enum class MemberState : uint8_t { kAlive = 1, kSuspect = 2, kFailed = 3, kLeft = 4 };
const char* MemberStateName(MemberState s);

// Probe: "are you alive?" The sender names itself so that the target can
// learn of it even before any membership update arrives.
struct PingPart {
  uint32_t seq = 0;
  std::string target;  // the node name the sender believes it is probing
  std::string from_name;
  std::string from_addr;
};
struct AckPart {
  uint32_t seq = 0;
  std::string from_name;
};
// Indirect probe: "ping `target` at `target_addr` for me".
struct PingReqPart {
  uint32_t seq = 0;
  std::string target;
  std::string target_addr;
};
// A membership fact: node `name` at `addr` is in `state` at `incarnation`.
// Unsigned (type 4) it is an observation of another node: suspect or failed
// only. A node's statements about itself (alive with its address and meta,
// left) travel signed, as a SignedMemberPart.
struct MemberPart {
  MemberState state = MemberState::kAlive;
  uint64_t incarnation = 0;
  std::string name;
  std::string addr;
  std::string meta;  // soft state: DNS port, service health (daemon-defined)
};
struct EntryPart {
  std::string bytes;  // one encoded log entry
};
struct BlockPart {
  std::string bytes;  // one block
};
// "Send me these entries or blocks."
struct WantPart {
  std::vector<Hash> hashes;
};
// Full membership exchange: the member parts in the same datagram are the
// sender's whole view (possibly split over several datagrams).
struct PushPullPart {
  bool reply_wanted = false;
};

// A node's own statement — alive (with its address and meta) or left — at
// an incarnation, signed by its node key: relayed as it is, so every node
// can check it came from that node. Signed bytes: MemberSigningBytes.
struct SignedMemberPart {
  MemberPart member;
  PublicKey key{};
  Signature sig{};
};

// Online cluster-key rotation (`basefs keyring`), in sealed clusters only:
// an operation on the receiver's keyring, answered by a KeyringReplyPart
// with the same id. `kSync` carries the sender's whole keyring (primary
// first) to a member that sealed with a key the sender holds but does not
// seal with: that member missed a rotation and catches up.
enum class KeyringOp : uint8_t { kInstall = 1, kUse = 2, kRemove = 3, kList = 4, kSync = 5 };
inline constexpr size_t kMaxKeyringKeys = 16;  // per part (a keyring file may hold more; sync sends the first 16)
using ClusterKey = std::array<uint8_t, 32>;
struct KeyringPart {
  uint32_t id = 0;
  KeyringOp op = KeyringOp::kList;
  uint64_t generation = 0;       // of the keyring the operation makes (or, for sync, carries)
  std::vector<ClusterKey> keys;  // one for install/use/remove, none for list, the keyring for sync
};
struct KeyringReplyPart {
  uint32_t id = 0;
  bool ok = false;
  std::string error;             // when not ok (at most 255 bytes)
  std::vector<ClusterKey> keys;  // the keyring after the operation, primary first
};

using Part = std::variant<PingPart, AckPart, PingReqPart, MemberPart, EntryPart, BlockPart, WantPart, PushPullPart,
                          SignedMemberPart, KeyringPart, KeyringReplyPart>;

// "basefs-member-v1" | the member part's payload (as in type 4).
std::string MemberSigningBytes(const MemberPart& m);
SignedMemberPart SignMember(const MemberPart& m, const KeyPair& key);
bool VerifyMember(const SignedMemberPart& p);

// Encodes one part (type, length, payload). Preconditions: fields within
// the limits above.
std::string EncodePart(const Part& p);

// Builds a plaintext datagram part by part within a byte budget.
class DatagramBuilder {
 public:
  explicit DatagramBuilder(size_t budget = kMaxPlaintextBytes);
  // Appends an encoded part if it fits; returns false (and appends nothing)
  // if it does not.
  bool Add(const std::string& encoded_part);
  bool empty() const { return parts_ == 0; }
  size_t size() const { return buf_.size(); }
  size_t room() const { return budget_ - buf_.size(); }
  std::string Finish() { return buf_; }

 private:
  size_t budget_;
  std::string buf_;
  size_t parts_ = 0;
};

// Decodes a plaintext datagram. Any malformed part rejects the whole
// datagram; a version 1 datagram is refused.
Result<std::vector<Part>> DecodeDatagram(std::string_view plaintext);

// The cluster keyring: the first key seals, every key is tried to open.
class Keyring {
 public:
  static constexpr size_t kKeyBytes = 32;
  using Key = ClusterKey;
  Keyring() = default;
  // Parses a key file: one base64 key of 32 bytes per line, primary first.
  static Result<Keyring> Parse(std::string_view text);
  void Add(const std::array<uint8_t, kKeyBytes>& key) { keys_.push_back(key); }
  bool enabled() const { return !keys_.empty(); }
  // Primary first.
  const std::vector<std::array<uint8_t, kKeyBytes>>& keys() const { return keys_; }
  // Seals a plaintext datagram with the primary key (random nonce).
  std::string Seal(std::string_view plaintext) const;
  // Seals with the key at `index` (to answer a member in its own key).
  std::string SealWith(std::string_view plaintext, size_t index) const;
  // Opens a sealed datagram; fails if no key opens it. `index` (if given)
  // gets the position of the key that opened it (0: the primary).
  Result<std::string> Open(std::string_view sealed, size_t* index = nullptr) const;

  // Rotation, one step at a time: install a key (last; already there is
  // fine), make an installed key the primary, remove an installed key
  // that is not the primary.
  Status Install(const Key& key);
  Status Use(const Key& key);
  Status Remove(const Key& key);
  // The key file's text: one base64 key per line, primary first.
  std::string Text() const;
  bool operator==(const Keyring& other) const { return keys_ == other.keys_; }
  // Rises with every rotation step, so that a member that missed one takes
  // the newer keyring and never the older (kept in the key file as a
  // "# generation N" line).
  uint64_t generation() const { return generation_; }
  void set_generation(uint64_t g) { generation_ = g; }

 private:
  std::vector<std::array<uint8_t, kKeyBytes>> keys_;
  uint64_t generation_ = 0;
};

}  // namespace basefs
