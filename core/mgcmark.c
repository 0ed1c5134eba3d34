/* mgcmark.c — roots, the gray stack and the pointer test (Go: mgcmark.go, markroot, scanblock,
 * greyobject; bdwgc: mark.c, os_dep.c for the roots of a C process).
 *
 * Everything here runs with the world stopped and every goalloc lock held, on the thread that
 * runs the cycle, and touches only memory of its own (gc_mem_grow) and the heap's metadata: no
 * malloc, no stdio, no dynamic loader, since a stopped thread may hold their locks.
 *
 * Roots are every readable and writable private mapping and every shared anonymous one listed
 * in /proc/self/maps after the stop, less goalloc's arenas, its metadata (os.h keeps their
 * ranges) and its own writable segment; within a mapping that holds a thread's stack pointer
 * only the part from that pointer (less the 128-byte red zone) up is read; pages neither present
 * nor swapped are skipped (PAGEMAP_SCAN, or /proc/self/pagemap where the ioctl is missing or
 * GOALLOC_GC_PAGEMAP=read). Then the registers of each stopped thread, each thread's
 * sigaltstack, and the blocks registered with goalloc_gc_ignore.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <string.h>
#include <sys/ioctl.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "arena.h"
#include "fmt.h"
#include "mcache.h"
#include "mcentral.h"
#include "mgc.h"
#include "mheap.h"
#include "mspan.h"
#include "options.h"
#include "os.h"
#include "stats.h"
#include "stw.h"

#define GC_REDZONE 128 /* x86-64: a leaf function may keep data this far below its stack pointer */

void *gc_mem_grow(void *old, size_t oldsz, size_t newsz)
{
	void *p = ga_os_alloc(newsz);
	if (p && old) {
		memcpy(p, old, oldsz);
		ga_os_free(old, oldsz);
	}
	return p;
}

/* ---- The gray stack ------------------------------------------------------------------------ */

/* Objects marked and not yet scanned: (address | GRAY_CHECKED, span). An object is marked when a
 * pointer to it is found, before its memory is read: whether it is a free slot (its free mark) is
 * checked when it leaves the stack, through a short queue that prefetches it first (as bdwgc's
 * and Go's mark loops do), so that the cache miss on each new object overlaps the scanning of
 * others; a free one is unmarked then. GRAY_CHECKED: known to be allocated and counted already.
 * The stack grows by doubling; when it cannot, the object is left marked but unscanned and
 * `overflowed` is set, and once the stack drains every marked object is scanned again
 * (rescan_span), which marks nothing twice. */
#define GRAY_CHECKED ((uintptr_t)1)
struct gray {
	uintptr_t *v; /* pairs */
	size_t n, cap; /* in pairs */
	int overflowed;
};

static struct gray gray;
static uintptr_t heap_lo, heap_hi; /* every arena lies within [heap_lo, heap_hi) */
static uint64_t marked_bytes, marked_objects;

static void gray_push(uintptr_t obj, struct mspan *s)
{
	if (GA_UNLIKELY(gray.n == gray.cap)) {
		size_t ncap = gray.cap ? gray.cap * 2 : 65536;
		uintptr_t *nv = gc_mem_grow(gray.v, gray.cap * 2 * sizeof(uintptr_t), ncap * 2 * sizeof(uintptr_t));
		if (!nv) {
			gray.overflowed = 1;
			return;
		}
		gray.v = nv;
		gray.cap = ncap;
	}
	gray.v[2 * gray.n] = obj;
	gray.v[2 * gray.n + 1] = (uintptr_t)s;
	gray.n++;
}

/* Is block obj of span s free? It carries the free mark (mcache.h; a large block waiting in a
 * thread's deferred frees carries the key too). */
GA_INLINE int slot_is_free(const struct mspan *s, uintptr_t obj)
{
	if (s->spanclass > 3 || mspan_is_large(s))
		return ((const uint64_t *)obj)[1] == ga_free_key;
	return mcache_tiny_looks_free((void *)obj);
}

