#include "daemon/control_format.h"

namespace basefs {
namespace {

void PutU32(std::string* out, uint32_t v) {
  for (int i = 3; i >= 0; --i) out->push_back(static_cast<char>((v >> (i * 8)) & 0xff));
}

bool GetU32(std::string_view buf, size_t* pos, uint32_t* v) {
  if (buf.size() - *pos < 4) return false;
  *v = 0;
  for (int i = 0; i < 4; ++i) *v = (*v << 8) | static_cast<uint8_t>(buf[*pos + static_cast<size_t>(i)]);
  *pos += 4;
  return true;
}

bool GetBytes(std::string_view buf, size_t* pos, uint32_t n, std::string* out) {
  if (buf.size() - *pos < n) return false;
  out->assign(buf.substr(*pos, n));
  *pos += n;
  return true;
}

}  // namespace

std::string EncodeRequest(const ControlRequest& r) {
  std::string out;
  PutU32(&out, kControlVersion);
  PutU32(&out, static_cast<uint32_t>(r.args.size()));
  for (const auto& a : r.args) {
    PutU32(&out, static_cast<uint32_t>(a.size()));
    out.append(a);
  }
  PutU32(&out, static_cast<uint32_t>(r.stdin_bytes.size()));
  out.append(r.stdin_bytes);
  return out;
}

std::string EncodeResponse(const ControlResponse& r) {
  std::string out;
  PutU32(&out, static_cast<uint32_t>(r.exit_code));
  PutU32(&out, static_cast<uint32_t>(r.out.size()));
  out.append(r.out);
  PutU32(&out, static_cast<uint32_t>(r.err.size()));
  out.append(r.err);
  return out;
}

std::optional<ControlRequest> DecodeRequest(std::string_view buf, size_t* consumed, std::string* error) {
  error->clear();
  size_t pos = 0;
  uint32_t version = 0, argc = 0, len = 0;
  if (!GetU32(buf, &pos, &version)) return std::nullopt;
  if (version != kControlVersion) {
    *error = "unsupported control protocol version " + std::to_string(version);
    return std::nullopt;
  }
  if (!GetU32(buf, &pos, &argc)) return std::nullopt;
  if (argc > kControlMaxArgs) {
    *error = "too many arguments";
    return std::nullopt;
  }
  ControlRequest r;
  for (uint32_t i = 0; i < argc; ++i) {
    if (!GetU32(buf, &pos, &len)) return std::nullopt;
    if (len > kControlMaxArgBytes) {
      *error = "argument too long";
      return std::nullopt;
    }
    std::string a;
    if (!GetBytes(buf, &pos, len, &a)) return std::nullopt;
    r.args.push_back(std::move(a));
  }
  if (!GetU32(buf, &pos, &len)) return std::nullopt;
  if (len > kControlMaxStdinBytes) {
    *error = "input too large";
    return std::nullopt;
  }
  if (!GetBytes(buf, &pos, len, &r.stdin_bytes)) return std::nullopt;
  *consumed = pos;
  return r;
}

std::optional<ControlResponse> DecodeResponse(std::string_view buf) {
  size_t pos = 0;
  uint32_t code = 0, len = 0;
  ControlResponse r;
  if (!GetU32(buf, &pos, &code)) return std::nullopt;
  r.exit_code = static_cast<int>(code);
  if (!GetU32(buf, &pos, &len) || !GetBytes(buf, &pos, len, &r.out)) return std::nullopt;
  if (!GetU32(buf, &pos, &len) || !GetBytes(buf, &pos, len, &r.err)) return std::nullopt;
  if (pos != buf.size()) return std::nullopt;
  return r;
}

}  // namespace basefs
