#!/usr/bin/env bash
# bench/ab.sh - an interleaved A/B benchmark of two muxd revisions, to
# check that a refactor made no cell slower.
#
#   bench/ab.sh [--rounds N] [--quick] [--only echo|chat] [--backends LIST]
#               [--caps-b LIST] [--out DIR] [--keep-tmp] REV_A REV_B
#
# Builds muxd from a clean export of each revision (git archive, in
# build-bench/rev-SHA, as suite.sh --rev does) and muxd-load from REV_B
# only: both sides are measured by the same load generator. Then, for N
# rounds (default 3), runs every cell for A and for B, A first in odd
# rounds and B first in even ones, so that drift in the machine's load
# falls on both sides alike. Cells, for each backend (epoll, io_uring, or
# the comma-separated --backends), both sections unless --only names one:
#   echo  1000 connections, 64 B closed loop (depth 1), muxd -w 1:
#         server CPU per message and p99 latency
#   chat  one channel of 1000 members (--quick: 100), 10 senders at 100
#         messages/s in all, muxd -w 1: server CPU per delivery and p99
# The server runs on CPU 0 and muxd-load on CPU 1 (taskset); server CPU is
# muxd-load's --server-pid reading (utime + stime over the window), as in
# suite.sh. A backend that does not start under either revision is left
# out with a note.
#
# Prints the median of each cell for A and B and the ratio B/A (below 1:
# B is cheaper or faster), and writes every run as JSON to DIR/ab.json
# (--out DIR; default a new /tmp/muxd-ab.*). --quick shortens the windows
# (1 s) to check that everything works; its numbers mean little. Exit
# status 1 if any run failed.
#
# Only the daemon's command line (-c, -w, -b) and the configs of lib.sh
# are used, so any two revisions that have the chat service will do.
#
# --caps-b LIST: B's chat clients all ask for these IRCv3 capabilities
# (muxd-load --caps); with the same revision on both sides, the cost of
# tagged fan-out: bench/ab.sh --only chat --caps-b 'server-time
# message-tags' HEAD HEAD.
set -euo pipefail

# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"

rounds=3 quick=0 out="" keep_tmp=0 revs=() only="" backends=(epoll io_uring) caps_b=""
while [ $# -gt 0 ]; do
    case "$1" in
    --rounds) rounds="${2:?--rounds needs a number}"; shift ;;
    --quick) quick=1 ;;
    --only) only="${2:?--only needs echo or chat}"; shift ;;
    --backends) IFS=, read -r -a backends <<< "${2:?--backends needs a list}"; shift ;;
    --out) out="${2:?--out needs a directory}"; shift ;;
    --keep-tmp) keep_tmp=1 ;;
    --caps-b) caps_b="${2:?--caps-b needs a list}"; shift ;;
    -h | --help) usage; exit 0 ;;
    -*) bad_arg "$1" ;;
    *) revs+=("$1") ;;
    esac
    shift
done
[ ${#revs[@]} = 2 ] || { usage >&2; exit 2; }
[[ $rounds =~ ^[1-9][0-9]*$ ]] || die "--rounds wants a positive number, not '$rounds'"
case "$only" in "" | echo | chat) ;; *) die "--only wants echo or chat, not '$only'" ;; esac

if [ "$quick" = 1 ]; then
    warmup=0.5 duration=1 chat_members=100 chat_drain=0.5
else
    warmup=1 duration=5 chat_members=1000 chat_drain=1
fi
echo_conns=1000 echo_size=64
chat_senders=10 chat_rate=100 chat_connect_rate=2000

command -v jq >/dev/null || die "jq is needed (scripts/setup.sh bench)"
command -v taskset >/dev/null || die "taskset is needed (util-linux)"
[ "$(nproc)" -ge 2 ] || die "needs 2 CPUs: the server on CPU 0, the load on CPU 1"
ulimit -n "$(ulimit -Hn)"

track_processes muxd-ab
[ "$keep_tmp" = 0 ] || note "keeping $tmp"

# --- programs ------------------------------------------------------------------

build_targets=(muxd_bin)
build_rev "${revs[0]}" "$root/build-bench"
sha_a=$rev_sha muxd_a=$muxd
build_targets=(muxd_bin muxd_load)
build_rev "${revs[1]}" "$root/build-bench"
sha_b=$rev_sha muxd_b=$muxd
{ [ -x "$muxd_a" ] && [ -x "$muxd_b" ]; } || die "muxd did not build"
[ -x "$load" ] || die "no muxd-load in ${revs[1]} ($load)"
note "A = ${revs[0]} ($sha_a), B = ${revs[1]} ($sha_b); muxd-load from B"

write_muxd_configs
failures=0 notes=()

# Both revisions must start on a backend under its own name (io_uring
# refused by the kernel falls back), or it is not compared.
usable=()
for b in "${backends[@]}"; do
    ok=1
    for muxd in "$muxd_a" "$muxd_b"; do
        if start_muxd "$tmp/echo.conf" bench -w 1 -b "$b" && [ "$sbackend" = "$b" ]; then
            stop_server 1
        else
            [ "$ok" = 0 ] || notes+=("$b left out: $muxd does not start on it")
            alive "$spid" && stop_server 0
            ok=0
        fi
    done
    [ "$ok" = 0 ] || usable+=("$b")
