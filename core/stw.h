/* stw.h — stopping every other thread of the process for the collector (Go: stopTheWorld; bdwgc:
 * pthread_stop_world.c; LeakSanitizer: sanitizer_stoptheworld_linux_libcdep.cpp).
 *
 * Threads are found in /proc/self/task, not registered (glibc and libraries start threads of their
 * own), and the listing is repeated until a pass finds no thread it has not stopped. Two ways to
 * stop one:
 *   signal  a queued signal (GOALLOC_GC_SIGNAL, SIGURG by default) whose handler records the
 *           interrupted stack pointer and registers and parks on a futex until stw_start;
 *   ptrace  a helper task cloned from the caller (its own thread group, as LeakSanitizer's) seizes
 *           the thread, interrupts it and reads its registers.
 * GOALLOC_GC_STOP=auto (the default) uses the signal for threads that do not block it and ptrace
 * for those that do (glibc's timer and AIO helper threads block every signal), when the kernel
 * allows ptrace. A thread that cannot be stopped within GOALLOC_GC_STOP_TIMEOUT ms makes stw_stop
 * restart the others and fail with the reason; the process is never killed.
 *
 * The caller holds every goalloc lock (ga_lock_all), so no stopped thread holds one, and calls
 * nothing while the world is stopped that may take a lock a stopped thread holds (malloc, stdio,
 * the dynamic loader): stw uses raw system calls and memory of its own only.
 *
 * What the program can see: under the signal, poll, nanosleep, epoll_wait and select return EINTR
 * in the threads they interrupt (read on a pipe is restarted: SA_RESTART); the stop signal's
 * handler is goalloc's for good, though sigaction() reports the program's own. Under ptrace, an
 * extra task (not a thread of the process) during the stop, TracerPid in the threads' status,
 * epoll_wait's EINTR, and select's timeout stretched by the stop (make stw-measure shows both). The program's own handler for the stop signal (preload/signal.c routes
 * sigaction() here) is run for every signal that is not a stop request, as the kernel would run
 * it, except that: its SA_RESTART is not honoured (goalloc's handler has it, so calls it
 * interrupts are restarted where the kernel allows); a queued signal it sends itself with the stop
 * request's tag (SI_QUEUE, its own pid, 0x5717 in si_value's top 16 bits) is taken for a stop
 * request; SIG_IGN does not discard the signal at once but when it arrives, so it can still be
 * seen pending or taken by sigwait; a handler put in by a raw rt_sigaction system call replaces
 * goalloc's (stw_stop notices: auto then stops every thread with ptrace, signal fails); and a
 * thread that takes the stop signal with sigwait or signalfd while it blocks it may swallow stop
 * requests under GOALLOC_GC_STOP=signal (auto stops it with ptrace).
 */
#ifndef GA_STW_H
#define GA_STW_H
#include "ga.h"

#define STW_MAX_REGS 32 /* general registers recorded per thread (x86-64 uses 23) */

enum { STW_BY_SIGNAL = 1, STW_BY_PTRACE = 2 };

/* One stopped thread. Its registers are roots: the collector scans regs[0 .. nregs). */
struct stw_thread {
	int tid;
	int how;                 /* STW_BY_* */
	uintptr_t sp;            /* the interrupted stack pointer */
	uintptr_t tp;            /* its thread pointer (x86-64: the %fs base), 0 if unknown */
	/* Its sigaltstack, [lo, hi); 0, 0 if none or unknown (ptrace cannot read it). If sp lies in
	 * it, the thread was running a handler there: where its own stack was interrupted is not
	 * known, so all of that stack is live. */
	uintptr_t altstack_lo, altstack_hi;
	unsigned nregs;
	/* The general registers: signal, ucontext's gregs (REG_R8 ... REG_CR2, NGREG = 23); ptrace,
	 * struct user_regs_struct (27). Vector registers are not recorded. */
	uintptr_t regs[STW_MAX_REGS];
};

struct stw_world {
	struct stw_thread *threads; /* stopped threads, the caller and the skipped ones excluded */
	unsigned n;
	unsigned nsignal, nptrace;  /* how many were stopped each way */
	uint64_t stop_ns;           /* from the first stop request until every thread was stopped */
	char why[160];              /* after a failed stw_stop: why, one line without a newline */
};

/* Set up the stop signal's handler (GC modes only; called once at start-up, after the options).
 * Returns 0, or -1 with a warning printed if no way of stopping threads can work. */
GA_HIDDEN int stw_init(void);
/* Stop every thread of the process except the caller and the nskip threads in skip[] (tids).
 * 0: stopped, w filled (w->threads stays valid until the next stw_stop). -1: not stopped — every
 * thread stopped so far is running again and w->why says why. */
GA_HIDDEN int stw_stop(struct stw_world *w, const int *skip, unsigned nskip);
/* Let every thread stopped by stw_stop run again. */
GA_HIDDEN void stw_start(struct stw_world *w);
/* The signal the collector stops threads with, or 0 before stw_init / when it uses none. */
GA_HIDDEN int stw_signal(void);
/* preload/signal.c's sigaction() for the stop signal: the program's action is recorded, and
 * stays the program's as far as it can tell (queries return it), but the kernel keeps goalloc's
 * handler, which passes every signal that is not a stop request on to the program's. Returns what
 * sigaction returns. */
struct sigaction;
GA_HIDDEN int stw_program_sigaction(const struct sigaction *act, struct sigaction *oact);
/* After fork, in the child: forget the parent's threads and any helper task. The handler stays. */
GA_HIDDEN void stw_fork_child(void);
/* preload/signal.c: run the program's handler (handler: its address; siginfo: it takes three
 * arguments) for a signal goalloc's stop handler received, as signal.c's trampoline runs the
 * handlers it wraps: busy raised if the signal interrupted goalloc's code. Absent from the unit
 * tests, which link core/ alone (stw.c calls the handler itself then). */
GA_HIDDEN void ga_sig_forward(int sig, void *info, void *uc, uintptr_t handler, int siginfo);
/* Tests: the mechanism (0 signal, 1 ptrace, 2 auto, as GOALLOC_GC_STOP) and timeout in ms,
 * instead of the options' (the unit tests' options are read before main). After stw_init, signal
 * and auto need the handler it installed (a mode other than ptrace at stw_init). */
GA_HIDDEN void stw_set_for_test(int mode, long long timeout_ms);
#endif
