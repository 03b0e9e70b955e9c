/* tests/unit/test_onnx.c: the ONNX codec and converter. Fixtures come from /usr/bin/python3's
 * onnx.helper (the script below writes them into a mkdtemp dir) and, when present, from the
 * generated node suite in /tmp/nodegen/out/node: import, round trips (graph and tensor bytes),
 * external data, raw_data borrowed from the model's mapping, typed-field decoding per dtype,
 * value files, and hostile input. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "onnx/onnx_convert.h"
#include "onnx/onnx_pb.h"
#include "unit_util.h"

#define NODE_DIR "/tmp/nodegen/out/node"
#define PY "/usr/bin/python3"
/* snprintf that must not truncate (and keeps -Wformat-truncation quiet) */
#define FMT(buf, ...) cr_assert_lt((size_t)snprintf(buf, sizeof buf, __VA_ARGS__), sizeof buf)

/* The fixture generator (kept here so the test is one file). */
static const char *const fixture_py =
"\"\"\"Fixture generator embedded in tests/unit/test_onnx.c (written out and run by it).\n"
    "\n"
    "Usage: /usr/bin/python3 gen.py OUTDIR\n"
    "Writes full.onnx (every construct the importer handles), tensors/<dtype>.{typed,raw}.pb\n"
    "with <dtype>.bin holding the expected little-endian bytes, and bad_*.onnx models that\n"
    "must be rejected with a one-line error.\n"
    "\"\"\"\n"
    "import os\n"
    "import sys\n"
    "\n"
    "import numpy as np\n"
    "import onnx\n"
    "from onnx import TensorProto as T\n"
    "from onnx import helper as h\n"
    "from onnx import numpy_helper as nh\n"
    "\n"
    "out = sys.argv[1]\n"
    "os.makedirs(os.path.join(out, \"tensors\"), exist_ok=True)\n"
    "\n"
    "\n"
    "def vi(name, dt, shape):\n"
    "    return h.make_tensor_value_info(name, dt, shape)\n"
    "\n"
    "\n"
    "# ---- the rich model -----------------------------------------------------------------\n"
    "W = nh.from_array(np.array([1.5, -2.0, 3.25], np.float32), \"W\")\n"
    "B = h.make_tensor(\"B\", T.FLOAT, [3], [0.5, 0.25, -1.0])  # float_data\n"
    "K = h.make_tensor(\"K\", T.FLOAT, [1], [2.0])\n"
    "S = h.make_sparse_tensor(\n"
    "    h.make_tensor(\"S\", T.FLOAT, [2], [7.0, -8.0]),\n"
    "    h.make_tensor(\"S_idx\", T.INT64, [2], [1, 5]),\n"
    "    [2, 3],\n"
    ")\n"
    "inits = [\n"
    "    W,\n"
    "    B,\n"
    "    h.make_tensor(\"i8\", T.INT8, [4], [-128, -1, 0, 127]),\n"
    "    h.make_tensor(\"f16\", T.FLOAT16, [2], [1.0, -2.5]),\n"
    "    h.make_tensor(\"i64\", T.INT64, [2], [-(2**40), 2**40]),\n"
    "    h.make_tensor(\"dbl\", T.DOUBLE, [2], [1e-300, -3.5]),\n"
    "    h.make_tensor(\"u64\", T.UINT64, [2], [0, 2**64 - 1]),\n"
    "    h.make_tensor(\"u32\", T.UINT32, [2], [0, 2**32 - 1]),\n"
    "    h.make_tensor(\"c64\", T.COMPLEX64, [2], [1 + 2j, -3 - 4j]),\n"
    "    h.make_tensor(\"str\", T.STRING, [3], [b\"a\", b\"\", b\"hello world\"]),\n"
    "    h.make_tensor(\"bf16\", T.BFLOAT16, [2], [1.0, -2.0]),\n"
    "    h.make_tensor(\"boolv\", T.BOOL, [3], [True, False, True]),\n"
    "    nh.from_array(np.arange(2000, dtype=np.float32).reshape(40, 50), \"big\"),\n"
    "]\n"
    "\n"
    "inner_inner = h.make_graph(\n"
    "    [h.make_node(\"Add\", [\"X\", \"M\"], [\"ii_out\"], name=\"ii_add\")],  # X is two levels up\n"
    "    \"inner_inner\", [], [vi(\"ii_out\", T.FLOAT, [\"N\", 3])],\n"
    ")\n"
    "then_g = h.make_graph(\n"
    "    [\n"
    "        h.make_node(\"Add\", [\"M\", \"KC\"], [\"t_sum\"], name=\"t_add\"),\n"
    "        h.make_node(\"If\", [\"cond\"], [\"t_out\"], name=\"t_if\",\n"
    "                    then_branch=inner_inner,\n"
    "                    else_branch=h.make_graph([], \"pass\", [], [vi(\"t_sum\", T.FLOAT, [\"N\", 3])])),\n"
    "    ],\n"
    "    \"then\", [], [vi(\"t_out\", T.FLOAT, [\"N\", 3])],\n"
    ")\n"
    "else_g = h.make_graph(\n"
    "    [h.make_node(\"Identity\", [\"M\"], [\"e_out\"], name=\"e_id\")], \"else\", [],\n"
    "    [vi(\"e_out\", T.FLOAT, [\"N\", 3])],\n"
    ")\n"
    "fn = h.make_function(\n"
    "    \"custom.dom\", \"MulAdd\", [\"a\", \"b\"], [\"c\"],\n"
    "    [h.make_node(\"Mul\", [\"a\", \"b\"], [\"t\"]), h.make_node(\"Add\", [\"t\", \"b\"], [\"c\"])],\n"
    "    [h.make_opsetid(\"\", 17)], [],\n"
    ")\n"
    "tp_attr = h.make_tensor_type_proto(T.INT64, [2, \"D\"])\n"
    "attr_node = h.make_node(\n"
    "    \"Foo\", [\"M\"], [\"F\"], name=\"foo\", domain=\"custom.dom\",\n"
    "    f=1.25, i=-7, s=b\"text\", t=K, g=else_g,\n"
    "    floats=[1.0, 2.5], ints=[1, -2, 3], strings=[b\"x\", b\"yz\"],\n"
    "    tensors=[K, B], graphs=[else_g, then_g], sparse_t=S,\n"
    "    tp=tp_attr, tps=[tp_attr, h.make_sequence_type_proto(h.make_tensor_type_proto(T.FLOAT, None))],\n"
    ")\n"
    "attr_node.doc_string = \"a node doc\"\n"
    "nodes = [\n"
    "    h.make_node(\"Add\", [\"X\", \"W\"], [\"A\"], name=\"add\"),\n"
    "    h.make_node(\"Mul\", [\"A\", \"B\"], [\"M\"], name=\"mul\"),\n"
    "    h.make_node(\"Constant\", [], [\"KC\"], name=\"const\", value=K),\n"
    "    h.make_node(\"If\", [\"cond\"], [\"Y\"], name=\"if\", then_branch=then_g, else_branch=else_g),\n"
    "    h.make_node(\"Clip\", [\"M\", \"\", \"KC\"], [\"C\"], name=\"clip\"),\n"
    "    h.make_node(\"MulAdd\", [\"M\", \"A\"], [\"G\"], name=\"call\", domain=\"custom.dom\"),\n"
    "    attr_node,\n"
    "]\n"
    "graph = h.make_graph(\n"
    "    nodes, \"main\", [vi(\"X\", T.FLOAT, [\"N\", 3]), vi(\"cond\", T.BOOL, []), vi(\"W\", T.FLOAT, [3])],\n"
    "    [vi(\"Y\", T.FLOAT, [\"N\", 3]), vi(\"C\", T.FLOAT, [\"N\", 3]), vi(\"G\", T.FLOAT, [\"N\", 3]),\n"
    "     vi(\"F\", T.FLOAT, [\"N\", 3])],\n"
    "    initializer=inits, value_info=[vi(\"A\", T.FLOAT, [\"N\", 3])], doc_string=\"graph doc\",\n"
    "    sparse_initializer=[S],\n"
    ")\n"
    "model = h.make_model(\n"
    "    graph, producer_name=\"fixture\", producer_version=\"1.0\", domain=\"test.dom\",\n"
    "    model_version=42, doc_string=\"model doc\", functions=[fn],\n"
    "    opset_imports=[h.make_opsetid(\"\", 17), h.make_opsetid(\"custom.dom\", 1)],\n"
    ")\n"
    "model.ir_version = 8\n"
    "h.set_model_props(model, {\"author\": \"stele\", \"k2\": \"v2\"})\n"
    "onnx.save(model, os.path.join(out, \"full.onnx\"))\n"
    "\n"
    "# ---- tensors in typed fields and in raw_data --------------------------------------------\n"
    "def bf16_bits(vals):\n"
    "    f = np.array(vals, np.float32).view(np.uint32)\n"
    "    return ((f + 0x7FFF + ((f >> 16) & 1)) >> 16).astype(np.uint16)\n"
    "\n"
    "\n"
    "cases = {\n"
    "    \"float32\": (T.FLOAT, np.array([1.5, -0.0, 3e38], np.float32)),\n"
    "    \"uint8\": (T.UINT8, np.array([0, 1, 255], np.uint8)),\n"
    "    \"int8\": (T.INT8, np.array([-128, 0, 127], np.int8)),\n"
    "    \"uint16\": (T.UINT16, np.array([0, 65535, 7], np.uint16)),\n"
    "    \"int16\": (T.INT16, np.array([-32768, 32767, -1], np.int16)),\n"
    "    \"int32\": (T.INT32, np.array([-(2**31), 2**31 - 1, 5], np.int32)),\n"
    "    \"int64\": (T.INT64, np.array([-(2**63), 2**63 - 1, 5], np.int64)),\n"
    "    \"bool\": (T.BOOL, np.array([True, False, True])),\n"
    "    \"float16\": (T.FLOAT16, np.array([1.0, -65504.0, 0.5], np.float16)),\n"
    "    \"float64\": (T.DOUBLE, np.array([1e-300, -2.0, 1e300], np.float64)),\n"
    "    \"uint32\": (T.UINT32, np.array([0, 2**32 - 1, 9], np.uint32)),\n"
    "    \"uint64\": (T.UINT64, np.array([0, 2**64 - 1, 9], np.uint64)),\n"
    "    \"complex64\": (T.COMPLEX64, np.array([1 + 2j, -3.5j, 4], np.complex64)),\n"
    "    \"complex128\": (T.COMPLEX128, np.array([1 + 2j, -3.5j, 4], np.complex128)),\n"
    "}\n"
    "for name, (dt, arr) in cases.items():\n"
    "    typed = h.make_tensor(name, dt, [3], arr.tolist())\n"
    "    raw = h.make_tensor(name, dt, [3], arr.tobytes(), raw=True)\n"
    "    open(os.path.join(out, \"tensors\", name + \".typed.pb\"), \"wb\").write(typed.SerializeToString())\n"
    "    open(os.path.join(out, \"tensors\", name + \".raw.pb\"), \"wb\").write(raw.SerializeToString())\n"
    "    open(os.path.join(out, \"tensors\", name + \".bin\"), \"wb\").write(arr.tobytes())\n"
    "bf = bf16_bits([1.0, -2.0, 0.15625])\n"
    "typed = h.make_tensor(\"bfloat16\", T.BFLOAT16, [3], [1.0, -2.0, 0.15625])\n"
    "open(os.path.join(out, \"tensors\", \"bfloat16.typed.pb\"), \"wb\").write(typed.SerializeToString())\n"
    "raw = h.make_tensor(\"bfloat16\", T.BFLOAT16, [3], bf.tobytes(), raw=True)\n"
    "open(os.path.join(out, \"tensors\", \"bfloat16.raw.pb\"), \"wb\").write(raw.SerializeToString())\n"
    "open(os.path.join(out, \"tensors\", \"bfloat16.bin\"), \"wb\").write(bf.tobytes())\n"
    "\n"
    "\n"
    "# ---- models that must be rejected ------------------------------------------------------\n"
    "def bad(name, init=None, nodes=None, inputs=None, extra=None):\n"
    "    g = h.make_graph(nodes or [h.make_node(\"Identity\", [\"x\"], [\"y\"])], \"bad\",\n"
    "                     inputs if inputs is not None else [vi(\"x\", T.FLOAT, [1])],\n"
    "                     [vi(\"y\", T.FLOAT, [1])], initializer=[init] if init else [])\n"
    "    m = h.make_model(g, opset_imports=[h.make_opsetid(\"\", 17)])\n"
    "    if extra:\n"
    "        extra(m)\n"
    "    open(os.path.join(out, \"bad_\" + name + \".onnx\"), \"wb\").write(m.SerializeToString())\n"
    "\n"
    "\n"
    "def tensor(dims, dt=T.FLOAT, raw=b\"\\0\\0\\0\\0\"):\n"
    "    t = T()\n"
    "    t.name = \"w\"\n"
    "    t.data_type = dt\n"
    "    t.dims.extend(dims)\n"
    "    t.raw_data = raw\n"
    "    return t\n"
    "\n"
    "\n"
    "bad(\"absurd_dims\", tensor([2**40, 2**40]))\n"
    "bad(\"negative_dims\", tensor([-1, 2]))\n"
    "bad(\"unknown_dtype\", tensor([1], dt=99))\n"
    "bad(\"rank17\", tensor([1] * 17))\n"
    "bad(\"raw_size\", tensor([3]))\n"
    "bad(\"undefined_input\", nodes=[h.make_node(\"Identity\", [\"nope\"], [\"y\"])])\n"
    "bad(\"duplicate_output\", nodes=[h.make_node(\"Identity\", [\"x\"], [\"y\"]),\n"
    "                               h.make_node(\"Identity\", [\"x\"], [\"y\"])])\n"
    "ext = tensor([1000])\n"
    "ext.ClearField(\"raw_data\")\n"
    "ext.data_location = T.EXTERNAL\n"
    "for k, v in ((\"location\", \"w.data\"), (\"offset\", \"0\"), (\"length\", \"4000\")):\n"
    "    e = ext.external_data.add()\n"
    "    e.key, e.value = k, v\n"
    "bad(\"external_eof\", ext)\n"
    "open(os.path.join(out, \"w.data\"), \"wb\").write(b\"\\0\" * 10)\n"
    "esc = tensor([1])\n"
    "esc.ClearField(\"raw_data\")\n"
    "esc.data_location = T.EXTERNAL\n"
    "e = esc.external_data.add()\n"
    "e.key, e.value = \"location\", \"../escape.data\"\n"
    "bad(\"external_escape\", esc)\n"
    "huge = h.make_graph([h.make_node(\"Identity\", [\"x\"], [\"y\"])], \"bad\", [vi(\"x\", T.FLOAT, [1])],\n"
    "                    [vi(\"y\", T.FLOAT, [1])], sparse_initializer=[h.make_sparse_tensor(\n"
    "                        h.make_tensor(\"sp\", T.FLOAT, [1], [1.0]),\n"
    "                        h.make_tensor(\"sp_idx\", T.INT64, [1], [0]), [2**20, 2**20])])\n"
    "open(os.path.join(out, \"bad_sparse_huge.onnx\"), \"wb\").write(\n"
    "    h.make_model(huge, opset_imports=[h.make_opsetid(\"\", 17)]).SerializeToString())\n"
    "\n"
    "\n"
    "# ---- zero-copy raw_data: payloads stay in the file (zc.onnx, zc/<name>.bin) ------------\n"
    "def ld(num, payload):\n"
    "    \"\"\"A length-delimited field, as the wire has it (num < 16).\"\"\"\n"
    "    n, v = len(payload), b\"\"\n"
    "    while True:\n"
    "        b = n & 0x7F\n"
    "        n >>= 7\n"
    "        v += bytes([b | (0x80 if n else 0)])\n"
    "        if not n:\n"
    "            return bytes([num << 3 | 2]) + v + payload\n"
    "\n"
    "\n"
    "zc = {\n"
    "    \"zf\": np.arange(100, dtype=np.float32) * 0.5,\n"
    "    \"zi\": np.arange(-25, 25, dtype=np.int64) * (2**40),\n"
    "    \"zh\": np.arange(64, dtype=np.float16),\n"
    "    \"zd\": np.linspace(-1, 1, 20),\n"
    "    \"zb\": np.arange(200, dtype=np.uint8),\n"
    "    \"zsmall\": np.array([1, 2, 3, 4], np.float32),\n"
    "    \"sub_w\": np.arange(32, dtype=np.int32) - 7,\n"
    "    \"kbig\": np.arange(48, dtype=np.float32) / 3,\n"
    "    \"kelse\": np.arange(24, dtype=np.float64) * -2,\n"
    "    \"zdup\": np.arange(40, dtype=np.float32) + 1,\n"
    "    \"zlast\": np.array([9, 8, 7, 6], np.float32),\n"
    "    \"zforged\": np.array([5, 4, 3, 2], np.float32),\n"
    "}\n"
    "os.makedirs(os.path.join(out, \"zc\"), exist_ok=True)\n"
    "for k, a in zc.items():\n"
    "    open(os.path.join(out, \"zc\", k + \".bin\"), \"wb\").write(a.tobytes())\n"
    "zinits = [nh.from_array(zc[k], k)\n"
    "          for k in (\"zf\", \"zi\", \"zh\", \"zd\", \"zb\", \"zsmall\")]\n"
    "then_z = h.make_graph([], \"then_z\", [], [vi(\"sub_w\", T.INT32, [32])],\n"
    "                      initializer=[nh.from_array(zc[\"sub_w\"], \"sub_w\")])\n"
    "else_z = h.make_graph([h.make_node(\"Constant\", [], [\"kelse\"], name=\"kelse\",\n"
    "                                   value=nh.from_array(zc[\"kelse\"], \"kelse\"))],\n"
    "                      \"else_z\", [], [vi(\"kelse\", T.DOUBLE, [24])])\n"
    "znodes = [\n"
    "    h.make_node(\"Constant\", [], [\"kbig\"], name=\"kbig\",\n"
    "                value=nh.from_array(zc[\"kbig\"], \"kbig\")),\n"
    "    h.make_node(\"If\", [\"c\"], [\"zif\"], name=\"zif\",\n"
    "                then_branch=then_z, else_branch=else_z),\n"
    "]\n"
    "zout = [\"kbig\"] + [t.name for t in zinits] + [\"zdup\", \"zlast\", \"zforged\"]\n"
    "zg = h.make_graph(znodes, \"zc\", [vi(\"c\", T.BOOL, [])],\n"
    "                  [vi(n, onnx.mapping.NP_TYPE_TO_TENSOR_TYPE[zc[n].dtype], zc[n].shape)\n"
    "                   for n in zout] + [vi(\"zif\", T.INT32, [32])],\n"
    "                  initializer=zinits)\n"
    "\n"
    "\n"
    "def head(name, n):\n"
    "    t = T()\n"
    "    t.name, t.data_type = name, T.FLOAT\n"
    "    t.dims.append(n)\n"
    "    return t.SerializeToString()\n"
    "\n"
    "\n"
    "# written by hand: two raw_data fields (protobuf keeps the last: a large one after junk, a\n"
    "# small one after a large one) and a span marker forged by the file (field 536870911)\n"
    "forged = (b\"\\xfa\\xff\\xff\\xff\\x0f\\x10\" + (0).to_bytes(8, \"little\")\n"
    "          + (16).to_bytes(8, \"little\"))\n"
    "extra = (ld(5, head(\"zdup\", 40) + ld(9, b\"\\xee\" * 160)\n"
    "            + ld(9, zc[\"zdup\"].tobytes()))\n"
    "         + ld(5, head(\"zlast\", 4) + ld(9, b\"\\x55\" * 400)\n"
    "              + ld(9, zc[\"zlast\"].tobytes()))\n"
    "         + ld(5, head(\"zforged\", 4) + ld(9, zc[\"zforged\"].tobytes()) + forged))\n"
    "zm = h.make_model(h.make_graph([], \"placeholder\", [], []),\n"
    "                  opset_imports=[h.make_opsetid(\"\", 17)])\n"
    "zm.ClearField(\"graph\")\n"
    "# pad the doc string until the float and double payloads are misaligned in the file\n"
    "for pad in range(64):\n"
    "    zm.doc_string = \"x\" * pad\n"
    "    zbytes = zm.SerializeToString() + ld(7, zg.SerializeToString() + extra)\n"
    "    if zbytes.find(zc[\"zf\"].tobytes()) % 4 and zbytes.find(zc[\"zd\"].tobytes()) % 8:\n"
    "        break\n"
    "open(os.path.join(out, \"zc.onnx\"), \"wb\").write(zbytes)\n"
    "onnx.checker.check_model(onnx.load_from_string(zbytes))\n"
    "\n";

