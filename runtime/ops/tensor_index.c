/* runtime/ops/tensor_index.c: ops driven by index or mask data: Gather, GatherElements,
 * GatherND, Scatter/ScatterElements, ScatterND, OneHot, NonZero, Compress, Unique.
 * Every index read from data is range-checked (negative ones wrap once) before it is used;
 * an index out of range is an error, never an out-of-bounds read. */
#include <stdlib.h>
#include <string.h>

#include "tensor_impl.h"

/* Copy n elements of es bytes (a single element avoids a memcpy call on hot paths). */
static inline void copy_elems(void *dst, const void *src, size_t n, size_t es) {
    if (n == 1) {
        switch (es) {
        case 1: *(uint8_t *)dst = *(const uint8_t *)src; return;
        case 2: memcpy(dst, src, 2); return;
        case 4: memcpy(dst, src, 4); return;
        case 8: memcpy(dst, src, 8); return;
        default: break;
        }
    }
    memcpy(dst, src, n * es);
}

static st_status check_index_type(const st_tensor *t, const char *what, st_error *err) {
    if (!t) return st_errorf(err, ST_ERR_INVALID, "%s is missing", what);
    if (t->dtype != ST_DTYPE_I32 && t->dtype != ST_DTYPE_I64)
        return st_errorf(err, ST_ERR_INVALID, "%s must be int32 or int64, got %s", what,
                         st_dtype_name(t->dtype));
    return ST_OK;
}

/* Index element i wrapped into [0, n), or an error naming the bad value. */
static inline st_status wrap_index(const st_tensor *t, size_t i, int64_t n, int64_t *out,
                                   st_error *err) {
    int64_t v =
        t->dtype == ST_DTYPE_I32 ? ((const int32_t *)t->data)[i] : ((const int64_t *)t->data)[i];
    int64_t w = v < 0 ? v + n : v;
    if (w < 0 || w >= n)
        return st_errorf(err, ST_ERR_INVALID, "index %lld is out of range for a dim of %lld",
                         (long long)v, (long long)n);
    *out = w;
    return ST_OK;
}

static size_t prod(const int64_t *d, int b, int e) {
    size_t p = 1;
    for (int i = b; i < e; i++) p *= (size_t)d[i];
    return p;
}

/* ==== Gather ========================================================================== */

static st_status gather_shape(st_kctx *k, int *axis, int *nd, int64_t *dims, st_error *err) {
    const st_tensor *x = st_in(k, 0), *ix = st_in(k, 1);
    if (!x) return st_errorf(err, ST_ERR_INVALID, "Gather needs data");
    st_status s = check_index_type(ix, "indices", err);
    if (s) return s;
    if (x->ndim == 0) return st_errorf(err, ST_ERR_INVALID, "Gather data must have rank >= 1");
    if ((s = st_norm_axis(st_attr_int(k->node, "axis", 0), x->ndim, axis, err))) return s;
    int r = x->ndim + ix->ndim - 1;
    if (r > ST_MAX_RANK) return st_errorf(err, ST_ERR_LIMIT, "output rank exceeds %d", ST_MAX_RANK);
    int o = 0;
    for (int d = 0; d < *axis; d++) dims[o++] = x->dims[d];
    for (int d = 0; d < ix->ndim; d++) dims[o++] = ix->dims[d];
    for (int d = *axis + 1; d < x->ndim; d++) dims[o++] = x->dims[d];
    *nd = r;
    return ST_OK;
}

typedef struct gather_job {
    const char *src;
    char *dst;
    const int64_t *idx;
    size_t m, inner, n, es;
} gather_job;

static void gather_rows(void *arg, size_t b, size_t e) {
    const gather_job *j = arg;
    size_t row = j->inner * j->es;
    for (size_t r = b; r < e; r++) {
        size_t o = r / j->m, i = r % j->m;
        copy_elems(j->dst + r * row, j->src + (o * j->n + (size_t)j->idx[i]) * row, j->inner,
                   j->es);
    }
}

static st_status run_gather(st_kctx *k, st_error *err) {
    const st_tensor *x = st_in(k, 0), *ix = st_in(k, 1);
    int a, nd = 0;
    int64_t dims[ST_MAX_RANK];
    st_status s = gather_shape(k, &a, &nd, dims, err);
    if (s) return s;
    size_t m = st_tensor_nelem(ix);
    int64_t *idx = st_malloc((m ? m : 1) * sizeof *idx);
    if (!idx) return st_error_nomem(err);
    for (size_t i = 0; i < m; i++)
        if ((s = wrap_index(ix, i, x->dims[a], &idx[i], err))) goto fail;
    st_tensor *y = st_out(k, 0, x->dtype, nd, dims, err);
    if (!y) {
        s = st_tsr_out_status(k, 0, err);
        goto fail;
    }
    gather_job j = {.src = x->data,
                    .dst = y->data,
                    .idx = idx,
                    .m = m,
                    .inner = prod(x->dims, a + 1, x->ndim),
                    .n = (size_t)x->dims[a],
                    .es = st_dtype_size(x->dtype)};
    size_t rows = prod(x->dims, 0, a) * m;
    if (rows && j.inner)
        st_parallel_for(k->pool, rows, j.inner >= 4096 ? 1 : 4096 / j.inner, gather_rows, &j);
    s = st_tsr_own_strings(y, 0, st_tensor_nelem(y), err);
fail:
    st_free(idx);
    return s;
}

