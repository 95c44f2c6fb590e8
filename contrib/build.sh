#!/usr/bin/env bash
# Configures and builds basefs into build/ (or $1), passing any further
# arguments to cmake. Uses every core.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build}
shift || true
cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
cmake --build "$dir" -j"$(nproc)"
