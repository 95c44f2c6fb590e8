#include "daemon/latency_hold.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>
#include <memory>

#include "base/log.h"

namespace basefs {

namespace {
constexpr const char* kCpuLatencyDevice = "/dev/cpu_dma_latency";
}  // namespace

LatencyHold::LatencyHold(Clock* clock, Options options, Request request)
    : clock_(clock), options_(options), request_(std::move(request)) {
  if (options_.period_ms == 0 || !request_) available_ = false;
}

LatencyHold::~LatencyHold() {
  if (timer_) clock_->Cancel(timer_);
  if (held_) request_(false);
}

void LatencyHold::OnRequest() {
  if (!available_) return;
  if (held_) {
    ++period_count_;
    return;
  }
  const uint64_t now = clock_->NowMs();
  if (now - window_start_ms_ >= options_.period_ms) {
    window_start_ms_ = now;
    window_count_ = 0;
  }
  if (++window_count_ < options_.burst) return;
  if (!request_(true)) {
    available_ = false;
    return;
  }
  held_ = true;
  ++holds_;
  since_ms_ = now;
  period_count_ = 0;
  timer_ = clock_->Schedule(options_.period_ms, [this] { Check(); });
}

void LatencyHold::Check() {
  timer_ = 0;
  if (period_count_ >= options_.burst) {
    period_count_ = 0;
    timer_ = clock_->Schedule(options_.period_ms, [this] { Check(); });
    return;
  }
  request_(false);
  held_ = false;
  held_ms_ += clock_->NowMs() - since_ms_;
  window_count_ = 0;
}

LatencyHold::Request CpuLatencyRequest() {
  // Opening the device makes a request of "no constraint": harmless.
  const int probe = ::open(kCpuLatencyDevice, O_WRONLY | O_CLOEXEC);
  if (probe < 0) return nullptr;
  ::close(probe);
  // The descriptor is closed when the last copy of the function goes.
  std::shared_ptr<int> fd(new int(-1), [](int* p) {
    if (*p >= 0) ::close(*p);
    delete p;
  });
  return [fd](bool low) {
    if (!low) {
      if (*fd >= 0) ::close(*fd);
      *fd = -1;
      return true;
    }
    if (*fd >= 0) return true;
    *fd = ::open(kCpuLatencyDevice, O_WRONLY | O_CLOEXEC);
    // The device takes the latency in µs as a 32-bit integer.
    const int32_t zero = 0;
    if (*fd >= 0 && ::write(*fd, &zero, sizeof zero) == static_cast<ssize_t>(sizeof zero)) return true;
    const int e = errno;
    if (*fd >= 0) ::close(*fd);
    *fd = -1;
    LogWarn("cannot hold the CPU latency for the mount ({}: {}); going on without", kCpuLatencyDevice,
            std::strerror(e));
    return false;
  };
}

}  // namespace basefs
