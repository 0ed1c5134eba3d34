/* t_signal_threads — t_signal on two threads at once: each thread runs a malloc/realloc/free loop
 * and has its own timer (SIGEV_THREAD_ID, every ~100 us) whose SIGALRM handler allocates and
 * frees on that thread. The re-entry guard is per thread (each thread's busy flag, raised by the
 * signal trampoline for the thread the handler interrupted): neither thread's lists may be
 * corrupted, and the handlers must not deadlock. goalloc only, as t_signal.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "tap.h"
#include "api_util.h"

#define NTHREADS 2

static long handler_runs, handler_errors; /* (atomics) */
static __thread unsigned char *hkeep[4];
static __thread unsigned hruns;

static void on_alarm(int sig)
{
	static const size_t sz[] = {8, 48, 300, 2000, 9000, 50000};
	int saved = errno, k = hruns & 3;
	size_t n = sz[hruns % 6];
	unsigned char *p = launder(malloc(n));
	(void)sig;
	if (hkeep[k] && hkeep[k][0] != (unsigned char)(k + 1))
		__atomic_fetch_add(&handler_errors, 1, __ATOMIC_RELAXED);
	free(hkeep[k]);
	hkeep[k] = p;
	if (p)
		memset(p, k + 1, n);
	else
		__atomic_fetch_add(&handler_errors, 1, __ATOMIC_RELAXED);
	hruns++;
	__atomic_fetch_add(&handler_runs, 1, __ATOMIC_RELAXED);
	errno = saved;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* A deadlock ends the test after 60 s (a thread of its own: SIGALRM is the handlers'). */
static void *watchdog(void *arg)
{
	static const char msg[] = "Bail out! deadlock: no progress for 60 s\n";
	(void)arg;
	sleep(60);
	if (write(1, msg, sizeof msg - 1) < 0)
		_exit(2);
	_exit(1);
}

struct result {
	long loops, bad;
	int timer_ok;
};

static void *loop(void *arg)
{
	struct result *r = arg;
	struct sigevent sev;
	timer_t t;
	memset(&sev, 0, sizeof sev);
	sev.sigev_notify = SIGEV_THREAD_ID;
	sev.sigev_signo = SIGALRM;
	sev._sigev_un._tid = (pid_t)syscall(SYS_gettid);
	if (timer_create(CLOCK_MONOTONIC, &sev, &t) != 0)
		return NULL;
	struct itimerspec its = {{0, 100000}, {0, 100000}};
	timer_settime(t, 0, &its, NULL);
	r->timer_ok = 1;
	double t0 = now(), secs = under_valgrind() ? 2.0 : 1.5;
	while (now() - t0 < secs) {
		for (int j = 0; j < 256; j++) {
			size_t n = (size_t)((r->loops * 37 + j * 101) % 3000) + 2;
			if (j == 255)
				n = 40000 + (size_t)(r->loops % 50000);
			unsigned char *p = launder(malloc(n));
			if (!p) {
				r->bad++;
				continue;
			}
			p[0] = (unsigned char)j;
			p[n - 1] = (unsigned char)(j + 1);
			p = realloc_opaque(p, n + 24);
			if (!p || p[0] != (unsigned char)j || p[n - 1] != (unsigned char)(j + 1))
				r->bad++;
			free(p);
		}
		r->loops++;
	}
	timer_delete(t);
	for (int k = 0; k < 4; k++) {
		free(hkeep[k]);
		hkeep[k] = NULL;
	}
	return NULL;
}

int main(void)
{
	struct sigaction sa;
	pthread_t th[NTHREADS];
	struct result res[NTHREADS];

	if (!under_goalloc())
		skip_all("not under goalloc (glibc's malloc is not async-signal-safe)");
	plan(3);
	pthread_t wd;
	if (pthread_create(&wd, NULL, watchdog, NULL) == 0)
		pthread_detach(wd);
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_alarm;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGALRM, &sa, NULL);
	memset(res, 0, sizeof res);
	for (int i = 0; i < NTHREADS; i++)
		if (pthread_create(&th[i], NULL, loop, &res[i]) != 0) {
			printf("Bail out! pthread_create failed\n");
			return 1;
		}
	for (int i = 0; i < NTHREADS; i++)
		pthread_join(th[i], NULL);
	sa.sa_handler = SIG_IGN; /* (a late timer signal, under valgrind) */
	sigaction(SIGALRM, &sa, NULL);

	long loops = 0, bad = 0;
	int timers = 0;
	for (int i = 0; i < NTHREADS; i++) {
		loops += res[i].loops;
		bad += res[i].bad;
		timers += res[i].timer_ok;
	}
	ok(timers == NTHREADS && handler_runs > (under_valgrind() ? 10 : 200),
	   "each thread's timer fired its handler: %ld runs during %ld x 256 rounds", handler_runs, loops);
	ok(bad == 0 && handler_errors == 0, "no block changed on any thread (main loops %ld, handlers %ld)",
	   bad, handler_errors);
	ok(loops > 0, "both threads ran to the end");
	return done_testing();
}
