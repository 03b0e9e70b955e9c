/* runtime/ops/rnn.c: recurrent networks (LSTM, GRU, RNN) for float16, float32 and float64.
 * One generic kernel per compute type: the input projection of every time step is a single
 * GEMM (oneDNN's sgemm for float32), then each step runs one recurrent GEMM over the batch
 * and the gate math row by row. float16 computes in float32 copies kept in scratch; run
 * allocates nothing beyond st_out and scratch. */
#include <math.h>
#include <string.h>
#include <strings.h>

#include <dnnl.h>
#include <omp.h>

#include "op.h"

/* ---- activations ------------------------------------------------------------------ */
typedef enum {
    ACT_RELU,
    ACT_TANH,
    ACT_SIGMOID,
    ACT_AFFINE,
    ACT_LEAKY_RELU,
    ACT_THRESHOLDED_RELU,
    ACT_SCALED_TANH,
    ACT_HARD_SIGMOID,
    ACT_ELU,
    ACT_SOFTSIGN,
    ACT_SOFTPLUS,
    ACT_COUNT
} rnn_act_fn;

/* Activation names as the ONNX attribute spells them (matched case-insensitively), how
 * many of activation_alpha / activation_beta each consumes, and the defaults. */
static const struct {
    const char *name;
    int n_params;
    double alpha, beta;
} act_table[] = {
    [ACT_RELU] = {"Relu", 0, 0, 0},                          /* max(0, x) */
    [ACT_TANH] = {"Tanh", 0, 0, 0},                          /* tanh(x) */
    [ACT_SIGMOID] = {"Sigmoid", 0, 0, 0},                    /* 1 / (1 + e^-x) */
    [ACT_AFFINE] = {"Affine", 2, 1.0, 0.0},                  /* alpha x + beta */
    [ACT_LEAKY_RELU] = {"LeakyRelu", 1, 0.01, 0},            /* x < 0 ? alpha x : x */
    [ACT_THRESHOLDED_RELU] = {"ThresholdedRelu", 1, 1.0, 0}, /* x > alpha ? x : 0 */
    [ACT_SCALED_TANH] = {"ScaledTanh", 2, 1.0, 1.0},         /* alpha tanh(beta x) */
    [ACT_HARD_SIGMOID] = {"HardSigmoid", 2, 0.2, 0.5},       /* clamp(alpha x + beta, 0, 1) */
    [ACT_ELU] = {"Elu", 1, 1.0, 0},                          /* x < 0 ? alpha (e^x - 1) : x */
    [ACT_SOFTSIGN] = {"Softsign", 0, 0, 0},                  /* x / (1 + |x|) */
    [ACT_SOFTPLUS] = {"Softplus", 0, 0, 0},                  /* log(1 + e^x) */
};
_Static_assert(ST_ARRAY_LEN(act_table) == ACT_COUNT, "act_table must cover every activation");

typedef struct rnn_act {
    rnn_act_fn fn;
    double alpha, beta;
} rnn_act;

/* ---- op description ----------------------------------------------------------------- */
typedef enum { RNN_PLAIN, RNN_GRU, RNN_LSTM } rnn_kind;

/* Per kind: ONNX name, gate count (rows of W per hidden unit), activations per direction
 * and their defaults. */
static const struct {
    const char *name;
    int gates;
    int n_acts;
    rnn_act_fn defaults[3];
} kind_table[] = {
    [RNN_PLAIN] = {"RNN", 1, 1, {ACT_TANH}},                        /* f */
    [RNN_GRU] = {"GRU", 3, 2, {ACT_SIGMOID, ACT_TANH}},             /* f, g; gates z r h */
    [RNN_LSTM] = {"LSTM", 4, 3, {ACT_SIGMOID, ACT_TANH, ACT_TANH}}, /* f, g, h; gates i o f c */
};

/* Scratch regions, in elements of the compute type. */
enum {
    SC_XW,   /* T*B x G*H: input projection + biases for all steps */
    SC_HR,   /* B x G*H: recurrent projection of one step */
    SC_HS,   /* B x H: hidden state */
    SC_CS,   /* B x H: cell state (LSTM) */
    SC_RH,   /* B x H: r (.) H_prev (GRU, linear_before_reset = 0) */
    SC_BIAS, /* G*H: Wb + Rb folded into the projection */
    SC_RBH,  /* H: GRU's Rbh when applied before the reset gate */
    /* float16 only: float32 copies of inputs and outputs */
    SC_X,
    SC_W,
    SC_R,
    SC_B,
    SC_H0,
    SC_C0,
    SC_P,
    SC_Y,
    SC_YH,
    SC_YC,
    SC_COUNT
};

typedef struct rnn_state {
    rnn_kind kind;
    int gates;
    int dirs;
    bool reverse; /* the single direction runs backwards */
    int layout;
    int64_t T, B, I, H;
    bool has_clip;
    double clip;
    bool input_forget;
    bool lbr; /* GRU linear_before_reset */
    rnn_act act[2][3];
    st_dtype dtype;
    size_t csize;         /* bytes per compute element */
    size_t off[SC_COUNT]; /* byte offsets into scratch */
} rnn_state;

/* Pointers of one run, in the compute type. */
typedef struct rnn_bufs {
    const void *x, *w, *r, *b, *h0, *c0, *p; /* b, h0, c0, p may be NULL */
    const int32_t *lens;                     /* NULL: every sequence is T long */
    void *y, *yh, *yc;                       /* NULL when not wanted */
    void *xw, *hr, *hs, *cs, *rh, *bias, *rbh;
} rnn_bufs;

/* One step's row work, split over the batch. */
typedef struct rnn_step {
    const rnn_state *s;
    const rnn_bufs *io;
    int d;          /* direction */
    int64_t step;   /* 0-based step of this direction */
    int phase;      /* GRU without linear_before_reset: 0 = z and r, 1 = candidate */
    const void *rw; /* this direction's R */
} rnn_step;

