/* runtime/ops/elementwise.c: pointwise ONNX operators: unary math and activations,
 * broadcasting binary and variadic arithmetic, comparisons, logic, Where, Clip and Cast.
 * One strided driver runs every op over its broadcast shape (shapes come from helpers.c);
 * kernels are generated per dtype from one body each and never allocate or fail.
 * float16/bfloat16 are computed through float32 in blocks; integer math never hits UB. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <tgmath.h>

#include "op.h"

/* -O2's very-cheap vectorizer cost model skips most of these simple loops, and selects
 * if-convert only without trapping math (kernels never read FP flags or errno). Note that
 * no-math-errno here does not reach libm builtins such as sqrtf: Sqrt stays scalar unless
 * -fno-math-errno is on the command line. */
#pragma GCC optimize("tree-vectorize", "vect-cost-model=dynamic", "no-math-errno", \
                     "no-trapping-math")

#define EW_MAXIN 3     /* Where has three inputs */
#define EW_BLK 1024    /* elements converted at a time when a kernel computes in another type */
#define EW_GRAIN 32768 /* elements per thread chunk for cheap ops */
#define EW_GRAIN_HEAVY 4096 /* ... for transcendental ops */

/* ---- attributes and run-time scalars that kernels read ----------------------------- */
typedef union ew_raw {
    uint64_t u;
    double d;
    unsigned char b[8];
} ew_raw;

typedef struct ew_params {
    double alpha, beta, gamma, lambd, bias; /* activation attributes */
    double div;                             /* Mean: number of inputs */
    int det_neg, det_pos;                   /* IsInf */
    ew_raw lo, hi;                          /* Clip bounds, stored in the compute dtype */
} ew_params;

/* A kernel: n output elements from inputs in[j] that advance when inc[j] (else repeat
 * element 0), in the plan's compute dtypes. */
typedef void (*ew_kern)(const void *const *in, const uint8_t *inc, void *y, size_t n,
                        const ew_params *P);
#define EW_KARGS const void *const *in, const uint8_t *inc, void *y_, size_t n, const ew_params *P

/* ---- dtype lists: (suffix, C type, wrap type for modular integer math, dtype) ---------- */
#define EW_T_F(X, ...)                              \
    X(__VA_ARGS__, f32, float, float, ST_DTYPE_F32) \
    X(__VA_ARGS__, f64, double, double, ST_DTYPE_F64)
#define EW_T_F32(X, ...) X(__VA_ARGS__, f32, float, float, ST_DTYPE_F32)
#define EW_T_F64(X, ...) X(__VA_ARGS__, f64, double, double, ST_DTYPE_F64)
#define EW_T_S(X, ...)                                   \
    X(__VA_ARGS__, i8, int8_t, uint32_t, ST_DTYPE_I8)    \
    X(__VA_ARGS__, i16, int16_t, uint32_t, ST_DTYPE_I16) \
    X(__VA_ARGS__, i32, int32_t, uint32_t, ST_DTYPE_I32) \
    X(__VA_ARGS__, i64, int64_t, uint64_t, ST_DTYPE_I64)
#define EW_T_U(X, ...)                                    \
    X(__VA_ARGS__, u8, uint8_t, uint32_t, ST_DTYPE_U8)    \
    X(__VA_ARGS__, u16, uint16_t, uint32_t, ST_DTYPE_U16) \
    X(__VA_ARGS__, u32, uint32_t, uint32_t, ST_DTYPE_U32) \
    X(__VA_ARGS__, u64, uint64_t, uint64_t, ST_DTYPE_U64)
#define EW_T_B(X, ...) X(__VA_ARGS__, b8, uint8_t, uint32_t, ST_DTYPE_BOOL)

/* Generate name_<sfx> from BODY(T, W) for each dtype of a list, and a table row for it. */
#define EW_FN(name, BODY, sfx, T, W, E)  \
    static void name##_##sfx(EW_KARGS) { \
        (void)P;                         \
        (void)inc;                       \
        BODY(T, W)                       \
    }
#define EW_ROW(name, BODY, sfx, T, W, E) [E] = name##_##sfx,

/* Loop bodies. A and B are the current input elements, P the parameters. */
#define EW_UN(TX, TY, EXPR)          \
    const TX *x_ = in[0];            \
    TY *y = y_;                      \
    for (size_t i = 0; i < n; i++) { \
        TX A = x_[i];                \
        y[i] = (TY)(EXPR);           \
    }
#define EW_BIN(TA, TB, TY, EXPR)                  \
    const TA *a_ = in[0];                         \
    const TB *b_ = in[1];                         \
    TY *y = y_;                                   \
    if (inc[0] && inc[1]) {                       \
        for (size_t i = 0; i < n; i++) {          \
            TA A = a_[i];                         \
            TB B = b_[i];                         \
            y[i] = (TY)(EXPR);                    \
        }                                         \
    } else if (inc[0]) {                          \
        TB B = b_[0];                             \
        for (size_t i = 0; i < n; i++) {          \
            TA A = a_[i];                         \
            y[i] = (TY)(EXPR);                    \
        }                                         \
    } else if (inc[1]) {                          \
        TA A = a_[0];                             \
        for (size_t i = 0; i < n; i++) {          \
            TB B = b_[i];                         \
            y[i] = (TY)(EXPR);                    \
        }                                         \
    } else {                                      \
        TA A = a_[0];                             \
        TB B = b_[0];                             \
        TY v_ = (TY)(EXPR);                       \
        for (size_t i = 0; i < n; i++) y[i] = v_; \
    }

/* ---- safe float -> integer conversion (C leaves out-of-range conversions undefined) --- */
/* NaN and out-of-range values give INT64_MIN, as x86's cvttsd2si does (and numpy there). */
static inline int64_t ew_f2i64(double d) {
    if (!(d > -9223372036854775808.0 && d < 9223372036854775808.0)) return INT64_MIN;
    return (int64_t)d;
}
static inline uint64_t ew_f2u64(double d) {
    if (d >= 9223372036854775808.0 && d < 18446744073709551616.0)
        return (uint64_t)(d - 9223372036854775808.0) + ((uint64_t)1 << 63);
    return (uint64_t)ew_f2i64(d);
}

/* double -> float16 with one rounding: round to odd into float, then to nearest even. */
static uint16_t ew_f64_to_f16(double d) {
    float f = (float)d;
    if (f == f && (double)f != d && !isinf(f)) {
        union {
            float f;
            uint32_t u;
        } v = {f};
        if (!(v.u & 1)) {
            /* f was rounded to even: step one ulp toward d so the sticky bit survives */
            v.f = nextafterf(f, d > (double)f ? INFINITY : -INFINITY);
            if (v.u & 1) f = v.f;
        }
    }
    return st_f32_to_f16(f);
}

/* ---- branch-free half conversions (bit-identical to core's, but inline so loops vectorize) */
/* core's conversions are branch-free, so the loops below vectorize through them */
#define ew_h2f st_f16_to_f32
#define ew_f2h st_f32_to_f16
#define ew_f2bf st_f32_to_bf16

/* ---- conversion between any two non-string dtypes ---------------------------------- */
#define EW_LD_ID(v) (v)
#define EW_LD_F16(v) ew_h2f(v)
#define EW_LD_BF16(v) st_bf16_to_f32(v)
#define EW_ST_FLT(T, v) ((T)(v))
#define EW_ST_INT(T, v)                          \
    _Generic((v), float                          \
             : (T)ew_f2i64((double)(v)), double  \
             : (T)ew_f2i64((double)(v)), default \
             : (T)(v))
#define EW_ST_U64(T, v) \
    _Generic((v), float : ew_f2u64((double)(v)), double : ew_f2u64((double)(v)), default : (T)(v))
#define EW_ST_BOOL(T, v) ((T)((v) != 0))
#define EW_ST_F16(T, v) \
    _Generic((v), double : ew_f64_to_f16((double)(v)), default : ew_f2h((float)(v)))
#define EW_ST_BF16(T, v) ew_f2bf((float)(v))

/* (suffix, storage type, dtype, load, store): two copies so the lists can nest. */
#define EW_CV_A(X, ...)                                                   \
    X(__VA_ARGS__, f32, float, ST_DTYPE_F32, EW_LD_ID, EW_ST_FLT)         \
    X(__VA_ARGS__, f64, double, ST_DTYPE_F64, EW_LD_ID, EW_ST_FLT)        \
    X(__VA_ARGS__, f16, uint16_t, ST_DTYPE_F16, EW_LD_F16, EW_ST_F16)     \
    X(__VA_ARGS__, bf16, uint16_t, ST_DTYPE_BF16, EW_LD_BF16, EW_ST_BF16) \
    X(__VA_ARGS__, i8, int8_t, ST_DTYPE_I8, EW_LD_ID, EW_ST_INT)          \
    X(__VA_ARGS__, i16, int16_t, ST_DTYPE_I16, EW_LD_ID, EW_ST_INT)       \
    X(__VA_ARGS__, i32, int32_t, ST_DTYPE_I32, EW_LD_ID, EW_ST_INT)       \
    X(__VA_ARGS__, i64, int64_t, ST_DTYPE_I64, EW_LD_ID, EW_ST_INT)       \
    X(__VA_ARGS__, u8, uint8_t, ST_DTYPE_U8, EW_LD_ID, EW_ST_INT)         \
    X(__VA_ARGS__, u16, uint16_t, ST_DTYPE_U16, EW_LD_ID, EW_ST_INT)      \
    X(__VA_ARGS__, u32, uint32_t, ST_DTYPE_U32, EW_LD_ID, EW_ST_INT)      \
    X(__VA_ARGS__, u64, uint64_t, ST_DTYPE_U64, EW_LD_ID, EW_ST_U64)      \
    X(__VA_ARGS__, b8, uint8_t, ST_DTYPE_BOOL, EW_LD_ID, EW_ST_BOOL)
#define EW_CV_B(X, ...)                                                   \
    X(__VA_ARGS__, f32, float, ST_DTYPE_F32, EW_LD_ID, EW_ST_FLT)         \
    X(__VA_ARGS__, f64, double, ST_DTYPE_F64, EW_LD_ID, EW_ST_FLT)        \
    X(__VA_ARGS__, f16, uint16_t, ST_DTYPE_F16, EW_LD_F16, EW_ST_F16)     \
    X(__VA_ARGS__, bf16, uint16_t, ST_DTYPE_BF16, EW_LD_BF16, EW_ST_BF16) \
    X(__VA_ARGS__, i8, int8_t, ST_DTYPE_I8, EW_LD_ID, EW_ST_INT)          \
    X(__VA_ARGS__, i16, int16_t, ST_DTYPE_I16, EW_LD_ID, EW_ST_INT)       \
    X(__VA_ARGS__, i32, int32_t, ST_DTYPE_I32, EW_LD_ID, EW_ST_INT)       \
    X(__VA_ARGS__, i64, int64_t, ST_DTYPE_I64, EW_LD_ID, EW_ST_INT)       \
    X(__VA_ARGS__, u8, uint8_t, ST_DTYPE_U8, EW_LD_ID, EW_ST_INT)         \
    X(__VA_ARGS__, u16, uint16_t, ST_DTYPE_U16, EW_LD_ID, EW_ST_INT)      \
    X(__VA_ARGS__, u32, uint32_t, ST_DTYPE_U32, EW_LD_ID, EW_ST_INT)      \
    X(__VA_ARGS__, u64, uint64_t, ST_DTYPE_U64, EW_LD_ID, EW_ST_U64)      \
    X(__VA_ARGS__, b8, uint8_t, ST_DTYPE_BOOL, EW_LD_ID, EW_ST_BOOL)

#define EW_CV_CASE(ST, LD, dsfx, DT, DE, DLD, DSTO)               \
    case DE: {                                                    \
        DT *d = dst;                                              \
        for (size_t i = 0; i < n; i++) d[i] = DSTO(DT, LD(s[i])); \
        return;                                                   \
    }
#define EW_CV_FROM(unused, sfx, ST, SE, LD, STO)                                        \
    static void ew_conv_from_##sfx(const void *src, void *dst, st_dtype dd, size_t n) { \
        const ST *s = src;                                                              \
        switch (dd) {                                                                   \
            EW_CV_B(EW_CV_CASE, ST, LD)                                                 \
        default: return;                                                                \
        }                                                                               \
    }
EW_CV_A(EW_CV_FROM, 0)

/* Convert n elements between two non-string dtypes (same dtype: a copy). */
static void ew_convert(const void *src, st_dtype sd, void *dst, st_dtype dd, size_t n) {
    if (sd == dd) {
        memmove(dst, src, n * st_dtype_size(sd));
        return;
    }
    switch (sd) {
#define EW_CV_DISPATCH(unused, sfx, ST, SE, LD, STO) \
    case SE: ew_conv_from_##sfx(src, dst, dd, n); return;
        EW_CV_A(EW_CV_DISPATCH, 0)
#undef EW_CV_DISPATCH
    default: return;
    }
}

