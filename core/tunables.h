/* tunables.h — every number in goalloc that is a choice rather than a fact of Go's layout or
 * the ABI: the bounds of the caches at each level, batch sizes, and the thresholds at which
 * realloc moves or gives back pages. Each says what it trades; the measurements behind the
 * values, and how to measure again, are in docs/tuning.md. Not tunables, and not here: Go's size
 * classes and page/arena sizes (sizeclass_gen/, ga.h), C's alignment rules, option bounds
 * (options.h).
 *
 * Each can be overridden from the compiler's command line to measure another value
 * (make B=build-b EXTRA_CFLAGS=-DMCACHE_LIST_BYTES=131072; see docs/tuning.md). */
#ifndef GA_TUNABLES_H
#define GA_TUNABLES_H
#include <stddef.h>

/* ---- Per-thread free lists (mcache.c) ----------------------------------------------------- */

/* A class's list holds about this many bytes of blocks (list_cap: MCACHE_LIST_BYTES / size,
 * clamped to [MCACHE_LIST_MIN, MCACHE_LIST_MAX]). Larger lists mean fewer overflows and refills
 * (trips to the mcentral and its lock) but more memory a thread holds that no other thread can
 * use — a thread that only frees a class fills its list to the bound. */
#ifndef MCACHE_LIST_BYTES
#define MCACHE_LIST_BYTES 65536u
#endif
/* Big classes (over 16 KiB) still get a few blocks, so an alternating malloc/free of one big
 * size stays on the list instead of its span. */
#ifndef MCACHE_LIST_MIN
#define MCACHE_LIST_MIN 4u
#endif
/* Tiny classes are capped: 512 blocks already make refills rare for them, and the cap bounds
 * the blocks one overflow parks or one refill takes as a batch, each of which its span counts
 * as allocated and so cannot give back. */
#ifndef MCACHE_LIST_MAX
#define MCACHE_LIST_MAX 512u
#endif

/* Blocks an overflowing list keeps (at most half its bound); the rest are parked as one batch.
 * Finding the cut is a walk down the list through blocks freed long ago, one cache miss per step:
 * keeping few makes the walk short; keeping some means a thread swinging around the bound takes
 * or parks a batch at most once per this many calls. */
#ifndef MCACHE_TRIM_KEEP
#define MCACHE_TRIM_KEEP 16u
#endif

/* A list that overflows this many times in a row with no block of its class handed out between
 * belongs to a thread that only frees the class (a consumer of blocks other threads allocate):
 * it keeps nothing and its bound drops (below). Two, not one, so a thread between a burst of
 * frees and its next mallocs is not mistaken for a consumer. */
#ifndef MCACHE_FREEONLY_OVERFLOWS
#define MCACHE_FREEONLY_OVERFLOWS 2
#endif
/* Such a list's bound: the full bound / MCACHE_FREEONLY_DIV, at least MCACHE_FREEONLY_MIN blocks
 * (or the full bound if smaller). What it holds is memory nobody on that thread reuses, so it is
 * smaller than the full bound; but it is also the size of the batches such a thread parks, and
 * every batch costs the consumer one trip to the mcentral's lock and the producer that takes it
 * another: a larger bound means fewer trips per block handed from thread to thread. */
#ifndef MCACHE_FREEONLY_DIV
#define MCACHE_FREEONLY_DIV 2u
#endif
#ifndef MCACHE_FREEONLY_MIN
#define MCACHE_FREEONLY_MIN 16u
#endif

/* After a list miss served from the span, up to bound / MCACHE_CARVE_DIV and at most
 * MCACHE_CARVE_MAX more slots are carved onto the list, so a burst of allocations takes the pop
 * fast path. More carving means fewer slow paths in a burst, but slots listed and perhaps never
 * used by this thread (they count as allocated to their span, which then cannot be freed). */
#ifndef MCACHE_CARVE_DIV
#define MCACHE_CARVE_DIV 4
#endif
#ifndef MCACHE_CARVE_MAX
#define MCACHE_CARVE_MAX 32
#endif

