/* arena.c — arena reservation and the arena index. See arena.h. */
#include "arena.h"

#include "os.h"

struct heap_arena *_Atomic ga_arena_map[1u << GA_ARENA_L2_BITS];

/* Next address to try (Go's arenaHints, the upward list): under the mheap lock. */
static uintptr_t arena_hint = GA_ARENA_HINT_BASE;
static uint64_t arena_meta_bytes;

uint64_t arena_bytes_metadata(void)
{
	return arena_meta_bytes;
}

/* Records for the narenas arenas mapped at mem, published in the index, and the page size advised
 * for their memory; NULL (and mem unmapped) if the records cannot be had. */
static struct heap_arena *arena_publish(char *mem, uint32_t narenas)
{
	size_t n = (size_t)narenas << GA_ARENA_SHIFT;
	ga_os_heap_advise(mem, n);
	size_t recsz = ga_align_up(sizeof(struct heap_arena), 4096);
	char *recs = ga_os_alloc(recsz * narenas);
	if (!recs) {
		ga_os_free(mem, n);
		return NULL;
	}
	arena_meta_bytes += recsz * narenas;
	for (uint32_t i = 0; i < narenas; i++) {
		struct heap_arena *a = (struct heap_arena *)(recs + i * recsz);
		a->base = (uintptr_t)mem + ((uintptr_t)i << GA_ARENA_SHIFT);
		a->index = (uint32_t)(a->base >> GA_ARENA_SHIFT);
		a->freePages = GA_PAGES_PER_ARENA;
		atomic_store_explicit(&ga_arena_map[a->index], a, memory_order_release);
	}
	return (struct heap_arena *)recs;
}

/* Is [addr, addr + n) inside the indexed part of the address space? */
static int arena_range_ok(uintptr_t addr, size_t n)
{
	return addr + n >= addr && ((addr + n) >> GA_ARENA_SHIFT) <= (1u << GA_ARENA_L2_BITS);
}

struct heap_arena *arena_reserve(uint32_t narenas)
{
	size_t n = (size_t)narenas << GA_ARENA_SHIFT;
	if (narenas == 0 || n >> GA_ARENA_SHIFT != narenas)
		return NULL;
	char *mem = NULL;
	/* Go's scheme: try the hint; on a collision move the hint past it a few times; then take
	 * anything the kernel offers, aligned to the arena size. */
	for (int tries = 0; tries < 16 && !mem; tries++) {
		if (!arena_range_ok(arena_hint, n))
			break;
		mem = ga_os_map_at(arena_hint, n);
		if (!mem)
			arena_hint += (uintptr_t)1 << 32; /* skip past whatever sits there */
	}
	if (!mem)
		mem = ga_os_map_aligned(n, GA_ARENA_SIZE);
	if (!mem)
		return NULL;
	if (!arena_range_ok((uintptr_t)mem, n)) {
		ga_os_free(mem, n);
		return NULL;
	}
	arena_hint = (uintptr_t)mem + n;
	return arena_publish(mem, narenas);
}

struct heap_arena *arena_reserve_at(uintptr_t addr, uint32_t narenas)
{
	size_t n = (size_t)narenas << GA_ARENA_SHIFT;
	if (narenas == 0 || n >> GA_ARENA_SHIFT != narenas || addr % GA_ARENA_SIZE || !arena_range_ok(addr, n))
		return NULL;
	char *mem = ga_os_map_at(addr, n);
	if (!mem)
		return NULL;
	if (arena_hint >= addr && arena_hint < addr + n) /* the upward hint skips what is now taken */
		arena_hint = addr + n;
	return arena_publish(mem, narenas);
}
