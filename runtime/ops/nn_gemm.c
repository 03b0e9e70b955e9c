/* runtime/ops/nn_gemm.c: Gemm, MatMul (numpy batching and 1-D operands), MatMulInteger and
 * QLinearMatMul. float32 (and half types, widened to float32) run on oneDNN's sgemm; the
 * other types run the reference kernels here, generated per type. */
#include <math.h>
#include <string.h>

#include "nn_impl.h"

/* Gemm-capable element types: (dtype, C type, accumulator). */
#define GEMM_TYPES(X)                                                                   \
    X(f32, ST_DTYPE_F32, float, float)                                                  \
    X(f64, ST_DTYPE_F64, double, double) X(i32, ST_DTYPE_I32, int32_t, int64_t)         \
        X(i64, ST_DTYPE_I64, int64_t, int64_t) X(u32, ST_DTYPE_U32, uint32_t, uint64_t) \
            X(u64, ST_DTYPE_U64, uint64_t, uint64_t)

/* ---- reference gemm --------------------------------------------------------------------- */

/* C[i,j] = alpha * sum_k op(A)[i,k] op(B)[k,j] + beta * C[i,j]; beta == 0 ignores C. Integer
 * types apply alpha / beta exactly when they are 1 (or beta 0). */
#define GEMM_REF(name, E, T, ACC)                                                                \
    static void gemm_ref_##name(bool ta, bool tb, int64_t m, int64_t n, int64_t kk, float alpha, \
                                const T *a, int64_t lda, const T *b, int64_t ldb, float beta,    \
                                T *c, int64_t ldc) {                                             \
        for (int64_t i = 0; i < m; i++)                                                          \
            for (int64_t j = 0; j < n; j++) {                                                    \
                ACC acc = 0;                                                                     \
                for (int64_t p = 0; p < kk; p++)                                                 \
                    acc += (ACC)(ta ? a[p * lda + i] : a[i * lda + p]) *                         \
                           (ACC)(tb ? b[j * ldb + p] : b[p * ldb + j]);                          \
                ACC v = alpha == 1.0f ? acc : (ACC)((double)alpha * (double)acc);                \
                if (beta != 0.0f) {                                                              \
                    ACC cv = (ACC)c[i * ldc + j];                                                \
                    v += beta == 1.0f ? cv : (ACC)((double)beta * (double)cv);                   \
                }                                                                                \
                c[i * ldc + j] = (T)v;                                                           \
            }                                                                                    \
    }
GEMM_TYPES(GEMM_REF)

void st_nn_gemm_ref_f32(bool ta, bool tb, int64_t m, int64_t n, int64_t kk, float alpha,
                        const float *a, int64_t lda, const float *b, int64_t ldb, float beta,
                        float *c, int64_t ldc) {
    gemm_ref_f32(ta, tb, m, n, kk, alpha, a, lda, b, ldb, beta, c, ldc);
}

/* One batched product: rows [r0, r1) of batch * M, each through the reference kernel. */
typedef struct mm_job {
    st_dtype dt;
    bool ta, tb;
    int64_t m, n, kk, lda, ldb;
    float alpha, beta;
    const void *a, *b;
    void *c;
    const int64_t *aoff, *boff; /* per-batch element offsets, or NULL for 0 */
    size_t esz;
} mm_job;

static void mm_body(void *arg, size_t r0, size_t r1) {
    const mm_job *j = arg;
    while (r0 < r1) {
        size_t bi = r0 / (size_t)j->m, i = r0 % (size_t)j->m;
        size_t cnt = ST_MIN(r1 - r0, (size_t)j->m - i);
        int64_t ao = j->aoff ? j->aoff[bi] : 0, bo = j->boff ? j->boff[bi] : 0;
        int64_t arow = j->ta ? (int64_t)i : (int64_t)i * j->lda;
        const char *a = (const char *)j->a + (size_t)(ao + arow) * j->esz;
        const char *b = (const char *)j->b + (size_t)bo * j->esz;
        char *c = (char *)j->c + (r0 * (size_t)j->n) * j->esz;
        switch (j->dt) {
#define GEMM_CASE_(name, E, T, ACC)                                                              \
    case E:                                                                                      \
        gemm_ref_##name(j->ta, j->tb, (int64_t)cnt, j->n, j->kk, j->alpha, (const T *)a, j->lda, \
                        (const T *)b, j->ldb, j->beta, (T *)c, j->n);                            \
        break;
            GEMM_TYPES(GEMM_CASE_)
#undef GEMM_CASE_
        default: break;
        }
        r0 += cnt;
    }
}

