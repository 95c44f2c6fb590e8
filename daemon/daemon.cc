#include "daemon/daemon.h"

#include <arpa/inet.h>
#include <event2/event.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <signal.h>
#include <sodium.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "cli/cluster_config.h"
#include "cli/keyfile.h"
#include "daemon/control_server.h"
#include "daemon/dns_service.h"
#include "daemon/event_seams.h"
#include "daemon/handler_runner.h"
#include "daemon/latency_hold.h"
#include "daemon/sync_service.h"
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

std::string PrimaryAddress() {
  ifaddrs* ifs = nullptr;
  std::string out = "127.0.0.1";
  if (getifaddrs(&ifs) != 0) return out;
  for (ifaddrs* i = ifs; i; i = i->ifa_next) {
    if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET) continue;
    const auto* a = reinterpret_cast<sockaddr_in*>(i->ifa_addr);
    if (ntohl(a->sin_addr.s_addr) >> 24 == 127) continue;
    char buf[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &a->sin_addr, buf, sizeof(buf));
    out = buf;
    break;
  }
  freeifaddrs(ifs);
  return out;
}

std::string HostOf(const std::string& hp) {
  if (!hp.empty() && hp[0] == '[') return hp.substr(0, hp.find(']') + 1);
  return hp.substr(0, hp.rfind(':'));
}
std::string PortOf(const std::string& hp) { return hp.substr(hp.rfind(':') + 1); }

// Wall-clock microseconds, for trace lines compared across processes.
uint64_t WallUs() {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count());
}

// Sockets of forwarded queries, TCP clients, sync sessions and LevelDB's
// table files all take descriptors; Linux's default soft limit (1,024) is
// low for that, the hard limit is the administrator's.
void RaiseDescriptorLimit() {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= rl.rlim_max) return;
  rl.rlim_cur = std::min<rlim_t>(rl.rlim_max, 65536);
  ::setrlimit(RLIMIT_NOFILE, &rl);
}

class Daemon : public DaemonHooks {
 public:
  Daemon(const Globals& g, const RunOptions& opts) : g_(g), opts_(opts) {}
  ~Daemon() override {
    // Members that hold callbacks into the loop go first.
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
    if (base_) event_base_free(base_);
  }

