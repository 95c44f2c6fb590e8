#include "daemon/daemon.h"

#include <signal.h>
#include <sodium.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <iostream>
#include <optional>
#include <set>

#include <event2/event.h>
#include <systemd/sd-daemon.h>

#include "base/cluster_config.h"
#include "base/host_port.h"
#include "base/keyfile.h"
#include "base/log.h"
#include "base/wall_clock.h"
#include "daemon/api_backend.h"
#include "daemon/clone.h"
#include "daemon/control_server.h"
#include "daemon/dns_service.h"
#include "daemon/event_seams.h"
#include "daemon/handler_runner.h"
#include "daemon/http_api.h"
#include "daemon/latency_hold.h"
#include "daemon/member_sync.h"
#include "daemon/metrics.h"
#include "daemon/node_identity.h"
#include "daemon/sync_service.h"
#include "daemon/watchers.h"
#include "fuse/fuse_mount.h"
#include "replicate/gossip.h"
#include "replicate/store_sink.h"
#include "replicate/sync_peer.h"

namespace basefs {
namespace {

using json = nlohmann::ordered_json;

class SystemRandom : public Random {
 public:
  uint64_t Next() override {
    uint64_t v;
    randombytes_buf(&v, sizeof(v));
    return v;
  }
};

// Sockets of forwarded queries, TCP clients, sync sessions and LevelDB's
// table files all take descriptors; Linux's default soft limit (1,024) is
// low for that, the hard limit is the administrator's.
void RaiseDescriptorLimit() {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= rl.rlim_max) return;
  rl.rlim_cur = std::min<rlim_t>(rl.rlim_max, 65536);
  ::setrlimit(RLIMIT_NOFILE, &rl);
}

// The store of `name`, cloned first from the first --join peer that
// answers when the data directory does not have it yet.
Result<std::unique_ptr<Store>> OpenOrCloneStore(const DaemonOptions& o, const Keyring& keyring) {
  struct stat st {};
  if (::stat(o.data_dir.FsDir(o.name).c_str(), &st) != 0) {
    if (o.node.join.empty())
      return NotFound("no filesystem '" + o.name + "' in " + o.data_dir.root + "; create it with 'basefs bootstrap " +
                      o.name + "'");
    Status cloned = NotFound("no peer to clone from");
    for (const auto& peer : o.node.join) {
      cloned = CloneFilesystem(o.data_dir, o.name, peer, keyring, std::cerr);
      if (cloned.ok()) break;
    }
    BASEFS_RETURN_IF_ERROR(cloned);
  }
  StoreOptions so;
  so.now_ms = WallClockMs;
  auto store = Store::Open(o.data_dir.LogDir(o.name), so);
  if (!store.ok() && store.status().code() == Code::kBusy)
    return Status(Code::kBusy, "a daemon already serves '" + o.name + "' from " + o.data_dir.root);
  return store;
}

// Composes the subsystems on one loop. Each Start* step builds one from
// the options and wires it to those built before; the destructor takes
// them down in reverse.
class Daemon : public DaemonHooks {
 public:
  Daemon(DaemonOptions opts, CommandRunner run_command, OptionsSource reload)
      : opts_(std::move(opts)), run_command_(std::move(run_command)), reload_(std::move(reload)) {}
  ~Daemon() override {
    // Members that hold callbacks into the loop go first.
    http_.reset();
    metrics_.reset();
    mount_.reset();
    latency_hold_.reset();
    handlers_.reset();
    control_.reset();
    dns_.reset();
    sync_.reset();
    gossip_.reset();
    transport_.reset();
    clock_.reset();
    if (sigint_) event_free(sigint_);
    if (sigterm_) event_free(sigterm_);
    if (sighup_) event_free(sighup_);
    if (base_) event_base_free(base_);
  }

