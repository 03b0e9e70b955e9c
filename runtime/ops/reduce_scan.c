/* runtime/ops/reduce_scan.c: CumSum (inclusive/exclusive, forward/reverse) and TopK (a
 * bounded heap per slice; ties keep the lower index first, NaN ranks above every number).
 * Neither allocates at run time: TopK's heaps live in scratch sized by prepare. */
#include <math.h>
#include <string.h>

#include "reduce_impl.h"

#define SC_CB 256      /* columns scanned together */
#define SC_GRAIN 16384 /* elements per parallel chunk, at least */

#define LD_SAME(v) (v)
#define ST_SAME(v) (v)
#define ST_F16(v) st_f32_to_f16((float)(v))
#define ST_BF16(v) st_f32_to_bf16((float)(v))
#define NAN_F(v) isnan(v)
#define NAN_NO(v) 0

/* suffix, dtype, C type, compare type, CumSum accumulator (unsigned for integers: sums wrap
 * without undefined behaviour), load, store, isnan */
#define SC_TYPES(X)                                                                 \
    X(f32, ST_DTYPE_F32, float, float, double, LD_SAME, ST_SAME, NAN_F)             \
    X(f64, ST_DTYPE_F64, double, double, double, LD_SAME, ST_SAME, NAN_F)           \
    X(f16, ST_DTYPE_F16, uint16_t, float, double, st_f16_to_f32, ST_F16, NAN_F)     \
    X(bf16, ST_DTYPE_BF16, uint16_t, float, double, st_bf16_to_f32, ST_BF16, NAN_F) \
    X(i8, ST_DTYPE_I8, int8_t, int8_t, uint64_t, LD_SAME, ST_SAME, NAN_NO)          \
    X(i16, ST_DTYPE_I16, int16_t, int16_t, uint64_t, LD_SAME, ST_SAME, NAN_NO)      \
    X(i32, ST_DTYPE_I32, int32_t, int32_t, uint64_t, LD_SAME, ST_SAME, NAN_NO)      \
    X(i64, ST_DTYPE_I64, int64_t, int64_t, uint64_t, LD_SAME, ST_SAME, NAN_NO)      \
    X(u8, ST_DTYPE_U8, uint8_t, uint8_t, uint64_t, LD_SAME, ST_SAME, NAN_NO)        \
    X(u16, ST_DTYPE_U16, uint16_t, uint16_t, uint64_t, LD_SAME, ST_SAME, NAN_NO)    \
    X(u32, ST_DTYPE_U32, uint32_t, uint32_t, uint64_t, LD_SAME, ST_SAME, NAN_NO)    \
    X(u64, ST_DTYPE_U64, uint64_t, uint64_t, uint64_t, LD_SAME, ST_SAME, NAN_NO)

/* Split [O][R][K] at axis. */
static void sc_split(const st_tensor *x, int axis, size_t *O, size_t *R, size_t *K) {
    *O = *R = *K = 1;
    for (int d = 0; d < x->ndim; d++) *(d < axis ? O : d == axis ? R : K) *= (size_t)x->dims[d];
}

/* ---- CumSum ------------------------------------------------------------------------ */

/* Scan along R (stride K) for columns k0 <= k < k1. */
typedef void (*cs_fn)(const void *x, void *y, size_t R, size_t K, size_t k0, size_t k1,
                      bool exclusive, bool reverse);

