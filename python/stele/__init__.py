"""stele: load ONNX, TorchScript and TensorFlow SavedModel models, describe them, run them on
NumPy arrays, convert and save them, compare two models and profile every operator — through
libstele.so with ctypes (no compiled extension). This module only translates between NumPy
and include/stele.h; it must not reimplement anything the library does.

    import numpy as np, stele
    m = stele.load("model.onnx")                 # any format; shapes={"x": (1, 3, 224, 224)}
    [(i.name, i.dtype, i.shape) for i in m.get_inputs()]
    out = m.run({"x": np.zeros((1, 3, 224, 224), np.float32)})   # {"y": ndarray, ...}
    m.save("model.pt")                           # or stele.convert("model.onnx", "model.pt")
    stele.compare("model.onnx", "model.pt")      # {"y": {"max_abs": 0.0, ..., "ok": True}}
    m.profile(runs=10)[0]                         # {"name": ..., "op_type": ..., "mean_ms": ...}

Every failure raises stele.Error, which carries stele's status (e.status, e.status_name) and
its one-line message.
"""
import ctypes as C
import json
import os

import numpy as np

from . import _lib

__all__ = ["Error", "Model", "Session", "ValueInfo", "load", "convert", "compare", "version"]

_L = _lib.load_library()
version = "0.1.0"

# stele dtype number -> NumPy dtype (strings and bfloat16 are converted, not shared)
_NP = {1: "float32", 2: "uint8", 3: "int8", 4: "uint16", 5: "int16", 6: "int32", 7: "int64",
       9: "bool", 10: "float16", 11: "float64", 12: "uint32", 13: "uint64", 14: "complex64",
       15: "complex128"}
_NP = {k: np.dtype(v) for k, v in _NP.items()}
_ST = {v: k for k, v in _NP.items()}
_ORT = {1: "float", 2: "uint8", 3: "int8", 4: "uint16", 5: "int16", 6: "int32", 7: "int64",
        8: "string", 9: "bool", 10: "float16", 11: "double", 12: "uint32", 13: "uint64",
        14: "complex64", 15: "complex128", 16: "bfloat16"}


class Error(Exception):
    """A failure reported by stele: status (int, ST_ERR_*), status_name and message."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = int(status)
        self.message = message
        self.status_name = _L.st_status_str(self.status).decode()

    def __repr__(self):
        return f"stele.Error({self.status_name!r}, {self.message!r})"


def _check(rc, err):
    if rc != _lib.OK:
        raise Error(rc, err.msg.decode("utf-8", "replace"))


def _invalid(msg):
    return Error(_lib.ERR_INVALID, msg)


def _dtype_name(t):
    return _L.st_dtype_name(t).decode()


class ValueInfo:
    """A graph value's description. dtype: a NumPy dtype, "string", "bfloat16" or None when
    unknown; shape: a tuple of ints (known), strings (symbolic) and None (unknown), or None
    when the rank is unknown; type: onnxruntime's spelling ("tensor(float)")."""

    def __init__(self, vi):
        self.name = vi.name.decode() if vi.name else ""
        self.kind = {1: "tensor", 2: "sequence"}.get(vi.kind)
        self.optional = bool(vi.optional)
        self.dtype = _NP.get(vi.dtype) or ({8: "string", 16: "bfloat16"}.get(vi.dtype))
        self._st_dtype = vi.dtype
        if vi.rank < 0:
            self.shape = None
        else:
            self.shape = tuple(d.value if d.value >= 0 else
                               (d.symbol.decode() if d.symbol else None)
                               for d in vi.dims[:vi.rank])
        t = f"{self.kind or 'tensor'}({_ORT.get(vi.dtype, 'unknown')})"
        self.type = f"optional({t})" if self.optional else t

    def __repr__(self):
        return f"ValueInfo(name={self.name!r}, dtype={str(self.dtype)!r}, shape={self.shape})"


