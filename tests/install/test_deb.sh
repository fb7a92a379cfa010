#!/usr/bin/env bash
# test_deb.sh BUILD_DIR - the Debian package: `cpack -G DEB` builds it, it
# holds the daemon, the unit, the config (a conffile) and the man pages,
# and, unpacked into a scratch root, its muxd checks its own config. The
# man pages go through groff's warnings. Exit 77 = skipped.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "$1" && pwd)
command -v cpack >/dev/null || { echo "SKIP: cpack not found"; exit 77; }
command -v dpkg-deb >/dev/null || { echo "SKIP: dpkg-deb not found"; exit 77; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/muxd-deb.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fail() { echo "test_deb.sh: FAIL: $*" >&2; exit 1; }

echo "== cpack -G DEB"
(cd "$tmp" && timeout 300 cpack -G DEB --config "$build/CPackConfig.cmake" >cpack.log 2>&1) ||
    { cat "$tmp/cpack.log"; fail "cpack"; }
deb=$(ls "$tmp"/muxd_*.deb 2>/dev/null | head -n1)
[ -n "$deb" ] || fail "no muxd_*.deb made"
echo "== dpkg -c $(basename "$deb")"
dpkg-deb -c "$deb" | awk '{ print $6 }' > "$tmp/files"
for f in ./usr/bin/muxd ./usr/bin/muxd-load ./etc/muxd/muxd.conf \
         ./usr/lib/systemd/system/muxd.service ./usr/share/man/man8/muxd.8 \
         ./usr/share/man/man5/muxd.conf.5 ./usr/share/man/man1/muxd-load.1; do
    grep -qx "$f" "$tmp/files" || fail "$f is not in the package"
done
dpkg-deb -I "$deb" conffiles | grep -qx /etc/muxd/muxd.conf || fail "muxd.conf is not a conffile"
dpkg-deb -f "$deb" Depends | grep -q liburing2 || fail "no dependency on liburing2"

echo "== unpacked into a scratch root"
root=$tmp/root
dpkg-deb -x "$deb" "$root"
unit=$root/usr/lib/systemd/system/muxd.service
grep -qx "ExecStart=/usr/bin/muxd -c /etc/muxd/muxd.conf" "$unit" || fail "the unit's ExecStart"
timeout 30 "$root/usr/bin/muxd" --check-config -c "$root/etc/muxd/muxd.conf" >/dev/null ||
    fail "the packaged muxd refuses the packaged config"
"$root/usr/bin/muxd-load" --help >/dev/null || fail "the packaged muxd-load"

if command -v groff >/dev/null; then
    echo "== man pages through groff -ww"
    for m in "$root"/usr/share/man/man*/*; do
        out=$(LC_ALL=C groff -man -ww -z -Tutf8 "$m" 2>&1) || fail "groff on $m"
        [ -z "$out" ] || fail "groff warns on $(basename "$m"): $out"
    done
fi
echo "test_deb.sh: ok ($(wc -l < "$tmp/files") entries)"