#define DEF_CS(TN, T, W, LD, ST)                                                            \
    static void cs_##TN(const void *xv, void *yv, size_t R, size_t K, size_t k0, size_t k1, \
                        bool exclusive, bool reverse) {                                     \
        const T *x = xv;                                                                    \
        T *y = yv;                                                                          \
        W a[SC_CB];                                                                         \
        if (K == 1) { /* one contiguous row */                                              \
            W acc = 0;                                                                      \
            ptrdiff_t step = reverse ? -1 : 1;                                              \
            const T *xp = reverse ? x + R - 1 : x;                                          \
            T *yp = reverse ? y + R - 1 : y;                                                \
            for (size_t t = 0; t < R; t++, xp += step, yp += step) {                        \
                W v = (W)LD(*xp);                                                           \
                if (exclusive) *yp = (T)ST(acc);                                            \
                acc += v;                                                                   \
                if (!exclusive) *yp = (T)ST(acc);                                           \
            }                                                                               \
            return;                                                                         \
        }                                                                                   \
        for (size_t kb = k0; kb < k1; kb += SC_CB) {                                        \
            size_t kn = k1 - kb < SC_CB ? k1 - kb : SC_CB;                                  \
            for (size_t j = 0; j < kn; j++) a[j] = 0;                                       \
            for (size_t t = 0; t < R; t++) {                                                \
                size_t off = (reverse ? R - 1 - t : t) * K + kb;                            \
                if (exclusive) {                                                            \
                    for (size_t j = 0; j < kn; j++) {                                       \
                        W v = (W)LD(x[off + j]);                                            \
                        y[off + j] = (T)ST(a[j]);                                           \
                        a[j] += v;                                                          \
                    }                                                                       \
                } else {                                                                    \
                    for (size_t j = 0; j < kn; j++) {                                       \
                        a[j] += (W)LD(x[off + j]);                                          \
                        y[off + j] = (T)ST(a[j]);                                           \
                    }                                                                       \
                }                                                                           \
            }                                                                               \
        }                                                                                   \
    }
#define CS_DEFS_(TN, DT, T, CT, W, LD, ST, NANF) DEF_CS(TN, T, W, LD, ST)
SC_TYPES(CS_DEFS_)
#define CS_ENTRY_(TN, DT, ...) [DT] = cs_##TN,
static const cs_fn cs_table[ST_DTYPE_COUNT] = {SC_TYPES(CS_ENTRY_)};

typedef struct cs_state {
    bool exclusive, reverse;
    cs_fn fn;
} cs_state;

typedef struct cs_job {
    const cs_state *s;
    const char *x;
    char *y;
    size_t esz, R, K, nb;
} cs_job;

static void cs_task(void *arg, size_t b, size_t e) {
    const cs_job *j = arg;
    for (size_t it = b; it < e; it++) {
        size_t o = it / j->nb, k0 = (it % j->nb) * SC_CB;
        size_t k1 = k0 + SC_CB < j->K ? k0 + SC_CB : j->K, off = o * j->R * j->K * j->esz;
        j->s->fn(j->x + off, j->y + off, j->R, j->K, k0, k1, j->s->exclusive, j->s->reverse);
    }
}

static st_status run_cumsum(st_kctx *k, st_error *err) {
    const cs_state *s = k->state;
    const st_tensor *x = st_in(k, 0), *a = st_in(k, 1);
    if (!a || !st_dtype_is_int(a->dtype) || a->ndim > 1 || st_tensor_nelem(a) != 1)
        return st_errorf(err, ST_ERR_INVALID, "axis must be an integer scalar");
    int axis = 0;
    st_status st = st_norm_axis(st_tensor_get_i64(a, 0), x->ndim, &axis, err);
    if (st) return st;
    st_tensor *y = st_out(k, 0, x->dtype, x->ndim, x->dims, err);
    if (!y) return st_has_out(k, 0) ? err->status : ST_OK;
    size_t O, N = st_tensor_nelem(x);
    if (!N) return ST_OK;
    cs_job j = {.s = s, .x = x->data, .y = y->data, .esz = st_dtype_size(x->dtype)};
    sc_split(x, axis, &O, &j.R, &j.K);
    j.nb = (j.K + SC_CB - 1) / SC_CB;
    size_t work = j.R * (j.K < SC_CB ? j.K : SC_CB);
    st_parallel_for(k->pool, O * j.nb, work >= SC_GRAIN ? 1 : SC_GRAIN / work, cs_task, &j);
    return ST_OK;
}

