/* t_gc_freestate — blocks on every kind of free list are free, not leaks: never reported, never
 * freed a second time.
 *
 * The program frees everything it allocates, except blocks it keeps in a global array (each
 * filled with a pattern), so after every cycle the collector must find nothing unreachable
 * (GOALLOC_GC=report: unreachable_objects == 0) and free nothing (collect: freed_objects stays 0),
 * and the kept blocks keep their patterns. Cycles run (goalloc_gc()) while freed blocks sit in:
 *   1. this thread's lists                 (blocks it freed itself a moment ago)
 *   2. an outbox and an inbox              (another thread freed them: both threads alive)
 *   3. transfer batches                    (thousands of one class freed: lists overflow and park
 *                                           batches in the mcentral; and by another thread: full
 *                                           inboxes parked as batches)
 *   4. cached large spans                  (blocks over 32 KiB just freed, main and a live thread)
 *   5. exited threads and the orphan cache (threads that freed and exited; a pthread key
 *                                           destructor that allocates and frees after goalloc's
 *                                           own exit handling, through the orphan cache)
 *   6. deferred frees                      (a SIGALRM handler, setitimer, frees blocks while the
 *                                           main thread loops in malloc/free; a thread runs
 *                                           goalloc_gc() every 2 ms meanwhile)
 * then every kept block is freed (a block the collector had freed would be a double free, which
 * goalloc ends the program for) and a last cycle finds nothing.
 * Mode from GOALLOC_GC (t_gc_freestate.sh runs report, then collect with GOALLOC_GOGC=10).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "gc_util.h"

/* ---- kept blocks: reachable from this array, patterns checked after every cycle -------------- */
#define KEPT_MAX 8192
struct kb {
	unsigned char *p;
	size_t n;
	unsigned seed;
};
static struct kb kept[KEPT_MAX];
static int nkept;
static pthread_mutex_t kept_lock = PTHREAD_MUTEX_INITIALIZER;

static void keep(void *p, size_t n)
{
	pthread_mutex_lock(&kept_lock);
	if (nkept < KEPT_MAX) {
		unsigned seed = (unsigned)nkept * 2654435761u;
		gc_fill(p, n, seed);
		kept[nkept].p = p;
		kept[nkept].n = n;
		kept[nkept].seed = seed;
		nkept++;
	} else {
		free(p);
	}
	pthread_mutex_unlock(&kept_lock);
}

static int verify_kept(void)
{
	int bad = 0;
	pthread_mutex_lock(&kept_lock);
	for (int i = 0; i < nkept; i++) {
		size_t off = gc_pattern_bad(kept[i].p, kept[i].n, kept[i].seed, 0, 0);
		if (off && bad++ < 5)
			gc_diag("kept block %d (%zu B) overwritten at +%zu", i, kept[i].n, off - 1);
	}
	pthread_mutex_unlock(&kept_lock);
	return bad == 0;
}

static void *xmalloc(size_t n)
{
	void *p = malloc(n);
	if (!p) {
		gc_diag("malloc(%zu) failed", n);
		abort();
	}
	memset(p, 0x5a, n < 64 ? n : 64); /* touched, pointer-free content */
	return p;
}

/* ---- cycles and their checks ----------------------------------------------------------------- */
static uint64_t freed_at_start;

struct tally {
	int cycles, aborted, unreachable, freed, mangled;
	uint64_t max_unreachable;
};

/* One goalloc_gc() and its checks, counted in t (no output: phases report their tallies). */
static void one_cycle(struct tally *t, int check_kept)
{
	int r = gcapi.gc();
	struct goalloc_gc_stats st = gc_stats_now();
	if (r != 0) {
		t->aborted++;
		return;
	}
	t->cycles++;
	if (st.unreachable_objects) {
		t->unreachable++;
		if (st.unreachable_objects > t->max_unreachable)
			t->max_unreachable = st.unreachable_objects;
	}
	if (st.freed_objects != freed_at_start)
		t->freed++;
	if (check_kept && !verify_kept())
		t->mangled++;
}

static void report_tally(const char *phase, const struct tally *t)
{
	struct goalloc_gc_stats st = gc_stats_now();
	gc_check(t->cycles > 0, "%s: goalloc_gc() completed %d cycle(s) (%d aborted)", phase, t->cycles, t->aborted);
	gc_check(t->unreachable == 0, "%s: nothing unreachable after any cycle (%d cycle(s) found some, up to %llu)",
		 phase, t->unreachable, (unsigned long long)t->max_unreachable);
	if (gcapi.mode == GC_MODE_COLLECT)
		gc_check(t->freed == 0, "%s: collect freed nothing (freed_objects %llu)", phase,
			 (unsigned long long)(st.freed_objects - freed_at_start));
	gc_check(t->mangled == 0, "%s: every kept block keeps its contents", phase);
}

