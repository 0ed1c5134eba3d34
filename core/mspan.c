/* mspan.c — span initialisation and the bitmap slow paths. See mspan.h for the invariants. */
#include "mspan.h"

#include <string.h>

#include "arena.h"
#include "check.h"

size_t mspan_record_size(unsigned nwords)
{
	return sizeof(struct mspan) + 3 * nwords * sizeof(uint64_t);
}

unsigned mspan_nwords_for_class(unsigned spanclass)
{
	unsigned c = GA_SPANCLASS_SIZECLASS(spanclass);
	unsigned n = c ? ga_class_to_nobjs[c] : 1;
	return (n + 63) / 64;
}

void mspan_init(struct mspan *s, uintptr_t base, uint32_t npages, uint8_t spanclass)
{
	unsigned c = GA_SPANCLASS_SIZECLASS(spanclass);
	s->base = base;
	s->npages = npages;
	s->spanclass = spanclass;
	s->next = s->prev = NULL;
	s->list = MSPAN_LIST_NONE;
	s->incache = 0;
	s->remapped = 0;
	if (c) {
		s->elemsize = ga_class_to_size[c];
		s->nelems = ga_class_to_nobjs[c];
		s->divmagic = ga_class_to_divmagic[c];
		s->divides = UINT64_MAX / s->elemsize + 1;
	} else {
		s->elemsize = (uintptr_t)npages << GA_PAGE_SHIFT;
		s->nelems = 1;
		s->divmagic = 0; /* one object: every offset is index 0 */
		s->divides = 0;  /* unused: a large span's only block starts at base */
	}
	s->limit = base + ((uintptr_t)npages << GA_PAGE_SHIFT);
	GA_ASSERT(base % GA_PAGE_SIZE == 0 && s->nelems * s->elemsize <= s->limit - base, "span %p class %u",
		  (void *)base, spanclass);
	s->objbase = s->limit - s->nelems * s->elemsize;
	GA_ASSERT(s->objbase - base < s->elemsize || !c, "span %p: waste of a slot or more", (void *)base);
	s->nwords = (uint8_t)((s->nelems + 63) / 64);
	s->allocBits = s->bits;
	s->freedBits = s->bits + s->nwords;
	s->gcmarkBits = s->bits + 2 * s->nwords;
	memset(s->bits, 0, 3 * s->nwords * sizeof(uint64_t));
	atomic_store_explicit(&s->freeindex, 0, memory_order_relaxed);
	s->allocCount = 0;
	mspan_refill_alloc_cache(s, 0);
}

unsigned mspan_next_free_index(struct mspan *s)
{
	unsigned fi = atomic_load_explicit(&s->freeindex, memory_order_relaxed);
	unsigned n = s->nelems;
	GA_ASSERT(fi <= n, "span %p: freeindex %u, nelems %u", (void *)s->base, fi, n);
	if (fi >= n)
		return n;
	uint64_t cache = s->allocCache;
	while (cache == 0) { /* nothing free in this window: move to the next 64 slots */
		fi = (fi + 64) & ~63u;
		if (fi >= n) {
			atomic_store_explicit(&s->freeindex, (uint16_t)n, memory_order_relaxed);
			return n;
		}
		mspan_refill_alloc_cache(s, fi);
		cache = s->allocCache;
	}
	unsigned bit = (unsigned)__builtin_ctzll(cache);
	unsigned res = fi + bit;
	if (res >= n) {
		atomic_store_explicit(&s->freeindex, (uint16_t)n, memory_order_relaxed);
		return n;
	}
	s->allocCache = (cache >> bit) >> 1;
	fi = res + 1;
	if (fi % 64 == 0 && fi != n)
		mspan_refill_alloc_cache(s, fi);
	atomic_store_explicit(&s->freeindex, (uint16_t)fi, memory_order_relaxed);
	return res;
}

unsigned mspan_popcount_alloc(const struct mspan *s)
{
	unsigned n = 0;
	for (unsigned w = 0; w < s->nwords; w++)
		n += (unsigned)__builtin_popcountll(s->allocBits[w]);
	return n;
}

void mspan_settle(struct mspan *s)
{
	unsigned fi = atomic_load_explicit(&s->freeindex, memory_order_relaxed);
	GA_ASSERT(fi <= s->nelems, "span %p: freeindex %u, nelems %u", (void *)s->base, fi, s->nelems);
	for (unsigned w = 0; w < s->nwords; w++) {
		uint64_t taken; /* slots below freeindex in this word */
		if (fi >= (w + 1) * 64)
			taken = ~0ull;
		else if (fi <= w * 64)
			taken = 0;
		else
			taken = (1ull << (fi - w * 64)) - 1;
		s->allocBits[w] = (s->allocBits[w] | taken) & ~s->freedBits[w];
		s->freedBits[w] = 0;
	}
	if (s->nelems % 64) /* bits past nelems are never free */
		s->allocBits[s->nwords - 1] &= (1ull << (s->nelems % 64)) - 1;
	atomic_store_explicit(&s->freeindex, 0, memory_order_relaxed);
	s->allocCount = (uint16_t)mspan_popcount_alloc(s);
	GA_ASSERT(s->allocCount <= s->nelems);
	mspan_refill_alloc_cache(s, 0);
}

/* ---- Verifiers (check.h) --------------------------------------------------------------- */

