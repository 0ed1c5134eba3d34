/* gcsite.c — see gcsite.h. Four parts: the sampler, the stack table, describing a frame (modules
 * and their symbol tables), suppressions.
 *
 * Locks: an insert into the stack table takes table_lock (GA_RANK_SAMPLER, a leaf: nothing is taken
 * and nothing but ga_os_alloc is called under it; in particular not the dynamic loader, which
 * backtrace() and dladdr() lock, and which a thread in dlopen holds while it calls malloc). The
 * module cache takes no lock: a module is published with one compare-and-swap, and a thread that
 * loses the race unmaps its copy. Suppression counts are atomic additions.
 *
 * Memory: all of it off-heap. The stack table and the symbol indexes come from ga_os_alloc, the
 * modules' files are mapped read-only; none of it is ever given back (ids and names stay valid for
 * the life of the process).
 */
#include "gcsite.h"

#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <execinfo.h>
#include <fcntl.h>
#include <limits.h>
#include <link.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fmt.h"
#include "lock.h"
#include "options.h"
#include "os.h"
#include "stw.h"

/* ---- The sampler ------------------------------------------------------------------------------ */

#define DEFAULT_RATE (512 * 1024) /* Go's MemProfileRate, the option's default */

static _Atomic uint64_t sample_rate = DEFAULT_RATE;
static uint64_t sample_seed = 0x2545f4914f6cdd1dull; /* gcsite_init draws one from the kernel */

/* Bytes this thread may still allocate before the allocation that is sampled; 0 before its first
 * draw (and always at rate 1, so that every allocation takes sample_slow). */
static __thread uint64_t sample_left __attribute__((tls_model("initial-exec")));
/* The thread's xorshift64 state; 0 until its first draw. */
static __thread uint64_t sample_rng __attribute__((tls_model("initial-exec")));

static uint64_t mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static uint64_t next_random(void)
{
	uint64_t x = sample_rng;
	if (GA_UNLIKELY(!x))
		x = mix64(sample_seed ^ mix64((uint64_t)syscall(SYS_gettid))) | 1;
	x ^= x << 13; /* Marsaglia's xorshift64 (13, 7, 17) */
	x ^= x >> 7;
	x ^= x << 17;
	sample_rng = x;
	return x;
}

/* -ln(u) for u in (0, 1], without libm (goalloc links none): u = m·2^e with m in [1/2, 1), and
 * ln m = 2·atanh(s), s = (m − 1)/(m + 1) in [−1/3, 0), whose series's 13 terms leave a relative
 * error below 2e-14 (checked against libm's log over (1e-16, 1]). */
static double neg_log(double u)
{
	union {
		double d;
		uint64_t b;
	} v = {.d = u};
	int e = (int)((v.b >> 52) & 0x7ff) - 1022;
	v.b = (v.b & ~(0x7ffull << 52)) | (1022ull << 52);
	double s = (v.d - 1) / (v.d + 1), s2 = s * s, t = s, sum = 0;
	for (int k = 1; k <= 25; k += 2, t *= s2)
		sum += t / k;
	return -(2 * sum + e * 0.69314718055994530942);
}

/* A countdown of mean `rate` bytes, exponentially distributed (Go's fastexprand, with 53 random
 * bits rather than 26): the gaps between the sampled bytes of a Poisson process. */
static uint64_t draw_countdown(uint64_t rate)
{
	double u = (double)((next_random() >> 11) + 1) * 0x1p-53;
	double x = neg_log(u) * (double)rate; /* (−1e-14 · rate for u = 1: rounding) */
	return x > 0 ? (uint64_t)x + 1 : 1;
}

static GA_NOINLINE int sample_slow(size_t n)
{
	uint64_t rate = atomic_load_explicit(&sample_rate, memory_order_relaxed);
	if (rate <= 1)
		return 1;
	int first = sample_rng == 0;
	sample_left = draw_countdown(rate);
	if (first && n < sample_left) { /* the thread's first allocation: it only starts the count */
		sample_left -= n;
		return 0;
	}
	return 1;
}

int gcsite_sample(size_t n)
{
	if (GA_LIKELY(n < sample_left)) {
		sample_left -= n;
		return 0;
	}
	return sample_slow(n);
}

