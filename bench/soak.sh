#!/usr/bin/env bash
# bench/soak.sh [SECONDS] [--plot FILE.svg] [--build DIR] - a soak of muxd:
# for SECONDS (default 600) at once, against one daemon (2 workers):
#   - 5,000 echo connections churning: connect, 1-16 KiB echoed and
#     compared byte for byte, close; every 20th resets mid-write
#     (bench/soak_clients.py);
#   - 200 chat clients in 4 channels, 20 of them sending, every delivery
#     checked for loss, duplicates and order (muxd-load chat), beside 40
#     clients joining, talking and parting in a loop and 20 never-readers
#     that the server cuts at its SendQ and that come back;
#   - 20 light and 5 heavy clients of the work service (SPIN 50 on the
#     offload pool, muxd-load work);
#   - a SIGHUP reload every 60 s (in a run under 2 minutes, one, halfway).
# Every 10 s it samples the daemon's open descriptors, RSS, threads and
# connections (/metrics). Once a minute it pauses the echo churn for 6 s
# (SIGUSR1 to bench/soak_clients.py: cycles under way finish and close, no
# new one starts; the chat and work load go on) and samples RSS and the
# heap in use (muxd_heap_allocated_bytes, mallinfo2) at rest, once the
# churn's memory has gone back. Passes when every echoed byte matched, no
# chat delivery was lost, duplicated or reordered, every reload was
# applied, the descriptors came back to their count before the load, and
# RSS and the heap in use at rest after the first minute drifted less
# than 5 % (the median of the second half's rest samples against the
# first half's; a leak grows both, fragmentation only RSS). RSS under
# churn swings between a floor and a ceiling as bursts come and their
# memory goes back (src/reactor/trim.c): reported, not judged. --plot
# writes RSS and descriptors over time with gnuplot. Loopback only; stops
# by itself; ends only the processes it started. docs/soak.md has a 600 s
# run. Needs a build (build/, or --build DIR: ./test.sh or ./run.sh
# first). The suite runs it for 40 s (ctest bench/soak).
set -euo pipefail
secs=600
plot=""
root="$(cd "$(dirname "$0")/.." && pwd)"
B="$root/build"
while [ $# -gt 0 ]; do
    case "$1" in
        --plot) plot="$2"; shift 2 ;;
        --build) B="$2"; shift 2 ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) secs="$1"; shift ;;
    esac
done
load="$B/src/load/muxd-load"
[ -x "$B/muxd" ] && [ -x "$load" ] || { echo "soak: build first (./test.sh)" >&2; exit 2; }
d=$(mktemp -d /tmp/muxd-soak.XXXXXX)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$d"
}
trap cleanup EXIT

cat > "$d/muxd.conf" <<EOC
[server]
workers = 2
[listener echo]
listen = 127.0.0.1:0
protocol = echo
[listener chat]
listen = 127.0.0.1:0
protocol = chat
flood_rate = 0
[listener work]
listen = 127.0.0.1:0
protocol = work
[limits]
output_max = 256k
output_high_water = 64k
output_low_water = 16k
[admin]
listen = 127.0.0.1:0
EOC
"$B/muxd" -c "$d/muxd.conf" > "$d/log" 2>&1 & mpid=$!
pids+=("$mpid")
for _ in $(seq 100); do grep -q "started:" "$d/log" && break; sleep 0.1; done
port() { sed -n "s/.*listener $1 on 127.0.0.1:\([0-9]*\).*/\1/p" "$d/log" | head -1; }
ep=$(port echo); cp=$(port chat); wp=$(port work); ap=$(port admin)
metric() { # sum of a metric's samples
    exec 3<>"/dev/tcp/127.0.0.1/$ap"
    printf 'GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' >&3
    awk -v m="$1" 'index($0, m"{") == 1 || $1 == m { s += $NF } END { print s + 0 }' <&3
    exec 3<&-
}
sample() { # t fds rss_kb threads conns
    echo "$1 $(ls /proc/$mpid/fd | wc -l) $(awk '/VmRSS/{print $2}' /proc/$mpid/status)" \
         "$(ls /proc/$mpid/task | wc -l) $(metric muxd_connections_open)"
}
sleep 1
fds0=$(ls /proc/$mpid/fd | wc -l)
echo "soak: muxd pid $mpid, echo $ep, chat $cp, work $wp, admin $ap; $secs s; fds before: $fds0"

