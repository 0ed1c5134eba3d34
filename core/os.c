/* os.c — mmap/madvise wrappers. errno is saved and restored: a failed madvise must not leak into
 * the caller's errno (free() keeps errno). */
#include "os.h"

#include <elf.h>
#include <link.h>

#include <errno.h>
#include <sys/mman.h>

#include "options.h"
#include "tunables.h"

#ifndef MREMAP_DONTUNMAP
#define MREMAP_DONTUNMAP 4
#endif
#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

/* ThreadSanitizer's mmap interceptor mishandles MAP_FIXED_NOREPLACE; a plain hint (checked
 * below) does the same job there. */
#if defined(__has_feature)
#if __has_feature(thread_sanitizer) && !defined(__SANITIZE_THREAD__)
#define __SANITIZE_THREAD__ 1 /* clang's spelling of the same fact */
#endif
#endif
#if defined(__SANITIZE_THREAD__)
#define GA_MAP_HINT_FLAG 0
#else
#define GA_MAP_HINT_FLAG MAP_FIXED_NOREPLACE
#endif

#ifdef GA_FAULT_INJECT
/* Test flavour (-DGA_FAULT_INJECT): make chosen mmap/mremap/madvise calls fail as the kernel
 * would, so that tests can check every path that handles a refusal. Read once, at the first
 * call, from the environment of the process (without allocating):
 *   GOALLOC_FAULT_KIND    mmap, mremap, madvise or all (default): the calls that are counted
 *   GOALLOC_FAULT_AT      N ≥ 1: the Nth counted call fails (default 0: none)
 *   GOALLOC_FAULT_COUNT   k: k consecutive counted calls fail from the Nth (default 1; 0: all)
 *   GOALLOC_FAULT_REPORT  1: at exit, print the calls of each kind and the failures injected
 * The environment is read from /proc/self/environ (malloc may run before libc has set environ),
 * else from environ. */
#include <fcntl.h>
#include <unistd.h>

#include "fmt.h"

enum { FAULT_MMAP, FAULT_MREMAP, FAULT_MADVISE, FAULT_KINDS };
static const char *const fault_kind_name[FAULT_KINDS] = {"mmap", "mremap", "madvise"};

static struct {
	_Atomic int state; /* 0 unread, 1 being read, 2 read */
	unsigned kinds;    /* bit k: calls of kind k are counted */
	unsigned long at, count;
	int report;
	_Atomic unsigned long counted;             /* calls counted so far */
	_Atomic unsigned long calls[FAULT_KINDS]; /* every call, by kind */
	_Atomic unsigned long injected;
} fault = {.kinds = (1u << FAULT_KINDS) - 1, .count = 1};

static int fault_prefix(const char *s, const char *p)
{
	while (*p)
		if (*s++ != *p++)
			return 0;
	return 1;
}

static unsigned long fault_number(const char *s)
{
	unsigned long v = 0;
	while (*s >= '0' && *s <= '9')
		v = v * 10 + (unsigned long)(*s++ - '0');
	return v;
}

/* One NAME=value entry of the environment. */
static void fault_setting(const char *e)
{
	if (!fault_prefix(e, "GOALLOC_FAULT_"))
		return;
	e += sizeof "GOALLOC_FAULT_" - 1;
	if (fault_prefix(e, "AT="))
		fault.at = fault_number(e + 3);
	else if (fault_prefix(e, "COUNT="))
		fault.count = fault_number(e + 6);
	else if (fault_prefix(e, "REPORT="))
		fault.report = e[7] == '1';
	else if (fault_prefix(e, "KIND=")) {
		e += 5;
		fault.kinds = (1u << FAULT_KINDS) - 1;
		for (unsigned k = 0; k < FAULT_KINDS; k++)
			if (fault_prefix(e, fault_kind_name[k]) && e[__builtin_strlen(fault_kind_name[k])] == 0)
				fault.kinds = 1u << k;
	}
}

extern char **environ;

static void fault_read_env(void)
{
	int fd = open("/proc/self/environ", O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		for (char **e = environ; e && *e; e++)
			fault_setting(*e);
		return;
	}
	/* Entries are NUL-separated; only their first bytes matter (longer ones are cut). */
	char buf[4096], entry[64];
	size_t len = 0;
	ssize_t r;
	while ((r = read(fd, buf, sizeof buf)) > 0 || (r < 0 && errno == EINTR)) {
		for (ssize_t i = 0; i < r; i++) {
			if (buf[i]) {
				if (len < sizeof entry - 1)
					entry[len++] = buf[i];
				continue;
			}
			entry[len] = 0;
			fault_setting(entry);
			len = 0;
		}
	}
	close(fd);
}

