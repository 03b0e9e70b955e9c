/* runtime/ops/nn_conv.c: Conv, ConvTranspose, ConvInteger and QLinearConv. float32 Conv
 * runs on oneDNN (nn_dnnl.c); every other case runs the direct N-d reference kernels here,
 * which handle all attribute combinations. Kernels never allocate: prepare sizes scratch. */
#include <math.h>
#include <string.h>

#include "nn_impl.h"

/* ---- reference kernels ------------------------------------------------------------------ */

/* Advance an odometer over dims; used to walk output and kernel positions. */
static inline void odo_next(int n, int64_t *c, const int64_t *dims) {
    for (int d = n - 1; d >= 0; d--) {
        if (++c[d] < dims[d]) return;
        c[d] = 0;
    }
}

/* Direct convolution: for each output element, sum over input channels of its group and
 * kernel positions whose input coordinate falls inside the (unpadded) input. */
#define ST_NN_CONV_REF(name, T, ACC)                                                          \
    void st_nn_conv_ref_##name(const st_nn_conv_shape *s, const T *x, const T *w, const T *b, \
                               T *y, size_t r0, size_t r1) {                                  \
        const st_nn_win *g = &s->win;                                                         \
        int64_t cg = s->c / s->group, mg = s->m / s->group;                                   \
        for (size_t r = r0; r < r1; r++) {                                                    \
            int64_t n = (int64_t)r / s->m, oc = (int64_t)r % s->m, grp = oc / mg;             \
            T *yo = y + r * g->out_vol;                                                       \
            const T *wo = w + (size_t)oc * cg * g->k_vol;                                     \
            const T *xn = x + ((size_t)n * s->c + (size_t)grp * cg) * g->in_vol;              \
            int64_t o[ST_NN_MAX_SP] = {0};                                                    \
            for (size_t op = 0; op < g->out_vol; op++, odo_next(g->nsp, o, g->out)) {         \
                ACC acc = b ? (ACC)b[oc] : (ACC)0;                                            \
                int64_t kc[ST_NN_MAX_SP] = {0};                                               \
                for (size_t kp = 0; kp < g->k_vol; kp++, odo_next(g->nsp, kc, g->k)) {        \
                    size_t off = 0;                                                           \
                    bool inside = true;                                                       \
                    for (int d = 0; d < g->nsp; d++) {                                        \
                        int64_t ii = o[d] * g->stride[d] - g->pad0[d] + kc[d] * g->dil[d];    \
                        if (ii < 0 || ii >= g->in[d]) {                                       \
                            inside = false;                                                   \
                            break;                                                            \
                        }                                                                     \
                        off = off * (size_t)g->in[d] + (size_t)ii;                            \
                    }                                                                         \
                    if (!inside) continue;                                                    \
                    for (int64_t ic = 0; ic < cg; ic++)                                       \
                        acc += (ACC)xn[(size_t)ic * g->in_vol + off] *                        \
                               (ACC)wo[(size_t)ic * g->k_vol + kp];                           \
                }                                                                             \
                yo[op] = (T)acc;                                                              \
            }                                                                                 \
        }                                                                                     \
    }
ST_NN_CONV_REF(f32, float, float)
ST_NN_CONV_REF(f64, double, double)
ST_NN_CONV_REF(i32, int32_t, int64_t)

/* Transposed convolution, written as a scatter from each input element; one row (n, oc)
 * owns its output plane, so rows can run in parallel. w: [C, M/group, k...]. */
