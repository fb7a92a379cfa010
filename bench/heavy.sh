#!/usr/bin/env bash
# bench/heavy.sh - the heavy-handler scenario: light echo clients beside one
# client whose every request burns 50 ms of CPU in the server, against
# muxd's work service, with the request run inline on the worker or on the
# offload pool. Prints a Markdown table.
#
#   bench/heavy.sh [--quick] [--rev COMMIT | --muxd PATH] [--client PATH] [--out DIR]
#                  [--heavy-line LINE]
#
# Each run starts a fresh daemon with one `protocol = work` listener on
# 127.0.0.1 and runs echo_bench against it: 200 light connections, each
# with one 64-byte line in flight (closed loop, every byte checked), plus
# one heavy connection sending `SPIN 50` and waiting for `DONE 50`, back to
# back. The latency and msgs/s reported are the light connections' only.
# Configurations:
#   a  workers = 1, offload = off
#   b  workers = 2, offload = off
#   c  workers = 2, offload = on  ([offload] threads = auto: 2 pool threads)
#   d  workers = 2, offload = on, no heavy client (the baseline)
# Warm-up 1 s, measured 5 s. The four run one after another (interleaved,
# in an order rotated every repetition), 3 repetitions, and the table shows
# the median of each metric. About 80 s in all.
#
# Nothing is pinned: the daemon's workers and pool threads need both CPUs
# of a 2-CPU machine, and the client shares them.
#
# --heavy-line: another request for the heavy client, such as 'SLEEP 50'
# (blocks the handler without using CPU); the default is 'SPIN 50'.
#
# --quick: 0.5 s warm-up, 1 s measured, 1 repetition; only checks that
# everything works.
#
# Writes bench/results/DATE-heavy.{md,json} (DATE-heavy-quick.* with
# --quick; a later run on the same day adds -2, -3...). Exit status 1 if
# any run failed (echo mismatch, early close, a daemon that would not start
# or stop cleanly).
set -euo pipefail

# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
heavy_line="SPIN 50"

while [ $# -gt 0 ]; do
    common_opt "$@"
    if [ "$took" = 0 ]; then
        case "$1" in
        --heavy-line) heavy_line="${2:?--heavy-line needs a request}"; took=2 ;;
        *) bad_arg "$1" ;;
        esac
    fi
    shift "$took"
done

light_conns=200 light_size=64 light_depth=1
heavy_conns=1
if [ "$quick" = 1 ]; then
    reps=1 warmup=0.5 measure=1
else
    reps=3 warmup=1 measure=5
fi

# name workers offload heavy
configs=("a 1 off 1" "b 2 off 1" "c 2 on 1" "d 2 on 0")
describe() { # name workers offload heavy
    local h="1 heavy client"
    [ "$4" = 1 ] || h="no heavy client"
    echo "workers = $2, offload = $3, $h"
}

track_processes muxd-heavy

# --- build and check the ground ------------------------------------------

build_programs

# --- the daemon -----------------------------------------------------------

# Starts muxd with $1 workers and offload $2, unpinned; sets dpid, dport,
# dlog and dbackend.
start_daemon() { # workers offload
    local n=$((++nstarts))
    local conf="$tmp/muxd-$n.conf"
    cat >"$conf" <<EOF
; bench/heavy.sh
[server]
workers = $1
[offload]
threads = auto
[listener work]
listen = 127.0.0.1:0
protocol = work
offload = $2
EOF
    start_muxd "$tmp/muxd-$n.log" work "" "$muxd" -c "$conf"
}

# --- one run ----------------------------------------------------------------

runs_json="$tmp/runs.jsonl" # every run, as echo_bench printed it plus labels
runs_tsv="$tmp/runs.tsv"    # config rep p50 p99 p999 rate heavy/s server_cpu client_cpu other
: >"$runs_json"
: >"$runs_tsv"
backends_seen=""

