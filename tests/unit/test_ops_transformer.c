/* tests/unit/test_ops_transformer.c: the nn family's opset 18-24 ops and forms: Attention,
 * RMSNormalization, RotaryEmbedding, LpNormalization, GroupNormalization, DeformConv and pool
 * dilations (nn_attention.c, nn_norm.c, nn_deform.c, nn_pool.c) run through a real session
 * on one-node graphs; expected values are worked by hand or computed with NumPy from the
 * ONNX 1.20 reference semantics (the values are pasted here, nothing runs Python). */
#include <criterion/criterion.h>
#include <math.h>

#include "unit_util.h"

/* x[i] = sin(0.7 i + seed): the inputs the NumPy reference used. */
static st_value sinval(int ndim, const int64_t *dims, double seed) {
    size_t n = 1;
    for (int d = 0; d < ndim; d++) n *= (size_t)dims[d];
    float *x = malloc(n * sizeof *x);
    for (size_t i = 0; i < n; i++) x[i] = (float)sin(0.7 * (double)i + seed);
    st_value v = ut_value(ST_DTYPE_F32, ndim, dims, x);
    free(x);
    return v;
}

static void expect(const st_value *v, const double *want, size_t n, double tol, const char *what) {
    cr_assert_eq(v->kind, ST_VAL_TENSOR, "%s", what);
    cr_assert_eq(st_tensor_nelem(&v->tensor), n, "%s: %zu elements", what,
                 st_tensor_nelem(&v->tensor));
    for (size_t i = 0; i < n; i++) {
        double got = st_tensor_get_f64(&v->tensor, i);
        if (isinf(want[i]))
            cr_assert(got == want[i], "%s[%zu] = %g, expected %g", what, i, got, want[i]);
        else
            cr_assert(fabs(got - want[i]) <= tol, "%s[%zu] = %.9g, expected %.9g", what, i, got,
                      want[i]);
    }
}

/* One query, two keys, by hand: scores (1/sqrt 2, 0), softmax (0.66976, 0.33024). */
Test(attention, by_hand_4d) {
    int64_t qd[4] = {1, 1, 1, 2}, kd[4] = {1, 1, 2, 2}, vd[4] = {1, 1, 2, 1};
    float q[2] = {1, 0}, k[4] = {1, 0, 0, 1}, v[2] = {1, 3};
    ut_one o = ut_one_new("Attention", "", 23, 3, 4);
    st_value ins[3] = {ut_value(ST_DTYPE_F32, 4, qd, q), ut_value(ST_DTYPE_F32, 4, kd, k),
                       ut_value(ST_DTYPE_F32, 4, vd, v)};
    st_value *outs;
    st_error err = {0};
    cr_assert_eq(ut_one_run(&o, ins, NULL, &outs, &err), ST_OK, "%s", err.msg);
    double p0 = exp(M_SQRT1_2) / (exp(M_SQRT1_2) + 1);
    double y = p0 * 1 + (1 - p0) * 3, qk[2] = {M_SQRT1_2, 0};
    expect(&outs[0], &y, 1, 1e-6, "Y");
    double kw[4] = {1, 0, 0, 1};
    expect(&outs[1], kw, 4, 0, "present_key");
    expect(&outs[3], qk, 2, 1e-6, "qk_matmul_output");
    ut_one_done(&o, outs);
}

/* 3-D inputs, 4 query heads over 2 KV heads, a past of 1, a bool mask of 2 keys (the third
 * is masked), causal, softcap 1.5; qk_matmul_output_mode 2 (after softcap) and 1 (scores
 * plus bias). */
