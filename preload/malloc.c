/* malloc.c — the exported C ABI: the malloc family with glibc 2.36 semantics over goalloc's core.
 *
 * This file holds what the C library's interface asks and nothing of the allocator's policy
 * (core/malloc.[ch]): argument checks, errno, glibc's rules (malloc(0), realloc(p, 0), calloc
 * overflow, what posix_memalign, aligned_alloc, memalign accept), the names and aliases, the C++
 * operators' fast paths, and the mallinfo family. Each exported fast path is one of core's
 * always-inline functions (core/malloc.h says why they are inline there and defined here).
 * glibc's own blocks are foreign.c's.
 */
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>

#include "../core/arena.h"
#include "../core/fmt.h"
#include "../core/init.h"
#include "../core/malloc.h"
#include "../core/stats.h"
#include "goalloc.h"
#include "cxx.h"
#include "foreign.h"

#define GA_EXPORT __attribute__((visibility("default")))
#define GA_ALIAS(name) __attribute__((alias(#name), visibility("default")))

/* ---- malloc / free ------------------------------------------------------------------------ */

GA_EXPORT void *goalloc_malloc(size_t n)
{
	return ga_malloc(n);
}

GA_EXPORT void goalloc_free(void *p)
{
	ga_free(p);
}

#ifndef GOALLOC_NO_LIBC_NAMES /* (the C++ operators are not part of the goalloc_* build) */
/* operator new(n) (the throwing, default-aligned forms in cxx.c): malloc's fast path with at
 * least the 16-byte class (__STDCPP_DEFAULT_NEW_ALIGNMENT__), without an extra call. */
GA_NOINLINE static void *new_slow(size_t n)
{
	GC_NOTE_SITE();
	void *p = goalloc_malloc(n < 9 ? 9 : n);
	return GA_LIKELY(p) ? p : ga_new_failed(n, 0, 0);
}

GA_HIDDEN void *ga_new(size_t n)
{
	if (GA_UNLIKELY(n > GA_SMALL_SIZE_MAX))
		return new_slow(n);
	/* (the table gives 16 bytes or more; before start-up, and in the collector's report mode, 0,
	 * whose list is always empty) */
	void *p = next_free_fast(ga_malloc_sc[n]);
	if (GA_UNLIKELY(!p))
		return new_slow(n);
	return p;
}
#endif

/* ---- Sizes ------------------------------------------------------------------------------ */

GA_EXPORT size_t goalloc_usable_size(void *p)
{
	size_t r = block_usable_size(p);
	if (GA_UNLIKELY(!r) && foreign_owns(p))
		return foreign_usable_size(p);
	return r;
}

/* ---- calloc / realloc -------------------------------------------------------------------- */

/* calloc past its fast path: the product's overflow, sizes over PTRDIFF_MAX (ENOMEM, as glibc),
 * blocks over 1 KiB. */
GA_NOINLINE static void *calloc_slow(size_t a, size_t b)
{
	GC_NOTE_SITE();
	size_t n;
	if (__builtin_mul_overflow(a, b, &n) || n > (size_t)PTRDIFF_MAX) {
		errno = ENOMEM;
		return NULL;
	}
	return malloc_zeroed(n);
}

/* calloc's fast path: up to 1 KiB, malloc's list pop and the zeroing inline (ga_calloc_small). */
GA_EXPORT void *goalloc_calloc(size_t a, size_t b)
{
	size_t n;
	if (GA_UNLIKELY(__builtin_mul_overflow(a, b, &n) || n > GA_SMALL_SIZE_MAX))
		return calloc_slow(a, b);
	return ga_calloc_small(n);
}

/* realloc past its fast path: glibc's rules for NULL and 0, glibc's own blocks, then core. */
GA_NOINLINE static void *realloc_slow(void *p, size_t n)
{
	GC_NOTE_SITE();
	if (!p)
		return goalloc_malloc(n);
	if (n == 0) { /* glibc: frees and returns NULL, errno unchanged */
		goalloc_free(p);
		return NULL;
	}
	if (foreign_owns(p)) {
		int done;
		void *q = foreign_realloc(p, n, &done);
		if (done)
			return q;
	}
	return realloc_block(p, n);
}

