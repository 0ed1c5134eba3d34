/* fuzz_ops — a libFuzzer harness that drives goalloc's core with sequences of allocator calls
 * decoded from the fuzzer's input, and checks every block against a shadow model.
 *
 * goalloc is linked in under its own names (goalloc_malloc, ...; built with -DGOALLOC_DIRECT
 * -DGOALLOC_NO_LIBC_NAMES), because libFuzzer itself allocates with the C library's malloc.
 *
 * Input format. The input is read as a stream of bytes; reading past its end yields zeros, so
 * every input is valid and a truncated op simply gets zero arguments. Each op is
 *
 *     op  slot  args...
 *
 * `op` (one byte, taken modulo OP_COUNT) names the operation, `slot` (one byte) a place in the
 * table of up to 256 live blocks. Operations that take an existing block use the first live one
 * at or after `slot` (cyclically), so that they act on something whenever anything is live;
 * operations that make a block put it at `slot`, first checking and freeing what was there.
 *
 *   SIZE  (one byte `k`, then more):  k % 8 = 0..2  → 1 byte, the size itself (0..255)
 *                                      k % 8 = 3     → 2 bytes, size % 4096
 *                                      k % 8 = 4     → 2 bytes, size % 32770 (up to 32 KiB + 1)
 *                                      k % 8 = 5     → 2 bytes: a class boundary from
 *                                                      `boundaries` below, plus -2..+2
 *                                      k % 8 = 6     → 1 byte b: (b % 64 + 1) * 8192, ±0..2
 *                                      k % 8 = 7     → 2 bytes v: v * 64 (up to 4 MiB)
 *   ALIGN (one byte `a`): a % 16 < 14 → 2^(a % 16) (1 .. 8192; 1, 2 and 4 are invalid for
 *                         posix_memalign), 14 → 2^(13 + a / 16 % 8) (up to 1 MiB),
 *                         15 → a / 16 * 8 + 24 (24, 32, 40 ... 144: mostly not powers of two)
 *
 *   op  0 MALLOC          slot SIZE
 *   op  1 CALLOC          slot SIZE count(1 byte; nmemb = count % 8 + 1, size = SIZE / nmemb)
 *   op  2 REALLOC         slot SIZE       a live block grown or shrunk (or moved)
 *   op  3 FREE            slot
 *   op  4 POSIX_MEMALIGN  slot ALIGN SIZE (EINVAL for an invalid alignment, *out untouched)
 *   op  5 ALIGNED_ALLOC   slot ALIGN SIZE (any alignment: rounded up to a power of two)
 *   op  6 MEMALIGN        slot ALIGN SIZE (memalign is aligned_alloc in goalloc)
 *   op  7 USABLE          slot            check a live block's bytes and usable size
 *   op  8 REMOTE_FREE     slot            the helper thread frees a live block (with the
 *                                         next ones: it frees REMOTE_BATCH at a time, or what
 *                                         it holds before it allocates, exits, or the input ends)
 *   op  9 REMOTE_MALLOC   slot SIZE       the helper thread allocates, this thread owns it
 *   op 10 FORK            slot n(1 byte) then n % 4 + 1 SIZEs: fork; the child checks and frees
 *                         a few live blocks, allocates/checks/frees the SIZEs, and _exits
 *   op 11 REALLOC_NULL    slot SIZE       realloc(NULL, n)
 *   op 12 REALLOC_ZERO    slot            realloc(p, 0): frees, returns NULL
 *   op 13 INVALID         slot kind(1 byte): a request that must fail (ENOMEM / EINVAL)
 *   op 14 HELPER_RESTART  slot            the helper thread exits (its cache goes back) and a
 *                                         new one starts
 *   op 15 CHECK_ALL       slot            every live block checked; the heap too (ga_check_heap)
 *
 * An input makes at most FORKS_MAX forks and CHECKS_MAX CHECK_ALLs; further ones do nothing.
 *
 * The helper thread is driven synchronously: this thread hands it one request and waits for
 * the answer, so a run is deterministic. (Frees are handed over in batches because each request
 * costs two thread switches, slow on a busy machine.)
 *
 * Every block is filled over its whole usable size with a pattern derived from its id and the
 * offset; its bytes, its alignment and its usable size (≥ the request, unchanged for the block's
 * life) are checked before it is freed or reallocated; realloc must keep min(old, new) requested
 * bytes. The live set is bounded (LIVE_MAX blocks, LIVE_BYTES_MAX bytes); each input ends with
 * every block freed.
 *
 * Seeds: test/fuzz/corpus/ (written by test/fuzz/mkcorpus.py). test/fuzz/regress/ keeps every
 * input that once found a fault. test/fuzz/t_fuzz_replay.sh runs both once (`make test`);
 * `make fuzz` fuzzes.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "goalloc.h"
#if __has_include("check.h")
#include "check.h"
#define HAVE_CHECK_HEAP 1
#endif

#define LIVE_MAX 256
#define LIVE_BYTES_MAX ((size_t)32 << 20)
#define FORKS_MAX 2 /* per input: a fork (and the wait for the child) costs far more than any other op */
#define CHECKS_MAX 4 /* per input: CHECK_ALL reads up to LIVE_BYTES_MAX bytes */

