/* t_hugepages — the heap's page size: its first GA_HUGEPAGE_FLOOR bytes (16 MiB) keep 4 KiB pages
 * (VmFlags "nh" in /proc/self/smaps), the rest of an arena is marked for transparent huge pages
 * ("hg"); GOALLOC_HUGEPAGES=0 leaves both to the kernel's default. Large reallocs that move pages
 * or map fresh ones over a block must not leave extra mappings behind (a mapping without the
 * advice cannot merge with its neighbours: vm.max_map_count). The test runs itself a second time
 * with GOALLOC_HUGEPAGES=0. Skipped under valgrind (its own mappings) and without THP support.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tap.h"
#include "api_util.h"

/* The VmFlags of the mapping holding p ("" if none), and the number of mappings within
 * [lo, hi). */
static int smaps(uintptr_t p, char *flags, size_t cap, uintptr_t lo, uintptr_t hi)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	char line[512];
	int in = 0, count = 0;
	flags[0] = 0;
	if (!f)
		return -1;
	while (fgets(line, sizeof line, f)) {
		unsigned long b, e;
		if (sscanf(line, "%lx-%lx ", &b, &e) == 2 && strchr(line, '-') < strchr(line, ' ')) {
			in = p >= b && p < e;
			count += b >= lo && e <= hi;
		} else if (in && strncmp(line, "VmFlags:", 8) == 0) {
			snprintf(flags, cap, "%s", line + 8);
			flags[strcspn(flags, "\n")] = 0;
		}
	}
	fclose(f);
	return count;
}

static int has_flag(const char *flags, const char *f)
{
	char pat[8];
	snprintf(pat, sizeof pat, " %s ", f);
	char buf[600];
	snprintf(buf, sizeof buf, " %s ", flags);
	for (char *c = buf; *c; c++)
		if (*c == '\n')
			*c = ' ';
	return strstr(buf, pat) != NULL;
}

int main(int argc, char **argv)
{
	int off = argc > 1 && strcmp(argv[1], "--off") == 0;
	if (!under_goalloc() || under_valgrind() || access("/sys/kernel/mm/transparent_hugepage/enabled", R_OK) != 0) {
		printf("1..0 # SKIP needs goalloc preloaded, natively, on a kernel with transparent huge pages\n");
		return 0;
	}
	plan(off ? 3 : 5);
	char *small = launder(malloc(100));
	/* past the floor: a block larger than it lies beyond it whatever came first */
	size_t big_n = (size_t)24 << 20;
	char *big = launder(malloc(big_n));
	ok(small && big, "allocated");
	char f_small[600], f_big[600];
	uintptr_t arena_lo = (uintptr_t)small & ~(((uintptr_t)64 << 20) - 1), arena_hi = arena_lo + ((uintptr_t)64 << 20);
	smaps((uintptr_t)small, f_small, sizeof f_small, 0, 0);
	smaps((uintptr_t)big + big_n - 1, f_big, sizeof f_big, 0, 0);
	if (off) {
		ok(!has_flag(f_small, "nh") && !has_flag(f_small, "hg"), "GOALLOC_HUGEPAGES=0: the heap's start has no advice (%s)",
		   f_small);
		ok(!has_flag(f_big, "hg") && !has_flag(f_big, "nh"), "nor the rest (%s)", f_big);
		free(big);
		free(small);
		return done_testing();
	}
	ok(has_flag(f_small, "nh"), "the heap's start keeps small pages (VmFlags:%s)", f_small);
	ok(has_flag(f_big, "hg"), "past the floor, huge pages (VmFlags:%s)", f_big);

	/* Reallocs that grow and shrink large blocks (moved pages, fresh pages mapped over released
	 * tails) leave the arena in as few mappings as before. */
	int before = smaps(0, f_small, sizeof f_small, arena_lo, arena_hi);
	char *r[8] = {0};
	for (int round = 0; round < 200; round++) {
		int k = round % 8;
		size_t n = ((size_t)(round * 7919 % 64) + 1) << 16; /* 64 KiB .. 4 MiB */
		char *q = realloc(r[k], n);
		if (!q)
			break;
		q[0] = 1;
		q[n - 1] = 2;
		r[k] = q;
	}
	for (int k = 0; k < 8; k++)
		free(r[k]);
	int after = smaps(0, f_small, sizeof f_small, arena_lo, arena_hi);
	ok(after <= before + 1, "200 large reallocs leave the arena in %d mappings (%d before)", after, before);
	free(big);
	free(small);

	/* the same program with the option off */
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		setenv("GOALLOC_HUGEPAGES", "0", 1);
		int fd = open("/dev/null", 1);
		dup2(fd, 1);
		execl("/proc/self/exe", argv[0], "--off", (char *)NULL);
		_exit(127);
	}
	int st = 0;
	waitpid(pid, &st, 0);
	ok(WIFEXITED(st) && WEXITSTATUS(st) == 0, "with GOALLOC_HUGEPAGES=0 the heap has no advice (child status %#x)", st);
	return done_testing();
}
