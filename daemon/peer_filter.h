// PeerFilter: a test-only way to cut the network between real processes.
//
// When BASEFS_TEST_BLOCK_FILE names a file, every address listed in it (one
// ADDR:PORT per line) is unreachable for this node: datagrams to and from
// it are dropped and no sync connection is made to it. The file is re-read
// when it changes (checked at most every 100 ms), so a test can cut and
// heal a partition while the daemons run. Without the variable nothing is
// filtered and the check costs one branch.
#pragma once

#include <set>
#include <string>

namespace basefs {

class PeerFilter {
 public:
  // The filter configured by the environment (one per process).
  static PeerFilter& Get();
  bool Blocked(const std::string& addr);

 private:
  PeerFilter();
  void Reload();
  std::string path_;
  std::set<std::string> blocked_;
  long long checked_ms_ = 0;
  long long mtime_ns_ = -1;
};

}  // namespace basefs
