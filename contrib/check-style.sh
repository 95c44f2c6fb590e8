#!/usr/bin/env bash
# The one mechanical style, checked: every C++ file as clang-format writes
# it (.clang-format), and no finding of clang-tidy's chosen checks
# (.clang-tidy) in any file the build compiles.
#
# Usage: contrib/check-style.sh [BUILD_DIR=build]   (needs compile_commands.json there)
#        contrib/check-style.sh --fix                (reformats in place, then checks)
set -euo pipefail
cd "$(dirname "$0")/.."
fix=0
if [ "${1:-}" = --fix ]; then
  fix=1
  shift
fi
build=${1:-build}
mapfile -t files < <(git ls-files '*.cc' '*.h')
if [ $fix -eq 1 ]; then clang-format -i "${files[@]}"; fi
if ! clang-format --dry-run --Werror "${files[@]}" 2>/tmp/basefs-format.$$; then
  grep -E '^[^ ].*(error|warning):' /tmp/basefs-format.$$ | cut -d: -f1 | sort -u | sed 's/^/  not formatted: /' >&2
  rm -f /tmp/basefs-format.$$
  echo "check-style: run 'bash contrib/check-style.sh --fix' (clang-format -i)" >&2
  exit 1
fi
rm -f /tmp/basefs-format.$$
echo "check-style: ${#files[@]} files formatted as .clang-format says"

[ -f "$build/compile_commands.json" ] || { echo "check-style: no $build/compile_commands.json; build first" >&2; exit 1; }
# Every translation unit of the project (not CMake's own probes).
mapfile -t units < <(git ls-files '*.cc')
# -Wshadow=local is GCC's; clang does not know it.
if ! run-clang-tidy -quiet -p "$build" -j "$(nproc)" -extra-arg=-Wno-unknown-warning-option \
    "${units[@]/#/$PWD/}" >/tmp/basefs-tidy.$$ 2>&1; then
  # Each finding with the command that found it (the translation unit).
  sed 's/\x1b\[[0-9;]*m//g' /tmp/basefs-tidy.$$ | grep -vE '^[0-9]+ (warnings?|errors?)( and [0-9]+ errors?)? generated' >&2
  rm -f /tmp/basefs-tidy.$$
  echo "check-style: clang-tidy found the above (.clang-tidy)" >&2
  exit 1
fi
rm -f /tmp/basefs-tidy.$$
echo "check-style: clang-tidy finds nothing in ${#units[@]} files"
