// store_bench: what the store costs.
//
//  1. entries verified (decode + Ed25519) and applied (LevelDB + view) per
//     second, against raw LevelDB puts of the same bytes;
//  2. the cost of one view update as the tree grows from 1k to 100k paths;
//  3. bytes per entry on disk, against the bytes of the entries themselves;
//  4. `basefs write` of a one-line change to a 1 MiB file: time and new
//     blocks, against writing the same file with fsync to a plain file.
//
// Usage: store_bench [path/to/basefs]   (default: next to this binary's build)
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <leveldb/db.h>
#include <leveldb/write_batch.h>

#include "store/store.h"

namespace basefs {
namespace {

using Clock = std::chrono::steady_clock;
double Seconds(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double>(b - a).count(); }

uint64_t Ms() { return 1764000000000ull; }

StoreOptions Opts() {
  StoreOptions o;
  o.now_ms = Ms;
  return o;
}

uint64_t DirBytes(const std::filesystem::path& p) {
  uint64_t n = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(p))
    if (e.is_regular_file()) n += e.file_size();
  return n;
}

std::filesystem::path TempDir(const std::string& tag) {
  auto d = std::filesystem::temp_directory_path() / ("basefs-bench-" + tag + "-" + std::to_string(getpid()));
  std::filesystem::remove_all(d);
  std::filesystem::create_directories(d);
  return d;
}

// Builds `n` signed write entries spread over a tree with fan-out 32 (as a
// writer would produce them), returned in a valid arrival order.
struct Built {
  std::vector<std::string> entries;  // genesis first
};

constexpr int kFanout = 16;
constexpr size_t kFirstFile = 1 + kFanout + kFanout * kFanout;  // index of the first file entry

Built BuildTree(const KeyPair& root, size_t n_files) {
  Built b;
  Entry g;
  g.action = Action::kMkdir;
  g.relation = Relation::kChild;
  g.author = root.public_key;
  g.name = "bench";
  g.timestamp_ms = Ms();
  g.SignWith(root);
  b.entries.push_back(g.Encode());
  std::vector<Hash> dirs{g.ComputeHash()};
  std::mt19937_64 rng(42);
  auto add = [&](Action a, const Hash& parent, const std::string& name, const std::string& content) {
    Entry e;
    e.action = a;
    e.relation = Relation::kChild;
    e.parent = parent;
    e.author = root.public_key;
    e.name = name;
    e.content = content;
    e.size = content.size();
    e.timestamp_ms = Ms();
    e.SignWith(root);
    b.entries.push_back(e.Encode());
    return e.ComputeHash();
  };
  // Directories: 16 at the top, 16 below each (272), files spread below.
  for (int i = 0; i < kFanout; ++i) dirs.push_back(add(Action::kMkdir, dirs[0], "d" + std::to_string(i), ""));
  const size_t top = dirs.size();
  for (size_t t = 1; t < top; ++t)
    for (int i = 0; i < kFanout; ++i) dirs.push_back(add(Action::kMkdir, dirs[t], "e" + std::to_string(i), ""));
  for (size_t f = 0; f < n_files; ++f) {
    const Hash& dir = dirs[top + rng() % (dirs.size() - top)];
    add(Action::kWrite, dir, "f" + std::to_string(f), "port = " + std::to_string(1000 + f % 60000) + "\n");
  }
  return b;
}

void BenchApply(const KeyPair& root) {
  const size_t kFiles = 20000;
  Built b = BuildTree(root, kFiles);
  // Verify only.
  auto t0 = Clock::now();
  size_t ok = 0;
  for (const auto& e : b.entries) ok += DecodeEntry(e).ok();
  auto t1 = Clock::now();
  // Verify + store (LevelDB, unsynced as for remote entries) + view.
  auto dir = TempDir("apply");
  auto store = Store::CreateReplica((dir / "log").string(), b.entries[0], Opts());
  if (!store.ok()) std::abort();
  auto t2 = Clock::now();
  for (size_t i = 1; i < b.entries.size(); ++i)
    if (!(*store)->AddEntry(b.entries[i]).ok()) std::abort();
  auto t3 = Clock::now();
  // Competitor: raw LevelDB puts of the same bytes, one per entry, unsynced.
  leveldb::DB* db = nullptr;
  leveldb::Options o;
  o.create_if_missing = true;
  if (!leveldb::DB::Open(o, (dir / "raw").string(), &db).ok()) std::abort();
  auto t4 = Clock::now();
  for (const auto& e : b.entries) {
    const Hash h = HashBytes(e);
    db->Put(leveldb::WriteOptions(), std::string(AsView(h)), e);
  }
  auto t5 = Clock::now();
  delete db;
  const double n = static_cast<double>(b.entries.size());
  std::printf("apply: %zu entries (%zu verified)\n", b.entries.size(), ok);
  std::printf("  verify only (decode + Ed25519):           %9.0f entries/s\n", n / Seconds(t0, t1));
  std::printf("  verify + store + view (basefs AddEntry):  %9.0f entries/s\n", (n - 1) / Seconds(t2, t3));
  std::printf("  raw LevelDB put of the same bytes:        %9.0f entries/s   (basefs/raw = %.2f)\n",
              n / Seconds(t4, t5), Seconds(t4, t5) / Seconds(t2, t3) * (n - 1) / n);
  // Bytes per entry on disk: close, reopen (memtable compacted), measure.
  const uint64_t raw_bytes = [&] {
    uint64_t s = 0;
    for (const auto& e : b.entries) s += e.size();
    return s;
  }();
  const double before_compaction = static_cast<double>(DirBytes(dir / "log")) / n;
  (*store)->mutable_log().Compact();
  store->reset();
  std::printf(
      "disk: %.0f bytes/entry on disk after compaction (%.0f before; LevelDB with snappy, entry + hash key\n"
      "      + arrival-order index); the entries themselves average %.0f bytes encoded\n",
      static_cast<double>(DirBytes(dir / "log")) / n, before_compaction, static_cast<double>(raw_bytes) / n);
  std::filesystem::remove_all(dir);
}

void BenchViewGrowth(const KeyPair& root) {
  // The view alone (no LevelDB): time per update at each tree size. Updates
  // are rewrites of random existing files and new files in random dirs.
  const size_t kMax = 100000;
  Built b = BuildTree(root, kMax);
  std::vector<Entry> decoded;
  decoded.reserve(b.entries.size());
  std::vector<Hash> b_hashes;
  for (const auto& e : b.entries) {
    decoded.push_back(*DecodeEntry(e));
    b_hashes.push_back(HashBytes(e));
  }
  View view([](const Hash&) { return std::optional<std::string>(); });
  std::printf("view update cost as the tree grows (272 dirs, fan-out 16; files below):\n");
  std::printf("  %8s %14s %14s %22s\n", "paths", "new file us", "rewrite us", "root digest after (us)");
  std::mt19937_64 rng(7);
  const std::vector<size_t> marks = {1000, 3000, 10000, 30000, 100000};
  size_t next = 0;
  for (size_t mark : marks) {
    while (view.path_count() < mark && next < decoded.size()) {
      view.Apply(decoded[next], b_hashes[next]);
      ++next;
    }
    view.RootDigest();
    // New files: the next 1,000 entries of the tree (each a new path).
    const size_t batch = std::min<size_t>(1000, decoded.size() - next);
    auto t0 = Clock::now();
    for (size_t i = 0; i < batch; ++i, ++next) view.Apply(decoded[next], b_hashes[next]);
    auto t1 = Clock::now();
    // Rewrites of 1,000 distinct existing files, each on its current head
    // (signed before the clock starts).
    std::vector<Entry> timed;
    std::vector<Hash> hashes;
    std::vector<bool> used(next, false);
    const size_t first_file = kFirstFile;
    if (next < first_file + 1200) std::abort();  // enough distinct files to pick from
    while (timed.size() < 1000) {
      const size_t pick = first_file + rng() % (next - first_file);
      if (used[pick]) continue;
      used[pick] = true;
      const ViewEntry* head = view.Find(b_hashes[pick])->path->chain().back();
      Entry e;
      e.action = Action::kWrite;
      e.relation = Relation::kRevision;
      e.parent = head->hash;
      e.author = root.public_key;
      e.name = decoded[pick].name;
      e.content = "port = " + std::to_string(rng() % 65535) + "\n";
      e.size = e.content.size();
      e.timestamp_ms = Ms();
      e.SignWith(root);
      hashes.push_back(e.ComputeHash());
      timed.push_back(std::move(e));
    }
    auto t2 = Clock::now();
    for (size_t i = 0; i < timed.size(); ++i) view.Apply(timed[i], hashes[i]);
    auto t3 = Clock::now();
    // The root digest after those updates (lazy: only dirty paths rehash).
    auto t4 = Clock::now();
    view.RootDigest();
    auto t5 = Clock::now();
    std::printf("  %8zu %14.2f %14.2f %22.1f\n", view.path_count(), Seconds(t0, t1) * 1e6 / static_cast<double>(batch),
                Seconds(t2, t3) * 1e6 / 1000.0, Seconds(t4, t5) * 1e6);
  }
}

int RunCommand(const std::string& cmd) {
  const int st = std::system(cmd.c_str());
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

std::string Capture(const std::string& cmd) {
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
  pclose(p);
  return out;
}

uint64_t Blocks(const std::string& bin, const std::string& home) {
  const std::string out = Capture(bin + " --data-dir " + home + " status b --json");
  const auto pos = out.find("\"blocks\":");
  return pos == std::string::npos ? 0 : std::stoull(out.substr(pos + 9));
}

void BenchOneLineEdit(const std::string& bin) {
  auto home = TempDir("edit");
  const std::string h = home.string();
  if (RunCommand(bin + " --data-dir " + h + " bootstrap b >/dev/null") != 0) {
    std::printf("edit: cannot run %s; skipped\n", bin.c_str());
    return;
  }
  std::string content;
  for (int i = 0; content.size() < (1 << 20); ++i)
    content += "setting_" + std::to_string(i) + " = \"value " + std::to_string(i * 7919 % 100003) + "\"\n";
  const std::string file = h + "/big.conf";
  std::ofstream(file) << content;
  RunCommand(bin + " --data-dir " + h + " write b /big.conf " + file);
  std::vector<double> basefs_ms, plain_ms;
  std::vector<uint64_t> new_blocks;
  for (int rep = 0; rep < 7; ++rep) {
    // Change one line in the middle.
    const size_t at = content.find('\n', content.size() / 2 + static_cast<size_t>(rep) * 977) + 1;
    content.insert(at, "edited_" + std::to_string(rep) + " = true\n");
    std::ofstream(file) << content;
    const uint64_t before = Blocks(bin, h);
    auto t0 = Clock::now();
    RunCommand(bin + " --data-dir " + h + " write b /big.conf " + file);
    auto t1 = Clock::now();
    new_blocks.push_back(Blocks(bin, h) - before);
    basefs_ms.push_back(Seconds(t0, t1) * 1e3);
    // Competitor: the same bytes to a plain file with fsync (one process).
    auto t2 = Clock::now();
    RunCommand("dd if=" + file + " of=" + h + "/plain.conf bs=1M conv=fsync status=none");
    auto t3 = Clock::now();
    plain_ms.push_back(Seconds(t2, t3) * 1e3);
  }
  std::sort(basefs_ms.begin(), basefs_ms.end());
  std::sort(plain_ms.begin(), plain_ms.end());
  std::sort(new_blocks.begin(), new_blocks.end());
  std::printf("one-line edit of a 1 MiB file (7 runs, medians; whole processes):\n");
  std::printf("  basefs write:            %7.1f ms, %llu new blocks (min %llu, max %llu) of %llu bytes max each\n",
              basefs_ms[3], static_cast<unsigned long long>(new_blocks[3]),
              static_cast<unsigned long long>(new_blocks.front()), static_cast<unsigned long long>(new_blocks.back()),
              static_cast<unsigned long long>(kMaxBlockBytes));
  std::printf("  dd conv=fsync (plain):   %7.1f ms   (basefs/plain = %.2f)\n", plain_ms[3], basefs_ms[3] / plain_ms[3]);
  std::filesystem::remove_all(home);
}

}  // namespace
}  // namespace basefs

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  basefs::CryptoInit();
  std::string bin = argc > 1 ? argv[1] : "";
  if (bin.empty()) {
    bin = (std::filesystem::path(argv[0]).parent_path() / "../../cli/basefs").lexically_normal().string();
  }
  const basefs::KeyPair root = basefs::GenerateKeyPair();
  basefs::BenchApply(root);
  basefs::BenchViewGrowth(root);
  basefs::BenchOneLineEdit(bin);
  return 0;
}
