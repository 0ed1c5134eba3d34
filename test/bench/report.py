#!/usr/bin/env python3
"""Helpers of scripts/bench-compare.sh (standard library only).

  report.py harness-json FILE ALLOCATOR ROUND STATUS  append Google Benchmark JSON results as CSV rows
                                                 (round,allocator,case,real_time_ns,cpu_time_ns,error)
  report.py measure OUTFILE -- CMD...           run CMD, write "wall_s maxrss_kib status" (wait4,
                                                 for machines without /usr/bin/time)
  report.py table DIR ALLOCATORS                 Markdown tables from DIR/runs.csv and DIR/harness.csv
"""
import csv
import json
import os
import statistics
import subprocess
import sys
import time


def harness_json(path, alloc, rnd, status):
    w = csv.writer(sys.stdout)
    if status != "0":
        w.writerow([rnd, alloc, "(harness process)", "", "", "exit status %s, cases after the last "
                    "one reported are missing" % status])
    try:
        with open(path) as f:
            text = f.read()
    except OSError as e:
        w.writerow([rnd, alloc, "(harness)", "", "", "no JSON output: %s" % e])
        return
    try:
        data = json.loads(text)
    except ValueError:
        # a run that died part-way leaves the JSON unterminated: keep the complete entries
        cut = text.rfind("\n    }")
        try:
            data = json.loads(text[: cut + 6] + "\n  ]\n}\n") if cut > 0 else {}
        except ValueError:
            data = {}
    for b in data.get("benchmarks", []):
        if b.get("run_type", "iteration") != "iteration":
            continue
        scale = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}[b.get("time_unit", "ns")]
        if b.get("error_occurred"):
            w.writerow([rnd, alloc, b["name"], "", "", b.get("error_message", "error")])
        else:
            w.writerow([rnd, alloc, b["name"], "%.4f" % (b["real_time"] * scale),
                        "%.4f" % (b["cpu_time"] * scale), ""])


def measure(outfile, cmd):
    t = time.monotonic()
    try:
        p = subprocess.Popen(cmd)
    except OSError:
        with open(outfile, "w") as f:
            f.write("0 0 127\n")
        return 127
    _, status, ru = os.wait4(p.pid, 0)
    dt = time.monotonic() - t
    rc = os.waitstatus_to_exitcode(status)
    if rc < 0:
        rc = 128 - rc
    with open(outfile, "w") as f:
        f.write("%.4f %d %d\n" % (dt, ru.ru_maxrss, rc))
    return rc


# ---- tables ---------------------------------------------------------------------------------
def fmt_time(s):
    if s >= 100:
        return "%.0f" % s
    if s >= 10:
        return "%.1f" % s
    if s >= 1:
        return "%.2f" % s
    return "%.3f" % s


def fmt_ns(ns):
    if ns >= 1e6:
        return "%.2f ms" % (ns / 1e6)
    if ns >= 1e4:
        return "%.1f µs" % (ns / 1e3)
    if ns >= 100:
        return "%.0f ns" % ns
    return "%.1f ns" % ns


def fmt_mib(kib):
    mib = kib / 1024.0
    return "%.0f" % mib if mib >= 100 else "%.1f" % mib


def spread(cell):
    """(max - min) / median of a cell's rounds, or None without values."""
    if cell is None or not cell.values or not cell.med():
        return None
    return (max(cell.values) - min(cell.values)) / cell.med()


def ratio(g, p, name=None):
    """goalloc's median over a peer's as "0.85×", with the peer's name if given, or "within
    noise" when the two medians are closer than the spread of either across the rounds (a
    difference smaller than the round-to-round variation is no verdict) and their min–max ranges
    overlap (disjoint ranges put the two in the same order in every round, whatever one slow
    round did to the spread). g and p are Cells (or None)."""
    gm = g.med() if g is not None else None
    pm = p.med() if p is not None else None
    if gm is None or not pm:
        return "–"
    r = gm / pm
    who = " %s" % name if name else ""
    noise = max(spread(g) or 0.0, spread(p) or 0.0)
    overlap = max(g.values) >= min(p.values) and max(p.values) >= min(g.values)
    if abs(r - 1.0) <= noise and overlap:
        return "within noise (%.2f×%s, spread %.0f%%)" % (r, who, 100 * noise)
    return "%.2f×%s" % (r, who)


def best_peer(cells, c, peers):
    """The peer with the lowest median for case c: (name, cell), or (None, None)."""
    best = (None, None)
    for a in peers:
        cell = cells.get((c, a))
        if cell is not None and cell.med() is not None and (best[1] is None or cell.med() < best[1].med()):
            best = (a, cell)
    return best


NOISE_NOTE = ("A ratio is given only where the two medians differ by more than the spread "
              "((max − min) ÷ median across the rounds) of either allocator, or where their min–max "
              "ranges do not overlap; otherwise the row says \"within noise\", with the ratio and "
              "the wider spread in parentheses.")


class Cell:
    def __init__(self):
        self.values = []
        self.fails = []  # (round, what)
        self.runs = 0

    def med(self):
        return statistics.median(self.values) if self.values else None

    def show(self, fmt):
        if not self.values:
            return "**FAIL**" if self.fails else "–"
        s = "%s [%s–%s]" % (fmt(self.med()), fmt(min(self.values)), fmt(max(self.values)))
        if self.fails:
            s += " **%d/%d failed**" % (len(self.fails), self.runs)
        return s