st_status st_tsr_prep_gather(st_kctx *k, st_error *err) {
    int a, nd = 0;
    int64_t dims[ST_MAX_RANK];
    st_status s = gather_shape(k, &a, &nd, dims, err);
    if (s) return s;
    st_tsr_declare(k, 0, st_in(k, 0)->dtype, nd, dims);
    k->run = run_gather;
    return ST_OK;
}

/* ==== GatherElements ================================================================== */

static st_status gel_check(st_kctx *k, const st_tensor *x, const st_tensor *ix, int *axis,
                           st_error *err) {
    if (!x) return st_errorf(err, ST_ERR_INVALID, "data is missing");
    st_status s = check_index_type(ix, "indices", err);
    if (s) return s;
    if (x->ndim == 0 || ix->ndim != x->ndim)
        return st_errorf(err, ST_ERR_INVALID, "data and indices need the same rank >= 1");
    if ((s = st_norm_axis(st_attr_int(k->node, "axis", 0), x->ndim, axis, err))) return s;
    for (int d = 0; d < x->ndim; d++)
        if (d != *axis && ix->dims[d] > x->dims[d])
            return st_errorf(err, ST_ERR_INVALID, "indices dim %d (%lld) exceeds data's (%lld)", d,
                             (long long)ix->dims[d], (long long)x->dims[d]);
    return ST_OK;
}

/* Walk every position of ix; call back with the data offset it addresses. Returns an
 * error at the first index out of range. */
#define ST_FOR_ELEMENTS(x, ix, a, OFF, POS, BODY)                               \
    do {                                                                        \
        int64_t xs_[ST_MAX_RANK], c_[ST_MAX_RANK] = {0};                        \
        st_contig_strides((x)->ndim, (x)->dims, xs_);                           \
        size_t n_ = st_tensor_nelem(ix);                                        \
        int64_t base_ = 0;                                                      \
        for (size_t POS = 0; POS < n_; POS++) {                                 \
            int64_t w_ = 0;                                                     \
            if ((s = wrap_index((ix), POS, (x)->dims[a], &w_, err))) goto fail; \
            int64_t OFF = base_ + w_ * xs_[a];                                  \
            BODY;                                                               \
            for (int d_ = (ix)->ndim - 1; d_ >= 0; d_--) {                      \
                if (d_ != (a)) base_ += xs_[d_];                                \
                if (++c_[d_] < (ix)->dims[d_]) break;                           \
                if (d_ != (a)) base_ -= c_[d_] * xs_[d_];                       \
                c_[d_] = 0;                                                     \
            }                                                                   \
        }                                                                       \
    } while (0)

static st_status run_gather_el(st_kctx *k, st_error *err) {
    const st_tensor *x = st_in(k, 0), *ix = st_in(k, 1);
    int a;
    st_status s = gel_check(k, x, ix, &a, err);
    if (s) return s;
    st_tensor *y = st_out(k, 0, x->dtype, ix->ndim, ix->dims, err);
    if (!y) return st_tsr_out_status(k, 0, err);
    size_t es = st_dtype_size(x->dtype);
    ST_FOR_ELEMENTS(
        x, ix, a, off, pos,
        copy_elems((char *)y->data + pos * es, (const char *)x->data + off * (int64_t)es, 1, es));
    return st_tsr_own_strings(y, 0, st_tensor_nelem(y), err);
fail:
    /* leave no borrowed strings behind in a partly written string output */
    if (y->dtype == ST_DTYPE_STRING) memset(y->data, 0, st_tensor_nbytes(y));
    return s;
}

st_status st_tsr_prep_gather_el(st_kctx *k, st_error *err) {
    const st_tensor *x = st_in(k, 0), *ix = st_in(k, 1);
    int a;
    st_status s = gel_check(k, x, ix, &a, err);
    if (s) return s;
    st_tsr_declare(k, 0, x->dtype, ix->ndim, ix->dims);
    k->run = run_gather_el;
    return ST_OK;
}

/* ==== GatherND ======================================================================== */

typedef struct gnd_shape {
    int nd;
    int64_t dims[ST_MAX_RANK];
    int b;      /* batch_dims */
    int64_t kk; /* index tuple length */
} gnd_shape;

static st_status gnd_check(st_kctx *k, const st_tensor *x, const st_tensor *ix, gnd_shape *g,
                           st_error *err) {
    if (!x || !ix || ix->dtype != ST_DTYPE_I64)
        return st_errorf(err, ST_ERR_INVALID, "needs data and int64 indices");
    int64_t b = k->opset >= 12 ? st_attr_int(k->node, "batch_dims", 0) : 0;
    int r = x->ndim, q = ix->ndim;
    if (r < 1 || q < 1) return st_errorf(err, ST_ERR_INVALID, "data and indices need rank >= 1");
    if (b < 0 || b >= ST_MIN(r, q))
        return st_errorf(err, ST_ERR_INVALID, "batch_dims %lld must be below both ranks",
                         (long long)b);
    int64_t kk = ix->dims[q - 1];
    if (kk < 0 || kk > r - b)
        return st_errorf(err, ST_ERR_INVALID, "index tuples of %lld exceed data rank %d",
                         (long long)kk, r);
    for (int d = 0; d < b; d++)
        if (x->dims[d] != ix->dims[d])
            return st_errorf(err, ST_ERR_INVALID, "batch dim %d differs between data and indices",
                             d);
    int nd = q - 1 + r - (int)b - (int)kk;
    if (nd > ST_MAX_RANK)
        return st_errorf(err, ST_ERR_LIMIT, "output rank exceeds %d", ST_MAX_RANK);
    int o = 0;
    for (int d = 0; d < q - 1; d++) g->dims[o++] = ix->dims[d];
    for (int d = (int)(b + kk); d < r; d++) g->dims[o++] = x->dims[d];
    g->nd = nd;
    g->b = (int)b;
    g->kk = kk;
    return ST_OK;
}

