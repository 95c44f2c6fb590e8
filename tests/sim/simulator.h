// The deterministic cluster simulator: N complete basefs nodes (store on an
// in-memory LevelDB, gossip, anti-entropy sync) in one process, on
// simulated time and the simulated network of sim_network.h. One seed fixes
// every random choice: the same scenario and seed give the same run, event
// for event, and the same report, byte for byte.
//
// A run: nodes join through node 0; after a warm-up the workload writes
// from random live nodes (conflicting writes from both sides while
// partitioned, when asked); the network may be partitioned and healed,
// nodes may crash and restart with their store, join fresh or leave; a
// rogue endpoint sends forged entries. Then the network heals, writes stop,
// and the run continues until every live node holds the same root digest
// (or the quiesce limit passes). The report gives per-write convergence
// percentiles, traffic per node, and the invariants:
//   - converged: every live node ends with the same root digest;
//   - no write lost: every write is in the store of every live node;
//   - nothing forged: no node stores an entry of the rogue key;
//   - bounded: wait pools and gossip queues stayed under their limits.
#pragma once

#include <cstdint>
#include <string>

#include "tests/sim/sim_network.h"

namespace basefs::sim {

struct Scenario {
  uint64_t seed = 1;
  int nodes = 30;
  LinkModel link;
  double bandwidth_bytes_per_s = 0;  // per node egress, 0 = unlimited
  uint64_t warmup_ms = 30000;
  int writes = 20;
  uint64_t write_interval_ms = 2000;
  // Partition: the nodes split in two halves at `partition_at_ms` after the
  // warm-up, for `partition_ms`; writes go on in both halves, with
  // conflicting writes to one path.
  bool partition = false;
  uint64_t partition_at_ms = 0;
  uint64_t partition_ms = 600000;
  // Fraction of the nodes that crash (and restart later), join fresh or
  // leave, per minute of the workload.
  double churn_per_minute = 0;
  bool rogue = true;
  // Testing the tester: one node silently drops every entry it receives.
  bool sabotage = false;
  uint64_t quiesce_limit_ms = 30 * 60 * 1000;
  uint64_t sync_interval_ms = 30000;
};

struct Report {
  bool ok = false;
  std::string text;  // human-readable, deterministic for a seed
};

Report Run(const Scenario& s);

}  // namespace basefs::sim
