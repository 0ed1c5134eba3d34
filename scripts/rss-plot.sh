#!/bin/sh
# Plot RSS over time with gnuplot: one curve per data file written by rss-sample -o (lines
# "<seconds> <RSS in KiB>"), into a PNG. Used by scripts/rss-compare.sh and the goalloc launcher's
# --rss-plot.
#
#   rss-plot.sh OUT.png TITLE LABEL=FILE [LABEL=FILE ...]
#
# Curves take the colours in the order given (the same order gives the same colour in every
# plot); a file with no samples is left out of the plot and named on stderr. Exit status 0, or
# 1 when gnuplot is missing or fails, 2 on a usage error.
set -eu
if [ $# -lt 3 ]; then
	echo "usage: rss-plot.sh OUT.png TITLE LABEL=FILE [LABEL=FILE ...]" >&2
	exit 2
fi
out=$1 title=$2
shift 2
command -v gnuplot >/dev/null 2>&1 || { echo "rss-plot: gnuplot not found (Debian: apt-get install gnuplot-nox)" >&2; exit 1; }
# gnuplot's single-quoted strings take a quote as two
q() { printf "'%s'" "$(printf '%s' "$1" | sed "s/'/''/g")"; }
colors="#1f77b4 #7f7f7f #2ca02c #9467bd #d62728 #ff7f0e #8c564b #e377c2"
plot= n=0
for arg in "$@"; do
	label=${arg%%=*} file=${arg#*=}
	n=$((n + 1))
	set -- $colors
	shift $(( (n - 1) % 8 ))
	color=$1
	if [ ! -s "$file" ]; then
		echo "rss-plot: $file has no samples; $label left out of $out" >&2
		continue
	fi
	plot="$plot${plot:+, }$(q "$file") using 1:(\$2/1024) with lines lw 2 lc rgb '$color' title $(q "$label")"
done
[ -n "$plot" ] || { echo "rss-plot: nothing to plot for $out" >&2; exit 1; }
gnuplot <<EOF
set terminal pngcairo size 960,540 font ',11' noenhanced
set output $(q "$out")
set title $(q "$title")
set xlabel 'time (s)'
set ylabel 'RSS (MiB)'
set yrange [0:*]
set xrange [0:*]
set grid
set key outside right top
plot $plot
EOF
