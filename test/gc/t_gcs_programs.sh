#!/usr/bin/env bash
# shellcheck disable=SC2317  # the write_* functions are called by gt_run_pair
# t_gcs_programs.sh — real programs under the collector: python3 (PYTHONMALLOC=malloc, threads,
# a child process), perl, git (init, add, commit, log, gc, fsck), gcc compiling and linking a small
# C file, a bash pipeline with command substitutions, and the threaded C++ program of
# test/programs/cxx_threads.cc (built with g++). Each runs plain and then preloaded with
# GOALLOC_GC=report, then again with GOALLOC_GC=collect, both with GOALLOC_GOGC=10 (a cycle per
# 10 % of heap growth: many cycles) and GOALLOC_GCTRACE=1 into GOALLOC_LOG=<dir>/log.%p; python3
# and the C++ program also under collect with GOALLOC_GC_STOP=signal and ptrace (auto is the
# default). Three tests per run:
#   stdout and exit status identical to the plain run's (test/programs/lib.sh gt_check_stdout);
#   stderr identical (goalloc writes to the log, not to the program's stderr);
#   the logs: no "goalloc: " message (fatal errors and warnings), no abandoned cycle (but under
#   GOALLOC_GC_STOP=signal, where a program that blocks signals may cause them by design), no incomplete
#   exit check, and for python3 and the C++ program a "gc 1 @" trace line. Leak reports in the log
#   are expected (these programs leave blocks behind at exit) and are not checked.
# A program that is not installed is skipped. About 60-90 s on two cores.
# Known collector bugs turn the tests they fail into TAP TODO tests (todo_reason below).
cd "$(dirname "$0")/../.." || exit 1
# shellcheck source=test/programs/lib.sh
. test/programs/lib.sh

BUILD=${GOALLOC_BUILD:-build}

# ENV_BUG: under GOALLOC_GC=report the program's environ was NULL (test/gc/gcs_repro_getenv.c): the
# gcc driver finds no PATH and cannot run cc1.
ENV_BUG=0
# ALIGN_BUG: under GOALLOC_GC=collect aligned allocations come back misaligned
# (test/gc/gcs_repro_align.c): cxx_threads counted its alignas(64) objects that were not. Fixed at
# main b85c028.
ALIGN_BUG=0
# todo_reason PROG MODE PART : a reason when that test is expected to fail.
todo_reason() {
	case $1/$2/$3 in
	gcc/report/stdout | gcc/report/stderr) [ $ENV_BUG = 1 ] && echo "collector bug: environ NULL under report (gcs_repro_getenv.c)" ;;
	cxx/collect/stdout | cxx/collect/stderr) [ $ALIGN_BUG = 1 ] && echo "collector bug: misaligned aligned new under collect (gcs_repro_align.c)" ;;
	esac
	return 0
}
# lib.sh's gt_fail, with a TODO directive (not counted as a failure) while GT_TODO is set.
GT_TODO=
gt_fail() {
	gt_n=$((gt_n + 1))
	if [ -n "$GT_TODO" ]; then
		echo "not ok $gt_n - $1 # TODO $GT_TODO"
	else
		gt_failed=$((gt_failed + 1))
		echo "not ok $gt_n - $1"
	fi
}
PY=/usr/bin/python3

