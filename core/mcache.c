/* mcache.c — the per-thread cache's slow paths: first use, refilling from the span bitmap and
 * the mcentral, flushing a full free list, thread exit, and re-entry from signal handlers.
 * See mcache.h. */
#include "mcache.h"

#include <pthread.h>
#include <string.h>

#include "arena.h"
#include "check.h"
#include "mcentral.h"
#include "mgcscavenge.h"
#include "mheap.h"
#include "mowner.h"
#include "stats.h"
#include "threads.h"

__thread struct mcache ga_mcache __attribute__((tls_model("initial-exec")));
uint64_t ga_free_key;
uint64_t ga_link_key;

void ga_corrupt_list(const void *block, const void *link)
{
	ga_fatal("corrupted free list: free block %p links to %p", block, link);
}

/* Free-list bound per span class: MCACHE_LIST_BYTES worth of blocks, clamped to
 * [MCACHE_LIST_MIN, MCACHE_LIST_MAX] (tunables.h). A thread therefore holds a bounded amount in
 * free lists (at most ~4 MiB summed over the classes malloc uses, in practice the few it needs),
 * whatever it frees. */
static uint32_t list_cap(uint8_t sc)
{
	unsigned size = ga_class_to_size[GA_SPANCLASS_SIZECLASS(sc)];
	if (!size)
		return 0;
	uint32_t cap = MCACHE_LIST_BYTES / size;
	return cap < MCACHE_LIST_MIN ? MCACHE_LIST_MIN : cap > MCACHE_LIST_MAX ? MCACHE_LIST_MAX : cap;
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
			p = mcache_link_next(p);
		rest = mcache_link_next(p);
		ga_link_set(p, NULL);
	}
	l->room = (int32_t)cap - (int32_t)keep;
	c->nmalloc_base[sc] -= n;
	if (park && mcentral_put_batch(&ga_central[sc], rest, n))
		return;
	mcentral_free_list(&ga_central[sc], rest, n);
}

/* The bound of a list that only receives frees: the full bound / MCACHE_FREEONLY_DIV (half), at
 * least 16 blocks (or the full bound if that is smaller). */
static uint32_t freeonly_cap(uint8_t sc)
{
	uint32_t full = list_cap(sc), cap = full / MCACHE_FREEONLY_DIV;
	return cap >= MCACHE_FREEONLY_MIN ? cap : full < MCACHE_FREEONLY_MIN ? full : MCACHE_FREEONLY_MIN;
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
	} else if (c->freeonly_overflows[sc] < MCACHE_FREEONLY_OVERFLOWS) {
		c->freeonly_overflows[sc]++;
	}
	if (c->freeonly_overflows[sc] >= MCACHE_FREEONLY_OVERFLOWS)
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
	uint32_t maxpages = growing ? UINT32_MAX : npages + npages / MCACHE_LARGE_SLACK_DIV;
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

static void outbox_flush(struct mcache *c, uint8_t sc);

/* Give what inbox sc of this thread holds back to the spans (close: and close it). */
static void release_inbox(struct mcache *c, uint8_t sc, int close)
{
	uint32_t n;
	void *chain = mowner_take(&ga_owners[c->owner].in[sc], close, &n);
	if (chain)
		mcentral_free_list(&ga_central[sc], chain, n);
}

void mcache_release_all(struct mcache *c)
{
	mcache_large_drain(c);
	for (unsigned sc = 0; sc < GA_NUM_SPAN_CLASSES; sc++) {
		outbox_flush(c, (uint8_t)sc);
		flush_list(c, (uint8_t)sc, 0, c->fl[sc].cap, 0);
		if (c->owner)
			release_inbox(c, (uint8_t)sc, 0);
		if (c->alloc[sc]) {
			mcentral_uncache_span(&ga_central[sc], c->alloc[sc]);
			c->alloc[sc] = NULL;
		}
	}
}

/* A block freed while this thread was already inside goalloc (a signal handler that interrupted
 * malloc or free): park it on the deferred stack; the next slow path frees it for real. It carries
 * the free mark meanwhile (the free key in word 1, for large blocks too; the 8-byte class's is its
 * link), so that the collector takes it for free wherever it is in the stack or its drain:
 * the links are mangled, the collector cannot follow them. */
