# shellcheck shell=bash
# bench/lib.sh - what bench/run.sh and bench/heavy.sh have in common: the
# shared options, building the daemon and the client, tracking the
# processes they start, starting and stopping one daemon, reading
# echo_bench's JSON, and the head and tail of the result files. Sourced by
# both after `set -euo pipefail`; not a script of its own.
#
# The functions work on the sourcing script's globals (muxd, tmp, pids,
# dpid, failures...) rather than on arguments: both scripts are short,
# single-threaded and run once, and passing all of it around would hide
# more than it shows.
# shellcheck disable=SC2034 # most variables set here are read by the scripts

me="$(basename "$0")" # every message starts with the script's name
root="$(cd "$(dirname "$0")/.." && pwd)"
build="$root/build-bench"
muxd="$build/muxd"
client="$build/bench/echo_bench"
out="$root/bench/results"
quick=0
rev=""
muxd_given=0

# The script's header comment, up to `set -euo`, is its help.
usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }

die() { echo "$me: $*" >&2; exit 1; }

# --- options ---------------------------------------------------------------

# Takes one of the options every script has from the front of "$@" and sets
# took to the number of words it used; took=0 when $1 is not one of them,
# so the script can try its own. Not called in an `if` or `||`: set -e has
# to stay in force for a failing realpath.
common_opt() {
    took=1
    case "$1" in
    --quick) quick=1 ;;
    --muxd) muxd="$(realpath "${2:?--muxd needs a path}")"; muxd_given=1; took=2 ;;
    --rev) rev="${2:?--rev needs a commit}"; took=2 ;;
    --client) client="$(realpath "${2:?--client needs a path}")"; took=2 ;;
    --out) out="${2:?--out needs a directory}"; took=2 ;;
    -h | --help) usage; exit 0 ;;
    *) took=0 ;;
    esac
}

bad_arg() { echo "$me: unknown argument '$1'" >&2; usage >&2; exit 2; }

# --- processes: every one we start is tracked and stopped by its pid ----

pids=()

# Makes the scratch directory (/tmp/PREFIX.XXXXXX, in tmp) and arranges
# that every tracked process is stopped and the directory removed on exit.
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

cleanup() {
    local p
    for p in ${pids[@]+"${pids[@]}"}; do kill -TERM "$p" 2>/dev/null || true; done
    for p in ${pids[@]+"${pids[@]}"}; do
        reap "$p" 50 || { kill -KILL "$p" 2>/dev/null || true; reap "$p" 20 || true; }
    done
    rm -rf "$tmp"
}

# --- build --------------------------------------------------------------------

# Builds the daemon of commit $1 from a clean export; sets muxd.
build_rev() {
    local sha dir
    sha="$(git -C "$root" rev-parse --verify "$1^{commit}")" || die "no commit '$1'"
    dir="$build/rev-$sha"
    if [ ! -x "$dir/build/muxd" ]; then
        echo "building muxd at $sha in $dir ..." >&2
        rm -rf "$dir" && mkdir -p "$dir/src"
        git -C "$root" archive "$sha" | tar -x -C "$dir/src"
        cmake -S "$dir/src" -B "$dir/build" -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF \
            -DMUXD_BUILD_BENCH=OFF --no-warn-unused-cli >/dev/null
        cmake --build "$dir/build" -j2 --target muxd_bin >/dev/null
    fi
    muxd="$dir/build/muxd"
    daemon_desc="commit $sha (built by $me --rev)"
}