/* Blocks of other owners' spans a thread frees (mowner.h) are gathered per class, up to
 * MCACHE_OUTBOX_MAX (and at most half the class's list bound), before they go to the owner's
 * inbox with one compare-and-swap: a locked instruction per free waits for the stores into the
 * block it follows (the link and the free mark, often a cache miss on a block another core just
 * used), where plain stores overlap. More gathered means fewer locked instructions, and blocks
 * that reach their owner later. */
#ifndef MCACHE_OUTBOX_MAX
#define MCACHE_OUTBOX_MAX 32
#endif

/* ---- Per-thread cache of freed large spans (mcache.h, mcache.c) ------------------------------ */

/* Freed large spans a thread keeps for its next large malloc: at most this many, and at most
 * MCACHE_LARGE_BYTES in all (a span bigger than that is never kept). A malloc/free loop of one
 * large size then skips the page heap and its lock; the price is that much resident memory per
 * thread that other threads cannot reuse (given back when the heap would otherwise grow,
 * mcache_large_drain_for). MCACHE_LARGE_SLOTS is also the size of struct mcache's large[] array
 * and the bound of the loop a free runs over it. */
#ifndef MCACHE_LARGE_SLOTS
#define MCACHE_LARGE_SLOTS 8
#endif
#ifndef MCACHE_LARGE_BYTES
#define MCACHE_LARGE_BYTES (4u << 20)
#endif
/* A cached span serves a request of npages if it has at most npages + npages / this many pages
 * (the surplus tail is cut off and given back): a higher divisor wastes less in the cut but
 * finds a span less often. */
#ifndef MCACHE_LARGE_SLACK_DIV
#define MCACHE_LARGE_SLACK_DIV 4
#endif

/* ---- Signal-handler allocations (emergency.h, emergency.c) -------------------------------- */

/* The reserve that serves malloc from a handler which interrupted goalloc: EMERGENCY_STRIPES
 * stripes, each with one bin of EMERGENCY_BIN_BYTES per power-of-two slot size (16 B .. 32 KiB,
 * at most 64 slots a bin: one bitmap word). More stripes let more threads' handlers allocate
 * without trying each other's stripes; each costs address space (only slots ever used become
 * resident). The bin size is also the largest alignment the reserve honours. */
#ifndef EMERGENCY_STRIPES
#define EMERGENCY_STRIPES 16
#endif
#ifndef EMERGENCY_BIN_BYTES
#define EMERGENCY_BIN_BYTES ((size_t)32 << 10)
#endif
/* Past the reserve (a bigger request, or every slot taken), each allocation is a mapping of its
 * own, recorded in a lock-free table of this many entries that free() scans for pointers outside
 * the arenas. More entries cost that scan; when they run out such an allocation fails with NULL. */
#ifndef EMERGENCY_MAPS
#define EMERGENCY_MAPS 1024
#endif

/* ---- mcentral (mcentral.h, mcentral.c) ---------------------------------------------------- */

/* The transfer cache: at most MCENTRAL_MAX_BATCHES parked batches and MCENTRAL_BATCH_BYTES of
 * blocks per class. Parked blocks are handed to the next thread that runs out at O(1) per batch;
 * beyond the bounds a batch goes back to its spans block by block, which is slower (and the spans
 * it empties go to the heap, to be taken and marked afresh when the class needs them again) but
 * lets memory return to the heap. The byte bound is the memory bound and keeps big classes from
 * parking megabytes; the count only sizes the array (16 bytes an entry), and should rarely bind
 * first: small classes and the small batches of threads that only free fill many entries with
 * few bytes. */
#ifndef MCENTRAL_MAX_BATCHES
#define MCENTRAL_MAX_BATCHES 128
#endif
#ifndef MCENTRAL_BATCH_BYTES
#define MCENTRAL_BATCH_BYTES (512u << 10)
#endif

