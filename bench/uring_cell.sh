#!/usr/bin/env bash
# bench/uring_cell.sh - one echo cell on muxd with server keys of your
# choosing: how the io_uring receive path's settings (uring_buffers,
# uring_incremental, uring_bundles, uring_fixed_files) move the server's
# CPU per message, side by side in rounds.
#
#   bench/uring_cell.sh [--build DIR] [--rounds N] [--seconds S]
#                       CONNS SIZE DEPTH SERVER...
#
# SERVER is BACKEND or BACKEND:KEY=VALUE,KEY=VALUE ([server] keys), for
# example epoll io_uring io_uring:uring_buffers=256. Each round runs every
# SERVER once, in the order given, each a fresh `muxd -w 1` pinned to CPU
# 0 with `muxd-load echo -c CONNS -s SIZE -d DEPTH` on CPU 1 (0.5 s
# warm-up, then S seconds, default 3). Prints one line per run: the server
# CPU µs per message (muxd-load's --server-pid figure), messages per
# second, and the receives the admin port counted as bundles and as
# finding the buffer ring empty; then the median per SERVER. Programs of
# --build DIR (default build-bench, as suite.sh builds it).
set -euo pipefail

# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"

build_dir="$root/build-bench" rounds=3 seconds=3 failures=0
while [ $# -gt 0 ]; do
    case "$1" in
    --build) build_dir="$(realpath "${2:?--build needs a directory}")"; shift ;;
    --rounds) rounds="${2:?--rounds needs a number}"; shift ;;
    --seconds) seconds="${2:?--seconds needs a number}"; shift ;;
    -h | --help) usage; exit 0 ;;
    -*) bad_arg "$1" ;;
    *) break ;;
    esac
    shift
done
[ $# -ge 4 ] || { usage >&2; exit 2; }
conns=$1 size=$2 depth=$3
shift 3
command -v jq >/dev/null || die "jq is needed (scripts/setup.sh bench)"
use_build "$build_dir"
[ -x "$muxd" ] && [ -x "$load" ] || die "no muxd or muxd-load in $build_dir"
track_processes muxd-uring-cell

# A config per SERVER: a raw echo listener, an admin port, its keys.
for s in "$@"; do
    {
        printf '[listener bench]\nlisten = 127.0.0.1:0\nprotocol = echo\nmode = raw\n'
        printf '[admin]\nlisten = 127.0.0.1:0\n[server]\n'
        [[ $s != *:* ]] || tr ',' '\n' <<<"${s#*:}" | sed 's/=/ = /'
    } >"$tmp/$(tr -c 'a-zA-Z0-9_\n' _ <<<"$s").conf"
done

metric() { # admin-port name: summed over workers (bash's /dev/tcp: no curl needed)
    { exec 3<>"/dev/tcp/127.0.0.1/$1" && printf 'GET /metrics HTTP/1.0\r\n\r\n' >&3 && cat <&3; exec 3<&-; } | awk -v n="$2" '$1 ~ "^" n "({|$)" { s += $2 } END { print s + 0 }'
}

: >"$tmp/runs.tsv"
for ((r = 1; r <= rounds; r++)); do
    for s in "$@"; do
        conf="$tmp/$(tr -c 'a-zA-Z0-9_\n' _ <<<"$s").conf"
        start_muxd "$conf" bench -w 1 -b "${s%%:*}" || die "$s did not start: $start_err"
        aport="$(sed -n 's/.*admin.* on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$slog" | head -n1)"
        taskset -c 1 "$load" echo -c "$conns" -t 1 -s "$size" -d "$depth" --warmup 0.5 \
            --duration "$seconds" --json --server-pid "$spid" "127.0.0.1:$sport" >"$tmp/run.json" ||
            die "$s: muxd-load failed"
        bundles="$(metric "$aport" muxd_uring_bundle_receives_total)"
        enobufs="$(metric "$aport" muxd_uring_enobufs_total)"
        stop_server 1
        jq -r --arg s "$s" --arg b "$bundles" --arg e "$enobufs" \
            '[$s, .server_cpu_us_per_msg, (.msgs_per_s | round), $b, $e] | @tsv' \
            "$tmp/run.json" | tee -a "$tmp/runs.tsv" |
            awk -F'\t' '{ printf "%-48s %.2f us/msg  %d msg/s  bundles %s  empty ring %s\n", $1, $2, $3, $4, $5 }'
    done
done
echo "medians over $rounds rounds ($conns conns, $size B, depth $depth):"
for s in "$@"; do
    awk -F'\t' -v s="$s" '$1 == s { print $2 }' "$tmp/runs.tsv" | sort -g |
        awk -v s="$s" '{ v[NR] = $1 } END { printf "  %-46s %.2f us/msg\n", s,
            NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
done
