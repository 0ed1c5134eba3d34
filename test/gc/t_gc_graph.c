/* t_gc_graph — a randomized object graph whose reachability the test knows.
 *
 *   t_gc_graph report [SEED]            (GOALLOC_GC=report)
 * 20000 nodes: under 1 KiB (graph_node_alloc) with up to 4 child pointers each — stored at the
 * child's start, at an interior offset or one past its end — and leaves of 1 KiB .. 60 KB
 * (graph_leaf_alloc); 256 roots in a global array. In rounds the program
 * drops random roots and edges, computes which nodes are unreachable (it keeps its own list of
 * nodes XOR-ed, invisible to the scan), runs goalloc_gc() and checks unreachable_objects and
 * unreachable_bytes against its own figures: never more than the truly unreachable (nothing
 * reachable reported). Before exit it prints
 *     expect BYTES ALLOCS
 *     expect_small BYTES ALLOCS DIRECT      (graph_node_alloc's)
 *     expect_big BYTES ALLOCS DIRECT        (graph_leaf_alloc's)
 * (unreachable bytes as requested, blocks, and how many of them no other unreachable node reaches,
 * counting one per strongly connected group of them), which t_gc_graph.sh compares with the
 * report's SUMMARY line and its groups: at exit every unreachable node is reported. (Leaves have
 * no children and the two kinds are counted apart: should the collector keep a block of 1 KiB or
 * more it need not — it once did not pad those, and let a pointer to the start of a block keep
 * the one before it — nothing else is kept with it, and the small nodes' figures stay exact.)
 *
 *   t_gc_graph collect SECONDS [THREADS] (GOALLOC_GC=collect, GOALLOC_GOGC=10)
 * THREADS (8) threads each mutate a graph of their own (allocate nodes, relink children, drop
 * roots: garbage for the collector) while another thread runs goalloc_gc() every 3 ms and the
 * heap triggers cycles of its own. After every cycle each thread walks everything it can reach
 * and checks each node's checksum and the identity its parent expects: a node the collector freed
 * while reachable is poisoned (GOALLOC_GC_VERIFY=1) or reused, and fails one or the other.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gc_util.h"

/* Every word of a node that is not a pointer has a non-canonical top byte: no conservative scan
 * takes it for one, so the graph's reachability is exactly what its pointers say. */
#define TAG_HI (0xA5ULL << 56)
#define SUM_HI (0xA6ULL << 56)
#define META_HI (0xA7ULL << 56)
#define SLOT_HI (0xA8ULL << 56)
#define LOW56 ((1ULL << 56) - 1)
#define MAXCH 4

struct slot {
	void *p;       /* node + off, or NULL */
	uint64_t info; /* SLOT_HI | child id << 24 | off */
};

struct node {
	uint64_t tag;  /* TAG_HI | size << 24 | id (ids < 2^24) */
	uint64_t sum;  /* SUM_HI | checksum of ch[] and the payload */
	uint64_t meta; /* META_HI | epoch (walks), not in the checksum */
	struct slot ch[MAXCH];
	unsigned char payload[];
};

#define HDR sizeof(struct node)

static unsigned node_id(const struct node *n) { return (unsigned)(n->tag & 0xffffff); }
static size_t node_size(const struct node *n) { return (size_t)((n->tag & LOW56) >> 24); }

static uint64_t node_checksum(const struct node *n)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	const unsigned char *b = (const unsigned char *)n->ch;
	size_t len = node_size(n) - offsetof(struct node, ch);
	for (size_t i = 0; i < len; i++)
		h = (h ^ b[i]) * 0x100000001b3ULL;
	return SUM_HI | (h & LOW56);
}

static void slot_set(struct node *parent, int k, struct node *child, size_t off)
{
	if (child) {
		parent->ch[k].p = (char *)child + off;
		parent->ch[k].info = SLOT_HI | (uint64_t)node_id(child) << 24 | off;
	} else {
		parent->ch[k].p = NULL;
		parent->ch[k].info = SLOT_HI;
	}
}

static struct node *slot_node(const struct slot *s)
{
	return s->p ? (struct node *)((char *)s->p - (s->info & 0xffffff)) : NULL;
}

