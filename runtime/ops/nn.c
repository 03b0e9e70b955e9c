/* runtime/ops/nn.c: the nn family's table (convolution, matrix products, pooling,
 * normalization, quantization, Einsum, NonMaxSuppression) and the helpers its files share:
 * window geometry and dtype conversion. Kernels live in nn_*.c; nothing here allocates. */
#include <math.h>
#include <omp.h>
#include <string.h>

#include "nn_impl.h"

/* ---- FLOPs of the ops whose cost needs shapes or attributes (a multiply-add counts 2) -- */

static const st_tinfo *tinfo_arg(const st_tinfo *v, int n, int i) {
    return i < n && v[i].kind == ST_VAL_TENSOR ? &v[i] : NULL;
}

/* Taps per output element of a convolution: Cin/group x kernel, read off the weight. */
static double conv_taps(const st_tinfo *w) {
    return st_tinfo_nelem(w) / (double)(w->dims[0] > 0 ? w->dims[0] : 1);
}

/* Each output element is a dot product over the taps, weight at input wpos; Conv adds the
 * bias (input 2) once per output element. */
static double conv_like_flops(const st_tinfo *in, int n_in, const st_tinfo *out, int n_out,
                              int wpos, bool bias) {
    const st_tinfo *y = tinfo_arg(out, n_out, 0), *w = tinfo_arg(in, n_in, wpos);
    if (!y || !w || w->ndim < 2) return -1;
    double ny = st_tinfo_nelem(y);
    return 2 * ny * conv_taps(w) + (bias && tinfo_arg(in, n_in, 2) ? ny : 0);
}

static double conv_flops(const st_node *nd, const st_tinfo *in, int n_in, const st_tinfo *out,
                         int n_out) {
    (void)nd;
    return conv_like_flops(in, n_in, out, n_out, 1, true);
}

static double conv_integer_flops(const st_node *nd, const st_tinfo *in, int n_in,
                                 const st_tinfo *out, int n_out) {
    (void)nd;
    return conv_like_flops(in, n_in, out, n_out, 1, false);
}

/* QLinearConv: x, x_scale, x_zero_point, w, ... so the weight is input 3. */
static double qlinear_conv_flops(const st_node *nd, const st_tinfo *in, int n_in,
                                 const st_tinfo *out, int n_out) {
    (void)nd;
    return conv_like_flops(in, n_in, out, n_out, 3, false);
}

/* Each input element scatters into Cout/group x kernel taps; the bias once per output. */
static double conv_transpose_flops(const st_node *nd, const st_tinfo *in, int n_in,
                                   const st_tinfo *out, int n_out) {
    (void)nd;
    const st_tinfo *x = tinfo_arg(in, n_in, 0), *w = tinfo_arg(in, n_in, 1);
    const st_tinfo *y = tinfo_arg(out, n_out, 0);
    if (!x || !w || w->ndim < 2) return -1;
    double bias = tinfo_arg(in, n_in, 2) && y ? st_tinfo_nelem(y) : 0;
    return 2 * st_tinfo_nelem(x) * conv_taps(w) + bias;
}

/* Y[M,N] = alpha A[M,K] B[K,N] + beta C: K is A's elements over M; C costs a multiply-add. */
static double gemm_flops(const st_node *nd, const st_tinfo *in, int n_in, const st_tinfo *out,
                         int n_out) {
    (void)nd;
    const st_tinfo *y = tinfo_arg(out, n_out, 0), *a = tinfo_arg(in, n_in, 0);
    if (!y || !a || y->ndim != 2) return -1;
    if (y->dims[0] <= 0) return 0;
    double ny = st_tinfo_nelem(y), kk = st_tinfo_nelem(a) / (double)y->dims[0];
    return 2 * ny * kk + (tinfo_arg(in, n_in, 2) ? 2 * ny : 0);
}

