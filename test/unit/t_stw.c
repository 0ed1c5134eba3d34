/* t_stw.c — stopping every other thread (core/stw.c), linked directly. Worker threads spin, sleep
 * in nanosleep (on a sigaltstack), block in read on a pipe, spin with a value held in registers,
 * and block every signal. Each stop must find every one of them: its SP inside its stack, with
 * the value it keeps in a local above the SP, its thread pointer, its registers. Under
 * GOALLOC_GC_STOP=signal the thread that blocks every signal makes the stop fail, naming it, and
 * every thread runs on; under auto and ptrace it is stopped; a thread that another process traces
 * makes auto fail with ptrace's refusal. Also: threads created while the stop is under way, 50
 * rounds back to back with 8 busy threads, 600 threads at once, a stale request after a failed
 * stop, the program's own handler for the stop signal (forwarded, masked, reset, ignored), a
 * zombie main thread, fork, and the choice of the stop signal (a child started with
 * GOALLOC_GC_SIGNAL).
 *
 * While threads are stopped the test calls nothing that may take a lock they hold (malloc,
 * stdio): results are printed after stw_start. Timeouts are generous: the test must pass on a
 * loaded 2-core machine. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "stw.h"
#include "tap.h"

enum { MODE_SIGNAL, MODE_PTRACE, MODE_AUTO };
#define LONG_MS 20000 /* when the stop must succeed */

enum kind { SPIN, SLEEP, READ, REGS, BLOCKED, NKINDS };
static const char *const kind_name[NKINDS] = {"spinning", "sleeping", "reading", "register", "all-blocked"};

#define STACK_MAGIC 0x57ac4b1d00000000ull
#define REG_MAGIC 0x2e91ad5c00000000ull

struct worker {
	pthread_t th;
	enum kind kind;
	int tid;
	uintptr_t stack_lo, stack_hi, self;
	uintptr_t alt_lo, alt_hi;
	uint64_t magic;
	volatile unsigned long progress;
	int pipe[2];
	volatile int unblock; /* BLOCKED: unblock every signal for a moment */
	volatile int unblocked;
};

static volatile int quit;
static _Atomic int ready;
static struct worker workers[NKINDS];

static unsigned long long ms_now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (unsigned long long)t.tv_sec * 1000 + (unsigned long long)t.tv_nsec / 1000000;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static int gettid_(void)
{
	return (int)syscall(SYS_gettid);
}

/* Wait for cond, at most ms. */
#define WAIT_FOR(cond, ms)                                                                                 \
	do {                                                                                               \
		unsigned long long limit_ = ms_now() + (ms);                                                   \
		while (!(cond) && ms_now() < limit_)                                                           \
			sleep_ms(1);                                                                           \
	} while (0)

static void note_stack(struct worker *w)
{
	pthread_attr_t a;
	void *addr;
	size_t size;
	pthread_getattr_np(pthread_self(), &a);
	pthread_attr_getstack(&a, &addr, &size);
	pthread_attr_destroy(&a);
	w->stack_lo = (uintptr_t)addr;
	w->stack_hi = (uintptr_t)addr + size;
	w->self = (uintptr_t)pthread_self();
	w->tid = gettid_();
}

