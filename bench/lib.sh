# shellcheck shell=bash
# bench/lib.sh - the machinery under bench/suite.sh: tracking and stopping
# the processes it starts (by pid), building the programs (the working tree,
# or a clean export of a commit), and starting each kind of server on
# 127.0.0.1 with its real port read back. Sourced after `set -euo
# pipefail`; not a script of its own.
#
# The functions work on the suite's globals (tmp, pids, spid, sport...)
# rather than on arguments: the suite is single-threaded and runs once, and
# passing all of it around would hide more than it shows.
# shellcheck disable=SC2034 # most variables set here are read by suite.sh

me="$(basename "$0")" # every message starts with the script's name
root="$(cd "$(dirname "$0")/.." && pwd)"
bench="$root/bench"

# The script's header comment, up to `set -euo`, is its help.
usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }
die() { echo "$me: $*" >&2; exit 1; }
note() { echo "$me: $*" >&2; }
bad_arg() { echo "$me: unknown argument '$1'" >&2; usage >&2; exit 2; }

# --- processes: every one we start is tracked and stopped by its pid ----

pids=()

# Makes the scratch directory (in tmp) and arranges that every tracked
# process is stopped and the directory removed on exit.
track_processes() { # prefix
    tmp="$(mktemp -d "/tmp/$1.XXXXXX")"
    trap cleanup EXIT
    trap 'exit 130' INT TERM
}

forget() { # pid
    local keep=() p
    for p in "${pids[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
    pids=(${keep[@]+"${keep[@]}"})
}

alive() { # pid: running and not a zombie waiting to be reaped
    local st
    st="$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null || true)"
    [ -n "$st" ] && [ "$st" != Z ]
}

# Waits up to $2 tenths of a second for pid $1 to end; reaps it and sets
# reaped_rc. Returns 1 if it is still running.
reap() { # pid tenths
    local i
    for ((i = 0; i < $2; i++)); do alive "$1" || break; sleep 0.1; done
    alive "$1" && return 1
    reaped_rc=0
    wait "$1" 2>/dev/null || reaped_rc=$?
    forget "$1"
    return 0
}

# SIGTERM, up to $2 tenths of a second, then SIGKILL. Sets reaped_rc;
# returns 1 if it had to be killed.
stop_pid() { # pid tenths
    kill -TERM "$1" 2>/dev/null || true
    reap "$1" "$2" && return 0
    kill -KILL "$1" 2>/dev/null || true
    reap "$1" 20 || true
    return 1
}

cleanup() {
    local p
    for p in ${pids[@]+"${pids[@]}"}; do kill -TERM "$p" 2>/dev/null || true; done
    for p in ${pids[@]+"${pids[@]}"}; do stop_pid "$p" 50 || true; done
    [ "${keep_tmp:-0}" = 1 ] || rm -rf "$tmp"
}

# --- building -------------------------------------------------------------------

# The programs of build directory $1: muxd, muxd-load, the echo peers. Any
# of them may be missing; the suite checks what it needs.
use_build() { # dir
    muxd="$1/muxd"
    load="$1/src/load/muxd-load"
    peers="$1/bench/peers"
}

# What build_tree builds; ab.sh wants only the first two.
build_targets=(muxd_bin muxd_load epoll_echo libevent_echo)

# Configures and builds build_targets in $1 from source tree $2; each only
# if that build has it (no libevent: no libevent_echo).
build_tree() { # builddir srcdir extra-cmake-args...
    local b=$1 s=$2 t
    shift 2
    cmake -S "$s" -B "$b" -DCMAKE_BUILD_TYPE=Release "$@" --no-warn-unused-cli >"$tmp/cmake.log" 2>&1 ||
        { tail -20 "$tmp/cmake.log" >&2; die "cmake failed in $b"; }
    local targets
    targets="$(cmake --build "$b" --target help 2>/dev/null)"
    for t in "${build_targets[@]}"; do
        if grep -qx "\.\.\. $t" <<<"$targets"; then
            cmake --build "$b" -j2 --target "$t" >"$tmp/build.log" 2>&1 ||
                { tail -20 "$tmp/build.log" >&2; die "building $t in $b failed (a tree mid-edit? try --rev HEAD)"; }
        else
            note "no target $t in $b"
        fi
    done
}

