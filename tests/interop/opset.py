#!/usr/bin/env python3
"""Interop: `stele convert --opset N` moves models between opset versions without changing
what they compute.

The interop models (Debian's PyTorch exports at opsets 13 and 17: MLP, CNN with BatchNorm,
resnet18, mobilenet_v2) go to opsets 11, 18 and 21; onnxruntime-node gives the same outputs on
each result as on the original (within 1e-5), the file imports the target opset and Debian's
ONNX 1.12 checker accepts it (it knows opsets <= 17 only). A hand-built model of the ops whose
signatures changed (axes, split, pads, slice bounds, k, clip bounds as attributes or inputs)
goes 10 -> 18 -> 10 (and 18 -> 9) the same way, and so do Upsample-9 (11, 18, 7, 10) and
Resize-13 with sizes (11, 18, 21). A LayerNormalization node moved to opset 16
is refused: exit 2 and one line naming the node."""
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

import numpy as np  # noqa: E402

try:
    import onnx
    from onnx import TensorProto, helper
except ImportError as e:
    common.skip_all(f"onnx not importable under {sys.executable}: {e}")

ATOL = 1e-5
TARGETS = (11, 18, 21)


def ai_onnx_opset(path):
    m = onnx.load(path)
    return [o.version for o in m.opset_import if o.domain in ("", "ai.onnx")]


def convert(src, dst, opset):
    return common.run_stele(["convert", src, dst, "--opset", str(opset)], check=False)


def check_converted(rep, label, src, dst, opset, inputs, want):
    """dst was written from src: opset import, checker, onnxruntime against want."""
    r = convert(src, dst, opset)
    verdict = r.stdout.strip().splitlines()[-1] if r.stdout.strip() else r.stderr.strip()
    if r.returncode != 0 or "verify: PASS" not in r.stdout:
        rep.check(label, False, f"exit {r.returncode}: {verdict}")
        return False
    got_opset = ai_onnx_opset(dst)
    if got_opset != [opset]:
        rep.check(label, False, f"ai.onnx opset import is {got_opset}, expected [{opset}]")
        return False
    checker = "checker skipped (ONNX 1.12 knows opsets <= 17)"
    if opset <= 17:
        try:
            onnx.checker.check_model(onnx.load(dst), full_check=True)
            checker = "checker ok"
        except Exception as e:  # the checker's complaint is the failure
            rep.check(label, False, f"onnx.checker: {str(e).splitlines()[0]}")
            return False
    try:
        got = common.ort_outputs(dst, inputs)
    except Exception as e:
        rep.check(label, False, str(e).splitlines()[-1][:300])
        return False
    errs = []
    for name, w in want.items():
        g = got.get(name)
        ok_shape = g is not None and g.shape == w.shape
        errs.append(float(np.max(np.abs(g.astype(np.float64) - w))) if ok_shape else float("inf"))
    err = max(errs) if errs else float("inf")
    rep.check(label, err <= ATOL, f"onnxruntime max abs diff {err:.3g} vs the original; {checker}")
    return err <= ATOL


def torch_models(rep, tmp):
    try:
        import torch
        import torch_onnx
    except ImportError as e:
        print(f"SKIPPED torch models: PyTorch not importable: {e}", flush=True)
        return
    for name, make, shape in torch_onnx.cases():
        torch.manual_seed(0)
        gen = torch.Generator().manual_seed(1)
        model = make()
        with torch.no_grad():
            torch_onnx.randomize_bn(model, gen)
        model.eval()
        x = torch.randn(shape, generator=gen)
        for opset in (13, 17):
            src = os.path.join(tmp, f"{name}_op{opset}.onnx")
            torch.onnx.export(model, x, src, opset_version=opset, input_names=["x"],
                              output_names=["y"])
            inputs = {"x": x.numpy()}
            want = {k: v.astype(np.float64) for k, v in common.ort_outputs(src, inputs).items()}
            for t in TARGETS:
                dst = os.path.join(tmp, f"{name}_op{opset}_to{t}.onnx")
                check_converted(rep, f"{name} opset {opset} -> {t}", src, dst, t, inputs, want)


