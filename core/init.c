/* init.c — process start-up (lazy, from whichever entry point runs first: malloc is called long
 * before any constructor in some programs), fork handling and the report at exit. */
#include <fcntl.h>
#include <pthread.h>
#include <sys/auxv.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "check.h"
#include "fmt.h"
#include "ga.h"
#include "gcsite.h"
#include "init.h"
#include "lock.h"
#include "malloc_class.h"
#include "mcache.h"
#include "mcentral.h"
#include "mgc.h"
#include "mgcscavenge.h"
#include "mheap.h"
#include "options.h"
#include "stats.h"
#include "threads.h"

_Atomic int ga_inited;
static _Atomic long init_tid;

uint8_t ga_malloc_sc[GA_SMALL_SIZE_MAX + 1];
uint8_t ga_malloc_class[GA_SMALL_SIZE_MAX + 1];
uint8_t ga_aligned_sc[GA_SMALL_SIZE_MAX + 1];
uint8_t ga_malloc_sc_medium[(GA_MAX_SMALL_SIZE - GA_SMALL_SIZE_MAX) / 128 + 1];
size_t ga_large_fast_max = PTRDIFF_MAX;

/* C's alignment rule over Go's table: a block of n ≥ 9 bytes must be 16-aligned, so such a
 * request is looked up as round_up(n, 16) — class 24 never serves malloc. 0..8 bytes take class
 * 16 as well, not class 8: every block malloc returns is then 16-aligned, as glibc's are (code
 * that keeps tags in a pointer's low four bits works), and every class malloc serves carries the
 * double-free key, so free() takes no branch on the class. A program that frees blocks of mixed
 * sizes, half of them 8 bytes or less, mispredicted that branch at about every other free and ran
 * at a third of mimalloc's rate (docs/tuning.md). The cost is 8 bytes per such block; glibc
 * spends 32 on one. Above 1024 bytes every class is a multiple of 128 and Go's own table is used
 * as is. */
void gc_fill_malloc_classes(size_t pad, int all_slow);
void gc_fill_malloc_classes(size_t pad, int all_slow)
{
	for (unsigned n = 0; n <= GA_SMALL_SIZE_MAX; n++) {
		size_t m = (n ? n : 1) + pad; /* (the collector's padding: mgc.h) */
		unsigned c = m <= GA_SMALL_SIZE_MAX ? ga_size_to_class8[ga_align_up(m, 16) / 8]
						    : GA_SPANCLASS_SIZECLASS(ga_malloc_spanclass_medium(m));
		ga_malloc_class[n] = GA_SPANCLASS(c, 0);
		ga_malloc_sc[n] = all_slow ? 0 : GA_SPANCLASS(c, 0);
		ga_aligned_sc[n] = all_slow || pad ? 0 : GA_SPANCLASS(c, 0);
	}
	for (unsigned i = 0; i < sizeof ga_malloc_sc_medium; i++)
		ga_malloc_sc_medium[i] = all_slow || pad ? 0 : (uint8_t)(ga_size_to_class128[i] << 1);
	ga_large_fast_max = all_slow || pad ? 0 : PTRDIFF_MAX;
}

static void fill_malloc_classes(void)
{
	gc_fill_malloc_classes(0, 0);
}

uint8_t ga_aligned_class[GA_PAGE_SHIFT + 1][GA_NUM_SIZE_CLASSES];

uint64_t ga_slot_divides[GA_NUM_SPAN_CLASSES];

static void fill_class_checks(void)
{
	for (unsigned sc = 2; sc < GA_NUM_SPAN_CLASSES; sc++)
		ga_slot_divides[sc] = UINT64_MAX / ga_class_to_size[GA_SPANCLASS_SIZECLASS(sc)] + 1;
}

static void fill_aligned_classes(void)
{
	for (unsigned k = 0; k <= GA_PAGE_SHIFT; k++) {
		unsigned next = 0;
		for (unsigned c = GA_NUM_SIZE_CLASSES; c-- > 1;) {
			if ((ga_class_to_size[c] & ((1u << k) - 1)) == 0)
				next = c;
			ga_aligned_class[k][c] = (uint8_t)next;
		}
	}
}

static uint64_t random_key(void)
{
	uint64_t k = 0;
	const unsigned char *r = (const unsigned char *)getauxval(AT_RANDOM); /* 16 bytes from the kernel */
	if (r)
		for (int i = 0; i < 8; i++)
			k = k << 8 | r[i + 8];
	k ^= (uint64_t)(uintptr_t)&k * 0x9e3779b97f4a7c15ull;
	return k | 1; /* never 0: freshly handed-out blocks have 0 there */
}