static void gqa_case(int mode, const double *want_qk, bool typed) {
    static const double want_y[24] = {
        -0.3335296812803272,   -0.4561974275454006,  -0.36430839535443515, -0.3378158055101946,
        -0.4617032771469203,   -0.36844448322873913, -0.11321299881451483, 0.2522510986909976,
        0.49907756294999056,   -0.15089402142119296, 0.3844292331344327,   0.738949412474469,
        -0.047580958240140345, -0.2719926404238816,  -0.36848193381402944, 0.4926559568790685,
        0.13442337658109277,   -0.28703061814616937, -0.5047716678158107,  -0.5261495226165869,
        -0.3000710356177086,   -0.27054701362879197, 0.101691445518743,    0.4261028288661455};
    static const double want_pk[12] = {
        0.1411200080598672,  -0.5298361409084933,  0.8414709848078965,  0.9916648104524686,
        -0.6118578909427188, -0.9775301176650971,  -0.9516020738895161, -0.9258146823277323,
        0.675463180551151,   0.041580662433290935, -0.8834546557201535, -0.37387666483023685};
    int64_t qd[3] = {1, 2, 8}, kd[3] = {1, 2, 4}, vd[3] = {1, 2, 6}, md[2] = {2, 2};
    int64_t pkd[4] = {1, 2, 1, 2}, pvd[4] = {1, 2, 1, 3};
    bool mask[4] = {true, false, true, true};
    ut_one o = ut_one_new("Attention", "", 23, 6, 4);
    o.typed = typed;
    ut_attr_int(&o, "q_num_heads", 4);
    ut_attr_int(&o, "kv_num_heads", 2);
    ut_attr_int(&o, "is_causal", 1);
    ut_attr_float(&o, "softcap", 1.5);
    ut_attr_int(&o, "qk_matmul_output_mode", mode);
    st_value ins[6] = {sinval(3, qd, 0),  sinval(3, kd, 1),
                       sinval(3, vd, 2),  ut_value(ST_DTYPE_BOOL, 2, md, mask),
                       sinval(4, pkd, 3), sinval(4, pvd, 4)};
    st_value *outs;
    st_error err = {0};
    cr_assert_eq(ut_one_run(&o, ins, NULL, &outs, &err), ST_OK, "%s", err.msg);
    cr_assert_eq(outs[0].tensor.ndim, 3);
    cr_assert_eq(outs[0].tensor.dims[2], 12);
    cr_assert_eq(outs[1].tensor.dims[2], 3);
    expect(&outs[0], want_y, 24, 1e-5, "Y");
    expect(&outs[1], want_pk, 12, 1e-6, "present_key");
    expect(&outs[3], want_qk, 24, 1e-5, "qk_matmul_output");
    ut_one_done(&o, outs);
}

Test(attention, gqa_past_causal_softcap) {
    static const double qk2[24] = {
        -0.23929504658898915,  -1.5, -1.5, -0.06924224481201927, -0.35684935506887366, -1.5,
        -0.2233930938251551,   -1.5, -1.5, -0.3005379933279695,  0.9277324940354914,   -1.5,
        0.0042319126140603295, -1.5, -1.5, -0.7195900765591072,  0.40709795299154955,  -1.5,
        1.0124045280397393,    -1.5, -1.5, 0.7488980985965622,   -0.19971145762090792, -1.5};
    static const double qk1[24] = {-0.2413566256133555,
                                   -INFINITY,
                                   -INFINITY,
                                   -0.06929149018078945,
                                   -0.36381973677768575,
                                   -INFINITY,
                                   -0.2250670296561384,
                                   -INFINITY,
                                   -INFINITY,
                                   -0.3046592827015076,
                                   1.0838298156328274,
                                   -INFINITY,
                                   0.004231923842214703,
                                   -INFINITY,
                                   -INFINITY,
                                   -0.7839438623328687,
                                   0.41755957767072116,
                                   -INFINITY,
                                   1.2296320812547152,
                                   -INFINITY,
                                   -INFINITY,
                                   0.8224907333265377,
                                   -0.20090423274737748,
                                   -INFINITY};
    gqa_case(2, qk2, false);
    gqa_case(1, qk1, true);
}

