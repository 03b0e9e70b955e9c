/* runtime/ops/tensor_geom.c: the geometry ops of opsets 18-24: CenterCropPad (any dtype),
 * Col2Im (overlapping blocks summed back into an image), AffineGrid (sampling grids for
 * GridSample) and TensorScatter (KV-cache writes, linear or circular). Shapes that come
 * from input data are declared when the input is constant and recomputed at run. */
#include <math.h>
#include <string.h>

#include "tensor_impl.h"

/* ---- CenterCropPad --------------------------------------------------------------------
 * Along each listed axis (all when `axes` is absent) the input is cropped to the wanted
 * extent around its centre (start floor((in - out) / 2)) or zero-padded around it. */

static st_status ccp_dims(const st_kctx *k, const st_tensor *sh, int64_t *out, st_error *err) {
    const st_tensor *x = st_in(k, 0);
    const int64_t *av;
    size_t na = st_attr_ints(k->node, "axes", &av), n;
    int ax[ST_MAX_RANK];
    int64_t v[ST_MAX_RANK];
    st_status s;
    if (!na) {
        for (int d = 0; d < x->ndim; d++) ax[d] = d;
        na = (size_t)x->ndim;
    } else if ((s = st_tsr_axes(av, na, x->ndim, ax, err))) {
        return s;
    }
    if ((s = st_tsr_ints(sh, ST_MAX_RANK, v, &n, "shape", err))) return s;
    if (n != na) return st_errorf(err, ST_ERR_INVALID, "shape has %zu entries for %zu axes", n, na);
    memcpy(out, x->dims, (size_t)x->ndim * sizeof *out);
    for (size_t i = 0; i < na; i++) {
        if (v[i] < 0) return st_errorf(err, ST_ERR_INVALID, "shape has a negative entry");
        out[ax[i]] = v[i];
    }
    return ST_OK;
}

static st_status run_ccp(st_kctx *k, st_error *err) {
    const st_tensor *x = st_in(k, 0);
    int64_t od[ST_MAX_RANK], xs[ST_MAX_RANK];
    st_status s = ccp_dims(k, st_in(k, 1), od, err);
    if (s) return s;
    st_tensor *y = st_out(k, 0, x->dtype, x->ndim, od, err);
    if (!y) return st_tsr_out_status(k, 0, err);
    size_t total = 1;
    for (int d = 0; d < x->ndim; d++) total += (size_t)od[d];
    int64_t *maps = st_malloc(total * sizeof *maps), *m = maps;
    if (!maps) return st_error_nomem(err);
    const int64_t *mp[ST_MAX_RANK];
    for (int d = 0; d < x->ndim; d++) {
        int64_t in = x->dims[d], o = od[d];
        int64_t shift = o <= in ? (in - o) / 2 : -((o - in) / 2);
        for (int64_t i = 0; i < o; i++) {
            int64_t src = i + shift;
            m[i] = src >= 0 && src < in ? src : -1;
        }
        mp[d] = m;
        m += o;
    }
    uint8_t zero[16] = {0};
    st_contig_strides(x->ndim, x->dims, xs);
    st_tsr_copy_mapped(k->pool, x->ndim, od, mp, y->data, x->data, xs, zero,
                       st_dtype_size(x->dtype));
    st_free(maps);
    return st_tsr_own_strings(y, 0, st_tensor_nelem(y), err);
}

st_status st_tsr_prep_center_crop_pad(st_kctx *k, st_error *err) {
    const st_tensor *x = st_in(k, 0), *sh = st_in(k, 1);
    if (!x || !sh || (sh->dtype != ST_DTYPE_I64 && sh->dtype != ST_DTYPE_I32) || sh->ndim != 1)
        return st_errorf(err, ST_ERR_INVALID, "CenterCropPad needs input_data and a 1-D int shape");
    const st_tensor *c = st_in_const(k, 1);
    int64_t od[ST_MAX_RANK];
    if (c) {
        st_status s = ccp_dims(k, c, od, err);
        if (s) return s;
        st_tsr_declare(k, 0, x->dtype, x->ndim, od);
    } else {
        for (int d = 0; d < x->ndim; d++) od[d] = -1;
        st_out_declare_type(k, 0, x->dtype, x->ndim, od);
    }
    k->run = run_ccp;
    return ST_OK;
}

