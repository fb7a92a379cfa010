#!/usr/bin/env bash
# bench/perip_flood.sh - does a connection flood from one address hurt the
# clients of another, with max_connections_per_ip on? Each round measures
# echo round trips from 127.0.0.1 (muxd-load, open loop) twice: quiet, and
# while flooders connect from 127.0.0.2 as fast as they can, each keeping
# what muxd admits (so the address stays at its limit and every further
# connect is refused at the acceptor). Prints p50/p99 of each round side by
# side, their medians, the flood's connect rate and muxd's refusal count.
#
# Placement, as the rest of bench/: muxd on CPU 0, muxd-load and the
# flooders on CPU 1.
#
#   bench/perip_flood.sh [--build DIR] [--rounds N] [--duration S]
#                        [--rate R] [--conns C] [--flooders F] [--limit L]
#
# Defaults: build/, 3 rounds of 5 s, 10000 msg/s over 50 connections, 2
# flooder processes, max_connections_per_ip = 100. Needs python3, jq and
# taskset.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

build="$root/build" rounds=3 duration=5 rate=10000 conns=50 flooders=2 limit=100
while [ $# -gt 0 ]; do
    case $1 in
    --build) build=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    --rate) rate=$2; shift 2 ;;
    --conns) conns=$2; shift 2 ;;
    --flooders) flooders=$2; shift 2 ;;
    --limit) limit=$2; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) bad_arg "$1" ;;
    esac
done
use_build "$build"
[ -x "$muxd" ] && [ -x "$load" ] || die "no muxd or muxd-load in $build (build it first)"
command -v jq >/dev/null && command -v python3 >/dev/null && command -v taskset >/dev/null ||
    die "needs jq, python3 and taskset"
track_processes muxd-perip

cat >"$tmp/muxd.conf" <<EOF
[server]
workers = 1
[listener echo]
listen = 127.0.0.1:0
protocol = echo
[limits]
max_connections_per_ip = $limit
EOF

# One flooder: connect from 127.0.0.2, give muxd 50 ms to refuse (a
# refused socket reads EOF at once), keep the ones it admits; report the
# counts when told to stop.
cat >"$tmp/flood.py" <<'EOF'
import select, signal, socket, sys, time
port = int(sys.argv[1]); out = sys.argv[2]
held, n, refused, t0 = [], 0, 0, time.monotonic()
def done(*_):
    with open(out, "w") as f:
        f.write("%d %d %d %.3f\n" % (n, refused, len(held), time.monotonic() - t0))
    sys.exit(0)
signal.signal(signal.SIGTERM, done)
while True:
    s = socket.socket()
    s.bind(("127.0.0.2", 0))
    try:
        s.connect(("127.0.0.1", port))
    except OSError:
        s.close(); continue
    n += 1
    r, _, _ = select.select([s], [], [], 0.05)
    if r:
        try:
            gone = s.recv(1) == b""
        except OSError:
            gone = True
        if gone:
            refused += 1
            s.close()
            continue
    held.append(s)
EOF

pin_server=(taskset -c 0)
start_muxd "$tmp/muxd.conf" echo || die "muxd did not start: $start_err"
pin_server=()

echo_run() { # json-file
    taskset -c 1 "$load" echo -c "$conns" --rate "$rate" --duration "$duration" --json \
        "127.0.0.1:$sport" >"$1" 2>"$1.err" || die "muxd-load failed: $(tail -3 "$1.err")"
}

pct() { jq -r ".latency_us.$2" "$1"; }

printf '%-6s %12s %12s %12s %12s %14s\n' round quiet_p50 quiet_p99 flood_p50 flood_p99 flood_conn/s
for ((r = 1; r <= rounds; r++)); do
    echo_run "$tmp/quiet-$r.json"
    fl=()
    for ((k = 0; k < flooders; k++)); do
        taskset -c 1 python3 "$tmp/flood.py" "$sport" "$tmp/flood-$r-$k.out" &
        fl+=("$!")
        pids+=("$!")
    done
    sleep 1 # the flood is under way (and the address at its limit) before measuring
    echo_run "$tmp/flood-$r.json"
    for p in "${fl[@]}"; do stop_pid "$p" 50 || true; done
    rate_s="$(cat "$tmp"/flood-"$r"-*.out | awk '{n += $1; t = $4 > t ? $4 : t} END {printf "%.0f", n / t}')"
    printf '%-6s %12s %12s %12s %12s %14s\n' "$r" "$(pct "$tmp/quiet-$r.json" p50)" \
        "$(pct "$tmp/quiet-$r.json" p99)" "$(pct "$tmp/flood-$r.json" p50)" \
        "$(pct "$tmp/flood-$r.json" p99)" "$rate_s" | tee -a "$tmp/rows"
done
median() { sort -n | awk '{v[NR] = $1} END {print NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
printf '%-6s %12s %12s %12s %12s %14s\n' median "$(awk '{print $2}' "$tmp/rows" | median)" \
    "$(awk '{print $3}' "$tmp/rows" | median)" "$(awk '{print $4}' "$tmp/rows" | median)" \
    "$(awk '{print $5}' "$tmp/rows" | median)" "$(awk '{print $6}' "$tmp/rows" | median)"
echo "(round trips in microseconds; $conns clients, $rate msg/s, ${duration}s per run; max_connections_per_ip = $limit)"
stop_pid "$spid" 100 || true
grep -E "max_connections_per_ip: [0-9]+ connections refused|acceptor stopped" "$slog" | sed 's/.*muxd: /muxd: /'
grep -cE "max_connections_per_ip \([0-9]+\) reached" "$slog" | sed 's/^/muxd: refusal bursts warned: /'