# Builds commit $1 from a clean export (git archive) in $2/rev-SHA; sets
# rev_sha. Other sessions may be editing the working tree: this keeps
# their half-done edits out of the numbers.
build_rev() { # commit build-root
    local dir
    rev_sha="$(git -C "$root" rev-parse --verify "$1^{commit}")" || die "no commit '$1'"
    dir="$2/rev-$rev_sha"
    if [ ! -x "$dir/build/muxd" ]; then
        note "building $rev_sha in $dir ..."
        rm -rf "$dir" && mkdir -p "$dir/src"
        git -C "$root" archive "$rev_sha" | tar -x -C "$dir/src"
    fi
    build_tree "$dir/build" "$dir/src" -DBUILD_TESTING=OFF -DMUXD_BUILD_EXAMPLES=OFF
    use_build "$dir/build"
}

# --- servers ------------------------------------------------------------------------
#
# start_* set spid (the server's pid, tracked), sport (its port on
# 127.0.0.1) and slog (its log); stop_server stops spid.

nstarts=0 # numbers each server's files, so none is overwritten
pin_server=() # taskset prefix for servers ("taskset -c 0" when pinned)

# Waits up to $3 tenths of a second for file $1 to match regex $2 while
# spid lives.
wait_for_line() { # file regex tenths
    local i
    for ((i = 0; i < $3; i++)); do
        grep -qE "$2" "$1" 2>/dev/null && return 0
        alive "$spid" || return 1
        sleep 0.1
    done
    grep -qE "$2" "$1" 2>/dev/null
}

launch() { # log command...: runs it in the background, tracked
    local log=$1
    shift
    : >"$log"
    ${pin_server[@]+"${pin_server[@]}"} "$@" >"$log" 2>&1 </dev/null &
    spid=$!
    pids+=("$spid")
    slog="$log"
}

# muxd with config file $1 and extra arguments; the port of listener $2
# comes from its log line "listener NAME on 127.0.0.1:PORT". Returns 1 (the
# log in start_err) if it does not start, e.g. a config it rejects.
start_muxd() { # conf listener args...
    local conf=$1 listener=$2
    shift 2
    launch "$tmp/muxd-$((++nstarts)).log" "$muxd" -c "$conf" "$@"
    if ! wait_for_line "$slog" "started: backend=" 300; then
        start_err="$(tail -5 "$slog")"
        stop_pid "$spid" 20 || true
        return 1
    fi
    sport="$(sed -n "s/.*listener $listener on 127\\.0\\.0\\.1:\\([0-9]*\\).*/\\1/p" "$slog" | head -n1)"
    sbackend="$(sed -n 's/.*started: backend=\([a-z_]*\).*/\1/p' "$slog" | head -n1)"
    [ -n "$sport" ] || die "no port for listener $listener in $slog"
}

# An echo peer of bench/peers: it prints "listening on 127.0.0.1:PORT".
start_peer() { # program
    launch "$tmp/$1-$((++nstarts)).log" "$peers/$1" 127.0.0.1:0
    wait_for_line "$slog" "^listening on " 100 || { cat "$slog" >&2; die "$1 did not start"; }
    sport="$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$slog")"
}

# A free port for the IRC peers, which cannot report one they chose: below
# the ephemeral range (32768 up), and not in use by any socket.
free_port() {
    local p
    while :; do
        p=$((10000 + RANDOM % 22000))
        ss -Htan "sport = :$p" | grep -q . || { echo "$p"; return; }
    done
}

# ngircd or inspircd from its template in bench/peers, in its own directory;
# waits until it accepts connections. Three tries, each on a new port (one
# may be taken between the check and the bind); returns 1 if all fail.
start_irc_peer() { # ngircd|inspircd
    local try
    for try in 1 2 3; do start_irc_peer_once "$1" && return 0; done
    return 1
}

