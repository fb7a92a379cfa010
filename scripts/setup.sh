#!/usr/bin/env bash
# Installs the Debian packages muxd needs to build and test, if missing.
# Called by run.sh and test.sh; safe to run again.
#   scripts/setup.sh          build and test (python3-irc: the real IRC
#                             client the chat tests drive;
#                             python3-prometheus-client: the parser that
#                             checks the admin listener's /metrics;
#                             haproxy: the real PROXY protocol sender
#                             tests/integration/test_proxy.c puts in
#                             front of muxd; weechat-headless: the real
#                             IRC client over TLS of test_tls_weechat.c;
#                             the irc and logger plugins it needs are in
#                             weechat-core, which it depends on, so not
#                             weechat-plugins: it is driven by -r commands,
#                             not the fifo or relay;
#                             python3-websockets: the WebSocket client of
#                             test_ws_chat.c (ws_client.py): a real
#                             RFC 6455 client beside raw IRC sockets;
#                             python3-selenium, chromium, chromium-driver:
#                             test_ws_browser.c loads the web client page
#                             (web/index.html) in headless Chromium and
#                             drives it with selenium through chromedriver;
#                             redis-server: the real Redis the cluster
#                             tests start on loopback free ports;
#                             libhiredis-dev: hiredis, the Redis client
#                             library of the cluster bus (src/cluster/),
#                             Debian's 0.14; iproute2: ip, with which
#                             test_cluster_netns.c puts a node in a network
#                             namespace and cuts its link to Redis)
#   scripts/setup.sh bench    also what bench/ runs: the peers (libevent,
#                             ngircd, inspircd), gnuplot for the plots, jq,
#                             ss (iproute2, in the list above: free ports
#                             for the IRC peers),
#                             git (the revision built), column
#                             (bsdextrautils: ab.sh's table); test.sh asks
#                             for these too, since the suite's quick mode
#                             is a smoke test (bench/quick)
# Every other command the scripts and tests call comes from these or from
# Debian's essential set (coreutils, util-linux's taskset, mawk, sed,
# findutils, diffutils): nm from binutils (build-essential), python3 from
# python3-irc.
# The IRC daemons, haproxy and redis-server must not start as system
# services on install (ngircd would take port 6667 from muxd's chat; the
# cluster tests start their own Redis, so one on 6379 would only be a
# stray server): where no policy-rc.d says so already, one that refuses
# every start is in place during the install.
set -euo pipefail

pkgs=(build-essential cmake pkg-config clang
      liburing-dev libinih-dev libcriterion-dev libcrypt-dev libssl-dev openssl python3-irc groff-base
      python3-prometheus-client haproxy weechat-headless
      python3-websockets python3-selenium chromium chromium-driver
      redis-server libhiredis-dev iproute2)
if [ "${1:-}" = "bench" ]; then
    pkgs+=(jq libevent-dev ngircd inspircd gnuplot-nox git bsdextrautils)
fi

missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
        missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "setup: installing ${missing[*]}" >&2
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
policy=/usr/sbin/policy-rc.d
added_policy=""
if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\n# muxd scripts/setup.sh: no service starts during its install\nexit 101\n' |
        $sudo tee "$policy" >/dev/null
    $sudo chmod 755 "$policy"
    added_policy=1
fi
trap '[ -n "$added_policy" ] && $sudo rm -f "$policy"' EXIT
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