enum {
	OP_MALLOC,
	OP_CALLOC,
	OP_REALLOC,
	OP_FREE,
	OP_POSIX_MEMALIGN,
	OP_ALIGNED_ALLOC,
	OP_MEMALIGN,
	OP_USABLE,
	OP_REMOTE_FREE,
	OP_REMOTE_MALLOC,
	OP_FORK,
	OP_REALLOC_NULL,
	OP_REALLOC_ZERO,
	OP_INVALID,
	OP_HELPER_RESTART,
	OP_CHECK_ALL,
	OP_COUNT
};

struct block {
	unsigned char *p; /* NULL: the slot is empty */
	size_t size;      /* bytes requested */
	size_t usable;    /* goalloc_usable_size at allocation (or after realloc) */
	size_t align;     /* alignment promised */
	uint64_t id;      /* seeds the fill pattern */
};

static struct block live[LIVE_MAX];
static size_t live_bytes;
static uint64_t next_id;
static int in_child; /* set in a forked child: failures _exit instead of abort */

static const unsigned char *in_data;
static size_t in_len, in_pos;

static const size_t boundaries[] = {
	0, 1, 8, 9, 16, 17, 24, 32, 48, 64, 80, 96, 112, 128, 256, 512, 576, 1024, 1025, 1152,
	2048, 3072, 4096, 8192, 8193, 9472, 10240, 12288, 13568, 16384, 18432, 24576, 27264, 28672,
	32768, 32769, 40960, 65536, 65537, 131072, 262144, 1048576, 1048577, 2097152,
};

/* ---- Failure --------------------------------------------------------------------------- */

__attribute__((noreturn, format(printf, 1, 2))) static void fail(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof buf - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if (n > (int)sizeof buf - 2)
		n = (int)sizeof buf - 2;
	buf[n++] = '\n';
	if (write(2, "fuzz_ops: ", 10) < 0 || write(2, buf, (size_t)n) < 0) {
		/* nothing more to say */
	}
	if (in_child)
		_exit(3);
	abort();
}

/* ---- Input ----------------------------------------------------------------------------- */

static unsigned get8(void)
{
	return in_pos < in_len ? in_data[in_pos++] : 0;
}

static unsigned get16(void)
{
	unsigned lo = get8();
	return lo | get8() << 8;
}

static size_t get_size(void)
{
	unsigned k = get8();
	switch (k % 8) {
	case 0:
	case 1:
	case 2:
		return get8();
	case 3:
		return get16() % 4096;
	case 4:
		return get16() % 32770;
	case 5: {
		unsigned v = get16();
		size_t b = boundaries[v % (sizeof boundaries / sizeof boundaries[0])];
		long d = (long)(v >> 13 & 7) % 5 - 2;
		return d < 0 && b < (size_t)-d ? b : b + (size_t)d;
	}
	case 6: {
		unsigned b = get8();
		return (size_t)(b % 64 + 1) * 8192 + (k >> 3) % 3;
	}
	default:
		return (size_t)get16() * 64;
	}
}

