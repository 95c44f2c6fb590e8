// When a membership change starts an anti-entropy session with that member
// (the policy; SyncService runs the sessions).
//
//  - A member back from `failed` may hold the writes of its side of a
//    partition: sync with it at once, every time.
//  - A member newly alive (a join): at most one session per
//    `min_join_interval_ms`, since a whole cluster appears at once when
//    this node joins and one session with any member brings the log.
//
// Thread-safety: loop thread only.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "replicate/gossip.h"

namespace basefs {

class MemberSyncPolicy {
 public:
  explicit MemberSyncPolicy(uint64_t min_join_interval_ms = 2000) : min_join_interval_ms_(min_join_interval_ms) {}

  // Records the member's new state; true when this node should sync with it now.
  bool OnMember(const std::string& name, MemberState state, uint64_t now_ms);

 private:
  uint64_t min_join_interval_ms_;
  std::map<std::string, MemberState> last_state_;
  bool synced_on_join_ = false;
  uint64_t last_join_sync_ms_ = 0;
};

}  // namespace basefs
