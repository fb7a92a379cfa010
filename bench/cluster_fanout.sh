#!/usr/bin/env bash
# bench/cluster_fanout.sh - what a chat channel costs across nodes: server
# CPU per delivery and p99 of one channel on one muxd against the same
# channel spread over two muxd nodes sharing a Redis ([cluster]).
#
#   bench/cluster_fanout.sh [--rounds N] [--quick] [--backend NAME]
#                           [--build DIR] [--out DIR] [--keep-tmp]
#
# One channel of 1000 members (--quick: 100), 20 of them sending, 250
# messages/s in all, no flood limit, in two setups:
#   one: a single muxd -w 1;
#   two: a redis-server on a free loopback port (--save "" --appendonly
#        no) and two muxd -w 1 nodes, [cluster] node_name a and b, the same
#        chat listener on both; muxd-load's target is the list of both
#        nodes, so client i is on node i % 2: 500 members and 10 senders
#        each, and every message crosses Redis to the other node.
# Every server process (the muxd nodes and Redis) runs on CPU 0 and
# muxd-load on CPU 1 (taskset). Each of N rounds (default 3) runs both
# setups, one then two in odd rounds and two then one in even ones. Per
# run: muxd-load chat's server_cpu_us_per_delivery, with --server-pid the
# pids of every server process (two: both nodes and Redis, summed), and
# its p99 delivery latency. The window starts after a 1 s warm-up, by
# when every node has subscribed to the channel (a node subscribes at its
# first local JOIN, long before all clients have joined). The result of a
# setup is the median of its rounds, and the ratio two/one is taken per
# round and its median given.
#
# Setup two also splits the CPU between node a, node b and Redis (and each
# node's worker and bus threads), which muxd-load does not: the script
# waits for the first PUBLISH Redis counts (the load's go; nothing is
# published before), then reads /proc/PID/stat and /proc/PID/task/TID/stat
# at go + warm-up and go + warm-up + window, as muxd-load does for the sum.
#
# Writes DIR/cluster_fanout.json (every run, the medians and ratios) and,
# when gnuplot is there, DIR/cluster_fanout.png into --out DIR (default a
# new /tmp/muxd-cluster-fanout.*), and a table on stdout. --quick: 100
# members, 1 round, 2 s windows: checks that everything works; its numbers
# mean little. Exit status 1 if any run failed (muxd-load's verdict: every
# delivery, once, in order; or a server that did not stop cleanly).
#
# Programs: muxd and muxd-load built in Release mode from the working tree
# in build-bench/ (as suite.sh does), or those of --build DIR; redis-server
# and redis-cli (Debian's redis-server). The backend: epoll unless
# --backend NAME.
set -euo pipefail

# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"

round_options "$@"
export LC_ALL=C # EPOCHREALTIME and awk's numbers with a '.'
senders=20 rate=250 connect_rate=2000

command -v jq >/dev/null || die "jq is needed (scripts/setup.sh bench)"
command -v taskset >/dev/null || die "taskset is needed (util-linux)"
command -v redis-server >/dev/null || die "redis-server is needed (apt-get install redis-server)"
command -v redis-cli >/dev/null || die "redis-cli is needed (apt-get install redis-tools)"
[ "$(nproc)" -ge 2 ] || die "needs 2 CPUs: the servers on CPU 0, the load on CPU 1"
ulimit -n "$(ulimit -Hn)"

track_processes muxd-cluster-fanout
[ "$keep_tmp" = 0 ] || note "keeping $tmp"

# --- programs ------------------------------------------------------------------

round_programs

# The chat listener of fanout_delay.sh (no flood limit, fanout_delay 0).
chat_listener() { # server_name
    cat <<EOF
[listener chat]
listen = 127.0.0.1:0
protocol = chat
server_name = $1
flood_rate = 0
EOF
}
{ echo "; bench/cluster_fanout.sh: one node"; chat_listener muxd.test; } >"$tmp/one.conf"

# --- servers ------------------------------------------------------------------------

