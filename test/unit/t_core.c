/* t_core.c — unit tests of goalloc's core structures, linked directly (no preload):
 * divide magic, the arena index, the page allocator (first fit, coalescing, runs across arenas,
 * alignment, zeroed pages), mspan bitmaps and the allocCache/ctz path, mcentral hand-out and
 * return (partial/full lists, empty spans given back, double free detection). */
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "arena.h"
#include "mcentral.h"
#include "mcache.h"
#include "mheap.h"
#include "mowner.h"
#include "mspan.h"
#include "tap.h"

static void test_divmagic(void)
{
	int bad = 0;
	for (unsigned c = 1; c < GA_NUM_SIZE_CLASSES; c++) {
		struct mspan s = {.objbase = 1ul << 30, .divmagic = ga_class_to_divmagic[c]};
		uintptr_t span = (uintptr_t)ga_class_to_npages[c] << GA_PAGE_SHIFT;
		for (uintptr_t off = 0; off <= span; off++)
			if (mspan_obj_index(&s, s.objbase + off) != off / ga_class_to_size[c])
				bad++;
	}
	ok(bad == 0, "obj index by multiply-and-shift is exact for every offset of every class (%d bad)", bad);
	bad = 0;
	int bad_layout = 0, bad_phase = 0;
	for (unsigned c = 1; c < GA_NUM_SIZE_CLASSES; c++) {
		struct mspan *s = malloc(mspan_record_size(mspan_nwords_for_class(GA_SPANCLASS(c, 0))));
		uintptr_t base = 1ul << 30, span = (uintptr_t)ga_class_to_npages[c] << GA_PAGE_SHIFT;
		mspan_init(s, base, ga_class_to_npages[c], GA_SPANCLASS(c, 0));
		uintptr_t size = s->elemsize, waste = s->objbase - base;
		/* slots end where the span ends; the waste, below one slot, keeps the class's alignment */
		bad_layout += s->limit != base + span || waste >= size || waste % (size & -size) != 0 ||
			      s->objbase + s->nelems * size != s->limit;
		uint64_t divides = UINT64_MAX / size + 1;
		for (uintptr_t off = 0; off <= span; off++) {
			uintptr_t p = base + off;
			int slot = p >= s->objbase && p < s->limit && (p - s->objbase) % size == 0;
			bad += mspan_is_slot_start(s, p) != slot;
			if (off < span) { /* free()'s test: page offset + the page's phase, one multiply */
				uint64_t x = (p & (GA_PAGE_SIZE - 1)) + mspan_page_phase(s, p & ~(uintptr_t)(GA_PAGE_SIZE - 1));
				bad_phase += (x * divides < divides) != slot || x >= 1u << 16;
			}
		}
		free(s);
	}
	ok(bad_layout == 0, "slots end at the span's end, waste below one slot and aligned (%d bad classes)", bad_layout);
	ok(bad == 0, "slot-start test by one multiply is exact for every offset of every class (%d bad)", bad);
	ok(bad_phase == 0, "free()'s page-phase test is exact for every offset of every class (%d bad)", bad_phase);
}

