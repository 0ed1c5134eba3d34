/* mcache.c — the per-thread cache's slow paths: first use, refilling from the span bitmap and
 * the mcentral, flushing a full free list, thread exit, and re-entry from signal handlers.
 * See mcache.h. */
#include "mcache.h"

#include <pthread.h>
#include <string.h>

#include "arena.h"
#include "mcentral.h"
#include "mheap.h"
#include "stats.h"
#include "threads.h"

__thread struct mcache ga_mcache __attribute__((tls_model("initial-exec")));
uint64_t ga_free_key;

/* Free-list bound per span class: about 64 KiB worth of blocks, at least 4, at most 512.
 * A thread therefore holds a bounded amount in free lists (at most ~4 MiB summed over the
 * classes malloc uses, in practice the few it needs), whatever it frees. Measured against 128 KiB
 * (median of 7): the producer/consumer workload peaks at 16.3 instead of 18.9 MiB RSS, in the
 * same time; batches of 10,000 malloc+free in random order run level (10.7 vs 10.8 ns per
 * pair), as do the other workloads. (Before an overflowing list kept only MCACHE_TRIM_KEEP
 * blocks, 64 KiB cost those batches ~25 %: more overflows, each with a long walk.) */
static uint32_t list_cap(uint8_t sc)
{
	unsigned size = ga_class_to_size[GA_SPANCLASS_SIZECLASS(sc)];
	if (!size)
		return 0;
	uint32_t cap = 65536 / size;
	return cap < 4 ? 4 : cap > 512 ? 512 : cap;
}

/* Change a list's bound, keeping its blocks: room moves by as much as the bound. */
static void list_set_cap(struct mcache_list *l, uint32_t cap)
{
	l->room += (int32_t)cap - (int32_t)l->cap;
	l->cap = cap;
}

static void mcache_setup(struct mcache *c)
{
	for (unsigned sc = 0; sc < GA_NUM_SPAN_CLASSES; sc++) /* (blocks pushed before stay listed) */
		list_set_cap(&c->fl[sc], list_cap((uint8_t)sc));
	c->state = MCACHE_LIVE;
	threads_register(c);
}

/* ---- Returning blocks ------------------------------------------------------------------ */

/* Detach the blocks of list sc beyond its first `keep` and give them to the mcentral: parked as
 * one batch in the transfer cache for the next thread that runs out (park), or straight back to
 * their spans (thread exit, or a full transfer cache). The list's bound becomes cap. */
static void flush_list(struct mcache *c, uint8_t sc, uint32_t keep, uint32_t cap, int park)
{
	struct mcache_list *l = &c->fl[sc];
	uint32_t count = mcache_list_count(l);
	list_set_cap(l, cap);
	if (count <= keep)
		return;
	void *rest;
	uint32_t n = count - keep;
	if (keep == 0) {
		rest = l->head;
		l->head = NULL;
	} else {
		void *p = l->head;
		for (uint32_t i = 1; i < keep; i++)
			p = ga_link_get(p);
		rest = ga_link_get(p);
		ga_link_set(p, NULL);
	}
	l->room = (int32_t)cap - (int32_t)keep;
	c->nmalloc_base[sc] -= n;
	if (park && mcentral_put_batch(&ga_central[sc], rest, n))
		return;
	mcentral_free_list(&ga_central[sc], rest, n);
}

/* The bound of a list that only receives frees: an eighth of the full bound, at least 16 blocks
 * (or the full bound if that is smaller). */
static uint32_t freeonly_cap(uint8_t sc)
{
	uint32_t full = list_cap(sc), cap = full / 8;
	return cap >= 16 ? cap : full < 16 ? full : 16;
}

/* List sc went over its bound. Normally keep MCACHE_TRIM_KEEP blocks and park the rest. But a
 * thread that has handed out no block of the class since the list's last overflow, two overflows
 * in a row, only frees it (a consumer of blocks other threads allocate): holding blocks for it
 * is memory nobody reuses, so it keeps none and its bound drops to freeonly_cap until it
 * allocates from the class again (mcache_alloc_slow restores the bound). */
