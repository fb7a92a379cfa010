#!/usr/bin/env bash
# bench/suite.sh - the benchmark suite: muxd's backends against the peers
# of bench/peers on the same workloads, driven by muxd-load. Writes the
# raw results as JSON and regenerates docs/benchmarks.md and its plots
# (bench/report.sh).
#
#   bench/suite.sh [--quick] [--rev COMMIT | --build DIR] [--muxd PATH] [--load PATH]
#                  [--out DIR] [--only SECTIONS] [--keep-tmp]
#
# Sections (all by default; --only echo,chat,... picks some):
#   echo     closed-loop echo, 64 B, depth 1, vs connections; muxd -w 1 on
#            epoll, io_uring, poll, and the epoll_echo and libevent_echo
#            peers; server pinned to CPU 0, muxd-load to CPU 1
#   matrix   echo server CPU per message, muxd -w 1 on epoll, on io_uring,
#            and on io_uring with its receive features off (uring_incremental
#            and uring_bundles = off: what kernels before 6.10 get), in
#            every cell of 10/100/1000 connections x 64 B/4 KiB x depth
#            1/16; pinned like echo
#   unpinned the same servers at one connection count, nothing pinned
#   idle     server RSS per idle connection (VmRSS before and after)
#   idlelat  p99 of 100 active echo clients while N idle connections are
#            held open by a second muxd-load (N = 100, 1000, 5000, 15000;
#            --quick: 100, 1000); muxd -w 1 on every backend, pinned like
#            echo; needs a muxd that logs stats on SIGUSR1 (since 47a6f18)
#   chat     one channel, fan-out latency vs members at a fixed total send
#            rate; muxd (1 and 2 workers, every backend), ngircd, inspircd;
#            pinned like echo. muxd is skipped, with a note, if it rejects
#            its chat config (the chat service not built yet)
#   fanout   the chat goal's setting: one channel of 1000 members, 20 of
#            them sending at 250 messages/s in all, muxd -w 1 on io_uring
#            with fanout_delay 0 (the default), 10, 15, 20, 25 and 30 ms, and
#            InspIRCd beside it; CPU per delivery and p99 against the
#            delay, pinned like echo
#   heavy    200 light echo clients + 1 client sending SPIN 50 back to back
#            to muxd's work service; 1 or 2 workers, offload off or on;
#            nothing pinned
# In each section the servers run one after another for every point and
# repetition, in an order rotated each time, so they share the machine's
# noise; the report takes medians over the repetitions. Each run gets a
# fresh server. Full mode takes about 26 minutes, --quick under 2 (1 run
# per point, short windows, muxd on epoll alone: it only checks that
# everything works).
#
# Programs: by default build-bench/ is configured and muxd, muxd-load and
# the peers built there from the working tree; --rev COMMIT builds them all
# from a clean export of COMMIT (git archive, build-bench/rev-SHA), so
# other people's edits stay out of the numbers; --build DIR uses an
# existing build directory as it is (no building: the ctest smoke test);
# --muxd and --load override single programs.
#
# Output: DATE-suite.json (every muxd-load JSON object with its labels,
# plus the machine and parameters) in bench/results/, the report in
# docs/benchmarks.md and its plots in docs/img/. --out DIR (or BENCH_OUT=DIR)
# puts all three into DIR instead (DIR/DATE-suite.json, DIR/benchmarks.md,
# DIR/img/); --quick without --out writes into a new /tmp/muxd-bench-quick.*
# so its numbers never land in the docs. Exit status 1 if any run failed.
set -euo pipefail

# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"

quick=0 rev="" build_dir="" muxd_arg="" load_arg="" out="${BENCH_OUT:-}" only="" keep_tmp=0
while [ $# -gt 0 ]; do
    case "$1" in
    --quick) quick=1 ;;
    --rev) rev="${2:?--rev needs a commit}"; shift ;;
    --build) build_dir="$(realpath "${2:?--build needs a directory}")"; shift ;;
    --muxd) muxd_arg="$(realpath "${2:?--muxd needs a path}")"; shift ;;
    --load) load_arg="$(realpath "${2:?--load needs a path}")"; shift ;;
    --out) out="${2:?--out needs a directory}"; shift ;;
    --only) only="${2:?--only needs sections}"; shift ;;
    --keep-tmp) keep_tmp=1 ;;
    -h | --help) usage; exit 0 ;;
    *) bad_arg "$1" ;;
    esac
    shift
