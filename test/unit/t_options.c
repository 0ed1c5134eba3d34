/* t_options.c — the GOALLOC_* options, linked directly: every parser on good values, bad values,
 * limits and overflow; the scan of an environment over a table with a row of every kind (values,
 * defaults kept on bad values, one warning line per problem, unknown names with a suggestion, the
 * tooling's own names left alone, file options ignored when setuid); options_init's early call
 * the constructor's read from envp, done once. */
#include <limits.h>
#include <string.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "options.h"
#include "tap.h"

extern char **environ;

/* ---- stderr capture (the warnings are written to fd 2) ---- */
static char cap[16384];
static int cap_fds[2], cap_saved;

static void capture_begin(void)
{
	fflush(stderr);
	if (pipe(cap_fds) != 0) {
		perror("pipe");
		exit(2);
	}
	cap_saved = dup(2);
	dup2(cap_fds[1], 2);
	close(cap_fds[1]);
}

/* Returns the captured text and its number of lines. */
static int capture_end(void)
{
	dup2(cap_saved, 2);
	close(cap_saved);
	size_t n = 0;
	ssize_t r;
	while (n < sizeof cap - 1 && (r = read(cap_fds[0], cap + n, sizeof cap - 1 - n)) > 0)
		n += (size_t)r;
	close(cap_fds[0]);
	cap[n] = 0;
	int lines = 0;
	for (size_t i = 0; i < n; i++)
		lines += cap[i] == '\n';
	return lines;
}

static int has(const char *s)
{
	return strstr(cap, s) != NULL;
}

/* ---- parsers ---- */
static void test_bool(void)
{
	static const char *const good1[] = {"1", "true", "TRUE", "Yes", "on", "ON"};
	static const char *const good0[] = {"0", "false", "False", "no", "NO", "off"};
	static const char *const bad[] = {"", "2", "tru", "yes ", " 1", "01", "y", "onn", "-1"};
	int fails = 0;
	long long v;
	for (unsigned i = 0; i < sizeof good1 / sizeof *good1; i++)
		fails += !(options_parse_bool(good1[i], &v) && v == 1);
	for (unsigned i = 0; i < sizeof good0 / sizeof *good0; i++)
		fails += !(options_parse_bool(good0[i], &v) && v == 0);
	ok(fails == 0, "bool: 1/true/yes/on and 0/false/no/off in any case (%d wrong)", fails);
	fails = 0;
	for (unsigned i = 0; i < sizeof bad / sizeof *bad; i++) {
		v = 42;
		fails += options_parse_bool(bad[i], &v) || v != 42;
	}
	ok(fails == 0, "bool: empty, other words, spaces rejected and *out untouched (%d accepted)", fails);
}

static void test_int(void)
{
	long long v = 0;
	ok(options_parse_int("0", 0, 10, &v) && v == 0, "int: 0");
	ok(options_parse_int("-5", -10, 10, &v) && v == -5, "int: -5");
	ok(options_parse_int("+7", -10, 10, &v) && v == 7, "int: +7");
	ok(options_parse_int("10", 0, 10, &v) && v == 10 && options_parse_int("3", 3, 10, &v) && v == 3,
	   "int: both limits are inside the range");
	v = 42;
	ok(!options_parse_int("11", 0, 10, &v) && !options_parse_int("2", 3, 10, &v) && !options_parse_int("-1", 0, 10, &v) &&
		   v == 42,
	   "int: out of range rejected");
	ok(options_parse_int("9223372036854775807", LLONG_MIN, LLONG_MAX, &v) && v == LLONG_MAX, "int: LLONG_MAX");
	ok(options_parse_int("-9223372036854775807", LLONG_MIN, LLONG_MAX, &v) && v == -LLONG_MAX, "int: -LLONG_MAX");
	v = 42;
	ok(!options_parse_int("9223372036854775808", LLONG_MIN, LLONG_MAX, &v) &&
		   !options_parse_int("99999999999999999999", LLONG_MIN, LLONG_MAX, &v) &&
		   !options_parse_int("18446744073709551617", LLONG_MIN, LLONG_MAX, &v) && v == 42,
	   "int: overflow past LLONG_MAX rejected, not wrapped");
	static const char *const bad[] = {"", "-", "+", "12a", "1 ", " 1", "1.0", "0x10", "--1", "1k"};
	int fails = 0;
	for (unsigned i = 0; i < sizeof bad / sizeof *bad; i++)
		fails += options_parse_int(bad[i], LLONG_MIN, LLONG_MAX, &v);
	ok(fails == 0 && v == 42, "int: malformed numbers rejected (%d accepted)", fails);
}

