/* mspan.c — span initialisation and the bitmap slow paths. See mspan.h for the invariants. */
#include "mspan.h"

#include <string.h>

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
	s->objbase = s->limit - s->nelems * s->elemsize;
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
	mspan_refill_alloc_cache(s, 0);
}