static void test_arena_index(void)
{
	struct mspan *s = mheap_alloc_span(1, GA_SPANCLASS(5, 0), 1);
	ok(s != NULL, "a one-page span");
	ok((s->base & (GA_PAGE_SIZE - 1)) == 0, "span base is page aligned");
	ok(s->base >= GA_ARENA_HINT_BASE, "first arena at or above Go's hint 0x00c000000000 (%p)", (void *)s->base);
	struct heap_arena *a = arena_of(s->base);
	ok(a && a->base <= s->base && s->base < a->base + GA_ARENA_SIZE, "arena_of finds the arena");
	ok(span_of(s->base) == s && span_of(s->base + 4097) == s && span_of(s->base + GA_PAGE_SIZE - 1) == s,
	   "span_of maps every byte of the span to it");
	ok(span_of(s->base + GA_PAGE_SIZE) != s, "the next page is not the span's");
	ok(page_entry_spanclass(page_class_of(s->base + 100)) == GA_SPANCLASS(5, 0) &&
	   page_entry_phase(page_class_of(s->base + 100)) == mspan_page_phase(s, s->base),
	   "pageClass of a one-page span: its spanclass and phase");
	struct mspan *m = mheap_alloc_span(ga_class_to_npages[65], GA_SPANCLASS(65, 1), 1); /* 10 pages */
	int good = m != NULL;
	for (unsigned i = 0; m && i < m->npages; i++)
		good &= page_class_of(m->base + i * GA_PAGE_SIZE + 17) ==
			page_entry(GA_SPANCLASS(65, 1), mspan_page_phase(m, m->base + i * GA_PAGE_SIZE));
	ok(good, "pageClass of each page of a 10-page span: spanclass | the page's phase << 8");
	if (m) {
		mheap_free_span(m);
		ok(page_class_of(m->base) == 0, "a freed page's pageClass is 0");
	}
	int x;
	ok(arena_of((uintptr_t)&x) == NULL && span_of((uintptr_t)&x) == NULL, "a stack address is in no arena");
	ok(span_of(0) == NULL && span_of(4096) == NULL, "low addresses are in no arena");
	ok(arena_of((uintptr_t)1 << 48) == NULL && arena_of(~(uintptr_t)0) == NULL,
	   "addresses outside the 48-bit space are in no arena");
	uintptr_t alias = s->base + ((uintptr_t)1 << 48); /* span_of's index wraps for such addresses */
	ok(span_of(alias) == s && !mspan_is_slot_start(s, alias) && mspan_is_slot_start(s, s->objbase + 48),
	   "an address aliasing the span from beyond 2^48 fails the slot check that free() makes");
	ok(arena_of(a->base + GA_ARENA_SIZE + ((uintptr_t)1 << 40)) == NULL, "an address between arenas is in none");
	mheap_free_span(s);
	ok(span_of(s->base) == NULL, "a freed span's pages map to no span");
}

static void test_page_alloc(void)
{
	struct mspan *a = mheap_alloc_span(3, 0, 1), *b = mheap_alloc_span(5, 0, 1), *c = mheap_alloc_span(2, 0, 1);
	ok(a && b && c, "three large spans");
	ok(b->base == a->base + 3 * GA_PAGE_SIZE && c->base == b->base + 5 * GA_PAGE_SIZE,
	   "first fit places them next to each other");
	uintptr_t abase = a->base;
	mheap_free_span(a);
	mheap_free_span(b);
	struct mspan *d = mheap_alloc_span(8, 0, 1);
	ok(d && d->base == abase, "freed neighbours coalesce: an 8-page run reuses their 3+5 pages");
	ok(d->needzero, "reused pages are marked as needing zeroing");
	struct mspan *e = mheap_alloc_span(1, 0, 1);
	ok(e && e->base == c->base + 2 * GA_PAGE_SIZE, "next page after c");
	struct mspan *al = mheap_alloc_span(1, 0, 64);
	ok(al && al->base % (64 * GA_PAGE_SIZE) == 0, "a run aligned to 64 pages (512 KiB)");
	struct mspan *big = mheap_alloc_span(GA_PAGES_PER_ARENA + 100, 0, 1);
	ok(big != NULL, "a span larger than one arena (runs across adjacent arenas)");
	if (big) {
		ok(span_of(big->base + GA_ARENA_SIZE + 5) == big, "its pages in the second arena map to it");
		ok(!big->needzero, "fresh pages need no zeroing");
		memset((void *)(big->base + GA_ARENA_SIZE - 8), 1, 16); /* writable across the seam */
		mheap_free_span(big);
	}
	size_t rel = mheap_release_free();
	ok(rel > 0, "malloc_trim path returns dirty free pages to the OS (%zu bytes)", rel);
	mheap_free_span(c);
	mheap_free_span(d);
	mheap_free_span(e);
	mheap_free_span(al);
	struct mheap_stats st;
	mheap_get_stats(&st);
	ok(st.spans_inuse == 0 && st.pages_inuse == 0, "every page back: %llu spans, %llu pages in use",
	   (unsigned long long)st.spans_inuse, (unsigned long long)st.pages_inuse);
}

