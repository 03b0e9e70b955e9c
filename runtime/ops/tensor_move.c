/* runtime/ops/tensor_move.c: ops that move whole elements without looking at them:
 * Transpose, Concat, Split, Slice, Expand, Tile, Pad, DepthToSpace, SpaceToDepth,
 * ReverseSequence. Each reduces to a strided or index-mapped copy (tensor.c) by byte size,
 * so every dtype works; string outputs then take their own copies of the bytes.
 * Shapes that depend on non-constant inputs are left undeclared and computed at run. */
#include <string.h>

#include "tensor_impl.h"

static void contig(int nd, const int64_t *dims, int64_t *s) { st_contig_strides(nd, dims, s); }

/* Static inference when output 0's extents follow run-time inputs: only dtype and rank. */
static void declare_rank(st_kctx *k, st_dtype dtype, int ndim) {
    int64_t dims[ST_MAX_RANK];
    for (int d = 0; d < ndim; d++) dims[d] = -1;
    if (st_has_out(k, 0)) st_out_declare_type(k, 0, dtype, ndim, dims);
}

/* Copy x into a fresh output 0 through strides ss over dims (ndim), then own strings. */
static st_status out_strided(st_kctx *k, int oi, const st_tensor *x, int ondim,
                             const int64_t *odims, int vnd, const int64_t *vdims, const int64_t *ss,
                             int64_t base, st_error *err) {
    st_tensor *y = st_out(k, oi, x->dtype, ondim, odims, err);
    if (!y) return st_tsr_out_status(k, oi, err);
    size_t es = st_dtype_size(x->dtype);
    int64_t ds[ST_TSR_MAXD];
    contig(vnd, vdims, ds);
    st_tsr_copy_strided(k->pool, vnd, vdims, y->data, ds,
                        (const char *)x->data + base * (int64_t)es, ss, es);
    return st_tsr_own_strings(y, 0, st_tensor_nelem(y), err);
}

/* ==== Transpose ======================================================================= */

static st_status transpose_perm(st_kctx *k, const st_tensor *x, int *perm, st_error *err) {
    const int64_t *p;
    size_t n = st_attr_ints(k->node, "perm", &p);
    int r = x->ndim;
    if (!n) {
        for (int i = 0; i < r; i++) perm[i] = r - 1 - i;
        return ST_OK;
    }
    if ((int)n != r)
        return st_errorf(err, ST_ERR_INVALID, "perm has %zu entries for rank %d", n, r);
    bool seen[ST_MAX_RANK] = {0};
    for (int i = 0; i < r; i++) {
        if (p[i] < 0 || p[i] >= r || seen[p[i]])
            return st_errorf(err, ST_ERR_INVALID, "perm is not a permutation of 0..%d", r - 1);
        seen[p[i]] = true;
        perm[i] = (int)p[i];
    }
    return ST_OK;
}

static st_status run_transpose(st_kctx *k, st_error *err) {
    const st_tensor *x = st_in(k, 0);
    int perm[ST_MAX_RANK];
    st_status s = transpose_perm(k, x, perm, err);
    if (s) return s;
    int64_t xs[ST_MAX_RANK], ss[ST_MAX_RANK], dims[ST_MAX_RANK];
    contig(x->ndim, x->dims, xs);
    for (int i = 0; i < x->ndim; i++) {
        dims[i] = x->dims[perm[i]];
        ss[i] = xs[perm[i]];
    }
    return out_strided(k, 0, x, x->ndim, dims, x->ndim, dims, ss, 0, err);
}

st_status st_tsr_prep_transpose(st_kctx *k, st_error *err) {
    const st_tensor *x = st_in(k, 0);
    if (!x) return st_errorf(err, ST_ERR_INVALID, "Transpose needs a tensor input");
    int perm[ST_MAX_RANK];
    st_status s = transpose_perm(k, x, perm, err);
    if (s) return s;
    int64_t dims[ST_MAX_RANK];
    for (int i = 0; i < x->ndim; i++) dims[i] = x->dims[perm[i]];
    st_tsr_declare(k, 0, x->dtype, x->ndim, dims);
    k->run = run_transpose;
    return ST_OK;
}

/* ==== Concat ========================================================================== */