static void defer_free(struct mcache *c, void *p, struct mspan *s)
{
	if (s->spanclass > 3 || mspan_is_large(s))
		mcache_set_key(p, ga_free_key);
	void *old = atomic_load_explicit(&c->deferred, memory_order_relaxed);
	do
		ga_link_set(p, old);
	while (!atomic_compare_exchange_weak_explicit(&c->deferred, &old, p, memory_order_release,
						      memory_order_relaxed));
}

/* ---- Handlers that never returned ---------------------------------------------------- */

/* After a signal handler left by longjmp the lock-free code it interrupted (a fast path, with
 * busy raised only by the trampoline): that code may have stopped at any instruction of a list
 * push or pop. A push writes the link before the head, a pop reads the link before it moves the
 * head (mcache_list_push, mcache_pop), so every list is still a well-formed chain — at worst one
 * block is out of every list and leaked — but its count may be off by one: count each list
 * again. A large span the stack of cached spans names must still be CACHED (a push or pop of
 * that stack may have stopped half way). */
static void repair_lists(struct mcache *c)
{
	for (unsigned sc = 2; sc < GA_NUM_SPAN_CLASSES; sc++) {
		struct mcache_list *l = &c->fl[sc];
		uint32_t n = 0;
		for (void *q = l->head; q; n++) {
			void *next = ga_link_get(q);
			if (!ga_link_plausible(next) || n > l->cap + 1)
				ga_corrupt_list(q, next);
			q = next;
		}
		l->room = (int32_t)l->cap - (int32_t)n;
	}
	unsigned k = 0;
	for (unsigned i = 0; i < c->nlarge && i < MCACHE_LARGE_SLOTS; i++)
		if (atomic_load_explicit(&c->large[i]->state, memory_order_relaxed) == MSPAN_CACHED)
			c->large[k++] = c->large[i];
	c->nlarge = k;
}

/* How many of the n records are not dead, seen from sp: records are popped from the top while
 * dead (a handler nested in a dead one is dead too, so the records past the table go with the
 * table's last). *restore: the busy value saved by the lowest record popped. */
static uint32_t live_records(struct mcache *c, uint32_t n, uintptr_t sp, uint32_t *restore)
{
	if (n > MCACHE_SIGFRAMES) {
		if (!mcache_sigframe_dead(&c->sig[MCACHE_SIGFRAMES - 1], sp))
			return n;
		n = MCACHE_SIGFRAMES;
	}
	while (n && mcache_sigframe_dead(&c->sig[n - 1], sp)) {
		*restore = c->sig[n - 1].saved_busy;
		n--;
	}
	return n;
}

