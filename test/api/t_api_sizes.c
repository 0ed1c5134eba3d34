/* t_api_sizes — every request size 0..4096, then a sweep to 70000 plus every class size and
 * class size + 1: non-NULL, aligned, usable size as promised and fully writable, realloc keeps
 * all usable bytes when growing and the prefix when shrinking, and stays in place within the
 * block's size class. A second pass keeps every block live at once to catch overlaps.
 */
#define _GNU_SOURCE
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "api_util.h"
#include "classes.h"

#if defined(__has_include)
#if __has_include("sizeclasses.h")
#include "sizeclasses.h"
#define HAVE_GEN_SIZECLASSES 1
#endif
#endif

#define MAX_SIZES 8192
static size_t sizes[MAX_SIZES];
static int nsizes;

static void add_size(size_t n)
{
	if (nsizes < MAX_SIZES)
		sizes[nsizes++] = n;
}

static void build_sizes(void)
{
	size_t n;
	int c;
	for (n = 0; n <= 4096; n++)
		add_size(n);
	for (n = 4096 + 97; n <= 70000; n += 97)
		add_size(n);
	for (c = 1; c <= API_NCLASSES; c++) {
		add_size(api_class_size[c]);
		add_size(api_class_size[c] + 1);
		add_size(api_class_size[c] - 1);
	}
	add_size(32767);
	add_size(40960);
	add_size(40961);
	add_size(49151);
	add_size(65536);
	add_size(65537);
	add_size(70000);
}

/* Report at most a few failures of each kind. */
#define FAIL(cnt, ...)                          \
	do {                                    \
		if ((cnt)++ < 5)                \
			diag(__VA_ARGS__);      \
	} while (0)

struct counts {
	long null, align, pagealign, usable_ge, usable_eq, write;
	long inplace, inplace_usable, inplace_data;
	long grow_null, grow_data, grow_usable;
	long shrink_null, shrink_data, shrink_usable;
};

static void one_size(size_t n, int ga, struct counts *f)
{
	size_t u, want_align, m[3], gsz, ssz, chk;
	unsigned char *p, *q, *r;
	int k;

	p = launder(malloc(n));
	if (!p) {
		FAIL(f->null, "malloc(%zu) returned NULL", n);
		return;
	}
	want_align = n <= 8 ? 8 : 16;
	if (addr_of(p) % want_align)
		FAIL(f->align, "malloc(%zu) = %p not %zu-aligned", n, (void *)p, want_align);
	if (ga && n > API_MAX_SMALL && addr_of(p) % API_PAGE)
		FAIL(f->pagealign, "malloc(%zu) = %p not page (8192) aligned", n, (void *)p);
	u = malloc_usable_size(p);
	if (u < (n ? n : 1))
		FAIL(f->usable_ge, "malloc_usable_size(malloc(%zu)) = %zu < request", n, u);
	if (ga && u != api_expected_usable(n))
		FAIL(f->usable_eq, "malloc_usable_size(malloc(%zu)) = %zu, expected %zu", n, u,
		     api_expected_usable(n));
	pat_fill(p, u, n);
	chk = pat_check(p, u, n);
	if (chk != u)
		FAIL(f->write, "malloc(%zu): usable byte %zu of %zu did not read back", n, chk, u);

	/* In place while the request stays in the block's size class. */
	m[0] = u;
	m[1] = n ? n : 1;
	m[2] = (m[1] + u) / 2;
	for (k = 0; k < 3; k++) {
		size_t u2, keep;
		q = realloc_opaque(p, m[k]);
		if (!q) {
			FAIL(f->grow_null, "realloc(malloc(%zu), %zu) returned NULL", n, m[k]);
			return; /* p is still live but leaking it is harmless here */
		}
		if (q != p)
			FAIL(f->inplace, "realloc(p=malloc(%zu) usable %zu, %zu) moved %p -> %p", n, u,
			     m[k], (void *)p, (void *)q);
		u2 = malloc_usable_size(q);
		if (ga && q == p && u2 != u)
			FAIL(f->inplace_usable, "realloc(p=malloc(%zu), %zu) in place but usable %zu -> %zu",
			     n, m[k], u, u2);
		/* In place under goalloc keeps the whole block; otherwise only min(old, new) is kept. */
		keep = (ga && q == p) ? u : (m[k] < u ? m[k] : u);
		chk = pat_check(q, keep, n);
		if (chk != keep)
			FAIL(f->inplace_data, "realloc(p=malloc(%zu), %zu): byte %zu of %zu changed", n,
			     m[k], chk, keep);
		p = q;
		if (u2 != u) {
			/* glibc shrank the chunk: the rest of the pattern is gone, restore it. */
			u = u2;
			pat_fill(p, u, n);
		}
	}

	/* Grow: every usable byte of the old block must survive. */
	gsz = u + 1 + u / 2;
	q = realloc_opaque(p, gsz);
	if (!q) {
		FAIL(f->grow_null, "realloc(malloc(%zu) usable %zu, %zu) returned NULL", n, u, gsz);
		free(p);
		return;
	}
	chk = pat_check(q, u, n);
	if (chk != u)
		FAIL(f->grow_data, "realloc(malloc(%zu), %zu): old usable byte %zu of %zu lost", n, gsz,
		     chk, u);
	u = malloc_usable_size(q);
	if (u < gsz || (ga && u != api_expected_usable(gsz)))
		FAIL(f->grow_usable, "realloc(malloc(%zu), %zu): usable %zu (expected %zu)", n, gsz, u,
		     api_expected_usable(gsz));
	pat_fill(q, u, n + 7);

	/* Shrink: the prefix must survive. */
	ssz = n / 2 ? n / 2 : 1;
	r = realloc_opaque(q, ssz);
	if (!r) {
		FAIL(f->shrink_null, "realloc(%zu-byte block, %zu) returned NULL", gsz, ssz);
		free(q);
		return;
	}
	chk = pat_check(r, ssz, n + 7);
	if (chk != ssz)
		FAIL(f->shrink_data, "realloc(%zu-byte block, %zu): prefix byte %zu changed", gsz, ssz,
		     chk);
	u = malloc_usable_size(r);
	if (u < ssz)
		FAIL(f->shrink_usable, "realloc(%zu-byte block, %zu): usable %zu < request", gsz, ssz, u);
	free(r);
}

