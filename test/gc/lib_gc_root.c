/* lib_gc_root — a library t_gc_leaks dlopens (RTLD_NOW | RTLD_LOCAL) to hold goalloc blocks where
 * the collector must look: a global and a static of a dlopen'd object (its writable PT_LOAD
 * segment), and a __thread variable of it, which glibc allocates in dynamic TLS (a block
 * __tls_get_addr mallocs for each thread on first use, reached from the thread's DTV). The blocks
 * are allocated by the program and handed over, so that frame #0 of any report names the program's
 * function, and the library keeps the only pointer. */
#include <stddef.h>

void *lib_root_global;
static void *lib_root_static;
/* global-dynamic TLS: built -fPIC and dlopen'd, so not in static TLS */
__thread void *lib_root_tls;

void lib_root_set_global(void *p);
void lib_root_set_static(void *p);
void *lib_root_get_static(void);
void lib_root_set_tls(void *p);
void *lib_root_get_tls(void);

void lib_root_set_global(void *p)
{
	lib_root_global = p;
}

void lib_root_set_static(void *p)
{
	lib_root_static = p;
}

void *lib_root_get_static(void)
{
	return lib_root_static;
}

void lib_root_set_tls(void *p)
{
	lib_root_tls = p;
}

void *lib_root_get_tls(void)
{
	return lib_root_tls;
}
