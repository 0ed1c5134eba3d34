/* malloc_class.h — request size → span class for malloc, with C's alignment folded in
 * (see fill_malloc_classes in init.c). */
#ifndef GA_MALLOC_CLASS_H
#define GA_MALLOC_CLASS_H
#include "ga.h"

/* [n] for n ≤ 1024: the scan span class serving malloc(n). All zero until start-up. Indexed by
 * the size itself (1 KiB of table) rather than by (n + 7) / 8, which saves malloc two
 * instructions. */
GA_HIDDEN extern uint8_t ga_malloc_sc[GA_SMALL_SIZE_MAX + 1];
/* The same table for aligned_small_fast: unpadded, so that the class of a size rounded up to an
 * alignment is a multiple of it (malloc.h); all 0 in the GC modes, whose padded requests take
 * the slow path (ga_aligned_class then finds a class of the alignment). */
GA_HIDDEN extern uint8_t ga_aligned_sc[GA_SMALL_SIZE_MAX + 1];
/* The same table for the slow paths. The two are equal but in the collector's report mode, where
 * ga_malloc_sc is all 0 (class 0 has no list, so every fast path misses and every block is
 * recorded: mgc.h), while this one stays the truth. In the GC modes both serve n + 1 bytes. */
GA_HIDDEN extern uint8_t ga_malloc_class[GA_SMALL_SIZE_MAX + 1];
/* ga_size_to_class128 << 1 (the scan span classes for 1 KiB < n ≤ 32 KiB), all 0 in the GC
 * modes; and the largest request malloc_medium serves from a thread's cached large spans:
 * PTRDIFF_MAX, 0 in the GC modes. In those modes every request over 1 KiB takes the slow path,
 * which pads it by a byte (the fast paths' tables cannot: mgc.h). */
GA_HIDDEN extern size_t ga_size_pad;
GA_HIDDEN extern uint8_t ga_malloc_sc_medium[(GA_MAX_SMALL_SIZE - GA_SMALL_SIZE_MAX) / 128 + 1];
GA_HIDDEN extern size_t ga_large_fast_max;

/* [k][c]: the smallest size class ≥ c whose size is a multiple of 2^k (so every slot is 2^k
 * aligned, spans being page aligned), or 0 if none; k = 0 .. GA_PAGE_SHIFT. */
GA_HIDDEN extern uint8_t ga_aligned_class[GA_PAGE_SHIFT + 1][GA_NUM_SIZE_CLASSES];

/* Per span class, for free()'s slot check without the mspan record: ceil(2^64/size), so that
 * x < 2^32 is a multiple of size iff x * ga_slot_divides[sc] < ga_slot_divides[sc] (mod 2^64;
 * Lemire, Kaser, Kurz 2019). 0 for the large classes. */
GA_HIDDEN extern uint64_t ga_slot_divides[GA_NUM_SPAN_CLASSES];

/* Span class for malloc(n), 1024 < n ≤ 32768: the generated 128-byte-step table (valid before
 * start-up too). */
GA_INLINE uint8_t ga_malloc_spanclass_medium(size_t n)
{
	return (uint8_t)(ga_size_to_class128[(n - GA_SMALL_SIZE_MAX + 127) >> 7] << 1);
}

/* Span class for malloc(n), 0 < n ≤ 32768 − ga_size_pad (0 before start-up for n ≤ 1024): of
 * n + ga_size_pad bytes (ga_malloc_class has the padding in it). */
GA_INLINE uint8_t ga_malloc_spanclass(size_t n)
{
	if (GA_LIKELY(n <= GA_SMALL_SIZE_MAX))
		return ga_malloc_class[n];
	return ga_malloc_spanclass_medium(n + ga_size_pad);
}
#endif