static unsigned slot_id(const struct slot *s)
{
	return (unsigned)((s->info >> 24) & 0xffffff);
}

/* Where a pointer to a node of size n points: its start mostly, an interior offset often, one
 * past its end sometimes. */
static size_t pick_off(uint64_t r, size_t n)
{
	switch (r % 8) {
	case 0:
	case 1:
		return (r >> 8) % n;
	case 2:
		return n;
	default:
		return 0;
	}
}

static void node_init(struct node *n, size_t size, unsigned id)
{
	n->tag = TAG_HI | (uint64_t)size << 24 | id;
	n->meta = META_HI;
	for (int k = 0; k < MAXCH; k++)
		slot_set(n, k, NULL, 0);
	gc_fill(n->payload, size - HDR, id);
	n->sum = node_checksum(n);
}

/* Every node comes from one of these two: frame #0 of every group in the report. The report's
 * graph takes its nodes under 1 KiB from the first (they have children) and the others, 1 KiB
 * and more, from the second (leaves): the report then sums each kind on its own. */
void *graph_node_alloc(size_t size, unsigned id);
GC_NOINLINE void *graph_node_alloc(size_t size, unsigned id)
{
	struct node *n = malloc(size);
	if (!n)
		abort();
	node_init(n, size, id);
	return n;
}

void *graph_leaf_alloc(size_t size, unsigned id);
GC_NOINLINE void *graph_leaf_alloc(size_t size, unsigned id)
{
	struct node *n = malloc(size);
	if (!n)
		abort();
	node_init(n, size, id);
	n->meta |= 1; /* (a body of its own: never folded into graph_node_alloc) */
	return n;
}

/* Nodes with children stay in classes under 1 KiB even with the byte of padding GC modes add
 * (895 + 1 fits 896): blocks of 1 KiB and more are the leaves. */
static size_t pick_small(uint64_t r)
{
	static const size_t sz[] = {HDR, 96, 112, 128, 144, 160, 192, 200, 256, 320, 500, 700, 800, 895};
	return sz[(r >> 12) % (sizeof sz / sizeof sz[0])];
}

static size_t pick_big(uint64_t r)
{
	if ((r & 0x3f) == 0)
		return 33000 + (size_t)((r >> 12) % 27000); /* large: a span of its own */
	static const size_t sz[] = {1024, 1500, 2000, 4100, 9000};
	return sz[(r >> 12) % (sizeof sz / sizeof sz[0])];
}

static size_t pick_size(uint64_t r)
{
	return (r & 0x7) ? pick_small(r) : pick_big(r >> 3);
}

/* ===================================== report ==================================================== */
#define RN 20000
#define RROOTS 256
static struct slot roots[RROOTS]; /* info: SLOT_HI | id << 24 | off, as in a node */
static uintptr_t hidden[RN];      /* every node, GC_HIDE'd */
static unsigned char big[RN];     /* a leaf of 1 KiB or more (graph_leaf_alloc) */
static unsigned char reach[RN];
static int queue[RN];

static struct node *H(int i) { return GC_UNHIDE(hidden[i]); }

GC_NOINLINE static void build(uint64_t *rnd)
{
	for (int i = 0; i < RN; i++) {
		uint64_t r = gc_rand(rnd);
		big[i] = r % 6 == 0;
		hidden[i] = GC_HIDE(big[i] ? graph_leaf_alloc(pick_big(r >> 8), (unsigned)i)
					   : graph_node_alloc(pick_small(r >> 8), (unsigned)i));
	}
	for (int i = 0; i < RN; i++) {
		struct node *n = H(i);
		uint64_t r = gc_rand(rnd) % 100;
		int nch = big[i] ? 0 : r < 15 ? 0 : r < 40 ? 1 : r < 65 ? 2 : r < 85 ? 3 : 4;
		for (int k = 0; k < nch; k++) {
			uint64_t q = gc_rand(rnd);
			struct node *c = H((int)(q % RN));
			slot_set(n, k, c, pick_off(q >> 20, node_size(c)));
		}
	}
	for (int r = 0; r < RROOTS; r++) {
		uint64_t q = gc_rand(rnd);
		struct node *c = H((int)(q % RN));
		size_t off = pick_off(q >> 20, node_size(c));
		roots[r].p = (char *)c + off;
		roots[r].info = SLOT_HI | (uint64_t)node_id(c) << 24 | off;
	}
}

