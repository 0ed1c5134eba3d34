/* stats.c — see stats.h. */
#include "stats.h"

#include <unistd.h>

#include "fmt.h"
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
}