static st_status run_gathernd(st_kctx *k, st_error *err) {
    const st_tensor *x = st_in(k, 0), *ix = st_in(k, 1);
    gnd_shape g;
    st_status s = gnd_check(k, x, ix, &g, err);
    if (s) return s;
    st_tensor *y = st_out(k, 0, x->dtype, g.nd, g.dims, err);
    if (!y) return st_tsr_out_status(k, 0, err);
    size_t es = st_dtype_size(x->dtype);
    int64_t xs[ST_MAX_RANK];
    st_contig_strides(x->ndim, x->dims, xs);
    size_t B = prod(x->dims, 0, g.b), M = prod(ix->dims, g.b, ix->ndim - 1);
    size_t chunk = prod(x->dims, g.b + (int)g.kk, x->ndim);
    size_t slab = prod(x->dims, g.b, x->ndim);
    const int64_t *iv = ix->data;
    for (size_t bi = 0; bi < B; bi++)
        for (size_t t = 0; t < M; t++) {
            const int64_t *tup = iv + (bi * M + t) * (size_t)g.kk;
            int64_t off = 0;
            for (int64_t j = 0; j < g.kk; j++) {
                int64_t n = x->dims[g.b + j], v = tup[j] < 0 ? tup[j] + n : tup[j];
                if (v < 0 || v >= n) {
                    if (y->dtype == ST_DTYPE_STRING) memset(y->data, 0, st_tensor_nbytes(y));
                    return st_errorf(err, ST_ERR_INVALID,
                                     "index %lld is out of range for a dim of %lld",
                                     (long long)tup[j], (long long)n);
                }
                off += v * xs[g.b + j];
            }
            copy_elems((char *)y->data + (bi * M + t) * chunk * es,
                       (const char *)x->data + (bi * slab + (size_t)off) * es, chunk, es);
        }
    return st_tsr_own_strings(y, 0, st_tensor_nelem(y), err);
}

st_status st_tsr_prep_gathernd(st_kctx *k, st_error *err) {
    const st_tensor *x = st_in(k, 0), *ix = st_in(k, 1);
    gnd_shape g;
    st_status s = gnd_check(k, x, ix, &g, err);
    if (s) return s;
    st_tsr_declare(k, 0, x->dtype, g.nd, g.dims);
    k->run = run_gathernd;
    return ST_OK;
}

/* ==== reductions for the scatter ops ================================================== */

typedef enum { RED_NONE, RED_ADD, RED_MUL, RED_MAX, RED_MIN, RED_COUNT } red_op;
typedef void (*red_fn)(void *dst, const void *src, size_t n);

/* Numeric element types: name, dtype, storage type T, compute type C, load (T -> C) and
 * store (C -> T) expressions of `v`. */
#define ST_RED_TYPES(X)                                                       \
    X(f32, ST_DTYPE_F32, float, float, v, v)                                  \
    X(f64, ST_DTYPE_F64, double, double, v, v)                                \
    X(i8, ST_DTYPE_I8, int8_t, int64_t, v, (int8_t)v)                         \
    X(i16, ST_DTYPE_I16, int16_t, int64_t, v, (int16_t)v)                     \
    X(i32, ST_DTYPE_I32, int32_t, int64_t, v, (int32_t)v)                     \
    X(i64, ST_DTYPE_I64, int64_t, int64_t, v, v)                              \
    X(u8, ST_DTYPE_U8, uint8_t, uint64_t, v, (uint8_t)v)                      \
    X(u16, ST_DTYPE_U16, uint16_t, uint64_t, v, (uint16_t)v)                  \
    X(u32, ST_DTYPE_U32, uint32_t, uint64_t, v, (uint32_t)v)                  \
    X(u64, ST_DTYPE_U64, uint64_t, uint64_t, v, v)                            \
    X(b8, ST_DTYPE_BOOL, uint8_t, uint64_t, v, (uint8_t)(v != 0))             \
    X(f16, ST_DTYPE_F16, uint16_t, float, st_f16_to_f32(v), st_f32_to_f16(v)) \
    X(bf16, ST_DTYPE_BF16, uint16_t, float, st_bf16_to_f32(v), st_f32_to_bf16(v))

/* One function per (type, reduction): d[i] = EXPR(d[i], s[i]) in the compute type. */
#define ST_RED_ONE_(tn, on, T, C, LOAD, STORE, EXPR)                    \
    static inline C ld_##tn##_##on(T v) { return (C)(LOAD); }           \
    static inline T sto_##tn##_##on(C v) { return STORE; }              \
    static void red_##tn##_##on(void *dst, const void *src, size_t n) { \
        T *d = dst;                                                     \
        const T *s = src;                                               \
        for (size_t i = 0; i < n; i++) {                                \
            C a = ld_##tn##_##on(d[i]), b = ld_##tn##_##on(s[i]);       \
            d[i] = sto_##tn##_##on((C)(EXPR));                          \
        }                                                               \
    }
#define ST_RED_FN_(tn, dt, T, C, LOAD, STORE)              \
    ST_RED_ONE_(tn, add, T, C, LOAD, STORE, a + b)         \
    ST_RED_ONE_(tn, mul, T, C, LOAD, STORE, a *b)          \
    ST_RED_ONE_(tn, max, T, C, LOAD, STORE, a > b ? a : b) \
    ST_RED_ONE_(tn, min, T, C, LOAD, STORE, a < b ? a : b)