/* Drop a share of the roots and of the edges (per mille). */
GC_NOINLINE static void drop(uint64_t *rnd, unsigned roots_pm, unsigned edges_pm)
{
	for (int r = 0; r < RROOTS; r++)
		if (gc_rand(rnd) % 1000 < roots_pm) {
			roots[r].p = NULL;
			roots[r].info = SLOT_HI;
		}
	for (int i = 0; i < RN; i++) {
		struct node *n = H(i);
		for (int k = 0; k < MAXCH; k++)
			if (n->ch[k].p && gc_rand(rnd) % 1000 < edges_pm)
				slot_set(n, k, NULL, 0);
	}
}

/* reach[] from the roots (ids only in the queue). Returns the unreachable count and bytes. */
GC_NOINLINE static int reachability(uint64_t *ubytes)
{
	int qh = 0, qt = 0;
	memset(reach, 0, sizeof reach);
	for (int r = 0; r < RROOTS; r++)
		if (roots[r].p) {
			int id = (int)slot_id(&roots[r]);
			if (!reach[id]) {
				reach[id] = 1;
				queue[qt++] = id;
			}
		}
	while (qh < qt) {
		struct node *n = H(queue[qh++]);
		for (int k = 0; k < MAXCH; k++)
			if (n->ch[k].p) {
				int id = (int)slot_id(&n->ch[k]);
				if (!reach[id]) {
					reach[id] = 1;
					queue[qt++] = id;
				}
			}
	}
	int u = 0;
	*ubytes = 0;
	for (int i = 0; i < RN; i++)
		if (!reach[i]) {
			u++;
			*ubytes += node_size(H(i));
		}
	memset(queue, 0, sizeof queue);
	return u;
}

/* How many unreachable nodes are "direct": the strongly connected components of the unreachable
 * subgraph that no other unreachable node points into, one node each (a node nothing points to
 * is one such component). Tarjan's algorithm, iterative, on ids. */
static int comp[RN], low[RN], idx[RN], stk[RN], cstack[RN], cedge[RN];
static unsigned char onstk[RN], comp_in[RN];

static int comp_rep[RN];

GC_NOINLINE static void count_direct(int *direct_small, int *direct_big)
{
	int next = 1, sp = 0, ncomp = 0;
	memset(idx, 0, sizeof idx);
	memset(onstk, 0, sizeof onstk);
	for (int s = 0; s < RN; s++) {
		if (reach[s] || idx[s])
			continue;
		int csp = 0;
		cstack[csp] = s;
		cedge[csp++] = 0;
		idx[s] = low[s] = next++;
		stk[sp++] = s;
		onstk[s] = 1;
		while (csp) {
			int v = cstack[csp - 1];
			struct node *n = H(v);
			if (cedge[csp - 1] < MAXCH) {
				int k = cedge[csp - 1]++;
				if (!n->ch[k].p)
					continue;
				int w = (int)slot_id(&n->ch[k]);
				if (reach[w])
					continue;
				if (!idx[w]) {
					idx[w] = low[w] = next++;
					stk[sp++] = w;
					onstk[w] = 1;
					cstack[csp] = w;
					cedge[csp++] = 0;
				} else if (onstk[w] && idx[w] < low[v]) {
					low[v] = idx[w];
				}
				continue;
			}
			if (low[v] == idx[v]) {
				int w;
				do {
					w = stk[--sp];
					onstk[w] = 0;
					comp[w] = ncomp;
				} while (w != v);
				comp_rep[ncomp] = v;
				ncomp++;
			}
			csp--;
			if (csp) {
				int u = cstack[csp - 1];
				if (low[v] < low[u])
					low[u] = low[v];
			}
		}
	}
	memset(comp_in, 0, sizeof comp_in);
	for (int v = 0; v < RN; v++) {
		if (reach[v])
			continue;
		struct node *n = H(v);
		for (int k = 0; k < MAXCH; k++) {
			if (!n->ch[k].p)
				continue;
			int w = (int)slot_id(&n->ch[k]);
			if (!reach[w] && comp[w] != comp[v])
				comp_in[comp[w]] = 1;
		}
	}
	*direct_small = *direct_big = 0;
	for (int c = 0; c < ncomp; c++)
		if (!comp_in[c]) {
			if (big[comp_rep[c]]) /* a leaf: a component of its own */
				++*direct_big;
			else
				++*direct_small;
		}
}

