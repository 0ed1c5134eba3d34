/* t_api_errno — the glibc 2.36 semantics a drop-in malloc must keep: malloc(0), realloc with
 * NULL or 0, huge and overflowing sizes (NULL + ENOMEM, the old block untouched), errno kept by
 * free, posix_memalign's error returns, lenient aligned_alloc/memalign, valloc/pvalloc, and the
 * glibc extras (malloc_usable_size, mallopt, malloc_trim, mallinfo2, malloc_stats, malloc_info,
 * free_sized, free_aligned_sized, cfree).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tap.h"
#include "api_util.h"
#include "classes.h"
#include "goalloc.h"

/* Not declared by glibc 2.36; resolved only when the allocator provides them. */
extern void free_sized(void *, size_t) __attribute__((weak));
extern void free_aligned_sized(void *, size_t, size_t) __attribute__((weak));
extern void cfree(void *) __attribute__((weak));

#define SENTINEL_ERRNO 4242
#define HUGE_1P ((size_t)1 << 50) /* 1 PiB: passes any size check, no mapping can hold it */

static int ga;

/* goalloc's counters, when goalloc is the allocator (looked up, not linked). */
static int (*stats_fn)(struct goalloc_stats *);

static uint64_t frees_now(void)
{
	struct goalloc_stats st;
	if (!stats_fn || stats_fn(&st))
		return 0;
	return st.frees;
}

static int null_enomem(void *p)
{
	int e = errno;
	if (p) {
		diag("  got %p, expected NULL", p);
		return 0;
	}
	if (e != ENOMEM) {
		diag("  errno %d (%s), expected ENOMEM", e, strerror(e));
		return 0;
	}
	return 1;
}

static int intact(const void *p, size_t n, uint64_t seed)
{
	size_t chk = pat_check(p, n, seed);
	if (chk != n)
		diag("  byte %zu of %zu changed", chk, n);
	return chk == n;
}

static void t_zero_and_null(void)
{
	void *a = launder(malloc(0)), *b = launder(malloc(0)), *p, *q;
	int e;

	ok(a && b && a != b, "malloc(0) twice: two distinct non-NULL pointers (%p, %p)", a, b);
	ok(a && malloc_usable_size(a) >= 1 && (!ga || malloc_usable_size(a) == 16),
	   "malloc(0) has usable size >= 1 (16 under goalloc): %zu", a ? malloc_usable_size(a) : 0);
	FENCED_VOID(free(a));
	FENCED_VOID(free(b));

	p = FENCED(launder(realloc(NULL, 100)));
	ok(p && malloc_usable_size(p) >= 100 && (!ga || malloc_usable_size(p) == 112),
	   "realloc(NULL, 100) acts as malloc(100): usable %zu", p ? malloc_usable_size(p) : 0);
	FENCED_VOID(free(p));
	p = FENCED(launder(realloc(NULL, 0)));
	ok(p != NULL, "realloc(NULL, 0) returns a pointer like malloc(0)");
	FENCED_VOID(free(p));

	p = FENCED(launder(malloc(100)));
	errno = SENTINEL_ERRNO;
	{
		uint64_t f0 = frees_now();
		q = FENCED(realloc_opaque(p, 0));
		e = errno;
		ok(q == NULL && e == SENTINEL_ERRNO, "realloc(p, 0) returns NULL, errno unchanged (%p, %d)",
		   q, e);
		if (stats_fn)
			ok(frees_now() > f0, "realloc(p, 0) frees p (goalloc_stats.frees grew)");
	}
	p = FENCED(launder(malloc(100000)));
	errno = SENTINEL_ERRNO;
	q = FENCED(realloc_opaque(p, 0));
	e = errno;
	ok(q == NULL && e == SENTINEL_ERRNO,
	   "realloc(large block, 0) returns NULL, errno unchanged (%p, %d)", q, e);

	ok(malloc_usable_size(NULL) == 0, "malloc_usable_size(NULL) == 0");
}

