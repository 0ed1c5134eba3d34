/* stress.c — long multi-threaded churn for `make stress` (not part of `make test`).
 *
 * THREADS threads run for SECONDS seconds. Each keeps a table of live blocks and, at random,
 * allocates (malloc, calloc, aligned_alloc, posix_memalign, realloc growth and shrink; sizes from
 * 1 byte to 256 KiB, now and then 4 MiB), frees, or hands a block to another thread through a
 * small locked mailbox (cross-thread frees). Every block carries a pattern derived from its
 * address and size, checked before every free and realloc. Short-lived threads are started and
 * joined throughout, and the process forks now and then (the child allocates, checks, exits).
 *
 * That churn is one scenario ("churn"); the others are storms of thread and process life cycles:
 *   tsd     threads whose pthread-key destructors (keys created after goalloc's, re-set for
 *           every round glibc runs) and C++ thread_local destructors (tls.cc) malloc, realloc and
 *           free after goalloc's own exit destructor has run for the thread, while other threads
 *           fork in a loop (the child mallocs, frees and _exits);
 *   exit    a child process per round whose main thread calls exit() while its other threads
 *           allocate and free;
 *   spawn   threads that allocate and free, and vfork+exec or posix_spawn /bin/true;
 *   handoff short-lived threads that allocate blocks, hand them over and exit at once, while
 *           other threads check and free them.
 * Each scenario runs in a process of its own, for its share of SECONDS, under a watchdog: a
 * scenario that does not finish within its time plus a generous grace is reported as hung (a
 * deadlock) and killed, and the run goes on to the next one.
 * Usage: stress [THREADS [SECONDS [SCENARIO...]]] (default: every scenario). Prints TAP. */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tap.h"

extern char **environ;
/* tls.cc: touch this thread's C++ thread_local object, whose destructor allocates. */
void stress_cxx_thread_local(unsigned seed);
long stress_cxx_errors(void);

#define SLOTS 4096
#define MAILBOX 256

struct block {
	unsigned char *p;
	size_t n;
};

struct mailbox {
	pthread_mutex_t lock;
	struct block b[MAILBOX];
	int count;
};

static int nthreads = 4;
static double seconds = 10;
static struct mailbox *boxes;
static atomic_long errors, ops, forks_ok, forks_bad, handoffs;

/* Wait for child pid (pid < 0: the fork failed); true if it exited with status 0. */
static int child_ok(pid_t pid, int *st)
{
	*st = 0;
	return pid > 0 && waitpid(pid, st, 0) == pid && WIFEXITED(*st) && WEXITSTATUS(*st) == 0;
}

/* Wait for child pid and count it as ok or bad. */
static void count_child(pid_t pid, atomic_long *ok, atomic_long *bad)
{
	int st;
	atomic_fetch_add(child_ok(pid, &st) ? ok : bad, 1);
}
static atomic_int stop;

