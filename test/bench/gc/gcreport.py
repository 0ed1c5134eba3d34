#!/usr/bin/env python3
"""Helpers of scripts/gc-compare.sh (standard library only).

  gcreport.py planted LIST_CSV ROUND FINDER FILE...   parse the leak reports in FILE... (goalloc,
                          LeakSanitizer or memcheck format, recognised line by line) and print
                          planted.csv rows: round,finder,plant,verdict,kind,bytes
  gcreport.py leaksum FILE...                         "<bytes> <groups>" reported in FILE... (any of
                          the three formats; the SUMMARY lines, memcheck's definitely+possibly)
  gcreport.py gctrace FILE...                         the gctrace lines of FILE... as CSV rows:
                          n,forced,pause_a_ms,mark_ms,pause_c_ms,cpu_assist_ms,cpu_bg_ms,
                          cpu_idle_ms,live_mb,procs
  gcreport.py pauses ROUND MB COLLECTOR LOAD STDOUT [TRACE...]   pauses.csv rows for a run of heap.c:
                          round,mb,collector,cycle,live_mb,pause_ms,mark_ms,mark_cpu_ms,stopped_ms,
                          call_ms,call_cpu_ms,load1,note
  gcreport.py tables OUT                              Markdown tables from OUT/*.csv
"""
import csv
import glob
import os
import re
import statistics
import sys

# ---- leak reports ------------------------------------------------------------------------------
# goalloc and LSan:  "Direct leak of 100 byte(s) in 1 object(s) [of class N] allocated from:"
RE_SAN = re.compile(r"^(Direct|Indirect) leak of (\d+) byte\(s\) in (\d+) object\(s\)")
# memcheck:  "==1== 100 bytes in 1 blocks are definitely lost in loss record 3 of 12"
#            "==1== 96 (48 direct, 48 indirect) bytes in 1 blocks are definitely lost in ..."
RE_VG = re.compile(r"^==\d+== ([\d,]+)(?: \(([\d,]+) direct, ([\d,]+) indirect\))? bytes in "
                   r"([\d,]+) blocks are (definitely|indirectly|possibly) lost")
# frames: goalloc "#0 0x55.. in plant_direct (/path+0x12)" or "#0 0x55.. (/path+0x12)";
# LSan "#1 0x55.. in plant_direct file.c:68"; memcheck "==1==    by 0x10: plant_direct (file.c:68)"
RE_FRAME_SAN = re.compile(r"^\s+#\d+ 0x[0-9a-f]+(?: in (\S+))?")
RE_FRAME_VG = re.compile(r"^==\d+==\s+(?:at|by) 0x[0-9A-Fa-f]+: (\S+)")


def num(s):
    return int(s.replace(",", ""))


def parse_groups(paths):
    """Leak groups in the files: dicts kind (direct|indirect|possible), bytes, objects, funcs."""
    groups = []
    for p in paths:
        try:
            lines = open(p, errors="replace").read().splitlines()
        except OSError:
            continue
        cur = None
        for ln in lines:
            m = RE_SAN.match(ln)
            if m:
                cur = dict(kind=m.group(1).lower(), bytes=num(m.group(2)), objects=num(m.group(3)),
                           funcs=[])
                groups.append(cur)
                continue
            m = RE_VG.match(ln)
            if m:
                kind = {"definitely": "direct", "indirectly": "indirect",
                        "possibly": "possible"}[m.group(5)]
                b = num(m.group(2)) if m.group(2) else num(m.group(1))
                cur = dict(kind=kind, bytes=b, objects=num(m.group(4)), funcs=[])
                groups.append(cur)
                continue
            if cur is None:
                continue
            m = RE_FRAME_SAN.match(ln) or RE_FRAME_VG.match(ln)
            if m:
                if m.group(1):
                    cur["funcs"].append(m.group(1))
            elif ln.strip() == "" or ln.rstrip().endswith("==") or ln.strip("= 0123456789") == "":
                cur = None
    return groups


