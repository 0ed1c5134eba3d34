/* bursts: a long-running server loop with bursts — what RSS does between peaks
 * (scripts/rss-compare.sh, workload "bursts").
 *
 * A working set of 50,000 blocks (16 B-4 KiB, log-uniform) stays live. The loop alternates a
 * quiet phase, QUIET seconds of 100 ticks a second, each tick serving 2,000 requests (a request
 * allocates a short-lived buffer and replaces a random block of the working set) and then
 * sleeping to the next tick, with a burst: BURST MiB of blocks of 32 B-16 KiB (log-uniform)
 * allocated, written and held together, then freed. CYCLES such pairs, and one last quiet phase
 * twice as long. The work is fixed (a slow machine runs behind its ticks, it does not skip
 * them), so the checksum is the same under every allocator:
 *   bursts: time=<s> checksum=<hex>
 * Usage: bursts [BURST-MiB] [QUIET-seconds] [CYCLES]   (default 256 1 5) */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { WS = 50000, PER_TICK = 2000, TICKS_PER_S = 100 };

static uint64_t rng = 0x243f6a8885a308d3ull;
static uint64_t next_rand(void)
{
	rng ^= rng >> 12, rng ^= rng << 25, rng ^= rng >> 27;
	return rng * 0x2545f4914f6cdd1dull;
}
static size_t log_uniform(size_t lo, size_t hi)
{
	int lb = 63 - __builtin_clzll(lo), hb = 63 - __builtin_clzll(hi);
	int b = lb + (int)(next_rand() % (uint64_t)(hb - lb + 1));
	size_t base = (size_t)1 << b, n = base + next_rand() % base;
	return n < lo ? lo : n > hi ? hi : n;
}
static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}
static void *xmalloc(size_t n)
{
	void *p = malloc(n);
	if (!p) {
		fprintf(stderr, "bursts: out of memory\n");
		exit(1);
	}
	return p;
}

static unsigned char *ws[WS];
static size_t ws_n[WS];

static uint64_t quiet(double seconds)
{
	uint64_t h = 0;
	long ticks = (long)(seconds * TICKS_PER_S + 0.5);
	double t = now();
	for (long k = 0; k < ticks; k++) {
		for (int r = 0; r < PER_TICK; r++) {
			size_t n = log_uniform(64, 2048);
			unsigned char *buf = xmalloc(n);
			memset(buf, (int)(r & 0xff), n);
			size_t i = next_rand() % WS;
			h = h * 1099511628211ull + buf[n / 2] + ws[i][ws_n[i] - 1];
			free(buf);
			free(ws[i]);
			ws_n[i] = log_uniform(16, 4096);
			ws[i] = xmalloc(ws_n[i]);
			memset(ws[i], (int)(i & 0xff), ws_n[i]);
		}
		t += 1.0 / TICKS_PER_S;
		double w = t - now();
		if (w > 0) {
			struct timespec ts = {0, (long)(w * 1e9)};
			nanosleep(&ts, NULL);
		}
	}
	return h;
}

static uint64_t burst(double mib)
{
	uint64_t target = (uint64_t)(mib * 1048576), total = 0, h = 0;
	void **head = NULL;
	while (total < target) {
		size_t n = log_uniform(32, 16384);
		void **b = xmalloc(n);
		memset(b, (int)(n & 0xff), n);
		b[0] = head;
		head = b;
		total += n;
	}
	while (head) {
		void **next = head[0];
		h = h * 31 + ((unsigned char *)head)[8];
		free(head);
		head = next;
	}
	return h;
}

int main(int argc, char **argv)
{
	double mib = argc > 1 ? strtod(argv[1], NULL) : 256, q = argc > 2 ? strtod(argv[2], NULL) : 1;
	int cycles = argc > 3 ? atoi(argv[3]) : 5;
	if (!(mib > 0) || !(q > 0) || cycles < 1) {
		fprintf(stderr, "usage: bursts [BURST-MiB > 0] [QUIET-seconds > 0] [CYCLES >= 1]\n");
		return 2;
	}
	double t0 = now();
	for (size_t i = 0; i < WS; i++) {
		ws_n[i] = log_uniform(16, 4096);
		ws[i] = xmalloc(ws_n[i]);
		memset(ws[i], (int)(i & 0xff), ws_n[i]);
	}
	uint64_t h = 0;
	for (int c = 0; c < cycles; c++) {
		h = h * 31 + quiet(q);
		h = h * 31 + burst(mib);
	}
	h = h * 31 + quiet(2 * q);
	for (size_t i = 0; i < WS; i++)
		free(ws[i]);
	printf("bursts: time=%.3f checksum=%016llx\n", now() - t0, (unsigned long long)h);
	return 0;
}
