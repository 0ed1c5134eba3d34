/* options.h — the one table of GOALLOC_* environment variables, read once at start by scanning
 * environ (getenv is fine too, but scanning lets us warn about misspelt GOALLOC_ names). Parsing
 * never allocates; a bad value gets a one-line warning on stderr and the default. */
#ifndef GA_OPTIONS_H
#define GA_OPTIONS_H
#include "ga.h"

enum ga_option_id {
	GA_OPT_STATS,  /* bool: print statistics to stderr at exit */
	GA_OPT_CHECK,  /* bool: verify spans, exiting threads' caches and, at exit, the whole heap */
	GA_OPT_COUNT
};

/* Read the options from envp (or environ when envp is NULL). Does nothing once options have been
 * read; before libc has set environ it only sets the defaults, so a later call reads them. */
GA_HIDDEN void options_init(char **envp);
GA_HIDDEN long long ga_option(enum ga_option_id id);

/* Parse helpers (exposed for the unit test). Return 1 on success. */
GA_HIDDEN int options_parse_bool(const char *s, long long *out);
GA_HIDDEN int options_parse_int(const char *s, long long min, long long max, long long *out);
#endif