static st_status concat_shape(st_kctx *k, int *axis, int64_t *dims, st_error *err) {
    const st_tensor *x0 = NULL;
    for (int i = 0; i < k->n_in && !x0; i++) x0 = st_in(k, i);
    if (!x0) return st_errorf(err, ST_ERR_INVALID, "Concat needs at least one input");
    int r = x0->ndim;
    if (r == 0) return st_errorf(err, ST_ERR_INVALID, "Concat inputs must have rank >= 1");
    if (k->opset >= 4 && !st_node_attr(k->node, "axis"))
        return st_errorf(err, ST_ERR_INVALID, "Concat needs the axis attribute");
    int a;
    st_status s = st_norm_axis(st_attr_int(k->node, "axis", 1), r, &a, err);
    if (s) return s;
    memcpy(dims, x0->dims, (size_t)r * sizeof *dims);
    dims[a] = 0;
    for (int i = 0; i < k->n_in; i++) {
        const st_tensor *x = st_in(k, i);
        if (!x) continue;
        if (x->dtype != x0->dtype || x->ndim != r)
            return st_errorf(err, ST_ERR_INVALID, "Concat input %d differs in type or rank", i);
        for (int d = 0; d < r; d++)
            if (d != a && x->dims[d] != x0->dims[d])
                return st_errorf(err, ST_ERR_INVALID,
                                 "Concat input %d has dim %d = %lld, expected %lld", i, d,
                                 (long long)x->dims[d], (long long)x0->dims[d]);
        dims[a] += x->dims[a];
    }
    *axis = a;
    return ST_OK;
}

static st_status run_concat(st_kctx *k, st_error *err) {
    int a;
    int64_t dims[ST_MAX_RANK];
    st_status s = concat_shape(k, &a, dims, err);
    if (s) return s;
    const st_tensor *x0 = NULL;
    for (int i = 0; i < k->n_in && !x0; i++) x0 = st_in(k, i);
    int r = x0->ndim;
    st_tensor *y = st_out(k, 0, x0->dtype, r, dims, err);
    if (!y) return st_tsr_out_status(k, 0, err);
    size_t es = st_dtype_size(y->dtype);
    int64_t ys[ST_MAX_RANK], xs[ST_MAX_RANK], off = 0;
    contig(r, dims, ys);
    for (int i = 0; i < k->n_in; i++) {
        const st_tensor *x = st_in(k, i);
        if (!x) continue;
        contig(r, x->dims, xs);
        st_tsr_copy_strided(k->pool, r, x->dims, (char *)y->data + off * ys[a] * (int64_t)es, ys,
                            x->data, xs, es);
        off += x->dims[a];
    }
    return st_tsr_own_strings(y, 0, st_tensor_nelem(y), err);
}

st_status st_tsr_prep_concat(st_kctx *k, st_error *err) {
    int a;
    int64_t dims[ST_MAX_RANK];
    st_status s = concat_shape(k, &a, dims, err);
    if (s) return s;
    const st_tensor *x0 = NULL;
    for (int i = 0; i < k->n_in && !x0; i++) x0 = st_in(k, i);
    st_tsr_declare(k, 0, x0->dtype, x0->ndim, dims);
    k->run = run_concat;
    return ST_OK;
}

/* ==== Split =========================================================================== */

/* Sizes of the n_out parts along the axis; `have` is false when they depend on a
 * non-constant input (prepare only). */
static st_status split_sizes(st_kctx *k, const st_tensor *x, bool at_run, int *axis, int64_t *sizes,
                             bool *have, st_error *err) {
    int n = k->n_out;
    if (x->ndim == 0) return st_errorf(err, ST_ERR_INVALID, "Split input must have rank >= 1");
    st_status s = st_norm_axis(st_attr_int(k->node, "axis", 0), x->ndim, axis, err);
    if (s) return s;
    int64_t dim = x->dims[*axis];
    bool from_input = k->opset >= 13 || (k->opset < 2 && st_has_in(k, 1));
    size_t m = 0;
    *have = true;
    if (from_input && st_has_in(k, 1)) {
        const st_tensor *t = at_run ? st_in(k, 1) : st_in_const(k, 1);
        if (!t) {
            *have = false;
            return ST_OK;
        }
        if ((s = st_tsr_ints(t, (size_t)n, sizes, &m, "split", err))) return s;
        if (!m) from_input = false; /* an empty split tensor means equal parts */
    } else if (!from_input) {
        const int64_t *v;
        m = st_attr_ints(k->node, "split", &v);
        if (m > (size_t)n)
            return st_errorf(err, ST_ERR_INVALID, "split has %zu entries for %d outputs", m, n);
        if (m) memcpy(sizes, v, m * sizeof *v);
    }
    if (m) {
        if ((int)m != n)
            return st_errorf(err, ST_ERR_INVALID, "split has %zu entries for %d outputs", m, n);
        int64_t sum = 0;
        for (size_t i = 0; i < m; i++) {
            if (sizes[i] < 0) return st_errorf(err, ST_ERR_INVALID, "split entry is negative");
            sum += sizes[i];
        }
        if (sum != dim)
            return st_errorf(err, ST_ERR_INVALID, "split sums to %lld but the axis has %lld",
                             (long long)sum, (long long)dim);
        return ST_OK;
    }
    if (n <= 0) return st_errorf(err, ST_ERR_INVALID, "Split has no outputs");
    int64_t nout = st_attr_int(k->node, "num_outputs", 0);
    if (k->opset >= 18 && nout && nout != n)
        return st_errorf(err, ST_ERR_INVALID, "num_outputs is %lld but the node has %d outputs",
                         (long long)nout, n);
    if (dim % n && k->opset >= 18 && nout) { /* Split-18: parts of ceil(dim / n), the last less */
        int64_t chunk = (dim + n - 1) / n, last = dim - chunk * (n - 1);
        if (last < 0)
            return st_errorf(err, ST_ERR_INVALID, "axis of %lld cannot be split into %d parts",
                             (long long)dim, n);
        for (int i = 0; i < n; i++) sizes[i] = i < n - 1 ? chunk : last;
        return ST_OK;
    }
    if (dim % n)
        return st_errorf(err, ST_ERR_INVALID, "axis of %lld cannot be split into %d equal parts",
                         (long long)dim, n);
    for (int i = 0; i < n; i++) sizes[i] = dim / n;
    return ST_OK;
}

