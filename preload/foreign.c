/* foreign.c — blocks of glibc's own malloc. A library opened with RTLD_DEEPBIND binds malloc to
 * glibc's, and its blocks may then reach goalloc's free, realloc or malloc_usable_size. They are
 * recognised here, and handed to glibc's own functions (dlsym(RTLD_NEXT)): slow, but only ever
 * asked about a pointer in none of goalloc's arenas, that no fast path took. */
#include <dlfcn.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "../core/arena.h"
#include "../core/malloc.h"
#include "../core/mcache.h"
#include "foreign.h"

/* Is p a block of glibc's malloc? Only a plausible in-use chunk in memory glibc's malloc uses: its
 * brk heap, or an anonymous mapping. A wrong "no" aborts with goalloc's message; a wrong "yes"
 * hands garbage to glibc, which aborts with its own. */
static int mapping_kind(uintptr_t p) /* 0 unmapped, 1 [heap] or anonymous, 2 other */
{
	int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 2;
	char buf[4096];
	size_t have = 0;
	int kind = 0;
	for (;;) {
		ssize_t r = read(fd, buf + have, sizeof buf - 1 - have);
		if (r <= 0)
			break;
		have += (size_t)r;
		buf[have] = 0;
		char *line = buf, *nl;
		while ((nl = memchr(line, '\n', have - (size_t)(line - buf)))) {
			*nl = 0;
			unsigned long lo = 0, hi = 0;
			char *q = line;
			while (*q && *q != '-') {
				lo = lo * 16 + (unsigned long)(*q <= '9' ? *q - '0' : (*q | 32) - 'a' + 10);
				q++;
			}
			if (*q == '-')
				q++;
			while (*q && *q != ' ') {
				hi = hi * 16 + (unsigned long)(*q <= '9' ? *q - '0' : (*q | 32) - 'a' + 10);
				q++;
			}
			if (p >= lo && p < hi) {
				/* fields: perms offset dev inode path */
				int field = 0;
				char *path = q;
				while (*path && field < 5) {
					while (*path == ' ')
						path++;
					if (field < 4)
						while (*path && *path != ' ')
							path++;
					field++;
				}
				kind = (!*path || !strcmp(path, "[heap]")) && line[0] ? 1 : 2;
				if (q[1] != 'r' || q[2] != 'w')
					kind = 2;
				close(fd);
				return kind;
			}
			line = nl + 1;
		}
		have -= (size_t)(line - buf);
		memmove(buf, line, have);
	}
	close(fd);
	return kind;
}

static int is_glibc_chunk(void *p)
{
	uintptr_t a = (uintptr_t)p;
	if (a % 16 || a < 4096 || arena_of(a))
		return 0;
	if (mapping_kind(a - 16) != 1)
		return 0;
	size_t size = ((size_t *)p)[-1];
	size_t csize = size & ~(size_t)7;
	if (csize < 32 || csize % 16)
		return 0;
	if (size & 2) { /* mmapped chunk: whole pages */
		size_t prev = ((size_t *)p)[-2];
		return ((a - 16 - prev) & 4095) == 0 && ((prev + csize) & 4095) == 0;
	}
	if (mapping_kind(a - 16 + csize) != 1)
		return 0;
	size_t next = *(size_t *)(a - 16 + csize + 8);
	return (next & 1) != 0; /* the next chunk says this one is in use */
}

static void *libc_fn(const char *name)
{
	return dlsym(RTLD_NEXT, name);
}

int foreign_owns(void *p)
{
	return p && !span_of((uintptr_t)p) && !mcache_reentrant_size(p) && is_glibc_chunk(p);
}

/* core/malloc.h's hook for free() of a pointer in no arena (not a re-entrant block: core checked
 * that first). */
int ga_foreign_free(void *p)
{
	if (!is_glibc_chunk(p))
		return 0;
	void (*libc_free)(void *) = (void (*)(void *))libc_fn("free");
	if (!libc_free)
		return 0;
	libc_free(p);
	return 1;
}

void *foreign_realloc(void *p, size_t n, int *done)
{
	void *(*libc_realloc)(void *, size_t) = (void *(*)(void *, size_t))libc_fn("realloc");
	*done = libc_realloc != NULL;
	return libc_realloc ? libc_realloc(p, n) : NULL;
}

size_t foreign_usable_size(void *p)
{
	size_t (*fn)(void *) = (size_t(*)(void *))libc_fn("malloc_usable_size");
	return fn ? fn(p) : 0;
}
