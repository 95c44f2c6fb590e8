// The real seams: a Clock on libevent timers and a UDP Transport on a
// non-blocking socket watched by the loop. The only place in basefs that
// reads the monotonic clock or touches a datagram socket.
//
// Thread-safety: loop thread only. Lifetime: the event_base must outlive them.
#pragma once

#include <sys/socket.h>

#include <map>
#include <memory>
#include <string>

#include "base/host_port.h"
#include "base/result.h"
#include "base/seams.h"

struct event_base;
struct event;

namespace basefs {

class EventClock : public Clock {
 public:
  explicit EventClock(event_base* base) : base_(base) {}
  ~EventClock() override;
  uint64_t NowMs() const override;
  TimerId Schedule(uint64_t delay_ms, std::function<void()> fn) override;
  void Cancel(TimerId id) override;

 private:
  struct Timer {
    EventClock* owner;
    TimerId id;
    event* ev;
    std::function<void()> fn;
  };
  static void OnTimer(int, short, void* arg);
  event_base* base_;
  TimerId next_id_ = 0;
  std::map<TimerId, std::unique_ptr<Timer>> timers_;
};

class UdpTransport : public Transport {
 public:
  // Binds a UDP socket to `bind` and watches it on `base`.
  static Result<std::unique_ptr<UdpTransport>> Bind(event_base* base, const std::string& bind);
  ~UdpTransport() override;
  void Send(const std::string& to, std::string_view datagram) override;
  void SetReceiver(Receiver r) override { receiver_ = std::move(r); }
  // The bound address (with the real port when bound to port 0).
  std::string local_address() const { return local_; }
  uint64_t send_errors() const { return send_errors_; }

 private:
  UdpTransport() = default;
  static void OnReadable(int fd, short, void* arg);
  int fd_ = -1;
  event* ev_ = nullptr;
  std::string local_;
  Receiver receiver_;
  uint64_t send_errors_ = 0;
  std::map<std::string, std::pair<sockaddr_storage, socklen_t>> addr_cache_;
};

}  // namespace basefs
