#!/usr/bin/env bash
# Instructions per malloc+free pair, counted by valgrind's callgrind (deterministic, unlike time).
# Each program of test/bench/callgrind does K pairs with callgrind's instrumentation switched on
# around the loop only; it runs with K and with 2K pairs under every allocator (LD_PRELOAD), and
# the result is (Ir(2K) - Ir(K)) / K, which cancels whatever is not per pair.
#
#   scripts/callgrind-pairs.sh [--k K] [--allocators LIST] [--build DIR] [--lib PATH] [--no-build]
#                              [--out DIR]
#
# --soname-synonyms=somalloc=nouserintercepts is passed for every allocator, so valgrind leaves a
# preloaded malloc alone; the "busiest object" table shows whose code ran. Results: OUT/pairs.csv
# (default build/bench/callgrind-results) and the Markdown table on stdout.
set -euo pipefail
cd "$(dirname "$0")/.."

K=200000 ALLOCS=goalloc,glibc,jemalloc,tcmalloc,mimalloc BUILD=build LIB= BUILD_IT=1 OUT=
while [ $# -gt 0 ]; do
	case $1 in
	--k) K=$2; shift ;;
	--allocators) ALLOCS=$2; shift ;;
	--build) BUILD=$2; shift ;;
	--lib) LIB=$2; shift ;;
	--out) OUT=$2; shift ;;
	--no-build) BUILD_IT=0 ;;
	-h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) echo "callgrind-pairs: unknown option $1 (try --help)" >&2; exit 2 ;;
	esac
	shift
done
: "${LIB:=$BUILD/libgoalloc.so}" "${OUT:=$BUILD/bench/callgrind-results}"
command -v valgrind >/dev/null || { echo "callgrind-pairs: valgrind not installed (apt-get install valgrind)" >&2; exit 1; }
[ "$BUILD_IT" = 0 ] || make --no-print-directory B="$BUILD" bench-build >&2
[ -e "$LIB" ] || { echo "callgrind-pairs: $LIB not found (run make)" >&2; exit 1; }

LIBDIR=/usr/lib/x86_64-linux-gnu
declare -A PRELOAD=([goalloc]=$(readlink -f "$LIB") [glibc]="" [jemalloc]=$LIBDIR/libjemalloc.so.2
	[tcmalloc]=$LIBDIR/libtcmalloc_minimal.so.4 [mimalloc]=$LIBDIR/libmimalloc.so.2)
ACTIVE=()
IFS=, read -r -a wanted <<<"$ALLOCS"
for a in "${wanted[@]}"; do
	[ -n "${PRELOAD[$a]+x}" ] || { echo "callgrind-pairs: unknown allocator $a" >&2; exit 2; }
	if [ -n "${PRELOAD[$a]}" ] && [ ! -e "${PRELOAD[$a]}" ]; then
		echo "callgrind-pairs: ${PRELOAD[$a]} not found, skipping $a" >&2
		continue
	fi
	ACTIVE+=("$a")
done
CASES=(bare live ring workingset xthread 4k 64k memalign batch)
mkdir -p "$OUT"
echo "allocator,case,k,ir_k,ir_2k,ir_per_pair,top_object" > "$OUT/pairs.csv"

# ir ALLOC CASE N: instructions counted between START and STOP_INSTRUMENTATION
ir() {
	local f="$OUT/callgrind.out.$1.$2.$3" envs=(env -u LD_PRELOAD)
	[ -n "${PRELOAD[$1]}" ] && envs=(env "LD_PRELOAD=${PRELOAD[$1]}")
	if ! "${envs[@]}" valgrind --tool=callgrind --instr-atstart=no \
		--soname-synonyms=somalloc=nouserintercepts --callgrind-out-file="$f" \
		"$BUILD/bench/callgrind/$2" "$3" >"$f.log" 2>&1; then
		echo "callgrind-pairs: $2 $3 under $1 failed, see $f.log" >&2
		echo FAIL
		return
	fi
	awk '/^totals:/ { print $2; exit }' "$f"
}
# the shared object that executed the most instructions of a run (which malloc really ran)
# (self cost summed per ob= of the callgrind.out file; the line after calls= is a call's
# inclusive cost and is skipped)
top_object() {
	awk '/^c?ob=/ { s = substr($0, index($0, "=") + 1); o = s
		if (s ~ /^\([0-9]+\) /) { id = substr(s, 1, index(s, " ") - 1); o = name[id] = substr(s, index(s, " ") + 1) }
		else if (s ~ /^\([0-9]+\)$/) o = name[s]
		if ($0 ~ /^ob=/) cur = o
		next }
	/^calls=/ { skip = 1; next }
	/^[0-9+*-]/ { if (skip) { skip = 0; next } ir[cur] += $2 }
	END { for (o in ir) if (ir[o] > best) { best = ir[o]; top = o }
		n = split(top, p, "/"); print p[n] }' "$1"
}

declare -A RES TOP
for a in "${ACTIVE[@]}"; do
	for c in "${CASES[@]}"; do
		i1=$(ir "$a" "$c" "$K")
		i2=$(ir "$a" "$c" $((2 * K)))
		if [ "$i1" = FAIL ] || [ "$i2" = FAIL ]; then
			RES[$a,$c]="**FAIL**"
			TOP[$a,$c]="–"
		else
			RES[$a,$c]=$(awk -v a="$i1" -v b="$i2" -v k="$K" 'BEGIN { printf "%.1f", (b - a) / k }')
			TOP[$a,$c]=$(top_object "$OUT/callgrind.out.$a.$c.$((2 * K))")
		fi
		echo "$a,$c,$K,$i1,$i2,${RES[$a,$c]},${TOP[$a,$c]}" >> "$OUT/pairs.csv"
		printf '  %-9s %-8s %8s Ir/pair  (%s)\n' "$a" "$c" "${RES[$a,$c]}" "${TOP[$a,$c]}" >&2
	done
done

echo "### Instructions per malloc+free pair (callgrind, K = $K)"
echo
echo "(Ir(2K) − Ir(K)) / K with instrumentation on around the loop only. bare: malloc(32)+free in a"
echo "loop; live: the same with 20,000 other blocks live; ring: free the oldest of 1,000 live blocks"
echo "of 8–512 B, allocate another; xthread: malloc on one thread, free on another; 4k and 64k:"
echo "malloc(4096) and malloc(65536)+free; memalign: posix_memalign(64, 64)+free; batch: 10,000"
echo "blocks of 16–512 B allocated, then freed in random order, per pair. Each figure includes the"
echo "loop and indirect calls (a handful of instructions)."
echo
# table NAME RULE: a Markdown table, allocator by case, of the array NAME[allocator,case]
table() {
	local -n cell=$1
	printf '| allocator |'; for c in "${CASES[@]}"; do printf ' %s |' "$c"; done; echo
	printf '|---|'; for c in "${CASES[@]}"; do printf -- '%s|' "$2"; done; echo
	for a in "${ACTIVE[@]}"; do
		printf '| %s |' "$a"; for c in "${CASES[@]}"; do printf ' %s |' "${cell[$a,$c]}"; done; echo
	done
}
table RES ---:
echo
echo "Busiest object in the 2K run (whose code the pairs ran in):"
echo
table TOP ---
