// SyncSeal: the sync stream sealed with the cluster key (docs/sync_format.md,
// "Sealed sessions"). Sans-I/O, one per connection, between the socket and
// the SyncSession.
//
//   handshake = u8 0xE2 | u8 version (1) | 32 random bytes      (each side, first)
//   record    = u32 length (17..kMaxSealedRecordBytes) | XChaCha20-Poly1305 ciphertext
//
// Each direction has its own key, BLAKE2b-256 keyed with a cluster key over
// a label, the direction and both sides' random bytes, so no record of one
// session or direction opens in another; the nonce is the record's number
// in its direction. A side seals with its primary key and opens with
// whichever of its keys opens the peer's first record (key rotation). A
// handshake carrying the random bytes of another live seal of the same
// node is refused: a session relayed back to the node that started it.
// Thread-safety: none (the connection's loop). Never throws.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "replicate/gossip_format.h"

namespace basefs {

inline constexpr uint8_t kSyncSealed = 0xE2;
inline constexpr uint8_t kSyncSealVersion = 1;
inline constexpr size_t kSyncHandshakeBytes = 2 + 32;
inline constexpr size_t kSealedPlainBytes = 64u << 10;  // plaintext per record, at most
inline constexpr size_t kSealedRecordBytes = kSealedPlainBytes + 16;
// A side's first record (its HELLO) is small: a stranger's first record is
// refused before it costs a decryption per key of a large record.
inline constexpr size_t kFirstPlainBytes = 1024;

class SyncSeal {
 public:
  using Key = std::array<uint8_t, Keyring::kKeyBytes>;
  // The handshake random bytes of one node's live seals.
  using Randoms = std::set<std::array<uint8_t, 32>>;
  // `ring` must be enabled. `initiator`: this side connected. `node`, if
  // given, holds the random bytes of the node's other live seals (and gets
  // this one's while it lives).
  SyncSeal(const Keyring& ring, bool initiator, Randoms* node = nullptr);
  ~SyncSeal();  // wipes the keys
  SyncSeal(const SyncSeal&) = delete;
  SyncSeal& operator=(const SyncSeal&) = delete;

  // Plaintext for the peer: sealed into the wire output (held until the
  // peer's handshake has arrived).
  void Seal(std::string_view plain);
  // Bytes from the peer; the plaintext they open to is appended to
  // `*plain`. A non-OK status ends the session: wrong magic (the peer does
  // not seal), a record no key opens, a malformed length.
  Status Open(std::string_view wire, std::string* plain);
  // What to write to the socket now (this side's handshake first).
  std::string TakeWire();
  // The peer's handshake came, but no record of its has opened yet: a
  // peer that closes now did not accept this side's key.
  bool awaiting_first_record() const { return theirs_.has_value() && received_ == 0; }

 private:
  void Derive();
  void SealRecords(std::string_view plain);

  std::vector<Key> keys_;
  bool initiator_;
  Randoms* node_;
  std::array<uint8_t, 32> mine_{};
  std::optional<std::array<uint8_t, 32>> theirs_;
  Key send_key_{};
  std::vector<Key> recv_keys_;  // candidates until the first record opens, then one
  uint64_t sent_ = 0, received_ = 0;
  std::string in_;       // a partial handshake or record
  std::string pending_;  // plaintext waiting for the peer's handshake
  std::string wire_;
};

}  // namespace basefs
