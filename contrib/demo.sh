#!/usr/bin/env bash
# The main job, end to end on this machine: installs what is missing, builds,
# then
#  1. bootstraps a filesystem in a fresh data directory, writes and reads
#     files through the basefs command and shows the tree;
#  2. runs three nodes on loopback — the first serves the filesystem, the
#     second is cloned with `basefs get`, the third clones itself with
#     `run --join` — writes on one node and reads on the others.
# Everything it starts it stops (by PID) before it exits.
set -euo pipefail
cd "$(dirname "$0")/.."
bash contrib/install-deps.sh
bash contrib/build.sh build >/dev/null
BIN=$PWD/build/cli/basefs
HOME_DIR=$(mktemp -d)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  rm -rf "$HOME_DIR"
}
trap cleanup EXIT
node() { local n=$1; shift; "$BIN" --data-dir "$HOME_DIR/$n" "$@"; }
wait_for() {  # wait_for SECONDS COMMAND...: polls until the command succeeds
  local deadline=$((SECONDS + $1)); shift
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || { echo "timed out waiting for: $*" >&2; return 1; }
    sleep 0.1
  done
}

echo "== one node, no daemon"
set -x
node a genkey
node a bootstrap demo --domain example.org
node a mkdir -p demo /etc/app
printf 'listen = 8080\nworkers = 4\n' | node a write demo /etc/app/app.toml
node a cat demo /etc/app/app.toml
printf 'listen = 9090\nworkers = 4\n' | node a write demo /etc/app/app.toml
node a log demo /etc/app/app.toml
node a show demo
set +x

echo "== three nodes on loopback"
PORT=$((20000 + RANDOM % 20000))
"$BIN" --data-dir "$HOME_DIR/a" run demo --bind 127.0.0.1:$PORT --node-name a --dns 127.0.0.1:0 \
  >"$HOME_DIR/a.log" 2>&1 &
PIDS+=($!)
wait_for 10 node a members demo
set -x
node b get demo 127.0.0.1:$PORT
set +x
"$BIN" --data-dir "$HOME_DIR/b" run demo --bind 127.0.0.1:$((PORT + 1)) --node-name b --join 127.0.0.1:$PORT \
  --dns 127.0.0.1:0 >"$HOME_DIR/b.log" 2>&1 &
PIDS+=($!)
"$BIN" --data-dir "$HOME_DIR/c" run demo --bind 127.0.0.1:$((PORT + 2)) --node-name c --join 127.0.0.1:$PORT \
  --dns 127.0.0.1:0 >"$HOME_DIR/c.log" 2>&1 &
PIDS+=($!)
wait_for 20 sh -c "'$BIN' --data-dir '$HOME_DIR/a' members demo | grep -c alive | grep -qx 3"
set -x
node a members demo
KEY_B=$(node b genkey)
node a grant demo /services "$KEY_B"
set +x
wait_for 10 sh -c "'$BIN' --data-dir '$HOME_DIR/b' keys demo | grep -q /services"
set -x
printf 'port = 8080\n' | node b write demo /services/web-b1
set +x
wait_for 10 node c cat demo /services/web-b1
set -x
node c cat demo /services/web-b1
node a cat demo /services/web-b1
node c status demo
