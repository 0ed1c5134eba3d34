/* mspan.h — a run of pages cut into equal slots of one size class, or one large object.
 * (Go: runtime/mheap.go `mspan`, runtime/mbitmap.go nextFreeIndex/refillAllocCache.)
 *
 * Allocation truth. A slot is allocated iff
 *     (allocBits[i] == 1  ||  (span is cached by an mcache  &&  i < freeindex))
 *     &&  freedBits[i] == 0
 * As in Go, the mcache that caches a span hands out slots from allocCache without writing
 * allocBits (slots below freeindex are implicitly allocated). Frees that reach a cached span
 * are recorded in freedBits; when the mcache lets the span go (mcentral_uncache_span) the two
 * are merged back into allocBits, which is then exact, and allocCount = popcount(allocBits).
 * Blocks sitting in a thread's free list (mcache) count as allocated here: the span does not
 * know about them until the list is flushed.
 */
#ifndef GA_MSPAN_H
#define GA_MSPAN_H
#include "ga.h"

/* DEAD: the record is free. INUSE: the span's pages carry blocks. CACHED: a large span whose
 * block was freed, kept by a thread's mcache for the next large malloc (its pages still map to it,
 * so a second free of the block is recognised). */
/* Report mode (mgc.h): where the block in a slot was allocated. Written by the allocating thread,
 * read by the collector. */
struct gc_site {
	uintptr_t pc;   /* the return address of its malloc call; 0 unknown */
	uint32_t size;  /* requested bytes, saturated */
	uint32_t stack; /* a sampled full stack (gcsite.h), 0 none */
};

enum { MSPAN_DEAD = 0, MSPAN_INUSE = 1, MSPAN_CACHED = 2 };
enum { MSPAN_LIST_NONE = 0, MSPAN_LIST_PARTIAL = 1, MSPAN_LIST_FULL = 2 };

/* Slot layout. The nelems slots end where the span ends; the span's waste (npages*8192 −
 * nelems*elemsize, less than one slot) is at its start:
 *     base            objbase                                   limit = base + npages*8192
 *     | waste (< size) | slot 0 | slot 1 | ...  | slot nelems−1 |
 * (Go puts slots at base and the waste at the end.) So an address inside the span is a slot start
 * iff it is congruent to objbase modulo elemsize: no multiple of elemsize falls in the waste,
 * and free() checks a pointer with one multiply and no bound (see heap_arena.pageClass).
 * Waste is a multiple of the largest power of two dividing elemsize, so slots keep the alignment
 * a size class promises. */
struct mspan {
	uintptr_t base;    /* first byte; 8 KiB aligned */
	uintptr_t objbase; /* slot 0: base + waste; base for a large span */
	uintptr_t limit;   /* end of slot data: base + npages*8192 */
	uintptr_t elemsize;/* class size; for a large span (class 0), npages*8192 */
	struct mspan *next, *prev; /* mcentral list links; under that mcentral's lock */
	uint64_t divides;  /* ceil(2^64/elemsize): off is a multiple of elemsize iff off*divides < divides
			      (mod 2^64), for every 32-bit off (Lemire, Kaser, Kurz 2019) */
	uint32_t npages;
	uint32_t divmagic; /* ceil(2^32/elemsize): (off*divmagic)>>32 == off/elemsize for off ≤ span bytes */
	uint16_t nelems;   /* slots; 1 for a large span */
	/* Owned by the caching mcache's thread while incache (written without a lock; others may
	 * read freeindex, relaxed, to classify a free). Under the mcentral lock otherwise. */
	_Atomic uint16_t freeindex; /* slots < freeindex are taken; search resumes here */
	uint64_t allocCache;        /* ~allocBits shifted so bit 0 is slot freeindex (1 = free) */
	/* Under the mcentral lock. */
	uint16_t allocCount; /* popcount(allocBits); exact only while !incache */
	uint8_t incache;     /* 1 while an mcache's alloc[] holds the span */
	uint8_t list;        /* MSPAN_LIST_* */
	uint8_t spanclass;   /* sizeclass<<1 | noscan; 0/1 = large */
	uint8_t needzero;    /* slots may hold old data (a fresh span from never-used pages is zero) */
	uint8_t nwords;      /* 64-bit words per bitmap: ceil(nelems/64) */
	_Atomic uint8_t state; /* MSPAN_*; published last with a release store */
	/* Large spans: pages were moved here by mremap (ga_os_move), so the kernel keeps them in a
	 * mapping of their own; its address range is mapped afresh when the pages go back to the
	 * heap (mheap), which lets the kernel merge it into the arena's mapping again. */
	uint8_t remapped;
	uint64_t *allocBits; /* → bits[0 .. nwords) */
	uint64_t *freedBits; /* → bits[nwords .. 2 nwords): frees that arrived while cached */
	uint64_t *gcmarkBits;/* → bits[2 nwords .. 3 nwords): the collector's marks */
	/* Report mode: one record per slot, from the collector's pool (gc_record_alloc installs it
	 * with a compare-and-swap; it goes back with the span: gc_span_freed). NULL otherwise. */
	struct gc_site *gcsites;
	uint64_t bits[];
};

