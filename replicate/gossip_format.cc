#include "replicate/gossip_format.h"

#include <sodium.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "store/codec.h"

namespace basefs {
namespace {

struct Encoder {
  std::string* o;
  void operator()(const PingPart& p) {
    PutU32(o, p.seq);
    PutStr8(o, p.target);
    PutStr8(o, p.from_name);
    PutStr8(o, p.from_addr);
  }
  void operator()(const AckPart& p) {
    PutU32(o, p.seq);
    PutStr8(o, p.from_name);
  }
  void operator()(const PingReqPart& p) {
    PutU32(o, p.seq);
    PutStr8(o, p.target);
    PutStr8(o, p.target_addr);
  }
  void operator()(const SignedMemberPart& p) {
    (*this)(p.member);
    o->append(reinterpret_cast<const char*>(p.key.data()), p.key.size());
    o->append(reinterpret_cast<const char*>(p.sig.data()), p.sig.size());
  }
  void operator()(const MemberPart& p) {
    PutU8(o, static_cast<uint8_t>(p.state));
    PutU64(o, p.incarnation);
    PutStr8(o, p.name);
    PutStr8(o, p.addr);
    assert(p.meta.size() <= kMaxMetaBytes);
    PutU16(o, static_cast<uint16_t>(p.meta.size()));
    o->append(p.meta);
  }
  void operator()(const EntryPart& p) { o->append(p.bytes); }
  void operator()(const BlockPart& p) { o->append(p.bytes); }
  void operator()(const WantPart& p) {
    assert(p.hashes.size() <= kMaxWantHashes);
    PutU8(o, static_cast<uint8_t>(p.hashes.size()));
    for (const Hash& h : p.hashes) o->append(AsView(h));
  }
  void operator()(const PushPullPart& p) { PutU8(o, p.reply_wanted ? 1 : 0); }
  void Keys(const std::vector<ClusterKey>& keys) {
    assert(keys.size() <= kMaxKeyringKeys);
    PutU8(o, static_cast<uint8_t>(keys.size()));
    for (const auto& k : keys) o->append(reinterpret_cast<const char*>(k.data()), k.size());
  }
  void operator()(const KeyringPart& p) {
    PutU32(o, p.id);
    PutU8(o, static_cast<uint8_t>(p.op));
    PutU64(o, p.generation);
    Keys(p.keys);
  }
  void operator()(const KeyringReplyPart& p) {
    PutU32(o, p.id);
    PutU8(o, p.ok ? 1 : 0);
    PutStr8(o, p.error.substr(0, 255));
    Keys(p.keys);
  }
};

bool ReadKeys(ByteReader* in, std::vector<ClusterKey>* keys) {
  uint8_t n;
  if (!in->U8(&n) || n > kMaxKeyringKeys) return false;
  keys->resize(n);
  for (auto& k : *keys)
    if (!in->Array(&k)) return false;
  return true;
}

bool ReadMember(ByteReader* in, MemberPart* p) {
  uint8_t st;
  uint16_t meta_len;
  if (!in->U8(&st) || st < 1 || st > 4 || !in->U64(&p->incarnation) || !in->Str8(kMaxNodeNameBytes, &p->name) ||
      p->name.empty() || !in->Str8(kMaxAddressBytes, &p->addr) || !in->U16(&meta_len) || meta_len > kMaxMetaBytes ||
      !in->Bytes(meta_len, &p->meta))
    return false;
  p->state = static_cast<MemberState>(st);
  return true;
}

Result<Part> DecodePart(PartType type, std::string_view payload) {
  ByteReader in(payload);
  const Status bad = Invalid("malformed gossip part");
  switch (type) {
    case PartType::kPing: {
      PingPart p;
      if (!in.U32(&p.seq) || !in.Str8(kMaxNodeNameBytes, &p.target) || !in.Str8(kMaxNodeNameBytes, &p.from_name) ||
          !in.Str8(kMaxAddressBytes, &p.from_addr) || !in.done())
        return bad;
      return Part(p);
    }
    case PartType::kAck: {
      AckPart p;
      if (!in.U32(&p.seq) || !in.Str8(kMaxNodeNameBytes, &p.from_name) || !in.done()) return bad;
      return Part(p);
    }
    case PartType::kPingReq: {
      PingReqPart p;
      if (!in.U32(&p.seq) || !in.Str8(kMaxNodeNameBytes, &p.target) || !in.Str8(kMaxAddressBytes, &p.target_addr) ||
          !in.done())
        return bad;
      return Part(p);
    }
    case PartType::kMember: {
      MemberPart p;
      if (!ReadMember(&in, &p) || !in.done()) return bad;
      // Unsigned facts are observations of others: a node's own alive or
      // left must be signed (kSignedMember).
      if (p.state != MemberState::kSuspect && p.state != MemberState::kFailed) return bad;
      return Part(p);
    }
    case PartType::kSignedMember: {
      SignedMemberPart p;
      if (!ReadMember(&in, &p.member) || !in.Array(&p.key) || !in.Array(&p.sig) || !in.done()) return bad;
      if (p.member.state != MemberState::kAlive && p.member.state != MemberState::kLeft) return bad;
      return Part(p);
    }
    case PartType::kKeyring: {
      KeyringPart p;
      uint8_t op;
      if (!in.U32(&p.id) || !in.U8(&op) || op < 1 || op > 5 || !in.U64(&p.generation) || !ReadKeys(&in, &p.keys) ||
          !in.done())
        return bad;
      p.op = static_cast<KeyringOp>(op);
      const size_t want = p.op == KeyringOp::kList ? 0 : 1;
      if (p.op == KeyringOp::kSync ? p.keys.empty() : p.keys.size() != want) return bad;
      return Part(p);
    }
    case PartType::kKeyringReply: {
      KeyringReplyPart p;
      uint8_t ok;
      if (!in.U32(&p.id) || !in.U8(&ok) || ok > 1 || !in.Str8(255, &p.error) || !ReadKeys(&in, &p.keys) || !in.done())
        return bad;
      p.ok = ok == 1;
      return Part(p);
    }
    case PartType::kEntry:
      if (payload.empty() || payload.size() > kMaxEntryBytes) return bad;
      return Part(EntryPart{std::string(payload)});
    case PartType::kBlock:
      if (payload.empty() || payload.size() > kMaxBlockBytes) return bad;
      return Part(BlockPart{std::string(payload)});
    case PartType::kWant: {
      WantPart p;
      uint8_t n;
      if (!in.U8(&n) || n == 0 || n > kMaxWantHashes) return bad;
      p.hashes.resize(n);
      for (Hash& h : p.hashes)
        if (!in.Array(&h)) return bad;
      if (!in.done()) return bad;
      return Part(p);
    }
    case PartType::kPushPull: {
      uint8_t f;
      if (!in.U8(&f) || f > 1 || !in.done()) return bad;
      return Part(PushPullPart{f == 1});
    }
  }
  return Invalid("unknown gossip part type");
}

}  // namespace

const char* MemberStateName(MemberState s) {
  switch (s) {
    case MemberState::kAlive: return "alive";
    case MemberState::kSuspect: return "suspect";
    case MemberState::kFailed: return "failed";
    case MemberState::kLeft: return "left";
  }
  return "unknown";
}

std::string MemberSigningBytes(const MemberPart& m) {
  std::string out = "basefs-member-v1";
  Encoder{&out}(m);
  return out;
}

SignedMemberPart SignMember(const MemberPart& m, const KeyPair& key) {
  SignedMemberPart p;
  p.member = m;
  p.key = key.public_key;
  p.sig = Sign(key, MemberSigningBytes(m));
  return p;
}

bool VerifyMember(const SignedMemberPart& p) { return Verify(p.key, MemberSigningBytes(p.member), p.sig); }

std::string EncodePart(const Part& p) {
  std::string payload;
  std::visit(Encoder{&payload}, p);
  std::string out;
  PutU8(&out, static_cast<uint8_t>(p.index() + 1));
  assert(payload.size() <= 0xffff);
  PutU16(&out, static_cast<uint16_t>(payload.size()));
  out.append(payload);
  return out;
}

DatagramBuilder::DatagramBuilder(size_t budget) : budget_(budget) {
  buf_.push_back(static_cast<char>(kGossipMagic));
  buf_.push_back(static_cast<char>(kGossipVersion));
}

bool DatagramBuilder::Add(const std::string& part) {
  if (buf_.size() + part.size() > budget_) return false;
  buf_.append(part);
  ++parts_;
  return true;
}

Result<std::vector<Part>> DecodeDatagram(std::string_view b) {
  if (b.size() < 2 || b.size() > kMaxDatagramBytes) return Invalid("bad datagram size");
  if (static_cast<uint8_t>(b[0]) != kGossipMagic) return Invalid("not a basefs gossip datagram");
  if (static_cast<uint8_t>(b[1]) == kGossipVersionUnsigned)
    return Invalid("gossip version 1 (unsigned membership): that node needs an upgrade");
  if (static_cast<uint8_t>(b[1]) != kGossipVersion) return Invalid("unsupported gossip version");
  std::vector<Part> parts;
  size_t pos = 2;
  while (pos < b.size()) {
    if (b.size() - pos < 3) return Invalid("truncated gossip part header");
    const uint8_t type = static_cast<uint8_t>(b[pos]);
    const size_t len = (static_cast<uint8_t>(b[pos + 1]) << 8) | static_cast<uint8_t>(b[pos + 2]);
    pos += 3;
    if (b.size() - pos < len) return Invalid("truncated gossip part");
    if (type < 1 || type > 11) return Invalid("unknown gossip part type " + std::to_string(type));
    auto part = DecodePart(static_cast<PartType>(type), b.substr(pos, len));
    if (!part.ok()) return part.status();
    parts.push_back(std::move(part).value());
    pos += len;
  }
  return parts;
}

Result<Keyring> Keyring::Parse(std::string_view text) {
  Keyring ring;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.remove_suffix(1);
    if (constexpr std::string_view kGen = "# generation "; line.substr(0, kGen.size()) == kGen) {
      ring.generation_ = std::strtoull(std::string(line.substr(kGen.size())).c_str(), nullptr, 10);
      continue;
    }
    if (line.empty() || line[0] == '#') continue;
    std::array<uint8_t, kKeyBytes> key{};
    size_t len = 0;
    const char* stop = nullptr;
    if (sodium_base642bin(key.data(), key.size(), line.data(), line.size(), nullptr, &len, &stop,
                          sodium_base64_VARIANT_ORIGINAL) != 0 ||
        len != kKeyBytes || stop != line.data() + line.size())
      return Invalid(
          "cluster key file: each line must be 32 bytes of base64 (e.g. from 'head -c32 /dev/urandom | base64')");
    ring.Add(key);
    if (ring.keys_.size() > kMaxKeyringKeys) return Invalid("cluster key file: at most 16 keys");
  }
  if (!ring.enabled()) return Invalid("cluster key file holds no key");
  return ring;
}

