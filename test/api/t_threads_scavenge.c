/* t_threads_scavenge — the scavenger's thread beside threads that allocate and free: the heap is
 * first shrunk by 96 MiB so that the thread starts; then 4 threads, for about 3 s, fill blocks of
 * 32..4096 bytes and large ones with a pattern, check it and free them (some on another thread,
 * through a shared table), while the main thread calls malloc_trim now and then. Every block must
 * read back as written: the scavenger gives back only pages no span owns, and empty spans only
 * while no thread holds them. Built with -DGOALLOC_DIRECT for the ThreadSanitizer run, where
 * the scavenger's locking is checked against the allocating threads. */
#define _GNU_SOURCE
#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tap.h"
#include "api_util.h"

#ifdef GOALLOC_DIRECT
int heap_trim(void); /* (malloc_trim's core, linked in) */
#define TRIM() heap_trim()
#else
#define TRIM() malloc_trim(0)
#endif

enum { THREADS = 4, SLOTS = 4096 };
static _Atomic(unsigned char *) shared[SLOTS];
static atomic_int stop, bad;

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void fill(unsigned char *p, size_t n, unsigned char v)
{
	p[0] = v;
	p[n / 2] = v;
	p[n - 1] = v;
	memcpy(p + 1, &n, sizeof n); /* (n >= 32: the middle byte lies past it) */
}

static int check(const unsigned char *p)
{
	size_t n;
	memcpy(&n, p + 1, sizeof n);
	return p[n / 2] == p[0] && p[n - 1] == p[0];
}

static void *worker(void *arg)
{
	uint64_t x = 0x9E3779B97F4A7C15ull * ((uintptr_t)arg + 1);
	while (!atomic_load(&stop)) {
		/* a round: a few MiB in, then out */
		enum { N = 2048 };
		unsigned char *mine[N];
		for (int i = 0; i < N; i++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			size_t n = x % 64 == 0 ? 40000 + x % 200000 : 32 + x % 4065;
			mine[i] = T_MALLOC(n);
			if (!mine[i]) {
				atomic_store(&bad, 1);
				return NULL;
			}
			fill(mine[i], n, (unsigned char)x);
		}
		for (int i = 0; i < N; i++) {
			if (!check(mine[i]))
				atomic_store(&bad, 1);
			if (i % 8 == 0) { /* swap through the table: freed by whichever thread takes it */
				unsigned char *old = atomic_exchange(&shared[(x + (unsigned)i) % SLOTS], mine[i]);
				if (old && !check(old))
					atomic_store(&bad, 1);
				T_FREE(old);
			} else {
				T_FREE(mine[i]);
			}
		}
	}
	return NULL;
}

int main(void)
{
	if (!under_goalloc())
		skip_all("goalloc is not preloaded");
	plan(3);
	unsigned before = threads_now();
	void *big[96];
	for (int i = 0; i < 96; i++) {
		big[i] = T_MALLOC(1 << 20);
		memset(big[i], 1, 1 << 20);
	}
	for (int i = 0; i < 96; i++)
		T_FREE(big[i]);
	void *p = T_MALLOC(64); /* (a free slow path starts the thread) */
	T_FREE(p);
	for (int i = 0; i < 200; i++) /* (a free slow path: a list over its bound) */
		big[i % 96] = T_MALLOC(64), T_FREE(big[i % 96]);
	unsigned after = threads_now();
	ok(under_valgrind() || after > before, "the heap shrank 96 MiB: the scavenger's thread runs (%u -> %u)",
	   before, after);
	pthread_t t[THREADS];
	for (long i = 0; i < THREADS; i++)
		pthread_create(&t[i], NULL, worker, (void *)i);
	double t0 = now_s();
	unsigned trims = 0;
	while (now_s() - t0 < (under_valgrind() ? 1.0 : 3.0)) {
		usleep(200 * 1000);
		TRIM();
		trims++;
	}
	atomic_store(&stop, 1);
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	ok(!atomic_load(&bad), "every block read back as written (%u trims meanwhile)", trims);
	for (int i = 0; i < SLOTS; i++) {
		unsigned char *q = atomic_load(&shared[i]);
		if (q && !check(q))
			atomic_store(&bad, 1);
		T_FREE(q);
	}
	ok(!atomic_load(&bad), "and the blocks left in the table too");
	return done_testing();
}