def planted(list_csv, rnd, finder, paths):
    plants = list(csv.DictReader(open(list_csv)))
    incomplete = ""
    for p in paths:
        try:
            for ln in open(p, errors="replace"):
                if "leak check incomplete" in ln:
                    incomplete = ln.split("incomplete:", 1)[-1].strip()
        except OSError:
            pass
    by_name = {p["plant"]: p for p in plants}
    hits = {}
    other = []
    for g in parse_groups(paths):
        name = next((f for f in g["funcs"] if f in by_name), None)
        if name is None and g["objects"] == 1:
            # no symbol: fall back on the size, which is unique to each plant but the pair's
            cands = [p["plant"] for p in plants if int(p["bytes"]) == g["bytes"]]
            if len(cands) == 1:
                name = cands[0]
            elif len(cands) > 1:
                name = "plant_pair_tail" if g["kind"] == "indirect" else "plant_pair_head"
        if name is None:
            other.append(g)
            continue
        hits.setdefault(name, []).append(g)
    w = csv.writer(sys.stdout)
    for p in plants:
        gs = hits.get(p["plant"], [])
        leak = p["expect"].startswith("leak")
        if incomplete:
            verdict, kind, b = "incomplete", incomplete, 0
        elif gs:
            verdict = "found" if leak else "false"
            kind = "+".join(sorted({g["kind"] for g in gs}))
            b = sum(g["bytes"] for g in gs)
        else:
            verdict = "missed" if leak else "ok"
            kind, b = "", 0
        w.writerow([rnd, finder, p["plant"], verdict, kind, b])
    w.writerow([rnd, finder, "(other)", "other" if other else "ok",
                "%d groups" % len(other), sum(g["bytes"] for g in other)])


RE_SUMMARY = re.compile(r"SUMMARY: (?:goalloc|LeakSanitizer): (\d+) byte\(s\) leaked in (\d+) allocation")
RE_VG_SUM = re.compile(r"^==\d+==\s+(definitely|indirectly|possibly) lost: ([\d,]+) bytes in ([\d,]+) blocks")


RE_INCOMPLETE = re.compile(r"goalloc: leak check incomplete|^gc \d+ aborted:")


def leaksum(paths):
    """Bytes and blocks reported as leaked in the files: the SUMMARY lines of goalloc and LSan,
    memcheck's definitely + indirectly + possibly lost, added over all the files (processes); then
    how many of goalloc's exit checks were incomplete and how many of its cycles aborted."""
    tot_b = tot_n = inc = 0
    for p in paths:
        try:
            text = open(p, errors="replace").read()
        except OSError:
            continue
        for ln in text.splitlines():
            if RE_INCOMPLETE.search(ln):
                inc += 1
            m = RE_SUMMARY.search(ln)
            if m:
                tot_b += int(m.group(1))
                tot_n += int(m.group(2))
                continue
            m = RE_VG_SUM.match(ln)
            if m:
                tot_b += num(m.group(2))
                tot_n += num(m.group(3))
    print(tot_b, tot_n, inc)


