/* t_emergency.c — unit tests of the emergency reserve (core/emergency.c), which serves malloc
 * from a signal handler that interrupted its thread inside goalloc: sizes and alignment, reuse
 * of freed slots on the same thread, frees from another thread and after the allocating thread
 * exited, the fallback mappings when the reserve is full and for large blocks, double-free
 * detection, the mcache's re-entrant path (busy raised) landing there, and many owners at once
 * — a second thread and a signal handler interrupting the main thread's own reserve operations —
 * never sharing a slot. Ends with the cost of an allocation and free pair (a diagnostic only). */
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "arena.h"
#include "emergency.h"
#include "mcache.h"
#include "tap.h"

static int under_valgrind(void)
{
	const char *v = getenv("GOALLOC_UNDER_VALGRIND");
	return v && *v == '1';
}

static size_t low_bit(size_t n)
{
	return n & -n;
}

static void test_sizes(void)
{
	int bad_size = 0, bad_align = 0, outside = 0;
	unsigned in_use = emergency_slots_in_use();
	uint64_t maps = emergency_fallbacks();
	for (size_t n = 1; n <= EMERGENCY_MAX_SIZE; n += n < 256 ? 1 : 7) {
		char *p = emergency_alloc(n);
		size_t want = low_bit(n) < 16 ? 16 : low_bit(n);
		bad_size += !p || emergency_size(p) < n;
		bad_align += !p || (uintptr_t)p % want != 0;
		outside += p && (arena_of((uintptr_t)p) || span_of((uintptr_t)p));
		if (p) {
			memset(p, 0xa5, emergency_size(p));
			emergency_free(p);
		}
	}
	ok(bad_size == 0, "every size up to 32 KiB gets a block at least that large (%d bad)", bad_size);
	ok(bad_align == 0, "aligned to 16 and to the largest power of two dividing its size (%d bad)", bad_align);
	ok(outside == 0, "outside every heap arena: span_of() is NULL there (%d bad)", outside);
	ok(emergency_slots_in_use() == in_use && emergency_fallbacks() == maps,
	   "all served by the reserve, and all given back (%u slots in use, %llu mappings)",
	   emergency_slots_in_use(), (unsigned long long)(emergency_fallbacks() - maps));
	int x;
	ok(emergency_size(&x) == 0 && emergency_free(&x) == 0 && emergency_size(NULL) == 0,
	   "a pointer of no such block is not recognised");
}

static void test_reuse(void)
{
	void *p = emergency_alloc(100), *q = emergency_alloc(100);
	emergency_free(p);
	void *r = emergency_alloc(100);
	ok(p && q && p != q && r == p, "a freed slot comes back to the next allocation of its bin on the thread");
	char *mid = (char *)q + 16;
	ok(emergency_size(mid) == 0, "the inside of a block is not a block");
	emergency_free(q);
	emergency_free(r);
}

/* ---- Another thread ----------------------------------------------------------------------- */

static pthread_barrier_t bar;
static void *shared_block;

static void *alloc_free_alloc(void *arg)
{
	(void)arg;
	void **got = malloc(2 * sizeof(void *));
	shared_block = emergency_alloc(200);
	pthread_barrier_wait(&bar); /* main frees it */
	pthread_barrier_wait(&bar);
	got[0] = emergency_alloc(200);
	got[1] = emergency_alloc(3000); /* freed by main after this thread exited */
	return got;
}

static void *alloc_one(void *arg)
{
	void *p = emergency_alloc(*(size_t *)arg);
	emergency_free(p);
	return p;
}

static void test_other_threads(void)
{
	pthread_t t;
	void **got;
	unsigned in_use = emergency_slots_in_use();
	pthread_barrier_init(&bar, NULL, 2);
	pthread_create(&t, NULL, alloc_free_alloc, NULL);
	pthread_barrier_wait(&bar);
	void *p = shared_block;
	ok(p && emergency_free(p) == 1, "a block freed by another thread than its allocator");
	pthread_barrier_wait(&bar);
	pthread_join(t, (void **)&got);
	ok(got[0] == p, "the allocating thread gets that slot back (%p, %p)", got[0], p);
	ok(emergency_slots_in_use() == in_use + 2, "its two blocks are in use after it exited");
	void *late = got[1];
	ok(emergency_free(got[0]) == 1 && emergency_free(late) == 1 && emergency_slots_in_use() == in_use,
	   "and are given back by this thread");
	free(got);
	/* A later thread on the exited thread's stripe reuses the slot: one of the next
	 * EMERGENCY_STRIPES threads gets it (stripes are handed out round robin). */
	int reused = 0;
	size_t n = 3000;
	for (unsigned i = 0; i < EMERGENCY_STRIPES; i++) {
		void *r;
		pthread_create(&t, NULL, alloc_one, &n);
		pthread_join(t, &r);
		reused += r == late;
	}
	ok(reused == 1, "a later thread's allocation reuses the slot freed after its owner exited (%d)", reused);
	pthread_barrier_destroy(&bar);
}

