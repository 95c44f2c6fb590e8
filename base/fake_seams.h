// In-memory Clock and Transport for tests and the simulator: simulated time
// that advances only when the test runs it, and a network of named
// endpoints with latency, loss and partitions drawn from one seeded random
// source. The same seed gives the same run, event for event.
//
// Thread-safety: none; everything runs inside RunFor/RunUntil.
#pragma once

#include <map>
#include <memory>
#include <queue>
#include <set>
#include <string>
#include <vector>

#include "base/seams.h"

namespace basefs {

class ManualClock : public Clock {
 public:
  uint64_t NowMs() const override { return now_ms_; }
  TimerId Schedule(uint64_t delay_ms, std::function<void()> fn) override {
    const TimerId id = ++next_id_;
    queue_.push({now_ms_ + delay_ms, id});
    fns_.emplace(id, std::move(fn));
    return id;
  }
  void Cancel(TimerId id) override { fns_.erase(id); }

  // Runs every timer due up to `t`, in time order (ties by scheduling order).
  void RunUntil(uint64_t t) {
    while (!queue_.empty() && queue_.top().at <= t) {
      const Item it = queue_.top();
      queue_.pop();
      auto f = fns_.find(it.id);
      if (f == fns_.end()) continue;
      auto fn = std::move(f->second);
      fns_.erase(f);
      now_ms_ = it.at;
      fn();
    }
    now_ms_ = t;
  }
  void RunFor(uint64_t ms) { RunUntil(now_ms_ + ms); }
  size_t pending() const { return fns_.size(); }

 private:
  struct Item {
    uint64_t at;
    TimerId id;
    bool operator<(const Item& o) const { return at != o.at ? at > o.at : id > o.id; }
  };
  uint64_t now_ms_ = 1000;
  TimerId next_id_ = 0;
  std::priority_queue<Item> queue_;
  std::map<TimerId, std::function<void()>> fns_;
};

class FakeNetwork {
 public:
  FakeNetwork(ManualClock* clock, uint64_t seed) : clock_(clock), rng_(seed) {}

  class Endpoint : public Transport {
   public:
    Endpoint(FakeNetwork* net, std::string addr) : net_(net), addr_(std::move(addr)) {}
    void Send(const std::string& to, std::string_view datagram) override { net_->Deliver(addr_, to, datagram); }
    void SetReceiver(Receiver r) override { receiver_ = std::move(r); }
    const std::string& address() const { return addr_; }

   private:
    friend class FakeNetwork;
    FakeNetwork* net_;
    std::string addr_;
    Receiver receiver_;
  };

  Endpoint* Add(const std::string& addr) {
    auto ep = std::make_unique<Endpoint>(this, addr);
    Endpoint* raw = ep.get();
    endpoints_[addr] = std::move(ep);
    return raw;
  }
  // A down endpoint neither sends nor receives (a crashed or stopped node).
  void SetDown(const std::string& addr, bool down) {
    if (down)
      down_.insert(addr);
    else
      down_.erase(addr);
  }
  // Nodes in different groups cannot reach each other; empty = no partition.
  void Partition(std::map<std::string, int> group_of) { group_of_ = std::move(group_of); }
  void set_loss_percent(int p) { loss_percent_ = p; }
  void set_latency_ms(uint64_t base, uint64_t jitter) {
    latency_ms_ = base;
    jitter_ms_ = jitter;
  }
  uint64_t datagrams() const { return datagrams_; }
  uint64_t bytes() const { return bytes_; }
  uint64_t bytes_sent_by(const std::string& addr) const {
    auto it = sent_by_.find(addr);
    return it == sent_by_.end() ? 0 : it->second;
  }

 private:
  void Deliver(const std::string& from, const std::string& to, std::string_view datagram) {
    if (down_.count(from)) return;
    ++datagrams_;
    bytes_ += datagram.size();
    sent_by_[from] += datagram.size();
    if (!group_of_.empty()) {
      auto a = group_of_.find(from), b = group_of_.find(to);
      if (a != group_of_.end() && b != group_of_.end() && a->second != b->second) return;
    }
    if (loss_percent_ > 0 && static_cast<int>(rng_() % 100) < loss_percent_) return;
    const uint64_t delay = latency_ms_ + (jitter_ms_ ? rng_() % (jitter_ms_ + 1) : 0);
    clock_->Schedule(delay, [this, from, to, bytes = std::string(datagram)] {
      if (down_.count(to)) return;
      auto it = endpoints_.find(to);
      if (it == endpoints_.end() || !it->second->receiver_) return;
      it->second->receiver_(from, bytes);
    });
  }

  ManualClock* clock_;
  std::mt19937_64 rng_;
  std::map<std::string, std::unique_ptr<Endpoint>> endpoints_;
  std::set<std::string> down_;
  std::map<std::string, int> group_of_;
  int loss_percent_ = 0;
  uint64_t latency_ms_ = 1, jitter_ms_ = 0;
  uint64_t datagrams_ = 0, bytes_ = 0;
  std::map<std::string, uint64_t> sent_by_;
};

}  // namespace basefs
