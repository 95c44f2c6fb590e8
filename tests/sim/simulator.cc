#include "tests/sim/simulator.h"

#include <sodium.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>
#include <sstream>

#include "replicate/gossip.h"
#include "replicate/store_sink.h"
#include "replicate/sync_peer.h"
#include "replicate/sync_session.h"
#include "store/test_util.h"

namespace basefs::sim {
namespace {

// A sink that drops every entry (Scenario::sabotage).
class DroppingSink : public StoreSink {
 public:
  using StoreSink::StoreSink;
  Result<Placement> OfferEntry(std::string_view) override { return Placement::kDuplicate; }
};

struct Node {
  int id = 0;
  std::string addr;
  std::unique_ptr<Store> store;
  std::unique_ptr<StoreSink> sink;
  std::unique_ptr<SeededRandom> rnd;
  std::unique_ptr<Gossip> gossip;
  KeyPair key;           // its node key, kept across restarts as the key file is
  bool live = false;     // running (not crashed, not left)
  bool leaving = false;  // told to leave (its `left` is real)
  bool gone = false;     // left for good
  uint64_t born_ms = 0;  // joined the cluster (fresh nodes join late)
  int sessions = 0;
  std::map<std::string, MemberState> seen;
};

struct WriteRecord {
  Hash hash{};
  uint64_t at_ms = 0;
  std::map<int, uint64_t> arrived;  // node -> time it stored the entry
};

class Sim {
 public:
  explicit Sim(const Scenario& s)
      : s_(s),
        net_(&clock_, s.seed),
        rng_(s.seed * 7919 + 17),
        root_(KeyFromSeed(s.seed)),
        rogue_(KeyFromSeed(s.seed + 1)),
        team_(KeyFromSeed(s.seed + 2)) {
    net_.set_default_link(s.link);
    net_.set_bandwidth(s.bandwidth_bytes_per_s);
    auto origin = factory_.Create(root_, factory_.NewDir());
    genesis_ = testing::EntryBytes(*origin).at(0);
  }

  Report Run();

 private:
  static KeyPair KeyFromSeed(uint64_t seed) {
    unsigned char bytes[32] = {};
    for (int i = 0; i < 8; ++i) bytes[i] = static_cast<unsigned char>(seed >> (8 * i));
    KeyPair kp;
    crypto_sign_seed_keypair(kp.public_key.data(), kp.secret_key.data(), bytes);
    return kp;
  }

  Node& AddNode() {
    auto n = std::make_unique<Node>();
    n->id = static_cast<int>(nodes_.size());
    n->addr = "n" + std::to_string(n->id);
    n->key = KeyFromSeed(s_.seed * 1000003 + 1000 + static_cast<uint64_t>(n->id));
    auto st = Store::CreateReplica(factory_.NewDir(), genesis_, factory_.Options());
    if (!st.ok()) std::abort();
    n->store = std::move(st).value();
    n->sink = (s_.sabotage && n->id == 1) ? std::make_unique<DroppingSink>(n->store.get())
                                          : std::make_unique<StoreSink>(n->store.get());
    nodes_.push_back(std::move(n));
    return *nodes_.back();
  }

