#!/usr/bin/env python3
"""`stele compare` and `stele convert`'s verification, end to end.

Models are written here with onnx's helper (and, when stele reads TorchScript, with
torch.jit): a model against itself gives zero error; a copy with one weight perturbed by this
test fails, and --per-node names the node that uses the weight; ONNX node-suite models pass
against their test_data_set (STELE_NODE_CASES, else /tmp/nodegen/out/node or
build/node-suite/node); dtype and shape mismatches are reported with exit 1, never a crash;
integer index inputs get random values below the indexed size; `stele convert` prints a
verification line for every direction that exists, and a wrong conversion on purpose is
caught with exit 1: in test builds (STELE_TEST_HOOKS=ON, passed by ctest) the CLI turns
STELE_TEST_FAULT=perturb-first-weight into st_test_control(ST_TESTCTRL_SAVE_FAULT, ...);
release builds lack the hook and skip those cases.
Run with Debian's interpreter (/usr/bin/python3). Ends with "N passed, M failed"."""
import json
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "interop"))
import common  # noqa: E402

import numpy as np  # noqa: E402
import onnx  # noqa: E402
from onnx import TensorProto as TP  # noqa: E402
from onnx import helper as oh  # noqa: E402
from onnx import numpy_helper as nh  # noqa: E402

class Report(common.Report):
    """One line per case: details (flattened) only when a case fails."""

    def check(self, name, ok, detail=""):
        super().check(name, bool(ok), "" if ok else str(detail).replace("\n", " | ")[-600:])


R = Report()
TMP = tempfile.mkdtemp(prefix="stele-compare-test-")
FORMATS = {"onnx": ".onnx", "torchscript": ".pt", "savedmodel": ".savedmodel"}
# st_test_control is compiled only into test builds; without it no fault can be injected
HOOKS = os.environ.get("STELE_TEST_HOOKS", "ON") == "ON"
FAULT = {"STELE_TEST_FAULT": "perturb-first-weight"}


def stele(*args, env=None):
    e = dict(os.environ)
    e.pop("STELE_TEST_FAULT", None)
    if env:
        e.update(env)
    r = subprocess.run([common.stele_path()] + [str(a) for a in args], capture_output=True, text=True,
                       timeout=300, env=e)
    return r


def p(name):
    return os.path.join(TMP, name)


def save(graph, path, opset=13):
    onnx.save(oh.make_model(graph, opset_imports=[oh.make_opsetid("", opset)]), path)


def make_mlp(path):
    rng = np.random.default_rng(7)
    w = {n: rng.standard_normal(s).astype(np.float32) for n, s in
         [("W1", (8, 16)), ("W2", (16, 16)), ("W3", (16, 4))]}
    nodes = [oh.make_node("MatMul", ["x", "W1"], ["h1"], name="fc1"),
             oh.make_node("Relu", ["h1"], ["r1"], name="relu1"),
             oh.make_node("MatMul", ["r1", "W2"], ["h2"], name="fc2"),
             oh.make_node("Tanh", ["h2"], ["t2"], name="tanh2"),
             oh.make_node("MatMul", ["t2", "W3"], ["h3"], name="fc3"),
             oh.make_node("Softmax", ["h3"], ["y"], name="softmax", axis=-1)]
    g = oh.make_graph(nodes, "mlp", [oh.make_tensor_value_info("x", TP.FLOAT, [4, 8])],
                      [oh.make_tensor_value_info("y", TP.FLOAT, [4, 4])],
                      [nh.from_array(v, k) for k, v in w.items()])
    save(g, path)


def perturb(src, dst, name, delta=0.5):
    """Copy src with element 0 of initializer `name` moved by delta."""
    m = onnx.load(src)
    for i, init in enumerate(m.graph.initializer):
        if init.name == name:
            a = nh.to_array(init).copy()
            a.flat[0] += delta
            m.graph.initializer[i].CopyFrom(nh.from_array(a, name))
    onnx.save(m, dst)


def compare_json(*args, env=None):
    r = stele("compare", *args, "--json", env=env)
    try:
        return r.returncode, json.loads(r.stdout), r
    except ValueError:
        return r.returncode, None, r


def crashed(r):
    return r.returncode < 0 or r.returncode > 2


