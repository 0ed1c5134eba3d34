/* t_api_stats — goalloc_stats() counts exactly: blocks handed out and taken back per path (list
 * hits, refills, calloc, aligned, large), across threads (a consumer thread frees what another
 * allocated, so its lists take the free-only bound and park everything), and after the
 * allocating thread has exited and its counters were folded into the totals. The malloc fast
 * path counts nothing itself; these totals are derived from the frees, the list lengths and the
 * slow paths' counts, so they are what this test checks. Skipped when goalloc is not preloaded.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "api_util.h"
#include "goalloc.h"

static int (*stats_fn)(struct goalloc_stats *);

static struct goalloc_stats now(void)
{
	struct goalloc_stats st;
	memset(&st, 0, sizeof st);
	stats_fn(&st);
	return st;
}

enum { N = 3000, HANDOFF = 5000 };
static void *blocks[HANDOFF];

static void *producer(void *arg)
{
	(void)arg;
	for (int i = 0; i < HANDOFF; i++)
		blocks[i] = launder(malloc(24 + (size_t)(i % 7) * 40)); /* 32 .. 288 bytes */
	return NULL;
}

static void *large_blocks[3];

static void *large_producer(void *arg)
{
	(void)arg;
	for (int i = 0; i < 3; i++)
		large_blocks[i] = launder(malloc((size_t)(100 + 50 * i) << 10));
	return NULL;
}

static void *idle(void *arg)
{
	return arg;
}