  Status Init() {
    BASEFS_RETURN_IF_ERROR(ValidateFsName(opts_.name));
    RaiseDescriptorLimit();
    BASEFS_ASSIGN_OR_RETURN(keyring_, LoadKeyring(opts_.node.cluster_key_file));
    BASEFS_ASSIGN_OR_RETURN(store_, OpenOrCloneStore(opts_, keyring_));
    // One change listener for the store; each subsystem adds a watcher.
    store_->set_change_listener([this](const Change& c) {
      last_change_ = std::chrono::steady_clock::now();
      for (const auto& watch : change_watchers_) watch(c);
    });
    base_ = event_base_new();
    if (!base_) return IOError("cannot create the event loop");
    clock_ = std::make_unique<EventClock>(base_);
    BASEFS_RETURN_IF_ERROR(BindGossipAndSync());
    BASEFS_RETURN_IF_ERROR(StartGossip());
    BASEFS_ASSIGN_OR_RETURN(control_, ControlServer::Listen(base_, opts_.data_dir.ControlSocket(opts_.name),
                                                            [this](const ControlRequest& r, ControlServer::Reply reply,
                                                                   ControlServer::Stream stream) {
                                                              Handle(r, std::move(reply), std::move(stream));
                                                            }));
    change_watchers_.push_back([this](const Change& c) { watchers_.OnChange(c); });
    BASEFS_RETURN_IF_ERROR(StartDns());
    gossip_->Start(Seeds());
    BASEFS_RETURN_IF_ERROR(StartHandlers());
    BASEFS_RETURN_IF_ERROR(StartMount());
    BASEFS_RETURN_IF_ERROR(StartMetrics());
    BASEFS_RETURN_IF_ERROR(StartHttp());
    sigint_ = evsignal_new(base_, SIGINT, &Daemon::OnSignal, this);
    sigterm_ = evsignal_new(base_, SIGTERM, &Daemon::OnSignal, this);
    event_add(sigint_, nullptr);
    event_add(sigterm_, nullptr);
    sighup_ = evsignal_new(base_, SIGHUP, &Daemon::OnHangup, this);
    event_add(sighup_, nullptr);
    LogInfo("serving '{}' as {} at {} (bound {}), DNS on {}", opts_.name, node_name_, advertise_, bound_,
            dns_->local_address());
    if (mount_) LogInfo("mounted at {}", mount_->dir());
    if (metrics_) LogInfo("metrics on http://{}/metrics", metrics_->local_address());
    if (http_) LogInfo("HTTP API on http://{}/v1/", http_->local_address());
    // systemd (Type=notify): gossip, sync, DNS and the mount are up. A
    // no-op without $NOTIFY_SOCKET.
    sd_notifyf(0, "READY=1\nSTATUS=serving '%s' as %s, DNS on %s", opts_.name.c_str(), node_name_.c_str(),
               dns_->local_address().c_str());
    return Status::Ok();
  }

  int Loop() {
    event_base_dispatch(base_);
    return 0;
  }

  // DaemonHooks
  Store* StoreFor(const std::string& name) override { return name == opts_.name ? store_.get() : nullptr; }
  json Members() override;
  json StatusJson() override;
  void RotateKeyring(KeyringOp op, const ClusterKey& key,
                     std::function<ControlResponse(const KeyringResult&)> format) override;

 private:
  Status BindGossipAndSync();
  Status StartGossip();
  Status StartDns();
  Status StartHandlers();
  Status StartMount();
  Status StartMetrics();
  Status StartHttp();
  std::string RenderNodeMetrics();
  // The view, membership or health changed: what the API shows may differ.
  void ApiChanged() {
    if (!http_) return;
    api_backend_->Invalidate();
    http_->OnChange(WallClockMs());
  }
  std::vector<std::string> Seeds() const;
  // The keys holding a grant in the view (the root key included), computed
  // again after a change to grants (--members-need-grant).
  const std::set<PublicKey>& GrantedKeys();
  std::vector<StatusFile> MountStatusFiles(const std::optional<KeyPair>& key);
  void Handle(const ControlRequest& r, ControlServer::Reply reply, ControlServer::Stream stream);
  void Watch(const std::string& path, std::function<std::string(const Change&)> format) override;
  // While a command runs: its reply and stream, and whether it answers later.
  ControlServer::Reply current_reply_;
  ControlServer::Stream current_stream_;
  bool deferred_ = false;
  static void OnSignal(int, short, void* arg);
  static void OnHangup(int, short, void* arg) { static_cast<Daemon*>(arg)->Reload(); }
  void Reload();

