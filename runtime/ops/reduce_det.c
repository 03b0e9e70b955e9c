/* runtime/ops/reduce_det.c: Det, the determinant of each square matrix in [..., M, M], by
 * LU decomposition with partial pivoting in double. Each worker factors in its own slice
 * of scratch, so run never allocates. */
#include <math.h>
#include <string.h>

#include "reduce_impl.h"

/* Determinant of the M x M matrix a (row-major, destroyed). */
static double det_lu(double *a, size_t M) {
    double det = 1;
    for (size_t c = 0; c < M; c++) {
        size_t p = c;
        double best = fabs(a[c * M + c]);
        for (size_t r = c + 1; r < M; r++)
            if (fabs(a[r * M + c]) > best) best = fabs(a[r * M + c]), p = r;
        if (best == 0) return 0 * det; /* singular (keeps a NaN already in det) */
        if (p != c) {
            for (size_t j = 0; j < M; j++) {
                double t = a[c * M + j];
                a[c * M + j] = a[p * M + j];
                a[p * M + j] = t;
            }
            det = -det;
        }
        double piv = a[c * M + c];
        det *= piv;
        for (size_t r = c + 1; r < M; r++) {
            double f = a[r * M + c] / piv;
            if (f == 0) continue;
            for (size_t j = c + 1; j < M; j++) a[r * M + j] -= f * a[c * M + j];
        }
    }
    return det;
}

#define LD_SAME(v) (v)
#define ST_SAME(v) (v)
#define ST_F16(v) st_f32_to_f16((float)(v))

/* Matrices [b0, b1) of x into y, with a (M*M doubles) as the work matrix. */
typedef void (*det_fn)(const void *x, void *y, size_t b0, size_t b1, size_t M, double *a);

#define DEF_DET(TN, T, LD, ST)                                                                  \
    static void det_##TN(const void *xv, void *yv, size_t b0, size_t b1, size_t M, double *a) { \
        const T *x = xv;                                                                        \
        T *y = yv;                                                                              \
        for (size_t b = b0; b < b1; b++) {                                                      \
            const T *m = x + b * M * M;                                                         \
            for (size_t i = 0; i < M * M; i++) a[i] = (double)LD(m[i]);                         \
            y[b] = (T)ST(det_lu(a, M));                                                         \
        }                                                                                       \
    }
DEF_DET(f32, float, LD_SAME, ST_SAME)
DEF_DET(f64, double, LD_SAME, ST_SAME)
DEF_DET(f16, uint16_t, st_f16_to_f32, ST_F16)

static const det_fn det_table[ST_DTYPE_COUNT] = {
    [ST_DTYPE_F32] = det_f32,
    [ST_DTYPE_F64] = det_f64,
    [ST_DTYPE_F16] = det_f16,
};

typedef struct det_state {
    det_fn fn;
    size_t parts; /* work matrices in scratch */
} det_state;

typedef struct det_job {
    det_fn fn;
    const void *x;
    void *y;
    double *scratch;
    size_t M, batch, per;
} det_job;

static void det_task(void *arg, size_t b, size_t e) {
    const det_job *j = arg;
    for (size_t p = b; p < e; p++) {
        size_t b0 = p * j->per, b1 = b0 + j->per < j->batch ? b0 + j->per : j->batch;
        j->fn(j->x, j->y, b0, b1, j->M, j->scratch + p * j->M * j->M);
    }
}

static st_status run_det(st_kctx *k, st_error *err) {
    const det_state *s = k->state;
    const st_tensor *x = st_in(k, 0);
    st_tensor *y = st_out(k, 0, x->dtype, x->ndim - 2, x->dims, err);
    if (!y) return st_has_out(k, 0) ? err->status : ST_OK;
    det_job j = {.fn = s->fn,
                 .x = x->data,
                 .y = y->data,
                 .scratch = k->scratch,
                 .M = (size_t)x->dims[x->ndim - 1],
                 .batch = st_tensor_nelem(y)};
    if (!j.batch) return ST_OK;
    size_t parts = s->parts < j.batch ? s->parts : j.batch;
    j.per = (j.batch + parts - 1) / parts;
    parts = (j.batch + j.per - 1) / j.per;
    st_parallel_for(k->pool, parts, 1, det_task, &j);
    return ST_OK;
}

st_status st_reduce_prep_det(st_kctx *k, st_error *err) {
    const st_tensor *x = st_in(k, 0);
    if (!x) return st_errorf(err, ST_ERR_INVALID, "input X is missing");
    if (!det_table[x->dtype])
        return st_errorf(err, ST_ERR_UNSUPPORTED, "%s input is not supported",
                         st_dtype_name(x->dtype));
    if (x->ndim < 2 || x->dims[x->ndim - 1] != x->dims[x->ndim - 2])
        return st_errorf(err, ST_ERR_INVALID, "X must be [..., M, M]: got %d dims", x->ndim);
    size_t M = (size_t)x->dims[x->ndim - 1], mm;
    det_state *s = st_calloc(1, sizeof *s);
    if (!s) return st_error_nomem(err);
    s->fn = det_table[x->dtype];
    s->parts = (size_t)st_pool_threads(k->pool);
    if (!st_mul_ok(M, M, &mm) || !st_mul_ok(mm, s->parts * sizeof(double), &k->scratch_bytes)) {
        st_free(s);
        return st_errorf(err, ST_ERR_LIMIT, "matrices of %zu x %zu are too large", M, M);
    }
    st_out_declare(k, 0, x->dtype, x->ndim - 2, x->dims);
    k->state = s;
    k->run = run_det;
    return ST_OK;
}
