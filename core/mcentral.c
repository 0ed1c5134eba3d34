/* mcentral.c — see mcentral.h. */
#include "mcentral.h"

#include "arena.h"
#include "check.h"
#include "mcache.h"
#include "malloc.h"
#include "mgc.h"
#include "mgcscavenge.h"
#include "mheap.h"
#include "track.h"

uintptr_t ga_link_limit;

/* All zero but the locks' rank (an unlocked pthread mutex is all zero in glibc, and nothing here
 * needs a relocation), so a class's record is read from the file and costs memory only once the
 * class is used: 136 records are 87 KiB. */
struct mcentral ga_central[GA_NUM_SPAN_CLASSES] = {
	[0 ... GA_NUM_SPAN_CLASSES - 1] = {.lock = GA_LOCK_INIT(GA_RANK_MCENTRAL)}};

/* The transfer caches' entries (mcentral.batches). */
static struct mcentral_batch batch_rows[GA_NUM_SPAN_CLASSES][MCENTRAL_MAX_BATCHES];

static uint8_t spanclass_of(const struct mcentral *c)
{
	return (uint8_t)(c - ga_central);
}

/* Bytes of one block of c's class (what the transfer cache's byte bound counts). */
static uint64_t block_bytes(const struct mcentral *c)
{
	return ga_class_to_size[GA_SPANCLASS_SIZECLASS(spanclass_of(c))];
}

static void list_push(struct mcentral *c, struct mspan *s, uint8_t which)
{
	/* partial: uncached, a free slot; full: uncached, none (mcentral.h) */
	GA_ASSERT(s->list == MSPAN_LIST_NONE && !s->incache && s->spanclass == spanclass_of(c), "span %p",
		  (void *)s->base);
	GA_ASSERT(which == MSPAN_LIST_PARTIAL ? s->allocCount < s->nelems : s->allocCount == s->nelems,
		  "span %p: allocCount %u of %u on the %s list", (void *)s->base, s->allocCount, s->nelems,
		  which == MSPAN_LIST_PARTIAL ? "partial" : "full");
	struct mspan **head = which == MSPAN_LIST_PARTIAL ? &c->partial : &c->full;
	s->prev = NULL;
	s->next = *head;
	if (*head)
		(*head)->prev = s;
	*head = s;
	s->list = which;
	if (which == MSPAN_LIST_PARTIAL)
		c->npartial++;
	else
		c->nfull++;
}

static void list_remove(struct mcentral *c, struct mspan *s)
{
	GA_ASSERT(s->list == MSPAN_LIST_PARTIAL ? c->npartial > 0 : s->list == MSPAN_LIST_FULL && c->nfull > 0,
		  "span %p: list %u", (void *)s->base, s->list);
	struct mspan **head = s->list == MSPAN_LIST_PARTIAL ? &c->partial : &c->full;
	if (s->prev)
		s->prev->next = s->next;
	else
		*head = s->next;
	if (s->next)
		s->next->prev = s->prev;
	if (s->list == MSPAN_LIST_PARTIAL)
		c->npartial--;
	else
		c->nfull--;
	s->list = MSPAN_LIST_NONE;
	s->next = s->prev = NULL;
}

