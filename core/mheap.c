/* mheap.c — see mheap.h. */
#include "mheap.h"

#include <string.h>

#include "arena.h"
#include "check.h"
#include "fixalloc.h"
#include "lock.h"
#include "mgc.h"
#include "mgcscavenge.h"
#include "os.h"

#define NUM_RECORD_KINDS 5 /* span records with 1, 2, 4, 8, 16 bitmap words */

static struct {
	ga_lock_t lock;
	/* All arenas, sorted by address. Under lock. */
	struct heap_arena **arenas;
	uint32_t narenas, cap;
	/* Search hint (Go's searchAddr): no free page lies before arena hint_k, word hint_w. */
	uint32_t hint_k, hint_w;
	struct fixalloc spanalloc[NUM_RECORD_KINDS];
	int inited;
	uint64_t pages_inuse, spans_inuse, arena_bytes;
	/* Free pages that hold data (pageDirty set, pageAlloc clear): what a new span can reuse
	 * before the heap touches fresh memory. Written under lock, read without. */
	_Atomic uint64_t free_dirty;
	/* The most pages_inuse has been (the scavenger's thread starts once the heap has shrunk
	 * SCAV_START_BYTES below it). */
	uint64_t pages_peak;
	/* The scavenger's search (mheap_scavenge) goes down from arena scav_k, word scav_w; set back
	 * to the top (scav_top) whenever pages holding data are freed. */
	uint32_t scav_k, scav_w;
	int scav_top;
} mheap = {.lock = GA_LOCK_INIT(GA_RANK_MHEAP)};

static unsigned record_kind(unsigned nwords)
{
	unsigned k = 0;
	while ((1u << k) < nwords)
		k++;
	return k;
}

static void mheap_init_locked(void)
{
	for (unsigned k = 0; k < NUM_RECORD_KINDS; k++)
		fixalloc_init(&mheap.spanalloc[k], mspan_record_size(1u << k));
	mheap.inited = 1;
}

/* Make room in mheap.arenas for n more arenas. Done before they are reserved: an arena that is
 * published in the index must be in the list too (the page search and lower_hint walk the list,
 * pages_free trusts the index), so once reserved, adding it cannot be allowed to fail. */
static int make_room(uint32_t n)
{
	if (mheap.narenas + n > mheap.cap) {
		uint32_t ncap = mheap.cap ? mheap.cap * 2 : 256;
		while (ncap < mheap.narenas + n)
			ncap *= 2;
		struct heap_arena **na = ga_os_alloc(ncap * sizeof *na);
		if (!na)
			return 0;
		if (mheap.arenas) {
			memcpy(na, mheap.arenas, mheap.narenas * sizeof *na);
			ga_os_free(mheap.arenas, mheap.cap * sizeof *na);
		}
		mheap.arenas = na;
		mheap.cap = ncap;
	}
	return 1;
}

/* List n arenas just reserved (make_room(n) made room for them). */
static void add_arenas(struct heap_arena *first, uint32_t n)
{
	size_t recsz = ga_align_up(sizeof(struct heap_arena), 4096);
	for (uint32_t i = 0; i < n; i++) {
		struct heap_arena *a = (struct heap_arena *)((char *)first + i * recsz);
		uint32_t k = mheap.narenas; /* insertion sort: arenas usually arrive in address order */
		while (k > 0 && mheap.arenas[k - 1]->index > a->index) {
			mheap.arenas[k] = mheap.arenas[k - 1];
			k--;
		}
		mheap.arenas[k] = a;
		mheap.narenas++;
		GA_ASSERT(k + 1 == mheap.narenas || mheap.arenas[k + 1]->index > a->index); /* sorted, distinct */
		if (k < mheap.hint_k || (k == mheap.hint_k && mheap.narenas > 1)) {
			mheap.hint_k = k;
			mheap.hint_w = 0;
		}
	}
	mheap.arena_bytes += (uint64_t)n << GA_ARENA_SHIFT;
}

/* First fit: a run of npages free pages whose first page number is a multiple of align.
 * Returns the address or 0. Runs may continue across arenas that are adjacent in memory. */
