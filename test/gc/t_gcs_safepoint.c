/* t_gcs_safepoint — the collector's safe points. Collections run back to back from one thread
 * while the others are anywhere in malloc, free and realloc, in a signal handler that allocates
 * or leaves by siglongjmp, in pthread_create and thread exit, in fork, vfork and posix_spawn, in
 * exit(); and beside a thread that blocks every signal. Every live block carries a fill pattern
 * that is checked before it is freed or resized: a block the collector took for garbage (collect
 * mode) or a thread let run while the world was stopped shows up as a changed pattern.
 *
 * One scenario per run, named by argv[1] (test/gc/t_gcs_safepoint.sh runs each under
 * GOALLOC_GC=collect and report and GOALLOC_GC_STOP=signal, ptrace and auto):
 *   loops     three threads in malloc/calloc/realloc/free loops (1 B .. 2 MiB), cycles back to back
 *   sigalloc  the same, plus a SIGALRM handler (setitimer, 1 kHz) that allocates, checks and frees
 *   longjmp   two threads whose malloc/free loops a SIGALRM handler leaves by siglongjmp
 *   threads   threads created, joined (each hands back a block) and detached, in a loop
 *   fork      children that allocate, run goalloc_gc(), check and exit 0 (exit or _exit)
 *   vfork     vfork + execve /bin/true
 *   spawn     posix_spawn /bin/true
 *   exit      exit() while three threads allocate and cycles run (report mode: the exit check
 *             must finish; planted leaks make it print a summary)
 *   blocked   one thread with every signal blocked, allocating: under GOALLOC_GC_STOP=signal
 *             every goalloc_gc() returns -1 (the trace says why) and the process lives on;
 *             under ptrace and auto every cycle completes
 *   env       getenv() sees the environment (GCS_ENVCHECK=yes, set by the .sh): the collector's
 *             start-up runs before libc's, and must leave environ alone
 *   probe     no TAP: one goalloc_gc() beside one other thread; exit 0 if it completed, 2 if the
 *             collector is off, 3 if the cycle failed (the .sh asks which stop mechanisms work)
 *
 * Usage: t_gcs_safepoint SCENARIO [MODE STOP [MS [MAXSIZE]]]: MODE and STOP repeat GOALLOC_GC and
 * GOALLOC_GC_STOP (given on the command line so that the checks do not depend on getenv, which
 * the env scenario tests), MS the length of the busy part (default 700 ms), MAXSIZE the largest
 * block the scenario allocates (default 2 MiB). Output: TAP, and "# pid N" / "# blocked-tid N"
 * lines the .sh reads. goalloc_gc and goalloc_gc_stats are looked up with dlsym: the program runs
 * with goalloc preloaded, not linked against it.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "gcs_watchdog.h"
#include "tap.h"
#include "goalloc.h"

extern char **environ;

#define WATCHDOG_SECONDS 45

static int (*gc_now)(void);
static int (*gc_stats)(struct goalloc_gc_stats *);

static const char *scenario = "?";
static long run_ms = 700;
static size_t max_size = 2u << 20; /* (every size below is capped to it) */
static int want_mode;        /* 1 report, 2 collect (from GOALLOC_GC) */
static int stop_by_signal;   /* GOALLOC_GC_STOP=signal */

static atomic_int stop_flag;
static atomic_long n_ops, n_corrupt, n_null, n_bad_calloc;
static atomic_long n_gc_ok, n_gc_fail, n_gc_other;
static atomic_int n_diags;