void mspan_check_layout(const struct mspan *s)
{
	uintptr_t b = s->base;
	unsigned st = atomic_load_explicit(&s->state, memory_order_acquire);
	if (st != MSPAN_INUSE && st != MSPAN_CACHED)
		GA_CHECK_EQ(b, "state (in use)", MSPAN_INUSE, st);
	if (st == MSPAN_CACHED && !mspan_is_large(s))
		GA_CHECK_EQ(b, "state of a small span", MSPAN_INUSE, st);
	GA_CHECK_EQ(b, "base % page size", 0, b % GA_PAGE_SIZE);
	GA_CHECK_EQ(b, "limit", b + ((uintptr_t)s->npages << GA_PAGE_SHIFT), s->limit);
	unsigned c = GA_SPANCLASS_SIZECLASS(s->spanclass);
	if (c) {
		if (s->spanclass >= GA_NUM_SPAN_CLASSES)
			GA_CHECK_EQ(b, "spanclass (below the class count)", GA_NUM_SPAN_CLASSES - 1, s->spanclass);
		GA_CHECK_EQ(b, "npages", ga_class_to_npages[c], s->npages);
		GA_CHECK_EQ(b, "elemsize", ga_class_to_size[c], s->elemsize);
		GA_CHECK_EQ(b, "nelems", ga_class_to_nobjs[c], s->nelems);
		GA_CHECK_EQ(b, "divmagic", ga_class_to_divmagic[c], s->divmagic);
		GA_CHECK_EQ(b, "divides", UINT64_MAX / s->elemsize + 1, s->divides);
		GA_CHECK_EQ(b, "objbase", s->limit - (uintptr_t)s->nelems * s->elemsize, s->objbase);
		uintptr_t waste = s->objbase - b;
		GA_CHECK_EQ(b, "waste % (alignment of elemsize)", 0, waste % (s->elemsize & -s->elemsize));
	} else {
		GA_CHECK_EQ(b, "elemsize (large)", (uintptr_t)s->npages << GA_PAGE_SHIFT, s->elemsize);
		GA_CHECK_EQ(b, "nelems (large)", 1, s->nelems);
		GA_CHECK_EQ(b, "objbase (large)", b, s->objbase);
	}
	GA_CHECK_EQ(b, "nwords", (s->nelems + 63u) / 64, s->nwords);
	GA_CHECK_EQ(b, "allocBits", (uintptr_t)s->bits, (uintptr_t)s->allocBits);
	GA_CHECK_EQ(b, "freedBits", (uintptr_t)(s->bits + s->nwords), (uintptr_t)s->freedBits);
	GA_CHECK_EQ(b, "gcmarkBits", (uintptr_t)(s->bits + 2 * s->nwords), (uintptr_t)s->gcmarkBits);
	for (uint32_t i = 0; i < s->npages; i++) {
		uintptr_t page = b + ((uintptr_t)i << GA_PAGE_SHIFT);
		struct heap_arena *a = arena_of(page);
		if (!a)
			ga_check_failed("span %p: page %p is in no arena", (void *)b, (void *)page);
		struct mspan *owner = arena_page_span(a, page);
		if (owner != s)
			ga_check_failed("span %p: arena spans[] entry of page %p: expected %p, found %p", (void *)b,
					(void *)page, (const void *)s, (void *)owner);
		unsigned want = mspan_is_large(s) ? s->spanclass : page_entry(s->spanclass, mspan_page_phase(s, page));
		if ((arena_page_class(a, page) & ~PAGE_OWNER_MASK) != want)
			ga_check_failed("span %p: pageClass of page %p: expected 0x%x, found 0x%x", (void *)b,
					(void *)page, want, arena_page_class(a, page));
	}
}

void mspan_check(const struct mspan *s)
{
	uintptr_t b = s->base;
	mspan_check_layout(s);
	if (mspan_is_large(s))
		return;
	unsigned n = s->nelems, last = s->nwords - 1;
	uint64_t past = n % 64 ? ~((1ull << (n % 64)) - 1) : 0; /* bits past nelems in the last word */
	if (s->allocBits[last] & past)
		GA_CHECK_EQ(b, "allocBits past nelems", 0, s->allocBits[last] & past);
	if (!s->incache) {
		GA_CHECK_EQ(b, "allocCount (popcount of allocBits)", mspan_popcount_alloc(s), s->allocCount);
		if (s->allocCount > n)
			GA_CHECK_EQ(b, "allocCount (at most nelems)", n, s->allocCount);
		for (unsigned w = 0; w < s->nwords; w++)
			GA_CHECK_EQ(b, "freedBits of an uncached span", 0, s->freedBits[w]);
		return;
	}
	unsigned fi = atomic_load_explicit(&s->freeindex, memory_order_relaxed);
	if (fi > n)
		GA_CHECK_EQ(b, "freeindex (at most nelems)", n, fi);
	if (fi < n)
		GA_CHECK_EQ(b, "allocCache (~allocBits from freeindex)", ~s->allocBits[fi / 64] >> (fi % 64),
			    s->allocCache);
	for (unsigned w = 0; w < s->nwords; w++) {
		uint64_t below = fi >= (w + 1) * 64 ? ~0ull : fi <= w * 64 ? 0 : (1ull << (fi - w * 64)) - 1;
		uint64_t stray = s->freedBits[w] & ~(s->allocBits[w] | below);
		if (stray)
			ga_check_failed("span %p: freedBits word %u marks slot %u freed, which is not allocated",
					(void *)b, w, w * 64 + (unsigned)__builtin_ctzll(stray));
	}
}