static void t_huge(void)
{
	static const size_t huge[] = {
		SIZE_MAX,
		SIZE_MAX - 1,
		SIZE_MAX - 7,
		SIZE_MAX - 15,
		SIZE_MAX - 4095,
		SIZE_MAX - 8191,
		SIZE_MAX - 8192,
		SIZE_MAX - 65535,
		(size_t)PTRDIFF_MAX + 1,
		(size_t)PTRDIFF_MAX,
		(size_t)PTRDIFF_MAX - 8191,
		HUGE_1P,
	};
	unsigned i;
	int bad = 0;

	for (i = 0; i < sizeof huge / sizeof huge[0]; i++) {
		void *p;
		errno = 0;
		p = FENCED(launder(malloc(opaque_size(huge[i]))));
		if (!null_enomem(p)) {
			diag("  malloc(%#zx)", huge[i]);
			bad++;
			FENCED_VOID(free(p));
		}
		errno = 0;
		p = FENCED(launder(calloc(1, opaque_size(huge[i]))));
		if (!null_enomem(p)) {
			diag("  calloc(1, %#zx)", huge[i]);
			bad++;
			FENCED_VOID(free(p));
		}
		errno = 0;
		p = FENCED(launder(calloc(opaque_size(huge[i]), 1)));
		if (!null_enomem(p)) {
			diag("  calloc(%#zx, 1)", huge[i]);
			bad++;
			FENCED_VOID(free(p));
		}
		errno = 0;
		p = FENCED(launder(realloc(NULL, opaque_size(huge[i]))));
		if (!null_enomem(p)) {
			diag("  realloc(NULL, %#zx)", huge[i]);
			bad++;
			FENCED_VOID(free(p));
		}
	}
	ok(bad == 0, "malloc/calloc/realloc(NULL) of sizes > PTRDIFF_MAX or unmappable: NULL, ENOMEM");

	/* A failed realloc leaves the old block alone. */
	{
		static const size_t old_sz[] = {1, 100, 4000, 40000, 1 << 20};
		static const size_t big[] = {SIZE_MAX, SIZE_MAX - 4095, (size_t)PTRDIFF_MAX + 1, HUGE_1P};
		unsigned a, b;
		bad = 0;
		for (a = 0; a < sizeof old_sz / sizeof old_sz[0]; a++) {
			unsigned char *q = launder(malloc(old_sz[a]));
			if (!q) {
				bad++;
				continue;
			}
			pat_fill(q, old_sz[a], a + 11);
			for (b = 0; b < sizeof big / sizeof big[0]; b++) {
				void *r;
				errno = 0;
				r = FENCED(realloc_opaque(q, opaque_size(big[b])));
				if (!null_enomem(r) || !intact(q, old_sz[a], a + 11)) {
					diag("  realloc(malloc(%zu), %#zx)", old_sz[a], big[b]);
					bad++;
					if (r) {
						FENCED_VOID(free(r));
						q = NULL;
						break;
					}
				}
			}
			FENCED_VOID(free(q));
		}
		ok(bad == 0, "failed realloc(q, huge): NULL, ENOMEM, q still valid with its contents");
	}
}

static void t_overflow(void)
{
	static const size_t pairs[][2] = {
		{SIZE_MAX / 2, 3},
		{3, SIZE_MAX / 2},
		{(size_t)1 << 32, (size_t)1 << 32},             /* wraps to 0 */
		{((size_t)1 << 32) + 1, (size_t)1 << 32},       /* wraps to 4 GiB */
		{SIZE_MAX, SIZE_MAX},                           /* wraps to 1 */
		{(size_t)1 << 63, 2},                           /* wraps to 0 */
		{((size_t)1 << 62) + 1, 4},                     /* wraps to 4 */
	};
	unsigned i;
	int bad = 0, bad2 = 0;
	unsigned char *q;

	for (i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
		void *p;
		errno = 0;
		p = FENCED(launder(calloc(opaque_size(pairs[i][0]), opaque_size(pairs[i][1]))));
		if (!null_enomem(p)) {
			diag("  calloc(%#zx, %#zx)", pairs[i][0], pairs[i][1]);
			bad++;
			FENCED_VOID(free(p));
		}
		errno = 0;
		p = FENCED(launder(reallocarray(NULL, opaque_size(pairs[i][0]), opaque_size(pairs[i][1]))));
		if (!null_enomem(p)) {
			diag("  reallocarray(NULL, %#zx, %#zx)", pairs[i][0], pairs[i][1]);
			bad2++;
			FENCED_VOID(free(p));
		}
	}
	ok(bad == 0, "calloc with nmemb * size overflowing: NULL, ENOMEM");
	ok(bad2 == 0, "reallocarray(NULL, ...) overflowing: NULL, ENOMEM");

	q = FENCED(launder(malloc(64)));
	bad = 0;
	if (q) {
		void *r;
		pat_fill(q, 64, 5);
		for (i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
			errno = 0;
			r = FENCED(launder(reallocarray(launder(q), opaque_size(pairs[i][0]), opaque_size(pairs[i][1]))));
			if (!null_enomem(r) || !intact(q, 64, 5)) {
				diag("  reallocarray(q, %#zx, %#zx)", pairs[i][0], pairs[i][1]);
				bad++;
				if (r)
					break; /* q is gone */
			}
		}
		ok(bad == 0, "reallocarray(q, ...) overflowing: NULL, ENOMEM, q intact");
		if (!bad) {
			r = FENCED(launder(reallocarray(launder(q), opaque_size(100), opaque_size(10))));
			ok(r && malloc_usable_size(r) >= 1000 && intact(r, 64, 5),
			   "reallocarray(q, 100, 10) grows q and keeps its contents");
			FENCED_VOID(free(r));
		}
	} else {
		ok(0, "malloc(64) for the reallocarray checks");
	}

	{
		void *a = launder(calloc(0, 0)), *b = launder(calloc(0, 5)), *c = launder(calloc(5, 0));
		ok(a && b && c, "calloc(0,0), calloc(0,5), calloc(5,0) return pointers (%p %p %p)", a, b, c);
		FENCED_VOID(free(a));
		FENCED_VOID(free(b));
		FENCED_VOID(free(c));
	}
}