static uintptr_t find_run(uint32_t npages, uint32_t align)
{
	uint32_t run = 0;
	uintptr_t start = 0;
	for (uint32_t k = mheap.hint_k; k < mheap.narenas; k++) {
		struct heap_arena *a = mheap.arenas[k];
		if (k > 0 && mheap.arenas[k - 1]->index + 1 != a->index)
			run = 0;
		if (a->freePages == 0) {
			run = 0;
			continue;
		}
		uint32_t w0 = k == mheap.hint_k ? mheap.hint_w : 0;
		for (uint32_t w = w0; w < GA_PAGES_PER_ARENA / 64; w++) {
			uint64_t word = a->pageAlloc[w];
			if (word == ~0ull) {
				run = 0;
				continue;
			}
			uintptr_t wpage = (a->base >> GA_PAGE_SHIFT) + w * 64; /* global page number */
			if (npages == 1 && align == 1) /* the common case: first clear bit */
				return (wpage + (uintptr_t)__builtin_ctzll(~word)) << GA_PAGE_SHIFT;
			if (word == 0 && run && align == 1) {
				run += 64;
				if (run >= npages)
					return start;
				continue;
			}
			uint64_t freebits = ~word; /* 1 = free page */
			unsigned b = 0;
			while (b < 64) {
				uint64_t f = freebits >> b;
				if (!f) { /* the rest of the word is taken */
					run = 0;
					break;
				}
				unsigned skip = (unsigned)__builtin_ctzll(f);
				if (skip) {
					run = 0;
					b += skip;
				}
				uint64_t taken = ~(freebits >> b); /* bits past the word read as taken */
				/* (taken is 0 when the whole word is free from bit 0: ctz(0) is undefined) */
				unsigned len = taken ? (unsigned)__builtin_ctzll(taken) : 64 - b;
				if (run == 0) {
					uintptr_t first = wpage + b, adj = (align - first % align) % align;
					if (adj >= len) { /* no aligned start in this free stretch */
						b += len;
						continue;
					}
					start = (first + adj) << GA_PAGE_SHIFT;
					b += (unsigned)adj;
					len -= (unsigned)adj;
				}
				run += len;
				if (run >= npages)
					return start;
				b += len;
			}
		}
	}
	return 0;
}

/* Bits [b, e) of a 64-bit word (0 ≤ b < e ≤ 64). */
static uint64_t bit_range(unsigned b, unsigned e)
{
	uint64_t hi = e == 64 ? ~0ull : (1ull << e) - 1;
	return hi & ~((1ull << b) - 1);
}

void mheap_set_span_owner(struct mspan *s, uint32_t owner_bits)
{
	for (uintptr_t page = s->base; page < s->limit; page += GA_PAGE_SIZE) {
		struct heap_arena *a = arena_of(page);
		_Atomic uint32_t *e = &a->pageClass[(page - a->base) >> GA_PAGE_SHIFT];
		uint32_t old = atomic_load_explicit(e, memory_order_relaxed);
		if (page_entry_owner(old) != owner_bits && page_entry_spanclass(old) == s->spanclass)
			atomic_compare_exchange_strong_explicit(e, &old, (old & ~PAGE_OWNER_MASK) | owner_bits,
								memory_order_relaxed, memory_order_relaxed);
	}
}

/* Mark [base, base + npages pages) as owned by s (allocating) or free (s == NULL), arena by
 * arena and 64 pages at a time. Returns whether any page had been handed out before (its
 * contents may be non-zero); only meaningful when allocating. When freeing, `clean` says the
 * pages were just given back to the OS (they read as zero again: pageDirty is cleared). */
