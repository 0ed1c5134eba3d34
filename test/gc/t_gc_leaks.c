/* t_gc_leaks — planted leaks, and blocks held from every kind of root the collector must read.
 *
 * Run by t_gc_leaks.sh with goalloc preloaded and GOALLOC_GC=report (or collect):
 *     t_gc_leaks plant|clean LIBDIR [twice] [heapalt]
 * plant  leaks exactly this set, each block from its own function (frame #0 of its report group):
 *            plant_direct      100 B  dropped                          direct
 *            plant_pair_head    48 B  points to the tail               direct
 *            plant_pair_tail    48 B                                   indirect
 *            plant_cycle_a      72 B  a <-> b, nothing else to either  one direct, one indirect
 *            plant_cycle_b      88 B
 *            plant_chain_1     200 B  1 -> 2 -> 3                      direct
 *            plant_chain_2     210 B                                   indirect
 *            plant_chain_3     220 B                                   indirect
 *                              986 B in 8 blocks
 * clean  plants nothing (the report must then print nothing at all).
 * Either way every keep_* block is held from one root only (the list is KEPT_LIST below) and must
 * never be reported nor, in collect mode, freed: their fill patterns are checked after a cycle.
 * The program runs one goalloc_gc() and checks goalloc_gc_stats() against the planted set
 * (collect mode, and "twice": a second cycle), then calls exit() from main — main's frame, which
 * holds one of the kept blocks, stays live while the exit-time check runs in a destructor, and the
 * helper threads stay blocked in read() (or in a raw read system call, for the one that holds its
 * blocks in r12 and r15).
 * heapalt adds the two malloc'd sigaltstack buffers (keep_altstack_buf_main, _thread), held by the
 * kernel only, and what they hold; without it they are not set up (their own run in the driver).
 * LIBDIR holds lib_gc_root.so (dlopen'd: a global, a static and dynamic TLS) and
 * lib_gc_deepbind.so (dlopen'd with RTLD_DEEPBIND: a glibc block holding a goalloc pointer).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "gc_util.h"

/* ---- the blocks that must never be reported: allocating function, root, size ---------------- */
#define KEPT_LIST(X)                                                                                 \
	X(K_GLOBAL, keep_global, 104)                                                                \
	X(K_STATIC, keep_static, 112)                                                                \
	X(K_LIB_GLOBAL, keep_lib_global, 120)                                                        \
	X(K_LIB_STATIC, keep_lib_static, 136)                                                        \
	X(K_MAIN_STACK, keep_main_stack, 144)                                                        \
	X(K_THREAD_STACK, keep_thread_stack, 152)                                                    \
	X(K_REG_R12, keep_reg_r12, 168)                                                              \
	X(K_REG_R15, keep_reg_r15, 176)                                                              \
	X(K_TLS_MAIN, keep_tls_main, 184)                                                            \
	X(K_TLS_THREAD, keep_tls_thread, 192)                                                        \
	X(K_DTLS_MAIN, keep_dtls_main, 232)                                                          \
	X(K_DTLS_THREAD, keep_dtls_thread, 240)                                                      \
	X(K_MMAP_PRIVATE, keep_mmap_private, 248)                                                    \
	X(K_MMAP_SPARSE, keep_mmap_sparse, 264)                                                      \
	X(K_MMAP_SHARED, keep_mmap_shared, 272)                                                      \
	X(K_ALT_MMAP, keep_altstack_mmap, 280)                                                       \
	X(K_ALT_BUF_MAIN, keep_altstack_buf_main, 65536)                                             \
	X(K_ALT_INNER_MAIN, keep_altstack_inner_main, 296)                                           \
	X(K_ALT_BUF_THREAD, keep_altstack_buf_thread, 16384)                                         \
	X(K_ALT_INNER_THREAD, keep_altstack_inner_thread, 304)                                       \
	X(K_HEAP_PARENT, keep_heap_parent, 312)                                                      \
	X(K_HEAP_CHILD, keep_heap_child, 328)                                                        \
	X(K_INTERIOR, keep_interior, 256)                                                            \
	X(K_PASTEND_16, keep_pastend_16, 16)                                                         \
	X(K_PASTEND_24, keep_pastend_24, 24)                                                         \
	X(K_PASTEND_100, keep_pastend_100, 100)                                                      \
	X(K_PASTEND_1024, keep_pastend_1024, 1024)                                                   \
	X(K_PASTEND_4096, keep_pastend_4096, 4096)                                                   \
	X(K_PASTEND_40000, keep_pastend_40000, 40000)                                                \
	X(K_DEEPBIND, keep_deepbind, 344)                                                            \
	X(K_IGNORED, keep_ignored, 352)                                                              \
	X(K_IGNORED_CHILD, keep_ignored_child, 360)

