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
}

void *fixalloc_alloc(struct fixalloc *f)
{
	void *p = f->list;
	if (p) {
		f->list = *(void **)p;
		*(void **)p = NULL;
	} else {
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
