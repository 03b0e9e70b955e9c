#!/usr/bin/env python3
"""Interop: hand-built ONNX models (opset 17) whose subgraphs read outer-scope values at any
depth run in stele with the same outputs as onnxruntime (1e-6), for every branch outcome.

Shapes: If in If in Loop (the innermost branch reads a graph input, a main-graph node's
output, a value produced in the enclosing If branch, the Loop's carried value); an If's
output read by later nested subgraphs; LSTM inside an If inside an If; a sequence read from a
nested Loop. `stele info --json` must succeed on each (static inference scopes the same way)."""
import itertools
import json
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

import numpy as np  # noqa: E402

try:
    from onnx import TensorProto, checker, helper, numpy_helper, save
except ImportError as e:  # a peer is missing
    common.skip_all(f"onnx not importable under {sys.executable}: {e}")

ATOL = 1e-6
F, B, I64 = TensorProto.FLOAT, TensorProto.BOOL, TensorProto.INT64
N = helper.make_node


def vi(name, elem, shape=None):
    return helper.make_tensor_value_info(name, elem, shape)


def const(name, arr):
    return N("Constant", [], [name], value=numpy_helper.from_array(np.asarray(arr), name))


def branch(name, nodes, outs):
    return helper.make_graph(nodes, name, [], [vi(o, F) for o in outs])


def if_node(cond, outs, then_g, else_g, name):
    return N("If", [cond], outs, then_branch=then_g, else_branch=else_g, name=name)


def model(nodes, inputs, outputs, inits=()):
    g = helper.make_graph(nodes, "nested", inputs, outputs, list(inits))
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    checker.check_model(m)
    return m


def if_in_if_in_loop():
    """Loop body: t = c + 1; If(flag) { b = t * 2; If(flag2) { x + main + b + c + t }
    else { b - c } } else { e = t - x; If(flag2) { e * main } else { e + c } }."""
    inner_then = branch("inner_then", [
        N("Sum", ["x", "main", "b", "c_in", "t"], ["r1"])], ["r1"])
    inner_else = branch("inner_else", [N("Sub", ["b", "c_in"], ["r2"])], ["r2"])
    outer_then = branch("outer_then", [
        const("two", np.float32(2)), N("Mul", ["t", "two"], ["b"]),
        if_node("flag2", ["ro1"], inner_then, inner_else, "inner_if_a")], ["ro1"])
    e_then = branch("e_then", [N("Mul", ["e", "main"], ["r3"])], ["r3"])
    e_else = branch("e_else", [N("Add", ["e", "c_in"], ["r4"])], ["r4"])
    outer_else = branch("outer_else", [
        N("Sub", ["t", "x"], ["e"]),
        if_node("flag2", ["ro2"], e_then, e_else, "inner_if_b")], ["ro2"])
    body = helper.make_graph([
        const("one", np.float32(1)), N("Add", ["c_in", "one"], ["t"]),
        if_node("flag", ["c_out"], outer_then, outer_else, "outer_if"),
        N("Identity", ["cond_in"], ["cond_out"]),
        N("Identity", ["c_out"], ["scan"])], "body",
        [vi("i", I64, []), vi("cond_in", B, []), vi("c_in", F)],
        [vi("cond_out", B, []), vi("c_out", F), vi("scan", F)])
    nodes = [const("k3", np.float32(0.5)), N("Mul", ["x", "k3"], ["main"]),
             const("trip", np.int64(3)), const("cond", np.bool_(True)),
             N("Loop", ["trip", "cond", "x"], ["y", "ys"], body=body)]
    return model(nodes, [vi("x", F, [2, 3]), vi("flag", B, []), vi("flag2", B, [])],
                 [vi("y", F, [2, 3]), vi("ys", F, [3, 2, 3])])


