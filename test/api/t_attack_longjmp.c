/* t_attack_longjmp — a SIGALRM handler, fired every 200 us, that leaves by siglongjmp while the
 * main thread allocates and frees without pause. Such a handler often interrupts goalloc's own
 * code, around which the signal trampoline raises the thread's busy flag; the handler never
 * returns to lower it. Afterwards every allocation must still be served from the heap: before
 * goalloc told a handler that left from one still running, 4,885 of 5,000 malloc(32) returned
 * NULL (jemalloc and mimalloc serve them all). The loop stays on the fast paths (the lists filled
 * first, then one free and one malloc per class in turn): a handler that left a slow path by
 * longjmp ends the program by design (a lock may be held), which this test does not exercise.
 * Run twice: the handler on the thread's stack, and
 * on an alternate signal stack (sigaltstack, SA_ONSTACK).
 * No timing assertion: the loops are bounded by counts; a watchdog (CLOCK_MONOTONIC timer,
 * SIGUSR1) turns a hang into a failure.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "tap.h"
#include "api_util.h"

#define WATCHDOG_SECONDS 120

static sigjmp_buf env;
static volatile sig_atomic_t armed, jumps;

static void on_alarm(int sig)
{
	(void)sig;
	if (armed) {
		armed = 0;
		jumps++;
		siglongjmp(env, 1);
	}
}

static void on_watchdog(int sig)
{
	(void)sig;
	static const char msg[] = "Bail out! watchdog: t_attack_longjmp hung\n";
	(void)!write(1, msg, sizeof msg - 1);
	_exit(1);
}

static void start_watchdog(void)
{
	struct sigevent ev;
	timer_t t;
	struct itimerspec its = {{0, 0}, {WATCHDOG_SECONDS, 0}};
	signal(SIGUSR1, on_watchdog);
	memset(&ev, 0, sizeof ev);
	ev.sigev_notify = SIGEV_SIGNAL;
	ev.sigev_signo = SIGUSR1;
	if (timer_create(CLOCK_MONOTONIC, &ev, &t) == 0)
		timer_settime(t, 0, &its, NULL);
}

static void set_timer(long usec)
{
	struct itimerval it = {{0, usec}, {0, usec}};
	setitimer(ITIMER_REAL, &it, NULL);
}

/* Allocate and free until the handler has jumped out `want` times (or an iteration bound). */
static void churn(int want)
{
	static void *volatile keep[64];
	static volatile unsigned long iters;
	const unsigned long limit = under_valgrind() ? 200000 : 20000000;
	iters = 0;
	jumps = 0;
	/* Fill the thread's lists before the first signal, below their bounds (512 blocks), so that
	 * the loop never refills nor trims one: a jump that lands between a malloc and the store of
	 * its result, or between `keep[k] = NULL` and the free, leaks a block (at most one a jump, split
	 * over three classes). */
	static void *fill[3][480];
	for (unsigned c = 0; c < 3; c++) {
		for (unsigned j = 0; j < 480; j++)
			fill[c][j] = launder(malloc((size_t[]){8, 32, 100}[c]));
		for (unsigned j = 0; j < 480; j++)
			free(fill[c][j]);
	}
	for (unsigned k = 0; k < 64; k++)
		keep[k] = launder(malloc((size_t[]){8, 100}[k % 2]));
	set_timer(200);
	while (jumps < want && iters < limit) {
		if (sigsetjmp(env, 1) == 0) {
			armed = 1;
			while (iters < limit) {
				unsigned long i = iters++;
				size_t n = (size_t[]){8, 100}[i % 2];
				unsigned k = (unsigned)(i % 64);
				void *old = keep[k];
				keep[k] = NULL; /* (a jump may land anywhere: never free a block twice) */
				free(old);
				keep[k] = launder(malloc(n));
				free(launder(malloc(32)));
			}
			armed = 0;
		}
	}
	armed = 0;
	set_timer(0);
	for (unsigned k = 0; k < 64; k++) {
		free(keep[k]);
		keep[k] = NULL;
	}
}

/* The 5,000 allocations that follow: each served, each block distinct and writable. */
static int served_after(const char *how)
{
	enum { N = 5000 };
	static unsigned char *blocks[N];
	int nulls = 0, bad = 0;
	for (int i = 0; i < N; i++) {
		blocks[i] = launder(malloc(32));
		if (!blocks[i])
			nulls++;
		else
			memset(blocks[i], i & 0xff, 32);
	}
	for (int i = 0; i < N; i++)
		if (blocks[i] && (blocks[i][0] != (i & 0xff) || blocks[i][31] != (i & 0xff)))
			bad++;
	for (int i = 0; i < N; i++)
		free(blocks[i]);
	diag("%s: %d jumps out of the handler; %d of %d malloc(32) NULL, %d overwritten", how, (int)jumps,
	     nulls, N, bad);
	return nulls == 0 && bad == 0;
}

int main(void)
{
	struct sigaction sa;
	int want = under_valgrind() ? 50 : 600;

	plan(2);
	start_watchdog();

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_alarm;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	churn(want);
	ok(served_after("handler on the thread's stack"),
	   "a handler that siglongjmps out of goalloc: every later malloc(32) is served");

	stack_t ss;
	ss.ss_size = 1 << 16;
	ss.ss_sp = malloc(ss.ss_size);
	ss.ss_flags = 0;
	if (!ss.ss_sp || sigaltstack(&ss, NULL) != 0) {
		diag("sigaltstack: %s", strerror(errno));
		ok(0, "alternate signal stack set up");
		return done_testing();
	}
	sa.sa_flags = SA_ONSTACK;
	sigaction(SIGALRM, &sa, NULL);
	churn(want);
	ok(served_after("handler on an alternate stack"),
	   "the same with the handler on an alternate signal stack: every later malloc(32) is served");
	return done_testing();
}