static int run_report(uint64_t seed)
{
	uint64_t rnd = seed * 2 + 1;
	build(&rnd);
	gc_scrub_stack();
	static const unsigned drops[][2] = {{0, 0}, {100, 20}, {150, 40}, {200, 60}, {250, 80}};
	int u = 0;
	uint64_t ub = 0;
	for (unsigned round = 0; round < sizeof drops / sizeof drops[0]; round++) {
		drop(&rnd, drops[round][0], drops[round][1]);
		u = reachability(&ub);
		gc_scrub_stack();
		int r = gcapi.gc();
		struct goalloc_gc_stats st = gc_stats_now();
		gc_check(r == 0, "round %u: goalloc_gc() completes (returned %d)", round, r);
		gc_check(st.unreachable_objects <= (uint64_t)u,
			 "round %u: unreachable_objects %llu <= %d truly unreachable (nothing reachable reported)", round,
			 (unsigned long long)st.unreachable_objects, u);
		gc_check(st.unreachable_bytes <= ub, "round %u: unreachable_bytes %llu <= %llu", round,
			 (unsigned long long)st.unreachable_bytes, (unsigned long long)ub);
		if (st.unreachable_objects != (uint64_t)u)
			gc_diag("round %u: %llu of %d unreachable nodes found", round,
				(unsigned long long)st.unreachable_objects, u);
	}
	int dsmall, dbig, nsmall = 0, nbig = 0;
	uint64_t bsmall = 0, bbig = 0;
	count_direct(&dsmall, &dbig);
	for (int i = 0; i < RN; i++)
		if (!reach[i]) {
			if (big[i]) {
				nbig++;
				bbig += node_size(H(i));
			} else {
				nsmall++;
				bsmall += node_size(H(i));
			}
		}
	gc_check(u > 1000 && u < RN - 1000, "the graph has both: %d unreachable, %d reachable nodes", u, RN - u);
	gc_scrub_stack();
	printf("expect %llu %d\n", (unsigned long long)ub, u);
	printf("expect_small %llu %d %d\n", (unsigned long long)bsmall, nsmall, dsmall);
	printf("expect_big %llu %d %d\n", (unsigned long long)bbig, nbig, dbig);
	printf("done %d\n", gc_nfailed);
	fflush(stdout);
	return 0;
}

/* ===================================== collect =================================================== */
#define CROOTS 64
#define CAP 3000 /* reachable nodes per thread before it prunes */
#define MAXT 16
#define STACK_MAX (1 << 16)

struct tstate {
	int t;
	uint64_t rnd;
	struct slot roots[CROOTS];
	struct node **stack; /* the walk's stack, STACK_MAX entries */
	uint64_t epoch;
	unsigned next_id;
	long ops, walks, nodes_checked, bad;
	int reachable;
};
static struct tstate ts[MAXT];
static atomic_int stop_flag;
static atomic_ulong gc_done; /* cycles the gc thread completed */
static long gc_ok, gc_fail;

static void report_bad(struct tstate *s, const char *what, const struct node *n, unsigned want_id)
{
	if (s->bad++ < 3)
		gc_diag("thread %d: %s: node %p tag %#llx sum %#llx (want id %u)", s->t, what, (const void *)n,
			(unsigned long long)n->tag, (unsigned long long)n->sum, want_id);
}

static int node_ok(struct tstate *s, const struct node *n, unsigned want_id)
{
	if ((n->tag & ~LOW56) != TAG_HI || node_id(n) != want_id) {
		report_bad(s, "identity lost (freed and reused, or poisoned)", n, want_id);
		return 0;
	}
	if (n->sum != node_checksum(n)) {
		report_bad(s, "checksum differs", n, want_id);
		return 0;
	}
	return 1;
}

