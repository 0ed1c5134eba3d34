/* stress.c — long multi-threaded churn for `make stress` (not part of `make test`).
 *
 * THREADS threads run for SECONDS seconds. Each keeps a table of live blocks and, at random,
 * allocates (malloc, calloc, aligned_alloc, posix_memalign, realloc growth and shrink; sizes from
 * 1 byte to 256 KiB, now and then 4 MiB), frees, or hands a block to another thread through a
 * small locked mailbox (cross-thread frees). Every block carries a pattern derived from its
 * address and size, checked before every free and realloc. Short-lived threads are started and
 * joined throughout, and the process forks now and then (the child allocates, checks, exits).
 * Usage: stress [THREADS [SECONDS]]. Prints TAP. */
#define _GNU_SOURCE
#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tap.h"

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
	int st = 0;
	if (pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0)
		atomic_fetch_add(&forks_ok, 1);
	else
		atomic_fetch_add(&forks_bad, 1);
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

int main(int argc, char **argv)
{
	if (argc > 1)
		nthreads = atoi(argv[1]);
	if (argc > 2)
		seconds = atof(argv[2]);
	if (nthreads < 1)
		nthreads = 1;
	plan(3);
	boxes = calloc((size_t)nthreads, sizeof *boxes);
	for (int i = 0; i < nthreads; i++)
		pthread_mutex_init(&boxes[i].lock, NULL);
	pthread_t *t = calloc((size_t)nthreads, sizeof *t);
	for (int i = 0; i < nthreads; i++)
		pthread_create(&t[i], NULL, worker, (void *)(intptr_t)i);
	struct timespec ts = {(time_t)seconds, (long)((seconds - (time_t)seconds) * 1e9)};
	nanosleep(&ts, NULL);
	atomic_store(&stop, 1);
	for (int i = 0; i < nthreads; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < nthreads; i++)
		while (boxes[i].count)
			release(&boxes[i].b[--boxes[i].count]);
	ok(atomic_load(&errors) == 0, "%d threads, %.0f s, %ld operations, %ld hand-offs: no block changed, "
	   "no unexpected NULL (%ld errors)", nthreads, seconds, atomic_load(&ops), atomic_load(&handoffs),
	   atomic_load(&errors));
	ok(atomic_load(&forks_bad) == 0, "%ld forks under load, every child clean (%ld bad)", atomic_load(&forks_ok),
	   atomic_load(&forks_bad));
	ok(atomic_load(&ops) > 0, "work was done");
	free(t);
	free(boxes);
	return done_testing();
}
