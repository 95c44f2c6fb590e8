#!/usr/bin/env bash
# The main job: a guided tour of what basefs is for, on this machine.
#
# Installs what is missing and builds (showing its progress), then starts a
# real cluster of three nodes on loopback, each with its own data
# directory, DNS port and FUSE mount, and walks through:
#   1. publishing a service by writing a file into one node's mount;
#   2. resolving it with dig against another node's DNS (SRV, A, DNS-SD);
#   3. sharing a config file through the mounts, a handler firing on change;
#   4. a node killed with kill -9: its service leaves every other node's
#      answers, and comes back when the node does;
#   5. the members and the signed history of a file.
# Every step checks its result and the tour stops with an error if one is
# wrong. Everything it starts is stopped by PID and unmounted at the end,
# unless --keep leaves the cluster running.
#
# Usage: contrib/demo.sh [--keep] [--no-build BASEFS_BINARY]
#        (tests/demo_test runs it with --no-build on the built binary)
set -euo pipefail
cd "$(dirname "$0")/.."
KEEP=0
BIN=""
while [ $# -gt 0 ]; do
  case "$1" in
    --keep) KEEP=1 ;;
    --no-build) BIN=$(readlink -f "$2"); shift ;;
    *) echo "usage: contrib/demo.sh [--keep] [--no-build BASEFS_BINARY]" >&2; exit 2 ;;
  esac
  shift
done

bold() { if [ -t 1 ]; then printf '\n\033[1m== %s\033[0m\n' "$*"; else printf '\n== %s\n' "$*"; fi; }
say() { printf '   %s\n' "$*"; }
show() { printf '   $ %s\n' "$*"; "$@" 2>&1 | sed 's/^/     /'; }
fail() { echo "demo: $*" >&2; exit 1; }

if [ -z "$BIN" ]; then
  bold "Building basefs (the first build takes a few minutes on 2 cores)"
  bash contrib/install-deps.sh
  # ninja's progress, one short line per step.
  bash contrib/build.sh build | sed -u -n 's|^\(\[[0-9]*/[0-9]*\]\) .* \([^ ]*\)$|   \1 \2|p'
  BIN=$PWD/build/cli/basefs
fi
command -v dig >/dev/null || fail "dig is missing: apt-get install dnsutils"
command -v fusermount3 >/dev/null || fail "fusermount3 is missing: apt-get install fuse3"
[ -e /dev/fuse ] || fail "/dev/fuse is missing: this machine cannot mount FUSE file systems"

W=$(mktemp -d /tmp/basefs-demo.XXXXXX)
PIDS=(0 0 0)
NAMES=(a b c)
PORT=$((20000 + RANDOM % 20000))
cleanup() {
  local rc=$?
  if [ $KEEP -eq 1 ] && [ $rc -eq 0 ]; then return; fi
  for p in "${PIDS[@]}"; do
    if [ "$p" != 0 ]; then kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; fi
  done
  for n in "${NAMES[@]}"; do fusermount3 -u "$W/$n/mnt" 2>/dev/null || true; done
  if [ $rc -ne 0 ]; then
    echo "demo: the daemons' logs:" >&2
    for n in "${NAMES[@]}"; do [ -f "$W/$n.log" ] && sed "s/^/  $n| /" "$W/$n.log" >&2; done
  fi
  rm -rf "$W"
}
trap cleanup EXIT

cli() { local n=$1; shift; "$BIN" --data-dir "$W/$n" "$@"; }
gossip_port() { echo $((PORT + $1)); }
dns_port() { echo $((PORT + 10 + $1)); }
index_of() { case "$1" in a) echo 0 ;; b) echo 1 ;; c) echo 2 ;; esac; }
start() {  # start NODE [ARGS...]: a daemon with its mount, in the background
  local n=$1 i; shift
  i=$(index_of "$n")
  mkdir -p "$W/$n/mnt"
  "$BIN" --data-dir "$W/$n" mount demo "$W/$n/mnt" --node-name "$n" --bind 127.0.0.1:"$(gossip_port "$i")" \
    --dns 127.0.0.1:"$(dns_port "$i")" --no-recursion "$@" >>"$W/$n.log" 2>&1 &
  PIDS[$i]=$!
}
wait_for() {  # wait_for SECONDS WHAT COMMAND...: polls until COMMAND succeeds
  local deadline=$((SECONDS + $1)) what=$2; shift 2
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt "$deadline" ] || fail "timed out after $(( $1 )) s waiting for $what"
    sleep 0.1
  done
}
mounted() { grep -q " $W/$1/mnt fuse" /proc/mounts; }
digs() { local n=$1; shift; dig +short +tries=1 +time=2 -p "$(dns_port "$(index_of "$n")")" @127.0.0.1 "$@"; }
answers() { local n=$1 pattern=$2; shift 2; digs "$n" "$@" | grep -q -- "$pattern"; }
not_answers() { ! answers "$@"; }
alive_members() { [ "$(cli a members demo | grep -c ' alive ')" = "$1" ]; }
D=demo.example.

bold "A new filesystem, and three nodes that share it"
say "Node a creates the filesystem 'demo' (cluster domain $D); its key is the root key."
say "Nodes b and c get their own keys, granted /services and /config, and join through a."
cli a bootstrap demo --domain "$D" >/dev/null
for n in b c; do
  key=$(cli "$n" genkey)
  cli a grant demo /services "$key"
  cli a grant demo /config "$key"
