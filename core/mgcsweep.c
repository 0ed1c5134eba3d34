/* mgcsweep.c — what a cycle does with the garbage it found (Go: mgcsweep.go; the reports as
 * LeakSanitizer prints them), and the allocation sites report mode keeps for them.
 *
 * Report mode keeps every unreachable block and reports it: at exit all of them, during the run
 * those unreachable in two consecutive cycles (once each). Collect mode has freed the small ones
 * already, span by span while the world was stopped (mgcmark.c's sweep: Go's gcmarkBits becoming
 * allocBits, no block on any list); here it gives the spans that sweep found empty back to the
 * heap and frees the large blocks through free()'s own path (a large block's span goes back to
 * the heap); with GOALLOC_GC_VERIFY=1 the mark lists every block instead and they are poisoned
 * here and kept out of reuse. This runs with the world running: no thread can reach a block the
 * cycle found unreachable.
 *
 * Sites: in report mode each span has an array of one record per slot (its caller, requested
 * size, sampled stack), written by the thread that allocates the block and read by the cycle;
 * arrays come from a pool of their own and go back to it with their span.
 */
#include "mgc.h"

#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "../preload/goalloc.h"
#include "arena.h"
#include "fmt.h"
#include "gcsite.h"
#include "lock.h"
#include "malloc.h"
#include "mheap.h"
#include "mspan.h"
#include "options.h"
#include "os.h"

void gc_count_freed(uint64_t objects, uint64_t bytes);

/* ---- Site arrays ----------------------------------------------------------------------------- */

/* Pools of free site arrays by power-of-two record count (1 .. 1024), linked through word 0. */
#define SITE_POOLS 11
static ga_lock_t site_lock = GA_LOCK_INIT(GA_RANK_GCSITES); /* and the ignore list */
static struct gc_site *site_pool[SITE_POOLS];

static unsigned pool_of(unsigned n)
{
	unsigned k = 0;
	while ((1u << k) < n)
		k++;
	return k;
}

/* The pool's lock is taken with signals blocked (site_lock_sig): a signal handler that interrupted
 * the allocating thread here and left by longjmp would otherwise leave it held for good. */
static void site_lock_sig(sigset_t *old)
{
	ga_lock_nosignals(&site_lock, old);
}

static void site_unlock_sig(const sigset_t *old)
{
	ga_unlock_nosignals(&site_lock, old);
}

static struct gc_site *sites_alloc(unsigned n)
{
	unsigned k = pool_of(n);
	if (k >= SITE_POOLS)
		return NULL;
	sigset_t old;
	site_lock_sig(&old);
	struct gc_site *a = site_pool[k];
	if (a)
		site_pool[k] = *(struct gc_site **)a;
	site_unlock_sig(&old);
	size_t bytes = ((size_t)1 << k) * sizeof(struct gc_site);
	if (a) {
		memset(a, 0, bytes);
		return a;
	}
	/* Carve a 64 KiB chunk into arrays of this pool (metadata: out of the roots). */
	size_t chunk = bytes > 65536 ? bytes : 65536;
	char *c = ga_os_alloc(chunk);
	if (!c)
		return NULL;
	site_lock_sig(&old);
	for (size_t off = bytes; off + bytes <= chunk; off += bytes) {
		*(struct gc_site **)(c + off) = site_pool[k];
		site_pool[k] = (struct gc_site *)(c + off);
	}
	site_unlock_sig(&old);
	return (struct gc_site *)c;
}

void gc_span_freed(struct mspan *s)
{
	struct gc_site *a = s->gcsites;
	if (!a)
		return;
	s->gcsites = NULL;
	unsigned k = pool_of(s->nelems);
	ga_lock(&site_lock);
	*(struct gc_site **)a = site_pool[k];
	site_pool[k] = a;
	ga_unlock(&site_lock);
}

void gc_record_alloc(void *p, size_t n)
{
	const void *pc = ga_gc_site;
	ga_gc_site = NULL;
	struct mspan *s = span_of((uintptr_t)p);
	if (!s)
		return; /* (a block of the emergency reserve) */
	struct gc_site *a = s->gcsites;
	if (!a) {
		a = sites_alloc(s->nelems);
		if (!a)
			return;
		struct gc_site *expected = NULL;
		if (!__atomic_compare_exchange_n(&s->gcsites, &expected, a, 0, __ATOMIC_RELEASE, __ATOMIC_ACQUIRE)) {
			gc_span_freed(&(struct mspan){.gcsites = a, .nelems = s->nelems});
			a = expected;
		}
	}
	uintptr_t idx = mspan_is_large(s) ? 0 : mspan_obj_index(s, (uintptr_t)p);
	struct gc_site *r = &a[idx];
	r->pc = (uintptr_t)pc;
	r->size = n > UINT32_MAX ? UINT32_MAX : (uint32_t)n;
	r->stack = gcsite_sample(n) ? gcsite_capture((uintptr_t)pc) : 0;
}