int mcache_busy_live(struct mcache *c)
{
	uintptr_t sp = (uintptr_t)__builtin_frame_address(0);
	uint32_t n = c->nsig;
	if (n == 0)
		return 1; /* raised by no handler the trampoline ran: as before, live */
	c->sig_checking = 1;
	ga_compiler_barrier();
	uint32_t restore = c->busy;
	n = live_records(c, n, sp, &restore);
	if (n) { /* a handler still runs: what it interrupted stays busy */
		c->nsig = n;
		c->busy = restore;
		ga_compiler_barrier();
		c->sig_checking = 0;
		return restore != 0;
	}
	/* Every handler left by longjmp; the oldest had interrupted this thread at busy == restore. */
	if (restore == MCACHE_BUSY_SLOW)
		ga_fatal("a signal handler left goalloc by longjmp in the middle of an allocation or free "
			 "(a lock may be held)");
	/* It had interrupted lock-free code: nothing is held; count the lists again. busy stays
	 * raised as the trampoline raises it (a handler that leaves this by longjmp too leaves
	 * nothing that another repair does not mend). */
	c->busy = MCACHE_BUSY_SIGNAL;
	c->nsig = 0;
	ga_compiler_barrier();
	repair_lists(c);
	ga_compiler_barrier();
	c->sig_checking = 0;
	ga_compiler_barrier();
	c->busy = 0;
	return 0;
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

/* p carries the mark of a free block (mcache_push): end the program if it is free — on this
 * thread's list or outbox of its class (a second free), or a slot of its span that is not allocated (a
 * second free that reached the span, or a free of a slot never handed out). A block on another
 * thread's list or in a batch is not found: `certain` (the 64-bit free key matched, which no live
 * block carries) ends the program anyway; the 8-byte class, whose mark is only a plausible link,
 * returns and the block is pushed (a live block that merely looks free is freed as it should). */
static void check_marked_free(struct mcache *c, void *p, struct mspan *s, int certain)
{
	uint8_t sc = s->spanclass;
	uint32_t n = mcache_list_count(&c->fl[sc]);
	void *q = c->fl[sc].head;
	for (uint32_t i = 0; q && i <= n; i++, q = mcache_link_next(q)) /* (bounded: the count may lag) */
		if (q == p)
			ga_double_free(p);
	q = c->out[sc].head; /* and its outbox of the class */
	for (uint32_t i = 0; q && i < c->out[sc].n; i++, q = ga_link_get(q))
		if (q == p)
			ga_double_free(p);
	int never = 0;
	if (mcentral_slot_is_free(&ga_central[sc], s, p, &never)) {
		if (never)
			ga_fatal("free(): invalid pointer %p (not an allocated block)", p);
		ga_double_free(p);
	}
	if (certain)
		ga_double_free(p);
}

/* How many blocks outbox sc of c gathers before it goes to its owner: half its list's bound, at
 * most MCACHE_OUTBOX_MAX (tunables.h), at least 1. */
static uint32_t outbox_cap(const struct mcache *c, uint8_t sc)
{
	uint32_t cap = c->fl[sc].cap / 2;
	return cap > MCACHE_OUTBOX_MAX ? MCACHE_OUTBOX_MAX : cap ? cap : 1;
}

/* Send outbox sc to its owner's inbox. If the inbox would go over its bound, its blocks go to the
 * transfer cache as one batch, for the next thread that runs out (or back to their spans if that
 * is full), and the outbox into the emptied inbox. If it is closed (its owner exited), this thread adopts the spans
 * and takes the blocks on its own list. */
static void outbox_flush(struct mcache *c, uint8_t sc)
{
	struct mcache_outbox *o = &c->out[sc];
	void *head = o->head, *tail = o->tail;
	uint32_t n = o->n;
	if (!n)
		return;
	o->head = o->tail = NULL;
	o->n = 0;
	struct mowner_inbox *in = &ga_owners[o->owner].in[sc];
	for (;;) {
		int r = mowner_push_chain(in, head, tail, n, list_cap(sc));
		if (r == MOWNER_PUSHED)
			return;
		if (r == MOWNER_IS_CLOSED) {
			MOWNER_COUNT(closed, n);
			break;
		}
		/* Park what the inbox holds (at most a list's bound: a batch must fit the list of the
		 * thread that takes it) and push the outbox into the emptied inbox. */
		MOWNER_COUNT(full, 1);
		uint32_t m;
		void *chain = mowner_take(in, 0, &m);
		if (chain && !mcentral_put_batch(&ga_central[sc], chain, m))
			mcentral_free_list(&ga_central[sc], chain, m);
	}
	struct mspan *last = NULL;
	for (uint32_t i = 0; i < n; i++) { /* (n blocks: a failed push may have linked tail onward) */
		void *next = i + 1 < n ? mcache_link_next(head) : NULL;
		struct mspan *s = span_of((uintptr_t)head);
		if (s != last && c->owner_bits)
			mheap_set_span_owner(s, c->owner_bits);
		last = s;
		c->nmalloc_base[sc]++; /* (push_and_trim counts a free; this one was counted) */
		c->nfree[sc]--;
		push_and_trim(c, head, sc);
		head = next;
	}
}

/* Mark p free and add it to outbox sc, which is empty or holds blocks of the same owner (busy
 * raised). A free that leaves this thread's list as it was: the handed-out count stays. */
static void outbox_add(struct mcache *c, uint8_t sc, void *p, uint32_t owner)
{
	struct mcache_outbox *o = &c->out[sc];
	MOWNER_COUNT(remote, 1);
	if (sc > 3)
		mcache_set_key(p, ga_free_key);
	ga_link_set(p, o->head);
	if (!o->n)
		o->tail = p;
	o->head = p;
	o->owner = owner;
	o->n++;
	c->nfree[sc]++;
	c->nmalloc_base[sc]--;
}

/* Block p of span s (checked, not yet marked free) belongs to another owner than this thread
 * (mowner.h): add it to the outbox of its class, which goes to that owner when it is full or
 * when a block of another owner comes, and return 1. If its span has no owner, adopt the span
 * and return 0: the caller pushes p on this thread's list. */
static int free_remote(struct mcache *c, void *p, struct mspan *s)
{
	uint8_t sc = s->spanclass;
	uint32_t owner = page_entry_owner(page_class_of((uintptr_t)p)) >> PAGE_OWNER_SHIFT;
	if (owner == c->owner)
		return 0; /* (the fast path missed for another reason) */
	if (!owner) {
		if (c->owner_bits)
			mheap_set_span_owner(s, c->owner_bits);
		return 0;
	}
	struct mcache_outbox *o = &c->out[sc];
	if (o->n && o->owner != owner)
		outbox_flush(c, sc);
	outbox_add(c, sc, p, owner);
	if (o->n >= outbox_cap(c, sc))
		outbox_flush(c, sc);
	return 1;
}

int mcache_free_remote(struct mcache *c, void *p, uintptr_t info)
{
	uint8_t sc = (uint8_t)page_entry_spanclass(info);
	uint32_t owner = page_entry_owner(info) >> PAGE_OWNER_SHIFT;
	struct mcache_outbox *o = &c->out[sc];
	if (!owner || c->state != MCACHE_LIVE || (o->n && o->owner != owner) || o->n + 1 >= outbox_cap(c, sc))
		return 0;
	mcache_enter(c);
	outbox_add(c, sc, p, owner);
	mcache_leave(c);
	return 1;
}

void mcache_free_slow(struct mcache *c, void *p, struct mspan *s)
{
	uint8_t sc = s->spanclass;
	if (p) { /* the fast path did nothing: re-entry, or a block that looks free */
		if (c->busy) {
			if (mcache_busy_live(c)) {
				defer_free(c, p, s);
				return;
			}
			/* busy had been left behind by a handler (now lowered): free as the fast paths do */
			if (mspan_is_large(s)) {
				mcache_enter(c);
				mcache_large_free(c, s);
				drain_deferred(c);
				mcache_leave(c);
				return;
			}
			int r = mcache_push(mcache_here(), p, sc, sc > 3, page_entry_owner(page_class_of((uintptr_t)p)));
			if (r == MCACHE_PUSHED)
				return;
			if (r == MCACHE_PUSH_FLUSH)
				return mcache_free_slow(c, NULL, s);
		}
		mcache_enter(c);
		if (sc > 3) {
			ga_track_open((char *)p + 8, 8);
			uint64_t k = ((uint64_t *)p)[1];
			ga_track_close((char *)p + 8, 8);
			/* (A match of the key's low half only, by chance, ends here: the block is pushed.) */
			if (k == ga_free_key)
				check_marked_free(c, p, s, 1);
		} else if (mcache_tiny_looks_free(p)) {
			check_marked_free(c, p, s, 0);
		}
		if (c->state == MCACHE_NONE)
			mcache_setup(c);
		if (c->state != MCACHE_LIVE)
			free_direct(p, s);
		else if (!free_remote(c, p, s))
			push_and_trim(c, p, sc);
	} else { /* the fast path pushed and the list went over its bound */
		mcache_enter(c);
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
	scavenge_poll();
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
	s = mcentral_cache_span(&ga_central[sc], c->owner_bits);
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
	int32_t n = (int32_t)(l->cap / MCACHE_CARVE_DIV);
	if (n > MCACHE_CARVE_MAX)
		n = MCACHE_CARVE_MAX;
	if (n > l->room)
		n = l->room;
	void *first = NULL, *last = NULL; /* kept in address order: handed out ascending */
	int32_t got = 0;
	while (got < n) {
		void *q = mspan_next_free_fast(s);
		if (!q)
			break;
		if (sc > 3) /* (free slots carry the key already: mcentral marks them) */
			mcache_set_key(q, ga_free_key);
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
static ga_lock_t orphan_lock = GA_LOCK_INIT(GA_RANK_ORPHAN);

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
			ga_track_open((char *)p + 8, 8); /* defer_free's mark: a cached span's block is free by */
			((uint64_t *)p)[1] = 0;          /* its state, and the block may be handed out again */
			ga_track_close((char *)p + 8, 8);
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

/* Hand out p (NULL: nothing) of class sc from a slow path, without the mark of a free block. */
static void *unmark(void *p, uint8_t sc)
{
	if (p)
		mcache_unmark(p, sc);
	return p;
}

void *mcache_alloc_slow(struct mcache *c, uint8_t sc, size_t size)
{
	if (c->busy) {
		if (mcache_busy_live(c)) { /* the class's size: a multiple of any alignment it was chosen for */
			size_t csize = ga_class_to_size[GA_SPANCLASS_SIZECLASS(sc)];
			return mcache_alloc_reentrant(c, csize > size ? csize : size);
		}
		void *p = mcache_pop(mcache_here(), sc); /* (busy was left behind, now lowered) */
		if (p)
			return p;
	}
	if (GA_UNLIKELY(sc == 0)) /* the lookup table was not filled yet: start up */
		return NULL;
	if (c->state != MCACHE_LIVE) {
		if (c->state == MCACHE_DEAD)
			return unmark(alloc_orphan(c, sc), sc);
		mcache_setup(c);
	}
	mcache_enter(c);
	drain_deferred(c);
	struct mcache_list *l = &c->fl[sc];
	void *p = l->head;
	if (p) {
		l->head = mcache_link_next(p);
		l->room++;
	} else {
		uint32_t n;
		if (l->cap < list_cap(sc)) { /* the thread allocates this class again: full bound */
			list_set_cap(l, list_cap(sc));
			c->freeonly_overflows[sc] = 0;
		}
		/* Blocks other threads freed to this one (mowner.h); else those this thread freed for
		 * another owner and has not sent yet (still in its cache: a thread that frees what
		 * another allocated and allocates the same sizes reuses them, as it would without
		 * owners); else a batch another thread trimmed. The first block is ours, the rest listed. */
		p = NULL;
		if (c->out[sc].n) {
			p = c->out[sc].head;
			n = c->out[sc].n;
			c->out[sc].head = c->out[sc].tail = NULL;
			c->out[sc].n = 0;
		} else if (c->owner && (p = mowner_take(&ga_owners[c->owner].in[sc], 0, &n))) {
			MOWNER_COUNT(taken, 1);
			MOWNER_COUNT(taken_blocks, n);
		} else
			p = mcentral_get_batch(&ga_central[sc], &n);
		if (p) {
			l->head = mcache_link_next(p);
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
	return unmark(p, sc);
}

void mcache_thread_exit(void *arg)
{
	struct mcache *c = arg;
	if (c != &ga_mcache || c->state != MCACHE_LIVE)
		return;
	mcache_enter(c);
	drain_deferred(c);
	if (ga_checking())
		mcache_check(c);
	mcache_release_all(c);
	for (unsigned sc = 0; sc < GA_NUM_SPAN_CLASSES; sc++) {
		c->fl[sc].cap = 0;
		c->fl[sc].room = 0;
		if (c->owner) /* frees that find it closed adopt their spans */
			release_inbox(c, (uint8_t)sc, 1);
	}
	c->state = MCACHE_DEAD;
	threads_unregister(c);
	mcache_leave(c);
}

void mcache_fork_prepare(void) { ga_lock(&orphan_lock); }
void mcache_fork_parent(void) { ga_unlock(&orphan_lock); }
void mcache_fork_child(void) { ga_lock_reinit(&orphan_lock); }

/* (a cached span's record, once made, is never unmapped: reading large[] from another thread
 * while it changes only makes the sum approximate) */
void mcache_counts(const struct mcache *c, struct mcache_counts *out)
{
	for (unsigned sc = 0; sc < GA_NUM_SPAN_CLASSES; sc++) {
		out->nmalloc[sc] = mcache_nmalloc(c, sc);
		out->nfree[sc] = __atomic_load_n(&c->nfree[sc], __ATOMIC_RELAXED);
	}
	int64_t live = __atomic_load_n(&c->large_held, __ATOMIC_RELAXED);
	uint32_t n = __atomic_load_n(&c->nlarge, __ATOMIC_RELAXED);
	for (uint32_t i = 0; i < n && i < MCACHE_LARGE_SLOTS; i++) {
		struct mspan *s = __atomic_load_n(&c->large[i], __ATOMIC_RELAXED);
		if (s)
			live -= (int64_t)__atomic_load_n(&s->elemsize, __ATOMIC_RELAXED);
	}
	out->large_live = live;
}

/* ---- Verifier (check.h) ---------------------------------------------------------------- */

/* Is p the start of a slot of s, an in-use span of class sc? (s: span_of(p), or NULL) */
static int slot_of_class(const struct mspan *s, void *p, unsigned sc)
{
	return s && atomic_load_explicit(&s->state, memory_order_acquire) == MSPAN_INUSE && s->spanclass == sc &&
	       mspan_is_slot_start(s, (uintptr_t)p);
}

void mcache_check(struct mcache *c)
{
	for (unsigned sc = 2; sc < GA_NUM_SPAN_CLASSES; sc++) {
		struct mcache_list *l = &c->fl[sc];
		if (l->room > (int32_t)l->cap)
			ga_check_failed("mcache %p: list %u: room %d above cap %u", (void *)c, sc, l->room, l->cap);
		uint32_t count = mcache_list_count(l), n = 0;
		for (void *p = l->head; p; p = ga_link_get(p), n++) {
			struct mspan *s = n < count ? span_of((uintptr_t)p) : NULL;
			if (n >= count)
				ga_check_failed("mcache %p: list %u: more blocks than cap - room = %u", (void *)c, sc, count);
			if (!slot_of_class(s, p, sc))
				ga_check_failed("mcache %p: list %u: block %u (%p) is not a slot of a span of class %u",
						(void *)c, sc, n, p, sc);
		}
		if (n != count)
			ga_check_failed("mcache %p: list %u: cap - room = %u, found %u blocks", (void *)c, sc, count, n);
		struct mcache_outbox *o = &c->out[sc];
		void *q = o->head, *last = NULL;
		for (uint32_t i = 0; i < o->n; i++, last = q, q = ga_link_get(q)) {
			if (!slot_of_class(q ? span_of((uintptr_t)q) : NULL, q, sc))
				ga_check_failed("mcache %p: outbox %u: block %u (%p) is not a slot of a span of class %u",
						(void *)c, sc, i, q, sc);
		}
		if (q || last != o->tail || (o->n && (!o->owner || o->owner >= MOWNER_MAX)))
			ga_check_failed("mcache %p: outbox %u: %u blocks should end at %p (owner %u), found %p then %p",
					(void *)c, sc, o->n, o->tail, o->owner, last, q);
		struct mspan *s = c->alloc[sc];
		if (s) {
			GA_CHECK_EQ(s->base, "incache (cached by an mcache)", 1, s->incache);
			GA_CHECK_EQ(s->base, "spanclass (of its mcache slot)", sc, s->spanclass);
			GA_CHECK_EQ(s->base, "list (cached by an mcache)", MSPAN_LIST_NONE, s->list);
			mspan_check(s);
		}
	}
	if (c->nlarge > MCACHE_LARGE_SLOTS || mcache_large_bytes(c) > MCACHE_LARGE_BYTES)
		ga_check_failed("mcache %p: %u large spans, %llu bytes, above the bounds", (void *)c, c->nlarge,
				(unsigned long long)mcache_large_bytes(c));
	for (unsigned i = 0; i < c->nlarge; i++) {
		struct mspan *s = c->large[i];
		GA_CHECK_EQ(s->base, "state (in an mcache's large stack)", MSPAN_CACHED,
			    atomic_load_explicit(&s->state, memory_order_relaxed));
		mspan_check_layout(s);
	}
}