static void trim_list(struct mcache *c, uint8_t sc)
{
	uint64_t handed = mcache_nmalloc(c, sc);
	if (handed != c->nmalloc_at_overflow[sc]) {
		c->nmalloc_at_overflow[sc] = handed;
		c->freeonly_overflows[sc] = 0;
	} else if (c->freeonly_overflows[sc] < 2) {
		c->freeonly_overflows[sc]++;
	}
	if (c->freeonly_overflows[sc] >= 2)
		flush_list(c, sc, 0, freeonly_cap(sc), 1);
	else
		flush_list(c, sc, c->fl[sc].cap / 2 < MCACHE_TRIM_KEEP ? c->fl[sc].cap / 2 : MCACHE_TRIM_KEEP,
			   c->fl[sc].cap, 1);
}

static void drain_deferred(struct mcache *c);

_Static_assert(MCACHE_LARGE_SLOTS == sizeof(((struct mcache *)0)->large) / sizeof(struct mspan *),
	       "large-span cache size");

/* c->large[0 .. nlarge) is a stack, most recently freed on top: a malloc/free loop of one size
 * finds its span at the first look. */
/* Give entry i of the stack back to the mheap. */
static void large_evict(struct mcache *c, unsigned i)
{
	struct mspan *s = large_stack_remove(c, i);
	c->large_held -= (int64_t)s->elemsize;
	mheap_free_span(s);
}

struct mspan *mcache_large_take(struct mcache *c, uint32_t npages, uint8_t spanclass, int growing)
{
	uint32_t maxpages = growing ? UINT32_MAX : npages + npages / 4;
	for (unsigned i = c->nlarge; i-- > 0;) {
		struct mspan *s = c->large[i];
		if (s->spanclass != spanclass || s->npages < npages || s->npages > maxpages)
			continue;
		large_stack_remove(c, i);
		s->needzero = 1; /* (it held a block; large_alloc tells calloc from this) */
		if (s->npages > npages) { /* give the surplus tail back: usable size stays the request's pages */
			uintptr_t held = s->elemsize;
			mheap_resize_large(s, npages, 0); /* (a remapped span's tail is mapped afresh) */
			c->large_held -= (int64_t)(held - s->elemsize);
			if (growing && s->remapped)
				mheap_unmove_span(s); /* and for a growing block its head too, once */
		}
		atomic_store_explicit(&s->state, MSPAN_INUSE, memory_order_release);
		c->nmalloc_base[spanclass]++;
		return s;
	}
	return NULL;
}

int mcache_large_keep(struct mcache *c, struct mspan *s)
{
	if (c->state == MCACHE_NONE)
		mcache_setup(c); /* a thread whose first frees are large ones */
	if (c->state != MCACHE_LIVE || s->elemsize > MCACHE_LARGE_BYTES)
		return 0;
	/* Make room: evict from the bottom (least recently freed) until this one fits. */
	while (c->nlarge == MCACHE_LARGE_SLOTS || mcache_large_bytes(c) + s->elemsize > MCACHE_LARGE_BYTES)
		large_evict(c, 0);
	large_stack_push(c, s);
	return 1;
}

void mcache_large_free(struct mcache *c, struct mspan *s)
{
	if (mcache_large_keep(c, s)) {
		c->nfree[s->spanclass]++; /* (kept: still in large_held) */
	} else {
		stats_count_large_free(s);
		mheap_free_span(s);
	}
}

void mcache_large_drain(struct mcache *c)
{
	while (c->nlarge)
		large_evict(c, c->nlarge - 1);
}

void mcache_large_drain_for(struct mcache *c, uint32_t npages)
{
	if (GA_UNLIKELY(c->nlarge) && mheap_reusable_pages() < npages)
		mcache_large_drain(c);
}

void mcache_release_all(struct mcache *c)
{
	mcache_large_drain(c);
	for (unsigned sc = 0; sc < GA_NUM_SPAN_CLASSES; sc++) {
		flush_list(c, (uint8_t)sc, 0, c->fl[sc].cap, 0);
		if (c->alloc[sc]) {
			mcentral_uncache_span(&ga_central[sc], c->alloc[sc]);
			c->alloc[sc] = NULL;
		}
	}
}