/* Spin with the magic in r12 and r13 (and nowhere else in the loop) until quit. */
static void spin_in_registers(struct worker *w)
{
	uint64_t m = REG_MAGIC | (uint64_t)w->tid;
	__asm__ volatile("mov %[m], %%r12\n\t"
			 "mov %[m], %%r13\n\t"
			 "not %%r13\n\t"
			 "1:\n\t"
			 "incq %[progress]\n\t"
			 "pause\n\t"
			 "cmpl $0, %[quit]\n\t"
			 "je 1b\n\t"
			 : [progress] "+m"(w->progress)
			 : [m] "r"(m), [quit] "m"(quit)
			 : "r12", "r13", "memory", "cc");
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	volatile uint64_t magic = w->magic; /* kept live on this thread's stack */
	static char altstack[64 * 1024];
	char c;
	note_stack(w);
	if (w->kind == SLEEP) {
		stack_t ss = {.ss_sp = altstack, .ss_size = sizeof altstack, .ss_flags = 0};
		sigaltstack(&ss, NULL);
		w->alt_lo = (uintptr_t)altstack;
		w->alt_hi = (uintptr_t)altstack + sizeof altstack;
	}
	if (w->kind == BLOCKED) {
		sigset_t all;
		sigfillset(&all);
		pthread_sigmask(SIG_BLOCK, &all, NULL);
	}
	atomic_fetch_add(&ready, 1);
	switch (w->kind) {
	case SPIN:
		while (!quit)
			w->progress++;
		break;
	case SLEEP:
		while (!quit) {
			struct timespec ts = {0, 20 * 1000000};
			nanosleep(&ts, NULL);
			w->progress++;
		}
		break;
	case READ:
		while (!quit) {
			w->progress++;
			if (read(w->pipe[0], &c, 1) == 0)
				break;
		}
		break;
	case REGS:
		spin_in_registers(w);
		break;
	case BLOCKED:
		while (!quit) {
			w->progress++;
			if (w->unblock && !w->unblocked) { /* a pending stop request is delivered here */
				sigset_t all;
				sigfillset(&all);
				pthread_sigmask(SIG_UNBLOCK, &all, NULL);
				pthread_sigmask(SIG_BLOCK, &all, NULL);
				w->unblocked = 1;
			}
			struct timespec ts = {0, 1000000};
			nanosleep(&ts, NULL);
		}
		break;
	case NKINDS:
		break;
	}
	if (magic != w->magic)
		abort();
	return NULL;
}

static void start_workers(void)
{
	for (int k = 0; k < NKINDS; k++) {
		struct worker *w = &workers[k];
		w->kind = (enum kind)k;
		w->magic = STACK_MAGIC | (uint64_t)k << 24 | (uint64_t)getpid();
		if (k == READ && pipe(w->pipe) != 0)
			abort();
		if (pthread_create(&w->th, NULL, worker_main, w) != 0)
			abort();
	}
	WAIT_FOR(atomic_load(&ready) == NKINDS, 10000);
}

static void stop_workers(void)
{
	quit = 1;
	close(workers[READ].pipe[1]);
	for (int k = 0; k < NKINDS; k++)
		pthread_join(workers[k].th, NULL);
	close(workers[READ].pipe[0]);
}

static const struct stw_thread *find(const struct stw_world *w, int tid)
{
	for (unsigned i = 0; i < w->n; i++)
		if (w->threads[i].tid == tid)
			return &w->threads[i];
	return NULL;
}

/* What one stop showed of one worker (filled while stopped, printed after). */
struct seen {
	int found, how, sp_in_stack, magic_above_sp, tp_ok, reg_ok, alt_ok;
	unsigned long progress_a, progress_b;
};

static void inspect(const struct stw_world *w, struct worker *wk, struct seen *s)
{
	const struct stw_thread *t = find(w, wk->tid);
	memset(s, 0, sizeof *s);
	if (!t)
		return;
	s->found = 1;
	s->how = t->how;
	s->sp_in_stack = t->sp >= wk->stack_lo && t->sp < wk->stack_hi;
	if (s->sp_in_stack)
		for (uintptr_t p = t->sp & ~(uintptr_t)7; p + 8 <= wk->stack_hi; p += 8)
			if (*(const uint64_t *)p == wk->magic) {
				s->magic_above_sp = 1;
				break;
			}
	s->tp_ok = t->tp == wk->self;
	uint64_t m = REG_MAGIC | (uint64_t)wk->tid;
	for (unsigned i = 0; i < t->nregs; i++) /* (m itself may be left in another register too) */
		s->reg_ok |= (t->regs[i] == m) | (t->regs[i] == ~m) << 1;
	if (t->how == STW_BY_SIGNAL)
		s->alt_ok = t->altstack_lo == wk->alt_lo && t->altstack_hi == wk->alt_hi;
	else
		s->alt_ok = t->altstack_lo == 0 && t->altstack_hi == 0;
}

