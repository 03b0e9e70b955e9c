#!/usr/bin/python3
"""tests/conformance/infer_tests.py: stele's static inference against ONNX's own.

For every model of the given suites (ONNX backend node cases, multi-node models, PyTorch
exports), the declared types of outputs and intermediates are stripped, ONNX's
shape_inference (Debian's python3-onnx) infers them again, and `stele info --json` infers
them on the same stripped file. Wherever ONNX infers a type, stele must agree: same dtype,
same rank, every fixed extent equal and every symbol the same. Places where one side
knows more are listed, each with a reason, in infer_known.txt ("CASE VALUE reason"); an
unlisted difference fails the test, and so does a listed one that no longer occurs (so the
list only shrinks).
"""
import argparse
import concurrent.futures as cf
import json
import os
import subprocess
import sys
import tempfile

try:
    import onnx
    from onnx import shape_inference
except ImportError:
    print("infer_tests: SKIP: Debian's python3-onnx is not installed", file=sys.stderr)
    sys.exit(77)

DTYPES = {
    1: "float32", 2: "uint8", 3: "int8", 4: "uint16", 5: "int16", 6: "int32", 7: "int64",
    8: "string", 9: "bool", 10: "float16", 11: "float64", 12: "uint32", 13: "uint64",
    14: "complex64", 15: "complex128", 16: "bfloat16",
    17: "float8e4m3fn", 18: "float8e4m3fnuz", 19: "float8e5m2", 20: "float8e5m2fnuz",
    21: "uint4", 22: "int4", 23: "float4e2m1", 24: "float8e8m0", 25: "uint2", 26: "int2",
}


def onnx_type(tp):
    """(kind, dtype, shape) from a TypeProto; shape None = unknown rank; None if no type."""
    which = tp.WhichOneof("value")
    if which == "tensor_type":
        tt = tp.tensor_type
        if not tt.elem_type:
            return None
        shape = None
        if tt.HasField("shape"):
            shape = []
            for d in tt.shape.dim:
                w = d.WhichOneof("value")
                # ONNX names extents it cannot know unk__N: those are unknown, not symbols
                sym = d.dim_param if w == "dim_param" and not d.dim_param.startswith("unk__") else None
                shape.append(d.dim_value if w == "dim_value" else sym)
        return ("tensor", DTYPES.get(tt.elem_type, "type%d" % tt.elem_type), shape)
    if which == "sequence_type":
        inner = onnx_type(tp.sequence_type.elem_type)
        return ("sequence", inner[1], inner[2]) if inner else ("sequence", None, None)
    if which == "optional_type":
        inner = onnx_type(tp.optional_type.elem_type)
        return inner
    return None


def strip(model):
    """Drop every declared type but the graph inputs'."""
    g = model.graph
    del g.value_info[:]
    for o in g.output:
        o.type.Clear()
    return model


def compare(ours, theirs):
    """A list of (what, detail) differences between stele's value and ONNX's type."""
    kind, dtype, shape = theirs
    if ours is None:
        return [("missing", "stele lists no such value")]
    diffs = []
    if dtype and ours.get("dtype") != dtype:
        diffs.append(("dtype", "stele %s, onnx %s" % (ours.get("dtype"), dtype)))
    oshape = ours.get("shape")
    if shape is None:
        return diffs
    if oshape is None:
        diffs.append(("less", "stele rank unknown, onnx %s" % (shape,)))
        return diffs
    if len(oshape) != len(shape):
        diffs.append(("rank", "stele %s, onnx %s" % (oshape, shape)))
        return diffs
    for a, b in zip(oshape, shape):
        if b is None or a == b:
            continue
        if a is None:
            diffs.append(("less", "stele %s, onnx %s" % (oshape, shape)))
        elif isinstance(a, int) and isinstance(b, str):
            diffs.append(("more", "stele %s, onnx %s" % (oshape, shape)))
        elif isinstance(a, str) and isinstance(b, str):
            continue  # both symbolic: ONNX invents its own names (unk__N) for new extents
        else:
            diffs.append(("conflict", "stele %s, onnx %s" % (oshape, shape)))
        break
    return diffs


def check_model(stele, path, case, tmp):
    model = strip(onnx.load(path))
    try:
        inferred = shape_inference.infer_shapes(model, strict_mode=False)
    except Exception as e:  # noqa: BLE001 - ONNX's own failure: nothing to compare with
        return case, [], "onnx: %s" % str(e).splitlines()[0][:100]
    stripped = os.path.join(tmp, case.replace("/", "_") + ".onnx")
    onnx.save(model, stripped)
    r = subprocess.run([stele, "info", "--json", stripped], capture_output=True, text=True, timeout=120)
    os.unlink(stripped)
    if r.returncode != 0:
        return case, [("*", "load", r.stderr.strip()[:200])], None
    ours = {v["name"]: v for v in json.loads(r.stdout)["values"]}
    theirs = {}
    for vi in list(inferred.graph.value_info) + list(inferred.graph.output):
        t = onnx_type(vi.type)
        if t:
            theirs[vi.name] = t
    out = []
    for name, t in theirs.items():
        for what, detail in compare(ours.get(name), t):
            out.append((name, what, detail))
    return case, out, None


