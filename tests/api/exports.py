#!/usr/bin/env python3
"""tests/api/exports.py: libstele.so exports exactly the functions include/stele.h declares
ST_API (every defined dynamic symbol starts with st_ and is declared; every declaration is
exported) and carries its versioned SONAME. It reads the built files and changes nothing."""
import argparse
import re
import subprocess
import sys

ap = argparse.ArgumentParser()
ap.add_argument("--lib", required=True)
ap.add_argument("--header", required=True)
ap.add_argument("--soname", required=True)
ap.add_argument("--test-hooks", choices=["ON", "OFF"], default="OFF")
a = ap.parse_args()

# ST_API declarations; those inside #ifdef STELE_TEST_HOOKS exist only in test builds.
declared, hooks_only, in_hooks = set(), set(), False
for line in open(a.header, encoding="utf-8"):
    if line.startswith("#ifdef STELE_TEST_HOOKS"):
        in_hooks = True
    elif in_hooks and line.startswith("#endif"):
        in_hooks = False
    m = re.match(r"ST_API\b[^(]*?\b(st_\w+)\s*\(", line)
    if m:
        (hooks_only if in_hooks else declared).add(m.group(1))
if a.test_hooks == "ON":
    declared |= hooks_only

dyn = subprocess.run(["objdump", "-T", a.lib], capture_output=True, text=True, check=True).stdout
exported = set()
for line in dyn.splitlines():
    f = line.split()
    if len(f) >= 6 and re.fullmatch(r"[0-9a-f]{8,}", f[0]) and "*UND*" not in f:
        exported.add(f[-1])

problems = []
for s in sorted(exported):
    if not s.startswith("st_"):
        problems.append(f"exported symbol without the st_ prefix: {s}")
    elif s not in declared:
        problems.append(f"exported but not declared ST_API in stele.h: {s}")
for s in sorted(declared - exported):
    problems.append(f"declared ST_API in stele.h but not exported: {s}")

hdr = subprocess.run(["objdump", "-p", a.lib], capture_output=True, text=True, check=True).stdout
soname = re.search(r"^\s*SONAME\s+(\S+)", hdr, re.M)
if not soname or soname.group(1) != a.soname:
    problems.append(f"SONAME is {soname and soname.group(1)}, expected {a.soname}")

if len(declared) < 50:  # the header parse itself went wrong
    problems.append(f"only {len(declared)} ST_API declarations found in {a.header}")
for p in problems:
    print("FAIL", p)
print(f"{len(exported)} exported, {len(declared)} declared, {len(problems)} problems")
sys.exit(1 if problems else 0)
