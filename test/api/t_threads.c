/* t_threads — the allocator under threads:
 *  (a) 4 producer -> consumer pairs pass 10^6 blocks (8..4096 bytes) through ring queues; each
 *      block carries a pattern the consuming thread checks before it frees (cross-thread free);
 *  (b) 10,000 short-lived threads, 32 at a time, allocate a few blocks, free some, and leave two
 *      for the main thread to check and free after the join (thread-cache teardown);
 *  (c) 8 threads allocate, reallocate and free random sizes up to 1 MiB at once, swapping blocks
 *      through a shared table so most frees happen on another thread.
 * Inside threads only T_MALLOC/T_FREE/T_CALLOC/T_REALLOC allocate, so this file also builds with
 * -DGOALLOC_DIRECT against goalloc's own entry points (the ThreadSanitizer build).
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "api_util.h"

#if defined(__SANITIZE_THREAD__)
#define UNDER_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define UNDER_TSAN 1
#endif
#endif
#ifdef UNDER_TSAN
#define SCALE 10 /* ThreadSanitizer is ~10x slower: do a tenth of the work */
#else
#define SCALE 1
#endif
static int scale = SCALE; /* divides every count; 20 under valgrind */

/* ---- patterns: every byte for small blocks, edges and one byte a page for big ones ---- */

static inline uint64_t mix(uint64_t x)
{
	x ^= x >> 31;
	x *= 0x7fb5d329728ea185ull;
	x ^= x >> 27;
	x *= 0x81dadef4bc2dd44dull;
	return x ^ (x >> 33);
}

static inline unsigned char pbyte(uint64_t seed, size_t i)
{
	return (unsigned char)(seed + i * 167u + (i >> 9));
}

static void fill(unsigned char *p, size_t n, uint64_t seed, size_t from)
{
	size_t i;
	if (n <= 4096) {
		for (i = from; i < n; i++)
			p[i] = pbyte(seed, i);
		return;
	}
	for (i = from; i < 64; i++)
		p[i] = pbyte(seed, i);
	for (i = 4096; i < n; i += 4096)
		p[i] = pbyte(seed, i);
	for (i = n - 64; i < n; i++)
		p[i] = pbyte(seed, i);
}

/* Offset of the first bad byte among those fill(p, n, seed, from) wrote below `limit`, or n. */
static size_t verify_upto(const unsigned char *p, size_t n, uint64_t seed, size_t from, size_t limit)
{
	size_t i;
	if (n <= 4096) {
		for (i = from; i < n && i < limit; i++)
			if (p[i] != pbyte(seed, i))
				return i;
		return n;
	}
	for (i = from; i < 64 && i < limit; i++)
		if (p[i] != pbyte(seed, i))
			return i;
	for (i = 4096; i < n && i < limit; i += 4096)
		if (p[i] != pbyte(seed, i))
			return i;
	for (i = n - 64; i < n && i < limit; i++)
		if (p[i] != pbyte(seed, i))
			return i;
	return n;
}

static size_t verify(const unsigned char *p, size_t n, uint64_t seed, size_t from)
{
	return verify_upto(p, n, seed, from, n);
}

/* ---- error capture without allocating: the first error's details, a count of all ---- */

static atomic_long nerrors;
static atomic_int first_taken;
static struct {
	const char *what;
	void *p;
	size_t size, off;
} first_err;

static void error(const char *what, void *p, size_t size, size_t off)
{
	int expect = 0;
	atomic_fetch_add(&nerrors, 1);
	if (atomic_compare_exchange_strong(&first_taken, &expect, 1)) {
		first_err.what = what;
		first_err.p = p;
		first_err.size = size;
		first_err.off = off;
	}
}

static void report_errors(const char *part, long before)
{
	long n = atomic_load(&nerrors) - before;
	if (n && atomic_load(&first_taken))
		diag("%s: first error: %s (block %p, size %zu, offset %zu)", part, first_err.what,
		     first_err.p, first_err.size, first_err.off);
	atomic_store(&first_taken, 0);
}

static void bail_out(const char *why)
{
	printf("Bail out! %s\n", why);
	fflush(stdout);
	exit(1);
}

static inline uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* ---------------------------- (a) producer -> consumer ---------------------------- */

#define PAIRS 4
#define QCAP 512
#define BLOCKS_TOTAL (1000000 / scale)

struct item {
	unsigned char *p;
	size_t size;
	uint64_t seed;
};