done
start a
wait_for 15 "node a to mount" mounted a
start b --join 127.0.0.1:"$(gossip_port 0)"
start c --join 127.0.0.1:"$(gossip_port 0)" --handler "/config/**=echo \"\$BASEFS_EVENT_TYPE \$BASEFS_EVENT_PATH\" >>$W/c-handler.log"
wait_for 20 "nodes b and c to clone and mount" sh -c "grep -q ' $W/b/mnt fuse' /proc/mounts && grep -q ' $W/c/mnt fuse' /proc/mounts"
wait_for 20 "three live members" alive_members 3
for n in a b c; do
  i=$(index_of "$n")
  say "node $n: gossip and sync on 127.0.0.1:$(gossip_port "$i"), DNS on 127.0.0.1:$(dns_port "$i"), mounted at $W/$n/mnt"
done

bold "1. Publish a service by writing a file"
say "Service instances are small TOML files under /services/<service>/<instance>."
show mkdir -p "$W/a/mnt/services/web"
printf 'port = 8080\ntags = ["primary"]\n[txt]\npath = "/api"\n' >"$W/a/mnt/services/web/web-a"
printf '   $ cat > %s <<EOF\n' "$W/a/mnt/services/web/web-a"
sed 's/^/     /' "$W/a/mnt/services/web/web-a"
printf '     EOF\n'
wait_for 10 "/services/web to reach node c" test -d "$W/c/mnt/services/web"
printf 'port = 8082\n' >"$W/c/mnt/services/web/web-c"
say "Node c publishes a second instance the same way: $W/c/mnt/services/web/web-c (port 8082)."

bold "2. Resolve it with any DNS client, from another node"
wait_for 10 "web-a in node b's DNS" answers b 8080 SRV "_web._tcp.$D"
wait_for 10 "web-c in node b's DNS" answers b 8082 SRV "_web._tcp.$D"
show dig +short -p "$(dns_port 1)" @127.0.0.1 SRV "_web._tcp.$D"
show dig +short -p "$(dns_port 1)" @127.0.0.1 A "primary.web.service.$D"
show dig +short -p "$(dns_port 1)" @127.0.0.1 PTR "_services._dns-sd._udp.$D"
show dig +short -p "$(dns_port 1)" @127.0.0.1 PTR "_web._tcp.$D"
show dig +short -p "$(dns_port 1)" @127.0.0.1 TXT "web-a._web._tcp.$D"
answers b '"path=/api"' TXT "web-a._web._tcp.$D" || fail "node b does not answer web-a's TXT record"
answers b "web-a._web._tcp.$D" PTR "_web._tcp.$D" || fail "node b does not browse web-a (DNS-SD)"

bold "3. Share configuration through the mounts"
show mkdir -p "$W/a/mnt/config"
printf 'log_level = "info"\nworkers = 4\n' >"$W/a/mnt/config/app.toml"
say "node a writes $W/a/mnt/config/app.toml; node b reads it from its own mount:"
wait_for 10 "config/app.toml on node b" grep -q 'workers = 4' "$W/b/mnt/config/app.toml"
show cat "$W/b/mnt/config/app.toml"
printf 'log_level = "debug"\nworkers = 8\n' >"$W/b/mnt/config/app.toml"
say "node b changes it; node c's handler (--handler '/config/**=...') ran for each change:"
wait_for 10 "node c's handler to see both changes" sh -c "[ \"\$(grep -c app.toml $W/c-handler.log 2>/dev/null)\" -ge 2 ]"
show cat "$W/c-handler.log"
wait_for 10 "node a to see node b's change" grep -q 'workers = 8' "$W/a/mnt/config/app.toml"

bold "4. A node fails, and comes back"
say "kill -9 of node c; its instance web-c drops out of the other nodes' answers"
say "once gossip marks c failed (a few seconds), and returns when c does."
kill -9 "${PIDS[2]}"
wait "${PIDS[2]}" 2>/dev/null || true
PIDS[2]=0
fusermount3 -u "$W/c/mnt" 2>/dev/null || true
t0=$SECONDS
wait_for 30 "web-c to leave node a's answers" not_answers a 8082 SRV "_web._tcp.$D"
say "after $((SECONDS - t0)) s, node a answers:"
show dig +short -p "$(dns_port 0)" @127.0.0.1 SRV "_web._tcp.$D"
answers b 8080 SRV "_web._tcp.$D" || fail "web-a should still be answered by node b"
start c --join 127.0.0.1:"$(gossip_port 0)"
t0=$SECONDS
wait_for 30 "web-c to come back in node a's answers" answers a 8082 SRV "_web._tcp.$D"
say "node c restarted; after $((SECONDS - t0)) s node a answers:"
show dig +short -p "$(dns_port 0)" @127.0.0.1 SRV "_web._tcp.$D"

bold "5. Members, and the signed history of a file"
wait_for 20 "three live members again" alive_members 3
show "$BIN" --data-dir "$W/a" members demo
show "$BIN" --data-dir "$W/a" log demo /config/app.toml

bold "Done: the tour took $SECONDS s"
if [ $KEEP -eq 1 ]; then
  say "The cluster keeps running (--keep):"
  for n in a b c; do
    i=$(index_of "$n")
    say "  node $n: pid ${PIDS[$i]}, mount $W/$n/mnt, DNS 127.0.0.1:$(dns_port "$i"), data $W/$n"
  done
  say "Stop it with:"
  say "  kill ${PIDS[*]}; rm -rf $W"
else
  say "Everything it started is stopped and unmounted now. To keep the cluster: contrib/demo.sh --keep"
fi
say "Try next (README.md, Using it): 'basefs publish' without a mount, health checks"
say "(--check-http), zone files under /zones, grants and revert, run --join on another machine."
