/* rss-sample: run a program and sample its resident set size over time.
 *
 *   rss-sample [-i MS] [-o FILE] [-s FILE] [-t] [--] program [args...]
 *
 * Runs the program as a child and reads VmRSS from /proc/PID/status every MS milliseconds
 * (default 10), from the first sample right after the fork to the program's exit. With -t the
 * figure is the sum over the program and all its descendants (a driver such as gcc, which runs
 * cc1 and as, or a shell pipeline); without it, the program's own process only.
 *
 *   -o FILE  one line per sample: "<seconds since start> <RSS in KiB>" (default: none written)
 *   -s FILE  one summary line at exit, key=value:
 *              wall_s= peak_kib= final_kib= mean_kib= samples= maxrss_kib= status=
 *            peak is the largest sample, or the kernel's ru_maxrss (the largest of the program and
 *            its waited-for descendants) when that is larger, as for a peak shorter than the
 *            interval; final is the last sample taken before
 *            the program exited; mean is the time-weighted mean of the samples up to the exit;
 *            status is the program's exit status, or 128+N for signal N
 *   -t       sum over the process tree
 *
 * The sampler itself is not in the figures, and the program's environment is the sampler's: run
 * it as `rss-sample ... env LD_PRELOAD=lib program` so that only the program gets the preload
 * (env execs the program in the same process). It exits with the program's status (128+N for
 * signal N), 125 if the program could not be started, 2 on a usage error. SIGINT and SIGQUIT
 * reach the program from the terminal and are ignored by the sampler; SIGTERM and SIGHUP are
 * passed on to the program.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static pid_t child;

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* VmRSS of one process in KiB, 0 when it has none (a zombie) or is gone. */
static long rss_of(pid_t pid)
{
	char path[64], buf[4096];
	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	char *p = strstr(buf, "\nVmRSS:");
	return p ? strtol(p + 7, NULL, 10) : 0;
}

/* Parent pid of a process from /proc/PID/stat (the field after the parenthesised name). */
static pid_t ppid_of(pid_t pid)
{
	char path[64], buf[512];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	char *p = strrchr(buf, ')');
	int pp;
	if (!p || sscanf(p + 1, " %*c %d", &pp) != 1)
		return -1;
	return pp;
}

/* The last process id the kernel handed out (the last field of /proc/loadavg), -1 if unknown. */
static long last_pid(void)
{
	char buf[128];
	int fd = open("/proc/loadavg", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	char *p = strrchr(buf, ' ');
	return p ? strtol(p + 1, NULL, 10) : -1;
}

/* The process tree rooted at the program. /proc/PID/task/TID/children needs a kernel option not
 * every kernel has, so the tree is found from every process's parent, read once per process (a
 * process keeps its parent, and a known id is only reused after the ids wrap around), and the
 * walk of /proc is skipped while no process has been created since the last one (the last pid
 * in /proc/loadavg is unchanged): a tick then reads only the tree's own status files. */
enum { MAXP = 65536 };
static pid_t known[MAXP], known_parent[MAXP], tree[MAXP];
static int nknown, ntree;
static long scanned_at = -2;

static pid_t parent_known(pid_t pid)
{
	int lo = 0, hi = nknown - 1;
	while (lo <= hi) {
		int mid = (lo + hi) / 2;
		if (known[mid] == pid)
			return known_parent[mid];
		if (known[mid] < pid)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return 0;
}

static int by_pid(const void *a, const void *b)
{
	const pid_t *x = a, *y = b;
	return x[0] < y[0] ? -1 : x[0] > y[0];
}

static void scan(pid_t root)
{
	static pid_t pairs[MAXP][2];
	int n = 0;
	DIR *d = opendir("/proc");
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d)) && n < MAXP) {
		if (e->d_name[0] < '1' || e->d_name[0] > '9')
			continue;
		pid_t pid = (pid_t)atoi(e->d_name), pp = parent_known(pid);
		if (pp <= 0)
			pp = ppid_of(pid);
		if (pp <= 0)
			continue;
		pairs[n][0] = pid;
		pairs[n++][1] = pp;
	}
	closedir(d);
	qsort(pairs, (size_t)n, sizeof pairs[0], by_pid);
	for (int i = 0; i < n; i++)
		known[i] = pairs[i][0], known_parent[i] = pairs[i][1];
	nknown = n;
	/* the descendants: add every process whose parent is in the tree until none joins */
	static unsigned char in[MAXP];
	memset(in, 0, (size_t)n);
	ntree = 0;
	for (int changed = 1; changed;) {
		changed = 0;
		for (int i = 0; i < n; i++) {
			if (in[i])
				continue;
			int hit = known_parent[i] == root;
			for (int j = 0; !hit && j < ntree; j++)
				hit = tree[j] == known_parent[i];
			if (hit) {
				in[i] = 1;
				changed = 1;
				tree[ntree++] = known[i];
			}
		}
	}
}