start_irc_peer_once() { # ngircd|inspircd
    local name=$1 dir port conf i
    dir="$tmp/$name-$((++nstarts))"
    mkdir -p "$dir/ngircd.conf.d"
    echo "muxd benchmark peer" >"$dir/motd.txt"
    port="$(free_port)"
    conf="$dir/$name.conf"
    sed "s|@PORT@|$port|g; s|@DIR@|$dir|g" "$bench/peers/$name.conf.in" >"$conf"
    if [ "$name" = ngircd ]; then
        launch "$dir/out.log" ngircd -n -f "$conf"
    else
        local asroot=()
        [ "$(id -u)" != 0 ] || asroot=(--runasroot)
        launch "$dir/out.log" inspircd ${asroot[@]+"${asroot[@]}"} --nofork --config="$conf"
    fi
    for ((i = 0; i < 100; i++)); do
        alive "$spid" || break
        ss -Htln "sport = :$port" | grep -q . && { sport=$port; return 0; }
        sleep 0.1
    done
    start_err="$(tail -5 "$slog")"
    stop_pid "$spid" 20 || true
    return 1
}

# SIGTERM; muxd and the echo peers must exit 0 within 10 s (muxd flushes
# for up to shutdown_timeout, 5 s). The IRC peers may exit as they like.
stop_server() { # strict(0|1)
    if ! stop_pid "$spid" 100; then
        note "server $spid did not stop within 10 s of SIGTERM; killed"
        failures=$((failures + 1))
    elif [ "$1" = 1 ] && [ "$reaped_rc" != 0 ]; then
        note "server $spid exited $reaped_rc after SIGTERM; its log:"
        tail -20 "$slog" >&2
        failures=$((failures + 1))
    fi
}

# --- the round scripts (fanout_delay.sh, cluster_fanout.sh) -------------------
#
# Both take the same options and run one chat channel's load in rounds on
# muxd and muxd-load alone.

# Their options (the usage line both show): sets rounds, quick, backend,
# build_dir, out and keep_tmp; then the run's size, by --quick: members,
# warmup, duration and drain (and 1 round).
round_options() { # "$@"
    rounds=3 quick=0 out="" keep_tmp=0 backend=epoll build_dir=""
    while [ $# -gt 0 ]; do
        case "$1" in
        --rounds) rounds="${2:?--rounds needs a number}"; shift ;;
        --quick) quick=1 ;;
        --backend) backend="${2:?--backend needs a name}"; shift ;;
        --build) build_dir="$(realpath "${2:?--build needs a directory}")"; shift ;;
        --out) out="${2:?--out needs a directory}"; shift ;;
        --keep-tmp) keep_tmp=1 ;;
        -h | --help) usage; exit 0 ;;
        *) bad_arg "$1" ;;
        esac
        shift
    done
    [[ $rounds =~ ^[1-9][0-9]*$ ]] || die "--rounds wants a positive number, not '$rounds'"
    if [ "$quick" = 1 ]; then
        rounds=1 members=100 warmup=0.5 duration=2 drain=0.5
    else
        members=1000 warmup=1 duration=5 drain=1
    fi
}

# muxd and muxd-load of --build DIR, or built in Release mode from the
# working tree in build-bench/ (as suite.sh does); sets daemon_desc. After
# track_processes (build_tree logs into tmp).
round_programs() {
    build_targets=(muxd_bin muxd_load)
    if [ -n "$build_dir" ]; then
        use_build "$build_dir"
        daemon_desc="the build in $build_dir"
    else
        note "building muxd and muxd-load in $root/build-bench ..."
        build_tree "$root/build-bench" "$root"
        use_build "$root/build-bench"
        daemon_desc="the working tree at $(git -C "$root" rev-parse HEAD), Release"
    fi
    [ -x "$muxd" ] || die "no daemon at $muxd"
    [ -x "$load" ] || die "no muxd-load at $load"
}

# --- measurements around a run ------------------------------------------------

# Busy and total jiffies of all CPUs, from /proc/stat.
cpu_jiffies() { awk '/^cpu / { b = $2 + $3 + $4 + $7 + $8; print b, b + $5 + $6 }' /proc/stat; }

rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
nfds() { find "/proc/$1/fd" -mindepth 1 -maxdepth 1 | wc -l; }

# --- configs and runs (shared by suite.sh and ab.sh) -------------------------

