#!/usr/bin/env bash
# gcc under goalloc: compile a generated translation unit of 3000 small functions with -O2
# (cc1 and as are preloaded too), check the object file is byte-identical to the plain
# build's, then link and run a program that calls the functions.
cd "$(dirname "$0")/../.." || exit 1
. test/programs/lib.sh

# shellcheck disable=SC2317  # called by gt_run_pair
write_sources() {
	awk 'BEGIN {
		n = 3000
		print "/* generated: 3000 small functions */"
		print "struct pair { unsigned a, b; };"
		print "#define MIX(x, k, s) (((x) * (k)) ^ ((x) >> (s)))"
		for (i = 0; i < n; i++) {
			k1 = (i * 2654435761) % 65521 + 1
			k2 = (i * 40503) % 997
			printf "unsigned f%d(unsigned x)\n{\n", i
			printf "\tstruct pair p = { x + %du, x ^ %du };\n", k2, k1
			if (i % 3 == 0)
				printf "\tswitch (p.a & 3) {\n\tcase 0: p.a += %du; break;\n\tcase 1: p.b ^= p.a; break;\n\tcase 2: p.a = MIX(p.b, %du, %d); break;\n\tdefault: p.b -= %du;\n\t}\n", k2, k1, i % 13 + 1, k1
			else
				printf "\tp.a = MIX(p.a, %du, %d) + p.b;\n\tp.b = (p.b << 5) | (p.b >> 27);\n", k1, i % 13 + 1
			if (i % 4 == 1)
				printf "\treturn p.a ^ p.b ^ (x > %du ? f%d(x - %du) : 0u);\n}\n", k2 + 1000, i - 1, k2 + 1000
			else
				print "\treturn p.a ^ p.b;\n}"
		}
		print "typedef unsigned (*fn)(unsigned);"
		printf "const fn table[%d] = {\n", n
		for (i = 0; i < n; i++)
			printf "\tf%d,\n", i
		print "};"
	}' >gen.c
	cat >main.c <<'EOF'
#include <stdio.h>
typedef unsigned (*fn)(unsigned);
extern const fn table[3000];
int main(void)
{
	unsigned sum = 0;
	for (unsigned i = 0; i < 3000; i += 7)
		sum = sum * 31u + table[i](i * 1000u + 12345u);
	printf("calls %u checksum %u\n", 3000u / 7u + 1u, sum);
	return 0;
}
EOF
	cat >run.sh <<'EOF'
set -e
gcc -O2 -c gen.c -o gen.o
gcc -O2 -c main.c -o main.o
echo "gen.o text: $(objdump -d --no-show-raw-insn gen.o | sha256sum)"
gcc -O2 -o prog main.o gen.o
./prog
EOF
}

gt_plan 4
if ! gt_have gcc objdump; then
	gt_skip_n "$GT_MISSING not installed (Debian packages gcc, binutils)" \
		"gcc: "{stdout,gen.o,stderr,stats}
	gt_done
fi

# bash, the gcc drivers, cc1, as, collect2, ld and the program all report.
gt_run_pair gcc write_sources -- bash run.sh
gt_check_stdout "same stdout and exit status (disassembly checksum and program output)"
gt_check_same_file gen.o "gen.o byte-identical to the plain build's"
gt_check_stderr "same stderr apart from goalloc's report"
gt_check_stats "goalloc served it (stats at exit)" 5

gt_done
