/* memalign: K pairs of posix_memalign(64, 64)/free (cache-line aligned objects). */
#include "pairs.h"

static int (*volatile cg_posix_memalign)(void **, size_t, size_t) = posix_memalign;

int main(int argc, char **argv) {
	long k = pairs_arg(argc, argv);
	void *p;
	for (int i = 0; i < 1000; i++) {
		if (cg_posix_memalign(&p, 64, 64))
			return 1;
		cg_free(p);
	}
	MEASURE_BEGIN();
	for (long i = 0; i < k; i++) {
		if (cg_posix_memalign(&p, 64, 64))
			return 1;
		*(volatile char *)p = 1;
		cg_free(p);
	}
	MEASURE_END();
	return 0;
}
