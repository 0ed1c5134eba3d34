/* mgc.h — the collector: a conservative, stop-the-world tri-color mark-sweep over goalloc's heap
 * (Go: runtime/mgc.go, mgcmark.go, mgcsweep.go; bdwgc for what a conservative collector needs).
 *
 * GOALLOC_GC=off (the default) leaves the allocator exactly as it is: no thread, no signal
 * handler, no site records, the fast paths unchanged. In report and collect mode:
 *   - every request is padded by one byte (ga_size_pad), so that a pointer one past the end of a
 *     block still points into it;
 *   - a cycle runs when the heap reaches its goal (checked on the span allocation path only),
 *     every GOALLOC_FORCEGC seconds from a background thread, on goalloc_gc(), and at exit in
 *     report mode;
 *   - a cycle takes every goalloc lock, stops every other thread (stw.h), reads the roots (every
 *     writable private or shared anonymous mapping less goalloc's own, stacks from each stopped
 *     thread's stack pointer, registers), marks from them with an explicit gray stack, and lists
 *     the allocated blocks left unmarked (mgcmark.c; collect mode frees the small ones there, in
 *     their spans); then the world runs again and the list is reported or freed (mgcsweep.c).
 * A block is free when it carries the free mark (the free key in word 1, or the 8-byte class's
 * plausible link: mcache.h), when its large span is cached, or when it waits in a thread's
 * deferred frees; every other slot of an in-use span is allocated. Free blocks are neither marked
 * nor scanned nor reported, wherever they wait (lists, outboxes, inboxes, transfer batches, the
 * orphan cache, spans).
 */
#ifndef GA_MGC_H
#define GA_MGC_H
#include "ga.h"

enum { GC_OFF = 0, GC_REPORT = 1, GC_COLLECT = 2 };

/* The mode, fixed at start-up (gc_init). */
GA_HIDDEN extern int ga_gc_mode;
/* Bytes added to every request: 1 in the GC modes (a one-past-the-end pointer stays inside its
 * block), 0 otherwise. */
GA_HIDDEN extern size_t ga_size_pad;
/* realloc of a small block keeps it in place while n + ga_realloc_slack ≤ its class size:
 * ga_size_pad, or in report mode more than any class, so that every realloc goes through
 * the slow path that records the block's new size and site. */
GA_HIDDEN extern size_t ga_realloc_slack;
/* A cycle is wanted: the heap reached its goal (set under the mheap lock, read on slow paths). */
GA_HIDDEN extern _Atomic int ga_gc_wanted;
/* The heap's goal in pages of in-use spans (mheap's pages_inuse): reaching it sets ga_gc_wanted.
 * UINT64_MAX when off. */
GA_HIDDEN extern uint64_t ga_gc_trigger_pages;

/* Report mode: the return address of the malloc call being served, noted on entry to each slow
 * path the entry points tail-call (so that its return address is the program's: the build keeps
 * sibling calls in every flavour; a fast path that read it would need a stack frame), the first
 * one winning as a slow path may call another; taken by gc_record_alloc. */
GA_HIDDEN extern __thread const void *ga_gc_site __attribute__((tls_model("initial-exec")));
#define GC_NOTE_SITE()                                                    \
	do {                                                              \
		if (!ga_gc_site)                                          \
			ga_gc_site = __builtin_return_address(0);          \
	} while (0)

/* Start-up, once the options are read (init.c's constructor). */
GA_HIDDEN void gc_init(void);
/* ga_lock_all's part: the lock of the site arrays and the ignore list (rank GA_RANK_GCSITES). */
GA_HIDDEN void gc_fork_prepare(void);
GA_HIDDEN void gc_fork_parent(void);
GA_HIDDEN void gc_fork_child_locks(void);
/* After fork, in the child (pthread_atfork). */
GA_HIDDEN void gc_fork_child(void);
/* At exit (init.c's destructor): the last cycle and the leak report in report mode. */
GA_HIDDEN void gc_exit(void);

/* A slow path has just allocated (busy lowered, no lock held): run the wanted cycle. The block
 * it returns is passed so that it is live in this frame while the cycle scans the stack. */
GA_HIDDEN void gc_poll_slow(void *keep);
GA_INLINE void gc_poll(void *keep)
{
	if (GA_UNLIKELY(atomic_load_explicit(&ga_gc_wanted, memory_order_relaxed)))
		gc_poll_slow(keep);
}

