/* converters/onnx/onnx_tensor.c: TensorProto, SparseTensorProto and TypeProto <-> IR tensors
 * and types. Every size comes from the file, so every size is checked; data is borrowed from
 * the model's mapping, the parse arena or a mapped external file when aligned (else
 * copied), never trusted to match its dims. */
#include <inttypes.h>
#include <string.h>

#include "onnx_internal.h"

/* ---- context ----------------------------------------------------------------------- */
st_status st_onnx_ctx_init(st_onnx_ctx *c, const char *path, st_arena *arena, st_error *err) {
    memset(c, 0, sizeof *c);
    c->label = path;
    const char *slash = strrchr(path, '/');
    c->dir = slash ? st_strndup(path, (size_t)(slash - path) + (slash == path)) : st_strdup(".");
    if (arena && !(c->arena_buf = st_buf_wrap_arena(arena))) {
        st_arena_free(arena);
        st_free(c->dir);
        c->dir = NULL;
        return st_error_nomem(err);
    }
    if (!c->dir) {
        st_buf_unref(c->arena_buf);
        c->arena_buf = NULL;
        return st_error_nomem(err);
    }
    return ST_OK;
}

void st_onnx_ctx_release(st_onnx_ctx *c) {
    for (size_t i = 0; i < c->n_ext; i++) {
        st_free(c->ext[i].path);
        st_buf_unref(c->ext[i].buf);
    }
    st_free(c->ext);
    st_free(c->dir);
    st_buf_unref(c->arena_buf);
    st_buf_unref(c->file);
    memset(c, 0, sizeof *c);
}

/* ---- which TensorProto field may carry which dtype ---------------------------------- */
typedef enum {
    F_RAW = 0, /* raw_data: every fixed-size type, little-endian */
    F_FLOAT,   /* float_data: float32; complex64 as (re, im) pairs */
    F_INT32,   /* int32_data: int32 and the narrower ints, bool, float16/bfloat16 bits */
    F_STRING,  /* string_data: strings */
    F_INT64,   /* int64_data: int64 */
    F_DOUBLE,  /* double_data: float64; complex128 as pairs */
    F_UINT64,  /* uint64_data: uint32 and uint64 */
    F_COUNT
} data_field;

static const char *const field_names[F_COUNT] = {
    "raw_data",   "float_data",  "int32_data",  "string_data",
    "int64_data", "double_data", "uint64_data",
};

/* The typed field an ONNX dtype is stored in (besides raw_data). */
static const data_field typed_field[ST_DTYPE_COUNT] = {
    [ST_DTYPE_UNDEFINED] = F_COUNT, /* never valid */
    [ST_DTYPE_F32] = F_FLOAT,       /* float32 */
    [ST_DTYPE_U8] = F_INT32,        /* uint8 widened */
    [ST_DTYPE_I8] = F_INT32,        /* int8 widened */
    [ST_DTYPE_U16] = F_INT32,       /* uint16 widened */
    [ST_DTYPE_I16] = F_INT32,       /* int16 widened */
    [ST_DTYPE_I32] = F_INT32,       /* int32 as is */
    [ST_DTYPE_I64] = F_INT64,       /* int64 as is */
    [ST_DTYPE_STRING] = F_STRING,   /* bytes per element */
    [ST_DTYPE_BOOL] = F_INT32,      /* 0 / 1 */
    [ST_DTYPE_F16] = F_INT32,       /* bit pattern in the low 16 bits */
    [ST_DTYPE_F64] = F_DOUBLE,      /* float64 */
    [ST_DTYPE_U32] = F_UINT64,      /* uint32 widened */
    [ST_DTYPE_U64] = F_UINT64,      /* uint64 as is */
    [ST_DTYPE_C64] = F_FLOAT,       /* two floats per element */
    [ST_DTYPE_C128] = F_DOUBLE,     /* two doubles per element */
    [ST_DTYPE_BF16] = F_INT32,      /* bit pattern in the low 16 bits */
    /* float8 codes one per value; 4-/2-bit types packed into bytes, one byte per value */
    [ST_DTYPE_F8E4M3FN] = F_INT32,
    [ST_DTYPE_F8E4M3FNUZ] = F_INT32,
    [ST_DTYPE_F8E5M2] = F_INT32,
    [ST_DTYPE_F8E5M2FNUZ] = F_INT32,
    [ST_DTYPE_U4] = F_INT32,
    [ST_DTYPE_I4] = F_INT32,
    [ST_DTYPE_F4E2M1] = F_INT32,
    [ST_DTYPE_F8E8M0] = F_INT32,
    [ST_DTYPE_U2] = F_INT32,
    [ST_DTYPE_I2] = F_INT32,
};
_Static_assert(sizeof(typed_field) / sizeof(typed_field[0]) == ST_DTYPE_COUNT,
               "typed_field must cover every st_dtype");

