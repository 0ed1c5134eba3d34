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
#include "check.h"
#include "emergency.h"
#include "mspan.h"
#include "tunables.h"
#include "track.h"

enum { MCACHE_NONE = 0, MCACHE_LIVE = 1, MCACHE_DEAD = 2 };

/* One free list per span class. head and room share a struct (and a cache line) on purpose:
 * separate head[] and room[] arrays take fewer instructions but run slower (docs/tuning.md). The
 * blocks a thread handed out are not counted on the fast
 * path; they follow from the other counters:
 *   (blocks handed out) = nmalloc_base[sc] + nfree[sc] − (fl[sc].cap − fl[sc].room)
 * where nmalloc_base counts what reaches or leaves the list other than by malloc and free: +1 per
 * block handed out without passing the list, +n per n blocks put on it from a span or the
 * mcentral, −n per n blocks flushed from it (see mcache_nmalloc). The large classes 0 and 1 have
 * no list: for them nmalloc_base is the count of blocks handed out. */
struct mcache_list {
	void *head;   /* free blocks of this span class, linked through their first word */
	int32_t room; /* cap − (blocks on the list); a free that takes it below 0 flushes */
	uint32_t cap; /* list bound; 0 until the cache is set up (so the first free takes the slow
			 path, which sets it up) and again after the thread's cache is released */
};

GA_INLINE uint32_t mcache_list_count(const struct mcache_list *l)
{
	return (uint32_t)((int32_t)l->cap - l->room);
}

/* Blocks this thread freed that belong to another owner's spans (mowner.h), gathered per class
 * before they go to that owner's inbox in one step: head .. tail, n blocks, linked and marked
 * free as on a list, tail's link NULL; all of owner `owner` (an id). They count as freed by this
 * thread (nfree) and are in no list of its. */
struct mcache_outbox {
	void *head, *tail;
	uint32_t n, owner;
};

/* busy values: raised by a slow path (mcache_enter), or by the signal trampoline around a handler
 * that interrupted goalloc's own code outside a slow path (no lock held there). */
enum { MCACHE_BUSY_SLOW = 1, MCACHE_BUSY_SIGNAL = 2 };

/* One signal handler that runs while busy is raised: live while the stack pointer of the code that
 * asks lies in [lo, frame) — lo is the alternate signal stack's base when the handler runs on
 * it, else 0 — and the word at frame still holds canary (the trampoline's frame is intact). */
#define MCACHE_SIGFRAMES 8
struct mcache_sigframe {
	uintptr_t frame, lo, canary;
	uint32_t saved_busy; /* busy when the handler was entered: restored when it returns */
};

