/* gcs_repro_align — under GOALLOC_GC=collect, posix_memalign, aligned_alloc and C++'s aligned
 * operator new return misaligned blocks. 100 x posix_memalign(16, 64), then posix_memalign(32, 48):
 *   cc -O1 test/gc/gcs_repro_align.c -o /tmp/align
 *   LD_PRELOAD=build/libgoalloc.so GOALLOC_GC=collect /tmp/align
 * Expected (and seen with GOALLOC_GC=off and report): "all aligned". Seen under collect: the
 * second posix_memalign(32, 48) returns 0xc000003fb0 (address % 32 = 16), before any cycle has
 * run: with the one-byte padding a 65-byte request lands in the 80-byte class, and a later 32-byte
 * aligned request of 49 bytes is served from that class's list. test/programs/cxx_threads.cc
 * (alignas(64) objects) prints "misaligned 12366" under collect. Not a test (nothing runs it): the
 * reproducer that t_gcs_programs.sh's ALIGN_BUG names. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
/* (the compiler knows what posix_memalign promises and would drop the checks) */
static uintptr_t addr(void *p)
{
	__asm__ volatile("" : "+r"(p));
	return (uintptr_t)p;
}
int main(void)
{
	void *p = NULL;
	int i;
	for (i = 0; i < 100; i++)
		if (posix_memalign(&p, 16, 64) || addr(p) % 16)
			return printf("posix_memalign(16, 64) #%d = %p\n", i, p), 1;
	for (i = 0; i < 100; i++)
		if (posix_memalign(&p, 32, 48) || addr(p) % 32)
			return printf("posix_memalign(32, 48) #%d = %p: misaligned\n", i, p), 1;
	puts("all aligned");
	return 0;
}
