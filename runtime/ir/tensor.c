/* runtime/ir/tensor.c: dtype traits and tensor storage. A tensor's bytes belong to a
 * reference-counted st_buf; strings are st_str arrays whose bytes the buffer frees. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "ir.h"

const st_dtype_traits st_dtype_table[ST_DTYPE_COUNT] = {
    [ST_DTYPE_UNDEFINED] = {"undefined", "UNDEFINED", 0, 0},
    [ST_DTYPE_F32] = {"float32", "FLOAT", 4, 'f'},
    [ST_DTYPE_U8] = {"uint8", "UINT8", 1, 'u'},
    [ST_DTYPE_I8] = {"int8", "INT8", 1, 'i'},
    [ST_DTYPE_U16] = {"uint16", "UINT16", 2, 'u'},
    [ST_DTYPE_I16] = {"int16", "INT16", 2, 'i'},
    [ST_DTYPE_I32] = {"int32", "INT32", 4, 'i'},
    [ST_DTYPE_I64] = {"int64", "INT64", 8, 'i'},
    [ST_DTYPE_STRING] = {"string", "STRING", sizeof(st_str), 'U'},
    [ST_DTYPE_BOOL] = {"bool", "BOOL", 1, 'b'},
    [ST_DTYPE_F16] = {"float16", "FLOAT16", 2, 'f'},
    [ST_DTYPE_F64] = {"float64", "DOUBLE", 8, 'f'},
    [ST_DTYPE_U32] = {"uint32", "UINT32", 4, 'u'},
    [ST_DTYPE_U64] = {"uint64", "UINT64", 8, 'u'},
    [ST_DTYPE_C64] = {"complex64", "COMPLEX64", 8, 'c'},
    [ST_DTYPE_C128] = {"complex128", "COMPLEX128", 16, 'c'},
    [ST_DTYPE_BF16] = {"bfloat16", "BFLOAT16", 2, 0},
    [ST_DTYPE_F8E4M3FN] = {"float8e4m3fn", "FLOAT8E4M3FN", 1, 0},
    [ST_DTYPE_F8E4M3FNUZ] = {"float8e4m3fnuz", "FLOAT8E4M3FNUZ", 1, 0},
    [ST_DTYPE_F8E5M2] = {"float8e5m2", "FLOAT8E5M2", 1, 0},
    [ST_DTYPE_F8E5M2FNUZ] = {"float8e5m2fnuz", "FLOAT8E5M2FNUZ", 1, 0},
    [ST_DTYPE_U4] = {"uint4", "UINT4", 1, 0},
    [ST_DTYPE_I4] = {"int4", "INT4", 1, 0},
    [ST_DTYPE_F4E2M1] = {"float4e2m1", "FLOAT4E2M1", 1, 0},
    [ST_DTYPE_F8E8M0] = {"float8e8m0", "FLOAT8E8M0", 1, 0},
    [ST_DTYPE_U2] = {"uint2", "UINT2", 1, 0},
    [ST_DTYPE_I2] = {"int2", "INT2", 1, 0},
};
_Static_assert(sizeof(st_dtype_table) / sizeof(st_dtype_table[0]) == ST_DTYPE_COUNT,
               "st_dtype_table must cover every st_dtype");

const char *st_dtype_name(st_dtype t) {
    return (unsigned)t < ST_DTYPE_COUNT ? st_dtype_table[t].name : "invalid";
}
size_t st_dtype_size(st_dtype t) {
    return (unsigned)t < ST_DTYPE_COUNT ? st_dtype_table[t].size : 0;
}
bool st_dtype_valid(int t) { return t > 0 && t < ST_DTYPE_COUNT; }

bool st_dtype_is_float(st_dtype t) {
    return t == ST_DTYPE_F32 || t == ST_DTYPE_F64 || t == ST_DTYPE_F16 || t == ST_DTYPE_BF16;
}
bool st_dtype_is_signed(st_dtype t) {
    return t == ST_DTYPE_I8 || t == ST_DTYPE_I16 || t == ST_DTYPE_I32 || t == ST_DTYPE_I64;
}
bool st_dtype_is_int(st_dtype t) {
    return st_dtype_is_signed(t) || t == ST_DTYPE_U8 || t == ST_DTYPE_U16 || t == ST_DTYPE_U32 ||
           t == ST_DTYPE_U64;
}

bool st_dtype_is_minifloat(st_dtype t) {
    return (t >= ST_DTYPE_F8E4M3FN && t <= ST_DTYPE_F8E5M2FNUZ) || t == ST_DTYPE_F4E2M1 ||
           t == ST_DTYPE_F8E8M0;
}
bool st_dtype_is_narrow_int(st_dtype t) {
    return t == ST_DTYPE_U4 || t == ST_DTYPE_I4 || t == ST_DTYPE_U2 || t == ST_DTYPE_I2;
}
int st_dtype_bits(st_dtype t) {
    if (t == ST_DTYPE_U4 || t == ST_DTYPE_I4 || t == ST_DTYPE_F4E2M1) return 4;
    if (t == ST_DTYPE_U2 || t == ST_DTYPE_I2) return 2;
    return (int)(8 * st_dtype_size(t));
}
uint8_t st_narrow_int_wrap(st_dtype t, int64_t v) {
    int bits = st_dtype_bits(t);
    uint64_t low = (uint64_t)v & ((1u << bits) - 1);
    if ((t == ST_DTYPE_I4 || t == ST_DTYPE_I2) && (low >> (bits - 1)))
        return (uint8_t)(low | (0xffu << bits)); /* sign-extended int8 */
    return (uint8_t)low;
}