st_status st_reduce_prep_cumsum(st_kctx *k, st_error *err) {
    const st_tensor *x = st_in(k, 0);
    if (!x) return st_errorf(err, ST_ERR_INVALID, "input x is missing");
    if (!cs_table[x->dtype])
        return st_errorf(err, ST_ERR_UNSUPPORTED, "%s input is not supported",
                         st_dtype_name(x->dtype));
    if (!st_has_in(k, 1)) return st_errorf(err, ST_ERR_INVALID, "input axis is missing");
    cs_state *s = st_calloc(1, sizeof *s);
    if (!s) return st_error_nomem(err);
    s->exclusive = st_attr_int(k->node, "exclusive", 0) != 0;
    s->reverse = st_attr_int(k->node, "reverse", 0) != 0;
    s->fn = cs_table[x->dtype];
    st_out_declare(k, 0, x->dtype, x->ndim, x->dims);
    k->state = s;
    k->run = run_cumsum;
    return ST_OK;
}

/* ---- TopK -------------------------------------------------------------------------- */

/* One slice: the kk best of x[r*K], r < R, best first, into vals[j*K] and idx[j*K]; heap
 * holds kk entries. */
typedef void (*tk_fn)(const void *x, size_t R, size_t K, size_t kk, bool largest, void *vals,
                      int64_t *idx, void *heap);

/* Order with NaN above every number; ties broken by the lower index. */
#define TK_GT(a, b, NANF) ((a) > (b) || (NANF(a) && !NANF(b)))
#define TK_LT(a, b, NANF) ((a) < (b) || (NANF(b) && !NANF(a)))
#define TK_EQ(a, b, NANF) ((a) == (b) || (NANF(a) && NANF(b)))

#define DEF_TK(TN, T, CT, LD, NANF)                                                             \
    typedef struct tk_pair_##TN {                                                               \
        CT v;                                                                                   \
        int64_t i;                                                                              \
    } tk_pair_##TN;                                                                             \
    static inline bool tk_better_##TN(const tk_pair_##TN *a, const tk_pair_##TN *b, bool big) { \
        if (TK_EQ(a->v, b->v, NANF)) return a->i < b->i;                                        \
        return big ? TK_GT(a->v, b->v, NANF) : TK_LT(a->v, b->v, NANF);                         \
    }                                                                                           \
    /* restore the heap (worst at the root) below position p, over n entries */                 \
    static void tk_sift_##TN(tk_pair_##TN *h, size_t p, size_t n, bool big) {                   \
        for (;;) {                                                                              \
            size_t c = 2 * p + 1;                                                               \
            if (c >= n) break;                                                                  \
            if (c + 1 < n && tk_better_##TN(&h[c], &h[c + 1], big)) c++;                        \
            if (!tk_better_##TN(&h[p], &h[c], big)) break;                                      \
            tk_pair_##TN t = h[p];                                                              \
            h[p] = h[c];                                                                        \
            h[c] = t;                                                                           \
            p = c;                                                                              \
        }                                                                                       \
    }                                                                                           \
    static void tk_##TN(const void *xv, size_t R, size_t K, size_t kk, bool big, void *vv,      \
                        int64_t *idx, void *hv) {                                               \
        const T *x = xv;                                                                        \
        T *vals = vv;                                                                           \
        tk_pair_##TN *h = hv;                                                                   \
        size_t n = 0;                                                                           \
        if (!kk) return;                                                                        \
        for (size_t r = 0; r < R; r++) {                                                        \
            tk_pair_##TN e = {(CT)LD(x[r * K]), (int64_t)r};                                    \
            if (n < kk) { /* sift up */                                                         \
                size_t p = n++;                                                                 \
                h[p] = e;                                                                       \
                while (p && tk_better_##TN(&h[(p - 1) / 2], &h[p], big)) {                      \
                    tk_pair_##TN t = h[p];                                                      \
                    h[p] = h[(p - 1) / 2];                                                      \
                    h[(p - 1) / 2] = t;                                                         \
                    p = (p - 1) / 2;                                                            \
                }                                                                               \
            } else if (tk_better_##TN(&e, &h[0], big)) {                                        \
                h[0] = e;                                                                       \
                tk_sift_##TN(h, 0, n, big);                                                     \
            }                                                                                   \
        }                                                                                       \
        /* pop the worst to the back until the heap is sorted best first */                     \
        for (size_t m = n; m > 1; m--) {                                                        \
            tk_pair_##TN t = h[0];                                                              \
            h[0] = h[m - 1];                                                                    \
            h[m - 1] = t;                                                                       \
            tk_sift_##TN(h, 0, m - 1, big);                                                     \
        }                                                                                       \
        for (size_t j = 0; j < n; j++) {                                                        \
            vals[j * K] = x[(size_t)h[j].i * K];                                                \
            idx[j * K] = h[j].i;                                                                \
        }                                                                                       \
    }