/* ---- Col2Im ---------------------------------------------------------------------------
 * input [N, C * prod(block), L] -> [N, C, image...]: column (kernel offset q, block l) adds
 * into image position l_i * stride - pad_begin + q_i * dilation when inside the image. */

typedef struct c2i_geo {
    int nsp;
    int64_t img[ST_MAX_RANK - 2], blk[ST_MAX_RANK - 2], ncol[ST_MAX_RANK - 2];
    int64_t dil[ST_MAX_RANK - 2], pad[ST_MAX_RANK - 2], str[ST_MAX_RANK - 2];
    int64_t n, c, kvol, l;
} c2i_geo;

static st_status c2i_geo_get(const st_kctx *k, const st_tensor *im, const st_tensor *bl, c2i_geo *g,
                             st_error *err) {
    const st_tensor *x = st_in(k, 0);
    size_t n1, n2, nd, np, ns;
    st_status s;
    if ((s = st_tsr_ints(im, ST_MAX_RANK - 2, g->img, &n1, "image_shape", err)) ||
        (s = st_tsr_ints(bl, ST_MAX_RANK - 2, g->blk, &n2, "block_shape", err)))
        return s;
    if (n1 != n2 || n1 == 0)
        return st_errorf(err, ST_ERR_INVALID, "image_shape and block_shape differ in length");
    g->nsp = (int)n1;
    const int64_t *dv, *pv, *sv;
    nd = st_attr_ints(k->node, "dilations", &dv);
    np = st_attr_ints(k->node, "pads", &pv);
    ns = st_attr_ints(k->node, "strides", &sv);
    if ((nd && nd != n1) || (np && np != 2 * n1) || (ns && ns != n1))
        return st_errorf(err, ST_ERR_INVALID, "dilations, pads or strides do not match %zu dims",
                         n1);
    g->kvol = 1;
    int64_t lv = 1;
    for (int i = 0; i < g->nsp; i++) {
        g->dil[i] = nd ? dv[i] : 1;
        g->str[i] = ns ? sv[i] : 1;
        g->pad[i] = np ? pv[i] : 0;
        int64_t pe = np ? pv[i + g->nsp] : 0;
        if (g->dil[i] < 1 || g->str[i] < 1 || g->blk[i] < 1 || g->img[i] < 0 || g->pad[i] < 0 ||
            pe < 0)
            return st_errorf(err, ST_ERR_INVALID, "Col2Im: bad block, dilation, stride or pad");
        g->ncol[i] = (g->img[i] + g->pad[i] + pe - g->dil[i] * (g->blk[i] - 1) - 1) / g->str[i] + 1;
        if (g->ncol[i] < 1) return st_errorf(err, ST_ERR_INVALID, "Col2Im: no sliding blocks");
        g->kvol *= g->blk[i];
        lv *= g->ncol[i];
    }
    if (x->ndim != 3 || x->dims[1] % g->kvol || x->dims[2] != lv)
        return st_errorf(err, ST_ERR_INVALID, "input must be [N, C * %lld, %lld]",
                         (long long)g->kvol, (long long)lv);
    g->n = x->dims[0];
    g->c = x->dims[1] / g->kvol;
    g->l = lv;
    return ST_OK;
}

