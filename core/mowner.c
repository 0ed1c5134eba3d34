/* mowner.c — see mowner.h. */
#include "mowner.h"

#include "check.h"
#include "mcache.h"
#include "mcentral.h"

/* Zero: every inbox open and empty. An id never handed out is on no page, so nothing is pushed
 * to its inboxes until a thread takes it (mowner_acquire opens them again after a release). */
struct mowner ga_owners[MOWNER_MAX];
#ifdef GA_LOCKSTATS
struct mowner_trips ga_mowner_trips;
#endif

/* Ids in use, bit i = id i (id 0 is never handed out); under the thread registry's lock. */
static uint64_t ids_used[MOWNER_MAX / 64] = {1};

void *mowner_take(struct mowner_inbox *in, int close, uint32_t *n)
{
	struct mowner_inbox old = mowner_peek(in);
	struct mowner_inbox to = {NULL, close ? MOWNER_CLOSED : 0};
	for (;;) {
		if (old.n & MOWNER_CLOSED) {
			*n = 0;
			return NULL;
		}
		if (!old.head && !close) {
			*n = 0;
			return NULL;
		}
		if (mowner_cas(in, &old, to))
			break;
	}
	*n = (uint32_t)old.n;
	return old.head;
}

int mowner_push_chain(struct mowner_inbox *in, void *head, void *tail, uint32_t n, uint32_t max)
{
	struct mowner_inbox old = mowner_peek(in);
	for (;;) {
		if (old.n & MOWNER_CLOSED)
			return MOWNER_IS_CLOSED;
		if (old.n + n > max)
			return MOWNER_FULL;
		ga_link_set(tail, old.head);
		if (mowner_cas(in, &old, (struct mowner_inbox){head, old.n + n}))
			return MOWNER_PUSHED;
	}
}

static void open_inboxes(uint32_t id)
{
	for (unsigned sc = 0; sc < GA_NUM_SPAN_CLASSES; sc++)
		__atomic_store_n(&ga_owners[id].in[sc].n, 0, __ATOMIC_RELEASE); /* (head is NULL) */
}

uint32_t mowner_acquire(void)
{
	for (unsigned w = 0; w < MOWNER_MAX / 64; w++) {
		if (ids_used[w] == ~0ull)
			continue;
		unsigned b = (unsigned)__builtin_ctzll(~ids_used[w]);
		ids_used[w] |= 1ull << b;
		uint32_t id = w * 64 + b;
		open_inboxes(id);
		return id;
	}
	return 0;
}

void mowner_release(uint32_t id)
{
	if (id)
		ids_used[id / 64] &= ~(1ull << (id % 64));
}

void mowner_fork_child(uint32_t self)
{
	for (uint32_t id = 1; id < MOWNER_MAX; id++) {
		if (id == self || !(ids_used[id / 64] >> (id % 64) & 1))
			continue;
		for (unsigned sc = 0; sc < GA_NUM_SPAN_CLASSES; sc++) {
			ga_owners[id].in[sc].head = NULL;
			ga_owners[id].in[sc].n = MOWNER_CLOSED;
		}
		mowner_release(id);
	}
}

void mowner_check_inbox(struct mowner_inbox *in, uint8_t sc)
{
	/* A snapshot of both words at once (a compare-and-swap that writes back what it finds, or
	 * fails and returns it): two loads could pair a head with the count of a later push.
	 * Pushes after it only prepend. */
	struct mowner_inbox v = mowner_peek(in);
	mowner_cas(in, &v, v);
	if (v.n & MOWNER_CLOSED) {
		if (v.head)
			ga_check_failed("inbox of class %u: closed, but holds %p", sc, v.head);
		return;
	}
	void *p = v.head;
	for (uint64_t i = 0; i < v.n; i++) {
		if (!p)
			ga_check_failed("inbox of class %u: n = %llu, found %llu blocks", sc, (unsigned long long)v.n,
					(unsigned long long)i);
		mcentral_check_held(sc, p, "an owner's inbox");
		p = ga_link_get(p);
	}
	if (p)
		ga_check_failed("inbox of class %u: n = %llu, but more blocks are linked (%p)", sc,
				(unsigned long long)v.n, p);
}
