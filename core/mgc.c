/* mgc.c — the collector's cycle, its triggers and pacer, and gctrace (Go: runtime/mgc.go,
 * mgcpacer.go, proc.go's forcegchelper). See mgc.h for the whole.
 *
 * A cycle: take the collector's lock (one cycle at a time), block this thread's signals (a
 * handler that allocates would wait for locks this thread holds), take every goalloc lock, stop
 * every other thread (stw.h), mark and list the garbage (mgcmark.c), let the world run, release
 * the locks, then report or free the garbage (mgcsweep.c) and set the next goal.
 *
 * Triggers, as Go's: the heap reaching its goal (mheap's span allocation sets ga_gc_wanted;
 * the thread that allocated runs the cycle at the end of its slow path, with no lock held, unless
 * one is under way); a forced cycle every GOALLOC_FORCEGC seconds from a background thread
 * (started at start-up in the GC modes with all signals blocked, and again in a forked child);
 * goalloc_gc(); and in report mode a last cycle at exit, after which no cycle starts.
 *
 * Pacer: live = bytes of the blocks marked (in report mode the unreachable blocks too: they are
 * kept); goal = live + (live + roots scanned) × GOGC/100 (Go's since 1.18, which counts stacks
 * and globals), at least 2 MiB × GOGC/100 (min_goal). The heap is measured as bytes
 * of in-use spans, which also holds free slots; the next cycle starts when it reaches the goal
 * or, if spans already hold more than that, when it has grown by live × GOGC/100 beyond what it
 * holds once the garbage is freed, so that a heap of half-empty spans does not collect back to
 * back.
 */
#include "mgc.h"
#include "mgcscavenge.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../preload/goalloc.h"
#include "fmt.h"
#include "gcsite.h"
#include "lock.h"
#include "mcache.h"
#include "options.h"
#include "os.h"
#include "stw.h"
#include "threads.h"

int ga_gc_mode;
size_t ga_size_pad;
size_t ga_realloc_slack;
_Atomic int ga_gc_wanted;
uint64_t ga_gc_trigger_pages = UINT64_MAX;
__thread const void *ga_gc_site __attribute__((tls_model("initial-exec")));

static ga_lock_t gc_lock = GA_LOCK_INIT(GA_RANK_COLLECTOR);
static __thread int in_cycle __attribute__((tls_model("initial-exec")));
/* The process has begun to exit (gc_exit): no cycle starts any more, but the exit check. */
static _Atomic int exiting;

static struct {
	uint64_t start_ns;     /* process start, for the trace's @T */
	uint64_t cycles, aborted;
	uint64_t cpu_ns;       /* spent in cycles */
	uint64_t heap_live, heap_goal;
	uint64_t unreachable_objects, unreachable_bytes;
	uint64_t freed_objects, freed_bytes;
	uint64_t pause_total_ns, pause_last_ns;
	uint64_t roots_bytes;
	uint64_t last_cycle_ns;
	int gogc;
	int ncpu;
	int log_fd;
	pid_t log_pid;
	struct ga_bg_thread bg; /* the background thread (forcegc) */
	pid_t pid;             /* this process (set at start-up and in a forked child) */
} gc = {.log_fd = -1};