struct queue {
	pthread_mutex_t lock;
	pthread_cond_t not_empty, not_full;
	struct item it[QCAP];
	unsigned head, tail; /* free-running; head - tail = count */
	long consumed, reallocs;
} queues[PAIRS];

static void q_push(struct queue *q, struct item it)
{
	pthread_mutex_lock(&q->lock);
	while (q->head - q->tail == QCAP)
		pthread_cond_wait(&q->not_full, &q->lock);
	q->it[q->head % QCAP] = it;
	if (q->head++ == q->tail)
		pthread_cond_signal(&q->not_empty);
	pthread_mutex_unlock(&q->lock);
}

static struct item q_pop(struct queue *q)
{
	struct item it;
	pthread_mutex_lock(&q->lock);
	while (q->head == q->tail)
		pthread_cond_wait(&q->not_empty, &q->lock);
	it = q->it[q->tail % QCAP];
	if (q->head - q->tail == QCAP)
		pthread_cond_signal(&q->not_full);
	q->tail++;
	pthread_mutex_unlock(&q->lock);
	return it;
}

static void *producer(void *arg)
{
	struct queue *q = arg;
	uint64_t s = mix((uint64_t)(q - queues) + 1);
	long i, n = BLOCKS_TOTAL / PAIRS;
	for (i = 0; i < n; i++) {
		uint64_t r = rnd(&s);
		size_t size = 8 + (size_t)(r % ((size_t)8 << (r >> 40) % 10));
		struct item it;
		if (size > 4096)
			size = 4096;
		it.size = size;
		it.seed = r >> 8;
		it.p = launder((i & 15) == 7 ? T_CALLOC(1, size) : T_MALLOC(size));
		if (!it.p) {
			error("producer: allocation returned NULL", NULL, size, 0);
		} else {
			if ((i & 15) == 7) {
				size_t k;
				for (k = 0; k < size; k++)
					if (it.p[k]) {
						error("producer: calloc block not zeroed", it.p, size, k);
						break;
					}
			}
			fill(it.p, size, it.seed, 0);
		}
		q_push(q, it);
	}
	{
		struct item end = {NULL, 0, 0};
		q_push(q, end);
	}
	return NULL;
}

static void *consumer(void *arg)
{
	struct queue *q = arg;
	long got = 0, reallocs = 0;
	for (;;) {
		struct item it = q_pop(q);
		size_t off;
		if (!it.p) {
			if (!it.size)
				break;
			continue;
		}
		off = verify(it.p, it.size, it.seed, 0);
		if (off != it.size)
			error("consumer: block changed between producer and consumer", it.p, it.size, off);
		if ((it.seed & 7) == 3) {
			/* Grow it on this thread, then check the old contents came along. */
			size_t ns = it.size * 2 + 24;
			unsigned char *np = T_REALLOC(it.p, ns);
			reallocs++;
			if (!np) {
				error("consumer: realloc returned NULL", it.p, ns, 0);
			} else {
				off = verify(np, it.size, it.seed, 0);
				if (off != it.size)
					error("consumer: realloc lost contents", np, it.size, off);
				it.p = np;
			}
		}
		T_FREE(it.p);
		got++;
	}
	pthread_mutex_lock(&q->lock);
	q->consumed = got;
	q->reallocs = reallocs;
	pthread_mutex_unlock(&q->lock);
	return NULL;
}

static void part_a(void)
{
	pthread_t prod[PAIRS], cons[PAIRS];
	long before = atomic_load(&nerrors), total = 0, reallocs = 0;
	int i, created = 1;

	for (i = 0; i < PAIRS; i++) {
		pthread_mutex_init(&queues[i].lock, NULL);
		pthread_cond_init(&queues[i].not_empty, NULL);
		pthread_cond_init(&queues[i].not_full, NULL);
	}
	for (i = 0; i < PAIRS; i++) {
		if (pthread_create(&cons[i], NULL, consumer, &queues[i]) ||
		    pthread_create(&prod[i], NULL, producer, &queues[i])) {
			created = 0;
			break;
		}
	}
	if (!created)
		bail_out("pthread_create failed");
	for (i = 0; i < PAIRS; i++) {
		pthread_join(prod[i], NULL);
		pthread_join(cons[i], NULL);
		total += queues[i].consumed;
		reallocs += queues[i].reallocs;
	}
	report_errors("producer/consumer", before);
	ok(total == (BLOCKS_TOTAL / PAIRS) * PAIRS,
	   "producer/consumer: %ld blocks passed between %d thread pairs (%ld regrown by the consumer)",
	   total, PAIRS, reallocs);
	ok(atomic_load(&nerrors) == before,
	   "producer/consumer: every block intact when the other thread freed it (%ld errors)",
	   atomic_load(&nerrors) - before);
}