/* Position of time t of batch b in X's rows and in Y. */
static inline int64_t x_row(const rnn_state *s, int64_t t, int64_t b) {
    return s->layout ? b * s->T + t : t * s->B + b;
}
static inline int64_t y_off(const rnn_state *s, int64_t t, int d, int64_t b) {
    return (s->layout ? (b * s->T + t) * s->dirs + d : (t * s->dirs + d) * s->B + b) * s->H;
}
/* Offset of (d, b) in initial_h / Y_h shaped by layout. */
static inline int64_t state_off(const rnn_state *s, int d, int64_t b) {
    return (s->layout ? b * s->dirs + d : (int64_t)d * s->B + b) * s->H;
}
static inline int64_t seq_len(const rnn_state *s, const rnn_bufs *io, int64_t b) {
    return io->lens ? io->lens[b] : s->T;
}

/* ---- GEMM: C (M x N) = A (M x K) * B^T (B is N x K) + beta C ----------------------- */
#define RNN_GEMM_REF(FT, SFX)                                                               \
    static void gemm_ref_##SFX(int64_t M, int64_t N, int64_t K, const FT *A, int64_t lda,   \
                               const FT *B, int64_t ldb, FT beta, FT *C, int64_t ldc) {     \
        for (int64_t m = 0; m < M; m++) {                                                   \
            const FT *a = A + m * lda;                                                      \
            FT *c = C + m * ldc;                                                            \
            int64_t n = 0;                                                                  \
            for (; n + 4 <= N; n += 4) {                                                    \
                const FT *b0 = B + n * ldb, *b1 = b0 + ldb, *b2 = b1 + ldb, *b3 = b2 + ldb; \
                FT s0 = 0, s1 = 0, s2 = 0, s3 = 0;                                          \
                for (int64_t k = 0; k < K; k++) {                                           \
                    FT av = a[k];                                                           \
                    s0 += av * b0[k];                                                       \
                    s1 += av * b1[k];                                                       \
                    s2 += av * b2[k];                                                       \
                    s3 += av * b3[k];                                                       \
                }                                                                           \
                c[n] = s0 + (beta != 0 ? beta * c[n] : 0);                                  \
                c[n + 1] = s1 + (beta != 0 ? beta * c[n + 1] : 0);                          \
                c[n + 2] = s2 + (beta != 0 ? beta * c[n + 2] : 0);                          \
                c[n + 3] = s3 + (beta != 0 ? beta * c[n + 3] : 0);                          \
            }                                                                               \
            for (; n < N; n++) {                                                            \
                const FT *bn = B + n * ldb;                                                 \
                FT acc = 0;                                                                 \
                for (int64_t k = 0; k < K; k++) acc += a[k] * bn[k];                        \
                c[n] = acc + (beta != 0 ? beta * c[n] : 0);                                 \
            }                                                                               \
        }                                                                                   \
    }
RNN_GEMM_REF(float, f32)
RNN_GEMM_REF(double, f64)

static void gemm_f32(int64_t M, int64_t N, int64_t K, const float *A, int64_t lda, const float *B,
                     int64_t ldb, float beta, float *C, int64_t ldc) {
    if (M <= 0 || N <= 0) return;
    if (K > 0 && dnnl_sgemm('N', 'T', M, N, K, 1.0f, A, lda, B, ldb, beta, C, ldc) == dnnl_success)
        return;
    gemm_ref_f32(M, N, K, A, lda, B, ldb, beta, C, ldc);
}
static void gemm_f64(int64_t M, int64_t N, int64_t K, const double *A, int64_t lda, const double *B,
                     int64_t ldb, double beta, double *C, int64_t ldc) {
    if (M <= 0 || N <= 0) return;
    gemm_ref_f64(M, N, K, A, lda, B, ldb, beta, C, ldc);
}

/* GEMMs split over the session's pool, each piece running oneDNN on one OpenMP thread:
 * the pool already supplies the parallelism, and OpenMP teams on top of it oversubscribe
 * the cores (15x slower on a busy 2-core machine). */
typedef struct gemm_job {
    bool f64, by_rows;
    int64_t M, N, K, lda, ldb, ldc;
    const void *A, *B;
    void *C;
    double beta;
} gemm_job;

static void gemm_piece(void *arg, size_t lo, size_t hi) {
    const gemm_job *j = arg;
    int64_t m0 = 0, m1 = j->M, n0 = 0, n1 = j->N;
    if (j->by_rows) {
        m0 = (int64_t)lo;
        m1 = (int64_t)hi;
    } else {
        n0 = (int64_t)lo;
        n1 = (int64_t)hi;
    }
    if (j->f64) {
        gemm_f64(m1 - m0, n1 - n0, j->K, (const double *)j->A + m0 * j->lda, j->lda,
                 (const double *)j->B + n0 * j->ldb, j->ldb, j->beta,
                 (double *)j->C + m0 * j->ldc + n0, j->ldc);
    } else {
        omp_set_num_threads(1);
        gemm_f32(m1 - m0, n1 - n0, j->K, (const float *)j->A + m0 * j->lda, j->lda,
                 (const float *)j->B + n0 * j->ldb, j->ldb, (float)j->beta,
                 (float *)j->C + m0 * j->ldc + n0, j->ldc);
    }
}