static char tmp_dir[256];

static void make_tmp(void) { ut_tmpdir(tmp_dir, sizeof tmp_dir, "stele_onnx"); }

static void rm_tmp(void) {
    if (tmp_dir[0]) ut_rmtree(tmp_dir);
}

static const char *tmp_path(char *buf, size_t n, const char *name) {
    cr_assert_lt((size_t)snprintf(buf, n, "%s/%s", tmp_dir, name), n);
    return buf;
}

/* Write the fixtures into tmp_dir; skips the test (loudly) without python's onnx. */
static void fixtures(void) {
    if (!ut_python_has("onnx, numpy")) {
        fprintf(stderr, "SKIP: " PY " lacks onnx/numpy; ONNX fixture tests skipped\n");
        cr_skip_test("/usr/bin/python3 lacks onnx");
    }
    cr_assert_eq(ut_python_run(tmp_dir, "gen.py", NULL, fixture_py, tmp_dir), 0,
                 "fixture generator failed");
}

static st_model *import_ok(const char *path) {
    st_model *m = NULL;
    st_error err = {0};
    st_status s = st_onnx_import(path, &m, &err);
    cr_assert_eq(s, ST_OK, "import %s: %s", path, err.msg);
    return m;
}

static int find_value(const st_graph *g, const char *name) { return st_graph_find(g, name); }

