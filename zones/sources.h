// Reads the projection's input files (/services and /zones) out of a
// store's view. Runs on the daemon's loop when the view changes; cost is
// one pass over those two trees (content of small files is inline in the
// entries, so most reads do not touch LevelDB).
#pragma once

#include <vector>

#include "store/store.h"
#include "zones/projection.h"

namespace basefs {

inline constexpr size_t kMaxZoneFileBytes = 256 * 1024;
inline constexpr size_t kMaxSourceFiles = 100000;

// Every file under /services and /zones (hard links followed; symlinks and
// files too large or unreadable go to `bad`).
std::vector<SourceFile> CollectSources(const Store& store, std::vector<BadFile>* bad);

}  // namespace basefs
