/* fixalloc.h — off-heap free-list allocator for one fixed size (Go's fixalloc): mspans, arena
 * records. Memory comes from the OS in 64 KiB chunks and is never unmapped; freed records go on
 * an intrusive list. fixalloc_release gives the pages that hold only free records back to the OS
 * (malloc_trim); their records are then handed out again as a fresh chunk's are. Metadata never
 * lives in user heap memory. Caller holds the owner's lock. */
#ifndef GA_FIXALLOC_H
#define GA_FIXALLOC_H
#include "ga.h"

struct fixalloc {
	size_t size;     /* record size, a multiple of 16 */
	void *list;      /* freed records, linked through their first word */
	char *chunk;     /* bump region */
	size_t nchunk;   /* bytes left in chunk */
	size_t inuse;    /* records handed out and not freed */
	size_t mapped;   /* bytes obtained from the OS */
	/* Runs of free records whose pages fixalloc_release gave back: used as chunks are, before a
	 * new chunk is mapped. */
	struct fixalloc_run {
		char *p;
		size_t n; /* bytes */
	} *released;      /* from the OS, grown by doubling */
	size_t nreleased, released_cap;
};

GA_HIDDEN void fixalloc_init(struct fixalloc *f, size_t size);
/* A record; its contents are those it had when freed (zero if new). NULL if the OS refuses. */
GA_HIDDEN void *fixalloc_alloc(struct fixalloc *f);
GA_HIDDEN void fixalloc_free(struct fixalloc *f, void *p);
/* Give back to the OS every page that holds free records only (their list is rebuilt, sorted by
 * address). Returns the bytes released. */
GA_HIDDEN size_t fixalloc_release(struct fixalloc *f);
#endif