static const st_node *find_node(const st_graph *g, const char *name) {
    for (size_t i = 0; i < g->n_nodes; i++)
        if (!strcmp(g->nodes[i].name, name)) return &g->nodes[i];
    return NULL;
}

/* ---- structural comparison (round trips) ------------------------------------------ */
static void cmp_tensor(const st_tensor *a, const st_tensor *b, const char *what) {
    cr_assert_eq(a->dtype, b->dtype, "%s: dtype", what);
    cr_assert_eq(a->ndim, b->ndim, "%s: rank", what);
    for (int i = 0; i < a->ndim; i++) cr_assert_eq(a->dims[i], b->dims[i], "%s: dim %d", what, i);
    size_t n = st_tensor_nelem(a);
    if (a->dtype == ST_DTYPE_STRING) {
        const st_str *x = a->data, *y = b->data;
        for (size_t i = 0; i < n; i++) {
            cr_assert_eq(x[i].len, y[i].len, "%s: string %zu", what, i);
            if (x[i].len) cr_assert(!memcmp(x[i].data, y[i].data, x[i].len), "%s: string %zu", what, i);
        }
    } else if (n) {
        cr_assert(!memcmp(a->data, b->data, st_tensor_nbytes(a)), "%s: bytes differ", what);
    }
}

static void cmp_type(const st_type *a, const st_type *b, const char *what) {
    cr_assert_eq(a->kind, b->kind, "%s: kind", what);
    cr_assert_eq(a->optional, b->optional, "%s: optional", what);
    if (a->kind == ST_VAL_NONE) return;
    cr_assert_eq(a->dtype, b->dtype, "%s: dtype", what);
    cr_assert_eq(a->rank, b->rank, "%s: rank", what);
    for (int i = 0; i < a->rank; i++) {
        cr_assert_eq(a->dims[i].value, b->dims[i].value, "%s: dim %d", what, i);
        cr_assert_eq(!a->dims[i].symbol, !b->dims[i].symbol, "%s: symbol %d", what, i);
        if (a->dims[i].symbol) cr_assert_str_eq(a->dims[i].symbol, b->dims[i].symbol);
    }
}

static void cmp_graph(const st_graph *a, const st_graph *b);

static void cmp_attr(const st_attr *x, const st_attr *y, const char *node) {
    char what[300];
    FMT(what, "%s.%s", node, x->name);
    cr_assert_str_eq(x->name, y->name, "%s", what);
    cr_assert_eq(x->kind, y->kind, "%s: kind", what);
    cr_assert_eq(!x->ref_attr_name, !y->ref_attr_name, "%s: ref", what);
    switch (x->kind) {
    case ST_ATTR_FLOAT: cr_assert_eq(x->f, y->f, "%s", what); break;
    case ST_ATTR_INT: cr_assert_eq(x->i, y->i, "%s", what); break;
    case ST_ATTR_STRING:
        cr_assert_eq(x->s.len, y->s.len, "%s", what);
        cr_assert(!memcmp(x->s.data, y->s.data, x->s.len), "%s", what);
        break;
    case ST_ATTR_TENSOR: case ST_ATTR_SPARSE_TENSOR:
        if (!x->ref_attr_name) cmp_tensor(&x->t, &y->t, what);
        break;
    case ST_ATTR_GRAPH: if (x->g) cmp_graph(x->g, y->g); break;
    case ST_ATTR_TYPE_PROTO: cmp_type(&x->tp, &y->tp, what); break;
    default:
        cr_assert_eq(x->n, y->n, "%s: count", what);
        for (size_t i = 0; i < x->n; i++) {
            if (x->kind == ST_ATTR_FLOATS) cr_assert_eq(x->floats[i], y->floats[i], "%s", what);
            if (x->kind == ST_ATTR_INTS) cr_assert_eq(x->ints[i], y->ints[i], "%s", what);
            if (x->kind == ST_ATTR_STRINGS) {
                cr_assert_eq(x->strings[i].len, y->strings[i].len, "%s", what);
                cr_assert(!memcmp(x->strings[i].data, y->strings[i].data, x->strings[i].len));
            }
            if (x->kind == ST_ATTR_TENSORS || x->kind == ST_ATTR_SPARSE_TENSORS)
                cmp_tensor(&x->tensors[i], &y->tensors[i], what);
            if (x->kind == ST_ATTR_GRAPHS) cmp_graph(x->graphs[i], y->graphs[i]);
            if (x->kind == ST_ATTR_TYPE_PROTOS) cmp_type(&x->tps[i], &y->tps[i], what);
        }
    }
}

static const char *vname(const st_graph *g, int i) { return i < 0 ? "" : g->values[i].name; }

static void cmp_graph(const st_graph *a, const st_graph *b) {
    cr_assert_eq(a->n_inputs, b->n_inputs, "graph %s: inputs", a->name);
    cr_assert_eq(a->n_outputs, b->n_outputs, "graph %s: outputs", a->name);
    cr_assert_eq(a->n_nodes, b->n_nodes, "graph %s: nodes", a->name);
    for (size_t i = 0; i < a->n_inputs; i++)
        cr_assert_str_eq(vname(a, a->inputs[i]), vname(b, b->inputs[i]));
    for (size_t i = 0; i < a->n_outputs; i++)
        cr_assert_str_eq(vname(a, a->outputs[i]), vname(b, b->outputs[i]));
    for (size_t i = 0; i < a->n_values; i++) {
        const st_ir_value *x = &a->values[i];
        int j = st_graph_find(b, x->name);
        cr_assert(j >= 0, "value %s lost", x->name);
        const st_ir_value *y = &b->values[j];
        cr_assert_eq(x->role, y->role, "value %s: role", x->name);
        cr_assert_eq(x->has_const, y->has_const, "value %s: const", x->name);
        if (x->has_const) cmp_tensor(&x->const_val, &y->const_val, x->name);
        if (x->role != ST_VALUE_OUTER) cmp_type(&x->type, &y->type, x->name);
        if (x->role == ST_VALUE_OUTER)
            cr_assert_str_eq(a->parent->values[x->outer_index].name,
                             b->parent->values[y->outer_index].name);
    }
    for (size_t k = 0; k < a->n_nodes; k++) {
        const st_node *x = &a->nodes[k], *y = &b->nodes[k];
        cr_assert_str_eq(x->op_type, y->op_type);
        cr_assert_str_eq(x->domain, y->domain);
        cr_assert_str_eq(x->name, y->name);
        cr_assert_eq(x->since, y->since);
        cr_assert_eq(x->n_in, y->n_in, "node %s", x->name);
        cr_assert_eq(x->n_out, y->n_out, "node %s", x->name);
        for (int i = 0; i < x->n_in; i++) cr_assert_str_eq(vname(a, x->inputs[i]), vname(b, y->inputs[i]));
        for (int i = 0; i < x->n_out; i++) cr_assert_str_eq(vname(a, x->outputs[i]), vname(b, y->outputs[i]));
        cr_assert_eq(x->n_attrs, y->n_attrs, "node %s", x->name);
        for (int i = 0; i < x->n_attrs; i++) cmp_attr(&x->attrs[i], &y->attrs[i], x->name);
    }
}