GA_INLINE int mspan_is_large(const struct mspan *s)
{
	return s->spanclass < 2;
}

/* Slot index of address p inside s (objbase ≤ p < limit). */
GA_INLINE uintptr_t mspan_obj_index(const struct mspan *s, uintptr_t p)
{
	return (uintptr_t)(((uint64_t)(p - s->objbase) * s->divmagic) >> 32);
}

/* Is p the start of a slot of small span s? Callers get s from span_of(p), so p is in s's pages
 * (possibly in the waste before objbase), or (p beyond 2^48, index wrapped) anywhere: the
 * bound check rejects both. */
GA_INLINE int mspan_is_slot_start(const struct mspan *s, uintptr_t p)
{
	uint64_t off = p - s->objbase;
	return off < s->limit - s->objbase && off * s->divides < s->divides;
}

/* (page − objbase) mod elemsize, for a page of small span s (heap_arena.pageClass). Adding
 * elemsize keeps the difference positive: objbase − page ≤ waste < elemsize. */
GA_INLINE uint32_t mspan_page_phase(const struct mspan *s, uintptr_t page)
{
	return (uint32_t)((page + s->elemsize - s->objbase) % s->elemsize);
}

/* Prime allocCache for the window of 64 slots that holds freeindex. */
GA_INLINE void mspan_refill_alloc_cache(struct mspan *s, unsigned fi)
{
	uint64_t w = s->allocBits[fi / 64];
	s->allocCache = ~w >> (fi % 64);
}

/* Go's nextFreeFast: the next free slot from allocCache, or 0 when the window is exhausted. */
GA_INLINE void *mspan_next_free_fast(struct mspan *s)
{
	uint64_t cache = s->allocCache;
	if (GA_UNLIKELY(cache == 0))
		return 0;
	unsigned tz = (unsigned)__builtin_ctzll(cache);
	unsigned fi = atomic_load_explicit(&s->freeindex, memory_order_relaxed);
	unsigned idx = fi + tz;
	if (GA_UNLIKELY(idx >= s->nelems))
		return 0;
	unsigned nxt = idx + 1;
	if (GA_UNLIKELY(nxt % 64 == 0 && nxt != s->nelems))
		return 0; /* window exhausted: the slow path refills it */
	s->allocCache = (cache >> tz) >> 1;
	atomic_store_explicit(&s->freeindex, (uint16_t)nxt, memory_order_relaxed);
	return (void *)(s->objbase + (uintptr_t)idx * s->elemsize);
}

/* Go's nextFreeIndex: next free slot index, refilling the window; nelems when full. */
GA_HIDDEN unsigned mspan_next_free_index(struct mspan *s);
/* Set up a span fresh from the heap for size class `spanclass` (small or large). */
GA_HIDDEN void mspan_init(struct mspan *s, uintptr_t base, uint32_t npages, uint8_t spanclass);
/* Bytes an mspan record needs for a span with nelems slots. */
GA_HIDDEN size_t mspan_record_size(unsigned nwords);
GA_HIDDEN unsigned mspan_nwords_for_class(unsigned spanclass);
/* Merge the cached view (freeindex, freedBits) back into allocBits; recount. */
GA_HIDDEN void mspan_settle(struct mspan *s);
GA_HIDDEN unsigned mspan_popcount_alloc(const struct mspan *s);
/* Verifiers (check.h). mspan_check_layout: the fields fixed while the span is in use — state, slot
 * layout against its class, the bitmap pointers — and the arena's page entries (spans[] and
 * pageClass) of each of its pages; safe on a span another thread caches (the mheap lock keeps a
 * large span's size still). mspan_check: that, and the bitmaps — exact (allocCount, no freed
 * bits) for an uncached span under its mcentral lock, or for a span this thread caches freeindex
 * and allocCache against allocBits, freed bits only on allocated slots. */
GA_HIDDEN void mspan_check_layout(const struct mspan *s);
GA_HIDDEN void mspan_check(const struct mspan *s);
#endif