#define ST_NN_CONVT_REF(name, T)                                                                \
    static void convt_ref_##name(const st_nn_conv_shape *s, const T *x, const T *w, const T *b, \
                                 T *y, size_t r0, size_t r1) {                                  \
        const st_nn_win *g = &s->win;                                                           \
        int64_t cg = s->c / s->group, mg = s->m / s->group;                                     \
        for (size_t r = r0; r < r1; r++) {                                                      \
            int64_t n = (int64_t)r / s->m, oc = (int64_t)r % s->m, grp = oc / mg;               \
            int64_t ocg = oc % mg;                                                              \
            T *yo = y + r * g->out_vol;                                                         \
            for (size_t i = 0; i < g->out_vol; i++) yo[i] = b ? b[oc] : (T)0;                   \
            for (int64_t icg = 0; icg < cg; icg++) {                                            \
                int64_t ic = grp * cg + icg;                                                    \
                const T *xc = x + ((size_t)n * s->c + (size_t)ic) * g->in_vol;                  \
                const T *wc = w + ((size_t)ic * mg + (size_t)ocg) * g->k_vol;                   \
                int64_t ip[ST_NN_MAX_SP] = {0};                                                 \
                for (size_t xi = 0; xi < g->in_vol; xi++, odo_next(g->nsp, ip, g->in)) {        \
                    T xv = xc[xi];                                                              \
                    int64_t kc[ST_NN_MAX_SP] = {0};                                             \
                    for (size_t kp = 0; kp < g->k_vol; kp++, odo_next(g->nsp, kc, g->k)) {      \
                        size_t off = 0;                                                         \
                        bool inside = true;                                                     \
                        for (int d = 0; d < g->nsp; d++) {                                      \
                            int64_t oo = ip[d] * g->stride[d] - g->pad0[d] + kc[d] * g->dil[d]; \
                            if (oo < 0 || oo >= g->out[d]) {                                    \
                                inside = false;                                                 \
                                break;                                                          \
                            }                                                                   \
                            off = off * (size_t)g->out[d] + (size_t)oo;                         \
                        }                                                                       \
                        if (inside) yo[off] += xv * wc[kp];                                     \
                    }                                                                           \
                }                                                                               \
            }                                                                                   \
        }                                                                                       \
    }
ST_NN_CONVT_REF(f32, float)
ST_NN_CONVT_REF(f64, double)

/* ---- shared state ----------------------------------------------------------------------- */

typedef enum {
    CONV_PLAIN = 0, /* Conv */
    CONV_TRANSPOSE, /* ConvTranspose */
    CONV_INTEGER,   /* ConvInteger */
    CONV_QLINEAR,   /* QLinearConv */
} conv_kind;

typedef struct conv_state {
    conv_kind kind;
    st_nn_conv_shape s;
    st_dtype dt;       /* X's dtype */
    st_dtype ydt;      /* output dtype */
    size_t nx, nw, ny; /* element counts */
    st_nn_dconv *dnn;  /* float32 Conv on oneDNN, or NULL */
    /* run-time views set by the run functions for the parallel body */
    const void *x, *w, *b;
    void *y;
} conv_state;

static void conv_state_free(void *p) {
    conv_state *st = p;
    if (!st) return;
    st_nn_dconv_free(st->dnn);
    st_free(st);
}

/* Parallel body: rows of N*M. */
static void conv_body(void *arg, size_t r0, size_t r1) {
    conv_state *st = arg;
    bool f64 = st->dt == ST_DTYPE_F64;
    switch (st->kind) {
    case CONV_PLAIN:
        if (f64) st_nn_conv_ref_f64(&st->s, st->x, st->w, st->b, st->y, r0, r1);
        else st_nn_conv_ref_f32(&st->s, st->x, st->w, st->b, st->y, r0, r1);
        break;
    case CONV_TRANSPOSE:
        if (f64) convt_ref_f64(&st->s, st->x, st->w, st->b, st->y, r0, r1);
        else convt_ref_f32(&st->s, st->x, st->w, st->b, st->y, r0, r1);
        break;
    default: st_nn_conv_ref_i32(&st->s, st->x, st->w, st->b, st->y, r0, r1); break;
    }
}

static size_t grain_for(size_t per_row) {
    size_t g = per_row ? (size_t)65536 / per_row : 64;
    return g ? g : 1;
}

