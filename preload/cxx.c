/* cxx.c — C++ operator new/delete: the 20 mangled names but the six plain ones, which are aliases
 * of the fast paths in malloc.c. All 20 are exported so goalloc wins `new` even when another
 * allocator that exports them (Debian's redis links jemalloc) is also loaded. Written in C by
 * mangled name: libgoalloc.so does not depend on libstdc++.
 *
 * operator new must not return NULL: on failure it calls the installed new_handler and retries,
 * and without one throws std::bad_alloc through libstdc++'s std::__throw_bad_alloc (looked up
 * weakly: it is there whenever a C++ program is). Blocks from new are at least 16-aligned
 * (__STDCPP_DEFAULT_NEW_ALIGNMENT__), which clang relies on. */
#include <stddef.h>

#include "../core/fmt.h"
#include "../core/mgc.h"
#include "cxx.h"
#include "goalloc.h"

#define GA_EXPORT __attribute__((visibility("default")))

typedef void (*new_handler_t)(void);
extern new_handler_t _ZSt15get_new_handlerv(void) __attribute__((weak));
extern void _ZSt17__throw_bad_allocv(void) __attribute__((weak, noreturn));

struct nothrow_t;

/* operator new after a failed allocation: the new_handler loop, then bad_alloc (or NULL). */
GA_NOINLINE void *ga_new_failed(size_t n, size_t align, int nothrow)
{
	for (;;) {
		new_handler_t h = _ZSt15get_new_handlerv ? _ZSt15get_new_handlerv() : NULL;
		if (!h) {
			if (nothrow)
				return NULL;
			if (_ZSt17__throw_bad_allocv)
				_ZSt17__throw_bad_allocv();
			ga_fatal("operator new(%zu): out of memory", n);
		}
		h(); /* may free memory, throw, or abort */
		void *p = align > 16 ? goalloc_aligned_alloc(align, n) : goalloc_malloc(n < 9 ? 9 : n);
		if (p)
			return p;
	}
}

GA_INLINE void *new_impl(size_t n, size_t align, int nothrow)
{
	GC_NOTE_SITE();
	void *p = align > 16 ? goalloc_aligned_alloc(align, n) : goalloc_malloc(n < 9 ? 9 : n);
	if (GA_LIKELY(p))
		return p;
	return ga_new_failed(n, align, nothrow);
}

/* new */
GA_EXPORT void *_ZnwmRKSt9nothrow_t(size_t n, const struct nothrow_t *t) { (void)t; return new_impl(n, 0, 1); }
GA_EXPORT void *_ZnamRKSt9nothrow_t(size_t n, const struct nothrow_t *t) { (void)t; return new_impl(n, 0, 1); }
GA_EXPORT void *_ZnwmSt11align_val_tRKSt9nothrow_t(size_t n, size_t a, const struct nothrow_t *t)
{
	(void)t;
	return new_impl(n, a, 1);
}
GA_EXPORT void *_ZnamSt11align_val_tRKSt9nothrow_t(size_t n, size_t a, const struct nothrow_t *t)
{
	(void)t;
	return new_impl(n, a, 1);
}

/* Every delete is an alias of free() (malloc.c). */
