/* growfree: grow a heap of small blocks, free all of it, then idle — what RSS does after a
 * program's peak (scripts/rss-compare.sh, workload "growfree").
 *
 * Allocates MiB mebibytes (default 1024) of blocks of 16-256 B (uniform), each written whole and
 * linked to the previous one through its first word, so no array of pointers adds to the heap;
 * frees them all in allocation order; then sleeps IDLE seconds (default 5) without touching the
 * allocator. With a third argument "trim" it calls malloc_trim(0) after the idle time and idles
 * one more second. Prints
 *   growfree: grow_s=<s> free_s=<s> checksum=<hex>
 * (the checksum depends only on the work).
 * Usage: growfree [MiB] [idle-seconds] [trim] */
#define _GNU_SOURCE
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void idle(double s)
{
	struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
	while (nanosleep(&ts, &ts) != 0)
		;
}

int main(int argc, char **argv)
{
	double mib = argc > 1 ? strtod(argv[1], NULL) : 1024;
	double idle_s = argc > 2 ? strtod(argv[2], NULL) : 5;
	int trim = argc > 3 && !strcmp(argv[3], "trim");
	if (!(mib > 0) || !(idle_s >= 0)) {
		fprintf(stderr, "usage: growfree [MiB > 0] [idle-seconds >= 0] [trim]\n");
		return 2;
	}
	uint64_t target = (uint64_t)(mib * 1048576), total = 0, rng = 0x9e3779b97f4a7c15ull, sum = 0;
	void **head = NULL;
	double t0 = now();
	while (total < target) {
		rng ^= rng >> 12, rng ^= rng << 25, rng ^= rng >> 27;
		size_t n = 16 + (size_t)((rng * 0x2545f4914f6cdd1dull) >> 32) % 241;
		void **b = malloc(n);
		if (!b) {
			fprintf(stderr, "growfree: out of memory after %llu bytes\n", (unsigned long long)total);
			return 1;
		}
		memset(b, (int)(n & 0xff), n);
		b[0] = head;
		head = b;
		total += n;
		sum = sum * 31 + n;
	}
	double t1 = now();
	while (head) {
		void **next = head[0];
		sum += ((unsigned char *)head)[8];
		free(head);
		head = next;
	}
	double t2 = now();
	printf("growfree: grow_s=%.3f free_s=%.3f checksum=%016llx\n", t1 - t0, t2 - t1, (unsigned long long)sum);
	fflush(stdout);
	idle(idle_s);
	if (trim) {
		malloc_trim(0);
		idle(1);
	}
	return 0;
}