static size_t get_align(void)
{
	unsigned a = get8();
	if (a % 16 < 14)
		return (size_t)1 << (a % 16);
	if (a % 16 == 14)
		return (size_t)1 << (13 + a / 16 % 8);
	return (size_t)(a / 16) * 8 + 24;
}

/* ---- The pattern ------------------------------------------------------------------------ */

static inline uint64_t pattern_word(uint64_t id, size_t w)
{
	uint64_t x = (id + 1) * 0x9e3779b97f4a7c15ull ^ (uint64_t)w * 0xbf58476d1ce4e5b9ull;
	return x ^ x >> 29;
}

static inline unsigned char pattern_byte(uint64_t id, size_t i)
{
	return (unsigned char)(pattern_word(id, i / 8) >> (i % 8 * 8));
}

static void fill(unsigned char *p, size_t n, uint64_t id)
{
	size_t w = 0;
	for (; (w + 1) * 8 <= n; w++) {
		uint64_t v = pattern_word(id, w);
		memcpy(p + w * 8, &v, 8);
	}
	for (size_t i = w * 8; i < n; i++)
		p[i] = pattern_byte(id, i);
}

/* The first byte in [0, n) that differs from the pattern, or n. */
static size_t mismatch(const unsigned char *p, size_t n, uint64_t id)
{
	size_t w = 0;
	for (; (w + 1) * 8 <= n; w++) {
		uint64_t v = pattern_word(id, w), got;
		memcpy(&got, p + w * 8, 8);
		if (got != v)
			break;
	}
	for (size_t i = w * 8; i < n; i++)
		if (p[i] != pattern_byte(id, i))
			return i;
	return n;
}

/* ---- The shadow model ------------------------------------------------------------------- */

/* What every block must satisfy, without looking at its bytes. */
static void check_shape(const char *what, const unsigned char *p, size_t size, size_t align)
{
	if ((uintptr_t)p % align)
		fail("%s(%zu): %p is not aligned to %zu", what, size, (void *)p, align);
	size_t u = goalloc_usable_size((void *)p);
	if (u < size)
		fail("%s(%zu): %p has usable size %zu", what, size, (void *)p, u);
}

/* The fundamental alignment malloc owes a block of n bytes: 16, or for n < 16 the largest power
 * of two ≤ n (no object that small needs more). */
static size_t malloc_align(size_t n)
{
	if (n >= 16)
		return 16;
	size_t a = 1;
	while (a * 2 <= n)
		a *= 2;
	return a;
}

static void check_block(const struct block *b, const char *why)
{
	size_t u = goalloc_usable_size(b->p);
	if (u != b->usable)
		fail("%s: block %llu at %p (size %zu): usable size was %zu, now %zu", why,
		     (unsigned long long)b->id, (void *)b->p, b->size, b->usable, u);
	size_t at = mismatch(b->p, b->usable, b->id);
	if (at != b->usable)
		fail("%s: block %llu at %p (size %zu, usable %zu): byte %zu is %#x, not %#x", why,
		     (unsigned long long)b->id, (void *)b->p, b->size, b->usable, at, b->p[at],
		     pattern_byte(b->id, at));
}

/* Take a new block into slot i (empty), after checking its shape; fill it. */
static void adopt(unsigned i, void *p, size_t size, size_t align, const char *what)
{
	check_shape(what, p, size, align);
	struct block *b = &live[i];
	b->p = p;
	b->size = size;
	b->usable = goalloc_usable_size(p);
	b->align = align;
	b->id = next_id++;
	fill(b->p, b->usable, b->id);
	live_bytes += b->usable;
}

static void forget(unsigned i)
{
	live_bytes -= live[i].usable;
	live[i].p = NULL;
}