/* The secret that mangles free-list links (core/track.h): from the kernel's random source, else
 * from AT_RANDOM mixed apart from the key above. Odd, so that the mask it makes of a block's
 * address keeps all of the secret's bits. */
static uint64_t random_link_key(void)
{
	uint64_t k = 0;
	if (syscall(SYS_getrandom, &k, sizeof k, 1 /* GRND_NONBLOCK */) != (long)sizeof k) {
		const unsigned char *r = (const unsigned char *)getauxval(AT_RANDOM);
		for (int i = 0; r && i < 16; i++)
			k = (k ^ r[i]) * 0x100000001b3ull;
		k ^= (uint64_t)(uintptr_t)&k;
		k ^= k >> 31;
		k *= 0xbf58476d1ce4e5b9ull;
		k ^= k >> 29;
	}
	return k | 1;
}

/* fork: every lock is taken in the rank order of lock.h (registry, orphan cache, mcentrals,
 * mheap, the collector's site arrays, the allocation sites' stack table), so that the child finds
 * no structure half-updated; then released (reset in the child, where their holders may not exist)
 * in the reverse order. */
void ga_lock_all(void)
{
#ifdef GA_DEBUG
	ga_witness_all_begin(); /* (the only place a thread holds several mcentral locks) */
#endif
	threads_fork_prepare();
	mcache_fork_prepare();
	mcentral_fork_prepare();
	mheap_fork_prepare();
	gc_fork_prepare();
	gcsite_fork_prepare();
#ifdef GA_DEBUG
	ga_witness_all_end();
#endif
}

void ga_unlock_all(void)
{
	gcsite_fork_parent();
	gc_fork_parent();
	mheap_fork_parent();
	mcentral_fork_parent();
	mcache_fork_parent();
	threads_fork_parent();
}

static void fork_child(void)
{
	gcsite_fork_child();
	gc_fork_child_locks();
	mheap_fork_child();
	mcentral_fork_child();
	mcache_fork_child();
	threads_fork_child();
	scavenge_fork_child();
	gc_fork_child();
}

void ga_init_slow(void)
{
	long me = syscall(SYS_gettid);
	int expected = 0;
	if (!atomic_compare_exchange_strong(&ga_inited, &expected, 1)) {
		if (atomic_load(&init_tid) == me)
			return; /* re-entered from our own start-up: the tables are already usable */
		while (atomic_load_explicit(&ga_inited, memory_order_acquire) != 2)
			sched_yield();
		return;
	}
	atomic_store(&init_tid, me);
	fill_malloc_classes();
	fill_aligned_classes();
	fill_class_checks();
	ga_free_key = random_key();
	ga_link_key = random_link_key();
	options_init(NULL);
	threads_init();
	/* Registered first, so our prepare runs last and our child handler first (glibc runs prepare
	 * handlers in reverse order): other handlers may still allocate around fork. */
	pthread_atfork(ga_lock_all, ga_unlock_all, fork_child);
	atomic_store_explicit(&ga_inited, 2, memory_order_release);
}

/* Where the exit report goes: a private copy of stderr taken at start-up, because some programs
 * close fd 2 before exiting (coreutils' close_stdout closes stderr too). Close-on-exec, so it does
 * not leak into programs this one executes. */
static int report_fd = -1;

static void open_report_fd(void)
{
	if (ga_option(GA_OPT_STATS) && report_fd < 0)
		report_fd = fcntl(2, F_DUPFD_CLOEXEC, 100);
}

/* glibc passes (argc, argv, envp) to initialisers. With -z initfirst this runs before libc has
 * set environ, so the options are read from envp here if start-up could not read them. */
__attribute__((constructor)) static void ga_constructor(int argc, char **argv, char **envp)
{
	(void)argc;
	(void)argv;
	ga_ensure_init();
	options_init(envp);
	open_report_fd();
	scavenge_init();
	gc_init();
}

/* GOALLOC_CHECK: the whole heap and the exiting thread's cache verified (check.h), reported
 * with the statistics. */
__attribute__((destructor)) static void ga_destructor(void)
{
	if (atomic_load(&ga_inited) != 2)
		return;
	gc_exit();
	if (ga_option(GA_OPT_CHECK))
		ga_check_heap();
	if (ga_option(GA_OPT_STATS)) {
		int fd = report_fd >= 0 ? report_fd : 2;
		stats_print(fd);
		if (ga_option(GA_OPT_CHECK))
			ga_dprintf(fd, "goalloc: heap check passed: %llu spans in use\n",
				   (unsigned long long)ga_check_spans_seen());
	}
}
