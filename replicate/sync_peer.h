// Which member to reconcile with next: shared by the daemon and the
// simulator so both behave the same.
#pragma once

#include <string>
#include <vector>

#include "replicate/gossip.h"

namespace basefs {

// A random live (alive or suspect) member other than `self`, except one
// time in four (or when nobody seems live) a random failed one. Under heavy
// loss membership splits into islands whose members believe the others
// failed; anti-entropy must cross between them or they never converge (the
// simulator found this). A session with a node that is really down just
// fails. "" when there is nobody.
inline std::string PickSyncPeer(const std::vector<Member>& members, const std::string& self, uint64_t random) {
  std::vector<const Member*> live, failed;
  for (const Member& m : members) {
    if (m.name == self) continue;
    if (m.state == MemberState::kAlive || m.state == MemberState::kSuspect) live.push_back(&m);
    if (m.state == MemberState::kFailed) failed.push_back(&m);
  }
  const bool cross = !failed.empty() && (live.empty() || random % 4 == 0);
  const auto& pool = cross ? failed : live;
  if (pool.empty()) return "";
  return pool[(random / 4) % pool.size()]->addr;
}

}  // namespace basefs