ST_RED_TYPES(ST_RED_FN_)
#undef ST_RED_FN_
#undef ST_RED_ONE_

static red_fn red_pick(st_dtype dt, red_op op) {
    static const red_fn table[ST_DTYPE_COUNT][RED_COUNT] = {
#define ST_RED_ROW_(tn, dt, T, C, LOAD, STORE) \
    [dt] = {NULL, red_##tn##_add, red_##tn##_mul, red_##tn##_max, red_##tn##_min},
        ST_RED_TYPES(ST_RED_ROW_)
#undef ST_RED_ROW_
    };
    return (unsigned)dt < ST_DTYPE_COUNT ? table[dt][op] : NULL;
}

static st_status red_parse(st_kctx *k, red_op *op, st_error *err) {
    const char *r = k->opset >= 16 ? st_attr_string(k->node, "reduction", "none") : "none";
    static const char *const names[RED_COUNT] = {"none", "add", "mul", "max", "min"};
    for (int i = 0; i < RED_COUNT; i++)
        if (!strcmp(r, names[i])) {
            *op = (red_op)i;
            if (*op != RED_NONE && !red_pick(st_in(k, 0)->dtype, *op))
                return st_errorf(err, ST_ERR_UNSUPPORTED, "reduction %s is not defined for %s", r,
                                 st_dtype_name(st_in(k, 0)->dtype));
            return ST_OK;
        }
    return st_errorf(err, ST_ERR_INVALID, "unknown reduction \"%s\"", r);
}

/* Write n elements at dst from src with the reduction (strings are assigned). */
static st_status red_apply(st_tensor *y, size_t at, const void *src, size_t n, red_op op,
                           st_error *err) {
    size_t es = st_dtype_size(y->dtype);
    char *dst = (char *)y->data + at * es;
    if (op != RED_NONE) {
        red_pick(y->dtype, op)(dst, src, n);
        return ST_OK;
    }
    if (y->dtype != ST_DTYPE_STRING) {
        copy_elems(dst, src, n, es);
        return ST_OK;
    }
    const st_str *s = src;
    for (size_t i = 0; i < n; i++) {
        st_status st = st_tensor_set_string(y, at + i, s[i].data ? s[i].data : "", s[i].len, err);
        if (st) return st;
    }
    return ST_OK;
}

/* A fresh output 0 holding a copy of x. */
static st_tensor *out_copy(st_kctx *k, const st_tensor *x, st_error *err) {
    st_tensor *y = st_out(k, 0, x->dtype, x->ndim, x->dims, err);
    if (!y) return NULL;
    size_t n = st_tensor_nelem(x);
    if (n) memcpy(y->data, x->data, n * st_dtype_size(x->dtype));
    if (st_tsr_own_strings(y, 0, n, err)) return NULL;
    return y;
}

/* ==== Scatter / ScatterElements ======================================================= */

static st_status sel_check(st_kctx *k, int *a, red_op *op, st_error *err) {
    const st_tensor *x = st_in(k, 0), *ix = st_in(k, 1), *u = st_in(k, 2);
    st_status s = gel_check(k, x, ix, a, err);
    if (s) return s;
    if (!u || u->dtype != x->dtype || u->ndim != ix->ndim ||
        memcmp(u->dims, ix->dims, (size_t)ix->ndim * sizeof *u->dims))
        return st_errorf(err, ST_ERR_INVALID, "updates must match indices' shape and data's type");
    return red_parse(k, op, err);
}

static st_status run_scatter_el(st_kctx *k, st_error *err) {
    const st_tensor *x = st_in(k, 0), *ix = st_in(k, 1), *u = st_in(k, 2);
    int a;
    red_op op;
    st_status s = sel_check(k, &a, &op, err);
    if (s) return s;
    st_tensor *y = out_copy(k, x, err);
    if (!y) return st_tsr_out_status(k, 0, err);
    size_t es = st_dtype_size(x->dtype);
    ST_FOR_ELEMENTS(x, ix, a, off, pos, {
        if ((s = red_apply(y, (size_t)off, (const char *)u->data + pos * es, 1, op, err)))
            goto fail;
    });
    return ST_OK;
fail:
    return s;
}

st_status st_tsr_prep_scatter_el(st_kctx *k, st_error *err) {
    int a;
    red_op op;
    st_status s = sel_check(k, &a, &op, err);
    if (s) return s;
    const st_tensor *x = st_in(k, 0);
    st_tsr_declare(k, 0, x->dtype, x->ndim, x->dims);
    k->run = run_scatter_el;
    return ST_OK;
}

/* ==== ScatterND ======================================================================= */

static st_status snd_check(st_kctx *k, red_op *op, st_error *err) {
    const st_tensor *x = st_in(k, 0), *ix = st_in(k, 1), *u = st_in(k, 2);
    if (!x || !ix || !u || ix->dtype != ST_DTYPE_I64 || u->dtype != x->dtype)
        return st_errorf(err, ST_ERR_INVALID,
                         "needs data, int64 indices and updates of data's type");
    int r = x->ndim, q = ix->ndim;
    if (q < 1 || r < 1) return st_errorf(err, ST_ERR_INVALID, "data and indices need rank >= 1");
    int64_t kk = ix->dims[q - 1];
    if (kk > r) return st_errorf(err, ST_ERR_INVALID, "index tuples longer than data rank");
    /* updates shape = indices.shape[:-1] + data.shape[kk:] */
    if (u->ndim != q - 1 + r - (int)kk)
        return st_errorf(err, ST_ERR_INVALID, "updates rank %d, expected %d", u->ndim,
                         q - 1 + r - (int)kk);
    for (int d = 0; d < q - 1; d++)
        if (u->dims[d] != ix->dims[d])
            return st_errorf(err, ST_ERR_INVALID, "updates shape mismatch");
    for (int d = (int)kk; d < r; d++)
        if (u->dims[q - 1 + d - kk] != x->dims[d])
            return st_errorf(err, ST_ERR_INVALID, "updates shape mismatch");
    return red_parse(k, op, err);
}

static st_status run_scatternd(st_kctx *k, st_error *err) {
    const st_tensor *x = st_in(k, 0), *ix = st_in(k, 1), *u = st_in(k, 2);
    red_op op;
    st_status s = snd_check(k, &op, err);
    if (s) return s;
    st_tensor *y = out_copy(k, x, err);
    if (!y) return st_tsr_out_status(k, 0, err);
    int64_t kk = ix->dims[ix->ndim - 1], xs[ST_MAX_RANK];
    st_contig_strides(x->ndim, x->dims, xs);
    size_t M = prod(ix->dims, 0, ix->ndim - 1), chunk = prod(x->dims, (int)kk, x->ndim);
    size_t es = st_dtype_size(x->dtype);
    const int64_t *iv = ix->data;
    for (size_t t = 0; t < M; t++) {
        int64_t off = 0;
        for (int64_t j = 0; j < kk; j++) {
            int64_t n = x->dims[j], v = iv[t * (size_t)kk + j];
            int64_t w = v < 0 ? v + n : v;
            if (w < 0 || w >= n)
                return st_errorf(err, ST_ERR_INVALID,
                                 "index %lld is out of range for a dim of %lld", (long long)v,
                                 (long long)n);
            off += w * xs[j];
        }
        if ((s = red_apply(y, (size_t)off, (const char *)u->data + t * chunk * es, chunk, op, err)))
            return s;
    }
    return ST_OK;
}

st_status st_tsr_prep_scatternd(st_kctx *k, st_error *err) {
    red_op op;
    st_status s = snd_check(k, &op, err);
    if (s) return s;
    const st_tensor *x = st_in(k, 0);
    st_tsr_declare(k, 0, x->dtype, x->ndim, x->dims);
    k->run = run_scatternd;
    return ST_OK;
}

/* ==== OneHot ========================================================================== */

static st_status onehot_shape(st_kctx *k, const st_tensor *depth_t, int *axis, int64_t *depth,
                              int64_t *dims, st_error *err) {
    const st_tensor *ix = st_in(k, 0), *v = st_in(k, 2);
    if (!ix || !v || st_tensor_nelem(v) != 2)
        return st_errorf(err, ST_ERR_INVALID, "OneHot needs indices and two values");
    if (ix->dtype == ST_DTYPE_STRING || ix->dtype == ST_DTYPE_C64 || ix->dtype == ST_DTYPE_C128)
        return st_errorf(err, ST_ERR_INVALID, "indices must be numeric");
    int r = ix->ndim + 1;
    if (r > ST_MAX_RANK) return st_errorf(err, ST_ERR_LIMIT, "output rank exceeds %d", ST_MAX_RANK);
    int64_t a = st_attr_int(k->node, "axis", -1);
    if (a < -r || a >= r)
        return st_errorf(err, ST_ERR_INVALID, "axis %lld out of range", (long long)a);
    *axis = (int)(a < 0 ? a + r : a);
    if (!depth_t) return ST_OK;
    if (st_tensor_nelem(depth_t) != 1 || depth_t->dtype == ST_DTYPE_STRING)
        return st_errorf(err, ST_ERR_INVALID, "depth must be a one-element number");
    double d = st_tensor_get_f64(depth_t, 0);
    if (!(d >= 1) || d > (double)((int64_t)1 << 40))
        return st_errorf(err, ST_ERR_INVALID, "depth %g is not a positive size", d);
    *depth = (int64_t)d;
    for (int i = 0, j = 0; i < r; i++) dims[i] = i == *axis ? *depth : ix->dims[j++];
    size_t total;
    return st_shape_nelem(r, dims, &total, err);
}

static st_status run_onehot(st_kctx *k, st_error *err) {
    const st_tensor *ix = st_in(k, 0), *v = st_in(k, 2);
    int a;
    int64_t depth, dims[ST_MAX_RANK];
    st_status s = onehot_shape(k, st_in(k, 1), &a, &depth, dims, err);
    if (s) return s;
    st_tensor *y = st_out(k, 0, v->dtype, ix->ndim + 1, dims, err);
    if (!y) return st_tsr_out_status(k, 0, err);
    size_t es = st_dtype_size(v->dtype), total = st_tensor_nelem(y);
    const char *off = v->data, *on = (const char *)v->data + es;
    st_tsr_fill(y->data, total, off, es);
    size_t inner = prod(ix->dims, a, ix->ndim), outer = prod(ix->dims, 0, a);
    for (size_t o = 0; o < outer; o++)
        for (size_t i = 0; i < inner; i++) {
            int64_t c = st_tensor_get_i64(ix, o * inner + i);
            if (c < 0) c += depth;
            if (c < 0 || c >= depth) continue;
            memcpy((char *)y->data + ((o * (size_t)depth + (size_t)c) * inner + i) * es, on, es);
        }
    return st_tsr_own_strings(y, 0, total, err);
}

st_status st_tsr_prep_onehot(st_kctx *k, st_error *err) {
    int a;
    int64_t depth, dims[ST_MAX_RANK];
    const st_tensor *dt = st_in_const(k, 1);
    if (!st_has_in(k, 1)) return st_errorf(err, ST_ERR_INVALID, "OneHot needs depth");
    st_status s = onehot_shape(k, dt, &a, &depth, dims, err);
    if (s) return s;
    if (dt) {
        st_tsr_declare(k, 0, st_in(k, 2)->dtype, st_in(k, 0)->ndim + 1, dims);
    } else { /* depth at run time: that axis alone is unknown */
        const st_tensor *ix = st_in(k, 0);
        for (int i = 0, j = 0; i <= ix->ndim; i++) dims[i] = i == a ? -1 : ix->dims[j++];
        st_out_declare_type(k, 0, st_in(k, 2)->dtype, ix->ndim + 1, dims);
    }
    k->run = run_onehot;
    return ST_OK;
}

/* ==== NonZero ========================================================================= */

static bool is_nonzero(const st_tensor *t, size_t i) {
    switch (t->dtype) {
    case ST_DTYPE_STRING: return ((const st_str *)t->data)[i].len != 0;
    case ST_DTYPE_F32: return ((const float *)t->data)[i] != 0;
    case ST_DTYPE_F64: return ((const double *)t->data)[i] != 0;
    case ST_DTYPE_F16:
    case ST_DTYPE_BF16: return (((const uint16_t *)t->data)[i] & 0x7fff) != 0;
    case ST_DTYPE_C64:
        return ((const float *)t->data)[2 * i] != 0 || ((const float *)t->data)[2 * i + 1] != 0;
    case ST_DTYPE_C128:
        return ((const double *)t->data)[2 * i] != 0 || ((const double *)t->data)[2 * i + 1] != 0;
    default: {
        size_t es = st_dtype_size(t->dtype);
        const uint8_t *p = (const uint8_t *)t->data + i * es;
        for (size_t b = 0; b < es; b++)
            if (p[b]) return true;
        return false;
    }
    }
}

static st_status run_nonzero(st_kctx *k, st_error *err) {
    const st_tensor *x = st_in(k, 0);
    size_t n = st_tensor_nelem(x), nnz = 0;
    for (size_t i = 0; i < n; i++) nnz += is_nonzero(x, i);
    int r = x->ndim ? x->ndim : 1;
    int64_t dims[2] = {r, (int64_t)nnz};
    st_tensor *y = st_out(k, 0, ST_DTYPE_I64, 2, dims, err);
    if (!y) return st_tsr_out_status(k, 0, err);
    int64_t *out = y->data, c[ST_MAX_RANK] = {0};
    size_t j = 0;
    for (size_t i = 0; i < n; i++) {
        if (is_nonzero(x, i)) {
            for (int d = 0; d < r; d++) out[(size_t)d * nnz + j] = x->ndim ? c[d] : 0;
            j++;
        }
        for (int d = x->ndim - 1; d >= 0; d--) {
            if (++c[d] < x->dims[d]) break;
            c[d] = 0;
        }
    }
    return ST_OK;
}

st_status st_tsr_prep_nonzero(st_kctx *k, st_error *err) {
    const st_tensor *x = st_in(k, 0);
    if (!x) return st_errorf(err, ST_ERR_INVALID, "NonZero needs a tensor input");
    int64_t dims[2] = {x->ndim ? x->ndim : 1, -1}; /* the count follows the data */
    st_out_declare_type(k, 0, ST_DTYPE_I64, 2, dims);
    k->run = run_nonzero;
    return ST_OK;
}

/* ==== Compress ======================================================================== */

static st_status run_compress(st_kctx *k, st_error *err) {
    const st_tensor *x = st_in(k, 0), *c = st_in(k, 1);
    if (!x || !c || c->ndim != 1 || c->dtype != ST_DTYPE_BOOL)
        return st_errorf(err, ST_ERR_INVALID, "Compress needs data and a 1-D bool condition");
    const st_attr *aa = st_node_attr(k->node, "axis");
    int a = -1;
    st_status s;
    if (aa && (s = st_norm_axis(aa->i, x->ndim, &a, err))) return s;
    if (aa && x->ndim == 0) return st_errorf(err, ST_ERR_INVALID, "axis given for a scalar");
    int64_t n = a < 0 ? (int64_t)st_tensor_nelem(x) : x->dims[a];
    const uint8_t *cv = c->data;
    int64_t cn = c->dims[0], cnt = 0;
    for (int64_t i = 0; i < cn; i++) {
        if (!cv[i]) continue;
        if (i >= n)
            return st_errorf(err, ST_ERR_INVALID, "condition selects index %lld of %lld",
                             (long long)i, (long long)n);
        cnt++;
    }
    int64_t dims[ST_MAX_RANK];
    int nd = 1;
    size_t outer = 1, inner = 1;
    if (a < 0) {
        dims[0] = cnt;
    } else {
        nd = x->ndim;
        memcpy(dims, x->dims, (size_t)nd * sizeof *dims);
        dims[a] = cnt;
        outer = prod(x->dims, 0, a);
        inner = prod(x->dims, a + 1, x->ndim);
    }
    st_tensor *y = st_out(k, 0, x->dtype, nd, dims, err);
    if (!y) return st_tsr_out_status(k, 0, err);
    size_t es = st_dtype_size(x->dtype), row = inner * es;
    char *dst = y->data;
    for (size_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < ST_MIN(cn, n); i++)
            if (cv[i]) {
                copy_elems(dst, (const char *)x->data + (o * (size_t)n + (size_t)i) * row, inner,
                           es);
                dst += row;
            }
    return st_tsr_own_strings(y, 0, st_tensor_nelem(y), err);
}

st_status st_tsr_prep_compress(st_kctx *k, st_error *err) {
    if (!st_in(k, 0) || !st_in(k, 1))
        return st_errorf(err, ST_ERR_INVALID, "Compress needs data and condition");
    const st_tensor *x = st_in(k, 0);
    const st_attr *aa = st_node_attr(k->node, "axis");
    int64_t dims[ST_MAX_RANK] = {-1}; /* the count along the axis follows the condition */
    int a;
    if (aa && x->ndim > 0 && st_norm_axis(aa->i, x->ndim, &a, NULL) == ST_OK) {
        memcpy(dims, x->dims, (size_t)x->ndim * sizeof *dims);
        dims[a] = -1;
        st_out_declare_type(k, 0, x->dtype, x->ndim, dims);
    } else if (!aa) {
        st_out_declare_type(k, 0, x->dtype, 1, dims);
    }
    k->run = run_compress;
    return ST_OK;
}

/* ==== Unique ========================================================================== */

typedef int (*elem_cmp)(const void *a, const void *b);

#define ST_CMP_NUM_(name, T)                                \
    static int cmp_##name(const void *pa, const void *pb) { \
        T a, b;                                             \
        memcpy(&a, pa, sizeof a);                           \
        memcpy(&b, pb, sizeof b);                           \
        return (a > b) - (a < b);                           \
    }
