/* leaky.c — a leaky server loop, for putting collectors side by side (scripts/gc-compare.sh, part
 * "leaky").
 *
 * N requests (default 10^6). A request allocates 2-5 blocks of 32 B - 4 KiB (log-uniform), links
 * them into a list (each block's first word points to the next), writes them, walks the list
 * to compute its answer, and drops the blocks without freeing them. A small working set stays
 * live the whole time: 1,024 "sessions" of 64-512 B, each holding a pointer to a 256 B buffer;
 * every 16th request replaces one session (the old session and its buffer are dropped).
 * Every 10^5 requests it prints the resident set from /proc/self/statm:
 *   iter=<i> rss_kib=<KiB>
 * and at the end
 *   leaky: time=<s> checksum=<hex> peak_rss_kib=<KiB>
 * (the checksum depends only on the work, so every variant prints the same one).
 *
 * One source, the allocator chosen by a macro (as gcbench.c):
 *   -DGCB_BDW     bdwgc GC_MALLOC, nothing freed (link -lgc)
 *   -DGCB_NOFREE  plain malloc, nothing freed (goalloc GOALLOC_GC=collect frees it; glibc grows)
 *   -DGCB_FREE    plain malloc, every dropped block freed
 * Usage: leaky [requests] [rss-every]
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#if defined(GCB_BDW)
#include <gc.h>
#define ALLOC(n) GC_MALLOC(n)
#define DROP(p) ((void)(p))
#define VARIANT "bdwgc"
#elif defined(GCB_NOFREE)
#define ALLOC(n) malloc(n)
#define DROP(p) ((void)(p))
#define VARIANT "malloc, no free"
#elif defined(GCB_FREE)
#define ALLOC(n) malloc(n)
#define DROP(p) free(p)
#define VARIANT "malloc + free"
#else
#error "define GCB_BDW, GCB_NOFREE or GCB_FREE"
#endif

enum { SESSIONS = 1024, BUF = 256 };

struct blk {
	struct blk *next;
	uint32_t size, tag;
	unsigned char data[];
};
struct session {
	unsigned char *buf; /* BUF bytes */
	uint32_t size, id;
	uint64_t hits;
	unsigned char pad[];
};

static uint64_t rng = 0x9e3779b97f4a7c15ULL;
static uint64_t next_rand(void) { /* xorshift64* */
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545f4914f6cdd1dULL;
}
/* log-uniform in [lo, hi] */
static size_t log_uniform(size_t lo, size_t hi) {
	int lb = 63 - __builtin_clzll(lo), hb = 63 - __builtin_clzll(hi);
	int b = lb + (int)(next_rand() % (uint64_t)(hb - lb + 1));
	size_t base = (size_t)1 << b;
	size_t n = base + next_rand() % base;
	return n < lo ? lo : n > hi ? hi : n;
}

static void *xalloc(size_t n) {
	void *p = ALLOC(n);
	if (!p) {
		fprintf(stderr, "leaky: out of memory\n");
		exit(2);
	}
	return p;
}

static struct session *new_session(uint32_t id) {
	uint32_t size = (uint32_t)log_uniform(64, 512);
	struct session *s = xalloc(size);
	s->buf = xalloc(BUF);
	memset(s->buf, (int)(id & 0xff), BUF);
	s->size = size;
	s->id = id;
	s->hits = 0;
	return s;
}

static long rss_kib(void) {
	long pages = 0, res = 0;
	FILE *f = fopen("/proc/self/statm", "r");
	if (f) {
		if (fscanf(f, "%ld %ld", &pages, &res) != 2)
			res = 0;
		fclose(f);
	}
	return res * (sysconf(_SC_PAGESIZE) / 1024);
}

static double now(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static struct session *sessions[SESSIONS];

/* one request: build a list of 2-5 blocks, use it, drop it */
static uint64_t request(uint64_t i) {
	struct blk *head = NULL;
	int n = 2 + (int)(next_rand() % 4);
	for (int k = 0; k < n; k++) {
		size_t size = log_uniform(32, 4096);
		struct blk *b = xalloc(size);
		b->next = head;
		b->size = (uint32_t)size;
		b->tag = (uint32_t)(i * 31 + k);
		size_t dn = size - sizeof *b;
		for (size_t o = 0; o < dn; o += 64) /* touch a byte per cache line, and the last */
			b->data[o] = (unsigned char)(b->tag + o);
		b->data[dn - 1] = (unsigned char)b->tag;
		head = b;
	}
	struct session *s = sessions[next_rand() % SESSIONS];
	uint64_t h = 0;
	for (struct blk *b = head; b; b = b->next) {
		h = h * 1099511628211ULL + b->size + b->tag + b->data[0] + b->data[b->size - sizeof *b - 1];
		h += s->buf[b->tag % BUF];
	}
	s->hits++;
	while (head) {
		struct blk *nx = head->next;
		DROP(head);
		head = nx;
	}
	if (i % 16 == 0) { /* replace a session: the old one and its buffer are dropped */
		uint32_t k = (uint32_t)(next_rand() % SESSIONS);
		struct session *old = sessions[k];
		h += old->hits + old->id;
		DROP(old->buf);
		DROP(old);
		sessions[k] = new_session((uint32_t)i);
	}
	return h;
}

int main(int argc, char **argv) {
#ifdef GCB_BDW
	GC_INIT();
#endif
	long iters = argc > 1 ? atol(argv[1]) : 1000000;
	long every = argc > 2 ? atol(argv[2]) : 100000;
	if (every <= 0)
		every = iters;
	printf("leaky (%s): %ld requests, %d sessions\n", VARIANT, iters, SESSIONS);
	double t0 = now();
	for (uint32_t k = 0; k < SESSIONS; k++)
		sessions[k] = new_session(k);
	uint64_t sum = 0;
	long peak = 0;
	for (long i = 1; i <= iters; i++) {
		sum = sum * 31 + request((uint64_t)i);
		if (i % every == 0) {
			long r = rss_kib();
			if (r > peak)
				peak = r;
			printf("iter=%ld rss_kib=%ld\n", i, r);
			fflush(stdout);
		}
	}
	uint64_t live = 0;
	for (int k = 0; k < SESSIONS; k++)
		live += sessions[k]->hits + sessions[k]->buf[0];
	sum = sum * 31 + live;
	double t1 = now();
	printf("leaky: time=%.3f checksum=%016llx peak_rss_kib=%ld\n", t1 - t0, (unsigned long long)sum,
	       peak);
#ifdef GCB_BDW
	printf("bdwgc: collections=%lu heap_kib=%zu\n", (unsigned long)GC_get_gc_no(), GC_get_heap_size() / 1024);
#endif
	return 0;
}