# Settles which daemon and client to use (--rev, --muxd, --client or the
# working tree) and sets daemon_desc. Incremental builds in build-bench:
# quick when nothing changed, and never a stale binary.
build_programs() {
    local build_targets=()
    [ "$client" = "$build/bench/echo_bench" ] && build_targets+=(echo_bench)
    if [ -n "$rev" ]; then
        [ "$muxd_given" = 0 ] || die "--rev and --muxd exclude each other"
        build_rev "$rev"
    elif [ "$muxd_given" = 1 ]; then
        daemon_desc="$muxd (given with --muxd)"
    else
        build_targets+=(muxd_bin)
        daemon_desc="working tree at $(git -C "$root" rev-parse HEAD 2>/dev/null || echo '?')"
        if [ -n "$(git -C "$root" status --porcelain -- src include 2>/dev/null)" ]; then
            daemon_desc="$daemon_desc, with uncommitted changes in src/ or include/"
        fi
    fi
    if [ ${#build_targets[@]} -gt 0 ]; then
        echo "building ${build_targets[*]} in $build ..." >&2
        cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
        cmake --build "$build" -j2 --target "${build_targets[@]}" >/dev/null ||
            die "build failed (a tree mid-edit? try --rev HEAD)"
    fi
    [ -x "$muxd" ] || die "no daemon at $muxd"
    [ -x "$client" ] || die "no client at $client"
}

# --- the daemon -----------------------------------------------------------

nstarts=0 # numbers each daemon's log (and config), so none is overwritten
failures=0

# Runs the muxd command line given after the first three arguments in the
# background, its stderr in $1, and waits for its "started" line; requires
# backend $3 unless $3 is empty. Sets dpid, dport (that of the listener
# named $2, from its "listener NAME on 127.0.0.1:PORT" line), dbackend and
# dlog.
start_muxd() { # log listener backend|"" command...
    local log=$1 listener=$2 want="started: backend=" what=muxd i
    if [ -n "$3" ]; then want="$want$3 " what="muxd -b $3"; fi
    shift 3
    : >"$log" # exists before the polling below looks into it
    "$@" 2>"$log" </dev/null &
    dpid=$!
    pids+=("$dpid")
    # Generous: on a loaded machine the daemon's CPU may be busy with others
    # for a while.
    for ((i = 0; i < 300; i++)); do
        grep -q "started: backend=" "$log" && break
        alive "$dpid" || break
        sleep 0.05
    done
    grep -q "$want" "$log" || { cat "$log" >&2; die "$what did not start"; }
    dport="$(sed -n "s/.*listener $listener on 127\\.0\\.0\\.1:\\([0-9]*\\) .*/\\1/p" "$log" | head -n1)"
    [ -n "$dport" ] || die "no port in $log"
    dbackend="$(sed -n 's/.*started: backend=\([a-z_]*\) .*/\1/p' "$log" | head -n1)"
    dlog="$log"
}

# SIGTERM, then up to 10 s for the graceful stop (shutdown_timeout is 5 s);
# a daemon that does not stop, or stops with a status other than 0, counts
# as a failure.
stop_daemon() {
    kill -TERM "$dpid"
    if ! reap "$dpid" 100; then
        kill -KILL "$dpid" 2>/dev/null || true
        reap "$dpid" 20 || true
        echo "$me: muxd $dpid did not stop within 10 s of SIGTERM" >&2
        failures=$((failures + 1))
    elif [ "$reaped_rc" != 0 ]; then
        echo "$me: muxd exited $reaped_rc after SIGTERM; its log:" >&2
        cat "$dlog" >&2
        failures=$((failures + 1))
    fi
}

# --- echo_bench's JSON ------------------------------------------------------

# The value of key $2 in the one-line JSON object $1; $3 (default: nothing)
# when the key is absent.
jfield() { # json key [absent]
    local v
    v="$(sed -n "s/.*\"$2\":\\([^,}]*\\).*/\\1/p" <<<"$1")"
    echo "${v:-${3-}}"
}

# Takes one echo_bench run's outcome: with exit status $1 other than 0, says
# run $2 FAILED, shows the client's stderr, counts a failure and returns 1;
# otherwise sets json to the client's JSON and appends it, led by the
# labels $3 (JSON members), to runs_json.
record_run() { # rc what labels
    if [ "$1" != 0 ]; then
        echo "$me: FAILED $2 (exit $1):" >&2
        cat "$tmp/run.err" >&2
        failures=$((failures + 1))
        return 1
    fi
    json="$(cat "$tmp/run.json")"
    # shellcheck disable=SC2154 # runs_json is the script's: each has its own columns
    echo "{$3,${json#\{}" >>"$runs_json"
}

# Other load: machine-wide busy CPU seconds minus the server's and the
# client's, so a noisy neighbour shows up next to the numbers it spoiled.
other_load() { # json
    awk -v m="$(jfield "$1" machine_busy_s)" -v s="$(jfield "$1" server_cpu_s)" \
        -v c="$(jfield "$1" client_cpu_s)" 'BEGIN { o = m - s - c; printf "%.2f", o < 0 ? 0 : o }'
}

# --- result files --------------------------------------------------------------

# Sets name to DATE-$1 (-quick with --quick) in out, which it creates; a
# second run on the same day gets -2, -3..., so earlier results stay. Sets
# cpu_model too.
result_name() { # kind
    local i
    name="$(date +%Y-%m-%d)-$1"
    if [ "$quick" = 1 ]; then name="$name-quick"; fi
    mkdir -p "$out"
    if [ -e "$out/$name.json" ]; then
        i=2
        while [ -e "$out/$name-$i.json" ]; do i=$((i + 1)); done
        name="$name-$i"
    fi
    cpu_model="$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)"
}

md_machine() { echo "- machine: $(nproc) CPUs ($cpu_model), kernel $(uname -r)"; }

# The first two lines of the JSON file: when, whether --quick, the machine.
json_head() { # started
    echo "{\"started\":\"$1\",\"quick\":$([ "$quick" = 1 ] && echo true || echo false),"
    echo " \"machine\":{\"nproc\":$(nproc),\"kernel\":\"$(uname -r)\",\"cpu\":\"$cpu_model\"},"
}

# Prints the Markdown, says where both files are, and exits 1 if a run failed.
finish() {
    cat "$out/$name.md"
    echo >&2
    echo "wrote $out/$name.md and $out/$name.json" >&2
    [ "$failures" = 0 ] || { echo "$me: $failures run(s) failed; see above" >&2; exit 1; }
}