static uint64_t rng(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static unsigned char tag(const struct block *b, size_t i)
{
	return (unsigned char)(((uintptr_t)b->p >> 4) ^ b->n ^ i * 31);
}

static void fill(struct block *b)
{
	size_t n = b->n;
	/* the whole block when small, else both ends and a stride */
	if (n <= 512) {
		for (size_t i = 0; i < n; i++)
			b->p[i] = tag(b, i);
	} else {
		for (size_t i = 0; i < n; i += i < 256 || n - i <= 256 ? 1 : 4093)
			b->p[i] = tag(b, i);
	}
}

static int check(const struct block *b)
{
	size_t n = b->n;
	for (size_t i = 0; i < n; i += n <= 512 || i < 256 || n - i <= 256 ? 1 : 4093)
		if (b->p[i] != tag(b, i))
			return 0;
	return 1;
}

static size_t pick_size(uint64_t *s)
{
	uint64_t r = rng(s);
	switch (r % 16) {
	case 0: return 1 + (r >> 8) % 8;
	case 1: return (size_t)(1 + (r >> 8) % (256 << 10));
	case 2: return (r >> 8) % 512 == 0 ? (size_t)(4 << 20) : 1 + (r >> 8) % 40000;
	default: return 1 + (r >> 8) % 1024;
	}
}

static void release(struct block *b)
{
	if (!b->p)
		return;
	if (!check(b))
		atomic_fetch_add(&errors, 1);
	free(b->p);
	b->p = NULL;
}

static void *short_lived(void *arg)
{
	uint64_t s = (uintptr_t)arg | 1;
	struct block keep[16];
	for (int i = 0; i < 16; i++) {
		keep[i].n = pick_size(&s) % 5000 + 1;
		keep[i].p = malloc(keep[i].n);
		fill(&keep[i]);
	}
	for (int i = 0; i < 16; i++)
		release(&keep[i]);
	return NULL;
}

static void do_fork(uint64_t *s)
{
	pid_t pid = fork();
	if (pid == 0) {
		int bad = 0;
		for (int i = 0; i < 2000; i++) {
			struct block b = {NULL, pick_size(s) % 100000 + 1};
			b.p = malloc(b.n);
			if (!b.p) {
				bad = 1;
				break;
			}
			fill(&b);
			bad |= !check(&b);
			free(b.p);
		}
		_exit(bad);
	}
	count_child(pid, &forks_ok, &forks_bad);
}

static void *worker(void *arg)
{
	int me = (int)(intptr_t)arg;
	uint64_t s = 0x9e3779b97f4a7c15ull * (uint64_t)(me + 1);
	static _Thread_local struct block live[SLOTS];
	long n = 0;
	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		uint64_t r = rng(&s);
		struct block *b = &live[r % SLOTS];
		switch ((r >> 40) % 10) {
		case 0: case 1: case 2: { /* allocate in one of five ways */
			release(b);
			b->n = pick_size(&s);
			unsigned how = (unsigned)((r >> 20) % 5);
			size_t al = (size_t)16 << ((r >> 24) % 9); /* 16 .. 4096 */
			if (how == 0)
				b->p = calloc(1, b->n);
			else if (how == 1)
				b->p = aligned_alloc(al, b->n);
			else if (how == 2) {
				void *q = NULL;
				b->p = posix_memalign(&q, al, b->n) == 0 ? q : NULL;
			} else
				b->p = malloc(b->n);
			if (!b->p) {
				atomic_fetch_add(&errors, 1);
				break;
			}
			if (how == 0)
				for (size_t i = 0; i < b->n; i += 509)
					if (b->p[i])
						atomic_fetch_add(&errors, 1);
			if ((how == 1 || how == 2) && ((uintptr_t)b->p & (al - 1)))
				atomic_fetch_add(&errors, 1);
			if (malloc_usable_size(b->p) < b->n)
				atomic_fetch_add(&errors, 1);
			fill(b);
			break;
		}
		case 3: case 4: /* free */
			release(b);
			break;
		case 5: { /* realloc, growing or shrinking */
			if (!b->p)
				break;
			if (!check(b))
				atomic_fetch_add(&errors, 1);
			size_t m = (r >> 16) % 2 ? b->n + b->n / 2 + 1 : b->n / 2 + 1;
			if (m > (8u << 20))
				m = 8u << 20;
			size_t keep = m < b->n ? m : b->n;
			unsigned char *q = realloc(b->p, m);
			if (!q) {
				atomic_fetch_add(&errors, 1);
				break;
			}
			/* the kept prefix still carries the tags of the old block */
			for (size_t i = 0; i < keep && i < 64; i++)
				if (q[i] != (unsigned char)((((uintptr_t)b->p >> 4) ^ b->n ^ i * 31)))
					atomic_fetch_add(&errors, 1);
			b->p = q;
			b->n = m;
			fill(b);
			break;
		}
		case 6: case 7: { /* hand a block to another thread, or take one */
			struct mailbox *box = &boxes[(me + 1 + (r >> 8) % (unsigned)nthreads) % (unsigned)nthreads];
			pthread_mutex_lock(&box->lock);
			if (b->p && box->count < MAILBOX) {
				box->b[box->count++] = *b;
				b->p = NULL;
				atomic_fetch_add(&handoffs, 1);
			}
			pthread_mutex_unlock(&box->lock);
			struct mailbox *mine = &boxes[me];
			pthread_mutex_lock(&mine->lock);
			struct block got = {NULL, 0};
			if (mine->count)
				got = mine->b[--mine->count];
			pthread_mutex_unlock(&mine->lock);
			release(&got);
			break;
		}
		case 8: /* a short-lived thread now and then */
			if ((r >> 8) % 64 == 0) {
				pthread_t t;
				if (pthread_create(&t, NULL, short_lived, (void *)(uintptr_t)r) == 0)
					pthread_join(t, NULL);
			}
			break;
		case 9: /* fork now and then (thread 0 only) */
			if (me == 0 && (r >> 8) % 4096 == 0)
				do_fork(&s);
			break;
		}
		n++;
	}
	for (int i = 0; i < SLOTS; i++)
		release(&live[i]);
	atomic_fetch_add(&ops, n);
	return NULL;
}

