#!/usr/bin/env bash
# t_gcs_safepoint.sh — the collector's safe points: runs each scenario of t_gcs_safepoint (see
# the comment at the top of t_gcs_safepoint.c) under GOALLOC_GC=collect and report, each under
# GOALLOC_GC_STOP=signal, ptrace and auto, with GOALLOC_GCTRACE=1 and the trace and reports in
# GOALLOC_LOG=<run dir>/log.%p. Two TAP tests per run:
#   1. the program exits 0 (no crash, no hang: 60 s timeout) and every check it makes passes
#      (fill patterns of live blocks, cycles completed, allocations served, goalloc_gc_stats);
#   2. its log and stderr: no fatal "goalloc:" message, cycles traced ("gc N @" lines), no
#      abandoned cycle where every thread can be stopped; blocked + signal: the "gc N aborted:"
#      line names the blocked thread, and in report mode the exit check says "leak check
#      incomplete"; exit + report: the exit check ran to its SUMMARY line.
# The ptrace runs are skipped when the machine refuses ptrace (probed first: one goalloc_gc()
# under GOALLOC_GC_STOP=ptrace). GCS_MS (default 700) sets each scenario's busy time; the whole
# file takes about 45 s on two cores. GOALLOC_TEST_KEEP=1 keeps the run directories.
cd "$(dirname "$0")/../.." || exit 1
set -u