  void Boot(Node& n) {
    n.rnd = std::make_unique<SeededRandom>(rng_());
    GossipOptions o;
    o.node_name = n.addr;
    o.advertise_addr = n.addr;
    o.node_key = n.key;
    n.gossip = std::make_unique<Gossip>(o, &clock_, net_.Add(n.addr), n.rnd.get(), n.sink.get());
    Node* np = &n;
    n.store->set_entry_listener([this, np](const Hash& h, const std::string& bytes, bool local) {
      auto it = by_hash_.find(h);
      if (it != by_hash_.end()) writes_[it->second].arrived.emplace(np->id, clock_.NowMs());
      if (np->gossip) np->gossip->Disseminate(bytes, np->store->BlocksOf(h, 16), local, !np->store->bulk());
    });
    n.gossip->set_member_listener([this, np](const Member& m) {
      // As the daemon does: reconcile at once with a member back from failed.
      auto& before = np->seen[m.name];
      // Membership taken from a forgery: a live node seen failed (possible
      // for real on a lossy or cut network, never on a clean one), or seen
      // left when it did not leave (never).
      for (const auto& other : nodes_) {
        if (other->addr != m.name || !other->live) continue;
        if (m.state == MemberState::kFailed) ++live_seen_failed_;
        if (m.state == MemberState::kLeft && !other->leaving) ++forged_left_taken_;
      }
      const bool returning = before == MemberState::kFailed && m.state == MemberState::kAlive;
      before = m.state;
      if (returning) StartSync(*np, m.name);
    });
    n.live = true;
    net_.SetDown(n.addr, false);
    std::vector<std::string> seeds;
    for (const auto& other : nodes_)
      if (other->live && other.get() != &n) seeds.push_back(other->addr);
    if (!seeds.empty()) seeds = {seeds[rng_() % seeds.size()]};
    n.gossip->Start(seeds);
    // First sync soon after joining, then periodically; repair checks.
    const int id = n.id;
    clock_.Schedule(1000 + rng_() % 1000, [this, id] { SyncTick(id, true); });
  }

  void SyncTick(int id, bool first) {
    Node& n = *nodes_[static_cast<size_t>(id)];
    if (!n.live) return;
    clock_.Schedule(5000, [this, id] { SyncTick(id, false); });
    ticks_[id] += 5000;
    const bool periodic = first || ticks_[id] >= s_.sync_interval_ms;
    if (periodic) ticks_[id] = 0;
    if (!periodic && n.store->Wanted(1).empty()) return;
    const std::string peer = PickSyncPeer(n.gossip->Members(), n.addr, rng_());
    if (!peer.empty()) StartSync(n, peer);
  }

  // A sync session between two nodes over a reliable simulated stream.
  void StartSync(Node& a, const std::string& peer_addr) {
    const int b_id = std::stoi(peer_addr.substr(1));
    Node& b = *nodes_[static_cast<size_t>(b_id)];
    if (!a.live || !b.live || a.sessions >= 4 || b.sessions >= 8) return;
    // Scenario::sabotage: node 1 stands for a node that loses what it is
    // sent; it takes part in no sync either.
    if (s_.sabotage && (a.id == 1 || b.id == 1)) return;
    auto link = std::make_shared<Link>();
    link->a = &a;
    link->b = &b;
    link->sa = std::make_unique<SyncSession>(a.store.get());
    link->sb = std::make_unique<SyncSession>(b.store.get());
    ++a.sessions;
    ++b.sessions;
    link->deadline = clock_.NowMs() + 120000;
    link->differed = a.store->view().RootDigest() != b.store->view().RootDigest();
    link->sa->Start();
    link->sb->Start();
    ++sync_sessions_;
    clock_.Schedule(120000, [this, link] {
      if (!link->closed) ++sync_timed_out_;
      Close(link);
    });
    Pump(link);
  }

  struct Link {
    Node* a;
    Node* b;
    std::unique_ptr<SyncSession> sa, sb;
    uint64_t deadline = 0;
    bool closed = false;
    int in_transit = 0;
    uint64_t last_ab_ms = 0, last_ba_ms = 0;
    bool differed = false;
  };

  void Close(const std::shared_ptr<Link>& l) {
    if (l->closed) return;
    l->closed = true;
    if (l->sa->finished() && l->sb->finished()) ++sync_completed_;
    sync_new_entries_ += l->sa->stats().entries_new + l->sb->stats().entries_new;
    if (l->differed) ++sync_differed_;
    --l->a->sessions;
    --l->b->sessions;
  }

