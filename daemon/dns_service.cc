#include "daemon/dns_service.h"

#include <chrono>
#include <ctime>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include "base/cluster_config.h"
#include "base/crypto.h"
#include "base/host_port.h"
#include "base/log.h"
#include "base/wall_clock.h"
#include "replicate/gossip_format.h"
#include "zones/names.h"
#include "zones/parse_cache.h"
#include "zones/sources.h"

namespace basefs {
namespace {

// A member's advertised host ("" if its gossiped address does not parse).
std::string HostOf(const std::string& address) {
  auto hp = ParseHostPort(address);
  return hp.ok() ? hp->host : "";
}

}  // namespace

NodeMeta ParseNodeMeta(std::string_view meta) {
  NodeMeta m;
  std::istringstream in{std::string(meta)};
  std::string word;
  while (in >> word) {
    if (word.rfind("dns=", 0) == 0)
      m.dns = word.substr(4);
    else if (word.rfind("key=", 0) == 0)
      m.key = word.substr(4);
    else if (word.rfind("down=", 0) == 0) {
      std::istringstream ids(word.substr(5));
      std::string id;
      while (std::getline(ids, id, ','))
        if (!id.empty()) m.down.insert(id);
    }
  }
  return m;
}

std::string FormatNodeMeta(const NodeMeta& m, size_t* dropped) {
  std::string out = "dns=" + m.dns;
  if (!m.key.empty()) out += " key=" + m.key;
  *dropped = 0;
  std::string down;
  for (const auto& id : m.down) {
    const size_t need = (down.empty() ? 6 : 1) + id.size();
    if (out.size() + down.size() + need > kMaxMetaBytes) {
      ++*dropped;
      continue;
    }
    down += (down.empty() ? " down=" : ",") + id;
  }
  return out + down;
}

DnsService::DnsService(event_base* base, Clock* clock, Store* store, Gossip* gossip, DnsServiceOptions options)
    : base_(base), clock_(clock), store_(store), gossip_(gossip), opts_(std::move(options)) {}

DnsService::~DnsService() {
  worker_.reset();  // first: its work uses cache_, its dones this
  reaper_.reset();
  if (pending_) clock_->Cancel(pending_);
  health_.reset();
  server_.reset();
  forwarder_.reset();
}

Result<std::unique_ptr<DnsService>> DnsService::Start(event_base* base, Clock* clock, Store* store, Gossip* gossip,
                                                      DnsServiceOptions options) {
  std::unique_ptr<DnsService> s(new DnsService(base, clock, store, gossip, std::move(options)));
  ForwarderOptions fo;
  BASEFS_ASSIGN_OR_RETURN(fo.upstreams, s->Upstreams(s->opts_.recursors));
  BASEFS_ASSIGN_OR_RETURN(s->forwarder_, Forwarder::Create(base, clock, fo));
  BASEFS_ASSIGN_OR_RETURN(s->server_, DnsServer::Start(base, s->opts_.server, s->forwarder_.get()));
  DnsService* raw = s.get();
  s->health_ = std::make_unique<HealthChecker>(base, clock, [raw] {
    raw->PublishMeta();
    raw->ScheduleRebuild();
  });
  BASEFS_ASSIGN_OR_RETURN(s->worker_, LoopWorker::Start(base));
  BASEFS_ASSIGN_OR_RETURN(s->reaper_, LoopWorker::Start(base));
  s->PublishMeta();
  s->Rebuild(/*inline_build=*/true);  // answers from the first query on
  return s;
}

void DnsService::PublishMeta() {
  NodeMeta m;
  m.dns = server_->local_address();
  m.down = health_ ? health_->failing() : std::set<std::string>{};
  size_t dropped = 0;
  const std::string meta = FormatNodeMeta(m, &dropped);
  if (dropped) LogWarn("{} failing health checks do not fit the gossip meta; those instances stay in DNS", dropped);
  if (meta != meta_) {
    meta_ = meta;
    gossip_->SetMeta(meta);
  }
}

void DnsService::OnChange(const Change& c) {
  // A new directory holds no records yet (its files come as changes of
  // their own); anything else under the two trees may change answers.
  if (c.cause == Action::kMkdir) return;
  if (c.path.rfind("/services", 0) == 0 || c.path.rfind("/zones", 0) == 0 || c.path == "/.cluster" || c.path == "/")
    ScheduleRebuild();
}

void DnsService::OnMembership() { ScheduleRebuild(); }

void DnsService::ScheduleRebuild() {
  if (pending_) return;
  const uint64_t now = clock_->NowMs();
  // Space rebuilds by twice the last one's duration (at most 1 s): a storm
  // of changes (a sync, a bulk load) costs at most a third of the loop. A
  // change after a quiet moment is rebuilt at once.
  const uint64_t gap = std::min<uint64_t>(1000, last_duration_ms_ * 2);
  const uint64_t earliest = last_rebuild_ms_ + gap;
  pending_ = clock_->Schedule(earliest > now ? earliest - now : 0, [this] {
    pending_ = 0;
    Rebuild();
  });
}

struct DnsService::RebuildJob {
  // From the loop:
  ProjectionInput in;
  std::vector<BadFile> bad;
  const AnswerTable* current = nullptr;  // stays the served table until Finish
  std::map<std::string, uint32_t> serials;
  uint32_t now_s = 0;
  uint64_t start_ms = 0, collected_ms = 0;
  // From the worker:
  std::map<std::string, HealthCheck> checks;
  Result<std::unique_ptr<AnswerTable>> table = Invalid("not built");
  uint64_t project_us = 0, build_us = 0;
};

void DnsService::Rebuild(bool inline_build) {
  if (building_) {
    rebuild_again_ = true;  // Finish schedules it
    return;
  }
  auto job = std::make_shared<RebuildJob>();
  job->start_ms = clock_->NowMs();
  job->in.domain = "basefs.";
  if (auto text = store_->ReadFile("/.cluster"); text.ok())
    if (auto cc = ParseClusterConfig(*text); cc.ok()) job->in.domain = cc->domain;
  job->in.self_node = opts_.self_node;
  for (const Member& m : gossip_->Members()) {
    const NodeMeta meta = ParseNodeMeta(m.meta);
    job->in.members.push_back(MemberView{m.name, HostOf(m.addr),
                                         m.state == MemberState::kAlive || m.state == MemberState::kSuspect,
                                         IsZero(m.key) ? std::string() : ToBase64(m.key), meta.down});
  }
  job->in.shared_files = CollectSharedSources(*store_, &job->bad, &sources_);
  job->current = server_->table();
  job->serials = serials_;
  job->now_s = static_cast<uint32_t>(::time(nullptr));
  job->collected_ms = clock_->NowMs();
  building_ = true;
  if (inline_build) {
    Build(job.get(), /*test_delay=*/false);
    Finish(job.get());
    return;
  }
  worker_->Run([this, job] { Build(job.get(), /*test_delay=*/true); }, [this, job] { Finish(job.get()); });
}

// On the worker thread: touches only the job, cache_ and refused_scripts_.
void DnsService::Build(RebuildJob* job, bool test_delay) {
  const auto t0 = std::chrono::steady_clock::now();
  // Checks of the instances this node owns.
  for (const SharedSource& file : job->in.shared_files) {
    const SourceFile& f = *file;
    if (f.path.rfind("/services/", 0) != 0) continue;
    const size_t slash = f.path.find('/', 10);
    if (slash == std::string::npos) continue;
    const Result<ServiceInstance>& s = cache_.Service(f.content);
    if (!s.ok() || s->check.kind == HealthCheck::Kind::kNone) continue;
    const bool mine = s->node.empty() ? f.author == opts_.self_key : s->node == Lowercase(opts_.self_node);
    if (!mine) continue;
    const std::string id = InstanceId(f.path.substr(10, slash - 10), f.path.substr(slash + 1));
    // A script runs a command here: only this node's own key may ask for
    // that. Anyone granted some /services path may name this node.
    if (s->check.kind == HealthCheck::Kind::kScript && f.author != opts_.self_key) {
      if (refused_scripts_.size() > 1024) refused_scripts_.clear();  // bounded; at worst logged again
      if (refused_scripts_.insert(f.path + "\n" + f.content).second)
        LogWarn("not running the check script of {}: it was not written with this node's key", f.path);
      continue;
    }
    job->checks[id] = s->check;
  }
  job->in.cache = &cache_;
  Projection p = Project(job->in);
  cache_.Sweep();
  // Freed here, not on the loop that gets the job back.
  job->in = ProjectionInput{};
  for (BadFile& b : p.bad_files) job->bad.push_back(std::move(b));
  const auto t1 = std::chrono::steady_clock::now();
  std::vector<uint32_t> serials;
  for (const Zone& z : p.zones) {
    uint32_t& serial = job->serials[z.apex];
    const Zone* before = job->current ? job->current->source(z.apex) : nullptr;
    if (!before || !(*before == z)) serial = std::max(serial + 1, job->now_s);
    serials.push_back(serial);
  }
  job->table = AnswerTable::Build(std::move(p.zones), serials, job->current);
  if (test_delay && opts_.min_build_ms)
    std::this_thread::sleep_until(t0 + std::chrono::milliseconds(opts_.min_build_ms));
  const auto t2 = std::chrono::steady_clock::now();
  job->project_us = std::chrono::duration_cast<std::chrono::microseconds>(t1 - t0).count();
  job->build_us = std::chrono::duration_cast<std::chrono::microseconds>(t2 - t1).count();
}

void DnsService::Finish(RebuildJob* job) {
  building_ = false;
  health_->SetChecks(job->checks);
  serials_ = std::move(job->serials);
  bad_files_ = std::move(job->bad);
  if (!job->table.ok()) {
    LogError("cannot build DNS answers: {}", job->table.status().message());
  } else {
    std::shared_ptr<const AnswerTable> old =
        server_->SetTable(std::shared_ptr<const AnswerTable>(std::move(job->table).value()));
    // Freeing a large table takes as long as building one: not on the loop,
    // nor ahead of the next rebuild.
    if (old) reaper_->Run([old = std::move(old)]() mutable { old.reset(); }, nullptr);
  }
  ++rebuilds_;
  last_rebuild_ms_ = clock_->NowMs();
  last_duration_ms_ = last_rebuild_ms_ - job->start_ms;
  rebuild_seconds_.Observe(static_cast<double>(last_duration_ms_) / 1000);
  LogTrace("trace dns rebuild at {} collect {} ms, project {} ms, build {} ms, all {} ms ({} answers built)",
           WallClockUs(), job->collected_ms - job->start_ms, job->project_us / 1000, job->build_us / 1000,
           last_duration_ms_, server_->table() ? server_->table()->answers_built() : 0);
  if (rebuild_again_) {
    rebuild_again_ = false;
    ScheduleRebuild();
  }
}

// --recursor ADDR[:PORT] (port 53 by default), or those of
// /etc/resolv.conf when none is given and forwarding is on.
Result<std::vector<std::string>> DnsService::Upstreams(const std::vector<std::string>& recursors) const {
  std::vector<std::string> out = recursors;
  if (out.empty() && opts_.server.forward) {
    std::ifstream in("/etc/resolv.conf");
    std::stringstream ss;
    ss << in.rdbuf();
    out = ParseResolvConf(ss.str());
  }
  for (auto& u : out) {
    auto hp = ParseHostPort(u, {.default_port = 53});
    if (!hp.ok()) return Invalid("bad --recursor '" + u + "': " + hp.status().message());
    u = hp->ToString();
  }
  return out;
}

Status DnsService::SetRecursors(const std::vector<std::string>& recursors) {
  BASEFS_ASSIGN_OR_RETURN(std::vector<std::string> upstreams, Upstreams(recursors));
  BASEFS_RETURN_IF_ERROR(forwarder_->SetUpstreams(upstreams));
  opts_.recursors = recursors;
  return Status::Ok();
}

Status DnsService::SetRecursionAllow(const std::vector<std::string>& list) { return server_->SetRecursionAllow(list); }

nlohmann::ordered_json DnsService::StatusJson() const {
  const DnsCounters& c = server_->counters();
  const ForwarderCounters& f = forwarder_->counters();
  nlohmann::ordered_json zones = nlohmann::ordered_json::array();
  for (const auto& [apex, serial] : serials_) zones.push_back({{"zone", apex}, {"serial", serial}});
  return {{"address", server_->local_address()},
          {"zones", zones},
          {"names", server_->table() ? server_->table()->name_count() : 0},
          {"rebuilds", rebuilds_},
          {"rebuilding", building_},
          {"last_rebuild_ms", last_duration_ms_},
          {"health_checks", health_->check_count()},
          {"health_failing", health_->failing().size()},
          {"udp_queries", c.udp_queries},
          {"tcp_queries", c.tcp_queries},
          {"dropped", c.dropped},
          {"forwarded", c.forwarded},
          {"transfers", c.transfers},
          {"transfers_refused", c.transfers_refused},
          {"tcp_connections", c.tcp_connections},
          {"tcp_evicted", c.tcp_evicted},
          {"tcp_bad_length", c.tcp_bad_length},
          {"recursion_refused", c.recursion_refused},
          {"rate_limited_slipped", c.rate_limited_slipped},
          {"rate_limited_dropped", c.rate_limited_dropped},
          {"valid_cookies", c.valid_cookies},
          {"forward_cache_hits", f.cache_hits},
          {"forward_upstream_sent", f.upstream_sent},
          {"forward_upstream_timeouts", f.upstream_timeouts},
          {"forward_bad_replies", f.bad_replies},
          {"forward_servfail", f.servfail},
          {"forward_client_limited", f.client_limited}};
}

}  // namespace basefs