static void test_size(void)
{
	static const struct {
		const char *s;
		long long v;
	} good[] = {
		{"0", 0},
		{"4096", 4096},
		{"512k", 512 << 10},
		{"512K", 512 << 10},
		{"512kb", 512 << 10},
		{"512KiB", 512 << 10},
		{"64M", 64ll << 20},
		{"64m", 64ll << 20},
		{"64MiB", 64ll << 20},
		{"64mb", 64ll << 20},
		{"1g", 1ll << 30},
		{"1G", 1ll << 30},
		{"3GiB", 3ll << 30},
		{"2t", 2ll << 40},
		{"10B", 10},
		{"10b", 10},
		{"0k", 0},
		{"8388607T", 8388607ll << 40},
		{"9223372036854775807", LLONG_MAX},
	};
	int fails = 0;
	long long v;
	for (unsigned i = 0; i < sizeof good / sizeof *good; i++)
		if (!options_parse_size(good[i].s, 0, LLONG_MAX, &v) || v != good[i].v) {
			diag("%s: wrong", good[i].s);
			fails++;
		}
	ok(fails == 0, "size: bytes and k/m/g/t suffixes, powers of 1024, with B or iB (%d wrong)", fails);
	static const char *const bad[] = {"",    "k",    "-1",    "+1",   "1.5M", "1x",    "1kk",  "1 k",
					  "64MiBs", "64Mi", " 1",  "1k ",  "1e6",  "0x100", "1bb",  "1iB", "1p"};
	fails = 0;
	v = 42;
	for (unsigned i = 0; i < sizeof bad / sizeof *bad; i++)
		if (options_parse_size(bad[i], 0, LLONG_MAX, &v)) {
			diag("'%s' accepted", bad[i]);
			fails++;
		}
	ok(fails == 0 && v == 42, "size: malformed sizes and unknown suffixes rejected (%d accepted)", fails);
	ok(!options_parse_size("8388608T", 0, LLONG_MAX, &v) && !options_parse_size("9223372036854775808", 0, LLONG_MAX, &v) &&
		   !options_parse_size("17179869184G", 0, LLONG_MAX, &v) &&
		   !options_parse_size("99999999999999999999999k", 0, LLONG_MAX, &v) && v == 42,
	   "size: a number or a product past LLONG_MAX is rejected, not wrapped");
	ok(options_parse_size("4k", 0, 4096, &v) && v == 4096 && !options_parse_size("4k", 0, 4095, &v) &&
		   options_parse_size("1M", 1 << 20, 1 << 30, &v) && !options_parse_size("1023k", 1 << 20, 1 << 30, &v) &&
		   !options_parse_size("2G", 1 << 20, 1 << 30, &v),
	   "size: min and max apply to the byte count after the suffix");
}

static const char *const gc_modes[] = {"off", "report", "collect", NULL};

static void test_enum(void)
{
	long long v = -1;
	ok(options_parse_enum("off", gc_modes, &v) && v == 0, "enum: first choice is index 0");
	ok(options_parse_enum("REPORT", gc_modes, &v) && v == 1, "enum: any case");
	ok(options_parse_enum("collect", gc_modes, &v) && v == 2, "enum: last choice");
	v = 42;
	ok(!options_parse_enum("", gc_modes, &v) && !options_parse_enum("coll", gc_modes, &v) &&
		   !options_parse_enum("collect2", gc_modes, &v) && !options_parse_enum(" off", gc_modes, &v) &&
		   !options_parse_enum("0", gc_modes, &v) && !options_parse_enum("off", NULL, &v) && v == 42,
	   "enum: prefixes, longer words, numbers and a row without choices rejected");
}

