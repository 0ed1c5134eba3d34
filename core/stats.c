/* stats.c — see stats.h. */
#include "stats.h"

#include <unistd.h>

#include "fmt.h"
#include "lock.h"
#include "mcentral.h"
#include "mowner.h"
#include "mgcscavenge.h"
#include "mheap.h"
#include "threads.h"

static struct {
	_Atomic uint64_t nmalloc[GA_NUM_SPAN_CLASSES];
	_Atomic uint64_t nfree[GA_NUM_SPAN_CLASSES];
	_Atomic uint64_t large_malloc, large_free, large_bytes; /* large_bytes: live, in pages */
} g;

void stats_count_orphan_malloc(uint8_t sc)
{
	atomic_fetch_add_explicit(&g.nmalloc[sc], 1, memory_order_relaxed);
}

void stats_count_orphan_frees(uint8_t sc, uint64_t n)
{
	atomic_fetch_add_explicit(&g.nfree[sc], n, memory_order_relaxed);
}

/* Large blocks are counted in the thread's cache (span classes 0 and 1 of nmalloc_base/nfree, and
 * large_held) when it has a live one, else in the global atomics. These count a span that comes
 * from or goes back to the mheap; the thread's stack of cached spans counts the rest itself. */
void stats_count_large_malloc(struct mspan *s)
{
	struct mcache *c = &ga_mcache;
	if (c->state == MCACHE_LIVE) {
		c->nmalloc_base[s->spanclass]++;
		c->large_held += (int64_t)s->elemsize;
		return;
	}
	atomic_fetch_add_explicit(&g.large_malloc, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&g.large_bytes, s->elemsize, memory_order_relaxed);
}

void stats_count_large_free(struct mspan *s)
{
	struct mcache *c = &ga_mcache;
	if (c->state == MCACHE_LIVE) {
		c->nfree[s->spanclass]++;
		c->large_held -= (int64_t)s->elemsize;
		return;
	}
	atomic_fetch_add_explicit(&g.large_free, 1, memory_order_relaxed);
	atomic_fetch_sub_explicit(&g.large_bytes, s->elemsize, memory_order_relaxed);
}

void stats_count_large_resize(uintptr_t old_bytes, uintptr_t new_bytes)
{
	struct mcache *c = &ga_mcache;
	if (c->state == MCACHE_LIVE)
		c->large_held += (int64_t)new_bytes - (int64_t)old_bytes;
	else
		atomic_fetch_add_explicit(&g.large_bytes, new_bytes - old_bytes, memory_order_relaxed);
}

/* (An exiting thread's cache, registry lock held: its counters go to the globals, and the cache
 * counts from zero again should the thread allocate once more in its destructors.) */
void stats_fold_exited(struct mcache *c)
{
	struct mcache_counts cc;
	mcache_counts(c, &cc);
	for (unsigned sc = 0; sc < GA_NUM_SPAN_CLASSES; sc++) {
		atomic_fetch_add_explicit(&g.nmalloc[sc], cc.nmalloc[sc], memory_order_relaxed);
		atomic_fetch_add_explicit(&g.nfree[sc], cc.nfree[sc], memory_order_relaxed);
		c->nfree[sc] = 0;
		c->nmalloc_base[sc] = sc < 2 ? 0 : -(int64_t)mcache_list_count(&c->fl[sc]);
	}
	atomic_fetch_add_explicit(&g.large_bytes, (uint64_t)cc.large_live, memory_order_relaxed);
	c->large_held = 0;
}

struct per_class {
	uint64_t nmalloc[GA_NUM_SIZE_CLASSES], nfree[GA_NUM_SIZE_CLASSES];
	int64_t large_live;
};

static void add_cache(struct mcache *c, void *arg)
{
	struct per_class *pc = arg;
	struct mcache_counts cc;
	mcache_counts(c, &cc);
	for (unsigned sc = 0; sc < GA_NUM_SPAN_CLASSES; sc++) {
		pc->nmalloc[sc >> 1] += cc.nmalloc[sc];
		pc->nfree[sc >> 1] += cc.nfree[sc];
	}
	pc->large_live += cc.large_live;
}

