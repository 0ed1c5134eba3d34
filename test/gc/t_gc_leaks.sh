#!/usr/bin/env bash
# t_gc_leaks.sh — goalloc's leak report finds exactly the planted leaks of test/gc/t_gc_leaks and
# never a block held from a root it must read (the program's header lists both sets):
#   scan      GOALLOC_GC=report, the report on stderr, page presence by PAGEMAP_SCAN when the
#             kernel has it: the program's own checks (goalloc_gc_stats after a goalloc_gc()), then
#             the report group by group: kinds, bytes, objects, classes, frame #0, SUMMARY, order
#   read      the same with GOALLOC_GC_PAGEMAP=read (/proc/self/pagemap) and GOALLOC_LOG=file.%p
#   stacks    GOALLOC_PROFILE_RATE=1: full allocation stacks (plant_direct <- plant_leaks <- main)
#   twice     two goalloc_gc() cycles: the report during the run names the same set
#   supp      GOALLOC_SUPPRESSIONS: a leak:plant_direct line hides its group, "Suppressions used:"
#   exitcode  GOALLOC_LEAK_EXITCODE=23: exit status 23 with leaks, 0 and no output without
#   heapalt   malloc'd buffers registered with sigaltstack (main thread and another), report and
#             collect: neither they nor what they hold may be reported or freed
#   collect   GOALLOC_GC=collect GOALLOC_GC_VERIFY=1: the planted blocks are freed, none kept
# Env: GOALLOC_LIB (the library), GOALLOC_BUILD (build directory, default build).
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root" || exit 1
lib=${GOALLOC_LIB:-$root/build/libgoalloc.so}
build=${GOALLOC_BUILD:-build}
gcdir=$build/test/gc
prog=$gcdir/t_gc_leaks
if [ ! -f "$lib" ]; then
	echo "1..0 # SKIP $lib not built"
	exit 0
fi
if [ ! -x "$prog" ] || [ ! -f "$gcdir/lib_gc_root.so" ] || [ ! -f "$gcdir/lib_gc_deepbind.so" ]; then
	echo "1..0 # SKIP $prog or its libraries not built (make gc-tests)"
	exit 0
fi
# Only what each run sets: nothing inherited may add output or change the report.
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

# run NAME VARIANT[:twice][:heapalt] [VAR=VALUE ...]: the program with goalloc preloaded; NAME.out,
# .err, .rc in $d
run() {
	local name=$1 variant=${2%%:*} extra=
	case "$2" in *:*) extra=${2#*:} extra=${extra//:/ } ;; esac
	shift 2
	timeout -k 5 60 env "$@" LD_PRELOAD="$lib" "$prog" "$variant" "$gcdir" $extra >"$d/$name.out" 2>"$d/$name.err"
	echo $? >"$d/$name.rc"
}

# The program's own checks (ok/not ok lines) as TAP, prefixed; its diagnostics passed on; and that
# it ran to its end. With a TODO reason, its failures are TODO.
program_checks() {
	local name=$1 todo=${2:-} l
	while IFS= read -r l; do
		case "$l" in
		"ok - "*) tap 0 "[$name] ${l#ok - }" ;;
		*"# TODO "*) echo "not ok $((n += 1)) - [$name] ${l#not ok - }" ;;
		"not ok - "*) tap 1 "[$name] ${l#not ok - }" "$todo" ;;
		"# "*) echo "$l" ;;
		esac
	done <"$d/$name.out"
	grep -q '^done ' "$d/$name.out"
	tap $? "[$name] the program ran to its end (exit status $(cat "$d/$name.rc"))" "$todo"
}

pid_of() { sed -n 's/^pid \([0-9]*\)$/\1/p' "$d/$1.out"; }

# parse FILE exit|run: the last report of that kind in FILE, one line per item:
#   PID pid | HEADER line | GROUP kind fn bytes objects classes module frames,... |
#   SUMMARY bytes allocations | SUPPUSED | SUPP count bytes template | NONE
cat >"$d/parse.pl" <<'PERL'
use strict;
use warnings;
my ($file, $which) = @ARGV;
open(my $fh, '<', $file) or do { print "NONE\n"; exit 0 };
my @l = <$fh>;
chomp @l;
my $re = $which eq 'run' ? qr/^==(\d+)==goalloc: blocks unreachable in two consecutive collections/
                         : qr/^==(\d+)==goalloc: detected memory leaks/;
