/* runtime/ops/nn_norm.c: BatchNormalization (inference and training statistics),
 * InstanceNormalization, LayerNormalization, LRN, MeanVarianceNormalization and Dropout.
 * Statistics accumulate in double; the per-element loops are generated for float and
 * double, and float16 / bfloat16 pass through float32 scratch. */
#include <math.h>
#include <string.h>

#include "nn_impl.h"

/* Working views: X converted to float/double when it is a half type. */
typedef struct norm_io {
    st_dtype dt; /* compute type: F32 or F64 */
    const void *x;
    void *y;
} norm_io;

/* Bring X into a float32 / float64 buffer: direct for those, scratch for half types. */
static void norm_begin(const st_tensor *x, st_tensor *y, void *scratch, size_t n, norm_io *io) {
    if (x->dtype == ST_DTYPE_F64 || x->dtype == ST_DTYPE_F32) {
        io->dt = x->dtype;
        io->x = x->data;
        io->y = y->data;
        return;
    }
    float *fx = scratch, *fy = fx + n;
    st_nn_to_f32(x->dtype, x->data, fx, n);
    io->dt = ST_DTYPE_F32;
    io->x = fx;
    io->y = fy;
}
static void norm_end(st_tensor *y, size_t n, const norm_io *io) {
    if (io->y != y->data) st_nn_from_f32(y->dtype, io->y, y->data, n);
}
static st_status half_scratch(st_kctx *k, st_dtype dt, size_t n, st_error *err) {
    size_t bytes;
    if (dt == ST_DTYPE_F32 || dt == ST_DTYPE_F64) return ST_OK;
    if (!st_mul_ok(n, 2 * sizeof(float), &bytes))
        return st_errorf(err, ST_ERR_LIMIT, "tensor too large");
    k->scratch_bytes = bytes;
    return ST_OK;
}

/* Read a small parameter tensor (scale, bias, mean, var) of any float type as double. */
static void param_f64(const st_tensor *t, double *dst, size_t n) {
    if (!t) {
        for (size_t i = 0; i < n; i++) dst[i] = 0;
        return;
    }
    st_nn_to_f64(t->dtype, t->data, dst, n);
}

/* ---- per-channel affine: y = x * a[c] + b[c] over planes of size inner ------------------ */
#define AFFINE(name, T)                                                                            \
    static void affine_##name(const T *x, T *y, const double *a, const double *b, size_t outer,    \
                              size_t ch, size_t inner) {                                           \
        for (size_t o = 0; o < outer; o++)                                                         \
            for (size_t c = 0; c < ch; c++) {                                                      \
                const T *xp = x + (o * ch + c) * inner;                                            \
                T *yp = y + (o * ch + c) * inner;                                                  \
                T av = (T)a[c], bv = (T)b[c];                                                      \
                for (size_t i = 0; i < inner; i++) yp[i] = xp[i] * av + bv;                        \
            }                                                                                      \
    }                                                                                              \
    /* mean and population variance of each channel over (outer, inner) */                         \
    static void chan_stats_##name(const T *x, double *mean, double *var, size_t outer, size_t ch,  \
                                  size_t inner) {                                                  \
        for (size_t c = 0; c < ch; c++) {                                                          \
            double s = 0, q = 0;                                                                   \
            for (size_t o = 0; o < outer; o++) {                                                   \
                const T *xp = x + (o * ch + c) * inner;                                            \
                for (size_t i = 0; i < inner; i++) s += (double)xp[i];                             \
            }                                                                                      \
            double cnt = (double)(outer * inner), m = cnt > 0 ? s / cnt : 0;                       \
            for (size_t o = 0; o < outer; o++) {                                                   \
                const T *xp = x + (o * ch + c) * inner;                                            \
                for (size_t i = 0; i < inner; i++) q += ((double)xp[i] - m) * ((double)xp[i] - m); \
            }                                                                                      \
            mean[c] = m;                                                                           \
            var[c] = cnt > 0 ? q / cnt : 0;                                                        \
        }                                                                                          \
    }
AFFINE(f32, float)
AFFINE(f64, double)

static void affine(const norm_io *io, const double *a, const double *b, size_t outer, size_t ch,
                   size_t inner) {
    if (io->dt == ST_DTYPE_F64) affine_f64(io->x, io->y, a, b, outer, ch, inner);
    else affine_f32(io->x, io->y, a, b, outer, ch, inner);
}
static void chan_stats(const norm_io *io, double *m, double *v, size_t outer, size_t ch,
                       size_t inner) {
    if (io->dt == ST_DTYPE_F64) chan_stats_f64(io->x, m, v, outer, ch, inner);
    else chan_stats_f32(io->x, m, v, outer, ch, inner);
}

/* ---- per-channel normalizations (X is [N, C, spatial...]) ------------------------------- */

/* The head of BatchNormalization's and InstanceNormalization's state: X's geometry,
 * epsilon and a buffer of per-channel doubles. */
typedef struct chan_norm {
    size_t n, c, inner, total;
    double eps;
    double *buf;
} chan_norm;

static void chan_norm_free(void *p) {
    chan_norm *h = p;
    if (h) st_free(h->buf);
    st_free(h);
}

