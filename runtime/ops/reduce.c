/* runtime/ops/reduce.c: the reduce family's op table, the Reduce* operators and
 * ArgMax/ArgMin. Softmax-like ops, CumSum/TopK, the losses and Det live in reduce_*.c.
 * Kernels never allocate: a reduction's shape is folded into rows, columns or (for
 * scattered axes) a transposed copy in scratch sized by prepare. */
#include <math.h>
#include <string.h>

#include "reduce_impl.h"

/* ---- reduction kinds ------------------------------------------------------------- */
typedef enum {
    RED_SUM,    /* sum x */
    RED_MEAN,   /* sum x / n */
    RED_SUMSQ,  /* sum x^2 */
    RED_L1,     /* sum |x| */
    RED_L2,     /* sqrt(sum x^2) */
    RED_LOGSUM, /* log(sum x) */
    RED_LSE,    /* log(sum exp x), shifted by the max for stability */
    RED_PROD,   /* prod x */
    RED_MAX,    /* max x (NaN wins; the type's lowest value over an empty set) */
    RED_MIN,    /* min x (NaN wins; the type's highest value over an empty set) */
    RED_KIND_COUNT
} red_kind;

/* A partial result of one chunk of a long single-output reduction. */
typedef struct red_slot {
    double a, b; /* the wide accumulator (memcpy'd, any type up to 8 bytes); LSE: shift, sum */
} red_slot;

/* y[o] = reduce(x[o*n .. o*n+n)) for o < rows. */
typedef void (*red_row_fn)(const void *x, size_t rows, size_t n, void *y);
/* y[k] = reduce over r < R of x[r*K + k], for k0 <= k < k1. */
typedef void (*red_col_fn)(const void *x, size_t R, size_t K, size_t k0, size_t k1, void *y);
/* Partial accumulation of x[0..n) into *s; fin combines np partials of a total of n. */
typedef void (*red_part_fn)(const void *x, size_t n, red_slot *s);
typedef void (*red_fin_fn)(const red_slot *s, size_t np, size_t n, void *y);
/* *a = the partial of both a's and b's elements. */
typedef void (*red_merge_fn)(red_slot *a, const red_slot *b);

typedef struct red_fns {
    red_row_fn row;
    red_col_fn col;
    red_part_fn part;
    red_fin_fn fin;
    red_merge_fn merge;
} red_fns;

#define RED_LANES 8     /* independent accumulators in a row (lets the compiler vectorize) */
#define RED_BLOCK 2048  /* elements summed in the narrow type before widening */
#define RED_CB 256      /* columns reduced together */
#define RED_GRAIN 32768 /* elements per parallel chunk, at least */

/* ---- element conversions ---------------------------------------------------------- */
static inline int64_t red_d2i(double v) {
    if (!(v == v)) return 0;
    if (v >= 9.2233720368547758e18) return INT64_MAX;
    if (v <= -9.2233720368547758e18) return INT64_MIN;
    return (int64_t)v;
}
static inline uint64_t red_d2u(double v) {
    if (!(v == v) || v <= 0) return 0;
    if (v >= 1.8446744073709552e19) return UINT64_MAX;
    return (uint64_t)v;
}
#define LD_SAME(v) (v)
#define ST_F32(v) ((float)(v))
#define ST_F64(v) ((double)(v))
#define ST_F16(v) st_f32_to_f16((float)(v))
#define ST_BF16(v) st_f32_to_bf16((float)(v))
/* Integers: results of FIN are either the integer accumulator or a double. */
#define ST_SI(T, v) ((T) _Generic((v), double : red_d2i((double)(v)), default : (v)))
#define ST_UI(T, v) ((T) _Generic((v), double : red_d2u((double)(v)), default : (v)))
#define ST_I8(v) ST_SI(int8_t, v)
#define ST_I16(v) ST_SI(int16_t, v)
#define ST_I32(v) ST_SI(int32_t, v)
#define ST_I64(v) ST_SI(int64_t, v)
#define ST_U8(v) ST_UI(uint8_t, v)
#define ST_U16(v) ST_UI(uint16_t, v)
#define ST_U32(v) ST_UI(uint32_t, v)
#define ST_U64(v) ST_UI(uint64_t, v)
/* Signed 64-bit accumulators wrap like the narrower types do (two's complement, no UB). */
#define RED_ADD(a, b) \
    _Generic((a), int64_t : (int64_t)((uint64_t)(a) + (uint64_t)(b)), default : (a) + (b))
#define RED_MUL(a, b) \
    _Generic((a), int64_t : (int64_t)((uint64_t)(a) * (uint64_t)(b)), default : (a) * (b))
#define ABS_S(v) ((v) < 0 ? RED_MUL((v), -1) : (v))
#define ABS_U(v) (v)
#define NAN_F(v) isnan(v)
#define NAN_NO(v) 0
#define RED_EXP(v) _Generic((v), float : expf, default : exp)(v)
/* DEF_LSE's sum of exponentials: float32 has a vectorized one, the rest the generic loop. */
#define LSE_FAST_F32(x, n, sh) return st_reduce_sumexp_f32((const float *)(x), (n), (float)(sh))
#define LSE_FAST_NO(x, n, sh) (void)0
#define LSE_FAST_f32 LSE_FAST_F32
#define LSE_FAST_f64 LSE_FAST_NO
#define LSE_FAST_f16 LSE_FAST_NO
#define LSE_FAST_bf16 LSE_FAST_NO
#define LSE_FAST_i8 LSE_FAST_NO
#define LSE_FAST_i16 LSE_FAST_NO
#define LSE_FAST_i32 LSE_FAST_NO
#define LSE_FAST_i64 LSE_FAST_NO
#define LSE_FAST_u8 LSE_FAST_NO
#define LSE_FAST_u16 LSE_FAST_NO
#define LSE_FAST_u32 LSE_FAST_NO
#define LSE_FAST_u64 LSE_FAST_NO
#define LSE_FAST_b8 LSE_FAST_NO
#define RED_SHIFT(m) (isinf(m) ? 0 : (m)) /* a max of +-inf shifts nothing */

/* Element types: suffix, dtype, C type, lane accumulator, wide accumulator, LSE compute
 * type, load, store, abs, isnan, lowest, highest. Half types and float32 accumulate in
 * float lanes that are widened to double every RED_BLOCK elements. */