def changed_ops_model(path):
    """Opset-10 forms: axes, split, pads, min/max as attributes; slice bounds and k as inputs."""
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 6, 4])
    nodes = [
        helper.make_node("Unsqueeze", ["x"], ["u"], axes=[0]),                   # [1,2,6,4]
        helper.make_node("Squeeze", ["u"], ["s"], axes=[0]),                     # [2,6,4]
        helper.make_node("ReduceSum", ["s"], ["rs"], axes=[2], keepdims=1),      # [2,6,1]
        helper.make_node("ReduceMean", ["s"], ["rm"], axes=[1, 2], keepdims=0),  # [2]
        helper.make_node("Split", ["s"], ["p0", "p1"], axis=1, split=[2, 4]),
        helper.make_node("Split", ["s"], ["q0", "q1", "q2"], axis=1),            # equal parts
        helper.make_node("Clip", ["p1"], ["c"], min=-0.5, max=0.75),
        helper.make_node("Pad", ["p0"], ["pd"], mode="constant", pads=[0, 1, 0, 0, 0, 2],
                         value=1.5),
        helper.make_node("TopK", ["q2", "kk"], ["tv", "ti"], axis=-1),
        helper.make_node("Softmax", ["q1"], ["sm"], axis=2),
        helper.make_node("Flatten", ["rs"], ["fl"], axis=1),
        helper.make_node("Concat", ["fl", "fl"], ["cat"], axis=1),
        helper.make_node("Dropout", ["cat"], ["dr"]),
    ]
    # Slice and TopK are given with their inputs (opset 10 has only that form)
    inits = [helper.make_tensor("kk", TensorProto.INT64, [1], [2]),
             helper.make_tensor("st", TensorProto.INT64, [2], [0, 1]),
             helper.make_tensor("en", TensorProto.INT64, [2], [1, 3]),
             helper.make_tensor("ax", TensorProto.INT64, [2], [0, 2])]
    nodes.append(helper.make_node("Slice", ["s", "st", "en", "ax"], ["sl"]))
    outs = ["rm", "c", "pd", "tv", "ti", "sm", "dr", "sl", "q0"]
    g = helper.make_graph(nodes, "changed_ops", [x], [helper.make_empty_tensor_value_info(o)
                                                     for o in outs], initializer=inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 10)])
    m.ir_version = 5
    onnx.save(m, path)


def changed_ops(rep, tmp):
    src = os.path.join(tmp, "changed_op10.onnx")
    changed_ops_model(src)
    inputs = {"x": np.random.default_rng(3).standard_normal((2, 6, 4)).astype(np.float32)}
    want = {k: v.astype(np.float64) for k, v in common.ort_outputs(src, inputs).items()}
    up = os.path.join(tmp, "changed_to18.onnx")
    if check_converted(rep, "changed ops 10 -> 18", src, up, 18, inputs, want):
        m = onnx.load(up)
        axes_inputs = [n.op_type for n in m.graph.node if n.op_type in ("Unsqueeze", "ReduceMean")
                       and len(n.input) == 2 and not any(a.name == "axes" for a in n.attribute)]
        rep.check("changed ops 10 -> 18 takes axes as inputs", len(axes_inputs) == 2,
                  f"{axes_inputs}")
        down = os.path.join(tmp, "changed_back10.onnx")
        check_converted(rep, "changed ops 18 -> 10", up, down, 10, inputs, want)
        check_converted(rep, "changed ops 18 -> 9", up, os.path.join(tmp, "c9.onnx"), 9, inputs,
                        want)


