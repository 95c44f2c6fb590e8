#!/usr/bin/env bash
# DNS benchmark (issue 6): the same zone served by basefs, NSD and Knot on
# this machine, each server pinned to CPU 0 and dnsperf to CPU 1, one query
# file for all three. Prints queries/s at full load, latency (p50/p99) at a
# fixed 20,000 queries/s, the ratios to NSD, and the time from `basefs
# publish` on one node to the record being answered by another node's DNS.
#
# The zone: SERVICES services with one instance each, published through
# `basefs publish`, then fetched from basefs by AXFR for NSD and Knot.
#
# Usage: contrib/bench/dns_bench.sh [SERVICES=1000] [SECONDS=10]   (env ROUNDS=3)
# CONSOLE=1: basefs also serves --http, and a headless chromium keeps its
# web console open on the services page for the whole run (its blocking
# queries held), to show what an open console costs DNS.
# Needs dnsperf, nsd, knot (installed with apt-get when missing and root).
set -euo pipefail
cd "$(dirname "$0")/../.."
SERVICES=${1:-1000}
SECS=${2:-10}
ROUNDS=${ROUNDS:-3}
BASEFS=${BASEFS:-$PWD/build/cli/basefs}
[ -x "$BASEFS" ] || { echo "build first: contrib/build.sh" >&2; exit 1; }
for tool in dnsperf nsd knotd dig; do
  if ! command -v "$tool" >/dev/null; then
    [ "$(id -u)" = 0 ] || { echo "missing $tool: apt-get install dnsperf nsd knot dnsutils" >&2; exit 1; }
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q dnsperf nsd knot dnsutils >/dev/null
  fi
done

