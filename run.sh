#!/usr/bin/env bash
# Builds muxd (and muxd-load, the load generator the README uses) and runs
# muxd in the foreground on the shipped config.
# Extra arguments go to muxd (e.g. ./run.sh -w 4).
set -euo pipefail
cd "$(dirname "$0")"
scripts/setup.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" --target muxd_bin muxd_load
exec build/muxd -c config/muxd.conf "$@"
