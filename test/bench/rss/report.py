"""Tables and plot choices of scripts/rss-compare.sh.

Usage: report.py OUT ALLOCATORS ROUNDS QUICK PARAMS WHO
Reads OUT/runs.csv; prints the markdown summary (medians over the rounds of peak, final and
time-weighted mean RSS and of wall time, per workload and allocator) and writes OUT/plots.txt:
one line per workload, tab-separated: the workload, the plot's title, then LABEL=FILE for each
allocator's run whose time-weighted mean RSS is its median (the lower middle of an even count).
"""
import csv
import os
import statistics
import sys
import time

out, allocs, rounds, quick, params, who = sys.argv[1:7]
allocs = allocs.split(",")
rows = list(csv.DictReader(open(os.path.join(out, "runs.csv"))))
workloads = []
for r in rows:
    if r["workload"] not in workloads:
        workloads.append(r["workload"])


def column(alloc):
    """The column of a run's allocator: leaky's goalloc-collect is goalloc's column."""
    return "goalloc" if alloc.startswith("goalloc") else alloc


def runs(wl, alloc):
    return [r for r in rows if r["workload"] == wl and column(r["allocator"]) == alloc]


ref_sum = {}
for r in rows:
    if r["allocator"] == "glibc" and r["status"] == "0":
        ref_sum.setdefault(r["workload"], r["checksum"])


def good(r):
    """Exited 0 with glibc's output (when glibc has a run that exited 0)."""
    if r["status"] != "0":
        return False
    ref = ref_sum.get(r["workload"])
    return ref is None or r["checksum"] == ref


def mib(kib):
    v = kib / 1024
    return "%.1f" % v if v < 100 else "%.0f" % v


def cell(wl, alloc, key, fmt):
    rs = runs(wl, alloc)
    if not rs:
        return "–", None
    ok = [r for r in rs if good(r)]
    note = ""
    bad = len(rs) - len(ok)
    if bad:
        failed = sum(r["status"] != "0" for r in rs)
        note = " (%s)" % ", ".join(x for x in (
            "%d failed" % failed if failed else "",
            "%d output differs" % (bad - failed) if bad - failed else "") if x)
    if not ok:
        return "failed" + note, None
    v = statistics.median(float(r[key]) for r in ok)
    return fmt(v) + note, v


LABEL = {
    "gcc": "gcc -O2 -c (driver + cc1 + as)",
    "leaky": "leaky (goalloc: GOALLOC_GC=collect)",
}
loads = [float(r["load1"]) for r in rows if r["load1"]]
print("## RSS over time (%s, %d CPUs, %s rounds%s)" % (time.strftime("%Y-%m-%d", time.gmtime()), os.cpu_count(),
                                                        rounds, ", --quick" if quick == "1" else ""))
print()
print("%s. %s. RSS sampled from /proc/PID/status every 10 ms; medians over the rounds; the "
      "allocators interleaved in every round. Load average (1 min) before the runs: %s–%s, median %s."
      % (who, params, *(("%.2f" % min(loads), "%.2f" % max(loads), "%.2f" % statistics.median(loads))
                        if loads else ("?", "?", "?"))))
for key, title, fmt, best in (
        ("peak_kib", "Peak RSS (MiB)", mib, "smallest peer"),
        ("final_kib", "Final RSS (MiB): the last sample before the exit", mib, "smallest peer"),
        ("mean_kib", "Time-weighted mean RSS (MiB)", mib, "smallest peer"),
        ("wall_s", "Wall time (s)", lambda v: "%.2f" % v, "fastest peer")):
    print()
    print("**%s**" % title)
    print()
    print("| workload | " + " | ".join(allocs) + " | goalloc ÷ %s |" % best)
    print("|---|" + "---:|" * (len(allocs) + 1))
    for wl in workloads:
        cells, vals = [], {}
        for a in allocs:
            c, v = cell(wl, a, key, fmt)
            cells.append(c)
            vals[a] = v
        peers = [(v, a) for a, v in vals.items() if a != "goalloc" and v is not None]
        ratio = "–"
        if vals.get("goalloc") is not None and peers:
            v, a = min(peers)
            if v > 0:
                q = vals["goalloc"] / v
                ratio = ("%.2f× %s" if q >= 0.1 else "%.3f× %s") % (q, a)
        print("| %s | %s | %s |" % (LABEL.get(wl, wl), " | ".join(cells), ratio))

with open(os.path.join(out, "plots.txt"), "w") as f:
    for wl in workloads:
        curves = []
        for a in allocs:
            ok = sorted((r for r in runs(wl, a) if good(r)), key=lambda r: float(r["mean_kib"]))
            if ok:
                r = ok[(len(ok) - 1) // 2]
                label = "goalloc, collect mode" if r["allocator"] == "goalloc-collect" else a
                curves.append("%s=%s" % (label, os.path.join(out, r["log"] + ".tsv")))
        if curves:
            f.write("%s\t%s\t%s\n" % (wl, "%s: RSS over time, each allocator's median run of %s" % (
                LABEL.get(wl, wl), rounds), "\t".join(curves)))
