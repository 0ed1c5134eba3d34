#!/usr/bin/env bash
# goalloc's main job, shown on a real program: CPython with every object allocated through
# malloc (PYTHONMALLOC=malloc) builds and walks a few million objects, under goalloc
# (GOALLOC_STATS=1 prints what goalloc served), then time and peak RSS against glibc malloc.
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
echo "== $PY workload.py under LD_PRELOAD=$LIB GOALLOC_STATS=1"
PYTHONMALLOC=malloc GOALLOC_STATS=1 LD_PRELOAD="$LIB" "$PY" "$work/workload.py" 2>&1 | head -40
echo
echo "== time and peak RSS (median of 3 runs each, interleaved)"
for r in 1 2 3; do
	"$PY" "$work/measure.py" - "$PY" "$work/workload.py" >> "$work/glibc"
	"$PY" "$work/measure.py" "$LIB" "$PY" "$work/workload.py" >> "$work/goalloc"
done
med() { sort -n -k"$2" "$1" | sed -n 2p | awk -v k="$2" '{print $k}'; }
printf '%-10s %10s %14s\n' allocator "time (s)" "peak RSS (KiB)"
for a in glibc goalloc; do printf '%-10s %10s %14s\n' "$a" "$(med "$work/$a" 1)" "$(med "$work/$a" 2)"; done