# ---- a model against itself --------------------------------------------------------------
mlp = p("mlp.onnx")
make_mlp(mlp)
rc, js, r = compare_json(mlp, mlp, "--per-node")
ok = rc == 0 and js and js["ok"] and all(o["max_abs"] == 0 and o["max_rel"] == 0 and o["cosine"] == 1
                                          and o["outside"] == 0 for o in js["outputs"])
ok = ok and js["per_node"]["first_divergence"] is None and js["per_node"]["matched_by_name"] == 6
ok = ok and all(n["max_abs"] == 0 for n in js["per_node"]["matched"])
R.check("self/zero-error", ok, f"rc={rc} {r.stderr.strip()}")

# ---- one perturbed weight: the node using it is named ----------------------------------
for weight, node in [("W1", "fc1"), ("W3", "fc3")]:
    bad = p(f"mlp_{weight}.onnx")
    perturb(mlp, bad, weight)
    rc, js, r = compare_json(mlp, bad, "--per-node")
    first = js and js["per_node"]["first_divergence"]
    ok = rc == 1 and js and not js["ok"] and first and first["node"] == node
    path = js["per_node"]["path"] if js else []
    ok = ok and path and path[0]["node"] == node and path[-1]["node"] == "softmax"
    R.check(f"perturbed/{weight}-names-{node}", bool(ok),
            f"rc={rc} first={first and first['node']} path={[n['node'] for n in path]}")
    t = stele("compare", mlp, bad, "--per-node")
    R.check(f"perturbed/{weight}-text", t.returncode == 1 and f'first node beyond tolerance: "{node}"' in t.stdout
            and "error growth" in t.stdout, t.stdout[-400:])

# structural matching: the same graph with every intermediate renamed
m = onnx.load(mlp)
ren = {}
for n in m.graph.node:
    for i, o in enumerate(n.output):
        if o != "y":
            ren[o] = "v_" + o
            n.output[i] = ren[o]
    for i, x in enumerate(n.input):
        n.input[i] = ren.get(x, x)
    n.name = "n_" + n.name
onnx.save(m, p("mlp_renamed.onnx"))
perturb(p("mlp_renamed.onnx"), p("mlp_renamed_W3.onnx"), "W3")
rc, js, r = compare_json(mlp, p("mlp_renamed_W3.onnx"), "--per-node")
first = js and js["per_node"]["first_divergence"]
R.check("perturbed/structural-match", rc == 1 and first and first["node"] == "fc3"
        and first["matched_by"] == "structure" and js["per_node"]["matched_by_structure"] >= 5,
        f"rc={rc} first={first}")

# ---- HTML report ---------------------------------------------------------------------------
html = p("report.html")
r = stele("compare", mlp, p("mlp_W3.onnx"), "--per-node", "--report", html)
text = open(html).read() if os.path.exists(html) else ""
R.check("report/html", r.returncode == 1 and "<html" in text and "fc3" in text and "FAIL" in text
        and "Error growth" in text and "<script" not in text and "<link" not in text and "http" not in text,
        f"rc={r.returncode} size={len(text)}")

# ---- dtype and shape mismatches: reported, not crashed on ---------------------------------
def relu_model(path, tail, otype, oshape):
    g = oh.make_graph([oh.make_node("Relu", ["x"], ["r"])] + tail, "g",
                      [oh.make_tensor_value_info("x", TP.FLOAT, [2, 4])],
                      [oh.make_tensor_value_info("y", otype, oshape)],
                      [nh.from_array(np.array([8], dtype=np.int64), "shp")])
    save(g, path)


relu_model(p("relu.onnx"), [oh.make_node("Identity", ["r"], ["y"])], TP.FLOAT, [2, 4])
relu_model(p("relu_f64.onnx"), [oh.make_node("Cast", ["r"], ["y"], to=TP.DOUBLE)], TP.DOUBLE, [2, 4])
relu_model(p("relu_flat.onnx"), [oh.make_node("Reshape", ["r", "shp"], ["y"])], TP.FLOAT, [8])
rc, js, r = compare_json(p("relu.onnx"), p("relu_f64.onnx"))
R.check("mismatch/dtype", rc == 1 and js and js["outputs"][0]["dtype_mismatch"]
        and not js["outputs"][0]["shape_mismatch"], f"rc={rc} {r.stderr.strip()}")
