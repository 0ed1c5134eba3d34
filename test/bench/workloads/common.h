/* Shared bits of the workloads: a deterministic generator, a clock, the scale argument and the
 * result line. Every workload prints one line
 *     <name> time=<seconds> checksum=<hex> [key=value ...]
 * The checksum depends only on the work done, never on addresses or thread timing, so it must
 * be identical under every allocator. */
#ifndef BENCH_WORKLOAD_COMMON_H
#define BENCH_WORKLOAD_COMMON_H
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct {
	uint64_t s;
} rng_t;

static inline void rng_seed(rng_t *r, uint64_t seed) { r->s = seed * 0x9E3779B97F4A7C15ull + 0x1234567ull; }
static inline uint64_t rng_next(rng_t *r) {
	uint64_t x = r->s;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	r->s = x;
	return x * 0x2545F4914F6CDD1Dull;
}
/* uniform in [lo, hi] */
static inline uint64_t rng_range(rng_t *r, uint64_t lo, uint64_t hi) { return lo + rng_next(r) % (hi - lo + 1); }
/* log-uniform in [lo, hi]: as many blocks per power of two */
static inline uint64_t rng_logsize(rng_t *r, uint64_t lo, uint64_t hi) {
	int blo = 63 - __builtin_clzll(lo), bhi = 63 - __builtin_clzll(hi);
	int b = blo + (int)(rng_next(r) % (uint64_t)(bhi - blo + 1));
	uint64_t base = 1ull << b, n = base + rng_next(r) % base;
	return n < lo ? lo : n > hi ? hi : n;
}

static inline uint64_t mix64(uint64_t x) {
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	x ^= x >> 33;
	return x;
}

static inline double now_s(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* argv[1] is the scale: 1 = the full-size workload, 0.05 = a CI-size run. */
static inline double arg_scale(int argc, char **argv) {
	double s = argc > 1 ? strtod(argv[1], NULL) : 1.0;
	if (!(s > 0) || s > 1000) {
		fprintf(stderr, "usage: %s [scale > 0]\n", argv[0]);
		exit(2);
	}
	return s;
}

static inline void *xmalloc(size_t n) {
	void *p = malloc(n);
	if (!p) {
		fprintf(stderr, "out of memory (%zu bytes)\n", n);
		abort();
	}
	return p;
}

static inline void die(const char *what) {
	fprintf(stderr, "WRONG RESULT: %s\n", what);
	abort();
}

/* Fill a block with a pattern derived from tag; check it back. Only a few words are written for
 * big blocks (start, end, one per 4 KiB page) so the workloads measure the allocator. */
static inline void fill(unsigned char *p, size_t n, uint64_t tag) {
	if (n >= 16) {
		memcpy(p, &tag, 8);
		memcpy(p + n - 8, &tag, 8);
		for (size_t o = 4096; o + 16 <= n; o += 4096) memcpy(p + o, &tag, 8);
	} else {
		memset(p, (int)(tag & 0xff), n);
	}
}
static inline void check(const unsigned char *p, size_t n, uint64_t tag) {
	uint64_t a, b;
	if (n >= 16) {
		memcpy(&a, p, 8);
		memcpy(&b, p + n - 8, 8);
		if (a != tag || b != tag) die("block contents changed while allocated");
		for (size_t o = 4096; o + 16 <= n; o += 4096) {
			memcpy(&a, p + o, 8);
			if (a != tag) die("block contents changed while allocated");
		}
	} else {
		for (size_t i = 0; i < n; i++)
			if (p[i] != (unsigned char)(tag & 0xff)) die("block contents changed while allocated");
	}
}

static inline long rss_kib(void) {
	FILE *f = fopen("/proc/self/statm", "r");
	long pages = 0, res = 0;
	if (f) {
		if (fscanf(f, "%ld %ld", &pages, &res) != 2) res = 0;
		fclose(f);
	}
	return res * 4;
}

#endif
