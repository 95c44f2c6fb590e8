#!/usr/bin/env bash
# Installs the Debian 12 packages basefs needs to build, test and benchmark.
# Idempotent: packages already present are left alone. Needs root (or sudo).
set -euo pipefail

build_pkgs=(
  build-essential cmake ninja-build pkg-config
  libsodium-dev libleveldb-dev libsnappy-dev libldns-dev libevent-dev libfuse3-dev
  libcli11-dev libtomlplusplus-dev nlohmann-json3-dev libfmt-dev libspdlog-dev libsystemd-dev
  libgtest-dev libgmock-dev dnsutils bind9-utils
  clang-format clang-tidy lintian systemd man-db
  clang libclang-rt-14-dev  # the fuzz targets (contrib/fuzz.sh)
)
runtime_pkgs=(fuse3 psmisc procps git curl prometheus  # curl and promtool: tests/metrics_test
  python3 python3-consul                             # a real Consul client: tests/http_api_test
  rsync                                              # tools that set and compare times: tests/fuse_posix_test
  chromium chromium-driver python3-selenium)         # the console in a browser: tests/http_api_test

want=("${build_pkgs[@]}" "${runtime_pkgs[@]}")
missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
echo "install-deps: installing ${missing[*]}" >&2
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