static size_t dtype_align(st_dtype dt) {
    if (dt == ST_DTYPE_C64) return 4;
    if (dt == ST_DTYPE_C128) return 8;
    size_t s = st_dtype_size(dt);
    return s ? s : 1;
}

/* Point t at src (borrowing owner) when aligned, else copy. */
static st_status take_bytes(st_tensor *t, st_dtype dt, int ndim, const int64_t *dims,
                            const void *src, size_t nbytes, st_buf *owner, st_error *err) {
    if (owner && nbytes && (uintptr_t)src % dtype_align(dt) == 0) {
        st_tensor_borrow(t, dt, ndim, dims, (void *)src, owner);
        return ST_OK;
    }
    st_status s = st_tensor_alloc(t, dt, ndim, dims, err);
    if (s) return s;
    if (nbytes) memcpy(t->data, src, nbytes);
    return ST_OK;
}

static bool parse_u64(const char *s, uint64_t *out) {
    if (!s || !*s) return false;
    uint64_t v = 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9') return false;
        if (v > (UINT64_MAX - 9) / 10) return false;
        v = v * 10 + (uint64_t)(*s - '0');
    }
    *out = v;
    return true;
}

static bool location_escapes(const char *loc) {
    if (loc[0] == '/' || loc[0] == '\\') return true;
    for (const char *p = loc; *p;) {
        size_t n = strcspn(p, "/\\");
        if (n == 2 && p[0] == '.' && p[1] == '.') return true;
        p += n;
        if (*p) p++;
    }
    return false;
}

static st_status ext_map(st_onnx_ctx *c, const char *loc, st_buf **out, st_error *err) {
    size_t dl = strlen(c->dir), ll = strlen(loc);
    char *path = st_malloc(dl + ll + 2);
    if (!path) return st_error_nomem(err);
    memcpy(path, c->dir, dl);
    path[dl] = '/';
    memcpy(path + dl + 1, loc, ll + 1);
    for (size_t i = 0; i < c->n_ext; i++)
        if (!strcmp(c->ext[i].path, path)) {
            st_free(path);
            *out = c->ext[i].buf;
            return ST_OK;
        }
    st_buf *b;
    st_status s = st_buf_map_file(path, &b, err);
    if (s) {
        st_free(path);
        return s;
    }
    if (!ST_GROW(c->ext, c->cap_ext, c->n_ext + 1)) {
        st_free(path);
        st_buf_unref(b);
        return st_error_nomem(err);
    }
    c->ext[c->n_ext].path = path;
    c->ext[c->n_ext++].buf = b;
    *out = b;
    return ST_OK;
}

/* Bytes a packed 4-/2-bit tensor of nelem values occupies (nelem for 8-bit types). */
static size_t packed_size(st_dtype dt, size_t nelem) {
    int bits = st_dtype_bits(dt);
    return bits >= 8 ? nelem * st_dtype_size(dt) : (nelem * (size_t)bits + 7) / 8;
}

/* Unpack the ONNX layout of a sub-byte type (low bits first) into one IR byte per value,
 * sign-extending int4/int2; src[k] is packed byte k (byte k of src, or int32 k if wide). */