#define PLANT_LIST(X)                                                                                \
	X(plant_direct)                                                                              \
	X(plant_pair_head)                                                                           \
	X(plant_pair_tail)                                                                           \
	X(plant_cycle_a)                                                                             \
	X(plant_cycle_b)                                                                             \
	X(plant_chain_1)                                                                             \
	X(plant_chain_2)                                                                             \
	X(plant_chain_3)

#define PLANTED_OBJECTS 8
#define PLANTED_BYTES (100 + 48 + 48 + 72 + 88 + 200 + 210 + 220)

/* Which function allocated last: a store that makes every allocating function's body differ, so
 * that no identical-code folding merges two of them under one name. */
static const char *volatile alloc_site;

/* Every allocating function: malloc, then the fill (so the malloc call is never a tail call and
 * the return address recorded for the block lies in this function). */
#define DEFINE_ALLOC(name)                                                                           \
	void *name(size_t n, unsigned seed);                                                         \
	GC_NOINLINE void *name(size_t n, unsigned seed)                                              \
	{                                                                                            \
		void *p = malloc(n);                                                                 \
		if (!p)                                                                              \
			abort();                                                                     \
		gc_fill(p, n, seed);                                                                 \
		alloc_site = __func__;                                                               \
		return p;                                                                            \
	}
#define DEFINE_KEPT_ALLOC(k, name, size) DEFINE_ALLOC(name)
KEPT_LIST(DEFINE_KEPT_ALLOC)
PLANT_LIST(DEFINE_ALLOC)

#define KEPT_ENUM(k, name, size) k,
enum { KEPT_LIST(KEPT_ENUM) K_N };
#define KEPT_NAME(k, name, size) #name,
static const char *const kept_fn[K_N] = {KEPT_LIST(KEPT_NAME)};
#define KEPT_SIZE(k, name, size) size,
static const size_t kept_size[K_N] = {KEPT_LIST(KEPT_SIZE)};

#define KALLOC(k, name) name(kept_size[k], (unsigned)(k) + 1)

/* What the program remembers of each kept block, hidden from the scan. */
struct kept {
	uintptr_t hid;     /* the block, GC_HIDE'd; 0: not set up */
	size_t ptr_off;    /* a word holding a pointer (SIZE_MAX: none) */
	uintptr_t ptr_hid; /* that pointer, hidden */
	int pattern_from;  /* altstack buffers: a signal frame may have been written above this */
};
static struct kept kept[K_N];
static pthread_mutex_t kept_lock = PTHREAD_MUTEX_INITIALIZER;

static void kept_add(int k, void *p, size_t ptr_off, void *ptr)
{
	pthread_mutex_lock(&kept_lock);
	kept[k].hid = GC_HIDE(p);
	kept[k].ptr_off = ptr_off;
	kept[k].ptr_hid = ptr ? GC_HIDE(ptr) : 0;
	kept[k].pattern_from = -1;
	pthread_mutex_unlock(&kept_lock);
}

/* Store a pointer into a word of a block (memcpy: the offset need not be typed). */
static void put_ptr(void *block, size_t off, const void *ptr)
{
	memcpy((char *)block + off, &ptr, sizeof ptr);
}

