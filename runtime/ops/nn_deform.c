/* runtime/ops/nn_deform.c: DeformConv-19 (2-D): a grouped convolution whose taps sample
 * X bilinearly (zeros outside) at positions moved by per-output offsets, optionally
 * weighted by a mask. Computed in double for every float type; a direct loop, not a
 * fast path. */
#include <math.h>
#include <string.h>

#include "nn_impl.h"

typedef struct dc_state {
    int64_t n, c, h, w, oc, oh, ow, kh, kw, group, og;
    int64_t sh, sw, dh, dw, ph, pw;
    size_t nx, nwt, noff, nmask, ny;
} dc_state;

/* X[plane] at (y, x) bilinearly, zero beyond the edges. */
static double dc_sample(const double *p, int64_t H, int64_t W, double y, double x) {
    if (!(y > -1 && y < (double)H && x > -1 && x < (double)W)) return 0;
    double y0 = floor(y), x0 = floor(x), ty = y - y0, tx = x - x0, v = 0;
    for (int a = 0; a < 2; a++)
        for (int b = 0; b < 2; b++) {
            int64_t yy = (int64_t)y0 + a, xx = (int64_t)x0 + b;
            if (yy < 0 || yy >= H || xx < 0 || xx >= W) continue;
            v += (a ? ty : 1 - ty) * (b ? tx : 1 - tx) * p[yy * W + xx];
        }
    return v;
}

static st_status run_deform(st_kctx *k, st_error *err) {
    const dc_state *s = k->state;
    const st_tensor *x = st_in(k, 0), *wt = st_in(k, 1), *off = st_in(k, 2), *b = st_in(k, 3),
                    *m = st_in(k, 4);
    int64_t od[4] = {s->n, s->oc, s->oh, s->ow};
    st_tensor *y = st_out(k, 0, x->dtype, 4, od, err);
    if (!y) return err->status;
    double *xd = k->scratch, *wd = xd + s->nx, *fd = wd + s->nwt, *md = fd + s->noff;
    double *yd = md + s->nmask, *bd = yd + s->ny;
    st_nn_to_f64(x->dtype, x->data, xd, s->nx);
    st_nn_to_f64(wt->dtype, wt->data, wd, s->nwt);
    st_nn_to_f64(off->dtype, off->data, fd, s->noff);
    if (m) st_nn_to_f64(m->dtype, m->data, md, s->nmask);
    for (int64_t o = 0; o < s->oc; o++) bd[o] = 0;
    if (b) st_nn_to_f64(b->dtype, b->data, bd, (size_t)s->oc);
    int64_t icg = s->c / s->group, ocg = s->oc / s->group, ico = s->c / s->og;
    int64_t kk = s->kh * s->kw, plane = s->oh * s->ow;
    for (int64_t n = 0; n < s->n; n++)
        for (int64_t o = 0; o < s->oc; o++)
            for (int64_t i = 0; i < s->oh; i++)
                for (int64_t j = 0; j < s->ow; j++) {
                    double acc = bd[o];
                    int64_t g = o / ocg;
                    for (int64_t ci = 0; ci < icg; ci++) {
                        int64_t c = g * icg + ci, ogi = c / ico;
                        const double *xp = xd + (n * s->c + c) * s->h * s->w;
                        for (int64_t q = 0; q < kk; q++) {
                            int64_t a = q / s->kw, bb = q % s->kw;
                            size_t oi =
                                (size_t)(((n * s->og + ogi) * kk + q) * 2 * plane + i * s->ow + j);
                            double py = (double)(i * s->sh - s->ph + a * s->dh) + fd[oi];
                            double px =
                                (double)(j * s->sw - s->pw + bb * s->dw) + fd[oi + (size_t)plane];
                            double v = dc_sample(xp, s->h, s->w, py, px);
                            if (m) v *= md[((n * s->og + ogi) * kk + q) * plane + i * s->ow + j];
                            acc += v * wd[(o * icg + ci) * kk + q];
                        }
                    }
                    yd[((n * s->oc + o) * s->oh + i) * s->ow + j] = acc;
                }
    st_nn_from_f64(y->dtype, yd, y->data, s->ny);
    return ST_OK;
}

/* Read an attribute list of n entries (default def each) into out. */
static st_status dc_ints(const st_kctx *k, const char *name, size_t n, int64_t def, int64_t *out,
                         st_error *err) {
    const int64_t *v;
    size_t m = st_attr_ints(k->node, name, &v);
    if (m && m != n)
        return st_errorf(err, ST_ERR_INVALID, "%s has %zu entries, expected %zu", name, m, n);
    for (size_t i = 0; i < n; i++) out[i] = m ? v[i] : def;
    return ST_OK;
}