/* halves are compared as float but copied as stored */
#define TK_DEFS_(TN, DT, T, CT, W, LD, ST, NANF) DEF_TK(TN, T, CT, LD, NANF)
SC_TYPES(TK_DEFS_)
#define TK_ENTRY_(TN, DT, T, CT, ...) [DT] = {tk_##TN, sizeof(tk_pair_##TN)},
static const struct {
    tk_fn fn;
    size_t pair; /* heap entry size */
} tk_table[ST_DTYPE_COUNT] = {SC_TYPES(TK_ENTRY_)};

typedef struct tk_state {
    int axis;
    bool largest;
    int64_t k; /* the opset-1 attribute or a constant input; -1 = read at run */
    tk_fn fn;
    size_t pair;
    size_t parts;    /* heaps in scratch */
    size_t heap_cap; /* entries per heap */
} tk_state;

typedef struct tk_job {
    const tk_state *s;
    const char *x;
    char *vals;
    int64_t *idx;
    char *scratch;
    size_t esz, R, K, kk, slices, per;
} tk_job;

static void tk_task(void *arg, size_t b, size_t e) {
    const tk_job *j = arg;
    for (size_t p = b; p < e; p++) {
        void *heap = j->scratch + p * j->s->heap_cap * j->s->pair;
        size_t s1 = (p + 1) * j->per < j->slices ? (p + 1) * j->per : j->slices;
        for (size_t sl = p * j->per; sl < s1; sl++) {
            size_t o = sl / j->K, c = sl % j->K;
            size_t in = o * j->R * j->K + c, out = o * j->kk * j->K + c;
            j->s->fn(j->x + in * j->esz, j->R, j->K, j->kk, j->s->largest, j->vals + out * j->esz,
                     j->idx + out, heap);
        }
    }
}

static st_status tk_read_k(const st_kctx *k, const st_tensor *t, int64_t *out, st_error *err) {
    if (!st_dtype_is_int(t->dtype) || t->ndim > 1 || st_tensor_nelem(t) != 1)
        return st_errorf(err, ST_ERR_INVALID, "K must be a 1-element integer tensor");
    (void)k;
    *out = st_tensor_get_i64(t, 0);
    return ST_OK;
}

static st_status run_topk(st_kctx *k, st_error *err) {
    const tk_state *s = k->state;
    const st_tensor *x = st_in(k, 0);
    int64_t kk = s->k;
    st_status st;
    if (kk < 0) {
        const st_tensor *kt = st_in(k, 1);
        if (!kt) return st_errorf(err, ST_ERR_INVALID, "input K is missing");
        if ((st = tk_read_k(k, kt, &kk, err))) return st;
    }
    int64_t rlen = x->dims[s->axis];
    if (kk < 0 || kk > rlen)
        return st_errorf(err, ST_ERR_INVALID, "k = %lld is outside [0, %lld] for axis %d",
                         (long long)kk, (long long)rlen, s->axis);
    if ((size_t)kk > s->heap_cap)
        return st_errorf(err, ST_ERR_INVALID, "k = %lld exceeds the prepared size %zu",
                         (long long)kk, s->heap_cap);
    int64_t dims[ST_MAX_RANK];
    memcpy(dims, x->dims, (size_t)x->ndim * sizeof *dims);
    dims[s->axis] = kk;
    st_tensor *v = st_out(k, 0, x->dtype, x->ndim, dims, err);
    if (!v && st_has_out(k, 0)) return err->status;
    st_tensor *ix = st_out(k, 1, ST_DTYPE_I64, x->ndim, dims, err);
    if (!ix && st_has_out(k, 1)) return err->status;
    size_t O;
    tk_job j = {.s = s,
                .x = x->data,
                .esz = st_dtype_size(x->dtype),
                .kk = (size_t)kk,
                .scratch = k->scratch};
    sc_split(x, s->axis, &O, &j.R, &j.K);
    j.slices = O * j.K;
    if (!kk || !j.slices) return ST_OK;
    /* each output is written only when requested; the other lands in scratch */
    size_t heaps = s->parts * s->heap_cap * s->pair;
    char *spare = k->scratch + heaps;
    j.vals = v ? v->data : spare;
    size_t vals_room = v ? 0 : (j.slices * (size_t)kk * j.esz + 7) & ~(size_t)7;
    j.idx = ix ? ix->data : (int64_t *)(spare + vals_room);
    size_t parts = s->parts < j.slices ? s->parts : j.slices;
    j.per = (j.slices + parts - 1) / parts;
    parts = (j.slices + j.per - 1) / j.per;
    st_parallel_for(k->pool, parts, 1, tk_task, &j);
    return ST_OK;
}

