/* mgcscavenge.c — see mgcscavenge.h. */
#include "mgcscavenge.h"

#include <errno.h>
#include <time.h>
#include <unistd.h>

#include "fmt.h"
#include "mcentral.h"
#include "mgc.h"
#include "mheap.h"
#include "options.h"
#include "threads.h"

#define SCAV_QUANTUM ((size_t)64 << 10)      /* Go's scavenge quantum */
#define SCAV_BURST_QUANTUM ((size_t)1 << 20) /* per mheap lock hold in a burst */
#define SCAV_MIN_WORK_NS 1000000ull          /* Go's minScavWorkTime: work at least 1 ms... */
#define SCAV_SLEEP_RATIO 99                  /* ...then sleep 99 times as long: 1 % of one CPU */
#define SCAV_TICK_NS 100000000ull            /* idle: look again every 100 ms */
#define SCAV_WINDOW 3                        /* heapInUse samples, one a tick, the goal follows */
#define SCAV_TRIM_NS 1000000000ull           /* a pass over the mcentrals' empty spans every 1 s */

int ga_scav_armed;
_Atomic int ga_scav_pending;

static struct {
	struct ga_bg_thread thread;       /* the scavenger's thread */
	_Atomic uint64_t gc_goal;         /* the collector's heap goal, bytes (0: none) */
	_Atomic uint64_t released_bg, released_eager, spans_returned;
	uint64_t traced_bg;               /* released_bg at the last scav line (the thread's own) */
	int trace;
} scav;

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void sleep_ns(uint64_t ns)
{
	struct timespec ts = {(time_t)(ns / 1000000000u), (long)(ns % 1000000000u)};
	while (nanosleep(&ts, &ts) && errno == EINTR) /* (a ptrace stop) */
		;
}

void scavenge_init(void)
{
	scav.trace = (int)ga_option(GA_OPT_SCAVTRACE);
	ga_scav_armed = (int)ga_option(GA_OPT_SCAVENGE);
}

void scavenge_set_goal(uint64_t heap_goal_bytes)
{
	atomic_store_explicit(&scav.gc_goal, heap_goal_bytes, memory_order_relaxed);
}

void scavenge_count_span_returned(void)
{
	atomic_fetch_add_explicit(&scav.spans_returned, 1, memory_order_relaxed);
}

/* Go's scav line: bytes released in the background and eagerly since the last line, what is
 * released now (mapped heap not retained), and heapInUse as a share of retained. */
static void trace_line(uint64_t bg, uint64_t eager, int forced)
{
	uint64_t inuse, retained, mapped;
	mheap_scav_counts(&inuse, &retained, &mapped);
	ga_dprintf(gc_log_fd(), "scav %llu KiB work (bg), %llu KiB work (eager), %llu KiB now, %llu%% util%s\n",
		   (unsigned long long)(bg >> 10), (unsigned long long)(eager >> 10),
		   (unsigned long long)((mapped - retained) >> 10),
		   (unsigned long long)(retained ? inuse * 100 / retained : 100), forced ? " (forced)" : "");
}

static void trace_bg(void)
{
	uint64_t bg = atomic_load_explicit(&scav.released_bg, memory_order_relaxed);
	if (scav.trace && bg != scav.traced_bg) {
		trace_line(bg - scav.traced_bg, 0, 0);
		scav.traced_bg = bg;
	}
}

/* scavengeGoal: 1.1 × the collector's heap goal when it has set one, or the highest heapInUse
 * of the window if that is more (the heap may pass its goal before the cycle runs). */
static uint64_t scav_goal(const uint64_t *window)
{
	uint64_t g = atomic_load_explicit(&scav.gc_goal, memory_order_relaxed);
	for (unsigned i = 0; i < SCAV_WINDOW; i++)
		g = window[i] > g ? window[i] : g;
	return g + g / 10;
}

