/* t_sigaction — goalloc installs every signal handler behind its trampoline (preload/signal.c);
 * the program must not be able to tell. Each check holds under glibc alone as well: what a
 * handler receives, what a query returns, SA_RESETHAND, SA_SIGINFO, masks, and the older
 * interfaces (signal, sysv_signal, sigset, siginterrupt). Last, a handler installed with
 * signal() allocates while the main loop allocates, as t_signal does with sigaction().
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "tap.h"
#include "api_util.h"

/* sigset() is obsolescent, which is why goalloc must still handle it. */
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

static volatile sig_atomic_t runs, got_signo, got_value, got_uc, self_blocked, other_blocked;

static void plain(int sig)
{
	sigset_t cur;
	sigprocmask(SIG_BLOCK, NULL, &cur);
	self_blocked = sigismember(&cur, sig);
	other_blocked = sigismember(&cur, SIGUSR2);
	got_signo = sig;
	runs++;
}

static void plain2(int sig)
{
	(void)sig;
	runs += 100;
}

static void with_info(int sig, siginfo_t *si, void *uc)
{
	got_signo = si->si_signo == sig ? sig : -1;
	got_value = si->si_value.sival_int;
	got_uc = uc != NULL;
	runs++;
}

static int is_blocked(int sig)
{
	sigset_t cur;
	sigprocmask(SIG_BLOCK, NULL, &cur);
	return sigismember(&cur, sig);
}

/* ---- a signal()-installed handler that allocates, fired by a 100 us timer ---- */
static volatile sig_atomic_t alloc_runs, alloc_errors;
static unsigned char *volatile hkeep[4];

