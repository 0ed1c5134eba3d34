#!/usr/bin/env bash
# make install puts the library, goalloc.h and goalloc.pc under DESTDIR/PREFIX, and a program
# built with `pkg-config --cflags --libs goalloc` links against it and uses the goalloc_* API.
lib=${GOALLOC_LIB:-build/libgoalloc.so}
[ -f "$lib" ] || { echo "1..0 # SKIP no library"; exit 0; }
command -v pkg-config >/dev/null || { echo "1..0 # SKIP pkg-config missing"; exit 0; }
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
echo "1..4"
if make -s install PREFIX=/opt/goalloc DESTDIR="$d" B="$(dirname "$lib")" >"$d/log" 2>&1; then
	echo "ok 1 - make install PREFIX=/opt/goalloc DESTDIR=..."
else
	echo "not ok 1 - make install"; sed 's/^/# /' "$d/log"
fi
root=$d/opt/goalloc
[ -f "$root/lib/libgoalloc.so" ] && [ -f "$root/include/goalloc.h" ] && [ -f "$root/lib/pkgconfig/goalloc.pc" ] \
	&& echo "ok 2 - library, header and pkg-config file installed" || echo "not ok 2 - installed files"
cat > "$d/use.c" <<'C'
#include <goalloc.h>
#include <stdio.h>
#include <string.h>
int main(void)
{
	struct goalloc_stats st;
	char *p = goalloc_malloc(100);
	void *q = goalloc_malloc_atomic(4000);
	memset(p, 1, 100);
	goalloc_stats(&st);
	int ok = p && q && goalloc_usable_size(p) == 112 && st.mallocs >= 2 && st.arenas >= 1;
	goalloc_free(p);
	goalloc_free(q);
	printf("%s\n", ok ? "api ok" : "api BAD");
	return !ok;
}
C
flags=$(PKG_CONFIG_SYSROOT_DIR="$d" PKG_CONFIG_PATH="$root/lib/pkgconfig" pkg-config --cflags --libs goalloc)
if ${CC:-cc} -o "$d/use" "$d/use.c" $flags 2>"$d/cc.log"; then
	echo "ok 3 - a program builds with pkg-config --cflags --libs goalloc ($flags)"
else
	echo "not ok 3 - build with pkg-config"; sed 's/^/# /' "$d/cc.log"
fi
out=$(LD_LIBRARY_PATH="$root/lib" "$d/use" 2>&1)
[ "$out" = "api ok" ] && echo "ok 4 - it runs against the installed library and uses goalloc.h's API" \
	|| { echo "not ok 4 - run"; echo "$out" | sed 's/^/# /'; }
