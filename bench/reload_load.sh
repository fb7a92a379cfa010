#!/usr/bin/env bash
# bench/reload_load.sh - 500 echo clients and 100 chat clients under load
# while the config is reloaded 6 times (workers 4 -> 2 -> 6 -> 2 -> 6 -> 3 -> 4,
# max_line, log level, chat ping_interval):
# muxd-load verifies every echoed byte and every chat delivery. Needs
# build/ (./test.sh or ./run.sh first), jq and python3. Prints muxd-load's
# verdicts and how long each reload took (SIGHUP to its log line).
set -u
B="$(cd "$(dirname "$0")/.." && pwd)/build"
d=$(mktemp -d)
conf=$d/m.conf
write() { cat > $conf <<EOC
[server]
workers = $4
[listener echo]
listen = 127.0.0.1:0
protocol = echo
[listener chat]
listen = 127.0.0.1:0
protocol = chat
flood_rate = 0
ping_interval = $1
[limits]
max_line = $2
[log]
level = $3
EOC
}
write 120s 8k info 4
$B/muxd -c $conf > $d/log 2>&1 & pid=$!
for i in $(seq 50); do grep -q started: $d/log && break; sleep 0.1; done
ep=$(sed -n 's/.*listener echo on 127.0.0.1:\([0-9]*\).*/\1/p' $d/log); cp=$(sed -n 's/.*listener chat on 127.0.0.1:\([0-9]*\).*/\1/p' $d/log)
$B/src/load/muxd-load echo -c 500 -t 2 --duration 14 --json 127.0.0.1:$ep > $d/echo.json 2> $d/echo.err & e=$!
$B/src/load/muxd-load chat -c 100 --channels 4 --senders 10 --rate 200 --duration 12 --json 127.0.0.1:$cp > $d/chat.json 2> $d/chat.err & c=$!
sleep 3
set -- 2 6 2 6 3 4
for k in 1 2 3 4 5 6; do
  n=$1; shift
  if [ $((k % 2)) = 1 ]; then write 60s 16k debug $n; else write 120s 8k info $n; fi
  kill -HUP $pid; sleep 1.5
done
wait $e; er=$?; wait $c; cr=$?
kill $pid; wait $pid; sr=$?
echo "echo rc=$er chat rc=$cr muxd rc=$sr"
jq -c '{msgs: .messages, errors: .errors, p99_us: .latency_us.p99, closed: .closed}' $d/echo.json 2>/dev/null || head -c 600 $d/echo.json
jq -c '{sent: .messages, deliveries, lost, late, dup: .duplicated, reordered}' $d/chat.json 2>/dev/null || head -c 600 $d/chat.json
cat $d/echo.err $d/chat.err | tail -3
grep -c "reload: applied" $d/log
python3 - $d/log <<'PY'
import sys,re,datetime
t=lambda l: datetime.datetime.strptime(l[:23],"%Y-%m-%dT%H:%M:%S.%f")
lines=open(sys.argv[1]).read().splitlines()
start=None; out=[]
for l in lines:
    if 'reloading' in l: start=t(l)
    elif 'reload: applied' in l and start: out.append((t(l)-start).total_seconds()*1000); start=None
print("reload ms:", ["%.1f"%x for x in out])
PY
grep -E "workers: " $d/log | sed 's/.*muxd: //'
grep -E "closed:|WARN|ERROR" $d/log | grep -v "reload" | head -5
echo "dir $d"
