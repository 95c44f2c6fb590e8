#include "daemon/control_server.h"

#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/listener.h>

namespace basefs {
namespace {
constexpr size_t kMaxClients = 32;
constexpr int kIdleSeconds = 30;
}  // namespace

Result<std::unique_ptr<ControlServer>> ControlServer::Listen(event_base* base, const std::string& path,
                                                             Handler handler) {
  sockaddr_un addr{};
  if (path.size() >= sizeof(addr.sun_path))
    return Invalid("control socket path too long (" + path + "); use a shorter --data-dir");
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  ::unlink(path.c_str());  // stale from a killed daemon: we hold the store lock, so it is ours
  std::unique_ptr<ControlServer> s(new ControlServer());
  s->base_ = base;
  s->path_ = path;
  s->handler_ = std::move(handler);
  const mode_t old = ::umask(0077);
  s->listener_ =
      evconnlistener_new_bind(base, &ControlServer::OnAccept, s.get(), LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC,
                              16, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  ::umask(old);
  if (!s->listener_) return IOError("cannot listen on " + path + ": " + std::strerror(errno));
  return s;
}

ControlServer::~ControlServer() {
  alive_.reset();
  for (bufferevent* b : clients_) bufferevent_free(b);
  if (listener_) evconnlistener_free(listener_);
  ::unlink(path_.c_str());
}

void ControlServer::OnAccept(evconnlistener*, int fd, sockaddr*, int, void* arg) {
  auto* self = static_cast<ControlServer*>(arg);
  if (self->clients_.size() >= kMaxClients) {
    ::close(fd);
    return;
  }
  bufferevent* bev = bufferevent_socket_new(self->base_, fd, BEV_OPT_CLOSE_ON_FREE);
  self->clients_.insert(bev);
  bufferevent_setcb(bev, &ControlServer::OnRead, nullptr, &ControlServer::OnEvent, self);
  timeval idle{kIdleSeconds, 0};
  bufferevent_set_timeouts(bev, &idle, &idle);
  bufferevent_enable(bev, EV_READ);
}

void ControlServer::OnRead(bufferevent* bev, void* arg) {
  auto* self = static_cast<ControlServer*>(arg);
  evbuffer* in = bufferevent_get_input(bev);
  const size_t n = evbuffer_get_length(in);
  const auto* data = reinterpret_cast<const char*>(evbuffer_pullup(in, static_cast<ssize_t>(n)));
  size_t consumed = 0;
  std::string error;
  auto req = DecodeRequest(std::string_view(data, n), &consumed, &error);
  if (!req) {
    if (error.empty()) return;  // wait for more
    bufferevent_disable(bev, EV_READ);
    self->Answer(bev, ControlResponse{2, "", "basefs: bad control request: " + error + "\n"});
    return;
  }
  bufferevent_disable(bev, EV_READ);
  evbuffer_drain(in, consumed);
  const uint64_t number = self->next_request_++;
  self->pending_[bev] = number;
  const std::weak_ptr<bool> alive = self->alive_;
  Reply reply = [self, bev, number, alive](const ControlResponse& resp) {
    if (alive.expired() || !self->Waiting(bev, number)) return;  // the server or the client went away
    self->pending_.erase(bev);
    self->on_close_.erase(bev);
    self->Answer(bev, resp);
  };
  Stream stream;
  stream.emit = [self, bev, number, alive](std::string_view bytes) {
    if (alive.expired() || !self->Waiting(bev, number)) return false;
    if (evbuffer_get_length(bufferevent_get_output(bev)) > kMaxStreamBacklog) return false;
    const std::string frame = EncodeStreamFrame(bytes);
    return bufferevent_write(bev, frame.data(), frame.size()) == 0;
  };
  stream.on_close = [self, bev, number, alive](std::function<void()> fn) {
    if (alive.expired() || !self->Waiting(bev, number)) return;
    self->on_close_[bev] = std::move(fn);
    bufferevent_set_timeouts(bev, nullptr, nullptr);
    bufferevent_setcb(bev, &ControlServer::OnDrain, nullptr, &ControlServer::OnEvent, self);
    bufferevent_enable(bev, EV_READ);
  };
  self->handler_(*req, std::move(reply), std::move(stream));
}

bool ControlServer::Waiting(bufferevent* bev, uint64_t number) const {
  auto it = pending_.find(bev);
  return it != pending_.end() && it->second == number;
}

void ControlServer::OnDrain(bufferevent* bev, void*) {
  evbuffer* in = bufferevent_get_input(bev);
  evbuffer_drain(in, evbuffer_get_length(in));
}

void ControlServer::Answer(bufferevent* bev, const ControlResponse& resp) {
  ControlServer* self = this;
  const std::string bytes = EncodeResponse(resp);
  bufferevent_write(bev, bytes.data(), bytes.size());
  // Answer now, as far as the socket takes it, not after whatever the
  // command scheduled on the loop (a DNS rebuild): the client waits.
  evbuffer* out = bufferevent_get_output(bev);
  (void)evbuffer_write(out, bufferevent_getfd(bev));
  if (evbuffer_get_length(out) == 0) {
    self->Close(bev);
    return;
  }
  bufferevent_setcb(bev, nullptr, &ControlServer::OnWritten, &ControlServer::OnEvent, self);
}

void ControlServer::OnWritten(bufferevent* bev, void* arg) {
  auto* self = static_cast<ControlServer*>(arg);
  if (evbuffer_get_length(bufferevent_get_output(bev)) == 0) self->Close(bev);
}

void ControlServer::OnEvent(bufferevent* bev, short what, void* arg) {
  auto* self = static_cast<ControlServer*>(arg);
  if (self->on_close_.count(bev)) {
    // A streaming client closed its side (or its socket failed): the
    // stream ends here.
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) self->Close(bev);
    return;
  }
  if (what & BEV_EVENT_EOF) {
    // The client finished sending: parse what is there (it may be complete).
    if (evbuffer_get_length(bufferevent_get_input(bev)) > 0 && bufferevent_get_enabled(bev) & EV_READ) {
      OnRead(bev, arg);
      if (!self->clients_.count(bev)) return;  // answered and closed
      if (evbuffer_get_length(bufferevent_get_output(bev)) > 0) return;
    }
    if (self->pending_.count(bev)) return;  // the answer comes later; the client waits for it
  }
  if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT)) {
    if (evbuffer_get_length(bufferevent_get_output(bev)) > 0 && !(what & (BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT)))
      return;  // still answering
    self->Close(bev);
  }
}

void ControlServer::Close(bufferevent* bev) {
  clients_.erase(bev);
  pending_.erase(bev);
  std::function<void()> closed;
  if (auto it = on_close_.find(bev); it != on_close_.end()) {
    closed = std::move(it->second);
    on_close_.erase(it);
  }
  bufferevent_free(bev);
  if (closed) closed();
}

}  // namespace basefs
