/* stw.c — see stw.h. Stopping every other thread of the process for the collector.
 *
 * One stop (a stop sequence number, seq) goes like this. The stopper lists /proc/self/task and
 * gives each thread it has not seen a slot. A thread that takes the signal is sent a queued stop
 * request naming the sequence and its slot; its handler (stop_handler) claims the slot, writes the
 * interrupted registers into it, marks it stopped and parks on the gate until stw_start opens it.
 * A thread that blocks the signal (auto) or every thread (ptrace) is handed to the tracer, a task
 * cloned from the stopper that shares its memory, which seizes the thread, interrupts it and
 * writes its registers into the same slot. The listing is repeated until one, taken when every
 * listed thread was already stopped, finds no new thread (a running thread may have created one
 * meanwhile); requests not answered are sent again every RESEND_NS (a standard signal already
 * pending is merged, and a thread may have blocked the signal since). A thread that exits is
 * dropped. Under the signal alone, a thread that still blocks it at a resend makes the attempt
 * back off: every thread runs again, and a new attempt starts once it has unblocked the signal
 * (glibc blocks every signal in a thread that starts or ends, around a lock a stopped thread may
 * hold: waiting would never end). A thread not stopped within GOALLOC_GC_STOP_TIMEOUT ms, or one
 * ptrace refuses, ends the stop: every thread stopped so far runs again and stw_stop says why.
 *
 * A slot's state word says which stop it belongs to and where it is (SLOT: seq << 3 | phase):
 *
 *   SIGNAL  --handler-->  CLAIMED  --handler-->  STOPPED
 *   SIGNAL  --stopper-->  DEAD      (the thread left, or the stop is over: a late request finds
 *                                    the slot taken from it and returns at once)
 *   SIGNAL  --stopper-->  PTRACE    (auto: it blocks the signal now)
 *   PTRACE  --tracer--->  STOPPED | DEAD | FAILED (ptrace refused; err says why)
 *
 * The handler writes a slot's record only between claiming it and publishing STOPPED, and only
 * for the stop in force, so a request that arrives late (its thread was dropped, its stop is
 * over, or it was sent twice) never writes a record and never parks. Slots live in chunks that
 * never move or go away, so a handler that read a chunk pointer can always use it.
 *
 * Locks: none, and nothing here takes one. The stopper runs with every goalloc lock held by its
 * caller; between the first request and stw_start it calls only system calls, the vDSO clock and
 * ga_os_alloc/ga_os_free (mmap). The handler and the tracer use raw system calls only: the
 * handler may interrupt any code (libc's included), and the tracer shares the stopper's thread
 * pointer, so it must not touch errno or any other thread variable.
 */
#include "stw.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>
#include <ucontext.h>

#include "fmt.h"
#include "options.h"
#include "os.h"

#if !defined(__x86_64__)
#error "core/stw.c: registers and system calls are written for x86-64 only"
#endif

/* libc's own sigaction (the same function under its other public name; preload/ wraps sigaction). */
extern int __sigaction(int sig, const struct sigaction *act, struct sigaction *oact);
/* Absent from the unit tests, which link core/ without preload/. */
extern __typeof__(ga_sig_forward) ga_sig_forward __attribute__((weak));

enum { STOP_SIGNAL, STOP_PTRACE, STOP_AUTO }; /* GOALLOC_GC_STOP, in the options' order */

#define RESEND_NS (20 * 1000000ull)

/* ---- raw system calls (no errno: they return -errno) ---------------------------------------- */

static inline long sys6(long n, long a, long b, long c, long d, long e, long f)
{
	long r;
	register long r10 __asm__("r10") = d;
	register long r8 __asm__("r8") = e;
	register long r9 __asm__("r9") = f;
	__asm__ volatile("syscall"
			 : "=a"(r)
			 : "0"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
			 : "rcx", "r11", "memory");
	return r;
}
#define SYS(n, a, b, c) sys6(SYS_##n, (long)(a), (long)(b), (long)(c), 0, 0, 0)
#define SYS4(n, a, b, c, d) sys6(SYS_##n, (long)(a), (long)(b), (long)(c), (long)(d), 0, 0)

static inline int raw_gettid(void)
{
	return (int)SYS(gettid, 0, 0, 0);
}

static inline int raw_getpid(void)
{
	return (int)SYS(getpid, 0, 0, 0);
}

/* Wait while *w == v, at most ns nanoseconds (0: no limit). */
static inline void futex_wait(_Atomic uint32_t *w, uint32_t v, uint64_t ns)
{
	struct timespec ts = {(time_t)(ns / 1000000000u), (long)(ns % 1000000000u)};
	SYS4(futex, w, FUTEX_WAIT_PRIVATE, v, ns ? &ts : NULL);
}

static inline void futex_wake(_Atomic uint32_t *w, int n)
{
	SYS(futex, w, FUTEX_WAKE_PRIVATE, n);
}

/* The kernel's sigset_t: one bit per signal, bit sig-1. */
static inline uint64_t sigbit(int sig)
{
	return UINT64_C(1) << (sig - 1);
}

static inline long set_mask(int how, uint64_t set, uint64_t *old)
{
	return SYS4(rt_sigprocmask, how, &set, old, sizeof set);
}

static uint64_t now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/* ---- the slots -------------------------------------------------------------------------------- */

enum { PH_SIGNAL = 1, PH_CLAIMED, PH_STOPPED, PH_PTRACE, PH_DEAD, PH_FAILED };
#define SEQ_BITS 24
#define SLOT(seq, ph) ((uint32_t)(seq) << 3 | (uint32_t)(ph))

struct slot {
	_Atomic uint32_t state; /* SLOT(seq, phase), as in the diagram above */
	int tid;                /* set by the stopper before any request names the slot */
	unsigned listed;        /* stopper: the last listing that showed the thread */
	int blocked;            /* stopper: it blocked the stop signal when its status was last read */
	int err;                /* FAILED: the errno ptrace returned (tracer) */
	int pt_attached;        /* tracer only: seized, to be detached */
	int pt_waiting;         /* tracer only: interrupted, its stop not seen yet */
	int pt_sig;             /* tracer only: the signal it was stopped delivering, given back at detach */
	struct stw_thread rec;  /* written by whoever moves the slot to STOPPED, before it does */
};

#define SLOTS_PER_CHUNK 256u
#define MAX_CHUNKS 1024u /* 262144 threads */
static struct slot *_Atomic chunks[MAX_CHUNKS]; /* filled in order, never freed */
static unsigned nchunks;                         /* stopper only */
static _Atomic unsigned nslots;                  /* slots in use in this stop (the tracer reads it) */

static inline struct slot *slot_at(unsigned i)
{
	struct slot *c = atomic_load_explicit(&chunks[i / SLOTS_PER_CHUNK], memory_order_acquire);
	return c ? &c[i % SLOTS_PER_CHUNK] : NULL;
}

/* A stop request's si_value: REQ_MAGIC in the top 16 bits, the stop's sequence, the slot. */
#define REQ_MAGIC UINT64_C(0x5717)
#define REQ_VALUE(seq, slot) (REQ_MAGIC << 48 | (uint64_t)(seq) << SEQ_BITS | (slot))

/* ---- state ------------------------------------------------------------------------------------- */

