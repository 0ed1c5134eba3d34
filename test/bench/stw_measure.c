/* stw_measure.c — what stopping the world costs and what the stopped threads' blocking calls see,
 * per mechanism (core/stw.c, linked in). Not part of `make test`: `make stw-measure`.
 *
 * Latency: 1, 4 and 16 threads, idle (blocked in read on a pipe) or busy (spinning), stopped
 * 11 times each way (a few ms apart, so that each stop starts from threads that run); the
 * median of w.stop_ns, and the range. Under auto the threads block every signal, so that auto
 * takes its ptrace path (status read, then the tracer); with threads that take the signal, auto
 * is the signal.
 *
 * EINTR: a thread sits in poll, nanosleep, epoll_wait, select (300 ms timeouts) or read on a pipe
 * (written at 300 ms); 50 ms in, it is stopped for 20 ms. What the call returned, and when. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <time.h>
#include <unistd.h>

#include "stw.h"

enum { MODE_SIGNAL, MODE_PTRACE, MODE_AUTO };
static const char *const mode_name[] = {"signal", "ptrace", "auto (all blocked)"};

static double ms_since(const struct timespec *t0)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) * 1e3 + (double)(t.tv_nsec - t0->tv_nsec) / 1e6;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* ---- latency ----------------------------------------------------------------------------------- */

static volatile int quit;
static _Atomic int started;
static int idle_pipe[2];
static int block_all;

static void *thread_main(void *arg)
{
	int busy = (int)(intptr_t)arg;
	char c;
	if (block_all) {
		sigset_t all;
		sigfillset(&all);
		pthread_sigmask(SIG_BLOCK, &all, NULL);
	}
	atomic_fetch_add(&started, 1);
	if (busy) {
		volatile unsigned long n = 0;
		while (!quit)
			n++;
	} else {
		while (!quit && read(idle_pipe[0], &c, 1) != 0)
			;
	}
	return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static void latency(int mode, int n, int busy)
{
	pthread_t t[16];
	uint64_t ns[11];
	int got = 0;
	char why[160] = "";
	quit = 0;
	atomic_store(&started, 0);
	block_all = mode == MODE_AUTO;
	if (pipe(idle_pipe) != 0)
		abort();
	for (int i = 0; i < n; i++)
		pthread_create(&t[i], NULL, thread_main, (void *)(intptr_t)busy);
	while (atomic_load(&started) < n)
		sleep_ms(1);
	sleep_ms(20);
	stw_set_for_test(mode, 10000);
	for (int i = 0; i < 11; i++) {
		struct stw_world w;
		if (stw_stop(&w, NULL, 0) != 0) {
			memcpy(why, w.why, sizeof why);
		} else {
			if (w.n == (unsigned)n)
				ns[got++] = w.stop_ns;
			stw_start(&w);
		}
		sleep_ms(5);
	}
	quit = 1;
	close(idle_pipe[1]);
	for (int i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	close(idle_pipe[0]);
	qsort(ns, (size_t)got, sizeof ns[0], cmp_u64);
	if (got)
		printf("| %-18s | %2d | %-4s | %8.3f | %7.3f – %7.3f |%s%s\n", mode_name[mode], n, busy ? "busy" : "idle",
		       (double)ns[got / 2] / 1e6, (double)ns[0] / 1e6, (double)ns[got - 1] / 1e6, got < 11 ? " failures: " : "",
		       got < 11 ? why : "");
	else
		printf("| %-18s | %2d | %-4s | failed: %s |\n", mode_name[mode], n, busy ? "busy" : "idle", why);
	fflush(stdout);
}

/* ---- EINTR ------------------------------------------------------------------------------------- */

enum { C_POLL, C_NANOSLEEP, C_EPOLL, C_SELECT, C_READ, NCALLS };
static const char *const call_name[] = {"poll", "nanosleep", "epoll_wait", "select", "read (pipe)"};

struct call {
	int which;
	int fds[2];
	_Atomic int tid, in_call;
	long ret;
	int err;
	double took;
};

static void *caller(void *arg)
{
	struct call *c = arg;
	struct timespec t0;
	char buf[1];
	c->tid = gettid();
	int ep = epoll_create1(0);
	struct epoll_event ev;
	atomic_store(&c->in_call, 1);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	switch (c->which) {
	case C_POLL:
		c->ret = poll(NULL, 0, 300);
		break;
	case C_NANOSLEEP: {
		struct timespec ts = {0, 300 * 1000000};
		c->ret = nanosleep(&ts, NULL);
		break;
	}
	case C_EPOLL:
		c->ret = epoll_wait(ep, &ev, 1, 300);
		break;
	case C_SELECT: {
		struct timeval tv = {0, 300000};
		c->ret = select(0, NULL, NULL, NULL, &tv);
		break;
	}
	case C_READ:
		c->ret = read(c->fds[0], buf, 1);
		break;
	}
	c->err = errno;
	c->took = ms_since(&t0);
	close(ep);
	return NULL;
}

static void eintr(int mode)
{
	printf("| %-10s |", mode_name[mode]);
	for (int k = 0; k < NCALLS; k++) {
		struct call c = {.which = k};
		pthread_t t;
		if (pipe(c.fds) != 0)
			abort();
		pthread_create(&t, NULL, caller, &c);
		while (!atomic_load(&c.in_call))
			sleep_ms(1);
		sleep_ms(50);
		stw_set_for_test(mode, 10000);
		struct stw_world w;
		int r = stw_stop(&w, NULL, 0);
		if (r == 0) {
			sleep_ms(20);
			stw_start(&w);
		}
		if (k == C_READ) {
			sleep_ms(230);
			if (write(c.fds[1], "x", 1) != 1)
				abort();
		}
		pthread_join(t, NULL);
		close(c.fds[0]);
		close(c.fds[1]);
		if (r != 0)
			printf(" stop failed: %s |", w.why);
		else if (c.ret < 0 && c.err == EINTR)
			printf(" EINTR at %.0f ms |", c.took);
		else
			printf(" %ld at %.0f ms |", c.ret, c.took);
	}
	printf("\n");
	fflush(stdout);
}

int main(void)
{
	stw_set_for_test(MODE_AUTO, 10000);
	if (stw_init() != 0)
		return 1;
	printf("Stop latency, median of 11 stops (range), ms\n\n");
	printf("| mechanism          |  n | load | median   | range             |\n");
	printf("|--------------------|----|------|----------|-------------------|\n");
	for (int mode = 0; mode < 3; mode++)
		for (int busy = 0; busy < 2; busy++)
			for (int n = 1; n <= 16; n *= 4)
				latency(mode, n, busy);
	printf("\nA thread in a blocking call, stopped for 20 ms 50 ms into it (timeouts 300 ms; the pipe is "
	       "written at 300 ms)\n\n");
	printf("| mechanism  |");
	for (int k = 0; k < NCALLS; k++)
		printf(" %s |", call_name[k]);
	printf("\n|------------|");
	for (int k = 0; k < NCALLS; k++)
		printf("---|");
	printf("\n");
	eintr(MODE_SIGNAL);
	eintr(MODE_PTRACE);
	return 0;
}
