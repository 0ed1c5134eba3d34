"""Write a git fast-import stream for a small repository with some history (the git workload of
scripts/gc-compare.sh): FILES text files of ~200 lines, COMMITS commits each changing a few lines
of one to three files, on branch main. Deterministic.

Usage: python3 mkrepo.py [COMMITS [FILES]] | git fast-import --quiet
"""
import random
import sys

commits = int(sys.argv[1]) if len(sys.argv) > 1 else 300
nfiles = int(sys.argv[2]) if len(sys.argv) > 2 else 40
rnd = random.Random(4242)
words = ("alloc free span class heap mark sweep root stack thread cache central arena page "
         "pointer block leak report collect pacer goal trace pause world stop signal").split()


def line():
    return " ".join(rnd.choice(words) for _ in range(rnd.randint(3, 12)))


files = {"src/f%02d.txt" % i: [line() for _ in range(200)] for i in range(nfiles)}
out = sys.stdout.buffer
mark = 0
t = 1700000000


def data(b):
    out.write(b"data %d\n" % len(b))
    out.write(b)
    out.write(b"\n")


for c in range(commits):
    touched = list(files) if c == 0 else rnd.sample(sorted(files), rnd.randint(1, 3))
    for name in touched:
        if c:
            lines = files[name]
            for _ in range(rnd.randint(1, 8)):
                k = rnd.randrange(len(lines))
                op = rnd.random()
                if op < 0.5:
                    lines[k] = line()
                elif op < 0.8:
                    lines.insert(k, line())
                elif len(lines) > 50:
                    del lines[k]
    out.write(b"commit refs/heads/main\n")
    mark += 1
    out.write(b"mark :%d\n" % mark)
    t += 3600
    out.write(b"author Bench <bench@example.invalid> %d +0000\n" % t)
    out.write(b"committer Bench <bench@example.invalid> %d +0000\n" % t)
    data(("commit %d: %s\n" % (c, line())).encode())
    if c:
        out.write(b"from :%d\n" % (mark - 1))
    for name in touched:
        out.write(b"M 100644 inline %s\n" % name.encode())
        data(("\n".join(files[name]) + "\n").encode())
out.write(b"done\n")