/* ---- vectorizable float32 exp, tanh and erf ------------------------------------------ */
/* libm's expf/tanhf/erff are scalar calls; these branch-free versions let the loops
 * vectorize. Errors stay within about 3 ulp of the exact result; NaN propagates. */
static inline float ew_bits_f(int32_t i) {
    float f;
    memcpy(&f, &i, sizeof f);
    return f;
}
static inline int32_t ew_f_bits(float f) {
    int32_t i;
    memcpy(&i, &f, sizeof i);
    return i;
}

/* exp(x) = 2^n * e^r with |r| <= ln2/2 (Cephes' polynomial); 2^n is applied in two halves
 * so results between FLT_MAX/2^64 and the overflow point, and denormals, come out right. */
static inline float ew_expf(float x) {
    float xc = x < -104.0f ? -104.0f : x;
    xc = xc > 88.8f ? 88.8f : xc;
    float t = xc * 1.44269504088896341f + 12582912.0f; /* 1.5*2^23: rounds to an integer */
    float n = t - 12582912.0f;
    int32_t ni = ew_f_bits(t) - 0x4B400000;
    float r = xc - n * 0.693359375f;
    r = r + n * 2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    int32_t n1 = ni >> 1, n2 = ni - n1; /* GCC shifts signed values arithmetically */
    return p * ew_bits_f((n1 + 127) * (1 << 23)) * ew_bits_f((n2 + 127) * (1 << 23));
}

/* log(x) = e*ln2 + log(m) with m in [sqrt(1/2), sqrt(2)) (Cephes' polynomial); subnormal
 * inputs are scaled by 2^23 first; 0, negatives, inf and NaN are selected at the end. */
static inline float ew_logf(float x) {
    bool sub = x < 1.17549435e-38f;
    float xs = sub ? x * 8388608.0f : x;
    int32_t ix = ew_f_bits(xs);
    int32_t e = ((ix >> 23) & 0xff) - 126 - (sub ? 23 : 0);
    float m = ew_bits_f((ix & 0x007fffff) | 0x3f000000); /* [0.5, 1) */
    bool lo = m < 0.707106781186547524f;
    e = lo ? e - 1 : e;
    m = lo ? m + m - 1.0f : m - 1.0f;
    float z = m * m;
    float y = 7.0376836292e-2f;
    y = y * m - 1.1514610310e-1f;
    y = y * m + 1.1676998740e-1f;
    y = y * m - 1.2420140846e-1f;
    y = y * m + 1.4249322787e-1f;
    y = y * m - 1.6668057665e-1f;
    y = y * m + 2.0000714765e-1f;
    y = y * m - 2.4999993993e-1f;
    y = y * m + 3.3333331174e-1f;
    y = y * m * z;
    float fe = (float)e;
    y = y - 2.12194440e-4f * fe;
    y = y - 0.5f * z;
    float r = m + y + 0.693359375f * fe;
    r = x == 0 ? -INFINITY : r;
    r = x < 0 ? NAN : r;
    r = x == INFINITY ? x : r;
    return x != x ? x : r;
}

/* softplus(x) = max(x, 0) + log1p(e^-|x|); log1p(t) = log(u)*t/(u-1) with u = 1+t keeps
 * full precision for tiny t (Goldberg). */
static inline float ew_softplusf(float x) {
    float t = ew_expf(-fabs(x)), u = 1.0f + t;
    float l = u == 1.0f ? t : ew_logf(u) * t / (u - 1.0f);
    return (x > 0 ? x : 0.0f) + l;
}

/* tanh: an odd polynomial near 0 (Cephes), else 1 - 2/(e^2|x| + 1). */
static inline float ew_tanhf(float x) {
    float ax = fabs(x), z = x * x;
    float p = -5.70498872745e-3f;
    p = p * z + 2.06390887954e-2f;
    p = p * z - 5.37397155531e-2f;
    p = p * z + 1.33314422036e-1f;
    p = p * z - 3.33332819422e-1f;
    float small = p * z * x + x;
    float big = 1.0f - 2.0f / (ew_expf(2.0f * ax) + 1.0f);
    big = x < 0 ? -big : big;
    return ax < 0.625f ? small : big;
}

/* erf: x*P(x^2) below 0.921875, else 1 - exp(Q(|x|)); coefficients fitted to erf and
 * log(erfc) in double precision (weighted least squares). */
static inline float ew_erff(float x) {
    float ax = fabs(x), z = x * x;
    float p = 8.365011140909484e-05f;
    p = p * z - 8.141397922248744e-04f;
    p = p * z + 5.200906345766407e-03f;
    p = p * z - 2.685934219692153e-02f;
    p = p * z + 1.128369436420699e-01f;
    p = p * z - 3.761263365206634e-01f;
    p = p * z + 1.128379166628133e+00f;
    float small = x * p;
    float a = ax > 3.92f ? 3.92f : ax;
    float q = 1.636900658796847e-06f;
    q = q * a - 4.601793569952717e-05f;
    q = q * a + 5.961686544949940e-04f;
    q = q * a - 4.755204238315221e-03f;
    q = q * a + 2.640465002583632e-02f;
    q = q * a - 1.100440241042527e-01f;
    q = q * a - 6.318718054789302e-01f;
    q = q * a - 1.130202336382346e+00f;
    q = q * a + 3.114174286926567e-04f;
    float big = ax >= 3.92f ? 1.0f : 1.0f - ew_expf(q);
    big = x < 0 ? -big : big;
    return ax < 0.921875f ? small : big;
}

/* ---- kernel bodies --------------------------------------------------------------------- */
/* Unary math on float types (float16/bfloat16 run the float kernel). */
#define K_NEG_F(T, W) EW_UN(T, T, -A)
#define K_NEG_S(T, W) EW_UN(T, T, (T)(0 - (W)A))
#define K_ABS_F(T, W) EW_UN(T, T, fabs(A))
#define K_ABS_S(T, W) EW_UN(T, T, A < 0 ? (T)(0 - (W)A) : A)
#define K_ABS_U(T, W) EW_UN(T, T, A)
#define K_RECIP(T, W) EW_UN(T, T, (T)1 / A)
#define K_SQRT(T, W) EW_UN(T, T, sqrt(A))
#define K_EXP(T, W) EW_UN(T, T, exp(A))
#define K_LOG(T, W) EW_UN(T, T, log(A))
#define K_CEIL(T, W) EW_UN(T, T, ceil(A))
#define K_FLOOR(T, W) EW_UN(T, T, floor(A))
#define K_ROUND(T, W) EW_UN(T, T, rint(A)) /* default rounding mode: half to even */
#define K_SIGN_F(T, W) EW_UN(T, T, A > 0 ? (T)1 : (A < 0 ? (T)-1 : A))
#define K_SIGN_S(T, W) EW_UN(T, T, (A > 0) - (A < 0))
#define K_SIGN_U(T, W) EW_UN(T, T, A > 0)
#define K_ERF_F(T, W) EW_UN(T, T, erf(A))
#define K_ERF_I(T, W) EW_UN(T, T, (T)ew_f2i64(erf((double)A)))
#define K_SIN(T, W) EW_UN(T, T, sin(A))
#define K_COS(T, W) EW_UN(T, T, cos(A))
#define K_TAN(T, W) EW_UN(T, T, tan(A))
#define K_ASIN(T, W) EW_UN(T, T, asin(A))
#define K_ACOS(T, W) EW_UN(T, T, acos(A))
#define K_ATAN(T, W) EW_UN(T, T, atan(A))
#define K_SINH(T, W) EW_UN(T, T, sinh(A))
#define K_COSH(T, W) EW_UN(T, T, cosh(A))
#define K_ASINH(T, W) EW_UN(T, T, asinh(A))
#define K_ACOSH(T, W) EW_UN(T, T, acosh(A))
#define K_ATANH(T, W) EW_UN(T, T, atanh(A))
#define K_TANH(T, W) EW_UN(T, T, tanh(A))
#define K_SIGMOID(T, W) EW_UN(T, T, (T)1 / ((T)1 + exp(-A)))
#define K_EXP_FAST(T, W) EW_UN(T, T, ew_expf(A))
#define K_LOG_FAST(T, W) EW_UN(T, T, ew_logf(A))
#define K_SOFTPLUS_FAST(T, W) EW_UN(T, T, ew_softplusf(A))
#define K_MISH_FAST(T, W) EW_UN(T, T, A *ew_tanhf(ew_softplusf(A)))
#define K_TANH_FAST(T, W) EW_UN(T, T, ew_tanhf(A))
#define K_ERF_FAST(T, W) EW_UN(T, T, ew_erff(A))
#define K_SIGMOID_FAST(T, W) EW_UN(T, T, 1.0f / (1.0f + ew_expf(-A)))
#define K_RELU_F(T, W) EW_UN(T, T, A < 0 ? (T)0 : A) /* NaN passes through */
/* Parameters are read into locals first: a load inside a select would block if-conversion. */
#define EW_PARAMS(T)                                                                   \
    const T al_ = (T)P->alpha, be_ = (T)P->beta, ga_ = (T)P->gamma, la_ = (T)P->lambd, \
            bi_ = (T)P->bias;                                                          \
    (void)al_, (void)be_, (void)ga_, (void)la_, (void)bi_;
#define K_LRELU(T, W) EW_PARAMS(T) EW_UN(T, T, A < 0 ? al_ * A : A)
#define K_ELU(T, W) EW_PARAMS(T) EW_UN(T, T, A < 0 ? al_ * expm1(A) : A)
#define K_SELU(T, W) EW_PARAMS(T) EW_UN(T, T, A > 0 ? ga_ * A : ga_ * (al_ * exp(A) - al_))
#define K_CELU(T, W) EW_PARAMS(T) EW_UN(T, T, (A > 0 ? A : (T)0) + fmin((T)0, al_ * expm1(A / al_)))
#define K_HSIG(T, W)                                \
    EW_PARAMS(T)                                    \
    EW_UN(T, T, ({                                  \
              T v_ = al_ * A + be_;                 \
              v_ < 0 ? (T)0 : (v_ > 1 ? (T)1 : v_); \
          }))
#define K_HSWISH(T, W)                                   \
    EW_UN(T, T, ({                                       \
              T v_ = A * (T)(1.0 / 6.0) + (T)0.5;        \
              A *(v_ < 0 ? (T)0 : (v_ > 1 ? (T)1 : v_)); \
          }))
#define K_SOFTPLUS(T, W) EW_UN(T, T, A > 0 ? A + log1p(exp(-A)) : log1p(exp(A)))
#define K_SOFTSIGN(T, W) EW_UN(T, T, A / ((T)1 + fabs(A)))
#define K_TRELU(T, W) EW_PARAMS(T) EW_UN(T, T, A > al_ ? A : (T)0)
#define K_SHRINK_F(T, W) EW_PARAMS(T) EW_UN(T, T, A < -la_ ? A + bi_ : (A > la_ ? A - bi_ : (T)0))
#define K_SHRINK_I(T, W)                                                           \
    EW_UN(T, T, ({                                                                 \
              double d_ = (double)A;                                               \
              d_ < -P->lambd ? (T)ew_f2i64(d_ + P->bias)                           \
                             : (d_ > P->lambd ? (T)ew_f2i64(d_ - P->bias) : (T)0); \
          }))
#define K_MISH(T, W) EW_UN(T, T, A *tanh(A > 0 ? A + log1p(exp(-A)) : log1p(exp(A))))
#define K_GELU(T, W) EW_UN(T, T, (T)(0.5 * (double)A * (1 + erf((double)A * M_SQRT1_2))))
#define K_GELU_TANH(T, W)                                                                      \
    EW_UN(T, T, ({                                                                             \
              double a_ = (double)A;                                                           \
              (T)(0.5 * a_ * (1 + tanh(0.7978845608028654 * (a_ + 0.044715 * a_ * a_ * a_)))); \
          }))
#define K_SWISH(T, W) EW_PARAMS(T) EW_UN(T, T, A / ((T)1 + exp(-al_ * A)))
#define K_BNOT(T, W) EW_UN(T, T, (T)~A)
#define K_ISNAN(T, W) EW_UN(T, uint8_t, isnan(A))
#define K_ISINF(T, W)                                                                              \
    const T pinf_ = P->det_pos ? (T)INFINITY : (T)NAN, ninf_ = P->det_neg ? -(T)INFINITY : (T)NAN; \
    EW_UN(T, uint8_t, (A == pinf_) | (A == ninf_))
#define K_NOT(T, W) EW_UN(T, T, A == 0)
#define K_DIVN(T, W)         \
    const T dv_ = (T)P->div; \
    EW_UN(T, T, A / dv_)
#define K_CLIP(T, W)                    \
    T lo_, hi_;                         \
    memcpy(&lo_, P->lo.b, sizeof lo_);  \
    memcpy(&hi_, P->hi.b, sizeof hi_);  \
    EW_UN(T, T, ({                      \
              T v_ = A < lo_ ? lo_ : A; \
              v_ > hi_ ? hi_ : v_;      \
          }))