void gcsite_set_rate_for_test(uint64_t rate)
{
	atomic_store_explicit(&sample_rate, rate ? rate : 1, memory_order_relaxed);
	sample_left = 0;
	sample_rng = 0;
}

/* ---- The stack table -------------------------------------------------------------------------- */

/* One interned stack. Written once under table_lock before its id is published (in nsites and in
 * its bucket, both with release); never changed after. */
struct site {
	uint64_t hash;
	uint32_t next; /* id of the next site in this bucket's chain, 0 at its end */
	uint32_t n;    /* frames */
	const uintptr_t *pcs;
};

#define SITE_CHUNK 4096          /* sites per mapping (96 KiB) */
#define NBUCKETS (1u << 16)      /* hash chains: 256 KiB, touched a page at a time */
#define FRAME_CHUNK (256 * 1024) /* bytes of frames per mapping */

_Static_assert(GCSITE_MAX_STACKS % SITE_CHUNK == 0, "whole chunks");

static ga_lock_t table_lock = GA_LOCK_INIT(GA_RANK_SAMPLER);
static _Atomic uint32_t *_Atomic buckets; /* chain heads (ids), mapped by the first insert */
static struct site *_Atomic site_chunks[GCSITE_MAX_STACKS / SITE_CHUNK];
static _Atomic uint32_t nsites;           /* ids 1 .. nsites are in use */
static uintptr_t *frames_free;            /* under table_lock: the unused rest of the current */
static size_t frames_left;                /*   mapping of frames */
static const uintptr_t no_frames[1];      /* the frames of an empty stack */

static uint64_t hash_frames(const uintptr_t *pcs, unsigned n)
{
	uint64_t h = 0x9e3779b97f4a7c15ull ^ n;
	for (unsigned i = 0; i < n; i++)
		h = (h ^ pcs[i]) * 0xff51afd7ed558ccdull;
	return mix64(h);
}

static const struct site *site_of(uint32_t id)
{
	struct site *c = atomic_load_explicit(&site_chunks[(id - 1) / SITE_CHUNK], memory_order_acquire);
	return &c[(id - 1) % SITE_CHUNK];
}

static uint32_t find(_Atomic uint32_t *head, uint64_t h, const uintptr_t *pcs, unsigned n)
{
	for (uint32_t id = atomic_load_explicit(head, memory_order_acquire); id;) {
		const struct site *s = site_of(id);
		if (s->hash == h && s->n == n && memcmp(s->pcs, pcs, n * sizeof *pcs) == 0)
			return id;
		id = s->next;
	}
	return 0;
}

static const uintptr_t *store_frames(const uintptr_t *pcs, unsigned n)
{
	if (!n)
		return no_frames;
	if (frames_left < n) {
		uintptr_t *f = ga_os_alloc(FRAME_CHUNK);
		if (!f)
			return NULL;
		frames_free = f;
		frames_left = FRAME_CHUNK / sizeof *f;
	}
	uintptr_t *f = frames_free;
	memcpy(f, pcs, n * sizeof *pcs);
	frames_free += n;
	frames_left -= n;
	return f;
}

static uint32_t insert_locked(uint64_t h, const uintptr_t *pcs, unsigned n)
{
	_Atomic uint32_t *tab = atomic_load_explicit(&buckets, memory_order_relaxed);
	if (!tab) {
		if (!(tab = ga_os_alloc(NBUCKETS * sizeof *tab)))
			return 0;
		atomic_store_explicit(&buckets, tab, memory_order_release);
	}
	_Atomic uint32_t *head = &tab[h & (NBUCKETS - 1)];
	uint32_t id = find(head, h, pcs, n); /* another thread may have inserted it meanwhile */
	if (id)
		return id;
	uint32_t k = atomic_load_explicit(&nsites, memory_order_relaxed);
	if (k == GCSITE_MAX_STACKS)
		return 0;
	struct site *c = atomic_load_explicit(&site_chunks[k / SITE_CHUNK], memory_order_relaxed);
	if (!c) {
		if (!(c = ga_os_alloc(SITE_CHUNK * sizeof *c)))
			return 0;
		atomic_store_explicit(&site_chunks[k / SITE_CHUNK], c, memory_order_release);
	}
	const uintptr_t *f = store_frames(pcs, n);
	if (!f)
		return 0;
	struct site *s = &c[k % SITE_CHUNK];
	s->hash = h;
	s->n = n;
	s->pcs = f;
	s->next = atomic_load_explicit(head, memory_order_relaxed);
	atomic_store_explicit(&nsites, k + 1, memory_order_release);
	atomic_store_explicit(head, k + 1, memory_order_release);
	return k + 1;
}

