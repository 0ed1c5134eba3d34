/* options.c — see options.h. To add an option: an enum entry in options.h, a row below, a row in
 * README.md's table. */
#include "options.h"

#include "fmt.h"

enum kind { KIND_BOOL, KIND_INT };

struct option {
	const char *name; /* without the GOALLOC_ prefix */
	enum kind kind;
	long long def, min, max;
	const char *help;
	long long value;
};

static struct option options[GA_OPT_COUNT] = {
	[GA_OPT_STATS] = {"STATS", KIND_BOOL, 0, 0, 1, "print allocation statistics to stderr at exit", 0},
	[GA_OPT_CHECK] = {"CHECK", KIND_BOOL, 0, 0, 1, "verify the heap's structures as they change hands and at exit", 0},
};

extern char **environ;

long long ga_option(enum ga_option_id id)
{
	return options[id].value;
}

static int streq_ci(const char *a, const char *b)
{
	for (; *a && *b; a++, b++) {
		char x = *a >= 'A' && *a <= 'Z' ? (char)(*a + 32) : *a;
		char y = *b >= 'A' && *b <= 'Z' ? (char)(*b + 32) : *b;
		if (x != y)
			return 0;
	}
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

int options_parse_int(const char *s, long long min, long long max, long long *out)
{
	int neg = 0;
	unsigned long long v = 0;
	if (*s == '-' || *s == '+')
		neg = *s++ == '-';
	if (!*s)
		return 0;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > (unsigned long long)INT64_MAX / 10)
			return 0;
		v = v * 10 + (unsigned)(*s - '0');
	}
	if (v > (unsigned long long)INT64_MAX)
		return 0;
	long long x = neg ? -(long long)v : (long long)v;
	if (x < min || x > max)
		return 0;
	*out = x;
	return 1;
}

static int options_read;

void options_init(char **envp)
{
	if (options_read)
		return;
	for (unsigned i = 0; i < GA_OPT_COUNT; i++)
		options[i].value = options[i].def;
	if (!envp)
		envp = environ;
	if (!envp)
		return; /* too early (malloc before libc's own start-up): the constructor reads them */
	options_read = 1;
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
		struct option *o = NULL;
		for (unsigned i = 0; i < GA_OPT_COUNT; i++) {
			const char *n = options[i].name;
			size_t k = 0;
			while (k < len && n[k] && n[k] == name[k])
				k++;
			if (k == len && !n[k]) {
				o = &options[i];
				break;
			}
		}
		if (!o)
			continue; /* not ours (scripts use GOALLOC_LIB and the like) */
		long long v;
		int good = o->kind == KIND_BOOL ? options_parse_bool(val, &v)
						: options_parse_int(val, o->min, o->max, &v);
		if (good)
			o->value = v;
		else
			ga_warn("GOALLOC_%s=%s is not a valid value (%s); using the default %lld", o->name, val,
				o->kind == KIND_BOOL ? "expected 1/0, true/false, yes/no, on/off" : "expected an integer in range",
				o->def);
	}
}
