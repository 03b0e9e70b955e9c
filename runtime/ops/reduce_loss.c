/* runtime/ops/reduce_loss.c: NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss over
 * [N, C, d1..dk] inputs (class axis 1), with optional class weights, ignore_index and
 * none/sum/mean reduction. Sums run in double; a label out of range is a run-time error. */
#include <math.h>
#include <string.h>

#include "reduce_impl.h"

typedef enum {
    LOSS_NONE, /* one loss per (n, d...) */
    LOSS_SUM,  /* their sum */
    LOSS_MEAN, /* their sum over the sum of the weights that applied */
} loss_reduction;

typedef struct loss_args {
    const void *x, *weight; /* weight may be NULL */
    const void *labels;
    bool labels_i64;
    size_t N, C, D;
    bool has_ii, softmax;
    int64_t ii;
    loss_reduction red;
    void *y, *logp; /* logp may be NULL */
} loss_args;

static inline int64_t loss_label(const loss_args *a, size_t i) {
    return a->labels_i64 ? ((const int64_t *)a->labels)[i] : ((const int32_t *)a->labels)[i];
}

#define LD_SAME(v) (v)
#define ST_SAME(v) (v)
#define ST_F16(v) st_f32_to_f16((float)(v))
#define ST_BF16(v) st_f32_to_bf16((float)(v))

typedef st_status (*loss_fn)(const loss_args *a, st_error *err);

#define DEF_LOSS(TN, T, LD, ST)                                                            \
    static st_status loss_##TN(const loss_args *a, st_error *err) {                        \
        const T *x = a->x, *wt = a->weight;                                                \
        T *y = a->y, *lp = a->logp;                                                        \
        size_t C = a->C, D = a->D;                                                         \
        double sum = 0, wsum = 0;                                                          \
        for (size_t n = 0; n < a->N; n++)                                                  \
            for (size_t d = 0; d < D; d++) {                                               \
                const T *xp = x + n * C * D + d;                                           \
                double lse = 0, l = 0, w = 0;                                              \
                if (a->softmax) {                                                          \
                    double m = -INFINITY, s = 0;                                           \
                    for (size_t c = 0; c < C; c++) {                                       \
                        double v = (double)LD(xp[c * D]);                                  \
                        if (v > m || isnan(v)) m = v;                                      \
                    }                                                                      \
                    for (size_t c = 0; c < C; c++) s += exp((double)LD(xp[c * D]) - m);    \
                    lse = m + log(s);                                                      \
                    if (lp)                                                                \
                        for (size_t c = 0; c < C; c++)                                     \
                            lp[n * C * D + c * D + d] = ST((double)LD(xp[c * D]) - lse);   \
                }                                                                          \
                int64_t t = loss_label(a, n * D + d);                                      \
                if (!(a->has_ii && t == a->ii)) {                                          \
                    if (t < 0 || (uint64_t)t >= C)                                         \
                        return st_errorf(err, ST_ERR_INVALID,                              \
                                         "label %lld at position %zu is outside [0, %zu)", \
                                         (long long)t, n * D + d, C);                      \
                    w = wt ? (double)LD(wt[t]) : 1.0;                                      \
                    l = -((double)LD(xp[(size_t)t * D]) - lse) * w;                        \
                }                                                                          \
                if (a->red == LOSS_NONE) y[n * D + d] = ST(l);                             \
                sum += l;                                                                  \
                wsum += w;                                                                 \
            }                                                                              \
        if (a->red == LOSS_SUM) y[0] = ST(sum);                                            \
        if (a->red == LOSS_MEAN) y[0] = ST(sum / wsum);                                    \
        return ST_OK;                                                                      \
    }

DEF_LOSS(f32, float, LD_SAME, ST_SAME)
DEF_LOSS(f64, double, LD_SAME, ST_SAME)
DEF_LOSS(f16, uint16_t, st_f16_to_f32, ST_F16)
DEF_LOSS(bf16, uint16_t, st_bf16_to_f32, ST_BF16)

static const loss_fn loss_table[ST_DTYPE_COUNT] = {
    [ST_DTYPE_F32] = loss_f32,
    [ST_DTYPE_F64] = loss_f64,
    [ST_DTYPE_F16] = loss_f16,
    [ST_DTYPE_BF16] = loss_bf16,
};

typedef struct loss_state {
    bool softmax;
    bool has_ii;
    int64_t ii;
    loss_reduction red;
    loss_fn fn;
} loss_state;

static void loss_out_shape(const st_tensor *labels, loss_reduction red, int *nd, int64_t *dims) {
    *nd = red == LOSS_NONE ? labels->ndim : 0;
    if (*nd) memcpy(dims, labels->dims, (size_t)*nd * sizeof *dims);
}