/* C = A B^T + beta C, split by rows of C when there are many, else by columns. */
static void gemm_par(st_pool *pool, bool f64, int64_t M, int64_t N, int64_t K, const void *A,
                     int64_t lda, const void *B, int64_t ldb, double beta, void *C, int64_t ldc) {
    gemm_job j = {f64, true, M, N, K, lda, ldb, ldc, A, B, C, beta};
    if (M <= 0 || N <= 0) return;
    size_t threads = (size_t)ST_MAX(1, st_pool_threads(pool));
    double flops = 2.0 * (double)M * (double)N * (double)K;
    if (threads == 1 || flops < 2e6) {
        gemm_piece(&j, 0, (size_t)M);
        return;
    }
    j.by_rows = M >= (int64_t)(16 * threads);
    size_t n = (size_t)(j.by_rows ? M : N);
    size_t grain = (n + threads - 1) / threads;
    if (!j.by_rows) grain = (grain + 15) & ~(size_t)15; /* whole cache lines of C */
    st_parallel_for(pool, n, grain, gemm_piece, &j);
}

/* ---- sigmoid and tanh over arrays ---------------------------------------------------- */
/* float32: a polynomial e^x (Cody-Waite reduction to |r| <= ln2/2, degree-6 Taylor, 2^n
 * built in the exponent bits; ~1e-7 relative) that the compiler vectorizes, since the
 * gate nonlinearities otherwise dominate an LSTM step. no-trapping-math lets GCC turn the
 * clamps and selects into vector blends. */
#define ST_VEC_MATH __attribute__((optimize("no-trapping-math")))

ST_VEC_MATH static inline float exp_approx_f32(float x) {
    x = x > 88.0f ? 88.0f : x;
    x = x < -87.0f ? -87.0f : x;
    const float magic = 12582912.0f; /* 1.5 * 2^23: adding it rounds to an integer */
    float n = (x * 1.44269504f + magic) - magic;
    float r = x - n * 0.693145752f; /* ln 2 in two parts so n * hi is exact */
    r = r - n * 1.42860677e-06f;
    float p =
        1.0f +
        r * (1.0f +
             r * (0.5f + r * (1.0f / 6 + r * (1.0f / 24 + r * (1.0f / 120 + r * (1.0f / 720))))));
    int32_t bits = ((int32_t)n + 127) << 23;
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return p * scale;
}

ST_VEC_MATH static void vsigmoid_f32(float *x, int64_t n) {
#pragma omp simd
    for (int64_t i = 0; i < n; i++) x[i] = 1.0f / (1.0f + exp_approx_f32(-x[i]));
}

/* tanh: odd Taylor series below 0.25 (where 1 - 2/(e^2a + 1) would cancel), else that. */
ST_VEC_MATH static void vtanh_f32(float *x, int64_t n) {
#pragma omp simd
    for (int64_t i = 0; i < n; i++) {
        float v = x[i], a = fabsf(v), a2 = a * a;
        float odd = -17.0f / 315 + a2 * (62.0f / 2835);
        float small = a * (1.0f + a2 * (-1.0f / 3 + a2 * (2.0f / 15 + a2 * odd)));
        float big = 1.0f - 2.0f / (exp_approx_f32(2.0f * a) + 1.0f);
        x[i] = copysignf(a < 0.25f ? small : big, v);
    }
}

static void vsigmoid_f64(double *x, int64_t n) {
    for (int64_t i = 0; i < n; i++) x[i] = 1 / (1 + exp(-x[i]));
}
static void vtanh_f64(double *x, int64_t n) {
    for (int64_t i = 0; i < n; i++) x[i] = tanh(x[i]);
}