/* Binary: integer +, -, * wrap in the unsigned wrap type (no signed overflow). */
#define K_ADD(T, W) EW_BIN(T, T, T, (T)((W)A + (W)B))
#define K_SUB(T, W) EW_BIN(T, T, T, (T)((W)A - (W)B))
#define K_MUL(T, W) EW_BIN(T, T, T, (T)((W)A * (W)B))
#define K_DIV_F(T, W) EW_BIN(T, T, T, A / B)
/* integer division truncates; x/0 gives 0 and MIN/-1 wraps */
#define K_DIV_S(T, W) EW_BIN(T, T, T, B == 0 ? (T)0 : (B == -1 ? (T)(0 - (W)A) : (T)(A / B)))
#define K_DIV_U(T, W) EW_BIN(T, T, T, B == 0 ? (T)0 : (T)(A / B))
/* Mod with fmod=0 takes the divisor's sign (Python, numpy.mod); x mod 0 gives 0. */
#define K_MOD_F(T, W)                                            \
    EW_BIN(T, T, T, ({                                           \
               T r_ = fmod(A, B);                                \
               (r_ != 0 && ((r_ < 0) != (B < 0))) ? r_ + B : r_; \
           }))
#define K_FMOD_F(T, W) EW_BIN(T, T, T, fmod(A, B))
#define K_MOD_S(T, W)                                                 \
    EW_BIN(T, T, T, ({                                                \
               T r_ = (B == 0 || B == -1) ? (T)0 : (T)(A % B);        \
               (r_ != 0 && ((r_ < 0) != (B < 0))) ? (T)(r_ + B) : r_; \
           }))
#define K_FMOD_S(T, W) EW_BIN(T, T, T, (B == 0 || B == -1) ? (T)0 : (T)(A % B))
#define K_MOD_U(T, W) EW_BIN(T, T, T, B == 0 ? (T)0 : (T)(A % B))
#define K_POW_F(T, W) EW_BIN(T, T, T, pow(A, B))
#define K_POW_I(T, W) EW_BIN(T, int64_t, T, (T)ew_ipow((int64_t)A, B))
#define K_SHL(T, W) EW_BIN(T, T, T, B >= sizeof(T) * 8 ? (T)0 : (T)((W)A << B))
#define K_SHR(T, W) EW_BIN(T, T, T, B >= sizeof(T) * 8 ? (T)0 : (T)(A >> B))
#define K_AND(T, W) EW_BIN(T, T, uint8_t, (A != 0) & (B != 0))
#define K_OR(T, W) EW_BIN(T, T, uint8_t, (A != 0) | (B != 0))
#define K_XOR(T, W) EW_BIN(T, T, uint8_t, (A != 0) ^ (B != 0))
#define K_BAND(T, W) EW_BIN(T, T, T, (T)(A & B))
#define K_BOR(T, W) EW_BIN(T, T, T, (T)(A | B))
#define K_BXOR(T, W) EW_BIN(T, T, T, (T)(A ^ B))
#define K_EQ(T, W) EW_BIN(T, T, uint8_t, A == B)
#define K_EQ_B(T, W) EW_BIN(T, T, uint8_t, (A != 0) == (B != 0))
#define K_GT(T, W) EW_BIN(T, T, uint8_t, A > B)
#define K_LT(T, W) EW_BIN(T, T, uint8_t, A < B)
#define K_GE(T, W) EW_BIN(T, T, uint8_t, A >= B)
#define K_LE(T, W) EW_BIN(T, T, uint8_t, A <= B)
#define K_PRELU_F(T, W) EW_BIN(T, T, T, A < 0 ? A * B : A)
#define K_PRELU_S(T, W) EW_BIN(T, T, T, A < 0 ? (T)((W)A * (W)B) : A)
#define K_PRELU_U(T, W) EW_BIN(T, T, T, ((void)B, A))
/* Max/Min propagate NaN from either side, as numpy.maximum does. */
#define K_MAX_F(T, W) EW_BIN(T, T, T, (A > B || isnan(A)) ? A : B)
#define K_MIN_F(T, W) EW_BIN(T, T, T, (A < B || isnan(A)) ? A : B)
#define K_MAX_I(T, W) EW_BIN(T, T, T, A > B ? A : B)
#define K_MIN_I(T, W) EW_BIN(T, T, T, A < B ? A : B)

/* Integer power by squaring in wrapping arithmetic; negative exponents give 0 unless the
 * base is 1 or -1 (numpy raises instead). */
static inline int64_t ew_ipow(int64_t b, int64_t e) {
    if (e < 0) return b == 1 ? 1 : (b == -1 ? ((e & 1) ? -1 : 1) : 0);
    uint64_t r = 1, x = (uint64_t)b;
    while (e) {
        if (e & 1) r *= x;
        x *= x;
        e >>= 1;
    }
    return (int64_t)r;
}

/* Float pow: common scalar exponents avoid pow() altogether. */
#define K_POWS_F(T, W)                                                   \
    if (inc[0] && !inc[1]) {                                             \
        const T *a_ = in[0];                                             \
        T e_ = *(const T *)in[1], *y = y_;                               \
        if (e_ == 2) {                                                   \
            for (size_t i = 0; i < n; i++) y[i] = a_[i] * a_[i];         \
            return;                                                      \
        }                                                                \
        if (e_ == 3) {                                                   \
            for (size_t i = 0; i < n; i++) y[i] = a_[i] * a_[i] * a_[i]; \
            return;                                                      \
        }                                                                \
        if (e_ == 1) {                                                   \
            for (size_t i = 0; i < n; i++) y[i] = a_[i];                 \
            return;                                                      \
        }                                                                \
        if (e_ == (T)0.5) {                                              \
            for (size_t i = 0; i < n; i++) y[i] = sqrt(a_[i]);           \
            return;                                                      \
        }                                                                \
    }                                                                    \
    K_POW_F(T, W)

/* ---- kernel tables, indexed by compute dtype ------------------------------------------- */
#define EW_TAB1(name, L1, BODY1) \
    L1(EW_FN, name, BODY1)       \
    static const ew_kern name##_k[ST_DTYPE_COUNT] = {L1(EW_ROW, name, BODY1)};
