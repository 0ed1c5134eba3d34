/* lib_gc_deepbind — dlopen'd by t_gc_leaks with RTLD_DEEPBIND, so that its malloc binds to glibc's
 * own (its dependency libc.so.6 comes before the global scope, where goalloc is preloaded): the
 * box it returns is a glibc block in glibc's heap. The program stores a goalloc block's pointer in
 * it and keeps no other: the collector must scan glibc's heap as the ordinary writable memory it
 * is, or report the goalloc block as lost. */
#include <stdlib.h>

struct deep_box {
	void *pad[3];
	void *held;
	void *pad2[4];
};

void *deep_box_new(void *held);
void *deep_box_held(const void *box);

void *deep_box_new(void *held)
{
	struct deep_box *b = malloc(sizeof *b);
	if (!b)
		return NULL;
	for (int i = 0; i < 3; i++)
		b->pad[i] = NULL;
	for (int i = 0; i < 4; i++)
		b->pad2[i] = NULL;
	b->held = held;
	return b;
}

void *deep_box_held(const void *box)
{
	return ((const struct deep_box *)box)->held;
}