namespace {
constexpr unsigned char kAd[] = "basefs-gossip-v1";
}

std::string Keyring::Seal(std::string_view plaintext) const { return SealWith(plaintext, 0); }

std::string Keyring::SealWith(std::string_view plaintext, size_t index) const {
  assert(index < keys_.size() && plaintext.size() <= kMaxPlaintextBytes);
  std::string out(kSealOverheadBytes + plaintext.size(), '\0');
  auto* o = reinterpret_cast<unsigned char*>(out.data());
  o[0] = kGossipSealed;
  o[1] = 0;  // key id: the primary key
  randombytes_buf(o + 2, 24);
  unsigned long long clen = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(o + 26, &clen, reinterpret_cast<const unsigned char*>(plaintext.data()),
                                             plaintext.size(), kAd, sizeof(kAd) - 1, nullptr, o + 2,
                                             keys_[index].data());
  out.resize(26 + clen);
  return out;
}

Result<std::string> Keyring::Open(std::string_view sealed, size_t* index) const {
  if (sealed.size() < kSealOverheadBytes || sealed.size() > kMaxDatagramBytes ||
      static_cast<uint8_t>(sealed[0]) != kGossipSealed)
    return Invalid("not a sealed datagram");
  const auto* s = reinterpret_cast<const unsigned char*>(sealed.data());
  std::string plain(sealed.size() - kSealOverheadBytes, '\0');
  // Try the named key first, then every other (rotation in progress).
  const size_t hint = s[1];
  for (size_t i = 0; i < keys_.size(); ++i) {
    const size_t k = (i == 0 && hint < keys_.size()) ? hint : (i == hint ? 0 : i);
    unsigned long long plen = 0;
    if (crypto_aead_xchacha20poly1305_ietf_decrypt(reinterpret_cast<unsigned char*>(plain.data()), &plen, nullptr,
                                                   s + 26, sealed.size() - 26, kAd, sizeof(kAd) - 1, s + 2,
                                                   keys_[k].data()) == 0) {
      plain.resize(plen);
      if (index) *index = k;
      return plain;
    }
  }
  return PermissionDenied("datagram not sealed with a cluster key");
}

