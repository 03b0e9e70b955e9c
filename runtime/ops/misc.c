/* runtime/ops/misc.c: the misc family's table (signal processing, strings, random numbers,
 * training ops), the random-number kernels, and the dtype <-> double converters the
 * family's files share. The other kernels live in misc_signal.c, misc_text.c and
 * misc_train.c. Kernels follow runtime/ops/op.h: no global mutable state, no printing.
 *
 * Random numbers: every random op draws from xoshiro256** streams. A node's 64-bit key
 * comes from its `seed` attribute (splitmix64 of the seed's IEEE-754 double bits) or,
 * without one, from the clock mixed with the kernel's address when it is prepared. Run r
 * of a kernel uses key' = mix(key, r); the output is cut into blocks of RAND_BLOCK
 * elements and block b draws from its own stream seeded by splitmix64(key' ^ mix(b)), so a
 * seeded node gives the same values on every machine and thread count: the first run after
 * prepare always yields the same tensor, later runs continue the sequence. numpy's
 * generator is not reproduced, so outputs differ from numpy's for the same seed. */
#include <math.h>
#include <string.h>

#include "misc_impl.h"

/* ---- shared converters ------------------------------------------------------------ */
/* Per-dtype load and store through double, generated once per type (X-macro below). */
#define CV_LD_NUM(x) ((double)(x))
#define CV_LD_F16(x) ((double)st_f16_to_f32(x))
#define CV_LD_BF16(x) ((double)st_bf16_to_f32(x))
#define CV_ST_NUM(T, v) ((T)(v))
#define CV_ST_BOOL(T, v) ((T)((v) != 0))
#define CV_ST_F16(T, v) st_f32_to_f16((float)(v))
#define CV_ST_BF16(T, v) st_f32_to_bf16((float)(v))

/*  dtype            C type    load        store     */
#define MISC_NUM_TYPES(X)                                                              \
    X(ST_DTYPE_F32, float, CV_LD_NUM, CV_ST_NUM)       /* float32 */                   \
    X(ST_DTYPE_F64, double, CV_LD_NUM, CV_ST_NUM)      /* float64 */                   \
    X(ST_DTYPE_F16, uint16_t, CV_LD_F16, CV_ST_F16)    /* IEEE half, stored as bits */ \
    X(ST_DTYPE_BF16, uint16_t, CV_LD_BF16, CV_ST_BF16) /* bfloat16, stored as bits */  \
    X(ST_DTYPE_I8, int8_t, CV_LD_NUM, CV_ST_NUM)                                       \
    X(ST_DTYPE_I16, int16_t, CV_LD_NUM, CV_ST_NUM)                                     \
    X(ST_DTYPE_I32, int32_t, CV_LD_NUM, CV_ST_NUM)                                     \
    X(ST_DTYPE_I64, int64_t, CV_LD_NUM, CV_ST_NUM)                                     \
    X(ST_DTYPE_U8, uint8_t, CV_LD_NUM, CV_ST_NUM)                                      \
    X(ST_DTYPE_U16, uint16_t, CV_LD_NUM, CV_ST_NUM)                                    \
    X(ST_DTYPE_U32, uint32_t, CV_LD_NUM, CV_ST_NUM)                                    \
    X(ST_DTYPE_U64, uint64_t, CV_LD_NUM, CV_ST_NUM)                                    \
    X(ST_DTYPE_BOOL, uint8_t, CV_LD_NUM, CV_ST_BOOL) /* 0/1 bytes */

/* Load n elements of a numeric tensor's data (element offset off, stride sstride) into
 * dst (stride dstride) as doubles. Used by misc_signal.c too. */
void st_misc_load_f64(st_dtype dt, const void *src, size_t off, size_t sstride, size_t n,
                      double *dst, size_t dstride) {
    switch (dt) {
#define X(e, T, LD, ST)                                                       \
    case e: {                                                                 \
        const T *s = (const T *)src + off;                                    \
        for (size_t i = 0; i < n; i++) dst[i * dstride] = LD(s[i * sstride]); \
        break;                                                                \
    }
        MISC_NUM_TYPES(X)
#undef X
    default:
        for (size_t i = 0; i < n; i++) dst[i * dstride] = 0;
        break;
    }
}

/* Store n doubles (stride sstride) into a numeric tensor's data at element offset off,
 * stride dstride, converting to its dtype. */
