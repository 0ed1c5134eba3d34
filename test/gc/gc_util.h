/* gc_util.h — helpers shared by the collector's test programs (test/gc/t_*.c; header only).
 *
 * The programs run with goalloc preloaded (LD_PRELOAD=$GOALLOC_LIB, set by their .sh drivers),
 * not linked against it: goalloc_gc, goalloc_gc_stats and goalloc_gc_ignore are resolved at run
 * time with dlsym(RTLD_DEFAULT, ...).
 *
 * What a program prints on stdout, line by line, for its driver to turn into TAP:
 *   ok - WHAT / not ok - WHAT   one check (the driver numbers it)
 *   # TEXT                      a diagnostic
 *   SKIP WHY                    the collector is not there or refused the mode: nothing was tested
 *   KEY VALUE ...               figures the driver compares with goalloc's report (pid, expect)
 * A program defines _GNU_SOURCE before including anything.
 */
#ifndef GOALLOC_TEST_GC_UTIL_H
#define GOALLOC_TEST_GC_UTIL_H
#include <dlfcn.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "goalloc.h"

/* Functions whose names the leak report must show: never inlined, never cloned under another
 * name (GCC's .constprop/.isra clones; clang has no noclone and does not clone this way). */
#if defined(__clang__)
#define GC_NOINLINE __attribute__((noinline, used))
#else
#define GC_NOINLINE __attribute__((noinline, noclone, used))
#endif

/* Pointers the program keeps for itself without keeping the block reachable: XOR-ed with a mask
 * that makes them non-canonical addresses, which no conservative scan takes for a pointer. */
#define GC_MASK 0xA5A5000000000000ULL
#define GC_HIDE(p) ((uintptr_t)(p) ^ (uintptr_t)GC_MASK)
#define GC_UNHIDE(h) ((void *)((uintptr_t)(h) ^ (uintptr_t)GC_MASK))

enum { GC_MODE_OFF = 0, GC_MODE_REPORT = 1, GC_MODE_COLLECT = 2 };

struct gc_api {
	int (*gc)(void);
	int (*stats)(struct goalloc_gc_stats *);
	int (*ignore)(const void *);
	void *(*malloc_atomic)(size_t);
	int mode; /* what goalloc_gc_stats says */
};
static struct gc_api gcapi;
static int gc_nfailed;

