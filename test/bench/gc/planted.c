/* planted.c — one program with a known set of leaked and held blocks, for putting leak finders
 * side by side (scripts/gc-compare.sh, part "planted"; the kinds of gc-research.md "Leak finders
 * on one planted-leak program").
 *
 * Each block is allocated by a function of its own (plant_<kind>, exported with -rdynamic so
 * that every finder can name it from frame #0 or #1) and has a size of its own:
 *
 *   leaked (a finder should report them)
 *     plant_direct        100 B  pointer dropped                                   direct
 *     plant_pair_head      48 B  pointer dropped; holds the only pointer to ...    direct
 *     plant_pair_tail      48 B  ... this one                                      indirect
 *   held (the program still uses them at exit: a report is a false one)
 *     plant_xor           300 B  only pointer XOR-ed with a key (no conservative finder can see it)
 *     plant_mmap          600 B  only pointer in an anonymous private mmap of the program
 *     plant_past_end      500 B  only pointer points one past its end (p + 500)
 *     plant_epoll         900 B  only pointer in epoll_event.data.ptr (held by the kernel)
 *     plant_interior      208 B  only pointer is p + 64
 *     plant_tagged        264 B  only pointer is p | 1 (low-bit tag)
 *     plant_tls_main      712 B  only pointer in a __thread variable of the main thread
 *     plant_tls_thread    816 B  only pointer in a __thread variable of a thread that is alive
 *                                (blocked in sem_wait) when the process exits
 *
 * At the end main() gets every held block back through its hiding place and checks its
 * contents (so "held" is true: the program would crash or print WRONG without them), scrubs the
 * stack it used, and returns without freeing anything; the finders check at exit.
 * Prints "planted: ok" (or "planted: WRONG ...") and a table of the plants on --list.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <semaphore.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline, noclone, used))

static const uintptr_t xor_key = 0x5a5a5a5a5a5a5a5aULL;
/* the hiding places, all globals of the executable (roots for every finder) except where said */
static uintptr_t g_xored;            /* plant_xor's pointer ^ xor_key */
static void **g_map;                 /* an anonymous mmap page; slot 0 holds plant_mmap's block */
static char *g_past_end;             /* plant_past_end + 500 */
static int g_epfd, g_evfd;           /* epoll holds plant_epoll's block in data.ptr */
static char *g_interior;             /* plant_interior + 64 */
static uintptr_t g_tagged;           /* plant_tagged | 1 */
static __thread char *t_main_block;  /* plant_tls_main's block (static TLS of the main thread) */
static __thread char *t_thr_block;   /* plant_tls_thread's block (static TLS of the other thread) */
static sem_t g_thr_ready, g_thr_check, g_thr_checked, g_thr_forever;
static volatile int g_thr_ok;

static void fill(char *p, size_t n, int tag) {
	for (size_t i = 0; i < n; i++)
		p[i] = (char)(tag + i * 7);
}
static int check(const char *p, size_t n, int tag) {
	for (size_t i = 0; i < n; i++)
		if (p[i] != (char)(tag + i * 7))
			return 0;
	return 1;
}

/* ---- leaks ---- */
NOINLINE void plant_direct(void) {
	char *volatile p = malloc(100);
	fill(p, 100, 1);
	p = NULL;
}
NOINLINE void *plant_pair_tail(void) {
	void *p = malloc(48);
	fill(p, 48, 2);
	return p;
}
NOINLINE void plant_pair_head(void) {
	void **volatile h = malloc(48);
	/* volatile stores: the compiler knows nothing reads a malloc'ed block that is dropped, and
	 * would otherwise remove them (and with them the pointer that makes the tail indirect) */
	for (int i = 0; i < 6; i++)
		((void *volatile *)h)[i] = NULL;
	((void *volatile *)h)[0] = plant_pair_tail();
	h = NULL;
}
/* ---- held ---- */
NOINLINE void plant_xor(void) {
	char *p = malloc(300);
	fill(p, 300, 3);
	g_xored = (uintptr_t)p ^ xor_key;
}
NOINLINE void plant_mmap(void) {
	g_map = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (g_map == MAP_FAILED) {
		perror("mmap");
		exit(2);
	}
	char *p = malloc(600);
	fill(p, 600, 4);
	g_map[0] = p;
	/* the mmap's own address is kept XOR-ed too, so that nothing but the mapping holds the block
	 * (a finder that scans globals would otherwise not need to scan the mapping at all) */
	g_map = (void **)((uintptr_t)g_map ^ xor_key);
}
NOINLINE void plant_past_end(void) {
	char *p = malloc(500);
	fill(p, 500, 5);
	g_past_end = p + 500;
}
NOINLINE void plant_epoll(void) {
	char *p = malloc(900);
	fill(p, 900, 6);
	g_epfd = epoll_create1(0);
	g_evfd = eventfd(0, 0);
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = p};
	if (g_epfd < 0 || g_evfd < 0 || epoll_ctl(g_epfd, EPOLL_CTL_ADD, g_evfd, &ev) != 0) {
		perror("epoll");
		exit(2);
	}
	ev.data.ptr = NULL;
}
NOINLINE void plant_interior(void) {
	char *p = malloc(208);
	fill(p, 208, 7);
	g_interior = p + 64;
}
NOINLINE void plant_tagged(void) {
	char *p = malloc(264);
	fill(p, 264, 8);
	g_tagged = (uintptr_t)p | 1;
}
NOINLINE void plant_tls_main(void) {
	char *p = malloc(712);
	fill(p, 712, 9);
	t_main_block = p;
}
NOINLINE void plant_tls_thread(void) {
	char *p = malloc(816);
	fill(p, 816, 10);
	t_thr_block = p;
}
static void *thread_main(void *arg) {
	(void)arg;
	plant_tls_thread();
	sem_post(&g_thr_ready);
	sem_wait(&g_thr_check);
	g_thr_ok = check(t_thr_block, 816, 10);
	sem_post(&g_thr_checked);
	for (;;) /* alive until the process exits */
		sem_wait(&g_thr_forever);
	return NULL;
}

