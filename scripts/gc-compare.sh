#!/usr/bin/env bash
# goalloc's collector side by side with the tools people use for the same jobs (issue 12,
# "Benchmarks"; test/bench/gc/README.md says what each part measures and how to read it):
#
#   planted   leak finders on test/bench/gc/planted.c: goalloc GOALLOC_GC=report, LeakSanitizer
#             (LD_PRELOAD=liblsan.so.0) and valgrind memcheck --leak-check=full; found / false
#             per planted block
#   programs  the same finders on python3 (PYTHONMALLOC=malloc), gcc -O2 -c of a generated C
#             file and git operations on a generated repository: time and peak RSS as ratios to
#             a plain run (goalloc with the GC off too, to separate the allocator from the GC)
#   gcbench   GCBench: bdwgc, goalloc GOALLOC_GC=collect (malloc, no free), glibc with and
#             without frees, goalloc GC off with frees: time and peak RSS
#   leaky     a leaky server loop, the same five, plus its RSS every 10^5 requests
#   pauses    a live heap of 10 MB, 100 MB and 1 GB: goalloc_gc() under GOALLOC_GCTRACE=1 against
#             bdwgc's GC_gcollect (one marker and parallel markers): pause, mark rate
#
# Every part runs its variants interleaved (round 1: each variant once, round 2: ...), so drift of
# a shared machine hits all of them alike; the tables give medians, and the load average (1 min)
# is recorded before every run and printed beside the tables.
#
# Options:
#   --quick          smaller sizes and 3 rounds (about 10 minutes; without memcheck on programs)
#   --only LIST      comma list of parts: planted,programs,gcbench,leaky,pauses; also leaks
#                    (= planted,programs), collect (= gcbench,leaky), all (default)
#   --rounds N       rounds for every part (default 5; gcbench 11, it is cheap; --quick 3)
#   --heap-mb LIST   live heaps of the pauses part in MB (default 10,100,1000; --quick 10,100)
#   --cycles N       goalloc_gc()/GC_gcollect() calls per pauses run (default 3)
#   --no-memcheck    leave memcheck out of the programs part (it is 20-80x slower than the rest)
#   --memcheck-rounds N  memcheck runs the programs in the first N rounds only (default 3: about
#                    4-5 minutes a round on 2 cores; its 20x+ ratios are far outside the noise)
#   --goalloc MODE   auto (default): goalloc's columns only when LIB has the collector
#                    (goalloc_gc exported and a cycle completes); yes; no
#   --build DIR      build directory (default build); --out DIR (default DIR/bench/gc)
#   --lib PATH       goalloc library (default DIR/libgoalloc.so)
#   --no-build       do not run `make bench-gc-build` (the binaries must exist)
#   --timeout S      kill a single run after S seconds (default 1200, --quick 300)
#
# Results under OUT: planted.csv, programs.csv, collect.csv, rss.csv, pauses.csv (raw rows),
# raw/ (every run's stdout, stderr and the finders' logs), meta.txt and summary.md (the tables,
# also printed).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

QUICK=0 ROUNDS= ONLY=all BUILD=build OUT= LIB= BUILD_IT=1 TIMEOUT= GOALLOC=auto HEAP_MBS= CYCLES=3
MEMCHECK=1 MC_ROUNDS=3
while [ $# -gt 0 ]; do
	case $1 in
	--quick) QUICK=1 ;;
	--only) ONLY=$2; shift ;;
	--rounds) ROUNDS=$2; shift ;;
	--heap-mb) HEAP_MBS=$2; shift ;;
	--cycles) CYCLES=$2; shift ;;
	--no-memcheck) MEMCHECK=0 ;;
	--memcheck-rounds) MC_ROUNDS=$2; shift ;;
	--goalloc) GOALLOC=$2; shift ;;
	--build) BUILD=$2; shift ;;
	--out) OUT=$2; shift ;;
	--lib) LIB=$2; shift ;;
	--no-build) BUILD_IT=0 ;;
	--timeout) TIMEOUT=$2; shift ;;
	-h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) echo "gc-compare: unknown option $1 (try --help)" >&2; exit 2 ;;
	esac
	shift