/* ---------------------------- (b) short-lived threads ---------------------------- */

#define SHORT_THREADS (10000 / scale)
#define BATCH 32

struct short_res {
	unsigned char *keep[2];
	size_t size[2];
	uint64_t seed;
};

static void *short_lived(void *arg)
{
	struct short_res *r = arg;
	static const size_t sz[] = {16, 100, 1000, 5000, 24, 8};
	unsigned char *b[6];
	size_t n;
	int i;
	for (i = 0; i < 6; i++) {
		n = sz[i];
		if (i == 3 && (r->seed & 15) == 0)
			n = 40000 + (size_t)(r->seed % 100000); /* now and then a large block */
		b[i] = launder(i == 2 ? T_CALLOC(n, 1) : T_MALLOC(n));
		if (!b[i]) {
			error("short-lived thread: allocation returned NULL", NULL, n, 0);
			continue;
		}
		fill(b[i], n, r->seed + (uint64_t)i, 0);
		if (i == 1 || i == 3) {
			r->keep[i / 2] = b[i];
			r->size[i / 2] = n;
			b[i] = NULL;
		}
	}
	for (i = 0; i < 6; i++) {
		if (!b[i])
			continue;
		n = verify(b[i], sz[i], r->seed + (uint64_t)i, 0);
		if (n != sz[i])
			error("short-lived thread: own block changed", b[i], sz[i], n);
		T_FREE(b[i]);
	}
	return NULL;
}

static void part_b(void)
{
	static struct short_res res[BATCH];
	pthread_t th[BATCH];
	pthread_attr_t attr;
	long before = atomic_load(&nerrors), started = 0, kept = 0;
	int done, i, k;

	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	for (done = 0; done < SHORT_THREADS; done += BATCH) {
		int n = SHORT_THREADS - done < BATCH ? SHORT_THREADS - done : BATCH;
		for (i = 0; i < n; i++) {
			memset(&res[i], 0, sizeof res[i]);
			res[i].seed = mix((uint64_t)(done + i) + 77);
			if (pthread_create(&th[i], &attr, short_lived, &res[i]))
				bail_out("pthread_create failed");
			started++;
		}
		for (i = 0; i < n; i++)
			pthread_join(th[i], NULL);
		/* Check and free what the dead threads left behind. */
		for (i = 0; i < n; i++)
			for (k = 0; k < 2; k++) {
				size_t off;
				if (!res[i].keep[k])
					continue;
				off = verify(res[i].keep[k], res[i].size[k], res[i].seed + (uint64_t)(k * 2 + 1), 0);
				if (off != res[i].size[k])
					error("block left by an exited thread changed", res[i].keep[k], res[i].size[k], off);
				T_FREE(res[i].keep[k]);
				kept++;
			}
	}
	pthread_attr_destroy(&attr);
	report_errors("short-lived threads", before);
	ok(started == SHORT_THREADS && kept == 2L * SHORT_THREADS,
	   "short-lived threads: %ld threads ran, %ld blocks outlived their thread", started, kept);
	ok(atomic_load(&nerrors) == before,
	   "short-lived threads: blocks intact, freed by the main thread after exit (%ld errors)",
	   atomic_load(&nerrors) - before);
}

/* ---------------------------- (c) everyone at once ---------------------------- */

#define MIXERS 8
#define MIX_OPS (120000 / scale)
#define SLOTS 1024

static _Atomic(unsigned char *) slots[SLOTS];
static atomic_long mix_large, mix_cross;

/* Blocks in (c) carry their size and seed in the first 16 bytes, so any thread can check them. */
static unsigned char *mk(size_t n, uint64_t seed, int zeroed)
{
	unsigned char *p = launder(zeroed ? T_CALLOC(1, n) : T_MALLOC(n));
	if (!p) {
		error("mixer: allocation returned NULL", NULL, n, 0);
		return NULL;
	}
	if (zeroed) {
		size_t i;
		for (i = 0; i < n && i < 4096; i++)
			if (p[i]) {
				error("mixer: calloc block not zeroed", p, n, i);
				break;
			}
	}
	memcpy(p, &n, 8);
	memcpy(p + 8, &seed, 8);
	fill(p, n, seed, 16);
	return p;
}