/* Common shape checks for X [N, C, sp...] and W; fills st->s except the window. */
static st_status conv_shapes(st_kctx *k, conv_state *st, int xi, int wi, st_error *err) {
    const st_tensor *x = st_in(k, xi), *w = st_in(k, wi);
    if (!x || !w) return st_errorf(err, ST_ERR_INVALID, "X and W are required");
    if (x->ndim < 3)
        return st_errorf(err, ST_ERR_INVALID, "X needs rank >= 3 (N, C, spatial...), has %d",
                         x->ndim);
    if (w->ndim != x->ndim)
        return st_errorf(err, ST_ERR_INVALID, "W has rank %d, X has rank %d", w->ndim, x->ndim);
    int64_t group = st_attr_int(k->node, "group", 1);
    if (group < 1)
        return st_errorf(err, ST_ERR_INVALID, "group %lld must be >= 1", (long long)group);
    st->s.n = x->dims[0];
    st->s.c = x->dims[1];
    st->s.group = group;
    if (st->kind == CONV_TRANSPOSE) {
        if (w->dims[0] != st->s.c)
            return st_errorf(err, ST_ERR_INVALID, "W has %lld input channels, X has %lld",
                             (long long)w->dims[0], (long long)st->s.c);
        if (!st_mul_i64_ok(w->dims[1], group, &st->s.m))
            return st_errorf(err, ST_ERR_LIMIT, "too many output channels");
    } else {
        st->s.m = w->dims[0];
        int64_t cw;
        if (!st_mul_i64_ok(w->dims[1], group, &cw) || cw != st->s.c)
            return st_errorf(err, ST_ERR_INVALID,
                             "W has %lld channels per group x group %lld, X has %lld channels",
                             (long long)w->dims[1], (long long)group, (long long)st->s.c);
        if (st->s.m % group)
            return st_errorf(err, ST_ERR_INVALID,
                             "%lld output channels not divisible by group %lld", (long long)st->s.m,
                             (long long)group);
    }
    if (st->s.c % group)
        return st_errorf(err, ST_ERR_INVALID, "%lld input channels not divisible by group %lld",
                         (long long)st->s.c, (long long)group);
    return ST_OK;
}

static st_status check_bias(const st_kctx *k, int bi, int64_t m, st_dtype dt, st_error *err) {
    const st_tensor *b = st_in(k, bi);
    if (!b) return ST_OK;
    if (b->dtype != dt)
        return st_errorf(err, ST_ERR_INVALID, "B has type %s, expected %s", st_dtype_name(b->dtype),
                         st_dtype_name(dt));
    if (b->ndim != 1 || b->dims[0] != m)
        return st_errorf(err, ST_ERR_INVALID, "B must have shape [%lld]", (long long)m);
    return ST_OK;
}

static st_status declare_y(st_kctx *k, conv_state *st, st_error *err) {
    int64_t dims[ST_MAX_RANK];
    dims[0] = st->s.n;
    dims[1] = st->s.m;
    for (int d = 0; d < st->s.win.nsp; d++) dims[2 + d] = st->s.win.out[d];
    size_t ny;
    st_status s = st_shape_nelem(st->s.win.nsp + 2, dims, &ny, err);
    if (s) return s;
    st->ny = ny;
    st_out_declare(k, 0, st->ydt, st->s.win.nsp + 2, dims);
    return ST_OK;
}

static st_tensor *get_y(st_kctx *k, conv_state *st, st_error *err) {
    int64_t dims[ST_MAX_RANK];
    dims[0] = st->s.n;
    dims[1] = st->s.m;
    for (int d = 0; d < st->s.win.nsp; d++) dims[2 + d] = st->s.win.out[d];
    return st_out(k, 0, st->ydt, st->s.win.nsp + 2, dims, err);
}

/* ---- Conv / ConvTranspose (float types) ------------------------------------------------- */

