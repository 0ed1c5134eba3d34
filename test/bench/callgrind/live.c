/* live: K pairs of malloc(32)/free while 20,000 other blocks (16 B..4 KiB, 2,000 of them 32 B,
 * allocated interleaved) stay live: the 32-byte class has partly used spans, the heap is not
 * empty. */
#include "pairs.h"

#define NLIVE 20000

int main(int argc, char **argv) {
	long k = pairs_arg(argc, argv);
	static void *live[NLIVE];
	unsigned x = 12345;
	for (int i = 0; i < NLIVE; i++) {
		x = x * 1103515245u + 12345u;
		size_t n = i % 10 == 0 ? 32 : 16 + (x >> 8) % 4081;
		live[i] = cg_malloc(n);
		*(volatile char *)live[i] = 1;
	}
	/* holes: free every third of them */
	for (int i = 0; i < NLIVE; i += 3) {
		cg_free(live[i]);
		live[i] = NULL;
	}
	measure_pairs(k, 32);
	for (int i = 0; i < NLIVE; i++) cg_free(live[i]);
	return 0;
}