rc, js, r = compare_json(p("relu.onnx"), p("relu_flat.onnx"), "--per-node")
R.check("mismatch/shape", rc == 1 and js and js["outputs"][0]["shape_mismatch"], f"rc={rc} {r.stderr.strip()}")
t = stele("compare", p("relu.onnx"), p("relu_flat.onnx"))
R.check("mismatch/shape-text", t.returncode == 1 and "shape differs" in t.stdout, t.stdout)

# ---- reference arrays: .npy and .npz --------------------------------------------------------
out = p("relu_out")
stele("run", p("relu.onnx"), "--output-dir", out)
y = np.load(os.path.join(out, "y.npy"))
np.savez(p("ref.npz"), y=y)
np.save(p("flat.npy"), y.reshape(-1))
np.save(p("off.npy"), y + 0.01)
R.check("reference/npy", stele("compare", p("relu.onnx"), os.path.join(out, "y.npy")).returncode == 0)
R.check("reference/npz", stele("compare", p("relu.onnx"), p("ref.npz")).returncode == 0)
rc, js, r = compare_json(p("relu.onnx"), p("off.npy"))
R.check("reference/npy-off", rc == 1 and js and abs(js["outputs"][0]["max_abs"] - 0.01) < 1e-6,
        f"rc={rc}")
rc, js, r = compare_json(p("relu.onnx"), "y=" + p("flat.npy"))
R.check("reference/npy-shape", rc == 1 and js and js["outputs"][0]["shape_mismatch"], f"rc={rc}")

# ---- integer index inputs stay in range ------------------------------------------------
emb = np.arange(12, dtype=np.float32).reshape(3, 4)
g = oh.make_graph([oh.make_node("Cast", ["ids"], ["ids64"], to=TP.INT64),
                   oh.make_node("Gather", ["E", "ids64"], ["y"], axis=0)], "emb",
                  [oh.make_tensor_value_info("ids", TP.INT32, [64])],
                  [oh.make_tensor_value_info("y", TP.FLOAT, [64, 4])], [nh.from_array(emb, "E")])
save(g, p("emb.onnx"))
r = stele("compare", p("emb.onnx"), p("emb.onnx"), "--seed", "3")
R.check("inputs/index-range", r.returncode == 0, r.stderr.strip())

# ---- ONNX models against their test_data_set ---------------------------------------------
suite = None
for cand in [os.environ.get("STELE_NODE_CASES"), "/tmp/nodegen/out/node",
             os.path.join(common.ROOT, "build", "node-suite", "node")]:
    if cand and os.path.isdir(os.path.join(cand, "test_gather_0")):
        suite = cand
        break
if suite:
    for case in ["test_gather_0", "test_conv_with_strides_padding", "test_softmax_axis_1", "test_lstm_defaults",
                 "test_sequence_map_identity_1_sequence"]:
        d = os.path.join(suite, case)
        if not os.path.isdir(d):
            continue
        r = stele("compare", os.path.join(d, "model.onnx"), os.path.join(d, "test_data_set_0"), "--atol", "1e-7")
        R.check(f"test_data_set/{case}", r.returncode == 0 and "PASS" in r.stdout, r.stdout[-300:] + r.stderr)
    # a wrong expected output is caught
    d = os.path.join(suite, "test_gather_0")
    bad = p("gather_bad")
    shutil.copytree(os.path.join(d, "test_data_set_0"), bad)
    t = onnx.TensorProto()
    t.ParseFromString(open(os.path.join(bad, "output_0.pb"), "rb").read())
    a = nh.to_array(t).copy()
    a.flat[5] += 1
    open(os.path.join(bad, "output_0.pb"), "wb").write(nh.from_array(a, t.name).SerializeToString())
    rc, js, r = compare_json(os.path.join(d, "model.onnx"), bad)
    R.check("test_data_set/wrong-expected", rc == 1 and js and js["outputs"][0]["outside"] == 1
            and abs(js["outputs"][0]["max_abs"] - 1) < 1e-6, f"rc={rc}")
else:
    print("SKIP test_data_set: no node suite (set STELE_NODE_CASES)", flush=True)

# ---- onnxruntime peer ---------------------------------------------------------------------
if common.ort_available():
    rc, js, r = compare_json(mlp, "--against", "onnxruntime")
    R.check("onnxruntime/self", rc == 0 and js and js["b_runner"] == "onnxruntime", f"rc={rc} {r.stderr.strip()}")
    rc, js, r = compare_json(mlp, p("mlp_W3.onnx"), "--against", "onnxruntime")
    R.check("onnxruntime/perturbed", rc == 1, f"rc={rc} {r.stderr.strip()}")