static int set_pages(uintptr_t base, uint32_t npages, struct mspan *s, int clean)
{
	int dirty = 0;
	int64_t free_dirty = 0; /* change to mheap.free_dirty */
	while (npages) {
		struct heap_arena *a = arena_of(base);
		uint32_t pg = (uint32_t)((base - a->base) >> GA_PAGE_SHIFT);
		uint32_t n = GA_PAGES_PER_ARENA - pg < npages ? GA_PAGES_PER_ARENA - pg : npages;
		for (uint32_t i = 0; i < n; i++) {
			uint32_t info = !s ? 0 : mspan_is_large(s) ? page_entry(s->spanclass, 0)
						   : page_entry(s->spanclass, mspan_page_phase(s, base + ((uintptr_t)i << GA_PAGE_SHIFT)));
			GA_ASSERT(page_entry_phase(info) < 1u << 15); /* the phase fits (arena.h) */
			atomic_store_explicit(&a->pageClass[pg + i], info, memory_order_relaxed);
			atomic_store_explicit(&a->spans[pg + i], s, memory_order_release);
		}
		for (uint32_t p = pg; p < pg + n;) {
			unsigned b = p % 64, e = (pg + n - (p - b) < 64) ? (unsigned)(pg + n - (p - b)) : 64;
			uint64_t m = bit_range(b, e);
			uint32_t w = p / 64;
			uint64_t reused = a->pageDirty[w] & m;
			/* (no page handed out twice, none freed twice) */
			GA_ASSERT((a->pageAlloc[w] & m) == (s ? 0 : m), "pages of %p", (void *)base);
			if (s) {
				a->pageAlloc[w] |= m;
				dirty |= reused != 0;
				a->pageDirty[w] |= m;
				free_dirty -= __builtin_popcountll(reused);
			} else {
				a->pageAlloc[w] &= ~m;
				if (clean)
					a->pageDirty[w] &= ~m;
				else
					free_dirty += __builtin_popcountll(reused);
			}
			p += e - b;
		}
		GA_ASSERT(s ? a->freePages >= n : a->freePages + n <= GA_PAGES_PER_ARENA);
		if (s)
			a->freePages -= n;
		else
			a->freePages += n;
		base += (uintptr_t)n << GA_PAGE_SHIFT;
		npages -= n;
	}
	atomic_store_explicit(&mheap.free_dirty,
			      atomic_load_explicit(&mheap.free_dirty, memory_order_relaxed) + (uint64_t)free_dirty,
			      memory_order_relaxed);
	if (free_dirty > 0)
		mheap.scav_top = 1;
	return dirty;
}

static void lower_hint(uintptr_t base)
{
	struct heap_arena *a = arena_of(base);
	uint32_t w = (uint32_t)((base - a->base) >> GA_PAGE_SHIFT) / 64;
	uint32_t k = mheap.hint_k;
	if (k < mheap.narenas && mheap.arenas[k]->index == a->index) {
		if (w < mheap.hint_w)
			mheap.hint_w = w;
		return;
	}
	if (k < mheap.narenas && mheap.arenas[k]->index < a->index)
		return;
	for (k = 0; k < mheap.narenas && mheap.arenas[k] != a; k++)
		;
	mheap.hint_k = k;
	mheap.hint_w = w;
}

static void advance_hint(void)
{
	while (mheap.hint_k < mheap.narenas) {
		struct heap_arena *a = mheap.arenas[mheap.hint_k];
		if (a->freePages) {
			while (mheap.hint_w < GA_PAGES_PER_ARENA / 64 && a->pageAlloc[mheap.hint_w] == ~0ull)
				mheap.hint_w++;
			if (mheap.hint_w < GA_PAGES_PER_ARENA / 64)
				return;
		}
		mheap.hint_k++;
		mheap.hint_w = 0;
	}
}

static struct mspan *alloc_span_locked(uint32_t npages, uint8_t spanclass, uint32_t align)
{
	if (!mheap.inited)
		mheap_init_locked();
	uintptr_t base = find_run(npages, align);
	if (!base) {
		/* Grow by whole arenas: enough for the run (plus alignment slack). */
		uint64_t need = (uint64_t)npages + (align > 1 ? align : 0);
		uint64_t narenas = (need + GA_PAGES_PER_ARENA - 1) / GA_PAGES_PER_ARENA;
		if (narenas > UINT32_MAX || narenas > UINT32_MAX - mheap.narenas || !make_room((uint32_t)narenas))
			return NULL;
		struct heap_arena *a = arena_reserve((uint32_t)narenas);
		if (!a)
			return NULL;
		add_arenas(a, (uint32_t)narenas);
		base = find_run(npages, align);
		if (!base)
			return NULL;
	}
	unsigned nwords = mspan_nwords_for_class(spanclass);
	struct mspan *s = fixalloc_alloc(&mheap.spanalloc[record_kind(nwords)]);
	if (!s)
		return NULL;
	mspan_init(s, base, npages, spanclass);
	s->needzero = (uint8_t)set_pages(base, npages, s, 0);
	advance_hint();
	mheap.pages_inuse += npages;
	if (mheap.pages_inuse > mheap.pages_peak)
		mheap.pages_peak = mheap.pages_inuse;
	mheap.spans_inuse++;
	atomic_store_explicit(&s->state, MSPAN_INUSE, memory_order_release);
	/* The collector's trigger (mgc.c): the heap reached its goal. (UINT64_MAX when it is off.) */
	if (GA_UNLIKELY(mheap.pages_inuse >= __atomic_load_n(&ga_gc_trigger_pages, __ATOMIC_RELAXED)))
		atomic_store_explicit(&ga_gc_wanted, 1, memory_order_relaxed);
	return s;
}

