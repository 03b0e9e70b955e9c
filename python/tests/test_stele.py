"""python/tests/test_stele.py: the Python module against real models: descriptions, outputs
bit for bit equal to `stele run --output-dir`, convert/compare/profile, and every misuse a
user can make of run() (wrong dtype, layout, shape, name) ending in stele.Error, not a crash.
Run with Debian's pytest: STELE_LIB=<build>/libstele.so.0 STELE=<build>/stele."""
import os
import subprocess

import numpy as np
import pytest

import stele

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHAPES = os.path.join(ROOT, "models", "shapes.onnx")
STELE = os.environ.get("STELE", os.path.join(ROOT, "build", "stele"))


@pytest.fixture(scope="module")
def model():
    with stele.load(SHAPES) as m:
        yield m


def image(batch=3, seed=1):
    return np.random.default_rng(seed).random((batch, 1, 32, 32), dtype=np.float32)


def test_describe(model):
    assert model.format == "onnx" and model.producer.startswith("pytorch")
    assert model.n_nodes == 14 and model.params == (38980, 155920)
    (i,), (o,) = model.get_inputs(), model.get_outputs()
    assert (i.name, i.dtype, i.shape, i.type) == ("image", np.float32, ("batch", 1, 32, 32),
                                                 "tensor(float)")
    assert (o.name, o.dtype, o.shape) == ("probabilities", np.float32, ("batch", 4))
    values = {v.name: v for v in model.values()}
    assert values["classifier.1.weight"].shape == (64, 512)
    assert values["probabilities"].shape == ("batch", 4)
    assert all(v.dtype == np.float32 for v in values.values())


def test_shapes_bind_at_load():
    with stele.load(SHAPES, shapes={"image": (5, 1, 32, 32)}) as m:
        assert m.get_outputs()[0].shape == (5, 4)
    with pytest.raises(stele.Error) as e:
        stele.load(SHAPES, shapes={"nope": (1, 1, 32, 32)})
    assert e.value.status == 6 and "nope" in e.value.message


def test_outputs_equal_cli_bit_for_bit(model, tmp_path):
    x = image()
    np.save(tmp_path / "x.npy", x)
    subprocess.run([STELE, "run", SHAPES, "--input", f"image={tmp_path / 'x.npy'}",
                    "--output-dir", str(tmp_path / "out"), "--threads", "1"], check=True,
                   capture_output=True)
    cli = np.load(tmp_path / "out" / "probabilities.npy")
    y = model.run({"image": x})["probabilities"]
    assert y.dtype == cli.dtype and y.shape == cli.shape == (3, 4)
    assert y.tobytes() == cli.tobytes()
    np.testing.assert_allclose(y.sum(axis=1), 1, rtol=1e-5)


def test_outputs_are_views_of_stele_storage(model):
    out = model.run({"image": image()})
    y = out["probabilities"]
    assert isinstance(y.base, stele._Owner)  # zero-copy out: the array holds stele's tensor
    del out
    z = model.run({"image": image()})["probabilities"]
    assert y.tobytes() == z.tobytes()  # still valid after later runs and frees


def test_non_contiguous_inputs_are_copied(model):
    x = image()
    want = model.run({"image": x})["probabilities"].copy()
    wide = np.zeros((3, 1, 32, 64), np.float32)
    wide[..., ::2] = x
    strided = wide[..., ::2]
    assert not strided.flags.c_contiguous
    assert model.run({"image": strided})["probabilities"].tobytes() == want.tobytes()
    fortran = np.asfortranarray(x)
    assert model.run({"image": fortran})["probabilities"].tobytes() == want.tobytes()
    assert model.run({"image": x.tolist()})["probabilities"].tobytes() == want.tobytes()


@pytest.mark.parametrize("arr, words", [
    (np.zeros((1, 1, 32, 32), np.float64), ["image", "float32", "float64"]),
    (np.zeros((1, 1, 32, 32), np.int64), ["image", "float32", "int64"]),
    (np.zeros((1, 1, 32, 32), ">f4"), ["image", "float32", ">f4"]),
    (np.zeros((1, 1, 31, 32), np.float32), ["image", "31", "32"]),
    (np.zeros((1, 32, 32), np.float32), ["image", "rank 4", "rank 3"]),
    (np.zeros((1,) * 17, np.float32), ["image", "rank 17"]),
])
def test_bad_inputs_raise(model, arr, words):
    with pytest.raises(stele.Error) as e:
        model.run({"image": arr})
    assert e.value.status == 6 and e.value.status_name == "invalid argument"
    for w in words:
        assert w in e.value.message
    assert model.run({"image": image(1)})["probabilities"].shape == (1, 4)  # still usable


