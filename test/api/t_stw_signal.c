/* t_stw_signal — the program's own handler for the collector's stop signal, through the preload.
 * In the GC modes goalloc's stop handler owns SIGURG in the kernel (core/stw.c); sigaction() and
 * signal() record the program's action instead (preload/signal.c), queries return it, and every
 * SIGURG that is not a stop request reaches it as the kernel would have delivered it: its
 * siginfo, its mask, SIG_IGN and SIG_DFL, and malloc inside it while the main loop allocates.
 * With GOALLOC_GC_SIGNAL=12 and the program's SIG_DFL, a SIGUSR2 ends the process as it would
 * without goalloc.
 *
 * The stop handler goes in at start-up in the GC modes only, so the checks run in a copy of this
 * program started with GOALLOC_GC=report. Not under valgrind (the GC modes are not for it). */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <stdio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tap.h"
#include "api_util.h"

static volatile sig_atomic_t runs, got_code, got_pid, mask_ok, alloc_bad;

/* The kernel's handler for sig (what rt_sigaction says, past libc and goalloc). */
static void *kernel_handler(int sig)
{
	struct {
		void *handler;
		unsigned long flags;
		void *restorer;
		uint64_t mask;
	} k;
	if (syscall(SYS_rt_sigaction, sig, NULL, &k, sizeof k.mask) != 0)
		return (void *)-1;
	return k.handler;
}

static void with_info(int sig, siginfo_t *si, void *uc)
{
	sigset_t cur;
	(void)uc;
	sigprocmask(SIG_BLOCK, NULL, &cur);
	mask_ok = sigismember(&cur, SIGUSR1) && sigismember(&cur, sig) && !sigismember(&cur, SIGUSR2);
	got_code = si->si_code;
	got_pid = si->si_pid;
	runs++;
}

static void plain(int sig)
{
	(void)sig;
	runs += 100;
}

static unsigned char *volatile hkeep[4];

/* Allocates and frees, as t_signal's handler does, while the main loop allocates. */
static void allocating(int sig)
{
	static const size_t sz[] = {16, 100, 1000, 40000};
	int saved = errno, k = runs & 3;
	(void)sig;
	free(hkeep[k]);
	unsigned char *p = launder(malloc(sz[runs % 4]));
	if (!p)
		alloc_bad++;
	else
		memset(p, 0x5a, sz[runs % 4]);
	hkeep[k] = p;
	runs++;
	errno = saved;
}