static void free_slot(unsigned i)
{
	check_block(&live[i], "free");
	goalloc_free(live[i].p);
	forget(i);
}

/* Make slot i empty (freeing what is there) for a new block. */
static void clear_slot(unsigned i)
{
	if (live[i].p)
		free_slot(i);
}

/* The first live slot at or after i, cyclically; -1 if none. */
static int find_live(unsigned i)
{
	for (unsigned k = 0; k < LIVE_MAX; k++) {
		unsigned j = (i + k) % LIVE_MAX;
		if (live[j].p)
			return (int)j;
	}
	return -1;
}

/* A size that keeps the live set under its bound. */
static size_t bounded(size_t n)
{
	if (live_bytes + n + 8192 > LIVE_BYTES_MAX)
		return n % 4096;
	return n;
}

/* ---- The helper thread ------------------------------------------------------------------ */

enum { REQ_NONE, REQ_FREE, REQ_MALLOC, REQ_EXIT };

static pthread_t helper;
static int helper_running;
static pthread_mutex_t helper_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t helper_cv = PTHREAD_COND_INITIALIZER;
static int req_kind; /* REQ_NONE once answered */
static void *req_ptr;
static size_t req_size;
/* Blocks handed to the helper to free, in order; it frees them all at the next REQ_FREE. */
#define REMOTE_BATCH 8
static void *req_free[REMOTE_BATCH];
static unsigned req_nfree;

static void *helper_main(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&helper_mu);
	for (;;) {
		while (req_kind == REQ_NONE)
			pthread_cond_wait(&helper_cv, &helper_mu);
		int k = req_kind;
		if (k == REQ_FREE)
			for (unsigned j = 0; j < req_nfree; j++)
				goalloc_free(req_free[j]);
		else if (k == REQ_MALLOC)
			req_ptr = goalloc_malloc(req_size);
		req_kind = REQ_NONE;
		pthread_cond_broadcast(&helper_cv);
		if (k == REQ_EXIT)
			break;
	}
	pthread_mutex_unlock(&helper_mu);
	return NULL;
}

static void helper_start(void)
{
	if (helper_running)
		return;
	if (pthread_create(&helper, NULL, helper_main, NULL))
		fail("pthread_create failed");
	helper_running = 1;
}

/* Hand the helper one request and wait for its answer. */
static void *helper_do(int kind, void *p, size_t n)
{
	helper_start();
	pthread_mutex_lock(&helper_mu);
	req_kind = kind;
	req_ptr = p;
	req_size = n;
	pthread_cond_broadcast(&helper_cv);
	while (req_kind != REQ_NONE)
		pthread_cond_wait(&helper_cv, &helper_mu);
	void *r = req_ptr;
	pthread_mutex_unlock(&helper_mu);
	return r;
}

/* Have the helper free the blocks handed to it so far. */
static void helper_flush(void)
{
	if (req_nfree) {
		helper_do(REQ_FREE, NULL, 0);
		req_nfree = 0;
	}
}

static void helper_stop(void)
{
	helper_flush();
	if (!helper_running)
		return;
	helper_do(REQ_EXIT, NULL, 0);
	pthread_join(helper, NULL);
	helper_running = 0;
}

/* ---- Operations ------------------------------------------------------------------------- */

static void op_malloc(unsigned i)
{
	size_t n = bounded(get_size());
	clear_slot(i);
	void *p = goalloc_malloc(n);
	if (!p)
		fail("malloc(%zu) failed", n);
	adopt(i, p, n, malloc_align(n), "malloc");
}

static void op_calloc(unsigned i)
{
	size_t n = bounded(get_size());
	size_t nmemb = get8() % 8 + 1, each = n / nmemb;
	n = nmemb * each;
	clear_slot(i);
	unsigned char *p = goalloc_calloc(nmemb, each);
	if (!p)
		fail("calloc(%zu, %zu) failed", nmemb, each);
	for (size_t k = 0; k < n; k++)
		if (p[k])
			fail("calloc(%zu, %zu): byte %zu of %p is %#x", nmemb, each, k, (void *)p, p[k]);
	adopt(i, p, n, malloc_align(n), "calloc");
}

