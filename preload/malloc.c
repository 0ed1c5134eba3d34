/* malloc.c — the exported C ABI: the malloc family with glibc 2.36 semantics over goalloc's core.
 *
 *   malloc(n)  → size → span class (C alignment folded in) → this thread's mcache free list
 *                (mcache_pop) → on a miss, a batch from the mcentral's transfer cache, else the
 *                cached span's allocCache/ctz, else a span from the mcentral, else the mheap;
 *                > 32 KiB: a span of its own (the thread's last freed one if it fits).
 *   free(p)    → arena index → the page's span class and place in its span → slot check by one
 *                multiply → mcache free list.
 *
 * This file is thin: argument checks, errno, and the shape of each call. Fast paths stay on one
 * screen; every other case is a separate GA_NOINLINE function.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../core/arena.h"
#include "../core/fmt.h"
#include "../core/malloc_class.h"
#include "../core/mcache.h"
#include "../core/mheap.h"
#include "../core/os.h"
#include "../core/stats.h"
#include "../core/track.h"
#include "goalloc.h"
#include "cxx.h"

#define GA_EXPORT __attribute__((visibility("default")))
#define GA_ALIAS(name) __attribute__((alias(#name), visibility("default")))

/* ---- Helpers ---------------------------------------------------------------------------- */

/* Announce a new small block to memcheck (valgrind flavour only): its class size, or for a block
 * a signal handler got while its thread was inside goalloc, that block's own size. */
static inline void track_block(void *p, uint8_t sc)
{
#ifdef GOALLOC_VALGRIND
	size_t n = span_of((uintptr_t)p) ? ga_class_to_size[GA_SPANCLASS_SIZECLASS(sc)] : mcache_reentrant_size(p);
	ga_track_malloc(p, n, 0);
#else
	(void)p;
	(void)sc;
#endif
}

GA_NOINLINE __attribute__((noreturn)) static void bad_pointer(const char *fn, void *p)
{
	ga_fatal("%s(): invalid pointer %p", fn, p);
}

/* A large object: a span of its own (or, from a signal handler that interrupted goalloc, a
 * mapping of its own). First a span this thread freed: of up to a quarter more pages — or, for a
 * block that realloc is growing (`growing`), of any size, so that the pages cut off its tail lie
 * free right after the block and the growth that follows happens in place. */
static void *large_alloc(size_t n, size_t align, uint8_t spanclass, int *zeroed, int growing)
{
	ga_ensure_init();
	if (n > (size_t)PTRDIFF_MAX - GA_PAGE_SIZE) {
		errno = ENOMEM;
		return NULL;
	}
	uint64_t npages = (n + GA_PAGE_SIZE - 1) >> GA_PAGE_SHIFT;
	if (npages == 0)
		npages = 1;
	if (npages > UINT32_MAX) {
		errno = ENOMEM;
		return NULL;
	}
	uint32_t align_pages = align > GA_PAGE_SIZE ? (uint32_t)(align >> GA_PAGE_SHIFT) : 1;
	struct mcache *c = &ga_mcache;
	if (mcache_busy(c)) { /* a signal handler interrupted this thread inside goalloc */
		void *p = align <= 16 ? mcache_alloc_reentrant(c, n) : NULL;
		if (!p)
			errno = ENOMEM;
		else
			ga_track_malloc(p, n, 1);
		if (zeroed)
			*zeroed = 1; /* a fresh mapping */
		return p;
	}
	mcache_enter(c);
	struct mspan *s = align_pages == 1 ? mcache_large_take(c, (uint32_t)npages, spanclass, growing) : NULL;
	if (!s) {
		mcache_large_drain_for(c, (uint32_t)(npages + align_pages - 1));
		s = mheap_alloc_span((uint32_t)npages, spanclass, align_pages);
		if (s)
			stats_count_large_malloc(s);
	}
	mcache_leave(c);
	if (!s) {
		errno = ENOMEM;
		return NULL;
	}
	if (zeroed)
		*zeroed = !s->needzero;
	ga_track_malloc((void *)s->base, s->elemsize, zeroed && !s->needzero);
	return (void *)s->base;
}

