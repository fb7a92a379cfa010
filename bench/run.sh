#!/usr/bin/env bash
# bench/run.sh - compares muxd's backends (epoll, io_uring, poll) with
# bench/echo_bench and prints Markdown tables.
#
#   bench/run.sh [--quick] [--rev COMMIT | --muxd PATH] [--client PATH] [--out DIR]
#
# The daemon is build-bench/muxd, built from the working tree; --rev builds
# that commit's daemon instead (from git archive, in build-bench/rev-SHA),
# so a tree being edited does not end up in the numbers; --muxd takes any
# binary. The client is build-bench/bench/echo_bench.
#
# Load matrix: message size (64 B, 4 KiB) x connections (100, 1000) x depth
# (1, 16). Each run starts a fresh daemon with one worker pinned to CPU 0
# and the client pinned to CPU 1, warms up 1 s and measures 3 s. For each
# cell the three backends run one after another (interleaved, in an order
# rotated every repetition), so they share the same machine noise; every
# cell runs 3 times and the tables show the median of each metric.
# Then idle memory: a daemon with 2 workers, VmRSS before and after 15,000
# idle connections (3 echo_bench --idle processes of 5,000, well under the
# 20,000 descriptor limit), once for connections that never sent a byte and
# once for connections that did one round trip each.
#
# --quick: 1 s warm-up, 1 s measured, 2 cells, 1 repetition, 3 x 1,000 idle
# connections; only checks that everything works.
#
# Writes bench/results/DATE-backends.json (every run, the medians, the
# machine) and DATE-backends.md (the tables); --quick writes
# DATE-backends-quick.*; a later run on the same day adds -2, -3...
# Exit status 1 if any run failed (echo mismatch, early close, a daemon
# that would not start or stop cleanly).
set -euo pipefail

# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"

