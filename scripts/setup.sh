#!/usr/bin/env bash
# Installs the Debian packages muxd needs to build and test, if missing.
# Called by run.sh and test.sh; safe to run again.
#   scripts/setup.sh          build and test (python3-irc: the real IRC
#                             client the chat tests drive)
#   scripts/setup.sh bench    also what bench/ runs: the peers (libevent,
#                             ngircd, inspircd), gnuplot for the plots
# Debian's policy-rc.d (present in container images) keeps the installed
# IRC daemons from starting as services; bench/ starts its own on loopback.
set -euo pipefail

pkgs=(build-essential cmake pkg-config clang
      liburing-dev libinih-dev libcriterion-dev python3-irc)
if [ "${1:-}" = "bench" ]; then
    pkgs+=(jq libevent-dev ngircd inspircd gnuplot-nox)
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
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