/* ---- the roots ------------------------------------------------------------------------------- */
void *g_global;                    /* a global of the executable */
static void *volatile s_static;    /* a static of the executable */
void *g_heap_parent;               /* -> parent -> child */
void *g_interior;                  /* 256 B block + 64 */
void *g_pastend[6];                /* p + n for blocks of exactly n bytes */
void *g_deep_box;                  /* a glibc block (RTLD_DEEPBIND library) holding a goalloc one */
__thread void *tls_keep;           /* static TLS of the executable */
static char *map_private, *map_sparse, *map_shared, *map_altstack;

#define SPARSE_SIZE (64u << 20)
#define SPARSE_OFF ((40u << 20) + 8)
#define ALTSTACK_MMAP_SIZE (64u << 10)

static void (*lib_set_global)(void *), (*lib_set_static)(void *), (*lib_set_tls)(void *);
static void *(*lib_get_static)(void), *(*lib_get_tls)(void);
static void *(*deep_box_new)(void *), *(*deep_box_held)(const void *);

static int ready_pipe[2], block_pipe[2];

static void ready(void)
{
	char c = 'r';
	while (write(ready_pipe[1], &c, 1) != 1)
		;
}

/* Block until the process exits: nobody ever writes to block_pipe. */
static void block_forever(void)
{
	char c;
	for (;;)
		if (read(block_pipe[0], &c, 1) == 0)
			pause();
}

GC_NOINLINE static void setup_globals(void)
{
	g_global = KALLOC(K_GLOBAL, keep_global);
	kept_add(K_GLOBAL, g_global, SIZE_MAX, NULL);
	s_static = KALLOC(K_STATIC, keep_static);
	kept_add(K_STATIC, s_static, SIZE_MAX, NULL);

	void *parent = KALLOC(K_HEAP_PARENT, keep_heap_parent);
	void *child = KALLOC(K_HEAP_CHILD, keep_heap_child);
	put_ptr(parent, 16, child);
	kept_add(K_HEAP_PARENT, parent, 16, child);
	kept_add(K_HEAP_CHILD, child, SIZE_MAX, NULL);
	g_heap_parent = parent;

	char *in = KALLOC(K_INTERIOR, keep_interior);
	kept_add(K_INTERIOR, in, SIZE_MAX, NULL);
	g_interior = in + 64;

#define PASTEND(i, k, fn)                                                                            \
	do {                                                                                         \
		char *p_ = KALLOC(k, fn);                                                            \
		kept_add(k, p_, SIZE_MAX, NULL);                                                     \
		g_pastend[i] = p_ + kept_size[k];                                                    \
	} while (0)
	PASTEND(0, K_PASTEND_16, keep_pastend_16);
	PASTEND(1, K_PASTEND_24, keep_pastend_24);
	PASTEND(2, K_PASTEND_100, keep_pastend_100);
	PASTEND(3, K_PASTEND_1024, keep_pastend_1024);
	PASTEND(4, K_PASTEND_4096, keep_pastend_4096);
	PASTEND(5, K_PASTEND_40000, keep_pastend_40000);
}

/* A block registered with goalloc_gc_ignore() whose pointer the program then drops: neither it nor
 * the block it points to may be reported. */
GC_NOINLINE static void setup_ignored(void)
{
	void *ign = KALLOC(K_IGNORED, keep_ignored);
	void *child = KALLOC(K_IGNORED_CHILD, keep_ignored_child);
	put_ptr(ign, 8, child);
	kept_add(K_IGNORED, ign, 8, child);
	kept_add(K_IGNORED_CHILD, child, SIZE_MAX, NULL);
	gc_check(gcapi.ignore(ign) == 0, "goalloc_gc_ignore() of a goalloc block returns 0");
	int local = 0;
	gc_check(gcapi.ignore(&local) == -1, "goalloc_gc_ignore() of a stack address returns -1");
}

static void *must_dlsym(void *h, const char *name)
{
	void *f = h ? dlsym(h, name) : NULL;
	if (!f) {
		gc_diag("dlsym %s: %s", name, dlerror());
		gc_skip("test libraries not usable");
	}
	return f;
}

