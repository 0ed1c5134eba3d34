/* gcsite.c — see gcsite.h. (Callers only: frame 0 named by dladdr.) */
#include "gcsite.h"

#include <dlfcn.h>

#include "fmt.h"

void gcsite_init(void) {}
int gcsite_sample(size_t n) { (void)n; return 0; }
uint32_t gcsite_capture(void) { return 0; }
unsigned gcsite_frames(uint32_t id, uintptr_t *pcs, unsigned max) { (void)id; (void)pcs; (void)max; return 0; }

size_t gcsite_format_frame(char *buf, size_t cap, unsigned k, uintptr_t pc)
{
	Dl_info di;
	if (dladdr((void *)pc, &di) && di.dli_fname) {
		if (di.dli_sname)
			return ga_fmt(buf, cap, "    #%u %p in %s (%s+0x%lx)", k, (void *)pc, di.dli_sname, di.dli_fname,
				      (unsigned long)(pc - (uintptr_t)di.dli_fbase));
		return ga_fmt(buf, cap, "    #%u %p (%s+0x%lx)", k, (void *)pc, di.dli_fname,
			      (unsigned long)(pc - (uintptr_t)di.dli_fbase));
	}
	return ga_fmt(buf, cap, "    #%u %p", k, (void *)pc);
}

int gcsite_suppressed(const uintptr_t *pcs, unsigned n) { (void)pcs; (void)n; return -1; }
void gcsite_suppression_used(int i, uint64_t bytes) { (void)i; (void)bytes; }
void gcsite_print_suppressions(int fd) { (void)fd; }