def table(d, allocs, out):
    allocs = allocs.split(",")
    peers = [a for a in allocs if a != "goalloc"]
    problems = []
    runs_path = os.path.join(d, "runs.csv")
    rounds = set()
    if os.path.exists(runs_path):
        cases, tcell, rcell, sums = [], {}, {}, {}
        with open(runs_path) as f:
            for r in csv.DictReader(f):
                c, a = r["case"], r["allocator"]
                rounds.add(r["round"])
                if c not in cases:
                    cases.append(c)
                for cells in (tcell, rcell):
                    cells.setdefault((c, a), Cell()).runs += 1
                if r["status"] != "0":
                    what = "exit status %s" % r["status"]
                    tcell[(c, a)].fails.append((r["round"], what))
                    rcell[(c, a)].fails.append((r["round"], what))
                    problems.append("%s under %s, round %s: %s (log: %s)" % (c, a, r["round"], what, r["log"]))
                    continue
                t = float(r["work_s"]) if r["work_s"] else float(r["wall_s"])
                tcell[(c, a)].values.append(t)
                rcell[(c, a)].values.append(float(r["maxrss_kib"]))
                sums.setdefault(c, {}).setdefault(a, []).append((r["round"], r["checksum"]))
        # checksums: every allocator must agree with glibc's (or, without glibc, with the majority)
        for c, per in sums.items():
            allsums = [s for a in per for _, s in per[a]]
            ref = per.get("glibc")
            ref = statistics.mode([s for _, s in ref]) if ref else statistics.mode(allsums)
            for a, lst in per.items():
                for rnd, s in lst:
                    if s != ref:
                        problems.append("%s under %s, round %s: WRONG RESULT, checksum %s, expected %s"
                                        % (c, a, rnd, s, ref))
                        tcell[(c, a)].fails.append((rnd, "checksum"))

        def emit(title, cells, fmt, note):
            out.write("\n### %s\n\n%s\n\n" % (title, note))
            out.write("| case | " + " | ".join(allocs) + " | goalloc ÷ best peer | goalloc ÷ glibc |\n")
            out.write("|---|" + "---:|" * (len(allocs) + 2) + "\n")
            for c in cases:
                row = [cells.get((c, a), Cell()) for a in allocs]
                g = cells.get((c, "goalloc"))
                name, best = best_peer(cells, c, peers)
                out.write("| %s | %s | %s | %s |\n" % (c, " | ".join(x.show(fmt) for x in row),
                                                      ratio(g, best, name), ratio(g, cells.get((c, "glibc")))))

        n = len(rounds)
    if os.path.exists(runs_path) and cases:  # (a run of the harness alone writes runs.csv's header only)
        emit("Workloads and programs: time (s)", tcell, fmt_time,
             "Median [min–max] of %d interleaved rounds. Workloads (wl:*) report their own wall time; "
             "programs are timed from outside (exec to exit). Lower is better. %s" % (n, NOISE_NOTE))
        emit("Workloads and programs: peak RSS (MiB)", rcell, fmt_mib,
             "ru_maxrss of the process (with its children for gcc), median [min–max] of %d rounds. %s"
             % (n, NOISE_NOTE))

    h_path = os.path.join(d, "harness.csv")
    if os.path.exists(h_path):
        cases, cells, hrounds = [], {}, set()
        with open(h_path) as f:
            for r in csv.DictReader(f):
                c, a = r["case"], r["allocator"]
                hrounds.add(r["round"])
                if c not in cases:
                    cases.append(c)
                cell = cells.setdefault((c, a), Cell())
                cell.runs += 1
                if r["error"]:
                    cell.fails.append((r["round"], r["error"]))
                    problems.append("harness %s under %s, round %s: %s" % (c, a, r["round"], r["error"]))
                else:
                    cell.values.append(float(r["real_time_ns"]))
        out.write("\n### Google Benchmark harness: real time per iteration\n\n"
                  "Median [min–max] of %d rounds, each a separate process per allocator; every case "
                  "warmed up before it is timed (--benchmark_min_warmup_time). "
                  "BM_Batch*/N and BM_CrossThreadFree iterations are N and 1024 pairs; "
                  "BM_ReallocChain/16 is one chain 16 B→1 MiB by doubling, /9 by +12.5%%. "
                  "Cases with threads:T give the wall time divided by the iterations of all T threads "
                  "(so the inverse of the throughput): BM_WorkingSet and BM_BatchHandoff one free and "
                  "one malloc, BM_Churn one replacement, BM_Larson one round of 40,000 replacements in "
                  "a newly created thread; BM_Mstress/N is one round of N threads created, run and "
                  "joined. Lower is better. %s\n\n" % (len(hrounds), NOISE_NOTE))
        out.write("| case | " + " | ".join(allocs) + " | goalloc ÷ best peer | goalloc ÷ glibc |\n")
        out.write("|---|" + "---:|" * (len(allocs) + 2) + "\n")
        for c in cases:
            shown = [cells[(c, a)].show(fmt_ns) if (c, a) in cells else "–" for a in allocs]
            g = cells.get((c, "goalloc"))
            name, best = best_peer(cells, c, peers)
            out.write("| %s | %s | %s | %s |\n" % (c, " | ".join(shown), ratio(g, best, name),
                                                 ratio(g, cells.get((c, "glibc")))))
    out.write("\n### Problems\n\n")
    if problems:
        for p in problems:
            out.write("- %s\n" % p)
    else:
        out.write("None: every run exited 0 and every checksum matched glibc's.\n")


def main():
    if len(sys.argv) == 6 and sys.argv[1] == "harness-json":
        harness_json(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5])
    elif len(sys.argv) >= 5 and sys.argv[1] == "measure" and sys.argv[3] == "--":
        sys.exit(measure(sys.argv[2], sys.argv[4:]))
    elif len(sys.argv) == 4 and sys.argv[1] == "table":
        table(sys.argv[2], sys.argv[3], sys.stdout)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