static void cmp_model(const st_model *a, const st_model *b) {
    cr_assert_eq(a->ir_version, b->ir_version);
    cr_assert_str_eq(a->producer_name, b->producer_name);
    cr_assert_str_eq(a->producer_version, b->producer_version);
    cr_assert_str_eq(a->domain, b->domain);
    cr_assert_str_eq(a->doc, b->doc);
    cr_assert_eq(a->model_version, b->model_version);
    cr_assert_eq(a->n_opsets, b->n_opsets);
    for (size_t i = 0; i < a->n_opsets; i++) {
        cr_assert_str_eq(a->opsets[i].domain, b->opsets[i].domain);
        cr_assert_eq(a->opsets[i].version, b->opsets[i].version);
    }
    cr_assert_eq(a->n_meta, b->n_meta);
    for (size_t i = 0; i < a->n_meta; i++) {
        cr_assert_str_eq(a->meta[i].key, b->meta[i].key);
        cr_assert_str_eq(a->meta[i].value, b->meta[i].value);
    }
    cr_assert_eq(a->n_functions, b->n_functions);
    for (size_t i = 0; i < a->n_functions; i++) {
        cr_assert_str_eq(a->functions[i].name, b->functions[i].name);
        cmp_graph(a->functions[i].body, b->functions[i].body);
    }
    cmp_graph(a->graph, b->graph);
}

/* import -> export -> import; returns the second model. */
static st_model *round_trip(const st_model *m, const char *out, size_t threshold) {
    st_error err = {0};
    cr_assert_eq(st_onnx_export(m, out, threshold, &err), ST_OK, "export %s: %s", out, err.msg);
    st_model *m2 = import_ok(out);
    cmp_model(m, m2);
    return m2;
}

static void check_with_onnx(const char *path) {
    char cmd[1024];
    FMT(cmd,
             PY " -c 'import onnx,sys; onnx.checker.check_model(onnx.load(sys.argv[1]))' '%s'", path);
    cr_assert_eq(system(cmd), 0, "onnx.checker rejects %s", path);
}

TestSuite(onnx, .init = make_tmp, .fini = rm_tmp);

/* ---- the rich fixture ------------------------------------------------------------ */
Test(onnx, import_everything) {
    fixtures();
    char p[1024];
    st_model *m = import_ok(tmp_path(p, sizeof p, "full.onnx"));
    cr_assert_eq(m->ir_version, 8);
    cr_assert_str_eq(m->producer_name, "fixture");
    cr_assert_str_eq(m->producer_version, "1.0");
    cr_assert_eq(m->model_version, 42);
    cr_assert_str_eq(m->doc, "model doc");
    cr_assert_eq(st_model_opset(m, ""), 17);
    cr_assert_eq(st_model_opset(m, "custom.dom"), 1);
    cr_assert_eq(m->n_meta, 2);
    cr_assert_eq(m->n_functions, 1);
    cr_assert_str_eq(m->functions[0].name, "MulAdd");
    cr_assert_eq(m->functions[0].body->n_nodes, 2);
    const st_graph *g = m->graph;
    cr_assert_str_eq(g->doc, "graph doc");
    /* inputs: X, cond, and W which is also an initializer (overridable) */
    cr_assert_eq(g->n_inputs, 3);
    const st_ir_value *x = &g->values[g->inputs[0]], *w = &g->values[g->inputs[2]];
    cr_assert_eq(x->role, ST_VALUE_INPUT);
    cr_assert_eq(x->type.rank, 2);
    cr_assert_str_eq(x->type.dims[0].symbol, "N");
    cr_assert_eq(x->type.dims[1].value, 3);
    cr_assert_eq(w->role, ST_VALUE_INITIALIZER);
    cr_assert(w->has_const);
    cr_assert_eq(((float *)w->const_val.data)[1], -2.0f);
    /* typed fields */
    const st_ir_value *v = &g->values[find_value(g, "B")];
    cr_assert_eq(((float *)v->const_val.data)[2], -1.0f);
    v = &g->values[find_value(g, "i8")];
    cr_assert_eq(((int8_t *)v->const_val.data)[0], -128);
    v = &g->values[find_value(g, "f16")];
    cr_assert_eq(st_f16_to_f32(((uint16_t *)v->const_val.data)[1]), -2.5f);
    v = &g->values[find_value(g, "u64")];
    cr_assert_eq(((uint64_t *)v->const_val.data)[1], UINT64_MAX);
    v = &g->values[find_value(g, "u32")];
    cr_assert_eq(((uint32_t *)v->const_val.data)[1], UINT32_MAX);
    v = &g->values[find_value(g, "c64")];
    cr_assert_eq(((float *)v->const_val.data)[3], -4.0f);
    v = &g->values[find_value(g, "str")];
    cr_assert_str_eq(((st_str *)v->const_val.data)[2].data, "hello world");
    v = &g->values[find_value(g, "boolv")];
    cr_assert_eq(((uint8_t *)v->const_val.data)[2], 1);
    /* the sparse initializer is densified */
    v = &g->values[find_value(g, "S")];
    cr_assert_eq(v->role, ST_VALUE_INITIALIZER);
    cr_assert_eq(v->const_val.ndim, 2);
    const float *sd = v->const_val.data;
    cr_assert(sd[0] == 0 && sd[1] == 7.0f && sd[5] == -8.0f && sd[4] == 0);
    /* value_info types intermediates */
    v = &g->values[find_value(g, "A")];
    cr_assert_eq(v->type.kind, ST_VAL_TENSOR);
    cr_assert_str_eq(v->type.dims[0].symbol, "N");
    /* a missing optional input */
    const st_node *clip = find_node(g, "clip");
    cr_assert_eq(clip->n_in, 3);
    cr_assert_eq(clip->inputs[1], -1);
    cr_assert_eq(clip->since, 17);
    cr_assert_eq(find_node(g, "foo")->since, 1);
    /* the call to the local function MulAdd is expanded in place: G = M * A + A */
    cr_assert_null(find_node(g, "call"));
    const st_node *fm = find_node(g, "call/0/Mul"), *fa = find_node(g, "call/0/Add");
    cr_assert(fm && fa, "function body not inlined");
    cr_assert_eq(fm->inputs[0], find_value(g, "M"));
    cr_assert_eq(fm->inputs[1], find_value(g, "A"));
    cr_assert_eq(fa->outputs[0], find_value(g, "G"));
    cr_assert_eq(fa->inputs[0], fm->outputs[0]);
    cr_assert_eq(fa->since, 17);
    cr_assert_eq(g->values[find_value(g, "G")].producer, (int)(fa - g->nodes));
    cr_assert_str_eq(find_node(g, "foo")->doc, "a node doc");
    /* subgraphs: then -> t_if -> inner_inner uses X (two levels up) and M (one level up) */
    const st_node *nif = find_node(g, "if");
    const st_graph *then_g = st_node_attr(nif, "then_branch")->g;
    cr_assert_eq(then_g->parent, g);
    int km = find_value(then_g, "M");
    cr_assert(km >= 0);
    cr_assert_eq(then_g->values[km].role, ST_VALUE_OUTER);
    cr_assert_eq(then_g->values[km].outer_index, find_value(g, "M"));
    const st_graph *ii = st_node_attr(find_node(then_g, "t_if"), "then_branch")->g;
    int ix = find_value(ii, "X"), tx = find_value(then_g, "X");
    cr_assert(ix >= 0 && tx >= 0, "X must be chained through the middle graph");
    cr_assert_eq(ii->values[ix].role, ST_VALUE_OUTER);
    cr_assert_eq(ii->values[ix].outer_index, tx);
    cr_assert_eq(then_g->values[tx].role, ST_VALUE_OUTER);
    cr_assert_eq(then_g->values[tx].outer_index, find_value(g, "X"));
    /* attributes of every kind */
    const st_node *foo = find_node(g, "foo");
    cr_assert_eq(st_attr_float(foo, "f", 0), 1.25);
    cr_assert_eq(st_attr_int(foo, "i", 0), -7);
    cr_assert_str_eq(st_attr_string(foo, "s", ""), "text");
    const int64_t *ints;
    cr_assert_eq(st_attr_ints(foo, "ints", &ints), 3);
    cr_assert_eq(ints[1], -2);
    cr_assert_eq(st_node_attr(foo, "strings")->n, 2);
    cr_assert_eq(st_node_attr(foo, "tensors")->n, 2);
    cr_assert_eq(st_node_attr(foo, "graphs")->n, 2);
    cr_assert_eq(st_node_attr(foo, "sparse_t")->kind, ST_ATTR_SPARSE_TENSOR);
    cr_assert_eq(((float *)st_node_attr(foo, "sparse_t")->t.data)[5], -8.0f);
    const st_attr *tp = st_node_attr(foo, "tp");
    cr_assert_eq(tp->kind, ST_ATTR_TYPE_PROTO);
    cr_assert_eq(tp->tp.dtype, ST_DTYPE_I64);
    cr_assert_str_eq(tp->tp.dims[1].symbol, "D");
    cr_assert_eq(st_node_attr(foo, "tps")->tps[1].kind, ST_VAL_SEQUENCE);
    st_model_release(m);
}