/* Overwrite the stack below the caller's frame, so that no stale copy of a pointer stays there. */
NOINLINE void scrub_stack(void) {
	volatile char buf[64 * 1024];
	memset((char *)buf, 0, sizeof buf);
	__asm__ volatile("" ::"r"(buf) : "memory");
}

NOINLINE static int plant_all(void) {
	plant_direct();
	plant_pair_head();
	plant_xor();
	plant_mmap();
	plant_past_end();
	plant_epoll();
	plant_interior();
	plant_tagged();
	plant_tls_main();
	pthread_t th;
	pthread_attr_t a;
	pthread_attr_init(&a);
	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&th, &a, thread_main, NULL) != 0)
		return 0;
	sem_wait(&g_thr_ready);
	return 1;
}

/* Get every held block back from its hiding place and check it. */
NOINLINE static int check_all(char *why, size_t whylen) {
	int ok = 1;
#define CHK(cond, name)                                                                            \
	do {                                                                                           \
		if (!(cond)) {                                                                             \
			ok = 0;                                                                                \
			strncat(why, " " name, whylen - strlen(why) - 1);                                      \
		}                                                                                          \
	} while (0)
	CHK(check((char *)(g_xored ^ xor_key), 300, 3), "xor");
	CHK(check(((char **)((uintptr_t)g_map ^ xor_key))[0], 600, 4), "mmap");
	CHK(check(g_past_end - 500, 500, 5), "past_end");
	uint64_t one = 1;
	struct epoll_event ev = {0};
	CHK(write(g_evfd, &one, sizeof one) == sizeof one && epoll_wait(g_epfd, &ev, 1, 1000) == 1 &&
	        check(ev.data.ptr, 900, 6),
	    "epoll");
	memset(&ev, 0, sizeof ev);
	CHK(check(g_interior - 64, 208, 7), "interior");
	CHK(check((char *)(g_tagged & ~(uintptr_t)1), 264, 8), "tagged");
	CHK(check(t_main_block, 712, 9), "tls_main");
	sem_post(&g_thr_check);
	sem_wait(&g_thr_checked);
	CHK(g_thr_ok, "tls_thread");
#undef CHK
	return ok;
}

int main(int argc, char **argv) {
	if (argc > 1 && strcmp(argv[1], "--list") == 0) {
		puts("plant,bytes,expect\n"
		     "plant_direct,100,leak\n"
		     "plant_pair_head,48,leak\n"
		     "plant_pair_tail,48,leak-indirect\n"
		     "plant_xor,300,held-hidden\n"
		     "plant_mmap,600,held\n"
		     "plant_past_end,500,held\n"
		     "plant_epoll,900,held-hidden\n"
		     "plant_interior,208,held\n"
		     "plant_tagged,264,held\n"
		     "plant_tls_main,712,held\n"
		     "plant_tls_thread,816,held");
		return 0;
	}
	sem_init(&g_thr_ready, 0, 0);
	sem_init(&g_thr_check, 0, 0);
	sem_init(&g_thr_checked, 0, 0);
	sem_init(&g_thr_forever, 0, 0);
	if (!plant_all()) {
		puts("planted: WRONG (pthread_create)");
		return 1;
	}
	scrub_stack();
	char why[256] = "";
	int ok = check_all(why, sizeof why);
	scrub_stack();
	printf("planted: %s%s\n", ok ? "ok" : "WRONG", why);
	fflush(stdout);
	scrub_stack();
	return ok ? 0 : 1;
}
