#!/usr/bin/env python3
"""Interop: TorchScript archives written by Debian's PyTorch (torch.jit.trace / torch.jit.script,
random weights from fixed seeds) through stele, three ways each:
  1. `stele run x.pt` within 1e-4 (absolute) of PyTorch;
  2. `stele convert x.pt x.onnx` passes onnx.checker and onnxruntime matches within 1e-4;
  3. `stele convert x.onnx y.pt` loads in torch.jit.load and matches within 1e-4.
Then hostile archives (a pickle naming os.system, ../ member names, absurd sizes, truncation)
must each be refused with a one-line error."""
import io
import json
import math
import os
import struct
import subprocess
import sys
import tempfile
import zipfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

import numpy as np  # noqa: E402

try:
    import onnx
    import torch
    import torch.nn as nn
    import torchvision
except ImportError as e:  # a peer is missing
    common.skip_all(f"PyTorch/torchvision/onnx not importable under {sys.executable}: {e}")

ATOL = 1e-4


class Encoder(nn.Module):
    """BERT-style block: embedding, attention with view/permute/transpose/softmax, layer_norm,
    gelu feed-forward, then select and slice of the result."""

    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(100, 32)
        self.q, self.k, self.v = nn.Linear(32, 32), nn.Linear(32, 32), nn.Linear(32, 32)
        self.ln1, self.ln2 = nn.LayerNorm(32), nn.LayerNorm(32)
        self.ff1, self.ff2 = nn.Linear(32, 64), nn.Linear(64, 32)

    def forward(self, ids):
        x = self.emb(ids)
        b, t, c = x.shape
        q = self.q(x).view(b, t, 4, 8).permute(0, 2, 1, 3)
        k = self.k(x).view(b, t, 4, 8).transpose(1, 2)
        v = self.v(x).reshape(b, t, 4, 8).transpose(1, 2)
        a = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(8), dim=-1)
        y = (a @ v).transpose(1, 2).contiguous().view(b, t, c)
        x = self.ln1(x + y)
        x = self.ln2(x + self.ff2(nn.functional.gelu(self.ff1(x))))
        return x[:, 0], x[:, 1:3, :]


class LoopIf(nn.Module):
    """Scripted: a data-dependent `if` inside a `for` over an input count. (The convolution
    fixes the input's rank: TorchScript code never states ranks, ONNX inputs need them.)"""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)

    def forward(self, x, n: int):
        y = self.conv(x)
        for i in range(n):
            if bool(y.sum() > 0):
                y = y * 0.5 - 1.0
            else:
                y = torch.relu(y) + float(i)
        return y


class WhileLoop(nn.Module):
    """Scripted: a `while` whose condition depends on the data."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 2, 1)

    def forward(self, x):
        x = self.conv(x)
        i = 0
        while bool(x.abs().sum() < 100.0) and i < 50:
            x = x * 2.0 + 0.1
            i += 1
        return x


class ScriptedNet(nn.Module):
    """Scripted with submodules and functional calls: conv/bn/relu/pool/linear/dropout, then
    a Sequential applied a data-given number of times under a data-dependent `if`."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.fc = nn.Linear(8, 4)
        self.drop = nn.Dropout(0.1)
        self.seq = nn.Sequential(nn.Linear(4, 4), nn.ReLU())

    def forward(self, x, steps: int):
        h = nn.functional.relu(self.bn(self.conv(x)))
        h = nn.functional.adaptive_avg_pool2d(h, 1).flatten(1)
        y = self.fc(self.drop(h))
        for i in range(steps):
            y = self.seq(y) + 0.5
            if y.mean() > 0.1:
                y = y - 0.1 * i
        return torch.softmax(y, dim=-1)


class RangeLoops(nn.Module):
    """Scripted: range() with a start and a step, counting down, and over an input. (mm fixes
    the input's rank, which TorchScript code never states and ONNX inputs need.)"""

    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.randn(3, 3))

    def forward(self, x, a: int, b: int):
        y = torch.mm(x, self.w)
        for i in range(a, b, 2):
            y = y * 0.9 + float(i)
        for j in range(3, 0, -1):
            y = y - j
        for k in range(b):
            y = torch.tanh(y) + 0.01 * k
        return y


