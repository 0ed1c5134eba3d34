/* lock.h — goalloc's lock. A pthread mutex: it never allocates, sleeps instead of spinning under
 * contention, and ThreadSanitizer understands it.
 *
 * Every lock has a rank, and the ranks give the one lock order: a thread may take a lock only
 * if its rank is above the rank of every lock it holds. Several locks of one rank (the
 * mcentrals) are held only by ga_lock_all, which takes them in address order, their index order.
 * ga_lock_all (init.c: fork's prepare handler, and ga_check_heap) takes every lock in exactly
 * this order; ga_unlock_all and fork's child handler release or reset them in the reverse order.
 * Built with -DGA_DEBUG, each ga_lock checks the order against the locks this thread holds (the
 * witness, lock.c) and ends the program on a violation. */
#ifndef GA_LOCK_H
#define GA_LOCK_H
#include <pthread.h>
#include <stdint.h>

#include "ga.h"

enum ga_lock_rank {
	GA_RANK_COLLECTOR, /* reserved: the collector's lock, taken before all others */
	GA_RANK_THREADS,   /* the thread registry (threads.c) */
	GA_RANK_ORPHAN,    /* the cache shared by threads whose own is gone (mcache.c): its holder
			      refills from an mcentral, which may take the mheap lock */
	GA_RANK_MCENTRAL,  /* ga_central[0 .. 135], in index order; at run time a thread holds at
			      most one (each mcentral function releases its lock before it calls the
			      mheap), only ga_lock_all takes them all (the witness checks both) */
	GA_RANK_SCAVENGER, /* reserved: the scavenger's state, held while it asks the mheap for pages */
	GA_RANK_MHEAP,     /* the page heap, with the metadata it owns: arena records, the arena index
			      and the fixalloc span records have no lock of their own (mheap.c) */
	GA_RANK_SAMPLER,   /* reserved: the heap sampler's records, a leaf taken with anything held */
	GA_RANK_COUNT
};

typedef struct {
	pthread_mutex_t m;
	/* enum ga_lock_rank. (Its name comes from the rank: a pointer here would need a relocation
	 * per lock at load time, and the mcentral records would be written before they are used.) */
	uint32_t rank;
} ga_lock_t;

#define GA_LOCK_INIT(rank) {PTHREAD_MUTEX_INITIALIZER, (rank)}

/* Take every lock of the process in rank order, and release them (init.c). */
GA_HIDDEN void ga_lock_all(void);
GA_HIDDEN void ga_unlock_all(void);
/* Name of a rank, for messages. */
GA_HIDDEN const char *ga_lock_rank_name(unsigned rank);

#ifdef GA_DEBUG
/* The witness (lock.c): check l against this thread's held locks before it is taken, record it
 * once taken; check it is held before it is released. */
GA_HIDDEN void ga_witness_acquire(const ga_lock_t *l);
GA_HIDDEN void ga_witness_acquired(const ga_lock_t *l);
GA_HIDDEN void ga_witness_release(const ga_lock_t *l);
GA_HIDDEN void ga_witness_forget(const ga_lock_t *l);
/* Between these two, this thread may take several locks of one rank (in address order); at any
 * other time a second lock of a rank it holds is a violation: no code path holds two mcentral
 * locks but ga_lock_all. */
GA_HIDDEN void ga_witness_all_begin(void);
GA_HIDDEN void ga_witness_all_end(void);
#endif

static inline void ga_lock(ga_lock_t *l)
{
#ifdef GA_DEBUG
	ga_witness_acquire(l);
#endif
	pthread_mutex_lock(&l->m);
#ifdef GA_DEBUG
	ga_witness_acquired(l);
#endif
}

static inline void ga_unlock(ga_lock_t *l)
{
#ifdef GA_DEBUG
	ga_witness_release(l);
#endif
	pthread_mutex_unlock(&l->m);
}

/* In a forked child: the lock's holder may not exist any more; make it fresh. (The forking
 * thread held it across fork: the witness forgets it.) */
static inline void ga_lock_reinit(ga_lock_t *l)
{
#ifdef GA_DEBUG
	ga_witness_forget(l);
#endif
	pthread_mutex_init(&l->m, NULL);
}
#endif
