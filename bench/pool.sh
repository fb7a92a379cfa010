#!/usr/bin/env bash
# bench/pool.sh - pools several bench/run.sh results into one median table.
#
#   bench/pool.sh bench/results/DATE-backends.json bench/results/DATE-backends-2.json ...
#
# On a shared machine one run.sh (3 runs per cell) can land in a noisy
# stretch; pooling every run of several run.sh invocations gives each cell
# a median over all of them. Prints Markdown: the headline table (server
# CPU seconds per million messages) and every metric with its spread.
# Needs jq. The median of an even count is the upper middle value.
set -euo pipefail

[ $# -gt 0 ] || { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2; }
command -v jq >/dev/null || { echo "pool.sh: needs jq" >&2; exit 1; }

# One object per cell and backend: count, medians, CPU spread.
pooled="$(jq -s -c '
    def med: sort | .[length / 2 | floor];
    [.[] | .runs[]] | group_by([.size, .conns, .depth, .backend]) | map({
        size: .[0].size, conns: .[0].conns, depth: .[0].depth, backend: .[0].backend,
        n: length,
        rate: (map(.msgs_per_s) | med), p99: (map(.lat_p99_us) | med),
        cpu: (map(.server_cpu_s_per_mmsg) | med),
        cpu_min: (map(.server_cpu_s_per_mmsg) | min), cpu_max: (map(.server_cpu_s_per_mmsg) | max)
    }) | sort_by(.size, .conns, .depth, .backend)' "$@")"

echo "Server CPU seconds per million messages, median of every run in: $*"
echo
echo "| size | conns | depth | epoll | io_uring | poll | io_uring vs epoll |"
echo "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
jq -r '
    def size: if . == 4096 then "4 KiB" else "\(.) B" end;
    def f3: if type == "number"
        then (. * 1000 | round) as $m | "\($m / 1000 | floor).\("00\($m % 1000)"[-3:])" else . end;
    group_by([.size, .conns, .depth]) | .[] | (map({(.backend): .cpu}) | add) as $c |
    "| \(.[0].size | size) | \(.[0].conns) | \(.[0].depth) | \($c.epoll // "-" | f3) | " +
    "\($c.io_uring // "-" | f3) | \($c.poll // "-" | f3) | " +
    (if $c.epoll and $c.io_uring
     then "\((($c.io_uring - $c.epoll) / $c.epoll * 100) | round | if . > 0 then "+\(.)" else tostring end)%"
     else "-" end) + " |"' <<<"$pooled"
echo
echo "| size | conns | depth | backend | runs | msgs/s | p99 latency (µs) | server CPU s / M msgs (min–max) |"
echo "| ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: |"
jq -r '
    def size: if . == 4096 then "4 KiB" else "\(.) B" end;
    def f3: if type == "number"
        then (. * 1000 | round) as $m | "\($m / 1000 | floor).\("00\($m % 1000)"[-3:])" else . end;
    .[] | "| \(.size | size) | \(.conns) | \(.depth) | \(.backend) | \(.n) | \(.rate | round) | " +
          "\(.p99 | round) | \(.cpu | f3) (\(.cpu_min | f3)–\(.cpu_max | f3)) |"' <<<"$pooled"
