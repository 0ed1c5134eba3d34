/* t_owner — a freed block goes back to the thread that owns its span (core/mowner.h):
 *  (a) blocks another (live) thread frees come back to their allocating thread's malloc, from
 *      its inbox, while the freeing thread keeps none of them but the last few it gathers before
 *      sending (its outbox: fewer than MCACHE_OUTBOX_MAX);
 *  (b) more of them than an inbox holds: the rest are parked for the next thread that runs out,
 *      and every block is reused, none lost;
 *  (c) blocks of a thread that has exited: the thread that frees them adopts their spans and its
 *      own malloc gets them back;
 *  (d) in a forked child, blocks owned by a parent's thread (absent from the child) that the child
 *      frees come back to the child's malloc, not into the dead thread's inbox;
 *  (e) a second free of a block that waits in its owner's inbox ends the program with goalloc's
 *      message naming the pointer;
 *  and the counters of blocks and bytes in use come back to where they were.
 * Built with -fno-builtin (the Makefile): the compiler must not remove the frees it can see.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tap.h"
#include "api_util.h"
#include "death.h"
#include "goalloc.h"
#include "tunables.h" /* MCACHE_OUTBOX_MAX */

#define SIZE 48 /* one small class: its list and inbox hold 512 blocks */
#define N 200   /* fewer than an inbox holds */
#define MANY 2000 /* more */

static void *blocks[MANY];
static pthread_barrier_t bar;

/* How many of the n pointers in want[] are among the m in got[]. */
static size_t found(void *const *want, size_t n, void *const *got, size_t m)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < m; j++)
			if (want[i] == got[j]) {
				k++;
				break;
			}
	return k;
}

/* The owner in (a) and (b): allocates n blocks, waits while another thread frees them, then
 * allocates 2n + 64 and counts how many of the freed ones it got back (its return value). */
struct owner_arg {
	size_t n;
	size_t back;
};

static void *owner_thread(void *argp)
{
	struct owner_arg *arg = argp;
	size_t n = arg->n, m = 2 * n + 64;
	for (size_t i = 0; i < n; i++)
		blocks[i] = malloc(SIZE);
	pthread_barrier_wait(&bar); /* 1: blocks published */
	pthread_barrier_wait(&bar); /* 2: all freed by the other thread */
	void **again = malloc(m * sizeof *again);
	for (size_t i = 0; i < m; i++)
		again[i] = malloc(SIZE);
	arg->back = found(blocks, n, again, m);
	for (size_t i = 0; i < m; i++)
		free(again[i]);
	free(again);
	pthread_barrier_wait(&bar); /* 3: counted; the freeing thread may go */
	return NULL;
}

/* The freeing thread of (a) and (b): frees the owner's blocks and stays alive (its list would
 * keep them, were they pushed there) until the owner has counted. */
static void *freeing_thread(void *argp)
{
	size_t n = *(size_t *)argp;
	pthread_barrier_wait(&bar);
	for (size_t i = 0; i < n; i++)
		free(blocks[i]);
	pthread_barrier_wait(&bar);
	pthread_barrier_wait(&bar);
	return NULL;
}

static size_t run_pair(size_t n)
{
	struct owner_arg arg = {n, 0};
	pthread_t a, b;
	pthread_barrier_init(&bar, NULL, 2);
	pthread_create(&a, NULL, owner_thread, &arg);
	pthread_create(&b, NULL, freeing_thread, &n);
	pthread_join(a, NULL);
	pthread_join(b, NULL);
	pthread_barrier_destroy(&bar);
	return arg.back;
}

static void *alloc_and_exit(void *argp)
{
	size_t n = *(size_t *)argp;
	for (size_t i = 0; i < n; i++)
		blocks[i] = malloc(SIZE);
	return NULL;
}

static void *meet(void *arg)
{
	pthread_barrier_wait(&bar);
	return arg;
}

/* Free blocks[0 .. n) on this thread, then malloc 2n + 64 blocks: how many of them come back. */
static size_t free_then_reuse(size_t n)
{
	size_t m = 2 * n + 64;
	void **again = malloc(m * sizeof *again);
	for (size_t i = 0; i < n; i++)
		free(blocks[i]);
	for (size_t i = 0; i < m; i++)
		again[i] = malloc(SIZE);
	size_t k = found(blocks, n, again, m);
	for (size_t i = 0; i < m; i++)
		free(again[i]);
	free(again);
	return k;
}

/* (d) and (e): a thread that allocates N blocks and then waits, alive, until released. */
static pthread_mutex_t hold = PTHREAD_MUTEX_INITIALIZER;

static void *alloc_and_wait(void *argp)
{
	(void)argp;
	for (size_t i = 0; i < N; i++)
		blocks[i] = malloc(SIZE);
	pthread_barrier_wait(&bar);
	pthread_mutex_lock(&hold);
	pthread_mutex_unlock(&hold);
	return NULL;
}

