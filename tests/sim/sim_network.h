// SimNetwork: the simulated network of tests/sim — datagrams and sync
// streams between named nodes, on the simulated clock, every random choice
// from one seed.
//
// Model, per datagram: latency drawn around a mean with a jitter (as a
// fraction of the mean; a bell-shaped sum of uniforms), so datagrams can be
// reordered; loss with burst correlation c (a two-state chain per link:
// after a loss the next datagram is lost with probability c + (1 - c) p,
// after a delivery with probability (1 - c) p, so the long-run loss rate is
// p and losses come in bursts); duplication; a per-node egress bandwidth with a FIFO queue;
// per-direction overrides (asymmetric links); partitions into groups; nodes
// that are down neither send nor receive.
//
// Streams (TCP for sync) are reliable and ordered with the same latency; a
// stream whose ends are cut apart, or whose node goes down, breaks.
//
// Thread-safety: none; everything runs inside the clock.
#pragma once

#include <cmath>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>

#include "base/fake_seams.h"

namespace basefs::sim {

struct LinkModel {
  double latency_ms = 50;
  double jitter = 0.2;   // +- fraction of the latency
  double loss = 0;       // long-run fraction of datagrams lost
  double burst = 0;      // correlation of consecutive losses, 0..1
  double duplicate = 0;  // fraction of datagrams delivered twice
};

class SimNetwork {
 public:
  SimNetwork(ManualClock* clock, uint64_t seed) : clock_(clock), rng_(seed) {}

  class Endpoint : public Transport {
   public:
    Endpoint(SimNetwork* net, std::string addr) : net_(net), addr_(std::move(addr)) {}
    void Send(const std::string& to, std::string_view d) override { net_->SendDatagram(addr_, to, d); }
    void SetReceiver(Receiver r) override { receiver_ = std::move(r); }
    const std::string& address() const { return addr_; }

   private:
    friend class SimNetwork;
    SimNetwork* net_;
    std::string addr_;
    Receiver receiver_;
  };

  Endpoint* Add(const std::string& addr) {
    auto& ep = endpoints_[addr];
    if (!ep) ep = std::make_unique<Endpoint>(this, addr);
    return ep.get();
  }

  void set_default_link(const LinkModel& m) { default_ = m; }
  // Overrides the model of the direction from -> to only.
  void SetLink(const std::string& from, const std::string& to, const LinkModel& m) { links_[{from, to}] = m; }
  // Egress bandwidth of a node in bytes per second (0: unlimited).
  void set_bandwidth(double bytes_per_s) { bandwidth_ = bytes_per_s; }
  void SetDown(const std::string& addr, bool down) {
    if (down)
      down_.insert(addr);
    else
      down_.erase(addr);
  }
  bool IsDown(const std::string& addr) const { return down_.count(addr) != 0; }
  // Nodes in different groups cannot reach each other; empty = healed.
  void Partition(std::map<std::string, int> group_of) { group_of_ = std::move(group_of); }
  bool CanReach(const std::string& a, const std::string& b) const {
    if (down_.count(a) || down_.count(b)) return false;
    if (group_of_.empty()) return true;
    auto x = group_of_.find(a), y = group_of_.find(b);
    return x == group_of_.end() || y == group_of_.end() || x->second == y->second;
  }

  struct NodeStats {
    uint64_t bytes = 0, datagrams = 0;
  };
  const std::map<std::string, NodeStats>& sent() const { return sent_; }

  // Latency of one delivery on the link from -> to.
  uint64_t DrawLatencyMs(const std::string& from, const std::string& to) {
    const LinkModel& m = Model(from, to);
    // Sum of three uniforms in [-1, 1]: bell-shaped in [-3, 3], scaled so
    // that +-jitter covers nearly all draws.
    std::uniform_real_distribution<double> u(-1.0, 1.0);
    const double z = (u(rng_) + u(rng_) + u(rng_)) / 3.0;
    return static_cast<uint64_t>(std::max(0.0, m.latency_ms * (1.0 + m.jitter * z)));
  }
  std::mt19937_64& rng() { return rng_; }

 private:
  const LinkModel& Model(const std::string& from, const std::string& to) const {
    auto it = links_.find({from, to});
    return it == links_.end() ? default_ : it->second;
  }

  void SendDatagram(const std::string& from, const std::string& to, std::string_view d) {
    if (down_.count(from)) return;
    NodeStats& s = sent_[from];
    s.bytes += d.size() + 28;  // IP and UDP headers, as on a real network
    ++s.datagrams;
    // Egress queue: the datagram leaves when the link is free.
    uint64_t depart = clock_->NowMs();
    if (bandwidth_ > 0) {
      uint64_t& busy = busy_until_ms_[from];
      busy = std::max(busy, depart) + static_cast<uint64_t>(std::ceil((d.size() + 28) * 1000.0 / bandwidth_));
      depart = busy;
    }
    const LinkModel& m = Model(from, to);
    bool& prev_lost = last_lost_[{from, to}];
    std::uniform_real_distribution<double> u(0.0, 1.0);
    const double p_loss = prev_lost ? m.burst + (1 - m.burst) * m.loss : (1 - m.burst) * m.loss;
    const bool lost = u(rng_) < p_loss;
    prev_lost = lost;
    if (lost) return;
    const int copies = u(rng_) < m.duplicate ? 2 : 1;
    for (int c = 0; c < copies; ++c) {
      const uint64_t at = depart - clock_->NowMs() + DrawLatencyMs(from, to);
      clock_->Schedule(at, [this, from, to, bytes = std::string(d)] {
        if (!CanReach(from, to)) return;
        auto it = endpoints_.find(to);
        if (it == endpoints_.end() || !it->second->receiver_) return;
        it->second->receiver_(from, bytes);
      });
    }
  }

  ManualClock* clock_;
  std::mt19937_64 rng_;
  LinkModel default_;
  std::map<std::pair<std::string, std::string>, LinkModel> links_;
  std::map<std::pair<std::string, std::string>, bool> last_lost_;
  std::map<std::string, std::unique_ptr<Endpoint>> endpoints_;
  std::map<std::string, uint64_t> busy_until_ms_;
  std::map<std::string, NodeStats> sent_;
  std::set<std::string> down_;
  std::map<std::string, int> group_of_;
  double bandwidth_ = 0;
};

}  // namespace basefs::sim
