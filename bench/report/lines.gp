# bench/report/lines.gp - one line per server: x in column 1, a server per
# further column, named in the header row; "?" is a missing point.
#   gnuplot -e "data='D'; out='O.png'; ttl='T'; xl='X'; yl='Y'; logy=0|1; logx=1|0; n=COLUMNS" lines.gp
set terminal pngcairo size 900,540 font "DejaVu Sans,11" noenhanced
set output out
set datafile separator "\t"
# dark, distinct colours (gnuplot's default yellow is hard to read)
set linetype 1 lc rgb "#1f77b4"
set linetype 2 lc rgb "#d62728"
set linetype 3 lc rgb "#2ca02c"
set linetype 4 lc rgb "#000000"
set linetype 5 lc rgb "#9467bd"
set linetype 6 lc rgb "#8c564b"
set linetype 7 lc rgb "#e377c2"
set linetype 8 lc rgb "#7f7f7f"
set linetype 9 lc rgb "#bcbd22"
set linetype 10 lc rgb "#17becf"
set datafile missing "?"
set key outside right top
set grid
set title ttl
set xlabel xl
set ylabel yl
if (!exists("logx") || logx) set logscale x
set yrange [0:*]
if (logy) { unset yrange; set logscale y }
plot for [i=2:n] data using 1:i with linespoints lt (i-1) lw 2 pt (i-1) ps 1.2 title columnheader(i)
