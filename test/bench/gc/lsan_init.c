/* lsan_init.c — preloaded after liblsan.so.0 (LD_PRELOAD="liblsan.so.0 lsan_init.so"): calls
 * __lsan_init from a constructor.
 *
 * LeakSanitizer's runtime, preloaded into a program that was not built with -fsanitize=leak,
 * has no .preinit_array entry to start it: it initialises itself on its first malloc. A program
 * that calls another intercepted function first goes through an interceptor whose pointer to the
 * real function is still null: Debian 12's git and as (binutils) die with SIGSEGV at address 0
 * before main does anything, and dash prints "REAL(sigaction_symname) == nullptr". Constructors
 * of preloaded libraries run before the program's code, so this starts LSan in time.
 */
#define _GNU_SOURCE
#include <dlfcn.h>

__attribute__((constructor)) static void lsan_init_early(void) {
	void (*init)(void) = (void (*)(void))dlsym(RTLD_DEFAULT, "__lsan_init");
	if (init)
		init();
}