/* ---- the generic kernel ----------------------------------------------------------- */
/* Instantiated for FT = float (f32) and double (f64); EXP/LOG1P are FT's libm. */
#define RNN_KERNEL(FT, SFX, ISF64, EXP, LOG1P)                                                   \
    /* Clip to [-c, c] (c > 0) then apply activation a to x[0..n). */                            \
    static void act_##SFX(const rnn_act *a, FT c, FT *x, int64_t n) {                            \
        if (c > 0) {                                                                             \
            for (int64_t i = 0; i < n; i++) x[i] = x[i] < -c ? -c : (x[i] > c ? c : x[i]);       \
        }                                                                                        \
        FT al = (FT)a->alpha, be = (FT)a->beta;                                                  \
        switch (a->fn) {                                                                         \
        case ACT_RELU:                                                                           \
            for (int64_t i = 0; i < n; i++) x[i] = x[i] > 0 ? x[i] : 0;                          \
            break;                                                                               \
        case ACT_TANH: vtanh_##SFX(x, n); break;                                                 \
        case ACT_SIGMOID: vsigmoid_##SFX(x, n); break;                                           \
        case ACT_AFFINE:                                                                         \
            for (int64_t i = 0; i < n; i++) x[i] = al * x[i] + be;                               \
            break;                                                                               \
        case ACT_LEAKY_RELU:                                                                     \
            for (int64_t i = 0; i < n; i++) x[i] = x[i] < 0 ? al * x[i] : x[i];                  \
            break;                                                                               \
        case ACT_THRESHOLDED_RELU:                                                               \
            for (int64_t i = 0; i < n; i++) x[i] = x[i] > al ? x[i] : 0;                         \
            break;                                                                               \
        case ACT_SCALED_TANH:                                                                    \
            for (int64_t i = 0; i < n; i++) x[i] *= be;                                          \
            vtanh_##SFX(x, n);                                                                   \
            for (int64_t i = 0; i < n; i++) x[i] *= al;                                          \
            break;                                                                               \
        case ACT_HARD_SIGMOID:                                                                   \
            for (int64_t i = 0; i < n; i++) {                                                    \
                FT v = al * x[i] + be;                                                           \
                x[i] = v < 0 ? 0 : (v > 1 ? 1 : v);                                              \
            }                                                                                    \
            break;                                                                               \
        case ACT_ELU:                                                                            \
            for (int64_t i = 0; i < n; i++) x[i] = x[i] < 0 ? al * (EXP(x[i]) - 1) : x[i];       \
            break;                                                                               \
        case ACT_SOFTSIGN:                                                                       \
            for (int64_t i = 0; i < n; i++) x[i] = x[i] / (1 + (x[i] < 0 ? -x[i] : x[i]));       \
            break;                                                                               \
        case ACT_SOFTPLUS:                                                                       \
            for (int64_t i = 0; i < n; i++) x[i] = x[i] > 30 ? x[i] : LOG1P(EXP(x[i]));          \
            break;                                                                               \
        default: break;                                                                          \
        }                                                                                        \
    }                                                                                            \
                                                                                                 \
    /* Gate math for batch rows [b0, b1) of one step. */                                         \
    static void rows_##SFX(void *arg, size_t b0, size_t b1) {                                    \
        const rnn_step *st = arg;                                                                \
        const rnn_state *s = st->s;                                                              \
        const rnn_bufs *io = st->io;                                                             \
        const int d = st->d;                                                                     \
        const int64_t H = s->H, G = s->gates, GH = G * H;                                        \
        const rnn_act *acts = s->act[d];                                                         \
        const FT clip = s->has_clip ? (FT)s->clip : 0;                                           \
        FT *xw = io->xw, *hr = io->hr, *hs = io->hs, *cs = io->cs, *rh = io->rh;                 \
        const FT *p = io->p ? (const FT *)io->p + (int64_t)d * 3 * H : NULL;                     \
        const FT *rbh = io->rbh;                                                                 \
        FT *y = io->y;                                                                           \
        for (size_t bu = b0; bu < b1; bu++) {                                                    \
            int64_t b = (int64_t)bu, len = seq_len(s, io, b);                                    \
            if (st->step >= len) continue;                                                       \
            int64_t t = s->reverse || d == 1 ? len - 1 - st->step : st->step;                    \
            FT *g = xw + x_row(s, t, b) * GH, *r = hr + b * GH, *h = hs + b * H;                 \
            if (s->kind == RNN_LSTM) {                                                           \
                FT *c = cs + b * H, *gi = g, *go = g + H, *gf = g + 2 * H, *gc = g + 3 * H;      \
                for (int64_t j = 0; j < GH; j++) g[j] += r[j];                                   \
                if (p)                                                                           \
                    for (int64_t j = 0; j < H; j++) {                                            \
                        gi[j] += p[j] * c[j];                                                    \
                        gf[j] += p[2 * H + j] * c[j];                                            \
                    }                                                                            \
                act_##SFX(&acts[0], clip, gi, H);                                                \
                if (s->input_forget)                                                             \
                    for (int64_t j = 0; j < H; j++) gf[j] = 1 - gi[j];                           \
                else act_##SFX(&acts[0], clip, gf, H);                                           \
                act_##SFX(&acts[1], clip, gc, H);                                                \
                for (int64_t j = 0; j < H; j++) c[j] = gf[j] * c[j] + gi[j] * gc[j];             \
                if (p)                                                                           \
                    for (int64_t j = 0; j < H; j++) go[j] += p[H + j] * c[j];                    \
                act_##SFX(&acts[0], clip, go, H);                                                \
                FT *hc = r; /* this row's recurrent part is consumed: reuse it for h(C) */       \
                memcpy(hc, c, (size_t)H * sizeof(FT));                                           \
                act_##SFX(&acts[2], 0, hc, H); /* clip bounds gate inputs only */                \
                for (int64_t j = 0; j < H; j++) h[j] = go[j] * hc[j];                            \
            } else if (s->kind == RNN_GRU) {                                                     \
                FT *gz = g, *gr = g + H, *gh = g + 2 * H;                                        \
                if (st->phase == 0) {                                                            \
                    for (int64_t j = 0; j < 2 * H; j++) g[j] += r[j];                            \
                    act_##SFX(&acts[0], clip, gz, 2 * H);                                        \
                    if (!s->lbr) { /* candidate waits for (r (.) H) R_h^FT */                    \
                        for (int64_t j = 0; j < H; j++) rh[b * H + j] = gr[j] * h[j];            \
                        continue;                                                                \
                    }                                                                            \
                    for (int64_t j = 0; j < H; j++) gh[j] += gr[j] * (r[2 * H + j] + rbh[j]);    \
                } else {                                                                         \
                    for (int64_t j = 0; j < H; j++) gh[j] += r[2 * H + j];                       \
                }                                                                                \
                act_##SFX(&acts[1], clip, gh, H);                                                \
                for (int64_t j = 0; j < H; j++) h[j] = (1 - gz[j]) * gh[j] + gz[j] * h[j];       \
            } else {                                                                             \
                for (int64_t j = 0; j < H; j++) g[j] += r[j];                                    \
                act_##SFX(&acts[0], clip, g, H);                                                 \
                memcpy(h, g, (size_t)H * sizeof(FT));                                            \
            }                                                                                    \
            if (y) memcpy(y + y_off(s, t, d, b), h, (size_t)H * sizeof(FT));                     \
        }                                                                                        \
    }                                                                                            \
                                                                                                 \
    /* Recurrent GEMM and gate math of batch rows [b0, b1) for one step. */                      \
    static void step_##SFX(void *arg, size_t b0, size_t b1) {                                    \
        rnn_step st = *(const rnn_step *)arg;                                                    \
        const rnn_state *s = st.s;                                                               \
        const int64_t H = s->H, GH = s->gates * H, nb = (int64_t)(b1 - b0), o = (int64_t)b0;     \
        const bool split = s->kind == RNN_GRU && !s->lbr;                                        \
        const FT *rw = st.rw;                                                                    \
        FT *hs = st.io->hs, *hr = st.io->hr, *rh = st.io->rh;                                    \
        omp_set_num_threads(1);                                                                  \
        gemm_##SFX(nb, split ? 2 * H : GH, H, hs + o * H, H, rw, H, 0, hr + o * GH, GH);         \
        st.phase = 0;                                                                            \
        rows_##SFX(&st, b0, b1);                                                                 \
        if (!split) return;                                                                      \
        gemm_##SFX(nb, H, H, rh + o * H, H, rw + 2 * H * H, H, 0, hr + o * GH + 2 * H, GH);      \
        st.phase = 1;                                                                            \
        rows_##SFX(&st, b0, b1);                                                                 \
    }                                                                                            \
                                                                                                 \
    /* One direction over the whole sequence. */                                                 \
    static void dir_##SFX(const rnn_state *s, const rnn_bufs *io, int d, st_pool *pool) {        \
        const int64_t T_ = s->T, B = s->B, I = s->I, H = s->H, G = s->gates, GH = G * H;         \
        const FT *w = (const FT *)io->w + (int64_t)d * GH * I;                                   \
        const FT *rw = (const FT *)io->r + (int64_t)d * GH * H;                                  \
        FT *xw = io->xw, *hr = io->hr, *hs = io->hs, *cs = io->cs, *bias = io->bias;             \
        FT *rbh = io->rbh, *y = io->y;                                                           \
        /* biases: Wb + Rb, except GRU's Rbh that linear_before_reset applies inside r */        \
        for (int64_t j = 0; j < GH; j++) bias[j] = 0;                                            \
        for (int64_t j = 0; j < H; j++) rbh[j] = 0;                                              \
        if (io->b) {                                                                             \
            const FT *wb = (const FT *)io->b + (int64_t)d * 2 * GH, *rb = wb + GH;               \
            for (int64_t j = 0; j < GH; j++) bias[j] = wb[j] + rb[j];                            \
            if (s->kind == RNN_GRU && s->lbr)                                                    \
                for (int64_t j = 0; j < H; j++) {                                                \
                    bias[2 * H + j] = wb[2 * H + j];                                             \
                    rbh[j] = rb[2 * H + j];                                                      \
                }                                                                                \
        }                                                                                        \
        int64_t rows = T_ * B;                                                                   \
        for (int64_t i = 0; i < rows; i++) memcpy(xw + i * GH, bias, (size_t)GH * sizeof(FT));   \
        gemm_par(pool, ISF64, rows, GH, I, io->x, I, w, I, 1, xw, GH);                           \
        for (int64_t b = 0; b < B; b++) {                                                        \
            if (io->h0)                                                                          \
                memcpy(hs + b * H, (const FT *)io->h0 + state_off(s, d, b),                      \
                       (size_t)H * sizeof(FT));                                                  \
            else                                                                                 \
                for (int64_t j = 0; j < H; j++) hs[b * H + j] = 0;                               \
            if (s->kind != RNN_LSTM) continue;                                                   \
            if (io->c0)                                                                          \
                memcpy(cs + b * H, (const FT *)io->c0 + state_off(s, d, b),                      \
                       (size_t)H * sizeof(FT));                                                  \
            else                                                                                 \
                for (int64_t j = 0; j < H; j++) cs[b * H + j] = 0;                               \
        }                                                                                        \
        /* steps past a sequence's end produce zeros in Y */                                     \
        if (y && io->lens)                                                                       \
            for (int64_t b = 0; b < B; b++)                                                      \
                for (int64_t t = seq_len(s, io, b); t < T_; t++)                                 \
                    memset(y + y_off(s, t, d, b), 0, (size_t)H * sizeof(FT));                    \
        if (s->kind == RNN_GRU && !s->lbr) /* rows past their end still enter the GEMM */        \
            memset(io->rh, 0, (size_t)(B * H) * sizeof(FT));                                     \
        int64_t max_len = 0;                                                                     \
        for (int64_t b = 0; b < B; b++) max_len = ST_MAX(max_len, seq_len(s, io, b));            \
        size_t threads = (size_t)ST_MAX(1, st_pool_threads(pool));                               \
        bool split = s->kind == RNN_GRU && !s->lbr;                                              \
        /* many batch rows: each piece runs the recurrent GEMM and the gate math of its own   \
         * rows, one pool round per step; few rows: the GEMMs split by columns */  \
        bool by_batch = B >= (int64_t)(2 * threads);                                             \
        size_t grain = (size_t)((B + (int64_t)threads - 1) / (int64_t)threads);                  \
        rnn_step st = {s, io, d, 0, 0, rw};                                                      \
        for (int64_t step = 0; step < max_len; step++) {                                         \
            st.step = step;                                                                      \
            if (by_batch) {                                                                      \
                st_parallel_for(pool, (size_t)B, grain, step_##SFX, &st);                        \
                continue;                                                                        \
            }                                                                                    \
            st.phase = 0;                                                                        \
            gemm_par(pool, ISF64, B, split ? 2 * H : GH, H, hs, H, rw, H, 0, hr, GH);            \
            rows_##SFX(&st, 0, (size_t)B);                                                       \
            if (split) {                                                                         \
                gemm_par(pool, ISF64, B, H, H, io->rh, H, rw + 2 * H * H, H, 0, hr + 2 * H, GH); \
                st.phase = 1;                                                                    \
                rows_##SFX(&st, 0, (size_t)B);                                                   \
            }                                                                                    \
        }                                                                                        \
        /* final states; a sequence of length 0 has none and reports zeros */                    \
        for (int64_t b = 0; b < B; b++) {                                                        \
            bool empty = seq_len(s, io, b) == 0;                                                 \
            if (io->yh) {                                                                        \
                FT *o = (FT *)io->yh + state_off(s, d, b);                                       \
                if (empty)                                                                       \
                    for (int64_t j = 0; j < H; j++) o[j] = 0;                                    \
                else memcpy(o, hs + b * H, (size_t)H * sizeof(FT));                              \
            }                                                                                    \
            if (io->yc) {                                                                        \
                FT *o = (FT *)io->yc + state_off(s, d, b);                                       \
                if (empty)                                                                       \
                    for (int64_t j = 0; j < H; j++) o[j] = 0;                                    \
                else memcpy(o, cs + b * H, (size_t)H * sizeof(FT));                              \
            }                                                                                    \
        }                                                                                        \
    }