/* Random page-run traffic checked against the index: every live span owns exactly its pages. */
static void test_page_alloc_random(void)
{
	struct mspan *live[256] = {0};
	unsigned long seed = 12345, bad = 0, ops = 0;
	for (int step = 0; step < 4000; step++) {
		seed = seed * 6364136223846793005ul + 1442695040888963407ul;
		unsigned k = (unsigned)(seed >> 33) % 256;
		if (live[k]) {
			mheap_free_span(live[k]);
			live[k] = NULL;
		} else {
			uint32_t np = 1 + (uint32_t)(seed >> 20) % ((seed >> 50) % 4 == 0 ? 600 : 20);
			uint32_t al = (seed >> 40) % 8 == 0 ? 1u << ((seed >> 44) % 8) : 1;
			struct mspan *sp = mheap_alloc_span(np, 0, al);
			if (!sp || sp->npages != np || (sp->base >> GA_PAGE_SHIFT) % al)
				bad++;
			live[k] = sp;
		}
		ops++;
	}
	for (unsigned k = 0; k < 256; k++) {
		if (!live[k])
			continue;
		for (uint32_t i = 0; i < live[k]->npages; i++)
			if (span_of(live[k]->base + ((uintptr_t)i << GA_PAGE_SHIFT)) != live[k])
				bad++;
		mheap_free_span(live[k]);
	}
	struct mheap_stats st;
	mheap_get_stats(&st);
	ok(bad == 0 && st.pages_inuse == 0, "%lu random page-run allocations and frees (sizes 1-600, alignments to 128 pages): "
	   "no overlap, alignment kept, all pages back (%lu bad)", ops, bad);
}

static void test_span_bits(void)
{
	uint8_t sc = GA_SPANCLASS(2, 0); /* 16 B, 512 slots */
	struct mspan *s = mheap_alloc_span(1, sc, 1);
	ok(s && s->nelems == 512 && s->elemsize == 16 && s->nwords == 8, "class 2 span: 512 slots of 16 B");
	/* Mark a pattern allocated, then the ctz path must return exactly the other slots in order. */
	for (unsigned i = 0; i < 512; i++)
		if (i % 3 == 0 || (i >= 100 && i < 200))
			s->allocBits[i / 64] |= 1ull << (i % 64);
	atomic_store(&s->freeindex, 0);
	mspan_refill_alloc_cache(s, 0);
	unsigned expect = 0, got = 0, bad = 0;
	for (;;) {
		while (expect < 512 && (expect % 3 == 0 || (expect >= 100 && expect < 200)))
			expect++;
		void *p = mspan_next_free_fast(s);
		unsigned idx;
		if (p)
			idx = (unsigned)(((uintptr_t)p - s->objbase) / 16);
		else
			idx = mspan_next_free_index(s);
		if (idx >= 512)
			break;
		if (idx != expect)
			bad++;
		got++;
		expect++;
	}
	ok(bad == 0 && expect >= 512, "allocCache + ctz hand out exactly the free slots in order (%u, %u bad)", got, bad);
	ok(mspan_next_free_index(s) == 512, "then the span reports full");
	/* settle: slots below freeindex become allocated, freed bits come off. */
	s->freedBits[1] |= 1ull << 5; /* slot 69 freed while cached */
	mspan_settle(s);
	ok(s->allocCount == 511 && !(s->allocBits[1] >> 5 & 1), "settle merges handed-out and freed slots (%u)", s->allocCount);
	mheap_free_span(s);
}

static int died_with_abort(void (*fn)(void))
{
	pid_t pid = fork();
	if (pid == 0) {
		int devnull = open("/dev/null", 1);
		dup2(devnull, 2);
		fn();
		_exit(0);
	}
	int st;
	waitpid(pid, &st, 0);
	return WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT;
}

static void *df_block;
static void double_free_child(void)
{
	struct mcentral *c = &ga_central[GA_SPANCLASS(6, 0)];
	ga_link_set(df_block, NULL);
	mcentral_free_list(c, df_block, 1);
	ga_link_set(df_block, NULL);
	mcentral_free_list(c, df_block, 1);
}