/* Small allocation of span class sc (0: the class of malloc(n)) by any path: list, transfer
 * cache, span, mcentral. The fast paths call it when their list pop misses. */
GA_NOINLINE static void *small_alloc_slow(size_t n, uint8_t sc)
{
	ga_ensure_init();
	if (!sc)
		sc = ga_malloc_spanclass(n ? n : 1);
	void *p = mcache_alloc(&ga_mcache, sc, n);
	if (!p) {
		errno = ENOMEM;
		return NULL;
	}
	track_block(p, sc);
	return p;
}

/* malloc(n) for n > 32 KiB past its fast path (in malloc_medium). */
GA_NOINLINE static void *malloc_large(size_t n)
{
	if (n > (size_t)PTRDIFF_MAX) {
		errno = ENOMEM;
		return NULL;
	}
	return large_alloc(n, 0, 0, NULL, 0);
}

/* ---- Foreign pointers (glibc's own malloc, e.g. from an RTLD_DEEPBIND library) -------------- */

/* Is p a block of glibc's malloc? Only a plausible in-use chunk in memory glibc's malloc uses: its
 * brk heap, or an anonymous mapping. A wrong "no" aborts with goalloc's message; a wrong "yes"
 * hands garbage to glibc, which aborts with its own. */
static int mapping_kind(uintptr_t p) /* 0 unmapped, 1 [heap] or anonymous, 2 other */
{
	int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 2;
	char buf[4096];
	size_t have = 0;
	int kind = 0;
	for (;;) {
		ssize_t r = read(fd, buf + have, sizeof buf - 1 - have);
		if (r <= 0)
			break;
		have += (size_t)r;
		buf[have] = 0;
		char *line = buf, *nl;
		while ((nl = memchr(line, '\n', have - (size_t)(line - buf)))) {
			*nl = 0;
			unsigned long lo = 0, hi = 0;
			char *q = line;
			while (*q && *q != '-') {
				lo = lo * 16 + (unsigned long)(*q <= '9' ? *q - '0' : (*q | 32) - 'a' + 10);
				q++;
			}
			if (*q == '-')
				q++;
			while (*q && *q != ' ') {
				hi = hi * 16 + (unsigned long)(*q <= '9' ? *q - '0' : (*q | 32) - 'a' + 10);
				q++;
			}
			if (p >= lo && p < hi) {
				/* fields: perms offset dev inode path */
				int field = 0;
				char *path = q;
				while (*path && field < 5) {
					while (*path == ' ')
						path++;
					if (field < 4)
						while (*path && *path != ' ')
							path++;
					field++;
				}
				kind = (!*path || !strcmp(path, "[heap]")) && line[0] ? 1 : 2;
				if (q[1] != 'r' || q[2] != 'w')
					kind = 2;
				close(fd);
				return kind;
			}
			line = nl + 1;
		}
		have -= (size_t)(line - buf);
		memmove(buf, line, have);
	}
	close(fd);
	return kind;
}

static int is_glibc_chunk(void *p)
{
	uintptr_t a = (uintptr_t)p;
	if (a % 16 || a < 4096 || arena_of(a))
		return 0;
	if (mapping_kind(a - 16) != 1)
		return 0;
	size_t size = ((size_t *)p)[-1];
	size_t csize = size & ~(size_t)7;
	if (csize < 32 || csize % 16)
		return 0;
	if (size & 2) { /* mmapped chunk: whole pages */
		size_t prev = ((size_t *)p)[-2];
		return ((a - 16 - prev) & 4095) == 0 && ((prev + csize) & 4095) == 0;
	}
	if (mapping_kind(a - 16 + csize) != 1)
		return 0;
	size_t next = *(size_t *)(a - 16 + csize + 8);
	return (next & 1) != 0; /* the next chunk says this one is in use */
}

static void *libc_fn(const char *name)
{
	return dlsym(RTLD_NEXT, name);
}

GA_NOINLINE static void free_unknown(void *p)
{
	uintptr_t a = (uintptr_t)p;
	if (mcache_reentrant_size(p)) {
		ga_track_free(p);
		mcache_free_reentrant(p);
		return;
	}
	if (arena_of(a)) {
		if (a % GA_PAGE_SIZE == 0)
			ga_double_free(p);
		bad_pointer("free", p);
	}
	if (is_glibc_chunk(p)) {
		void (*libc_free)(void *) = (void (*)(void *))libc_fn("free");
		if (libc_free) {
			libc_free(p);
			return;
		}
	}
	bad_pointer("free", p);
}

