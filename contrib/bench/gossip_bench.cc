// gossip_bench: basefs daemons against HashiCorp Serf agents, side by side,
// on loopback, with the same workload and the same measurements:
//
//   join      time from starting the last node until every node knows all N
//   write     a write (basefs: a file; Serf: a user event) on one node until
//             it is delivered on each other node: p50/p99/max over all
//             (write, node) pairs, and per write until it is on every node
//   detect    kill -9 of one node until every other node marks it failed
//   rss       resident memory per node
//   traffic   bytes on the loopback interface per node per second, at idle
//             and while writing (both systems measured the same way)
//
// Arrival times come from each node's own log (basefs: BASEFS_TRACE lines;
// Serf: an event handler appending a timestamp), on one machine clock.
//
// Usage: gossip_bench [N...]   (default: 10 30)
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "tests/process_util.h"

namespace {

using namespace std::chrono_literals;
using basefs::testing::RunShell;
using basefs::testing::Slurp;
using basefs::testing::WaitFor;

uint64_t NowUs() {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count());
}

uint64_t LoTxBytes() {
  std::istringstream in(Slurp("/proc/net/dev"));
  std::string line;
  while (std::getline(in, line)) {
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string name = line.substr(0, colon);
    name.erase(0, name.find_first_not_of(' '));
    if (name != "lo") continue;
    std::istringstream f(line.substr(colon + 1));
    uint64_t v[9] = {};
    for (auto& x : v) f >> x;
    return v[8];  // transmit bytes
  }
  return 0;
}

double RssMb(pid_t pid) {
  std::istringstream in(Slurp("/proc/" + std::to_string(pid) + "/status"));
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  return 0;
}

double Pct(std::vector<double> v, double p) {
  if (v.empty()) return -1;
  std::sort(v.begin(), v.end());
  const size_t i = std::min(v.size() - 1, static_cast<size_t>(p / 100.0 * static_cast<double>(v.size())));
  return v[i];
}

struct Results {
  double join_s = -1;
  std::vector<double> pair_ms;     // per (write, node)
  std::vector<double> all_ms;      // per write, until on every node
  size_t writes = 0, missing = 0;  // deliveries that never arrived
  double detect_s = -1;
  double rss_mb = 0;
  double idle_bps = 0, busy_bps = 0;
};

// One system under test: N nodes, each with a log of timestamped events.
class Cluster {
 public:
  virtual ~Cluster() {
    for (pid_t p : pids_) basefs::testing::Stop(p, SIGKILL);
  }
  virtual void Start(int n) = 0;
  // Times (us) at which node i learned each member, by name.
  virtual std::map<std::string, uint64_t> Joins(int i) = 0;
  // Writes on node w; returns an id to find deliveries by.
  virtual std::string Write(int w, int k) = 0;
  // Delivery time (us) of write `id` on node i, if delivered.
  virtual std::optional<uint64_t> Delivered(int i, const std::string& id) = 0;
  virtual std::optional<uint64_t> FailedSeen(int i, int victim) = 0;
  virtual std::string name() const = 0;
  pid_t pid(int i) const { return pids_[static_cast<size_t>(i)]; }
  void Kill(int i) {
    basefs::testing::Stop(pids_[static_cast<size_t>(i)], SIGKILL);
    pids_[static_cast<size_t>(i)] = -1;
  }

 protected:
  std::vector<pid_t> pids_;
};

class BasefsCluster : public Cluster {
 public:
  BasefsCluster(std::string bin, std::filesystem::path dir) : bin_(std::move(bin)), dir_(std::move(dir)) {}
  std::string name() const override { return "basefs"; }
  std::string Dir(int i) const { return (dir_ / ("n" + std::to_string(i))).string(); }
  std::string Log(int i) const { return (dir_ / ("log" + std::to_string(i))).string(); }