/* Allocate a state of `size` bytes that begins with a chan_norm, fill in X's geometry and
 * epsilon, per_c doubles per channel of buffer, and float32 scratch for half types. */
static st_status chan_norm_prepare(st_kctx *k, const st_tensor *x, size_t size, size_t per_c,
                                   chan_norm **out, st_error *err) {
    st_status s;
    chan_norm *h = st_calloc(1, size);
    if (!h) return st_error_nomem(err);
    h->n = (size_t)x->dims[0];
    h->c = (size_t)x->dims[1];
    h->eps = st_attr_float(k->node, "epsilon", 1e-5);
    if ((s = st_shape_nelem(x->ndim - 2, x->dims + 2, &h->inner, err)) ||
        (s = st_shape_nelem(x->ndim, x->dims, &h->total, err)))
        goto fail;
    h->buf = st_calloc(per_c * h->c + 1, sizeof(double));
    if (!h->buf) {
        s = st_error_nomem(err);
        goto fail;
    }
    if ((s = half_scratch(k, x->dtype, h->total, err))) goto fail;
    *out = h;
    return ST_OK;
fail:
    chan_norm_free(h);
    return s;
}

/* Y has X's type and shape; the state is freed with chan_norm_free. */
static void chan_norm_install(st_kctx *k, const st_tensor *x, chan_norm *h, st_run_fn run) {
    st_out_declare(k, 0, x->dtype, x->ndim, x->dims);
    k->state = h;
    k->state_free = chan_norm_free;
    k->run = run;
}

/* ---- BatchNormalization ----------------------------------------------------------------- */

typedef struct bn_state {
    chan_norm h; /* buf: 8 * C doubles: scale, bias, mean, var, a, b, cur mean, cur var */
    double momentum;
    bool training;
} bn_state;

static st_status run_batchnorm(st_kctx *k, st_error *err) {
    bn_state *st = k->state;
    const st_tensor *x = st_in(k, 0);
    st_tensor *y = st_out(k, 0, x->dtype, x->ndim, x->dims, err);
    if (!y) return err->status;
    size_t C = st->h.c;
    double *sc = st->h.buf, *bi = sc + C, *mu = bi + C, *va = mu + C, *a = va + C, *b = a + C;
    double *cm = b + C, *cv = cm + C;
    param_f64(st_in(k, 1), sc, C);
    param_f64(st_in(k, 2), bi, C);
    param_f64(st_in(k, 3), mu, C);
    param_f64(st_in(k, 4), va, C);
    norm_io io;
    norm_begin(x, y, k->scratch, st->h.total, &io);
    if (st->training) chan_stats(&io, cm, cv, st->h.n, C, st->h.inner);
    for (size_t c = 0; c < C; c++) {
        double m = st->training ? cm[c] : mu[c], v = st->training ? cv[c] : va[c];
        a[c] = sc[c] / sqrt(v + st->h.eps);
        b[c] = bi[c] - m * a[c];
    }
    affine(&io, a, b, st->h.n, C, st->h.inner);
    norm_end(y, st->h.total, &io);
    if (!st->training) return ST_OK;
    /* opset 14+: running mean / var; earlier: mean, var, saved_mean, saved_var */
    for (int o = 1; o < k->n_out; o++) {
        if (!st_has_out(k, o)) continue;
        const st_tensor *ref = st_in(k, o == 1 || o == 3 ? 3 : 4);
        int64_t d = (int64_t)C;
        st_tensor *t = st_out(k, o, ref->dtype, 1, &d, err);
        if (!t) return err->status;
        for (size_t c = 0; c < C; c++) {
            double v;
            if (o == 1) v = mu[c] * st->momentum + cm[c] * (1 - st->momentum);
            else if (o == 2) v = va[c] * st->momentum + cv[c] * (1 - st->momentum);
            else if (o == 3) v = cm[c];
            else v = cv[c];
            st_tensor_set_f64(t, c, v);
        }
    }
    return ST_OK;
}

st_status st_nn_prep_batchnorm(st_kctx *k, st_error *err) {
    st_status s;
    if ((s = ST_NN_CHECK_DTYPE(k, 0, err, ST_DTYPE_F32, ST_DTYPE_F64, ST_DTYPE_F16, ST_DTYPE_BF16)))
        return s;
    const st_tensor *x = st_in(k, 0);
    if (x->ndim < 2) return st_errorf(err, ST_ERR_INVALID, "X needs rank >= 2, has %d", x->ndim);
    for (int i = 1; i <= 4; i++) {
        const st_tensor *p = st_in(k, i);
        if (!p || !st_dtype_is_float(p->dtype) || p->ndim != 1 || p->dims[0] != x->dims[1])
            return st_errorf(err, ST_ERR_INVALID,
                             "input %d must be a float vector of %lld channels", i,
                             (long long)x->dims[1]);
    }
    chan_norm *h;
    if ((s = chan_norm_prepare(k, x, sizeof(bn_state), 8, &h, err))) return s;
    bn_state *st = (bn_state *)h;
    st->momentum = st_attr_float(k->node, "momentum", 0.9);
    if (k->opset >= 14) st->training = st_attr_int(k->node, "training_mode", 0) != 0;
    else
        st->training =
            (k->opset >= 7 || st_attr_int(k->node, "is_test", 0) == 0) && st_has_out(k, 1);
    chan_norm_install(k, x, h, run_batchnorm);
    /* training outputs: running (or saved) mean and variance, one per channel */
    for (int o = 1; st->training && o < k->n_out && o <= 4; o++)
        if (st_has_out(k, o))
            st_out_declare(k, o, st_in(k, o == 1 || o == 3 ? 3 : 4)->dtype, 1, &x->dims[1]);
    return ST_OK;
}

