/* malloc.c — allocation and free policy past the fast paths (Go: malloc.go). See malloc.h for
 * the overview and for why the fast paths are inline there. Every function here is a slow case
 * of one of them, kept out of line (GA_NOINLINE) so that the fast paths stay short.
 */
#include "malloc.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "fmt.h"
#include "mgcscavenge.h"
#include "mheap.h"
#include "os.h"
#include "stats.h"

GA_NOINLINE void ga_bad_pointer(const char *fn, void *p)
{
	ga_fatal("%s(): invalid pointer %p", fn, p);
}

/* ---- Allocation ------------------------------------------------------------------------- */

/* A large object: a span of its own (or, from a signal handler that interrupted goalloc, a
 * mapping of its own). First a span this thread freed: of up to a quarter more pages — or, for a
 * block that realloc is growing (`growing`), of any size, so that the pages cut off its tail lie
 * free right after the block and the growth that follows happens in place. *zeroed (if asked):
 * whether the block reads as zero. */
static void *large_alloc(size_t n, size_t align, uint8_t spanclass, int *zeroed, int growing)
{
	ga_ensure_init();
	if (n > (size_t)PTRDIFF_MAX - GA_PAGE_SIZE) {
		errno = ENOMEM;
		return NULL;
	}
	size_t asked = n;
	n += ga_size_pad; /* (the GC modes' padding: mgc.h) */
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
	gc_note_alloc((void *)s->base, asked);
	gc_poll((void *)s->base);
	return (void *)s->base;
}

GA_NOINLINE void *malloc_small_slow(size_t n, uint8_t sc)
{
	GC_NOTE_SITE(); /* (tail-called by the entry points: the program's call) */
	ga_ensure_init();
	if (!sc) {
		if (GA_UNLIKELY(n + ga_size_pad > GA_MAX_SMALL_SIZE)) /* (32 KiB, padded: mgc.h) */
			return large_alloc(n, 0, 0, NULL, 0);
		sc = ga_malloc_spanclass(n ? n : 1);
	}
	void *p = mcache_alloc(&ga_mcache, sc, n);
	if (!p) {
		errno = ENOMEM;
		return NULL;
	}
	track_block(p, sc);
	gc_note_alloc(p, n);
	gc_poll(p);
	return p;
}

/* malloc(n) for n > 32 KiB past its fast path (in malloc_medium). */
GA_NOINLINE static void *malloc_large(size_t n)
{
	GC_NOTE_SITE(); /* (tail-called by the entry points: the program's call) */
	if (n > (size_t)PTRDIFF_MAX) {
		errno = ENOMEM;
		return NULL;
	}
	return large_alloc(n, 0, 0, NULL, 0);
}

/* (only ga_malloc calls it) Past 32 KiB: first the span this thread freed last, if it has the
 * same number of pages. */
GA_NOINLINE void *malloc_medium(size_t n)
{
	if (n > GA_MAX_SMALL_SIZE) {
		struct mcache *c = &ga_mcache;
		/* (ga_large_fast_max: PTRDIFF_MAX, or 0 in the collector's modes, where every block
		 * takes the slow path that pads it and, in report mode, records it) */
		if (GA_UNLIKELY(n > ga_large_fast_max || c->busy))
			return malloc_large(n);
		mcache_fast_enter(c);
		struct mspan *s = mcache_large_pop_exact(c, (uint32_t)((n + GA_PAGE_SIZE - 1) >> GA_PAGE_SHIFT));
		mcache_fast_leave(c);
		if (GA_UNLIKELY(!s))
			return malloc_large(n);
		ga_track_malloc((void *)s->base, s->elemsize, 0);
		return (void *)s->base;
	}
	/* 1 KiB < n ≤ 32 KiB (ga_malloc took the rest): the 128-byte-step table, whose copy is all 0 in
	 * the collector's modes (malloc_small_slow then finds the class of n + 1) */
	uint8_t sc = ga_malloc_sc_medium[(n - GA_SMALL_SIZE_MAX + 127) >> 7];
	void *p = next_free_fast(sc);
	if (GA_UNLIKELY(!p))
		return malloc_small_slow(n, sc);
	return p;
}

/* Past 32 KiB a span that has never held data (or a fresh mapping) is not written again. */
GA_NOINLINE void *malloc_zeroed(size_t n)
{
	GC_NOTE_SITE(); /* (tail-called by the entry points: the program's call) */
	if (n + ga_size_pad > GA_MAX_SMALL_SIZE) {
		int zeroed = 0;
		void *p = large_alloc(n, 0, 0, &zeroed, 0);
		if (p && !zeroed)
			memset(p, 0, n);
		return p;
	}
	void *p = ga_malloc(n);
	if (p)
		memset(p, 0, n);
	return p;
}

