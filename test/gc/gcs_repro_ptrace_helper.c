/* gcs_repro_ptrace_helper — under GOALLOC_GC_STOP=ptrace, a process that exits while another of
 * its threads runs goalloc_gc() can leave goalloc's tracer task behind for ever: cloned with
 * CLONE_VM in a thread group of its own (stw.c tracer_start), it outlives the process, reparented
 * to init, asleep on a futex in tracer_main, with the program's command line, ignoring SIGTERM.
 *   cc -O1 -pthread test/gc/gcs_repro_ptrace_helper.c -o /tmp/ptrace_helper -ldl
 *   for i in $(seq 10); do env LD_PRELOAD=build/libgoalloc.so GOALLOC_GC=collect \
 *       GOALLOC_GC_STOP=ptrace /tmp/ptrace_helper TAG$i; done; pgrep -af 'ptrace_helper TAG'
 * Expected: nothing. Seen at gc 7a9e6e8: 6 of 10 (collect), 1 of 10 (report) left a task (kill -9
 * them); the same when such a process dies of abort() in the middle of a cycle. At main b85c028:
 * 1 of 8 left a task and 1 of 8 hung at exit (status 137), then 0 of 10. Not a test (nothing runs it):
 * the reproducer that t_gcs_safepoint.sh's HELPER_BUG names. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>
static int (*gc)(void);
static void *cycler(void *a)
{
	for (;;)
		gc();
	return a;
}
static void *allocator(void *a)
{
	for (;;)
		free(malloc(100));
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
	pthread_t t;
	gc = (int (*)(void))dlsym(RTLD_DEFAULT, "goalloc_gc");
	if (!gc)
		return 2;
	pthread_create(&t, NULL, allocator, NULL);
	pthread_create(&t, NULL, cycler, NULL);
	sleep_for(0.1);
	exit(0);
}
