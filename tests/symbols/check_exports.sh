#!/usr/bin/env bash
# check_exports.sh LIB INCLUDE_DIR CC - the installed library exports only
# its public API: every global `mx_` symbol defined in LIB (libmuxd.a) must
# be declared by include/muxd. The compiler is the judge: a file that
# includes muxd/muxd.h and takes the address of each symbol must compile.
# Internal names use the `mx__` prefix (or are static) and are skipped.
set -euo pipefail
lib=${1:?usage: check_exports.sh LIB INCLUDE_DIR CC}
inc=${2:?include dir}
cc=${3:-cc}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

nm -g --defined-only "$lib" | awk 'NF == 3 && $2 ~ /^[TDBRC]$/ { print $3 }' |
    grep '^mx_' | grep -v '^mx__' | sort -u > "$tmp/syms"
if [ ! -s "$tmp/syms" ]; then
    echo "no mx_ symbols found in $lib: wrong library?" >&2
    exit 1
fi
{
    echo '#include "muxd/muxd.h"'
    echo 'void check_exports(void);'
    echo 'void check_exports(void) {'
    sed 's/.*/    (void)\&&;/' "$tmp/syms"
    echo '}'
} > "$tmp/check.c"
# Every undeclared name, not the first 20 (clang's default limit).
limit=-fmax-errors=0
"$cc" --version 2>/dev/null | grep -q clang && limit=-ferror-limit=0
if ! LC_ALL=C "$cc" -std=c17 -fsyntax-only $limit -I"$inc" "$tmp/check.c" 2> "$tmp/err"; then
    echo "libmuxd.a exports mx_ symbols that include/muxd does not declare" >&2
    echo "(make them static, or name them mx__ if other files need them):" >&2
    sed -n -e "s/.*'\(mx_[a-z0-9_]*\)' undeclared.*/  \1/p" \
        -e "s/.*undeclared identifier '\(mx_[a-z0-9_]*\)'.*/  \1/p" "$tmp/err" | sort -u >&2
    exit 1
fi
echo "$(wc -l < "$tmp/syms") exported mx_ symbols, all declared in $inc/muxd"