/* ---- Gemm ------------------------------------------------------------------------------- */

typedef struct gemm_state {
    st_dtype dt;
    bool ta, tb;
    int64_t m, n, kk;
    float alpha, beta;
    bool has_c;
    int64_t cstr[2]; /* C's broadcast strides into [M, N] */
    size_t na, nb;
} gemm_state;

static st_status run_gemm(st_kctx *k, st_error *err) {
    gemm_state *st = k->state;
    const st_tensor *a = st_in(k, 0), *b = st_in(k, 1), *cin = st_in(k, 2);
    int64_t yd[2] = {st->m, st->n};
    st_tensor *y = st_out(k, 0, st->dt, 2, yd, err);
    if (!y) return err->status;
    size_t ny = (size_t)st->m * (size_t)st->n;
    if (!ny) return ST_OK;
    bool half = st_nn_is_half(st->dt);
    bool use_c = st->has_c && st->beta != 0.0f;
    int64_t lda = st->ta ? st->m : st->kk, ldb = st->tb ? st->kk : st->n;
    if (st->dt == ST_DTYPE_F32 || half) {
        const float *fa = a->data, *fb = b->data;
        float *fy = y->data;
        if (half) {
            float *s = k->scratch;
            st_nn_to_f32(st->dt, a->data, s, st->na);
            st_nn_to_f32(st->dt, b->data, s + st->na, st->nb);
            fa = s, fb = s + st->na, fy = s + st->na + st->nb;
        }
        if (use_c) {
            float cv[1];
            for (int64_t i = 0; i < st->m; i++)
                for (int64_t j = 0; j < st->n; j++) {
                    size_t ci = (size_t)(i * st->cstr[0] + j * st->cstr[1]);
                    if (half) st_nn_to_f32(st->dt, (const uint16_t *)cin->data + ci, cv, 1);
                    else cv[0] = ((const float *)cin->data)[ci];
                    fy[i * st->n + j] = cv[0];
                }
        }
        st_nn_omp_threads(k->threads);
        st_status s = st_nn_gemm_fast_f32(st->ta, st->tb, st->m, st->n, st->kk, st->alpha, fa, lda,
                                          fb, ldb, use_c ? st->beta : 0.0f, fy, st->n, err);
        if (s) return s;
        if (half) st_nn_from_f32(st->dt, fy, y->data, ny);
        return ST_OK;
    }
    size_t esz = st_dtype_size(st->dt);
    if (use_c) {
        for (int64_t i = 0; i < st->m; i++)
            for (int64_t j = 0; j < st->n; j++)
                memcpy((char *)y->data + (size_t)(i * st->n + j) * esz,
                       (const char *)cin->data + (size_t)(i * st->cstr[0] + j * st->cstr[1]) * esz,
                       esz);
    }
    mm_job job = {.dt = st->dt,
                  .ta = st->ta,
                  .tb = st->tb,
                  .m = st->m,
                  .n = st->n,
                  .kk = st->kk,
                  .lda = lda,
                  .ldb = ldb,
                  .alpha = st->alpha,
                  .beta = use_c ? st->beta : 0.0f,
                  .a = a->data,
                  .b = b->data,
                  .c = y->data,
                  .esz = esz};
    size_t per_row = (size_t)st->n * (size_t)(st->kk ? st->kk : 1);
    st_parallel_for(k->pool, (size_t)st->m, ST_MAX((size_t)1, 65536 / per_row), mm_body, &job);
    return ST_OK;
}