/* The fast path, for a block of a small class of 16 bytes or more and 1 ≤ n ≤ 32 KiB, found as
 * free() finds it (the page's entry, not the mspan record; core/malloc.h, realloc_small).
 * Everything else — NULL, n == 0, the 8-byte class, large blocks, foreign pointers — takes
 * realloc_slow. */
GA_EXPORT void *goalloc_realloc(void *p, size_t n)
{
	uintptr_t info = page_class_of((uintptr_t)p);
	if (GA_LIKELY(page_entry_spanclass(info) > GA_SPANCLASS(1, 1) && n - 1 < GA_MAX_SMALL_SIZE))
		return realloc_small(p, info, n);
	return realloc_slow(p, n);
}

/* ---- Aligned allocation ------------------------------------------------------------------ */

static size_t pow2_at_least(size_t a)
{
	size_t p = 1;
	while (p < a && p)
		p <<= 1;
	return p;
}

static int posix_memalign_slow(void **out, size_t align, size_t n);

GA_EXPORT int goalloc_posix_memalign(void **out, size_t align, size_t n)
{
	if (align < sizeof(void *) || (align & (align - 1)))
		return EINVAL;
	void *p = aligned_small_fast(align, n);
	if (GA_LIKELY(p)) {
		*out = p;
		return 0;
	}
	return posix_memalign_slow(out, align, n);
}

/* (on failure errno is ENOMEM as well as the result, as in glibc) */
GA_NOINLINE static int posix_memalign_slow(void **out, size_t align, size_t n)
{
	GC_NOTE_SITE();
	void *p = malloc_aligned_slow(align, n);
	if (!p)
		return ENOMEM;
	*out = p;
	return 0;
}

GA_EXPORT void *goalloc_aligned_alloc(size_t align, size_t n)
{
	/* glibc 2.36 (aligned_alloc is memalign there): an alignment above the largest power of two
	 * is EINVAL; any other is rounded up to a power of two. */
	if (GA_UNLIKELY(align > SIZE_MAX / 2 + 1)) {
		errno = EINVAL;
		return NULL;
	}
	return ga_malloc_aligned(pow2_at_least(align ? align : 1), n);
}

#ifndef GOALLOC_NO_LIBC_NAMES
/* operator new(n, align_val_t) past its fast path: any size, alignment or empty list. */
GA_NOINLINE static void *new_aligned_slow(size_t n, size_t align)
{
	GC_NOTE_SITE();
	void *p = goalloc_aligned_alloc(align, n);
	return GA_LIKELY(p) ? p : ga_new_failed(n, align, 0);
}

/* operator new(n, align_val_t) (the throwing forms): the aligned fast path, without a stack
 * frame (every other case is a tail call). C++ guarantees align is a power of two. */
GA_HIDDEN void *ga_new_aligned(size_t n, size_t align)
{
	if (align <= 16)
		return ga_new(n);
	void *p = aligned_small_fast(align, n);
	if (GA_LIKELY(p))
		return p;
	return new_aligned_slow(n, align);
}
#endif

GA_EXPORT void *goalloc_malloc_atomic(size_t n)
{
	GC_NOTE_SITE();
	return malloc_noscan(n);
}

GA_EXPORT void *goalloc_valloc(size_t n)
{
	return ga_malloc_aligned(4096, n);
}

GA_EXPORT void *goalloc_pvalloc(size_t n)
{
	if (n > (size_t)PTRDIFF_MAX) {
		errno = ENOMEM;
		return NULL;
	}
	return ga_malloc_aligned(4096, n ? ga_align_up(n, 4096) : 4096);
}

#ifndef GOALLOC_NO_LIBC_NAMES /* (the ThreadSanitizer build links goalloc into a program under its own names only) */
void *reallocarray(void *p, size_t a, size_t b) GA_EXPORT;
void *reallocarray(void *p, size_t a, size_t b)
{
	size_t n;
	if (__builtin_mul_overflow(a, b, &n)) {
		errno = ENOMEM;
		return NULL;
	}
	GC_NOTE_SITE();
	return goalloc_realloc(p, n);
}

/* free_sized and free_aligned_sized (C23): n must be at most the block's usable size (the size
 * asked for, or what malloc_usable_size says). A larger one means the program frees something
 * else than it thinks: it ends like an invalid free. (A pointer that is no block's start is
 * goalloc_free's to report.) */
