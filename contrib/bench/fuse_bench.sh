#!/usr/bin/env bash
# fuse_bench: the mount against tmpfs on a real configuration tree — this
# machine's /etc (unreadable files and anything that is not a file,
# directory or symlink skipped), repeated until it holds at least TARGET
# files (2,500 by default: the workload of the original BaseFS evaluation).
#
#  1. copy the tree in with `cp -a` (every file one synced write entry);
#  2. read every file back (find | xargs cat) cold (basefs: daemon
#     restarted and the kernel's caches dropped; tmpfs: caches dropped,
#     which cannot evict tmpfs) and warm: PASSES passes of each, basefs and
#     tmpfs alternating so both see the same moments of a shared machine;
#     the medians, their ratio, and the spread of the pairwise ratios;
#  3. single-file latency: a shell builtin's open-write-close of a one-line
#     file (one synced entry each) and open-read-close, averaged;
#  4. the warm passes again with the daemon's CPU latency hold off
#     (--latency-hold 0, daemon/latency_hold.h), to show what it is worth;
# Prints both times and the ratio basefs/tmpfs. Needs root (tmpfs mount,
# drop_caches, FUSE).
#
# Usage: contrib/bench/fuse_bench.sh [path/to/basefs]
#        (env: TARGET=2500 files, SOURCE=/etc, ROUNDS=300 latency rounds,
#         PASSES=9 warm passes of each)
set -euo pipefail
cd "$(dirname "$0")/../.."
BASEFS=$(readlink -f "${1:-build/cli/basefs}")
TARGET=${TARGET:-2500}
SOURCE=${SOURCE:-/etc}
ROUNDS=${ROUNDS:-300}
PASSES=${PASSES:-9}
W=$(mktemp -d /tmp/basefs-fuse-bench.XXXXXX)
DAEMON=
cleanup() {
  [ -n "$DAEMON" ] && kill "$DAEMON" 2>/dev/null && wait "$DAEMON" 2>/dev/null || true
  mountpoint -q "$W/mnt" && fusermount3 -u -z "$W/mnt" || true
  mountpoint -q "$W/tmpfs" && umount "$W/tmpfs" || true
  rm -rf "$W"
}
trap cleanup EXIT