void st_misc_store_f64(st_dtype dt, void *dst, size_t off, size_t dstride, size_t n,
                       const double *src, size_t sstride) {
    switch (dt) {
#define X(e, T, LD, ST)                                                          \
    case e: {                                                                    \
        T *d = (T *)dst + off;                                                   \
        for (size_t i = 0; i < n; i++) d[i * dstride] = ST(T, src[i * sstride]); \
        break;                                                                   \
    }
        MISC_NUM_TYPES(X)
#undef X
    default: break;
    }
}

/* True for the dtypes the converters handle. */
bool st_misc_numeric(st_dtype dt) {
    switch (dt) {
#define X(e, T, LD, ST) \
    case e: return true;
        MISC_NUM_TYPES(X)
#undef X
    default: return false;
    }
}

/* ---- random streams --------------------------------------------------------------- */
#define RAND_BLOCK 4096 /* elements per independent stream; fixed so output ignores threads */

typedef struct rng {
    uint64_t s[4];
} rng;

static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint64_t mix64(uint64_t a, uint64_t b) {
    uint64_t x = a ^ (b * 0xd1b54a32d192ed03ULL);
    return splitmix64(&x);
}

static void rng_seed(rng *r, uint64_t key) {
    uint64_t x = key;
    for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&x);
}

