// LatencyHold: while the mount is busy, asks the kernel to wake idle CPUs
// at once (a CPU wake-up latency request of 0 µs, PM QoS through
// /dev/cpu_dma_latency), and withdraws the request once the mount is quiet.
//
// Why: a FUSE request is a round trip between the process using the mount
// and the daemon, which mostly run on different CPUs, so each reply wakes
// the caller's CPU from idle. A halted CPU, above all a virtual one, takes
// 10-20 µs to take that wake-up; one that polls in its idle loop sees it at
// once and needs no interrupt. A tool working through many files (grep -r,
// find, cp, rsync) pays the wake-up once per request; tmpfs pays nothing.
//
// Cost: while the request is held every idle CPU of the machine polls
// instead of halting (power, and on a virtual machine its host's CPU). So
// it is held only during a burst: taken when `burst` requests come within
// `period_ms`, kept while every period brings `burst` more, withdrawn at
// the end of the first period that brings fewer (one to two periods after
// the last request). A single file's open, read and close is no burst, nor
// is a tool polling a file a hundred times a second. The request belongs
// to an open descriptor, so the kernel withdraws it if the daemon dies.
//
// Without write access to /dev/cpu_dma_latency (root only) the hold is
// unavailable and nothing changes.
//
// Thread-safety: loop thread only.
#pragma once

#include <cstdint>
#include <functional>

#include "base/seams.h"

namespace basefs {

class LatencyHold {
 public:
  struct Options {
    // The period requests are counted over; 0 never holds.
    uint64_t period_ms = 20;
    // Requests in a period that make it busy.
    uint32_t burst = 32;
  };
  // request(true) asks for low wake-up latency, request(false) withdraws
  // it. An empty one, or a request(true) that returns false, makes the
  // hold unavailable: it is not tried again.
  using Request = std::function<bool(bool low)>;

  LatencyHold(Clock* clock, Options options, Request request);
  ~LatencyHold();  // withdraws a held request
  LatencyHold(const LatencyHold&) = delete;
  LatencyHold& operator=(const LatencyHold&) = delete;

  // One request was served.
  void OnRequest();

  bool held() const { return held_; }
  bool available() const { return available_; }
  // How many times the hold was taken, and for how long in all (the time
  // idle CPUs polled because of it), the current hold included.
  uint64_t holds() const { return holds_; }
  uint64_t held_ms() const { return held_ms_ + (held_ ? clock_->NowMs() - since_ms_ : 0); }

 private:
  void Check();

  Clock* clock_;
  Options options_;
  Request request_;
  bool available_ = true;
  bool held_ = false;
  uint64_t window_start_ms_ = 0;  // counting towards a burst from here
  uint32_t window_count_ = 0;
  uint32_t period_count_ = 0;  // requests since the last Check of a hold
  uint64_t holds_ = 0;
  uint64_t since_ms_ = 0;
  uint64_t held_ms_ = 0;
  Clock::TimerId timer_ = 0;
};

// The real request: PM QoS CPU latency through /dev/cpu_dma_latency. The
// device is opened when the hold is taken and closed when it is withdrawn
// (closing it is what removes the request). Empty if the device cannot be
// opened for writing now (not root, no such device). A later failure is
// logged once on stderr.
LatencyHold::Request CpuLatencyRequest();

}  // namespace basefs
