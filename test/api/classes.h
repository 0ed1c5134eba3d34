/* classes.h — the 67 Go size classes and the usable size / alignment goalloc promises for a
 * malloc request. A private copy for the API tests, so they build before the generated
 * build/gen/sizeclasses.h exists and cross-check it rather than trust it.
 */
#ifndef GOALLOC_TEST_API_CLASSES_H
#define GOALLOC_TEST_API_CLASSES_H
#include <stddef.h>

#define API_NCLASSES 67
#define API_MAX_SMALL 32768u
#define API_PAGE 8192u

/* Class 0 is unused; classes 1..67 are Go's bytes/obj column. */
static const unsigned api_class_size[API_NCLASSES + 1] = {
	0,     8,     16,    24,    32,    48,    64,    80,    96,    112,   128,   144,
	160,   176,   192,   208,   224,   240,   256,   288,   320,   352,   384,   416,
	448,   480,   512,   576,   640,   704,   768,   896,   1024,  1152,  1280,  1408,
	1536,  1792,  2048,  2304,  2688,  3072,  3200,  3456,  4096,  4864,  5376,  6144,
	6528,  6784,  6912,  8192,  9472,  9728,  10240, 10880, 12288, 13568, 14336, 16384,
	18432, 19072, 20480, 21760, 24576, 27264, 28672, 32768,
};

static inline size_t api_round_up(size_t n, size_t to)
{
	return (n + to - 1) / to * to;
}

/* Usable size goalloc gives malloc(n): the smallest class of at least round_up(n, 16) for
 * 0..32768 (so classes 8 and 24 never serve malloc, and 0..16 bytes take class 16); whole pages
 * above. */
static inline size_t api_expected_usable(size_t n)
{
	size_t r;
	int c;
	if (n == 0)
		n = 1;
	if (n > API_MAX_SMALL)
		return api_round_up(n, API_PAGE);
	r = api_round_up(n, 16);
	for (c = 1; c <= API_NCLASSES; c++)
		if (api_class_size[c] >= r)
			return api_class_size[c];
	return 0; /* not reached */
}

/* Alignment goalloc guarantees for malloc(n). */
static inline size_t api_expected_align(size_t n)
{
	if (n > API_MAX_SMALL)
		return API_PAGE;
	return 16;
}
#endif
