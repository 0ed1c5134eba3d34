#!/usr/bin/env bash
# shellcheck disable=SC2016 # awk programs are passed in single quotes on purpose
# TAP test for the size-class generator (sizeclass_gen/mksizeclasses.c).
# Run from the repository root. GOALLOC_BUILD names the build directory
# (default: build); the generator is taken from $GOALLOC_BUILD/gen/mksizeclasses
# and compiled into a temporary directory if it is not there.
set -u

BUILD=${GOALLOC_BUILD:-build}
TABLE=sizeclass_gen/sizeclasses.txt
CC=${CC:-cc}

TMP=$(mktemp -d "${TMPDIR:-/tmp}/t_sizeclass_gen.XXXXXX") || exit 1
trap 'rm -rf "$TMP"' EXIT

n=0
fails=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() {
    n=$((n + 1))
    fails=$((fails + 1))
    echo "not ok $n - $1"
    shift
    for line in "$@"; do echo "# $line"; done
}

# Each corruption case below is one test; 3 tests for the real table.
CASES=(objects tail maxwaste align span missing order lookup)
echo "1..$((3 + ${#CASES[@]}))"

GEN=$BUILD/gen/mksizeclasses
if [ ! -x "$GEN" ]; then
    GEN=$TMP/mksizeclasses
    if ! $CC -O2 -Wall -Wextra -Werror -o "$GEN" sizeclass_gen/mksizeclasses.c 2>"$TMP/cc.err"; then
        echo "# could not compile the generator:"
        sed 's/^/# /' "$TMP/cc.err"
        GEN=false
    fi
fi

# --- the real table -------------------------------------------------------
OUT=$TMP/good/sizeclasses.h
mkdir -p "$TMP/good"
if "$GEN" "$TABLE" "$OUT" 2>"$TMP/good.err" && [ -f "$OUT" ] && [ ! -e "$OUT.tmp" ]; then
    ok "real table generates a header"
else
    not_ok "real table generates a header" "$(cat "$TMP/good.err" 2>/dev/null)"
fi

# Sizes listed in the table, and the sizes the header defines (compiled).
awk '!/^[[:space:]]*(#|$)/ { print $2 }' "$TABLE" >"$TMP/want_sizes"
cat >"$TMP/dump.c" <<'EOF'
#include <stdio.h>
#include "sizeclasses.h"
int main(void)
{
    for (int c = 1; c < GA_NUM_SIZE_CLASSES; c++)
        printf("%u\n", (unsigned)ga_class_to_size[c]);
    /* spot values: lookup tables and division magic */
    static const unsigned char c8[12] = {0, 1, 2, 3, 4, 5, 5, 6, 6, 7, 7, 8};
    static const unsigned char c128[12] = {32, 33, 34, 35, 36, 37, 37, 38, 38, 39, 39, 40};
    int bad = GA_NUM_SIZE_CLASSES != 68 || sizeof ga_size_to_class8 != 129 || sizeof ga_size_to_class128 != 249;
    for (int i = 0; i < 12; i++)
        bad |= ga_size_to_class8[i] != c8[i] || ga_size_to_class128[i] != c128[i];
    bad |= ga_class_to_size[65] != 27264 || ga_class_to_divmagic[65] != 157533;
    bad |= ga_class_to_npages[65] != 10 || ga_class_to_nobjs[1] != 1024 || ga_class_to_minalign[67] != 8192;
    bad |= GA_MAX_OBJS_PER_SPAN != 1024 || GA_MAX_SPAN_PAGES != 10;
    return bad;
}
EOF
if [ -f "$OUT" ] && [ "$(grep -c . "$TMP/want_sizes")" = 67 ] &&
    $CC -std=c11 -Wall -Wextra -Werror -I"$TMP/good" -o "$TMP/dump" "$TMP/dump.c" 2>"$TMP/dump.err" &&
    "$TMP/dump" >"$TMP/got_sizes" && cmp -s "$TMP/want_sizes" "$TMP/got_sizes"; then
    ok "header defines the 67 sizes of the table and the expected spot values"
else
    not_ok "header defines the 67 sizes of the table and the expected spot values" \
        "$(cat "$TMP/dump.err" 2>/dev/null)" "$(diff "$TMP/want_sizes" "$TMP/got_sizes" 2>/dev/null | head -5)"
fi

# Rerunning over an existing output replaces it with identical content.
if [ -f "$OUT" ] && cp "$OUT" "$TMP/first.h" && "$GEN" "$TABLE" "$OUT" 2>/dev/null &&
    cmp -s "$OUT" "$TMP/first.h"; then
    ok "generation is deterministic"
else
    not_ok "generation is deterministic"
fi

# --- corrupted copies -----------------------------------------------------
# corrupt NAME AWK-PROGRAM : write $TMP/NAME.txt from the table via awk.
# Data rows are whitespace-separated: $1 class, $2 bytes/obj, $3 bytes/span,
# $4 objects, $5 tail waste, $6 max waste, $7 min align.
corrupt() {
    awk '/^[[:space:]]*(#|$)/ { print; next } '"$2" "$TABLE" >"$TMP/$1.txt"
}

# expect_reject NAME DESCRIPTION CLASS COLUMN
expect_reject() {
    local name=$1 desc=$2 class=$3 column=$4
    local dir=$TMP/$name
    mkdir -p "$dir"
    "$GEN" "$TMP/$name.txt" "$dir/sizeclasses.h" 2>"$dir/err" >/dev/null
    local rc=$?
    local why=()
    [ "$rc" -ne 0 ] || why+=("generator exited 0")
    [ ! -e "$dir/sizeclasses.h" ] || why+=("output file was written")
    [ ! -e "$dir/sizeclasses.h.tmp" ] || why+=("temporary output left behind")
    grep -Eq "(class $class\\b|expected $class\\b)" "$dir/err" || why+=("stderr does not name class $class")
    grep -Fq "column '$column'" "$dir/err" || why+=("stderr does not name column '$column'")
    if [ ${#why[@]} -eq 0 ]; then
        ok "$desc is rejected (class $class, column '$column')"
    else
        not_ok "$desc is rejected (class $class, column '$column')" "${why[@]}" "stderr:" \
            "$(sed 's/^/  /' "$dir/err")"
    fi
}

corrupt objects '$1 == 17 { $4 = $4 + 1 } { print }'
expect_reject objects "wrong objects count" 17 objects

corrupt tail '$1 == 23 { $5 = 290 } { print }'
expect_reject tail "wrong tail waste" 23 "tail waste"

corrupt maxwaste '$1 == 33 { $6 = "12.42%" } { print }'
expect_reject maxwaste "wrong max waste" 33 "max waste"

corrupt align '$1 == 46 { $7 = 512 } { print }'
expect_reject align "wrong min align" 46 "min align"

corrupt span '$1 == 52 { $3 = 57000 } { print }'
expect_reject span "bytes/span not a multiple of 8192" 52 "bytes/span"

corrupt missing '$1 == 40 { next } { print }'
expect_reject missing "missing row" 40 class

corrupt order '$1 == 12 { held = $0; next } { print } $1 == 13 { print held }'
expect_reject order "rows out of order" 12 class

# All columns consistent, but 3008 is not a multiple of 128, so the
# 128-byte lookup table cannot map every size to the smallest class.
corrupt lookup '$1 == 41 { $2 = 3008; $5 = 512; $6 = "12.47%"; $7 = 64 }
                $1 == 42 { $6 = "8.17%" } { print }'
expect_reject lookup "size off the lookup grid" 41 "bytes/obj"

[ "$fails" -eq 0 ]