  DaemonOptions opts_;  // as running: a reload updates the parts it applies
  const CommandRunner run_command_;
  const OptionsSource reload_;
  std::string node_name_, advertise_, bound_;
  std::unique_ptr<Store> store_;
  event_base* base_ = nullptr;
  std::unique_ptr<EventClock> clock_;
  std::unique_ptr<UdpTransport> transport_;
  SystemRandom random_;
  Keyring keyring_;  // from --cluster-key: seals gossip and sync
  std::optional<std::set<PublicKey>> granted_keys_;
  std::unique_ptr<StoreSink> sink_;
  std::unique_ptr<Gossip> gossip_;
  MemberSyncPolicy member_sync_;
  std::unique_ptr<ControlServer> control_;
  Watchers watchers_;  // `basefs watch` streams, on control_'s clients
  std::unique_ptr<SyncService> sync_;
  std::unique_ptr<DnsService> dns_;
  std::vector<std::function<void(const Change&)>> change_watchers_;
  std::unique_ptr<HandlerRunner> handlers_;
  std::unique_ptr<LatencyHold> latency_hold_;  // pokes come from mount_
  std::unique_ptr<FuseMount> mount_;
  std::unique_ptr<MetricsServer> metrics_;
  std::unique_ptr<NodeApiBackend> api_backend_;
  std::unique_ptr<HttpApi> http_;
  std::chrono::steady_clock::time_point last_change_ = std::chrono::steady_clock::now();
  event* sigint_ = nullptr;
  event* sigterm_ = nullptr;
  event* sighup_ = nullptr;
  bool leaving_ = false;
};

// Gossip (UDP) and sync (TCP) on one port. With port 0 the kernel picks
// a free UDP port, whose TCP twin may be taken (by any connection's local
// port): then both are bound again on another.
Status Daemon::BindGossipAndSync() {
  constexpr int kMaxAttempts = 8;
  BASEFS_ASSIGN_OR_RETURN(HostPort requested, ParseHostPort(opts_.node.bind, {.allow_port_zero = true}));
  for (int attempt = 1;; ++attempt) {
    BASEFS_ASSIGN_OR_RETURN(transport_, UdpTransport::Bind(base_, opts_.node.bind));
    bound_ = transport_->local_address();
    SyncServiceOptions sync_opts;
    sync_opts.keyring = keyring_;
    auto sync = SyncService::Start(base_, bound_, store_.get(), sync_opts,
                                   [this] { return PickSyncPeer(gossip_->Members(), node_name_, random_.Next()); });
    if (sync.ok()) {
      sync_ = std::move(sync).value();
      return Status::Ok();
    }
    if (requested.port != 0 || sync.status().code() != Code::kBusy || attempt == kMaxAttempts) return sync.status();
    transport_.reset();
  }
}

// Gossip: membership and the dissemination of new entries.
Status Daemon::StartGossip() {
  BASEFS_ASSIGN_OR_RETURN(node_name_, ChooseNodeName(opts_.node.node_name, kMaxNodeNameBytes));
  SetLogNode(node_name_);
  BASEFS_ASSIGN_OR_RETURN(advertise_, ChooseAdvertise(opts_.node.advertise, bound_, PrimaryIpv4Address()));
  if (advertise_.size() > kMaxAddressBytes) return Invalid("--advertise address longer than 64 bytes");
  if (opts_.dns.listen.size() + 4 > kMaxMetaBytes) return Invalid("--dns address too long");
  GossipOptions go;
  go.node_name = node_name_;
  go.advertise_addr = advertise_;
  // The node key signs this node's membership statements (and its writes).
  BASEFS_ASSIGN_OR_RETURN(go.node_key, LoadOrCreateKey(opts_.data_dir.KeyPath()));
  if (opts_.node.members_need_grant) {
    go.admit = [this](const PublicKey& key) { return GrantedKeys().count(key) > 0; };
    change_watchers_.push_back([this](const Change& c) {
      if (c.cause == Action::kGrant || c.cause == Action::kRevoke || c.cause == Action::kDelete ||
          c.cause == Action::kRevert) {
        granted_keys_.reset();
        if (gossip_) gossip_->Recheck();
      }
    });
  }
  sink_ = std::make_unique<StoreSink>(store_.get());
  gossip_ = std::make_unique<Gossip>(go, clock_.get(), transport_.get(), &random_, sink_.get(), keyring_);
  store_->set_entry_listener([this](const Hash& h, const std::string& bytes, bool local) {
    LogTrace("trace entry {}{}{}", ToHex(h), local ? " local " : " remote ", WallClockUs());
    gossip_->Disseminate(bytes, store_->BlocksOf(h, 16), local, !store_->bulk());
  });
  // A rotation step (or catching up with one): the key file first, so a
  // restart keeps the keys the cluster now uses; then sync's new sessions.
  gossip_->set_keyring_listener([this](const Keyring& ring) {
    BASEFS_RETURN_IF_ERROR(SaveKeyring(opts_.node.cluster_key_file, ring));
    keyring_ = ring;
    if (sync_) sync_->SetKeyring(ring);
    LogInfo("cluster keyring: {} keys, generation {}, written to {}", ring.keys().size(), ring.generation(),
            opts_.node.cluster_key_file);
    return Status::Ok();
  });
  gossip_->set_member_listener([this](const Member& m) {
    LogTrace("trace member {} {} {}", m.name, MemberStateName(m.state), WallClockUs());
    if (dns_) dns_->OnMembership();
    ApiChanged();
    if (sync_ && member_sync_.OnMember(m.name, m.state, clock_->NowMs())) sync_->SyncWith(m.addr);
  });
  return Status::Ok();
}

// --join, then the seeds of /.cluster.
const std::set<PublicKey>& Daemon::GrantedKeys() {
  if (!granted_keys_) {
    std::set<PublicKey> keys;
    const View& v = store_->view();
    if (v.has_genesis()) {
      keys.insert(v.root_key());
      std::vector<const PathNode*> stack{v.root()};
      while (!stack.empty()) {
        const PathNode* n = stack.back();
        stack.pop_back();
        for (const auto& [key, granted] : n->grants())
          if (granted) keys.insert(key);
        for (const auto& [name, child] : n->children()) stack.push_back(child.get());
      }
    }
    granted_keys_ = std::move(keys);
  }
  return *granted_keys_;
}

std::vector<std::string> Daemon::Seeds() const {
  std::vector<std::string> seeds = opts_.node.join;
  if (auto text = store_->ReadFile("/.cluster"); text.ok()) {
    if (auto cc = ParseClusterConfig(*text); cc.ok())
      for (const auto& s : cc->seeds) seeds.push_back(s);
  }
  return seeds;
}

// DNS: the server, its forwarder and the answer tables kept equal to the
// projection of the view and membership.
Status Daemon::StartDns() {
  DnsServiceOptions dns_opts;
  dns_opts.server.listen = opts_.dns.listen;
  dns_opts.server.forward = !opts_.dns.no_recursion;
  dns_opts.server.axfr_allow = opts_.dns.axfr_allow;
  dns_opts.server.recursion_allow = opts_.dns.recursion_allow;
  dns_opts.server.rate_limit.responses_per_second = static_cast<uint32_t>(opts_.dns.rate_limit);
  dns_opts.recursors = opts_.dns.recursors;
  dns_opts.self_node = node_name_;
  if (auto key = LoadKey(opts_.data_dir.KeyPath()); key.ok()) dns_opts.self_key = ToBase64(key->public_key);
  // Test-only, like BASEFS_TEST_BLOCK_FILE: slow rebuilds.
  if (const char* ms = std::getenv("BASEFS_TEST_DNS_BUILD_MS")) dns_opts.min_build_ms = std::strtoull(ms, nullptr, 10);
  BASEFS_ASSIGN_OR_RETURN(dns_, DnsService::Start(base_, clock_.get(), store_.get(), gossip_.get(), dns_opts));
  change_watchers_.push_back([this](const Change& c) { dns_->OnChange(c); });
  return Status::Ok();
}

// Change handlers (--handler): a process per change under their globs.
Status Daemon::StartHandlers() {
  BASEFS_ASSIGN_OR_RETURN(handlers_, HandlerRunner::Create(base_, opts_.name, opts_.handlers));
  change_watchers_.push_back([this](const Change& c) { handlers_->OnChange(c.path, EventTypeFor(store_->view(), c)); });
  return Status::Ok();
}

// The FUSE mount (--mount), with the CPU latency hold its bursts take.
Status Daemon::StartMount() {
  if (opts_.mount.dir.empty()) return Status::Ok();
  std::optional<KeyPair> key;
  if (auto k = LoadKey(opts_.data_dir.KeyPath()); k.ok()) {
    key = *k;
  } else {
    LogWarn("no key at {} ({}): mounting read-only", opts_.data_dir.KeyPath(), k.status().message());
  }
  MountOptions mo;
  BASEFS_ASSIGN_OR_RETURN(mo.owner, Owner::Parse(opts_.mount.owner, opts_.mount.umask));
  std::string why;
  mo.allow_other = AllowOtherPossible(&why);
  if (!mo.allow_other) LogWarn("{}", why);
  mo.dir = std::filesystem::absolute(opts_.mount.dir).lexically_normal().string();
  if (mo.dir.size() > 1 && mo.dir.back() == '/') mo.dir.pop_back();
  mo.read_only = opts_.mount.read_only;
  mo.data_dir = opts_.data_dir.FsDir(opts_.name);
  // Test-only, like BASEFS_TEST_BLOCK_FILE: a small budget for open-file
  // content, so a test reaches the over-budget read path with small files.
  if (const char* b = std::getenv("BASEFS_TEST_FUSE_BUFFER_BYTES"))
    mo.max_buffered_bytes = std::strtoull(b, nullptr, 10);
  mo.status_files = MountStatusFiles(key);
  const uint64_t hold_ms = opts_.mount.latency_hold_ms;
  latency_hold_ = std::make_unique<LatencyHold>(clock_.get(), LatencyHold::Options{.period_ms = hold_ms},
                                                hold_ms ? CpuLatencyRequest() : nullptr);
  mo.on_request = [this] { latency_hold_->OnRequest(); };
  BASEFS_ASSIGN_OR_RETURN(mount_, FuseMount::Mount(base_, store_.get(), key, std::move(mo), [this] {
                            // Unmounted from outside: the node stops as on SIGTERM.
                            OnSignal(0, 0, this);
                          }));
  // (Null while the mount is being destroyed: its shutdown pump still
  // answers requests, and a flush it answers stores a change.)
  change_watchers_.push_back([this](const Change& c) {
    if (mount_) mount_->OnChange(c);
  });
  return Status::Ok();
}

// Prometheus text on --metrics ADDR:PORT, GET /metrics.
Status Daemon::StartMetrics() {
  if (opts_.metrics.empty()) return Status::Ok();
  BASEFS_ASSIGN_OR_RETURN(metrics_, MetricsServer::Start(base_, opts_.metrics, [this] { return RenderNodeMetrics(); }));
  return Status::Ok();
}

std::string Daemon::RenderNodeMetrics() {
  MetricsSources s;
  s.store = store_.get();
  s.gossip = gossip_.get();
  s.sync = sync_.get();
  s.dns = dns_.get();
  s.handlers = handlers_.get();
  s.mount = mount_.get();
  s.latency_hold = latency_hold_.get();
  s.http = http_.get();
  s.root_digest_age_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - last_change_).count();
  return RenderMetrics(s);
}

