// What the mount answers, by operation: a count and a latency histogram
// per kind of FUSE request (a bounded set: 23 kinds and "other"), for the
// metrics exporter. The time is from the request read to its reply.
//
// Thread-safety: loop thread only.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "base/histogram.h"

namespace basefs {

class FuseOpStats {
 public:
  static constexpr size_t kKinds = 24;
  static const char* KindName(size_t kind);
  // The kind of the request whose kernel header starts `request` (`bytes` long).
  static size_t KindOf(const void* request, size_t bytes);

  void Count(size_t kind, double seconds) { latency_[kind].Observe(seconds); }
  const Histogram& latency(size_t kind) const { return latency_[kind]; }

 private:
  std::array<Histogram, kKinds> latency_ = MakeHistograms();
  static std::array<Histogram, kKinds> MakeHistograms();
};

}  // namespace basefs
