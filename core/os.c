/* os.c — mmap/madvise wrappers. errno is saved and restored: a failed madvise must not leak into
 * the caller's errno (free() keeps errno). */
#include "os.h"

#include <errno.h>
#include <sys/mman.h>

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

void *ga_os_alloc(size_t n)
{
	int saved = errno;
	void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	errno = saved;
	return p == MAP_FAILED ? NULL : p;
}

void ga_os_free(void *p, size_t n)
{
	int saved = errno;
	munmap(p, n);
	errno = saved;
}

void ga_os_unused(void *p, size_t n)
{
	int saved = errno;
	madvise(p, n, MADV_DONTNEED);
	errno = saved;
}

int ga_os_move(void *from, void *to, size_t n)
{
	int saved = errno;
	void *r = mremap(from, n, n, MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP, to);
	errno = saved;
	return r == to;
}

void ga_os_map_fresh(void *p, size_t n)
{
	int saved = errno;
	void *r = mmap(p, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0);
	errno = saved;
	if (r == p)
		return;
	/* Near vm.max_map_count a MAP_FIXED mmap can fail after the kernel took the old mapping
	 * down: put one back (a no-op while the old one is there), then release the pages. */
	void *back = mmap(p, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | GA_MAP_HINT_FLAG,
			  -1, 0);
	if (back != MAP_FAILED && back != p) /* (a hint only, where NOREPLACE is not used) */
		munmap(back, n);
	errno = saved;
	ga_os_unused(p, n);
}
