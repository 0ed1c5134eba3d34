/* check.h — assertions on the invariants (debug build) and the heap verifiers (any build).
 *
 * GA_ASSERT(cond, ...) states an invariant where the code maintains it; built with -DGA_DEBUG
 * (`make debug`) a false one ends the program with the file, line, condition and the optional
 * printf-style details; otherwise it compiles to nothing (cond is not evaluated).
 *
 * The verifiers recount each structure against its counters and end the program at the first
 * broken invariant with "goalloc: heap check failed: " and what was expected and found. Each
 * lives in the file that owns its structure: mspan_check (mspan.c), mcentral_check (mcentral.c),
 * mheap_check (mheap.c), mcache_check (mcache.c). GOALLOC_CHECK=1 runs them on every span an
 * mcache takes or gives back, on each thread's cache as it exits, and on the whole heap at exit.
 */
#ifndef GA_CHECK_H
#define GA_CHECK_H
#include "ga.h"

#ifdef GA_DEBUG
#define GA_ASSERT(cond, ...)                                                                              \
	do {                                                                                              \
		if (GA_UNLIKELY(!(cond)))                                                                 \
			ga_assert_failed(__FILE__, __LINE__, #cond, " " __VA_ARGS__);                     \
	} while (0)
#else
#define GA_ASSERT(cond, ...) ((void)sizeof(!(cond)))
#endif

GA_HIDDEN __attribute__((noreturn, format(printf, 4, 5))) void ga_assert_failed(const char *file, int line,
										  const char *cond, const char *fmt, ...);

/* A verifier's finding: "goalloc: heap check failed: <what>", then abort(). */
GA_HIDDEN __attribute__((noreturn, format(printf, 1, 2))) void ga_check_failed(const char *fmt, ...);
/* The same for a field of the span at `span` (its base address) that does not hold what it must. */
GA_HIDDEN __attribute__((noreturn)) void ga_check_field(uintptr_t span, const char *field, uint64_t expected,
							uint64_t found);
#define GA_CHECK_EQ(span, field, expected, found)                                                          \
	do {                                                                                              \
		uint64_t e_ = (uint64_t)(expected), f_ = (uint64_t)(found);                               \
		if (GA_UNLIKELY(e_ != f_))                                                                \
			ga_check_field((span), (field), e_, f_);                                          \
	} while (0)

/* Is GOALLOC_CHECK on? */
GA_HIDDEN int ga_checking(void);
/* Verify the whole heap — arenas and page maps, every span's layout and page entries, every
 * mcentral with its spans and transfer batches, the calling thread's cache — with every lock
 * held (taken in rank order, as fork does). Spans that other threads' caches hold are checked
 * only where their owners do not write them (layout and pages). Returns when everything holds. */
GA_HIDDEN void ga_check_heap(void);
/* In-use spans the last ga_check_heap verified (for the report at exit). */
GA_HIDDEN uint64_t ga_check_spans_seen(void);
#endif
