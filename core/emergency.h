/* emergency.h — the reserve that serves malloc from a signal handler which interrupted its thread
 * inside goalloc (the thread's mcache busy flag set).
 *
 * Such a handler must not touch the interrupted thread's lists nor wait for a lock the thread may
 * hold. It takes a block from the reserve: one region of address space mapped once per process,
 * cut into EMERGENCY_STRIPES stripes, each stripe into EMERGENCY_BINS bins of equal-size slots
 * (16 bytes to 32 KiB, powers of two), each bin with a bitmap of the slots in use. A thread uses
 * the stripe given to it on its first use (round robin), then the others; a full reserve falls
 * back to a mapping of the block's own, as do blocks over 32 KiB.
 *
 * Taking a slot is one compare-and-swap on its bin's bitmap, giving one back is one atomic AND:
 * lock-free and async-signal-safe. A bitmap has no ABA problem: a compare-and-swap that succeeds
 * found the word unchanged, hence the same slots free, whatever happened in between — another
 * thread, or a handler nested on this thread that interrupted this very operation. Any thread may
 * free a slot, from a handler or not, before or after the thread that took it exits; the next
 * handler that asks for that bin on that stripe reuses it. Nothing is written inside a block, so
 * memcheck's view of the blocks (the callers' ga_track_malloc/ga_track_free) stays exact.
 *
 * The region and the fallback mappings are goalloc's memory outside every heap arena: span_of()
 * is NULL there, and emergency_size() tells such blocks apart (free, realloc, malloc_usable_size,
 * and later the collector, which must neither scan their slots as heap spans nor free them).
 */
#ifndef GA_EMERGENCY_H
#define GA_EMERGENCY_H
#include "ga.h"
#include "tunables.h"

/* Slot sizes 16 << k for bin k < EMERGENCY_BINS: 16 bytes .. 32 KiB. */
#define EMERGENCY_BINS 12
#define EMERGENCY_MAX_SIZE ((size_t)16 << (EMERGENCY_BINS - 1))
/* Each bin takes EMERGENCY_BIN_BYTES of a stripe, at a multiple of it from the stripe's start
 * (the region is aligned to it), so every slot is aligned to its size: a request whose size is
 * a multiple of an alignment ≤ 32 KiB gets a block so aligned. Slots per bin: that many bytes'
 * worth, at most 64 (one bitmap word). Only the pages of slots ever used are resident. */
#define EMERGENCY_STRIPE_BYTES (EMERGENCY_BINS * EMERGENCY_BIN_BYTES)
#define EMERGENCY_REGION_BYTES (EMERGENCY_STRIPES * EMERGENCY_STRIPE_BYTES)

/* One stripe's bitmaps: bit i of used[k] set = slot i of bin k is handed out. Changed only by
 * atomic read-modify-write (compare-and-swap to take a slot, AND to give one back); bits at and
 * above a bin's slot count stay 0. A stripe has its own cache lines: two threads on different
 * stripes do not share one. */
struct emergency_stripe {
	_Atomic uint64_t used[EMERGENCY_BINS];
} __attribute__((aligned(2 * GA_CACHELINE)));

/* A block of at least `size` bytes, aligned to 16 and to the largest power of two ≤ 32 KiB that
 * divides size; NULL (errno kept) if neither the reserve nor a fallback mapping has one. Blocks
 * over EMERGENCY_MAX_SIZE, and blocks the reserve could not serve, are fresh mappings (they read
 * as zero); reserve blocks hold whatever they held before. */
GA_HIDDEN void *emergency_alloc(size_t size);
/* p's usable size if p is a block emergency_alloc hands out (a slot of the reserve, whether
 * handed out or not, or a live fallback mapping), else 0. */
GA_HIDDEN size_t emergency_size(const void *p);
/* Give back p: 1 if it was such a block, 0 if p is none of them. A slot freed twice ends the
 * program (ga_double_free). */
GA_HIDDEN int emergency_free(void *p);

/* For tests: slots of the reserve handed out now (all stripes), and fallback mappings made so
 * far. */
GA_HIDDEN unsigned emergency_slots_in_use(void);
GA_HIDDEN uint64_t emergency_fallbacks(void);
#endif
