/* server: request-serving churn. Four worker threads share a working set of 10^5 live blocks
 * (25,000 each, sizes log-uniform 16 B..16 KiB). Each "request" allocates one to three
 * short-lived buffers, then replaces a random block of the worker's working set; a quarter of the
 * replaced blocks are not freed by the worker but handed to another worker (a mutex-protected
 * inbox), which checks and frees them: frees from a thread that did not allocate.
 * Usage: server [scale]   (scale 1 = 4 x 2.5M requests) */
#include "common.h"

#include <pthread.h>

#define NTHREADS 4
#define WS_PER_THREAD 25000

typedef struct {
	unsigned char *p;
	size_t n;
	uint64_t tag;
} blk_t;

typedef struct {
	pthread_mutex_t mu;
	blk_t *items;
	size_t len, cap;
} inbox_t;

static inbox_t inbox[NTHREADS];
static long requests_per_thread;
static uint64_t sums[NTHREADS];

static uint64_t retire(blk_t b) {
	check(b.p, b.n, b.tag);
	free(b.p);
	return mix64(b.tag);
}

static void send(int to, blk_t b) {
	inbox_t *in = &inbox[to];
	pthread_mutex_lock(&in->mu);
	if (in->len == in->cap) {
		in->cap = in->cap ? in->cap * 2 : 256;
		blk_t *ni = realloc(in->items, in->cap * sizeof *ni);
		if (!ni) abort();
		in->items = ni;
	}
	in->items[in->len++] = b;
	pthread_mutex_unlock(&in->mu);
}

static uint64_t drain(int me) {
	inbox_t *in = &inbox[me];
	pthread_mutex_lock(&in->mu);
	blk_t *items = in->items;
	size_t len = in->len;
	in->items = NULL;
	in->len = in->cap = 0;
	pthread_mutex_unlock(&in->mu);
	uint64_t s = 0;
	for (size_t i = 0; i < len; i++) s += retire(items[i]);
	free(items);
	return s;
}

static void *worker(void *arg) {
	int me = (int)(intptr_t)arg;
	rng_t r;
	rng_seed(&r, 100 + (uint64_t)me);
	uint64_t counter = 0, sum = 0;
	blk_t *ws = xmalloc(WS_PER_THREAD * sizeof *ws);
	for (int i = 0; i < WS_PER_THREAD; i++) {
		ws[i].n = rng_logsize(&r, 16, 16384);
		ws[i].tag = mix64(((uint64_t)me << 48) | counter++);
		ws[i].p = xmalloc(ws[i].n);
		fill(ws[i].p, ws[i].n, ws[i].tag);
	}
	for (long q = 0; q < requests_per_thread; q++) {
		/* temporaries of the request: parse buffer, header strings */
		int ntmp = 1 + (int)(rng_next(&r) % 3);
		unsigned char *tmp[3];
		size_t tn[3];
		for (int k = 0; k < ntmp; k++) {
			tn[k] = rng_logsize(&r, 16, 4096);
			tmp[k] = xmalloc(tn[k]);
			fill(tmp[k], tn[k], counter + (uint64_t)k);
		}
		for (int k = ntmp - 1; k >= 0; k--) {
			check(tmp[k], tn[k], counter + (uint64_t)k);
			free(tmp[k]);
		}
		/* replace one block of the working set */
		uint64_t x = rng_next(&r);
		blk_t *b = &ws[x % WS_PER_THREAD];
		if ((x >> 40) % 4 == 0)
			send((me + 1 + (int)((x >> 50) % (NTHREADS - 1))) % NTHREADS, *b);
		else
			sum += retire(*b);
		b->n = rng_logsize(&r, 16, 16384);
		b->tag = mix64(((uint64_t)me << 48) | counter++);
		b->p = xmalloc(b->n);
		fill(b->p, b->n, b->tag);
		if ((q & 63) == 63) sum += drain(me);
	}
	for (int i = 0; i < WS_PER_THREAD; i++) sum += retire(ws[i]);
	free(ws);
	sums[me] = sum;
	return NULL;
}

int main(int argc, char **argv) {
	double scale = arg_scale(argc, argv);
	requests_per_thread = (long)(2500000 * scale);
	if (requests_per_thread < 1) requests_per_thread = 1;
	for (int i = 0; i < NTHREADS; i++) pthread_mutex_init(&inbox[i].mu, NULL);
	double t0 = now_s();
	pthread_t th[NTHREADS];
	for (int i = 0; i < NTHREADS; i++)
		if (pthread_create(&th[i], NULL, worker, (void *)(intptr_t)i)) abort();
	uint64_t sum = 0;
	for (int i = 0; i < NTHREADS; i++) {
		pthread_join(th[i], NULL);
		sum += sums[i];
	}
	for (int i = 0; i < NTHREADS; i++) sum += drain(i);
	double t = now_s() - t0;
	printf("server time=%.4f checksum=%016llx requests=%ld\n", t, (unsigned long long)sum,
	       requests_per_thread * NTHREADS);
	return 0;
}