RNN_KERNEL(float, f32, false, expf, log1pf)
RNN_KERNEL(double, f64, true, exp, log1p)

/* ---- prepare ------------------------------------------------------------------------ */
static st_status parse_acts(st_kctx *k, rnn_state *s, st_error *err) {
    const st_node *n = k->node;
    int na = kind_table[s->kind].n_acts;
    const st_attr *names = st_node_attr(n, "activations");
    const double *alphas = NULL, *betas = NULL;
    size_t n_alpha = st_attr_floats(n, "activation_alpha", &alphas);
    size_t n_beta = st_attr_floats(n, "activation_beta", &betas);
    size_t ia = 0, ib = 0;
    size_t given = names ? names->n : 0;
    if (given && given != (size_t)na && given != (size_t)(na * s->dirs))
        return ST_KERR(err, ST_ERR_INVALID, "%s expects %d activations per direction, got %zu",
                       kind_table[s->kind].name, na, given);
    for (int d = 0; d < s->dirs; d++) {
        for (int i = 0; i < na; i++) {
            rnn_act_fn fn = kind_table[s->kind].defaults[i];
            if (given) {
                /* one set given for two directions: both use it */
                const st_str *nm = &names->strings[given == (size_t)na ? i : d * na + i];
                int f = 0;
                for (; f < ACT_COUNT; f++)
                    if (nm->data && !strcasecmp(nm->data, act_table[f].name)) break;
                if (f == ACT_COUNT)
                    return ST_KERR(err, ST_ERR_UNSUPPORTED, "unsupported activation \"%s\"",
                                   nm->data ? nm->data : "");
                fn = (rnn_act_fn)f;
            }
            rnn_act *a = &s->act[d][i];
            a->fn = fn;
            a->alpha = act_table[fn].alpha;
            a->beta = act_table[fn].beta;
            /* alpha/beta lists are consumed in order by the activations that take them */
            if (act_table[fn].n_params >= 1 && ia < n_alpha) a->alpha = alphas[ia++];
            if (act_table[fn].n_params >= 2 && ib < n_beta) a->beta = betas[ib++];
        }
    }
    return ST_OK;
}

