/* fixalloc.c — see fixalloc.h. */
#include "fixalloc.h"

#include "os.h"
#include "tunables.h"


void fixalloc_init(struct fixalloc *f, size_t size)
{
	f->size = ga_align_up(size, 16);
	f->list = NULL;
	f->chunk = NULL;
	f->nchunk = 0;
	f->inuse = 0;
	f->mapped = 0;
	f->released = NULL;
	f->nreleased = f->released_cap = 0;
}

void *fixalloc_alloc(struct fixalloc *f)
{
	void *p = f->list;
	if (p) {
		f->list = *(void **)p;
		*(void **)p = NULL;
	} else {
		if (f->nchunk < f->size && f->nreleased) { /* records fixalloc_release gave back */
			struct fixalloc_run *r = &f->released[--f->nreleased];
			f->chunk = r->p;
			f->nchunk = r->n;
		}
		if (f->nchunk < f->size) {
			size_t n = f->size > FIXALLOC_CHUNK ? ga_align_up(f->size, 4096) : FIXALLOC_CHUNK;
			char *c = ga_os_alloc(n);
			if (!c)
				return NULL;
			f->mapped += n;
			f->chunk = c;
			f->nchunk = n;
		}
		p = f->chunk;
		f->chunk += f->size;
		f->nchunk -= f->size;
	}
	f->inuse++;
	return p;
}

void fixalloc_free(struct fixalloc *f, void *p)
{
	*(void **)p = f->list;
	f->list = p;
	f->inuse--;
}

/* Heapsort of n addresses (no allocation: qsort may call malloc). */
static void sort_addrs(uintptr_t *a, size_t n)
{
	for (size_t k = n; k-- > 0;) /* heapify, then pop */
		for (size_t i = k, c; (c = 2 * i + 1) < n; i = c) {
			if (c + 1 < n && a[c + 1] > a[c])
				c++;
			if (a[i] >= a[c])
				break;
			uintptr_t t = a[i]; a[i] = a[c]; a[c] = t;
		}
	for (size_t m = n; m-- > 1;) {
		uintptr_t t = a[0]; a[0] = a[m]; a[m] = t;
		for (size_t i = 0, c; (c = 2 * i + 1) < m; i = c) {
			if (c + 1 < m && a[c + 1] > a[c])
				c++;
			if (a[i] >= a[c])
				break;
			t = a[i]; a[i] = a[c]; a[c] = t;
		}
	}
}

/* Room for one more released run. */
static int run_room(struct fixalloc *f)
{
	if (f->nreleased < f->released_cap)
		return 1;
	size_t cap = f->released_cap ? f->released_cap * 2 : 4096 / sizeof *f->released;
	struct fixalloc_run *r = ga_os_alloc(cap * sizeof *r);
	if (!r)
		return 0;
	if (f->released) {
		__builtin_memcpy(r, f->released, f->nreleased * sizeof *r);
		ga_os_free(f->released, f->released_cap * sizeof *r);
	}
	f->released = r;
	f->released_cap = cap;
	return 1;
}

/* The free records, sorted, form runs of neighbours. In a run [b, e) the whole OS pages
 * [pb, pe) hold free records only: they are given back, and the records that start in them leave
 * the list (their link would read as zero) for a released run, handed out as a chunk is. The
 * records before and after stay listed, relinked in address order. */
size_t fixalloc_release(struct fixalloc *f)
{
	size_t n = 0, released = 0;
	for (void *p = f->list; p; p = *(void **)p)
		n++;
	if (n < 2)
		return 0;
	size_t bytes = ga_align_up(n * sizeof(uintptr_t), 4096);
	uintptr_t *a = ga_os_alloc(bytes);
	if (!a)
		return 0;
	size_t k = 0;
	for (void *p = f->list; p; p = *(void **)p)
		a[k++] = (uintptr_t)p;
	sort_addrs(a, n);
	void *head = NULL, **tail = &head;
	for (size_t i = 0; i < n;) {
		size_t j = i + 1; /* the run a[i .. j) */
		while (j < n && a[j] == a[j - 1] + f->size)
			j++;
		uintptr_t pb = ga_align_up(a[i], 4096), pe = (a[j - 1] + f->size) & ~(uintptr_t)4095;
		size_t r0 = j, r1 = j; /* records starting in [pb, pe): a[r0 .. r1) */
		if (pe > pb && run_room(f) && ga_os_unused((void *)pb, pe - pb)) {
			released += pe - pb;
			for (r0 = i; a[r0] < pb; r0++)
				;
			for (r1 = r0; r1 < j && a[r1] < pe; r1++)
				;
			f->released[f->nreleased].p = (char *)a[r0];
			f->released[f->nreleased].n = (r1 - r0) * f->size;
			f->nreleased++;
		}
		for (size_t m = i; m < j; m++)
			if (m < r0 || m >= r1) {
				*tail = (void *)a[m];
				tail = (void **)a[m];
			}
		i = j;
	}
	*tail = NULL;
	f->list = head;
	ga_os_free(a, bytes);
	return released;
}
