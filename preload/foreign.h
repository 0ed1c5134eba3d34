/* foreign.h — blocks of glibc's own malloc reaching goalloc's entry points (foreign.c). */
#ifndef GOALLOC_FOREIGN_H
#define GOALLOC_FOREIGN_H
#include <stddef.h>

/* Is p a block of glibc's malloc (and of nobody in goalloc)? */
__attribute__((visibility("hidden"))) int foreign_owns(void *p);
/* glibc's realloc and malloc_usable_size of such a block (NULL / 0 if glibc's cannot be found). */
__attribute__((visibility("hidden"))) void *foreign_realloc(void *p, size_t n, int *done);
__attribute__((visibility("hidden"))) size_t foreign_usable_size(void *p);
#endif