  Status Init() {
    BASEFS_RETURN_IF_ERROR(ValidateFsName(opts_.name));
    RaiseDescriptorLimit();
    BASEFS_ASSIGN_OR_RETURN(keyring_, LoadKeyring(opts_.cluster_key_file));
    const std::string fs_dir = FsDir(g_, opts_.name);
    struct stat st {};
    if (::stat(fs_dir.c_str(), &st) != 0) {
      if (!opts_.join.empty()) {
        // Not here yet: clone it from the first peer that answers.
        Status cloned = NotFound("no peer to clone from");
        for (const auto& peer : opts_.join) {
          cloned = CloneFilesystem(g_, opts_.name, peer, keyring_, std::cerr);
          if (cloned.ok()) break;
        }
        BASEFS_RETURN_IF_ERROR(cloned);
      } else {
        return NotFound("no filesystem '" + opts_.name + "' in " + g_.data_dir + "; create it with 'basefs bootstrap " +
                      opts_.name + "'");
      }
    }
    StoreOptions so;
    so.now_ms = [] {
      return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                       std::chrono::system_clock::now().time_since_epoch())
                                       .count());
    };
    auto store = Store::Open(fs_dir + "/log", so);
    if (!store.ok()) {
      if (store.status().code() == Code::kBusy)
        return Status(Code::kBusy, "a daemon already serves '" + opts_.name + "' from " + g_.data_dir);
      return store.status();
    }
    store_ = std::move(store).value();

    base_ = event_base_new();
    if (!base_) return IOError("cannot create the event loop");
    clock_ = std::make_unique<EventClock>(base_);
    BASEFS_ASSIGN_OR_RETURN(transport_, UdpTransport::Bind(base_, opts_.bind));

    std::string advertise = opts_.advertise;
    const std::string bound = transport_->local_address();
    if (advertise.empty()) {
      const std::string host = HostOf(bound);
      advertise = (host == "0.0.0.0" || host == "[::]") ? PrimaryAddress() + ":" + PortOf(bound) : bound;
    } else if (advertise.find(':') == std::string::npos || advertise.back() == ']') {
      advertise += ":" + PortOf(bound);
    }
    node_name_ = opts_.node_name;
    if (node_name_.empty()) {
      char host[256] = {};
      ::gethostname(host, sizeof(host) - 1);
      node_name_ = host;
    }
    if (node_name_.empty() || node_name_.size() > kMaxNodeNameBytes)
      return Invalid("node name must be 1..64 bytes (--node-name)");
    if (advertise.size() > kMaxAddressBytes) return Invalid("--advertise address longer than 64 bytes");
    if (opts_.dns.size() + 4 > kMaxMetaBytes) return Invalid("--dns address too long");

    GossipOptions go;
    go.node_name = node_name_;
    go.advertise_addr = advertise;
    sink_ = std::make_unique<StoreSink>(store_.get());
    gossip_ = std::make_unique<Gossip>(go, clock_.get(), transport_.get(), &random_, sink_.get(), keyring_);
    trace_ = std::getenv("BASEFS_TRACE") != nullptr;
    // One change listener for the store; each subsystem adds a watcher.
    store_->set_change_listener([this](const Change& c) {
      for (const auto& watch : change_watchers_) watch(c);
    });
    store_->set_entry_listener([this](const Hash& h, const std::string& bytes, bool local) {
      if (trace_) std::cerr << "trace entry " << ToHex(h) << (local ? " local " : " remote ") << WallUs() << std::endl;
      gossip_->Disseminate(bytes, store_->BlocksOf(h, 16), local, !store_->bulk());
    });
    gossip_->set_member_listener([this](const Member& m) {
      if (trace_) std::cerr << "trace member " << m.name << " " << MemberStateName(m.state) << " " << WallUs() << std::endl;
      const auto prev = last_state_.find(m.name);
      const bool returning = prev != last_state_.end() && prev->second == MemberState::kFailed;
      last_state_[m.name] = m.state;
      if (dns_) dns_->OnMembership();
      if (!sync_ || m.state != MemberState::kAlive) return;
      // A member back from failed may hold writes from its side of a
      // partition: reconcile with it at once. New members: at most one
      // session every two seconds (a whole cluster appears at join).
      const uint64_t now = clock_->NowMs();
      if (returning || now - last_join_sync_ms_ > 2000) {
        if (!returning) last_join_sync_ms_ = now;
        sync_->SyncWith(m.addr);
      }
    });

    BASEFS_ASSIGN_OR_RETURN(control_, ControlServer::Listen(base_, ControlSocketPath(g_, opts_.name),
                                                            [this](const ControlRequest& r) { return Handle(r); }));

    std::vector<std::string> seeds = opts_.join;
    if (auto text = store_->ReadFile("/.cluster"); text.ok()) {
      if (auto cc = ParseClusterConfig(*text); cc.ok())
        for (const auto& s : cc->seeds) seeds.push_back(s);
    }
    SyncServiceOptions sync_opts;
    sync_opts.keyring = keyring_;
    BASEFS_ASSIGN_OR_RETURN(sync_, SyncService::Start(base_, bound, store_.get(), sync_opts, [this] {
      return PickSyncPeer(gossip_->Members(), node_name_, random_.Next());
    }));
    DnsServiceOptions dns_opts;
    dns_opts.server.listen = opts_.dns;
    dns_opts.server.forward = !opts_.no_recursion;
    dns_opts.server.axfr_allow = opts_.axfr_allow;
    dns_opts.recursors = opts_.recursors;
    dns_opts.self_node = node_name_;
    if (auto key = LoadKey(KeyPath(g_)); key.ok()) dns_opts.self_key = ToBase64(key->public_key);
    // Test-only, like BASEFS_TEST_BLOCK_FILE: slow rebuilds.
    if (const char* ms = std::getenv("BASEFS_TEST_DNS_BUILD_MS")) dns_opts.min_build_ms = std::strtoull(ms, nullptr, 10);
    BASEFS_ASSIGN_OR_RETURN(dns_, DnsService::Start(base_, clock_.get(), store_.get(), gossip_.get(), dns_opts));
    change_watchers_.push_back([this](const Change& c) { dns_->OnChange(c); });
    gossip_->Start(seeds);
    advertise_ = advertise;

    BASEFS_RETURN_IF_ERROR(StartHandlersAndMount(bound));

    sigint_ = evsignal_new(base_, SIGINT, &Daemon::OnSignal, this);
    sigterm_ = evsignal_new(base_, SIGTERM, &Daemon::OnSignal, this);
    event_add(sigint_, nullptr);
    event_add(sigterm_, nullptr);
    ::signal(SIGPIPE, SIG_IGN);
    std::cerr << "basefs: serving '" << opts_.name << "' as " << node_name_ << " at " << advertise << " (bound "
              << bound << "), DNS on " << dns_->local_address() << std::endl;
    if (mount_) std::cerr << "basefs: mounted at " << mount_->dir() << std::endl;
    return Status::Ok();
  }

  int Loop() {
    event_base_dispatch(base_);
    return 0;
  }

  // DaemonHooks
  Store* StoreFor(const std::string& name) override { return name == opts_.name ? store_.get() : nullptr; }
  json Members() override {
    json rows = json::array();
    for (const Member& m : gossip_->Members())
      rows.push_back(json{{"name", m.name},
                          {"address", m.addr},
                          {"state", MemberStateName(m.state)},
                          {"incarnation", m.incarnation},
                          {"meta", m.meta}});
    return rows;
  }
  json StatusJson() override {
    const GossipCounters& c = gossip_->counters();
    json j{{"node_name", node_name_},
         {"gossip", advertise_},
         {"dns", dns_->local_address()},
         {"dns_server", dns_->StatusJson()},
         {"members_alive", gossip_->alive_count()},
         {"members", gossip_->Members().size()},
         {"pending_entries", store_->pending_count()},
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
           {"entries_in", c.entries_in},
           {"entries_new", c.entries_new},
           {"entries_rejected", c.entries_rejected}}}};
    // What the last DNS rebuild skipped (the command would compute it anew).
    j["bad_files"] = BadFilesJson(dns_->bad_files());
    if (latency_hold_) {
      j["fuse_latency_hold"] = opts_.latency_hold_ms == 0    ? "off"
                               : !latency_hold_->available() ? "unavailable"
                               : latency_hold_->held()       ? "held"
                                                             : "idle";
      j["fuse_latency_holds"] = latency_hold_->holds();
      j["fuse_latency_held_ms"] = latency_hold_->held_ms();
    }
    return j;
  }

 private:
  // Handlers (--handler) and the FUSE mount (--mount): both watch changes.
  Status StartHandlersAndMount(const std::string& bound) {
    BASEFS_ASSIGN_OR_RETURN(handlers_, HandlerRunner::Create(base_, opts_.name, opts_.handlers));
    change_watchers_.push_back(
        [this](const Change& c) { handlers_->OnChange(c.path, EventTypeFor(store_->view(), c)); });
    if (opts_.mount.empty()) return Status::Ok();
    std::optional<KeyPair> key;
    if (auto k = LoadKey(KeyPath(g_)); k.ok()) {
      key = *k;
    } else {
      std::cerr << "basefs: no key at " << KeyPath(g_) << " (" << k.status().message()
                << "): mounting read-only" << std::endl;
    }
    MountOptions mo;
    mo.dir = std::filesystem::absolute(opts_.mount).lexically_normal().string();
    if (mo.dir.size() > 1 && mo.dir.back() == '/') mo.dir.pop_back();
    mo.read_only = opts_.read_only;
    mo.data_dir = FsDir(g_, opts_.name);
    // Test-only, like BASEFS_TEST_BLOCK_FILE: a small budget for open-file
    // content, so a test reaches the over-budget read path with small files.
    if (const char* b = std::getenv("BASEFS_TEST_FUSE_BUFFER_BYTES")) mo.max_buffered_bytes = std::strtoull(b, nullptr, 10);
    const auto text = [](std::string s) { return s + "\n"; };
    const std::string public_key = key ? ToBase64(key->public_key) : "";
    mo.status_files = {
        {"members", [this] { return Members().dump(2) + "\n"; }},
        {"root_digest", [this, text] { return text(ToHex(store_->view().RootDigest())); }},
        {"public_key", [public_key, text] { return public_key.empty() ? "" : text(public_key); }},
        {"ports",
         [this, bound] {
           return json{{"gossip", bound}, {"sync", bound}, {"advertise", advertise_}, {"dns", dns_->local_address()},
                       {"metrics", opts_.metrics}}
                      .dump(2) +
                  "\n";
         }},
        {"status", [this] { return StatusJson().dump(2) + "\n"; }},
    };
    latency_hold_ = std::make_unique<LatencyHold>(
        clock_.get(), LatencyHold::Options{.period_ms = opts_.latency_hold_ms},
        opts_.latency_hold_ms ? CpuLatencyRequest() : nullptr);
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

  ControlResponse Handle(const ControlRequest& r) {
    std::ostringstream out, err;
    Io io{r.stdin_bytes, out, err};
    io.daemon = this;
    if (!r.key_secret.empty())
      io.client_key = KeyPairFromSecret(r.key_secret, "the key sent by the client");
    else
      io.client_key = Result<KeyPair>(PermissionDenied(r.key_error.empty() ? "the client sent no key" : r.key_error));
    ControlResponse resp;
    try {
      resp.exit_code = Execute(r.args, io);
    } catch (const std::exception& e) {
      resp.exit_code = 1;
      err << "basefs: internal error: " << e.what() << "\n";
    }
    resp.out = out.str();
    resp.err = err.str();
    return resp;
  }

  static void OnSignal(int, short, void* arg) {
    auto* self = static_cast<Daemon*>(arg);
    if (self->leaving_) return;
    self->leaving_ = true;
    std::cerr << "basefs: leaving the cluster" << std::endl;
    self->gossip_->Leave();
    // Give the leave notice a moment on the wire, then stop.
    timeval tv{0, 300000};
    event_base_loopexit(self->base_, &tv);
  }

  Globals g_;
  RunOptions opts_;
  std::string node_name_, advertise_;
  std::unique_ptr<Store> store_;
  event_base* base_ = nullptr;
  std::unique_ptr<EventClock> clock_;
  std::unique_ptr<UdpTransport> transport_;
  SystemRandom random_;
  Keyring keyring_;  // from --cluster-key: seals gossip and sync
  std::unique_ptr<StoreSink> sink_;
  std::unique_ptr<Gossip> gossip_;
  std::unique_ptr<ControlServer> control_;
  std::unique_ptr<SyncService> sync_;
  std::unique_ptr<DnsService> dns_;
  std::vector<std::function<void(const Change&)>> change_watchers_;
  std::unique_ptr<HandlerRunner> handlers_;
  std::unique_ptr<LatencyHold> latency_hold_;  // pokes come from mount_
  std::unique_ptr<FuseMount> mount_;
  std::map<std::string, MemberState> last_state_;
  uint64_t last_join_sync_ms_ = 0;
  event* sigint_ = nullptr;
  event* sigterm_ = nullptr;
  bool leaving_ = false;
  bool trace_ = false;  // BASEFS_TRACE: log entry arrivals and member changes (benchmarks)
};

}  // namespace