/* Alignments up to 16 are malloc's own; up to a page, the smallest class whose size is a
 * multiple of align (ga_aligned_class); beyond, or when no class is, a large span placed at a
 * multiple of align. */
GA_NOINLINE void *malloc_aligned_slow(size_t align, size_t n)
{
	GC_NOTE_SITE(); /* (tail-called by the entry points: the program's call) */
	if (n > (size_t)PTRDIFF_MAX || align > GA_MAX_ALIGN) {
		errno = ENOMEM;
		return NULL;
	}
	if (align <= 8)
		return ga_malloc(n);
	if (align == 16)
		return ga_malloc(n < 9 ? 9 : n);
	if (n + ga_size_pad <= GA_MAX_SMALL_SIZE && align <= GA_PAGE_SIZE) {
		ga_ensure_init();
		unsigned c = GA_SPANCLASS_SIZECLASS(ga_malloc_spanclass(n ? n : 1));
		c = ga_aligned_class[__builtin_ctzll(align)][c];
		if (c)
			return malloc_small_slow(n, GA_SPANCLASS(c, 0));
	}
	return large_alloc(n ? n : 1, align, 0, NULL, 0);
}

GA_NOINLINE void *malloc_noscan(size_t n)
{
	GC_NOTE_SITE(); /* (tail-called by the entry points: the program's call) */
	if (n + ga_size_pad > GA_MAX_SMALL_SIZE)
		return n > (size_t)PTRDIFF_MAX ? (errno = ENOMEM, NULL) : large_alloc(n, 0, 1, NULL, 0);
	ga_ensure_init();
	return malloc_small_slow(n, ga_malloc_spanclass(n ? n : 1) | 1);
}

/* ---- Free --------------------------------------------------------------------------------- */

/* A pointer in no in-use span: a block a signal handler got while its thread was inside
 * goalloc, another allocator's block (the entry layer's hook), or an invalid pointer. */
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
		ga_bad_pointer("free", p);
	}
	if (ga_foreign_free && ga_foreign_free(p))
		return;
	ga_bad_pointer("free", p);
}

GA_NOINLINE __attribute__((noreturn)) static void free_large_bad(void *p, struct mspan *s)
{
	if ((uintptr_t)p != s->base)
		ga_bad_pointer("free", p);
	ga_double_free(p);
}

/* A freed large span the thread's stack of cached spans did not take at once. */
GA_NOINLINE static void free_large_keep(struct mcache *c, struct mspan *s)
{
	mcache_enter(c);
	mcache_large_free(c, s);
	mcache_leave(c);
	scavenge_poll();
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

/* A small block the fast path did not take (r: mcache_push's answer): re-entry or a suspected
 * double free, a list over its bound, or a block of another owner's span — gathered for its owner
 * by mcache_free_remote unless that needs the general path. info: its page's entry. */
GA_NOINLINE void free_small_slow(void *p, uintptr_t info, int r)
{
	if (r == MCACHE_PUSH_REMOTE && mcache_free_remote(&ga_mcache, p, info))
		return;
	mcache_free_slow(&ga_mcache, r == MCACHE_PUSH_FLUSH ? NULL : p, span_of((uintptr_t)p));
}

/* A block of the 8-byte class (too small for the double-free key). Its own function, without a
 * stack frame: the large path's calls would give free_other one. */
GA_NOINLINE void free_tiny(void *p, uintptr_t info)
{
	free_small(p, info, 0);
}

/* A pointer in arena a whose page's entry is 0 or 1: a large block, or a free page. */
GA_NOINLINE void free_other(void *p, struct heap_arena *a)
{
	struct mspan *s = arena_page_span(a, (uintptr_t)p);
	if (!s)
		return free_unknown(p);
	free_large(p, s);
}

/* A pointer in no arena: NULL (address 0 is in none), or a foreign pointer. */
GA_NOINLINE void free_outside(void *p)
{
	if (p)
		free_unknown(p);
}

/* ---- Sizes ------------------------------------------------------------------------------ */

/* Usable bytes of the block p in span s, checked to be one (fn names the caller for the error
 * message). */
static size_t block_usable(void *p, struct mspan *s, const char *fn)
{
	if (mspan_is_large(s)) {
		if ((uintptr_t)p != s->base)
			ga_bad_pointer(fn, p);
		return s->elemsize;
	}
	if (!mspan_is_slot_start(s, (uintptr_t)p))
		ga_bad_pointer(fn, p);
	return s->elemsize;
}

size_t block_usable_size(void *p)
{
	if (!p)
		return 0;
	struct mspan *s = span_of((uintptr_t)p);
	if (!s)
		return mcache_reentrant_size(p);
	/* (p may be outside the 48-bit space and only alias this span's page, or, in a small span,
	 * lie in the waste before the first slot) */
	uintptr_t off = (uintptr_t)p - s->objbase;
	if (off >= s->limit - s->objbase)
		return 0;
	size_t r;
	if (mspan_is_large(s))
		r = s->elemsize - off;
	else
		r = s->elemsize - (off - mspan_obj_index(s, (uintptr_t)p) * s->elemsize);
	return r > ga_size_pad ? r - ga_size_pad : r; /* (the GC modes' padding byte is not the program's: mgc.h) */
}

/* ---- realloc ---------------------------------------------------------------------------- */

/* The thresholds at which realloc gives pages back or moves them (GA_REALLOC_RELEASE_MIN,
 * GA_REALLOC_MOVE_MIN, GA_REALLOC_SHRINK_DIV) are in tunables.h. */

/* realloc of a large block to n > 32 KiB bytes without moving it: shrink (giving back the tail
 * when it halves) or grow into free pages that follow it. NULL if it has to move. */
GA_NOINLINE static void *realloc_large_in_place(void *p, struct mspan *s, size_t n)
{
	uint64_t npages = (n + ga_size_pad + GA_PAGE_SIZE - 1) >> GA_PAGE_SHIFT;
	if (npages > UINT32_MAX)
		return NULL;
	if (npages <= s->npages && npages > s->npages / GA_REALLOC_SHRINK_DIV)
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
 * nothing is copied and nothing stays behind; q's span is then marked remapped (mheap.h says
 * what that asks of whoever cuts it later). Otherwise, or where the kernel cannot move them, it
 * is a copy, and p's pages go back to the OS from GA_REALLOC_RELEASE_MIN: left resident, they
 * would wait for a block of their size (doubling a buffer to 2^k bytes would keep 2^k more in
 * RSS). */
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
			ga_free(p); /* (and a block already freed is reported there) */
			return;
		}
	}
	ga_track_free(p);
	mcache_enter(c);
	stats_count_large_free(s);
	mheap_free_span_unused(s, moved);
	mcache_leave(c);
}

