/* init.h — start-up of the allocator (init.c). Only entry points call ga_ensure_init: the
 * allocation paths of core/malloc.c and the exported functions in preload/. The modules below
 * them (arena, mspan, mheap, mcentral, mcache, os, fixalloc, fmt) never do: they run only once
 * an entry point has started the allocator, or, in the unit tests, on their own. */
#ifndef GA_INIT_H
#define GA_INIT_H
#include "ga.h"

GA_HIDDEN extern _Atomic int ga_inited; /* 0 none, 1 running, 2 done */
GA_HIDDEN void ga_init_slow(void);

/* Start the allocator if no entry point has yet (malloc runs long before any constructor in
 * some programs). */
GA_INLINE void ga_ensure_init(void)
{
	if (GA_UNLIKELY(atomic_load_explicit(&ga_inited, memory_order_acquire) != 2))
		ga_init_slow();
}
#endif
