#!/usr/bin/env bash
# t_fuzz_replay — run the fuzz harness (built by `make tests` as $GOALLOC_BUILD/fuzz/fuzz_ops)
# once on every input of the seed corpus (test/fuzz/corpus) and of the regression inputs
# (test/fuzz/regress, each an input that once found a fault), without fuzzing. One TAP line per
# input; a failure shows the harness's last lines of output.
cd "$(dirname "$0")/../.." || exit 1
bin=${GOALLOC_BUILD:-build}/fuzz/fuzz_ops
inputs=(test/fuzz/corpus/* test/fuzz/regress/*)
files=()
for f in "${inputs[@]}"; do
	[ -f "$f" ] && files+=("$f") # (an empty directory leaves its pattern unexpanded)
done
echo "1..$(( ${#files[@]} + 1 ))"
if [ -x "$bin" ]; then
	echo "ok 1 - $bin is built"
else
	echo "not ok 1 - $bin is built (make tests builds it)"
fi
n=1
for f in "${files[@]}"; do
	n=$((n + 1))
	if out=$(timeout 300 "$bin" -timeout=120 "$f" 2>&1); then
		echo "ok $n - $f"
	else
		echo "not ok $n - $f"
		printf '%s\n' "$out" | tail -15 | sed 's/^/# /'
	fi
done