struct mcache {
	struct mcache_list fl[GA_NUM_SPAN_CLASSES];
	union {
		struct {
			/* This thread's owner id as page entries hold it (id << PAGE_OWNER_SHIFT;
			 * mowner.h), 0 without one: free() pushes a block on this thread's list only if
			 * its page carries these bits. Set with the id by threads_register, cleared by
			 * threads_unregister. */
			uint32_t owner_bits;
			/* > 0 while this thread runs allocator code that a signal handler must not
			 * re-enter. */
			uint32_t busy;
		};
		/* Both, for free()'s one test of "not busy, and the block's span is ours":
		 * owner_bits | busy << 32 == the page's owner field. */
		uint64_t owner_busy;
	};
	uint32_t owner; /* the id itself (ga_owners[owner]), 0 without one */
	uint32_t state; /* MCACHE_* */
	/* Per span class: blocks taken back by this thread (every free; for the large classes 0 and 1
	 * too), and the base of the handed-out count above (flushed to the global totals when the
	 * thread exits). */
	uint64_t nfree[GA_NUM_SPAN_CLASSES];
	int64_t nmalloc_base[GA_NUM_SPAN_CLASSES];
	struct mspan *alloc[GA_NUM_SPAN_CLASSES]; /* span being carved per class, or NULL */
	struct mcache_outbox out[GA_NUM_SPAN_CLASSES];
	/* Per span class, for the overflow policy (mcache.c, trim_list): blocks handed out as of the
	 * list's last overflow, and how many overflows in a row saw none handed out since. */
	uint64_t nmalloc_at_overflow[GA_NUM_SPAN_CLASSES];
	uint8_t freeonly_overflows[GA_NUM_SPAN_CLASSES];
	void *_Atomic deferred; /* blocks freed by a signal handler while busy; drained later */
	/* Freed large spans kept for reuse (MSPAN_CACHED), at most MCACHE_LARGE_BYTES in all
	 * (mcache_large_bytes). Their needzero is stale: whoever takes one for calloc sets it. */
	struct mspan *large[MCACHE_LARGE_SLOTS]; /* [0, nlarge): oldest first */
	uint32_t nlarge;
	/* Bytes of large blocks this thread took from the mheap, minus those it gave back to it, plus
	 * what realloc grew or shrank in place. The spans in large[] are counted in it (a free that
	 * keeps its span changes nothing here, nor does a malloc that takes one back: two stores
	 * fewer per malloc+free pair of a large block); the statistics subtract them. A block freed
	 * by another thread than its allocator is counted in one and cached by the other: only the
	 * sum over threads means anything, and it is exact. */
	int64_t large_held;
	struct mcache *next, *prev; /* thread registry; under the registry lock */
	/* Signal handlers running while busy is raised, innermost last (preload/signal.c's
	 * trampoline pushes one before it calls the handler and pops it when the handler returns):
	 * sig[0 .. min(nsig, MCACHE_SIGFRAMES)). A handler that leaves by longjmp leaves its record and
	 * busy behind; mcache_busy_live tells such a dead record from a live one by the stack. */
	uint32_t nsig;
	uint32_t sig_checking; /* mcache_busy_live is at work: the trampoline leaves the records alone */
	struct mcache_sigframe sig[MCACHE_SIGFRAMES];
};

/* Blocks of span class sc this thread handed out (may be read, approximately, from another
 * thread). */
GA_INLINE uint64_t mcache_nmalloc(const struct mcache *c, uintptr_t sc)
{
	if (sc < 2) /* the large classes have no list: their mallocs are counted as they happen */
		return (uint64_t)__atomic_load_n(&c->nmalloc_base[sc], __ATOMIC_RELAXED);
	int64_t n = __atomic_load_n(&c->nmalloc_base[sc], __ATOMIC_RELAXED) +
		    (int64_t)__atomic_load_n(&c->nfree[sc], __ATOMIC_RELAXED) -
		    ((int64_t)__atomic_load_n(&c->fl[sc].cap, __ATOMIC_RELAXED) -
		     __atomic_load_n(&c->fl[sc].room, __ATOMIC_RELAXED));
	return n > 0 ? (uint64_t)n : 0;
}

/* A cache's counters as the statistics read them (stats.c, through mcache_counts only): per
 * span class, blocks handed out and taken back, and the bytes of live large blocks the thread
 * accounts for (large_held less the spans it keeps). Read from another thread they are
 * approximate, as the fields are updated without atomics. */
struct mcache_counts {
	uint64_t nmalloc[GA_NUM_SPAN_CLASSES];
	uint64_t nfree[GA_NUM_SPAN_CLASSES];
	int64_t large_live;
};
GA_HIDDEN void mcache_counts(const struct mcache *c, struct mcache_counts *out);

GA_HIDDEN extern __thread struct mcache ga_mcache __attribute__((tls_model("initial-exec")));
/* Random per-process value written into the second word of a block when it is freed (classes of
 * 16 bytes and more) and cleared when the block is handed out: seeing it again in free() means
 * the block is already free. */
GA_HIDDEN extern uint64_t ga_free_key;

/* Write key (ga_free_key) into word 1 of p, a free block of a class of 16 bytes or more: the
 * mark every free block carries (mcache_push). */
GA_INLINE void mcache_set_key(void *p, uint64_t key)
{
	ga_track_open((char *)p + 8, 8);
	((uint64_t *)p)[1] = key;
	ga_track_close((char *)p + 8, 8);
}

/* Is the busy flag this thread found raised held by live code? 1: yes (take the re-entrant
 * path). 0: it was left behind by a signal handler that never returned (longjmp) after it
 * interrupted goalloc's lock-free code; the thread's lists are made whole again and busy is
 * lowered: go on normally. A handler that left a slow path this way (a lock may be held) ends
 * the program with goalloc's message. Called only with busy raised. */