static void *bg_scavenge(void *arg)
{
	(void)arg;
	ga_bg_thread_started(&scav.thread);
	uint64_t window[SCAV_WINDOW] = {0};
	unsigned wi = 0;
	uint64_t last_tick = 0, last_trim = now_ns(), burst_released = 0;
	for (;;) {
		uint64_t t = now_ns(), inuse, retained, mapped;
		if (t - last_trim >= SCAV_TRIM_NS) {
			for (unsigned i = 0; i < GA_NUM_SPAN_CLASSES; i++)
				mcentral_trim_empty(&ga_central[i], 0);
			last_trim = t;
		}
		mheap_scav_counts(&inuse, &retained, &mapped);
		if (t - last_tick >= SCAV_TICK_NS) {
			window[wi++ % SCAV_WINDOW] = inuse;
			last_tick = t;
		}
		uint64_t goal = scav_goal(window);
		if (retained <= goal + SCAV_QUANTUM) {
			trace_bg();
			sleep_ns(SCAV_TICK_NS);
			continue;
		}
		/* A heap that has just lost most of what it used goes back at once (Go releases it
		 * within a GC cycle); otherwise paced to 1 % of one CPU. */
		int burst = retained > 2 * inuse;
		size_t released = 0, r;
		do {
			size_t want = burst ? SCAV_BURST_QUANTUM : SCAV_QUANTUM;
			if (want > retained - goal)
				want = (retained - goal + GA_PAGE_SIZE - 1) & ~(size_t)(GA_PAGE_SIZE - 1);
			r = mheap_scavenge(want);
			released += r;
			retained -= r;
		} while (r && retained > goal && (burst || now_ns() - t < SCAV_MIN_WORK_NS));
		atomic_fetch_add_explicit(&scav.released_bg, released, memory_order_relaxed);
		burst_released = burst ? burst_released + released : 0;
		if (burst && retained <= goal && burst_released >= SCAV_START_BYTES) {
			/* (the span records of a heap that lost that much are mostly free: their pages too) */
			mheap_release_metadata();
			burst_released = 0;
		}
		uint64_t worked = now_ns() - t;
		if (!r || retained <= goal) /* nothing more to release, or done */
			trace_bg();
		if (!r)
			sleep_ns(SCAV_TICK_NS);
		else if (!burst)
			sleep_ns(worked * SCAV_SLEEP_RATIO);
	}
	return NULL;
}

/* A background thread of goalloc's (threads.h): skipped by collections. */
void scavenge_start(void)
{
	if (!atomic_exchange_explicit(&ga_scav_pending, 0, memory_order_relaxed))
		return;
	ga_bg_thread_start(&scav.thread, bg_scavenge, 64 * 1024);
}

unsigned scavenge_stw_skip(pid_t *tid)
{
	return ga_bg_thread_skip(&scav.thread, tid);
}

size_t scavenge_all(void)
{
	for (unsigned i = 0; i < GA_NUM_SPAN_CLASSES; i++) {
		struct mcentral *c = &ga_central[i];
		if (atomic_load_explicit(&c->nbatches, memory_order_relaxed))
			mcentral_release_batches(c); /* (their blocks back to their spans, which may empty) */
		mcentral_trim_empty(c, 1);
	}
	size_t released = mheap_release_free();
	atomic_fetch_add_explicit(&scav.released_eager, released, memory_order_relaxed);
	size_t meta = mheap_release_metadata();
	if (scav.trace)
		trace_line(0, released, 1);
	return released + meta;
}

void scavenge_get_stats(struct scav_stats *out)
{
	out->released_bg = atomic_load_explicit(&scav.released_bg, memory_order_relaxed);
	out->released_eager = atomic_load_explicit(&scav.released_eager, memory_order_relaxed);
	out->spans_returned = atomic_load_explicit(&scav.spans_returned, memory_order_relaxed);
	out->running = scav.thread.pid && scav.thread.pid == getpid();
}

/* The thread is gone in the child: start another there the same way (the next free slow path),
 * the heap having shrunk already. */
void scavenge_fork_child(void)
{
	if (scav.thread.pid) {
		ga_bg_thread_forget(&scav.thread);
		atomic_store_explicit(&ga_scav_pending, 1, memory_order_relaxed);
	}
}