W=$(mktemp -d /tmp/basefs-dnsbench.XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$W"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_for() {  # wait_for SECONDS CMD...
  local end=$((SECONDS + $1)); shift
  until "$@" >/dev/null 2>&1; do
    if [ $SECONDS -ge $end ]; then
      echo "timed out waiting for: $*" >&2
      tail -n 5 "$W"/*.log "$W"/*.out >&2 2>/dev/null || true
      return 1
    fi
    sleep 0.05
  done
}

P_BASEFS=$(free_port); P_NSD=$(free_port); P_KNOT=$(free_port); P_HTTP=$(free_port)
HTTP_FLAGS=()
[ "${CONSOLE:-0}" = 1 ] && HTTP_FLAGS=(--http 127.0.0.1:$P_HTTP)
export BASEFS_HOME=$W/a
"$BASEFS" bootstrap bench >/dev/null
taskset -c 0 "$BASEFS" run bench --bind 127.0.0.1:0 --dns 127.0.0.1:$P_BASEFS --node-name a --no-recursion --dns-rate-limit 0 \
  "${HTTP_FLAGS[@]}" >"$W/a.log" 2>&1 &
PIDS+=($!)
PID_BASEFS=$!
wait_for 20 test -S "$W/a/bench/control.sock"

echo "publishing $SERVICES services through 'basefs publish'..."
start=$(date +%s.%N)
for i in $(seq 1 "$SERVICES"); do
  "$BASEFS" publish bench "svc$i" i1 --port $((1000 + i % 60000)) --address "10.$((i / 65536 % 256)).$((i / 256 % 256)).$((i % 256))"
done
echo "  $(python3 -c "print(f'{$SERVICES / ($(date +%s.%N) - $start):.0f}')") publishes/s"
wait_for 30 sh -c "dig +short -p $P_BASEFS @127.0.0.1 SRV svc$SERVICES.service.basefs. | grep -q svc$SERVICES"

# (the closing SOA of the transfer is dropped: a zone file has one)
dig +nocmd +nostats +nocomments -p "$P_BASEFS" @127.0.0.1 AXFR basefs. | awk '!($4 == "SOA" && seen++)' >"$W/basefs.zone"
echo "zone: $(grep -c . "$W/basefs.zone") records (AXFR from basefs)"

mkdir -p "$W/knot"
cat >"$W/nsd.conf" <<CONF
server:
  ip-address: 127.0.0.1@$P_NSD
  server-count: 1
  username: ""
  chroot: ""
  zonesdir: "$W"
  pidfile: "$W/nsd.pid"
  xfrdfile: "$W/xfrd.state"
  zonelistfile: "$W/zone.list"
  database: ""
  logfile: "$W/nsd.log"
  rrl-ratelimit: 0
  verbosity: 0
remote-control:
  control-enable: no
zone:
  name: basefs.
  zonefile: basefs.zone
CONF
taskset -c 0 nsd -d -c "$W/nsd.conf" >"$W/nsd.out" 2>&1 &
PIDS+=($!)
PID_NSD=$!
cat >"$W/knot.conf" <<CONF
server:
  rundir: "$W/knot"
  listen: 127.0.0.1@$P_KNOT
  udp-workers: 1
  tcp-workers: 1
  background-workers: 1
database:
  storage: "$W/knot"
log:
  - target: stderr
    any: error
zone:
  - domain: basefs.
    storage: "$W"
    file: "basefs.zone"
    journal-content: none
    zonefile-sync: -1
CONF
taskset -c 0 knotd -c "$W/knot.conf" >"$W/knot.out" 2>&1 &
PIDS+=($!)
PID_KNOT=$!
for p in $P_NSD $P_KNOT; do
  wait_for 20 sh -c "dig +short -p $p @127.0.0.1 SRV svc1.service.basefs. | grep -q svc1"
done

if [ "${CONSOLE:-0}" = 1 ]; then
  # The console open in a browser (on dnsperf's CPU): it holds its
  # blocking queries on the node for the whole run.
  taskset -c 1 chromium --headless=new --no-sandbox --disable-gpu --user-data-dir="$W/chrome" \
    "http://127.0.0.1:$P_HTTP/ui/#/services" >"$W/chrome.log" 2>&1 &
  PIDS+=($!)
  held() { curl -s "http://127.0.0.1:$P_HTTP/v1/agent/metrics?format=prometheus" | awk '/^basefs_http_blocking_held /{exit !($2 >= 1)}'; }
  wait_for 60 held
  echo "console: a headless chromium has http://127.0.0.1:$P_HTTP/ui/#/services open (blocking queries held on basefs)"
fi
echo "basefs threads: $(ls /proc/$PID_BASEFS/task | wc -l)"

# One query file for everyone: service A, RFC 2782 SRV, instance TXT, NXDOMAIN.
Q=$W/queries
for i in $(seq 1 "$SERVICES"); do
  echo "svc$i.service.basefs. A"
  echo "_svc$i._tcp.basefs. SRV"
  echo "i1.svc$i.instance.basefs. TXT"
  echo "nope$i.service.basefs. A"
done | shuf --random-source=<(yes) >"$Q"

HZ=$(getconf CLK_TCK)
cpu_ticks() {  # cpu_ticks PID -> user+system ticks of the process and its children (NSD forks)
  local t=0 p
  for p in "$1" $(pgrep -P "$1") $(for c in $(pgrep -P "$1"); do pgrep -P "$c"; done); do
    [ -r "/proc/$p/stat" ] && t=$((t + $(sed 's/.*) //' "/proc/$p/stat" | awk '{print $12 + $13}')))
  done
  echo "$t"
}
load() {  # load PORT PID -> "queries/s queries-per-server-CPU-second"
  local before after out
  before=$(cpu_ticks "$2")
  out=$(taskset -c 1 dnsperf -s 127.0.0.1 -p "$1" -d "$Q" -l "$SECS" -c 8 -q 1000 -T 1 2>/dev/null)
  after=$(cpu_ticks "$2")
  awk -v cpu="$(( after - before ))" -v hz="$HZ" '/Queries completed/ {done = $3} /Queries per second/ {qps = $4}
    END {printf "%.0f %.0f\n", qps, (cpu > 0 ? done / (cpu / hz) : 0)}' <<<"$out"
}
latency() {  # latency PORT -> "p50_us p99_us lost"
  taskset -c 1 dnsperf -s 127.0.0.1 -p "$1" -d "$Q" -l 5 -Q 20000 -c 4 -q 1000 -T 1 -v 2>/dev/null |
    awk '$1 == ">" {print $NF * 1e6}' | sort -n |
    awk '{a[NR] = $1} END {if (NR == 0) {print "- -"; exit} printf "%.0f %.0f\n", a[int(NR * 0.5)], a[int(NR * 0.99)]}'
}
# ROUNDS rounds, the servers interleaved in each, so that a noisy moment of
# the machine hits all three alike; each figure is the median over rounds.
declare -A PAT RAW
PAT[basefs]=$PID_BASEFS; PAT[nsd]=$PID_NSD; PAT[knot]=$PID_KNOT
for round in $(seq 1 "$ROUNDS"); do
  for s in basefs:$P_BASEFS nsd:$P_NSD knot:$P_KNOT; do
    name=${s%%:*}; port=${s##*:}
    RAW[$name]+="$(load "$port" "${PAT[$name]}") $(latency "$port");"
  done
done
echo
echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "servers on CPU 0, dnsperf on CPU 1; $((SERVICES * 4)) distinct queries; ${SECS}s at full load;"
echo "median of $ROUNDS interleaved rounds (min..max in brackets)"
echo "(queries/s is capped by dnsperf when it uses all of CPU 1; queries per server CPU-second is"
echo " the server's own cost: answered queries / CPU time the server used during the run)"
python3 - "${RAW[basefs]}" "${RAW[nsd]}" "${RAW[knot]}" <<'PY'
import statistics, sys
names = ["basefs", "nsd", "knot"]
runs = {n: [[float(x) if x not in ("", "-") else 0.0 for x in r.split()] for r in raw.split(";") if r.strip()]
        for n, raw in zip(names, sys.argv[1:])}
med = {n: [statistics.median(r[i] for r in runs[n]) for i in range(4)] for n in names}
span = lambda n, i: f"[{min(r[i] for r in runs[n]):.0f}..{max(r[i] for r in runs[n]):.0f}]"
print(f"{'server':8} {'queries/s':>22} {'q/CPU-second':>22} {'p50 @20k (us)':>16} {'p99 @20k (us)':>20}")
for n in names:
    print(f"{n:8} {med[n][0]:>8.0f} {span(n, 0):>13} {med[n][1]:>8.0f} {span(n, 1):>13} {med[n][2]:>5.0f} {span(n, 2):>10}"
          f" {med[n][3]:>6.0f} {span(n, 3):>13}")
r = lambda x, y: f"{x / y:.2f}x" if y else "n/a"
b, n, k = med["basefs"], med["nsd"], med["knot"]
print(f"basefs/nsd: queries/s {r(b[0], n[0])}, per CPU-second {r(b[1], n[1])}, p99 {r(b[3], n[3])}")
print(f"basefs/knot: queries/s {r(b[0], k[0])}, per CPU-second {r(b[1], k[1])}, p99 {r(b[3], k[3])}")
PY

# Publish on node a, answered by node b's DNS.
echo
P_B=$(free_port)
export BASEFS_HOME=$W/b
KEY_B=$("$BASEFS" genkey)
BASEFS_HOME=$W/a "$BASEFS" grant bench /services "$KEY_B" >/dev/null
GOSSIP_A=$(grep -o 'at [0-9.]*:[0-9]*' "$W/a.log" | head -1 | cut -d' ' -f2)
"$BASEFS" run bench --bind 127.0.0.1:0 --dns 127.0.0.1:$P_B --node-name b --no-recursion --dns-rate-limit 0 --join "$GOSSIP_A" \
  >"$W/b.log" 2>&1 &
PIDS+=($!)
wait_for 60 sh -c "dig +short -p $P_B @127.0.0.1 SRV svc$SERVICES.service.basefs. | grep -q svc$SERVICES"
export BASEFS_HOME=$W/a
# A resident prober per node (started before the publish, so no process
# start-up is counted): it waits for the go file, then asks every 1 ms until
# the name has an address, and prints the milliseconds since the go time.
cat >"$W/probe.py" <<'PY'
import os, socket, struct, sys, time
port, name, go = int(sys.argv[1]), sys.argv[2], sys.argv[3]
q = b''.join(bytes([len(l)]) + l.encode() for l in name.rstrip('.').split('.')) + b'\0'
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(0.001)
deadline = time.time() + 30
while not os.path.exists(go):
    if time.time() > deadline: sys.exit("no go")
    time.sleep(0.0002)
t0 = float(open(go).read())
qid = 0
while time.time() - t0 < 10:
    qid = (qid + 1) & 0xffff
    s.sendto(struct.pack('>HHHHHH', qid, 0x0100, 1, 0, 0, 0) + q + struct.pack('>HH', 1, 1), ('127.0.0.1', port))
    try:
        while True:
            d = s.recv(4096)
            if len(d) >= 12 and struct.unpack('>H', d[6:8])[0] > 0:
                print(f"{(time.time() - t0) * 1000:.1f}")
                sys.exit(0)
    except socket.timeout:
        pass
print("timeout")
PY
rows=()
for r in 1 2 3 4 5 6 7 8 9 10; do
  python3 "$W/probe.py" "$P_BASEFS" "new$r.service.basefs." "$W/go$r" >"$W/local$r" &
  pl=$!
  python3 "$W/probe.py" "$P_B" "new$r.service.basefs." "$W/go$r" >"$W/remote$r" &
  pr=$!
  sleep 0.5  # the probers are up
  t0=$(date +%s.%N)
  echo "$t0" >"$W/go$r.tmp" && mv "$W/go$r.tmp" "$W/go$r"
  "$BASEFS" publish bench "new$r" i1 --port 80 --address 192.0.2.$r
  t1=$(date +%s.%N)
  wait "$pl" "$pr" || true
  rows+=("$(python3 -c "print(f'{($t1 - $t0) * 1000:.1f}')") $(cat "$W/local$r") $(cat "$W/remote$r")")
done
printf '%s\n' "${rows[@]}" | python3 -c '
import statistics, sys
rows = [l.split() for l in sys.stdin if l.strip()]
def col(i):
    v = [float(r[i]) for r in rows if r[i] != "timeout"]
    return f"median {statistics.median(v):.1f} ms, max {max(v):.1f} ms" if v else "no answer"
print(f"publish of a new service on node a, {len(rows)} runs, from the start of the command:")
print(f"  the basefs publish command itself:   {col(0)}")
print(f"  answered by node a (the writer):     {col(1)}")
print(f"  answered by node b (another node):   {col(2)}")
'