run_one() { # name workers offload heavy rep
    local name=$1 workers=$2 offload=$3 heavy=$4 rep=$5 json rc=0 hflags=()
    [ "$heavy" = 0 ] || hflags=(--heavy "$heavy_conns" --heavy-line "$heavy_line")
    start_daemon "$workers" "$offload"
    case " $backends_seen " in *" $dbackend "*) ;; *) backends_seen="$backends_seen $dbackend" ;; esac
    timeout -k 5 "$(awk -v w="$warmup" -v m="$measure" 'BEGIN { print int(w + m + 40) }')" \
        "$client" -c "$light_conns" -s "$light_size" -d "$light_depth" --lines \
        ${hflags[@]+"${hflags[@]}"} -t "$measure" --warmup "$warmup" --json \
        --server-pid "$dpid" "127.0.0.1:$dport" >"$tmp/run.json" 2>"$tmp/run.err" || rc=$?
    stop_daemon
    record_run "$rc" "$name ($(describe "$@")) rep $rep" \
        "\"config\":\"$name\",\"workers\":$workers,\"offload\":\"$offload\",\"rep\":$rep" || return 0
    local other
    other="$(other_load "$json")"
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$rep" \
        "$(jfield "$json" lat_p50_us -)" "$(jfield "$json" lat_p99_us -)" \
        "$(jfield "$json" lat_p999_us -)" "$(jfield "$json" msgs_per_s -)" \
        "$(jfield "$json" heavy_per_s -)" "$(jfield "$json" server_cpu_s -)" \
        "$(jfield "$json" client_cpu_s -)" "$other" >>"$runs_tsv"
    printf '  %s rep %s: light p50 %8.0f  p99 %8.0f  p99.9 %8.0f us  %7.0f msgs/s  heavy %s/s\n' \
        "$name" "$rep" "$(jfield "$json" lat_p50_us -)" "$(jfield "$json" lat_p99_us -)" \
        "$(jfield "$json" lat_p999_us -)" "$(jfield "$json" msgs_per_s -)" \
        "$(jfield "$json" heavy_per_s -)" >&2
}

# --- tables ------------------------------------------------------------------

# Median of each metric per config, in the order of configs[]. A median of
# an even count is the mean of the middle two; "-" stays "-".
medians() {
    awk -F'\t' -v OFS='\t' '
        function med(s,   v, n, t, i, j) {
            n = split(s, v, " ")
            if (v[1] == "-") return "-"
            for (i = 2; i <= n; i++) for (j = i; j > 1 && v[j-1] + 0 > v[j] + 0; j--) {
                t = v[j]; v[j] = v[j-1]; v[j-1] = t }
            return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
        }
        { k = $1; n[k]++; for (f = 3; f <= 10; f++) col[k, f] = col[k, f] " " $f }
        END { split("a b c d", order, " ")
            for (i = 1; i <= 4; i++) { k = order[i]; if (!(k in n)) continue
                line = k OFS n[k]
                for (f = 3; f <= 10; f++) line = line OFS med(col[k, f])
                print line } }' "$runs_tsv"
}

label() { # name
    local want=$1 c
    for c in "${configs[@]}"; do
        # shellcheck disable=SC2086 # a config is four words on purpose
        set -- $c
        if [ "$1" = "$want" ]; then echo "($1) $(describe "$@")"; return; fi
    done
}

table_medians() { # medians.tsv
    echo "| configuration | runs | light p50 (µs) | light p99 (µs) | light p99.9 (µs) | light msgs/s | heavy requests/s | server CPU (cores) | client CPU (cores) | other load (cores) |"
    echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    local name runs p50 p99 p999 rate hps srv cli oth
    while IFS=$'\t' read -r name runs p50 p99 p999 rate hps srv cli oth; do
        awk -v l="$(label "$name")" -v r="$runs" -v a="$p50" -v b="$p99" -v c="$p999" -v m="$rate" \
            -v h="$hps" -v s="$srv" -v k="$cli" -v o="$oth" -v w="$measure" 'BEGIN {
            printf "| %s | %s | %.0f | %.0f | %.0f | %.0f | %s | %.2f | %.2f | %.2f |\n",
                l, r, a, b, c, m, h == "-" ? "-" : sprintf("%.1f", h), s / w, k / w, o / w }'
    done <"$1"
}