done
[ -z "$rev" ] || [ -z "$build_dir" ] || die "--rev and --build exclude each other"
want() { [ -z "$only" ] || [[ ",$only," == *",$1,"* ]]; }

# --- the matrix --------------------------------------------------------------------

if [ "$quick" = 1 ]; then
    # Short windows: it checks that every section and plot comes out (and
    # runs in CI), not the figures.
    reps=1 warmup=0.25 duration=0.5
    echo_conns=(10 100) unpinned_conns=100
    idle_conns=1000 idle_hold=2
    idlelat_conns=(100 1000) idlelat_warmup=0.25 idlelat_duration=0.5
    matrix_conns=(10) matrix_warmup=0.25 matrix_duration=0.5
    chat_members=(50) chat_senders=5 chat_rate=50 chat_drain=0.5 chat_connect_rate=2000
    ngircd_connect_rate=2000
    fanout_members=50 fanout_senders=5 fanout_rate=50 fanout_delays=(0 5) fanout_duration=0.5
    heavy_warmup=0.25 heavy_duration=0.5
else
    reps=3 warmup=1 duration=3
    echo_conns=(10 100 1000) unpinned_conns=100
    idle_conns=10000 idle_hold=6
    idlelat_conns=(100 1000 5000 15000) idlelat_warmup=1 idlelat_duration=5
    matrix_conns=(10 100 1000) matrix_warmup=0.5 matrix_duration=2
    chat_members=(100 300 1000) chat_senders=10 chat_rate=100 chat_drain=1 chat_connect_rate=2000
    # ngIRCd listens with a backlog of 10: at 2000 connects/s the SYNs
    # beyond it wait for retries (1, 3, 7, 15 s ...), and 1000 members
    # took 20 s to connect by hand and passed the run's bound (75 s) in
    # every suite run of 2026-12-04; at 200/s they took 5 s.
    ngircd_connect_rate=250
    fanout_members=1000 fanout_senders=20 fanout_rate=250 fanout_delays=(0 10 15 20 25 30) fanout_duration=5
    heavy_warmup=1 heavy_duration=5
fi
echo_size=64 echo_depth=1
matrix_sizes=(64 4096) matrix_depths=(1 16)
# idlelat: the active clients (echo_size, echo_depth) beside the idle ones,
# which come from 127.0.0.1 .. 127.0.0.idlelat_src_ips (ephemeral ports)
idlelat_active=100 idlelat_src_ips=4
heavy_light=200 heavy_line="SPIN 50"
backends=(epoll io_uring poll)
# The smoke test checks that every section and plot comes out, not the
# backends (the test suite runs each): one is enough there.
[ "$quick" = 0 ] || backends=(epoll)

# --- programs and the ground ----------------------------------------------------

track_processes muxd-suite
[ "$keep_tmp" = 0 ] || note "keeping $tmp"
build_root="$root/build-bench"
if [ -n "$rev" ]; then
    build_rev "$rev" "$build_root"
    daemon_desc="commit $rev_sha, a clean export built in Release mode by suite.sh --rev"
elif [ -n "$build_dir" ]; then
    use_build "$build_dir"
    daemon_desc="the build in $build_dir"
else
    build_tree "$build_root" "$root"
    use_build "$build_root"
    daemon_desc="the working tree at $(git -C "$root" rev-parse HEAD), built in Release mode"
    [ -z "$(git -C "$root" status --porcelain -- src include 2>/dev/null)" ] ||
        daemon_desc="$daemon_desc, with uncommitted changes in src/ or include/"
fi
[ -z "$muxd_arg" ] || { muxd=$muxd_arg; daemon_desc="$muxd (--muxd)"; }
[ -z "$load_arg" ] || load=$load_arg
[ -x "$muxd" ] || die "no daemon at $muxd"
[ -x "$load" ] || die "no muxd-load at $load (build target muxd_load, or --load PATH)"
command -v jq >/dev/null || die "jq is needed (scripts/setup.sh bench)"
command -v taskset >/dev/null || die "taskset is needed (util-linux)"
[ "$(nproc)" -ge 2 ] || die "needs 2 CPUs: the server on CPU 0, the load on CPU 1"
fd_limit="$(ulimit -Hn)"
ulimit -n "$fd_limit"
[ "$fd_limit" = unlimited ] || [ "$fd_limit" -gt $((idle_conns + 200)) ] ||
    die "idle needs more than $idle_conns descriptors per process (hard limit $fd_limit)"
