/* emergency.c — blocks for signal handlers that interrupted their thread inside goalloc: the
 * reserve's stripes and bins, and the fallback mappings. See emergency.h. */
#include "emergency.h"

#include "os.h"
#include "track.h"

_Static_assert(EMERGENCY_MAX_SIZE == EMERGENCY_BIN_BYTES, "the largest bin holds one slot");
_Static_assert((EMERGENCY_BIN_BYTES & (EMERGENCY_BIN_BYTES - 1)) == 0, "bins are aligned to their size");

/* The region: EMERGENCY_REGION_BYTES at an EMERGENCY_BIN_BYTES boundary, mapped by the first
 * handler that needs it and never unmapped; 0 until then. Stripe i starts at
 * i * EMERGENCY_STRIPE_BYTES, bin k of a stripe at k * EMERGENCY_BIN_BYTES in it, slot j of bin k
 * at j << (4 + k) in the bin. */
static _Atomic uintptr_t region;
static struct emergency_stripe stripes[EMERGENCY_STRIPES];
/* Stripes handed to threads so far (taken modulo EMERGENCY_STRIPES), and this thread's: 1 + its
 * index, 0 before its first use. */
static _Atomic unsigned stripes_given;
static __thread uint8_t my_stripe;

/* Fallback mappings, one block each (its first byte): a lock-free table so that free() and the
 * others find them. An entry's block is 0 when the entry is free, CLAIMED while its owner fills
 * it in; len is valid while block holds an address. maps_live counts entries with an address,
 * so that a pointer of no kind (a glibc chunk freed after the preload) is told apart without a
 * scan while no fallback mapping exists. */
#define CLAIMED ((uintptr_t)1)
static struct {
	_Atomic uintptr_t block;
	size_t len;
} maps[EMERGENCY_MAPS];
static _Atomic unsigned maps_live;
static _Atomic uint64_t maps_made;

/* ---- The reserve --------------------------------------------------------------------------- */

static unsigned bin_of(size_t size)
{
	return size <= 16 ? 0 : (unsigned)(64 - __builtin_clzll((unsigned long long)size - 1) - 4);
}

static unsigned bin_slots(unsigned k)
{
	size_t n = EMERGENCY_BIN_BYTES >> (4 + k);
	return n < 64 ? (unsigned)n : 64;
}

static uint64_t bin_mask(unsigned k)
{
	unsigned n = bin_slots(k);
	return n == 64 ? ~(uint64_t)0 : ((uint64_t)1 << n) - 1;
}

/* The region's base, mapped on first use. Two threads (or a handler nested in one that is
 * mapping it) may both map it: the first to publish wins, the other unmaps its own. */
static uintptr_t region_base(void)
{
	uintptr_t base = atomic_load_explicit(&region, memory_order_acquire);
	if (GA_LIKELY(base))
		return base;
	void *m = ga_os_map_aligned(EMERGENCY_REGION_BYTES, EMERGENCY_BIN_BYTES);
	if (!m)
		return 0;
	ga_track_new_span((uintptr_t)m, EMERGENCY_REGION_BYTES); /* no block there yet */
	if (atomic_compare_exchange_strong_explicit(&region, &base, (uintptr_t)m, memory_order_acq_rel,
						    memory_order_acquire))
		return (uintptr_t)m;
	ga_os_free(m, EMERGENCY_REGION_BYTES);
	return base;
}

/* Take a free slot of bin k of stripe s: its index, or -1 if the bin is full. Acquire: the
 * writes of whoever freed the slot come before the new owner's. */
static int take_slot(struct emergency_stripe *s, unsigned k)
{
	uint64_t mask = bin_mask(k);
	uint64_t w = atomic_load_explicit(&s->used[k], memory_order_relaxed);
	for (;;) {
		uint64_t avail = ~w & mask;
		if (!avail)
			return -1;
		uint64_t bit = avail & -avail;
		if (atomic_compare_exchange_weak_explicit(&s->used[k], &w, w | bit, memory_order_acquire,
							  memory_order_relaxed))
			return __builtin_ctzll(bit);
	}
}

static unsigned stripe_of_thread(void)
{
	unsigned i = my_stripe;
	if (GA_UNLIKELY(!i)) {
		i = atomic_fetch_add_explicit(&stripes_given, 1, memory_order_relaxed) % EMERGENCY_STRIPES + 1;
		my_stripe = (uint8_t)i;
	}
	return i - 1;
}

