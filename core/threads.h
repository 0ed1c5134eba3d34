/* threads.h — the registry of live per-thread caches (for statistics, fork, and the collector,
 * which must flush every cache at a stop-the-world) and the pthread key whose destructor gives a
 * thread's cache back when the thread exits. */
#ifndef GA_THREADS_H
#define GA_THREADS_H
#include "ga.h"
#include "mcache.h"

#include <sys/types.h>

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

/* A thread of goalloc's own (the collector's background thread, the scavenger). It runs with
 * every signal blocked (a signal sent to the process must never run a program's handler on it),
 * so a collection skips it by its tid instead of stopping it. */
struct ga_bg_thread {
	pid_t tid; /* set by the thread itself (ga_bg_thread_started); 0 until it runs */
	pid_t pid; /* the process it runs in; 0: none */
};
/* Start fn on such a thread, with a stack of stacksize bytes, and return once it has published
 * its tid, so that no collection meets it unskipped: 0, or -1 if it could not be created. */
GA_HIDDEN int ga_bg_thread_start(struct ga_bg_thread *t, void *(*fn)(void *), size_t stacksize);
/* The first call of fn. */
GA_HIDDEN void ga_bg_thread_started(struct ga_bg_thread *t);
/* Does t run in this process, and is it not the caller? Then its tid goes to *tid: 1; else 0. */
GA_HIDDEN unsigned ga_bg_thread_skip(const struct ga_bg_thread *t, pid_t *tid);
/* In a forked child, where the thread does not exist: forget it. */
GA_HIDDEN void ga_bg_thread_forget(struct ga_bg_thread *t);
#endif
