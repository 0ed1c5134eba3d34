/* track.h — Valgrind memcheck annotations. Built with -DGOALLOC_VALGRIND (the valgrind flavour,
 * build/valgrind/libgoalloc.so) they tell memcheck which bytes are live blocks, so it checks a
 * program's use of goalloc's blocks (use after free, overflow, leaks) while goalloc itself runs;
 * otherwise they compile to nothing.
 *
 * Contract: every block handed to the program is announced with ga_track_malloc (same pointer and
 * the usable size) and withdrawn with ga_track_free; goalloc's own words inside free blocks (the
 * free-list link and the double-free key) are read and written only through ga_link_* below. */
#ifndef GA_TRACK_H
#define GA_TRACK_H
#include <stddef.h>
#include <stdint.h>

#ifdef GOALLOC_VALGRIND
#include <valgrind/memcheck.h>
#define ga_track_malloc(p, n, zeroed) VALGRIND_MALLOCLIKE_BLOCK((p), (n), 0, (zeroed))
#define ga_track_free(p) VALGRIND_FREELIKE_BLOCK((p), 0)
#define ga_track_resize(p, old, new) VALGRIND_RESIZEINPLACE_BLOCK((p), (old), (new), 0)
#define ga_track_new_span(base, n) VALGRIND_MAKE_MEM_NOACCESS((void *)(base), (n))
#define ga_track_open(p, n) VALGRIND_MAKE_MEM_DEFINED((p), (n))
#define ga_track_close(p, n) VALGRIND_MAKE_MEM_NOACCESS((p), (n))
#else
#define ga_track_malloc(p, n, zeroed) ((void)0)
#define ga_track_free(p) ((void)0)
#define ga_track_resize(p, old, new) ((void)0)
#define ga_track_new_span(base, n) ((void)0)
#define ga_track_open(p, n) ((void)0)
#define ga_track_close(p, n) ((void)0)
#endif

/* The free-list link: first word of a free block. */
static inline void *ga_link_get(void *p)
{
	ga_track_open(p, sizeof(void *));
	void *n = *(void **)p;
	ga_track_close(p, sizeof(void *));
	return n;
}
static inline void ga_link_set(void *p, void *next)
{
	ga_track_open(p, sizeof(void *));
	*(void **)p = next;
	ga_track_close(p, sizeof(void *));
}
#endif
