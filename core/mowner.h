/* mowner.h — span owners and their inboxes of remote frees (mimalloc's thread-free lists, at the
 * granularity of Go's mcache).
 *
 * Each live thread with an mcache gets an owner id (1 .. MOWNER_MAX − 1; 0 when all are taken).
 * A span an mcache takes from its mcentral is tagged with the thread's id in the page entries
 * of its pages (arena.h, PAGE_OWNER_MASK): the thread owns the span until another thread's mcache
 * takes it, or until the owner exits and a thread that frees one of its blocks adopts it.
 *
 * free() of a block whose span this thread owns pushes it on this thread's list, as before. A
 * block of a span another live thread owns goes to that owner's inbox for its class instead: a
 * lock-free stack that only grows until the owner takes it whole, when its own list of that
 * class runs empty. So the blocks of one span, and therefore the blocks that share a cache line,
 * come back to one thread's lists: a thread does not write a line another thread's blocks live
 * in, which on two cores costs a transfer of the line per malloc or free (README, performance).
 *
 * Ownership is only a hint for where a block goes. A free that reads a stale owner (the span
 * just changed hands, or the id was released and taken again) sends the block to a thread that
 * did not expect it, and that thread uses it like any block of its lists: every block is in
 * exactly one place whatever the hint says. So nothing here needs the owner tag to be exact.
 *
 * An inbox holds at most MOWNER_INBOX_MAX(class) blocks (the class's list bound): a free that
 * finds it full takes the whole chain and parks it in the mcentral's transfer cache, for the next
 * thread that runs out of the class — an owner that stopped allocating a class holds no more of
 * it than a full list. When a thread exits its inboxes are closed (drained back to their spans);
 * a free that finds its owner's inbox closed adopts the span (mheap_set_span_owner) and pushes
 * the block on its own list.
 */
#ifndef GA_MOWNER_H
#define GA_MOWNER_H
#include "arena.h"
#include "ga.h"

#ifndef __has_feature
#define __has_feature(x) 0
#endif

#define MOWNER_MAX (1u << PAGE_OWNER_BITS) /* ids 1 .. MOWNER_MAX − 1 */

/* The n word of a closed inbox (its owner has exited, or never existed since the id was freed). */
#define MOWNER_CLOSED (1ull << 63)

/* One class's inbox. head and n change together, by a 16-byte compare-and-swap:
 *   head: the blocks freed to this owner by other threads, linked through their first word
 *         (ga_link_set, as on a list: each carries the mark of a free block), NULL-terminated;
 *   n:    how many, | MOWNER_CLOSED once the inbox is closed (then head is NULL). */
struct mowner_inbox {
	void *head;
	uint64_t n;
} __attribute__((aligned(16)));

struct mowner {
	struct mowner_inbox in[GA_NUM_SPAN_CLASSES];
};

GA_HIDDEN extern struct mowner ga_owners[MOWNER_MAX];

#ifdef GA_LOCKSTATS
/* Owner traffic (the lock-statistics flavour, lock.h), summed over threads: frees sent to another
 * owner's inbox; of them, those that found it full (and parked it) or closed (and adopted the
 * span); inboxes taken by their owner, and the blocks in them. */
struct mowner_trips {
	_Atomic uint64_t remote, full, closed, taken, taken_blocks;
};
GA_HIDDEN extern struct mowner_trips ga_mowner_trips;
#define MOWNER_COUNT(field, n) atomic_fetch_add_explicit(&ga_mowner_trips.field, (n), memory_order_relaxed)
#else
#define MOWNER_COUNT(field, n) ((void)0)
#endif

/* A snapshot of inbox `in` (two plain loads: the compare-and-swap that follows checks both). */
GA_INLINE struct mowner_inbox mowner_peek(const struct mowner_inbox *in)
{
	struct mowner_inbox v;
	v.head = __atomic_load_n(&in->head, __ATOMIC_RELAXED);
	v.n = __atomic_load_n(&in->n, __ATOMIC_RELAXED);
	return v;
}

/* Replace *in by `to` if it still equals *expected; else *expected is what it holds. Release and
 * acquire: links written into a block before it is pushed are visible to whoever takes it.
 * cmpxchg16b written out: GCC sends 16-byte __atomic builtins to libatomic. ThreadSanitizer,
 * which cannot see through the asm, gets the builtin, which its runtime implements (its builds
 * pass -mcx16, without which clang calls libatomic for it: the Makefile's test-tsan). */
#if defined(__SANITIZE_THREAD__) || __has_feature(thread_sanitizer)
GA_INLINE int mowner_cas(struct mowner_inbox *in, struct mowner_inbox *expected, struct mowner_inbox to)
{
	unsigned __int128 exp, des;
	__builtin_memcpy(&exp, expected, 16);
	__builtin_memcpy(&des, &to, 16);
	int ok = __atomic_compare_exchange_n((unsigned __int128 *)in, &exp, des, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
	__builtin_memcpy(expected, &exp, 16);
	return ok;
}
#else
GA_INLINE int mowner_cas(struct mowner_inbox *in, struct mowner_inbox *expected, struct mowner_inbox to)
{
	char ok;
	__asm__ __volatile__("lock cmpxchg16b %1\n\tsete %0"
			     : "=q"(ok), "+m"(*in), "+a"(expected->head), "+d"(expected->n)
			     : "b"(to.head), "c"(to.n)
			     : "memory", "cc");
	return ok;
}
#endif

/* Take everything in inbox `in` (leaving it empty, or closed with `close`); *n gets the count
 * (0, and NULL returned, when it was empty or already closed). */
GA_HIDDEN void *mowner_take(struct mowner_inbox *in, int close, uint32_t *n);

enum { MOWNER_PUSHED, MOWNER_FULL, MOWNER_IS_CLOSED };
/* Push the chain head .. tail of n blocks (linked, each marked free) on inbox `in`, linking tail
 * to what the inbox holds, unless that would take it past `max` blocks (MOWNER_FULL) or it is
 * closed (MOWNER_IS_CLOSED); then nothing is pushed, but tail's link may have been written (the
 * caller counts the chain's blocks rather than following it to NULL). One compare-and-swap for the chain: a
 * thread gathers its frees to one owner first (mcache.h, struct mcache_outbox). */
GA_HIDDEN int mowner_push_chain(struct mowner_inbox *in, void *head, void *tail, uint32_t n, uint32_t max);

/* Owner ids, under the thread registry's lock (threads.c): acquire the lowest free id and open
 * its inboxes (0 if none is free); release one (its inboxes already closed by its thread). */
GA_HIDDEN uint32_t mowner_acquire(void);
GA_HIDDEN void mowner_release(uint32_t id);
/* In a forked child, where only the thread with id `self` (0: none) exists: every other id is
 * released and its inboxes closed; their blocks are lost to the child, as the dead threads' lists
 * are. */
GA_HIDDEN void mowner_fork_child(uint32_t self);
/* Verifier (check.h) of inbox `in` of span class sc, read by its owner: n blocks, each the start
 * of a slot of a span of class sc that counts it as allocated, the chain ending there. */
GA_HIDDEN void mowner_check_inbox(struct mowner_inbox *in, uint8_t sc);
#endif
