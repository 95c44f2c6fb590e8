// Big-endian writers and a bounds-checked reader: the one place where
// basefs turns integers into bytes and back, shared by every wire and disk
// format (entries, gossip, sync, control socket).
//
// ByteReader never reads past its input: every accessor returns false when
// the bytes run out (or a length exceeds its limit) and leaves the output
// unspecified; callers reject the whole message then.
// Thread-safety: plain values.
#pragma once

#include <array>
#include <cassert>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace basefs {

inline void PutU8(std::string* o, uint8_t v) { o->push_back(static_cast<char>(v)); }
inline void PutU16(std::string* o, uint16_t v) {
  PutU8(o, static_cast<uint8_t>(v >> 8));
  PutU8(o, static_cast<uint8_t>(v));
}
inline void PutU32(std::string* o, uint32_t v) {
  for (int i = 3; i >= 0; --i) PutU8(o, static_cast<uint8_t>(v >> (i * 8)));
}
inline void PutU64(std::string* o, uint64_t v) {
  for (int i = 7; i >= 0; --i) PutU8(o, static_cast<uint8_t>(v >> (i * 8)));
}
template <size_t N>
void PutArray(std::string* o, const std::array<uint8_t, N>& a) {
  o->append(reinterpret_cast<const char*>(a.data()), N);
}
// A string with a one-byte / two-byte length in front.
inline void PutStr8(std::string* o, std::string_view s) {
  assert(s.size() <= 0xff);
  PutU8(o, static_cast<uint8_t>(s.size()));
  o->append(s);
}
inline void PutStr16(std::string* o, std::string_view s) {
  assert(s.size() <= 0xffff);
  PutU16(o, static_cast<uint16_t>(s.size()));
  o->append(s);
}

class ByteReader {
 public:
  explicit ByteReader(std::string_view in) : in_(in) {}

  bool Take(size_t n, std::string_view* out) {
    if (in_.size() - pos_ < n) return false;
    *out = in_.substr(pos_, n);
    pos_ += n;
    return true;
  }
  bool Bytes(size_t n, std::string* out) {
    std::string_view v;
    if (!Take(n, &v)) return false;
    out->assign(v);
    return true;
  }
  bool U8(uint8_t* v) {
    std::string_view s;
    if (!Take(1, &s)) return false;
    *v = static_cast<uint8_t>(s[0]);
    return true;
  }
  bool U16(uint16_t* v) { return Int(2, v); }
  bool U32(uint32_t* v) { return Int(4, v); }
  bool U64(uint64_t* v) { return Int(8, v); }
  template <size_t N>
  bool Array(std::array<uint8_t, N>* a) {
    std::string_view s;
    if (!Take(N, &s)) return false;
    std::memcpy(a->data(), s.data(), N);
    return true;
  }
  // A length-prefixed string of at most `max` bytes.
  bool Str8(size_t max, std::string* out) {
    uint8_t n;
    return U8(&n) && n <= max && Bytes(n, out);
  }
  bool Str16(size_t max, std::string* out) {
    uint16_t n;
    return U16(&n) && n <= max && Bytes(n, out);
  }
  // A u32 count of items, each at least `min_item` bytes: refused when it
  // exceeds `max` or could not fit in what is left (so it can size a vector).
  bool Count(size_t min_item, uint32_t max, uint32_t* n) {
    return U32(n) && *n <= max && static_cast<uint64_t>(*n) * min_item <= in_.size() - pos_;
  }
  size_t consumed() const { return pos_; }
  bool done() const { return pos_ == in_.size(); }

 private:
  template <typename T>
  bool Int(size_t n, T* v) {
    std::string_view s;
    if (!Take(n, &s)) return false;
    uint64_t x = 0;
    for (char c : s) x = (x << 8) | static_cast<uint8_t>(c);
    *v = static_cast<T>(x);
    return true;
  }
  std::string_view in_;
  size_t pos_ = 0;
};

}  // namespace basefs