static st_status run_float_conv(st_kctx *k, st_error *err) {
    conv_state *st = k->state;
    st_tensor *y = get_y(k, st, err);
    if (!y) return err->status;
    const st_tensor *x = st_in(k, 0), *w = st_in(k, 1), *b = st_in(k, 2);
    if (st->ny == 0) return ST_OK;
    if (st->dnn) {
        return st_nn_dconv_run(st->dnn, x->data, w->data, b ? b->data : NULL, y->data, k->threads,
                               err);
    }
    size_t rows = (size_t)st->s.n * (size_t)st->s.m;
    size_t per_row = st->s.win.out_vol * st->s.win.k_vol * (size_t)(st->s.c / st->s.group);
    if (st_nn_is_half(st->dt)) {
        float *fx = k->scratch, *fw = fx + st->nx, *fb = fw + st->nw, *fy = fb + st->s.m;
        st_nn_to_f32(st->dt, x->data, fx, st->nx);
        st_nn_to_f32(st->dt, w->data, fw, st->nw);
        if (b) st_nn_to_f32(st->dt, b->data, fb, (size_t)st->s.m);
        st->x = fx, st->w = fw, st->b = b ? fb : NULL, st->y = fy;
        st_parallel_for(k->pool, rows, grain_for(per_row), conv_body, st);
        st_nn_from_f32(st->dt, fy, y->data, st->ny);
        return ST_OK;
    }
    st->x = x->data, st->w = w->data, st->b = b ? b->data : NULL, st->y = y->data;
    st_parallel_for(k->pool, rows, grain_for(per_row), conv_body, st);
    return ST_OK;
}