GA_HIDDEN int mcache_busy_live(struct mcache *c);

GA_INLINE int mcache_busy(struct mcache *c)
{
	return GA_UNLIKELY(c->busy) && mcache_busy_live(c);
}

/* Is the record f dead, seen from stack address sp? */
GA_INLINE int mcache_sigframe_dead(const struct mcache_sigframe *f, uintptr_t sp)
{
	return !(sp >= f->lo && sp < f->frame && *(volatile const uintptr_t *)f->frame == f->canary);
}

/* Slow paths (mcache.c). */
GA_HIDDEN void *mcache_alloc_slow(struct mcache *c, uint8_t spanclass, size_t size);
GA_HIDDEN void mcache_free_slow(struct mcache *c, void *p, struct mspan *s);
/* free() of p, a slot of a small span whose page entry is info, owned by another thread than
 * this one (c), which is not busy, p not marked free: gather it in the outbox of its class if
 * that takes no more than a few stores (1), else leave it to mcache_free_slow (0). */
GA_HIDDEN int mcache_free_remote(struct mcache *c, void *p, uintptr_t info);
GA_HIDDEN void mcache_release_all(struct mcache *c);
/* Large spans (busy raised by the caller). take: a cached span of spanclass with npages to
 * npages + npages/4 pages — of any size for a block that realloc is growing (`growing`) — cut to
 * npages (the tail goes back to the mheap, right after the block), now INUSE and counted as a
 * malloc, or NULL; a remapped span cut for a growing block is made an ordinary one
 * (mheap_unmove_span). keep: cache a span whose block was just freed; 0 if it is not kept (the
 * caller gives it back to the mheap). */
GA_HIDDEN struct mspan *mcache_large_take(struct mcache *c, uint32_t npages, uint8_t spanclass, int growing);
GA_HIDDEN int mcache_large_keep(struct mcache *c, struct mspan *s);
/* free() of the large span s on this thread, past the fast path: counted, then kept or given back
 * to the mheap. */
GA_HIDDEN void mcache_large_free(struct mcache *c, struct mspan *s);
/* Before asking the mheap for npages pages (busy raised): if the heap has fewer free pages
 * holding data than that, it would grow into fresh memory while this thread keeps freed large
 * spans resident; give those back first so they are reused. */
GA_HIDDEN void mcache_large_drain_for(struct mcache *c, uint32_t npages);
/* Give every large span this thread keeps back to the mheap (busy raised; malloc_trim). */
GA_HIDDEN void mcache_large_drain(struct mcache *c);
/* malloc from a signal handler that interrupted this thread inside goalloc (busy set): a block
 * of the emergency reserve (emergency.h), no lock taken and, but for its first use in the
 * process or a full reserve, no system call. free/usable size recognise such blocks with the two
 * below. */
GA_INLINE void *mcache_alloc_reentrant(struct mcache *c, size_t size)
{
	(void)c;
	return emergency_alloc(size);
}
/* 1 if p was such a block (now given back), 0 if it is none */
GA_INLINE int mcache_free_reentrant(void *p)
{
	return emergency_free(p);
}
/* its usable size, or 0 if p is not one */
GA_INLINE size_t mcache_reentrant_size(const void *p)
{
	return emergency_size(p);
}
GA_HIDDEN void mcache_thread_exit(void *arg);
/* Verifier (check.h) of this thread's cache c: each free list holds cap − room blocks, each the
 * start of a slot of its class in an in-use span, the list ending there; each span it caches
 * verified (mspan_check); the large-span stack within its bounds, its spans CACHED. */
GA_HIDDEN void mcache_check(struct mcache *c);
GA_HIDDEN void mcache_fork_prepare(void);
GA_HIDDEN void mcache_fork_parent(void);
GA_HIDDEN void mcache_fork_child(void);

GA_INLINE void ga_compiler_barrier(void)
{
	atomic_signal_fence(memory_order_seq_cst);
}

/* Enter and leave code a signal handler on this thread must not re-enter (see busy): the flag
 * is raised before, and lowered after, every access the barriers fence in. */