  void Pump(const std::shared_ptr<Link>& l) {
    if (l->closed) return;
    if (l->sa->finished() && l->sb->finished() && l->in_transit == 0) return Close(l);
    if (clock_.NowMs() > l->deadline) return Close(l);
    auto send = [&](SyncSession* from, SyncSession* to, Node* src, Node* dst) {
      std::string bytes = from->TakeOutput();
      if (bytes.empty()) return;
      auto& stats = net_stream_bytes_[src->addr];
      stats += bytes.size();
      ++l->in_transit;
      // A stream is ordered: nothing overtakes what was sent before it.
      uint64_t& last = from == l->sa.get() ? l->last_ab_ms : l->last_ba_ms;
      last = std::max(last, clock_.NowMs() + net_.DrawLatencyMs(src->addr, dst->addr));
      clock_.Schedule(last - clock_.NowMs(), [this, l, to, src, dst, bytes = std::move(bytes)] {
        --l->in_transit;
        if (l->closed) return;
        if (!net_.CanReach(src->addr, dst->addr) || !src->live || !dst->live) return Close(l);  // the stream breaks
        if (!to->Feed(bytes).ok()) return Close(l);
        Pump(l);
      });
    };
    send(l->sa.get(), l->sb.get(), l->a, l->b);
    send(l->sb.get(), l->sa.get(), l->b, l->a);
    if (l->sa->finished() && l->sb->finished() && l->in_transit == 0) Close(l);
  }

  void Crash(Node& n) {
    n.live = false;
    n.gossip.reset();
    net_.SetDown(n.addr, true);
  }

  std::vector<Node*> Live() {
    std::vector<Node*> out;
    for (auto& n : nodes_)
      if (n->live) out.push_back(n.get());
    return out;
  }

  // Returns false when the node refuses the write (no permission there).
  bool Write(int k, Node* n, const std::string& path, const KeyPair* key = nullptr) {
    const std::string content = "write " + std::to_string(k) + " from " + n->addr;
    if (!n->store->WriteFile(key ? *key : root_, path, content).ok()) return false;
    if (key) ++team_writes_;
    WriteRecord w;
    w.hash = n->store->view().Lookup(path)->chain().back()->hash;
    w.at_ms = clock_.NowMs();
    w.arrived[n->id] = clock_.NowMs();
    by_hash_[w.hash] = writes_.size();
    writes_.push_back(std::move(w));
    return true;
  }

  void ChurnEvent() {
    std::vector<Node*> live = Live();
    const int kind = static_cast<int>(rng_() % 4);
    if (kind <= 1 && live.size() > 2) {
      // Crash, and restart with the same store 5-60 s later.
      Node* n = live[1 + rng_() % (live.size() - 1)];
      Crash(*n);
      ++crashes_;
      const int id = n->id;
      clock_.Schedule(5000 + rng_() % 55000, [this, id] {
        Node& r = *nodes_[static_cast<size_t>(id)];
        if (!r.gone && !r.live) Boot(r);
      });
    } else if (kind == 2) {
      Node& f = AddNode();
      f.born_ms = clock_.NowMs();
      Boot(f);
      ++fresh_;
    } else if (live.size() > 2) {
      Node* n = live[1 + rng_() % (live.size() - 1)];
      n->leaving = true;
      n->gossip->Leave();
      ++leaves_;
      const int id = n->id;
      clock_.Schedule(1000, [this, id] {
        Node& l = *nodes_[static_cast<size_t>(id)];
        Crash(l);
        l.gone = true;
      });
    }
  }

  void Rogue() {
    // Forged entries: signed by a key never granted, and tampered copies of
    // real ones, sent straight to random nodes.
    auto* ep = rogue_ep_ = net_.Add("rogue");
    const Hash parent = HashBytes(genesis_);
    Entry e = testing::MakeEntry(rogue_, Action::kWrite, Relation::kChild, parent, "forged", "x", 1);
    rogue_hashes_.insert(e.ComputeHash());
    std::string tampered = e.Encode();
    tampered[tampered.size() / 2] ^= 1;
    for (const std::string& bytes : {e.Encode(), tampered}) {
      DatagramBuilder b;
      b.Add(EncodePart(EntryPart{bytes}));
      const std::string d = b.Finish();
      for (int i = 0; i < 5; ++i) ep->Send(nodes_[rng_() % nodes_.size()]->addr, d);
    }
  }

