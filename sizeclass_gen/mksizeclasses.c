/*
 * mksizeclasses: check goalloc's size-class table and turn it into a C header.
 *
 * Usage: mksizeclasses TABLE OUT.h
 *
 * TABLE (sizeclass_gen/sizeclasses.txt) lists one size class per row:
 *
 *   class  bytes/obj  bytes/span  objects  tail waste  max waste  min align
 *
 * Only bytes/obj and bytes/span are inputs. Every other column is recomputed
 * here and must match what the file says, so the documented table cannot drift
 * from the numbers the allocator uses. The generator also derives and verifies
 * the per-class division magic and the two size->class lookup tables.
 *
 * On any mismatch it prints "TABLE:LINE: class N: column 'NAME' ..." to stderr
 * for every problem found and exits 1 without touching OUT.h. On success it
 * writes OUT.h.tmp and renames it to OUT.h.
 *
 * Host tool: plain C11, no dependencies beyond libc.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PAGE_SHIFT 13
#define PAGE_SIZE (1u << PAGE_SHIFT) /* 8192 */
#define MAX_SMALL_SIZE 32768u
#define SMALL_SIZE_DIV 8u
#define SMALL_SIZE_MAX 1024u
#define LARGE_SIZE_DIV 128u
#define NUM_CLASSES 67 /* real classes; class 0 (large) is extra */
#define CLASS8_LEN (SMALL_SIZE_MAX / SMALL_SIZE_DIV + 1)                      /* 129 */
#define CLASS128_LEN ((MAX_SMALL_SIZE - SMALL_SIZE_MAX) / LARGE_SIZE_DIV + 1) /* 249 */

#define MAX_ROWS 256 /* rows beyond this are counted but not stored */
#define NCOLS 7
#define LINE_MAX_LEN 1024

enum { COL_CLASS, COL_SIZE, COL_SPAN, COL_OBJS, COL_TAIL, COL_MAXWASTE, COL_ALIGN };

static const char *const col_name[NCOLS] = {
    "class", "bytes/obj", "bytes/span", "objects", "tail waste", "max waste", "min align",
};

struct row {
    int line;          /* line number in TABLE */
    uint64_t cls;      /* class number as written */
    uint64_t size;     /* bytes/obj */
    uint64_t span;     /* bytes/span */
    uint64_t npages;   /* span / PAGE_SIZE */
    uint64_t nobjs;    /* computed */
    uint64_t tail;     /* computed */
    uint64_t minalign; /* computed */
    uint32_t divmagic; /* computed */
    char maxwaste[32]; /* computed, e.g. "87.50%" */
};

static const char *table_path;
static int nerrors;

