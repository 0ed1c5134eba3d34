/* gcsite.h — allocation sites for the collector's leak reports (core/gcsite.c): which allocations
 * get a full stack (the sampler), the stack table they are interned in, how a frame is described,
 * and LeakSanitizer-syntax suppressions. See /tmp/gc-spec.md for the report these feed.
 *
 * Stacks are captured with glibc's backtrace() (Debian's binaries have no frame pointers), with
 * goalloc's own frames dropped, so that frame 0 is the return address of the program's call to
 * malloc. The stack table is off-heap (ga_os_alloc, grown in chunks) and append-only: an id, once
 * returned, names the same frames for the life of the process. Lookups read it without a lock; an
 * insert takes the table's leaf lock (GA_RANK_SAMPLER), under which nothing else is taken and
 * nothing but ga_os_alloc is called.
 *
 * Describing frames (gcsite_format_frame, gcsite_suppressed) asks the dynamic loader (dladdr) and
 * reads modules' symbol tables from their files: the world must be running and the caller must
 * hold no goalloc lock. Nothing here calls malloc but the first capture (the first backtrace()
 * dlopens libgcc_s, which does; it waits until the C library has started: gcsite.c, prime).
 */
#ifndef GA_GCSITE_H
#define GA_GCSITE_H
#include "ga.h"

#define GCSITE_MAX_FRAMES 64         /* captured per stack, goalloc's own included */
#define GCSITE_MAX_STACKS (1u << 20) /* distinct stacks the table holds; then gcsite_capture is 0 */

/* Start-up in report mode: find goalloc's text, read GOALLOC_PROFILE_RATE and
 * GOALLOC_SUPPRESSIONS. Call it once, with no goalloc lock held, after options_init. (glibc's
 * backtrace() is primed by the first capture, not here: goalloc's constructor runs before the C
 * library's, when loading libgcc_s would leave the program without its environment.) */
GA_HIDDEN void gcsite_init(void);

/* Should this allocation of n bytes get a full stack? Go's MemProfileRate sampling: a per-thread
 * countdown of bytes, drawn from an exponential distribution of mean GOALLOC_PROFILE_RATE; the
 * allocation that exhausts it is sampled and a new countdown is drawn. Rate 1: every allocation.
 * The common case is one compare and one subtraction on a thread-local variable. */
GA_HIDDEN int gcsite_sample(size_t n);

/* Capture the current stack, less goalloc's own frames (those whose return address lies in
 * goalloc's executable segment), and intern it: its id (> 0), or 0 when the table is full, its
 * memory cannot be mapped, or the thread is already inside gcsite_capture (a signal handler that
 * allocates, or malloc called from the unwinder). Never allocates with goalloc; must not be called
 * with a goalloc lock held (backtrace() takes the dynamic loader's lock). Thread-safe. */
GA_HIDDEN uint32_t gcsite_capture(void);
/* Intern the stack pcs[0 .. n) (at most GCSITE_MAX_FRAMES are kept), as gcsite_capture does after
 * backtrace(): for a block that was not sampled, its caller alone (n = 1). Same conditions and
 * results as gcsite_capture (0: table full, or called inside a capture or intern of this thread). */
GA_HIDDEN uint32_t gcsite_intern(const uintptr_t *pcs, unsigned n);
/* The frames of stack id, at most max of them, into pcs: how many; 0 for an unknown id. */
GA_HIDDEN unsigned gcsite_frames(uint32_t id, uintptr_t *pcs, unsigned max);

/* One frame as the report prints it, into buf (NUL-terminated, truncated to cap), its length:
 *     "    #3 0x55d4c2a01234 in plant_direct (/path/prog+0x1234)"
 * without " in FUNC" when no name is known, and "(<unknown module>)" outside every module. pc is
 * a return address (as captured): it is looked up as pc - 1, so that a call that ends a function
 * is not put in the next one. The name is dladdr's, else the one the module's .symtab (read from
 * its file, once per module) gives; the module is dladdr's, /proc/self/exe for the main program.
 * World running, no goalloc lock held; does not call malloc. */
GA_HIDDEN size_t gcsite_format_frame(char *buf, size_t cap, unsigned k, uintptr_t pc);

/* Suppressions (LeakSanitizer syntax): `leak:PATTERN` lines, `#` comments and blank lines;
 * PATTERN matched as LSan's TemplateMatch does (`*` any run, `^` and `$` anchors, a substring
 * otherwise) against each frame's module path, then its function name, frame by frame from #0:
 * the index of the first suppression that matches, or -1. Same conditions as gcsite_format_frame. */
GA_HIDDEN int gcsite_suppressed(const uintptr_t *pcs, unsigned n);
/* Count one hit of suppression i (one leaked object, as LSan counts) and its bytes. */
GA_HIDDEN void gcsite_suppression_used(int i, uint64_t bytes);
/* If any suppression was used, LSan's block (without its dashed rules):
 *     Suppressions used:
 *       count      bytes template
 *           1        100 plant_direct
 * one line per used suppression, in the file's order; nothing otherwise. */
GA_HIDDEN void gcsite_print_suppressions(int fd);

/* Lock the table for fork and for the collector's stop (init.c's ga_lock_all), and release it. */
GA_HIDDEN void gcsite_fork_prepare(void);
GA_HIDDEN void gcsite_fork_parent(void);
GA_HIDDEN void gcsite_fork_child(void);

/* ---- Exposed for the unit test (test/unit/t_gcsite.c) ---- */
/* Distinct stacks interned so far. */
GA_HIDDEN uint32_t gcsite_nstacks(void);
/* Replace goalloc's text range (gcsite_init finds it from __ehdr_start; in the unit test that is
 * the whole test program). gcsite_capture drops its own frame, then frames in [lo, hi). */
GA_HIDDEN void gcsite_set_text_range_for_test(uintptr_t lo, uintptr_t hi);
GA_HIDDEN void gcsite_text_range(uintptr_t *lo, uintptr_t *hi);
/* Set the sampling rate and draw this thread's countdown afresh. */
GA_HIDDEN void gcsite_set_rate_for_test(uint64_t rate);
/* Read suppressions from path, replacing those loaded before (counts start at zero); NULL: none.
 * Not thread-safe against gcsite_suppressed: start-up and tests only. */
GA_HIDDEN void gcsite_load_suppressions(const char *path);
GA_HIDDEN unsigned gcsite_nsuppressions(void);
#endif