class _Owner:
    """Keeps one reference to a tensor's storage while a NumPy array views it."""

    def __init__(self, t, shape, dtype):
        self._t = _lib.Tensor()
        _L.st_tensor_share(C.byref(self._t), C.byref(t))
        self.__array_interface__ = {"shape": shape, "typestr": dtype.str,
                                    "data": (self._t.data, False), "version": 3}

    def __del__(self):
        try:
            _L.st_tensor_clear(C.byref(self._t))
        except Exception:  # interpreter shutdown
            pass


def _array_from_tensor(t):
    shape = tuple(t.dims[:t.ndim])
    n = int(np.prod(shape, dtype=np.int64))
    if t.dtype == _lib.DTYPE_STRING:
        strs = C.cast(t.data, C.POINTER(_lib.Str))
        items = [C.string_at(strs[i].data, strs[i].len).decode("utf-8", "surrogateescape")
                 if strs[i].data else "" for i in range(n)]
        return np.array(items, dtype=str).reshape(shape)
    if t.dtype == _lib.DTYPE_BF16:  # as float32 values, as `stele run` writes them
        bits = np.ctypeslib.as_array(C.cast(t.data, C.POINTER(C.c_uint16)), (n,)) if n else \
            np.empty(0, np.uint16)
        return (bits.astype(np.uint32) << 16).view(np.float32).reshape(shape)
    dt = _NP.get(t.dtype)
    if dt is None:
        raise Error(_lib.ERR_UNSUPPORTED, f"output dtype {_dtype_name(t.dtype)} has no NumPy type")
    if n == 0 or not t.data:
        return np.empty(shape, dt)
    return np.asarray(_Owner(t, shape, dt))  # zero-copy: the array holds the reference


def _value_to_py(v):
    if v.kind == _lib.VAL_TENSOR:
        return _array_from_tensor(v.tensor)
    if v.kind == _lib.VAL_SEQUENCE:
        return [_array_from_tensor(v.seq[i]) for i in range(v.nseq)]
    return None


def _tensor_from_array(name, arr, st_dtype, keep):
    """A borrowed st_tensor over arr (zero-copy when arr is C-contiguous, aligned and of the
    declared dtype; a non-contiguous array is copied; another dtype is an Error)."""
    t = _lib.Tensor()
    if st_dtype == _lib.DTYPE_STRING:
        arr = np.asarray(arr)
        if arr.dtype.kind not in "USO":
            raise _invalid(f"input '{name}': expected strings, got {arr.dtype}")
        _shape_into(name, t, arr.shape)
        err = _lib.Error_()
        _check(_L.st_tensor_alloc(C.byref(t), st_dtype, t.ndim, t.dims, C.byref(err)), err)
        keep.append(_StringTensor(t))
        for i, s in enumerate(arr.reshape(-1)):
            b = s if isinstance(s, bytes) else str(s).encode("utf-8", "surrogateescape")
            _check(_L.st_tensor_set_string(C.byref(t), i, b, len(b), C.byref(err)), err)
        return t
    want = _NP.get(st_dtype)
    if st_dtype == _lib.DTYPE_BF16:
        want = np.dtype(np.uint16)  # raw bfloat16 bits
    if not isinstance(arr, np.ndarray):
        arr = np.asarray(arr, dtype=want)
    if want is None:
        want = arr.dtype
        st_dtype = _ST.get(want)
        if st_dtype is None:
            raise _invalid(f"input '{name}': dtype {arr.dtype} is not one stele runs")
    if arr.dtype != want:
        raise _invalid(f"input '{name}': expected {want}"
                       f"{' (bfloat16 bits)' if want == np.uint16 and st_dtype == 16 else ''}, "
                       f"got {arr.dtype}")
    if not (arr.flags.c_contiguous and arr.flags.aligned):
        arr = np.ascontiguousarray(arr)  # a copy with the dense row-major layout stele needs
    keep.append(arr)
    t.dtype = st_dtype
    _shape_into(name, t, arr.shape)
    t.data = arr.ctypes.data
    t.buf = None  # borrowed: the caller (this call) keeps the storage alive
    return t


class _StringTensor:
    def __init__(self, t):
        self.t = t

    def __del__(self):
        try:
            _L.st_tensor_clear(C.byref(self.t))
        except Exception:
            pass