static int child_main(void)
{
	struct sigaction a, o;
	const char *dfl = getenv("GOALLOC_TEST_DFL_STATUS");
	int st = dfl ? atoi(dfl) : 0;
	ok(WIFSIGNALED(st) && WTERMSIG(st) == SIGUSR2,
	   "GOALLOC_GC_SIGNAL=12: with the program's SIG_DFL, raise(SIGUSR2) ends the process (status %#x)", st);
	void *ours = kernel_handler(SIGURG);
	ok(ours != SIG_DFL && ours != SIG_IGN && ours != (void *)-1, "GOALLOC_GC=report: goalloc's handler has SIGURG");
	ok(sigaction(SIGURG, NULL, &o) == 0 && o.sa_handler == SIG_DFL, "the program sees SIG_DFL for it");

	memset(&a, 0, sizeof a);
	a.sa_sigaction = with_info;
	a.sa_flags = SA_SIGINFO;
	sigemptyset(&a.sa_mask);
	sigaddset(&a.sa_mask, SIGUSR1);
	ok(sigaction(SIGURG, &a, &o) == 0 && o.sa_handler == SIG_DFL, "sigaction installs the program's handler");
	ok(kernel_handler(SIGURG) == ours, "the kernel's handler is still goalloc's");
	ok(sigaction(SIGURG, NULL, &o) == 0 && o.sa_sigaction == with_info && (o.sa_flags & SA_SIGINFO) &&
		   sigismember(&o.sa_mask, SIGUSR1),
	   "a query returns the program's handler, flags and mask");
	raise(SIGURG);
	ok(runs == 1 && got_code == SI_TKILL && mask_ok, "raise(SIGURG) runs it once, with its mask (runs %d, si_code %d)",
	   (int)runs, (int)got_code);

	pid_t pid = fork();
	if (pid == 0) {
		kill(getppid(), SIGURG);
		_exit(0);
	}
	waitpid(pid, NULL, 0);
	for (int i = 0; i < 5000 && runs < 2; i++)
		usleep(1000);
	ok(runs == 2 && got_code == SI_USER && got_pid == pid, "a SIGURG from another process reaches it (si_pid %d)",
	   (int)got_pid);

	ok((void *)signal(SIGURG, SIG_IGN) == (void *)with_info, "signal(SIG_IGN) returns the program's handler");
	raise(SIGURG);
	ok(runs == 2, "SIG_IGN: it does not run");
	ok(signal(SIGURG, plain) == SIG_IGN, "signal() installs a one-argument handler");
	raise(SIGURG);
	ok(runs == 102 && sigaction(SIGURG, NULL, &o) == 0 && o.sa_handler == plain && !(o.sa_flags & SA_SIGINFO),
	   "it runs, and a query returns it without SA_SIGINFO");
	ok(signal(SIGURG, SIG_DFL) == plain && (raise(SIGURG), runs == 102), "SIG_DFL: SIGURG is ignored again");

	/* A SIGURG every 100 us whose handler allocates, while this loop allocates. */
	runs = 0;
	signal(SIGURG, allocating);
	struct sigevent ev = {.sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGURG};
	timer_t t;
	struct itimerspec its = {{0, 100000}, {0, 100000}};
	int bad = 0;
	if (timer_create(CLOCK_MONOTONIC, &ev, &t) != 0) {
		ok(0, "timer_create: %s", strerror(errno));
	} else {
		timer_settime(t, 0, &its, NULL);
		struct timespec t0, now;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		do {
			for (int i = 0; i < 1000; i++) {
				unsigned char *p = launder(malloc(24 + (size_t)(i % 7) * 40));
				if (!p) {
					bad++;
					continue;
				}
				p[0] = 1;
				free(p);
			}
			clock_gettime(CLOCK_MONOTONIC, &now);
		} while ((now.tv_sec - t0.tv_sec) * 1000 + (now.tv_nsec - t0.tv_nsec) / 1000000 < 1000);
		timer_delete(t);
		signal(SIGURG, SIG_DFL);
		ok(runs > 100 && !alloc_bad && !bad, "a handler that allocates runs %d times beside an allocating loop",
		   (int)runs);
	}
	for (int k = 0; k < 4; k++)
		free(hkeep[k]);
	return done_testing();
}

/* GOALLOC_GC_SIGNAL=12: the program's SIG_DFL for SIGUSR2 ends the process by SIGUSR2. */
static int dfl_main(void)
{
	signal(SIGUSR2, SIG_DFL);
	raise(SIGUSR2);
	return 3;
}

static void run_copy(char **argv, const char *mode, const char *env2)
{
	setenv("GOALLOC_GC", "report", 1);
	if (env2)
		putenv((char *)env2);
	char *args[] = {argv[0], (char *)mode, NULL};
	execv("/proc/self/exe", args);
	_exit(100);
}

int main(int argc, char **argv)
{
	if (under_valgrind())
		skip_all("the GC modes do not run under valgrind");
	if (!under_goalloc())
		skip_all("goalloc is not preloaded");
	if (argc == 2 && !strcmp(argv[1], "--child"))
		return child_main();
	if (argc == 2 && !strcmp(argv[1], "--dfl"))
		return dfl_main();

	pid_t pid = fork();
	if (pid == 0)
		run_copy(argv, "--dfl", "GOALLOC_GC_SIGNAL=12");
	int st;
	waitpid(pid, &st, 0);
	static char status[64];
	snprintf(status, sizeof status, "GOALLOC_TEST_DFL_STATUS=%d", st);
	run_copy(argv, "--child", status); /* (its TAP is this test's) */
	return 1;
}
