// Remembers how file contents parse, between projections: parsing TOML
// service files and /zones records is most of what a projection costs, and
// a rebuild after one change sees every other file unchanged.
//
// Project() with a cache gives exactly the output it gives without one
// (the cache only memoises pure functions of the content). Sweep(), called
// after each projection, drops the entries that projection did not use, so
// the cache holds at most the contents of two successive projections.
//
// Thread-compatible: one owner (the daemon's DNS service, on its rebuild
// worker thread).
#pragma once

#include <string>
#include <unordered_map>
#include <vector>

#include "zones/projection.h"
#include "zones/service_file.h"

namespace basefs {

class ParseCache {
 public:
  // ParseServiceFile(content), remembered. The reference stays valid until
  // the next Sweep().
  const Result<ServiceInstance>& Service(const std::string& content);
  // ParseZoneRecords(owner, content), remembered; same lifetime.
  const Result<std::vector<Record>>& ZoneRecords(const std::string& owner, const std::string& content);
  // Drops what was not asked for since the previous Sweep().
  void Sweep();
  size_t size() const { return services_.size() + zones_.size(); }

 private:
  template <typename T>
  struct Slot {
    T value;
    bool used = true;
  };
  template <typename T>
  static void SweepMap(std::unordered_map<std::string, Slot<T>>* m);

  std::unordered_map<std::string, Slot<Result<ServiceInstance>>> services_;   // by content
  std::unordered_map<std::string, Slot<Result<std::vector<Record>>>> zones_;  // by owner, NUL, content
};

}  // namespace basefs
