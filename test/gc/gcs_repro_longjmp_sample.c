/* gcs_repro_longjmp_sample — a signal handler that leaves malloc by siglongjmp. A SIGALRM handler
 * fired every 100 us jumps out of a malloc/free loop 2000 times (lists filled first, as
 * test/api/t_attack_longjmp does, whose contract this is); then goalloc_gc().
 *   cc -O1 test/gc/gcs_repro_longjmp_sample.c -o /tmp/lj_sample -ldl
 *   timeout -k 1 20 env LD_PRELOAD=build/libgoalloc.so GOALLOC_GC=report /tmp/lj_sample; echo $?
 * Expected: "2000 jumps; goalloc_gc() = 0" (-1 with GOALLOC_GC=off), status 0. Seen: with
 * GOALLOC_GC=off 2 runs of 8, report 3 of 4, collect 2 of 4 end with "goalloc: a signal handler left
 * goalloc by longjmp in the middle of an allocation or free (a lock may be held)" (status 134): each
 * jump leaks a block, the lists run dry, and the handler lands in a refill writing the free marks
 * of a fresh span (mcentral_cache_span), a slow path goalloc refuses to be left by longjmp, in every
 * mode. What was the collector's own: report mode's sampled stacks ran glibc's backtrace() with
 * signals deliverable, and a jump out of it left the dynamic loader's lock held, so that the next
 * report's dladdr waited for ever (t_gcs_safepoint's longjmp scenario hung 6 runs of 18 beside three
 * busy loops); gone since captures block the program's signals.
 * Not a test (nothing runs it): the reproducer that t_gcs_safepoint.sh's LONGJMP_BUG names. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

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

int main(void)
{
	int (*gc)(void) = (int (*)(void))dlsym(RTLD_DEFAULT, "goalloc_gc");
	static void *volatile keep[64];
	static void *fill[3][480];
	struct itimerval it = {{0, 100}, {0, 100}};
	volatile unsigned long i = 0;
	if (!gc)
		return puts("goalloc_gc not found"), 2;
	for (unsigned c = 0; c < 3; c++) {
		for (unsigned j = 0; j < 480; j++)
			fill[c][j] = malloc((size_t[]){8, 32, 100}[c]);
		for (unsigned j = 0; j < 480; j++)
			free(fill[c][j]);
	}
	signal(SIGALRM, on_alarm);
	setitimer(ITIMER_REAL, &it, NULL);
	while (jumps < 2000 && i < 50000000) {
		if (sigsetjmp(env, 1) == 0) {
			armed = 1;
			for (;; i++) {
				unsigned k = (unsigned)(i % 64);
				void *old = keep[k];
				keep[k] = NULL;
				free(old);
				keep[k] = malloc((size_t[]){8, 100}[i % 2]);
			}
		}
	}
	armed = 0;
	memset(&it, 0, sizeof it);
	setitimer(ITIMER_REAL, &it, NULL);
	printf("%d jumps; ", (int)jumps);
	fflush(stdout);
	printf("goalloc_gc() = %d\n", gc());
	return 0;
}