/* Keys at or beyond nonpad_kv_seqlen[b] are masked (opset 24): batch 0 sees key 0 only. */
Test(attention, nonpad_kv_seqlen) {
    int64_t qd[4] = {2, 1, 1, 1}, kd[4] = {2, 1, 2, 1}, nd[1] = {2}, nonpad[2] = {1, 2};
    float q[2] = {1, 1}, k[4] = {0, 0, 0, 0}, v[4] = {5, 7, 2, 4};
    ut_one o = ut_one_new("Attention", "", 24, 7, 1);
    st_value ins[7] = {ut_value(ST_DTYPE_F32, 4, qd, q), ut_value(ST_DTYPE_F32, 4, kd, k),
                       ut_value(ST_DTYPE_F32, 4, kd, v)};
    ins[6] = ut_value(ST_DTYPE_I64, 1, nd, nonpad);
    st_value *outs;
    st_error err = {0};
    cr_assert_eq(ut_one_run(&o, ins, NULL, &outs, &err), ST_OK, "%s", err.msg);
    double y[2] = {5, 3};
    expect(&outs[0], y, 2, 1e-6, "Y");
    ut_one_done(&o, outs);
}

Test(attention, bad_heads) {
    int64_t qd[3] = {1, 1, 6};
    ut_one o = ut_one_new("Attention", "", 23, 3, 1);
    ut_attr_int(&o, "q_num_heads", 4); /* 6 is not a multiple of 4 */
    ut_attr_int(&o, "kv_num_heads", 2);
    st_value ins[3] = {sinval(3, qd, 0), sinval(3, qd, 1), sinval(3, qd, 2)};
    st_value *outs = NULL;
    st_error err = {0};
    cr_assert_neq(ut_one_run(&o, ins, NULL, &outs, &err), ST_OK);
    cr_assert(strstr(err.msg, "q_num_heads"), "%s", err.msg);
    ut_one_done(&o, outs);
}

/* ---- RMSNormalization ----------------------------------------------------------------- */

Test(rmsnorm, last_axis_and_half) {
    static const st_dtype dts[] = {ST_DTYPE_F32, ST_DTYPE_F16, ST_DTYPE_BF16};
    for (size_t t = 0; t < ST_ARRAY_LEN(dts); t++) {
        int64_t xd[2] = {2, 3}, sd[1] = {3};
        float xf[6] = {1, 2, 3, -1, 0, 1}, sf[3] = {1, 2, 0.5f};
        uint16_t xh[6], sh[3];
        for (int i = 0; i < 6; i++)
            xh[i] = dts[t] == ST_DTYPE_F16 ? st_f32_to_f16(xf[i]) : st_f32_to_bf16(xf[i]);
        for (int i = 0; i < 3; i++)
            sh[i] = dts[t] == ST_DTYPE_F16 ? st_f32_to_f16(sf[i]) : st_f32_to_bf16(sf[i]);
        ut_one o = ut_one_new("RMSNormalization", "", 23, 2, 1);
        ut_attr_float(&o, "epsilon", 0);
        st_value ins[2] = {ut_value(dts[t], 2, xd, t ? (void *)xh : (void *)xf),
                           ut_value(dts[t], 1, sd, t ? (void *)sh : (void *)sf)};
        st_value *outs;
        st_error err = {0};
        cr_assert_eq(ut_one_run(&o, ins, NULL, &outs, &err), ST_OK, "%s", err.msg);
        cr_assert_eq(outs[0].tensor.dtype, dts[t]);
        double r0 = sqrt(14.0 / 3), r1 = sqrt(2.0 / 3);
        double want[6] = {1 / r0, 4 / r0, 1.5 / r0, -1 / r1, 0, 0.5 / r1};
        expect(&outs[0], want, 6, t ? 1e-2 : 1e-6, "Y");
        ut_one_done(&o, outs);
    }
}