struct mspan *mheap_alloc_span(uint32_t npages, uint8_t spanclass, uint32_t align_pages)
{
	ga_lock(&mheap.lock);
	struct mspan *s = alloc_span_locked(npages, spanclass, align_pages ? align_pages : 1);
	ga_unlock(&mheap.lock);
	return s;
}

/* Give [base, base + npages pages) of span s back to the OS while s still owns them (once they
 * are free, another thread may be handed them as zeroed); pages that mremap moved there are
 * mapped afresh instead. Returns whether they read as zero now: 0 if the kernel refused (they
 * stay resident with their contents, and must not be marked clean). */
static int release_pages(const struct mspan *s, uintptr_t base, uint32_t npages)
{
	if (s->remapped)
		return ga_os_map_fresh((void *)base, (size_t)npages << GA_PAGE_SHIFT);
	return ga_os_unused((void *)base, (size_t)npages << GA_PAGE_SHIFT);
}

/* The heap has shrunk: once SCAV_START_BYTES below its peak, have the scavenger started (by the
 * next free slow path: this one may hold locks of its caller's). Under the lock. */
static void note_shrink(void)
{
	if (GA_UNLIKELY(ga_scav_armed) && mheap.pages_peak - mheap.pages_inuse >= SCAV_START_BYTES >> GA_PAGE_SHIFT) {
		ga_scav_armed = 0;
		atomic_store_explicit(&ga_scav_pending, 1, memory_order_relaxed);
	}
}

/* clean: the span's pages read as zero already. A remapped span's are mapped afresh here (also
 * after ga_os_move took its pages: the range is still a mapping of its own). */
static void free_span(struct mspan *s, int clean)
{
	if (s->remapped)
		clean = release_pages(s, s->base, s->npages);
	ga_lock(&mheap.lock);
	GA_ASSERT(mheap.pages_inuse >= s->npages && mheap.spans_inuse > 0 && arena_page_span(arena_of(s->base), s->base) == s,
		  "span %p", (void *)s->base);
	atomic_store_explicit(&s->state, MSPAN_DEAD, memory_order_release);
	set_pages(s->base, s->npages, NULL, clean);
	lower_hint(s->base);
	mheap.pages_inuse -= s->npages;
	mheap.spans_inuse--;
	note_shrink();
	gc_span_freed(s);
	fixalloc_free(&mheap.spanalloc[record_kind(s->nwords)], s);
	ga_unlock(&mheap.lock);
}

void mheap_free_span(struct mspan *s)
{
	free_span(s, 0);
}

void mheap_free_span_unused(struct mspan *s, int moved)
{
	int clean = moved; /* (pages moved away by ga_os_move read as zero) */
	if (!moved && !s->remapped) /* (free_span maps a remapped span's pages afresh) */
		clean = release_pages(s, s->base, s->npages);
	free_span(s, clean);
}

/* Can the npages pages from address p join a span? Yes if every one that is in an arena is free
 * and the rest lie in arenas nobody has reserved, which are reserved here: a large span at the
 * heap's end then grows in place, as glibc's top chunk does, instead of moving. */