my $start = -1;
for my $i (0 .. $#l) { $start = $i if $l[$i] =~ $re }
if ($start < 0) { print "NONE\n"; exit 0 }
$l[$start] =~ $re;
print "PID $1\nHEADER $l[$start]\n";
my ($g, $supp);
sub fn { my $f = shift; $f =~ s/\.(?:constprop|isra|part|cold|lto_priv)\.\d+//g; $f }
sub flush {
	return unless $g;
	my @f = @{$g->{frames}};
	printf "GROUP %s %s %s %s %s %s %s\n", $g->{kind}, (@f ? $f[0] : '-'), $g->{bytes}, $g->{objs},
		$g->{classes}, $g->{mod}, (@f ? join(',', @f) : '-');
	undef $g;
}
for my $i ($start + 1 .. $#l) {
	my $s = $l[$i];
	if ($s =~ /^(Direct|Indirect) leak of (\d+) byte\(s\) in (\d+) object\(s\)(?: of class(?:es)? ([0-9][0-9, ]*))? allocated from:$/) {
		flush();
		my ($k, $b, $o, $c) = ($1, $2, $3, defined $4 ? $4 : '-');
		$c =~ s/[ ,]+/,/g;
		$g = { kind => $k, bytes => $b, objs => $o, classes => $c, frames => [], mod => '-' };
	} elsif ($g && $s =~ /^\s+#(\d+) 0x[0-9a-fA-F]+(?: in (\S+))? \((.*)\+0x[0-9a-fA-F]+\)$/) {
		push @{$g->{frames}}, defined $2 ? fn($2) : '?';
		$g->{mod} = $3 if $1 == 0;
	} elsif ($s =~ /^SUMMARY: goalloc: (\d+) byte\(s\) leaked in (\d+) allocation\(s\)\.$/) {
		flush();
		print "SUMMARY $1 $2\n";
	} elsif ($s =~ /^Suppressions used:/) {
		flush();
		$supp = 1;
		print "SUPPUSED\n";
	} elsif ($supp && $s =~ /^\s*(\d+)\s+(\d+)\s+(\S.*?)\s*$/) {
		print "SUPP $1 $2 $3\n";
	} elsif ($s =~ /^==\d+==goalloc:/) {
		last;
	}
}
flush();
PERL
parse() { perl "$d/parse.pl" "$1" "$2"; }

# The planted set, as "kind fn bytes objects" lines sorted; the cycle's two blocks either way.
planted_set() { # [suppressed fn]
	{
		echo "Direct plant_direct 100 1"
		echo "Direct plant_pair_head 48 1"
		echo "Indirect plant_pair_tail 48 1"
		echo "CYCLE"
		echo "Direct plant_chain_1 200 1"
		echo "Indirect plant_chain_2 210 1"
		echo "Indirect plant_chain_3 220 1"
	} | grep -v " ${1:-none} " | sort
}
# The groups of a parsed report in the same form, the cycle's pair folded to CYCLE when it is one
# direct and one indirect.
report_set() { # parsed-file
	awk '$1 == "GROUP" { print $2, $3, $4, $5 }' "$1" | sort >"$d/rs.tmp"
	if { grep -qx "Direct plant_cycle_a 72 1" "$d/rs.tmp" && grep -qx "Indirect plant_cycle_b 88 1" "$d/rs.tmp"; } ||
		{ grep -qx "Indirect plant_cycle_a 72 1" "$d/rs.tmp" && grep -qx "Direct plant_cycle_b 88 1" "$d/rs.tmp"; }; then
		{ grep -v " plant_cycle_[ab] " "$d/rs.tmp"; echo CYCLE; } | sort
	else
		cat "$d/rs.tmp"
	fi
}
same_set() { # name parsed-file what [suppressed fn]
	if diff <(planted_set "${4:-}") <(report_set "$2") >"$d/diff.tmp"; then
		tap 0 "[$1] $3"
	else
		tap 1 "[$1] $3"
		echo "want (<) and reported (>):" | diag
		diag <"$d/diff.tmp"
	fi
}

# group KIND FN: the GROUP line of that function, if any
group() { awk -v k="$2" -v f="$3" '$1 == "GROUP" && $2 == k && $3 == f' "$1"; }

declare -A KEPT=(
	[keep_global]="a block held only from a global of the executable"
	[keep_static]="a block held only from a static of the executable"
	[keep_lib_global]="a block held only from a global of a dlopen'd library"
	[keep_lib_static]="a block held only from a static of a dlopen'd library"
	[keep_main_stack]="a block held only from the main thread's stack (main's frame, live while exit() runs)"
	[keep_thread_stack]="a block held only from the stack of another live thread (blocked in read)"
	[keep_reg_r12]="a block held only from callee-saved register r12 of a thread blocked in a system call"
	[keep_reg_r15]="a block held only from callee-saved register r15 of a thread blocked in a system call"
	[keep_tls_main]="a block held only from a __thread variable of the executable (static TLS), main thread"
	[keep_tls_thread]="a block held only from a __thread variable of the executable (static TLS), another thread"
	[keep_dtls_main]="a block held only from a __thread variable of a dlopen'd library (dynamic TLS), main thread"
	[keep_dtls_thread]="a block held only from a __thread variable of a dlopen'd library (dynamic TLS), another thread"
	[keep_mmap_private]="a block held only from an anonymous private mmap"
	[keep_mmap_sparse]="a block held only from one touched page 40 MiB into an untouched 64 MiB private mapping"
	[keep_mmap_shared]="a block held only from a shared anonymous mapping (MAP_SHARED|MAP_ANONYMOUS)"
	[keep_altstack_mmap]="a block held only from an mmap'd area registered with sigaltstack (another thread)"
	[keep_heap_parent]="a block held only from a global, holding the only pointer to another"
	[keep_heap_child]="a block held only by another heap block that is reachable"
	[keep_interior]="a block held only from an interior pointer (+64 into a 256 B block)"
	[keep_pastend_16]="a block held only from a one-past-the-end pointer (p + 16 for a 16 B block)"
	[keep_pastend_24]="a block held only from a one-past-the-end pointer (p + 24 for a 24 B block)"
	[keep_pastend_100]="a block held only from a one-past-the-end pointer (p + 100 for a 100 B block)"
	[keep_pastend_1024]="a block held only from a one-past-the-end pointer (p + 1024 for a 1024 B block)"
	[keep_pastend_4096]="a block held only from a one-past-the-end pointer (p + 4096 for a 4096 B block)"
	[keep_pastend_40000]="a block held only from a one-past-the-end pointer (p + 40000 for a 40000 B block)"
	[keep_deepbind]="a block held only from a glibc block allocated by an RTLD_DEEPBIND library (glibc's heap)"
	[keep_ignored]="a block registered with goalloc_gc_ignore() and dropped"
	[keep_ignored_child]="a block held only by a goalloc_gc_ignore()d block"
)

# Everything about one planted run's exit report (parsed in $2), group by group.
check_report() { # name parsed pid
	local name=$1 p=$2 pid=$3 g fn
	if grep -qx NONE "$p"; then
		tap 1 "[$name] a leak report was printed"
		return
	fi
	tap 0 "[$name] a leak report was printed"
	grep -qx "HEADER ==$pid==goalloc: detected memory leaks: blocks unreachable from every root goalloc could read" "$p"
	tap $? "[$name] its first line: ==PID==goalloc: detected memory leaks: blocks unreachable from every root goalloc could read"
	g=$(group "$p" Direct plant_direct)
	# shellcheck disable=SC2086
	set -- ${g:-x x x x x x x x}
	[ -n "$g" ] && [ "$4" = 100 ] && [ "$5" = 1 ]
	tap $? "[$name] a dropped 100 B block: direct leak of 100 byte(s) in 1 object(s), frame #0 plant_direct"
	[ -n "$g" ] && [ "${6%%,*}" != - ] && [ "${6%%,*}" -ge 101 ]
	tap $? "[$name] ... of class ${6:-?} (at least the request and its byte of padding)"
	[ -n "$g" ] && [ "${7##*/}" = t_gc_leaks ]
	tap $? "[$name] ... frame #0 in the program's module (${7:-?})"
	[ -n "$(group "$p" Direct plant_pair_head)" ] && [ "$(group "$p" Direct plant_pair_head | cut -d' ' -f4,5)" = "48 1" ]
	tap $? "[$name] a 48 B block pointing to another: direct leak of 48 B (plant_pair_head)"
	[ "$(group "$p" Indirect plant_pair_tail | cut -d' ' -f4,5)" = "48 1" ]
	tap $? "[$name] the block it points to: indirect leak of 48 B (plant_pair_tail)"
	{ [ "$(group "$p" Direct plant_cycle_a | cut -d' ' -f4)" = 72 ] && [ "$(group "$p" Indirect plant_cycle_b | cut -d' ' -f4)" = 88 ]; } ||
		{ [ "$(group "$p" Indirect plant_cycle_a | cut -d' ' -f4)" = 72 ] && [ "$(group "$p" Direct plant_cycle_b | cut -d' ' -f4)" = 88 ]; }
	tap $? "[$name] a cycle of two blocks (72 B, 88 B): one direct leak, one indirect"
	[ "$(group "$p" Direct plant_chain_1 | cut -d' ' -f4,5)" = "200 1" ] &&
		[ "$(group "$p" Indirect plant_chain_2 | cut -d' ' -f4,5)" = "210 1" ] &&
		[ "$(group "$p" Indirect plant_chain_3 | cut -d' ' -f4,5)" = "220 1" ]
	tap $? "[$name] a chain of 3 (200 -> 210 -> 220 B): direct, indirect, indirect"
	# classes: each at least the request plus its byte of padding
	awk '$1 == "GROUP" && $3 ~ /^plant_/ && $5 == 1 && ($6 == "-" || $6 + 0 < $4 + 1) { print }' "$p" >"$d/cls.tmp"
	[ ! -s "$d/cls.tmp" ]
	tap $? "[$name] every planted group names its size class, at least request + 1"
	diag <"$d/cls.tmp"
	for fn in $(printf '%s\n' "${!KEPT[@]}" | sort); do
		[ -z "$(awk -v f="$fn" '$1 == "GROUP" && $3 == f' "$p")" ]
		tap $? "[$name] not reported: ${KEPT[$fn]} ($fn)"
	done
	awk '$1 == "GROUP" && $3 !~ /^plant_(direct|pair_head|pair_tail|cycle_a|cycle_b|chain_[123])$/ && $3 !~ /^keep_/' "$p" >"$d/other.tmp"
	[ ! -s "$d/other.tmp" ]
	tap $? "[$name] no other group reported (nothing of libc, ld.so or the threads)"
	diag <"$d/other.tmp"
	same_set "$name" "$p" "exactly the planted set is reported"
	grep -qx "SUMMARY 986 8" "$p"
	tap $? "[$name] SUMMARY: goalloc: 986 byte(s) leaked in 8 allocation(s). ($(grep SUMMARY "$p" || echo none))"
	awk '$1 == "GROUP" { b += $4; o += $5 } $1 == "SUMMARY" { sb = $2; so = $3 } END { exit !(b == sb && o == so) }' "$p"
	tap $? "[$name] the groups add up to the SUMMARY line"
	awk '$1 == "GROUP" { k = $2 == "Direct" ? 0 : 1; if (seen && (k < lastk || (k == lastk && $4 > last))) bad = 1
		last = $4; lastk = k; seen = 1 } END { exit bad }' "$p"
	tap $? "[$name] groups in LeakSanitizer's order: direct ones first, each kind by bytes, largest first"
}

# ---- scan: report on stderr --------------------------------------------------------------------
run scan plant GOALLOC_GC=report
if grep -q '^SKIP' "$d/scan.out"; then
	echo "1..0 # $(grep -m1 '^SKIP' "$d/scan.out")"
	exit 0
fi
program_checks scan
tap "$(cat "$d/scan.rc")" "[scan] exit status 0 without GOALLOC_LEAK_EXITCODE"
parse "$d/scan.err" exit >"$d/scan.p"
check_report scan "$d/scan.p" "$(pid_of scan)"

# ---- read: /proc/self/pagemap, report in GOALLOC_LOG ------------------------------------------
run read plant GOALLOC_GC=report GOALLOC_GC_PAGEMAP=read GOALLOC_LOG="$d/read.%p.log"
program_checks read
pid=$(pid_of read)
[ -n "$pid" ] && [ -s "$d/read.$pid.log" ]
tap $? "[read] GOALLOC_LOG=$d/read.%p.log: the report is in read.$pid.log"
! grep -q 'detected memory leaks' "$d/read.err"
tap $? "[read] and not on stderr"
parse "$d/read.$pid.log" exit >"$d/read.p"
check_report read "$d/read.p" "$pid"

# ---- stacks: every block with its full stack ---------------------------------------------------
run stacks plant GOALLOC_GC=report GOALLOC_PROFILE_RATE=1
program_checks stacks
parse "$d/stacks.err" exit >"$d/stacks.p"
same_set stacks "$d/stacks.p" "GOALLOC_PROFILE_RATE=1: the same planted set"
frames=$(group "$d/stacks.p" Direct plant_direct | cut -d' ' -f8)
case ",$frames," in
*,plant_direct,plant_leaks,main,*) tap 0 "[stacks] plant_direct's stack: plant_direct <- plant_leaks <- main ($frames)" ;;
*) tap 1 "[stacks] plant_direct's stack: plant_direct <- plant_leaks <- main (got: ${frames:-none})" ;;
esac

