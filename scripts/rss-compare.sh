#!/usr/bin/env bash
# RSS over time under glibc malloc, jemalloc, tcmalloc, mimalloc and goalloc: each workload runs
# under every allocator in turn, round after round (interleaved, so drift of a shared machine
# hits all alike), while scripts/rss-sample.c reads the process's VmRSS from /proc/PID/status
# every 10 ms. Results: a CSV of every sample, a CSV of every run, one PNG per workload with the
# curves (gnuplot; installed when absent) and a markdown table of the medians over the rounds.
#
#   scripts/rss-compare.sh            every workload, 3 rounds, full sizes (14 minutes on 2 cores at load 10)
#   scripts/rss-compare.sh --quick    small sizes (2-4 minutes a round on 2 busy cores); `make rss`
#
# Workloads (--only takes their names):
#   growfree  1 GiB of blocks of 16-256 B, all freed, then 5 s idle (test/bench/rss/growfree.c;
#             --quick: 64 MiB, 1 s)
#   frag, strbuild, prodcons, server
#             the workloads of test/bench/workloads at scale 0.1 (--quick 0.02)
#   python3   test/bench/programs/alloc_heavy.py, PYTHONMALLOC=malloc, scale 0.2 (--quick 0.02)
#   gcc       gcc -O2 -c of a generated C file of 300 functions (--quick 40); the sum over the
#             driver and the programs it runs (cc1, as): the only workload measured as a tree
#   sqlite3   test/bench/programs/sqlite_sql.py's script, 100,000 rows (--quick 10,000)
#   bursts    a server loop with bursts: a live set served 1 s between bursts of 256 MiB, 5 times,
#             then 2 s quiet (test/bench/rss/bursts.c; --quick: 32 MiB, 0.3 s, 2 bursts)
#   leaky     test/bench/gc/leaky.c built to never free, 300,000 requests (--quick 30,000):
#             glibc against goalloc with GOALLOC_GC=collect only
#
# Options:
#   --only LIST        comma list of workloads (default all)
#   --rounds N         rounds (default 3); the tables give medians over them
#   --quick            the small sizes above
#   --allocators LIST  comma list among glibc,jemalloc,tcmalloc,mimalloc,goalloc (default all)
#   --out DIR          results (default BUILD/bench/rss)
#   --build DIR        build directory (default build)
#   --lib PATH         goalloc library (default BUILD/libgoalloc.so)
#   --no-build         do not run `make rss-build` (the binaries must exist)
#   --timeout S        kill a run after S seconds (default 600)
#
# Under OUT: runs.csv (workload,allocator,round,status,wall_s,peak_kib,final_kib,mean_kib,
# samples,tree,load1,checksum,log), samples.csv (workload,allocator,round,t_s,rss_kib), a PNG per
# workload (the run of each allocator whose time-weighted mean RSS is its median), raw/ (each
# run's samples, stdout and stderr) and summary.md (the tables, also printed). A crash or a
# checksum that differs from glibc's is marked in the tables; it does not stop the run.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

ALL_WL=growfree,frag,strbuild,prodcons,server,python3,gcc,sqlite3,bursts,leaky
QUICK=0 ROUNDS=3 ONLY=$ALL_WL ALLOCS=glibc,jemalloc,tcmalloc,mimalloc,goalloc BUILD=build OUT= LIB=
BUILD_IT=1 TIMEOUT=600
while [ $# -gt 0 ]; do
	case $1 in
	--quick) QUICK=1 ;;
	--rounds) ROUNDS=$2; shift ;;
	--only) ONLY=$2; shift ;;
	--allocators) ALLOCS=$2; shift ;;
	--out) OUT=$2; shift ;;
	--build) BUILD=$2; shift ;;
	--lib) LIB=$2; shift ;;
	--no-build) BUILD_IT=0 ;;
	--timeout) TIMEOUT=$2; shift ;;
	-h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) echo "rss-compare: unknown option $1 (try --help)" >&2; exit 2 ;;
	esac
	shift
