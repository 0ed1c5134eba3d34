/* malloc.h — allocation and free policy (Go: malloc.go): what serves a request of each size and
 * alignment, what free does with each kind of block, what realloc keeps, moves or gives back.
 * The fast paths are here as always-inline functions; every other case is in malloc.c.
 *
 *   ga_malloc(n) → size → span class (C alignment folded in) → this thread's mcache free list
 *                  (next_free_fast) → on a miss, a batch from the mcentral's transfer cache, else
 *                  the cached span's allocCache/ctz, else a span from the mcentral, else the
 *                  mheap; > 32 KiB: a span of its own (the thread's last freed one if it fits).
 *   ga_free(p)   → arena index → the page's span class and place in its span → slot check by one
 *                  multiply → mcache free list.
 *
 * Why inline functions in a header, and the exported functions in preload/: preload/ gives each
 * fast path several names (malloc, __libc_malloc, goalloc_malloc; free and the twelve C++
 * deletes), and a symbol alias must name a function defined in the same translation unit. Were
 * goalloc_malloc defined here, the libc names would have to be here too; as it is, preload/
 * defines goalloc_malloc as ga_malloc inlined (the same instructions as before this split) and
 * aliases it, and core holds no symbol named after the C library's malloc family.
 *
 * Errors: core's functions return NULL with errno ENOMEM when a request cannot be served (no
 * memory, or a size no span can have); the C library's other rules (EINVAL, realloc(p, 0),
 * calloc overflow, glibc's own blocks) are preload/'s. A pointer that is no block of goalloc's
 * ends the program here (ga_bad_pointer, ga_double_free).
 */
#ifndef GA_MALLOC_H
#define GA_MALLOC_H
#include <string.h>

#include "arena.h"
#include "ga.h"
#include "init.h"
#include "malloc_class.h"
#include "mcache.h"
#include "mgc.h"
#include "mspan.h"
#include "track.h"
#include "tunables.h"

/* The largest alignment served (larger ones get NULL and ENOMEM): 1 GiB, the largest page size
 * of x86-64 and so the largest alignment hardware gives a reason to ask for. A span placed at a
 * multiple of a larger one may need new arenas up to that alignment away: that much address
 * space, and an arena record per 64 MiB of it. (glibc fails such requests too, once the
 * alignment exceeds what the kernel lets it map at once: README, What it guarantees.) */
#define GA_MAX_ALIGN ((size_t)1 << 30)

/* ---- Slow paths (malloc.c) -------------------------------------------------------------- */

/* "fn(): invalid pointer p", then abort. */
GA_HIDDEN __attribute__((noreturn)) void ga_bad_pointer(const char *fn, void *p);
/* Small block of span class sc (0: the class of malloc(n)) by any path: list, transfer cache,
 * span, mcentral. */
GA_HIDDEN void *malloc_small_slow(size_t n, uint8_t sc);
/* malloc(n), n > 1 KiB, past ga_malloc's table: the 128-byte-step classes, or a large span. */
GA_HIDDEN void *malloc_medium(size_t n);
/* n zeroed bytes, n ≤ PTRDIFF_MAX (calloc past its fast path). */
GA_HIDDEN void *malloc_zeroed(size_t n);
/* n bytes aligned to `align`, a power of two, past aligned_small_fast. */
GA_HIDDEN void *malloc_aligned_slow(size_t align, size_t n);
/* n bytes from the noscan classes (goalloc_malloc_atomic). */
GA_HIDDEN void *malloc_noscan(size_t n);
/* free() past its fast path: the 8-byte class (which no malloc request reaches: init.c); a large
 * block or a free page; no arena. */
GA_HIDDEN void free_tiny(void *p, uintptr_t info);
GA_HIDDEN void free_other(void *p, struct heap_arena *a);
GA_HIDDEN void free_outside(void *p);
GA_HIDDEN void free_small_slow(void *p, uintptr_t info, int r);
/* realloc of p (a block of goalloc's, or one a signal handler got) to n ≥ 1 bytes, past the
 * fast path. */
GA_HIDDEN void *realloc_block(void *p, size_t n);
/* realloc of a small block (class size `old`) to a larger n: moved. */
GA_HIDDEN void *realloc_small_move(void *p, size_t old, size_t n);
/* Usable bytes from p to the end of its block; 0 if p is in no block of goalloc's. */
GA_HIDDEN size_t block_usable_size(void *p);
/* Give back to the OS what the heap and this thread's cached large blocks hold free; whether
 * anything went back (malloc_trim). */
GA_HIDDEN int heap_trim(void);

/* The entry layer's hook for pointers of another allocator (preload/foreign.c: glibc's own
 * malloc, reached from a library opened with RTLD_DEEPBIND). free() of a pointer in no arena
 * asks it before calling the pointer invalid: 1 if it took the pointer. Weak: the unit tests,
 * which link the core alone, have none. */
GA_HIDDEN int ga_foreign_free(void *p) __attribute__((weak));

/* ---- Fast paths ---------------------------------------------------------------------------- */

/* Announce a new small block to memcheck (valgrind flavour only): its class size, or for a block
 * a signal handler got while its thread was inside goalloc, that block's own size. */
GA_INLINE void track_block(void *p, uint8_t sc)
{
#ifdef GOALLOC_VALGRIND
	size_t n = span_of((uintptr_t)p) ? ga_class_to_size[GA_SPANCLASS_SIZECLASS(sc)] : mcache_reentrant_size(p);
	ga_track_malloc(p, n, 0);
#else
	(void)p;
	(void)sc;
#endif
}

