/* mheap.h — the page heap (Go: mheap + pageAlloc). Hands out runs of 8 KiB pages as mspans and
 * takes them back; free neighbours coalesce because free pages are just clear bits in each
 * arena's pageAlloc bitmap, searched address-ordered first fit (Go's policy: it keeps the heap
 * compact and lets pageDirty act as Go's zeroedBase). One lock, taken once per span. */
#ifndef GA_MHEAP_H
#define GA_MHEAP_H
#include "ga.h"
#include "mspan.h"

struct mheap_stats {
	uint64_t arenas;
	uint64_t bytes_mapped;   /* arena address space */
	uint64_t pages_inuse;    /* pages owned by spans */
	uint64_t spans_inuse;
	uint64_t pages_free_dirty; /* free pages holding data (retained = pages_inuse + these) */
	uint64_t bytes_metadata; /* span records + arena records */
};

/* A new in-use span of npages pages for spanclass, its base aligned to align_pages pages
 * (1 = no constraint). *zeroed tells whether every page is known to read as zero.
 * NULL when the OS refuses memory. Takes the mheap lock. */
GA_HIDDEN struct mspan *mheap_alloc_span(uint32_t npages, uint8_t spanclass, uint32_t align_pages);
/* Return a span's pages; the record is recycled. Takes the mheap lock. */
GA_HIDDEN void mheap_free_span(struct mspan *s);
/* Tag the pages of the small span s, which is in use, with owner_bits (mowner.h; the page
 * entry's owner field). Without the mheap lock: only the owner field of each entry changes, by a
 * compare-and-swap that leaves an entry alone if the rest of it changed meanwhile (which only a
 * second free of a block can bring about: the span of a live block is not freed). */
GA_HIDDEN void mheap_set_span_owner(struct mspan *s, uint32_t owner_bits);
/* The same, the pages given back to the OS first (MADV_DONTNEED) — unless `moved`: ga_os_move
 * has just taken them away and they read as zero already. For a large block whose contents
 * realloc has moved or copied elsewhere, so that it does not leave its size behind in RSS. The
 * pages read as zero when next handed out. */
GA_HIDDEN void mheap_free_span_unused(struct mspan *s, int moved);
/* Grow a large span in place to npages if the pages after it are free (or unreserved address
 * space at the heap's end, reserved then), or shrink it, giving its tail back (to the OS as well
 * if release_tail, as mheap_free_span_unused does). Returns 1 on success (s->npages, elemsize
 * and limit updated), 0 if it cannot grow. */
GA_HIDDEN int mheap_resize_large(struct mspan *s, uint32_t npages, int release_tail);
/* Map the pages of s, a large span of ours whose pages mremap moved in (remapped), afresh, so
 * that it is an ordinary span again: its contents are gone and its pages read as zero (if the
 * kernel refuses, s stays as it was: remapped, needzero unchanged). For a span
 * just cut for a block about to be written: the cut maps only its tail afresh and leaves it
 * remapped, so a block that grows back into the tail and is freed, cut and grown again would
 * fault the tail back in every time. */
GA_HIDDEN void mheap_unmove_span(struct mspan *s);
GA_HIDDEN void mheap_get_stats(struct mheap_stats *out);
/* The arenas, sorted by address (the collector, holding every lock). Returns how many. */
GA_HIDDEN unsigned mheap_arenas_locked(struct heap_arena *const **out);
/* Free pages that hold data: a span of up to this many pages can be served without touching
 * fresh memory (approximate: read without the lock). */
GA_HIDDEN uint64_t mheap_reusable_pages(void);
/* Release every free page to the OS (malloc_trim). Returns bytes released. */
GA_HIDDEN size_t mheap_release_free(void);
/* The scavenger (mgcscavenge.h): give back to the OS up to max_bytes of free pages that hold
 * data, the highest first (one madvise per run; the lock is held meanwhile, so keep max_bytes
 * small). Returns the bytes released; less than asked when no such page is left. */
GA_HIDDEN size_t mheap_scavenge(size_t max_bytes);
/* heapInUse (pages of in-use spans), retained (those plus free pages holding data) and the
 * arenas' address space, in bytes. Takes the lock. */
GA_HIDDEN void mheap_scav_counts(uint64_t *inuse_bytes, uint64_t *retained_bytes, uint64_t *mapped_bytes);
/* Release the pages of free span records (metadata) that hold no record in use. Returns bytes. */
GA_HIDDEN size_t mheap_release_metadata(void);
/* Verifier (check.h), caller holding the mheap lock: per arena, pageAlloc against spans[] and
 * pageClass and freePages, allocated pages within pageDirty; the arenas sorted and the search
 * hint before every free page; pages_inuse, spans_inuse and free_dirty recounted; each in-use
 * span's layout and page entries (mspan_check_layout). Returns the number of in-use spans. */
GA_HIDDEN uint64_t mheap_check(void);
GA_HIDDEN void mheap_fork_prepare(void);
GA_HIDDEN void mheap_fork_parent(void);
GA_HIDDEN void mheap_fork_child(void);
#endif
