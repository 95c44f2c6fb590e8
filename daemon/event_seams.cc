#include "daemon/event_seams.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <event2/event.h>

#include "daemon/peer_filter.h"

namespace basefs {

EventClock::~EventClock() {
  for (auto& [id, t] : timers_) event_free(t->ev);
}

uint64_t EventClock::NowMs() const {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000 + static_cast<uint64_t>(ts.tv_nsec) / 1000000;
}

Clock::TimerId EventClock::Schedule(uint64_t delay_ms, std::function<void()> fn) {
  auto t = std::make_unique<Timer>();
  t->owner = this;
  t->id = ++next_id_;
  t->fn = std::move(fn);
  t->ev = evtimer_new(base_, &EventClock::OnTimer, t.get());
  timeval tv{static_cast<time_t>(delay_ms / 1000), static_cast<suseconds_t>((delay_ms % 1000) * 1000)};
  evtimer_add(t->ev, &tv);
  const TimerId id = t->id;
  timers_.emplace(id, std::move(t));
  return id;
}

void EventClock::Cancel(TimerId id) {
  auto it = timers_.find(id);
  if (it == timers_.end()) return;
  event_free(it->second->ev);
  timers_.erase(it);
}

void EventClock::OnTimer(int, short, void* arg) {
  auto* t = static_cast<Timer*>(arg);
  EventClock* self = t->owner;
  auto it = self->timers_.find(t->id);
  std::unique_ptr<Timer> owned = std::move(it->second);
  self->timers_.erase(it);
  owned->fn();
  event_free(owned->ev);
}

Result<std::unique_ptr<UdpTransport>> UdpTransport::Bind(event_base* base, const std::string& bind) {
  socklen_t len = 0;
  BASEFS_ASSIGN_OR_RETURN(sockaddr_storage ss, ParseSockaddr(bind, &len));
  const int fd = ::socket(ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return IOError(std::string("socket: ") + std::strerror(errno));
  if (::bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    const int e = errno;
    ::close(fd);
    return IOError("cannot bind UDP " + bind + ": " + std::strerror(e) +
                   (e == EADDRINUSE ? " (another basefs run? pick another --bind port)" : ""));
  }
  // Room for bursts of gossip.
  const int size = 4 << 20;
  ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
  std::unique_ptr<UdpTransport> t(new UdpTransport());
  t->fd_ = fd;
  sockaddr_storage bound{};
  socklen_t blen = sizeof(bound);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &blen);
  t->local_ = FormatSockaddr(reinterpret_cast<sockaddr*>(&bound));
  t->ev_ = event_new(base, fd, EV_READ | EV_PERSIST, &UdpTransport::OnReadable, t.get());
  event_add(t->ev_, nullptr);
  return t;
}

UdpTransport::~UdpTransport() {
  if (ev_) event_free(ev_);
  if (fd_ >= 0) ::close(fd_);
}

void UdpTransport::Send(const std::string& to, std::string_view datagram) {
  if (PeerFilter::Get().Blocked(to)) return;
  auto it = addr_cache_.find(to);
  if (it == addr_cache_.end()) {
    socklen_t len = 0;
    auto ss = ParseSockaddr(to, &len);
    if (!ss.ok()) {
      ++send_errors_;
      return;
    }
    if (addr_cache_.size() > 100000) addr_cache_.clear();
    it = addr_cache_.emplace(to, std::make_pair(*ss, len)).first;
  }
  if (::sendto(fd_, datagram.data(), datagram.size(), 0, reinterpret_cast<const sockaddr*>(&it->second.first),
               it->second.second) < 0)
    ++send_errors_;
}

void UdpTransport::OnReadable(int fd, short, void* arg) {
  auto* self = static_cast<UdpTransport*>(arg);
  char buf[2048];
  // Drain a bounded batch per wakeup so one busy socket cannot starve the loop.
  for (int i = 0; i < 256; ++i) {
    sockaddr_storage from{};
    socklen_t flen = sizeof(from);
    const ssize_t n = ::recvfrom(fd, buf, sizeof(buf), 0, reinterpret_cast<sockaddr*>(&from), &flen);
    if (n < 0) return;
    const std::string sender = FormatSockaddr(reinterpret_cast<sockaddr*>(&from));
    if (PeerFilter::Get().Blocked(sender)) continue;
    if (self->receiver_) self->receiver_(sender, std::string_view(buf, static_cast<size_t>(n)));
  }
}

}  // namespace basefs