GA_NOINLINE __attribute__((noreturn)) static void free_large_bad(void *p, struct mspan *s)
{
	if ((uintptr_t)p != s->base)
		bad_pointer("free", p);
	ga_double_free(p);
}

/* A freed large span the thread's stack of cached spans did not take at once. */
GA_NOINLINE static void free_large_keep(struct mcache *c, struct mspan *s)
{
	mcache_enter(c);
	mcache_large_free(c, s);
	mcache_leave(c);
}

/* free() of a large block: checked, then pushed on the thread's stack of cached spans. The
 * common case calls nothing (so it needs no stack frame); the rest are tail calls. */
GA_INLINE void free_large(void *p, struct mspan *s)
{
	if (GA_UNLIKELY((uintptr_t)p != s->base ||
			atomic_load_explicit(&s->state, memory_order_acquire) != MSPAN_INUSE))
		free_large_bad(p, s);
	ga_track_free(p);
	struct mcache *c = &ga_mcache;
	if (GA_UNLIKELY(c->busy)) /* a signal handler freeing while this thread is inside goalloc */
		return mcache_free_slow(c, p, s);
	mcache_fast_enter(c);
	if (GA_UNLIKELY(!mcache_large_push_fast(c, s)))
		return free_large_keep(c, s);
	mcache_fast_leave(c);
}

/* ---- malloc / free ------------------------------------------------------------------------ */

/* malloc(n) for n > 1024 (only goalloc_malloc calls it): the 128-byte-step classes, or a large
 * span — first the one this thread freed last, if it has the same number of pages. */
GA_NOINLINE static void *malloc_medium(size_t n)
{
	if (n > GA_MAX_SMALL_SIZE) {
		struct mcache *c = &ga_mcache;
		if (GA_UNLIKELY(n > (size_t)PTRDIFF_MAX || c->busy))
			return malloc_large(n);
		mcache_fast_enter(c);
		struct mspan *s = mcache_large_pop_exact(c, (uint32_t)((n + GA_PAGE_SIZE - 1) >> GA_PAGE_SHIFT));
		mcache_fast_leave(c);
		if (GA_UNLIKELY(!s))
			return malloc_large(n);
		ga_track_malloc((void *)s->base, s->elemsize, 0);
		return (void *)s->base;
	}
	/* 1 KiB < n ≤ 32 KiB (goalloc_malloc took the rest): the 128-byte-step table; such a class
	 * always carries the double-free key, which spares mcache_pop its class test. */
	uint8_t sc = ga_malloc_spanclass_medium(n);
	if (sc <= GA_SPANCLASS(1, 1))
		__builtin_unreachable();
	void *p = mcache_pop(mcache_here(), sc);
	if (GA_UNLIKELY(!p))
		return small_alloc_slow(n, sc);
	track_block(p, sc);
	return p;
}

/* The malloc fast path: size → span class by table, then one pop from this thread's list.
 * Compiled (gcc 12 -O2, x86-64): 27 instructions from entry to ret, 3 of them the signal
 * guard's load, test and branch, 3 the double-free key's clearing (class test, branch,
 * store) and 5 the link's decoding and check (core/track.h); callgrind counts 82 per
 * malloc(32)+free pair with its test loop (scripts/callgrind-pairs.sh). */
GA_EXPORT void *goalloc_malloc(size_t n)
{
	if (GA_UNLIKELY(n > GA_SMALL_SIZE_MAX))
		return malloc_medium(n);
	uint8_t sc = ga_malloc_sc[n];
	void *p = mcache_pop(mcache_here(), sc);
	if (GA_UNLIKELY(!p))
		return small_alloc_slow(n, 0); /* (0: it finds sc again, so sc need not be kept here) */
	track_block(p, sc);
	return p;
}

