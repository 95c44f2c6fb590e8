// Anti-entropy sync, version 1: frames over a TCP stream. See
// docs/sync_format.md for the protocol; this header is its code twin.
//
//   frame = u32 length (of what follows, 1..kMaxFrameBytes) | u8 type | payload
//
// All integers big-endian; every count and length is checked before use.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "base/crypto.h"
#include "base/result.h"

namespace basefs {

inline constexpr uint8_t kSyncVersion = 1;
inline constexpr size_t kMaxFrameBytes = 16u << 20;
inline constexpr size_t kMaxSummaryPaths = 64;
inline constexpr size_t kMaxWantHashesPerRequest = 1024;

struct HelloMsg {
  uint8_t version = kSyncVersion;
  Hash genesis{};  // all zero: "I have nothing, send me the genesis" (clone)
  Hash root_digest{};
};
struct GenesisMsg {
  std::string entry;
};
// A directory's children are split into buckets by the hex digits of
// BLAKE2b(name): bucket "" is all of them, "a" those whose name hashes to
// a…, "a3" to a3…, and so on. A bucket with more than kListLimit children
// is summarised by the digests of its 16 sub-buckets instead of a list, so
// a difference in a directory of any size costs O(log(children)) to find.
inline constexpr size_t kListLimit = 16;
inline constexpr size_t kMaxBucketDigits = 16;

struct SummaryRef {
  std::string path;    // absolute, normalised
  std::string bucket;  // hex digits, "" = the path itself and all children
};
struct SummaryReqMsg {
  std::vector<SummaryRef> paths;
};
struct PathSummary {
  std::string path;
  std::string bucket;
  bool known = false;                                  // the responder has entries at this path
  std::vector<Hash> entries;                           // the path's own entries (bucket "" only), sorted
  std::vector<std::pair<std::string, Hash>> children;  // name, digest (small buckets)
  std::vector<std::pair<uint8_t, Hash>> sub_buckets;   // digit, digest (large buckets)
};

// The bucket digit at depth `i` (0..63) of a child whose name hashes to `h`.
inline uint8_t BucketDigit(const Hash& h, size_t i) {
  const uint8_t byte = h[i / 2];
  return i % 2 == 0 ? byte >> 4 : byte & 0x0f;
}
struct SummaryMsg {
  std::vector<PathSummary> paths;
};
struct WantMsg {
  std::vector<Hash> hashes;  // entries or blocks
};
struct ObjectsMsg {
  std::vector<std::string> entries;
  std::vector<std::string> blocks;
};
// "I have nothing more to ask"; carries the sender's root digest then, so
// the other side can tell whether another round is needed.
struct DoneMsg {
  Hash root_digest{};
};
struct ErrorMsg {
  std::string message;
};

using SyncMsg = std::variant<HelloMsg, GenesisMsg, SummaryReqMsg, SummaryMsg, WantMsg, ObjectsMsg, DoneMsg, ErrorMsg>;

std::string EncodeFrame(const SyncMsg& m);

// Splits complete frames off the front of a byte stream.
class FrameReader {
 public:
  // Appends bytes from the wire.
  void Append(std::string_view bytes) { buf_.append(bytes); }
  // Decodes the next complete frame: a message, nullopt if more bytes are
  // needed, or an error if the stream is malformed (then close it).
  Result<std::optional<SyncMsg>> Next();
  size_t buffered() const { return buf_.size() - pos_; }

 private:
  std::string buf_;
  size_t pos_ = 0;
};

Result<SyncMsg> DecodeSyncMessage(uint8_t type, std::string_view payload);

}  // namespace basefs