Test(onnx, round_trip_everything) {
    fixtures();
    char p[1024], q[1024];
    st_model *m = import_ok(tmp_path(p, sizeof p, "full.onnx"));
    st_model *m2 = round_trip(m, tmp_path(q, sizeof q, "rt.onnx"), 0);
    check_with_onnx(q);
    /* a second trip gives the same bytes */
    char r[1024];
    st_error err = {0};
    cr_assert_eq(st_onnx_export(m2, tmp_path(r, sizeof r, "rt2.onnx"), 0, &err), ST_OK, "%s", err.msg);
    char cmd[2600];
    FMT(cmd, "cmp -s '%s' '%s'", q, r);
    cr_assert_eq(system(cmd), 0, "export is not deterministic");
    st_model_release(m2);
    st_model_release(m);
}

/* ---- raw_data borrowed from the model's mapping ------------------------------------------ */
static void expect_bin(const st_tensor *t, const char *name) {
    char p[1024], rel[300];
    FMT(rel, "zc/%s.bin", name);
    st_buf *b;
    st_error err = {0};
    cr_assert_eq(st_read_file(tmp_path(p, sizeof p, rel), &b, &err), ST_OK, "%s", err.msg);
    cr_assert_eq(st_tensor_nbytes(t), b->size, "%s: %zu bytes, expected %zu", name,
                 st_tensor_nbytes(t), b->size);
    cr_assert(memcmp(t->data, b->data, b->size) == 0, "%s: values differ", name);
    st_buf_unref(b);
}

/* t's bytes lie in a buffer the size of the model file: its mapping. */
static bool in_mapping(const st_tensor *t, size_t file_size) {
    if (!t->buf || t->buf->size != file_size) return false;
    const uint8_t *lo = t->buf->data, *d = t->data;
    return d >= lo && d + st_tensor_nbytes(t) <= lo + file_size;
}

static void expect_borrowed(const st_tensor *t, const char *name, size_t file_size) {
    expect_bin(t, name);
    cr_assert(in_mapping(t, file_size), "%s: not borrowed from the file's mapping", name);
    cr_assert_eq((uintptr_t)t->data % st_dtype_size(t->dtype), 0, "%s: misaligned", name);
}

Test(onnx, raw_data_borrowed_from_mapping) {
    fixtures();
    char p[1024], q[1024];
    st_buf *before, *after;
    st_error err = {0};
    cr_assert_eq(st_read_file(tmp_path(p, sizeof p, "zc.onnx"), &before, &err), ST_OK);
    st_model *m = import_ok(p);
    const st_graph *g = m->graph;
    /* initializers of every width, zf and zd stored misaligned, zdup after a junk raw_data */
    static const char *const big[] = {"zf", "zi", "zh", "zd", "zb", "zdup"};
    for (size_t i = 0; i < sizeof big / sizeof *big; i++) {
        int vi = find_value(g, big[i]);
        cr_assert(vi >= 0 && g->values[vi].has_const, "%s missing", big[i]);
        expect_borrowed(&g->values[vi].const_val, big[i], before->size);
    }
    /* short payloads are copied: below the threshold, the small last of two raw_data, and
     * one whose span marker was forged by the file */
    static const char *const small[] = {"zsmall", "zlast", "zforged"};
    for (size_t i = 0; i < sizeof small / sizeof *small; i++) {
        const st_tensor *t = &g->values[find_value(g, small[i])].const_val;
        expect_bin(t, small[i]);
        cr_assert_not(in_mapping(t, before->size), "%s: borrowed a span it does not own",
                      small[i]);
    }
    /* a Constant's tensor, a subgraph's initializer and a Constant inside a subgraph */
    expect_borrowed(&st_node_attr(find_node(g, "kbig"), "value")->t, "kbig", before->size);
    const st_node *zif = find_node(g, "zif");
    const st_graph *then_g = st_node_attr(zif, "then_branch")->g;
    const st_graph *else_g = st_node_attr(zif, "else_branch")->g;
    expect_borrowed(&then_g->values[find_value(then_g, "sub_w")].const_val, "sub_w",
                    before->size);
    expect_borrowed(&st_node_attr(find_node(else_g, "kelse"), "value")->t, "kelse",
                    before->size);
    /* payloads moved into alignment inside a private mapping: the file is unchanged */
    cr_assert_eq(st_read_file(p, &after, &err), ST_OK);
    cr_assert(after->size == before->size && !memcmp(after->data, before->data, before->size),
              "import modified the model file");
    /* the tensors keep the mapping: the file may go, and the model still round-trips */
    cr_assert_eq(unlink(p), 0);
    expect_borrowed(&g->values[find_value(g, "zd")].const_val, "zd", before->size);
    st_model *m2 = round_trip(m, tmp_path(q, sizeof q, "zc_rt.onnx"), 0);
    check_with_onnx(q);
    st_model_release(m2);
    st_model_release(m);
    st_buf_unref(after);
    st_buf_unref(before);
}

Test(onnx, external_data_round_trip) {
    fixtures();
    char p[1024], q[1024], d[600];
    st_model *m = import_ok(tmp_path(p, sizeof p, "full.onnx"));
    st_error err = {0};
    cr_assert_eq(st_onnx_export(m, tmp_path(q, sizeof q, "ext.onnx"), 1024, &err), ST_OK, "%s", err.msg);
    FMT(d, "%s.data", q);
    struct stat st;
    cr_assert_eq(stat(d, &st), 0, "no external data file %s", d);
    cr_assert_geq(st.st_size, 8000); /* "big" is 8000 bytes */
    st_model *m2 = import_ok(q);
    cmp_model(m, m2);
    /* the big weight is borrowed from the mapped data file, at an aligned offset */
    const st_ir_value *big = &m2->graph->values[find_value(m2->graph, "big")];
    cr_assert_eq((uintptr_t)big->const_val.data % 4096, 0);
    cr_assert_eq(((float *)big->const_val.data)[1999], 1999.0f);
    check_with_onnx(q);
    st_model_release(m2);
    st_model_release(m);
}

Test(onnx, typed_fields_every_dtype) {
    fixtures();
    static const char *const names[] = {"float32", "uint8", "int8", "uint16", "int16",
                                        "int32", "int64", "bool", "float16", "float64",
                                        "uint32", "uint64", "complex64", "complex128",
                                        "bfloat16"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char p[1024], f[300];
        st_buf *bin;
        st_error err = {0};
        FMT(f, "tensors/%s.bin", names[i]);
        cr_assert_eq(st_read_file(tmp_path(p, sizeof p, f), &bin, &err), ST_OK);
        for (int raw = 0; raw < 2; raw++) {
            FMT(f, "tensors/%s.%s.pb", names[i], raw ? "raw" : "typed");
            st_value v;
            char *name = NULL;
            st_value_info expect = {.kind = ST_VAL_TENSOR, .rank = -1};
            cr_assert_eq(st_onnx_read_value(tmp_path(p, sizeof p, f), raw ? &expect : NULL, &v,
                                            &name, &err), ST_OK, "%s: %s", f, err.msg);
            cr_assert_eq(v.kind, ST_VAL_TENSOR, "%s", f);
            cr_assert_str_eq(st_dtype_name(v.tensor.dtype), names[i]);
            cr_assert_str_eq(name, names[i]);
            cr_assert_eq(st_tensor_nbytes(&v.tensor), bin->size, "%s", f);
            cr_assert(!memcmp(v.tensor.data, bin->data, bin->size), "%s: bytes differ", f);
            /* write it back and read again */
            char w[1024];
            cr_assert_eq(st_onnx_write_value(tmp_path(w, sizeof w, "v.pb"), &v, name, &err), ST_OK);
            st_value v2;
            cr_assert_eq(st_onnx_read_value(w, NULL, &v2, NULL, &err), ST_OK, "%s", err.msg);
            cmp_tensor(&v.tensor, &v2.tensor, f);
            st_value_clear(&v2);
            st_value_clear(&v);
            free(name);
        }
        st_buf_unref(bin);
    }
}

Test(onnx, value_files_sequence_optional) {
    st_error err = {0};
    char p[1024];
    int64_t dims[] = {2};
    st_value seq = {.kind = ST_VAL_SEQUENCE, .nseq = 2};
    seq.seq = st_calloc(2, sizeof(st_tensor));
    for (int i = 0; i < 2; i++) {
        cr_assert_eq(st_tensor_alloc(&seq.seq[i], ST_DTYPE_I32, 1, dims, &err), ST_OK);
        ((int32_t *)seq.seq[i].data)[1] = 10 + i;
    }
    /* plain sequence, guessed and expected */
    cr_assert_eq(st_onnx_write_value(tmp_path(p, sizeof p, "seq.pb"), &seq, "s", &err), ST_OK);
    st_value_info expect = {.kind = ST_VAL_SEQUENCE, .dtype = ST_DTYPE_I32, .rank = -1};
    for (int e = 0; e < 2; e++) {
        st_value r;
        char *name = NULL;
        cr_assert_eq(st_onnx_read_value(p, e ? &expect : NULL, &r, &name, &err), ST_OK, "%s", err.msg);
        cr_assert_eq(r.kind, ST_VAL_SEQUENCE);
        cr_assert_eq(r.nseq, 2);
        cr_assert_not(r.optional);
        cr_assert_eq(((int32_t *)r.seq[1].data)[1], 11);
        cr_assert_str_eq(name, "s");
        free(name);
        st_value_clear(&r);
    }
    /* optional sequence, optional tensor, empty optional */
    seq.optional = true;
    cr_assert_eq(st_onnx_write_value(p, &seq, NULL, &err), ST_OK);
    expect.optional = true;
    st_value r;
    cr_assert_eq(st_onnx_read_value(p, &expect, &r, NULL, &err), ST_OK, "%s", err.msg);
    cr_assert(r.optional && r.kind == ST_VAL_SEQUENCE && r.nseq == 2);
    st_value_clear(&r);
    st_value opt = {.kind = ST_VAL_TENSOR, .optional = true};
    st_tensor_share(&opt.tensor, &seq.seq[0]);
    cr_assert_eq(st_onnx_write_value(p, &opt, "o", &err), ST_OK);
    expect.kind = ST_VAL_TENSOR;
    cr_assert_eq(st_onnx_read_value(p, &expect, &r, NULL, &err), ST_OK, "%s", err.msg);
    cr_assert(r.optional && r.kind == ST_VAL_TENSOR);
    cmp_tensor(&r.tensor, &seq.seq[0], "optional tensor");
    st_value_clear(&r);
    st_value none = {.kind = ST_VAL_NONE, .optional = true};
    cr_assert_eq(st_onnx_write_value(p, &none, NULL, &err), ST_OK);
    cr_assert_eq(st_onnx_read_value(p, &expect, &r, NULL, &err), ST_OK, "%s", err.msg);
    cr_assert(r.optional && r.kind == ST_VAL_NONE);
    cr_assert_eq(r.elem_dtype, ST_DTYPE_I32);
    st_value_clear(&r);
    /* a TensorProto read where a sequence is expected is an error, not an empty sequence */
    st_value t1 = {.kind = ST_VAL_TENSOR};
    st_tensor_share(&t1.tensor, &seq.seq[0]);
    cr_assert_eq(st_onnx_write_value(p, &t1, "t", &err), ST_OK);
    expect.kind = ST_VAL_SEQUENCE;
    expect.optional = false;
    cr_assert_eq(st_onnx_read_value(p, &expect, &r, NULL, &err), ST_ERR_FORMAT);
    cr_assert_not_null(strstr(err.msg, "not a SequenceProto"), "%s", err.msg);
    st_value_clear(&t1);
    st_value_clear(&opt);
    st_value_clear(&seq);
}