GA_INLINE void mcache_enter(struct mcache *c)
{
	c->busy = MCACHE_BUSY_SLOW;
	ga_compiler_barrier();
}

GA_INLINE void mcache_leave(struct mcache *c)
{
	ga_compiler_barrier();
	c->busy = 0;
}

/* This thread's cache seen through %fs (the x86 named address space of GCC and clang): each
 * field is then one %fs-relative access, where a pointer to the cache costs first a load of its
 * linear address (%fs:0) on the path to every list. The fast paths below take it; the slow paths
 * use &ga_mcache. */
#ifndef __has_feature
#define __has_feature(x) 0
#endif
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__) || __has_feature(thread_sanitizer) || \
	__has_feature(address_sanitizer)
/* Sanitizers instrument every access as a plain address: they get the plain pointer. */
typedef struct mcache mcache_here_t;

GA_INLINE mcache_here_t *mcache_here(void)
{
	return &ga_mcache;
}
#else
typedef struct mcache __seg_fs mcache_here_t;

GA_INLINE mcache_here_t *mcache_here(void)
{
	intptr_t tpoff; /* ga_mcache's offset from the thread pointer, from the GOT */
	__asm__("movq ga_mcache@gottpoff(%%rip), %0" : "=r"(tpoff));
	return (mcache_here_t *)tpoff;
}
#endif

/* The fast paths store nothing for the re-entry guard; they only test busy. In the preloaded
 * library every handler the program installs runs behind preload/signal.c's trampoline, which
 * raises busy for the handler's duration when the instruction it interrupted is goalloc's own
 * code (storing busy on the fast paths made them measurably slower: docs/tuning.md). Builds without the trampoline (the unit tests, the goalloc_* build that the
 * ThreadSanitizer tests link) run the same fast paths: there a handler that allocates while it
 * interrupts one is not detected, as with a handler installed by a raw rt_sigaction system call.
 * The slow paths raise busy themselves in every build (mcache_enter): they call into libc, where
 * the interrupted instruction is not goalloc's. The barriers keep the compiler from moving the
 * fast paths' list accesses across the test of busy. */
GA_INLINE void here_enter(mcache_here_t *h)
{
	(void)h;
	ga_compiler_barrier();
}

GA_INLINE void here_leave(mcache_here_t *h)
{
	(void)h;
	ga_compiler_barrier();
}

/* The same for the fast paths of large blocks, which use the plain pointer. */
GA_INLINE void mcache_fast_enter(struct mcache *c)
{
	(void)c;
	ga_compiler_barrier();
}

GA_INLINE void mcache_fast_leave(struct mcache *c)
{
	(void)c;
	ga_compiler_barrier();
}

/* The fast paths. Each returns without calling anything; on a miss the caller tail-calls its
 * slow path, so the compiler keeps no registers alive across a call. A signal handler that runs
 * while one of them reads or writes a list must see the thread as inside goalloc
 * (mcache_alloc_slow/mcache_free_slow then keep away from the lists): see here_enter.
 * Instruction counts on a hit (gcc 12 -O2, x86-64; objdump, and callgrind's 81 per pair with the
 * test loop in scripts/callgrind-pairs.sh): malloc(32) 24, free 46, each including the caller's
 * part in core/malloc.h. Of these, the re-entry guard is 3 each (a load and a test of busy:
 * no build stores anything for it, see here_enter; in free one 64-bit compare tests busy and the
 * span's owner together, owner_busy, after an `and` that takes the owner field from the page
 * entry), the double-free key 1 in malloc (the store
 * that clears it: the malloc family's classes all carry it, mcache_pop_as) and 4 in free, the
 * link's mangling 2 more in each (a load of the secret and a multiply; the xor takes the place of
 * a move) and its check 3 in malloc, free's arena and page lookup 16 and its slot check 9. */

/* Pop a block of span class sc; NULL when the list is empty or the thread is busy. The link
 * that becomes the head is checked first (ga_link_plausible): a corrupted one ends the program
 * rather than becoming a block to hand out. A block leaves without the mark of a free block:
 * classes ≥ 16 bytes have the free key in word 1 cleared, the 8-byte class its link in word 0
 * (mcache_push tells a free 8-byte block by a link that decodes to a plausible block). */
