// Forwarding of names outside our zones to upstream resolvers, on the
// daemon's loop, with a cache.
//
// Each upstream query is ours: the question in lowercase, RD, the
// client's CD bit, and an OPT record with our payload size and the
// client's DO bit. It goes out from a fresh UDP socket (a random source
// port chosen by the kernel) with a random query ID, and only a reply from
// that upstream, with that ID and the same question, is accepted. Upstreams
// are tried in order, each for `try_timeout_ms`; when all have failed the
// client gets SERVFAIL. Clients asking the same question (name, type,
// class, DO, CD) while it is in flight wait for the same upstream query.
//
// Answers (NOERROR, NXDOMAIN) are cached per (name, type, class, DO, CD)
// without the upstream's OPT record, for their lowest TTL (negative ones
// for the SOA minimum, RFC 2308), capped at `max_cache_ttl_s`, and served
// with TTLs counted down. Each client gets the reply with its own ID, its
// own question bytes (its letter case), its RD and CD bits, and an OPT
// record of ours only if it sent one (RFC 6891 §7).
//
// Thread-safety: loop thread only. The event_base and Clock must outlive it.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/result.h"
#include "base/seams.h"
#include "dns/wire.h"

struct event_base;
struct event;

namespace basefs {

struct ForwarderOptions {
  std::vector<std::string> upstreams;  // "ADDR:PORT"
  uint32_t try_timeout_ms = 1500;      // per upstream
  // Distinct questions in flight (each holds a socket: keep it well below
  // the descriptor limit); more are answered SERVFAIL.
  size_t max_inflight = 512;
  size_t max_waiters = 64;  // clients waiting for one question in flight; more get SERVFAIL
  // Questions one client (IPv4 address, IPv6 /64) may wait for at once;
  // more get SERVFAIL, so one client cannot take every in-flight slot.
  size_t max_per_client = 32;
  size_t max_cache_entries = 20000;
  uint32_t max_cache_ttl_s = 3600;
};

struct ForwarderCounters {
  uint64_t queries = 0, cache_hits = 0, joined = 0, upstream_sent = 0, upstream_timeouts = 0, servfail = 0,
           bad_replies = 0, client_limited = 0;
};

class Forwarder {
 public:
  // Called once with the reply for the client (its ID already set).
  using ReplyFn = std::function<void(const uint8_t* msg, size_t len)>;

  static Result<std::unique_ptr<Forwarder>> Create(event_base* base, Clock* clock, ForwarderOptions options);
  // Replaces the upstream resolvers (a reload): all parse or nothing changes.
  Status SetUpstreams(const std::vector<std::string>& upstreams);
  ~Forwarder();
  Forwarder(const Forwarder&) = delete;
  Forwarder& operator=(const Forwarder&) = delete;

  // Resolves `q` (decoded from msg[0, len)) and calls `reply` exactly once,
  // possibly before returning (cache hit, nothing to ask), unless the
  // Forwarder is destroyed first. `udp_limit`: the client's UDP size limit
  // (0 for TCP clients); larger answers reach it truncated (TC). `client`
  // names the asker for max_per_client (ClientKey).
  void Resolve(const uint8_t* msg, size_t len, const Query& q, size_t udp_limit, const std::string& client,
               ReplyFn reply);

  const ForwarderCounters& counters() const { return counters_; }
  size_t cache_size() const { return cache_.size(); }

 private:
  struct Pending;
  // A client waiting for an answer.
  struct Waiter {
    Query q;
    std::string head;  // its header and question, as it sent them
    size_t udp_limit = 0;
    std::string client;
    ReplyFn reply;
  };
  struct CacheEntry {
    std::string wire;  // reply without OPT, ID 0, lowercase question
    uint64_t stored_ms = 0, expires_ms = 0;
    std::list<std::string>::iterator lru;
  };
  Forwarder(event_base* base, Clock* clock, ForwarderOptions options);
  void Send(Pending* p);
  void Finish(Pending* p, const std::string& reply);
  void Fail(Pending* p);
  void FailOne(const Waiter& w);
  void Release(const std::vector<Waiter>& waiters);
  static void OnEvent(int fd, short what, void* arg);
  void Store(const std::string& key, const std::string& reply);
  bool ServeFromCache(const std::string& key, const Waiter& w);
  static void Deliver(const std::string& reply, const Waiter& w);

  event_base* base_;
  Clock* clock_;
  ForwarderOptions opts_;
  std::vector<std::pair<sockaddr_storage, socklen_t>> upstreams_;
  std::map<uint64_t, std::unique_ptr<Pending>> pending_;
  std::unordered_map<std::string, Pending*> by_key_;    // the question in flight for each cache key
  std::unordered_map<std::string, size_t> per_client_;  // waiters in flight by client (none at 0)
  uint64_t next_pending_ = 1;
  std::unordered_map<std::string, CacheEntry> cache_;
  std::list<std::string> lru_;  // most recent first
  ForwarderCounters counters_;
};

// The upstream reply path as functions (the forwarder's, and the fuzzer's).
// A reply (ID already checked) that answers `q` — QR set, the same
// question — and whose records add up, with ID 0 and without its OPT
// and TSIG records; nullopt for anything else.
std::optional<std::string> CleanUpstreamReply(const uint8_t* reply, size_t len, const Query& q);
// Seconds a clean reply may be cached (at most `cap`; 0: not at all).
uint32_t UpstreamCacheTtl(const std::string& clean, uint32_t cap);
// The reply with every TTL lowered by `elapsed_s` (the cache's countdown).
std::string AgedReply(const std::string& wire, uint32_t elapsed_s);

// The key max_per_client counts by: the address bytes of an IPv4 client,
// the first 8 (the /64) of an IPv6 one; "" for other families.
std::string ClientKey(const sockaddr* sa);

// The nameservers of a resolv.conf text, as "ADDR:53" ("[V6]:53").
std::vector<std::string> ParseResolvConf(std::string_view text);

}  // namespace basefs