// The Consul-compatible HTTP API on --http ADDR:PORT.
Status Daemon::StartHttp() {
  if (opts_.http.listen.empty()) return Status::Ok();
  NodeApiSources src;
  src.store = store_.get();
  src.gossip = gossip_.get();
  src.dns = dns_.get();
  src.self = node_name_;
  src.datacenter = opts_.name;
  src.version = opts_.version;
  if (auto k = LoadKey(opts_.data_dir.KeyPath()); k.ok()) src.key = *k;
  src.metrics = [this] { return RenderNodeMetrics(); };
  src.wall_ms_at = [this](uint64_t mono_ms) {
    const uint64_t now = clock_->NowMs(), wall = WallClockMs();
    return mono_ms >= now ? wall : wall - std::min(wall, now - mono_ms);
  };
  api_backend_ = std::make_unique<NodeApiBackend>(std::move(src));
  HttpApiOptions ho;
  ho.listen = opts_.http.listen;
  ho.token = opts_.http.token;
  ho.open_reads = opts_.http.open_reads;
  BASEFS_ASSIGN_OR_RETURN(http_, HttpApi::Start(base_, clock_.get(), ho, api_backend_.get(), WallClockMs()));
  change_watchers_.push_back([this](const Change&) { ApiChanged(); });
  dns_->set_health_listener([this] { ApiChanged(); });
  return Status::Ok();
}

