/* large: large-block churn. 64 live blocks of 64 KiB..8 MiB (log-uniform); each step frees a
 * random one (after checking it) and allocates another size in its place, writing one word per
 * 4 KiB page. What it measures is how an allocator gets large blocks from and back to the kernel
 * (mmap/munmap, page faults, madvise) and whether it caches them.
 * Usage: large [scale]   (scale 1 = 40,000 replacements) */
#include "common.h"

#define NLIVE 64

int main(int argc, char **argv) {
	double scale = arg_scale(argc, argv);
	long steps = (long)(40000 * scale);
	rng_t r;
	rng_seed(&r, 5);
	unsigned char *p[NLIVE];
	size_t n[NLIVE];
	uint64_t tag[NLIVE], counter = 0, sum = 0;
	double t0 = now_s();
	for (int i = 0; i < NLIVE; i++) {
		n[i] = rng_logsize(&r, 64 << 10, 8 << 20);
		tag[i] = mix64(counter++);
		p[i] = xmalloc(n[i]);
		fill(p[i], n[i], tag[i]);
	}
	for (long s = 0; s < steps; s++) {
		int i = (int)(rng_next(&r) % NLIVE);
		check(p[i], n[i], tag[i]);
		sum += mix64(tag[i] ^ n[i]);
		free(p[i]);
		n[i] = rng_logsize(&r, 64 << 10, 8 << 20);
		tag[i] = mix64(counter++);
		p[i] = xmalloc(n[i]);
		fill(p[i], n[i], tag[i]);
	}
	for (int i = 0; i < NLIVE; i++) {
		check(p[i], n[i], tag[i]);
		sum += mix64(tag[i] ^ n[i]);
		free(p[i]);
	}
	double t = now_s() - t0;
	printf("large time=%.4f checksum=%016llx steps=%ld\n", t, (unsigned long long)sum, steps);
	return 0;
}
