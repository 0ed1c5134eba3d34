/* threads.c — see threads.h. */
#include "threads.h"

#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lock.h"
#include "mowner.h"
#include "stats.h"

static ga_lock_t registry_lock = GA_LOCK_INIT(GA_RANK_THREADS);
static struct mcache *registry; /* live caches; under registry_lock */
static pthread_key_t exit_key;
static uint64_t nseen;

void threads_init(void)
{
	/* pthread_key_create does not allocate; the destructor runs at thread exit for every thread
	 * that set the key (threads_register does). */
	pthread_key_create(&exit_key, mcache_thread_exit);
}

void threads_register(struct mcache *c)
{
	ga_lock(&registry_lock);
	c->prev = NULL;
	c->next = registry;
	if (registry)
		registry->prev = c;
	registry = c;
	nseen++;
	c->owner = mowner_acquire();
	c->owner_bits = c->owner << PAGE_OWNER_SHIFT;
	ga_unlock(&registry_lock);
	/* Keys below 32 live in the thread descriptor: no allocation. (If the program made 32 keys
	 * before goalloc's, glibc callocs a block here, which re-enters goalloc safely: the cache is
	 * already live.) */
	pthread_setspecific(exit_key, c);
}

void threads_unregister(struct mcache *c)
{
	ga_lock(&registry_lock);
	if (c->prev)
		c->prev->next = c->next;
	else if (registry == c)
		registry = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->next = c->prev = NULL;
	mowner_release(c->owner);
	c->owner = c->owner_bits = 0;
	stats_fold_exited(c);
	ga_unlock(&registry_lock);
}

void threads_for_each(void (*fn)(struct mcache *, void *), void *arg)
{
	ga_lock(&registry_lock);
	for (struct mcache *c = registry; c; c = c->next)
		fn(c, arg);
	ga_unlock(&registry_lock);
}

uint64_t threads_seen(void)
{
	return nseen;
}

void threads_fork_prepare(void) { ga_lock(&registry_lock); }
void threads_fork_parent(void) { ga_unlock(&registry_lock); }

void threads_fork_child(void)
{
	/* Only the forking thread exists in the child. The other threads' caches stay where they are
	 * (their blocks are lost to the child, which cannot know whether a thread was mid-update);
	 * the registry keeps just this thread. */
	ga_lock_reinit(&registry_lock);
	struct mcache *self = &ga_mcache;
	registry = NULL;
	if (self->state == MCACHE_LIVE) {
		self->next = self->prev = NULL;
		registry = self;
	}
	mowner_fork_child(self->state == MCACHE_LIVE ? self->owner : 0);
}

/* ---- goalloc's own background threads ----------------------------------------------------- */

int ga_bg_thread_start(struct ga_bg_thread *t, void *(*fn)(void *), size_t stacksize)
{
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old); /* (the new thread inherits the mask) */
	pthread_attr_t at;
	pthread_attr_init(&at);
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&at, stacksize);
	pthread_t pt;
	t->tid = 0;
	t->pid = getpid();
	if (pthread_create(&pt, &at, fn, NULL) != 0)
		t->pid = 0;
	pthread_attr_destroy(&at);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	/* (its tid is known once it runs: a cycle before that would find a thread that blocks every
	 * signal and give up, so wait for it) */
	while (t->pid && !__atomic_load_n(&t->tid, __ATOMIC_ACQUIRE))
		sched_yield();
	return t->pid ? 0 : -1;
}

void ga_bg_thread_started(struct ga_bg_thread *t)
{
	__atomic_store_n(&t->tid, (pid_t)syscall(SYS_gettid), __ATOMIC_RELEASE);
}

unsigned ga_bg_thread_skip(const struct ga_bg_thread *t, pid_t *tid)
{
	pid_t id = __atomic_load_n(&t->tid, __ATOMIC_ACQUIRE);
	if (!id || t->pid != getpid() || id == (pid_t)syscall(SYS_gettid))
		return 0;
	*tid = id;
	return 1;
}

void ga_bg_thread_forget(struct ga_bg_thread *t)
{
	t->tid = 0;
	t->pid = 0;
}