#define RED_TYPES(X)                                                                               \
    X(f32, ST_DTYPE_F32, float, float, double, float, LD_SAME, ST_F32, ABS_S, NAN_F, -INFINITY,    \
      INFINITY)                                                                                    \
    X(f64, ST_DTYPE_F64, double, double, double, double, LD_SAME, ST_F64, ABS_S, NAN_F, -INFINITY, \
      INFINITY)                                                                                    \
    X(f16, ST_DTYPE_F16, uint16_t, float, double, float, st_f16_to_f32, ST_F16, ABS_S, NAN_F,      \
      -INFINITY, INFINITY)                                                                         \
    X(bf16, ST_DTYPE_BF16, uint16_t, float, double, float, st_bf16_to_f32, ST_BF16, ABS_S, NAN_F,  \
      -INFINITY, INFINITY)                                                                         \
    X(i8, ST_DTYPE_I8, int8_t, int64_t, int64_t, double, LD_SAME, ST_I8, ABS_S, NAN_NO, INT8_MIN,  \
      INT8_MAX)                                                                                    \
    X(i16, ST_DTYPE_I16, int16_t, int64_t, int64_t, double, LD_SAME, ST_I16, ABS_S, NAN_NO,        \
      INT16_MIN, INT16_MAX)                                                                        \
    X(i32, ST_DTYPE_I32, int32_t, int64_t, int64_t, double, LD_SAME, ST_I32, ABS_S, NAN_NO,        \
      INT32_MIN, INT32_MAX)                                                                        \
    X(i64, ST_DTYPE_I64, int64_t, int64_t, int64_t, double, LD_SAME, ST_I64, ABS_S, NAN_NO,        \
      INT64_MIN, INT64_MAX)                                                                        \
    X(u8, ST_DTYPE_U8, uint8_t, uint64_t, uint64_t, double, LD_SAME, ST_U8, ABS_U, NAN_NO, 0,      \
      UINT8_MAX)                                                                                   \
    X(u16, ST_DTYPE_U16, uint16_t, uint64_t, uint64_t, double, LD_SAME, ST_U16, ABS_U, NAN_NO, 0,  \
      UINT16_MAX)                                                                                  \
    X(u32, ST_DTYPE_U32, uint32_t, uint64_t, uint64_t, double, LD_SAME, ST_U32, ABS_U, NAN_NO, 0,  \
      UINT32_MAX)                                                                                  \
    X(u64, ST_DTYPE_U64, uint64_t, uint64_t, uint64_t, double, LD_SAME, ST_U64, ABS_U, NAN_NO, 0,  \
      UINT64_MAX)                                                                                  \
    X(b8, ST_DTYPE_BOOL, uint8_t, uint64_t, uint64_t, double, LD_SAME, ST_U8, ABS_U, NAN_NO, 0,    \
      1) /* ReduceMax/Min only (opset 20): prep_reduce_kind turns the other kinds away */

/* Per-kind pieces: PRE maps an element, COMB folds two accumulators, FIN finishes. */
#define PRE_ID(v, ABSF) (v)
#define PRE_SQ(v, ABSF) RED_MUL((v), (v))
#define PRE_ABS(v, ABSF) ABSF(v)
#define COMB_ADD(a, b, NANF) RED_ADD((a), (b))
#define COMB_MUL(a, b, NANF) RED_MUL((a), (b))
#define COMB_MAX(a, b, NANF) (((b) > (a) || NANF(b)) ? (b) : (a))
#define COMB_MIN(a, b, NANF) (((b) < (a) || NANF(b)) ? (b) : (a))
#define FIN_ID(a, n) ((void)(n), (a))
#define FIN_MEAN(a, n) ((n) ? (double)(a) / (double)(n) : (double)NAN)
#define FIN_SQRT(a, n) ((void)(n), sqrt((double)(a)))
#define FIN_LOG(a, n) ((void)(n), log((double)(a)))

/* Fold row p's first n columns into the lane accumulators a (inside DEF_RED's col). */
#define RED_COL_STEP_(n, ACC, LD, PRE, COMB, ABSF, NANF) \
    for (size_t j = 0; j < (n); j++) {                   \
        ACC v = (ACC)LD(p[j]);                           \
        a[j] = COMB(a[j], PRE(v, ABSF), NANF);           \
    }

/* One (kind, type) reduction: row, column, partial and final kernels. */
#define DEF_RED(NAME, T, ACC, W, LD, ST, ABSF, NANF, INIT, PRE, COMB, FIN)                       \
    static W NAME##_acc(const T *x, size_t n) {                                                  \
        W w = (W)(INIT);                                                                         \
        for (size_t b0 = 0; b0 < n; b0 += RED_BLOCK) {                                           \
            size_t b1 = n - b0 < RED_BLOCK ? n : b0 + RED_BLOCK, i = b0;                         \
            ACC a[RED_LANES];                                                                    \
            for (int j = 0; j < RED_LANES; j++) a[j] = (ACC)(INIT);                              \
            for (; i + RED_LANES <= b1; i += RED_LANES)                                          \
                for (int j = 0; j < RED_LANES; j++) {                                            \
                    ACC v = (ACC)LD(x[i + j]);                                                   \
                    a[j] = COMB(a[j], PRE(v, ABSF), NANF);                                       \
                }                                                                                \
            for (; i < b1; i++) {                                                                \
                ACC v = (ACC)LD(x[i]);                                                           \
                a[0] = COMB(a[0], PRE(v, ABSF), NANF);                                           \
            }                                                                                    \
            for (int j = 1; j < RED_LANES; j++) a[0] = COMB(a[0], a[j], NANF);                   \
            w = COMB(w, (W)a[0], NANF);                                                          \
        }                                                                                        \
        return w;                                                                                \
    }                                                                                            \
    static void NAME##_row(const void *xv, size_t rows, size_t n, void *yv) {                    \
        const T *x = xv;                                                                         \
        T *y = yv;                                                                               \
        for (size_t o = 0; o < rows; o++) y[o] = ST(FIN(NAME##_acc(x + o * n, n), n));           \
    }                                                                                            \
    static void NAME##_col(const void *xv, size_t R, size_t K, size_t k0, size_t k1, void *yv) { \
        const T *x = xv;                                                                         \
        T *y = yv;                                                                               \
        W w[RED_CB];                                                                             \
        ACC a[RED_CB];                                                                           \
        for (size_t kb = k0; kb < k1; kb += RED_CB) {                                            \
            size_t kn = k1 - kb < RED_CB ? k1 - kb : RED_CB;                                     \
            for (size_t j = 0; j < kn; j++) w[j] = (W)(INIT);                                    \
            for (size_t r0 = 0; r0 < R; r0 += RED_BLOCK) {                                       \
                size_t r1 = R - r0 < RED_BLOCK ? R : r0 + RED_BLOCK;                             \
                for (size_t j = 0; j < RED_CB; j++) a[j] = (ACC)(INIT);                          \
                for (size_t r = r0; r < r1; r++) {                                               \
                    const T *p = x + r * K + kb;                                                 \
                    if (kn == RED_CB) /* a constant trip count lets -O2 vectorize */             \
                        RED_COL_STEP_(RED_CB, ACC, LD, PRE, COMB, ABSF, NANF)                    \
                    else RED_COL_STEP_(kn, ACC, LD, PRE, COMB, ABSF, NANF)                       \
                }                                                                                \
                for (size_t j = 0; j < kn; j++) w[j] = COMB(w[j], (W)a[j], NANF);                \
            }                                                                                    \
            for (size_t j = 0; j < kn; j++) y[kb + j] = ST(FIN(w[j], R));                        \
        }                                                                                        \
    }                                                                                            \
    static void NAME##_part(const void *xv, size_t n, red_slot *s) {                             \
        W w = NAME##_acc(xv, n);                                                                 \
        memcpy(&s->a, &w, sizeof w);                                                             \
    }                                                                                            \
    static void NAME##_fin(const red_slot *s, size_t np, size_t n, void *yv) {                   \
        W w;                                                                                     \
        memcpy(&w, &s[0].a, sizeof w);                                                           \
        for (size_t p = 1; p < np; p++) {                                                        \
            W b;                                                                                 \
            memcpy(&b, &s[p].a, sizeof b);                                                       \
            w = COMB(w, b, NANF);                                                                \
        }                                                                                        \
        *(T *)yv = ST(FIN(w, n));                                                                \
    }                                                                                            \
    static void NAME##_merge(red_slot *a, const red_slot *b) {                                   \
        W u, v;                                                                                  \
        memcpy(&u, &a->a, sizeof u);                                                             \
        memcpy(&v, &b->a, sizeof v);                                                             \
        u = COMB(u, v, NANF);                                                                    \
        memcpy(&a->a, &u, sizeof u);                                                             \
    }