#define EW_TAB2(name, L1, BODY1, L2, BODY2)                                     \
    L1(EW_FN, name##1, BODY1)                                                   \
    L2(EW_FN, name##2, BODY2)                                                   \
    static const ew_kern name##_k[ST_DTYPE_COUNT] = {L1(EW_ROW, name##1, BODY1) \
                                                         L2(EW_ROW, name##2, BODY2)};
#define EW_TAB3(name, L1, BODY1, L2, BODY2, L3, BODY3) \
    L1(EW_FN, name##1, BODY1)                          \
    L2(EW_FN, name##2, BODY2)                          \
    L3(EW_FN, name##3, BODY3)                          \
    static const ew_kern name##_k[ST_DTYPE_COUNT] = {  \
        L1(EW_ROW, name##1, BODY1) L2(EW_ROW, name##2, BODY2) L3(EW_ROW, name##3, BODY3)};

EW_TAB2(neg, EW_T_F, K_NEG_F, EW_T_S, K_NEG_S)
EW_TAB3(abs, EW_T_F, K_ABS_F, EW_T_S, K_ABS_S, EW_T_U, K_ABS_U)
EW_TAB1(recip, EW_T_F, K_RECIP)
EW_TAB1(sqrt, EW_T_F, K_SQRT)
EW_TAB2(exp, EW_T_F32, K_EXP_FAST, EW_T_F64, K_EXP)
EW_TAB2(log, EW_T_F32, K_LOG_FAST, EW_T_F64, K_LOG)
EW_TAB1(ceil, EW_T_F, K_CEIL)
EW_TAB1(floor, EW_T_F, K_FLOOR)
EW_TAB1(round, EW_T_F, K_ROUND)
EW_TAB3(sign, EW_T_F, K_SIGN_F, EW_T_S, K_SIGN_S, EW_T_U, K_SIGN_U)
EW_T_F32(EW_FN, erf0, K_ERF_FAST)
EW_T_F64(EW_FN, erf1, K_ERF_F)
EW_T_S(EW_FN, erf2, K_ERF_I)
EW_T_U(EW_FN, erf3, K_ERF_I)
static const ew_kern erf_k[ST_DTYPE_COUNT] = {EW_T_F32(EW_ROW, erf0, K_ERF_FAST) EW_T_F64(
    EW_ROW, erf1, K_ERF_F) EW_T_S(EW_ROW, erf2, K_ERF_I) EW_T_U(EW_ROW, erf3, K_ERF_I)};
EW_TAB1(sin, EW_T_F, K_SIN)
EW_TAB1(cos, EW_T_F, K_COS)
EW_TAB1(tan, EW_T_F, K_TAN)
EW_TAB1(asin, EW_T_F, K_ASIN)
EW_TAB1(acos, EW_T_F, K_ACOS)
EW_TAB1(atan, EW_T_F, K_ATAN)
EW_TAB1(sinh, EW_T_F, K_SINH)
EW_TAB1(cosh, EW_T_F, K_COSH)
EW_TAB1(asinh, EW_T_F, K_ASINH)
EW_TAB1(acosh, EW_T_F, K_ACOSH)
EW_TAB1(atanh, EW_T_F, K_ATANH)
EW_TAB2(tanh, EW_T_F32, K_TANH_FAST, EW_T_F64, K_TANH)
EW_TAB2(sigmoid, EW_T_F32, K_SIGMOID_FAST, EW_T_F64, K_SIGMOID)
EW_TAB2(relu, EW_T_F, K_RELU_F, EW_T_S, K_RELU_F)
EW_TAB1(lrelu, EW_T_F, K_LRELU)
EW_TAB1(elu, EW_T_F, K_ELU)
EW_TAB1(selu, EW_T_F, K_SELU)
EW_TAB1(celu, EW_T_F, K_CELU)
EW_TAB1(hsig, EW_T_F, K_HSIG)
EW_TAB1(hswish, EW_T_F, K_HSWISH)
EW_TAB2(softplus, EW_T_F32, K_SOFTPLUS_FAST, EW_T_F64, K_SOFTPLUS)
EW_TAB1(softsign, EW_T_F, K_SOFTSIGN)
EW_TAB1(trelu, EW_T_F, K_TRELU)
EW_TAB3(shrink, EW_T_F, K_SHRINK_F, EW_T_S, K_SHRINK_I, EW_T_U, K_SHRINK_I)
EW_TAB2(mish, EW_T_F32, K_MISH_FAST, EW_T_F64, K_MISH)
EW_TAB1(gelu, EW_T_F, K_GELU)
EW_TAB1(gelu_tanh, EW_T_F, K_GELU_TANH)
EW_TAB1(swish, EW_T_F, K_SWISH)
EW_TAB2(bnot, EW_T_S, K_BNOT, EW_T_U, K_BNOT)
EW_TAB1(isnan, EW_T_F, K_ISNAN)
EW_TAB1(isinf, EW_T_F, K_ISINF)
EW_TAB1(not, EW_T_B, K_NOT)
EW_TAB1(divn, EW_T_F, K_DIVN)
EW_TAB3(clip, EW_T_F, K_CLIP, EW_T_S, K_CLIP, EW_T_U, K_CLIP)

EW_TAB3(add, EW_T_F, K_ADD, EW_T_S, K_ADD, EW_T_U, K_ADD)
EW_TAB3(sub, EW_T_F, K_SUB, EW_T_S, K_SUB, EW_T_U, K_SUB)
EW_TAB3(mul, EW_T_F, K_MUL, EW_T_S, K_MUL, EW_T_U, K_MUL)
EW_TAB3(div, EW_T_F, K_DIV_F, EW_T_S, K_DIV_S, EW_T_U, K_DIV_U)
EW_TAB3(mod, EW_T_F, K_MOD_F, EW_T_S, K_MOD_S, EW_T_U, K_MOD_U)
EW_TAB3(fmod, EW_T_F, K_FMOD_F, EW_T_S, K_FMOD_S, EW_T_U, K_MOD_U)
EW_TAB1(pow, EW_T_F, K_POWS_F)
EW_TAB2(powi, EW_T_S, K_POW_I, EW_T_U, K_POW_I)
EW_TAB1(shl, EW_T_U, K_SHL)
EW_TAB1(shr, EW_T_U, K_SHR)
EW_TAB1(and, EW_T_B, K_AND)
EW_TAB1(or, EW_T_B, K_OR)
EW_TAB1(xor, EW_T_B, K_XOR)
EW_TAB2(band, EW_T_S, K_BAND, EW_T_U, K_BAND)
EW_TAB2(bor, EW_T_S, K_BOR, EW_T_U, K_BOR)
EW_TAB2(bxor, EW_T_S, K_BXOR, EW_T_U, K_BXOR)
EW_TAB3(gt, EW_T_F, K_GT, EW_T_S, K_GT, EW_T_U, K_GT)
EW_TAB3(lt, EW_T_F, K_LT, EW_T_S, K_LT, EW_T_U, K_LT)
EW_TAB3(ge, EW_T_F, K_GE, EW_T_S, K_GE, EW_T_U, K_GE)
EW_TAB3(le, EW_T_F, K_LE, EW_T_S, K_LE, EW_T_U, K_LE)
EW_TAB3(prelu, EW_T_F, K_PRELU_F, EW_T_S, K_PRELU_S, EW_T_U, K_PRELU_U)
EW_TAB3(max, EW_T_F, K_MAX_F, EW_T_S, K_MAX_I, EW_T_U, K_MAX_I)
EW_TAB3(min, EW_T_F, K_MIN_F, EW_T_S, K_MIN_I, EW_T_U, K_MIN_I)

/* Equal also compares bool and string tensors. */
EW_T_F(EW_FN, eq1, K_EQ)
EW_T_S(EW_FN, eq2, K_EQ)
EW_T_U(EW_FN, eq3, K_EQ)
EW_T_B(EW_FN, eq4, K_EQ_B)
static void eq_str(EW_KARGS) {
    (void)P;
    const st_str *a = in[0], *b = in[1];
    uint8_t *y = y_;
    for (size_t i = 0, ia = 0, ib = 0; i < n; i++, ia += inc[0], ib += inc[1])
        y[i] = a[ia].len == b[ib].len && (!a[ia].len || !memcmp(a[ia].data, b[ib].data, a[ia].len));
}
static const ew_kern eq_k[ST_DTYPE_COUNT] = {
    EW_T_F(EW_ROW, eq1, K_EQ) EW_T_S(EW_ROW, eq2, K_EQ) EW_T_U(EW_ROW, eq3, K_EQ)
        EW_T_B(EW_ROW, eq4, K_EQ_B)[ST_DTYPE_STRING] = eq_str,
};

/* Where selects by element size; the dtype does not matter. */
typedef struct ew_b16 {
    uint64_t lo, hi;
} ew_b16;
#define EW_WHERE_FN(name, T)                                          \
    static void name(EW_KARGS) {                                      \
        (void)P;                                                      \
        const uint8_t *c = in[0];                                     \
        const T *a = in[1], *b = in[2];                               \
        T *y = y_;                                                    \
        if (inc[0] && inc[1] && inc[2]) {                             \
            for (size_t i = 0; i < n; i++) y[i] = c[i] ? a[i] : b[i]; \
            return;                                                   \
        }                                                             \
        for (size_t i = 0, ic = 0, ia = 0, ib = 0; i < n;             \
             i++, ic += inc[0], ia += inc[1], ib += inc[2])           \
            y[i] = c[ic] ? a[ia] : b[ib];                             \
    }
EW_WHERE_FN(where1, uint8_t)
EW_WHERE_FN(where2, uint16_t)
EW_WHERE_FN(where4, uint32_t)
EW_WHERE_FN(where8, uint64_t)
EW_WHERE_FN(where16, ew_b16)

/* ---- plans: a broadcast loop nest reduced to as few dimensions as possible ------------- */
typedef struct ew_plan {
    ew_kern fn;
    int nin;
    int src[EW_MAXIN]; /* input index of each operand; -1 = the output itself */
    int ndim;          /* >= 1 after collapsing */
    int64_t dims[ST_MAX_RANK];
    int64_t str[EW_MAXIN][ST_MAX_RANK];  /* element strides, 0 on broadcast axes */
    st_dtype dt[EW_MAXIN], ct[EW_MAXIN]; /* stored and computed dtype of each operand */
    size_t esz[EW_MAXIN];
    st_dtype ot, cot; /* stored and computed output dtype */
    size_t oesz;
    bool convert;          /* some operand or the output needs conversion */
    bool tiled;            /* the last dimension fuses short rows (see ew_range) */
    int64_t tinner;        /* ... of this length */
    uint8_t rep[EW_MAXIN]; /* ... that these operands repeat */
} ew_plan;

typedef struct ew_state {
    ew_params p;
    st_dtype ot; /* output dtype and shape */
    int ndim;
    int64_t dims[ST_MAX_RANK];
    size_t n; /* output elements */
    size_t grain;
    int mode;                 /* EW_RUN_* below */
    st_dtype to;              /* Cast: target dtype */
    bool saturate;            /* Cast to float8: overflow saturates (else NaN/inf) */
    st_e8m0_round round_mode; /* Cast to float8e8m0 */
    int nplans;
    ew_plan plans[];
} ew_state;

enum {
    EW_RUN_PLANS = 0, /* run each plan in turn over the output */
    EW_RUN_COPY,      /* a variadic op with one input: copy it */
    EW_RUN_CLIP,      /* Clip-11+: bounds are inputs read at run time, then the plan */
    EW_RUN_CAST,      /* Cast / CastLike */
    EW_RUN_WHERE_STR, /* Where on strings */
};

/* float16/bfloat16 are computed in float32. */
static st_dtype ew_ctype(st_dtype t) {
    return (t == ST_DTYPE_F16 || t == ST_DTYPE_BF16) ? ST_DTYPE_F32 : t;
}

/* Fill pl for operands ts (broadcast into the output shape ndim/dims). */
static void ew_plan_build(ew_plan *pl, ew_kern fn, int nin, const st_tensor *const *ts,
                          const int *src, const st_dtype *ct, st_dtype ot, st_dtype cot, int ndim,
                          const int64_t *dims) {
    int64_t s[EW_MAXIN][ST_MAX_RANK];
    memset(pl, 0, sizeof *pl);
    pl->fn = fn;
    pl->nin = nin;
    pl->ot = ot;
    pl->cot = cot;
    pl->oesz = st_dtype_size(ot);
    pl->convert = ot != cot;
    for (int j = 0; j < nin; j++) {
        pl->src[j] = src[j];
        pl->dt[j] = ts[j]->dtype;
        pl->ct[j] = ct[j];
        pl->esz[j] = st_dtype_size(ts[j]->dtype);
        if (pl->dt[j] != ct[j]) pl->convert = true;
        st_broadcast_strides(ts[j], ndim, dims, s[j]);
    }
    int nd = 0;
    for (int d = 0; d < ndim; d++) {
        if (dims[d] == 1) continue;
        bool merge = nd > 0;
        for (int j = 0; merge && j < nin; j++)
            if (pl->str[j][nd - 1] != s[j][d] * dims[d]) merge = false;
        if (merge) {
            pl->dims[nd - 1] *= dims[d];
            for (int j = 0; j < nin; j++) pl->str[j][nd - 1] = s[j][d];
        } else {
            pl->dims[nd] = dims[d];
            for (int j = 0; j < nin; j++) pl->str[j][nd] = s[j][d];
            nd++;
        }
    }
    if (nd == 0) {
        pl->dims[0] = 1;
        nd = 1;
    }
    /* Short rows where some operand repeats one row (x[N,3] + b[3]): fuse the two inner
     * dimensions and let those operands read a tile of repeated rows (see ew_range). */
    int64_t inner = pl->dims[nd - 1];
    if (nd >= 2 && inner <= 64) {
        bool ok = true, any = false;
        for (int j = 0; j < nin; j++) {
            int64_t s1 = pl->str[j][nd - 2], s0 = pl->str[j][nd - 1];
            if (s0 == 1 && s1 == 0) any = true;
            else if (!(s0 == 0 && s1 == 0) && !(s0 == 1 && s1 == inner)) ok = false;
        }
        if (ok && any) {
            pl->tiled = true;
            pl->tinner = inner;
            for (int j = 0; j < nin; j++) {
                pl->rep[j] = pl->str[j][nd - 1] == 1 && pl->str[j][nd - 2] == 0;
                pl->str[j][nd - 2] = pl->str[j][nd - 1];
            }
            pl->dims[nd - 2] *= inner;
            nd--;
        }
    }
    pl->ndim = nd;
}

typedef struct ew_job {
    const ew_plan *pl;
    const void *in[EW_MAXIN];
    void *y;
    const ew_params *p;
} ew_job;

static void ew_segment_convert(const ew_job *jb, const void *const *ip, const uint8_t *inc,
                               char *yp, size_t cnt);

/* Output elements [pos, pos+cnt) from operands at ip (advancing where inc). */
static void ew_segment(const ew_job *jb, const void *const *ip, const uint8_t *inc, size_t pos,
                       size_t cnt) {
    const ew_plan *pl = jb->pl;
    char *yp = (char *)jb->y + pos * pl->oesz;
    if (!pl->convert) {
        pl->fn(ip, inc, yp, cnt, jb->p);
        return;
    }
    ew_segment_convert(jb, ip, inc, yp, cnt);
}

/* A row segment whose operands or output need conversion, in blocks through stack
 * buffers (kept out of ew_segment so the common path has a small frame). */
static __attribute__((noinline)) void ew_segment_convert(const ew_job *jb, const void *const *ip,
                                                         const uint8_t *inc, char *yp, size_t cnt) {
    const ew_plan *pl = jb->pl;
    _Alignas(64) unsigned char buf[EW_MAXIN + 1][EW_BLK * 8];
    for (size_t b = 0; b < cnt; b += EW_BLK) {
        size_t m = ST_MIN((size_t)EW_BLK, cnt - b);
        const void *bp[EW_MAXIN];
        for (int j = 0; j < pl->nin; j++) {
            const char *p = (const char *)ip[j] + (inc[j] ? b * pl->esz[j] : 0);
            if (pl->dt[j] != pl->ct[j]) {
                ew_convert(p, pl->dt[j], buf[j], pl->ct[j], inc[j] ? m : 1);
                bp[j] = buf[j];
            } else {
                bp[j] = p;
            }
        }
        char *yb = yp + b * pl->oesz;
        if (pl->ot != pl->cot) {
            pl->fn(bp, inc, buf[EW_MAXIN], m, jb->p);
            ew_convert(buf[EW_MAXIN], pl->cot, yb, pl->ot, m);
        } else {
            pl->fn(bp, inc, yb, m, jb->p);
        }
    }
}

/* st_parallel_for body: output elements [begin, end) in row segments. A tiled plan's rows
 * repeat short rows of its `rep` operands: those read from a stack tile holding the short
 * row many times over, so kernels see long runs instead of a call per few elements. */
static void ew_range(void *arg, size_t begin, size_t end) {
    const ew_job *jb = arg;
    const ew_plan *pl = jb->pl;
    int last = pl->ndim - 1;
    int64_t idx[ST_MAX_RANK], off[EW_MAXIN] = {0}, tile_row[EW_MAXIN];
    _Alignas(64) unsigned char tile[pl->tiled ? EW_MAXIN : 1][pl->tiled ? EW_BLK * 16 : 1];
    /* whole short rows, no more than one fused row holds (a short fused row whose tile
     * changes every row must not pay for a full tile each time) */
    size_t tlen = pl->tiled ? (size_t)ST_MIN(EW_BLK / pl->tinner * pl->tinner, pl->dims[last]) : 0;
    size_t rem = begin;
    for (int d = last; d >= 0; d--) {
        idx[d] = (int64_t)(rem % (size_t)pl->dims[d]);
        rem /= (size_t)pl->dims[d];
        for (int j = 0; j < pl->nin; j++) off[j] += idx[d] * pl->str[j][d];
    }
    for (int j = 0; j < EW_MAXIN; j++) tile_row[j] = -1;
    size_t pos = begin;
    while (pos < end) {
        size_t cnt = ST_MIN((size_t)(pl->dims[last] - idx[last]), end - pos);
        const void *ip[EW_MAXIN];
        uint8_t inc[EW_MAXIN] = {0};
        for (int j = 0; j < pl->nin; j++) {
            ip[j] = (const char *)jb->in[j] + off[j] * (int64_t)pl->esz[j];
            inc[j] = pl->str[j][last] != 0;
        }
        if (pl->tiled) {
            size_t phase = (size_t)(idx[last] % pl->tinner);
            cnt = ST_MIN(cnt, tlen - phase);
            for (int j = 0; j < pl->nin; j++) {
                if (!pl->rep[j]) continue;
                int64_t row = off[j] - idx[last]; /* rep operands have stride 1 here */
                size_t rb = (size_t)pl->tinner * pl->esz[j];
                if (row != tile_row[j]) {
                    const char *src = (const char *)jb->in[j] + row * (int64_t)pl->esz[j];
                    for (size_t t = 0; t < tlen * pl->esz[j]; t += rb) memcpy(tile[j] + t, src, rb);
                    tile_row[j] = row;
                }
                ip[j] = tile[j] + phase * pl->esz[j];
            }
        }
        ew_segment(jb, ip, inc, pos, cnt);
        pos += cnt;
        if (pos >= end) break;
        idx[last] += (int64_t)cnt;
        for (int j = 0; j < pl->nin; j++) off[j] += (int64_t)cnt * pl->str[j][last];
        if (idx[last] < pl->dims[last]) continue;
        /* the row is done: back to its start, then carry into the outer dimensions */
        for (int j = 0; j < pl->nin; j++) off[j] -= pl->dims[last] * pl->str[j][last];
        idx[last] = 0;
        for (int d = last - 1; d >= 0; d--) {
            idx[d]++;
            for (int j = 0; j < pl->nin; j++) off[j] += pl->str[j][d];
            if (idx[d] < pl->dims[d]) break;
            for (int j = 0; j < pl->nin; j++) off[j] -= pl->dims[d] * pl->str[j][d];
            idx[d] = 0;
        }
    }
}

static void ew_exec(st_kctx *k, const ew_state *s, const ew_plan *pl, const ew_params *p, void *y) {
    ew_job jb = {.pl = pl, .y = y, .p = p};
    for (int j = 0; j < pl->nin; j++) jb.in[j] = pl->src[j] < 0 ? y : st_in(k, pl->src[j])->data;
    st_parallel_for(k->pool, s->n, s->grain, ew_range, &jb);
}

/* ---- prepare helpers ------------------------------------------------------------------- */
static ew_state *ew_state_new(st_kctx *k, int nplans, size_t grain, st_error *err) {
    ew_state *s = st_calloc(1, sizeof *s + (size_t)nplans * sizeof(ew_plan));
    if (!s) {
        st_error_nomem(err);
        return NULL;
    }
    s->nplans = nplans;
    s->grain = grain;
    st_free(k->state);
    k->state = s;
    k->state_free = NULL;
    return s;
}

static const char *ew_op(const st_kctx *k) { return k->node->op_type; }

/* The tensors of inputs [0, n), all present. */
static st_status ew_inputs(const st_kctx *k, int n, const st_tensor **ts, st_error *err) {
    if (k->n_in < n)
        return st_errorf(err, ST_ERR_INVALID, "%s needs %d inputs, got %d", ew_op(k), n, k->n_in);
    for (int j = 0; j < n; j++) {
        ts[j] = st_in(k, j);
        if (!ts[j])
            return st_errorf(err, ST_ERR_INVALID, "%s: input %d is missing or not a tensor",
                             ew_op(k), j);
    }
    return ST_OK;
}

static st_status ew_same_types(const st_kctx *k, int n, const st_tensor *const *ts, st_error *err) {
    for (int j = 1; j < n; j++)
        if (ts[j]->dtype != ts[0]->dtype)
            return st_errorf(err, ST_ERR_INVALID, "%s: input %d is %s but input 0 is %s", ew_op(k),
                             j, st_dtype_name(ts[j]->dtype), st_dtype_name(ts[0]->dtype));
    return ST_OK;
}

static st_status ew_unsupported(const st_kctx *k, st_dtype t, st_error *err) {
    return st_errorf(err, ST_ERR_UNSUPPORTED, "%s does not support %s inputs", ew_op(k),
                     st_dtype_name(t));
}

/* Output shape of broadcasting ts, declared as output 0 of dtype ot; fills s. */
static st_status ew_declare(st_kctx *k, ew_state *s, int n, const st_tensor *const *ts, st_dtype ot,
                            st_error *err) {
    st_status st = st_broadcast_shape(n, ts, &s->ndim, s->dims, err);
    if (st) return st;
    st = st_shape_nelem(s->ndim, s->dims, &s->n, err);
    if (st) return st;
    s->ot = ot;
    st_out_declare(k, 0, ot, s->ndim, s->dims);
    return ST_OK;
}

/* Before opset 7, Add/Sub/Mul/Div/... broadcast B into A only with broadcast=1, aligned
 * at `axis` when given. bv gets B's shape re-aligned for numpy broadcasting. */
static st_status ew_legacy_bcast(const st_kctx *k, const st_tensor *a, st_tensor *bv,
                                 st_error *err) {
    if (k->opset >= 7 || !st_attr_int(k->node, "broadcast", 0)) return ST_OK;
    const st_attr *ax = st_node_attr(k->node, "axis");
    if (!ax) return ST_OK; /* suffix alignment is numpy's */
    int axis;
    st_status st = st_norm_axis(ax->i, a->ndim, &axis, err);
    if (st) return st;
    int nd = axis + bv->ndim;
    if (nd > a->ndim)
        return st_errorf(err, ST_ERR_INVALID, "%s: B of rank %d does not fit at axis %d", ew_op(k),
                         bv->ndim, axis);
    for (int d = bv->ndim; d < a->ndim - axis; d++) bv->dims[d] = 1;
    bv->ndim = a->ndim - axis;
    return ST_OK;
}

static st_status ew_get_out(st_kctx *k, const ew_state *s, st_tensor **y, st_error *err) {
    *y = st_out(k, 0, s->ot, s->ndim, s->dims, err);
    if (*y) return ST_OK;
    if (!st_has_out(k, 0)) return ST_OK;
    return err ? err->status : ST_ERR_INVALID;
}

static st_status ew_run(st_kctx *k, st_error *err) {
    const ew_state *s = k->state;
    st_tensor *y;
    st_status st = ew_get_out(k, s, &y, err);
    if (st || !y || !s->n) return st;
    for (int i = 0; i < s->nplans; i++) ew_exec(k, s, &s->plans[i], &s->p, y->data);
    return ST_OK;
}

/* One plan over inputs [0, nin) of one dtype, output same dtype or bool. */
static st_status ew_prep_simple(st_kctx *k, const ew_kern *tab, int nin, const st_tensor **ts,
                                bool out_bool, size_t grain, const ew_params *p, st_error *err) {
    st_status st = ew_same_types(k, nin, ts, err);
    if (st) return st;
    st_dtype dt = ts[0]->dtype, c = ew_ctype(dt);
    if (!st_dtype_valid(dt) || !tab[c]) return ew_unsupported(k, dt, err);
    ew_state *s = ew_state_new(k, 1, grain, err);
    if (!s) return ST_ERR_NOMEM;
    if (p) s->p = *p;
    st_dtype ot = out_bool ? ST_DTYPE_BOOL : dt;
    if ((st = ew_declare(k, s, nin, ts, ot, err))) return st;
    int src[EW_MAXIN] = {0, 1, 2};
    st_dtype ct[EW_MAXIN] = {c, c, c};
    ew_plan_build(&s->plans[0], tab[c], nin, ts, src, ct, ot, out_bool ? ST_DTYPE_BOOL : c, s->ndim,
                  s->dims);
    k->run = ew_run;
    return ST_OK;
}

static st_status ew_prep_unary(st_kctx *k, const ew_kern *tab, bool out_bool, size_t grain,
                               const ew_params *p, st_error *err) {
    const st_tensor *ts[1];
    st_status st = ew_inputs(k, 1, ts, err);
    if (st) return st;
    return ew_prep_simple(k, tab, 1, ts, out_bool, grain, p, err);
}

static st_status ew_prep_binary(st_kctx *k, const ew_kern *tab, bool out_bool, st_error *err) {
    const st_tensor *ts[2];
    st_status st = ew_inputs(k, 2, ts, err);
    if (st) return st;
    st_tensor bv = *ts[1];
    if ((st = ew_legacy_bcast(k, ts[0], &bv, err))) return st;
    ts[1] = &bv;
    return ew_prep_simple(k, tab, 2, ts, out_bool, EW_GRAIN, NULL, err);
}

/* ---- unary ops without attributes ------------------------------------------------------ */
#define EW_PREP_UNARY(fn, tab, out_bool, grain)                   \
    static st_status fn(st_kctx *k, st_error *err) {              \
        return ew_prep_unary(k, tab, out_bool, grain, NULL, err); \
    }
EW_PREP_UNARY(prep_abs, abs_k, false, EW_GRAIN)
EW_PREP_UNARY(prep_neg, neg_k, false, EW_GRAIN)
EW_PREP_UNARY(prep_reciprocal, recip_k, false, EW_GRAIN)
EW_PREP_UNARY(prep_sqrt, sqrt_k, false, EW_GRAIN)
EW_PREP_UNARY(prep_exp, exp_k, false, EW_GRAIN_HEAVY)
EW_PREP_UNARY(prep_log, log_k, false, EW_GRAIN_HEAVY)
EW_PREP_UNARY(prep_ceil, ceil_k, false, EW_GRAIN)
EW_PREP_UNARY(prep_floor, floor_k, false, EW_GRAIN)
EW_PREP_UNARY(prep_round, round_k, false, EW_GRAIN)
EW_PREP_UNARY(prep_sign, sign_k, false, EW_GRAIN)
EW_PREP_UNARY(prep_erf, erf_k, false, EW_GRAIN_HEAVY)
EW_PREP_UNARY(prep_sin, sin_k, false, EW_GRAIN_HEAVY)
EW_PREP_UNARY(prep_cos, cos_k, false, EW_GRAIN_HEAVY)
EW_PREP_UNARY(prep_tan, tan_k, false, EW_GRAIN_HEAVY)
EW_PREP_UNARY(prep_asin, asin_k, false, EW_GRAIN_HEAVY)
EW_PREP_UNARY(prep_acos, acos_k, false, EW_GRAIN_HEAVY)
EW_PREP_UNARY(prep_atan, atan_k, false, EW_GRAIN_HEAVY)
EW_PREP_UNARY(prep_sinh, sinh_k, false, EW_GRAIN_HEAVY)
EW_PREP_UNARY(prep_cosh, cosh_k, false, EW_GRAIN_HEAVY)
EW_PREP_UNARY(prep_asinh, asinh_k, false, EW_GRAIN_HEAVY)
EW_PREP_UNARY(prep_acosh, acosh_k, false, EW_GRAIN_HEAVY)
EW_PREP_UNARY(prep_atanh, atanh_k, false, EW_GRAIN_HEAVY)
EW_PREP_UNARY(prep_tanh, tanh_k, false, EW_GRAIN_HEAVY)
EW_PREP_UNARY(prep_sigmoid, sigmoid_k, false, EW_GRAIN_HEAVY)
EW_PREP_UNARY(prep_relu, relu_k, false, EW_GRAIN)
EW_PREP_UNARY(prep_hardswish, hswish_k, false, EW_GRAIN)
EW_PREP_UNARY(prep_softplus, softplus_k, false, EW_GRAIN_HEAVY)
EW_PREP_UNARY(prep_softsign, softsign_k, false, EW_GRAIN)
EW_PREP_UNARY(prep_mish, mish_k, false, EW_GRAIN_HEAVY)
EW_PREP_UNARY(prep_isnan, isnan_k, true, EW_GRAIN)
EW_PREP_UNARY(prep_not, not_k, false, EW_GRAIN)
EW_PREP_UNARY(prep_bitwise_not, bnot_k, false, EW_GRAIN)

/* ---- unary ops with attributes --------------------------------------------------------- */
/* alpha, beta, gamma, lambd, bias with the op's defaults */
static ew_params ew_attrs(const st_kctx *k, double alpha, double beta, double gamma) {
    ew_params p = {0};
    p.alpha = st_attr_float(k->node, "alpha", alpha);
    p.beta = st_attr_float(k->node, "beta", beta);
    p.gamma = st_attr_float(k->node, "gamma", gamma);
    p.lambd = st_attr_float(k->node, "lambd", 0.5);
    p.bias = st_attr_float(k->node, "bias", 0.0);
    return p;
}

static st_status prep_leakyrelu(st_kctx *k, st_error *err) {
    ew_params p = ew_attrs(k, 0.01, 0, 0);
    return ew_prep_unary(k, lrelu_k, false, EW_GRAIN, &p, err);
}
static st_status prep_elu(st_kctx *k, st_error *err) {
    ew_params p = ew_attrs(k, 1.0, 0, 0);
    return ew_prep_unary(k, elu_k, false, EW_GRAIN_HEAVY, &p, err);
}
static st_status prep_selu(st_kctx *k, st_error *err) {
    ew_params p = ew_attrs(k, 1.67326319217681884765625, 0, 1.05070102214813232421875);
    return ew_prep_unary(k, selu_k, false, EW_GRAIN_HEAVY, &p, err);
}
static st_status prep_celu(st_kctx *k, st_error *err) {
    ew_params p = ew_attrs(k, 1.0, 0, 0);
    if (p.alpha == 0) return st_errorf(err, ST_ERR_INVALID, "Celu: alpha must not be 0");
    return ew_prep_unary(k, celu_k, false, EW_GRAIN_HEAVY, &p, err);
}
/* Gelu-20: approximate "none" (erf) or "tanh". */
static st_status prep_gelu(st_kctx *k, st_error *err) {
    const char *ap = st_attr_string(k->node, "approximate", "none");
    bool tanh_form = !strcmp(ap, "tanh");
    if (!tanh_form && strcmp(ap, "none"))
        return st_errorf(err, ST_ERR_INVALID,
                         "Gelu: approximate must be \"none\" or \"tanh\", got \"%s\"", ap);
    return ew_prep_unary(k, tanh_form ? gelu_tanh_k : gelu_k, false, EW_GRAIN_HEAVY, NULL, err);
}
/* Swish-24: x * sigmoid(alpha x). */
static st_status prep_swish(st_kctx *k, st_error *err) {
    ew_params p = ew_attrs(k, 1.0, 0, 0);
    return ew_prep_unary(k, swish_k, false, EW_GRAIN_HEAVY, &p, err);
}
static st_status prep_hardsigmoid(st_kctx *k, st_error *err) {
    ew_params p = ew_attrs(k, 0.2, 0.5, 0);
    return ew_prep_unary(k, hsig_k, false, EW_GRAIN, &p, err);
}
static st_status prep_thresholdedrelu(st_kctx *k, st_error *err) {
    ew_params p = ew_attrs(k, 1.0, 0, 0);
    return ew_prep_unary(k, trelu_k, false, EW_GRAIN, &p, err);
}
static st_status prep_shrink(st_kctx *k, st_error *err) {
    ew_params p = ew_attrs(k, 0, 0, 0);
    return ew_prep_unary(k, shrink_k, false, EW_GRAIN, &p, err);
}
static st_status prep_isinf(st_kctx *k, st_error *err) {
    ew_params p = {0};
    p.det_neg = st_attr_int(k->node, "detect_negative", 1) != 0;
    p.det_pos = st_attr_int(k->node, "detect_positive", 1) != 0;
    return ew_prep_unary(k, isinf_k, true, EW_GRAIN, &p, err);
}

/* ---- binary ops ------------------------------------------------------------------------ */
#define EW_PREP_BINARY(fn, tab, out_bool) \
    static st_status fn(st_kctx *k, st_error *err) { return ew_prep_binary(k, tab, out_bool, err); }
EW_PREP_BINARY(prep_add, add_k, false)
EW_PREP_BINARY(prep_sub, sub_k, false)
EW_PREP_BINARY(prep_mul, mul_k, false)
EW_PREP_BINARY(prep_div, div_k, false)
EW_PREP_BINARY(prep_and, and_k, true)
EW_PREP_BINARY(prep_or, or_k, true)
EW_PREP_BINARY(prep_xor, xor_k, true)
EW_PREP_BINARY(prep_bitwise_and, band_k, false)
EW_PREP_BINARY(prep_bitwise_or, bor_k, false)
EW_PREP_BINARY(prep_bitwise_xor, bxor_k, false)
EW_PREP_BINARY(prep_equal, eq_k, true)
EW_PREP_BINARY(prep_greater, gt_k, true)
EW_PREP_BINARY(prep_less, lt_k, true)
EW_PREP_BINARY(prep_greater_equal, ge_k, true)
EW_PREP_BINARY(prep_less_equal, le_k, true)

static st_status prep_mod(st_kctx *k, st_error *err) {
    int64_t f = st_attr_int(k->node, "fmod", 0);
    if (f != 0 && f != 1)
        return st_errorf(err, ST_ERR_INVALID, "Mod: fmod must be 0 or 1, got %lld", (long long)f);
    return ew_prep_binary(k, f ? fmod_k : mod_k, false, err);
}

static st_status prep_bitshift(st_kctx *k, st_error *err) {
    const char *dir = st_attr_string(k->node, "direction", "");
    bool left = !strcmp(dir, "LEFT");
    if (!left && strcmp(dir, "RIGHT"))
        return st_errorf(err, ST_ERR_INVALID,
                         "BitShift: direction must be \"LEFT\" or \"RIGHT\", got \"%s\"", dir);
    return ew_prep_binary(k, left ? shl_k : shr_k, false, err);
}

/* PRelu: slope broadcasts into X (unidirectionally from opset 7; before, a 1-D slope of
 * X's channel count applies per channel). */
static st_status prep_prelu(st_kctx *k, st_error *err) {
    const st_tensor *ts[2];
    st_status st = ew_inputs(k, 2, ts, err);
    if (st) return st;
    st_tensor sv = *ts[1];
    const st_tensor *x = ts[0];
    if (k->opset < 7 && sv.ndim == 1 && x->ndim >= 2 && sv.dims[0] == x->dims[1] &&
        sv.dims[0] != 1) {
        for (int d = 1; d < x->ndim - 1; d++) sv.dims[d] = 1;
        sv.ndim = x->ndim - 1;
    }
    ts[1] = &sv;
    if ((st = ew_prep_simple(k, prelu_k, 2, ts, false, EW_GRAIN, NULL, err))) return st;
    const ew_state *s = k->state;
    bool same = s->ndim == x->ndim;
    for (int d = 0; same && d < x->ndim; d++) same = s->dims[d] == x->dims[d];
    if (!same)
        return st_errorf(err, ST_ERR_INVALID, "PRelu: slope does not broadcast into X's shape");
    return ST_OK;
}

/* Pow: float bases compute in their own type with the exponent converted to it; integer
 * bases use exact integer powers for integer exponents and double for float ones. */
static st_status prep_pow(st_kctx *k, st_error *err) {
    const st_tensor *ts[2];
    st_status st = ew_inputs(k, 2, ts, err);
    if (st) return st;
    st_dtype db = ts[0]->dtype, de = ts[1]->dtype;
    bool bf = st_dtype_is_float(db), bi = st_dtype_is_int(db);
    bool ef = st_dtype_is_float(de), ei = st_dtype_is_int(de);
    if (!(bf || bi)) return ew_unsupported(k, db, err);
    if (!(ef || ei)) return ew_unsupported(k, de, err);
    st_tensor bv = *ts[1];
    if ((st = ew_legacy_bcast(k, ts[0], &bv, err))) return st;
    ts[1] = &bv;
    ew_state *s = ew_state_new(k, 1, EW_GRAIN_HEAVY, err);
    if (!s) return ST_ERR_NOMEM;
    if ((st = ew_declare(k, s, 2, ts, db, err))) return st;
    st_dtype ct[2], cot;
    ew_kern fn;
    if (bf) {
        ct[0] = ct[1] = cot = ew_ctype(db);
        fn = pow_k[cot];
    } else if (ei) {
        ct[0] = cot = db;
        ct[1] = ST_DTYPE_I64;
        fn = powi_k[db];
    } else {
        ct[0] = ct[1] = cot = ST_DTYPE_F64;
        fn = pow_k[ST_DTYPE_F64];
    }
    int src[2] = {0, 1};
    ew_plan_build(&s->plans[0], fn, 2, ts, src, ct, db, cot, s->ndim, s->dims);
    k->run = ew_run;
    return ST_OK;
}

/* ---- variadic: Max, Min, Sum, Mean fold pairwise into the output ---------------------- */
static st_status ew_run_copy(st_kctx *k, st_error *err) {
    const ew_state *s = k->state;
    st_tensor *y;
    st_status st = ew_get_out(k, s, &y, err);
    if (st || !y || !s->n) return st;
    const st_tensor *x = st_in(k, 0);
    if (x->data != y->data) memcpy(y->data, x->data, s->n * st_dtype_size(s->ot));
    return ST_OK;
}

static st_status ew_prep_variadic(st_kctx *k, const ew_kern *tab, bool mean, st_error *err) {
    int n = k->n_in;
    if (n < 1) return st_errorf(err, ST_ERR_INVALID, "%s needs at least one input", ew_op(k));
    const st_tensor **ts = st_calloc((size_t)n, sizeof *ts);
    if (!ts) return st_error_nomem(err);
    st_status st = ew_inputs(k, n, ts, err);
    if (st) goto fail;
    if ((st = ew_same_types(k, n, ts, err))) goto fail;
    st_dtype dt = ts[0]->dtype, c = ew_ctype(dt);
    if (!st_dtype_valid(dt) || !tab[c] || (mean && !divn_k[c])) {
        st = ew_unsupported(k, dt, err);
        goto fail;
    }
    int nplans = n == 1 ? 0 : n - 1 + (mean ? 1 : 0);
    ew_state *s = ew_state_new(k, nplans, EW_GRAIN, err);
    if (!s) {
        st = ST_ERR_NOMEM;
        goto fail;
    }
    if ((st = ew_declare(k, s, n, ts, dt, err))) goto fail;
    s->p.div = n;
    st_tensor acc = {0};
    acc.dtype = dt;
    acc.ndim = s->ndim;
    memcpy(acc.dims, s->dims, sizeof acc.dims);
    st_dtype ct[2] = {c, c};
    for (int i = 1; i < n; i++) {
        const st_tensor *ops[2] = {i == 1 ? ts[0] : &acc, ts[i]};
        int src[2] = {i == 1 ? 0 : -1, i};
        ew_plan_build(&s->plans[i - 1], tab[c], 2, ops, src, ct, dt, c, s->ndim, s->dims);
    }
    if (mean && n > 1) {
        const st_tensor *ops[1] = {&acc};
        int src[1] = {-1};
        ew_plan_build(&s->plans[n - 1], divn_k[c], 1, ops, src, ct, dt, c, s->ndim, s->dims);
    }
    if (n == 1) {
        k->run = ew_run_copy;
    } else {
        k->run = ew_run;
    }
    st_free(ts);
    return ST_OK;
fail:
    st_free(ts);
    return st;
}

static st_status prep_max(st_kctx *k, st_error *err) {
    return ew_prep_variadic(k, max_k, false, err);
}
static st_status prep_min(st_kctx *k, st_error *err) {
    return ew_prep_variadic(k, min_k, false, err);
}
static st_status prep_sum(st_kctx *k, st_error *err) {
    return ew_prep_variadic(k, add_k, false, err);
}
static st_status prep_mean(st_kctx *k, st_error *err) {
    return ew_prep_variadic(k, add_k, true, err);
}

/* ---- Clip ------------------------------------------------------------------------------ */
/* Bounds that clip nothing for compute dtype t. */
static void ew_limits(st_dtype t, ew_raw *lo, ew_raw *hi) {
    lo->u = hi->u = 0;
    switch (t) {
#define EW_LIM(e, T, L, H)           \
    case e: {                        \
        T l = L, h = H;              \
        memcpy(lo->b, &l, sizeof l); \
        memcpy(hi->b, &h, sizeof h); \
        break;                       \
    }
        EW_LIM(ST_DTYPE_F32, float, -INFINITY, INFINITY)
        EW_LIM(ST_DTYPE_F64, double, -INFINITY, INFINITY)
        EW_LIM(ST_DTYPE_I8, int8_t, INT8_MIN, INT8_MAX)
        EW_LIM(ST_DTYPE_I16, int16_t, INT16_MIN, INT16_MAX)
        EW_LIM(ST_DTYPE_I32, int32_t, INT32_MIN, INT32_MAX)
        EW_LIM(ST_DTYPE_I64, int64_t, INT64_MIN, INT64_MAX)
        EW_LIM(ST_DTYPE_U8, uint8_t, 0, UINT8_MAX)
        EW_LIM(ST_DTYPE_U16, uint16_t, 0, UINT16_MAX)
        EW_LIM(ST_DTYPE_U32, uint32_t, 0, UINT32_MAX)
        EW_LIM(ST_DTYPE_U64, uint64_t, 0, UINT64_MAX)
#undef EW_LIM
    default: break;
    }
}

static st_status ew_run_clip(st_kctx *k, st_error *err) {
    const ew_state *s = k->state;
    ew_params p = s->p;
    st_dtype c = s->plans[0].ct[0];
    for (int i = 1; i <= 2; i++) {
        const st_tensor *b = st_in(k, i);
        if (!b || !st_tensor_nelem(b)) continue;
        if (b->dtype != s->ot)
            return st_errorf(err, ST_ERR_INVALID, "Clip: bound %d is %s, input is %s", i,
                             st_dtype_name(b->dtype), st_dtype_name(s->ot));
        ew_convert(b->data, b->dtype, i == 1 ? p.lo.b : p.hi.b, c, 1);
    }
    st_tensor *y;
    st_status st = ew_get_out(k, s, &y, err);
    if (st || !y || !s->n) return st;
    ew_exec(k, s, &s->plans[0], &p, y->data);
    return ST_OK;
}

static st_status prep_clip(st_kctx *k, st_error *err) {
    const st_tensor *ts[1];
    st_status st = ew_inputs(k, 1, ts, err);
    if (st) return st;
    if ((st = ew_prep_simple(k, clip_k, 1, ts, false, EW_GRAIN, NULL, err))) return st;
    ew_state *s = k->state;
    st_dtype c = s->plans[0].ct[0];
    ew_limits(c, &s->p.lo, &s->p.hi);
    if (k->opset < 11) {
        const st_attr *mn = st_node_attr(k->node, "min"), *mx = st_node_attr(k->node, "max");
        if (mn) ew_convert(&mn->f, ST_DTYPE_F64, s->p.lo.b, c, 1);
        if (mx) ew_convert(&mx->f, ST_DTYPE_F64, s->p.hi.b, c, 1);
        return ST_OK;
    }
    for (int i = 1; i <= 2; i++) {
        const st_tensor *b = st_in(k, i);
        if (b && st_tensor_nelem(b) > 1)
            return st_errorf(err, ST_ERR_INVALID, "Clip: %s must be a scalar, got %zu elements",
                             i == 1 ? "min" : "max", st_tensor_nelem(b));
    }
    k->run = ew_run_clip;
    return ST_OK;
}

/* ---- Where ----------------------------------------------------------------------------- */
/* Strings: copy each selected element (rare; one thread, plain index arithmetic). */
static st_status ew_run_where_str(st_kctx *k, st_error *err) {
    const ew_state *s = k->state;
    st_tensor *y;
    st_status st = ew_get_out(k, s, &y, err);
    if (st || !y || !s->n) return st;
    const st_tensor *c = st_in(k, 0), *a = st_in(k, 1), *b = st_in(k, 2);
    int64_t sc[ST_MAX_RANK], sa[ST_MAX_RANK], sb[ST_MAX_RANK];
    st_broadcast_strides(c, s->ndim, s->dims, sc);
    st_broadcast_strides(a, s->ndim, s->dims, sa);
    st_broadcast_strides(b, s->ndim, s->dims, sb);
    const uint8_t *cd = c->data;
    const st_str *ad = a->data, *bd = b->data;
    for (size_t i = 0; i < s->n; i++) {
        size_t rem = i;
        int64_t oc = 0, oa = 0, ob = 0;
        for (int d = s->ndim - 1; d >= 0; d--) {
            int64_t id = (int64_t)(rem % (size_t)s->dims[d]);
            rem /= (size_t)s->dims[d];
            oc += id * sc[d];
            oa += id * sa[d];
            ob += id * sb[d];
        }
        const st_str *e = cd[oc] ? &ad[oa] : &bd[ob];
        if ((st = st_tensor_set_string(y, i, e->data ? e->data : "", e->len, err))) return st;
    }
    return ST_OK;
}

static st_status prep_where(st_kctx *k, st_error *err) {
    const st_tensor *ts[3];
    st_status st = ew_inputs(k, 3, ts, err);
    if (st) return st;
    if (ts[0]->dtype != ST_DTYPE_BOOL)
        return st_errorf(err, ST_ERR_INVALID, "Where: condition is %s, expected bool",
                         st_dtype_name(ts[0]->dtype));
    if ((st = ew_same_types(k, 2, ts + 1, err))) return st;
    st_dtype dt = ts[1]->dtype;
    if (!st_dtype_valid(dt)) return ew_unsupported(k, dt, err);
    ew_state *s = ew_state_new(k, 1, EW_GRAIN, err);
    if (!s) return ST_ERR_NOMEM;
    if ((st = ew_declare(k, s, 3, ts, dt, err))) return st;
    if (dt == ST_DTYPE_STRING) {
        k->run = ew_run_where_str;
        return ST_OK;
    }
    ew_kern fn;
    switch (st_dtype_size(dt)) {
    case 1: fn = where1; break;
    case 2: fn = where2; break;
    case 4: fn = where4; break;
    case 8: fn = where8; break;
    case 16: fn = where16; break;
    default: return ew_unsupported(k, dt, err);
    }
    int src[3] = {0, 1, 2};
    st_dtype ct[3] = {ST_DTYPE_BOOL, dt, dt};
    ew_plan_build(&s->plans[0], fn, 3, ts, src, ct, dt, dt, s->ndim, s->dims);
    k->run = ew_run;
    return ST_OK;
}

/* ---- Cast and CastLike ----------------------------------------------------------------- */
/* Shortest decimal digits that read back as v in dtype t: fills digits (no dot, no sign)
 * and the decimal exponent of the first digit. */
static void ew_shortest(double v, st_dtype t, char *digits, int *exp10) {
    char tmp[40];
    for (int p = 1; p <= 17; p++) {
        snprintf(tmp, sizeof tmp, "%.*e", p - 1, v);
        bool ok;
        if (t == ST_DTYPE_F64) {
            ok = strtod(tmp, NULL) == v;
        } else if (t == ST_DTYPE_F32) {
            ok = strtof(tmp, NULL) == (float)v;
        } else if (t == ST_DTYPE_F16) {
            ok = st_f32_to_f16(strtof(tmp, NULL)) == st_f32_to_f16((float)v);
        } else {
            ok = st_f32_to_bf16(strtof(tmp, NULL)) == st_f32_to_bf16((float)v);
        }
        if (ok) break;
    }
    const char *q = tmp;
    if (*q == '-') q++;
    int nd = 0;
    for (; *q && *q != 'e'; q++)
        if (*q >= '0' && *q <= '9') digits[nd++] = *q;
    while (nd > 1 && digits[nd - 1] == '0') nd--;
    digits[nd] = 0;
    *exp10 = *q == 'e' ? atoi(q + 1) : 0;
}

/* A float as numpy's str() prints it: shortest round-trip digits, positional for
 * 1e-4 <= |v| < 1e16, else scientific ("1e-05", "1.5e+20"). */
static void ew_fmt_float(double v, st_dtype t, char *out, size_t n) {
    if (isnan(v)) {
        snprintf(out, n, "nan");
        return;
    }
    if (isinf(v)) {
        snprintf(out, n, v < 0 ? "-inf" : "inf");
        return;
    }
    const char *sign = signbit(v) ? "-" : "";
    if (v == 0) {
        snprintf(out, n, "%s0.0", sign);
        return;
    }
    char dg[24];
    int e;
    ew_shortest(v, t, dg, &e);
    int nd = (int)strlen(dg);
    double a = fabs(v);
    if (a >= 1e-4 && a < 1e16) {
        char body[64];
        int o = 0;
        if (e >= 0) {
            for (int i = 0; i <= e; i++) body[o++] = i < nd ? dg[i] : '0';
            body[o++] = '.';
            if (nd > e + 1) {
                for (int i = e + 1; i < nd; i++) body[o++] = dg[i];
            } else {
                body[o++] = '0';
            }
        } else {
            body[o++] = '0';
            body[o++] = '.';
            for (int i = 0; i < -e - 1; i++) body[o++] = '0';
            for (int i = 0; i < nd; i++) body[o++] = dg[i];
        }
        body[o] = 0;
        snprintf(out, n, "%s%s", sign, body);
    } else {
        snprintf(out, n, "%s%c%s%s%se%c%02d", sign, dg[0], nd > 1 ? "." : "", dg + 1, "",
                 e < 0 ? '-' : '+', e < 0 ? -e : e);
    }
}

/* Element i of x (non-string) as text. */
static void ew_to_text(const st_tensor *x, size_t i, char *out, size_t n) {
    switch (x->dtype) {
    case ST_DTYPE_F32:
    case ST_DTYPE_F64:
    case ST_DTYPE_F16:
    case ST_DTYPE_BF16: ew_fmt_float(st_tensor_get_f64(x, i), x->dtype, out, n); break;
    case ST_DTYPE_F8E4M3FN:
    case ST_DTYPE_F8E4M3FNUZ:
    case ST_DTYPE_F8E5M2:
    case ST_DTYPE_F8E5M2FNUZ:
    case ST_DTYPE_F4E2M1:
    case ST_DTYPE_F8E8M0: ew_fmt_float(st_tensor_get_f64(x, i), ST_DTYPE_F32, out, n); break;
    case ST_DTYPE_BOOL:
        snprintf(out, n, "%s", ((const uint8_t *)x->data)[i] ? "True" : "False");
        break;
    case ST_DTYPE_U64:
        snprintf(out, n, "%llu", (unsigned long long)((const uint64_t *)x->data)[i]);
        break;
    default: snprintf(out, n, "%lld", (long long)st_tensor_get_i64(x, i)); break;
    }
}

/* Parse text into one element of dtype t at dst: numbers, "INF", "-inf", "NaN", and for
 * bool also "true"/"false". Unparseable text gives 0. */
static void ew_from_text(const st_str *sv, st_dtype t, void *dst) {
    char buf[128];
    size_t len = sv->data ? ST_MIN(sv->len, sizeof buf - 1) : 0;
    if (len) memcpy(buf, sv->data, len);
    buf[len] = 0;
    char *end;
    if (st_dtype_is_int(t) || t == ST_DTYPE_BOOL) {
        if (t == ST_DTYPE_BOOL && (!strcasecmp(buf, "true") || !strcasecmp(buf, "false"))) {
            *(uint8_t *)dst = buf[0] == 't' || buf[0] == 'T';
            return;
        }
        errno = 0;
        if (t == ST_DTYPE_U64) {
            unsigned long long u = strtoull(buf, &end, 10);
            if (end != buf && !*end && !errno && buf[0] != '-') {
                ew_convert(&u, ST_DTYPE_U64, dst, t, 1);
                return;
            }
        } else {
            long long v = strtoll(buf, &end, 10);
            if (end != buf && !*end && !errno) {
                int64_t i = v;
                ew_convert(&i, ST_DTYPE_I64, dst, t, 1);
                return;
            }
        }
    }
    if (t == ST_DTYPE_F32) {
        float f = strtof(buf, &end);
        memcpy(dst, &f, sizeof f);
        return;
    }
    double d = strtod(buf, &end);
    if (end == buf) d = 0;
    if (t == ST_DTYPE_F8E8M0) *(uint8_t *)dst = st_f32_to_e8m0((float)d, true, ST_E8M0_UP);
    else if (st_dtype_is_minifloat(t)) *(uint8_t *)dst = st_f32_to_minifloat(t, (float)d, true);
    else if (st_dtype_is_narrow_int(t))
        *(uint8_t *)dst = st_narrow_int_wrap(t, d != d ? 0 : (int64_t)fmax(fmin(d, 1e18), -1e18));
    else ew_convert(&d, ST_DTYPE_F64, dst, t, 1);
}

typedef struct ew_cast_job {
    const void *x;
    void *y;
    st_dtype from, to;
    bool saturate;
    st_e8m0_round round_mode;
    bool bf16_truncate;
} ew_cast_job;

/* Casts from or to the narrow types: float8/float4 codes go through float32, 4-/2-bit
 * integers (int8/uint8 bytes in the IR) through int64 and wrap to their bits. */
static void ew_cast_narrow(const ew_cast_job *j, size_t b, size_t e) {
    size_t isz = st_dtype_size(j->from), osz = st_dtype_size(j->to);
    float fin[EW_BLK], fout[EW_BLK];
    int64_t iout[EW_BLK];
    for (size_t i = b; i < e; i += EW_BLK) {
        size_t m = ST_MIN((size_t)EW_BLK, e - i);
        const void *src = (const char *)j->x + i * isz;
        st_dtype sd = j->from;
        uint8_t *dst = (uint8_t *)j->y + i * osz;
        if (st_dtype_is_minifloat(sd)) {
            const uint8_t *codes = src;
            for (size_t t = 0; t < m; t++) fin[t] = st_minifloat_to_f32(sd, codes[t]);
            src = fin;
            sd = ST_DTYPE_F32;
        } else if (st_dtype_is_narrow_int(sd)) {
            sd = sd == ST_DTYPE_I4 || sd == ST_DTYPE_I2 ? ST_DTYPE_I8 : ST_DTYPE_U8;
        }
        if (st_dtype_is_narrow_int(j->to)) {
            ew_convert(src, sd, iout, ST_DTYPE_I64, m);
            for (size_t t = 0; t < m; t++) dst[t] = st_narrow_int_wrap(j->to, iout[t]);
        } else if (j->to == ST_DTYPE_F8E8M0) {
            ew_convert(src, sd, fout, ST_DTYPE_F32, m);
            for (size_t t = 0; t < m; t++)
                dst[t] = st_f32_to_e8m0(fout[t], j->saturate, j->round_mode);
        } else if (st_dtype_is_minifloat(j->to)) {
            ew_convert(src, sd, fout, ST_DTYPE_F32, m);
            for (size_t t = 0; t < m; t++)
                dst[t] = st_f32_to_minifloat(j->to, fout[t], j->saturate);
        } else {
            ew_convert(src, sd, dst, j->to, m);
        }
    }
}

static void ew_cast_range(void *arg, size_t b, size_t e) {
    const ew_cast_job *j = arg;
    if (j->from > ST_DTYPE_BF16 || j->to > ST_DTYPE_BF16) {
        ew_cast_narrow(j, b, e);
        return;
    }
    const char *x = (const char *)j->x + b * st_dtype_size(j->from);
    if (j->to != ST_DTYPE_BF16 || j->from == ST_DTYPE_BF16 || !j->bf16_truncate) {
        ew_convert(x, j->from, (char *)j->y + b * st_dtype_size(j->to), j->to, e - b);
        return;
    }
    /* Before opset 19, Cast to bfloat16 truncates the float32 bits, as onnx's reference
     * data of that time (and onnxruntime before 1.14) do; NaN stays NaN. From Cast-19 (the
     * float8 revision) onnx's reference rounds to nearest even, as computation results do. */
    uint16_t *y = (uint16_t *)j->y + b;
    float buf[EW_BLK];
    for (size_t i = 0, n = e - b; i < n; i += EW_BLK) {
        size_t m = ST_MIN((size_t)EW_BLK, n - i);
        ew_convert(x + i * st_dtype_size(j->from), j->from, buf, ST_DTYPE_F32, m);
        for (size_t t = 0; t < m; t++) {
            uint32_t u;
            memcpy(&u, &buf[t], sizeof u);
            y[i + t] = buf[t] != buf[t] ? (uint16_t)((u >> 16) | 0x40) : (uint16_t)(u >> 16);
        }
    }
}

static st_status ew_run_cast(st_kctx *k, st_error *err) {
    const ew_state *s = k->state;
    st_tensor *y;
    st_status st = ew_get_out(k, s, &y, err);
    if (st || !y || !s->n) return st;
    const st_tensor *x = st_in(k, 0);
    if (x->dtype == ST_DTYPE_STRING && s->to == ST_DTYPE_STRING) {
        const st_str *a = x->data;
        for (size_t i = 0; i < s->n; i++)
            if ((st = st_tensor_set_string(y, i, a[i].data ? a[i].data : "", a[i].len, err)))
                return st;
    } else if (s->to == ST_DTYPE_STRING) {
        char buf[64];
        for (size_t i = 0; i < s->n; i++) {
            ew_to_text(x, i, buf, sizeof buf);
            if ((st = st_tensor_set_string(y, i, buf, strlen(buf), err))) return st;
        }
    } else if (x->dtype == ST_DTYPE_STRING) {
        const st_str *a = x->data;
        size_t esz = st_dtype_size(s->to);
        for (size_t i = 0; i < s->n; i++) ew_from_text(&a[i], s->to, (char *)y->data + i * esz);
    } else {
        ew_cast_job j = {x->data,     y->data,       x->dtype,     s->to,
                         s->saturate, s->round_mode, k->opset < 19};
        st_parallel_for(k->pool, s->n, EW_GRAIN, ew_cast_range, &j);
    }
    return ST_OK;
}

/* Cast to the input's own type: the output is a view of the input. */
static st_status ew_run_cast_alias(st_kctx *k, st_error *err) {
    const ew_state *s = k->state;
    if (!st_has_out(k, 0)) return ST_OK;
    return st_out_alias(k, 0, 0, s->ndim, s->dims, err);
}

static bool ew_castable(st_dtype t) {
    return st_dtype_valid(t) && t != ST_DTYPE_C64 && t != ST_DTYPE_C128;
}

static st_status ew_prep_cast_to(st_kctx *k, st_dtype to, st_error *err) {
    const st_tensor *ts[1];
    st_status st = ew_inputs(k, 1, ts, err);
    if (st) return st;
    if (!ew_castable(to))
        return st_errorf(err, ST_ERR_UNSUPPORTED, "%s: cannot cast to %s", ew_op(k),
                         st_dtype_name(to));
    if (!ew_castable(ts[0]->dtype)) return ew_unsupported(k, ts[0]->dtype, err);
    ew_state *s = ew_state_new(k, 0, EW_GRAIN, err);
    if (!s) return ST_ERR_NOMEM;
    s->to = to;
    s->saturate = st_attr_int(k->node, "saturate", 1) != 0;
    const st_attr *rm = st_node_attr(k->node, "round_mode");
    const char *mode = rm && rm->kind == ST_ATTR_STRING && rm->s.data ? rm->s.data : "up";
    if (!strcmp(mode, "up")) s->round_mode = ST_E8M0_UP;
    else if (!strcmp(mode, "down")) s->round_mode = ST_E8M0_DOWN;
    else if (!strcmp(mode, "nearest")) s->round_mode = ST_E8M0_NEAREST;
    else return st_errorf(err, ST_ERR_INVALID, "%s: unknown round_mode \"%s\"", ew_op(k), mode);
    if ((st = ew_declare(k, s, 1, ts, to, err))) return st;
    k->run = ew_run_cast;
    if (to == ts[0]->dtype && to != ST_DTYPE_STRING) {
        st_out_declare_alias(k, 0, 0, s->ndim, s->dims);
        k->run = ew_run_cast_alias;
    }
    return ST_OK;
}

static st_status prep_cast(st_kctx *k, st_error *err) {
    const st_attr *a = st_node_attr(k->node, "to");
    if (!a) return st_errorf(err, ST_ERR_INVALID, "Cast: attribute 'to' is required");
    int64_t to = -1;
    if (a->kind == ST_ATTR_STRING) {
        /* Cast-1 names the type: "FLOAT", "INT64", ... */
        for (int t = 1; t < ST_DTYPE_COUNT; t++)
            if (a->s.data && !strcasecmp(a->s.data, st_dtype_table[t].onnx_name)) to = t;
    } else {
        to = a->i;
    }
    if (to <= 0 || to >= ST_DTYPE_COUNT)
        return st_errorf(err, ST_ERR_UNSUPPORTED, "Cast: unknown target type %lld", (long long)to);
    return ew_prep_cast_to(k, (st_dtype)to, err);
}

static st_status prep_castlike(st_kctx *k, st_error *err) {
    const st_tensor *ts[2];
    st_status st = ew_inputs(k, 2, ts, err);
    if (st) return st;
    return ew_prep_cast_to(k, ts[1]->dtype, err);
}

/* ---- the table ------------------------------------------------------------------------- */
/* Every op of this family works element by element (ST_OPF_POINTWISE). */
#define EW_OP(op, ver, ...) ST_OP("", op, ver, __VA_ARGS__, .flags = ST_OPF_POINTWISE)

static const st_op_def family_rows[] = {
    /* op (domain ai.onnx)  since prepare, extras */
    EW_OP("Abs", 1, prep_abs, .flops_per_elem = 1), /* |x|; integers wrap at MIN; also 6, 13 */
    EW_OP("Neg", 1, prep_neg, .flops_per_elem = 1), /* -x; also 6, 13 */
    EW_OP("Reciprocal", 1, prep_reciprocal, .flops_per_elem = 1), /* 1/x; also 6, 13 */
    EW_OP("Sqrt", 1, prep_sqrt, .flops_per_elem = 1),             /* square root; also 6, 13 */
    EW_OP("Exp", 1, prep_exp, .flops_per_elem = 1),               /* e^x; also 6, 13 */
    EW_OP("Log", 1, prep_log, .flops_per_elem = 1),               /* natural log; also 6, 13 */
    EW_OP("Ceil", 1, prep_ceil),                                  /* round up; also 6, 13 */
    EW_OP("Floor", 1, prep_floor),                                /* round down; also 6, 13 */
    EW_OP("Round", 11, prep_round),                               /* round half to even */
    EW_OP("Sign", 9, prep_sign),                    /* -1, 0, 1 (NaN stays NaN); also 13 */
    EW_OP("Erf", 9, prep_erf, .flops_per_elem = 5), /* error function; a polynomial; also 13 */
    EW_OP("Sin", 7, prep_sin),                      /* trigonometry */
    EW_OP("Cos", 7, prep_cos), EW_OP("Tan", 7, prep_tan), EW_OP("Asin", 7, prep_asin),
    EW_OP("Acos", 7, prep_acos), EW_OP("Atan", 7, prep_atan),
    EW_OP("Sinh", 9, prep_sinh), /* hyperbolic functions */
    EW_OP("Cosh", 9, prep_cosh), EW_OP("Asinh", 9, prep_asinh), EW_OP("Acosh", 9, prep_acosh),
    EW_OP("Atanh", 9, prep_atanh),
    EW_OP("Tanh", 1, prep_tanh, .flops_per_elem = 5), /* two exps and a divide; also 6, 13 */
    /* 1/(1+e^-x); exp, add, divide, negate; also 6, 13 */
    EW_OP("Sigmoid", 1, prep_sigmoid, .flops_per_elem = 4),
    EW_OP("Relu", 1, prep_relu, .flops_per_elem = 1), /* max(x, 0); also 6, 13, 14 */
    /* x<0: alpha*x; compare, multiply; also 6, 16 */
    EW_OP("LeakyRelu", 1, prep_leakyrelu, .flops_per_elem = 2),
    /* x<0: alpha*(e^x-1); exp, subtract, multiply; also 6 */
    EW_OP("Elu", 1, prep_elu, .flops_per_elem = 3),
    /* gamma*(x>0 ? x : alpha*(e^x-1)); elu and a scale; also 6 */
    EW_OP("Selu", 1, prep_selu, .flops_per_elem = 4),
    EW_OP("Celu", 12, prep_celu), /* max(0,x)+min(0,alpha*(e^(x/alpha)-1)) */
    /* clamp(alpha*x+beta, 0, 1); multiply-add, clamp; also 6 */
    EW_OP("HardSigmoid", 1, prep_hardsigmoid, .flops_per_elem = 3),
    /* x*clamp(x/6+1/2, 0, 1); hard sigmoid and a multiply */
    EW_OP("HardSwish", 14, prep_hardswish, .flops_per_elem = 4),
    EW_OP("Softplus", 1, prep_softplus, .flops_per_elem = 3), /* log(1+e^x); exp, add, log */
    EW_OP("Softsign", 1, prep_softsign),                      /* x/(1+|x|) */
    EW_OP("ThresholdedRelu", 10, prep_thresholdedrelu),       /* x>alpha ? x : 0 */
    EW_OP("Shrink", 9, prep_shrink), /* soft/hard shrinkage by lambd, bias */
    /* x*tanh(softplus(x)); softplus, tanh, multiply */
    EW_OP("Mish", 18, prep_mish, .flops_per_elem = 6),
    /* x Phi(x) by erf or the tanh approximation; erf, multiply, add, multiply */
    EW_OP("Gelu", 20, prep_gelu, .flops_per_elem = 8),
    /* x sigmoid(alpha x): multiply, exp, add, divide */
    EW_OP("Swish", 24, prep_swish, .flops_per_elem = 5),
    EW_OP("IsNaN", 9, prep_isnan),  /* bool: x is NaN; also 13 */
    EW_OP("IsInf", 10, prep_isinf), /* bool: x is +-inf (detect_negative/positive) */
    EW_OP("Not", 1, prep_not),      /* logical not */
    EW_OP("Add", 1, prep_add, .flops_per_elem = 1), /* a+b (integers wrap); also 6, 7, 13, 14 */
    EW_OP("Sub", 1, prep_sub, .flops_per_elem = 1), /* a-b; also 6, 7, 13, 14 */
    EW_OP("Mul", 1, prep_mul, .flops_per_elem = 1), /* a*b; also 6, 7, 13, 14 */
    /* a/b (integers truncate, x/0 = 0); also 6, 7, 13, 14 */
    EW_OP("Div", 1, prep_div, .flops_per_elem = 1),
    /* a^b, mixed base/exponent types from 12; also 7, 12, 13, 15 */
    EW_OP("Pow", 1, prep_pow, .flops_per_elem = 1),
    EW_OP("Mod", 10, prep_mod),                /* remainder: divisor's sign, or fmod=1; also 13 */
    EW_OP("BitShift", 11, prep_bitshift),      /* unsigned << or >> (direction) */
    EW_OP("BitwiseAnd", 18, prep_bitwise_and), /* integer a & b, broadcast */
    EW_OP("BitwiseOr", 18, prep_bitwise_or),   /* integer a | b, broadcast */
    EW_OP("BitwiseXor", 18, prep_bitwise_xor), /* integer a ^ b, broadcast */
    EW_OP("BitwiseNot", 18, prep_bitwise_not), /* integer ~a */
    EW_OP("And", 1, prep_and),                 /* bool logic; also 7 */
    EW_OP("Or", 1, prep_or),                   /* also 7 */
    EW_OP("Xor", 1, prep_xor),                 /* also 7 */
    EW_OP("Equal", 1, prep_equal),     /* bool: a==b (numbers, bool, strings); also 7, 11, 13 */
    EW_OP("Greater", 1, prep_greater), /* bool: a>b; also 7, 9, 13 */
    EW_OP("Less", 1, prep_less),       /* bool: a<b; also 7, 9, 13 */
    EW_OP("GreaterOrEqual", 12, prep_greater_equal), /* bool: a>=b; also 16 */
    EW_OP("LessOrEqual", 12, prep_less_equal),       /* bool: a<=b; also 16 */
    /* x<0: slope*x, slope broadcast into x; compare, multiply; also 6, 7, 9, 16 */
    EW_OP("PRelu", 1, prep_prelu, .flops_per_elem = 2),
    EW_OP("Where", 9, prep_where), /* cond ? x : y, any type; also 16 */
    /* clamp: attributes before 11, inputs after; two compares; also 6, 11, 12, 13 */
    EW_OP("Clip", 1, prep_clip, .flops_per_elem = 2),
    /* variadic elementwise max (NaN wins); one compare per element and extra input; also 6, 8,
     * 12, 13 */
    EW_OP("Max", 1, prep_max, .flops_per_elem = 1),
    /* variadic elementwise min; one compare per element and extra input; also 6, 8, 12, 13 */
    EW_OP("Min", 1, prep_min, .flops_per_elem = 1),
    /* variadic sum; one add per element and extra input; also 6, 8, 13 */
    EW_OP("Sum", 1, prep_sum, .flops_per_elem = 1),
    /* variadic mean; add and scale; also 6, 8, 13 */
    EW_OP("Mean", 1, prep_mean, .flops_per_elem = 2),
    /* convert to `to` (numbers, bool, strings); also 6, 9, 13 */
    ST_OP("", "Cast", 1, prep_cast, .flags = ST_OPF_POINTWISE | ST_OPF_PASSTHROUGH),
    EW_OP("CastLike", 15, prep_castlike), /* convert to the second input's type */
};
const st_op_family st_ops_elementwise = {"elementwise", family_rows, ST_ARRAY_LEN(family_rows)};
