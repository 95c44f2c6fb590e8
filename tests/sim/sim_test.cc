// The simulator in the suite: small clusters, harsh networks, several seeds,
// all on simulated time (the whole file runs in seconds).
#include <gtest/gtest.h>

#include "tests/sim/simulator.h"

namespace basefs::sim {
namespace {

Scenario Small(uint64_t seed) {
  Scenario s;
  s.seed = seed;
  s.nodes = 20;
  s.warmup_ms = 20000;
  s.writes = 10;
  s.write_interval_ms = 1000;
  s.link.latency_ms = 20;
  s.link.jitter = 0.3;
  return s;
}

TEST(SimTest, SameSeedSameRun) {
  Scenario s = Small(42);
  s.link.loss = 0.2;
  s.link.burst = 0.25;
  const Report a = sim::Run(s), b = sim::Run(s);
  EXPECT_EQ(a.text, b.text);
  Scenario other = s;
  other.seed = 43;
  EXPECT_NE(sim::Run(other).text, a.text) << "the seed must matter";
}

TEST(SimTest, ConvergesWithoutLoss) {
  for (uint64_t seed : {1, 2, 3}) {
    const Report r = sim::Run(Small(seed));
    EXPECT_TRUE(r.ok) << r.text;
    // The rogue's forged failure claims and signed leaves (every second of
    // the workload) changed nobody's view of a live node: on a clean
    // network every claim is refuted by the member's answer.
    EXPECT_NE(r.text.find("membership forgeries: "), std::string::npos) << r.text;
    EXPECT_NE(r.text.find("live nodes seen failed 0 times; a forged leave taken 0 times"), std::string::npos) << r.text;
  }
}

TEST(SimTest, ConvergesWithHeavyBurstyLossDuplicationAndReordering) {
  for (uint64_t seed : {4, 5}) {
    Scenario s = Small(seed);
    s.link.loss = 0.5;
    s.link.burst = 0.25;
    s.link.duplicate = 0.05;
    s.link.jitter = 0.8;
    const Report r = sim::Run(s);
    EXPECT_TRUE(r.ok) << r.text;
  }
}

TEST(SimTest, PartitionHealsWithEveryWriteOnEveryNode) {
  for (uint64_t seed : {6, 7}) {
    Scenario s = Small(seed);
    s.partition = true;
    s.partition_at_ms = 0;
    s.partition_ms = 120000;
    const Report r = sim::Run(s);
    EXPECT_TRUE(r.ok) << r.text;
  }
}

TEST(SimTest, ChurnAndLowBandwidth) {
  Scenario s = Small(8);
  s.writes = 30;
  s.churn_per_minute = 0.2;
  s.bandwidth_bytes_per_s = 20000;
  const Report r = sim::Run(s);
  EXPECT_TRUE(r.ok) << r.text;
}

TEST(SimTest, ABrokenNodeIsCaught) {
  Scenario s = Small(9);
  s.sabotage = true;
  s.quiesce_limit_ms = 120000;
  const Report r = sim::Run(s);
  EXPECT_FALSE(r.ok) << r.text;
  EXPECT_NE(r.text.find("FAILED"), std::string::npos);
}

}  // namespace
}  // namespace basefs::sim