static void test_mcentral(void)
{
	uint8_t sc = GA_SPANCLASS(6, 0); /* 64 B, 128 slots */
	struct mcentral *c = &ga_central[sc];
	struct mspan *s = mcentral_cache_span(c, 0);
	ok(s && s->incache && s->spanclass == sc, "cache_span hands out a span of the class");
	void *blocks[128];
	unsigned n = 0;
	for (unsigned i; (i = mspan_next_free_index(s)) < s->nelems;)
		blocks[n++] = (void *)(s->objbase + i * s->elemsize);
	ok(n == 128, "all 128 slots handed out");
	/* Two frees while cached land in freedBits; uncaching settles them. */
	ga_link_set(blocks[3], blocks[7]);
	ga_link_set(blocks[7], NULL);
	mcentral_free_list(c, blocks[3], 2);
	ok(s->allocBits[0] == 0 && (s->freedBits[0] & (1ull << 3 | 1ull << 7)), "frees to a cached span are recorded aside");
	mcentral_uncache_span(c, s);
	ok(!s->incache && s->allocCount == 126 && s->list == MSPAN_LIST_PARTIAL, "uncached with 2 holes: on the partial list");
	struct mspan *s2 = mcentral_cache_span(c, 0);
	ok(s2 == s, "the partial span is handed out again");
	unsigned i1 = mspan_next_free_index(s2), i2 = mspan_next_free_index(s2), i3 = mspan_next_free_index(s2);
	ok(i1 == 3 && i2 == 7 && i3 == 128, "exactly its holes are reused (%u %u %u)", i1, i2, i3);
	mcentral_uncache_span(c, s2);
	ok(s->list == MSPAN_LIST_FULL && s->allocCount == 128, "full again: on the full list");
	/* Free everything (uncached): full → partial → empty; the empty span is kept as the class's
	 * one spare, a second empty span is given back to the heap. */
	for (unsigned i = 0; i < 128; i++)
		ga_link_set(blocks[i], i + 1 < 128 ? blocks[i + 1] : NULL);
	mcentral_free_list(c, blocks[0], 128);
	ok(s->allocCount == 0 && s->list == MSPAN_LIST_PARTIAL && c->npartial == 1, "empty span kept as the spare");
	df_block = blocks[5];
	ok(died_with_abort(double_free_child), "freeing a free slot aborts (double free)");
	struct mspan *t = mcentral_cache_span(c, 0); /* takes the spare */
	struct mspan *u = mcentral_cache_span(c, 0); /* a new one from the heap */
	ok(t == s && u && u != s, "spare first, then a fresh span");
	void *one = (void *)(u->objbase + mspan_next_free_index(u) * u->elemsize);
	mcentral_uncache_span(c, t); /* empty: kept */
	mcentral_uncache_span(c, u); /* one block: partial */
	ga_link_set(one, NULL);
	uintptr_t ubase = u->base;
	mcentral_free_list(c, one, 1); /* u becomes empty too: kept, under the class's bound */
	ok(span_of(ubase) == u && c->nempty == 2, "a second empty span is kept too (nempty %u)", c->nempty);
	/* The scavenger's passes: the class had no empty span at one time since the last pass (when
	 * it took the spare), so the first keeps both; no thread takes one before the next, which
	 * gives both back. */
	ok(mcentral_trim_empty(c, 0) == 0 && c->nempty == 2, "a pass keeps spans the class needed since the last");
	ok(mcentral_trim_empty(c, 0) == 2 && span_of(ubase) == NULL && c->nempty == 0,
	   "the next pass gives back the empty spans no thread took meanwhile");
}

