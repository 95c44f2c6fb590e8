#include "daemon/sync_service.h"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <cstring>
#include <ctime>
#include <iostream>
#include <vector>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "base/log.h"
#include "daemon/event_seams.h"
#include "daemon/peer_filter.h"

namespace basefs {
namespace {

// A plaintext frame's first byte is the top byte of its length.
static_assert((kMaxFrameBytes >> 24) < kSyncSealed);

timeval Tv(uint64_t ms) {
  return timeval{static_cast<time_t>(ms / 1000), static_cast<suseconds_t>((ms % 1000) * 1000)};
}

}  // namespace

SyncConnection::SyncConnection(event_base* base, bufferevent* bev, std::unique_ptr<SyncSession> session,
                               const SyncServiceOptions& options, bool connecting, Done done)
    : bev_(bev), session_(std::move(session)), options_(options), done_(std::move(done)) {
  // Each Flush writes whole frames at once; Nagle's algorithm only held
  // small writes back for the peer's delayed ACK (a sealed clone of 10,000
  // files took 4.5 s instead of 0.75 s).
  const int one = 1;
  ::setsockopt(bufferevent_getfd(bev_), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  if (options_.keyring.enabled())
    seal_ = std::make_unique<SyncSeal>(options_.keyring, connecting, options_.live_randoms);
  bufferevent_setcb(bev_, &SyncConnection::OnRead, &SyncConnection::OnWrite, &SyncConnection::OnEvent, this);
  const timeval idle = Tv(options_.idle_ms);
  bufferevent_set_timeouts(bev_, &idle, &idle);
  bufferevent_enable(bev_, EV_READ | EV_WRITE);
  deadline_ = evtimer_new(base, &SyncConnection::OnDeadline, this);
  const timeval dl = Tv(options_.deadline_ms);
  evtimer_add(deadline_, &dl);
  session_->Start();
  if (!connecting) Flush();
}

SyncConnection::~SyncConnection() {
  if (deadline_) event_free(deadline_);
  if (bev_) bufferevent_free(bev_);
}

void SyncConnection::Flush() {
  std::string out = session_->TakeOutput();
  if (seal_) {
    seal_->Seal(out);
    out = seal_->TakeWire();
  }
  if (!out.empty()) bufferevent_write(bev_, out.data(), out.size());
  evbuffer* output = bufferevent_get_output(bev_);
  // Back-pressure: stop reading requests while answers pile up.
  if (evbuffer_get_length(output) > options_.max_buffered_bytes) bufferevent_disable(bev_, EV_READ);
  if (session_->finished() && evbuffer_get_length(output) == 0) Finish(Status::Ok());
}

void SyncConnection::OnRead(bufferevent* bev, void* arg) {
  auto* self = static_cast<SyncConnection*>(arg);
  evbuffer* in = bufferevent_get_input(bev);
  std::vector<char> buf(65536);
  std::string plain;
  while (evbuffer_get_length(in) > 0 && !self->finishing_) {
    const int n = evbuffer_remove(in, buf.data(), buf.size());
    if (n <= 0) break;
    std::string_view bytes(buf.data(), static_cast<size_t>(n));
    Status st = Status::Ok();
    if (!self->seal_ && !self->received_ && static_cast<uint8_t>(bytes[0]) == kSyncSealed)
      // A plaintext frame starts with the high byte of a length of at
      // most 16 MiB: this is a sealed handshake.
      st = PermissionDenied("sync: the peer seals sync with a cluster key; give this side the key (--cluster-key)");
    self->received_ = true;
    if (st.ok() && self->seal_) {
      plain.clear();
      st = self->seal_->Open(bytes, &plain);
      bytes = plain;
    }
    if (st.ok() && !bytes.empty()) st = self->session_->Feed(bytes);
    if (!st.ok()) {
      self->Finish(st);
      return;
    }
  }
  self->Flush();
}

void SyncConnection::OnWrite(bufferevent* bev, void* arg) {
  auto* self = static_cast<SyncConnection*>(arg);
  if (evbuffer_get_length(bufferevent_get_output(bev)) <= self->options_.max_buffered_bytes / 2)
    bufferevent_enable(bev, EV_READ);
  self->Flush();
}

void SyncConnection::OnEvent(bufferevent*, short what, void* arg) {
  auto* self = static_cast<SyncConnection*>(arg);
  if (what & BEV_EVENT_CONNECTED) {
    self->Flush();
    return;
  }
  if (what & BEV_EVENT_TIMEOUT) return self->Finish(IOError("sync: peer idle too long"));
  if (what & BEV_EVENT_EOF) {
    if (self->session_->finished()) return self->Finish(Status::Ok());
    // A sealing peer sends its first record as soon as it has this side's
    // handshake, unless this side's first record did not open there.
    if (self->seal_ && self->seal_->awaiting_first_record())
      return self->Finish(
          PermissionDenied("sync: the peer closed before its first sealed record: most likely it "
                           "is not sealed with this cluster's key"));
    return self->Finish(IOError("sync: peer closed mid-session"));
  }
  if (what & BEV_EVENT_ERROR) return self->Finish(IOError(std::string("sync: ") + std::strerror(errno)));
}

void SyncConnection::OnDeadline(int, short, void* arg) {
  static_cast<SyncConnection*>(arg)->Finish(IOError("sync: session deadline passed"));
}

void SyncConnection::Finish(const Status& st) {
  if (finishing_) return;
  finishing_ = true;
  bufferevent_disable(bev_, EV_READ | EV_WRITE);
  if (done_) done_(this, st);  // may delete this
}

Result<std::unique_ptr<SyncConnection>> ConnectSync(event_base* base, const std::string& addr,
                                                    std::unique_ptr<SyncSession> session,
                                                    const SyncServiceOptions& options, SyncConnection::Done done) {
  socklen_t len = 0;
  BASEFS_ASSIGN_OR_RETURN(sockaddr_storage ss, ParseSockaddr(addr, &len));
  bufferevent* bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
  if (bufferevent_socket_connect(bev, reinterpret_cast<sockaddr*>(&ss), static_cast<int>(len)) != 0) {
    bufferevent_free(bev);
    return IOError("cannot connect to " + addr);
  }
  auto c = std::make_unique<SyncConnection>(base, bev, std::move(session), options, true, std::move(done));
  c->set_peer(addr);
  return c;
}

Result<std::unique_ptr<SyncService>> SyncService::Start(event_base* base, const std::string& bind, Store* store,
                                                        SyncServiceOptions options,
                                                        std::function<std::string()> pick_peer) {
  socklen_t len = 0;
  BASEFS_ASSIGN_OR_RETURN(sockaddr_storage ss, ParseSockaddr(bind, &len));
  std::unique_ptr<SyncService> s(new SyncService());
  s->base_ = base;
  s->store_ = store;
  s->options_ = options;
  s->options_.live_randoms = &s->live_randoms_;
  s->pick_peer_ = std::move(pick_peer);
  s->listener_ = evconnlistener_new_bind(base, &SyncService::OnAccept, s.get(),
                                         LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC, 64,
                                         reinterpret_cast<sockaddr*>(&ss), static_cast<int>(len));
  if (!s->listener_) {
    const int err = errno;
    return Status(err == EADDRINUSE ? Code::kBusy : Code::kIO,
                  "cannot listen for sync on TCP " + bind + ": " + std::strerror(err));
  }
  s->timer_ = event_new(base, -1, EV_PERSIST, &SyncService::OnTimer, s.get());
  const timeval tv = Tv(s->options_.repair_check_ms);
  event_add(s->timer_, &tv);
  return s;
}

SyncService::~SyncService() {
  conns_.clear();
  doomed_.clear();
  if (timer_) event_free(timer_);
  if (listener_) evconnlistener_free(listener_);
}

void SyncService::OnAccept(evconnlistener*, int fd, ::sockaddr* sa, int salen, void* arg) {
  auto* self = static_cast<SyncService*>(arg);
  // Inbound and outbound sessions have separate limits, so peers that hold
  // connections open cannot stop this node from starting its own.
  if (self->inbound_ >= self->options_.max_sessions) {
    evutil_closesocket(fd);
    return;
  }
  ++self->inbound_;
  bufferevent* bev = bufferevent_socket_new(self->base_, fd, BEV_OPT_CLOSE_ON_FREE);
  auto c = std::make_unique<SyncConnection>(
      self->base_, bev, std::make_unique<SyncSession>(self->store_), self->options_, false,
      [self](SyncConnection* conn, const Status& st) { self->Finished(conn, st); });
  SyncConnection* raw = c.get();
  char host[NI_MAXHOST] = "?", port[NI_MAXSERV] = "?";
  ::getnameinfo(sa, static_cast<socklen_t>(salen), host, sizeof(host), port, sizeof(port),
                NI_NUMERICHOST | NI_NUMERICSERV);
  raw->set_remote(std::string(host) + " port " + port);
  self->inbound_conns_.insert(raw);
  self->conns_.emplace(raw, std::move(c));
}

void SyncService::SyncWith(const std::string& addr) {
  if (addr.empty() || conns_.size() - inbound_ >= options_.max_outbound_sessions || PeerFilter::Get().Blocked(addr))
    return;
  for (const auto& [raw, c] : conns_)
    if (c->peer() == addr) return;
  auto c = ConnectSync(base_, addr, std::make_unique<SyncSession>(store_), options_,
                       [this](SyncConnection* conn, const Status& st) { Finished(conn, st); });
  if (!c.ok()) {
    ++failed_;
    return;
  }
  SyncConnection* raw = c->get();
  conns_.emplace(raw, std::move(c).value());
}

void SyncService::Finished(SyncConnection* c, const Status& st) {
  session_seconds_.Observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - c->started()).count());
  bytes_in_ += c->session().stats().bytes_in;
  bytes_out_ += c->session().stats().bytes_out;
  if (st.ok())
    ++completed_;
  else
    ++failed_;
  if (st.code() == Code::kPermission) {
    // A peer with another cluster key (or none): say so, at most once a
    // minute, since it will keep trying.
    ++refused_;
    const time_t now = ::time(nullptr);
    if (now - last_refusal_log_ >= 60) {
      last_refusal_log_ = now;
      LogWarn("sync {} refused: {} ({} so far)", c->peer().empty() ? "from " + c->remote() : "with " + c->peer(),
              st.message(), refused_);
    }
  }
  if (inbound_conns_.erase(c)) --inbound_;
  // Free the connection after the current callback has returned.
  auto it = conns_.find(c);
  if (it == conns_.end()) return;
  // Freed at the next timer tick (or with the service), never inside its
  // own callback.
  doomed_.push_back(std::move(it->second));
  conns_.erase(it);
}

void SyncService::OnTimer(int, short, void* arg) {
  auto* self = static_cast<SyncService*>(arg);
  self->doomed_.clear();
  ++self->ticks_;
  const uint64_t every = std::max<uint64_t>(1, self->options_.sync_interval_ms / self->options_.repair_check_ms);
  // Periodically with a random member; sooner when this node waits for
  // entries or blocks that gossip has not brought.
  if (self->ticks_ % every == 0 || !self->store_->Wanted(1).empty()) self->SyncWith(self->pick_peer_());
}

}  // namespace basefs
