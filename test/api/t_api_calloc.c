/* t_api_calloc — calloc returns zeroed memory even when it hands back memory just freed dirty:
 * blocks of many sizes are filled with 0xA5 and freed, then calloc asks for the same sizes
 * (so the freed slots and pages come straight back) and every requested byte must be zero.
 * Covers small classes, large spans, and large spans freed then carved into small ones.
 */
#define _GNU_SOURCE
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "api_util.h"
#include "classes.h"

#define FAIL(cnt, ...)                          \
	do {                                    \
		if ((cnt)++ < 5)                \
			diag(__VA_ARGS__);      \
	} while (0)

/* Offset of the first non-zero byte, or n. */
static size_t first_nonzero(const unsigned char *p, size_t n)
{
	size_t i = 0;
	while (i + 8 <= n) {
		uint64_t w;
		memcpy(&w, p + i, 8);
		if (w)
			break;
		i += 8;
	}
	for (; i < n; i++)
		if (p[i])
			return i;
	return n;
}

#define PER 8 /* blocks of each size per round */

/* Dirty-free-calloc one size, `per` blocks; returns the number of bad calloc results. */
static long round_trip(size_t size, int per, size_t nmemb_split, long *nul)
{
	void *blk[PER * 4];
	long bad = 0;
	int i;

	for (i = 0; i < per; i++) {
		blk[i] = launder(malloc(size));
		if (blk[i])
			dirty(blk[i], 0xA5, malloc_usable_size(blk[i]));
	}
	for (i = per - 1; i >= 0; i--)
		free(blk[i]);
	for (i = 0; i < per; i++) {
		unsigned char *p;
		size_t off;
		if (nmemb_split && size % nmemb_split == 0)
			p = launder(calloc(size / nmemb_split, nmemb_split));
		else
			p = launder(calloc(1, size));
		blk[i] = p;
		if (!p) {
			FAIL(*nul, "calloc for %zu bytes returned NULL", size);
			continue;
		}
		off = first_nonzero(p, size);
		if (off != size) {
			FAIL(bad, "calloc(%zu bytes) = %p: byte %zu is %#x, not 0", size, (void *)p, off,
			     p[off]);
		}
		/* Dirty it again for the next size's round. */
		dirty(p, 0xA5, size);
	}
	for (i = 0; i < per; i++)
		free(blk[i]);
	return bad;
}

int main(void)
{
	long bad, nul = 0;
	size_t n;
	int c;

	diag("%s", under_goalloc() ? "under goalloc" : "not under goalloc");

	bad = 0;
	for (n = 1; n <= 1024; n++)
		bad += round_trip(n, PER, 0, &nul);
	ok(bad == 0, "calloc 1..1024 bytes after dirty frees: all zero (%ld bad)", bad);

	bad = 0;
	for (n = 16; n <= API_MAX_SMALL; n += 16)
		bad += round_trip(n, PER, 16, &nul);
	ok(bad == 0, "calloc 16..32768 step 16 after dirty frees: all zero (%ld bad)", bad);

	bad = 0;
	for (c = 1; c <= API_NCLASSES; c++) {
		bad += round_trip(api_class_size[c], PER * 4, 0, &nul);
		bad += round_trip(api_class_size[c] - 1, PER, 0, &nul);
	}
	ok(bad == 0, "calloc of every class size (and size - 1) after dirty frees: all zero (%ld bad)",
	   bad);

	bad = 0;
	{
		static const size_t large[] = {32769, 40000, 65536, 100000, 1 << 20, (1 << 20) + 1,
					       4 << 20, 9 << 20};
		unsigned i;
		for (i = 0; i < sizeof large / sizeof large[0]; i++)
			bad += round_trip(large[i], 2, 8, &nul);
	}
	ok(bad == 0, "calloc of large sizes (40000, 1 MiB, 4 MiB, ...) after dirty frees: all zero (%ld bad)",
	   bad);

	/* A dirty large block freed, then its pages reused for small spans. */
	bad = 0;
	{
		enum { BIG = 8 << 20 };
		static void *small[BIG / 256 + 16];
		static const size_t sz[] = {16, 48, 256, 1024, 4096, 20480};
		unsigned k;
		for (k = 0; k < sizeof sz / sizeof sz[0]; k++) {
			unsigned char *p = launder(malloc(BIG)), *q = launder(malloc(BIG));
			size_t cnt = (2u * BIG) / sz[k], i, lim;
			dirty(p, 0xA5, BIG);
			dirty(q, 0xA5, BIG);
			free(p);
			free(q);
			lim = sizeof small / sizeof small[0];
			if (cnt > lim)
				cnt = lim;
			for (i = 0; i < cnt; i++) {
				unsigned char *s = launder(calloc(1, sz[k]));
				size_t off;
				small[i] = s;
				if (!s) {
					FAIL(nul, "calloc(1, %zu) returned NULL", sz[k]);
					continue;
				}
				off = first_nonzero(s, sz[k]);
				if (off != sz[k])
					FAIL(bad, "calloc(1, %zu) = %p after freeing dirty 8 MiB blocks: byte %zu is %#x",
					     sz[k], (void *)s, off, s[off]);
			}
			for (i = 0; i < cnt; i++)
				free(small[i]);
		}
	}
	ok(bad == 0, "small callocs carved from freed dirty large blocks: all zero (%ld bad)", bad);

	/* And the reverse: dirty small blocks filling pages, freed, then one large calloc. */
	bad = 0;
	{
		enum { CNT = 4096, SZ = 2048 };
		static void *blk[CNT];
		int i;
		for (i = 0; i < CNT; i++) {
			blk[i] = launder(malloc(SZ));
			dirty(blk[i], 0xA5, SZ);
		}
		for (i = 0; i < CNT; i++)
			free(blk[i]);
		for (i = 0; i < 4; i++) {
			unsigned char *p = launder(calloc(1, 2 << 20));
			size_t off;
			blk[i] = p;
			if (!p) {
				FAIL(nul, "calloc(1, 2 MiB) returned NULL");
				continue;
			}
			off = first_nonzero(p, 2 << 20);
			if (off != (2 << 20))
				FAIL(bad, "calloc(1, 2 MiB) = %p after freeing dirty small blocks: byte %zu is %#x",
				     (void *)p, off, p[off]);
		}
		for (i = 0; i < 4; i++)
			free(blk[i]);
	}
	ok(bad == 0, "large callocs after freeing 8 MiB of dirty small blocks: all zero (%ld bad)", bad);

	ok(nul == 0, "calloc never returned NULL (%ld)", nul);
	return done_testing();
}
