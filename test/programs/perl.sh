#!/usr/bin/env bash
# perl under goalloc: a hash of 300k keys, sorting, string repetition and a big join.
cd "$(dirname "$0")/../.." || exit 1
. test/programs/lib.sh

# shellcheck disable=SC2317  # called by gt_run_pair
write_script() {
	cat >main.pl <<'EOF'
use strict;
use warnings;
use Digest::SHA qw(sha256_hex);

my %h;
for my $i (0 .. 299_999) {
    $h{ "k" . ($i * 7919 % 1_000_003) . "_" . $i } = $i * 3;
}
my @keys = sort keys %h;
print "keys ", scalar(@keys), " ", substr(sha256_hex(join ",", @keys), 0, 20), "\n";

my $sum = 0;
$sum += $h{$_} for @keys;
print "sum $sum\n";

my @by_value = sort { $h{$a} <=> $h{$b} or $a cmp $b } @keys;
print "first $by_value[0] last $by_value[-1]\n";

my $rep = ("abc" x 100_000) . ("xyz-" x 50_000) . join("", map { $_ x ($_ % 13) } 1 .. 5000);
print "repeat ", length($rep), " ", substr(sha256_hex($rep), 0, 20), "\n";

my $joined = join "|", map { "$_=$h{$_}" } @keys;
print "join ", length($joined), " ", substr(sha256_hex($joined), 0, 20), "\n";

(my $edited = $joined) =~ s/k(\d+)_/K<$1>/g;
my @fields = split /\|/, $edited;
print "regex ", scalar(@fields), " ", substr(sha256_hex($edited), 0, 20), "\n";

delete @h{ grep { /[13579]$/ } @keys };
my @vals = sort { $a <=> $b } values %h;
print "after-delete ", scalar(@vals), " $vals[0] $vals[-1]\n";

my @aoa = map { [ ($_) x ($_ % 17) ] } 1 .. 100_000;
my $cells = 0;
$cells += @$_ for @aoa;
print "arrays $cells\n";
EOF
}

gt_plan 3
if ! gt_have perl || ! perl -MDigest::SHA -e 1 2>/dev/null; then
	gt_skip_n "perl with Digest::SHA not installed (Debian package perl)" "perl: "{stdout,stderr,stats}
	gt_done
fi

gt_run_pair perl write_script -- perl main.pl
gt_check_pair 1

gt_done