/* Set while this thread captures or interns: a capture or intern that starts inside it (from a
 * signal handler that allocates, or from malloc called by the unwinder) returns 0 rather than enter
 * backtrace() again or wait for the table lock its own thread holds. */
static __thread int capturing __attribute__((tls_model("initial-exec")));

static uint32_t intern(const uintptr_t *pcs, unsigned n)
{
	if (n > GCSITE_MAX_FRAMES)
		n = GCSITE_MAX_FRAMES;
	uint64_t h = hash_frames(pcs, n);
	_Atomic uint32_t *tab = atomic_load_explicit(&buckets, memory_order_acquire);
	if (GA_LIKELY(tab)) {
		uint32_t id = find(&tab[h & (NBUCKETS - 1)], h, pcs, n);
		if (id)
			return id;
	}
	/* Signals are blocked while the lock is held: a handler that interrupted the insert and left
	 * by longjmp would leave the lock held, and the next ga_lock_all (a cycle, a fork) would wait
	 * for it forever. (Inserts are rare: one per new stack.) */
	sigset_t old;
	ga_lock_nosignals(&table_lock, &old);
	uint32_t id = insert_locked(h, pcs, n);
	ga_unlock_nosignals(&table_lock, &old);
	return id;
}

uint32_t gcsite_intern(const uintptr_t *pcs, unsigned n)
{
	if (capturing)
		return 0;
	capturing = 1;
	atomic_signal_fence(memory_order_seq_cst);
	uint32_t id = intern(pcs, n);
	atomic_signal_fence(memory_order_seq_cst);
	capturing = 0;
	return id;
}

uint32_t gcsite_nstacks(void)
{
	return atomic_load_explicit(&nsites, memory_order_acquire);
}

unsigned gcsite_frames(uint32_t id, uintptr_t *pcs, unsigned max)
{
	if (id == 0 || id > atomic_load_explicit(&nsites, memory_order_acquire))
		return 0;
	const struct site *s = site_of(id);
	unsigned n = s->n < max ? s->n : max;
	memcpy(pcs, s->pcs, n * sizeof *pcs);
	return n;
}

void gcsite_fork_prepare(void)
{
	ga_lock(&table_lock);
}

void gcsite_fork_parent(void)
{
	ga_unlock(&table_lock);
}

void gcsite_fork_child(void)
{
	ga_lock_reinit(&table_lock);
}

/* ---- Capturing -------------------------------------------------------------------------------- */

/* goalloc's executable segment, [text_lo, text_hi) (ga_os_own_segments). In the unit test, where
 * the core is linked into the test program, that is the whole program: the test sets a range of
 * its own. */
static _Atomic uintptr_t text_lo, text_hi;
static _Atomic int text_known;

static void find_text(void)
{
	if (atomic_load_explicit(&text_known, memory_order_acquire))
		return;
	uintptr_t lo, hi;
	ga_os_own_segments(PF_X, &lo, &hi);
	gcsite_set_text_range_for_test(lo, hi);
}

void gcsite_set_text_range_for_test(uintptr_t lo, uintptr_t hi)
{
	atomic_store_explicit(&text_lo, lo, memory_order_relaxed);
	atomic_store_explicit(&text_hi, hi, memory_order_relaxed);
	atomic_store_explicit(&text_known, 1, memory_order_release);
}

void gcsite_text_range(uintptr_t *lo, uintptr_t *hi)
{
	find_text();
	*lo = atomic_load_explicit(&text_lo, memory_order_relaxed);
	*hi = atomic_load_explicit(&text_hi, memory_order_relaxed);
}

/* The dynamic loader's code, [loader_lo, loader_hi) (AT_BASE; empty when the loader is the
 * program itself, run as `ld.so PROGRAM`). */
static uintptr_t loader_lo, loader_hi;
static pthread_once_t loader_once = PTHREAD_ONCE_INIT;

static void find_loader(void)
{
	const void *base = (const void *)getauxval(AT_BASE);
	if (base)
		ga_os_elf_segments(base, PF_X, &loader_lo, &loader_hi);
}

