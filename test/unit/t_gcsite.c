/* t_gcsite.c — unit tests of the leak reports' allocation sites (core/gcsite.c): stacks captured
 * from known nested functions, with the allocator's frames dropped, name the expected callers;
 * interning gives one id per distinct stack, also to 8 threads capturing at once; frames are
 * formatted as the report prints them; suppressions match as LeakSanitizer's do (wildcards,
 * substrings, anchors, module paths, comments), a missing file gets one warning; the sampler
 * samples every allocation at rate 1 and one per 64 KiB on average at 64 KiB. Ends with the cost
 * of a capture and of interning (diagnostics only).
 *
 * The core is linked into this program, so "goalloc's text" (which gcsite_capture drops) is here
 * the section fake_goalloc_text, where fake_malloc stands in for goalloc's malloc. */
#define _GNU_SOURCE /* dladdr */
#include <dlfcn.h>
#include <execinfo.h>
#include <pthread.h>
#include <signal.h>
#include <elf.h>
#include <sys/auxv.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "gcsite.h"
#include "os.h"
#include "tap.h"

static int under_valgrind(void)
{
	const char *v = getenv("GOALLOC_UNDER_VALGRIND");
	return v && *v == '1';
}

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* ---- The call paths ---------------------------------------------------------------------------- */

/* Stores after each call keep the calls from becoming tail calls (whose frames would vanish), and
 * make every function's code differ from the others'. */
static volatile uint32_t sink_a, sink_b, sink_c, sink_d, sink_e, sink_f, sink_g;

extern const char __start_fake_goalloc_text[], __stop_fake_goalloc_text[];

__attribute__((noinline, section("fake_goalloc_text"))) static uint32_t fake_malloc(void)
{
	uint32_t id = gcsite_capture((uintptr_t)__builtin_return_address(0));
	sink_a = id;
	return id;
}

__attribute__((noinline)) static uint32_t level3(void)
{
	uint32_t id = fake_malloc();
	sink_b = id;
	return id;
}

__attribute__((noinline)) static uint32_t level2(void)
{
	uint32_t id = level3();
	sink_c = id + 1;
	return id;
}

__attribute__((noinline)) static uint32_t level1(void)
{
	uint32_t id = level2();
	sink_d = id + 2;
	return id;
}

/* level3 reached by another path. */
__attribute__((noinline)) static uint32_t other2(void)
{
	uint32_t id = level3();
	sink_e = id + 3;
	return id;
}

__attribute__((noinline)) static uint32_t deep(int d)
{
	uint32_t id = d ? deep(d - 1) : fake_malloc();
	sink_f = id + (uint32_t)d;
	return id;
}

static void use_fake_text(void)
{
	gcsite_set_text_range_for_test((uintptr_t)__start_fake_goalloc_text, (uintptr_t)__stop_fake_goalloc_text);
}

static char exe[4096];

static const char *frame_text(uint32_t id, unsigned k)
{
	static char buf[1024];
	uintptr_t pcs[GCSITE_MAX_FRAMES];
	unsigned n = gcsite_frames(id, pcs, GCSITE_MAX_FRAMES);
	if (k >= n)
		return "(no such frame)";
	gcsite_format_frame(buf, sizeof buf, k, pcs[k]);
	return buf;
}

/* "    #K 0x… in FUNC (EXE+0x…)" for a frame of this program. */
static int names(const char *line, unsigned k, const char *func)
{
	char want[256], mod[4200];
	snprintf(want, sizeof want, "    #%u 0x", k);
	snprintf(mod, sizeof mod, " in %s (%s+0x", func, exe);
	return strncmp(line, want, strlen(want)) == 0 && strstr(line, mod) != NULL && line[strlen(line) - 1] == ')';
}

/* ---- Capture and the text range ---------------------------------------------------------------- */

/* Before backtrace() is primed, a capture for a malloc the dynamic loader called returns 0 and
 * primes nothing: priming dlopens libgcc_s, and a dlopen nested in the loader's own (its
 * _dl_find_object_update allocates) is lost to the outer one. The next capture, for a caller
 * outside the loader, primes and returns a stack. Runs first: nothing has primed yet. */