/* In a child: a thread allocates N blocks and waits; this thread frees one (to the owner's
 * inbox), writes its address on `info`, and frees it again. */
static void second_free_in_inbox(const void *arg, int info)
{
	(void)arg;
	pthread_t a;
	pthread_barrier_init(&bar, NULL, 2);
	pthread_mutex_lock(&hold);
	pthread_create(&a, NULL, alloc_and_wait, NULL);
	pthread_barrier_wait(&bar);
	void *p = blocks[7];
	free(p); /* to its owner's inbox */
	if (write(info, &p, sizeof p) != (ssize_t)sizeof p)
		_exit(3);
	free(p); /* again */
}

/* goalloc_stats, looked up in the preloaded library (the test links no goalloc). */
static void live_counts(uint64_t *blocks_live, uint64_t *bytes)
{
	int (*stats_fn)(struct goalloc_stats *);
	struct goalloc_stats st = {0};
	*(void **)&stats_fn = dlsym(RTLD_DEFAULT, "goalloc_stats");
	if (stats_fn)
		stats_fn(&st);
	*blocks_live = st.mallocs - st.frees;
	*bytes = st.bytes_in_use;
}

int main(void)
{
	int g = under_goalloc();
	plan(7);
	uint64_t live0 = 0, bytes0 = 0, live1 = 0, bytes1 = 0;
	/* What the C library allocates once before the count starts: for fork, and for threads (the
	 * thread vector of each stack it keeps cached: as many as ran at once, two here). */
	pthread_t w[2];
	pthread_barrier_init(&bar, NULL, 2);
	for (int i = 0; i < 2; i++)
		pthread_create(&w[i], NULL, meet, NULL);
	for (int i = 0; i < 2; i++)
		pthread_join(w[i], NULL);
	pthread_barrier_destroy(&bar);
	pid_t pid = fork();
	if (pid == 0)
		_exit(0);
	wait_child(pid);
	if (g)
		live_counts(&live0, &bytes0);

	size_t back = run_pair(N);
	ok(!g || back > N - MCACHE_OUTBOX_MAX, "(a) %zu of %zu blocks freed by another thread came back to their owner%s",
	   back, (size_t)N, GA_ONLY(g));

	back = run_pair(MANY);
	ok(!g || back > MANY - MCACHE_OUTBOX_MAX, "(b) %zu of %zu, past what an inbox holds, reused by their owner%s",
	   back, (size_t)MANY, GA_ONLY(g));

	size_t n = N;
	pthread_t a;
	pthread_create(&a, NULL, alloc_and_exit, &n);
	pthread_join(a, NULL);
	back = free_then_reuse(N);
	ok(!g || back == N, "(c) %zu of %zu blocks of an exited thread reused by the thread that freed them%s",
	   back, (size_t)N, GA_ONLY(g));

	/* (d): a thread owns N blocks and stays alive in the parent; the child frees them. */
	pthread_barrier_init(&bar, NULL, 2);
	pthread_mutex_lock(&hold);
	pthread_create(&a, NULL, alloc_and_wait, NULL);
	pthread_barrier_wait(&bar);
	fflush(stdout);
	pid = fork();
	if (pid == 0)
		_exit(free_then_reuse(N) == N ? 0 : 1);
	int st = wait_child(pid);
	ok(!g || exited_clean(st), "(d) a forked child reuses the blocks of a parent's thread that it frees%s",
	   GA_ONLY(g));
	pthread_mutex_unlock(&hold);
	pthread_join(a, NULL);
	pthread_barrier_destroy(&bar);
	for (size_t i = 0; i < N; i++)
		free(blocks[i]);

	/* (e) */
	if (g) {
		char err[1024], want[64];
		void *bad = NULL;
		size_t got = 0;
		st = die_with_info(second_free_in_inbox, NULL, 10, err, sizeof err, &bad, sizeof bad, &got);
		snprintf(want, sizeof want, "%p", bad);
		int good = expect_abort(st) && got == sizeof bad && strstr(err, "goalloc") &&
			   strstr(err, "double free") && strstr(err, want);
		if (!good)
			diag_stderr(err);
		ok(good, "(e) a second free of a block in its owner's inbox aborts, naming goalloc and %s", want);
	} else {
		ok(1, "(e) a second free of a block in its owner's inbox aborts # SKIP not under goalloc");
	}

	if (g)
		live_counts(&live1, &bytes1);
	ok(!g || live1 == live0, "blocks in use back to %llu (%llu)%s", (unsigned long long)live0,
	   (unsigned long long)live1, GA_ONLY(g));
	ok(!g || bytes1 == bytes0, "bytes in use back to %llu (%llu)%s", (unsigned long long)bytes0,
	   (unsigned long long)bytes1, GA_ONLY(g));
	return done_testing();
}
