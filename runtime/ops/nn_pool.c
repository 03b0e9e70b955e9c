/* runtime/ops/nn_pool.c: MaxPool (with Indices), AveragePool, LpPool, their Global forms,
 * and MaxUnpool, over any number of spatial dims. Kernels are generated for float and
 * double; float16, bfloat16, int8 and uint8 go through float32 scratch (exact for max). */
#include <math.h>
#include <string.h>

#include "nn_impl.h"

typedef enum { POOL_MAX = 0, POOL_AVG, POOL_LP } pool_kind;

typedef struct pool_state {
    pool_kind kind;
    bool global;
    st_dtype dt;
    int64_t n, c;
    st_nn_win win;
    bool count_pad; /* AveragePool count_include_pad */
    bool col_major; /* MaxPool storage_order 1 */
    double p;       /* LpPool exponent */
    size_t nx, ny;
    /* run-time views for the parallel body */
    const void *x;
    void *y;
    int64_t *idx;
} pool_state;

/* One output element of a windowed pool over plane xc (one (n, c) slice). Window corners
 * outside the input are skipped; the averaging divisor follows count_include_pad. */
#define POOL_REF(name, T)                                                                          \
    static void pool_plane_##name(const pool_state *st, const T *xc, T *yc, int64_t *ic,           \
                                  size_t plane_base) {                                             \
        const st_nn_win *g = &st->win;                                                             \
        int64_t o[ST_NN_MAX_SP] = {0};                                                             \
        for (size_t op = 0; op < g->out_vol; op++) {                                               \
            double acc = st->kind == POOL_MAX ? -INFINITY : 0.0;                                   \
            int64_t best = -1;                                                                     \
            size_t cnt = 0, full = 1;                                                              \
            for (int d = 0; d < g->nsp; d++) { /* window extent inside the padded input */         \
                int64_t s0 = o[d] * g->stride[d] - g->pad0[d];                                     \
                int64_t lim = g->in[d] + g->pad1[d] - s0; /* taps inside the padded input */       \
                full *= lim <= 0 ? 0 : (size_t)ST_MIN(g->k[d], (lim + g->dil[d] - 1) / g->dil[d]); \
            }                                                                                      \
            int64_t kc[ST_NN_MAX_SP] = {0};                                                        \
            for (size_t kp = 0; kp < g->k_vol; kp++) {                                             \
                size_t off = 0, coff = 0, cmul = 1;                                                \
                bool inside = true;                                                                \
                for (int d = 0; d < g->nsp; d++) {                                                 \
                    int64_t ii = o[d] * g->stride[d] - g->pad0[d] + kc[d] * g->dil[d];             \
                    if (ii < 0 || ii >= g->in[d]) {                                                \
                        inside = false;                                                            \
                        break;                                                                     \
                    }                                                                              \
                    off = off * (size_t)g->in[d] + (size_t)ii;                                     \
                    coff += (size_t)ii * cmul;                                                     \
                    cmul *= (size_t)g->in[d];                                                      \
                }                                                                                  \
                for (int d = g->nsp - 1; d >= 0; d--) {                                            \
                    if (++kc[d] < g->k[d]) break;                                                  \
                    kc[d] = 0;                                                                     \
                }                                                                                  \
                if (!inside) continue;                                                             \
                double v = (double)xc[off];                                                        \
                cnt++;                                                                             \
                if (st->kind == POOL_MAX) {                                                        \
                    if (v > acc || best < 0) {                                                     \
                        acc = v;                                                                   \
                        best = (int64_t)(st->col_major ? coff : off);                              \
                    }                                                                              \
                } else if (st->kind == POOL_AVG) {                                                 \
                    acc += v;                                                                      \
                } else {                                                                           \
                    acc += pow(fabs(v), st->p);                                                    \
                }                                                                                  \
            }                                                                                      \
            if (st->kind == POOL_AVG) {                                                            \
                size_t div = st->count_pad ? full : cnt;                                           \
                acc = div ? acc / (double)div : 0.0;                                               \
            } else if (st->kind == POOL_LP) {                                                      \
                acc = pow(acc, 1.0 / st->p);                                                       \
            }                                                                                      \
            yc[op] = (T)acc;                                                                       \
            if (ic) ic[op] = best < 0 ? 0 : (int64_t)plane_base + best;                            \
            for (int d = g->nsp - 1; d >= 0; d--) {                                                \
                if (++o[d] < g->out[d]) break;                                                     \
                o[d] = 0;                                                                          \
            }                                                                                      \
        }                                                                                          \
    }                                                                                              \
    static void global_plane_##name(const pool_state *st, const T *xc, T *yc) {                    \
        size_t n = st->win.in_vol;                                                                 \
        double acc = st->kind == POOL_MAX ? -INFINITY : 0.0;                                       \
        for (size_t i = 0; i < n; i++) {                                                           \
            double v = (double)xc[i];                                                              \
            if (st->kind == POOL_MAX) acc = v > acc ? v : acc;                                     \
            else if (st->kind == POOL_AVG) acc += v;                                               \
            else acc += pow(fabs(v), st->p);                                                       \
        }                                                                                          \
        if (st->kind == POOL_AVG) acc = n ? acc / (double)n : 0.0;                                 \
        else if (st->kind == POOL_LP) acc = pow(acc, 1.0 / st->p);                                 \
        yc[0] = (T)acc;                                                                            \
    }                                                                                              \
    static void pool_body_##name(void *arg, size_t r0, size_t r1) {                                \
        const pool_state *st = arg;                                                                \
        for (size_t r = r0; r < r1; r++) {                                                         \
            const T *xc = (const T *)st->x + r * st->win.in_vol;                                   \
            if (st->global) {                                                                      \
                global_plane_##name(st, xc, (T *)st->y + r);                                       \
                continue;                                                                          \
            }                                                                                      \
            T *yc = (T *)st->y + r * st->win.out_vol;                                              \
            int64_t *ic = st->idx ? st->idx + r * st->win.out_vol : NULL;                          \
            pool_plane_##name(st, xc, yc, ic, r * st->win.in_vol);                                 \
        }                                                                                          \
    }