/* A small span the mheap has just handed to an mcentral, which is still writing the free mark
 * into its slots (mcentral.c, before it caches the span): every slot of it is free. */
GA_INLINE int span_unborn(const struct mspan *s)
{
	return !mspan_is_large(s) && !s->incache && s->list == MSPAN_LIST_NONE;
}

/* The pointer test (Go: findObject + greyobject): if w points into an allocated block of the
 * heap (anywhere inside it: interior pointers count), mark the block and, unless it is noscan or
 * too small to hold a pointer, push it gray. (A pointer one past the end of a block points into
 * it: the GC modes pad every request by a byte, mgc.h.) */
GA_INLINE void mark_word(uintptr_t w)
{
	if (w - heap_lo >= heap_hi - heap_lo)
		return;
	struct heap_arena *a = arena_of(w);
	if (!a)
		return;
	struct mspan *s = arena_page_span(a, w);
	if (!s || atomic_load_explicit(&s->state, memory_order_relaxed) != MSPAN_INUSE || span_unborn(s))
		return;
	uintptr_t idx = 0, obj = s->base;
	if (!mspan_is_large(s)) {
		if (w < s->objbase)
			return;
		idx = mspan_obj_index(s, w);
		obj = s->objbase + idx * s->elemsize;
	}
	uint64_t bit = 1ull << (idx % 64), *mw = &s->gcmarkBits[idx / 64];
	if (*mw & bit)
		return;
	*mw |= bit;
	gray_push(obj, s); /* (checked and counted as it leaves the stack: drain) */
}

GA_INLINE int scannable(const struct mspan *s)
{
	return !GA_SPANCLASS_NOSCAN(s->spanclass) && s->elemsize >= 16;
}

static void scan_range(uintptr_t lo, uintptr_t hi)
{
	lo = ga_align_up(lo, sizeof(uintptr_t));
	for (const uintptr_t *p = (const uintptr_t *)lo; (uintptr_t)p + sizeof(uintptr_t) <= hi; p++)
		mark_word(*p);
}

/* Scan the object of one gray entry, once it is known to be allocated (see struct gray). */
GA_INLINE void blacken(uintptr_t e, struct mspan *s)
{
	uintptr_t obj = e & ~GRAY_CHECKED;
	if (!(e & GRAY_CHECKED)) {
		if (slot_is_free(s, obj)) {
			uintptr_t idx = mspan_is_large(s) ? 0 : mspan_obj_index(s, obj);
			s->gcmarkBits[idx / 64] &= ~(1ull << (idx % 64));
			return;
		}
		marked_objects++;
		marked_bytes += s->elemsize;
	}
	if (scannable(s))
		scan_range(obj, obj + s->elemsize);
}

#define PREFETCH_QUEUE 8 /* a power of two */

static void drain(void)
{
	uintptr_t qe[PREFETCH_QUEUE];
	struct mspan *qs[PREFETCH_QUEUE];
	unsigned head = 0, n = 0;
	for (;;) {
		while (n < PREFETCH_QUEUE && gray.n) {
			gray.n--;
			uintptr_t e = gray.v[2 * gray.n];
			unsigned k = (head + n++) % PREFETCH_QUEUE;
			qe[k] = e;
			qs[k] = (struct mspan *)gray.v[2 * gray.n + 1];
			__builtin_prefetch((const void *)(e & ~GRAY_CHECKED));
		}
		if (!n)
			return;
		uintptr_t e = qe[head];
		struct mspan *s = qs[head];
		head = (head + 1) % PREFETCH_QUEUE;
		n--;
		blacken(e, s); /* (may push more: they queue behind the ones prefetched) */
	}
}

/* ---- The heap's spans ---------------------------------------------------------------------- */

