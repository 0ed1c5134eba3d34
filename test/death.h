/* death.h — run a function in a forked child with its stderr captured (header only; unit and API
 * tests), and say what a death that was not the expected one looked like.
 *
 * die_with(fn, msg, size) returns the child's wait status and leaves what it wrote to stderr in
 * msg (its last newline cut; past size − 1 bytes the rest is read and dropped, so the child never
 * blocks on a full pipe). die_with_info does the same for a child that also reports on a second
 * descriptor (the pointer it is about to misuse, say), with no core dump and a time limit. */
#ifndef GOALLOC_TEST_DEATH_H
#define GOALLOC_TEST_DEATH_H
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tap.h"

/* Read fd to its end: the first size bytes into buf, the rest read and dropped. Returns the
 * bytes kept. */
static inline size_t read_to_end(int fd, void *buf, size_t size)
{
	size_t len = 0;
	char drop[256];
	for (;;) {
		ssize_t r = len < size ? read(fd, (char *)buf + len, size - len) : read(fd, drop, sizeof drop);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return len;
		if (len < size)
			len += (size_t)r;
	}
}

static inline int wait_child(pid_t pid)
{
	int st = 0;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	return st;
}

static inline int die_with(void (*fn)(void), char *msg, size_t size)
{
	int fds[2];
	msg[0] = 0;
	if (pipe(fds) != 0)
		return -1;
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		close(fds[0]);
		dup2(fds[1], 2);
		fn();
		_exit(0);
	}
	close(fds[1]);
	size_t len = read_to_end(fds[0], msg, size - 1);
	while (len && msg[len - 1] == '\n')
		len--;
	msg[len] = 0;
	close(fds[0]);
	return wait_child(pid);
}

/* child(arg, info) in a forked child that dumps no core and is killed by SIGALRM after alarm_s
 * seconds (a hang fails instead of sticking): what it writes on info goes to infobuf (at most
 * infosize bytes, *infolen of them; read first, to the descriptor's end), its stderr to err
 * (NUL-terminated, at most size − 1 bytes). Returns the wait status, or -1 when a pipe or the
 * fork cannot be had. */
static inline int die_with_info(void (*child)(const void *arg, int info), const void *arg, unsigned alarm_s,
				char *err, size_t size, void *infobuf, size_t infosize, size_t *infolen)
{
	int errp[2], infop[2];
	err[0] = 0;
	*infolen = 0;
	if (pipe(errp))
		return -1;
	if (pipe(infop)) {
		close(errp[0]);
		close(errp[1]);
		return -1;
	}
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		struct rlimit nocore = {0, 0};
		setrlimit(RLIMIT_CORE, &nocore);
		alarm(alarm_s);
		dup2(errp[1], 2);
		close(errp[0]);
		close(errp[1]);
		close(infop[0]);
		child(arg, infop[1]);
		_exit(0);
	}
	close(errp[1]);
	close(infop[1]);
	if (pid > 0)
		*infolen = read_to_end(infop[0], infobuf, infosize);
	close(infop[0]);
	size_t len = pid > 0 ? read_to_end(errp[0], err, size - 1) : 0;
	err[len] = 0;
	close(errp[0]);
	return pid > 0 ? wait_child(pid) : -1;
}

static inline int died_of_abort(int st)
{
	return WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT;
}

static inline int exited_clean(int st)
{
	return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

/* died_of_abort(st), and if not, a diagnostic line saying how the child ended instead. */
static inline int expect_abort(int st)
{
	if (died_of_abort(st))
		return 1;
	if (st == -1)
		diag("could not run the child (pipe or fork failed)");
	else if (WIFSIGNALED(st))
		diag("child died of signal %d (%s), expected SIGABRT", WTERMSIG(st), strsignal(WTERMSIG(st)));
	else
		diag("child exited with status %d, expected death by SIGABRT", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	return 0;
}

/* The child's stderr, line by line, as diagnostics (err is cut up in the process). */
static inline void diag_stderr(char *err)
{
	char *line, *save = NULL;
	diag("child stderr (%zu bytes):", strlen(err));
	for (line = strtok_r(err, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		diag("  | %s", line);
}
#endif
