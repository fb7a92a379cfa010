#!/usr/bin/env bash
# bench/heavy_pool.sh - pools several bench/heavy.sh results into one
# median table.
#
#   bench/heavy_pool.sh bench/results/DATE-heavy.json bench/results/DATE-heavy-2.json ...
#
# Every run of every file counts once; each metric is the median over the
# runs of its configuration (the mean of the middle two for an even count),
# with the spread of light p99 and msgs/s. CPU columns are cores (CPU
# seconds per second of the window). Prints Markdown; needs jq.
set -euo pipefail

[ $# -gt 0 ] || { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2; }
command -v jq >/dev/null || { echo "heavy_pool.sh: needs jq" >&2; exit 1; }

echo "Medians of every run in: $*"
echo
echo "| configuration | runs | light p50 (ms) | light p99 (ms), min–max | light p99.9 (ms) | light msgs/s, min–max | heavy requests/s | server CPU (cores) | client CPU (cores) | other load (cores) |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
jq -s -r '
    def med: sort | if length % 2 == 1 then .[length / 2 | floor]
                    else (.[length / 2 - 1] + .[length / 2]) / 2 end;
    def f2: (. * 100 | round) as $m | "\($m / 100 | floor).\("0\($m % 100)"[-2:])";
    def ms: . / 1000 | f2;
    def r2: f2;
    def name: "(\(.config)) workers = \(.workers), offload = \(.offload), " +
              (if .heavy_conns then "\(.heavy_conns) heavy (\(.heavy_line))" else "no heavy" end);
    [.[] | .runs[]] | group_by(.config) | .[] |
    "| \(.[0] | name) | \(length) | \(map(.lat_p50_us) | med | ms) | " +
    "\(map(.lat_p99_us) | med | ms) (\(map(.lat_p99_us) | min | ms)–\(map(.lat_p99_us) | max | ms)) | " +
    "\(map(.lat_p999_us) | med | ms) | " +
    "\(map(.msgs_per_s) | med | round) (\(map(.msgs_per_s) | min | round)–\(map(.msgs_per_s) | max | round)) | " +
    "\(if .[0].heavy_conns then (map(.heavy_per_s) | med | r2) else "-" end) | " +
    "\(map(.server_cpu_s / .window_s) | med | r2) | \(map(.client_cpu_s / .window_s) | med | r2) | " +
    "\(map([(.machine_busy_s - .server_cpu_s - .client_cpu_s) / .window_s, 0] | max) | med | r2) |"' "$@"