idlelat_max="$(printf '%s\n' "${idlelat_conns[@]}" | sort -n | tail -n1)"
! want idlelat || [ "$fd_limit" = unlimited ] || [ "$fd_limit" -gt $((idlelat_max + idlelat_active + 200)) ] ||
    die "idlelat needs more than $((idlelat_max + idlelat_active)) descriptors in muxd (hard limit $fd_limit)"

notes="$tmp/notes.txt" # one line each, copied into the JSON and the report
: >"$notes"
add_note() { note "$*"; echo "$*" >>"$notes"; }
failures=0

# Which echo servers exist here.
echo_servers=()
for b in "${backends[@]}"; do echo_servers+=("muxd-$b"); done
for p in epoll_echo libevent_echo; do
    if [ -x "$peers/$p" ]; then echo_servers+=("$p"); else add_note "$p is not built ($peers/$p): left out"; fi
done

write_muxd_configs

# A backend that falls back (io_uring refused by the kernel) is left out
# rather than measured under the wrong name.
pin_server=()
for b in "${backends[@]}"; do
    if start_muxd "$tmp/echo.conf" bench -w 1 -b "$b"; then
        stop_server 1
    else
        add_note "muxd -b $b does not start here: left out ($start_err)"
        echo_servers=("${echo_servers[@]/muxd-$b/}")
    fi
done
mapfile -t echo_servers < <(printf '%s\n' "${echo_servers[@]}" | grep .)

# The matrix: muxd's backends but poll, and io_uring's receive features off.
printf '[server]\nuring_incremental = off\nuring_bundles = off\n' | cat "$tmp/echo.conf" - \
    >"$tmp/echo-plain.conf"
matrix_servers=()
for s in "${echo_servers[@]}"; do
    case "$s" in muxd-epoll | muxd-io_uring) matrix_servers+=("$s") ;; esac
done
if [[ " ${matrix_servers[*]} " == *" muxd-io_uring "* ]]; then
    if start_muxd "$tmp/echo-plain.conf" bench -w 1 -b io_uring; then
        stop_server 1
        matrix_servers+=(muxd-io_uring-plain)
    else
        add_note "muxd does not take uring_bundles = off: the matrix has no io_uring-plain ($start_err)"
    fi
fi

chat_servers=()
if "$muxd" -c "$tmp/chat.conf" --check-config >"$tmp/chat-check.log" 2>&1; then
    for w in 1 2; do
        for b in "${backends[@]}"; do
            [[ " ${echo_servers[*]} " == *" muxd-$b "* ]] && chat_servers+=("muxd-w$w-$b")
        done
    done
else
    add_note "muxd rejects the chat config, so muxd is left out of the chat runs:" \
        "$(grep -m1 . "$tmp/chat-check.log")"
fi
for p in ngircd inspircd; do
    if command -v "$p" >/dev/null; then chat_servers+=("$p"); else add_note "$p is not installed: left out"; fi
done

# fanout: muxd on io_uring (its cheapest chat backend; epoll where the
# kernel refuses io_uring, as --quick runs), one config per delay.
fanout_backend=io_uring
[[ " ${echo_servers[*]} " == *" muxd-io_uring "* ]] || fanout_backend=epoll
fanout_servers=()
if [[ " ${chat_servers[*]} " == *" muxd-w1-$fanout_backend "* ]]; then
    for d in "${fanout_delays[@]}"; do
        printf 'fanout_delay = %sms\n' "$d" | cat "$tmp/chat.conf" - >"$tmp/fanout-$d.conf"
        fanout_servers+=("muxd-d$d")
    done
fi
[[ " ${chat_servers[*]} " != *" inspircd "* ]] || fanout_servers+=(inspircd)

# --- one run ----------------------------------------------------------------------

runs="$tmp/runs.jsonl" # one JSON object per run: labels + muxd-load's object
: >"$runs"
pin_client=()

# Starts echo server $1 (muxd-BACKEND with one worker, or a peer).
# muxd-io_uring-plain: io_uring with both receive features forced off.
start_echo_server() { # name
    case "$1" in
    muxd-io_uring-plain)
        start_muxd "$tmp/echo-plain.conf" bench -w 1 -b io_uring || die "muxd did not start: $start_err" ;;
    muxd-*) start_muxd "$tmp/echo.conf" bench -w 1 -b "${1#muxd-}" || die "muxd did not start: $start_err" ;;
    *) start_peer "$1" ;;
    esac
}
stop_echo_server() { stop_server 1; }