#ifndef GOALLOC_NO_LIBC_NAMES /* (the C++ operators are not part of the goalloc_* build) */
/* operator new(n) (the throwing, default-aligned forms in cxx.c): malloc's fast path with at
 * least the 16-byte class (__STDCPP_DEFAULT_NEW_ALIGNMENT__), without an extra call. */
GA_NOINLINE static void *new_slow(size_t n)
{
	void *p = goalloc_malloc(n < 9 ? 9 : n);
	return GA_LIKELY(p) ? p : ga_new_failed(n, 0, 0);
}

GA_HIDDEN void *ga_new(size_t n)
{
	if (GA_UNLIKELY(n > GA_SMALL_SIZE_MAX))
		return new_slow(n);
	uint8_t sc = ga_malloc_sc[n];
	sc = sc < GA_SPANCLASS(2, 0) ? GA_SPANCLASS(2, 0) : sc;
	void *p = mcache_pop(mcache_here(), sc);
	if (GA_UNLIKELY(!p))
		return new_slow(n);
	track_block(p, sc);
	return p;
}
#endif

/* The small span holding p, with p checked to be the start of one of its slots; NULL for
 * anything else (large spans included). */
GA_INLINE struct mspan *small_span_of_block(void *p, struct mspan *s)
{
	return GA_LIKELY(mspan_is_slot_start(s, (uintptr_t)p)) ? s : NULL;
}

/* free() of a small block that the fast path did not take: class 8, re-entry, a suspected double
 * free, or a list over its bound (pushed == 1). */
GA_NOINLINE static void free_small_slow(void *p, int pushed)
{
	mcache_free_slow(&ga_mcache, pushed ? NULL : p, span_of((uintptr_t)p));
}

/* Is p, in a small span whose page entry is info, the start of a slot? It is iff its offset in
 * the page plus the page's phase is a multiple of the class size (see the slot layout in
 * core/mspan.h; the sum is below 2^16): one multiply. The mspan record is not read. */
GA_INLINE int page_slot_start(const void *p, uintptr_t info)
{
	uint64_t x = ((uintptr_t)p & (GA_PAGE_SIZE - 1)) + (info >> 8);
	uint64_t divides = ga_slot_divides[info & 0xff];
	return x * divides < divides;
}

/* free() of p in a small span, info being its page's entry: the slot check, then one push on
 * this thread's list. keyed: the class holds the double-free key (all but the 8-byte class). */
GA_INLINE void free_small(void *p, uintptr_t info, int keyed)
{
	uintptr_t sc = info & 0xff;
	if (GA_UNLIKELY(!page_slot_start(p, info)))
		bad_pointer("free", p);
	ga_track_free(p); /* (valgrind flavour: before goalloc writes its words into the block) */
	int r = mcache_push(mcache_here(), p, sc, keyed);
	if (GA_UNLIKELY(r != MCACHE_PUSHED))
		return free_small_slow(p, r == MCACHE_PUSH_FLUSH);
}

/* free() of a block of the 8-byte class (too small for the double-free key). Its own function,
 * without a stack frame: the large path's calls would give free_other one. */
GA_NOINLINE static void free_tiny(void *p, uintptr_t info)
{
	free_small(p, info, 0);
}

/* free() of a pointer in arena a whose page's entry is 0 or 1: a large block, or a free page. */
GA_NOINLINE static void free_other(void *p, struct heap_arena *a)
{
	struct mspan *s = arena_page_span(a, (uintptr_t)p);
	if (!s)
		return free_unknown(p);
	free_large(p, s);
}

/* free() of a pointer in no arena: NULL (address 0 is in none), or a foreign pointer. */
GA_NOINLINE static void free_outside(void *p)
{
	if (p)
		free_unknown(p);
}

/* The free fast path: arena index → the page's class and phase → slot check → one push on
 * this thread's list. The mspan record itself is not read. Compiled (gcc 12 -O2, x86-64):
 * 45 instructions from entry to ret — 16 to find the page's entry, 9 for the slot check (one
 * multiply), 3 for the signal guard, 4 for the double-free key, the rest the push (its link
 * mangled: 2) and counts. */