/* ---- Full reserve, large blocks ----------------------------------------------------------- */

static void test_fallback(void)
{
	enum { N = EMERGENCY_STRIPES + 2 };
	void *p[N];
	unsigned in_use = emergency_slots_in_use();
	uint64_t maps = emergency_fallbacks();
	int good = 1;
	for (unsigned i = 0; i < N; i++) { /* 32 KiB: one slot per stripe */
		p[i] = emergency_alloc(EMERGENCY_MAX_SIZE);
		good &= p[i] && (uintptr_t)p[i] % EMERGENCY_MAX_SIZE == 0 &&
			emergency_size(p[i]) == EMERGENCY_MAX_SIZE;
	}
	ok(good, "%d blocks of 32 KiB, each aligned to 32 KiB", N);
	ok(emergency_slots_in_use() == in_use + EMERGENCY_STRIPES && emergency_fallbacks() == maps + 2,
	   "the reserve's %d, then two mappings of their own", EMERGENCY_STRIPES);
	void *last = p[N - 1];
	for (unsigned i = 0; i < N; i++)
		good &= emergency_free(p[i]) == 1;
	ok(good && emergency_slots_in_use() == in_use && emergency_size(last) == 0,
	   "all given back; a freed mapping is no longer recognised");
	size_t big = 200000;
	unsigned char *b = emergency_alloc(big);
	int zero = b != NULL;
	for (size_t i = 0; b && i < big; i++)
		zero &= b[i] == 0;
	ok(zero && emergency_size(b) >= big && emergency_fallbacks() == maps + 3,
	   "a block over 32 KiB is a fresh mapping (reads as zero)");
	ok(emergency_free(b) == 1, "and is unmapped by free");
}

static void test_double_free(void)
{
	int fds[2];
	if (pipe(fds)) {
		ok(0, "pipe");
		return;
	}
	pid_t pid = fork();
	if (pid == 0) {
		dup2(fds[1], 2);
		void *p = emergency_alloc(64);
		emergency_free(p);
		emergency_free(p);
		_exit(0);
	}
	close(fds[1]);
	char buf[256] = {0};
	ssize_t got = 0, r;
	while (got < (ssize_t)sizeof buf - 1 && (r = read(fds[0], buf + got, sizeof buf - 1 - (size_t)got)) > 0)
		got += r;
	close(fds[0]);
	int status = 0;
	waitpid(pid, &status, 0);
	ok(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT && strstr(buf, "goalloc: free(): double free detected"),
	   "a reserve block freed twice ends the program with goalloc's message");
}

/* ---- The mcache's re-entrant path ----------------------------------------------------------- */

static void test_mcache_path(void)
{
	struct mcache *c = &ga_mcache;
	uint8_t sc = GA_SPANCLASS(14, 0);
	size_t csize = ga_class_to_size[14]; /* 192: a multiple of 64 */
	c->busy = 1; /* as if a handler interrupted this thread inside goalloc */
	void *p = mcache_alloc(c, sc, 150);
	c->busy = 0;
	ok(p && !span_of((uintptr_t)p) && mcache_reentrant_size(p) >= csize && (uintptr_t)p % 64 == 0,
	   "busy: malloc's slow path takes a reserve block of the class's size (%zu), aligned as the class is",
	   mcache_reentrant_size(p));
	ok(mcache_free_reentrant(p) == 1, "mcache_free_reentrant gives it back");
}

/* ---- Many owners at once ----------------------------------------------------------------- */

/* Each owner keeps a ring of live blocks, each stamped at both ends with a value of its own; a
 * stamp found changed when the block is freed means two owners held one slot. */
struct ring {
	char *p[24];
	size_t n[24];
	uint64_t stamp[24];
	unsigned next, size;
	uint64_t seq, id, bad, nulls, ops;
};

static const size_t ring_sizes[] = {8, 16, 40, 100, 256, 700, 1500, 4000, 9000, 20000, 32768};