static bool dims_are(const st_tensor *t, int ndim, int64_t d0, int64_t d1, int64_t d2) {
    int64_t want[3] = {d0, d1, d2};
    if (t->ndim != ndim) return false;
    for (int i = 0; i < ndim; i++)
        if (t->dims[i] != want[i]) return false;
    return true;
}

static st_status rnn_run(st_kctx *k, st_error *err);

/* Reserve `n` compute elements for region r (64-byte aligned). */
static bool reserve(rnn_state *s, size_t *total, int r, int64_t n) {
    size_t bytes;
    if (n < 0 || !st_mul_ok((size_t)n, s->csize, &bytes)) return false;
    bytes = (bytes + 63) & ~(size_t)63;
    s->off[r] = *total;
    return st_add_ok(*total, bytes, total);
}

static st_status rnn_prepare(st_kctx *k, rnn_kind kind, st_error *err) {
    const st_node *n = k->node;
    const char *name = kind_table[kind].name;
    rnn_state *s = NULL;
    st_status rc;
    const st_tensor *x = st_in(k, 0), *w = st_in(k, 1), *r = st_in(k, 2);
    const st_tensor *b = st_in(k, 3), *lens = st_in(k, 4), *h0 = st_in(k, 5);
    const st_tensor *c0 = kind == RNN_LSTM ? st_in(k, 6) : NULL;
    const st_tensor *p = kind == RNN_LSTM ? st_in(k, 7) : NULL;
    if (!x || !w || !r) {
        rc = ST_KERR(err, ST_ERR_INVALID, "%s needs tensors X, W and R", name);
        goto fail;
    }
    st_dtype dt = x->dtype;
    if (dt != ST_DTYPE_F32 && dt != ST_DTYPE_F64 && dt != ST_DTYPE_F16) {
        rc = ST_KERR(err, ST_ERR_UNSUPPORTED, "%s does not support %s inputs", name,
                     st_dtype_name(dt));
        goto fail;
    }
    const st_tensor *same[] = {w, r, b, h0, c0, p};
    for (size_t i = 0; i < ST_ARRAY_LEN(same); i++)
        if (same[i] && same[i]->dtype != dt) {
            rc = ST_KERR(err, ST_ERR_INVALID, "%s inputs mix %s and %s", name, st_dtype_name(dt),
                         st_dtype_name(same[i]->dtype));
            goto fail;
        }
    if (!(s = st_calloc(1, sizeof *s))) {
        rc = st_error_nomem(err);
        goto fail;
    }
    s->kind = kind;
    s->gates = kind_table[kind].gates;
    s->dtype = dt;
    s->csize = dt == ST_DTYPE_F64 ? sizeof(double) : sizeof(float);
    s->layout = k->opset >= 14 ? (int)st_attr_int(n, "layout", 0) : 0;
    if (s->layout != 0 && s->layout != 1) {
        rc = ST_KERR(err, ST_ERR_INVALID, "layout must be 0 or 1, got %d", s->layout);
        goto fail;
    }
    const char *dir = st_attr_string(n, "direction", "forward");
    if (!strcmp(dir, "forward")) {
        s->dirs = 1;
    } else if (!strcmp(dir, "reverse")) {
        s->dirs = 1;
        s->reverse = true;
    } else if (!strcmp(dir, "bidirectional")) {
        s->dirs = 2;
    } else {
        rc = ST_KERR(err, ST_ERR_INVALID, "unknown direction \"%s\"", dir);
        goto fail;
    }
    const st_attr *clip = st_node_attr(n, "clip");
    if (clip) {
        s->has_clip = true;
        s->clip = clip->kind == ST_ATTR_INT ? (double)clip->i : clip->f;
        if (!(s->clip > 0)) {
            rc = ST_KERR(err, ST_ERR_INVALID, "clip must be positive, got %g", s->clip);
            goto fail;
        }
    }
    s->input_forget = kind == RNN_LSTM && st_attr_int(n, "input_forget", 0) != 0;
    s->lbr = kind == RNN_GRU && st_attr_int(n, "linear_before_reset", 0) != 0;
    if ((rc = parse_acts(k, s, err))) goto fail;

    if (x->ndim != 3 || w->ndim != 3 || r->ndim != 3) {
        rc = ST_KERR(err, ST_ERR_INVALID, "%s expects X, W and R of rank 3 (got %d, %d, %d)", name,
                     x->ndim, w->ndim, r->ndim);
        goto fail;
    }
    s->T = x->dims[s->layout ? 1 : 0];
    s->B = x->dims[s->layout ? 0 : 1];
    s->I = x->dims[2];
    s->H = r->dims[2];
    int64_t hs = st_attr_int(n, "hidden_size", s->H);
    int64_t G = s->gates, GH;
    if (hs != s->H || !st_mul_i64_ok(G, s->H, &GH) || !dims_are(w, 3, s->dirs, GH, s->I) ||
        !dims_are(r, 3, s->dirs, GH, s->H)) {
        rc = ST_KERR(err, ST_ERR_INVALID,
                     "%s weights do not match: W [%lld,%lld,%lld], R [%lld,%lld,%lld], "
                     "hidden_size %lld, %d direction(s), input size %lld",
                     name, (long long)w->dims[0], (long long)w->dims[1], (long long)w->dims[2],
                     (long long)r->dims[0], (long long)r->dims[1], (long long)r->dims[2],
                     (long long)hs, s->dirs, (long long)s->I);
        goto fail;
    }
    int64_t sd0 = s->layout ? s->B : s->dirs, sd1 = s->layout ? s->dirs : s->B;
    if ((b && !dims_are(b, 2, s->dirs, 2 * GH, 0)) || (lens && !dims_are(lens, 1, s->B, 0, 0)) ||
        (h0 && !dims_are(h0, 3, sd0, sd1, s->H)) || (c0 && !dims_are(c0, 3, sd0, sd1, s->H)) ||
        (p && !dims_are(p, 2, s->dirs, 3 * s->H, 0))) {
        rc = ST_KERR(err, ST_ERR_INVALID,
                     "%s: B, sequence_lens, initial_h, initial_c or P has the wrong shape", name);
        goto fail;
    }
    if (lens && lens->dtype != ST_DTYPE_I32) {
        rc = ST_KERR(err, ST_ERR_INVALID, "sequence_lens must be int32, got %s",
                     st_dtype_name(lens->dtype));
        goto fail;
    }

    /* scratch */
    size_t total = 0;
    int64_t TB, TBGH, BGH, BH, YN, SN;
    bool ok = st_mul_i64_ok(s->T, s->B, &TB) && st_mul_i64_ok(TB, GH, &TBGH) &&
              st_mul_i64_ok(s->B, GH, &BGH) && st_mul_i64_ok(s->B, s->H, &BH) &&
              st_mul_i64_ok(TB * s->dirs, s->H, &YN) && st_mul_i64_ok(BH, s->dirs, &SN);
    ok = ok && reserve(s, &total, SC_XW, TBGH) && reserve(s, &total, SC_HR, BGH) &&
         reserve(s, &total, SC_HS, BH) && reserve(s, &total, SC_CS, BH) &&
         reserve(s, &total, SC_RH, BH) && reserve(s, &total, SC_BIAS, GH) &&
         reserve(s, &total, SC_RBH, s->H);
    if (ok && dt == ST_DTYPE_F16) {
        int64_t xn = (int64_t)st_tensor_nelem(x), wn = (int64_t)st_tensor_nelem(w);
        int64_t rn = (int64_t)st_tensor_nelem(r);
        ok = reserve(s, &total, SC_X, xn) && reserve(s, &total, SC_W, wn) &&
             reserve(s, &total, SC_R, rn) && reserve(s, &total, SC_B, 2 * GH * s->dirs) &&
             reserve(s, &total, SC_H0, SN) && reserve(s, &total, SC_C0, SN) &&
             reserve(s, &total, SC_P, 3 * s->H * s->dirs) && reserve(s, &total, SC_Y, YN) &&
             reserve(s, &total, SC_YH, SN) && reserve(s, &total, SC_YC, SN);
    }
    if (!ok) {
        rc = ST_KERR(err, ST_ERR_LIMIT, "%s is too large (sequence %lld, batch %lld, hidden %lld)",
                     name, (long long)s->T, (long long)s->B, (long long)s->H);
        goto fail;
    }
    k->scratch_bytes = total;

    int64_t ydims[4] = {s->T, s->dirs, s->B, s->H};
    if (s->layout) {
        ydims[0] = s->B;
        ydims[1] = s->T;
        ydims[2] = s->dirs;
    }
    int64_t hdims[3] = {sd0, sd1, s->H};
    int n_out = kind == RNN_LSTM ? 3 : 2;
    for (int i = 0; i < n_out && i < k->n_out; i++) {
        if (k->node->outputs[i] < 0) continue;
        if (i == 0) st_out_declare(k, 0, dt, 4, ydims);
        else st_out_declare(k, i, dt, 3, hdims);
    }
    k->state = s;
    k->run = rnn_run;
    return ST_OK;
fail:
    st_free(s);
    return rc;
}

