"""stele._lib: the ctypes mirror of include/stele.h's structs and signatures, and the search
for libstele.so. Declarations only: no behaviour lives here, and nothing here may reach past
the ST_API functions that stele.h declares."""
import ctypes
import os

MAX_RANK = 16
(OK, ERR_IO, ERR_FORMAT, ERR_UNSUPPORTED, ERR_LIMIT, ERR_NOMEM, ERR_INVALID) = range(7)
VAL_NONE, VAL_TENSOR, VAL_SEQUENCE = range(3)
DTYPE_STRING, DTYPE_BF16 = 8, 16
FORMATS = {"onnx": 1, "torchscript": 2, "savedmodel": 3}
C = ctypes


class Error_(C.Structure):
    _fields_ = [("status", C.c_int), ("msg", C.c_char * 1024)]


class Tensor(C.Structure):
    _fields_ = [("dtype", C.c_int), ("ndim", C.c_int), ("dims", C.c_int64 * MAX_RANK),
                ("data", C.c_void_p), ("buf", C.c_void_p)]


class Value(C.Structure):
    _fields_ = [("kind", C.c_int), ("optional", C.c_bool), ("tensor", Tensor),
                ("nseq", C.c_size_t), ("seq", C.POINTER(Tensor)), ("elem_dtype", C.c_int)]


class Str(C.Structure):
    _fields_ = [("data", C.c_void_p), ("len", C.c_size_t)]


class DimInfo(C.Structure):
    _fields_ = [("value", C.c_int64), ("symbol", C.c_char_p)]


class ValueInfo(C.Structure):
    _fields_ = [("name", C.c_char_p), ("kind", C.c_int), ("optional", C.c_bool),
                ("dtype", C.c_int), ("rank", C.c_int), ("dims", C.POINTER(DimInfo))]


class ShapeBinding(C.Structure):
    _fields_ = [("name", C.c_char_p), ("ndim", C.c_int), ("dims", C.c_int64 * MAX_RANK)]


class LoadOpts(C.Structure):
    _fields_ = [("format", C.c_int), ("signature", C.c_char_p),
                ("shapes", C.POINTER(ShapeBinding)), ("n_shapes", C.c_size_t)]


class SaveOpts(C.Structure):
    _fields_ = [("format", C.c_int), ("external_threshold", C.c_size_t)]


class SessionOpts(C.Structure):
    _fields_ = [("threads", C.c_int), ("n_dim_bindings", C.c_size_t),
                ("dim_names", C.POINTER(C.c_char_p)), ("dim_values", C.POINTER(C.c_int64)),
                ("keep_intermediates", C.c_bool)]


class ProfileOpts(C.Structure):
    _fields_ = [("counters", C.c_char_p), ("all_threads_per_node", C.c_bool)]


class ReportOpts(C.Structure):
    _fields_ = [("group_by", C.c_int), ("top", C.c_int), ("json", C.c_bool),
                ("model", C.c_char_p), ("threads", C.c_int), ("warmup", C.c_int)]


class CompareStats(C.Structure):
    _fields_ = [("dtype_mismatch", C.c_bool), ("shape_mismatch", C.c_bool),
                ("n", C.c_size_t), ("n_outside", C.c_size_t), ("nan_mismatch", C.c_size_t),
                ("inf_mismatch", C.c_size_t), ("max_abs", C.c_double), ("max_rel", C.c_double),
                ("mean_abs", C.c_double), ("cosine", C.c_double), ("worst", C.c_size_t),
                ("worst_a", C.c_double), ("worst_b", C.c_double)]