ST_CMP_NUM_(i8, int8_t)
ST_CMP_NUM_(i16, int16_t)
ST_CMP_NUM_(i32, int32_t)
ST_CMP_NUM_(i64, int64_t)
ST_CMP_NUM_(u8, uint8_t)
ST_CMP_NUM_(u16, uint16_t)
ST_CMP_NUM_(u32, uint32_t)
ST_CMP_NUM_(u64, uint64_t)
#undef ST_CMP_NUM_

/* Floats order NaN after everything and equal to each other (numpy's unique). */
static int cmp_dbl(double a, double b) {
    bool na = a != a, nb = b != b;
    if (na || nb) return na - nb;
    return (a > b) - (a < b);
}
static int cmp_f32(const void *a, const void *b) {
    return cmp_dbl(*(const float *)a, *(const float *)b);
}
static int cmp_f64(const void *a, const void *b) {
    return cmp_dbl(*(const double *)a, *(const double *)b);
}
static int cmp_f16(const void *a, const void *b) {
    return cmp_dbl(st_f16_to_f32(*(const uint16_t *)a), st_f16_to_f32(*(const uint16_t *)b));
}
static int cmp_bf16(const void *a, const void *b) {
    return cmp_dbl(st_bf16_to_f32(*(const uint16_t *)a), st_bf16_to_f32(*(const uint16_t *)b));
}
static int cmp_c64(const void *a, const void *b) {
    const float *x = a, *y = b;
    int c = cmp_dbl(x[0], y[0]);
    return c ? c : cmp_dbl(x[1], y[1]);
}
static int cmp_c128(const void *a, const void *b) {
    const double *x = a, *y = b;
    int c = cmp_dbl(x[0], y[0]);
    return c ? c : cmp_dbl(x[1], y[1]);
}
static int cmp_str(const void *a, const void *b) {
    const st_str *x = a, *y = b;
    size_t n = ST_MIN(x->len, y->len);
    int c = n ? memcmp(x->data, y->data, n) : 0;
    if (c) return c;
    return (x->len > y->len) - (x->len < y->len);
}