static st_status prep_float_conv(st_kctx *k, conv_kind kind, st_error *err) {
    st_status s;
    conv_state *st = st_calloc(1, sizeof *st);
    if (!st) return st_error_nomem(err);
    st->kind = kind;
    if ((s = ST_NN_CHECK_DTYPE(k, 0, err, ST_DTYPE_F32, ST_DTYPE_F64, ST_DTYPE_F16, ST_DTYPE_BF16)))
        goto fail;
    const st_tensor *x = st_in(k, 0), *w = st_in(k, 1);
    st->dt = st->ydt = x->dtype;
    if (!w || w->dtype != x->dtype) {
        s = st_errorf(err, ST_ERR_INVALID, "W must have X's type %s", st_dtype_name(x->dtype));
        goto fail;
    }
    if ((s = conv_shapes(k, st, 0, 1, err))) goto fail;
    if ((s = check_bias(k, 2, st->s.m, x->dtype, err))) goto fail;
    int nsp = x->ndim - 2;
    if (kind == CONV_PLAIN) {
        st_nn_win_opts o = {.has_dilations = true, .kernel = w->dims + 2};
        if ((s = st_nn_win_parse(k, nsp, x->dims + 2, &o, &st->s.win, err))) goto fail;
    } else {
        /* ConvTranspose: parse the forward attributes, then derive output size and pads. */
        st_nn_win *g = &st->s.win;
        memset(g, 0, sizeof *g);
        g->nsp = nsp;
        const int64_t *ks, *sv, *dv, *pv, *opv, *osv;
        size_t nks = st_attr_ints(k->node, "kernel_shape", &ks);
        size_t ns = st_attr_ints(k->node, "strides", &sv);
        size_t nd = st_attr_ints(k->node, "dilations", &dv);
        size_t np = st_attr_ints(k->node, "pads", &pv);
        size_t nop = st_attr_ints(k->node, "output_padding", &opv);
        size_t nos = st_attr_ints(k->node, "output_shape", &osv);
        if ((nks && nks != (size_t)nsp) || (ns && ns != (size_t)nsp) || (nd && nd != (size_t)nsp) ||
            (np && np != 2 * (size_t)nsp) || (nop && nop != (size_t)nsp) ||
            (nos && nos != (size_t)nsp && nos != (size_t)nsp + 2)) {
            s = st_errorf(err, ST_ERR_INVALID,
                          "kernel_shape/strides/dilations/pads/output_padding/output_shape "
                          "lengths do not match %d spatial dims",
                          nsp);
            goto fail;
        }
        if (nos == (size_t)nsp + 2) osv += 2;
        const char *ap = st_attr_string(k->node, "auto_pad", "NOTSET");
        bool same = !strcmp(ap, "SAME_UPPER") || !strcmp(ap, "SAME_LOWER");
        bool upper = !strcmp(ap, "SAME_UPPER");
        bool valid = !strcmp(ap, "VALID");
        if (!same && !valid && strcmp(ap, "NOTSET") && *ap) {
            s = st_errorf(err, ST_ERR_INVALID, "unknown auto_pad \"%s\"", ap);
            goto fail;
        }
        for (int d = 0; d < nsp; d++) {
            g->in[d] = x->dims[2 + d];
            g->k[d] = w->dims[2 + d];
            if (nks && ks[d] != g->k[d]) {
                s = st_errorf(err, ST_ERR_INVALID, "kernel_shape does not match W");
                goto fail;
            }
            g->stride[d] = ns ? sv[d] : 1;
            g->dil[d] = nd ? dv[d] : 1;
            int64_t opad = nop ? opv[d] : 0;
            if (g->stride[d] < 1 || g->dil[d] < 1 || g->stride[d] > (1 << 30) ||
                g->dil[d] > (1 << 30) || opad < 0 || opad > (1 << 30) ||
                g->in[d] > ((int64_t)1 << 40)) {
                s = st_errorf(err, ST_ERR_INVALID, "bad stride, dilation or output_padding");
                goto fail;
            }
            int64_t ek = (g->k[d] - 1) * g->dil[d] + 1;
            int64_t full = g->stride[d] * (g->in[d] - 1) + opad + ek; /* unpadded size */
            if (nos || same) {
                int64_t out = nos ? osv[d] : g->in[d] * g->stride[d];
                int64_t total = full - out;
                /* floor division so that a negative total extends the end */
                int64_t half = total >= 0 ? total / 2 : -((-total + 1) / 2);
                if (upper) g->pad0[d] = half, g->pad1[d] = total - half;
                else g->pad0[d] = total - half, g->pad1[d] = half;
                g->out[d] = out;
            } else {
                g->pad0[d] = (np && !valid) ? pv[d] : 0;
                g->pad1[d] = (np && !valid) ? pv[d + nsp] : 0;
                g->out[d] = full - g->pad0[d] - g->pad1[d];
            }
            if (g->out[d] < 0) {
                s = st_errorf(err, ST_ERR_INVALID, "output size on axis %d is negative", d);
                goto fail;
            }
        }
        if ((s = st_nn_win_finish(g, err))) goto fail;
    }
    if ((s = st_shape_nelem(x->ndim, x->dims, &st->nx, err)) ||
        (s = st_shape_nelem(w->ndim, w->dims, &st->nw, err)) || (s = declare_y(k, st, err)))
        goto fail;
    if (st_nn_is_half(st->dt)) {
        size_t n = st->nx, bytes;
        bool ok = st_add_ok(n, st->nw, &n) && st_add_ok(n, (size_t)st->s.m, &n) &&
                  st_add_ok(n, st->ny, &n) && st_mul_ok(n, sizeof(float), &bytes);
        if (!ok) {
            s = st_errorf(err, ST_ERR_LIMIT, "convolution too large");
            goto fail;
        }
        k->scratch_bytes = bytes;
    }
    if (kind == CONV_PLAIN && st->dt == ST_DTYPE_F32 && nsp <= 3 && st->ny) {
        const st_tensor *wc = st_in_const(k, 1), *bc = st_in_const(k, 2);
        bool has_b = st_has_in(k, 2);
        /* oneDNN failing to build a primitive is not an error: the reference runs. Out of
         * memory is: a fallback would hide it and compute in another order. */
        st_error e2;
        st_status ds = st_nn_dconv_new(&st->s, wc ? wc->data : NULL, has_b, bc ? bc->data : NULL,
                                       &st->dnn, &e2);
        if (ds == ST_ERR_NOMEM) {
            s = st_error_nomem(err);
            goto fail;
        }
        if (ds != ST_OK) st->dnn = NULL;
    }
    k->state = st;
    k->state_free = conv_state_free;
    k->run = run_float_conv;
    return ST_OK;
fail:
    conv_state_free(st);
    return s;
}