static st_status prep_rnn(st_kctx *k, st_error *err) { return rnn_prepare(k, RNN_PLAIN, err); }
static st_status prep_gru(st_kctx *k, st_error *err) { return rnn_prepare(k, RNN_GRU, err); }
static st_status prep_lstm(st_kctx *k, st_error *err) { return rnn_prepare(k, RNN_LSTM, err); }

/* ---- run ---------------------------------------------------------------------------- */
/* float16 input i into scratch region r as float32 (NULL stays NULL). */
static const void *f16_in(const st_tensor *t, const rnn_state *s, char *scratch, int r) {
    if (!t) return NULL;
    float *dst = (float *)(scratch + s->off[r]);
    const uint16_t *src = t->data;
    size_t n = st_tensor_nelem(t);
    for (size_t i = 0; i < n; i++) dst[i] = st_f16_to_f32(src[i]);
    return dst;
}
static void f16_out(st_tensor *t, const float *src) {
    if (!t) return;
    uint16_t *dst = t->data;
    size_t n = st_tensor_nelem(t);
    for (size_t i = 0; i < n; i++) dst[i] = st_f32_to_f16(src[i]);
}

static st_status rnn_run(st_kctx *k, st_error *err) {
    const rnn_state *s = k->state;
    char *sc = k->scratch;
    const st_tensor *x = st_in(k, 0), *w = st_in(k, 1), *r = st_in(k, 2);
    const st_tensor *b = st_in(k, 3), *lens = st_in(k, 4), *h0 = st_in(k, 5);
    const st_tensor *c0 = s->kind == RNN_LSTM ? st_in(k, 6) : NULL;
    const st_tensor *p = s->kind == RNN_LSTM ? st_in(k, 7) : NULL;
    if (lens) {
        const int32_t *l = lens->data;
        for (int64_t i = 0; i < s->B; i++)
            if (l[i] < 0 || l[i] > s->T)
                return ST_KERR(err, ST_ERR_INVALID, "sequence_lens[%lld] = %d is outside [0, %lld]",
                               (long long)i, (int)l[i], (long long)s->T);
    }
    int64_t sd0 = s->layout ? s->B : s->dirs, sd1 = s->layout ? s->dirs : s->B;
    int64_t ydims[4] = {s->T, s->dirs, s->B, s->H};
    if (s->layout) {
        ydims[0] = s->B;
        ydims[1] = s->T;
        ydims[2] = s->dirs;
    }
    int64_t hdims[3] = {sd0, sd1, s->H};
    st_tensor *y = NULL, *yh = NULL, *yc = NULL;
    if (st_has_out(k, 0) && !(y = st_out(k, 0, s->dtype, 4, ydims, err))) return err->status;
    if (st_has_out(k, 1) && !(yh = st_out(k, 1, s->dtype, 3, hdims, err))) return err->status;
    if (s->kind == RNN_LSTM && st_has_out(k, 2) && !(yc = st_out(k, 2, s->dtype, 3, hdims, err)))
        return err->status;

    rnn_bufs io = {
        .lens = lens ? lens->data : NULL,
        .xw = sc + s->off[SC_XW],
        .hr = sc + s->off[SC_HR],
        .hs = sc + s->off[SC_HS],
        .cs = sc + s->off[SC_CS],
        .rh = sc + s->off[SC_RH],
        .bias = sc + s->off[SC_BIAS],
        .rbh = sc + s->off[SC_RBH],
    };
    if (s->dtype == ST_DTYPE_F16) {
        io.x = f16_in(x, s, sc, SC_X);
        io.w = f16_in(w, s, sc, SC_W);
        io.r = f16_in(r, s, sc, SC_R);
        io.b = f16_in(b, s, sc, SC_B);
        io.h0 = f16_in(h0, s, sc, SC_H0);
        io.c0 = f16_in(c0, s, sc, SC_C0);
        io.p = f16_in(p, s, sc, SC_P);
        io.y = y ? sc + s->off[SC_Y] : NULL;
        io.yh = yh ? sc + s->off[SC_YH] : NULL;
        io.yc = yc ? sc + s->off[SC_YC] : NULL;
    } else {
        io.x = x->data;
        io.w = w->data;
        io.r = r->data;
        io.b = b ? b->data : NULL;
        io.h0 = h0 ? h0->data : NULL;
        io.c0 = c0 ? c0->data : NULL;
        io.p = p ? p->data : NULL;
        io.y = y ? y->data : NULL;
        io.yh = yh ? yh->data : NULL;
        io.yc = yc ? yc->data : NULL;
    }
    for (int d = 0; d < s->dirs; d++) {
        if (s->dtype == ST_DTYPE_F64) dir_f64(s, &io, d, k->pool);
        else dir_f32(s, &io, d, k->pool);
    }
    if (s->dtype == ST_DTYPE_F16) {
        f16_out(y, io.y);
        f16_out(yh, io.yh);
        f16_out(yc, io.yc);
    }
    return ST_OK;
}

/* Rows: ONNX versions. The kernels read `layout` only from opset 14, and every version's
 * other attributes have the same meaning (GRU-1's missing linear_before_reset defaults to 0). */
static const st_op_def family_rows[] = {
    /* Elman RNN: H = f(X W^T + H R^T + b); also 7 (drops output_sequence), 14 (adds layout) */
    ST_OP("", "RNN", 1, prep_rnn),
    /* gated recurrent unit, gates z r h; also 3 (adds linear_before_reset), 7 (drops
     * output_sequence), 14 (adds layout) */
    ST_OP("", "GRU", 1, prep_gru),
    /* long short-term memory, gates i o f c, peepholes i o f; also 7 (drops output_sequence), 14
     * (adds layout) */
    ST_OP("", "LSTM", 1, prep_lstm),
};
const st_op_family st_ops_rnn = {"rnn", family_rows, ST_ARRAY_LEN(family_rows)};