t0=$(date +%s)
/usr/bin/python3 "$root/bench/soak_clients.py" "$secs" "$ep" "$cp" > "$d/clients.json" \
    2> "$d/clients.err" & cl=$!
pids+=("$cl")
"$load" chat -c 200 --channels 4 --senders 20 --rate 200 -s 400 --warmup 2 --duration "$((secs - 4))" \
    --drain 5 --json "127.0.0.1:$cp" > "$d/chat.json" 2> "$d/chat.err" & ch=$!
pids+=("$ch")
"$load" work -c 20 --heavy 5 --warmup 1 --duration "$((secs - 2))" --json "127.0.0.1:$wp" \
    > "$d/work.json" 2> "$d/work.err" & wk=$!
pids+=("$wk")

echo "t fds rss_kb threads conns" > "$d/samples"
: > "$d/rest"
hups=0
# A short run (the suite's) reloads once, halfway: at 60 s it would be
# past its end.
next_hup=$((t0 + (secs < 120 ? secs / 2 : 60)))
next_rest=$((t0 + 30))
# RSS with the echo churn paused: its connections close, the chat and work
# load go on; a second after the closes stop, trim.c gives their memory back.
rest_sample() {
    kill -USR1 "$cl" 2>/dev/null || return 0
    sleep 6
    echo "$(($(date +%s) - t0)) $(awk '/VmRSS/{print $2}' /proc/$mpid/status)" \
         "$(($(metric muxd_heap_allocated_bytes) / 1024))" \
         "$(($(metric muxd_output_queued_bytes) / 1024))" "$(metric muxd_connections_open)" \
         >> "$d/rest"
    kill -USR2 "$cl"
    tail -1 "$d/rest" |
        sed 's/^/soak: at rest (echo churn paused 6 s): t rss_kb heap_kb queued_kb conns: /'
}
while kill -0 "$cl" 2>/dev/null || kill -0 "$ch" 2>/dev/null; do
    now=$(date +%s)
    sample $((now - t0)) >> "$d/samples"
    tail -1 "$d/samples" | sed 's/^/soak: t fds rss threads conns: /'
    if [ "$now" -ge "$next_hup" ] && [ $((now - t0)) -lt $((secs - 5)) ]; then
        kill -HUP "$mpid"; hups=$((hups + 1)); next_hup=$((next_hup + 60))
    fi
    if [ "$now" -ge "$next_rest" ] && [ $((now - t0)) -lt $((secs - 15)) ]; then
        rest_sample; next_rest=$((next_rest + 60))
    fi
    sleep 10
done
rc=0
wait "$cl" || rc=1
wait "$ch" || rc=1
wait "$wk" || rc=1
sendq=$(metric muxd_chat_sendq_kills_total)
sleep 3
now=$(date +%s)
sample $((now - t0)) >> "$d/samples"
fds1=$(ls /proc/$mpid/fd | wc -l)

echo "soak: clients $(cat "$d/clients.json")"
/usr/bin/python3 - "$d" "$fds0" "$fds1" "$hups" "$secs" "$sendq" <<'PY' || rc=1
import json, statistics, sys
d, fds0, fds1, hups, secs, sendq = (sys.argv[1], int(sys.argv[2]), int(sys.argv[3]),
                                    int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6]))
bad = []
cl = json.load(open(f"{d}/clients.json"))
if cl["mismatches"] or cl["short"]:
    bad.append(f"echo: {cl['mismatches']} mismatched, {cl['short']} short")
if cl["errors"]:
    bad.append(f"clients: {cl['errors']} errors, first: {cl['first_error']}")