POOL_REF(f32, float)
POOL_REF(f64, double)

void st_nn_pool_ref_f32(const st_nn_win *w, bool avg, bool count_pad, const float *x, float *y,
                        size_t p0, size_t p1) {
    pool_state st = {
        .kind = avg ? POOL_AVG : POOL_MAX, .win = *w, .count_pad = count_pad, .x = x, .y = y};
    pool_body_f32(&st, p0, p1);
}

void st_nn_pool2d_fast_f32(const st_nn_win *w, bool avg, bool count_pad, const float *x, float *y,
                           size_t p0, size_t p1) {
    int64_t H = w->in[0], W = w->in[1], OH = w->out[0], OW = w->out[1];
    for (size_t p = p0; p < p1; p++) {
        const float *xc = x + p * (size_t)(H * W);
        float *yc = y + p * (size_t)(OH * OW);
        for (int64_t oh = 0; oh < OH; oh++) {
            int64_t hs = oh * w->stride[0] - w->pad0[0];
            int64_t he = ST_MIN(hs + w->k[0], H + w->pad1[0]);
            int64_t h0 = ST_MAX(hs, 0), h1 = ST_MIN(he, H);
            for (int64_t ow = 0; ow < OW; ow++) {
                int64_t ws = ow * w->stride[1] - w->pad0[1];
                int64_t we = ST_MIN(ws + w->k[1], W + w->pad1[1]);
                int64_t w0 = ST_MAX(ws, 0), w1 = ST_MIN(we, W);
                float acc = avg ? 0.0f : -INFINITY;
                for (int64_t i = h0; i < h1; i++) {
                    const float *row = xc + i * W;
                    if (avg)
                        for (int64_t j = w0; j < w1; j++) acc += row[j];
                    else
                        for (int64_t j = w0; j < w1; j++) acc = row[j] > acc ? row[j] : acc;
                }
                if (avg) {
                    int64_t div = count_pad ? (he - hs) * (we - ws) : (h1 - h0) * (w1 - w0);
                    acc = div > 0 ? acc / (float)div : 0.0f;
                }
                yc[oh * OW + ow] = acc;
            }
        }
    }
}

/* Parallel body for the fast 2-D path. */
static void pool2d_fast_body(void *arg, size_t r0, size_t r1) {
    const pool_state *st = arg;
    st_nn_pool2d_fast_f32(&st->win, st->kind == POOL_AVG, st->count_pad, st->x, st->y, r0, r1);
}

