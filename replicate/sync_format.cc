#include "replicate/sync_format.h"

#include <cstring>
#include <optional>

#include "store/codec.h"
#include "store/entry_format.h"

namespace basefs {
namespace {

struct Enc {
  std::string* o;
  void operator()(const HelloMsg& m) {
    PutU8(o, m.version);
    PutArray(o, m.genesis);
    PutArray(o, m.root_digest);
  }
  void operator()(const GenesisMsg& m) { PutStr16(o, m.entry); }
  void operator()(const SummaryReqMsg& m) {
    PutU16(o, static_cast<uint16_t>(m.paths.size()));
    for (const auto& p : m.paths) {
      PutStr16(o, p.path);
      PutU8(o, static_cast<uint8_t>(p.bucket.size()));
      o->append(p.bucket);
    }
  }
  void operator()(const SummaryMsg& m) {
    PutU16(o, static_cast<uint16_t>(m.paths.size()));
    for (const auto& p : m.paths) {
      PutStr16(o, p.path);
      PutU8(o, static_cast<uint8_t>(p.bucket.size()));
      o->append(p.bucket);
      PutU8(o, p.known ? 1 : 0);
      PutU32(o, static_cast<uint32_t>(p.entries.size()));
      for (const auto& h : p.entries) PutArray(o, h);
      PutU32(o, static_cast<uint32_t>(p.children.size()));
      for (const auto& [name, digest] : p.children) {
        PutU8(o, static_cast<uint8_t>(name.size()));
        o->append(name);
        PutArray(o, digest);
      }
      PutU8(o, static_cast<uint8_t>(p.sub_buckets.size()));
      for (const auto& [digit, digest] : p.sub_buckets) {
        PutU8(o, digit);
        PutArray(o, digest);
      }
    }
  }
  void operator()(const WantMsg& m) {
    PutU32(o, static_cast<uint32_t>(m.hashes.size()));
    for (const auto& h : m.hashes) PutArray(o, h);
  }
  void operator()(const ObjectsMsg& m) {
    PutU32(o, static_cast<uint32_t>(m.entries.size()));
    for (const auto& e : m.entries) PutStr16(o, e);
    PutU32(o, static_cast<uint32_t>(m.blocks.size()));
    for (const auto& b : m.blocks) PutStr16(o, b);
  }
  void operator()(const DoneMsg& m) { PutArray(o, m.root_digest); }
  void operator()(const ErrorMsg& m) { PutStr16(o, m.message.substr(0, 1000)); }
};

}  // namespace

std::string EncodeFrame(const SyncMsg& m) {
  std::string payload;
  std::visit(Enc{&payload}, m);
  std::string out;
  PutU32(&out, static_cast<uint32_t>(payload.size() + 1));
  PutU8(&out, static_cast<uint8_t>(m.index() + 1));
  out.append(payload);
  assert(out.size() - 4 <= kMaxFrameBytes);
  return out;
}

Result<SyncMsg> DecodeSyncMessage(uint8_t type, std::string_view payload) {
  ByteReader in(payload);
  const Status bad = Invalid("malformed sync message (type " + std::to_string(type) + ")");
  switch (type) {
    case 1: {
      HelloMsg m;
      if (!in.U8(&m.version) || !in.Array(&m.genesis) || !in.Array(&m.root_digest) || !in.done()) return bad;
      return SyncMsg(m);
    }
    case 2: {
      GenesisMsg m;
      if (!in.Str16(kMaxEntryBytes, &m.entry) || !in.done()) return bad;
      return SyncMsg(m);
    }
    case 3: {
      SummaryReqMsg m;
      uint16_t n;
      if (!in.U16(&n) || n > kMaxSummaryPaths) return bad;
      for (uint16_t i = 0; i < n; ++i) {
        SummaryRef r;
        uint8_t blen;
        if (!in.Str16(kMaxPathBytes, &r.path) || !in.U8(&blen) || blen > kMaxBucketDigits || !in.Bytes(blen, &r.bucket))
          return bad;
        if (r.bucket.find_first_not_of("0123456789abcdef") != std::string::npos) return bad;
        m.paths.push_back(std::move(r));
      }
      if (!in.done()) return bad;
      return SyncMsg(m);
    }
    case 4: {
      SummaryMsg m;
      uint16_t n;
      if (!in.U16(&n) || n > kMaxSummaryPaths) return bad;
      for (uint16_t i = 0; i < n; ++i) {
        PathSummary p;
        uint8_t known;
        uint32_t ne, nc;
        uint8_t blen;
        if (!in.Str16(kMaxPathBytes, &p.path) || !in.U8(&blen) || blen > kMaxBucketDigits ||
            !in.Bytes(blen, &p.bucket) || !in.U8(&known) || known > 1)
          return bad;
        p.known = known == 1;
        if (!in.Count(kHashBytes, 1u << 20, &ne)) return bad;
        p.entries.resize(ne);
        for (auto& h : p.entries)
          if (!in.Array(&h)) return bad;
        if (!in.Count(1 + 1 + kHashBytes, 1u << 20, &nc)) return bad;
        for (uint32_t c = 0; c < nc; ++c) {
          uint8_t len;
          std::string name;
          Hash d;
          if (!in.U8(&len) || len == 0 || !in.Bytes(len, &name) || !in.Array(&d)) return bad;
          p.children.emplace_back(std::move(name), d);
        }
        uint8_t nb;
        if (!in.U8(&nb) || nb > 16) return bad;
        for (uint8_t b = 0; b < nb; ++b) {
          uint8_t digit;
          Hash d;
          if (!in.U8(&digit) || digit > 15 || !in.Array(&d)) return bad;
          p.sub_buckets.emplace_back(digit, d);
        }
        m.paths.push_back(std::move(p));
      }
      if (!in.done()) return bad;
      return SyncMsg(m);
    }
    case 5: {
      WantMsg m;
      uint32_t n;
      if (!in.Count(kHashBytes, kMaxWantHashesPerRequest, &n)) return bad;
      m.hashes.resize(n);
      for (auto& h : m.hashes)
        if (!in.Array(&h)) return bad;
      if (!in.done()) return bad;
      return SyncMsg(m);
    }
    case 6: {
      ObjectsMsg m;
      uint32_t n;
      if (!in.Count(2, kMaxWantHashesPerRequest, &n)) return bad;
      for (uint32_t i = 0; i < n; ++i) {
        std::string e;
        if (!in.Str16(kMaxEntryBytes, &e)) return bad;
        m.entries.push_back(std::move(e));
      }
      if (!in.Count(2, kMaxWantHashesPerRequest, &n)) return bad;
      for (uint32_t i = 0; i < n; ++i) {
        std::string b;
        if (!in.Str16(kMaxBlockBytes, &b)) return bad;
        m.blocks.push_back(std::move(b));
      }
      if (!in.done()) return bad;
      return SyncMsg(m);
    }
    case 7: {
      DoneMsg m;
      if (!in.Array(&m.root_digest) || !in.done()) return bad;
      return SyncMsg(m);
    }
    case 8: {
      ErrorMsg m;
      if (!in.Str16(1000, &m.message) || !in.done()) return bad;
      return SyncMsg(m);
    }
  }
  return Invalid("unknown sync message type " + std::to_string(type));
}

Result<std::optional<SyncMsg>> FrameReader::Next() {
  if (buf_.size() - pos_ < 4) return std::optional<SyncMsg>();
  uint32_t len = 0;
  for (int i = 0; i < 4; ++i) len = (len << 8) | static_cast<uint8_t>(buf_[pos_ + static_cast<size_t>(i)]);
  if (len == 0 || len > kMaxFrameBytes) return Invalid("sync frame of " + std::to_string(len) + " bytes");
  if (buf_.size() - pos_ - 4 < len) return std::optional<SyncMsg>();
  const uint8_t type = static_cast<uint8_t>(buf_[pos_ + 4]);
  auto m = DecodeSyncMessage(type, std::string_view(buf_).substr(pos_ + 5, len - 1));
  pos_ += 4 + len;
  if (pos_ > (1u << 20) && pos_ * 2 > buf_.size()) {
    buf_.erase(0, pos_);
    pos_ = 0;
  }
  if (!m.ok()) return m.status();
  return std::optional<SyncMsg>(std::move(m).value());
}

}  // namespace basefs
