#!/usr/bin/env bash
# Builds muxd and runs the whole test suite (unit + integration) with CTest.
#   ./test.sh                           normal build in build/ (and bench/quick, the
#                                       benchmark suite's smoke test)
#   ./test.sh --sanitize address,undefined   ASan+UBSan build in build-address,undefined/
#   ./test.sh --sanitize thread         TSan: the daemon instrumented, integration suite only
# MUXD_WERROR=ON turns warnings into errors (CI sets it). CC picks the compiler.
set -euo pipefail
cd "$(dirname "$0")"

sanitize=""
if [ "${1:-}" = "--sanitize" ]; then
    sanitize="${2:?--sanitize needs address,undefined or thread}"
fi
build="build${sanitize:+-$sanitize}"

scripts/setup.sh bench
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DMUXD_WERROR="${MUXD_WERROR:-OFF}" -DMUXD_SANITIZE="$sanitize" >/dev/null
cmake --build "$build" -j"$(nproc)"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
# Two at a time on a 2-core machine (as many as it has CPUs): most tests
# wait on sockets; the ones that load the machine are RUN_SERIAL
# (tests/CMakeLists.txt).
ctest --test-dir "$build" --output-on-failure -j"$(nproc)"