size_t st_tensor_nelem(const st_tensor *t) {
    size_t n = 1;
    for (int i = 0; i < t->ndim; i++) n *= (size_t)t->dims[i];
    return n;
}

size_t st_tensor_nbytes(const st_tensor *t) { return st_tensor_nelem(t) * st_dtype_size(t->dtype); }

st_status st_shape_nelem(int ndim, const int64_t *dims, size_t *out, st_error *err) {
    if (ndim < 0 || ndim > ST_MAX_RANK)
        return st_errorf(err, ST_ERR_LIMIT, "rank %d exceeds the limit of %d", ndim, ST_MAX_RANK);
    size_t n = 1;
    for (int i = 0; i < ndim; i++) {
        if (dims[i] < 0)
            return st_errorf(err, ST_ERR_INVALID, "negative dimension %" PRId64, dims[i]);
        if (!st_mul_ok(n, (size_t)dims[i], &n) || n > ((size_t)1 << 48))
            return st_errorf(err, ST_ERR_LIMIT,
                             "tensor of absurd size (dimension %d is %" PRId64 ")", i, dims[i]);
    }
    *out = n;
    return ST_OK;
}

static void release_strings(st_buf *b) {
    st_str *s = b->data;
    size_t n = (size_t)(uintptr_t)b->ctx;
    for (size_t i = 0; i < n; i++) st_free(s[i].data);
    st_free(b->data);
    st_free(b);
}

st_status st_tensor_alloc(st_tensor *t, st_dtype dtype, int ndim, const int64_t *dims,
                          st_error *err) {
    if (!st_dtype_valid(dtype))
        return st_errorf(err, ST_ERR_UNSUPPORTED, "unsupported data type %d", (int)dtype);
    size_t n = 0, bytes;
    st_status s = st_shape_nelem(ndim, dims, &n, err);
    if (s) return s;
    if (!st_mul_ok(n, st_dtype_size(dtype), &bytes))
        return st_errorf(err, ST_ERR_LIMIT, "tensor too large");
    st_buf *b = st_buf_new_heap(bytes);
    if (!b) return st_errorf(err, ST_ERR_NOMEM, "out of memory allocating %zu bytes", bytes);
    memset(b->data, 0, bytes ? bytes : 1);
    if (dtype == ST_DTYPE_STRING) {
        b->release = release_strings;
        b->ctx = (void *)(uintptr_t)n;
    }
    memset(t, 0, sizeof *t);
    t->dtype = dtype;
    t->ndim = ndim;
    if (ndim) memcpy(t->dims, dims, (size_t)ndim * sizeof *dims);
    t->data = b->data;
    t->buf = b;
    return ST_OK;
}

void st_tensor_clear(st_tensor *t) {
    if (!t) return;
    st_buf_unref(t->buf);
    memset(t, 0, sizeof *t);
}

st_status st_tensor_set_string(st_tensor *t, size_t i, const char *s, size_t len, st_error *err) {
    st_str *e = (st_str *)t->data + i;
    char *d = st_strndup(s, len);
    if (!d) return st_error_nomem(err);
    st_free(e->data);
    e->data = d;
    e->len = len;
    return ST_OK;
}

void st_tensor_share(st_tensor *dst, const st_tensor *src) {
    st_tensor tmp = *src;
    st_buf_ref(tmp.buf);
    *dst = tmp;
}

void st_tensor_borrow(st_tensor *t, st_dtype dtype, int ndim, const int64_t *dims, void *data,
                      st_buf *buf) {
    memset(t, 0, sizeof *t);
    t->dtype = dtype;
    t->ndim = ndim;
    if (ndim) memcpy(t->dims, dims, (size_t)ndim * sizeof *dims);
    t->data = data;
    t->buf = st_buf_ref(buf);
}

