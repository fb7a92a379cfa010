# bench/report/bars.gp - one bar per row: a label, then a value.
#   gnuplot -e "data='D'; out='O.png'; ttl='T'; yl='Y'" bars.gp
set terminal pngcairo size 900,480 font "DejaVu Sans,11" noenhanced
set output out
set datafile separator "\t"
set title ttl
set ylabel yl
set style fill solid 0.6 border -1
set boxwidth 0.6
set grid ytics
set yrange [0:*]
set xtics rotate by -20
unset key
plot data using 0:2:xtic(1) with boxes lc rgb "#4477aa", \
     data using 0:2:(sprintf("%.0f", $2)) with labels offset 0,0.7