void gc_fork_prepare(void)
{
	ga_lock(&site_lock);
}

void gc_fork_parent(void)
{
	ga_unlock(&site_lock);
}

void gc_fork_child_locks(void)
{
	ga_lock_reinit(&site_lock);
}

/* ---- goalloc_gc_ignore --------------------------------------------------------------------- */

#define IGNORE_MAX 256
static uintptr_t ignore_list[IGNORE_MAX];
static unsigned nignore;

int gc_ignore(const void *p)
{
	if (ga_gc_mode == GC_OFF || !p)
		return -1;
	struct mspan *s = span_of((uintptr_t)p);
	if (!s || atomic_load_explicit(&s->state, memory_order_acquire) != MSPAN_INUSE ||
	    (uintptr_t)p - s->base >= s->limit - s->base)
		return -1;
	uintptr_t obj = mspan_is_large(s) ? s->base : s->objbase + mspan_obj_index(s, (uintptr_t)p) * s->elemsize;
	if ((uintptr_t)p < s->objbase)
		return -1;
	int r = -1;
	ga_lock(&site_lock);
	for (unsigned i = 0; i < nignore; i++)
		if (ignore_list[i] == obj)
			r = 0;
	if (r && nignore < IGNORE_MAX) {
		ignore_list[nignore++] = obj;
		r = 0;
	}
	ga_unlock(&site_lock);
	return r;
}

/* Called by the cycle with the world stopped and every lock held (site_lock too): drop entries
 * whose block is free now. */
unsigned gc_ignored(uintptr_t *out, unsigned max)
{
	unsigned n = 0;
	for (unsigned i = 0; i < nignore && i < IGNORE_MAX && n < max; i++) {
		uintptr_t obj = ignore_list[i];
		struct mspan *s = obj ? span_of(obj) : NULL;
		if (!s || atomic_load_explicit(&s->state, memory_order_relaxed) != MSPAN_INUSE)
			continue;
		if (!mspan_is_large(s) && s->spanclass > 3 && ((uint64_t *)obj)[1] == ga_free_key)
			continue;
		out[n++] = obj;
	}
	return n;
}

/* ---- The garbage list's memory ------------------------------------------------------------ */

static struct gc_garbage *spare;
static uint64_t spare_cap;

void gc_garbage_take(struct gc_cycle *cy)
{
	if (!cy->garbage && spare) {
		cy->garbage = spare;
		cy->garbage_cap = spare_cap;
		spare = NULL;
		spare_cap = 0;
	}
}

void gc_garbage_give(struct gc_garbage *g, uint64_t cap)
{
	if (!g)
		return;
	if (spare_cap >= cap) {
		ga_os_free(g, cap * sizeof *g);
		return;
	}
	if (spare)
		ga_os_free(spare, spare_cap * sizeof *spare);
	spare = g;
	spare_cap = cap;
}

/* ---- Reports ------------------------------------------------------------------------------- */

/* Report mode: the last cycle's garbage, to find blocks unreachable twice in a row, and whether
 * each was reported already. */
static struct gc_garbage *prev;
static uint64_t nprev, prev_cap;
static int leaks_at_exit;

struct group {
	uint64_t key;   /* stack id | 1<<63, or caller pc */
	uint8_t direct;
	uint64_t bytes, objects;
	uint64_t classes; /* bit per size class up to 63 (the report lists them) */
	uint64_t classes_hi;
	uint64_t first; /* index of one member */
};

static uint64_t key_of(const struct gc_garbage *g)
{
	return g->stack ? (uint64_t)g->stack | 1ull << 63 : g->pc;
}

static int group_before(const struct group *a, const struct group *b)
{
	if (a->direct != b->direct)
		return a->direct > b->direct;
	return a->bytes > b->bytes;
}

