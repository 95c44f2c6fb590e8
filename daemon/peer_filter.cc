#include "daemon/peer_filter.h"

#include <sys/stat.h>
#include <time.h>

#include <cstdlib>
#include <fstream>

namespace basefs {

PeerFilter& PeerFilter::Get() {
  static PeerFilter f;
  return f;
}

PeerFilter::PeerFilter() {
  if (const char* p = std::getenv("BASEFS_TEST_BLOCK_FILE")) path_ = p;
}

void PeerFilter::Reload() {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  const long long ms = static_cast<long long>(now.tv_sec) * 1000 + now.tv_nsec / 1000000;
  if (ms - checked_ms_ < 100) return;
  checked_ms_ = ms;
  struct stat st {};
  const long long mtime = ::stat(path_.c_str(), &st) == 0
                              ? static_cast<long long>(st.st_mtim.tv_sec) * 1000000000LL + st.st_mtim.tv_nsec
                              : 0;
  if (mtime == mtime_ns_) return;
  mtime_ns_ = mtime;
  blocked_.clear();
  std::ifstream in(path_);
  std::string line;
  while (std::getline(in, line))
    if (!line.empty()) blocked_.insert(line);
}

bool PeerFilter::Blocked(const std::string& addr) {
  if (path_.empty()) return false;
  Reload();
  return blocked_.count(addr) != 0;
}

}  // namespace basefs
