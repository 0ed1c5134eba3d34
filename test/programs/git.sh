#!/usr/bin/env bash
# git under goalloc: init, two commits of generated files, log --stat, gc, fsck and log -p,
# with identities and dates fixed so that every object id is reproducible.
cd "$(dirname "$0")/../.." || exit 1
. test/programs/lib.sh

# shellcheck disable=SC2317  # called by gt_run_pair
write_script() {
	cat >run.sh <<'EOF'
set -e
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null GIT_PAGER=cat PAGER=cat
export GIT_AUTHOR_NAME="Ada Example" GIT_AUTHOR_EMAIL=ada@example.org
export GIT_COMMITTER_NAME="Bob Example" GIT_COMMITTER_EMAIL=bob@example.org

git init -q -b main repo
cd repo
git config gc.auto 0
git config maintenance.auto false
git config core.autocrlf false

i=1
while [ $i -le 50 ]; do
	j=1
	while [ $j -le $((i * 7)) ]; do
		echo "file $i line $j: $((i * j * 2654435761 % 1000003))"
		j=$((j + 1))
	done >"file$i.txt"
	i=$((i + 1))
done
mkdir -p sub/dir
printf 'nested %s\n' a b c >sub/dir/nested.txt

git add .
GIT_AUTHOR_DATE="2021-03-04T05:06:07+0000" GIT_COMMITTER_DATE="2021-03-04T05:06:07+0000" \
	git commit -q -m "first: 50 generated files"

for i in 3 9 14 27 41; do
	sed -i 's/line 2:/line two:/; $a appended to '"$i" "file$i.txt"
done
git rm -q file50.txt file49.txt
git mv file1.txt sub/renamed.txt
echo "brand new" >new.txt
git add -A
GIT_AUTHOR_DATE="2021-03-05T05:06:07+0000" GIT_COMMITTER_DATE="2021-03-05T06:07:08+0000" \
	git commit -q -m "second: edit, delete, rename, add"

# A short history on top, so that gc has deltas to find and blame has work to do.
n=1
while [ $n -le 20 ]; do
	for i in $((n % 7 + 2)) $((n % 11 + 10)) 9; do
		sed -i "$((n * 3))s/\$/ edit $n/" "file$i.txt"
	done
	d=$(printf '2021-04-%02dT12:00:00+0000' "$n")
	GIT_AUTHOR_DATE=$d GIT_COMMITTER_DATE=$d git commit -q -a -m "edit $n"
	n=$((n + 1))
done

echo "== rev-parse"
git rev-parse HEAD HEAD~20 HEAD~21 HEAD^{tree}
echo "== log --oneline"
git log --oneline | wc -l
echo "== log --stat"
git log --stat
echo "== gc"
git gc --quiet
echo "== fsck"
git fsck --no-progress --strict
echo "fsck status $?"
echo "== log -p"
git log -p | sha256sum
echo "== diff HEAD~1 --numstat"
git diff --numstat HEAD~1 HEAD
echo "== cat-file"
git cat-file -p HEAD:file9.txt | sha256sum
git ls-tree -r HEAD | sha256sum
echo "== blame"
git blame -s file9.txt | sha256sum
EOF
}

gt_plan 3
if ! gt_have git; then
	gt_skip_n "git not installed (Debian package git)" "git: "{stdout,stderr,stats}
	gt_done
fi

# bash itself plus a dozen git processes report.
gt_run_pair git write_script -- bash run.sh
gt_check_pair 10

gt_done