static void ring_step(struct ring *r)
{
	unsigned i = r->next;
	r->next = (r->next + 1) % r->size;
	if (r->p[i]) {
		uint64_t a, b;
		memcpy(&a, r->p[i], 8);
		memcpy(&b, r->p[i] + r->n[i] - 8, 8);
		r->bad += a != r->stamp[i] || b != r->stamp[i];
		emergency_free(r->p[i]);
	}
	size_t n = ring_sizes[(r->seq * 7 + i) % (sizeof ring_sizes / sizeof ring_sizes[0])];
	n = n < 16 ? 16 : n;
	r->p[i] = emergency_alloc(n);
	r->n[i] = n;
	r->stamp[i] = r->id << 48 | ++r->seq;
	if (r->p[i]) {
		memcpy(r->p[i], &r->stamp[i], 8);
		memcpy(r->p[i] + n - 8, &r->stamp[i], 8);
	} else {
		r->nulls++;
	}
	r->ops++;
}

static void ring_drain(struct ring *r)
{
	for (unsigned i = 0; i < r->size; i++) {
		if (r->p[i])
			emergency_free(r->p[i]);
		r->p[i] = NULL;
	}
}

static struct ring main_ring = {.size = 24, .id = 1}, thread_ring = {.size = 24, .id = 2},
		   handler_ring = {.size = 4, .id = 3};
static volatile int stop_thread;

static void on_alarm(int sig)
{
	(void)sig;
	ring_step(&handler_ring);
	ring_step(&handler_ring);
}

static void *churn(void *arg)
{
	(void)arg;
	while (!stop_thread)
		ring_step(&thread_ring);
	ring_drain(&thread_ring);
	return NULL;
}

static void test_many_owners(void)
{
	long rounds = under_valgrind() ? 20000 : 2000000;
	unsigned in_use = emergency_slots_in_use();
	pthread_t t;
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_alarm;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGALRM, &sa, NULL);
	/* Only the main thread takes the timer's signals: the other thread starts with them blocked. */
	sigset_t alrm;
	sigemptyset(&alrm);
	sigaddset(&alrm, SIGALRM);
	pthread_sigmask(SIG_BLOCK, &alrm, NULL);
	pthread_create(&t, NULL, churn, NULL);
	pthread_sigmask(SIG_UNBLOCK, &alrm, NULL);
	struct itimerval it = {.it_interval = {0, 50}, .it_value = {0, 50}};
	setitimer(ITIMER_REAL, &it, NULL);
	for (long i = 0; i < rounds; i++)
		ring_step(&main_ring);
	memset(&it, 0, sizeof it);
	setitimer(ITIMER_REAL, &it, NULL);
	stop_thread = 1;
	pthread_join(t, NULL);
	ring_drain(&main_ring);
	ring_drain(&handler_ring); /* (the timer is stopped: no handler runs now) */
	diag("operations: main %llu, other thread %llu, handler %llu; no block: %llu, %llu, %llu",
	     (unsigned long long)main_ring.ops, (unsigned long long)thread_ring.ops,
	     (unsigned long long)handler_ring.ops, (unsigned long long)main_ring.nulls,
	     (unsigned long long)thread_ring.nulls, (unsigned long long)handler_ring.nulls);
	ok(handler_ring.ops > 0, "the handler ran and allocated (%llu operations)", (unsigned long long)handler_ring.ops);
	ok(main_ring.bad == 0 && thread_ring.bad == 0 && handler_ring.bad == 0,
	   "no slot held by two owners at once: main, another thread, a handler interrupting main (%llu, %llu, %llu)",
	   (unsigned long long)main_ring.bad, (unsigned long long)thread_ring.bad, (unsigned long long)handler_ring.bad);
	ok(main_ring.nulls + thread_ring.nulls + handler_ring.nulls == 0, "every allocation got a block");
	ok(emergency_slots_in_use() == in_use, "every slot given back (%u in use, %u before)", emergency_slots_in_use(),
	   in_use);
}

/* ---- Cost ------------------------------------------------------------------------------- */

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void bench(void)
{
	long n = under_valgrind() ? 1000 : 1000000;
	struct mcache *c = &ga_mcache;
	double t0 = now();
	for (long i = 0; i < n; i++) {
		void *p = mcache_alloc_reentrant(c, 64);
		__asm__ volatile("" : : "r"(p) : "memory");
		mcache_free_reentrant(p);
	}
	double t1 = now();
	diag("mcache_alloc_reentrant(64) + mcache_free_reentrant: %.1f ns per pair", (t1 - t0) / (double)n * 1e9);
}

int main(void)
{
	plan(24);
	test_sizes();
	test_reuse();
	test_other_threads();
	test_fallback();
	test_double_free();
	test_mcache_path();
	test_many_owners();
	bench();
	return done_testing();
}