Status Keyring::Install(const Key& key) {
  if (std::find(keys_.begin(), keys_.end(), key) != keys_.end()) return Status::Ok();
  if (keys_.size() >= kMaxKeyringKeys) return Invalid("the keyring holds 16 keys already: remove one first");
  keys_.push_back(key);
  return Status::Ok();
}

Status Keyring::Use(const Key& key) {
  auto it = std::find(keys_.begin(), keys_.end(), key);
  if (it == keys_.end()) return NotFound("that key is not installed here: install it first");
  std::rotate(keys_.begin(), it, it + 1);
  return Status::Ok();
}

Status Keyring::Remove(const Key& key) {
  auto it = std::find(keys_.begin(), keys_.end(), key);
  if (it == keys_.end()) return NotFound("that key is not installed here");
  if (it == keys_.begin()) return Invalid("that key is the primary here: use another key first");
  keys_.erase(it);
  return Status::Ok();
}

std::string Keyring::Text() const {
  std::string out = "# basefs cluster keys, primary first (basefs keyring NAME --list)\n# generation " +
                    std::to_string(generation_) + "\n";
  for (const auto& k : keys_) {
    char b64[sodium_base64_ENCODED_LEN(kKeyBytes, sodium_base64_VARIANT_ORIGINAL)];
    sodium_bin2base64(b64, sizeof(b64), k.data(), k.size(), sodium_base64_VARIANT_ORIGINAL);
    out += b64;
    out += '\n';
  }
  return out;
}

}  // namespace basefs