/* (Batched) matrix product: a dot product over A's last dimension per output element. */
static double matmul_flops(const st_node *nd, const st_tinfo *in, int n_in, const st_tinfo *out,
                           int n_out) {
    (void)nd;
    const st_tinfo *y = tinfo_arg(out, n_out, 0), *a = tinfo_arg(in, n_in, 0);
    if (!y || !a || a->ndim < 1) return -1;
    return 2 * st_tinfo_nelem(y) * (double)a->dims[a->ndim - 1];
}

/* One operation per window tap per output element (the kernel_shape attribute). */
static double pool_flops(const st_node *nd, const st_tinfo *in, int n_in, const st_tinfo *out,
                         int n_out) {
    (void)in, (void)n_in;
    const st_tinfo *y = tinfo_arg(out, n_out, 0);
    if (!y) return -1;
    const int64_t *ks;
    size_t nk = st_attr_ints(nd, "kernel_shape", &ks);
    double taps = 1;
    for (size_t i = 0; i < nk; i++) taps *= (double)ks[i];
    return st_tinfo_nelem(y) * taps;
}

/* ---- the family's table ----------------------------------------------------------------
 * One prepare serves every version of an op; it reads k->opset where versions differ. A
 * row's comment lists the later versions it also covers. */
static const st_op_def family_rows[] = {
    /* domain op                         since prepare */
    /* N-d convolution; also 11 (kernel_shape optional) */
    ST_OP("", "Conv", 1, st_nn_prep_conv, .flops = conv_flops),
    /* transposed convolution; also 11 (same semantics) */
    ST_OP("", "ConvTranspose", 1, st_nn_prep_conv_transpose, .flops = conv_transpose_flops),
    /* int8/uint8 conv to int32 */
    ST_OP("", "ConvInteger", 10, st_nn_prep_conv_integer, .flops = conv_integer_flops),
    /* convolution sampling X at offset positions (bilinear, optional mask); 2-D; also 22 */
    ST_OP("", "DeformConv", 19, st_nn_prep_deform_conv),
    /* quantized conv */
    ST_OP("", "QLinearConv", 10, st_nn_prep_qlinear_conv, .flops = qlinear_conv_flops),
    /* broadcast attribute era; also 6, 7 (unidirectional C bcast), 9 (integer types), 11 (C
     * optional), 13 (bfloat16) */
    ST_OP("", "Gemm", 1, st_nn_prep_gemm, .flops = gemm_flops),
    /* numpy matmul; also 9 (integer types), 13 (bfloat16) */
    ST_OP("", "MatMul", 1, st_nn_prep_matmul, .flops = matmul_flops),
    /* int8/uint8 to int32 */
    ST_OP("", "MatMulInteger", 10, st_nn_prep_matmul_integer, .flops = matmul_flops),
    /* quantized matmul */
    ST_OP("", "QLinearMatMul", 10, st_nn_prep_qlinear_matmul, .flops = matmul_flops),
    /* max over windows; also 8 (Indices, storage_order), 10 (ceil_mode, dilations), 11, 12
     * (int8/uint8) */
    ST_OP("", "MaxPool", 1, st_nn_prep_maxpool, .flops = pool_flops),
    /* mean over windows; also 7 (count_include_pad), 10 (ceil_mode), 11 */
    ST_OP("", "AveragePool", 1, st_nn_prep_avgpool, .flops = pool_flops),
    /* mean over all spatial; one add per input element */
    ST_OP("", "GlobalAveragePool", 1, st_nn_prep_global_avgpool, .flags = ST_OPF_FLOPS_OF_INPUT,
          .flops_per_elem = 1),
    /* max over all spatial; one compare per input element */
    ST_OP("", "GlobalMaxPool", 1, st_nn_prep_global_maxpool, .flags = ST_OPF_FLOPS_OF_INPUT,
          .flops_per_elem = 1),
    /* p-norm over windows; also 2 (p is an int), 11 */
    ST_OP("", "LpPool", 1, st_nn_prep_lppool, .flops = pool_flops),
    ST_OP("", "GlobalLpPool", 1, st_nn_prep_global_lppool), /* p-norm over all spatial; also 2 */
    ST_OP("", "MaxUnpool", 9, st_nn_prep_maxunpool),        /* scatter by MaxPool index; also 11 */
    ST_OP("", "MaxRoiPool", 1, st_nn_prep_max_roi_pool),    /* max over RoI bins */
    /* bilinear RoI pooling; also 16 (half_pixel default) */
    ST_OP("", "RoiAlign", 10, st_nn_prep_roi_align),
    /* per-channel affine; folded scale and shift; also 6, 7, 9, 14 (training_mode), 15 (typed
     * scale / stats) */
    ST_OP("", "BatchNormalization", 1, st_nn_prep_batchnorm, .flops_per_elem = 2),
    /* per (n, c) stats; mean, variance, normalize, scale, shift per input element; also 6 */
    ST_OP("", "InstanceNormalization", 1, st_nn_prep_instancenorm, .flags = ST_OPF_FLOPS_OF_INPUT,
          .flops_per_elem = 5),
    /* stats over trailing axes; mean, variance, normalize, scale, shift per input element */
    ST_OP("", "LayerNormalization", 17, st_nn_prep_layernorm, .flags = ST_OPF_FLOPS_OF_INPUT,
          .flops_per_elem = 5),
    ST_OP("", "LRN", 1, st_nn_prep_lrn),                       /* cross-channel norm; also 13 */
    ST_OP("", "MeanVarianceNormalization", 9, st_nn_prep_mvn), /* zero mean, unit var; also 13 */
    /* x / ||x||_p along axis: power, sum, divide per element; also 22 (bfloat16) */
    ST_OP("", "LpNormalization", 1, st_nn_prep_lpnorm, .flops_per_elem = 3),
    /* stats per (n, group); mean, variance, normalize, scale, shift per element; also 21
     * (scale and bias per channel) */
    ST_OP("", "GroupNormalization", 18, st_nn_prep_groupnorm, .flags = ST_OPF_FLOPS_OF_INPUT,
          .flops_per_elem = 5),
    /* identity in inference; also 6, 7, 10 (bool mask), 12 (ratio, training_mode), 13 */
    ST_OP("", "Dropout", 1, st_nn_prep_dropout, .flags = ST_OPF_IMPURE),
    /* float to int8/uint8; also 13 (per-axis) */
    ST_OP("", "QuantizeLinear", 10, st_nn_prep_quantize),
    ST_OP("", "DequantizeLinear", 10, st_nn_prep_dequantize), /* int to float; also 13 (per-axis) */
    ST_OP("", "DynamicQuantizeLinear", 11, st_nn_prep_dynamic_quantize), /* uint8 with stats */
    ST_OP("", "Einsum", 12, st_nn_prep_einsum),                          /* Einstein summation */
    ST_OP("", "NonMaxSuppression", 10, st_nn_prep_nms), /* greedy box selection; also 11 */
    /* scaled dot-product attention with KV cache, masks, GQA, softcap; also 24
     * (nonpad_kv_seqlen) */
    ST_OP("", "Attention", 23, st_nn_prep_attention, .flops = st_nn_attention_flops),
    /* root-mean-square normalization over trailing axes: square, sum, scale, multiply */
    ST_OP("", "RMSNormalization", 23, st_nn_prep_rmsnorm, .flags = ST_OPF_FLOPS_OF_INPUT,
          .flops_per_elem = 4),
    /* rotation of head-dim pairs by cached cos/sin: 2 multiplies and an add per element */
    ST_OP("", "RotaryEmbedding", 23, st_nn_prep_rope, .flops_per_elem = 3),
};
const st_op_family st_ops_nn = {"nn", family_rows, ST_ARRAY_LEN(family_rows)};