static int pages_free(uintptr_t p, uint32_t npages)
{
	uintptr_t stop = p + ((uintptr_t)npages << GA_PAGE_SHIFT);
	if (stop < p)
		return 0;
	for (; p < stop; p += GA_PAGE_SIZE) {
		struct heap_arena *a = arena_of(p);
		if (!a)
			break; /* (p is then an arena's first byte: arenas are reserved whole) */
		uint32_t pg = (uint32_t)((p - a->base) >> GA_PAGE_SHIFT);
		if (a->pageAlloc[pg / 64] >> (pg % 64) & 1)
			return 0;
	}
	if (p >= stop)
		return 1;
	uint64_t narenas = (stop - p + GA_ARENA_SIZE - 1) >> GA_ARENA_SHIFT;
	if (narenas > UINT32_MAX || narenas > UINT32_MAX - mheap.narenas)
		return 0;
	for (uint64_t i = 1; i < narenas; i++)
		if (arena_of(p + (i << GA_ARENA_SHIFT)))
			return 0;
	if (!make_room((uint32_t)narenas))
		return 0;
	struct heap_arena *a = arena_reserve_at(p, (uint32_t)narenas);
	if (!a)
		return 0;
	add_arenas(a, (uint32_t)narenas);
	return 1;
}

void mheap_unmove_span(struct mspan *s)
{
	if (ga_os_map_fresh((void *)s->base, (size_t)s->npages << GA_PAGE_SHIFT)) {
		s->remapped = 0;
		s->needzero = 0;
	} /* (else it stays remapped, its contents as they were: a later release tries again) */
}

int mheap_resize_large(struct mspan *s, uint32_t npages, int release_tail)
{
	int ok = 1;
	release_tail = npages < s->npages && (release_tail || s->remapped);
	if (release_tail) /* (before the lock: the span owns the tail until set_pages below) */
		release_tail = release_pages(s, s->base + ((uintptr_t)npages << GA_PAGE_SHIFT), s->npages - npages);
	ga_lock(&mheap.lock);
	if (npages > s->npages) {
		uintptr_t end = s->base + ((uintptr_t)s->npages << GA_PAGE_SHIFT);
		uint32_t more = npages - s->npages;
		if (pages_free(end, more)) {
			s->needzero |= (uint8_t)set_pages(end, more, s, 0);
			advance_hint();
			mheap.pages_inuse += more;
			if (mheap.pages_inuse > mheap.pages_peak)
				mheap.pages_peak = mheap.pages_inuse;
		} else {
			ok = 0;
		}
	} else if (npages < s->npages) {
		uintptr_t tail = s->base + ((uintptr_t)npages << GA_PAGE_SHIFT);
		set_pages(tail, s->npages - npages, NULL, release_tail);
		lower_hint(tail);
		mheap.pages_inuse -= s->npages - npages;
		note_shrink();
	}
	if (ok && npages != s->npages) {
		s->npages = npages;
		s->elemsize = (uintptr_t)npages << GA_PAGE_SHIFT;
		s->limit = s->base + s->elemsize;
	}
	ga_unlock(&mheap.lock);
	return ok;
}

void mheap_get_stats(struct mheap_stats *out)
{
	ga_lock(&mheap.lock);
	out->arenas = mheap.narenas;
	out->bytes_mapped = mheap.arena_bytes;
	out->pages_inuse = mheap.pages_inuse;
	out->spans_inuse = mheap.spans_inuse;
	out->pages_free_dirty = atomic_load_explicit(&mheap.free_dirty, memory_order_relaxed);
	uint64_t meta = arena_bytes_metadata();
	for (unsigned k = 0; k < NUM_RECORD_KINDS; k++)
		meta += mheap.spanalloc[k].mapped;
	out->bytes_metadata = meta;
	ga_unlock(&mheap.lock);
}

/* Give the free pages [b, e), all holding data, back to the OS and mark them clean; they stay
 * dirty if the kernel refuses. Returns the bytes released. Under the lock. */
static size_t release_run(uintptr_t b, uintptr_t e)
{
	if (b == e || !ga_os_unused((void *)b, e - b))
		return 0;
	for (uintptr_t p = b; p < e; p += GA_PAGE_SIZE) {
		struct heap_arena *a = arena_of(p);
		uint32_t pg = (uint32_t)((p - a->base) >> GA_PAGE_SHIFT);
		a->pageDirty[pg / 64] &= ~(1ull << (pg % 64));
	}
	atomic_fetch_sub_explicit(&mheap.free_dirty, (e - b) >> GA_PAGE_SHIFT, memory_order_relaxed);
	return e - b;
}