static void collect(struct per_class *pc, struct ga_stats *out)
{
	*pc = (struct per_class){0};
	for (unsigned sc = 0; sc < GA_NUM_SPAN_CLASSES; sc++) {
		pc->nmalloc[sc >> 1] += atomic_load_explicit(&g.nmalloc[sc], memory_order_relaxed);
		pc->nfree[sc >> 1] += atomic_load_explicit(&g.nfree[sc], memory_order_relaxed);
	}
	threads_for_each(add_cache, pc);
	pc->nmalloc[0] += atomic_load_explicit(&g.large_malloc, memory_order_relaxed);
	pc->nfree[0] += atomic_load_explicit(&g.large_free, memory_order_relaxed);
	*out = (struct ga_stats){0};
	for (unsigned c = 0; c < GA_NUM_SIZE_CLASSES; c++) {
		out->mallocs += pc->nmalloc[c];
		out->frees += pc->nfree[c];
		if (c && pc->nmalloc[c] >= pc->nfree[c])
			out->bytes_in_use += (pc->nmalloc[c] - pc->nfree[c]) * ga_class_to_size[c];
	}
	out->large_mallocs = pc->nmalloc[0];
	out->large_frees = pc->nfree[0];
	out->bytes_in_use += atomic_load_explicit(&g.large_bytes, memory_order_relaxed) + (uint64_t)pc->large_live;
	struct mheap_stats hs;
	mheap_get_stats(&hs);
	out->spans_in_use = hs.spans_inuse;
	out->arenas = hs.arenas;
	out->bytes_mapped = hs.bytes_mapped;
	out->bytes_metadata = hs.bytes_metadata;
	out->threads_seen = threads_seen();
}

void stats_collect(struct ga_stats *out)
{
	struct per_class pc;
	collect(&pc, out);
}

#ifdef GA_LOCKSTATS
/* x / ops to three decimals, as "a.bcd" (ga_dprintf has no %f). */
static void print_ratio(int fd, const char *name, uint64_t x, uint64_t ops)
{
	uint64_t milli = ops ? x * 1000 / ops : 0;
	ga_dprintf(fd, " %s %llu.%03llu", name, (unsigned long long)(milli / 1000), (unsigned long long)(milli % 1000));
}

/* The lock-statistics flavour's report (lock.h, mcentral.h): per lock rank, then the mcentral
 * trips summed over the classes and for the busiest classes; "per op" divides by mallocs +
 * frees. */
static void lockstats_print(int fd, uint64_t ops)
{
	struct ga_lock_stats sum[GA_RANK_COUNT] = {0};
	for (struct ga_lock_stats *st = atomic_load_explicit(&ga_lockstats_all, memory_order_acquire); st; st = st->next) {
		unsigned r = ga_lockstats_lock(st)->rank;
		if (r >= GA_RANK_COUNT)
			continue;
		sum[r].acquired += st->acquired;
		sum[r].contended += st->contended;
		sum[r].wait_cycles += st->wait_cycles;
		sum[r].hold_cycles += st->hold_cycles;
	}
	ga_dprintf(fd, "goalloc: locks (%llu mallocs+frees): rank, acquired, contended, wait and hold (TSC cycles)\n",
		   (unsigned long long)ops);
	for (unsigned r = 0; r < GA_RANK_COUNT; r++) {
		if (!sum[r].acquired)
			continue;
		ga_dprintf(fd, "goalloc:   %-16s %12llu %10llu wait %14llu hold %14llu  (avg hold %llu);",
			   ga_lock_rank_name(r), (unsigned long long)sum[r].acquired, (unsigned long long)sum[r].contended,
			   (unsigned long long)sum[r].wait_cycles, (unsigned long long)sum[r].hold_cycles,
			   (unsigned long long)(sum[r].hold_cycles / sum[r].acquired));
		print_ratio(fd, "per 1000 ops:", sum[r].acquired * 1000, ops);
		print_ratio(fd, "contended", sum[r].contended * 1000, ops);
		ga_dprintf(fd, "\n");
	}
	struct mcentral_trips t = {0};
	for (unsigned sc = 0; sc < GA_NUM_SPAN_CLASSES; sc++) {
		struct mcentral_trips *x = &ga_central[sc].trips;
		t.cache_span += x->cache_span;
		t.cache_span_heap += x->cache_span_heap;
		t.uncache_span += x->uncache_span;
		t.free_list += x->free_list;
		t.free_list_blocks += x->free_list_blocks;
		t.put += x->put;
		t.put_blocks += x->put_blocks;
		t.put_full += x->put_full;
		t.get += x->get;
		t.get_blocks += x->get_blocks;
		t.get_empty += x->get_empty;
		t.peek_miss += atomic_load_explicit(&x->peek_miss, memory_order_relaxed);
	}
	ga_dprintf(fd, "goalloc: mcentral trips: cache_span %llu (heap %llu), uncache_span %llu, free_list %llu (%llu blocks), "
		       "put %llu (%llu blocks), put_full %llu, get %llu (%llu blocks), get_empty %llu, peek_miss %llu\n",
		   (unsigned long long)t.cache_span, (unsigned long long)t.cache_span_heap,
		   (unsigned long long)t.uncache_span, (unsigned long long)t.free_list,
		   (unsigned long long)t.free_list_blocks, (unsigned long long)t.put, (unsigned long long)t.put_blocks,
		   (unsigned long long)t.put_full, (unsigned long long)t.get, (unsigned long long)t.get_blocks,
		   (unsigned long long)t.get_empty, (unsigned long long)t.peek_miss);
	ga_dprintf(fd, "goalloc: mcentral per 1000 ops:");
	print_ratio(fd, "trips", (t.cache_span + t.uncache_span + t.free_list + t.put + t.put_full + t.get + t.get_empty) * 1000, ops);
	print_ratio(fd, "free_list blocks", t.free_list_blocks * 1000, ops);
	print_ratio(fd, "put blocks", t.put_blocks * 1000, ops);
	print_ratio(fd, "get blocks", t.get_blocks * 1000, ops);
	ga_dprintf(fd, "\n");
	struct mowner_trips *o = &ga_mowner_trips;
	ga_dprintf(fd, "goalloc: owners: remote frees %llu (inbox full %llu, closed %llu), inboxes taken %llu (%llu blocks);",
		   (unsigned long long)o->remote, (unsigned long long)o->full, (unsigned long long)o->closed,
		   (unsigned long long)o->taken, (unsigned long long)o->taken_blocks);
	print_ratio(fd, "remote frees per 1000 ops:", o->remote * 1000, ops);
	ga_dprintf(fd, "\n");
	ga_dprintf(fd, "goalloc: %5s %10s %10s %8s %8s %8s %9s %8s %8s %8s\n", "class", "acquired", "contended", "cache", "uncache",
		   "freelist", "fl_blocks", "put", "put_full", "get");
	for (unsigned sc = 0; sc < GA_NUM_SPAN_CLASSES; sc++) {
		struct mcentral *c = &ga_central[sc];
		if (c->lock.st.acquired * 200 < sum[GA_RANK_MCENTRAL].acquired) /* under 0.5 %: left out */
			continue;
		ga_dprintf(fd, "goalloc: %3u/%-2u %10llu %10llu %8llu %8llu %8llu %9llu %8llu %8llu %8llu\n",
			   GA_SPANCLASS_SIZECLASS(sc), sc & 1, (unsigned long long)c->lock.st.acquired,
			   (unsigned long long)c->lock.st.contended, (unsigned long long)c->trips.cache_span,
			   (unsigned long long)c->trips.uncache_span, (unsigned long long)c->trips.free_list,
			   (unsigned long long)c->trips.free_list_blocks, (unsigned long long)c->trips.put,
			   (unsigned long long)c->trips.put_full, (unsigned long long)c->trips.get);
	}
}
#endif

