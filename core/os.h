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
/* Return pages to the OS; they read back as zeros (MADV_DONTNEED on private anonymous memory). */
GA_HIDDEN void ga_os_unused(void *p, size_t n);
#endif