/* Walk everything thread s reaches, checking every node; returns the count. */
static int walk_all(struct tstate *s)
{
	uint64_t e = META_HI | (++s->epoch & LOW56);
	int sp = 0, count = 0;
	for (int r = 0; r < CROOTS; r++) {
		struct node *n = slot_node(&s->roots[r]);
		if (!n || n->meta == e)
			continue;
		if (!node_ok(s, n, slot_id(&s->roots[r])))
			continue;
		n->meta = e;
		s->stack[sp++] = n;
		while (sp) {
			struct node *v = s->stack[--sp];
			count++;
			for (int k = 0; k < MAXCH; k++) {
				struct node *c = slot_node(&v->ch[k]);
				if (!c || c->meta == e)
					continue;
				if (!node_ok(s, c, slot_id(&v->ch[k])))
					continue;
				c->meta = e;
				if (sp < STACK_MAX)
					s->stack[sp++] = c;
			}
		}
	}
	s->nodes_checked += count;
	s->walks++;
	s->reachable = count;
	return count;
}

/* A random reachable node: a random root, then a few random steps down. */
static struct node *pick_node(struct tstate *s)
{
	struct node *n = NULL;
	for (int tries = 0; tries < 8 && !n; tries++)
		n = slot_node(&s->roots[gc_rand(&s->rnd) % CROOTS]);
	if (!n)
		return NULL;
	int steps = (int)(gc_rand(&s->rnd) % 4);
	for (int i = 0; i < steps; i++) {
		struct node *c = slot_node(&n->ch[gc_rand(&s->rnd) % MAXCH]);
		if (!c)
			break;
		n = c;
	}
	return n;
}

static void mutate(struct tstate *s)
{
	uint64_t r = gc_rand(&s->rnd);
	unsigned op = (unsigned)(r % 100);
	if (op < 45) { /* a new node, linked to existing ones, in a root slot */
		unsigned id = (s->next_id = (s->next_id + 1) & 0xffffff);
		struct node *n = graph_node_alloc(pick_size(gc_rand(&s->rnd)), id);
		int nch = (int)(gc_rand(&s->rnd) % (MAXCH + 1));
		for (int k = 0; k < nch; k++) {
			struct node *c = pick_node(s);
			if (c)
				slot_set(n, k, c, pick_off(gc_rand(&s->rnd), node_size(c)));
		}
		n->sum = node_checksum(n);
		struct slot *root = &s->roots[gc_rand(&s->rnd) % CROOTS];
		size_t off = pick_off(gc_rand(&s->rnd), node_size(n));
		root->info = SLOT_HI | (uint64_t)id << 24 | off;
		root->p = (char *)n + off;
	} else if (op < 80) { /* relink or cut an edge */
		struct node *n = pick_node(s);
		if (!n)
			return;
		struct node *c = (r >> 8) % 3 ? pick_node(s) : NULL;
		slot_set(n, (int)((r >> 16) % MAXCH), c, c ? pick_off(r >> 24, node_size(c)) : 0);
		n->sum = node_checksum(n);
	} else if (op < 88) { /* drop a root */
		struct slot *root = &s->roots[(r >> 8) % CROOTS];
		root->p = NULL;
		root->info = SLOT_HI;
	} else { /* check a random path */
		struct node *n = slot_node(&s->roots[(r >> 8) % CROOTS]);
		if (n)
			node_ok(s, n, slot_id(&s->roots[(r >> 8) % CROOTS]));
	}
}

static void prune(struct tstate *s)
{
	for (int i = 0; i < CROOTS; i++) {
		if (gc_rand(&s->rnd) % 2) {
			s->roots[i].p = NULL;
			s->roots[i].info = SLOT_HI;
		}
	}
}

static void *mutator(void *arg)
{
	struct tstate *s = arg;
	unsigned long seen = atomic_load(&gc_done);
	uint64_t seen_cycles = gc_stats_now().cycles;
	for (unsigned batch = 1; !atomic_load(&stop_flag); batch++) {
		for (int i = 0; i < 256; i++)
			mutate(s);
		s->ops += 256;
		unsigned long now = atomic_load(&gc_done);
		uint64_t cycles = gc_stats_now().cycles;
		/* after a cycle, check everything; every 16 batches anyway, to bound the graph */
		if (now != seen || cycles != seen_cycles || batch % 16 == 0) {
			seen = now;
			seen_cycles = cycles;
			if (walk_all(s) > CAP)
				prune(s);
		}
	}
	walk_all(s);
	return NULL;
}

