/* mcentral.h — one per span class: the spans of that class that are not in any mcache
 * (Go: runtime/mcentral.go). Holds spans, not objects; every thread goes here when its cached
 * span of the class runs out, and when it gives back a batch of freed blocks. Each mcentral has
 * its own lock on its own cache line. */
#ifndef GA_MCENTRAL_H
#define GA_MCENTRAL_H
#include "ga.h"
#include "lock.h"
#include "mspan.h"

struct mcentral {
	ga_lock_t lock;
	struct mspan *partial; /* uncached spans with ≥ 1 free slot (allocCount < nelems) */
	struct mspan *full;    /* uncached spans with no free slot */
	uint32_t npartial, nfull;
	uint8_t spanclass;
} __attribute__((aligned(GA_CACHELINE)));

GA_HIDDEN extern struct mcentral ga_central[GA_NUM_SPAN_CLASSES];

GA_HIDDEN void mcentral_init_all(void);
/* A span with free slots for an mcache (Go: cacheSpan): freeindex and allocCache primed,
 * incache set. NULL when out of memory. */
GA_HIDDEN struct mspan *mcentral_cache_span(struct mcentral *c);
/* Take a span back from an mcache (Go: uncacheSpan): settle its bits, file it as partial/full,
 * or give its pages back if nothing in it is allocated. */
GA_HIDDEN void mcentral_uncache_span(struct mcentral *c, struct mspan *s);
/* Return n freed blocks (all of this span class) linked through their first word. Detects
 * double frees (the block is already free in its span). */
GA_HIDDEN void mcentral_free_list(struct mcentral *c, void *list, uint32_t n);
GA_HIDDEN void mcentral_fork_prepare(void);
GA_HIDDEN void mcentral_fork_parent(void);
GA_HIDDEN void mcentral_fork_child(void);
#endif
