#include "base/crypto.h"

#include <sodium.h>

#include <cstdlib>
#include <cstring>

namespace basefs {

static_assert(crypto_sign_PUBLICKEYBYTES == kPublicKeyBytes);
static_assert(crypto_sign_SECRETKEYBYTES == kSecretKeyBytes);
static_assert(crypto_sign_BYTES == kSignatureBytes);

void CryptoInit() {
  if (sodium_init() < 0) std::abort();
}

Hash HashBytes(std::string_view data) {
  Hash out;
  crypto_generichash(out.data(), out.size(), reinterpret_cast<const unsigned char*>(data.data()), data.size(), nullptr,
                     0);
  return out;
}

Hasher::Hasher() {
  static_assert(sizeof(state_) >= sizeof(crypto_generichash_state));
  crypto_generichash_init(reinterpret_cast<crypto_generichash_state*>(state_), nullptr, 0, kHashBytes);
}

void Hasher::Update(std::string_view data) {
  crypto_generichash_update(reinterpret_cast<crypto_generichash_state*>(state_),
                            reinterpret_cast<const unsigned char*>(data.data()), data.size());
}

Hash Hasher::Finish() {
  Hash out;
  crypto_generichash_final(reinterpret_cast<crypto_generichash_state*>(state_), out.data(), out.size());
  return out;
}

KeyPair GenerateKeyPair() {
  KeyPair kp;
  crypto_sign_keypair(kp.public_key.data(), kp.secret_key.data());
  return kp;
}

Signature Sign(const KeyPair& key, std::string_view message) {
  Signature sig;
  crypto_sign_detached(sig.data(), nullptr, reinterpret_cast<const unsigned char*>(message.data()), message.size(),
                       key.secret_key.data());
  return sig;
}

bool Verify(const PublicKey& key, std::string_view message, const Signature& sig) {
  return crypto_sign_verify_detached(sig.data(), reinterpret_cast<const unsigned char*>(message.data()), message.size(),
                                     key.data()) == 0;
}

std::string ToHex(const uint8_t* data, size_t len) {
  std::string out(len * 2 + 1, '\0');
  sodium_bin2hex(out.data(), out.size(), data, len);
  out.resize(len * 2);
  return out;
}

std::string ToBase64(const uint8_t* data, size_t len) {
  const size_t n = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);
  std::string out(n, '\0');
  sodium_bin2base64(out.data(), n, data, len, sodium_base64_VARIANT_ORIGINAL);
  out.resize(std::strlen(out.c_str()));
  return out;
}

static std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\n' || s.front() == '\t' || s.front() == '\r'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\n' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

Result<PublicKey> ParsePublicKey(std::string_view text) {
  text = Trim(text);
  PublicKey key;
  size_t len = 0;
  const char* end = nullptr;
  if (text.size() > 64 ||
      sodium_base642bin(key.data(), key.size(), text.data(), text.size(), nullptr, &len, &end,
                        sodium_base64_VARIANT_ORIGINAL) != 0 ||
      len != key.size() || end != text.data() + text.size()) {
    return Invalid("not a public key: expected 32 bytes of standard base64 (as printed by 'basefs genkey')");
  }
  return key;
}

}  // namespace basefs
