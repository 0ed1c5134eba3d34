#!/usr/bin/env bash
# valgrind_uaf.sh — goalloc's valgrind flavour under memcheck: goalloc itself allocates
# (--soname-synonyms=somalloc=nouserintercepts keeps memcheck's own malloc out of the program)
# and its client requests let memcheck see its blocks, so a read from a freed block is reported
# as such and a clean program gets a clean bill.
#
# The library goes in through LD_PRELOAD set on valgrind itself: valgrind hands the variable to
# the client with its own preloads put in front. (Running `valgrind env LD_PRELOAD=... prog`
# instead would let env replace those preloads, and without --trace-children the program would
# not run under memcheck at all.)
#
# Env: GOALLOC_VALGRIND_LIB (default build/valgrind/libgoalloc.so), GOALLOC_BUILD (default build).
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root" || exit 1
lib=${GOALLOC_VALGRIND_LIB:-$root/build/valgrind/libgoalloc.so}
prog=${GOALLOC_BUILD:-build}/test/api/t_uaf_valgrind
supp=()
[ -f test/valgrind.supp ] && supp=(--suppressions=test/valgrind.supp)

if ! command -v valgrind >/dev/null 2>&1; then
	echo "1..0 # SKIP valgrind not installed"
	exit 0
fi
if [ ! -f "$lib" ]; then
	echo "1..0 # SKIP $lib not built (make valgrind-lib)"
	exit 0
fi
if [ ! -x "$prog" ]; then
	echo "1..0 # SKIP $prog not built"
	exit 0
fi

n=0
failed=0
ok() { # ok COND-STATUS NAME
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $n - $2"
	else
		echo "not ok $n - $2"
		failed=1
	fi
}
show() { sed 's/^/#   | /' <<<"$1" | head -n 60; }
has() { grep -q -- "$2" <<<"$1"; }

run() { # run ARGS... -> $out, $rc
	out=$(LD_PRELOAD="$lib" valgrind --soname-synonyms=somalloc=nouserintercepts \
		--error-exitcode=99 "${supp[@]}" "$prog" "$@" 2>&1)
	rc=$?
}

echo "1..7"

run uaf
ok $([ "$rc" -eq 99 ]; echo $?) "use after free: memcheck exits with the error code (got $rc)"
has "$out" "Invalid read"; ok $? "use after free: memcheck reports an \"Invalid read\""
has "$out" "free'd"; ok $? "use after free: the address is inside a block memcheck knows was free'd"
# The free'd block must come from goalloc's free, not from memcheck's own replacement.
! has "$out" "vg_replace_malloc"; ok $? "use after free: the block was goalloc's (memcheck's malloc not involved)"
if [ "$failed" -ne 0 ]; then
	echo "# valgrind output (uaf run):"
	show "$out"
fi

failed=0
run
ok $([ "$rc" -eq 0 ]; echo $?) "clean program: exit status 0 (got $rc)"
has "$out" "ERROR SUMMARY: 0 errors"; ok $? "clean program: \"ERROR SUMMARY: 0 errors\""
# memcheck must have seen goalloc's blocks, or the clean result means nothing.
allocs=$(sed -n 's/.*total heap usage: \([0-9,]*\) allocs.*/\1/p' <<<"$out" | tr -d ,)
ok $([ "${allocs:-0}" -ge 10 ]; echo $?) "clean program: memcheck tracked goalloc's blocks (${allocs:-0} allocs)"
if [ "$failed" -ne 0 ]; then
	echo "# valgrind output (clean run):"
	show "$out"
fi
exit 0
