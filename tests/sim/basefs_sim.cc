// basefs-sim: runs one simulated scenario and prints its report. The same
// options and seed print the same report. Exit code 0 when every invariant
// held, 1 otherwise.
#include <cstdio>

#include <CLI/CLI.hpp>

#include "tests/sim/simulator.h"

int main(int argc, char** argv) {
  basefs::sim::Scenario s;
  CLI::App app{"basefs-sim: a basefs cluster on simulated time and network"};
  app.add_option("--seed", s.seed, "random seed (the run is a function of it)");
  app.add_option("--nodes", s.nodes, "number of nodes");
  app.add_option("--latency", s.link.latency_ms, "mean one-way latency, ms");
  app.add_option("--jitter", s.link.jitter, "latency jitter as a fraction of the mean");
  app.add_option("--loss", s.link.loss, "long-run datagram loss, 0..1");
  app.add_option("--burst", s.link.burst, "loss burst correlation, 0..1");
  app.add_option("--dup", s.link.duplicate, "datagram duplication, 0..1");
  app.add_option("--bandwidth", s.bandwidth_bytes_per_s, "egress bandwidth per node, bytes/s (0: unlimited)");
  app.add_option("--warmup-ms", s.warmup_ms, "time to join before the workload");
  app.add_option("--writes", s.writes, "number of writes");
  app.add_option("--interval-ms", s.write_interval_ms, "time between writes");
  app.add_flag("--partition", s.partition, "split the nodes in two halves during the workload");
  app.add_option("--partition-at-ms", s.partition_at_ms, "when the partition starts (after the warm-up)");
  app.add_option("--partition-ms", s.partition_ms, "how long it lasts");
  app.add_option("--churn", s.churn_per_minute, "fraction of nodes crashing/joining/leaving per minute");
  app.add_option("--sync-interval-ms", s.sync_interval_ms, "anti-entropy period");
  app.add_option("--quiesce-limit-ms", s.quiesce_limit_ms, "how long to wait for convergence after healing");
  bool no_rogue = false;
  app.add_flag("--no-rogue", no_rogue, "no forged entries");
  app.add_flag("--sabotage", s.sabotage, "one node drops every entry (the invariants must catch it)");
  CLI11_PARSE(app, argc, argv);
  s.rogue = !no_rogue;
  const basefs::sim::Report r = basefs::sim::Run(s);
  std::fputs(r.text.c_str(), stdout);
  return r.ok ? 0 : 1;
}