/* ---- InstanceNormalization -------------------------------------------------------------- */

static st_status run_instancenorm(st_kctx *k, st_error *err) {
    chan_norm *st = k->state; /* buf: scale, bias, a, b (4 * C), mean, var (2 * C) */
    const st_tensor *x = st_in(k, 0);
    st_tensor *y = st_out(k, 0, x->dtype, x->ndim, x->dims, err);
    if (!y) return err->status;
    size_t C = st->c;
    double *sc = st->buf, *bi = sc + C, *a = bi + C, *b = a + C, *m = b + C, *v = m + C;
    param_f64(st_in(k, 1), sc, C);
    param_f64(st_in(k, 2), bi, C);
    norm_io io;
    norm_begin(x, y, k->scratch, st->total, &io);
    for (size_t n = 0; n < st->n; n++) {
        norm_io one = io;
        size_t esz = io.dt == ST_DTYPE_F64 ? 8 : 4, off = n * C * st->inner * esz;
        one.x = (const char *)io.x + off;
        one.y = (char *)io.y + off;
        chan_stats(&one, m, v, 1, C, st->inner);
        for (size_t c = 0; c < C; c++) {
            a[c] = sc[c] / sqrt(v[c] + st->eps);
            b[c] = bi[c] - m[c] * a[c];
        }
        affine(&one, a, b, 1, C, st->inner);
    }
    norm_end(y, st->total, &io);
    return ST_OK;
}

st_status st_nn_prep_instancenorm(st_kctx *k, st_error *err) {
    st_status s;
    if ((s = ST_NN_CHECK_DTYPE(k, 0, err, ST_DTYPE_F32, ST_DTYPE_F64, ST_DTYPE_F16, ST_DTYPE_BF16)))
        return s;
    const st_tensor *x = st_in(k, 0);
    if (x->ndim < 3) return st_errorf(err, ST_ERR_INVALID, "X needs rank >= 3, has %d", x->ndim);
    for (int i = 1; i <= 2; i++) {
        const st_tensor *p = st_in(k, i);
        if (!p || p->dtype != x->dtype || p->ndim != 1 || p->dims[0] != x->dims[1])
            return st_errorf(err, ST_ERR_INVALID, "input %d must be a vector of %lld channels", i,
                             (long long)x->dims[1]);
    }
    chan_norm *h;
    if ((s = chan_norm_prepare(k, x, sizeof *h, 6, &h, err))) return s;
    chan_norm_install(k, x, h, run_instancenorm);
    return ST_OK;
}

/* ---- LayerNormalization ----------------------------------------------------------------- */

typedef struct lnorm_state {
    int axis;
    size_t outer, inner, total;
    double eps;
    st_dtype udt;                                 /* Mean / InvStdDev type */
    int64_t sdims[ST_MAX_RANK];                   /* stats shape */
    int64_t wstr[ST_MAX_RANK], bstr[ST_MAX_RANK]; /* Scale / B strides over inner dims */
    int nin;                                      /* inner rank */
    int64_t idims[ST_MAX_RANK];
} lnorm_state;

#define LNORM(name, T)                                                                             \
    static void lnorm_##name(const lnorm_state *st, const T *x, T *y, const T *w, const T *b,      \
                             double *mo, double *io) {                                             \
        for (size_t o = 0; o < st->outer; o++) {                                                   \
            const T *xr = x + o * st->inner;                                                       \
            T *yr = y + o * st->inner;                                                             \
            double s = 0, q = 0;                                                                   \
            for (size_t i = 0; i < st->inner; i++) s += (double)xr[i];                             \
            double m = st->inner ? s / (double)st->inner : 0;                                      \
            for (size_t i = 0; i < st->inner; i++) q += ((double)xr[i] - m) * ((double)xr[i] - m); \
            double inv = 1.0 / sqrt((st->inner ? q / (double)st->inner : 0) + st->eps);            \
            int64_t ix[ST_MAX_RANK] = {0};                                                         \
            for (size_t i = 0; i < st->inner; i++) {                                               \
                int64_t wi = 0, bi = 0;                                                            \
                for (int d = 0; d < st->nin; d++)                                                  \
                    wi += ix[d] * st->wstr[d], bi += ix[d] * st->bstr[d];                          \
                double v = ((double)xr[i] - m) * inv * (double)w[wi];                              \
                if (b) v += (double)b[bi];                                                         \
                yr[i] = (T)v;                                                                      \
                for (int d = st->nin - 1; d >= 0; d--) {                                           \
                    if (++ix[d] < st->idims[d]) break;                                             \
                    ix[d] = 0;                                                                     \
                }                                                                                  \
            }                                                                                      \
            mo[o] = m;                                                                             \
            io[o] = inv;                                                                           \
        }                                                                                          \
    }