/* Start n threads running fn, each with its own seed; those that start are t[0 .. returned
 * count), a thread that cannot be started is an error. */
static int run_threads(int n, void *(*fn)(void *), pthread_t *t)
{
	int k = 0;
	for (int i = 0; i < n; i++) {
		if (pthread_create(&t[k], NULL, fn, (void *)(uintptr_t)(0x1234567 * (i + 1))) == 0)
			k++;
		else
			atomic_fetch_add(&errors, 1);
	}
	return k;
}

static void join_threads(int n, pthread_t *t)
{
	for (int i = 0; i < n; i++)
		pthread_join(t[i], NULL);
}

static void sleep_for(double sec)
{
	struct timespec ts = {(time_t)sec, (long)((sec - (time_t)sec) * 1e9)};
	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static int scenario_churn(void)
{
	boxes = calloc((size_t)nthreads, sizeof *boxes);
	for (int i = 0; i < nthreads; i++)
		pthread_mutex_init(&boxes[i].lock, NULL);
	pthread_t *t = calloc((size_t)nthreads, sizeof *t);
	for (int i = 0; i < nthreads; i++)
		pthread_create(&t[i], NULL, worker, (void *)(intptr_t)i);
	sleep_for(seconds);
	atomic_store(&stop, 1);
	join_threads(nthreads, t);
	for (int i = 0; i < nthreads; i++)
		while (boxes[i].count)
			release(&boxes[i].b[--boxes[i].count]);
	diag("churn: %d threads, %.0f s, %ld operations, %ld hand-offs, %ld errors; %ld forks, %ld bad", nthreads,
	     seconds, atomic_load(&ops), atomic_load(&handoffs), atomic_load(&errors), atomic_load(&forks_ok),
	     atomic_load(&forks_bad));
	free(t);
	free(boxes);
	return atomic_load(&errors) == 0 && atomic_load(&forks_bad) == 0 && atomic_load(&ops) > 0;
}

/* ---- Storms ------------------------------------------------------------------------------ */

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* A small checked block: n bytes of tag(b, i). */
static struct block take(size_t n)
{
	struct block b = {malloc(n), n};
	if (!b.p)
		atomic_fetch_add(&errors, 1);
	else
		fill(&b);
	return b;
}

/* Some allocation work of any thread: a few blocks of mixed sizes, realloc'd, checked, freed. */
static void churn_a_little(uint64_t *s, int rounds)
{
	for (int k = 0; k < rounds; k++) {
		struct block b = take(pick_size(s) % 70000 + 1);
		if (!b.p)
			continue;
		size_t m = b.n * 2 + 1;
		unsigned char *q = realloc(b.p, m);
		if (!q) {
			atomic_fetch_add(&errors, 1);
			release(&b);
			continue;
		}
		for (size_t i = 0; i < b.n && i < 64; i++)
			if (q[i] != (unsigned char)((((uintptr_t)b.p >> 4) ^ b.n ^ i * 31)))
				atomic_fetch_add(&errors, 1);
		b.p = q;
		b.n = m;
		fill(&b);
		release(&b);
	}
}

/* tsd: keys created after goalloc's (so their destructors run after its exit destructor in each
 * round); each destructor allocates, frees a block the previous round left, and re-sets its key
 * for another round while rounds remain. */
#define TSD_KEYS 3
static pthread_key_t tsd_keys[TSD_KEYS];
static atomic_long tsd_rounds, tsd_threads;

struct tsd_val {
	struct block b;
	int round;
	uint64_t seed;
};

static void tsd_destructor(void *arg)
{
	struct tsd_val *v = arg;
	uint64_t s = v->seed;
	atomic_fetch_add(&tsd_rounds, 1);
	churn_a_little(&s, 3);
	release(&v->b); /* a block of the round before */
	if (v->round + 1 < PTHREAD_DESTRUCTOR_ITERATIONS) {
		struct tsd_val *w = malloc(sizeof *w);
		if (!w) {
			atomic_fetch_add(&errors, 1);
		} else {
			w->b = take(pick_size(&s) % 40000 + 1);
			w->round = v->round + 1;
			w->seed = rng(&s);
			for (int k = 0; k < TSD_KEYS; k++) /* (v may be any key's value: set the first free) */
				if (!pthread_getspecific(tsd_keys[k]) && !pthread_setspecific(tsd_keys[k], w))
					goto set;
			release(&w->b);
			free(w);
		}
	}
set:
	free(v);
}

static void *tsd_thread(void *arg)
{
	uint64_t s = (uintptr_t)arg | 1;
	churn_a_little(&s, 4);
	for (int k = 0; k < TSD_KEYS; k++) {
		struct tsd_val *v = malloc(sizeof *v);
		if (!v) {
			atomic_fetch_add(&errors, 1);
			continue;
		}
		v->b = take(pick_size(&s) % 5000 + 1);
		v->round = 0;
		v->seed = rng(&s);
		pthread_setspecific(tsd_keys[k], v);
	}
	stress_cxx_thread_local((unsigned)rng(&s));
	atomic_fetch_add(&tsd_threads, 1);
	return NULL;
}

static void *tsd_spawner(void *arg)
{
	uint64_t s = (uintptr_t)arg | 1;
	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		pthread_t t[4];
		int n = 0;
		for (int i = 0; i < 4; i++)
			if (pthread_create(&t[n], NULL, tsd_thread, (void *)(uintptr_t)rng(&s)) == 0)
				n++;
		join_threads(n, t);
	}
	return NULL;
}