static void out_dims(const pool_state *st, int64_t *dims) {
    dims[0] = st->n;
    dims[1] = st->c;
    for (int d = 0; d < st->win.nsp; d++) dims[2 + d] = st->global ? 1 : st->win.out[d];
}

static st_status run_pool(st_kctx *k, st_error *err) {
    pool_state *st = k->state;
    int64_t dims[ST_MAX_RANK];
    out_dims(st, dims);
    int nd = st->win.nsp + 2;
    st_tensor *y = st_out(k, 0, st->dt, nd, dims, err);
    if (!y) return err->status;
    st_tensor *ind = NULL;
    if (st->kind == POOL_MAX && !st->global && st_has_out(k, 1)) {
        ind = st_out(k, 1, ST_DTYPE_I64, nd, dims, err);
        if (!ind) return err->status;
    }
    if (!st->ny) return ST_OK;
    const st_tensor *x = st_in(k, 0);
    size_t rows = (size_t)st->n * (size_t)st->c;
    size_t per = (st->global ? st->win.in_vol : st->win.out_vol * st->win.k_vol) + 1;
    size_t grain = ST_MAX((size_t)1, 32768 / per);
    st->idx = ind ? ind->data : NULL;
    if (st->dt == ST_DTYPE_F64) {
        st->x = x->data, st->y = y->data;
        st_parallel_for(k->pool, rows, grain, pool_body_f64, st);
    } else if (st->dt == ST_DTYPE_F32) {
        st->x = x->data, st->y = y->data;
        bool fast = !st->global && !ind && st->kind != POOL_LP && st->win.nsp == 2 &&
                    st->win.dil[0] == 1 && st->win.dil[1] == 1;
        st_parallel_for(k->pool, rows, grain, fast ? pool2d_fast_body : pool_body_f32, st);
    } else {
        float *fx = k->scratch, *fy = fx + st->nx;
        st_nn_to_f32(st->dt, x->data, fx, st->nx);
        st->x = fx, st->y = fy;
        st_parallel_for(k->pool, rows, grain, pool_body_f32, st);
        st_nn_from_f32(st->dt, fy, y->data, st->ny);
    }
    return ST_OK;
}

static st_status prep_pool(st_kctx *k, pool_kind kind, bool global, st_error *err) {
    st_status s;
    pool_state *st = st_calloc(1, sizeof *st);
    if (!st) return st_error_nomem(err);
    st->kind = kind;
    st->global = global;
    if (kind == POOL_MAX && !global)
        s = ST_NN_CHECK_DTYPE(k, 0, err, ST_DTYPE_F32, ST_DTYPE_F64, ST_DTYPE_F16, ST_DTYPE_BF16,
                              ST_DTYPE_I8, ST_DTYPE_U8);
    else s = ST_NN_CHECK_DTYPE(k, 0, err, ST_DTYPE_F32, ST_DTYPE_F64, ST_DTYPE_F16, ST_DTYPE_BF16);
    if (s) goto fail;
    const st_tensor *x = st_in(k, 0);
    st->dt = x->dtype;
    if (x->ndim < 3) {
        s = st_errorf(err, ST_ERR_INVALID, "X needs rank >= 3 (N, C, spatial...), has %d", x->ndim);
        goto fail;
    }
    st->n = x->dims[0];
    st->c = x->dims[1];
    int nsp = x->ndim - 2;
    if (kind == POOL_LP) {
        const st_attr *pa = st_node_attr(k->node, "p");
        st->p = 2.0;
        if (pa) st->p = pa->kind == ST_ATTR_FLOAT ? pa->f : (double)pa->i;
        if (!(st->p > 0)) {
            s = st_errorf(err, ST_ERR_INVALID, "p must be positive");
            goto fail;
        }
    }
    if (global) {
        memset(&st->win, 0, sizeof st->win);
        st->win.nsp = nsp;
        for (int d = 0; d < nsp; d++)
            st->win.in[d] = x->dims[2 + d], st->win.out[d] = 1, st->win.k[d] = x->dims[2 + d];
        if ((s = st_nn_win_finish(&st->win, err))) goto fail;
    } else {
        st_nn_win_opts o = {.ceil_mode = st_attr_int(k->node, "ceil_mode", 0) != 0,
                            /* AveragePool from 19, LpPool from 18 */
                            .has_dilations = kind == POOL_MAX ||
                                             (kind == POOL_AVG && k->opset >= 19) ||
                                             (kind == POOL_LP && k->opset >= 18)};
        if ((s = st_nn_win_parse(k, nsp, x->dims + 2, &o, &st->win, err))) goto fail;
        st->count_pad = st_attr_int(k->node, "count_include_pad", 0) != 0;
        st->col_major = st_attr_int(k->node, "storage_order", 0) != 0;
    }
    int64_t dims[ST_MAX_RANK];
    out_dims(st, dims);
    if ((s = st_shape_nelem(x->ndim, x->dims, &st->nx, err)) ||
        (s = st_shape_nelem(x->ndim, dims, &st->ny, err)))
        goto fail;
    if (st->dt != ST_DTYPE_F32 && st->dt != ST_DTYPE_F64) {
        size_t n, bytes;
        if (!st_add_ok(st->nx, st->ny, &n) || !st_mul_ok(n, sizeof(float), &bytes)) {
            s = st_errorf(err, ST_ERR_LIMIT, "pool too large");
            goto fail;
        }
        k->scratch_bytes = bytes;
    }
    st_out_declare(k, 0, st->dt, x->ndim, dims);
    if (kind == POOL_MAX && !global && k->n_out > 1)
        st_out_declare(k, 1, ST_DTYPE_I64, x->ndim, dims);
    k->state = st;
    k->run = run_pool;
    return ST_OK;
fail:
    st_free(st);
    return s;
}