static st_status run_loss(st_kctx *k, st_error *err) {
    const loss_state *s = k->state;
    const st_tensor *x = st_in(k, 0), *lab = st_in(k, 1), *w = st_in(k, 2);
    int nd;
    int64_t dims[ST_MAX_RANK];
    loss_out_shape(lab, s->red, &nd, dims);
    st_tensor *y = st_out(k, 0, x->dtype, nd, dims, err);
    if (!y && st_has_out(k, 0)) return err->status;
    st_tensor *lp = s->softmax ? st_out(k, 1, x->dtype, x->ndim, x->dims, err) : NULL;
    if (!lp && s->softmax && st_has_out(k, 1)) return err->status;
    if (!y && !lp) return ST_OK;
    /* an unused loss output still needs somewhere to go: the log_prob pass runs alone */
    double sink[1];
    loss_args a = {
        .x = x->data,
        .weight = w ? w->data : NULL,
        .labels = lab->data,
        .labels_i64 = lab->dtype == ST_DTYPE_I64,
        .N = (size_t)x->dims[0],
        .C = (size_t)x->dims[1],
        .D = 1,
        .has_ii = s->has_ii,
        .softmax = s->softmax,
        .ii = s->ii,
        .red = y ? s->red : LOSS_SUM,
        .y = y ? y->data : (void *)sink,
        .logp = lp ? lp->data : NULL,
    };
    for (int d = 2; d < x->ndim; d++) a.D *= (size_t)x->dims[d];
    return s->fn(&a, err);
}

static st_status prep_loss(st_kctx *k, bool softmax, st_error *err) {
    const st_tensor *x = st_in(k, 0), *lab = st_in(k, 1), *w = st_in(k, 2);
    if (!x || !lab) return st_errorf(err, ST_ERR_INVALID, "scores and labels are required");
    if (!loss_table[x->dtype] || (!softmax && x->dtype == ST_DTYPE_BF16))
        return st_errorf(err, ST_ERR_UNSUPPORTED, "%s input is not supported",
                         st_dtype_name(x->dtype));
    if (lab->dtype != ST_DTYPE_I32 && lab->dtype != ST_DTYPE_I64)
        return st_errorf(err, ST_ERR_UNSUPPORTED, "labels must be int32 or int64, got %s",
                         st_dtype_name(lab->dtype));
    if (x->ndim < 2 || lab->ndim != x->ndim - 1)
        return st_errorf(err, ST_ERR_INVALID,
                         "input has %d dims and labels %d: expected [N, C, "
                         "d1..dk] and [N, d1..dk]",
                         x->ndim, lab->ndim);
    for (int d = 0; d < lab->ndim; d++)
        if (lab->dims[d] != x->dims[d ? d + 1 : 0])
            return st_errorf(err, ST_ERR_INVALID, "labels dimension %d is %lld, expected %lld", d,
                             (long long)lab->dims[d], (long long)x->dims[d ? d + 1 : 0]);
    if (w && (w->dtype != x->dtype || w->ndim != 1 || w->dims[0] != x->dims[1]))
        return st_errorf(err, ST_ERR_INVALID, "weight must be a 1-D %s tensor of %lld classes",
                         st_dtype_name(x->dtype), (long long)x->dims[1]);
    const char *r = st_attr_string(k->node, "reduction", "mean");
    loss_reduction red;
    if (!strcmp(r, "none")) red = LOSS_NONE;
    else if (!strcmp(r, "sum")) red = LOSS_SUM;
    else if (!strcmp(r, "mean")) red = LOSS_MEAN;
    else return st_errorf(err, ST_ERR_INVALID, "unknown reduction \"%s\"", r);
    loss_state *s = st_calloc(1, sizeof *s);
    if (!s) return st_error_nomem(err);
    s->softmax = softmax;
    s->red = red;
    s->fn = loss_table[x->dtype];
    const st_attr *ii = st_node_attr(k->node, "ignore_index");
    s->has_ii = ii != NULL;
    s->ii = ii ? ii->i : 0;
    int nd;
    int64_t dims[ST_MAX_RANK];
    loss_out_shape(lab, red, &nd, dims);
    st_out_declare(k, 0, x->dtype, nd, dims);
    if (softmax) st_out_declare(k, 1, x->dtype, x->ndim, x->dims);
    k->state = s;
    k->run = run_loss;
    return ST_OK;
}

st_status st_reduce_prep_nllloss(st_kctx *k, st_error *err) { return prep_loss(k, false, err); }
st_status st_reduce_prep_sce(st_kctx *k, st_error *err) { return prep_loss(k, true, err); }
