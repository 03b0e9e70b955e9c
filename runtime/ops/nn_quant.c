/* runtime/ops/nn_quant.c: QuantizeLinear, DequantizeLinear (per tensor, per axis or blocked;
 * 8-/16-/4-/2-bit integers, float8 and float4) and DynamicQuantizeLinear. Integer rounding is
 * half to even with saturation, in float32 arithmetic as the ONNX reference and onnxruntime
 * do it; float8/float4 results are cast (saturating unless saturate=0). */
#include <math.h>
#include <string.h>

#include "nn_impl.h"

typedef struct quant_state {
    int axis;     /* -1: per tensor */
    size_t block; /* blocked quantization: elements per scale along axis (0: per axis) */
    size_t ch, inner, total;
    size_t sch; /* the scale's extent along axis (blocked) */
    st_dtype ydt;
    bool saturate; /* QuantizeLinear to float8: saturate (else NaN/inf) */
} quant_state;

/* Scale layout: a scalar (or one value) per tensor, a 1-D tensor of dims[axis] values per
 * axis (opset 13), or (opset 21, block_size > 0) x's rank with ceil(dims[axis]/block_size)
 * along axis and x's extents elsewhere. */
static st_status quant_layout(st_kctx *k, const st_tensor *x, const st_tensor *scale,
                              const st_tensor *zp, quant_state *st, st_error *err) {
    st_status s;
    size_t ns = st_tensor_nelem(scale);
    if ((s = st_shape_nelem(x->ndim, x->dims, &st->total, err))) return s;
    if (zp && st_tensor_nelem(zp) != ns)
        return st_errorf(err, ST_ERR_INVALID, "zero point has %zu values, scale %zu",
                         st_tensor_nelem(zp), ns);
    st->axis = -1;
    st->ch = 1, st->inner = st->total;
    int64_t block = st_attr_int(k->node, "block_size", 0);
    if (block < 0)
        return st_errorf(err, ST_ERR_INVALID, "block_size %lld is negative", (long long)block);
    if (!block && (scale->ndim == 0 || (scale->ndim == 1 && ns == 1 && k->opset < 13)))
        return ST_OK;
    if (!block && scale->ndim != 1)
        return st_errorf(err, ST_ERR_INVALID,
                         "scale must be a scalar or a 1-D tensor "
                         "(or blocked, with block_size)");
    if (k->opset < 13 && ns != 1)
        return st_errorf(err, ST_ERR_INVALID, "per-axis scales need opset 13");
    int axis;
    if (x->ndim == 0) return ns == 1 ? ST_OK : st_errorf(err, ST_ERR_INVALID, "scale too long");
    if ((s = st_norm_axis(st_attr_int(k->node, "axis", 1), x->ndim, &axis, err))) return s;
    if (block) {
        if (scale->ndim != x->ndim)
            return st_errorf(err, ST_ERR_INVALID, "blocked scale has rank %d, x %d", scale->ndim,
                             x->ndim);
        for (int d = 0; d < x->ndim; d++) {
            int64_t want = d == axis ? (x->dims[d] + block - 1) / block : x->dims[d];
            if (scale->dims[d] != want)
                return st_errorf(err, ST_ERR_INVALID,
                                 "blocked scale has %lld values along "
                                 "axis %d, expected %lld",
                                 (long long)scale->dims[d], d, (long long)want);
        }
        st->block = (size_t)block;
        st->sch = (size_t)scale->dims[axis];
    } else if ((int64_t)ns != x->dims[axis]) {
        if (ns == 1) return ST_OK;
        return st_errorf(err, ST_ERR_INVALID, "scale has %zu values for axis %d of size %lld", ns,
                         axis, (long long)x->dims[axis]);
    }
    st->axis = axis;
    if ((s = st_shape_nelem(x->ndim - axis - 1, x->dims + axis + 1, &st->inner, err))) return s;
    st->ch = (size_t)x->dims[axis];
    return ST_OK;
}

/* The scale (and zero point) index of element i. */
static size_t chan_of(const quant_state *st, size_t i) {
    if (st->axis < 0) return 0;
    size_t c = (i / st->inner) % st->ch;
    if (!st->block) return c;
    size_t outer = i / st->inner / st->ch, r = i % st->inner;
    return (outer * st->sch + c / st->block) * st->inner + r;
}

/* The integer range of a quantized type (false: not an integer type). */
static bool q_range(st_dtype t, int64_t *lo, int64_t *hi) {
    switch (t) {
    case ST_DTYPE_I8: *lo = -128, *hi = 127; return true;
    case ST_DTYPE_U8: *lo = 0, *hi = 255; return true;
    case ST_DTYPE_I16: *lo = -32768, *hi = 32767; return true;
    case ST_DTYPE_U16: *lo = 0, *hi = 65535; return true;
    case ST_DTYPE_I4: *lo = -8, *hi = 7; return true;
    case ST_DTYPE_U4: *lo = 0, *hi = 15; return true;
    case ST_DTYPE_I2: *lo = -2, *hi = 1; return true;
    case ST_DTYPE_U2: *lo = 0, *hi = 3; return true;
    default: return false;
    }
}