st_status st_nn_prep_maxpool(st_kctx *k, st_error *err) {
    return prep_pool(k, POOL_MAX, false, err);
}
st_status st_nn_prep_avgpool(st_kctx *k, st_error *err) {
    return prep_pool(k, POOL_AVG, false, err);
}
st_status st_nn_prep_lppool(st_kctx *k, st_error *err) { return prep_pool(k, POOL_LP, false, err); }
st_status st_nn_prep_global_maxpool(st_kctx *k, st_error *err) {
    return prep_pool(k, POOL_MAX, true, err);
}
st_status st_nn_prep_global_avgpool(st_kctx *k, st_error *err) {
    return prep_pool(k, POOL_AVG, true, err);
}
st_status st_nn_prep_global_lppool(st_kctx *k, st_error *err) {
    return prep_pool(k, POOL_LP, true, err);
}

/* ---- MaxUnpool -------------------------------------------------------------------------- */

typedef struct unpool_state {
    int ndim;
    int64_t dims[ST_MAX_RANK]; /* output shape when known at prepare */
    bool known;
} unpool_state;

/* Output shape: output_shape input if given, else the inverse of the pooling formula. */
static st_status unpool_shape(const st_kctx *k, bool use_input, int *ndim, int64_t *dims,
                              st_error *err) {
    const st_tensor *x = st_in(k, 0), *os = use_input ? st_in(k, 2) : NULL;
    if (os) {
        size_t n = st_tensor_nelem(os);
        if (os->ndim != 1 || n != (size_t)x->ndim)
            return st_errorf(err, ST_ERR_INVALID, "output_shape must have %d values", x->ndim);
        for (size_t i = 0; i < n; i++) {
            dims[i] = st_tensor_get_i64(os, i);
            if (dims[i] < 0) return st_errorf(err, ST_ERR_INVALID, "negative output_shape");
        }
        *ndim = x->ndim;
        return ST_OK;
    }
    const int64_t *ks, *sv, *pv;
    int nsp = x->ndim - 2;
    size_t nks = st_attr_ints(k->node, "kernel_shape", &ks);
    size_t ns = st_attr_ints(k->node, "strides", &sv);
    size_t np = st_attr_ints(k->node, "pads", &pv);
    if (nks != (size_t)nsp || (ns && ns != (size_t)nsp) || (np && np != 2 * (size_t)nsp))
        return st_errorf(err, ST_ERR_INVALID,
                         "kernel_shape/strides/pads do not match %d spatial dims", nsp);
    dims[0] = x->dims[0];
    dims[1] = x->dims[1];
    for (int d = 0; d < nsp; d++) {
        int64_t s = ns ? sv[d] : 1, p = np ? pv[d] + pv[d + nsp] : 0;
        if (s < 1 || s > (1 << 30) || ks[d] < 1 || ks[d] > (1 << 30) ||
            x->dims[2 + d] > ((int64_t)1 << 40))
            return st_errorf(err, ST_ERR_INVALID, "bad kernel_shape or strides");
        dims[2 + d] = (x->dims[2 + d] - 1) * s + ks[d] - p;
        if (dims[2 + d] < 0) return st_errorf(err, ST_ERR_INVALID, "negative output size");
    }
    *ndim = x->ndim;
    return ST_OK;
}

