#!/usr/bin/env bash
# test_install.sh BUILD_DIR [CFLAG...] - the installed library works.
#
# Runs `cmake --install BUILD_DIR` into a temporary prefix, checks the
# installed files, then builds every installed example (share/doc/muxd/
# examples/*.c) the way a user would:
#   $CC -std=c17 ... app.c $(pkg-config --cflags --libs muxd)
# (and once more with --static), and smoke-tests each one with smoke.sh.
# CFLAGs are added to every example compile: a sanitizer build passes its
# -fsanitize flags, since its libmuxd.a needs the runtime at link time.
# Environment: CC (default cc), CMAKE (default cmake). Exit 77 = skipped.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$1
shift
extra=("$@")
cc=${CC:-cc}
cmake=${CMAKE:-cmake}

command -v pkg-config >/dev/null || { echo "SKIP: pkg-config not found"; exit 77; }
command -v "$cc" >/dev/null || { echo "SKIP: compiler $cc not found"; exit 77; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/muxd-install.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix
fail() { echo "test_install.sh: FAIL: $*" >&2; exit 1; }

echo "== cmake --install $build --prefix $prefix"
timeout 120 "$cmake" --install "$build" --prefix "$prefix" >"$tmp/install.log" 2>&1 ||
    { cat "$tmp/install.log"; fail "cmake --install"; }

pc=$(find "$prefix" -name muxd.pc -path '*/pkgconfig/*' | head -n1)
[ -n "$pc" ] || fail "no pkgconfig/muxd.pc installed"
libdir=$(dirname "$(dirname "$pc")")
for f in "$libdir/libmuxd.a" "$prefix/bin/muxd" "$prefix/share/muxd/muxd.conf" \
         "$prefix/include/muxd/muxd.h"; do
    [ -f "$f" ] || fail "missing $f"
done
for h in "$here"/../../include/muxd/*.h; do
    cmp -s "$h" "$prefix/include/muxd/$(basename "$h")" || fail "header $(basename "$h") not installed"
done
ls "$prefix"/share/doc/muxd/examples/*.c >/dev/null 2>&1 || fail "no examples in share/doc/muxd/examples"

echo "== installed daemon"
"$prefix/bin/muxd" --version
timeout 30 "$prefix/bin/muxd" --check-config -c "$prefix/share/muxd/muxd.conf" >/dev/null ||
    fail "muxd --check-config on the installed muxd.conf"

echo "== installed layout: etc/muxd/muxd.conf and the systemd unit"
conf=$prefix/etc/muxd/muxd.conf
unit=$prefix/lib/systemd/system/muxd.service
[ -f "$conf" ] || fail "missing $conf"
[ -f "$unit" ] || fail "missing $unit"
timeout 30 "$prefix/bin/muxd" --check-config -c "$conf" >/dev/null ||
    fail "muxd --check-config on $conf"
grep -qx "ExecStart=$prefix/bin/muxd -c $conf" "$unit" || fail "the unit does not run $prefix/bin/muxd on $conf"
grep -qx "Type=notify" "$unit" || fail "the unit is not Type=notify"
grep -qx 'ExecReload=/bin/kill -HUP $MAINPID' "$unit" || fail "the unit has no ExecReload"
echo "# edited" >> "$conf"
timeout 120 "$cmake" --install "$build" --prefix "$prefix" >"$tmp/install2.log" 2>&1 ||
    fail "cmake --install, a second time"
tail -n1 "$conf" | grep -qx "# edited" || fail "a second install overwrote the operator's $conf"

export PKG_CONFIG_PATH="$libdir/pkgconfig"
flags=$(pkg-config --cflags --libs muxd)
sflags=$(pkg-config --static --cflags --libs muxd)
echo "== pkg-config --cflags --libs muxd: $flags"
echo "== pkg-config --static --cflags --libs muxd: $sflags"
[ "$(pkg-config --modversion muxd)" != "" ] || fail "pkg-config --modversion muxd"
case " $flags " in *" -I$prefix/"*|*" -I$libdir/pkgconfig/"*) ;; *) fail "Cflags do not point into $prefix" ;; esac

"$cc" -std=c17 -O1 -Wall -Wextra -Werror "$here/smoke_client.c" -o "$tmp/smoke_client" ||
    fail "building the smoke client"

n=0
for src in "$prefix"/share/doc/muxd/examples/*.c; do
    name=$(basename "$src" .c)
    echo "== $name: $cc -std=c17 ${extra[*]} $name.c \$(pkg-config --cflags --libs muxd)"
    # shellcheck disable=SC2086 # pkg-config output is a list of words
    "$cc" -std=c17 -O1 -g -Wall -Wextra -Wshadow -Werror "${extra[@]}" "$src" \
        -o "$tmp/$name" $flags || fail "building $name"
    # shellcheck disable=SC2086
    "$cc" -std=c17 -O1 -Wall -Wextra -Wshadow -Werror "${extra[@]}" "$src" \
        -o "$tmp/$name-static" $sflags || fail "building $name with pkg-config --static"
    "$here/smoke.sh" "$tmp/$name" "$name" "$tmp/smoke_client" || fail "smoke test of $name"
    n=$((n + 1))
done
echo "test_install.sh: ok ($n examples built and run against the installed library)"
