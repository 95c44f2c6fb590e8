#!/usr/bin/env bash
# Checks the include graph against the layering the build declares.
#
# Each folder's library, basefs_<folder>, lists the folders it may use in
# its own CMakeLists.txt (target_link_libraries(basefs_<folder> ...
# basefs_<other> ...)): that is the declared DAG of ../shared/DESIGN.md,
#   base <- store <- replicate, zones, fuse <- api, dns <- daemon <- cli.
# A file in a folder may include headers of its own folder and of the
# folders its library links, directly or through them; any other include
# of a project header — one that runs up or across the layering — is an
# error. tests/ and contrib/ sit on top and may include anything.
#
# Usage: contrib/check-layers.sh [SOURCE_DIR]   exit 0: the graph matches
set -euo pipefail
cd "${1:-$(dirname "$0")/..}"
folders=(base store replicate zones api fuse dns daemon cli)

declare -A direct
for f in "${folders[@]}"; do
  [ -f "$f/CMakeLists.txt" ] || { echo "check-layers: $f/CMakeLists.txt is missing" >&2; exit 1; }
  # The library's own target_link_libraries call, up to its closing parenthesis.
  deps=$(awk -v t="basefs_$f" '
    index($0, "target_link_libraries(" t " ") { on = 1 }
    on { print; if (index($0, ")")) exit }' "$f/CMakeLists.txt" |
    grep -o 'basefs_[a-z]*' | sed 's/^basefs_//' | grep -vx "$f" | sort -u | tr '\n' ' ' || true)
  if [ "$f" != base ] && [ -z "$deps" ]; then
    echo "check-layers: no target_link_libraries(basefs_$f ...) in $f/CMakeLists.txt" >&2
    exit 1
  fi
  direct[$f]=$deps
done

# Every folder a folder may use: its direct dependencies and theirs.
declare -A allowed
closure() {
  local f=$1 seen=" " queue=(${direct[$1]}) d
  while [ ${#queue[@]} -gt 0 ]; do
    d=${queue[0]}
    queue=("${queue[@]:1}")
    case "$seen" in *" $d "*) continue ;; esac
    if [ "$d" = "$f" ]; then
      echo "check-layers: a cycle through $f" >&2
      exit 1
    fi
    seen="$seen$d "
    queue+=(${direct[$d]:-})
  done
  echo "$seen"
}
for f in "${folders[@]}"; do allowed[$f]=$(closure "$f"); done

bad=0
for f in "${folders[@]}"; do
  while IFS=: read -r file line inc; do
    target=${inc#*\"}
    target=${target%%/*}
    [ "$target" = "$f" ] && continue
    case " ${folders[*]} " in *" $target "*) ;; *) continue ;; esac
    case "${allowed[$f]}" in
      *" $target "*) ;;
      *)
        echo "$file:$line: $f/ may not include $target/ (it may use:${allowed[$f]:- nothing})" >&2
        bad=1
        ;;
    esac
  done < <(grep -nE '^[[:space:]]*#[[:space:]]*include[[:space:]]+"[a-z_]+/' -r --include='*.h' --include='*.cc' "$f" |
           sed -E 's/^([^:]+):([0-9]+):.*#[[:space:]]*include[[:space:]]+"([^"]+)".*/\1:\2:"\3/')
done
if [ $bad -ne 0 ]; then
  echo "check-layers: includes that run against the declared layering (fix the include, or the CMake dependency if the design allows it)" >&2
  exit 1
fi
for f in "${folders[@]}"; do printf '%-10s may use:%s\n' "$f/" "${allowed[$f]}"; done
echo "check-layers: the include graph matches the declared layering"