table_runs() {
    echo "| configuration | rep | light p50 (µs) | light p99 (µs) | light p99.9 (µs) | light msgs/s | heavy requests/s | other load (cores) |"
    echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    awk -F'\t' -v w="$measure" '{ printf "| %s | %s | %.0f | %.0f | %.0f | %.0f | %s | %.2f |\n",
        $1, $2, $3, $4, $5, $6, $7 == "-" ? "-" : sprintf("%.1f", $7), $10 / w }' \
        <(sort -t$'\t' -k1,1 -k2,2n "$runs_tsv")
}

# The goal: light p99 with offload on and a heavy client (c) within 2x of
# the run without one (d).
goal_line() { # medians.tsv
    awk -F'\t' '$1 == "c" { c = $4 } $1 == "d" { d = $4 }
        END { if (c == "" || d == "" || d == 0) { print "goal: not measured (a run failed)"; exit }
              printf "goal (light p99 of c within 2x of d): c/d = %.0f / %.0f us = %.2fx: %s\n",
                  c, d, c / d, c <= 2 * d ? "met" : "not met" }' "$1"
}

# --- main ----------------------------------------------------------------------

start_time="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "heavy handlers: ${#configs[@]} configurations x $reps runs, warm-up $warmup s," \
    "measured $measure s; nothing pinned ($(nproc) CPUs)" >&2
for ((rep = 1; rep <= reps; rep++)); do
    n=${#configs[@]}
    for ((i = 0; i < n; i++)); do
        # shellcheck disable=SC2086 # a config is four words on purpose
        run_one ${configs[$(((i + rep - 1) % n))]} "$rep"
    done
done

medians >"$tmp/medians.tsv"
result_name heavy
goal="$(goal_line "$tmp/medians.tsv")"

{
    echo "# muxd heavy handlers, $start_time"
    echo
    md_machine
    echo "- daemon: \`$("$muxd" --version)\`, $daemon_desc; backend$backends_seen (auto)"
    echo "- load: $light_conns light connections x depth $light_depth x $light_size-byte lines," \
        "plus $heavy_conns connection sending \`$heavy_line\` back to back (except d);" \
        "one echo_bench process; nothing pinned"
    echo "- each run: warm-up $warmup s, measured $measure s; median of $reps runs per configuration"
    echo "- $goal"
    echo
    echo "## Medians"
    echo
    table_medians "$tmp/medians.tsv"
    echo
    echo "## Every run"
    echo
    table_runs
} >"$out/$name.md"

{
    json_head "$start_time"
    echo " \"muxd\":\"$("$muxd" --version)\",\"daemon\":\"$daemon_desc\",\"backend\":\"${backends_seen# }\","
    echo " \"light\":{\"conns\":$light_conns,\"size\":$light_size,\"depth\":$light_depth},"
    echo " \"heavy\":{\"conns\":$heavy_conns,\"line\":\"$heavy_line\"},"
    echo " \"warmup_s\":$warmup,\"measure_s\":$measure,\"repetitions\":$reps,"
    echo " \"runs\":["
    sed '$!s/$/,/; s/^/  /' "$runs_json"
    echo " ],"
    echo " \"medians\":["
    awk -F'\t' '{ printf "%s  {\"config\":\"%s\",\"runs\":%s,\"lat_p50_us\":%s,\"lat_p99_us\":%s,\"lat_p999_us\":%s,\"msgs_per_s\":%s,\"heavy_per_s\":%s,\"server_cpu_s\":%s,\"client_cpu_s\":%s,\"other_cpu_s\":%s}",
                  (NR > 1 ? ",\n" : ""), $1, $2, $3, $4, $5, $6, $7 == "-" ? "null" : $7, $8, $9, $10 } END { print "" }' "$tmp/medians.tsv"
    echo " ],"
    echo " \"goal\":\"$goal\","
    echo " \"failures\":$failures}"
} >"$out/$name.json"

finish
