// Shared by the fuzz targets: each defines LLVMFuzzerTestOneInput over one
// decoder of untrusted bytes (docs/fuzzing.md). Built with libFuzzer
// (-DBASEFS_FUZZ=ON, clang) they are fuzzers; built with replay_main.cc in
// the normal build they replay the seed corpus and every regression input.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace basefs::fuzz {

inline std::string_view Bytes(const uint8_t* data, size_t size) { return {reinterpret_cast<const char*>(data), size}; }

// A property of the code under test that failed: crash loudly, so both the
// fuzzer and the replay notice.
#define FUZZ_CHECK(cond) \
  do {                   \
    if (!(cond)) {       \
      __builtin_trap();  \
    }                    \
  } while (0)

}  // namespace basefs::fuzz
