#!/usr/bin/env bash
# t_gcs_loader.sh — collections beside a thread in the dynamic loader (see t_gcs_loader.c): under
# GOALLOC_GC=report with GOALLOC_GOGC=1, each of GOALLOC_GC_STOP=signal, ptrace and auto, ROUNDS
# runs (2 by default, GCS_LOADER_ROUNDS) of GCS_MS ms (1500). One TAP test per stop: every run
# exits 0 within 60 s (no "Bail out!" from the program's watchdog), every in-program check passes,
# no fatal "goalloc:" message. The ptrace runs are skipped when the machine refuses ptrace.
cd "$(dirname "$0")/../.." || exit 1
set -u

LIB=${GOALLOC_LIB:-$PWD/build/libgoalloc.so}
case $LIB in /*) ;; *) LIB=$PWD/$LIB ;; esac
B=${GOALLOC_BUILD:-build}
BIN=$B/test/gc/t_gcs_loader
SO=$PWD/$B/test/gc/lib_gc_root.so
PROBE=$B/test/gc/t_gcs_safepoint
ROUNDS=${GCS_LOADER_ROUNDS:-2}
MS=${GCS_MS:-1500}
STOPS=(signal ptrace auto)
unset LD_PRELOAD GOALLOC_STATS GOALLOC_GC GOALLOC_GC_STOP GOALLOC_LOG GOALLOC_GCTRACE \
	GOALLOC_LEAK_EXITCODE GOALLOC_GOGC GOALLOC_FORCEGC GOALLOC_GC_STOP_TIMEOUT

if [ ! -e "$LIB" ]; then
	echo "1..0 # SKIP no library ($LIB)"
	exit 0
fi
if [ ! -x "$BIN" ] || [ ! -e "$SO" ] || [ ! -x "$PROBE" ]; then
	echo "1..0 # SKIP $BIN, $SO or $PROBE not built (make gc-tests)"
	exit 0
fi
WORK=$(mktemp -d "${TMPDIR:-/tmp}/t_gcs_loader.XXXXXX") || exit 1
cleanup() {
	if [ "${GOALLOC_TEST_KEEP:-0}" = 1 ]; then echo "# kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "1..${#STOPS[@]}"
n=0
failed=0
for stop in "${STOPS[@]}"; do
	n=$((n + 1))
	desc="report/$stop: $ROUNDS runs of dlopen/dlclose beside triggered and back-to-back cycles end, every check passes"
	if [ "$stop" = ptrace ]; then
		probe=$(timeout -k 5 30 env LD_PRELOAD="$LIB" GOALLOC_GC=report GOALLOC_GC_STOP=ptrace \
			GOALLOC_LOG="$WORK/probe.%p" "$PROBE" probe 2>&1 </dev/null)
		if [ $? != 0 ]; then
			echo "ok $n - $desc # SKIP GOALLOC_GC_STOP=ptrace does not work here: $probe"
			continue
		fi
	fi
	problems=()
	for r in $(seq "$ROUNDS"); do
		d=$WORK/$stop-$r
		mkdir -p "$d"
		timeout -k 5 60 env LD_PRELOAD="$LIB" GOALLOC_GC=report GOALLOC_GC_STOP="$stop" GOALLOC_GOGC=1 \
			GOALLOC_GCTRACE=1 GOALLOC_LOG="$d/log.%p" "$BIN" "$SO" "$MS" >"$d/out" 2>"$d/err" </dev/null
		rc=$?
		plan=$(sed -n 's/^1\.\.\([0-9]*\).*/\1/p' "$d/out" | head -1)
		nok=$(grep -cE '^ok [0-9]+' "$d/out")
		fatal=$(cat "$d/err" "$d"/log.* 2>/dev/null | grep -E '^goalloc: ' | grep -viE '^goalloc: (warning|note)' | head -2)
		if [ $rc != 0 ] || [ -z "$plan" ] || [ "$nok" != "$plan" ] || [ -n "$fatal" ]; then
			problems+=("run $r: exit status $rc, $nok of ${plan:-?} checks passed; $(grep -vE '^ok ' "$d/out" | head -4 | tr '\n' ' ') $fatal")
		fi
	done
	if [ ${#problems[@]} = 0 ]; then
		echo "ok $n - $desc"
	else
		failed=$((failed + 1))
		echo "not ok $n - $desc"
		printf '%s\n' "${problems[@]}" | sed 's/^/# /'
	fi
done
[ "$failed" = 0 ]