  // Forged membership, every second of the workload, from the rogue
  // endpoint to three random live nodes: a `failed` claim about a live node
  // at the incarnation it signed last (gossip tells anyone), and a `left`
  // for it signed with the rogue's key.
  void ForgeMembership(uint64_t until_ms) {
    if (clock_.NowMs() >= until_ms) return;
    clock_.Schedule(1000, [this, until_ms] { ForgeMembership(until_ms); });
    std::vector<Node*> live = Live();
    if (live.size() < 2) return;
    Node* victim = live[rng_() % live.size()];
    uint64_t inc = 0;
    for (const Member& m : victim->gossip->Members())
      if (m.name == victim->addr) inc = m.incarnation;
    MemberPart failed;
    failed.state = MemberState::kFailed;
    failed.incarnation = inc;
    failed.name = victim->addr;
    failed.addr = victim->addr;
    MemberPart left = failed;
    left.state = MemberState::kLeft;
    left.incarnation = inc + 1;
    DatagramBuilder b;
    b.Add(EncodePart(failed));
    b.Add(EncodePart(SignMember(left, rogue_)));
    const std::string d = b.Finish();
    for (int i = 0; i < 3; ++i) rogue_ep_->Send(live[rng_() % live.size()]->addr, d);
    ++forged_claims_;
  }