static void *forker(void *arg)
{
	uint64_t s = (uintptr_t)arg | 1;
	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		pid_t pid = fork();
		if (pid == 0) {
			void *p = malloc(pick_size(&s));
			int bad = !p;
			free(p);
			_exit(bad);
		}
		count_child(pid, &forks_ok, &forks_bad);
	}
	return NULL;
}

static int scenario_tsd(void)
{
	free(malloc(1)); /* goalloc's key exists before ours */
	for (int k = 0; k < TSD_KEYS; k++)
		pthread_key_create(&tsd_keys[k], tsd_destructor);
	int ns = nthreads > 2 ? nthreads - 2 : 1, nf = 2;
	pthread_t ts[64], tf[2];
	if (ns > 64)
		ns = 64;
	ns = run_threads(ns, tsd_spawner, ts);
	nf = run_threads(nf, forker, tf);
	sleep_for(seconds);
	atomic_store(&stop, 1);
	join_threads(ns, ts);
	join_threads(nf, tf);
	long cxx = stress_cxx_errors();
	diag("tsd: %ld threads, %ld key-destructor rounds, %ld forks (%ld bad), %ld errors, %ld C++ errors",
	     atomic_load(&tsd_threads), atomic_load(&tsd_rounds), atomic_load(&forks_ok), atomic_load(&forks_bad),
	     atomic_load(&errors), cxx);
	return atomic_load(&errors) == 0 && cxx == 0 && atomic_load(&forks_bad) == 0 &&
	       atomic_load(&tsd_rounds) > atomic_load(&tsd_threads) * TSD_KEYS;
}

/* exit: in a child per round, exit() from the main thread while the others allocate. */
static void *exit_worker(void *arg)
{
	uint64_t s = (uintptr_t)arg | 1;
	struct block keep[64] = {{0}};
	for (;;) {
		struct block *b = &keep[rng(&s) % 64];
		release(b);
		*b = take(pick_size(&s));
		if (atomic_load_explicit(&errors, memory_order_relaxed))
			_exit(3); /* a changed block: say so by the exit status */
	}
	return NULL;
}