st_status st_nn_prep_gemm(st_kctx *k, st_error *err) {
    st_status s;
    gemm_state *st = st_calloc(1, sizeof *st);
    if (!st) return st_error_nomem(err);
    if ((s = ST_NN_CHECK_DTYPE(k, 0, err, ST_DTYPE_F32, ST_DTYPE_F64, ST_DTYPE_F16, ST_DTYPE_BF16,
                               ST_DTYPE_I32, ST_DTYPE_I64, ST_DTYPE_U32, ST_DTYPE_U64)))
        goto fail;
    const st_tensor *a = st_in(k, 0), *b = st_in(k, 1), *c = st_in(k, 2);
    st->dt = a->dtype;
    if (!b || b->dtype != st->dt || (c && c->dtype != st->dt)) {
        s = st_errorf(err, ST_ERR_INVALID, "A, B and C must share one type");
        goto fail;
    }
    if (a->ndim != 2 || b->ndim != 2) {
        s = st_errorf(err, ST_ERR_INVALID, "A and B must be matrices (ranks %d, %d)", a->ndim,
                      b->ndim);
        goto fail;
    }
    st->ta = st_attr_int(k->node, "transA", 0) != 0;
    st->tb = st_attr_int(k->node, "transB", 0) != 0;
    st->alpha = (float)st_attr_float(k->node, "alpha", 1.0);
    st->beta = (float)st_attr_float(k->node, "beta", 1.0);
    st->m = a->dims[st->ta ? 1 : 0];
    st->kk = a->dims[st->ta ? 0 : 1];
    int64_t kb = b->dims[st->tb ? 1 : 0];
    st->n = b->dims[st->tb ? 0 : 1];
    if (kb != st->kk) {
        s = st_errorf(err, ST_ERR_INVALID, "inner dimensions differ: A gives %lld, B gives %lld",
                      (long long)st->kk, (long long)kb);
        goto fail;
    }
    if (c) {
        if (c->ndim > 2) {
            s = st_errorf(err, ST_ERR_INVALID, "C has rank %d, at most 2 allowed", c->ndim);
            goto fail;
        }
        int64_t yd[2] = {st->m, st->n};
        for (int d = 0; d < c->ndim; d++) {
            int64_t cd = c->dims[c->ndim - 1 - d], want = yd[1 - d];
            if (cd != want && cd != 1) {
                s = st_errorf(err, ST_ERR_INVALID, "C cannot broadcast to [%lld, %lld]",
                              (long long)st->m, (long long)st->n);
                goto fail;
            }
        }
        st_broadcast_strides(c, 2, yd, st->cstr);
        st->has_c = true;
    }
    size_t ny;
    int64_t yd[2] = {st->m, st->n};
    if ((s = st_shape_nelem(2, a->dims, &st->na, err)) ||
        (s = st_shape_nelem(2, b->dims, &st->nb, err)) || (s = st_shape_nelem(2, yd, &ny, err)))
        goto fail;
    if (st_nn_is_half(st->dt)) {
        size_t n = st->na, bytes;
        if (!st_add_ok(n, st->nb, &n) || !st_add_ok(n, ny, &n) ||
            !st_mul_ok(n, sizeof(float), &bytes)) {
            s = st_errorf(err, ST_ERR_LIMIT, "Gemm too large");
            goto fail;
        }
        k->scratch_bytes = bytes;
    }
    st_out_declare(k, 0, st->dt, 2, yd);
    k->state = st;
    k->run = run_gemm;
    return ST_OK;
fail:
    st_free(st);
    return s;
}

/* ---- MatMul family ---------------------------------------------------------------------- */

typedef enum { MM_PLAIN = 0, MM_INTEGER, MM_QLINEAR } mm_kind;

typedef struct mm_state {
    mm_kind kind;
    st_dtype dt, ydt;
    int64_t m, n, kk;
    size_t batch; /* product of broadcast batch dims */
    bool fold;    /* B shared by all batches and A contiguous: one [batch*M, K] gemm */
    int yndim;
    int64_t ydims[ST_MAX_RANK];
    int64_t *aoff, *boff; /* per-batch offsets (batch entries each) */
    size_t na, nb, ny;
} mm_state;

static void mm_state_free(void *p) {
    mm_state *st = p;
    if (!st) return;
    st_free(st->aoff);
    st_free(st->boff);
    st_free(st);
}

/* io indices: A, B and for the quantized forms the zero points / scales. */
typedef struct mm_io {
    int a, b, azp, bzp, as, bs, ys, yzp;
} mm_io;
static const mm_io io_plain = {0, 1, -1, -1, -1, -1, -1, -1};
static const mm_io io_integer = {0, 1, 2, 3, -1, -1, -1, -1};
static const mm_io io_qlinear = {0, 3, 2, 5, 1, 4, 6, 7};

