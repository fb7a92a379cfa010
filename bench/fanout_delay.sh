#!/usr/bin/env bash
# bench/fanout_delay.sh - what fanout_delay trades: server CPU per chat
# delivery against p99 delivery latency, at several message rates.
#
#   bench/fanout_delay.sh [--rounds N] [--quick] [--backend NAME]
#                         [--build DIR] [--out DIR] [--keep-tmp]
#                         [--rates "R ..."] [--delays "MS ..."]
#
# One channel of 1000 members (--quick: 100) on one worker (muxd -w 1),
# 20 of them sending, at 100, 250 and 1000 messages/s in all, with
# fanout_delay 0, 1, 2 and 5 ms: twelve cells. The server runs on CPU 0
# and muxd-load on CPU 1 (taskset). Each of N rounds (default 3) runs
# every cell once, in forward order in odd rounds and backward in even
# ones, so that drift in the machine's load falls on all delays alike;
# the result of a cell is the median of its rounds. Per cell: muxd-load
# chat's server_cpu_us_per_delivery (the server's utime + stime over the
# window, /proc, in 10 ms ticks) and its p99 delivery latency. InspIRCd,
# when installed (scripts/setup.sh bench), serves the same load at each
# rate in every round (bench/peers/inspircd.conf.in), and the table gives
# muxd's ratios to it.
#
# Writes DIR/fanout_delay.json (every run, and the medians) and
# DIR/fanout_delay.png (two panels: CPU per delivery vs delay and p99 vs
# delay, one line per rate) into --out DIR (default a new
# /tmp/muxd-fanout-delay.*). --quick: 100 members, 1 round, 2 s windows:
# checks that everything works; its numbers mean little. Exit status 1 if
# any run failed (muxd-load's verdict: every delivery, once, in order).
#
# Programs: muxd and muxd-load built in Release mode from the working tree
# in build-bench/ (as suite.sh does), or those of --build DIR. The
# backend: epoll unless --backend NAME. --rates and --delays replace the
# lists of rates (messages/s in all) and of delays (ms) with the given
# ones, to look closer at one part of the plot.
set -euo pipefail

# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"

senders=20 connect_rate=2000
rates=(100 250 1000)
delays=(0 1 2 5)
args=()
while [ $# -gt 0 ]; do
    case "$1" in
    --rates) read -ra rates <<<"${2:?--rates needs a list}"; shift ;;
    --delays) read -ra delays <<<"${2:?--delays needs a list}"; shift ;;
    *) args+=("$1") ;;
    esac
    shift
done
round_options ${args[@]+"${args[@]}"}
for v in "${rates[@]}" "${delays[@]}"; do
    [[ $v =~ ^[0-9]+$ ]] || die "rates and delays are whole numbers, not '$v'"
done

command -v jq >/dev/null || die "jq is needed (scripts/setup.sh bench)"
command -v gnuplot >/dev/null || die "gnuplot is needed (scripts/setup.sh bench)"
command -v taskset >/dev/null || die "taskset is needed (util-linux)"
[ "$(nproc)" -ge 2 ] || die "needs 2 CPUs: the server on CPU 0, the load on CPU 1"
ulimit -n "$(ulimit -Hn)"

track_processes muxd-fanout-delay
[ "$keep_tmp" = 0 ] || note "keeping $tmp"

# --- programs ------------------------------------------------------------------

round_programs

# One config per delay: lib.sh's chat listener and the key.
for d in "${delays[@]}"; do
    cat >"$tmp/chat-$d.conf" <<EOF
; bench/fanout_delay.sh: one chat listener, no flood limit
[listener chat]
listen = 127.0.0.1:0
protocol = chat
server_name = muxd.test
flood_rate = 0
fanout_delay = ${d}ms
EOF
done

# --- runs ------------------------------------------------------------------------

runs="$tmp/runs.jsonl"
: >"$runs"
failures=0
pin_server=(taskset -c 0) pin_client=(taskset -c 1)
limit="$(awk -v w="$warmup" -v d="$duration" -v r="$drain" -v m="$members" \
    'BEGIN { print int(w + d + r + m / 100 + 60) }')"

run_cell() { # rate delay|inspircd round
    local server=$backend params="{\"rate\":$1,\"delay_ms\":$2,\"members\":$members}"
    if [ "$2" = inspircd ]; then
        start_irc_peer inspircd || die "inspircd did not start: $start_err"
        server=inspircd params="{\"rate\":$1,\"delay_ms\":null,\"members\":$members}"
    else
        start_muxd "$tmp/chat-$2.conf" chat -w 1 -b "$backend" ||
            die "muxd did not start: $start_err"
        [ "$sbackend" = "$backend" ] || die "muxd runs $sbackend, not $backend"
    fi
    run_load chat "$server" "$params" "$3" \
        "$limit" chat -c "$members" -t 1 --channels 1 --senders "$senders" --rate "$1" \
        --connect-rate "$connect_rate" --warmup "$warmup" --duration "$duration" \
        --drain "$drain"
    # muxd must exit 0 on SIGTERM; InspIRCd exits as it likes (10).
    stop_server "$([ "$server" = inspircd ] && echo 0 || echo 1)"
    progress
}

# InspIRCd beside them, when installed (scripts/setup.sh bench): the same
# load, its CPU per delivery and p99 the reference of the ratios.
peer=()
command -v inspircd >/dev/null && peer=(inspircd) || note "no inspircd: muxd alone"
cells=()
for r in "${rates[@]}"; do
    for d in "${delays[@]}" ${peer[@]+"${peer[@]}"}; do cells+=("$r $d"); done
