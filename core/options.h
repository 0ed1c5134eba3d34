/* options.h — the one table of GOALLOC_* environment variables, read once at start by scanning
 * environ (scanning, not getenv, so that a misspelt GOALLOC_ name gets a warning). Parsing never
 * allocates; a bad value gets a one-line warning on stderr and the default, never a crash. */
#ifndef GA_OPTIONS_H
#define GA_OPTIONS_H
#include <limits.h>

#include "ga.h"

enum ga_option_id {
	GA_OPT_STATS,  /* bool: print statistics to stderr at exit */
	GA_OPT_CHECK,  /* bool: verify spans, exiting threads' caches and, at exit, the whole heap */
	GA_OPT_HUGEPAGES, /* bool: transparent huge pages for the heap past its first few MiB */
	/* The collector (core/mgc.c). */
	GA_OPT_GC,              /* enum: off | report | collect | default (report if GCTRACE, else off) */
	GA_OPT_GCTRACE,         /* bool: a gctrace line per cycle */
	GA_OPT_GOGC,            /* int or off (-1): heap growth, in percent, that triggers a cycle */
	GA_OPT_FORCEGC,         /* int: seconds between forced cycles; 0 = never */
	GA_OPT_GC_STOP,         /* enum: signal | ptrace | auto */
	GA_OPT_GC_STOP_TIMEOUT, /* int: ms to stop every thread before a cycle is abandoned */
	GA_OPT_GC_SIGNAL,       /* int: the stop signal */
	GA_OPT_GC_PAGEMAP,      /* enum: scan (PAGEMAP_SCAN ioctl, else /proc/self/pagemap) | read */
	GA_OPT_GC_VERIFY,       /* bool: collect mode keeps collected blocks poisoned, out of reuse */
	GA_OPT_LEAK_EXITCODE,   /* int: exit status when leaks were reported at exit (0: unchanged) */
	GA_OPT_LOG,             /* path: trace, reports and statistics go there (%p: the pid) */
	GA_OPT_SUPPRESSIONS,    /* path: LeakSanitizer-syntax leak: suppressions */
	GA_OPT_PROFILE_RATE,    /* size: bytes between sampled full stacks, on average (1 = all) */
	/* The scavenger (core/mgcscavenge.c). */
	GA_OPT_SCAVENGE,        /* bool: give free pages back to the OS in the background */
	GA_OPT_SCAVTRACE,       /* bool: Go's scav line per stretch of work and per malloc_trim */
	GA_OPT_COUNT
};

/* What an option's value is, and how ga_option() returns it:
 *   KIND_BOOL  1/0, true/false, yes/no, on/off (any case) → 1 or 0
 *   KIND_INT   a decimal integer in [min, max]            → the integer
 *   KIND_INT_OFF  the same, or "off" (any case)           → the integer, or -1 for off
 *   KIND_SIZE  bytes, or with a suffix k/m/g/t (powers of 1024, any case, "64M", "64MiB",
 *              "64mb") in [min, max]                       → the byte count
 *   KIND_ENUM  one of the row's choices (any case)         → its index in choices
 *   KIND_PATH  a file name, at most GA_OPT_PATH_MAX-1 bytes → ga_option_path(); copied into a
 *              static buffer (the program may overwrite its environment strings later, as
 *              setproctitle-style code does). Ignored in a setuid/setgid program. */
enum ga_option_kind { KIND_BOOL, KIND_INT, KIND_INT_OFF, KIND_SIZE, KIND_ENUM, KIND_PATH };

#define GA_OPT_PATH_MAX PATH_MAX /* any name the kernel accepts fits */

/* One row of the table. def is the value used when the variable is absent or bad (for KIND_ENUM
 * an index into choices; KIND_PATH has no default: unset reads as NULL). min/max bound KIND_INT
 * and KIND_SIZE (KIND_BOOL rows say 0, 1). */
struct ga_option_desc {
	const char *name; /* without the GOALLOC_ prefix */
	enum ga_option_kind kind;
	long long def, min, max;
	const char *help;
	const char *const *choices; /* KIND_ENUM only: NULL-terminated */
};

/* Read the options from envp (or environ when envp is NULL). Does nothing once options have been
 * read; before libc has set environ it only sets the defaults, so a later call reads them. */
GA_HIDDEN void options_init(char **envp);
GA_HIDDEN long long ga_option(enum ga_option_id id);
/* A KIND_PATH option's value, NULL when unset, empty, bad or ignored (setuid). */
GA_HIDDEN const char *ga_option_path(enum ga_option_id id);

/* The work of options_init on any table (exposed for the unit test): sets values[i] (and, for
 * KIND_PATH rows, paths[i]) from the GOALLOC_* entries of envp, warning about bad values and
 * unknown names. secure: the program is setuid/setgid (AT_SECURE), so KIND_PATH rows are ignored,
 * with one warning. */
GA_HIDDEN void options_scan(const struct ga_option_desc *rows, unsigned n, long long *values,
			    char (*paths)[GA_OPT_PATH_MAX], char **envp, int secure);

/* Parsers (exposed for the unit test). Return 1 and set *out on success; 0 leaves *out alone. */
GA_HIDDEN int options_parse_bool(const char *s, long long *out);
GA_HIDDEN int options_parse_int(const char *s, long long min, long long max, long long *out);
GA_HIDDEN int options_parse_size(const char *s, long long min, long long max, long long *out);
GA_HIDDEN int options_parse_enum(const char *s, const char *const *choices, long long *out);
/* Copies s with its NUL into buf when it fits in cap bytes. */
GA_HIDDEN int options_parse_path(const char *s, char *buf, size_t cap);
/* Edit distance (insertions, deletions, substitutions, swaps of neighbours; letters compared
 * without case) between a and the first blen bytes of b, or limit+1 when it exceeds limit. */
GA_HIDDEN unsigned options_distance(const char *a, const char *b, size_t blen, unsigned limit);
#endif