/* Report mode: record the new block p of n requested bytes (its caller and, sampled, its stack)
 * in its span's site array. No lock held. */
GA_HIDDEN void gc_record_alloc(void *p, size_t n);
GA_INLINE void gc_note_alloc(void *p, size_t n)
{
	if (GA_UNLIKELY(ga_gc_mode == GC_REPORT) && p)
		gc_record_alloc(p, n);
}
/* A span's pages go back to the heap (mheap, lock held): its site array goes back to the pool. */
struct mspan;
GA_HIDDEN void gc_span_freed(struct mspan *s);

/* The API (preload/goalloc.h). */
struct goalloc_gc_stats;
GA_HIDDEN int gc_run_now(void);
GA_HIDDEN void gc_get_stats(struct goalloc_gc_stats *out);
GA_HIDDEN int gc_ignore(const void *p);

/* ---- Between mgc.c, mgcmark.c and mgcsweep.c ---------------------------------------------- */

/* One block found unreachable by a cycle. */
struct gc_garbage {
	uintptr_t obj;
	uint32_t size;     /* requested bytes (report mode), else the class size; saturated */
	uint8_t direct;    /* 1: no pointer to it from any block either (mgcsweep) */
	uint8_t sizeclass; /* its size class; 0 large */
	uint16_t pad_;
	uintptr_t pc;      /* the caller of its malloc (report mode), 0 unknown */
	uint32_t stack;    /* sampled stack id (gcsite.h), 0 none */
	uint32_t reported; /* already reported during the run */
};

struct gc_cycle {
	/* Mark results. */
	uint64_t marked_bytes, marked_objects;
	uint64_t heap_bytes;         /* bytes of in-use spans at the start */
	uint64_t roots_bytes, stack_bytes, globals_bytes;
	unsigned nthreads;
	/* Garbage (allocated blocks left unmarked), in address order; from GC memory. */
	struct gc_garbage *garbage;
	uint64_t ngarbage, garbage_cap, garbage_bytes;
	/* Collect mode: small blocks freed in their spans by the mark's sweep (Go's gcmarkBits
	 * becoming allocBits), and the spans left empty, linked through next, to give back to the
	 * mheap once the world runs; only large blocks (and with GOALLOC_GC_VERIFY every block) are
	 * listed in garbage. */
	uint64_t swept_objects, swept_bytes;
	struct mspan *release;
	char why[200];               /* why the cycle was abandoned */
};

/* mgcmark.c, with the world stopped and every goalloc lock held: clear the mark bits, mark from
 * the roots (threads: the stopped ones, plus the caller's own stack above `self_sp`), then list
 * the garbage and, in report mode, tell direct from indirect; in collect mode sweep the small
 * spans instead of listing their garbage (swept_objects, release). -1 (with cy->why) when the roots
 * could not be read. */
struct stw_world;
GA_HIDDEN int gc_mark(struct gc_cycle *cy, const struct stw_world *w, uintptr_t self_sp);
/* Memory for the collector's own use (gray stack, garbage list, maps buffer): zeroed, from the
 * OS, kept out of the roots (os.h: goalloc's metadata). */
GA_HIDDEN void *gc_mem_grow(void *old, size_t oldsz, size_t newsz);
/* The garbage list's memory is kept from cycle to cycle: gc_mark takes it (gc_garbage_take) and
 * gc_sweep gives back what it does not keep (gc_garbage_give). */
GA_HIDDEN void gc_garbage_take(struct gc_cycle *cy);
GA_HIDDEN void gc_garbage_give(struct gc_garbage *g, uint64_t cap);
/* mgcsweep.c, world running: report or free what gc_mark listed. */
GA_HIDDEN void gc_sweep(struct gc_cycle *cy, int at_exit);
/* Output (trace, reports): GOALLOC_LOG or a copy of stderr. */
GA_HIDDEN int gc_log_fd(void);
GA_HIDDEN uint64_t gc_nanotime(void);
/* Blocks registered with goalloc_gc_ignore: roots (mgcmark.c reads them). */
GA_HIDDEN unsigned gc_ignored(uintptr_t *out, unsigned max);
#endif
