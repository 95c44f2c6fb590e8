// The wall clock, for the edges only: entry timestamps (informative, never
// deciding anything) and log lines. Everything with a timer or a timeout
// takes a Clock seam (replicate/seams.h) instead.
#pragma once

#include <chrono>
#include <cstdint>

namespace basefs {

inline uint64_t WallClockMs() {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count());
}

inline uint64_t WallClockUs() {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count());
}

}  // namespace basefs
