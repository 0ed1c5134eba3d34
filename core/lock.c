/* lock.c — lock rank names and, in the debug build, the witness (jemalloc's idea): each thread
 * keeps the locks it holds on a small stack in initial-exec TLS (no allocation), and a lock taken
 * out of rank order ends the program with both names, before it can deadlock. */
#include "lock.h"

#include "fmt.h"

static const char *const rank_names[GA_RANK_COUNT] = {
	[GA_RANK_COLLECTOR] = "collector",
	[GA_RANK_THREADS] = "thread registry",
	[GA_RANK_ORPHAN] = "orphan cache",
	[GA_RANK_MCENTRAL] = "mcentral",
	[GA_RANK_SCAVENGER] = "scavenger",
	[GA_RANK_MHEAP] = "mheap",
	[GA_RANK_GCSITES] = "collector's site arrays",
	[GA_RANK_SAMPLER] = "heap sampler",
};

const char *ga_lock_rank_name(unsigned rank)
{
	return rank < GA_RANK_COUNT ? rank_names[rank] : "unranked";
}

#ifdef GA_LOCKSTATS
struct ga_lock_stats *_Atomic ga_lockstats_all;

/* (Called by the lock's holder: listed once.) */
void ga_lockstats_list(struct ga_lock_stats *st)
{
	st->listed = 1;
	struct ga_lock_stats *old = atomic_load_explicit(&ga_lockstats_all, memory_order_relaxed);
	do
		st->next = old;
	while (!atomic_compare_exchange_weak_explicit(&ga_lockstats_all, &old, st, memory_order_release,
						      memory_order_relaxed));
}
#endif

#ifdef GA_DEBUG
/* Deepest nesting: ga_lock_all holds every lock (the registry, the orphan
 * cache, the mcentrals, the mheap) plus the reserved ranks. */
#define WITNESS_MAX (GA_NUM_SPAN_CLASSES + GA_RANK_COUNT)

static __thread struct {
	const ga_lock_t *held[WITNESS_MAX];
	unsigned n;
	unsigned all; /* inside ga_lock_all */
} witness __attribute__((tls_model("initial-exec")));

static __attribute__((noreturn)) void order_violation(const ga_lock_t *l, const ga_lock_t *h)
{
	ga_fatal("lock order violation: taking %s lock %p (rank %u) while holding %s lock %p (rank %u)",
		 ga_lock_rank_name(l->rank), (const void *)l, l->rank, ga_lock_rank_name(h->rank),
		 (const void *)h, h->rank);
}

void ga_witness_acquire(const ga_lock_t *l)
{
	if (l->rank >= GA_RANK_COUNT)
		ga_fatal("lock %p has no rank (%u)", (const void *)l, l->rank);
	for (unsigned i = 0; i < witness.n; i++) {
		const ga_lock_t *h = witness.held[i];
		if (h == l)
			ga_fatal("%s lock %p taken twice by one thread", ga_lock_rank_name(l->rank), (const void *)l);
		if (h->rank > l->rank || (h->rank == l->rank && (!witness.all || (uintptr_t)h > (uintptr_t)l)))
			order_violation(l, h);
	}
	if (witness.n == WITNESS_MAX)
		ga_fatal("more than %u locks held by one thread", WITNESS_MAX);
}

void ga_witness_acquired(const ga_lock_t *l)
{
	witness.held[witness.n] = l;
	atomic_signal_fence(memory_order_seq_cst); /* a signal handler sees the entry before the count */
	witness.n++;
}

/* Remove l from the stack; 0 if it is not there. */
static int forget(const ga_lock_t *l)
{
	for (unsigned i = witness.n; i-- > 0;) {
		if (witness.held[i] != l)
			continue;
		for (unsigned k = i; k + 1 < witness.n; k++)
			witness.held[k] = witness.held[k + 1];
		witness.n--;
		return 1;
	}
	return 0;
}

void ga_witness_release(const ga_lock_t *l)
{
	if (!forget(l))
		ga_fatal("unlocking %s lock %p, which this thread does not hold", ga_lock_rank_name(l->rank),
			 (const void *)l);
}

void ga_witness_forget(const ga_lock_t *l)
{
	forget(l);
}

void ga_witness_all_begin(void)
{
	witness.all = 1;
}

void ga_witness_all_end(void)
{
	witness.all = 0;
}
#endif