static const mm_io *mm_io_of(mm_kind kind) {
    return kind == MM_QLINEAR ? &io_qlinear : kind == MM_INTEGER ? &io_integer : &io_plain;
}

/* Shapes per numpy matmul: 1-D A is [1, K] and 1-D B is [K, 1], with those dims dropped
 * from the result; batch dims broadcast. */
static st_status mm_shapes(mm_state *st, const st_tensor *a, const st_tensor *b, st_error *err) {
    if (a->ndim < 1 || b->ndim < 1)
        return st_errorf(err, ST_ERR_INVALID, "MatMul operands must have rank >= 1");
    int64_t am = a->ndim == 1 ? 1 : a->dims[a->ndim - 2];
    int64_t ak = a->dims[a->ndim - 1];
    int64_t bk = b->ndim == 1 ? b->dims[0] : b->dims[b->ndim - 2];
    int64_t bn = b->ndim == 1 ? 1 : b->dims[b->ndim - 1];
    if (ak != bk)
        return st_errorf(err, ST_ERR_INVALID, "inner dimensions differ: %lld and %lld",
                         (long long)ak, (long long)bk);
    st->m = am, st->kk = ak, st->n = bn;
    int abr = a->ndim > 2 ? a->ndim - 2 : 0, bbr = b->ndim > 2 ? b->ndim - 2 : 0;
    int br = ST_MAX(abr, bbr);
    int64_t bd[ST_MAX_RANK] = {0};
    for (int d = 0; d < br; d++) {
        int64_t x = d - (br - abr) >= 0 ? a->dims[d - (br - abr)] : 1;
        int64_t y = d - (br - bbr) >= 0 ? b->dims[d - (br - bbr)] : 1;
        if (x != y && x != 1 && y != 1)
            return st_errorf(err, ST_ERR_INVALID,
                             "batch dimension %d cannot broadcast: %lld and %lld", d, (long long)x,
                             (long long)y);
        bd[d] = x == 1 ? y : x;
    }
    st_status s = st_shape_nelem(br, bd, &st->batch, err);
    if (s) return s;
    st->yndim = 0;
    for (int d = 0; d < br; d++) st->ydims[st->yndim++] = bd[d];
    if (a->ndim > 1) st->ydims[st->yndim++] = st->m;
    if (b->ndim > 1) st->ydims[st->yndim++] = st->n;
    if ((s = st_shape_nelem(st->yndim, st->ydims, &st->ny, err)) ||
        (s = st_shape_nelem(a->ndim, a->dims, &st->na, err)) ||
        (s = st_shape_nelem(b->ndim, b->dims, &st->nb, err)))
        return s;
    /* per-batch offsets through broadcast strides */
    st->fold = bbr == 0 && st->batch > 1;
    if (st->batch > 1 && !st->fold) {
        st->aoff = st_calloc(st->batch, sizeof(int64_t));
        st->boff = st_calloc(st->batch, sizeof(int64_t));
        if (!st->aoff || !st->boff) return st_error_nomem(err);
        int64_t as[ST_MAX_RANK], bs[ST_MAX_RANK], idx[ST_MAX_RANK] = {0};
        st_tensor ta = {.ndim = abr}, tb = {.ndim = bbr};
        memcpy(ta.dims, a->dims, (size_t)abr * sizeof(int64_t));
        memcpy(tb.dims, b->dims, (size_t)bbr * sizeof(int64_t));
        st_broadcast_strides(&ta, br, bd, as);
        st_broadcast_strides(&tb, br, bd, bs);
        int64_t amat = st->m * st->kk, bmat = st->kk * st->n;
        for (size_t i = 0; i < st->batch; i++) {
            int64_t ao = 0, bo = 0;
            for (int d = 0; d < br; d++) ao += idx[d] * as[d], bo += idx[d] * bs[d];
            st->aoff[i] = ao * amat;
            st->boff[i] = bo * bmat;
            for (int d = br - 1; d >= 0; d--) {
                if (++idx[d] < bd[d]) break;
                idx[d] = 0;
            }
        }
    }
    return ST_OK;
}