def if_output_read_later():
    """y = If(flag){x + 1}{x - 1}; z = If(flag2){y * x}{If(flag){y + y}{-y}};
    w = Loop(2){If(flag2){acc + y}{acc * y}}."""
    y_then = branch("y_then", [const("o", np.float32(1)), N("Add", ["x", "o"], ["y1"])], ["y1"])
    y_else = branch("y_else", [const("o2", np.float32(1)), N("Sub", ["x", "o2"], ["y2"])],
                    ["y2"])
    z_then = branch("z_then", [N("Mul", ["y", "x"], ["z1"])], ["z1"])
    zz_then = branch("zz_then", [N("Add", ["y", "y"], ["z2"])], ["z2"])
    zz_else = branch("zz_else", [N("Neg", ["y"], ["z3"])], ["z3"])
    z_else = branch("z_else", [if_node("flag", ["z4"], zz_then, zz_else, "zz")], ["z4"])
    w_then = branch("w_then", [N("Add", ["acc", "y"], ["w1"])], ["w1"])
    w_else = branch("w_else", [N("Mul", ["acc", "y"], ["w2"])], ["w2"])
    body = helper.make_graph([
        if_node("flag2", ["acc_out"], w_then, w_else, "w_if"),
        N("Identity", ["cond_in"], ["cond_out"])], "wbody",
        [vi("i", I64, []), vi("cond_in", B, []), vi("acc", F)],
        [vi("cond_out", B, []), vi("acc_out", F)])
    nodes = [if_node("flag", ["y"], y_then, y_else, "y_if"),
             if_node("flag2", ["z"], z_then, z_else, "z_if"),
             const("trip", np.int64(2)), const("cond", np.bool_(True)),
             N("Loop", ["trip", "cond", "x"], ["w"], body=body)]
    return model(nodes, [vi("x", F, [2, 3]), vi("flag", B, []), vi("flag2", B, [])],
                 [vi("z", F, [2, 3]), vi("w", F, [2, 3])])


def lstm_in_if_in_if():
    """If(flag){If(flag2){LSTM(X, W, R, B)}{LSTM(X, W, R)}}{LSTM(Xn, W, R, B)}, Xn = -X."""
    rng = np.random.default_rng(7)
    hidden, inp = 4, 3
    inits = [numpy_helper.from_array((rng.standard_normal(s) * 0.5).astype(np.float32), n)
             for n, s in (("W", (1, 4 * hidden, inp)), ("R", (1, 4 * hidden, hidden)),
                          ("Bias", (1, 8 * hidden)))]

    def lstm(x, bias, out):
        ins = [x, "W", "R"] + (["Bias"] if bias else [])
        return N("LSTM", ins, ["", out], hidden_size=hidden)
    in_then = branch("in_then", [lstm("x", True, "h1")], ["h1"])
    in_else = branch("in_else", [lstm("x", False, "h2")], ["h2"])
    out_then = branch("out_then", [if_node("flag2", ["h3"], in_then, in_else, "in_if")], ["h3"])
    out_else = branch("out_else", [lstm("xn", True, "h4")], ["h4"])
    nodes = [N("Neg", ["x"], ["xn"]), if_node("flag", ["h"], out_then, out_else, "out_if")]
    return model(nodes, [vi("x", F, [2, 1, inp]), vi("flag", B, []), vi("flag2", B, [])],
                 [vi("h", F, [1, 1, hidden])], inits)


def sequence_in_nested_loop():
    """s = [x, 2x, 3x]; Loop(3){acc + If(flag){s[i] * 2}{s[-1]}}; also the sequence's length."""
    then_g = branch("s_then", [N("SequenceAt", ["s", "i"], ["e1"]), const("two", np.float32(2)),
                               N("Mul", ["e1", "two"], ["e2"])], ["e2"])
    else_g = branch("s_else", [const("last", np.int64(-1)),
                               N("SequenceAt", ["s", "last"], ["e3"])], ["e3"])
    body = helper.make_graph([
        if_node("flag", ["e"], then_g, else_g, "s_if"),
        N("Add", ["acc", "e"], ["acc_out"]),
        N("SequenceLength", ["s"], ["len"]), N("Cast", ["len"], ["lenf"], to=F),
        N("Add", ["acc_out", "lenf"], ["scan"]),
        N("Identity", ["cond_in"], ["cond_out"])], "sbody",
        [vi("i", I64, []), vi("cond_in", B, []), vi("acc", F)],
        [vi("cond_out", B, []), vi("acc_out", F), vi("scan", F)])
    nodes = [const("c2", np.float32(2)), const("c3", np.float32(3)),
             N("Mul", ["x", "c2"], ["x2"]), N("Mul", ["x", "c3"], ["x3"]),
             N("SequenceConstruct", ["x", "x2", "x3"], ["s"]),
             const("trip", np.int64(3)), const("cond", np.bool_(True)),
             N("Loop", ["trip", "cond", "x"], ["acc_end", "scans"], body=body)]
    return model(nodes, [vi("x", F, [2, 3]), vi("flag", B, [])],
                 [vi("acc_end", F, [2, 3]), vi("scans", F, [3, 2, 3])])


