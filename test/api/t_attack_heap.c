/* t_attack_heap — goalloc as an exploit writer attacks it: each attack runs in a forked child
 * whose stderr is captured; the child must die of SIGABRT with goalloc's message, and must never
 * be handed memory that is not a free block of the class it asked for.
 *
 *   - free-list poisoning: an overflow from block a writes the address of a static buffer into
 *     the link of the free block b right after it; the second malloc of the class would return
 *     that buffer if the link were trusted (glibc ≥ 2.32, jemalloc, mimalloc refuse);
 *   - the same with a link copied from another free block (valid for that block, not for b);
 *   - free(A); free(B); free(A) for malloc(8), malloc(1) and malloc(32) (when 1..8 bytes had a
 *     class of their own, only the list head was compared there: the next mallocs returned A
 *     twice);
 *   - free of a slot never handed out: the next slot after a block (carved onto the thread's
 *     list), and a slot further on in the span (never listed), for malloc(8) and malloc(100).
 * Built like every API test; the bad frees go through free_opaque so the compiler neither warns
 * nor deletes the malloc/free pairs.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tap.h"
#include "api_util.h"

__attribute__((noinline)) static void free_opaque(void *p)
{
	free(launder(p));
}

__attribute__((noinline)) static void *malloc_opaque(size_t n)
{
	return launder(malloc(n));
}

/* What an attacker wants the allocator to hand out. */
static _Alignas(64) unsigned char target[256];

enum kind { K_POISON, K_POISON_COPY, K_POISON_DEEP, K_ABA, K_NEXT_SLOT, K_FAR_SLOT };

struct acase {
	enum kind kind;
	size_t size;
	const char *name;
	const char *want; /* in stderr; "|" separates accepted alternatives */
};

static const struct acase cases[] = {
	{K_POISON, 24, "overflow writes &static into a free 32-byte block's link", "corrupted free list"},
	{K_POISON, 8, "overflow writes &static into the link of malloc(8)'s free block", "corrupted free list"},
	{K_POISON, 200, "overflow writes &static into a free 208-byte block's link", "corrupted free list"},
	{K_POISON_COPY, 24, "a free block's link copied into another's", "corrupted free list"},
	{K_POISON_DEEP, 24, "a poisoned link deep in the list, then the list overflows", "corrupted free list"},
	{K_ABA, 8, "free(A); free(B); free(A), malloc(8)", "double free"},
	{K_ABA, 1, "free(A); free(B); free(A), malloc(1)", "double free"},
	{K_ABA, 32, "free(A); free(B); free(A), malloc(32)", "double free"},
	{K_NEXT_SLOT, 100, "free(p + usable) for malloc(100)", "double free|invalid pointer"},
	{K_NEXT_SLOT, 8, "free(p + usable) for malloc(8)", "double free|invalid pointer"},
	{K_FAR_SLOT, 100, "free of a slot further on in malloc(100)'s span", "double free|invalid pointer"},
	{K_FAR_SLOT, 8, "free of a slot further on in malloc(8)'s span", "double free|invalid pointer"},
};

/* Two blocks of `size` with b right after a (fresh blocks are handed out in address order). */
static int adjacent_pair(size_t size, unsigned char **pa, unsigned char **pb)
{
	for (int i = 0; i < 64; i++) {
		unsigned char *a = malloc_opaque(size), *b = malloc_opaque(size);
		if (a && b && b == a + malloc_usable_size(a)) {
			*pa = a;
			*pb = b;
			return 1;
		}
	}
	return 0;
}

/* The child: misuse the heap; report on fd `info` the pointer the message should name, and "T"
 * if the allocator ever hands out the target or a block twice. Returns only if nothing stopped it. */
