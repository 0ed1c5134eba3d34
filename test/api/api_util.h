/* api_util.h — small helpers shared by the API tests (header only). */
#ifndef GOALLOC_TEST_API_UTIL_H
#define GOALLOC_TEST_API_UTIL_H
#include <dirent.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* True when the allocator under test is goalloc: linked directly (GOALLOC_DIRECT) or preloaded. */
static inline int under_goalloc(void)
{
#ifdef GOALLOC_DIRECT
	return 1;
#else
	const char *p = getenv("LD_PRELOAD");
	return p && strstr(p, "goalloc");
#endif
}

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define API_HAVE_VALGRIND_H 1
#endif
#endif

/* True under valgrind, where threads run one at a time and signals arrive late: the heavy
 * tests scale themselves down. */
static inline int under_valgrind(void)
{
#ifdef API_HAVE_VALGRIND_H
	if (RUNNING_ON_VALGRIND)
		return 1;
#endif
	return getenv("GOALLOC_UNDER_VALGRIND") != NULL;
}

/* Hide a pointer from the optimiser: the compiler may neither assume anything about its value
 * (alignment of malloc results, contents of calloc blocks) nor drop the allocation as unused. */
static inline void *launder(void *p)
{
	__asm__ volatile("" : "+r"(p) : : "memory");
	return p;
}

/* Fence a call off from the errno accesses around it. LLVM assumes the malloc family never
 * touches errno, so without this clang may fold `errno = 0; p = calloc(..); errno == ENOMEM`
 * to false, or `errno = X; free(p); errno == X` to true. */
#define BARRIER() __asm__ volatile("" : : : "memory")
#define FENCED(expr)                                   \
	({                                             \
		BARRIER();                             \
		__typeof__(expr) fenced_r_ = (expr);   \
		BARRIER();                             \
		fenced_r_;                             \
	})
#define FENCED_VOID(stmt)       \
	do {                    \
		BARRIER();      \
		stmt;           \
		BARRIER();      \
	} while (0)

/* Make earlier stores through p observable, so a fill right before free() is not dropped as dead. */
static inline void escape(const void *p)
{
	__asm__ volatile("" : : "r"(p) : "memory");
}

/* memset that survives a following free(). */
static inline void dirty(void *p, int c, size_t n)
{
	if (p) {
		memset(p, c, n);
		escape(p);
	}
}

static inline uintptr_t addr_of(const void *p)
{
	uintptr_t a = (uintptr_t)p;
	__asm__ volatile("" : "+r"(a));
	return a;
}

/* Same for sizes: keeps constant folding (and -Walloc-size-larger-than) away from huge requests. */
static inline size_t opaque_size(size_t n)
{
	__asm__ volatile("" : "+r"(n));
	return n;
}

/* realloc the compiler cannot see through, so using the old pointer after a failed or
 * in-place realloc (which the tests do on purpose) draws no -Wuse-after-free. */
__attribute__((noinline, unused)) static void *realloc_opaque(void *p, size_t n)
{
	return launder(realloc(launder(p), n));
}

/* The byte stored at offset i of a block tagged with seed. */
static inline unsigned char pat_byte(uint64_t seed, size_t i)
{
	uint64_t s = (seed * 0x9e3779b97f4a7c15ull) >> 56;
	return (unsigned char)(s + i * 131u + (i >> 8));
}

static inline void pat_fill(void *p, size_t n, uint64_t seed)
{
	unsigned char *b = p;
	size_t i;
	for (i = 0; i < n; i++)
		b[i] = pat_byte(seed, i);
}

/* Offset of the first byte that does not match, or n when all do. */
static inline size_t pat_check(const void *p, size_t n, uint64_t seed)
{
	const unsigned char *b = p;
	size_t i;
	for (i = 0; i < n; i++)
		if (b[i] != pat_byte(seed, i))
			return i;
	return n;
}

/* Suffix for assertions that only hold under goalloc: TAP-valid skip otherwise. */
#define GA_ONLY(g) ((g) ? "" : " # SKIP not under goalloc")
/* Threads of this process now: the entries of /proc/self/task (0 when it cannot be read). */
static inline unsigned threads_now(void)
{
	unsigned n = 0;
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	while (d && (e = readdir(d)))
		n += e->d_name[0] != '.';
	if (d)
		closedir(d);
	return n;
}

#endif