static st_status run_split(st_kctx *k, st_error *err) {
    const st_tensor *x = st_in(k, 0);
    int64_t *sizes = st_calloc((size_t)k->n_out + 1, sizeof *sizes);
    if (!sizes) return st_error_nomem(err);
    int a;
    bool have;
    st_status s = split_sizes(k, x, true, &a, sizes, &have, err);
    if (s) goto fail;
    int64_t xs[ST_MAX_RANK], dims[ST_MAX_RANK], off = 0;
    contig(x->ndim, x->dims, xs);
    memcpy(dims, x->dims, (size_t)x->ndim * sizeof *dims);
    for (int i = 0; i < k->n_out; i++) {
        dims[a] = sizes[i];
        if (st_has_out(k, i) &&
            (s = out_strided(k, i, x, x->ndim, dims, x->ndim, dims, xs, off * xs[a], err)))
            goto fail;
        off += sizes[i];
    }
fail:
    st_free(sizes);
    return s;
}

st_status st_tsr_prep_split(st_kctx *k, st_error *err) {
    const st_tensor *x = st_in(k, 0);
    if (!x) return st_errorf(err, ST_ERR_INVALID, "Split needs a tensor input");
    int64_t *sizes = st_calloc((size_t)k->n_out + 1, sizeof *sizes);
    if (!sizes) return st_error_nomem(err);
    int a;
    bool have;
    st_status s = split_sizes(k, x, false, &a, sizes, &have, err);
    if (s) goto fail;
    if (have) {
        int64_t dims[ST_MAX_RANK];
        memcpy(dims, x->dims, (size_t)x->ndim * sizeof *dims);
        for (int i = 0; i < k->n_out; i++) {
            dims[a] = sizes[i];
            st_tsr_declare(k, i, x->dtype, x->ndim, dims);
        }
    } else {
        int64_t dims[ST_MAX_RANK]; /* the split sizes are run-time values */
        memcpy(dims, x->dims, (size_t)x->ndim * sizeof *dims);
        dims[a] = -1;
        for (int i = 0; i < k->n_out; i++)
            if (st_has_out(k, i)) st_out_declare_type(k, i, x->dtype, x->ndim, dims);
    }
    k->run = run_split;
fail:
    st_free(sizes);
    return s;
}

/* ==== Slice =========================================================================== */

typedef struct slice_plan {
    int64_t dims[ST_MAX_RANK]; /* output dims */
    int64_t ss[ST_MAX_RANK];   /* source strides (step applied) */
    int64_t base;              /* source offset of the first element */
} slice_plan;

