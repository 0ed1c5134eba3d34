/* t_rlimit — goalloc under RLIMIT_AS and RLIMIT_DATA, each set in a child process.
 *
 * Run with goalloc preloaded (test/faults/t_rlimit.sh). For each limit:
 *   - a forked child (goalloc's heap already set up) limits itself to its current size + 192 MiB:
 *     malloc of more than that must give NULL/ENOMEM, realloc to more must give NULL/ENOMEM and
 *     keep the block, smaller blocks keep working, everything is freed, exit is clean;
 *   - a fresh process (this program executed again) limits itself to its size at start + 16 MiB,
 *     below one 64 MiB arena: whatever it asks for must be a block or NULL/ENOMEM, never a crash,
 *     and it must exit cleanly.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
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

#define MiB ((size_t)1 << 20)

/* VmSize or VmData of this process in bytes, read without stdio. */
static size_t vm_field(const char *field)
{
	static char buf[4096];
	int fd = open("/proc/self/status", O_RDONLY);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	char *s = strstr(buf, field);
	return s ? (size_t)strtoull(s + strlen(field) + 1, NULL, 10) * 1024 : 0;
}

static int resource_of(const char *name)
{
	return !strcmp(name, "AS") ? RLIMIT_AS : RLIMIT_DATA;
}

static const char *field_of(const char *name)
{
	return !strcmp(name, "AS") ? "VmSize:" : "VmData:";
}

static int fails; /* in a child: checks that failed */

static void say(const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if (write(1, buf, (size_t)n) < 0)
		_exit(3);
}

#define CHECK(cond, ...)                    \
	do {                                \
		if (!(cond)) {              \
			say("# BAD: " __VA_ARGS__); \
			fails++;            \
		}                           \
	} while (0)

/* malloc(n): a usable block (written at both ends) or NULL with ENOMEM. */
static unsigned char *try_malloc(size_t n, int *null)
{
	errno = 0;
	unsigned char *p = FENCED(launder(malloc(opaque_size(n))));
	int err = errno;
	*null = !p;
	if (!p)
		CHECK(err == ENOMEM, "malloc(%zu) gave NULL with errno %d\n", n, err);
	else {
		p[0] = 1;
		p[n - 1] = 2;
		escape(p);
	}
	return p;
}

/* Set RLIMIT_<name> to the process's current size of that kind plus extra bytes; 0 (said) if it
 * cannot be. */
static int limit_above_current(const char *name, size_t extra)
{
	size_t cur = vm_field(field_of(name));
	struct rlimit rl = {cur + extra, cur + extra};
	if (!cur || setrlimit(resource_of(name), &rl)) {
		say("# BAD: cannot set RLIMIT_%s\n", name);
		return 0;
	}
	return 1;
}

