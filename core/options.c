/* options.c — see options.h. To add an option: an enum entry in options.h, a row below, a row in
 * README.md's table. */
#include "options.h"

#include <sys/auxv.h>

#include "fmt.h"

static const char *const gc_modes[] = {"off", "report", "collect", "default", NULL};
static const char *const gc_stops[] = {"signal", "ptrace", "auto", NULL};
static const char *const gc_pagemaps[] = {"scan", "read", NULL};

static const struct ga_option_desc options[GA_OPT_COUNT] = {
	[GA_OPT_STATS] = {"STATS", KIND_BOOL, 0, 0, 1, "print allocation statistics to stderr at exit", 0},
	[GA_OPT_CHECK] = {"CHECK", KIND_BOOL, 0, 0, 1, "verify the heap's structures as they change hands and at exit", 0},
	[GA_OPT_HUGEPAGES] = {"HUGEPAGES", KIND_BOOL, 1, 0, 1,
			      "transparent huge pages for the heap past its first 16 MiB", 0},
	[GA_OPT_GC] = {"GC", KIND_ENUM, 3, 0, 0,
		       "the collector: off, report (find blocks no root reaches), collect (free them)", gc_modes},
	[GA_OPT_GCTRACE] = {"GCTRACE", KIND_BOOL, 0, 0, 1, "print Go's gctrace line per collection (turns report on)", 0},
	[GA_OPT_GOGC] = {"GOGC", KIND_INT_OFF, 100, 1, 1000000, "heap growth in percent that triggers a collection", 0},
	[GA_OPT_FORCEGC] = {"FORCEGC", KIND_INT, 120, 0, 86400, "seconds between forced collections (0: never)", 0},
	[GA_OPT_GC_STOP] = {"GC_STOP", KIND_ENUM, 2, 0, 0, "how threads are stopped: signal, ptrace or auto", gc_stops},
	[GA_OPT_GC_STOP_TIMEOUT] = {"GC_STOP_TIMEOUT", KIND_INT, 1000, 1, 600000,
				    "milliseconds to stop every thread before a collection is abandoned", 0},
	[GA_OPT_GC_SIGNAL] = {"GC_SIGNAL", KIND_INT, 23, 1, 64, "the signal that stops threads (SIGURG)", 0},
	[GA_OPT_GC_PAGEMAP] = {"GC_PAGEMAP", KIND_ENUM, 0, 0, 0,
			       "how absent pages are skipped: scan (PAGEMAP_SCAN) or read (/proc/self/pagemap)", gc_pagemaps},
	[GA_OPT_GC_VERIFY] = {"GC_VERIFY", KIND_BOOL, 0, 0, 1, "collect mode poisons collected blocks and never reuses them", 0},
	[GA_OPT_LEAK_EXITCODE] = {"LEAK_EXITCODE", KIND_INT, 0, 0, 255, "exit status when leaks are reported at exit (0: unchanged)", 0},
	[GA_OPT_LOG] = {"LOG", KIND_PATH, 0, 0, 0, "file for trace, reports and statistics (%p: the pid)", 0},
	[GA_OPT_SUPPRESSIONS] = {"SUPPRESSIONS", KIND_PATH, 0, 0, 0, "file of leak:pattern lines (LeakSanitizer syntax)", 0},
	[GA_OPT_PROFILE_RATE] = {"PROFILE_RATE", KIND_SIZE, 512 * 1024, 1, 1ll << 40,
				 "bytes allocated between sampled full stacks, on average (1: every allocation)", 0},
	[GA_OPT_SCAVENGE] = {"SCAVENGE", KIND_BOOL, 1, 0, 1,
			     "give free pages back to the OS from a background thread once the heap has shrunk 64 MiB", 0},
	[GA_OPT_SCAVTRACE] = {"SCAVTRACE", KIND_BOOL, 0, 0, 1, "print Go's scav line when the scavenger or malloc_trim releases pages", 0},
};

static long long values[GA_OPT_COUNT];
/* Zero-filled and untouched until a KIND_PATH option is set, so it costs no memory otherwise. */
static char paths[GA_OPT_COUNT][GA_OPT_PATH_MAX];