GA_EXPORT void goalloc_free(void *p)
{
	struct heap_arena *a = arena_of((uintptr_t)p);
	if (GA_UNLIKELY(!a))
		return free_outside(p);
	uintptr_t info = arena_page_class(a, (uintptr_t)p);
	uintptr_t sc = info & 0xff;
	if (GA_UNLIKELY(sc <= 3)) /* the 8-byte class, or a large span or free page */
		return sc >= GA_SPANCLASS(1, 0) ? free_tiny(p, info) : free_other(p, a);
	free_small(p, info, 1);
}

/* ---- Sizes ------------------------------------------------------------------------------ */

/* Usable bytes of a block of ours (fn names the caller for the error message). */
static size_t block_usable(void *p, struct mspan *s, const char *fn)
{
	if (mspan_is_large(s)) {
		if ((uintptr_t)p != s->base)
			bad_pointer(fn, p);
		return s->elemsize;
	}
	if (!small_span_of_block(p, s))
		bad_pointer(fn, p);
	return s->elemsize;
}

GA_EXPORT size_t goalloc_usable_size(void *p)
{
	if (!p)
		return 0;
	struct mspan *s = span_of((uintptr_t)p);
	if (!s) {
		size_t r = mcache_reentrant_size(p);
		if (r)
			return r;
		if (!arena_of((uintptr_t)p) && is_glibc_chunk(p)) {
			size_t (*fn)(void *) = (size_t(*)(void *))libc_fn("malloc_usable_size");
			return fn ? fn(p) : 0;
		}
		return 0;
	}
	/* (p may be outside the 48-bit space and only alias this span's page, or, in a small span,
	 * lie in the waste before the first slot) */
	uintptr_t off = (uintptr_t)p - s->objbase;
	if (off >= s->limit - s->objbase)
		return 0;
	if (mspan_is_large(s))
		return s->elemsize - off;
	return s->elemsize - (off - mspan_obj_index(s, (uintptr_t)p) * s->elemsize);
}

/* ---- calloc / realloc -------------------------------------------------------------------- */

GA_NOINLINE static void *calloc_slow(size_t a, size_t b)
{
	size_t n;
	if (__builtin_mul_overflow(a, b, &n) || n > (size_t)PTRDIFF_MAX) {
		errno = ENOMEM;
		return NULL;
	}
	if (n > GA_MAX_SMALL_SIZE) {
		int zeroed = 0;
		void *p = large_alloc(n, 0, 0, &zeroed, 0);
		if (p && !zeroed)
			memset(p, 0, n);
		return p;
	}
	void *p = goalloc_malloc(n);
	if (p)
		memset(p, 0, n);
	return p;
}

/* Zero the first n ≤ 64 bytes of a block of malloc(n)'s class, in 8- or 16-byte stores that may
 * run to the class size (n ≤ 8: the 8-byte class; otherwise classes are multiples of 16). Not a
 * memset call: at these sizes the call costs more than the stores (measured: calloc(1, 32)+free
 * 10.2 -> 6.2 ns; at 200 bytes glibc's memset is faster than a loop). (The empty asm keeps the
 * compiler from turning the loop back into that call.) */
GA_INLINE void zero_small(void *p, size_t n)
{
	uint64_t *w = p;
	if (n <= 8) {
		w[0] = 0;
		return;
	}
	for (uint64_t *end = w + 2 * ((n + 15) / 16); w < end; w += 2) {
		__asm__ volatile("" : : "r"(w));
		w[0] = 0;
		w[1] = 0;
	}
}

/* calloc's fast path: up to 1 KiB, malloc's list pop, and inline zeroing up to 64 bytes. */
GA_EXPORT void *goalloc_calloc(size_t a, size_t b)
{
	size_t n;
	if (GA_UNLIKELY(__builtin_mul_overflow(a, b, &n) || n > GA_SMALL_SIZE_MAX))
		return calloc_slow(a, b);
	uint8_t sc = ga_malloc_sc[n];
	void *p = mcache_pop(mcache_here(), sc);
	if (GA_UNLIKELY(!p))
		return calloc_slow(a, b);
	track_block(p, sc);
	if (n <= 64)
		zero_small(p, n);
	else
		memset(p, 0, n);
	return p;
}