static void print_group(int fd, const struct group *g, const struct gc_garbage *m)
{
	char line[1024];
	size_t n = ga_fmt(line, sizeof line, "%s leak of %llu byte(s) in %llu object(s) of class%s ",
			  g->direct ? "Direct" : "Indirect", (unsigned long long)g->bytes, (unsigned long long)g->objects,
			  __builtin_popcountll(g->classes) + __builtin_popcountll(g->classes_hi) > 1 ? "es" : "");
	int first = 1;
	for (unsigned c = 0; c < GA_NUM_SIZE_CLASSES; c++) {
		uint64_t bit = c < 64 ? g->classes >> c & 1 : g->classes_hi >> (c - 64) & 1;
		if (!bit)
			continue;
		if (c == 0)
			n += ga_fmt(line + n, sizeof line - n, "%slarge", first ? "" : ", ");
		else
			n += ga_fmt(line + n, sizeof line - n, "%s%u", first ? "" : ", ", (unsigned)ga_class_to_size[c]);
		first = 0;
	}
	n += ga_fmt(line + n, sizeof line - n, " allocated from:\n");
	ga_write_all(fd, line, n);
	uintptr_t pcs[64];
	unsigned np = 0;
	if (m->stack)
		np = gcsite_frames(m->stack, pcs, 64);
	if (!np && m->pc)
		pcs[np++] = m->pc;
	if (!np) {
		ga_dprintf(fd, "    #0 (unknown: allocated before the collector started)\n");
	}
	for (unsigned k = 0; k < np; k++) {
		n = gcsite_format_frame(line, sizeof line - 1, k, pcs[k]);
		line[n++] = '\n';
		ga_write_all(fd, line, n);
	}
	ga_write_all(fd, "\n", 1);
}

/* Group the listed blocks (marked in sel[]) and print them; returns the bytes reported. */
static uint64_t report(const struct gc_garbage *gs, uint64_t ngs, const uint8_t *sel, const char *header,
		       uint64_t *objects_out)
{
	uint64_t nsel = 0;
	for (uint64_t i = 0; i < ngs; i++)
		nsel += !sel || sel[i];
	*objects_out = 0;
	if (!nsel)
		return 0;
	size_t gbytes = (size_t)nsel * sizeof(struct group);
	struct group *groups = gc_mem_grow(NULL, 0, gbytes);
	if (!groups)
		return 0;
	uint64_t ng = 0;
	for (uint64_t i = 0; i < ngs; i++) {
		if (sel && !sel[i])
			continue;
		const struct gc_garbage *g = &gs[i];
		uint64_t key = key_of(g);
		struct group *gr = NULL;
		for (uint64_t k = 0; k < ng && !gr; k++) /* (groups are few; a linear search is enough) */
			if (groups[k].key == key && groups[k].direct == g->direct)
				gr = &groups[k];
		if (!gr) {
			gr = &groups[ng++];
			memset(gr, 0, sizeof *gr);
			gr->key = key;
			gr->direct = g->direct;
			gr->first = i;
		}
		gr->bytes += g->size;
		gr->objects++;
		if (g->sizeclass < 64)
			gr->classes |= 1ull << g->sizeclass;
		else
			gr->classes_hi |= 1ull << (g->sizeclass - 64);
	}
	for (uint64_t i = 1; i < ng; i++) { /* insertion sort: direct first, then by bytes */
		struct group t = groups[i];
		uint64_t j = i;
		while (j && group_before(&t, &groups[j - 1])) {
			groups[j] = groups[j - 1];
			j--;
		}
		groups[j] = t;
	}
	int fd = gc_log_fd();
	uint64_t bytes = 0, objects = 0;
	int printed = 0;
	for (uint64_t k = 0; k < ng; k++) {
		const struct gc_garbage *m = &gs[groups[k].first];
		uintptr_t pcs[64];
		unsigned np = m->stack ? gcsite_frames(m->stack, pcs, 64) : 0;
		if (!np && m->pc)
			pcs[np++] = m->pc;
		int sup = np ? gcsite_suppressed(pcs, np) : -1;
		if (sup >= 0) {
			gcsite_suppression_used(sup, groups[k].bytes);
			continue;
		}
		if (!printed) {
			ga_dprintf(fd, "\n==%d==goalloc: %s\n\n", (int)getpid(), header);
			printed = 1;
		}
		print_group(fd, &groups[k], m);
		bytes += groups[k].bytes;
		objects += groups[k].objects;
	}
	ga_os_free(groups, gbytes);
	*objects_out = objects;
	return bytes;
}

/* Blocks unreachable in this cycle and the one before, not yet reported: both lists are in
 * address order. */
