/* heap.c — a live heap of linked nodes, then full collections on demand: pauses and mark rate
 * (scripts/gc-compare.sh, part "pauses").
 *
 * Builds MB megabytes of 64-byte nodes (requested size; 7 pointers and one word of data: "mostly
 * pointers"), all reachable: node k points to node k-1 (a chain from the root) and to 6 nodes
 * chosen at random among those built before it, so the marker chases pointers across the whole
 * heap rather than walking memory in order. Then it runs CYCLES full collections, timing each
 * from outside (wall clock and the process's CPU time around the call), and checks at the end
 * that every node is intact.
 *
 *   -DGCB_BDW     nodes from GC_MALLOC; a collection is GC_gcollect() (collections are disabled
 *                 while the heap is built, GC_disable/GC_enable); also prints bdwgc's own
 *                 GC_get_full_gc_total_time() difference. A third argument "parallel" starts
 *                 bdwgc's parallel markers (GC_start_mark_threads: one per core); without it
 *                 this single-threaded program marks on one thread, bdwgc's default for it
 *   -DGCB_MALLOC  nodes from malloc; a collection is goalloc_gc(), resolved with
 *                 dlsym(RTLD_DEFAULT, "goalloc_gc") (run it with LD_PRELOAD=libgoalloc.so and
 *                 GOALLOC_GC=collect or report; GOALLOC_GCTRACE=1 prints Go's gctrace line per
 *                 cycle, which gc-compare.sh parses). Without goalloc's collector it says so
 *                 and exits 3.
 *
 * Usage: heap MB [CYCLES [parallel]]   Output, one line per collection, then a summary:
 *   cycle=<k> wall_ms=<ms> cpu_ms=<ms> [stats_pause_ms=<ms>] [bdw_total_ms=<ms>]
 *   heap: mb=<MB> nodes=<n> build_s=<s> checksum=<hex> [live_kib=<KiB>]
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#if defined(GCB_BDW)
#define GC_THREADS 1 /* for GC_start_mark_threads */
#include <gc.h>
#define ALLOC(n) GC_MALLOC(n)
#elif defined(GCB_MALLOC)
#include "goalloc.h"
#define ALLOC(n) malloc(n)
#else
#error "define GCB_BDW or GCB_MALLOC"
#endif

typedef struct Node {
	struct Node *prev;
	struct Node *link[6];
	uint64_t data;
} Node; /* 64 bytes */

static uint64_t rng = 0x243f6a8885a308d3ULL;
static uint64_t next_rand(void) {
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545f4914f6cdd1dULL;
}
static double now(clockid_t c) {
	struct timespec ts;
	clock_gettime(c, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* the root: a global (scanned by both collectors); the index is only for building links and is
 * freed (or dropped) before the collections */
static Node *volatile root;

int main(int argc, char **argv) {
	if (argc < 2) {
		fprintf(stderr, "usage: heap MB [CYCLES]\n");
		return 2;
	}
	double mb = atof(argv[1]);
	int cycles = argc > 2 ? atoi(argv[2]) : 3;
	long n = (long)(mb * 1048576.0 / sizeof(Node));
	if (n < 16)
		n = 16;
#if defined(GCB_BDW)
	GC_INIT();
	GC_start_performance_measurement();
	/* a single-threaded client marks alone unless it starts bdwgc's parallel markers itself */
	if (argc > 3 && strcmp(argv[3], "parallel") == 0)
		GC_start_mark_threads();
	printf("heap: bdwgc markers %d\n", GC_get_parallel() + 1);
	GC_disable();
#else
	int (*gc)(void) = (int (*)(void))dlsym(RTLD_DEFAULT, "goalloc_gc");
	int (*gc_stats)(struct goalloc_gc_stats *) =
	    (int (*)(struct goalloc_gc_stats *))dlsym(RTLD_DEFAULT, "goalloc_gc_stats");
	if (!gc) {
		printf("heap: no goalloc_gc in this process (not under goalloc, or no collector)\n");
		return 3;
	}
#endif
	/* the index of nodes built so far lives outside the collected heap (mmap-backed calloc of
	 * glibc would be scanned too; a plain array from malloc is dropped before collecting) */
	Node **idx = malloc(sizeof(Node *) * (size_t)n);
	if (!idx) {
		perror("malloc");
		return 2;
	}
	double b0 = now(CLOCK_MONOTONIC);
	Node *prev = NULL;
	for (long k = 0; k < n; k++) {
		Node *x = ALLOC(sizeof(Node));
		if (!x) {
			fprintf(stderr, "heap: out of memory at node %ld\n", k);
			return 2;
		}
		x->prev = prev;
		for (int j = 0; j < 6; j++)
			x->link[j] = k ? idx[next_rand() % (uint64_t)k] : NULL;
		x->data = (uint64_t)k * 0x9e3779b97f4a7c15ULL;
		idx[k] = x;
		prev = x;
	}
	root = prev;
	prev = NULL;
	free(idx);
	idx = NULL;
	double build = now(CLOCK_MONOTONIC) - b0;
#if defined(GCB_BDW)
	GC_enable();
#endif

	for (int c = 1; c <= cycles; c++) {
#if defined(GCB_BDW)
		unsigned long t_before = GC_get_full_gc_total_time();
#endif
		double w0 = now(CLOCK_MONOTONIC), c0 = now(CLOCK_PROCESS_CPUTIME_ID);
#if defined(GCB_BDW)
		GC_gcollect();
		int rc = 0;
#else
		int rc = gc();
#endif
		double w1 = now(CLOCK_MONOTONIC), c1 = now(CLOCK_PROCESS_CPUTIME_ID);
		printf("cycle=%d rc=%d wall_ms=%.3f cpu_ms=%.3f", c, rc, (w1 - w0) * 1e3, (c1 - c0) * 1e3);
#if defined(GCB_BDW)
		printf(" bdw_total_ms=%lu", GC_get_full_gc_total_time() - t_before);
#else
		if (gc_stats) {
			struct goalloc_gc_stats st;
			if (gc_stats(&st) == 0)
				printf(" stats_pause_ms=%.3f heap_live_kib=%llu", st.pause_last_ns / 1e6,
				       (unsigned long long)(st.heap_live / 1024));
		}
#endif
		printf("\n");
		fflush(stdout);
	}

	/* every node still there: walk the chain and check the data and the links' targets */
	uint64_t h = 0;
	long seen = 0;
	for (Node *x = root; x; x = x->prev) {
		long k = n - 1 - seen;
		if (x->data != (uint64_t)k * 0x9e3779b97f4a7c15ULL) {
			printf("heap: WRONG RESULT at node %ld\n", k);
			return 1;
		}
		for (int j = 0; j < 6; j++)
			if (x->link[j])
				h += x->link[j]->data >> 60;
		seen++;
	}
	if (seen != n) {
		printf("heap: WRONG RESULT (%ld of %ld nodes)\n", seen, n);
		return 1;
	}
	printf("heap: mb=%g nodes=%ld build_s=%.3f checksum=%016llx", mb, n, build, (unsigned long long)h);
#if defined(GCB_BDW)
	size_t heap = 0, free_b = 0, unmapped = 0, since = 0, total = 0;
	GC_get_heap_usage_safe(&heap, &free_b, &unmapped, &since, &total);
	printf(" live_kib=%zu heap_kib=%zu", (heap - free_b - unmapped) / 1024, heap / 1024);
#endif
	printf("\n");
	return 0;
}
