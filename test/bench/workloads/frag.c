/* frag: fragmentation. Grow to 1 GiB (x scale) of small blocks (16..512 B), free 90% of them at
 * random, then grow again to 1 GiB with somewhat larger blocks (32..1024 B), which fit the holes
 * only if the allocator can reuse or return the freed memory. Prints RSS after each phase.
 * Usage: frag [scale]   (scale 1 = 1 GiB) */
#include "common.h"

typedef struct {
	unsigned char *p;
	uint32_t n;
	uint32_t tag;
} blk_t;

static blk_t *v;
static size_t len, cap;

static void push(blk_t b) {
	if (len == cap) {
		cap = cap ? cap * 2 : 4096;
		blk_t *nv = realloc(v, cap * sizeof *v);
		if (!nv) abort();
		v = nv;
	}
	v[len++] = b;
}

static size_t grow(rng_t *r, size_t live, size_t target, size_t lo, size_t hi, uint32_t *counter) {
	while (live < target) {
		blk_t b;
		b.n = (uint32_t)rng_range(r, lo, hi);
		b.tag = (uint32_t)mix64((*counter)++);
		b.p = xmalloc(b.n);
		fill(b.p, b.n, b.tag);
		push(b);
		live += b.n;
	}
	return live;
}

int main(int argc, char **argv) {
	double scale = arg_scale(argc, argv);
	size_t target = (size_t)((double)(1ull << 30) * scale);
	rng_t r;
	rng_seed(&r, 3);
	uint32_t counter = 0;
	uint64_t sum = 0;
	double t0 = now_s();

	size_t live = grow(&r, 0, target, 16, 512, &counter);
	size_t n1 = len;
	long rss1 = rss_kib();

	size_t kept = 0;
	for (size_t i = 0; i < len; i++) {
		blk_t b = v[i];
		if (rng_next(&r) % 10 != 0) {
			check(b.p, b.n, b.tag);
			sum += mix64(b.tag);
			free(b.p);
			live -= b.n;
		} else {
			v[kept++] = b;
		}
	}
	/* the kept ones in random order, so the second growth does not follow address order */
	for (size_t i = kept; i > 1; i--) {
		size_t j = rng_next(&r) % i;
		blk_t t = v[i - 1];
		v[i - 1] = v[j];
		v[j] = t;
	}
	len = kept;
	long rss2 = rss_kib();

	live = grow(&r, live, target, 32, 1024, &counter);
	long rss3 = rss_kib();

	for (size_t i = 0; i < len; i++) {
		check(v[i].p, v[i].n, v[i].tag);
		sum += mix64(v[i].tag) * 3;
		free(v[i].p);
	}
	free(v);
	double t = now_s() - t0;
	printf("frag time=%.4f checksum=%016llx blocks=%zu rss_grown_kib=%ld rss_after_free_kib=%ld "
	       "rss_regrown_kib=%ld\n",
	       t, (unsigned long long)sum, n1, rss1, rss2, rss3);
	return 0;
}