struct live {
	unsigned char *p;
	size_t u;
};

static int cmp_live(const void *a, const void *b)
{
	const struct live *x = a, *y = b;
	return x->p < y->p ? -1 : x->p > y->p;
}

static void live_pass(void)
{
	static struct live blk[MAX_SIZES], sorted[MAX_SIZES];
	long nul = 0, bad = 0, overlap = 0, bad2 = 0;
	int i;

	for (i = 0; i < nsizes; i++) {
		blk[i].p = launder(malloc(sizes[i]));
		if (!blk[i].p) {
			FAIL(nul, "live pass: malloc(%zu) returned NULL", sizes[i]);
			blk[i].u = 0;
			continue;
		}
		blk[i].u = malloc_usable_size(blk[i].p);
		pat_fill(blk[i].p, blk[i].u, (uint64_t)i * 3 + 1);
	}
	for (i = 0; i < nsizes; i++) {
		size_t chk;
		if (!blk[i].p)
			continue;
		chk = pat_check(blk[i].p, blk[i].u, (uint64_t)i * 3 + 1);
		if (chk != blk[i].u)
			FAIL(bad, "live pass: block %d (malloc(%zu) = %p, usable %zu) byte %zu overwritten", i,
			     sizes[i], (void *)blk[i].p, blk[i].u, chk);
	}
	memcpy(sorted, blk, sizeof(struct live) * (size_t)nsizes);
	qsort(sorted, (size_t)nsizes, sizeof(struct live), cmp_live);
	for (i = 1; i < nsizes; i++)
		if (sorted[i - 1].p && sorted[i].p && sorted[i - 1].p + sorted[i - 1].u > sorted[i].p)
			FAIL(overlap, "live pass: [%p, +%zu) overlaps %p", (void *)sorted[i - 1].p,
			     sorted[i - 1].u, (void *)sorted[i].p);
	ok(nul == 0, "live pass: %d blocks allocated at once", nsizes);
	ok(bad == 0, "live pass: every usable byte of every live block intact (%ld bad)", bad);
	ok(overlap == 0, "live pass: no two live blocks' usable ranges overlap (%ld overlaps)", overlap);

	/* Free every other block, check the survivors, then free the rest. */
	for (i = 0; i < nsizes; i += 2)
		free(blk[i].p);
	for (i = 1; i < nsizes; i += 2) {
		size_t chk;
		if (!blk[i].p)
			continue;
		chk = pat_check(blk[i].p, blk[i].u, (uint64_t)i * 3 + 1);
		if (chk != blk[i].u)
			FAIL(bad2, "after freeing neighbours: block %d (malloc(%zu)) byte %zu changed", i,
			     sizes[i], chk);
		free(blk[i].p);
	}
	ok(bad2 == 0, "live pass: survivors intact after freeing every other block (%ld bad)", bad2);
}

