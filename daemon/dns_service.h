// Glue between the store, gossip and the DNS server: keeps the served
// answers equal to Project(view, membership, health).
//
// A change under /services or /zones (but a mkdir), a membership change
// or a health change schedules one rebuild (changes that arrive together
// are coalesced; while a sync streams history, rebuilds are spaced by twice
// the last rebuild's duration so they take at most a third of the time). A
// rebuild reads the files on the loop (those unchanged since the last one
// from a cache), then projects them, raises the serial of every zone whose
// records changed and builds a new AnswerTable on a worker thread, and
// swaps it in on the loop: a rebuild of 20,000 services never stalls
// queries, gossip or the mount for its whole length.
//
// The node's soft state for DNS travels in its gossip meta:
//   "dns=ADDR:PORT key=<base64 public key> down=<id>,<id>..."
// (down: instances whose health check fails here; see docs/dns.md).
//
// Thread-safety: loop thread only (the worker's part is private).
#pragma once

#include <map>
#include <memory>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "daemon/health_checker.h"
#include "daemon/loop_worker.h"
#include "dns/forwarder.h"
#include "dns/server.h"
#include "replicate/gossip.h"
#include "store/store.h"
#include "zones/parse_cache.h"
#include "zones/sources.h"

struct event_base;

namespace basefs {

struct DnsServiceOptions {
  DnsServerOptions server;
  std::vector<std::string> recursors;  // empty: /etc/resolv.conf
  std::string self_node;
  std::string self_key;  // base64
  // Test-only: the worker's part of a rebuild takes at least this long, so
  // a test can make changes arrive while one runs.
  uint64_t min_build_ms = 0;
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
  // The files the last rebuild skipped, with the reason (what `basefs
  // status` shows: computing them again would stall the loop).
  const std::vector<BadFile>& bad_files() const { return bad_files_; }
  nlohmann::ordered_json StatusJson() const;
  // Replaces the upstream resolvers (a reload); nothing changes on error.
  Status SetRecursors(const std::vector<std::string>& recursors);
  // Replaces the clients allowed recursion (SIGHUP); a bad list changes nothing.
  Status SetRecursionAllow(const std::vector<std::string>& list);
  // For the metrics exporter.
  const DnsServer& server() const { return *server_; }
  const Forwarder& forwarder() const { return *forwarder_; }
  const HealthChecker& health() const { return *health_; }
  HealthChecker& mutable_health() { return *health_; }
  // Called (on the loop) after this node's health results change.
  void set_health_listener(std::function<void()> fn) { health_->set_result_listener(std::move(fn)); }
  uint64_t rebuilds() const { return rebuilds_; }
  const Histogram& rebuild_seconds() const { return rebuild_seconds_; }

 private:
  DnsService(event_base* base, Clock* clock, Store* store, Gossip* gossip, DnsServiceOptions options);
  struct RebuildJob;
  Result<std::vector<std::string>> Upstreams(const std::vector<std::string>& recursors) const;
  void ScheduleRebuild();
  // Collects the input on the loop; projects and builds on the worker
  // (inline_build: here, at once), then Finish swaps the table in.
  void Rebuild(bool inline_build = false);
  void Build(RebuildJob* job, bool test_delay);
  void Finish(RebuildJob* job);
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
  Histogram rebuild_seconds_ = Histogram::Slow();
  std::vector<BadFile> bad_files_;           // of the last rebuild
  std::map<std::string, uint32_t> serials_;  // zone apex -> SOA serial
  // The rebuild runs on worker_ (one at a time: building_); a change meanwhile
  // asks for another when it is done.
  bool building_ = false, rebuild_again_ = false;
  SourceCache sources_;                    // loop
  ParseCache cache_;                       // worker (while building_)
  std::set<std::string> refused_scripts_;  // worker: (path, content) of scripts not run, logged once
  std::string meta_;
  std::unique_ptr<LoopWorker> worker_;
  std::unique_ptr<LoopWorker> reaper_;  // frees replaced tables
};

}  // namespace basefs
