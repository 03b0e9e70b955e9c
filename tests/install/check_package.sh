#!/usr/bin/env bash
# tests/install/check_package.sh BUILD_DIR SOURCE_DIR: scripts/package --build BUILD_DIR makes
# a .deb; check its control data (Depends from dpkg-shlibdeps, md5sums that match), its
# files, and that lintian reports no errors. Exit 77 (skip) when lintian is missing.
set -euo pipefail
build=$1 src=$2
tmp=$(mktemp -d /tmp/stele-pkgtest.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
deb=$("$src/scripts/package" --build "$build" "$tmp")
[ -f "$deb" ] || fail "scripts/package made no .deb"
echo "ok: $(basename "$deb") ($(stat -c %s "$deb") bytes)"

info=$(dpkg-deb -f "$deb" Package Version Architecture Depends)
grep -q '^Depends: .*libc6 (>= ' <<<"$info" || fail "Depends lacks libc6: $info"
for dep in libdnnl libprotobuf-c libzip libgomp; do
  grep -q "^Depends: .*$dep" <<<"$info" || fail "Depends lacks $dep: $info"
done
files=$(dpkg-deb -c "$deb" | awk '{print $6}')
for f in ./usr/bin/stele ./usr/include/stele.h ./usr/share/man/man1/stele.1.gz \
         ./usr/share/bash-completion/completions/stele ./usr/share/doc/stele/copyright \
         ./usr/lib/python3/dist-packages/stele/__init__.py ./usr/share/stele/shapes.onnx; do
  grep -qx -- "$f" <<<"$files" || fail "$f not in the package"
done
grep -q 'libstele\.so\.0\.' <<<"$files" || fail "no libstele.so.0.x in the package"
grep -q '__pycache__\|\.pyc$' <<<"$files" && fail "compiled Python files in the package"
mkdir "$tmp/x"
dpkg-deb -R "$deb" "$tmp/x"
(cd "$tmp/x" && md5sum --quiet -c DEBIAN/md5sums) || fail "md5sums do not match"
n=$(wc -l < "$tmp/x/DEBIAN/md5sums")
[ "$n" -eq "$(find "$tmp/x" -path "$tmp/x/DEBIAN" -prune -o -type f -print | wc -l)" ] ||
  fail "md5sums lists $n files, not every file"
echo "ok: $(grep '^Depends' <<<"$info")"
echo "ok: $n files, md5sums match"

if ! command -v lintian >/dev/null; then
  echo "SKIP: lintian is not installed (scripts/setup installs it); the .deb was not linted"
  exit 77
fi
report=$(lintian --tag-display-limit 0 "$deb" 2>&1 | grep -v 'running with root privileges' || :)
echo "$report"
if grep -q '^E: ' <<<"$report"; then fail "lintian reports errors"; fi
echo "ok: lintian: no errors ($(grep -c '^W: ' <<<"$report" || :) warnings)"
