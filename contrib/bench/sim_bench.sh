#!/usr/bin/env bash
# The simulator's large scenario set (issue 5): for each cluster size, single
# writes with 50 ms +-20% latency and no loss; with 20%, 50% and 80% loss
# (25% burst correlation); across a 50/50 partition of 10 minutes, healed;
# and with 10% of the nodes churning per minute. Simulated time: the
# figures do not depend on this machine's speed, only the run time does.
#
# Usage: contrib/bench/sim_bench.sh [N...]   (default: 30 300 1000)
set -uo pipefail
cd "$(dirname "$0")/../.."
SIM=${SIM:-build/tests/sim/basefs-sim}
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(30 300 1000)
run() {
  local label=$1; shift
  local start=$SECONDS
  echo "== N=$N $label"
  "$SIM" --nodes "$N" --seed 1 --latency 50 --jitter 0.2 "$@" | grep -E "convergence|traffic|after healing|invariants|events|PASS|FAIL"
  echo "   (ran in $((SECONDS - start)) s)"
}
for N in "${sizes[@]}"; do
  run "no loss"
  run "20% loss" --loss 0.2 --burst 0.25
  run "50% loss" --loss 0.5 --burst 0.25
  run "80% loss" --loss 0.8 --burst 0.25
  run "partition 50/50 for 10 min" --partition --partition-at-ms 0 --partition-ms 600000
  run "10% churn per minute" --churn 0.1 --writes 60 --interval-ms 2000
done