static st_status run_col2im(st_kctx *k, st_error *err) {
    const st_tensor *x = st_in(k, 0);
    c2i_geo g;
    st_status s = c2i_geo_get(k, st_in(k, 1), st_in(k, 2), &g, err);
    if (s) return s;
    int64_t od[ST_MAX_RANK] = {g.n, g.c};
    memcpy(od + 2, g.img, (size_t)g.nsp * sizeof *od);
    st_tensor *y = st_out(k, 0, x->dtype, g.nsp + 2, od, err);
    if (!y) return st_tsr_out_status(k, 0, err);
    size_t ivol = 1, ny = st_tensor_nelem(y);
    for (int i = 0; i < g.nsp; i++) ivol *= (size_t)g.img[i];
    double *acc = st_calloc(ny ? ny : 1, sizeof *acc);
    if (!acc) return st_error_nomem(err);
    size_t xi = 0;
    for (int64_t nc = 0; nc < g.n * g.c; nc++)
        for (int64_t q = 0; q < g.kvol; q++) {
            int64_t qi[ST_MAX_RANK], r = q;
            for (int i = g.nsp - 1; i >= 0; i--) qi[i] = r % g.blk[i], r /= g.blk[i];
            for (int64_t l = 0; l < g.l; l++, xi++) {
                int64_t rl = l, pos = 0;
                bool in = true;
                int64_t li[ST_MAX_RANK];
                for (int i = g.nsp - 1; i >= 0; i--) li[i] = rl % g.ncol[i], rl /= g.ncol[i];
                for (int i = 0; i < g.nsp && in; i++) {
                    int64_t p = li[i] * g.str[i] - g.pad[i] + qi[i] * g.dil[i];
                    in = p >= 0 && p < g.img[i];
                    pos = pos * g.img[i] + p;
                }
                if (in) acc[(size_t)nc * ivol + (size_t)pos] += st_tensor_get_f64(x, xi);
            }
        }
    for (size_t i = 0; i < ny; i++) st_tensor_set_f64(y, i, acc[i]);
    st_free(acc);
    return ST_OK;
}

st_status st_tsr_prep_col2im(st_kctx *k, st_error *err) {
    const st_tensor *x = st_in(k, 0), *im = st_in(k, 1), *bl = st_in(k, 2);
    if (!x || !st_dtype_is_float(x->dtype) || !im || !bl || im->ndim != 1 ||
        im->dtype != ST_DTYPE_I64 || bl->dtype != ST_DTYPE_I64)
        return st_errorf(err, ST_ERR_INVALID,
                         "Col2Im needs a float input and int64 image_shape and block_shape");
    const st_tensor *ci = st_in_const(k, 1), *cb = st_in_const(k, 2);
    int64_t od[ST_MAX_RANK];
    int r = 2 + (int)im->dims[0];
    if (r > ST_MAX_RANK) return st_errorf(err, ST_ERR_LIMIT, "Col2Im: too many image dims");
    if (ci && cb) {
        c2i_geo g;
        st_status s = c2i_geo_get(k, ci, cb, &g, err);
        if (s) return s;
        od[0] = g.n, od[1] = g.c;
        memcpy(od + 2, g.img, (size_t)g.nsp * sizeof *od);
        st_out_declare(k, 0, x->dtype, r, od);
    } else {
        for (int d = 0; d < r; d++) od[d] = -1;
        od[0] = x->dims[0];
        st_out_declare_type(k, 0, x->dtype, r, od);
    }
    k->run = run_col2im;
    return ST_OK;
}

/* ---- AffineGrid -----------------------------------------------------------------------
 * theta [N, 2, 3] (or [N, 3, 4]), size (N, C, H, W) (or (N, C, D, H, W)) -> grid
 * [N, H, W, 2] (or [N, D, H, W, 3]): theta times the homogeneous base coordinate
 * (x along W, y along H, z along D) of each output position, in [-1, 1]. */

static double ag_coord(int64_t i, int64_t n, bool align) {
    if (align) return n > 1 ? -1 + 2.0 * (double)i / (double)(n - 1) : -1;
    return -1 + (2.0 * (double)i + 1) / (double)n;
}

