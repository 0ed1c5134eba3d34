/* t_api_realloc_big — realloc of big blocks keeps their contents and does not leave their old
 * size behind in RSS:
 *   - a buffer doubled from 1 MiB (to 128 MiB, 32 MiB under valgrind) keeps every byte written,
 *     and the process ends up holding about the buffer, not the buffer plus every size it had
 *     (goalloc grows a block at the heap's end in place, reserving the next arena if need be);
 *   - a big block that realloc has to move (another block sits right after it) leaves no
 *     resident pages at its old address (goalloc gives them back to the OS after the copy);
 *   - a big block shrunk to an eighth stays where it is, and the pages it gave up are no longer
 *     resident;
 *   - a block that realloc moves past 32 KiB takes the place of a big block freed just before and
 *     grows in place from there (goalloc cuts the freed span to size and grows back into the
 *     tail: a buffer doubled to 1 MiB again and again copies nothing past 32 KiB);
 *   - the same twice with a freed block whose pages mremap had moved there: the second time its
 *     pages are all still resident (goalloc maps such a span afresh once, when it is first cut);
 *   - malloc_trim(0) gives back the pages of a big block just freed (goalloc keeps such blocks
 *     per thread for the next one of the same size);
 *   - thousands of such moves leave the process with about as many memory mappings as before
 *     (goalloc moves big blocks' pages with mremap, which gives them a mapping of their own
 *     until they are freed).
 * The RSS and residency checks hold under goalloc only; elsewhere they are skipped.
 */
#define _GNU_SOURCE
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "tap.h"
#include "api_util.h"

#define MiB ((size_t)1 << 20)

static size_t rss_bytes(void)
{
	long pages = 0, resident = 0;
	FILE *f = fopen("/proc/self/statm", "r");
	if (f) {
		if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
			resident = 0;
		fclose(f);
	}
	return (size_t)resident * (size_t)sysconf(_SC_PAGESIZE);
}

/* Pages of [p, p + n) that are resident. */
static size_t resident_pages(const void *p, size_t n)
{
	size_t ps = (size_t)sysconf(_SC_PAGESIZE), np = n / ps, r = 0;
	unsigned char *vec = malloc(np);
	if (!vec || mincore((void *)p, n, vec) != 0) {
		free(vec);
		return (size_t)-1;
	}
	for (size_t i = 0; i < np; i++)
		r += vec[i] & 1;
	free(vec);
	return r;
}

/* The bytes at multiples of 4 KiB in [from, to), from the pattern of seed: cheap, and every page
 * is written. */
static void mark(unsigned char *p, size_t from, size_t to, uint64_t seed)
{
	for (size_t i = (from + 4095) & ~(size_t)4095; i < to; i += 4096)
		p[i] = pat_byte(seed, i);
}

static size_t first_unmarked(const unsigned char *p, size_t n, uint64_t seed)
{
	for (size_t i = 0; i < n; i += 4096)
		if (p[i] != pat_byte(seed, i))
			return i;
	return n;
}

static void test_doubling(void)
{
	size_t max = under_valgrind() ? 32 * MiB : 128 * MiB;
	size_t rss0 = rss_bytes();
	size_t n = MiB;
	unsigned char *p = malloc(n);
	ok(p != NULL, "malloc(1 MiB)");
	if (!p)
		return;
	mark(p, 0, n, 7);
	int kept = 1;
	while (n < max) {
		unsigned char *q = realloc_opaque(p, 2 * n);
		if (!q) {
			kept = 0;
			break;
		}
		p = q;
		size_t bad = first_unmarked(p, n, 7);
		if (bad != n) {
			diag("after realloc to %zu bytes: byte %zu changed", 2 * n, bad);
			kept = 0;
		}
		mark(p, n, 2 * n, 7);
		n *= 2;
	}
	ok(kept && n == max, "doubled to %zu MiB, every page's byte kept across each realloc", n / MiB);
	size_t grown = rss_bytes() - rss0;
	/* (memcheck's shadow of the buffer counts too: about a quarter of it) */
	size_t bound = under_valgrind() ? max + max / 2 : max + max / 4;
	if (under_goalloc())
		ok(grown <= bound, "RSS grew by %zu MiB for a %zu MiB buffer (at most %zu)", grown / MiB,
		   max / MiB, bound / MiB);
	else
		ok(1, "# SKIP RSS bound is goalloc's (grew by %zu MiB)", grown / MiB);
	free(p);
}