def folded_shape_in_loop():
    """The Loop's carried value grows each iteration; the body folds sh = Shape(c) (constant
    for one body signature) and Ifs nested two deep read it: their own folds must follow the
    new value although its shape ([2]) stays the same."""
    def cast(i, o):
        return N("Cast", [i], [o], to=F)
    in_then = branch("in_then", [cast("sh", "f1")], ["f1"])
    in_else = branch("in_else", [cast("sh", "f2a"), N("Add", ["f2a", "f2a"], ["f2"])], ["f2"])
    out_then = branch("out_then", [if_node("flag2", ["f3"], in_then, in_else, "in_if")], ["f3"])
    out_else = branch("out_else", [N("Mul", ["sh", "sh"], ["sq"]), cast("sq", "f4")], ["f4"])
    body = helper.make_graph([
        N("Shape", ["c_in"], ["sh"]),
        if_node("flag", ["f"], out_then, out_else, "out_if"),
        N("Concat", ["c_in", "col"], ["c_out"], axis=1),
        N("Identity", ["cond_in"], ["cond_out"])], "gbody",
        [vi("i", I64, []), vi("cond_in", B, []), vi("c_in", F)],
        [vi("cond_out", B, []), vi("c_out", F), vi("f", F)])
    nodes = [const("col", np.ones((1, 1), np.float32)),
             const("s0", np.array([0], np.int64)), const("s1", np.array([1], np.int64)),
             const("ax", np.array([1], np.int64)), N("Slice", ["x", "s0", "s1", "ax"], ["x0"]),
             const("trip", np.int64(3)), const("cond", np.bool_(True)),
             N("Loop", ["trip", "cond", "x0"], ["c_end", "fs"], body=body)]
    return model(nodes, [vi("x", F, [1, 3]), vi("flag", B, []), vi("flag2", B, [])],
                 [vi("c_end", F, [1, 4]), vi("fs", F, [3, 2])])


CASES = [("if_in_if_in_loop", if_in_if_in_loop, (2, 3), 2),
         ("if_output_read_later", if_output_read_later, (2, 3), 2),
         ("lstm_in_if_in_if", lstm_in_if_in_if, (2, 1, 3), 2),
         ("sequence_in_nested_loop", sequence_in_nested_loop, (2, 3), 1),
         ("folded_shape_in_loop", folded_shape_in_loop, (1, 3), 2)]


def main():
    if not common.ort_available():
        common.skip_all("onnxruntime-node (tests/peers/node_modules) or node is missing")
    rep = common.Report()
    rng = np.random.default_rng(11)
    with tempfile.TemporaryDirectory(prefix="stele-nested-") as tmp:
        for name, build, shape, nflags in CASES:
            path = os.path.join(tmp, name + ".onnx")
            save(build(), path)
            r = common.run_stele(["info", path, "--json"], check=False)
            ok = r.returncode == 0
            if ok:
                try:
                    json.loads(r.stdout)
                except ValueError:
                    ok = False
            rep.check(f"{name} info", ok, r.stderr.strip()[:200])
            x = rng.standard_normal(shape).astype(np.float32)
            for flags in itertools.product([True, False], repeat=nflags):
                inputs = {"x": x}
                for fname, fv in zip(("flag", "flag2"), flags):
                    inputs[fname] = np.array(fv)
                case = f"{name} flags={''.join('TF'[not f] for f in flags)}"
                try:
                    want = common.ort_outputs(path, inputs)
                    got = common.stele_outputs(path, inputs)
                except RuntimeError as e:
                    rep.check(case, False, str(e)[:300])
                    continue
                errs = []
                for k, w in want.items():
                    g = got.get(k)
                    if g is None or g.shape != w.shape:
                        errs.append(f"{k}: shape {None if g is None else g.shape} != {w.shape}")
                    elif not np.allclose(g, w, rtol=0, atol=ATOL):
                        errs.append(f"{k}: max diff {np.max(np.abs(g - w)):.3g}")
                worst = max((float(np.max(np.abs(got[k] - w))) for k, w in want.items()
                             if k in got and got[k].shape == w.shape), default=0.0)
                rep.check(case, not errs and len(got) == len(want),
                          "; ".join(errs) if errs else f"max diff {worst:.3g}")
    rep.finish()


if __name__ == "__main__":
    main()