static void op_realloc(unsigned i)
{
	size_t n = get_size();
	int j = find_live(i);
	if (j < 0)
		return;
	struct block *b = &live[j];
	if (n > b->usable)
		n = b->usable + bounded(n - b->usable);
	check_block(b, "realloc");
	unsigned char *q = goalloc_realloc(b->p, n);
	if (n == 0) { /* glibc: frees and returns NULL */
		if (q)
			fail("realloc(%p, 0) returned %p", (void *)b->p, (void *)q);
		forget((unsigned)j);
		return;
	}
	if (!q)
		fail("realloc(%p, %zu) failed", (void *)b->p, n);
	size_t keep = b->size < n ? b->size : n;
	size_t at = mismatch(q, keep, b->id);
	if (at != keep)
		fail("realloc(%p [size %zu], %zu) = %p: byte %zu is %#x, not %#x", (void *)b->p, b->size,
		     n, (void *)q, at, q[at], pattern_byte(b->id, at));
	/* realloc owes only malloc's alignment, not the block's old one */
	check_shape("realloc", q, n, malloc_align(n));
	live_bytes -= b->usable;
	b->p = q;
	b->size = n;
	b->usable = goalloc_usable_size(q);
	b->align = malloc_align(n);
	fill(b->p, b->usable, b->id);
	live_bytes += b->usable;
}

static void op_free(unsigned i)
{
	int j = find_live(i);
	if (j >= 0)
		free_slot((unsigned)j);
}

static void op_posix_memalign(unsigned i)
{
	size_t a = get_align();
	size_t n = bounded(get_size());
	clear_slot(i);
	void *p = (void *)&p; /* must stay untouched on failure */
	int saved = errno = 12345;
	int r = goalloc_posix_memalign(&p, a, n);
	if (errno != (r == ENOMEM ? ENOMEM : saved)) /* (glibc 2.36 sets errno when it fails) */
		fail("posix_memalign(%zu, %zu) = %d, errno %d", a, n, r, errno);
	int valid = a >= sizeof(void *) && !(a & (a - 1));
	if (!valid) {
		if (r != EINVAL || p != (void *)&p)
			fail("posix_memalign(%zu, %zu) = %d, not EINVAL", a, n, r);
		return;
	}
	if (r)
		fail("posix_memalign(%zu, %zu) = %d", a, n, r);
	adopt(i, p, n, a, "posix_memalign");
}

static size_t pow2_ceil(size_t a)
{
	size_t p = 1;
	while (p < a)
		p <<= 1;
	return p;
}

static void op_aligned_alloc(unsigned i, const char *what)
{
	size_t a = get_align();
	size_t n = bounded(get_size());
	clear_slot(i);
	void *p = goalloc_aligned_alloc(a, n);
	if (!p)
		fail("%s(%zu, %zu) failed", what, a, n);
	size_t want = pow2_ceil(a) < malloc_align(n) ? malloc_align(n) : pow2_ceil(a);
	adopt(i, p, n, want, what);
}

static void op_usable(unsigned i)
{
	int j = find_live(i);
	if (j >= 0)
		check_block(&live[j], "usable");
}

static void op_remote_free(unsigned i)
{
	int j = find_live(i);
	if (j < 0)
		return;
	check_block(&live[j], "remote free");
	req_free[req_nfree++] = live[j].p;
	forget((unsigned)j);
	if (req_nfree == REMOTE_BATCH)
		helper_flush();
}

static void op_remote_malloc(unsigned i)
{
	size_t n = bounded(get_size());
	clear_slot(i);
	helper_flush();
	void *p = helper_do(REQ_MALLOC, NULL, n);
	if (!p)
		fail("malloc(%zu) in the helper thread failed", n);
	adopt(i, p, n, malloc_align(n), "remote malloc");
}

