#!/usr/bin/env bash
# bench/report.sh - renders one bench/suite.sh result file as Markdown
# (from the template bench/report/benchmarks.md.in) and PNG plots (gnuplot,
# bench/report/*.gp).
#
#   bench/report.sh RESULT.json DOC.md IMGDIR
#
# suite.sh calls it at the end of a run; run it by hand to re-render a
# result file after editing the template. Medians over the repetitions of
# each point, failed runs left out (and counted in the tables).
set -euo pipefail

me="$(basename "$0")"
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
[ $# = 3 ] || { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2; }
result="$(realpath "$1")" doc=$2 img=$3
mkdir -p "$img" "$(dirname "$doc")"
img="$(realpath "$img")"
frag="$(mktemp -d /tmp/muxd-report.XXXXXX)"
trap 'rm -rf "$frag"' EXIT

# jq helpers: medians, the servers' order, one group per point.
defs='
def median: map(select(. != null)) | sort
  | if length == 0 then null elif length % 2 == 1 then .[(length - 1) / 2]
    else (.[length / 2 - 1] + .[length / 2]) / 2 end;
def lo: map(select(. != null)) | min;
def hi: map(select(. != null)) | max;
def rank: {"muxd-epoll": 1, "muxd-io_uring": 2, "muxd-io_uring-plain": 2.5, "muxd-poll": 3, "epoll_echo": 4,
  "libevent_echo": 5, "muxd-w1-epoll": 11, "muxd-w1-io_uring": 12, "muxd-w1-poll": 13,
  "muxd-w2-epoll": 14, "muxd-w2-io_uring": 15, "muxd-w2-poll": 16, "ngircd": 21,
  "inspircd": 22}[.] // 99;
def v: if . == null then "-" else tostring end;
def runs(s): [.runs[] | select(.section == s)];
def okruns(s): [.runs[] | select(.section == s and .ok)];
def failed(s): [.runs[] | select(.section == s and (.ok | not))] | length;
'
q() { # filter [jq options]
    local f=$1
    shift
    jq -r "$@" "$defs $f" "$result"
}

# --- echo ----------------------------------------------------------------------

# Per (section, conns, server): runs, msgs/s, p50, p99, p99.9, server CPU
# µs per message (median, min, max), machine busy cores.
echo_points() { # section
    q "okruns(\"$1\") | group_by([.conns, (.server | rank)]) | .[]
       | [.[0].conns, .[0].server, length, (map(.load.msgs_per_s) | median),
          (map(.load.latency_us.p50) | median), (map(.load.latency_us.p99) | median),
          (map(.load.latency_us.p999) | median), (map(.load.server_cpu_us_per_msg) | median),
          (map(.load.server_cpu_us_per_msg) | lo), (map(.load.server_cpu_us_per_msg) | hi),
          (map(.machine_busy_cores) | median)] | map(v) | @tsv"
}

echo_table() { # points.tsv
    echo "| conns | server | runs | msgs/s | p50 (µs) | p99 (µs) | p99.9 (µs) | server CPU s / M msgs: median (min–max) | machine busy (cores) |"
    echo "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    awk -F'\t' '{ printf "| %s | %s | %s | %.0f | %.0f | %.0f | %.0f | **%.2f** (%.2f–%.2f) | %.2f |\n",
        $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11 }' "$1"
}

# server x conns pivot of one column of points.tsv.
pivot() { # points.tsv column format
    awk -F'\t' -v col="$2" -v fmt="$3" '
        { if (!($1 in seenc)) { seenc[$1] = 1; cs[++nc] = $1 }
          if (!($2 in seens)) { seens[$2] = 1; ss[++ns] = $2 }
          val[$2, $1] = $col }
        END { printf "| server |"; for (i = 1; i <= nc; i++) printf " %s conns |", cs[i]; print ""
              printf "| --- |"; for (i = 1; i <= nc; i++) printf " ---: |"; print ""
              for (j = 1; j <= ns; j++) { printf "| %s |", ss[j]
                  for (i = 1; i <= nc; i++) { x = val[ss[j], cs[i]]
                      printf " %s |", (x == "" || x == "-") ? "-" : sprintf(fmt, x) }
                  print "" } }' "$1"
}