/* A block freed while this thread was already inside goalloc (a signal handler that interrupted
 * malloc or free): park it on the deferred stack; the next slow path frees it for real. */
static void defer_free(struct mcache *c, void *p)
{
	void *old = atomic_load_explicit(&c->deferred, memory_order_relaxed);
	do
		ga_link_set(p, old);
	while (!atomic_compare_exchange_weak_explicit(&c->deferred, &old, p, memory_order_release,
						      memory_order_relaxed));
}

/* Free one validated small block straight into its mcentral (a thread whose cache is gone). */
static void free_direct(void *p, struct mspan *s)
{
	ga_link_set(p, NULL);
	mcentral_free_list(&ga_central[s->spanclass], p, 1);
	stats_count_orphan_frees(s->spanclass, 1);
}

/* Push p on list sc with busy raised; flush the list if it went over its bound. */
static void push_and_trim(struct mcache *c, void *p, uint8_t sc)
{
	if (mcache_list_push(mcache_here(), p, sc, sc > 3, ga_free_key) < 0) /* (c == &ga_mcache) */
		trim_list(c, sc);
}

void mcache_free_slow(struct mcache *c, void *p, struct mspan *s)
{
	uint8_t sc = s->spanclass;
	if (p) { /* the fast path did nothing: re-entry, a suspected double free, or class 8 */
		if (c->busy) {
			defer_free(c, p);
			return;
		}
		if (sc > 3)
			ga_track_open((char *)p + 8, 8);
		if (p == c->fl[sc].head || (sc > 3 && ((uint64_t *)p)[1] == ga_free_key))
			ga_double_free(p);
		if (sc > 3)
			ga_track_close((char *)p + 8, 8);
		/* (A match of the key's low half only, by chance, ends here: the block is pushed.) */
		mcache_enter(c);
		if (c->state == MCACHE_NONE)
			mcache_setup(c);
		if (c->state == MCACHE_LIVE)
			push_and_trim(c, p, sc);
		else
			free_direct(p, s);
	} else { /* the fast path pushed and the list went over its bound */
		mcache_enter(c); /* (already raised if the fast path raises it: GA_FAST_GUARD) */
		if (c->state == MCACHE_NONE)
			mcache_setup(c);
		if (c->state == MCACHE_LIVE) {
			trim_list(c, sc);
		} else { /* the thread's cache is gone: keep nothing */
			stats_count_orphan_frees(sc, mcache_list_count(&c->fl[sc]));
			flush_list(c, sc, 0, c->fl[sc].cap, 0);
		}
	}
	drain_deferred(c);
	mcache_leave(c);
}

/* ---- Getting blocks -------------------------------------------------------------------- */

/* Next slot from the cached span of class sc, refilling from the mcentral when it is used up. */
static void *alloc_from_span(struct mcache *c, uint8_t sc)
{
	struct mspan *s = c->alloc[sc];
	if (s) {
		void *p = mspan_next_free_fast(s);
		if (p)
			return p;
		unsigned i = mspan_next_free_index(s);
		if (i < s->nelems)
			return (void *)(s->objbase + i * s->elemsize);
		mcentral_uncache_span(&ga_central[sc], s);
		c->alloc[sc] = NULL;
	}
	mcache_large_drain_for(c, ga_class_to_npages[GA_SPANCLASS_SIZECLASS(sc)]);
	s = mcentral_cache_span(&ga_central[sc]);
	if (!s)
		return NULL;
	c->alloc[sc] = s;
	unsigned i = mspan_next_free_index(s);
	return i < s->nelems ? (void *)(s->objbase + i * s->elemsize) : NULL;
}

/* After a miss served from the span, move a batch of the span's next free slots onto the list
 * (at most a quarter of its bound, at most 32), so the allocations that follow take the fast
 * path. The slots count as allocated from the span's point of view, like every listed block. */