static _Atomic int stop_sig; /* 0: no handler installed (ptrace mode, or before stw_init) */
static int inited;           /* 1 ready, -1 stw_init failed */
static int stop_mode;        /* STOP_* */
static long long timeout_ms;
static int set_for_test;     /* stw_set_for_test was called: the options are not read */
static int have_yama; /* /proc/sys/kernel/yama exists: the tracer must be named with PR_SET_PTRACER */

/* The sequence of the stop in force, 0 when none. Handlers of that stop park while it holds it;
 * stw_start clears it and wakes them. */
static _Atomic uint32_t gate;
/* Bumped, with a wake, whenever a handler or the tracer settles a slot: the stopper waits on it. */
static _Atomic uint32_t acks;
/* Handlers between claiming a slot and returning: a stop waits until the last one has left (its
 * signal mask, all blocked, would otherwise make it look as if it blocked the stop signal). */
static _Atomic uint32_t inside;
static uint32_t seq;         /* stopper: the last sequence number used */
static _Atomic int stopping; /* a stw_stop is under way or its threads are stopped */

/* The tracer: a task of its own thread group, alive from the first thread handed to it in a stop
 * until stw_start or the failure, and never past the thread that started it (tracer_main). */
static int tracer;                  /* its pid, 0 when there is none (stopper only) */
static _Atomic uint32_t tracer_cmd; /* bumped for new work; TRACER_EXIT: detach all and exit */
static _Atomic uint32_t tracer_seq; /* the stop it works for */
static long tracer_ppid;            /* the process that started it (its getppid while that lives) */
static long tracer_stopper;         /* the thread that started it */
#define TRACER_CHECK_NS (100 * 1000000ull)
#define TRACER_EXIT 0x80000000u
#define TRACER_STACK (64 * 1024)
static void *tracer_stack;

/* The stopped threads as stw_stop hands them out (stopper only). */
static struct stw_thread *out;
static unsigned out_cap;

/* tid → slot of this stop: open addressing, tid << 32 | slot + 1, 0 empty (stopper only). */
static uint64_t *tidset;
static unsigned tidset_cap; /* a power of two, at least twice the slots in use */

/* The program's action for the stop signal (stw_program_sigaction). The handler reads the three
 * atomics, in this order: handler (acquire), then flags and mask; prog_act, for queries, is
 * written only by stw_program_sigaction. */
#define PROG_DFL 0u
#define PROG_IGN 1u
#define PROG_INFO (UINT64_C(1) << 63) /* the handler takes three arguments (SA_SIGINFO) */
static _Atomic uint64_t prog_handler; /* address | PROG_INFO, or PROG_DFL / PROG_IGN */
static _Atomic int prog_flags;
static _Atomic uint64_t prog_mask; /* kernel sigset */
static struct sigaction prog_act;

/* ---- the stop handler ------------------------------------------------------------------------- */

static void copy_words(volatile uintptr_t *to, const uintptr_t *from, unsigned n)
{
	for (unsigned i = 0; i < n; i++) /* (volatile: never a memcpy call, which may be lazily bound) */
		to[i] = from[i];
}

static void record_signal_frame(struct stw_thread *r, const ucontext_t *uc)
{
	_Static_assert(NGREG <= STW_MAX_REGS, "gregs fit");
	uintptr_t tp;
	stack_t ss;
	__asm__("mov %%fs:0, %0" : "=r"(tp)); /* the TCB's pointer to itself: the %fs base */
	r->how = STW_BY_SIGNAL;
	r->sp = (uintptr_t)uc->uc_mcontext.gregs[REG_RSP];
	r->tp = tp;
	r->nregs = NGREG;
	copy_words(r->regs, (const uintptr_t *)uc->uc_mcontext.gregs, NGREG);
	r->altstack_lo = r->altstack_hi = 0;
	if (SYS(sigaltstack, NULL, &ss, 0) == 0 && !(ss.ss_flags & SS_DISABLE) && ss.ss_size) {
		r->altstack_lo = (uintptr_t)ss.ss_sp;
		r->altstack_hi = (uintptr_t)ss.ss_sp + ss.ss_size;
	}
}

/* A stop request v for this thread: if its stop is in force and its slot still waits for this
 * thread, record the registers and park until stw_start (1). Anything else returns at once (0). */
static int park(uint64_t v, const ucontext_t *uc)
{
	uint32_t q = (uint32_t)(v >> SEQ_BITS) & ((1u << SEQ_BITS) - 1);
	unsigned i = (unsigned)(v & ((1u << SEQ_BITS) - 1));
	if (atomic_load_explicit(&gate, memory_order_acquire) != q || i / SLOTS_PER_CHUNK >= MAX_CHUNKS)
		return 0;
	struct slot *s = slot_at(i);
	uint32_t want = SLOT(q, PH_SIGNAL);
	if (!s || s->tid != raw_gettid() ||
	    !atomic_compare_exchange_strong_explicit(&s->state, &want, SLOT(q, PH_CLAIMED), memory_order_acquire,
						     memory_order_relaxed))
		return 0;
	atomic_fetch_add_explicit(&inside, 1, memory_order_relaxed);
	record_signal_frame(&s->rec, uc);
	atomic_store_explicit(&s->state, SLOT(q, PH_STOPPED), memory_order_release);
	atomic_fetch_add_explicit(&acks, 1, memory_order_release);
	futex_wake(&acks, 1);
	while (atomic_load_explicit(&gate, memory_order_acquire) == q)
		futex_wait(&gate, q, 0);
	if (atomic_fetch_sub_explicit(&inside, 1, memory_order_release) == 1)
		futex_wake(&inside, 1);
	return 1;
}

/* struct sigaction as the rt_sigaction system call takes it (not libc's layout). */
struct kernel_sigaction {
	void *handler;
	unsigned long flags;
	void *restorer;
	uint64_t mask;
};

/* Signals whose default action is to do nothing. */
static int default_ignores(int sig)
{
	return sig == SIGURG || sig == SIGWINCH || sig == SIGCHLD || sig == SIGCONT;
}

/* The program left the stop signal at SIG_DFL and the default is to end the process: do what the
 * kernel would have done. The disposition goes back to SIG_DFL (goalloc's handler is gone; so are
 * later stops, with the process) and the signal is raised again and let through. */
static void die_by_default(int sig)
{
	struct kernel_sigaction dfl = {SIG_DFL, 0, NULL, 0};
	SYS4(rt_sigaction, sig, &dfl, NULL, sizeof(uint64_t));
	SYS(tgkill, raw_getpid(), raw_gettid(), sig);
	set_mask(SIG_UNBLOCK, sigbit(sig), NULL);
}

/* A signal that is not a stop request goes to the program's action, as the kernel would have
 * given it: its mask in force (the interrupted code's, plus its sa_mask, plus the signal unless
 * SA_NODEFER), SA_RESETHAND honoured, SA_SIGINFO's arguments, and through preload/signal.c's
 * trampoline logic (ga_sig_forward) so that busy is raised if it interrupted goalloc. */