/* Report a problem with a row: "TABLE:LINE: class N: ..." */
static void row_error(int line, long long cls, const char *fmt, ...)
{
    va_list ap;
    if (cls >= 0)
        fprintf(stderr, "%s:%d: class %lld: ", table_path, line, cls);
    else
        fprintf(stderr, "%s:%d: ", table_path, line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    nerrors++;
}

/* Parse a decimal number made only of digits (at most 9 of them). */
static int parse_uint(const char *s, uint64_t *out)
{
    uint64_t v = 0;
    size_t n = strlen(s);
    if (n == 0 || n > 9)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    *out = v;
    return 0;
}

static unsigned ctz64(uint64_t x)
{
    unsigned n = 0;
    while (x != 0 && (x & 1) == 0) {
        x >>= 1;
        n++;
    }
    return n;
}

/*
 * Format num/den as a percentage with two decimals, rounding to nearest and
 * ties to even (the same result as printf("%.2f%%") on the exact value).
 */
static void format_percent(char *buf, size_t len, uint64_t num, uint64_t den)
{
    uint64_t scaled = num * 10000;
    uint64_t q = scaled / den, r = scaled % den;
    if (2 * r > den || (2 * r == den && (q & 1)))
        q++;
    snprintf(buf, len, "%" PRIu64 ".%02" PRIu64 "%%", q / 100, q % 100);
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n' || s[n - 1] == '\r'))
        s[--n] = '\0';
    return s;
}

/*
 * Read the table. Returns the number of data rows seen (rows beyond MAX_ROWS
 * are counted but not stored). Column checks are done later, in check_rows().
 * Rows whose fields cannot be parsed are reported here and not stored.
 */
static int read_table(FILE *f, struct row *rows, const char *fields[][NCOLS], char (*store)[LINE_MAX_LEN])
{
    char buf[LINE_MAX_LEN];
    int line = 0, nrows = 0;

    while (fgets(buf, sizeof buf, f) != NULL) {
        line++;
        if (strchr(buf, '\n') == NULL && !feof(f)) {
            row_error(line, -1, "line too long");
            int c;
            while ((c = fgetc(f)) != EOF && c != '\n')
                ;
            continue;
        }
        char *s = trim(buf);
        if (*s == '\0' || *s == '#')
            continue;

        int idx = nrows++;
        if (idx >= MAX_ROWS)
            continue;

        /* Split into whitespace-separated fields (kept in per-row storage). */
        char *copy = store[idx];
        snprintf(copy, LINE_MAX_LEN, "%s", s);
        const char *f_[NCOLS + 1];
        int nf = 0;
        for (char *p = copy; *p != '\0';) {
            while (*p == ' ' || *p == '\t')
                *p++ = '\0';
            if (*p == '\0')
                break;
            if (nf <= NCOLS)
                f_[nf] = p;
            nf++;
            while (*p != '\0' && *p != ' ' && *p != '\t')
                p++;
        }

        struct row *r = &rows[idx];
        memset(r, 0, sizeof *r);
        r->line = line;

        long long cls = -1;
        uint64_t v;
        if (nf > 0 && parse_uint(f_[0], &v) == 0)
            cls = (long long)v;
        if (nf != NCOLS) {
            row_error(line, cls, "expected %d columns, found %d", NCOLS, nf);
            r->line = -line; /* mark unusable */
            r->cls = cls >= 0 ? (uint64_t)cls : 0;
            /* Keep the size, if readable, as "previous size" for the next row. */
            if (nf > 1 && parse_uint(f_[1], &v) == 0)
                r->size = v;
            continue;
        }
        for (int c = 0; c < NCOLS; c++)
            fields[idx][c] = f_[c];
    }
    if (ferror(f)) {
        fprintf(stderr, "%s: read error: %s\n", table_path, strerror(errno));
        nerrors++;
    }
    return nrows;
}

/* Check one numeric column against its computed value. */
static void check_num(const struct row *r, const char *text, int col, uint64_t computed)
{
    uint64_t v;
    if (parse_uint(text, &v) != 0)
        row_error(r->line, (long long)r->cls, "column '%s' is '%s', not a number (computed %" PRIu64 ")",
                  col_name[col], text, computed);
    else if (v != computed)
        row_error(r->line, (long long)r->cls, "column '%s' is %" PRIu64 ", computed %" PRIu64, col_name[col], v,
                  computed);
}

/* Returns 1 if the row could be used (size and span parsed and sane). */
static int check_row(struct row *r, const char *const *fld, uint64_t prev_size, uint64_t expect_class)
{
    uint64_t v;
    long long cls = -1;

    if (parse_uint(fld[COL_CLASS], &v) == 0)
        cls = (long long)v;
    r->cls = cls >= 0 ? (uint64_t)cls : 0;

    if (cls < 0) {
        row_error(r->line, -1, "column 'class' is '%s', not a number (expected %" PRIu64 ")", fld[COL_CLASS],
                  expect_class);
    } else if ((uint64_t)cls > expect_class) {
        row_error(r->line, cls,
                  "column 'class' is %lld, expected %" PRIu64 " (class %" PRIu64 " is missing or out of place)",
                  cls, expect_class, expect_class);
    } else if ((uint64_t)cls < expect_class) {
        row_error(r->line, cls,
                  "column 'class' is %lld, expected %" PRIu64 " (class %lld is out of order or duplicated)", cls,
                  expect_class, cls);
    }

    int ok = 1;
    if (parse_uint(fld[COL_SIZE], &r->size) != 0) {
        row_error(r->line, cls, "column 'bytes/obj' is '%s', not a number", fld[COL_SIZE]);
        r->size = 0;
        ok = 0;
    } else if (r->size == 0 || r->size > MAX_SMALL_SIZE) {
        row_error(r->line, cls, "column 'bytes/obj' is %" PRIu64 ", must be in 1..%u", r->size, MAX_SMALL_SIZE);
        ok = 0;
    } else if (r->size <= prev_size) {
        row_error(r->line, cls, "column 'bytes/obj' is %" PRIu64 ", not greater than previous class's %" PRIu64,
                  r->size, prev_size);
        /* still usable for the per-row checks */
    }

    if (parse_uint(fld[COL_SPAN], &r->span) != 0) {
        row_error(r->line, cls, "column 'bytes/span' is '%s', not a number", fld[COL_SPAN]);
        ok = 0;
    } else if (r->span == 0 || r->span % PAGE_SIZE != 0) {
        row_error(r->line, cls, "column 'bytes/span' is %" PRIu64 ", not a positive multiple of %u", r->span,
                  PAGE_SIZE);
        ok = 0;
    } else if (r->span / PAGE_SIZE > 255) {
        row_error(r->line, cls, "column 'bytes/span' is %" PRIu64 ", more than 255 pages", r->span);
        ok = 0;
    }
    if (ok && r->size > r->span) {
        row_error(r->line, cls, "column 'bytes/span' is %" PRIu64 ", smaller than bytes/obj %" PRIu64, r->span,
                  r->size);
        ok = 0;
    }
    if (!ok)
        return 0;

    r->npages = r->span / PAGE_SIZE;
    r->nobjs = r->span / r->size;
    r->tail = r->span % r->size;
    unsigned tz = ctz64(r->size);
    r->minalign = (uint64_t)1 << (tz < PAGE_SHIFT ? tz : PAGE_SHIFT);
    uint64_t low = r->size <= prev_size ? 0 : r->size - prev_size - 1;
    format_percent(r->maxwaste, sizeof r->maxwaste, low * r->nobjs + r->tail, r->span);

    if (r->nobjs > 65535) {
        row_error(r->line, cls, "column 'objects' would be %" PRIu64 ", more than 65535", r->nobjs);
        return 0;
    }

    check_num(r, fld[COL_OBJS], COL_OBJS, r->nobjs);
    check_num(r, fld[COL_TAIL], COL_TAIL, r->tail);
    if (strcmp(fld[COL_MAXWASTE], r->maxwaste) != 0)
        row_error(r->line, cls, "column 'max waste' is %s, computed %s", fld[COL_MAXWASTE], r->maxwaste);
    check_num(r, fld[COL_ALIGN], COL_ALIGN, r->minalign);

    /*
     * Division magic: n / size == (n * ceil(2^32 / size)) >> 32. It is exact
     * while n * size < 2^32, which holds for every class here; check it by
     * brute force over every offset in the span, end included.
     */
    uint64_t magic = (((uint64_t)1 << 32) + r->size - 1) / r->size;
    if (magic > UINT32_MAX) {
        row_error(r->line, cls, "divmagic %" PRIu64 " does not fit in 32 bits", magic);
        return 0;
    }
    r->divmagic = (uint32_t)magic;
    for (uint64_t n = 0; n <= r->span; n++) {
        if (((n * magic) >> 32) != n / r->size) {
            row_error(r->line, cls,
                      "divmagic %" PRIu64 " is not exact: n=%" PRIu64 " gives %" PRIu64 ", n/size is %" PRIu64,
                      magic, n, (n * magic) >> 32, n / r->size);
            return 0;
        }
    }
    return 1;
}

/* Smallest class whose size is >= n (class 0 has size 0); -1 if none. */
static int smallest_class(const uint64_t *sizes, int nclasses, uint64_t n)
{
    for (int c = 0; c <= nclasses; c++)
        if (sizes[c] >= n)
            return c;
    return -1;
}

static void write_u_array(FILE *out, const char *type, const char *name, const char *len, const uint64_t *v, int n,
                          int per_line)
{
    fprintf(out, "static const %s %s[%s] __attribute__((unused)) = {", type, name, len);
    for (int i = 0; i < n; i++) {
        if (i % per_line == 0)
            fprintf(out, "\n   ");
        fprintf(out, " %" PRIu64 ",", v[i]);
    }
    fprintf(out, "\n};\n\n");
}

static int write_header(const char *out_path, const struct row *rows, const uint64_t *class8,
                        const uint64_t *class128)
{
    size_t plen = strlen(out_path);
    char *tmp = malloc(plen + 5);
    if (tmp == NULL) {
        fprintf(stderr, "mksizeclasses: out of memory\n");
        return -1;
    }
    memcpy(tmp, out_path, plen);
    memcpy(tmp + plen, ".tmp", 5);

    FILE *out = fopen(tmp, "w");
    if (out == NULL) {
        fprintf(stderr, "mksizeclasses: %s: %s\n", tmp, strerror(errno));
        free(tmp);
        return -1;
    }

    uint64_t size[NUM_CLASSES + 1] = {0}, npages[NUM_CLASSES + 1] = {0}, nobjs[NUM_CLASSES + 1] = {0};
    uint64_t magic[NUM_CLASSES + 1] = {0}, align[NUM_CLASSES + 1] = {0};
    uint64_t max_objs = 0, max_pages = 0;
    for (int c = 1; c <= NUM_CLASSES; c++) {
        const struct row *r = &rows[c - 1];
        size[c] = r->size;
        npages[c] = r->npages;
        nobjs[c] = r->nobjs;
        magic[c] = r->divmagic;
        align[c] = r->minalign;
        if (r->nobjs > max_objs)
            max_objs = r->nobjs;
        if (r->npages > max_pages)
            max_pages = r->npages;
    }

    fprintf(out, "/* Generated by sizeclass_gen/mksizeclasses.c from sizeclasses.txt. DO NOT EDIT. */\n\n");
    fprintf(out, "/*\n"
                 " * goalloc size classes (the size classes of Go's runtime allocator).\n"
                 " * Pages are %u bytes; sizes 1..%u are served from the classes below,\n"
                 " * larger requests are class 0 (a span of their own).\n"
                 " *\n",
            PAGE_SIZE, MAX_SMALL_SIZE);
    fprintf(out, " * class  bytes/obj  bytes/span  objects  tail waste  max waste  min align   divmagic\n");
    for (int c = 1; c <= NUM_CLASSES; c++) {
        const struct row *r = &rows[c - 1];
        fprintf(out, " * %5d%11" PRIu64 "%12" PRIu64 "%9" PRIu64 "%12" PRIu64 "%11s%11" PRIu64 "%11" PRIu32 "\n", c,
                r->size, r->span, r->nobjs, r->tail, r->maxwaste, r->minalign, r->divmagic);
    }
    fprintf(out,
            " *\n"
            " * Object index within a span: for an offset n in [0, npages*%u],\n"
            " *   n / size == (uint32_t)(((uint64_t)n * ga_class_to_divmagic[c]) >> 32)\n"
            " * (checked exhaustively by the generator).\n"
            " *\n"
            " * Size -> class for 1 <= n <= %u:\n"
            " *   n <= %u ? ga_size_to_class8[(n + 7) / 8]\n"
            " *             : ga_size_to_class128[(n - %u + 127) / 128]\n"
            " * gives the smallest class whose size is >= n (checked for every n).\n"
            " * Entries for class 0 are 0.\n"
            " */\n\n",
            PAGE_SIZE, MAX_SMALL_SIZE, SMALL_SIZE_MAX - SMALL_SIZE_DIV, SMALL_SIZE_MAX);

    fprintf(out, "#ifndef GOALLOC_SIZECLASSES_H\n#define GOALLOC_SIZECLASSES_H\n\n#include <stdint.h>\n\n");
    fprintf(out, "#define GA_NUM_SIZE_CLASSES %d /* class 0 = large objects + %d classes */\n", NUM_CLASSES + 1,
            NUM_CLASSES);
    fprintf(out, "#define GA_PAGE_SHIFT %d\n", PAGE_SHIFT);
    fprintf(out, "#define GA_PAGE_SIZE %u\n", PAGE_SIZE);
    fprintf(out, "#define GA_MAX_SMALL_SIZE %u\n", MAX_SMALL_SIZE);
    fprintf(out, "#define GA_SMALL_SIZE_DIV %u\n", SMALL_SIZE_DIV);
    fprintf(out, "#define GA_SMALL_SIZE_MAX %u\n", SMALL_SIZE_MAX);
    fprintf(out, "#define GA_LARGE_SIZE_DIV %u\n", LARGE_SIZE_DIV);
    fprintf(out, "#define GA_MAX_OBJS_PER_SPAN %" PRIu64 "\n", max_objs);
    fprintf(out, "#define GA_MAX_SPAN_PAGES %" PRIu64 "\n\n", max_pages);

    write_u_array(out, "uint16_t", "ga_class_to_size", "GA_NUM_SIZE_CLASSES", size, NUM_CLASSES + 1, 10);
    write_u_array(out, "uint8_t", "ga_class_to_npages", "GA_NUM_SIZE_CLASSES", npages, NUM_CLASSES + 1, 20);
    write_u_array(out, "uint16_t", "ga_class_to_nobjs", "GA_NUM_SIZE_CLASSES", nobjs, NUM_CLASSES + 1, 10);
    write_u_array(out, "uint32_t", "ga_class_to_divmagic", "GA_NUM_SIZE_CLASSES", magic, NUM_CLASSES + 1, 6);
    write_u_array(out, "uint16_t", "ga_class_to_minalign", "GA_NUM_SIZE_CLASSES", align, NUM_CLASSES + 1, 10);
    char len8[16], len128[16];
    snprintf(len8, sizeof len8, "%u", (unsigned)CLASS8_LEN);
    snprintf(len128, sizeof len128, "%u", (unsigned)CLASS128_LEN);
    write_u_array(out, "uint8_t", "ga_size_to_class8", len8, class8, CLASS8_LEN, 16);
    write_u_array(out, "uint8_t", "ga_size_to_class128", len128, class128, CLASS128_LEN, 16);
    fprintf(out, "#endif /* GOALLOC_SIZECLASSES_H */\n");

    int bad = ferror(out);
    if (fclose(out) != 0)
        bad = 1;
    if (bad) {
        fprintf(stderr, "mksizeclasses: %s: write error\n", tmp);
        remove(tmp);
        free(tmp);
        return -1;
    }
    if (rename(tmp, out_path) != 0) {
        fprintf(stderr, "mksizeclasses: rename %s -> %s: %s\n", tmp, out_path, strerror(errno));
        remove(tmp);
        free(tmp);
        return -1;
    }
    free(tmp);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: mksizeclasses TABLE OUT.h\n");
        return 2;
    }
    table_path = argv[1];

    FILE *f = fopen(table_path, "r");
    if (f == NULL) {
        fprintf(stderr, "mksizeclasses: %s: %s\n", table_path, strerror(errno));
        return 1;
    }

    static struct row rows[MAX_ROWS];
    static const char *fields[MAX_ROWS][NCOLS];
    static char store[MAX_ROWS][LINE_MAX_LEN];
    int nrows = read_table(f, rows, fields, store);
    fclose(f);

    /* Per-row checks. */
    int stored = nrows < MAX_ROWS ? nrows : MAX_ROWS;
    uint64_t prev_size = 0, expect = 1;
    int usable = 1;
    int last_line = 0;
    for (int i = 0; i < stored; i++) {
        struct row *r = &rows[i];
        if (r->line < 0) { /* wrong column count, already reported */
            usable = 0;
            last_line = -r->line;
        } else {
            last_line = r->line;
            if (!check_row(r, fields[i], prev_size, expect))
                usable = 0;
        }
        /* The next row's max waste is relative to this row's size, even if
         * this row has other problems. */
        if (r->size != 0)
            prev_size = r->size;
        /* Resynchronise on the class number as written so that one missing or
         * extra row is reported once, not for every following row. */
        expect = (r->cls >= 1 ? r->cls : expect) + 1;
    }

    if (nrows != NUM_CLASSES) {
        row_error(last_line, -1, "found %d rows, expected exactly %d", nrows, NUM_CLASSES);
        usable = 0;
    } else if (usable && rows[NUM_CLASSES - 1].size != MAX_SMALL_SIZE) {
        const struct row *r = &rows[NUM_CLASSES - 1];
        row_error(r->line, (long long)r->cls, "column 'bytes/obj' is %" PRIu64 ", last class must be %u", r->size,
                  MAX_SMALL_SIZE);
        usable = 0;
    }
    if (nerrors > 0 || !usable) {
        fprintf(stderr, "%s: %d error(s); %s not written\n", table_path, nerrors, argv[2]);
        return 1;
    }

    /* Size -> class lookup tables. */
    uint64_t sizes[NUM_CLASSES + 1];
    sizes[0] = 0;
    for (int c = 1; c <= NUM_CLASSES; c++)
        sizes[c] = rows[c - 1].size;

    uint64_t class8[CLASS8_LEN], class128[CLASS128_LEN];
    for (unsigned i = 0; i < CLASS8_LEN; i++)
        class8[i] = (uint64_t)smallest_class(sizes, NUM_CLASSES, SMALL_SIZE_DIV * i);
    for (unsigned i = 0; i < CLASS128_LEN; i++)
        class128[i] = (uint64_t)smallest_class(sizes, NUM_CLASSES, SMALL_SIZE_MAX + LARGE_SIZE_DIV * i);

    for (uint64_t n = 1; n <= MAX_SMALL_SIZE; n++) {
        uint64_t got = n <= SMALL_SIZE_MAX - SMALL_SIZE_DIV
                           ? class8[(n + SMALL_SIZE_DIV - 1) / SMALL_SIZE_DIV]
                           : class128[(n - SMALL_SIZE_MAX + LARGE_SIZE_DIV - 1) / LARGE_SIZE_DIV];
        int want = smallest_class(sizes, NUM_CLASSES, n);
        if (got != (uint64_t)want) {
            const struct row *r = &rows[want - 1];
            row_error(r->line, want,
                      "column 'bytes/obj': size lookup for n=%" PRIu64 " gives class %" PRIu64
                      ", smallest fitting class is %d (sizes above %u must be multiples of %u, below of %u)",
                      n, got, want, SMALL_SIZE_MAX, LARGE_SIZE_DIV, SMALL_SIZE_DIV);
            break;
        }
    }
    if (nerrors > 0) {
        fprintf(stderr, "%s: %d error(s); %s not written\n", table_path, nerrors, argv[2]);
        return 1;
    }

    return write_header(argv[2], rows, class8, class128) == 0 ? 0 : 1;
}