static int scenario_exit(void)
{
	long rounds = 0, bad = 0;
	double end = now() + seconds;
	uint64_t s = 77;
	while (now() < end) {
		unsigned delay = (unsigned)(rng(&s) % 3000);
		pid_t pid = fork();
		if (pid == 0) {
			alarm(60);
			pthread_t t[64];
			int n = nthreads < 64 ? nthreads : 64;
			run_threads(n, exit_worker, t);
			usleep(delay);
			exit(0); /* atexit handlers and destructors (goalloc's too) while the others run */
		}
		int st;
		if (!child_ok(pid, &st)) {
			if (bad++ < 5)
				diag("exit: round %ld: child %s %d", rounds, WIFSIGNALED(st) ? "killed by signal" : "exit status",
				     WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
		}
		rounds++;
	}
	diag("exit: %ld rounds, %ld bad", rounds, bad);
	return bad == 0 && rounds > 0;
}

/* spawn: vfork+exec and posix_spawn of /bin/true from threads that allocate. */
static atomic_long spawns_ok, spawns_bad;

static void *spawn_worker(void *arg)
{
	uint64_t s = (uintptr_t)arg | 1;
	char *argv[] = {"/bin/true", NULL};
	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		churn_a_little(&s, 8);
		uint64_t r = rng(&s);
		if (r % 4 == 0) {
			struct block b = take(pick_size(&s));
			pid_t pid = vfork();
			if (pid == 0) {
				execve("/bin/true", argv, environ);
				_exit(127);
			}
			release(&b);
			count_child(pid, &spawns_ok, &spawns_bad);
		} else if (r % 4 == 1) {
			pid_t pid = -1;
			if (posix_spawn(&pid, "/bin/true", NULL, NULL, argv, environ))
				atomic_fetch_add(&spawns_bad, 1);
			else
				count_child(pid, &spawns_ok, &spawns_bad);
		}
	}
	return NULL;
}

static int scenario_spawn(void)
{
	int n = nthreads < 64 ? nthreads : 64;
	pthread_t t[64];
	n = run_threads(n, spawn_worker, t);
	sleep_for(seconds);
	atomic_store(&stop, 1);
	join_threads(n, t);
	diag("spawn: %ld children of vfork and posix_spawn ran /bin/true, %ld bad, %ld errors",
	     atomic_load(&spawns_ok), atomic_load(&spawns_bad), atomic_load(&errors));
	return atomic_load(&errors) == 0 && atomic_load(&spawns_bad) == 0 && atomic_load(&spawns_ok) > 0;
}

/* handoff: short-lived producers hand their blocks over and exit; consumers free them. */
static struct mailbox handbox = {PTHREAD_MUTEX_INITIALIZER, {{0}}, 0};
static atomic_long handed, producers, live_producers;

static void *producer(void *arg)
{
	uint64_t s = (uintptr_t)arg | 1;
	for (int i = 0; i < 32; i++) {
		struct block b = take(pick_size(&s));
		if (!b.p)
			continue;
		pthread_mutex_lock(&handbox.lock);
		if (handbox.count < MAILBOX) {
			handbox.b[handbox.count++] = b;
			b.p = NULL;
		}
		pthread_mutex_unlock(&handbox.lock);
		release(&b);
	}
	atomic_fetch_add(&producers, 1);
	atomic_fetch_sub(&live_producers, 1);
	return NULL; /* exits with its blocks in other threads' hands */
}

static void *producer_spawner(void *arg)
{
	uint64_t s = (uintptr_t)arg | 1;
	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		pthread_t t;
		atomic_fetch_add(&live_producers, 1);
		if (pthread_create(&t, NULL, producer, (void *)(uintptr_t)rng(&s)) == 0) {
			pthread_detach(t);
		} else {
			atomic_fetch_sub(&live_producers, 1);
			sched_yield();
		}
		while (atomic_load(&live_producers) > 16 && !atomic_load_explicit(&stop, memory_order_relaxed))
			sched_yield(); /* (a bounded number alive at once) */
	}
	return NULL;
}

static void *consumer(void *arg)
{
	(void)arg;
	for (;;) {
		struct block got = {NULL, 0};
		pthread_mutex_lock(&handbox.lock);
		if (handbox.count)
			got = handbox.b[--handbox.count];
		pthread_mutex_unlock(&handbox.lock);
		if (got.p) {
			release(&got);
			atomic_fetch_add(&handed, 1);
		} else if (atomic_load_explicit(&stop, memory_order_relaxed)) {
			return NULL;
		} else {
			sched_yield();
		}
	}
}