static void unpack_narrow(st_dtype dt, const uint8_t *src, const int32_t *wide, size_t nelem,
                          uint8_t *dst) {
    int bits = st_dtype_bits(dt), per = 8 / bits;
    unsigned mask = (1u << bits) - 1;
    for (size_t i = 0; i < nelem; i++) {
        size_t k = i / (size_t)per;
        unsigned byte = src ? src[k] : (unsigned)wide[k] & 0xff;
        unsigned v = (byte >> (bits * (int)(i % (size_t)per))) & mask;
        dst[i] = st_dtype_is_narrow_int(dt) ? st_narrow_int_wrap(dt, v) : (uint8_t)v;
    }
}

/* A tensor of a sub-byte type from its packed bytes (or packed int32_data values). */
static st_status take_packed(st_tensor *t, st_dtype dt, int ndim, const int64_t *dims,
                             const uint8_t *src, const int32_t *wide, st_error *err) {
    st_status s = st_tensor_alloc(t, dt, ndim, dims, err);
    if (s) return s;
    unpack_narrow(dt, src, wide, st_tensor_nelem(t), t->data);
    return ST_OK;
}

static st_status ext_decode(st_onnx_ctx *c, const Onnx__TensorProto *tp, st_dtype dt, int ndim,
                            const int64_t *dims, size_t nbytes, st_tensor *out, st_error *err) {
    const char *loc = NULL;
    uint64_t offset = 0, length = 0;
    bool has_length = false;
    for (size_t i = 0; i < tp->n_external_data; i++) {
        const Onnx__StringStringEntryProto *e = tp->external_data[i];
        const char *k = st_onnx_str(e->key), *v = st_onnx_str(e->value);
        if (!strcmp(k, "location")) {
            loc = v;
        } else if (!strcmp(k, "offset")) {
            if (!parse_u64(v, &offset))
                return st_errorf(err, ST_ERR_FORMAT, "external data offset \"%s\" is not a number",
                                 v);
        } else if (!strcmp(k, "length")) {
            if (!parse_u64(v, &length))
                return st_errorf(err, ST_ERR_FORMAT, "external data length \"%s\" is not a number",
                                 v);
            has_length = true;
        }
    }
    if (!loc || !*loc)
        return st_errorf(err, ST_ERR_FORMAT, "stored externally but has no location");
    if (location_escapes(loc))
        return st_errorf(err, ST_ERR_FORMAT,
                         "external data location \"%s\" is outside the model's directory", loc);
    if (dt == ST_DTYPE_STRING)
        return st_errorf(err, ST_ERR_FORMAT, "string tensors cannot be stored externally");
    st_buf *b = NULL;
    st_status s = ext_map(c, loc, &b, err);
    if (s) {
        if (s != ST_ERR_NOMEM) st_error_prefix(err, "external data: ");
        return s;
    }
    uint64_t end;
    if (!has_length) length = offset <= b->size ? b->size - offset : 0;
    if (__builtin_add_overflow(offset, length, &end) || end > b->size)
        return st_errorf(err, ST_ERR_FORMAT,
                         "external data file %s: offset+length beyond end of file", loc);
    if (length != nbytes)
        return st_errorf(err, ST_ERR_FORMAT,
                         "external data file %s: holds %" PRIu64 " bytes, expected %zu", loc,
                         length, nbytes);
    if (st_dtype_bits(dt) < 8)
        return take_packed(out, dt, ndim, dims, (const uint8_t *)b->data + offset, NULL, err);
    return take_bytes(out, dt, ndim, dims, (const uint8_t *)b->data + offset, nbytes, b, err);
}

/* Generic widening/narrowing copy from a typed field into a fresh tensor. */
#define CONVERT(dst_t, src, expr)               \
    do {                                        \
        dst_t *d_ = t.data;                     \
        for (size_t i_ = 0; i_ < nelem; i_++) { \
            __typeof__((src)[0]) v = (src)[i_]; \
            d_[i_] = (dst_t)(expr);             \
        }                                       \
    } while (0)