/* ready = false when a needed input is not constant (prepare only). */
static st_status slice_make(st_kctx *k, const st_tensor *x, bool at_run, slice_plan *p, bool *ready,
                            st_error *err) {
    int r = x->ndim;
    int64_t st[ST_MAX_RANK], en[ST_MAX_RANK], ax[ST_MAX_RANK], sp[ST_MAX_RANK];
    size_t ns, ne, na = 0, nsp = 0;
    st_status s;
    *ready = true;
    if (k->opset < 10) {
        const int64_t *v;
        ns = st_attr_ints(k->node, "starts", &v);
        if (ns > ST_MAX_RANK) return st_errorf(err, ST_ERR_INVALID, "too many starts");
        memcpy(st, v, ns * sizeof *v);
        ne = st_attr_ints(k->node, "ends", &v);
        if (ne > ST_MAX_RANK) return st_errorf(err, ST_ERR_INVALID, "too many ends");
        memcpy(en, v, ne * sizeof *v);
        if (st_node_attr(k->node, "axes")) {
            na = st_attr_ints(k->node, "axes", &v);
            if (na > ST_MAX_RANK) return st_errorf(err, ST_ERR_INVALID, "too many axes");
            memcpy(ax, v, na * sizeof *v);
        } else {
            na = ns;
            for (size_t i = 0; i < na; i++) ax[i] = (int64_t)i;
        }
        nsp = ns;
        for (size_t i = 0; i < nsp; i++) sp[i] = 1;
    } else {
        const st_tensor *t[5];
        for (int i = 1; i < 5; i++) {
            t[i] = at_run ? st_in(k, i) : st_in_const(k, i);
            if (st_has_in(k, i) && !t[i]) {
                *ready = false;
                return ST_OK;
            }
        }
        if ((s = st_tsr_ints(t[1], ST_MAX_RANK, st, &ns, "starts", err)) ||
            (s = st_tsr_ints(t[2], ST_MAX_RANK, en, &ne, "ends", err)))
            return s;
        if (t[3]) {
            if ((s = st_tsr_ints(t[3], ST_MAX_RANK, ax, &na, "axes", err))) return s;
        } else {
            na = ns;
            for (size_t i = 0; i < na; i++) ax[i] = (int64_t)i;
        }
        if (t[4]) {
            if ((s = st_tsr_ints(t[4], ST_MAX_RANK, sp, &nsp, "steps", err))) return s;
        } else {
            nsp = ns;
            for (size_t i = 0; i < nsp; i++) sp[i] = 1;
        }
    }
    if (ne != ns || na != ns || nsp != ns)
        return st_errorf(err, ST_ERR_INVALID, "starts, ends, axes and steps differ in length");
    int axn[ST_MAX_RANK];
    if ((s = st_tsr_axes(ax, na, r, axn, err))) return s;
    int64_t xs[ST_MAX_RANK];
    contig(r, x->dims, xs);
    int64_t start[ST_MAX_RANK], step[ST_MAX_RANK];
    for (int d = 0; d < r; d++) {
        start[d] = 0;
        step[d] = 1;
        p->dims[d] = x->dims[d];
    }
    for (size_t i = 0; i < ns; i++) {
        int d = axn[i];
        int64_t n = x->dims[d], b = st[i], e = en[i], c = sp[i];
        if (c == 0) return st_errorf(err, ST_ERR_INVALID, "slice step is 0");
        if (b < 0) b = b < INT64_MIN + n ? -1 : b + n;
        if (e < 0) e = e < INT64_MIN + n + 1 ? -1 : e + n;
        int64_t cnt;
        if (c > 0) {
            b = ST_MAX(0, ST_MIN(b, n));
            e = ST_MAX(0, ST_MIN(e, n));
            cnt = e > b ? (e - b + c - 1) / c : 0;
        } else {
            b = ST_MAX(-1, ST_MIN(b, n - 1));
            e = ST_MAX(-1, ST_MIN(e, n - 1));
            cnt = b > e ? (b - e + (-c) - 1) / (-c) : 0;
        }
        start[d] = cnt ? b : 0;
        step[d] = c;
        p->dims[d] = cnt;
    }
    p->base = 0;
    for (int d = 0; d < r; d++) {
        p->base += start[d] * xs[d];
        p->ss[d] = xs[d] * step[d];
    }
    return ST_OK;
}

static st_status run_slice(st_kctx *k, st_error *err) {
    const st_tensor *x = st_in(k, 0);
    slice_plan p;
    bool ready;
    st_status s = slice_make(k, x, true, &p, &ready, err);
    if (s) return s;
    return out_strided(k, 0, x, x->ndim, p.dims, x->ndim, p.dims, p.ss, p.base, err);
}

st_status st_tsr_prep_slice(st_kctx *k, st_error *err) {
    const st_tensor *x = st_in(k, 0);
    if (!x) return st_errorf(err, ST_ERR_INVALID, "Slice needs a tensor input");
    slice_plan p;
    bool ready;
    st_status s = slice_make(k, x, false, &p, &ready, err);
    if (s) return s;
    if (ready) st_tsr_declare(k, 0, x->dtype, x->ndim, p.dims);
    else declare_rank(k, x->dtype, x->ndim); /* starts, ends, axes or steps at run time */
    k->run = run_slice;
    return ST_OK;
}

/* ==== Expand ========================================================================== */

static st_status expand_dims(const st_tensor *x, const st_tensor *shape, int *nd, int64_t *dims,
                             st_error *err) {
    int64_t sh[ST_MAX_RANK];
    size_t n;
    st_status s = st_tsr_ints(shape, ST_MAX_RANK, sh, &n, "shape", err);
    if (s) return s;
    st_tensor t = {.dtype = x->dtype, .ndim = (int)n};
    for (size_t i = 0; i < n; i++) {
        if (sh[i] < 0) return st_errorf(err, ST_ERR_INVALID, "Expand shape has a negative entry");
        t.dims[i] = sh[i];
    }
    const st_tensor *ts[2] = {x, &t};
    if ((s = st_broadcast_shape(2, ts, nd, dims, err))) return s;
    size_t total;
    return st_shape_nelem(*nd, dims, &total, err);
}

static st_status run_expand(st_kctx *k, st_error *err) {
    const st_tensor *x = st_in(k, 0);
    int nd;
    int64_t dims[ST_MAX_RANK], ss[ST_MAX_RANK];
    st_status s = expand_dims(x, st_in(k, 1), &nd, dims, err);
    if (s) return s;
    st_broadcast_strides(x, nd, dims, ss);
    return out_strided(k, 0, x, nd, dims, nd, dims, ss, 0, err);
}

/* Static inference when the target shape is a run-time value: its length gives the rank
 * (when known) and x's extents other than 1 survive broadcasting. */