static elem_cmp cmp_pick(st_dtype dt) {
    static const elem_cmp table[ST_DTYPE_COUNT] = {
        [ST_DTYPE_F32] = cmp_f32,   [ST_DTYPE_U8] = cmp_u8,      [ST_DTYPE_I8] = cmp_i8,
        [ST_DTYPE_U16] = cmp_u16,   [ST_DTYPE_I16] = cmp_i16,    [ST_DTYPE_I32] = cmp_i32,
        [ST_DTYPE_I64] = cmp_i64,   [ST_DTYPE_STRING] = cmp_str, [ST_DTYPE_BOOL] = cmp_u8,
        [ST_DTYPE_F16] = cmp_f16,   [ST_DTYPE_F64] = cmp_f64,    [ST_DTYPE_U32] = cmp_u32,
        [ST_DTYPE_U64] = cmp_u64,   [ST_DTYPE_C64] = cmp_c64,    [ST_DTYPE_C128] = cmp_c128,
        [ST_DTYPE_BF16] = cmp_bf16,
    };
    return (unsigned)dt < ST_DTYPE_COUNT ? table[dt] : NULL;
}

typedef struct uniq_ctx {
    const char *base;
    size_t es, outer, n, inner;
    elem_cmp cmp;
} uniq_ctx;