/* Pages that realloc leaves behind in runs of at least this many bytes (a big block it copied
 * elsewhere, or the tail of one it shrank) go back to the OS at once: they read as zero, and cost
 * page faults when next handed out. Below this the faults cost more than the memory is worth: at
 * 256 KiB the strbuild workload (strings grown to ≤ 1 MiB) peaked at 44.9 instead of 57.5 MiB
 * RSS but took 2x the time, with 14 times the page faults. */
#ifndef GA_REALLOC_RELEASE_MIN
#define GA_REALLOC_RELEASE_MIN ((size_t)1 << 20)
#endif
/* Large blocks of at least this many bytes that realloc has to move have their pages moved
 * (mremap) rather than copied; the old range then reads as zero. Measured on strbuild (median
 * of 7, scale 0.2): at 512 KiB peak RSS 47.1 instead of 57.5 MiB in the same time (0.500 vs
 * 0.487 s); at 256 KiB 44.2 MiB but 0.618 s, the moves' system calls and page faults. */
#ifndef GA_REALLOC_MOVE_MIN
#define GA_REALLOC_MOVE_MIN ((size_t)512 << 10)
#endif

/* realloc of a large block to n > 32 KiB bytes without moving it: shrink (giving back the tail
 * when it halves) or grow into free pages that follow it. NULL if it has to move. */
GA_NOINLINE static void *realloc_large_in_place(void *p, struct mspan *s, size_t n)
{
	uint64_t npages = (n + GA_PAGE_SIZE - 1) >> GA_PAGE_SHIFT;
	if (npages > UINT32_MAX)
		return NULL;
	if (npages <= s->npages && npages > s->npages / 2)
		return p;
	struct mcache *c = &ga_mcache;
	if (mcache_busy(c))
		return npages <= s->npages ? p : NULL;
	uintptr_t old = s->elemsize;
	mcache_enter(c);
	int release = npages < s->npages && ((s->npages - npages) << GA_PAGE_SHIFT) >= GA_REALLOC_RELEASE_MIN;
	int ok = mheap_resize_large(s, (uint32_t)npages, release);
	mcache_leave(c);
	if (!ok)
		return NULL;
	stats_count_large_resize(old, s->elemsize);
	ga_track_resize(p, old, s->elemsize);
	return p;
}

/* Move the large block p (span s) to q, a new block at least as large, for realloc, and free p.
 * A block of GA_REALLOC_MOVE_MIN or more has its pages moved rather than copied (ga_os_move):
 * nothing is copied and nothing stays behind. Measured, realloc of a written 256 MiB block to
 * 512 MiB with another block right after it: 1.3 ms and 258 MB RSS after, against 184 ms and
 * 514 MB when copied (glibc, which mremaps its mmapped chunks: 0.9 ms, 257 MB). Otherwise, or
 * where the kernel cannot move them, it is a copy, and p's pages go back to the OS from
 * GA_REALLOC_RELEASE_MIN: left resident, they would wait for a block of their size (doubling a
 * buffer to 2^k bytes would keep 2^k more in RSS). */
GA_NOINLINE static void realloc_move_large(void *p, struct mspan *s, void *q)
{
	struct mcache *c = &ga_mcache;
	int ours = !mcache_busy(c) && atomic_load_explicit(&s->state, memory_order_acquire) == MSPAN_INUSE;
	struct mspan *qs = span_of((uintptr_t)q);
	int moved = ours && s->elemsize >= GA_REALLOC_MOVE_MIN && qs && mspan_is_large(qs) &&
		    (uintptr_t)q == qs->base && qs->elemsize >= s->elemsize && ga_os_move(p, q, s->elemsize);
	if (moved) {
		qs->remapped = 1;
	} else {
		memcpy(q, p, s->elemsize);
		if (!ours || s->elemsize < GA_REALLOC_RELEASE_MIN) {
			goalloc_free(p); /* (and a block already freed is reported there) */
			return;
		}
	}
	ga_track_free(p);
	mcache_enter(c);
	stats_count_large_free(s);
	mheap_free_span_unused(s, moved);
	mcache_leave(c);
}