def pauses(rnd, mb, collector, load, stdout_path, trace_paths):
    """pauses.csv rows for one run of heap.c: its cycle= lines, and for goalloc the gctrace lines
    of its goalloc_gc() cycles (those marked (forced); else the last ones), paired in order."""
    w = csv.writer(sys.stdout)
    cyc, summary = [], ""
    for ln in open(stdout_path, errors="replace").read().splitlines():
        if ln.startswith("cycle="):
            cyc.append(dict(kv.split("=", 1) for kv in ln.split()))
        elif ln.startswith("heap: mb="):
            summary = dict(kv.split("=", 1) for kv in ln[len("heap: "):].split())
    if not cyc:
        w.writerow([rnd, mb, collector, "", "", "", "", "", "", "", "", load, "no cycles (see raw output)"])
        return
    if collector.startswith("bdwgc"):
        live = float(summary.get("live_kib", 0)) / 1024 if summary else ""
        for c in cyc:
            w.writerow([rnd, mb, collector, c["cycle"], live, c["wall_ms"], c["wall_ms"], c["cpu_ms"],
                        c["wall_ms"], c["wall_ms"], c["cpu_ms"], load, ""])
        return
    trace = []
    for p in trace_paths:
        try:
            lines = open(p, errors="replace").read().splitlines()
        except OSError:
            continue
        for ln in lines:
            m = RE_TRACE.search(ln)
            if m:
                trace.append(m.groups())
    forced = [g for g in trace if "(forced)" in g[18]]
    use = forced if forced else trace[-len(cyc):]
    for i, c in enumerate(cyc):
        if c.get("rc") != "0":
            w.writerow([rnd, mb, collector, c["cycle"], "", "", "", "", "", c["wall_ms"], c["cpu_ms"], load,
                        "goalloc_gc() returned %s" % c.get("rc")])
            continue
        g = use[i] if i < len(use) else None
        # goalloc_gc_stats().heap_live when it is set (it stays 0 under GOALLOC_GOGC=off), else
        # the gctrace line's live heap, Z of X->Y->Z (whole MB)
        st_live = float(c.get("heap_live_kib") or 0) / 1024
        live = st_live if st_live > 0 else (float(g[13]) if g else "")
        if g:
            pause = round(float(g[3]) + float(g[5]), 3)
            mark = float(g[4])
            mcpu = float(g[7]) + float(g[8]) + float(g[9])
            if mcpu <= 0:
                mcpu = mark
        else:
            pause = mark = mcpu = ""
        w.writerow([rnd, mb, collector, c["cycle"], live, pause, mark, mcpu,
                    c.get("stats_pause_ms", ""), c["wall_ms"], c["cpu_ms"], load, "" if g else "no gctrace line"])


# ---- gctrace -------------------------------------------------------------------------------------
RE_TRACE = re.compile(
    r"gc (\d+) @([\d.]+)s (\d+)%: ([\d.]+)\+([\d.]+)\+([\d.]+) ms clock, "
    r"([\d.]+)\+([\d.]+)/([\d.]+)/([\d.]+)\+([\d.]+) ms cpu, (\d+)->(\d+)->(\d+) MB, "
    r"(\d+) MB goal, (?:(\d+) MB stacks, )?(?:(\d+) MB globals, )?(\d+) P(.*)$")


def gctrace(paths):
    w = csv.writer(sys.stdout)
    for p in paths:
        try:
            lines = open(p, errors="replace").read().splitlines()
        except OSError:
            continue
        for ln in lines:
            m = RE_TRACE.search(ln)
            if not m:
                continue
            g = m.groups()
            w.writerow([g[0], int("(forced)" in g[18]), g[3], g[4], g[5], g[7], g[8], g[9], g[13],
                        g[17]])


# ---- tables --------------------------------------------------------------------------------------
def rows(path):
    try:
        return list(csv.DictReader(open(path)))
    except OSError:
        return []


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def fnum(x, nd=2):
    if x is None:
        return "–"
    if abs(x) >= 100:
        return "%.0f" % x
    if abs(x) >= 10:
        return "%.1f" % x
    return "%.*f" % (nd, x)


def fmib(kib):
    return "–" if kib is None else ("%.0f MiB" % (kib / 1024) if kib >= 10240 else "%.1f MiB" % (kib / 1024))


def ok_runs(rs):
    return [r for r in rs if r["status"] == "0" and r.get("note", "") == ""]


def loads(rs):
    ls = [float(r["load1"]) for r in rs if r.get("load1")]
    return "%.2f–%.2f" % (min(ls), max(ls)) if ls else "?"


def problems(rs):
    out = []
    for r in rs:
        if r["status"] != "0" or r.get("note"):
            out.append("round %s %s %s: status %s %s (%s)" % (r["round"], r["case"], r["finder"],
                                                            r["status"], r.get("note", ""), r["log"]))
    return out


def meta(out):
    try:
        return dict(l.rstrip("\n").split("=", 1) for l in open(os.path.join(out, "meta.txt")) if "=" in l)
    except OSError:
        return {}


FINDER_NAMES = {"plain": "plain", "goalloc-off": "goalloc, GC off", "goalloc": "goalloc report",
                "lsan": "LeakSanitizer", "memcheck": "memcheck"}
