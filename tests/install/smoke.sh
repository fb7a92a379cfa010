#!/usr/bin/env bash
# smoke.sh BIN NAME CLIENT - smoke test of one example server.
#
# Starts BIN -p 0 (an ephemeral port on 127.0.0.1), reads the port from the
# "listener NAME on 127.0.0.1:PORT (protocol P)" line it logs on stderr,
# runs CLIENT NAME PORT (tests/install/smoke_client.c), then stops BIN with
# SIGTERM and expects exit status 0. Every wait is bounded; BIN's log is
# shown on failure.
set -euo pipefail
bin=$1 name=$2 client=$3

log=$(mktemp "${TMPDIR:-/tmp}/muxd-smoke-$name.XXXXXX")
pid=""
cleanup() {
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$log"
}
trap cleanup EXIT
die() {
    echo "smoke.sh: $name: FAIL: $*" >&2
    echo "--- $name stderr:" >&2
    cat "$log" >&2
    exit 1
}

"$bin" -p 0 2>"$log" &
pid=$!

port=""
for _ in $(seq 100); do # 10 s
    port=$(sed -n 's/.*listener [^ ]* on 127\.0\.0\.1:\([0-9][0-9]*\) (protocol .*/\1/p' "$log" | head -n1)
    [ -n "$port" ] && break
    kill -0 "$pid" 2>/dev/null || die "exited before listening"
    sleep 0.1
done
[ -n "$port" ] || die "no 'listener ... on 127.0.0.1:PORT' line within 10 s"

rc=0
timeout 30 "$client" "$name" "$port" || rc=$?
[ "$rc" -eq 0 ] || die "client exited with status $rc"

kill -TERM "$pid"
for _ in $(seq 150); do # 15 s
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
done
kill -0 "$pid" 2>/dev/null && die "still running 15 s after SIGTERM"
rc=0
wait "$pid" || rc=$?
pid=""
[ "$rc" -eq 0 ] || die "exit status $rc after SIGTERM (expected 0)"
echo "smoke.sh: $name on port $port: ok"
