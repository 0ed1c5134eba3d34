"""Write a C translation unit of N functions for the `gcc -O2 -c` case.
Usage: python3 gen_c.py N > file.c"""
import sys

n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
out = sys.stdout.write
out("#include <stddef.h>\n#include <string.h>\n\n")
out("struct node { struct node *next; long key; double val; char name[24]; };\n")
out("extern long sink(long);\n\n")
for i in range(n):
    a, b, c = i % 7 + 1, i % 13 + 3, i % 5 + 2
    out(
        f"""long func_{i}(struct node *head, const long *v, size_t n, int mode)
{{
	long acc = {a};
	for (size_t j = 0; j < n; j += {a})
		acc += v[j] % {b} == mode ? v[j] * {c} : (long)j;
	for (struct node *p = head; p; p = p->next) {{
		switch ((p->key + mode) % 4) {{
		case 0: acc += p->key * {a}; break;
		case 1: acc ^= (long)strlen(p->name); break;
		case 2: p->val = p->val * 0.5 + acc; break;
		default: acc = sink(acc * 31 + {i});
		}}
	}}
	return acc;
}}

"""
    )