write_python() {
	cat >main.py <<'EOF'
import hashlib, json, random, subprocess, threading

def digest(data):
    if isinstance(data, str):
        data = data.encode()
    return hashlib.sha256(data).hexdigest()[:20]

rng = random.Random(7)
table = {}
for i in range(20000):
    table["key%06d-%s" % (i, "abcdefghij"[: i % 11])] = [i, str(i * 31), (i, -i), {"n": i % 97}]
for i in range(0, 20000, 3):
    del table["key%06d-%s" % (i, "abcdefghij"[: i % 11])]
print("dict", len(table), digest("\n".join(sorted(table))))
text = "-".join(str(i) * (i % 9) for i in range(30000))
print("string", len(text), digest(text.upper().replace("7", "seven")))
big = {"users": [{"id": i, "tags": ["t%d" % (i * j % 13) for j in range(i % 8)], "score": rng.random(),
                  "meta": {"k%d" % (i % 5): [i, None, True, "x" * (i % 17)]}} for i in range(3000)]}
for _ in range(3):
    encoded = json.dumps(big, sort_keys=True)
    big = json.loads(encoded)
print("json", len(encoded), digest(encoded))
results = [None] * 3
def worker(idx):
    r = random.Random(1000 + idx)
    data = {}
    for i in range(6000):
        data["t%d-%d" % (idx, r.randrange(1 << 30))] = r.randbytes(8 + i % 40)
    blob = b"".join(data[k] for k in sorted(data))
    results[idx] = (len(data), len(blob), digest(blob))
threads = [threading.Thread(target=worker, args=(i,)) for i in range(3)]
for t in threads:
    t.start()
for t in threads:
    t.join()
for idx, res in enumerate(results):
    print("thread", idx, *res)
child = subprocess.run(["/usr/bin/python3", "-c", "print(sum(len(str(i)) for i in range(50000)))"],
                       stdout=subprocess.PIPE, check=True)
print("child", child.stdout.decode().strip())
grown = bytearray()
for i in range(128):
    grown += bytes([i % 251]) * 65536
del grown[len(grown) // 10:]
print("bytearray", len(grown), digest(bytes(grown)))
EOF
}

write_perl() {
	cat >main.pl <<'EOF'
use strict;
use warnings;
use Digest::SHA qw(sha256_hex);
my %h;
$h{ "k" . ($_ * 7919 % 1_000_003) . "_" . $_ } = $_ * 3 for 0 .. 49_999;
my @keys = sort keys %h;
print "keys ", scalar(@keys), " ", substr(sha256_hex(join ",", @keys), 0, 20), "\n";
my $joined = join "|", map { "$_=$h{$_}" } @keys;
(my $edited = $joined) =~ s/k(\d+)_/K<$1>/g;
print "regex ", length($edited), " ", substr(sha256_hex($edited), 0, 20), "\n";
delete @h{ grep { /[13579]$/ } @keys };
my @vals = sort { $a <=> $b } values %h;
print "after-delete ", scalar(@vals), " $vals[0] $vals[-1]\n";
my @aoa = map { [ ($_) x ($_ % 17) ] } 1 .. 20_000;
my $cells = 0;
$cells += @$_ for @aoa;
print "arrays $cells\n";
EOF
}

write_git() {
	cat >run.sh <<'EOF'
set -e
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null GIT_PAGER=cat PAGER=cat
export GIT_AUTHOR_NAME="Ada Example" GIT_AUTHOR_EMAIL=ada@example.org
export GIT_COMMITTER_NAME="Bob Example" GIT_COMMITTER_EMAIL=bob@example.org
git init -q -b main repo
cd repo
git config gc.auto 0
git config maintenance.auto false
for i in $(seq 1 15); do
	seq 1 $((i * 20)) | sed "s/^/file $i line /" >"file$i.txt"
done
git add .
GIT_AUTHOR_DATE="2021-03-04T05:06:07+0000" GIT_COMMITTER_DATE="2021-03-04T05:06:07+0000" \
	git commit -q -m "first: 15 files"
sed -i 's/line 2$/line two/' file3.txt file9.txt file14.txt
git rm -q file15.txt
git mv file1.txt renamed.txt
git add -A
GIT_AUTHOR_DATE="2021-03-05T05:06:07+0000" GIT_COMMITTER_DATE="2021-03-05T06:07:08+0000" \
	git commit -q -m "second: edit, delete, rename"
git rev-parse HEAD HEAD~1 HEAD^{tree}
git log --stat
git gc --quiet
git fsck --no-progress --strict
git log -p | sha256sum
EOF
}

write_gcc() {
	awk 'BEGIN {
		print "#include <stdio.h>"
		print "#include <string.h>"
		print "struct node { unsigned key; char name[24]; struct node *next; };"
		for (i = 0; i < 120; i++)
			printf "static unsigned f%d(unsigned x) { x ^= x << %d; x ^= x >> %d; return x * %du + %du; }\n",
				i, i % 13 + 1, i % 7 + 3, i * 2654435761 % 65521 + 1, i
		print "int main(void) {"
		print "\tstruct node nodes[64];"
		print "\tunsigned s = 0, i;"
		print "\tfor (i = 0; i < 64; i++) {"
		print "\t\tnodes[i].key = i * 40503u;"
		print "\t\tsnprintf(nodes[i].name, sizeof nodes[i].name, \"n%u\", i);"
		print "\t\tnodes[i].next = i ? &nodes[i - 1] : 0;"
		print "\t}"
		for (i = 0; i < 120; i++)
			printf "\ts = f%d(s + nodes[%d].key + (unsigned)strlen(nodes[%d].name));\n", i, i % 64, (i * 7) % 64
		print "\tprintf(\"checksum %u\\n\", s);"
		print "\treturn 0;"
		print "}"
	}' >prog.c
	cat >run.sh <<'EOF'
set -e
gcc -O2 -c prog.c -o prog.o
echo "prog.o: $(sha256sum <prog.o | cut -c1-20)"
gcc -O2 -o prog prog.o
./prog
EOF
}

