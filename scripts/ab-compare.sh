#!/usr/bin/env bash
# A/B of two goalloc builds on the Google Benchmark harness: the same cases under library A and
# library B, alternated run by run (A B A B ...), so drift of the machine hits both alike.
# Prints, per case, the median real time under each and B's median divided by A's, with both
# min–max. For deciding whether a change to the fast paths is worth keeping: on a noisy VM a
# single run of each proves nothing, and instruction counts do not decide (a variant with fewer
# instructions per pair has measured 40 % slower).
#
#   scripts/ab-compare.sh A.so B.so [--rounds N] [--filter REGEX] [--min-time S] [--warmup S]
#                         [--build DIR]
#
#   --rounds N     alternated runs of each library (default 11)
#   --filter R     harness cases to run (--benchmark_filter; scripts/bench-compare.sh's table
#                  names them); the default is a few single-thread rows and each pattern case
#                  at one or two threads
#   --min-time S   --benchmark_min_time (default 0.2)
#   --warmup S     --benchmark_min_warmup_time, untimed, before each case (default 0.05)
#
# B ÷ A is given only where the medians differ by more than the spread ((max - min) / median)
# of A or of B across the rounds, or where the min–max ranges of A and B do not overlap;
# otherwise the row says "within noise".
#
# Example: keep a copy of the current library, rebuild with the change, compare:
#   cp build/libgoalloc.so /tmp/before.so && make && \
#   scripts/ab-compare.sh /tmp/before.so build/libgoalloc.so --filter 'BM_MallocFree/(32|64)$'
# Filters for the cases of the public benchmarks' patterns:
#   --filter 'BM_WorkingSet'                   random replacement (bench-malloc-thread), 1/2/4 threads
#   --filter 'BM_BatchHandoff/.*threads:[24]$' batch hand-off between threads (xmalloc-test)
#   --filter 'BM_Larson|BM_Mstress'            larson rounds and the random-lifetime stress
#   --filter 'threads:1$|BM_Mstress/1/'        every pattern at one thread
set -euo pipefail
cd "$(dirname "$0")/.."

[ $# -ge 2 ] || { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 2; }
A=$(readlink -f "$1") B=$(readlink -f "$2")
shift 2
ROUNDS=11 MINTIME=0.2 WARMUP=0.05 BUILD=build
FILTER='BM_MallocFree/(8|32|512|4096|65536)$|BM_Batch.*/10000|BM_Churn/.*threads:1$|BM_WorkingSet/.*threads:1$|BM_BatchHandoff/.*threads:2$|BM_Larson/.*threads:2$|BM_Mstress/2/'
while [ $# -gt 0 ]; do
	case $1 in
	--rounds) ROUNDS=$2; shift ;;
	--filter) FILTER=$2; shift ;;
	--min-time) MINTIME=$2; shift ;;
	--warmup) WARMUP=$2; shift ;;
	--build) BUILD=$2; shift ;;
	*) echo "ab-compare: unknown option $1" >&2; exit 2 ;;
	esac
	shift
done
for f in "$A" "$B"; do [ -f "$f" ] || { echo "ab-compare: $f not found" >&2; exit 1; }; done
HARNESS=$BUILD/bench/harness
[ -x "$HARNESS" ] || make --no-print-directory B="$BUILD" bench-build >&2

OUT=$(mktemp)
trap 'rm -f "$OUT"' EXIT
for ((r = 1; r <= ROUNDS; r++)); do
	for side in A B; do
		lib=$A
		[ $side = B ] && lib=$B
		LD_PRELOAD=$lib "$HARNESS" --benchmark_filter="$FILTER" --benchmark_min_time="$MINTIME" \
			--benchmark_min_warmup_time="$WARMUP" --benchmark_format=csv 2>/dev/null |
			awk -F, -v s=$side '/^"BM_/ { gsub(/"/, "", $1); print s, $1, $3, $5 }' >>"$OUT"
	done
	echo "ab-compare: round $r/$ROUNDS done" >&2
done

echo "A = $A"
echo "B = $B"
echo "$ROUNDS alternated runs each after a $WARMUP s warm-up per case, harness real time per iteration, median [min–max]"
echo
echo "| case | A | B | B ÷ A |"
echo "|---|---:|---:|---:|"
sort -k2,2 -k1,1 -k3,3g "$OUT" | awk '
function med(v, n) { return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2 }
function flush() {
	if (cur == "") return
	ma = med(a, na); mb = med(b, nb)
	sa = (a[na] - a[1]) / ma; sb = (b[nb] - b[1]) / mb; noise = sa > sb ? sa : sb
	r = mb / ma; d = r > 1 ? r - 1 : 1 - r
	overlap = a[na] >= b[1] && b[nb] >= a[1]
	v = d <= noise && overlap ? sprintf("within noise (%.2f×, spread %.0f%%)", r, 100 * noise) : sprintf("%.2f×", r)
	printf "| %s | %.4g %s [%.4g–%.4g] | %.4g %s [%.4g–%.4g] | %s |\n", cur, ma, unit, a[1], a[na], mb, unit, b[1], b[nb], v
}
{ if ($2 != cur) { flush(); cur = $2; na = nb = 0 }
  unit = $4; if ($1 == "A") a[++na] = $3; else b[++nb] = $3 }
END { flush() }'
