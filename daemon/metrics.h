// The metrics exporter: reads the counters and histograms each subsystem
// keeps as its own state and writes them as Prometheus text (STYLE.md 14:
// the exporter only reads). Names: `basefs_` prefix, `_total` counters,
// base units; labels only of bounded sets (state, direction, reason,
// result, type, rcode, op) — never a name, path or address.
//
// MetricsServer serves that text on `--metrics ADDR:PORT` at GET /metrics,
// with evhttp on the daemon's loop.
//
// Thread-safety: loop thread only.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "base/result.h"

struct event_base;
struct evhttp;
struct evhttp_bound_socket;
struct evhttp_request;

namespace basefs {

class Store;
class Gossip;
class SyncService;
class DnsService;
class HandlerRunner;
class FuseMount;
class LatencyHold;
class HttpApi;

// What the exporter reads; the optional subsystems may be null.
struct MetricsSources {
  const Store* store = nullptr;
  const Gossip* gossip = nullptr;
  const SyncService* sync = nullptr;
  const DnsService* dns = nullptr;
  const HandlerRunner* handlers = nullptr;
  const FuseMount* mount = nullptr;
  const LatencyHold* latency_hold = nullptr;
  const HttpApi* http = nullptr;
  double root_digest_age_s = 0;  // since the view last changed (or since start)
};

std::string RenderMetrics(const MetricsSources& s);

class MetricsServer {
 public:
  // Listens on `listen` (ADDR:PORT; port 0: any free port). `render`
  // makes the text of one scrape.
  static Result<std::unique_ptr<MetricsServer>> Start(event_base* base, const std::string& listen,
                                                      std::function<std::string()> render);
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  // The address it listens on, with the port it got.
  const std::string& local_address() const { return local_address_; }
  uint64_t scrapes() const { return scrapes_; }

 private:
  MetricsServer() = default;
  static void OnRequest(evhttp_request* req, void* arg);

  evhttp* http_ = nullptr;
  std::function<std::string()> render_;
  std::string local_address_;
  uint64_t scrapes_ = 0;
};

}  // namespace basefs
