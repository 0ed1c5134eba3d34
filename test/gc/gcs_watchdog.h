/* gcs_watchdog.h — a watchdog for the safe-point test programs (header only): if the program is
 * still running after the given number of seconds, it prints "Bail out! watchdog: NAME hung"
 * (the program's name) and exits with status 1, so that a hang is a failure with a reason rather
 * than a run the script's timeout kills. It uses a POSIX timer that sends SIGUSR1. */
#ifndef GOALLOC_TEST_GCS_WATCHDOG_H
#define GOALLOC_TEST_GCS_WATCHDOG_H
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void gcs_on_watchdog(int sig)
{
	static const char pre[] = "Bail out! watchdog: ", post[] = " hung\n";
	(void)sig;
	(void)!write(1, pre, sizeof pre - 1);
	(void)!write(1, program_invocation_short_name, strlen(program_invocation_short_name));
	(void)!write(1, post, sizeof post - 1);
	_exit(1);
}

static inline void gcs_start_watchdog(unsigned seconds)
{
	struct sigevent ev;
	timer_t t;
	struct itimerspec its = {{0, 0}, {(time_t)seconds, 0}};
	signal(SIGUSR1, gcs_on_watchdog);
	memset(&ev, 0, sizeof ev);
	ev.sigev_notify = SIGEV_SIGNAL;
	ev.sigev_signo = SIGUSR1;
	if (timer_create(CLOCK_MONOTONIC, &ev, &t) == 0)
		timer_settime(t, 0, &its, NULL);
}
#endif