/* One stop of every worker (the all-blocked one too when with_blocked) under mode: every check. */
static void stop_and_check(const char *mode, int expect_how_blocked, int expect_how_others, int with_blocked)
{
	struct stw_world w;
	struct seen seen[NKINDS];
	int r = stw_stop(&w, NULL, 0);
	if (r == 0) {
		for (int k = 0; k < NKINDS; k++)
			inspect(&w, &workers[k], &seen[k]);
		for (int k = 0; k < NKINDS; k++)
			seen[k].progress_a = workers[k].progress;
		sleep_ms(30);
		for (int k = 0; k < NKINDS; k++)
			seen[k].progress_b = workers[k].progress;
		stw_start(&w);
	}
	ok(r == 0, "%s: stw_stop stops the workers (%s)", mode, r ? w.why : "ok");
	if (r)
		return;
	ok(w.n == (unsigned)(with_blocked ? NKINDS : NKINDS - 1), "%s: %u threads stopped (%u by signal, %u by ptrace) in %.3f ms",
	   mode, w.n, w.nsignal, w.nptrace, (double)w.stop_ns / 1e6);
	for (int k = 0; k < NKINDS; k++) {
		struct seen *s = &seen[k];
		if (k == BLOCKED && !with_blocked)
			continue;
		int how = k == BLOCKED ? expect_how_blocked : expect_how_others;
		ok(s->found && s->how == how, "%s: the %s thread is stopped by %s", mode, kind_name[k],
		   how == STW_BY_SIGNAL ? "signal" : "ptrace");
		ok(s->sp_in_stack && s->magic_above_sp, "%s: its sp lies in its stack, and its local is above it",
		   mode);
		ok(s->tp_ok && s->alt_ok, "%s: its thread pointer and sigaltstack are recorded", mode);
		if (k == REGS)
			ok(s->reg_ok == 3, "%s: the values it holds in r12 and r13 are in its registers", mode);
		if (k == SPIN || k == REGS)
			ok(s->progress_a == s->progress_b, "%s: it made no progress while stopped", mode);
	}
	unsigned long p = workers[SPIN].progress;
	WAIT_FOR(workers[SPIN].progress != p, 10000);
	ok(workers[SPIN].progress != p, "%s: it runs again after stw_start", mode);
}

/* ---- the program's own handler for the stop signal ------------------------------------------- */

static volatile int prog_runs, prog_code, prog_value, prog_mask_ok;

static void prog_handler(int sig, siginfo_t *si, void *uc)
{
	sigset_t cur;
	(void)uc;
	sigprocmask(SIG_BLOCK, NULL, &cur);
	/* Its sa_mask (SIGUSR1) and itself are blocked; SIGUSR2, which goalloc's handler blocks, is not. */
	prog_mask_ok = sigismember(&cur, SIGUSR1) && sigismember(&cur, sig) && !sigismember(&cur, SIGUSR2);
	prog_code = si->si_code;
	prog_value = si->si_code == SI_QUEUE ? si->si_value.sival_int : -1;
	prog_runs++;
}

static void test_program_handler(void)
{
	struct sigaction a, o;
	memset(&a, 0, sizeof a);
	a.sa_sigaction = prog_handler;
	a.sa_flags = SA_SIGINFO;
	sigemptyset(&a.sa_mask);
	sigaddset(&a.sa_mask, SIGUSR1);
	ok(stw_program_sigaction(&a, &o) == 0 && o.sa_handler == SIG_DFL,
	   "the program's handler for SIGURG is recorded; the previous action was SIG_DFL");
	ok(stw_program_sigaction(NULL, &o) == 0 && o.sa_sigaction == prog_handler && (o.sa_flags & SA_SIGINFO) &&
		   sigismember(&o.sa_mask, SIGUSR1),
	   "a query returns it, with its flags and mask");
	syscall(SYS_tgkill, getpid(), gettid_(), SIGURG);
	ok(prog_runs == 1 && prog_code == SI_TKILL, "a SIGURG from tgkill runs it (%d runs, si_code %d)", prog_runs,
	   prog_code);
	ok(prog_mask_ok, "it runs with its own mask, as the kernel would run it");
	union sigval v = {.sival_int = 4242};
	sigqueue(getpid(), SIGURG, v);
	WAIT_FOR(prog_runs == 2, 5000);
	ok(prog_runs == 2 && prog_code == SI_QUEUE && prog_value == 4242,
	   "a queued SIGURG that is not a stop request reaches it with its value");

	struct stw_world w;
	int before = prog_runs, skip = workers[BLOCKED].tid;
	int r = stw_stop(&w, &skip, 1);
	if (r == 0)
		stw_start(&w);
	ok(r == 0 && prog_runs == before, "stop requests are not passed to it (%s)", r ? w.why : "ok");

	a.sa_flags = SA_SIGINFO | SA_RESETHAND;
	stw_program_sigaction(&a, NULL);
	raise(SIGURG);
	raise(SIGURG);
	stw_program_sigaction(NULL, &o);
	ok(prog_runs == before + 1 && o.sa_handler == SIG_DFL, "SA_RESETHAND: it runs once, then the action is SIG_DFL");

	a.sa_handler = SIG_IGN;
	a.sa_flags = 0;
	stw_program_sigaction(&a, NULL);
	raise(SIGURG);
	ok(prog_runs == before + 1, "SIG_IGN: nothing runs");
	a.sa_handler = SIG_DFL;
	stw_program_sigaction(&a, NULL);
	raise(SIGURG);
	ok(prog_runs == before + 1, "SIG_DFL for SIGURG: ignored, the process goes on");
	ok(stw_signal() == SIGURG, "the stop signal is still SIGURG");
}

