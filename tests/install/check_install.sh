#!/usr/bin/env bash
# tests/install/check_install.sh BUILD_DIR SOURCE_DIR: `cmake --install` into a temporary
# prefix and use what it installed as a user would: the files, pkg-config with a C program
# run against the INSTALLED libstele.so, the man page, bash completion and `import stele`.
set -euo pipefail
build=$1 src=$2
tmp=$(mktemp -d /tmp/stele-install.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
p=$tmp/prefix
cmake --install "$build" --prefix "$p" >/dev/null

for f in bin/stele lib/libstele.so.0 lib/libstele.so include/stele.h lib/pkgconfig/stele.pc \
         share/man/man1/stele.1 share/bash-completion/completions/stele share/stele/shapes.onnx \
         lib/python3/dist-packages/stele/__init__.py; do
  [ -e "$p/$f" ] || fail "$f not installed"
done
[ "$(readlink "$p/lib/libstele.so")" = libstele.so.0 ] || fail "libstele.so does not link to .so.0"
soname=$(objdump -p "$p/lib/libstele.so.0" | awk '$1 == "SONAME" {print $2}')
[ "$soname" = libstele.so.0 ] || fail "SONAME is '$soname'"
"$p/bin/stele" --version | grep -q '^stele [0-9]' || fail "installed stele --version"
echo "ok: files, SONAME $soname"

# pkg-config and a C program that loads and runs the model through the installed library
flags=$(PKG_CONFIG_PATH=$p/lib/pkgconfig pkg-config --cflags --libs stele | sed "s/ *$//")
[ "$flags" = "-I$p/include -L$p/lib -lstele" ] || fail "pkg-config gave '$flags'"
cc -std=c11 -Wall -Werror -o "$tmp/hello" "$src/tests/install/hello.c" $flags
lib=$(LD_LIBRARY_PATH=$p/lib ldd "$tmp/hello" | awk '/libstele/ {print $3}')
[ "$lib" = "$p/lib/libstele.so.0" ] || fail "hello resolves libstele to '$lib'"
probs=$(LD_LIBRARY_PATH=$p/lib "$tmp/hello" "$p/share/stele/shapes.onnx")
echo "$probs" | awk 'NF != 4 {exit 1} {s = $1 + $2 + $3 + $4; exit (s < 0.9999 || s > 1.0001)}' ||
  fail "hello printed '$probs', not 4 probabilities"
echo "ok: pkg-config '$flags'; hello through $lib: $probs"

# the man page renders without warnings and carries every command's help
warn=$(groff -man -Tutf8 -ww -z "$p/share/man/man1/stele.1" 2>&1)
[ -z "$warn" ] || fail "groff warnings: $warn"
page=$(MANWIDTH=100 man -l "$p/share/man/man1/stele.1" 2>&1)
cmds=$("$p/bin/stele" --help | awk '/^commands:/ {on = 1; next} on && NF {print $1} !NF {on = 0}')
for cmd in $cmds; do
  grep -q "STELE ${cmd^^}" <<<"$page" || fail "man page lacks the section of '$cmd'"
  for opt in $("$p/bin/stele" "$cmd" --help | grep -Eo '^  --[a-z][a-z-]*'); do
    grep -q -- "$opt" <<<"$page" || fail "man page lacks $cmd's $opt"
  done
done
echo "ok: man page ($(echo "$page" | wc -l) lines)"

# bash completion: commands, options, option values, files
complete_words() {
  bash -c 'source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _stele
           echo "${COMPREPLY[*]}"' _ "$p/share/bash-completion/completions/stele" "$@"
}
got=$(complete_words stele co)
[ "$got" = "convert compare" ] || fail "stele co<TAB> gave '$got'"
[ "$(complete_words stele run --out)" = "--output-dir" ] || fail "stele run --out<TAB>"
[ "$(complete_words stele convert a.pt b --to t)" = "torchscript" ] || fail "--to t<TAB>"
[ "$(complete_words stele profile --group-by "")" = "node op" ] || fail "--group-by <TAB>"
(cd "$src" && [ "$(complete_words stele info models/sha)" = "models/shapes.onnx" ]) ||
  fail "stele info models/sha<TAB>"
n=$(complete_words stele "" | wc -w)
[ "$n" -ge 7 ] || fail "stele <TAB><TAB> offers $n words"
echo "ok: completion (stele co<TAB> -> $(complete_words stele co))"

# the Python module finds the installed library beside itself
out=$(env -u STELE_LIB PYTHONPATH="$p/lib/python3/dist-packages" /usr/bin/python3 -c '
import sys, numpy as np, stele
m = stele.load(sys.argv[1])
y = m.run({"image": np.zeros((1, 1, 32, 32), np.float32)})["probabilities"]
print(stele._L._name, " ".join("%.6f" % v for v in y[0]))' "$p/share/stele/shapes.onnx")
[ "$out" = "$p/lib/libstele.so.0 $probs" ] || fail "python: '$out' (C program: '$probs')"
echo "ok: import stele from the prefix: $out"