  void Start(int n) override {
    RunShell(bin_ + " --data-dir " + Dir(0) + " bootstrap demo");
    RunShell(bin_ + " --data-dir " + Dir(0) + " mkdir demo /bench");
    for (int i = 1; i < n; ++i) std::filesystem::copy(Dir(0), Dir(i), std::filesystem::copy_options::recursive);
    setenv("BASEFS_TRACE", "1", 1);
    std::string seed;
    for (int i = 0; i < n; ++i) {
      std::vector<std::string> argv = {
          bin_,    "--data-dir", Dir(i), "run", "demo", "--bind", "127.0.0.1:0", "--node-name", "n" + std::to_string(i),
          "--dns", "127.0.0.1:0"};
      if (i > 0) argv.insert(argv.end(), {"--join", seed});
      pids_.push_back(basefs::testing::Spawn(argv, Log(i)));
      if (i == 0) {
        const std::regex re("at (127\\.0\\.0\\.1:[0-9]+)");
        WaitFor(
            [&] {
              std::smatch m;
              const std::string log = Slurp(Log(0));
              if (!std::regex_search(log, m, re)) return false;
              seed = m[1];
              return true;
            },
            10s);
      }
    }
  }
  std::map<std::string, uint64_t> Joins(int i) override {
    std::map<std::string, uint64_t> out;
    std::istringstream in(Slurp(Log(i)));
    std::string line;
    while (std::getline(in, line)) {
      char name[128];
      char state[32];
      unsigned long long t;
      // Log lines: "TIME trace NODE: trace member NAME STATE US".
      const size_t at = line.find("trace member ");
      if (at != std::string::npos &&
          std::sscanf(line.c_str() + at, "trace member %127s %31s %llu", name, state, &t) == 3 &&
          std::string(state) == "alive" && !out.count(name))
        out[name] = t;
    }
    out["n" + std::to_string(i)] = 0;
    return out;
  }
  std::string Write(int w, int k) override {
    RunShell("echo 'v = " + std::to_string(k) + "' | " + bin_ + " --data-dir " + Dir(w) + " write demo /bench/k" +
             std::to_string(k));
    // The writer's newest local entry is this write.
    std::istringstream in(Slurp(Log(w)));
    std::string line, last;
    while (std::getline(in, line))
      if (line.find(" local ") != std::string::npos) last = line;
    char hash[80];
    unsigned long long t;
    const size_t at = last.find("trace entry ");
    if (at == std::string::npos || std::sscanf(last.c_str() + at, "trace entry %64s local %llu", hash, &t) != 2)
      return "";
    writer_time_[hash] = t;
    return hash;
  }
  std::optional<uint64_t> Delivered(int i, const std::string& id) override {
    auto it = writer_time_.find(id);
    const std::string log = Slurp(Log(i));
    const auto pos = log.find("trace entry " + id + " ");
    if (pos == std::string::npos) return std::nullopt;
    unsigned long long t;
    char where[16];
    if (std::sscanf(log.c_str() + pos + 12 + id.size(), " %15s %llu", where, &t) != 2) return std::nullopt;
    (void)it;
    return t;
  }
  std::optional<uint64_t> FailedSeen(int i, int victim) override {
    const std::string log = Slurp(Log(i));
    const std::string key = "trace member n" + std::to_string(victim) + " failed ";
    const auto pos = log.find(key);
    if (pos == std::string::npos) return std::nullopt;
    return std::stoull(log.substr(pos + key.size()));
  }

 private:
  std::string bin_;
  std::filesystem::path dir_;
  std::map<std::string, uint64_t> writer_time_;
};

class SerfCluster : public Cluster {
 public:
  explicit SerfCluster(std::filesystem::path dir) : dir_(std::move(dir)) {
    base_port_ = 40000 + static_cast<int>(getpid() % 50) * 400;
  }
  std::string name() const override { return "serf"; }
  std::string Events(int i) const { return (dir_ / ("events-s" + std::to_string(i))).string(); }