static st_status ag_dims(const st_tensor *th, const st_tensor *sz, int64_t *od, int *r,
                         st_error *err) {
    int64_t v[5];
    size_t n;
    st_status s = st_tsr_ints(sz, 5, v, &n, "size", err);
    if (s) return s;
    int sp = (int)n - 2;
    if ((sp != 2 && sp != 3) || th->ndim != 3 || th->dims[0] != v[0] || th->dims[1] != sp ||
        th->dims[2] != sp + 1)
        return st_errorf(err, ST_ERR_INVALID, "theta must be [N, %d, %d] for size of length %zu",
                         sp, sp + 1, n);
    od[0] = v[0];
    for (int i = 0; i < sp; i++) {
        if (v[2 + i] < 1) return st_errorf(err, ST_ERR_INVALID, "size has a non-positive extent");
        od[1 + i] = v[2 + i];
    }
    od[1 + sp] = sp;
    *r = sp + 2;
    return ST_OK;
}

static st_status run_affine_grid(st_kctx *k, st_error *err) {
    const st_tensor *th = st_in(k, 0);
    bool align = st_attr_int(k->node, "align_corners", 0) != 0;
    int64_t od[ST_MAX_RANK];
    int r;
    st_status s = ag_dims(th, st_in(k, 1), od, &r, err);
    if (s) return s;
    st_tensor *y = st_out(k, 0, th->dtype, r, od, err);
    if (!y) return st_tsr_out_status(k, 0, err);
    int sp = r - 2;
    int64_t D = sp == 3 ? od[1] : 1, H = od[sp - 1], W = od[sp];
    size_t o = 0;
    for (int64_t n = 0; n < od[0]; n++) {
        double t[12];
        for (int i = 0; i < sp * (sp + 1); i++)
            t[i] = st_tensor_get_f64(th, (size_t)n * (size_t)(sp * (sp + 1)) + (size_t)i);
        for (int64_t d = 0; d < D; d++)
            for (int64_t h = 0; h < H; h++)
                for (int64_t w = 0; w < W; w++) {
                    double base[4] = {ag_coord(w, W, align), ag_coord(h, H, align),
                                      ag_coord(d, D, align), 1};
                    if (sp == 2) base[2] = 1;
                    for (int i = 0; i < sp; i++) {
                        double acc = 0;
                        for (int j = 0; j <= sp; j++) acc += t[i * (sp + 1) + j] * base[j];
                        st_tensor_set_f64(y, o++, acc);
                    }
                }
    }
    return ST_OK;
}

st_status st_tsr_prep_affine_grid(st_kctx *k, st_error *err) {
    const st_tensor *th = st_in(k, 0), *sz = st_in(k, 1);
    if (!th || !st_dtype_is_float(th->dtype) || !sz || sz->dtype != ST_DTYPE_I64 || sz->ndim != 1 ||
        (sz->dims[0] != 4 && sz->dims[0] != 5))
        return st_errorf(err, ST_ERR_INVALID,
                         "AffineGrid needs float theta and an int64 size of 4 or 5 entries");
    const st_tensor *c = st_in_const(k, 1);
    int64_t od[ST_MAX_RANK];
    int r = (int)sz->dims[0];
    if (c) {
        st_status s = ag_dims(th, c, od, &r, err);
        if (s) return s;
        st_out_declare(k, 0, th->dtype, r, od);
    } else {
        for (int d = 0; d < r; d++) od[d] = -1;
        od[0] = th->dims[0];
        od[r - 1] = r - 2;
        st_out_declare_type(k, 0, th->dtype, r, od);
    }
    k->run = run_affine_grid;
    return ST_OK;
}

/* ---- TensorScatter ----------------------------------------------------------------------
 * present = past_cache with update written along axis at write_indices[b] + s (batch b is
 * axis 0), or modulo the cache length in circular mode. */