/* Raise ga_link_limit to the end of span s before any of its blocks is linked. */
static void raise_link_limit(const struct mspan *s)
{
	uintptr_t old = __atomic_load_n(&ga_link_limit, __ATOMIC_RELAXED);
	while (old < s->limit &&
	       !__atomic_compare_exchange_n(&ga_link_limit, &old, s->limit, 1, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
}

/* Give every slot of a span fresh from the heap the mark of a free block (mcache_push): the free
 * key in word 1, or in the 8-byte class a link (to NULL). A free of a slot never handed out then
 * looks like a second free and ends the program instead of listing a block the span will hand
 * out too. Written once per span from the heap (calloc zeroes its blocks itself). */
static void mark_free_slots(struct mspan *s)
{
	raise_link_limit(s);
	for (unsigned i = 0; i < s->nelems; i++) {
		uint64_t *w = (uint64_t *)(s->objbase + i * s->elemsize);
		if (s->spanclass > 3)
			mcache_set_key(w, ga_free_key); else {
			ga_link_set(w, NULL);
		}
	}
}

/* The collector's modes: pages that held blocks of another class (or a large block) may hold
 * old pointers at offsets that are now inside this class's blocks, where a program that writes
 * only part of a block never overwrites them; a conservative mark would take them for pointers
 * and keep what they name, and what that names in turn. Such a span is cleared before its slots
 * are handed out (bdwgc clears what it hands out for the same reason). */
GA_NOINLINE static void clear_old_data(struct mspan *s)
{
	memset((void *)s->base, 0, (size_t)s->npages << GA_PAGE_SHIFT);
	s->needzero = 0;
}

/* Empty spans c keeps (mcentral.keep): at least MCENTRAL_KEEP_EMPTY_BYTES' worth and one span,
 * at most MCENTRAL_KEEP_EMPTY_MAX bytes' worth. */
static uint32_t keep_spans(const struct mcentral *c)
{
	uint32_t span_bytes = (uint32_t)ga_class_to_npages[GA_SPANCLASS_SIZECLASS(spanclass_of(c))] << GA_PAGE_SHIFT;
	uint32_t lo = MCENTRAL_KEEP_EMPTY_BYTES / span_bytes, hi = (uint32_t)(MCENTRAL_KEEP_EMPTY_MAX / span_bytes);
	uint32_t k = c->keep > lo ? c->keep : lo;
	k = k < hi ? k : hi;
	return k ? k : 1;
}

/* A span whose last block was freed stays in its class (on the partial list) while the class
 * keeps fewer than keep_spans; the scavenger returns the ones no thread took for a whole pass
 * (mcentral_trim_empty). Past that it goes back to the page heap at once. Under c's lock. */
static int should_release(struct mcentral *c)
{
	if (c->nempty < keep_spans(c))
		return 0;
	c->returned++;
	return 1;
}

static void span_returned(struct mspan *s)
{
	scavenge_count_span_returned();
	mheap_free_span(s);
}

struct mspan *mcentral_cache_span(struct mcentral *c, uint32_t owner_bits)
{
	ga_lock(&c->lock);
	struct mspan *s = c->partial;
	MCENTRAL_COUNT(c, cache_span, 1);
	MCENTRAL_COUNT(c, cache_span_heap, !s);
	if (s) {
		list_remove(c, s);
		GA_ASSERT(s->allocCount < s->nelems);
		if (s->allocCount == 0 && --c->nempty < c->nempty_low)
			c->nempty_low = c->nempty;
		s->incache = 1;
		/* allocBits is exact for an uncached span; resume the search at slot 0. */
		atomic_store_explicit(&s->freeindex, 0, memory_order_relaxed);
		mspan_refill_alloc_cache(s, 0);
		mheap_set_span_owner(s, owner_bits);
		if (ga_checking())
			mspan_check(s);
		ga_unlock(&c->lock);
		return s;
	}
	if (c->returned) { /* it gave back spans it needs again: keep that many more */
		c->keep = keep_spans(c) + c->returned;
		c->returned = 0;
	}
	ga_unlock(&c->lock);
	unsigned sizeclass = GA_SPANCLASS_SIZECLASS(spanclass_of(c));
	s = mheap_alloc_span(ga_class_to_npages[sizeclass], spanclass_of(c), 1);
	if (!s)
		return NULL;
	ga_track_new_span(s->base, (size_t)s->npages << GA_PAGE_SHIFT);
	if (GA_UNLIKELY(ga_gc_mode != GC_OFF) && s->needzero)
		clear_old_data(s);
	mark_free_slots(s);
	mheap_set_span_owner(s, owner_bits);
	/* Not yet visible to anyone else: no lock needed. But the collector may stop this thread
	 * anywhere here: until incache is set it takes every slot for free (mgc.h), so every slot's
	 * mark must be written first. */
	atomic_signal_fence(memory_order_seq_cst);
	s->incache = 1;
	if (ga_checking())
		mspan_check(s);
	return s;
}

void mcentral_uncache_span(struct mcentral *c, struct mspan *s)
{
	ga_lock(&c->lock);
	GA_ASSERT(s->incache && s->list == MSPAN_LIST_NONE && s->spanclass == spanclass_of(c), "span %p",
		  (void *)s->base);
	MCENTRAL_COUNT(c, uncache_span, 1);
	if (ga_checking())
		mspan_check(s); /* as its mcache leaves it */
	s->incache = 0;
	mspan_settle(s);
	if (ga_checking())
		mspan_check(s); /* settled */
	if (s->allocCount == 0 && should_release(c)) {
		ga_unlock(&c->lock);
		span_returned(s);
		return;
	}
	c->nempty += s->allocCount == 0;
	list_push(c, s, s->allocCount < s->nelems ? MSPAN_LIST_PARTIAL : MSPAN_LIST_FULL);
	ga_unlock(&c->lock);
}

/* ---- Giving blocks back to their spans ----------------------------------------------------- */

/* n blocks of s (of c, not cached; under c's lock) became free in its bitmap: count them and move
 * s between c's lists. A span left empty goes back to the page heap if may_release and the class
 * keeps enough empty spans (should_release): it is set DEAD and the result is 1, for the caller
 * to give to the mheap once c's lock is dropped; otherwise it stays on the partial list. */
static int blocks_returned(struct mcentral *c, struct mspan *s, unsigned n, int may_release)
{
	int was_full = s->allocCount == s->nelems;
	s->allocCount = (uint16_t)(s->allocCount - n);
	if (s->allocCount == 0) {
		list_remove(c, s);
		if (may_release && should_release(c)) {
			atomic_store_explicit(&s->state, MSPAN_DEAD, memory_order_relaxed);
			return 1;
		}
		c->nempty++;
		list_push(c, s, MSPAN_LIST_PARTIAL);
	} else if (was_full) {
		list_remove(c, s);
		list_push(c, s, MSPAN_LIST_PARTIAL);
	}
	return 0;
}

/* mcentral_free_list walks a list outside the lock and gathers its blocks by span: per span a
 * bitmap of the slots freed (in `words`) and their count. Under the lock each span then takes its
 * bits and count in one step, and changes lists at most once, so the lock is held for the spans a
 * list touches, not for each block's lookups, link and key (the walk is the caller's own blocks,
 * which no other thread can touch). A gathering holds at most FREE_GROUPS spans and FREE_WORDS
 * bitmap words (a span of the 8-byte class takes 16, of 16 bytes 8, most take 1 or 2); when
 * either is used up, what is gathered is applied and the walk goes on. About 2 KiB of stack. */
#define FREE_GROUPS 32
#define FREE_WORDS 128
#define FREE_HASH 64 /* slots of the span → group table: twice FREE_GROUPS */

struct free_group {
	struct mspan *s;
	void *first;  /* a block of the group: checked against s again under the lock */
	uint16_t n;   /* blocks gathered */
	uint16_t off; /* its bitmap: words[off .. off + s->nwords) */
};

struct free_gather {
	uint32_t ngroups, nwords;
	struct free_group *last; /* the group of the previous block: consecutive blocks share spans */
	uint8_t hash[FREE_HASH]; /* group index + 1, 0 empty; linear probing */
	struct free_group g[FREE_GROUPS];
	uint64_t words[FREE_WORDS];
};

_Static_assert(FREE_WORDS >= (1024 + 63) / 64, "a gathering holds the bitmap of the largest span");

static void gather_reset(struct free_gather *f)
{
	f->ngroups = f->nwords = 0;
	f->last = NULL;
	__builtin_memset(f->hash, 0, sizeof f->hash);
}

static unsigned hash_slot(const struct mspan *s)
{
	return (unsigned)(((uintptr_t)s * 0x9E3779B97F4A7C15ull) >> 58) % FREE_HASH;
}

/* End the program for the slots of span s in word w of bits `bad` (freed twice). */
static __attribute__((noreturn)) void double_free_in(const struct mspan *s, unsigned w, uint64_t bad)
{
	uintptr_t i = (uintptr_t)w * 64 + (unsigned)__builtin_ctzll(bad);
	ga_double_free((void *)(s->objbase + i * s->elemsize));
}

/* Apply a gathering to its spans under c's lock: each span's slots freed (or, for a span an
 * mcache holds, recorded in freedBits), after checking that none was free already; spans whose
 * last block came back are given to the mheap after the lock is dropped (should_release), at most
 * MCENTRAL_RELEASE_MAX of them (the rest stay partial). */
static void gather_apply(struct mcentral *c, struct free_gather *f, uint32_t nblocks)
{
	if (!f->ngroups)
		return;
	struct mspan *to_release[MCENTRAL_RELEASE_MAX];
	unsigned nrel = 0;
	uint8_t sc = spanclass_of(c);
	ga_lock(&c->lock);
	MCENTRAL_COUNT(c, free_list, 1);
	MCENTRAL_COUNT(c, free_list_blocks, nblocks);
	(void)nblocks;
	for (unsigned k = 0; k < f->ngroups; k++) {
		struct free_group *g = &f->g[k];
		struct mspan *s = g->s;
		const uint64_t *bits = &f->words[g->off];
		/* A span with a block of the caller's cannot have gone back to the mheap meanwhile; if
		 * it did, that block had been freed already. */
		if (GA_UNLIKELY(atomic_load_explicit(&s->state, memory_order_relaxed) != MSPAN_INUSE ||
				s->spanclass != sc || span_of((uintptr_t)g->first) != s))
			ga_double_free(g->first);
		s->needzero = 1;
		if (s->incache) {
			unsigned fi = atomic_load_explicit(&s->freeindex, memory_order_relaxed);
			for (unsigned w = 0; w < s->nwords; w++) {
				uint64_t m = bits[w];
				if (!m)
					continue;
				uint64_t taken = fi >= (w + 1) * 64 ? ~0ull : fi <= w * 64 ? 0 : (1ull << (fi - w * 64)) - 1;
				uint64_t bad = m & (~(s->allocBits[w] | taken) | s->freedBits[w]);
				if (GA_UNLIKELY(bad))
					double_free_in(s, w, bad);
				s->freedBits[w] |= m;
			}
			continue;
		}
		for (unsigned w = 0; w < s->nwords; w++) {
			uint64_t m = bits[w];
			if (GA_UNLIKELY(m & ~s->allocBits[w]))
				double_free_in(s, w, m & ~s->allocBits[w]);
			s->allocBits[w] &= ~m;
		}
		GA_ASSERT(s->allocCount >= g->n, "span %p: %u blocks freed, allocCount %u", (void *)s->base, g->n,
			  s->allocCount);
		if (blocks_returned(c, s, g->n, nrel < MCENTRAL_RELEASE_MAX))
			to_release[nrel++] = s;
	}
	ga_unlock(&c->lock);
	for (unsigned k = 0; k < nrel; k++)
		span_returned(to_release[k]);
	gather_reset(f);
}

/* The group of span s in f, a new one if s has none (applying f first if it is full). */
static struct free_group *gather_group(struct mcentral *c, struct free_gather *f, struct mspan *s,
				       uint32_t *gathered)
{
	unsigned h = hash_slot(s);
	for (; f->hash[h]; h = (h + 1) % FREE_HASH)
		if (f->g[f->hash[h] - 1].s == s)
			return &f->g[f->hash[h] - 1];
	if (f->ngroups == FREE_GROUPS || f->nwords + s->nwords > FREE_WORDS) {
		gather_apply(c, f, *gathered);
		*gathered = 0;
		h = hash_slot(s);
	}
	struct free_group *g = &f->g[f->ngroups];
	g->s = s;
	g->first = NULL;
	g->n = 0;
	g->off = (uint16_t)f->nwords;
	__builtin_memset(&f->words[f->nwords], 0, s->nwords * sizeof(uint64_t));
	f->nwords += s->nwords;
	f->hash[h] = (uint8_t)++f->ngroups;
	return g;
}

void mcentral_free_list(struct mcentral *c, void *list, uint32_t n)
{
	struct free_gather f;
	gather_reset(&f);
	uint8_t sc = spanclass_of(c);
	uint32_t gathered = 0;
	void *from = NULL; /* the block whose link led to p */
	while (n--) {
		/* The block is checked against its page's entry, as free() checks it, not against its
		 * span record: the record's second cache line (freeindex, allocCache) is written by the
		 * thread that caches the span, on every block it hands out. Per block, only the record's
		 * first line (objbase, divmagic) is read. */
		void *p = list;
		struct heap_arena *a = arena_of((uintptr_t)p);
		uintptr_t info = a ? arena_page_class(a, (uintptr_t)p) : 0;
		struct mspan *s = a ? arena_page_span(a, (uintptr_t)p) : NULL;
		if (GA_UNLIKELY(!s || page_entry_spanclass(info) != sc || !page_slot_start(p, info)))
			ga_corrupt_list(from, p); /* (a list's first block comes from goalloc's own records) */
		list = ga_link_get(p);
		from = p;
		if (sc > 3) /* the mark of a free slot (blocks freed by an orphaned thread lack it) */
			mcache_set_key(p, ga_free_key);
		struct free_group *g = f.last && f.last->s == s ? f.last : gather_group(c, &f, s, &gathered);
		f.last = g;
		uintptr_t i = mspan_obj_index(s, (uintptr_t)p);
		uint64_t bit = 1ull << (i % 64), *w = &f.words[g->off + i / 64];
		if (GA_UNLIKELY(*w & bit))
			ga_double_free(p); /* twice on this list */
		*w |= bit;
		g->first = p;
		g->n++;
		gathered++;
	}
	gather_apply(c, &f, gathered);
}

void mcentral_sweep_span(struct mspan *s, const uint64_t *garbage, unsigned n, struct mspan **release)
{
	struct mcentral *c = &ga_central[s->spanclass];
	s->needzero = 1;
	if (s->incache) {
		for (unsigned w = 0; w < s->nwords; w++)
			s->freedBits[w] |= garbage[w];
		return;
	}
	for (unsigned w = 0; w < s->nwords; w++)
		s->allocBits[w] &= ~garbage[w];
	GA_ASSERT(s->allocCount >= n, "span %p: %u blocks swept, allocCount %u", (void *)s->base, n, s->allocCount);
	if (blocks_returned(c, s, n, 1)) {
		s->next = *release;
		*release = s;
	}
}

int mcentral_slot_is_free(struct mcentral *c, struct mspan *s, void *p, int *never)
{
	uintptr_t i = mspan_obj_index(s, (uintptr_t)p);
	uint64_t bit = 1ull << (i % 64);
	unsigned w = (unsigned)(i / 64);
	ga_lock(&c->lock);
	unsigned fi = atomic_load_explicit(&s->freeindex, memory_order_relaxed);
	int handed = (s->allocBits[w] & bit) || (s->incache && i < fi);
	int is_free = !handed || (s->freedBits[w] & bit);
	ga_unlock(&c->lock);
	*never = !handed;
	return is_free;
}

int mcentral_put_batch(struct mcentral *c, void *list, uint32_t n)
{
	uint64_t bytes = n * block_bytes(c);
	ga_lock(&c->lock);
	uint32_t k = atomic_load_explicit(&c->nbatches, memory_order_relaxed);
	if (k == MCENTRAL_MAX_BATCHES || c->batch_bytes + bytes > MCENTRAL_BATCH_BYTES) {
		MCENTRAL_COUNT(c, put_full, 1);
		ga_unlock(&c->lock);
		return 0;
	}
	GA_ASSERT(n > 0 && list);
	if (GA_UNLIKELY(!c->batches))
		c->batches = batch_rows[spanclass_of(c)];
	c->batches[k].head = list;
	c->batches[k].n = n;
	atomic_store_explicit(&c->nbatches, k + 1, memory_order_relaxed);
	c->batch_bytes += bytes;
	MCENTRAL_COUNT(c, put, 1);
	MCENTRAL_COUNT(c, put_blocks, n);
	ga_unlock(&c->lock);
	return 1;
}

void *mcentral_get_batch(struct mcentral *c, uint32_t *n)
{
	void *list = NULL;
	*n = 0;
	if (!atomic_load_explicit(&c->nbatches, memory_order_relaxed)) { /* peek: a miss means the span path */
#ifdef GA_LOCKSTATS
		atomic_fetch_add_explicit(&c->trips.peek_miss, 1, memory_order_relaxed);
#endif
		return NULL;
	}
	ga_lock(&c->lock);
	uint32_t k = atomic_load_explicit(&c->nbatches, memory_order_relaxed);
	if (k) {
		atomic_store_explicit(&c->nbatches, k - 1, memory_order_relaxed);
		struct mcentral_batch *b = &c->batches[k - 1];
		list = b->head;
		*n = b->n;
		GA_ASSERT(c->batch_bytes >= b->n * block_bytes(c));
		c->batch_bytes -= b->n * block_bytes(c);
		MCENTRAL_COUNT(c, get, 1);
		MCENTRAL_COUNT(c, get_blocks, b->n);
	} else {
		MCENTRAL_COUNT(c, get_empty, 1);
	}
	ga_unlock(&c->lock);
	return list;
}

void mcentral_release_batches(struct mcentral *c)
{
	uint32_t n;
	void *list;
	while ((list = mcentral_get_batch(c, &n)))
		mcentral_free_list(c, list, n);
}

unsigned mcentral_trim_empty(struct mcentral *c, int all)
{
	unsigned total = 0;
	ga_lock(&c->lock);
	/* (the fewest empty spans the class had since the last pass: it did not need them) */
	uint32_t want = all || c->nempty_low > c->nempty ? c->nempty : c->nempty_low;
	for (;;) {
		struct mspan *batch[MCENTRAL_RELEASE_MAX];
		unsigned n = 0;
		for (struct mspan *s = c->partial, *next; s && total + n < want && n < MCENTRAL_RELEASE_MAX; s = next) {
			next = s->next;
			if (s->allocCount)
				continue;
			list_remove(c, s);
			atomic_store_explicit(&s->state, MSPAN_DEAD, memory_order_relaxed);
			batch[n++] = s;
		}
		c->nempty -= n;
		c->keep = c->keep > n ? c->keep - n : 0; /* (spans idle for a whole pass: keep fewer) */
		int more = n == MCENTRAL_RELEASE_MAX && total + n < want;
		if (!more) {
			c->nempty_low = c->nempty;
			c->returned = 0;
		}
		ga_unlock(&c->lock);
		for (unsigned k = 0; k < n; k++)
			span_returned(batch[k]);
		total += n;
		if (!more)
			return total;
		ga_lock(&c->lock);
	}
}

void mcentral_fork_prepare(void)
{
	for (unsigned i = 0; i < GA_NUM_SPAN_CLASSES; i++)
		ga_lock(&ga_central[i].lock);
}

/* (In the reverse of the lock order, as fork_parent and fork_child release everything.) */
void mcentral_fork_parent(void)
{
	for (unsigned i = GA_NUM_SPAN_CLASSES; i-- > 0;)
		ga_unlock(&ga_central[i].lock);
}

void mcentral_fork_child(void)
{
	for (unsigned i = GA_NUM_SPAN_CLASSES; i-- > 0;)
		ga_lock_reinit(&ga_central[i].lock);
}

/* ---- Verifier (check.h) ---------------------------------------------------------------- */

static void check_list(struct mcentral *c, struct mspan *head, uint8_t which, uint32_t count)
{
	const char *name = which == MSPAN_LIST_PARTIAL ? "partial" : "full";
	uint8_t sc = spanclass_of(c);
	struct mspan *prev = NULL;
	uint32_t n = 0;
	for (struct mspan *s = head; s; prev = s, s = s->next) {
		if (++n > count)
			ga_check_failed("mcentral %u: more spans on the %s list than n%s = %u", sc, name, name, count);
		GA_CHECK_EQ(s->base, "list", which, s->list);
		GA_CHECK_EQ(s->base, "prev (list link)", (uintptr_t)prev, (uintptr_t)s->prev);
		GA_CHECK_EQ(s->base, "incache (on an mcentral list)", 0, s->incache);
		GA_CHECK_EQ(s->base, "spanclass (of its mcentral)", sc, s->spanclass);
		mspan_check(s);
		if (which == MSPAN_LIST_PARTIAL && s->allocCount >= s->nelems)
			GA_CHECK_EQ(s->base, "allocCount (below nelems on the partial list)", s->nelems - 1u, s->allocCount);
		if (which == MSPAN_LIST_FULL)
			GA_CHECK_EQ(s->base, "allocCount (nelems on the full list)", s->nelems, s->allocCount);
	}
	if (n != count)
		ga_check_failed("mcentral %u: n%s: expected %u (spans listed), found %u", sc, name, n, count);
}

void mcentral_check_held(uint8_t sc, void *p, const char *where)
{
	struct mspan *s = span_of((uintptr_t)p);
	if (!s || atomic_load_explicit(&s->state, memory_order_acquire) != MSPAN_INUSE || s->spanclass != sc ||
	    !mspan_is_slot_start(s, (uintptr_t)p))
		ga_check_failed("%s of class %u holds %p, not a slot of a span of this class", where, sc, p);
	uintptr_t i = mspan_obj_index(s, (uintptr_t)p);
	uint64_t bit = 1ull << (i % 64);
	unsigned fi = atomic_load_explicit(&s->freeindex, memory_order_relaxed);
	int allocated = (s->allocBits[i / 64] & bit) || (s->incache && i < fi);
	if (!allocated || (s->freedBits[i / 64] & bit))
		ga_check_failed("span %p: slot %u (%p) is in %s of class %u but free in its span", (void *)s->base,
				(unsigned)i, p, where, sc);
}

void mcentral_check(struct mcentral *c)
{
	uint8_t sc = spanclass_of(c);
	check_list(c, c->partial, MSPAN_LIST_PARTIAL, c->npartial);
	check_list(c, c->full, MSPAN_LIST_FULL, c->nfull);
	uint32_t nempty = 0;
	for (struct mspan *s = c->partial; s; s = s->next)
		nempty += s->allocCount == 0;
	if (nempty != c->nempty)
		ga_check_failed("mcentral %u: nempty: expected %u (empty spans on the partial list), found %u", sc,
				nempty, c->nempty);
	uint32_t nb = atomic_load_explicit(&c->nbatches, memory_order_relaxed);
	if (nb > MCENTRAL_MAX_BATCHES)
		ga_check_failed("mcentral %u: nbatches %u above %u", sc, nb, MCENTRAL_MAX_BATCHES);
	uint64_t bytes = 0;
	for (uint32_t k = 0; k < nb; k++) {
		struct mcentral_batch *b = &c->batches[k];
		void *p = b->head;
		if (b->n == 0)
			ga_check_failed("mcentral %u: batch %u is empty", sc, k);
		for (uint32_t i = 0; i < b->n; i++) {
			if (!p)
				ga_check_failed("mcentral %u: batch %u: n = %u, found %u blocks", sc, k, b->n, i);
			mcentral_check_held(sc, p, "a transfer batch");
			p = ga_link_get(p);
		}
		if (p)
			ga_check_failed("mcentral %u: batch %u: n = %u, but more blocks are linked (%p)", sc, k, b->n, p);
		bytes += b->n * block_bytes(c);
	}
	if (bytes != c->batch_bytes)
		ga_check_failed("mcentral %u: batch_bytes: expected %llu (blocks in batches x size), found %llu", sc,
				(unsigned long long)bytes, (unsigned long long)c->batch_bytes);
}