/* glibc's first backtrace() dlopens libgcc_s, which allocates. It cannot happen at start-up:
 * goalloc's constructor runs before the C library's own (-z initfirst), and a dlopen then leaves
 * the program without its environment. Nor inside a malloc the dynamic loader itself called: it
 * may be in the middle of a dlopen, and a dlopen nested there is lost to the outer one's update
 * (the outer _dl_find_object_update overwrites the table the inner one installed, which leaks the
 * inner one's segment and leaves libgcc_s out of _dl_find_object). So the first capture whose
 * caller is not the loader makes that call, once the C library has set environ, with `capturing`
 * set (the allocations it makes capture nothing); until then, and while another thread makes it,
 * captures return 0. 0 none yet, 1 under way, 2 done. */
static _Atomic int primed;

static int prime(uintptr_t caller)
{
	extern char **environ;
	pthread_once(&loader_once, find_loader);
	if (caller - loader_lo < loader_hi - loader_lo)
		return 0;
	int expected = 0;
	if (!environ || !atomic_compare_exchange_strong(&primed, &expected, 1))
		return 0;
	void *buf[4];
	backtrace(buf, 4);
	atomic_store_explicit(&primed, 2, memory_order_release);
	return 1;
}

/* A capture runs with every signal blocked but the collector's stop signal: backtrace() takes the
 * dynamic loader's lock and the unwinder's (dlopen in prime, dl_iterate_phdr), and a program's
 * handler that left it by longjmp would leave them held — the next dlopen, or the next report's
 * dladdr, would wait for ever — and would leave `capturing` or `primed` set, this thread's or every
 * thread's stacks then never captured. The stop handler never leaves by longjmp; it stays
 * deliverable because prime's dlopen allocates, and may wait for the locks a collector holds while
 * it stops the world. */
GA_NOINLINE uint32_t gcsite_capture(uintptr_t caller)
{
	if (capturing)
		return 0;
	sigset_t set, old;
	sigfillset(&set);
	int stop = stw_signal();
	if (stop)
		sigdelset(&set, stop);
	pthread_sigmask(SIG_BLOCK, &set, &old);
	capturing = 1;
	atomic_signal_fence(memory_order_seq_cst);
	if (GA_UNLIKELY(atomic_load_explicit(&primed, memory_order_acquire) != 2) && !prime(caller)) {
		atomic_signal_fence(memory_order_seq_cst);
		capturing = 0;
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		return 0;
	}
	uintptr_t lo, hi;
	gcsite_text_range(&lo, &hi);
	void *buf[GCSITE_MAX_FRAMES];
	int n = backtrace(buf, GCSITE_MAX_FRAMES);
	/* buf[0] is this function's own return address from backtrace; then goalloc's frames down
	 * to the program's call. */
	int i = 1;
	while (i < n && (uintptr_t)buf[i] - lo < hi - lo)
		i++;
	atomic_signal_fence(memory_order_seq_cst);
	capturing = 0;
	/* (the stack table's lock is waited for with signals deliverable: the collector holds it
	 * while it stops the world) */
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return gcsite_intern((const uintptr_t *)(buf + i), n > i ? (unsigned)(n - i) : 0);
}

/* ---- Describing a frame: modules and their symbol tables -------------------------------------- */

/* A function symbol of a module's .symtab: [lo, lo + size) in link-time addresses (size 0: up to
 * the next symbol), its name at strtab + name. */
struct sym {
	uintptr_t lo;
	uint32_t size, name;
};

/* A module met in a frame: its path and, if its file has a .symtab, the function symbols sorted by
 * address. The file stays mapped: the names are read in place. */
struct module {
	uintptr_t base;  /* dladdr's dli_fbase: where its first segment is mapped */
	uintptr_t bias;  /* run-time address − link-time address */
	int is_main;     /* the main program (its path is /proc/self/exe's target) */
	const struct sym *syms;
	size_t nsyms, syms_bytes;
	const char *strtab;
	const void *file;
	size_t file_bytes, bytes;
	char path[];
};

#define MAX_MODULES 512
static struct module *_Atomic modules[MAX_MODULES];