static void t_free_errno(void)
{
	static const size_t sz[] = {1, 100, 5000, 32768, 40000, 1 << 20, 64 << 20};
	unsigned i;
	int bad = 0, bad_ok = 0;

	errno = SENTINEL_ERRNO;
	FENCED_VOID(free(NULL));
	ok(errno == SENTINEL_ERRNO, "free(NULL) keeps errno");
	for (i = 0; i < sizeof sz / sizeof sz[0]; i++) {
		void *p;
		errno = SENTINEL_ERRNO;
		p = FENCED(launder(malloc(sz[i])));
		if (errno != SENTINEL_ERRNO) {
			diag("  successful malloc(%zu) changed errno to %d", sz[i], errno);
			bad_ok++;
		}
		if (p)
			memset(p, 1, sz[i]);
		errno = SENTINEL_ERRNO;
		FENCED_VOID(free(p));
		if (errno != SENTINEL_ERRNO) {
			diag("  free(malloc(%zu)) changed errno to %d", sz[i], errno);
			bad++;
		}
	}
	ok(bad == 0, "free keeps errno for small, large and 64 MiB blocks");
	ok(bad_ok == 0, "successful malloc keeps errno");
}

static void t_posix_memalign(void)
{
	static const size_t einval[] = {0, 1, 2, 4, 12, 24, 48, 96, 3 << 20, ((size_t)1 << 63) + 8};
	static const size_t enomem[][2] = {
		{64, SIZE_MAX},
		{64, (size_t)PTRDIFF_MAX + 1},
		{4096, HUGE_1P},
		{1 << 20, SIZE_MAX - (1 << 19)},
		{(size_t)1 << 62, 10},
		{(size_t)1 << 40, 10}, /* glibc: more than the kernel lets it map (see README) */
	};
	void *const untouched = (void *)0x5a5a5a5a;
	unsigned i;
	int bad = 0;

	for (i = 0; i < sizeof einval / sizeof einval[0]; i++) {
		void *p = untouched;
		int rc;
		errno = SENTINEL_ERRNO;
		rc = FENCED(posix_memalign(&p, opaque_size(einval[i]), 16));
		if (rc != EINVAL || p != untouched || errno != SENTINEL_ERRNO) {
			diag("  posix_memalign(&p, %#zx, 16): rc %d, p %p, errno %d", einval[i], rc, p, errno);
			bad++;
			if (rc == 0 && p != untouched)
				FENCED_VOID(free(p));
		}
	}
	ok(bad == 0, "posix_memalign with a bad alignment (0, 1, 2, 4, 12, 24, ...): EINVAL, *p and errno untouched");

	bad = 0;
	for (i = 0; i < sizeof enomem / sizeof enomem[0]; i++) {
		void *p = untouched;
		int rc;
		errno = SENTINEL_ERRNO;
		rc = FENCED(posix_memalign(&p, opaque_size(enomem[i][0]), opaque_size(enomem[i][1])));
		if (rc != ENOMEM || p != untouched || errno != ENOMEM) {
			diag("  posix_memalign(&p, %#zx, %#zx): rc %d, p %p, errno %d", enomem[i][0], enomem[i][1], rc,
			     p, errno);
			bad++;
			if (rc == 0 && p != untouched)
				FENCED_VOID(free(p));
		}
	}
	ok(bad == 0, "posix_memalign that cannot be satisfied (sizes, alignments of 2^40 and more): ENOMEM, *p untouched, errno ENOMEM as in glibc");

	{
		void *a = NULL, *b = NULL;
		int ra = posix_memalign(&a, 64, 0), rb = posix_memalign(&b, 64, 0);
		ok(ra == 0 && rb == 0 && a && b && a != b && addr_of(a) % 64 == 0 && addr_of(b) % 64 == 0,
		   "posix_memalign(&p, 64, 0) twice: two distinct 64-aligned pointers (%p, %p)", a, b);
		FENCED_VOID(free(a));
		FENCED_VOID(free(b));
	}
}