static void allocating(int sig)
{
	static const size_t sz[] = {16, 40, 200, 3000, 70000};
	int saved = errno, k = alloc_runs & 3;
	size_t n = sz[alloc_runs % 5];
	unsigned char *p = launder(malloc(n));
	(void)sig;
	if (hkeep[k] && (hkeep[k][0] != (unsigned char)(k + 1)))
		alloc_errors++;
	free(hkeep[k]);
	if (p) {
		memset(p, k + 1, n);
		hkeep[k] = p;
	} else {
		hkeep[k] = NULL;
		alloc_errors++;
	}
	alloc_runs++;
	errno = saved;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(void)
{
	struct sigaction sa, q;

	plan(24);

	/* 1. A plain handler: what it gets, what queries say. */
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = plain;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, SIGUSR2);
	ok(sigaction(SIGUSR1, &sa, NULL) == 0, "sigaction installs a plain handler");
	ok(sigaction(SIGUSR1, NULL, &q) == 0 && q.sa_handler == plain && !(q.sa_flags & SA_SIGINFO) &&
		   (q.sa_flags & SA_RESTART) && sigismember(&q.sa_mask, SIGUSR2),
	   "a query returns the program's handler, its flags (no SA_SIGINFO added) and its mask");
	runs = 0;
	raise(SIGUSR1);
	ok(runs == 1 && got_signo == SIGUSR1 && self_blocked && other_blocked,
	   "the handler ran once with its signal and sa_mask blocked (runs %d, self %d, other %d)",
	   (int)runs, (int)self_blocked, (int)other_blocked);
	sa.sa_handler = plain2;
	ok(sigaction(SIGUSR1, &sa, &q) == 0 && q.sa_handler == plain,
	   "installing another handler returns the previous one in oact");
	runs = 0;
	raise(SIGUSR1);
	ok(runs == 100, "the new handler is the one that runs");

	/* 2. SA_SIGINFO: siginfo and ucontext reach the handler. */
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = with_info;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	ok(sigaction(SIGUSR2, &sa, NULL) == 0 && sigaction(SIGUSR2, NULL, &q) == 0 &&
		   q.sa_sigaction == with_info && (q.sa_flags & SA_SIGINFO),
	   "an SA_SIGINFO handler is reported as such");
	runs = 0;
	int queued = sigqueue(getpid(), SIGUSR2, (union sigval){.sival_int = 4242});
	for (int i = 0; i < 2000 && runs == 0; i++) /* (valgrind delivers it at its next syscall) */
		usleep(1000);
	ok(queued == 0 && runs == 1 && got_signo == SIGUSR2 && got_value == 4242 && got_uc,
	   "it receives si_signo, the sigqueue value and a ucontext (value %d)", (int)got_value);

	/* 3. SIG_IGN and SIG_DFL pass through. */
	sa.sa_handler = SIG_IGN;
	sa.sa_flags = 0;
	ok(sigaction(SIGUSR2, &sa, &q) == 0 && q.sa_sigaction == with_info,
	   "setting SIG_IGN returns the handler it replaces");
	runs = 0;
	raise(SIGUSR2);
	ok(sigaction(SIGUSR2, NULL, &q) == 0 && q.sa_handler == SIG_IGN && runs == 0,
	   "SIG_IGN is reported and ignores the signal");
	sa.sa_handler = SIG_DFL;
	ok(sigaction(SIGUSR2, &sa, NULL) == 0 && sigaction(SIGUSR2, NULL, &q) == 0 && q.sa_handler == SIG_DFL,
	   "SIG_DFL is reported");

	/* 4. SA_RESETHAND: once, then the default. */
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = plain;
	sa.sa_flags = SA_RESETHAND;
	sigaction(SIGUSR1, &sa, NULL);
	runs = 0;
	raise(SIGUSR1);
	ok(runs == 1 && sigaction(SIGUSR1, NULL, &q) == 0 && q.sa_handler == SIG_DFL,
	   "an SA_RESETHAND handler runs once and leaves SIG_DFL");

	/* 5. Errors come from libc unchanged. */
	sa.sa_handler = plain;
	sa.sa_flags = 0;
	errno = 0;
	ok(sigaction(SIGKILL, &sa, NULL) == -1 && errno == EINVAL, "a handler for SIGKILL: EINVAL");
	errno = 0;
	ok(sigaction(0, &sa, NULL) == -1 && errno == EINVAL && sigaction(_NSIG, NULL, &q) == -1,
	   "signal 0 and _NSIG: EINVAL");
	ok(sigaction(SIGKILL, NULL, &q) == 0 && q.sa_handler == SIG_DFL, "SIGKILL still reports SIG_DFL");

	/* 6. signal(): BSD semantics. */
	signal(SIGUSR1, SIG_DFL);
	ok(signal(SIGUSR1, plain) == SIG_DFL && signal(SIGUSR1, plain) == plain,
	   "signal() returns the previous handler");
	ok(sigaction(SIGUSR1, NULL, &q) == 0 && q.sa_handler == plain && (q.sa_flags & SA_RESTART) &&
		   !(q.sa_flags & (SA_SIGINFO | SA_RESETHAND)),
	   "signal() sets SA_RESTART and nothing else the program can see");
	runs = 0;
	raise(SIGUSR1);
	raise(SIGUSR1);
	ok(runs == 2 && self_blocked, "a signal() handler stays installed and blocks its signal");
	ok(siginterrupt(SIGUSR1, 1) == 0 && sigaction(SIGUSR1, NULL, &q) == 0 && q.sa_handler == plain &&
		   !(q.sa_flags & SA_RESTART),
	   "siginterrupt(sig, 1) clears SA_RESTART");
	signal(SIGUSR1, plain);
	ok(sigaction(SIGUSR1, NULL, &q) == 0 && !(q.sa_flags & SA_RESTART),
	   "and signal() then leaves it cleared");
	siginterrupt(SIGUSR1, 0);

	/* 7. sysv_signal: one-shot, not blocked in its handler. */
	sysv_signal(SIGUSR1, plain);
	runs = 0;
	raise(SIGUSR1);
	ok(runs == 1 && !self_blocked && signal(SIGUSR1, SIG_DFL) == SIG_DFL,
	   "sysv_signal(): one shot, signal not blocked in the handler");

	/* 8. sigset: SIG_HOLD blocks; installing unblocks and says it was held. */
	ok(sigset(SIGUSR1, SIG_HOLD) == SIG_DFL && is_blocked(SIGUSR1), "sigset(SIG_HOLD) blocks the signal");
	ok(sigset(SIGUSR1, plain) == SIG_HOLD && !is_blocked(SIGUSR1) && sigaction(SIGUSR1, NULL, &q) == 0 &&
		   q.sa_handler == plain,
	   "sigset(handler) installs it, unblocks, and returns SIG_HOLD");

	/* 9. A signal()-installed handler allocating against an allocating main loop. */
	if (!under_goalloc()) {
		ok(1, "# skip allocating handler: glibc's malloc is not async-signal-safe");
		ok(1, "# skip");
	} else {
		struct itimerval it = {{0, 100}, {0, 100}};
		long bad = 0, loops = 0;
		double t0 = now(), secs = under_valgrind() ? 1.0 : 0.5;
		signal(SIGALRM, allocating);
		setitimer(ITIMER_REAL, &it, NULL);
		while (now() - t0 < secs) {
			for (int j = 0; j < 256; j++) {
				size_t n = (size_t)((loops * 31 + j * 7) % 600) + 2;
				unsigned char *p = launder(malloc(n));
				if (!p) {
					bad++;
					continue;
				}
				p[0] = (unsigned char)j;
				p[n - 1] = (unsigned char)~j;
				if (p[0] != (unsigned char)j || p[n - 1] != (unsigned char)~j)
					bad++;
				free(p);
			}
			loops++;
		}
		memset(&it, 0, sizeof it);
		setitimer(ITIMER_REAL, &it, NULL);
		signal(SIGALRM, SIG_IGN); /* (valgrind may still hold one pending) */
		for (int k = 0; k < 4; k++)
			free(hkeep[k]);
		ok(alloc_runs > (under_valgrind() ? 5 : 50), "the handler ran %d times", (int)alloc_runs);
		ok(bad == 0 && alloc_errors == 0, "no block changed on either side (main %ld, handler %d)", bad,
		   (int)alloc_errors);
	}
	return done_testing();
}
