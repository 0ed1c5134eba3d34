#!/usr/bin/env bash
# t_rlimit.sh — test/faults/t_rlimit with goalloc preloaded, natively (the limits it sets in its
# children would also bind valgrind's own memory).
# Env: GOALLOC_LIB (default build/libgoalloc.so), GOALLOC_BUILD (default build).
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root" || exit 1
lib=${GOALLOC_LIB:-$root/build/libgoalloc.so}
prog=${GOALLOC_BUILD:-build}/test/faults/t_rlimit
if [ ! -f "$lib" ] || [ ! -x "$prog" ]; then
	echo "1..0 # SKIP $lib or $prog not built"
	exit 0
fi
LD_PRELOAD=$lib exec "$prog"