static void child(const struct acase *c, int info)
{
	unsigned char *a, *b, *x, *y, *z, *p;
	uintptr_t bad = 0;

	switch (c->kind) {
	case K_POISON:
	case K_POISON_COPY:
	case K_POISON_DEEP:
		if (!adjacent_pair(c->size, &a, &b))
			_exit(4);
		memset(a, 0x41, c->size);
		if (c->kind == K_POISON_DEEP) { /* b deep in the list when it overflows and is trimmed */
			static unsigned char *more[2000];
			uintptr_t t = (uintptr_t)target;
			for (int i = 0; i < 2000; i++)
				more[i] = malloc_opaque(c->size);
			free_opaque(b);
			memcpy(a + malloc_usable_size(a), &t, sizeof t); /* the "overflow" */
			bad = (uintptr_t)b;
			if (write(info, &bad, sizeof bad) != (ssize_t)sizeof bad)
				_exit(3);
			for (int i = 0; i < 2000; i++) /* over the list's bound: trimmed, parked */
				free_opaque(more[i]);
			for (int i = 0; i < 2200; i++) /* (every block listed, b the last) */
				if (malloc_opaque(c->size) == (void *)target)
					(void)!write(info, "T", 1);
			_exit(0);
		}
		if (c->kind == K_POISON_COPY) { /* take a link that is valid where it was written */
			unsigned char *u = malloc_opaque(c->size), *v = malloc_opaque(c->size);
			free_opaque(v);
			free_opaque(u); /* u's link now encodes v */
			free_opaque(b);
			memcpy(a + malloc_usable_size(a), u, sizeof(void *)); /* the "overflow" */
		} else {
			uintptr_t t = (uintptr_t)target;
			free_opaque(b);
			memcpy(a + malloc_usable_size(a), &t, sizeof t); /* the "overflow" */
		}
		bad = (uintptr_t)b;
		if (write(info, &bad, sizeof bad) != (ssize_t)sizeof bad)
			_exit(3);
		x = malloc_opaque(c->size); /* b */
		y = malloc_opaque(c->size); /* what b's link named */
		z = malloc_opaque(c->size);
		if (x == target || y == target || z == target || (y && y == x))
			(void)!write(info, "T", 1);
		_exit(0);
	case K_ABA:
		a = malloc_opaque(c->size);
		b = malloc_opaque(c->size);
		memset(a, 1, malloc_usable_size(a));
		memset(b, 2, malloc_usable_size(b));
		bad = (uintptr_t)a;
		if (write(info, &bad, sizeof bad) != (ssize_t)sizeof bad)
			_exit(3);
		free_opaque(a);
		free_opaque(b);
		free_opaque(a);
		x = malloc_opaque(c->size);
		y = malloc_opaque(c->size);
		z = malloc_opaque(c->size);
		if (x == z || x == y || y == z)
			(void)!write(info, "T", 1);
		_exit(0);
	case K_NEXT_SLOT:
	case K_FAR_SLOT:
		p = malloc_opaque(c->size);
		memset(p, 3, c->size);
		if (c->kind == K_NEXT_SLOT) {
			bad = (uintptr_t)p + malloc_usable_size(p);
		} else { /* the last slot in p's page: classes up to 1 KiB fill one 8 KiB span */
			size_t u = malloc_usable_size(p), off = (uintptr_t)p % 8192;
			bad = (uintptr_t)p + u * ((8192 - off) / u - 1);
			if (bad == (uintptr_t)p)
				_exit(4);
		}
		if (write(info, &bad, sizeof bad) != (ssize_t)sizeof bad)
			_exit(3);
		free_opaque((void *)bad);
		{
			unsigned char *got[200];
			int twice = 0;
			for (int i = 0; i < 200; i++) {
				got[i] = malloc_opaque(c->size);
				for (int j = 0; j < i; j++)
					twice |= got[i] && got[i] == got[j];
			}
			if (twice)
				(void)!write(info, "T", 1);
		}
		_exit(0);
	}
	_exit(0);
}

static int run_case(const struct acase *c)
{
	int errp[2], infop[2], status = 0, good = 1;
	static char err[8192];
	char tail[16] = {0};
	size_t len = 0;
	uintptr_t bad = 0;
	pid_t pid;
	ssize_t r;

	if (pipe(errp) || pipe(infop)) {
		diag("pipe: %s", strerror(errno));
		return 0;
	}
	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		diag("fork: %s", strerror(errno));
		return 0;
	}
	if (pid == 0) {
		struct rlimit nocore = {0, 0};
		setrlimit(RLIMIT_CORE, &nocore);
		alarm(30); /* a hang becomes SIGALRM, not a stuck test */
		dup2(errp[1], 2);
		close(errp[0]);
		close(errp[1]);
		close(infop[0]);
		child(c, infop[1]);
	}
	close(errp[1]);
	close(infop[1]);
	if (read(infop[0], &bad, sizeof bad) != (ssize_t)sizeof bad)
		bad = 0;
	if (read(infop[0], tail, sizeof tail - 1) > 0 && tail[0] == 'T') {
		diag("the allocator handed out the target or one block twice");
		good = 0;
	}
	close(infop[0]);
	while (len < sizeof err - 1 && (r = read(errp[0], err + len, sizeof err - 1 - len)) != 0) {
		if (r < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		len += (size_t)r;
	}
	err[len] = 0;
	close(errp[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGABRT) {
		if (WIFSIGNALED(status))
			diag("child died of signal %d (%s), expected SIGABRT", WTERMSIG(status),
			     strsignal(WTERMSIG(status)));
		else
			diag("child exited with status %d, expected death by SIGABRT",
			     WIFEXITED(status) ? WEXITSTATUS(status) : -1);
		good = 0;
	}
	if (!strstr(err, "goalloc: ")) {
		diag("stderr does not carry goalloc's message");
		good = 0;
	}
	int found = 0;
	char alts[128];
	snprintf(alts, sizeof alts, "%s", c->want);
	for (char *save = NULL, *w = strtok_r(alts, "|", &save); w; w = strtok_r(NULL, "|", &save))
		found |= strstr(err, w) != NULL;
	if (!found) {
		diag("stderr does not contain \"%s\"", c->want);
		good = 0;
	}
	char ptr[32];
	snprintf(ptr, sizeof ptr, "%p", (void *)bad);
	if (bad && !strstr(err, ptr)) {
		diag("stderr does not name %s", ptr);
		good = 0;
	}
	if (!good) {
		char *line, *save = NULL;
		diag("child stderr (%zu bytes):", len);
		for (line = strtok_r(err, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
			diag("  | %s", line);
	}
	return good;
}

int main(void)
{
	if (!under_goalloc())
		skip_all("not under goalloc (these are goalloc's own error reports)");
	plan((int)(sizeof cases / sizeof cases[0]));
	for (unsigned i = 0; i < sizeof cases / sizeof cases[0]; i++)
		ok(run_case(&cases[i]), "%s: SIGABRT with goalloc's message", cases[i].name);
	return done_testing();
}