static void test_loader_caller(void)
{
	const void *base = (const void *)getauxval(AT_BASE);
	if (!base) {
		ok(1, "# SKIP no AT_BASE: the dynamic loader is the program");
		return;
	}
	uintptr_t lo, hi;
	ga_os_elf_segments(base, PF_X, &lo, &hi);
	ok(gcsite_capture(lo + (hi - lo) / 2) == 0,
	   "a first capture whose caller is in the dynamic loader's code returns 0 (backtrace() not primed there)");
	ok(fake_malloc() != 0, "the next capture, for a caller outside the loader, primes backtrace() and returns a stack");
}

static void test_text_range(void)
{
	uintptr_t lo, hi;
	gcsite_text_range(&lo, &hi);
	uintptr_t mine = (uintptr_t)level1, core = (uintptr_t)gcsite_capture;
	ok(lo <= mine && mine < hi && lo <= core && core < hi,
	   "gcsite_init's text range (the PF_X segment, from __ehdr_start) holds the core's and the test's code");
	/* With that range every frame of this program is "goalloc's": the first one left is libc's
	 * call of main. */
	uint32_t id = level1();
	const char *f0 = frame_text(id, 0);
	ok(id && strstr(f0, "    #0 0x") == f0 && strstr(f0, "libc.so"), "with it, frame 0 lies in libc: %s", f0);
}

static volatile int three = 3; /* a loop the compiler cannot unroll: one call site */

__attribute__((noinline)) static void test_capture(void)
{
	use_fake_text();
	uint32_t id = level1();
	ok(id > 0, "capture: id %u", id);
	static const char *const callers[] = {"level3", "level2", "level1", "test_capture"};
	for (unsigned k = 0; k < 4; k++) {
		const char *f = frame_text(id, k);
		ok(names(f, k, callers[k]), "frame %u is %s%s: %s", k, callers[k], k ? "" : ", fake_malloc's caller", f);
	}

	uint32_t again[3];
	for (int i = 0; i < three; i++)
		again[i] = level1(); /* one call site: one stack */
	ok(again[0] == again[1] && again[1] == again[2] && again[0] != id,
	   "the same stack has the same id (%u %u %u), another call site another (%u)", again[0], again[1], again[2], id);
	uint32_t other = other2();
	ok(other && other != id && other != again[0], "level3 through another path: another id (%u)", other);
	const char *f = frame_text(other, 1);
	ok(names(f, 1, "other2"), "its frame 1: %s", f);

	uintptr_t pcs[GCSITE_MAX_FRAMES];
	unsigned n = gcsite_frames(id, pcs, GCSITE_MAX_FRAMES), n2 = gcsite_frames(id, pcs, 2);
	ok(n >= 5 && n2 == 2, "gcsite_frames: %u frames, 2 when asked for 2", n);
	ok(gcsite_frames(0, pcs, 8) == 0 && gcsite_frames(gcsite_nstacks() + 1, pcs, 8) == 0,
	   "no frames for id 0 and for an id not handed out");

	uint32_t d = deep(80);
	n = gcsite_frames(d, pcs, GCSITE_MAX_FRAMES);
	ok(n == GCSITE_MAX_FRAMES - 2 && names(frame_text(d, 0), 0, "deep") && names(frame_text(d, n - 1), n - 1, "deep"),
	   "a deeper stack keeps its innermost %d frames (%u)", GCSITE_MAX_FRAMES - 2, n);
}

/* ---- Interning --------------------------------------------------------------------------------- */

static void test_intern(void)
{
	uintptr_t a[5] = {0x1000, 0x2000, 0x3000, 0x4000, 0x5000}, b[5] = {0x1000, 0x2000, 0x3000, 0x4000, 0x5001};
	uint32_t ia = gcsite_intern(a, 5), ib = gcsite_intern(b, 5), ia4 = gcsite_intern(a, 4);
	ok(ia && ib && ia4 && ia != ib && ia != ia4 && ib != ia4, "different frames, or fewer: different ids");
	ok(gcsite_intern(a, 5) == ia && gcsite_intern(b, 5) == ib && gcsite_intern(a, 4) == ia4, "and the same again");
	uint32_t e = gcsite_intern(a, 0);
	ok(e && gcsite_intern(b, 0) == e && gcsite_frames(e, a, 5) == 0, "an empty stack is one stack, of 0 frames");

	/* Enough stacks to fill several chunks of the table and share hash chains. */
	unsigned count = under_valgrind() ? 10000 : 50000, bad = 0;
	uint32_t first = 0, before = gcsite_nstacks();
	for (unsigned i = 0; i < count; i++) {
		uintptr_t s[3] = {0x7000, i, (uintptr_t)i * 7};
		uint32_t id = gcsite_intern(s, 3);
		if (!i)
			first = id;
		bad += id != first + i;
	}
	ok(!bad && gcsite_nstacks() == before + count, "%u new stacks get %u consecutive new ids", count, count);
	for (unsigned i = 0; i < count; i++) {
		uintptr_t s[3] = {0x7000, i, (uintptr_t)i * 7}, got[4];
		bad += gcsite_intern(s, 3) != first + i || gcsite_frames(first + i, got, 4) != 3 ||
		       memcmp(got, s, sizeof s) != 0;
	}
	ok(!bad && gcsite_nstacks() == before + count, "each found again, with its frames (%u wrong)", bad);
}

