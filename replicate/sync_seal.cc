#include "replicate/sync_seal.h"

#include <sodium.h>

#include <cassert>
#include <cstring>

#include "base/crypto.h"

namespace basefs {
namespace {

constexpr char kLabel[] = "basefs-sync-v1";

// The key of one direction ('i': initiator to responder, 'r': back).
SyncSeal::Key DirectionKey(const SyncSeal::Key& cluster_key, char direction, const std::array<uint8_t, 32>& initiator,
                           const std::array<uint8_t, 32>& responder) {
  SyncSeal::Key out{};
  crypto_generichash_state st;
  crypto_generichash_init(&st, cluster_key.data(), cluster_key.size(), out.size());
  crypto_generichash_update(&st, reinterpret_cast<const unsigned char*>(kLabel), sizeof(kLabel) - 1);
  crypto_generichash_update(&st, reinterpret_cast<const unsigned char*>(&direction), 1);
  crypto_generichash_update(&st, initiator.data(), initiator.size());
  crypto_generichash_update(&st, responder.data(), responder.size());
  crypto_generichash_final(&st, out.data(), out.size());
  return out;
}

void Nonce(uint64_t n, unsigned char out[crypto_aead_xchacha20poly1305_ietf_NPUBBYTES]) {
  std::memset(out, 0, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
  for (int i = 0; i < 8; ++i) out[7 - i] = static_cast<unsigned char>(n >> (8 * i));
}

void PutU32(std::string* out, uint32_t v) {
  const char b[4] = {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
                     static_cast<char>(v)};
  out->append(b, 4);
}

uint32_t GetU32(std::string_view s) {
  const auto* b = reinterpret_cast<const unsigned char*>(s.data());
  return (uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16) | (uint32_t{b[2]} << 8) | b[3];
}

}  // namespace

SyncSeal::SyncSeal(const Keyring& ring, bool initiator, Randoms* node)
    : keys_(ring.keys()), initiator_(initiator), node_(node) {
  assert(!keys_.empty());
  CryptoInit();
  randombytes_buf(mine_.data(), mine_.size());
  if (node_) node_->insert(mine_);
  wire_.push_back(static_cast<char>(kSyncSealed));
  wire_.push_back(static_cast<char>(kSyncSealVersion));
  wire_.append(reinterpret_cast<const char*>(mine_.data()), mine_.size());
}

SyncSeal::~SyncSeal() {
  if (node_) node_->erase(mine_);
  for (Key& k : keys_) sodium_memzero(k.data(), k.size());
  for (Key& k : recv_keys_) sodium_memzero(k.data(), k.size());
  sodium_memzero(send_key_.data(), send_key_.size());
}

void SyncSeal::Derive() {
  const auto& init = initiator_ ? mine_ : *theirs_;
  const auto& resp = initiator_ ? *theirs_ : mine_;
  const char send = initiator_ ? 'i' : 'r', recv = initiator_ ? 'r' : 'i';
  send_key_ = DirectionKey(keys_[0], send, init, resp);
  for (const Key& k : keys_) recv_keys_.push_back(DirectionKey(k, recv, init, resp));
}

void SyncSeal::SealRecords(std::string_view plain) {
  unsigned char nonce[crypto_aead_xchacha20poly1305_ietf_NPUBBYTES];
  while (!plain.empty()) {
    const std::string_view part = plain.substr(0, sent_ == 0 ? kFirstPlainBytes : kSealedPlainBytes);
    plain.remove_prefix(part.size());
    const size_t at = wire_.size();
    PutU32(&wire_, static_cast<uint32_t>(part.size() + crypto_aead_xchacha20poly1305_ietf_ABYTES));
    wire_.resize(at + 4 + part.size() + crypto_aead_xchacha20poly1305_ietf_ABYTES);
    Nonce(sent_++, nonce);
    unsigned long long clen = 0;
    crypto_aead_xchacha20poly1305_ietf_encrypt(reinterpret_cast<unsigned char*>(wire_.data() + at + 4), &clen,
                                               reinterpret_cast<const unsigned char*>(part.data()), part.size(),
                                               nullptr, 0, nullptr, nonce, send_key_.data());
  }
}

void SyncSeal::Seal(std::string_view plain) {
  if (!theirs_) {
    pending_.append(plain);
    return;
  }
  SealRecords(plain);
}

Status SyncSeal::Open(std::string_view wire, std::string* plain) {
  in_.append(wire);
  size_t pos = 0;
  Status st = Status::Ok();
  if (!theirs_) {
    if (in_.size() >= 1 && static_cast<uint8_t>(in_[0]) != kSyncSealed)
      return PermissionDenied("sync: the peer does not seal sync with a cluster key (is --cluster-key set on both?)");
    if (in_.size() >= 2 && static_cast<uint8_t>(in_[1]) != kSyncSealVersion)
      return Invalid("sync: the peer seals with version " + std::to_string(static_cast<uint8_t>(in_[1])) +
                     ", this node knows " + std::to_string(kSyncSealVersion));
    if (in_.size() < kSyncHandshakeBytes) return Status::Ok();
    theirs_.emplace();
    std::memcpy(theirs_->data(), in_.data() + 2, theirs_->size());
    if (*theirs_ == mine_ || (node_ && node_->count(*theirs_)))
      return Invalid("sync: the peer's handshake is this node's own (a session relayed back to it)");
    pos = kSyncHandshakeBytes;
    Derive();
    SealRecords(pending_);
    pending_.clear();
    pending_.shrink_to_fit();
  }
  unsigned char nonce[crypto_aead_xchacha20poly1305_ietf_NPUBBYTES];
  while (in_.size() - pos >= 4) {
    const uint32_t len = GetU32(std::string_view(in_).substr(pos, 4));
    const size_t most =
        (received_ == 0 ? kFirstPlainBytes : kSealedPlainBytes) + crypto_aead_xchacha20poly1305_ietf_ABYTES;
    if (len <= crypto_aead_xchacha20poly1305_ietf_ABYTES || len > most) {
      st = Invalid("sync: sealed record of " + std::to_string(len) + " bytes");
      break;
    }
    if (in_.size() - pos - 4 < len) break;
    const auto* c = reinterpret_cast<const unsigned char*>(in_.data() + pos + 4);
    const size_t at = plain->size();
    plain->resize(at + len - crypto_aead_xchacha20poly1305_ietf_ABYTES);
    Nonce(received_, nonce);
    bool opened = false;
    for (size_t k = 0; k < recv_keys_.size() && !opened; ++k) {
      unsigned long long plen = 0;
      if (crypto_aead_xchacha20poly1305_ietf_decrypt(reinterpret_cast<unsigned char*>(plain->data() + at), &plen,
                                                     nullptr, c, len, nullptr, 0, nonce, recv_keys_[k].data()) == 0) {
        opened = true;
        if (recv_keys_.size() > 1) {  // the peer's key, from now on; the others wiped
          const Key keep = recv_keys_[k];
          for (Key& other : recv_keys_) sodium_memzero(other.data(), other.size());
          recv_keys_ = {keep};
        }
      }
    }
    if (!opened) {
      plain->resize(at);
      st = PermissionDenied(received_ == 0 ? "sync: the peer is not sealed with this cluster's key"
                                           : "sync: a sealed record does not open (corrupt or tampered)");
      break;
    }
    ++received_;
    pos += 4 + len;
  }
  in_.erase(0, pos);
  return st;
}

std::string SyncSeal::TakeWire() {
  std::string out;
  out.swap(wire_);
  return out;
}

}  // namespace basefs
