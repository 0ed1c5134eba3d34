/* workingset: bench-malloc-thread's loop on one thread: 1,024 live slots, each step frees a random
 * one and allocates into it a size drawn from a table of 8,000 sizes between 4 and 32,768 bytes
 * with an inverse-square distribution (about half of them 8 bytes or less). Slots and sizes come
 * from tables made before the measurement, so the loop adds few instructions of its own. */
#include "pairs.h"

#define WS 1024
#define NSIZES 8000
#define NSTEPS 65536

int main(int argc, char **argv) {
	long k = pairs_arg(argc, argv);
	static void *ws[WS];
	static unsigned short sizes[NSIZES], slot[NSTEPS];
	static unsigned short pick[NSTEPS];
	unsigned long long x = 0x9E3779B97F4A7C15ull;
	const double lo = 1.0 / 4, hi = 1.0 / 32768;
	for (int i = 0; i < NSIZES; i++) {
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		double r = (double)(x >> 11) / 9007199254740992.0; /* [0, 1) */
		sizes[i] = (unsigned short)(1.0 / ((hi - lo) * r + lo));
		if (sizes[i] < 4) sizes[i] = 4;
	}
	for (int i = 0; i < NSTEPS; i++) {
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		slot[i] = (unsigned short)((x >> 33) % WS);
		pick[i] = (unsigned short)((x >> 13) % NSIZES);
	}
	for (int i = 0; i < WS; i++) ws[i] = cg_malloc(sizes[i]);
	for (int i = 0; i < NSTEPS; i++) { /* warm-up */
		cg_free(ws[slot[i]]);
		ws[slot[i]] = cg_malloc(sizes[pick[i]]);
	}
	int s = 0;
	MEASURE_BEGIN();
	for (long i = 0; i < k; i++) {
		cg_free(ws[slot[s]]);
		ws[slot[s]] = cg_malloc(sizes[pick[s]]);
		if (++s == NSTEPS) s = 0;
	}
	MEASURE_END();
	for (int i = 0; i < WS; i++) cg_free(ws[i]);
	return 0;
}