static void test_path(void)
{
	char buf[8];
	memset(buf, 'x', sizeof buf);
	ok(options_parse_path("/tmp/a", buf, sizeof buf) && strcmp(buf, "/tmp/a") == 0, "path: copied with its NUL");
	ok(options_parse_path("/tmp/ab", buf, sizeof buf) && strcmp(buf, "/tmp/ab") == 0, "path: cap-1 bytes fit");
	memset(buf, 'x', sizeof buf);
	ok(!options_parse_path("/tmp/abc", buf, sizeof buf) && buf[0] == 'x', "path: cap bytes do not fit, buf untouched");
	ok(options_parse_path("", buf, sizeof buf) && buf[0] == 0, "path: empty is empty");
	static char big[GA_OPT_PATH_MAX + 1], out[GA_OPT_PATH_MAX];
	memset(big, 'a', sizeof big - 1);
	ok(!options_parse_path(big, out, sizeof out), "path: GA_OPT_PATH_MAX bytes rejected");
	big[GA_OPT_PATH_MAX - 1] = 0;
	ok(options_parse_path(big, out, sizeof out) && strlen(out) == GA_OPT_PATH_MAX - 1, "path: GA_OPT_PATH_MAX-1 bytes fit");
}

static unsigned dist(const char *a, const char *b)
{
	return options_distance(a, b, strlen(b), 2);
}

static void test_distance(void)
{
	ok(dist("STATS", "STATS") == 0 && dist("STATS", "stats") == 0, "distance: equal, and case is ignored");
	ok(dist("GCTRACE", "GCTRAC") == 1 && dist("STATS", "STAT") == 1 && dist("STATS", "STATSS") == 1 &&
		   dist("STATS", "STATX") == 1,
	   "distance: one deletion, insertion or substitution is 1");
	ok(dist("GCTRACE", "GCTRCAE") == 1 && dist("STATS", "TSATS") == 1, "distance: swapped neighbours are 1");
	ok(dist("GCTRACE", "GCTRA") == 2 && dist("GCTRACE", "GCTARCEE") == 2, "distance: two edits are 2");
	ok(dist("STATS", "LIB") == 3 && dist("STATS", "ST") == 3 && dist("GC", "SCAVENGE") == 3,
	   "distance: beyond the limit reads limit+1");
	ok(options_distance("STATS", "STATS=1", 5, 2) == 0, "distance: b is bounded by its length, not its NUL");
	static char longname[200];
	memset(longname, 'A', sizeof longname - 1);
	ok(options_distance(longname, longname, sizeof longname - 1, 2) == 3,
	   "distance: names too long for the fixed rows are 'far' (no overflow)");
}

/* ---- the scan over a table with every kind ---- */
enum { T_FLAG, T_LEVEL, T_LIMIT, T_GC, T_LOG, T_GCTRACE, T_N };
static const struct ga_option_desc rows[T_N] = {
	[T_FLAG] = {"FLAG", KIND_BOOL, 0, 0, 1, "a bool", 0},
	[T_LEVEL] = {"LEVEL", KIND_INT, 3, 0, 9, "an int", 0},
	[T_LIMIT] = {"LIMIT", KIND_SIZE, 1 << 20, 4096, 1ll << 40, "a size", 0},
	[T_GC] = {"GC", KIND_ENUM, 1, 0, 0, "an enum", gc_modes},
	[T_LOG] = {"LOG", KIND_PATH, 0, 0, 0, "a file", 0},
	[T_GCTRACE] = {"GCTRACE", KIND_PATH, 0, 0, 0, "another file", 0},
};
static long long vals[T_N];
static char pathv[T_N][GA_OPT_PATH_MAX];

static int scan(char **envp, int secure)
{
	memset(vals, 0x55, sizeof vals);
	capture_begin();
	options_scan(rows, T_N, vals, pathv, envp, secure);
	return capture_end();
}