HIDDEN = ("plant_xor", "plant_epoll")  # no finder that reads memory can see these pointers
PLANT_DESC = {
    "plant_direct": "100 B, pointer dropped (leak)",
    "plant_pair_head": "48 B head of a pair (leak, direct)",
    "plant_pair_tail": "48 B tail of a pair (leak, indirect)",
    "plant_xor": "300 B, only pointer XOR-ed (held, hidden)",
    "plant_mmap": "600 B, held only from an anonymous mmap",
    "plant_past_end": "500 B, held only by a one-past-the-end pointer",
    "plant_epoll": "900 B, held only in epoll data.ptr (hidden)",
    "plant_interior": "208 B, held only by an interior pointer (+64)",
    "plant_tagged": "264 B, held only by a low-bit-tagged pointer (p \\| 1)",
    "plant_tls_main": "712 B, held only by a __thread of main",
    "plant_tls_thread": "816 B, held only by a __thread of a live thread",
    "(other)": "reports of blocks not planted",
}


def table_planted(out, m, pr):
    rs = rows(os.path.join(out, "planted.csv"))
    if not rs:
        return
    finders = []
    for r in rs:
        if r["finder"] not in finders:
            finders.append(r["finder"])
    plants = []
    for r in rs:
        if r["plant"] not in plants:
            plants.append(r["plant"])
    pr("### Leak finders on the planted-leak program (`test/bench/gc/planted.c`)")
    pr("")
    pr("Each cell: what the finder said about that block in every run (`n/N` where runs differ). "
       "found = a leak reported; **FALSE** = a block the program still uses reported as leaked; "
       "missed = a leak not reported; — = not reported (correct for a held block). "
       "Kinds: direct, indirect, possible (memcheck's \"possibly lost\").")
    pr("")
    pr("| block | " + " | ".join(FINDER_NAMES.get(f, f) for f in finders) + " |")
    pr("|---|" + "---|" * len(finders))
    totals = {f: [0, 0, 0, 0, 0, 0] for f in finders}  # found, leaks, false, held, false hidden, hidden
    for p in plants:
        cells = []
        for f in finders:
            vs = [r for r in rs if r["finder"] == f and r["plant"] == p]
            n = len(vs)
            verdicts = [v["verdict"] for v in vs]
            top = max(set(verdicts), key=verdicts.count) if verdicts else "?"
            kinds = sorted({v["kind"] for v in vs if v["kind"]})
            label = {"found": "found", "false": "**FALSE**", "missed": "**missed**", "ok": "—",
                     "incomplete": "check incomplete (%s)" % (vs[0]["kind"] if vs else ""),
                     "other": "**%s**" % (vs[0]["kind"] if vs else "")}.get(top, top)
            if p == "(other)" and top == "other":
                label = "%s, %s B" % (vs[0]["kind"], vs[0]["bytes"])
            elif kinds and top in ("found", "false"):
                label += " (%s)" % "/".join(kinds)
            if len(set(verdicts)) > 1:
                label += " %d/%d" % (verdicts.count(top), n)
            cells.append(label)
            if p != "(other)" and vs:
                lk = p in ("plant_direct", "plant_pair_head", "plant_pair_tail")
                if lk:
                    totals[f][1] += 1
                    totals[f][0] += top == "found"
                elif p in HIDDEN:
                    totals[f][5] += 1
                    totals[f][4] += top == "false"
                else:
                    totals[f][3] += 1
                    totals[f][2] += top == "false"
        pr("| %s | %s |" % (PLANT_DESC.get(p, p), " | ".join(cells)))
    pr("| **leaks found** | " + " | ".join("%d of %d" % tuple(totals[f][0:2]) for f in finders) + " |")
    pr("| **false reports, blocks held where memory can be read** | " + " | ".join(
        "%d of %d" % tuple(totals[f][2:4]) for f in finders) + " |")
    pr("| **false reports, pointer hidden (XOR, kernel)** | " + " | ".join(
        "%d of %d" % tuple(totals[f][4:6]) for f in finders) + " |")
    pr("")
    pr("Runs per finder: %s; load average (1 min) during the part: %s." % (
        ", ".join("%s %d" % (f, len({r["round"] for r in rs if r["finder"] == f})) for f in finders),
        m.get("load_planted", "?")))
    pr("")