st_status st_nn_prep_deform_conv(st_kctx *k, st_error *err) {
    st_status s;
    if ((s = ST_NN_CHECK_DTYPE(k, 0, err, ST_DTYPE_F32, ST_DTYPE_F64, ST_DTYPE_F16, ST_DTYPE_BF16)))
        return s;
    const st_tensor *x = st_in(k, 0), *wt = st_in(k, 1), *off = st_in(k, 2), *b = st_in(k, 3),
                    *m = st_in(k, 4);
    if (x->ndim != 4 || !wt || wt->ndim != 4 || !off || off->ndim != 4)
        return st_errorf(err, ST_ERR_UNSUPPORTED, "DeformConv runs 2-D: X, W, offset of rank 4");
    dc_state st = {.n = x->dims[0],
                   .c = x->dims[1],
                   .h = x->dims[2],
                   .w = x->dims[3],
                   .oc = wt->dims[0],
                   .kh = wt->dims[2],
                   .kw = wt->dims[3],
                   .oh = off->dims[2],
                   .ow = off->dims[3]};
    st.group = st_attr_int(k->node, "group", 1);
    st.og = st_attr_int(k->node, "offset_group", 1);
    int64_t str[2] = {1, 1}, dil[2] = {1, 1}, pad[4] = {0}, ks[2] = {0};
    if ((s = dc_ints(k, "strides", 2, 1, str, err)) ||
        (s = dc_ints(k, "dilations", 2, 1, dil, err)) || (s = dc_ints(k, "pads", 4, 0, pad, err)) ||
        (s = dc_ints(k, "kernel_shape", 2, 0, ks, err)))
        return s;
    if ((ks[0] && ks[0] != st.kh) || (ks[1] && ks[1] != st.kw))
        return st_errorf(err, ST_ERR_INVALID, "kernel_shape differs from W's");
    st.sh = str[0], st.sw = str[1], st.dh = dil[0], st.dw = dil[1], st.ph = pad[0], st.pw = pad[1];
    int64_t eh = (st.h + pad[0] + pad[2] - (st.kh - 1) * st.dh - 1),
            ew = (st.w + pad[1] + pad[3] - (st.kw - 1) * st.dw - 1);
    bool ok = st.group > 0 && st.og > 0 && st.c % st.group == 0 && st.c % st.og == 0 &&
              st.oc % st.group == 0 && wt->dims[1] * st.group == st.c && st.sh > 0 && st.sw > 0 &&
              st.dh > 0 && st.dw > 0 && eh >= 0 && ew >= 0 && st.oh == eh / st.sh + 1 &&
              st.ow == ew / st.sw + 1 && off->dims[0] == st.n &&
              off->dims[1] == st.og * st.kh * st.kw * 2;
    if (!ok)
        return st_errorf(err, ST_ERR_INVALID,
                         "DeformConv: X, W, offset, group, offset_group, "
                         "pads, strides and dilations do not fit together");
    if ((b && (b->ndim != 1 || b->dims[0] != st.oc)) ||
        (m && (m->ndim != 4 || m->dims[0] != st.n || m->dims[1] != st.og * st.kh * st.kw ||
               m->dims[2] != st.oh || m->dims[3] != st.ow)))
        return st_errorf(err, ST_ERR_INVALID, "B must be [%lld] and mask [N, %lld, oH, oW]",
                         (long long)st.oc, (long long)(st.og * st.kh * st.kw));
    st.nx = st_tensor_nelem(x), st.nwt = st_tensor_nelem(wt), st.noff = st_tensor_nelem(off);
    st.nmask = m ? st_tensor_nelem(m) : 0;
    int64_t od[4] = {st.n, st.oc, st.oh, st.ow};
    if ((s = st_shape_nelem(4, od, &st.ny, err))) return s;
    size_t bytes;
    if (!st_mul_ok(st.nx + st.nwt + st.noff + st.nmask + st.ny + (size_t)st.oc + 1, sizeof(double),
                   &bytes))
        return st_errorf(err, ST_ERR_LIMIT, "tensor too large");
    dc_state *ps = st_malloc(sizeof *ps);
    if (!ps) return st_error_nomem(err);
    *ps = st;
    k->scratch_bytes = bytes;
    st_out_declare(k, 0, x->dtype, 4, od);
    k->state = ps;
    k->run = run_deform;
    return ST_OK;
}