/* The one shape of every small allocation's fast path (Go: nextFreeFast): a pop from this
 * thread's list of span class sc; NULL on a miss, which the caller sends to its slow path as a
 * tail call. */
GA_INLINE void *next_free_fast(uint8_t sc)
{
	void *p = mcache_pop_as(mcache_here(), sc, 1); /* (every class it is given carries the key) */
	if (GA_LIKELY(p))
		track_block(p, sc);
	return p;
}

/* malloc(n): size → span class by table, then one pop from this thread's list (its instruction
 * count, and what each part costs, beside the fast paths in mcache.h). */
GA_INLINE void *ga_malloc(size_t n)
{
	if (GA_UNLIKELY(n > GA_SMALL_SIZE_MAX))
		return malloc_medium(n);
	void *p = next_free_fast(ga_malloc_sc[n]);
	if (GA_UNLIKELY(!p))
		return malloc_small_slow(n, 0); /* (0: it finds sc again, so sc need not be kept here) */
	return p;
}

/* Zero the first n ≤ GA_CALLOC_INLINE_MAX bytes of a block of malloc(n)'s class, in 8- or
 * 16-byte stores that may run to the class size (n ≤ 8: the 8-byte class; otherwise classes are
 * multiples of 16). Not a memset call: at these sizes the call costs more than the stores; at a few hundred bytes
 * glibc's memset is faster than a loop. (The empty asm keeps the compiler from turning the loop
 * back into that call.) */
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

/* n zeroed bytes, n ≤ 1 KiB: malloc's list pop, and inline zeroing up to 64 bytes. A block from
 * the list has held data; one from a fresh span is zeroed all the same (the check would cost
 * more than the stores at these sizes). */
GA_INLINE void *ga_calloc_small(size_t n)
{
	void *p = next_free_fast(ga_malloc_sc[n]);
	if (GA_UNLIKELY(!p))
		return malloc_zeroed(n);
	if (n <= GA_CALLOC_INLINE_MAX)
		zero_small(p, n);
	else
		memset(p, 0, n);
	return p;
}

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
		sc = ga_aligned_sc[r];
	else if (n - 1 >= GA_MAX_SMALL_SIZE || align > GA_PAGE_SIZE || ga_size_pad) /* (n == 0 wraps) */
		return NULL;
	else
		sc = GA_SPANCLASS(ga_aligned_class[__builtin_ctzll(align)][GA_SPANCLASS_SIZECLASS(ga_malloc_spanclass(n))], 0);
	return next_free_fast(sc);
}

/* n bytes aligned to `align` (a power of two). */
GA_INLINE void *ga_malloc_aligned(size_t align, size_t n)
{
	void *p = aligned_small_fast(align, n);
	return GA_LIKELY(p) ? p : malloc_aligned_slow(align, n);
}

/* Is p, in a small span whose page entry is info, the start of a slot? It is iff its offset in
 * the page plus the page's phase is a multiple of the class size (see the slot layout in
 * core/mspan.h; the sum is below 2^16): one multiply. The mspan record is not read. */
GA_INLINE int page_slot_start(const void *p, uintptr_t info)
{
	uint64_t x = ((uintptr_t)p & (GA_PAGE_SIZE - 1)) + page_entry_phase(info);
	uint64_t divides = ga_slot_divides[page_entry_spanclass(info)];
	return x * divides < divides;
}

/* free() of p in a small span, info being its page's entry: the slot check, then one push on
 * this thread's list. keyed: the class holds the double-free key (all but the 8-byte class). */
GA_INLINE void free_small(void *p, uintptr_t info, int keyed)
{
	uintptr_t sc = page_entry_spanclass(info);
	if (GA_UNLIKELY(!page_slot_start(p, info)))
		ga_bad_pointer("free", p);
	ga_track_free(p); /* (valgrind flavour: before goalloc writes its words into the block) */
	int r = mcache_push(mcache_here(), p, sc, keyed, page_entry_owner(info));
	if (GA_UNLIKELY(r != MCACHE_PUSHED))
		return free_small_slow(p, info, r);
}

/* free(p): arena index → the page's class and phase → slot check → one push on this thread's
 * list. The mspan record itself is not read (instruction counts beside the fast paths in
 * mcache.h). */
GA_INLINE void ga_free(void *p)
{
	struct heap_arena *a = arena_of((uintptr_t)p);
	if (GA_UNLIKELY(!a))
		return free_outside(p);
	uintptr_t info = arena_page_class(a, (uintptr_t)p);
	uintptr_t sc = page_entry_spanclass(info);
	if (GA_UNLIKELY(sc <= 3)) /* the 8-byte class, or a large span or free page */
		return sc >= GA_SPANCLASS(1, 0) ? free_tiny(p, info) : free_other(p, a);
	free_small(p, info, 1);
}

/* realloc of a block of a small class of 16 bytes or more (info: its page's entry) to 1 ≤ n ≤
 * 32 KiB: it stays where it is if n fits in its class, as a string grown by a few bytes at a
 * time mostly does. */
GA_INLINE void *realloc_small(void *p, uintptr_t info, size_t n)
{
	if (GA_UNLIKELY(!page_slot_start(p, info)))
		ga_bad_pointer("realloc", p);
	size_t old = ga_class_to_size[GA_SPANCLASS_SIZECLASS(page_entry_spanclass(info))];
	return GA_LIKELY(n + ga_realloc_slack <= old) ? p : realloc_small_move(p, old, n);
}
#endif