st_status st_tensor_copy(st_tensor *dst, const st_tensor *src, st_error *err) {
    st_tensor t;
    st_status s = st_tensor_alloc(&t, src->dtype, src->ndim, src->dims, err);
    if (s) return s;
    size_t n = st_tensor_nelem(src);
    if (src->dtype == ST_DTYPE_STRING) {
        const st_str *a = src->data;
        for (size_t i = 0; i < n; i++) {
            if (a[i].data && (s = st_tensor_set_string(&t, i, a[i].data, a[i].len, err))) {
                st_tensor_clear(&t);
                return s;
            }
        }
    } else if (n) {
        memcpy(t.data, src->data, st_tensor_nbytes(src));
    }
    *dst = t;
    return ST_OK;
}

#define ST_GET_CASES(X)                                                                   \
    X(ST_DTYPE_F32, float)                                                                \
    X(ST_DTYPE_F64, double) X(ST_DTYPE_I8, int8_t) X(ST_DTYPE_I16, int16_t)               \
        X(ST_DTYPE_I32, int32_t) X(ST_DTYPE_I64, int64_t) X(ST_DTYPE_U8, uint8_t)         \
            X(ST_DTYPE_U16, uint16_t) X(ST_DTYPE_U32, uint32_t) X(ST_DTYPE_U64, uint64_t) \
                X(ST_DTYPE_BOOL, uint8_t)

double st_tensor_get_f64(const st_tensor *t, size_t i) {
    switch (t->dtype) {
#define X(e, T) \
    case e: return (double)((const T *)t->data)[i];
        ST_GET_CASES(X)
#undef X
    case ST_DTYPE_F16: return st_f16_to_f32(((const uint16_t *)t->data)[i]);
    case ST_DTYPE_BF16: return st_bf16_to_f32(((const uint16_t *)t->data)[i]);
    case ST_DTYPE_I4:
    case ST_DTYPE_I2: return ((const int8_t *)t->data)[i];
    case ST_DTYPE_U4:
    case ST_DTYPE_U2: return ((const uint8_t *)t->data)[i];
    default:
        if (st_dtype_is_minifloat(t->dtype))
            return st_minifloat_to_f32(t->dtype, ((const uint8_t *)t->data)[i]);
        return 0;
    }
}

int64_t st_tensor_get_i64(const st_tensor *t, size_t i) {
    switch (t->dtype) {
#define X(e, T) \
    case e: return (int64_t)((const T *)t->data)[i];
        X(ST_DTYPE_I8, int8_t)
        X(ST_DTYPE_I16, int16_t) X(ST_DTYPE_I32, int32_t) X(ST_DTYPE_I64, int64_t)
            X(ST_DTYPE_U8, uint8_t) X(ST_DTYPE_U16, uint16_t) X(ST_DTYPE_U32, uint32_t)
                X(ST_DTYPE_U64, uint64_t) X(ST_DTYPE_BOOL, uint8_t)
#undef X
                    default : {
            double d = st_tensor_get_f64(t, i);
            if (d != d) return 0;
            if (d >= 9.2e18) return INT64_MAX;
            if (d <= -9.2e18) return INT64_MIN;
            return (int64_t)d;
        }
    }
}

void st_tensor_set_f64(st_tensor *t, size_t i, double v) {
    switch (t->dtype) {
#define X(e, T) \
    case e: ((T *)t->data)[i] = (T)v; break;
        ST_GET_CASES(X)
#undef X
    case ST_DTYPE_F16: ((uint16_t *)t->data)[i] = st_f32_to_f16((float)v); break;
    case ST_DTYPE_BF16: ((uint16_t *)t->data)[i] = st_f32_to_bf16((float)v); break;
    case ST_DTYPE_F8E8M0:
        ((uint8_t *)t->data)[i] = st_f32_to_e8m0((float)v, true, ST_E8M0_UP);
        break;
    default:
        if (st_dtype_is_minifloat(t->dtype))
            ((uint8_t *)t->data)[i] = st_f32_to_minifloat(t->dtype, (float)v, true);
        else if (st_dtype_is_narrow_int(t->dtype))
            ((uint8_t *)t->data)[i] = st_narrow_int_wrap(t->dtype, (int64_t)v);
        break;
    }
}

const char *st_tensor_desc(const st_tensor *t, char *buf, size_t n) {
    int off = snprintf(buf, n, "%s[", st_dtype_name(t->dtype));
    for (int i = 0; i < t->ndim && off > 0 && (size_t)off < n; i++)
        off += snprintf(buf + off, n - (size_t)off, "%s%" PRId64, i ? "," : "", t->dims[i]);
    if (off > 0 && (size_t)off < n) snprintf(buf + off, n - (size_t)off, "]");
    return buf;
}

void st_value_clear(st_value *v) {
    if (!v) return;
    st_tensor_clear(&v->tensor);
    for (size_t i = 0; i < v->nseq; i++) st_tensor_clear(&v->seq[i]);
    st_free(v->seq);
    memset(v, 0, sizeof *v);
}

void st_values_free(st_value *v, size_t n) {
    if (!v) return;
    for (size_t i = 0; i < n; i++) st_value_clear(&v[i]);
    st_free(v);
}
