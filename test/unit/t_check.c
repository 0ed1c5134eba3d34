/* t_check.c — the heap verifiers (check.h) find what they are for: a clean heap passes every
 * one of them and ga_check_heap, and a corrupted counter or bitmap of a span, an mcentral's
 * list count, an arena's free-page count or a transfer batch is reported with the span, the
 * field and what was expected and found. The corruption is done in a forked child, whose stderr
 * is captured. */
#include <stdio.h>

#include "arena.h"
#include "check.h"
#include "death.h"
#include "mcentral.h"
#include "mheap.h"
#include "mspan.h"
#include "tap.h"
#include "track.h"

#define SC GA_SPANCLASS(6, 0) /* 64 B, 128 slots */
static struct mcentral *central = &ga_central[SC];
static struct mspan *span;   /* uncached, on central's partial list, 3 slots allocated */
static struct mspan *cached; /* cached, as an mcache holds it: 5 slots handed out */
static void *parked[4];      /* a batch in central's transfer cache */

static void setup(void)
{
	span = mcentral_cache_span(central, 0);
	cached = mcentral_cache_span(central, 0); /* (a fresh one: nothing is on the partial list yet) */
	for (int i = 0; i < 3; i++)
		mspan_next_free_index(span);
	mcentral_uncache_span(central, span);
	for (int i = 0; i < 9; i++) {
		unsigned k = mspan_next_free_index(cached);
		void *p = (void *)(cached->objbase + k * cached->elemsize);
		if (i < 4) {
			parked[i] = p;
			ga_link_set(p, i ? parked[i - 1] : NULL);
		}
	}
	mcentral_put_batch(central, parked[3], 4);
}

static void check_all(void)
{
	ga_check_heap();
	mspan_check(cached); /* this thread caches it */
}

static void bad_alloc_count(void)
{
	span->allocCount++;
	mcentral_check(central);
}

static void bad_alloc_bits(void)
{
	span->allocBits[1] |= 1ull << 7; /* slot 71, never handed out */
	mspan_check(span);
}

static void bad_alloc_cache(void)
{
	cached->allocCache ^= 1;
	mspan_check(cached);
}

static void bad_npartial(void)
{
	central->npartial++;
	ga_check_heap();
}

static void bad_free_pages(void)
{
	arena_of(span->base)->freePages--;
	ga_check_heap();
}

static void bad_page_class(void)
{
	struct heap_arena *a = arena_of(span->base);
	atomic_store(&a->pageClass[(span->base - a->base) >> GA_PAGE_SHIFT], GA_SPANCLASS(7, 0));
	ga_check_heap();
}

static void bad_batch(void)
{
	central->batches[0].n = 5;
	ga_check_heap();
}

static void bad_batch_block(void)
{
	ga_link_set(parked[1], (char *)parked[0] + 8); /* not a slot start */
	ga_check_heap();
}

int main(void)
{
	char msg[1024], want[128];
	int st;

	plan(17);
	setup();
	ok(span && cached && span != cached && span->list == MSPAN_LIST_PARTIAL && span->allocCount == 3 &&
	   central->nbatches == 1, "set up: an uncached partial span, a cached one, a batch of 4");

	st = die_with(check_all, msg, sizeof msg);
	ok(exited_clean(st) && !msg[0], "a clean heap passes ga_check_heap and mspan_check %s", msg);
	ok(ga_check_spans_seen() == 0, "(the child's count stays in the child)");

	st = die_with(bad_alloc_count, msg, sizeof msg);
	ok(died_of_abort(st), "allocCount one too high: mcentral_check aborts");
	snprintf(want, sizeof want, "heap check failed: span %p: allocCount", (void *)span->base);
	ok(strstr(msg, want) && strstr(msg, "expected 3 (0x3), found 4 (0x4)"),
	   "and names the span, the field, expected 3 and found 4: %s", msg);

	st = die_with(bad_alloc_bits, msg, sizeof msg);
	ok(died_of_abort(st), "a stray allocBits bit: mspan_check aborts");
	ok(strstr(msg, want) && strstr(msg, "expected 4 (0x4), found 3 (0x3)"), "as a recount of allocBits: %s", msg);

	st = die_with(bad_alloc_cache, msg, sizeof msg);
	snprintf(want, sizeof want, "span %p: allocCache", (void *)cached->base);
	ok(died_of_abort(st) && strstr(msg, want), "a cached span's allocCache out of step with freeindex: %s", msg);

	st = die_with(bad_npartial, msg, sizeof msg);
	ok(died_of_abort(st), "npartial one too high: ga_check_heap aborts");
	ok(strstr(msg, "mcentral 12: npartial: expected 1 (spans listed), found 2"), "and says which: %s", msg);

	st = die_with(bad_free_pages, msg, sizeof msg);
	ok(died_of_abort(st) && strstr(msg, "freePages: expected"), "an arena's freePages off by one: %s", msg);

	st = die_with(bad_page_class, msg, sizeof msg);
	snprintf(want, sizeof want, "span %p: pageClass of page %p", (void *)span->base, (void *)span->base);
	ok(died_of_abort(st) && strstr(msg, want), "a page's pageClass naming another class: %s", msg);

	st = die_with(bad_batch, msg, sizeof msg);
	ok(died_of_abort(st) && strstr(msg, "batch 0: n = 5, found 4 blocks"), "a batch's count above its blocks: %s", msg);

	st = die_with(bad_batch_block, msg, sizeof msg);
	ok(died_of_abort(st) && strstr(msg, "not a slot of a span of this class"), "a batch linking an interior pointer: %s",
	   msg);

	/* The same checks pass in this (parent) process, and count the spans. */
	ga_check_heap();
	ok(ga_check_spans_seen() >= 2, "ga_check_heap in the parent: %llu spans in use, all verified",
	   (unsigned long long)ga_check_spans_seen());
	mcentral_release_batches(central);
	ok(central->nbatches == 0 && central->batch_bytes == 0, "batches given back");
	ga_check_heap();
	ok(1, "and the heap checks clean after");
	return done_testing();
}
