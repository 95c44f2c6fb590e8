#include "daemon/metrics.h"

#include <sys/socket.h>

#include <cstring>
#include <map>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/util.h>

#include "base/host_port.h"
#include "daemon/dns_service.h"
#include "daemon/handler_runner.h"
#include "daemon/http_api.h"
#include "daemon/latency_hold.h"
#include "daemon/prometheus.h"
#include "daemon/sync_service.h"
#include "fuse/fuse_mount.h"
#include "replicate/gossip.h"
#include "store/store.h"

namespace basefs {
namespace {

using Labels = PrometheusWriter::Labels;

void StoreMetrics(PrometheusWriter& w, const Store& store, double root_digest_age_s) {
  w.Gauge("basefs_entries", "Entries in the log", static_cast<double>(store.view().entry_count()));
  w.Gauge("basefs_blocks", "Content blocks in the log", static_cast<double>(store.log().block_count()));
  w.Gauge("basefs_log_bytes", "Bytes the log takes on disk (LevelDB's estimate)",
          static_cast<double>(store.log().ApproximateBytes()));
  w.Gauge("basefs_pending_entries", "Entries held until their parent or author arrives",
          static_cast<double>(store.pending_count()));
  w.Gauge("basefs_root_digest_age_seconds", "Seconds since the view last changed", root_digest_age_s);
}

void GossipMetrics(PrometheusWriter& w, const Gossip& gossip) {
  std::map<std::string, double> by_state = {{"alive", 0}, {"suspect", 0}, {"failed", 0}, {"left", 0}};
  for (const Member& m : gossip.Members()) by_state[MemberStateName(m.state)] += 1;
  w.Family("basefs_members", "gauge", "Members of the cluster by state, this node included");
  for (const auto& [state, n] : by_state) w.Sample("basefs_members", {{"state", state}}, n);
  const GossipCounters& c = gossip.counters();
  w.Family("basefs_gossip_bytes_total", "counter", "Gossip bytes by direction");
  w.Sample("basefs_gossip_bytes_total", {{"direction", "in"}}, static_cast<double>(c.bytes_in));
  w.Sample("basefs_gossip_bytes_total", {{"direction", "out"}}, static_cast<double>(c.bytes_out));
  w.Family("basefs_gossip_datagrams_total", "counter", "Gossip datagrams by direction");
  w.Sample("basefs_gossip_datagrams_total", {{"direction", "in"}}, static_cast<double>(c.datagrams_in));
  w.Sample("basefs_gossip_datagrams_total", {{"direction", "out"}}, static_cast<double>(c.datagrams_out));
  w.Family("basefs_gossip_dropped_total", "counter", "Gossip datagrams dropped, by reason");
  w.Sample("basefs_gossip_dropped_total", {{"reason", "malformed"}}, static_cast<double>(c.dropped_malformed));
  w.Sample("basefs_gossip_dropped_total", {{"reason", "unauthenticated"}},
           static_cast<double>(c.dropped_unauthenticated));
  w.Family("basefs_gossip_member_facts_dropped_total", "counter",
           "Membership facts dropped, by reason (docs/gossip_format.md)");
  w.Sample("basefs_gossip_member_facts_dropped_total", {{"reason", "old_version"}},
           static_cast<double>(c.dropped_old_version));
  w.Sample("basefs_gossip_member_facts_dropped_total", {{"reason", "bad_signature"}},
           static_cast<double>(c.dropped_bad_signature));
  w.Sample("basefs_gossip_member_facts_dropped_total", {{"reason", "wrong_key"}},
           static_cast<double>(c.dropped_wrong_key));
  w.Sample("basefs_gossip_member_facts_dropped_total", {{"reason", "not_admitted"}},
           static_cast<double>(c.dropped_not_admitted));
  w.Sample("basefs_gossip_member_facts_dropped_total", {{"reason", "unverifiable"}},
           static_cast<double>(c.dropped_unverifiable));
  w.Counter("basefs_gossip_claims_refuted_total", "Suspect/failed claims dropped because the member answered a ping",
            static_cast<double>(c.claims_refuted));
  w.Counter("basefs_gossip_unverified_datagrams_total", "Datagrams from addresses not verified yet (no cluster key)",
            static_cast<double>(c.unverified_in));
  w.Family("basefs_gossip_entries_total", "counter", "Entries received by gossip, by result");
  w.Sample("basefs_gossip_entries_total", {{"result", "new"}}, static_cast<double>(c.entries_new));
  w.Sample("basefs_gossip_entries_total", {{"result", "rejected"}}, static_cast<double>(c.entries_rejected));
  w.Sample("basefs_gossip_entries_total", {{"result", "known"}},
           static_cast<double>(c.entries_in - c.entries_new - c.entries_rejected));
  w.Counter("basefs_gossip_blocks_total", "Content blocks received by gossip", static_cast<double>(c.blocks_in));
  w.Family("basefs_gossip_wants_total", "counter", "Requests for missing entries, by direction");
  w.Sample("basefs_gossip_wants_total", {{"direction", "sent"}}, static_cast<double>(c.wants_sent));
  w.Sample("basefs_gossip_wants_total", {{"direction", "served"}}, static_cast<double>(c.wants_served));
}

void SyncMetrics(PrometheusWriter& w, const SyncService& sync) {
  w.Family("basefs_sync_sessions_total", "counter", "Anti-entropy sessions by result (refused: no common cluster key)");
  const uint64_t failed_other = sync.sessions_failed() - sync.sessions_refused();
  w.Sample("basefs_sync_sessions_total", {{"result", "completed"}}, static_cast<double>(sync.sessions_completed()));
  w.Sample("basefs_sync_sessions_total", {{"result", "failed"}}, static_cast<double>(failed_other));
  w.Sample("basefs_sync_sessions_total", {{"result", "refused"}}, static_cast<double>(sync.sessions_refused()));
  w.Family("basefs_sync_session_duration_seconds", "histogram", "Length of finished anti-entropy sessions");
  w.HistogramSamples("basefs_sync_session_duration_seconds", {}, sync.session_seconds());
  w.Family("basefs_sync_bytes_total", "counter", "Bytes of finished sync sessions, by direction");
  w.Sample("basefs_sync_bytes_total", {{"direction", "in"}}, static_cast<double>(sync.bytes_in()));
  w.Sample("basefs_sync_bytes_total", {{"direction", "out"}}, static_cast<double>(sync.bytes_out()));
}

void DnsMetrics(PrometheusWriter& w, const DnsService& dns) {
  const DnsAnswerStats& a = dns.server().answer_stats();
  w.Family("basefs_dns_answers_total", "counter", "DNS answers given by this node (not forwarded), by type and rcode");
  for (size_t t = 0; t < DnsAnswerStats::kTypes; ++t)
    for (size_t r = 0; r < DnsAnswerStats::kRcodes; ++r)
      if (a.answers[t][r] != 0)
        w.Sample("basefs_dns_answers_total",
                 {{"type", DnsAnswerStats::TypeName(t)}, {"rcode", DnsAnswerStats::RcodeName(r)}},
                 static_cast<double>(a.answers[t][r]));
  w.Family("basefs_dns_answer_duration_seconds", "histogram", "Time to prepare a DNS answer");
  w.HistogramSamples("basefs_dns_answer_duration_seconds", {}, a.latency);
  const DnsCounters& c = dns.server().counters();
  w.Family("basefs_dns_queries_total", "counter", "DNS queries by transport");
  w.Sample("basefs_dns_queries_total", {{"transport", "udp"}}, static_cast<double>(c.udp_queries));
  w.Sample("basefs_dns_queries_total", {{"transport", "tcp"}}, static_cast<double>(c.tcp_queries));
  w.Counter("basefs_dns_dropped_total", "DNS messages dropped (malformed, or no reply possible)",
            static_cast<double>(c.dropped));
  w.Family("basefs_dns_transfers_total", "counter", "Zone transfers by result");
  w.Sample("basefs_dns_transfers_total", {{"result", "served"}}, static_cast<double>(c.transfers));
  w.Sample("basefs_dns_transfers_total", {{"result", "refused"}}, static_cast<double>(c.transfers_refused));
  w.Counter("basefs_dns_recursion_refused_total",
            "Queries REFUSED because the client may not recurse (--recursion-allow)",
            static_cast<double>(c.recursion_refused));
  w.Family("basefs_dns_rate_limited_total", "counter", "UDP responses held back by response rate limiting, by action");
  w.Sample("basefs_dns_rate_limited_total", {{"action", "slip"}}, static_cast<double>(c.rate_limited_slipped));
  w.Sample("basefs_dns_rate_limited_total", {{"action", "drop"}}, static_cast<double>(c.rate_limited_dropped));
  w.Counter("basefs_dns_valid_cookies_total", "Queries with a valid server cookie (exempt from rate limiting)",
            static_cast<double>(c.valid_cookies));
  const ForwarderCounters& f = dns.forwarder().counters();
  w.Counter("basefs_dns_forwarded_total", "Queries forwarded upstream", static_cast<double>(c.forwarded));
  w.Family("basefs_dns_forwarder_cache_total", "counter", "Forwarded queries by cache result");
  w.Sample("basefs_dns_forwarder_cache_total", {{"result", "hit"}}, static_cast<double>(f.cache_hits));
  w.Sample("basefs_dns_forwarder_cache_total", {{"result", "miss"}}, static_cast<double>(f.queries - f.cache_hits));
  w.Counter("basefs_dns_forwarder_upstream_queries_total", "Queries sent to upstream resolvers",
            static_cast<double>(f.upstream_sent));
  w.Counter("basefs_dns_forwarder_upstream_timeouts_total", "Upstream queries without an answer in time",
            static_cast<double>(f.upstream_timeouts));
  w.Counter("basefs_dns_forwarder_bad_replies_total", "Upstream replies that did not match or parse",
            static_cast<double>(f.bad_replies));
  w.Counter("basefs_dns_forwarder_servfail_total", "SERVFAIL answers the forwarder gave",
            static_cast<double>(f.servfail));
  w.Counter("basefs_dns_forwarder_client_limited_total", "Forwarded queries refused for a client over its limit",
            static_cast<double>(f.client_limited));
  w.Counter("basefs_dns_rebuilds_total", "Answer-table rebuilds", static_cast<double>(dns.rebuilds()));
  w.Family("basefs_dns_rebuild_duration_seconds", "histogram", "Time from a change to its answers being served");
  w.HistogramSamples("basefs_dns_rebuild_duration_seconds", {}, dns.rebuild_seconds());
  const HealthChecker& h = dns.health();
  w.Gauge("basefs_health_checks", "Health checks this node runs", static_cast<double>(h.check_count()));
  w.Gauge("basefs_health_checks_failing", "Health checks failing now", static_cast<double>(h.failing().size()));
  w.Family("basefs_health_check_runs_total", "counter", "Health check runs by result");
  w.Sample("basefs_health_check_runs_total", {{"result", "pass"}}, static_cast<double>(h.passes()));
  w.Sample("basefs_health_check_runs_total", {{"result", "fail"}}, static_cast<double>(h.fails()));
}

void MountMetrics(PrometheusWriter& w, const FuseMount& mount, const LatencyHold* hold) {
  const FuseOpStats& ops = mount.op_stats();
  w.Family("basefs_fuse_request_duration_seconds", "histogram", "FUSE requests by operation, from read to reply");
  for (size_t k = 0; k < FuseOpStats::kKinds; ++k)
    if (ops.latency(k).count() != 0)
      w.HistogramSamples("basefs_fuse_request_duration_seconds", {{"op", FuseOpStats::KindName(k)}}, ops.latency(k));
  if (hold) {
    w.Counter("basefs_fuse_latency_holds_total", "Times a busy mount held CPU wake-up latency",
              static_cast<double>(hold->holds()));
    w.Counter("basefs_fuse_latency_held_seconds_total", "Time the CPU wake-up latency was held",
              static_cast<double>(hold->held_ms()) / 1000);
  }
}

void HttpMetrics(PrometheusWriter& w, const HttpApi& api) {
  const HttpApiCounters& c = api.counters();
  w.Counter("basefs_http_requests_total", "HTTP API requests", static_cast<double>(c.requests));
  w.Family("basefs_http_errors_total", "counter", "HTTP API answers with an error status, by class");
  w.Sample("basefs_http_errors_total", {{"class", "4xx"}}, static_cast<double>(c.errors_4xx));
  w.Sample("basefs_http_errors_total", {{"class", "5xx"}}, static_cast<double>(c.errors_5xx));
  w.Counter("basefs_http_unauthorized_total", "HTTP API requests refused for a missing or wrong token",
            static_cast<double>(c.unauthorized));
  w.Gauge("basefs_http_blocking_held", "Blocking queries held now", static_cast<double>(api.held()));
  w.Family("basefs_http_blocking_total", "counter", "Blocking queries held, by how they ended");
  w.Sample("basefs_http_blocking_total", {{"result", "changed"}}, static_cast<double>(c.held_answered_change));
  w.Sample("basefs_http_blocking_total", {{"result", "waited"}}, static_cast<double>(c.held_answered_wait));
  w.Sample("basefs_http_blocking_total", {{"result", "gone"}}, static_cast<double>(c.held_gone));
  w.Sample("basefs_http_blocking_total", {{"result", "refused"}}, static_cast<double>(c.held_refused));
}

}  // namespace

std::string RenderMetrics(const MetricsSources& s) {
  PrometheusWriter w;
  if (s.store) StoreMetrics(w, *s.store, s.root_digest_age_s);
  if (s.gossip) GossipMetrics(w, *s.gossip);
  if (s.sync) SyncMetrics(w, *s.sync);
  if (s.dns) DnsMetrics(w, *s.dns);
  if (s.handlers) {
    w.Counter("basefs_handler_runs_total", "Change handler processes started", static_cast<double>(s.handlers->runs()));
    w.Counter("basefs_handler_failures_total", "Change handlers that exited non-zero, died, or could not start",
              static_cast<double>(s.handlers->failures() + s.handlers->spawn_failures()));
  }
  if (s.mount) MountMetrics(w, *s.mount, s.latency_hold);
  if (s.http) HttpMetrics(w, *s.http);
  return w.text();
}

Result<std::unique_ptr<MetricsServer>> MetricsServer::Start(event_base* base, const std::string& listen,
                                                            std::function<std::string()> render) {
  std::unique_ptr<MetricsServer> m(new MetricsServer());
  m->render_ = std::move(render);
  m->http_ = evhttp_new(base);
  if (!m->http_) return IOError("cannot create the metrics HTTP server");
  evhttp_set_allowed_methods(m->http_, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD);
  evhttp_set_max_headers_size(m->http_, 8192);
  evhttp_set_max_body_size(m->http_, 0);
  evhttp_set_timeout(m->http_, 10);
  evhttp_set_gencb(m->http_, &MetricsServer::OnRequest, m.get());
  BASEFS_ASSIGN_OR_RETURN(m->local_address_, BindHttp(m->http_, listen, "metrics", "--metrics"));
  return m;
}

MetricsServer::~MetricsServer() {
  if (http_) evhttp_free(http_);
}

void MetricsServer::OnRequest(evhttp_request* req, void* arg) {
  auto* self = static_cast<MetricsServer*>(arg);
  const char* uri = evhttp_request_get_uri(req);
  evhttp_uri* parsed = uri ? evhttp_uri_parse(uri) : nullptr;
  const char* path = parsed ? evhttp_uri_get_path(parsed) : nullptr;
  const bool metrics = path && std::strcmp(path, "/metrics") == 0;
  if (parsed) evhttp_uri_free(parsed);
  if (!metrics) {
    evhttp_send_error(req, HTTP_NOTFOUND, "basefs serves /metrics only");
    return;
  }
  ++self->scrapes_;
  const std::string text = self->render_();
  evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
  evbuffer* body = evbuffer_new();
  evbuffer_add(body, text.data(), text.size());
  evhttp_send_reply(req, HTTP_OK, "OK", body);
  evbuffer_free(body);
}

}  // namespace basefs