/* The forked child: the limit at current size + 192 MiB. */
static int limited_child(const char *name)
{
	if (!limit_above_current(name, 192 * MiB))
		return 2;
	int null;
	unsigned char *keep = try_malloc(MiB, &null);
	CHECK(keep, "malloc(1 MiB) under the limit failed\n");
	if (keep)
		memset(keep, 0x3c, MiB);
	unsigned char *big = try_malloc(512 * MiB, &null);
	CHECK(null, "malloc(512 MiB) over a limit of +192 MiB succeeded\n");
	FENCED_VOID(free(big));
	big = try_malloc(3 * 64 * MiB + MiB, &null);
	CHECK(null, "malloc(193 MiB) over a limit of +192 MiB succeeded\n");
	FENCED_VOID(free(big));
	if (keep) {
		errno = 0;
		void *r = FENCED(realloc(keep, opaque_size(400 * MiB)));
		int err = errno;
		CHECK(!r && err == ENOMEM, "realloc(1 MiB block, 400 MiB) over the limit: %p errno %d\n", r, err);
		if (r)
			keep = r;
		size_t i;
		for (i = 0; i < MiB && keep[i] == 0x3c; i++)
			;
		CHECK(r || i == MiB, "the block of a refused realloc changed at %zu\n", i);
	}
	/* smaller ones keep working: 64 blocks of 1 MiB, then small ones */
	static unsigned char *b[64];
	int got = 0;
	for (int i = 0; i < 64; i++) {
		b[i] = try_malloc(MiB, &null);
		got += !null;
	}
	CHECK(got == 64, "only %d of 64 blocks of 1 MiB under the limit\n", got);
	static void *s[5000];
	int sgot = 0;
	for (int i = 0; i < 5000; i++) {
		s[i] = try_malloc(16 + (size_t)(i % 100) * 8, &null);
		sgot += !null;
	}
	CHECK(sgot == 5000, "only %d of 5000 small blocks under the limit\n", sgot);
	/* fill up to the limit: must end in NULL/ENOMEM */
	static unsigned char *fill[1024];
	int nfill = 0;
	do
		fill[nfill] = try_malloc(4 * MiB, &null);
	while (!null && ++nfill < 1024);
	CHECK(null, "4 MiB blocks never ran out (%d)\n", nfill);
	for (int i = 0; i < nfill; i++)
		FENCED_VOID(free(fill[i]));
	for (int i = 0; i < 64; i++)
		FENCED_VOID(free(b[i]));
	for (int i = 0; i < 5000; i++)
		FENCED_VOID(free(s[i]));
	/* freed memory is usable again */
	unsigned char *again = try_malloc(32 * MiB, &null);
	CHECK(again, "malloc(32 MiB) after freeing everything failed\n");
	FENCED_VOID(free(again));
	FENCED_VOID(free(keep));
	say("# RLIMIT_%s child: %d small, %d x 1 MiB, %d x 4 MiB before the limit, %d bad\n", name, sgot, got,
	    nfill, fails);
	return fails ? 1 : 0;
}

/* A fresh process whose limit leaves less than one arena. */
static int tiny_child(const char *name)
{
	if (!limit_above_current(name, 16 * MiB))
		return 2;
	int null, nulls = 0;
	static const size_t sizes[] = {16, 100, 1000, 5000, 40000, 200000, MiB, 8 * MiB, 15 * MiB, 64 * MiB};
	static unsigned char *p[sizeof sizes / sizeof sizes[0]];
	for (unsigned i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		p[i] = try_malloc(sizes[i], &null);
		nulls += null;
	}
	CHECK(!p[9], "malloc(64 MiB) under a limit of +16 MiB succeeded\n");
	void *q = FENCED(launder(calloc(1, opaque_size(2 * MiB))));
	CHECK(q || errno == ENOMEM, "calloc(2 MiB) NULL with errno %d\n", errno);
	FENCED_VOID(free(q));
	for (unsigned i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
		FENCED_VOID(free(p[i]));
	say("# RLIMIT_%s at start + 16 MiB: %d of %zu requests refused, %d bad\n", name, nulls,
	    sizeof sizes / sizeof sizes[0], fails);
	return fails ? 1 : 0;
}

/* Run fn(name) in a forked child, or this program with `--tiny name` (exec). */
static int run(const char *name, int tiny)
{
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		alarm(120);
		if (!tiny)
			_exit(limited_child(name));
		execl("/proc/self/exe", "t_rlimit", "--tiny", name, (char *)NULL);
		_exit(127);
	}
	int st;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (WIFSIGNALED(st))
		diag("child killed by signal %d", WTERMSIG(st));
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "--tiny"))
		return tiny_child(argv[2]);
	diag("%s", under_goalloc() ? "under goalloc" : "not under goalloc");
	if (under_valgrind())
		skip_all("resource limits and valgrind's own address space do not mix");
	plan(4);
	/* the heap set up before the fork */
	void *warm = malloc(MiB);
	memset(warm, 1, MiB);
	int rc = run("AS", 0);
	ok(rc == 0, "RLIMIT_AS at +192 MiB in a forked child: refusals are NULL/ENOMEM, the rest works (exit %d)", rc);
	rc = run("DATA", 0);
	ok(rc == 0, "RLIMIT_DATA at +192 MiB in a forked child: refusals are NULL/ENOMEM, the rest works (exit %d)", rc);
	rc = run("AS", 1);
	ok(rc == 0, "RLIMIT_AS below one arena in a fresh process: no crash, clean exit (exit %d)", rc);
	rc = run("DATA", 1);
	ok(rc == 0, "RLIMIT_DATA below one arena in a fresh process: no crash, clean exit (exit %d)", rc);
	free(warm);
	return done_testing();
}
