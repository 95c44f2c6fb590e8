// Entries and blocks as they arrive from gossip and sync.
#include "fuzz/fuzz.h"
#include "store/chunker.h"
#include "store/entry.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace basefs;
  static const bool init = (CryptoInit(), true);
  (void)init;
  const std::string_view in = fuzz::Bytes(data, size);
  // Without the signature check the field rules are reached by any input;
  // with it, only by valid entries (the seeds).
  for (bool check_signature : {false, true}) {
    auto e = DecodeEntry(in, kDefaultMaxFileBytes, check_signature);
    if (!e.ok()) continue;
    // Decoding is canonical: what decodes encodes back to the same bytes.
    FUZZ_CHECK(e->Encode() == in);
    FUZZ_CHECK(ValidateFields(*e).ok());
  }
  (void)ValidateBlock(in);
  return 0;
}