size_t mheap_release_free(void)
{
	size_t released = 0;
	uintptr_t rb = 0, re = 0; /* the run being gathered: one madvise for pages that follow on */
	ga_lock(&mheap.lock);
	for (uint32_t k = 0; k < mheap.narenas; k++) {
		struct heap_arena *a = mheap.arenas[k];
		for (uint32_t w = 0; w < GA_PAGES_PER_ARENA / 64; w++) {
			uint64_t rel = a->pageDirty[w] & ~a->pageAlloc[w]; /* free pages holding data */
			while (rel) {
				unsigned b = (unsigned)__builtin_ctzll(rel);
				unsigned e = b;
				while (e < 64 && (rel >> e & 1))
					e++;
				rel &= ~bit_range(b, e);
				uintptr_t p = a->base + ((uintptr_t)(w * 64 + b) << GA_PAGE_SHIFT);
				if (p != re) {
					released += release_run(rb, re);
					rb = p;
				}
				re = p + ((uintptr_t)(e - b) << GA_PAGE_SHIFT);
			}
		}
	}
	released += release_run(rb, re);
	ga_unlock(&mheap.lock);
	return released;
}

/* The highest run of free pages holding data at or below the search position, at most maxpages
 * long (its top part when longer): [*b, *e). 0 when none is left below it. Under the lock. */
static int highest_dirty_run(uint32_t maxpages, uintptr_t *b, uintptr_t *e)
{
	if (mheap.scav_top) {
		mheap.scav_top = 0;
		mheap.scav_k = mheap.narenas;
		mheap.scav_w = GA_PAGES_PER_ARENA / 64;
	}
	for (; mheap.scav_k > 0; mheap.scav_k--, mheap.scav_w = GA_PAGES_PER_ARENA / 64) {
		struct heap_arena *a = mheap.arenas[mheap.scav_k - 1];
		if (a->freePages == 0)
			continue;
		for (; mheap.scav_w > 0; mheap.scav_w--) {
			uint32_t w = mheap.scav_w - 1;
			uint64_t rel = a->pageDirty[w] & ~a->pageAlloc[w]; /* free pages holding data */
			if (!rel)
				continue;
			unsigned top = 63 - (unsigned)__builtin_clzll(rel), bot = top;
			while (bot > 0 && (rel >> (bot - 1) & 1) && top - bot + 1 < maxpages)
				bot--;
			*b = a->base + ((uintptr_t)(w * 64 + bot) << GA_PAGE_SHIFT);
			*e = a->base + ((uintptr_t)(w * 64 + top + 1) << GA_PAGE_SHIFT);
			return 1; /* (the word is looked at again next time: it may hold more) */
		}
	}
	return 0;
}

size_t mheap_scavenge(size_t max_bytes)
{
	size_t released = 0;
	uint32_t maxpages = (uint32_t)(max_bytes >> GA_PAGE_SHIFT);
	if (!maxpages)
		maxpages = 1;
	ga_lock(&mheap.lock);
	uintptr_t b, e;
	while (released < max_bytes && highest_dirty_run(maxpages - (uint32_t)(released >> GA_PAGE_SHIFT), &b, &e)) {
		size_t r = release_run(b, e);
		if (!r)
			break; /* (the kernel refused: try again later) */
		released += r;
	}
	ga_unlock(&mheap.lock);
	return released;
}

size_t mheap_release_metadata(void)
{
	size_t released = 0;
	ga_lock(&mheap.lock);
	if (mheap.inited)
		for (unsigned k = 0; k < NUM_RECORD_KINDS; k++)
			released += fixalloc_release(&mheap.spanalloc[k]);
	ga_unlock(&mheap.lock);
	return released;
}

void mheap_scav_counts(uint64_t *inuse_bytes, uint64_t *retained_bytes, uint64_t *mapped_bytes)
{
	ga_lock(&mheap.lock);
	uint64_t inuse = mheap.pages_inuse, free_dirty = atomic_load_explicit(&mheap.free_dirty, memory_order_relaxed);
	*mapped_bytes = mheap.arena_bytes;
	ga_unlock(&mheap.lock);
	*inuse_bytes = inuse << GA_PAGE_SHIFT;
	*retained_bytes = (inuse + free_dirty) << GA_PAGE_SHIFT;
}

