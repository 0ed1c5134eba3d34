/* os.h — the OS memory layer (Go's sysReserve/sysMap/sysUnused/sysFree, on Linux mmap/madvise).
 * Every failure returns NULL/false; nothing here aborts: a C program gets NULL + ENOMEM. */
#ifndef GA_OS_H
#define GA_OS_H
#include "ga.h"

/* Map n bytes read/write at exactly `hint` if possible (MAP_FIXED_NOREPLACE); NULL if the kernel
 * would not give that address. */
GA_HIDDEN void *ga_os_map_at(uintptr_t hint, size_t n);
/* Map n bytes read/write anywhere, aligned to `align` (a power of two ≥ 4096). */
GA_HIDDEN void *ga_os_map_aligned(size_t n, size_t align);
/* Off-heap metadata: n bytes of zeroed read/write memory anywhere. */
GA_HIDDEN void *ga_os_alloc(size_t n);
GA_HIDDEN void ga_os_free(void *p, size_t n);
/* The address range [*lo, *hi) that goalloc's own loaded segments with any of the ELF flags
 * `flags` (PF_X: its code; PF_W: its data and bss) cover, from its program headers. */
GA_HIDDEN void ga_os_own_segments(unsigned flags, uintptr_t *lo, uintptr_t *hi);
/* The ranges ga_os_alloc handed out and ga_os_free did not take back: goalloc's metadata, which
 * the collector does not read as roots (span records point at their blocks). Copies up to max
 * of them, from the from-th on; returns how many. */
struct ga_os_range {
	uintptr_t lo, hi;
};
GA_HIDDEN unsigned ga_os_meta_ranges(struct ga_os_range *out, unsigned max, unsigned from);
/* Return pages to the OS; they read back as zeros (MADV_DONTNEED on private anonymous memory).
 * 0 if the kernel refused: the pages stay resident and keep their contents. */
GA_HIDDEN int ga_os_unused(void *p, size_t n);
/* Move the n bytes of pages at `from` to `to` (both page aligned, in the heap's mappings)
 * without copying them: mremap with MREMAP_DONTUNMAP, which leaves `from` mapped and reading as
 * zeros, replacing whatever was at `to`. 0 when the kernel cannot (before Linux 5.7, under
 * valgrind, or across mappings): the caller copies instead. */
GA_HIDDEN int ga_os_move(void *from, void *to, size_t n);
/* Map fresh zero pages over [p, p + n) of the heap (MAP_FIXED: no gap in between). Like
 * ga_os_unused, and the range becomes part of an ordinary mapping again after ga_os_move
 * put pages there. If the kernel refuses, the pages are at least released (ga_os_unused); 0 if
 * that fails too: the old contents stay. */
GA_HIDDEN int ga_os_map_fresh(void *p, size_t n);
/* Give heap memory [p, p + n) (newly mapped) its page size: transparent huge pages
 * (MADV_HUGEPAGE) beyond the first GA_HUGEPAGE_FLOOR bytes of the heap, 4 KiB pages
 * (MADV_NOHUGEPAGE) within them; nothing when GOALLOC_HUGEPAGES=0. The first call names the start
 * of the heap (the first arena). Failures are ignored: the pages keep the kernel's default. */
GA_HIDDEN void ga_os_heap_advise(void *p, size_t n);
#endif