/* ---- Formatting -------------------------------------------------------------------------------- */

static const char rodata_probe[256] = "a block of data in the program, in no function";

static void test_format(void)
{
	char buf[1024];
	char *anon = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	size_t n = gcsite_format_frame(buf, sizeof buf, 7, (uintptr_t)anon + 16);
	char want[128];
	snprintf(want, sizeof want, "    #7 0x%lx (<unknown module>)", (unsigned long)anon + 16);
	ok(strcmp(buf, want) == 0 && n == strlen(want), "outside every module: %s", buf);
	munmap(anon, 4096);

	gcsite_format_frame(buf, sizeof buf, 2, (uintptr_t)rodata_probe + 9);
	snprintf(want, sizeof want, "    #2 0x%lx (", (unsigned long)rodata_probe + 9);
	ok(strncmp(buf, want, strlen(want)) == 0 && strstr(buf, exe) && !strstr(buf, " in "),
	   "in the program but in no function: no name: %s", buf);

	/* A function the C library exports: named by dladdr, its module the library's path. */
	Dl_info di;
	uintptr_t w = (uintptr_t)dlsym(RTLD_DEFAULT, "write") + 5;
	dladdr((void *)w, &di);
	gcsite_format_frame(buf, sizeof buf, 1, w);
	snprintf(want, sizeof want, " (%s+0x%lx)", di.dli_fname, (unsigned long)(w - (uintptr_t)di.dli_fbase));
	ok(strstr(buf, " in ") && strstr(buf, "write") && strstr(buf, want) && strstr(buf, "libc.so"),
	   "a libc function: %s", buf);

	size_t len = gcsite_format_frame(buf, 12, 0, (uintptr_t)level3 + 4);
	ok(len == 11 && strlen(buf) == 11 && gcsite_format_frame(buf, 0, 0, (uintptr_t)level3 + 4) == 0,
	   "truncated to the buffer, NUL-terminated: \"%s\"; nothing into no buffer", buf);
}

/* ---- Suppressions ------------------------------------------------------------------------------ */

static char dir[64];

static const char *write_file(const char *name, const char *text)
{
	static char path[128];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	fputs(text, f);
	fclose(f);
	return path;
}

/* Run load with stderr sent to a file; its text into out. */
static void with_stderr(const char *path, char *out, size_t cap)
{
	char tmp[128];
	snprintf(tmp, sizeof tmp, "%s/stderr", dir);
	FILE *f = fopen(tmp, "w+");
	fflush(stderr);
	int saved = dup(2);
	dup2(fileno(f), 2);
	gcsite_load_suppressions(path);
	dup2(saved, 2);
	close(saved);
	rewind(f);
	size_t n = fread(out, 1, cap - 1, f);
	out[n] = 0;
	fclose(f);
}

