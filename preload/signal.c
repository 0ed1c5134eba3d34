/* signal.c — the re-entry guard's other half: every signal handler the program installs runs
 * behind a trampoline that tells goalloc whether the handler interrupted it.
 *
 * A handler that calls malloc or free while its thread is in the middle of a list push or pop
 * must keep away from the thread's lists (it gets a block of the emergency reserve; its frees are deferred;
 * see mcache_alloc_reentrant). The thread's busy flag says so. The slow paths raise it
 * themselves. The fast paths do not (here_enter in core/mcache.h): instead, sigaction() and
 * the older interfaces below install ga_sig_trampoline in place of the program's handler, and the
 * trampoline raises busy around the handler when the interrupted instruction lies in goalloc's
 * own code. That costs the fast paths nothing; it costs a signal delivery a table load and a
 * compare.
 *
 * The program sees its own handler: queries return it, with SA_SIGINFO only if it asked for it,
 * and SIG_DFL / SIG_IGN are passed through untouched. The collector's stop signal is the
 * exception: its kernel action stays goalloc's stop handler (core/stw.c), which keeps the
 * program's action and passes it the signals that are not stop requests (ga_sig_forward).
 * What is not covered: a handler installed by a raw rt_sigaction system call, bypassing libc.
 * Such a handler that allocates while it interrupts a fast path can corrupt the thread's list,
 * as it would with most allocators (POSIX does not make malloc async-signal-safe at all).
 */
#define _GNU_SOURCE
#include <elf.h>
#include <errno.h>
#include <link.h>
#include <signal.h>
#include <stdint.h>
#include <ucontext.h>

#include "ga.h"
#include "mcache.h"
#include "os.h"
#include "stw.h"

#if !defined(GA_SIGNALS_WRAPPED) || defined(GOALLOC_NO_LIBC_NAMES)
#error "preload/signal.c belongs to the preloaded library only (GA_SIGNALS_WRAPPED)"
#endif

#define GA_EXPORT __attribute__((visibility("default")))

/* libc's own sigaction (the same function under its other public name). */
extern int __sigaction(int sig, const struct sigaction *act, struct sigaction *oact);

/* The program's handler per signal: the function's address, bit 63 set if it takes three
 * arguments (SA_SIGINFO). 0: never installed through goalloc. An entry is written before the
 * trampoline is installed for it and is left in place when the program sets SIG_DFL or SIG_IGN
 * (the kernel then no longer calls the trampoline for that signal), so the trampoline never
 * reads 0. */
#define SIG_USER_INFO (UINT64_C(1) << 63)
static _Atomic uint64_t sig_user[_NSIG];
/* Signals for which the program asked, through siginterrupt(), that signal() not set
 * SA_RESTART (glibc's rule, kept here because signal() is ours). */
static _Atomic uint64_t sig_interrupt[(_NSIG + 63) / 64];

/* goalloc's executable segment: [text_lo, text_hi), found (ga_os_own_segments) the first time a
 * handler is installed, before the trampoline can run. */
static uintptr_t text_lo, text_hi;

static void find_text(void)
{
	if (__atomic_load_n(&text_hi, __ATOMIC_ACQUIRE))
		return;
	uintptr_t lo, hi;
	ga_os_own_segments(PF_X, &lo, &hi);
	text_lo = lo;
	__atomic_store_n(&text_hi, hi, __ATOMIC_RELEASE);
}