void stats_print(int fd)
{
	struct per_class pc;
	struct ga_stats st;
	collect(&pc, &st);
	ga_dprintf(fd, "goalloc: stats for pid %d\n", (int)getpid());
	ga_dprintf(fd, "goalloc: total: mallocs %llu, frees %llu, in use %llu bytes\n",
		   (unsigned long long)st.mallocs, (unsigned long long)st.frees, (unsigned long long)st.bytes_in_use);
	ga_dprintf(fd, "goalloc: heap: %llu spans in use, %llu arenas, %llu MiB mapped, %llu KiB metadata, %llu threads seen\n",
		   (unsigned long long)st.spans_in_use, (unsigned long long)st.arenas,
		   (unsigned long long)(st.bytes_mapped >> 20), (unsigned long long)(st.bytes_metadata >> 10),
		   (unsigned long long)st.threads_seen);
	uint64_t inuse, retained, mapped;
	struct scav_stats sc;
	mheap_scav_counts(&inuse, &retained, &mapped);
	scavenge_get_stats(&sc);
	ga_dprintf(fd, "goalloc: pages: %llu KiB mapped, %llu KiB in use, %llu KiB free, %llu KiB released\n",
		   (unsigned long long)(mapped >> 10), (unsigned long long)(inuse >> 10),
		   (unsigned long long)((retained - inuse) >> 10), (unsigned long long)((mapped - retained) >> 10));
	ga_dprintf(fd, "goalloc: scavenger: %llu KiB released in the background, %llu KiB by malloc_trim, %llu empty spans returned, thread %s\n",
		   (unsigned long long)(sc.released_bg >> 10), (unsigned long long)(sc.released_eager >> 10),
		   (unsigned long long)sc.spans_returned, sc.running ? "running" : "not started");
	ga_dprintf(fd, "goalloc: %5s %8s %12s %12s %12s\n", "class", "size", "mallocs", "frees", "live");
	for (unsigned c = 1; c < GA_NUM_SIZE_CLASSES; c++) {
		if (!pc.nmalloc[c] && !pc.nfree[c])
			continue;
		long long live = (long long)(pc.nmalloc[c] - pc.nfree[c]);
		ga_dprintf(fd, "goalloc: %5u %8u %12llu %12llu %12lld\n", c, ga_class_to_size[c],
			   (unsigned long long)pc.nmalloc[c], (unsigned long long)pc.nfree[c], live);
	}
	ga_dprintf(fd, "goalloc: %5s %8s %12llu %12llu %12lld\n", "large", ">32K", (unsigned long long)pc.nmalloc[0],
		   (unsigned long long)pc.nfree[0], (long long)(pc.nmalloc[0] - pc.nfree[0]));
#ifdef GA_LOCKSTATS
	lockstats_print(fd, st.mallocs + st.frees);
#endif
}

