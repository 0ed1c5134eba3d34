/* mcache.h — the per-thread cache (Go: mcache, one per P; here a thread is a P).
 *
 * It lives in initial-exec TLS, so reaching it is one %fs-relative address. For each span class
 * it holds a short LIFO free list of blocks this thread freed (tcmalloc's idea in front of Go's
 * bitmaps: explicit free makes a block reusable at once without touching the span) and the span
 * it currently allocates from with Go's allocCache/ctz (alloc[]). No locks on its paths; only
 * the owning thread touches it, except the collector and fork while the thread is stopped.
 *
 * Fast paths (below) do one list pop or push. Everything else — empty list, full list, first use,
 * a dead thread, re-entry from a signal handler — is in mcache.c.
 */
#ifndef GA_MCACHE_H
#define GA_MCACHE_H
#include "ga.h"
#include "mspan.h"
#include "track.h"

enum { MCACHE_NONE = 0, MCACHE_LIVE = 1, MCACHE_DEAD = 2 };

struct mcache_list {
	void *head;     /* free blocks of this span class, linked through their first word */
	uint32_t count; /* blocks on the list */
	uint32_t cap;   /* flush when count exceeds cap; 0 until the cache is set up (forces the
			   first free into the slow path, which sets it up) and after it dies */
};

struct mcache {
	struct mcache_list fl[GA_NUM_SPAN_CLASSES];
	/* > 0 while this thread runs allocator code that a signal handler must not re-enter. */
	uint32_t busy;
	uint32_t state; /* MCACHE_* */
	/* Per span class: blocks handed out and taken back by this thread (flushed to the global
	 * totals when the thread exits). */
	uint64_t nmalloc[GA_NUM_SPAN_CLASSES];
	uint64_t nfree[GA_NUM_SPAN_CLASSES];
	struct mspan *alloc[GA_NUM_SPAN_CLASSES]; /* span being carved per class, or NULL */
	void *_Atomic deferred; /* blocks freed by a signal handler while busy; drained later */
	struct mcache *next, *prev; /* thread registry; under the registry lock */
};

GA_HIDDEN extern __thread struct mcache ga_mcache __attribute__((tls_model("initial-exec")));
/* Random per-process value written into the second word of a block when it is freed (classes of
 * 16 bytes and more) and cleared when the block is handed out: seeing it again in free() means
 * the block is already free. */
GA_HIDDEN extern uint64_t ga_free_key;

/* Slow paths (mcache.c). */
GA_HIDDEN void *mcache_alloc_slow(struct mcache *c, uint8_t spanclass, size_t size);
GA_HIDDEN void mcache_free_slow(struct mcache *c, void *p, struct mspan *s);
GA_HIDDEN void mcache_release_all(struct mcache *c);
/* malloc from a signal handler that interrupted this thread inside goalloc (busy set): a mapping
 * of its own, no lock taken. free/usable size recognise such blocks with the two below. */
GA_HIDDEN void *mcache_alloc_reentrant(struct mcache *c, size_t size);
GA_HIDDEN int mcache_free_reentrant(void *p);     /* 1 if p was such a block (now unmapped) */
GA_HIDDEN size_t mcache_reentrant_size(const void *p); /* its size, or 0 if p is not one */
GA_HIDDEN void mcache_thread_exit(void *arg);
GA_HIDDEN void mcache_fork_prepare(void);
GA_HIDDEN void mcache_fork_parent(void);
GA_HIDDEN void mcache_fork_child(void);

GA_INLINE void ga_compiler_barrier(void)
{
	atomic_signal_fence(memory_order_seq_cst);
}

/* Pop a block of span class sc from this thread's free list. busy is raised before the list is
 * read: a signal handler that runs in between must see the thread as inside goalloc. */
GA_INLINE void *mcache_alloc(struct mcache *c, uint8_t sc, size_t size)
{
	struct mcache_list *l = &c->fl[sc];
	if (GA_UNLIKELY(c->busy))
		return mcache_alloc_slow(c, sc, size);
	c->busy = 1;
	ga_compiler_barrier();
	void *p = l->head;
	if (GA_UNLIKELY(!p)) {
		ga_compiler_barrier();
		c->busy = 0;
		return mcache_alloc_slow(c, sc, size);
	}
	l->head = ga_link_get(p);
	l->count--;
	c->nmalloc[sc]++;
	ga_compiler_barrier();
	c->busy = 0;
	if (sc > 3) { /* classes ≥ 16 bytes carry the free key in word 1 */
		ga_track_open((char *)p + 8, 8);
		((uint64_t *)p)[1] = 0;
	}
	return p;
}

/* Push block p (validated: the start of a slot of small span s) on this thread's free list. */
GA_INLINE void mcache_free(struct mcache *c, void *p, struct mspan *s)
{
	uint8_t sc = s->spanclass;
	struct mcache_list *l = &c->fl[sc];
	if (sc > 3)
		ga_track_open((char *)p + 8, 8); /* the program may never have written word 1 */
	if (GA_UNLIKELY(c->busy || p == l->head || (sc > 3 && ((uint64_t *)p)[1] == ga_free_key))) {
		mcache_free_slow(c, p, s);
		return;
	}
	c->busy = 1;
	ga_compiler_barrier();
	if (sc > 3)
		((uint64_t *)p)[1] = ga_free_key;
	ga_link_set(p, l->head);
	l->head = p;
	c->nfree[sc]++;
	if (GA_UNLIKELY(++l->count > l->cap)) {
		mcache_free_slow(c, NULL, s); /* flush; clears busy */
		return;
	}
	ga_compiler_barrier();
	c->busy = 0;
}
#endif