def _shape_into(name, t, shape):
    if len(shape) > _lib.MAX_RANK:
        raise _invalid(f"input '{name}': rank {len(shape)} exceeds {_lib.MAX_RANK}")
    t.ndim = len(shape)
    for i, d in enumerate(shape):
        t.dims[i] = d


class Session:
    """A model prepared to run (st_session). Not safe to run from two threads at once."""

    def __init__(self, model, threads=0):
        self.model = model
        self._h = C.c_void_p()
        opts = _L.st_session_opts_default()
        opts.threads = int(threads)
        err = _lib.Error_()
        _check(_L.st_session_new(model._handle(), C.byref(opts), C.byref(self._h),
                                 C.byref(err)), err)
        self.output_names = [_L.st_session_output_name(self._h, i).decode()
                             for i in range(_L.st_session_n_outputs(self._h))]

    def get_inputs(self):
        return self.model.get_inputs()

    def get_outputs(self):
        return self.model.get_outputs()

    def _run_raw(self, feeds):
        """Run on feeds ({name: array}); returns the st_value array (caller frees)."""
        if not isinstance(feeds, dict):
            raise _invalid("feeds must be a dict {input name: array}")
        declared = {i.name: i for i in self.model.get_inputs()}
        keep, names, vals = [], [], []
        for name, arr in feeds.items():
            if name not in declared:
                raise _invalid(f"'{name}' is not an input of {self.model.path} "
                               f"(inputs: {', '.join(declared) or 'none'})")
            v = _lib.Value(kind=_lib.VAL_TENSOR)
            v.tensor = _tensor_from_array(name, arr, declared[name]._st_dtype, keep)
            names.append(name.encode())
            vals.append(v)
        c_names = (C.c_char_p * max(1, len(names)))(*names)
        c_vals = (_lib.Value * max(1, len(vals)))(*vals)
        outs = C.POINTER(_lib.Value)()
        err = _lib.Error_()
        rc = _L.st_session_run(self._h, len(vals), c_names, c_vals, C.byref(outs), C.byref(err))
        del keep  # inputs are borrowed for the call only
        _check(rc, err)
        return outs

    def run(self, feeds, output_names=None):
        """Run once: {input name: array} -> {output name: array} (sequences as lists,
        empty optionals as None). Outputs share stele's storage (no copy)."""
        outs = self._run_raw(feeds)
        try:
            result = {n: _value_to_py(outs[i]) for i, n in enumerate(self.output_names)}
        finally:
            _L.st_values_free(outs, len(self.output_names))
        if output_names is not None:
            missing = [n for n in output_names if n not in result]
            if missing:
                raise _invalid(f"no output named {', '.join(missing)}")
            result = {n: result[n] for n in output_names}
        return result

    def close(self):
        if getattr(self, "_h", None):
            _L.st_session_free(self._h)
            self._h = None

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass


class Model:
    """A loaded model (st_model). stele.load(path) makes one."""

    def __init__(self, path, shapes=None, format=None, signature=None):
        self.path = os.fspath(path)
        self._h = None
        self._sessions = []
        opts = _lib.LoadOpts()
        if format is not None:
            if format not in _lib.FORMATS:
                raise _invalid(f"format must be one of {', '.join(_lib.FORMATS)}, not {format!r}")
            opts.format = _lib.FORMATS[format]
        opts.signature = signature.encode() if signature else None
        if shapes:
            binds = (_lib.ShapeBinding * len(shapes))()
            for b, (name, dims) in zip(binds, shapes.items()):
                b.name = name.encode()
                t = _lib.Tensor()
                _shape_into(name, t, tuple(int(d) for d in dims))
                b.ndim, b.dims = t.ndim, t.dims
            opts.shapes, opts.n_shapes = binds, len(shapes)
        h = C.c_void_p()
        err = _lib.Error_()
        _check(_L.st_model_load(self.path.encode(), C.byref(opts), C.byref(h), C.byref(err)), err)
        self._h = h

    def _handle(self):
        if not self._h:
            raise _invalid(f"{self.path}: model is closed")
        return self._h

    # ---- description
    @property
    def format(self):
        return _L.st_format_name(_L.st_model_format(self._handle())).decode()

    @property
    def producer(self):
        return _L.st_model_producer(self._handle()).decode()

    @property
    def n_nodes(self):
        return _L.st_model_n_nodes(self._handle())

    @property
    def params(self):
        """(count, bytes) of all initializers and Constant tensors."""
        c, b = C.c_uint64(), C.c_uint64()
        _L.st_model_params(self._handle(), C.byref(c), C.byref(b))
        return c.value, b.value

    def _infos(self, count, get):
        out = []
        for i in range(count(self._handle())):
            vi = _lib.ValueInfo()
            get(self._h, i, C.byref(vi))
            out.append(ValueInfo(vi))
        return out

    def get_inputs(self):
        return self._infos(_L.st_model_n_inputs, _L.st_model_input)

    def get_outputs(self):
        return self._infos(_L.st_model_n_outputs, _L.st_model_output)

    inputs = property(get_inputs)
    outputs = property(get_outputs)

    def values(self):
        """Every value of the main graph with the type static inference gave it."""
        return self._infos(_L.st_model_n_values, _L.st_model_value)

    # ---- running
    def session(self, threads=0):
        s = Session(self, threads)
        self._sessions.append(s)
        return s

    def run(self, feeds, output_names=None, threads=0):
        """Run once on {input name: array}; returns {output name: array}."""
        if not self._sessions:
            self.session(threads)
        return self._sessions[0].run(feeds, output_names)

    def random_inputs(self, seed=0, dims=None):
        """Seeded random arrays for every input of a fixed or bound shape (symbolic dims take
        dims.get(symbol, 1)): floats in [-1, 1), integers in [0, 10), booleans."""
        rng = np.random.default_rng(seed)
        feeds = {}
        for i in self.get_inputs():
            if i.shape is None or not isinstance(i.dtype, np.dtype):
                raise _invalid(f"input '{i.name}': no random data for {i.type} "
                               f"of shape {i.shape}")
            shape = tuple(d if isinstance(d, int) else (dims or {}).get(d, 1) for d in i.shape)
            if i.dtype.kind == "f" or i.dtype.kind == "c":
                feeds[i.name] = (rng.random(shape) * 2 - 1).astype(i.dtype)
            elif i.dtype.kind == "b":
                feeds[i.name] = rng.random(shape) < 0.5
            else:
                feeds[i.name] = rng.integers(0, 10, shape).astype(i.dtype)
        return feeds

    # ---- saving
    def save(self, path, format=None, external_data=0):
        """Write the model as ONNX, TorchScript or SavedModel (format None: from the path's
        extension); external_data: ONNX tensors of at least that many bytes go to PATH.data."""
        opts = _lib.SaveOpts(external_threshold=int(external_data))
        if format is not None:
            if format not in _lib.FORMATS:
                raise _invalid(f"format must be one of {', '.join(_lib.FORMATS)}, not {format!r}")
            opts.format = _lib.FORMATS[format]
        err = _lib.Error_()
        _check(_L.st_model_save(self._handle(), os.fspath(path).encode(), C.byref(opts),
                                C.byref(err)), err)

    # ---- profiling
    def profile(self, feeds=None, runs=10, warmup=2, counters=None, group_by="node", top=0,
                threads=0, trace=None, report=False):
        """Profile `runs` runs (after `warmup`) and return the hotspot rows as a list of dicts
        (name, op_type, calls, total_ms, mean_ms, pct_of_run, flops_per_call, counters, ...),
        or the whole report (rows, totals, overhead) when report=True. trace: also write a
        Chrome trace there. feeds None: random_inputs()."""
        if group_by not in ("node", "op"):
            raise _invalid(f"group_by must be 'node' or 'op', not {group_by!r}")
        feeds = self.random_inputs() if feeds is None else feeds
        sess = Session(self, threads)
        prof = C.c_void_p()
        text = C.c_void_p()
        err = _lib.Error_()
        try:
            for _ in range(max(1, warmup)):  # the first run prepares: keep it out of the profile
                _L.st_values_free(sess._run_raw(feeds), len(sess.output_names))
            po = _L.st_profile_opts_default()
            if counters is not None:
                po.counters = (",".join(counters) if not isinstance(counters, str)
                               else counters).encode()
            _check(_L.st_profiler_new(self._h, sess._h, C.byref(po), C.byref(prof),
                                      C.byref(err)), err)
            for _ in range(int(runs)):
                _L.st_profiler_run_begin(prof)
                try:
                    outs = sess._run_raw(feeds)
                finally:
                    _L.st_profiler_run_end(prof)
                _L.st_values_free(outs, len(sess.output_names))
            ro = _L.st_profile_report_opts_default()
            ro.group_by, ro.top, ro.json = (0 if group_by == "node" else 1), int(top), True
            ro.model, ro.threads, ro.warmup = self.path.encode(), int(threads), int(warmup)
            _check(_L.st_profiler_report(prof, C.byref(ro), C.byref(text), C.byref(err)), err)
            if trace:
                _check(_L.st_profiler_write_trace(prof, os.fspath(trace).encode(),
                                                  C.byref(err)), err)
            doc = json.loads(C.string_at(text.value).decode())
        finally:
            _L.st_string_free(text)
            _L.st_profiler_free(prof)
            sess.close()
        return doc if report else doc["rows"]

    def close(self):
        for s in self._sessions:
            s.close()
        self._sessions = []
        if self._h:
            _L.st_model_free(self._h)
            self._h = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

    def __repr__(self):
        return f"stele.Model({self.path!r}, format={self.format!r})" if self._h else \
            f"stele.Model({self.path!r}, closed)"


