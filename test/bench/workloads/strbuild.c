/* strbuild: realloc-heavy string building, the way much C code does it: 64 strings under
 * construction at once, each grown by realloc to the exact new length for every appended piece
 * (1..64 chars). A finished string (target length log-uniform 256 B..1 MiB) is hashed, compared
 * with the hash of what was appended, and freed.
 * Usage: strbuild [scale]   (scale 1 = 10M appends) */
#include "common.h"

#define NSTR 64

typedef struct {
	char *s;
	size_t len, target;
	uint64_t h; /* FNV-1a of what was appended */
} sb_t;

static uint64_t fnv(uint64_t h, const char *p, size_t n) {
	for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)p[i]) * 0x100000001b3ull;
	return h;
}

static void start(sb_t *b, rng_t *r) {
	b->s = NULL;
	b->len = 0;
	b->target = rng_logsize(r, 256, 1 << 20);
	b->h = 0xcbf29ce484222325ull;
}

int main(int argc, char **argv) {
	double scale = arg_scale(argc, argv);
	long appends = (long)(10000000 * scale);
	rng_t r;
	rng_seed(&r, 11);
	sb_t sb[NSTR];
	for (int i = 0; i < NSTR; i++) start(&sb[i], &r);
	uint64_t sum = 0;
	long finished = 0;
	char piece[64];
	double t0 = now_s();
	for (long a = 0; a < appends; a++) {
		uint64_t x = rng_next(&r);
		sb_t *b = &sb[x % NSTR];
		size_t n = 1 + (size_t)((x >> 20) % 64);
		for (size_t i = 0; i < n; i++) piece[i] = (char)('a' + (char)((x >> (i % 40)) % 26));
		char *ns = realloc(b->s, b->len + n + 1);
		if (!ns) abort();
		b->s = ns;
		memcpy(b->s + b->len, piece, n);
		b->len += n;
		b->s[b->len] = 0;
		b->h = fnv(b->h, piece, n);
		if (b->len >= b->target) {
			if (fnv(0xcbf29ce484222325ull, b->s, b->len) != b->h || strlen(b->s) != b->len)
				die("string contents changed across realloc");
			sum += mix64(b->h ^ b->len);
			free(b->s);
			finished++;
			start(b, &r);
		}
	}
	for (int i = 0; i < NSTR; i++) {
		sb_t *b = &sb[i];
		if (b->s && fnv(0xcbf29ce484222325ull, b->s, b->len) != b->h)
			die("string contents changed across realloc");
		sum += mix64(b->h ^ b->len) * 3;
		free(b->s);
	}
	double t = now_s() - t0;
	printf("strbuild time=%.4f checksum=%016llx appends=%ld strings=%ld\n", t,
	       (unsigned long long)sum, appends, finished);
	return 0;
}
