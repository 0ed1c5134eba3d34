#!/usr/bin/env bash
# Compare goalloc with glibc malloc, jemalloc, tcmalloc and mimalloc: the Google Benchmark harness,
# the workloads of test/bench/workloads and three real programs (CPython, gcc, sqlite3), each run
# under every allocator, interleaved round by round, timed and with its peak RSS.
#
#   scripts/bench-compare.sh            full run (5 rounds, full-size workloads; ~30-40 minutes)
#   scripts/bench-compare.sh --quick    smoke run (5 rounds, tiny sizes, harness cases warmed up;
#                                       ~11 minutes on 2 busy cores, 4 of them the harness)
#
# Options:
#   --quick            small scales and short benchmark times
#   --rounds N         rounds (default 5); each round runs every case under every allocator in turn
#   --scale X          scale of the workloads in test/bench/workloads (default 1, --quick 0.05)
#   --rows N           rows of the sqlite3 case (default 1000000, --quick 50000)
#   --functions N      functions in the C file of the gcc case (default 2000, --quick 150)
#   --py-scale X       scale of the CPython case (default 1 = 100k records, --quick 0.05)
#   --min-time S       --benchmark_min_time of the harness (default 0.5, --quick 0.05)
#   --warmup S         --benchmark_min_warmup_time of the harness: each case runs this long, untimed,
#                      before it is timed, so no allocator is timed cold (default 0.1, --quick 0.02)
#   --filter REGEX     only the harness cases matching REGEX (--benchmark_filter), e.g.
#                      'WorkingSet|Handoff|Larson|Mstress' or 'BM_Batch.*/10000'
#   --only LIST        comma list of parts: harness,workloads,programs (default all three)
#   --allocators LIST  comma list among goalloc,glibc,jemalloc,tcmalloc,mimalloc (default all)
#   --build DIR        build directory (default build); --out DIR results (default DIR/bench/results)
#   --lib PATH         goalloc library (default DIR/libgoalloc.so)
#   --no-build         do not run `make bench-build` (the binaries must exist)
#   --timeout S        kill a single run after S seconds (default 900, --quick 120)
#
# Results: OUT/runs.csv (one row per program run), OUT/harness.csv (one row per harness case and
# run), OUT/raw/ (harness JSON, stdout and stderr of every run) and OUT/summary.md (the tables,
# also printed). A crash or a wrong checksum is reported in the tables, it does not stop the run.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

QUICK=0 ROUNDS=5 SCALE= ROWS= FUNCS= PYSCALE= MINTIME= WARMUP= FILTER=. ONLY=harness,workloads,programs
ALLOCS=goalloc,glibc,jemalloc,tcmalloc,mimalloc BUILD=build OUT= LIB= BUILD_IT=1 TIMEOUT=
while [ $# -gt 0 ]; do
	case $1 in
	--quick) QUICK=1 ;;
	--rounds) ROUNDS=$2; shift ;;
	--scale) SCALE=$2; shift ;;
	--rows) ROWS=$2; shift ;;
	--functions) FUNCS=$2; shift ;;
	--py-scale) PYSCALE=$2; shift ;;
	--min-time) MINTIME=$2; shift ;;
	--warmup) WARMUP=$2; shift ;;
	--filter) FILTER=$2; shift ;;
	--only) ONLY=$2; shift ;;
	--allocators) ALLOCS=$2; shift ;;
	--build) BUILD=$2; shift ;;
	--out) OUT=$2; shift ;;
	--lib) LIB=$2; shift ;;
	--no-build) BUILD_IT=0 ;;
	--timeout) TIMEOUT=$2; shift ;;
	-h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) echo "bench-compare: unknown option $1 (try --help)" >&2; exit 2 ;;
	esac
	shift
done
if [ "$QUICK" = 1 ]; then
	: "${SCALE:=0.05}" "${ROWS:=50000}" "${FUNCS:=150}" "${PYSCALE:=0.05}" "${MINTIME:=0.05}" "${WARMUP:=0.02}" "${TIMEOUT:=120}"
else
	: "${SCALE:=1}" "${ROWS:=1000000}" "${FUNCS:=2000}" "${PYSCALE:=1}" "${MINTIME:=0.5}" "${WARMUP:=0.1}" "${TIMEOUT:=900}"