# The gnuplot data: x, then one column per server (header row), "?" missing.
series() { # points.tsv xcol ycol
    awk -F'\t' -v xc="$2" -v yc="$3" '
        { if (!($xc in seenx)) { seenx[$xc] = 1; xs[++nx] = $xc }
          if (!($2 in seens)) { seens[$2] = 1; ss[++ns] = $2 }
          val[$2, $xc] = $yc }
        END { printf "x"; for (j = 1; j <= ns; j++) printf "\t%s", ss[j]; print ""
              for (i = 1; i <= nx; i++) { printf "%s", xs[i]
                  for (j = 1; j <= ns; j++) { y = val[ss[j], xs[i]]
                      printf "\t%s", (y == "" || y == "-") ? "?" : y }
                  print "" } }' "$1"
}

lines_plot() { # data png title xlabel ylabel logy(0|1) [logx(1|0)]
    local n
    n="$(head -n1 "$1" | awk -F'\t' '{ print NF }')"
    # One point per line (--quick) makes gnuplot widen the x range and say so.
    gnuplot -e "data='$1'; out='$2'; ttl='$3'; xl='$4'; yl='$5'; logy=$6; logx=${7:-1}; n=$n" \
        "$here/report/lines.gp" \
        2>&1 | { grep -v '^Warning: empty x range' >&2 || true; }
}

# muxd's cheapest backend per point against the two peers: the headline.
echo_ratios() { # points.tsv
    echo "| conns | muxd's cheapest backend | muxd (s / M msgs) | epoll_echo | muxd ÷ epoll_echo | libevent_echo | muxd ÷ libevent_echo |"
    echo "| ---: | --- | ---: | ---: | ---: | ---: | ---: |"
    awk -F'\t' '
        { if (!($1 in seen)) { seen[$1] = 1; cs[++n] = $1 }
          if ($2 ~ /^muxd-/ && $8 != "-" && (!($1 in best) || $8 + 0 < best[$1] + 0)) { best[$1] = $8; bn[$1] = $2 }
          if ($2 == "epoll_echo") ee[$1] = $8
          if ($2 == "libevent_echo") le[$1] = $8 }
        function r(a, b) { return (a == "" || b == "" || b == "-" || b + 0 == 0) ? "-" : sprintf("%.2f×", a / b) }
        function f(a) { return (a == "" || a == "-") ? "-" : sprintf("%.2f", a) }
        END { for (i = 1; i <= n; i++) { c = cs[i]
            printf "| %s | %s | %s | %s | %s | %s | %s |\n", c, (c in bn) ? bn[c] : "-", f(best[c]),
                f(ee[c]), r(best[c], ee[c]), f(le[c]), r(best[c], le[c]) } }' "$1"
}

echo_points echo >"$frag/echo.tsv"
echo_points unpinned >"$frag/unpinned.tsv"
if [ -s "$frag/echo.tsv" ]; then
    echo_table "$frag/echo.tsv" >"$frag/ECHO_TABLE"
    pivot "$frag/echo.tsv" 8 "%.2f" >"$frag/ECHO_CPU_TABLE"
    echo_ratios "$frag/echo.tsv" >"$frag/ECHO_RATIOS"
    series "$frag/echo.tsv" 1 4 >"$frag/echo-rate.dat"
    series "$frag/echo.tsv" 1 6 >"$frag/echo-p99.dat"
    series "$frag/echo.tsv" 1 8 >"$frag/echo-cpu.dat"
    lines_plot "$frag/echo-rate.dat" "$img/bench-echo-throughput.png" \
        "Echo throughput (64 B, depth 1; server CPU 0, client CPU 1)" connections "messages / s" 0
    lines_plot "$frag/echo-p99.dat" "$img/bench-echo-p99.png" \
        "Echo p99 latency (64 B, depth 1; pinned)" connections "p99 latency (µs)" 1
    lines_plot "$frag/echo-cpu.dat" "$img/bench-echo-cpu.png" \
        "Server CPU per message (lower is better)" connections "server CPU s / million messages" 0