/* The slot p names: stripe *s, bin *k, index *j; 0 if p is not the start of a slot. */
static int slot_of(const void *p, unsigned *s, unsigned *k, unsigned *j)
{
	uintptr_t base = atomic_load_explicit(&region, memory_order_acquire);
	uintptr_t a = (uintptr_t)p - base;
	if (!base || a >= EMERGENCY_REGION_BYTES)
		return 0;
	uintptr_t off = a % EMERGENCY_STRIPE_BYTES, in = off % EMERGENCY_BIN_BYTES;
	*s = (unsigned)(a / EMERGENCY_STRIPE_BYTES);
	*k = (unsigned)(off / EMERGENCY_BIN_BYTES);
	*j = (unsigned)(in >> (4 + *k));
	return (in & ((16u << *k) - 1)) == 0 && *j < bin_slots(*k);
}

/* ---- Fallback mappings ---------------------------------------------------------------------- */

/* A mapping of the block's own, aligned to `align` (a power of two). */
static void *map_alloc(size_t size, size_t align)
{
	size_t len = ga_align_up(size, 4096);
	if (len < size)
		return NULL;
	for (unsigned i = 0; i < EMERGENCY_MAPS; i++) {
		uintptr_t none = 0;
		if (atomic_load_explicit(&maps[i].block, memory_order_relaxed) ||
		    !atomic_compare_exchange_strong_explicit(&maps[i].block, &none, CLAIMED, memory_order_relaxed,
							     memory_order_relaxed))
			continue;
		void *m = align <= 4096 ? ga_os_alloc(len) : ga_os_map_aligned(len, align);
		if (!m) {
			atomic_store_explicit(&maps[i].block, 0, memory_order_relaxed);
			return NULL;
		}
		maps[i].len = len;
		atomic_fetch_add_explicit(&maps_live, 1, memory_order_relaxed);
		atomic_fetch_add_explicit(&maps_made, 1, memory_order_relaxed);
		atomic_store_explicit(&maps[i].block, (uintptr_t)m, memory_order_release);
		return m;
	}
	return NULL; /* the table is full: the handler's malloc fails */
}

static int map_find(const void *p)
{
	if ((uintptr_t)p % 4096 || !atomic_load_explicit(&maps_live, memory_order_acquire))
		return -1;
	for (unsigned i = 0; i < EMERGENCY_MAPS; i++)
		if (atomic_load_explicit(&maps[i].block, memory_order_acquire) == (uintptr_t)p)
			return (int)i;
	return -1;
}

/* ---- Entry points ----------------------------------------------------------------------------- */

void *emergency_alloc(size_t size)
{
	if (size == 0)
		size = 1;
	size_t align = size & -size;
	if (align < 16)
		align = 16;
	if (size > EMERGENCY_MAX_SIZE)
		return map_alloc(size, 16); /* (large_alloc counts on these reading as zero) */
	uintptr_t base = region_base();
	if (GA_LIKELY(base)) {
		unsigned k = bin_of(size), first = stripe_of_thread();
		for (unsigned n = 0; n < EMERGENCY_STRIPES; n++) {
			unsigned s = (first + n) % EMERGENCY_STRIPES;
			int j = take_slot(&stripes[s], k);
			if (j >= 0)
				return (void *)(base + s * EMERGENCY_STRIPE_BYTES + k * EMERGENCY_BIN_BYTES +
						((uintptr_t)j << (4 + k)));
		}
	}
	return map_alloc(size, align);
}

size_t emergency_size(const void *p)
{
	unsigned s, k, j;
	if (slot_of(p, &s, &k, &j))
		return (size_t)16 << k;
	int i = map_find(p);
	return i < 0 ? 0 : maps[i].len;
}

int emergency_free(void *p)
{
	unsigned s, k, j;
	if (slot_of(p, &s, &k, &j)) {
		uint64_t bit = (uint64_t)1 << j;
		/* Release: this thread's writes to the block come before the next owner's. */
		if (!(atomic_fetch_and_explicit(&stripes[s].used[k], ~bit, memory_order_release) & bit))
			ga_double_free(p);
		return 1;
	}
	int i = map_find(p);
	if (i < 0)
		return 0;
	size_t len = maps[i].len;
	uintptr_t expect = (uintptr_t)p;
	if (!atomic_compare_exchange_strong_explicit(&maps[i].block, &expect, 0, memory_order_relaxed,
						     memory_order_relaxed))
		ga_double_free(p); /* another thread freed it at the same time */
	atomic_fetch_sub_explicit(&maps_live, 1, memory_order_relaxed);
	ga_os_free(p, len);
	return 1;
}

unsigned emergency_slots_in_use(void)
{
	unsigned n = 0;
	for (unsigned s = 0; s < EMERGENCY_STRIPES; s++)
		for (unsigned k = 0; k < EMERGENCY_BINS; k++)
			n += (unsigned)__builtin_popcountll(atomic_load_explicit(&stripes[s].used[k], memory_order_relaxed));
	return n;
}

uint64_t emergency_fallbacks(void)
{
	return atomic_load_explicit(&maps_made, memory_order_relaxed);
}