st_status st_nn_prep_conv(st_kctx *k, st_error *err) { return prep_float_conv(k, CONV_PLAIN, err); }
st_status st_nn_prep_conv_transpose(st_kctx *k, st_error *err) {
    return prep_float_conv(k, CONV_TRANSPOSE, err);
}

/* ---- ConvInteger / QLinearConv ----------------------------------------------------------- */

/* Zero point of an int8/uint8 tensor, element i (or the only one). */
static int32_t zp_at(const st_tensor *t, size_t i) {
    if (!t) return 0;
    if (st_tensor_nelem(t) == 1) i = 0;
    return (int32_t)st_tensor_get_i64(t, i);
}
static double scale_at(const st_tensor *t, size_t i) {
    if (st_tensor_nelem(t) == 1) i = 0;
    return st_tensor_get_f64(t, i);
}

/* x: X, W, x_zp, w_zp indices differ between the two ops. */
typedef struct qconv_io {
    int x, w, xzp, wzp, xs, ws, ys, yzp, b;
} qconv_io;
static const qconv_io io_conv_integer = {0, 1, 2, 3, -1, -1, -1, -1, -1};
static const qconv_io io_qlinear_conv = {0, 3, 2, 5, 1, 4, 6, 7, 8};

static st_status run_int_conv(st_kctx *k, st_error *err) {
    conv_state *st = k->state;
    const qconv_io *io = st->kind == CONV_QLINEAR ? &io_qlinear_conv : &io_conv_integer;
    st_tensor *y = get_y(k, st, err);
    if (!y) return err->status;
    if (st->ny == 0) return ST_OK;
    const st_tensor *x = st_in(k, io->x), *w = st_in(k, io->w);
    const st_tensor *xzp = st_in(k, io->xzp), *wzp = st_in(k, io->wzp);
    int32_t *ix = k->scratch, *iw = ix + st->nx, *acc = iw + st->nw;
    int32_t xz = zp_at(xzp, 0);
    size_t wper = st->s.m ? st->nw / (size_t)st->s.m : 0;
    size_t nwzp = wzp ? st_tensor_nelem(wzp) : 1;
    if (nwzp != 1 && nwzp != (size_t)st->s.m)
        return st_errorf(err, ST_ERR_INVALID, "w_zero_point has %zu values for %lld channels", nwzp,
                         (long long)st->s.m);
    for (size_t i = 0; i < st->nx; i++) ix[i] = (int32_t)st_tensor_get_i64(x, i) - xz;
    for (size_t i = 0; i < st->nw; i++)
        iw[i] = (int32_t)st_tensor_get_i64(w, i) - zp_at(wzp, i / wper);
    const st_tensor *b = io->b >= 0 ? st_in(k, io->b) : NULL;
    st->x = ix, st->w = iw, st->b = b ? b->data : NULL;
    st->y = st->kind == CONV_INTEGER ? y->data : acc;
    size_t rows = (size_t)st->s.n * (size_t)st->s.m;
    size_t per_row = st->s.win.out_vol * st->s.win.k_vol * (size_t)(st->s.c / st->s.group);
    st_parallel_for(k->pool, rows, grain_for(per_row), conv_body, st);
    if (st->kind == CONV_INTEGER) return ST_OK;
    const st_tensor *xs = st_in(k, io->xs), *ws = st_in(k, io->ws), *ys = st_in(k, io->ys);
    const st_tensor *yzp = st_in(k, io->yzp);
    size_t nws = st_tensor_nelem(ws);
    if (nws != 1 && nws != (size_t)st->s.m)
        return st_errorf(err, ST_ERR_INVALID, "w_scale has %zu values for %lld channels", nws,
                         (long long)st->s.m);
    int32_t yz = zp_at(yzp, 0);
    int64_t lo = st->ydt == ST_DTYPE_U8 ? 0 : -128, hi = st->ydt == ST_DTYPE_U8 ? 255 : 127;
    size_t plane = st->s.win.out_vol;
    for (size_t r = 0; r < rows; r++) {
        size_t oc = r % (size_t)st->s.m;
        float mult = (float)(scale_at(xs, 0) * scale_at(ws, oc) / scale_at(ys, 0));
        for (size_t i = 0; i < plane; i++) {
            double v = (double)((float)acc[r * plane + i] * mult) + yz;
            int64_t q = st_nn_sat_round(v, lo, hi);
            if (st->ydt == ST_DTYPE_U8) ((uint8_t *)y->data)[r * plane + i] = (uint8_t)q;
            else ((int8_t *)y->data)[r * plane + i] = (int8_t)q;
        }
    }
    return ST_OK;
}