class MiscOps(nn.Module):
    """Traced: scans, flips, max/topk with indices, arange, einsum, prelu, repeat, tril/triu,
    norms, argmax, log1p."""

    def __init__(self):
        super().__init__()
        self.prelu = nn.PReLU(4)
        self.w = nn.Parameter(torch.randn(5, 5))

    def forward(self, x):
        a = torch.cumsum(x, 1) + torch.flip(x, [0, 2])
        v, i = torch.max(a, dim=1)
        t, ti = torch.topk(a, 2, dim=-1)
        r = torch.arange(5, dtype=torch.float32) * 0.1 + torch.arange(1, 6).float()
        e = torch.einsum("bij,jk->bik", a[:, :, :5], self.w)
        p = self.prelu(x.unsqueeze(-1)).squeeze(-1)
        tr = torch.triu(a[0, :, :4], 1) + torch.tril(a[1, :, :4])
        n = torch.linalg.vector_norm(x, 2, dim=-1)
        return (a, v, i.float(), t, ti.float(), e + r, p, x.repeat(1, 2, 1), tr, n,
                torch.argmax(x, dim=2).float(), torch.log1p(x.abs()))


class CrossAttention(nn.Module):
    """nn.MultiheadAttention between two inputs (the traced slow path: split_with_sizes, bmm)."""

    def __init__(self):
        super().__init__()
        self.mha = nn.MultiheadAttention(32, 4, batch_first=True)

    def forward(self, q, k):
        return self.mha(q, k, k)


def randomize_bn(model, gen):
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.copy_(torch.randn(m.running_mean.shape, generator=gen) * 0.1)
            m.running_var.copy_(torch.rand(m.running_var.shape, generator=gen) + 0.5)


def img(gen):
    return (torch.randn(1, 3, 64, 64, generator=gen),)


def cases():
    tv = torchvision.models
    yield "resnet18", "trace", lambda: tv.resnet18(weights=None), img
    yield "mobilenet_v2", "trace", lambda: tv.mobilenet_v2(weights=None), img
    yield "mobilenet_v3_small", "trace", lambda: tv.mobilenet_v3_small(weights=None), img
    yield "squeezenet1_0", "trace", lambda: tv.squeezenet1_0(weights=None), img
    yield "densenet121", "trace", lambda: tv.densenet121(weights=None), img
    yield "efficientnet_b0", "trace", lambda: tv.efficientnet_b0(weights=None), img
    yield "encoder", "trace", Encoder, lambda g: (torch.randint(0, 100, (2, 7), generator=g),)
    yield "transformer_encoder", "trace", lambda: nn.TransformerEncoder(  # PyTorch's fused fast path
        nn.TransformerEncoderLayer(32, 4, 64, batch_first=True), 2), lambda g: (torch.randn(2, 5, 32, generator=g),)
    yield "transformer_prenorm_gelu", "trace", lambda: nn.TransformerEncoder(
        nn.TransformerEncoderLayer(32, 4, 64, batch_first=True, norm_first=True, activation="gelu"), 2,
        enable_nested_tensor=False), lambda g: (torch.randn(2, 5, 32, generator=g),)
    yield "cross_attention", "trace", CrossAttention, lambda g: (torch.randn(2, 5, 32, generator=g),
                                                                   torch.randn(2, 7, 32, generator=g))
    yield "misc_ops", "trace", MiscOps, lambda g: (torch.randn(2, 4, 6, generator=g),)
    yield "lstm", "trace", lambda: nn.LSTM(8, 16, num_layers=2), lambda g: (torch.randn(5, 3, 8, generator=g),)
    yield "loop_if", "script", LoopIf, lambda g: (torch.randn(1, 3, 8, 8, generator=g), 4)
    yield "while_loop", "script", WhileLoop, lambda g: (torch.rand(1, 3, 4, 4, generator=g) * 0.1,)
    yield "scripted_net", "script", ScriptedNet, lambda g: (torch.randn(2, 3, 8, 8, generator=g), 3)
    yield "range_loops", "script", RangeLoops, lambda g: (torch.randn(2, 3, generator=g), 1, 6)