/* ---- relisting ------------------------------------------------------------------------------------- */

static volatile int spawning;
static _Atomic int spawned;

static void *short_lived(void *arg)
{
	volatile int depth = (int)(intptr_t)arg;
	atomic_fetch_add(&spawned, 1);
	if (depth < 2) { /* a thread that starts another before it ends */
		pthread_t t;
		if (pthread_create(&t, NULL, short_lived, (void *)(intptr_t)(depth + 1)) == 0)
			pthread_detach(t);
	}
	for (volatile int i = 0; i < 20000; i++)
		;
	return NULL;
}

static void *spawner(void *arg)
{
	(void)arg;
	while (spawning) {
		pthread_t t;
		if (pthread_create(&t, NULL, short_lived, 0) == 0)
			pthread_detach(t);
		else
			sleep_ms(1);
	}
	return NULL;
}

/* The threads of this process now, but the caller (raw system calls: no malloc while stopped).
 * Returns how many there are beyond max too. */
static int list_tasks(int *tids, int max)
{
	char buf[4096] __attribute__((aligned(8)));
	int fd = (int)syscall(SYS_open, "/proc/self/task", O_RDONLY | O_DIRECTORY), n = 0, self = gettid_();
	if (fd < 0)
		return -1;
	long got;
	while ((got = syscall(SYS_getdents64, fd, buf, sizeof buf)) > 0)
		for (long off = 0; off < got;) {
			struct {
				uint64_t ino;
				int64_t off;
				unsigned short reclen;
				unsigned char type;
				char name[];
			} *d = (void *)(buf + off);
			off += d->reclen;
			int tid = atoi(d->name);
			if (tid > 0 && tid != self) {
				if (n < max)
					tids[n] = tid;
				n++;
			}
		}
	close(fd);
	return n;
}

static void test_relisting(int mode, const char *name)
{
	pthread_t sp;
	int rounds = 20, good = 0, failed = 0, extra = 0;
	static int tids[4096];
	char why[160] = "";
	stw_set_for_test(mode, LONG_MS);
	spawning = 1;
	atomic_store(&spawned, 0);
	pthread_create(&sp, NULL, spawner, NULL);
	WAIT_FOR(atomic_load(&spawned) > 50, 10000);
	/* (the signal alone cannot stop the all-blocked worker: it is skipped then) */
	int skip = workers[BLOCKED].tid, nskip = mode == MODE_SIGNAL;
	for (int i = 0; i < rounds; i++) {
		struct stw_world w;
		if (stw_stop(&w, &skip, (unsigned)nskip) != 0) {
			failed++;
			memcpy(why, w.why, sizeof why);
			continue;
		}
		int n = list_tasks(tids, 4096) - nskip, all = 1;
		for (int k = 0; k < n + nskip && k < 4096; k++)
			all &= find(&w, tids[k]) != NULL || (nskip && tids[k] == skip);
		good += all && n == (int)w.n;
		extra += n - (int)w.n;
		stw_start(&w);
		sleep_ms(2);
	}
	spawning = 0;
	pthread_join(sp, NULL);
	ok(good == rounds, "%s, threads starting threads: after each of %d stops every thread listed is stopped (%d "
	   "good, %d failed%s%s, %d unstopped; %d threads started)", name, rounds, good, failed, failed ? ": " : "",
	   why, extra, atomic_load(&spawned));
}