  void Start(int n) override {
    std::filesystem::create_directories(dir_);
    const std::string handler = (dir_ / "handler.sh").string();
    {
      std::ofstream h(handler);
      h << "#!/bin/sh\n"
        << "now=$(date +%s%6N)\n"
        << "payload=$(cat)\n"
        << "echo \"$now $SERF_EVENT $SERF_USER_EVENT $payload\" | tr '\\n' ' ' >> " << dir_.string()
        << "/events-$SERF_SELF_NAME\n"
        << "echo >> " << dir_.string() << "/events-$SERF_SELF_NAME\n";
    }
    chmod(handler.c_str(), 0755);
    for (int i = 0; i < n; ++i) {
      std::vector<std::string> argv = {"/usr/bin/serf",  "agent",
                                       "-node",          "s" + std::to_string(i),
                                       "-bind",          "127.0.0.1:" + std::to_string(base_port_ + 2 * i),
                                       "-rpc-addr",      "127.0.0.1:" + std::to_string(base_port_ + 2 * i + 1),
                                       "-profile",       "lan",
                                       "-event-handler", handler,
                                       "-log-level",     "err"};
      if (i > 0) argv.insert(argv.end(), {"-join", "127.0.0.1:" + std::to_string(base_port_)});
      const std::string log = (dir_ / ("log" + std::to_string(i))).string();
      pids_.push_back(basefs::testing::Spawn(argv, log));
      // The seed must listen before anyone joins through it (a Serf agent
      // whose join fails exits), as basefs waits for its seed too.
      if (i == 0) WaitFor([&] { return Slurp(log).find("agent running") != std::string::npos; }, 10s);
    }
  }
  std::map<std::string, uint64_t> Joins(int i) override {
    std::map<std::string, uint64_t> out;
    std::istringstream in(Slurp(Events(i)));
    std::string line;
    while (std::getline(in, line)) {
      std::istringstream f(line);
      unsigned long long t;
      std::string ev;
      f >> t >> ev;
      if (ev != "member-join") continue;
      // payload: one "name addr role tags" per member joined
      std::string tok;
      while (f >> tok)
        if (tok.rfind('s', 0) == 0 && tok.size() < 6 && !out.count(tok)) out[tok] = t;
    }
    out["s" + std::to_string(i)] = 0;
    return out;
  }
  std::string Write(int w, int k) override {
    const std::string id = "w" + std::to_string(k) + "x" + std::to_string(NowUs() % 100000);
    RunShell("serf event -coalesce=false -rpc-addr 127.0.0.1:" + std::to_string(base_port_ + 2 * w + 1) + " bench " +
             id);
    writer_[id] = w;
    return id;
  }
  std::optional<uint64_t> Delivered(int i, const std::string& id) override {
    std::istringstream in(Slurp(Events(i)));
    std::string line;
    while (std::getline(in, line)) {
      if (line.find(" user bench " + id) == std::string::npos) continue;
      return std::stoull(line);
    }
    return std::nullopt;
  }
  std::optional<uint64_t> FailedSeen(int i, int victim) override {
    std::istringstream in(Slurp(Events(i)));
    std::string line;
    // Payload fields are tab-separated: "name\taddr\trole\ttags".
    const std::string name = " s" + std::to_string(victim) + "\t";
    while (std::getline(in, line)) {
      if (line.find(" member-failed ") == std::string::npos) continue;
      if (line.find(name) == std::string::npos) continue;
      return std::stoull(line);
    }
    return std::nullopt;
  }
  int writer_of(const std::string& id) const { return writer_.at(id); }

 private:
  std::filesystem::path dir_;
  int base_port_;
  std::map<std::string, int> writer_;
};

