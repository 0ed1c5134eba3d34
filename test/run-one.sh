#!/usr/bin/env bash
# prove --exec wrapper: how to run one test file.
#   *.sh               → bash (the script preloads what it needs itself)
#   build/test/unit/*  → run directly (the core is linked in)
#   build/test/api/*   → run with goalloc preloaded ($GOALLOC_LIB); with GOALLOC_UNDER_VALGRIND=1
#                        under memcheck, goalloc's blocks checked through its client requests
# --fair-sched=yes: valgrind runs one thread at a time, and with its default lock threads that
# allocate without pause (t_fork's churners) can starve the one that must fork or create a
# thread, so that a run takes minutes or never ends.
t=$1
VG=(valgrind -q --error-exitcode=99 --fair-sched=yes --soname-synonyms=somalloc=nouserintercepts
	--suppressions=test/valgrind.supp)
case "$t" in
*.sh) exec bash "$t" ;;
*/unit/*)
	[ -n "${GOALLOC_UNDER_VALGRIND:-}" ] && exec "${VG[@]}" "$t"
	exec "$t" ;;
esac
if [ -n "${GOALLOC_UNDER_VALGRIND:-}" ]; then
	# valgrind hands the client its own preloads followed by ours.
	LD_PRELOAD="$GOALLOC_LIB" exec "${VG[@]}" "$t"
fi
LD_PRELOAD="$GOALLOC_LIB" exec "$t"