# Interleaving: point k of repetition r starts at server (r + k) of the list.
rotated() { # offset names...
    local off=$1 i n
    shift
    n=$#
    local a=("$@")
    for ((i = 0; i < n; i++)); do echo "${a[$(((i + off) % n))]}"; done
}

limit_for() { awk -v a="$1" 'BEGIN { print int(a + 60) }'; }

# --- sections ----------------------------------------------------------------------

section_echo() { # section pinned conns...
    local section=$1 pinned=$2 rep k c s
    shift 2
    if [ "$pinned" = 1 ]; then pin_server=(taskset -c 0) pin_client=(taskset -c 1); else pin_server=() pin_client=(); fi
    for ((rep = 1; rep <= reps; rep++)); do
        k=0
        for c in "$@"; do
            while read -r s; do
                start_echo_server "$s"
                run_load "$section" "$s" "{\"conns\":$c}" "$rep" "$(limit_for "$warmup + $duration")" \
                    echo -c "$c" -t 1 -s "$echo_size" -d "$echo_depth" --warmup "$warmup" --duration "$duration"
                stop_echo_server
                progress
            done < <(rotated $((rep + k)) "${echo_servers[@]}")
            k=$((k + 1))
        done
    done
    pin_server=() pin_client=()
}

# Every cell of conns x size x depth, each server in turn (rotated per
# cell and repetition, as section_echo does).
section_matrix() {
    local rep k=0 c z d s
    pin_server=(taskset -c 0) pin_client=(taskset -c 1)
    for ((rep = 1; rep <= reps; rep++)); do
        for c in "${matrix_conns[@]}"; do
            for z in "${matrix_sizes[@]}"; do
                for d in "${matrix_depths[@]}"; do
                    while read -r s; do
                        start_echo_server "$s"
                        run_load matrix "$s" "{\"conns\":$c,\"size\":$z,\"depth\":$d}" "$rep" \
                            "$(limit_for "$matrix_warmup + $matrix_duration")" \
                            echo -c "$c" -t 1 -s "$z" -d "$d" --warmup "$matrix_warmup" \
                            --duration "$matrix_duration"
                        stop_echo_server
                        progress
                    done < <(rotated $((rep + k)) "${matrix_servers[@]}")
                    k=$((k + 1))
                done
            done
        done
    done
    pin_server=() pin_client=()
}

idle_tsv="$tmp/idle.jsonl"
: >"$idle_tsv"

# VmRSS of the server before and after idle_conns connections come up
# (the server's descriptor count says when they have), then muxd-load
# checks each with a round trip at the end of its hold.
section_idle() {
    local s before after base t rc lpid
    pin_server=(taskset -c 0)
    for s in "${echo_servers[@]}"; do
        start_echo_server "$s"
        sleep 0.3
        before="$(rss_kb "$spid")" base="$(nfds "$spid")"
        taskset -c 1 "$load" idle -c "$idle_conns" --duration "$idle_hold" --json \
            --server-pid "$spid" "127.0.0.1:$sport" >"$tmp/idle.json" 2>"$tmp/idle.err" </dev/null &
        lpid=$!
        pids+=("$lpid")
        for ((t = 0; t < 600; t++)); do
            [ "$(nfds "$spid")" -ge $((base + idle_conns)) ] && break
            alive "$lpid" || break
            sleep 0.1
        done
        sleep 1 # the workers build each connection after the acceptor's hand-off
        after="$(rss_kb "$spid")"
        local up
        up=$(($(nfds "$spid") - base))
        rc=0
        reap "$lpid" $((idle_hold * 10 + 600)) || { stop_pid "$lpid" 20 || true; }
        rc=$reaped_rc
        stop_echo_server
        local j=null
        jq -e 'type == "object"' "$tmp/idle.json" >/dev/null 2>&1 && j="$(jq -c . "$tmp/idle.json")"
        local ok
        ok="$(jq -n --argjson r "$j" --argjson rc "$rc" --argjson up "$up" --argjson n "$idle_conns" \
            '$rc == 0 and ($r | type) == "object" and $r.ok == true and $up >= $n')"
        if [ "$ok" != true ]; then
            failures=$((failures + 1))
            note "FAILED idle $s: exit $rc, $up of $idle_conns connections seen by the server"
            tail -5 "$tmp/idle.err" >&2
        fi
        jq -nc --arg s "$s" --argjson n "$idle_conns" --argjson b "$before" --argjson a "$after" \
            --argjson up "$up" --argjson ok "$ok" --argjson load "$j" \
            '{section: "idle", server: $s, rep: 1, ok: $ok, conns: $n, server_saw: $up,
              rss_before_kb: $b, rss_after_kb: $a,
              bytes_per_conn: ((($a - $b) * 1024 / $n) | round), load: $load}' >>"$runs"
        jq -r '"  idle \(.server): VmRSS \(.rss_before_kb) -> \(.rss_after_kb) kB, \(.bytes_per_conn) B per connection" + (if .ok then "" else " FAILED" end)' \
            < <(tail -n1 "$runs") >&2
    done
    pin_server=()
}