static st_status tensor_decode(st_onnx_ctx *c, const Onnx__TensorProto *tp, st_tensor *out,
                               st_error *err) {
    int dt = tp->has_data_type ? tp->data_type : 0;
    if (dt == 0) return st_errorf(err, ST_ERR_FORMAT, "has no data type");
    if (!st_dtype_valid(dt)) {
        if (dt > 0 && dt <= 32)
            return st_errorf(err, ST_ERR_UNSUPPORTED, "data type %d is not supported", dt);
        return st_errorf(err, ST_ERR_FORMAT, "unknown data type %d", dt);
    }
    if (tp->n_dims > ST_MAX_RANK)
        return st_errorf(err, ST_ERR_LIMIT, "rank %zu exceeds the limit of %d", tp->n_dims,
                         ST_MAX_RANK);
    int ndim = (int)tp->n_dims;
    int64_t dims[ST_MAX_RANK];
    for (int i = 0; i < ndim; i++) {
        if (tp->dims[i] < 0)
            return st_errorf(err, ST_ERR_FORMAT, "negative dimension %" PRId64, tp->dims[i]);
        dims[i] = tp->dims[i];
    }
    size_t nelem, nbytes, nvals;
    st_status s = st_shape_nelem(ndim, dims, &nelem, err);
    if (s) return s;
    size_t esz = st_dtype_size((st_dtype)dt);
    if (!st_mul_ok(nelem, esz, &nbytes) || !st_mul_ok(nelem, 2, &nvals))
        return st_errorf(err, ST_ERR_LIMIT, "tensor too large");
    if (dt != ST_DTYPE_C64 && dt != ST_DTYPE_C128) nvals = nelem;
    bool packed = st_dtype_bits((st_dtype)dt) < 8;
    if (packed) nbytes = nvals = packed_size((st_dtype)dt, nelem);
    if (tp->segment)
        return st_errorf(err, ST_ERR_UNSUPPORTED, "segmented tensors are not supported");

    /* which fields carry data; large raw_data may have stayed in the model's mapping */
    const uint8_t *raw = tp->raw_data.data;
    size_t raw_len = tp->has_raw_data ? tp->raw_data.len : 0;
    st_buf *raw_owner = c->arena_buf;
    if (st_onnx_pb_raw_span(tp, c->file, &raw, &raw_len)) raw_owner = c->file;
    size_t counts[F_COUNT] = {
        [F_RAW] = raw_len,
        [F_FLOAT] = tp->n_float_data,
        [F_INT32] = tp->n_int32_data,
        [F_STRING] = tp->n_string_data,
        [F_INT64] = tp->n_int64_data,
        [F_DOUBLE] = tp->n_double_data,
        [F_UINT64] = tp->n_uint64_data,
    };
    int field = -1;
    for (int f = 0; f < F_COUNT; f++)
        if (counts[f]) {
            if (field >= 0)
                return st_errorf(err, ST_ERR_FORMAT, "has data in both %s and %s",
                                 field_names[field], field_names[f]);
            field = f;
        }
    bool external =
        tp->has_data_location && tp->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
    if (external) {
        if (field >= 0)
            return st_errorf(err, ST_ERR_FORMAT, "stored externally but also has %s",
                             field_names[field]);
        return ext_decode(c, tp, (st_dtype)dt, ndim, dims, nbytes, out, err);
    }
    if (field < 0) {
        if (nelem) return st_errorf(err, ST_ERR_FORMAT, "has no data for its %zu elements", nelem);
        return st_tensor_alloc(out, (st_dtype)dt, ndim, dims, err);
    }
    if (field == F_RAW) {
        if (dt == ST_DTYPE_STRING)
            return st_errorf(err, ST_ERR_FORMAT, "string data stored in raw_data");
        if (raw_len != nbytes)
            return st_errorf(err, ST_ERR_FORMAT, "raw_data has %zu bytes, expected %zu for %zu %s",
                             raw_len, nbytes, nelem, st_dtype_name((st_dtype)dt));
        if (packed) return take_packed(out, (st_dtype)dt, ndim, dims, raw, NULL, err);
        return take_bytes(out, (st_dtype)dt, ndim, dims, raw, nbytes, raw_owner, err);
    }
    if ((data_field)field != typed_field[dt])
        return st_errorf(err, ST_ERR_FORMAT, "%s cannot hold %s", field_names[field],
                         st_dtype_name((st_dtype)dt));
    if (counts[field] != nvals)
        return st_errorf(err, ST_ERR_FORMAT, "%s has %zu values, expected %zu", field_names[field],
                         counts[field], nvals);
    switch ((st_dtype)dt) {
    /* stored exactly as the IR holds them: borrow */
    case ST_DTYPE_F32:
    case ST_DTYPE_C64:
        return take_bytes(out, dt, ndim, dims, tp->float_data, nbytes, c->arena_buf, err);
    case ST_DTYPE_I32:
        return take_bytes(out, dt, ndim, dims, tp->int32_data, nbytes, c->arena_buf, err);
    case ST_DTYPE_I64:
        return take_bytes(out, dt, ndim, dims, tp->int64_data, nbytes, c->arena_buf, err);
    case ST_DTYPE_F64:
    case ST_DTYPE_C128:
        return take_bytes(out, dt, ndim, dims, tp->double_data, nbytes, c->arena_buf, err);
    case ST_DTYPE_U64:
        return take_bytes(out, dt, ndim, dims, tp->uint64_data, nbytes, c->arena_buf, err);
    default: break;
    }
    if (packed) return take_packed(out, (st_dtype)dt, ndim, dims, NULL, tp->int32_data, err);
    st_tensor t;
    if ((s = st_tensor_alloc(&t, (st_dtype)dt, ndim, dims, err))) return s;
    switch ((st_dtype)dt) {
    case ST_DTYPE_U8: CONVERT(uint8_t, tp->int32_data, v); break;
    case ST_DTYPE_I8: CONVERT(int8_t, tp->int32_data, v); break;
    case ST_DTYPE_U16: CONVERT(uint16_t, tp->int32_data, v); break;
    case ST_DTYPE_I16: CONVERT(int16_t, tp->int32_data, v); break;
    case ST_DTYPE_BOOL: CONVERT(uint8_t, tp->int32_data, v != 0); break;
    case ST_DTYPE_F16:
    case ST_DTYPE_BF16: CONVERT(uint16_t, tp->int32_data, (uint32_t)v & 0xffff); break;
    case ST_DTYPE_U32: CONVERT(uint32_t, tp->uint64_data, v); break;
    case ST_DTYPE_F8E4M3FN:
    case ST_DTYPE_F8E4M3FNUZ:
    case ST_DTYPE_F8E5M2:
    case ST_DTYPE_F8E5M2FNUZ:
    case ST_DTYPE_F8E8M0: CONVERT(uint8_t, tp->int32_data, v & 0xff); break;
    case ST_DTYPE_STRING:
        for (size_t i = 0; i < nelem; i++) {
            const ProtobufCBinaryData *b = &tp->string_data[i];
            if ((s = st_tensor_set_string(&t, i, b->len ? (const char *)b->data : "", b->len,
                                          err))) {
                st_tensor_clear(&t);
                return s;
            }
        }
        break;
    default: ST_ASSERT(0 && "typed_field covers every dtype");
    }
    *out = t;
    return ST_OK;
}