static void test_transfer_cache(void)
{
	uint8_t sc = GA_SPANCLASS(10, 0); /* 128 B, 64 slots */
	struct mcentral *c = &ga_central[sc];
	struct mspan *s = mcentral_cache_span(c, 0);
	void *blocks[64];
	unsigned n = 0;
	for (unsigned i; (i = mspan_next_free_index(s)) < s->nelems;)
		blocks[n++] = (void *)(s->objbase + i * s->elemsize);
	mcentral_uncache_span(c, s);
	for (unsigned i = 0; i < 64; i++)
		ga_link_set(blocks[i], (i % 8 == 7) ? NULL : blocks[i + 1]);
	int parked = 1;
	for (unsigned b = 0; b < 8; b++)
		parked &= mcentral_put_batch(c, blocks[b * 8], 8);
	ok(parked && c->nbatches == 8 && s->allocCount == 64, "8 batches parked; their blocks still count as allocated");
	uint32_t got;
	void *list = mcentral_get_batch(c, &got);
	ok(list == blocks[56] && got == 8, "the last batch parked comes back first, whole");
	ok(mcentral_put_batch(c, list, got), "and can be parked again");
	unsigned k = 0;
	while (mcentral_put_batch(c, blocks[0], 1) && k < MCENTRAL_MAX_BATCHES)
		k++;
	ok(k < MCENTRAL_MAX_BATCHES && c->nbatches == MCENTRAL_MAX_BATCHES, "the transfer cache is bounded (%u more fitted)", k);
	while (c->nbatches > 8) { /* take back the fake extra batches without releasing them */
		mcentral_get_batch(c, &got);
	}
	mcentral_release_batches(c);
	ok(c->nbatches == 0 && c->batch_bytes == 0, "release_batches empties the transfer cache");
	ok(s->allocCount == 0 || span_of(s->base) != s, "and every block went back to its span");
}

/* A thread's cached large spans go back to the mheap before the heap would touch fresh pages. */
static void test_large_drain(void)
{
	struct mcache *c = &ga_mcache;
	struct mspan *s = mheap_alloc_span(64, GA_SPANCLASS(0, 0), 1);
	ok(s != NULL, "a 64-page large span");
	uint64_t before = mheap_reusable_pages();
	mcache_enter(c);
	ok(mcache_large_keep(c, s) && c->nlarge == 1, "kept in the thread's large-span cache");
	mcache_large_drain_for(c, (uint32_t)before); /* the heap can serve this many without growing */
	ok(c->nlarge == 1 && span_of(s->base) == s, "kept while the heap has that many reusable pages");
	mcache_large_drain_for(c, (uint32_t)before + 1); /* this would grow the heap */
	mcache_leave(c);
	ok(c->nlarge == 0 && mcache_large_bytes(c) == 0 && span_of(s->base) == NULL,
	   "given back when the heap would grow into fresh pages");
	ok(mheap_reusable_pages() == before + 64, "its 64 written pages are now reusable (%llu -> %llu)",
	   (unsigned long long)before, (unsigned long long)mheap_reusable_pages());
}

/* A large span at the heap's end grows in place into address space no arena holds yet, which is
 * reserved for it (instead of the span moving). A span larger than the whole heap so far is
 * carved at its top: nothing follows it but free pages and then unreserved space. */
static void test_grow_at_heap_end(void)
{
	struct mheap_stats st0, st1;
	mheap_get_stats(&st0);
	uint32_t n0 = (uint32_t)(st0.arenas + 1) * GA_PAGES_PER_ARENA;
	struct mspan *s = mheap_alloc_span(n0, 0, 1);
	ok(s != NULL, "a span larger than the heap (%u pages)", n0);
	if (!s)
		return;
	mheap_get_stats(&st0);
	uintptr_t base = s->base, top = ga_align_up(s->limit, GA_ARENA_SIZE);
	while (arena_of(top)) /* (the arenas reserved for it may reach past its end) */
		top += GA_ARENA_SIZE;
	uint32_t npages = (uint32_t)((top + GA_ARENA_SIZE - base) / GA_PAGE_SIZE); /* one arena past them */
	int grew = mheap_resize_large(s, npages, 0);
	mheap_get_stats(&st1);
	ok(grew && s->base == base && s->npages == npages && s->elemsize == (uintptr_t)npages * GA_PAGE_SIZE,
	   "it grew in place into the next, unreserved arena");
	ok(st1.arenas == st0.arenas + 1 && arena_of(top) != NULL, "that arena was reserved for it (%llu -> %llu)",
	   (unsigned long long)st0.arenas, (unsigned long long)st1.arenas);
	ok(span_of(s->limit - 1) == s && span_of(top) == s, "its new pages map to it");
	if (grew)
		memset((void *)(top - 8), 1, 16); /* writable across the seam */
	mheap_free_span(s);
	mheap_get_stats(&st1);
	ok(st1.spans_inuse == st0.spans_inuse - 1 && st1.pages_inuse == st0.pages_inuse - n0,
	   "all its pages are free again");
}