# ---- twice: a report during the run --------------------------------------------------------------
run twice plant:twice GOALLOC_GC=report
program_checks twice
parse "$d/twice.err" run >"$d/twice-run.p"
! grep -qx NONE "$d/twice-run.p" && grep -q "HEADER ==$(pid_of twice)==goalloc: blocks unreachable in two consecutive collections" "$d/twice-run.p"
tap $? "[twice] after two cycles: ==PID==goalloc: blocks unreachable in two consecutive collections"
same_set twice "$d/twice-run.p" "that report names the planted set"
parse "$d/twice.err" exit >"$d/twice-exit.p"
same_set twice "$d/twice-exit.p" "the report at exit names the planted set again"

# ---- suppressions ------------------------------------------------------------------------------
printf '# goalloc suppressions (LeakSanitizer syntax)\n\nleak:plant_direct\n' >"$d/supp.txt"
run supp plant GOALLOC_GC=report GOALLOC_SUPPRESSIONS="$d/supp.txt"
program_checks supp
parse "$d/supp.err" exit >"$d/supp.p"
same_set supp "$d/supp.p" "leak:plant_direct hides that group, the others stay" plant_direct
grep -qx "SUMMARY 886 7" "$d/supp.p"
tap $? "[supp] SUMMARY without it: 886 byte(s) in 7 allocation(s) ($(grep SUMMARY "$d/supp.p" || echo none))"
grep -qx SUPPUSED "$d/supp.p"
tap $? "[supp] \"Suppressions used:\" is printed"
grep -qx "SUPP 1 100 plant_direct" "$d/supp.p"
tap $? "[supp] with the line: 1 100 plant_direct"