uint64_t gc_nanotime(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t thread_cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- Output -------------------------------------------------------------------------------- */

int gc_log_fd(void)
{
	pid_t pid = getpid();
	if (gc.log_fd >= 0 && gc.log_pid == pid)
		return gc.log_fd;
	const char *path = ga_option_path(GA_OPT_LOG);
	int fd = -1;
	if (path) {
		char name[GA_OPT_PATH_MAX + 16];
		size_t k = 0;
		for (const char *s = path; *s && k + 12 < sizeof name; s++) {
			if (s[0] == '%' && s[1] == 'p') {
				k += ga_fmt(name + k, sizeof name - k, "%d", (int)pid);
				s++;
			} else {
				name[k++] = *s;
			}
		}
		name[k] = 0;
		fd = open(name, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (fd < 0)
			ga_warn("GOALLOC_LOG=%s cannot be opened (errno %d); writing to stderr", name, errno);
	}
	if (fd < 0 && gc.log_fd >= 0 && !path)
		fd = gc.log_fd; /* (the copy of stderr survives fork) */
	if (fd < 0)
		fd = fcntl(2, F_DUPFD_CLOEXEC, 100);
	if (fd < 0)
		fd = 2;
	gc.log_fd = fd;
	gc.log_pid = pid;
	return fd;
}

/* x/10^3 with three decimals, as Go prints milliseconds. */
static size_t fmt_milli(char *b, size_t cap, uint64_t micro)
{
	return ga_fmt(b, cap, "%llu.%03llu", (unsigned long long)(micro / 1000), (unsigned long long)(micro % 1000));
}

static void trace_cycle(const struct gc_cycle *cy, int forced, uint64_t t_start, uint64_t stop_ns, uint64_t mark_ns,
			uint64_t end_ns, uint64_t goal)
{
	char a[32], b[32], c[32], line[512];
	uint64_t since = t_start - gc.start_ns;
	uint64_t elapsed = gc_nanotime() - gc.start_ns;
	unsigned pct = elapsed ? (unsigned)(gc.cpu_ns * 100 / (elapsed * (uint64_t)gc.ncpu)) : 0;
	fmt_milli(a, sizeof a, stop_ns / 1000);
	fmt_milli(b, sizeof b, mark_ns / 1000);
	fmt_milli(c, sizeof c, end_ns / 1000);
	size_t n = ga_fmt(line, sizeof line,
			  "gc %llu @%llu.%03llus %u%%: %s+%s+%s ms clock, %s+0/%s/0+%s ms cpu, %llu->%llu->%llu MB, %llu MB "
			  "goal, %llu MB stacks, %llu MB globals, %d P%s",
			  (unsigned long long)gc.cycles, (unsigned long long)(since / 1000000000u),
			  (unsigned long long)(since / 1000000u % 1000), pct, a, b, c, a, b, c,
			  (unsigned long long)(cy->heap_bytes >> 20), (unsigned long long)(cy->heap_bytes >> 20),
			  (unsigned long long)(cy->marked_bytes >> 20), (unsigned long long)(goal >> 20),
			  (unsigned long long)(cy->stack_bytes >> 20), (unsigned long long)(cy->globals_bytes >> 20), gc.ncpu,
			  forced == 1 ? " (forced)" : "");
	n += ga_fmt(line + n, sizeof line - n, " (%s: %llu objects, %llu KB unreachable%s; roots %llu MB; %u threads stopped)\n",
		    ga_gc_mode == GC_REPORT ? "report" : "collect", (unsigned long long)(cy->ngarbage + cy->swept_objects),
		    (unsigned long long)((cy->garbage_bytes + cy->swept_bytes) >> 10), ga_gc_mode == GC_COLLECT ? ", freed" : "",
		    (unsigned long long)(cy->roots_bytes >> 20), cy->nthreads);
	ga_write_all(gc_log_fd(), line, n);
}

static void trace_abort(uint64_t n, const char *why)
{
	if (ga_option(GA_OPT_GCTRACE))
		ga_dprintf(gc_log_fd(), "gc %llu aborted: %s\n", (unsigned long long)n, why);
}

/* ---- The pacer ----------------------------------------------------------------------------- */

/* Go's heapMinimum, at half Go's default: 2 MiB × GOGC/100. The floor trades memory for cycles
 * on a small live heap: with Go's 4 MiB a program keeps up to 4 MiB of dead blocks resident (more
 * than bdwgc's whole heap in the leaky-server benchmark), with the 512 KiB of Go's
 * HeapMinimum512KiB experiment it collects so often that marking its live blocks and roots again
 * every time costs more than the memory saved (test/bench/gc/RESULTS.md). */
static uint64_t min_goal(void)
{
	return (uint64_t)2 * 1024 * 1024 * (uint64_t)gc.gogc / 100;
}

static void set_trigger(uint64_t bytes)
{
	gc.heap_goal = bytes;
	scavenge_set_goal(bytes == UINT64_MAX ? 0 : bytes);
	__atomic_store_n(&ga_gc_trigger_pages, bytes == UINT64_MAX ? UINT64_MAX : bytes >> GA_PAGE_SHIFT,
			 __ATOMIC_RELAXED);
}

static void pace(const struct gc_cycle *cy, uint64_t freed_class_bytes)
{
	uint64_t live = cy->marked_bytes + (ga_gc_mode == GC_REPORT ? cy->garbage_bytes : 0);
	gc.heap_live = live;
	if (gc.gogc < 0) {
		set_trigger(UINT64_MAX);
		return;
	}
	/* (Go ≥ 1.18: the roots scanned count as well, since a cycle's work is marking them too) */
	uint64_t goal = live + (live + cy->roots_bytes) / 100 * (uint64_t)gc.gogc;
	if (goal < min_goal())
		goal = min_goal();
	uint64_t held = cy->heap_bytes - (freed_class_bytes < cy->heap_bytes ? freed_class_bytes : cy->heap_bytes);
	uint64_t grown = held + live / 100 * (uint64_t)gc.gogc;
	set_trigger(goal > grown ? goal : grown);
}

/* ---- The cycle ----------------------------------------------------------------------------- */

static struct stw_world world;

/* How a cycle waits for gc_lock, held by another thread's cycle. */
enum {
	TAKE_WAIT, /* goalloc_gc(): for as long as it takes */
	TAKE_TRY,  /* a trigger, the background thread: not at all, the cycle under way serves */
	TAKE_EXIT, /* the exit: at most EXIT_WAIT_MS beyond the stop timeout */
};
#define EXIT_WAIT_MS 10000

/* Take gc_lock with every signal blocked (*old: the mask to restore); 0, or -1 if not taken. The
 * signals are blocked only once the lock is had, as ga_lock_nosignals does: a thread that waits
 * can take the stop signal of the cycle under way, and no signal handler can leave by longjmp a
 * cycle that holds the lock. Triggered cycles never wait: a thread that allocates may hold a lock
 * of the program's that the cycle under way needs (the dynamic loader's, which dlopen holds while
 * it allocates and the report's dladdr takes). */
static int take_gc_lock(int how, sigset_t *old)
{
	sigset_t all;
	sigfillset(&all);
	uint64_t limit = gc_nanotime() + ((uint64_t)ga_option(GA_OPT_GC_STOP_TIMEOUT) + EXIT_WAIT_MS) * 1000000u;
#ifdef GA_DEBUG
	ga_witness_acquire(&gc_lock);
#endif
	for (;;) {
		pthread_sigmask(SIG_BLOCK, &all, old);
		if (pthread_mutex_trylock(&gc_lock.m) == 0)
			break;
		pthread_sigmask(SIG_SETMASK, old, NULL);
		if (how == TAKE_TRY)
			return -1;
		if (how == TAKE_EXIT) {
			struct timespec ts = {(time_t)(limit / 1000000000u), (long)(limit % 1000000000u)};
			if (pthread_mutex_clocklock(&gc_lock.m, CLOCK_MONOTONIC, &ts) != 0)
				return -1;
		} else {
			pthread_mutex_lock(&gc_lock.m);
		}
		pthread_mutex_unlock(&gc_lock.m);
	}
#ifdef GA_DEBUG
	ga_witness_acquired(&gc_lock);
#endif
	return 0;
}

GA_NOINLINE static int gc_cycle(int forced, int at_exit)
{
	if (ga_gc_mode == GC_OFF)
		return -1;
	/* A vfork child (or posix_spawn's) shares the parent's memory but not its threads: it must
	 * never collect. fork's child handler sets gc.pid; vfork runs no handler. */
	if (getpid() != gc.pid)
		return -1;
	/* Once the process exits, only the exit check runs: a cycle under way when it calls exit_group
	 * would die half way, its tracer task with it. */
	if (!at_exit && atomic_load_explicit(&exiting, memory_order_acquire))
		return -1;
	/* One cycle at a time (take_gc_lock). While this thread waits, a handler that runs and
	 * allocates sees in_cycle and leaves the collector alone. Once it holds the lock its signals
	 * stay blocked until the lock is released: a handler that allocated would wait for the locks
	 * this thread is about to hold, and one that left by longjmp would leave gc_lock held. */
	in_cycle = 1;
	sigset_t old;
	if (take_gc_lock(at_exit ? TAKE_EXIT : forced == 1 ? TAKE_WAIT : TAKE_TRY, &old) != 0) {
		in_cycle = 0;
		if (at_exit)
			ga_dprintf(gc_log_fd(), "==%d==goalloc: leak check incomplete: the collection under way on "
				   "another thread did not end within %lld ms\n", (int)getpid(),
				   ga_option(GA_OPT_GC_STOP_TIMEOUT) + EXIT_WAIT_MS);
		if (at_exit)
			gc_sweep(NULL, 1);
		return -1;
	}
	if (!at_exit && atomic_load_explicit(&exiting, memory_order_acquire)) {
		ga_unlock_nosignals(&gc_lock, &old);
		in_cycle = 0;
		return -1;
	}
	atomic_store_explicit(&ga_gc_wanted, 0, memory_order_relaxed);
	uint64_t t0 = gc_nanotime(), c0 = thread_cpu_ns();
	struct gc_cycle cy;
	memset(&cy, 0, sizeof cy);
	pid_t skip[2];
	unsigned nskip = 0;
	nskip += ga_bg_thread_skip(&gc.bg, &skip[nskip]);
	nskip += scavenge_stw_skip(&skip[nskip]); /* (it holds nothing but under the locks taken here) */
	ga_lock_all();
	__builtin_unwind_init(); /* (the callee-saved registers of the frames above go to the stack) */
	int r = stw_stop(&world, skip, nskip);
	uint64_t t1 = gc_nanotime();
	if (r == 0) {
		r = gc_mark(&cy, &world, 0);
		stw_start(&world);
	}
	uint64_t t2 = gc_nanotime();
	ga_unlock_all();
	uint64_t t3 = gc_nanotime();
	if (r) {
		/* (cy.why: the roots could not be read; world.why: a thread could not be stopped) */
		const char *why = cy.why[0] ? cy.why : world.why[0] ? world.why : "unknown";
		gc.aborted++;
		trace_abort(gc.cycles + 1, why);
		if (at_exit) {
			ga_dprintf(gc_log_fd(), "==%d==goalloc: leak check incomplete: %s\n", (int)getpid(), why);
			gc_sweep(NULL, 1);
		}
		ga_unlock_nosignals(&gc_lock, &old);
		in_cycle = 0;
		gc_garbage_give(cy.garbage, cy.garbage_cap);
		return -1;
	}
	gc.cycles++;
	gc.pause_last_ns = t3 - t0;
	gc.pause_total_ns += t3 - t0;
	gc.roots_bytes = cy.roots_bytes;
	gc.unreachable_objects = cy.ngarbage + cy.swept_objects;
	gc.unreachable_bytes = cy.garbage_bytes + cy.swept_bytes;
	uint64_t freed_before = gc.freed_bytes;
	gc_sweep(&cy, at_exit);
	uint64_t freed_class_bytes = gc.freed_bytes - freed_before;
	pace(&cy, freed_class_bytes);
	gc.cpu_ns += thread_cpu_ns() - c0;
	gc.last_cycle_ns = gc_nanotime();
	if (ga_option(GA_OPT_GCTRACE))
		trace_cycle(&cy, forced, t0, t1 - t0, t2 - t1, t3 - t2, gc.heap_goal);
	ga_unlock_nosignals(&gc_lock, &old);
	in_cycle = 0;
	return 0;
}

/* Called by mgcsweep.c as it frees. */
void gc_count_freed(uint64_t objects, uint64_t bytes);
void gc_count_freed(uint64_t objects, uint64_t bytes)
{
	gc.freed_objects += objects;
	gc.freed_bytes += bytes;
}

void gc_poll_slow(void *keep)
{
	void *volatile held = keep; /* (on this frame's stack while the cycle reads it) */
	if (in_cycle || ga_gc_mode == GC_OFF || ga_mcache.busy || ga_mcache.state != MCACHE_LIVE)
		return;
	if (!atomic_exchange_explicit(&ga_gc_wanted, 0, memory_order_relaxed))
		return;
	gc_cycle(0, 0);
	(void)held;
}

int gc_run_now(void)
{
	if (ga_gc_mode == GC_OFF || in_cycle)
		return -1;
	return gc_cycle(1, 0);
}

void gc_get_stats(struct goalloc_gc_stats *out)
{
	memset(out, 0, sizeof *out);
	out->mode = ga_gc_mode;
	out->cycles = gc.cycles;
	out->aborted = gc.aborted;
	out->heap_live = gc.heap_live;
	out->heap_goal = gc.heap_goal;
	out->unreachable_objects = gc.unreachable_objects;
	out->unreachable_bytes = gc.unreachable_bytes;
	out->freed_objects = gc.freed_objects;
	out->freed_bytes = gc.freed_bytes;
	out->pause_total_ns = gc.pause_total_ns;
	out->pause_last_ns = gc.pause_last_ns;
	out->roots_bytes = gc.roots_bytes;
}

/* ---- The background thread (Go: forcegchelper) -------------------------------------------- */

static void *bg_main(void *arg)
{
	(void)arg;
	ga_bg_thread_started(&gc.bg);
	long period = (long)ga_option(GA_OPT_FORCEGC);
	for (;;) {
		struct timespec ts = {period, 0};
		while (nanosleep(&ts, &ts) && errno == EINTR)
			;
		if (gc_nanotime() - gc.last_cycle_ns >= (uint64_t)period * 1000000000u)
			gc_cycle(2, 0);
	}
	return NULL;
}

/* The thread skipped by cycles (gc_cycle), as every background thread of goalloc's is. */
static void start_bg(void)
{
	if (ga_option(GA_OPT_FORCEGC) <= 0)
		return;
	ga_bg_thread_start(&gc.bg, bg_main, 256 * 1024);
}

/* ---- Start-up, fork, exit ----------------------------------------------------------------- */

/* Is this process running under valgrind? Its preloads are in LD_PRELOAD. */
static int under_valgrind(void)
{
	extern char **environ;
	for (char **e = environ; e && *e; e++)
		if (!strncmp(*e, "LD_PRELOAD=", 11) && strstr(*e, "vgpreload"))
			return 1;
	return 0;
}

#ifndef __has_feature
#define __has_feature(x) 0
#endif

static int exit_checked;

/* The process exits: from now on no cycle starts but report mode's exit check, and the cycle
 * another thread runs is waited for (at most EXIT_WAIT_MS beyond the stop timeout), so that
 * exit_group never ends one half way. (A process that dies otherwise takes its cycle's tracer
 * with it: stw.c.) */
void gc_exit(void)
{
	if (ga_gc_mode == GC_OFF || in_cycle || getpid() != gc.pid)
		return;
	atomic_store_explicit(&exiting, 1, memory_order_release);
	if (ga_gc_mode == GC_REPORT && !exit_checked) {
		exit_checked = 1;
		gc_cycle(0, 1);
		return;
	}
	sigset_t old;
	if (take_gc_lock(TAKE_EXIT, &old) == 0)
		ga_unlock_nosignals(&gc_lock, &old);
}

/* The exit runs from an atexit handler, as LeakSanitizer's leak check does: after the program's
 * own exit handlers and C++ static destructors, before the dynamic loader's teardown (whose large
 * frames would hold stale words of the heap where the check reads the stack). init.c's destructor
 * is the fallback, for a process that never gets here. */
static void exit_handler(void)
{
	gc_exit();
}

void gc_fill_malloc_classes(size_t pad, int all_slow);

void gc_init(void)
{
	long long m = ga_option(GA_OPT_GC);
	int mode = m == 3 ? (ga_option(GA_OPT_GCTRACE) ? GC_REPORT : GC_OFF) : (int)m;
	if (mode == GC_OFF)
		return;
#if defined(__SANITIZE_THREAD__) || __has_feature(thread_sanitizer) || defined(GOALLOC_VALGRIND)
	ga_warn("GOALLOC_GC=%s refused: the collector does not run under ThreadSanitizer or valgrind", m == 2 ? "collect" : "report");
	return;
#endif
	if (under_valgrind()) {
		ga_warn("GOALLOC_GC=%s refused: the collector does not run under valgrind", m == 2 ? "collect" : "report");
		return;
	}
	gc.start_ns = gc_nanotime();
	gc.pid = getpid();
	gc.gogc = (int)ga_option(GA_OPT_GOGC);
	cpu_set_t cs;
	gc.ncpu = sched_getaffinity(0, sizeof cs, &cs) == 0 ? CPU_COUNT(&cs) : 1;
	if (gc.ncpu < 1)
		gc.ncpu = 1;
	if (stw_init() != 0) {
		ga_warn("GOALLOC_GC refused: no way to stop threads");
		return;
	}
	gc_log_fd();
	if (mode == GC_REPORT)
		gcsite_init();
	ga_size_pad = 1;
	ga_realloc_slack = mode == GC_REPORT ? (size_t)1 << 40 : 1;
	gc_fill_malloc_classes(1, mode == GC_REPORT);
	ga_gc_mode = mode;
	gc.last_cycle_ns = gc_nanotime();
	set_trigger(gc.gogc < 0 ? UINT64_MAX : min_goal());
	start_bg();
	atexit(exit_handler);
}

void gc_fork_child(void)
{
	if (ga_gc_mode == GC_OFF)
		return;
	ga_lock_reinit(&gc_lock);
	in_cycle = 0;
	gc.pid = getpid();
	stw_fork_child();
	ga_bg_thread_forget(&gc.bg);
	start_bg();
}

