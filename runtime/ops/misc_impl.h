/* runtime/ops/misc_impl.h: private to the misc family (misc.c, misc_*.c): the prepare
 * functions the family table in misc.c names. Nothing outside runtime/ops/misc*.c
 * includes it. */
#ifndef ST_MISC_IMPL_H
#define ST_MISC_IMPL_H

#include "op.h"

/* ---- prepare functions (the table is in misc.c) -------------------------------------- */
st_status st_misc_prep_dft(st_kctx *k, st_error *err);       /* misc_signal.c */
st_status st_misc_prep_stft(st_kctx *k, st_error *err);      /* misc_signal.c */
st_status st_misc_prep_window(st_kctx *k, st_error *err);    /* misc_signal.c: 3 windows */
st_status st_misc_prep_melweight(st_kctx *k, st_error *err); /* misc_signal.c */
st_status st_misc_prep_strnorm(st_kctx *k, st_error *err);   /* misc_text.c */
st_status st_misc_prep_tfidf(st_kctx *k, st_error *err);     /* misc_text.c */
st_status st_misc_prep_strconcat(st_kctx *k, st_error *err); /* misc_text.c */
st_status st_misc_prep_strsplit(st_kctx *k, st_error *err);  /* misc_text.c */
st_status st_misc_prep_regex(st_kctx *k, st_error *err);     /* misc_text.c */
st_status st_misc_prep_optimizer(st_kctx *k, st_error *err); /* misc_train.c: 3 optimizers */
st_status st_misc_prep_gradient(st_kctx *k, st_error *err);  /* misc_train.c */
st_status st_misc_prep_image(st_kctx *k, st_error *err);     /* misc_image.c */

/* misc_ml.c: the ai.onnx.ml operators */
st_status st_misc_prep_label_encoder(st_kctx *k, st_error *err);
st_status st_misc_prep_binarizer(st_kctx *k, st_error *err);
st_status st_misc_prep_afe(st_kctx *k, st_error *err);
st_status st_misc_prep_tree_ensemble(st_kctx *k, st_error *err);

#endif
