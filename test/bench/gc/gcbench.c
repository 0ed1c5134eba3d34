/* gcbench.c — GCBench (Boehm, Ellis, Kovac), written from its published description, for putting
 * collectors side by side (scripts/gc-compare.sh, part "gcbench").
 *
 * Binary trees of nodes {left, right, i, j}. First a tree of depth 18 is built and dropped
 * ("stretch the memory space"); then a long-lived tree of depth 16 and an array of 500,000
 * doubles are built and kept to the end; then for depth d = 4, 6, ..., 16 it builds
 * NumIters(d) = 2 * TreeSize(18) / TreeSize(d) temporary trees of depth d top-down (a node, then
 * Populate fills in its children) and as many bottom-up (MakeTree returns a node made of two
 * subtrees), dropping each one as soon as it is built. At the end the long-lived tree and the
 * array must still be intact.
 *
 * One source, the allocator chosen by a macro:
 *   -DGCB_BDW     bdwgc: GC_MALLOC for nodes, GC_MALLOC_ATOMIC for the array (link -lgc)
 *   -DGCB_NOFREE  plain malloc, nothing is ever freed (run under goalloc GOALLOC_GC=collect, which
 *                 frees the dropped trees; under glibc it simply leaks)
 *   -DGCB_FREE    plain malloc, and every dropped tree is freed explicitly (glibc's best case)
 *
 * Output: per depth the time of the top-down and bottom-up phases, then
 *   gcbench: time=<s> checksum=<hex>
 * The checksum depends only on the work (node counts of the kept tree, the array), never on
 * addresses, so every variant prints the same one.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#if defined(GCB_BDW)
#include <gc.h>
#define ALLOC_NODE() ((Node *)GC_MALLOC(sizeof(Node)))
#define ALLOC_ATOMIC(n) GC_MALLOC_ATOMIC(n)
#define DROP_TREE(t) ((void)(t))
#define VARIANT "bdwgc"
#elif defined(GCB_NOFREE)
#define ALLOC_NODE() ((Node *)malloc(sizeof(Node)))
#define ALLOC_ATOMIC(n) malloc(n)
#define DROP_TREE(t) ((void)(t))
#define VARIANT "malloc, no free"
#elif defined(GCB_FREE)
#define ALLOC_NODE() ((Node *)malloc(sizeof(Node)))
#define ALLOC_ATOMIC(n) malloc(n)
#define DROP_TREE(t) destroy(t)
#define VARIANT "malloc + free"
#else
#error "define GCB_BDW, GCB_NOFREE or GCB_FREE"
#endif

enum { kStretchTreeDepth = 18, kLongLivedTreeDepth = 16, kArraySize = 500000, kMinTreeDepth = 4,
       kMaxTreeDepth = 16 };

typedef struct Node {
	struct Node *left, *right;
	int i, j;
} Node;

static Node *new_node(Node *l, Node *r) {
	Node *n = ALLOC_NODE();
	if (!n) {
		fprintf(stderr, "gcbench: out of memory\n");
		exit(2);
	}
	n->left = l;
	n->right = r;
	n->i = n->j = 0;
	return n;
}

#ifdef GCB_FREE
static void destroy(Node *t) {
	while (t) { /* recursion on the left, loop on the right */
		Node *r = t->right;
		destroy(t->left);
		free(t);
		t = r;
	}
}
#endif

/* nodes in a complete binary tree of depth i */
static long tree_size(int i) { return (1L << (i + 1)) - 1; }
/* number of trees of depth i to build */
static long num_iters(int i) { return 2 * tree_size(kStretchTreeDepth) / tree_size(i); }

/* top-down: give node its children, then theirs */
static void populate(int depth, Node *node) {
	if (depth <= 0)
		return;
	depth--;
	node->left = new_node(NULL, NULL);
	node->right = new_node(NULL, NULL);
	populate(depth, node->left);
	populate(depth, node->right);
}

/* bottom-up: the children first */
static Node *make_tree(int depth) {
	if (depth <= 0)
		return new_node(NULL, NULL);
	Node *l = make_tree(depth - 1);
	Node *r = make_tree(depth - 1);
	return new_node(l, r);
}

static long count(const Node *t) {
	long n = 0;
	while (t) {
		n += 1 + count(t->left);
		t = t->right;
	}
	return n;
}

static double now(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static uint64_t mix(uint64_t h, uint64_t v) { return (h ^ v) * 0x100000001b3ULL; }

static uint64_t time_construction(int depth) {
	long iters = num_iters(depth);
	uint64_t h = 0;
	double t0 = now();
	for (long i = 0; i < iters; i++) {
		Node *temp = new_node(NULL, NULL);
		populate(depth, temp);
		h += temp->left != NULL;
		DROP_TREE(temp);
		temp = NULL;
	}
	double t1 = now();
	for (long i = 0; i < iters; i++) {
		Node *temp = make_tree(depth);
		h += temp->right != NULL;
		DROP_TREE(temp);
		temp = NULL;
	}
	double t2 = now();
	printf("depth %2d: %6ld trees of %6ld nodes: top-down %7.1f ms, bottom-up %7.1f ms\n", depth,
	       iters, tree_size(depth), (t1 - t0) * 1e3, (t2 - t1) * 1e3);
	return h;
}

int main(void) {
#ifdef GCB_BDW
	GC_INIT();
#endif
	double t0 = now();
	printf("gcbench (%s): stretch depth %d, long-lived depth %d, array %d doubles, depths %d..%d\n",
	       VARIANT, kStretchTreeDepth, kLongLivedTreeDepth, kArraySize, kMinTreeDepth, kMaxTreeDepth);
	Node *temp = make_tree(kStretchTreeDepth);
	uint64_t h = mix(0xcbf29ce484222325ULL, (uint64_t)count(temp));
	DROP_TREE(temp);
	temp = NULL;

	Node *long_lived = new_node(NULL, NULL);
	populate(kLongLivedTreeDepth, long_lived);
	double *array = ALLOC_ATOMIC(sizeof(double) * kArraySize);
	for (int i = 0; i < kArraySize / 2; i++)
		array[i] = 1.0 / i;
	for (int i = kArraySize / 2; i < kArraySize; i++)
		array[i] = 0;

	for (int d = kMinTreeDepth; d <= kMaxTreeDepth; d += 2)
		h = mix(h, time_construction(d));

	if (!long_lived || array[1000] != 1.0 / 1000) {
		printf("gcbench: WRONG RESULT (long-lived data lost)\n");
		return 1;
	}
	long n = count(long_lived);
	if (n != tree_size(kLongLivedTreeDepth)) {
		printf("gcbench: WRONG RESULT (long-lived tree has %ld nodes)\n", n);
		return 1;
	}
	h = mix(h, (uint64_t)n);
	double t1 = now();
	/* the long-lived data stay alive to the end, as in the original */
	printf("gcbench: time=%.3f checksum=%016llx\n", t1 - t0, (unsigned long long)h);
#ifdef GCB_BDW
	printf("bdwgc: collections=%lu heap_kib=%zu\n", (unsigned long)GC_get_gc_no(), GC_get_heap_size() / 1024);
#endif
	return 0;
}
