/* t_scavenge — the scavenger (core/mgcscavenge.c) and malloc_trim give pages back.
 *
 * Each scenario runs in a child that executes this program again with its own GOALLOC_*
 * variables (options are read at start) and prints key=value lines; the parent checks them.
 * Residency is asked of the kernel page by page (mincore) for one page of every 64 KiB between the
 * lowest and highest freed block, so other memory of the process (and valgrind's) does not count. Waits are
 * generous (up to 30 s, polled): the machine may be slow and loaded; nothing is timed tightly.
 *
 *   returns   160 MiB of 16-256 byte blocks freed: the scavenger's thread starts (the heap shrank
 *             64 MiB) and the sampled pages stop being resident
 *   off       the same with GOALLOC_SCAVENGE=0: no thread, the pages stay resident
 *   small     a program whose heap never shrinks 64 MiB gets no thread
 *   trim      malloc_trim(0) after freeing 48 MiB returns 1 and leaves the pages non-resident
 *   churn     with the thread running, a class that empties and refills in a loop for 2.5 s keeps
 *             its spans (few empty spans go back to the page heap); idle afterwards, they go back
 *   trace     GOALLOC_SCAVTRACE=1 prints Go's scav line, for the background work and (forced) for
 *             malloc_trim
 *   fork      a child forked after the thread started has none, starts its own on its next frees,
 *             and its freed pages go back; vfork and exec while the scavenger works
 *   gc        with the collector in signal mode, goalloc_gc() completes beside the scavenger's
 *             thread (which blocks every signal: the collector must skip it)
 * Under valgrind only the trim scenario runs, in this process. Skipped when goalloc is not
 * preloaded. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <malloc.h>
#include <regex.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tap.h"
#include "api_util.h"

/* ---- In the child ---------------------------------------------------------------------------- */

static uintptr_t lo = UINTPTR_MAX, hi; /* the lowest and highest block grow() handed out */
static size_t grow_cap; /* entries of grow's array */

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void nap_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* Blocks of 16-256 bytes, `mib` MiB of them, written; their count in *count. */
static void **grow(size_t mib, size_t *count)
{
	size_t total = mib << 20, cap = total / 16 + 1, n = 0, bytes = 0;
	void **b = mmap(NULL, cap * sizeof *b, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (b == MAP_FAILED)
		exit(3);
	uint64_t x = 0x9E3779B97F4A7C15ull;
	while (bytes < total) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		size_t sz = 16 + x % 241;
		char *p = malloc(sz);
		if (!p)
			exit(3);
		memset(p, 0x5a, sz);
		lo = (uintptr_t)p < lo ? (uintptr_t)p : lo;
		hi = (uintptr_t)p > hi ? (uintptr_t)p : hi;
		b[n++] = p;
		bytes += sz;
	}
	*count = n;
	grow_cap = cap;
	return b;
}

static void shrink(void **b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(b[i]);
	munmap(b, grow_cap * sizeof *b);
}

/* Percent of the sampled pages (one every 64 KiB from lo to hi) resident now. */
static unsigned resident_pct(void)
{
	unsigned res = 0, n = 0;
	for (uintptr_t p = lo & ~(uintptr_t)4095; p <= hi; p += 64 << 10, n++) {
		unsigned char v = 0;
		if (mincore((void *)p, 4096, &v) == 0 && (v & 1))
			res++;
	}
	return n ? res * 100 / n : 0;
}

/* Wait (up to `secs`) for at most pct percent of the sampled pages to be resident; returns the
 * last figure. */
static unsigned wait_resident_below(unsigned pct, double secs)
{
	double t0 = now_s();
	unsigned r;
	while ((r = resident_pct()) > pct && now_s() - t0 < secs)
		nap_ms(50);
	return r;
}

/* A figure from goalloc_print_stats' scavenger line ("N empty spans returned"). */
static long spans_returned(void)
{
	void (*print)(int) = (void (*)(int))dlsym(RTLD_DEFAULT, "goalloc_print_stats");
	int fds[2];
	if (!print || pipe(fds))
		return -1;
	/* (the report is a few KiB: it fits the pipe) */
	print(fds[1]);
	close(fds[1]);
	static char buf[1 << 16];
	ssize_t k, len = 0;
	while ((k = read(fds[0], buf + len, sizeof buf - 1 - (size_t)len)) > 0)
		len += k;
	close(fds[0]);
	buf[len > 0 ? len : 0] = 0;
	const char *s = strstr(buf, "KiB by malloc_trim, ");
	return s ? strtol(s + strlen("KiB by malloc_trim, "), NULL, 10) : -1;
}

/* Free 96 MiB of large blocks: the heap shrinks 64 MiB, so the scavenger's thread starts. */
static void start_thread_by_shrinking(void)
{
	enum { N = 96 };
	void *big[N];
	for (int i = 0; i < N; i++) {
		big[i] = malloc(1 << 20);
		memset(big[i], 1, 1 << 20);
	}
	for (int i = 0; i < N; i++)
		free(big[i]);
	/* (large blocks reach the page heap once the thread's cache of them is full) */
	void *p = malloc(64);
	free(p);
}