static void sift_down(struct sym *a, size_t i, size_t n)
{
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= n)
			return;
		if (c + 1 < n && a[c + 1].lo > a[c].lo)
			c++;
		if (a[i].lo >= a[c].lo)
			return;
		struct sym t = a[i];
		a[i] = a[c];
		a[c] = t;
		i = c;
	}
}

/* Heapsort: qsort may call malloc. */
static void sort_syms(struct sym *a, size_t n)
{
	for (size_t i = n / 2; i-- > 0;)
		sift_down(a, i, n);
	for (size_t k = n; k-- > 1;) {
		struct sym t = a[0];
		a[0] = a[k];
		a[k] = t;
		sift_down(a, 0, k);
	}
}

static int is_function(const ElfW(Sym) *s, size_t strsize)
{
	unsigned type = ELF64_ST_TYPE(s->st_info);
	return (type == STT_FUNC || type == STT_GNU_IFUNC) && s->st_shndx != SHN_UNDEF && s->st_value &&
	       s->st_name && s->st_name < strsize;
}

/* Read m's file: its bias (from the program headers) and its .symtab's function symbols. Anything
 * that does not look like a well-formed ELF file leaves m without symbols. */
static void load_symbols(struct module *m)
{
	int fd = open(m->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	struct stat st;
	void *map = MAP_FAILED;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size >= (off_t)sizeof(ElfW(Ehdr)))
		map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (map == MAP_FAILED)
		return;
	const char *f = map;
	size_t size = (size_t)st.st_size;
	const ElfW(Ehdr) *eh = map;
	if (memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 || eh->e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh->e_phentsize != sizeof(ElfW(Phdr)) || eh->e_phoff > size ||
	    eh->e_phnum > (size - eh->e_phoff) / sizeof(ElfW(Phdr)) || eh->e_shentsize != sizeof(ElfW(Shdr)) ||
	    eh->e_shoff > size || eh->e_shnum > (size - eh->e_shoff) / sizeof(ElfW(Shdr)))
		goto unmap;
	/* dli_fbase is where the first PT_LOAD segment's page is mapped (the loader's l_map_start). */
	const ElfW(Phdr) *ph = (const ElfW(Phdr) *)(f + eh->e_phoff);
	for (unsigned i = 0; i < eh->e_phnum; i++)
		if (ph[i].p_type == PT_LOAD) {
			m->bias = m->base - (ph[i].p_vaddr & ~(uintptr_t)(getpagesize() - 1));
			break;
		}
	const ElfW(Shdr) *sh = (const ElfW(Shdr) *)(f + eh->e_shoff), *symtab = NULL, *strtab;
	for (unsigned i = 0; i < eh->e_shnum && !symtab; i++)
		if (sh[i].sh_type == SHT_SYMTAB)
			symtab = &sh[i];
	if (!symtab || symtab->sh_link >= eh->e_shnum || symtab->sh_entsize != sizeof(ElfW(Sym)) ||
	    symtab->sh_offset > size || symtab->sh_size > size - symtab->sh_offset)
		goto unmap;
	strtab = &sh[symtab->sh_link];
	if (strtab->sh_offset > size || strtab->sh_size > size - strtab->sh_offset || !strtab->sh_size ||
	    f[strtab->sh_offset + strtab->sh_size - 1] != 0) /* every name ends within it */
		goto unmap;
	const ElfW(Sym) *s = (const ElfW(Sym) *)(f + symtab->sh_offset);
	size_t ns = symtab->sh_size / sizeof *s, count = 0;
	for (size_t i = 0; i < ns; i++)
		count += is_function(&s[i], strtab->sh_size);
	if (!count || count > UINT32_MAX)
		goto unmap;
	size_t bytes = ga_align_up(count * sizeof(struct sym), 4096);
	struct sym *syms = ga_os_alloc(bytes);
	if (!syms)
		goto unmap;
	size_t k = 0;
	for (size_t i = 0; i < ns; i++)
		if (is_function(&s[i], strtab->sh_size)) {
			uint64_t sz = s[i].st_size;
			syms[k++] = (struct sym){s[i].st_value, sz > UINT32_MAX ? UINT32_MAX : (uint32_t)sz, s[i].st_name};
		}
	sort_syms(syms, count);
	m->syms = syms;
	m->nsyms = count;
	m->syms_bytes = bytes;
	m->strtab = f + strtab->sh_offset;
	m->file = map;
	m->file_bytes = size;
	return;
unmap:
	munmap(map, size);
}

