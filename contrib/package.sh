#!/usr/bin/env bash
# Builds the .deb (CPack) from a build directory, checks it with lintian
# (no errors allowed), installs it (as root), runs `basefs --version` from
# it, checks the systemd unit with `systemd-analyze verify`, and removes it.
#
# Usage: contrib/package.sh [BUILD_DIR=build]   (prints the .deb's path last)
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build}
for tool in lintian dpkg-deb systemd-analyze man; do
  command -v "$tool" >/dev/null || { echo "package: $tool is missing (apt-get install lintian systemd)" >&2; exit 1; }
done
# The build type the suite tests (GCC 12 at -O3 warns falsely in <string>);
# CPack strips the debug information and installs under /usr.
cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
if ! cmake --build "$dir" -j"$(nproc)" >"$dir/build.log" 2>&1; then
  grep -E -A8 'error|FAILED' "$dir/build.log" | head -40 >&2
  exit 1
fi
(cd "$dir" && cpack -G DEB >/dev/null)
deb=$(ls -t "$dir"/basefs_*.deb | head -n 1)
echo "package: $deb"
dpkg-deb --info "$deb" | sed -n 's/^ \(Package\|Version\|Architecture\|Depends\|Installed-Size\):/  &/p'

# lintian: errors fail; warnings are shown.
lintian --tag-display-limit 0 "$deb" 2>/dev/null | tee "$dir/lintian.txt" | sed 's/^/  /' || true
if grep -q '^E:' "$dir/lintian.txt"; then
  echo "package: lintian reports errors" >&2
  exit 1
fi
echo "package: lintian reports no errors"

# Installed for real (apt resolves its dependencies), the unit verified
# where systemd looks for it, the binary run from /usr/bin, then removed.
if [ "$(id -u)" -ne 0 ]; then
  echo "package: not root: the install check did not run (sudo contrib/package.sh)" >&2
  echo "$deb"
  exit 0
fi
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$(readlink -f "$deb")" >/dev/null
trap 'dpkg --purge basefs >/dev/null 2>&1 || true' EXIT
/usr/bin/basefs --version
man -w basefs >/dev/null
systemd-analyze verify /usr/lib/systemd/system/basefs@.service 2>&1 | tee "$dir/unit.txt" | sed 's/^/  /'
if grep -q . "$dir/unit.txt"; then
  echo "package: systemd-analyze verify reports the above" >&2
  exit 1
fi
echo "package: installed, runs, and systemd-analyze verify accepts basefs@.service"
echo "$deb"