/* axis 0 of a [2, 2] tensor: one RMS over all four; a [2, 1] scale broadcast per row. */
Test(rmsnorm, axis0_broadcast_scale) {
    int64_t xd[2] = {2, 2}, sd[2] = {2, 1};
    double x[4] = {1, 1, 1, 1}, s[2] = {2, 3};
    ut_one o = ut_one_new("RMSNormalization", "", 23, 2, 1);
    ut_attr_int(&o, "axis", 0);
    ut_attr_float(&o, "epsilon", 3); /* mean 1 + 3 = 4: divide by 2 */
    st_value ins[2] = {ut_value(ST_DTYPE_F64, 2, xd, x), ut_value(ST_DTYPE_F64, 2, sd, s)};
    st_value *outs;
    st_error err = {0};
    cr_assert_eq(ut_one_run(&o, ins, NULL, &outs, &err), ST_OK, "%s", err.msg);
    double want[4] = {1, 1, 1.5, 1.5};
    expect(&outs[0], want, 4, 1e-12, "Y");
    ut_one_done(&o, outs);
}

/* ---- RotaryEmbedding ------------------------------------------------------------------- */

/* X = (1, 2, 3, 4) at position 1, whose cos row is (0, 0.5) and sin row (1, 0.5). */
static void rope_case(bool interleaved, int64_t rot, const double *want) {
    int64_t xd[4] = {1, 1, 1, 4}, cd[2] = {2, rot / 2}, pd[2] = {1, 1}, pos[1] = {1};
    float x[4] = {1, 2, 3, 4};
    float c4[4] = {1, 1, 0, 0.5f}, s4[4] = {0, 0, 1, 0.5f}, c2[2] = {1, 0}, s2[2] = {0, 1};
    ut_one o = ut_one_new("RotaryEmbedding", "", 23, 4, 1);
    ut_attr_int(&o, "interleaved", interleaved);
    if (rot != 4) ut_attr_int(&o, "rotary_embedding_dim", rot);
    st_value ins[4] = {
        ut_value(ST_DTYPE_F32, 4, xd, x), ut_value(ST_DTYPE_F32, 2, cd, rot == 4 ? c4 : c2),
        ut_value(ST_DTYPE_F32, 2, cd, rot == 4 ? s4 : s2), ut_value(ST_DTYPE_I64, 2, pd, pos)};
    st_value *outs;
    st_error err = {0};
    cr_assert_eq(ut_one_run(&o, ins, NULL, &outs, &err), ST_OK, "%s", err.msg);
    expect(&outs[0], want, 4, 1e-6, "Y");
    ut_one_done(&o, outs);
}

Test(rope, halves_interleaved_partial) {
    rope_case(false, 4, (const double[]){-3, -1, 1, 3});    /* pairs (0, 2), (1, 3) */
    rope_case(true, 4, (const double[]){-2, 1, -0.5, 3.5}); /* pairs (0, 1), (2, 3) */
    rope_case(false, 2, (const double[]){-2, 1, 3, 4});     /* only dims 0, 1 rotate */
}

/* 3-D X [B, S, H*D] without position_ids: the caches are indexed by (b, s). */
Test(rope, three_d_no_positions) {
    int64_t xd[3] = {1, 2, 4}, cd[3] = {1, 2, 1};
    float x[8] = {1, 2, 3, 4, 5, 6, 7, 8}, c[2] = {1, 0}, s[2] = {0, -1};
    ut_one o = ut_one_new("RotaryEmbedding", "", 23, 3, 1);
    ut_attr_int(&o, "num_heads", 2);
    st_value ins[3] = {ut_value(ST_DTYPE_F32, 3, xd, x), ut_value(ST_DTYPE_F32, 3, cd, c),
                       ut_value(ST_DTYPE_F32, 3, cd, s)};
    st_value *outs;
    st_error err = {0};
    cr_assert_eq(ut_one_run(&o, ins, NULL, &outs, &err), ST_OK, "%s", err.msg);
    /* s = 0: identity; s = 1: (a, b) -> (b, -a) per head */
    double want[8] = {1, 2, 3, 4, 6, -5, 8, -7};
    expect(&outs[0], want, 8, 1e-6, "Y");
    ut_one_done(&o, outs);
}