LNORM(f32, float)
LNORM(f64, double)

static st_status run_layernorm(st_kctx *k, st_error *err) {
    lnorm_state *st = k->state;
    const st_tensor *x = st_in(k, 0), *w = st_in(k, 1), *b = st_in(k, 2);
    int r = x->ndim;
    st_tensor *y = st_out(k, 0, x->dtype, r, x->dims, err);
    if (!y) return err->status;
    st_tensor *tm = NULL, *ti = NULL;
    if (st_has_out(k, 1) && !(tm = st_out(k, 1, st->udt, r, st->sdims, err))) return err->status;
    if (st_has_out(k, 2) && !(ti = st_out(k, 2, st->udt, r, st->sdims, err))) return err->status;
    double *mo = k->scratch, *io = mo + st->outer;
    if (x->dtype == ST_DTYPE_F64) {
        lnorm_f64(st, x->data, y->data, w->data, b ? b->data : NULL, mo, io);
    } else if (x->dtype == ST_DTYPE_F32) {
        lnorm_f32(st, x->data, y->data, w->data, b ? b->data : NULL, mo, io);
    } else {
        float *fx = (float *)(io + st->outer), *fy = fx + st->total;
        float *fw = fy + st->total, *fb = fw + st_tensor_nelem(w);
        st_nn_to_f32(x->dtype, x->data, fx, st->total);
        st_nn_to_f32(x->dtype, w->data, fw, st_tensor_nelem(w));
        if (b) st_nn_to_f32(x->dtype, b->data, fb, st_tensor_nelem(b));
        lnorm_f32(st, fx, fy, fw, b ? fb : NULL, mo, io);
        st_nn_from_f32(x->dtype, fy, y->data, st->total);
    }
    if (tm) st_nn_from_f64(st->udt, mo, tm->data, st->outer);
    if (ti) st_nn_from_f64(st->udt, io, ti->data, st->outer);
    return ST_OK;
}

/* Unidirectional broadcast strides of p into the inner dims (p's rank <= inner rank). */
static st_status inner_strides(const st_tensor *p, const lnorm_state *st, int64_t *str,
                               const char *what, st_error *err) {
    if (p->ndim > st->nin)
        return st_errorf(err, ST_ERR_INVALID, "%s has rank %d, more than the normalized %d", what,
                         p->ndim, st->nin);
    for (int d = 0; d < p->ndim; d++) {
        int64_t pd = p->dims[p->ndim - 1 - d], id = st->idims[st->nin - 1 - d];
        if (pd != id && pd != 1)
            return st_errorf(err, ST_ERR_INVALID, "%s cannot broadcast to the normalized shape",
                             what);
    }
    st_broadcast_strides(p, st->nin, st->idims, str);
    return ST_OK;
}

st_status st_nn_prep_layernorm(st_kctx *k, st_error *err) {
    st_status s;
    if ((s = ST_NN_CHECK_DTYPE(k, 0, err, ST_DTYPE_F32, ST_DTYPE_F64, ST_DTYPE_F16, ST_DTYPE_BF16)))
        return s;
    const st_tensor *x = st_in(k, 0), *w = st_in(k, 1), *b = st_in(k, 2);
    if (!w || w->dtype != x->dtype || (b && b->dtype != x->dtype))
        return st_errorf(err, ST_ERR_INVALID, "Scale (and B) must have X's type");
    lnorm_state *st = st_calloc(1, sizeof *st);
    if (!st) return st_error_nomem(err);
    if ((s = st_norm_axis(st_attr_int(k->node, "axis", -1), x->ndim, &st->axis, err))) goto fail;
    if (x->ndim == 0) {
        s = st_errorf(err, ST_ERR_INVALID, "X must have rank >= 1");
        goto fail;
    }
    st->eps = st_attr_float(k->node, "epsilon", 1e-5);
    int64_t stash = st_attr_int(k->node, "stash_type", 1);
    st->udt = stash == ST_DTYPE_BF16  ? ST_DTYPE_BF16
              : stash == ST_DTYPE_F64 ? ST_DTYPE_F64
                                      : ST_DTYPE_F32;
    st->nin = x->ndim - st->axis;
    memcpy(st->idims, x->dims + st->axis, (size_t)st->nin * sizeof(int64_t));
    for (int d = 0; d < x->ndim; d++) st->sdims[d] = d < st->axis ? x->dims[d] : 1;
    if ((s = st_shape_nelem(st->axis, x->dims, &st->outer, err)) ||
        (s = st_shape_nelem(st->nin, st->idims, &st->inner, err)) ||
        (s = st_shape_nelem(x->ndim, x->dims, &st->total, err)) ||
        (s = inner_strides(w, st, st->wstr, "Scale", err)) ||
        (b && (s = inner_strides(b, st, st->bstr, "B", err))))
        goto fail;
    size_t bytes = 2 * st->outer * sizeof(double) + 8;
    if (st_nn_is_half(x->dtype))
        bytes +=
            (2 * st->total + st_tensor_nelem(w) + (b ? st_tensor_nelem(b) : 0)) * sizeof(float);
    k->scratch_bytes = bytes;
    st_out_declare(k, 0, x->dtype, x->ndim, x->dims);
    if (k->n_out > 1) st_out_declare(k, 1, st->udt, x->ndim, st->sdims);
    if (k->n_out > 2) st_out_declare(k, 2, st->udt, x->ndim, st->sdims);
    k->state = st;
    k->run = run_layernorm;
    return ST_OK;
fail:
    st_free(st);
    return s;
}