/* Compare slices i and j along the axis, element by element in row-major order. */
static int slice_cmp(const uniq_ctx *c, size_t i, size_t j) {
    for (size_t o = 0; o < c->outer; o++) {
        const char *a = c->base + ((o * c->n + i) * c->inner) * c->es;
        const char *b = c->base + ((o * c->n + j) * c->inner) * c->es;
        for (size_t t = 0; t < c->inner; t++) {
            int r = c->cmp(a + t * c->es, b + t * c->es);
            if (r) return r;
        }
    }
    return 0;
}

static int uniq_order(const void *pa, const void *pb, void *arg) {
    size_t i = *(const size_t *)pa, j = *(const size_t *)pb;
    int r = slice_cmp(arg, i, j);
    return r ? r : (i > j) - (i < j);
}

static int by_first(const void *pa, const void *pb, void *arg) {
    const size_t *first = arg;
    size_t i = first[*(const size_t *)pa], j = first[*(const size_t *)pb];
    return (i > j) - (i < j);
}

static st_status run_unique(st_kctx *k, st_error *err) {
    const st_tensor *x = st_in(k, 0);
    const st_attr *aa = st_node_attr(k->node, "axis");
    bool sorted = st_attr_int(k->node, "sorted", 1) != 0;
    uniq_ctx c = {.base = x->data,
                  .es = st_dtype_size(x->dtype),
                  .outer = 1,
                  .inner = 1,
                  .cmp = cmp_pick(x->dtype)};
    int a = -1;
    st_status s = ST_OK;
    if (!c.cmp)
        return st_errorf(err, ST_ERR_UNSUPPORTED, "Unique does not take %s",
                         st_dtype_name(x->dtype));
    if (aa) {
        if (x->ndim == 0) return st_errorf(err, ST_ERR_INVALID, "axis given for a scalar");
        if ((s = st_norm_axis(aa->i, x->ndim, &a, err))) return s;
        c.outer = prod(x->dims, 0, a);
        c.n = (size_t)x->dims[a];
        c.inner = prod(x->dims, a + 1, x->ndim);
    } else {
        c.n = st_tensor_nelem(x);
    }
    size_t n = c.n, U = 0;
    size_t *ord = st_malloc((n ? n : 1) * sizeof *ord);
    size_t *grp = st_malloc((n ? n : 1) * sizeof *grp); /* slice -> group */
    size_t *first = st_malloc((n ? n : 1) * sizeof *first);
    size_t *cnt = st_calloc(n ? n : 1, sizeof *cnt);
    size_t *pos = st_malloc((n ? n : 1) * sizeof *pos); /* group -> output position */
    size_t *gat = st_malloc((n ? n : 1) * sizeof *gat); /* output position -> group */
    if (!ord || !grp || !first || !cnt || !pos || !gat) {
        s = st_error_nomem(err);
        goto fail;
    }
    for (size_t i = 0; i < n; i++) ord[i] = i;
    qsort_r(ord, n, sizeof *ord, uniq_order, &c);
    for (size_t i = 0; i < n; i++) {
        if (i == 0 || slice_cmp(&c, ord[i - 1], ord[i])) first[U++] = ord[i];
        grp[ord[i]] = U - 1;
        cnt[U - 1]++;
    }
    for (size_t g = 0; g < U; g++) gat[g] = g;
    if (!sorted) qsort_r(gat, U, sizeof *gat, by_first, first);
    for (size_t p = 0; p < U; p++) pos[gat[p]] = p;

    if (st_has_out(k, 0)) {
        int64_t dims[ST_MAX_RANK];
        int nd = 1;
        dims[0] = (int64_t)U;
        if (a >= 0) {
            nd = x->ndim;
            memcpy(dims, x->dims, (size_t)nd * sizeof *dims);
            dims[a] = (int64_t)U;
        }
        st_tensor *y = st_out(k, 0, x->dtype, nd, dims, err);
        if (!y) {
            s = st_tsr_out_status(k, 0, err);
            goto fail;
        }
        size_t row = c.inner * c.es;
        for (size_t o = 0; o < c.outer; o++)
            for (size_t p = 0; p < U; p++)
                memcpy((char *)y->data + (o * U + p) * row, c.base + (o * n + first[gat[p]]) * row,
                       row);
        if ((s = st_tsr_own_strings(y, 0, st_tensor_nelem(y), err))) goto fail;
    }
    for (int oi = 1; oi < 4; oi++) {
        int64_t len = (int64_t)(oi == 2 ? n : U);
        if (!st_has_out(k, oi)) continue;
        st_tensor *t = st_out(k, oi, ST_DTYPE_I64, 1, &len, err);
        if (!t) {
            s = st_tsr_out_status(k, oi, err);
            goto fail;
        }
        int64_t *v = t->data;
        for (int64_t i = 0; i < len; i++)
            v[i] = (int64_t)(oi == 1 ? first[gat[i]] : oi == 2 ? pos[grp[i]] : cnt[gat[i]]);
    }
fail:
    st_free(ord);
    st_free(grp);
    st_free(first);
    st_free(cnt);
    st_free(pos);
    st_free(gat);
    return s;
}

st_status st_tsr_prep_unique(st_kctx *k, st_error *err) {
    const st_tensor *x = st_in(k, 0);
    if (!x) return st_errorf(err, ST_ERR_INVALID, "Unique needs a tensor input");
    /* the number of unique values follows the data */
    const st_attr *aa = st_node_attr(k->node, "axis");
    int64_t dims[ST_MAX_RANK] = {-1};
    int a;
    if (aa && x->ndim > 0 && st_norm_axis(aa->i, x->ndim, &a, NULL) == ST_OK) {
        memcpy(dims, x->dims, (size_t)x->ndim * sizeof *dims);
        dims[a] = -1;
        st_out_declare_type(k, 0, x->dtype, x->ndim, dims);
    } else if (!aa) {
        st_out_declare_type(k, 0, x->dtype, 1, dims);
    }
    dims[0] = -1;
    for (int i = 1; i < 4; i++)
        if (st_has_out(k, i)) st_out_declare_type(k, i, ST_DTYPE_I64, 1, dims);
    k->run = run_unique;
    return ST_OK;
}
