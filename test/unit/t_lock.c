/* t_lock.c — the lock order of lock.h and its witness (debug build): a lock taken against the
 * order, twice, or released without being held ends the program with a message naming the locks;
 * the order fork uses (ga_lock_all) and the nesting the allocator uses pass. Each case runs in a
 * forked child whose stderr is captured. Without -DGA_DEBUG there is no witness: skipped. */
#include <stdio.h>

#include "death.h"
#include "lock.h"
#include "mcentral.h"
#include "tap.h"

#ifndef GA_DEBUG
int main(void)
{
	skip_all("the lock witness is built only with -DGA_DEBUG (make debug)");
}
#else
static ga_lock_t orphan_like = GA_LOCK_INIT(GA_RANK_ORPHAN);
static ga_lock_t mheap_like = GA_LOCK_INIT(GA_RANK_MHEAP);

/* The inversion fork used to commit: an mcentral lock, then the orphan cache's. */
static void mcentral_then_orphan(void)
{
	ga_lock(&ga_central[10].lock);
	ga_lock(&orphan_like);
}

/* What alloc_orphan does: the orphan cache's lock, then an mcentral's, then the mheap's. */
static void orphan_then_mcentral_then_mheap(void)
{
	ga_lock(&orphan_like);
	ga_lock(&ga_central[10].lock);
	ga_lock(&mheap_like);
	ga_unlock(&mheap_like);
	ga_unlock(&ga_central[10].lock);
	ga_unlock(&orphan_like);
}

static void mheap_then_mcentral(void)
{
	ga_lock(&mheap_like);
	ga_lock(&ga_central[3].lock);
}

static void mcentral_descending(void)
{
	ga_lock(&ga_central[20].lock);
	ga_lock(&ga_central[7].lock);
}

/* In index order, but outside ga_lock_all: no code path holds two mcentral locks. */
static void mcentral_two(void)
{
	ga_lock(&ga_central[7].lock);
	ga_lock(&ga_central[20].lock);
}

static void taken_twice(void)
{
	ga_lock(&orphan_like);
	ga_lock(&orphan_like);
}

static void unlock_not_held(void)
{
	ga_unlock(&mheap_like);
}

static void all_in_order(void)
{
	ga_lock_all();
	ga_unlock_all();
	ga_lock_all(); /* the witness forgot every lock: the order holds a second time */
	ga_unlock_all();
}

int main(void)
{
	char msg[1024];
	int st;

	plan(13);
	st = die_with(mcentral_then_orphan, msg, sizeof msg);
	ok(died_of_abort(st), "an mcentral lock then the orphan cache's: the witness aborts");
	ok(strstr(msg, "lock order violation") && strstr(msg, "taking orphan cache lock") &&
	   strstr(msg, "while holding mcentral lock"), "and names both locks: %s", msg);

	st = die_with(orphan_then_mcentral_then_mheap, msg, sizeof msg);
	ok(exited_clean(st) && !msg[0], "orphan cache, mcentral, mheap: the order alloc_orphan uses passes %s", msg);

	st = die_with(mheap_then_mcentral, msg, sizeof msg);
	ok(died_of_abort(st), "the mheap lock then an mcentral's: aborts");
	ok(strstr(msg, "taking mcentral lock") && strstr(msg, "while holding mheap lock"), "names both: %s", msg);

	st = die_with(mcentral_descending, msg, sizeof msg);
	ok(died_of_abort(st) && strstr(msg, "taking mcentral lock") && strstr(msg, "while holding mcentral lock"),
	   "two mcentral locks against index order: aborts naming both: %s", msg);

	st = die_with(mcentral_two, msg, sizeof msg);
	ok(died_of_abort(st) && strstr(msg, "taking mcentral lock") && strstr(msg, "while holding mcentral lock"),
	   "two mcentral locks in index order outside ga_lock_all: aborts: %s", msg);

	st = die_with(taken_twice, msg, sizeof msg);
	ok(died_of_abort(st), "one lock taken twice by a thread: aborts");
	ok(strstr(msg, "orphan cache lock") && strstr(msg, "taken twice"), "and says so: %s", msg);

	st = die_with(unlock_not_held, msg, sizeof msg);
	ok(died_of_abort(st), "releasing a lock the thread does not hold: aborts");
	ok(strstr(msg, "unlocking mheap lock") && strstr(msg, "does not hold"), "and says so: %s", msg);

	st = die_with(all_in_order, msg, sizeof msg);
	ok(exited_clean(st) && !msg[0], "ga_lock_all (fork's order) passes the witness, twice %s", msg);

	ok(GA_RANK_COLLECTOR == 0 && GA_RANK_THREADS < GA_RANK_ORPHAN && GA_RANK_ORPHAN < GA_RANK_MCENTRAL &&
	   GA_RANK_MCENTRAL < GA_RANK_MHEAP && GA_RANK_MHEAP < GA_RANK_COUNT,
	   "ranks: collector, registry, orphan, mcentral, ..., mheap");
	return done_testing();
}
#endif