# ---- exit codes and silence ----------------------------------------------------------------------
run exitcode plant GOALLOC_GC=report GOALLOC_LEAK_EXITCODE=23
rc=$(cat "$d/exitcode.rc")
[ "$rc" = 23 ]
tap $? "[exitcode] GOALLOC_LEAK_EXITCODE=23 with leaks: exit status 23 (got $rc)"
run clean clean GOALLOC_GC=report GOALLOC_LEAK_EXITCODE=23
program_checks clean
rc=$(cat "$d/clean.rc")
[ "$rc" = 0 ]
tap $? "[clean] GOALLOC_LEAK_EXITCODE=23 without leaks: exit status 0 (got $rc)"
[ ! -s "$d/clean.err" ]
tap $? "[clean] a program without leaks: nothing on stderr"
head -40 "$d/clean.err" | diag

# ---- heapalt: malloc'd sigaltstack buffers ---------------------------------------------------------
# A buffer registered with sigaltstack is held by the kernel only; the collector must take the
# registered range for a root and the block it lies in for reachable. (Found broken at first: the
# range's contents were scanned, the buffer itself reported, and freed by collect.)
declare -A ALT=(
	[keep_altstack_buf_main]="a malloc'd block registered as the main thread's sigaltstack (held by the kernel only)"
	[keep_altstack_inner_main]="a block held only by that main-thread altstack buffer"
	[keep_altstack_buf_thread]="a malloc'd block registered as another thread's sigaltstack (held by the kernel only)"
	[keep_altstack_inner_thread]="a block held only by that other thread's altstack buffer"
)
run heapalt clean:heapalt GOALLOC_GC=report
program_checks heapalt
parse "$d/heapalt.err" exit >"$d/heapalt.p"
for fn in $(printf '%s\n' "${!ALT[@]}" | sort); do
	[ -z "$(awk -v f="$fn" '$1 == "GROUP" && $3 == f' "$d/heapalt.p")" ]
	tap $? "[heapalt] not reported: ${ALT[$fn]} ($fn)"
done
[ ! -s "$d/heapalt.err" ]
tap $? "[heapalt] nothing else reported either"
run heapalt-collect plant:heapalt GOALLOC_GC=collect GOALLOC_GC_VERIFY=1
program_checks heapalt-collect

# ---- collect -------------------------------------------------------------------------------------
run collect plant GOALLOC_GC=collect GOALLOC_GC_VERIFY=1
if grep -q '^SKIP' "$d/collect.out"; then
	tap 0 "[collect] # SKIP $(grep -m1 '^SKIP' "$d/collect.out")"
else
	program_checks collect
	rc=$(cat "$d/collect.rc")
	[ "$rc" = 0 ]
	tap $? "[collect] exit status 0 (got $rc)"
	! grep -q 'detected memory leaks' "$d/collect.err"
	tap $? "[collect] nothing left to report at exit"
	grep -v '^$' "$d/collect.err" | head -20 | diag
fi

echo "1..$n"
