#!/usr/bin/env bash
# lib.sh — shared helpers for the real-program tests (sourced, not run).
#
# Each test runs a program twice, each time in a fresh temporary directory: once plain and
# once with LD_PRELOAD=$GOALLOC_LIB GOALLOC_STATS=1. It then checks that stdout and the exit
# status are identical, that stderr is identical apart from goalloc's own lines (where the
# program's stderr is deterministic), and that the preloaded run's stderr carries goalloc's
# exit statistics, which proves goalloc served the program.
#
#   gt_plan N                        print the plan (or skip everything if there is no library)
#   gt_have PROG...                  all programs present? (else GT_MISSING names the first)
#   gt_run_pair LABEL SETUP -- CMD   run CMD plain and preloaded; SETUP (a function name, or "")
#                                    prepares each fresh run directory first, not preloaded
#   gt_check_stdout DESC [STATUS]    stdout and exit status equal; plain run exited STATUS (0)
#   gt_check_stderr DESC             stderr equal once goalloc's lines are removed
#   gt_check_stats DESC [NPROC]      preloaded stderr holds >= NPROC goalloc stats blocks
#   gt_check_same_file PATH DESC     PATH (relative to the run directory) byte-identical
#   gt_check_pair [NPROC]            the first three checks in a row
#   gt_pass / gt_fail / gt_skip / gt_diag / gt_skip_n
#   gt_done                          exit 0 iff every test passed
#
# Environment: GOALLOC_LIB (default $PWD/build/libgoalloc.so), GOALLOC_TEST_TIMEOUT (seconds
# per run, default 60), GOALLOC_TEST_KEEP=1 keeps the temporary directories for inspection.

# `prove test/programs/*.sh` runs this file too: as a script it is an empty, skipped test.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	echo "1..0 # SKIP helpers sourced by the other scripts"
	exit 0
fi

set -u

