#!/usr/bin/env bash
# t_gc_graph.sh — test/gc/t_gc_graph, a randomized object graph whose reachability the program
# computes itself:
#   report (seeds 1 and 2)  GOALLOC_GC=report: after each round of dropped roots and edges the cycle
#                           finds no more than the truly unreachable; at exit the report's SUMMARY
#                           equals the program's figures (bytes as requested, blocks), and so do
#                           the groups of each allocating function (nodes under 1 KiB with
#                           children, leaves of 1 KiB and more); direct objects are one per
#                           unreachable group nothing else unreachable points into
#   collect                 GOALLOC_GC=collect GOALLOC_GOGC=10, 8 threads mutating their graphs and
#                           goalloc_gc() every 3 ms for 3 s: every reachable node intact after every
#                           cycle
#   verify                  the same for 2 s with GOALLOC_GC_VERIFY=1 (collected blocks poisoned)
# Env: GOALLOC_LIB (the library), GOALLOC_BUILD (build directory, default build).
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root" || exit 1
lib=${GOALLOC_LIB:-$root/build/libgoalloc.so}
build=${GOALLOC_BUILD:-build}
prog=$build/test/gc/t_gc_graph
if [ ! -f "$lib" ]; then
	echo "1..0 # SKIP $lib not built"
	exit 0
fi
if [ ! -x "$prog" ]; then
	echo "1..0 # SKIP $prog not built (make gc-tests)"
	exit 0
fi
unset GOALLOC_GC GOALLOC_GCTRACE GOALLOC_GOGC GOALLOC_FORCEGC GOALLOC_GC_PAGEMAP GOALLOC_GC_VERIFY \
	GOALLOC_LEAK_EXITCODE GOALLOC_LOG GOALLOC_SUPPRESSIONS GOALLOC_PROFILE_RATE GOALLOC_STATS
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT

n=0
# tap STATUS DESCRIPTION [TODO-REASON]: STATUS 0 is ok; a failure with a reason is a TODO
tap() {
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $n - $2"
	elif [ -n "${3:-}" ]; then
		echo "not ok $n - $2 # TODO $3"
	else
		echo "not ok $n - $2"
	fi
}
diag() { sed 's/^/# /'; }

# run NAME ARGS... -- VAR=VALUE...
run() {
	local name=$1 args=()
	shift
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		args+=("$1")
		shift
	done
	[ $# -gt 0 ] && shift
	timeout -k 5 60 env "$@" LD_PRELOAD="$lib" "$prog" "${args[@]}" >"$d/$name.out" 2>"$d/$name.err"
	echo $? >"$d/$name.rc"
}

program_checks() {
	local name=$1 l rc
	while IFS= read -r l; do
		case "$l" in
		"ok - "*) tap 0 "[$name] ${l#ok - }" ;;
		"not ok - "*) tap 1 "[$name] ${l#not ok - }" ;;
		"# "*) echo "$l" ;;
		esac
	done <"$d/$name.out"
	grep -q '^done ' "$d/$name.out"
	tap $? "[$name] the program ran to its end"
	rc=$(cat "$d/$name.rc")
	[ "$rc" = 0 ]
	tap $? "[$name] exit status 0 (got $rc)"
}