GA_NOINLINE __attribute__((noreturn)) static void bad_size(const char *fn, void *p, size_t n, size_t usable)
{
	ga_fatal("%s(): invalid size %zu for block %p (usable size %zu)", fn, n, p, usable);
}

void free_sized(void *p, size_t n) GA_EXPORT;
void free_sized(void *p, size_t n)
{
	size_t usable = goalloc_usable_size(p);
	if (GA_UNLIKELY(n > usable && usable))
		bad_size("free_sized", p, n, usable);
	goalloc_free(p);
}

void free_aligned_sized(void *p, size_t align, size_t n) GA_EXPORT;
void free_aligned_sized(void *p, size_t align, size_t n)
{
	(void)align; /* (the span knows the alignment) */
	size_t usable = goalloc_usable_size(p);
	if (GA_UNLIKELY(n > usable && usable))
		bad_size("free_aligned_sized", p, n, usable);
	goalloc_free(p);
}

#endif

/* ---- The libc names ---------------------------------------------------------------------- */

#ifndef GOALLOC_NO_LIBC_NAMES
void *malloc(size_t n) GA_ALIAS(goalloc_malloc);
void free(void *p) GA_ALIAS(goalloc_free);
void *calloc(size_t a, size_t b) GA_ALIAS(goalloc_calloc);
void *realloc(void *p, size_t n) GA_ALIAS(goalloc_realloc);
int posix_memalign(void **out, size_t align, size_t n) GA_ALIAS(goalloc_posix_memalign);
void *aligned_alloc(size_t align, size_t n) GA_ALIAS(goalloc_aligned_alloc);
void *memalign(size_t align, size_t n) GA_ALIAS(goalloc_aligned_alloc);
size_t malloc_usable_size(void *p) GA_ALIAS(goalloc_usable_size);
void cfree(void *p) GA_ALIAS(goalloc_free);
void *__libc_malloc(size_t n) GA_ALIAS(goalloc_malloc);
void __libc_free(void *p) GA_ALIAS(goalloc_free);
void *__libc_calloc(size_t a, size_t b) GA_ALIAS(goalloc_calloc);
void *__libc_realloc(void *p, size_t n) GA_ALIAS(goalloc_realloc);
void *__libc_memalign(size_t align, size_t n) GA_ALIAS(goalloc_aligned_alloc);
void *valloc(size_t n) GA_ALIAS(goalloc_valloc);
void *__libc_valloc(size_t n) GA_ALIAS(goalloc_valloc);
void *pvalloc(size_t n) GA_ALIAS(goalloc_pvalloc);
void *__libc_pvalloc(size_t n) GA_ALIAS(goalloc_pvalloc);
int __posix_memalign(void **out, size_t align, size_t n) GA_ALIAS(goalloc_posix_memalign);
void __libc_cfree(void *p) GA_ALIAS(goalloc_free);
/* The C++ operators of every new-expression and delete-expression without alignment: the fast
 * paths themselves rather than a jump to them (nothrow new is in cxx.c). The sized, aligned and
 * nothrow deletes take arguments they ignore, which the x86-64 calling convention allows. */
void *_Znwm(size_t n) GA_ALIAS(ga_new);
void *_Znam(size_t n) GA_ALIAS(ga_new);
void _ZdlPv(void *p) GA_ALIAS(goalloc_free);
void _ZdaPv(void *p) GA_ALIAS(goalloc_free);
void _ZdlPvm(void *p) GA_ALIAS(goalloc_free);
void _ZdaPvm(void *p) GA_ALIAS(goalloc_free);
/* The aligned forms likewise: the span knows the alignment, so every delete is free(). */
void *_ZnwmSt11align_val_t(size_t n, size_t align) GA_ALIAS(ga_new_aligned);
void *_ZnamSt11align_val_t(size_t n, size_t align) GA_ALIAS(ga_new_aligned);
void _ZdlPvSt11align_val_t(void *p) GA_ALIAS(goalloc_free);
void _ZdaPvSt11align_val_t(void *p) GA_ALIAS(goalloc_free);
void _ZdlPvmSt11align_val_t(void *p) GA_ALIAS(goalloc_free);
void _ZdaPvmSt11align_val_t(void *p) GA_ALIAS(goalloc_free);
void _ZdlPvRKSt9nothrow_t(void *p) GA_ALIAS(goalloc_free);
void _ZdaPvRKSt9nothrow_t(void *p) GA_ALIAS(goalloc_free);
void _ZdlPvSt11align_val_tRKSt9nothrow_t(void *p) GA_ALIAS(goalloc_free);
void _ZdaPvSt11align_val_tRKSt9nothrow_t(void *p) GA_ALIAS(goalloc_free);

