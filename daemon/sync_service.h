// SyncService: anti-entropy sessions over TCP on the gossip port.
//
// Accepts sessions from peers and starts them: every sync_interval_ms with
// a random live member, at once when a member joins or comes back from
// failed, and when this node keeps waiting for entries or blocks. Each
// connection drives one SyncSession (replicate/sync_session.h).
//
// Limits: at most max_sessions inbound and max_outbound_sessions outbound
// at once (more are refused), a session ends
// after deadline_ms or idle_ms without bytes, and reading pauses while more
// than max_buffered_bytes wait to be sent (back-pressure).
// Thread-safety: loop thread only. Lifetime: base and store outlive it.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "base/histogram.h"
#include "base/result.h"
#include "replicate/gossip_format.h"
#include "replicate/sync_seal.h"
#include "replicate/sync_session.h"

struct event_base;
struct evconnlistener;
struct bufferevent;
struct event;
struct sockaddr;

namespace basefs {

struct SyncServiceOptions {
  uint64_t sync_interval_ms = 30000;
  uint64_t repair_check_ms = 5000;
  uint64_t deadline_ms = 10 * 60 * 1000;
  uint64_t idle_ms = 30000;
  size_t max_sessions = 8;  // inbound
  size_t max_outbound_sessions = 4;
  size_t max_buffered_bytes = 8u << 20;
  // With keys, every session is sealed with them (replicate/sync_seal.h)
  // and a peer without one is refused; without, sessions are plaintext.
  Keyring keyring;
  // The node's live handshakes (set by SyncService; see SyncSeal).
  SyncSeal::Randoms* live_randoms = nullptr;
};

// One TCP connection running one session; used by the service and by
// `basefs get`.
class SyncConnection {
 public:
  using Done = std::function<void(SyncConnection*, const Status&)>;
  // Takes ownership of `bev` (connected, or connecting when `connecting`).
  SyncConnection(event_base* base, bufferevent* bev, std::unique_ptr<SyncSession> session,
                 const SyncServiceOptions& options, bool connecting, Done done);
  ~SyncConnection();
  SyncSession& session() { return *session_; }
  const std::string& peer() const { return peer_; }
  void set_peer(std::string p) { peer_ = std::move(p); }
  // Where an inbound connection came from (for messages only).
  const std::string& remote() const { return remote_; }
  void set_remote(std::string r) { remote_ = std::move(r); }
  std::chrono::steady_clock::time_point started() const { return started_; }

 private:
  static void OnRead(bufferevent* bev, void* arg);
  static void OnWrite(bufferevent* bev, void* arg);
  static void OnEvent(bufferevent* bev, short what, void* arg);
  static void OnDeadline(int, short, void* arg);
  void Flush();
  void Finish(const Status& st);

  bufferevent* bev_;
  event* deadline_ = nullptr;
  std::unique_ptr<SyncSession> session_;
  std::unique_ptr<SyncSeal> seal_;  // with a cluster key
  SyncServiceOptions options_;
  Done done_;
  std::string peer_;
  std::string remote_;
  bool finishing_ = false;
  bool received_ = false;  // any bytes from the peer yet
  const std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
};

// Connects to `addr` (ADDR:PORT) and runs `session` on the connection.
Result<std::unique_ptr<SyncConnection>> ConnectSync(event_base* base, const std::string& addr,
                                                    std::unique_ptr<SyncSession> session,
                                                    const SyncServiceOptions& options, SyncConnection::Done done);

class SyncService {
 public:
  // Listens on TCP `bind` (the gossip port). `pick_peer` returns a random
  // live member's address ("" if none).
  static Result<std::unique_ptr<SyncService>> Start(event_base* base, const std::string& bind, Store* store,
                                                    SyncServiceOptions options, std::function<std::string()> pick_peer);
  ~SyncService();
  // Starts a session with `addr` now (unless one with it is running).
  void SyncWith(const std::string& addr);
  // Seals the sessions that start from now on with `keyring` (a rotation).
  void SetKeyring(const Keyring& keyring) { options_.keyring = keyring; }
  uint64_t sessions_completed() const { return completed_; }
  uint64_t sessions_failed() const { return failed_; }
  // Failed on the cluster key (counted in sessions_failed too).
  uint64_t sessions_refused() const { return refused_; }
  // Of every finished session: its length, and the bytes it moved.
  const Histogram& session_seconds() const { return session_seconds_; }
  uint64_t bytes_in() const { return bytes_in_; }
  uint64_t bytes_out() const { return bytes_out_; }

 private:
  SyncService() = default;
  static void OnAccept(evconnlistener*, int fd, ::sockaddr*, int, void* arg);
  static void OnTimer(int, short, void* arg);
  void Finished(SyncConnection* c, const Status& st);

  event_base* base_ = nullptr;
  evconnlistener* listener_ = nullptr;
  event* timer_ = nullptr;
  Store* store_ = nullptr;
  SyncServiceOptions options_;
  std::function<std::string()> pick_peer_;
  std::map<SyncConnection*, std::unique_ptr<SyncConnection>> conns_;
  std::set<SyncConnection*> inbound_conns_;
  std::vector<std::unique_ptr<SyncConnection>> doomed_;
  SyncSeal::Randoms live_randoms_;
  size_t inbound_ = 0;
  uint64_t completed_ = 0, failed_ = 0;
  uint64_t refused_ = 0;  // sessions that failed the cluster key
  Histogram session_seconds_ = Histogram::Slow();
  uint64_t bytes_in_ = 0, bytes_out_ = 0;
  long long last_refusal_log_ = 0;
  uint64_t ticks_ = 0;
};

}  // namespace basefs