else:
    print("SKIP onnxruntime: node or onnxruntime-node missing", flush=True)

# ---- TorchScript sources, when stele reads TorchScript --------------------------------------
sources = {"onnx": (mlp, [])}
try:
    import torch

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.a = torch.nn.Linear(8, 16)
            self.b = torch.nn.Linear(16, 4)

        def forward(self, x):
            return torch.softmax(self.b(torch.tanh(self.a(x))), dim=-1)

    torch.manual_seed(0)
    net = Net().eval()
    ts = p("net.pt")
    torch.jit.save(torch.jit.trace(net, torch.zeros(4, 8)), ts)
    torch.onnx.export(net, torch.zeros(4, 8), p("net.onnx"), input_names=["x"], output_names=["y"], opset_version=13)
    if stele("info", ts).returncode == 0:
        sources["torchscript"] = (ts, ["--shape", "x=4x8"])  # traced archives carry no shapes
        r = stele("compare", ts, p("net.onnx"), "--shape", "x=4x8")
        R.check("torchscript/against-onnx-export", r.returncode == 0, r.stdout[-300:] + r.stderr)
    else:
        print("SKIP torchscript: stele does not read TorchScript yet", flush=True)
except ImportError:
    print("SKIP torchscript: torch not importable", flush=True)

# ---- convert verifies every direction that exists -----------------------------------------
directions = 0
for sfmt, (src, extra) in sources.items():
    for tfmt, ext in FORMATS.items():
        dst = p(f"conv_{sfmt}_to_{tfmt}{ext}")
        r = stele("convert", src, dst, "--to", tfmt, *extra)
        if r.returncode == 2 and "not supported" in r.stderr:
            print(f"SKIP convert {sfmt}->{tfmt}: {r.stderr.strip()}", flush=True)
            continue
        directions += 1
        lines = [ln for ln in r.stdout.splitlines() if ln.startswith("verify:")]
        verdict = lines[0] if lines else ""
        can_check = "not verified" not in verdict
        R.check(f"convert/{sfmt}->{tfmt}/verify-line", r.returncode == 0 and len(lines) == 1 and
                ("verify: PASS" in verdict or not can_check) and (" max abs " in verdict or not can_check),
                r.stdout + r.stderr)
        if not can_check or not HOOKS:
            continue
        dst2 = p(f"fault_{sfmt}_to_{tfmt}{ext}")
        r = stele("convert", src, dst2, "--to", tfmt, *extra, env=FAULT)
        R.check(f"convert/{sfmt}->{tfmt}/fault-caught", r.returncode == 1 and "verify: FAIL" in r.stdout,
                r.stdout + r.stderr)
R.check("convert/some-direction", directions >= 1)

# --no-verify and the tolerances; the fault changed the written file, not the verification
if HOOKS:
    r = stele("convert", mlp, p("nv.onnx"), "--no-verify", env=FAULT)
    R.check("convert/no-verify", r.returncode == 0 and "verify:" not in r.stdout, r.stdout + r.stderr)
    rc, js, r = compare_json(mlp, p("nv.onnx"))
    R.check("convert/fault-in-file", rc == 1 and js and not js["ok"], f"rc={rc} {r.stderr.strip()}")
    r = stele("convert", mlp, p("loose.onnx"), "--atol", "10", env=FAULT)
    R.check("convert/atol", r.returncode == 0 and "verify: PASS" in r.stdout, r.stdout + r.stderr)
# without the switch the same conversion is exact
r = stele("convert", mlp, p("clean.onnx"), "--no-verify")
rc, js, r = compare_json(mlp, p("clean.onnx"))
R.check("convert/clean-file", rc == 0 and js and js["ok"], f"rc={rc} {r.stderr.strip()}")

# ---- usage errors exit 2 -------------------------------------------------------------------
R.check("usage/missing-b", stele("compare", mlp).returncode == 2)
R.check("usage/per-node-reference", stele("compare", p("relu.onnx"), p("ref.npz"), "--per-node").returncode == 2)
R.check("usage/missing-file", stele("compare", mlp, p("nope.onnx")).returncode == 2)

shutil.rmtree(TMP, ignore_errors=True)
R.finish()