/* The child of a fork: check and free a few of the inherited blocks, allocate, check and free
 * a few of its own, and leave. The parent's blocks are untouched (the child has its own copy). */
static void child_work(unsigned i, unsigned count, const size_t *sizes)
{
	in_child = 1;
	for (unsigned k = 0; k < 8; k++) {
		int j = find_live(i + k * 31);
		if (j >= 0 && live[j].p) {
			check_block(&live[j], "free in child");
			goalloc_free(live[j].p);
			forget((unsigned)j);
		}
	}
	void *mine[4];
	for (unsigned k = 0; k < count; k++) {
		mine[k] = goalloc_malloc(sizes[k]);
		if (!mine[k])
			fail("malloc(%zu) in the child failed", sizes[k]);
		check_shape("malloc in child", mine[k], sizes[k], malloc_align(sizes[k]));
		fill(mine[k], sizes[k], 1000000 + k);
	}
	for (unsigned k = 0; k < count; k++) {
		if (mismatch(mine[k], sizes[k], 1000000 + k) != sizes[k])
			fail("child block %u of %zu bytes changed", k, sizes[k]);
		goalloc_free(mine[k]);
	}
#ifdef HAVE_CHECK_HEAP
	ga_check_heap();
#endif
	_exit(0);
}

static void op_fork(unsigned i, unsigned *forks)
{
	unsigned count = get8() % 4 + 1;
	size_t sizes[4];
	for (unsigned k = 0; k < count; k++)
		sizes[k] = get_size();
	if (++*forks > FORKS_MAX)
		return;
	pid_t pid = fork();
	if (pid < 0)
		fail("fork failed: errno %d", errno);
	if (pid == 0)
		child_work(i, count, sizes);
	int st;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			fail("waitpid failed: errno %d", errno);
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		fail("the forked child failed (status %#x)", st);
}

static void op_realloc_null(unsigned i)
{
	size_t n = bounded(get_size());
	clear_slot(i);
	void *p = goalloc_realloc(NULL, n);
	if (!p)
		fail("realloc(NULL, %zu) failed", n);
	adopt(i, p, n, malloc_align(n), "realloc(NULL)");
}

static void op_realloc_zero(unsigned i)
{
	int j = find_live(i);
	if (j < 0)
		return;
	check_block(&live[j], "realloc to 0");
	void *q = goalloc_realloc(live[j].p, 0);
	if (q)
		fail("realloc(%p, 0) returned %p", (void *)live[j].p, q);
	forget((unsigned)j);
}

