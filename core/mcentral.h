/* mcentral.h — one per span class: the spans of that class that are not in any mcache
 * (Go: runtime/mcentral.go). Holds spans, not objects; every thread goes here when its cached
 * span of the class runs out, and when it gives back a batch of freed blocks. Each mcentral has
 * its own lock on its own cache line. */
#ifndef GA_MCENTRAL_H
#define GA_MCENTRAL_H
#include "ga.h"
#include "lock.h"
#include "mspan.h"
#include "tunables.h"

/* Transfer cache (tcmalloc's idea): whole batches of freed blocks, as the free lists threads
 * trimmed them, handed to the next thread that runs out — O(1) per batch instead of span work
 * per block. Listed blocks count as allocated in their spans, like blocks on a thread's list. */

struct mcentral_batch {
	void *head; /* blocks linked through their first word */
	uint32_t n;
};

#ifdef GA_LOCKSTATS
/* Trips to an mcentral, by kind (the lock-statistics flavour, lock.h); under its lock but
 * peek_miss, a look at an empty transfer cache that takes no lock. */
struct mcentral_trips {
	uint64_t cache_span, cache_span_heap; /* a span for an mcache; of which fresh from the mheap */
	uint64_t uncache_span;
	uint64_t free_list, free_list_blocks; /* blocks given back to their spans one by one */
	uint64_t put, put_blocks, put_full;   /* batches parked; refused (full) */
	uint64_t get, get_blocks, get_empty;  /* batches taken; none there once locked */
	_Atomic uint64_t peek_miss;
};
#define MCENTRAL_COUNT(c, field, n) ((c)->trips.field += (n))
#else
#define MCENTRAL_COUNT(c, field, n) ((void)0)
#endif

struct mcentral {
	ga_lock_t lock;
	struct mspan *partial; /* uncached spans with ≥ 1 free slot (allocCount < nelems) */
	struct mspan *full;    /* uncached spans with no free slot */
	uint32_t npartial, nfull; /* (the span class is the record's index in ga_central) */
	/* Empty spans (allocCount 0) kept on the partial list, and the fewest there have been since
	 * the scavenger's last pass: that many were not needed for a whole pass, and go back to the
	 * page heap (mcentral_trim_empty). */
	uint32_t nempty, nempty_low;
	/* The class's hysteresis: how many empty spans it keeps (0: MCENTRAL_KEEP_EMPTY_BYTES'
	 * worth), and how many it gave back since it last took a span from the heap. A class that
	 * gives spans back and then needs new ones raises keep by that many, so that a class that
	 * empties and refills in a loop keeps its spans; the scavenger's passes lower it again by
	 * the spans they find idle. */
	uint32_t keep, returned;
	_Atomic uint32_t nbatches; /* batches[0 .. nbatches) are filled; written under lock, peeked without */
	uint64_t batch_bytes;  /* blocks × size over all batches */
	/* MCENTRAL_MAX_BATCHES entries: the class's row of a zeroed array (mcentral.c), set under
	 * the lock by the first park. Not in the record: the records are initialised data, mapped
	 * from the file, and rows of 2 KiB would spread them over pages that fault in around any
	 * record a program uses; the row's pages cost memory only as far as batches fill it. */
	struct mcentral_batch *batches;
#ifdef GA_LOCKSTATS
	struct mcentral_trips trips;
#endif
} __attribute__((aligned(GA_CACHELINE)));

GA_HIDDEN extern struct mcentral ga_central[GA_NUM_SPAN_CLASSES];

/* A span with free slots for an mcache (Go: cacheSpan): freeindex and allocCache primed,
 * incache set, its pages tagged with the mcache's owner bits (mowner.h). NULL when out of
 * memory. */
GA_HIDDEN struct mspan *mcentral_cache_span(struct mcentral *c, uint32_t owner_bits);
/* Take a span back from an mcache (Go: uncacheSpan): settle its bits, file it as partial/full,
 * or give its pages back if nothing in it is allocated. */
GA_HIDDEN void mcentral_uncache_span(struct mcentral *c, struct mspan *s);
/* Return n freed blocks (all of this span class) linked through their first word to their spans.
 * The list is walked and its blocks gathered by span before the lock is taken; under it each
 * span takes its freed slots in one step. Detects double frees (a block already free in its
 * span, or twice on the list). */
GA_HIDDEN void mcentral_free_list(struct mcentral *c, void *list, uint32_t n);
/* The collector's sweep of small span s (collect mode, the world stopped and every lock held):
 * the n slots set in garbage[0 .. s->nwords), allocated blocks found unreachable and already
 * given the mark of a free block by the caller, become free in their span — in allocBits and
 * allocCount for an uncached span, in freedBits for a span an mcache holds (settled when it lets
 * the span go), as frees arrive there. An uncached span the sweep leaves with nothing allocated
 * goes back to the heap as Go's sweep gives it back, unless its class keeps it (should_release:
 * the empty spans a class keeps, which the scavenger trims): it is set DEAD and linked through
 * next onto *release, for the caller to give to the mheap once the locks are dropped. n > 0. */
GA_HIDDEN void mcentral_sweep_span(struct mspan *s, const uint64_t *garbage, unsigned n, struct mspan **release);
/* Is block p (a slot of s, of c's class) free in its span: not allocated, or freed back to it?
 * *never: its span counts it not allocated (a slot never handed out, or one whose free reached
 * the span and was settled), rather than freed while the span was cached. */
GA_HIDDEN int mcentral_slot_is_free(struct mcentral *c, struct mspan *s, void *p, int *never);
/* Park a batch of n blocks (linked) in the transfer cache; 0 if it is full (then give them back
 * with mcentral_free_list). */
GA_HIDDEN int mcentral_put_batch(struct mcentral *c, void *list, uint32_t n);
/* Take the most recently parked batch; NULL (and *n = 0) if there is none. */
GA_HIDDEN void *mcentral_get_batch(struct mcentral *c, uint32_t *n);
/* Give every parked block back to its span (before a collection, or to free memory). */
GA_HIDDEN void mcentral_release_batches(struct mcentral *c);
/* Give back to the page heap the empty spans no thread took since the last call (all of them
 * if `all`). Returns how many. */
GA_HIDDEN unsigned mcentral_trim_empty(struct mcentral *c, int all);
/* Verifier (check.h), caller holding c's lock: the partial and full lists against npartial and
 * nfull and each span's list field (every listed span verified with mspan_check), the transfer
 * batches against nbatches and batch_bytes, each of their blocks a slot of this class that its
 * span counts as allocated. */
GA_HIDDEN void mcentral_check(struct mcentral *c);
/* Is p, held free outside its span (on a list, in a batch or an inbox: `where`), the start of a
 * slot of span class sc that its span counts as allocated? Ends the program if not. */
GA_HIDDEN void mcentral_check_held(uint8_t sc, void *p, const char *where);
GA_HIDDEN void mcentral_fork_prepare(void);
GA_HIDDEN void mcentral_fork_parent(void);
GA_HIDDEN void mcentral_fork_child(void);
#endif