# The exit report's groups (kind, frame #0 function, bytes, objects) and its SUMMARY line.
cat >"$d/parse.pl" <<'PERL'
use strict;
use warnings;
my @l = <STDIN>;
chomp @l;
my $start = -1;
for my $i (0 .. $#l) { $start = $i if $l[$i] =~ /^==\d+==goalloc: detected memory leaks/ }
if ($start < 0) { print "NONE\n"; exit 0 }
my $g;
for my $i ($start + 1 .. $#l) {
	my $s = $l[$i];
	if ($s =~ /^(Direct|Indirect) leak of (\d+) byte\(s\) in (\d+) object\(s\)/) {
		print "GROUP $g->[0] $g->[3] $g->[1] $g->[2]\n" if $g;
		$g = [$1, $2, $3, '-'];
	} elsif ($g && $g->[3] eq '-' && $s =~ /^\s+#0 0x[0-9a-fA-F]+(?: in (\S+))?/) {
		$g->[3] = defined $1 ? $1 : '?';
	} elsif ($s =~ /^SUMMARY: goalloc: (\d+) byte\(s\) leaked in (\d+) allocation\(s\)\.$/) {
		print "GROUP $g->[0] $g->[3] $g->[1] $g->[2]\n" if $g;
		undef $g;
		print "SUMMARY $1 $2\n";
	} elsif ($s =~ /^==\d+==goalloc:/) {
		last;
	}
}
print "GROUP $g->[0] $g->[3] $g->[1] $g->[2]\n" if $g;
PERL

for seed in 1 2; do
	name=report$seed
	run $name report $seed -- GOALLOC_GC=report
	if grep -q '^SKIP' "$d/$name.out"; then
		echo "1..0 # $(grep -m1 '^SKIP' "$d/$name.out")"
		exit 0
	fi
	program_checks $name
	read -r _ xbytes xallocs <<<"$(grep '^expect ' "$d/$name.out" || echo "expect ? ?")"
	perl "$d/parse.pl" <"$d/$name.err" >"$d/$name.p"
	sum=$(sed -n 's/^SUMMARY //p' "$d/$name.p")
	[ "$sum" = "$xbytes $xallocs" ]
	tap $? "[$name] at exit every unreachable node is reported: SUMMARY ${sum:-missing}, the program's count $xbytes bytes in $xallocs blocks"
	others=$(awk '$1 == "GROUP" && $3 != "graph_node_alloc" && $3 != "graph_leaf_alloc"' "$d/$name.p")
	[ -z "$others" ]
	tap $? "[$name] every group is graph_node_alloc's or graph_leaf_alloc's (nothing else reported)"
	[ -z "$others" ] || echo "$others" | head -20 | diag
	for kind in small:graph_node_alloc big:graph_leaf_alloc; do
		fn=${kind#*:}
		kind=${kind%%:*}
		read -r _ kbytes kallocs kdirect <<<"$(grep "^expect_$kind " "$d/$name.out" || echo "x ? ? ?")"
		got=$(awk -v f="$fn" '$1 == "GROUP" && $3 == f { b += $4; o += $5; if ($2 == "Direct") dr += $5 }
			END { print b + 0, o + 0, dr + 0 }' "$d/$name.p")
		[ "${got% *}" = "$kbytes $kallocs" ]
		tap $? "[$name] $fn's groups: ${got% *} (bytes, blocks), the program's count $kbytes $kallocs"
		[ "${got##* }" = "$kdirect" ]
		tap $? "[$name] $fn's direct objects ${got##* }: one per unreachable group no other unreachable node points into ($kdirect)"
	done
done

run collect collect 3 8 -- GOALLOC_GC=collect GOALLOC_GOGC=10
program_checks collect
! grep -q 'goalloc: .*\(double free\|corrupt\|invalid pointer\|assert\|fatal\)' "$d/collect.err"
tap $? "[collect] no error from goalloc"
grep 'goalloc: ' "$d/collect.err" | grep -v 'leak of\|SUMMARY\|detected memory leaks' | head -10 | diag

run verify collect 2 8 -- GOALLOC_GC=collect GOALLOC_GOGC=10 GOALLOC_GC_VERIFY=1
program_checks verify
! grep -q 'goalloc: .*\(double free\|corrupt\|invalid pointer\|assert\|fatal\)' "$d/verify.err"
tap $? "[verify] no error from goalloc"
grep 'goalloc: ' "$d/verify.err" | grep -v 'leak of\|SUMMARY\|detected memory leaks' | head -10 | diag
echo "1..$n"