static void expand_declare_type(st_kctx *k, const st_tensor *x, const st_tensor *shape) {
    if (!shape || shape->ndim != 1 || shape->dims[0] < 0 || shape->dims[0] > ST_MAX_RANK) {
        st_out_declare_type(k, 0, x->dtype, -1, NULL);
        return;
    }
    int n = (int)shape->dims[0], nd = ST_MAX(n, x->ndim);
    int64_t dims[ST_MAX_RANK];
    for (int d = 0; d < nd; d++) {
        int xd = d - (nd - x->ndim);
        /* axes the shape does not reach keep x's extent; elsewhere only non-1 ones survive */
        dims[d] = xd >= 0 && (x->dims[xd] != 1 || d < nd - n) ? x->dims[xd] : -1;
    }
    st_out_declare_type(k, 0, x->dtype, nd, dims);
}

st_status st_tsr_prep_expand(st_kctx *k, st_error *err) {
    const st_tensor *x = st_in(k, 0);
    if (!x || !st_has_in(k, 1)) return st_errorf(err, ST_ERR_INVALID, "Expand needs two inputs");
    k->run = run_expand;
    const st_tensor *sh = st_in_const(k, 1);
    if (!sh) {
        expand_declare_type(k, x, st_in(k, 1));
        return ST_OK;
    }
    int nd;
    int64_t dims[ST_MAX_RANK];
    st_status s = expand_dims(x, sh, &nd, dims, err);
    if (s) return s;
    st_tsr_declare(k, 0, x->dtype, nd, dims);
    return ST_OK;
}

/* ==== Tile ============================================================================ */

static st_status tile_reps(st_kctx *k, const st_tensor *x, bool at_run, int64_t *reps, bool *ready,
                           st_error *err) {
    int r = x->ndim;
    *ready = true;
    const st_tensor *t = at_run ? st_in(k, 1) : st_in_const(k, 1);
    if (!st_has_in(k, 1)) return st_errorf(err, ST_ERR_INVALID, "Tile needs repeats");
    if (!t) {
        *ready = false;
        return ST_OK;
    }
    size_t n;
    st_status s;
    if (k->opset < 6) {
        /* Tile-1: tiles (scalar count) and axis (scalar) inputs. */
        const st_tensor *at = at_run ? st_in(k, 2) : st_in_const(k, 2);
        if (!at) {
            if (!st_has_in(k, 2)) return st_errorf(err, ST_ERR_INVALID, "Tile-1 needs axis");
            *ready = false;
            return ST_OK;
        }
        if (st_tensor_nelem(t) != 1 || st_tensor_nelem(at) != 1)
            return st_errorf(err, ST_ERR_INVALID, "Tile-1 tiles and axis must be scalars");
        int a;
        if ((s = st_norm_axis(st_tensor_get_i64(at, 0), r, &a, err))) return s;
        for (int d = 0; d < r; d++) reps[d] = 1;
        reps[a] = st_tensor_get_i64(t, 0);
        n = (size_t)r;
    } else if ((s = st_tsr_ints(t, ST_MAX_RANK, reps, &n, "repeats", err))) {
        return s;
    }
    if ((int)n != r)
        return st_errorf(err, ST_ERR_INVALID, "repeats has %zu entries for rank %d", n, r);
    for (int d = 0; d < r; d++)
        if (reps[d] < 0) return st_errorf(err, ST_ERR_INVALID, "repeats has a negative entry");
    return ST_OK;
}

static st_status tile_dims(const st_tensor *x, const int64_t *reps, int64_t *dims, st_error *err) {
    for (int d = 0; d < x->ndim; d++)
        if (!st_mul_i64_ok(x->dims[d], reps[d], &dims[d]))
            return st_errorf(err, ST_ERR_LIMIT, "Tile output too large");
    size_t total;
    return st_shape_nelem(x->ndim, dims, &total, err);
}

static st_status run_tile(st_kctx *k, st_error *err) {
    const st_tensor *x = st_in(k, 0);
    int64_t reps[ST_MAX_RANK], dims[ST_MAX_RANK];
    bool ready;
    st_status s = tile_reps(k, x, true, reps, &ready, err);
    if (s || (s = tile_dims(x, reps, dims, err))) return s;
    /* Each output dim d splits into (repeat, index): source strides (0, x stride). */
    int64_t xs[ST_MAX_RANK], vd[ST_TSR_MAXD], vs[ST_TSR_MAXD];
    contig(x->ndim, x->dims, xs);
    for (int d = 0; d < x->ndim; d++) {
        vd[2 * d] = reps[d];
        vd[2 * d + 1] = x->dims[d];
        vs[2 * d] = 0;
        vs[2 * d + 1] = xs[d];
    }
    return out_strided(k, 0, x, x->ndim, dims, 2 * x->ndim, vd, vs, 0, err);
}