P, E = C.c_void_p, C.POINTER(Error_)
# name: (restype, argtypes)
SIGNATURES = {
    "st_status_str": (C.c_char_p, [C.c_int]),
    "st_dtype_name": (C.c_char_p, [C.c_int]),
    "st_tensor_alloc": (C.c_int, [C.POINTER(Tensor), C.c_int, C.c_int, C.POINTER(C.c_int64), E]),
    "st_tensor_clear": (None, [C.POINTER(Tensor)]),
    "st_tensor_share": (None, [C.POINTER(Tensor), C.POINTER(Tensor)]),
    "st_tensor_set_string": (C.c_int, [C.POINTER(Tensor), C.c_size_t, C.c_char_p, C.c_size_t, E]),
    "st_value_clear": (None, [C.POINTER(Value)]),
    "st_values_free": (None, [C.POINTER(Value), C.c_size_t]),
    "st_format_name": (C.c_char_p, [C.c_int]),
    "st_model_load": (C.c_int, [C.c_char_p, C.POINTER(LoadOpts), C.POINTER(P), E]),
    "st_model_free": (None, [P]),
    "st_model_save": (C.c_int, [P, C.c_char_p, C.POINTER(SaveOpts), E]),
    "st_model_format": (C.c_int, [P]),
    "st_model_producer": (C.c_char_p, [P]),
    "st_model_n_inputs": (C.c_size_t, [P]),
    "st_model_n_outputs": (C.c_size_t, [P]),
    "st_model_n_values": (C.c_size_t, [P]),
    "st_model_input": (None, [P, C.c_size_t, C.POINTER(ValueInfo)]),
    "st_model_output": (None, [P, C.c_size_t, C.POINTER(ValueInfo)]),
    "st_model_value": (None, [P, C.c_size_t, C.POINTER(ValueInfo)]),
    "st_model_n_nodes": (C.c_size_t, [P]),
    "st_model_params": (None, [P, C.POINTER(C.c_uint64), C.POINTER(C.c_uint64)]),
    "st_session_opts_default": (SessionOpts, []),
    "st_session_new": (C.c_int, [P, C.POINTER(SessionOpts), C.POINTER(P), E]),
    "st_session_free": (None, [P]),
    "st_session_n_outputs": (C.c_size_t, [P]),
    "st_session_output_name": (C.c_char_p, [P, C.c_size_t]),
    "st_session_run": (C.c_int, [P, C.c_size_t, C.POINTER(C.c_char_p), C.POINTER(Value),
                                 C.POINTER(C.POINTER(Value)), E]),
    "st_profile_opts_default": (ProfileOpts, []),
    "st_profile_report_opts_default": (ReportOpts, []),
    "st_profiler_new": (C.c_int, [P, P, C.POINTER(ProfileOpts), C.POINTER(P), E]),
    "st_profiler_free": (None, [P]),
    "st_profiler_run_begin": (None, [P]),
    "st_profiler_run_end": (None, [P]),
    "st_profiler_add_baseline": (None, [P, C.c_double]),
    "st_profiler_report": (C.c_int, [P, C.POINTER(ReportOpts), C.POINTER(C.c_void_p), E]),
    "st_profiler_write_trace": (C.c_int, [P, C.c_char_p, E]),
    "st_string_free": (None, [C.c_void_p]),
    "st_tensor_compare": (C.c_int, [C.POINTER(Tensor), C.POINTER(Tensor), C.c_double,
                                    C.c_double, C.POINTER(CompareStats), E]),
    "st_compare_ok": (C.c_bool, [C.POINTER(CompareStats)]),
}


def _candidates():
    env = os.environ.get("STELE_LIB")
    if env:
        return [env]
    here = os.path.dirname(os.path.abspath(__file__))
    out = []
    # <prefix>/lib/python3/dist-packages/stele -> <prefix>/lib[/<multiarch>]/libstele.so.0
    libdir = os.path.normpath(os.path.join(here, "..", "..", ".."))
    for sub in ("", os.path.join(*filter(None, [_multiarch()]))):
        out.append(os.path.join(libdir, sub, "libstele.so.0"))
    out.append("libstele.so.0")  # the dynamic loader's search path
    return out


def _multiarch():
    try:
        import sysconfig
        return sysconfig.get_config_var("MULTIARCH") or ""
    except Exception:  # pragma: no cover - sysconfig always exists on CPython
        return ""


def load_library():
    tried = []
    for path in _candidates():
        if os.path.sep in path and not os.path.exists(path):
            tried.append(path)
            continue
        try:
            lib = C.CDLL(path)
        except OSError as e:
            tried.append(f"{path} ({e})")
            continue
        for name, (res, args) in SIGNATURES.items():
            fn = getattr(lib, name)
            fn.restype, fn.argtypes = res, args
        return lib
    raise ImportError("stele: cannot load libstele.so.0 (set STELE_LIB); tried: "
                      + "; ".join(tried))
