/* stats.h — counters and the GOALLOC_STATS report. Per-thread counters live in the mcache
 * (plain increments on the fast paths); everything here is global and atomic: frees and mallocs
 * by threads without a cache, large objects, and the folded counters of exited threads. */
#ifndef GA_STATS_H
#define GA_STATS_H
#include "ga.h"
#include "mcache.h"
#include "mspan.h"

struct goalloc_stats;

GA_HIDDEN void stats_count_orphan_malloc(uint8_t sc);
GA_HIDDEN void stats_count_orphan_frees(uint8_t sc, uint64_t n);
GA_HIDDEN void stats_count_large_malloc(struct mspan *s);
GA_HIDDEN void stats_count_large_free(struct mspan *s);
GA_HIDDEN void stats_count_large_resize(uintptr_t old_bytes, uintptr_t new_bytes);
/* Fold an exiting thread's counters into the global totals (registry lock held). */
GA_HIDDEN void stats_fold_exited(struct mcache *c);
GA_HIDDEN void stats_collect(struct goalloc_stats *out);
GA_HIDDEN void stats_print(int fd);
#endif
