#!/usr/bin/env bash
# Installs the Debian packages muxd needs to build and test, if missing.
# Called by run.sh and test.sh; safe to run again.
set -euo pipefail

pkgs=(build-essential cmake pkg-config clang
      liburing-dev libinih-dev libcriterion-dev)

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
