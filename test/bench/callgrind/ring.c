/* ring: a ring of 1,000 live blocks of 8..512 B; each step frees the oldest block and allocates
 * one of another size in its place (sizes from a table made before the measurement). */
#include "pairs.h"

#define RING 1000
#define NSIZES 4096

int main(int argc, char **argv) {
	long k = pairs_arg(argc, argv);
	static void *ring[RING];
	static unsigned short sizes[NSIZES];
	unsigned x = 777;
	for (int i = 0; i < NSIZES; i++) {
		x = x * 1103515245u + 12345u;
		sizes[i] = (unsigned short)(8 + (x >> 8) % 505);
	}
	for (int i = 0; i < RING; i++) ring[i] = cg_malloc(sizes[i]);
	/* warm-up: one full turn of the ring */
	long step = 0;
	for (; step < 2 * RING; step++) {
		cg_free(ring[step % RING]);
		ring[step % RING] = cg_malloc(sizes[step % NSIZES]);
	}
	int slot = 0, si = 0;
	MEASURE_BEGIN();
	for (long i = 0; i < k; i++) {
		cg_free(ring[slot]);
		void *p = cg_malloc(sizes[si]);
		*(volatile char *)p = 1;
		ring[slot] = p;
		if (++slot == RING) slot = 0;
		if (++si == NSIZES) si = 0;
	}
	MEASURE_END();
	for (int i = 0; i < RING; i++) cg_free(ring[i]);
	return 0;
}