done
started="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
t0=$SECONDS
for ((round = 1; round <= rounds; round++)); do
    note "round $round of $rounds"
    order=("${cells[@]}")
    if ((round % 2 == 0)); then
        order=()
        for ((i = ${#cells[@]} - 1; i >= 0; i--)); do order+=("${cells[i]}"); done
    fi
    for cell in "${order[@]}"; do
        read -r rate delay <<<"$cell"
        run_cell "$rate" "$delay" "$round"
    done
done
note "runs took $((SECONDS - t0)) s"

# --- results -------------------------------------------------------------------------

if [ -n "$out" ]; then mkdir -p "$out"; else out="$(mktemp -d /tmp/muxd-fanout-delay.XXXXXX)"; fi
out="$(realpath "$out")"
result="$out/fanout_delay.json" png="$out/fanout_delay.png"

jq -s --arg started "$started" --arg daemon "$daemon_desc" --arg backend "$backend" \
    --argjson quick "$([ "$quick" = 1 ] && echo true || echo false)" \
    --argjson rounds "$rounds" --argjson failures "$failures" \
    --arg load_version "$("$load" --version 2>&1 | head -n1 || true)" \
    --arg cpu "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)" \
    --arg kernel "$(uname -r)" \
    --argjson params "{\"warmup_s\":$warmup,\"duration_s\":$duration,\"drain_s\":$drain,
                       \"members\":$members,\"senders\":$senders,\"workers\":1}" '
    def median: sort | if length == 0 then null
                       elif length % 2 == 1 then .[length / 2 | floor]
                       else (.[length / 2 - 1] + .[length / 2]) / 2 end;
    {tool: "bench/fanout_delay.sh", started: $started, quick: $quick, rounds: $rounds,
     daemon: $daemon, backend: $backend, machine: {cpu: $cpu, kernel: $kernel},
     load: {version: $load_version}, params: $params, failures: $failures,
     peer: (map(select(.server == "inspircd")) | group_by(.rate) | map(
         [.[] | select(.ok)] as $ok
         | {rate: .[0].rate, server: "inspircd", runs: ($ok | length),
            cpu_us_per_delivery: ($ok | map(.load.server_cpu_us_per_delivery) | median),
            p99_us: ($ok | map(.load.latency_us.p99) | median)})),
     medians: (map(select(.server != "inspircd")) | group_by([.rate, .delay_ms]) | map(
         [.[] | select(.ok)] as $ok
         | {rate: .[0].rate, delay_ms: .[0].delay_ms, runs: ($ok | length),
            cpu_us_per_delivery: ($ok | map(.load.server_cpu_us_per_delivery) | median),
            p99_us: ($ok | map(.load.latency_us.p99) | median)})),
     runs: .}' "$runs" >"$result"

# One table per panel: delay, then a column per rate ("?" = no passing run).
table() { # field
    jq -r '
        (.medians | map(.rate) | unique) as $rates
        | (["delay_ms"] + ($rates | map("\(.) msg/s"))) | @tsv' "$result"
    jq -r --arg f "$1" '
        (.medians | map(.rate) | unique) as $rates
        | .medians | group_by(.delay_ms)[]
        | [.[0].delay_ms] + [$rates[] as $r | (map(select(.rate == $r))[0][$f]
                                               | if . == null then "?" else . end)]
        | @tsv' "$result"
}
table cpu_us_per_delivery >"$tmp/cpu.tsv"
table p99_us >"$tmp/p99.tsv"
gnuplot -e "cpu='$tmp/cpu.tsv'; p99='$tmp/p99.tsv'; out='$png'; n=$((${#rates[@]} + 1));
            ttl='$members members, $senders senders, muxd -w 1 ($backend)'" - <<'EOF'
set terminal pngcairo size 1200,500 font "DejaVu Sans,11" noenhanced
set output out
set datafile separator "\t"
set datafile missing "?"
set linetype 1 lc rgb "#1f77b4"
set linetype 2 lc rgb "#d62728"
set linetype 3 lc rgb "#2ca02c"
set key top right
set grid
set xlabel "fanout_delay (ms)"
set yrange [0:*]
set multiplot layout 1,2 title ttl
set title "server CPU per delivery"
set ylabel "us"
plot for [i=2:n] cpu using 1:i with linespoints lt (i-1) lw 2 pt (i-1) title columnheader(i)
set title "p99 delivery latency"
set ylabel "ms"
plot for [i=2:n] p99 using 1:(column(i) / 1000.0) with linespoints lt (i-1) lw 2 pt (i-1) \
     title columnheader(i)
unset multiplot
EOF
[ -s "$png" ] || die "gnuplot made no $png"

jq -r 'def r: if . == null then "-" else (. * 100 | round / 100 | tostring) end;
    (.peer | map({(.rate | tostring): .}) | add // {}) as $p
    | "rate\tdelay_ms\tCPU us/delivery\tp99 us\truns\tCPU x inspircd\tp99 x inspircd",
    (.medians | sort_by(.rate, .delay_ms)[]
     | $p[.rate | tostring] as $ref
     | "\(.rate)\t\(.delay_ms)\t\(.cpu_us_per_delivery | r)\t\(.p99_us | r)\t\(.runs)\t"
       + "\(if $ref then (.cpu_us_per_delivery / $ref.cpu_us_per_delivery | r) else "-" end)\t"
       + "\(if $ref then (.p99_us / $ref.p99_us | r) else "-" end)"),
    (.peer | sort_by(.rate)[]
     | "\(.rate)\tinspircd\t\(.cpu_us_per_delivery | r)\t\(.p99_us | r)\t\(.runs)\t1\t1")' \
    "$result" | column -t -s $'\t'
note "wrote $result and $png"
[ "$failures" = 0 ] || { note "$failures run(s) failed"; exit 1; }
