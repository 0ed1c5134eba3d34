/* stats.h — counters and the GOALLOC_STATS report. Per-thread counters live in the mcache
 * (plain increments on the fast paths); everything here is global and atomic: frees and mallocs
 * by threads without a cache, large objects, and the folded counters of exited threads. */
#ifndef GA_STATS_H
#define GA_STATS_H
#include "ga.h"
#include "mcache.h"
#include "mspan.h"

/* A snapshot of the counters (since process start unless noted); preload/ hands it to programs
 * as struct ga_stats (goalloc.h). */
struct ga_stats {
	uint64_t mallocs;        /* successful allocations (all sizes) */
	uint64_t frees;          /* blocks freed */
	uint64_t bytes_in_use;   /* usable bytes of live blocks (class size, or pages for large) */
	uint64_t large_mallocs;  /* allocations over 32 KiB, each its own span */
	uint64_t large_frees;
	uint64_t spans_in_use;   /* mspans currently carrying blocks */
	uint64_t arenas;         /* 64 MiB heap arenas reserved */
	uint64_t bytes_mapped;   /* address space reserved for arenas */
	uint64_t bytes_metadata; /* off-heap metadata mapped (span structs, arena records, ...) */
	uint64_t threads_seen;   /* threads that created a per-thread cache */
};

GA_HIDDEN void stats_count_orphan_malloc(uint8_t sc);
GA_HIDDEN void stats_count_orphan_frees(uint8_t sc, uint64_t n);
GA_HIDDEN void stats_count_large_malloc(struct mspan *s);
GA_HIDDEN void stats_count_large_free(struct mspan *s);
GA_HIDDEN void stats_count_large_resize(uintptr_t old_bytes, uintptr_t new_bytes);
/* Fold an exiting thread's counters into the global totals (registry lock held). */
GA_HIDDEN void stats_fold_exited(struct mcache *c);
GA_HIDDEN void stats_collect(struct ga_stats *out);
GA_HIDDEN void stats_print(int fd);
#endif