static void forward(int sig, siginfo_t *si, ucontext_t *uc)
{
	uint64_t h = atomic_load_explicit(&prog_handler, memory_order_acquire);
	int flags = atomic_load_explicit(&prog_flags, memory_order_relaxed);
	if (h > PROG_IGN && (flags & SA_RESETHAND) &&
	    !atomic_compare_exchange_strong_explicit(&prog_handler, &h, PROG_DFL, memory_order_acq_rel,
						     memory_order_acquire))
		h = atomic_load_explicit(&prog_handler, memory_order_acquire); /* (reset by another) */
	if (h == PROG_IGN)
		return;
	if (h == PROG_DFL) {
		if (!default_ignores(sig))
			die_by_default(sig);
		return;
	}
	uint64_t m = (uint64_t)uc->uc_sigmask.__val[0] | atomic_load_explicit(&prog_mask, memory_order_relaxed);
	if (!(flags & SA_NODEFER))
		m |= sigbit(sig);
	set_mask(SIG_SETMASK, m, NULL); /* (sigreturn restores the interrupted code's) */
	uintptr_t fn = (uintptr_t)(h & ~PROG_INFO);
	if (ga_sig_forward)
		ga_sig_forward(sig, si, uc, fn, (h & PROG_INFO) != 0);
	else if (h & PROG_INFO)
		((void (*)(int, siginfo_t *, void *))fn)(sig, si, uc);
	else
		((void (*)(int))fn)(sig);
}

/* A stop request's value, or 0 if si is not one. */
static uint64_t request(const siginfo_t *si)
{
	uint64_t v = (uint64_t)(uintptr_t)si->si_value.sival_ptr;
	return si->si_code == SI_QUEUE && v >> 48 == REQ_MAGIC && si->si_pid == raw_getpid() ? v : 0;
}

static void stop_handler(int sig, siginfo_t *si, void *ucv)
{
	int saved = errno;
	uint64_t v = request(si);
	if (!v) {
		forward(sig, si, ucv);
		errno = saved;
		return;
	}
	if (park(v, ucv)) {
		/* A request sent again while this thread was parked is pending now; delivered after
		 * this handler, it would be stale, and the next stop's request, sent meanwhile, would be
		 * merged into it and lost until resent. So the signal pending here is taken now: a
		 * request parks again if its stop is in force, anything else goes to the program. */
		uint64_t set = sigbit(sig);
		struct timespec zero = {0, 0};
		siginfo_t more;
		while (SYS4(rt_sigtimedwait, &set, &more, &zero, sizeof set) == sig) {
			if ((v = request(&more)) != 0)
				park(v, ucv);
			else
				forward(sig, &more, ucv);
		}
	}
	errno = saved;
}

/* ---- the tracer -------------------------------------------------------------------------------- */

/* Settle slot s of stop q on behalf of a handler or the tracer, and tell the stopper. */
static void settle(struct slot *s, uint32_t q, int phase)
{
	atomic_store_explicit(&s->state, SLOT(q, phase), memory_order_release);
	atomic_fetch_add_explicit(&acks, 1, memory_order_release);
	futex_wake(&acks, 1);
}

/* Seize and interrupt slot s's thread; pt_waiting if it is to be waited for. */
static void seize(struct slot *s, uint32_t q)
{
	int tid = s->tid;
	long r = SYS4(ptrace, PTRACE_SEIZE, tid, 0, 0);
	if (r < 0) {
		s->err = (int)-r;
		settle(s, q, r == -ESRCH ? PH_DEAD : PH_FAILED);
		return;
	}
	s->pt_attached = 1;
	s->pt_sig = 0;
	r = SYS4(ptrace, PTRACE_INTERRUPT, tid, 0, 0);
	if (r < 0) {
		SYS4(ptrace, PTRACE_DETACH, tid, 0, 0);
		s->pt_attached = 0;
		s->err = (int)-r;
		settle(s, q, r == -ESRCH ? PH_DEAD : PH_FAILED);
		return;
	}
	s->pt_waiting = 1;
}

/* Slot s's thread has stopped (status st from wait4): its registers. */
static void seized(struct slot *s, uint32_t q, int st)
{
	/* A signal-delivery stop (no event) swallows the signal unless detach gives it back. */
	if ((st >> 16) == 0)
		s->pt_sig = WSTOPSIG(st);
	struct user_regs_struct regs;
	long r = SYS4(ptrace, PTRACE_GETREGS, s->tid, 0, &regs);
	if (r < 0) {
		s->err = (int)-r;
		settle(s, q, PH_FAILED);
		return;
	}
	_Static_assert(sizeof regs / sizeof(uintptr_t) <= STW_MAX_REGS, "user_regs_struct fits");
	s->rec.how = STW_BY_PTRACE;
	s->rec.sp = (uintptr_t)regs.rsp;
	s->rec.tp = (uintptr_t)regs.fs_base;
	s->rec.altstack_lo = s->rec.altstack_hi = 0; /* not readable through ptrace */
	s->rec.nregs = sizeof regs / sizeof(uintptr_t);
	copy_words(s->rec.regs, (const uintptr_t *)&regs, sizeof regs / sizeof(uintptr_t));
	settle(s, q, PH_STOPPED);
}

/* Seize every thread handed to the tracer (slots in PTRACE), interrupting them all before waiting
 * for any: they stop in parallel, each as soon as the scheduler runs it. Each is then waited for
 * by its tid (wait4 for any tracee walks all of them: quadratic in a process of many threads). */
static void seize_all(uint32_t q)
{
	unsigned n = atomic_load_explicit(&nslots, memory_order_acquire);
	for (unsigned i = 0; i < n; i++) {
		struct slot *s = slot_at(i);
		if (atomic_load_explicit(&s->state, memory_order_acquire) == SLOT(q, PH_PTRACE) && !s->pt_attached)
			seize(s, q);
	}
	for (unsigned i = 0; i < n; i++) {
		struct slot *s = slot_at(i);
		if (!s->pt_waiting)
			continue;
		int st;
		long r;
		while ((r = sys6(SYS_wait4, s->tid, (long)&st, __WALL, 0, 0, 0)) == -EINTR)
			;
		s->pt_waiting = 0;
		if (r > 0 && WIFSTOPPED(st)) {
			seized(s, q, st);
		} else { /* it exited */
			s->pt_attached = 0;
			settle(s, q, PH_DEAD);
		}
	}
}

/* The tracer's life: seize the threads handed to it as the stopper bumps tracer_cmd, then, on
 * TRACER_EXIT, detach every one and exit. Raw system calls only: it runs on tracer_stack with the
 * stopper's thread pointer. */
static int tracer_main(void *arg)
{
	(void)arg;
	/* It dies with the thread that started it: a process that exits, is killed or execs during a
	 * stop ends every thread of its group, the stopper among them, but not this task, which has a
	 * thread group of its own (ptrace refuses tracees of the tracer's group) and shares the
	 * process's memory and files: left alone it would sleep here for ever, holding the program's
	 * pipes open. The kernel sends the signal whenever the parent thread exits; if the stopper has
	 * already gone before the request, the parent is no longer a thread of the process. */
	SYS(prctl, PR_SET_PDEATHSIG, SIGKILL, 0);
	if (SYS(getppid, 0, 0, 0) != tracer_ppid)
		SYS(exit, 0, 0, 0);
	/* The kernel does not send it when the process lives on as another program (another thread
	 * called execve, which ends the stopper): the tracer looks for the stopper itself whenever it
	 * waits, and once it is gone detaches every thread (they would stay stopped for ever) and
	 * exits. */
	uint32_t done = 0;
	for (;;) {
		uint32_t c = atomic_load_explicit(&tracer_cmd, memory_order_acquire);
		if (c & TRACER_EXIT)
			break;
		if (c == done) {
			futex_wait(&tracer_cmd, c, TRACER_CHECK_NS);
			if (SYS(tgkill, tracer_ppid, tracer_stopper, 0) == -ESRCH)
				break;
			continue;
		}
		done = c;
		seize_all(atomic_load_explicit(&tracer_seq, memory_order_relaxed));
	}
	unsigned n = atomic_load_explicit(&nslots, memory_order_acquire);
	for (unsigned i = 0; i < n; i++) {
		struct slot *s = slot_at(i);
		if (s->pt_attached)
			SYS4(ptrace, PTRACE_DETACH, s->tid, 0, s->pt_sig);
		s->pt_attached = 0;
	}
	return 0;
}

