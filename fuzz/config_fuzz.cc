// The --config file (TOML) into the daemon's options: refused with a file,
// line and key, or applied, never a crash.
#include "daemon/options.h"
#include "fuzz/fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace basefs;
  if (size > 64 * 1024) return 0;
  DaemonOptions o;
  const Status st = ApplyConfigText(std::string(fuzz::Bytes(data, size)), "fuzz.toml", {"dns"}, &o);
  if (!st.ok()) FUZZ_CHECK(st.message().find("fuzz.toml") != std::string::npos);
  return 0;
}
