#include "daemon/latency_hold.h"

#include <fcntl.h>
#include <unistd.h>

#include <memory>

namespace basefs {

LatencyHold::LatencyHold(Clock* clock, Options options, Request request)
    : clock_(clock), options_(options), request_(std::move(request)) {
  if (options_.hold_ms == 0) available_ = false;
}

LatencyHold::~LatencyHold() {
  if (timer_) clock_->Cancel(timer_);
  if (held_) request_(false);
}

void LatencyHold::OnRequest() {
  if (!available_) return;
  const uint64_t now = clock_->NowMs();
  if (now - last_ms_ > options_.hold_ms) run_ = 0;
  last_ms_ = now;
  if (held_ || ++run_ < options_.burst) return;
  if (!request_(true)) {
    available_ = false;
    return;
  }
  held_ = true;
  ++holds_;
  since_ms_ = now;
  timer_ = clock_->Schedule(options_.hold_ms, [this] { Check(); });
}

void LatencyHold::Check() {
  timer_ = 0;
  const uint64_t quiet = clock_->NowMs() - last_ms_;
  if (quiet < options_.hold_ms) {
    timer_ = clock_->Schedule(options_.hold_ms - quiet, [this] { Check(); });
    return;
  }
  request_(false);
  held_ = false;
  held_ms_ += clock_->NowMs() - since_ms_;
  run_ = 0;
}

LatencyHold::Request CpuLatencyRequest() {
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
    *fd = ::open("/dev/cpu_dma_latency", O_WRONLY | O_CLOEXEC);
    if (*fd < 0) return false;
    // The device takes the latency in µs as a 32-bit integer.
    const int32_t zero = 0;
    if (::write(*fd, &zero, sizeof zero) == static_cast<ssize_t>(sizeof zero)) return true;
    ::close(*fd);
    *fd = -1;
    return false;
  };
}

}  // namespace basefs