/* ---- LRN -------------------------------------------------------------------------------- */

typedef struct lrn_state {
    int64_t size;
    double alpha, beta, bias;
    size_t n, c, inner, total;
} lrn_state;

#define LRN(name, T)                                                                         \
    static void lrn_##name(const lrn_state *st, const T *x, T *y) {                          \
        int64_t lo = (st->size - 1) / 2, hi = st->size - 1 - lo; /* floor / ceil halves */   \
        for (size_t n = 0; n < st->n; n++)                                                   \
            for (size_t c = 0; c < st->c; c++)                                               \
                for (size_t i = 0; i < st->inner; i++) {                                     \
                    double sq = 0;                                                           \
                    int64_t c0 = ST_MAX((int64_t)c - lo, 0);                                 \
                    int64_t c1 = ST_MIN((int64_t)c + hi, (int64_t)st->c - 1);                \
                    for (int64_t j = c0; j <= c1; j++) {                                     \
                        double v = (double)x[(n * st->c + (size_t)j) * st->inner + i];       \
                        sq += v * v;                                                         \
                    }                                                                        \
                    size_t o = (n * st->c + c) * st->inner + i;                              \
                    y[o] = (T)((double)x[o] /                                                \
                               pow(st->bias + st->alpha / (double)st->size * sq, st->beta)); \
                }                                                                            \
    }
LRN(f32, float)
LRN(f64, double)

static st_status run_lrn(st_kctx *k, st_error *err) {
    lrn_state *st = k->state;
    const st_tensor *x = st_in(k, 0);
    st_tensor *y = st_out(k, 0, x->dtype, x->ndim, x->dims, err);
    if (!y) return err->status;
    norm_io io;
    norm_begin(x, y, k->scratch, st->total, &io);
    if (io.dt == ST_DTYPE_F64) lrn_f64(st, io.x, io.y);
    else lrn_f32(st, io.x, io.y);
    norm_end(y, st->total, &io);
    return ST_OK;
}

st_status st_nn_prep_lrn(st_kctx *k, st_error *err) {
    st_status s;
    if ((s = ST_NN_CHECK_DTYPE(k, 0, err, ST_DTYPE_F32, ST_DTYPE_F64, ST_DTYPE_F16, ST_DTYPE_BF16)))
        return s;
    const st_tensor *x = st_in(k, 0);
    if (x->ndim < 2) return st_errorf(err, ST_ERR_INVALID, "X needs rank >= 2");
    lrn_state *st = st_calloc(1, sizeof *st);
    if (!st) return st_error_nomem(err);
    st->size = st_attr_int(k->node, "size", 0);
    if (st->size < 1) {
        s = st_errorf(err, ST_ERR_INVALID, "size must be a positive integer");
        goto fail;
    }
    st->alpha = st_attr_float(k->node, "alpha", 1e-4);
    st->beta = st_attr_float(k->node, "beta", 0.75);
    st->bias = st_attr_float(k->node, "bias", 1.0);
    st->n = (size_t)x->dims[0];
    st->c = (size_t)x->dims[1];
    if ((s = st_shape_nelem(x->ndim - 2, x->dims + 2, &st->inner, err)) ||
        (s = st_shape_nelem(x->ndim, x->dims, &st->total, err)) ||
        (s = half_scratch(k, x->dtype, st->total, err)))
        goto fail;
    st_out_declare(k, 0, x->dtype, x->ndim, x->dims);
    k->state = st;
    k->run = run_lrn;
    return ST_OK;
fail:
    st_free(st);
    return s;
}

/* ---- MeanVarianceNormalization ---------------------------------------------------------- */

typedef struct mvn_state {
    int ndim;
    int64_t dims[ST_MAX_RANK];
    bool reduced[ST_MAX_RANK];
    size_t total, groups; /* groups: elements of the kept shape */
} mvn_state;

/* Index of element i's group (its coordinates on the kept axes). */
static size_t mvn_group(const mvn_state *st, size_t i) {
    size_t g = 0, mul = 1;
    for (int d = st->ndim - 1; d >= 0; d--) {
        size_t c = i % (size_t)st->dims[d];
        i /= (size_t)st->dims[d];
        if (!st->reduced[d]) g += c * mul, mul *= (size_t)st->dims[d];
    }
    return g;
}

