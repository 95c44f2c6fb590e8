// ControlServer: the daemon's Unix socket (control.sock, mode 0600) on which
// `basefs CMD` hands its command line to the running daemon, which runs it
// against its open store and answers with the exit code and output
// (daemon/control_format.h).
//
// Limits: at most 32 clients at once; a request is bounded by the format's
// limits; a client that sends nothing for 30 s is dropped. The handler
// answers at once or later (a keyring rotation waits for the members):
// the client's connection stays open until it does.
// Thread-safety: loop thread only. Lifetime: the event_base outlives it.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>

#include "base/result.h"
#include "daemon/control_format.h"

struct event_base;
struct evconnlistener;
struct bufferevent;
struct sockaddr;

namespace basefs {

class ControlServer {
 public:
  using Reply = std::function<void(const ControlResponse&)>;
  // What a streaming command (`basefs watch`) uses before its reply.
  struct Stream {
    // Sends one output frame now. False when the client is gone or has
    // more than kMaxStreamBacklog bytes unread: stop streaming then (and
    // still reply).
    std::function<bool(std::string_view bytes)> emit;
    // `fn` runs once if the client goes before the reply (it closed its
    // side: ended, Ctrl-C). Also lifts the idle timeout: a stream may be
    // quiet for hours.
    std::function<void(std::function<void()> fn)> on_close;
  };
  static constexpr size_t kMaxStreamBacklog = 4u << 20;
  // Calls `reply` exactly once, now or later on the loop.
  using Handler = std::function<void(const ControlRequest&, Reply reply, Stream stream)>;
  static Result<std::unique_ptr<ControlServer>> Listen(event_base* base, const std::string& path, Handler handler);
  ~ControlServer();

 private:
  ControlServer() = default;
  static void OnAccept(evconnlistener*, int fd, ::sockaddr*, int, void* arg);
  static void OnRead(bufferevent* bev, void* arg);
  static void OnWritten(bufferevent* bev, void* arg);
  static void OnEvent(bufferevent* bev, short what, void* arg);
  // A streaming client's input after its request: discarded (EOF ends it).
  static void OnDrain(bufferevent* bev, void* arg);
  // Whether `bev` is still the client of request `number`, unanswered.
  bool Waiting(bufferevent* bev, uint64_t number) const;
  void Close(bufferevent* bev);
  void Answer(bufferevent* bev, const ControlResponse& resp);

  event_base* base_ = nullptr;
  evconnlistener* listener_ = nullptr;
  std::string path_;
  Handler handler_;
  std::set<bufferevent*> clients_;
  std::map<bufferevent*, uint64_t> pending_;                // asked, not answered yet: the request's number
  std::map<bufferevent*, std::function<void()>> on_close_;  // streaming clients
  uint64_t next_request_ = 1;
  // Cleared when the server goes: a late reply then does nothing.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace basefs
