/* cxx.h — what preload/malloc.c and preload/cxx.c share for C++ operator new. */
#ifndef GOALLOC_CXX_H
#define GOALLOC_CXX_H
#include <stddef.h>

/* operator new(n) with malloc's fast path inlined (malloc.c). */
__attribute__((visibility("hidden"))) void *ga_new(size_t n);
/* operator new(n, align_val_t) with the aligned fast path inlined (malloc.c). */
__attribute__((visibility("hidden"))) void *ga_new_aligned(size_t n, size_t align);
/* operator new after a failed allocation: the new_handler loop, then std::bad_alloc, or NULL
 * for the nothrow forms (cxx.c). */
__attribute__((visibility("hidden"))) void *ga_new_failed(size_t n, size_t align, int nothrow);
#endif