st_status st_reduce_prep_topk(st_kctx *k, st_error *err) {
    const st_tensor *x = st_in(k, 0);
    st_status st;
    if (!x) return st_errorf(err, ST_ERR_INVALID, "input X is missing");
    if (!tk_table[x->dtype].fn)
        return st_errorf(err, ST_ERR_UNSUPPORTED, "%s input is not supported",
                         st_dtype_name(x->dtype));
    int axis;
    if ((st = st_norm_axis(st_attr_int(k->node, "axis", -1), x->ndim, &axis, err))) return st;
    if (!x->ndim) return st_errorf(err, ST_ERR_INVALID, "X must have at least one dimension");
    int64_t kk = -1;
    if (k->opset < 10) {
        const st_attr *a = st_node_attr(k->node, "k");
        if (!a) return st_errorf(err, ST_ERR_INVALID, "attribute k is missing");
        kk = a->i;
    } else if (!st_has_in(k, 1)) {
        return st_errorf(err, ST_ERR_INVALID, "input K is missing");
    } else if (st_in_const(k, 1) && (st = tk_read_k(k, st_in_const(k, 1), &kk, err))) {
        return st;
    }
    int64_t rlen = x->dims[axis];
    if (kk != -1 && (kk < 0 || kk > rlen))
        return st_errorf(err, ST_ERR_INVALID, "k = %lld is outside [0, %lld] for axis %d",
                         (long long)kk, (long long)rlen, axis);
    tk_state *s = st_calloc(1, sizeof *s);
    if (!s) return st_error_nomem(err);
    s->axis = axis;
    s->largest = st_attr_int(k->node, "largest", 1) != 0;
    s->k = kk;
    s->fn = tk_table[x->dtype].fn;
    s->pair = tk_table[x->dtype].pair;
    s->heap_cap = kk >= 0 ? (size_t)kk : (size_t)rlen;
    s->parts = (size_t)st_pool_threads(k->pool);
    /* heaps, then room for an output the graph does not use */
    size_t n = st_tensor_nelem(x) / (rlen ? (size_t)rlen : 1) * s->heap_cap;
    size_t spare = (st_has_out(k, 0) ? 0 : (n * st_dtype_size(x->dtype) + 7) & ~(size_t)7) +
                   (st_has_out(k, 1) ? 0 : n * sizeof(int64_t));
    k->scratch_bytes = s->parts * s->heap_cap * s->pair + spare;
    if (kk >= 0) {
        int64_t dims[ST_MAX_RANK];
        memcpy(dims, x->dims, (size_t)x->ndim * sizeof *dims);
        dims[axis] = kk;
        st_out_declare(k, 0, x->dtype, x->ndim, dims);
        st_out_declare(k, 1, ST_DTYPE_I64, x->ndim, dims);
    } else { /* K at run time: that axis alone is unknown */
        int64_t dims[ST_MAX_RANK];
        memcpy(dims, x->dims, (size_t)x->ndim * sizeof *dims);
        dims[axis] = -1;
        st_out_declare_type(k, 0, x->dtype, x->ndim, dims);
        st_out_declare_type(k, 1, ST_DTYPE_I64, x->ndim, dims);
    }
    k->state = s;
    k->run = run_topk;
    return ST_OK;
}