# The connections muxd's workers hold open, summed from the stats line a
# SIGUSR1 makes muxd log ("per_worker=[0:N 1:M]"); empty if no new stats
# line comes within 2 s.
worker_conns() {
    local before i line
    before="$(grep -c 'stats: connections=' "$slog" || true)"
    kill -USR1 "$spid" 2>/dev/null || return 0
    for ((i = 0; i < 20; i++)); do
        [ "$(grep -c 'stats: connections=' "$slog" || true)" -gt "$before" ] && break
        sleep 0.1
    done
    line="$(grep 'stats: connections=' "$slog" | tail -n1)"
    [ "$(grep -c 'stats: connections=' "$slog" || true)" -gt "$before" ] || return 0
    sed -n 's/.*per_worker=\[\([^]]*\)\].*/\1/p' <<<"$line" |
        awk '{ for (i = 1; i <= NF; i++) { split($i, f, ":"); n += f[2] } } END { print n + 0 }'
}

# Starts the idle holder: muxd-load idle with $1 connections against
# spid:sport on CPU 1, holding them far longer than a run (the caller stops
# it by pid). Then waits until muxd's descriptors, and after them its
# worker's count, show all of them: sets hpid, idle_base (the server's
# descriptors before), idle_open (the worker's count) and idle_ready_s.
# Returns 1 if they do not all come up within 60 s.
start_idle_holder() { # conns
    local n=$1 t t0 hold
    idle_base="$(nfds "$spid")" idle_open=0 idle_ready_s=null
    hold="$(awk -v w="$idlelat_warmup" -v d="$idlelat_duration" 'BEGIN { print int(w + d + 120) }')"
    t0="$(date +%s.%N)"
    taskset -c 1 "$load" idle -c "$n" --src-ips "$idlelat_src_ips" --duration "$hold" --json \
        "127.0.0.1:$sport" >"$tmp/holder.json" 2>"$tmp/holder.err" </dev/null &
    hpid=$!
    pids+=("$hpid")
    # Accepted: one descriptor each in the daemon (cheap to watch).
    for ((t = 0; t < 600; t++)); do
        [ "$(nfds "$spid")" -ge $((idle_base + n)) ] && break
        alive "$hpid" || return 1
        sleep 0.1
    done
    # Built by the worker after the acceptor's hand-off.
    for ((t = 0; t < 100; t++)); do
        idle_open="$(worker_conns)"
        [ -n "$idle_open" ] || idle_open=0
        [ "$idle_open" -ge "$n" ] && break
        alive "$hpid" || return 1
        sleep 0.2
    done
    [ "$idle_open" -ge "$n" ] || return 1
    idle_ready_s="$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')"
}