def table_programs(out, m, pr):
    rs = rows(os.path.join(out, "programs.csv"))
    if not rs:
        return
    cases, finders = [], []
    for r in rs:
        if r["case"] not in cases:
            cases.append(r["case"])
        if r["finder"] not in finders:
            finders.append(r["finder"])
    pr("### Leak finders on real programs: time and peak RSS as ratios to the plain run")
    pr("")
    pr("Medians over the rounds (runs interleaved: each round runs every finder once per program). "
       "Each cell: time ratio / peak-RSS ratio (the finder's median ÷ the plain run's median), then "
       "the median wall time; `reported` = bytes the finder reported as leaked (median); for goalloc "
       "report, `÷ GC off` is its median over goalloc's own with the collector off (the collector's "
       "cost alone).")
    pr("")
    others = [f for f in finders if f != "plain"]
    pr("| program | plain | " + " | ".join(FINDER_NAMES.get(f, f) for f in others) + " |")
    pr("|---|---|" + "---|" * len(others))
    for c in cases:
        base = ok_runs([r for r in rs if r["case"] == c and r["finder"] == "plain"])
        bt = med([float(r["wall_s"]) for r in base])
        brss = med([float(r["maxrss_kib"]) for r in base])
        cells = ["%s s, %s (n=%d)" % (fnum(bt), fmib(brss), len(base)) if base else "failed"]
        for f in others:
            all_f = [r for r in rs if r["case"] == c and r["finder"] == f]
            ok = ok_runs(all_f)
            if not ok:
                cells.append("**failed** (%s)" % ", ".join(sorted({"status %s%s" % (r["status"], (": " + r["note"]) if r.get("note") else "")
                                                              for r in all_f})) if all_f else "–")
                continue
            t = med([float(r["wall_s"]) for r in ok])
            rss = med([float(r["maxrss_kib"]) for r in ok])
            rep = med([float(r["reported_bytes"]) for r in ok if r.get("reported_bytes") not in ("", None)])
            cell = "**%s×** / %s× (%s s" % (fnum(t / bt) if bt else "?", fnum(rss / brss) if brss else "?",
                                           fnum(t))
            cell += ", n=%d" % len(ok) if len(ok) != len(all_f) else ""
            cell += ")"
            if f == "goalloc":
                off = ok_runs([r for r in rs if r["case"] == c and r["finder"] == "goalloc-off"])
                ot = med([float(r["wall_s"]) for r in off])
                if ot:
                    cell += "; ÷ GC off %s×" % fnum(t / ot)
            if rep is not None and f in ("goalloc", "lsan", "memcheck"):
                cell += "; reported %s" % (("%.0f KB" % (rep / 1000)) if rep >= 10000 else "%.0f B" % rep)
            inc = [r for r in ok if (r.get("check") or "0") != "0"]
            if inc:
                cell += "; **%d of %d runs: check incomplete or cycles aborted**" % (len(inc), len(ok))
            cells.append(cell)
        pr("| %s | %s |" % (c, " | ".join(cells)))
    pr("")
    pr("Load average (1 min) over these runs: %s. %s" % (loads(rs), m.get("programs_note", "")))
    p = problems(rs)
    if p:
        pr("")
        pr("Problems:")
        for x in p:
            pr("- " + x)
    pr("")


VARIANT_NAMES = {"bdwgc": "bdwgc (GC_MALLOC)", "goalloc": "goalloc collect (no free)",
                 "glibc-free": "glibc, with free", "glibc-nofree": "glibc, no free (leaks)",
                 "goalloc-free": "goalloc GC off, with free"}


