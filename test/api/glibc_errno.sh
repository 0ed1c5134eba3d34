#!/usr/bin/env bash
# glibc_errno.sh — t_api_errno's checks hold for glibc 2.36 itself: the program run without
# goalloc (no LD_PRELOAD) must pass too, so that every errno and return value the test demands of
# goalloc is glibc's, not goalloc's idea of it. (Checks of goalloc's own extras skip there.)
#
# Env: GOALLOC_BUILD (default build).
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root" || exit 1
prog=${GOALLOC_BUILD:-build}/test/api/t_api_errno
if [ ! -x "$prog" ]; then
	echo "1..0 # SKIP $prog not built"
	exit 0
fi
echo "1..1"
out=$(env -u LD_PRELOAD timeout 120 "$prog" 2>&1)
rc=$?
if [ $rc -eq 0 ] && ! grep -q '^not ok' <<<"$out" && grep -q '^# not under goalloc' <<<"$out"; then
	echo "ok 1 - t_api_errno passes under glibc alone (its checks are glibc 2.36's semantics)"
else
	echo "not ok 1 - t_api_errno passes under glibc alone (exit $rc)"
	grep -v '^ok' <<<"$out" | sed 's/^/# /'
fi