/* Run the batched product of typed buffers a, b into c (all of dtype dt). */
static st_status mm_product(st_kctx *k, mm_state *st, st_dtype dt, const void *a, const void *b,
                            void *c, st_error *err) {
    int64_t m = st->m, batch = (int64_t)st->batch;
    if (st->fold) m *= batch, batch = 1;
    if (dt == ST_DTYPE_F32) {
        st_nn_omp_threads(k->threads);
        for (int64_t bi = 0; bi < batch; bi++) {
            int64_t ao = st->aoff ? st->aoff[bi] : 0, bo = st->boff ? st->boff[bi] : 0;
            st_status s = st_nn_gemm_fast_f32(false, false, m, st->n, st->kk, 1.0f,
                                              (const float *)a + ao, st->kk, (const float *)b + bo,
                                              st->n, 0.0f, (float *)c + bi * m * st->n, st->n, err);
            if (s) return s;
        }
        return ST_OK;
    }
    mm_job job = {.dt = dt,
                  .m = m,
                  .n = st->n,
                  .kk = st->kk,
                  .lda = st->kk,
                  .ldb = st->n,
                  .alpha = 1.0f,
                  .beta = 0.0f,
                  .a = a,
                  .b = b,
                  .c = c,
                  .aoff = st->fold ? NULL : st->aoff,
                  .boff = st->fold ? NULL : st->boff,
                  .esz = st_dtype_size(dt)};
    size_t per_row = (size_t)st->n * (size_t)(st->kk ? st->kk : 1);
    st_parallel_for(k->pool, (size_t)(m * batch), ST_MAX((size_t)1, 65536 / per_row), mm_body,
                    &job);
    return ST_OK;
}

static st_status run_matmul(st_kctx *k, st_error *err) {
    mm_state *st = k->state;
    const st_tensor *a = st_in(k, 0), *b = st_in(k, 1);
    st_tensor *y = st_out(k, 0, st->ydt, st->yndim, st->ydims, err);
    if (!y) return err->status;
    if (!st->ny) return ST_OK;
    if (st_nn_is_half(st->dt)) {
        float *fa = k->scratch, *fb = fa + st->na, *fy = fb + st->nb;
        st_nn_to_f32(st->dt, a->data, fa, st->na);
        st_nn_to_f32(st->dt, b->data, fb, st->nb);
        st_status s = mm_product(k, st, ST_DTYPE_F32, fa, fb, fy, err);
        if (s) return s;
        st_nn_from_f32(st->dt, fy, y->data, st->ny);
        return ST_OK;
    }
    return mm_product(k, st, st->dt, a->data, b->data, y->data, err);
}

/* Zero point / scale lookup: scalar, or one value per row (A) / column (B). */
static double q_at(const st_tensor *t, size_t i) {
    if (!t) return 0;
    size_t n = st_tensor_nelem(t);
    return st_tensor_get_f64(t, n == 1 ? 0 : i % n);
}

static st_status run_matmul_q(st_kctx *k, st_error *err) {
    mm_state *st = k->state;
    const mm_io *io = mm_io_of(st->kind);
    const st_tensor *a = st_in(k, io->a), *b = st_in(k, io->b);
    const st_tensor *azp = st_in(k, io->azp), *bzp = st_in(k, io->bzp);
    st_tensor *y = st_out(k, 0, st->ydt, st->yndim, st->ydims, err);
    if (!y) return err->status;
    if (!st->ny) return ST_OK;
    int32_t *ia = k->scratch, *ib = ia + st->na, *acc = ib + st->nb;
    size_t m = (size_t)st->m, n = (size_t)st->n, kk = (size_t)st->kk;
    for (size_t i = 0; i < st->na; i++) /* row of A element i is (i / K) mod M */
        ia[i] = (int32_t)st_tensor_get_i64(a, i) - (int32_t)q_at(azp, kk ? (i / kk) % m : 0);
    for (size_t i = 0; i < st->nb; i++) /* column of B element i is i mod N */
        ib[i] = (int32_t)st_tensor_get_i64(b, i) - (int32_t)q_at(bzp, i % n);
    void *out = st->kind == MM_INTEGER ? y->data : acc;
    st_status s = mm_product(k, st, ST_DTYPE_I32, ia, ib, out, err);
    if (s || st->kind == MM_INTEGER) return s;
    const st_tensor *as = st_in(k, io->as), *bs = st_in(k, io->bs), *ys = st_in(k, io->ys);
    const st_tensor *yzp = st_in(k, io->yzp);
    double yz = q_at(yzp, 0), ysv = q_at(ys, 0);
    int64_t lo = st->ydt == ST_DTYPE_U8 ? 0 : -128, hi = st->ydt == ST_DTYPE_U8 ? 255 : 127;
    for (size_t i = 0; i < st->ny; i++) {
        size_t row = (i / n) % m, col = i % n;
        float mult = (float)(q_at(as, row) * q_at(bs, col) / ysv);
        int64_t q = st_nn_sat_round((double)((float)acc[i] * mult) + yz, lo, hi);
        if (st->ydt == ST_DTYPE_U8) ((uint8_t *)y->data)[i] = (uint8_t)q;
        else ((int8_t *)y->data)[i] = (int8_t)q;
    }
    return ST_OK;
}