done
ONLY=${ONLY//leaks/planted,programs}
ONLY=${ONLY//collect/gcbench,leaky}
ONLY=${ONLY//all/planted,programs,gcbench,leaky,pauses}
. "$ROOT/scripts/allocators.sh"
for p in ${ONLY//,/ }; do
	has planted,programs,gcbench,leaky,pauses "$p" || { echo "gc-compare: unknown part $p" >&2; exit 2; }
done
if [ "$QUICK" = 1 ]; then
	PY_SCALE=0.05 GCC_FUNCS=40 GIT_COMMITS=300 LEAKY_ITERS=200000 LEAKY_EVERY=20000
	: "${HEAP_MBS:=10,100}" "${TIMEOUT:=300}"
	R_DEF=3 R_GCB=3
	MEMCHECK=0
else
	PY_SCALE=0.4 GCC_FUNCS=150 GIT_COMMITS=1500 LEAKY_ITERS=1000000 LEAKY_EVERY=100000
	: "${HEAP_MBS:=10,100,1000}" "${TIMEOUT:=1200}"
	R_DEF=5 R_GCB=11
fi
if [ -n "$ROUNDS" ]; then
	[ "$ROUNDS" -ge 1 ] 2>/dev/null || { echo "gc-compare: --rounds needs a positive number" >&2; exit 2; }
	R_DEF=$ROUNDS R_GCB=$ROUNDS
fi
BENCH=$BUILD/bench/gc
: "${OUT:=$BENCH}"
: "${LIB:=$BUILD/libgoalloc.so}"
PY=/usr/bin/python3
[ -x "$PY" ] || PY=$(command -v python3)
REPORT="$PY $ROOT/test/bench/gc/gcreport.py"

# ---- packages and binaries ----------------------------------------------------------------------
missing=()
[ -e /usr/include/gc.h ] || missing+=(libgc-dev)
[ -e $LIBDIR/liblsan.so.0 ] || missing+=(liblsan0)
command -v valgrind >/dev/null || missing+=(valgrind)
[ -x /usr/bin/time ] || missing+=(time)
command -v git >/dev/null || missing+=(git)
install_pkgs gc-compare "${missing[@]}"
if [ "$BUILD_IT" = 1 ]; then
	make --no-print-directory B="$BUILD" bench-gc-build >&2
fi
[ -e "$LIB" ] || { echo "gc-compare: $LIB not found (run make)" >&2; exit 1; }
LIB=$(readlink -f "$LIB")
LSAN=$LIBDIR/liblsan.so.0
# LeakSanitizer preloaded into a program it was not linked into initialises itself lazily, on
# its first malloc: git and as call an intercepted function (through a null pointer) before that
# and crash. This one-constructor library calls __lsan_init first (test/bench/gc/lsan_init.c).
LSAN_INIT=$(readlink -f "$BENCH/lsan_init.so")

mkdir -p "$OUT/raw" "$OUT/work"
OUT=$(readlink -f "$OUT")
WORK=$OUT/work
RAW=$OUT/raw

# Does LIB have the collector? goalloc_gc exported, and a cycle completes under collect.
GOALLOC_STATE=
if [ "$GOALLOC" != no ]; then
	if ! nm -D --defined-only "$LIB" 2>/dev/null | grep -qw goalloc_gc; then
		GOALLOC_STATE="pending: $LIB has no goalloc_gc (the collector is not in this build)"
	elif ! { env LD_PRELOAD="$LIB" GOALLOC_GC=collect timeout 60 "$BENCH/heap-malloc" 1 1 >"$RAW/probe.out" \
		2>"$RAW/probe.err" || true; } || ! grep -q "^cycle=1 rc=0" "$RAW/probe.out"; then
		GOALLOC_STATE="pending: goalloc_gc() does not complete a cycle in $LIB (raw/probe.out, raw/probe.err)"
	fi
	if [ -n "$GOALLOC_STATE" ] && [ "$GOALLOC" = yes ]; then
		echo "gc-compare: $GOALLOC_STATE; running goalloc's columns all the same" >&2
		GOALLOC_STATE="forced on: ${GOALLOC_STATE#pending: }"
		USE_GOALLOC=1
	elif [ -n "$GOALLOC_STATE" ]; then
		echo "gc-compare: $GOALLOC_STATE; goalloc's columns are left out" >&2
		USE_GOALLOC=0
	else
		USE_GOALLOC=1
	fi
else
	USE_GOALLOC=0 GOALLOC_STATE="pending: left out (--goalloc no)"
fi
lib_commit=$(git -C "$ROOT" log -1 --format='%h %s' 2>/dev/null | cut -c1-100 || echo '?')
# meta.txt: key=value lines for the tables; a run of some parts into an OUT that holds the others'
# results replaces only its own keys
touch "$OUT/meta.txt"
setmeta() { grep -v "^$1=" "$OUT/meta.txt" > "$OUT/meta.tmp" || true; echo "$1=$2" >> "$OUT/meta.tmp"; mv "$OUT/meta.tmp" "$OUT/meta.txt"; }
setmeta date "$(date -u +%Y-%m-%dT%H:%MZ)"
setmeta cpus "$(nproc)"
setmeta lib "$LIB"
setmeta lib_commit "built from $lib_commit"
setmeta goalloc_state "${GOALLOC_STATE:-the collector is present (goalloc_gc completes a cycle).}"
setmeta goalloc_pending "${GOALLOC_STATE:+pending}"
setmeta uptime_start "$(uptime | sed 's/.*load/load/')"

# run CSV ROUND CASE FINDER STDIN CMD... : one timed run (environment in the array ENVS); appends
# round,case,finder,status,wall_s,maxrss_kib,load1,checksum,reported_bytes,check,note,log to CSV
# (check: goalloc's exit checks that were incomplete plus its aborted cycles, from LEAKLOGS).
# Peak RSS: ru_maxrss from /usr/bin/time (for a program that runs others, the largest of them).
# The checksum is CHECKSUM_FILE's md5 if set, else the program's checksum=, else its stdout's md5.
run() {
	local csv=$1 rnd=$2 name=$3 finder=$4 in=$5; shift 5
	local tag="${name//[^A-Za-z0-9_.-]/_}-$finder-r$rnd"
	local so="$RAW/$tag.out" se="$RAW/$tag.err" tf="$WORK/time.$$"
	local t0 t1 st wall rss load
	rm -f "$tf" "$RAW/$tag".*
	load=$(cut -d' ' -f1 /proc/loadavg)
	t0=$(date +%s%N)
	set +e
	timeout -k 10 "$TIMEOUT" /usr/bin/time -f '%e %M %x' -o "$tf" env "${ENVS[@]}" "$@" <"$in" >"$so" 2>"$se"
	st=$?
	set -e
	t1=$(date +%s%N)
	wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f", (b - a) / 1e9 }')
	rss=$(awk 'END { print $2 }' "$tf" 2>/dev/null)
	[ "$st" = 0 ] && [ ! -s "$tf" ] && st=1
	grep -q "^Command terminated by signal" "$tf" 2>/dev/null && [ "$st" = 0 ] && st=1
	local sum
	if [ -n "${CHECKSUM_FILE:-}" ]; then
		if [ -e "$CHECKSUM_FILE" ]; then sum=$(md5sum <"$CHECKSUM_FILE" | cut -c1-16); else sum=no-output-file; fi
	else
		sum=$(grep -o 'checksum=[0-9a-f]*' "$so" 2>/dev/null | head -1 | cut -d= -f2 || true)
		[ -n "$sum" ] || sum=$(md5sum <"$so" | cut -c1-16)
	fi
	local note=
	if [ "$finder" = plain ] || [ "$finder" = glibc-free ]; then
		REF_SUM[$name]=$sum
	elif [ -n "${REF_SUM[$name]:-}" ] && [ "$sum" != "${REF_SUM[$name]}" ]; then
		note="output differs from the reference run"
	fi
	grep -q "WRONG" "$so" 2>/dev/null && note="WRONG RESULT"
	[ -n "${ENV_LOST[$finder]:-}" ] && note="environment lost under $finder (printenv sees nothing: PYTHONMALLOC/PATH/HOME unseen)${note:+; $note}"
	note=${note//,/;}
	local rep= chk=
	if [ -n "${LEAKLOGS:-}" ]; then
		# shellcheck disable=SC2086
		read -r rep _ chk < <($REPORT leaksum $LEAKLOGS "$se")
	fi
	echo "$rnd,$name,$finder,$st,$wall,${rss:-0},$load,$sum,$rep,$chk,$note,raw/$tag" >> "$csv"
	printf '  %-10s %-13s r%-2s status %-3s %9ss %9s KiB  load %s %s\n' "$name" "$finder" "$rnd" "$st" \
		"$wall" "${rss:-?}" "$load" "$note" >&2
	LAST_STATUS=$st LAST_OUT=$so LAST_ERR=$se LAST_TAG=$tag LAST_LOAD=$load
	rm -f "$tf"
}
declare -A REF_SUM=() ENV_LOST=()
HDR="round,case,finder,status,wall_s,maxrss_kib,load1,checksum,reported_bytes,check,note,log"

echo "gc-compare: parts $ONLY; rounds $R_DEF (gcbench $R_GCB); results in $OUT; $(uptime | sed 's/.*load/load/')" >&2

# ---- 1a. planted leaks ------------------------------------------------------------------------------
if has "$ONLY" planted; then
	echo "== planted" >&2
	"$BENCH/planted" --list > "$WORK/plants.csv"
	echo "round,finder,plant,verdict,kind,bytes" > "$OUT/planted.csv"
	: > "$WORK/planted-runs.csv"
	l0=$(cut -d' ' -f1 /proc/loadavg)
	for ((r = 1; r <= R_DEF; r++)); do
		finders=(lsan memcheck)
		[ "$USE_GOALLOC" = 1 ] && finders=(goalloc lsan memcheck)
		for f in "${finders[@]}"; do
			tag=planted-$f-r$r
			LEAKLOGS=
			case $f in
			goalloc) ENVS=(LD_PRELOAD="$LIB" GOALLOC_GC=report GOALLOC_LOG="$RAW/$tag.log.%p")
				run "$WORK/planted-runs.csv" "$r" planted goalloc /dev/null "$BENCH/planted" ;;
			lsan) ENVS=(LD_PRELOAD="$LSAN")
				run "$WORK/planted-runs.csv" "$r" planted lsan /dev/null "$BENCH/planted" ;;
			memcheck) ENVS=(-u LD_PRELOAD)
				run "$WORK/planted-runs.csv" "$r" planted memcheck /dev/null valgrind --tool=memcheck \
					--leak-check=full --show-leak-kinds=definite,indirect,possible \
					--log-file="$RAW/$tag.vg" "$BENCH/planted" ;;
			esac
			grep -q "^planted: ok" "$LAST_OUT" || echo "gc-compare: planted under $f did not print 'planted: ok' (raw/$tag.out)" >&2
			# shellcheck disable=SC2046
			$REPORT planted "$WORK/plants.csv" "$r" "$f" "$LAST_ERR" $(ls "$RAW/$tag".log.* "$RAW/$tag".vg 2>/dev/null) >> "$OUT/planted.csv"
		done
	done
	setmeta load_planted "$l0–$(cut -d' ' -f1 /proc/loadavg)"
fi

# ---- 1b. real programs under the finders --------------------------------------------------------------
if has "$ONLY" programs; then
	echo "== programs" >&2
	echo "$HDR" > "$OUT/programs.csv"
	$PY test/bench/programs/gen_c.py "$GCC_FUNCS" > "$WORK/gen.c"
	rm -rf "$WORK/repo"
	mkdir -p "$WORK/repo"
	(cd "$WORK/repo" && git init -q -b main && $PY "$ROOT/test/bench/gc/mkrepo.py" "$GIT_COMMITS" 60 |
		git fast-import --quiet --done && git checkout -q main)
	cat > "$WORK/gitops.sh" <<-'EOF'
		git log -p --stat
		git blame src/f07.txt
		git grep -n "leak report"
		git diff HEAD~100 HEAD
		git status --short
		git rev-list --objects --all
		git log --format='%H %s' -S 'pause world'
	EOF
	finders=(plain)
	[ "$USE_GOALLOC" = 1 ] && finders+=(goalloc-off goalloc)
	finders+=(lsan)
	[ "$MEMCHECK" = 1 ] && finders+=(memcheck)
	setmeta programs_note "python3 $(basename "$PY") alloc_heavy.py scale $PY_SCALE; gcc -O2 -c of gen_c.py $GCC_FUNCS functions ($(wc -l <"$WORK/gen.c") lines); git: 7 read-only commands on a repository of $GIT_COMMITS commits (sh gitops.sh). LeakSanitizer: LD_PRELOAD=liblsan.so.0 + lsan_init.so, LSAN_OPTIONS=exitcode=0; memcheck: --leak-check=full --trace-children=yes, first $MC_ROUNDS rounds; goalloc report: GOALLOC_GC=report, default sampling."
	# Does a program still see its environment under each finder? (PYTHONMALLOC=malloc, PATH and
	# HOME matter to these workloads; a run that silently loses them measures something else.)
	for f in "${finders[@]}"; do
		case $f in
		goalloc-off) ENVS=(LD_PRELOAD="$LIB") ;;
		goalloc) ENVS=(LD_PRELOAD="$LIB" GOALLOC_GC=report GOALLOC_LOG=/dev/null) ;;
		lsan) ENVS=(LD_PRELOAD="$LSAN $LSAN_INIT" LSAN_OPTIONS=exitcode=0) ;;
		*) continue ;;
		esac
		if [ "$(env "${ENVS[@]}" GCCMP_PROBE=seen printenv GCCMP_PROBE 2>/dev/null)" != seen ]; then
			ENV_LOST[$f]=1
			echo "gc-compare: under $f a program does not see its environment (printenv GCCMP_PROBE): its runs are marked" >&2
		fi
	done
	for ((r = 1; r <= R_DEF; r++)); do
		echo "-- round $r/$R_DEF" >&2
		for c in python3 gcc git; do
			for f in "${finders[@]}"; do
				[ "$f" = memcheck ] && [ "$r" -gt "$MC_ROUNDS" ] && continue
				tag="$c-$f-r$r"
				pre=()
				LEAKLOGS=
				case $f in
				plain) ENVS=(-u LD_PRELOAD) ;;
				goalloc-off) ENVS=(LD_PRELOAD="$LIB") ;;
				goalloc) ENVS=(LD_PRELOAD="$LIB" GOALLOC_GC=report GOALLOC_LOG="$RAW/$tag.log.%p")
					LEAKLOGS="$RAW/$tag.log.*" ;;
				lsan) ENVS=(LD_PRELOAD="$LSAN $LSAN_INIT" LSAN_OPTIONS="exitcode=0:log_path=$RAW/$tag.lsan")
					LEAKLOGS="$RAW/$tag.lsan.*" ;;
				memcheck) ENVS=(-u LD_PRELOAD)
					pre=(valgrind --tool=memcheck --leak-check=full --trace-children=yes --log-file="$RAW/$tag.vg.%p")
					LEAKLOGS="$RAW/$tag.vg.*" ;;
				esac
				case $c in
				python3) ENVS+=(PYTHONMALLOC=malloc PYTHONHASHSEED=0)
					run "$OUT/programs.csv" "$r" "$c" "$f" /dev/null "${pre[@]}" "$PY" \
						"$ROOT/test/bench/programs/alloc_heavy.py" "$PY_SCALE" ;;
				gcc) rm -f "$WORK/gen.o"
					CHECKSUM_FILE=$WORK/gen.o run "$OUT/programs.csv" "$r" "$c" "$f" /dev/null "${pre[@]}" \
						gcc -O2 -c "$WORK/gen.c" -o "$WORK/gen.o" ;;
				git) ENVS+=(HOME="$WORK" GIT_CONFIG_NOSYSTEM=1)
					cd "$WORK/repo"
					run "$OUT/programs.csv" "$r" "$c" "$f" /dev/null "${pre[@]}" sh "$WORK/gitops.sh"
					cd "$ROOT" ;;
				esac
			done
		done
	done
	LEAKLOGS=
