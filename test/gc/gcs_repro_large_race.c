/* gcs_repro_large_race — GOALLOC_GC=collect frees large blocks it must not.
 * One thread mallocs and frees blocks of 32 KiB .. 288 KiB (their pointers in a table on its
 * stack); another runs goalloc_gc() back to back, for 2 s. Expected: "ok". Seen: "goalloc: free():
 * double free detected 0xc000...000" (from the collector's sweep, collect() in mgcsweep.c, or from
 * the program's own free of a block the collector freed), "invalid pointer", or SIGSEGV.
 *   cc -O1 -pthread test/gc/gcs_repro_large_race.c -o /tmp/large_race -ldl
 *   LD_PRELOAD=build/libgoalloc.so GOALLOC_GC=collect /tmp/large_race
 * Passes with GOALLOC_GC=report, with GOALLOC_GC_VERIFY=1, with blocks <= 32 KiB, and when one
 * thread both allocates and calls goalloc_gc(). Fixed by main b85c028 (gc 20e2a9c). Not a test (nothing runs it): the reproducer that
 * t_gcs_safepoint.sh's LARGE_BUG names. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
static atomic_int stop;
static int (*gc)(void);
static void *cycler(void *a)
{
	while (!atomic_load(&stop))
		gc();
	return a;
}
static void *worker(void *a)
{
	unsigned char *p[48] = {0};
	uint64_t s = 88172645463325252ull;
	while (!atomic_load(&stop)) {
		s ^= s << 13, s ^= s >> 7, s ^= s << 17;
		unsigned k = s % 48;
		if (p[k]) {
			free(p[k]);
			p[k] = NULL;
		} else {
			p[k] = malloc(32769 + (s >> 8) % (256u << 10));
		}
	}
	for (unsigned k = 0; k < 48; k++)
		free(p[k]);
	return a;
}
/* Sleep secs seconds by the clock: a stop signal interrupts nanosleep, and nanosleep(&ts, &ts)
 * in a loop makes no progress while cycles run back to back (the time parked is not slept). */
static void sleep_for(double secs)
{
	struct timespec t0, t, s = {0, 10 * 1000 * 1000};
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		nanosleep(&s, NULL);
		clock_gettime(CLOCK_MONOTONIC, &t);
	} while ((double)(t.tv_sec - t0.tv_sec) + (double)(t.tv_nsec - t0.tv_nsec) / 1e9 < secs);
}

int main(void)
{
	pthread_t w, c;
	gc = (int (*)(void))dlsym(RTLD_DEFAULT, "goalloc_gc");
	if (!gc)
		return puts("goalloc_gc not found"), 2;
	pthread_create(&w, NULL, worker, NULL);
	pthread_create(&c, NULL, cycler, NULL);
	sleep_for(2);
	atomic_store(&stop, 1);
	pthread_join(w, NULL);
	pthread_join(c, NULL);
	puts("ok");
	return 0;
}