# The configs suite.sh and ab.sh give muxd, in tmp: echo.conf (listener
# bench, raw echo) and chat.conf (listener chat, no flood limit). Workers
# and backend go on the command line. ab.sh runs older commits on them
# too: keep to keys every revision it may be asked about understands.
write_muxd_configs() {
    cat >"$tmp/echo.conf" <<'EOF'
; bench/: defaults except the address; workers and backend come from the
; command line
[listener bench]
listen = 127.0.0.1:0
protocol = echo
mode = raw
EOF
    cat >"$tmp/chat.conf" <<'EOF'
; bench/: one chat listener, no flood limit
[listener chat]
listen = 127.0.0.1:0
protocol = chat
server_name = muxd.test
flood_rate = 0
EOF
}

# Runs muxd-load ($load, prefixed by pin_client) with the arguments given
# against spid:sport and appends the run to the file $runs under section
# $1, server $2, with params $3 (a JSON object) and rep $4. Sets run_json
# (muxd-load's object, or null); a failed run counts in failures.
run_load() { # section server params rep max-seconds muxd-load-args...
    local section=$1 server=$2 params=$3 rep=$4 limit=$5 rc=0 j0 j1 busy
    shift 5
    read -r -a j0 < <(cpu_jiffies)
    timeout -k 5 "$limit" ${pin_client[@]+"${pin_client[@]}"} "$load" "$@" --json \
        --server-pid "$spid" "127.0.0.1:$sport" >"$tmp/run.json" 2>"$tmp/run.err" || rc=$?
    read -r -a j1 < <(cpu_jiffies)
    busy="$(awk -v b="$((j1[0] - j0[0]))" -v t="$((j1[1] - j0[1]))" -v n="$(nproc)" \
        'BEGIN { printf "%.2f", (t > 0 ? n * b / t : 0) }')"
    # Exactly one JSON object, or null: a run that printed anything else
    # is a failed run, never the end of the suite.
    run_json="$(jq -cs 'if length == 1 and (.[0] | type) == "object" then .[0] else null end' \
                "$tmp/run.json" 2>/dev/null)" || run_json=null
    [ -n "$run_json" ] || run_json=null
    [[ $busy =~ ^[0-9]+(\.[0-9]+)?$ ]] || busy=null
    [[ $rc =~ ^[0-9]+$ ]] || rc=255
    local ok
    ok="$(jq -n --argjson r "$run_json" --argjson rc "$rc" '$rc == 0 and ($r | type) == "object" and $r.ok == true')"
    if [ "$ok" != true ]; then
        failures=$((failures + 1))
        note "FAILED $section $server $params rep $rep (exit $rc):"
        tail -5 "$tmp/run.err" >&2
    fi
    jq -nc --arg section "$section" --arg server "$server" --argjson params "$params" \
        --argjson rep "$rep" --argjson rc "$rc" --argjson ok "$ok" --argjson busy "$busy" \
        --argjson load "$run_json" --arg err "$(tail -3 "$tmp/run.err")" \
        '{section: $section, server: $server, rep: $rep, ok: $ok, exit: $rc,
          machine_busy_cores: $busy, load: $load} + $params
         + (if $ok then {} else {stderr: $err} end)' >>"$runs"
}

progress() { # the last run's line
    jq -r 'def f(x): if x == null then "-" else (x * 10 | round / 10 | tostring) end;
        "  \(.section) \(.server) \(del(.section, .server, .rep, .ok, .exit, .machine_busy_cores, .load, .stderr, .idle_open, .idle_ready_s, .idle_held) | to_entries | map("\(.key)=\(.value)") | join(" ")) rep \(.rep): " +
        (if .ok | not then "FAILED"
         elif .load.deliveries_per_s != null then "\(f(.load.deliveries_per_s)) deliveries/s  p99 \(f(.load.latency_us.p99)) us  server \(f(.load.server_cpu_us_per_delivery)) us CPU each"
         elif .section == "idlelat" then "p50 \(f(.load.latency_us.p50)) us  p99 \(f(.load.latency_us.p99)) us  server \(f(.load.server_cpu_us_per_msg)) us CPU each  (idle up in \(.idle_ready_s) s)"
         else "\(f(.load.msgs_per_s)) msgs/s  p99 \(f(.load.latency_us.p99)) us  server \(f(.load.server_cpu_us_per_msg)) us CPU each" end)' \
        < <(tail -n1 "$runs") >&2
}