int main(void)
{
	struct counts f;
	int ga = under_goalloc();
	int i;
	static const size_t ex_req[] = {0, 1, 8, 9, 17, 24, 100, 1025, 32768, 32769};
	static const size_t ex_use[] = {16, 16, 16, 16, 32, 32, 112, 1152, 32768, 40960};

	memset(&f, 0, sizeof f);
	build_sizes();
	diag("%s, %d request sizes", ga ? "under goalloc" : "not under goalloc", nsizes);

#ifdef HAVE_GEN_SIZECLASSES
	{
		int c, bad = 0;
		for (c = 1; c <= API_NCLASSES; c++)
			if (ga_class_to_size[c] != api_class_size[c]) {
				if (bad++ < 5)
					diag("sizeclasses.h: class %d is %u, Go's table says %u", c,
					     (unsigned)ga_class_to_size[c], api_class_size[c]);
			}
		ok(bad == 0 && GA_MAX_SMALL_SIZE == API_MAX_SMALL,
		   "generated sizeclasses.h matches Go's 67 class sizes");
	}
#endif

	for (i = 0; i < (int)(sizeof ex_req / sizeof ex_req[0]); i++) {
		void *p = launder(malloc(ex_req[i]));
		size_t u = p ? malloc_usable_size(p) : 0;
		if (ga)
			ok(u == ex_use[i], "malloc_usable_size(malloc(%zu)) == %zu (got %zu)", ex_req[i],
			   ex_use[i], u);
		else
			ok(u >= ex_req[i], "malloc_usable_size(malloc(%zu)) == %zu (got %zu)%s", ex_req[i],
			   ex_use[i], u, GA_ONLY(ga));
		free(p);
	}

	for (i = 0; i < nsizes; i++)
		one_size(sizes[i], ga, &f);

	ok(f.null == 0, "malloc never returned NULL (%ld)", f.null);
	ok(f.align == 0, "malloc(n) is 16-aligned (%ld bad)", f.align);
	ok(f.pagealign == 0, "malloc(n > 32768) is 8192-aligned (%ld bad)%s", f.pagealign, GA_ONLY(ga));
	ok(f.usable_ge == 0, "malloc_usable_size >= request (%ld bad)", f.usable_ge);
	ok(f.usable_eq == 0, "malloc_usable_size == expected class size / whole pages (%ld bad)%s",
	   f.usable_eq, GA_ONLY(ga));
	ok(f.write == 0, "every usable byte is writable and reads back (%ld bad)", f.write);
	ok(f.inplace == 0, "realloc within the block's size class stays in place (%ld moved)",
	   f.inplace);
	ok(f.inplace_usable == 0, "in-place realloc keeps the usable size (%ld bad)%s",
	   f.inplace_usable, GA_ONLY(ga));
	ok(f.inplace_data == 0, "in-place realloc keeps the contents (%ld bad)", f.inplace_data);
	ok(f.grow_null == 0, "growing realloc never returned NULL (%ld)", f.grow_null);
	ok(f.grow_data == 0, "growing realloc keeps every usable byte of the old block (%ld bad)",
	   f.grow_data);
	ok(f.grow_usable == 0, "growing realloc gives the usable size of the new request (%ld bad)",
	   f.grow_usable);
	ok(f.shrink_null == 0, "shrinking realloc never returned NULL (%ld)", f.shrink_null);
	ok(f.shrink_data == 0, "shrinking realloc keeps the prefix (%ld bad)", f.shrink_data);
	ok(f.shrink_usable == 0, "shrinking realloc: usable >= request (%ld bad)", f.shrink_usable);

	live_pass();
	return done_testing();
}