static int scenario_handoff(void)
{
	int np = nthreads / 2 > 0 ? nthreads / 2 : 1, nc = nthreads - np > 0 ? nthreads - np : 1;
	pthread_t tp[64], tc[64];
	np = np < 64 ? np : 64;
	nc = nc < 64 ? nc : 64;
	np = run_threads(np, producer_spawner, tp);
	nc = run_threads(nc, consumer, tc);
	sleep_for(seconds);
	atomic_store(&stop, 1);
	join_threads(np, tp);
	while (atomic_load(&live_producers) > 0)
		sleep_for(0.01); /* (detached producers finish their 32 blocks) */
	join_threads(nc, tc);
	while (handbox.count)
		release(&handbox.b[--handbox.count]);
	diag("handoff: %ld producer threads exited, %ld of their blocks freed by others, %ld errors",
	     atomic_load(&producers), atomic_load(&handed), atomic_load(&errors));
	return atomic_load(&errors) == 0 && atomic_load(&handed) > 0;
}

/* ---- Driver: each scenario in a process of its own, under a watchdog ---------------------- */

static const struct {
	const char *name;
	int (*fn)(void);
} scenarios[] = {
	{"churn", scenario_churn}, {"tsd", scenario_tsd},         {"exit", scenario_exit},
	{"spawn", scenario_spawn}, {"handoff", scenario_handoff},
};
#define NSCEN (int)(sizeof scenarios / sizeof scenarios[0])

int main(int argc, char **argv)
{
	double total = 10;
	if (argc > 1)
		nthreads = atoi(argv[1]);
	if (argc > 2)
		total = atof(argv[2]);
	if (nthreads < 1)
		nthreads = 1;
	int chosen[NSCEN], nchosen = 0;
	for (int a = 3; a < argc; a++) {
		int found = 0;
		for (int i = 0; i < NSCEN; i++)
			if (!strcmp(argv[a], scenarios[i].name))
				chosen[nchosen++] = i, found = 1;
		if (!found) {
			printf("Bail out! unknown scenario %s\n", argv[a]);
			return 2;
		}
	}
	if (!nchosen)
		for (int i = 0; i < NSCEN; i++)
			chosen[nchosen++] = i;
	seconds = total / nchosen; /* SECONDS is shared among the scenarios run */
	plan(nchosen);
	for (int c = 0; c < nchosen; c++) {
		const char *name = scenarios[chosen[c]].name;
		/* grace: a loaded machine runs slow, so a hang is only called after a long wait */
		double limit = seconds * 3 + 60, start = now();
		fflush(stdout);
		pid_t pid = fork();
		if (pid == 0) {
			setpgid(0, 0);
			_exit(scenarios[chosen[c]].fn() ? 0 : 1);
		}
		if (pid < 0) {
			ok(0, "%s: fork", name);
			continue;
		}
		setpgid(pid, pid);
		int st = 0, done = 0;
		while (!done && now() - start < limit) {
			pid_t r = waitpid(pid, &st, WNOHANG);
			if (r == pid)
				done = 1;
			else
				sleep_for(0.1);
		}
		if (!done) {
			ok(0, "%s: HUNG — not finished %.0f s after it started (it runs %.0f s): deadlock? killed", name,
			   now() - start, seconds);
			/* where its threads wait (gdb, when there is one: STRESS_GDB=0 turns it off) */
			const char *g = getenv("STRESS_GDB");
			if ((!g || strcmp(g, "0")) && !access("/usr/bin/gdb", X_OK)) {
				/* every stack to a file; here the lock and fork frames of each thread */
				char cmd[1024];
				snprintf(cmd, sizeof cmd,
					 "env -u LD_PRELOAD gdb -p %d -batch -ex 'thread apply all bt' >/tmp/stress-hang-%s-%d.txt "
					 "2>/dev/null; echo '#   stacks: /tmp/stress-hang-%s-%d.txt'; grep -E '^Thread|in "
					 "(ga_lock|alloc_orphan|fork_prepare|[a-z_]*fork[a-z_]*|mcentral_[a-z_]*|threads_[a-z_]*|"
					 "mcache_[a-z_]*|tsd_[a-z_]*|__nptl_deallocate_tsd) ' /tmp/stress-hang-%s-%d.txt | "
					 "sed -e 's/^/#   /' -e 's/ (.*) at / at /' | head -150",
					 (int)pid, name, (int)pid, name, (int)pid, name, (int)pid);
				fflush(stdout);
				if (system(cmd) != 0)
					diag("(gdb failed)");
			}
			kill(-pid, SIGKILL);
			waitpid(pid, &st, 0);
			continue;
		}
		ok(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s: %.0f s, %s %d", name, now() - start,
		   WIFSIGNALED(st) ? "killed by signal" : "exit status", WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
	}
	return done_testing();
}