write_shell() {
	cat >run.sh <<'EOF'
echo "pipeline: $(seq 1 10000 | awk '{print ($1*7919)%100003, $1}' | sort -n | uniq -c |
	sort -k1,1nr -k2,2n | head -50 | sha256sum)"
echo "tr+sort: $(seq 1 5000 | tr 0-9 a-j | sort -r | tail -3 | tr '\n' ' ')"
s=
for i in $(seq 1 15); do
	x=$(echo "$i" | tr 0-9 a-j)
	s="$s$x:${#x},"
done
echo "loop: ${#s} $(printf '%s' "$s" | sha256sum)"
EOF
}

# ---- the runs ---------------------------------------------------------------------------------
PROGS=(python3 perl git gcc bash cxx)
NRUNS=$((${#PROGS[@]} * 2 + 4))
gt_plan $((NRUNS * 3 + 1))

# May ptrace be used here? (t_gcs_safepoint's probe: one goalloc_gc() under GOALLOC_GC_STOP=ptrace.)
PTRACE_SKIP=
if [ -x "$BUILD/test/gc/t_gcs_safepoint" ]; then
	out=$(timeout -k 5 30 env LD_PRELOAD="$GOALLOC_LIB" GOALLOC_GC=report GOALLOC_GC_STOP=ptrace \
		"$BUILD/test/gc/t_gcs_safepoint" probe 2>&1)
	rc=$?
	if [ $rc != 0 ] && grep -qiE 'ptrace.*(refus|not permitted|EPERM|denied|unavailable|not available|not supported|cannot|disabled)' <<<"$out"; then
		PTRACE_SKIP="GOALLOC_GC_STOP=ptrace refused here: $(head -2 <<<"$out" | tr '\n' ' ')"
	fi
fi

CXX_EXE=$GT_WORK/cxx_threads
if gt_have g++; then
	if g++ -std=c++17 -O2 -pthread -o "$CXX_EXE" test/programs/cxx_threads.cc >"$GT_WORK/cxx.log" 2>&1; then
		gt_pass "cxx: build test/programs/cxx_threads.cc with g++"
	else
		gt_fail "cxx: build test/programs/cxx_threads.cc with g++"
		gt_diag_file "$GT_WORK/cxx.log" 20
	fi
else
	gt_skip "cxx: build test/programs/cxx_threads.cc" "g++ not installed (Debian package g++)"
fi

# Is PROG available? Echo why not.
missing() {
	case $1 in
	python3) [ -x "$PY" ] || echo "$PY not installed (Debian package python3)" ;;
	perl) gt_have perl && perl -MDigest::SHA -e 1 2>/dev/null || echo "perl with Digest::SHA not installed" ;;
	git) gt_have git seq sed sha256sum || echo "$GT_MISSING not installed" ;;
	gcc) gt_have gcc sha256sum || echo "$GT_MISSING not installed" ;;
	bash) gt_have bash seq awk sort uniq head tail tr sha256sum || echo "$GT_MISSING not installed" ;;
	cxx) [ -x "$CXX_EXE" ] || echo "cxx_threads not built" ;;
	esac
}