/* ---- window geometry ------------------------------------------------------------------ */

st_status st_nn_win_finish(st_nn_win *w, st_error *err) {
    st_status s;
    if ((s = st_shape_nelem(w->nsp, w->in, &w->in_vol, err)) ||
        (s = st_shape_nelem(w->nsp, w->out, &w->out_vol, err)) ||
        (s = st_shape_nelem(w->nsp, w->k, &w->k_vol, err)))
        return s;
    return ST_OK;
}

st_status st_nn_win_parse(const st_kctx *k, int nsp, const int64_t *in_sp, const st_nn_win_opts *o,
                          st_nn_win *w, st_error *err) {
    st_nn_win r;
    memset(&r, 0, sizeof r);
    if (nsp < 1 || nsp > ST_NN_MAX_SP)
        return st_errorf(err, ST_ERR_INVALID, "input needs 1 to %d spatial dims, has %d",
                         ST_NN_MAX_SP, nsp);
    r.nsp = nsp;
    const int64_t *ks = NULL, *st = NULL, *dl = NULL, *pd = NULL;
    size_t nks = st_attr_ints(k->node, "kernel_shape", &ks);
    size_t nst = st_attr_ints(k->node, "strides", &st);
    size_t ndl = o->has_dilations ? st_attr_ints(k->node, "dilations", &dl) : 0;
    size_t npd = st_attr_ints(k->node, "pads", &pd);
    if (nks && nks != (size_t)nsp)
        return st_errorf(err, ST_ERR_INVALID, "kernel_shape has %zu values for %d spatial dims",
                         nks, nsp);
    if (!nks && !o->kernel) return st_errorf(err, ST_ERR_INVALID, "kernel_shape is required");
    if (nst && nst != (size_t)nsp)
        return st_errorf(err, ST_ERR_INVALID, "strides has %zu values for %d spatial dims", nst,
                         nsp);
    if (ndl && ndl != (size_t)nsp)
        return st_errorf(err, ST_ERR_INVALID, "dilations has %zu values for %d spatial dims", ndl,
                         nsp);
    if (npd && npd != 2 * (size_t)nsp)
        return st_errorf(err, ST_ERR_INVALID, "pads has %zu values for %d spatial dims", npd, nsp);
    const char *ap = st_attr_string(k->node, "auto_pad", "NOTSET");
    int mode; /* 0 explicit, 1 valid, 2 same_upper, 3 same_lower */
    if (!strcmp(ap, "NOTSET") || !*ap) mode = 0;
    else if (!strcmp(ap, "VALID")) mode = 1;
    else if (!strcmp(ap, "SAME_UPPER")) mode = 2;
    else if (!strcmp(ap, "SAME_LOWER")) mode = 3;
    else return st_errorf(err, ST_ERR_INVALID, "unknown auto_pad \"%s\"", ap);
    for (int i = 0; i < nsp; i++) {
        r.in[i] = in_sp[i];
        r.k[i] = o->kernel ? o->kernel[i] : ks[i];
        if (nks && o->kernel && ks[i] != o->kernel[i])
            return st_errorf(err, ST_ERR_INVALID,
                             "kernel_shape[%d] = %lld does not match the weight's %lld", i,
                             (long long)ks[i], (long long)o->kernel[i]);
        r.stride[i] = nst ? st[i] : 1;
        r.dil[i] = ndl ? dl[i] : 1;
        if (r.k[i] < 1 || r.stride[i] < 1 || r.dil[i] < 1)
            return st_errorf(err, ST_ERR_INVALID,
                             "kernel %lld, stride %lld, dilation %lld on axis %d must be >= 1",
                             (long long)r.k[i], (long long)r.stride[i], (long long)r.dil[i], i);
        if (r.k[i] > (1 << 30) || r.stride[i] > (1 << 30) || r.dil[i] > (1 << 30))
            return st_errorf(err, ST_ERR_LIMIT, "window attribute too large on axis %d", i);
        int64_t ek = (r.k[i] - 1) * r.dil[i] + 1; /* effective (dilated) kernel extent */
        int64_t in = r.in[i];
        if (mode == 0) {
            r.pad0[i] = npd ? pd[i] : 0;
            r.pad1[i] = npd ? pd[i + nsp] : 0;
            if (r.pad0[i] < 0 || r.pad1[i] < 0 || r.pad0[i] > (1 << 30) || r.pad1[i] > (1 << 30))
                return st_errorf(err, ST_ERR_INVALID, "pads on axis %d are out of range", i);
            int64_t span = in + r.pad0[i] + r.pad1[i] - ek;
            if (span < 0)
                return st_errorf(err, ST_ERR_INVALID,
                                 "window of extent %lld does not fit the padded input (%lld) on "
                                 "axis %d",
                                 (long long)ek, (long long)(in + r.pad0[i] + r.pad1[i]), i);
            int64_t out =
                o->ceil_mode ? (span + r.stride[i] - 1) / r.stride[i] + 1 : span / r.stride[i] + 1;
            /* the last window must start inside the input or its leading pad */
            if (o->ceil_mode && (out - 1) * r.stride[i] >= in + r.pad0[i]) out--;
            r.out[i] = out;
        } else if (mode == 1) {
            if (in < ek)
                return st_errorf(err, ST_ERR_INVALID,
                                 "window of extent %lld is larger than the input (%lld) on axis "
                                 "%d",
                                 (long long)ek, (long long)in, i);
            r.out[i] = (in - ek) / r.stride[i] + 1;
        } else {
            int64_t out = (in + r.stride[i] - 1) / r.stride[i];
            int64_t total = (out - 1) * r.stride[i] + ek - in;
            if (total < 0) total = 0;
            r.pad0[i] = mode == 2 ? total / 2 : total - total / 2;
            r.pad1[i] = total - r.pad0[i];
            r.out[i] = out;
        }
    }
    st_status s = st_nn_win_finish(&r, err);
    if (s) return s;
    *w = r;
    return ST_OK;
}