def torch_exports(tmp):
    """The interop models (tests/interop/torch_onnx.py) and a few more, exported by Debian's
    PyTorch at opsets 13 and 17, with a fixed and with a symbolic batch."""
    try:
        import torch
        import torchvision
    except ImportError as e:
        print("infer_tests: SKIP PyTorch exports: %s" % e, file=sys.stderr)
        return []
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "interop"))
    import torch_onnx  # noqa: E402 - the interop suite's models

    extra = [("squeezenet1_1", lambda: torchvision.models.squeezenet1_1(weights=None), (1, 3, 224, 224)),
             ("shufflenet_v2", lambda: torchvision.models.shufflenet_v2_x0_5(weights=None), (1, 3, 224, 224))]
    out = []
    for name, make, shape in list(torch_onnx.cases()) + extra:
        torch.manual_seed(0)
        model = make().eval()
        x = torch.randn(shape)
        for opset in (13, 17):
            for dyn in (False, True):
                label = "torch/%s_op%d%s" % (name, opset, "_dyn" if dyn else "")
                path = os.path.join(tmp, label.replace("/", "_") + ".onnx")
                axes = {"x": {0: "batch"}, "y": {0: "batch"}} if dyn else None
                with torch.no_grad():
                    torch.onnx.export(model, x, path, opset_version=opset, input_names=["x"],
                                      output_names=["y"], dynamic_axes=axes)
                out.append((label, path))
    return out


def load_known(path):
    known = {}
    if path and os.path.exists(path):
        for line in open(path):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            parts = line.split(None, 2)
            if len(parts) < 3:
                sys.exit("infer_tests: %s: each line needs CASE VALUE REASON: %r" % (path, line))
            known[(parts[0], parts[1])] = parts[2]
    return known


def cases_of(suite, label):
    for d in sorted(os.listdir(suite)):
        p = os.path.join(suite, d, "model.onnx")
        if os.path.exists(p):
            yield "%s/%s" % (label, d), p


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--stele", default=os.environ.get("STELE", "stele"))
    ap.add_argument("--suite", action="append", default=[], help="LABEL=DIR of case folders")
    ap.add_argument("--model", action="append", default=[], help="LABEL=FILE.onnx")
    ap.add_argument("--torch-exports", action="store_true",
                    help="also export the interop models with Debian's PyTorch and compare them")
    ap.add_argument("--known", help="listed differences, one 'CASE VALUE reason' a line")
    ap.add_argument("--write-known", help="write the differences found to this file and pass")
    args = ap.parse_args()
    cases = []
    for s in args.suite:
        label, d = s.split("=", 1)
        if not os.path.isdir(d):
            print("infer_tests: SKIP suite %s: %s is absent" % (label, d), file=sys.stderr)
            continue
        cases.extend(cases_of(d, label))
    for m in args.model:
        label, p = m.split("=", 1)
        cases.append((label, p))
    exports = tempfile.TemporaryDirectory()
    if args.torch_exports:
        cases.extend(torch_exports(exports.name))
    if not cases:
        print("infer_tests: SKIP: no suite found", file=sys.stderr)
        return 77
    known = load_known(args.known)
    found = {}
    agreed = compared = onnx_failed = 0
    with tempfile.TemporaryDirectory() as tmp, cf.ThreadPoolExecutor(os.cpu_count() or 2) as ex:
        for case, diffs, onnx_err in ex.map(lambda c: check_model(args.stele, c[1], c[0], tmp), cases):
            if onnx_err:
                onnx_failed += 1
                continue
            compared += 1
            agreed += not diffs
            for name, what, detail in diffs:
                found[(case, name)] = "%s: %s" % (what, detail)
    if args.write_known:
        with open(args.write_known, "w") as f:
            for (case, name), d in sorted(found.items()):
                f.write("%s %s %s\n" % (case, name, d))
    new = {k: v for k, v in found.items() if k not in known}
    gone = [k for k in known if k not in found and any(k[0] == c for c, _ in cases)]
    for (case, name), d in sorted(new.items()):
        print("DIFF %s value %s: %s" % (case, name, d))
    for case, name in sorted(gone):
        print("FIXED %s value %s: listed in %s but stele now agrees; remove the line" % (case, name, args.known))
    print("infer: %d models compared, %d agree on every value, %d listed differences, "
          "%d new, %d fixed (ONNX could not infer %d)" % (compared, agreed, len(found) - len(new),
                                                           len(new), len(gone), onnx_failed))
    failed = len(new) + len(gone)
    print("%d passed, %d failed" % (compared - len({c for c, _ in new}), failed))
    return 1 if failed and not args.write_known else 0


if __name__ == "__main__":
    sys.exit(main())
