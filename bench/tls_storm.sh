#!/usr/bin/env bash
# bench/tls_storm.sh - does a storm of TLS handshakes stall a worker's
# established clients? One worker serves 200 established echo clients (a
# plain listener; muxd-load, open loop at 4000 msg/s, latency from each
# message's intended send time) while new TLS clients arrive at RATE
# handshakes per second on a TLS listener of the same worker (RSA-3072
# certificate: each handshake costs the server a signature of a few ms).
# Four cells, interleaved ROUNDS times: handshakes on the offload pool or
# inline, with and without the storm. Prints each run and the medians of
# the established clients' p50/p99 (us) and the handshakes made.
#
# Pinning (2-core machine): the worker on CPU 0; muxd-load, the storm and
# the offload thread on CPU 1 (the pool thread is moved there after start,
# so "offload" really takes the signatures off the worker's core).
# The measuring client must not wait behind the pool's signatures on its
# own core, or it measures itself: muxd-load runs SCHED_FIFO (PRIO, 0 =
# off; needs root or CAP_SYS_NICE, else it runs as before, said so).
#   ROUNDS=3 RATE=100 DUR=8 PRIO=20 bench/tls_storm.sh [build-dir]
set -u
B="$(cd "$(dirname "$0")/.." && pwd)/${1:-build}"
ROUNDS=${ROUNDS:-3} RATE=${RATE:-100} DUR=${DUR:-8} PRIO=${PRIO:-20}
rt=()
if [ "$PRIO" -gt 0 ] && chrt -f "$PRIO" true 2>/dev/null; then
    rt=(chrt -f "$PRIO")
elif [ "$PRIO" -gt 0 ]; then
    echo "note: cannot run muxd-load SCHED_FIFO here; it shares CPU 1 with the pool as is"
fi
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
openssl req -x509 -newkey rsa:3072 -nodes -subj /CN=bench -days 2 \
    -keyout "$d/k.pem" -out "$d/c.pem" 2>/dev/null || { echo "openssl req failed"; exit 1; }

cat > "$d/storm.py" <<'PY'
import socket, ssl, sys, threading, time
port, rate, dur = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
done, failed, lock = [0], [0], threading.Lock()
def one():
    try:
        s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=10))
        s.sendall(b"x")
        s.recv(1)
        s.close()
        with lock: done[0] += 1
    except OSError:
        with lock: failed[0] += 1
start = time.monotonic()
k = 0
while True:
    due = start + k / rate
    if due - start >= dur:
        break
    delay = due - time.monotonic()
    if delay > 0:
        time.sleep(delay)
    threading.Thread(target=one, daemon=True).start()
    k += 1
time.sleep(1)
print(done[0], failed[0])
PY

run() { # offload(on|off) storm(yes|no) -> "p50 p99 handshakes"
    cat > "$d/m.conf" <<EOC
[server]
workers = 1
[offload]
threads = 1
[listener plain]
listen = 127.0.0.1:0
protocol = echo
[listener tls]
listen = 127.0.0.1:0
protocol = echo
tls = on
tls_cert = $d/c.pem
tls_key = $d/k.pem
tls_handshake_offload = $1
EOC
    taskset -c 0 "$B/muxd" -c "$d/m.conf" > "$d/log" 2>&1 & local pid=$!
    for _ in $(seq 50); do grep -q started: "$d/log" && break; sleep 0.1; done
    for t in /proc/$pid/task/*; do
        grep -q muxd-off "$t/comm" 2>/dev/null && taskset -p -c 1 "${t##*/}" >/dev/null
    done
    local pp tp
    pp=$(sed -n 's/.*listener plain on 127.0.0.1:\([0-9]*\).*/\1/p' "$d/log")
    tp=$(sed -n 's/.*listener tls on 127.0.0.1:\([0-9]*\).*/\1/p' "$d/log")
    taskset -c 1 "${rt[@]}" "$B/src/load/muxd-load" echo -c 200 --rate 4000 -s 64 --duration "$DUR" \
        --warmup 1 --json "127.0.0.1:$pp" > "$d/echo.json" 2>/dev/null & local e=$!
    local hs="0 0"
    if [ "$2" = yes ]; then
        sleep 1
        hs=$(taskset -c 1 /usr/bin/python3 "$d/storm.py" "$tp" "$RATE" "$((DUR - 1))")
    fi
    wait $e
    kill "$pid"; wait "$pid" 2>/dev/null
    local p50 p99
    p50=$(jq -r '.latency_us.p50' "$d/echo.json")
    p99=$(jq -r '.latency_us.p99' "$d/echo.json")
    echo "$p50 $p99 ${hs%% *}"
}

declare -A all
for r in $(seq "$ROUNDS"); do
    for cell in "on no" "on yes" "off no" "off yes"; do
        set -- $cell
        out=$(run "$1" "$2")
        echo "round $r offload=$1 storm=$2: p50/p99 us, handshakes: $out"
        all["$1 $2"]+="$out"$'\n'
    done
done
echo
echo "medians over $ROUNDS rounds (1 worker, 200 established clients at 4000 msg/s, storm $RATE/s, muxd-load ${rt[*]:-at normal priority}):"
printf '%-8s %-6s %8s %8s %11s\n' offload storm p50_us p99_us handshakes
for cell in "on no" "on yes" "off no" "off yes"; do
    printf '%-8s %-6s ' $cell
    printf '%s' "${all[$cell]}" | awk '{a[NR]=$1; b[NR]=$2; c[NR]=$3}
        function med(x, n,  i, j, t) { for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++)
            if (x[j] < x[i]) { t = x[i]; x[i] = x[j]; x[j] = t } return x[int((n + 1) / 2)] }
        END { printf "%8s %8s %11s\n", med(a, NR), med(b, NR), med(c, NR) }'
done