  Scenario s_;
  ManualClock clock_;
  SimNetwork net_;
  std::mt19937_64 rng_;
  testing::MemStoreFactory factory_;
  KeyPair root_, rogue_, team_;
  std::string genesis_;
  std::vector<std::unique_ptr<Node>> nodes_;
  std::vector<WriteRecord> writes_;
  std::map<Hash, size_t> by_hash_;
  std::set<Hash> rogue_hashes_;
  SimNetwork::Endpoint* rogue_ep_ = nullptr;
  uint64_t forged_claims_ = 0, live_seen_failed_ = 0, forged_left_taken_ = 0;
  std::map<int, uint64_t> ticks_;
  std::map<std::string, uint64_t> net_stream_bytes_;
  uint64_t sync_sessions_ = 0, sync_completed_ = 0, sync_timed_out_ = 0, sync_new_entries_ = 0, sync_differed_ = 0;
  int crashes_ = 0, fresh_ = 0, leaves_ = 0, team_writes_ = 0;
};

std::string Fmt(double ms) {
  char b[32];
  if (ms < 0) return "never";
  std::snprintf(b, sizeof(b), "%.0f ms", ms);
  return b;
}

Report Sim::Run() {
  std::ostringstream out;
  for (int i = 0; i < s_.nodes; ++i) Boot(AddNode());
  clock_.RunFor(s_.warmup_ms);
  const uint64_t t_start = clock_.NowMs();
  std::map<std::string, SimNetwork::NodeStats> at_start = net_.sent();

  const uint64_t workload_ms = static_cast<uint64_t>(s_.writes) * s_.write_interval_ms;
  if (s_.rogue) {
    Rogue();
    ForgeMembership(clock_.NowMs() + workload_ms);
  }
  // Workload, with partition and churn events interleaved in time order.
  const uint64_t duration = static_cast<uint64_t>(s_.writes) * s_.write_interval_ms;
  if (s_.partition) {
    clock_.Schedule(s_.partition_at_ms, [this] {
      std::map<std::string, int> g;
      for (auto& n : nodes_) g[n->addr] = n->id % 2;
      net_.Partition(g);
    });
  }
  if (s_.churn_per_minute > 0) {
    const double per_ms = s_.churn_per_minute * s_.nodes / 60000.0;
    const uint64_t gap = static_cast<uint64_t>(1.0 / per_ms);
    for (uint64_t t = gap; t < duration; t += gap) clock_.Schedule(t, [this] { ChurnEvent(); });
  }
  // Permissions in the workload: a team key is granted /team at the start,
  // writes there on every third write, and is revoked (its writes acked)
  // two thirds of the way through.
  clock_.Schedule(0, [this] {
    std::vector<Node*> live = Live();
    if (!live.empty()) (void)live[0]->store->Grant(root_, "/team", team_.public_key);
  });
  clock_.Schedule(duration * 2 / 3, [this] {
    std::vector<Node*> live = Live();
    if (!live.empty()) (void)live[rng_() % live.size()]->store->Revoke(root_, "/team", team_.public_key, false);
  });
  for (int k = 0; k < s_.writes; ++k) {
    clock_.Schedule(static_cast<uint64_t>(k) * s_.write_interval_ms, [this, k] {
      std::vector<Node*> live = Live();
      if (live.empty()) return;
      Node* n = live[rng_() % live.size()];
      // Every third write by the team key where this node sees its grant
      // (before the revoke); a write the node refuses is not a write.
      if (k % 3 == 2 && Write(k, n, "/team/t" + std::to_string(k), &team_)) return;
      Write(k, n, "/w" + std::to_string(k));
      if (s_.partition && k % 5 == 0) {
        // A conflicting write to one path from a node of the other half.
        for (Node* m : live)
          if (m->id % 2 != n->id % 2) {
            Write(k, m, "/conflict");
            Write(k, n, "/conflict");
            break;
          }
      }
    });
  }
  const uint64_t heal_at = s_.partition ? std::max(duration, s_.partition_at_ms + s_.partition_ms) : duration;
  clock_.RunFor(heal_at);
  net_.Partition({});
  const uint64_t healed = clock_.NowMs();
  // Quiesce: run until every live node holds the same digest.
  uint64_t converged_after = 0;
  bool converged = false;
  while (clock_.NowMs() - healed < s_.quiesce_limit_ms) {
    clock_.RunFor(1000);
    std::set<Hash> digests;
    for (Node* n : Live()) digests.insert(n->store->view().RootDigest());
    if (digests.size() == 1) {
      converged = true;
      converged_after = clock_.NowMs() - healed;
      break;
    }
  }
  const uint64_t t_end = clock_.NowMs();

  // Convergence percentiles per write, over nodes live at the end that
  // existed when it was written.
  std::vector<Node*> live = Live();
  std::vector<double> p[4];
  bool all_delivered = true;
  for (const WriteRecord& w : writes_) {
    std::vector<double> times;
    size_t eligible = 0;
    for (Node* n : live) {
      if (n->born_ms > w.at_ms) continue;
      ++eligible;
      auto it = w.arrived.find(n->id);
      if (it != w.arrived.end()) times.push_back(static_cast<double>(it->second - w.at_ms));
      if (!n->store->view().Find(w.hash)) all_delivered = false;
    }
    std::sort(times.begin(), times.end());
    const double fractions[4] = {0.5, 0.9, 0.99, 1.0};
    for (int q = 0; q < 4; ++q) {
      const size_t need = static_cast<size_t>(std::ceil(fractions[q] * static_cast<double>(eligible)));
      p[q].push_back(need == 0 ? 0 : need <= times.size() ? times[need - 1] : -1);
    }
  }
  auto med_max = [](std::vector<double> v) {
    if (v.empty()) return std::string("n/a");
    const bool never = std::find(v.begin(), v.end(), -1.0) != v.end();
    std::sort(v.begin(), v.end());
    return "median " + Fmt(v[v.size() / 2]) + ", max " + (never ? std::string("never") : Fmt(v.back()));
  };
  bool forged = false;
  size_t max_pending = 0, max_queue = 0;
  for (Node* n : live) {
    for (const Hash& h : rogue_hashes_) forged |= n->store->view().Find(h) != nullptr;
    max_pending = std::max(max_pending, n->store->pending_count());
    max_queue = std::max(max_queue, n->gossip->queue_size());
  }
  uint64_t bytes = 0, datagrams = 0;
  for (const auto& [a, st] : net_.sent()) {
    if (a == "rogue") continue;
    bytes += st.bytes - at_start[a].bytes;
    datagrams += st.datagrams - at_start[a].datagrams;
  }
  uint64_t stream = 0;
  for (const auto& [a, b] : net_stream_bytes_) stream += b;
  const double secs = static_cast<double>(t_end - t_start) / 1000.0;
  const bool bounded = max_pending < 65536 && max_queue < 100000;

  out << "scenario: seed " << s_.seed << ", " << s_.nodes << " nodes, latency " << s_.link.latency_ms << " ms +-"
      << s_.link.jitter * 100 << "%, loss " << s_.link.loss * 100 << "% (burst " << s_.link.burst * 100 << "%), dup "
      << s_.link.duplicate * 100 << "%, " << s_.writes << " writes every " << s_.write_interval_ms << " ms"
      << (s_.partition ? ", partition " + std::to_string(s_.partition_ms / 1000) + " s" : "")
      << (s_.churn_per_minute > 0 ? ", churn " + std::to_string(static_cast<int>(s_.churn_per_minute * 100)) + "%/min"
                                  : "")
      << "\n";
  out << "writes: " << writes_.size() << " (" << team_writes_ << " by a granted key, revoked later)\n";
  out << "events: " << crashes_ << " crashes, " << fresh_ << " fresh joins, " << leaves_ << " leaves, "
      << sync_sessions_ << " sync sessions (" << sync_completed_ << " completed, " << sync_timed_out_
      << " timed out)\n";
  out << "convergence per write (live nodes): 50% " << med_max(p[0]) << " | 90% " << med_max(p[1]) << " | 99% "
      << med_max(p[2]) << " | 100% " << med_max(p[3]) << "\n";
  char traffic[200];
  std::snprintf(traffic, sizeof(traffic),
                "traffic per node: %.0f B/s gossip, %.1f datagrams/s, %.0f B/s sync streams\n",
                static_cast<double>(bytes) / (secs * static_cast<double>(s_.nodes)),
                static_cast<double>(datagrams) / (secs * static_cast<double>(s_.nodes)),
                static_cast<double>(stream) / (secs * static_cast<double>(s_.nodes)));
  out << traffic;
  out << "after healing: "
      << (converged ? "converged in " + Fmt(static_cast<double>(converged_after)) : "NOT converged") << "\n";
  out << "membership forgeries: " << forged_claims_ << " sent; live nodes seen failed " << live_seen_failed_
      << " times; a forged leave taken " << forged_left_taken_ << " times\n";
  out << "invariants: converged " << (converged ? "ok" : "FAILED") << ", no write lost "
      << (all_delivered ? "ok" : "FAILED") << ", nothing forged "
      << (!forged && forged_left_taken_ == 0 ? "ok" : "FAILED") << ", bounded " << (bounded ? "ok" : "FAILED")
      << " (max pending " << max_pending << ", max gossip queue " << max_queue << ")\n";
  if (std::getenv("BASEFS_SIM_DEBUG") && live.size() > 2) {
    SyncSession x(live[0]->store.get()), y(live[2]->store.get());
    x.Start();
    y.Start();
    for (int i = 0; i < 1000; ++i) {
      std::string xy = x.TakeOutput(), yx = y.TakeOutput();
      if (xy.empty() && yx.empty()) break;
      Status s1 = y.Feed(xy), s2 = x.Feed(yx);
      if (!s1.ok() || !s2.ok()) out << "  feed error: " << s1.message() << " / " << s2.message() << "\n";
    }
    out << "  sessions that started with different digests: " << sync_differed_ << ", entries they brought "
        << sync_new_entries_ << "\n";
    out << "  manual sync n0-n2: finished " << x.finished() << y.finished() << " requests " << x.stats().requests << "/"
        << y.stats().requests << " new " << x.stats().entries_new << "/" << y.stats().entries_new << "\n";
    for (Node* n : live) {
      out << "  " << n->addr << ": entries " << n->store->view().entry_count() << " digest "
          << ToHex(n->store->view().RootDigest()).substr(0, 8) << " alive " << n->gossip->alive_count() << " pending "
          << n->store->pending_count() << " wanted " << n->store->Wanted(100).size() << " members:";
      for (const Member& m : n->gossip->Members()) out << " " << m.name << "=" << MemberStateName(m.state)[0];
      out << "\n";
    }
  }
  Report r;
  r.ok = converged && all_delivered && !forged && forged_left_taken_ == 0 && bounded;
  out << (r.ok ? "PASS" : "FAIL") << " (replay: basefs-sim --seed " << s_.seed << " with the same options)\n";
  r.text = out.str();
  return r;
}

}  // namespace

Report Run(const Scenario& s) {
  CryptoInit();
  Sim sim(s);
  return sim.Run();
}

}  // namespace basefs::sim