/* GOALLOC_* names that are not options but are exported by goalloc's own tooling into every
 * program it runs: the Makefile and test/run-one.sh (LIB, VALGRIND_LIB, BUILD, UNDER_VALGRIND)
 * and test/programs/lib.sh (TEST_TIMEOUT, TEST_KEEP). Listing them here keeps the unknown-name
 * warning out of the stderr of every test program (several tests compare stderr with and without
 * goalloc, or expect it empty) without renaming variables that scripts, tests and users' habits
 * share. The whole TEST_ prefix is left to the test tooling, so a new test variable needs no
 * change here; no option will ever be named TEST_*. FAULT_ likewise belongs to the fault-injection
 * test flavour (core/os.c reads its knobs there; the Makefile exports FAULT_LIB). */
static const char *const tool_names[] = {"LIB", "VALGRIND_LIB", "BUILD", "UNDER_VALGRIND"};
static const char *const tool_prefixes[] = {"TEST_", "FAULT_"};

extern char **environ;

long long ga_option(enum ga_option_id id)
{
	return values[id];
}

const char *ga_option_path(enum ga_option_id id)
{
	return paths[id][0] ? paths[id] : NULL;
}

static char lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c + 32) : c;
}

static int streq_ci(const char *a, const char *b)
{
	for (; *a && *b; a++, b++)
		if (lower(*a) != lower(*b))
			return 0;
	return *a == *b;
}

int options_parse_bool(const char *s, long long *out)
{
	static const char *const yes[] = {"1", "true", "yes", "on"}, *const no[] = {"0", "false", "no", "off"};
	for (unsigned i = 0; i < 4; i++) {
		if (streq_ci(s, yes[i])) {
			*out = 1;
			return 1;
		}
		if (streq_ci(s, no[i])) {
			*out = 0;
			return 1;
		}
	}
	return 0;
}

/* Decimal digits at *sp into *v (no sign); advances *sp. 0 when there are none or on overflow
 * past LLONG_MAX. */
static int parse_digits(const char **sp, unsigned long long *v)
{
	const char *s = *sp;
	unsigned long long x = 0;
	if (*s < '0' || *s > '9')
		return 0;
	for (; *s >= '0' && *s <= '9'; s++) {
		unsigned d = (unsigned)(*s - '0');
		if (x > ((unsigned long long)LLONG_MAX - d) / 10)
			return 0;
		x = x * 10 + d;
	}
	*sp = s;
	*v = x;
	return 1;
}

int options_parse_int(const char *s, long long min, long long max, long long *out)
{
	int neg = 0;
	unsigned long long v;
	if (*s == '-' || *s == '+')
		neg = *s++ == '-';
	if (!parse_digits(&s, &v) || *s)
		return 0;
	long long x = neg ? -(long long)v : (long long)v;
	if (x < min || x > max)
		return 0;
	*out = x;
	return 1;
}

int options_parse_size(const char *s, long long min, long long max, long long *out)
{
	unsigned long long v;
	if (!parse_digits(&s, &v))
		return 0;
	unsigned shift = 0;
	switch (lower(*s)) {
	case 'k': shift = 10; break;
	case 'm': shift = 20; break;
	case 'g': shift = 30; break;
	case 't': shift = 40; break;
	}
	if (shift) {
		s++;
		if (lower(*s) == 'i' && lower(s[1]) == 'b')
			s += 2;
		else if (lower(*s) == 'b')
			s++;
	} else if (lower(*s) == 'b') {
		s++;
	}
	if (*s || v > (unsigned long long)LLONG_MAX >> shift)
		return 0;
	long long x = (long long)(v << shift);
	if (x < min || x > max)
		return 0;
	*out = x;
	return 1;
}

int options_parse_enum(const char *s, const char *const *choices, long long *out)
{
	for (long long i = 0; choices && choices[i]; i++)
		if (streq_ci(s, choices[i])) {
			*out = i;
			return 1;
		}
	return 0;
}

int options_parse_path(const char *s, char *buf, size_t cap)
{
	size_t n = 0;
	while (s[n])
		if (++n >= cap)
			return 0;
	for (size_t i = 0; i <= n; i++)
		buf[i] = s[i];
	return 1;
}

#define DIST_MAXLEN 64