/* Attention's FLOPs: Q [1, 2, 3, 4], K [1, 2, 5, 4], V [1, 2, 5, 6], a past of 2: 42 scores,
 * each 2*4 + 2*6 + 5 operations. */
Test(attention, flops) {
    const st_op_def *d = st_ops_find("", "Attention", 23);
    cr_assert_not_null(d);
    cr_assert_not_null(d->flops);
    st_tinfo in[5] = {{ST_VAL_TENSOR, ST_DTYPE_F32, 4, {1, 2, 3, 4}},
                      {ST_VAL_TENSOR, ST_DTYPE_F32, 4, {1, 2, 5, 4}},
                      {ST_VAL_TENSOR, ST_DTYPE_F32, 4, {1, 2, 5, 6}},
                      {ST_VAL_NONE, ST_DTYPE_F32, 0, {0}},
                      {ST_VAL_TENSOR, ST_DTYPE_F32, 4, {1, 2, 2, 4}}};
    st_node nd;
    memset(&nd, 0, sizeof nd);
    cr_assert_float_eq(d->flops(&nd, in, 5, NULL, 0), 42.0 * 25, 1e-9);
    cr_assert_lt(d->flops(&nd, in, 2, NULL, 0), 0);
}

/* ---- LpNormalization ------------------------------------------------------------------- */

/* [2, 2] = (3, -4, 0, 5): p 2 along axis 1 -> rows (0.6, -0.8), (0, 1); p 1 along axis 0
 * -> columns divided by 3 and 9. */
Test(lpnorm, p1_p2_axes) {
    int64_t xd[2] = {2, 2};
    double x[4] = {3, -4, 0, 5};
    for (int p = 1; p <= 2; p++) {
        ut_one o = ut_one_new("LpNormalization", "", 22, 1, 1);
        ut_attr_int(&o, "p", p);
        ut_attr_int(&o, "axis", p == 2 ? 1 : 0);
        st_value ins[1] = {ut_value(ST_DTYPE_F64, 2, xd, x)};
        st_value *outs;
        st_error err = {0};
        cr_assert_eq(ut_one_run(&o, ins, NULL, &outs, &err), ST_OK, "%s", err.msg);
        double w2[4] = {0.6, -0.8, 0, 1}, w1[4] = {1, -4.0 / 9, 0, 5.0 / 9};
        expect(&outs[0], p == 2 ? w2 : w1, 4, 1e-12, "Y");
        ut_one_done(&o, outs);
    }
    ut_one o = ut_one_new("LpNormalization", "", 22, 1, 1);
    ut_attr_int(&o, "p", 3);
    st_value ins[1] = {ut_value(ST_DTYPE_F64, 2, xd, x)};
    st_value *outs = NULL;
    st_error err = {0};
    cr_assert_neq(ut_one_run(&o, ins, NULL, &outs, &err), ST_OK);
    cr_assert(strstr(err.msg, "p must be"), "%s", err.msg);
    ut_one_done(&o, outs);
}

/* ---- pool dilations (AveragePool-19, LpPool-18) ----------------------------------------- */

/* X = (1, 2, 3, 4), kernel 2, dilation 2: windows (1, 3), (2, 4); with pads (1, 1) and
 * count_include_pad the divisor counts the taps inside the padded input. */
static void pool_case(const char *op, int64_t opset, bool pad, const double *want, size_t n) {
    int64_t xd[3] = {1, 1, 4};
    double x[4] = {1, 2, 3, 4};
    ut_one o = ut_one_new(op, "", opset, 1, 1);
    ut_attr_ints(&o, "kernel_shape", 1, (const int64_t[]){2});
    ut_attr_ints(&o, "dilations", 1, (const int64_t[]){2});
    if (pad) {
        ut_attr_ints(&o, "pads", 2, (const int64_t[]){1, 1});
        ut_attr_int(&o, "count_include_pad", 1);
    }
    st_value ins[1] = {ut_value(ST_DTYPE_F64, 3, xd, x)};
    st_value *outs;
    st_error err = {0};
    cr_assert_eq(ut_one_run(&o, ins, NULL, &outs, &err), ST_OK, "%s", err.msg);
    expect(&outs[0], want, n, 1e-9, op);
    ut_one_done(&o, outs);
}

