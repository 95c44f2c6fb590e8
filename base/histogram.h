// A latency histogram with fixed bucket bounds, as Prometheus exposes one:
// counts per bucket (the exporter makes them cumulative), the sum and the
// count of observations, in seconds.
//
// Observe is a short scan of at most kMaxBuckets bounds and two adds; no
// allocation. Thread-safety: none (one owner, on its thread; the exporter
// reads on the same thread).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>

namespace basefs {

class Histogram {
 public:
  static constexpr size_t kMaxBuckets = 16;
  // Upper bounds in seconds, increasing; +Inf is implicit.
  Histogram(std::initializer_list<double> bounds_s) {
    for (double b : bounds_s)
      if (n_ < kMaxBuckets) bounds_[n_++] = b;
  }
  // 10 µs .. 1 s: a DNS answer, a FUSE request.
  static Histogram Fast() { return Histogram({1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 1e-2, 0.1, 1}); }
  // 1 ms .. 60 s: a sync session, a rebuild.
  static Histogram Slow() { return Histogram({1e-3, 1e-2, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}); }

  void Observe(double seconds) {
    size_t i = 0;
    while (i < n_ && seconds > bounds_[i]) ++i;
    ++counts_[i];
    sum_ += seconds;
    ++count_;
  }

  size_t bucket_count() const { return n_; }  // finite buckets
  double bound(size_t i) const { return bounds_[i]; }
  // Observations in bucket i alone (i == bucket_count(): above the last bound).
  uint64_t count_in(size_t i) const { return counts_[i]; }
  double sum() const { return sum_; }
  uint64_t count() const { return count_; }

 private:
  std::array<double, kMaxBuckets> bounds_{};
  std::array<uint64_t, kMaxBuckets + 1> counts_{};
  size_t n_ = 0;
  double sum_ = 0;
  uint64_t count_ = 0;
};

}  // namespace basefs