def flat(v):
    if isinstance(v, (tuple, list)):
        return [a for x in v for a in flat(x)]
    return [v.detach().numpy()]


def as_np(v):
    return v.numpy() if isinstance(v, torch.Tensor) else np.array(v, dtype=np.int64)


def compare(rep, label, got, want):
    if len(got) != len(want):
        rep.check(label, False, f"{len(got)} outputs, expected {len(want)}")
        return
    err = 0.0
    for g, w in zip(got, want):
        if g.shape != w.shape:
            rep.check(label, False, f"shape {g.shape}, expected {w.shape}")
            return
        err = max(err, float(np.max(np.abs(g.astype(np.float64) - w))) if w.size else 0.0)
    rep.check(label, err <= ATOL, f"max abs error {err:.3g}")


# Scripted models whose outputs come out of If/Loop: st_infer_model does not yet carry dims
# through If/Loop (an ONNX If of two Relu branches shows the same), so only the others must
# show concrete shapes. Remove a name once its shapes are inferred.


def info_shapes(rep, name, pt, feeds, want):
    """`stele info --shape` with the inputs' shapes: static inference over the imported IR gives
    every output PyTorch's shape (the import itself runs once; ranks come from the bindings)."""
    args = ["info", pt, "--json"]
    for n, v in feeds.items():
        if v.ndim:
            args += ["--shape", f"{n}=" + "x".join(str(d) for d in v.shape)]
    label = f"{name} info --shape output shapes"
    try:
        outs = json.loads(common.run_stele(args).stdout)["outputs"]
        got = [None if o.get("shape") is None else tuple(o["shape"]) for o in outs]
        exp = [tuple(w.shape) for w in want]
        rep.check(label, got == exp, f"{got}, expected {exp}")
    except Exception as e:
        rep.check(label, False, str(e).splitlines()[0][:300])


def model_cases(rep, tmp):
    for name, how, make, make_inputs in cases():
        torch.manual_seed(0)
        gen = torch.Generator().manual_seed(1)
        model = make()
        with torch.no_grad():
            randomize_bn(model, gen)
        model.eval()
        inputs = make_inputs(gen)
        pt = os.path.join(tmp, f"{name}.pt")
        with torch.no_grad():
            mod = torch.jit.trace(model, inputs) if how == "trace" else torch.jit.script(model)
            mod.save(pt)
            want = flat(model(*inputs))
        names = [a.name for a in mod.forward.schema.arguments[1:]]
        feeds = {n: as_np(v) for n, v in zip(names, inputs)}
        try:
            got = list(common.stele_outputs(pt, feeds).values())
            compare(rep, f"{name} run .pt", got, want)
        except Exception as e:
            rep.check(f"{name} run .pt", False, str(e).splitlines()[0][:300])
        info_shapes(rep, name, pt, feeds, want)
        onx = os.path.join(tmp, f"{name}.onnx")
        try:
            common.run_stele(["convert", pt, onx])
            onnx.checker.check_model(onnx.load(onx))
            if common.ort_available():
                got = list(common.ort_outputs(onx, feeds).values())
                compare(rep, f"{name} .pt->.onnx onnxruntime", got, want)
            else:
                rep.check(f"{name} .pt->.onnx checker", True, "(onnxruntime peer missing)")
        except Exception as e:
            rep.check(f"{name} .pt->.onnx", False, str(e).splitlines()[0][:300])
        back = os.path.join(tmp, f"{name}_back.pt")
        try:
            common.run_stele(["convert", onx, back])
            loaded = torch.jit.load(back)
            with torch.no_grad():
                got = flat(loaded(*inputs))
            compare(rep, f"{name} .onnx->.pt torch.jit.load", got, want)
        except Exception as e:
            rep.check(f"{name} .onnx->.pt torch.jit.load", False, str(e).splitlines()[0][:300])