Test(pool, dilations) {
    pool_case("AveragePool", 19, false, (const double[]){2, 3}, 2);
    pool_case("AveragePool", 19, true, (const double[]){1, 2, 3, 1.5}, 4);
    pool_case("LpPool", 18, false, (const double[]){sqrt(10), sqrt(20)}, 2);
}

/* ---- GroupNormalization ------------------------------------------------------------------- */

/* X [1, 4, 1] = (1, 3, 10, 20) in 2 groups normalizes to (-1, 1, -1, 1); opset 21 scales
 * and shifts per channel, opset 18 per group. */
Test(groupnorm, per_channel_and_per_group) {
    int64_t xd[3] = {1, 4, 1};
    float x[4] = {1, 3, 10, 20};
    for (int v = 0; v < 2; v++) {
        int64_t np = v ? 2 : 4, pd[1] = {np};
        float w21[4] = {1, 2, 3, 4}, b21[4] = {0, 0, 0, 1}, w18[2] = {2, 3}, b18[2] = {1, 0};
        ut_one o = ut_one_new("GroupNormalization", "", v ? 18 : 21, 3, 1);
        ut_attr_int(&o, "num_groups", 2);
        ut_attr_float(&o, "epsilon", 0);
        st_value ins[3] = {ut_value(ST_DTYPE_F32, 3, xd, x),
                           ut_value(ST_DTYPE_F32, 1, pd, v ? w18 : w21),
                           ut_value(ST_DTYPE_F32, 1, pd, v ? b18 : b21)};
        st_value *outs;
        st_error err = {0};
        cr_assert_eq(ut_one_run(&o, ins, NULL, &outs, &err), ST_OK, "%s", err.msg);
        double w1[4] = {-1, 2, -3, 5}, w2[4] = {-1, 3, -3, 3};
        expect(&outs[0], v ? w2 : w1, 4, 1e-6, "Y");
        ut_one_done(&o, outs);
    }
}

/* ---- DeformConv ------------------------------------------------------------------------ */

/* X [1,1,2,2] = (1, 2, 3, 4), a 1x1 kernel of 2: output (0, 0) samples (0.5, 0.5) = 2.5,
 * output (1, 1) is moved one row down, outside the image (0); then a mask and a bias. */
Test(deform_conv, offsets_mask_bias) {
    int64_t xd[4] = {1, 1, 2, 2}, wd[4] = {1, 1, 1, 1}, od[4] = {1, 2, 2, 2}, bd[1] = {1};
    float x[4] = {1, 2, 3, 4}, w[1] = {2}, off[8] = {0.5f, 0, 0, 1, 0.5f, 0, 0, 0};
    float mask[4] = {1, 0.5f, 1, 1}, bias[1] = {1};
    for (int mb = 0; mb < 2; mb++) {
        ut_one o = ut_one_new("DeformConv", "", 19, 5, 1);
        st_value ins[5] = {ut_value(ST_DTYPE_F32, 4, xd, x), ut_value(ST_DTYPE_F32, 4, wd, w),
                           ut_value(ST_DTYPE_F32, 4, od, off)};
        if (mb) {
            ins[3] = ut_value(ST_DTYPE_F32, 1, bd, bias);
            ins[4] = ut_value(ST_DTYPE_F32, 4, xd, mask);
        }
        st_value *outs;
        st_error err = {0};
        cr_assert_eq(ut_one_run(&o, ins, NULL, &outs, &err), ST_OK, "%s", err.msg);
        double w0[4] = {5, 4, 6, 0}, w1[4] = {6, 3, 7, 1};
        expect(&outs[0], mb ? w1 : w0, 4, 1e-6, "Y");
        ut_one_done(&o, outs);
    }
}
