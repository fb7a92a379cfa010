#!/usr/bin/env bash
# scripts/fresh-check.sh - checks the README's promise on a fresh Debian 12:
# builds a bookworm minbase root with debootstrap, clones this checkout's
# committed HEAD into it, and there runs ./test.sh and then ./run.sh until
# muxd logs "started", stops it with SIGTERM and expects exit 0. Prints
# PASS or FAIL last; exits 0 only on PASS. Needs root (chroot, mounts);
# installs debootstrap if it is missing. Takes a while: the packages, a
# full build and the whole suite.
#
#   scripts/fresh-check.sh [--keep] [--dir DIR] [--mirror URL]
#     --keep        leave the root in place afterwards (its path is printed)
#     --dir DIR     build the root in DIR (must not exist; default: a new
#                   directory under /var/tmp)
#     --mirror URL  the Debian mirror (default http://deb.debian.org/debian)
#
# Uncommitted changes are not checked: the clone is of HEAD, as a fresh
# machine would get it. run.sh runs in a network namespace of its own (with
# loopback up), so the shipped config's fixed ports cannot clash with a
# muxd already running on this machine; test.sh runs in the host's, since
# it installs packages.
set -euo pipefail

me=fresh-check.sh
repo="$(cd "$(dirname "$0")/.." && pwd)"
keep=0 dir="" mirror=http://deb.debian.org/debian
while [ $# -gt 0 ]; do
    case $1 in
    --keep) keep=1 ;;
    --dir) dir=${2:?--dir needs a directory}; shift ;;
    --mirror) mirror=${2:?--mirror needs a URL}; shift ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "$me: unknown argument '$1'" >&2; exit 2 ;;
    esac
    shift
done

note() { echo "$me: $*" >&2; }
fail() { note "FAIL: $*"; exit 1; }
[ "$(id -u)" -eq 0 ] || fail "needs root (debootstrap, chroot, mounts): sudo $0"

if [ -z "$dir" ]; then
    dir="$(mktemp -d /var/tmp/muxd-fresh.XXXXXX)"
    rmdir "$dir"
fi
[ ! -e "$dir" ] || fail "$dir exists already"
rev="$(git -C "$repo" rev-parse HEAD)"
logs="$dir.logs"
mkdir -p "$logs"
t0=$SECONDS run_pid=""

mounted() { # every mount point under the root, deepest first
    awk -v r="$dir/" 'index($2 "/", r) == 1 { print $2 }' /proc/self/mounts | sort -r
}

# Never removes the root while anything is still mounted in it: an rm -rf
# through a bind mount of /dev would empty the host's.
cleanup() {
    local rc=$? m
    if [ -n "$run_pid" ] && kill -0 "$run_pid" 2>/dev/null; then
        kill -KILL "$run_pid" 2>/dev/null || true
        wait "$run_pid" 2>/dev/null || true
    fi
    for m in $(mounted); do umount -R "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true; done
    if [ -n "$(mounted)" ]; then
        note "still mounted under $dir, left in place: $(mounted | tr '\n' ' ')"
    elif [ "$keep" = 1 ]; then
        note "root kept in $dir"
    elif [ -d "$dir" ]; then
        rm -rf "$dir"
    fi
    note "logs in $logs; $((SECONDS - t0)) s in all"
    [ "$rc" -eq 0 ] && echo "$me: PASS ($rev)" || echo "$me: FAIL ($rev)"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

step() { note "$(date +%T) [$((SECONDS - t0)) s] $*"; }

if ! command -v debootstrap >/dev/null; then
    step "installing debootstrap"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap
fi

step "debootstrap --variant=minbase bookworm $dir $mirror (log: $logs/debootstrap.log)"
debootstrap --variant=minbase bookworm "$dir" "$mirror" >"$logs/debootstrap.log" 2>&1 ||
    { tail -20 "$logs/debootstrap.log" >&2; fail "debootstrap (mirror $mirror)"; }

# The root a mount point of its own, as / is on a machine: `ip netns exec`
# (test_cluster_netns) remounts / as a slave and fails on a plain
# directory. What the suite touches of the kernel: /proc (io_uring's
# probe, the daemon's fd counts), /sys, /dev (null, urandom, shm). rslave:
# unmounting them later must not reach the host's.
mount --bind "$dir" "$dir"
mount -t proc proc "$dir/proc"
mount --rbind /sys "$dir/sys" && mount --make-rslave "$dir/sys"
mount --rbind /dev "$dir/dev" && mount --make-rslave "$dir/dev"
cp /etc/resolv.conf "$dir/etc/resolv.conf"

step "cloning $repo at $rev into /root/muxd"
git clone -q "$repo" "$dir/root/muxd"
git -C "$dir/root/muxd" checkout -q --detach "$rev"

# A login-like environment: nothing of this shell's leaks in.
in_root() { # command...
    chroot "$dir" /usr/bin/env -i HOME=/root TERM=dumb LANG=C.UTF-8 \
        PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$@"
}

step "./test.sh (log: $logs/test.log)"
test_rc=0
in_root /bin/bash -c 'cd /root/muxd && ./test.sh' >"$logs/test.log" 2>&1 || test_rc=$?
grep -E '^[0-9]+% tests passed|tests failed out of|^\s+[0-9]+ - .*\((Failed|Timeout|Not Run|SEGFAULT|Subprocess aborted)\)' \
    "$logs/test.log" >&2 || true
grep -E 'Skipped|\*\*\*Skipped' "$logs/test.log" | head -20 >&2 || true
[ "$test_rc" -eq 0 ] || { tail -30 "$logs/test.log" >&2; fail "./test.sh exited $test_rc"; }

step "./run.sh until muxd logs 'started', then SIGTERM (log: $logs/run.log)"
unshare --net chroot "$dir" /usr/bin/env -i HOME=/root TERM=dumb LANG=C.UTF-8 \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    /bin/bash -c 'ip link set lo up && cd /root/muxd && exec ./run.sh' >"$logs/run.log" 2>&1 &
run_pid=$!
for ((i = 0; i < 6000; i++)); do # 10 minutes: run.sh builds first
    grep -q 'started: backend=' "$logs/run.log" && break
    kill -0 "$run_pid" 2>/dev/null || break
    sleep 0.1
done
grep -q 'started: backend=' "$logs/run.log" ||
    { tail -20 "$logs/run.log" >&2; fail "./run.sh: muxd never logged 'started'"; }
grep -E 'started: backend=|listener ' "$logs/run.log" >&2 || true
kill -TERM "$run_pid"
run_rc=0
for ((i = 0; i < 150; i++)); do kill -0 "$run_pid" 2>/dev/null || break; sleep 0.1; done
kill -0 "$run_pid" 2>/dev/null && fail "./run.sh: muxd still running 15 s after SIGTERM"
wait "$run_pid" || run_rc=$?
run_pid=""
[ "$run_rc" -eq 0 ] || { tail -20 "$logs/run.log" >&2; fail "./run.sh: muxd exited $run_rc after SIGTERM"; }
[ -x "$dir/root/muxd/build/src/load/muxd-load" ] || fail "./run.sh did not build muxd-load"
step "done: ./test.sh passed, ./run.sh started and stopped cleanly"