static void report_twice_unreachable(struct gc_cycle *cy)
{
	uint8_t *sel = cy->ngarbage ? gc_mem_grow(NULL, 0, cy->ngarbage) : NULL;
	uint64_t j = 0, nsel = 0;
	for (uint64_t i = 0; sel && i < cy->ngarbage; i++) {
		struct gc_garbage *g = &cy->garbage[i];
		while (j < nprev && prev[j].obj < g->obj)
			j++;
		if (j < nprev && prev[j].obj == g->obj && prev[j].pc == g->pc && prev[j].size == g->size) {
			g->reported = prev[j].reported;
			if (!g->reported) {
				sel[i] = 1;
				g->reported = 1;
				nsel++;
			}
		}
	}
	if (nsel) {
		uint64_t objects;
		uint64_t bytes = report(cy->garbage, cy->ngarbage, sel, "blocks unreachable in two consecutive collections",
					&objects);
		if (objects)
			ga_dprintf(gc_log_fd(), "SUMMARY: goalloc: %llu byte(s) unreachable in %llu allocation(s).\n",
				   (unsigned long long)bytes, (unsigned long long)objects);
	}
	if (sel)
		ga_os_free(sel, cy->ngarbage);
	gc_garbage_give(prev, prev_cap);
	prev = cy->garbage; /* (this cycle's list becomes the one before) */
	nprev = cy->ngarbage;
	prev_cap = cy->garbage_cap;
	cy->garbage = NULL;
}

static void report_at_exit(struct gc_cycle *cy)
{
	uint64_t objects;
	uint64_t bytes = report(cy->garbage, cy->ngarbage, NULL,
				"detected memory leaks: blocks unreachable from every root goalloc could read", &objects);
	int fd = gc_log_fd();
	if (objects) {
		ga_dprintf(fd, "SUMMARY: goalloc: %llu byte(s) leaked in %llu allocation(s).\n", (unsigned long long)bytes,
			   (unsigned long long)objects);
		leaks_at_exit = 1;
	}
	gcsite_print_suppressions(fd);
}

/* ---- Collect ------------------------------------------------------------------------------- */

static void collect(struct gc_cycle *cy)
{
	int verify = (int)ga_option(GA_OPT_GC_VERIFY);
	uint64_t objects = 0, bytes = 0;
	for (uint64_t i = 0; i < cy->ngarbage; i++) {
		uintptr_t obj = cy->garbage[i].obj;
		struct mspan *s = span_of(obj);
		if (!s)
			continue;
		size_t size = s->elemsize;
		if (verify) {
			/* Poisoned with a value no pointer has (not canonical on x86-64): a program that still
			 * holds the block faults at its first dereference of what it reads there. Then it
			 * gets the free mark, but goes on no list: it is never handed out again, the next
			 * cycles take it for free, and a free() of it ends the program as a double free. */
			memset((void *)obj, 0xa5, size);
			if (s->spanclass > 3 || mspan_is_large(s))
				mcache_set_key((void *)obj, ga_free_key);
			else
				ga_link_set((void *)obj, NULL);
		} else {
			ga_free((void *)obj);
		}
		objects++;
		bytes += size;
	}
	gc_count_freed(objects, bytes);
}

void gc_sweep(struct gc_cycle *cy, int at_exit)
{
	if (!cy) { /* the exit check did not complete */
		if (at_exit && ga_option(GA_OPT_LEAK_EXITCODE))
			goto exitcode;
		return;
	}
	if (ga_gc_mode == GC_COLLECT) {
		for (struct mspan *s = cy->release, *next; s; s = next) { /* (emptied by the sweep) */
			next = s->next;
			s->next = NULL;
			mheap_free_span(s);
		}
		cy->release = NULL;
		gc_count_freed(cy->swept_objects, cy->swept_bytes);
		collect(cy);
	}
	else if (at_exit)
		report_at_exit(cy);
	else
		report_twice_unreachable(cy);
	gc_garbage_give(cy->garbage, cy->garbage_cap);
	cy->garbage = NULL;
	if (!at_exit || !leaks_at_exit || !ga_option(GA_OPT_LEAK_EXITCODE))
		return;
exitcode:;
	/* Like LeakSanitizer: the exit status says leaks were found. Standard I/O is flushed first,
	 * as exit() would have. */
	extern int fflush(void *);
	fflush(NULL);
	_exit((int)ga_option(GA_OPT_LEAK_EXITCODE));
}