fi
[ "$ROUNDS" -ge 1 ] 2>/dev/null || { echo "bench-compare: --rounds needs a positive number" >&2; exit 2; }
BENCH=$BUILD/bench
: "${OUT:=$BENCH/results}"
: "${LIB:=$BUILD/libgoalloc.so}"
PY=/usr/bin/python3
[ -x "$PY" ] || PY=$(command -v python3)
REPORT="$PY $ROOT/test/bench/report.py"
. "$ROOT/scripts/allocators.sh"

# ---- allocators -------------------------------------------------------------------------------
mapfile -t missing_pkgs < <(peers_missing "$ALLOCS")
has "$ONLY" programs && ! command -v sqlite3 >/dev/null && missing_pkgs+=(sqlite3)
has "$ONLY" harness && [ ! -e /usr/include/benchmark/benchmark.h ] && missing_pkgs+=(libbenchmark-dev)
install_pkgs bench-compare "${missing_pkgs[@]}"
if [ "$BUILD_IT" = 1 ]; then
	make --no-print-directory B="$BUILD" bench-build >&2
fi
[ -e "$LIB" ] || { echo "bench-compare: $LIB not found (run make)" >&2; exit 1; }
PRELOAD[goalloc]=$(readlink -f "$LIB")
resolve_allocators bench-compare "$ALLOCS"
ACTIVE_LIST=$(IFS=,; echo "${ACTIVE[*]}")

