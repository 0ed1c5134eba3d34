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

/* The free-list link: first word of a free block, kept mangled as
 *     stored = next ^ (address of the link × ga_link_key)
 * (glibc's safe-linking, with a per-process secret, odd, multiplied in). The mask looks random
 * and differs from block to block, so a word written there by an overflow from a neighbouring
 * block — an address, or a link copied from another free block — decodes, unless the writer knows
 * the secret, to a value with random high bits; every block lies below ga_link_limit (the highest
 * end of a small span), so the pop that would make it the list head rejects it
 * (ga_link_plausible) and the program ends with goalloc's message instead of being handed memory
 * that is not a free block. (Only about 2^-24 of such words pass, with a heap below 2^40.) Lists
 * end in NULL, whose mangled form is the mask. Every reader and writer of a link goes through the
 * two functions below: the thread free lists, the mcentral's batches, the deferred stack,
 * carving and the spans' free slots. */
extern uint64_t ga_link_key __attribute__((visibility("hidden")));
extern uintptr_t ga_link_limit __attribute__((visibility("hidden")));

/* A link that decodes to no block of the list's class: ends the program ("goalloc: corrupted free
 * list: ..."), naming the free block whose link it is and the decoded value. */
__attribute__((noreturn, visibility("hidden"))) void ga_corrupt_list(const void *block, const void *link);

static inline void *ga_link_get(void *p)
{
	ga_track_open(p, sizeof(void *));
	uintptr_t n = *(uintptr_t *)p ^ (uintptr_t)p * ga_link_key;
	ga_track_close(p, sizeof(void *));
	return (void *)n;
}
static inline void ga_link_set(void *p, void *next)
{
	ga_track_open(p, sizeof(void *));
	*(uintptr_t *)p = (uintptr_t)next ^ (uintptr_t)p * ga_link_key;
	ga_track_close(p, sizeof(void *));
}
/* May n (a decoded link) be a block or the end of a list? It lies at or below the highest small
 * span's end (NULL does). Read relaxed: the bound only grows, and a block a thread can see was
 * made by a span whose bound was published before the block reached it. */
static inline int ga_link_plausible(const void *n)
{
	return (uintptr_t)n <= __atomic_load_n(&ga_link_limit, __ATOMIC_RELAXED);
}
#endif