__attribute__((format(printf, 2, 3))) static inline int gc_check(int cond, const char *fmt, ...)
{
	va_list ap;
	fputs(cond ? "ok - " : "not ok - ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	fflush(stdout);
	if (!cond)
		gc_nfailed++;
	return cond;
}

__attribute__((format(printf, 1, 2))) static inline void gc_diag(const char *fmt, ...)
{
	va_list ap;
	fputs("# ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	fflush(stdout);
}

__attribute__((format(printf, 1, 2), noreturn)) static inline void gc_skip(const char *fmt, ...)
{
	va_list ap;
	fputs("SKIP ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	fflush(stdout);
	exit(0);
}

/* NAME's value in the environment the process started with (/proc/self/environ: what goalloc
 * reads too), into buf; NULL if absent. */
static inline const char *gc_start_env(const char *name, char *buf, size_t size)
{
	static char env[65536];
	FILE *f = fopen("/proc/self/environ", "r");
	size_t len = f ? fread(env, 1, sizeof env - 1, f) : 0;
	if (f)
		fclose(f);
	env[len] = 0;
	size_t nl = strlen(name);
	for (size_t i = 0; i < len; i += strlen(env + i) + 1) {
		if (!strncmp(env + i, name, nl) && env[i + nl] == '=') {
			snprintf(buf, size, "%s", env + i + nl + 1);
			return buf;
		}
	}
	return NULL;
}

/* The mode the driver asked for: GOALLOC_GC as the process started with it. */
static inline int gc_wanted_mode(void)
{
	char buf[32];
	const char *m = gc_start_env("GOALLOC_GC", buf, sizeof buf);
	if (m && !strcmp(m, "report"))
		return GC_MODE_REPORT;
	if (m && !strcmp(m, "collect"))
		return GC_MODE_COLLECT;
	return GC_MODE_OFF;
}

static inline const char *gc_mode_name(int mode)
{
	return mode == GC_MODE_REPORT ? "report" : mode == GC_MODE_COLLECT ? "collect" : "off";
}

/* Resolve the collector's API and make sure the mode GOALLOC_GC asks for is the one running;
 * print SKIP and exit 0 otherwise (goalloc not preloaded, a build without the collector, or the
 * GC modes refused, as under valgrind). */
static inline void gc_require_mode(void)
{
	struct goalloc_gc_stats st;
	int want = gc_wanted_mode();
	gcapi.gc = (int (*)(void))dlsym(RTLD_DEFAULT, "goalloc_gc");
	gcapi.stats = (int (*)(struct goalloc_gc_stats *))dlsym(RTLD_DEFAULT, "goalloc_gc_stats");
	gcapi.ignore = (int (*)(const void *))dlsym(RTLD_DEFAULT, "goalloc_gc_ignore");
	gcapi.malloc_atomic = (void *(*)(size_t))dlsym(RTLD_DEFAULT, "goalloc_malloc_atomic");
	if (!gcapi.gc || !gcapi.stats || !gcapi.ignore)
		gc_skip("goalloc_gc, goalloc_gc_stats or goalloc_gc_ignore not found (goalloc not preloaded, "
			"or built without the collector)");
	if (want == GC_MODE_OFF)
		gc_skip("GOALLOC_GC is neither report nor collect");
	memset(&st, 0, sizeof st);
	if (gcapi.stats(&st) != 0 || st.mode != want)
		gc_skip("goalloc runs GC mode %d, not %s: the GC modes were refused", st.mode, gc_mode_name(want));
	gcapi.mode = st.mode;
}

/* The program still sees the environment it started with: getenv() and environ agree with
 * /proc/self/environ. (A regression check: report mode's allocation sites once primed glibc's
 * backtrace(), which dlopens libgcc_s, from goalloc's -z initfirst constructor, before the C
 * library's own initialiser had run; the dlopen ran that initialiser with no environment and
 * environ stayed NULL in every report-mode program.) */
static inline void gc_check_environ(void)
{
	extern char **environ;
	char buf[32];
	const char *want = gc_start_env("GOALLOC_GC", buf, sizeof buf), *got = getenv("GOALLOC_GC");
	gc_check(environ && want && got && !strcmp(want, got),
		 "the program sees its environment: getenv(\"GOALLOC_GC\") = %s, environ %s", got ? got : "NULL",
		 environ ? "set" : "NULL");
}

static inline struct goalloc_gc_stats gc_stats_now(void)
{
	struct goalloc_gc_stats st;
	memset(&st, 0, sizeof st);
	gcapi.stats(&st);
	return st;
}

/* Overwrite the stack below the caller's frame: pointers that the callees just returned from
 * left in their frames (and in malloc's) must not keep planted leaks alive. */
GC_NOINLINE static void gc_scrub_stack(void)
{
	volatile unsigned char buf[32768];
	for (size_t i = 0; i < sizeof buf; i++)
		buf[i] = 0;
	__asm__ volatile("" : : : "memory");
}

/* Fill patterns whose every aligned 8-byte word has its top bit set: a non-canonical address,
 * which no scan takes for a pointer, so that pattern data never keeps a block alive. */
static inline unsigned char gc_pattern_byte(size_t i, unsigned seed)
{
	return (unsigned char)(0x80u | ((i * 7u + seed * 13u + (i >> 8)) & 0x7fu));
}

static inline void gc_fill(void *p, size_t n, unsigned seed)
{
	unsigned char *b = p;
	for (size_t i = 0; i < n; i++)
		b[i] = gc_pattern_byte(i, seed);
}

/* 0 when p[0..n) holds the pattern of seed except in [skip_lo, skip_hi); else 1 + the first
 * offset that differs. */
static inline size_t gc_pattern_bad(const void *p, size_t n, unsigned seed, size_t skip_lo, size_t skip_hi)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < n; i++) {
		if (i >= skip_lo && i < skip_hi)
			continue;
		if (b[i] != gc_pattern_byte(i, seed))
			return i + 1;
	}
	return 0;
}

/* A small fast PRNG (xorshift64*), one state per thread. */
static inline uint64_t gc_rand(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545F4914F6CDD1DULL;
}

static inline double gc_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}
#endif