st_status st_tsr_prep_tile(st_kctx *k, st_error *err) {
    const st_tensor *x = st_in(k, 0);
    if (!x) return st_errorf(err, ST_ERR_INVALID, "Tile needs a tensor input");
    int64_t reps[ST_MAX_RANK], dims[ST_MAX_RANK];
    bool ready;
    st_status s = tile_reps(k, x, false, reps, &ready, err);
    if (s) return s;
    k->run = run_tile;
    if (!ready) {
        declare_rank(k, x->dtype, x->ndim); /* the repeats are run-time values */
        return ST_OK;
    }
    if ((s = tile_dims(x, reps, dims, err))) return s;
    st_tsr_declare(k, 0, x->dtype, x->ndim, dims);
    return ST_OK;
}

/* ==== Pad ============================================================================= */

typedef enum { PAD_CONSTANT, PAD_REFLECT, PAD_EDGE, PAD_WRAP } pad_mode;

/* Pad-18's axes input: pads (n entries) name only those axes; spread them over all r. */
static st_status pad_axes(st_kctx *k, int r, bool at_run, int64_t *pads, size_t *n, bool *ready,
                          st_error *err) {
    const st_tensor *t = at_run ? st_in(k, 3) : st_in_const(k, 3);
    if (!t) {
        *ready = false;
        return ST_OK;
    }
    int64_t ax[ST_MAX_RANK];
    int axn[ST_MAX_RANK];
    size_t na;
    st_status s = st_tsr_ints(t, ST_MAX_RANK, ax, &na, "axes", err);
    if (s || (s = st_tsr_axes(ax, na, r, axn, err))) return s;
    if (*n != 2 * na)
        return st_errorf(err, ST_ERR_INVALID, "pads has %zu entries for %zu axes", *n, na);
    int64_t full[2 * ST_MAX_RANK] = {0};
    for (size_t i = 0; i < na; i++) {
        full[axn[i]] = pads[i];
        full[axn[i] + r] = pads[i + na];
    }
    memcpy(pads, full, 2 * (size_t)r * sizeof *pads);
    *n = 2 * (size_t)r;
    return ST_OK;
}

static st_status pad_params(st_kctx *k, const st_tensor *x, bool at_run, pad_mode *mode,
                            int64_t *pads, bool *ready, st_error *err) {
    int r = x->ndim;
    const char *m = st_attr_string(k->node, "mode", "constant");
    if (!strcmp(m, "constant")) *mode = PAD_CONSTANT;
    else if (!strcmp(m, "reflect")) *mode = PAD_REFLECT;
    else if (!strcmp(m, "edge")) *mode = PAD_EDGE;
    else if (!strcmp(m, "wrap") && k->opset >= 19) *mode = PAD_WRAP;
    else return st_errorf(err, ST_ERR_UNSUPPORTED, "Pad mode \"%s\" is not supported", m);
    *ready = true;
    size_t n;
    st_status s;
    if (k->opset < 11) {
        const int64_t *v;
        n = st_attr_ints(k->node, k->opset < 2 ? "paddings" : "pads", &v);
        if (n > 2 * ST_MAX_RANK) return st_errorf(err, ST_ERR_INVALID, "too many pads");
        memcpy(pads, v, n * sizeof *v);
    } else {
        const st_tensor *t = at_run ? st_in(k, 1) : st_in_const(k, 1);
        if (!t) {
            if (!st_has_in(k, 1)) return st_errorf(err, ST_ERR_INVALID, "Pad needs pads");
            *ready = false;
            return ST_OK;
        }
        if ((s = st_tsr_ints(t, 2 * ST_MAX_RANK, pads, &n, "pads", err))) return s;
        if (k->opset >= 18 && st_has_in(k, 3) && (s = pad_axes(k, r, at_run, pads, &n, ready, err)))
            return s;
        if (!*ready) return ST_OK;
    }
    if ((int)n != 2 * r)
        return st_errorf(err, ST_ERR_INVALID, "pads has %zu entries for rank %d", n, r);
    for (int d = 0; d < r; d++) {
        int64_t o = x->dims[d] + pads[d] + pads[d + r];
        if (o < 0) return st_errorf(err, ST_ERR_INVALID, "pads make dim %d negative", d);
        if (*mode != PAD_CONSTANT && x->dims[d] == 0 && o > 0)
            return st_errorf(err, ST_ERR_INVALID, "cannot %s-pad an empty dim", m);
    }
    return ST_OK;
}

