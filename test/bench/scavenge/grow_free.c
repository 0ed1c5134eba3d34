/* grow_free — the scavenger's benchmark (issue 13's grow-then-free case): allocate 1 GiB (or
 * argv[1] MiB) of small blocks of 16–256 bytes, free them all, then idle. Prints RSS (from
 * /proc/self/statm) right after the frees, at the first 10 ms sample under 64 MiB (its time
 * since the frees, or -1 if that never happens within the idle time), after 1 s of idling, and at
 * once after malloc_trim(0); plus the process's CPU time during the idle second.
 *   grow_free [MiB] [idle_ms]
 * Output: one line of key=value pairs, KiB and ms. */
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static long rss_kib(void)
{
	long size, res;
	FILE *f = fopen("/proc/self/statm", "r");
	if (!f || fscanf(f, "%ld %ld", &size, &res) != 2)
		return -1;
	fclose(f);
	return res * (sysconf(_SC_PAGESIZE) / 1024);
}

static double now_ms(clockid_t c)
{
	struct timespec ts;
	clock_gettime(c, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int main(int argc, char **argv)
{
	size_t total = (size_t)(argc > 1 ? atol(argv[1]) : 1024) << 20;
	long idle_ms = argc > 2 ? atol(argv[2]) : 1000;
	size_t cap = total / 100 + 1, n = 0, bytes = 0;
	void **blocks = malloc(cap * sizeof *blocks);
	uint64_t x = 88172645463325252ull;
	while (bytes < total && n < cap) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		size_t sz = 16 + x % 241;
		char *p = malloc(sz);
		if (!p)
			return 1;
		memset(p, (int)n, sz);
		blocks[n++] = p;
		bytes += sz;
	}
	long peak = rss_kib();
	for (size_t i = 0; i < n; i++)
		free(blocks[i]);
	free(blocks);
	double t0 = now_ms(CLOCK_MONOTONIC), c0 = now_ms(CLOCK_PROCESS_CPUTIME_ID);
	long after = rss_kib(), under64 = -1;
	struct timespec tick = {0, 10 * 1000000};
	while (now_ms(CLOCK_MONOTONIC) - t0 < idle_ms) {
		if (under64 < 0 && rss_kib() < 64 * 1024)
			under64 = (long)(now_ms(CLOCK_MONOTONIC) - t0);
		nanosleep(&tick, NULL);
	}
	double cpu = now_ms(CLOCK_PROCESS_CPUTIME_ID) - c0;
	long idle = rss_kib();
	malloc_trim(0);
	long trimmed = rss_kib();
	printf("peak_kib=%ld after_free_kib=%ld under64_ms=%ld idle_kib=%ld trim_kib=%ld idle_cpu_ms=%.1f\n", peak, after,
	       under64, idle, trimmed, cpu);
	return 0;
}
