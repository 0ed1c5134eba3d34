/* t_uaf_valgrind — the client program of valgrind_uaf.sh.
 *
 *   t_uaf_valgrind uaf   frees a 64-byte block and reads it back: run under memcheck with
 *                        goalloc's valgrind flavour, memcheck must report an invalid read of a
 *                        free'd block (goalloc's client requests at work);
 *   t_uaf_valgrind       a clean mix of allocations that must give memcheck nothing to say.
 *
 * Both print TAP, so the plain test run (without valgrind) passes it as an ordinary test.
 */
#define _GNU_SOURCE
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "api_util.h"

static int clean_run(void)
{
	static const size_t sz[] = {1, 8, 16, 24, 100, 1000, 4096, 5000, 32768, 40000, 1 << 20};
	unsigned char *blk[sizeof sz / sizeof sz[0]];
	unsigned i;
	int bad = 0;
	void *a = NULL;

	for (i = 0; i < sizeof sz / sizeof sz[0]; i++) {
		blk[i] = launder(i & 1 ? calloc(1, sz[i]) : malloc(sz[i]));
		if (!blk[i]) {
			bad++;
			continue;
		}
		if (i & 1) {
			size_t j;
			for (j = 0; j < sz[i]; j++)
				if (blk[i][j])
					bad++;
		}
		pat_fill(blk[i], sz[i], i);
	}
	for (i = 0; i < sizeof sz / sizeof sz[0]; i++) {
		unsigned char *q;
		if (!blk[i])
			continue;
		q = realloc_opaque(blk[i], sz[i] * 3);
		if (!q) {
			bad++;
			free(blk[i]);
			continue;
		}
		if (pat_check(q, sz[i], i) != sz[i])
			bad++;
		free(q);
	}
	if (posix_memalign(&a, 4096, 10000) || !a)
		bad++;
	else
		dirty(a, 1, 10000);
	free(a);
	a = launder(aligned_alloc(64, 640));
	dirty(a, 2, 640);
	free(a);
	/* Blocks freed without ever being written: common (error paths), and no error either. */
	free(launder(malloc(100)));
	free(launder(malloc(5000)));
	free(launder(malloc(50000)));
	return bad == 0;
}

static int use_after_free(void)
{
	unsigned char *p = launder(malloc(64)), *alias;
	volatile unsigned char sink;
	if (!p)
		return 0;
	memset(p, 0x11, 64);
	alias = launder(p); /* the same pointer, out of the compiler's sight */
	free(p);
	sink = alias[10]; /* the bug memcheck must catch */
	(void)sink;
	return 1;
}

int main(int argc, char **argv)
{
	plan(1);
	if (argc > 1 && !strcmp(argv[1], "uaf"))
		ok(use_after_free(), "read from a freed 64-byte block (memcheck reports it when watching)");
	else
		ok(clean_run(), "a clean mix of malloc, calloc, realloc, posix_memalign, aligned_alloc and free");
	return done_testing();
}
