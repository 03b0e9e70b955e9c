/* runtime/ops/reduce_softmax.c: Softmax, LogSoftmax and Hardmax. Before opset 13 the input
 * is coerced to 2-D at `axis` (default 1); from 13 the op runs along one axis (default -1).
 * The last-axis float32 path is vectorized (a polynomial exp) and split across threads. */
#include <math.h>
#include <string.h>

#include "reduce_impl.h"

typedef enum {
    SM_SOFT, /* exp(x - max) / sum */
    SM_LOG,  /* x - max - log(sum) */
    SM_HARD, /* 1 at the first maximum, 0 elsewhere */
} sm_kind;

#define SM_CB 256      /* columns handled together when the axis is not the last */
#define SM_GRAIN 16384 /* elements per parallel chunk, at least */

/* rows of n contiguous elements */
typedef void (*sm_row_fn)(const void *x, void *y, size_t rows, size_t n, sm_kind kind);
/* along R with stride K, for columns k0 <= k < k1 */
typedef void (*sm_col_fn)(const void *x, void *y, size_t R, size_t K, size_t k0, size_t k1,
                          sm_kind kind);

#define LD_SAME(v) (v)
#define ST_SAME(v) (v)
#define ST_F16(v) st_f32_to_f16((float)(v))
#define ST_BF16(v) st_f32_to_bf16((float)(v))
#define SM_EXP(v) _Generic((v), float : expf, default : exp)(v)
#define SM_LOGF(v) _Generic((v), float : logf, default : log)(v)
/* a maximum that lets NaN through (numpy's max propagates it) */
#define SM_MAX(a, b) (((b) > (a) || isnan(b)) ? (b) : (a))
/* "v is a new first maximum": numpy's argmax takes the first NaN */
#define SM_BEATS(v, b) ((v) > (b) || (isnan(v) && !isnan(b)))

/* Generic kernels: FT is the compute type (float for halves, the type itself otherwise). */
#define DEF_SM(TN, T, FT, LD, ST)                                                                 \
    static void sm_row_##TN(const void *xv, void *yv, size_t rows, size_t n, sm_kind kind) {      \
        for (size_t o = 0; o < rows; o++) {                                                       \
            const T *x = (const T *)xv + o * n;                                                   \
            T *y = (T *)yv + o * n;                                                               \
            if (kind == SM_HARD) {                                                                \
                size_t bi = 0;                                                                    \
                FT b = (FT)LD(x[0]);                                                              \
                for (size_t i = 1; i < n; i++) {                                                  \
                    FT v = (FT)LD(x[i]);                                                          \
                    if (SM_BEATS(v, b)) b = v, bi = i;                                            \
                }                                                                                 \
                for (size_t i = 0; i < n; i++) y[i] = ST((FT)(i == bi));                          \
                continue;                                                                         \
            }                                                                                     \
            FT m = -INFINITY;                                                                     \
            for (size_t i = 0; i < n; i++) m = SM_MAX(m, (FT)LD(x[i]));                           \
            double s = 0;                                                                         \
            for (size_t i = 0; i < n; i++) s += SM_EXP((FT)LD(x[i]) - m);                         \
            if (kind == SM_SOFT) {                                                                \
                FT inv = (FT)(1.0 / s);                                                           \
                for (size_t i = 0; i < n; i++) y[i] = ST(SM_EXP((FT)LD(x[i]) - m) * inv);         \
            } else {                                                                              \
                FT ls = (FT)log(s);                                                               \
                for (size_t i = 0; i < n; i++) y[i] = ST(((FT)LD(x[i]) - m) - ls);                \
            }                                                                                     \
        }                                                                                         \
    }                                                                                             \
    static void sm_col_##TN(const void *xv, void *yv, size_t R, size_t K, size_t k0, size_t k1,   \
                            sm_kind kind) {                                                       \
        const T *x = xv;                                                                          \
        T *y = yv;                                                                                \
        FT m[SM_CB];                                                                              \
        double s[SM_CB];                                                                          \
        size_t bi[SM_CB];                                                                         \
        for (size_t kb = k0; kb < k1; kb += SM_CB) {                                              \
            size_t kn = k1 - kb < SM_CB ? k1 - kb : SM_CB;                                        \
            if (kind == SM_HARD) {                                                                \
                for (size_t j = 0; j < kn; j++) m[j] = (FT)LD(x[kb + j]), bi[j] = 0;              \
                for (size_t r = 1; r < R; r++)                                                    \
                    for (size_t j = 0; j < kn; j++) {                                             \
                        FT v = (FT)LD(x[r * K + kb + j]);                                         \
                        if (SM_BEATS(v, m[j])) m[j] = v, bi[j] = r;                               \
                    }                                                                             \
                for (size_t r = 0; r < R; r++)                                                    \
                    for (size_t j = 0; j < kn; j++) y[r * K + kb + j] = ST((FT)(bi[j] == r));     \
                continue;                                                                         \
            }                                                                                     \
            for (size_t j = 0; j < kn; j++) m[j] = -INFINITY, s[j] = 0;                           \
            for (size_t r = 0; r < R; r++)                                                        \
                for (size_t j = 0; j < kn; j++) m[j] = SM_MAX(m[j], (FT)LD(x[r * K + kb + j]));   \
            for (size_t r = 0; r < R; r++)                                                        \
                for (size_t j = 0; j < kn; j++) s[j] += SM_EXP((FT)LD(x[r * K + kb + j]) - m[j]); \
            if (kind == SM_SOFT) {                                                                \
                for (size_t j = 0; j < kn; j++) s[j] = 1.0 / s[j];                                \
                for (size_t r = 0; r < R; r++)                                                    \
                    for (size_t j = 0; j < kn; j++) {                                             \
                        size_t i = r * K + kb + j;                                                \
                        y[i] = ST(SM_EXP((FT)LD(x[i]) - m[j]) * (FT)s[j]);                        \
                    }                                                                             \
            } else {                                                                              \
                for (size_t j = 0; j < kn; j++) s[j] = log(s[j]);                                 \
                for (size_t r = 0; r < R; r++)                                                    \
                    for (size_t j = 0; j < kn; j++) {                                             \
                        size_t i = r * K + kb + j;                                                \
                        y[i] = ST(((FT)LD(x[i]) - m[j]) - (FT)s[j]);                              \
                    }                                                                             \
            }                                                                                     \
        }                                                                                         \
    }

