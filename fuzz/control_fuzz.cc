// The control socket protocol (what a local client sends the daemon):
// requests decoded from a byte stream piece by piece, and responses.
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
  return 0;
}
