/* 64k: K pairs of malloc(65536)/free: a block with a span of its own (Go's classes stop at
 * 32 KiB), taken back from the thread's stack of cached spans. */
#include "pairs.h"

int main(int argc, char **argv) {
	measure_pairs(pairs_arg(argc, argv), 65536);
	return 0;
}