chat = json.load(open(f"{d}/chat.json"))
lost = chat.get("lost", 0) + chat.get("duplicated", 0) + chat.get("reordered", 0)
print(f"soak: chat {chat.get('deliveries')} deliveries, lost {chat.get('lost')}, "
      f"duplicated {chat.get('duplicated')}, reordered {chat.get('reordered')}, "
      f"late {chat.get('late')}")
if lost:
    bad.append("chat deliveries lost, duplicated or reordered")
work = json.load(open(f"{d}/work.json"))
print(f"soak: work {json.dumps({k: work[k] for k in work if k in ('messages', 'errors', 'heavy')})}")
print(f"soak: never-readers cut at their SendQ: {sendq} ({cl['never_readers']} connected)")
if secs >= 180 and sendq == 0:
    bad.append("no never-reader was cut at its SendQ")
applied = open(f"{d}/log").read().count("reload: ")
print(f"soak: {hups} reloads sent, {applied} reload lines")
if hups and applied < hups:
    bad.append(f"{hups} reloads sent, {applied} logged")
print(f"soak: descriptors {fds0} before, {fds1} after")
if fds1 != fds0:
    bad.append(f"descriptors: {fds1} after, {fds0} before")
rows = [l.split() for l in open(f"{d}/samples").read().splitlines()[1:]]
rss = [(int(r[0]), int(r[2])) for r in rows if len(r) >= 3]
mid = 60 + (secs - 60) // 2
first = [v for t, v in rss if 60 <= t < mid]
second = [v for t, v in rss if mid <= t < secs]
if len(first) >= 5 and len(second) >= 5:
    lo = (min(second) - min(first)) / min(first) * 100
    hi = (max(second) - max(first)) / max(first) * 100
    print(f"soak: RSS under churn from 60 s to {mid} s, then to the end (not judged): floor "
          f"{min(first)} -> {min(second)} kB ({lo:+.1f} %), ceiling {max(first)} -> "
          f"{max(second)} kB ({hi:+.1f} %), median {statistics.median(first):.0f} -> "
          f"{statistics.median(second):.0f} kB")
# At rest: RSS, and the heap in use (mallinfo2), which a leak grows and
# fragmentation does not. Each judged by the medians of the halves.
rest = [tuple(map(int, l.split()[:3])) for l in open(f"{d}/rest").read().splitlines()]
if sum(1 for t, r, h in rest if 60 <= t < mid) >= 2 and \
        sum(1 for t, r, h in rest if mid <= t < secs) >= 2:
    for k, what in ((1, "RSS"), (2, "heap in use")):
        a = [row[k] for row in rest if 60 <= row[0] < mid]
        b = [row[k] for row in rest if mid <= row[0] < secs]
        m1, m2 = statistics.median(a), statistics.median(b)
        if m1 <= 0:
            print(f"soak: {what} at rest not measured (a sanitizer's allocator reports none)")
            continue
        drift = (m2 - m1) / m1 * 100
        print(f"soak: {what} at rest, first half {a} kB, second half {b} kB: median "
              f"{m1:.0f} -> {m2:.0f} kB ({drift:+.1f} %)")
        if drift >= 5:
            bad.append(f"{what} at rest drifted {drift:+.1f} %")
else:
    print("soak: run too short for the RSS drift check (needs about 300 s)")
for b in bad:
    print("soak: FAIL:", b)
sys.exit(1 if bad else 0)
PY
grep -E "ERROR|sanitizer" "$d/log" | head -5 && rc=1
if [ -n "$plot" ]; then
    gnuplot <<EOG
set terminal svg size 800,400
set output "$plot"
set title "muxd soak: RSS and open descriptors ($secs s, 2-core VM)"
set xlabel "seconds"
set ylabel "RSS (MB)"
set y2label "open descriptors"
set y2tics
set key left top
plot "$d/samples" using 1:(\$3/1024) every ::1 with lines title "RSS (MB)", \
     "$d/samples" using 1:2 every ::1 axes x1y2 with lines title "descriptors"
EOG
    echo "soak: plot in $plot"
    cp "$d/samples" "${plot%.svg}.dat"
fi
[ $rc = 0 ] && echo "soak: PASS" || echo "soak: FAIL"
exit $rc