GA_NOINLINE static void *realloc_unknown(void *p, size_t n)
{
	size_t old = mcache_reentrant_size(p);
	if (old) { /* a block a signal handler got while this thread was inside goalloc */
		void *q = goalloc_malloc(n);
		if (q) {
			memcpy(q, p, old < n ? old : n);
			ga_track_free(p);
			mcache_free_reentrant(p);
		}
		return q;
	}
	if (!arena_of((uintptr_t)p) && is_glibc_chunk(p)) {
		void *(*libc_realloc)(void *, size_t) = (void *(*)(void *, size_t))libc_fn("realloc");
		if (libc_realloc)
			return libc_realloc(p, n);
	}
	bad_pointer("realloc", p);
}

/* realloc of a small block (class size `old`) to a larger n: a new block, the bytes copied, the
 * old one freed. Past 32 KiB the new block is a large one with room to grow (large_alloc). */
GA_NOINLINE static void *realloc_small_move(void *p, size_t old, size_t n)
{
	void *q = n > GA_MAX_SMALL_SIZE ? large_alloc(n, 0, 0, NULL, 1) : goalloc_malloc(n);
	if (!q)
		return NULL;
	memcpy(q, p, old);
	goalloc_free(p);
	return q;
}

/* realloc past its fast path. */
GA_NOINLINE static void *realloc_general(void *p, size_t n)
{
	if (!p)
		return goalloc_malloc(n);
	if (n == 0) { /* glibc: frees and returns NULL, errno unchanged */
		goalloc_free(p);
		return NULL;
	}
	struct mspan *s = span_of((uintptr_t)p);
	if (!s)
		return realloc_unknown(p, n);
	if (n > (size_t)PTRDIFF_MAX) {
		(void)block_usable(p, s, "realloc");
		errno = ENOMEM;
		return NULL;
	}
	size_t old = block_usable(p, s, "realloc");
	if (mspan_is_large(s) && n > GA_MAX_SMALL_SIZE) {
		void *q = realloc_large_in_place(p, s, n);
		if (q)
			return q;
		q = large_alloc(n, 0, 0, NULL, 1);
		if (q)
			realloc_move_large(p, s, q);
		return q;
	}
	if (n <= old)
		return p; /* fits: stay in place (usable bytes are preserved trivially) */
	return realloc_small_move(p, old, n);
}

/* The fast path, for a block of a small class of 16 bytes or more and 1 ≤ n ≤ 32 KiB, found as
 * free() finds it (the page's entry, not the mspan record): it stays where it is if n fits in
 * its class, as a string grown by a few bytes at a time mostly does. Everything else — NULL,
 * n == 0, the 8-byte class, large blocks, foreign pointers — takes realloc_general. */
GA_EXPORT void *goalloc_realloc(void *p, size_t n)
{
	uintptr_t info = page_class_of((uintptr_t)p);
	if (GA_LIKELY((info & 0xff) > GA_SPANCLASS(1, 1) && n - 1 < GA_MAX_SMALL_SIZE)) {
		if (GA_UNLIKELY(!page_slot_start(p, info)))
			bad_pointer("realloc", p);
		size_t old = ga_class_to_size[GA_SPANCLASS_SIZECLASS(info & 0xff)];
		return GA_LIKELY(n <= old) ? p : realloc_small_move(p, old, n);
	}
	return realloc_general(p, n);
}

/* ---- Aligned allocation ------------------------------------------------------------------ */

/* The fast path of aligned allocation, for n ≤ 32 KiB and a power of two `align` up to 8192:
 * one pop from the list of a class whose size is a multiple of align (spans are page aligned
 * and a class's slots keep its size's alignment). Up to 1 KiB that class is malloc's own for n
 * rounded up to a multiple of align: in Go's table the class of such a size is itself a multiple
 * of align (test/api/t_api_align.c checks every size and alignment), which spares the lookup in
 * ga_aligned_class. NULL on a miss, for n == 0, and before start-up (the tables are zero and
 * class 0's list is empty). */
