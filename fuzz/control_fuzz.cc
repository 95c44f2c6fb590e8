// The control socket protocol (what a local client sends the daemon):
// requests decoded from a byte stream piece by piece, and responses with
// the output frames a streaming command sends before them.
#include "daemon/control_format.h"
#include "fuzz/fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace basefs;
  const std::string_view in = fuzz::Bytes(data, size);
  size_t consumed = 0;
  std::string error;
  // Every prefix is "need more", an error, or a request (as the server reads).
  for (size_t n : {size / 3, size / 2, size}) {
    error.clear();
    auto r = DecodeRequest(in.substr(0, n), &consumed, &error);
    if (r) {
      FUZZ_CHECK(consumed <= n && error.empty());
      FUZZ_CHECK(r->args.size() <= kControlMaxArgs);
      // A decoded request encodes back to what was consumed.
      FUZZ_CHECK(EncodeRequest(*r) == in.substr(0, consumed));
    }
  }
  (void)DecodeResponse(in);
  // A reply stream as the client reads it: frames, then the response.
  std::string_view rest = in;
  while (true) {
    const ControlReplyPart part = NextReplyPart(rest);
    if (part.kind != ControlReplyPart::kFrame) break;
    FUZZ_CHECK(part.consumed > 0 && part.consumed <= rest.size() && part.frame.size() <= kControlMaxFrameBytes);
    FUZZ_CHECK(EncodeStreamFrame(part.frame) == rest.substr(0, part.consumed));
    rest.remove_prefix(part.consumed);
  }
  return 0;
}
