#!/usr/bin/env bash
# scripts/rss-compare.sh on its shortest workload (growfree --quick, one round, every allocator
# installed): it exits 0 and writes runs.csv, samples.csv, summary.md and growfree.png, each
# well-formed. Nothing is timed. Skipped when gnuplot is missing and cannot be installed.
lib=${GOALLOC_LIB:-build/libgoalloc.so}
B=${GOALLOC_BUILD:-build}
[ -f "$lib" ] || { echo "1..0 # SKIP no library"; exit 0; }
for f in "$B/rss-sample" "$B/bench/rss/growfree"; do
	[ -x "$f" ] || { echo "1..0 # SKIP $f not built (make tests)"; exit 0; }
done
if ! command -v gnuplot >/dev/null; then
	SUDO=; [ "$(id -u)" -eq 0 ] || SUDO="sudo -n"
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends gnuplot-nox \
		>/dev/null 2>&1
	command -v gnuplot >/dev/null || { echo "1..0 # SKIP gnuplot missing and could not be installed"; exit 0; }
fi
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
echo "1..6"
n=0
check() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fi; }

scripts/rss-compare.sh --quick --rounds 1 --only growfree --no-build --build "$B" --lib "$lib" \
	--out "$d/out" >"$d/stdout" 2>"$d/stderr"
st=$?
check "$st" "rss-compare.sh --quick --rounds 1 --only growfree exits 0"
[ "$st" = 0 ] || tail -20 "$d/stderr" | sed 's/^/# /'
out=$d/out
# the allocators the script found (glibc and goalloc always; the peers when their packages are in)
allocs=$(awk -F, 'NR > 1 { print $2 }' "$out/runs.csv" 2>/dev/null | sort -u | tr '\n' ' ')
nalloc=$(echo $allocs | wc -w)

# runs.csv: one row per allocator, every run exited 0 with a positive peak, mean and wall time,
# every checksum glibc's
bad=$(awk -F, 'NR == 1 { if ($0 != "workload,allocator,round,status,wall_s,peak_kib,final_kib,mean_kib,samples,tree,load1,checksum,log") print "header"; next }
	NF != 13 || $1 != "growfree" || $3 != 1 || $4 != 0 || !($5 > 0) || !($6 > 0) || !($7 > 0) || !($8 > 0) ||
	!($9 >= 1) || $10 != 0 { print "row " NR ": " $0 }
	{ sums[$12] = 1 }
	END { n = 0; for (s in sums) n++; if (n != 1) print n " different checksums" }' "$out/runs.csv" 2>&1)
check "$([ -z "$bad" ] && [ "$nalloc" -ge 2 ] && echo 0 || echo 1)" "runs.csv: a row per allocator ($allocs), each exited 0 with RSS, time and glibc's checksum"
[ -n "$bad" ] && echo "$bad" | sed 's/^/# /'

# samples.csv: numeric rows, for every allocator, time not going back within a run
bad=$(awk -F, 'NR == 1 { if ($0 != "workload,allocator,round,t_s,rss_kib") print "header"; next }
	NF != 5 || $1 != "growfree" || $4 !~ /^[0-9]+\.[0-9]+$/ || $5 !~ /^[0-9]+$/ { print "row " NR ": " $0; next }
	{ k = $2 "," $3; if (k in last && $4 + 0 < last[k]) print "time goes back at row " NR; last[k] = $4; seen[$2]++ }
	END { n = 0; for (a in seen) n++; print n > "/dev/stderr" }' "$out/samples.csv" 2>"$d/nseen")
check "$([ -z "$bad" ] && [ "$(cat "$d/nseen")" = "$nalloc" ] && echo 0 || echo 1)" \
	"samples.csv: numeric samples of every allocator, in time order"
[ -n "$bad" ] && echo "$bad" | head -5 | sed 's/^/# /'

# summary.md: the four tables, each with a growfree row of a number per allocator
tables=$(grep -c '^| workload | ' "$out/summary.md" 2>/dev/null)
rows=$(awk -F'|' -v n="$nalloc" '/^\| growfree \|/ { ok = 1; for (i = 3; i < 3 + n; i++) if ($i !~ /^ *[0-9]+(\.[0-9]+)? *$/) ok = 0; c += ok } END { print c + 0 }' "$out/summary.md" 2>/dev/null)
check "$([ "$tables" = 4 ] && [ "$rows" = 4 ] && echo 0 || echo 1)" \
	"summary.md: peak, final, mean RSS and wall time tables, each with its growfree row ($tables tables, $rows rows)"
check "$(grep -q '^## RSS over time (' "$out/summary.md" && grep -q 'Load average' "$out/summary.md" && echo 0 || echo 1)" \
	"summary.md: dated heading and the load average"

# growfree.png: a PNG of 960 x 540 (the signature, then IHDR's width and height)
hdr=$(od -An -tx1 -N24 "$out/growfree.png" 2>/dev/null | tr -d ' \n')
check "$([ "${hdr:0:16}" = 89504e470d0a1a0a ] && [ "${hdr:24:8}" = 49484452 ] && [ "${hdr:32:16}" = 000003c00000021c ] &&
	echo 0 || echo 1)" "growfree.png is a 960x540 PNG"
