// The control socket protocol: how `basefs CMD` talks to a running daemon.
//
// A Unix stream socket at <data-dir>/<name>/control.sock (mode 0600). The
// client sends one request and reads one response; then the connection is
// closed. All integers are big-endian u32.
//
//   request:  u32 version (=1) | u32 argc | argc x (u32 len | bytes)
//             | u32 stdin_len | stdin bytes
//   response: u32 exit_code | u32 out_len | out | u32 err_len | err
//
// Limits: 64 arguments of at most 4 KiB; stdin up to the maximum file size
// plus 1 MiB. A request over a limit is answered with exit code 2 and an
// error message, and the connection closed.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace basefs {

inline constexpr uint32_t kControlVersion = 1;
inline constexpr uint32_t kControlMaxArgs = 64;
inline constexpr uint32_t kControlMaxArgBytes = 4096;
inline constexpr uint32_t kControlMaxStdinBytes = (16u << 20) + (1u << 20);

struct ControlRequest {
  std::vector<std::string> args;
  std::string stdin_bytes;
};

struct ControlResponse {
  int exit_code = 0;
  std::string out;
  std::string err;
};

std::string EncodeRequest(const ControlRequest& r);
std::string EncodeResponse(const ControlResponse& r);

// Parses a request from the front of `buf`. Returns the request and sets
// *consumed when complete; nullopt with *error empty when more bytes are
// needed; nullopt with *error set when the request is malformed or too big.
std::optional<ControlRequest> DecodeRequest(std::string_view buf, size_t* consumed, std::string* error);
std::optional<ControlResponse> DecodeResponse(std::string_view buf);

}  // namespace basefs