GC_NOINLINE static void setup_libs(const char *libdir)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/lib_gc_root.so", libdir);
	void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!h)
		gc_diag("dlopen %s: %s", path, dlerror());
	gc_check(h != NULL, "dlopen lib_gc_root.so");
	lib_set_global = (void (*)(void *))must_dlsym(h, "lib_root_set_global");
	lib_set_static = (void (*)(void *))must_dlsym(h, "lib_root_set_static");
	lib_set_tls = (void (*)(void *))must_dlsym(h, "lib_root_set_tls");
	lib_get_static = (void *(*)(void))must_dlsym(h, "lib_root_get_static");
	lib_get_tls = (void *(*)(void))must_dlsym(h, "lib_root_get_tls");

	void *p = KALLOC(K_LIB_GLOBAL, keep_lib_global);
	kept_add(K_LIB_GLOBAL, p, SIZE_MAX, NULL);
	lib_set_global(p);
	p = KALLOC(K_LIB_STATIC, keep_lib_static);
	kept_add(K_LIB_STATIC, p, SIZE_MAX, NULL);
	lib_set_static(p);
	p = KALLOC(K_DTLS_MAIN, keep_dtls_main);
	kept_add(K_DTLS_MAIN, p, SIZE_MAX, NULL);
	lib_set_tls(p);
	gc_check(lib_get_tls() == p && lib_get_static() != NULL, "lib_gc_root.so holds its blocks");

	snprintf(path, sizeof path, "%s/lib_gc_deepbind.so", libdir);
	void *d = dlopen(path, RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND);
	if (!d)
		gc_diag("dlopen %s: %s", path, dlerror());
	gc_check(d != NULL, "dlopen lib_gc_deepbind.so with RTLD_DEEPBIND");
	deep_box_new = (void *(*)(void *))must_dlsym(d, "deep_box_new");
	deep_box_held = (void *(*)(const void *))must_dlsym(d, "deep_box_held");
	p = KALLOC(K_DEEPBIND, keep_deepbind);
	kept_add(K_DEEPBIND, p, SIZE_MAX, NULL);
	g_deep_box = deep_box_new(p);
	gc_check(g_deep_box && deep_box_held(g_deep_box) == p, "the RTLD_DEEPBIND library's box holds the block");
	/* The box must be glibc's, or the case tests nothing: goalloc_gc_ignore refuses what is not
	 * one of goalloc's blocks. */
	gc_check(g_deep_box && gcapi.ignore(g_deep_box) == -1,
		 "the RTLD_DEEPBIND library's box is glibc's block, not goalloc's (goalloc_gc_ignore says -1)");
}

