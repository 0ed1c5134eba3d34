/* t_faults — every mmap, mremap and madvise goalloc makes during a workload refused in turn.
 *
 * Run as `t_faults LIB` (test/faults/t_faults.sh), with LIB goalloc's fault-injection flavour
 * (-DGA_FAULT_INJECT, core/os.c). The driver runs the workload (this program, `t_faults LIB
 * --child`) under LIB once per kind of call to count the calls it makes (GOALLOC_FAULT_REPORT=1),
 * then once for every N of them: with GOALLOC_FAULT_AT=N only the Nth call failing (single), and
 * with GOALLOC_FAULT_COUNT=0 every call from the Nth on (sticky). Each run must:
 *   - see every refused allocation as NULL with errno ENOMEM, never a crash nor a block with
 *     wrong contents (calloc blocks read as zero, every block keeps what was written into it);
 *   - keep the old block of a refused realloc intact;
 *   - survive refused madvise and mremap calls without a single NULL (pages stay resident; moves
 *     become copies), and a single refused mmap with at most one NULL;
 *   - free everything and exit 0 (with GOALLOC_CHECK=1, the heap checked where goalloc can);
 *   - report that the fault was injected (a sweep that injects nothing proves nothing).
 * The workload is single-threaded and deterministic, so call N is the same call in every run:
 * it runs with GOALLOC_SCAVENGE=0, since the scavenger's thread (which its large frees would
 * start) makes its madvise calls when its clock says, not when the workload does.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tap.h"
#include "api_util.h"

#define KiB ((size_t)1 << 10)
#define MiB ((size_t)1 << 20)

/* ---- The workload (child) ---------------------------------------------------------------- */

static int nulls, bad;

static void complain(const char *what, size_t n)
{
	char buf[160];
	int len = snprintf(buf, sizeof buf, "child: BAD %s (%zu)\n", what, n);
	if (write(1, buf, (size_t)len) < 0)
		_exit(3);
	bad++;
}

/* A result of an allocating call: NULL must come with ENOMEM. */
static void *got(void *p, int err, const char *what, size_t n)
{
	if (!p) {
		nulls++;
		if (err != ENOMEM)
			complain(what, n);
	}
	return p;
}

/* Contents: one byte per 64 KiB (and the last), derived from the block's tag, so that a 70 MiB
 * block costs few page faults. */
#define STRIDE 65536
static void fill(unsigned char *p, size_t n, unsigned tag)
{
	for (size_t i = 0; i < n; i += STRIDE)
		p[i] = (unsigned char)(tag + i / STRIDE);
	p[n - 1] = (unsigned char)(tag ^ 0x5a);
	escape(p);
}

static int intact(const unsigned char *p, size_t n, unsigned tag)
{
	for (size_t i = 0; i < n; i += STRIDE)
		if (p[i] != (unsigned char)(tag + i / STRIDE))
			return 0;
	return p[n - 1] == (unsigned char)(tag ^ 0x5a);
}

static int all_zero(const unsigned char *p, size_t n)
{
	size_t i = 0;
	for (; i + 8 <= n; i += 8) {
		uint64_t w;
		memcpy(&w, p + i, 8);
		if (w)
			return 0;
	}
	for (; i < n; i++)
		if (p[i])
			return 0;
	return 1;
}

#define MAXB 4096
static struct {
	unsigned char *p;
	size_t n;
	unsigned tag;
} held[MAXB];
static int nheld;

static void hold(void *p, size_t n)
{
	if (!p)
		return;
	held[nheld].p = p;
	held[nheld].n = n;
	held[nheld].tag = (unsigned)nheld * 7u + 3u;
	fill(p, n, held[nheld].tag);
	nheld++;
}

static void *do_malloc(size_t n)
{
	errno = 0;
	void *p = FENCED(launder(malloc(n)));
	return got(p, errno, "malloc", n);
}

static void *do_calloc(size_t a, size_t b)
{
	errno = 0;
	unsigned char *p = FENCED(launder(calloc(a, b)));
	if (got(p, errno, "calloc", a * b) && !all_zero(p, a * b))
		complain("calloc block not zero", a * b);
	return p;
}

static void *do_aligned(size_t align, size_t n)
{
	void *p = NULL;
	int rc = FENCED(posix_memalign(&p, align, n));
	if (rc) {
		nulls++;
		if (rc != ENOMEM || p)
			complain("posix_memalign", n);
		return NULL;
	}
	if ((uintptr_t)p % align)
		complain("posix_memalign misaligned", align);
	return p;
}

