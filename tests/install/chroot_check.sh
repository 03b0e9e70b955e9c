#!/usr/bin/env bash
# tests/install/chroot_check.sh DEB [ROOT]: issue 16's final check, by hand (needs root, the
# network and minutes, so ctest does not run it). In a Debian 12 root made by debootstrap
# (ROOT, default /var/cache/stele-bookworm, created when missing): apt-get install the .deb,
# then `stele demo`, pkg-config with tests/install/hello.c, `import stele` running resnet18
# (exported here with torchvision and compared with PyTorch), `man stele`, completion; then
# purge it and check that no path it brought is left.
set -euo pipefail
deb=$(realpath "$1")
root=${2:-/var/cache/stele-bookworm}
src=$(cd "$(dirname "$0")/../.." && pwd)
fail() { echo "FAIL: $*" >&2; exit 1; }
[ -d "$root/usr" ] || debootstrap --variant=minbase bookworm "$root" http://deb.debian.org/debian
cp /etc/resolv.conf "$root/etc/resolv.conf"
mountpoint -q "$root/proc" || mount -t proc proc "$root/proc"
trap 'umount "$root/proc" 2>/dev/null || :' EXIT
work=$root/tmp/check
rm -rf "$work" && mkdir -p "$work"
cp "$deb" "$src/tests/install/hello.c" "$work/"
# resnet18 with random weights and PyTorch's output for one input, made on this machine
OMP_NUM_THREADS=1 /usr/bin/python3 - "$work" <<'EOF'
import sys, numpy as np, torch, torchvision
torch.manual_seed(0)
m = torchvision.models.resnet18(weights=None).eval()
x = torch.from_numpy(np.random.default_rng(0).random((1, 3, 224, 224), dtype=np.float32))
torch.onnx.export(m, (x,), f"{sys.argv[1]}/resnet18.onnx", input_names=["input"],
                  output_names=["output"], opset_version=13)
with torch.no_grad():
    np.save(f"{sys.argv[1]}/y_torch.npy", m(x).numpy())
np.save(f"{sys.argv[1]}/x.npy", x.numpy())
EOF

in_root() { chroot "$root" env DEBIAN_FRONTEND=noninteractive OMP_WAIT_POLICY=PASSIVE bash -c "$1"; }
snapshot() {
  in_root 'find / -xdev \( -path /proc -o -path /tmp -o -path /var/cache -o -path /var/log \
    -o -path /var/lib/dpkg -o -path /var/lib/apt -o -path /sys -o -path /dev -o -path /run \
    -o -path /var/lib/systemd \) -prune -o -print | LC_ALL=C sort'
}
# tools the checks use, not stele's dependencies
in_root 'apt-get update -qq && apt-get install -y -qq --no-install-recommends gcc libc6-dev \
  pkg-config man-db bash-completion >/dev/null'
snapshot > "$work/../before.txt"
in_root "cd /tmp/check && apt-get install -y -qq ./$(basename "$deb") >/dev/null"
echo "installed: $(in_root 'dpkg-query -W stele')"

in_root 'cd /tmp/check && stele demo --runs 20 --threads 1 > demo.txt' || fail "stele demo"
echo "ok: stele demo ($(wc -l < "$work/demo.txt") lines)"
in_root 'cd /tmp/check && cc -std=c11 -Wall -Werror hello.c $(pkg-config --cflags --libs stele) \
  -o hello && ./hello /usr/share/stele/shapes.onnx' > "$work/hello.txt" || fail "hello.c"
echo "ok: pkg-config + hello.c: $(cat "$work/hello.txt")"
in_root 'cd /tmp/check && python3 -c "
import numpy as np, stele
m = stele.load(\"resnet18.onnx\")
y = m.run({\"input\": np.load(\"x.npy\")})[\"output\"]
err = float(abs(y - np.load(\"y_torch.npy\")).max())
assert y.shape == (1, 1000) and err < 1e-4, err
print(\"ok: python3 resnet18\", y.shape, \"max abs vs PyTorch\", err, \"via\", stele._L._name)
"' || fail "python3 resnet18"
in_root 'MANWIDTH=80 man stele 2>/dev/null | grep -q "STELE RUN"' || fail "man stele"
echo "ok: man stele"
got=$(in_root 'source /usr/share/bash-completion/bash_completion; _completion_loader stele
  COMP_WORDS=(stele co); COMP_CWORD=1; _stele; echo "${COMPREPLY[*]}"')
[ "$got" = "convert compare" ] || fail "stele co<TAB> gave '$got'"
echo "ok: bash completion through bash-completion's loader: stele co<TAB> -> $got"

in_root 'apt-get purge -y -qq stele >/dev/null && apt-get autoremove --purge -y -qq >/dev/null'
snapshot > "$work/../after.txt"
left=$(diff "$work/../before.txt" "$work/../after.txt" | grep '^>' || :)
grep -qi stele <<<"$left" && fail "left behind: $(grep -i stele <<<"$left")"
echo "ok: purged; no stele path left ($(grep -c . <<<"$left" || :) other new paths, from" \
     "packages apt keeps installed: $(in_root 'apt-mark showauto | grep -E "^(openssl|ca-cert)"' |
     tr '\n' ' '))"
