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
#include "death.h"

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
static void child(const void *arg, int info)
{
	const struct acase *c = arg;
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
	static char err[8192];
	struct {
		uintptr_t bad;
		char tail[16];
	} info = {0, {0}};
	size_t got;
	int good = expect_abort(die_with_info(child, c, 30, err, sizeof err, &info, sizeof info, &got));
	uintptr_t bad = got >= sizeof info.bad ? info.bad : 0;
	if (got > sizeof info.bad && info.tail[0] == 'T') {
		diag("the allocator handed out the target or one block twice");
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
	if (!good)
		diag_stderr(err);
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
