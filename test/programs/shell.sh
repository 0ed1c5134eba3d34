#!/usr/bin/env bash
# A shell pipeline under goalloc: bash, seq, awk, sort, uniq, head and sha256sum all inherit
# the preload, then a loop of 200 command substitutions forks a process storm.
cd "$(dirname "$0")/../.." || exit 1
. test/programs/lib.sh

# shellcheck disable=SC2317  # called by gt_run_pair
write_script() {
	cat >run.sh <<'EOF'
echo "pipeline: $(seq 1 200000 | awk '{print ($1*7919)%100003, $1}' | sort -n | uniq -c |
	sort -k1,1nr -k2,2n | head -50 | sha256sum)"
echo "pipeline lines: $(seq 1 200000 | awk '{print ($1*7919)%100003}' | sort -u | wc -l)"
echo "tr+sort: $(seq 1 50000 | tr 0-9 a-j | sort -r | tail -3 | tr '\n' ' ')"

s=
for i in $(seq 1 200); do
	x=$(echo "$i" | tr 0-9 a-j)
	y=$(printf '%s' "$x" | wc -c)
	s="$s$x:$y,"
done
echo "loop: ${#s} $(printf '%s' "$s" | sha256sum)"
EOF
}

gt_plan 3
if ! gt_have bash seq awk sort uniq head tail tr wc sha256sum; then
	gt_skip_n "$GT_MISSING not installed (Debian packages coreutils, mawk)" "shell: "{stdout,stderr,stats}
	gt_done
fi

# coreutils and mawk close stderr before they exit, so their reports cannot be counted on; the
# 400 command substitutions are forked copies of bash that exit normally and each report.
gt_run_pair shell write_script -- bash run.sh
gt_check_pair 100

gt_done