/* suffix, dtype, C type, compute type, load, store */
#define SM_TYPES(X)                                              \
    X(f32, ST_DTYPE_F32, float, float, LD_SAME, ST_SAME)         \
    X(f64, ST_DTYPE_F64, double, double, LD_SAME, ST_SAME)       \
    X(f16, ST_DTYPE_F16, uint16_t, float, st_f16_to_f32, ST_F16) \
    X(bf16, ST_DTYPE_BF16, uint16_t, float, st_bf16_to_f32, ST_BF16)

#define SM_DEFS_(TN, DT, T, FT, LD, ST) DEF_SM(TN, T, FT, LD, ST)
SM_TYPES(SM_DEFS_)

/* ---- float32 along the last axis: 8-wide vectors with a polynomial exp ------------- */
/* The 8-wide helpers are static and always inlined, so no vector crosses an ABI boundary:
 * GCC's note about AVX argument passing does not apply. */
#pragma GCC diagnostic ignored "-Wpsabi"
#define SM_INLINE static inline __attribute__((always_inline))
typedef float sm_v8f __attribute__((vector_size(32)));
typedef int32_t sm_v8i __attribute__((vector_size(32)));

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && defined(__linux__)
#define SM_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define SM_CLONES
#endif

SM_INLINE sm_v8f sm_splat(float v) { return (sm_v8f){v, v, v, v, v, v, v, v}; }

SM_INLINE sm_v8f sm_select(sm_v8i mask, sm_v8f a, sm_v8f b) { /* mask ? a : b */
    return (sm_v8f)(((sm_v8i)a & mask) | ((sm_v8i)b & ~mask));
}

SM_INLINE sm_v8f sm_vmax(sm_v8f a, sm_v8f b) { return sm_select(b > a, b, a); }

/* exp(x), relative error about 2e-7 (Cephes' expf polynomial on x - n ln2, |x - n ln2| <=
 * ln2/2); 0 below -87.3 and +inf above 88.37, which callers never reach: they pass x <= 0. */
SM_INLINE sm_v8f sm_exp8(sm_v8f x) {
    const sm_v8f lo = sm_splat(-87.33654f), hi = sm_splat(88.37626f);
    sm_v8i under = x<lo, over = x> hi;
    sm_v8f c = sm_select(under, lo, sm_select(over, hi, x));
    const sm_v8f magic = sm_splat(12582912.0f); /* 1.5 * 2^23: adding it rounds to integer */
    sm_v8f n = (c * sm_splat(1.44269504088896341f) + magic) - magic;
    sm_v8f r = c - n * sm_splat(0.693359375f) - n * sm_splat(-2.12194440e-4f);
    sm_v8f p = sm_splat(1.9875691500e-4f);
    p = p * r + sm_splat(1.3981999507e-3f);
    p = p * r + sm_splat(8.3334519073e-3f);
    p = p * r + sm_splat(4.1665795894e-2f);
    p = p * r + sm_splat(1.6666665459e-1f);
    p = p * r + sm_splat(5.0000001201e-1f);
    p = p * r * r + r + sm_splat(1.0f);
    sm_v8i e = (__builtin_convertvector(n, sm_v8i) + 127) << 23;
    sm_v8f v = p * (sm_v8f)e;
    v = sm_select(under, sm_splat(0.0f), v);
    return sm_select(over, sm_splat(INFINITY), v);
}