def resize_models(tmp):
    """Upsample at opset 9 (scales as an input) and Resize at 13 (sizes; roi/scales omitted)."""
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 3, 4])
    outs = [helper.make_empty_tensor_value_info(o) for o in ("n", "l")]
    inits = [helper.make_tensor("sn", TensorProto.FLOAT, [4], [1, 1, 2, 2]),
             helper.make_tensor("sl", TensorProto.FLOAT, [4], [1, 1, 2, 3])]
    nodes = [helper.make_node("Upsample", ["x", "sn"], ["n"], mode="nearest"),
             helper.make_node("Upsample", ["x", "sl"], ["l"], mode="linear")]
    m = helper.make_model(helper.make_graph(nodes, "up9", [x], outs, initializer=inits),
                          opset_imports=[helper.make_opsetid("", 9)])
    m.ir_version = 4
    up9 = os.path.join(tmp, "upsample9.onnx")
    onnx.save(m, up9)
    inits = [helper.make_tensor("sz", TensorProto.INT64, [4], [1, 2, 5, 7]),
             helper.make_tensor("sc", TensorProto.FLOAT, [4], [1, 1, 2, 2])]
    nodes = [helper.make_node("Resize", ["x", "", "", "sz"], ["l"], mode="linear",
                              coordinate_transformation_mode="half_pixel"),
             helper.make_node("Resize", ["x", "", "sc"], ["n"], mode="nearest",
                              coordinate_transformation_mode="asymmetric", nearest_mode="floor")]
    m = helper.make_model(helper.make_graph(nodes, "rs13", [x], outs, initializer=inits),
                          opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 7
    rs13 = os.path.join(tmp, "resize13.onnx")
    onnx.save(m, rs13)
    return up9, rs13


def resize(rep, tmp):
    up9, rs13 = resize_models(tmp)
    inputs = {"x": np.random.default_rng(5).standard_normal((1, 2, 3, 4)).astype(np.float32)}
    for src, steps in ((up9, (11, 18, 7, 10)), (rs13, (11, 18, 21))):
        want = {k: v.astype(np.float64) for k, v in common.ort_outputs(src, inputs).items()}
        prev = src
        for t in steps:  # a chain: each step converts the previous result
            dst = os.path.join(tmp, f"{os.path.basename(src)[:-5]}_to{t}.onnx")
            if not check_converted(rep, f"{os.path.basename(prev)} -> {t}", prev, dst, t,
                                   inputs, want):
                break
            prev = dst
    forms = {t: sorted((n.op_type, tuple(sorted(a.name for a in n.attribute)), len(n.input))
                       for n in onnx.load(os.path.join(tmp, f"upsample9_to{t}.onnx")).graph.node)
             for t in (7, 11)}
    rep.check("Upsample-9 became Resize-11 (roi input, asymmetric) and Upsample-7 (scales)",
              forms[11] == [("Resize", ("coordinate_transformation_mode", "mode"), 3),
                            ("Resize", ("coordinate_transformation_mode", "mode",
                                        "nearest_mode"), 3)]
              and forms[7] == [("Upsample", ("mode", "scales"), 1)] * 2, f"{forms}")


def refusal(rep, tmp):
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 8])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 8])
    inits = [helper.make_tensor("g", TensorProto.FLOAT, [8], [1.0] * 8),
             helper.make_tensor("b", TensorProto.FLOAT, [8], [0.0] * 8)]
    node = helper.make_node("LayerNormalization", ["x", "g", "b"], ["y"], name="ln1", axis=-1)
    g = helper.make_graph([node], "ln", [x], [y], initializer=inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    src, dst = os.path.join(tmp, "ln17.onnx"), os.path.join(tmp, "ln16.onnx")
    onnx.save(m, src)
    r = convert(src, dst, 16)
    err = r.stderr.strip()
    ok = (r.returncode == 2 and len(err.splitlines()) == 1 and '"ln1"' in err
          and "LayerNormalization" in err and not os.path.exists(dst))
    rep.check("LayerNormalization to opset 16 is refused", ok, f"exit {r.returncode}: {err}")
    r = convert(src, dst, 26)
    rep.check("--opset 26 is a usage error", r.returncode == 2, f"exit {r.returncode}")


def main():
    if not common.ort_available():
        common.skip_all("onnxruntime-node (tests/peers) is not installed")
    rep = common.Report()
    tmp = tempfile.mkdtemp(prefix="stele-opset-")
    refusal(rep, tmp)
    changed_ops(rep, tmp)
    resize(rep, tmp)
    torch_models(rep, tmp)
    rep.finish()


if __name__ == "__main__":
    main()