/* realloc of a held block to n; a refusal must leave it as it was. */
static int do_realloc(int i, size_t n)
{
	errno = 0;
	unsigned char *q = FENCED(realloc(held[i].p, n));
	int err = errno;
	if (!q) {
		got(NULL, err, "realloc", n);
		if (!intact(held[i].p, held[i].n, held[i].tag))
			complain("block of a refused realloc changed", n);
		return 0;
	}
	size_t keep = held[i].n < n ? held[i].n : n;
	/* what realloc kept: every sample byte below the smaller size */
	for (size_t k = 0; k < keep; k += STRIDE)
		if (q[k] != (unsigned char)(held[i].tag + k / STRIDE)) {
			complain("realloc lost contents", n);
			break;
		}
	held[i].p = q;
	held[i].n = n;
	fill(q, n, held[i].tag);
	return 1;
}

static void release(int i)
{
	if (!intact(held[i].p, held[i].n, held[i].tag))
		complain("block changed while held", held[i].n);
	FENCED_VOID(free(held[i].p));
	held[i].p = NULL;
}

static int child(void)
{
	/* small and medium blocks */
	for (int i = 0; i < 3000; i++) {
		size_t n = 16 + (size_t)(i % 64) * 16;
		hold(do_malloc(n), n);
	}
	for (int i = 0; i < 150; i++) {
		size_t n = 1024 + (size_t)i * 210;
		hold(do_malloc(n), n);
	}
	/* large, up to more than an arena */
	static const size_t large[] = {40 * KiB, 300 * KiB, 1 * MiB, 5 * MiB, 70 * MiB, 2 * MiB};
	for (unsigned i = 0; i < sizeof large / sizeof large[0]; i++)
		hold(do_malloc(large[i]), large[i]);
	/* a block grown by realloc to 8 MiB, each step blocked by a block right after it so that
	 * it has to move (pages moved by mremap from 512 KiB), then shrunk back by halves */
	int g = nheld;
	hold(do_malloc(64 * KiB), 64 * KiB);
	if (held[g].p) {
		for (size_t n = 128 * KiB; n <= 8 * MiB; n *= 2) {
			if (!do_realloc(g, n))
				break;
			hold(do_malloc(48 * KiB), 48 * KiB);
		}
		for (size_t n = held[g].n / 4; n >= 256 * KiB; n /= 4)
			do_realloc(g, n);
	}
	/* a second one grown in place at the heap's end, and shrunk */
	int h = nheld;
	hold(do_malloc(3 * MiB), 3 * MiB);
	if (held[h].p) {
		do_realloc(h, 9 * MiB);
		do_realloc(h, 1 * MiB);
	}
	/* blocks of 1 MiB, each with a block right after it (larger than any hole before), grown to
	 * 3 MiB: they have to move, their pages moved by mremap */
	for (int k = 0; k < 3; k++) {
		int m = nheld;
		hold(do_malloc(MiB), MiB);
		hold(do_malloc(4 * MiB + (size_t)k * 8192), 4 * MiB + (size_t)k * 8192);
		if (held[m].p)
			do_realloc(m, 3 * MiB);
	}
	/* aligned big blocks */
	hold(do_aligned(MiB, 3 * MiB), 3 * MiB);
	hold(do_aligned(64 * KiB, 200 * KiB), 200 * KiB);
	hold(do_aligned(2 * MiB, 5 * MiB), 5 * MiB);
	/* calloc of big blocks, on pages that held data and were given back (or not) */
	void *c1 = do_calloc(1, 2 * MiB);
	void *c2 = do_calloc(1000, 1000);
	void *c3 = do_calloc(1, 100 * KiB);
	FENCED_VOID(free(c1));
	FENCED_VOID(free(c2));
	FENCED_VOID(free(c3));
	/* free the big ones (dirty pages), trim, calloc again */
	for (int i = 3150; i < nheld; i++)
		if (held[i].p && held[i].n >= MiB)
			release(i);
	FENCED_VOID(malloc_trim(0));
	c1 = do_calloc(1, 3 * MiB);
	c2 = do_calloc(1, MiB);
	FENCED_VOID(free(c1));
	FENCED_VOID(free(c2));
	/* everything back */
	for (int i = 0; i < nheld; i++)
		if (held[i].p)
			release(i);
	/* and the heap still works */
	void *after = do_malloc(4 * MiB);
	if (after)
		memset(after, 1, 4 * MiB);
	FENCED_VOID(free(after));
	char buf[64];
	int len = snprintf(buf, sizeof buf, "child: nulls=%d bad=%d\n", nulls, bad);
	if (write(1, buf, (size_t)len) < 0)
		return 3;
	return bad ? 1 : 0;
}

/* ---- The driver ---------------------------------------------------------------------------- */

static const char *lib, *self;

struct run {
	int status;       /* from waitpid */
	long calls[3];    /* mmap, mremap, madvise */
	long injected;
	int nulls, bad;   /* -1 when the child did not say */
	char out[2048];   /* what it printed (for diagnostics) */
};

static const char *const kinds[3] = {"mmap", "mremap", "madvise"};