/* ---- hostile input --------------------------------------------------------------- */
static void expect_reject(const char *file, st_status want, const char *needle) {
    char p[1024];
    st_model *m = NULL;
    st_error err = {0};
    st_status s = st_onnx_import(tmp_path(p, sizeof p, file), &m, &err);
    cr_assert_eq(s, want, "%s: got %s (%s)", file, st_status_str(s), err.msg);
    cr_assert_null(m);
    cr_assert_null(strchr(err.msg, '\n'), "%s: message must be one line", file);
    cr_assert_not_null(strstr(err.msg, file), "%s: message must name the file: %s", file, err.msg);
    if (needle) cr_assert_not_null(strstr(err.msg, needle), "%s: %s", file, err.msg);
}

Test(onnx, rejects_bad_models) {
    fixtures();
    expect_reject("bad_absurd_dims.onnx", ST_ERR_LIMIT, "absurd");
    expect_reject("bad_negative_dims.onnx", ST_ERR_FORMAT, "negative");
    expect_reject("bad_unknown_dtype.onnx", ST_ERR_FORMAT, "data type 99");
    expect_reject("bad_rank17.onnx", ST_ERR_LIMIT, "rank");
    expect_reject("bad_raw_size.onnx", ST_ERR_FORMAT, "raw_data has 4 bytes");
    expect_reject("bad_undefined_input.onnx", ST_ERR_FORMAT, "\"nope\" is not defined");
    expect_reject("bad_duplicate_output.onnx", ST_ERR_FORMAT, "already defined");
    expect_reject("bad_external_eof.onnx", ST_ERR_FORMAT,
                  "external data file w.data: offset+length beyond end of file");
    expect_reject("bad_external_escape.onnx", ST_ERR_FORMAT, "outside");
    expect_reject("bad_sparse_huge.onnx", ST_ERR_LIMIT, "dense form");
}

Test(onnx, rejects_empty_and_garbage) {
    char p[1024];
    st_error err = {0};
    cr_assert_eq(st_write_file(tmp_path(p, sizeof p, "empty.onnx"), "", 0, &err), ST_OK);
    expect_reject("empty.onnx", ST_ERR_FORMAT, "empty file");
    const char junk[] = "\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff";
    cr_assert_eq(st_write_file(tmp_path(p, sizeof p, "junk.onnx"), junk, sizeof junk - 1, &err), ST_OK);
    expect_reject("junk.onnx", ST_ERR_FORMAT, "not an ONNX model (protobuf parse failed)");
    const char text[] = "this is not a model";
    cr_assert_eq(st_write_file(tmp_path(p, sizeof p, "text.onnx"), text, sizeof text - 1, &err), ST_OK);
    st_model *m = NULL;
    cr_assert_neq(st_onnx_import(p, &m, &err), ST_OK);
    cr_assert_null(m);
    /* nesting bombs: a GraphProto in an attribute in a node in a graph ... */
    size_t depth = 2000, n = 0;
    unsigned char *bomb = malloc(depth * 12 + 16);
    /* built inside-out: GraphProto.node (1) > NodeProto.attribute (5) > AttributeProto.g (6) */
    unsigned char *buf = malloc(depth * 12 + 16), *tmp;
    for (size_t i = 0; i < depth; i++) {
        static const unsigned char tags[3] = {(1 << 3) | 2, (5 << 3) | 2, (6 << 3) | 2};
        unsigned char tag = tags[(depth - 1 - i) % 3]; /* outermost first: node, attribute, g */
        size_t k = 0;
        buf[k++] = tag;
        size_t len = n;
        do {
            buf[k++] = (unsigned char)((len & 0x7f) | (len >= 0x80 ? 0x80 : 0));
            len >>= 7;
        } while (len);
        memcpy(buf + k, bomb, n);
        n += k;
        tmp = bomb;
        bomb = buf;
        buf = tmp;
    }
    unsigned char *model = malloc(n + 16);
    size_t k = 0;
    model[k++] = 0x08;
    model[k++] = 0x08;
    model[k++] = (7 << 3) | 2;
    size_t len = n;
    do {
        model[k++] = (unsigned char)((len & 0x7f) | (len >= 0x80 ? 0x80 : 0));
        len >>= 7;
    } while (len);
    memcpy(model + k, bomb, n);
    cr_assert_eq(st_write_file(tmp_path(p, sizeof p, "bomb.onnx"), model, n + k, &err), ST_OK);
    expect_reject("bomb.onnx", ST_ERR_LIMIT, "nested");
    free(model);
    free(bomb);
    free(buf);
}

Test(onnx, truncated_and_bit_flipped) {
    fixtures();
    char p[1024], q[1024];
    st_buf *b;
    st_error err = {0};
    cr_assert_eq(st_read_file(tmp_path(p, sizeof p, "full.onnx"), &b, &err), ST_OK);
    const unsigned char *data = b->data;
    int formats = 0;
    tmp_path(q, sizeof q, "cut.onnx");
    for (size_t cut = 1; cut < b->size; cut += 1 + cut / 16) {
        cr_assert_eq(st_write_file(q, data, cut, &err), ST_OK);
        st_model *m = NULL;
        st_status s = st_onnx_import(q, &m, &err);
        cr_assert(s == ST_OK || s == ST_ERR_FORMAT || s == ST_ERR_LIMIT || s == ST_ERR_UNSUPPORTED,
                  "cut at %zu: %s", cut, err.msg);
        if (s == ST_ERR_FORMAT) formats++;
        st_model_release(m);
    }
    cr_assert_gt(formats, 0);
    /* a cut inside the graph is reported as truncation */
    cr_assert_eq(st_write_file(q, data, b->size / 2, &err), ST_OK);
    st_model *m = NULL;
    cr_assert_eq(st_onnx_import(q, &m, &err), ST_ERR_FORMAT);
    cr_assert_not_null(strstr(err.msg, "truncated"), "%s", err.msg);
    unsigned char *copy = malloc(b->size);
    unsigned seed = 12345;
    for (int trial = 0; trial < 600; trial++) {
        memcpy(copy, data, b->size);
        for (int f = 0; f < 1 + trial % 4; f++) {
            seed = seed * 1103515245u + 12345u;
            size_t pos = (seed >> 8) % b->size;
            copy[pos] ^= (unsigned char)(1u << ((seed >> 4) & 7));
        }
        cr_assert_eq(st_write_file(q, copy, b->size, &err), ST_OK);
        m = NULL;
        st_status s = st_onnx_import(q, &m, &err);
        cr_assert(s == ST_OK || s == ST_ERR_FORMAT || s == ST_ERR_LIMIT ||
                      s == ST_ERR_UNSUPPORTED || s == ST_ERR_IO,
                  "trial %d: %s", trial, err.msg);
        if (s == ST_OK) { /* whatever survived must also export */
            char r[1024];
            (void)st_onnx_export(m, tmp_path(r, sizeof r, "flip_out.onnx"), 0, &err);
        }
        st_model_release(m);
    }
    free(copy);
    st_buf_unref(b);
}