static void *collector(void *arg)
{
	(void)arg;
	struct timespec ts3 = {0, 3 * 1000 * 1000};
	while (!atomic_load(&stop_flag)) {
		if (gcapi.gc() == 0)
			gc_ok++;
		else
			gc_fail++;
		atomic_fetch_add(&gc_done, 1);
		nanosleep(&ts3, NULL);
	}
	return NULL;
}

static int run_collect(double seconds, int nthreads)
{
	if (nthreads < 1 || nthreads > MAXT)
		nthreads = 8;
	struct goalloc_gc_stats st0 = gc_stats_now();
	pthread_t th[MAXT], g;
	for (int t = 0; t < nthreads; t++) {
		ts[t].t = t;
		ts[t].rnd = 0x9e3779b97f4a7c15ULL * (uint64_t)(t + 1);
		ts[t].stack = malloc(STACK_MAX * sizeof(struct node *));
		ts[t].next_id = (unsigned)t << 20;
		for (int r = 0; r < CROOTS; r++)
			ts[t].roots[r].info = SLOT_HI;
	}
	for (int t = 0; t < nthreads; t++)
		pthread_create(&th[t], NULL, mutator, &ts[t]);
	pthread_create(&g, NULL, collector, NULL);
	/* (a stop signal interrupts nanosleep: EINTR, with time left) */
	double end = gc_now() + seconds;
	struct timespec ts_wait = {0, 20 * 1000 * 1000};
	while (gc_now() < end)
		nanosleep(&ts_wait, NULL);
	atomic_store(&stop_flag, 1);
	pthread_join(g, NULL);
	for (int t = 0; t < nthreads; t++)
		pthread_join(th[t], NULL);

	/* one more cycle, then every graph from here */
	int r = gcapi.gc();
	long bad = 0, ops = 0, walks = 0, checked = 0;
	for (int t = 0; t < nthreads; t++) {
		walk_all(&ts[t]);
		bad += ts[t].bad;
		ops += ts[t].ops;
		walks += ts[t].walks;
		checked += ts[t].nodes_checked;
	}
	struct goalloc_gc_stats st = gc_stats_now();
	gc_diag("%d threads, %ld operations, %ld full walks (%ld nodes checked); goalloc_gc(): %ld done, %ld "
		"abandoned; cycles in all %llu, freed %llu blocks",
		nthreads, ops, walks, checked, gc_ok, gc_fail, (unsigned long long)(st.cycles - st0.cycles),
		(unsigned long long)(st.freed_objects - st0.freed_objects));
	/* (on loaded cores the heap's own cycles outnumber the thread's: count both) */
	gc_check(gc_ok >= 3 && st.cycles - st0.cycles >= 10,
		 "cycles ran while the threads mutated: %llu in all, %ld from goalloc_gc() every 3 ms (%ld abandoned)",
		 (unsigned long long)(st.cycles - st0.cycles), gc_ok, gc_fail);
	gc_check(r == 0, "a last goalloc_gc() after the threads stopped");
	gc_check(walks >= 2L * nthreads, "the threads walked their graphs after cycles (%ld walks)", walks);
	gc_check(st.freed_objects > st0.freed_objects, "collect freed garbage (%llu blocks)",
		 (unsigned long long)(st.freed_objects - st0.freed_objects));
	gc_check(bad == 0, "every reachable node intact after every cycle (%ld bad)", bad);
	printf("done %d\n", gc_nfailed);
	fflush(stdout);
	return 0;
}

int main(int argc, char **argv)
{
	gc_require_mode();
	gc_check_environ();
	if (argc > 1 && !strcmp(argv[1], "collect")) {
		if (gcapi.mode != GC_MODE_COLLECT)
			gc_skip("collect needs GOALLOC_GC=collect");
		return run_collect(argc > 2 ? atof(argv[2]) : 3.0, argc > 3 ? atoi(argv[3]) : 8);
	}
	if (gcapi.mode != GC_MODE_REPORT)
		gc_skip("report needs GOALLOC_GC=report");
	return run_report(argc > 2 ? strtoull(argv[2], NULL, 0) : 12345);
}