fi
[ ! -s "$frag/unpinned.tsv" ] || echo_table "$frag/unpinned.tsv" >"$frag/UNPINNED_TABLE"

# --- matrix --------------------------------------------------------------------------

# Per (conns, size, depth, server): runs, server CPU µs per message
# (median, min, max), msgs/s, p99.
q 'okruns("matrix") | group_by([.conns, .size, .depth, (.server | rank)]) | .[]
   | [.[0].conns, .[0].size, .[0].depth, .[0].server, length,
      (map(.load.server_cpu_us_per_msg) | median), (map(.load.server_cpu_us_per_msg) | lo),
      (map(.load.server_cpu_us_per_msg) | hi), (map(.load.msgs_per_s) | median),
      (map(.load.latency_us.p99) | median)]
   | map(v) | @tsv' >"$frag/matrix.tsv"
if [ -s "$frag/matrix.tsv" ]; then
    # One row per cell: each server's median and its ratio to muxd-epoll;
    # the verdict: io_uring no dearer than epoll.
    awk -F'\t' '
        function f(x) { return (x == "" || x == "-") ? "-" : sprintf("%.2f", x) }
        function r(a, b) { return (a == "" || a == "-" || b == "" || b == "-" || b + 0 == 0) ? "" : sprintf(" (%.2f×)", a / b) }
        { k = $1 "\t" $2 "\t" $3; if (!(k in seen)) { seen[k] = 1; ks[++n] = k }
          cpu[k, $4] = $6; lo[k, $4] = $7; hi[k, $4] = $8 }
        END { print "| conns | size (B) | depth | muxd-epoll µs / msg | muxd-io_uring (× epoll) | muxd-io_uring-plain (× epoll) | io_uring ÷ plain | io_uring no dearer than epoll |"
              print "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"
              for (i = 1; i <= n; i++) { k = ks[i]; split(k, c, "\t")
                  e = cpu[k, "muxd-epoll"]; u = cpu[k, "muxd-io_uring"]; p = cpu[k, "muxd-io_uring-plain"]
                  v = (e == "" || u == "" || e == "-" || u == "-") ? "-" : (u + 0 <= e + 0 ? "yes" : "**no**")
                  printf "| %s | %s | %s | %s | %s%s | %s%s | %s | %s |\n", c[1], c[2], c[3], f(e), f(u), r(u, e),
                      f(p), r(p, e), (r(u, p) == "" ? "-" : substr(r(u, p), 3, length(r(u, p)) - 3)), v } }' \
        "$frag/matrix.tsv" >"$frag/MATRIX_TABLE"
    {
        echo "| conns | size (B) | depth | server | runs | server CPU µs / msg: median (min–max) | msgs/s | p99 (µs) |"
        echo "| ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: |"
        awk -F'\t' 'function f(x, fmt) { return x == "-" ? "-" : sprintf(fmt, x) }
            { printf "| %s | %s | %s | %s | %s | **%s** (%s–%s) | %s | %s |\n", $1, $2, $3, $4, $5,
                f($6, "%.2f"), f($7, "%.2f"), f($8, "%.2f"), f($9, "%.0f"), f($10, "%.0f") }' "$frag/matrix.tsv"
    } >"$frag/MATRIX_RUNS"
fi

# --- idle ----------------------------------------------------------------------------

