/* Shared part of the callgrind programs. Each one does K malloc+free pairs (argv[1]) after a
 * warm-up, with callgrind's instrumentation switched on only around the measured loop
 * (run with --instr-atstart=no); scripts/callgrind-pairs.sh runs K and 2K and divides the
 * difference by K. Calls go through volatile function pointers, so the compiler can neither
 * drop nor inline a pair; the loop and the indirect calls add a few instructions per pair. */
#ifndef BENCH_CALLGRIND_PAIRS_H
#define BENCH_CALLGRIND_PAIRS_H
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <valgrind/callgrind.h>

static void *(*volatile cg_malloc)(size_t) = malloc;
static void (*volatile cg_free)(void *) = free;

static long pairs_arg(int argc, char **argv) {
	long k = argc > 1 ? atol(argv[1]) : 100000;
	if (k < 1) {
		fprintf(stderr, "usage: %s K\n", argv[0]);
		exit(2);
	}
	return k;
}

#define MEASURE_BEGIN() CALLGRIND_START_INSTRUMENTATION
#define MEASURE_END() CALLGRIND_STOP_INSTRUMENTATION

/* Warm up, then measure k pairs of malloc(n)/free, touching each block once. */
static inline void measure_pairs(long k, size_t n) {
	for (int i = 0; i < 1000; i++) cg_free(cg_malloc(n));
	MEASURE_BEGIN();
	for (long i = 0; i < k; i++) {
		void *p = cg_malloc(n);
		*(volatile char *)p = 1;
		cg_free(p);
	}
	MEASURE_END();
}

#endif