done
for n in ${notes[@]+"${notes[@]}"}; do note "$n"; done
[ ${#usable[@]} -gt 0 ] || die "no backend starts under both revisions"

# --- runs ------------------------------------------------------------------------

runs="$tmp/runs.jsonl"
: >"$runs"
pin_server=(taskset -c 0) pin_client=(taskset -c 1)
limit() { awk -v a="$1" 'BEGIN { print int(a + 60) }'; }

run_echo() { # side backend round
    start_muxd "$tmp/echo.conf" bench -w 1 -b "$2" || die "muxd ($1) did not start: $start_err"
    run_load echo "$1" "{\"backend\":\"$2\"}" "$3" "$(limit "$warmup + $duration")" \
        echo -c "$echo_conns" -t 1 -s "$echo_size" -d 1 --warmup "$warmup" --duration "$duration"
    stop_server 1
    progress
}

run_chat() { # side backend round
    local caps=()
    [ "$1" = B ] && [ -n "$caps_b" ] && caps=(--caps "$caps_b")
    start_muxd "$tmp/chat.conf" chat -w 1 -b "$2" || die "muxd ($1) did not start: $start_err"
    run_load chat "$1" "{\"backend\":\"$2\",\"members\":$chat_members}" "$3" \
        "$(limit "$warmup + $duration + $chat_drain + $chat_members / 100")" \
        chat -c "$chat_members" -t 1 --channels 1 --senders "$chat_senders" --rate "$chat_rate" \
        --connect-rate "$chat_connect_rate" --warmup "$warmup" --duration "$duration" \
        --drain "$chat_drain" ${caps[@]+"${caps[@]}"}
    stop_server 1
    progress
}

run_side() { # side round
    local b
    if [ "$1" = A ]; then muxd=$muxd_a; else muxd=$muxd_b; fi
    for b in "${usable[@]}"; do
        [ "$only" = chat ] || run_echo "$1" "$b" "$2"
        [ "$only" = echo ] || run_chat "$1" "$b" "$2"
    done
}

started="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
t0=$SECONDS
for ((round = 1; round <= rounds; round++)); do
    note "round $round of $rounds"
    if ((round % 2)); then run_side A "$round"; run_side B "$round"
    else run_side B "$round"; run_side A "$round"; fi
done
note "runs took $((SECONDS - t0)) s"

# --- results -------------------------------------------------------------------------

if [ -n "$out" ]; then mkdir -p "$out"; else out="$(mktemp -d /tmp/muxd-ab.XXXXXX)"; fi
result="$(realpath "$out")/ab.json"

# Medians per (section, backend, side) of the passing runs; null where
# none passed.
jq -s --arg a "$sha_a" --arg b "$sha_b" --arg ra "${revs[0]}" --arg rb "${revs[1]}" \
    --arg started "$started" --argjson quick "$([ "$quick" = 1 ] && echo true || echo false)" \
    --argjson rounds "$rounds" --argjson failures "$failures" \
    --arg load_version "$("$load" --version 2>&1 | head -n1 || true)" \
    --arg cpu "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)" \
    --arg kernel "$(uname -r)" \
    --argjson params "{\"warmup_s\":$warmup,\"duration_s\":$duration,\"echo_conns\":$echo_conns,
                       \"echo_size\":$echo_size,\"chat_members\":$chat_members,
                       \"chat_senders\":$chat_senders,\"chat_rate\":$chat_rate}" '
    def median: sort | if length == 0 then null
                       elif length % 2 == 1 then .[length / 2 | floor]
                       else (.[length / 2 - 1] + .[length / 2]) / 2 end;
    def cpu: if .section == "chat" then .load.server_cpu_us_per_delivery
             else .load.server_cpu_us_per_msg end;
    {tool: "bench/ab.sh", started: $started, quick: $quick, rounds: $rounds,
     a: {rev: $ra, sha: $a}, b: {rev: $rb, sha: $b},
     machine: {cpu: $cpu, kernel: $kernel}, load: {version: $load_version, from: "b"},
     params: $params, failures: $failures,
     medians: (group_by([.section, .backend]) | map(
         (.[0] | {section, backend}) + (
           [.[] | select(.ok)] as $ok
           | reduce ("A", "B") as $s ({}; .[$s] = ([$ok[] | select(.server == $s)]
               | {runs: length, cpu_us: (map(cpu) | median),
                  p99_us: (map(.load.latency_us.p99) | median)}))))),
     runs: .}' "$runs" >"$result"

# Echo CPU is shown per million messages: µs per message = s per 1M.
jq -r '
    def r: if . == null then "-" else (. * 100 | round / 100 | tostring) end;
    def ratio(a; b): if a == null or b == null or a == 0 then "-"
                     else (b / a * 1000 | round / 1000 | tostring) end;
    "cell\tmetric\tA\tB\tB/A",
    ((.medians | sort_by(.section != "echo"))[]
     | (if .section == "echo" then "CPU s/1M msgs" else "CPU us/delivery" end) as $cpu
     | ["\(.section) \(.backend)", $cpu, (.A.cpu_us | r), (.B.cpu_us | r),
        ratio(.A.cpu_us; .B.cpu_us)],
       ["\(.section) \(.backend)", "p99 us", (.A.p99_us | r), (.B.p99_us | r),
        ratio(.A.p99_us; .B.p99_us)]
     | @tsv)' "$result" | column -t -s $'\t'
echo "A = ${revs[0]} ($sha_a), B = ${revs[1]} ($sha_b); medians of $rounds round(s)$([ "$quick" = 0 ] || echo ", --quick")"
note "wrote $result"
[ "$failures" = 0 ] || { note "$failures run(s) failed; see above"; exit 1; }
