#include "daemon/control_format.h"

#include "store/codec.h"

namespace basefs {

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
  PutU32(&out, static_cast<uint32_t>(r.key_secret.size()));
  out.append(r.key_secret);
  PutU32(&out, static_cast<uint32_t>(r.key_error.size()));
  out.append(r.key_error);
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

std::string EncodeStreamFrame(std::string_view bytes) {
  std::string out;
  PutU32(&out, kControlStreamFrame);
  PutU32(&out, static_cast<uint32_t>(bytes.size()));
  out.append(bytes);
  return out;
}

ControlReplyPart NextReplyPart(std::string_view buf) {
  ControlReplyPart part;
  ByteReader in(buf);
  uint32_t tag = 0, len = 0;
  if (!in.U32(&tag)) return part;
  if (tag != kControlStreamFrame) {
    part.kind = ControlReplyPart::kResponse;
    return part;
  }
  if (!in.U32(&len)) return part;
  if (len > kControlMaxFrameBytes) {
    part.kind = ControlReplyPart::kInvalid;
    return part;
  }
  if (!in.Bytes(len, &part.frame)) return part;
  part.kind = ControlReplyPart::kFrame;
  part.consumed = in.consumed();
  return part;
}

std::optional<ControlRequest> DecodeRequest(std::string_view buf, size_t* consumed, std::string* error) {
  // An incomplete request is not an error: the caller waits for more bytes.
  // Limits are checked as soon as the bytes that carry them are there.
  error->clear();
  ByteReader in(buf);
  uint32_t version = 0, argc = 0, len = 0;
  if (!in.U32(&version)) return std::nullopt;
  if (version != kControlVersion) {
    *error = "unsupported control protocol version " + std::to_string(version);
    return std::nullopt;
  }
  if (!in.U32(&argc)) return std::nullopt;
  if (argc > kControlMaxArgs) {
    *error = "too many arguments";
    return std::nullopt;
  }
  ControlRequest r;
  for (uint32_t i = 0; i < argc; ++i) {
    if (!in.U32(&len)) return std::nullopt;
    if (len > kControlMaxArgBytes) {
      *error = "argument too long";
      return std::nullopt;
    }
    std::string a;
    if (!in.Bytes(len, &a)) return std::nullopt;
    r.args.push_back(std::move(a));
  }
  if (!in.U32(&len)) return std::nullopt;
  if (len > kControlMaxStdinBytes) {
    *error = "input too large";
    return std::nullopt;
  }
  if (!in.Bytes(len, &r.stdin_bytes)) return std::nullopt;
  if (!in.U32(&len)) return std::nullopt;
  if (len != 0 && len != kControlKeyBytes) {
    *error = "bad key length";
    return std::nullopt;
  }
  if (!in.Bytes(len, &r.key_secret)) return std::nullopt;
  if (!in.U32(&len)) return std::nullopt;
  if (len > kControlMaxArgBytes) {
    *error = "key error too long";
    return std::nullopt;
  }
  if (!in.Bytes(len, &r.key_error)) return std::nullopt;
  *consumed = in.consumed();
  return r;
}

std::optional<ControlResponse> DecodeResponse(std::string_view buf) {
  ByteReader in(buf);
  uint32_t code = 0, len = 0;
  ControlResponse r;
  if (!in.U32(&code)) return std::nullopt;
  r.exit_code = static_cast<int>(code);
  if (!in.U32(&len) || !in.Bytes(len, &r.out)) return std::nullopt;
  if (!in.U32(&len) || !in.Bytes(len, &r.err)) return std::nullopt;
  if (!in.done()) return std::nullopt;
  return r;
}

}  // namespace basefs