done
. "$ROOT/scripts/allocators.sh"
[ "$ROUNDS" -ge 1 ] 2>/dev/null || { echo "rss-compare: --rounds needs a positive number" >&2; exit 2; }
for w in ${ONLY//,/ }; do
	has "$ALL_WL" "$w" || { echo "rss-compare: unknown workload $w (one of $ALL_WL)" >&2; exit 2; }
done
if [ "$QUICK" = 1 ]; then
	GF_MIB=64 GF_IDLE=1 SCALE=0.02 PYSCALE=0.02 FUNCS=40 ROWS=10000 BU_MIB=32 BU_QUIET=0.3 BU_CYCLES=2
	LEAKY=30000
else
	GF_MIB=1024 GF_IDLE=5 SCALE=0.1 PYSCALE=0.2 FUNCS=300 ROWS=100000 BU_MIB=256 BU_QUIET=1 BU_CYCLES=5
	LEAKY=300000
fi
BENCH=$BUILD/bench
: "${OUT:=$BENCH/rss}"
: "${LIB:=$BUILD/libgoalloc.so}"
PY=/usr/bin/python3
[ -x "$PY" ] || PY=$(command -v python3)

# ---- allocators and packages --------------------------------------------------------------------
mapfile -t missing_pkgs < <(peers_missing "$ALLOCS")
has "$ONLY" sqlite3 && ! command -v sqlite3 >/dev/null && missing_pkgs+=(sqlite3)
command -v gnuplot >/dev/null || missing_pkgs+=(gnuplot-nox)
install_pkgs rss-compare "${missing_pkgs[@]}"
HAVE_GNUPLOT=1
command -v gnuplot >/dev/null || { HAVE_GNUPLOT=0; echo "rss-compare: no gnuplot: no plots" >&2; }
if [ "$BUILD_IT" = 1 ]; then
	make --no-print-directory B="$BUILD" rss-build >&2
fi
[ -e "$LIB" ] || { echo "rss-compare: $LIB not found (run make)" >&2; exit 1; }
SAMPLE=$(readlink -f "$BUILD/rss-sample")
[ -x "$SAMPLE" ] || { echo "rss-compare: $BUILD/rss-sample not found (make rss-build)" >&2; exit 1; }
PRELOAD[goalloc]=$(readlink -f "$LIB")
resolve_allocators rss-compare "$ALLOCS"
# the order of the curves and columns: the peers, then goalloc
ORDERED=()
for a in glibc jemalloc tcmalloc mimalloc goalloc; do
	for b in "${ACTIVE[@]}"; do [ "$a" = "$b" ] && ORDERED+=("$a"); done
done
ACTIVE=("${ORDERED[@]}")

# ---- inputs ---------------------------------------------------------------------------------------
mkdir -p "$OUT/raw" "$OUT/work"
OUT=$(readlink -f "$OUT")
WORK=$OUT/work
rm -f "$OUT/runs.csv" "$OUT/samples.csv" "$OUT"/raw/* "$OUT"/*.png
echo "workload,allocator,round,status,wall_s,peak_kib,final_kib,mean_kib,samples,tree,load1,checksum,log" > "$OUT/runs.csv"
echo "workload,allocator,round,t_s,rss_kib" > "$OUT/samples.csv"
has "$ONLY" gcc && $PY test/bench/programs/gen_c.py "$FUNCS" > "$WORK/gen.c"
has "$ONLY" sqlite3 && $PY test/bench/programs/sqlite_sql.py "$ROWS" > "$WORK/sqlite.sql"

# run WORKLOAD ALLOC ROUND TREE STDIN CMD... : one sampled run under ALLOC (extra environment in
# the array XENV); appends to runs.csv and samples.csv.
run() {
	local wl=$1 alloc=$2 rnd=$3 tree=$4 in=$5; shift 5
	local tag="$wl-$alloc-r$rnd"
	local so="$OUT/raw/$tag.out" se="$OUT/raw/$tag.err" ts="$OUT/raw/$tag.tsv" sf="$WORK/sum.$$"
	local envs=(env -u LD_PRELOAD)
	[ -n "${PRELOAD[${alloc%%-*}]}" ] && envs=(env "LD_PRELOAD=${PRELOAD[${alloc%%-*}]}")
	local targ=() st load
	[ "$tree" = 1 ] && targ=(-t)
	rm -f "$sf"
	load=$(cut -d' ' -f1 /proc/loadavg)
	set +e
	timeout -k 10 "$TIMEOUT" "$SAMPLE" -i 10 -o "$ts" -s "$sf" "${targ[@]}" -- "${envs[@]}" ${XENV[@]+"${XENV[@]}"} \
		"$@" <"$in" >"$so" 2>"$se"
	st=$?
	set -e
	local wall=0 peak=0 final=0 mean=0 n=0
	if [ -s "$sf" ]; then
		eval "$(tr ' ' '\n' <"$sf" | sed -n 's/^\(wall_s\|peak_kib\|final_kib\|mean_kib\|samples\)=\([0-9.]*\)$/\1=\2/p')"
		wall=$wall_s peak=$peak_kib final=$final_kib mean=$mean_kib n=$samples
	fi
	local sum
	if [ -n "${CHECKSUM_FILE:-}" ]; then
		if [ -e "$CHECKSUM_FILE" ]; then sum=$(md5sum <"$CHECKSUM_FILE" | cut -c1-16); else sum=no-output; fi
	else
		sum=$(grep -o 'checksum=[0-9a-f]*' "$so" 2>/dev/null | head -1 | cut -d= -f2 || true)
		[ -n "$sum" ] || sum=$(md5sum <"$so" | cut -c1-16)
	fi
	echo "$wl,$alloc,$rnd,$st,$wall,$peak,$final,$mean,$n,$tree,$load,$sum,raw/$tag" >> "$OUT/runs.csv"
	[ -s "$ts" ] && awk -v p="$wl,$alloc,$rnd" '{ print p "," $1 "," $2 }' "$ts" >> "$OUT/samples.csv"
	printf '  %-9s %-16s r%-2s status %-3s %8ss  peak %8s  final %8s  mean %8s KiB  load %s\n' \
		"$wl" "$alloc" "$rnd" "$st" "$wall" "$peak" "$final" "$mean" "$load" >&2
	rm -f "$sf"
}

echo "rss-compare: ${ACTIVE[*]}; $ROUNDS rounds; workloads $ONLY$([ "$QUICK" = 1 ] && echo ' (--quick)'); results in $OUT; $(uptime | sed 's/.*load/load/')" >&2
for ((r = 1; r <= ROUNDS; r++)); do
	echo "== round $r/$ROUNDS" >&2
	for w in ${ONLY//,/ }; do
		allocs=("${ACTIVE[@]}")
		if [ "$w" = leaky ]; then
			allocs=()
			for a in "${ACTIVE[@]}"; do
				case $a in glibc) allocs+=(glibc) ;; goalloc) allocs+=(goalloc-collect) ;; esac
			done
		fi
		for a in "${allocs[@]}"; do
			XENV=()
			case $w in
			growfree) run "$w" "$a" "$r" 0 /dev/null "$BENCH/rss/growfree" "$GF_MIB" "$GF_IDLE" ;;
			frag|strbuild|prodcons|server) run "$w" "$a" "$r" 0 /dev/null "$BENCH/$w" "$SCALE" ;;
			python3) XENV=(PYTHONMALLOC=malloc PYTHONHASHSEED=0)
				run "$w" "$a" "$r" 0 /dev/null "$PY" "$ROOT/test/bench/programs/alloc_heavy.py" "$PYSCALE" ;;
			gcc) rm -f "$WORK/gen.o"
				CHECKSUM_FILE=$WORK/gen.o run "$w" "$a" "$r" 1 /dev/null gcc -O2 -c "$WORK/gen.c" -o "$WORK/gen.o" ;;
			sqlite3) run "$w" "$a" "$r" 0 "$WORK/sqlite.sql" sqlite3 ;;
			bursts) run "$w" "$a" "$r" 0 /dev/null "$BENCH/rss/bursts" "$BU_MIB" "$BU_QUIET" "$BU_CYCLES" ;;
			leaky) [ "$a" = goalloc-collect ] && XENV=(GOALLOC_GC=collect)
				run "$w" "$a" "$r" 0 /dev/null "$BENCH/gc/leaky-nofree" "$LEAKY" "$LEAKY" ;;
			esac
		done
	done
done

# ---- tables and plots -------------------------------------------------------------------------------
params="growfree $GF_MIB MiB then ${GF_IDLE} s idle; frag/strbuild/prodcons/server scale $SCALE; python3 scale $PYSCALE; gcc $FUNCS functions; sqlite3 $ROWS rows; bursts $BU_MIB MiB, ${BU_QUIET} s quiet, $BU_CYCLES bursts; leaky $LEAKY requests"
peers="glibc $(ldd --version | awk 'NR == 1 { print $NF }')"
for a in jemalloc tcmalloc mimalloc; do
	for b in "${ACTIVE[@]}"; do [ "$a" = "$b" ] && peers="$peers, ${PRELOAD[$a]##*/}"; done
done
$PY test/bench/rss/report.py "$OUT" "$(IFS=,; echo "${ACTIVE[*]}")" "$ROUNDS" "$QUICK" "$params" \
	"goalloc: ${PRELOAD[goalloc]} ($(git log -1 --format=%h 2>/dev/null || echo '?')); peers: $peers" > "$OUT/summary.md"
if [ "$HAVE_GNUPLOT" = 1 ]; then
	# plots.txt: workload, title, then label=file pairs, tab-separated (written by report.py)
	while IFS=$'\t' read -r wl title curves; do
		IFS=$'\t' read -r -a cv <<<"$curves"
		"$ROOT/scripts/rss-plot.sh" "$OUT/$wl.png" "$title" "${cv[@]}" ||
			echo "rss-compare: plot of $wl failed" >&2
	done < "$OUT/plots.txt"
fi
cat "$OUT/summary.md"
