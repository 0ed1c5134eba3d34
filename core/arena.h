/* arena.h — heap arenas and the address → arena → span index (Go: heapArena, mheap.arenas).
 *
 * The heap is made of 64 MiB arenas reserved with mmap, first at Go's hint address
 * 0x00c000000000 and upward, so heap pointers are recognisable. Each arena's metadata lives
 * outside it (struct heap_arena, from the OS). The index ga_arena_map has one entry per 64 MiB of
 * the 48-bit address space (2^22 entries, 32 MiB of .bss that costs RSS only where touched).
 */
#ifndef GA_ARENA_H
#define GA_ARENA_H
#include "ga.h"
#include "mspan.h"

struct heap_arena {
	/* pageClass[i]: for page i of a small span s, page_entry(s->spanclass, phase), where phase =
	 * (page address − s->objbase) mod s->elemsize (< 2^15), so that an address p in the page is a
	 * slot start iff ((p mod 8192) + phase) is a multiple of elemsize (see the slot layout in
	 * mspan.h). For a large span its spanclass (0 or 1); 0 for a free page. Written with spans[]
	 * under the mheap lock. free() checks a block and finds its class here without touching the
	 * mspan record (tcmalloc's pagemap-of-size-classes idea): one dense array, hot in cache.
	 * First field, so it is indexed from the record's address. */
	_Atomic uint32_t pageClass[GA_PAGES_PER_ARENA];
	/* spans[i]: the in-use mspan that owns page i, or NULL if the page is free. Written under the
	 * mheap lock; read without a lock by free() and the collector (entries of a span that is
	 * being freed are cleared before its record is reused). */
	struct mspan *_Atomic spans[GA_PAGES_PER_ARENA];
	/* Page allocator: bit i = page i belongs to a span. Under the mheap lock. */
	uint64_t pageAlloc[GA_PAGES_PER_ARENA / 64];
	/* Bit i = page i has been handed out at some time (its contents may be non-zero).
	 * Pages never handed out, or returned to the OS with MADV_DONTNEED, read as zero. */
	uint64_t pageDirty[GA_PAGES_PER_ARENA / 64];
	uintptr_t base;      /* first byte of the arena */
	uint32_t freePages;  /* pages with pageAlloc == 0 */
	uint32_t index;      /* base >> GA_ARENA_SHIFT */
};

GA_HIDDEN extern struct heap_arena *_Atomic ga_arena_map[1u << GA_ARENA_L2_BITS];

/* The page entry (heap_arena.pageClass) is encoded and decoded only here: spanclass in bits
 * 0..7, the span's owner in bits 8..16 (PAGE_OWNER_MASK: the id of the thread whose mcache last
 * took the span, or 0; see mowner.h), phase in bits 17..31 (0 for a large span and a free page).
 * The owner bits are a hint for where free() sends a block and change while the span is in use
 * (mheap_set_span_owner); spanclass and phase change only with the span (mheap's set_pages). */
#define PAGE_OWNER_SHIFT 8
#define PAGE_OWNER_BITS 9
#define PAGE_OWNER_MASK (((1u << PAGE_OWNER_BITS) - 1) << PAGE_OWNER_SHIFT)
#define PAGE_PHASE_SHIFT (PAGE_OWNER_SHIFT + PAGE_OWNER_BITS)

GA_INLINE uint32_t page_entry(uint8_t spanclass, uintptr_t phase)
{
	return (uint32_t)spanclass | (uint32_t)phase << PAGE_PHASE_SHIFT;
}

GA_INLINE uintptr_t page_entry_spanclass(uintptr_t info)
{
	return info & 0xff;
}

GA_INLINE uintptr_t page_entry_phase(uintptr_t info)
{
	return info >> PAGE_PHASE_SHIFT;
}

/* The owner field, in place (id << PAGE_OWNER_SHIFT), as mcache.owner_bits holds it. */
GA_INLINE uint32_t page_entry_owner(uintptr_t info)
{
	return (uint32_t)info & PAGE_OWNER_MASK;
}

/* The arena holding p, or NULL. */
GA_INLINE struct heap_arena *arena_of(uintptr_t p)
{
	uintptr_t ai = p >> GA_ARENA_SHIFT;
	if (GA_UNLIKELY(ai >= ((uintptr_t)1 << GA_ARENA_L2_BITS)))
		return NULL;
	return atomic_load_explicit(&ga_arena_map[ai], memory_order_acquire);
}

/* The in-use span that holds p, or NULL (Go: spanOfHeap). For p outside the 48-bit space the
 * index wraps and may name an unrelated span: callers check p against the span (free() does,
 * with mspan_is_slot_start or p == base), which such a p always fails. */
GA_INLINE struct mspan *span_of(uintptr_t p)
{
	struct heap_arena *a = atomic_load_explicit(
		&ga_arena_map[(p >> GA_ARENA_SHIFT) & ((1u << GA_ARENA_L2_BITS) - 1)], memory_order_acquire);
	if (GA_UNLIKELY(!a))
		return NULL;
	return atomic_load_explicit(&a->spans[(p >> GA_PAGE_SHIFT) & (GA_PAGES_PER_ARENA - 1)],
				    memory_order_acquire);
}

/* pageClass entry and span of the page holding p, p in arena a. */
GA_INLINE unsigned arena_page_class(const struct heap_arena *a, uintptr_t p)
{
	return atomic_load_explicit(&a->pageClass[(p >> GA_PAGE_SHIFT) & (GA_PAGES_PER_ARENA - 1)],
				    memory_order_relaxed);
}

GA_INLINE struct mspan *arena_page_span(struct heap_arena *a, uintptr_t p)
{
	return atomic_load_explicit(&a->spans[(p >> GA_PAGE_SHIFT) & (GA_PAGES_PER_ARENA - 1)],
				    memory_order_acquire);
}

/* pageClass entry of the page holding p; 0 when p is in no arena's in-use page. (Unlike
 * span_of, the index is bounds-checked: the caller trusts the entry without seeing the span.) */
GA_INLINE unsigned page_class_of(uintptr_t p)
{
	struct heap_arena *a = arena_of(p);
	return GA_LIKELY(a) ? arena_page_class(a, p) : 0;
}

/* Reserve `narenas` contiguous arenas (at the next hint if possible), create their records and
 * publish them in the index. Returns the first record, or NULL. Caller holds the mheap lock. */
GA_HIDDEN struct heap_arena *arena_reserve(uint32_t narenas);
/* The same, exactly at addr (arena aligned; every arena there must be unreserved); NULL if the
 * kernel will not map there. Lets a large span at the heap's end grow in place (mheap). */
GA_HIDDEN struct heap_arena *arena_reserve_at(uintptr_t addr, uint32_t narenas);
GA_HIDDEN uint64_t arena_bytes_metadata(void);
#endif
