/* runtime/ops/nn_impl.h: private to the nn family (nn.c and nn_*.c) and its unit test.
 * Shared geometry for windows (conv, pooling), dtype conversion helpers, the prepare
 * functions the table in nn.c names, and the reference / fast kernel pairs the test
 * compares. Nothing outside the nn family includes it. */
#ifndef ST_NN_IMPL_H
#define ST_NN_IMPL_H

#include "op.h"

#define ST_NN_MAX_SP (ST_MAX_RANK - 2) /* spatial dims of a windowed op */

/* ---- window geometry (Conv, ConvTranspose, pools) ------------------------------------ */
typedef struct st_nn_win {
    int nsp;                   /* spatial rank */
    int64_t in[ST_NN_MAX_SP];  /* input spatial dims */
    int64_t out[ST_NN_MAX_SP]; /* output spatial dims */
    int64_t k[ST_NN_MAX_SP];   /* kernel dims */
    int64_t stride[ST_NN_MAX_SP];
    int64_t dil[ST_NN_MAX_SP];
    int64_t pad0[ST_NN_MAX_SP]; /* padding at the start of each axis */
    int64_t pad1[ST_NN_MAX_SP]; /* padding at the end of each axis */
    size_t in_vol, out_vol, k_vol;
} st_nn_win;

/* Options for st_nn_win_parse. */
typedef struct st_nn_win_opts {
    bool ceil_mode;        /* pools: round the output size up */
    bool has_dilations;    /* the op accepts `dilations` */
    const int64_t *kernel; /* kernel dims when known from a weight (NULL: kernel_shape) */
} st_nn_win_opts;

/* Parse kernel_shape/strides/dilations/pads/auto_pad of k->node for an input of nsp
 * spatial dims and fill w (forward windows: Conv and pools). */
st_status st_nn_win_parse(const st_kctx *k, int nsp, const int64_t *in_sp, const st_nn_win_opts *o,
                          st_nn_win *w, st_error *err);
/* Recompute in_vol/out_vol/k_vol from the dims. */
st_status st_nn_win_finish(st_nn_win *w, st_error *err);

/* ---- dtype helpers ------------------------------------------------------------------- */
/* Convert n elements of a numeric tensor's storage to float / double, and back
 * (back-conversion saturates integers and rounds half to even). */
void st_nn_to_f32(st_dtype t, const void *src, float *dst, size_t n);
void st_nn_from_f32(st_dtype t, const float *src, void *dst, size_t n);
void st_nn_to_f64(st_dtype t, const void *src, double *dst, size_t n);
void st_nn_from_f64(st_dtype t, const double *src, void *dst, size_t n);
bool st_nn_is_half(st_dtype t); /* float16 or bfloat16: computed in float32 */
/* Check an input's dtype against a list; error names the op's input. */
st_status st_nn_check_dtype(const st_kctx *k, int i, const st_dtype *ok, size_t n, st_error *err);
#define ST_NN_CHECK_DTYPE(k, i, err, ...)                        \
    st_nn_check_dtype((k), (i), (const st_dtype[]){__VA_ARGS__}, \
                      sizeof((const st_dtype[]){__VA_ARGS__}) / sizeof(st_dtype), (err))
/* Saturating round-half-even of a double into int8 / uint8 / int32 range. */
int64_t st_nn_sat_round(double v, int64_t lo, int64_t hi);

/* Set the OpenMP thread count oneDNN uses to the session's. */
void st_nn_omp_threads(int n);

/* ---- prepare functions (one per op; the table is in nn.c) ---------------------------- */
#define ST_NN_PREPARES(X)                                                                          \
    X(conv)                                                                                        \
    X(conv_transpose) X(conv_integer) X(qlinear_conv) X(gemm) X(matmul) X(matmul_integer)          \
        X(qlinear_matmul) X(maxpool) X(avgpool) X(lppool) X(global_avgpool) X(global_maxpool)      \
            X(global_lppool) X(maxunpool) X(max_roi_pool) X(roi_align) X(batchnorm)                \
                X(instancenorm) X(layernorm) X(lrn) X(mvn) X(dropout) X(quantize) X(dequantize)    \
                    X(dynamic_quantize) X(einsum) X(nms) X(attention) X(rmsnorm) X(rope) X(lpnorm) \
                        X(groupnorm) X(deform_conv)
#define ST_NN_PREP_DECL_(n) st_status st_nn_prep_##n(st_kctx *k, st_error *err);
ST_NN_PREPARES(ST_NN_PREP_DECL_)
#undef ST_NN_PREP_DECL_
/* FLOPs of an Attention node (nn_attention.c). */
double st_nn_attention_flops(const st_node *nd, const st_tinfo *in, int n_in, const st_tinfo *out,
                             int n_out);

/* ---- reference / fast kernel pairs (the unit test compares them) --------------------- */
/* Direct convolution, NC<spatial> layout. x: [N, C, in...], w: [M, C/group, k...],
 * b: [M] or NULL, y: [N, M, out...]. Computes the rows [r0, r1) of N*M. */
typedef struct st_nn_conv_shape {
    int64_t n, c, m, group;
    st_nn_win win;
} st_nn_conv_shape;
void st_nn_conv_ref_f32(const st_nn_conv_shape *s, const float *x, const float *w, const float *b,
                        float *y, size_t r0, size_t r1);
void st_nn_conv_ref_f64(const st_nn_conv_shape *s, const double *x, const double *w,
                        const double *b, double *y, size_t r0, size_t r1);
void st_nn_conv_ref_i32(const st_nn_conv_shape *s, const int32_t *x, const int32_t *w,
                        const int32_t *b, int32_t *y, size_t r0, size_t r1);

/* oneDNN float32 convolution (1-3 spatial dims). w / b non-NULL at creation: reordered
 * once into the primitive's preferred layout and ignored at run; NULL: read at each run
 * (plain layout). has_b: the op has a bias. */
typedef struct st_nn_dconv st_nn_dconv;
st_status st_nn_dconv_new(const st_nn_conv_shape *s, const float *w, bool has_b, const float *b,
                          st_nn_dconv **out, st_error *err);
st_status st_nn_dconv_run(st_nn_dconv *d, const float *x, const float *w, const float *b, float *y,
                          int threads, st_error *err);
void st_nn_dconv_free(st_nn_dconv *d);

/* Row-major C[M,N] = alpha * op(A) op(B) + beta * C. Reference and oneDNN sgemm. */
void st_nn_gemm_ref_f32(bool ta, bool tb, int64_t m, int64_t n, int64_t kk, float alpha,
                        const float *a, int64_t lda, const float *b, int64_t ldb, float beta,
                        float *c, int64_t ldc);
st_status st_nn_gemm_fast_f32(bool ta, bool tb, int64_t m, int64_t n, int64_t kk, float alpha,
                              const float *a, int64_t lda, const float *b, int64_t ldb, float beta,
                              float *c, int64_t ldc, st_error *err);

/* Max / average pooling over planes (N*C of them) of a 2-D window without dilation; the
 * fast kernel clips each window once instead of testing every tap. avg: mean (count_pad:
 * divide by the window clipped to the padded input), else max. */
void st_nn_pool_ref_f32(const st_nn_win *w, bool avg, bool count_pad, const float *x, float *y,
                        size_t p0, size_t p1);
void st_nn_pool2d_fast_f32(const st_nn_win *w, bool avg, bool count_pad, const float *x, float *y,
                           size_t p0, size_t p1);

#endif