static st_status prep_int_conv(st_kctx *k, conv_kind kind, st_error *err) {
    st_status s;
    const qconv_io *io = kind == CONV_QLINEAR ? &io_qlinear_conv : &io_conv_integer;
    conv_state *st = st_calloc(1, sizeof *st);
    if (!st) return st_error_nomem(err);
    st->kind = kind;
    if ((s = ST_NN_CHECK_DTYPE(k, io->x, err, ST_DTYPE_U8, ST_DTYPE_I8)) ||
        (s = ST_NN_CHECK_DTYPE(k, io->w, err, ST_DTYPE_U8, ST_DTYPE_I8)))
        goto fail;
    const st_tensor *x = st_in(k, io->x), *w = st_in(k, io->w);
    st->dt = ST_DTYPE_I32;
    st->ydt = ST_DTYPE_I32;
    if (kind == CONV_QLINEAR) {
        for (int i = 1; i <= 7; i++) {
            if (i != io->w && !st_in(k, i) && i != io->xzp) {
                s = st_errorf(err, ST_ERR_INVALID, "input %d is required", i);
                goto fail;
            }
        }
        if ((s = ST_NN_CHECK_DTYPE(k, io->yzp, err, ST_DTYPE_U8, ST_DTYPE_I8))) goto fail;
        st->ydt = st_in(k, io->yzp)->dtype;
    }
    if ((s = conv_shapes(k, st, io->x, io->w, err))) goto fail;
    if (io->b >= 0 && (s = check_bias(k, io->b, st->s.m, ST_DTYPE_I32, err))) goto fail;
    st_nn_win_opts o = {.has_dilations = true, .kernel = w->dims + 2};
    if ((s = st_nn_win_parse(k, x->ndim - 2, x->dims + 2, &o, &st->s.win, err))) goto fail;
    if ((s = st_shape_nelem(x->ndim, x->dims, &st->nx, err)) ||
        (s = st_shape_nelem(w->ndim, w->dims, &st->nw, err)) || (s = declare_y(k, st, err)))
        goto fail;
    size_t n = st->nx, bytes;
    if (!st_add_ok(n, st->nw, &n) || !st_add_ok(n, kind == CONV_QLINEAR ? st->ny : 0, &n) ||
        !st_mul_ok(n, sizeof(int32_t), &bytes)) {
        s = st_errorf(err, ST_ERR_LIMIT, "convolution too large");
        goto fail;
    }
    k->scratch_bytes = bytes;
    k->state = st;
    k->state_free = conv_state_free;
    k->run = run_int_conv;
    return ST_OK;
fail:
    conv_state_free(st);
    return s;
}

st_status st_nn_prep_conv_integer(st_kctx *k, st_error *err) {
    return prep_int_conv(k, CONV_INTEGER, err);
}
st_status st_nn_prep_qlinear_conv(st_kctx *k, st_error *err) {
    return prep_int_conv(k, CONV_QLINEAR, err);
}