static bool q_float(st_dtype t) { return st_dtype_is_minifloat(t) && t != ST_DTYPE_F8E8M0; }

static st_status run_quantize(st_kctx *k, st_error *err) {
    quant_state *st = k->state;
    const st_tensor *x = st_in(k, 0), *sc = st_in(k, 1), *zp = st_in(k, 2);
    st_tensor *y = st_out(k, 0, st->ydt, x->ndim, x->dims, err);
    if (!y) return err->status;
    int64_t lo = 0, hi = 0;
    bool is_int = q_range(st->ydt, &lo, &hi);
    for (size_t i = 0; i < st->total; i++) {
        size_t c = chan_of(st, i);
        float s = (float)st_tensor_get_f64(sc, c);
        float v = (float)st_tensor_get_f64(x, i) / s;
        if (!is_int) { /* float8/float4: the zero point's value is added, then cast */
            float z = zp ? (float)st_tensor_get_f64(zp, c) : 0.0f;
            ((uint8_t *)y->data)[i] = st_f32_to_minifloat(st->ydt, v + z, st->saturate);
            continue;
        }
        float z = zp ? (float)st_tensor_get_i64(zp, c) : 0.0f;
        int64_t q = st_nn_sat_round((double)nearbyintf(v) + (double)z, lo, hi);
        switch (st->ydt) {
        case ST_DTYPE_I16: ((int16_t *)y->data)[i] = (int16_t)q; break;
        case ST_DTYPE_U16: ((uint16_t *)y->data)[i] = (uint16_t)q; break;
        case ST_DTYPE_U8:
        case ST_DTYPE_U4:
        case ST_DTYPE_U2: ((uint8_t *)y->data)[i] = (uint8_t)q; break;
        default: ((int8_t *)y->data)[i] = (int8_t)q; break;
        }
    }
    return ST_OK;
}

static st_status prep_fail(quant_state *st, st_status s) {
    st_free(st);
    return s;
}

st_status st_nn_prep_quantize(st_kctx *k, st_error *err) {
    st_status s;
    if ((s = ST_NN_CHECK_DTYPE(k, 0, err, ST_DTYPE_F32, ST_DTYPE_I32, ST_DTYPE_F16,
                               ST_DTYPE_BF16)) ||
        (s = ST_NN_CHECK_DTYPE(k, 1, err, ST_DTYPE_F32, ST_DTYPE_F16, ST_DTYPE_BF16, ST_DTYPE_I32)))
        return s;
    const st_tensor *x = st_in(k, 0), *sc = st_in(k, 1), *zp = st_in(k, 2);
    int64_t odt = st_attr_int(k->node, "output_dtype", 0);
    st_dtype ydt = zp ? zp->dtype : odt ? (st_dtype)odt : ST_DTYPE_U8;
    int64_t lo, hi;
    if (!st_dtype_valid((int)ydt) || (!q_range(ydt, &lo, &hi) && !q_float(ydt)))
        return st_errorf(err, ST_ERR_UNSUPPORTED, "cannot quantize to %s",
                         st_dtype_valid((int)ydt) ? st_dtype_name(ydt) : "an unknown type");
    if (zp && odt && odt != (int64_t)zp->dtype)
        return st_errorf(err, ST_ERR_INVALID, "output_dtype %s differs from the zero point's %s",
                         st_dtype_name((st_dtype)odt), st_dtype_name(zp->dtype));
    quant_state *st = st_calloc(1, sizeof *st);
    if (!st) return st_error_nomem(err);
    st->ydt = ydt;
    st->saturate = st_attr_int(k->node, "saturate", 1) != 0;
    if ((s = quant_layout(k, x, sc, zp, st, err))) return prep_fail(st, s);
    st_out_declare(k, 0, st->ydt, x->ndim, x->dims);
    k->state = st;
    k->run = run_quantize;
    return ST_OK;
}

