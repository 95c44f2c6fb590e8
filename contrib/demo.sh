#!/usr/bin/env bash
# The main job, end to end on this machine: installs what is missing, builds,
# then bootstraps a filesystem in a fresh data directory, writes and reads
# files through the basefs command, and shows the tree.
set -euo pipefail
cd "$(dirname "$0")/.."
bash contrib/install-deps.sh
bash contrib/build.sh build >/dev/null
basefs() { ./build/cli/basefs --data-dir "$BASEFS_DEMO_HOME" "$@"; }
BASEFS_DEMO_HOME=$(mktemp -d)
trap 'rm -rf "$BASEFS_DEMO_HOME"' EXIT
set -x
basefs genkey
basefs bootstrap demo --domain example.org --seed 127.0.0.1:7400
basefs mkdir -p demo /etc/app
printf 'listen = 8080\nworkers = 4\n' | basefs write demo /etc/app/app.toml
basefs cat demo /etc/app/app.toml
printf 'listen = 9090\nworkers = 4\n' | basefs write demo /etc/app/app.toml
basefs log demo /etc/app/app.toml
basefs ls demo /etc/app
basefs show demo
basefs status demo --json
