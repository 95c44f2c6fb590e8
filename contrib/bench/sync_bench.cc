// sync_bench: what anti-entropy costs.
//
//  1. Two replicas of n = 100,000 entries that differ by d = 1, 10, 100,
//     1,000 entries (missing on one side): bytes exchanged and round trips
//     until both hold the same log, against the bytes of the missing
//     entries themselves and against the naive exchange of every hash.
//  2. The time to clone a 10,000-file filesystem from a running daemon
//     with `basefs get`, against `cp -a` of the same store directory.
//
// Usage: sync_bench [n]   (default 100000)
#include <sys/wait.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <regex>
#include <set>
#include <string>

#include "base/keyfile.h"
#include "replicate/sync_session.h"
#include "tests/process_util.h"

namespace basefs {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

double Seconds(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double>(b - a).count(); }

StoreOptions Opts() {
  StoreOptions o;
  o.now_ms = [] { return uint64_t{1764000000000}; };
  return o;
}

std::filesystem::path Temp(const std::string& tag) {
  auto d = std::filesystem::temp_directory_path() / ("basefs-sbench-" + tag + "-" + std::to_string(getpid()));
  std::filesystem::remove_all(d);
  std::filesystem::create_directories(d);
  return d;
}

// n signed entries: 16 x 16 directories, files below; returned in order.
std::vector<std::string> BuildEntries(const KeyPair& root, size_t n, std::vector<bool>* is_leaf) {
  std::vector<std::string> out;
  std::vector<Hash> dirs;
  auto add = [&](Action a, Relation rel, const Hash& parent, const std::string& name, const std::string& content,
                 bool leaf) {
    Entry e;
    e.action = a;
    e.relation = rel;
    e.parent = parent;
    e.author = root.public_key;
    e.name = name;
    e.content = content;
    e.size = content.size();
    e.timestamp_ms = 1764000000000;
    e.SignWith(root);
    out.push_back(e.Encode());
    is_leaf->push_back(leaf);
    return e.ComputeHash();
  };
  const Hash g = add(Action::kMkdir, Relation::kChild, Hash{}, "bench", "", false);
  std::vector<Hash> top;
  for (int i = 0; i < 16; ++i)
    top.push_back(add(Action::kMkdir, Relation::kChild, g, "d" + std::to_string(i), "", false));
  for (const Hash& t : top)
    for (int i = 0; i < 16; ++i)
      dirs.push_back(add(Action::kMkdir, Relation::kChild, t, "e" + std::to_string(i), "", false));
  std::mt19937_64 rng(1);
  for (size_t f = 0; out.size() < n; ++f)
    add(Action::kWrite, Relation::kChild, dirs[rng() % dirs.size()], "f" + std::to_string(f),
        "port = " + std::to_string(1000 + f % 60000) + "\n", true);
  return out;
}

std::unique_ptr<Store> Replica(const std::filesystem::path& dir, const std::vector<std::string>& entries,
                               const std::set<size_t>& skip) {
  auto s = Store::CreateReplica(dir.string(), entries[0], Opts());
  if (!s.ok()) std::abort();
  for (size_t i = 1; i < entries.size(); ++i)
    if (!skip.count(i) && !(*s)->AddEntry(entries[i]).ok()) std::abort();
  return std::move(s).value();
}

void Reconcile(size_t n) {
  const KeyPair root = GenerateKeyPair();
  std::vector<bool> leaf;
  auto t0 = Clock::now();
  const auto entries = BuildEntries(root, n, &leaf);
  std::printf("reconcile: %zu entries built in %.1f s\n", entries.size(), Seconds(t0, Clock::now()));
  auto dir = Temp("rec");
  auto full = Replica(dir / "full", entries, {});
  std::printf("  %6s %12s %12s %8s %10s %12s %14s\n", "d", "missing B", "sync B", "ratio", "round trips", "digest B",
              "all-hashes B");
  std::mt19937_64 rng(2);
  const size_t leaves = static_cast<size_t>(std::count(leaf.begin(), leaf.end(), true));
  for (size_t d : {1, 10, 100, 1000}) {
    if (d > leaves / 2) {
      std::printf("  %6zu (skipped: only %zu files for n = %zu)\n", d, leaves, n);
      continue;
    }
    std::set<size_t> skip;
    while (skip.size() < d) {
      const size_t i = 1 + rng() % (entries.size() - 1);
      if (leaf[i]) skip.insert(i);
    }
    uint64_t missing = 0;
    for (size_t i : skip) missing += entries[i].size();
    auto partial = Replica(dir / ("p" + std::to_string(d)), entries, skip);
    SyncSession a(full.get()), b(partial.get());
    a.Start();
    b.Start();
    int trips = 0;
    while (true) {
      const std::string ab = a.TakeOutput(), ba = b.TakeOutput();
      if (ab.empty() && ba.empty()) break;
      ++trips;
      if (!ab.empty() && !b.Feed(ab).ok()) std::abort();
      if (!ba.empty() && !a.Feed(ba).ok()) std::abort();
    }
    if (partial->view().RootDigest() != full->view().RootDigest()) std::printf("  d=%zu: DID NOT CONVERGE\n", d);
    const uint64_t total = a.stats().bytes_out + b.stats().bytes_out;
    const uint64_t digest = total > missing ? total - missing : 0;
    std::printf("  %6zu %12llu %12llu %8.2f %10d %12llu %14zu\n", d, static_cast<unsigned long long>(missing),
                static_cast<unsigned long long>(total), static_cast<double>(total) / static_cast<double>(missing),
                trips, static_cast<unsigned long long>(digest), entries.size() * kHashBytes);
  }
  std::filesystem::remove_all(dir);
}

void CloneTime(const std::string& bin) {
  const size_t kFiles = 10000;
  auto dir = Temp("clone");
  const std::string src = (dir / "src").string();
  if (testing::RunShell(bin + " --data-dir " + src + " bootstrap demo").code != 0) std::abort();
  // Write the files in one process with the root key (a CLI run per file
  // would replay the growing log 10,000 times).
  auto t0 = Clock::now();
  {
    auto store = Store::Open(src + "/demo/log", Opts());
    auto key = LoadKey(src + "/key");
    if (!store.ok() || !key.ok()) std::abort();
    for (int d = 0; d < 100; ++d)
      if (!(*store)->Mkdir(*key, "/d" + std::to_string(d), false).ok()) std::abort();
    for (size_t f = 0; f < kFiles; ++f)
      if (!(*store)->WriteFile(*key, "/d" + std::to_string(f % 100) + "/f" + std::to_string(f), "port = 80\n").ok())
        std::abort();
  }
  std::printf("clone: %zu files written in %.1f s (synced writes)\n", kFiles, Seconds(t0, Clock::now()));
  // Plaintext, then sealed with a cluster key (docs/sync_format.md).
  const std::string keyfile = (dir / "cluster.key").string();
  testing::RunShell("head -c32 /dev/urandom | base64 > " + keyfile);
  double plain_s = 0;
  for (const bool sealed : {false, true}) {
    std::vector<std::string> argv = {bin,           "--data-dir",  src,   "run",   "demo",       "--bind",
                                     "127.0.0.1:0", "--node-name", "src", "--dns", "127.0.0.1:0"};
    if (sealed) argv.insert(argv.end(), {"--cluster-key", keyfile});
    const std::string log = (dir / (sealed ? "log-sealed" : "log")).string();
    const pid_t daemon = testing::Spawn(argv, log);
    std::string addr;
    testing::WaitFor(
        [&] {
          std::smatch m;
          const std::string text = testing::Slurp(log);
          static const std::regex re("at (127\\.0\\.0\\.1:[0-9]+)");
          if (!std::regex_search(text, m, re)) return false;
          addr = m[1];
          return true;
        },
        10s);
    const std::string dst = (dir / (sealed ? "dst-sealed" : "dst")).string();
    auto t1 = Clock::now();
    auto r = testing::RunShell(bin + " --data-dir " + dst + " get demo " + addr +
                               (sealed ? " --cluster-key " + keyfile : std::string()));
    auto t2 = Clock::now();
    testing::Stop(daemon);
    if (!sealed) {
      plain_s = Seconds(t1, t2);
      auto t3 = Clock::now();
      testing::RunShell("cp -a " + src + " " + (dir / "cp").string());
      auto t4 = Clock::now();
      std::printf(
          "  basefs get of %zu files over TCP: %.0f ms (exit %d); cp -a of the store directory: %.1f ms "
          "(get/cp = %.0f)\n",
          kFiles, plain_s * 1e3, r.code, Seconds(t3, t4) * 1e3, plain_s / Seconds(t3, t4));
    } else {
      std::printf("  the same get sealed with a cluster key: %.0f ms (exit %d; sealed/plaintext = %.2f)\n",
                  Seconds(t1, t2) * 1e3, r.code, Seconds(t1, t2) / plain_s);
    }
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace basefs

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  basefs::CryptoInit();
  const size_t n = argc > 1 ? std::stoul(argv[1]) : 100000;
  const std::string bin =
      (std::filesystem::path(argv[0]).parent_path() / "../../cli/basefs").lexically_normal().string();
  basefs::Reconcile(n);
  basefs::CloneTime(bin);
  return 0;
}