/* log(sum(exp x)): a max pass, then exp(x - max) summed in FT lanes widened to double. */
#define DEF_LSE(NAME, T, FT, LD, ST, NANF, FAST)                                                   \
    static FT NAME##_max(const T *x, size_t n) {                                                   \
        FT a[RED_LANES];                                                                           \
        size_t i = 0;                                                                              \
        for (int j = 0; j < RED_LANES; j++) a[j] = -INFINITY;                                      \
        for (; i + RED_LANES <= n; i += RED_LANES)                                                 \
            for (int j = 0; j < RED_LANES; j++) a[j] = COMB_MAX(a[j], (FT)LD(x[i + j]), NANF);     \
        for (; i < n; i++) a[0] = COMB_MAX(a[0], (FT)LD(x[i]), NANF);                              \
        for (int j = 1; j < RED_LANES; j++) a[0] = COMB_MAX(a[0], a[j], NAN_F);                    \
        return a[0];                                                                               \
    }                                                                                              \
    static double NAME##_sum(const T *x, size_t n, FT sh) {                                        \
        FAST(x, n, sh);                                                                            \
        double w = 0;                                                                              \
        for (size_t b0 = 0; b0 < n; b0 += RED_BLOCK) {                                             \
            size_t b1 = n - b0 < RED_BLOCK ? n : b0 + RED_BLOCK;                                   \
            FT a = 0;                                                                              \
            for (size_t i = b0; i < b1; i++) a += RED_EXP((FT)LD(x[i]) - sh);                      \
            w += a;                                                                                \
        }                                                                                          \
        return w;                                                                                  \
    }                                                                                              \
    static void NAME##_row(const void *xv, size_t rows, size_t n, void *yv) {                      \
        const T *x = xv;                                                                           \
        T *y = yv;                                                                                 \
        for (size_t o = 0; o < rows; o++) {                                                        \
            FT sh = RED_SHIFT(NAME##_max(x + o * n, n));                                           \
            y[o] = ST((double)sh + log(NAME##_sum(x + o * n, n, sh)));                             \
        }                                                                                          \
    }                                                                                              \
    static void NAME##_col(const void *xv, size_t R, size_t K, size_t k0, size_t k1, void *yv) {   \
        const T *x = xv;                                                                           \
        T *y = yv;                                                                                 \
        FT m[RED_CB];                                                                              \
        double s[RED_CB];                                                                          \
        for (size_t kb = k0; kb < k1; kb += RED_CB) {                                              \
            size_t kn = k1 - kb < RED_CB ? k1 - kb : RED_CB;                                       \
            for (size_t j = 0; j < kn; j++) m[j] = -INFINITY, s[j] = 0;                            \
            for (size_t r = 0; r < R; r++)                                                         \
                for (size_t j = 0; j < kn; j++)                                                    \
                    m[j] = COMB_MAX(m[j], (FT)LD(x[r * K + kb + j]), NANF);                        \
            for (size_t j = 0; j < kn; j++) m[j] = RED_SHIFT(m[j]);                                \
            for (size_t r = 0; r < R; r++)                                                         \
                for (size_t j = 0; j < kn; j++) s[j] += RED_EXP((FT)LD(x[r * K + kb + j]) - m[j]); \
            for (size_t j = 0; j < kn; j++) y[kb + j] = ST((double)m[j] + log(s[j]));              \
        }                                                                                          \
    }                                                                                              \
    static void NAME##_part(const void *xv, size_t n, red_slot *s) {                               \
        FT sh = RED_SHIFT(NAME##_max(xv, n));                                                      \
        s->a = (double)sh;                                                                         \
        s->b = NAME##_sum(xv, n, sh);                                                              \
    }                                                                                              \
    static void NAME##_fin(const red_slot *s, size_t np, size_t n, void *yv) {                     \
        (void)n;                                                                                   \
        double m = -INFINITY, sum = 0;                                                             \
        for (size_t p = 0; p < np; p++) m = COMB_MAX(m, s[p].a, NAN_F);                            \
        for (size_t p = 0; p < np; p++) sum += s[p].b * exp(s[p].a - m);                           \
        *(T *)yv = ST(m + log(sum));                                                               \
    }                                                                                              \
    static void NAME##_merge(red_slot *a, const red_slot *b) {                                     \
        double m = COMB_MAX(a->a, b->a, NAN_F);                                                    \
        a->b = a->b * exp(a->a - m) + b->b * exp(b->a - m);                                        \
        a->a = m;                                                                                  \
    }

