/* bare: K pairs of malloc(32)/free in a bare loop, nothing else live. */
#include "pairs.h"

int main(int argc, char **argv) {
	long k = pairs_arg(argc, argv);
	measure_pairs(k, 32);
	return 0;
}