static inline uint64_t rotl64(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static inline uint64_t rng_next(rng *r) { /* xoshiro256** */
    uint64_t *s = r->s;
    uint64_t out = rotl64(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl64(s[3], 45);
    return out;
}

/* Uniform double in [0, 1) with 53 random bits. */
static inline double rng_unit(rng *r) { return (double)(rng_next(r) >> 11) * 0x1.0p-53; }

typedef enum {
    RK_UNIFORM,     /* low + (high - low) * u */
    RK_NORMAL,      /* mean + scale * z, Box-Muller */
    RK_BERNOULLI,   /* u < p[i] */
    RK_MULTINOMIAL, /* categorical draws from softmax(row) */
} rand_kind;

typedef struct rand_state {
    rand_kind kind;
    st_dtype out_dtype;
    int ndim; /* output shape */
    int64_t dims[ST_MAX_RANK];
    size_t n;            /* output elements */
    double a, b;         /* low/high or mean/scale */
    uint64_t key;        /* the node's stream key */
    uint64_t runs;       /* runs since prepare */
    int64_t sample_size; /* Multinomial */
} rand_state;

static uint64_t rand_key(st_kctx *k) {
    const st_attr *a = st_node_attr(k->node, "seed");
    uint64_t bits;
    if (a && a->kind == ST_ATTR_FLOAT) {
        double s = a->f;
        memcpy(&bits, &s, sizeof bits);
        return mix64(bits, 0x5eedULL);
    }
    /* No seed: fresh entropy per kernel (no process-wide counter to keep). */
    return mix64(st_now_ns(), (uint64_t)(uintptr_t)k ^ ((uint64_t)(uintptr_t)k->node << 17));
}

typedef struct rand_job {
    const rand_state *st;
    uint64_t key;       /* this run's key */
    const st_tensor *p; /* Bernoulli probabilities */
    void *out;
    size_t n;
    int bad; /* Bernoulli: a probability outside [0, 1] was seen */
} rand_job;

static void rand_blocks(void *arg, size_t b0, size_t b1) {
    rand_job *j = arg;
    const rand_state *st = j->st;
    double buf[256], pb[256];
    for (size_t b = b0; b < b1; b++) {
        rng r;
        rng_seed(&r, mix64(j->key, b + 1));
        size_t beg = b * RAND_BLOCK, end = ST_MIN(j->n, beg + RAND_BLOCK);
        for (size_t i = beg; i < end; i += ST_ARRAY_LEN(buf)) {
            size_t m = ST_MIN(ST_ARRAY_LEN(buf), end - i);
            switch (st->kind) {
            case RK_UNIFORM:
                for (size_t t = 0; t < m; t++) buf[t] = st->a + (st->b - st->a) * rng_unit(&r);
                break;
            case RK_NORMAL:
                for (size_t t = 0; t < m; t += 2) {
                    double u1 = 1.0 - rng_unit(&r), u2 = rng_unit(&r); /* u1 in (0, 1] */
                    double rad = sqrt(-2.0 * log(u1)), th = 2.0 * M_PI * u2;
                    buf[t] = st->a + st->b * rad * cos(th);
                    if (t + 1 < m) buf[t + 1] = st->a + st->b * rad * sin(th);
                }
                break;
            case RK_BERNOULLI:
                st_misc_load_f64(j->p->dtype, j->p->data, i, 1, m, pb, 1);
                for (size_t t = 0; t < m; t++) {
                    if (!(pb[t] >= 0 && pb[t] <= 1)) __atomic_store_n(&j->bad, 1, __ATOMIC_RELAXED);
                    buf[t] = rng_unit(&r) < pb[t] ? 1.0 : 0.0;
                }
                break;
            case RK_MULTINOMIAL: break;
            }
            st_misc_store_f64(st->out_dtype, j->out, i, 1, m, buf, 1);
        }
    }
}

static st_status run_random(st_kctx *k, st_error *err) {
    rand_state *st = k->state;
    const st_tensor *x = st_in(k, 0);
    int ndim = st->ndim;
    const int64_t *dims = st->dims;
    size_t n = st->n;
    if (st->kind != RK_UNIFORM && st->kind != RK_NORMAL) { /* the *Like ops and Bernoulli */
        ndim = x->ndim;
        dims = x->dims;
        n = st_tensor_nelem(x);
    }
    st_tensor *y = st_out(k, 0, st->out_dtype, ndim, dims, err);
    if (!y) return st_has_out(k, 0) ? err->status : ST_OK;
    rand_job j = {st, mix64(st->key, ++st->runs), x, y->data, n, 0};
    st_parallel_for(k->pool, (n + RAND_BLOCK - 1) / RAND_BLOCK, 1, rand_blocks, &j);
    if (j.bad) return ST_KERR(err, ST_ERR_INVALID, "Bernoulli: a probability is outside [0, 1]");
    return ST_OK;
}

/* Multinomial: input [batch, classes] of unnormalized log-probabilities; each row's
 * sample_size draws come from the stream of that row. */
static st_status run_multinomial(st_kctx *k, st_error *err) {
    rand_state *st = k->state;
    const st_tensor *x = st_in(k, 0);
    int64_t B = x->dims[0], C = x->dims[1], dims[2] = {B, st->sample_size};
    st_tensor *y = st_out(k, 0, st->out_dtype, 2, dims, err);
    if (!y) return st_has_out(k, 0) ? err->status : ST_OK;
    double *cdf = k->scratch;
    uint64_t key = mix64(st->key, ++st->runs);
    for (int64_t b = 0; b < B; b++) {
        st_misc_load_f64(x->dtype, x->data, (size_t)(b * C), 1, (size_t)C, cdf, 1);
        double mx = -INFINITY, tot = 0;
        for (int64_t c = 0; c < C; c++)
            if (cdf[c] > mx) mx = cdf[c];
        for (int64_t c = 0; c < C; c++) {
            tot += cdf[c] == -INFINITY ? 0.0 : exp(cdf[c] - mx);
            cdf[c] = tot;
        }
        if (!(tot > 0) || !isfinite(tot))
            return ST_KERR(err, ST_ERR_INVALID,
                           "Multinomial: row %lld has no finite positive probability",
                           (long long)b);
        rng r;
        rng_seed(&r, mix64(key, (uint64_t)b + 1));
        for (int64_t s = 0; s < st->sample_size; s++) {
            double u = rng_unit(&r) * tot;
            int64_t lo = 0, hi = C - 1; /* first c with cdf[c] > u */
            while (lo < hi) {
                int64_t mid = lo + (hi - lo) / 2;
                if (cdf[mid] > u) hi = mid;
                else lo = mid + 1;
            }
            size_t o = (size_t)(b * st->sample_size + s);
            if (st->out_dtype == ST_DTYPE_I32) ((int32_t *)y->data)[o] = (int32_t)lo;
            else ((int64_t *)y->data)[o] = lo;
        }
    }
    return ST_OK;
}

static bool is_float_dtype(int64_t t) {
    return t == ST_DTYPE_F16 || t == ST_DTYPE_F32 || t == ST_DTYPE_F64 || t == ST_DTYPE_BF16;
}

static st_status prep_random(st_kctx *k, st_error *err) {
    const st_node *nd = k->node;
    const char *op = nd->op_type;
    rand_state *st = st_calloc(1, sizeof *st);
    if (!st) return st_error_nomem(err);
    st_status s = ST_OK;
    bool like = !strcmp(op, "RandomUniformLike") || !strcmp(op, "RandomNormalLike");
    bool normal = !strcmp(op, "RandomNormal") || !strcmp(op, "RandomNormalLike");
    const st_tensor *x = st_in(k, 0);
    st->kind = normal ? RK_NORMAL : RK_UNIFORM;
    st->a = normal ? st_attr_float(nd, "mean", 0.0) : st_attr_float(nd, "low", 0.0);
    st->b = normal ? st_attr_float(nd, "scale", 1.0) : st_attr_float(nd, "high", 1.0);
    st->key = rand_key(k);
    if (like) {
        if (!x) {
            s = ST_KERR(err, ST_ERR_INVALID, "%s needs an input tensor", op);
            goto fail;
        }
        int64_t dt = st_attr_int(nd, "dtype", x->dtype);
        if (!is_float_dtype(dt)) {
            s = ST_KERR(err, ST_ERR_INVALID,
                        "%s: output type %lld is not float16, float, double or bfloat16%s", op,
                        (long long)dt, st_node_attr(nd, "dtype") ? "" : " (set dtype)");
            goto fail;
        }
        st->out_dtype = (st_dtype)dt;
        st->ndim = x->ndim;
        memcpy(st->dims, x->dims, sizeof st->dims);
    } else {
        int64_t dt = st_attr_int(nd, "dtype", ST_DTYPE_F32);
        if (!is_float_dtype(dt)) {
            s = ST_KERR(err, ST_ERR_INVALID,
                        "%s: dtype %lld is not float16, float, double or bfloat16", op,
                        (long long)dt);
            goto fail;
        }
        st->out_dtype = (st_dtype)dt;
        const int64_t *shape;
        const st_attr *sa = st_node_attr(nd, "shape");
        size_t r = st_attr_ints(nd, "shape", &shape);
        if (!sa) {
            s = ST_KERR(err, ST_ERR_INVALID, "%s: the shape attribute is required", op);
            goto fail;
        }
        if (r > ST_MAX_RANK) {
            s = ST_KERR(err, ST_ERR_LIMIT, "%s: rank %zu exceeds %d", op, r, ST_MAX_RANK);
            goto fail;
        }
        st->ndim = (int)r;
        if (r) memcpy(st->dims, shape, r * sizeof *shape);
    }
    if ((s = st_shape_nelem(st->ndim, st->dims, &st->n, err))) goto fail;
    if (st->kind == RK_UNIFORM && !(st->b >= st->a)) {
        s = ST_KERR(err, ST_ERR_INVALID, "%s: high (%g) is below low (%g)", op, st->b, st->a);
        goto fail;
    }
    st_out_declare(k, 0, st->out_dtype, st->ndim, st->dims);
    k->state = st;
    k->run = run_random;
    return ST_OK;
fail:
    st_free(st);
    return s;
}

static st_status prep_bernoulli(st_kctx *k, st_error *err) {
    const st_tensor *x = st_in(k, 0);
    if (!x || !is_float_dtype(x->dtype) || x->dtype == ST_DTYPE_BF16)
        return ST_KERR(err, ST_ERR_INVALID,
                       "Bernoulli: input must be a float16, float or double tensor");
    int64_t dt = st_attr_int(k->node, "dtype", x->dtype);
    if (!st_dtype_valid((int)dt) || !st_misc_numeric((st_dtype)dt))
        return ST_KERR(err, ST_ERR_INVALID, "Bernoulli: unsupported output dtype %lld",
                       (long long)dt);
    rand_state *st = st_calloc(1, sizeof *st);
    if (!st) return st_error_nomem(err);
    st->kind = RK_BERNOULLI;
    st->out_dtype = (st_dtype)dt;
    st->key = rand_key(k);
    st_out_declare(k, 0, st->out_dtype, x->ndim, x->dims);
    k->state = st;
    k->run = run_random;
    return ST_OK;
}

static st_status prep_multinomial(st_kctx *k, st_error *err) {
    const st_tensor *x = st_in(k, 0);
    if (!x || !is_float_dtype(x->dtype) || x->dtype == ST_DTYPE_BF16)
        return ST_KERR(err, ST_ERR_INVALID,
                       "Multinomial: input must be a float16, float or double tensor");
    if (x->ndim != 2)
        return ST_KERR(err, ST_ERR_INVALID,
                       "Multinomial: input must be [batch_size, class_size], got rank %d", x->ndim);
    int64_t dt = st_attr_int(k->node, "dtype", ST_DTYPE_I32);
    int64_t ss = st_attr_int(k->node, "sample_size", 1);
    if (dt != ST_DTYPE_I32 && dt != ST_DTYPE_I64)
        return ST_KERR(err, ST_ERR_INVALID, "Multinomial: dtype %lld is not int32 or int64",
                       (long long)dt);
    if (ss < 1)
        return ST_KERR(err, ST_ERR_INVALID, "Multinomial: sample_size %lld must be positive",
                       (long long)ss);
    if (x->dims[1] < 1 && x->dims[0] > 0)
        return ST_KERR(err, ST_ERR_INVALID, "Multinomial: class_size is 0");
    int64_t dims[2] = {x->dims[0], ss};
    size_t n;
    st_status s = st_shape_nelem(2, dims, &n, err);
    if (s) return s;
    rand_state *st = st_calloc(1, sizeof *st);
    if (!st) return st_error_nomem(err);
    st->kind = RK_MULTINOMIAL;
    st->out_dtype = (st_dtype)dt;
    st->sample_size = ss;
    st->key = rand_key(k);
    st_out_declare(k, 0, st->out_dtype, 2, dims);
    k->scratch_bytes = (size_t)ST_MAX(x->dims[1], 1) * sizeof(double);
    k->state = st;
    k->run = run_multinomial;
    return ST_OK;
}

#define TRAINING "ai.onnx.preview.training"
#define ML "ai.onnx.ml"

static const st_op_def family_rows[] = {
    /* domain    op_type              since  prepare                    meaning */
    ST_OP("", "DFT", 17, st_misc_prep_dft),                             /* FFT along one axis */
    ST_OP("", "STFT", 17, st_misc_prep_stft),                           /* framed, windowed DFT */
    ST_OP("", "HannWindow", 17, st_misc_prep_window),                   /* 0.5 - 0.5 cos */
    ST_OP("", "HammingWindow", 17, st_misc_prep_window),                /* 25/46 - 21/46 cos */
    ST_OP("", "BlackmanWindow", 17, st_misc_prep_window),               /* three-term cosine */
    ST_OP("", "MelWeightMatrix", 17, st_misc_prep_melweight),           /* triangular mel filters */
    ST_OP("", "StringNormalizer", 10, st_misc_prep_strnorm),            /* stopwords and case */
    ST_OP("", "TfIdfVectorizer", 9, st_misc_prep_tfidf),                /* n-gram counts/weights */
    ST_OP("", "StringConcat", 20, st_misc_prep_strconcat),              /* X + Y, broadcast */
    ST_OP("", "StringSplit", 20, st_misc_prep_strsplit),                /* Python's str.split */
    ST_OP("", "RegexFullMatch", 20, st_misc_prep_regex),                /* RE2 syntax, PCRE2 */
    ST_OP("", "ImageDecoder", 20, st_misc_prep_image),                  /* JPEG/PNG/... to HWC */
    ST_OP("", "RandomUniform", 1, prep_random, .flags = ST_OPF_IMPURE), /* uniform, shape attr */
    ST_OP("", "RandomNormal", 1, prep_random, .flags = ST_OPF_IMPURE),  /* normal, shape attr */
    /* uniform, input's shape */
    ST_OP("", "RandomUniformLike", 1, prep_random, .flags = ST_OPF_IMPURE),
    /* normal, input's shape */
    ST_OP("", "RandomNormalLike", 1, prep_random, .flags = ST_OPF_IMPURE),
    ST_OP("", "Multinomial", 7, prep_multinomial, .flags = ST_OPF_IMPURE), /* categorical samples */
    ST_OP("", "Bernoulli", 15, prep_bernoulli, .flags = ST_OPF_IMPURE),    /* 0/1 draws with p */
    ST_OP(TRAINING, "Adagrad", 1, st_misc_prep_optimizer),                 /* Adagrad step */
    ST_OP(TRAINING, "Adam", 1, st_misc_prep_optimizer),                    /* Adam step */
    /* d y / d xs through the graph's Add/Sub/Mul/Div/Neg/Identity/Relu nodes */
    ST_OP(TRAINING, "Gradient", 1, st_misc_prep_gradient),
    ST_OP(TRAINING, "Momentum", 1, st_misc_prep_optimizer), /* SGD momentum/Nesterov */
    /* ai.onnx.ml: key -> value with a default; x > threshold; X[..., indices]; the unified
     * tree ensemble (LEQ/LT/GTE/GT/EQ/NEQ/MEMBER nodes, 4 aggregates, 5 post transforms) */
    ST_OP(ML, "LabelEncoder", 4, st_misc_prep_label_encoder),
    ST_OP(ML, "Binarizer", 1, st_misc_prep_binarizer),
    ST_OP(ML, "ArrayFeatureExtractor", 1, st_misc_prep_afe),
    ST_OP(ML, "TreeEnsemble", 5, st_misc_prep_tree_ensemble),
};
const st_op_family st_ops_misc = {"misc", family_rows, ST_ARRAY_LEN(family_rows)};