static void phase_cycle(const char *phase, int n)
{
	struct tally t;
	memset(&t, 0, sizeof t);
	for (int i = 0; i < n; i++)
		one_cycle(&t, 1);
	report_tally(phase, &t);
}

static const size_t sizes[] = {16, 24, 48, 64, 112, 256, 1024, 2048, 4000, 9000};
#define NSIZES (sizeof sizes / sizeof sizes[0])

/* ---- 1. this thread's lists ------------------------------------------------------------------ */
static void phase_lists(void)
{
	enum { N = 2400 };
	static void *b[N];
	for (int i = 0; i < N; i++)
		b[i] = xmalloc(sizes[i % NSIZES]);
	for (int i = 0; i < N; i++) {
		if (i % 40 == 0)
			keep(b[i], sizes[i % NSIZES]);
		else
			free(b[i]);
		b[i] = NULL;
	}
	/* realloc moves a block: the old one is free */
	void *r = xmalloc(20);
	size_t rn = 20;
	for (size_t n = 40; n < 20000; n = n * 3 / 2) {
		void *q = realloc(r, n);
		if (!q)
			abort();
		r = q;
		rn = n;
	}
	keep(r, rn);
	phase_cycle("this thread's free lists", 2);
}

/* ---- 2. outbox and inbox -------------------------------------------------------------------- */
#define XN 600
static void *xblocks[XN];
static pthread_barrier_t bar2;

static void *owner2(void *arg)
{
	(void)arg;
	for (int i = 0; i < XN; i++)
		xblocks[i] = xmalloc(48);
	pthread_barrier_wait(&bar2); /* 1: published */
	pthread_barrier_wait(&bar2); /* 2: freed by the other thread; main cycles */
	pthread_barrier_wait(&bar2); /* 3: main done */
	for (int i = 0; i < 200; i++) /* takes its inbox back */
		free(xmalloc(48));
	pthread_barrier_wait(&bar2); /* 4 */
	pthread_barrier_wait(&bar2); /* 5: main cycled again */
	return NULL;
}

static void *freer2(void *arg)
{
	(void)arg;
	pthread_barrier_wait(&bar2); /* 1 */
	for (int i = 0; i < XN; i++) {
		void *p = xblocks[i];
		xblocks[i] = NULL;
		if (i % 50 == 7)
			keep(p, 48);
		else
			free(p);
	}
	pthread_barrier_wait(&bar2); /* 2 */
	pthread_barrier_wait(&bar2); /* 3 */
	pthread_barrier_wait(&bar2); /* 4 */
	pthread_barrier_wait(&bar2); /* 5 */
	return NULL;
}

static void phase_owners(void)
{
	pthread_t a, b;
	pthread_barrier_init(&bar2, NULL, 3);
	pthread_create(&a, NULL, owner2, NULL);
	pthread_create(&b, NULL, freer2, NULL);
	pthread_barrier_wait(&bar2); /* 1 */
	pthread_barrier_wait(&bar2); /* 2 */
	phase_cycle("another thread's frees in its outbox and the owner's inbox (both threads alive)", 2);
	pthread_barrier_wait(&bar2); /* 3 */
	pthread_barrier_wait(&bar2); /* 4 */
	phase_cycle("after the owner took its inbox back", 1);
	pthread_barrier_wait(&bar2); /* 5 */
	pthread_join(a, NULL);
	pthread_join(b, NULL);
	pthread_barrier_destroy(&bar2);
	phase_cycle("after both threads exited", 1);
}

/* ---- 3. transfer batches -------------------------------------------------------------------- */
#define TN 6000
static void *tblocks[TN];
static pthread_barrier_t bar3;

static void *self_freer3(void *arg)
{
	(void)arg;
	void **own = malloc(TN * sizeof *own);
	for (int i = 0; i < TN; i++)
		own[i] = xmalloc(32);
	for (int i = 0; i < TN; i++) /* lists overflow: batches parked in the mcentral */
		free(own[i]);
	free(own);
	for (int i = 0; i < TN; i++) /* for the remote freer */
		tblocks[i] = xmalloc(64);
	pthread_barrier_wait(&bar3); /* 1: own frees done, tblocks published */
	pthread_barrier_wait(&bar3); /* 2: main cycled; the other thread frees tblocks */
	pthread_barrier_wait(&bar3); /* 3: freed; main cycles */
	pthread_barrier_wait(&bar3); /* 4 */
	return NULL;
}