/* The block after p on a free list, checked before it can become a list's head: a link that
 * decodes to no plausible block ends the program (ga_link_plausible). */
GA_INLINE void *mcache_link_next(void *p)
{
	void *n = ga_link_get(p);
	if (GA_UNLIKELY(!ga_link_plausible(n)))
		ga_corrupt_list(p, n);
	return n;
}

/* Clear the mark of a free block from p, a block about to be handed out; keyed: its class is of 16
 * bytes or more. */
GA_INLINE void mcache_unmark_as(void *p, int keyed)
{
	if (keyed) { /* classes ≥ 16 bytes carry the free key in word 1 */
		ga_track_open((char *)p + 8, 8);
		((uint64_t *)p)[1] = 0;
	} else {
		ga_track_open(p, 8);
		((uint64_t *)p)[0] = 0;
	}
}

/* ... of class sc. */
GA_INLINE void mcache_unmark(void *p, uintptr_t sc)
{
	mcache_unmark_as(p, sc > 3);
}

/* The pop itself; keyed: sc is a class of 16 bytes or more, or its list is empty (the fast paths
 * of the malloc family, whose classes all are: see fill_malloc_classes; they spare the test). */
GA_INLINE void *mcache_pop_as(mcache_here_t *h, uintptr_t sc, int keyed)
{
	if (GA_UNLIKELY(h->busy))
		return NULL;
	here_enter(h);
	void *p = h->fl[sc].head;
	if (GA_LIKELY(p)) {
		h->fl[sc].head = mcache_link_next(p);
		h->fl[sc].room++;
	}
	here_leave(h);
	if (p) {
		GA_ASSERT(!keyed || sc > 3, "keyed pop of class %u", (unsigned)sc);
		mcache_unmark_as(p, keyed);
	}
	return p;
}

GA_INLINE void *mcache_pop(mcache_here_t *h, uintptr_t sc)
{
	return mcache_pop_as(h, sc, sc > 3);
}

enum { MCACHE_PUSHED = 0, MCACHE_PUSH_SLOW = 1, MCACHE_PUSH_FLUSH = 2, MCACHE_PUSH_REMOTE = 3 };

/* The push itself (inside the guard: here_enter): write the key (keyed classes), link p in,
 * count it. Returns the room left; below 0 the list must be trimmed. The link is written before
 * p becomes the head (the barrier keeps that order), so a push abandoned at any instruction — a
 * signal handler that never returned (mcache_busy_check) — leaves a well-formed list. */
GA_INLINE int32_t mcache_list_push(mcache_here_t *h, void *p, uintptr_t sc, int keyed, uint64_t key)
{
	if (keyed)
		mcache_set_key(p, key);
	ga_link_set(p, h->fl[sc].head);
	ga_compiler_barrier();
	h->fl[sc].head = p;
	h->nfree[sc]++;
	return --h->fl[sc].room;
}

/* Does the 8-byte block p look free? Its first word decodes to a plausible link. A live block
 * passes only by chance (about 2^-24 of values and addresses: pop clears the word, and 0 decodes
 * to the mask, random); mcache_free_slow confirms before it ends the program. */
GA_INLINE int mcache_tiny_looks_free(void *p)
{
	return ga_link_plausible(ga_link_get(p));
}

/* Push block p (the start of a slot of a small span of class sc) on this thread's list.
 * keyed: the class has room for the free key (≥ 16 bytes). owner: the owner field of p's page
 * entry (page_entry_owner). Every free block carries its mark —
 * on a list, in a batch or an inbox, or a slot of its span never handed out (mcentral marks a
 * span's slots when it comes from the heap): the free key in word 1, or in the 8-byte class a
 * link that decodes to a plausible block (mcache_tiny_looks_free). A free of a block that carries
 * it is a second free, or a free of a slot never handed out: the slow path confirms and ends the
 * program. The key test reads only bytes 8..11: a program that just wrote the block's last byte
 * (byte 15 of a 16-byte block) would otherwise stall the load on store forwarding; a match on the
 * low half is confirmed on all 64 bits by the slow path. A block of a span this thread does not
 * own goes to the slow path too, which sends it to its owner (mowner.h).
 * MCACHE_PUSH_SLOW: nothing done (busy, or p looks already free) — call mcache_free_slow(c, p, s);
 * MCACHE_PUSH_REMOTE: nothing done: p is of another owner's span — call mcache_free_remote, then
 * if that declines mcache_free_slow(c, p, s);
 * MCACHE_PUSH_FLUSH: pushed, and the list is over its bound — call mcache_free_slow(c, NULL, s). */