// The files of `.basefs/` at the mount's root.
std::vector<StatusFile> Daemon::MountStatusFiles(const std::optional<KeyPair>& key) {
  const auto line = [](std::string s) { return s + "\n"; };
  const std::string public_key = key ? ToBase64(key->public_key) : "";
  return {
      {"members", [this] { return Members().dump(2) + "\n"; }},
      {"root_digest", [this, line] { return line(ToHex(store_->view().RootDigest())); }},
      {"public_key", [public_key, line] { return public_key.empty() ? "" : line(public_key); }},
      {"ports",
       [this] {
         return json{{"gossip", bound_},
                     {"sync", bound_},
                     {"advertise", advertise_},
                     {"dns", dns_->local_address()},
                     {"metrics", metrics_ ? metrics_->local_address() : ""},
                     {"http", http_ ? http_->local_address() : ""}}
                    .dump(2) +
                "\n";
       }},
      {"status", [this] { return StatusJson().dump(2) + "\n"; }},
  };
}

json Daemon::Members() {
  json rows = json::array();
  for (const Member& m : gossip_->Members())
    rows.push_back(json{{"name", m.name},
                        {"address", m.addr},
                        {"state", MemberStateName(m.state)},
                        {"incarnation", m.incarnation},
                        {"key", IsZero(m.key) ? std::string() : ToBase64(m.key)},
                        {"meta", m.meta}});
  return rows;
}

