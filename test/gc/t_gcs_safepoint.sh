#!/usr/bin/env bash
# t_gcs_safepoint.sh — the collector's safe points: runs each scenario of t_gcs_safepoint (see
# the comment at the top of t_gcs_safepoint.c) under GOALLOC_GC=collect and report, each under
# GOALLOC_GC_STOP=signal, ptrace and auto, with GOALLOC_GCTRACE=1 and the trace and reports in
# GOALLOC_LOG=<run dir>/log.%p. Three TAP tests per run:
#   1. the program exits 0 (no crash, no hang: 60 s timeout) and every check it makes passes
#      (fill patterns of live blocks, cycles completed, allocations served, goalloc_gc_stats);
#   2. its log and stderr: no fatal "goalloc:" message, cycles traced ("gc N @" lines), no
#      abandoned cycle where every thread can be stopped; blocked + signal: the "gc N aborted:"
#      line names the blocked thread, and in report mode the exit check says "leak check
#      incomplete"; exit + report: the exit check ran to its SUMMARY line;
#   3. no process of the run is left once it has ended (the run directory is on the program's
#      command line, which its forked children and goalloc's cloned tracer task share).
# First, once per mode, the "env" scenario: the program's getenv() sees its environment.
# The ptrace runs are skipped when the machine refuses ptrace (probed first: one goalloc_gc()
# under GOALLOC_GC_STOP=ptrace). GCS_MS (default 700) sets each scenario's busy time; the whole
# file takes about 45-75 s on two cores. GOALLOC_TEST_KEEP=1 keeps the run directories.
# Known collector bugs turn the tests they fail into TAP TODO tests: see todo_reason below.
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

