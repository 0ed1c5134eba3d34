#!/usr/bin/env bash
# t_gc_freestate.sh — test/gc/t_gc_freestate under GOALLOC_GC=report, then collect (with
# GOALLOC_GOGC=10, so that the heap triggers cycles of its own between the program's), then collect
# with GOALLOC_GC_VERIFY=1: blocks on free lists, in outboxes and inboxes, transfer batches, cached
# large spans, the orphan cache and deferred frees are never found unreachable nor freed again;
# nothing is reported at exit; goalloc never ends the program (a double free would).
# Env: GOALLOC_LIB (the library), GOALLOC_BUILD (build directory, default build).
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root" || exit 1
lib=${GOALLOC_LIB:-$root/build/libgoalloc.so}
build=${GOALLOC_BUILD:-build}
prog=$build/test/gc/t_gc_freestate
if [ ! -f "$lib" ]; then
	echo "1..0 # SKIP $lib not built"
	exit 0
fi
if [ ! -x "$prog" ]; then
	echo "1..0 # SKIP $prog not built (make gc-tests)"
	exit 0
fi
unset GOALLOC_GC GOALLOC_GCTRACE GOALLOC_GOGC GOALLOC_FORCEGC GOALLOC_GC_PAGEMAP GOALLOC_GC_VERIFY \
	GOALLOC_LEAK_EXITCODE GOALLOC_LOG GOALLOC_SUPPRESSIONS GOALLOC_PROFILE_RATE GOALLOC_STATS
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT

n=0
tap() {
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fi
}
diag() { sed 's/^/# /'; }

# run NAME SIGNAL-PHASE-SECONDS [VAR=VALUE ...]
run() {
	local name=$1 secs=$2
	shift 2
	timeout -k 5 60 env "$@" LD_PRELOAD="$lib" "$prog" "$secs" >"$d/$name.out" 2>"$d/$name.err"
	echo $? >"$d/$name.rc"
}

program_checks() {
	local name=$1 l
	while IFS= read -r l; do
		case "$l" in
		"ok - "*) tap 0 "[$name] ${l#ok - }" ;;
		"not ok - "*) tap 1 "[$name] ${l#not ok - }" ;;
		"# "*) echo "$l" ;;
		esac
	done <"$d/$name.out"
	grep -q '^done ' "$d/$name.out"
	tap $? "[$name] the program ran to its end"
	local rc
	rc=$(cat "$d/$name.rc")
	[ "$rc" = 0 ]
	tap $? "[$name] exit status 0 (got $rc)"
	[ ! -s "$d/$name.err" ]
	tap $? "[$name] nothing on stderr: no leak report, no error from goalloc"
	head -30 "$d/$name.err" | diag
}

run report 0.6 GOALLOC_GC=report
if grep -q '^SKIP' "$d/report.out"; then
	echo "1..0 # $(grep -m1 '^SKIP' "$d/report.out")"
	exit 0
fi
program_checks report
run collect 0.6 GOALLOC_GC=collect GOALLOC_GOGC=10
program_checks collect
run verify 0.3 GOALLOC_GC=collect GOALLOC_GOGC=10 GOALLOC_GC_VERIFY=1
program_checks verify
echo "1..$n"
