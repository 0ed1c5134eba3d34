/* t_gcs_loader — collections beside a thread in the dynamic loader. One thread dlopens and
 * dlcloses a library in a loop (the loader allocates with its lock held); another allocates blocks
 * large enough to keep the heap past its goal (run with GOALLOC_GOGC=1: every allocation that
 * reaches the span allocator asks for a cycle); a third drops a block and runs goalloc_gc() back
 * to back, so that in report mode each cycle reports a block unreachable twice, naming its
 * allocation site with dladdr, which takes the loader's lock. A thread that asks for a cycle must
 * not wait for the one under way while it holds the loader's lock: the two would wait for each
 * other for ever (the watchdog ends such a run: "Bail out!").
 *
 * Usage: t_gcs_loader LIBRARY [MS]: MS (default 1500) of the three threads. TAP.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gcs_watchdog.h"
#include "tap.h"

#define WATCHDOG_SECONDS 40

static int (*gc_now)(void);
static const char *library;
static atomic_int stop_flag;
static atomic_long n_opens, n_open_failed, n_allocs, n_gc_ok, n_gc_fail;

static inline void *launder(void *p)
{
	__asm__ volatile("" : "+r"(p) : : "memory");
	return p;
}

static void *loader(void *arg)
{
	while (!atomic_load_explicit(&stop_flag, memory_order_relaxed)) {
		void *h = dlopen(library, RTLD_NOW | RTLD_LOCAL);
		if (!h) {
			atomic_fetch_add(&n_open_failed, 1);
			continue;
		}
		dlclose(h);
		atomic_fetch_add(&n_opens, 1);
	}
	return arg;
}

static void *allocator(void *arg)
{
	void *keep[8] = {0};
	unsigned long i;
	unsigned k;
	for (i = 0; !atomic_load_explicit(&stop_flag, memory_order_relaxed); i++) {
		k = (unsigned)(i % 8);
		free(keep[k]);
		keep[k] = launder(malloc(i % 3 ? 100 + i % 4000 : 40000 + i % 100000));
		if (keep[k])
			memset(keep[k], 1, 100);
	}
	atomic_fetch_add(&n_allocs, (long)i);
	for (k = 0; k < 8; k++)
		free(keep[k]);
	return arg;
}

static __attribute__((noinline)) void drop_block(void)
{
	char *p = launder(malloc(200));
	if (p)
		memset(p, 0x5a, 200);
}

static void *cycler(void *arg)
{
	while (!atomic_load_explicit(&stop_flag, memory_order_relaxed)) {
		drop_block();
		if (gc_now() == 0)
			atomic_fetch_add(&n_gc_ok, 1);
		else
			atomic_fetch_add(&n_gc_fail, 1);
	}
	return arg;
}


static void sleep_ms(long ms)
{
	struct timespec t0, t, s = {0, 5 * 1000 * 1000};
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		nanosleep(&s, NULL);
		clock_gettime(CLOCK_MONOTONIC, &t);
	} while ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 < ms);
}

int main(int argc, char **argv)
{
	pthread_t t[3];
	long ms = argc > 2 && atol(argv[2]) > 0 ? atol(argv[2]) : 1500;
	int i;
	if (argc < 2) {
		fprintf(stderr, "usage: %s LIBRARY [MS]\n", argv[0]);
		return 64;
	}
	library = argv[1];
	gc_now = (int (*)(void))dlsym(RTLD_DEFAULT, "goalloc_gc");
	if (!gc_now)
		skip_all("goalloc_gc not found (not run under a goalloc with the collector)");
	gcs_start_watchdog(WATCHDOG_SECONDS);
	pthread_create(&t[0], NULL, loader, NULL);
	pthread_create(&t[1], NULL, allocator, NULL);
	pthread_create(&t[2], NULL, cycler, NULL);
	sleep_ms(ms);
	atomic_store(&stop_flag, 1);
	for (i = 0; i < 3; i++)
		pthread_join(t[i], NULL);
	ok(atomic_load(&n_opens) >= 1 && atomic_load(&n_open_failed) == 0,
	   "the library was opened and closed %ld times (%ld failed)", atomic_load(&n_opens),
	   atomic_load(&n_open_failed));
	ok(atomic_load(&n_gc_ok) >= 1, "goalloc_gc() beside them: %ld completed, %ld abandoned",
	   atomic_load(&n_gc_ok), atomic_load(&n_gc_fail));
	diag("%ld allocations", atomic_load(&n_allocs));
	return done_testing();
}
