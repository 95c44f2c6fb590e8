// Glue between the store, gossip and the DNS server: keeps the served
// answers equal to Project(view, membership, health).
//
// A change under /services or /zones (but a mkdir), a membership change
// or a health change schedules one rebuild on the loop (changes that arrive
// together are coalesced; while a sync streams history, rebuilds are spaced
// by twice the last rebuild's duration so they take at most a third of the
// loop). A rebuild reads the files, projects them, raises the serial of
// every zone whose records changed and swaps in a new AnswerTable.
//
// The node's soft state for DNS travels in its gossip meta:
//   "dns=ADDR:PORT key=<base64 public key> down=<id>,<id>..."
// (down: instances whose health check fails here; see docs/dns.md).
//
// Thread-safety: loop thread only.
#pragma once

#include <map>
#include <memory>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "daemon/health_checker.h"
#include "dns/forwarder.h"
#include "dns/server.h"
#include "replicate/gossip.h"
#include "store/store.h"
#include "zones/parse_cache.h"

struct event_base;

namespace basefs {

struct DnsServiceOptions {
  DnsServerOptions server;
  std::vector<std::string> recursors;  // empty: /etc/resolv.conf
  std::string self_node;
  std::string self_key;  // base64
};

// Parsed gossip meta of a member.
struct NodeMeta {
  std::string dns, key;
  std::set<std::string> down;
};
NodeMeta ParseNodeMeta(std::string_view meta);
// Meta text for this node; at most kMaxMetaBytes (failing ids past that are
// left out, and counted in `dropped`).
std::string FormatNodeMeta(const NodeMeta& m, size_t* dropped);

class DnsService {
 public:
  static Result<std::unique_ptr<DnsService>> Start(event_base* base, Clock* clock, Store* store, Gossip* gossip,
                                                   DnsServiceOptions options);
  ~DnsService();

  // Hooks for the daemon's listeners.
  void OnChange(const Change& c);
  void OnMembership();

  const std::string& local_address() const { return server_->local_address(); }
  nlohmann::ordered_json StatusJson() const;

 private:
  DnsService(event_base* base, Clock* clock, Store* store, Gossip* gossip, DnsServiceOptions options);
  void ScheduleRebuild();
  void Rebuild();
  void PublishMeta();

  event_base* base_;
  Clock* clock_;
  Store* store_;
  Gossip* gossip_;
  DnsServiceOptions opts_;
  std::unique_ptr<Forwarder> forwarder_;
  std::unique_ptr<DnsServer> server_;
  std::unique_ptr<HealthChecker> health_;
  Clock::TimerId pending_ = 0;
  uint64_t last_rebuild_ms_ = 0, last_duration_ms_ = 0;
  uint64_t rebuilds_ = 0;
  size_t bad_files_ = 0;
  std::map<std::string, uint32_t> serials_;  // zone apex -> SOA serial
  ParseCache cache_;
  std::set<std::string> refused_scripts_;  // (path, content) of scripts not run, logged once
  std::string meta_;
};

}  // namespace basefs