fi

# ---- 2. collecting -----------------------------------------------------------------------------------
collect_variants() { # VARIANT TAG → ENVS, the binary's SUFFIX and LEAKLOGS (aborted cycles counted)
	LEAKLOGS=
	case $1 in
	bdwgc) ENVS=(-u LD_PRELOAD) SUFFIX=bdw ;;
	goalloc) ENVS=(LD_PRELOAD="$LIB" GOALLOC_GC=collect GOALLOC_GCTRACE=1 GOALLOC_LOG="$RAW/$2.log.%p") SUFFIX=nofree
		LEAKLOGS="$RAW/$2.log.*" ;;
	glibc-free) ENVS=(-u LD_PRELOAD) SUFFIX=free ;;
	glibc-nofree) ENVS=(-u LD_PRELOAD) SUFFIX=nofree ;;
	goalloc-free) ENVS=(LD_PRELOAD="$LIB") SUFFIX=free ;;
	esac
}
variants=(glibc-free bdwgc)
[ "$USE_GOALLOC" = 1 ] && variants+=(goalloc)
variants+=(glibc-nofree)
[ "$USE_GOALLOC" = 1 ] && variants+=(goalloc-free)
if has "$ONLY" gcbench || has "$ONLY" leaky; then
	echo "$HDR" > "$OUT/collect.csv.new"
	# keep the other case's rows when only one of the two runs
	if [ -e "$OUT/collect.csv" ]; then
		has "$ONLY" gcbench || awk -F, 'NR > 1 && $2 == "gcbench"' "$OUT/collect.csv" >> "$OUT/collect.csv.new"
		has "$ONLY" leaky || awk -F, 'NR > 1 && $2 == "leaky"' "$OUT/collect.csv" >> "$OUT/collect.csv.new"
	fi
	mv "$OUT/collect.csv.new" "$OUT/collect.csv"
