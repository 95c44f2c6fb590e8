// The fuzz targets without libFuzzer: runs LLVMFuzzerTestOneInput on every
// file named, or in a directory named (missing directories are skipped:
// a target may have no regression inputs yet). The suite runs it over the
// seed corpus and fuzz/regressions/<target>/.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "fuzz/fuzz.h"

namespace {

int RunFile(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  const std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(data.data()), data.size());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  int files = 0;
  for (int i = 1; i < argc; ++i) {
    const std::filesystem::path p(argv[i]);
    if (std::filesystem::is_directory(p)) {
      std::vector<std::filesystem::path> all;
      for (const auto& e : std::filesystem::directory_iterator(p))
        if (e.is_regular_file()) all.push_back(e.path());
      std::sort(all.begin(), all.end());
      for (const auto& f : all) files += RunFile(f);
    } else if (std::filesystem::exists(p)) {
      files += RunFile(p);
    }
  }
  std::printf("replayed %d inputs\n", files);
  return files > 0 ? 0 : 1;
}