/* A span given back with mheap_free_span_unused leaves no data behind: its pages are not
 * resident, they count as clean, and the next span on them needs no zeroing. */
static void test_free_unused(void)
{
	struct mspan *s = mheap_alloc_span(32, 0, 1);
	ok(s != NULL, "a 32-page large span");
	if (!s)
		return;
	uintptr_t base = s->base;
	memset((void *)base, 0x5a, 32 * GA_PAGE_SIZE);
	uint64_t reusable = mheap_reusable_pages();
	mheap_free_span_unused(s, 0);
	unsigned char vec[32 * GA_PAGE_SIZE / 4096];
	int resident = 0;
	if (mincore((void *)base, 32 * GA_PAGE_SIZE, vec) == 0)
		for (size_t i = 0; i < sizeof vec; i++)
			resident += vec[i] & 1;
	ok(resident == 0, "its pages are no longer resident (%d of %zu)", resident, sizeof vec);
	ok(mheap_reusable_pages() == reusable, "nor counted as reusable written pages");
	struct mspan *t = mheap_alloc_span(32, 0, 1);
	ok(t && t->base == base && !t->needzero, "the next span on them knows they read as zero");
	int zero = 1;
	for (size_t i = 0; t && i < 32 * GA_PAGE_SIZE; i += 512)
		zero &= ((unsigned char *)base)[i] == 0;
	ok(zero, "and they do");
	if (t)
		mheap_free_span(t);
}

/* A thread that only frees a class (a consumer) stops holding a full list of it. */
/* free() of p (span class sc) as the fast path and its slow path do it. Returns 1 if the push
 * missed (a full list, or a suspected double free) and the slow path took it. */
static int free_block(struct mcache *c, void *p, uint8_t sc)
{
	int r = mcache_push(mcache_here(), p, sc, 1, page_entry_owner(page_class_of((uintptr_t)p)));
	if (r == MCACHE_PUSHED)
		return 0;
	mcache_free_slow(c, r == MCACHE_PUSH_FLUSH ? NULL : p, span_of((uintptr_t)p));
	return 1;
}

static void test_freeonly_list(void)
{
	struct mcache *c = &ga_mcache;
	uint8_t sc = GA_SPANCLASS(4, 0); /* 32 bytes */
	enum { N = 1600 };
	static void *blocks[N];
	int got = 1;
	for (unsigned i = 0; i < N; i++)
		got &= (blocks[i] = mcache_alloc(c, sc, 32)) != NULL;
	ok(got, "%d blocks of 32 bytes from the thread's cache", N);
	uint32_t full = c->fl[sc].cap;
	for (unsigned i = 0; i < N; i++)
		free_block(c, blocks[i], sc);
	uint32_t shrunk = c->fl[sc].cap;
	ok(full >= 64 && shrunk == full / MCACHE_FREEONLY_DIV && mcache_list_count(&c->fl[sc]) <= shrunk,
	   "after overflows with no malloc between, the list bound drops to 1/%u (%u -> %u, %u listed)",
	   MCACHE_FREEONLY_DIV, full, shrunk, mcache_list_count(&c->fl[sc]));
	while (c->fl[sc].head)
		mcache_alloc(c, sc, 32);
	void *p = mcache_alloc(c, sc, 32); /* a miss: the thread allocates this class again */
	ok(p && c->fl[sc].cap == full && mcache_list_count(&c->fl[sc]) <= full,
	   "the first miss after that restores the full bound (%u)", c->fl[sc].cap);
	uint64_t handed = mcache_nmalloc(c, sc), freed = c->nfree[sc];
	ok(handed >= N && handed - freed < 200, "blocks handed out and taken back still add up (%llu, %llu)",
	   (unsigned long long)handed, (unsigned long long)freed);
}

/* A list that goes over its bound (64 KiB of blocks) keeps MCACHE_TRIM_KEEP blocks and parks
 * the rest as one batch in the transfer cache. */
