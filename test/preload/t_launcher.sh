#!/usr/bin/env bash
# The launcher (scripts/goalloc.in; build/goalloc in the build tree, PREFIX/bin/goalloc installed):
# the program's exit status passes through, an LD_PRELOAD already set is kept (and loaded), each
# option sets its GOALLOC_* variable and has its effect (--stats: goalloc's statistics; --gc=report:
# a planted leak reported), a bad option is one line on stderr and status 2 without running the
# program, --help names every option, --rss-plot writes a PNG, and `make install DESTDIR=...`
# installs a launcher that names the installed library. Nothing is timed.
lib=${GOALLOC_LIB:-build/libgoalloc.so}
B=${GOALLOC_BUILD:-build}
L=$B/goalloc
[ -f "$lib" ] || { echo "1..0 # SKIP no library"; exit 0; }
[ -x "$L" ] || { echo "1..0 # SKIP $L not built (make launcher)"; exit 0; }
command -v "${CC:-cc}" >/dev/null || { echo "1..0 # SKIP no C compiler"; exit 0; }
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
echo "1..15"
n=0
check() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fi; }
diag() { sed 's/^/# /' "$@"; }
# every run in a clean environment: no GOALLOC_* or LD_PRELOAD of the caller's
clean=(env -i PATH="$PATH" HOME="$d")

# 1-2: exit status
"${clean[@]}" "$L" sh -c 'exit 7'
check "$([ $? = 7 ] && echo 0 || echo 1)" "the program's exit status passes through (7)"
"${clean[@]}" "$L" -- sh -c 'kill -TERM $$'
check "$([ $? = 143 ] && echo 0 || echo 1)" "a program ended by SIGTERM: status 143, as without the launcher"

# 3-4: LD_PRELOAD kept, goalloc first, and both loaded
cat > "$d/other.c" <<'C'
#include <stdio.h>
__attribute__((constructor)) static void hello(void) { fputs("other.so loaded\n", stderr); }
C
${CC:-cc} -shared -fPIC -o "$d/other.so" "$d/other.c"
"${clean[@]}" LD_PRELOAD="$d/other.so" "$L" --stats printenv LD_PRELOAD >"$d/pre.out" 2>"$d/pre.err"
want="$(cd "$(dirname "$lib")" && pwd)/$(basename "$lib") $d/other.so"
check "$([ "$(cat "$d/pre.out")" = "$want" ] && echo 0 || echo 1)" "an LD_PRELOAD already set is kept after goalloc's"
[ "$(cat "$d/pre.out")" = "$want" ] || { echo "# want: $want"; diag "$d/pre.out"; }
check "$(grep -q '^other.so loaded$' "$d/pre.err" && grep -q '^goalloc: stats for pid' "$d/pre.err" && echo 0 || echo 1)" \
	"both libraries are loaded (the other's constructor ran, goalloc printed its statistics)"

# 5: --stats
printf 'b\na\n' | "${clean[@]}" "$L" --stats sort >"$d/stats.out" 2>"$d/stats.err"
check "$([ "$(cat "$d/stats.out")" = "$(printf 'a\nb')" ] && grep -q '^goalloc: stats for pid' "$d/stats.err" &&
	grep -q '^goalloc: total: mallocs [1-9]' "$d/stats.err" && echo 0 || echo 1)" \
	"--stats: the program's output, and goalloc's statistics on stderr"

# 6: --gc=report finds a planted leak
cat > "$d/leak.c" <<'C'
#include <stdlib.h>
#include <string.h>
/* eight blocks of 100 bytes dropped, then the stack scrubbed so that no stale slot keeps them */
__attribute__((noinline)) static void plant(void)
{
	for (int i = 0; i < 8; i++) {
		char *volatile p = malloc(100);
		memset(p, i, 100);
		p = 0;
	}
}
__attribute__((noinline)) static void scrub(void)
{
	volatile char buf[8192];
	memset((char *)buf, 0, sizeof buf);
}
int main(void)
{
	plant();
	scrub();
	return 0;
}
C
${CC:-cc} -O1 -fno-builtin -fno-omit-frame-pointer -rdynamic -o "$d/leak" "$d/leak.c"
"${clean[@]}" "$L" --gc=report "$d/leak" >"$d/leak.out" 2>"$d/leak.err"
st=$?
check "$([ $st = 0 ] && grep -q 'detected memory leaks' "$d/leak.err" &&
	grep -Eq '^Direct leak of [0-9]+ byte\(s\) in [0-9]+ object\(s\)' "$d/leak.err" && grep -q 'plant' "$d/leak.err" &&
	echo 0 || echo 1)" "--gc=report: the planted leak is reported, naming the function that allocated it"
grep -q 'Direct leak' "$d/leak.err" || diag "$d/leak.err"

# 7: the options' variables
"${clean[@]}" "$L" --gc collect --gctrace --log="$d/log.%p" printenv GOALLOC_GC GOALLOC_GCTRACE GOALLOC_LOG >"$d/env.out" 2>"$d/env.err"
check "$([ "$(cat "$d/env.out")" = "$(printf 'collect\n1\n%s' "$d/log.%p")" ] && echo 0 || echo 1)" \
	"--gc collect, --gctrace, --log=FILE set GOALLOC_GC, GOALLOC_GCTRACE and GOALLOC_LOG"

