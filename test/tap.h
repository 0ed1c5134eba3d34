/* tap.h — a tiny TAP producer for goalloc's tests (header only, no allocation of its own).
 *
 * Usage:  plan(N); ok(cond, "name %d", i); ... return done_testing();
 * Diagnostics go to stdout as '#' lines so prove shows them with -v.
 *
 * Tests that exercise the allocator through the C API call T_MALLOC/T_FREE/... so the same
 * source can be built two ways:
 *   - plain (default): the libc names, goalloc is put underneath with LD_PRELOAD;
 *   - -DGOALLOC_DIRECT: goalloc's own goalloc_* entry points linked in directly (used by the
 *     ThreadSanitizer build, where TSan owns the libc names).
 */
#ifndef GOALLOC_TAP_H
#define GOALLOC_TAP_H
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef GOALLOC_DIRECT
#include "goalloc.h"
#define T_MALLOC(n) goalloc_malloc(n)
#define T_FREE(p) goalloc_free(p)
#define T_CALLOC(a, b) goalloc_calloc(a, b)
#define T_REALLOC(p, n) goalloc_realloc(p, n)
#else
#define T_MALLOC(n) malloc(n)
#define T_FREE(p) free(p)
#define T_CALLOC(a, b) calloc(a, b)
#define T_REALLOC(p, n) realloc(p, n)
#endif

static int tap_planned, tap_run, tap_failed;

static inline void plan(int n)
{
	tap_planned = n;
	printf("1..%d\n", n);
	fflush(stdout);
}

__attribute__((format(printf, 4, 5))) static inline int tap_ok(int cond, const char *file, int line,
								  const char *fmt, ...)
{
	va_list ap;
	tap_run++;
	if (!cond)
		tap_failed++;
	printf("%sok %d - ", cond ? "" : "not ", tap_run);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	if (!cond)
		printf("#   Failed at %s:%d\n", file, line);
	fflush(stdout);
	return cond;
}
#define ok(cond, ...) tap_ok(!!(cond), __FILE__, __LINE__, __VA_ARGS__)

__attribute__((format(printf, 1, 2))) static inline void diag(const char *fmt, ...)
{
	va_list ap;
	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

static inline void skip_all(const char *why)
{
	printf("1..0 # SKIP %s\n", why);
	fflush(stdout);
	exit(0);
}

static inline int done_testing(void)
{
	if (!tap_planned) {
		printf("1..%d\n", tap_run);
	} else if (tap_planned != tap_run) {
		printf("# planned %d tests but ran %d\n", tap_planned, tap_run);
		return 255;
	}
	fflush(stdout);
	return tap_failed ? 1 : 0;
}
#endif
