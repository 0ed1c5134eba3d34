#!/usr/bin/env bash
# t_gcs_tracer.sh — goalloc's ptrace tracer task never outlives its process. t_gcs_tracer (see the
# comment at its top) ends a process in the middle of back-to-back collections by exit(), _exit(),
# SIGKILL, abort() and execv(), under GOALLOC_GC=collect and report with GOALLOC_GC_STOP=ptrace and
# auto (one of its threads blocks every signal, so auto uses the tracer as well). ROUNDS runs (3 by
# default, GCS_TRACER_ROUNDS) per way, mode and stop, one TAP test for them:
#   - each run's output pipe reaches end-of-file within 20 s of the start (a tracer left behind
#     holds it open: a reader waits for ever), and the status is the one the way gives;
#   - 5 s after each run no task carries its tag (a unique word on its command line, which the
#     tracer shares); any found is reported and killed.
# The runs are skipped when the machine refuses ptrace (probed first with one goalloc_gc()).
cd "$(dirname "$0")/../.." || exit 1
set -u

LIB=${GOALLOC_LIB:-$PWD/build/libgoalloc.so}
case $LIB in /*) ;; *) LIB=$PWD/$LIB ;; esac
BIN=${GOALLOC_BUILD:-build}/test/gc/t_gcs_tracer
PROBE=${GOALLOC_BUILD:-build}/test/gc/t_gcs_safepoint
ROUNDS=${GCS_TRACER_ROUNDS:-3}
WAYS=(exit _exit kill abort exec)
MODES=(collect report)
STOPS=(ptrace auto)
unset LD_PRELOAD GOALLOC_STATS GOALLOC_GC GOALLOC_GC_STOP GOALLOC_LOG GOALLOC_GCTRACE \
	GOALLOC_LEAK_EXITCODE GOALLOC_GOGC GOALLOC_FORCEGC GOALLOC_GC_STOP_TIMEOUT

if [ ! -e "$LIB" ]; then
	echo "1..0 # SKIP no library ($LIB)"
	exit 0
fi
if [ ! -x "$BIN" ] || [ ! -x "$PROBE" ]; then
	echo "1..0 # SKIP $BIN or $PROBE not built (make gc-tests)"
	exit 0
fi
WORK=$(mktemp -d "${TMPDIR:-/tmp}/t_gcs_tracer.XXXXXX") || exit 1
cleanup() {
	if [ "${GOALLOC_TEST_KEEP:-0}" = 1 ]; then echo "# kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
ulimit -c 0 2>/dev/null

probe_out=$(timeout -k 5 30 env LD_PRELOAD="$LIB" GOALLOC_GC=report GOALLOC_GC_STOP=ptrace GOALLOC_GCTRACE=1 \
	GOALLOC_LOG="$WORK/probe.%p" "$PROBE" probe 2>&1 </dev/null)
probe_rc=$?
if [ $probe_rc = 2 ]; then
	echo "1..0 # SKIP the collector is not in $LIB: $probe_out"
	exit 0
fi
if [ $probe_rc != 0 ] || grep -q '^TracerPid:[[:space:]]*[1-9]' /proc/self/status; then
	echo "1..0 # SKIP GOALLOC_GC_STOP=ptrace does not work here: $probe_out $(cat "$WORK"/probe.* 2>/dev/null | head -2)"
	exit 0
fi

echo "1..$((${#WAYS[@]} * ${#MODES[@]} * ${#STOPS[@]}))"
n=0
failed=0

# The status each way ends with.
want_status() {
	case $1 in
	exit | _exit | exec) echo 0 ;;
	kill) echo 137 ;;
	abort) echo 134 ;;
	esac
}

for way in "${WAYS[@]}"; do
	for mode in "${MODES[@]}"; do
		for stop in "${STOPS[@]}"; do
			problems=()
			for r in $(seq "$ROUNDS"); do
				tag=gcstracer$$x$n$r$RANDOM
				d=$WORK/$way-$mode-$stop-$r
				mkdir -p "$d"
				# The program's stdout is a pipe; its reader stops after 20 s. The status of
				# the program itself is written by the subshell that waits for it.
				( timeout -k 2 30 env LD_PRELOAD="$LIB" GOALLOC_GC="$mode" GOALLOC_GC_STOP="$stop" \
					GOALLOC_GCTRACE=1 GOALLOC_LOG="$d/log.%p" "$BIN" "$way" "$tag" 2>"$d/err" </dev/null
				  echo $? >"$d/rc" ) 2>/dev/null | timeout 20 cat >"$d/out"
				reader=${PIPESTATUS[1]}
				rc=$(cat "$d/rc" 2>/dev/null)
				[ "$reader" = 0 ] || problems+=("run $r: its output pipe stayed open 20 s (reader status $reader)")
				[ "$rc" = "$(want_status "$way")" ] ||
					problems+=("run $r: status ${rc:-none}, want $(want_status "$way"); $(head -c 300 "$d/err" | tr '\n' ' ')")
				left=
				for _ in $(seq 50); do
					left=$(pgrep -f -- "$tag" | tr '\n' ' ')
					[ -z "$left" ] && break
					sleep 0.1
				done
				if [ -n "$left" ]; then
					for p in $left; do
						problems+=("run $r: task $p left behind: $(grep -E '^(State|PPid|Tgid)' "/proc/$p/status" 2>/dev/null | tr '\n\t' '  ')")
						kill -9 "$p" 2>/dev/null
					done
				fi
			done
			n=$((n + 1))
			desc="$way/$mode/$stop: $ROUNDS processes ended in the middle of collections, no task left, output pipe closed"
			if [ ${#problems[@]} = 0 ]; then
				echo "ok $n - $desc"
			else
				failed=$((failed + 1))
				echo "not ok $n - $desc"
				printf '%s\n' "${problems[@]}" | head -10 | sed 's/^/# /'
			fi
		done
	done
done
[ "$failed" = 0 ]