static st_status run_pad(st_kctx *k, st_error *err) {
    const st_tensor *x = st_in(k, 0);
    int r = x->ndim;
    pad_mode mode;
    int64_t pads[2 * ST_MAX_RANK], dims[ST_MAX_RANK], xs[ST_MAX_RANK];
    bool ready;
    st_status s = pad_params(k, x, true, &mode, pads, &ready, err);
    if (s) return s;
    size_t total = 0;
    for (int d = 0; d < r; d++) {
        dims[d] = x->dims[d] + pads[d] + pads[d + r];
        total += (size_t)dims[d];
    }
    st_tensor *y = st_out(k, 0, x->dtype, r, dims, err);
    if (!y) return st_tsr_out_status(k, 0, err);
    size_t es = st_dtype_size(x->dtype);
    /* The fill value as one element of the output type. */
    uint8_t fill[16] = {0};
    if (mode == PAD_CONSTANT) {
        const st_tensor *cv = k->opset >= 11 ? st_in(k, 2) : NULL;
        if (cv && st_tensor_nelem(cv) >= 1) {
            if (cv->dtype != x->dtype)
                return st_errorf(err, ST_ERR_INVALID, "constant_value type differs from data");
            memcpy(fill, cv->data, es);
        } else if (k->opset < 11) {
            st_tensor t = {.dtype = x->dtype, .data = fill};
            st_tensor_set_f64(&t, 0, st_attr_float(k->node, "value", 0.0));
        }
    }
    int64_t *maps = st_malloc((total ? total : 1) * sizeof *maps);
    if (!maps) return st_error_nomem(err);
    const int64_t *mp[ST_MAX_RANK];
    int64_t *m = maps;
    for (int d = 0; d < r; d++) {
        int64_t n = x->dims[d];
        for (int64_t o = 0; o < dims[d]; o++) {
            int64_t i = o - pads[d];
            if (i < 0 || i >= n) {
                if (mode == PAD_CONSTANT) {
                    i = -1;
                } else if (mode == PAD_EDGE) {
                    i = i < 0 ? 0 : n - 1;
                } else if (mode == PAD_WRAP) {
                    i %= n;
                    if (i < 0) i += n;
                } else if (n == 1) {
                    i = 0;
                } else {
                    int64_t per = 2 * (n - 1);
                    i %= per;
                    if (i < 0) i += per;
                    if (i >= n) i = per - i;
                }
            }
            m[o] = i;
        }
        mp[d] = m;
        m += dims[d];
    }
    contig(r, x->dims, xs);
    st_tsr_copy_mapped(k->pool, r, dims, mp, y->data, x->data, xs, fill, es);
    st_free(maps);
    return st_tsr_own_strings(y, 0, st_tensor_nelem(y), err);
}

st_status st_tsr_prep_pad(st_kctx *k, st_error *err) {
    const st_tensor *x = st_in(k, 0);
    if (!x) return st_errorf(err, ST_ERR_INVALID, "Pad needs a tensor input");
    pad_mode mode;
    int64_t pads[2 * ST_MAX_RANK], dims[ST_MAX_RANK];
    bool ready;
    st_status s = pad_params(k, x, false, &mode, pads, &ready, err);
    if (s) return s;
    k->run = run_pad;
    if (!ready) {
        declare_rank(k, x->dtype, x->ndim); /* the pads are run-time values */
        return ST_OK;
    }
    for (int d = 0; d < x->ndim; d++) dims[d] = x->dims[d] + pads[d] + pads[d + x->ndim];
    st_tsr_declare(k, 0, x->dtype, x->ndim, dims);
    return ST_OK;
}

/* ==== DepthToSpace, SpaceToDepth ====================================================== */

/* The output shape and a 6-D strided view of the input that produces it. */
static st_status d2s_plan(st_kctx *k, bool to_space, int64_t *odims, int64_t *vd, int64_t *vs,
                          st_error *err) {
    const st_tensor *x = st_in(k, 0);
    if (!x || x->ndim != 4) return st_errorf(err, ST_ERR_INVALID, "input must be 4-D (NCHW)");
    int64_t b = st_attr_int(k->node, "blocksize", 0);
    if (b <= 0 || b > (int64_t)1 << 20)
        return st_errorf(err, ST_ERR_INVALID, "blocksize must be positive");
    int64_t N = x->dims[0], C = x->dims[1], H = x->dims[2], W = x->dims[3];
    if (to_space) {
        const char *mode = k->opset >= 11 ? st_attr_string(k->node, "mode", "DCR") : "DCR";
        bool crd = !strcmp(mode, "CRD");
        if (!crd && strcmp(mode, "DCR"))
            return st_errorf(err, ST_ERR_INVALID, "mode must be DCR or CRD, got \"%s\"", mode);
        if (C % (b * b))
            return st_errorf(err, ST_ERR_INVALID, "channels %lld not divisible by blocksize^2",
                             (long long)C);
        int64_t Co = C / (b * b), HW = H * W;
        int64_t sN = C * HW, sC, sb1, sb2;
        if (crd) { /* view [N, C', b, b, H, W] */
            sC = b * b * HW;
            sb1 = b * HW;
            sb2 = HW;
        } else { /* view [N, b, b, C', H, W] */
            sb1 = b * Co * HW;
            sb2 = Co * HW;
            sC = HW;
        }
        int64_t d[6] = {N, Co, H, b, W, b}, s[6] = {sN, sC, W, sb1, 1, sb2};
        memcpy(vd, d, sizeof d);
        memcpy(vs, s, sizeof s);
        int64_t o[4] = {N, Co, H * b, W * b};
        memcpy(odims, o, sizeof o);
        return ST_OK;
    }
    if (H % b || W % b)
        return st_errorf(err, ST_ERR_INVALID, "spatial dims not divisible by blocksize");
    int64_t Ho = H / b, Wo = W / b;
    /* input view [N, C, H', b1, W', b2] read in order [N, b1, b2, C, H', W'] */
    int64_t d[6] = {N, b, b, C, Ho, Wo}, s[6] = {C * H * W, W, 1, H * W, b * W, b};
    memcpy(vd, d, sizeof d);
    memcpy(vs, s, sizeof s);
    int64_t o[4] = {N, C * b * b, Ho, Wo};
    memcpy(odims, o, sizeof o);
    return ST_OK;
}

