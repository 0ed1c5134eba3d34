/* t_api_align — posix_memalign, aligned_alloc and memalign with every power-of-two alignment
 * from 1 (8 for posix_memalign) to 1 MiB, times a spread of sizes: the block is aligned, its
 * usable size covers the request, every usable byte is writable, and it frees cleanly. Blocks
 * stay live for a few rounds and are checked before they are freed, so an overlap or a
 * corrupted free shows up as a changed byte. A few alignments beyond 1 MiB close the file.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "api_util.h"

enum { F_POSIX, F_ALIGNED, F_MEMALIGN, NFUNC };
static const char *const fname[NFUNC] = {"posix_memalign", "aligned_alloc", "memalign"};

static const size_t sizes[] = {0, 1, 8, 9, 16, 100, 4096, 5000, 40000, 1 << 20};
#define NSIZES (sizeof sizes / sizeof sizes[0])

#define RING 7
struct slot {
	unsigned char *p;
	size_t usable, align, size;
	uint64_t seed;
	int func;
};

struct counts {
	long null, misaligned, usable, corrupt, rc;
	long n;
};

#define FAIL(cnt, ...)                          \
	do {                                    \
		if ((cnt)++ < 5)                \
			diag(__VA_ARGS__);      \
	} while (0)

static void *do_alloc(int func, size_t align, size_t size, int *rc)
{
	void *p = NULL;
	*rc = 0;
	switch (func) {
	case F_POSIX:
		*rc = posix_memalign(&p, opaque_size(align), opaque_size(size));
		if (*rc)
			p = NULL;
		break;
	case F_ALIGNED:
		p = aligned_alloc(opaque_size(align), opaque_size(size));
		break;
	default:
		p = memalign(opaque_size(align), opaque_size(size));
		break;
	}
	return launder(p);
}

static void retire(struct slot *s, struct counts *c)
{
	size_t chk;
	if (!s->p)
		return;
	chk = pat_check(s->p, s->usable, s->seed);
	if (chk != s->usable)
		FAIL(c[s->func].corrupt, "%s(align %zu, size %zu) = %p: usable byte %zu of %zu changed while live",
		     fname[s->func], s->align, s->size, (void *)s->p, chk, s->usable);
	free(s->p);
	s->p = NULL;
}

int main(void)
{
	static struct slot ring[RING];
	struct counts c[NFUNC];
	uint64_t seed = 1;
	int func, k, next = 0;
	size_t align;
	unsigned i;

	memset(c, 0, sizeof c);
	diag("%s", under_goalloc() ? "under goalloc" : "not under goalloc");

	for (func = 0; func < NFUNC; func++) {
		for (align = func == F_POSIX ? sizeof(void *) : 1; align <= (1u << 20); align <<= 1) {
			for (i = 0; i < NSIZES; i++) {
				size_t size = sizes[i], u;
				int rc;
				struct slot *s = &ring[next];
				unsigned char *p;

				next = (next + 3) % RING; /* free out of allocation order */
				retire(s, c);
				c[func].n++;
				p = do_alloc(func, align, size, &rc);
				if (rc)
					FAIL(c[func].rc, "posix_memalign(align %zu, size %zu) returned %d", align,
					     size, rc);
				if (!p) {
					FAIL(c[func].null, "%s(align %zu, size %zu) returned NULL (errno %d)",
					     fname[func], align, size, errno);
					continue;
				}
				if (addr_of(p) % align)
					FAIL(c[func].misaligned, "%s(align %zu, size %zu) = %p is misaligned",
					     fname[func], align, size, (void *)p);
				u = malloc_usable_size(p);
				if (u < size || u == 0)
					FAIL(c[func].usable, "%s(align %zu, size %zu): usable size %zu",
					     fname[func], align, size, u);
				s->p = p;
				s->usable = u;
				s->align = align;
				s->size = size;
				s->seed = seed++;
				s->func = func;
				pat_fill(p, u, s->seed);
			}
		}
		for (k = 0; k < RING; k++)
			retire(&ring[k], c);
	}

	for (func = 0; func < NFUNC; func++) {
		ok(c[func].null == 0 && c[func].rc == 0, "%s: %ld allocations, none failed", fname[func],
		   c[func].n);
		ok(c[func].misaligned == 0, "%s: every block aligned as asked (%ld bad)", fname[func],
		   c[func].misaligned);
		ok(c[func].usable == 0, "%s: usable size >= request (%ld bad)", fname[func],
		   c[func].usable);
		ok(c[func].corrupt == 0, "%s: every usable byte writable and intact until free (%ld bad)",
		   fname[func], c[func].corrupt);
	}

	/* Every size from 0 to 1100 bytes at every alignment from 8 to 8192, the range where a
	 * size-class allocator picks a class by size and alignment together: aligned, usable size
	 * covering the request, first and last usable byte writable. */
	{
		long n = 0, bad = 0;
		for (func = 0; func < NFUNC; func++)
			for (align = 8; align <= 8192; align <<= 1)
				for (size_t size = 0; size <= 1100; size++) {
					int rc;
					unsigned char *p = do_alloc(func, align, size, &rc);
					n++;
					if (rc || !p || addr_of(p) % align || malloc_usable_size(p) < size) {
						if (bad++ < 5)
							diag("%s(align %zu, size %zu) = %p, rc %d", fname[func], align, size,
							     (void *)p, rc);
					} else if (size) {
						p[0] = 1;
						p[malloc_usable_size(p) - 1] = 2;
					}
					free(p);
				}
		ok(bad == 0, "every size 0..1100 at every alignment 8..8192: %ld blocks aligned and large enough (%ld bad)",
		   n, bad);
	}

	/* Alignments past 1 MiB: 2, 8 and 32 MiB, for a tiny and a large block, all live at once. */
	{
		static const size_t big_align[] = {2u << 20, 8u << 20, 32u << 20};
		static const size_t big_size[] = {1, 100000};
		void *blk[6];
		int nb = 0, bad = 0;
		unsigned a, z;
		for (a = 0; a < 3; a++)
			for (z = 0; z < 2; z++) {
				void *p = NULL;
				int rc = posix_memalign(&p, opaque_size(big_align[a]), opaque_size(big_size[z]));
				p = launder(p);
				if (rc || !p || addr_of(p) % big_align[a] ||
				    malloc_usable_size(p) < big_size[z]) {
					bad++;
					diag("posix_memalign(align %zu, size %zu): rc %d, %p", big_align[a],
					     big_size[z], rc, p);
					blk[nb++] = NULL;
					continue;
				}
				memset(p, (int)(a * 2 + z + 1), big_size[z]);
				blk[nb++] = p;
			}
		for (k = 0; k < nb; k++) {
			unsigned char *p = blk[k];
			size_t n = big_size[k % 2], j;
			if (!p)
				continue;
			for (j = 0; j < n; j++)
				if (p[j] != (unsigned char)(k + 1)) {
					bad++;
					diag("posix_memalign(align %zu, size %zu): byte %zu changed",
					     big_align[k / 2], n, j);
					break;
				}
			free(p);
		}
		ok(bad == 0, "posix_memalign with 2, 8 and 32 MiB alignment");
	}
	return done_testing();
}