def table_collect(out, m, pr):
    rs = rows(os.path.join(out, "collect.csv"))
    if not rs:
        return
    cases, variants = [], []
    for r in rs:
        if r["case"] not in cases:
            cases.append(r["case"])
        if r["finder"] not in variants:
            variants.append(r["finder"])
    pr("### Collecting: GCBench and the leaky-server loop")
    pr("")
    pr("Median (min–max) wall time of the whole process and median peak RSS (`ru_maxrss`); "
       "the last column is goalloc collect against the targets (time ≤ bdwgc, peak RSS ≤ bdwgc × 1.1).")
    pr("")
    pr("| program | " + " | ".join(VARIANT_NAMES.get(v, v) for v in variants) + " | goalloc ÷ bdwgc |")
    pr("|---|" + "---|" * (len(variants) + 1))
    for c in cases:
        cells, meds = [], {}
        for v in variants:
            all_v = [r for r in rs if r["case"] == c and r["finder"] == v]
            ok = ok_runs(all_v)
            if not ok:
                cells.append(("**failed** (%s)" % ", ".join(sorted({"status %s%s" % (r["status"], (": " + r["note"]) if r.get("note") else "")
                                                                for r in all_v})))
                             if all_v else m.get("goalloc_pending", "pending") if v == "goalloc" else "–")
                continue
            ts = [float(r["wall_s"]) for r in ok]
            t = med(ts)
            rss = med([float(r["maxrss_kib"]) for r in ok])
            meds[v] = (t, rss)
            cells.append("%s s (%s–%s), %s%s" % (fnum(t, 3), fnum(min(ts), 3), fnum(max(ts), 3), fmib(rss),
                                                 "" if len(ok) == len(all_v) else ", %d of %d ok" % (len(ok), len(all_v))))
        if "goalloc" in meds and "bdwgc" in meds:
            tr = meds["goalloc"][0] / meds["bdwgc"][0]
            rr = meds["goalloc"][1] / meds["bdwgc"][1]
            cells.append("time %s× %s, RSS %s× %s" % (fnum(tr), "✓" if tr <= 1 else "✗", fnum(rr),
                                                       "✓" if rr <= 1.1 else "✗"))
        else:
            cells.append(m.get("goalloc_pending", "pending"))
        n = len({r["round"] for r in rs if r["case"] == c})
        pr("| %s (n=%d) | %s |" % (c, n, " | ".join(cells)))
    pr("")
    pr("Load average (1 min) over these runs: %s." % loads(rs))
    p = problems(rs)
    if p:
        pr("")
        pr("Problems:")
        for x in p:
            pr("- " + x)
    pr("")
    rss = rows(os.path.join(out, "rss.csv"))
    if rss:
        vs = []
        for r in rss:
            if r["finder"] not in vs:
                vs.append(r["finder"])
        iters = sorted({int(r["iter"]) for r in rss})
        pr("#### RSS over the leaky loop (`iter=… rss_kib=…` from /proc/self/statm; median over the rounds)")
        pr("")
        pr("| requests | " + " | ".join(VARIANT_NAMES.get(v, v) for v in vs) + " |")
        pr("|---|" + "---|" * len(vs))
        for i in iters:
            cells = []
            for v in vs:
                x = med([float(r["rss_kib"]) for r in rss if r["finder"] == v and int(r["iter"]) == i])
                cells.append(fmib(x))
            pr("| %d | %s |" % (i, " | ".join(cells)))
        verdict = []
        for v in vs:
            first = med([float(r["rss_kib"]) for r in rss if r["finder"] == v and int(r["iter"]) == iters[0]])
            last = med([float(r["rss_kib"]) for r in rss if r["finder"] == v and int(r["iter"]) == iters[-1]])
            if first and last:
                verdict.append("%s %s (×%s from the first sample to the last)" % (
                    VARIANT_NAMES.get(v, v), "flat" if last <= first * 1.25 + 1024 else "**grows**",
                    fnum(last / first)))
        pr("")
        pr("; ".join(verdict) + ".")
        pr("")