GA_INLINE int mcache_push(mcache_here_t *h, void *p, uintptr_t sc, int keyed, uint32_t owner)
{
	uint64_t key = ga_free_key;
	if (keyed)
		ga_track_open((char *)p + 8, 4); /* the program may never have written word 1 */
	int marked = keyed ? ((uint32_t *)p)[2] == (uint32_t)key : mcache_tiny_looks_free(p);
	if (GA_UNLIKELY(h->owner_busy != owner || marked)) { /* (busy, or another owner's block) */
		if (keyed)
			ga_track_close((char *)p + 8, 4);
		return h->busy || marked ? MCACHE_PUSH_SLOW : MCACHE_PUSH_REMOTE;
	}
	here_enter(h);
	if (GA_UNLIKELY(mcache_list_push(h, p, sc, keyed, key) < 0))
		return MCACHE_PUSH_FLUSH;
	here_leave(h);
	return MCACHE_PUSHED;
}

/* Large blocks, the common case of a malloc/free loop of one size (inside the guard:
 * mcache_fast_enter): take the most recently freed span if it has exactly npages pages, or push
 * a freed span while there is room. Anything else goes to mcache_large_take/mcache_large_keep. */

/* The stack itself: remove entry i, or push s as CACHED. Its bytes are summed when needed
 * rather than kept in a field, a cached span's needzero is set when it is taken for calloc
 * (mcache_large_take), not when it is pushed, and a span on it still counts in large_held: five
 * stores fewer per malloc+free pair of a large block, for a loop over at most 8 entries on a
 * free (docs/tuning.md has what that measured). */
GA_INLINE uint64_t mcache_large_bytes(const struct mcache *c)
{
	uint64_t bytes = 0;
	for (unsigned i = 0; i < c->nlarge; i++)
		bytes += c->large[i]->elemsize;
	return bytes;
}

GA_INLINE struct mspan *large_stack_remove(struct mcache *c, unsigned i)
{
	struct mspan *s = c->large[i];
	for (unsigned k = i; k + 1 < c->nlarge; k++)
		c->large[k] = c->large[k + 1];
	c->nlarge--;
	return s;
}

GA_INLINE void large_stack_push(struct mcache *c, struct mspan *s)
{
	atomic_store_explicit(&s->state, MSPAN_CACHED, memory_order_relaxed);
	c->large[c->nlarge++] = s;
}

GA_INLINE struct mspan *mcache_large_pop_exact(struct mcache *c, uint32_t npages)
{
	uint32_t k = c->nlarge;
	if (!k)
		return NULL;
	struct mspan *s = c->large[k - 1];
	if (s->npages != npages || s->spanclass != 0)
		return NULL;
	c->nlarge = k - 1; /* (large_stack_remove of the top entry) */
	atomic_store_explicit(&s->state, MSPAN_INUSE, memory_order_relaxed);
	c->nmalloc_base[0]++;
	return s;
}

GA_INLINE int mcache_large_push_fast(struct mcache *c, struct mspan *s)
{
	if (c->state != MCACHE_LIVE || c->nlarge == MCACHE_LARGE_SLOTS ||
	    mcache_large_bytes(c) + s->elemsize > MCACHE_LARGE_BYTES)
		return 0;
	large_stack_push(c, s);
	c->nfree[s->spanclass]++;
	return 1;
}

/* Allocate a block of span class sc: list, then span, then mcentral. NULL if out of memory. */
GA_INLINE void *mcache_alloc(struct mcache *c, uint8_t sc, size_t size)
{
	void *p = mcache_pop(mcache_here(), sc); /* (c is this thread's cache) */
	return GA_LIKELY(p) ? p : mcache_alloc_slow(c, sc, size);
}

#endif