def test_bad_feeds_raise(model):
    for feeds, word in [({}, "image"), ({"image": image(), "other": image()}, "other"),
                        ([image()], "dict")]:
        with pytest.raises(stele.Error) as e:
            model.run(feeds)
        assert word in e.value.message


def test_load_errors(tmp_path):
    with pytest.raises(stele.Error) as e:
        stele.load(tmp_path / "missing.onnx")
    assert e.value.status_name == "i/o error" and "missing.onnx" in e.value.message
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"\x08\x07\x12\xff\xff\xff\xff" * 10)
    with pytest.raises(stele.Error) as e:
        stele.load(junk)
    assert e.value.status in (2, 3) and "junk.onnx" in e.value.message
    with pytest.raises(stele.Error):
        stele.load(SHAPES, format="caffe")


def test_closed_model_raises():
    m = stele.load(SHAPES)
    m.close()
    with pytest.raises(stele.Error) as e:
        m.run({"image": image()})
    assert "closed" in e.value.message


@pytest.mark.parametrize("name, fmt", [("m.pt", "torchscript"), ("m.onnx", "onnx"),
                                       ("sm", "savedmodel")])
def test_convert_then_compare(model, tmp_path, name, fmt):
    dst = tmp_path / name
    stele.convert(SHAPES, dst, to=fmt)
    with stele.load(dst) as m2:
        assert m2.format == fmt
        x = image()
        a, b = model.run({"image": x}), m2.run({m2.get_inputs()[0].name: x})
        np.testing.assert_allclose(list(b.values())[0], a["probabilities"], atol=1e-6)
        r = stele.compare(model, m2)
    (stats,) = r.values()
    assert stats["ok"] and stats["n"] == 4 and stats["max_abs"] <= 1e-6
    assert stats["cosine"] > 0.999999


def test_compare_finds_a_changed_weight(model, tmp_path):
    onnx = pytest.importorskip("onnx")
    from onnx import numpy_helper
    proto = onnx.load(SHAPES)
    init = next(t for t in proto.graph.initializer if t.name == "classifier.3.bias")
    arr = numpy_helper.to_array(init).copy()
    arr[0] += 5
    init.CopyFrom(numpy_helper.from_array(arr, init.name))
    onnx.save(proto, tmp_path / "bad.onnx")
    (stats,) = stele.compare(model, str(tmp_path / "bad.onnx"), seed=3).values()
    assert not stats["ok"] and stats["n_outside"] > 0 and stats["max_abs"] > 1e-4
    (same,) = stele.compare(model, SHAPES, seed=3).values()
    assert same["ok"] and same["max_abs"] == 0


def test_profile_rows(model, tmp_path):
    feeds = {"image": image(2)}
    rows = model.profile(feeds, runs=3, warmup=1, counters="task-clock", threads=1,
                         trace=tmp_path / "t.json")
    assert len(rows) == 14 and all(r["calls"] == 3 for r in rows)
    assert {r["op_type"] for r in rows} == {"Conv", "Relu", "MaxPool", "Flatten", "Gemm",
                                             "Softmax"}
    assert all(r["total_ms"] >= 0 and "task-clock" in r["counters"] for r in rows)
    assert sum(r["flops_per_call"] for r in rows if r["op_type"] == "Conv") > 0
    assert (tmp_path / "t.json").stat().st_size > 100
    ops = model.profile(feeds, runs=1, counters="", group_by="op", threads=1)
    assert sorted(r["name"] for r in ops) == ["Conv", "Flatten", "Gemm", "MaxPool", "Relu",
                                             "Softmax"]
    with pytest.raises(stele.Error):
        model.profile(feeds, group_by="layer")


def test_save_error(model, tmp_path):
    with pytest.raises(stele.Error) as e:
        model.save(tmp_path / "no" / "such" / "dir" / "m.onnx")
    assert e.value.status != 0 and "m.onnx" in e.value.message
