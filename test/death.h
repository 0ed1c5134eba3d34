/* death.h — run a function in a forked child with its stderr captured (header only; unit and API
 * tests). die_with(fn, msg, size) returns the child's wait status and leaves what it wrote to
 * stderr in msg (its last newline cut; past size − 1 bytes the rest is read and dropped, so the
 * child never blocks on a full pipe). */
#ifndef GOALLOC_TEST_DEATH_H
#define GOALLOC_TEST_DEATH_H
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

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
	size_t len = 0;
	ssize_t r;
	while (len + 1 < size && (r = read(fds[0], msg + len, size - 1 - len)) > 0)
		len += (size_t)r;
	while (len && msg[len - 1] == '\n')
		len--;
	msg[len] = 0;
	while (read(fds[0], &r, sizeof r) > 0)
		;
	close(fds[0]);
	int st = 0;
	waitpid(pid, &st, 0);
	return st;
}

static inline int died_of_abort(int st)
{
	return WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT;
}

static inline int exited_clean(int st)
{
	return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}
#endif
