#!/usr/bin/env bash
# tests/fuzz/run.sh SECONDS [NAME...] - builds the fuzz harnesses (clang,
# ASan+UBSan, in build-fuzz/) and runs each (or those named) for SECONDS,
# from its committed seeds; new inputs land in build-fuzz/tests/fuzz/found/.
# Prints each harness's executions; a crash stops with its input saved as
# build-fuzz/crash-* (make it a unit test, add it to the seeds).
set -euo pipefail
cd "$(dirname "$0")/../.."
secs="${1:?usage: tests/fuzz/run.sh SECONDS [NAME...]}"
shift
scripts/setup.sh
CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DMUXD_SANITIZE=address,undefined -DMUXD_BUILD_BENCH=OFF >/dev/null
names=("$@")
[ ${#names[@]} -eq 0 ] && names=($(cd tests/fuzz && ls fuzz_*.c | sed 's/\.c$//'))
cmake --build build-fuzz -j"$(nproc)" --target "${names[@]}"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
for n in "${names[@]}"; do
    found="build-fuzz/tests/fuzz/found/$n"
    mkdir -p "$found"
    out=$(build-fuzz/tests/fuzz/"$n" -max_total_time="$secs" -timeout=10 -rss_limit_mb=1024 \
          -print_final_stats=1 -artifact_prefix=build-fuzz/ "$found" "tests/fuzz/corpus/$n" 2>&1) || {
        printf '%s\n' "$out" | tail -40
        echo "$n: FAILED"
        exit 1
    }
    execs=$(printf '%s\n' "$out" | sed -n 's/^stat::number_of_executed_units: *//p')
    echo "$n: $execs executions in $secs s, no crash"
done