/* Call fn on every in-use span (each once: at its first page). */
static void each_span(void (*fn)(struct mspan *s, void *arg), void *arg)
{
	struct heap_arena *const *arenas;
	unsigned n = mheap_arenas_locked(&arenas);
	for (unsigned k = 0; k < n; k++) {
		struct heap_arena *a = arenas[k];
		for (uintptr_t pg = 0; pg < GA_PAGES_PER_ARENA;) {
			struct mspan *s = atomic_load_explicit(&a->spans[pg], memory_order_relaxed);
			uintptr_t addr = a->base + (pg << GA_PAGE_SHIFT);
			if (!s || s->base != addr) {
				pg++;
				continue;
			}
			if (atomic_load_explicit(&s->state, memory_order_relaxed) != MSPAN_DEAD)
				fn(s, arg);
			pg += s->npages;
		}
	}
}

static void clear_marks(struct mspan *s, void *arg)
{
	uint64_t *heap_bytes = arg;
	memset(s->gcmarkBits, 0, s->nwords * sizeof(uint64_t));
	*heap_bytes += (uint64_t)s->npages << GA_PAGE_SHIFT;
}

/* After an overflow of the gray stack: push every marked object that can hold pointers again. */
static void rescan_span(struct mspan *s, void *arg)
{
	(void)arg;
	if (GA_SPANCLASS_NOSCAN(s->spanclass) || s->elemsize < 16 ||
	    atomic_load_explicit(&s->state, memory_order_relaxed) != MSPAN_INUSE || span_unborn(s))
		return;
	for (unsigned i = 0; i < s->nelems; i++)
		if (s->gcmarkBits[i / 64] >> (i % 64) & 1)
			gray_push((s->objbase + (uintptr_t)i * s->elemsize) | GRAY_CHECKED, s);
}

static void drain_all(void)
{
	drain();
	while (gray.overflowed) {
		gray.overflowed = 0;
		each_span(rescan_span, NULL);
		drain();
	}
}

/* ---- Roots: the mappings ------------------------------------------------------------------- */

struct range {
	uintptr_t lo, hi;
};

static struct {
	char *buf;
	size_t cap;
	struct range *ex; /* excluded ranges, sorted */
	size_t nex, excap;
	int pagemap_fd;
	int use_scan; /* PAGEMAP_SCAN works */
} roots = {.pagemap_fd = -1, .use_scan = -1};

#ifndef PAGEMAP_SCAN
#define PAGE_IS_PRESENT (1 << 3)
#define PAGE_IS_SWAPPED (1 << 4)
struct page_region {
	uint64_t start, end, categories;
};
struct pm_scan_arg {
	uint64_t size, flags, start, end, walk_end, vec, vec_len, max_pages;
	uint64_t category_inverted, category_mask, category_anyof_mask, return_mask;
};
#define PAGEMAP_SCAN _IOWR('f', 16, struct pm_scan_arg)
#endif

