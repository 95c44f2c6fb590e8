#include "zones/parse_cache.h"

namespace basefs {

const Result<ServiceInstance>& ParseCache::Service(const std::string& content) {
  auto it = services_.find(content);
  if (it == services_.end())
    it = services_.emplace(content, Slot<Result<ServiceInstance>>{ParseServiceFile(content)}).first;
  it->second.used = true;
  return it->second.value;
}

const Result<std::vector<Record>>& ParseCache::ZoneRecords(const std::string& owner, const std::string& content) {
  std::string key = owner;
  key += '\0';
  key += content;
  auto it = zones_.find(key);
  if (it == zones_.end())
    it = zones_.emplace(std::move(key), Slot<Result<std::vector<Record>>>{ParseZoneRecords(owner, content)}).first;
  it->second.used = true;
  return it->second.value;
}

template <typename T>
void ParseCache::SweepMap(std::unordered_map<std::string, Slot<T>>* m) {
  for (auto it = m->begin(); it != m->end();) {
    if (!it->second.used) {
      it = m->erase(it);
    } else {
      it->second.used = false;
      ++it;
    }
  }
}

void ParseCache::Sweep() {
  SweepMap(&services_);
  SweepMap(&zones_);
}

}  // namespace basefs