LIB=${GOALLOC_LIB:-$PWD/build/libgoalloc.so}
case $LIB in /*) ;; *) LIB=$PWD/$LIB ;; esac
BIN=${GOALLOC_BUILD:-build}/test/gc/t_gcs_safepoint
MS=${GCS_MS:-700}
SCENARIOS=(loops sigalloc longjmp threads fork vfork spawn exit blocked)
MODES=(collect report)
STOPS=(signal ptrace auto)
unset LD_PRELOAD GOALLOC_STATS GOALLOC_GC GOALLOC_GC_STOP GOALLOC_LOG GOALLOC_GCTRACE \
	GOALLOC_LEAK_EXITCODE GOALLOC_GOGC GOALLOC_FORCEGC GOALLOC_GC_STOP_TIMEOUT

if [ ! -e "$LIB" ]; then
	echo "1..0 # SKIP no library ($LIB)"
	exit 0
fi
if [ ! -x "$BIN" ]; then
	echo "1..0 # SKIP $BIN not built (make gc-tests)"
	exit 0
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/t_gcs_safepoint.XXXXXX") || exit 1
cleanup() {
	if [ "${GOALLOC_TEST_KEEP:-0}" = 1 ]; then echo "# kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

n=0
failed=0
pass() { n=$((n + 1)); echo "ok $n - $1"; }
fail() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; }
skip() { n=$((n + 1)); echo "ok $n - $1 # SKIP $2"; }
# A known collector bug: reported, not counted (TAP TODO).
todo() { n=$((n + 1)); echo "not ok $n - $1 # TODO $2"; }
diagf() { sed 's/^/# /'; }
status_text() {
	case $1 in
	124 | 137) echo "$1 (timed out)" ;;
	1[3-5][0-9]) echo "$1 (killed by signal $(($1 - 128)): $(kill -l $(($1 - 128)) 2>/dev/null))" ;;
	*) echo "$1" ;;
	esac
}

# Lines that say goalloc gave up: its fatal messages start "goalloc: " (core/fmt.c ga_fatal);
# warnings are allowed.
fatal_lines() {
	cat "$@" 2>/dev/null | grep -E '^goalloc: ' | grep -viE '^goalloc: (warning|note)' || true
}

# ---- which stop mechanisms work here ---------------------------------------------------------
declare -A CAN REASON
for stop in "${STOPS[@]}"; do
	d=$WORK/probe-$stop
	mkdir -p "$d"
	timeout -k 5 30 env LD_PRELOAD="$LIB" GOALLOC_GC=report GOALLOC_GC_STOP="$stop" GOALLOC_GCTRACE=1 \
		GOALLOC_LOG="$d/log.%p" "$BIN" probe >"$d/out" 2>"$d/err" </dev/null
	rc=$?
	CAN[$stop]=$rc
	REASON[$stop]=$(cat "$d/out" "$d/err" "$d"/log.* 2>/dev/null | grep -vE '^gc [0-9]+ @' | head -3 | tr '\n' ' ')
done
if [ "${CAN[auto]}" = 2 ] && [ "${CAN[signal]}" = 2 ]; then
	echo "1..0 # SKIP the collector is not in $LIB or refused to start: ${REASON[auto]}"
	exit 0
fi

echo "1..$((${#MODES[@]} * ${#STOPS[@]} * ${#SCENARIOS[@]} * 2))"
for stop in "${STOPS[@]}"; do
	echo "# probe GOALLOC_GC_STOP=$stop: exit ${CAN[$stop]}: ${REASON[$stop]}"
done

# Is the ptrace failure a refusal (skip) rather than a bug (run, and fail)? A refusal is said so:
# the start-up warning or the abort reason names ptrace and why it cannot be used.
skip_reason() {
	local stop=$1
	[ "${CAN[$stop]}" = 0 ] && return 1
	if [ "$stop" = ptrace ] && grep -qiE 'ptrace.*(refus|not permitted|EPERM|denied|unavailable|not available|not supported|cannot|disabled)' \
		<<<"${REASON[$stop]}"; then
		echo "GOALLOC_GC_STOP=ptrace refused here: ${REASON[$stop]}"
		return 0
	fi
	if grep -q '^TracerPid:[[:space:]]*[1-9]' /proc/self/status && [ "$stop" = ptrace ]; then
		echo "this test runs under a tracer: ptrace is refused"
		return 0
	fi
	return 1
}

# Known collector bugs, by run: echo a reason to turn that test into a TODO.
#   todo_reason MODE STOP SCENARIO PART(run|log)
todo_reason() {
	# A SIGALRM handler that leaves malloc by siglongjmp: the GC modes send more allocations
	# through slow paths (report records every block's site), and goalloc ends a program whose
	# handler leaves a slow path that way (a lock may be held); under ptrace the run has also
	# been seen to hang. Reproducer: test/gc/gcs_repro_longjmp_sample.c.
	if [ "$3" = longjmp ]; then
		echo "longjmp out of a handler that interrupted a slow path (gcs_repro_longjmp_sample.c)"
	fi
	# Under the signal alone, a thread on its way out blocks every signal (glibc does, in
	# pthread_exit): a cycle that meets one can be abandoned, and on a loaded machine the blocked
	# thread's abort line and exit check have come out otherwise than expected.
	if [ "$2" = signal ] && { [ "$3" = threads ] || [ "$3" = blocked ]; }; then
		echo "signal mode beside exiting or blocking threads on a loaded machine"
	fi
	# exit() while threads allocate and one collects, in report mode: the exit check has been
	# seen to hang (1 run in 4 on a loaded machine); not yet understood.
	if [ "$1" = report ] && [ "$3" = exit ]; then
		echo "report mode's exit check beside allocating and collecting threads has hung"
	fi
	return 0
}

report_test() {
	local desc=$1 ok=$2 why
	why=$(todo_reason "$mode" "$stop" "$sc" "$3")
	if [ "$ok" = 1 ]; then
		pass "$desc"
		[ -n "$why" ] && echo "# (marked TODO but passed: $why)"
		return 0
	fi
	if [ -n "$why" ]; then todo "$desc" "$why"; else fail "$desc"; fi
	return 1
}

run_case() {
	local mode=$1 stop=$2 sc=$3 d rc pid tid plan nok nnot logs main ok why ntrace nabort
	d=$WORK/$mode-$stop-$sc
	mkdir -p "$d"
	local extra=()
	[ "$sc" = blocked ] && extra=(GOALLOC_GC_STOP_TIMEOUT=200)
	timeout -k 5 60 env LD_PRELOAD="$LIB" GOALLOC_GC="$mode" GOALLOC_GC_STOP="$stop" GOALLOC_GCTRACE=1 \
		GOALLOC_LOG="$d/log.%p" GCS_MS="$MS" "${extra[@]}" "$BIN" "$sc" >"$d/out" 2>"$d/err" </dev/null
	rc=$?
	pid=$(sed -n 's/^# pid \([0-9]*\)$/\1/p' "$d/out" | head -1)
	main=$d/log.${pid:-none}

	# 1. exit status and the program's own checks
	plan=$(sed -n 's/^1\.\.\([0-9]*\).*/\1/p' "$d/out" | head -1)
	nok=$(grep -cE '^ok [0-9]+' "$d/out")
	nnot=$(grep -cE '^not ok' "$d/out")
	ok=1
	[ "$rc" = 0 ] || ok=0
	[ -n "$plan" ] && [ "$plan" -gt 0 ] && [ "$nok" = "$plan" ] && [ "$nnot" = 0 ] || ok=0
	grep -q '^Bail out' "$d/out" && ok=0
	if ! report_test "$mode/$stop/$sc: exits 0, every check passes ($nok of ${plan:-?} in-program checks)" $ok run; then
		echo "# exit status $(status_text $rc)"
		grep -vE '^ok ' "$d/out" | head -30 | diagf
		[ -s "$d/err" ] && { echo "# stderr:"; head -10 "$d/err" | diagf; }
		if [ -f "$main" ]; then
			echo "# last lines of $main:"
			grep -vE '^gc [0-9]+ @' "$main" | tail -10 | diagf
		fi
	fi

	# 2. the log
	logs=("$d"/log.*)
	[ -e "${logs[0]}" ] || logs=()
	local problems=()
	local fatal
	fatal=$(fatal_lines "$d/err" "${logs[@]}")
	[ -n "$fatal" ] && problems+=("goalloc's fatal message(s): $(head -3 <<<"$fatal" | tr '\n' ' ')")
	ntrace=0
	[ -f "$main" ] && ntrace=$(grep -cE '^gc [0-9]+ @' "$main")
	[ "$ntrace" -ge 1 ] || problems+=("no 'gc N @' trace line in ${main##*/}")
	nabort=$(cat "${logs[@]}" /dev/null | grep -cE '^gc [0-9]+ aborted')
	if [ "$sc" = blocked ] && [ "$stop" = signal ]; then
		tid=$(sed -n 's/^# blocked-tid \([0-9]*\)$/\1/p' "$d/out" | head -1)
		if ! grep -qE "^gc [0-9]+ aborted: .*\\b${tid:-none}\\b" "$main" 2>/dev/null; then
			problems+=("no 'gc N aborted: ...' line naming the blocked thread ${tid:-?}")
		fi
		if [ "$mode" = report ] && ! grep -q 'leak check incomplete' "$main" 2>/dev/null; then
			problems+=("the exit check (blocked thread still alive) did not say 'leak check incomplete'")
		fi
	else
		[ "$nabort" = 0 ] || problems+=("$nabort abandoned cycle(s): $(cat "${logs[@]}" | grep -m2 -E '^gc [0-9]+ aborted' | tr '\n' ' ')")
		if cat "${logs[@]}" /dev/null | grep -q 'leak check incomplete'; then
			problems+=("an exit check was incomplete: $(cat "${logs[@]}" | grep -m1 'leak check incomplete')")
		fi
	fi
	if [ "$sc" = exit ] && [ "$mode" = report ] && ! grep -qE 'SUMMARY: goalloc: [0-9]+ byte' "$main" 2>/dev/null; then
		problems+=("report mode's exit check printed no SUMMARY line (16 blocks of 4000 bytes were dropped)")
	fi
	ok=1
	[ ${#problems[@]} = 0 ] || ok=0
	if ! report_test "$mode/$stop/$sc: log: $ntrace cycles traced, $nabort abandoned, no fatal message" $ok log; then
		printf '%s\n' "${problems[@]}" | diagf
	fi
}

for mode in "${MODES[@]}"; do
	for stop in "${STOPS[@]}"; do
		why=$(skip_reason "$stop")
		for sc in "${SCENARIOS[@]}"; do
			if [ -n "$why" ]; then
				skip "$mode/$stop/$sc: exits 0, every check passes" "$why"
				skip "$mode/$stop/$sc: log" "$why"
				continue
			fi
			run_case "$mode" "$stop" "$sc"
		done
	done
done

[ "$failed" = 0 ]
