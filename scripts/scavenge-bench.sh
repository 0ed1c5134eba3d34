#!/usr/bin/env bash
# The scavenger's benchmark: test/bench/scavenge/grow_free (1 GiB of 16-256 byte blocks
# allocated, all freed, 1 s of idling, then malloc_trim(0)) under glibc, jemalloc, tcmalloc,
# mimalloc and goalloc, interleaved (round 1 runs all five, then round 2, ...), and the median
# over the rounds of each figure: RSS right after the frees, the time until RSS fell under 64 MiB
# (-1: not within the idle second), RSS after the idle second and after malloc_trim(0), and the
# CPU time the process used while idling (the scavenger's work, for goalloc).
#
#   scripts/scavenge-bench.sh [--rounds N] [--mib M] [--allocators LIST] [--lib PATH]
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=5 MIB=1024 ALLOCS=glibc,jemalloc,tcmalloc,mimalloc,goalloc LIB=$PWD/build/libgoalloc.so
while [ $# -gt 0 ]; do
	case $1 in
	--rounds) ROUNDS=$2; shift ;;
	--mib) MIB=$2; shift ;;
	--allocators) ALLOCS=$2; shift ;;
	--lib) LIB=$2; shift ;;
	-h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) echo "scavenge-bench: unknown option $1 (try --help)" >&2; exit 2 ;;
	esac
	shift
done
[ -f "$LIB" ] || make -s lib
mkdir -p build/bench
cc -O2 -o build/bench/grow_free test/bench/scavenge/grow_free.c

preload() {
	case $1 in
	glibc) echo "" ;;
	jemalloc) echo /usr/lib/x86_64-linux-gnu/libjemalloc.so.2 ;;
	tcmalloc) echo /usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4 ;;
	mimalloc) echo /usr/lib/x86_64-linux-gnu/libmimalloc.so.2 ;;
	goalloc) echo "$LIB" ;;
	esac
}

OUT=$(mktemp)
trap 'rm -f "$OUT"' EXIT
echo "# load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq "$ROUNDS"); do
	for a in ${ALLOCS//,/ }; do
		line=$(LD_PRELOAD=$(preload "$a") build/bench/grow_free "$MIB")
		echo "$a $line" >>"$OUT"
	done
done
echo "# load average after: $(cut -d' ' -f1-3 /proc/loadavg); $ROUNDS rounds, $MIB MiB; medians"
python3 - "$OUT" "$ALLOCS" <<'PY'
import sys, statistics
rows = {}
for line in open(sys.argv[1]):
    a, *kv = line.split()
    rows.setdefault(a, []).append(dict(x.split('=') for x in kv))
cols = [('after_free_kib', 'after frees MiB', 1024), ('under64_ms', 'under 64 MiB after ms', 1),
        ('idle_kib', 'after 1 s idle MiB', 1024), ('trim_kib', 'after malloc_trim MiB', 1024),
        ('idle_cpu_ms', 'CPU while idle ms', 1)]
print('| allocator | ' + ' | '.join(c[1] for c in cols) + ' |')
print('|---' * (len(cols) + 1) + '|')
for a in sys.argv[2].split(','):
    med = [statistics.median(float(r[k]) for r in rows[a]) / d for k, _, d in cols]
    print(f'| {a} | ' + ' | '.join(f'{m:.1f}' for m in med) + ' |')
PY