/* Is this call (of kind k) one that must fail? */
static int fault_hit(int k)
{
	if (GA_UNLIKELY(atomic_load_explicit(&fault.state, memory_order_acquire) != 2)) {
		int expected = 0;
		if (atomic_compare_exchange_strong(&fault.state, &expected, 1)) {
			int saved = errno;
			fault_read_env();
			errno = saved;
			atomic_store_explicit(&fault.state, 2, memory_order_release);
		} else {
			while (atomic_load_explicit(&fault.state, memory_order_acquire) != 2)
				;
		}
	}
	atomic_fetch_add(&fault.calls[k], 1);
	if (!(fault.kinds >> k & 1))
		return 0;
	unsigned long n = atomic_fetch_add(&fault.counted, 1) + 1;
	if (!fault.at || n < fault.at || (fault.count && n - fault.at >= fault.count))
		return 0;
	atomic_fetch_add(&fault.injected, 1);
	return 1;
}

__attribute__((destructor)) static void fault_report(void)
{
	if (fault.report)
		ga_dprintf(2, "goalloc-fault: mmap=%lu mremap=%lu madvise=%lu injected=%lu\n",
			   atomic_load(&fault.calls[FAULT_MMAP]), atomic_load(&fault.calls[FAULT_MREMAP]),
			   atomic_load(&fault.calls[FAULT_MADVISE]), atomic_load(&fault.injected));
}

/* The calls, failing as the kernel fails them when the fault is due. */
#define mmap(a, n, prot, flags, fd, off) \
	(fault_hit(FAULT_MMAP) ? (errno = ENOMEM, MAP_FAILED) : mmap(a, n, prot, flags, fd, off))
#define mremap(from, n, m, flags, to) \
	(fault_hit(FAULT_MREMAP) ? (errno = ENOMEM, MAP_FAILED) : mremap(from, n, m, flags, to))
#define madvise(p, n, advice) (fault_hit(FAULT_MADVISE) ? (errno = ENOMEM, -1) : madvise(p, n, advice))
#endif

void *ga_os_map_at(uintptr_t hint, size_t n)
{
	int saved = errno;
	void *p = mmap((void *)hint, n, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | GA_MAP_HINT_FLAG, -1, 0);
	errno = saved;
	if (p == MAP_FAILED)
		return NULL;
	if ((uintptr_t)p != hint) { /* old kernels ignore NOREPLACE and treat it as a hint */
		munmap(p, n);
		errno = saved;
		return NULL;
	}
	return p;
}

void *ga_os_map_aligned(size_t n, size_t align)
{
	int saved = errno;
	size_t total = n + align;
	if (total < n)
		return NULL;
	char *p = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED) {
		errno = saved;
		return NULL;
	}
	char *a = (char *)ga_align_up((uintptr_t)p, align);
	if (a > p)
		munmap(p, (size_t)(a - p));
	if (a + n < p + total)
		munmap(a + n, (size_t)(p + total - (a + n)));
	errno = saved;
	return a;
}

/* The metadata ranges (ga_os_meta_ranges): appended without a lock (an index taken with an
 * atomic add, the entry published by its hi); an entry freed is zeroed. Past META_MAX entries
 * ranges are not recorded: the collector then reads them as roots, which can only keep blocks
 * alive, never free one. */
#define META_MAX 8192
static struct ga_os_range meta[META_MAX];
static _Atomic unsigned nmeta;

static void meta_add(void *p, size_t n)
{
	unsigned i = atomic_fetch_add_explicit(&nmeta, 1, memory_order_relaxed);
	if (i >= META_MAX)
		return;
	meta[i].lo = (uintptr_t)p;
	__atomic_store_n(&meta[i].hi, (uintptr_t)p + n, __ATOMIC_RELEASE);
}

static void meta_remove(void *p)
{
	unsigned n = atomic_load_explicit(&nmeta, memory_order_relaxed);
	for (unsigned i = n < META_MAX ? n : META_MAX; i-- > 0;)
		if (meta[i].lo == (uintptr_t)p) {
			__atomic_store_n(&meta[i].hi, 0, __ATOMIC_RELEASE);
			meta[i].lo = 0;
			return;
		}
}

unsigned ga_os_meta_ranges(struct ga_os_range *out, unsigned max, unsigned from)
{
	unsigned n = atomic_load_explicit(&nmeta, memory_order_acquire), k = 0;
	if (n > META_MAX)
		n = META_MAX;
	for (unsigned i = from; i < n && k < max; i++) {
		out[k].lo = meta[i].lo;
		out[k].hi = __atomic_load_n(&meta[i].hi, __ATOMIC_ACQUIRE);
		k++;
	}
	return k;
}

