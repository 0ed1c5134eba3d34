#!/usr/bin/env bash
# t_gcs_gctrace.sh — GOALLOC_GCTRACE=1 prints Go's gctrace line, field for field. Every line that
# starts "gc " must be either
#   GO_RE followed by goalloc's figures in parentheses, " (report: ...)" or " (collect: ...)", or
#   "gc N aborted: why" (a cycle that could not stop every thread);
# where GO_RE is the regular expression of Go 1.19's format (runtime/mgc.go gcMarkTermination):
#   gc N @Ts P%: A+B+C ms clock, D+E/F/G+H ms cpu, X->Y->Z MB, G MB goal, S MB stacks,
#   GL MB globals, N P[ (forced)]
# Runs: python3 (PYTHONMALLOC=malloc, every object through malloc) with GOALLOC_GOGC=10 under the
# default mode (GCTRACE alone turns report on) and under collect; t_gcs_safepoint's "loops"
# scenario, whose goalloc_gc() calls are "(forced)" cycles; its "blocked" scenario under
# GOALLOC_GC_STOP=signal, whose cycles are abandoned. Within one process the cycle numbers rise and
# the @T times never go back. Where Go is installed (Debian golang-go; .ci/run installs it), the
# same GO_RE must accept the lines of a real Go program run with GODEBUG=gctrace=1
# (test/gc/gcs_gotrace.go), forced and not: the expression is Go's and not only goalloc's.
cd "$(dirname "$0")/../.." || exit 1
set -u

