/* batch: allocate 10,000 blocks of 16..512 B, then free them in random order, K/10,000 times:
 * the thread's lists overflow and refill, so this counts the batch moves to and from the
 * transfer cache as well as the fast paths. */
#include "pairs.h"

#define N 10000

int main(int argc, char **argv) {
	long rounds = pairs_arg(argc, argv) / N;
	static void *ptrs[N];
	static unsigned short sizes[N];
	static int order[N];
	unsigned x = 777;
	for (int i = 0; i < N; i++) {
		x = x * 1103515245u + 12345u;
		sizes[i] = (unsigned short)(16 + (x >> 8) % 497);
		order[i] = i;
	}
	for (int i = N - 1; i > 0; i--) {
		x = x * 1103515245u + 12345u;
		int j = (int)((x >> 4) % (unsigned)(i + 1)), t = order[i];
		order[i] = order[j];
		order[j] = t;
	}
	for (long r = -3; r < rounds; r++) { /* three rounds of warm-up */
		if (r == 0)
			MEASURE_BEGIN();
		for (int i = 0; i < N; i++) {
			ptrs[i] = cg_malloc(sizes[i]);
			*(volatile char *)ptrs[i] = 1;
		}
		for (int i = 0; i < N; i++)
			cg_free(ptrs[order[i]]);
	}
	MEASURE_END();
	return 0;
}
