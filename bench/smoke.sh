#!/usr/bin/env bash
# bench/smoke.sh - the ctest smoke test bench/quick: runs `suite.sh --quick`
# into a fresh scratch directory and checks that the tools worked: the
# suite's exit status, that its JSON parses and holds a run of every
# section, and that the report and its plots were written. It never looks
# at a timing.
#
#   bench/smoke.sh DIR [suite.sh options...]     (DIR is emptied first)
set -euo pipefail
dir=${1:?usage: smoke.sh DIR [suite.sh options]}
shift
here="$(cd "$(dirname "$0")" && pwd)"
rm -rf "$dir"
mkdir -p "$dir"
fail() { echo "smoke.sh: FAILED: $*" >&2; exit 1; }

"$here/suite.sh" --quick --out "$dir" "$@" || fail "suite.sh --quick exited $?"
result="$(ls "$dir"/*-suite-quick.json)" || fail "no result file in $dir"
jq -e '.runs | length > 0' "$result" >/dev/null || fail "$result: no runs, or not JSON"
for s in echo unpinned idle idlelat chat fanout heavy; do
    jq -e --arg s "$s" '[.runs[] | select(.section == $s and .ok)] | length > 0' "$result" >/dev/null ||
        fail "$result: no passing run in section $s"
done
jq -e '[.runs[] | select(.section == "chat" and (.server | startswith("muxd")))] | length > 0' \
    "$result" >/dev/null || echo "smoke.sh: note: muxd was left out of the chat runs" >&2
[ -s "$dir/benchmarks.md" ] || fail "no $dir/benchmarks.md"
! grep -n '@[A-Z_]*@' "$dir/benchmarks.md" || fail "placeholders left in benchmarks.md"
for p in echo-cpu echo-throughput echo-p99 idle-rss idlelat-p99 chat-cpu chat-p99 fanout-cpu fanout-p99 \
    heavy-p99; do
    [ -s "$dir/img/bench-$p.png" ] || fail "no plot $dir/img/bench-$p.png"
done
echo "smoke.sh: ok ($result)"