static void *remote_freer3(void *arg)
{
	(void)arg;
	pthread_barrier_wait(&bar3); /* 1 */
	pthread_barrier_wait(&bar3); /* 2 */
	for (int i = 0; i < TN; i++) { /* more than an inbox holds: parked batches */
		void *p = tblocks[i];
		tblocks[i] = NULL;
		if (i % 500 == 3)
			keep(p, 64);
		else
			free(p);
	}
	pthread_barrier_wait(&bar3); /* 3 */
	pthread_barrier_wait(&bar3); /* 4 */
	return NULL;
}

static void phase_batches(void)
{
	pthread_t a, b;
	pthread_barrier_init(&bar3, NULL, 3);
	pthread_create(&a, NULL, self_freer3, NULL);
	pthread_create(&b, NULL, remote_freer3, NULL);
	pthread_barrier_wait(&bar3); /* 1 */
	phase_cycle("thousands of one class freed by their thread (transfer batches)", 1);
	pthread_barrier_wait(&bar3); /* 2 */
	pthread_barrier_wait(&bar3); /* 3 */
	phase_cycle("thousands freed by another thread (full inboxes, parked batches)", 1);
	pthread_barrier_wait(&bar3); /* 4 */
	pthread_join(a, NULL);
	pthread_join(b, NULL);
	pthread_barrier_destroy(&bar3);
	phase_cycle("after the batch threads exited", 1);
}

/* ---- 4. cached large spans ------------------------------------------------------------------ */
static pthread_barrier_t bar4;

static void large_round(int keep_some)
{
	static const size_t big[] = {33 << 10, 40000, 64 << 10, 100000, 200000, 512 << 10, 1 << 20, 3 << 20};
	void *p[16];
	for (int i = 0; i < 16; i++)
		p[i] = xmalloc(big[i % 8]);
	for (int i = 0; i < 16; i++) {
		if (keep_some && i == 5)
			keep(p[i], big[i % 8]);
		else
			free(p[i]);
		p[i] = NULL;
	}
	gc_scrub_stack();
}

static void *large_thread(void *arg)
{
	(void)arg;
	large_round(1);
	pthread_barrier_wait(&bar4); /* 1: freed; main cycles */
	pthread_barrier_wait(&bar4); /* 2 */
	return NULL;
}

static void phase_large(void)
{
	large_round(1);
	phase_cycle("large blocks just freed (cached large spans, this thread)", 2);
	pthread_t t;
	pthread_barrier_init(&bar4, NULL, 2);
	pthread_create(&t, NULL, large_thread, NULL);
	pthread_barrier_wait(&bar4); /* 1 */
	phase_cycle("large blocks just freed by a live thread", 1);
	pthread_barrier_wait(&bar4); /* 2 */
	pthread_join(t, NULL);
	pthread_barrier_destroy(&bar4);
	phase_cycle("after that thread exited", 1);
}

/* ---- 5. exited threads, orphan cache -------------------------------------------------------- */
static pthread_key_t late_key;
static __thread void *late_blocks[64];

/* Runs after goalloc's own key destructor (goalloc made its key first): this thread's cache is
 * gone, its mallocs come from the orphan cache and its frees go straight to the mcentral. */
static void late_destructor(void *v)
{
	(void)v;
	for (int i = 0; i < 64; i++) { /* blocks allocated while the cache was live */
		if (i % 16 == 0)
			keep(late_blocks[i], sizes[i % NSIZES]);
		else
			free(late_blocks[i]);
		late_blocks[i] = NULL;
	}
	void *p[200];
	for (int i = 0; i < 200; i++)
		p[i] = xmalloc(sizes[i % 6]);
	for (int i = 0; i < 200; i++) {
		if (i % 50 == 1)
			keep(p[i], sizes[i % 6]);
		else
			free(p[i]);
		p[i] = NULL;
	}
}

static void *exiting_thread(void *arg)
{
	(void)arg;
	enum { N = 800 };
	void **b = malloc(N * sizeof *b);
	for (int i = 0; i < N; i++)
		b[i] = xmalloc(sizes[i % NSIZES]);
	for (int i = 0; i < N; i++)
		if (i % 100 == 9)
			keep(b[i], sizes[i % NSIZES]);
		else
			free(b[i]);
	free(b);
	for (int i = 0; i < 64; i++)
		late_blocks[i] = xmalloc(sizes[i % NSIZES]);
	pthread_setspecific(late_key, (void *)1);
	return NULL;
}

static void phase_exited(void)
{
	pthread_key_create(&late_key, late_destructor);
	pthread_t t[4];
	for (int i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, exiting_thread, NULL);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	phase_cycle("blocks freed by threads that exited, and through the orphan cache", 2);
	/* and the orphan cache's span serves the next dead thread too */
	for (int i = 0; i < 2; i++)
		pthread_create(&t[i], NULL, exiting_thread, NULL);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	phase_cycle("a second round of exited threads", 1);
}