def load(path, shapes=None, format=None, signature=None):
    """Load a model of any format stele reads (detected from its content). shapes: {input:
    dims} bound before static inference; signature: the SavedModel signature to load."""
    return Model(path, shapes=shapes, format=format, signature=signature)


def convert(src, dst, to=None, external_data=0, signature=None):
    """Load src (any format) and write dst (format `to`, else from dst's extension)."""
    with load(src, signature=signature) as m:
        m.save(dst, format=to, external_data=external_data)


def _tensor_view(name, arr, keep):
    if isinstance(arr, list) or arr is None:
        raise _invalid(f"'{name}': only tensor outputs can be compared")
    arr = np.asarray(arr)
    st = _lib.DTYPE_STRING if arr.dtype.kind in "US" else _ST.get(arr.dtype)
    if st is None:
        raise _invalid(f"'{name}': dtype {arr.dtype} cannot be compared")
    return _tensor_from_array(name, arr, st, keep)


def compare(a, b, feeds=None, atol=1e-4, rtol=1e-3, seed=0):
    """Run models a and b (Models or paths) on the same inputs (feeds, else a's seeded
    random_inputs) and compare their outputs, matched by name, else by position:
    {output name: {max_abs, max_rel, mean_abs, cosine, n, n_outside, nan_mismatch,
    inf_mismatch, dtype_mismatch, shape_mismatch, worst, worst_a, worst_b, ok}}."""
    ma = a if isinstance(a, Model) else load(a)
    mb = b if isinstance(b, Model) else load(b)
    feeds = ma.random_inputs(seed) if feeds is None else feeds
    ra, rb = ma.run(feeds), mb.run(feeds)
    if set(ra) == set(rb):
        pairs = [(n, ra[n], rb[n]) for n in ra]
    elif len(ra) == len(rb):
        pairs = [(n, ra[n], rb[nb]) for n, nb in zip(ra, rb)]
    else:
        raise _invalid(f"{ma.path} has {len(ra)} outputs, {mb.path} {len(rb)}")
    result = {}
    for name, x, y in pairs:
        keep = []
        ta, tb = _tensor_view(name, x, keep), _tensor_view(name, y, keep)
        st = _lib.CompareStats()
        err = _lib.Error_()
        _check(_L.st_tensor_compare(C.byref(ta), C.byref(tb), float(atol), float(rtol),
                                    C.byref(st), C.byref(err)), err)
        d = {f: getattr(st, f) for f, _ in _lib.CompareStats._fields_}
        d["ok"] = bool(_L.st_compare_ok(C.byref(st)))
        result[name] = d
    return result