GC_NOINLINE static void setup_mmaps(void)
{
	void *p;
	map_private = mmap(NULL, 64 << 10, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	map_sparse = mmap(NULL, SPARSE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
			  -1, 0);
	map_shared = mmap(NULL, 16 << 10, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (map_private == MAP_FAILED || map_sparse == MAP_FAILED || map_shared == MAP_FAILED)
		gc_skip("mmap failed: %s", strerror(errno));
	p = KALLOC(K_MMAP_PRIVATE, keep_mmap_private);
	kept_add(K_MMAP_PRIVATE, p, SIZE_MAX, NULL);
	put_ptr(map_private, 5 * 4096 + 40, p);
	/* one page 40 MiB into 64 MiB that were never touched: a page-presence filter must keep it */
	p = KALLOC(K_MMAP_SPARSE, keep_mmap_sparse);
	kept_add(K_MMAP_SPARSE, p, SIZE_MAX, NULL);
	put_ptr(map_sparse, SPARSE_OFF, p);
	p = KALLOC(K_MMAP_SHARED, keep_mmap_shared);
	kept_add(K_MMAP_SHARED, p, SIZE_MAX, NULL);
	put_ptr(map_shared, 256, p);
}

GC_NOINLINE static void setup_tls_main(void)
{
	tls_keep = KALLOC(K_TLS_MAIN, keep_tls_main);
	kept_add(K_TLS_MAIN, tls_keep, SIZE_MAX, NULL);
}

/* A malloc'd sigaltstack: the buffer is held by the kernel only, and holds (at +64, far from the
 * top where a signal frame would go) the only pointer to another block. */
GC_NOINLINE static int setup_malloc_altstack(void *(*alloc_buf)(size_t, unsigned), void *(*alloc_inner)(size_t, unsigned),
					     int kbuf, int kinner)
{
	char *buf = alloc_buf(kept_size[kbuf], (unsigned)kbuf + 1);
	void *inner = alloc_inner(kept_size[kinner], (unsigned)kinner + 1);
	put_ptr(buf, 64, inner);
	kept_add(kbuf, buf, 64, inner);
	kept[kbuf].pattern_from = 1024; /* below: checked; above: a signal frame may be there */
	kept_add(kinner, inner, SIZE_MAX, NULL);
	stack_t ss;
	memset(&ss, 0, sizeof ss);
	ss.ss_sp = buf;
	ss.ss_size = kept_size[kbuf];
	int r = sigaltstack(&ss, NULL);
	memset(&ss, 0, sizeof ss);
	return r;
}

/* ---- the helper threads ------------------------------------------------------------------------ */

/* Holds blocks in its stack, its static TLS, the library's dynamic TLS and an mmap'd altstack. */
static void *holder_main(void *arg)
{
	(void)arg;
	void *volatile on_stack = KALLOC(K_THREAD_STACK, keep_thread_stack);
	kept_add(K_THREAD_STACK, on_stack, SIZE_MAX, NULL);
	tls_keep = KALLOC(K_TLS_THREAD, keep_tls_thread);
	kept_add(K_TLS_THREAD, tls_keep, SIZE_MAX, NULL);
	void *d = KALLOC(K_DTLS_THREAD, keep_dtls_thread);
	kept_add(K_DTLS_THREAD, d, SIZE_MAX, NULL);
	lib_set_tls(d);
	d = NULL;
	map_altstack = mmap(NULL, ALTSTACK_MMAP_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (map_altstack != MAP_FAILED) {
		void *p = KALLOC(K_ALT_MMAP, keep_altstack_mmap);
		kept_add(K_ALT_MMAP, p, SIZE_MAX, NULL);
		put_ptr(map_altstack, 128, p);
		p = NULL;
		stack_t ss;
		memset(&ss, 0, sizeof ss);
		ss.ss_sp = map_altstack;
		ss.ss_size = ALTSTACK_MMAP_SIZE;
		if (sigaltstack(&ss, NULL))
			gc_diag("sigaltstack (mmap'd area): %s", strerror(errno));
	}
	gc_scrub_stack();
	ready();
	block_forever();
	return (void *)on_stack;
}

/* Registers a malloc'd altstack (the buffer is held by the kernel only) and blocks. */
static void *altstack_main(void *arg)
{
	(void)arg;
	if (setup_malloc_altstack(keep_altstack_buf_thread, keep_altstack_inner_thread, K_ALT_BUF_THREAD,
				  K_ALT_INNER_THREAD))
		gc_diag("sigaltstack (malloc'd buffer, thread): %s", strerror(errno));
	gc_scrub_stack();
	ready();
	block_forever();
	return NULL;
}

static char reg_sink;

/* Holds its two blocks in r12 and r15 only, while it sits in a raw read() system call: the only
 * copies anywhere are hidden (XOR-ed) until the asm below moves them into the registers, and the
 * stack below the frame has been scrubbed. It says it is ready from inside the asm. */
static void *register_main(void *arg)
{
	(void)arg;
	uint64_t x = GC_HIDE(KALLOC(K_REG_R12, keep_reg_r12));
	__asm__ volatile("" : "+r"(x));
	uint64_t y = GC_HIDE(KALLOC(K_REG_R15, keep_reg_r15));
	__asm__ volatile("" : "+r"(y));
	kept_add(K_REG_R12, GC_UNHIDE(x), SIZE_MAX, NULL);
	kept_add(K_REG_R15, GC_UNHIDE(y), SIZE_MAX, NULL);
	gc_scrub_stack();
	long wfd = ready_pipe[1], rfd = block_pipe[0];
	char *bufp = &reg_sink;
	uint64_t m = GC_MASK;
	__asm__ volatile("mov %[x], %%r12\n\t"
			 "xor %[m], %%r12\n\t"
			 "mov %[y], %%r15\n\t"
			 "xor %[m], %%r15\n\t"
			 "xor %[x], %[x]\n\t"
			 "xor %[y], %[y]\n\t"
			 "mov $1, %%eax\n\t" /* write(wfd, bufp, 1): ready */
			 "mov %[wfd], %%rdi\n\t"
			 "mov %[bufp], %%rsi\n\t"
			 "mov $1, %%edx\n\t"
			 "syscall\n"
			 "1:\n\t"
			 "xor %%eax, %%eax\n\t" /* read(rfd, bufp, 1), for ever */
			 "mov %[rfd], %%rdi\n\t"
			 "mov %[bufp], %%rsi\n\t"
			 "mov $1, %%edx\n\t"
			 "syscall\n\t"
			 "jmp 1b\n\t"
			 : [x] "+r"(x), [y] "+r"(y)
			 : [m] "r"(m), [wfd] "m"(wfd), [rfd] "m"(rfd), [bufp] "m"(bufp)
			 : "rax", "rdi", "rsi", "rdx", "rcx", "r11", "r12", "r15", "memory", "cc");
	__builtin_unreachable();
}

/* ---- the leaks ----------------------------------------------------------------------------------- */
void plant_leaks(void);
GC_NOINLINE void plant_leaks(void)
{
	plant_direct(100, 201);
	void *head = plant_pair_head(48, 202);
	put_ptr(head, 8, plant_pair_tail(48, 203));
	void *a = plant_cycle_a(72, 204);
	void *b = plant_cycle_b(88, 205);
	put_ptr(a, 8, b);
	put_ptr(b, 16, a);
	void *c1 = plant_chain_1(200, 206);
	void *c2 = plant_chain_2(210, 207);
	void *c3 = plant_chain_3(220, 208);
	put_ptr(c1, 24, c2);
	put_ptr(c2, 32, c3);
}

/* Every kept block still holds its pattern and its pointer: nothing held from a root was freed
 * (collect mode; GOALLOC_GC_VERIFY=1 poisons what it collects). */
static int verify_kept(void)
{
	int bad = 0;
	for (int k = 0; k < K_N; k++) {
		if (!kept[k].hid) {
			if (k != K_ALT_BUF_MAIN && k != K_ALT_INNER_MAIN && k != K_ALT_BUF_THREAD && k != K_ALT_INNER_THREAD) {
				gc_diag("%s: never set up", kept_fn[k]);
				bad++;
			}
			continue;
		}
		const unsigned char *p = GC_UNHIDE(kept[k].hid);
		size_t n = kept_size[k], lo = SIZE_MAX, hi = SIZE_MAX;
		if (kept[k].ptr_off != SIZE_MAX) {
			lo = kept[k].ptr_off;
			hi = lo + sizeof(void *);
			void *want = GC_UNHIDE(kept[k].ptr_hid), *got;
			memcpy(&got, p + lo, sizeof got);
			if (got != want) {
				gc_diag("%s: its pointer at +%zu changed", kept_fn[k], lo);
				bad++;
			}
		}
		if (kept[k].pattern_from >= 0)
			n = (size_t)kept[k].pattern_from;
		size_t off = gc_pattern_bad(p, n, (unsigned)k + 1, lo, hi);
		if (off) {
			gc_diag("%s: fill pattern overwritten at +%zu", kept_fn[k], off - 1);
			bad++;
		}
	}
	return bad == 0;
}

int main(int argc, char **argv)
{
	int plant = argc > 1 && !strcmp(argv[1], "plant");
	const char *libdir = argc > 2 ? argv[2] : ".";
	int twice = 0, heapalt = 0;
	for (int i = 3; i < argc; i++) {
		twice |= !strcmp(argv[i], "twice");
		heapalt |= !strcmp(argv[i], "heapalt");
	}

	gc_require_mode();
	gc_check_environ();
	printf("pid %d\n", (int)getpid());
	fflush(stdout);
	if (pipe(ready_pipe) || pipe(block_pipe))
		gc_skip("pipe: %s", strerror(errno));

	/* main's stack: main never returns, it calls exit() with this frame live */
	void *volatile on_main_stack = KALLOC(K_MAIN_STACK, keep_main_stack);
	kept_add(K_MAIN_STACK, on_main_stack, SIZE_MAX, NULL);

	setup_globals();
	setup_ignored();
	setup_libs(libdir);
	setup_mmaps();
	setup_tls_main();
	if (heapalt &&
	    setup_malloc_altstack(keep_altstack_buf_main, keep_altstack_inner_main, K_ALT_BUF_MAIN, K_ALT_INNER_MAIN))
		gc_diag("sigaltstack (malloc'd buffer, main): %s", strerror(errno));

	pthread_t t;
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	int started = 0;
	started += pthread_create(&t, &attr, holder_main, NULL) == 0;
	if (heapalt)
		started += pthread_create(&t, &attr, altstack_main, NULL) == 0;
	started += pthread_create(&t, &attr, register_main, NULL) == 0;
	for (int i = 0; i < started; i++) {
		char c;
		while (read(ready_pipe[0], &c, 1) != 1)
			;
	}
	gc_check(started == 2 + heapalt, "%d helper threads started and blocked", 2 + heapalt);

	if (plant)
		plant_leaks();
	gc_scrub_stack();

	struct goalloc_gc_stats before = gc_stats_now();
	int r = gcapi.gc();
	struct goalloc_gc_stats st = gc_stats_now();
	int want_objects = plant ? PLANTED_OBJECTS : 0;
	gc_check(r == 0, "goalloc_gc() completes a cycle (returned %d)", r);
	gc_check(st.cycles > before.cycles, "goalloc_gc_stats: cycles %llu -> %llu", (unsigned long long)before.cycles,
		 (unsigned long long)st.cycles);
	gc_check(st.unreachable_objects == (uint64_t)want_objects,
		 "after goalloc_gc(): unreachable_objects %llu, planted %d", (unsigned long long)st.unreachable_objects,
		 want_objects);
	if (gcapi.mode == GC_MODE_REPORT) {
		gc_check(st.unreachable_bytes == (uint64_t)(plant ? PLANTED_BYTES : 0),
			 "after goalloc_gc(): unreachable_bytes %llu (requested sizes), planted %d",
			 (unsigned long long)st.unreachable_bytes, plant ? PLANTED_BYTES : 0);
		gc_check(st.freed_objects == 0, "report mode frees nothing (freed_objects %llu)",
			 (unsigned long long)st.freed_objects);
	} else {
		gc_check(st.freed_objects - before.freed_objects == (uint64_t)want_objects,
			 "collect mode freed the planted blocks: freed_objects %llu -> %llu, planted %d",
			 (unsigned long long)before.freed_objects, (unsigned long long)st.freed_objects, want_objects);
	}
	gc_check(verify_kept(), "every block held from a root keeps its contents after the cycle");

	if (twice || gcapi.mode == GC_MODE_COLLECT) {
		gc_scrub_stack();
		before = st;
		r = gcapi.gc();
		st = gc_stats_now();
		int still = gcapi.mode == GC_MODE_REPORT ? want_objects : 0;
		gc_check(r == 0 && st.unreachable_objects == (uint64_t)still,
			 "second goalloc_gc(): returned %d, unreachable_objects %llu (want %d)", r,
			 (unsigned long long)st.unreachable_objects, still);
		if (gcapi.mode == GC_MODE_COLLECT)
			gc_check(st.freed_objects == before.freed_objects, "second cycle frees nothing more (%llu -> %llu)",
				 (unsigned long long)before.freed_objects, (unsigned long long)st.freed_objects);
		gc_check(verify_kept(), "every block held from a root keeps its contents after the second cycle");
	}

	gc_scrub_stack();
	printf("done %d\n", gc_nfailed);
	fflush(stdout);
	exit(0); /* the exit-time check runs with on_main_stack in this frame */
}
