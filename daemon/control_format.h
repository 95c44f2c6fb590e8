// The control socket protocol: how `basefs CMD` talks to a running daemon.
//
// A Unix stream socket at <data-dir>/<name>/control.sock (mode 0600). The
// client sends one request and reads one response; then the connection is
// closed. All integers are big-endian u32.
//
//   request:  u32 version (=2) | u32 argc | argc x (u32 len | bytes)
//             | u32 stdin_len | stdin bytes
//             | u32 key_len (0 or 64) | the client's secret key
//             | u32 key_error_len | why the client has no key
//   response: u32 exit_code | u32 out_len | out | u32 err_len | err
//
// A command that streams (`basefs watch`) sends output frames before its
// response, each `u32 0xffffffff | u32 len | bytes` (len at most 1 MiB),
// which the client writes to its standard output as they come; no exit
// code is 0xffffffff, so the two cannot be confused. The client keeps its
// side of the connection open while it waits: closing it (the client
// ended, Ctrl-C) ends the stream.
//
// The client reads its own key file (--key) and sends the key: the daemon
// never opens a file the client names (one inside the daemon's own FUSE
// mount would block its loop on itself). The socket is the user's (0600),
// as the key file is.
//
// Limits: 64 arguments of at most 4 KiB; stdin up to the maximum file size
// plus 1 MiB; a key error of at most 4 KiB. A request over a limit is
// answered with exit code 2 and an error message, and the connection closed.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace basefs {

inline constexpr uint32_t kControlVersion = 2;
inline constexpr uint32_t kControlKeyBytes = 64;
inline constexpr uint32_t kControlMaxArgs = 64;
inline constexpr uint32_t kControlMaxArgBytes = 4096;
inline constexpr uint32_t kControlMaxStdinBytes = (16u << 20) + (1u << 20);

struct ControlRequest {
  std::vector<std::string> args;
  std::string stdin_bytes;
  std::string key_secret;  // kControlKeyBytes, or empty
  std::string key_error;   // when key_secret is empty: why (shown if a command needs a key)
};

struct ControlResponse {
  int exit_code = 0;
  std::string out;
  std::string err;
};

inline constexpr uint32_t kControlStreamFrame = 0xffffffffu;
inline constexpr uint32_t kControlMaxFrameBytes = 1u << 20;

std::string EncodeRequest(const ControlRequest& r);
std::string EncodeResponse(const ControlResponse& r);
// One output frame of a streaming command.
std::string EncodeStreamFrame(std::string_view bytes);

// What the front of a response stream holds.
struct ControlReplyPart {
  enum Kind { kIncomplete, kFrame, kResponse, kInvalid } kind = kIncomplete;
  std::string frame;    // kFrame: its bytes
  size_t consumed = 0;  // kFrame: bytes to drop from the front
};
// kResponse means the rest is the final response (DecodeResponse, once
// the connection is closed).
ControlReplyPart NextReplyPart(std::string_view buf);

// Parses a request from the front of `buf`. Returns the request and sets
// *consumed when complete; nullopt with *error empty when more bytes are
// needed; nullopt with *error set when the request is malformed or too big.
std::optional<ControlRequest> DecodeRequest(std::string_view buf, size_t* consumed, std::string* error);
std::optional<ControlResponse> DecodeResponse(std::string_view buf);

}  // namespace basefs