pin_server=(taskset -c 0) pin_client=(taskset -c 1)
server_pids=() server_logs=() # what this run started, in the order to stop it

started_server() { server_pids+=("$spid"); server_logs+=("$slog"); }

# Stops this run's servers by pid, the nodes before Redis: muxd must exit 0
# on SIGTERM (stop_server 1), Redis as it likes.
stop_servers() {
    local i
    for ((i = 0; i < ${#server_pids[@]}; i++)); do
        spid=${server_pids[i]} slog=${server_logs[i]}
        stop_server "$([[ $slog == */redis-* ]] && echo 0 || echo 1)"
    done
    server_pids=() server_logs=()
}

# redis-server on a free loopback port, in the foreground; sets rpid and
# rport. Three tries (a port may be taken between the check and the bind).
start_redis() {
    local tries
    for tries in 1 2 3; do
        rport="$(free_port)"
        launch "$tmp/redis-$((++nstarts)).log" redis-server --port "$rport" --bind 127.0.0.1 \
            --save "" --appendonly no --daemonize no
        if wait_for_line "$slog" "Ready to accept connections" 100; then
            rpid=$spid
            started_server
            return 0
        fi
        start_err="$(tail -5 "$slog")"
        stop_pid "$spid" 20 || true
    done
    die "redis-server did not start in $tries tries: $start_err"
}

# A muxd node of the cluster on Redis rport; waits for its "cluster: node
# NAME: redis ... up" line. Sets spid and sport.
start_node() { # name
    local conf="$tmp/node-$1-$((nstarts + 1)).conf"
    { echo "; bench/cluster_fanout.sh: node $1"; chat_listener "$1.muxd.test"
      printf '[cluster]\nredis = 127.0.0.1:%s\nnode_name = %s\n' "$rport" "$1"; } >"$conf"
    start_muxd "$conf" chat -w 1 -b "$backend" || die "muxd node $1 did not start: $start_err"
    started_server
    [ "$sbackend" = "$backend" ] || die "muxd runs $sbackend, not $backend"
    wait_for_line "$slog" "cluster: node $1: redis 127\\.0\\.0\\.1:$rport up" 100 ||
        die "node $1 did not reach redis on port $rport: $(tail -3 "$slog")"
}

# The stat files of node pid: the process, its worker and its bus thread.
node_stats() { # pid
    local t comm w="" b=""
    for t in /proc/"$1"/task/*; do
        comm="$(cat "$t/comm" 2>/dev/null || true)"
        [ "$comm" != muxd-w0 ] || w="$t/stat"
        [ "$comm" != muxd-bus ] || b="$t/stat"
    done
    [ -n "$w" ] || die "no muxd-w0 thread in process $1"
    [ -n "$b" ] || die "no muxd-bus thread in process $1"
    stats+=("/proc/$1/stat" "$w" "$b")
}

# --- the CPU split of setup two -----------------------------------------------------

publishes() { # redis port: PUBLISH calls so far
    local n
    n="$(redis-cli -p "$1" INFO commandstats 2>/dev/null |
        sed -n 's/^cmdstat_publish:calls=\([0-9]*\),.*/\1/p' || true)"
    echo "${n:-0}"
}

# utime + stime in ticks of each stat file, on one line.
ticks() { awk '{ sub(/^.*\) /, ""); printf "%s ", $12 + $13 }' "$@"; }

sleep_until() { # t0 seconds-after
    sleep "$(awk -v t0="$1" -v d="$2" -v now="$EPOCHREALTIME" \
        'BEGIN { s = t0 + d - now; printf "%.3f", (s > 0 ? s : 0) }')"
}

# In the background, on CPU 1: waits for the first PUBLISH (polling
# INFO every 20 ms until then, in the setup, outside any window), then
# notes in out.subs how many nodes Redis has subscribed to the channel at
# that moment (both, or the window would miss deliveries), and writes
# "start TIME TICKS..." at go + warm-up and "end TIME TICKS..." at go +
# warm-up + window into file out. Gives up when file stop appears.
split_sampler() { # out stop redis-port stat-files...
    local out=$1 stop=$2 port=$3 go
    shift 3
    until [ "$(publishes "$port")" -gt 0 ]; do
        [ ! -e "$stop" ] || return 0
        sleep 0.02
    done
    go=$EPOCHREALTIME
    redis-cli -p "$port" PUBSUB NUMSUB "muxd:chat:c:#load0" | sed -n 2p >"$out.subs"
    sleep_until "$go" "$warmup"
    echo "start $EPOCHREALTIME $(ticks "$@")" >"$out"
    sleep_until "$go" "$(awk -v w="$warmup" -v d="$duration" 'BEGIN { print w + d }')"
    echo "end $EPOCHREALTIME $(ticks "$@")" >>"$out"
}

# The sampler's two lines as JSON: seconds per stat file (names: the
# labels given), the sampled window's length.
split_json() { # file labels...
    local f=$1
    shift
    [ "$(wc -l <"$f" 2>/dev/null || echo 0)" = 2 ] || { echo null; return; }
    awk -v labels="$*" -v hz="$(getconf CLK_TCK)" '
        { t[NR] = $2; for (i = 3; i <= NF; i++) v[NR, i - 2] = $i; n = NF - 2 }
        END {
            split(labels, name, " ")
            printf "{\"window_s\":%.3f", t[2] - t[1]
            for (i = 1; i <= n; i++) printf ",\"%s\":%.3f", name[i], (v[2, i] - v[1, i]) / hz
            print "}"
        }' "$f"
}

# --- runs ------------------------------------------------------------------------

runs="$tmp/runs.jsonl"
: >"$runs"
failures=0
limit="$(awk -v w="$warmup" -v d="$duration" -v r="$drain" -v m="$members" \
    'BEGIN { print int(w + d + r + m / 100 + 60) }')"
load_args=(chat -c "$members" -t 1 --channels 1 --senders "$senders" --rate "$rate"
    --connect-rate "$connect_rate" --warmup "$warmup" --duration "$duration" --drain "$drain")

run_one() { # round
    start_muxd "$tmp/one.conf" chat -w 1 -b "$backend" || die "muxd did not start: $start_err"
    started_server
    [ "$sbackend" = "$backend" ] || die "muxd runs $sbackend, not $backend"
    run_load chat muxd "{\"setup\":\"one\",\"nodes\":1,\"members\":$members}" "$1" \
        "$limit" "${load_args[@]}"
    stop_servers
    progress
}

run_two() { # round
    local pa pb porta sampler split subs stats=() # node_stats fills stats
    start_redis
    start_node a
    pa=$spid porta=$sport
    node_stats "$pa"
    start_node b
    pb=$spid
    node_stats "$pb"
    stats+=("/proc/$rpid/stat")
    [ "$(publishes "$rport")" = 0 ] || die "redis counted a PUBLISH before the load"
    rm -f "$tmp/split" "$tmp/split.subs" "$tmp/split.stop"
    (taskset -cp 1 "$BASHPID" >/dev/null && split_sampler "$tmp/split" "$tmp/split.stop" \
        "$rport" "${stats[@]}") &
    sampler=$!
    pids+=("$sampler")
    # run_load aims at 127.0.0.1:$sport with --server-pid $spid: here the
    # list of both nodes, and the pids of both nodes and Redis.
    spid="$pa,$pb,$rpid" sport="$porta,127.0.0.1:$sport" \
        run_load chat muxd-cluster "{\"setup\":\"two\",\"nodes\":2,\"members\":$members}" "$1" \
        "$limit" "${load_args[@]}"
    progress
    touch "$tmp/split.stop"
    reap "$sampler" 100 || { stop_pid "$sampler" 20 || true; }
    split="$(split_json "$tmp/split" node_a node_a_worker node_a_bus node_b node_b_worker \
        node_b_bus redis)"
    subs="$(cat "$tmp/split.subs" 2>/dev/null || true)"
    [[ $subs =~ ^[0-9]+$ ]] || subs=null
    jq -c --argjson s "$split" --argjson n "$subs" \
        '. + {split_cpu_s: $s, subscribed_nodes_at_go: $n}' <(tail -n1 "$runs") >"$tmp/last"
    { head -n -1 "$runs"; cat "$tmp/last"; } >"$tmp/runs.new" && mv "$tmp/runs.new" "$runs"
    jq -r 'def f: . * 1000 | round / 1000 | tostring;
        (.subscribed_nodes_at_go | tostring) as $n
        | .split_cpu_s // empty
        | "    nodes subscribed at the go: \($n); CPU s over \(.window_s | f) s: "
        + "node a \(.node_a | f) (worker \(.node_a_worker | f), bus \(.node_a_bus | f)), node b \(.node_b | f) "
        + "(worker \(.node_b_worker | f), bus \(.node_b_bus | f)), redis \(.redis | f)"' \
        "$tmp/last" >&2
    stop_servers
}

started="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
t0=$SECONDS
for ((round = 1; round <= rounds; round++)); do
    note "round $round of $rounds"
    if ((round % 2 == 1)); then run_one "$round"; run_two "$round"
    else run_two "$round"; run_one "$round"; fi
done
note "runs took $((SECONDS - t0)) s"

# --- results -------------------------------------------------------------------------

if [ -n "$out" ]; then mkdir -p "$out"; else out="$(mktemp -d /tmp/muxd-cluster-fanout.XXXXXX)"; fi
out="$(realpath "$out")"
result="$out/cluster_fanout.json" png="$out/cluster_fanout.png"

jq -s --arg started "$started" --arg daemon "$daemon_desc" --arg backend "$backend" \
    --argjson quick "$([ "$quick" = 1 ] && echo true || echo false)" \
    --argjson rounds "$rounds" --argjson failures "$failures" \
    --arg load_version "$("$load" --version 2>&1 | head -n1 || true)" \
    --arg redis_version "$(redis-server --version | head -n1)" \
    --arg cpu "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)" \
    --arg kernel "$(uname -r)" --argjson nproc "$(nproc)" \
    --argjson params "{\"warmup_s\":$warmup,\"duration_s\":$duration,\"drain_s\":$drain,
                       \"members\":$members,\"senders\":$senders,\"rate\":$rate,
                       \"workers\":1,\"pinning\":\"servers on CPU 0, muxd-load on CPU 1\"}" '
    def median: sort | if length == 0 then null
                       elif length % 2 == 1 then .[length / 2 | floor]
                       else (.[length / 2 - 1] + .[length / 2]) / 2 end;
    def cpu: .load.server_cpu_us_per_delivery;
    # One process or thread of the split, in us per delivery: its CPU over the
    # sampled window, scaled to muxd-load window of duration_s.
    def per_delivery($k): .split_cpu_s[$k] * 1e6 * .load.duration_s
                          / .split_cpu_s.window_s / .load.deliveries;
    . as $all
    | [range(1; $rounds + 1) as $r
       | ($all | map(select(.rep == $r and .ok))) as $ok
       | ($ok | map(select(.setup == "one"))[0]) as $one
       | ($ok | map(select(.setup == "two"))[0]) as $two
       | select($one != null and $two != null)
       | {round: $r, cpu: (($two | cpu) / ($one | cpu)),
          p99: ($two.load.latency_us.p99 / $one.load.latency_us.p99)}] as $ratios
    | {tool: "bench/cluster_fanout.sh", started: $started, quick: $quick, rounds: $rounds,
       daemon: $daemon, backend: $backend,
       machine: {cpu: $cpu, kernel: $kernel, nproc: $nproc},
       load: {version: $load_version}, redis: $redis_version, params: $params,
       failures: $failures,
       medians: (group_by(.setup) | map(
           [.[] | select(.ok)] as $ok
           | {setup: .[0].setup, nodes: .[0].nodes, runs: ($ok | length),
              cpu_us_per_delivery: ($ok | map(cpu) | median),
              p99_us: ($ok | map(.load.latency_us.p99) | median),
              deliveries: ($ok | map(.load.deliveries) | median)}
           + if .[0].setup == "two" then
                 ([$ok[] | select(.split_cpu_s != null)]) as $s
                 | {split_us_per_delivery: (["node_a", "node_a_worker", "node_a_bus", "node_b",
                        "node_b_worker", "node_b_bus", "redis"]
                     | map({key: ., value: (. as $k | $s | map(per_delivery($k)) | median)})
                     | from_entries)}
             else {} end)),
       ratios: {per_round: $ratios,
                cpu_median: ($ratios | map(.cpu) | median),
                p99_median: ($ratios | map(.p99) | median)},
       goal: {cpu_ratio_at_most: 1.5,
              met: (($ratios | map(.cpu) | median) as $m | $m != null and $m <= 1.5)},
       runs: .}' "$runs" >"$result"

jq -r 'def r: if . == null then "-" else (. * 100 | round / 100 | tostring) end;
    "setup\tnodes\tCPU us/delivery\tp99 us\tdeliveries\truns",
    (.medians | sort_by(.nodes)[]
     | "\(.setup)\t\(.nodes)\t\(.cpu_us_per_delivery | r)\t\(.p99_us | r)\t\(.deliveries)\t\(.runs)"),
    "ratio two/one\t-\t\(.ratios.cpu_median | r)\t\(.ratios.p99_median | r)\t-\t"
      + "CPU per round: \(.ratios.per_round | map(.cpu | r) | join(" "))"' "$result" |
    column -t -s $'\t'
jq -r 'def r: if . == null then "-" else (. * 100 | round / 100 | tostring) end;
    .medians[] | select(.setup == "two") | .split_us_per_delivery // empty
    | "two, us/delivery: node a \(.node_a | r) (worker \(.node_a_worker | r), bus \(.node_a_bus | r)), "
      + "node b \(.node_b | r) (worker \(.node_b_worker | r), bus \(.node_b_bus | r)), "
      + "redis \(.redis | r)"' "$result"
jq -r '"goal: CPU per delivery two/one at most \(.goal.cpu_ratio_at_most): "
    + (if .goal.met then "met" else "NOT met" end)' "$result"

# The plot: CPU per delivery (two: stacked node a, node b, Redis) and p99.
if command -v gnuplot >/dev/null; then
    jq -r '(.medians | map({(.setup): .}) | add) as $m
        | "one\t\($m.one.cpu_us_per_delivery // 0)\t0\t0\t\($m.one.p99_us // 0)",
          "two\t\($m.two.split_us_per_delivery.node_a // 0)\t\($m.two.split_us_per_delivery.node_b // 0)\t\($m.two.split_us_per_delivery.redis // 0)\t\($m.two.p99_us // 0)"' \
        "$result" >"$tmp/plot.tsv"
    gnuplot -e "dat='$tmp/plot.tsv'; out='$png';
                ttl='$members members, $senders senders, $rate msg/s, muxd -w 1 ($backend)'" - <<'EOF'
set terminal pngcairo size 1000,450 font "DejaVu Sans,11" noenhanced
set output out
set datafile separator "\t"
set style data histograms
set style fill solid 0.8 border -1
set boxwidth 0.6
set grid ytics
set yrange [0:*]
set multiplot layout 1,2 title ttl
set title "server CPU per delivery (two: split by process)"
set ylabel "us"
set style histogram rowstacked
set key below
plot dat using 2:xtic(1) lc rgb "#1f77b4" title "muxd (one) / node a", \
     "" using 3 lc rgb "#ff7f0e" title "node b", \
     "" using 4 lc rgb "#2ca02c" title "redis"
set title "p99 delivery latency"
set ylabel "ms"
set style histogram clustered
unset key
plot dat using ($5 / 1000.0):xtic(1) lc rgb "#d62728"
unset multiplot
EOF
    [ -s "$png" ] || die "gnuplot made no $png"
    note "wrote $result and $png"
else
    note "wrote $result (no gnuplot: no plot)"
fi
[ "$failures" = 0 ] || { note "$failures run(s) failed"; exit 1; }