static void test_trim_list(void)
{
	struct mcache *c = &ga_mcache;
	uint8_t sc = GA_SPANCLASS(32, 0); /* 1024 bytes */
	struct mcentral *central = &ga_central[sc];
	void *first = mcache_alloc(c, sc, 1024); /* (sets up the cache if it was not) */
	uint32_t cap = c->fl[sc].cap;
	ok(first && ga_class_to_size[32] == 1024 && cap == 65536 / 1024,
	   "a list is bounded at 64 KiB of blocks (%u of 1024 bytes)", cap);
	enum { MAX = 512 };
	static void *blocks[MAX];
	unsigned n = 0;
	blocks[n++] = first;
	while (n < cap + 1 && n < MAX)
		blocks[n++] = mcache_alloc(c, sc, 1024);
	uint32_t listed = mcache_list_count(&c->fl[sc]); /* blocks carved onto the list meanwhile */
	uint32_t batches = central->nbatches, overflows = 0;
	unsigned i = 0;
	for (; i < cap + 1 - listed; i++) /* exactly enough to go over the bound once */
		overflows += (uint32_t)free_block(c, blocks[i], sc);
	ok(overflows == 1 && mcache_list_count(&c->fl[sc]) == MCACHE_TRIM_KEEP,
	   "one overflow leaves %u blocks listed (%u)", MCACHE_TRIM_KEEP, mcache_list_count(&c->fl[sc]));
	ok(central->nbatches == batches + 1 && central->batches[batches].n == cap + 1 - MCACHE_TRIM_KEEP,
	   "and parks the other %u as one batch", cap + 1 - MCACHE_TRIM_KEEP);
	for (; i < n; i++)
		free_block(c, blocks[i], sc);
}

/* A thread frees many more blocks of another (live) thread's spans than an inbox holds: what
 * goes to the transfer cache comes in batches no larger than a list's bound, which the thread
 * that takes one must be able to list. */
enum { INBOX_N = 3000 };
static void *inbox_blocks[INBOX_N];
static pthread_barrier_t inbox_bar;
static const uint8_t inbox_sc = GA_SPANCLASS(2, 0); /* 16 bytes */

static void *inbox_owner(void *arg)
{
	(void)arg;
	for (unsigned i = 0; i < INBOX_N; i++)
		inbox_blocks[i] = mcache_alloc(&ga_mcache, inbox_sc, 16);
	pthread_barrier_wait(&inbox_bar); /* blocks published */
	pthread_barrier_wait(&inbox_bar); /* freed by the other thread */
	return NULL;
}

static void *inbox_freer(void *arg)
{
	(void)arg;
	for (unsigned i = 0; i < INBOX_N; i++)
		free_block(&ga_mcache, inbox_blocks[i], inbox_sc);
	mcache_release_all(&ga_mcache); /* (its outbox too) */
	return NULL;
}

static void test_full_inbox(void)
{
	struct mcentral *central = &ga_central[inbox_sc];
	uint32_t before = central->nbatches;
	pthread_t o, f;
	pthread_barrier_init(&inbox_bar, NULL, 2);
	pthread_create(&o, NULL, inbox_owner, NULL);
	pthread_barrier_wait(&inbox_bar);
	pthread_create(&f, NULL, inbox_freer, NULL);
	pthread_join(f, NULL);
	uint32_t cap = MCACHE_LIST_MAX, biggest = 0;
	for (uint32_t k = before; k < central->nbatches; k++)
		biggest = central->batches[k].n > biggest ? central->batches[k].n : biggest;
	ok(central->nbatches > before && biggest <= cap,
	   "an inbox overflowing parks batches of at most a list's bound (%u batches, the largest %u, bound %u)",
	   central->nbatches - before, biggest, cap);
	pthread_barrier_wait(&inbox_bar);
	pthread_join(o, NULL);
	pthread_barrier_destroy(&inbox_bar);
}

int main(void)
{
	test_divmagic();
	test_arena_index();
	test_page_alloc();
	test_page_alloc_random();
	test_span_bits();
	test_mcentral();
	test_transfer_cache();
	test_large_drain();
	test_grow_at_heap_end();
	test_free_unused();
	test_freeonly_list();
	test_trim_list();
	test_full_inbox();
	return done_testing();
}
