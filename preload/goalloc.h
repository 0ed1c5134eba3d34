/* goalloc.h — goalloc's public interface beyond the C library's malloc family.
 *
 * Programs run under LD_PRELOAD=libgoalloc.so need none of this; it is for programs that link
 * against goalloc (pkg-config goalloc) to ask it for statistics, allocate pointer-free memory,
 * or call the allocator by its own names.
 */
#ifndef GOALLOC_H
#define GOALLOC_H
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The allocator under its own names (same semantics as the libc names). */
void *goalloc_malloc(size_t size);
void goalloc_free(void *ptr);
void *goalloc_calloc(size_t nmemb, size_t size);
void *goalloc_realloc(void *ptr, size_t size);
void *goalloc_aligned_alloc(size_t alignment, size_t size);
int goalloc_posix_memalign(void **memptr, size_t alignment, size_t size);
size_t goalloc_usable_size(void *ptr);
void *goalloc_valloc(size_t size);
void *goalloc_pvalloc(size_t size);

/* Pointer-free ("noscan") allocation: the block is served from Go's noscan span classes and a
 * garbage collector never scans its contents. Free it with free()/goalloc_free(). */
void *goalloc_malloc_atomic(size_t size);

/* A snapshot of the allocator's counters (all since process start unless noted). */
struct goalloc_stats {
	uint64_t mallocs;       /* successful allocations (all sizes) */
	uint64_t frees;         /* blocks freed */
	uint64_t bytes_in_use;  /* usable bytes of live blocks (class size, or pages for large) */
	uint64_t large_mallocs; /* allocations over 32 KiB, each its own span */
	uint64_t large_frees;
	uint64_t spans_in_use;  /* mspans currently carrying blocks */
	uint64_t arenas;        /* 64 MiB heap arenas reserved */
	uint64_t bytes_mapped;  /* address space reserved for arenas */
	uint64_t bytes_metadata;/* off-heap metadata mapped (span structs, arena records, ...) */
	uint64_t threads_seen;  /* threads that created a per-thread cache */
};

/* Fill *out; returns 0. Counters held in per-thread caches are included. */
int goalloc_stats(struct goalloc_stats *out);

/* Write the human-readable report (what GOALLOC_STATS=1 prints at exit) to a file descriptor.
 * Never allocates. */
void goalloc_print_stats(int fd);

#ifdef __cplusplus
}
#endif
#endif