static void run_child(const char *kind, long at, int sticky, struct run *r)
{
	char e_pre[1024], e_kind[64], e_at[64], e_count[64];
	snprintf(e_pre, sizeof e_pre, "LD_PRELOAD=%s", lib);
	snprintf(e_kind, sizeof e_kind, "GOALLOC_FAULT_KIND=%s", kind);
	snprintf(e_at, sizeof e_at, "GOALLOC_FAULT_AT=%ld", at);
	snprintf(e_count, sizeof e_count, "GOALLOC_FAULT_COUNT=%d", sticky ? 0 : 1);
	char *envp[] = {e_pre, e_kind, e_at, e_count, "GOALLOC_FAULT_REPORT=1", "GOALLOC_CHECK=1", "GOALLOC_SCAVENGE=0", NULL};
	char *argv[] = {(char *)self, (char *)lib, "--child", NULL};
	int fd[2];
	memset(r, 0, sizeof *r);
	r->nulls = r->bad = -1;
	r->injected = -1;
	if (pipe(fd)) {
		perror("pipe");
		exit(2);
	}
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0) {
		perror("fork");
		exit(2);
	}
	if (pid == 0) {
		dup2(fd[1], 1);
		dup2(fd[1], 2);
		close(fd[0]);
		close(fd[1]);
		alarm(120); /* (kept across execve: a hung child dies of SIGALRM) */
		execve(self, argv, envp);
		_exit(127);
	}
	close(fd[1]);
	size_t have = 0;
	ssize_t n;
	while ((n = read(fd[0], r->out + have, sizeof r->out - 1 - have)) > 0 || (n < 0 && errno == EINTR))
		if (n > 0)
			have += (size_t)n;
	close(fd[0]);
	r->out[have] = 0;
	while (waitpid(pid, &r->status, 0) < 0 && errno == EINTR)
		;
	const char *s = strstr(r->out, "goalloc-fault:");
	if (s)
		sscanf(s, "goalloc-fault: mmap=%ld mremap=%ld madvise=%ld injected=%ld", &r->calls[0],
		       &r->calls[1], &r->calls[2], &r->injected);
	s = strstr(r->out, "child: nulls=");
	if (s)
		sscanf(s, "child: nulls=%d bad=%d", &r->nulls, &r->bad);
}

static void show(const struct run *r)
{
	char line[256];
	const char *p = r->out;
	while (*p) {
		size_t n = strcspn(p, "\n");
		snprintf(line, sizeof line, "%.*s", (int)(n < 200 ? n : 200), p);
		diag("  | %s", line);
		p += n + (p[n] == '\n');
	}
}

int main(int argc, char **argv)
{
	if (argc >= 3 && !strcmp(argv[2], "--child"))
		return child();
	if (argc < 2 || access(argv[1], R_OK))
		skip_all("no fault-injection library given (make fault-lib; run through t_faults.sh)");
	lib = argv[1];
	self = "/proc/self/exe";
	static char exe[4096];
	ssize_t l = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (l > 0) {
		exe[l] = 0;
		self = exe;
	}
	plan(3 * 3);
	for (int k = 0; k < 3; k++) {
		struct run base;
		run_child(kinds[k], 0, 0, &base);
		int clean = WIFEXITED(base.status) && WEXITSTATUS(base.status) == 0 && base.nulls == 0 &&
			    base.injected == 0;
		long calls = base.calls[k];
		ok(clean && calls > 0, "%s: the workload alone runs clean and makes %ld %s calls", kinds[k], calls,
		   kinds[k]);
		if (!clean || calls <= 0) {
			show(&base);
			ok(0, "%s: single faults (no count)", kinds[k]);
			ok(0, "%s: sticky faults (no count)", kinds[k]);
			continue;
		}
		for (int sticky = 0; sticky < 2; sticky++) {
			int failed = 0, total_nulls = 0;
			for (long at = 1; at <= calls; at++) {
				struct run r;
				run_child(kinds[k], at, sticky, &r);
				/* a refused madvise or mremap never shows; a single refused mmap at most once */
				int max_nulls = k != 0 ? 0 : sticky ? 1 << 30 : 1;
				int good = WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0 && r.bad == 0 &&
					   r.nulls >= 0 && r.nulls <= max_nulls && r.injected >= 1;
				if (r.nulls > 0)
					total_nulls += r.nulls;
				if (!good) {
					if (failed++ < 5) {
						diag("%s fault at call %ld (%s): %s %d, nulls %d, injected %ld", kinds[k], at,
						     sticky ? "and every one after" : "alone",
						     WIFSIGNALED(r.status) ? "killed by signal" : "exit status",
						     WIFSIGNALED(r.status) ? WTERMSIG(r.status) : WEXITSTATUS(r.status),
						     r.nulls, r.injected);
						show(&r);
					}
				}
			}
			/* (sticky mmap faults must make some allocation fail, or nothing was tested) */
			int seen = k != 0 || !sticky || total_nulls > 0;
			ok(!failed && seen, "%s: %s fault at each of the %ld calls survived (%d runs bad, %d NULLs in all)",
			   kinds[k], sticky ? "a sticky" : "a single", calls, failed, total_nulls);
		}
	}
	return done_testing();
}
