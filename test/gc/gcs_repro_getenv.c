/* gcs_repro_getenv — under GOALLOC_GC=report (or GOALLOC_GCTRACE=1 alone) the program's environ is
 * NULL: getenv() finds nothing, bash sees no $HOME, python3 an empty os.environ.
 *   cc test/gc/gcs_repro_getenv.c -o /tmp/getenv
 *   LD_PRELOAD=build/libgoalloc.so GOALLOC_GC=report /tmp/getenv     prints HOME=(null)
 *   LD_PRELOAD=build/libgoalloc.so GOALLOC_GC=collect /tmp/getenv    prints HOME=/root
 * (A program that walks environ itself dies of SIGSEGV.) gc_init, called from goalloc's
 * -z initfirst constructor, runs gcsite_init in report mode, whose priming backtrace() dlopens
 * libgcc_s before libc has set environ. Not a test (nothing runs it): the reproducer that
 * t_gcs_safepoint.sh's ENV_BUG names. */
#include <stdio.h>
#include <stdlib.h>
int main(void)
{
	printf("HOME=%s\n", getenv("HOME"));
	return 0;
}