now() { echo "$EPOCHREALTIME"; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.4f", b - a }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }
drop_caches() { sync; echo 3 > /proc/sys/vm/drop_caches; }
read_all() { find "$1" -type f -print0 | xargs -0 cat > /dev/null; }
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
# Warm passes of the mount ($1) and tmpfs ($2) in turn, after one untimed
# pass of each (the first read after a cold one also refreshes the
# attributes the kernel dropped for atime). Prints "basefs_median
# tmpfs_median ratio_min ratio_max".
warm_pairs() {
  local t a b i
  read_all "$1"
  read_all "$2"
  : > "$W/warm"
  for ((i = 0; i < PASSES; i++)); do
    t=$(now); read_all "$1"; a=$(since "$t")
    t=$(now); read_all "$2"; b=$(since "$t")
    echo "$a $b" >> "$W/warm"
  done
  echo "$(cut -d' ' -f1 "$W/warm" | median) $(cut -d' ' -f2 "$W/warm" | median)" \
    "$(awk '{ print $1 / $2 }' "$W/warm" | sort -g | head -1)" \
    "$(awk '{ print $1 / $2 }' "$W/warm" | sort -g | tail -1)"
}

# --- The source tree -------------------------------------------------------
mkdir -p "$W/stage/0"
cp -a "$SOURCE/." "$W/stage/0/" 2>/dev/null || true
find "$W/stage/0" ! -type f ! -type d ! -type l -delete 2>/dev/null || true
find "$W/stage/0" -type f ! -readable -delete 2>/dev/null || true
per_copy=$(find "$W/stage/0" -type f | wc -l)
[ "$per_copy" -gt 0 ] || { echo "fuse_bench: no readable files in $SOURCE" >&2; exit 1; }
copies=$(( (TARGET + per_copy - 1) / per_copy ))
for ((i = 1; i < copies; i++)); do cp -a "$W/stage/0" "$W/stage/$i"; done
files=$(find "$W/stage" -type f | wc -l)
links=$(find "$W/stage" -type l | wc -l)
dirs=$(find "$W/stage" -type d | wc -l)
bytes=$(du -sb "$W/stage" | cut -f1)
echo "tree: $SOURCE x $copies = $files files, $links symlinks, $dirs directories, $((bytes / 1024)) KiB"

# --- tmpfs -------------------------------------------------------------------
mkdir -p "$W/tmpfs"
mount -t tmpfs -o size=1g tmpfs "$W/tmpfs"
t=$(now); cp -a "$W/stage" "$W/tmpfs/etc"; sync; tmpfs_copy=$(since "$t")
drop_caches
t=$(now); read_all "$W/tmpfs/etc"; tmpfs_cold=$(since "$t")

# --- basefs ------------------------------------------------------------------
mkdir -p "$W/mnt"
"$BASEFS" --data-dir "$W/data" bootstrap bench > /dev/null
start_daemon() {
  : > "$W/daemon.log"
  "$BASEFS" --data-dir "$W/data" mount bench "$W/mnt" --bind 127.0.0.1:0 --dns 127.0.0.1:0 "$@" \
    > "$W/daemon.log" 2>&1 &
  DAEMON=$!
  for _ in $(seq 200); do
    grep -q "mounted at" "$W/daemon.log" && return 0
    kill -0 "$DAEMON" 2>/dev/null || break
    sleep 0.05
  done
  cat "$W/daemon.log" >&2
  exit 1
}
stop_daemon() { kill "$DAEMON"; wait "$DAEMON" || true; DAEMON=; }
start_daemon
t=$(now); cp -a "$W/stage" "$W/mnt/etc"; basefs_copy=$(since "$t")
diff -r --no-dereference "$W/stage" "$W/mnt/etc" > /dev/null || { echo "fuse_bench: the copy differs" >&2; exit 1; }
stop_daemon
drop_caches
start_daemon
t=$(now); read_all "$W/mnt/etc"; basefs_cold=$(since "$t")
read -r basefs_warm tmpfs_warm warm_lo warm_hi < <(warm_pairs "$W/mnt/etc" "$W/tmpfs/etc")
# A status field's value, or "-" (a binary from before the field).
field() { grep -o "\"$1\": *[^,}]*" <<< "$status" | head -1 | sed 's/.*: *//; s/"//g' | grep . || echo -; }
status=$("$BASEFS" --data-dir "$W/data" --json status bench)
hold_state=$(field fuse_latency_hold)
holds=$(field fuse_latency_holds)
held_ms=$(field fuse_latency_held_ms)

# --- Single-file latency (shell builtins: no process start in the loop) ------
write_loop() { local f=$1 i; for ((i = 0; i < ROUNDS; i++)); do printf 'value = %d\n' "$i" > "$f"; done; }
read_loop() { local f=$1 i line; for ((i = 0; i < ROUNDS * 10; i++)); do read -r line < "$f"; done; }
us_per() { awk -v s="$1" -v n="$2" 'BEGIN { printf "%.0f", s * 1e6 / n }'; }
t=$(now); write_loop "$W/tmpfs/one"; tw=$(us_per "$(since "$t")" "$ROUNDS")
t=$(now); read_loop "$W/tmpfs/one"; tr=$(us_per "$(since "$t")" $((ROUNDS * 10)))
t=$(now); write_loop "$W/mnt/one"; bw=$(us_per "$(since "$t")" "$ROUNDS")
t=$(now); read_loop "$W/mnt/one"; br=$(us_per "$(since "$t")" $((ROUNDS * 10)))
stop_daemon
start_daemon --latency-hold 0
read -r nohold_warm nohold_tmpfs nohold_lo nohold_hi < <(warm_pairs "$W/mnt/etc" "$W/tmpfs/etc")
stop_daemon

printf '\n%-34s %10s %10s %8s\n' "" "basefs" "tmpfs" "ratio"
printf '%-34s %9ss %9ss %8s\n' "copy in (cp -a, $files files)" "$basefs_copy" "$tmpfs_copy" "$(ratio "$basefs_copy" "$tmpfs_copy")"
printf '%-34s %9ss %9ss %8s\n' "read all, cold" "$basefs_cold" "$tmpfs_cold" "$(ratio "$basefs_cold" "$tmpfs_cold")"
printf '%-34s %9ss %9ss %8s  (pairs %.2f..%.2f, %d passes, medians)\n' "read all, warm" "$basefs_warm" "$tmpfs_warm" \
  "$(ratio "$basefs_warm" "$tmpfs_warm")" "$warm_lo" "$warm_hi" "$PASSES"
printf '%-34s %9ss %9ss %8s  (pairs %.2f..%.2f)\n' "read all, warm, --latency-hold 0" "$nohold_warm" \
  "$nohold_tmpfs" "$(ratio "$nohold_warm" "$nohold_tmpfs")" "$nohold_lo" "$nohold_hi"
printf '%-34s %8sus %8sus %8s\n' "one-line file write (open..close)" "$bw" "$tw" "$(ratio "$bw" "$tw")"
printf '%-34s %8sus %8sus %8s\n' "one-line file read (open..close)" "$br" "$tr" "$(ratio "$br" "$tr")"
echo
echo "latency hold: $hold_state after the warm passes; taken $holds times, held $held_ms ms in all (it needs root)"
echo "targets: warm reads within 2x of tmpfs; the copy under 10 s"
