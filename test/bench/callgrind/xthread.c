/* xthread: cross-thread free. The main thread allocates batches of 1,000 blocks of 32 B, a
 * second thread frees each batch; the hand-off is a pair of semaphores (no spinning, so the
 * count is deterministic). Each pair is a malloc on one thread and a free on the other; the
 * hand-off adds a few instructions per pair (two semaphore operations per 1,000 pairs). */
#include "pairs.h"

#include <pthread.h>
#include <semaphore.h>

#define BATCH 1000

static void *batch[BATCH];
static int batch_len;
static sem_t full, empty;

static void *freer(void *arg) {
	(void)arg;
	for (;;) {
		sem_wait(&full);
		if (batch_len < 0) return NULL;
		for (int i = 0; i < batch_len; i++) cg_free(batch[i]);
		sem_post(&empty);
	}
}

static void run(long k) {
	while (k > 0) {
		int n = k < BATCH ? (int)k : BATCH;
		for (int i = 0; i < n; i++) {
			void *p = cg_malloc(32);
			*(volatile char *)p = 1;
			batch[i] = p;
		}
		batch_len = n;
		sem_post(&full);
		sem_wait(&empty);
		k -= n;
	}
}

int main(int argc, char **argv) {
	long k = pairs_arg(argc, argv);
	sem_init(&full, 0, 0);
	sem_init(&empty, 0, 0);
	pthread_t t;
	if (pthread_create(&t, NULL, freer, NULL)) return 1;
	run(4 * BATCH);
	MEASURE_BEGIN();
	run(k);
	MEASURE_END();
	batch_len = -1;
	sem_post(&full);
	pthread_join(t, NULL);
	return 0;
}
