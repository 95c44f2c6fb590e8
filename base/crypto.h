// Hashes, keys and signatures (libsodium): BLAKE2b-256 content addresses and
// Ed25519 signatures, plus the hex/base64 text forms used by the CLI.
//
// Init() must be called once before anything else here (it is idempotent and
// thread-safe). All other functions are pure.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.h"

namespace basefs {

inline constexpr size_t kHashBytes = 32;
inline constexpr size_t kPublicKeyBytes = 32;
inline constexpr size_t kSecretKeyBytes = 64;  // libsodium's seed || public key
inline constexpr size_t kSignatureBytes = 64;

using Hash = std::array<uint8_t, kHashBytes>;
using PublicKey = std::array<uint8_t, kPublicKeyBytes>;
using Signature = std::array<uint8_t, kSignatureBytes>;

struct KeyPair {
  PublicKey public_key{};
  std::array<uint8_t, kSecretKeyBytes> secret_key{};
};

// Initialises libsodium; aborts if the library cannot start (no entropy).
void CryptoInit();

// BLAKE2b-256 of `data`.
Hash HashBytes(std::string_view data);

// Incremental BLAKE2b-256, for digests over many parts.
class Hasher {
 public:
  Hasher();
  void Update(std::string_view data);
  void Update(const Hash& h) { Update(std::string_view(reinterpret_cast<const char*>(h.data()), h.size())); }
  Hash Finish();

 private:
  alignas(64) unsigned char state_[384];
};

KeyPair GenerateKeyPair();
Signature Sign(const KeyPair& key, std::string_view message);
bool Verify(const PublicKey& key, std::string_view message, const Signature& sig);

std::string ToHex(const uint8_t* data, size_t len);
template <size_t N>
std::string ToHex(const std::array<uint8_t, N>& a) {
  return ToHex(a.data(), N);
}
std::string ToBase64(const uint8_t* data, size_t len);
template <size_t N>
std::string ToBase64(const std::array<uint8_t, N>& a) {
  return ToBase64(a.data(), N);
}

// Parses exactly N bytes of standard base64 (surrounding whitespace allowed).
Result<PublicKey> ParsePublicKey(std::string_view text);

inline bool IsZero(const Hash& h) {
  for (uint8_t b : h)
    if (b) return false;
  return true;
}

inline std::string_view AsView(const Hash& h) {
  return std::string_view(reinterpret_cast<const char*>(h.data()), h.size());
}

}  // namespace basefs