# p99 of idlelat_active closed-loop echo clients while N idle connections
# are held open by a second muxd-load process; muxd -w 1 on CPU 0, both
# muxd-load processes on CPU 1. The idle ones must still be there (the
# holder running, the daemon's descriptors) when the window is over.
section_idlelat() {
    local rep k n s held why up servers=()
    for s in "${echo_servers[@]}"; do [[ $s != muxd-* ]] || servers+=("$s"); done
    [ ${#servers[@]} -gt 0 ] || { add_note "idlelat: no muxd backend starts here"; return; }
    pin_server=(taskset -c 0) pin_client=(taskset -c 1)
    for ((rep = 1; rep <= reps; rep++)); do
        k=0
        for n in "${idlelat_conns[@]}"; do
            while read -r s; do
                start_echo_server "$s"
                held=false why=""
                if start_idle_holder "$n"; then
                    run_load idlelat "$s" "{\"idle\":$n}" "$rep" \
                        "$(limit_for "$idlelat_warmup + $idlelat_duration")" \
                        echo -c "$idlelat_active" -t 1 -s "$echo_size" -d "$echo_depth" \
                        --warmup "$idlelat_warmup" --duration "$idlelat_duration"
                    up=$(($(nfds "$spid") - idle_base))
                    if ! alive "$hpid"; then
                        why="the idle holder ended during the run: $(tail -n1 "$tmp/holder.err")"
                    elif [ "$up" -lt "$n" ]; then
                        why="the server held $up of $n idle connections after the run"
                    else
                        held=true
                    fi
                else
                    if alive "$hpid"; then why="$idle_open of $n idle connections up after 60 s"
                    else why="the idle holder ended with $idle_open of $n up: $(tail -n1 "$tmp/holder.err")"; fi
                    jq -nc --arg s "$s" --argjson n "$n" --argjson rep "$rep" \
                        '{section: "idlelat", server: $s, rep: $rep, ok: false, exit: null,
                          load: null, idle: $n}' >>"$runs"
                fi
                stop_pid "$hpid" 50 || note "the idle holder $hpid did not stop on SIGTERM; killed"
                stop_echo_server
                # The holder's facts join the run's line; a lost idle
                # connection fails the run.
                local last
                last="$(tail -n1 "$runs")"
                sed -i '$d' "$runs"
                jq -c --argjson held "$held" --arg why "$why" --argjson open "$idle_open" \
                    --argjson ready "$idle_ready_s" \
                    '. + {idle_open: $open, idle_ready_s: $ready, idle_held: $held}
                     + (if $held then {} else {ok: false, stderr: ((.stderr // "") + " " + $why | ltrimstr(" "))} end)' \
                    <<<"$last" >>"$runs"
                if [ "$held" != true ]; then
                    failures=$((failures + 1))
                    note "FAILED idlelat $s idle=$n rep $rep: $why"
                fi
                progress
            done < <(rotated $((rep + k)) "${servers[@]}")
            k=$((k + 1))
        done
    done
    pin_server=() pin_client=()
}

start_chat_server() { # name
    case "$1" in
    muxd-w*)
        local w=${1#muxd-w}
        start_muxd "$tmp/chat.conf" chat -w "${w%%-*}" -b "${w#*-}" || return 1 ;;
    *) start_irc_peer "$1" || return 1 ;;
    esac
}

section_chat() {
    local rep k m s cr
    pin_server=(taskset -c 0) pin_client=(taskset -c 1)
    for ((rep = 1; rep <= reps; rep++)); do
        k=0
        for m in "${chat_members[@]}"; do
            while read -r s; do
                if ! start_chat_server "$s"; then
                    failures=$((failures + 1))
                    note "FAILED: $s did not start: $start_err"
                    jq -nc --arg s "$s" --argjson m "$m" --argjson rep "$rep" --arg err "$start_err" \
                        '{section: "chat", server: $s, members: $m, rep: $rep, ok: false, exit: null,
                          load: null, stderr: ("did not start: " + $err)}' >>"$runs"
                    continue
                fi
                cr=$chat_connect_rate
                [ "$s" != ngircd ] || cr=$ngircd_connect_rate
                run_load chat "$s" "{\"members\":$m}" "$rep" \
                    "$(limit_for "$warmup + $duration + $chat_drain + $m / 100")" \
                    chat -c "$m" -t 1 --channels 1 --senders "$chat_senders" --rate "$chat_rate" \
                    --connect-rate "$cr" \
                    --warmup "$warmup" --duration "$duration" --drain "$chat_drain"
                case "$s" in muxd-*) stop_server 1 ;; *) stop_server 0 ;; esac
                progress
            done < <(rotated $((rep + k)) "${chat_servers[@]}")
            k=$((k + 1))
        done
    done
    pin_server=() pin_client=()
}

# The chat goal's setting (issue 14): the same load on muxd with each
# fanout_delay and on InspIRCd, interleaved as in the other sections.
section_fanout() {
    local rep s d
    pin_server=(taskset -c 0) pin_client=(taskset -c 1)
    for ((rep = 1; rep <= reps; rep++)); do
        while read -r s; do
            d=null
            case "$s" in
            muxd-d*)
                d=${s#muxd-d}
                start_muxd "$tmp/fanout-$d.conf" chat -w 1 -b "$fanout_backend" ||
                    die "muxd did not start: $start_err" ;;
            *) start_irc_peer "$s" || die "$s did not start: $start_err" ;;
            esac
            run_load fanout "$s" "{\"delay_ms\":$d,\"backend\":\"$fanout_backend\"}" "$rep" \
                "$(limit_for "$warmup + $fanout_duration + $chat_drain + $fanout_members / 100")" \
                chat -c "$fanout_members" -t 1 --channels 1 --senders "$fanout_senders" \
                --rate "$fanout_rate" --connect-rate "$chat_connect_rate" \
                --warmup "$warmup" --duration "$fanout_duration" --drain "$chat_drain"
            case "$s" in muxd-*) stop_server 1 ;; *) stop_server 0 ;; esac
            progress
        done < <(rotated "$rep" "${fanout_servers[@]}")
    done
    pin_server=() pin_client=()
}

