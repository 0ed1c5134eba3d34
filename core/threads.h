/* threads.h — the registry of live per-thread caches (for statistics, fork, and the collector,
 * which must flush every cache at a stop-the-world) and the pthread key whose destructor gives a
 * thread's cache back when the thread exits. */
#ifndef GA_THREADS_H
#define GA_THREADS_H
#include "ga.h"
#include "mcache.h"

GA_HIDDEN void threads_init(void);
/* Add c (this thread's cache) to the registry and arm the exit destructor. */
GA_HIDDEN void threads_register(struct mcache *c);
/* Remove c; its counters are folded into the totals of exited threads. */
GA_HIDDEN void threads_unregister(struct mcache *c);
/* Call fn on every registered cache with the registry locked (fn must not allocate). */
GA_HIDDEN void threads_for_each(void (*fn)(struct mcache *, void *), void *arg);
GA_HIDDEN uint64_t threads_seen(void);
GA_HIDDEN void threads_fork_prepare(void);
GA_HIDDEN void threads_fork_parent(void);
GA_HIDDEN void threads_fork_child(void);
#endif