def table_pauses(out, m, pr):
    rs = rows(os.path.join(out, "pauses.csv"))
    if not rs:
        return
    pr("### Pauses and mark rate (`test/bench/gc/heap.c`: a live heap of 64-byte nodes, 7 pointers each)")
    pr("")
    pr("goalloc: from the gctrace line of each `goalloc_gc()` cycle: pause = 1st + 3rd clock figures "
       "(Go's reading, where the mark runs concurrently), mark = 2nd, mark CPU = the assist/background/"
       "idle CPU figures; world stopped = goalloc_gc_stats().pause_last_ns (goalloc marks with the "
       "world stopped, so this is 1st + 2nd + 3rd), call = wall clock around goalloc_gc() (adds the "
       "sweep). "
       "bdwgc: wall and process CPU time around GC_gcollect() (stop-the-world: the whole call is the "
       "pause and the mark), with one marker (its default for a single-threaded program) and with "
       "its parallel markers (GC_start_mark_threads). Live = what the collector marked. "
       "MB/s per core (mark) = live MB ÷ mark CPU seconds (goalloc's gctrace gives the mark's wall "
       "time as its CPU figure); MB/s per CPU-s of the call = live MB ÷ the process CPU time around "
       "goalloc_gc() or GC_gcollect() (the same clock for both, and blind to time the process spent "
       "descheduled on a loaded machine). Medians over cycles and rounds.")
    pr("")
    pr("| heap | collector | live MB | pause ms (1st+3rd) | mark ms (2nd) | world stopped ms | stopped ms per MB live | MB marked/s per core (mark) | MB/s per CPU-s of the call | call ms | n |")
    pr("|---|---|---|---|---|---|---|---|---|---|---|")
    sizes = sorted({float(r["mb"]) for r in rs})
    cols = []
    for r in rs:
        if r["collector"] not in cols:
            cols.append(r["collector"])
    for s in sizes:
        for c in cols:
            x = [r for r in rs if float(r["mb"]) == s and r["collector"] == c]
            if not x:
                continue
            if all(r.get("note") for r in x):
                pr("| %g MB | %s | %s | | | | | | | | |" % (s, c, x[0]["note"]))
                continue
            x = [r for r in x if not r.get("note")]

            def mf(k):
                return med([float(r[k]) for r in x if r.get(k) not in ("", None)])
            live, pause, mark, cpu = mf("live_mb"), mf("pause_ms"), mf("mark_ms"), mf("mark_cpu_ms")
            per_mb = med([float(r["stopped_ms"]) / float(r["live_mb"]) for r in x
                          if r.get("stopped_ms") and r.get("live_mb") and float(r["live_mb"]) > 0])
            rate = med([float(r["live_mb"]) / (float(r["mark_cpu_ms"]) / 1e3) for r in x
                        if r.get("mark_cpu_ms") and float(r["mark_cpu_ms"]) > 0 and r.get("live_mb")])
            rate_call = med([float(r["live_mb"]) / (float(r["call_cpu_ms"]) / 1e3) for r in x
                             if r.get("call_cpu_ms") and float(r["call_cpu_ms"]) > 0 and r.get("live_mb")])
            pr("| %g MB | %s | %s | %s | %s | %s | %s | %s | %s | %s | %d |" % (
                s, c, fnum(live, 1), fnum(pause), fnum(mark), fnum(mf("stopped_ms")), fnum(per_mb, 3),
                fnum(rate, 0), fnum(rate_call, 0), fnum(mf("call_ms")), len(x)))
    pr("")
    pr("Load average (1 min) over these runs: %s." % loads(rs))
    pr("")


def tables(out):
    m = meta(out)
    lines = []
    pr = lines.append
    pr("## goalloc's collector side by side (%s, %s CPUs)" % (m.get("date", "?"), m.get("cpus", "?")))
    pr("")
    pr("goalloc: %s (%s). %s" % (m.get("lib", "?"), m.get("lib_commit", "?"), m.get("goalloc_state", "")))
    pr("Load when started: %s; when done: %s." % (m.get("uptime_start", "?"), m.get("uptime_end", "?")))
    pr("")
    table_planted(out, m, pr)
    table_programs(out, m, pr)
    table_collect(out, m, pr)
    table_pauses(out, m, pr)
    print("\n".join(lines))


def main():
    a = sys.argv[1:]
    if len(a) >= 4 and a[0] == "planted":
        planted(a[1], a[2], a[3], a[4:])
    elif a and a[0] == "leaksum":
        leaksum(a[1:])
    elif len(a) >= 6 and a[0] == "pauses":
        pauses(a[1], a[2], a[3], a[4], a[5], a[6:])
    elif a and a[0] == "gctrace":
        gctrace(a[1:])
    elif len(a) == 2 and a[0] == "tables":
        tables(a[1])
    else:
        sys.stderr.write(__doc__)
        sys.exit(2)


if __name__ == "__main__":
    main()