st_status st_onnx_tensor_decode(st_onnx_ctx *c, const Onnx__TensorProto *tp, st_tensor *out,
                                st_error *err) {
    st_status s = tensor_decode(c, tp, out, err);
    if (s && s != ST_ERR_NOMEM) st_error_prefix(err, "tensor \"%s\": ", st_onnx_str(tp->name));
    return s;
}

/* Largest dense tensor a sparse one may expand to (it is allocated, not read). */
#define SPARSE_DENSE_MAX ((size_t)4 << 30)

st_status st_onnx_sparse_decode(st_onnx_ctx *c, const Onnx__SparseTensorProto *sp, st_tensor *out,
                                st_error *err) {
    st_tensor vals = {0}, idx = {0}, t = {0};
    const char *nm = sp->values ? st_onnx_str(sp->values->name) : "";
    st_status s = ST_OK;
    if (!sp->values || !sp->indices) {
        s = st_errorf(err, ST_ERR_FORMAT, "sparse tensor \"%s\": missing %s", nm,
                      sp->values ? "indices" : "values");
        goto fail;
    }
    if ((s = st_onnx_tensor_decode(c, sp->values, &vals, err))) goto fail;
    if ((s = st_onnx_tensor_decode(c, sp->indices, &idx, err))) goto fail;
    if (sp->n_dims > ST_MAX_RANK) {
        s = st_errorf(err, ST_ERR_LIMIT, "sparse tensor \"%s\": rank %zu exceeds the limit of %d",
                      nm, sp->n_dims, ST_MAX_RANK);
        goto fail;
    }
    int ndim = (int)sp->n_dims;
    for (int i = 0; i < ndim; i++)
        if (sp->dims[i] < 0) {
            s = st_errorf(err, ST_ERR_FORMAT, "sparse tensor \"%s\": negative dimension %" PRId64,
                          nm, sp->dims[i]);
            goto fail;
        }
    /* the dense form is allocated here, not read from the file: bound it */
    size_t dense, dense_bytes;
    if ((s = st_shape_nelem(ndim, sp->dims, &dense, err))) goto fail;
    if (!st_mul_ok(dense, st_dtype_size(vals.dtype), &dense_bytes) ||
        dense_bytes > SPARSE_DENSE_MAX) {
        s = st_errorf(err, ST_ERR_LIMIT, "sparse tensor \"%s\": its dense form exceeds %zu bytes",
                      nm, (size_t)SPARSE_DENSE_MAX);
        goto fail;
    }
    if ((s = st_tensor_alloc(&t, vals.dtype, ndim, sp->dims, err))) goto fail;
    size_t nnz = st_tensor_nelem(&vals), total = st_tensor_nelem(&t),
           esz = st_dtype_size(vals.dtype);
    bool coords = idx.ndim == 2;
    if (vals.ndim != 1 || idx.dtype != ST_DTYPE_I64 || (idx.ndim != 1 && idx.ndim != 2) ||
        (size_t)idx.dims[0] != nnz || (coords && idx.dims[1] != ndim)) {
        s = st_errorf(err, ST_ERR_FORMAT,
                      "sparse tensor \"%s\": values must be [NNZ] and indices int64 [NNZ] or "
                      "[NNZ, rank]",
                      nm);
        goto fail;
    }
    const int64_t *ix = idx.data;
    for (size_t k = 0; k < nnz; k++) {
        int64_t lin = 0;
        bool ok = true;
        if (coords) {
            for (int j = 0; j < ndim; j++) {
                int64_t v = ix[k * (size_t)ndim + (size_t)j];
                if (v < 0 || v >= t.dims[j]) ok = false;
                lin = lin * t.dims[j] + v;
            }
        } else {
            lin = ix[k];
            ok = lin >= 0 && (uint64_t)lin < total;
        }
        if (!ok) {
            s = st_errorf(err, ST_ERR_FORMAT, "sparse tensor \"%s\": index %zu out of range", nm,
                          k);
            goto fail;
        }
        if (vals.dtype == ST_DTYPE_STRING) {
            const st_str *sv = (const st_str *)vals.data + k;
            if ((s = st_tensor_set_string(&t, (size_t)lin, sv->data ? sv->data : "", sv->len, err)))
                goto fail;
        } else {
            memcpy((uint8_t *)t.data + (size_t)lin * esz, (const uint8_t *)vals.data + k * esz,
                   esz);
        }
    }
    st_tensor_clear(&vals);
    st_tensor_clear(&idx);
    *out = t;
    return ST_OK;
fail:
    st_tensor_clear(&vals);
    st_tensor_clear(&idx);
    st_tensor_clear(&t);
    return s;
}

