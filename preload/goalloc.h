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

/* ---- The collector (GOALLOC_GC=report|collect; README "Garbage collector") -------------------- */

/* Run a collection now and wait for it (Go's runtime.GC()): with GOALLOC_GC=report the blocks it
 * finds unreachable are counted (and reported at exit), with collect they are freed. Returns 0
 * when the cycle completed, -1 when the collector is off or the cycle was abandoned (a thread
 * could not be stopped, roots could not be read: the gctrace line says why). */
int goalloc_gc(void);

struct goalloc_gc_stats {
	int mode;                     /* 0 off, 1 report, 2 collect */
	uint64_t cycles;              /* completed collections */
	uint64_t aborted;             /* abandoned ones */
	uint64_t heap_live;           /* bytes marked by the last completed cycle */
	uint64_t heap_goal;           /* heap size that triggers the next cycle */
	uint64_t unreachable_objects; /* blocks the last completed cycle found unreachable */
	uint64_t unreachable_bytes;   /* their requested bytes (report) or class bytes (collect) */
	uint64_t freed_objects;       /* blocks collect mode freed, since start */
	uint64_t freed_bytes;
	uint64_t pause_total_ns;      /* world stopped, all cycles */
	uint64_t pause_last_ns;
	uint64_t roots_bytes;         /* root bytes the last cycle read */
};

/* Fill *out; returns 0 (mode 0 and zero counts when the collector is off). */
int goalloc_gc_stats(struct goalloc_gc_stats *out);

/* Tell the collector that the block holding p is referenced where it cannot look (a pointer kept
 * only by the kernel, XOR-ed, in a file): it is never reported or freed, and what it points to
 * is reachable. Stays in force until the block is freed. Returns 0, or -1 if p is not in a block
 * of goalloc's (or the collector is off). */
int goalloc_gc_ignore(const void *p);

#ifdef __cplusplus
}
#endif
#endif