SM_INLINE sm_v8f sm_load(const float *p) {
    sm_v8f v;
    memcpy(&v, p, sizeof v);
    return v;
}
SM_INLINE void sm_store(float *p, sm_v8f v) { memcpy(p, &v, sizeof v); }

SM_INLINE float sm_hsum(sm_v8f v) {
    float s = 0;
    for (int i = 0; i < 8; i++) s += v[i];
    return s;
}

SM_CLONES
static void sm_row_f32_fast(const void *xv, void *yv, size_t rows, size_t n, sm_kind kind) {
    if (kind == SM_HARD) {
        sm_row_f32(xv, yv, rows, n, kind);
        return;
    }
    for (size_t o = 0; o < rows; o++) {
        const float *x = (const float *)xv + o * n;
        float *y = (float *)yv + o * n;
        size_t n8 = n & ~(size_t)7, i;
        /* max, with NaN carried through the scalar tail */
        sm_v8f vm = sm_splat(-INFINITY);
        for (i = 0; i < n8; i += 8) vm = sm_vmax(vm, sm_load(x + i));
        float m = -INFINITY;
        for (int j = 0; j < 8; j++) m = SM_MAX(m, vm[j]);
        for (; i < n; i++) m = SM_MAX(m, x[i]);
        sm_v8f vs = sm_splat(0.0f), mm = sm_splat(m);
        float s = 0;
        if (kind == SM_SOFT) {
            for (i = 0; i < n8; i += 8) {
                sm_v8f e = sm_exp8(sm_load(x + i) - mm);
                sm_store(y + i, e);
                vs += e;
            }
            for (; i < n; i++) s += (y[i] = expf(x[i] - m));
            s += sm_hsum(vs);
            sm_v8f inv = sm_splat(1.0f / s);
            for (i = 0; i < n8; i += 8) sm_store(y + i, sm_load(y + i) * inv);
            for (; i < n; i++) y[i] *= inv[0];
        } else {
            for (i = 0; i < n8; i += 8) vs += sm_exp8(sm_load(x + i) - mm);
            for (; i < n; i++) s += expf(x[i] - m);
            s += sm_hsum(vs);
            float ls = logf(s);
            sm_v8f vls = sm_splat(ls);
            for (i = 0; i < n8; i += 8) sm_store(y + i, (sm_load(x + i) - mm) - vls);
            for (; i < n; i++) y[i] = (x[i] - m) - ls;
        }
    }
}

/* sum of exp(x[i] - shift), i < n: float lanes, widened to double every 2048 elements. */
SM_CLONES
double st_reduce_sumexp_f32(const float *x, size_t n, float shift) {
    double total = 0;
    sm_v8f mm = sm_splat(shift);
    for (size_t i = 0; i < n;) {
        size_t end = n - i > 2048 ? i + 2048 : n;
        sm_v8f vs = sm_splat(0.0f);
        float s = 0;
        for (; i + 8 <= end; i += 8) vs += sm_exp8(sm_load(x + i) - mm);
        for (; i < end; i++) s += expf(x[i] - shift);
        total += (double)sm_hsum(vs) + s;
    }
    return total;
}

/* nv vectors of columns [k, k + 8 nv) along R (stride K). */
SM_INLINE void sm_strip(const float *x, float *y, size_t R, size_t K, sm_kind kind, int nv) {
    sm_v8f m[4], s[4];
    for (int v = 0; v < nv; v++) m[v] = sm_splat(-INFINITY), s[v] = sm_splat(0.0f);
    for (size_t r = 0; r < R; r++)
        for (int v = 0; v < nv; v++) m[v] = sm_vmax(m[v], sm_load(x + r * K + 8 * v));
    if (kind == SM_SOFT) {
        for (size_t r = 0; r < R; r++)
            for (int v = 0; v < nv; v++) {
                sm_v8f e = sm_exp8(sm_load(x + r * K + 8 * v) - m[v]);
                sm_store(y + r * K + 8 * v, e);
                s[v] += e;
            }
        for (int v = 0; v < nv; v++) s[v] = sm_splat(1.0f) / s[v];
        for (size_t r = 0; r < R; r++)
            for (int v = 0; v < nv; v++) {
                float *p = y + r * K + 8 * v;
                sm_store(p, sm_load(p) * s[v]);
            }
    } else {
        for (size_t r = 0; r < R; r++)
            for (int v = 0; v < nv; v++) s[v] += sm_exp8(sm_load(x + r * K + 8 * v) - m[v]);
        for (int v = 0; v < nv; v++)
            for (int j = 0; j < 8; j++) s[v][j] = logf(s[v][j]);
        for (size_t r = 0; r < R; r++)
            for (int v = 0; v < nv; v++)
                sm_store(y + r * K + 8 * v, (sm_load(x + r * K + 8 * v) - m[v]) - s[v]);
    }
}