q 'okruns("idle") | sort_by(.server | rank) | .[]
   | [.server, .conns, .rss_before_kb, .rss_after_kb, .bytes_per_conn, (.load.roundtrips // "-")]
   | map(v) | @tsv' >"$frag/idle.tsv"
if [ -s "$frag/idle.tsv" ]; then
    {
        echo "| server | idle connections | VmRSS before → after (kB) | bytes / connection | round trips checked afterwards |"
        echo "| --- | ---: | ---: | ---: | ---: |"
        awk -F'\t' '{ printf "| %s | %s | %s → %s | **%s** | %s |\n", $1, $2, $3, $4, $5, $6 }' "$frag/idle.tsv"
    } >"$frag/IDLE_TABLE"
    awk -F'\t' '{ print $1 "\t" $5 }' "$frag/idle.tsv" >"$frag/idle.dat"
    gnuplot -e "data='$frag/idle.dat'; out='$img/bench-idle-rss.png'; ttl='Server RSS per idle connection'; yl='bytes per connection'" \
        "$here/report/bars.gp"
fi

# --- idlelat ---------------------------------------------------------------------------

# Per (idle conns, server): runs, p50, p99 (median, min, max), p99.9,
# server CPU µs per message, msgs/s, seconds until the idle ones were up,
# machine busy cores.
q 'okruns("idlelat") | group_by([.idle, (.server | rank)]) | .[]
   | [.[0].idle, .[0].server, length, (map(.load.latency_us.p50) | median),
      (map(.load.latency_us.p99) | median), (map(.load.latency_us.p99) | lo),
      (map(.load.latency_us.p99) | hi), (map(.load.latency_us.p999) | median),
      (map(.load.server_cpu_us_per_msg) | median), (map(.load.msgs_per_s) | median),
      (map(.idle_ready_s) | median), (map(.machine_busy_cores) | median)]
   | map(v) | @tsv' >"$frag/idlelat.tsv"
if [ -s "$frag/idlelat.tsv" ]; then
    # p99 per backend per N, then p99(N) / p99(smallest N) and the verdict:
    # flat when every ratio is within 20 % of 1.
    awk -F'\t' '
        { if (!($1 in seenc)) { seenc[$1] = 1; cs[++nc] = $1 }
          if (!($2 in seens)) { seens[$2] = 1; ss[++ns] = $2 }
          p[$2, $1] = $5 }
        END { printf "| backend |"; for (i = 1; i <= nc; i++) printf " p99 at %s idle (µs) |", cs[i]
              for (i = 2; i <= nc; i++) printf " %s ÷ %s |", cs[i], cs[1]
              print " verdict (flat: every ratio within 20 %) |"
              printf "| --- |"; for (i = 1; i <= 2 * nc - 1; i++) printf " ---: |"; print " --- |"
              for (j = 1; j <= ns; j++) { s = ss[j]; printf "| %s |", substr(s, 6)
                  for (i = 1; i <= nc; i++) { x = p[s, cs[i]]; printf " %s |", (x == "" || x == "-") ? "-" : sprintf("%.0f", x) }
                  b = p[s, cs[1]]; worst = 1; wn = ""; miss = 0
                  for (i = 2; i <= nc; i++) { x = p[s, cs[i]]
                      if (x == "" || x == "-" || b == "" || b == "-" || b + 0 == 0) { printf " - |"; miss = 1; continue }
                      r = x / b; printf " %.2f× |", r
                      d = r > 1 ? r - 1 : 1 - r; if (wn == "" || d > worst) { worst = d; wr = r; wn = cs[i] } }
                  if (nc < 2 || wn == "") v = "not measured"
                  else if (worst <= 0.2 && !miss) v = sprintf("**flat** (furthest: %.2f× at %s)", wr, wn)
                  else v = sprintf("**not flat** (furthest: %.2f× at %s)", wr, wn)
                  if (s == "muxd-poll") v = v ", expected to grow"
                  print " " v " |" } }' "$frag/idlelat.tsv" >"$frag/IDLELAT_RATIOS"
    {
        echo "| idle conns | backend | runs | p50 (µs) | p99 (µs): median (min–max) | p99.9 (µs) | server CPU µs / msg | msgs/s | idle up after (s) | machine busy (cores) |"
        echo "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
        awk -F'\t' 'function f(x, fmt) { return x == "-" ? "-" : sprintf(fmt, x) }
            { printf "| %s | %s | %s | %s | **%s** (%s–%s) | %s | %s | %s | %s | %s |\n", $1, substr($2, 6), $3,
                f($4, "%.0f"), f($5, "%.0f"), f($6, "%.0f"), f($7, "%.0f"), f($8, "%.0f"), f($9, "%.2f"),
                f($10, "%.0f"), f($11, "%.2f"), f($12, "%.2f") }' "$frag/idlelat.tsv"
    } >"$frag/IDLELAT_TABLE"
    series "$frag/idlelat.tsv" 1 5 | sed '1s/muxd-//g' >"$frag/idlelat-p99.dat"
    lines_plot "$frag/idlelat-p99.dat" "$img/bench-idlelat-p99.png" \
        "p99 of the active echo clients vs idle connections beside them (pinned)" "idle connections" "p99 latency (µs)" 0
fi

# --- chat ------------------------------------------------------------------------------

q 'okruns("chat") | group_by([.members, (.server | rank)]) | .[]
   | [.[0].members, .[0].server, length, (map(.load.deliveries_per_s) | median),
      (map(.load.latency_us.p50) | median), (map(.load.latency_us.p99) | median),
      (map(.load.server_cpu_us_per_delivery) | median), (map(.load.server_cpu_us_per_delivery) | lo),
      (map(.load.server_cpu_us_per_delivery) | hi),
      (map((.load.lost // 0) + (.load.duplicated // 0) + (.load.reordered // 0)) | add)]
   | map(v) | @tsv' >"$frag/chat.tsv"
if [ -s "$frag/chat.tsv" ]; then
    {
        echo "| members | server | runs | deliveries/s | p50 (µs) | p99 (µs) | server CPU µs / delivery: median (min–max) | lost + duplicated + reordered (all runs) |"
        echo "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |"
        awk -F'\t' '{ printf "| %s | %s | %s | %.0f | %.0f | %.0f | **%.3f** (%.3f–%.3f) | %s |\n",
            $1, $2, $3, $4, $5, $6, $7, $8, $9, $10 }' "$frag/chat.tsv"
    } >"$frag/CHAT_TABLE"
    pivot "$frag/chat.tsv" 7 "%.3f" | sed 's/ conns |/ members |/g' >"$frag/CHAT_CPU_TABLE"
    # At the largest member count: muxd's cheapest config vs each peer.
    awk -F'\t' '
        { if ($1 + 0 >= maxm) maxm = $1 + 0; rows[NR] = $0 }
        END { for (i = 1; i <= NR; i++) { split(rows[i], f, "\t"); if (f[1] + 0 != maxm || f[7] == "-") continue
                if (f[2] ~ /^muxd-/ && (best == "" || f[7] + 0 < best + 0)) { best = f[7]; bn = f[2] }
                if (f[2] == "ngircd") ng = f[7]; if (f[2] == "inspircd") ins = f[7] }
              better = (ng != "" && (ins == "" || ng + 0 < ins + 0)) ? ng : ins
              bname = (better == ng) ? "ngircd" : "inspircd"
              print "| members | muxd'"'"'s cheapest | muxd (µs / delivery) | ngircd | muxd ÷ ngircd | inspircd | muxd ÷ inspircd | ≤ 0.6× the better peer? |"
              print "| ---: | --- | ---: | ---: | ---: | ---: | ---: | --- |"
              r1 = (best != "" && ng != "") ? sprintf("%.2f×", best / ng) : "-"
              r2 = (best != "" && ins != "") ? sprintf("%.2f×", best / ins) : "-"
              g = (best == "" || better == "") ? "not measured" : \
                  sprintf("%.2f× %s: %s", best / better, bname, best / better <= 0.6 ? "yes" : "no")
              printf "| %s | %s | %s | %s | %s | %s | %s | %s |\n", maxm, bn == "" ? "-" : bn,
                  best == "" ? "-" : sprintf("%.3f", best), ng == "" ? "-" : sprintf("%.3f", ng), r1,
                  ins == "" ? "-" : sprintf("%.3f", ins), r2, g }' "$frag/chat.tsv" >"$frag/CHAT_RATIOS"
    series "$frag/chat.tsv" 1 6 >"$frag/chat-p99.dat"
    series "$frag/chat.tsv" 1 7 >"$frag/chat-cpu.dat"
    lines_plot "$frag/chat-p99.dat" "$img/bench-chat-p99.png" \
        "Chat fan-out: p99 delivery latency (1 channel; pinned)" "channel members" "p99 latency (µs)" 1
    lines_plot "$frag/chat-cpu.dat" "$img/bench-chat-cpu.png" \
        "Chat fan-out: server CPU per delivery (lower is better)" "channel members" "server CPU µs / delivery" 0
else
    echo "_No chat runs in this result._" >"$frag/CHAT_TABLE"
fi

# --- fanout: the chat goal's setting -------------------------------------------------

# Per server (muxd-dN, inspircd): delay, server, runs, deliveries/s, p50,
# p99, CPU µs per delivery (median, min, max), lost + duplicated +
# reordered, the server's busy cores, the machine's.
q 'okruns("fanout") | group_by([(.delay_ms // 1e9), .server]) | .[]
   | [(.[0].delay_ms // "-"), .[0].server, length, (map(.load.deliveries_per_s) | median),
      (map(.load.latency_us.p50) | median), (map(.load.latency_us.p99) | median),
      (map(.load.server_cpu_us_per_delivery) | median), (map(.load.server_cpu_us_per_delivery) | lo),
      (map(.load.server_cpu_us_per_delivery) | hi),
      (map((.load.lost // 0) + (.load.duplicated // 0) + (.load.reordered // 0)) | add),
      (map(.load.server_cpu_s / .load.duration_s) | median), (map(.machine_busy_cores) | median)]
   | map(v) | @tsv' >"$frag/fanout.tsv"
if [ -s "$frag/fanout.tsv" ]; then
    q '.params.fanout | "\(.members) members, \(.senders) senders, \(.rate) msgs/s in all, 1 worker"' \
        >"$frag/fanout.setting"
    {
        echo "| fanout_delay (ms) | server | runs | deliveries/s | p50 (µs) | p99 (µs) | server CPU µs / delivery: median (min–max) | CPU × InspIRCd | p99 × InspIRCd | server busy (cores) | machine busy (cores) | lost + duplicated + reordered (all runs) |"
        echo "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
        awk -F'\t' '$2 == "inspircd" { ic = $7; ip = $6 } { rows[NR] = $0 }
            function r(a, b) { return (b == "" || b == "-" || a == "-" || b + 0 == 0) ? "-" : sprintf("%.2f×", a / b) }
            END { for (i = 1; i <= NR; i++) { split(rows[i], f, "\t")
                printf "| %s | %s | %s | %.0f | %.0f | %.0f | **%.3f** (%.3f–%.3f) | %s | %s | %.2f | %.2f | %s |\n",
                    f[1], f[2], f[3], f[4], f[5], f[6], f[7], f[8], f[9], r(f[7], ic), r(f[6], ip),
                    f[11], f[12], f[10] } }' \
            "$frag/fanout.tsv"
    } >"$frag/FANOUT_TABLE"
    # x = delay; muxd's series, and InspIRCd's figure as a level line.
    for col in 7 6; do
        awk -F'\t' -v c="$col" '$2 == "inspircd" { ins = $c } $2 != "inspircd" { d[++n] = $1; y[n] = $c }
            END { print "fanout_delay\tmuxd" (ins != "" ? "\tinspircd" : "")
                  for (i = 1; i <= n; i++) print d[i] "\t" y[i] (ins != "" ? "\t" ins : "") }' \
            "$frag/fanout.tsv" >"$frag/fanout-$col.dat"
    done
    lines_plot "$frag/fanout-7.dat" "$img/bench-fanout-cpu.png" \
        "Chat goal setting: server CPU per delivery vs fanout_delay (lower is better)" \
        "fanout_delay (ms)" "server CPU µs / delivery" 0 0
    lines_plot "$frag/fanout-6.dat" "$img/bench-fanout-p99.png" \
        "Chat goal setting: p99 delivery latency vs fanout_delay" "fanout_delay (ms)" "p99 latency (µs)" 0 0
else
    echo "_No fan-out runs in this result._" >"$frag/FANOUT_TABLE"
fi

# --- heavy -------------------------------------------------------------------------------

q 'okruns("heavy") | group_by(.config) | .[]
   | [.[0].config, .[0].workers, .[0].offload, .[0].heavy_clients, .[0].server, length,
      (map(.load.latency_us.p50) | median), (map(.load.latency_us.p99) | median),
      (map(.load.latency_us.p99) | lo), (map(.load.latency_us.p99) | hi),
      (map(.load.latency_us.p999) | median), (map(.load.msgs_per_s) | median),
      (map(if .heavy_clients > 0 then .load.heavy.requests_per_s else null end) | median),
      (map(.load.server_cpu_s / .load.duration_s) | median)]
   | map(v) | @tsv' >"$frag/heavy.tsv"
if [ -s "$frag/heavy.tsv" ]; then
    {
        echo "| configuration | backend | runs | light p50 (µs) | light p99 (µs): median (min–max) | light p99.9 (µs) | light msgs/s | heavy requests/s | server CPU (cores) |"
        echo "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
        awk -F'\t' '{ h = $4 > 0 ? "1 heavy client" : "no heavy client"
            printf "| (%s) workers = %s, offload = %s, %s | %s | %s | %.0f | **%.0f** (%.0f–%.0f) | %.0f | %.0f | %s | %s |\n",
                $1, $2, $3, h, substr($5, 6), $6, $7, $8, $9, $10, $11, $12,
                $13 == "-" ? "-" : sprintf("%.1f", $13), $14 == "-" ? "-" : sprintf("%.2f", $14) }' "$frag/heavy.tsv"
        echo
        awk -F'\t' '$1 == "c" { c = $8 } $1 == "d" { d = $8 }
            END { if (c == "" || d == "" || c == "-" || d == "-" || d == 0) { print "Goal (light p99 of (c) within 2× of (d)): not measured."; exit }
                  printf "Goal, light p99 of (c) within 2× of (d): %.0f / %.0f µs = %.2f×, **%s**.\n",
                      c, d, c / d, c <= 2 * d ? "met" : "not met" }' "$frag/heavy.tsv"
    } >"$frag/HEAVY_TABLE"
    awk -F'\t' '{ printf "(%s) %s worker%s, offload %s%s\t%s\n", $1, $2, ($2 > 1 ? "s" : ""), $3, ($4 > 0 ? "" : ", no heavy"), $8 }' "$frag/heavy.tsv" >"$frag/heavy.dat"
    gnuplot -e "data='$frag/heavy.dat'; out='$img/bench-heavy-p99.png'; ttl='Light clients p99 beside a SPIN 50 client'; yl='light p99 latency (µs)'" \
        "$here/report/bars.gp"
fi

# --- summary, failures, notes ---------------------------------------------------------------

q '[.runs[] | select(.ok | not)] | .[] | "- FAILED: \(.section) \(.server) \(del(.section, .server, .ok, .load, .stderr, .machine_busy_cores) | tojson): \(.stderr // "" | gsub("\n"; " "))"' \
    >"$frag/FAILURES"
q '.notes[] | "- \(.)"' >>"$frag/FAILURES"
[ -s "$frag/FAILURES" ] || echo "- none: every run passed its checks." >"$frag/FAILURES"

"$here/report/summary.sh" "$frag" >"$frag/SUMMARY"

# --- fill in the template ------------------------------------------------------------------

rel_img="$(realpath --relative-to="$(dirname "$(realpath "$doc")")" "$img")"
rel_result="$(realpath --relative-to="$root" "$result" 2>/dev/null || echo "$result")"
case "$rel_result" in ../*) rel_result=$result ;; esac
# shellcheck disable=SC2016 # $img and $res are jq variables
q '
  [["DATE", (.started | .[:10])], ["STARTED", .started], ["SECONDS", (.seconds | tostring)],
   ["REV", .muxd.rev], ["REV_SHORT", .muxd.rev[:7]], ["MUXD_VERSION", .muxd.version],
   ["DAEMON", .muxd.daemon], ["LOAD_VERSION", .load.version],
   ["CPU", .machine.cpu], ["NPROC", (.machine.nproc | tostring)], ["KERNEL", .machine.kernel],
   ["MEM_GB", (.machine.mem_kb / 1048576 | round | tostring)], ["FD_LIMIT", .machine.fd_limit],
   ["NGIRCD", .peers.ngircd], ["INSPIRCD", .peers.inspircd], ["LIBEVENT", .peers.libevent],
   ["REPS", (.params.reps | tostring)], ["WARMUP", (.params.warmup_s | tostring)],
   ["DURATION", (.params.duration_s | tostring)],
   ["ECHO_SIZE", (.params.echo.size | tostring)], ["ECHO_DEPTH", (.params.echo.depth | tostring)],
   ["ECHO_CONNS", (.params.echo.conns | map(tostring) | join(", "))],
   ["UNPINNED_CONNS", (.params.echo.unpinned_conns | tostring)],
   ["MATRIX_CONNS", (.params.matrix.conns // [] | map(tostring) | join(", "))],
   ["MATRIX_WARMUP", (.params.matrix.warmup_s // "-" | tostring)],
   ["MATRIX_DURATION", (.params.matrix.duration_s // "-" | tostring)],
   ["IDLE_CONNS", (.params.idle.conns | tostring)], ["IDLE_HOLD", (.params.idle.hold_s | tostring)],
   ["IDLELAT_CONNS", (.params.idlelat.conns // [] | map(tostring) | join(", "))],
   ["IDLELAT_ACTIVE", (.params.idlelat.active // "-" | tostring)],
   ["IDLELAT_WARMUP", (.params.idlelat.warmup_s // "-" | tostring)],
   ["IDLELAT_DURATION", (.params.idlelat.duration_s // "-" | tostring)],
   ["IDLELAT_SRC_IPS", (.params.idlelat.src_ips // "-" | tostring)],
   ["CHAT_MEMBERS", (.params.chat.members | map(tostring) | join(", "))],
   ["CHAT_SENDERS", (.params.chat.senders | tostring)], ["CHAT_RATE", (.params.chat.rate | tostring)],
   ["CHAT_DRAIN", (.params.chat.drain_s | tostring)],
   ["CHAT_CONNECT_RATE", (.params.chat.connect_rate | tostring)],
   ["NGIRCD_CONNECT_RATE", (.params.chat.ngircd_connect_rate // .params.chat.connect_rate | tostring)],
   ["FANOUT_MEMBERS", (.params.fanout.members // "-" | tostring)],
   ["FANOUT_SENDERS", (.params.fanout.senders // "-" | tostring)],
   ["FANOUT_RATE", (.params.fanout.rate // "-" | tostring)],
   ["FANOUT_BACKEND", (.params.fanout.backend // "-")],
   ["FANOUT_DELAYS", (.params.fanout.delays_ms // [] | map(tostring) | join(", "))],
   ["FANOUT_DURATION", (.params.fanout.duration_s // "-" | tostring)],
   ["HEAVY_LIGHT", (.params.heavy.light | tostring)], ["HEAVY_LINE", .params.heavy.line],
   ["HEAVY_WARMUP", (.params.heavy.warmup_s | tostring)],
   ["HEAVY_DURATION", (.params.heavy.duration_s | tostring)],
   ["QUICK", (if .quick then " (quick mode: short windows, one run per point; only a check that the tools work)" else "" end)],
   ["IMG", $img], ["RESULT", $res]][] | @tsv' --arg img "$rel_img" --arg res "$rel_result" >"$frag/vars.tsv"

awk -F'\t' -v frag="$frag" '
    FNR == NR { vars[$1] = $2; next }
    /^@[A-Z_]+@$/ { f = frag "/" substr($0, 2, length($0) - 2)
        if ((getline line < f) > 0) { print line; while ((getline line < f) > 0) print line; close(f) }
        else print "_Not measured in this run._"
        next }
    { out = ""; rest = $0
      while (match(rest, /@[A-Z_]+@/)) { k = substr(rest, RSTART + 1, RLENGTH - 2)
          out = out substr(rest, 1, RSTART - 1) ((k in vars) ? vars[k] : "@" k "@")
          rest = substr(rest, RSTART + RLENGTH) }
      print out rest }' "$frag/vars.tsv" "$here/report/benchmarks.md.in" >"$doc.tmp"
mv "$doc.tmp" "$doc"
echo "$me: wrote $doc and $img/bench-*.png" >&2