while [ $# -gt 0 ]; do
    common_opt "$@"
    [ "$took" != 0 ] || bad_arg "$1"
    shift "$took"
done

backends=(epoll io_uring poll)
if [ "$quick" = 1 ]; then
    cells=("64 100 1" "4096 1000 16")
    reps=1 warmup=1 measure=1 idle_procs=3 idle_per_proc=1000
else
    cells=()
    for size in 64 4096; do
        for conns in 100 1000; do
            for depth in 1 16; do cells+=("$size $conns $depth"); done
        done
    done
    reps=3 warmup=1 measure=3 idle_procs=3 idle_per_proc=5000
fi
idle_total=$((idle_procs * idle_per_proc))

track_processes muxd-bench

# --- build and check the ground ------------------------------------------

build_programs
command -v taskset >/dev/null || die "taskset is needed (util-linux)"
[ "$(nproc)" -ge 2 ] || die "needs 2 CPUs: the server on CPU 0, the client on CPU 1"
fd_limit="$(ulimit -Hn)"
[ "$fd_limit" = unlimited ] || [ "$fd_limit" -gt $((idle_total + 100)) ] ||
    die "the daemon needs more than $idle_total descriptors (hard limit $fd_limit)"

cat >"$tmp/muxd.conf" <<'EOF'
; bench/run.sh: defaults except the address; workers and backend come
; from the command line.
[listener bench]
listen = 127.0.0.1:0
protocol = echo
mode = raw
EOF

# --- the daemon -----------------------------------------------------------

# Starts muxd with backend $1 and $2 workers, pinned to CPU $3 if given;
# sets dpid and dport.
start_daemon() { # backend workers [cpu]
    local pin=()
    if [ -n "${3:-}" ]; then pin=(taskset -c "$3"); fi
    start_muxd "$tmp/muxd-$((++nstarts)).log" bench "$1" \
        ${pin[@]+"${pin[@]}"} "$muxd" -c "$tmp/muxd.conf" -w "$2" -b "$1"
}


# --- one load run -----------------------------------------------------------

runs_json="$tmp/runs.jsonl"   # every run, as echo_bench printed it plus labels
runs_tsv="$tmp/runs.tsv"      # size conns depth backend rep rate p99 cpu/M client_cpu other_cpu
: >"$runs_json"
: >"$runs_tsv"

run_one() { # backend size conns depth rep
    local b=$1 size=$2 conns=$3 depth=$4 rep=$5 json rc=0
    start_daemon "$b" 1 0
    timeout -k 5 $((warmup + measure + 40)) taskset -c 1 "$client" -c "$conns" -s "$size" \
        -d "$depth" -t "$measure" --warmup "$warmup" --json --server-pid "$dpid" \
        "127.0.0.1:$dport" >"$tmp/run.json" 2>"$tmp/run.err" || rc=$?
    stop_daemon
    record_run "$rc" "$b size=$size conns=$conns depth=$depth rep=$rep" \
        "\"backend\":\"$b\",\"rep\":$rep" || return 0
    local other
    other="$(other_load "$json")"
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$size" "$conns" "$depth" "$b" "$rep" \
        "$(jfield "$json" msgs_per_s)" "$(jfield "$json" lat_p99_us)" \
        "$(jfield "$json" server_cpu_s_per_mmsg)" "$(jfield "$json" client_cpu_s)" "$other" >>"$runs_tsv"
    printf '  %-8s %5s B %4s conns depth %2s rep %s: %9.0f msg/s  p99 %8.0f us  server %.3f CPU s/M msgs\n' \
        "$b" "$size" "$conns" "$depth" "$rep" "$(jfield "$json" msgs_per_s)" \
        "$(jfield "$json" lat_p99_us)" "$(jfield "$json" server_cpu_s_per_mmsg)" >&2
}

# Rotates the backend order each repetition, so none always goes first.
run_cell() { # size conns depth
    local rep i n=${#backends[@]}
    for ((rep = 1; rep <= reps; rep++)); do
        for ((i = 0; i < n; i++)); do
            run_one "${backends[$(((i + rep - 1) % n))]}" "$1" "$2" "$3" "$rep"
        done
    done
}

# --- idle memory --------------------------------------------------------------

rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
nfds() { find "/proc/$1/fd" -mindepth 1 -maxdepth 1 | wc -l; }

# Idle clients of the current measurement: pids, and their output in
# $tmp/idle-INDEX.out / .err.
idle_cs=()

# Waits until every idle client printed "ready N" and the daemon holds all
# the connections; returns 1 on a timeout or a dead client.
idle_settle() { # fd_base
    local base=$1 i t ok=0
    for ((t = 0; t < 900 && ok == 0; t++)); do
        ok=1
        for i in "${!idle_cs[@]}"; do
            grep -q "^ready " "$tmp/idle-$i.out" || ok=0
            alive "${idle_cs[$i]}" || { cat "$tmp/idle-$i.err" >&2; return 1; }
        done
        [ "$ok" = 1 ] || sleep 0.1
    done
    [ "$ok" = 1 ] || return 1
    for ((t = 0; t < 300; t++)); do
        [ "$(nfds "$dpid")" -ge $((base + idle_total)) ] && break
        sleep 0.1
    done
    [ "$(nfds "$dpid")" -ge $((base + idle_total)) ] || return 1
    sleep 1 # the workers build each connection after the acceptor's hand-off
}

# Stops the idle clients (SIGTERM: each then checks every connection with a
# round trip) and checks they all verified.
idle_release() {
    local i c bad=0
    for c in "${idle_cs[@]}"; do kill -TERM "$c"; done
    for i in "${!idle_cs[@]}"; do
        c="${idle_cs[$i]}"
        if ! reap "$c" 600; then
            kill -KILL "$c" 2>/dev/null || true
            reap "$c" 20 || true
            bad=1
        elif [ "$reaped_rc" != 0 ] || ! grep -q "^verified $idle_per_proc" "$tmp/idle-$i.out"; then
            cat "$tmp/idle-$i.err" >&2
            bad=1
        fi
    done
    return $bad
}

# Half a second of 4 KiB echoes on 64 connections: the daemon's per-worker
# pools (io_uring's receive buffers, the spare output chunks, malloc's
# arenas) are then resident before the baseline is taken, so the
# round-trip variant charges the connections with only their own growth.
warm_daemon() {
    timeout -k 5 30 "$client" -c 64 -s 4096 -d 4 -t 0.5 --warmup 0 "127.0.0.1:$dport" \
        >/dev/null 2>"$tmp/warm.err" || { cat "$tmp/warm.err" >&2; die "warming the daemon failed"; }
    sleep 0.5 # its 64 connections close on the worker side
}

idle_tsv="$tmp/idle.tsv" # backend warm before_kb after_kb bytes_per_conn
: >"$idle_tsv"

idle_one() { # backend warm(0|1)
    local b=$1 warm=$2 before after base i flags=() what="never used"
    start_daemon "$b" 2
    sleep 0.5
    if [ "$warm" = 1 ]; then
        flags=(--warm)
        what="after a round trip"
        warm_daemon
    fi
    before="$(rss_kb "$dpid")"
    base="$(nfds "$dpid")"
    idle_cs=()
    for ((i = 0; i < idle_procs; i++)); do
        "$client" --idle -c "$idle_per_proc" ${flags[@]+"${flags[@]}"} "127.0.0.1:$dport" \
            </dev/null >"$tmp/idle-$i.out" 2>"$tmp/idle-$i.err" &
        idle_cs+=("$!")
        pids+=("$!")
    done
    if ! idle_settle "$base"; then
        echo "run.sh: FAILED idle $b ($what): the connections did not all come up" >&2
        failures=$((failures + 1))
        idle_release || true
        stop_daemon
        return 0
    fi
    after="$(rss_kb "$dpid")"
    if ! idle_release; then
        echo "run.sh: FAILED idle $b ($what): not every connection echoed intact" >&2
        failures=$((failures + 1))
    fi
    stop_daemon
    local per=$(((after - before) * 1024 / idle_total))
    printf '%s\t%s\t%s\t%s\t%s\n' "$b" "$warm" "$before" "$after" "$per" >>"$idle_tsv"
    printf '  idle %-8s %-18s VmRSS %s -> %s kB, %s B per connection\n' "$b" "$what:" \
        "$before" "$after" "$per" >&2
}

# --- tables ------------------------------------------------------------------

# Medians per cell and backend, one row each; plus the headline pivot of
# server CPU per million messages. Input: runs.tsv.
medians() {
    sort -t$'\t' -k1,1n -k2,2n -k3,3n -k4,4 "$runs_tsv" | awk -F'\t' -v OFS='\t' '
        function med(s,   v, n, t, i, j) {
            n = split(s, v, " ")
            for (i = 2; i <= n; i++) for (j = i; j > 1 && v[j-1] + 0 > v[j] + 0; j--) {
                t = v[j]; v[j] = v[j-1]; v[j-1] = t }
            return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
        }
        function lo(s,   v, n, m, i) { n = split(s, v, " "); m = v[1]
            for (i = 2; i <= n; i++) if (v[i] + 0 < m + 0) m = v[i]; return m }
        function hi(s,   v, n, m, i) { n = split(s, v, " "); m = v[1]
            for (i = 2; i <= n; i++) if (v[i] + 0 > m + 0) m = v[i]; return m }
        { k = $1 OFS $2 OFS $3 OFS $4
          if (!(k in n)) order[++nk] = k
          n[k]++; rate[k] = rate[k] " " $6; p99[k] = p99[k] " " $7
          cpu[k] = cpu[k] " " $8; cli[k] = cli[k] " " $9; oth[k] = oth[k] " " $10 }
        END { for (i = 1; i <= nk; i++) { k = order[i]
            print k, n[k], med(rate[k]), med(p99[k]), med(cpu[k]), lo(cpu[k]), hi(cpu[k]), med(cli[k]),
                med(oth[k]) } }'
}

table_load() { # medians.tsv
    echo "| size | conns | depth | backend | msgs/s | p99 latency (µs) | server CPU s / M msgs (min–max) | client CPU (of 1 core) | other load (cores) |"
    echo "| ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: |"
    awk -F'\t' -v m="$measure" '{ printf "| %s | %s | %s | %s | %.0f | %.0f | %.3f (%.3f–%.3f) | %.0f%% | %.2f |\n",
        $1 == 4096 ? "4 KiB" : $1 " B", $2, $3, $4, $6, $7, $8, $9, $10, 100 * $11 / m, $12 / m }' "$1"
}

table_cpu() { # medians.tsv
    echo "| size | conns | depth | epoll | io_uring | poll | io_uring vs epoll |"
    echo "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    awk -F'\t' '{ k = $1 "\t" $2 "\t" $3; if (!(k in seen)) { seen[k] = 1; order[++n] = k }
                  v[k, $4] = $8 }
        END { for (i = 1; i <= n; i++) { k = order[i]; split(k, f, "\t")
            e = v[k, "epoll"]; u = v[k, "io_uring"]; p = v[k, "poll"]
            printf "| %s | %s | %s | %s | %s | %s | %s |\n", f[1] == 4096 ? "4 KiB" : f[1] " B",
                f[2], f[3], e == "" ? "-" : sprintf("%.3f", e), u == "" ? "-" : sprintf("%.3f", u),
                p == "" ? "-" : sprintf("%.3f", p),
                (e > 0 && u != "") ? sprintf("%+.0f%%", 100 * (u - e) / e) : "-" } }' "$1"
}