uint64_t mheap_reusable_pages(void)
{
	return atomic_load_explicit(&mheap.free_dirty, memory_order_relaxed);
}

unsigned mheap_arenas_locked(struct heap_arena *const **out)
{
	*out = mheap.arenas;
	return mheap.narenas;
}

void mheap_fork_prepare(void) { ga_lock(&mheap.lock); }
void mheap_fork_parent(void) { ga_unlock(&mheap.lock); }
void mheap_fork_child(void) { ga_lock_reinit(&mheap.lock); }

/* ---- Verifier (check.h) ---------------------------------------------------------------- */

uint64_t mheap_check(void)
{
	uint64_t pages = 0, spans = 0, free_dirty = 0;
	for (uint32_t k = 0; k < mheap.narenas; k++) {
		struct heap_arena *a = mheap.arenas[k];
		if (k > 0 && mheap.arenas[k - 1]->index >= a->index)
			ga_check_failed("arena %p: arenas not sorted (index %u after %u)", (void *)a->base, a->index,
					mheap.arenas[k - 1]->index);
		if (arena_of(a->base) != a || a->index != a->base >> GA_ARENA_SHIFT)
			ga_check_failed("arena %p: not in the arena index under its own address", (void *)a->base);
		uint32_t nfree = 0;
		for (uint32_t w = 0; w < GA_PAGES_PER_ARENA / 64; w++) {
			uint64_t alloc = a->pageAlloc[w];
			nfree += (uint32_t)__builtin_popcountll(~alloc);
			free_dirty += (uint64_t)__builtin_popcountll(a->pageDirty[w] & ~alloc);
			if (alloc & ~a->pageDirty[w])
				ga_check_failed("arena %p: page %u is allocated but not marked dirty", (void *)a->base,
						w * 64 + (unsigned)__builtin_ctzll(alloc & ~a->pageDirty[w]));
			if (alloc != ~0ull && (k < mheap.hint_k || (k == mheap.hint_k && w < mheap.hint_w)))
				ga_check_failed("arena %p: free page %u lies before the search hint (arena %u, word %u)",
						(void *)a->base, w * 64 + (unsigned)__builtin_ctzll(~alloc), mheap.hint_k,
						mheap.hint_w);
			for (unsigned i = 0; i < 64; i++) {
				uint32_t pg = w * 64 + i;
				uintptr_t page = a->base + ((uintptr_t)pg << GA_PAGE_SHIFT);
				struct mspan *s = atomic_load_explicit(&a->spans[pg], memory_order_relaxed);
				unsigned cls = atomic_load_explicit(&a->pageClass[pg], memory_order_relaxed);
				if (!(alloc >> i & 1)) {
					if (s || cls)
						ga_check_failed("page %p: free in pageAlloc, but spans[] = %p, pageClass = 0x%x",
								(void *)page, (void *)s, cls);
					continue;
				}
				if (!s)
					ga_check_failed("page %p: allocated in pageAlloc, but no span in spans[]", (void *)page);
				if (page < s->base || page >= s->limit)
					ga_check_failed("page %p: spans[] names span %p, which does not cover it",
							(void *)page, (void *)s->base);
				pages++;
				if (page == s->base) { /* each span once, at its first page */
					spans++;
					mspan_check_layout(s);
				}
			}
		}
		if (nfree != a->freePages)
			ga_check_failed("arena %p: freePages: expected %u (clear pageAlloc bits), found %u", (void *)a->base,
					nfree, a->freePages);
	}
	if (pages != mheap.pages_inuse)
		ga_check_failed("mheap: pages_inuse: expected %llu (allocated pages), found %llu",
				(unsigned long long)pages, (unsigned long long)mheap.pages_inuse);
	if (spans != mheap.spans_inuse)
		ga_check_failed("mheap: spans_inuse: expected %llu (spans in the page maps), found %llu",
				(unsigned long long)spans, (unsigned long long)mheap.spans_inuse);
	uint64_t fd = atomic_load_explicit(&mheap.free_dirty, memory_order_relaxed);
	if (free_dirty != fd)
		ga_check_failed("mheap: free_dirty: expected %llu (pageDirty & ~pageAlloc), found %llu",
				(unsigned long long)free_dirty, (unsigned long long)fd);
	return spans;
}
