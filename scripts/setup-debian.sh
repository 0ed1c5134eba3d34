#!/usr/bin/env bash
# Install what building, testing and benchmarking goalloc needs on Debian 12 (idempotent).
set -euo pipefail
SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo
# libclang-rt-14-dev: clang's runtimes (libFuzzer, the sanitizers), only recommended by clang.
# The collector's side-by-side benchmarks (scripts/gc-compare.sh) and tests: libgc-dev (bdwgc),
# liblsan0 (LeakSanitizer to preload), golang-go (Go's own gctrace line), google-perftools
# (google-pprof), time (/usr/bin/time for peak RSS). gnuplot-nox: the plots of RSS over time
# (scripts/rss-compare.sh, the launcher's --rss-plot).
PKGS=(make gcc g++ clang libclang-rt-14-dev valgrind perl git python3 sqlite3 procps binutils pkg-config
      libbenchmark-dev libjemalloc2 libtcmalloc-minimal4 libmimalloc2.0
      libgc-dev liblsan0 golang-go google-perftools time gnuplot-nox)
missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "setup: installing ${missing[*]}"
	$SUDO apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
echo "setup: all build and test dependencies present"
