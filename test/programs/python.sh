#!/usr/bin/env bash
# python3 under goalloc: dicts, lists, strings, JSON round trips, threads, child processes and
# big buffers grown by realloc, once with Python's own small-object allocator and once with
# PYTHONMALLOC=malloc, which sends every object through malloc.
cd "$(dirname "$0")/../.." || exit 1
. test/programs/lib.sh

PY=/usr/bin/python3

# shellcheck disable=SC2317  # called by gt_run_pair
write_script() {
	cat >main.py <<'EOF'
import hashlib
import json
import random
import subprocess
import threading


def digest(data):
    if isinstance(data, str):
        data = data.encode()
    return hashlib.sha256(data).hexdigest()[:20]


rng = random.Random(20240601)

# Dicts, lists and strings: many small objects, grown, shrunk and rebuilt.
table = {}
for i in range(150000):
    key = "key%06d-%s" % (i, "abcdefghij"[: i % 11])
    table[key] = [i, str(i * 31), (i, -i), {"n": i % 97}]
for i in range(0, 150000, 3):
    del table["key%06d-%s" % (i, "abcdefghij"[: i % 11])]
keys = sorted(table)
print("dict", len(table), digest("\n".join(keys)))
print("dict-values", sum(v[0] + v[3]["n"] for v in table.values()))

parts = [str(i) * (i % 9) for i in range(120000)]
text = "-".join(parts)
words = text.split("-")
print("string", len(text), len(words), digest(text.upper().replace("7", "seven")))

nested = [[j * i for j in range(i % 50)] for i in range(20000)]
flat = [x for row in nested for x in row]
flat.sort(reverse=True)
print("lists", len(flat), sum(flat) % 1000000007, digest(repr(flat[:5000])))

# JSON round trips of a big structure.
big = {
    "users": [
        {
            "id": i,
            "name": "user%d" % i,
            "tags": ["t%d" % (i * j % 13) for j in range(i % 8)],
            "score": rng.random(),
            "meta": {"k%d" % (i % 5): [i, None, True, "x" * (i % 17)]},
        }
        for i in range(25000)
    ]
}
for _ in range(4):
    encoded = json.dumps(big, sort_keys=True)
    big = json.loads(encoded)
print("json", len(encoded), digest(encoded))


# Four threads each build and hash their own data.
results = [None] * 4


def worker(idx):
    r = random.Random(1000 + idx)
    data = {}
    for i in range(40000):
        data["t%d-%d" % (idx, r.randrange(1 << 30))] = r.randbytes(8 + i % 40)
    blob = b"".join(data[k] for k in sorted(data))
    chunks = [blob[i : i + 4096] for i in range(0, len(blob), 4096)]
    h = hashlib.sha256()
    for c in chunks:
        h.update(hashlib.sha1(c).digest())
    results[idx] = (len(data), len(blob), h.hexdigest()[:20])


threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
for t in threads:
    t.start()
for t in threads:
    t.join()
for idx, res in enumerate(results):
    print("thread", idx, *res)

# Child processes (their stderr is inherited, so a preloaded child's report shows up).
child = subprocess.run(
    [
        "/usr/bin/python3",
        "-c",
        "import hashlib; d = {str(i): str(i) * 3 for i in range(100000)}; "
        "print(len(d), hashlib.sha256(''.join(d.values()).encode()).hexdigest()[:20])",
    ],
    stdout=subprocess.PIPE,
    check=True,
)
print("child", child.stdout.decode().strip())

# Big buffers grown by realloc: two threads each read a 24 MiB pipe to its end (FileIO.readall
# grows one bytes object; growing side by side, they have to move), and a bytearray grown
# 64 KiB at a time to 32 MiB, then cut to a tenth.
pipes = [None, None]


def read_pipe(idx):
    cmd = "yes abcdefghi%d | head -c 25165824" % idx
    proc = subprocess.Popen(["sh", "-c", cmd], stdout=subprocess.PIPE)
    data = proc.stdout.read()
    proc.wait()
    pipes[idx] = (len(data), digest(data))


readers = [threading.Thread(target=read_pipe, args=(i,)) for i in range(2)]
for t in readers:
    t.start()
for t in readers:
    t.join()
print("pipes", *pipes)
grown = bytearray()
for i in range(512):
    grown += bytes([i % 251]) * 65536
del grown[len(grown) // 10 :]
print("bytearray", len(grown), digest(bytes(grown)))

numbers = "".join("%d\n" % rng.randrange(10**7) for _ in range(60000))
out = subprocess.run(["sort", "-n"], input=numbers.encode(), stdout=subprocess.PIPE, check=True).stdout
lines = out.decode().split()
print("sort", len(lines), lines[0], lines[-1], digest(out))
EOF
}

gt_plan 6
if [ ! -x "$PY" ]; then
	gt_skip_n "$PY not installed (Debian package python3)" \
		"python3: "{stdout,stderr,stats} "python3-PYTHONMALLOC=malloc: "{stdout,stderr,stats}
	gt_done
fi

# The parent and its python3 child both report (sort closes its stderr before exiting).
gt_run_pair python3 write_script -- PYTHONHASHSEED=0 PYTHONDONTWRITEBYTECODE=1 "$PY" main.py
gt_check_pair 2

gt_run_pair python3-PYTHONMALLOC=malloc write_script -- PYTHONHASHSEED=0 PYTHONDONTWRITEBYTECODE=1 \
	PYTHONMALLOC=malloc "$PY" main.py
gt_check_pair 2

gt_done