unsigned options_distance(const char *a, const char *b, size_t blen, unsigned limit)
{
	size_t alen = 0;
	while (a[alen])
		alen++;
	if (alen > DIST_MAXLEN || blen > DIST_MAXLEN || (alen > blen ? alen - blen : blen - alen) > limit)
		return limit + 1;
	/* Three rows of the optimal-string-alignment table: i-2, i-1, i. */
	unsigned r0[DIST_MAXLEN + 1], r1[DIST_MAXLEN + 1], r2[DIST_MAXLEN + 1];
	unsigned *pp = r0, *p = r1, *c = r2;
	for (size_t j = 0; j <= blen; j++)
		p[j] = (unsigned)j;
	for (size_t i = 1; i <= alen; i++) {
		c[0] = (unsigned)i;
		for (size_t j = 1; j <= blen; j++) {
			unsigned cost = lower(a[i - 1]) != lower(b[j - 1]);
			unsigned d = p[j - 1] + cost;
			if (p[j] + 1 < d)
				d = p[j] + 1;
			if (c[j - 1] + 1 < d)
				d = c[j - 1] + 1;
			if (i > 1 && j > 1 && lower(a[i - 1]) == lower(b[j - 2]) && lower(a[i - 2]) == lower(b[j - 1]) &&
			    pp[j - 2] + 1 < d)
				d = pp[j - 2] + 1;
			c[j] = d;
		}
		unsigned *t = pp;
		pp = p;
		p = c;
		c = t;
	}
	return p[blen] > limit ? limit + 1 : p[blen];
}

/* The value as it may appear inside a one-line warning: control bytes shown as '?', cut at 64
 * bytes. */
static const char *shown(const char *v, char *buf, size_t cap)
{
	size_t i = 0;
	for (; v[i] && i + 4 < cap; i++)
		buf[i] = (unsigned char)v[i] < 0x20 || v[i] == 0x7f ? '?' : v[i];
	if (v[i])
		for (int k = 0; k < 3; k++)
			buf[i++] = '.';
	buf[i] = 0;
	return buf;
}

static void warn_bad(const struct ga_option_desc *o, const char *val)
{
	char vb[68], expect[160];
	shown(val, vb, sizeof vb);
	switch (o->kind) {
	case KIND_BOOL:
		ga_warn("GOALLOC_%s=%s is not a valid value (expected 1/0, true/false, yes/no, on/off); using the "
			"default %lld", o->name, vb, o->def);
		return;
	case KIND_INT:
		ga_warn("GOALLOC_%s=%s is not a valid value (expected an integer from %lld to %lld); using the default "
			"%lld", o->name, vb, o->min, o->max, o->def);
		return;
	case KIND_INT_OFF:
		ga_warn("GOALLOC_%s=%s is not a valid value (expected an integer from %lld to %lld, or off); using the "
			"default %lld", o->name, vb, o->min, o->max, o->def);
		return;
	case KIND_SIZE:
		ga_warn("GOALLOC_%s=%s is not a valid value (expected a size from %lld to %lld bytes, suffix k/m/g/t "
			"allowed); using the default %lld", o->name, vb, o->min, o->max, o->def);
		return;
	case KIND_ENUM: {
		size_t n = 0;
		for (unsigned i = 0; o->choices && o->choices[i]; i++)
			n += ga_fmt(expect + n, sizeof expect - n, "%s%s", i ? "|" : "", o->choices[i]);
		ga_warn("GOALLOC_%s=%s is not a valid value (expected %s); using the default %s", o->name, vb, expect,
			o->choices ? o->choices[o->def] : "");
		return;
	}
	case KIND_PATH:
		ga_warn("GOALLOC_%s is longer than %d bytes; ignored", o->name, GA_OPT_PATH_MAX - 1);
		return;
	}
}

/* Does name[0..len) equal the NUL-terminated s? */
static int name_is(const char *name, size_t len, const char *s)
{
	size_t k = 0;
	while (k < len && s[k] && s[k] == name[k])
		k++;
	return k == len && !s[k];
}