# ---- inputs -------------------------------------------------------------------------------------
mkdir -p "$OUT/raw" "$OUT/work"
OUT=$(readlink -f "$OUT")
WORK=$OUT/work
rm -f "$OUT/runs.csv" "$OUT/harness.csv" "$OUT"/raw/*
echo "round,case,allocator,status,wall_s,work_s,maxrss_kib,checksum,log" > "$OUT/runs.csv"
echo "round,allocator,case,real_time_ns,cpu_time_ns,error" > "$OUT/harness.csv"
if has "$ONLY" programs; then
	$PY test/bench/programs/gen_c.py "$FUNCS" > "$WORK/gen.c"
	$PY test/bench/programs/sqlite_sql.py "$ROWS" > "$WORK/sqlite.sql"
fi

# run_case ROUND CASE ALLOC STDIN CMD... : one timed run; appends a row to runs.csv.
# Wall time: date around /usr/bin/time (or report.py's wait4 wrapper); peak RSS: ru_maxrss.
HAVE_TIME=0; [ -x /usr/bin/time ] && HAVE_TIME=1
run_case() {
	local rnd=$1 name=$2 alloc=$3 in=$4; shift 4
	local tag="${name//[^A-Za-z0-9_.-]/_}-$alloc-r$rnd"
	local so="$OUT/raw/$tag.out" se="$OUT/raw/$tag.err" tf="$WORK/time.$$"
	local envs=(env -u LD_PRELOAD)
	[ -n "${PRELOAD[$alloc]}" ] && envs=(env "LD_PRELOAD=${PRELOAD[$alloc]}")
	local t0 t1 st wall rss
	rm -f "$tf"
	t0=$(date +%s%N)
	if [ "$HAVE_TIME" = 1 ]; then
		set +e
		timeout -k 10 "$TIMEOUT" /usr/bin/time -f '%e %M %x' -o "$tf" "${envs[@]}" "$@" <"$in" >"$so" 2>"$se"
		st=$?
		set -e
		t1=$(date +%s%N)
		wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f", (b - a) / 1e9 }')
		rss=$(awk 'END { print $2 }' "$tf" 2>/dev/null)
	else
		set +e
		timeout -k 10 "$TIMEOUT" $PY "$ROOT/test/bench/report.py" measure "$tf" -- "${envs[@]}" "$@" \
			<"$in" >"$so" 2>"$se"
		st=$?
		set -e
		read -r wall rss _ <"$tf" 2>/dev/null || true
	fi
	# /usr/bin/time exits with the program's status; a signal shows as 128+n, a timeout as 124
	[ "$st" = 0 ] && [ ! -s "$tf" ] && st=1
	grep -q "^Command terminated by signal" "$se" 2>/dev/null && [ "$st" = 0 ] && st=1
	LAST_STATUS=$st LAST_OUT=$so
	local sum work
	work=$(grep -o 'time=[0-9.]*' "$so" 2>/dev/null | head -1 | cut -d= -f2 || true)
	sum=$(grep -o 'checksum=[0-9a-f]*' "$so" 2>/dev/null | head -1 | cut -d= -f2 || true)
	[ -n "$sum" ] || sum=$(md5sum <"$so" | cut -c1-16)
	[ -n "${CHECKSUM_FILE:-}" ] && sum=$(md5sum <"$CHECKSUM_FILE" 2>/dev/null | cut -c1-16)
	echo "$rnd,$name,$alloc,$st,${wall:-0},$work,${rss:-0},$sum,raw/$tag" >> "$OUT/runs.csv"
	printf '  %-16s %-9s status %-3s %8ss %8s KiB\n' "$name" "$alloc" "$st" "${work:-$wall}" "${rss:-?}" >&2
	rm -f "$tf"
}

WORKLOADS=(server prodcons frag strbuild large bufgrow)
echo "bench-compare: ${ACTIVE[*]}; $ROUNDS rounds; parts $ONLY; scale $SCALE, rows $ROWS," \
	"functions $FUNCS, python scale $PYSCALE, min_time $MINTIME, warm-up $WARMUP; results in $OUT" >&2
for ((r = 1; r <= ROUNDS; r++)); do
	echo "== round $r/$ROUNDS" >&2
	if has "$ONLY" harness; then
		for a in "${ACTIVE[@]}"; do
			j="$OUT/raw/harness-$a-r$r.json"
			run_case "$r" harness "$a" /dev/null "$BENCH/harness" --benchmark_min_time="$MINTIME" \
				--benchmark_min_warmup_time="$WARMUP" --benchmark_out="$j" --benchmark_out_format=json \
				--benchmark_filter="$FILTER"
			$REPORT harness-json "$j" "$a" "$r" "$LAST_STATUS" >> "$OUT/harness.csv"
		done
	fi
	if has "$ONLY" workloads; then
		for w in "${WORKLOADS[@]}"; do
			for a in "${ACTIVE[@]}"; do
				run_case "$r" "wl:$w" "$a" /dev/null "$BENCH/$w" "$SCALE"
			done
		done
	fi
	if has "$ONLY" programs; then
		for a in "${ACTIVE[@]}"; do
			run_case "$r" python3 "$a" /dev/null env PYTHONMALLOC=malloc PYTHONHASHSEED=0 "$PY" \
				"$ROOT/test/bench/programs/alloc_heavy.py" "$PYSCALE"
		done
		for a in "${ACTIVE[@]}"; do
			rm -f "$WORK/gen.o"
			CHECKSUM_FILE=$WORK/gen.o run_case "$r" "gcc -O2 -c" "$a" /dev/null gcc -O2 -c "$WORK/gen.c" -o "$WORK/gen.o"
		done
		for a in "${ACTIVE[@]}"; do
			run_case "$r" sqlite3 "$a" "$WORK/sqlite.sql" sqlite3
		done
	fi
done
# the harness's own time and RSS are not a case of the tables
awk -F, 'NR == 1 || $2 != "harness"' "$OUT/runs.csv" > "$OUT/runs.tmp" && mv "$OUT/runs.tmp" "$OUT/runs.csv"

{
	echo "## Allocator comparison ($(date -u +%Y-%m-%d), $(nproc) CPUs, $ROUNDS rounds$([ "$QUICK" = 1 ] && echo ', --quick'))"
	echo
	echo "goalloc: ${PRELOAD[goalloc]}; peers: glibc $(ldd --version | awk 'NR == 1 { print $NF }')$(for a in jemalloc tcmalloc mimalloc; do
		has "$ACTIVE_LIST" "$a" && printf ', %s' "${PRELOAD[$a]##*/}"; done). Workload scale $SCALE, sqlite3 rows $ROWS, gcc functions $FUNCS, python3 scale $PYSCALE, harness min_time $MINTIME s after a $WARMUP s warm-up per case."
	$REPORT table "$OUT" "$ACTIVE_LIST"
} > "$OUT/summary.md"
cat "$OUT/summary.md"