Results Measure(Cluster& c, int n) {
  Results r;
  const uint64_t t_start = NowUs();
  c.Start(n);
  // Join: until every node has learned all n members.
  const bool joined = WaitFor(
      [&] {
        for (int i = 0; i < n; ++i)
          if (static_cast<int>(c.Joins(i).size()) < n) return false;
        return true;
      },
      120s);
  if (joined) {
    uint64_t last = 0;
    for (int i = 0; i < n; ++i)
      for (auto& [name, t] : c.Joins(i)) last = std::max<uint64_t>(last, t);
    r.join_s = static_cast<double>(last - t_start) / 1e6;
  }
  // Idle traffic and memory.
  std::this_thread::sleep_for(3s);
  const uint64_t b0 = LoTxBytes();
  const auto w0 = std::chrono::steady_clock::now();
  std::this_thread::sleep_for(10s);
  r.idle_bps = static_cast<double>(LoTxBytes() - b0) /
               std::chrono::duration<double>(std::chrono::steady_clock::now() - w0).count() / n;
  for (int i = 0; i < n; ++i) r.rss_mb += RssMb(c.pid(i));
  r.rss_mb /= n;
  // Writes from rotating nodes, 100 ms apart.
  const int kWrites = 20;
  std::vector<std::pair<std::string, int>> ids;
  const uint64_t b1 = LoTxBytes();
  const auto w1 = std::chrono::steady_clock::now();
  for (int k = 0; k < kWrites; ++k) {
    const int w = (k * 7) % n;
    ids.push_back({c.Write(w, k), w});
    std::this_thread::sleep_for(100ms);
  }
  WaitFor(
      [&] {
        for (auto& [id, w] : ids)
          for (int i = 0; i < n; ++i)
            if (!c.Delivered(i, id)) return false;
        return true;
      },
      20s);
  r.busy_bps = static_cast<double>(LoTxBytes() - b1) /
               std::chrono::duration<double>(std::chrono::steady_clock::now() - w1).count() / n;
  for (auto& [id, w] : ids) {
    ++r.writes;
    auto t0 = c.Delivered(w, id);  // accepted on the writer
    if (!t0) {
      r.missing += static_cast<size_t>(n);
      continue;
    }
    double worst = 0;
    bool all = true;
    for (int i = 0; i < n; ++i) {
      if (i == w) continue;
      auto t = c.Delivered(i, id);
      if (!t) {
        ++r.missing;
        all = false;
        continue;
      }
      const double ms = (static_cast<double>(*t) - static_cast<double>(*t0)) / 1000.0;
      r.pair_ms.push_back(ms);
      worst = std::max(worst, ms);
    }
    if (all) r.all_ms.push_back(worst);
  }
  // Failure detection: kill -9 the last node.
  const int victim = n - 1;
  const uint64_t tk = NowUs();
  c.Kill(victim);
  const bool detected = WaitFor(
      [&] {
        for (int i = 0; i < n - 1; ++i)
          if (!c.FailedSeen(i, victim)) return false;
        return true;
      },
      90s);
  if (detected) {
    uint64_t last = 0;
    for (int i = 0; i < n - 1; ++i) last = std::max(last, *c.FailedSeen(i, victim));
    r.detect_s = static_cast<double>(last - tk) / 1e6;
  }
  return r;
}

void Print(const std::string& name, int n, const Results& r) {
  std::printf(
      "%-7s N=%-4d join %6.2f s | write p50 %8.2f ms p99 %8.2f ms max %8.2f ms | to-all p50 %8.2f ms "
      "max %8.2f ms (%zu writes, %zu undelivered) | detect %6.2f s | rss %5.1f MB | idle %7.0f B/s "
      "busy %8.0f B/s per node\n",
      name.c_str(), n, r.join_s, Pct(r.pair_ms, 50), Pct(r.pair_ms, 99), Pct(r.pair_ms, 100), Pct(r.all_ms, 50),
      Pct(r.all_ms, 100), r.writes, r.missing, r.detect_s, r.rss_mb, r.idle_bps, r.busy_bps);
}

}  // namespace

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  std::vector<int> sizes;
  for (int i = 1; i < argc; ++i) sizes.push_back(std::atoi(argv[i]));
  if (sizes.empty()) sizes = {10, 30};
  const std::string bin =
      (std::filesystem::path(argv[0]).parent_path() / "../../cli/basefs").lexically_normal().string();
  const bool have_serf = access("/usr/bin/serf", X_OK) == 0;
  if (!have_serf) std::printf("serf not installed (apt-get install serf): basefs only\n");
  for (int n : sizes) {
    const auto dir = std::filesystem::temp_directory_path() / ("basefs-gbench-" + std::to_string(getpid()));
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    Results b, s;
    {
      BasefsCluster c(bin, dir / "basefs");
      std::filesystem::create_directories(dir / "basefs");
      b = Measure(c, n);
    }
    Print("basefs", n, b);
    if (have_serf) {
      SerfCluster c(dir / "serf");
      s = Measure(c, n);
      Print("serf", n, s);
      std::printf(
          "ratio   N=%-4d write p50 serf/basefs %.0fx, to-all p50 %.0fx | detect basefs/serf %.2f | "
          "rss basefs/serf %.2f | idle traffic basefs/serf %.2f\n",
          n, Pct(s.pair_ms, 50) / Pct(b.pair_ms, 50), Pct(s.all_ms, 50) / Pct(b.all_ms, 50), b.detect_s / s.detect_s,
          b.rss_mb / s.rss_mb, b.idle_bps / s.idle_bps);
    }
    std::filesystem::remove_all(dir);
  }
  return 0;
}