/* A span whose last block comes back stays in its class as an empty partial span, up to this
 * many bytes of such spans per class (at least one span, more for a class that showed it needs
 * more: mcentral.keep); past it, it goes to the mheap at once (should_release). Kept spans stop a class that empties and refills in a loop from giving its
 * spans to the page heap and taking them back every time (and, with the scavenger, from faulting
 * their pages in again); they cost at most this much idle memory per class until the scavenger's
 * next pass returns the ones no thread took meanwhile (mcentral_trim_empty). */
#ifndef MCENTRAL_KEEP_EMPTY_BYTES
#define MCENTRAL_KEEP_EMPTY_BYTES (256u << 10)
#endif
/* The most a class raises its bound to (mcentral.keep: a class that gave spans back and then
 * needed new ones keeps that many more): the scavenger's start threshold, so that no class alone
 * holds more idle memory than a program may keep without a scavenger thread. */
#ifndef MCENTRAL_KEEP_EMPTY_MAX
#define MCENTRAL_KEEP_EMPTY_MAX ((uint64_t)64 << 20)
#endif
/* Empty spans one mcentral_free_list call gives back (after dropping the lock; a stack array of
 * this size). Any more stay as partial spans, reused before a new span is taken. */
#ifndef MCENTRAL_RELEASE_MAX
#define MCENTRAL_RELEASE_MAX 8
#endif

/* ---- realloc of large blocks (malloc.c) -------------------------------------------------- */

/* A shrinking large block stays where it is, pages and all, until it shrinks to half or less
 * (npages <= old npages / GA_REALLOC_SHRINK_DIV): shrinking by a little and growing back should
 * not move or remap anything. */
#ifndef GA_REALLOC_SHRINK_DIV
#define GA_REALLOC_SHRINK_DIV 2
#endif
/* Runs of at least this many bytes that realloc leaves behind (a big block copied elsewhere, the
 * tail of one it shrank) go back to the OS at once. Lower saves resident memory but costs a page
 * fault per page when the range is next handed out. */
#ifndef GA_REALLOC_RELEASE_MIN
#define GA_REALLOC_RELEASE_MIN ((size_t)1 << 20)
#endif
/* Large blocks of at least this many bytes that realloc must move have their pages moved
 * (mremap) rather than copied; the old range then reads as zero. Lower moves more blocks without
 * copying and leaves less resident, but each move is system calls and later page faults, which
 * cost more than a copy of a small block. */
#ifndef GA_REALLOC_MOVE_MIN
#define GA_REALLOC_MOVE_MIN ((size_t)512 << 10)
#endif

/* ---- calloc (malloc.h) ------------------------------------------------------------------- */

/* calloc's fast path zeroes blocks up to this many bytes with inline 8-byte stores, larger ones
 * with memset: below it a call to memset costs more than the stores, above it memset's wide
 * stores win. */
#ifndef GA_CALLOC_INLINE_MAX
#define GA_CALLOC_INLINE_MAX 64
#endif

/* ---- Page size of the heap (os.c) --------------------------------------------------------- */

/* The first this many bytes of the heap keep 4 KiB pages; the rest is marked for transparent huge
 * pages (GOALLOC_HUGEPAGES). Lower: more programs get huge pages' TLB reach and fewer page faults,
 * and a program whose heap ends just past the floor keeps up to 2 MiB more resident (docs/tuning.md
 * has the programs measured at 4 and 16 MiB). */
#ifndef GA_HUGEPAGE_FLOOR
#define GA_HUGEPAGE_FLOOR ((size_t)16 << 20)
#endif

/* ---- Metadata (fixalloc.c) ---------------------------------------------------------------- */

/* Bytes fixalloc maps at a time for span records and the like: fewer mmap calls against address
 * space mapped before it is needed (records bigger than this get a mapping of their own). */
#ifndef FIXALLOC_CHUNK
#define FIXALLOC_CHUNK (64 * 1024)
#endif
#endif
