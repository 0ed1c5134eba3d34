#!/usr/bin/env bash
# t_faults.sh — run test/faults/t_faults against goalloc's fault-injection flavour (natively:
# valgrind would make its own mmap calls in between).
# Env: GOALLOC_FAULT_LIB (default build/fault/libgoalloc.so), GOALLOC_BUILD (default build).
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root" || exit 1
lib=${GOALLOC_FAULT_LIB:-$root/build/fault/libgoalloc.so}
prog=${GOALLOC_BUILD:-build}/test/faults/t_faults
if [ ! -f "$lib" ]; then
	echo "1..0 # SKIP $lib not built (make fault-lib)"
	exit 0
fi
if [ ! -x "$prog" ]; then
	echo "1..0 # SKIP $prog not built"
	exit 0
fi
exec env -u LD_PRELOAD "$prog" "$lib"
