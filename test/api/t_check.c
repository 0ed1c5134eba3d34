/* t_check — GOALLOC_CHECK=1: a workload of threads that come and go, hand blocks to each other,
 * fork, grow blocks with realloc and allocate every size class, large blocks and aligned ones
 * passes every verification (spans as they change hands, each thread's cache as it exits, the
 * whole heap at exit) and is reported as checked; a write into a freed block's free-list link
 * is caught when its thread's cache is verified at exit. The test runs itself again with the
 * option set, stderr captured. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "api_util.h"
#include "death.h"
#include "tap.h"

#define NTHREADS 4
#define WAVES 3
#define SLOTS 256

static void *_Atomic mailbox[NTHREADS][64]; /* blocks handed to thread i, which frees them */

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static size_t pick_size(uint64_t *s)
{
	uint64_t r = rnd(s) % 1000;
	if (r < 700)
		return 1 + rnd(s) % 512;
	if (r < 950)
		return 513 + rnd(s) % 32768;
	if (r < 995)
		return 32769 + rnd(s) % (256 << 10);
	return (1 << 20) + rnd(s) % (1 << 20);
}

static void *worker(void *arg)
{
	unsigned me = (unsigned)(uintptr_t)arg;
	uint64_t s = 0x9e3779b97f4a7c15ull * (me + 1);
	void *slot[SLOTS] = {0};
	for (int op = 0; op < 20000; op++) {
		unsigned k = (unsigned)(rnd(&s) % SLOTS);
		if (slot[k]) {
			unsigned to = (unsigned)(rnd(&s) % NTHREADS);
			void *old = atomic_exchange(&mailbox[to][k % 64], slot[k]); /* another thread frees it */
			free(old);
		}
		size_t n = pick_size(&s);
		switch (rnd(&s) % 8) {
		case 0:
			slot[k] = calloc(1, n);
			break;
		case 1:
			if (posix_memalign(&slot[k], (size_t)16 << (rnd(&s) % 9), n))
				slot[k] = NULL;
			break;
		default:
			slot[k] = malloc(n);
		}
		dirty(slot[k], 0x5a, n < 64 ? n : 64);
		for (unsigned j = 0; j < 64; j++) /* our mailbox */
			if ((op + j) % 97 == 0)
				free(atomic_exchange(&mailbox[me][j], NULL));
	}
	for (unsigned k = 0; k < SLOTS; k++)
		free(slot[k]);
	return NULL;
}

static int workload(void)
{
	for (int wave = 0; wave < WAVES; wave++) {
		pthread_t t[NTHREADS];
		for (unsigned i = 0; i < NTHREADS; i++)
			if (pthread_create(&t[i], NULL, worker, (void *)(uintptr_t)i))
				return 1;
		if (wave == 1) { /* fork beside the running threads: the child checks its heap at exit */
			pid_t pid = fork();
			if (pid == 0) {
				void *p = malloc(100), *q = malloc(70000);
				free(p);
				free(q);
				exit(0);
			}
			int st;
			if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st))
				return 1;
		}
		for (unsigned i = 0; i < NTHREADS; i++)
			pthread_join(t[i], NULL);
	}
	char *r = NULL;
	for (size_t n = 16; n < (4u << 20); n += n / 8 + 1) { /* a realloc chain through every range */
		r = realloc(r, n);
		if (!r)
			return 1;
		r[n - 1] = 1;
	}
	free(r);
	for (unsigned i = 0; i < NTHREADS; i++)
		for (unsigned j = 0; j < 64; j++)
			free(atomic_exchange(&mailbox[i][j], NULL));
	void *kept = malloc(1000); /* left live at exit */
	escape(kept);
	return 0;
}

static void *freed_then_written(void *arg)
{
	(void)arg;
	void *p = malloc(200), *q = malloc(200);
	void *volatile *q_link = launder(q);
	escape(p);
	free(p);
	free(q);
	/* q heads this thread's list and links to p: overwrite the link, as a use after free would. */
	*q_link = (void *)0x1234;
	return NULL;
}

static int use_after_free(void)
{
	pthread_t t;
	if (pthread_create(&t, NULL, freed_then_written, NULL))
		return 1;
	pthread_join(t, NULL); /* (the check ends the program at the thread's exit) */
	return 0;
}

/* Run this program again in mode `mode` with GOALLOC_CHECK=1 GOALLOC_STATS=1; its stderr in msg. */
static char **check_argv;
static const char *check_mode;

static void exec_checked(void)
{
	setenv("T_CHECK_MODE", check_mode, 1);
	setenv("GOALLOC_CHECK", "1", 1);
	setenv("GOALLOC_STATS", "1", 1);
	execv("/proc/self/exe", check_argv);
	_exit(127);
}

static int run_checked(char **argv, const char *mode, char *msg, size_t size)
{
	check_argv = argv;
	check_mode = mode;
	return die_with(exec_checked, msg, size);
}

static int count(const char *hay, const char *needle)
{
	int n = 0;
	for (const char *p = hay; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

int main(int argc, char **argv)
{
	(void)argc;
	const char *mode = getenv("T_CHECK_MODE");
	if (mode) {
		alarm(300); /* watchdog */
		return strcmp(mode, "workload") == 0 ? workload() : use_after_free();
	}
	if (!under_goalloc())
		skip_all("not running under goalloc");
	if (under_valgrind())
		skip_all("runs itself again, outside valgrind");
	static char msg[1 << 16];
	plan(4);
	int st = run_checked(argv, "workload", msg, sizeof msg);
	ok(exited_clean(st) && !strstr(msg, "heap check failed"),
	   "a threaded workload with fork and realloc passes GOALLOC_CHECK=1 (status 0x%x)", st);
	ok(count(msg, "goalloc: heap check passed") == 2, "the heap is reported checked at exit, in the forked child too");
	if (!strstr(msg, "heap check passed"))
		diag("stderr: %.2000s", msg);
	st = run_checked(argv, "uaf", msg, sizeof msg);
	ok(died_of_abort(st), "a freed block's link overwritten: the program is stopped");
	/* (links are stored mangled, so the 0x1234 written decodes to another value: core/track.h) */
	ok(strstr(msg, "goalloc: heap check failed: mcache") && strstr(msg, ") is not a slot of a span of class"),
	   "when its thread's cache is verified at exit: %.300s", msg);
	return done_testing();
}
