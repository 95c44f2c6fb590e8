// The canonical binary encoding of a log entry (entry version 1, log format
// 2: format 2 added the attr action; every field is encoded as in format 1). See
// docs/log_format.md for the byte-level description; the two must agree.
//
// Every field has exactly one encoding, so an entry has exactly one byte
// sequence and one hash. Tag values are never renumbered; new actions get new
// numbers and old decoders reject them as unknown.
#pragma once

#include <cstddef>
#include <cstdint>

namespace basefs {

inline constexpr uint8_t kEntryVersion = 1;

enum class Action : uint8_t {
  kMkdir = 1,
  kWrite = 2,
  kDelete = 3,
  kRevert = 4,
  kGrant = 5,
  kRevoke = 6,
  kAck = 7,
  kLink = 8,
  kSlink = 9,
  kMode = 10,
  kAttr = 11,  // log format 2: permission bits, owner, group, mtime (store/attrs.h)
};
inline constexpr uint8_t kMaxAction = 11;

// How an entry relates to its parent entry.
enum class Relation : uint8_t {
  kRevision = 0,  // a later entry of the parent's own path (same name)
  kChild = 1,     // the first entry of a new path inside the parent's directory
};

// Layout (all integers big-endian):
//   u8  version | u8 action | u8 relation | 32 parent | u64 timestamp_ms
//   32  author  | u8 name_len | name | u64 size | u16 content_len | content
//   64  signature (Ed25519 over every byte before it)
inline constexpr size_t kEntryFixedBytes = 1 + 1 + 1 + 32 + 8 + 32 + 1 + 8 + 2 + 64;

// An entry travels in one UDP datagram of at most 1,200 bytes together with
// the gossip header; 100 bytes are reserved for that header.
inline constexpr size_t kMaxEntryBytes = 1100;
inline constexpr size_t kMaxNameBytes = 255;
// Files up to this size are carried inline in the write entry.
inline constexpr size_t kMaxInlineBytes = 512;
// Symbolic and hard link targets.
inline constexpr size_t kMaxLinkTargetBytes = 512;
inline constexpr size_t kMaxPathBytes = 4096;

// Blocks: content-addressed objects of at most 1 KiB. The first byte tags
// the block: data bytes follow a kDataBlock tag; a kIndexBlock tag is
// followed by a u8 level and a list of 32-byte child hashes.
inline constexpr size_t kMaxBlockBytes = 1024;
inline constexpr uint8_t kDataBlock = 0;
inline constexpr uint8_t kIndexBlock = 1;
inline constexpr size_t kMaxIndexFanout = (kMaxBlockBytes - 2) / 32;  // 31

inline constexpr uint64_t kDefaultMaxFileBytes = 16ull << 20;

}  // namespace basefs