#define MVN(name, T)                                                                       \
    static void mvn_##name(const mvn_state *st, const T *x, T *y, double *sum, double *sq, \
                           size_t *cnt) {                                                  \
        for (size_t g = 0; g < st->groups; g++) sum[g] = sq[g] = 0, cnt[g] = 0;            \
        for (size_t i = 0; i < st->total; i++) {                                           \
            size_t g = mvn_group(st, i);                                                   \
            sum[g] += (double)x[i];                                                        \
            sq[g] += (double)x[i] * (double)x[i];                                          \
            cnt[g]++;                                                                      \
        }                                                                                  \
        for (size_t g = 0; g < st->groups; g++) {                                          \
            double m = cnt[g] ? sum[g] / (double)cnt[g] : 0;                               \
            double v = cnt[g] ? sq[g] / (double)cnt[g] - m * m : 0;                        \
            sum[g] = m;                                                                    \
            sq[g] = sqrt(v > 0 ? v : 0) + 1e-9;                                            \
        }                                                                                  \
        for (size_t i = 0; i < st->total; i++) {                                           \
            size_t g = mvn_group(st, i);                                                   \
            y[i] = (T)(((double)x[i] - sum[g]) / sq[g]);                                   \
        }                                                                                  \
    }
MVN(f32, float)
MVN(f64, double)

static st_status run_mvn(st_kctx *k, st_error *err) {
    mvn_state *st = k->state;
    const st_tensor *x = st_in(k, 0);
    st_tensor *y = st_out(k, 0, x->dtype, x->ndim, x->dims, err);
    if (!y) return err->status;
    double *sum = k->scratch, *sq = sum + st->groups;
    size_t *cnt = (size_t *)(sq + st->groups);
    norm_io io;
    norm_begin(x, y, cnt + st->groups, st->total, &io);
    if (io.dt == ST_DTYPE_F64) mvn_f64(st, io.x, io.y, sum, sq, cnt);
    else mvn_f32(st, io.x, io.y, sum, sq, cnt);
    norm_end(y, st->total, &io);
    return ST_OK;
}

st_status st_nn_prep_mvn(st_kctx *k, st_error *err) {
    st_status s;
    if ((s = ST_NN_CHECK_DTYPE(k, 0, err, ST_DTYPE_F32, ST_DTYPE_F64, ST_DTYPE_F16, ST_DTYPE_BF16)))
        return s;
    const st_tensor *x = st_in(k, 0);
    mvn_state *st = st_calloc(1, sizeof *st);
    if (!st) return st_error_nomem(err);
    st->ndim = x->ndim;
    memcpy(st->dims, x->dims, sizeof st->dims);
    const int64_t *ax;
    static const int64_t def_axes[] = {0, 2, 3};
    size_t nax = st_attr_ints(k->node, "axes", &ax);
    if (!st_node_attr(k->node, "axes")) ax = def_axes, nax = 3;
    for (size_t i = 0; i < nax; i++) {
        int a;
        if ((s = st_norm_axis(ax[i], x->ndim, &a, err))) goto fail;
        st->reduced[a] = true;
    }
    st->groups = 1;
    for (int d = 0; d < x->ndim; d++)
        if (!st->reduced[d]) st->groups *= (size_t)x->dims[d];
    if ((s = st_shape_nelem(x->ndim, x->dims, &st->total, err))) goto fail;
    size_t bytes = st->groups * (2 * sizeof(double) + sizeof(size_t)) + 8;
    if (st_nn_is_half(x->dtype)) bytes += 2 * st->total * sizeof(float);
    k->scratch_bytes = bytes;
    st_out_declare(k, 0, x->dtype, x->ndim, x->dims);
    k->state = st;
    k->run = run_mvn;
    return ST_OK;
fail:
    st_free(st);
    return s;
}

/* ---- Dropout ---------------------------------------------------------------------------- */

typedef struct dropout_state {
    int mode;         /* 0 identity, 1 training with dropping, -1 decided at run */
    st_dtype mask_dt; /* bool from opset 10, X's type before */
    uint64_t seed;
} dropout_state;

static double drop_ratio(const st_kctx *k) {
    if (k->opset < 12) return st_attr_float(k->node, "ratio", 0.5);
    const st_tensor *r = st_in(k, 1);
    return r && st_tensor_nelem(r) ? st_tensor_get_f64(r, 0) : 0.5;
}
static bool drop_training(const st_kctx *k) {
    if (k->opset < 12) return false; /* older Dropouts run as in inference */
    const st_tensor *t = st_in(k, 2);
    return t && st_tensor_nelem(t) && st_tensor_get_i64(t, 0) != 0;
}

