/* gcs_repro_site_lock — under GOALLOC_GC=report with GOALLOC_GC_STOP=signal, cycles are abandoned
 * ("could not be stopped within 1000 ms (it blocks signal 23)") whenever a thread allocates while
 * another collects. The allocating thread records its block's site: gc_record_alloc → sites_alloc
 * → site_lock_sig blocks every signal and then waits for site_lock, which the collecting thread
 * holds (ga_lock_all) while it waits for that thread to take the stop signal. Since "The sites'
 * table lock and the site-array pool's lock are held with signals blocked" (gc f0cced0).
 *   cc -O1 -pthread test/gc/gcs_repro_site_lock.c -o /tmp/site_lock -ldl
 *   LD_PRELOAD=build/libgoalloc.so GOALLOC_GC=report GOALLOC_GC_STOP=signal /tmp/site_lock
 * Expected: "0 of N cycles abandoned" (auto: 0 of 3128). Seen: "4 of 77 cycles abandoned". Under
 * GOALLOC_GC_STOP=auto the blocked thread is stopped with ptrace instead, and under collect no
 * sites are recorded: both pass. Fixed at main b85c028. Not a test (nothing runs it): the reproducer that
 * t_gcs_safepoint.sh's SITE_LOCK_BUG names. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
static atomic_int stop;
static atomic_long done, abandoned;
static int (*gc)(void);
static void *cycler(void *a)
{
	while (!atomic_load(&stop)) {
		if (gc())
			atomic_fetch_add(&abandoned, 1);
		atomic_fetch_add(&done, 1);
	}
	return a;
}
static void *worker(void *a)
{
	unsigned char *p[48] = {0};
	uint64_t s = 88172645463325252ull;
	while (!atomic_load(&stop)) {
		s ^= s << 13, s ^= s >> 7, s ^= s << 17;
		unsigned k = s % 48;
		free(p[k]);
		p[k] = malloc(1 + (s >> 8) % 300000);
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
	printf("%ld of %ld cycles abandoned\n", atomic_load(&abandoned), atomic_load(&done));
	return 0;
}