/* One request that must fail (or, for the odd one, may succeed), chosen by a byte. */
static void op_invalid(unsigned i)
{
	unsigned kind = get8();
	void *p;
	int r;
	switch (kind % 8) {
	case 0: { /* more than PTRDIFF_MAX bytes */
		size_t n = (size_t)PTRDIFF_MAX + 1 + (kind >> 3) * 4096;
		errno = 0;
		p = goalloc_malloc(n);
		if (p || errno != ENOMEM)
			fail("malloc(%zu) = %p, errno %d", n, p, errno);
		break;
	}
	case 1: { /* nmemb * size overflows */
		size_t a = ((size_t)1 << 33) + (kind >> 3), b = (size_t)1 << 31;
		errno = 0;
		p = goalloc_calloc(a, b);
		if (p || errno != ENOMEM)
			fail("calloc(%zu, %zu) = %p, errno %d", a, b, p, errno);
		break;
	}
	case 2: { /* an alignment posix_memalign refuses */
		static const size_t bad[] = {0, 1, 2, 4, 3, 12, 24, 48, 96, 4097, 65535, (size_t)1 << 63 | 8};
		size_t a = bad[(kind >> 3) % (sizeof bad / sizeof bad[0])];
		p = &p;
		r = goalloc_posix_memalign(&p, a, 64);
		if (r != EINVAL || p != &p)
			fail("posix_memalign(%zu, 64) = %d, not EINVAL", a, r);
		break;
	}
	case 3: { /* a good alignment, too many bytes */
		size_t a = (size_t)16 << (kind >> 3) % 10;
		p = &p;
		errno = 4321;
		r = goalloc_posix_memalign(&p, a, (size_t)-1 - (kind >> 3));
		if (r != ENOMEM || p != &p || errno != ENOMEM) /* (glibc 2.36 sets errno too) */
			fail("posix_memalign(%zu, huge) = %d, errno %d", a, r, errno);
		break;
	}
	case 4: { /* an alignment that rounds up past every size_t */
		size_t a = ((size_t)1 << 63) + 1 + (kind >> 3);
		errno = 0;
		p = goalloc_aligned_alloc(a, 16);
		if (p || errno != EINVAL) /* (glibc 2.36: EINVAL above SIZE_MAX / 2 + 1) */
			fail("aligned_alloc(%#zx, 16) = %p, errno %d", a, p, errno);
		break;
	}
	case 5: { /* realloc of a live block to too many bytes: NULL, the block intact */
		int j = find_live(i);
		if (j < 0)
			break;
		errno = 0;
		void *q = goalloc_realloc(live[j].p, (size_t)PTRDIFF_MAX + 1 + (kind >> 3));
		if (q || errno != ENOMEM)
			fail("realloc(%p, huge) = %p, errno %d", (void *)live[j].p, q, errno);
		check_block(&live[j], "after a failed realloc");
		break;
	}
	case 6: /* NULL */
		goalloc_free(NULL);
		if (goalloc_usable_size(NULL) != 0)
			fail("malloc_usable_size(NULL) != 0");
		break;
	default: { /* aligned_alloc(0, n) is malloc(n) */
		size_t n = kind >> 3;
		clear_slot(i);
		p = goalloc_aligned_alloc(0, n);
		if (!p)
			fail("aligned_alloc(0, %zu) failed", n);
		adopt(i, p, n, malloc_align(n), "aligned_alloc(0)");
		break;
	}
	}
}

static void check_all(void)
{
	for (unsigned k = 0; k < LIVE_MAX; k++)
		if (live[k].p)
			check_block(&live[k], "check");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	in_data = data;
	in_len = size;
	in_pos = 0;
	unsigned forks = 0, checks = 0;
	while (in_pos < in_len) {
		unsigned op = get8() % OP_COUNT;
		unsigned i = get8() % LIVE_MAX;
		switch (op) {
		case OP_MALLOC: op_malloc(i); break;
		case OP_CALLOC: op_calloc(i); break;
		case OP_REALLOC: op_realloc(i); break;
		case OP_FREE: op_free(i); break;
		case OP_POSIX_MEMALIGN: op_posix_memalign(i); break;
		case OP_ALIGNED_ALLOC: op_aligned_alloc(i, "aligned_alloc"); break;
		case OP_MEMALIGN: op_aligned_alloc(i, "memalign"); break;
		case OP_USABLE: op_usable(i); break;
		case OP_REMOTE_FREE: op_remote_free(i); break;
		case OP_REMOTE_MALLOC: op_remote_malloc(i); break;
		case OP_FORK: op_fork(i, &forks); break;
		case OP_REALLOC_NULL: op_realloc_null(i); break;
		case OP_REALLOC_ZERO: op_realloc_zero(i); break;
		case OP_INVALID: op_invalid(i); break;
		case OP_HELPER_RESTART: helper_stop(); helper_start(); break;
		default:
			if (++checks > CHECKS_MAX)
				break;
			check_all();
#ifdef HAVE_CHECK_HEAP
			ga_check_heap();
#endif
			break;
		}
	}
	for (unsigned k = 0; k < LIVE_MAX; k++)
		if (live[k].p)
			free_slot(k);
	helper_flush();
	if (live_bytes)
		fail("the live set's byte count is %zu after freeing everything", live_bytes);
#ifdef HAVE_CHECK_HEAP
	ga_check_heap();
#endif
	return 0;
}