/* A block a signal handler got while this thread was inside goalloc: copied to an ordinary one. */
GA_NOINLINE static void *realloc_reentrant(void *p, size_t old, size_t n)
{
	void *q = ga_malloc(n);
	if (q) {
		memcpy(q, p, old < n ? old : n);
		ga_track_free(p);
		mcache_free_reentrant(p);
	}
	return q;
}

/* Past 32 KiB the new block is a large one with room to grow (large_alloc). */
GA_NOINLINE void *realloc_small_move(void *p, size_t old, size_t n)
{
	GC_NOTE_SITE(); /* (tail-called by the entry points: the program's call) */
	void *q = n + ga_size_pad > GA_MAX_SMALL_SIZE ? large_alloc(n, 0, 0, NULL, 1) : ga_malloc(n);
	if (!q)
		return NULL;
	memcpy(q, p, old < n ? old : n); /* (n < old: report mode moves every realloc, mgc.h) */
	ga_free(p);
	return q;
}

/* A large block to a large size: in place if it can, else a new block grown into (moved or
 * copied). Any block to a size it holds: unchanged. Otherwise a new block. */
GA_NOINLINE void *realloc_block(void *p, size_t n)
{
	GC_NOTE_SITE(); /* (tail-called by the entry points: the program's call) */
	struct mspan *s = span_of((uintptr_t)p);
	if (!s) {
		size_t old = mcache_reentrant_size(p);
		if (!old)
			ga_bad_pointer("realloc", p);
		return realloc_reentrant(p, old, n);
	}
	size_t old = block_usable(p, s, "realloc");
	if (n > (size_t)PTRDIFF_MAX) {
		errno = ENOMEM;
		return NULL;
	}
	if (mspan_is_large(s) && n + ga_size_pad > GA_MAX_SMALL_SIZE) {
		void *q = realloc_large_in_place(p, s, n);
		if (q) {
			gc_note_alloc(q, n); /* (report mode: its new size and site) */
			return q;
		}
		q = large_alloc(n, 0, 0, NULL, 1);
		if (q)
			realloc_move_large(p, s, q);
		return q;
	}
	if (n + ga_realloc_slack <= old)
		return p; /* fits: stay in place (usable bytes are preserved trivially) */
	return realloc_small_move(p, old, n);
}

/* ---- Trim ------------------------------------------------------------------------------- */

int heap_trim(void)
{
	ga_ensure_init();
	struct mcache *c = &ga_mcache;
	if (!mcache_busy(c)) { /* this thread's cached big blocks first, so that their pages go back too */
		mcache_enter(c);
		mcache_large_drain(c);
		mcache_leave(c);
	}
	return scavenge_all() > 0;
}