void *ga_os_alloc(size_t n)
{
	int saved = errno;
	void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	errno = saved;
	if (p == MAP_FAILED)
		return NULL;
	meta_add(p, n);
	return p;
}

void ga_os_free(void *p, size_t n)
{
	int saved = errno;
	meta_remove(p);
	munmap(p, n);
	errno = saved;
}

int ga_os_unused(void *p, size_t n)
{
	int saved = errno;
	int r = madvise(p, n, MADV_DONTNEED);
	errno = saved;
	return r == 0;
}

int ga_os_move(void *from, void *to, size_t n)
{
	int saved = errno;
	void *r = mremap(from, n, n, MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP, to);
	errno = saved;
	return r == to;
}

int ga_os_map_fresh(void *p, size_t n)
{
	int saved = errno;
	void *r = mmap(p, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0);
	errno = saved;
	if (r == p) {
		/* the same advice as its neighbours, or the kernel cannot merge the new mapping with
		 * them, and every such call would leave two mappings more (vm.max_map_count) */
		ga_os_heap_advise(p, n);
		return 1;
	}
	/* Near vm.max_map_count a MAP_FIXED mmap can fail after the kernel took the old mapping
	 * down: put one back (a no-op while the old one is there), then release the pages. */
	void *back = mmap(p, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | GA_MAP_HINT_FLAG,
			  -1, 0);
	if (back != MAP_FAILED && back != p) /* (a hint only, where NOREPLACE is not used) */
		munmap(back, n);
	errno = saved;
	return ga_os_unused(p, n);
}

/* The first GA_HUGEPAGE_FLOOR bytes of the heap: a small or middling program's whole heap lies
 * there (the page heap takes the lowest free address), and a huge page partly used would add up to
 * 2 MiB to its resident set. Past them, one 2 MiB page maps what 512 small ones would: the TLB
 * then covers more of the working set of a heap of tens of megabytes, and the kernel takes one
 * fault where it took 512
 * (docs/tuning.md has what that measured). (madvise) in parentheses: the call is not one the
 * fault-injection build counts or fails, as the advice is optional and its failure harmless. */
static uintptr_t heap_floor_lo, heap_floor_hi;

static void advise(uintptr_t b, uintptr_t e, int advice)
{
	if (b < e)
		(madvise)((void *)b, e - b, advice);
}

void ga_os_heap_advise(void *p, size_t n)
{
	if (!ga_option(GA_OPT_HUGEPAGES))
		return;
	int saved = errno;
	uintptr_t b = (uintptr_t)p, e = b + n;
	if (!heap_floor_hi) { /* (first call: under the mheap lock, as every call from arena.c) */
		heap_floor_lo = b;
		heap_floor_hi = b + GA_HUGEPAGE_FLOOR;
	}
	uintptr_t sb = b > heap_floor_lo ? b : heap_floor_lo, se = e < heap_floor_hi ? e : heap_floor_hi;
	if (sb < se) {
		advise(sb, se, MADV_NOHUGEPAGE);
		advise(b, sb, MADV_HUGEPAGE);
		advise(se, e, MADV_HUGEPAGE);
	} else {
		advise(b, e, MADV_HUGEPAGE);
	}
	errno = saved;
}

extern const ElfW(Ehdr) __ehdr_start __attribute__((visibility("hidden")));

void ga_os_own_segments(unsigned flags, uintptr_t *lo_out, uintptr_t *hi_out)
{
	const ElfW(Ehdr) *eh = &__ehdr_start;
	const ElfW(Phdr) *ph = (const ElfW(Phdr) *)((const char *)eh + eh->e_phoff);
	uintptr_t bias = (uintptr_t)eh, lo = 0, hi = 0;
	for (unsigned i = 0; i < eh->e_phnum; i++) /* the segment that maps the header (offset 0) */
		if (ph[i].p_type == PT_LOAD && ph[i].p_offset == 0)
			bias = (uintptr_t)eh - ph[i].p_vaddr;
	for (unsigned i = 0; i < eh->e_phnum; i++)
		if (ph[i].p_type == PT_LOAD && (ph[i].p_flags & flags)) {
			uintptr_t a = bias + ph[i].p_vaddr, b = a + ph[i].p_memsz;
			lo = lo && lo < a ? lo : a;
			hi = hi > b ? hi : b;
		}
	*lo_out = lo;
	*hi_out = hi;
}