SM_CLONES
static void sm_col_f32_fast(const void *xv, void *yv, size_t R, size_t K, size_t k0, size_t k1,
                            sm_kind kind) {
    const float *x = xv;
    float *y = yv;
    size_t k = k0;
    if (kind != SM_HARD) {
        for (; k + 32 <= k1; k += 32) sm_strip(x + k, y + k, R, K, kind, 4);
        for (; k + 8 <= k1; k += 8) sm_strip(x + k, y + k, R, K, kind, 1);
    }
    if (k < k1) sm_col_f32(xv, yv, R, K, k, k1, kind);
}

/* ---- dispatch ---------------------------------------------------------------------- */

typedef struct sm_fns {
    sm_row_fn row;
    sm_col_fn col;
} sm_fns;

static const sm_fns sm_table[ST_DTYPE_COUNT] = {
    [ST_DTYPE_F32] = {sm_row_f32_fast, sm_col_f32_fast},
    [ST_DTYPE_F64] = {sm_row_f64, sm_col_f64},
    [ST_DTYPE_F16] = {sm_row_f16, sm_col_f16},
    [ST_DTYPE_BF16] = {sm_row_bf16, sm_col_bf16},
};

typedef struct sm_state {
    sm_kind kind;
    int axis;
    bool coerce; /* opset < 13: flatten to [prod(dims[:axis]), prod(dims[axis:])] */
    sm_fns f;
    size_t parts; /* half-precision rows: float rows in scratch, one per part; 0 = unused */
} sm_state;

/* Split x at the softmax axis into [O][R][K]. */
static void sm_split(const sm_state *s, const st_tensor *x, size_t *O, size_t *R, size_t *K) {
    *O = *R = *K = 1;
    for (int d = 0; d < x->ndim; d++) {
        size_t v = (size_t)x->dims[d];
        if (d < s->axis) *O *= v;
        else if (d == s->axis || s->coerce) *R *= v;
        else *K *= v;
    }
}

/* float16/bfloat16 rows: widen each row into a float buffer, run the vectorized float32
 * kernel in place, narrow back (two conversions per element instead of five). */
typedef struct sm_half_job {
    const sm_state *s;
    const uint16_t *x;
    uint16_t *y;
    float *buf;
    size_t O, R, per;
    bool bf16;
} sm_half_job;

#ifdef __FLT16_MAX__ /* the compiler has _Float16: F16C instructions in the x86-64-v3 clone */
SM_INLINE float sm_h2f(uint16_t v) {
    _Float16 h;
    memcpy(&h, &v, sizeof h);
    return (float)h;
}
SM_INLINE uint16_t sm_f2h(float f) {
    _Float16 h = (_Float16)f;
    uint16_t v;
    memcpy(&v, &h, sizeof v);
    return v;
}
#else
#define sm_h2f st_f16_to_f32
#define sm_f2h st_f32_to_f16
#endif

SM_CLONES
static void sm_half_task(void *arg, size_t b, size_t e) {
    const sm_half_job *j = arg;
    for (size_t p = b; p < e; p++) {
        float *buf = j->buf + p * j->R;
        size_t o1 = (p + 1) * j->per < j->O ? (p + 1) * j->per : j->O;
        for (size_t o = p * j->per; o < o1; o++) {
            const uint16_t *x = j->x + o * j->R;
            uint16_t *y = j->y + o * j->R;
            if (j->bf16)
                for (size_t i = 0; i < j->R; i++) buf[i] = st_bf16_to_f32(x[i]);
            else
                for (size_t i = 0; i < j->R; i++) buf[i] = sm_h2f(x[i]);
            sm_row_f32_fast(buf, buf, 1, j->R, j->s->kind);
            if (j->bf16)
                for (size_t i = 0; i < j->R; i++) y[i] = st_f32_to_bf16(buf[i]);
            else
                for (size_t i = 0; i < j->R; i++) y[i] = sm_f2h(buf[i]);
        }
    }
}

