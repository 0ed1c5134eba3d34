/* bare: K pairs of malloc(32)/free in a bare loop, nothing else live. */
#include "pairs.h"

int main(int argc, char **argv) {
	long k = pairs_arg(argc, argv);
	for (int i = 0; i < 1000; i++) cg_free(cg_malloc(32));
	MEASURE_BEGIN();
	for (long i = 0; i < k; i++) {
		void *p = cg_malloc(32);
		*(volatile char *)p = 1;
		cg_free(p);
	}
	MEASURE_END();
	return 0;
}