# run_prog PROG MODE [STOP]
run_prog() {
	local prog=$1 mode=$2 stop=${3:-} label why logdir
	label=$prog-$mode${stop:+-$stop}
	why=$(missing "$prog")
	[ -z "$why" ] && [ "$stop" = ptrace ] && why=$PTRACE_SKIP
	if [ -n "$why" ]; then
		gt_skip_n "$why" "$label: same stdout and exit status" "$label: same stderr" "$label: log"
		return
	fi
	logdir=$GT_WORK/logs.$label
	mkdir -p "$logdir"
	local env=(GOALLOC_STATS=0 GOALLOC_GC="$mode" GOALLOC_GOGC=10 GOALLOC_GCTRACE=1 GOALLOC_LOG="$logdir/log.%p")
	[ -n "$stop" ] && env+=(GOALLOC_GC_STOP="$stop")
	case $prog in
	python3) gt_run_pair "$label" write_python -- "${env[@]}" PYTHONHASHSEED=0 PYTHONDONTWRITEBYTECODE=1 \
		PYTHONMALLOC=malloc "$PY" main.py ;;
	perl) gt_run_pair "$label" write_perl -- "${env[@]}" perl main.pl ;;
	git) gt_run_pair "$label" write_git -- "${env[@]}" bash run.sh ;;
	gcc) gt_run_pair "$label" write_gcc -- "${env[@]}" bash run.sh ;;
	bash) gt_run_pair "$label" write_shell -- "${env[@]}" bash run.sh ;;
	cxx) gt_run_pair "$label" "" -- "${env[@]}" "$CXX_EXE" ;;
	esac
	GT_TODO=$(todo_reason "$prog" "$mode" stdout)
	gt_check_stdout "same stdout and exit status"
	GT_TODO=$(todo_reason "$prog" "$mode" stderr)
	gt_check_stderr "same stderr (goalloc writes to GOALLOC_LOG)"
	GT_TODO=$(todo_reason "$prog" "$mode" log)
	check_logs "$prog" "$logdir" "$stop"
	GT_TODO=
}

check_logs() {
	local prog=$1 logdir=$2 stop=$3 desc="$GT_LABEL: log" logs problems=() notes=() ngc nlogs nabort gc1 lines
	logs=("$logdir"/log.*)
	[ -e "${logs[0]}" ] || logs=()
	nlogs=${#logs[@]}
	lines=$(cat "${logs[@]}" "$GT_RES/preload.err" | grep -E '^goalloc: ' | head -3)
	[ -n "$lines" ] && problems+=("goalloc messages in the log or on stderr: $lines")
	nabort=$(cat "${logs[@]}" /dev/null | grep -cE '^gc [0-9]+ aborted')
	# (Under GOALLOC_GC_STOP=signal a program that blocks signals for a while — CPython does around
	# vfork — makes cycles abandoned by design; under auto, the default, it is stopped with ptrace.)
	if [ "$nabort" != 0 ]; then
		lines="$nabort abandoned cycle(s): $(cat "${logs[@]}" | grep -m2 -E '^gc [0-9]+ aborted' | tr '\n' ' ')"
		if [ "$stop" = signal ]; then notes+=("$lines"); else problems+=("$lines"); fi
	fi
	lines=$(cat "${logs[@]}" /dev/null | grep -m2 'leak check incomplete')
	[ -n "$lines" ] && problems+=("incomplete exit check: $lines")
	ngc=$(cat "${logs[@]}" /dev/null | grep -cE '^gc [0-9]+ @')
	gc1=$(cat "${logs[@]}" /dev/null | grep -cE '^gc 1 @')
	case $prog in
	python3 | cxx) [ "$gc1" -ge 1 ] || problems+=("no 'gc 1 @' line: no cycle ran (or none was traced)") ;;
	esac
	if [ ${#problems[@]} = 0 ]; then
		gt_pass "$desc: $nlogs log(s), $ngc cycles traced ($gc1 processes reached gc 1), no goalloc message"
		[ ${#notes[@]} = 0 ] || gt_diag "${notes[@]}"
		return 0
	fi
	gt_fail "$desc"
	gt_diag "${problems[@]}"
	gt_diag "$nlogs log(s), $ngc cycles traced"
	return 1
}

for prog in "${PROGS[@]}"; do
	for mode in report collect; do
		run_prog "$prog" "$mode"
	done
done
for stop in signal ptrace; do
	run_prog python3 collect "$stop"
	run_prog cxx collect "$stop"
done

gt_done
