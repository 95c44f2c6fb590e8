#include "daemon/member_sync.h"

namespace basefs {

bool MemberSyncPolicy::OnMember(const std::string& name, MemberState state, uint64_t now_ms) {
  const auto prev = last_state_.find(name);
  const bool returning = prev != last_state_.end() && prev->second == MemberState::kFailed;
  last_state_[name] = state;
  if (state != MemberState::kAlive) return false;
  if (returning) return true;
  if (synced_on_join_ && now_ms - last_join_sync_ms_ <= min_join_interval_ms_) return false;
  synced_on_join_ = true;
  last_join_sync_ms_ = now_ms;
  return true;
}

}  // namespace basefs