Test(onnx, out_of_memory_at_every_allocation) {
    fixtures();
    char p[1024], q[1024], v[1024];
    tmp_path(p, sizeof p, "full.onnx");
    tmp_path(q, sizeof q, "oom.onnx");
    tmp_path(v, sizeof v, "tensors/float16.typed.pb");
    bool done[3] = {false, false, false};
    for (long n = 1; n < 100000 && !(done[0] && done[1] && done[2]); n++) {
        st_error err = {0};
        st_model *m = NULL;
        st_value val;
        if (!done[0]) { /* import */
            st_alloc_fail_after(n);
            st_status s = st_onnx_import(p, &m, &err);
            st_alloc_fail_after(0);
            if (s == ST_OK) {
                st_model_release(m);
                done[0] = true;
            } else {
                cr_assert_null(m);
                cr_assert_eq(s, ST_ERR_NOMEM, "import n=%ld: %s", n, err.msg);
            }
        }
        if (!done[1]) { /* export with external data */
            m = import_ok(p);
            st_alloc_fail_after(n);
            st_status s = st_onnx_export(m, q, 1024, &err);
            st_alloc_fail_after(0);
            st_model_release(m);
            if (s == ST_OK) done[1] = true;
            else cr_assert_eq(s, ST_ERR_NOMEM, "export n=%ld: %s", n, err.msg);
        }
        if (!done[2]) { /* value file */
            st_alloc_fail_after(n);
            st_status s = st_onnx_read_value(v, NULL, &val, NULL, &err);
            st_alloc_fail_after(0);
            if (s == ST_OK) {
                st_value_clear(&val);
                done[2] = true;
            } else {
                cr_assert_eq(s, ST_ERR_NOMEM, "value n=%ld: %s", n, err.msg);
            }
        }
    }
    cr_assert(done[0] && done[1] && done[2], "never succeeded");
    /* failed exports leave no temporary files behind */
    char cmd[2600];
    FMT(cmd, "test -z \"$(ls '%s' | grep '^oom' | grep -v -x -e oom.onnx -e oom.onnx.data)\"",
        tmp_dir);
    cr_assert_eq(system(cmd), 0, "temporary files left in %s", tmp_dir);
}

Test(onnx, sniff) {
    fixtures();
    char p[1024];
    st_buf *b;
    st_error err = {0};
    cr_assert_eq(st_read_file(tmp_path(p, sizeof p, "full.onnx"), &b, &err), ST_OK);
    cr_assert(st_onnx_sniff(b->data, b->size));
    cr_assert(st_onnx_sniff(b->data, 64 < b->size ? 64 : b->size));
    st_buf_unref(b);
    cr_assert_not(st_onnx_sniff((const unsigned char *)"PK\x03\x04", 4));
    cr_assert_not(st_onnx_sniff((const unsigned char *)"\x93NUMPY", 6));
    cr_assert_not(st_onnx_sniff((const unsigned char *)"", 0));
    /* a SavedModel's saved_model.pb: schema version then a huge meta graph */
    const unsigned char sm[] = {0x08, 0x01, 0x12, 0xff, 0xff, 0x03, 0x0a, 0x05};
    cr_assert_not(st_onnx_sniff(sm, sizeof sm));
}

/* Every .onnx model the repository ships in models/ imports and round-trips. */
Test(onnx, shipped_models_round_trip) {
    DIR *d = opendir(STELE_SOURCE_DIR "/models");
    if (!d) cr_skip_test("no models/ directory");
    struct dirent *e;
    int n = 0;
    while ((e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (l < 6 || strcmp(e->d_name + l - 5, ".onnx")) continue;
        char p[1024], q[1024];
        FMT(p, "%s/models/%s", STELE_SOURCE_DIR, e->d_name);
        FMT(q, "%s/%s", tmp_dir, e->d_name);
        st_model *m = import_ok(p);
        st_model *m2 = round_trip(m, q, 1024);
        st_model_release(m2);
        st_model_release(m);
        n++;
    }
    closedir(d);
    cr_log_info("%d shipped models round-tripped", n);
}

/* ---- the node suite ------------------------------------------------------------------ */
static void info_of(const st_graph *g, int vi, st_value_info *out) {
    const st_ir_value *v = &g->values[vi];
    memset(out, 0, sizeof *out);
    out->name = v->name;
    out->kind = v->type.kind;
    out->optional = v->type.optional;
    out->dtype = v->type.dtype;
    out->rank = v->type.rank;
}

Test(onnx, node_suite_round_trips, .timeout = 600) {
    DIR *d = opendir(NODE_DIR);
    if (!d) {
        fprintf(stderr, "SKIP: %s is absent; node-suite round trips skipped\n", NODE_DIR);
        cr_skip_test(NODE_DIR " absent");
    }
    char list[1024];
    FILE *lf = fopen(tmp_path(list, sizeof list, "exported.txt"), "w");
    struct dirent *e;
    int models = 0, values = 0;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char p[1024], q[1024];
        FMT(p, "%s/%s/model.onnx", NODE_DIR, e->d_name);
        st_model *m = NULL;
        st_error err = {0};
        if (st_onnx_import(p, &m, &err) != ST_OK) cr_assert_fail("import %s: %s", p, err.msg);
        FMT(q, "%s/%s.onnx", tmp_dir, e->d_name);
        st_model *m2 = round_trip(m, q, 0);
        fprintf(lf, "%s %s\n", p, q);
        models++;
        /* inputs and outputs of the first data set: read, write, read again */
        for (int io = 0; io < 2; io++) {
            const st_graph *g = m->graph;
            size_t n = io ? g->n_outputs : g->n_inputs;
            size_t k = 0;
            for (size_t i = 0; i < n; i++) {
                int vi = io ? g->outputs[i] : g->inputs[i];
                if (!io && g->values[vi].role == ST_VALUE_INITIALIZER) continue;
                FMT(p, "%s/%s/test_data_set_0/%s_%zu.pb", NODE_DIR, e->d_name,
                         io ? "output" : "input", k++);
                if (access(p, R_OK) != 0) continue;
                st_value_info info;
                info_of(g, vi, &info);
                st_value v, v2;
                char *name = NULL;
                cr_assert_eq(st_onnx_read_value(p, &info, &v, &name, &err), ST_OK, "%s: %s", p, err.msg);
                char w[1024];
                FMT(w, "%s/value.pb", tmp_dir);
                cr_assert_eq(st_onnx_write_value(w, &v, name, &err), ST_OK, "%s", err.msg);
                cr_assert_eq(st_onnx_read_value(w, &info, &v2, NULL, &err), ST_OK, "%s", err.msg);
                cr_assert_eq(v.kind, v2.kind, "%s", p);
                cr_assert_eq(v.optional, v2.optional, "%s", p);
                if (v.kind == ST_VAL_TENSOR) cmp_tensor(&v.tensor, &v2.tensor, p);
                cr_assert_eq(v.nseq, v2.nseq, "%s", p);
                for (size_t s = 0; s < v.nseq; s++) cmp_tensor(&v.seq[s], &v2.seq[s], p);
                st_value_clear(&v);
                st_value_clear(&v2);
                free(name);
                values++;
            }
        }
        st_model_release(m2);
        st_model_release(m);
    }
    closedir(d);
    fclose(lf);
    cr_log_info("%d node models and %d value files round-tripped", models, values);
    cr_assert_gt(models, 100);
    if (!ut_python_has("onnx, numpy")) return;
    /* every exported model the checker accepted before it must accept after */
    char script[1024], cmd[1200];
    FILE *f = fopen(tmp_path(script, sizeof script, "check.py"), "w");
    fputs("import onnx, sys\n"
          "bad = 0\n"
          "for line in open(sys.argv[1]):\n"
          "    src, dst = line.split()\n"
          "    try:\n"
          "        onnx.checker.check_model(onnx.load(src))\n"
          "    except Exception:\n"
          "        continue\n"
          "    try:\n"
          "        onnx.checker.check_model(onnx.load(dst))\n"
          "    except Exception as e:\n"
          "        bad += 1\n"
          "        print(dst, str(e).splitlines()[0])\n"
          "sys.exit(1 if bad else 0)\n", f);
    fclose(f);
    FMT(cmd, PY " '%s' '%s'", script, list);
    cr_assert_eq(system(cmd), 0, "onnx.checker rejects exported node models");
}

/* ---- opset conversion (onnx_opset.c) ------------------------------------------------- */

/* A node op(inputs) -> outputs in m's root graph; "" names an omitted input. */
static st_node *opset_node(st_model *m, const char *op, const char *name, int n_in,
                           const char *const *ins, int n_out, const char *const *outs) {
    st_graph *g = m->graph;
    st_node *n = st_graph_add_node(g, op, "", name, n_in, n_out);
    cr_assert_not_null(n);
    for (int i = 0; i < n_in; i++) n->inputs[i] = *ins[i] ? st_graph_value(g, ins[i]) : -1;
    for (int i = 0; i < n_out; i++) n->outputs[i] = st_graph_value(g, outs[i]);
    n->since = (int)m->opsets[0].version;
    return n;
}

static void opset_set_ints(st_model *m, st_node *n, const char *name, size_t k,
                           const int64_t *v) {
    st_attr *a = st_node_add_attr(m->graph, n, name, ST_ATTR_INTS);
    cr_assert_not_null(a);
    a->n = k;
    a->ints = st_ir_alloc(m->graph, sizeof *a->ints * k);
    memcpy(a->ints, v, sizeof *v * k);
}

Test(onnx, opset_unsqueeze_axes_attribute_to_input_and_back) {
    st_model *m = ut_model_new(11);
    m->ir_version = 6;
    st_node *n = opset_node(m, "Unsqueeze", "u1", 1, (const char *[]){"x"}, 1,
                            (const char *[]){"y"});
    opset_set_ints(m, n, "axes", 2, (const int64_t[]){0, 2});
    st_error err;
    cr_assert_eq(st_onnx_convert_opset(m, 13, &err), ST_OK, "%s", err.msg);
    n = &m->graph->nodes[0];
    cr_assert_eq(m->opsets[0].version, 13);
    cr_assert_eq(m->ir_version, 7, "IR version raised to opset 13's");
    cr_assert_null(st_node_attr(n, "axes"));
    cr_assert_eq(n->n_in, 2);
    const st_ir_value *axes = &m->graph->values[n->inputs[1]];
    cr_assert(axes->has_const && axes->role == ST_VALUE_INITIALIZER);
    cr_assert_eq(axes->const_val.dtype, ST_DTYPE_I64);
    cr_assert_eq(st_tensor_nelem(&axes->const_val), 2);
    cr_assert_eq(st_tensor_get_i64(&axes->const_val, 0), 0);
    cr_assert_eq(st_tensor_get_i64(&axes->const_val, 1), 2);
    cr_assert_eq(st_onnx_convert_opset(m, 11, &err), ST_OK, "%s", err.msg);
    const int64_t *v;
    cr_assert_eq(st_attr_ints(n, "axes", &v), 2);
    cr_assert(v[0] == 0 && v[1] == 2);
    cr_assert_eq(n->n_in, 1);
    cr_assert_eq(m->opsets[0].version, 11);
    cr_assert_eq(m->ir_version, 6, "IR version lowered to opset 11's");
    st_model_release(m);
}

