/* t_fork — fork while three other threads allocate and free without pause: the child (which
 * inherits the allocator in whatever state those threads left it) must be able to allocate,
 * free and check a few MiB of mixed sizes, start a thread of its own now and then, and exit
 * cleanly. 200 rounds; some children leave with exit(0) so atexit handlers that allocate run
 * too.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tap.h"
#include "api_util.h"

#define ROUNDS 200
#define ROUNDS_VALGRIND 10
#ifndef CHURNERS
#define CHURNERS 3
#endif

static atomic_int stop;
static atomic_long churn_ops, churn_errors;

static void *churn(void *arg)
{
	uint64_t s = 0x9e3779b97f4a7c15ull * ((uintptr_t)arg + 1);
	unsigned char *slot[64] = {0};
	size_t size[64] = {0};
	long ops = 0;
	int i;
	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		unsigned k;
		size_t n;
		s ^= s << 13;
		s ^= s >> 7;
		s ^= s << 17;
		k = (unsigned)(s >> 40) & 63;
		if (slot[k]) {
			if (slot[k][0] != (unsigned char)k || slot[k][size[k] - 1] != (unsigned char)k)
				atomic_fetch_add(&churn_errors, 1);
			T_FREE(slot[k]);
		}
		n = (s & 0xff) < 8 ? 32769 + (size_t)(s >> 20) % 300000 : 1 + (size_t)(s >> 20) % 3000;
		slot[k] = launder((s & 3) == 1 ? T_CALLOC(1, n) : T_MALLOC(n));
		size[k] = n;
		if (slot[k]) {
			slot[k][0] = (unsigned char)k;
			slot[k][n - 1] = (unsigned char)k;
		} else {
			atomic_fetch_add(&churn_errors, 1);
		}
		ops++;
	}
	for (i = 0; i < 64; i++)
		T_FREE(slot[i]);
	atomic_fetch_add(&churn_ops, ops);
	return NULL;
}

/* Every byte of p[0..n) equals c? */
static int all_bytes(const unsigned char *p, size_t n, unsigned char c)
{
	uint64_t w = 0x0101010101010101ull * c, x;
	size_t i = 0;
	for (; i + 8 <= n; i += 8) {
		memcpy(&x, p + i, 8);
		if (x != w)
			return 0;
	}
	for (; i < n; i++)
		if (p[i] != c)
			return 0;
	return 1;
}

/* Child work: about 3 MiB of mixed sizes, each block filled with its own byte, regrown, checked,
 * freed. Returns 0 when all was well. */
static int child_work(uint64_t seed)
{
	enum { N = 300 };
	static unsigned char *blk[N];
	static size_t sz[N];
	int i, bad = 0;
	for (i = 0; i < N; i++) {
		uint64_t r = seed * 6364136223846793005ull + (uint64_t)i * 1442695040888963407ull;
		r ^= r >> 29;
		sz[i] = i % 50 == 0 ? (size_t)(256 << 10) + (size_t)(r % 100000) : 1 + (size_t)(r % 6000);
		blk[i] = launder(i % 7 == 3 ? calloc(1, sz[i]) : malloc(sz[i]));
		if (!blk[i])
			return 10;
		if (i % 7 == 3 && !all_bytes(blk[i], sz[i], 0))
			bad = 1;
		memset(blk[i], (int)(seed + (uint64_t)i) | 1, sz[i]);
	}
	for (i = 0; i < N; i += 3) { /* grow a third of them */
		unsigned char *q = realloc_opaque(blk[i], sz[i] * 2 + 1);
		if (!q)
			return 11;
		blk[i] = q;
	}
	for (i = 0; i < N; i++) {
		if (!all_bytes(blk[i], sz[i], (unsigned char)((seed + (uint64_t)i) | 1)))
			bad = 1;
		free(blk[i]);
	}
	return bad ? 12 : 0;
}

static void *child_thread(void *arg)
{
	return (void *)(intptr_t)child_work((uintptr_t)arg);
}

static void at_exit_alloc(void)
{
	/* Runs in every child that leaves with exit(), and in the parent at the end. */
	void *p = launder(malloc(1000)), *q = launder(malloc(100000));
	dirty(p, 1, 1000);
	dirty(q, 2, 100000);
	free(p);
	free(q);
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(void)
{
	pthread_t th[CHURNERS];
	int i, failures = 0, timeouts = 0, rounds = under_valgrind() ? ROUNDS_VALGRIND : ROUNDS;
	double t0;

	diag("%s", under_goalloc() ? "under goalloc" : "not under goalloc");
	plan(3);
	atexit(at_exit_alloc);
	for (i = 0; i < CHURNERS; i++)
		if (pthread_create(&th[i], NULL, churn, (void *)(uintptr_t)i)) {
			printf("Bail out! pthread_create failed\n");
			return 1;
		}

	t0 = now();
	for (i = 0; i < rounds; i++) {
		int status = 0;
		pid_t pid, w;
		fflush(stdout);
		pid = fork();
		if (pid < 0) {
			diag("round %d: fork failed: %s", i, strerror(errno));
			failures++;
			continue;
		}
		if (pid == 0) {
			int rc;
			alarm(20); /* a deadlocked child dies of SIGALRM instead of hanging the test */
			rc = child_work((uint64_t)i * 7919 + 1);
			if (rc == 0 && i % 10 == 5) {
				pthread_t t;
				void *trc = (void *)1;
				if (pthread_create(&t, NULL, child_thread, (void *)(uintptr_t)i) ||
				    pthread_join(t, &trc))
					rc = 20;
				else
					rc = (int)(intptr_t)trc;
			}
			if (i % 20 == 0)
				exit(rc); /* atexit handlers and stdio teardown in the child */
			_exit(rc);
		}
		while ((w = waitpid(pid, &status, 0)) < 0 && errno == EINTR)
			;
		if (w != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			if (WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM)
				timeouts++;
			if (failures < 5)
				diag("round %d: child %s %d", i,
				     WIFSIGNALED(status) ? "killed by signal" : "exited with status",
				     WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
			failures++;
		}
		/* A watchdog, not a verdict: on a loaded machine the rounds left are not run, and what
		 * the test judges is the children that were. */
		if (now() - t0 > 60 && i + 1 < rounds) {
			diag("stopping after %d rounds (over 60 s)", i + 1);
			rounds = i + 1;
			break;
		}
	}
	atomic_store(&stop, 1);
	for (i = 0; i < CHURNERS; i++)
		pthread_join(th[i], NULL);

	ok(failures == 0, "%d forks under allocating threads: every child allocated, checked and exited 0 (%d failed, %d hung)",
	   rounds, failures, timeouts);
	ok(atomic_load(&churn_errors) == 0, "the %d parent threads' blocks stayed intact through the forks (%ld ops, %ld errors)",
	   CHURNERS, atomic_load(&churn_ops), atomic_load(&churn_errors));
	ok(child_work(12345) == 0, "the parent still allocates normally afterwards (%.1f s)", now() - t0);
	return done_testing();
}
