/* lock.h — goalloc's lock. A pthread mutex: it never allocates, sleeps instead of spinning under
 * contention, and ThreadSanitizer understands it.
 *
 * Lock order (fork_prepare takes them in this order; never take an earlier one while holding a
 * later one):  thread registry  →  mcentral[0..135]  →  mheap  →  fixalloc/metadata. */
#ifndef GA_LOCK_H
#define GA_LOCK_H
#include <pthread.h>

typedef struct {
	pthread_mutex_t m;
} ga_lock_t;

#define GA_LOCK_INIT {PTHREAD_MUTEX_INITIALIZER}
static inline void ga_lock(ga_lock_t *l) { pthread_mutex_lock(&l->m); }
static inline void ga_unlock(ga_lock_t *l) { pthread_mutex_unlock(&l->m); }
/* In a forked child: the lock's holder may not exist any more; make it fresh. */
static inline void ga_lock_reinit(ga_lock_t *l) { pthread_mutex_init(&l->m, NULL); }
#endif
