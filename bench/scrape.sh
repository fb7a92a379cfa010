#!/usr/bin/env bash
# bench/scrape.sh - what the metrics cost: echo server CPU per message
# with no scraper and with a scrape of /metrics once a second.
#
#   bench/scrape.sh [--rounds N] [--duration S] [--rev REV] [--backend NAME]
#
# Builds REV (default HEAD) from a clean export, as ab.sh does, and runs
# muxd -w 1 with an echo listener and the admin listener on CPU 0, and
# muxd-load (1000 connections, 64 B messages, closed loop, depth 1) on
# CPU 1. Each round runs the two cells, in alternating order: "none" (no
# scraper) and "1/s" (curl GET /metrics once a second, also on CPU 1, for
# the whole window). Prints each run and the medians of server CPU per
# message (muxd-load's --server-pid reading) and of p99 latency. The
# counters themselves are always on, so their own cost is measured by
# bench/ab.sh against a commit from before them (docs/operations.md).
set -euo pipefail

# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"

rounds=5 duration=5 rev=HEAD backend=epoll
while [ $# -gt 0 ]; do
    case "$1" in
    --rounds) rounds="${2:?}"; shift ;;
    --duration) duration="${2:?}"; shift ;;
    --rev) rev="${2:?}"; shift ;;
    --backend) backend="${2:?}"; shift ;;
    -h | --help) usage; exit 0 ;;
    *) bad_arg "$1" ;;
    esac
    shift
done
command -v jq >/dev/null || die "jq is needed (scripts/setup.sh bench)"
command -v curl >/dev/null || die "curl is needed"
[ "$(nproc)" -ge 2 ] || die "needs 2 CPUs: the server on CPU 0, the load on CPU 1"
ulimit -n "$(ulimit -Hn)"
track_processes muxd-scrape
build_targets=(muxd_bin muxd_load)
build_rev "$rev" "$root/build-bench"

cat >"$tmp/scrape.conf" <<'CONF'
[listener bench]
listen = 127.0.0.1:0
protocol = echo
[admin]
listen = 127.0.0.1:0
CONF
runs="$tmp/runs.jsonl"
: >"$runs"
failures=0
pin_server=(taskset -c 0) pin_client=(taskset -c 1)

scraper() { # port: GET /metrics once a second until killed
    while :; do
        taskset -c 1 curl -s -o /dev/null "http://127.0.0.1:$1/metrics" || true
        sleep 1
    done
}

run_cell() { # scrape(none|1/s) round
    start_muxd "$tmp/scrape.conf" bench -w 1 -b "$backend" || die "muxd did not start: $start_err"
    local aport spids=""
    aport="$(sed -n 's/.*listener admin on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$slog" | head -n1)"
    if [ "$1" = 1/s ]; then
        scraper "$aport" &
        spids=$!
    fi
    run_load echo muxd "{\"scrape\":\"$1\",\"backend\":\"$backend\"}" "$2" $((duration + 60)) \
        echo -c 1000 -t 1 -s 64 -d 1 --warmup 1 --duration "$duration"
    [ -z "$spids" ] || { kill "$spids"; wait "$spids" 2>/dev/null || true; }
    stop_server 1
    progress
}

for ((round = 1; round <= rounds; round++)); do
    if ((round % 2)); then run_cell none "$round"; run_cell 1/s "$round"
    else run_cell 1/s "$round"; run_cell none "$round"; fi
done

jq -rs '
    def median: sort | if length == 0 then null
                       elif length % 2 == 1 then .[length / 2 | floor]
                       else (.[length / 2 - 1] + .[length / 2]) / 2 end;
    def r: . * 1000 | round / 1000;
    "scrape\truns\tserver us CPU/msg\tp99 us\tmsgs/s",
    (group_by(.scrape)[] | [.[] | select(.ok)] as $ok
     | [.[0].scrape, ($ok | length),
        ($ok | map(.load.server_cpu_us_per_msg) | median | r),
        ($ok | map(.load.latency_us.p99) | median | r),
        ($ok | map(.load.msgs_per_s) | median | round)] | @tsv)' "$runs" | column -t -s $'\t'
echo "$rev ($rev_sha), backend $backend, medians of $rounds round(s) of $duration s"
[ "$failures" = 0 ] || { note "$failures run(s) failed"; exit 1; }