/* ---- dtype helpers -------------------------------------------------------------------- */

bool st_nn_is_half(st_dtype t) { return t == ST_DTYPE_F16 || t == ST_DTYPE_BF16; }

int64_t st_nn_sat_round(double v, int64_t lo, int64_t hi) {
    if (isnan(v)) return 0;
    v = nearbyint(v); /* default rounding mode: half to even */
    if (v < (double)lo) return lo;
    if (v > (double)hi) return hi;
    return (int64_t)v;
}

/* Every numeric storage type, with how an element reads as double. */
#define ST_NN_NUMERIC(X)                                                                 \
    X(ST_DTYPE_F32, float)                                                               \
    X(ST_DTYPE_F64, double) X(ST_DTYPE_I8, int8_t) X(ST_DTYPE_U8, uint8_t)               \
        X(ST_DTYPE_I16, int16_t) X(ST_DTYPE_U16, uint16_t) X(ST_DTYPE_I32, int32_t)      \
            X(ST_DTYPE_U32, uint32_t) X(ST_DTYPE_I64, int64_t) X(ST_DTYPE_U64, uint64_t) \
                X(ST_DTYPE_BOOL, uint8_t)

/* Integer ranges for saturating stores. */
static void int_range(st_dtype t, double *lo, double *hi) {
    switch (t) {
    case ST_DTYPE_I8: *lo = INT8_MIN, *hi = INT8_MAX; break;
    case ST_DTYPE_U8: *lo = 0, *hi = UINT8_MAX; break;
    case ST_DTYPE_I16: *lo = INT16_MIN, *hi = INT16_MAX; break;
    case ST_DTYPE_U16: *lo = 0, *hi = UINT16_MAX; break;
    case ST_DTYPE_I32: *lo = INT32_MIN, *hi = INT32_MAX; break;
    case ST_DTYPE_U32: *lo = 0, *hi = UINT32_MAX; break;
    case ST_DTYPE_I64: *lo = -9223372036854775808.0, *hi = 9223372036854774784.0; break;
    case ST_DTYPE_U64: *lo = 0, *hi = 18446744073709549568.0; break;
    case ST_DTYPE_BOOL: *lo = 0, *hi = 1; break;
    default: *lo = -INFINITY, *hi = INFINITY; break;
    }
}

