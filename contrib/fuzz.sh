#!/usr/bin/env bash
# Runs every fuzz target (fuzz/, docs/fuzzing.md) for SECONDS each (default
# 60), or only the TARGETs named: builds them with clang, libFuzzer, ASan
# and UBSan in build-fuzz/, seeds each corpus from fuzz_seeds (valid
# messages made by the project's own encoders), keeps the corpus in
# build-fuzz/corpus/<target>/ between runs, and prints per target the
# executions, the edges covered and the corpus size. A crash, leak or
# sanitizer report stops with its input in build-fuzz/crashes/<target>/:
# fix it, then keep the input in fuzz/regressions/<target>/ (the suite
# replays it from then on). Exits non-zero if any target failed.
#
# Usage: contrib/fuzz.sh [SECONDS] [TARGET...]      e.g. contrib/fuzz.sh 600 gossip dns
#        JOBS=2 contrib/fuzz.sh 600                (targets run JOBS at a time; default 1)
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
shift || true
all=(entry gossip sync dns forwarder projection control config)
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=("${all[@]}")
jobs=${JOBS:-1}

command -v clang++ >/dev/null || { echo "fuzz.sh: needs clang (apt-get install clang libclang-rt-14-dev)" >&2; exit 1; }
if [ ! -f build-fuzz/build.ninja ]; then
  CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DBASEFS_FUZZ=ON -DBASEFS_TESTS=OFF \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
echo "fuzz.sh: building the fuzz targets (build-fuzz/)"
ninja -C build-fuzz fuzz_all >/dev/null
build-fuzz/fuzz/fuzz_seeds build-fuzz/seeds >/dev/null

run() {  # run TARGET: fuzzes it for $secs seconds; prints one summary line
  local t=$1 corpus=build-fuzz/corpus/$1 crashes=build-fuzz/crashes/$1 log=build-fuzz/fuzz-$1.log
  mkdir -p "$corpus" "$crashes"
  cp -n build-fuzz/seeds/"$t"/* "$corpus"/ 2>/dev/null || true
  local extra=()
  [ -f fuzz/"$t".dict ] && extra+=(-dict=fuzz/"$t".dict)
  [ -d fuzz/regressions/"$t" ] && extra=(fuzz/regressions/"$t" "${extra[@]}")
  local status=0
  build-fuzz/fuzz/fuzz_"$t" "$corpus" "${extra[@]}" -max_total_time="$secs" \
    -artifact_prefix="$crashes"/ -timeout=10 -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
    >"$log" 2>&1 || status=$?
  local runs cov size
  runs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$' || echo 0)
  cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -1 | grep -oE '[0-9]+' || echo 0)
  size=$(ls "$corpus" | wc -l)
  if [ $status -eq 0 ]; then
    printf '%-11s ok      %10s executions in %ss, %6s edges, corpus %s inputs\n' "$t" "$runs" "$secs" "$cov" "$size"
  else
    printf '%-11s FAILED  see %s and %s\n' "$t" "$log" "$crashes" 
    grep -E 'ERROR|SUMMARY|runtime error' "$log" | head -5 | sed 's/^/    /'
    return 1
  fi
}

failed=0
running=0
pids=()
for t in "${targets[@]}"; do
  [ -f fuzz/"$t"_fuzz.cc ] || { echo "fuzz.sh: no target '$t' (targets: ${all[*]})" >&2; exit 2; }
  run "$t" &
  pids+=($!)
  running=$((running + 1))
  if [ $running -ge "$jobs" ]; then
    wait "${pids[0]}" || failed=1
    pids=("${pids[@]:1}")
    running=$((running - 1))
  fi
done
for p in "${pids[@]}"; do wait "$p" || failed=1; done
exit $failed