static void test_moved_block_released(void)
{
	size_t n = 4 * MiB;
	/* Two blocks of n bytes next to each other: the lower one cannot grow in place. */
	unsigned char *a = malloc(n), *b = malloc(n), *low = NULL;
	ok(a && b, "two %zu MiB blocks", n / MiB);
	if (!a || !b) {
		free(a);
		free(b);
		return;
	}
	if (addr_of(b) == addr_of(a) + n)
		low = a;
	else if (addr_of(a) == addr_of(b) + n)
		low = b;
	if (!low || !under_goalloc()) {
		ok(1, "# SKIP the blocks are not adjacent, or not goalloc's (%p, %p)", (void *)a, (void *)b);
		ok(1, "# SKIP (same)");
		free(a);
		free(b);
		return;
	}
	unsigned char *other = low == a ? b : a;
	pat_fill(low, n, 11);
	uintptr_t old = addr_of(low);
	unsigned char *moved = realloc_opaque(low, 2 * n);
	ok(moved && addr_of(moved) != old && pat_check(moved, n, 11) == n,
	   "realloc to %zu MiB moved the lower block and kept its contents", 2 * n / MiB);
	size_t r = resident_pages((void *)old, n);
	ok(r == 0, "its old pages are no longer resident (%zu of %zu)", r, n / (size_t)sysconf(_SC_PAGESIZE));
	free(moved);
	free(other);
}

static void test_shrink_released(void)
{
	size_t n = 16 * MiB, m = 2 * MiB;
	unsigned char *p = malloc(n);
	ok(p != NULL, "a %zu MiB block", n / MiB);
	if (!p)
		return;
	mark(p, 0, n, 13);
	uintptr_t old = addr_of(p);
	unsigned char *q = realloc_opaque(p, m);
	ok(q && first_unmarked(q, m, 13) == m, "realloc to %zu MiB keeps the first %zu MiB", m / MiB, m / MiB);
	if (under_goalloc()) {
		ok(addr_of(q) == old, "in place");
		size_t r = resident_pages((void *)(old + 2 * m), n - 2 * m);
		ok(r == 0, "the pages it gave up are no longer resident (%zu left)", r);
	} else {
		ok(1, "# SKIP in place: goalloc's behaviour");
		ok(1, "# SKIP (same)");
	}
	free(q);
}

static void test_growth_into_freed_block(void)
{
	malloc_trim(0); /* (goalloc: the big blocks this thread keeps go back to the heap) */
	unsigned char *big = malloc(MiB), *p = malloc(32 << 10);
	ok(big && p, "a 1 MiB block and a 32 KiB one");
	if (!big || !p) {
		free(big);
		free(p);
		return;
	}
	uintptr_t freed = addr_of(big);
	free(big);
	pat_fill(p, 32 << 10, 17);
	size_t n = 64 << 10;
	unsigned char *q = realloc_opaque(p, n);
	int kept = q && pat_check(q, 32 << 10, 17) == (32 << 10);
	uintptr_t at = q ? addr_of(q) : 0;
	int in_place = 1;
	while (q && n < MiB) {
		mark(q, n / 2, n, 19);
		unsigned char *r = realloc_opaque(q, 2 * n);
		if (!r)
			break;
		in_place &= addr_of(r) == at;
		kept &= pat_check(r, 32 << 10, 17) == (32 << 10);
		for (size_t i = 32 << 10; i < n; i += 4096)
			kept &= r[i] == pat_byte(19, i);
		q = r;
		n *= 2;
	}
	ok(kept && n == MiB, "grown from 32 KiB to 1 MiB by doubling, contents kept");
	if (under_goalloc()) {
		ok(at == freed, "the 64 KiB block took the place of the freed 1 MiB block (%#lx, freed %#lx)",
		   (unsigned long)at, (unsigned long)freed);
		ok(in_place, "and grew in place from there to 1 MiB");
	} else {
		ok(1, "# SKIP placement is goalloc's");
		ok(1, "# SKIP (same)");
	}
	free(q);
}

/* malloc_trim gives the OS the pages of a big block just freed, which goalloc keeps for the
 * thread's next one of its size. */
static void test_trim_releases_kept_block(void)
{
	size_t n = 2 * MiB;
	unsigned char *p = malloc(n);
	ok(p != NULL, "a 2 MiB block");
	if (!p)
		return;
	memset(p, 7, n);
	uintptr_t at = addr_of(p);
	free(launder(p));
	malloc_trim(0);
	size_t r = resident_pages((void *)at, n);
	if (under_goalloc())
		ok(r == 0, "after free and malloc_trim(0) none of its pages is resident (%zu left)", r);
	else
		ok(1, "# SKIP residency after malloc_trim is goalloc's (%zu left)", r);
}

/* Two blocks of n bytes side by side, *low the lower one (a realloc of it must move), or 0 if
 * none could be had: pairs that holes split up are kept in spare[] (16) for the caller to free. */
static int adjacent_pair(size_t n, unsigned char **low, unsigned char **high, unsigned char **spare, int *nspare)
{
	while (*nspare + 2 <= 16) {
		unsigned char *a = malloc(n), *b = malloc(n);
		if (a && b && (addr_of(b) == addr_of(a) + n || addr_of(a) == addr_of(b) + n)) {
			*low = addr_of(a) < addr_of(b) ? a : b;
			*high = *low == a ? b : a;
			return 1;
		}
		spare[(*nspare)++] = a;
		spare[(*nspare)++] = b;
	}
	return 0;
}

