/* gcsite.h — allocation sites for the collector's leak reports (report mode): sampled full
 * stacks (Go's MemProfileRate), their symbolization, and LeakSanitizer-syntax suppressions. */
#ifndef GA_GCSITE_H
#define GA_GCSITE_H
#include "ga.h"

GA_HIDDEN void gcsite_init(void);
GA_HIDDEN int gcsite_sample(size_t n);
GA_HIDDEN uint32_t gcsite_capture(void);
GA_HIDDEN unsigned gcsite_frames(uint32_t id, uintptr_t *pcs, unsigned max);
GA_HIDDEN size_t gcsite_format_frame(char *buf, size_t cap, unsigned k, uintptr_t pc);
GA_HIDDEN int gcsite_suppressed(const uintptr_t *pcs, unsigned n);
GA_HIDDEN void gcsite_suppression_used(int i, uint64_t bytes);
GA_HIDDEN void gcsite_print_suppressions(int fd);
#endif