static void carve_batch(struct mcache *c, uint8_t sc)
{
	struct mspan *s = c->alloc[sc];
	struct mcache_list *l = &c->fl[sc];
	int32_t n = (int32_t)(l->cap / 4);
	if (n > 32)
		n = 32;
	if (n > l->room)
		n = l->room;
	void *first = NULL, *last = NULL; /* kept in address order: handed out ascending */
	int32_t got = 0;
	while (got < n) {
		void *q = mspan_next_free_fast(s);
		if (!q)
			break;
		if (last)
			ga_link_set(last, q);
		else
			first = q;
		last = q;
		got++;
	}
	if (last) {
		ga_link_set(last, l->head);
		l->head = first;
		l->room -= got;
		c->nmalloc_base[sc] += got;
	}
}

/* Threads whose cache is gone (exited, or exiting without one) share this cache under a lock. */
static struct mcache orphan_cache;
static ga_lock_t orphan_lock = GA_LOCK_INIT;

static void *alloc_orphan(struct mcache *c, uint8_t sc)
{
	mcache_enter(c);
	ga_lock(&orphan_lock);
	void *p = alloc_from_span(&orphan_cache, sc);
	ga_unlock(&orphan_lock);
	mcache_leave(c);
	if (p)
		stats_count_orphan_malloc(sc);
	return p;
}

static void drain_deferred(struct mcache *c)
{
	if (GA_LIKELY(!atomic_load_explicit(&c->deferred, memory_order_relaxed)))
		return;
	void *p = atomic_exchange_explicit(&c->deferred, NULL, memory_order_acquire);
	while (p) {
		void *next = ga_link_get(p);
		struct mspan *s = span_of((uintptr_t)p);
		if (mspan_is_large(s)) {
			mcache_large_free(c, s);
		} else {
			if (c->state == MCACHE_LIVE)
				push_and_trim(c, p, s->spanclass);
			else
				free_direct(p, s);
		}
		p = next;
	}
}

void *mcache_alloc_slow(struct mcache *c, uint8_t sc, size_t size)
{
	if (c->busy) { /* the class's size: a multiple of any alignment the class was chosen for */
		size_t csize = ga_class_to_size[GA_SPANCLASS_SIZECLASS(sc)];
		return mcache_alloc_reentrant(c, csize > size ? csize : size);
	}
	if (GA_UNLIKELY(sc == 0)) /* the lookup table was not filled yet: start up */
		return NULL;
	if (c->state != MCACHE_LIVE) {
		if (c->state == MCACHE_DEAD)
			return alloc_orphan(c, sc);
		mcache_setup(c);
	}
	mcache_enter(c);
	drain_deferred(c);
	struct mcache_list *l = &c->fl[sc];
	void *p = l->head;
	if (p) {
		l->head = ga_link_get(p);
		l->room++;
	} else {
		uint32_t n;
		if (l->cap < list_cap(sc)) { /* the thread allocates this class again: full bound */
			list_set_cap(l, list_cap(sc));
			c->freeonly_overflows[sc] = 0;
		}
		p = mcentral_get_batch(&ga_central[sc], &n);
		if (p) { /* a batch another thread trimmed: the first block is ours, the rest listed */
			l->head = ga_link_get(p);
			l->room -= (int32_t)n - 1;
			c->nmalloc_base[sc] += n;
		} else {
			p = alloc_from_span(c, sc);
			if (p) {
				c->nmalloc_base[sc]++;
				carve_batch(c, sc);
			}
		}
	}
	mcache_leave(c);
	if (p && sc > 3) {
		ga_track_open((char *)p + 8, 8);
		((uint64_t *)p)[1] = 0;
	}
	return p;
}

void mcache_thread_exit(void *arg)
{
	struct mcache *c = arg;
	if (c != &ga_mcache || c->state != MCACHE_LIVE)
		return;
	mcache_enter(c);
	drain_deferred(c);
	mcache_release_all(c);
	for (unsigned sc = 0; sc < GA_NUM_SPAN_CLASSES; sc++) {
		c->fl[sc].cap = 0;
		c->fl[sc].room = 0;
	}
	c->state = MCACHE_DEAD;
	threads_unregister(c);
	mcache_leave(c);
}

void mcache_fork_prepare(void) { ga_lock(&orphan_lock); }
void mcache_fork_parent(void) { ga_unlock(&orphan_lock); }
void mcache_fork_child(void) { ga_lock_reinit(&orphan_lock); }