/* ---- 6. deferred frees: a signal handler frees while malloc runs ----------------------------- */
#define SN 6000
static void *sigblocks[SN];
static atomic_int sig_next;
static atomic_int sig_freed;

static void on_alarm(int sig)
{
	(void)sig;
	int e = errno;
	int i = atomic_fetch_add(&sig_next, 1);
	if (i < SN) {
		void *p = sigblocks[i];
		sigblocks[i] = NULL;
		free(p);
		atomic_fetch_add(&sig_freed, 1);
	}
	errno = e;
}

static struct tally sig_tally;
static atomic_int gc_thread_stop;

static void *gc_thread(void *arg)
{
	(void)arg;
	struct timespec ts = {0, 2 * 1000 * 1000};
	while (!atomic_load(&gc_thread_stop)) {
		one_cycle(&sig_tally, 0);
		nanosleep(&ts, NULL);
	}
	return NULL;
}

#define RING 128
static void *ring[RING];

static void phase_signal(double seconds)
{
	uint64_t rnd = 0x9e3779b97f4a7c15ULL;
	for (int i = 0; i < SN; i++)
		sigblocks[i] = xmalloc(i % 97 == 0 ? 40000 + (size_t)i : sizes[i % NSIZES]);
	for (int i = 0; i < RING; i++)
		ring[i] = xmalloc(16);

	/* SIGALRM for the main thread only */
	sigset_t alrm, old;
	sigemptyset(&alrm);
	sigaddset(&alrm, SIGALRM);
	pthread_sigmask(SIG_BLOCK, &alrm, &old);
	pthread_t g;
	memset(&sig_tally, 0, sizeof sig_tally);
	pthread_create(&g, NULL, gc_thread, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_alarm;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGALRM, &sa, NULL);
	struct itimerval it = {{0, 250}, {0, 250}};
	setitimer(ITIMER_REAL, &it, NULL);

	/* For the given time, and longer (up to 10 s) until the handler has freed 300 blocks and the
	 * thread has run 5 cycles: signals arrive late on loaded cores. */
	double start = gc_now(), end = start + seconds;
	long iters = 0;
	for (;;) {
		double now = gc_now();
		if (atomic_load(&sig_next) >= SN || now >= start + 10 ||
		    (now >= end && atomic_load(&sig_freed) >= 300 && sig_tally.cycles + sig_tally.aborted >= 5))
			break;
		for (int k = 0; k < 256; k++, iters++) {
			uint64_t r = gc_rand(&rnd);
			size_t n = (r & 0xff) == 0 ? 40000 + (r >> 40) % 30000 : sizes[(r >> 8) % NSIZES];
			int j = (int)((r >> 20) % RING);
			void *p = malloc(n);
			if (p)
				((volatile char *)p)[0] = 1;
			free(ring[j]);
			ring[j] = p;
		}
	}
	struct itimerval off = {{0, 0}, {0, 0}};
	setitimer(ITIMER_REAL, &off, NULL);
	signal(SIGALRM, SIG_IGN);
	atomic_store(&gc_thread_stop, 1);
	pthread_join(g, NULL);
	gc_diag("signal phase: %ld malloc/free pairs, %d blocks freed by the handler, %d cycles (%d aborted)", iters,
		atomic_load(&sig_freed), sig_tally.cycles, sig_tally.aborted);
	gc_check(atomic_load(&sig_freed) >= 100, "SIGALRM handler freed %d blocks while malloc/free ran",
		 atomic_load(&sig_freed));
	report_tally("cycles every 2 ms while a SIGALRM handler frees during malloc/free (deferred frees)", &sig_tally);
	for (int i = 0; i < SN; i++) {
		free(sigblocks[i]);
		sigblocks[i] = NULL;
	}
	for (int i = 0; i < RING; i++) {
		free(ring[i]);
		ring[i] = NULL;
	}
	phase_cycle("after the signal phase", 1);
}

int main(int argc, char **argv)
{
	double sig_seconds = argc > 1 ? atof(argv[1]) : 0.6;
	gc_require_mode();
	gc_check_environ();
	freed_at_start = gc_stats_now().freed_objects;
	gc_diag("mode %s", gc_mode_name(gcapi.mode));

	phase_lists();
	phase_owners();
	phase_batches();
	phase_large();
	phase_exited();
	phase_signal(sig_seconds);

	/* Free every kept block: one the collector had freed would be freed twice. */
	gc_check(verify_kept(), "all %d kept blocks intact at the end", nkept);
	for (int i = 0; i < nkept; i++) {
		free(kept[i].p);
		kept[i].p = NULL;
	}
	nkept = 0;
	phase_cycle("after every kept block was freed", 1);
	printf("done %d\n", gc_nfailed);
	fflush(stdout);
	return 0;
}
