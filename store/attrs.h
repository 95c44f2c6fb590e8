// Attrs: what an `attr` entry carries — a path's permission bits, its owner
// and group by name, and a modification time a tool set (touch, cp -p,
// rsync -a). Each field is optional: an entry changes only the fields it
// carries; with `reset` it first clears every stored attribute (a rename
// uses it to give the new name exactly the old name's attributes).
//
// Content layout (docs/log_format.md, action 11):
//   u8 fields (kAttrMode | kAttrOwner | kAttrGroup | kAttrMtime | kAttrReset,
//              no other bit, not zero)
//   [u16 mode]                      only bits in kStoredModeBits
//   [u8 len | owner name]           1..32 bytes, see ValidateOwnerName
//   [u8 len | group name]
//   [i64 seconds | u32 nanoseconds] since the epoch; years 1..9999
//
// Thread-safety: plain values; no shared state.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.h"

namespace basefs {

// rwx for user, group and other, and setgid (kept on directories only).
inline constexpr uint16_t kStoredModeBits = 02777;
inline constexpr uint16_t kSetgidBit = 02000;
inline constexpr size_t kMaxOwnerNameBytes = 32;
// 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z.
inline constexpr int64_t kMinMtimeSeconds = -62135596800;
inline constexpr int64_t kMaxMtimeSeconds = 253402300799;

inline constexpr uint8_t kAttrMode = 1;
inline constexpr uint8_t kAttrOwner = 2;
inline constexpr uint8_t kAttrGroup = 4;
inline constexpr uint8_t kAttrMtime = 8;
inline constexpr uint8_t kAttrReset = 16;

struct Mtime {
  int64_t seconds = 0;
  uint32_t nanoseconds = 0;
  bool operator==(const Mtime&) const = default;
};

struct AttrChange {
  bool reset = false;
  std::optional<uint16_t> mode;
  std::optional<std::string> owner;
  std::optional<std::string> group;
  std::optional<Mtime> mtime;
  bool empty() const { return !reset && !mode && !owner && !group && !mtime; }
  bool operator==(const AttrChange&) const = default;
};

// User and group names as they travel: 1..32 bytes of printable ASCII
// without ':', '/', ',' or space (what /etc/passwd and /etc/group can hold).
Status ValidateOwnerName(std::string_view name);

// Canonical content bytes; `change` must be valid and not empty.
std::string EncodeAttrs(const AttrChange& change);
// Accepts exactly the canonical bytes of a valid, non-empty change.
Result<AttrChange> DecodeAttrs(std::string_view content);

}  // namespace basefs
