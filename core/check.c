/* check.c — the failure reports of the verifiers and assertions, and ga_check_heap, which runs
 * the verifiers of every structure with all locks held. See check.h. */
#include "check.h"

#include <stdarg.h>

#include "fmt.h"
#include "lock.h"
#include "mcache.h"
#include "mcentral.h"
#include "mheap.h"
#include "mowner.h"
#include "options.h"

static _Atomic uint64_t spans_seen;

void ga_assert_failed(const char *file, int line, const char *cond, const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	ga_vfmt(msg, sizeof msg, fmt, ap);
	va_end(ap);
	ga_fatal("assertion failed at %s:%d: %s%s", file, line, cond, msg);
}

void ga_check_failed(const char *fmt, ...)
{
	char msg[400];
	va_list ap;
	va_start(ap, fmt);
	ga_vfmt(msg, sizeof msg, fmt, ap);
	va_end(ap);
	ga_fatal("heap check failed: %s", msg);
}

void ga_check_field(uintptr_t span, const char *field, uint64_t expected, uint64_t found)
{
	ga_check_failed("span %p: %s: expected %llu (0x%llx), found %llu (0x%llx)", (void *)span, field,
			(unsigned long long)expected, (unsigned long long)expected, (unsigned long long)found,
			(unsigned long long)found);
}

int ga_checking(void)
{
	return ga_option(GA_OPT_CHECK) != 0;
}

uint64_t ga_check_spans_seen(void)
{
	return atomic_load_explicit(&spans_seen, memory_order_relaxed);
}

void ga_check_heap(void)
{
	ga_lock_all();
	struct mcache *c = &ga_mcache; /* (this thread's own: no other thread writes it) */
	if (c->state == MCACHE_LIVE && !c->busy) {
		mcache_check(c);
		for (unsigned sc = 0; c->owner && sc < GA_NUM_SPAN_CLASSES; sc++)
			mowner_check_inbox(&ga_owners[c->owner].in[sc], (uint8_t)sc);
	}
	uint64_t n = mheap_check();
	for (unsigned sc = 0; sc < GA_NUM_SPAN_CLASSES; sc++)
		mcentral_check(&ga_central[sc]);
	ga_unlock_all();
	atomic_store_explicit(&spans_seen, n, memory_order_relaxed);
}