static int defaults(void)
{
	return vals[T_FLAG] == 0 && vals[T_LEVEL] == 3 && vals[T_LIMIT] == 1 << 20 && vals[T_GC] == 1 &&
	       pathv[T_LOG][0] == 0 && pathv[T_GCTRACE][0] == 0;
}

static void test_scan(void)
{
	char *none[] = {"PATH=/bin", "HOME=/root", "GOALLOCX=1", "XGOALLOC_FLAG=1", "goalloc_flag=1", "GOALLOC", NULL};
	int lines = scan(none, 0);
	ok(lines == 0 && cap[0] == 0 && defaults(), "no GOALLOC_ variables: defaults, nothing on stderr (%d lines)", lines);

	char *good[] = {"GOALLOC_FLAG=yes", "GOALLOC_LEVEL=7", "GOALLOC_LIMIT=64M", "GOALLOC_GC=collect",
			"GOALLOC_LOG=/tmp/x.%p", "GOALLOC_GCTRACE=/dev/null", NULL};
	lines = scan(good, 0);
	ok(lines == 0 && vals[T_FLAG] == 1 && vals[T_LEVEL] == 7 && vals[T_LIMIT] == 64 << 20 && vals[T_GC] == 2 &&
		   strcmp(pathv[T_LOG], "/tmp/x.%p") == 0 && strcmp(pathv[T_GCTRACE], "/dev/null") == 0,
	   "good values of every kind are read, silently (%d lines)", lines);

	char *tools[] = {"GOALLOC_LIB=/x/libgoalloc.so", "GOALLOC_VALGRIND_LIB=/y", "GOALLOC_BUILD=build",
			 "GOALLOC_UNDER_VALGRIND=1", "GOALLOC_TEST_TIMEOUT=60", "GOALLOC_TEST_KEEP=1",
			 "GOALLOC_TEST_ANYTHING=1", NULL};
	lines = scan(tools, 0);
	ok(lines == 0 && defaults(), "the tooling's GOALLOC_ names are not warned about (%d lines: %s)", lines, cap);

	char *bad[] = {"GOALLOC_FLAG=maybe", "GOALLOC_LEVEL=10", "GOALLOC_LIMIT=1k", "GOALLOC_GC=sometimes", NULL};
	lines = scan(bad, 0);
	ok(lines == 4 && defaults(), "each bad value: one warning line and the default (%d lines)", lines);
	ok(has("goalloc: GOALLOC_FLAG=maybe is not a valid value") && has("GOALLOC_LEVEL=10 ") &&
		   has("from 0 to 9") && has("GOALLOC_LIMIT=1k ") && has("using the default 1048576") &&
		   has("GOALLOC_GC=sometimes ") && has("expected off|report|collect); using the default report"),
	   "the warnings name the variable, the value, what is expected and the default");
	if (!has("GOALLOC_GC=sometimes"))
		diag("%s", cap);

	char *unknown[] = {"GOALLOC_GCTRAC=1", "GOALLOC_FLAGG=1", "GOALLOC_level=2", "GOALLOC_NOSUCHTHING=1", "GOALLOC_=1",
			   "GOALLOC_LIBS=1", "GOALLOC_TES=1", NULL};
	lines = scan(unknown, 0);
	ok(lines == 7 && defaults(), "each unknown GOALLOC_ name: one warning line, nothing set (%d lines)", lines);
	ok(has("goalloc: GOALLOC_GCTRAC is not an option; ignored (did you mean GOALLOC_GCTRACE?)") &&
		   has("GOALLOC_FLAGG is not an option; ignored (did you mean GOALLOC_FLAG?)") &&
		   has("GOALLOC_level is not an option; ignored (did you mean GOALLOC_LEVEL?)") &&
		   has("GOALLOC_NOSUCHTHING is not an option; ignored\n") && has("GOALLOC_ is not an option") &&
		   has("GOALLOC_TES is not an option"),
	   "unknown names are named, with the closest option when within two edits");
	if (!has("GCTRACE?"))
		diag("%s", cap);

	char *novalue[] = {"GOALLOC_FLAG", "GOALLOC_LEVEL=", NULL};
	lines = scan(novalue, 0);
	ok(lines == 2 && defaults(), "a variable with no '=' or an empty value is a bad value (%d lines)", lines);

	char *twice[] = {"GOALLOC_LEVEL=1", "GOALLOC_LEVEL=2", NULL};
	lines = scan(twice, 0);
	ok(lines == 0 && vals[T_LEVEL] == 2, "a variable given twice: the last wins");

	static char longpath[GA_OPT_PATH_MAX + 16];
	strcpy(longpath, "GOALLOC_LOG=/");
	memset(longpath + 13, 'a', GA_OPT_PATH_MAX);
	char *toolong[] = {"GOALLOC_GCTRACE=/ok", longpath, NULL};
	lines = scan(toolong, 0);
	ok(lines == 1 && pathv[T_LOG][0] == 0 && strcmp(pathv[T_GCTRACE], "/ok") == 0 && has("GOALLOC_LOG is longer than"),
	   "a path too long for its buffer: one warning, unset, the others kept (%d lines)", lines);
	ok(strlen(cap) < 200, "the warning does not echo the long value");

	char *ctl[] = {"GOALLOC_LEVEL=1\nx", NULL};
	lines = scan(ctl, 0);
	ok(lines == 1 && has("GOALLOC_LEVEL=1?x "), "a control byte in a value stays inside one warning line");

	char *secure1[] = {"GOALLOC_LOG=/tmp/x", "GOALLOC_FLAG=1", NULL};
	lines = scan(secure1, 1);
	ok(lines == 1 && pathv[T_LOG][0] == 0 && vals[T_FLAG] == 1 &&
		   has("goalloc: GOALLOC_LOG ignored: options that name files are not read in a setuid/setgid program"),
	   "setuid: a file option is ignored with one warning, the others read (%d lines)", lines);
	char *secure2[] = {"GOALLOC_LOG=/tmp/x", "GOALLOC_GCTRACE=/tmp/y", NULL};
	lines = scan(secure2, 1);
	ok(lines == 1 && pathv[T_LOG][0] == 0 && pathv[T_GCTRACE][0] == 0 && has("GOALLOC_LOG and 1 more ignored"),
	   "setuid: several file options ignored, still one warning (%d lines)", lines);
	lines = scan(good, 0);
	char *empty_path[] = {"GOALLOC_LOG=", NULL};
	lines = scan(empty_path, 0);
	ok(lines == 0 && pathv[T_LOG][0] == 0, "a rescan resets paths; an empty path is unset, silently");
}