st_status st_onnx_tensor_encode(st_arena *a, const st_tensor *t, const char *name,
                                Onnx__TensorProto **out, st_error *err) {
    Onnx__TensorProto *tp = st_arena_alloc(a, sizeof *tp);
    int64_t *dims = st_arena_alloc(a, sizeof(int64_t) * (size_t)(t->ndim ? t->ndim : 1));
    if (!tp || !dims) return st_error_nomem(err);
    onnx__tensor_proto__init(tp);
    tp->name = name && *name ? (char *)name : NULL;
    tp->n_dims = (size_t)t->ndim;
    memcpy(dims, t->dims, sizeof(int64_t) * (size_t)t->ndim);
    tp->dims = dims;
    tp->has_data_type = 1;
    tp->data_type = (int32_t)t->dtype;
    size_t n = st_tensor_nelem(t);
    if (t->dtype == ST_DTYPE_STRING) {
        if (n) {
            ProtobufCBinaryData *sd = st_arena_alloc(a, n * sizeof *sd);
            if (!sd) return st_error_nomem(err);
            const st_str *ss = t->data;
            for (size_t i = 0; i < n; i++) {
                sd[i].len = ss[i].data ? ss[i].len : 0;
                sd[i].data = (uint8_t *)(ss[i].data ? ss[i].data : "");
            }
            tp->n_string_data = n;
            tp->string_data = sd;
        }
    } else if (n && st_dtype_bits(t->dtype) < 8) { /* pack, low bits first */
        int bits = st_dtype_bits(t->dtype), per = 8 / bits;
        size_t nb = packed_size(t->dtype, n);
        uint8_t *p = st_arena_alloc(a, nb);
        if (!p) return st_error_nomem(err);
        memset(p, 0, nb);
        const uint8_t *v = t->data;
        for (size_t i = 0; i < n; i++)
            p[i / (size_t)per] |=
                (uint8_t)((v[i] & ((1u << bits) - 1)) << (bits * (int)(i % (size_t)per)));
        tp->has_raw_data = 1;
        tp->raw_data.len = nb;
        tp->raw_data.data = p;
    } else if (n) {
        tp->has_raw_data = 1;
        tp->raw_data.len = st_tensor_nbytes(t);
        tp->raw_data.data = t->data;
    }
    *out = tp;
    return ST_OK;
}