#endif

/* ---- Statistics and tuning --------------------------------------------------------------- */

GA_EXPORT int goalloc_stats(struct goalloc_stats *out)
{
	ga_ensure_init();
	struct ga_stats st;
	stats_collect(&st);
	*out = (struct goalloc_stats){
		.mallocs = st.mallocs,
		.frees = st.frees,
		.bytes_in_use = st.bytes_in_use,
		.large_mallocs = st.large_mallocs,
		.large_frees = st.large_frees,
		.spans_in_use = st.spans_in_use,
		.arenas = st.arenas,
		.bytes_mapped = st.bytes_mapped,
		.bytes_metadata = st.bytes_metadata,
		.threads_seen = st.threads_seen,
	};
	return 0;
}

/* ---- The collector (core/mgc.h) --------------------------------------------------------- */

GA_EXPORT int goalloc_gc(void)
{
	ga_ensure_init();
	return gc_run_now();
}

GA_EXPORT int goalloc_gc_stats(struct goalloc_gc_stats *out)
{
	gc_get_stats(out);
	return 0;
}

GA_EXPORT int goalloc_gc_ignore(const void *p)
{
	return gc_ignore(p);
}

GA_EXPORT void goalloc_print_stats(int fd)
{
	ga_ensure_init();
	stats_print(fd);
}

#ifndef GOALLOC_NO_LIBC_NAMES
int malloc_trim(size_t pad) GA_EXPORT;
int malloc_trim(size_t pad)
{
	(void)pad;
	return heap_trim();
}

int mallopt(int param, int value) GA_EXPORT;
int mallopt(int param, int value)
{
	(void)param;
	(void)value;
	return 1; /* accepted; goalloc has no glibc tunables */
}

struct mallinfo2 mallinfo2(void) GA_EXPORT;
struct mallinfo2 mallinfo2(void)
{
	struct goalloc_stats st;
	goalloc_stats(&st);
	struct mallinfo2 mi = {0};
	mi.arena = st.bytes_mapped;
	mi.ordblks = 1;
	mi.hblks = st.large_mallocs - st.large_frees;
	mi.uordblks = st.bytes_in_use;
	mi.fordblks = st.bytes_mapped > st.bytes_in_use ? st.bytes_mapped - st.bytes_in_use : 0;
	mi.keepcost = 0;
	return mi;
}

struct mallinfo mallinfo(void) GA_EXPORT;
struct mallinfo mallinfo(void)
{
	struct mallinfo2 m2 = mallinfo2();
	struct mallinfo mi = {0};
	mi.arena = (int)m2.arena;
	mi.ordblks = (int)m2.ordblks;
	mi.hblks = (int)m2.hblks;
	mi.uordblks = (int)m2.uordblks;
	mi.fordblks = (int)m2.fordblks;
	return mi;
}

void malloc_stats(void) GA_EXPORT;
void malloc_stats(void)
{
	goalloc_print_stats(2);
}

int malloc_info(int options, FILE *fp) GA_EXPORT;
int malloc_info(int options, FILE *fp)
{
	if (options != 0) {
		errno = EINVAL;
		return -1;
	}
	struct goalloc_stats st;
	goalloc_stats(&st);
	fprintf(fp,
		"<malloc version=\"goalloc-1\">\n<total type=\"mallocs\" count=\"%llu\"/>\n"
		"<total type=\"frees\" count=\"%llu\"/>\n<total type=\"inuse\" size=\"%llu\"/>\n"
		"<system type=\"current\" size=\"%llu\"/>\n</malloc>\n",
		(unsigned long long)st.mallocs, (unsigned long long)st.frees,
		(unsigned long long)st.bytes_in_use, (unsigned long long)st.bytes_mapped);
	return 0;
}
#endif
