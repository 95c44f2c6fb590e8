#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test: first a normal
# build and its mechanical style check (clang-format, clang-tidy:
# contrib/check-style.sh), the .deb (lintian, installed, the systemd unit
# verified: contrib/package.sh), then the same suite under AddressSanitizer
# + UndefinedBehaviorSanitizer, then every fuzz target for a few seconds
# (contrib/fuzz.sh; a fresh corpus from the seeds) to catch regressions.
set -euo pipefail
cd "$(dirname "$0")/.."
bash contrib/install-deps.sh
bash contrib/build.sh build
bash contrib/check-style.sh build
ctest --test-dir build --output-on-failure -j2
bash contrib/package.sh build
bash contrib/build.sh build-asan -DBASEFS_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --test-dir build-asan --output-on-failure -j2
JOBS=2 bash contrib/fuzz.sh "${FUZZ_SECONDS:-10}"
