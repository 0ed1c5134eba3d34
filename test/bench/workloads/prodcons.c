/* prodcons: producer/consumer queues. Two producers and two consumers around two bounded
 * queues (mutex + condition variables). Producers allocate messages (header + payload of
 * 16 B..4 KiB, log-uniform) in batches of 16 (the batch array is allocated too); consumers check
 * each message, allocate a small parsed record per message, and free everything: every message
 * is freed by a thread that did not allocate it.
 * Usage: prodcons [scale]   (scale 1 = 2 x 1.5M messages) */
#include "common.h"

#include <pthread.h>

#define NPROD 2
#define NCONS 2
#define NQUEUE 2
#define QCAP 256
#define BATCH 16

typedef struct {
	uint64_t tag;
	size_t n;
	unsigned char payload[];
} msg_t;

typedef struct {
	msg_t **m; /* BATCH messages, NULL = end of stream */
} batch_t;

typedef struct {
	pthread_mutex_t mu;
	pthread_cond_t not_empty, not_full;
	msg_t **ring[QCAP];
	size_t head, tail;
} queue_t;

static queue_t q[NQUEUE];
static long batches_per_producer;
static uint64_t csum[NCONS];

static void put(queue_t *qu, msg_t **b) {
	pthread_mutex_lock(&qu->mu);
	while (qu->head - qu->tail == QCAP) pthread_cond_wait(&qu->not_full, &qu->mu);
	qu->ring[qu->head++ % QCAP] = b;
	pthread_cond_signal(&qu->not_empty);
	pthread_mutex_unlock(&qu->mu);
}

static msg_t **take(queue_t *qu) {
	pthread_mutex_lock(&qu->mu);
	while (qu->head == qu->tail) pthread_cond_wait(&qu->not_empty, &qu->mu);
	msg_t **b = qu->ring[qu->tail++ % QCAP];
	pthread_cond_signal(&qu->not_full);
	pthread_mutex_unlock(&qu->mu);
	return b;
}

static void *producer(void *arg) {
	int me = (int)(intptr_t)arg;
	rng_t r;
	rng_seed(&r, 7 + (uint64_t)me);
	uint64_t counter = 0;
	for (long i = 0; i < batches_per_producer; i++) {
		msg_t **b = xmalloc(BATCH * sizeof *b);
		for (int k = 0; k < BATCH; k++) {
			size_t n = rng_logsize(&r, 16, 4096);
			msg_t *m = xmalloc(sizeof *m + n);
			m->tag = mix64(((uint64_t)me << 56) | counter++);
			m->n = n;
			fill(m->payload, n, m->tag);
			b[k] = m;
		}
		put(&q[(size_t)(me + i) % NQUEUE], b);
	}
	return NULL;
}

typedef struct {
	uint64_t tag;
	size_t n;
	char name[24];
} record_t;

static void *consumer(void *arg) {
	int me = (int)(intptr_t)arg;
	uint64_t sum = 0;
	record_t *recs[BATCH];
	for (;;) {
		msg_t **b = take(&q[me % NQUEUE]);
		if (!b) break;
		for (int k = 0; k < BATCH; k++) {
			msg_t *m = b[k];
			check(m->payload, m->n, m->tag);
			record_t *rec = xmalloc(sizeof *rec);
			rec->tag = m->tag;
			rec->n = m->n;
			snprintf(rec->name, sizeof rec->name, "m%zu", m->n);
			recs[k] = rec;
			free(m);
		}
		free(b);
		for (int k = 0; k < BATCH; k++) {
			sum += mix64(recs[k]->tag ^ recs[k]->n);
			free(recs[k]);
		}
	}
	csum[me] = sum;
	return NULL;
}

int main(int argc, char **argv) {
	double scale = arg_scale(argc, argv);
	batches_per_producer = (long)(1500000 / BATCH * scale);
	if (batches_per_producer < 1) batches_per_producer = 1;
	for (int i = 0; i < NQUEUE; i++) {
		pthread_mutex_init(&q[i].mu, NULL);
		pthread_cond_init(&q[i].not_empty, NULL);
		pthread_cond_init(&q[i].not_full, NULL);
	}
	double t0 = now_s();
	pthread_t pt[NPROD], ct[NCONS];
	for (int i = 0; i < NCONS; i++)
		if (pthread_create(&ct[i], NULL, consumer, (void *)(intptr_t)i)) abort();
	for (int i = 0; i < NPROD; i++)
		if (pthread_create(&pt[i], NULL, producer, (void *)(intptr_t)i)) abort();
	for (int i = 0; i < NPROD; i++) pthread_join(pt[i], NULL);
	for (int i = 0; i < NCONS; i++) put(&q[i % NQUEUE], NULL);
	uint64_t sum = 0;
	for (int i = 0; i < NCONS; i++) {
		pthread_join(ct[i], NULL);
		sum += csum[i];
	}
	double t = now_s() - t0;
	printf("prodcons time=%.4f checksum=%016llx messages=%ld\n", t, (unsigned long long)sum,
	       batches_per_producer * BATCH * NPROD);
	return 0;
}