static inline void *launder(void *p)
{
	__asm__ volatile("" : "+r"(p) : : "memory");
	return p;
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Sleep ms milliseconds, through EINTR (the stop signal and SIGALRM interrupt nanosleep). */
static void sleep_ms(long ms)
{
	uint64_t end = now_ms() + (uint64_t)ms;
	for (;;) {
		uint64_t t = now_ms();
		if (t >= end)
			return;
		struct timespec ts = {(time_t)((end - t) / 1000), (long)((end - t) % 1000) * 1000000L};
		nanosleep(&ts, NULL);
	}
}

static pid_t my_tid(void)
{
	return (pid_t)syscall(SYS_gettid);
}

static uint64_t xs(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

/* A diagnostic from any thread, at most 20 per run (printf takes stdout's lock: never from a
 * signal handler). */
#define DIAG(...)                                                                                  \
	do {                                                                                       \
		if (atomic_fetch_add(&n_diags, 1) < 20)                                            \
			diag(__VA_ARGS__);                                                         \
	} while (0)

/* ---- fill patterns ------------------------------------------------------------------------ */

typedef uint64_t __attribute__((may_alias)) word_t;

static inline uint64_t pat_word(uint64_t seed, size_t j)
{
	uint64_t x = seed * 0x9e3779b97f4a7c15ull + (uint64_t)j * 0xd6e8feb86659fd93ull;
	return x ^ (x >> 29);
}

/* Byte i of the pattern: byte i % 8 (little-endian) of word i / 8, whatever the block's size, so
 * that the prefix a realloc keeps reads the same. */
static inline unsigned char pat_byte(uint64_t seed, size_t i)
{
	return (unsigned char)(pat_word(seed, i / 8) >> (8 * (i % 8)));
}

static void pat_fill(unsigned char *p, size_t n, uint64_t seed)
{
	size_t j, nw = n / 8, i;
	for (j = 0; j < nw; j++)
		((word_t *)p)[j] = pat_word(seed, j);
	for (i = nw * 8; i < n; i++)
		p[i] = pat_byte(seed, i);
}

/* Offset of the first byte of p[0..n) off the pattern, or n. */
static size_t pat_check(const unsigned char *p, size_t n, uint64_t seed)
{
	size_t j, nw = n / 8, i;
	for (j = 0; j < nw; j++)
		if (((const word_t *)p)[j] != pat_word(seed, j))
			for (i = j * 8;; i++)
				if (p[i] != pat_byte(seed, i))
					return i;
	for (i = nw * 8; i < n; i++)
		if (p[i] != pat_byte(seed, i))
			return i;
	return n;
}

static void corrupt(const char *what, const void *p, size_t n, size_t at, uint64_t seed)
{
	atomic_fetch_add(&n_corrupt, 1);
	DIAG("%s: block %p of %zu bytes (seed %llx) off its pattern at byte %zu: %02x, want %02x", what, p,
	     n, (unsigned long long)seed, at, ((const unsigned char *)p)[at], pat_byte(seed, at));
}

/* ---- threads in malloc / calloc / realloc / free loops -------------------------------------- */

#define NSLOT 48
struct slots {
	unsigned char *p[NSLOT];
	size_t n[NSLOT];
	uint64_t seed[NSLOT];
};

static size_t cap(size_t n)
{
	return n < max_size ? n : max_size;
}

/* Mostly small, some up to the largest size class, some large spans, a few of 1-2 MiB. */
static size_t pick_size(uint64_t r)
{
	unsigned k = (unsigned)(r & 63);
	if (k < 36)
		return cap(1 + (size_t)(r >> 8) % 512);
	if (k < 54)
		return cap(513 + (size_t)(r >> 8) % (32768 - 512));
	if (k < 63)
		return cap(32769 + (size_t)(r >> 8) % (256u << 10));
	return cap((1u << 20) + (size_t)(r >> 8) % (1u << 20));
}

static void slot_check(struct slots *s, unsigned k, const char *what)
{
	size_t at = pat_check(s->p[k], s->n[k], s->seed[k]);
	if (at != s->n[k])
		corrupt(what, s->p[k], s->n[k], at, s->seed[k]);
}

static void slot_op(struct slots *s, unsigned k, uint64_t *rng)
{
	uint64_t r = xs(rng);
	if (!s->p[k]) {
		size_t n = pick_size(r);
		uint64_t seed = xs(rng);
		unsigned char *p;
		if ((r >> 6) % 4 == 0) {
			size_t i;
			p = launder(calloc(1, n));
			if (p) /* the first and last pages: cheap, and where a reused block shows */
				for (i = 0; i < n; i += (i + 1 == 4096 && n > 8192) ? n - 8192 : 1)
					if (p[i]) {
						atomic_fetch_add(&n_bad_calloc, 1);
						DIAG("calloc(1, %zu) = %p: byte %zu is %02x", n, (void *)p, i, p[i]);
						break;
					}
		} else {
			p = launder(malloc(n));
		}
		if (!p) {
			atomic_fetch_add(&n_null, 1);
			return;
		}
		pat_fill(p, n, seed);
		s->p[k] = p;
		s->n[k] = n;
		s->seed[k] = seed;
		return;
	}
	slot_check(s, k, "live block");
	switch ((r >> 6) % 3) {
	case 0: { /* free */
		unsigned char *p = s->p[k];
		s->p[k] = NULL;
		free(p);
		break;
	}
	case 1: { /* realloc: the prefix is kept, then the whole block refilled */
		size_t n = (r >> 12) & 1 ? pick_size(xs(rng)) : cap(s->n[k] + (size_t)(r >> 20) % 200);
		size_t keep = n < s->n[k] ? n : s->n[k], at;
		unsigned char *q = launder(realloc(s->p[k], n));
		if (!q) {
			atomic_fetch_add(&n_null, 1);
			break;
		}
		at = pat_check(q, keep, s->seed[k]);
		if (at != keep)
			corrupt("realloc'd block (kept prefix)", q, keep, at, s->seed[k]);
		s->p[k] = q;
		s->n[k] = n;
		s->seed[k] = xs(rng);
		pat_fill(q, n, s->seed[k]);
		break;
	}
	default: /* only checked */
		break;
	}
}

static void slots_drain(struct slots *s)
{
	unsigned k;
	for (k = 0; k < NSLOT; k++)
		if (s->p[k]) {
			slot_check(s, k, "block at the end");
			free(s->p[k]);
			s->p[k] = NULL;
		}
}

/* Odd workers keep their table of blocks in a heap block (reachable only from their stack), even
 * ones on their stack. */
static void *worker(void *arg)
{
	uintptr_t id = (uintptr_t)arg;
	struct slots local, *s = &local;
	uint64_t rng = 0x9e3779b97f4a7c15ull * (id + 1) + (uint64_t)getpid();
	long ops = 0;

	memset(&local, 0, sizeof local);
	if (id & 1) {
		s = launder(calloc(1, sizeof *s));
		if (!s) {
			atomic_fetch_add(&n_null, 1);
			return NULL;
		}
	}
	while (!atomic_load_explicit(&stop_flag, memory_order_relaxed)) {
		slot_op(s, (unsigned)(xs(&rng) % NSLOT), &rng);
		ops++;
	}
	slots_drain(s);
	if (s != &local)
		free(s);
	atomic_fetch_add(&n_ops, ops);
	return NULL;
}

/* goalloc_gc() back to back until stop_flag. */
static void *cycler(void *arg)
{
	(void)arg;
	while (!atomic_load_explicit(&stop_flag, memory_order_relaxed)) {
		int r = gc_now();
		if (r == 0)
			atomic_fetch_add(&n_gc_ok, 1);
		else if (r == -1)
			atomic_fetch_add(&n_gc_fail, 1);
		else
			atomic_fetch_add(&n_gc_other, 1);
	}
	return NULL;
}

#define MAXT 8
static pthread_t tids[MAXT];
static int ntids;

static void start(void *(*fn)(void *), uintptr_t arg)
{
	int e = pthread_create(&tids[ntids], NULL, fn, (void *)arg);
	if (e) {
		diag("pthread_create: %s", strerror(e));
		ok(0, "%s: start a thread", scenario);
		exit(done_testing());
	}
	ntids++;
}

static void stop_all(void)
{
	int i;
	atomic_store(&stop_flag, 1);
	for (i = 0; i < ntids; i++)
		pthread_join(tids[i], NULL);
	ntids = 0;
}

static void start_workers(int nworkers)
{
	int i;
	for (i = 0; i < nworkers; i++)
		start(worker, (uintptr_t)i);
	start(cycler, 0);
}

/* The checks every scenario ends with. aborts_ok: cycles may be abandoned. */
static void common_checks(int aborts_ok)
{
	struct goalloc_gc_stats st;
	long ok_n = atomic_load(&n_gc_ok), fail_n = atomic_load(&n_gc_fail);
	int r;

	ok(atomic_load(&n_corrupt) == 0 && atomic_load(&n_bad_calloc) == 0,
	   "%s: every live block kept its fill pattern, calloc blocks zeroed (%ld operations, %ld "
	   "overwritten blocks, %ld dirty calloc blocks)",
	   scenario, atomic_load(&n_ops), atomic_load(&n_corrupt), atomic_load(&n_bad_calloc));
	ok(atomic_load(&n_null) == 0, "%s: no allocation failed (%ld NULL)", scenario, atomic_load(&n_null));
	ok(ok_n >= 1 && atomic_load(&n_gc_other) == 0 && (aborts_ok || fail_n == 0),
	   "%s: goalloc_gc() back to back: %ld completed, %ld abandoned (-1), %ld other results", scenario,
	   ok_n, fail_n, atomic_load(&n_gc_other));
	memset(&st, 0, sizeof st);
	r = gc_stats(&st); /* (before ok(): its arguments are evaluated in no fixed order) */
	ok(r == 0 && st.mode == want_mode && st.cycles >= (uint64_t)ok_n &&
		   st.aborted >= (uint64_t)fail_n && (aborts_ok || st.aborted == 0),
	   "%s: goalloc_gc_stats: mode %d (want %d), %llu cycles, %llu aborted, pause total %.1f ms, last "
	   "live %llu KiB, freed %llu blocks",
	   scenario, st.mode, want_mode, (unsigned long long)st.cycles, (unsigned long long)st.aborted,
	   (double)st.pause_total_ns / 1e6, (unsigned long long)(st.heap_live >> 10),
	   (unsigned long long)st.freed_objects);
}

/* ---- scenarios -------------------------------------------------------------------------------- */

static void sc_loops(void)
{
	start_workers(3);
	sleep_ms(run_ms);
	stop_all();
	common_checks(0);
}

/* sigalloc: each thread's handler keeps blocks in its own TLS between runs (static TLS is a root). */
static __thread unsigned char *volatile hkeep[8];
static __thread volatile size_t hkeep_n[8];
static __thread volatile uint64_t hkeep_seed[8];
static __thread volatile unsigned hruns_t;
static atomic_long h_runs, h_corrupt, h_null;

static void on_alarm_alloc(int sig)
{
	static const size_t sz[] = {8, 24, 100, 256, 1000, 4000, 20000, 40000, 200000};
	int saved = errno;
	unsigned r = hruns_t++, k = r & 7;
	size_t n = cap(sz[r % (sizeof sz / sizeof sz[0])]);
	unsigned char *p, *q;
	(void)sig;

	if (hkeep[k]) {
		if (pat_check(hkeep[k], hkeep_n[k], hkeep_seed[k]) != hkeep_n[k])
			atomic_fetch_add(&h_corrupt, 1);
		free(hkeep[k]);
		hkeep[k] = NULL;
	}
	p = launder(malloc(n));
	q = launder(calloc(1, 64));
	if (q)
		q = launder(realloc(q, 3000 + n / 4));
	if (!p || !q) {
		atomic_fetch_add(&h_null, 1);
		free(p);
		free(q);
	} else {
		pat_fill(q, 3000 + n / 4, r);
		if (pat_check(q, 3000 + n / 4, r) != 3000 + n / 4)
			atomic_fetch_add(&h_corrupt, 1);
		free(q);
		pat_fill(p, n, r * 7 + 1);
		hkeep_n[k] = n;
		hkeep_seed[k] = r * 7 + 1;
		hkeep[k] = p;
	}
	atomic_fetch_add(&h_runs, 1);
	errno = saved;
}

static void set_itimer(long usec)
{
	struct itimerval it = {{0, usec}, {0, usec}};
	setitimer(ITIMER_REAL, &it, NULL);
}

static void sc_sigalloc(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_alarm_alloc;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	set_itimer(1000);
	/* Every thread takes SIGALRM: the workers, the main thread sleeping, and the thread inside
	 * goalloc_gc() (whose cycle must not leave a handler's malloc waiting for goalloc's locks). */
	start_workers(2);
	sleep_ms(run_ms);
	stop_all();
	set_itimer(0);
	signal(SIGALRM, SIG_IGN);
	ok(atomic_load(&h_runs) >= run_ms / 10 && atomic_load(&h_corrupt) == 0 && atomic_load(&h_null) == 0,
	   "sigalloc: the SIGALRM handler ran %ld times (want >= %ld), every block it kept intact (%ld bad, "
	   "%ld NULL)",
	   atomic_load(&h_runs), run_ms / 10, atomic_load(&h_corrupt), atomic_load(&h_null));
	common_checks(0);
}

/* longjmp: each jumper's loop stays on goalloc's fast paths (lists filled first, then one free
 * and one malloc per class in turn), as test/api/t_attack_longjmp does: leaving a slow path by
 * longjmp ends the program by design. What is new here is the collector: stop requests and
 * parking land in the middle of all this. */
#define JUMPS_PER_THREAD 600
static __thread sigjmp_buf tjb;
static __thread volatile sig_atomic_t tarmed;
static __thread unsigned char *volatile jkeep[64];
static __thread volatile uint64_t jkeep_tag[64];
static __thread volatile unsigned long jiters;
static __thread volatile int tjumps;
static atomic_long n_jumps;

static void on_alarm_jump(int sig)
{
	(void)sig;
	if (tarmed) {
		tarmed = 0;
		tjumps++;
		atomic_fetch_add(&n_jumps, 1);
		siglongjmp(tjb, 1);
	}
}

static void *jumper(void *arg)
{
	static const size_t cls[3] = {8, 32, 100};
	void *fill[480];
	unsigned c, j, k;
	uint64_t id = (uintptr_t)arg;
	sigset_t alrm;

	for (c = 0; c < 3; c++) {
		for (j = 0; j < 480; j++)
			fill[j] = launder(malloc(cls[c]));
		for (j = 0; j < 480; j++)
			free(fill[j]);
	}
	for (k = 0; k < 64; k++) {
		unsigned char *p = launder(malloc(cls[(k % 2) * 2]));
		if (p)
			*(word_t *)p = jkeep_tag[k] = (id << 32) | k;
		jkeep[k] = p;
	}
	sigemptyset(&alrm);
	sigaddset(&alrm, SIGALRM);
	pthread_sigmask(SIG_UNBLOCK, &alrm, NULL);
	while (!atomic_load(&stop_flag) && tjumps < JUMPS_PER_THREAD) {
		if (sigsetjmp(tjb, 1) == 0) {
			tarmed = 1;
			while (!atomic_load_explicit(&stop_flag, memory_order_relaxed)) {
				unsigned long i = jiters++;
				size_t n = cls[(i % 2) * 2];
				unsigned char *old, *p;
				uint64_t tag = (id << 32) ^ i;
				k = (unsigned)(i % 64);
				old = jkeep[k];
				jkeep[k] = NULL; /* a jump may land anywhere: never free a block twice */
				if (old && *(word_t *)old != jkeep_tag[k]) {
					atomic_fetch_add(&n_corrupt, 1);
					tarmed = 0;
					DIAG("longjmp: kept block %p: tag %llx, want %llx", (void *)old,
					     (unsigned long long)*(word_t *)old, (unsigned long long)jkeep_tag[k]);
					tarmed = 1;
				}
				free(old);
				p = launder(malloc(n));
				if (!p) {
					atomic_fetch_add(&n_null, 1);
					continue;
				}
				*(word_t *)p = tag;
				jkeep_tag[k] = tag;
				jkeep[k] = p;
				free(launder(malloc(32)));
			}
			tarmed = 0;
		}
	}
	tarmed = 0;
	pthread_sigmask(SIG_BLOCK, &alrm, NULL);
	for (k = 0; k < 64; k++) {
		free(jkeep[k]);
		jkeep[k] = NULL;
	}
	atomic_fetch_add(&n_ops, (long)jiters);
	/* Afterwards every allocation is served, distinct and writable. */
	{
		enum { N = 2000 };
		unsigned char **b = launder(malloc(N * sizeof *b));
		int i, nul = 0, bad = 0;
		if (!b)
			return (void *)1;
		for (i = 0; i < N; i++) {
			b[i] = launder(malloc(32));
			if (b[i])
				memset(b[i], i & 0xff, 32);
			else
				nul++;
		}
		for (i = 0; i < N; i++)
			if (b[i] && (b[i][0] != (i & 0xff) || b[i][31] != (i & 0xff)))
				bad++;
		for (i = 0; i < N; i++)
			free(b[i]);
		free(b);
		if (nul || bad) {
			DIAG("longjmp: after the jumps %d of %d malloc(32) NULL, %d overwritten", nul, N, bad);
			return (void *)1;
		}
	}
	return NULL;
}

static void sc_longjmp(void)
{
	struct sigaction sa;
	sigset_t alrm;
	void *res;
	int i, after_bad = 0;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_alarm_jump;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	/* SIGALRM for the jumpers only: blocked here, inherited blocked by the cycler, unblocked by
	 * each jumper. */
	sigemptyset(&alrm);
	sigaddset(&alrm, SIGALRM);
	pthread_sigmask(SIG_BLOCK, &alrm, NULL);
	start(jumper, 1);
	start(jumper, 2);
	start(cycler, 0);
	set_itimer(200); /* 5 kHz, as test/api/t_attack_longjmp */
	sleep_ms(run_ms);
	atomic_store(&stop_flag, 1);
	for (i = 0; i < ntids; i++) {
		pthread_join(tids[i], &res);
		if (res)
			after_bad++;
	}
	ntids = 0;
	set_itimer(0);
	ok(atomic_load(&n_jumps) >= 10 && after_bad == 0,
	   "longjmp: %ld jumps out of the handler in %ld iterations; every later malloc(32) served and "
	   "distinct (%d threads saw otherwise)",
	   atomic_load(&n_jumps), atomic_load(&n_ops), after_bad);
	common_checks(0);
}

/* threads: short-lived threads allocate, check, free and hand one block back to the joiner (held,
 * between its exit and the join, only by the dead thread's result slot in its retained stack). */
static atomic_long n_threads, n_detached_done;

static void *shortlived(void *arg)
{
	uint64_t seed = (uintptr_t)arg, rng = seed * 0x2545f4914f6cdd1dull + 1;
	unsigned char *b[16];
	size_t n[16];
	int i;
	for (i = 0; i < 16; i++) {
		n[i] = cap(1 + (size_t)(xs(&rng) % 70000));
		b[i] = launder(malloc(n[i]));
		if (!b[i]) {
			atomic_fetch_add(&n_null, 1);
			continue;
		}
		pat_fill(b[i], n[i], seed + (uint64_t)i);
	}
	for (i = 0; i < 16; i++)
		if (b[i]) {
			size_t at = pat_check(b[i], n[i], seed + (uint64_t)i);
			if (at != n[i])
				corrupt("short-lived thread's block", b[i], n[i], at, seed + (uint64_t)i);
			free(b[i]);
		}
	b[0] = launder(malloc(100 + seed % 5000));
	if (b[0])
		pat_fill(b[0], 100 + seed % 5000, seed);
	atomic_fetch_add(&n_ops, 17);
	return b[0];
}

/* Threads of the process now (the entries of /proc/self/task). */
static int count_tasks(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	int n = 0;
	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static void *detached(void *arg)
{
	free(shortlived(arg));
	atomic_fetch_add(&n_detached_done, 1);
	return NULL;
}

static void sc_threads(void)
{
	uint64_t end, seed = 1;
	long detached_started = 0;
	pthread_attr_t det;
	int tasks0 = count_tasks(), tasks = 0, waited;

	pthread_attr_init(&det);
	pthread_attr_setdetachstate(&det, PTHREAD_CREATE_DETACHED);
	start(worker, 0);
	start(cycler, 0);
	end = now_ms() + (uint64_t)run_ms;
	while (now_ms() < end) {
		pthread_t t[4], d;
		int i, made = 0;
		for (i = 0; i < 4; i++, made++)
			if (pthread_create(&t[i], NULL, shortlived, (void *)(uintptr_t)(seed + (uint64_t)i)))
				break;
		if (pthread_create(&d, &det, detached, (void *)(uintptr_t)(seed + 100)) == 0)
			detached_started++;
		for (i = 0; i < made; i++) {
			void *r;
			pthread_join(t[i], &r);
			if (!r)
				continue;
			size_t n = 100 + (seed + (uint64_t)i) % 5000, at = pat_check(r, n, seed + (uint64_t)i);
			if (at != n)
				corrupt("block handed back by a joined thread", r, n, at, seed + (uint64_t)i);
			free(r);
		}
		atomic_fetch_add(&n_threads, made);
		seed += 4;
	}
	while (atomic_load(&n_detached_done) < detached_started)
		sleep_ms(1);
	stop_all();
	/* A detached thread that has counted itself done still has its exit to run, with every signal
	 * blocked (glibc), and on a loaded machine that can outlast a stop: wait for the threads to be
	 * gone, so that the exit check does not meet one (under GOALLOC_GC_STOP=signal it could not
	 * complete, as designed). */
	for (waited = 0; waited < 5000 && (tasks = count_tasks()) > tasks0; waited++)
		sleep_ms(1);
	if (tasks > tasks0)
		diag("threads: %d threads still there after 5 s (%d before the scenario)", tasks, tasks0);
	ok(atomic_load(&n_threads) >= 4 && detached_started >= 1, /* (a loaded machine makes few) */
	   "threads: %ld joined and %ld detached threads came and went during the cycles",
	   atomic_load(&n_threads), detached_started);
	common_checks(0);
}

/* fork: the child (forked while the workers allocate and the cycler collects) allocates, runs a
 * cycle of its own, checks, and leaves by exit or _exit. Status: 0, or 2 (cycle failed), 3 (a
 * block changed), 4 (out of memory), 5 (thread). */
static void *child_thread(void *arg)
{
	unsigned char *p = launder(malloc(5000));
	if (p) {
		pat_fill(p, 5000, 77);
		if (pat_check(p, 5000, 77) != 5000)
			return (void *)1;
	}
	free(p);
	return arg;
}

static void child_body(unsigned round)
{
	unsigned char *b[64];
	size_t n[64];
	uint64_t rng = 0x1234567ull + round;
	int i, code = 0;
	pthread_t t;
	void *res = NULL;
	for (i = 0; i < 64; i++) {
		n[i] = pick_size(xs(&rng)) % 300000 + 1;
		b[i] = launder(malloc(n[i]));
		if (!b[i])
			_exit(4);
		pat_fill(b[i], n[i], round * 64u + (unsigned)i);
	}
	if (round % 3 == 0 && (pthread_create(&t, NULL, child_thread, NULL) || pthread_join(t, &res) || res))
		code = 5;
	if (gc_now() != 0)
		code = 2;
	for (i = 0; i < 64; i++) {
		if (pat_check(b[i], n[i], round * 64u + (unsigned)i) != n[i])
			code = 3;
		if (i % 2 == 0) /* the odd ones are left for exit (and the report) */
			free(b[i]);
	}
	if (round % 2)
		exit(code);
	_exit(code);
}

static void sc_fork(void)
{
	uint64_t end;
	unsigned round = 0, bad = 0;
	start_workers(2);
	end = now_ms() + (uint64_t)run_ms;
	while (now_ms() < end) {
		int st;
		pid_t pid;
		fflush(stdout);
		pid = fork();
		if (pid == 0)
			child_body(round);
		if (pid < 0) {
			DIAG("fork: %s", strerror(errno));
			bad++;
			break;
		}
		while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
			;
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
			bad++;
			if (WIFSIGNALED(st))
				DIAG("fork: child %u killed by signal %d", round, WTERMSIG(st));
			else
				DIAG("fork: child %u exited %d (2: its goalloc_gc failed, 3: a block changed, 4: "
				     "out of memory, 5: its thread failed)",
				     round, WEXITSTATUS(st));
		}
		round++;
	}
	stop_all();
	ok(round >= 2 && bad == 0, "fork: %u children allocated, collected, checked and exited 0 (%u did not)",
	   round, bad);
	common_checks(0);
}

static __attribute__((noinline)) pid_t vfork_true(void)
{
	static char *const argv[] = {"true", NULL};
	pid_t pid = vfork();
	if (pid == 0) {
		execve("/bin/true", argv, environ);
		_exit(127);
	}
	return pid;
}

static void sc_spawn(int use_vfork)
{
	static char *const argv[] = {"true", NULL};
	uint64_t end;
	unsigned round = 0, bad = 0;
	const char *what = use_vfork ? "vfork" : "spawn";
	start_workers(2);
	end = now_ms() + (uint64_t)run_ms;
	while (now_ms() < end) {
		int st, e = 0;
		pid_t pid;
		if (use_vfork) {
			pid = vfork_true();
			if (pid < 0)
				e = errno;
		} else {
			e = posix_spawn(&pid, "/bin/true", NULL, NULL, argv, environ);
		}
		if (e) {
			DIAG("%s: %s", what, strerror(e));
			bad++;
			break;
		}
		while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
			;
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
			bad++;
			DIAG("%s: /bin/true %s %d", what, WIFSIGNALED(st) ? "killed by signal" : "exited",
			     WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
		}
		round++;
	}
	stop_all();
	ok(round >= 2 && bad == 0, "%s: /bin/true started %u times during the cycles, all exited 0 (%u did not)",
	   what, round, bad);
	common_checks(0);
}

/* exit: blocks whose pointers are dropped, so that report mode's exit check has something to
 * print (the .sh looks for its SUMMARY line: the check ran to the end). */
static __attribute__((noinline)) void plant_leaks(void)
{
	int i;
	for (i = 0; i < 16; i++) {
		unsigned char *p = launder(malloc(4000));
		if (p)
			memset(p, 0x5a, 4000);
	}
}

static __attribute__((noinline)) void scrub_stack(void)
{
	volatile unsigned char junk[16384];
	size_t i;
	for (i = 0; i < sizeof junk; i++)
		junk[i] = 0;
}

static void sc_exit(void)
{
	plant_leaks();
	scrub_stack();
	start_workers(3);
	sleep_ms(run_ms / 2);
	/* (a loaded machine may not have finished a cycle yet: exit while one is under way) */
	for (int waited = 0; waited < 1000 && atomic_load(&n_gc_ok) + atomic_load(&n_gc_fail) == 0; waited++)
		sleep_ms(10);
	ok(atomic_load(&n_corrupt) == 0 && atomic_load(&n_bad_calloc) == 0,
	   "exit: no block changed before exit (%ld overwritten)", atomic_load(&n_corrupt));
	ok(atomic_load(&n_gc_ok) >= 1 && atomic_load(&n_gc_fail) == 0,
	   "exit: cycles ran before exit: %ld completed, %ld abandoned", atomic_load(&n_gc_ok),
	   atomic_load(&n_gc_fail));
	diag("exit() while three threads allocate and one collects");
	exit(done_testing());
}

/* blocked: a thread with every signal blocked, allocating. */
static atomic_int blocked_tid, blocked_quiet;

static void *blocked_thread(void *arg)
{
	sigset_t all;
	struct slots s;
	uint64_t rng = 0xabcdef12345ull;
	long ops = 0;
	(void)arg;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, NULL);
	atomic_store(&blocked_tid, my_tid());
	memset(&s, 0, sizeof s);
	while (!atomic_load_explicit(&blocked_quiet, memory_order_relaxed)) {
		slot_op(&s, (unsigned)(xs(&rng) % NSLOT), &rng);
		ops++;
	}
	slots_drain(&s);
	atomic_fetch_add(&n_ops, ops);
	/* Stay alive, still blocking everything, until exit: the exit check meets this thread too. */
	for (;;)
		pause();
	return NULL;
}

static void sc_blocked(void)
{
	pthread_t t;
	struct goalloc_gc_stats st;
	uint64_t end;
	int e = pthread_create(&t, NULL, blocked_thread, NULL), bad = 0;
	long n = 0;

	if (e) {
		diag("pthread_create: %s", strerror(e));
		ok(0, "blocked: start the thread");
		return;
	}
	while (!atomic_load(&blocked_tid))
		sleep_ms(1);
	printf("# blocked-tid %d\n", atomic_load(&blocked_tid));
	fflush(stdout);
	sleep_ms(20);
	if (stop_by_signal) {
		/* Each abandoned cycle waits GOALLOC_GC_STOP_TIMEOUT (the .sh sets 200 ms). */
		for (n = 0; n < 3; n++)
			if (gc_now() != -1)
				bad++;
		memset(&st, 0, sizeof st);
		gc_stats(&st);
		ok(bad == 0 && st.aborted >= 3,
		   "blocked: under GOALLOC_GC_STOP=signal every goalloc_gc() is abandoned (%d of %ld were "
		   "not; stats: %llu aborted, %llu completed)",
		   bad, n, (unsigned long long)st.aborted, (unsigned long long)st.cycles);
	} else {
		end = now_ms() + (uint64_t)run_ms;
		while (now_ms() < end) {
			if (gc_now() != 0)
				bad++;
			n++;
		}
		memset(&st, 0, sizeof st);
		gc_stats(&st);
		ok(bad == 0 && n >= 1 && st.aborted == 0,
		   "blocked: under ptrace/auto every goalloc_gc() completes (%d of %ld did not; stats: %llu "
		   "aborted, %llu completed)",
		   bad, n, (unsigned long long)st.aborted, (unsigned long long)st.cycles);
	}
	atomic_store(&blocked_quiet, 1);
	sleep_ms(50);
	ok(atomic_load(&n_corrupt) == 0 && atomic_load(&n_null) == 0 && atomic_load(&n_bad_calloc) == 0,
	   "blocked: the blocked thread's blocks all intact (%ld overwritten, %ld NULL)", atomic_load(&n_corrupt),
	   atomic_load(&n_null));
	e = gc_stats(&st);
	ok(e == 0 && st.mode == want_mode, "blocked: the process lives on, collector mode %d", st.mode);
	/* main returns: exit while the blocked thread is alive. */
}

/* env: what libc's getenv and environ show. */
static void sc_env(void)
{
	const char *e = getenv("GCS_ENVCHECK"), *home = getenv("PATH");
	ok(environ && e && !strcmp(e, "yes") && home,
	   "env: getenv() sees the environment (environ %p, GCS_ENVCHECK=%s, PATH %s)", (void *)environ,
	   e ? e : "(null)", home ? "set" : "(null)");
}

static void *sleeper(void *arg)
{
	(void)arg;
	for (;;)
		pause();
	return NULL;
}

static int sc_probe(void)
{
	struct goalloc_gc_stats st;
	pthread_t t;
	int r;
	memset(&st, 0, sizeof st);
	gc_stats(&st);
	if (st.mode == 0) {
		printf("probe: collector off\n");
		return 2;
	}
	pthread_create(&t, NULL, sleeper, NULL);
	sleep_ms(10);
	r = gc_now();
	gc_stats(&st);
	printf("probe: goalloc_gc() = %d, %llu cycles, %llu aborted\n", r, (unsigned long long)st.cycles,
	       (unsigned long long)st.aborted);
	return r == 0 ? 0 : 3;
}


int main(int argc, char **argv)
{
	const char *e;
	struct goalloc_gc_stats st;

	if (argc < 2) {
		fprintf(stderr,
			"usage: %s loops|sigalloc|longjmp|threads|fork|vfork|spawn|exit|blocked|env|probe "
			"[MODE STOP [MS [MAXSIZE]]]\n",
			argv[0]);
		return 64;
	}
	scenario = argv[1];
	e = argc > 2 ? argv[2] : getenv("GOALLOC_GC");
	want_mode = e && !strcmp(e, "collect") ? 2 : 1;
	e = argc > 3 ? argv[3] : getenv("GOALLOC_GC_STOP");
	stop_by_signal = e && !strcmp(e, "signal");
	if (argc > 4 && atol(argv[4]) > 0)
		run_ms = atol(argv[4]);
	if (argc > 5 && atol(argv[5]) > 0)
		max_size = (size_t)atol(argv[5]);
	gc_now = (int (*)(void))dlsym(RTLD_DEFAULT, "goalloc_gc");
	gc_stats = (int (*)(struct goalloc_gc_stats *))dlsym(RTLD_DEFAULT, "goalloc_gc_stats");
	if (!strcmp(scenario, "probe")) {
		if (!gc_now || !gc_stats) {
			printf("probe: goalloc_gc not found\n");
			return 2;
		}
		return sc_probe();
	}
	if (!gc_now || !gc_stats)
		skip_all("goalloc_gc or goalloc_gc_stats not found (not run under a goalloc with the collector)");
	memset(&st, 0, sizeof st);
	gc_stats(&st);
	if (st.mode == 0)
		skip_all("the collector is off (GOALLOC_GC unset, or the GC modes refused to start)");
	printf("# pid %d\n", (int)getpid());
	fflush(stdout);
	gcs_start_watchdog(WATCHDOG_SECONDS);

	if (!strcmp(scenario, "loops"))
		sc_loops();
	else if (!strcmp(scenario, "sigalloc"))
		sc_sigalloc();
	else if (!strcmp(scenario, "longjmp"))
		sc_longjmp();
	else if (!strcmp(scenario, "threads"))
		sc_threads();
	else if (!strcmp(scenario, "fork"))
		sc_fork();
	else if (!strcmp(scenario, "vfork"))
		sc_spawn(1);
	else if (!strcmp(scenario, "spawn"))
		sc_spawn(0);
	else if (!strcmp(scenario, "exit"))
		sc_exit();
	else if (!strcmp(scenario, "blocked"))
		sc_blocked();
	else if (!strcmp(scenario, "env"))
		sc_env();
	else {
		fprintf(stderr, "unknown scenario %s\n", scenario);
		return 64;
	}
	return done_testing();
}