/* options_init on the real table. The core's constructor (init.c, linked in) has already read
 * this process's environment, so the checks run in a fresh copy of this program started with
 * GOALLOC_STATS=on: the constructor read it from envp, and a later call reads nothing. */
static int init_child(void)
{
	char *envp2[] = {"GOALLOC_STATS=off", NULL};
	int bad = 0;
	bad |= ga_option(GA_OPT_STATS) != 1;
	options_init(envp2);
	bad |= (ga_option(GA_OPT_STATS) != 1) << 1;
	bad |= (ga_option_path(GA_OPT_STATS) != NULL) << 2;
	return bad;
}

static void test_init(const char *self)
{
	pid_t pid = fork();
	if (pid == 0) {
		char *argv[] = {"t_options", "--init-child", NULL};
		char *envp[] = {"GOALLOC_STATS=on", NULL};
		int devnull = open("/dev/null", O_WRONLY);
		dup2(devnull, 2); /* the child's statistics at exit */
		execve(self, argv, envp);
		_exit(100);
	}
	int st = 0;
	waitpid(pid, &st, 0);
	int code = WIFEXITED(st) ? WEXITSTATUS(st) : 200;
	ok(code == 0, "the constructor reads the options from envp, once (child status %d)", code);
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "--init-child") == 0)
		return init_child();
	test_bool();
	test_int();
	test_size();
	test_enum();
	test_path();
	test_distance();
	test_scan();
	test_init(argv[0]);
	return done_testing();
}