fi
if has "$ONLY" gcbench; then
	echo "== gcbench" >&2
	for ((r = 1; r <= R_GCB; r++)); do
		for v in "${variants[@]}"; do
			collect_variants "$v" "gcbench-$v-r$r"
			run "$OUT/collect.csv" "$r" gcbench "$v" /dev/null "$BENCH/gcbench-$SUFFIX"
		done
	done
fi
if has "$ONLY" leaky; then
	echo "== leaky" >&2
	echo "round,finder,iter,rss_kib" > "$OUT/rss.csv"
	for ((r = 1; r <= R_DEF; r++)); do
		for v in "${variants[@]}"; do
			collect_variants "$v" "leaky-$v-r$r"
			run "$OUT/collect.csv" "$r" leaky "$v" /dev/null "$BENCH/leaky-$SUFFIX" "$LEAKY_ITERS" "$LEAKY_EVERY"
			sed -n "s/^iter=\([0-9]*\) rss_kib=\([0-9]*\)$/$r,$v,\1,\2/p" "$LAST_OUT" >> "$OUT/rss.csv"
		done
	done
fi

# ---- 3. pauses and mark rate ------------------------------------------------------------------------
if has "$ONLY" pauses; then
	echo "== pauses" >&2
	echo "round,mb,collector,cycle,live_mb,pause_ms,mark_ms,mark_cpu_ms,stopped_ms,call_ms,call_cpu_ms,load1,note" > "$OUT/pauses.csv"
	: > "$WORK/pauses-runs.csv"
	cols=(bdwgc bdwgc-parallel)
	[ "$USE_GOALLOC" = 1 ] && cols=(goalloc bdwgc bdwgc-parallel)
	for ((r = 1; r <= R_DEF; r++)); do
		for mb in ${HEAP_MBS//,/ }; do
			for c in "${cols[@]}"; do
				tag="heap$mb-$c-r$r"
				case $c in
				goalloc) ENVS=(LD_PRELOAD="$LIB" GOALLOC_GC=collect GOALLOC_GCTRACE=1 GOALLOC_GOGC=off
					GOALLOC_FORCEGC=0 GOALLOC_LOG="$RAW/$tag.log.%p")
					run "$WORK/pauses-runs.csv" "$r" "heap$mb" "$c" /dev/null "$BENCH/heap-malloc" "$mb" "$CYCLES" ;;
				bdwgc) ENVS=(-u LD_PRELOAD)
					run "$WORK/pauses-runs.csv" "$r" "heap$mb" "$c" /dev/null "$BENCH/heap-bdw" "$mb" "$CYCLES" ;;
				bdwgc-parallel) ENVS=(-u LD_PRELOAD)
					run "$WORK/pauses-runs.csv" "$r" "heap$mb" "$c" /dev/null "$BENCH/heap-bdw" "$mb" "$CYCLES" parallel ;;
				esac
				# shellcheck disable=SC2046
				$REPORT pauses "$r" "$mb" "$c" "$LAST_LOAD" "$LAST_OUT" "$LAST_ERR" $(ls "$RAW/$tag".log.* 2>/dev/null) >> "$OUT/pauses.csv"
			done
		done
	done
fi

setmeta uptime_end "$(uptime | sed 's/.*load/load/')"
$REPORT tables "$OUT" > "$OUT/summary.md"
cat "$OUT/summary.md"
