/* t_signal — a SIGALRM handler that allocates and frees, fired every ~100 us by setitimer,
 * while the main thread runs a tight malloc/free loop for ~2 s. The handler regularly lands
 * inside the allocator; the allocator must neither deadlock nor corrupt either side's blocks.
 * A separate watchdog timer (CLOCK_MONOTONIC, SIGUSR1 — alarm() would share ITIMER_REAL)
 * reports a deadlock and exits if the test is stuck for 20 s.
 * goalloc only: glibc's malloc is not async-signal-safe and corrupts its heap here.
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

#define RUN_SECONDS 2.0
#define WATCHDOG_SECONDS 20

static volatile sig_atomic_t handler_runs, handler_errors, handler_nulls;

/* Blocks the handler keeps from one run to the next, so it also frees blocks it made earlier. */
static unsigned char *volatile hkeep[8];
static volatile size_t hkeep_size[8];

static void on_alarm(int sig)
{
	static const size_t sz[] = {8, 24, 100, 256, 1000, 4000, 20000, 40000, 200000};
	int saved = errno, k = handler_runs & 7, i;
	size_t n = sz[handler_runs % (sizeof sz / sizeof sz[0])];
	unsigned char *p, *q;
	(void)sig;

	p = launder(malloc(n));
	q = launder(calloc(1, 64));
	if (!p || !q) {
		handler_nulls++;
	} else {
		memset(p, 0x5c, n);
		for (i = 0; i < 64; i++)
			if (q[i])
				handler_errors++;
		q = launder(realloc(q, 300));
		if (q && q[63])
			handler_errors++;
	}
	free(q);
	if (hkeep[k]) {
		if (hkeep[k][0] != (unsigned char)k || hkeep[k][hkeep_size[k] - 1] != (unsigned char)k)
			handler_errors++;
		free(hkeep[k]);
	}
	if (p) {
		p[0] = (unsigned char)k;
		p[n - 1] = (unsigned char)k;
	}
	hkeep[k] = p;
	hkeep_size[k] = n;
	handler_runs++;
	errno = saved;
}

static int tap_next; /* the number the watchdog's "not ok" line will carry */

static void on_watchdog(int sig)
{
	static const char head[] = "not ok ";
	static const char tail[] = " - deadlock: the test made no progress for 20 s\n";
	char num[16];
	int n = tap_next, len = 0, i;
	(void)sig;
	do {
		num[len++] = (char)('0' + n % 10);
		n /= 10;
	} while (n && len < (int)sizeof num);
	if (write(1, head, sizeof head - 1) < 0)
		_exit(1);
	for (i = len - 1; i >= 0; i--)
		if (write(1, &num[i], 1) < 0)
			_exit(1);
	if (write(1, tail, sizeof tail - 1) < 0)
		_exit(1);
	_exit(1);
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(void)
{
	struct sigaction sa;
	struct sigevent sev;
	struct itimerspec wd;
	struct itimerval it;
	timer_t wdt;
	double t0;
	long loops = 0, bad = 0, nulls = 0;
	int k;

	if (!under_goalloc())
		skip_all("not under goalloc (glibc's malloc is not async-signal-safe; this checks goalloc's re-entry guard)");
	plan(3);
	tap_next = 1;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_watchdog;
	sigaction(SIGUSR1, &sa, NULL);
	memset(&sev, 0, sizeof sev);
	sev.sigev_notify = SIGEV_SIGNAL;
	sev.sigev_signo = SIGUSR1;
	if (timer_create(CLOCK_MONOTONIC, &sev, &wdt)) {
		printf("Bail out! timer_create: %s\n", strerror(errno));
		return 1;
	}
	memset(&wd, 0, sizeof wd);
	wd.it_value.tv_sec = WATCHDOG_SECONDS;
	timer_settime(wdt, 0, &wd, NULL);

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_alarm;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGALRM, &sa, NULL);
	memset(&it, 0, sizeof it);
	it.it_interval.tv_usec = 100;
	it.it_value.tv_usec = 100;
	setitimer(ITIMER_REAL, &it, NULL);

	t0 = now();
	while (now() - t0 < RUN_SECONDS) {
		int j;
		for (j = 0; j < 256; j++) {
			size_t n = (size_t)((loops * 37 + j * 101) % 5000) + 2; /* p[0] and p[n-1] distinct */
			unsigned char *p;
			if (j == 255)
				n = 50000 + (size_t)(loops % 100000); /* a large block now and then */
			p = launder(malloc(n));
			if (!p) {
				nulls++;
				continue;
			}
			p[0] = (unsigned char)j;
			p[n - 1] = (unsigned char)(j + 1);
			p = realloc_opaque(p, n + 16);
			if (!p) {
				nulls++;
				continue;
			}
			if (p[0] != (unsigned char)j || p[n - 1] != (unsigned char)(j + 1))
				bad++;
			free(p);
		}
		loops++;
	}
	memset(&it, 0, sizeof it);
	setitimer(ITIMER_REAL, &it, NULL);
	for (k = 0; k < 8; k++) {
		free(hkeep[k]);
		hkeep[k] = NULL;
	}

	/* valgrind delivers signals only at its own points: far fewer runs there. */
	ok(handler_runs > (under_valgrind() ? 10 : 100),
	   "SIGALRM handler ran %d times during %ld x 256 main-loop rounds", (int)handler_runs, loops);
	tap_next = 2;
	ok(handler_errors == 0 && bad == 0,
	   "no block changed under the handler or in it (main %ld, handler %d)", bad,
	   (int)handler_errors);
	tap_next = 3;
	ok(nulls == 0 && handler_nulls == 0, "no allocation failed (main %ld, handler %d)", nulls,
	   (int)handler_nulls);
	timer_delete(wdt);
	return done_testing();
}
