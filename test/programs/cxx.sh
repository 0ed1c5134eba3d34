#!/usr/bin/env bash
# C++ under goalloc: cxx_threads.cc (threads, maps of strings to vectors, shared_ptr, objects
# deleted on another thread than the one that made them, over-aligned new, exceptions), built
# with g++ and with clang++ (which assumes operator new returns 16-byte-aligned memory).
cd "$(dirname "$0")/../.." || exit 1
. test/programs/lib.sh

SRC=$GT_SRCDIR/cxx_threads.cc
CXXFLAGS="-std=c++17 -O2 -pthread -Wall -Wextra"

gt_plan 9

# test_compiler NAME COMPILER PACKAGE : build, run the pair, check (4 tests).
test_compiler() {
	local name=$1 cxx=$2 pkg=$3 exe
	if ! gt_have "$cxx"; then
		gt_skip_n "$cxx not installed (Debian package $pkg)" \
			"$name: build" "$name: stdout" "$name: stderr" "$name: stats"
		return 1
	fi
	exe=$GT_WORK/cxx_threads.$name
	# shellcheck disable=SC2086
	if "$cxx" $CXXFLAGS -o "$exe" "$SRC" >"$GT_WORK/build.$name.log" 2>&1; then
		gt_pass "$name: build cxx_threads.cc with $cxx $CXXFLAGS"
	else
		gt_fail "$name: build cxx_threads.cc with $cxx $CXXFLAGS"
		head -40 "$GT_WORK/build.$name.log" | gt_diag
		gt_skip_n "no $name build" "$name: stdout" "$name: stderr" "$name: stats"
		return 1
	fi
	gt_run_pair "$name" "" -- "$exe"
	gt_check_pair 1
	return 0
}

built=0
test_compiler g++ g++ g++ && built=$((built + 1))
test_compiler clang++ clang++ clang && built=$((built + 1))

desc="g++ and clang++ builds print the same (plain runs)"
if [ $built -lt 2 ]; then
	gt_skip "$desc" "needs both builds"
elif cmp -s "$GT_WORK/res.g++/plain.out" "$GT_WORK/res.clang++/plain.out"; then
	gt_pass "$desc"
else
	gt_fail "$desc"
	diff -u "$GT_WORK/res.g++/plain.out" "$GT_WORK/res.clang++/plain.out" | tail -n +3 | head -40 | gt_diag
fi

gt_done