/* splitmix64: a small deterministic generator for training-mode masks. */
static uint64_t mix64(uint64_t *s) {
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static st_status run_dropout(st_kctx *k, st_error *err) {
    dropout_state *st = k->state;
    const st_tensor *x = st_in(k, 0);
    double ratio = drop_ratio(k);
    bool drop = st->mode == 1 || (st->mode == -1 && drop_training(k) && ratio > 0);
    size_t n = st_tensor_nelem(x);
    st_tensor *mask = NULL;
    if (st_has_out(k, 1) && !(mask = st_out(k, 1, st->mask_dt, x->ndim, x->dims, err)))
        return err->status;
    if (!drop) {
        if (st_out_alias(k, 0, 0, x->ndim, x->dims, err)) return err->status;
        if (mask) {
            double one = 1.0;
            for (size_t i = 0; i < n; i++) st_tensor_set_f64(mask, i, one);
        }
        return ST_OK;
    }
    if (ratio < 0 || ratio > 1)
        return st_errorf(err, ST_ERR_INVALID, "ratio %g outside [0, 1]", ratio);
    st_tensor *y = st_out(k, 0, x->dtype, x->ndim, x->dims, err);
    if (!y) return err->status;
    uint64_t rs = st->seed;
    double scale = ratio < 1 ? 1.0 / (1.0 - ratio) : 0.0;
    for (size_t i = 0; i < n; i++) {
        double u = (double)(mix64(&rs) >> 11) * 0x1.0p-53;
        bool keep = u >= ratio;
        st_tensor_set_f64(y, i, keep ? st_tensor_get_f64(x, i) * scale : 0.0);
        if (mask) st_tensor_set_f64(mask, i, keep ? 1.0 : 0.0);
    }
    st->seed = rs; /* a new mask on each run */
    return ST_OK;
}

st_status st_nn_prep_dropout(st_kctx *k, st_error *err) {
    st_status s;
    if ((s = ST_NN_CHECK_DTYPE(k, 0, err, ST_DTYPE_F32, ST_DTYPE_F64, ST_DTYPE_F16, ST_DTYPE_BF16)))
        return s;
    const st_tensor *x = st_in(k, 0);
    dropout_state *st = st_calloc(1, sizeof *st);
    if (!st) return st_error_nomem(err);
    st->mask_dt = k->opset >= 10 ? ST_DTYPE_BOOL : x->dtype;
    st->seed = (uint64_t)st_attr_int(k->node, "seed", 0x5eed);
    bool known = k->opset < 12 || ((!st_has_in(k, 1) || st_in_const(k, 1)) &&
                                   (!st_has_in(k, 2) || st_in_const(k, 2)));
    if (known) {
        st->mode = drop_training(k) && drop_ratio(k) > 0 ? 1 : 0;
        if (st->mode == 0) st_out_declare_alias(k, 0, 0, x->ndim, x->dims);
        else st_out_declare(k, 0, x->dtype, x->ndim, x->dims);
    } else {
        st->mode = -1;
        /* ratio or training_mode at run time: run picks a view or a copy, so the planner
         * must not place output 0; static inference still learns its type */
        if (st_has_out(k, 0)) {
            st_out_decl *d = &k->decl[0];
            d->typed = true;
            d->dtype = x->dtype;
            d->ndim = x->ndim;
            memcpy(d->dims, x->dims, (size_t)x->ndim * sizeof *x->dims);
        }
    }
    if (k->n_out > 1) st_out_declare(k, 1, st->mask_dt, x->ndim, x->dims);
    k->state = st;
    k->run = run_dropout;
    return ST_OK;
}

/* ---- LpNormalization -------------------------------------------------------------------
 * y = x / (sum over axis of |x|^p)^(1/p), p 1 or 2; computed in double. A zero vector
 * divides by zero (NaN), as the ONNX reference does. */

typedef struct lpn_state {
    size_t outer, len, inner;
    int p;
} lpn_state;

static st_status run_lpnorm(st_kctx *k, st_error *err) {
    const lpn_state *st = k->state;
    const st_tensor *x = st_in(k, 0);
    st_tensor *y = st_out(k, 0, x->dtype, x->ndim, x->dims, err);
    if (!y) return err->status;
    size_t n = st->outer * st->len * st->inner;
    double *v = k->scratch, *nrm = v + n;
    st_nn_to_f64(x->dtype, x->data, v, n);
    for (size_t o = 0; o < st->outer; o++) {
        double *base = v + o * st->len * st->inner;
        for (size_t i = 0; i < st->inner; i++) nrm[i] = 0;
        for (size_t j = 0; j < st->len; j++)
            for (size_t i = 0; i < st->inner; i++) {
                double a = base[j * st->inner + i];
                nrm[i] += st->p == 1 ? fabs(a) : a * a;
            }
        if (st->p == 2)
            for (size_t i = 0; i < st->inner; i++) nrm[i] = sqrt(nrm[i]);
        for (size_t j = 0; j < st->len; j++)
            for (size_t i = 0; i < st->inner; i++) base[j * st->inner + i] /= nrm[i];
    }
    st_nn_from_f64(y->dtype, v, y->data, n);
    return ST_OK;
}

st_status st_nn_prep_lpnorm(st_kctx *k, st_error *err) {
    st_status s;
    if ((s = ST_NN_CHECK_DTYPE(k, 0, err, ST_DTYPE_F32, ST_DTYPE_F64, ST_DTYPE_F16, ST_DTYPE_BF16)))
        return s;
    const st_tensor *x = st_in(k, 0);
    if (x->ndim == 0) return st_errorf(err, ST_ERR_INVALID, "input must have rank >= 1");
    int axis;
    if ((s = st_norm_axis(st_attr_int(k->node, "axis", -1), x->ndim, &axis, err))) return s;
    int64_t p = st_attr_int(k->node, "p", 2);
    if (p != 1 && p != 2)
        return st_errorf(err, ST_ERR_INVALID, "p must be 1 or 2, got %lld", (long long)p);
    lpn_state st = {.p = (int)p, .len = (size_t)x->dims[axis]};
    size_t total, bytes;
    if ((s = st_shape_nelem(axis, x->dims, &st.outer, err)) ||
        (s = st_shape_nelem(x->ndim - axis - 1, x->dims + axis + 1, &st.inner, err)) ||
        (s = st_shape_nelem(x->ndim, x->dims, &total, err)))
        return s;
    if (!st_mul_ok(total + st.inner + 1, sizeof(double), &bytes))
        return st_errorf(err, ST_ERR_LIMIT, "tensor too large");
    lpn_state *ps = st_malloc(sizeof *ps);
    if (!ps) return st_error_nomem(err);
    *ps = st;
    k->scratch_bytes = bytes;
    st_out_declare(k, 0, x->dtype, x->ndim, x->dims);
    k->state = ps;
    k->run = run_lpnorm;
    return ST_OK;
}

/* ---- GroupNormalization -----------------------------------------------------------------
 * X [N, C, spatial...] in num_groups groups of C / G channels: each (n, group) is
 * normalized by its own mean and variance, then scaled and shifted per group (opset 18)
 * or per channel (opset 21). Computed in double. */

typedef struct gn_state {
    size_t n, c, g, inner; /* inner: spatial elements per channel */
    double eps;
    bool per_channel;
} gn_state;

static st_status run_groupnorm(st_kctx *k, st_error *err) {
    const gn_state *st = k->state;
    const st_tensor *x = st_in(k, 0), *w = st_in(k, 1), *b = st_in(k, 2);
    st_tensor *y = st_out(k, 0, x->dtype, x->ndim, x->dims, err);
    if (!y) return err->status;
    size_t total = st->n * st->c * st->inner, cg = st->c / st->g, span = cg * st->inner;
    size_t np = st->per_channel ? st->c : st->g;
    double *v = k->scratch, *wd = v + total, *bd = wd + np;
    st_nn_to_f64(x->dtype, x->data, v, total);
    st_nn_to_f64(w->dtype, w->data, wd, np);
    st_nn_to_f64(b->dtype, b->data, bd, np);
    for (size_t ng = 0; ng < st->n * st->g; ng++) {
        double *p = v + ng * span, s = 0, q = 0;
        for (size_t i = 0; i < span; i++) s += p[i];
        double m = span ? s / (double)span : 0;
        for (size_t i = 0; i < span; i++) q += (p[i] - m) * (p[i] - m);
        double inv = 1.0 / sqrt((span ? q / (double)span : 0) + st->eps);
        size_t grp = ng % st->g;
        for (size_t i = 0; i < span; i++) {
            size_t pi = st->per_channel ? grp * cg + i / st->inner : grp;
            p[i] = (p[i] - m) * inv * wd[pi] + bd[pi];
        }
    }
    st_nn_from_f64(y->dtype, v, y->data, total);
    return ST_OK;
}

st_status st_nn_prep_groupnorm(st_kctx *k, st_error *err) {
    st_status s;
    if ((s = ST_NN_CHECK_DTYPE(k, 0, err, ST_DTYPE_F32, ST_DTYPE_F64, ST_DTYPE_F16, ST_DTYPE_BF16)))
        return s;
    const st_tensor *x = st_in(k, 0), *w = st_in(k, 1), *b = st_in(k, 2);
    if (x->ndim < 2) return st_errorf(err, ST_ERR_INVALID, "X must be [N, C, ...]");
    int64_t g = st_attr_int(k->node, "num_groups", 0), c = x->dims[1];
    if (g <= 0 || c % g)
        return st_errorf(err, ST_ERR_INVALID, "num_groups %lld must divide %lld channels",
                         (long long)g, (long long)c);
    gn_state st = {.c = (size_t)c,
                   .g = (size_t)g,
                   .n = (size_t)x->dims[0],
                   .eps = st_attr_float(k->node, "epsilon", 1e-5),
                   .per_channel = k->opset >= 21};
    int64_t np = st.per_channel ? c : g;
    if (!w || !b || !st_dtype_is_float(w->dtype) || b->dtype != w->dtype || w->ndim != 1 ||
        b->ndim != 1 || w->dims[0] != np || b->dims[0] != np)
        return st_errorf(err, ST_ERR_INVALID, "scale and bias must be float vectors of %lld",
                         (long long)np);
    size_t total, bytes;
    if ((s = st_shape_nelem(x->ndim - 2, x->dims + 2, &st.inner, err)) ||
        (s = st_shape_nelem(x->ndim, x->dims, &total, err)))
        return s;
    if (!st_mul_ok(total + 2 * (size_t)np + 1, sizeof(double), &bytes))
        return st_errorf(err, ST_ERR_LIMIT, "tensor too large");
    gn_state *ps = st_malloc(sizeof *ps);
    if (!ps) return st_error_nomem(err);
    *ps = st;
    k->scratch_bytes = bytes;
    st_out_declare(k, 0, x->dtype, x->ndim, x->dims);
    k->state = ps;
    k->run = run_groupnorm;
    return ST_OK;
}
