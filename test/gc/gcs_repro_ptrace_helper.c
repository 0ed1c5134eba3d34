/* gcs_repro_ptrace_helper — under GOALLOC_GC_STOP=ptrace, a process that exits while another of
 * its threads runs goalloc_gc() can leave goalloc's tracer task behind for ever: cloned with
 * CLONE_VM in a thread group of its own (stw.c tracer_start), it outlives the process, reparented
 * to init, asleep on a futex in tracer_main, with the program's command line, ignoring SIGTERM.
 *   cc -O1 -pthread test/gc/gcs_repro_ptrace_helper.c -o /tmp/ptrace_helper -ldl
 *   for i in $(seq 10); do env LD_PRELOAD=build/libgoalloc.so GOALLOC_GC=collect \
 *       GOALLOC_GC_STOP=ptrace /tmp/ptrace_helper TAG$i; done; pgrep -af 'ptrace_helper TAG'
 * Expected: nothing. Seen: 6 of 10 (collect), 1 of 10 (report) left a task (kill -9 them). The
 * same when such a process dies of abort() in the middle of a cycle. Not a test (nothing runs it):
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
int main(void)
{
	pthread_t t;
	struct timespec ts = {0, 100 * 1000 * 1000};
	gc = (int (*)(void))dlsym(RTLD_DEFAULT, "goalloc_gc");
	if (!gc)
		return 2;
	pthread_create(&t, NULL, allocator, NULL);
	pthread_create(&t, NULL, cycler, NULL);
	while (nanosleep(&ts, &ts))
		;
	exit(0);
}