static st_status run_dequantize(st_kctx *k, st_error *err) {
    quant_state *st = k->state;
    const st_tensor *x = st_in(k, 0), *sc = st_in(k, 1), *zp = st_in(k, 2);
    st_tensor *y = st_out(k, 0, st->ydt, x->ndim, x->dims, err);
    if (!y) return err->status;
    bool fl = q_float(x->dtype);
    for (size_t i = 0; i < st->total; i++) {
        size_t c = chan_of(st, i);
        float v;
        if (fl) {
            float z = zp ? (float)st_tensor_get_f64(zp, c) : 0.0f;
            v = ((float)st_tensor_get_f64(x, i) - z) * (float)st_tensor_get_f64(sc, c);
        } else {
            int64_t z = zp ? st_tensor_get_i64(zp, c) : 0;
            v = (float)(st_tensor_get_i64(x, i) - z) * (float)st_tensor_get_f64(sc, c);
        }
        st_tensor_set_f64(y, i, v);
    }
    return ST_OK;
}

st_status st_nn_prep_dequantize(st_kctx *k, st_error *err) {
    st_status s;
    if ((s = ST_NN_CHECK_DTYPE(k, 0, err, ST_DTYPE_U8, ST_DTYPE_I8, ST_DTYPE_I32, ST_DTYPE_U16,
                               ST_DTYPE_I16, ST_DTYPE_U4, ST_DTYPE_I4, ST_DTYPE_U2, ST_DTYPE_I2,
                               ST_DTYPE_F8E4M3FN, ST_DTYPE_F8E4M3FNUZ, ST_DTYPE_F8E5M2,
                               ST_DTYPE_F8E5M2FNUZ, ST_DTYPE_F4E2M1)) ||
        (s = ST_NN_CHECK_DTYPE(k, 1, err, ST_DTYPE_F32, ST_DTYPE_F16, ST_DTYPE_BF16)))
        return s;
    const st_tensor *x = st_in(k, 0), *sc = st_in(k, 1), *zp = st_in(k, 2);
    if (zp && zp->dtype != x->dtype)
        return st_errorf(err, ST_ERR_INVALID, "x_zero_point must have x's type");
    int64_t odt = st_attr_int(k->node, "output_dtype", 0);
    if (odt && odt != (int64_t)sc->dtype)
        return st_errorf(err, ST_ERR_INVALID, "output_dtype %s differs from the scale's %s",
                         st_dtype_valid((int)odt) ? st_dtype_name((st_dtype)odt) : "(unknown)",
                         st_dtype_name(sc->dtype));
    quant_state *st = st_calloc(1, sizeof *st);
    if (!st) return st_error_nomem(err);
    st->ydt = sc->dtype;
    if ((s = quant_layout(k, x, sc, zp, st, err))) return prep_fail(st, s);
    st_out_declare(k, 0, st->ydt, x->ndim, x->dims);
    k->state = st;
    k->run = run_dequantize;
    return ST_OK;
}

/* ---- DynamicQuantizeLinear -------------------------------------------------------------- */

static st_status run_dynamic_quantize(st_kctx *k, st_error *err) {
    const st_tensor *x = st_in(k, 0);
    st_tensor *y = st_out(k, 0, ST_DTYPE_U8, x->ndim, x->dims, err);
    if (!y) return err->status;
    size_t n = st_tensor_nelem(x);
    const float *xv = x->data;
    float mn = 0.0f, mx = 0.0f; /* the range always includes zero */
    for (size_t i = 0; i < n; i++) {
        if (xv[i] < mn) mn = xv[i];
        if (xv[i] > mx) mx = xv[i];
    }
    float scale = (mx - mn) / 255.0f;
    uint8_t zp = 0;
    if (scale > 0) zp = (uint8_t)st_nn_sat_round((double)nearbyintf(0.0f - mn / scale), 0, 255);
    uint8_t *yv = y->data;
    for (size_t i = 0; i < n; i++)
        yv[i] = scale > 0 ? (uint8_t)st_nn_sat_round((double)nearbyintf(xv[i] / scale) + zp, 0, 255)
                          : zp;
    if (st_has_out(k, 1)) {
        st_tensor *ys = st_out(k, 1, ST_DTYPE_F32, 0, NULL, err);
        if (!ys) return err->status;
        *(float *)ys->data = scale;
    }
    if (st_has_out(k, 2)) {
        st_tensor *yz = st_out(k, 2, ST_DTYPE_U8, 0, NULL, err);
        if (!yz) return err->status;
        *(uint8_t *)yz->data = zp;
    }
    return ST_OK;
}

st_status st_nn_prep_dynamic_quantize(st_kctx *k, st_error *err) {
    st_status s;
    if ((s = ST_NN_CHECK_DTYPE(k, 0, err, ST_DTYPE_F32))) return s;
    const st_tensor *x = st_in(k, 0);
    st_out_declare(k, 0, ST_DTYPE_U8, x->ndim, x->dims);
    st_out_declare(k, 1, ST_DTYPE_F32, 0, NULL);
    st_out_declare(k, 2, ST_DTYPE_U8, 0, NULL);
    k->run = run_dynamic_quantize;
    return ST_OK;
}