static void t_lenient_align(void)
{
	void *p;
	size_t u;

	p = FENCED(launder(aligned_alloc(opaque_size(3), 10)));
	ok(p && addr_of(p) % 4 == 0 && malloc_usable_size(p) >= 10,
	   "aligned_alloc(3, 10) succeeds, alignment rounded up to 4 (%p)", p);
	FENCED_VOID(free(p));
	p = FENCED(launder(aligned_alloc(opaque_size(0), 10)));
	ok(p && malloc_usable_size(p) >= 10, "aligned_alloc(0, 10) succeeds (%p)", p);
	FENCED_VOID(free(p));
	p = FENCED(launder(memalign(opaque_size(24), 10)));
	ok(p && addr_of(p) % 32 == 0 && malloc_usable_size(p) >= 10,
	   "memalign(24, 10) succeeds, 32-aligned (%p)", p);
	FENCED_VOID(free(p));
	p = FENCED(launder(memalign(opaque_size(4000), 5000)));
	ok(p && addr_of(p) % 4096 == 0 && malloc_usable_size(p) >= 5000,
	   "memalign(4000, 5000) succeeds, 4096-aligned (%p)", p);
	FENCED_VOID(free(p));

	errno = 0;
	p = FENCED(launder(memalign(opaque_size((size_t)1 << 63), 10)));
	ok(null_enomem(p), "memalign(1<<63, 10): NULL, ENOMEM");
	errno = 0;
	p = FENCED(launder(aligned_alloc(opaque_size((size_t)1 << 63), 10)));
	ok(null_enomem(p), "aligned_alloc(1<<63, 10): NULL, ENOMEM");
	errno = 0;
	p = FENCED(launder(aligned_alloc(opaque_size((size_t)1 << 40), 10)));
	ok(null_enomem(p), "aligned_alloc(1<<40, 10): NULL, ENOMEM");
	errno = 0;
	p = FENCED(launder(memalign(opaque_size((size_t)1 << 40), 10)));
	ok(null_enomem(p), "memalign(1<<40, 10): NULL, ENOMEM");
	errno = 0;
	p = FENCED(launder(memalign(opaque_size(SIZE_MAX / 2 + 2), 10)));
	ok(!p && errno == EINVAL, "memalign(SIZE_MAX/2 + 2, 10): NULL, EINVAL (errno %d)", errno);
	errno = 0;
	p = FENCED(launder(aligned_alloc(opaque_size(SIZE_MAX), 10)));
	ok(!p && errno == EINVAL, "aligned_alloc(SIZE_MAX, 10): NULL, EINVAL (errno %d)", errno);
	errno = 0;
	p = FENCED(launder(aligned_alloc(64, opaque_size(SIZE_MAX))));
	ok(null_enomem(p), "aligned_alloc(64, SIZE_MAX): NULL, ENOMEM");
	errno = 0;
	p = FENCED(launder(memalign(1 << 20, opaque_size(SIZE_MAX - (1 << 19)))));
	ok(null_enomem(p), "memalign(1 MiB, SIZE_MAX - 512 KiB): NULL, ENOMEM");

	p = FENCED(launder(valloc(0)));
	ok(p && addr_of(p) % 4096 == 0, "valloc(0): page-aligned pointer (%p)", p);
	FENCED_VOID(free(p));
	p = FENCED(launder(valloc(1)));
	ok(p && addr_of(p) % 4096 == 0 && malloc_usable_size(p) >= 1, "valloc(1): page-aligned (%p)", p);
	FENCED_VOID(free(p));
	p = FENCED(launder(valloc(5000)));
	ok(p && addr_of(p) % 4096 == 0 && malloc_usable_size(p) >= 5000,
	   "valloc(5000): page-aligned, usable >= 5000 (%p)", p);
	if (p)
		memset(p, 3, 5000);
	FENCED_VOID(free(p));
	p = FENCED(launder(pvalloc(0)));
	ok(p && addr_of(p) % 4096 == 0, "pvalloc(0): page-aligned pointer (%p)", p);
	FENCED_VOID(free(p));
	p = FENCED(launder(pvalloc(1)));
	u = p ? malloc_usable_size(p) : 0;
	ok(p && addr_of(p) % 4096 == 0 && u >= 4096, "pvalloc(1): page-aligned, usable %zu >= 4096", u);
	if (p)
		memset(p, 4, 4096);
	FENCED_VOID(free(p));
	errno = 0;
	p = FENCED(launder(valloc(opaque_size(SIZE_MAX))));
	ok(null_enomem(p), "valloc(SIZE_MAX): NULL, ENOMEM");
	errno = 0;
	p = FENCED(launder(pvalloc(opaque_size(SIZE_MAX - 100))));
	ok(null_enomem(p), "pvalloc(SIZE_MAX - 100) (rounding wraps): NULL, ENOMEM");
}