typedef struct tsc_state {
    int axis;
    bool circular;
    size_t outer, inner, es;
} tsc_state;

static st_status run_tensor_scatter(st_kctx *k, st_error *err) {
    const tsc_state *st = k->state;
    const st_tensor *p = st_in(k, 0), *u = st_in(k, 1), *wi = st_in(k, 2);
    st_tensor *y = st_out(k, 0, p->dtype, p->ndim, p->dims, err);
    if (!y) return st_tsr_out_status(k, 0, err);
    memcpy(y->data, p->data, st_tensor_nbytes(p));
    int64_t maxl = p->dims[st->axis], len = u->dims[st->axis];
    size_t per_b = st->outer / (size_t)(p->dims[0] ? p->dims[0] : 1), blk = st->inner * st->es;
    for (size_t o = 0; o < st->outer; o++) {
        int64_t b = st->axis == 0 ? 0 : (int64_t)(o / (per_b ? per_b : 1));
        int64_t w0 = wi ? st_tensor_get_i64(wi, (size_t)b) : 0;
        for (int64_t sidx = 0; sidx < len; sidx++) {
            int64_t c = w0 + sidx;
            if (st->circular) c = ((c % maxl) + maxl) % maxl;
            if (c < 0 || c >= maxl)
                return ST_KERR(err, ST_ERR_INVALID, "write index %lld is outside [0, %lld)",
                               (long long)c, (long long)maxl);
            memcpy((char *)y->data + ((o * (size_t)maxl + (size_t)c) * blk),
                   (const char *)u->data + ((o * (size_t)len + (size_t)sidx) * blk), blk);
        }
    }
    return st_tsr_own_strings(y, 0, st_tensor_nelem(y), err);
}

st_status st_tsr_prep_tensor_scatter(st_kctx *k, st_error *err) {
    const st_tensor *p = st_in(k, 0), *u = st_in(k, 1), *wi = st_in(k, 2);
    if (!p || !u || u->dtype != p->dtype || u->ndim != p->ndim || p->ndim < 2)
        return st_errorf(err, ST_ERR_INVALID,
                         "TensorScatter needs past_cache and update of one type and rank >= 2");
    tsc_state st = {.es = st_dtype_size(p->dtype)};
    st_status s = st_norm_axis(st_attr_int(k->node, "axis", -2), p->ndim, &st.axis, err);
    if (s) return s;
    if (st.axis == 0) return st_errorf(err, ST_ERR_INVALID, "axis cannot be the batch axis 0");
    const char *mode = st_attr_string(k->node, "mode", "linear");
    st.circular = !strcmp(mode, "circular");
    if (!st.circular && strcmp(mode, "linear"))
        return st_errorf(err, ST_ERR_INVALID, "mode must be linear or circular, got \"%s\"", mode);
    for (int d = 0; d < p->ndim; d++)
        if (d == st.axis ? u->dims[d] > p->dims[d] : u->dims[d] != p->dims[d])
            return st_errorf(err, ST_ERR_INVALID, "update does not fit past_cache on axis %d", d);
    if (wi && (wi->dtype != ST_DTYPE_I64 || wi->ndim != 1 || wi->dims[0] != p->dims[0]))
        return st_errorf(err, ST_ERR_INVALID, "write_indices must be int64 [%lld]",
                         (long long)p->dims[0]);
    if ((s = st_shape_nelem(st.axis, p->dims, &st.outer, err)) ||
        (s = st_shape_nelem(p->ndim - st.axis - 1, p->dims + st.axis + 1, &st.inner, err)))
        return s;
    tsc_state *ps = st_malloc(sizeof *ps);
    if (!ps) return st_error_nomem(err);
    *ps = st;
    st_tsr_declare(k, 0, p->dtype, p->ndim, p->dims);
    k->state = ps;
    k->run = run_tensor_scatter;
    return ST_OK;
}
