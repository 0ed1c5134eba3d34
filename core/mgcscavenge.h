/* mgcscavenge.h — the scavenger (Go: mgcscavenge.go): free pages beyond what the heap is expected
 * to need go back to the OS with madvise(MADV_DONTNEED).
 *
 *   - scavengeGoal: 1.1 × heapInUse (the highest of the last few samples, so a heap that shrinks
 *     and grows back within a fraction of a second keeps its pages), or 1.1 × the collector's
 *     heap goal when it runs and that is more (scavenge_set_goal). retained = heapInUse + free
 *     pages holding data.
 *   - The background scavenger (Go's bgscavenge) releases what retained has over the goal in
 *     64 KiB quanta, working at least 1 ms at a time and then sleeping 99 times as long (≈1 % of
 *     one CPU). When retained exceeds twice heapInUse (a program that has just freed most of its
 *     heap) it releases without sleeping until the goal is met.
 *   - It runs on a thread of its own that starts only once the heap has shrunk by
 *     SCAV_START_BYTES from its peak (noticed by the mheap as it frees a span; the thread is
 *     started by the next free slow path, with no lock held), with every signal blocked; in a
 *     forked child it is started again the same way. The collector skips it when it stops the
 *     world (scavenge_stw_skip): it touches the heap only under the mcentral and mheap locks,
 *     which a cycle holds.
 *   - About once a second it gives the mcentrals' empty spans back to the page heap
 *     (mcentral_trim_empty: those no thread needed since the last pass).
 *   - malloc_trim (scavenge_all) releases everything free at once.
 * GOALLOC_SCAVENGE=0 leaves all of it out but malloc_trim; GOALLOC_SCAVTRACE=1 prints Go's scav
 * line after each stretch of work and each malloc_trim. */
#ifndef GA_MGCSCAVENGE_H
#define GA_MGCSCAVENGE_H
#include <sys/types.h>

#include "ga.h"

/* The heap shrinking this far from its peak starts the scavenger's thread. */
#define SCAV_START_BYTES ((uint64_t)64 << 20)

/* 1 while the scavenger is enabled and its thread not started: the mheap then compares its peak
 * with what is in use as it frees a span (under its lock). */
GA_HIDDEN extern int ga_scav_armed;
/* The thread is to be started (set by the mheap, taken by scavenge_poll). */
GA_HIDDEN extern _Atomic int ga_scav_pending;

/* At start-up, after the options are read. */
GA_HIDDEN void scavenge_init(void);
/* Start the thread if the mheap asked for it. Called by free slow paths with no lock held and
 * the thread's cache not busy. */
GA_HIDDEN void scavenge_start(void);
GA_INLINE void scavenge_poll(void)
{
	if (GA_UNLIKELY(atomic_load_explicit(&ga_scav_pending, memory_order_relaxed)))
		scavenge_start();
}
/* The collector's hook: the heap goal in bytes it paces the next cycle to (0: none). The
 * scavenger then keeps 1.1 × that, or 1.1 × what is in use if more. */
GA_HIDDEN void scavenge_set_goal(uint64_t heap_goal_bytes);
/* For the collector's stop-the-world: writes the scavenger thread's tid to *tid and returns 1 if
 * it runs in this process and is not the caller; else 0. */
GA_HIDDEN unsigned scavenge_stw_skip(pid_t *tid);
/* malloc_trim: empty spans back to the page heap, then every free page to the OS, then the
 * metadata pages of free span records. Returns the bytes released. */
GA_HIDDEN size_t scavenge_all(void);

struct scav_stats {
	uint64_t released_bg;    /* bytes the background scavenger released, since start */
	uint64_t released_eager; /* bytes malloc_trim released */
	uint64_t spans_returned; /* empty spans the mcentrals gave back to the page heap */
	int running;             /* the thread runs in this process */
};
GA_HIDDEN void scavenge_get_stats(struct scav_stats *out);
/* Count an empty span an mcentral gave back to the page heap. */
GA_HIDDEN void scavenge_count_span_returned(void);
GA_HIDDEN void scavenge_fork_child(void);
#endif