static void check_free(unsigned char *p, const char *what)
{
	size_t n, off;
	uint64_t seed;
	if (!p)
		return;
	memcpy(&n, p, 8);
	memcpy(&seed, p + 8, 8);
	if (n < 16 || n > (2u << 20)) {
		error(what, p, n, 0);
		return; /* header smashed: do not trust it, leak the block */
	}
	off = verify(p, n, seed, 16);
	if (off != n)
		error(what, p, n, off);
	T_FREE(p);
}

static size_t mix_size(uint64_t r)
{
	unsigned k = (unsigned)(r >> 56) % 100;
	if (k < 70)
		return 16 + (size_t)(r % 497);
	if (k < 95)
		return 512 + (size_t)(r % 32257);
	return 32769 + (size_t)(r % ((1u << 20) - 32769));
}

static void *mixer(void *arg)
{
	uint64_t s = mix((uint64_t)(uintptr_t)arg + 1000);
	unsigned char *local[16] = {0};
	long i, large = 0, cross = 0;
	for (i = 0; i < MIX_OPS; i++) {
		uint64_t r = rnd(&s);
		size_t n = mix_size(r);
		unsigned op = (unsigned)(r >> 20) & 7;
		unsigned char *p;
		if (n > 32768)
			large++;
		switch (op) {
		case 0:
		case 1:
		case 2: { /* publish a new block; free whatever was there (usually another thread's) */
			p = mk(n, rnd(&s), op == 2);
			p = atomic_exchange(&slots[(r >> 32) % SLOTS], p);
			if (p)
				cross++;
			check_free(p, "mixer: shared block changed before its free");
			break;
		}
		case 3: { /* take a shared block, regrow it here, put it back */
			unsigned k = (unsigned)((r >> 32) % SLOTS);
			size_t old, off;
			uint64_t seed;
			unsigned char *np;
			p = atomic_exchange(&slots[k], NULL);
			if (!p)
				break;
			memcpy(&old, p, 8);
			memcpy(&seed, p + 8, 8);
			if (old < 16 || old > (2u << 20)) {
				error("mixer: shared block header changed", p, old, 0);
				break;
			}
			np = T_REALLOC(p, n);
			if (!np) {
				error("mixer: realloc returned NULL", p, n, 0);
				check_free(p, "mixer: block changed after a failed realloc");
				break;
			}
			off = verify_upto(np, old, seed, 16, n);
			if (off != old)
				error("mixer: realloc lost contents", np, old, off);
			memcpy(np, &n, 8);
			fill(np, n, seed, 16);
			np = atomic_exchange(&slots[k], np);
			check_free(np, "mixer: shared block changed before its free");
			break;
		}
		default: { /* thread-local churn */
			unsigned k = (unsigned)(r >> 36) & 15;
			check_free(local[k], "mixer: thread-local block changed");
			local[k] = mk(n > 32768 && (op & 1) ? n / 16 : n, rnd(&s), 0);
			break;
		}
		}
	}
	for (i = 0; i < 16; i++)
		check_free(local[i], "mixer: thread-local block changed");
	atomic_fetch_add(&mix_large, large);
	atomic_fetch_add(&mix_cross, cross);
	return NULL;
}

static void part_c(void)
{
	pthread_t th[MIXERS];
	long before = atomic_load(&nerrors);
	uintptr_t i;
	for (i = 0; i < MIXERS; i++)
		if (pthread_create(&th[i], NULL, mixer, (void *)i))
			bail_out("pthread_create failed");
	for (i = 0; i < MIXERS; i++)
		pthread_join(th[i], NULL);
	for (i = 0; i < SLOTS; i++)
		check_free(atomic_exchange(&slots[i], NULL), "left-over shared block changed");
	report_errors("mixed sizes", before);
	ok(atomic_load(&nerrors) == before,
	   "mixed sizes: %d threads x %d ops (%ld large, %ld freed across threads), all blocks intact (%ld errors)",
	   MIXERS, MIX_OPS, atomic_load(&mix_large), atomic_load(&mix_cross),
	   atomic_load(&nerrors) - before);
}

int main(void)
{
	if (under_valgrind())
		scale = 20;
	diag("%s%s", under_goalloc() ? "under goalloc" : "not under goalloc",
	     scale > 1 ? " (ThreadSanitizer or valgrind: reduced counts)" : "");
	plan(5);
	part_a();
	part_b();
	part_c();
	return done_testing();
}
