// A writer for the kill -9 test: opens the store in argv[1] (creating it with
// a fixed test key if missing), then writes /k/<i> for i = argv[2], argv[2]+1,
// ... and prints "ACK <i>" after each write returns, i.e. after LevelDB has
// synced it. Every fifth file is large enough to be chunked into blocks.
// Stops by itself after argv[3] writes.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "store/store.h"
#include "tests/crash_content.h"

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: crash_writer DIR FIRST COUNT\n");
    return 2;
  }
  basefs::CryptoInit();
  const std::string dir = argv[1];
  const long first = std::atol(argv[2]);
  const long count = std::atol(argv[3]);
  basefs::StoreOptions o;
  o.now_ms = [] {
    return static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
            .count());
  };
  const basefs::KeyPair key = basefs::testing::CrashTestKey();
  auto store = basefs::Store::Open(dir, o);
  if (!store.ok() && store.status().code() == basefs::Code::kNotFound) {
    store = basefs::Store::Create(dir, key, "crash", "", o);
  }
  if (!store.ok()) {
    std::fprintf(stderr, "crash_writer: %s\n", store.status().message().c_str());
    return 1;
  }
  if (!(*store)->Stat("/k").ok()) {
    basefs::Status st = (*store)->Mkdir(key, "/k", true);
    if (!st.ok()) return 1;
  }
  for (long i = first; i < first + count; ++i) {
    basefs::Status st = (*store)->WriteFile(key, "/k/" + std::to_string(i), basefs::testing::CrashContent(i));
    if (!st.ok()) {
      std::fprintf(stderr, "crash_writer: %s\n", st.message().c_str());
      return 1;
    }
    std::printf("ACK %ld\n", i);
    std::fflush(stdout);
  }
  return 0;
}