/* clone(2) without libc: the child runs fn(arg) on stack_top and exits with its result. No
 * CLONE_SETTLS: the child keeps the caller's thread pointer. */
static long raw_clone(unsigned long flags, void *stack_top, int (*fn)(void *), void *arg)
{
	long ret;
	register long r10 __asm__("r10") = 0; /* child_tid */
	register long r8 __asm__("r8") = 0;   /* tls */
	register void *r12 __asm__("r12") = (void *)fn;
	register void *r13 __asm__("r13") = arg;
	__asm__ volatile("syscall\n\t"
			 "test %%rax, %%rax\n\t"
			 "jnz 1f\n\t"
			 "xor %%ebp, %%ebp\n\t" /* the child, on its own stack: fn(arg), then exit */
			 "mov %%r13, %%rdi\n\t"
			 "call *%%r12\n\t"
			 "mov %%eax, %%edi\n\t"
			 "mov %[nr_exit], %%eax\n\t"
			 "syscall\n\t"
			 "ud2\n"
			 "1:"
			 : "=a"(ret)
			 : "0"((long)SYS_clone), "D"(flags), "S"(stack_top), "d"(0L), "r"(r10), "r"(r8), "r"(r12),
			   "r"(r13), [nr_exit] "i"(SYS_exit)
			 : "rcx", "r11", "memory");
	return ret;
}

/* Start the tracer for stop q; -errno if it could not be. Every signal is blocked around clone so
 * that the tracer starts, and stays, with all of them blocked: a handler run there would run on the
 * stopper's thread variables. */
static int tracer_start(uint32_t q)
{
	if (!tracer_stack && !(tracer_stack = ga_os_alloc(TRACER_STACK)))
		return -ENOMEM;
	uint64_t old;
	atomic_store_explicit(&tracer_cmd, 0, memory_order_relaxed);
	atomic_store_explicit(&tracer_seq, q, memory_order_relaxed);
	tracer_ppid = raw_getpid();
	tracer_stopper = raw_gettid();
	set_mask(SIG_SETMASK, ~UINT64_C(0), &old);
	long pid = raw_clone(CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_UNTRACED, (char *)tracer_stack + TRACER_STACK,
			     tracer_main, NULL);
	set_mask(SIG_SETMASK, old, NULL);
	if (pid < 0)
		return (int)pid;
	tracer = (int)pid;
	if (have_yama) /* (Yama's ptrace_scope 1 lets only a named tracer attach to its ancestor) */
		SYS4(prctl, PR_SET_PTRACER, pid, 0, 0);
	return 0;
}

static void tracer_kick(void)
{
	atomic_fetch_add_explicit(&tracer_cmd, 1, memory_order_release);
	futex_wake(&tracer_cmd, 1);
}

/* End the tracer and reap it. It detaches every thread itself unless it may be stuck waiting for
 * one to stop (kill): SIGKILL then, and the kernel detaches them as the tracer dies. */
static void tracer_stop(int kill)
{
	int st;
	if (kill) {
		SYS(tgkill, tracer, tracer, SIGKILL);
	} else {
		atomic_fetch_or_explicit(&tracer_cmd, TRACER_EXIT, memory_order_release);
		futex_wake(&tracer_cmd, 1);
	}
	while (sys6(SYS_wait4, tracer, (long)&st, __WALL, 0, 0, 0) == -EINTR)
		;
	tracer = 0;
	if (have_yama)
		SYS4(prctl, PR_SET_PTRACER, 0, 0, 0);
}

/* The name of errno e, for one-line reasons. */
static const char *errno_name(int e)
{
	switch (e) {
	case EPERM: return "EPERM";
	case ESRCH: return "ESRCH";
	case EINTR: return "EINTR";
	case EIO: return "EIO";
	case EAGAIN: return "EAGAIN";
	case ENOMEM: return "ENOMEM";
	case EACCES: return "EACCES";
	case EBUSY: return "EBUSY";
	case ENOENT: return "ENOENT";
	case EINVAL: return "EINVAL";
	case EMFILE: return "EMFILE";
	case ENOSYS: return "ENOSYS";
	}
	return "an error";
}

/* ---- set-up ------------------------------------------------------------------------------------ */

/* The stop signal may be any signal the program can catch, except those the kernel raises
 * synchronously (the handler leaves them deliverable), job control's, and glibc's own. */
static int usable_stop_signal(int sig)
{
	switch (sig) {
	case SIGKILL: case SIGSTOP: case SIGSEGV: case SIGBUS: case SIGILL: case SIGFPE: case SIGABRT:
	case SIGTRAP: case SIGSYS: case SIGCHLD: case SIGCONT: case SIGTSTP: case SIGTTIN: case SIGTTOU:
		return 0;
	}
	return sig > 0 && sig < _NSIG && (sig < 32 || sig >= SIGRTMIN);
}

static void set_program_action(const struct sigaction *a)
{
	uint64_t h;
	if (a->sa_handler == SIG_DFL)
		h = PROG_DFL;
	else if (a->sa_handler == SIG_IGN)
		h = PROG_IGN;
	else
		h = (uint64_t)(uintptr_t)a->sa_handler | (a->sa_flags & SA_SIGINFO ? PROG_INFO : 0);
	prog_act = *a;
	atomic_store_explicit(&prog_mask, (uint64_t)a->sa_mask.__val[0], memory_order_relaxed);
	atomic_store_explicit(&prog_flags, a->sa_flags, memory_order_relaxed);
	atomic_store_explicit(&prog_handler, h, memory_order_release);
}

/* goalloc's handler for sig. It blocks every signal but those the kernel raises synchronously (a
 * blocked one would kill the process), so that nothing runs on a parked thread; SA_ONSTACK as the
 * program asked for its own handler, which the kernel runs through this one. */
static int install_handler(int sig, int onstack)
{
	struct sigaction sa;
	sa.sa_sigaction = stop_handler;
	sa.sa_flags = SA_SIGINFO | SA_RESTART | (onstack ? SA_ONSTACK : 0);
	sigfillset(&sa.sa_mask);
	static const int sync_signals[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTRAP, SIGSYS};
	for (unsigned i = 0; i < sizeof sync_signals / sizeof sync_signals[0]; i++)
		sigdelset(&sa.sa_mask, sync_signals[i]);
	return __sigaction(sig, &sa, NULL);
}