/* ---- back to back -------------------------------------------------------------------------------- */

static volatile unsigned long busy_count[8];
static volatile int busy_quit;
static _Atomic int busy_tid[8];

static void *busy(void *arg)
{
	volatile unsigned long *n = arg;
	busy_tid[n - busy_count] = gettid_();
	while (!busy_quit)
		(*n)++;
	return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static void test_back_to_back(int mode, const char *name, int rounds)
{
	pthread_t t[8];
	uint64_t ns[64];
	int good = 0;
	unsigned nsig = 0, npt = 0;
	char why[160] = "";
	stw_set_for_test(mode, LONG_MS);
	busy_quit = 0;
	for (int i = 0; i < 8; i++) {
		busy_tid[i] = 0;
		pthread_create(&t[i], NULL, busy, (void *)&busy_count[i]);
	}
	for (int i = 0; i < 8; i++)
		WAIT_FOR(busy_tid[i] != 0, 10000);
	int skip = workers[BLOCKED].tid, nskip = mode == MODE_SIGNAL;
	for (int i = 0; i < rounds; i++) {
		struct stw_world w;
		if (stw_stop(&w, &skip, (unsigned)nskip) != 0) {
			memcpy(why, w.why, sizeof why);
			continue;
		}
		/* The busy threads, the workers of the other tests (and threads of the relisting test
		 * that may still be on their way out). */
		int all = w.n >= (unsigned)(8 + NKINDS - nskip);
		for (int k = 0; k < NKINDS - nskip; k++)
			all &= find(&w, workers[k].tid) != NULL;
		for (int k = 0; k < 8; k++)
			all &= find(&w, busy_tid[k]) != NULL;
		good += all;
		nsig += w.nsignal;
		npt += w.nptrace;
		ns[i] = w.stop_ns;
		stw_start(&w);
	}
	busy_quit = 1;
	for (int i = 0; i < 8; i++)
		pthread_join(t[i], NULL);
	qsort(ns, (size_t)good, sizeof ns[0], cmp_u64);
	ok(good == rounds, "%s: %d stop/start rounds back to back with 8 busy threads (%d good%s%s; %u by signal, "
	   "%u by ptrace; median stop %.3f ms)", name, rounds, good, good < rounds ? ": " : "", why, nsig, npt,
	   good ? (double)ns[good / 2] / 1e6 : 0.0);
}

/* ---- many threads: records past the first chunk of slots and the first size of the tid set ---- */

#define MANY 600
static int many_pipe[2];
static _Atomic int many_tid[MANY];

static void *many_main(void *arg)
{
	char c;
	many_tid[(intptr_t)arg] = gettid_();
	while (read(many_pipe[0], &c, 1) > 0)
		;
	return NULL;
}

static void test_many(int can_ptrace)
{
	static pthread_t t[MANY];
	pthread_attr_t a;
	int n = 0;
	if (pipe(many_pipe) != 0)
		abort();
	pthread_attr_init(&a);
	pthread_attr_setstacksize(&a, 64 * 1024);
	for (; n < MANY; n++) {
		many_tid[n] = 0;
		if (pthread_create(&t[n], &a, many_main, (void *)(intptr_t)n) != 0)
			break;
	}
	pthread_attr_destroy(&a);
	for (int i = 0; i < n; i++)
		WAIT_FOR(many_tid[i] != 0, 10000);
	int skip = workers[BLOCKED].tid;
	for (int mode = MODE_SIGNAL; mode <= MODE_AUTO; mode++) {
		if (mode != MODE_SIGNAL && !can_ptrace)
			continue;
		struct stw_world w;
		stw_set_for_test(mode, LONG_MS);
		int r = stw_stop(&w, &skip, mode == MODE_SIGNAL), found = 0;
		if (r == 0) {
			for (int i = 0; i < n; i++)
				found += find(&w, many_tid[i]) != NULL;
			stw_start(&w);
		}
		ok(r == 0 && found == MANY, "%s: %d threads stopped, every one of the %d found (%.1f ms%s%s)",
		   mode == MODE_SIGNAL ? "signal" : mode == MODE_PTRACE ? "ptrace" : "auto", r ? 0 : (int)w.n, found,
		   (double)w.stop_ns / 1e6, r ? "; " : "", r ? w.why : "");
	}
	close(many_pipe[1]);
	for (int i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	close(many_pipe[0]);
}

/* ---- ptrace refused: another process traces the all-blocked thread ---------------------------- */

static void test_ptrace_refused(void)
{
	int p[2], tid = workers[BLOCKED].tid;
	if (pipe(p) != 0)
		abort();
	pid_t pid = fork();
	if (pid == 0) {
		char r = ptrace(PTRACE_SEIZE, tid, 0, 0) == 0 ? 'y' : 'n';
		if (write(p[1], &r, 1) != 1)
			_exit(1);
		pause(); /* (killed: the kernel detaches it) */
		_exit(0);
	}
	char r = 'n';
	if (read(p[0], &r, 1) != 1)
		r = 'n';
	close(p[0]);
	close(p[1]);
	if (r != 'y') {
		ok(1, "ptrace refused # SKIP another process could not seize the thread");
		ok(1, "ptrace refused # SKIP");
	} else {
		stw_set_for_test(MODE_AUTO, LONG_MS);
		struct stw_world w;
		unsigned long long t0 = ms_now();
		int st = stw_stop(&w, NULL, 0);
		if (st == 0)
			stw_start(&w);
		char want[64];
		snprintf(want, sizeof want, "thread %d could not be stopped", tid);
		ok(st == -1 && strstr(w.why, want) && strstr(w.why, "ptrace not permitted: EPERM") && strstr(w.why, "traced by"),
		   "auto: a thread another process traces makes the stop fail at once (%llu ms): %s", ms_now() - t0,
		   w.why);
		unsigned long q = workers[SPIN].progress;
		WAIT_FOR(workers[SPIN].progress != q, 10000);
		ok(workers[SPIN].progress != q, "the other threads run again");
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/* ---- children ---------------------------------------------------------------------------------- */

/* A forked child: no thread but itself, stw_fork_child, stops that stop nothing. */
static void test_fork(void)
{
	pid_t pid = fork();
	if (pid == 0) {
		stw_fork_child();
		struct stw_world w;
		int bad = 0;
		for (int i = 0; i < 3; i++) {
			bad |= stw_stop(&w, NULL, 0) != 0 || w.n != 0;
			stw_start(&w);
		}
		_exit(bad);
	}
	int st;
	waitpid(pid, &st, 0);
	ok(WIFEXITED(st) && WEXITSTATUS(st) == 0, "a forked child stops its (no) other threads after stw_fork_child");
}

/* The main thread calls pthread_exit and stays a zombie; another thread stops the world. */
static pid_t zombie_leader;

static void *zombie_stopper(void *arg)
{
	int mode = (int)(intptr_t)arg;
	char path[64], buf[512] = "";
	snprintf(path, sizeof path, "/proc/self/task/%d/status", (int)zombie_leader);
	for (int i = 0; i < 10000 && !strstr(buf, "State:\tZ"); i++) {
		int fd = open(path, O_RDONLY);
		ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf - 1) : 0;
		buf[n > 0 ? n : 0] = 0;
		if (fd >= 0)
			close(fd);
		sleep_ms(1);
	}
	stw_set_for_test(mode, 5000);
	struct stw_world w;
	int r = stw_stop(&w, NULL, 0);
	if (r == 0)
		stw_start(&w);
	_exit(r == 0 && w.n == 0 && w.stop_ns < 2000000000ull ? 0 : 1);
}

static void test_zombie_leader(int mode, const char *name)
{
	pid_t pid = fork();
	if (pid == 0) {
		pthread_t t;
		zombie_leader = getpid();
		pthread_create(&t, NULL, zombie_stopper, (void *)(intptr_t)mode);
		pthread_exit(NULL);
	}
	int st;
	waitpid(pid, &st, 0);
	ok(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s: a main thread that called pthread_exit (a zombie) is passed over",
	   name);
}

/* This program again, with GOALLOC_GC_SIGNAL=sig (read by the core's constructor): what it
 * prints on stderr into err, its wait status. */
static int run_signal_child(const char *self, int sig, const char *what, char *err, size_t errsz)
{
	int p[2];
	if (pipe(p) != 0)
		abort();
	pid_t pid = fork();
	if (pid == 0) {
		char env[64];
		snprintf(env, sizeof env, "GOALLOC_GC_SIGNAL=%d", sig);
		char *argv[] = {(char *)self, "--signal-child", (char *)what, NULL};
		char *envp[] = {env, NULL};
		dup2(p[1], 2);
		close(p[0]);
		int devnull = open("/dev/null", O_WRONLY);
		dup2(devnull, 1);
		execve(self, argv, envp);
		_exit(100);
	}
	close(p[1]);
	size_t n = 0;
	ssize_t r;
	while (n < errsz - 1 && (r = read(p[0], err + n, errsz - 1 - n)) > 0)
		n += (size_t)r;
	err[n] = 0;
	close(p[0]);
	int st;
	waitpid(pid, &st, 0);
	return st;
}

static int signal_child(const char *what)
{
	stw_set_for_test(MODE_SIGNAL, LONG_MS);
	if (stw_init() != 0)
		return 10;
	if (!strcmp(what, "which"))
		return stw_signal();
	/* "dfl": a stop works with the signal; then the program's SIG_DFL for it ends the process. */
	struct worker w = {.kind = SPIN, .magic = 1};
	pthread_create(&w.th, NULL, worker_main, &w);
	WAIT_FOR(atomic_load(&ready) == 1, 10000);
	struct stw_world sw;
	if (stw_stop(&sw, NULL, 0) != 0 || sw.n != 1 || sw.nsignal != 1)
		return 11;
	stw_start(&sw);
	struct sigaction a;
	memset(&a, 0, sizeof a);
	a.sa_handler = SIG_DFL;
	stw_program_sigaction(&a, NULL);
	kill(getpid(), stw_signal());
	sleep_ms(5000);
	return 12;
}

static void test_signal_choice(const char *self)
{
	char err[512];
	int st = run_signal_child(self, SIGSEGV, "which", err, sizeof err);
	ok(WIFEXITED(st) && WEXITSTATUS(st) == SIGURG && strstr(err, "GOALLOC_GC_SIGNAL=11 cannot stop threads"),
	   "GOALLOC_GC_SIGNAL=11 (SIGSEGV) is refused with a warning and SIGURG used (status %d, stderr: %s)", st, err);
	st = run_signal_child(self, SIGUSR2, "which", err, sizeof err);
	ok(WIFEXITED(st) && WEXITSTATUS(st) == SIGUSR2 && !err[0], "GOALLOC_GC_SIGNAL=12 (SIGUSR2) is taken (status %d)",
	   st);
	st = run_signal_child(self, SIGUSR2, "dfl", err, sizeof err);
	ok(WIFSIGNALED(st) && WTERMSIG(st) == SIGUSR2,
	   "SIGUSR2 stops threads, and with the program's SIG_DFL a SIGUSR2 ends the process as the kernel would "
	   "(status %#x)", st);
}

static int traced(void)
{
	char buf[4096];
	int fd = open("/proc/self/status", O_RDONLY);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
	if (fd >= 0)
		close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	const char *t = strstr(buf, "TracerPid:");
	return t && atoi(t + 10) != 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "--signal-child"))
		return signal_child(argv[2]);
	if (getenv("GOALLOC_UNDER_VALGRIND"))
		skip_all("under valgrind (it runs one thread at a time and delays signals)");
	int can_ptrace = !traced();

	struct stw_world w;
	ok(stw_stop(&w, NULL, 0) == -1 && strstr(w.why, "stw_init"), "before stw_init, stw_stop fails: %s", w.why);
	stw_set_for_test(MODE_AUTO, LONG_MS);
	ok(stw_init() == 0 && stw_signal() == SIGURG, "stw_init: the stop signal is SIGURG");
	ok(stw_init() == 0, "stw_init again does nothing");
	ok(stw_stop(&w, NULL, 0) == 0 && w.n == 0, "alone: nothing to stop (%s)", w.why);
	stw_start(&w);

	start_workers();
	stw_set_for_test(MODE_SIGNAL, LONG_MS);
	int skip = workers[BLOCKED].tid;
	ok(stw_stop(&w, &skip, 1) == 0, "signal: skipped threads are not waited for (%s)", w.why);
	int none_blocked = find(&w, skip) == NULL;
	stw_start(&w);
	ok(none_blocked, "signal: the skipped thread is not among the stopped");

	/* Every worker but the all-blocked one, by signal. */
	{
		struct stw_world w2;
		struct seen seen[NKINDS];
		int r = stw_stop(&w2, &skip, 1);
		if (r == 0) {
			for (int k = 0; k < NKINDS; k++)
				inspect(&w2, &workers[k], &seen[k]);
			stw_start(&w2);
		}
		int good = r == 0;
		for (int k = 0; k < NKINDS && good; k++)
			if (k != BLOCKED)
				good &= seen[k].found && seen[k].how == STW_BY_SIGNAL && seen[k].sp_in_stack &&
					seen[k].magic_above_sp && seen[k].tp_ok && seen[k].alt_ok;
		ok(good && seen[REGS].reg_ok == 3, "signal: sp, stack, thread pointer, sigaltstack and registers of every "
		   "worker (%s)", r ? w2.why : "ok");
	}

	/* The all-blocked thread under the signal alone: the stop fails, naming it. */
	stw_set_for_test(MODE_SIGNAL, 300);
	unsigned long long t0 = ms_now();
	int r = stw_stop(&w, NULL, 0);
	unsigned long long took = ms_now() - t0;
	char want[96];
	snprintf(want, sizeof want, "thread %d could not be stopped within 300 ms (it blocks signal %d)",
		 workers[BLOCKED].tid, SIGURG);
	ok(r == -1 && strstr(w.why, want) && took < 10000, "signal: the all-blocked thread makes the stop fail after "
	   "%llu ms: %s", took, w.why);
	unsigned long p[NKINDS];
	for (int k = 0; k < NKINDS; k++)
		p[k] = workers[k].progress;
	WAIT_FOR(workers[SPIN].progress != p[SPIN] && workers[REGS].progress != p[REGS] &&
			 workers[BLOCKED].progress != p[BLOCKED] && workers[SLEEP].progress != p[SLEEP],
		 10000);
	ok(workers[SPIN].progress != p[SPIN] && workers[REGS].progress != p[REGS] &&
		   workers[BLOCKED].progress != p[BLOCKED] && workers[SLEEP].progress != p[SLEEP],
	   "signal: after the failure every thread runs on");

	if (can_ptrace) {
		stw_set_for_test(MODE_AUTO, LONG_MS);
		stop_and_check("auto", STW_BY_PTRACE, STW_BY_SIGNAL, 1);
		stw_set_for_test(MODE_PTRACE, LONG_MS);
		stop_and_check("ptrace", STW_BY_PTRACE, STW_BY_PTRACE, 1);
	} else {
		ok(1, "auto # SKIP this process is traced: ptrace is refused");
		ok(1, "ptrace # SKIP this process is traced: ptrace is refused");
	}

	/* The stop request the all-blocked thread never took (from the failed stop) is stale now:
	 * when it unblocks signals the handler returns at once. */
	workers[BLOCKED].unblock = 1;
	WAIT_FOR(workers[BLOCKED].unblocked, 10000);
	ok(workers[BLOCKED].unblocked, "a stale stop request, delivered late, returns at once");

	stw_set_for_test(MODE_AUTO, LONG_MS);
	test_program_handler();
	if (can_ptrace)
		test_ptrace_refused();

	test_relisting(MODE_SIGNAL, "signal");
	if (can_ptrace) {
		test_relisting(MODE_AUTO, "auto");
		test_relisting(MODE_PTRACE, "ptrace");
	}
	test_many(can_ptrace);
	test_back_to_back(MODE_SIGNAL, "signal", 50);
	if (can_ptrace) {
		test_back_to_back(MODE_AUTO, "auto", 50);
		test_back_to_back(MODE_PTRACE, "ptrace", 20);
	}

	stop_workers();
	test_fork();
	test_zombie_leader(MODE_SIGNAL, "signal");
	if (can_ptrace)
		test_zombie_leader(MODE_PTRACE, "ptrace");
	test_signal_choice(argv[0]);
	return done_testing();
}
