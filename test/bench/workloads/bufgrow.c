/* bufgrow: big buffers grown by doubling realloc, the way a program reads a file or a pipe of
 * unknown length into memory. Each round grows 4 buffers at once, 64 KiB appended at a time to
 * one of them, to a target length log-uniform between 1 and 64 MiB; the capacity doubles when
 * an append does not fit. Small records (32..256 B, one per append) are allocated in between and
 * kept to the round's end, so the buffers do not simply sit at the heap's end. A buffer that
 * reaches its target is shrunk to its length by realloc, checked, and kept to the round's end.
 * What it measures is the cost of moving big blocks (copy, or remap) and what a move leaves
 * behind in RSS.
 * Usage: bufgrow [scale]   (scale 1 = 20 rounds) */
#include "common.h"

#define NBUF 4
#define CHUNK ((size_t)64 << 10)

typedef struct {
	unsigned char *p;
	size_t len, cap, target;
	uint64_t tag;
} buf_t;

typedef struct rec {
	struct rec *next;
	uint64_t tag;
} rec_t;

/* The 8-byte word at offset o (a multiple of 8) of a buffer tagged tag. */
static inline uint64_t word_at(uint64_t tag, size_t o) { return mix64(tag ^ o); }

static void append(buf_t *b) {
	size_t n = b->target - b->len < CHUNK ? b->target - b->len : CHUNK;
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : CHUNK;
		while (cap < b->len + n) cap *= 2;
		unsigned char *np = realloc(b->p, cap);
		if (!np) die("realloc failed");
		b->p = np;
		b->cap = cap;
	}
	/* One word per 4 KiB page, like the other workloads: the allocator is what is measured. */
	for (size_t o = b->len; o + 8 <= b->len + n; o += 4096) {
		uint64_t w = word_at(b->tag, o);
		memcpy(b->p + o, &w, 8);
	}
	b->len += n;
}

static uint64_t check_buf(const buf_t *b) {
	uint64_t sum = 0;
	for (size_t o = 0; o + 8 <= b->len; o += 4096) {
		uint64_t w;
		memcpy(&w, b->p + o, 8);
		if (w != word_at(b->tag, o)) die("buffer contents changed across realloc");
		sum += w;
	}
	return sum;
}

int main(int argc, char **argv) {
	double scale = arg_scale(argc, argv);
	long rounds = (long)(20 * scale);
	if (rounds < 1) rounds = 1;
	rng_t r;
	rng_seed(&r, 17);
	uint64_t sum = 0, counter = 0;
	long reallocs_done = 0;
	double t0 = now_s();
	for (long round = 0; round < rounds; round++) {
		buf_t b[NBUF];
		rec_t *recs = NULL;
		int growing = NBUF;
		for (int i = 0; i < NBUF; i++) {
			b[i].p = NULL;
			b[i].len = b[i].cap = 0;
			b[i].target = rng_logsize(&r, (size_t)1 << 20, (size_t)64 << 20) & ~(size_t)7;
			b[i].tag = mix64(counter++);
		}
		while (growing) {
			buf_t *x = &b[rng_next(&r) % NBUF];
			if (x->len == x->target) continue;
			append(x);
			rec_t *rc = xmalloc((size_t)rng_range(&r, 32, 256));
			rc->tag = mix64(counter++);
			rc->next = recs;
			recs = rc;
			if (x->len == x->target) {
				unsigned char *np = realloc(x->p, x->len); /* shrink to fit */
				if (!np) die("realloc failed");
				x->p = np;
				x->cap = x->len;
				sum += check_buf(x);
				growing--;
			}
			reallocs_done++;
		}
		for (int i = 0; i < NBUF; i++) {
			sum += check_buf(&b[i]) * 3;
			free(b[i].p);
		}
		while (recs) {
			rec_t *next = recs->next;
			sum += recs->tag;
			free(recs);
			recs = next;
		}
	}
	double t = now_s() - t0;
	printf("bufgrow time=%.4f checksum=%016llx rounds=%ld appends=%ld\n", t, (unsigned long long)sum,
	       rounds, reallocs_done);
	return 0;
}