# ---- hostile archives ------------------------------------------------------------------
def small_archive(tmp):
    class Tiny(nn.Module):
        def __init__(self):
            super().__init__()
            self.l = nn.Linear(4, 2)

        def forward(self, x):
            return self.l(x)

    p = os.path.join(tmp, "tiny.pt")
    torch.jit.trace(Tiny().eval(), torch.randn(1, 4)).save(p)
    with zipfile.ZipFile(p) as z:
        return p, {i.filename: z.read(i.filename) for i in z.infolist()}


def write_zip(path, members):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
        for n, d in members.items():
            z.writestr(n, d)


def refused(rep, label, path, needle):
    r = common.run_stele(["info", path], check=False)
    msg = r.stderr.strip()
    ok = r.returncode != 0 and needle in msg and len(msg.splitlines()) == 1 and r.returncode < 128
    rep.check(label, ok, f"exit {r.returncode}: {msg[:200]}")


def hostile_cases(rep, tmp):
    base, members = small_archive(tmp)
    top = next(iter(members)).split("/")[0]
    # a pickle that names os.system
    evil = dict(members)
    evil[f"{top}/data.pkl"] = b"\x80\x02cos\nsystem\nX\x05\x00\x00\x00touch\x85R."
    p = os.path.join(tmp, "evil_pickle.pt")
    write_zip(p, evil)
    refused(rep, "hostile pickle os.system", p, "os.system")
    # a member escaping with ../
    esc = dict(members)
    esc[f"{top}/../../etc/evil"] = b"x"
    p = os.path.join(tmp, "dotdot.pt")
    write_zip(p, esc)
    refused(rep, "hostile ../ member", p, "unsafe member name")
    # absurd sizes: a deflated member claiming 1 TiB, and a stored one running past the end
    buf = io.BytesIO()
    write_zip_to = zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED)
    for n, d in members.items():
        write_zip_to.writestr(n, d)
    write_zip_to.close()
    data = bytearray(buf.getvalue())
    cd = data.rfind(b"PK\x01\x02")
    struct.pack_into("<I", data, cd + 24, 0xFFFFFFF0)  # uncompressed size of the last member
    p = os.path.join(tmp, "absurd.pt")
    open(p, "wb").write(bytes(data))
    refused(rep, "hostile absurd size", p, "absurd size")
    raw = bytearray(open(base, "rb").read())
    cd = raw.find(b"PK\x01\x02")
    struct.pack_into("<I", raw, cd + 20, 0x7FFFFFFF)
    struct.pack_into("<I", raw, cd + 24, 0x7FFFFFFF)
    p = os.path.join(tmp, "past_end.pt")
    open(p, "wb").write(bytes(raw))
    refused(rep, "hostile size past the end", p, "")
    # truncated archives
    whole = open(base, "rb").read()
    for frac in (0.5, 0.9):
        p = os.path.join(tmp, f"trunc_{frac}.pt")
        open(p, "wb").write(whole[: int(len(whole) * frac)])
        refused(rep, f"hostile truncated at {int(frac * 100)}%", p, "")


class Unsupported(nn.Module):
    """Ops stele lacks: import must fail with one error naming each with its count."""

    def forward(self, x):
        return torch.logcumsumexp(x, 1) + torch.logcumsumexp(x, 0) + torch.erfinv(x.clamp(-0.5, 0.5))


def unsupported_case(rep, tmp):
    p = os.path.join(tmp, "unsupported.pt")
    torch.jit.trace(Unsupported(), torch.randn(2, 3)).save(p)
    r = common.run_stele(["info", p], check=False)
    msg = r.stderr.strip()
    ok = r.returncode != 0 and len(msg.splitlines()) == 1 and "logcumsumexp (2)" in msg and "erfinv (1)" in msg
    rep.check("unsupported ops listed with counts", ok, msg[:300])


def main():
    rep = common.Report()
    tmp = tempfile.mkdtemp(prefix="stele-ts-")
    only = sys.argv[1] if len(sys.argv) > 1 else None
    if only != "hostile":
        global cases
        all_cases = list(cases())
        cases = (lambda: [c for c in all_cases if not only or c[0] == only])
        model_cases(rep, tmp)
    hostile_cases(rep, tmp)
    unsupported_case(rep, tmp)
    rep.finish()


if __name__ == "__main__":
    main()
