#!/usr/bin/env bash
# GOALLOC_* options as a user meets them: a misspelt name and a bad value each get one warning
# line on stderr, the program's output and exit status stay as they are without goalloc; with no
# GOALLOC_ variables, or only those goalloc's own scripts export, stderr stays empty.
lib=${GOALLOC_LIB:-build/libgoalloc.so}
[ -f "$lib" ] || { echo "1..0 # SKIP no library"; exit 0; }
lib=$(cd "$(dirname "$lib")" && pwd)/$(basename "$lib")
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
echo "1..10"
n=0
check() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fi; }
input=$'pear\napple\nfig\napple\n'
# run NAME VAR=VALUE...: sort with goalloc preloaded in a clean environment; out/err/rc in $d.
run() {
	local name=$1
	shift
	printf '%s' "$input" | env -i PATH="$PATH" LD_PRELOAD="$lib" "$@" sort >"$d/$name.out" 2>"$d/$name.err"
	echo $? >"$d/$name.rc"
}
printf '%s' "$input" | env -i PATH="$PATH" sort >"$d/ref.out" 2>"$d/ref.err"
echo $? >"$d/ref.rc"

run clean
check "$([ ! -s "$d/clean.err" ] && echo 0 || echo 1)" "no GOALLOC_ variables: stderr is empty"
check "$(cmp -s "$d/ref.out" "$d/clean.out" && cmp -s "$d/ref.rc" "$d/clean.rc" && echo 0 || echo 1)" \
	"no GOALLOC_ variables: output and status as without goalloc"

run tools GOALLOC_LIB="$lib" GOALLOC_VALGRIND_LIB=/nowhere GOALLOC_BUILD=build GOALLOC_UNDER_VALGRIND= \
	GOALLOC_TEST_TIMEOUT=60 GOALLOC_TEST_KEEP=0
check "$([ ! -s "$d/tools.err" ] && echo 0 || echo 1)" "the names goalloc's scripts export are not warned about"
[ -s "$d/tools.err" ] && sed 's/^/# /' "$d/tools.err"

run bad GOALLOC_STAT=1 GOALLOC_GCTRAC=1 GOALLOC_STATS=maybe
check "$(cmp -s "$d/ref.out" "$d/bad.out" && cmp -s "$d/ref.rc" "$d/bad.rc" && echo 0 || echo 1)" \
	"misspelt name and bad value: output and status as without goalloc"
lines=$(wc -l <"$d/bad.err")
check "$([ "$lines" = 3 ] && ! grep -qv '^goalloc: ' "$d/bad.err" && echo 0 || echo 1)" \
	"one 'goalloc: ' line per problem, nothing else on stderr (got $lines lines)"
check "$(grep -qx 'goalloc: GOALLOC_STAT is not an option; ignored (did you mean GOALLOC_STATS?)' "$d/bad.err" &&
	echo 0 || echo 1)" "a misspelt option is named, with the option it is close to"
check "$(grep -q '^goalloc: GOALLOC_GCTRAC is not an option; ignored' "$d/bad.err" && echo 0 || echo 1)" \
	"an unknown GOALLOC_ name is named"
check "$(grep -q '^goalloc: GOALLOC_STATS=maybe is not a valid value (.*); using the default 0$' "$d/bad.err" &&
	echo 0 || echo 1)" "a bad value is named with the default used"
[ "$lines" = 3 ] || sed 's/^/# /' "$d/bad.err"

# The options are read at start (from envp when libc has not set environ yet): GOALLOC_STATS=1
# takes effect, output unchanged.
run stats GOALLOC_STATS=1
check "$(grep -q '^goalloc: stats for pid' "$d/stats.err" && echo 0 || echo 1)" "GOALLOC_STATS=1 is read at start"
check "$(cmp -s "$d/ref.out" "$d/stats.out" && echo 0 || echo 1)" "GOALLOC_STATS=1: output unchanged"