static void t_extras(void)
{
	int rc;

	rc = mallopt(M_ARENA_MAX, 1);
	ok(rc == 1, "mallopt(M_ARENA_MAX, 1) returns 1 (%d)", rc);
	rc = mallopt(M_TRIM_THRESHOLD, 1 << 20);
	ok(rc == 1, "mallopt(M_TRIM_THRESHOLD, 1 MiB) returns 1 (%d)", rc);
	rc = malloc_trim(0);
	ok(rc == 0 || rc == 1, "malloc_trim(0) returns 0 or 1 (%d)", rc);

	{
		enum { N = 16384, SZ = 64 };
		static void *blk[N];
		struct mallinfo2 a, b;
		int i;
		a = mallinfo2();
		for (i = 0; i < N; i++) {
			blk[i] = launder(malloc(SZ));
			if (blk[i])
				memset(blk[i], i, SZ);
		}
		b = mallinfo2();
		diag("mallinfo2 before: arena %zu uordblks %zu fordblks %zu hblkhd %zu", a.arena,
		     a.uordblks, a.fordblks, a.hblkhd);
		diag("mallinfo2 after 1 MiB of 64-byte blocks: arena %zu uordblks %zu fordblks %zu hblkhd %zu",
		     b.arena, b.uordblks, b.fordblks, b.hblkhd);
		ok(b.arena > 0 && b.uordblks > 0, "mallinfo2: arena and uordblks are non-zero");
		ok(b.uordblks >= a.uordblks + (size_t)N * SZ * 3 / 4,
		   "mallinfo2: uordblks grows by about 1 MiB after allocating 1 MiB of small blocks");
		ok(b.uordblks < ((size_t)1 << 40) && b.arena < ((size_t)1 << 44),
		   "mallinfo2: figures are plausible (no wrapped counters)");
		for (i = 0; i < N; i++)
			FENCED_VOID(free(blk[i]));
	}

	{
		/* malloc_stats writes to stderr: send it to a file for the duration. */
		FILE *f = tmpfile();
		int saved = dup(2);
		long len = -1;
		if (f && saved >= 0) {
			fflush(stderr);
			dup2(fileno(f), 2);
			malloc_stats();
			fflush(stderr);
			dup2(saved, 2);
			close(saved);
			len = lseek(fileno(f), 0, SEEK_END);
		}
		ok(f && len >= 0, "malloc_stats() returns (wrote %ld bytes)", len);
		if (f)
			fclose(f);
	}
	{
		FILE *f = tmpfile();
		long len = -1;
		char head[64] = "";
		rc = -1;
		if (f) {
			rc = malloc_info(0, f);
			fflush(f);
			len = ftell(f);
			rewind(f);
			if (!fgets(head, sizeof head, f))
				head[0] = 0;
			head[strcspn(head, "\n")] = 0;
			fclose(f);
		}
		ok(f != NULL, "malloc_info(0, file) returns %d, wrote %ld bytes (\"%s\")", rc, len, head);
	}
}