GA_INLINE void *aligned_small_fast(size_t align, size_t n)
{
	size_t r = ((n - 1) | (align - 1)) + 1; /* n rounded up to align; 0 for n == 0 */
	uint8_t sc;
	if (GA_LIKELY(r - 1 < GA_SMALL_SIZE_MAX))
		sc = ga_malloc_sc[r];
	else if (n - 1 >= GA_MAX_SMALL_SIZE || align > GA_PAGE_SIZE) /* (n == 0 wraps around) */
		return NULL;
	else
		sc = GA_SPANCLASS(ga_aligned_class[__builtin_ctzll(align)][GA_SPANCLASS_SIZECLASS(ga_malloc_spanclass(n))], 0);
	void *p = mcache_pop(mcache_here(), sc);
	if (p)
		track_block(p, sc);
	return p;
}

/* n bytes aligned to `align` (a power of two), past the fast path: every other case. */
GA_NOINLINE static void *aligned_alloc_slow(size_t align, size_t n)
{
	if (n > (size_t)PTRDIFF_MAX || align > ((size_t)1 << 40)) {
		errno = ENOMEM;
		return NULL;
	}
	if (align <= 8)
		return goalloc_malloc(n);
	if (align == 16)
		return goalloc_malloc(n < 9 ? 9 : n);
	if (n <= GA_MAX_SMALL_SIZE && align <= GA_PAGE_SIZE) {
		ga_ensure_init();
		unsigned c = GA_SPANCLASS_SIZECLASS(ga_malloc_spanclass(n ? n : 1));
		c = ga_aligned_class[__builtin_ctzll(align)][c];
		if (c) {
			return small_alloc_slow(n, GA_SPANCLASS(c, 0));
		}
	}
	return large_alloc(n ? n : 1, align, 0, NULL, 0);
}

/* n bytes aligned to `align` (a power of two). */
static void *aligned_alloc_pow2(size_t align, size_t n)
{
	void *p = aligned_small_fast(align, n);
	return GA_LIKELY(p) ? p : aligned_alloc_slow(align, n);
}

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

GA_NOINLINE static int posix_memalign_slow(void **out, size_t align, size_t n)
{
	int saved = errno;
	void *p = aligned_alloc_slow(align, n);
	if (!p) {
		errno = saved;
		return ENOMEM;
	}
	*out = p;
	return 0;
}

GA_EXPORT void *goalloc_aligned_alloc(size_t align, size_t n)
{
	/* glibc 2.36 accepts any alignment and rounds it up to a power of two. */
	size_t a = pow2_at_least(align ? align : 1);
	if (!a) {
		errno = ENOMEM;
		return NULL;
	}
	return aligned_alloc_pow2(a, n);
}

#ifndef GOALLOC_NO_LIBC_NAMES
/* operator new(n, align_val_t) past its fast path: any size, alignment or empty list. */
GA_NOINLINE static void *new_aligned_slow(size_t n, size_t align)
{
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
	if (n > GA_MAX_SMALL_SIZE)
		return n > (size_t)PTRDIFF_MAX ? (errno = ENOMEM, NULL) : large_alloc(n, 0, 1, NULL, 0);
	ga_ensure_init();
	return small_alloc_slow(n, ga_malloc_spanclass(n ? n : 1) | 1);
}

GA_EXPORT void *goalloc_valloc(size_t n)
{
	return aligned_alloc_pow2(4096, n);
}

GA_EXPORT void *goalloc_pvalloc(size_t n)
{
	if (n > (size_t)PTRDIFF_MAX) {
		errno = ENOMEM;
		return NULL;
	}
	return aligned_alloc_pow2(4096, n ? ga_align_up(n, 4096) : 4096);
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
	return goalloc_realloc(p, n);
}

void free_sized(void *p, size_t n) GA_EXPORT;
void free_sized(void *p, size_t n)
{
	(void)n; /* the span knows the size; the caller's is not trusted */
	goalloc_free(p);
}

void free_aligned_sized(void *p, size_t align, size_t n) GA_EXPORT;
void free_aligned_sized(void *p, size_t align, size_t n)
{
	(void)align;
	(void)n;
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
	stats_collect(out);
	return 0;
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
	ga_ensure_init();
	struct mcache *c = &ga_mcache;
	if (!mcache_busy(c)) { /* this thread's cached big blocks first, so that their pages go back too */
		mcache_enter(c);
		mcache_large_drain(c);
		mcache_leave(c);
	}
	return mheap_release_free() > 0;
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