static long rss_tree(pid_t root)
{
	long lp = last_pid();
	if (lp < 0 || lp != scanned_at) {
		scan(root);
		scanned_at = lp;
	}
	long sum = rss_of(root);
	for (int i = 0; i < ntree; i++)
		sum += rss_of(tree[i]);
	return sum;
}

static void pass_on(int sig)
{
	if (child > 0)
		kill(child, sig);
}

static void usage(void)
{
	fprintf(stderr, "usage: rss-sample [-i MS] [-o FILE] [-s FILE] [-t] [--] program [args...]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	double interval = 0.010;
	const char *out = NULL, *sum_path = NULL;
	int tree = 0, i;
	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--")) {
			i++;
			break;
		} else if (!strcmp(a, "-t")) {
			tree = 1;
		} else if (!strcmp(a, "-i") || !strcmp(a, "-o") || !strcmp(a, "-s")) {
			if (i + 1 >= argc)
				usage();
			const char *v = argv[++i];
			if (a[1] == 'i') {
				char *end;
				double ms = strtod(v, &end);
				if (*end || !(ms >= 1 && ms <= 60000))
					usage();
				interval = ms / 1000;
			} else if (a[1] == 'o') {
				out = v;
			} else {
				sum_path = v;
			}
		} else {
			usage();
		}
	}
	if (i >= argc)
		usage();
	FILE *of = NULL;
	if (out && !(of = fopen(out, "w"))) {
		fprintf(stderr, "rss-sample: %s: %s\n", out, strerror(errno));
		return 2;
	}
	/* SIGCHLD blocked and waited for with a timeout: the exit is seen at once, not at the next tick */
	sigset_t chld, old;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, &old);
	int errpipe[2];
	if (pipe2(errpipe, O_CLOEXEC) < 0) {
		perror("rss-sample: pipe");
		return 125;
	}
	double t0 = now();
	child = fork();
	if (child < 0) {
		perror("rss-sample: fork");
		return 125;
	}
	if (child == 0) {
		sigprocmask(SIG_SETMASK, &old, NULL);
		close(errpipe[0]);
		execvp(argv[i], argv + i);
		int e = errno;
		if (write(errpipe[1], &e, sizeof e) < 0)
			_exit(127);
		_exit(127);
	}
	close(errpipe[1]);
	signal(SIGINT, SIG_IGN);
	signal(SIGQUIT, SIG_IGN);
	signal(SIGTERM, pass_on);
	signal(SIGHUP, pass_on);

	long peak = 0, last = 0, nsamples = 0;
	double area = 0, tlast = 0;
	int status = 0;
	struct rusage ru;
	memset(&ru, 0, sizeof ru);
	double next = t0;
	for (;;) {
		double t = now() - t0;
		long r = tree ? rss_tree(child) : rss_of(child);
		/* a zombie has no VmRSS: that sample is the exit, not a drop to 0 */
		if (r > 0 || nsamples == 0) {
			if (nsamples)
				area += (double)last * (t - tlast);
			last = r;
			tlast = t;
			if (r > peak)
				peak = r;
			nsamples++;
			if (of)
				fprintf(of, "%.3f %ld\n", t, r);
		}
		next += interval;
		double wait = next - now();
		if (wait < 0) { /* fell behind (a loaded machine): keep the pace from here */
			next = now();
			wait = 0;
		}
		struct timespec ts = {(time_t)wait, (long)((wait - (double)(time_t)wait) * 1e9)};
		int s = sigtimedwait(&chld, NULL, &ts);
		if (s == SIGCHLD || (s < 0 && errno == EAGAIN)) {
			pid_t w = wait4(child, &status, WNOHANG, &ru);
			if (w == child)
				break;
		}
	}
	double wall = now() - t0;
	area += (double)last * (wall - tlast);
	int e = 0;
	if (read(errpipe[0], &e, sizeof e) == (ssize_t)sizeof e) {
		fprintf(stderr, "rss-sample: %s: %s\n", argv[i], strerror(e));
		return 125;
	}
	int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	if (ru.ru_maxrss > peak)
		peak = ru.ru_maxrss;
	if (of && fclose(of) != 0) {
		fprintf(stderr, "rss-sample: %s: %s\n", out, strerror(errno));
		return 2;
	}
	if (sum_path) {
		FILE *sf = fopen(sum_path, "w");
		if (!sf) {
			fprintf(stderr, "rss-sample: %s: %s\n", sum_path, strerror(errno));
			return 2;
		}
		fprintf(sf, "wall_s=%.4f peak_kib=%ld final_kib=%ld mean_kib=%.0f samples=%ld maxrss_kib=%ld status=%d\n",
			wall, peak, last, wall > 0 ? area / wall : (double)last, nsamples, (long)ru.ru_maxrss, code);
		fclose(sf);
	}
	return code;
}