Result<Keyring> LoadKeyring(const std::string& path) {
  if (path.empty()) return Keyring();
  std::ifstream in(path);
  if (!in) return NotFound("cannot read cluster key file " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return Keyring::Parse(ss.str());
}

Status CloneFilesystem(const Globals& g, const std::string& name, const std::string& addr, const Keyring& keyring,
                       std::ostream& progress) {
  BASEFS_RETURN_IF_ERROR(ValidateFsName(name));
  const std::string fs_dir = FsDir(g, name);
  StoreOptions so;
  so.now_ms = [] {
    return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count());
  };
  ::signal(SIGPIPE, SIG_IGN);
  std::unique_ptr<Store> store;
  struct stat st {};
  const bool existed = ::stat(fs_dir.c_str(), &st) == 0;
  if (existed) {
    // Resume an interrupted clone (or refresh a copy): a normal session.
    BASEFS_ASSIGN_OR_RETURN(store, Store::Open(fs_dir + "/log", so));
  }
  event_base* base = event_base_new();
  std::unique_ptr<SyncSession> session;
  if (store) {
    session = std::make_unique<SyncSession>(store.get());
  } else {
    session = std::make_unique<SyncSession>(nullptr, SyncOptions(), [&](std::string_view genesis) -> Result<Store*> {
      auto g_entry = DecodeEntry(genesis, kMaxRemoteFileBytes);
      if (g_entry.ok() && g_entry->name != name)
        return Invalid("the peer at " + addr + " serves '" + g_entry->name + "', not '" + name + "'");
      std::error_code ec;
      std::filesystem::create_directories(fs_dir, ec);
      if (ec) return IOError("cannot create " + fs_dir + ": " + ec.message());
      BASEFS_ASSIGN_OR_RETURN(store, Store::CreateReplica(fs_dir + "/log", genesis, so));
      return store.get();
    });
  }
  const bool tty = ::isatty(2);
  uint64_t last_report = 0;
  session->set_progress([&](const SyncStats& s) {
    if (tty) {
      progress << "\rcloning '" << name << "' from " << addr << ": " << s.entries_new << " entries, "
               << s.blocks_received << " blocks, " << s.bytes_in / 1024 << " KiB" << std::flush;
    } else if (s.entries_new >= last_report + 1000) {
      last_report = s.entries_new;
      progress << "cloning '" << name << "': " << s.entries_new << " entries, " << s.blocks_received << " blocks"
               << std::endl;
    }
  });
  Status result = IOError("sync did not finish");
  SyncServiceOptions opts;
  opts.keyring = keyring;
  auto conn = ConnectSync(base, addr, std::move(session), opts, [&](SyncConnection*, const Status& s) {
    result = s;
    event_base_loopbreak(base);
  });
  if (!conn.ok()) {
    event_base_free(base);
    return conn.status();
  }
  event_base_dispatch(base);
  const SyncStats stats = (*conn)->session().stats();
  conn->reset();
  event_base_free(base);
  if (tty) progress << "\n";
  if (!store) {
    if (!existed) {
      std::error_code ec;
      std::filesystem::remove_all(fs_dir, ec);  // nothing half-done: no genesis came
    }
    return result.ok() ? IOError("the peer at " + addr + " sent no filesystem") : result;
  }
  if (!result.ok())
    return Status(result.code(), result.message() + "; " + std::to_string(stats.entries_new) +
                                     " entries kept: run 'basefs get' again to resume");
  progress << "cloned '" << name << "' from " << addr << ": " << store->view().entry_count() << " entries, "
           << store->log().block_count() << " blocks, root digest " << ToHex(store->view().RootDigest()) << std::endl;
  return Status::Ok();
}

int RunDaemon(const Globals& g, const RunOptions& opts) {
  ::signal(SIGPIPE, SIG_IGN);  // a peer or client that goes away must not kill us
  Daemon d(g, opts);
  Status st = d.Init();
  if (!st.ok()) {
    std::cerr << "basefs: " << st.message() << "\n";
    return 1;
  }
  return d.Loop();
}

}  // namespace basefs