/* Read all of a /proc file into roots.buf (grown as needed). Length, or -1. */
static long read_proc(const char *path)
{
	int fd = (int)syscall(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	size_t len = 0;
	for (;;) {
		if (roots.cap - len < 65536) {
			size_t ncap = roots.cap ? roots.cap * 2 : 1 << 20;
			char *nb = gc_mem_grow(roots.buf, roots.cap, ncap);
			if (!nb) {
				syscall(SYS_close, fd);
				return -1;
			}
			roots.buf = nb;
			roots.cap = ncap;
		}
		long r = syscall(SYS_read, fd, roots.buf + len, roots.cap - len - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			syscall(SYS_close, fd);
			return -1;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	syscall(SYS_close, fd);
	roots.buf[len] = 0;
	return (long)len;
}

static int add_ex(uintptr_t lo, uintptr_t hi)
{
	if (roots.nex == roots.excap) {
		size_t ncap = roots.excap ? roots.excap * 2 : 1024;
		struct range *n = gc_mem_grow(roots.ex, roots.excap * sizeof *n, ncap * sizeof *n);
		if (!n)
			return -1;
		roots.ex = n;
		roots.excap = ncap;
	}
	roots.ex[roots.nex++] = (struct range){lo, hi};
	return 0;
}

/* goalloc's own writable segment (its .data and .bss: the arena index, the mcentrals). */
static int exclude_own_data(void)
{
	uintptr_t lo, hi;
	ga_os_own_segments(PF_W, &lo, &hi);
	return hi > lo ? add_ex(lo & ~(uintptr_t)4095, ga_align_up(hi, 4096)) : 0;
}

static void sort_ex(void)
{
	for (size_t i = 1; i < roots.nex; i++) { /* (insertion sort: the list is mostly sorted) */
		struct range r = roots.ex[i];
		size_t j = i;
		while (j && roots.ex[j - 1].lo > r.lo) {
			roots.ex[j] = roots.ex[j - 1];
			j--;
		}
		roots.ex[j] = r;
	}
}

/* Build the excluded ranges: arenas, metadata, own data. */
static int build_exclusions(void)
{
	roots.nex = 0;
	struct heap_arena *const *arenas;
	unsigned n = mheap_arenas_locked(&arenas);
	heap_lo = UINTPTR_MAX;
	heap_hi = 0;
	for (unsigned k = 0; k < n; k++) {
		uintptr_t b = arenas[k]->base;
		if (add_ex(b, b + GA_ARENA_SIZE))
			return -1;
		heap_lo = b < heap_lo ? b : heap_lo;
		heap_hi = b + GA_ARENA_SIZE > heap_hi ? b + GA_ARENA_SIZE : heap_hi;
	}
	if (!n)
		heap_lo = heap_hi = 0;
	struct ga_os_range mr[256];
	for (unsigned from = 0;;) {
		unsigned got = ga_os_meta_ranges(mr, 256, from);
		for (unsigned i = 0; i < got; i++)
			if (mr[i].hi > mr[i].lo && add_ex(mr[i].lo, mr[i].hi))
				return -1;
		if (got < 256)
			break;
		from += got;
	}
	if (exclude_own_data())
		return -1;
	sort_ex();
	return 0;
}

/* A word of a stack or of a thread's registers that points at the record of an in-use large
 * span marks that span's block. A thread in the middle of allocating or freeing a large block
 * holds its span record while the block's own address may be in no register any more (free()
 * has checked it; the span is INUSE until the thread makes it CACHED or DEAD): without this the
 * cycle would take the block for garbage and free it under the thread. Span records are 16-byte
 * aligned in goalloc's metadata; a word is one only if the span it names is at that address. */
static int in_metadata(uintptr_t w)
{
	size_t lo = 0, hi = roots.nex;
	while (lo < hi) { /* (roots.ex is sorted by start and its ranges do not overlap) */
		size_t mid = (lo + hi) / 2;
		if (roots.ex[mid].hi <= w)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < roots.nex && roots.ex[lo].lo <= w && w + sizeof(struct mspan) <= roots.ex[lo].hi;
}

static void mark_record_word(uintptr_t w)
{
	if ((w & 15) || w - heap_lo < heap_hi - heap_lo || !in_metadata(w))
		return;
	const struct mspan *s = (const struct mspan *)w;
	uintptr_t base = s->base;
	if (span_of(base) == s && mspan_is_large(s) &&
	    atomic_load_explicit(&s->state, memory_order_relaxed) == MSPAN_INUSE)
		mark_word(base);
}

/* Set while the mapping being read holds a thread's stack (scan_maps). */
static int reading_stack;

static void scan_root(uintptr_t lo, uintptr_t hi)
{
	scan_range(lo, hi);
	if (!reading_stack)
		return;
	lo = ga_align_up(lo, sizeof(uintptr_t));
	for (const uintptr_t *p = (const uintptr_t *)lo; (uintptr_t)p + sizeof(uintptr_t) <= hi; p++)
		mark_record_word(*p);
}

/* Scan [lo, hi) of a mapping, skipping pages neither present nor swapped. */
static void scan_present(uintptr_t lo, uintptr_t hi, uint64_t *bytes)
{
	if (lo >= hi)
		return;
	if (roots.pagemap_fd < 0) {
		scan_root(lo, hi);
		*bytes += hi - lo;
		return;
	}
	uintptr_t plo = lo & ~(uintptr_t)4095, phi = ga_align_up(hi, 4096);
	if (roots.use_scan) {
		struct page_region v[64];
		uintptr_t at = plo;
		while (at < phi) {
			struct pm_scan_arg a = {.size = sizeof a,
						.start = at,
						.end = phi,
						.vec = (uintptr_t)v,
						.vec_len = 64,
						.category_anyof_mask = PAGE_IS_PRESENT | PAGE_IS_SWAPPED,
						.return_mask = PAGE_IS_PRESENT | PAGE_IS_SWAPPED};
			long r = syscall(SYS_ioctl, roots.pagemap_fd, PAGEMAP_SCAN, &a);
			if (r < 0) {
				if (errno == EINTR)
					continue;
				roots.use_scan = 0; /* (older kernel: read the pagemap instead) */
				break;
			}
			for (long i = 0; i < r; i++) {
				uintptr_t a0 = v[i].start > lo ? v[i].start : lo, a1 = v[i].end < hi ? v[i].end : hi;
				if (a0 < a1) {
					scan_root(a0, a1);
					*bytes += a1 - a0;
				}
			}
			if (a.walk_end <= at || a.walk_end >= phi)
				return;
			at = a.walk_end;
		}
		if (roots.use_scan)
			return;
		plo = at;
		if (lo < plo)
			lo = plo;
	}
	uint64_t e[512];
	for (uintptr_t pg = plo; pg < phi;) {
		size_t npg = (phi - pg) / 4096 < 512 ? (phi - pg) / 4096 : 512;
		long r = syscall(SYS_pread64, roots.pagemap_fd, e, npg * 8, (off_t)(pg / 4096 * 8));
		if (r <= 0) { /* cannot tell: read it all */
			uintptr_t a0 = pg > lo ? pg : lo;
			scan_root(a0, hi);
			*bytes += hi - a0;
			return;
		}
		size_t got = (size_t)r / 8;
		for (size_t i = 0; i < got; i++) {
			if (!(e[i] >> 62 & 3)) /* bit 63 present, bit 62 swapped */
				continue;
			uintptr_t a0 = pg + i * 4096, a1 = a0 + 4096;
			a0 = a0 > lo ? a0 : lo;
			a1 = a1 < hi ? a1 : hi;
			if (a0 < a1) {
				scan_root(a0, a1);
				*bytes += a1 - a0;
			}
		}
		pg += got * 4096;
	}
}

/* Scan [lo, hi) less the excluded ranges. */
static void scan_mapping(uintptr_t lo, uintptr_t hi, uint64_t *bytes)
{
	for (size_t i = 0; i < roots.nex && lo < hi; i++) {
		const struct range *x = &roots.ex[i];
		if (x->hi <= lo)
			continue;
		if (x->lo >= hi)
			break;
		if (x->lo > lo)
			scan_present(lo, x->lo, bytes);
		lo = x->hi > lo ? x->hi : lo;
	}
	if (lo < hi)
		scan_present(lo, hi, bytes);
}

/* The stack pointers of the threads whose stacks are read from there up. */
struct sp_set {
	uintptr_t sp[64];
	const struct stw_world *w;
	uintptr_t self_sp;
};

/* The lowest stack pointer inside [lo, hi), or lo when none is: the stack part to skip. */
static uintptr_t stack_floor(const struct sp_set *ss, uintptr_t lo, uintptr_t hi)
{
	uintptr_t best = 0;
	if (ss->self_sp - lo < hi - lo)
		best = ss->self_sp;
	for (unsigned i = 0; i < ss->w->n; i++) {
		uintptr_t sp = ss->w->threads[i].sp;
		if (sp - lo < hi - lo && (!best || sp < best))
			best = sp;
	}
	if (!best)
		return lo;
	best = best - lo > GC_REDZONE ? best - GC_REDZONE : lo;
	return best & ~(uintptr_t)7;
}

static int scan_maps(const struct stw_world *w, uintptr_t self_sp, struct gc_cycle *cy)
{
	long len = read_proc("/proc/self/maps");
	if (len < 0) {
		ga_fmt(cy->why, sizeof cy->why, "cannot read /proc/self/maps (errno %d)", errno);
		return -1;
	}
	struct sp_set ss = {.w = w, .self_sp = self_sp};
	/* The buffer is parsed in place; the mappings it lists do not change while we read them. */
	for (const char *s = roots.buf; *s;) {
		const char *line = s;
		uintptr_t lo = (uintptr_t)ga_parse_hex(&s);
		if (*s != '-')
			break;
		s++;
		uintptr_t hi = (uintptr_t)ga_parse_hex(&s);
		char perms[4] = {0};
		if (*s == ' ')
			s++;
		for (int i = 0; i < 4 && *s && *s != ' '; i++)
			perms[i] = *s++;
		/* offset, dev, inode, then the path */
		int field = 0;
		while (*s && *s != '\n' && field < 3) {
			while (*s == ' ')
				s++;
			while (*s && *s != ' ' && *s != '\n')
				s++;
			field++;
		}
		while (*s == ' ')
			s++;
		const char *path = s;
		while (*s && *s != '\n')
			s++;
		size_t plen = (size_t)(s - path);
		if (*s == '\n')
			s++;
		(void)line;
		if (perms[0] != 'r' || perms[1] != 'w')
			continue;
		if (perms[3] == 's') {
			/* shared: anonymous ones only (MAP_SHARED|MAP_ANONYMOUS shows as /dev/zero, System V
			 * shared memory as /SYSV…); files and devices are not the program's memory */
			if (!(plen >= 9 && !memcmp(path, "/dev/zero", 9)) && !(plen >= 5 && !memcmp(path, "/SYSV", 5)))
				continue;
		} else if (plen >= 5 && !memcmp(path, "/dev/", 5) && !(plen >= 9 && !memcmp(path, "/dev/zero", 9))) {
			continue; /* a device's memory: reading it may have effects */
		}
		if (plen >= 6 && !memcmp(path, "[vvar]", 6))
			continue;
		uintptr_t from = stack_floor(&ss, lo, hi);
		uint64_t b = 0;
		reading_stack = from != lo;
		scan_mapping(from, hi, &b);
		reading_stack = 0;
		if (from != lo)
			cy->stack_bytes += b;
		else
			cy->globals_bytes += b;
		cy->roots_bytes += b;
	}
	return 0;
}

/* ---- The cycle's mark ---------------------------------------------------------------------- */

static void append_garbage(struct gc_cycle *cy, struct mspan *s, uintptr_t obj, uintptr_t idx)
{
	if (cy->ngarbage == cy->garbage_cap) {
		size_t ncap = cy->garbage_cap ? cy->garbage_cap * 2 : 4096;
		struct gc_garbage *n =
			gc_mem_grow(cy->garbage, cy->garbage_cap * sizeof *n, ncap * sizeof *n);
		if (!n) { /* cannot list it: it is kept (and not reported) */
			cy->why[0] = cy->why[0] ? cy->why[0] : '!';
			return;
		}
		cy->garbage = n;
		cy->garbage_cap = ncap;
	}
	struct gc_garbage *g = &cy->garbage[cy->ngarbage++];
	memset(g, 0, sizeof *g);
	g->obj = obj;
	g->sizeclass = (uint8_t)GA_SPANCLASS_SIZECLASS(s->spanclass);
	uint64_t size = s->elemsize - ga_size_pad;
	const struct gc_site *site = s->gcsites ? &s->gcsites[idx] : NULL;
	if (site && site->pc) {
		g->pc = site->pc;
		g->stack = site->stack;
		size = site->size;
	}
	g->size = size > UINT32_MAX ? UINT32_MAX : (uint32_t)size;
	cy->garbage_bytes += size;
}

/* What find_garbage and sweep_span do alike: a span not in use, or not yet carved, holds no
 * garbage; a large span's block is garbage when unmarked and not free, and is listed. 1: s is
 * done with; 0: a small span in use, for the caller's own walk. */
static int large_or_not_inuse(struct gc_cycle *cy, struct mspan *s)
{
	if (atomic_load_explicit(&s->state, memory_order_relaxed) != MSPAN_INUSE || span_unborn(s))
		return 1;
	if (!mspan_is_large(s))
		return 0;
	if (!(s->gcmarkBits[0] & 1) && !slot_is_free(s, s->base))
		append_garbage(cy, s, s->base, 0);
	return 1;
}

static void find_garbage(struct mspan *s, void *arg)
{
	struct gc_cycle *cy = arg;
	if (large_or_not_inuse(cy, s))
		return;
	for (unsigned i = 0; i < s->nelems; i++) {
		if (s->gcmarkBits[i / 64] >> (i % 64) & 1)
			continue;
		uintptr_t obj = s->objbase + (uintptr_t)i * s->elemsize;
		if (!slot_is_free(s, obj))
			append_garbage(cy, s, obj, i);
	}
}

/* Collect mode: Go's sweep, with the world still stopped. A slot is garbage when its span counts
 * it allocated (allocBits, or below freeindex of a span an mcache holds, and not in freedBits),
 * the mark left it white and it does not carry the free mark (listed blocks do: mcache.h).
 * Only such slots are read; each gets the free mark and its span takes them all in one step
 * (mcentral_sweep_span). A large block is listed, to be freed once the world runs. */
#define SWEEP_WORDS 32 /* bitmap words of the largest small span (1,024 slots take 16) */

static void sweep_span(struct mspan *s, void *arg)
{
	struct gc_cycle *cy = arg;
	if (large_or_not_inuse(cy, s))
		return;
	if (s->nwords > SWEEP_WORDS)
		return; /* (none is that large; its garbage would only be kept) */
	uint64_t garbage[SWEEP_WORDS];
	unsigned fi = s->incache ? atomic_load_explicit(&s->freeindex, memory_order_relaxed) : 0, n = 0;
	int keyed = s->spanclass > 3;
	for (unsigned w = 0; w < s->nwords; w++) {
		uint64_t taken = fi >= (w + 1) * 64 ? ~0ull : fi <= w * 64 ? 0 : (1ull << (fi - w * 64)) - 1;
		uint64_t cand = (s->allocBits[w] | taken) & ~s->freedBits[w] & ~s->gcmarkBits[w], g = 0;
		if (w == s->nwords - 1u && s->nelems % 64)
			cand &= (1ull << (s->nelems % 64)) - 1;
		for (; cand; cand &= cand - 1) {
			unsigned i = w * 64 + (unsigned)__builtin_ctzll(cand);
			uintptr_t obj = s->objbase + (uintptr_t)i * s->elemsize;
			if (slot_is_free(s, obj))
				continue;
			if (keyed)
				mcache_set_key((void *)obj, ga_free_key);
			else
				ga_link_set((void *)obj, NULL);
			g |= cand & -cand;
			n++;
		}
		garbage[w] = g;
	}
	if (!n) /* (a span emptied by frees stays with its class: the scavenger trims those) */
		return;
	mcentral_sweep_span(s, garbage, n, &cy->release);
	stats_count_orphan_frees(s->spanclass, n);
	cy->swept_objects += n;
	cy->swept_bytes += (uint64_t)n * s->elemsize;
}

/* The mark bit of garbage block g. */
static uint64_t *garbage_bit(const struct gc_garbage *g, uint64_t *bit, struct mspan **sp)
{
	struct mspan *s = span_of(g->obj);
	uintptr_t idx = mspan_is_large(s) ? 0 : mspan_obj_index(s, g->obj);
	*bit = 1ull << (idx % 64);
	*sp = s;
	return &s->gcmarkBits[idx / 64];
}

static void push_contents(struct mspan *s, uintptr_t obj)
{
	gray_push(obj | GRAY_CHECKED, s);
}

/* Report mode: direct leaks are the garbage blocks no other garbage block reaches, indirect the
 * rest (LeakSanitizer's and memcheck's terms). First everything reachable from the contents of
 * some garbage block is marked: what stays unmarked is direct. A cycle of leaked blocks that
 * nothing else reaches is all marked then; after the marks of the garbage are cleared and the
 * direct ones marked again with what they reach, the first block of each such cycle (in
 * address order) that is still unmarked counts as direct too, so that every leak has a direct
 * block to be reported by. */
static void classify(struct gc_cycle *cy)
{
	uint64_t bit, *w;
	struct mspan *s;
	for (uint64_t i = 0; i < cy->ngarbage; i++) {
		struct gc_garbage *g = &cy->garbage[i];
		garbage_bit(g, &bit, &s);
		push_contents(s, g->obj);
		drain_all();
	}
	for (uint64_t i = 0; i < cy->ngarbage; i++) {
		struct gc_garbage *g = &cy->garbage[i];
		w = garbage_bit(g, &bit, &s);
		g->direct = !(*w & bit);
	}
	for (uint64_t i = 0; i < cy->ngarbage; i++) {
		w = garbage_bit(&cy->garbage[i], &bit, &s);
		*w &= ~bit;
	}
	for (int pass = 0; pass < 2; pass++)
		for (uint64_t i = 0; i < cy->ngarbage; i++) {
			struct gc_garbage *g = &cy->garbage[i];
			w = garbage_bit(g, &bit, &s);
			if (*w & bit || (pass == 0 && !g->direct))
				continue;
			g->direct = 1;
			*w |= bit;
			push_contents(s, g->obj);
			drain_all();
		}
}

int gc_mark(struct gc_cycle *cy, const struct stw_world *w, uintptr_t self_sp)
{
	volatile uintptr_t here = 0;
	if (!self_sp) /* (everything above this frame: the cycle's caller and the program's frames) */
		self_sp = (uintptr_t)&here;
	gray.n = 0;
	gray.overflowed = 0;
	marked_bytes = marked_objects = 0;
	cy->heap_bytes = 0;
	each_span(clear_marks, &cy->heap_bytes);
	if (build_exclusions()) {
		ga_fmt(cy->why, sizeof cy->why, "out of memory for the root list");
		return -1;
	}
	if (roots.pagemap_fd < 0 && ga_option(GA_OPT_GC_PAGEMAP) != 1)
		roots.use_scan = 1;
	if (roots.pagemap_fd < 0)
		roots.pagemap_fd = (int)syscall(SYS_openat, AT_FDCWD, "/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (ga_option(GA_OPT_GC_PAGEMAP) == 1)
		roots.use_scan = 0;
	if (scan_maps(w, self_sp, cy))
		return -1;
	for (unsigned i = 0; i < w->n; i++) {
		const struct stw_thread *t = &w->threads[i];
		for (unsigned r = 0; r < t->nregs; r++) {
			mark_word(t->regs[r]);
			mark_record_word(t->regs[r]);
		}
		/* An alternate signal stack in the heap is held by the kernel only: its block is marked
		 * (and so read) here. Elsewhere it is a mapping, read as one. */
		if (t->altstack_hi > t->altstack_lo && t->altstack_lo - heap_lo < heap_hi - heap_lo)
			mark_word(t->altstack_lo);
	}
	/* The caller's own signal stack, when it is a heap block. */
	stack_t ss;
	if (!syscall(SYS_sigaltstack, NULL, &ss) && !(ss.ss_flags & SS_DISABLE) && ss.ss_size &&
	    (uintptr_t)ss.ss_sp - heap_lo < heap_hi - heap_lo)
		mark_word((uintptr_t)ss.ss_sp);
	uintptr_t ign[256];
	unsigned nign = gc_ignored(ign, 256);
	for (unsigned i = 0; i < nign; i++) {
		mark_word(ign[i]);
		/* (scanned even if it was marked already: its pointees must stay) */
	}
	drain_all();
	cy->marked_bytes = marked_bytes;
	cy->marked_objects = marked_objects;
	cy->nthreads = w->n;
	gc_garbage_take(cy);
	cy->ngarbage = cy->garbage_bytes = 0;
	cy->swept_objects = cy->swept_bytes = 0;
	cy->release = NULL;
	if (ga_gc_mode == GC_COLLECT && !ga_option(GA_OPT_GC_VERIFY))
		each_span(sweep_span, cy);
	else
		each_span(find_garbage, cy);
	if (ga_gc_mode == GC_REPORT)
		classify(cy);
	return 0;
}