static void warn_unknown(const struct ga_option_desc *rows, unsigned n, const char *name, size_t len)
{
	char nb[68];
	size_t k = len < sizeof nb - 4 ? len : sizeof nb - 4;
	for (size_t i = 0; i < k; i++)
		nb[i] = (unsigned char)name[i] < 0x20 || name[i] == 0x7f ? '?' : name[i];
	if (k < len)
		for (int d = 0; d < 3; d++)
			nb[k++] = '.';
	nb[k] = 0;
	const char *best = NULL;
	unsigned best_d = 3;
	for (unsigned i = 0; i < n; i++) {
		unsigned d = options_distance(rows[i].name, name, len, 2);
		if (d < best_d) {
			best_d = d;
			best = rows[i].name;
		}
	}
	if (best)
		ga_warn("GOALLOC_%s is not an option; ignored (did you mean GOALLOC_%s?)", nb, best);
	else
		ga_warn("GOALLOC_%s is not an option; ignored", nb);
}

void options_scan(const struct ga_option_desc *rows, unsigned n, long long *vals, char (*pathv)[GA_OPT_PATH_MAX],
		  char **envp, int secure)
{
	const struct ga_option_desc *ignored = NULL;
	unsigned nignored = 0;
	for (unsigned i = 0; i < n; i++) {
		vals[i] = rows[i].def;
		if (rows[i].kind == KIND_PATH)
			pathv[i][0] = 0;
	}
	for (char **e = envp; *e; e++) {
		const char *kv = *e;
		if (kv[0] != 'G' || kv[1] != 'O' || kv[2] != 'A' || kv[3] != 'L' || kv[4] != 'L' || kv[5] != 'O' ||
		    kv[6] != 'C' || kv[7] != '_')
			continue;
		const char *name = kv + 8;
		size_t len = 0;
		while (name[len] && name[len] != '=')
			len++;
		const char *val = name[len] == '=' ? name + len + 1 : "";
		const struct ga_option_desc *o = NULL;
		for (unsigned i = 0; i < n && !o; i++)
			if (name_is(name, len, rows[i].name))
				o = &rows[i];
		if (!o) {
			int tool = 0;
			for (unsigned i = 0; i < sizeof tool_prefixes / sizeof *tool_prefixes && !tool; i++) {
				size_t k = __builtin_strlen(tool_prefixes[i]);
				tool = len >= k && name_is(name, k, tool_prefixes[i]);
			}
			for (unsigned i = 0; i < sizeof tool_names / sizeof *tool_names && !tool; i++)
				tool = name_is(name, len, tool_names[i]);
			if (!tool)
				warn_unknown(rows, n, name, len);
			continue;
		}
		unsigned idx = (unsigned)(o - rows);
		long long v = 0;
		int good = 0;
		switch (o->kind) {
		case KIND_BOOL: good = options_parse_bool(val, &v); break;
		case KIND_INT: good = options_parse_int(val, o->min, o->max, &v); break;
		case KIND_INT_OFF:
			good = options_parse_int(val, o->min, o->max, &v);
			if (!good && streq_ci(val, "off")) {
				v = -1;
				good = 1;
			}
			break;
		case KIND_SIZE: good = options_parse_size(val, o->min, o->max, &v); break;
		case KIND_ENUM: good = options_parse_enum(val, o->choices, &v); break;
		case KIND_PATH:
			if (secure) { /* as glibc ignores MALLOC_* files there: the user chose no file */
				if (!nignored++)
					ignored = o;
				continue;
			}
			if (options_parse_path(val, pathv[idx], GA_OPT_PATH_MAX))
				continue;
			pathv[idx][0] = 0;
			break;
		}
		if (good)
			vals[idx] = v;
		else
			warn_bad(o, val);
	}
	if (nignored == 1)
		ga_warn("GOALLOC_%s ignored: options that name files are not read in a setuid/setgid program",
			ignored->name);
	else if (nignored)
		ga_warn("GOALLOC_%s and %u more ignored: options that name files are not read in a setuid/setgid "
			"program", ignored->name, nignored - 1);
}

static int options_read;

void options_init(char **envp)
{
	if (options_read)
		return;
	for (unsigned i = 0; i < GA_OPT_COUNT; i++)
		values[i] = options[i].def;
	if (!envp)
		envp = environ;
	if (!envp)
		return; /* too early (malloc before libc's own start-up): the constructor reads them */
	options_read = 1;
	options_scan(options, GA_OPT_COUNT, values, paths, envp, getauxval(AT_SECURE) != 0);
}
