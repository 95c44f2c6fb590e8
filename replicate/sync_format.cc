#include "replicate/sync_format.h"

#include <cstring>
#include <optional>

#include "store/entry_format.h"

namespace basefs {
namespace {

void U8(std::string* o, uint8_t v) { o->push_back(static_cast<char>(v)); }
void U16(std::string* o, uint16_t v) {
  U8(o, static_cast<uint8_t>(v >> 8));
  U8(o, static_cast<uint8_t>(v));
}
void U32(std::string* o, uint32_t v) {
  for (int i = 3; i >= 0; --i) U8(o, static_cast<uint8_t>(v >> (i * 8)));
}
void H(std::string* o, const Hash& h) { o->append(AsView(h)); }
void Str16(std::string* o, const std::string& s) {
  assert(s.size() <= 0xffff);
  U16(o, static_cast<uint16_t>(s.size()));
  o->append(s);
}

class In {
 public:
  explicit In(std::string_view b) : b_(b) {}
  bool U8(uint8_t* v) {
    if (pos_ >= b_.size()) return false;
    *v = static_cast<uint8_t>(b_[pos_++]);
    return true;
  }
  bool U16(uint16_t* v) {
    uint8_t a, b;
    if (!U8(&a) || !U8(&b)) return false;
    *v = static_cast<uint16_t>((a << 8) | b);
    return true;
  }
  bool U32(uint32_t* v) {
    *v = 0;
    for (int i = 0; i < 4; ++i) {
      uint8_t x;
      if (!U8(&x)) return false;
      *v = (*v << 8) | x;
    }
    return true;
  }
  bool H(Hash* h) {
    if (b_.size() - pos_ < kHashBytes) return false;
    std::memcpy(h->data(), b_.data() + pos_, kHashBytes);
    pos_ += kHashBytes;
    return true;
  }
  bool Bytes(size_t n, std::string* out) {
    if (b_.size() - pos_ < n) return false;
    out->assign(b_.substr(pos_, n));
    pos_ += n;
    return true;
  }
  bool Str16(size_t max, std::string* out) {
    uint16_t n;
    return U16(&n) && n <= max && Bytes(n, out);
  }
  // A count that cannot exceed what is left, given each item's minimum size.
  bool Count(size_t min_item, uint32_t max, uint32_t* n) {
    return U32(n) && *n <= max && static_cast<uint64_t>(*n) * min_item <= b_.size() - pos_;
  }
  bool done() const { return pos_ == b_.size(); }

 private:
  std::string_view b_;
  size_t pos_ = 0;
};

struct Enc {
  std::string* o;
  void operator()(const HelloMsg& m) {
    U8(o, m.version);
    H(o, m.genesis);
    H(o, m.root_digest);
  }
  void operator()(const GenesisMsg& m) { Str16(o, m.entry); }
  void operator()(const SummaryReqMsg& m) {
    U16(o, static_cast<uint16_t>(m.paths.size()));
    for (const auto& p : m.paths) {
      Str16(o, p.path);
      U8(o, static_cast<uint8_t>(p.bucket.size()));
      o->append(p.bucket);
    }
  }
  void operator()(const SummaryMsg& m) {
    U16(o, static_cast<uint16_t>(m.paths.size()));
    for (const auto& p : m.paths) {
      Str16(o, p.path);
      U8(o, static_cast<uint8_t>(p.bucket.size()));
      o->append(p.bucket);
      U8(o, p.known ? 1 : 0);
      U32(o, static_cast<uint32_t>(p.entries.size()));
      for (const auto& h : p.entries) H(o, h);
      U32(o, static_cast<uint32_t>(p.children.size()));
      for (const auto& [name, digest] : p.children) {
        U8(o, static_cast<uint8_t>(name.size()));
        o->append(name);
        H(o, digest);
      }
      U8(o, static_cast<uint8_t>(p.sub_buckets.size()));
      for (const auto& [digit, digest] : p.sub_buckets) {
        U8(o, digit);
        H(o, digest);
      }
    }
  }
  void operator()(const WantMsg& m) {
    U32(o, static_cast<uint32_t>(m.hashes.size()));
    for (const auto& h : m.hashes) H(o, h);
  }
  void operator()(const ObjectsMsg& m) {
    U32(o, static_cast<uint32_t>(m.entries.size()));
    for (const auto& e : m.entries) Str16(o, e);
    U32(o, static_cast<uint32_t>(m.blocks.size()));
    for (const auto& b : m.blocks) Str16(o, b);
  }
  void operator()(const DoneMsg& m) { H(o, m.root_digest); }
  void operator()(const ErrorMsg& m) { Str16(o, m.message.substr(0, 1000)); }
};

}  // namespace

uint8_t BucketDigit(std::string_view name, size_t i) {
  const Hash h = HashBytes(name);
  const uint8_t byte = h[i / 2];
  return i % 2 == 0 ? byte >> 4 : byte & 0x0f;
}

std::string EncodeFrame(const SyncMsg& m) {
  std::string payload;
  std::visit(Enc{&payload}, m);
  std::string out;
  U32(&out, static_cast<uint32_t>(payload.size() + 1));
  U8(&out, static_cast<uint8_t>(m.index() + 1));
  out.append(payload);
  assert(out.size() - 4 <= kMaxFrameBytes);
  return out;
}

Result<SyncMsg> DecodeSyncMessage(uint8_t type, std::string_view payload) {
  In in(payload);
  const Status bad = Invalid("malformed sync message (type " + std::to_string(type) + ")");
  switch (type) {
    case 1: {
      HelloMsg m;
      if (!in.U8(&m.version) || !in.H(&m.genesis) || !in.H(&m.root_digest) || !in.done()) return bad;
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
          if (!in.H(&h)) return bad;
        if (!in.Count(1 + 1 + kHashBytes, 1u << 20, &nc)) return bad;
        for (uint32_t c = 0; c < nc; ++c) {
          uint8_t len;
          std::string name;
          Hash d;
          if (!in.U8(&len) || len == 0 || !in.Bytes(len, &name) || !in.H(&d)) return bad;
          p.children.emplace_back(std::move(name), d);
        }
        uint8_t nb;
        if (!in.U8(&nb) || nb > 16) return bad;
        for (uint8_t b = 0; b < nb; ++b) {
          uint8_t digit;
          Hash d;
          if (!in.U8(&digit) || digit > 15 || !in.H(&d)) return bad;
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
        if (!in.H(&h)) return bad;
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
      if (!in.H(&m.root_digest) || !in.done()) return bad;
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
