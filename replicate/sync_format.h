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

#include "store/crypto.h"
#include "store/result.h"

namespace basefs {

inline constexpr uint8_t kSyncVersion = 1;
inline constexpr size_t kMaxFrameBytes = 16u << 20;
inline constexpr size_t kMaxSummaryPaths = 64;
inline constexpr size_t kMaxWantHashesPerRequest = 1024;

struct HelloMsg {
  uint8_t version = kSyncVersion;
  Hash genesis{};      // all zero: "I have nothing, send me the genesis" (clone)
  Hash root_digest{};
};
struct GenesisMsg {
  std::string entry;
};
struct SummaryReqMsg {
  std::vector<std::string> paths;  // absolute, normalised
};
struct PathSummary {
  std::string path;
  bool known = false;              // the responder has entries at this path
  std::vector<Hash> entries;       // hashes of the path's own entries, sorted
  std::vector<std::pair<std::string, Hash>> children;  // name, digest
};
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