int stw_init(void)
{
	if (inited)
		return inited > 0 ? 0 : -1;
	if (!set_for_test) {
		stop_mode = (int)ga_option(GA_OPT_GC_STOP);
		timeout_ms = ga_option(GA_OPT_GC_STOP_TIMEOUT);
	}
	have_yama = SYS(access, "/proc/sys/kernel/yama/ptrace_scope", F_OK, 0) == 0;
	long fd = SYS(open, "/proc/self/task", O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
	if (fd < 0) {
		ga_warn("the collector cannot list threads: /proc/self/task: errno %ld", -fd);
		inited = -1;
		return -1;
	}
	SYS(close, fd, 0, 0);
	inited = 1;
	if (stop_mode == STOP_PTRACE)
		return 0;
	int sig = (int)ga_option(GA_OPT_GC_SIGNAL);
	if (!usable_stop_signal(sig)) {
		ga_warn("GOALLOC_GC_SIGNAL=%d cannot stop threads (the kernel, job control or the C library "
			"needs it); using %d (SIGURG)", sig, SIGURG);
		sig = SIGURG;
	}
	/* The action in place (the program's, if it installed one already) becomes the program's. */
	struct sigaction old;
	int r = __sigaction(sig, NULL, &old);
	if (r == 0) {
		set_program_action(&old);
		r = install_handler(sig, old.sa_flags & SA_ONSTACK);
	}
	if (r != 0) {
		if (stop_mode == STOP_SIGNAL) {
			ga_warn("the collector cannot install its handler for signal %d: %s", sig, errno_name(errno));
			inited = -1;
			return -1;
		}
		stop_mode = STOP_PTRACE; /* (auto: ptrace is the one way left) */
		return 0;
	}
	atomic_store_explicit(&stop_sig, sig, memory_order_release);
	return 0;
}

int stw_signal(void)
{
	return atomic_load_explicit(&stop_sig, memory_order_acquire);
}

int stw_program_sigaction(const struct sigaction *act, struct sigaction *oact)
{
	struct sigaction old = prog_act;
	old.sa_handler = SIG_DFL; /* (the handler as it is now: SA_RESETHAND may have reset it) */
	uint64_t h = atomic_load_explicit(&prog_handler, memory_order_acquire);
	if (h == PROG_IGN)
		old.sa_handler = SIG_IGN;
	else if (h != PROG_DFL)
		old.sa_handler = (void (*)(int))(uintptr_t)(h & ~PROG_INFO);
	if (act) {
		int onstack = prog_act.sa_flags & SA_ONSTACK;
		set_program_action(act);
		if ((act->sa_flags & SA_ONSTACK) != onstack)
			install_handler(atomic_load_explicit(&stop_sig, memory_order_relaxed), act->sa_flags & SA_ONSTACK);
	}
	if (oact)
		*oact = old;
	return 0;
}

void stw_set_for_test(int mode, long long ms)
{
	stop_mode = mode;
	timeout_ms = ms;
	set_for_test = 1;
}

void stw_fork_child(void)
{
	tracer = 0; /* (the parent's) */
	atomic_store_explicit(&gate, 0, memory_order_relaxed);
	atomic_store_explicit(&inside, 0, memory_order_relaxed);
	atomic_store_explicit(&nslots, 0, memory_order_relaxed);
	atomic_store_explicit(&stopping, 0, memory_order_relaxed);
}

/* ---- the stopper ------------------------------------------------------------------------------- */

struct stopper {
	struct stw_world *w;
	const int *skip;
	unsigned nskip;
	int self, pid, sig;
	uint32_t q;
	unsigned listing;  /* the number of the current listing of /proc/self/task */
	unsigned pending;  /* slots handed out (SIGNAL, CLAIMED, PTRACE) ... */
	unsigned dropped;  /* ... less those the stopper dropped ... */
	uint32_t acks0;    /* ... less those settled since acks read acks0 */
	int kick;          /* slots were handed to the tracer since it was last told */
	int tracer_err;    /* the tracer could not be started: -errno */
	int blocked_tid;   /* the thread that made the last attempt back off */
	uint64_t t0, deadline;
};

static void set_why(struct stopper *st, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_why(struct stopper *st, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	ga_vfmt(st->w->why, sizeof st->w->why, fmt, ap);
	va_end(ap);
}

/* What /proc/self/task/TID/status says of a thread. gone: no such thread now. */
struct task_status {
	int gone;
	char state;   /* R S D T t Z X ... */
	int blocked;  /* it blocks the stop signal */
	int traced_by;
};

static void read_status(const struct stopper *st, int tid, struct task_status *ts)
{
	char path[48], buf[4096];
	ts->gone = 0;
	ts->state = '?';
	ts->blocked = 0;
	ts->traced_by = 0;
	ga_fmt(path, sizeof path, "/proc/self/task/%d/status", tid);
	long fd = SYS(open, path, O_RDONLY | O_CLOEXEC, 0);
	if (fd < 0) {
		ts->gone = fd == -ENOENT || fd == -ESRCH;
		return;
	}
	size_t n = 0;
	long r;
	while (n < sizeof buf - 1 && (r = SYS(read, fd, buf + n, sizeof buf - 1 - n)) != 0) {
		if (r < 0) {
			if (r == -EINTR)
				continue;
			ts->gone = r == -ESRCH;
			break;
		}
		n += (size_t)r;
	}
	SYS(close, fd, 0, 0);
	buf[n] = 0;
	for (const char *p = buf; *p; p++) {
		if (p == buf || p[-1] == '\n') {
			const char *v = p;
			while (*v && *v != ':' && *v != '\n')
				v++;
			if (*v != ':')
				continue;
			size_t klen = (size_t)(v - p);
			for (v++; *v == ' ' || *v == '\t'; v++)
				;
			if (klen == 5 && !__builtin_memcmp(p, "State", 5)) {
				ts->state = *v;
			} else if (klen == 9 && !__builtin_memcmp(p, "TracerPid", 9)) {
				for (; *v >= '0' && *v <= '9'; v++)
					ts->traced_by = ts->traced_by * 10 + (*v - '0');
			} else if (klen == 6 && !__builtin_memcmp(p, "SigBlk", 6)) {
				uint64_t m = ga_parse_hex(&v);
				ts->blocked = st->sig && (m & sigbit(st->sig)) != 0;
			}
		}
	}
}

static int is_dead_state(char c)
{
	return c == 'Z' || c == 'X';
}

static int is_skipped(const struct stopper *st, int tid)
{
	if (tid == st->self)
		return 1;
	for (unsigned i = 0; i < st->nskip; i++)
		if (st->skip[i] == tid)
			return 1;
	return 0;
}

static unsigned tid_hash(int tid)
{
	return (unsigned)(((uint32_t)tid * 0x9e3779b1u) >> 7);
}

static void tidset_put(int tid, unsigned slot)
{
	unsigned m = tidset_cap - 1;
	for (unsigned h = tid_hash(tid) & m;; h = (h + 1) & m)
		if (!tidset[h]) {
			tidset[h] = (uint64_t)(uint32_t)tid << 32 | (slot + 1);
			return;
		}
}

/* The slot of tid in this stop, or -1. */
static long tidset_get(int tid)
{
	unsigned m = tidset_cap - 1;
	for (unsigned h = tid_hash(tid) & m; tidset[h]; h = (h + 1) & m)
		if ((uint32_t)(tidset[h] >> 32) == (uint32_t)tid)
			return (long)(uint32_t)tidset[h] - 1;
	return -1;
}

/* Room for one more slot (and its tid in the set). 0 if there is none. */
static int reserve_slot(struct stopper *st)
{
	unsigned n = atomic_load_explicit(&nslots, memory_order_relaxed);
	if (n == nchunks * SLOTS_PER_CHUNK) {
		struct slot *c = nchunks < MAX_CHUNKS ? ga_os_alloc(SLOTS_PER_CHUNK * sizeof(struct slot)) : NULL;
		if (!c) {
			set_why(st, "no memory for the record of thread %u (mmap failed)", n + 1);
			return 0;
		}
		atomic_store_explicit(&chunks[nchunks++], c, memory_order_release);
	}
	if (2 * (n + 1) > tidset_cap) {
		unsigned cap = tidset_cap ? 2 * tidset_cap : 1024;
		uint64_t *t = ga_os_alloc(cap * sizeof *t), *old = tidset;
		if (!t) {
			set_why(st, "no memory for the thread set (mmap failed)");
			return 0;
		}
		unsigned oldcap = tidset_cap;
		tidset = t;
		tidset_cap = cap;
		for (unsigned i = 0; i < n; i++)
			tidset_put(slot_at(i)->tid, i);
		if (old)
			ga_os_free(old, oldcap * sizeof *old);
	}
	return 1;
}

/* Send slot i's stop request (again). */
static void send_request(struct stopper *st, struct slot *s, unsigned i)
{
	siginfo_t si;
	__builtin_memset(&si, 0, sizeof si);
	si.si_signo = st->sig;
	si.si_code = SI_QUEUE;
	si.si_pid = st->pid;
	si.si_uid = (uid_t)SYS(getuid, 0, 0, 0);
	si.si_value.sival_ptr = (void *)(uintptr_t)REQ_VALUE(st->q, i);
	long r = SYS4(rt_tgsigqueueinfo, st->pid, s->tid, st->sig, &si);
	uint32_t want = SLOT(st->q, PH_SIGNAL);
	if (r == -ESRCH && atomic_compare_exchange_strong(&s->state, &want, SLOT(st->q, PH_DEAD)))
		st->dropped++; /* it has exited */
	/* (EAGAIN, the queue of signals full: sent again at the next round) */
}

static void to_tracer(struct stopper *st, struct slot *s)
{
	atomic_store_explicit(&s->state, SLOT(st->q, PH_PTRACE), memory_order_release);
	st->kick = 1;
}

/* A thread seen for the first time in this stop: a slot, and a stop request or the tracer. */
static int add_thread(struct stopper *st, int tid)
{
	if (!reserve_slot(st))
		return -1;
	unsigned i = atomic_load_explicit(&nslots, memory_order_relaxed);
	struct slot *s = slot_at(i);
	s->tid = tid;
	s->listed = st->listing;
	s->blocked = 0;
	s->err = 0;
	s->pt_attached = 0;
	s->pt_waiting = 0;
	s->pt_sig = 0;
	s->rec.tid = tid;
	tidset_put(tid, i);
	struct task_status ts = {0, '?', 0, 0};
	/* The status is read where it decides the way (auto), and for the main thread, which may be
	 * a zombie for the rest of the process's life (it called pthread_exit): it never answers a
	 * signal, and ptrace refuses it. (Another thread is a zombie only on its way out: ptrace's
	 * refusal is checked against its status then, see check_failed.) */
	if ((st->sig && stop_mode == STOP_AUTO) || tid == st->pid)
		read_status(st, tid, &ts);
	if (ts.gone || is_dead_state(ts.state)) {
		atomic_store_explicit(&s->state, SLOT(st->q, PH_DEAD), memory_order_relaxed);
	} else if (st->sig == 0 || stop_mode == STOP_PTRACE || (stop_mode == STOP_AUTO && ts.blocked)) {
		s->blocked = ts.blocked;
		st->pending++;
		to_tracer(st, s);
	} else {
		atomic_store_explicit(&s->state, SLOT(st->q, PH_SIGNAL), memory_order_release);
		st->pending++;
		send_request(st, s, i);
	}
	atomic_store_explicit(&nslots, i + 1, memory_order_release);
	return 0;
}

/* Start the tracer if some thread waits for it, and tell it. */
static void kick_tracer(struct stopper *st)
{
	st->kick = 0;
	if (!tracer && !st->tracer_err)
		st->tracer_err = tracer_start(st->q);
	if (st->tracer_err) { /* every thread handed to it fails with the reason */
		unsigned n = atomic_load_explicit(&nslots, memory_order_relaxed);
		for (unsigned i = 0; i < n; i++) {
			struct slot *s = slot_at(i);
			if (atomic_load(&s->state) == SLOT(st->q, PH_PTRACE)) {
				s->err = -st->tracer_err;
				atomic_store(&s->state, SLOT(st->q, PH_FAILED));
				st->dropped++; /* (settled here, not through acks) */
			}
		}
		return;
	}
	tracer_kick();
}

/* List /proc/self/task: a slot for every thread not seen before in this stop; threads not
 * listed any more have exited and are dropped. Returns how many were added, -1 on failure. */
static int list_threads(struct stopper *st)
{
	char buf[4096] __attribute__((aligned(8)));
	long fd = SYS(open, "/proc/self/task", O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
	if (fd < 0) {
		set_why(st, "cannot list threads: /proc/self/task: %s", errno_name((int)-fd));
		return -1;
	}
	int added = 0;
	st->listing++;
	for (;;) {
		long n = SYS(getdents64, fd, buf, sizeof buf);
		if (n == -EINTR)
			continue;
		if (n < 0) {
			set_why(st, "cannot list threads: getdents64: %s", errno_name((int)-n));
			SYS(close, fd, 0, 0);
			return -1;
		}
		if (n == 0)
			break;
		for (long off = 0; off < n;) {
			struct {
				uint64_t ino;
				int64_t off;
				unsigned short reclen;
				unsigned char type;
				char name[];
			} *d = (void *)(buf + off);
			off += d->reclen;
			int tid = 0;
			const char *p = d->name;
			for (; *p >= '0' && *p <= '9'; p++)
				tid = tid * 10 + (*p - '0');
			if (*p || tid <= 0 || is_skipped(st, tid))
				continue;
			long i = tidset_cap ? tidset_get(tid) : -1;
			if (i >= 0) {
				slot_at((unsigned)i)->listed = st->listing;
			} else {
				if (add_thread(st, tid) < 0) {
					SYS(close, fd, 0, 0);
					return -1;
				}
				added++;
			}
		}
	}
	SYS(close, fd, 0, 0);
	unsigned n = atomic_load_explicit(&nslots, memory_order_relaxed);
	for (unsigned i = 0; i < n; i++) {
		struct slot *s = slot_at(i);
		uint32_t want = SLOT(st->q, PH_SIGNAL);
		if (s->listed != st->listing &&
		    atomic_compare_exchange_strong(&s->state, &want, SLOT(st->q, PH_DEAD)))
			st->dropped++;
	}
	if (st->kick)
		kick_tracer(st);
	return added;
}

/* Slots not settled yet. The count from acks is exact unless a handler of an earlier stop, let
 * go but starved since (wait_handlers_out gave up on it), bumped acks after this stop read acks0:
 * so a count that says none, or less than none, is checked against the slots themselves. */
static unsigned unsettled(struct stopper *st)
{
	uint32_t settled = atomic_load_explicit(&acks, memory_order_acquire) - st->acks0;
	unsigned left = st->pending - st->dropped - settled;
	if (left != 0 && left <= st->pending)
		return left;
	unsigned n = atomic_load_explicit(&nslots, memory_order_relaxed);
	left = 0;
	for (unsigned i = 0; i < n; i++) {
		uint32_t s = atomic_load(&slot_at(i)->state);
		left += s == SLOT(st->q, PH_SIGNAL) || s == SLOT(st->q, PH_CLAIMED) || s == SLOT(st->q, PH_PTRACE);
	}
	return left;
}

/* Why slot s (not stopped) is not: one line into w->why. */
static void describe(struct stopper *st, struct slot *s, int timed_out)
{
	struct task_status ts;
	uint32_t ph = atomic_load(&s->state) & 7;
	read_status(st, s->tid, &ts);
	char within[40] = "";
	if (timed_out)
		ga_fmt(within, sizeof within, " within %lld ms", timeout_ms);
	if (ph == PH_FAILED) {
		char by[40] = "";
		if (s->err == EPERM && ts.traced_by)
			ga_fmt(by, sizeof by, ", traced by %d", ts.traced_by);
		if (s->blocked)
			set_why(st, "thread %d could not be stopped%s (it blocks signal %d; ptrace not permitted: %s%s)",
				s->tid, within, st->sig, errno_name(s->err), by);
		else
			set_why(st, "thread %d could not be stopped%s (ptrace not permitted: %s%s)", s->tid, within,
				errno_name(s->err), by);
	} else if (ph == PH_PTRACE) {
		set_why(st, "thread %d could not be stopped%s (ptrace: no stop; state %c)", s->tid, within, ts.state);
	} else if (ts.blocked || s->blocked) {
		set_why(st, "thread %d could not be stopped%s (it blocks signal %d)", s->tid, within, st->sig);
	} else {
		set_why(st, "thread %d could not be stopped%s (signal %d not handled; state %c)", s->tid, within,
			st->sig, ts.state);
	}
}

/* Why the stop failed, into w->why: a slot ptrace refused; else, when timed_out, the thread that
 * made it back off, another that blocks the stop signal (the likeliest cause), else the first
 * thread not stopped. */
static int fail(struct stopper *st, int timed_out)
{
	unsigned n = atomic_load_explicit(&nslots, memory_order_relaxed);
	struct slot *first = NULL;
	for (unsigned i = 0; i < n; i++) {
		struct slot *s = slot_at(i);
		uint32_t ph = atomic_load(&s->state) & 7;
		if (ph == PH_FAILED) {
			describe(st, s, timed_out);
			return -1;
		}
		if (timed_out && !first && ph != PH_STOPPED && ph != PH_DEAD)
			first = s;
	}
	for (unsigned i = 0; first && st->blocked_tid && i < n; i++) {
		struct slot *s = slot_at(i);
		if (s->tid == st->blocked_tid && (atomic_load(&s->state) & 7) == PH_SIGNAL) {
			describe(st, s, timed_out);
			return -1;
		}
	}
	for (unsigned i = 0; first && i < n; i++) {
		struct slot *s = slot_at(i);
		struct task_status ts;
		if ((atomic_load(&s->state) & 7) != PH_SIGNAL)
			continue;
		read_status(st, s->tid, &ts);
		if (ts.blocked) {
			describe(st, s, timed_out);
			return -1;
		}
	}
	if (first)
		describe(st, first, timed_out);
	else
		set_why(st, "threads could not be stopped within %lld ms", timeout_ms);
	return -1;
}

#define BACK_OFF 1

/* Every RESEND_NS: requests not answered are looked at again. A thread that has exited (or is a
 * zombie) is dropped; one that now blocks the signal goes to the tracer under auto, and under the
 * signal alone makes the attempt back off (BACK_OFF); the others are sent the request again.
 * Returns -1 when a slot has failed (ptrace refused). */
static int resend(struct stopper *st)
{
	unsigned n = atomic_load_explicit(&nslots, memory_order_relaxed);
	int failed = 0, back_off = 0, culprit = 0, still = 0;
	for (unsigned i = 0; i < n; i++) {
		struct slot *s = slot_at(i);
		uint32_t ph = atomic_load(&s->state) & 7, want = SLOT(st->q, PH_SIGNAL);
		failed |= ph == PH_FAILED;
		if (ph != PH_SIGNAL)
			continue;
		struct task_status ts;
		read_status(st, s->tid, &ts);
		s->blocked = ts.blocked;
		if (ts.gone || is_dead_state(ts.state)) {
			if (atomic_compare_exchange_strong(&s->state, &want, SLOT(st->q, PH_DEAD)))
				st->dropped++;
		} else if (ts.blocked && stop_mode == STOP_AUTO) {
			if (atomic_compare_exchange_strong(&s->state, &want, SLOT(st->q, PH_PTRACE)))
				st->kick = 1;
		} else if (ts.blocked) {
			back_off = 1;
			culprit = culprit ? culprit : s->tid;
			still |= s->tid == st->blocked_tid;
		} else {
			send_request(st, s, i);
		}
	}
	if (st->kick)
		kick_tracer(st);
	if (back_off && !still) /* (the one named stays named while it blocks the signal) */
		st->blocked_tid = culprit;
	return failed ? -1 : back_off ? BACK_OFF : 0;
}

/* A thread ptrace refused with EPERM may only have been exiting (a zombie cannot be seized): if
 * so it is dropped. Returns -1 if some slot has really failed. */
static int check_failed(struct stopper *st)
{
	unsigned n = atomic_load_explicit(&nslots, memory_order_relaxed);
	int failed = 0;
	for (unsigned i = 0; i < n; i++) {
		struct slot *s = slot_at(i);
		if ((atomic_load(&s->state) & 7) != PH_FAILED)
			continue;
		struct task_status ts;
		read_status(st, s->tid, &ts);
		if (s->err == EPERM && (ts.gone || is_dead_state(ts.state)))
			atomic_store(&s->state, SLOT(st->q, PH_DEAD)); /* (already counted as settled) */
		else
			failed = 1;
	}
	return failed ? -1 : 0;
}

/* One attempt: 0 every thread stopped, -1 failed (w->why says why), BACK_OFF. */
static int stop_all(struct stopper *st)
{
	uint64_t deadline = st->deadline, next = now_ns() + RESEND_NS;
	for (;;) {
		/* Done when a listing taken with every listed thread stopped finds no new one. */
		int quiet = unsettled(st) == 0;
		int added = list_threads(st);
		if (added < 0)
			return -1;
		if (added == 0 && quiet)
			return check_failed(st) < 0 ? fail(st, 0) : 0;
		for (;;) {
			uint32_t seen = atomic_load_explicit(&acks, memory_order_acquire);
			if (unsettled(st) == 0)
				break;
			uint64_t now = now_ns();
			if (now >= deadline)
				return check_failed(st) < 0 ? fail(st, 0) : fail(st, 1);
			if (now >= next) {
				int r = resend(st);
				if (r < 0 && check_failed(st) < 0)
					return fail(st, 0);
				if (r == BACK_OFF)
					return BACK_OFF;
				next = now + RESEND_NS;
				break; /* (and list again: running threads may have started others) */
			}
			futex_wait(&acks, seen, (deadline < next ? deadline : next) - now);
		}
		/* A refusal ends the attempt at once: waiting would not change it. */
		if (check_failed(st) < 0)
			return fail(st, 0);
	}
}

/* Let every thread of stop q run again: parked handlers leave, requests not taken are withdrawn
 * (a late one finds its slot dead), the tracer detaches and goes. */
static void release_all(uint32_t q)
{
	unsigned n = atomic_load_explicit(&nslots, memory_order_relaxed);
	int tracer_busy = 0;
	atomic_store_explicit(&gate, 0, memory_order_release);
	futex_wake(&gate, 0x7fffffff);
	for (unsigned i = 0; i < n; i++) {
		struct slot *s = slot_at(i);
		uint32_t want = SLOT(q, PH_SIGNAL);
		atomic_compare_exchange_strong(&s->state, &want, SLOT(q, PH_DEAD));
		/* A handler that claimed its slot before the gate closed is writing it: let it finish,
		 * so that the slot is not handed to another thread under it. */
		for (;;) {
			uint32_t seen = atomic_load(&acks);
			if (atomic_load(&s->state) != SLOT(q, PH_CLAIMED))
				break;
			futex_wait(&acks, seen, 1000000);
		}
		tracer_busy |= atomic_load(&s->state) == SLOT(q, PH_PTRACE);
	}
	if (tracer)
		tracer_stop(tracer_busy);
}

/* Under the signal alone, a thread that blocks it may be waiting for one that is stopped (glibc
 * blocks every signal in a thread that starts or ends, around locks that running threads take):
 * every thread is let go, and the next attempt waits until it unblocks the signal, at most
 * RESEND_NS. 0, or -1 when the deadline passes. */
static int back_off(struct stopper *st)
{
	uint64_t limit = now_ns() + RESEND_NS;
	for (;;) {
		struct task_status ts;
		uint64_t now = now_ns();
		if (now >= st->deadline) {
			set_why(st, "thread %d could not be stopped within %lld ms (it blocks signal %d)", st->blocked_tid,
				timeout_ms, st->sig);
			return -1;
		}
		read_status(st, st->blocked_tid, &ts);
		if (now >= limit || ts.gone || !ts.blocked)
			return 0;
		struct timespec ms = {0, 1000000};
		SYS(nanosleep, &ms, NULL, 0);
	}
}

/* Handlers of the last stop still on their way out (woken, not yet run): wait for them, at most
 * until limit, so that their all-blocked mask is not taken for the thread's own. */
static void wait_handlers_out(uint64_t limit)
{
	for (uint32_t v; (v = atomic_load_explicit(&inside, memory_order_acquire)) != 0;) {
		uint64_t now = now_ns();
		if (now >= limit)
			return;
		futex_wait(&inside, v, limit - now < 1000000 ? limit - now : 1000000);
	}
}

static int keep_stopped(struct stopper *st)
{
	struct stw_world *w = st->w;
	unsigned n = atomic_load_explicit(&nslots, memory_order_relaxed), k = 0;
	if (n > out_cap) {
		unsigned cap = out_cap ? out_cap : 64;
		while (cap < n)
			cap *= 2;
		struct stw_thread *t = ga_os_alloc(cap * sizeof *t);
		if (!t) {
			set_why(st, "no memory for the records of %u threads (mmap failed)", n);
			return -1;
		}
		if (out)
			ga_os_free(out, out_cap * sizeof *out);
		out = t;
		out_cap = cap;
	}
	for (unsigned i = 0; i < n; i++) {
		struct slot *s = slot_at(i);
		if (atomic_load_explicit(&s->state, memory_order_acquire) != SLOT(st->q, PH_STOPPED))
			continue;
		out[k] = s->rec;
		out[k].tid = s->tid;
		if (s->rec.how == STW_BY_SIGNAL)
			w->nsignal++;
		else
			w->nptrace++;
		k++;
	}
	w->threads = out;
	w->n = k;
	return 0;
}

/* A fresh attempt: a new sequence, no slot handed out; requests of this stop open the gate. */
static void begin_attempt(struct stopper *st)
{
	wait_handlers_out(st->deadline);
	seq = seq % ((1u << SEQ_BITS) - 1) + 1;
	st->q = seq;
	st->pending = st->dropped = 0;
	st->kick = 0;
	st->acks0 = atomic_load_explicit(&acks, memory_order_relaxed);
	atomic_store_explicit(&nslots, 0, memory_order_relaxed);
	if (tidset)
		__builtin_memset(tidset, 0, tidset_cap * sizeof *tidset);
	atomic_store_explicit(&gate, st->q, memory_order_release);
}

int stw_stop(struct stw_world *w, const int *skip, unsigned nskip)
{
	w->threads = out;
	w->n = w->nsignal = w->nptrace = 0;
	w->stop_ns = 0;
	w->why[0] = 0;
	struct stopper st = {.w = w, .skip = skip, .nskip = nskip};
	if (inited <= 0) {
		set_why(&st, "threads cannot be stopped: %s", inited ? "set-up failed" : "stw_init was not called");
		return -1;
	}
	if (atomic_exchange_explicit(&stopping, 1, memory_order_acquire)) {
		set_why(&st, "threads cannot be stopped: another thread is stopping them");
		return -1;
	}
	st.self = raw_gettid();
	st.pid = raw_getpid();
	st.sig = stop_mode == STOP_PTRACE ? 0 : atomic_load_explicit(&stop_sig, memory_order_relaxed);
	if (st.sig) { /* a handler put in since by a raw rt_sigaction would take the requests */
		struct kernel_sigaction k;
		if (SYS4(rt_sigaction, st.sig, NULL, &k, sizeof(uint64_t)) == 0 && k.handler != (void *)stop_handler) {
			if (stop_mode == STOP_SIGNAL) {
				set_why(&st, "threads cannot be stopped: the handler of signal %d is no longer goalloc's",
					st.sig);
				atomic_store_explicit(&stopping, 0, memory_order_release);
				return -1;
			}
			st.sig = 0; /* (auto: every thread by ptrace) */
		}
	}
	st.deadline = now_ns() + (uint64_t)timeout_ms * 1000000u;
	for (;;) {
		begin_attempt(&st);
		if (!st.t0)
			st.t0 = now_ns();
		int r = stop_all(&st);
		if (r == 0 && keep_stopped(&st) == 0)
			break;
		w->n = w->nsignal = w->nptrace = 0;
		release_all(st.q);
		if (r != BACK_OFF || back_off(&st) < 0) {
			atomic_store_explicit(&stopping, 0, memory_order_release);
			return -1;
		}
	}
	w->stop_ns = now_ns() - st.t0;
	return 0;
}

void stw_start(struct stw_world *w)
{
	(void)w;
	if (atomic_load_explicit(&stopping, memory_order_acquire)) {
		release_all(seq);
		atomic_store_explicit(&stopping, 0, memory_order_release);
	}
}