static uintptr_t interrupted_ip(const void *ucv)
{
	const ucontext_t *uc = ucv;
#if defined(__x86_64__)
	return (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
#elif defined(__aarch64__)
	return (uintptr_t)uc->uc_mcontext.pc;
#else
#error "interrupted_ip: no program counter in this architecture's ucontext"
#endif
}

/* The handler about to run is on the alternate signal stack if its frame lies in the one the
 * kernel reports in uc: then a record of it is live only for code on that stack. */
static uintptr_t handler_stack_lo(const void *ucv, uintptr_t frame)
{
	const ucontext_t *uc = ucv;
	uintptr_t lo = (uintptr_t)uc->uc_stack.ss_sp;
	if (!(uc->uc_stack.ss_flags & SS_DISABLE) && frame - lo < uc->uc_stack.ss_size)
		return lo;
	return 0;
}

/* Records of handlers that left by longjmp are dead: every code that runs now is above them on
 * their stack, or on another stack. From the handler about to run (at frame `me`) every record
 * that is not live is dead; they are folded into one dead record that keeps the busy value of
 * the oldest, for mcache_busy_live to act on, so that a thread whose handlers keep leaving by
 * longjmp does not fill the table. */
static void fold_dead_records(struct mcache *c, uintptr_t me)
{
	uint32_t n = c->nsig;
	if (n == 0 || c->sig_checking)
		return;
	if (n > MCACHE_SIGFRAMES) { /* (records past the table are nested in its last one) */
		if (!mcache_sigframe_dead(&c->sig[MCACHE_SIGFRAMES - 1], me))
			return;
		n = MCACHE_SIGFRAMES;
	}
	uint32_t k = n;
	while (k && mcache_sigframe_dead(&c->sig[k - 1], me))
		k--;
	if (k == n)
		return;
	c->sig[k].frame = 0; /* (dead from anywhere; saved_busy is the oldest's) */
	c->sig[k].lo = 0;
	ga_compiler_barrier();
	c->nsig = k + 1;
}

/* Every program handler runs through here (h: as in sig_user). busy is raised around the handler
 * when it interrupted goalloc's own code; while busy is raised the handler's frame is recorded
 * (struct mcache_sigframe), so that if the handler leaves by longjmp instead of returning, goalloc
 * can later tell that busy was left behind (mcache_busy_live) rather than take the re-entrant path
 * for good. */
GA_INLINE void run_handler(int sig, siginfo_t *info, void *uc, uint64_t h)
{
	struct mcache *c = &ga_mcache;
	volatile uintptr_t canary;
	uintptr_t me = (uintptr_t)&canary;
	uint32_t busy = c->busy, depth = c->nsig;
	if (!busy && interrupted_ip(uc) - text_lo < text_hi - text_lo)
		c->busy = MCACHE_BUSY_SIGNAL;
	if (c->busy) {
		fold_dead_records(c, me);
		depth = c->nsig;
		if (depth < MCACHE_SIGFRAMES) {
			struct mcache_sigframe *f = &c->sig[depth];
			canary = me ^ ga_free_key;
			f->frame = me;
			f->lo = handler_stack_lo(uc, me);
			f->canary = me ^ ga_free_key;
			f->saved_busy = busy;
		}
		ga_compiler_barrier();
		c->nsig = depth + 1;
	}
	ga_compiler_barrier();
	if (h & SIG_USER_INFO)
		((void (*)(int, siginfo_t *, void *))(uintptr_t)(h & ~SIG_USER_INFO))(sig, info, uc);
	else
		((void (*)(int))(uintptr_t)h)(sig);
	ga_compiler_barrier();
	c->nsig = depth;
	c->busy = busy;
}

static void ga_sig_trampoline(int sig, siginfo_t *info, void *uc)
{
	run_handler(sig, info, uc, atomic_load_explicit(&sig_user[sig], memory_order_acquire));
}

/* The collector's stop signal keeps goalloc's handler (core/stw.c); the signals it receives that
 * are not stop requests come here, to the handler the program installed. One installed before the
 * collector started is still behind the trampoline. */
void ga_sig_forward(int sig, void *info, void *uc, uintptr_t handler, int siginfo)
{
	if (handler == (uintptr_t)ga_sig_trampoline) {
		ga_sig_trampoline(sig, info, uc);
		return;
	}
	find_text(); /* (the trampoline may never have been installed) */
	run_handler(sig, info, uc, (uint64_t)handler | (siginfo ? SIG_USER_INFO : 0));
}

static int is_program_handler(const struct sigaction *act)
{
	return act && act->sa_handler != SIG_DFL && act->sa_handler != SIG_IGN &&
	       act->sa_sigaction != ga_sig_trampoline;
}

/* The collector's stop signal: the program's action is recorded by core/stw.c and the kernel's
 * stays goalloc's. A handler the program installed before the collector started is reported as
 * itself, not as the trampoline it was behind. */
static int stop_signal_action(int sig, const struct sigaction *act, struct sigaction *oact)
{
	if (stw_program_sigaction(act, oact) != 0)
		return -1;
	if (oact && oact->sa_sigaction == ga_sig_trampoline) {
		uint64_t h = atomic_load_explicit(&sig_user[sig], memory_order_acquire);
		oact->sa_handler = (void (*)(int))(uintptr_t)(h & ~SIG_USER_INFO);
		if (!(h & SIG_USER_INFO))
			oact->sa_flags &= ~SA_SIGINFO;
	}
	return 0;
}

int sigaction(int sig, const struct sigaction *act, struct sigaction *oact) GA_EXPORT;
int sigaction(int sig, const struct sigaction *act, struct sigaction *oact)
{
	if (sig <= 0 || sig >= _NSIG)
		return __sigaction(sig, act, oact); /* (EINVAL, from libc) */
	if (sig == stw_signal())
		return stop_signal_action(sig, act, oact);
	struct sigaction wrapped, old;
	uint64_t prev = atomic_load_explicit(&sig_user[sig], memory_order_acquire);
	int wrap = is_program_handler(act);
	if (wrap) {
		find_text();
		wrapped = *act;
		wrapped.sa_sigaction = ga_sig_trampoline;
		wrapped.sa_flags |= SA_SIGINFO;
		uint64_t h = (uint64_t)(uintptr_t)act->sa_handler | (act->sa_flags & SA_SIGINFO ? SIG_USER_INFO : 0);
		prev = atomic_exchange_explicit(&sig_user[sig], h, memory_order_acq_rel);
	}
	if (__sigaction(sig, wrap ? &wrapped : act, oact ? &old : NULL) != 0) {
		if (wrap) /* (SIGKILL, SIGSTOP, libc's own signals) */
			atomic_store_explicit(&sig_user[sig], prev, memory_order_release);
		return -1;
	}
	if (oact) {
		*oact = old;
		if (old.sa_sigaction == ga_sig_trampoline) { /* report the program's handler */
			oact->sa_handler = (void (*)(int))(uintptr_t)(prev & ~SIG_USER_INFO);
			if (!(prev & SIG_USER_INFO))
				oact->sa_flags &= ~SA_SIGINFO;
		}
	}
	return 0;
}

/* signal() as glibc defines it (BSD semantics): the signal blocked during its handler, and
 * SA_RESTART unless siginterrupt() said otherwise. */
static sighandler_t set_handler(int sig, sighandler_t h, int flags, int block_self)
{
	struct sigaction a, o;
	if (h == SIG_ERR || sig <= 0 || sig >= _NSIG) {
		errno = EINVAL;
		return SIG_ERR;
	}
	a.sa_handler = h;
	sigemptyset(&a.sa_mask);
	if (block_self)
		sigaddset(&a.sa_mask, sig);
	a.sa_flags = flags;
	return sigaction(sig, &a, &o) < 0 ? SIG_ERR : o.sa_handler;
}

static int interrupts(int sig)
{
	return (int)(atomic_load_explicit(&sig_interrupt[sig / 64], memory_order_relaxed) >> (sig % 64) & 1);
}

sighandler_t signal(int sig, sighandler_t h) GA_EXPORT;
sighandler_t signal(int sig, sighandler_t h)
{
	return set_handler(sig, h, sig > 0 && sig < _NSIG && interrupts(sig) ? 0 : SA_RESTART, 1);
}

sighandler_t bsd_signal(int sig, sighandler_t h) GA_EXPORT;
sighandler_t bsd_signal(int sig, sighandler_t h)
{
	return signal(sig, h);
}

sighandler_t ssignal(int sig, sighandler_t h) GA_EXPORT;
sighandler_t ssignal(int sig, sighandler_t h)
{
	return signal(sig, h);
}

/* System V semantics: one-shot, not blocked during its handler, no restart. */
sighandler_t sysv_signal(int sig, sighandler_t h) GA_EXPORT;
sighandler_t sysv_signal(int sig, sighandler_t h)
{
	return set_handler(sig, h, SA_RESETHAND | SA_NODEFER, 0);
}

sighandler_t __sysv_signal(int sig, sighandler_t h) GA_EXPORT;
sighandler_t __sysv_signal(int sig, sighandler_t h)
{
	return sysv_signal(sig, h);
}

int siginterrupt(int sig, int flag) GA_EXPORT;
int siginterrupt(int sig, int flag)
{
	struct sigaction a;
	if (sig <= 0 || sig >= _NSIG) {
		errno = EINVAL;
		return -1;
	}
	uint64_t bit = UINT64_C(1) << (sig % 64);
	if (flag)
		atomic_fetch_or_explicit(&sig_interrupt[sig / 64], bit, memory_order_relaxed);
	else
		atomic_fetch_and_explicit(&sig_interrupt[sig / 64], ~bit, memory_order_relaxed);
	if (sigaction(sig, NULL, &a) < 0)
		return -1;
	if (flag)
		a.sa_flags &= ~SA_RESTART;
	else
		a.sa_flags |= SA_RESTART;
	return sigaction(sig, &a, NULL);
}

/* sigset() (System V): SIG_HOLD blocks the signal; anything else installs it and unblocks it.
 * Returns SIG_HOLD if the signal was blocked before, else the previous disposition. */
sighandler_t sigset(int sig, sighandler_t h) GA_EXPORT;
sighandler_t sigset(int sig, sighandler_t h)
{
	sigset_t set, oset;
	struct sigaction a, o;
	if (h == SIG_ERR || sig <= 0 || sig >= _NSIG) {
		errno = EINVAL;
		return SIG_ERR;
	}
	sigemptyset(&set);
	sigaddset(&set, sig);
	if (h == SIG_HOLD) {
		if (sigprocmask(SIG_BLOCK, &set, &oset) < 0)
			return SIG_ERR;
		if (sigismember(&oset, sig))
			return SIG_HOLD;
		return sigaction(sig, NULL, &o) < 0 ? SIG_ERR : o.sa_handler;
	}
	a.sa_handler = h;
	sigemptyset(&a.sa_mask);
	a.sa_flags = 0;
	if (sigaction(sig, &a, &o) < 0 || sigprocmask(SIG_UNBLOCK, &set, &oset) < 0)
		return SIG_ERR;
	return sigismember(&oset, sig) ? SIG_HOLD : o.sa_handler;
}