/* A freed block whose pages mremap moved in, taken by a growing block, grown back to its size
 * and freed again, twice: the second time its pages are all still resident (goalloc maps such a
 * span afresh once, the first time it is cut, instead of mapping its tail afresh at every cut:
 * the second round would fault every page back in). */
static void test_moved_block_reused(void)
{
	size_t n = 768 << 10, all = MiB / (size_t)sysconf(_SC_PAGESIZE), resident = 0;
	unsigned char *low = NULL, *high = NULL, *spare[16], *q = NULL;
	int nspare = 0;
	malloc_trim(0); /* (the free pages read as zero now: the move below is an mremap) */
	unsigned char *p = malloc(32 << 10);
	(void)resident_pages(p, 32 << 10); /* (its buffer's class has room now: no new span below) */
	unsigned char *moved = p && adjacent_pair(n, &low, &high, spare, &nspare) ? realloc_opaque(low, MiB) : NULL;
	uintptr_t at = moved ? addr_of(moved) : 0;
	int same = moved != NULL, in_place = 1;
	if (moved)
		memset(moved, 6, MiB);
	else
		free(low); /* (a realloc that failed left it; NULL if no pair was found) */
	free(launder(moved));
	for (int round = 0; round < 2 && same; round++) {
		q = p ? realloc_opaque(p, 36 << 10) : NULL;
		same &= q && addr_of(q) == at;
		if (round == 1)
			resident = resident_pages((void *)at, MiB);
		for (size_t m = 64 << 10; same && q && m <= MiB; m *= 2) {
			unsigned char *r = realloc_opaque(q, m);
			in_place &= r == q;
			q = r;
		}
		if (q)
			memset(q, 7, MiB);
		free(launder(q));
		p = round == 0 ? malloc(32 << 10) : NULL;
	}
	free(p); /* (still ours if the rounds stopped early; NULL after both) */
	if (under_goalloc()) {
		ok(same && in_place, "twice a growing block took the freed 1 MiB block's place and grew in place");
		ok(resident == all, "the second time its pages were all still resident (%zu of %zu)", resident, all);
	} else {
		ok(1, "# SKIP placement is goalloc's");
		ok(1, "# SKIP (same)");
	}
	free(high);
	while (nspare)
		free(spare[--nspare]);
}

static int count_mappings(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	int n = 0, ch;
	if (!f)
		return -1;
	while ((ch = getc(f)) != EOF)
		n += ch == '\n';
	fclose(f);
	return n;
}

/* Blocks of 1..4 MiB grown by half, among 16 live ones in random order: most growths move. */
static void test_many_moves(void)
{
	enum { LIVE = 16 };
	unsigned char *live[LIVE] = {0};
	size_t len[LIVE] = {0};
	int rounds = under_valgrind() ? 200 : 3000, bad = 0;
	int maps0 = count_mappings();
	uint64_t x = 88172645463325252ull;
	for (int r = 0; r < rounds; r++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		int i = (int)(x % LIVE);
		if (!live[i] || len[i] > 4 * MiB) {
			free(live[i]);
			len[i] = MiB + (size_t)(x >> 40) % MiB;
			live[i] = malloc(len[i]);
			if (!live[i])
				bad++;
			else
				mark(live[i], 0, len[i], (uint64_t)i);
			continue;
		}
		size_t m = len[i] + len[i] / 2;
		unsigned char *q = realloc_opaque(live[i], m);
		if (!q || first_unmarked(q, len[i], (uint64_t)i) != len[i]) {
			if (bad++ < 3)
				diag("round %d: realloc(%zu -> %zu bytes) %s: byte %zu changed", r, len[i], m,
				     q == NULL ? "failed" : addr_of(q) == addr_of(live[i]) ? "in place" : "moved",
				     q ? first_unmarked(q, len[i], (uint64_t)i) : 0);
			free(q);
			live[i] = NULL;
			continue;
		}
		mark(q, len[i], m, (uint64_t)i);
		live[i] = q;
		len[i] = m;
	}
	int maps1 = count_mappings();
	for (int i = 0; i < LIVE; i++)
		free(live[i]);
	int maps2 = count_mappings();
	ok(bad == 0, "%d rounds of growing 1-6 MiB blocks by half kept every block's contents", rounds);
	if (under_valgrind()) /* (valgrind maps its own memory as the program runs) */
		ok(1, "# SKIP memory mappings under valgrind: %d before, %d after", maps0, maps2);
	else
		ok(maps1 - maps0 <= 2 * LIVE + 16 && maps2 - maps0 <= 16,
		   "memory mappings: %d before, %d with the blocks live, %d after they are freed", maps0,
		   maps1, maps2);
}

int main(void)
{
	test_doubling();
	test_moved_block_released();
	test_shrink_released();
	test_growth_into_freed_block();
	test_moved_block_reused();
	test_trim_releases_kept_block();
	test_many_moves();
	return done_testing();
}