# 8: --heap-profile: set when the library has the profiler, refused in one line when it has not
"${clean[@]}" "$L" --heap-profile="$d/heap" printenv GOALLOC_HEAPPROFILE >"$d/hp.out" 2>"$d/hp.err"
st=$?
if env -i LD_PRELOAD="$lib" GOALLOC_HEAPPROFILE=/dev/null true 2>&1 | grep -q 'GOALLOC_HEAPPROFILE is not an option'; then
	check "$([ $st = 2 ] && [ ! -s "$d/hp.out" ] && [ "$(wc -l <"$d/hp.err")" = 1 ] &&
		grep -q '^goalloc: --heap-profile: .*no heap profiler' "$d/hp.err" && echo 0 || echo 1)" \
		"--heap-profile with a library without the profiler: one line, status 2, program not run"
else
	check "$([ $st = 0 ] && [ "$(cat "$d/hp.out")" = "$d/heap" ] && echo 0 || echo 1)" \
		"--heap-profile=FILE sets GOALLOC_HEAPPROFILE"
fi
[ $st = 0 ] || [ $st = 2 ] || diag "$d/hp.err"

# 9-11: bad options
bad_ok=0
# each case: the arguments (the last is the program, or none), split on spaces
for args in "--bogus touch $d/ran" "--gc=maybe touch $d/ran" "--stats=1 touch $d/ran" "--rss-plot= touch $d/ran" \
	"-x touch $d/ran" "--gc" "--stats"; do
	# shellcheck disable=SC2086
	"${clean[@]}" "$L" $args >"$d/bad.out" 2>"$d/bad.err"
	st=$?
	if [ $st != 2 ] || [ -e "$d/ran" ] || [ -s "$d/bad.out" ] || [ "$(wc -l <"$d/bad.err")" != 1 ] ||
		! grep -q '^goalloc: ' "$d/bad.err"; then
		bad_ok=1
		echo "# goalloc $args: status $st, stderr:"
		diag "$d/bad.err"
	fi
	rm -f "$d/ran"
done
check $bad_ok "a bad option or no program: one 'goalloc: ' line on stderr, status 2, the program not run"
"${clean[@]}" "$L" --bogus true 2>"$d/bad.err"
check "$(grep -qx 'goalloc: unknown option --bogus (try --help)' "$d/bad.err" && echo 0 || echo 1)" \
	"an unknown option is named"
"${clean[@]}" "$L" --lib="$d/nowhere.so" true 2>"$d/bad.err"
st=$?
check "$([ $st = 2 ] && [ "$(wc -l <"$d/bad.err")" = 1 ] && grep -q "$d/nowhere.so" "$d/bad.err" && echo 0 || echo 1)" \
	"--lib of a missing file: one line naming it, status 2"

# 12: --help
"${clean[@]}" "$L" --help >"$d/help.out" 2>&1
st=$?
missing=
for o in --stats --gc=report --gc=collect --gctrace --heap-profile=FILE --log=FILE --rss-plot=FILE --lib=PATH --help; do
	grep -qe "$o" "$d/help.out" || missing="$missing $o"
done
check "$([ $st = 0 ] && [ -z "$missing" ] && echo 0 || echo 1)" "--help lists every option${missing:+ (missing:$missing)}"

# 13: --rss-plot
if command -v gnuplot >/dev/null; then
	"${clean[@]}" "$L" --rss-plot="$d/rss.png" sh -c 'exit 3' >"$d/rss.out" 2>"$d/rss.err"
	st=$?
	sig=$(od -An -tx1 -N8 "$d/rss.png" 2>/dev/null | tr -d ' \n')
	check "$([ $st = 3 ] && [ "$sig" = 89504e470d0a1a0a ] && grep -q '^goalloc: RSS peak [0-9.]* MiB' "$d/rss.err" &&
		echo 0 || echo 1)" "--rss-plot=FILE: a PNG of the program's RSS, its summary line, the program's status"
	[ $st = 3 ] || diag "$d/rss.err"
else
	echo "ok $((n += 1)) # SKIP gnuplot missing: --rss-plot not tried"
fi

# 14-15: make install DESTDIR=... PREFIX=/opt/goalloc
if make -s install PREFIX=/opt/goalloc DESTDIR="$d/root" B="$B" >"$d/install.log" 2>&1; then
	root=$d/root/opt/goalloc
	check "$([ -x "$root/bin/goalloc" ] && [ -x "$root/lib/goalloc/rss-sample" ] && [ -x "$root/lib/goalloc/rss-plot.sh" ] &&
		grep -qx "LIB='/opt/goalloc/lib/libgoalloc.so'" "$root/bin/goalloc" && echo 0 || echo 1)" \
		"make install DESTDIR: bin/goalloc naming PREFIX/lib/libgoalloc.so, its sampler and plot script"
	"${clean[@]}" "$root/bin/goalloc" --lib="$root/lib/libgoalloc.so" --stats true 2>"$d/inst.err"
	st=$?
	"${clean[@]}" "$root/bin/goalloc" true 2>"$d/inst2.err"
	st2=$?
	check "$([ $st = 0 ] && grep -q '^goalloc: stats for pid' "$d/inst.err" && [ $st2 = 2 ] &&
		grep -q '/opt/goalloc/lib/libgoalloc.so' "$d/inst2.err" && echo 0 || echo 1)" \
		"the installed launcher runs the installed library (--lib) and looks for it under PREFIX"
else
	check 1 "make install DESTDIR"
	diag "$d/install.log"
	check 1 "the installed launcher"
fi