# name workers offload heavy-clients
heavy_configs=("a 1 off 1" "b 2 off 1" "c 2 on 1" "d 2 on 0")

section_heavy() {
    local rep i n=${#heavy_configs[@]} name w off h conf hflags
    for ((rep = 1; rep <= reps; rep++)); do
        for ((i = 0; i < n; i++)); do
            read -r name w off h <<<"${heavy_configs[$(((i + rep - 1) % n))]}"
            conf="$tmp/work-$name.conf"
            printf '[server]\nworkers = %s\n[offload]\nthreads = auto\n[listener work]\nlisten = 127.0.0.1:0\nprotocol = work\noffload = %s\n' \
                "$w" "$off" >"$conf"
            start_muxd "$conf" work || die "muxd (work service) did not start: $start_err"
            hflags=()
            [ "$h" = 0 ] || hflags=(--heavy "$h" --heavy-line "$heavy_line")
            run_load heavy "muxd-$sbackend" \
                "{\"config\":\"$name\",\"workers\":$w,\"offload\":\"$off\",\"heavy_clients\":$h}" "$rep" \
                "$(limit_for "$heavy_warmup + $heavy_duration")" \
                work -c "$heavy_light" -s 64 -d 1 ${hflags[@]+"${hflags[@]}"} \
                --warmup "$heavy_warmup" --duration "$heavy_duration"
            stop_server 1
            progress
        done
    done
}

# --- main ----------------------------------------------------------------------------

started="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
t0=$SECONDS
note "servers: echo ${echo_servers[*]}; chat ${chat_servers[*]:-none}"
if want echo; then
    note "echo: ${echo_conns[*]} connections x ${#echo_servers[@]} servers x $reps, pinned"
    section_echo echo 1 "${echo_conns[@]}"
fi
if want matrix; then
    note "matrix: ${#matrix_conns[@]} x ${#matrix_sizes[@]} x ${#matrix_depths[@]} cells x ${#matrix_servers[@]} servers x $reps, pinned"
    section_matrix
fi
if want unpinned; then
    note "echo, unpinned: $unpinned_conns connections x ${#echo_servers[@]} servers x $reps"
    section_echo unpinned 0 "$unpinned_conns"
fi
if want idle; then
    note "idle: $idle_conns connections per server"
    section_idle
fi
if want idlelat; then
    note "idlelat: $idlelat_active active clients beside ${idlelat_conns[*]} idle connections x muxd's backends x $reps, pinned"
    section_idlelat
fi
if want chat && [ ${#chat_servers[@]} -gt 0 ]; then
    note "chat: ${chat_members[*]} members x ${#chat_servers[@]} servers x $reps, $chat_rate msgs/s"
    section_chat
fi
if want fanout && [ ${#fanout_servers[@]} -gt 0 ]; then
    note "fanout: $fanout_members members, $fanout_rate msgs/s, ${fanout_servers[*]} x $reps, pinned"
    section_fanout
fi
if want heavy; then
    note "heavy: ${#heavy_configs[@]} configurations x $reps, unpinned"
    section_heavy
fi
note "runs took $((SECONDS - t0)) s"

# --- results ---------------------------------------------------------------------------

if [ -n "$out" ]; then
    mkdir -p "$out"
    out="$(realpath "$out")"
    results_dir=$out doc=$out/benchmarks.md img=$out/img
elif [ "$quick" = 1 ]; then
    out="$(mktemp -d /tmp/muxd-bench-quick.XXXXXX)"
    results_dir=$out doc=$out/benchmarks.md img=$out/img
else
    results_dir=$bench/results doc=$root/docs/benchmarks.md img=$root/docs/img
fi
mkdir -p "$results_dir"
name="$(date +%Y-%m-%d)-suite"
[ "$quick" = 0 ] || name="$name-quick"
if [ -e "$results_dir/$name.json" ]; then
    i=2
    while [ -e "$results_dir/$name-$i.json" ]; do i=$((i + 1)); done
    name="$name-$i"
fi
result="$results_dir/$name.json"

ver() { "$@" 2>&1 | head -n1 || true; }
jq -n --arg started "$started" --arg finished "$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
    --argjson quick "$([ "$quick" = 1 ] && echo true || echo false)" \
    --arg cpu "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)" \
    --argjson nproc "$(nproc)" --arg kernel "$(uname -r)" \
    --argjson mem_kb "$(awk '/^MemTotal:/ {print $2}' /proc/meminfo)" --arg fds "$fd_limit" \
    --arg muxd_version "$("$muxd" --version 2>&1 | head -n1)" --arg daemon "$daemon_desc" \
    --arg rev "${rev_sha:-$(git -C "$root" rev-parse HEAD 2>/dev/null || echo)}" \
    --arg load_version "$("$load" --version 2>&1 | head -n1 || true)" \
    --arg ngircd "$(ver ngircd --version)" --arg inspircd "$(ver inspircd --version)" \
    --arg libevent "$(pkg-config --modversion libevent 2>/dev/null || echo)" \
    --argjson failures "$failures" --argjson seconds "$((SECONDS - t0))" \
    --argjson echo_conns "$(printf '%s\n' "${echo_conns[@]}" | jq -s .)" \
    --argjson chat_members "$(printf '%s\n' "${chat_members[@]}" | jq -s .)" \
    --argjson fanout_delays "$(printf '%s\n' "${fanout_delays[@]}" | jq -s .)" \
    --argjson idlelat_conns "$(printf '%s\n' "${idlelat_conns[@]}" | jq -s .)" \
    --argjson matrix_conns "$(printf '%s\n' "${matrix_conns[@]}" | jq -s .)" \
    --argjson matrix_sizes "$(printf '%s\n' "${matrix_sizes[@]}" | jq -s .)" \
    --argjson matrix_depths "$(printf '%s\n' "${matrix_depths[@]}" | jq -s .)" \
    --rawfile notes "$notes" --slurpfile runs "$runs" \
    '{suite: "bench/suite.sh", started: $started, finished: $finished, seconds: $seconds,
      quick: $quick,
      machine: {nproc: $nproc, cpu: $cpu, kernel: $kernel, mem_kb: $mem_kb, fd_limit: $fds},
      muxd: {version: $muxd_version, daemon: $daemon, rev: $rev},
      load: {version: $load_version},
      peers: {ngircd: $ngircd, inspircd: $inspircd, libevent: $libevent},
      params: {reps: '"$reps"', warmup_s: '"$warmup"', duration_s: '"$duration"',
               echo: {size: '"$echo_size"', depth: '"$echo_depth"', conns: $echo_conns,
                      unpinned_conns: '"$unpinned_conns"'},
               matrix: {conns: $matrix_conns, sizes: $matrix_sizes, depths: $matrix_depths,
                        warmup_s: '"$matrix_warmup"', duration_s: '"$matrix_duration"'},
               idle: {conns: '"$idle_conns"', hold_s: '"$idle_hold"'},
               idlelat: {conns: $idlelat_conns, active: '"$idlelat_active"', size: '"$echo_size"',
                         depth: '"$echo_depth"', warmup_s: '"$idlelat_warmup"',
                         duration_s: '"$idlelat_duration"', src_ips: '"$idlelat_src_ips"'},
               chat: {members: $chat_members, channels: 1, senders: '"$chat_senders"',
                      rate: '"$chat_rate"', drain_s: '"$chat_drain"',
                      connect_rate: '"$chat_connect_rate"',
                      ngircd_connect_rate: '"$ngircd_connect_rate"'},
               fanout: {members: '"$fanout_members"', channels: 1, senders: '"$fanout_senders"',
                        rate: '"$fanout_rate"', workers: 1, backend: "'"$fanout_backend"'",
                        delays_ms: $fanout_delays, duration_s: '"$fanout_duration"'},
               heavy: {light: '"$heavy_light"', line: "'"$heavy_line"'",
                       warmup_s: '"$heavy_warmup"', duration_s: '"$heavy_duration"'}},
      notes: ($notes | split("\n") | map(select(length > 0))),
      failures: $failures, runs: $runs}' >"$result"

"$bench/report.sh" "$result" "$doc" "$img"
note "wrote $result, $doc and $img/"
[ "$failures" = 0 ] || { note "$failures run(s) failed; see above"; exit 1; }