static void drop_module(struct module *m)
{
	if (m->file)
		munmap((void *)m->file, m->file_bytes);
	if (m->syms)
		ga_os_free((void *)m->syms, m->syms_bytes);
	ga_os_free(m, m->bytes);
}

static int same_module(const struct module *m, uintptr_t base, const char *path, int is_main)
{
	return m->base == base && m->is_main == is_main && (is_main || strcmp(m->path, path) == 0);
}

/* The module mapped at base from path (is_main: the main program, whose path is /proc/self/exe's
 * target rather than dladdr's argv[0]); loaded and published the first time; NULL if it cannot be
 * recorded. */
static const struct module *module_of(uintptr_t base, const char *path, int is_main)
{
	unsigned i = 0;
	for (; i < MAX_MODULES; i++) {
		struct module *m = atomic_load_explicit(&modules[i], memory_order_acquire);
		if (!m)
			break;
		if (same_module(m, base, path, is_main))
			return m;
	}
	if (i == MAX_MODULES)
		return NULL;
	char exe[PATH_MAX];
	if (is_main) {
		ssize_t r = readlink("/proc/self/exe", exe, sizeof exe - 1);
		if (r <= 0 && !*path)
			return NULL;
		if (r > 0) {
			exe[r] = 0;
			path = exe;
		}
	}
	size_t len = strlen(path), bytes = ga_align_up(sizeof(struct module) + len + 1, 4096);
	struct module *m = ga_os_alloc(bytes);
	if (!m)
		return NULL;
	m->base = m->bias = base;
	m->is_main = is_main;
	m->bytes = bytes;
	memcpy(m->path, path, len + 1);
	load_symbols(m);
	for (; i < MAX_MODULES; i++) {
		struct module *seen = NULL;
		if (atomic_compare_exchange_strong_explicit(&modules[i], &seen, m, memory_order_acq_rel,
							    memory_order_acquire))
			return m;
		if (same_module(seen, base, m->path, is_main)) { /* another thread loaded it first */
			drop_module(m);
			return seen;
		}
	}
	drop_module(m);
	return NULL;
}

/* The function containing run-time address a, from m's .symtab. */
static const char *symbol_at(const struct module *m, uintptr_t a)
{
	uintptr_t x = a - m->bias;
	size_t lo = 0, hi = m->nsyms; /* the first symbol above x */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (m->syms[mid].lo <= x)
			lo = mid + 1;
		else
			hi = mid;
	}
	/* The nearest below x, or one a little further down that encloses x (a sized function with
	 * local function symbols inside it). */
	for (size_t i = lo, seen = 0; i-- > 0 && seen < 8; seen++) {
		const struct sym *s = &m->syms[i];
		if (s->size ? x - s->lo < s->size : i + 1 == lo && lo < m->nsyms)
			return m->strtab + s->name;
	}
	return NULL;
}

/* The main program's segments, [lo, hi), from its program headers in the auxiliary vector. */
static _Atomic uintptr_t main_lo, main_hi;

static int in_main_program(uintptr_t a)
{
	uintptr_t hi = atomic_load_explicit(&main_hi, memory_order_acquire);
	if (!hi) {
		const ElfW(Phdr) *ph = (const ElfW(Phdr) *)getauxval(AT_PHDR);
		unsigned long n = getauxval(AT_PHNUM);
		uintptr_t bias = 0, lo = UINTPTR_MAX;
		for (unsigned long i = 0; ph && i < n; i++)
			if (ph[i].p_type == PT_PHDR)
				bias = (uintptr_t)ph - ph[i].p_vaddr;
		for (unsigned long i = 0; ph && i < n; i++)
			if (ph[i].p_type == PT_LOAD) {
				uintptr_t s = bias + ph[i].p_vaddr, e = s + ph[i].p_memsz;
				lo = s < lo ? s : lo;
				hi = e > hi ? e : hi;
			}
		if (!hi)
			lo = hi = 1; /* unknown: nothing is the main program's by address */
		atomic_store_explicit(&main_lo, lo, memory_order_relaxed);
		atomic_store_explicit(&main_hi, hi, memory_order_release);
	}
	uintptr_t lo = atomic_load_explicit(&main_lo, memory_order_relaxed);
	return a - lo < hi - lo;
}