static st_status prep_mm(st_kctx *k, mm_kind kind, st_error *err) {
    st_status s;
    const mm_io *io = mm_io_of(kind);
    mm_state *st = st_calloc(1, sizeof *st);
    if (!st) return st_error_nomem(err);
    st->kind = kind;
    if (kind == MM_PLAIN) {
        if ((s = ST_NN_CHECK_DTYPE(k, 0, err, ST_DTYPE_F32, ST_DTYPE_F64, ST_DTYPE_F16,
                                   ST_DTYPE_BF16, ST_DTYPE_I32, ST_DTYPE_I64, ST_DTYPE_U32,
                                   ST_DTYPE_U64)))
            goto fail;
        st->dt = st->ydt = st_in(k, 0)->dtype;
        if (!st_in(k, 1) || st_in(k, 1)->dtype != st->dt) {
            s = st_errorf(err, ST_ERR_INVALID, "A and B must share one type");
            goto fail;
        }
    } else {
        if ((s = ST_NN_CHECK_DTYPE(k, io->a, err, ST_DTYPE_U8, ST_DTYPE_I8)) ||
            (s = ST_NN_CHECK_DTYPE(k, io->b, err, ST_DTYPE_U8, ST_DTYPE_I8)))
            goto fail;
        st->dt = ST_DTYPE_I32;
        st->ydt = ST_DTYPE_I32;
        if (kind == MM_QLINEAR) {
            if (!st_in(k, io->as) || !st_in(k, io->bs) || !st_in(k, io->ys) || !st_in(k, io->azp) ||
                !st_in(k, io->bzp)) {
                s = st_errorf(err, ST_ERR_INVALID,
                              "QLinearMatMul needs all scales and zero points");
                goto fail;
            }
            if ((s = ST_NN_CHECK_DTYPE(k, io->yzp, err, ST_DTYPE_U8, ST_DTYPE_I8))) goto fail;
            st->ydt = st_in(k, io->yzp)->dtype;
        }
    }
    if ((s = mm_shapes(st, st_in(k, io->a), st_in(k, io->b), err))) goto fail;
    size_t words = 0, bytes;
    bool ok = true;
    if (st_nn_is_half(st->dt) || kind != MM_PLAIN) {
        ok = st_add_ok(st->na, st->nb, &words) &&
             st_add_ok(words, (st_nn_is_half(st->dt) || kind == MM_QLINEAR) ? st->ny : 0, &words);
    }
    if (!ok || !st_mul_ok(words, 4, &bytes)) {
        s = st_errorf(err, ST_ERR_LIMIT, "MatMul too large");
        goto fail;
    }
    k->scratch_bytes = bytes;
    st_out_declare(k, 0, st->ydt, st->yndim, st->ydims);
    k->state = st;
    k->state_free = mm_state_free;
    k->run = kind == MM_PLAIN ? run_matmul : run_matmul_q;
    return ST_OK;
fail:
    mm_state_free(st);
    return s;
}

st_status st_nn_prep_matmul(st_kctx *k, st_error *err) { return prep_mm(k, MM_PLAIN, err); }
st_status st_nn_prep_matmul_integer(st_kctx *k, st_error *err) {
    return prep_mm(k, MM_INTEGER, err);
}
st_status st_nn_prep_qlinear_matmul(st_kctx *k, st_error *err) {
    return prep_mm(k, MM_QLINEAR, err);
}