static st_status run_d2s(st_kctx *k, st_error *err) {
    int64_t od[4], vd[6], vs[6];
    bool to_space = !strcmp(k->node->op_type, "DepthToSpace");
    st_status s = d2s_plan(k, to_space, od, vd, vs, err);
    if (s) return s;
    return out_strided(k, 0, st_in(k, 0), 4, od, 6, vd, vs, 0, err);
}

static st_status prep_d2s_common(st_kctx *k, bool to_space, st_error *err) {
    int64_t od[4], vd[6], vs[6];
    st_status s = d2s_plan(k, to_space, od, vd, vs, err);
    if (s) return s;
    st_tsr_declare(k, 0, st_in(k, 0)->dtype, 4, od);
    k->run = run_d2s;
    return ST_OK;
}

st_status st_tsr_prep_d2s(st_kctx *k, st_error *err) { return prep_d2s_common(k, true, err); }
st_status st_tsr_prep_s2d(st_kctx *k, st_error *err) { return prep_d2s_common(k, false, err); }

/* ==== ReverseSequence ================================================================= */

static st_status revseq_axes(st_kctx *k, int *ta, int *ba, st_error *err) {
    const st_tensor *x = st_in(k, 0), *l = st_in(k, 1);
    if (!x || x->ndim < 2) return st_errorf(err, ST_ERR_INVALID, "input needs rank >= 2");
    int64_t t = st_attr_int(k->node, "time_axis", 0), b = st_attr_int(k->node, "batch_axis", 1);
    if ((t != 0 && t != 1) || (b != 0 && b != 1) || t == b)
        return st_errorf(err, ST_ERR_INVALID, "time_axis and batch_axis must be 0 and 1");
    if (!l || l->ndim != 1 || l->dims[0] != x->dims[b] || !st_dtype_is_int(l->dtype))
        return st_errorf(err, ST_ERR_INVALID, "sequence_lens must be 1-D of the batch size");
    *ta = (int)t;
    *ba = (int)b;
    return ST_OK;
}

static st_status run_revseq(st_kctx *k, st_error *err) {
    const st_tensor *x = st_in(k, 0), *l = st_in(k, 1);
    int ta = 0, ba = 0;
    st_status s = revseq_axes(k, &ta, &ba, err);
    if (s) return s;
    int64_t T = x->dims[ta], B = x->dims[ba];
    for (int64_t b = 0; b < B; b++) {
        int64_t len = st_tensor_get_i64(l, (size_t)b);
        if (len < 0 || len > T)
            return st_errorf(err, ST_ERR_INVALID, "sequence length %lld outside [0, %lld]",
                             (long long)len, (long long)T);
    }
    st_tensor *y = st_out(k, 0, x->dtype, x->ndim, x->dims, err);
    if (!y) return st_tsr_out_status(k, 0, err);
    size_t es = st_dtype_size(x->dtype);
    int64_t xs[ST_MAX_RANK], rd[ST_MAX_RANK], rs[ST_MAX_RANK];
    contig(x->ndim, x->dims, xs);
    int rn = 0;
    for (int d = 2; d < x->ndim; d++) {
        rd[rn] = x->dims[d];
        rs[rn++] = xs[d];
    }
    for (int64_t b = 0; b < B; b++) {
        int64_t len = st_tensor_get_i64(l, (size_t)b);
        for (int64_t t = 0; t < T; t++) {
            int64_t src_t = t < len ? len - 1 - t : t;
            int64_t so = b * xs[ba] + src_t * xs[ta], dof = b * xs[ba] + t * xs[ta];
            st_tsr_copy_strided(k->pool, rn, rd, (char *)y->data + dof * (int64_t)es, rs,
                                (const char *)x->data + so * (int64_t)es, rs, es);
        }
    }
    return st_tsr_own_strings(y, 0, st_tensor_nelem(y), err);
}

st_status st_tsr_prep_revseq(st_kctx *k, st_error *err) {
    int ta = 0, ba = 0;
    st_status s = revseq_axes(k, &ta, &ba, err);
    if (s) return s;
    const st_tensor *x = st_in(k, 0);
    st_tsr_declare(k, 0, x->dtype, x->ndim, x->dims);
    k->run = run_revseq;
    return ST_OK;
}