struct frame {
	const char *func;   /* NULL: unknown */
	const char *module; /* NULL: outside every module */
	uintptr_t offset;   /* pc − the module's base */
};

static void describe(uintptr_t pc, struct frame *fr)
{
	uintptr_t a = pc - 1; /* pc is a return address: the call is before it */
	Dl_info di;
	fr->func = fr->module = NULL;
	fr->offset = 0;
	if (!dladdr((void *)a, &di) || !di.dli_fbase)
		return;
	const char *path = di.dli_fname ? di.dli_fname : "";
	int is_main = !*path || in_main_program(a);
	const struct module *m = module_of((uintptr_t)di.dli_fbase, path, is_main);
	fr->module = m ? m->path : *path ? path : NULL;
	fr->offset = pc - (uintptr_t)di.dli_fbase;
	fr->func = di.dli_sname;
	if (!fr->func && m && m->nsyms)
		fr->func = symbol_at(m, a);
}

size_t gcsite_format_frame(char *buf, size_t cap, unsigned k, uintptr_t pc)
{
	if (!cap)
		return 0;
	struct frame fr;
	describe(pc, &fr);
	if (!fr.module)
		return ga_fmt(buf, cap, "    #%u 0x%lx (<unknown module>)", k, (unsigned long)pc);
	if (!fr.func)
		return ga_fmt(buf, cap, "    #%u 0x%lx (%s+0x%lx)", k, (unsigned long)pc, fr.module,
			      (unsigned long)fr.offset);
	return ga_fmt(buf, cap, "    #%u 0x%lx in %s (%s+0x%lx)", k, (unsigned long)pc, fr.func, fr.module,
		      (unsigned long)fr.offset);
}

/* ---- Suppressions ----------------------------------------------------------------------------- */

struct supp {
	const char *templ; /* NUL-terminated, in supp_text */
	_Atomic uint64_t hits, bytes;
};

static struct supp *supps;
static unsigned nsupps;
static size_t supps_bytes;
static char *supp_text;
static size_t supp_text_bytes;

unsigned gcsite_nsuppressions(void)
{
	return nsupps;
}

/* LeakSanitizer's TemplateMatch (sanitizer_common.cpp), without its writes into the template: the
 * pieces between `*` and `$` are found in order, each at its first occurrence after the last. */
static int template_match(const char *t, const char *s)
{
	if (!s || !*s)
		return 0;
	int start = 0, asterisk = 0;
	if (*t == '^') {
		start = 1;
		t++;
	}
	while (*t) {
		if (*t == '*') {
			t++;
			start = 0;
			asterisk = 1;
			continue;
		}
		if (*t == '$')
			return !*s || asterisk;
		if (!*s)
			return 0;
		size_t len = strcspn(t, "*$");
		const char *at = memmem(s, strlen(s), t, len);
		if (!at || (start && at != s))
			return 0;
		s = at + len;
		t += len;
		start = asterisk = 0;
	}
	return 1;
}

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