table_idle() {
    echo "| backend | connections | never used: VmRSS before → after (kB) | bytes / connection | after one round trip: VmRSS before → after (kB) | bytes / connection |"
    echo "| --- | ---: | ---: | ---: | ---: | ---: |"
    awk -F'\t' -v n="$idle_total" '{ k = $1; if (!(k in seen)) { seen[k] = 1; order[++m] = k }
                                     r[k, $2] = $3 " → " $4; b[k, $2] = $5 }
        END { for (i = 1; i <= m; i++) { k = order[i]
            printf "| %s | %d | %s | %s | %s | %s |\n", k, n, r[k, 0], b[k, 0],
                ((k SUBSEP 1) in r) ? r[k, 1] : "-", ((k SUBSEP 1) in b) ? b[k, 1] : "-" } }' "$idle_tsv"
}

# --- main ----------------------------------------------------------------------

start_time="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "muxd backends: ${#cells[@]} cells x ${#backends[@]} backends x $reps runs," \
    "warm-up ${warmup} s, measured ${measure} s; server CPU 0, client CPU 1" >&2
for cell in "${cells[@]}"; do
    # shellcheck disable=SC2086 # the cell is three words on purpose
    run_cell $cell
done
echo "idle connections: $idle_procs x $idle_per_proc per backend, daemon with 2 workers" >&2
for b in "${backends[@]}"; do idle_one "$b" 0; done
for b in "${backends[@]}"; do idle_one "$b" 1; done

medians >"$tmp/medians.tsv"
result_name backends

{
    echo "# muxd backends, $start_time"
    echo
    md_machine
    echo "- daemon: \`$("$muxd" --version)\`, $daemon_desc"
    echo "- placement: muxd -w 1 pinned to CPU 0, echo_bench (1 thread) pinned to CPU 1"
    echo "- each run: warm-up $warmup s, measured $measure s; median of $reps runs per cell"
    echo
    echo "## Server CPU seconds per million messages (median; lower is better)"
    echo
    table_cpu "$tmp/medians.tsv"
    echo
    echo "## All metrics (medians of $reps runs)"
    echo
    table_load "$tmp/medians.tsv"
    echo
    echo "## Daemon RSS per idle connection (workers = 2, $idle_total connections)"
    echo
    table_idle
} >"$out/$name.md"

{
    json_head "$start_time"
    echo " \"muxd\":\"$("$muxd" --version)\",\"daemon\":\"$daemon_desc\","
    echo " \"placement\":{\"server_cpu\":0,\"client_cpu\":1,\"workers\":1,\"client_threads\":1},"
    echo " \"warmup_s\":$warmup,\"measure_s\":$measure,\"repetitions\":$reps,"
    echo " \"runs\":["
    sed '$!s/$/,/; s/^/  /' "$runs_json"
    echo " ],"
    echo " \"medians\":["
    awk -F'\t' '{ printf "%s  {\"size\":%s,\"conns\":%s,\"depth\":%s,\"backend\":\"%s\",\"runs\":%s,\"msgs_per_s\":%s,\"lat_p99_us\":%s,\"server_cpu_s_per_mmsg\":%s,\"server_cpu_s_per_mmsg_min\":%s,\"server_cpu_s_per_mmsg_max\":%s,\"client_cpu_s\":%s,\"other_cpu_s\":%s}",
                  (NR > 1 ? ",\n" : ""), $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12 } END { print "" }' "$tmp/medians.tsv"
    echo " ],"
    echo " \"idle\":["
    awk -F'\t' -v n="$idle_total" '{ printf "%s  {\"backend\":\"%s\",\"round_trip_first\":%s,\"connections\":%d,\"rss_before_kb\":%s,\"rss_after_kb\":%s,\"bytes_per_conn\":%s}",
                  (NR > 1 ? ",\n" : ""), $1, $2 ? "true" : "false", n, $3, $4, $5 } END { print "" }' "$idle_tsv"
    echo " ],"
    echo " \"failures\":$failures}"
} >"$out/$name.json"

finish