json Daemon::StatusJson() {
  const GossipCounters& c = gossip_->counters();
  json j{{"node_name", node_name_},
         {"gossip", advertise_},
         {"dns", dns_->local_address()},
         {"dns_server", dns_->StatusJson()},
         {"members_alive", gossip_->alive_count()},
         {"members", gossip_->Members().size()},
         {"pending_entries", store_->pending_count()},
         {"watches", watchers_.size()},
         {"sync_sessions_completed", sync_->sessions_completed()},
         {"sync_sessions_failed", sync_->sessions_failed()},
         {"sync_sessions_refused", sync_->sessions_refused()},
         {"counters",
          {{"datagrams_in", c.datagrams_in},
           {"datagrams_out", c.datagrams_out},
           {"bytes_in", c.bytes_in},
           {"bytes_out", c.bytes_out},
           {"dropped_malformed", c.dropped_malformed},
           {"dropped_unauthenticated", c.dropped_unauthenticated},
           {"unverified_in", c.unverified_in},
           {"dropped_old_version", c.dropped_old_version},
           {"dropped_bad_signature", c.dropped_bad_signature},
           {"dropped_wrong_key", c.dropped_wrong_key},
           {"dropped_not_admitted", c.dropped_not_admitted},
           {"dropped_unverifiable", c.dropped_unverifiable},
           {"claims_refuted", c.claims_refuted},
           {"entries_in", c.entries_in},
           {"entries_new", c.entries_new},
           {"entries_rejected", c.entries_rejected},
           {"blocks_in", c.blocks_in},
           {"wants_sent", c.wants_sent},
           {"wants_served", c.wants_served}}}};
  // What the last DNS rebuild skipped (the command would compute it anew).
  j["bad_files"] = BadFilesJson(dns_->bad_files());
  if (metrics_) j["metrics"] = metrics_->local_address();
  if (http_) {
    const HttpApiCounters& h = http_->counters();
    j["http"] = json{{"address", http_->local_address()},
                     {"index", http_->index()},
                     {"requests", h.requests},
                     {"held", http_->held()},
                     {"unauthorized", h.unauthorized}};
  }
  if (latency_hold_) {
    j["fuse_latency_hold"] = opts_.mount.latency_hold_ms == 0 ? "off"
                             : !latency_hold_->available()    ? "unavailable"
                             : latency_hold_->held()          ? "held"
                                                              : "idle";
    j["fuse_latency_holds"] = latency_hold_->holds();
    j["fuse_latency_held_ms"] = latency_hold_->held_ms();
  }
  return j;
}

void Daemon::Handle(const ControlRequest& r, ControlServer::Reply reply, ControlServer::Stream stream) {
  ControlResponse resp;
  current_reply_ = reply;
  current_stream_ = std::move(stream);
  deferred_ = false;
  try {
    resp = run_command_(r, *this);
  } catch (const std::exception& e) {
    // A command must never take the daemon down.
    resp = ControlResponse{1, "", std::string("basefs: internal error: ") + e.what() + "\n"};
    deferred_ = false;
  }
  current_reply_ = nullptr;
  current_stream_ = {};
  if (!deferred_) reply(resp);
  deferred_ = false;
}