/* Parse text (NUL-terminated, written into: each template gets its NUL) into supps. */
static void parse_suppressions(const char *path, char *text, size_t len)
{
	size_t lines = 1;
	for (size_t i = 0; i < len; i++)
		lines += text[i] == '\n';
	supps_bytes = ga_align_up(lines * sizeof *supps, 4096);
	if (!(supps = ga_os_alloc(supps_bytes))) {
		ga_warn("no memory for the suppressions of %s: no leak is suppressed", path);
		return;
	}
	unsigned lineno = 0;
	for (char *line = text, *next; line < text + len; line = next) {
		char *end = memchr(line, '\n', (size_t)(text + len - line));
		next = end ? end + 1 : text + len;
		end = end ? end : text + len;
		lineno++;
		while (line < end && is_space(*line))
			line++;
		while (end > line && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
			end--;
		if (line == end || *line == '#')
			continue;
		if (end - line < 5 || memcmp(line, "leak:", 5) != 0) {
			ga_warn("%s:%u: not a leak:PATTERN line, ignored", path, lineno);
			continue;
		}
		*end = 0;
		supps[nsupps++].templ = line + 5;
	}
}

void gcsite_load_suppressions(const char *path)
{
	if (supps)
		ga_os_free(supps, supps_bytes);
	if (supp_text)
		ga_os_free(supp_text, supp_text_bytes);
	supps = NULL;
	supp_text = NULL;
	nsupps = 0;
	if (!path)
		return;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ga_warn("cannot read the suppressions file %s (%s): no leak is suppressed", path, strerrordesc_np(errno));
		return;
	}
	size_t cap = 0, len = 0;
	char *text = NULL;
	for (;;) {
		if (len + 1 >= cap) { /* (room for a NUL after the last line) */
			size_t ncap = cap ? 2 * cap : 64 * 1024;
			char *t = ga_os_alloc(ncap);
			if (!t) {
				errno = ENOMEM;
				break;
			}
			if (text) {
				memcpy(t, text, len);
				ga_os_free(text, cap);
			}
			text = t;
			cap = ncap;
		}
		ssize_t r = read(fd, text + len, cap - len - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			if (r == 0)
				errno = 0;
			break;
		}
		len += (size_t)r;
	}
	int err = errno;
	close(fd);
	if (err) {
		ga_warn("cannot read the suppressions file %s (%s): no leak is suppressed", path, strerrordesc_np(err));
		if (text)
			ga_os_free(text, cap);
		return;
	}
	text[len] = 0;
	supp_text = text;
	supp_text_bytes = cap;
	parse_suppressions(path, text, len);
}

static int match_any(const char *s)
{
	for (unsigned j = 0; s && j < nsupps; j++)
		if (template_match(supps[j].templ, s))
			return (int)j;
	return -1;
}

int gcsite_suppressed(const uintptr_t *pcs, unsigned n)
{
	if (!nsupps)
		return -1;
	for (unsigned i = 0; i < n; i++) {
		struct frame fr;
		describe(pcs[i], &fr);
		int j = match_any(fr.module); /* LSan: the module first, then the function */
		if (j < 0)
			j = match_any(fr.func);
		if (j >= 0)
			return j;
	}
	return -1;
}

void gcsite_suppression_used(int i, uint64_t bytes)
{
	if (i < 0 || (unsigned)i >= nsupps)
		return;
	atomic_fetch_add_explicit(&supps[i].hits, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&supps[i].bytes, bytes, memory_order_relaxed);
}

void gcsite_print_suppressions(int fd)
{
	unsigned used = 0;
	for (unsigned j = 0; j < nsupps; j++)
		used += atomic_load_explicit(&supps[j].hits, memory_order_relaxed) != 0;
	if (!used)
		return;
	static const char head[] = "Suppressions used:\n  count      bytes template\n";
	ga_write_all(fd, head, sizeof head - 1);
	for (unsigned j = 0; j < nsupps; j++) {
		uint64_t hits = atomic_load_explicit(&supps[j].hits, memory_order_relaxed);
		if (!hits)
			continue;
		char line[512];
		size_t n = ga_fmt(line, sizeof line, "%7llu %10llu %s\n", (unsigned long long)hits,
				  (unsigned long long)atomic_load_explicit(&supps[j].bytes, memory_order_relaxed),
				  supps[j].templ);
		if (n == sizeof line - 1) { /* a long template: its whole text */
			n = ga_fmt(line, sizeof line, "%7llu %10llu ", (unsigned long long)hits,
				   (unsigned long long)atomic_load_explicit(&supps[j].bytes, memory_order_relaxed));
			ga_write_all(fd, line, n);
			ga_write_all(fd, supps[j].templ, strlen(supps[j].templ));
			ga_write_all(fd, "\n", 1);
		} else {
			ga_write_all(fd, line, n);
		}
	}
}

/* ---- Start-up --------------------------------------------------------------------------------- */

void gcsite_init(void)
{
	find_text(); /* (backtrace() itself is first called by the first capture: prime) */
	long long rate = ga_option(GA_OPT_PROFILE_RATE);
	atomic_store_explicit(&sample_rate, rate >= 1 ? (uint64_t)rate : DEFAULT_RATE, memory_order_relaxed);
	uint64_t seed;
	if (syscall(SYS_getrandom, &seed, sizeof seed, 1 /* GRND_NONBLOCK */) == (long)sizeof seed)
		sample_seed = seed;
	gcsite_load_suppressions(ga_option_path(GA_OPT_SUPPRESSIONS));
}