Test(onnx, opset_clip_bounds_and_split_num_outputs) {
    st_model *m = ut_model_new(10);
    st_node *c = opset_node(m, "Clip", "c1", 1, (const char *[]){"x"}, 1, (const char *[]){"y"});
    st_attr *a = st_node_add_attr(m->graph, c, "min", ST_ATTR_FLOAT);
    a->f = -0.5;
    opset_node(m, "Split", "s1", 1, (const char *[]){"y"}, 3, (const char *[]){"a", "b", "d"});
    st_error err;
    cr_assert_eq(st_onnx_convert_opset(m, 18, &err), ST_OK, "%s", err.msg);
    c = &m->graph->nodes[0];
    cr_assert_null(st_node_attr(c, "min"));
    cr_assert_eq(c->n_in, 2, "only the bound that was given becomes an input");
    const st_tensor *mn = &m->graph->values[c->inputs[1]].const_val;
    cr_assert_eq(mn->ndim, 0);
    cr_assert_float_eq(st_tensor_get_f64(mn, 0), -0.5, 0);
    cr_assert_eq(st_attr_int(&m->graph->nodes[1], "num_outputs", 0), 3);
    st_model_release(m);
}

Test(onnx, opset_refusals_name_the_node) {
    st_model *m = ut_model_new(17);
    opset_node(m, "LayerNormalization", "ln1", 2, (const char *[]){"x", "g"}, 1,
               (const char *[]){"y"});
    st_error err;
    cr_assert_eq(st_onnx_convert_opset(m, 16, &err), ST_ERR_UNSUPPORTED);
    cr_assert(strstr(err.msg, "node \"ln1\" (LayerNormalization)"), "%s", err.msg);
    cr_assert(strstr(err.msg, "before opset 17"), "%s", err.msg);
    cr_assert_eq(m->opsets[0].version, 17, "a refused model keeps its opset");
    cr_assert_eq(st_onnx_convert_opset(m, 6, &err), ST_ERR_INVALID);
    cr_assert_eq(st_onnx_convert_opset(m, 26, &err), ST_ERR_INVALID);
    st_model_release(m);

    /* Softmax-13 on a non-last axis has no opset-12 form; on the last axis it has */
    m = ut_model_new(13);
    st_node *n = opset_node(m, "Softmax", "sm", 1, (const char *[]){"x"}, 1,
                            (const char *[]){"y"});
    m->graph->values[n->inputs[0]].type.rank = 3;
    st_attr *ax = st_node_add_attr(m->graph, n, "axis", ST_ATTR_INT);
    ax->i = 1;
    cr_assert_eq(st_onnx_convert_opset(m, 12, &err), ST_ERR_UNSUPPORTED);
    cr_assert(strstr(err.msg, "\"sm\"") && strstr(err.msg, "not the last"), "%s", err.msg);
    ax->i = -1;
    cr_assert_eq(st_onnx_convert_opset(m, 12, &err), ST_OK, "%s", err.msg);
    cr_assert_eq(st_attr_int(&m->graph->nodes[0], "axis", 99), 2);
    st_model_release(m);

    /* Slice steps other than 1 cannot go below 10; ArgMax select_last_index below 12 */
    m = ut_model_new(13);
    opset_node(m, "Slice", "sl", 5, (const char *[]){"x", "s", "e", "", "st"}, 1,
               (const char *[]){"y"});
    int stv = st_graph_find(m->graph, "st");
    int64_t one = 1;
    cr_assert_eq(st_tensor_alloc(&m->graph->values[stv].const_val, ST_DTYPE_I64, 1, &one, &err),
                 ST_OK);
    m->graph->values[stv].has_const = true;
    m->graph->values[stv].role = ST_VALUE_INITIALIZER;
    st_tensor_set_f64(&m->graph->values[stv].const_val, 0, 2);
    cr_assert_eq(st_onnx_convert_opset(m, 9, &err), ST_ERR_UNSUPPORTED);
    cr_assert(strstr(err.msg, "\"sl\"") && strstr(err.msg, "steps"), "%s", err.msg);
    st_model_release(m);
}

Test(onnx, opset_negative_axes_below_11) {
    st_model *m = ut_model_new(13);
    st_node *n = opset_node(m, "Unsqueeze", "u", 2, (const char *[]){"x", "ax"}, 1,
                            (const char *[]){"y"});
    st_graph *g = m->graph;
    g->values[n->inputs[0]].type.rank = 2;
    int ax = n->inputs[1];
    int64_t two = 2;
    st_error err;
    cr_assert_eq(st_tensor_alloc(&g->values[ax].const_val, ST_DTYPE_I64, 1, &two, &err), ST_OK);
    g->values[ax].has_const = true;
    g->values[ax].role = ST_VALUE_INITIALIZER;
    st_tensor_set_f64(&g->values[ax].const_val, 0, 0);
    st_tensor_set_f64(&g->values[ax].const_val, 1, -1);
    st_node *c = opset_node(m, "Concat", "cat", 2, (const char *[]){"y", "z"}, 1,
                            (const char *[]){"w"});
    st_attr *a = st_node_add_attr(g, c, "axis", ST_ATTR_INT);
    a->i = -1;
    cr_assert_eq(st_onnx_convert_opset(m, 10, &err), ST_ERR_UNSUPPORTED, "y's rank is unknown");
    cr_assert(strstr(err.msg, "\"cat\"") && strstr(err.msg, "negative axis"), "%s", err.msg);
    g->values[st_graph_find(g, "y")].type.rank = 4;
    m->opsets[0].version = 11; /* Unsqueeze went to attributes already; rerun from 11 */
    cr_assert_eq(st_onnx_convert_opset(m, 10, &err), ST_OK, "%s", err.msg);
    const int64_t *v;
    cr_assert_eq(st_attr_ints(&g->nodes[0], "axes", &v), 2);
    cr_assert(v[0] == 0 && v[1] == 3, "-1 of the 4-D output is 3, got %lld", (long long)v[1]);
    cr_assert_eq(st_attr_int(&g->nodes[1], "axis", 0), 3);
    st_model_release(m);
}

Test(onnx, opset_sum_broadcast_only_from_8) {
    st_model *m = ut_model_new(13);
    st_node *n = opset_node(m, "Sum", "add3", 2, (const char *[]){"a", "b"}, 1,
                            (const char *[]){"y"});
    st_graph *g = m->graph;
    for (int i = 0; i < 2; i++) {
        st_type *t = &g->values[n->inputs[i]].type;
        t->rank = 2;
        t->dims = st_ir_alloc(g, 2 * sizeof *t->dims);
        t->dims[0].value = 3;
        t->dims[1].value = i ? 1 : 4; /* [3,4] + [3,1] broadcasts */
    }
    st_error err;
    cr_assert_eq(st_onnx_convert_opset(m, 7, &err), ST_ERR_UNSUPPORTED);
    cr_assert(strstr(err.msg, "\"add3\"") && strstr(err.msg, "broadcasting"), "%s", err.msg);
    g->values[n->inputs[1]].type.dims[1].value = 4;
    cr_assert_eq(st_onnx_convert_opset(m, 7, &err), ST_OK, "%s", err.msg);
    cr_assert_eq(st_onnx_convert_opset(m, 9, &err), ST_OK, "%s", err.msg); /* 7 -> 9: widening */
    cr_assert_eq(m->opsets[0].version, 9);
    st_model_release(m);
}

Test(onnx, opset_resize_modes_opset_10_cannot_state) {
    st_model *m = ut_model_new(13);
    st_node *n = opset_node(m, "Resize", "rs", 3, (const char *[]){"x", "", "sc"}, 1,
                            (const char *[]){"y"});
    st_attr *mode = st_node_add_attr(m->graph, n, "mode", ST_ATTR_STRING);
    mode->s = (st_str){st_ir_strdup(m->graph, "linear"), 6};
    st_error err;
    /* coordinate_transformation_mode defaults to half_pixel: Resize-10 has only asymmetric */
    cr_assert_eq(st_onnx_convert_opset(m, 10, &err), ST_ERR_UNSUPPORTED);
    cr_assert(strstr(err.msg, "\"rs\"") && strstr(err.msg, "asymmetric"), "%s", err.msg);
    st_model_release(m);

    m = ut_model_new(19);
    n = opset_node(m, "Resize", "rs2", 3, (const char *[]){"x", "", "sc"}, 1,
                   (const char *[]){"y"});
    st_attr *ctm = st_node_add_attr(m->graph, n, "coordinate_transformation_mode", ST_ATTR_STRING);
    ctm->s = (st_str){st_ir_strdup(m->graph, "half_pixel_symmetric"), 20};
    cr_assert_eq(st_onnx_convert_opset(m, 18, &err), ST_ERR_UNSUPPORTED);
    cr_assert(strstr(err.msg, "\"rs2\"") && strstr(err.msg, "half_pixel_symmetric"), "%s",
              err.msg);
    cr_assert_eq(st_onnx_convert_opset(m, 21, &err), ST_OK, "%s", err.msg);
    st_model_release(m);
}
