/* runtime/ops/reduce_impl.h: private to the reduce family (reduce.c, reduce_*.c): the
 * prepare functions the family table in reduce.c names and the helpers its files share.
 * Nothing outside runtime/ops/reduce*.c includes it. */
#ifndef ST_REDUCE_IMPL_H
#define ST_REDUCE_IMPL_H

#include "op.h"

/* ---- prepare functions (one per op; the table is in reduce.c) ------------------------ */
st_status st_reduce_prep_softmax(st_kctx *k, st_error *err);    /* reduce_softmax.c */
st_status st_reduce_prep_logsoftmax(st_kctx *k, st_error *err); /* reduce_softmax.c */
st_status st_reduce_prep_hardmax(st_kctx *k, st_error *err);    /* reduce_softmax.c */
st_status st_reduce_prep_cumsum(st_kctx *k, st_error *err);     /* reduce_scan.c */
st_status st_reduce_prep_topk(st_kctx *k, st_error *err);       /* reduce_scan.c */
st_status st_reduce_prep_nllloss(st_kctx *k, st_error *err);    /* reduce_loss.c */
st_status st_reduce_prep_sce(st_kctx *k, st_error *err);        /* reduce_loss.c */
st_status st_reduce_prep_det(st_kctx *k, st_error *err);        /* reduce_det.c */

/* sum exp(x[i] - shift) over n floats, vectorized (reduce_softmax.c; for ReduceLogSumExp). */
double st_reduce_sumexp_f32(const float *x, size_t n, float shift);

#endif