/* ---- types --------------------------------------------------------------------------- */
static st_status tensor_type_decode(st_graph *g, int32_t elem, const Onnx__TensorShapeProto *sh,
                                    st_type *out, st_error *err) {
    if (elem != 0 && !st_dtype_valid(elem))
        return st_errorf(err, elem > 0 && elem <= 32 ? ST_ERR_UNSUPPORTED : ST_ERR_FORMAT,
                         "element type %d is not supported", (int)elem);
    out->dtype = (st_dtype)elem;
    out->rank = -1;
    out->dims = NULL;
    if (!sh) return ST_OK;
    if (sh->n_dim > ST_MAX_RANK)
        return st_errorf(err, ST_ERR_LIMIT, "rank %zu exceeds the limit of %d", sh->n_dim,
                         ST_MAX_RANK);
    out->dims = st_ir_alloc(g, sizeof(st_dim) * (sh->n_dim ? sh->n_dim : 1));
    if (!out->dims) return st_error_nomem(err);
    for (size_t i = 0; i < sh->n_dim; i++) {
        const Onnx__TensorShapeProto__Dimension *d = sh->dim[i];
        out->dims[i].value = -1;
        if (d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE) {
            out->dims[i].value = d->dim_value >= 0 ? d->dim_value : -1;
        } else if (d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM &&
                   d->dim_param && *d->dim_param) {
            if (!(out->dims[i].symbol = st_ir_strdup(g, d->dim_param))) return st_error_nomem(err);
        }
    }
    out->rank = (int)sh->n_dim;
    return ST_OK;
}

/* A tensor or sequence-of-tensor type; anything else stays unknown (kind NONE). */
static st_status type_decode(st_graph *g, const Onnx__TypeProto *tp, st_type *out, int depth,
                             st_error *err) {
    memset(out, 0, sizeof *out);
    out->rank = -1;
    if (!tp || depth > 3) return ST_OK;
    switch (tp->value_case) {
    case ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE:
        if (!tp->tensor_type) return ST_OK;
        out->kind = ST_VAL_TENSOR;
        return tensor_type_decode(g, tp->tensor_type->elem_type, tp->tensor_type->shape, out, err);
    case ONNX__TYPE_PROTO__VALUE_SEQUENCE_TYPE: {
        const Onnx__TypeProto *e = tp->sequence_type ? tp->sequence_type->elem_type : NULL;
        if (e && e->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE) return ST_OK;
        out->kind = ST_VAL_SEQUENCE;
        if (!e || !e->tensor_type) return ST_OK;
        return tensor_type_decode(g, e->tensor_type->elem_type, e->tensor_type->shape, out, err);
    }
    case ONNX__TYPE_PROTO__VALUE_OPTIONAL_TYPE: {
        const Onnx__TypeProto *e = tp->optional_type ? tp->optional_type->elem_type : NULL;
        if (!e || e->value_case == ONNX__TYPE_PROTO__VALUE_OPTIONAL_TYPE) return ST_OK;
        st_status s = type_decode(g, e, out, depth + 1, err);
        if (!s && out->kind != ST_VAL_NONE) out->optional = true;
        return s;
    }
    default: return ST_OK; /* maps, sparse tensors: not representable */
    }
}