#define ST_NN_CONV_FUNCS(W)                                                                      \
    void st_nn_to_##W(st_dtype t, const void *src, W##_t_ *dst, size_t n) {                      \
        switch (t) {                                                                             \
        case ST_DTYPE_F16:                                                                       \
            for (size_t i = 0; i < n; i++) dst[i] = st_f16_to_f32(((const uint16_t *)src)[i]);   \
            return;                                                                              \
        case ST_DTYPE_BF16:                                                                      \
            for (size_t i = 0; i < n; i++) dst[i] = st_bf16_to_f32(((const uint16_t *)src)[i]);  \
            return;                                                                              \
            ST_NN_NUMERIC(ST_NN_TO_CASE_)                                                        \
        default:                                                                                 \
            for (size_t i = 0; i < n; i++) dst[i] = 0;                                           \
            return;                                                                              \
        }                                                                                        \
    }                                                                                            \
    void st_nn_from_##W(st_dtype t, const W##_t_ *src, void *dst, size_t n) {                    \
        double lo, hi;                                                                           \
        switch (t) {                                                                             \
        case ST_DTYPE_F32:                                                                       \
            for (size_t i = 0; i < n; i++) ((float *)dst)[i] = (float)src[i];                    \
            return;                                                                              \
        case ST_DTYPE_F64:                                                                       \
            for (size_t i = 0; i < n; i++) ((double *)dst)[i] = (double)src[i];                  \
            return;                                                                              \
        case ST_DTYPE_F16:                                                                       \
            for (size_t i = 0; i < n; i++) ((uint16_t *)dst)[i] = st_f32_to_f16((float)src[i]);  \
            return;                                                                              \
        case ST_DTYPE_BF16:                                                                      \
            for (size_t i = 0; i < n; i++) ((uint16_t *)dst)[i] = st_f32_to_bf16((float)src[i]); \
            return;                                                                              \
        default: break;                                                                          \
        }                                                                                        \
        int_range(t, &lo, &hi);                                                                  \
        for (size_t i = 0; i < n; i++) {                                                         \
            double v = isnan((double)src[i]) ? 0 : nearbyint((double)src[i]);                    \
            v = v < lo ? lo : v > hi ? hi : v;                                                   \
            switch (t) {                                                                         \
                ST_NN_NUMERIC(ST_NN_FROM_CASE_)                                                  \
            default: break;                                                                      \
            }                                                                                    \
        }                                                                                        \
    }

#define ST_NN_TO_CASE_(E, T)                                                           \
    case E:                                                                            \
        for (size_t i = 0; i < n; i++) dst[i] = (__typeof__(*dst))((const T *)src)[i]; \
        return;
#define ST_NN_FROM_CASE_(E, T) \
    case E: ((T *)dst)[i] = (T)v; break;

typedef float f32_t_;
typedef double f64_t_;
ST_NN_CONV_FUNCS(f32)
ST_NN_CONV_FUNCS(f64)

st_status st_nn_check_dtype(const st_kctx *k, int i, const st_dtype *ok, size_t n, st_error *err) {
    const st_tensor *t = st_in(k, i);
    if (!t) return st_errorf(err, ST_ERR_INVALID, "input %d is missing", i);
    for (size_t j = 0; j < n; j++)
        if (t->dtype == ok[j]) return ST_OK;
    return st_errorf(err, ST_ERR_UNSUPPORTED, "input %d has unsupported type %s", i,
                     st_dtype_name(t->dtype));
}

void st_nn_omp_threads(int n) { omp_set_num_threads(n > 0 ? n : 1); }