void Daemon::Watch(const std::string& path, std::function<std::string(const Change&)> format) {
  deferred_ = true;
  watchers_.Add(path, std::move(format), current_reply_, current_stream_);
}

void Daemon::RotateKeyring(KeyringOp op, const ClusterKey& key,
                           std::function<ControlResponse(const KeyringResult&)> format) {
  deferred_ = true;
  gossip_->ChangeKeyring(op, key, [reply = current_reply_, format = std::move(format)](const KeyringResult& result) {
    reply(format(result));
  });
}

// SIGHUP: the log level, the handlers, the recursors and recursion-allow from the options
// read anew; every other change waits for a restart, and says so. Nothing
// else stops or restarts: no query, member or mount is dropped.
void Daemon::Reload() {
  if (!reload_) {
    LogWarn("SIGHUP: started without --config, nothing to reload");
    return;
  }
  auto next = reload_();
  if (!next.ok()) {
    LogError("reload failed, the running configuration stays: {}", next.status().message());
    return;
  }
  if (auto level = ParseLogLevel(next->log_level); level.ok() && next->log_level != opts_.log_level) {
    SetLogLevel(*level);
    opts_.log_level = next->log_level;
  }
  if (next->handlers != opts_.handlers) {
    if (Status st = handlers_->SetSpecs(next->handlers); !st.ok()) {
      LogError("reload: handlers unchanged: {}", st.message());
    } else {
      opts_.handlers = next->handlers;
    }
  }
  if (next->dns.recursors != opts_.dns.recursors) {
    if (Status st = dns_->SetRecursors(next->dns.recursors); !st.ok()) {
      LogError("reload: recursors unchanged: {}", st.message());
    } else {
      opts_.dns.recursors = next->dns.recursors;
    }
  }
  if (next->dns.recursion_allow != opts_.dns.recursion_allow) {
    if (Status st = dns_->SetRecursionAllow(next->dns.recursion_allow); !st.ok()) {
      LogError("reload: recursion-allow unchanged: {}", st.message());
    } else {
      opts_.dns.recursion_allow = next->dns.recursion_allow;
    }
  }
  for (const OptionSpec& spec : RunOptionSpecs()) {
    const bool same = std::visit([&](auto field) { return *field(*next) == *field(opts_); }, spec.field);
    if (!same) LogWarn("reload: {} changed; it takes effect at the next start", spec.name);
  }
  LogInfo("reloaded: log level {}, {} handlers, {} recursors", opts_.log_level, opts_.handlers.size(),
          opts_.dns.recursors.size());
}

void Daemon::OnSignal(int, short, void* arg) {
  auto* self = static_cast<Daemon*>(arg);
  if (self->leaving_) return;
  self->leaving_ = true;
  LogInfo("leaving the cluster");
  sd_notify(0, "STOPPING=1\nSTATUS=leaving the cluster");
  self->gossip_->Leave();
  // Give the leave notice a moment on the wire, then stop.
  timeval tv{0, 300000};
  event_base_loopexit(self->base_, &tv);
}

}  // namespace

json BadFilesJson(const std::vector<BadFile>& bad) {
  json out = json::array();
  for (const auto& b : bad) out.push_back(json{{"path", b.path}, {"reason", b.reason}});
  return out;
}

int RunDaemon(const DaemonOptions& options, CommandRunner run_command, OptionsSource reload) {
  ::signal(SIGPIPE, SIG_IGN);  // a peer or client that goes away must not kill us
  auto level = ParseLogLevel(options.log_level);
  if (!level.ok()) {
    std::cerr << "basefs: " << level.status().message() << "\n";
    return 1;
  }
  // BASEFS_TRACE (the benchmarks' switch): entry arrivals and member changes.
  SetLogLevel(std::getenv("BASEFS_TRACE") ? LogLevel::kTrace : *level);
  Daemon d(options, std::move(run_command), std::move(reload));
  Status st = d.Init();
  if (!st.ok()) {
    std::cerr << "basefs: " << st.message() << "\n";
    return 1;
  }
  return d.Loop();
}

}  // namespace basefs