typedef struct sm_job {
    const sm_state *s;
    const char *x;
    char *y;
    size_t esz, R, K, nb;
} sm_job;

static void sm_rows_task(void *arg, size_t b, size_t e) {
    const sm_job *j = arg;
    j->s->f.row(j->x + b * j->R * j->esz, j->y + b * j->R * j->esz, e - b, j->R, j->s->kind);
}

static void sm_cols_task(void *arg, size_t b, size_t e) {
    const sm_job *j = arg;
    for (size_t it = b; it < e; it++) {
        size_t o = it / j->nb, k0 = (it % j->nb) * SM_CB;
        size_t k1 = k0 + SM_CB < j->K ? k0 + SM_CB : j->K, off = o * j->R * j->K * j->esz;
        j->s->f.col(j->x + off, j->y + off, j->R, j->K, k0, k1, j->s->kind);
    }
}

static st_status run_sm(st_kctx *k, st_error *err) {
    const sm_state *s = k->state;
    const st_tensor *x = st_in(k, 0);
    st_tensor *y = st_out(k, 0, x->dtype, x->ndim, x->dims, err);
    if (!y) return st_has_out(k, 0) ? err->status : ST_OK;
    size_t N = st_tensor_nelem(x);
    if (!N) return ST_OK;
    sm_job j = {.s = s, .x = x->data, .y = y->data, .esz = st_dtype_size(x->dtype)};
    size_t O;
    sm_split(s, x, &O, &j.R, &j.K);
    if (s->parts && j.K == 1) {
        sm_half_job h = {.s = s,
                         .x = x->data,
                         .y = y->data,
                         .buf = k->scratch,
                         .O = O,
                         .R = j.R,
                         .bf16 = x->dtype == ST_DTYPE_BF16};
        size_t parts = s->parts < O ? s->parts : O;
        h.per = (O + parts - 1) / parts;
        st_parallel_for(k->pool, (O + h.per - 1) / h.per, 1, sm_half_task, &h);
    } else if (j.K == 1) {
        st_parallel_for(k->pool, O, j.R >= SM_GRAIN ? 1 : SM_GRAIN / j.R, sm_rows_task, &j);
    } else {
        j.nb = (j.K + SM_CB - 1) / SM_CB;
        size_t work = j.R * (j.K < SM_CB ? j.K : SM_CB);
        st_parallel_for(k->pool, O * j.nb, work >= SM_GRAIN ? 1 : SM_GRAIN / work, sm_cols_task,
                        &j);
    }
    return ST_OK;
}

static st_status prep_sm(st_kctx *k, sm_kind kind, st_error *err) {
    const st_tensor *x = st_in(k, 0);
    if (!x) return st_errorf(err, ST_ERR_INVALID, "input is missing");
    if (!sm_table[x->dtype].row)
        return st_errorf(err, ST_ERR_UNSUPPORTED, "%s input is not supported (float types only)",
                         st_dtype_name(x->dtype));
    bool coerce = k->opset < 13;
    int axis = 0;
    if (x->ndim) {
        int64_t a = st_attr_int(k->node, "axis", coerce ? 1 : -1);
        st_status st = st_norm_axis(a, x->ndim, &axis, err);
        if (st) return st;
    }
    sm_state *s = st_calloc(1, sizeof *s);
    if (!s) return st_error_nomem(err);
    s->kind = kind;
    s->axis = axis;
    s->coerce = coerce;
    s->f = sm_table[x->dtype];
    size_t O, R, K, bytes;
    sm_split(s, x, &O, &R, &K);
    if ((x->dtype == ST_DTYPE_F16 || x->dtype == ST_DTYPE_BF16) && kind != SM_HARD && K == 1 &&
        st_mul_ok(R * sizeof(float), (size_t)st_pool_threads(k->pool), &bytes)) {
        s->parts = (size_t)st_pool_threads(k->pool);
        k->scratch_bytes = bytes;
    }
    st_out_declare(k, 0, x->dtype, x->ndim, x->dims);
    k->state = s;
    k->run = run_sm;
    return ST_OK;
}

st_status st_reduce_prep_softmax(st_kctx *k, st_error *err) { return prep_sm(k, SM_SOFT, err); }
st_status st_reduce_prep_logsoftmax(st_kctx *k, st_error *err) { return prep_sm(k, SM_LOG, err); }
st_status st_reduce_prep_hardmax(st_kctx *k, st_error *err) { return prep_sm(k, SM_HARD, err); }