echo "1..$((${#MODES[@]} * ${#STOPS[@]} * ${#SCENARIOS[@]} * 3 + ${#MODES[@]}))"
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
#   todo_reason MODE STOP SCENARIO PART(run|log|left)
# Each names its reproducer in test/gc/; 1 while the bug stands, 0 once gc has the fix.
# LARGE_BUG: GOALLOC_GC=collect freed blocks over 32 KiB that the program still held or had
# freed itself, when another thread ran the cycle (gcs_repro_large_race.c: "free(): double free
# detected" from the sweep or from the program's free). With 1, the collect runs of every scenario
# but loops allocate nothing over 32 KiB (MAXSIZE), so that they still test what they are about,
# and collect/*/loops, which keeps its large blocks, is a TODO. Gone in gc as merged at 7a9e6e8.
LARGE_BUG=0
# ENV_BUG: under GOALLOC_GC=report the program's environ was NULL (gcs_repro_getenv.c): gcsite_init
# primed backtrace() from goalloc's -z initfirst constructor. Gone in gc as merged at 7a9e6e8.
ENV_BUG=0
# LONGJMP_BUG: in report mode a SIGALRM handler that siglongjmps out of a malloc loop could hang
# the next cycle: it could leave glibc's backtrace() (an allocation's sampled stack) holding the
# dynamic loader's lock, which the next report's dladdr waits for. Captures now block every signal
# but the stop signal. What stays: goalloc ends a program whose handler leaves one of goalloc's
# slow paths by longjmp ("a signal handler left goalloc by longjmp in the middle of an allocation
# or free"), by design and with GOALLOC_GC=off too (gcs_repro_longjmp_sample.c: the handler lands
# where a refill writes the free marks of a fresh span). A longjmp run that ends that way alone is a
# TODO (slowpath_jump). Another failure, not yet understood, remains: report/auto/longjmp failed in
# 1 of 2 clean-clone suite runs (debug flavour), and passed every run alone since; until it is
# found, any longjmp failure is a TODO.
LONGJMP_BUG=1
# SITE_LOCK_BUG: under report with GOALLOC_GC_STOP=signal, cycles are abandoned whenever a thread
# allocates during one: it waits for site_lock, which the collector holds, with every signal
# blocked (gcs_repro_site_lock.c; since gc f0cced0). Fixed at main b85c028.
SITE_LOCK_BUG=0
# HELPER_BUG: a process that exited or died while a cycle used ptrace (GOALLOC_GC_STOP=ptrace, or
# auto once some thread blocks the stop signal for a moment) could leave goalloc's tracer task
# behind, asleep for ever, holding the process's file descriptors. The tracer now dies with the
# thread that started it (PR_SET_PDEATHSIG); t_gcs_tracer.sh ends processes every way in the middle
# of cycles.
HELPER_BUG=0
# EXIT_HANG_BUG: report mode's exit check, run by exit() while three threads allocate and one
# collects, now and then never ended: a worker in dlopen (glibc's first backtrace() loads libgcc_s)
# allocated with the loader's lock held and waited for the cycle under way, whose report waited
# for that lock in dladdr; the exit check waited for both. Triggered cycles no longer wait for one
# under way, and the exit waits a bounded time (t_gcs_loader.sh).
EXIT_HANG_BUG=0
# EXITING_THREAD_BUG: under GOALLOC_GC_STOP=signal alone, a thread on its way in or out blocks
# every signal (glibc does, in pthread_create and thread exit); a cycle that meets one backs off
# and tries again until the stop timeout. Beside three busy loops on two cores the threads scenario
# still had a cycle abandoned ("thread N could not be stopped within 1000 ms (it blocks signal
# 23)") in 1 run of 10, so it stays a TODO there; blocked passed every loaded run (12 of 12) and is
# a real test again.
EXITING_THREAD_BUG=1
# Did run_case's run (its directory $d) end by goalloc's message for a handler that left a slow
# path by longjmp, and by nothing else?
slowpath_jump() {
	local f
	f=$(fatal_lines "$d/err" "$d"/log.*)
	[ -n "$f" ] && ! grep -qv 'left goalloc by longjmp in the middle of an allocation or free' <<<"$f" &&
		! grep -q '^Bail out' "$d/out" 2>/dev/null
}
todo_reason() {
	local mode=$1 stop=$2 sc=$3 part=$4
	if [ "$part" = left ]; then
		if [ $HELPER_BUG = 1 ] && [ "$stop" != signal ]; then
			echo "collector bug: goalloc's ptrace tracer task can outlive the process (t_gcs_tracer.sh)"
		fi
	elif [ "$sc" = env ] && [ "$mode" = report ] && [ $ENV_BUG = 1 ]; then
		echo "collector bug: environ is NULL under GOALLOC_GC=report (gcs_repro_getenv.c)"
	elif [ "$sc" = exit ] && [ "$mode" = report ] && [ $EXIT_HANG_BUG = 1 ]; then
		echo "collector bug: report mode's exit check beside allocating and collecting threads has hung"
	elif [ "$sc" = longjmp ] && slowpath_jump; then
		echo "a handler left one of goalloc's slow paths by longjmp: goalloc ends the program, by design (gcs_repro_longjmp_sample.c)"
	elif [ "$sc" = longjmp ] && [ $LONGJMP_BUG = 1 ]; then
		echo "a handler's siglongjmp out of malloc under report: a rare failure not yet understood (gcs_repro_longjmp_sample.c)"
	elif [ "$mode" = report ] && [ "$stop" = signal ] && [ "$sc" != blocked ] && [ "$sc" != env ] &&
		[ $SITE_LOCK_BUG = 1 ]; then
		echo "collector bug: report + signal abandons cycles, a thread waits for site_lock with signals blocked (gcs_repro_site_lock.c)"
	elif [ "$stop" = signal ] && [ "$sc" = threads ] && [ $EXITING_THREAD_BUG = 1 ]; then
		echo "signal mode beside threads that start and exit, on a loaded machine"
	elif [ "$mode" = collect ] && [ "$sc" = loops ] && [ $LARGE_BUG = 1 ]; then
		echo "collector bug: collect frees large blocks still in use (gcs_repro_large_race.c)"
	fi
}
maxsize() {
	if [ "$1" = collect ] && [ "$2" != loops ] && [ $LARGE_BUG = 1 ]; then echo 32768; else echo 0; fi
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
		GOALLOC_LOG="$d/log.%p" GCS_ENVCHECK=yes "${extra[@]}" \
		"$BIN" "$sc" "$mode" "$stop" "$MS" "$(maxsize "$mode" "$sc")" "$d" >"$d/out" 2>"$d/err" </dev/null
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
	# (blocked + signal: no cycle of the program's can complete; the abort lines are checked below)
	if [ "$ntrace" -lt 1 ] && ! { [ "$sc" = blocked ] && [ "$stop" = signal ]; }; then
		problems+=("no 'gc N @' trace line in ${main##*/}")
	fi
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

	# 3. nothing left running (killed here, so that no later run or test sees it)
	local left
	left=$(pgrep -f -- "$d" | tr '\n' ' ')
	ok=1
	[ -z "$left" ] || ok=0
	if ! report_test "$mode/$stop/$sc: no process of the run left behind" $ok left; then
		local p
		for p in $left; do
			echo "# left behind: pid $p, $(grep -E '^(State|PPid)' "/proc/$p/status" 2>/dev/null | tr '\n\t' '  ')"
			kill -9 "$p" 2>/dev/null
		done
	fi
}

# The environment, once per mode.
for mode in "${MODES[@]}"; do
	d=$WORK/$mode-env
	mkdir -p "$d"
	timeout -k 5 30 env LD_PRELOAD="$LIB" GOALLOC_GC="$mode" GOALLOC_LOG="$d/log.%p" GCS_ENVCHECK=yes \
		"$BIN" env "$mode" auto >"$d/out" 2>&1 </dev/null
	rc=$?
	ok=0
	[ $rc = 0 ] && grep -q '^ok 1 ' "$d/out" && ok=1
	sc=env stop=auto report_test "$mode: the program's getenv() sees its environment" $ok run ||
		grep -vE '^(ok|1\.\.)' "$d/out" | head -5 | diagf
done

for mode in "${MODES[@]}"; do
	for stop in "${STOPS[@]}"; do
		why=$(skip_reason "$stop")
		for sc in "${SCENARIOS[@]}"; do
			if [ -n "$why" ]; then
				skip "$mode/$stop/$sc: exits 0, every check passes" "$why"
				skip "$mode/$stop/$sc: log" "$why"
				skip "$mode/$stop/$sc: no process left behind" "$why"
				continue
			fi
			run_case "$mode" "$stop" "$sc"
		done
	done
done

[ "$failed" = 0 ]
