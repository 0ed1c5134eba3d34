"""Allocation-heavy CPython workload for the allocator comparison. Run with PYTHONMALLOC=malloc so
every object goes through malloc. Usage: python3 alloc_heavy.py [scale]  (scale 1 = 100k records).
Prints a checksum that depends only on the work done."""
import json
import random
import sys
import zlib

scale = float(sys.argv[1]) if len(sys.argv) > 1 else 1.0
n = max(1000, int(100000 * scale))
rnd = random.Random(12345)


def record(i):
    return {
        "id": i,
        "name": "user%07d" % i,
        "score": round(rnd.random() * 1000, 3),
        "tags": [rnd.choice("abcdefgh") * rnd.randint(1, 12) for _ in range(rnd.randint(0, 6))],
        "pos": (rnd.randint(0, 999), rnd.randint(0, 999)),
    }


# build, then churn a random part of it in place
recs = [record(i) for i in range(n)]
for _ in range(n):
    j = rnd.randrange(n)
    recs[j] = record(j)

# JSON round trip
blob = json.dumps(recs, sort_keys=True)
crc = zlib.crc32(blob.encode())
back = json.loads(blob)
del blob

# inverted index: tag -> ids; then sort each posting list
index = {}
for r in back:
    for t in r["tags"]:
        index.setdefault(t, []).append(r["id"])
for t in index:
    index[t].sort()
crc = zlib.crc32(repr(sorted((t, len(v), sum(v)) for t, v in index.items())).encode(), crc)

# sorting with keys, string building, splitting
ranked = sorted(back, key=lambda r: (-r["score"], r["name"]))
lines = ["%s,%s,%s" % (r["name"], r["score"], "|".join(r["tags"])) for r in ranked]
text = "\n".join(lines)
fields = [ln.split(",") for ln in text.split("\n")]
crc = zlib.crc32(text[: 1 << 20].encode(), crc)
crc = zlib.crc32(str(sum(len(f[2]) for f in fields)).encode(), crc)

# drop everything in random order
order = list(range(len(back)))
rnd.shuffle(order)
for i in order:
    back[i] = None
del recs, back, ranked, lines, text, fields, index

# small-object churn: sets, tuples, bytes
acc = 0
live = [None] * 4096
for i in range(n * 5):
    k = i * 2654435761 % 4096
    live[k] = (i, str(i), bytes(i % 64), frozenset((i % 7, i % 11)))
    acc = (acc + len(live[k][1]) + len(live[k][2])) & 0xFFFFFFFF
crc = zlib.crc32(str(acc).encode(), crc)
print("python records=%d checksum=%08x" % (n, crc))