static void t_sized_frees(void)
{
	void *p;
	int e;

	if (!free_sized) {
		ok(!ga, "free_sized is provided%s", ga ? "" : " # SKIP not provided by this allocator");
	} else {
		uint64_t f0 = frees_now();
		p = FENCED(launder(malloc(100)));
		errno = SENTINEL_ERRNO;
		FENCED_VOID(free_sized(p, 100));
		e = errno;
		p = FENCED(launder(malloc(100000)));
		FENCED_VOID(free_sized(p, 100000));
		FENCED_VOID(free_sized(NULL, 0));
		p = FENCED(launder(malloc(100)));
		FENCED_VOID(free_sized(p, malloc_usable_size(p))); /* (any n up to the usable size) */
		ok(e == SENTINEL_ERRNO && (!stats_fn || frees_now() >= f0 + 3),
		   "free_sized(p, n) frees small and large blocks, n up to the usable size, keeps errno");
	}
	if (!free_aligned_sized) {
		ok(!ga, "free_aligned_sized is provided%s", ga ? "" : " # SKIP not provided by this allocator");
	} else {
		uint64_t f0 = frees_now();
		p = FENCED(launder(aligned_alloc(64, 256)));
		errno = SENTINEL_ERRNO;
		FENCED_VOID(free_aligned_sized(p, 64, 256));
		e = errno;
		p = FENCED(launder(aligned_alloc(1 << 16, 100000)));
		FENCED_VOID(free_aligned_sized(p, 1 << 16, 100000));
		FENCED_VOID(free_aligned_sized(NULL, 64, 0));
		ok(e == SENTINEL_ERRNO && (!stats_fn || frees_now() >= f0 + 2),
		   "free_aligned_sized(p, a, n) frees, keeps errno");
	}
	if (!cfree) {
		ok(!ga, "cfree is provided%s", ga ? "" : " # SKIP not provided by this allocator");
	} else {
		uint64_t f0 = frees_now();
		p = FENCED(launder(malloc(100)));
		FENCED_VOID(cfree(p));
		ok(!stats_fn || frees_now() >= f0 + 1, "cfree(p) frees");
	}
}

/* Under goalloc, the whole family must resolve to goalloc, not to glibc. */
static void t_symbols(void)
{
	static const char *const names[] = {
		"malloc", "free", "calloc", "realloc", "reallocarray", "posix_memalign",
		"aligned_alloc", "memalign", "valloc", "pvalloc", "malloc_usable_size", "free_sized",
		"free_aligned_sized", "cfree", "malloc_trim", "mallopt", "mallinfo", "mallinfo2",
		"malloc_stats", "malloc_info", "__libc_malloc", "__libc_free", "__libc_calloc",
		"__libc_realloc", "__libc_memalign",
	};
	unsigned i;
	int bad = 0;

	if (!ga) {
		ok(1, "malloc family resolves to goalloc # SKIP not under goalloc");
		return;
	}
	for (i = 0; i < sizeof names / sizeof names[0]; i++) {
		void *s = dlsym(RTLD_DEFAULT, names[i]);
		Dl_info info;
		if (!s || !dladdr(s, &info) || !info.dli_fname || !strstr(info.dli_fname, "goalloc")) {
			diag("  %s resolves to %p in %s", names[i], s,
			     s && dladdr(s, &info) && info.dli_fname ? info.dli_fname : "(nothing)");
			bad++;
		}
	}
	ok(bad == 0, "malloc family (incl. __libc_* aliases, cfree, free_sized) resolves to goalloc");
}

int main(void)
{
	ga = under_goalloc();
	if (ga)
		*(void **)&stats_fn = dlsym(RTLD_DEFAULT, "goalloc_stats");
	diag("%s%s", ga ? "under goalloc" : "not under goalloc",
	     stats_fn ? ", goalloc_stats available" : "");

	t_zero_and_null();
	t_huge();
	t_overflow();
	t_free_errno();
	t_posix_memalign();
	t_lenient_align();
	t_extras();
	t_sized_frees();
	t_symbols();
	return done_testing();
}