LIB=${GOALLOC_LIB:-$PWD/build/libgoalloc.so}
case $LIB in /*) ;; *) LIB=$PWD/$LIB ;; esac
BIN=${GOALLOC_BUILD:-build}/test/gc/t_gcs_safepoint
PY=/usr/bin/python3
unset LD_PRELOAD GOALLOC_STATS GOALLOC_GC GOALLOC_GC_STOP GOALLOC_LOG GOALLOC_GCTRACE GOALLOC_GOGC \
	GOALLOC_LEAK_EXITCODE GOALLOC_FORCEGC GOALLOC_GC_STOP_TIMEOUT GODEBUG

N='[0-9]+'
F='[0-9.]+'
GO_RE="^gc $N @${F}s $N%: $F\\+$F\\+$F ms clock, $F\\+$F/$F/$F\\+$F ms cpu, $N->$N->$N MB, $N MB goal, $N MB stacks, $N MB globals, $N P( \\(forced\\))?"
GA_RE="$GO_RE \\((report|collect): [^()]*\\)\$"
ABORT_RE="^gc $N aborted: .+"

if [ ! -e "$LIB" ]; then
	echo "1..0 # SKIP no library ($LIB)"
	exit 0
fi
WORK=$(mktemp -d "${TMPDIR:-/tmp}/t_gcs_gctrace.XXXXXX") || exit 1
cleanup() {
	if [ "${GOALLOC_TEST_KEEP:-0}" = 1 ]; then echo "# kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "1..12"
n=0
failed=0
pass() { n=$((n + 1)); echo "ok $n - $1"; }
fail() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; }
skip() { n=$((n + 1)); echo "ok $n - $1 # SKIP $2"; }
skip_n() {
	local why=$1 d
	shift
	for d in "$@"; do skip "$d" "$why"; done
}
# diag LINE... or, without arguments, the lines of stdin, as TAP comments.
diag() {
	if [ $# -gt 0 ]; then printf '%s\n' "$@" | sed 's/^/# /'; else sed 's/^/# /'; fi
}

# check_lines DESC FILE MODE : every "gc " line of FILE is a goalloc trace line of MODE (report,
# collect or any) or an abort line; at least one trace line.
check_lines() {
	local desc=$1 f=$2 mode=$3 re bad ntrace nabort
	case $mode in
	any) re=$GA_RE ;;
	*) re="$GO_RE \\($mode: [^()]*\\)\$" ;;
	esac
	bad=$(grep -E '^gc ' "$f" | grep -vE "$re" | grep -vE "$ABORT_RE")
	ntrace=$(grep -cE "$re" "$f")
	nabort=$(grep -cE "$ABORT_RE" "$f")
	if [ -z "$bad" ] && [ "$ntrace" -ge 1 ]; then
		pass "$desc: all $ntrace trace lines match Go's format + ($mode: ...), $nabort abort lines"
		diag "e.g. $(grep -m1 -E "$re" "$f")"
		return 0
	fi
	fail "$desc: every 'gc ' line matches Go's format + goalloc's figures ($mode)"
	diag "$ntrace matching trace lines, $nabort abort lines; lines that match neither form:"
	head -5 <<<"$bad" | diag
	[ "$ntrace" -ge 1 ] || { diag "first lines of the log:"; head -5 "$f" | diag; }
	diag "expression: $re"
	return 1
}

# check_order DESC FILE : the cycle numbers of the trace lines rise, the @T times never fall.
check_order() {
	local desc=$1 f=$2 out
	out=$(grep -E "$GO_RE" "$f" | awk '{
		num = $2 + 0; t = substr($3, 2) + 0
		if (NR > 1 && num <= last) { print "cycle " num " after cycle " last; exit }
		if (NR > 1 && t < lastt) { print "@" t "s after @" lastt "s (cycle " num ")"; exit }
		last = num; lastt = t
	}')
	if [ -z "$out" ]; then
		pass "$desc: cycle numbers rise and @T times never fall ($(grep -cE "$GO_RE" "$f") lines)"
	else
		fail "$desc: cycle numbers rise and @T times never fall"
		diag "$out"
	fi
}

# One process's log: the one whose pid the program printed, else the largest.
main_log() {
	local d=$1 pid=${2:-}
	if [ -n "$pid" ] && [ -f "$d/log.$pid" ]; then
		echo "$d/log.$pid"
	else
		# shellcheck disable=SC2012  # the logs are named log.PID
		ls -S "$d"/log.* 2>/dev/null | head -1
	fi
}

# Is the collector there at all? (t_gcs_safepoint's probe exits 2 when goalloc_gc is missing or the
# GC modes are off.) Without it only Go's own lines are checked.
ABSENT=
if [ -x "$BIN" ]; then
	timeout -k 5 30 env LD_PRELOAD="$LIB" GOALLOC_GC=report "$BIN" probe >"$WORK/probe" 2>&1
	[ $? = 2 ] && ABSENT="no collector in $LIB: $(head -1 "$WORK/probe")"
fi

# ---- python3 ---------------------------------------------------------------------------------
PYPROG='
import json
rows = []
for i in range(60000):
    rows.append({"id": i, "name": "row%d" % i, "tags": [str(j) for j in range(i % 7)]})
    if i % 5000 == 4999:
        text = json.dumps(rows)
        rows = json.loads(text)[: len(rows) // 2]
print(len(rows), len(text))
'
for mode in report collect; do
	label="python3, $([ $mode = report ] && echo "GOALLOC_GCTRACE=1 alone (report)" || echo "GOALLOC_GC=collect")"
	if [ ! -x "$PY" ] || [ -n "$ABSENT" ]; then
		skip_n "${ABSENT:-$PY not installed}" "$label: runs" "$label: lines" "$label: order"
		continue
	fi
	d=$WORK/py-$mode
	mkdir -p "$d"
	extra=()
	[ $mode = collect ] && extra=(GOALLOC_GC=collect)
	timeout -k 5 60 env LD_PRELOAD="$LIB" GOALLOC_GCTRACE=1 GOALLOC_GOGC=10 GOALLOC_LOG="$d/log.%p" \
		"${extra[@]}" PYTHONMALLOC=malloc "$PY" -c "$PYPROG" >"$d/out" 2>"$d/err" </dev/null
	rc=$?
	log=$(main_log "$d")
	ncyc=0
	[ -n "$log" ] && ncyc=$(grep -cE '^gc [0-9]+ @' "$log")
	if [ $rc = 0 ] && [ "$ncyc" -ge 3 ]; then
		pass "$label: exits 0, $ncyc cycles traced (GOALLOC_GOGC=10)"
	else
		fail "$label: exits 0 and traces at least 3 cycles (GOALLOC_GOGC=10)"
		diag "exit status $rc, $ncyc 'gc N @' lines in ${log:-(no log)}; stderr:"
		head -5 "$d/err" | diag
	fi
	if [ -z "$log" ]; then
		skip_n "no log" "$label: lines" "$label: order"
		continue
	fi
	check_lines "$label" "$log" "$mode"
	check_order "$label" "$log"
done

# ---- goalloc_gc(): forced cycles; a blocked thread: abandoned cycles ---------------------------
if [ ! -x "$BIN" ] || [ -n "$ABSENT" ]; then
	skip_n "${ABSENT:-$BIN not built (make gc-tests)}" "forced: runs" "forced: lines" "aborted: runs" "aborted: lines"
else
	d=$WORK/forced
	mkdir -p "$d"
	timeout -k 5 60 env LD_PRELOAD="$LIB" GOALLOC_GC=report GOALLOC_GCTRACE=1 GOALLOC_LOG="$d/log.%p" \
		"$BIN" loops report auto 150 >"$d/out" 2>"$d/err" </dev/null
	rc=$?
	log=$(main_log "$d" "$(sed -n 's/^# pid //p' "$d/out")")
	nforced=0
	[ -n "$log" ] && nforced=$(grep -E "$GO_RE" "$log" | grep -c ' P (forced) ')
	if [ $rc = 0 ] && [ "$nforced" -ge 1 ]; then
		pass "forced: goalloc_gc() back to back: $nforced '(forced)' cycles traced"
	else
		fail "forced: goalloc_gc() back to back traces '(forced)' cycles"
		diag "exit status $rc, $nforced forced lines in ${log:-(no log)}"
		grep -v '^ok' "$d/out" | head -10 | diag
	fi
	if [ -n "$log" ]; then check_lines "forced" "$log" report; else skip "forced: lines" "no log"; fi

	d=$WORK/aborted
	mkdir -p "$d"
	timeout -k 5 60 env LD_PRELOAD="$LIB" GOALLOC_GC=report GOALLOC_GC_STOP=signal GOALLOC_GC_STOP_TIMEOUT=100 \
		GOALLOC_GCTRACE=1 GOALLOC_LOG="$d/log.%p" "$BIN" blocked report signal 150 >"$d/out" 2>"$d/err" </dev/null
	rc=$?
	log=$(main_log "$d" "$(sed -n 's/^# pid //p' "$d/out")")
	nabort=0
	[ -n "$log" ] && nabort=$(grep -cE "$ABORT_RE" "$log")
	if [ $rc = 0 ] && [ "$nabort" -ge 3 ]; then
		pass "aborted: a thread blocking every signal, GOALLOC_GC_STOP=signal: $nabort 'gc N aborted: ...' lines"
		diag "e.g. $(grep -m1 -E "$ABORT_RE" "$log")"
	else
		fail "aborted: a thread blocking every signal, GOALLOC_GC_STOP=signal: 'gc N aborted: ...' lines"
		diag "exit status $rc, $nabort abort lines in ${log:-(no log)}"
		grep -v '^ok' "$d/out" | head -10 | diag
		[ -n "$log" ] && grep -E '^gc ' "$log" | head -5 | diag
	fi
	# Every "gc " line is one of the two forms (this run may also complete cycles, which another
	# thread than the blocked one started: they must match too).
	bad=
	[ -n "$log" ] && bad=$(grep -E '^gc ' "$log" | grep -vE "$GA_RE" | grep -vE "$ABORT_RE")
	if [ -n "$log" ] && [ -z "$bad" ]; then
		pass "aborted: every 'gc ' line is a trace line or '$ABORT_RE'"
	else
		fail "aborted: every 'gc ' line is a trace line or '$ABORT_RE'"
		head -5 <<<"$bad" | diag
	fi
fi

# ---- Go's own lines --------------------------------------------------------------------------
if ! command -v go >/dev/null 2>&1; then
	skip_n "go not installed (Debian package golang-go)" "Go: build gcs_gotrace.go" "Go: its gctrace lines match"
else
	d=$WORK/go
	mkdir -p "$d"
	gocache=$(go env GOCACHE 2>/dev/null)
	if [ -z "$gocache" ] || [ "$gocache" = off ] || ! mkdir -p "$gocache" 2>/dev/null || [ ! -w "$gocache" ]; then
		gocache=$d/gocache
	fi
	if (cd "$d" && GOCACHE=$gocache GOPATH=$d/gopath GOPROXY=off GOFLAGS='' GO111MODULE=off \
		go build -o "$d/gotrace" "$OLDPWD/test/gc/gcs_gotrace.go") >"$d/build.log" 2>&1; then
		pass "Go: build test/gc/gcs_gotrace.go ($(go version | cut -d' ' -f3))"
		GODEBUG=gctrace=1 timeout -k 5 60 "$d/gotrace" >"$d/out" 2>"$d/err" </dev/null
		rc=$?
		ngo=$(grep -cE '^gc ' "$d/err")
		bad=$(grep -E '^gc ' "$d/err" | grep -vE "$GO_RE\$")
		nforced=$(grep -E "$GO_RE\$" "$d/err" | grep -c '(forced)$')
		if [ $rc = 0 ] && [ "$ngo" -ge 3 ] && [ -z "$bad" ] && [ "$nforced" -ge 1 ] && [ "$nforced" -lt "$ngo" ]; then
			pass "Go: the expression accepts all $ngo of Go's own gctrace lines ($nforced forced)"
			diag "e.g. $(grep -m1 -E '^gc ' "$d/err")"
		else
			fail "Go: the expression accepts Go's own gctrace lines, forced and not"
			diag "exit status $rc, $ngo 'gc ' lines, $nforced forced; lines it rejects:"
			head -5 <<<"$bad" | diag
			diag "expression: $GO_RE\$"
		fi
	else
		fail "Go: build test/gc/gcs_gotrace.go"
		head -20 "$d/build.log" | diag
		skip "Go: its gctrace lines match" "no build"
	fi
fi

[ "$failed" = 0 ]