#define RED_DEFS_(TN, DT, T, ACC, W, FT, LD, ST, ABSF, NANF, LO, HI)                  \
    DEF_RED(sum_##TN, T, ACC, W, LD, ST, ABSF, NANF, 0, PRE_ID, COMB_ADD, FIN_ID)     \
    DEF_RED(mean_##TN, T, ACC, W, LD, ST, ABSF, NANF, 0, PRE_ID, COMB_ADD, FIN_MEAN)  \
    DEF_RED(sumsq_##TN, T, ACC, W, LD, ST, ABSF, NANF, 0, PRE_SQ, COMB_ADD, FIN_ID)   \
    DEF_RED(l1_##TN, T, ACC, W, LD, ST, ABSF, NANF, 0, PRE_ABS, COMB_ADD, FIN_ID)     \
    DEF_RED(l2_##TN, T, ACC, W, LD, ST, ABSF, NANF, 0, PRE_SQ, COMB_ADD, FIN_SQRT)    \
    DEF_RED(logsum_##TN, T, ACC, W, LD, ST, ABSF, NANF, 0, PRE_ID, COMB_ADD, FIN_LOG) \
    DEF_RED(prod_##TN, T, ACC, W, LD, ST, ABSF, NANF, 1, PRE_ID, COMB_MUL, FIN_ID)    \
    DEF_RED(max_##TN, T, ACC, W, LD, ST, ABSF, NANF, LO, PRE_ID, COMB_MAX, FIN_ID)    \
    DEF_RED(min_##TN, T, ACC, W, LD, ST, ABSF, NANF, HI, PRE_ID, COMB_MIN, FIN_ID)    \
    DEF_LSE(lse_##TN, T, FT, LD, ST, NANF, LSE_FAST_##TN)
RED_TYPES(RED_DEFS_)

#define RED_FNS_(NAME) \
    { NAME##_row, NAME##_col, NAME##_part, NAME##_fin, NAME##_merge }
#define RED_ENTRY_(TN, DT, ...)                                                   \
    [DT] = {                                                                      \
        [RED_SUM] = RED_FNS_(sum_##TN),     [RED_MEAN] = RED_FNS_(mean_##TN),     \
        [RED_SUMSQ] = RED_FNS_(sumsq_##TN), [RED_L1] = RED_FNS_(l1_##TN),         \
        [RED_L2] = RED_FNS_(l2_##TN),       [RED_LOGSUM] = RED_FNS_(logsum_##TN), \
        [RED_LSE] = RED_FNS_(lse_##TN),     [RED_PROD] = RED_FNS_(prod_##TN),     \
        [RED_MAX] = RED_FNS_(max_##TN),     [RED_MIN] = RED_FNS_(min_##TN),       \
    },
/* Kernels by input dtype and kind; a dtype without a row is not reducible. */
static const red_fns red_table[ST_DTYPE_COUNT][RED_KIND_COUNT] = {RED_TYPES(RED_ENTRY_)};

/* ---- shapes ------------------------------------------------------------------------ */

/* Fold x's dims into alternating kept/reduced groups (dims of size 1 dropped). Returns
 * the number of groups. */
static int red_groups(int ndim, const int64_t *dims, uint32_t mask, int64_t *gsize, bool *gred) {
    int m = 0;
    for (int d = 0; d < ndim; d++) {
        if (dims[d] == 1) continue;
        bool r = (mask >> d) & 1;
        if (m && gred[m - 1] == r) {
            gsize[m - 1] *= dims[d];
        } else {
            gsize[m] = dims[d];
            gred[m] = r;
            m++;
        }
    }
    return m;
}

static int red_out_shape(int ndim, const int64_t *dims, uint32_t mask, bool keep, int64_t *out) {
    int n = 0;
    for (int d = 0; d < ndim; d++) {
        if (!((mask >> d) & 1)) out[n++] = dims[d];
        else if (keep) out[n++] = 1;
    }
    return n;
}

/* The reduced-axes mask from a list of axes; an empty list reduces every axis unless
 * noop_empty, which makes the op an identity (*noop). */
static st_status red_mask(int rank, const int64_t *axes, size_t n, bool noop_empty, uint32_t *mask,
                          bool *noop, st_error *err) {
    uint32_t m = 0;
    if (n == 0) {
        *noop = noop_empty;
        *mask = noop_empty ? 0 : (rank ? (uint32_t)((1ull << rank) - 1) : 0);
        return ST_OK;
    }
    for (size_t i = 0; i < n; i++) {
        if (axes[i] < -(int64_t)rank || axes[i] >= (int64_t)rank)
            return st_errorf(err, ST_ERR_INVALID, "axis %lld is out of range for rank %d",
                             (long long)axes[i], rank);
        int a = (int)(axes[i] < 0 ? axes[i] + rank : axes[i]);
        if ((m >> a) & 1)
            return st_errorf(err, ST_ERR_INVALID, "axis %lld is repeated", (long long)axes[i]);
        m |= 1u << a;
    }
    *noop = false;
    *mask = m;
    return ST_OK;
}

/* Axes from an int tensor (the axes input). */
static st_status red_mask_tensor(const st_tensor *t, int rank, bool noop_empty, uint32_t *mask,
                                 bool *noop, st_error *err) {
    if (!st_dtype_is_int(t->dtype) || t->ndim > 1)
        return st_errorf(err, ST_ERR_INVALID, "axes must be a 1-D integer tensor, got %s[%d dims]",
                         st_dtype_name(t->dtype), t->ndim);
    size_t n = st_tensor_nelem(t);
    if (n > (size_t)ST_MAX_RANK)
        return st_errorf(err, ST_ERR_INVALID, "%zu axes given for an input of rank %d", n, rank);
    int64_t axes[ST_MAX_RANK];
    for (size_t i = 0; i < n; i++) axes[i] = st_tensor_get_i64(t, i);
    return red_mask(rank, axes, n, noop_empty, mask, noop, err);
}

/* ---- execution --------------------------------------------------------------------- */

typedef struct red_job {
    const red_fns *f;
    const char *x;
    char *y;
    size_t esz, R, K, nb; /* element size; reduced length; columns; column blocks */
    size_t chunk, n;      /* partials: elements per part, total */
    red_slot *slots;
} red_job;

static void red_rows_task(void *arg, size_t b, size_t e) {
    const red_job *j = arg;
    j->f->row(j->x + b * j->R * j->esz, e - b, j->R, j->y + b * j->esz);
}

static void red_cols_task(void *arg, size_t b, size_t e) {
    const red_job *j = arg;
    for (size_t it = b; it < e; it++) {
        size_t a = it / j->nb, k0 = (it % j->nb) * RED_CB;
        size_t k1 = k0 + RED_CB < j->K ? k0 + RED_CB : j->K;
        j->f->col(j->x + a * j->R * j->K * j->esz, j->R, j->K, k0, k1, j->y + a * j->K * j->esz);
    }
}

static void red_parts_task(void *arg, size_t b, size_t e) {
    const red_job *j = arg;
    for (size_t p = b; p < e; p++) {
        size_t off = p * j->chunk, len = j->n - off < j->chunk ? j->n - off : j->chunk;
        j->f->part(j->x + off * j->esz, len, &j->slots[p]);
    }
}

/* Scattered axes ending in a reduced group: each output folds the partials of its
 * contiguous runs of the last group, walking the other reduced groups. */
typedef struct red_strided {
    const red_fns *f;
    const char *x;
    char *y;
    size_t esz, run, total; /* element size; last group's length; elements per output */
    int nk, nr;             /* kept groups; reduced groups before the last */
    int64_t kdim[ST_MAX_RANK], kstr[ST_MAX_RANK], rdim[ST_MAX_RANK], rstr[ST_MAX_RANK];
} red_strided;

static void red_strided_task(void *arg, size_t b, size_t e) {
    const red_strided *j = arg;
    for (size_t o = b; o < e; o++) {
        int64_t base = 0, idx[ST_MAX_RANK] = {0};
        size_t rem = o;
        for (int d = j->nk - 1; d >= 0; d--) {
            base += (int64_t)(rem % (size_t)j->kdim[d]) * j->kstr[d];
            rem /= (size_t)j->kdim[d];
        }
        red_slot acc, part;
        bool first = true;
        for (;;) {
            int64_t off = base;
            for (int d = 0; d < j->nr; d++) off += idx[d] * j->rstr[d];
            j->f->part(j->x + (size_t)off * j->esz, j->run, first ? &acc : &part);
            if (!first) j->f->merge(&acc, &part);
            first = false;
            int d = j->nr - 1;
            for (; d >= 0; d--) {
                if (++idx[d] < j->rdim[d]) break;
                idx[d] = 0;
            }
            if (d < 0) break;
        }
        j->f->fin(&acc, 1, j->total, j->y + o * j->esz);
    }
}

static void red_strided_exec(st_kctx *k, const red_fns *f, const st_tensor *x, int m,
                             const int64_t *gs, const bool *gr, void *y, size_t ny) {
    red_strided j = {.f = f,
                     .x = x->data,
                     .y = y,
                     .esz = st_dtype_size(x->dtype),
                     .run = (size_t)gs[m - 1],
                     .total = 1};
    int64_t s = 1;
    for (int d = m - 1; d >= 0; d--) {
        if (!gr[d]) {
            j.nk++;
        } else {
            j.total *= (size_t)gs[d];
            if (d < m - 1) j.nr++;
        }
    }
    int ik = j.nk, ir = j.nr;
    for (int d = m - 1; d >= 0; d--) {
        if (!gr[d]) {
            j.kdim[--ik] = gs[d];
            j.kstr[ik] = s;
        } else if (d < m - 1) {
            j.rdim[--ir] = gs[d];
            j.rstr[ir] = s;
        }
        s *= gs[d];
    }
    size_t grain = j.total >= RED_GRAIN ? 1 : RED_GRAIN / j.total;
    st_parallel_for(k->pool, ny, grain, red_strided_task, &j);
}

/* True when the folded layout needs the permuted copy in scratch. */
static bool red_needs_permute(int m, const bool *gr, const int64_t *gs) {
    if (m < 3 || (m == 3 && gr[1] && !gr[0])) return false;
    return !(gr[m - 1] && gs[m - 1] >= 16);
}

/* Copy x (g folded dims) into dst with the kept groups first and the reduced ones last. */
static void red_permute(const char *x, char *dst, size_t esz, int g, const int64_t *gsize,
                        const bool *gred) {
    int64_t src_stride[ST_MAX_RANK], pd[ST_MAX_RANK], ps[ST_MAX_RANK], idx[ST_MAX_RANK] = {0};
    int64_t s = 1;
    for (int d = g - 1; d >= 0; d--) {
        src_stride[d] = s;
        s *= gsize[d];
    }
    int n = 0;
    for (int pass = 0; pass < 2; pass++)
        for (int d = 0; d < g; d++)
            if (gred[d] == (pass == 1)) {
                pd[n] = gsize[d];
                ps[n] = src_stride[d];
                n++;
            }
    size_t total = (size_t)s, inner = (size_t)pd[n - 1];
    int64_t istr = ps[n - 1];
    for (size_t done = 0; done < total; done += inner) {
        int64_t off = 0;
        for (int d = 0; d < n - 1; d++) off += idx[d] * ps[d];
        switch (esz) {
#define RED_PERM_(TY)                                                     \
    {                                                                     \
        const TY *sp = (const TY *)x + off;                               \
        TY *dp = (TY *)dst + done;                                        \
        for (size_t i = 0; i < inner; i++) dp[i] = sp[(int64_t)i * istr]; \
    }                                                                     \
    break;
        case 1: RED_PERM_(uint8_t)
        case 2: RED_PERM_(uint16_t)
        case 4: RED_PERM_(uint32_t)
        default: RED_PERM_(uint64_t)
#undef RED_PERM_
        }
        for (int d = n - 2; d >= 0; d--) {
            if (++idx[d] < pd[d]) break;
            idx[d] = 0;
        }
    }
}

/* Reduce x over the axes in mask into y (already shaped); scratch holds a permuted copy
 * when the reduced axes are not one contiguous run. */
static void red_exec(st_kctx *k, const red_fns *f, const st_tensor *x, uint32_t mask, void *y,
                     size_t ny) {
    size_t esz = st_dtype_size(x->dtype), N = st_tensor_nelem(x);
    if (ny == 0) return;
    red_job j = {.f = f, .x = x->data, .y = y, .esz = esz};
    if (N == 0) { /* reducing over an empty axis: every output is the identity's result */
        f->row(x->data, ny, 0, y);
        return;
    }
    int64_t gs[ST_MAX_RANK];
    bool gr[ST_MAX_RANK];
    int m = red_groups(x->ndim, x->dims, mask, gs, gr);
    size_t O = 1, R = 1, K = 1;
    if (m == 1) {
        *(gr[0] ? &R : &O) = (size_t)gs[0];
    } else if (m == 2) {
        O = gr[0] ? 1 : (size_t)gs[0];
        R = (size_t)gs[gr[0] ? 0 : 1];
        K = gr[0] ? (size_t)gs[1] : 1;
    } else if (m == 3 && gr[1]) {
        O = (size_t)gs[0], R = (size_t)gs[1], K = (size_t)gs[2];
    } else if (m >= 3 && !red_needs_permute(m, gr, gs)) { /* scattered, ending in a long run */
        red_strided_exec(k, f, x, m, gs, gr, y, ny);
        return;
    } else if (m >= 3) { /* scattered axes: move them last */
        red_permute(x->data, k->scratch, esz, m, gs, gr);
        j.x = k->scratch;
        R = 1;
        for (int d = 0; d < m; d++)
            if (gr[d]) R *= (size_t)gs[d];
        O = N / R;
    }
    j.R = R;
    j.K = K;
    int threads = st_pool_threads(k->pool);
    if (K > 1) {
        j.nb = (K + RED_CB - 1) / RED_CB;
        size_t work = R * RED_CB, grain = work >= RED_GRAIN ? 1 : RED_GRAIN / work;
        st_parallel_for(k->pool, O * j.nb, grain, red_cols_task, &j);
    } else if (O == 1 && R >= 4 * (size_t)RED_GRAIN && threads > 1) {
        red_slot slots[64];
        size_t np = (size_t)threads * 4 < 64 ? (size_t)threads * 4 : 64;
        j.n = R;
        j.chunk = (R + np - 1) / np;
        np = (R + j.chunk - 1) / j.chunk;
        j.slots = slots;
        st_parallel_for(k->pool, np, 1, red_parts_task, &j);
        f->fin(slots, np, R, y);
    } else {
        size_t grain = R >= RED_GRAIN ? 1 : RED_GRAIN / R;
        st_parallel_for(k->pool, O, grain, red_rows_task, &j);
    }
}

/* ---- Reduce* ----------------------------------------------------------------------- */

typedef struct red_state {
    red_kind kind;
    bool keepdims;
    bool noop_empty; /* noop_with_empty_axes */
    bool known;      /* the axes were known at prepare (attribute, constant or absent) */
    bool noop;       /* known and empty with noop_empty: the output is a copy */
    uint32_t mask;   /* known reduced axes */
    const red_fns *f;
} red_state;

static st_status run_reduce(st_kctx *k, st_error *err) {
    const red_state *s = k->state;
    const st_tensor *x = st_in(k, 0);
    uint32_t mask = s->mask;
    bool noop = s->noop;
    if (!s->known) {
        const st_tensor *a = st_in(k, 1);
        st_status st = a ? red_mask_tensor(a, x->ndim, s->noop_empty, &mask, &noop, err)
                         : red_mask(x->ndim, NULL, 0, s->noop_empty, &mask, &noop, err);
        if (st) return st;
    }
    int64_t dims[ST_MAX_RANK];
    int nd = red_out_shape(x->ndim, x->dims, mask, s->keepdims || noop, dims);
    st_tensor *y = st_out(k, 0, x->dtype, nd, dims, err);
    if (!y) return st_has_out(k, 0) ? err->status : ST_OK;
    if (noop) {
        size_t nb = st_tensor_nbytes(x);
        if (y->data != x->data && nb) memcpy(y->data, x->data, nb);
        return ST_OK;
    }
    red_exec(k, s->f, x, mask, y->data, st_tensor_nelem(y));
    return ST_OK;
}

/* Axes come at run time: the rank follows from keepdims and the number of axes (distinct,
 * as red_mask requires); extents stay unknown, except when there are no axes at all. */
static void red_declare_type(st_kctx *k, const st_tensor *x, const red_state *s) {
    const st_tensor *a = st_in(k, 1);
    int n = a && a->ndim == 1 && a->dims[0] >= 0 && a->dims[0] <= x->ndim ? (int)a->dims[0] : -1;
    int64_t dims[ST_MAX_RANK];
    int nd = s->keepdims ? x->ndim : n >= 1 ? x->ndim - n : -1;
    for (int d = 0; d < x->ndim; d++) dims[d] = -1;
    if (n == 0) { /* no axes: all of them, or none with noop_with_empty_axes */
        nd = s->keepdims || s->noop_empty ? x->ndim : 0;
        for (int d = 0; d < x->ndim; d++) dims[d] = s->noop_empty ? x->dims[d] : 1;
    }
    st_out_declare_type(k, 0, x->dtype, nd, dims);
}

static st_status prep_reduce_kind(st_kctx *k, red_kind kind, st_error *err) {
    const st_tensor *x = st_in(k, 0);
    red_state *s = NULL;
    st_status st;
    if (!x) return st_errorf(err, ST_ERR_INVALID, "input data is missing");
    bool bool_ok = (kind == RED_MAX || kind == RED_MIN) && k->opset >= 20;
    if (!red_table[x->dtype][kind].row || (x->dtype == ST_DTYPE_BOOL && !bool_ok))
        return st_errorf(err, ST_ERR_UNSUPPORTED, "%s input is not supported",
                         st_dtype_name(x->dtype));
    if (!(s = st_calloc(1, sizeof *s))) return st_error_nomem(err);
    s->kind = kind;
    s->f = &red_table[x->dtype][kind];
    s->keepdims = st_attr_int(k->node, "keepdims", 1) != 0;
    s->noop_empty = st_attr_int(k->node, "noop_with_empty_axes", 0) != 0;
    /* ReduceSum takes axes as an input from opset 13, the others from opset 18 */
    bool axes_in = k->opset >= (kind == RED_SUM ? 13 : 18);
    s->known = true;
    if (axes_in && st_has_in(k, 1)) {
        const st_tensor *a = st_in_const(k, 1);
        if (a) st = red_mask_tensor(a, x->ndim, s->noop_empty, &s->mask, &s->noop, err);
        else s->known = false, st = ST_OK;
    } else if (axes_in) {
        st = red_mask(x->ndim, NULL, 0, s->noop_empty, &s->mask, &s->noop, err);
    } else {
        const int64_t *axes;
        size_t n = st_attr_ints(k->node, "axes", &axes);
        st = red_mask(x->ndim, axes, n, false, &s->mask, &s->noop, err);
    }
    if (st) goto fail;
    size_t N = st_tensor_nelem(x);
    if (s->known) {
        int64_t dims[ST_MAX_RANK], gs[ST_MAX_RANK];
        bool gr[ST_MAX_RANK];
        int nd = red_out_shape(x->ndim, x->dims, s->mask, s->keepdims || s->noop, dims);
        st_out_declare(k, 0, x->dtype, nd, dims);
        int m = red_groups(x->ndim, x->dims, s->mask, gs, gr);
        if (!s->noop && N && red_needs_permute(m, gr, gs))
            k->scratch_bytes = N * st_dtype_size(x->dtype);
    } else {
        red_declare_type(k, x, s);
        k->scratch_bytes = N * st_dtype_size(x->dtype);
    }
    k->state = s;
    k->run = run_reduce;
    return ST_OK;
fail:
    st_free(s);
    return st;
}

#define RED_PREP_(fn, kind) \
    static st_status fn(st_kctx *k, st_error *err) { return prep_reduce_kind(k, kind, err); }
RED_PREP_(prep_reduce_sum, RED_SUM)
RED_PREP_(prep_reduce_mean, RED_MEAN)
RED_PREP_(prep_reduce_sumsq, RED_SUMSQ)
RED_PREP_(prep_reduce_l1, RED_L1)
RED_PREP_(prep_reduce_l2, RED_L2)
RED_PREP_(prep_reduce_logsum, RED_LOGSUM)
RED_PREP_(prep_reduce_lse, RED_LSE)
RED_PREP_(prep_reduce_prod, RED_PROD)
RED_PREP_(prep_reduce_max, RED_MAX)
RED_PREP_(prep_reduce_min, RED_MIN)

/* ---- ArgMax / ArgMin --------------------------------------------------------------- */

/* y[k] = index r < R of the best x[r*K + k], for k0 <= k < k1 (R >= 1). */
typedef void (*arg_fn)(const void *x, size_t R, size_t K, size_t k0, size_t k1, int64_t *y);

/* "v beats the best so far": strict keeps the first of equals, non-strict the last; a NaN
 * beats everything (numpy picks the first NaN, or the last with select_last_index). */
#define ARG_GT(v, b, NANF) ((v) > (b) || (NANF(v) && !NANF(b)))
#define ARG_GE(v, b, NANF) ((v) >= (b) || NANF(v))
#define ARG_LT(v, b, NANF) ((v) < (b) || (NANF(v) && !NANF(b)))
#define ARG_LE(v, b, NANF) ((v) <= (b) || NANF(v))

#define DEF_ARG(NAME, T, CT, LD, NANF, BEATS)                                                \
    static void NAME(const void *xv, size_t R, size_t K, size_t k0, size_t k1, int64_t *y) { \
        const T *x = xv;                                                                     \
        CT best[RED_CB];                                                                     \
        int64_t bi[RED_CB];                                                                  \
        for (size_t kb = k0; kb < k1; kb += RED_CB) {                                        \
            size_t kn = k1 - kb < RED_CB ? k1 - kb : RED_CB;                                 \
            for (size_t j = 0; j < kn; j++) best[j] = (CT)LD(x[kb + j]), bi[j] = 0;          \
            for (size_t r = 1; r < R; r++) {                                                 \
                const T *p = x + r * K + kb;                                                 \
                for (size_t j = 0; j < kn; j++) {                                            \
                    CT v = (CT)LD(p[j]);                                                     \
                    if (BEATS(v, best[j], NANF)) best[j] = v, bi[j] = (int64_t)r;            \
                }                                                                            \
            }                                                                                \
            memcpy(y + kb, bi, kn * sizeof *bi);                                             \
        }                                                                                    \
    }

/* suffix, dtype, C type, compare type, load, isnan */
#define ARG_TYPES(X)                                               \
    X(f32, ST_DTYPE_F32, float, float, LD_SAME, NAN_F)             \
    X(f64, ST_DTYPE_F64, double, double, LD_SAME, NAN_F)           \
    X(f16, ST_DTYPE_F16, uint16_t, float, st_f16_to_f32, NAN_F)    \
    X(bf16, ST_DTYPE_BF16, uint16_t, float, st_bf16_to_f32, NAN_F) \
    X(i8, ST_DTYPE_I8, int8_t, int8_t, LD_SAME, NAN_NO)            \
    X(i16, ST_DTYPE_I16, int16_t, int16_t, LD_SAME, NAN_NO)        \
    X(i32, ST_DTYPE_I32, int32_t, int32_t, LD_SAME, NAN_NO)        \
    X(i64, ST_DTYPE_I64, int64_t, int64_t, LD_SAME, NAN_NO)        \
    X(u8, ST_DTYPE_U8, uint8_t, uint8_t, LD_SAME, NAN_NO)          \
    X(u16, ST_DTYPE_U16, uint16_t, uint16_t, LD_SAME, NAN_NO)      \
    X(u32, ST_DTYPE_U32, uint32_t, uint32_t, LD_SAME, NAN_NO)      \
    X(u64, ST_DTYPE_U64, uint64_t, uint64_t, LD_SAME, NAN_NO)

#define ARG_DEFS_(TN, DT, T, CT, LD, NANF)             \
    DEF_ARG(argmax_##TN, T, CT, LD, NANF, ARG_GT)      \
    DEF_ARG(argmax_last_##TN, T, CT, LD, NANF, ARG_GE) \
    DEF_ARG(argmin_##TN, T, CT, LD, NANF, ARG_LT)      \
    DEF_ARG(argmin_last_##TN, T, CT, LD, NANF, ARG_LE)
ARG_TYPES(ARG_DEFS_)

/* By dtype: [max first, max last, min first, min last]. */
#define ARG_ENTRY_(TN, DT, ...) \
    [DT] = {argmax_##TN, argmax_last_##TN, argmin_##TN, argmin_last_##TN},
static const arg_fn arg_table[ST_DTYPE_COUNT][4] = {ARG_TYPES(ARG_ENTRY_)};

typedef struct arg_state {
    int axis;
    bool keepdims;
    arg_fn fn;
} arg_state;

typedef struct arg_job {
    arg_fn fn;
    const char *x;
    int64_t *y;
    size_t esz, R, K, nb;
} arg_job;

static void arg_task(void *arg, size_t b, size_t e) {
    const arg_job *j = arg;
    for (size_t it = b; it < e; it++) {
        size_t o = it / j->nb, k0 = (it % j->nb) * RED_CB;
        size_t k1 = k0 + RED_CB < j->K ? k0 + RED_CB : j->K;
        j->fn(j->x + o * j->R * j->K * j->esz, j->R, j->K, k0, k1, j->y + o * j->K);
    }
}

static int arg_out_shape(const st_tensor *x, int axis, bool keep, int64_t *dims) {
    uint32_t mask = x->ndim ? 1u << axis : 0;
    return red_out_shape(x->ndim, x->dims, mask, keep, dims);
}

static st_status run_arg(st_kctx *k, st_error *err) {
    const arg_state *s = k->state;
    const st_tensor *x = st_in(k, 0);
    int64_t dims[ST_MAX_RANK];
    int nd = arg_out_shape(x, s->axis, s->keepdims, dims);
    st_tensor *y = st_out(k, 0, ST_DTYPE_I64, nd, dims, err);
    if (!y) return st_has_out(k, 0) ? err->status : ST_OK;
    size_t ny = st_tensor_nelem(y);
    if (!ny) return ST_OK;
    arg_job j = {.fn = s->fn, .x = x->data, .y = y->data, .esz = st_dtype_size(x->dtype)};
    size_t O = 1;
    j.R = x->ndim ? (size_t)x->dims[s->axis] : 1;
    j.K = 1;
    for (int d = 0; d < x->ndim; d++) {
        if (d < s->axis) O *= (size_t)x->dims[d];
        if (d > s->axis) j.K *= (size_t)x->dims[d];
    }
    if (j.R == 0)
        return st_errorf(err, ST_ERR_INVALID, "cannot take the arg of an empty axis %d", s->axis);
    j.nb = (j.K + RED_CB - 1) / RED_CB;
    size_t work = j.R * (j.K < RED_CB ? j.K : RED_CB);
    st_parallel_for(k->pool, O * j.nb, work >= RED_GRAIN ? 1 : RED_GRAIN / work, arg_task, &j);
    return ST_OK;
}

static st_status prep_arg(st_kctx *k, bool is_max, st_error *err) {
    const st_tensor *x = st_in(k, 0);
    if (!x) return st_errorf(err, ST_ERR_INVALID, "input data is missing");
    int last = st_attr_int(k->node, "select_last_index", 0) != 0;
    arg_fn fn = arg_table[x->dtype][(is_max ? 0 : 2) + last];
    if (!fn)
        return st_errorf(err, ST_ERR_UNSUPPORTED, "%s input is not supported",
                         st_dtype_name(x->dtype));
    int axis;
    st_status st = st_norm_axis(st_attr_int(k->node, "axis", 0), x->ndim, &axis, err);
    if (st) return st;
    arg_state *s = st_calloc(1, sizeof *s);
    if (!s) return st_error_nomem(err);
    s->axis = axis;
    s->keepdims = st_attr_int(k->node, "keepdims", 1) != 0;
    s->fn = fn;
    int64_t dims[ST_MAX_RANK];
    int nd = arg_out_shape(x, axis, s->keepdims, dims);
    st_out_declare(k, 0, ST_DTYPE_I64, nd, dims);
    k->state = s;
    k->run = run_arg;
    return ST_OK;
}

static st_status prep_argmax(st_kctx *k, st_error *err) { return prep_arg(k, true, err); }
static st_status prep_argmin(st_kctx *k, st_error *err) { return prep_arg(k, false, err); }

/* Class labels (input 1) of NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss index
 * dimension 1 (C) of the scores. */
static int64_t bound_class_labels(const st_graph *g, const st_node *nd, int pos) {
    if (pos != 1 || nd->n_in < 1) return -1;
    return st_ops_value_dim(g, nd->inputs[0], 1);
}

/* ---- the family's table ------------------------------------------------------------ */
/* One row per op: prepare reads k->opset for differences between versions. */
static const st_op_def family_rows[] = {
    /* axes: attribute; input from 13; one add per input element */
    ST_OP("", "ReduceSum", 1, prep_reduce_sum, .flags = ST_OPF_FLOPS_OF_INPUT, .flops_per_elem = 1),
    /* arithmetic mean; one add per input element */
    ST_OP("", "ReduceMean", 1, prep_reduce_mean, .flags = ST_OPF_FLOPS_OF_INPUT,
          .flops_per_elem = 1),
    /* sum of squares; square and add per input element */
    ST_OP("", "ReduceSumSquare", 1, prep_reduce_sumsq, .flags = ST_OPF_FLOPS_OF_INPUT,
          .flops_per_elem = 2),
    ST_OP("", "ReduceL1", 1, prep_reduce_l1), /* sum of absolute values */
    /* Euclidean norm; square and add per input element */
    ST_OP("", "ReduceL2", 1, prep_reduce_l2, .flags = ST_OPF_FLOPS_OF_INPUT, .flops_per_elem = 2),
    ST_OP("", "ReduceLogSum", 1, prep_reduce_logsum), /* log of the sum */
    ST_OP("", "ReduceLogSumExp", 1, prep_reduce_lse), /* log of the sum of exponentials */
    /* product; one multiply per input element */
    ST_OP("", "ReduceProd", 1, prep_reduce_prod, .flags = ST_OPF_FLOPS_OF_INPUT,
          .flops_per_elem = 1),
    /* maximum; int8/uint8 from 12; one compare per input element */
    ST_OP("", "ReduceMax", 1, prep_reduce_max, .flags = ST_OPF_FLOPS_OF_INPUT, .flops_per_elem = 1),
    /* minimum; int8/uint8 from 12; one compare per input element */
    ST_OP("", "ReduceMin", 1, prep_reduce_min, .flags = ST_OPF_FLOPS_OF_INPUT, .flops_per_elem = 1),
    ST_OP("", "ArgMax", 1, prep_argmax), /* select_last_index from 12 */
    ST_OP("", "ArgMin", 1, prep_argmin), /* select_last_index from 12 */
    /* 2-D coercion before 13; max, subtract, exp, sum, divide per input element */
    ST_OP("", "Softmax", 1, st_reduce_prep_softmax, .flags = ST_OPF_FLOPS_OF_INPUT,
          .flops_per_elem = 5),
    /* 2-D coercion before 13; max, subtract, exp, sum, log-subtract per input element */
    ST_OP("", "LogSoftmax", 1, st_reduce_prep_logsoftmax, .flags = ST_OPF_FLOPS_OF_INPUT,
          .flops_per_elem = 5),
    ST_OP("", "Hardmax", 1, st_reduce_prep_hardmax), /* 2-D coercion before 13 */
    ST_OP("", "CumSum", 11, st_reduce_prep_cumsum),  /* exclusive, reverse, axis input */
    ST_OP("", "TopK", 1, st_reduce_prep_topk),       /* k attribute before 10 */
    ST_OP("", "NegativeLogLikelihoodLoss", 12, st_reduce_prep_nllloss,
          .index_bound = bound_class_labels), /* weight, ignore_index */
    /* optional log_prob */
    ST_OP("", "SoftmaxCrossEntropyLoss", 12, st_reduce_prep_sce, .index_bound = bound_class_labels),
    ST_OP("", "Det", 11, st_reduce_prep_det), /* batched determinant */
};
const st_op_family st_ops_reduce = {"reduce", family_rows, ST_ARRAY_LEN(family_rows)};