static int lines(const char *s)
{
	int n = 0;
	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* Load text as the suppressions file; the index suppressing pcs[0 .. n). */
static int suppressed_by(const char *text, const uintptr_t *pcs, unsigned n)
{
	gcsite_load_suppressions(write_file("supp", text));
	return gcsite_suppressed(pcs, n);
}

static void test_suppressions(void)
{
	use_fake_text();
	uintptr_t pcs[GCSITE_MAX_FRAMES];
	unsigned n = gcsite_frames(level1(), pcs, GCSITE_MAX_FRAMES); /* level3 level2 level1 test_… main libc… */
	ok(suppressed_by("leak:lev*3\n", pcs, n) == 0, "wildcard: lev*3 matches level3");
	ok(suppressed_by("leak:vel2\n", pcs, n) == 0, "substring: vel2 matches level2");
	ok(suppressed_by("leak:nothing_here\nleak:level1\nleak:level3\n", pcs, n) == 2,
	   "frame by frame from #0: level3 (the third line) before level1 (the second)");
	ok(suppressed_by("leak:nothing_here\n", pcs, n) == -1, "no match: -1");
	ok(suppressed_by("leak:^level3$\n", pcs, n) == 0 && suppressed_by("leak:^evel3\n", pcs, n) == -1 &&
		   suppressed_by("leak:level$\n", pcs, n) == -1 && suppressed_by("leak:level*$\n", pcs, n) == 0 &&
		   suppressed_by("leak:^le*el2$\n", pcs, n) == 0,
	   "anchors as LSan's TemplateMatch: ^level3$ yes, ^evel3 no, level$ no, level*$ yes, ^le*el2$ yes");
	ok(suppressed_by("leak:t_gcsite\n", pcs, 1) == 0, "the module's path: t_gcsite matches frame 0");
	uintptr_t in_libc[1] = {(uintptr_t)dlsym(RTLD_DEFAULT, "write") + 5};
	ok(suppressed_by("leak:zzz\nleak:*/libc.so*\n", in_libc, 1) == 1 &&
		   suppressed_by("leak:t_gcsite\n", in_libc, 1) == -1,
	   "a libc frame by libc's path, not by the program's");

	char err[2048];
	with_stderr(write_file("comments",
			       "# leak:level3\n\n   \t\n  # leak:level2\nleak:zzz_nothing  \r\n   leak:^level1\n"),
		    err, sizeof err);
	ok(gcsite_nsuppressions() == 2 && gcsite_suppressed(pcs, n) == 1 && !*err,
	   "comments, blank lines, surrounding blanks: 2 suppressions, ^level1 the second, no warning");
	with_stderr(write_file("bad", "leak:level3\nleek:level2\nleak\nleak:level1\n"), err, sizeof err);
	ok(gcsite_nsuppressions() == 2 && lines(err) == 2 && strstr(err, "goalloc: ") && strstr(err, ":2: ") &&
		   strstr(err, ":3: "),
	   "a line of another kind: a warning naming its line, ignored: %s", err);

	char missing[128];
	snprintf(missing, sizeof missing, "%s/no-such-file", dir);
	with_stderr(missing, err, sizeof err);
	ok(lines(err) == 1 && strncmp(err, "goalloc: ", 9) == 0 && strstr(err, missing) && gcsite_nsuppressions() == 0 &&
		   gcsite_suppressed(pcs, n) == -1,
	   "a missing file: one warning naming goalloc and the file, then no suppressions: %s", err);
	with_stderr(dir, err, sizeof err);
	ok(lines(err) == 1 && strstr(err, dir) && gcsite_nsuppressions() == 0, "a directory: the same: %s", err);

	/* The report's block. */
	gcsite_load_suppressions(write_file("used", "leak:plant_direct\nleak:unused\nleak:plant_pair\n"));
	char out[1024];
	snprintf(out, sizeof out, "%s/out", dir);
	FILE *f = fopen(out, "w+");
	gcsite_print_suppressions(fileno(f));
	ok(ftell(f) == 0 && lseek(fileno(f), 0, SEEK_END) == 0, "nothing used: nothing printed");
	gcsite_suppression_used(0, 100);
	gcsite_suppression_used(2, 48);
	gcsite_suppression_used(2, 48);
	gcsite_suppression_used(-1, 1);
	gcsite_suppression_used(3, 1);
	gcsite_print_suppressions(fileno(f));
	lseek(fileno(f), 0, SEEK_SET);
	size_t len = read(fileno(f), out, sizeof out - 1);
	out[len] = 0;
	fclose(f);
	const char *want = "Suppressions used:\n"
			   "  count      bytes template\n"
			   "      1        100 plant_direct\n"
			   "      2         96 plant_pair\n";
	ok(strcmp(out, want) == 0, "LSan's block, the used ones in the file's order");
	if (strcmp(out, want) != 0)
		diag("got:\n%s", out);
	gcsite_load_suppressions(NULL);
}

/* ---- The sampler ------------------------------------------------------------------------------- */

static void test_sampler(void)
{
	gcsite_set_rate_for_test(1);
	unsigned all = 0;
	for (int i = 0; i < 1000; i++)
		all += gcsite_sample((size_t)(i % 3) * 1000);
	ok(all == 1000, "rate 1: every allocation sampled (%u of 1000)", all);

	gcsite_set_rate_for_test(64 * 1024);
	unsigned got = 0;
	for (unsigned i = 0; i < 100 * 1024; i++) /* 100 MiB of 1 KiB allocations */
		got += gcsite_sample(1024);
	ok(got >= 1280 && got <= 1920, "rate 64 KiB: %u samples over 100 MiB of 1 KiB allocations (1600 ± 20 %%)", got);

	/* One sample per 512 KiB at the default rate, over 1 GiB in 64 KiB allocations. */
	gcsite_set_rate_for_test(512 * 1024);
	got = 0;
	for (unsigned i = 0; i < 16 * 1024; i++)
		got += gcsite_sample(64 * 1024);
	ok(got >= 1638 && got <= 2458, "rate 512 KiB: %u samples over 1 GiB of 64 KiB allocations (2048 ± 20 %%)", got);
	gcsite_set_rate_for_test(1);
}

/* ---- Threads ----------------------------------------------------------------------------------- */

#define NTHREADS 8

struct worker {
	pthread_t t;
	unsigned rounds;
	uint32_t ids[3];
	unsigned bad;
};

__attribute__((noinline)) static uint32_t path_a(void)
{
	uint32_t id = fake_malloc();
	sink_g = id;
	return id;
}

__attribute__((noinline)) static uint32_t path_b(void)
{
	uint32_t id = level3();
	sink_g = id + 1;
	return id;
}

__attribute__((noinline)) static uint32_t path_c(void)
{
	uint32_t id = path_a();
	sink_g = id + 2;
	return id;
}

static void *work(void *arg)
{
	struct worker *w = arg;
	for (unsigned r = 0; r < w->rounds; r++) {
		uint32_t got[3] = {path_a(), path_b(), path_c()};
		for (int k = 0; k < 3; k++) {
			if (!r)
				w->ids[k] = got[k];
			w->bad += !got[k] || got[k] != w->ids[k];
		}
	}
	return NULL;
}

static void test_threads(void)
{
	use_fake_text();
	struct worker w[NTHREADS];
	uint32_t before = gcsite_nstacks();
	for (int i = 0; i < NTHREADS; i++) {
		w[i] = (struct worker){.rounds = under_valgrind() ? 20 : 300};
		pthread_create(&w[i].t, NULL, work, &w[i]);
	}
	unsigned bad = 0;
	for (int i = 0; i < NTHREADS; i++) {
		pthread_join(w[i].t, NULL);
		bad += w[i].bad;
		for (int k = 0; k < 3; k++)
			bad += w[i].ids[k] != w[0].ids[k];
	}
	ok(!bad && gcsite_nstacks() == before + 3 && w[0].ids[0] != w[0].ids[1] && w[0].ids[1] != w[0].ids[2],
	   "%d threads capturing 3 stacks at once: one id each (%u %u %u), 3 new stacks in the table", NTHREADS,
	   w[0].ids[0], w[0].ids[1], w[0].ids[2]);
	const char *f = frame_text(w[0].ids[2], 1);
	ok(names(f, 1, "path_c"), "the threads' stacks name their functions: %s", f);
}

/* ---- Captures from a signal handler ----------------------------------------------------------- */

/* A handler that allocates, interrupting the thread anywhere, inside gcsite_capture too: there it
 * gets 0 (no second backtrace() inside the first, no wait for a table lock its own thread holds),
 * elsewhere the handler's own stack. */
static volatile unsigned alarms, alarm_zero;
static volatile uint32_t alarm_id;

__attribute__((noinline)) static void on_alarm(int sig)
{
	(void)sig;
	uint32_t id = fake_malloc();
	alarms++;
	if (!id)
		alarm_zero++;
	else
		alarm_id = id;
}

static void test_signals(void)
{
	use_fake_text();
	struct sigaction sa = {.sa_handler = on_alarm, .sa_flags = SA_RESTART};
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	struct itimerval it = {{0, 200}, {0, 200}};
	setitimer(ITIMER_REAL, &it, NULL);
	uint32_t first = 0;
	unsigned bad = 0, rounds = 0;
	for (double end = now_ns() + (under_valgrind() ? 3e8 : 2e8); now_ns() < end; rounds++) {
		uint32_t id = level1(); /* one call site: one stack */
		first = first ? first : id;
		bad += !id || id != first;
	}
	struct itimerval off = {{0, 0}, {0, 0}};
	setitimer(ITIMER_REAL, &off, NULL);
	signal(SIGALRM, SIG_IGN); /* (one may still be pending) */
	ok(!bad && alarms > 0, "%u captures, interrupted by %u handlers that capture (%u of them inside a capture: 0)",
	   rounds, alarms, alarm_zero);
	if (alarm_id) {
		const char *f = frame_text(alarm_id, 0);
		ok(names(f, 0, "on_alarm"), "a handler's frame 0 is the handler: %s", f);
	} else {
		ok(1, "# SKIP no handler captured outside a capture");
	}
}

/* ---- Costs (diagnostics) ----------------------------------------------------------------------- */

__attribute__((noinline)) static void bt_deep(int d, void **buf, int *n)
{
	if (d)
		bt_deep(d - 1, buf, n);
	else
		*n = backtrace(buf, GCSITE_MAX_FRAMES);
	sink_f = (uint32_t)d;
}

static void costs(void)
{
	use_fake_text();
	int reps = under_valgrind() ? 50 : 5000;
	/* deep(10) from here: 11 frames of deep, then costs, main and libc's 3 — 16 in all. */
	uint32_t id = deep(10);
	uintptr_t pcs[GCSITE_MAX_FRAMES];
	unsigned nf = gcsite_frames(id, pcs, GCSITE_MAX_FRAMES);
	double t0 = now_ns();
	for (int i = 0; i < reps; i++)
		sink_a = deep(10);
	double cap = (now_ns() - t0) / reps;
	void *buf[GCSITE_MAX_FRAMES];
	int nb = 0;
	t0 = now_ns();
	for (int i = 0; i < reps; i++)
		bt_deep(10, buf, &nb);
	double bt = (now_ns() - t0) / reps;
	t0 = now_ns();
	for (int i = 0; i < reps * 20; i++)
		sink_a = gcsite_intern(pcs, nf);
	double hit = (now_ns() - t0) / (reps * 20);
	unsigned fresh = under_valgrind() ? 1000 : 20000;
	t0 = now_ns();
	for (unsigned i = 0; i < fresh; i++) {
		pcs[1] = 0x9000000 + i;
		sink_a = gcsite_intern(pcs, nf);
	}
	double miss = (now_ns() - t0) / fresh;
	diag("costs (%u frames): capture %.2f us (backtrace alone %.2f us, %d frames), intern of a known stack %.0f ns, "
	     "of a new one %.0f ns", nf, cap / 1000, bt / 1000, nb, hit, miss);
	ok(id && nf >= 12, "the cost measured on a stack of %u frames", nf);
}

/* ---- A full table (last: nothing can be interned after it) ------------------------------------- */

static volatile int two = 2;

static void test_full(void)
{
	if (under_valgrind()) {
		ok(1, "# SKIP filling the table takes a million inserts");
		return;
	}
	use_fake_text();
	uint32_t ids[2] = {0, 0}, first = 0, last = 0;
	for (int i = 0; i < two; i++) { /* one call site: captured before and after the table fills */
		if (i == 1)
			for (uintptr_t pc = 0xf0000000; gcsite_nstacks() < GCSITE_MAX_STACKS; pc++) {
				last = gcsite_intern(&pc, 1);
				first = first ? first : last;
			}
		ids[i] = level1();
	}
	uintptr_t pc = 0xe0000000, pc0 = 0xf0000000;
	ok(last == GCSITE_MAX_STACKS && gcsite_intern(&pc, 1) == 0 && gcsite_nstacks() == GCSITE_MAX_STACKS,
	   "the table holds %u stacks, then interning a new one gives 0", GCSITE_MAX_STACKS);
	ok(ids[0] && ids[1] == ids[0] && other2() == 0 && gcsite_intern(&pc0, 1) == first,
	   "full: a known stack keeps its id (%u), a new one captured gets 0", ids[0]);
}

int main(void)
{
	if (readlink("/proc/self/exe", exe, sizeof exe - 1) <= 0)
		skip_all("no /proc/self/exe");
	snprintf(dir, sizeof dir, "/tmp/t_gcsite.XXXXXX");
	if (!mkdtemp(dir))
		skip_all("no temporary directory");
	gcsite_init();
	test_loader_caller();
	test_text_range();
	test_capture();
	test_intern();
	test_format();
	test_suppressions();
	test_sampler();
	test_threads();
	test_signals();
	costs();
	test_full();
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	if (system(cmd) != 0)
		diag("could not remove %s", dir);
	return done_testing();
}
