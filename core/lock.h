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
#include <signal.h>
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
	GA_RANK_GCSITES,   /* the collector's pool of site arrays and its ignore list (mgcsweep.c), a
			      leaf but for ga_os_alloc; taken under the mheap lock as spans go back */
	GA_RANK_SAMPLER,   /* the allocation sites' stack table (gcsite.c), a leaf: under it nothing
			      is taken and nothing but ga_os_alloc is called */
	GA_RANK_COUNT
};

#ifdef GA_LOCKSTATS
/* The lock-statistics flavour (make B=build-lockstats EXTRA_CFLAGS=-DGA_LOCKSTATS lib): every
 * lock counts its acquisitions, those that found it held (a failed trylock first), and the TSC
 * cycles spent waiting for it and holding it; GOALLOC_STATS prints them per rank at exit
 * (stats.c), with the mcentral trips (mcentral.h). The counts are deterministic proxies for
 * contention where wall time is noise; the cycles are wall time. Fields under the lock itself
 * but `wait`'s add, which also happens once the lock is held. A lock joins the list the printer
 * walks the first time it is taken. */
struct ga_lock_stats {
	uint64_t acquired, contended, wait_cycles, hold_cycles;
	uint64_t t_acquired; /* TSC when the holder took it */
	struct ga_lock_stats *next; /* on ga_lockstats_all once taken */
	uint32_t listed;
};
#endif

typedef struct {
	pthread_mutex_t m;
	/* enum ga_lock_rank. (Its name comes from the rank: a pointer here would need a relocation
	 * per lock at load time, and the mcentral records would be written before they are used.) */
	uint32_t rank;
#ifdef GA_LOCKSTATS
	struct ga_lock_stats st;
#endif
} ga_lock_t;

#ifdef GA_LOCKSTATS
#define GA_LOCK_INIT(rank) {PTHREAD_MUTEX_INITIALIZER, (rank), {0}}
#else
#define GA_LOCK_INIT(rank) {PTHREAD_MUTEX_INITIALIZER, (rank)}
#endif

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

#ifdef GA_LOCKSTATS
/* The locks taken so far, each with its rank (the printer's list). */
GA_HIDDEN void ga_lockstats_list(struct ga_lock_stats *st);
GA_HIDDEN extern struct ga_lock_stats *_Atomic ga_lockstats_all;

static inline void ga_lockstats_acquire(ga_lock_t *l)
{
	if (pthread_mutex_trylock(&l->m) == 0) {
		l->st.t_acquired = __builtin_ia32_rdtsc();
	} else {
		uint64_t t0 = __builtin_ia32_rdtsc();
		pthread_mutex_lock(&l->m);
		l->st.t_acquired = __builtin_ia32_rdtsc();
		l->st.contended++;
		l->st.wait_cycles += l->st.t_acquired - t0;
	}
	l->st.acquired++;
	if (GA_UNLIKELY(!l->st.listed))
		ga_lockstats_list(&l->st);
}
#endif

static inline void ga_lock(ga_lock_t *l)
{
#ifdef GA_DEBUG
	ga_witness_acquire(l);
#endif
#ifdef GA_LOCKSTATS
	ga_lockstats_acquire(l);
#else
	pthread_mutex_lock(&l->m);
#endif
#ifdef GA_DEBUG
	ga_witness_acquired(l);
#endif
}

static inline void ga_unlock(ga_lock_t *l)
{
#ifdef GA_DEBUG
	ga_witness_release(l);
#endif
#ifdef GA_LOCKSTATS
	l->st.hold_cycles += __builtin_ia32_rdtsc() - l->st.t_acquired;
#endif
	pthread_mutex_unlock(&l->m);
}

/* Take l with every signal blocked, for a lock that a signal handler leaving by longjmp must not
 * leave held (the collector's site locks: mgcsweep.c, gcsite.c). Signals are blocked only once
 * the lock is had (a trylock): a thread that waits for it — while the collector holds it, say —
 * can still take the collector's stop signal. *old receives the mask to restore. */
static inline void ga_lock_nosignals(ga_lock_t *l, sigset_t *old)
{
	sigset_t all;
	sigfillset(&all);
#ifdef GA_DEBUG
	ga_witness_acquire(l);
#endif
	for (;;) {
		pthread_sigmask(SIG_BLOCK, &all, old);
		if (pthread_mutex_trylock(&l->m) == 0)
			break;
		pthread_sigmask(SIG_SETMASK, old, NULL);
		pthread_mutex_lock(&l->m); /* (wait for it with signals deliverable) */
		pthread_mutex_unlock(&l->m);
	}
#ifdef GA_DEBUG
	ga_witness_acquired(l);
#endif
}

static inline void ga_unlock_nosignals(ga_lock_t *l, const sigset_t *old)
{
	ga_unlock(l);
	pthread_sigmask(SIG_SETMASK, old, NULL);
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

#ifdef GA_LOCKSTATS
/* The lock whose statistics st are. */
static inline const ga_lock_t *ga_lockstats_lock(const struct ga_lock_stats *st)
{
	return (const ga_lock_t *)((const char *)st - __builtin_offsetof(ga_lock_t, st));
}
#endif
#endif