st_status st_onnx_type_decode(st_graph *g, const Onnx__TypeProto *tp, st_type *out, st_error *err) {
    st_type t;
    st_status s = type_decode(g, tp, &t, 0, err);
    if (!s) *out = t;
    return s;
}

static Onnx__TypeProto *tensor_type_encode(st_arena *a, const st_type *t) {
    Onnx__TypeProto *tp = st_arena_alloc(a, sizeof *tp);
    Onnx__TypeProto__Tensor *tt = st_arena_alloc(a, sizeof *tt);
    if (!tp || !tt) return NULL;
    onnx__type_proto__init(tp);
    onnx__type_proto__tensor__init(tt);
    tp->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    tp->tensor_type = tt;
    tt->has_elem_type = 1;
    tt->elem_type = (int32_t)t->dtype;
    if (t->rank < 0) return tp;
    Onnx__TensorShapeProto *sh = st_arena_alloc(a, sizeof *sh);
    Onnx__TensorShapeProto__Dimension **dims =
        st_arena_alloc(a, sizeof *dims * (size_t)(t->rank ? t->rank : 1));
    if (!sh || !dims) return NULL;
    onnx__tensor_shape_proto__init(sh);
    sh->n_dim = (size_t)t->rank;
    sh->dim = dims;
    for (int i = 0; i < t->rank; i++) {
        Onnx__TensorShapeProto__Dimension *d = st_arena_alloc(a, sizeof *d);
        if (!d) return NULL;
        onnx__tensor_shape_proto__dimension__init(d);
        if (t->dims && t->dims[i].symbol) {
            d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
            d->dim_param = t->dims[i].symbol;
        } else if (t->dims && t->dims[i].value >= 0) {
            d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
            d->dim_value = t->dims[i].value;
        }
        dims[i] = d;
    }
    tt->shape = sh;
    return tp;
}

st_status st_onnx_type_encode(st_arena *a, const st_type *t, Onnx__TypeProto **out, st_error *err) {
    Onnx__TypeProto *tp = NULL;
    if (t->kind == ST_VAL_NONE) {
        *out = NULL;
        return ST_OK;
    }
    if (!(tp = tensor_type_encode(a, t))) return st_error_nomem(err);
    if (t->kind == ST_VAL_SEQUENCE) {
        Onnx__TypeProto *sp = st_arena_alloc(a, sizeof *sp);
        Onnx__TypeProto__Sequence *sq = st_arena_alloc(a, sizeof *sq);
        if (!sp || !sq) return st_error_nomem(err);
        onnx__type_proto__init(sp);
        onnx__type_proto__sequence__init(sq);
        sq->elem_type = tp;
        sp->value_case = ONNX__TYPE_PROTO__VALUE_SEQUENCE_TYPE;
        sp->sequence_type = sq;
        tp = sp;
    }
    if (t->optional) {
        Onnx__TypeProto *op = st_arena_alloc(a, sizeof *op);
        Onnx__TypeProto__Optional *oq = st_arena_alloc(a, sizeof *oq);
        if (!op || !oq) return st_error_nomem(err);
        onnx__type_proto__init(op);
        onnx__type_proto__optional__init(oq);
        oq->elem_type = tp;
        op->value_case = ONNX__TYPE_PROTO__VALUE_OPTIONAL_TYPE;
        op->optional_type = oq;
        tp = op;
    }
    *out = tp;
    return ST_OK;
}
