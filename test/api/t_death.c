/* t_death — goalloc ends the program with a clear message instead of corrupting its heap when
 * handed a bad pointer: interior pointers, stack and unmapped addresses, double frees of small
 * and large blocks, realloc of an interior pointer, free_sized with a size larger than the
 * block. Built with -fno-builtin (Makefile), so that the compiler keeps every bad call. Each case runs in a forked child whose
 * stderr is captured; the child must die of SIGABRT and name the problem.
 */
#define _GNU_SOURCE
#include <errno.h>
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
#include "death.h"

/* Not declared by glibc 2.36 (goalloc exports it). */
extern void free_sized(void *, size_t) __attribute__((weak));
extern size_t malloc_usable_size(void *);

/* A free the compiler cannot see, so passing it odd pointers draws no warning. */
__attribute__((noinline)) static void free_opaque(void *p)
{
	free(launder(p));
}

enum kind {
	K_INTERIOR_SMALL,
	K_STACK,
	K_UNMAPPED,
	K_INTERIOR_LARGE,
	K_DOUBLE_SMALL,
	K_DOUBLE_LARGE,
	K_REALLOC_INTERIOR,
	K_FREE_SIZED_OVER,
};

struct dcase {
	enum kind kind;
	size_t size;
	const char *name;
};

static const struct dcase cases[] = {
	{K_INTERIOR_SMALL, 64, "free(malloc(64) + 16)"},
	{K_STACK, 0, "free(address of a stack variable)"},
	{K_UNMAPPED, 0, "free((void *)0x12345678)"},
	{K_INTERIOR_LARGE, 100000, "free(malloc(100000) + 4096)"},
	{K_DOUBLE_SMALL, 16, "double free of a 16-byte block"},
	{K_DOUBLE_SMALL, 100, "double free of a 100-byte block"},
	{K_DOUBLE_SMALL, 1000, "double free of a 1000-byte block"},
	{K_DOUBLE_LARGE, 100000, "double free of a 100000-byte block"},
	{K_REALLOC_INTERIOR, 64, "realloc(malloc(64) + 16, 128)"},
	{K_FREE_SIZED_OVER, 100, "free_sized(malloc(100), its usable size + 1)"},
	{K_FREE_SIZED_OVER, 100000, "free_sized(malloc(100000), its usable size + 1)"},
};

/* The child: report the pointer it is about to misuse on fd `info`, then misuse it. */
static void child(const void *arg, int info)
{
	const struct dcase *c = arg;
	volatile long on_stack = 42;
	unsigned char *p = NULL, *q, *keep[4];
	uintptr_t bad = 0;
	int i;

	/* Some unrelated live blocks, so the heap is not trivially empty. */
	for (i = 0; i < 4; i++)
		keep[i] = launder(malloc(c->size ? c->size : 32));

	switch (c->kind) {
	case K_INTERIOR_SMALL:
	case K_INTERIOR_LARGE:
		p = launder(malloc(c->size));
		bad = addr_of(p) + (c->kind == K_INTERIOR_SMALL ? 16 : 4096);
		break;
	case K_REALLOC_INTERIOR:
		p = launder(malloc(c->size));
		bad = addr_of(p) + 16;
		break;
	case K_FREE_SIZED_OVER:
		p = launder(malloc(c->size));
		bad = addr_of(p);
		break;
	case K_STACK:
		bad = addr_of((const void *)&on_stack);
		break;
	case K_UNMAPPED:
		bad = 0x12345678;
		break;
	case K_DOUBLE_SMALL:
	case K_DOUBLE_LARGE:
		p = launder(malloc(c->size));
		q = launder(malloc(c->size));
		memset(p, 1, c->size);
		memset(q, 2, c->size);
		bad = addr_of(p);
		free_opaque(p);
		free_opaque(q); /* p is no longer the most recently freed block */
		break;
	}
	if (write(info, &bad, sizeof bad) != (ssize_t)sizeof bad)
		_exit(3);
	close(info);
	if (c->kind == K_REALLOC_INTERIOR)
		launder(realloc(launder((void *)bad), 128));
	else if (c->kind == K_FREE_SIZED_OVER)
		free_sized(launder(p), malloc_usable_size(p) + 1);
	else
		free_opaque((void *)bad);
	(void)on_stack;
	(void)keep;
	_exit(0); /* not reached when the allocator catches it */
}

static int run_case(const struct dcase *c)
{
	static char err[8192];
	uintptr_t bad = 0;
	size_t got;
	char want[128];
	int good = expect_abort(die_with_info(child, c, 10, err, sizeof err, &bad, sizeof bad, &got));
	if (got != sizeof bad)
		bad = 0;
	if (!strstr(err, "goalloc")) {
		diag("stderr does not mention goalloc");
		good = 0;
	}
	switch (c->kind) {
	case K_DOUBLE_SMALL:
	case K_DOUBLE_LARGE:
		snprintf(want, sizeof want, "double free");
		break;
	case K_REALLOC_INTERIOR:
		snprintf(want, sizeof want, "realloc(): invalid pointer");
		break;
	case K_FREE_SIZED_OVER:
		if (!strstr(err, "free_sized(): invalid size ")) {
			diag("stderr does not contain \"free_sized(): invalid size \"");
			good = 0;
		}
		snprintf(want, sizeof want, " for block %p", (void *)bad);
		break;
	default:
		snprintf(want, sizeof want, "free(): invalid pointer %p", (void *)bad);
		break;
	}
	if (!strstr(err, want)) {
		diag("stderr does not contain \"%s\"", want);
		good = 0;
	}
	if (!good)
		diag_stderr(err);
	return good;
}

int main(void)
{
	unsigned i;

	if (!under_goalloc())
		skip_all("not under goalloc (these are goalloc's own error reports)");
	plan((int)(sizeof cases / sizeof cases[0]));
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++)
		ok(run_case(&cases[i]), "%s: SIGABRT with goalloc's message", cases[i].name);
	return done_testing();
}
