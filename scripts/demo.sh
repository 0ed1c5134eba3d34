#!/usr/bin/env bash
# goalloc's main job, shown on a real program: CPython with every object allocated through
# malloc (PYTHONMALLOC=malloc) builds and walks a few million objects, under goalloc through its
# launcher (build/goalloc --stats prints what goalloc served), then time and peak RSS against
# glibc malloc.
set -euo pipefail
cd "$(dirname "$0")/.."
LIB=${GOALLOC_LIB:-$PWD/build/libgoalloc.so}
PY=/usr/bin/python3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat > "$work/workload.py" <<'PY'
import json, random
random.seed(7)
docs = []
for i in range(120000):
    docs.append({"id": i, "name": "user%d" % i, "tags": [random.choice("abcdef") * random.randint(1, 40) for _ in range(5)]})
blob = json.dumps(docs)
back = json.loads(blob)
index = {}
for d in back:
    for t in d["tags"]:
        index.setdefault(t, []).append(d["id"])
del docs, back
print("documents 120000, json bytes %d, distinct tags %d" % (len(blob), len(index)))
PY
cat > "$work/measure.py" <<'PY'
import os, subprocess, sys, time
env = dict(os.environ, PYTHONMALLOC="malloc")
if sys.argv[1] != "-":
    env["LD_PRELOAD"] = sys.argv[1]
t = time.monotonic()
p = subprocess.Popen(sys.argv[2:], env=env, stdout=subprocess.DEVNULL)
_, status, ru = os.wait4(p.pid, 0)
dt = time.monotonic() - t
if status:
    sys.exit("workload failed: status %d" % status)
print("%.3f %d" % (dt, ru.ru_maxrss))
PY
# build/goalloc, the launcher (scripts/goalloc.in): LD_PRELOAD and the GOALLOC_* options for one
# program; --lib names the library the demo was asked to run
GOALLOC=("$PWD/build/goalloc" --lib="$LIB")
echo "== build/goalloc --stats $PY workload.py   (LD_PRELOAD=$LIB GOALLOC_STATS=1)"
# (sed reads all the output: head would end the program by SIGPIPE, which pipefail makes fatal)
PYTHONMALLOC=malloc "${GOALLOC[@]}" --stats "$PY" "$work/workload.py" 2>&1 | sed -n 1,40p
echo
echo "== time and peak RSS (median of 3 runs each, interleaved)"
for r in 1 2 3; do
	"$PY" "$work/measure.py" - "$PY" "$work/workload.py" >> "$work/glibc"
	"$PY" "$work/measure.py" "$LIB" "$PY" "$work/workload.py" >> "$work/goalloc"
done
med() { sort -n -k"$2" "$1" | sed -n 2p | awk -v k="$2" '{print $k}'; }
printf '%-10s %10s %14s\n' allocator "time (s)" "peak RSS (KiB)"
for a in glibc goalloc; do printf '%-10s %10s %14s\n' "$a" "$(med "$work/$a" 1)" "$(med "$work/$a" 2)"; done

# The collector (README "Garbage collector"): the same program with Go's gctrace line per cycle,
# GOALLOC_GOGC=25 for a few more cycles than the default; CPython frees what it allocated before
# it exits, so the leak check at exit finds nothing to report.
echo
echo "== the collector: GOALLOC_GOGC=25 build/goalloc --gc=report --gctrace $PY workload.py"
PYTHONMALLOC=malloc GOALLOC_GOGC=25 "${GOALLOC[@]}" --gc=report --gctrace "$PY" "$work/workload.py" \
	> "$work/trace" 2>&1
# (sed reads all of grep's output: head would end grep by SIGPIPE, which pipefail makes fatal)
grep -E '^gc |^documents' "$work/trace" | sed -n 1,12p

# A C program that drops what it allocates: under GOALLOC_GC=collect its RSS stays flat, where
# glibc's grows with every request.
cat > "$work/leaky.c" <<'C'
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
struct req { struct req *next; char body[200]; };
static struct req *recent[256];
int main(void)
{
	for (long i = 0; i < 2000000; i++) {
		struct req *r = malloc(sizeof *r);
		r->next = malloc(64 + i % 512);
		memset(r->body, 'x', sizeof r->body);
		recent[i % 256] = r; /* the request 256 before is dropped without free() */
	}
	long ok = 0;
	for (int k = 0; k < 256; k++)
		ok += recent[k]->body[7] == 'x';
	printf("%ld recent requests intact\n", ok);
	return 0;
}
C
cc -O2 -o "$work/leaky" "$work/leaky.c"
echo
echo "== a program that never frees: 2,000,000 requests of two blocks (208 and 64-575 bytes), each dropped"
for a in glibc goalloc; do
	if [ $a = glibc ]; then "$PY" "$work/measure.py" - "$work/leaky" > "$work/leak.$a"
	else GOALLOC_GC=collect "$PY" "$work/measure.py" "$LIB" "$work/leaky" > "$work/leak.$a"; fi
done
printf '%-26s %10s %14s\n' allocator "time (s)" "peak RSS (KiB)"
printf '%-26s %10s %14s\n' "glibc" $(cat "$work/leak.glibc")
printf '%-26s %10s %14s\n' "goalloc GOALLOC_GC=collect" $(cat "$work/leak.goalloc")