static int child(const char *what)
{
	size_t n;
	if (!strcmp(what, "returns") || !strcmp(what, "off")) {
		void **b = grow(160, &n);
		printf("before=%u\n", resident_pct());
		printf("threads_before=%u\n", threads_now());
		shrink(b, n);
		unsigned r = wait_resident_below(20, !strcmp(what, "off") ? 1.5 : 30);
		printf("after=%u\nthreads_after=%u\n", r, threads_now());
	} else if (!strcmp(what, "small")) {
		for (int round = 0; round < 4; round++) {
			void **b = grow(32, &n);
			shrink(b, n);
		}
		nap_ms(200);
		printf("threads_after=%u\n", threads_now());
	} else if (!strcmp(what, "trim")) {
		void **b = grow(48, &n);
		printf("before=%u\n", resident_pct());
		shrink(b, n);
		int r = malloc_trim(0);
		printf("trim_ret=%d\nafter=%u\n", r, resident_pct());
	} else if (!strcmp(what, "churn")) {
		start_thread_by_shrinking();
		printf("threads_started=%u\n", threads_now());
		/* 2 MiB of 2048-byte blocks a round (256 spans of 8 KiB, 4 blocks each): more than the
		 * thread's list and the class's transfer cache hold, so most spans empty every round */
		enum { BLOCKS = 1024 };
		static void *b[BLOCKS];
		long r0 = 0;
		double t0 = now_s();
		unsigned rounds = 0;
		while (now_s() - t0 < 2.5) {
			for (int i = 0; i < BLOCKS; i++)
				b[i] = malloc(2048);
			for (int i = 0; i < BLOCKS; i++)
				free(b[i]);
			if (++rounds == 3) /* (the first rounds teach the class how many it needs) */
				r0 = spans_returned();
			nap_ms(1);
		}
		long r1 = spans_returned();
		nap_ms(3000);
		long r2 = spans_returned();
		printf("rounds=%u\nreturned_churn=%ld\nreturned_idle=%ld\n", rounds, r1 - r0, r2 - r1);
	} else if (!strcmp(what, "trace")) {
		void **b = grow(160, &n);
		shrink(b, n);
		wait_resident_below(20, 30);
		nap_ms(300);
		malloc_trim(0);
	} else if (!strcmp(what, "fork")) {
		start_thread_by_shrinking();
		printf("parent_threads=%u\n", threads_now());
		fflush(stdout);
		pid_t pid = fork();
		if (pid == 0) {
			printf("child_threads_at_fork=%u\n", threads_now());
			void **b = grow(96, &n);
			shrink(b, n);
			unsigned r = wait_resident_below(20, 30);
			printf("child_threads_after=%u\nchild_after=%u\n", threads_now(), r);
			fflush(stdout);
			_exit(0);
		}
		int st;
		waitpid(pid, &st, 0);
		printf("child_status=%d\n", WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
		/* vfork shares the heap with the parent: the child must run and exec as under glibc */
		void **b = grow(80, &n);
		shrink(b, n);
		pid = vfork();
		if (pid == 0) {
			execl("/bin/true", "true", (char *)NULL);
			_exit(127);
		}
		waitpid(pid, &st, 0);
		printf("vfork_status=%d\n", WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
	} else if (!strcmp(what, "gc")) {
		start_thread_by_shrinking();
		printf("threads=%u\n", threads_now());
		int (*gc)(void) = (int (*)(void))dlsym(RTLD_DEFAULT, "goalloc_gc");
		printf("gc_ret=%d\n", gc ? gc() : -2);
	}
	fflush(stdout);
	return 0;
}

/* ---- In the parent --------------------------------------------------------------------------- */

static char out[1 << 16], err[1 << 16];

static ssize_t read_all(int fd, char *buf, size_t cap)
{
	ssize_t len = 0, k;
	while ((k = read(fd, buf + len, cap - 1 - (size_t)len)) > 0 || (k < 0 && errno == EINTR))
		if (k > 0)
			len += k;
	buf[len] = 0;
	return len;
}

/* Run scenario `what` with the extra variables env (NULL-terminated); its stdout in out, its
 * stderr in err. Returns its exit status. */
static int run(const char *what, const char *const *env)
{
	int po[2], pe[2];
	if (pipe(po) || pipe(pe))
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		dup2(po[1], 1);
		dup2(pe[1], 2);
		close(po[0]);
		close(pe[0]);
		for (const char *const *e = env; *e; e++)
			putenv((char *)*e);
		execl("/proc/self/exe", "t_scavenge", what, (char *)NULL);
		_exit(127);
	}
	close(po[1]);
	close(pe[1]);
	/* (stdout is small; read stderr first only if it may fill its pipe: trace lines are few) */
	read_all(po[0], out, sizeof out);
	read_all(pe[0], err, sizeof err);
	close(po[0]);
	close(pe[0]);
	int st;
	waitpid(pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static long val(const char *key)
{
	char k[64];
	snprintf(k, sizeof k, "%s=", key);
	for (const char *s = out; (s = strstr(s, k)); s++)
		if (s == out || s[-1] == '\n')
			return strtol(s + strlen(k), NULL, 10);
	return -1;
}

static int line_matches(const char *re_src, const char *text)
{
	regex_t re;
	if (regcomp(&re, re_src, REG_EXTENDED | REG_NEWLINE | REG_NOSUB))
		return 0;
	int m = regexec(&re, text, 0, NULL, 0) == 0;
	regfree(&re);
	return m;
}

int main(int argc, char **argv)
{
	if (argc > 1)
		return child(argv[1]);
	if (!under_goalloc())
		skip_all("goalloc is not preloaded");
	if (under_valgrind()) {
		size_t n;
		void **b = grow(24, &n);
		unsigned before = resident_pct();
		shrink(b, n);
		int r = malloc_trim(0);
		unsigned after = resident_pct();
		ok(r == 1 && before >= 90 && after <= 10, "valgrind: malloc_trim(0) = %d; %u%% -> %u%% of the pages resident",
		   r, before, after);
		return done_testing();
	}
	static const char *const none[] = {NULL};
	static const char *const off[] = {"GOALLOC_SCAVENGE=0", NULL};
	static const char *const trace[] = {"GOALLOC_SCAVTRACE=1", NULL};
	static const char *const bad[] = {"GOALLOC_SCAVENGE=maybe", NULL};
	static const char *const gc[] = {"GOALLOC_GC=report", "GOALLOC_GC_STOP=signal", NULL};

	int st = run("returns", none);
	ok(st == 0 && val("before") >= 90 && val("after") <= 20,
	   "returns: 160 MiB freed, sampled pages resident %ld%% -> %ld%% (at most 20%% within 30 s)", val("before"),
	   val("after"));
	ok(val("threads_before") == 1 && val("threads_after") == 2, "returns: the scavenger's thread started (%ld -> %ld threads)",
	   val("threads_before"), val("threads_after"));

	st = run("off", off);
	ok(st == 0 && val("after") >= 90, "GOALLOC_SCAVENGE=0: pages stay resident (%ld%% after 1.5 s)", val("after"));
	ok(val("threads_after") == 1, "GOALLOC_SCAVENGE=0: no thread (%ld)", val("threads_after"));

	st = run("small", none);
	ok(st == 0 && val("threads_after") == 1, "a heap that never shrinks 64 MiB gets no thread (%ld)", val("threads_after"));

	st = run("trim", off);
	ok(st == 0 && val("trim_ret") == 1 && val("before") >= 90 && val("after") <= 5,
	   "malloc_trim(0) = %ld: sampled pages resident %ld%% -> %ld%% at once", val("trim_ret"), val("before"),
	   val("after"));

	st = run("churn", none);
	ok(st == 0 && val("threads_started") == 2, "churn: the thread runs (%ld threads)", val("threads_started"));
	ok(val("rounds") > 10 && val("returned_churn") >= 0 && val("returned_churn") <= 64,
	   "churn: %ld rounds of 256 spans emptied and refilled in 2.5 s gave back %ld empty spans after the third",
	   val("rounds"), val("returned_churn"));
	ok(val("returned_idle") >= 64, "churn: once idle, the empty spans go back (%ld)", val("returned_idle"));

	st = run("trace", trace);
	const char *bg = "^scav [0-9]+ KiB work \\(bg\\), 0 KiB work \\(eager\\), [0-9]+ KiB now, [0-9]+% util$";
	const char *forced = "^scav 0 KiB work \\(bg\\), [0-9]+ KiB work \\(eager\\), [0-9]+ KiB now, [0-9]+% util \\(forced\\)$";
	ok(st == 0 && line_matches(bg, err), "GOALLOC_SCAVTRACE=1: Go's scav line for the background work");
	ok(line_matches(forced, err), "GOALLOC_SCAVTRACE=1: Go's scav line, (forced), for malloc_trim");
	if (!line_matches(bg, err) || !line_matches(forced, err))
		diag("stderr: %.2000s", err);

	st = run("fork", none);
	ok(st == 0 && val("parent_threads") == 2 && val("child_threads_at_fork") == 1,
	   "fork: the parent's thread runs (%ld threads), the child starts with none (%ld)", val("parent_threads"),
	   val("child_threads_at_fork"));
	ok(val("child_threads_after") == 2 && val("child_after") <= 20 && val("child_status") == 0,
	   "fork: the child starts its own on its frees (%ld threads) and its pages go back (%ld%% resident)",
	   val("child_threads_after"), val("child_after"));
	ok(val("vfork_status") == 0, "vfork: the child execs while the scavenger works (status %ld)", val("vfork_status"));

	st = run("small", bad);
	ok(st == 0 && strstr(err, "GOALLOC_SCAVENGE") && val("threads_after") == 1,
	   "GOALLOC_SCAVENGE=maybe: a warning, and the default");

	st = run("gc", gc);
	ok(st == 0 && val("threads") >= 3 && val("gc_ret") == 0,
	   "collector in signal mode: goalloc_gc() = %ld beside the scavenger (%ld threads)", val("gc_ret"), val("threads"));
	if (val("gc_ret") != 0)
		diag("stderr: %.2000s", err);
	return done_testing();
}
