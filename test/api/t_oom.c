/* t_oom — running out of address space: with RLIMIT_AS set to the current size + 256 MiB,
 * 1 MiB blocks are allocated until malloc says no. The no must be NULL with errno ENOMEM (goalloc
 * reserves 64 MiB arenas, and a refused reservation must not crash it); calloc, realloc and
 * posix_memalign must fail the same way meanwhile, the old block of a failed realloc must
 * survive, small blocks must either succeed or fail cleanly, and after everything is freed the
 * memory must be usable again.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "tap.h"
#include "api_util.h"

#define MiB ((size_t)1 << 20)
#define HEADROOM (256 * MiB)
#define MAX_BLOCKS 4096 /* 4 GiB: far past the limit */

/* VmSize in bytes from /proc/self/status, read without stdio (no allocation). */
static size_t vm_size(void)
{
	static char buf[4096];
	ssize_t n;
	char *s;
	int fd = open("/proc/self/status", O_RDONLY);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	s = strstr(buf, "VmSize:");
	if (!s)
		return 0;
	return (size_t)strtoull(s + 7, NULL, 10) * 1024;
}

static void *big[MAX_BLOCKS];

/* Allocate 1 MiB blocks into big[] until NULL; returns how many, *err = errno of the NULL. */
static int fill_up(int *err, int *hit_null)
{
	int n;
	*hit_null = 0;
	*err = 0;
	for (n = 0; n < MAX_BLOCKS; n++) {
		unsigned char *p;
		errno = 0;
		p = FENCED(launder(malloc(MiB)));
		if (!p) {
			*err = errno;
			*hit_null = 1;
			break;
		}
		p[0] = 1;
		p[MiB - 1] = 2;
		big[n] = p;
	}
	return n;
}

static void free_all(int n)
{
	int i;
	for (i = 0; i < n; i++) {
		FENCED_VOID(free(big[i]));
		big[i] = NULL;
	}
}

int main(void)
{
	struct rlimit rl;
	size_t vm = vm_size();
	int n1, n2, err, hit, bad;
	unsigned char *keep;
	void *p;

	diag("%s", under_goalloc() ? "under goalloc" : "not under goalloc");
	plan(12);
	if (!vm) {
		printf("Bail out! cannot read VmSize from /proc/self/status\n");
		return 1;
	}
	keep = FENCED(launder(malloc(100)));
	if (keep)
		pat_fill(keep, 100, 9);
	rl.rlim_cur = rl.rlim_max = vm + HEADROOM;
	if (setrlimit(RLIMIT_AS, &rl)) {
		printf("Bail out! setrlimit(RLIMIT_AS): %s\n", strerror(errno));
		return 1;
	}
	diag("VmSize %zu MiB, RLIMIT_AS set to %zu MiB", vm / MiB, (vm + HEADROOM) / MiB);

	n1 = fill_up(&err, &hit);
	ok(hit && err == ENOMEM && n1 > 0,
	   "1 MiB blocks until malloc fails: %d blocks, then NULL with errno %d (%s)", n1, err,
	   hit ? strerror(err) : "never failed");

	/* Everything large must now fail cleanly. */
	errno = 0;
	p = FENCED(launder(calloc(1, MiB)));
	ok(!p && errno == ENOMEM, "calloc(1, 1 MiB) when out of memory: NULL, ENOMEM (%p, %d)", p,
	   errno);
	FENCED_VOID(free(p));
	bad = 0;
	if (keep) {
		void *r;
		errno = 0;
		r = FENCED(realloc_opaque(keep, 64 * MiB));
		if (r) {
			keep = r;
			bad = 1;
		}
		ok(!r && errno == ENOMEM && pat_check(keep, 100, 9) == 100,
		   "realloc(100-byte block, 64 MiB) when out of memory: NULL, ENOMEM, block intact");
	} else {
		ok(0, "malloc(100) before the limit");
	}
	{
		void *q = (void *)0x5a5a;
		int rc = FENCED(posix_memalign(&q, 4096, MiB));
		ok(rc == ENOMEM && q == (void *)0x5a5a,
		   "posix_memalign(4096, 1 MiB) when out of memory: ENOMEM, *p untouched (rc %d)", rc);
		if (!rc)
			FENCED_VOID(free(q));
	}
	errno = 0;
	p = FENCED(launder(malloc(opaque_size((size_t)1 << 40))));
	ok(!p && errno == ENOMEM, "malloc(1 TiB): NULL, ENOMEM (%p, %d)", p, errno);
	FENCED_VOID(free(p));

	/* Small blocks: may still come from partly used spans, but must end in NULL + ENOMEM, if at all. */
	{
		void *head = NULL;
		long count = 0;
		int serr = 0, shit = 0;
		while (count < 2000000) {
			void **b;
			errno = 0;
			b = FENCED(launder(malloc(64)));
			if (!b) {
				serr = errno;
				shit = 1;
				break;
			}
			*b = head;
			head = b;
			count++;
		}
		ok(!shit || serr == ENOMEM,
		   "64-byte blocks when out of memory: %ld succeeded, then %s (errno %d)", count,
		   shit ? "NULL" : "no failure", serr);
		while (head) {
			void *next = *(void **)head;
			FENCED_VOID(free(head));
			head = next;
		}
	}

	free_all(n1);
	{
		enum { N = 1000 };
		static unsigned char *s[N];
		int i;
		bad = 0;
		for (i = 0; i < N; i++) {
			s[i] = launder(malloc(100));
			if (!s[i])
				bad++;
			else
				memset(s[i], i, 100);
		}
		for (i = 0; i < N; i++) {
			if (s[i] && (s[i][0] != (unsigned char)i || s[i][99] != (unsigned char)i))
				bad++;
			FENCED_VOID(free(s[i]));
		}
		ok(bad == 0, "after freeing everything, 1000 small mallocs work again (%d bad)", bad);
	}
	p = FENCED(launder(malloc(MiB)));
	ok(p != NULL, "after freeing everything, malloc(1 MiB) works again");
	FENCED_VOID(free(p));
	ok(keep && pat_check(keep, 100, 9) == 100, "the block held through it all is intact");

	n2 = fill_up(&err, &hit);
	ok(hit && err == ENOMEM && n2 >= n1 / 2,
	   "second fill: %d blocks of 1 MiB (first fill %d), then NULL with ENOMEM (errno %d)", n2, n1,
	   err);
	free_all(n2);
	errno = 0;
	p = FENCED(launder(malloc(opaque_size((size_t)1 << 40))));
	ok(!p && errno == ENOMEM, "malloc(1 TiB) under the limit again: NULL, ENOMEM");
	FENCED_VOID(free(p));

	p = FENCED(launder(malloc(100 * MiB)));
	ok(p == NULL || (memset(p, 1, MiB), 1), "the program carries on (malloc(100 MiB) = %p)", p);
	FENCED_VOID(free(p));
	FENCED_VOID(free(keep));
	return done_testing();
}
