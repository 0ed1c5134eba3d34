/* 4k: K pairs of malloc(4096)/free: a size past the 1 KiB table, still a size class. */
#include "pairs.h"

int main(int argc, char **argv) {
	measure_pairs(pairs_arg(argc, argv), 4096);
	return 0;
}
