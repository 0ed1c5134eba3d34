#!/usr/bin/env bash
# C++ operator new under goalloc on failure: the new_handler is called, then std::bad_alloc is
# thrown; the nothrow forms return NULL; operator new's blocks are 16-byte aligned.
lib=${GOALLOC_LIB:-build/libgoalloc.so}
[ -f "$lib" ] || { echo "1..0 # SKIP no library"; exit 0; }
command -v g++ >/dev/null || { echo "1..0 # SKIP g++ missing"; exit 0; }
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
cat > "$d/t.cc" <<'CC'
#include <cstdint>
#include <cstdio>
#include <new>
static int handler_calls;
static void handler() { if (++handler_calls == 3) std::set_new_handler(nullptr); }
int main()
{
	volatile size_t huge = (size_t)1 << 62;
	try {
		char *p = new char[huge];
		std::printf("no throw %p\n", (void *)p);
	} catch (const std::bad_alloc &) {
		std::printf("bad_alloc\n");
	}
	std::set_new_handler(handler);
	try {
		char *p = new char[huge];
		std::printf("no throw %p\n", (void *)p);
	} catch (const std::bad_alloc &) {
		std::printf("bad_alloc after %d handler calls\n", handler_calls);
	}
	char *q = new (std::nothrow) char[huge];
	std::printf("nothrow %s\n", q ? "non-null" : "null");
	int misaligned = 0;
	for (int n = 1; n < 64; n++) {
		char *b = new char[n];
		misaligned += ((uintptr_t)b & 15) != 0;
		delete[] b;
	}
	std::printf("misaligned %d\n", misaligned);
	return 0;
}
CC
echo "1..2"
if ! g++ -O2 -o "$d/t" "$d/t.cc" 2>"$d/err"; then
	echo "not ok 1 - build"; sed 's/^/# /' "$d/err"; echo "not ok 2 - skipped"; exit 1
fi
out=$(LD_PRELOAD="$lib" "$d/t" 2>&1)
want=$'bad_alloc\nbad_alloc after 3 handler calls\nnothrow null'
[ "$(head -3 <<<"$out")" = "$want" ] && echo "ok 1 - bad_alloc after the new_handler, NULL from nothrow new" \
	|| { echo "not ok 1 - failure semantics"; sed 's/^/# /' <<<"$out"; }
grep -qx "misaligned 0" <<<"$out" && echo "ok 2 - new char[1..63] is 16-byte aligned" \
	|| { echo "not ok 2 - alignment"; sed 's/^/# /' <<<"$out"; }