int main(void)
{
	if (!under_goalloc() || !(*(void **)&stats_fn = dlsym(RTLD_DEFAULT, "goalloc_stats"))) {
		printf("1..0 # SKIP goalloc is not the allocator\n");
		return 0;
	}
	plan(10);
	static void *p[N];
	struct goalloc_stats s0, s1;
	char msg[160];

	s0 = now();
	for (int i = 0; i < N; i++)
		p[i] = launder(malloc(40)); /* class 48: list hits, refills, spans */
	s1 = now();
	snprintf(msg, sizeof msg, "%d mallocs of 40 B: +%llu mallocs, +%llu bytes in use", N,
		 (unsigned long long)(s1.mallocs - s0.mallocs), (unsigned long long)(s1.bytes_in_use - s0.bytes_in_use));
	ok(s1.mallocs - s0.mallocs == N && s1.frees == s0.frees && s1.bytes_in_use - s0.bytes_in_use == (uint64_t)N * 48,
	   "%s", msg);

	s0 = now();
	for (int i = 0; i < N; i += 3)
		free(p[i]);
	s1 = now();
	ok(s1.frees - s0.frees == N / 3 && s1.mallocs == s0.mallocs &&
	       s0.bytes_in_use - s1.bytes_in_use == (uint64_t)(N / 3) * 48,
	   "%d frees: +%llu frees, %llu bytes fewer in use", N / 3, (unsigned long long)(s1.frees - s0.frees),
	   (unsigned long long)(s0.bytes_in_use - s1.bytes_in_use));

	s0 = now();
	for (int i = 0; i < N; i++) { /* reuse what was just freed, then free everything */
		if (i % 3 == 0)
			p[i] = launder(malloc(40));
	}
	for (int i = 0; i < N; i++)
		free(p[i]);
	s1 = now();
	ok(s1.mallocs - s0.mallocs == N / 3 && s1.frees - s0.frees == N &&
	       s0.bytes_in_use - s1.bytes_in_use == (uint64_t)(N - N / 3) * 48,
	   "refill from the list, then free all: +%llu mallocs, +%llu frees",
	   (unsigned long long)(s1.mallocs - s0.mallocs), (unsigned long long)(s1.frees - s0.frees));

	s0 = now();
	for (int i = 0; i < 200; i++) {
		void *a = launder(calloc(1, 40)), *b = NULL;
		if (posix_memalign(&b, 64, 100))
			b = NULL;
		void *c = launder(aligned_alloc(256, 300));
		free(a);
		free(b);
		free(c);
	}
	s1 = now();
	ok(s1.mallocs - s0.mallocs == 600 && s1.frees - s0.frees == 600 && s1.bytes_in_use == s0.bytes_in_use,
	   "calloc, posix_memalign, aligned_alloc: 600 in, 600 out (+%llu, +%llu)",
	   (unsigned long long)(s1.mallocs - s0.mallocs), (unsigned long long)(s1.frees - s0.frees));

	s0 = now();
	void *big[5];
	for (int i = 0; i < 5; i++)
		big[i] = launder(malloc(100000 + (size_t)i * 8192));
	free(big[1]);
	free(big[3]);
	s1 = now();
	ok(s1.large_mallocs - s0.large_mallocs == 5 && s1.large_frees - s0.large_frees == 2 &&
	       s1.mallocs - s0.mallocs == 5 && s1.frees - s0.frees == 2,
	   "large blocks: +%llu large mallocs, +%llu large frees", (unsigned long long)(s1.large_mallocs - s0.large_mallocs),
	   (unsigned long long)(s1.large_frees - s0.large_frees));
	free(big[0]);
	free(big[2]);
	free(big[4]);

	/* Large bytes in use through the thread's stack of freed spans: a freed span kept there is
	 * not in use; taken back whole, or shrunk to a smaller request, it is, at its new size. */
	s0 = now();
	void *l1 = launder(malloc(320 << 10)); /* 40 pages */
	s1 = now();
	size_t u1 = malloc_usable_size(l1);
	free(l1);
	struct goalloc_stats s2 = now();
	void *l2 = launder(malloc(264 << 10)); /* 33 pages: the cached 40 shrunk */
	struct goalloc_stats s3 = now();
	size_t u2 = malloc_usable_size(l2);
	free(l2);
	void *l3 = launder(malloc(264 << 10)); /* the same span again, whole */
	struct goalloc_stats s4 = now();
	free(l3);
	struct goalloc_stats s5 = now();
	ok(s1.bytes_in_use - s0.bytes_in_use == u1 && s2.bytes_in_use == s0.bytes_in_use &&
		   s3.bytes_in_use - s0.bytes_in_use == u2 && s4.bytes_in_use == s3.bytes_in_use &&
		   s5.bytes_in_use == s0.bytes_in_use && l3 == l2,
	   "large bytes in use through freed spans kept and reused: +%llu, %+lld, +%llu, +%llu, %+lld",
	   (unsigned long long)(s1.bytes_in_use - s0.bytes_in_use),
	   (long long)(s2.bytes_in_use - s0.bytes_in_use), (unsigned long long)(s3.bytes_in_use - s0.bytes_in_use),
	   (unsigned long long)(s4.bytes_in_use - s0.bytes_in_use), (long long)(s5.bytes_in_use - s0.bytes_in_use));

	/* Large blocks another thread allocated, freed (and kept) here (after an idle thread, as
	 * below, so that the counted one allocates nothing but its blocks). */
	pthread_t lt;
	if (pthread_create(&lt, NULL, idle, NULL) || pthread_join(lt, NULL)) {
		printf("Bail out! pthread_create failed\n");
		return 1;
	}
	s0 = now();
	if (pthread_create(&lt, NULL, large_producer, NULL) || pthread_join(lt, NULL)) {
		printf("Bail out! pthread_create failed\n");
		return 1;
	}
	s1 = now();
	size_t lsum = 0;
	for (int i = 0; i < 3; i++) {
		lsum += malloc_usable_size(large_blocks[i]);
		free(large_blocks[i]);
	}
	s2 = now();
	ok(s1.bytes_in_use - s0.bytes_in_use == lsum && s2.bytes_in_use == s0.bytes_in_use &&
		   s2.large_frees - s1.large_frees == 3,
	   "another thread's large blocks: +%llu in use, then %+lld after this thread freed them",
	   (unsigned long long)(s1.bytes_in_use - s0.bytes_in_use), (long long)(s2.bytes_in_use - s0.bytes_in_use));

	/* Another thread allocates; this one frees everything (a consumer: its lists take the free-only
	 * bound); the producer has exited, so its counters were folded into the totals. A first,
	 * idle thread makes glibc allocate (and then cache with its stack) the thread's TLS vector,
	 * so the counted one allocates nothing but its blocks. */
	pthread_t t;
	if (pthread_create(&t, NULL, idle, NULL) || pthread_join(t, NULL)) {
		printf("Bail out! pthread_create failed\n");
		return 1;
	}
	s0 = now();
	if (pthread_create(&t, NULL, producer, NULL) || pthread_join(t, NULL)) {
		printf("Bail out! pthread_create failed\n");
		return 1;
	}
	s1 = now();
	ok(s1.mallocs - s0.mallocs == HANDOFF, "a thread's %d mallocs are counted after it exited (+%llu)", HANDOFF,
	   (unsigned long long)(s1.mallocs - s0.mallocs));
	for (int i = 0; i < HANDOFF; i++)
		free(blocks[i]);
	s2 = now();
	ok(s2.frees - s1.frees == HANDOFF && s2.mallocs == s1.mallocs,
	   "this thread freeing all %d of them: +%llu frees, no malloc", HANDOFF,
	   (unsigned long long)(s2.frees - s1.frees));
	ok(s2.bytes_in_use == s0.bytes_in_use, "bytes in use back where they were (%llu, %llu)",
	   (unsigned long long)s2.bytes_in_use, (unsigned long long)s0.bytes_in_use);
	return done_testing();
}
