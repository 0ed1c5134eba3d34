/* t_gcs_tracer — a process that ends in the middle of a collection takes goalloc's ptrace tracer
 * task with it. One thread runs goalloc_gc() back to back, another allocates, a third blocks every
 * signal (so that GOALLOC_GC_STOP=auto hands it to the tracer too); after a short while the main
 * thread ends the process, by the way argv[1] names:
 *   exit    exit(0): goalloc's exit handler runs
 *   _exit   _exit(0): no exit handler runs
 *   kill    SIGKILL to itself
 *   abort   abort()
 *   exec    execv("/bin/true"): every other thread ends, the process lives on as another program
 * The collector's tracer is a task of a thread group of its own that shares the process's memory
 * and files; one left behind keeps the program's command line (argv[2], a tag the .sh looks for)
 * and its output pipe open. test/gc/t_gcs_tracer.sh runs it.
 *
 * Usage: t_gcs_tracer exit|_exit|kill|abort|exec TAG [MS]: MS (default 100) before the end.
 * Prints "# pid N" first. Exit status 2 when goalloc_gc is not there.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int (*gc_now)(void);

static void *cycler(void *arg)
{
	for (;;)
		gc_now();
	return arg;
}

static void *allocator(void *arg)
{
	void *volatile keep[16] = {0};
	for (unsigned i = 0;; i++) {
		free(keep[i % 16]);
		keep[i % 16] = malloc(i % 7 == 0 ? 40000 : 100);
	}
	return arg;
}

static void *blocker(void *arg)
{
	sigset_t all;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, NULL);
	for (;;)
		free(malloc(64));
	return arg;
}

/* Sleep ms by the clock (a stop interrupts nanosleep). */
static void sleep_ms(long ms)
{
	struct timespec t0, t, s = {0, 2 * 1000 * 1000};
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		nanosleep(&s, NULL);
		clock_gettime(CLOCK_MONOTONIC, &t);
	} while ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 < ms);
}

int main(int argc, char **argv)
{
	pthread_t t;
	long ms = argc > 3 ? atol(argv[3]) : 100;
	if (argc < 3) {
		fprintf(stderr, "usage: %s exit|_exit|kill|abort|exec TAG [MS]\n", argv[0]);
		return 64;
	}
	gc_now = (int (*)(void))dlsym(RTLD_DEFAULT, "goalloc_gc");
	if (!gc_now) {
		printf("goalloc_gc not found\n");
		return 2;
	}
	printf("# pid %d\n", (int)getpid());
	fflush(stdout);
	pthread_create(&t, NULL, allocator, NULL);
	pthread_create(&t, NULL, blocker, NULL);
	pthread_create(&t, NULL, cycler, NULL);
	sleep_ms(ms);
	if (!strcmp(argv[1], "exit"))
		exit(0);
	if (!strcmp(argv[1], "_exit"))
		_exit(0);
	if (!strcmp(argv[1], "kill"))
		kill(getpid(), SIGKILL);
	if (!strcmp(argv[1], "abort")) {
		signal(SIGABRT, SIG_DFL);
		abort();
	}
	if (!strcmp(argv[1], "exec")) {
		execl("/bin/true", "true", (char *)NULL);
		_exit(3);
	}
	fprintf(stderr, "unknown way %s\n", argv[1]);
	_exit(64);
}