static st_status run_maxunpool(st_kctx *k, st_error *err) {
    unpool_state *st = k->state;
    int ndim = st->ndim;
    int64_t dims[ST_MAX_RANK];
    memcpy(dims, st->dims, sizeof dims);
    st_status s;
    if (!st->known && (s = unpool_shape(k, true, &ndim, dims, err))) return s;
    /* indices address the unpadded inverse-pool shape; map them into output_shape */
    int64_t def[ST_MAX_RANK];
    int dn;
    if ((s = unpool_shape(k, false, &dn, def, err))) return s;
    bool remap = memcmp(def, dims, (size_t)ndim * sizeof(int64_t)) != 0;
    size_t ndef;
    if ((s = st_shape_nelem(dn, def, &ndef, err))) return s;
    const st_tensor *x = st_in(k, 0), *ind = st_in(k, 1);
    st_tensor *y = st_out(k, 0, x->dtype, ndim, dims, err);
    if (!y) return err->status;
    size_t ny = st_tensor_nelem(y), nx = st_tensor_nelem(x), esz = st_dtype_size(x->dtype);
    memset(y->data, 0, ny * esz);
    const int64_t *iv = ind->data;
    for (size_t i = 0; i < nx; i++) {
        if (iv[i] < 0 || (uint64_t)iv[i] >= ndef)
            return st_errorf(err, ST_ERR_INVALID, "index %lld is outside the output (%zu elements)",
                             (long long)iv[i], ndef);
        size_t at = (size_t)iv[i];
        if (remap) {
            size_t rem = at, mul = 1;
            bool inside = true;
            at = 0;
            for (int d = ndim - 1; d >= 0; d--) {
                int64_t c = (int64_t)(rem % (size_t)def[d]);
                rem /= (size_t)def[d];
                if (c >= dims[d]) inside = false;
                at += (size_t)c * mul;
                mul *= (size_t)dims[d];
            }
            if (!inside) continue;
        }
        memcpy((char *)y->data + at * esz, (const char *)x->data + i * esz, esz);
    }
    return ST_OK;
}

st_status st_nn_prep_maxunpool(st_kctx *k, st_error *err) {
    st_status s;
    if ((s = ST_NN_CHECK_DTYPE(k, 0, err, ST_DTYPE_F32, ST_DTYPE_F64, ST_DTYPE_F16,
                               ST_DTYPE_BF16)) ||
        (s = ST_NN_CHECK_DTYPE(k, 1, err, ST_DTYPE_I64)))
        return s;
    const st_tensor *x = st_in(k, 0), *ind = st_in(k, 1);
    if (x->ndim < 3) return st_errorf(err, ST_ERR_INVALID, "X needs rank >= 3");
    if (st_tensor_nelem(ind) != st_tensor_nelem(x))
        return st_errorf(err, ST_ERR_INVALID, "I must have X's shape");
    unpool_state *st = st_calloc(1, sizeof *st);
    if (!st) return st_error_nomem(err);
    if (!st_has_in(k, 2) || st_in_const(k, 2)) {
        if ((s = unpool_shape(k, true, &st->ndim, st->dims, err))) {
            st_free(st);
            return s;
        }
        st->known = true;
        st_out_declare(k, 0, x->dtype, st->ndim, st->dims);
    } else { /* output_shape at run time: batch and channels still follow X */
        int64_t dims[ST_MAX_RANK];
        for (int d = 0; d < x->ndim; d++) dims[d] = d < 2 ? x->dims[d] : -1;
        st_out_declare_type(k, 0, x->dtype, x->ndim, dims);
    }
    k->state = st;
    k->run = run_maxunpool;
    return ST_OK;
}