GOALLOC_LIB=${GOALLOC_LIB:-$PWD/build/libgoalloc.so}
case $GOALLOC_LIB in /*) ;; *) GOALLOC_LIB=$PWD/$GOALLOC_LIB ;; esac
GT_TIMEOUT=${GOALLOC_TEST_TIMEOUT:-300}
# shellcheck disable=SC2034  # used by the scripts that source this file
GT_SRCDIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# Nothing but the runs themselves may be preloaded, and every run sees the same locale.
unset LD_PRELOAD GOALLOC_STATS
export LC_ALL=C TZ=UTC

# The regexes that identify goalloc's exit report on stderr.
GT_RE_STATS='^goalloc: stats for pid [0-9]+'
GT_RE_TOTAL='^goalloc: total: mallocs [1-9][0-9]*'

gt_n=0
gt_failed=0
GT_WORK=

gt_cleanup() {
	if [ -n "$GT_WORK" ] && [ -d "$GT_WORK" ]; then
		if [ "${GOALLOC_TEST_KEEP:-0}" = 1 ]; then
			echo "# kept $GT_WORK"
		else
			chmod -R u+w "$GT_WORK" 2>/dev/null
			rm -rf "$GT_WORK"
		fi
	fi
}

gt_plan() {
	if [ ! -e "$GOALLOC_LIB" ]; then
		echo "1..0 # SKIP no library ($GOALLOC_LIB)"
		exit 0
	fi
	echo "1..$1"
	GT_WORK=$(mktemp -d "${TMPDIR:-/tmp}/goalloc-programs.XXXXXX") || exit 1
	trap gt_cleanup EXIT
	trap 'exit 130' INT TERM
}

gt_diag() {
	# Every line of the arguments (or of stdin when there are none) as a '#' line.
	if [ $# -gt 0 ]; then
		printf '%s\n' "$@" | sed 's/^/# /'
	else
		sed 's/^/# /'
	fi
}

# gt_diag_file FILE [LINES] : the first LINES (10) lines of FILE as diagnostics.
gt_diag_file() {
	if [ -s "$1" ]; then
		head -"${2:-10}" "$1" | gt_diag
	else
		gt_diag "  (empty)"
	fi
}

gt_pass() {
	gt_n=$((gt_n + 1))
	echo "ok $gt_n - $1"
}

gt_fail() {
	gt_n=$((gt_n + 1))
	gt_failed=$((gt_failed + 1))
	echo "not ok $gt_n - $1"
}

gt_skip() {
	gt_n=$((gt_n + 1))
	echo "ok $gt_n - $1 # SKIP $2"
}

# gt_skip_n REASON DESC... : one skipped test per DESC.
gt_skip_n() {
	local reason=$1 d
	shift
	for d in "$@"; do gt_skip "$d" "$reason"; done
}

gt_done() {
	[ "$gt_failed" -eq 0 ]
	exit $?
}

GT_MISSING=
# shellcheck disable=SC2034  # GT_MISSING is read by the scripts that source this file
gt_have() {
	local p
	for p in "$@"; do
		if ! command -v "$p" >/dev/null 2>&1; then
			GT_MISSING=$p
			return 1
		fi
	done
	return 0
}

# Results of the last gt_run_pair.
GT_LABEL=
GT_RES=
GT_PLAIN_DIR=
GT_PRELOAD_DIR=
GT_SETUP_ERR=

# gt_run_pair LABEL SETUP_FN -- CMD [ARGS...]
# Runs CMD with its working directory, HOME and TMPDIR in a fresh directory, stdin from
# /dev/null, under a timeout; first plain, then preloaded. Occurrences of the run directory's
# path in the output are replaced by <RUNDIR> so that the two runs can be compared.
gt_run_pair() {
	local label=$1 setup=$2 mode d r rc
	shift 2
	[ "${1:-}" = -- ] && shift
	GT_LABEL=$label
	GT_RES=$GT_WORK/res.$label
	GT_SETUP_ERR=
	mkdir -p "$GT_RES"
	for mode in plain preload; do
		d=$(mktemp -d "$GT_WORK/$label.$mode.XXXXXX")
		mkdir "$d/.tmp"
		if [ "$mode" = plain ]; then GT_PLAIN_DIR=$d; else GT_PRELOAD_DIR=$d; fi
		r=$GT_RES/$mode
		if [ -n "$setup" ]; then
			if ! (cd "$d" && HOME=$d TMPDIR=$d/.tmp "$setup") >"$r.setup" 2>&1; then
				GT_SETUP_ERR="setup '$setup' failed in the $mode run directory:"$'\n'$(head -40 "$r.setup")
				return 1
			fi
		fi
		if [ "$mode" = plain ]; then
			(cd "$d" && HOME=$d TMPDIR=$d/.tmp exec timeout -k 10 "$GT_TIMEOUT" \
				env "$@") </dev/null >"$r.out" 2>"$r.err"
		else
			(cd "$d" && HOME=$d TMPDIR=$d/.tmp exec timeout -k 10 "$GT_TIMEOUT" \
				env LD_PRELOAD="$GOALLOC_LIB" GOALLOC_STATS=1 "$@") </dev/null >"$r.out" 2>"$r.err"
		fi
		rc=$?
		echo "$rc" >"$r.rc"
		sed -i "s|$d|<RUNDIR>|g" "$r.out" "$r.err"
	done
	return 0
}

gt_status_text() {
	case $1 in
	124 | 137) echo "$1 (timed out after ${GT_TIMEOUT}s)" ;;
	13[0-9] | 14[0-9] | 15[0-9]) echo "$1 (killed by signal $(($1 - 128)): $(kill -l $(($1 - 128)) 2>/dev/null))" ;;
	*) echo "$1" ;;
	esac
}

# Remove goalloc's own report from a stderr capture.
gt_filter_stderr() {
	grep -Ev '^goalloc:' "$1" || true
}

gt_setup_failed() {
	if [ -n "$GT_SETUP_ERR" ]; then
		gt_fail "$1"
		gt_diag "$GT_SETUP_ERR"
		return 0
	fi
	return 1
}

gt_check_stdout() {
	local desc="$GT_LABEL: $1" want=${2:-0} r=$GT_RES prc lrc ok=1
	gt_setup_failed "$desc" && return 1
	prc=$(cat "$r/plain.rc")
	lrc=$(cat "$r/preload.rc")
	[ "$prc" = "$want" ] || ok=0
	[ "$prc" = "$lrc" ] || ok=0
	[ -s "$r/plain.out" ] || ok=0
	cmp -s "$r/plain.out" "$r/preload.out" || ok=0
	if [ $ok = 1 ]; then
		gt_pass "$desc"
		return 0
	fi
	gt_fail "$desc"
	gt_diag "exit status: plain $(gt_status_text "$prc"), preloaded $(gt_status_text "$lrc") (want $want)"
	if [ "$prc" != "$want" ] || [ ! -s "$r/plain.out" ]; then
		gt_diag "the plain run itself misbehaved (not goalloc's fault); its stderr:"
		gt_diag_file "$r/plain.err" 20
	fi
	if ! cmp -s "$r/plain.out" "$r/preload.out"; then
		gt_diag "stdout differs (- plain, + preloaded):"
		diff -u "$r/plain.out" "$r/preload.out" | tail -n +3 | head -40 | gt_diag
	fi
	if [ "$lrc" != "$want" ]; then
		gt_diag "stderr of the preloaded run:"
		gt_diag_file "$r/preload.err"
	fi
	return 1
}

gt_check_stderr() {
	local desc="$GT_LABEL: $1" r=$GT_RES
	gt_setup_failed "$desc" && return 1
	gt_filter_stderr "$r/plain.err" >"$r/plain.err.f"
	gt_filter_stderr "$r/preload.err" >"$r/preload.err.f"
	if cmp -s "$r/plain.err.f" "$r/preload.err.f"; then
		gt_pass "$desc"
		return 0
	fi
	gt_fail "$desc"
	gt_diag "stderr differs once lines starting 'goalloc:' are removed (- plain, + preloaded):"
	diff -u "$r/plain.err.f" "$r/preload.err.f" | tail -n +3 | head -40 | gt_diag
	return 1
}

gt_check_stats() {
	local desc="$GT_LABEL: $1" min=${2:-1} r=$GT_RES nstats ntotal
	gt_setup_failed "$desc" && return 1
	nstats=$(grep -cE "$GT_RE_STATS" "$r/preload.err")
	ntotal=$(grep -cE "$GT_RE_TOTAL" "$r/preload.err")
	if [ "$nstats" -ge "$min" ] && [ "$ntotal" -ge "$min" ]; then
		gt_pass "$desc"
		gt_diag "goalloc reported for $nstats process(es), at least $min wanted"
		return 0
	fi
	gt_fail "$desc"
	gt_diag "goalloc's exit statistics are missing from the preloaded run's stderr:" \
		"  lines matching '$GT_RE_STATS': $nstats" \
		"  lines matching '$GT_RE_TOTAL': $ntotal" \
		"  wanted at least $min of each (one block per process run under the preload;" \
		"  coreutils and mawk close stderr before exiting, so they are not counted on)" \
		"GOALLOC_LIB=$GOALLOC_LIB -- is that goalloc, and does it honour GOALLOC_STATS=1?" \
		"first lines of the preloaded run's stderr:"
	gt_diag_file "$r/preload.err"
	return 1
}

gt_check_same_file() {
	local rel=$1 desc="$GT_LABEL: $2"
	gt_setup_failed "$desc" && return 1
	if [ -f "$GT_PLAIN_DIR/$rel" ] && cmp -s "$GT_PLAIN_DIR/$rel" "$GT_PRELOAD_DIR/$rel"; then
		gt_pass "$desc"
		return 0
	fi
	gt_fail "$desc"
	if [ ! -f "$GT_PLAIN_DIR/$rel" ] || [ ! -f "$GT_PRELOAD_DIR/$rel" ]; then
		gt_diag "$rel missing from the plain or the preloaded run directory"
	else
		gt_diag "$rel differs: plain $(sha256sum <"$GT_PLAIN_DIR/$rel" | cut -c1-16)," \
			"preloaded $(sha256sum <"$GT_PRELOAD_DIR/$rel" | cut -c1-16)"
		cmp "$GT_PLAIN_DIR/$rel" "$GT_PRELOAD_DIR/$rel" 2>&1 | head -3 | gt_diag
	fi
	return 1
}

# gt_check_pair [NPROC] : the three standard checks (stdout+status, stderr, stats).
gt_check_pair() {
	gt_check_stdout "same stdout and exit status"
	gt_check_stderr "same stderr apart from goalloc's report"
	gt_check_stats "goalloc served it (stats at exit)" "${1:-1}"
}
