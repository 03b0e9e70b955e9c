/* tests/unit/test_ops_elementwise.c: the pointwise kernels run through a session on
 * one-node models built in memory: broadcasting, every dtype path (float16 through float32,
 * wrapping integers, division by zero), variadic folds, Clip/Where/Cast edge cases, and the
 * threaded strided driver against a plain reference loop. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "op.h"
#include "unit_util.h"

typedef void (*attr_fn)(st_graph *g, st_node *n);

/* Run op (opset) on the given inputs (dtype UNDEFINED: omitted); out receives output 0. */
static st_status run_op(const char *op, int64_t opset, int nin, const st_tensor *ins, attr_fn af,
                        int threads, st_value *out, st_error *err) {
    ut_one o = ut_one_new(op, "", opset, nin, 1);
    o.threads = threads;
    o.typed = true;
    st_value vin[ST_MAX_RANK];
    cr_assert_leq(nin, ST_MAX_RANK);
    for (int i = 0; i < nin; i++) {
        memset(&vin[i], 0, sizeof vin[i]);
        if (ins[i].dtype != ST_DTYPE_UNDEFINED) vin[i] = ut_value_share(&ins[i]);
    }
    if (af) af(o.g, o.n);
    st_value *outs = NULL;
    st_status st = ut_one_run(&o, vin, NULL, &outs, err);
    if (!st) {
        *out = outs[0];
        memset(&outs[0], 0, sizeof outs[0]);
    }
    ut_one_done(&o, outs);
    return st;
}

static st_value run_ok(const char *op, int64_t opset, int nin, const st_tensor *ins, attr_fn af) {
    st_value out;
    st_error err = {0};
    st_status st = run_op(op, opset, nin, ins, af, 2, &out, &err);
    cr_assert_eq(st, ST_OK, "%s failed: %s", op, err.msg);
    return out;
}

static void clear_all(st_tensor *ts, int n) {
    for (int i = 0; i < n; i++) st_tensor_clear(&ts[i]);
}

Test(elementwise, add_broadcast_f32) {
    float a[] = {1, 2, 3, 4, 5, 6}, b[] = {10, 20, 30};
    st_tensor in[2] = {ut_tensor(ST_DTYPE_F32, 2, (int64_t[]){2, 3}, a),
                       ut_tensor(ST_DTYPE_F32, 1, (int64_t[]){3}, b)};
    st_value o = run_ok("Add", 14, 2, in, NULL);
    cr_assert_eq(o.tensor.ndim, 2);
    const float *y = o.tensor.data;
    float want[] = {11, 22, 33, 14, 25, 36};
    for (int i = 0; i < 6; i++) cr_assert_float_eq(y[i], want[i], 1e-6);
    st_value_clear(&o);
    clear_all(in, 2);
}

Test(elementwise, int_wrap_and_div_zero) {
    int32_t a[] = {INT32_MAX, INT32_MIN, 7, -7}, b[] = {1, -1, 0, 2};
    st_tensor in[2] = {ut_tensor(ST_DTYPE_I32, 1, (int64_t[]){4}, a),
                       ut_tensor(ST_DTYPE_I32, 1, (int64_t[]){4}, b)};
    st_value o = run_ok("Add", 14, 2, in, NULL);
    const int32_t *y = o.tensor.data;
    cr_assert_eq(y[0], INT32_MIN);
    cr_assert_eq(y[1], INT32_MAX);
    st_value_clear(&o);
    o = run_ok("Div", 14, 2, in, NULL);
    y = o.tensor.data;
    cr_assert_eq(y[0], INT32_MAX);
    cr_assert_eq(y[1], INT32_MIN); /* MIN / -1 wraps */
    cr_assert_eq(y[2], 0);         /* x / 0 */
    cr_assert_eq(y[3], -3);
    st_value_clear(&o);
    clear_all(in, 2);
}

static void attr_fmod1(st_graph *g, st_node *n) {
    st_node_add_attr(g, n, "fmod", ST_ATTR_INT)->i = 1;
}

Test(elementwise, mod_signs) {
    int64_t a[] = {-4, 7, 5, 4, -7, 8}, b[] = {2, -3, 8, -2, 3, 5};
    st_tensor in[2] = {ut_tensor(ST_DTYPE_I64, 1, (int64_t[]){6}, a),
                       ut_tensor(ST_DTYPE_I64, 1, (int64_t[]){6}, b)};
    st_value o = run_ok("Mod", 13, 2, in, NULL);
    int64_t want[] = {0, -2, 5, 0, 2, 3}, wantf[] = {0, 1, 5, 0, -1, 3};
    for (int i = 0; i < 6; i++) cr_assert_eq(((int64_t *)o.tensor.data)[i], want[i]);
    st_value_clear(&o);
    o = run_ok("Mod", 13, 2, in, attr_fmod1);
    for (int i = 0; i < 6; i++) cr_assert_eq(((int64_t *)o.tensor.data)[i], wantf[i]);
    st_value_clear(&o);
    clear_all(in, 2);
}

Test(elementwise, f16_through_f32) {
    uint16_t a[3], b[3];
    float fa[] = {1.5f, -2.0f, 0.25f}, fb[] = {2.0f, 0.5f, 4.0f};
    for (int i = 0; i < 3; i++) a[i] = st_f32_to_f16(fa[i]), b[i] = st_f32_to_f16(fb[i]);
    st_tensor in[2] = {ut_tensor(ST_DTYPE_F16, 1, (int64_t[]){3}, a),
                       ut_tensor(ST_DTYPE_F16, 1, (int64_t[]){3}, b)};
    st_value o = run_ok("Mul", 14, 2, in, NULL);
    cr_assert_eq(o.tensor.dtype, ST_DTYPE_F16);
    for (int i = 0; i < 3; i++)
        cr_assert_float_eq(st_f16_to_f32(((uint16_t *)o.tensor.data)[i]), fa[i] * fb[i], 1e-6);
    st_value_clear(&o);
    o = run_ok("Less", 13, 2, in, NULL);
    cr_assert_eq(o.tensor.dtype, ST_DTYPE_BOOL);
    uint8_t wl[] = {1, 1, 1};
    for (int i = 0; i < 3; i++) cr_assert_eq(((uint8_t *)o.tensor.data)[i], wl[i]);
    st_value_clear(&o);
    clear_all(in, 2);
}

Test(elementwise, variadic_max_mean) {
    float a[] = {1, 5}, b[] = {3, 2, 0, 9}, c[] = {4};
    st_tensor in[3] = {ut_tensor(ST_DTYPE_F32, 1, (int64_t[]){2}, a),
                       ut_tensor(ST_DTYPE_F32, 2, (int64_t[]){2, 2}, b),
                       ut_tensor(ST_DTYPE_F32, 0, NULL, c)};
    st_value o = run_ok("Max", 13, 3, in, NULL);
    float wmax[] = {4, 5, 4, 9};
    for (int i = 0; i < 4; i++) cr_assert_float_eq(((float *)o.tensor.data)[i], wmax[i], 1e-6);
    st_value_clear(&o);
    o = run_ok("Mean", 13, 3, in, NULL);
    float wmean[] = {8 / 3.f, 11 / 3.f, 5 / 3.f, 18 / 3.f};
    for (int i = 0; i < 4; i++) cr_assert_float_eq(((float *)o.tensor.data)[i], wmean[i], 1e-5);
    st_value_clear(&o);
    o = run_ok("Sum", 13, 1, in, NULL);
    cr_assert_float_eq(((float *)o.tensor.data)[1], 5, 1e-6);
    st_value_clear(&o);
    clear_all(in, 3);
}

Test(elementwise, clip_inputs_and_attrs) {
    int8_t x[] = {-100, -5, 0, 5, 100}, lo = -10;
    st_tensor in[3] = {
        ut_tensor(ST_DTYPE_I8, 1, (int64_t[]){5}, x), ut_tensor(ST_DTYPE_I8, 0, NULL, &lo), {0}};
    st_value o = run_ok("Clip", 13, 3, in, NULL);
    int8_t want[] = {-10, -5, 0, 5, 100};
    for (int i = 0; i < 5; i++) cr_assert_eq(((int8_t *)o.tensor.data)[i], want[i]);
    st_value_clear(&o);
    clear_all(in, 3);
}

static void attr_clip6(st_graph *g, st_node *n) {
    st_node_add_attr(g, n, "min", ST_ATTR_FLOAT)->f = -1;
    st_node_add_attr(g, n, "max", ST_ATTR_FLOAT)->f = 1;
}

Test(elementwise, clip_opset6) {
    float x[] = {-3, 0.5f, 3, NAN};
    st_tensor in[1] = {ut_tensor(ST_DTYPE_F32, 1, (int64_t[]){4}, x)};
    st_value o = run_ok("Clip", 6, 1, in, attr_clip6);
    const float *y = o.tensor.data;
    cr_assert_float_eq(y[0], -1, 0);
    cr_assert_float_eq(y[1], 0.5f, 0);
    cr_assert_float_eq(y[2], 1, 0);
    cr_assert(isnan(y[3]));
    st_value_clear(&o);
    clear_all(in, 1);
}

Test(elementwise, where_broadcast) {
    uint8_t c[] = {1, 0};
    int64_t a[] = {1, 2, 3, 4}, b[] = {-1};
    st_tensor in[3] = {ut_tensor(ST_DTYPE_BOOL, 1, (int64_t[]){2}, c),
                       ut_tensor(ST_DTYPE_I64, 2, (int64_t[]){2, 2}, a),
                       ut_tensor(ST_DTYPE_I64, 1, (int64_t[]){1}, b)};
    st_value o = run_ok("Where", 16, 3, in, NULL);
    int64_t want[] = {1, -1, 3, -1};
    for (int i = 0; i < 4; i++) cr_assert_eq(((int64_t *)o.tensor.data)[i], want[i]);
    st_value_clear(&o);
    clear_all(in, 3);
}

static void attr_to_string(st_graph *g, st_node *n) {
    st_node_add_attr(g, n, "to", ST_ATTR_INT)->i = ST_DTYPE_STRING;
}
static void attr_to_float(st_graph *g, st_node *n) {
    st_node_add_attr(g, n, "to", ST_ATTR_INT)->i = ST_DTYPE_F32;
}

Test(elementwise, cast_strings) {
    float x[] = {0.1f, 1e-5f, 1e16f, 123456789.0f, -0.0f, INFINITY, 2.5f, 1e-4f};
    const char *want[] = {"0.1", "1e-05", "1e+16", "123456790.0", "-0.0", "inf", "2.5", "1e-04"};
    st_tensor in[1] = {ut_tensor(ST_DTYPE_F32, 1, (int64_t[]){8}, x)};
    st_value o = run_ok("Cast", 13, 1, in, attr_to_string);
    const st_str *s = o.tensor.data;
    for (int i = 0; i < 8; i++) cr_assert_str_eq(s[i].data, want[i]);
    st_value_clear(&o);
    clear_all(in, 1);

    const char *txt[] = {"INF", "-inf", "NaN", "+INF", "0.5", "1e3"};
    st_tensor sin[1] = {ut_tensor(ST_DTYPE_STRING, 1, (int64_t[]){6}, NULL)};
    for (int i = 0; i < 6; i++)
        st_tensor_set_string(&sin[0], (size_t)i, txt[i], strlen(txt[i]), NULL);
    o = run_ok("Cast", 13, 1, sin, attr_to_float);
    const float *y = o.tensor.data;
    cr_assert(isinf(y[0]) && y[0] > 0);
    cr_assert(isinf(y[1]) && y[1] < 0);
    cr_assert(isnan(y[2]));
    cr_assert(isinf(y[3]) && y[3] > 0);
    cr_assert_float_eq(y[4], 0.5f, 0);
    cr_assert_float_eq(y[5], 1000.f, 0);
    st_value_clear(&o);
    clear_all(sin, 1);
}

Test(elementwise, cast_float_to_int_saturation_free) {
    double x[] = {1e300, -1e300, NAN, 3.9, -3.9, 255.0};
    st_tensor in[2] = {ut_tensor(ST_DTYPE_F64, 1, (int64_t[]){6}, x),
                       ut_tensor(ST_DTYPE_I32, 1, (int64_t[]){1}, NULL)};
    st_value o = run_ok("CastLike", 15, 2, in, NULL);
    const int32_t *y = o.tensor.data;
    cr_assert_eq(y[3], 3);
    cr_assert_eq(y[4], -3);
    cr_assert_eq(y[5], 255);
    st_value_clear(&o);
    clear_all(in, 2);
}

Test(elementwise, pow_mixed) {
    int32_t b[] = {1, 2, 3};
    float e[] = {4, 5, 0.5f};
    int64_t ei[] = {4, 5, 6};
    st_tensor in[2] = {ut_tensor(ST_DTYPE_I32, 1, (int64_t[]){3}, b),
                       ut_tensor(ST_DTYPE_F32, 1, (int64_t[]){3}, e)};
    st_value o = run_ok("Pow", 15, 2, in, NULL);
    cr_assert_eq(o.tensor.dtype, ST_DTYPE_I32);
    int32_t w1[] = {1, 32, 1};
    for (int i = 0; i < 3; i++) cr_assert_eq(((int32_t *)o.tensor.data)[i], w1[i]);
    st_value_clear(&o);
    st_tensor_clear(&in[1]);
    in[1] = ut_tensor(ST_DTYPE_I64, 1, (int64_t[]){3}, ei);
    o = run_ok("Pow", 15, 2, in, NULL);
    int32_t w2[] = {1, 32, 729};
    for (int i = 0; i < 3; i++) cr_assert_eq(((int32_t *)o.tensor.data)[i], w2[i]);
    st_value_clear(&o);
    clear_all(in, 2);
}

/* A large broadcast over the thread pool against a plain loop. */
Test(elementwise, threaded_broadcast_matches_reference) {
    int64_t da[] = {64, 1, 513}, db[] = {37, 1};
    st_tensor in[2] = {ut_tensor(ST_DTYPE_F32, 3, da, NULL), ut_tensor(ST_DTYPE_F32, 2, db, NULL)};
    float *a = in[0].data, *b = in[1].data;
    for (int i = 0; i < 64 * 513; i++) a[i] = (float)(i % 97) * 0.5f;
    for (int i = 0; i < 37; i++) b[i] = (float)i;
    st_value o = run_ok("Sub", 14, 2, in, NULL);
    cr_assert_eq(o.tensor.ndim, 3);
    cr_assert_eq(o.tensor.dims[1], 37);
    const float *y = o.tensor.data;
    for (int i = 0; i < 64; i++)
        for (int j = 0; j < 37; j++)
            for (int k = 0; k < 513; k++)
                cr_assert_eq(y[((size_t)i * 37 + j) * 513 + k], a[i * 513 + k] - b[j]);
    st_value_clear(&o);
    clear_all(in, 2);
}

static void attr_left(st_graph *g, st_node *n) {
    st_attr *a = st_node_add_attr(g, n, "direction", ST_ATTR_STRING);
    a->s.data = st_ir_strdup(g, "LEFT");
    a->s.len = 4;
}

Test(elementwise, bitshift_and_bad_attr) {
    uint16_t x[] = {1, 0xffff, 3}, s[] = {15, 4, 16};
    st_tensor in[2] = {ut_tensor(ST_DTYPE_U16, 1, (int64_t[]){3}, x),
                       ut_tensor(ST_DTYPE_U16, 1, (int64_t[]){3}, s)};
    st_value o = run_ok("BitShift", 11, 2, in, attr_left);
    uint16_t want[] = {0x8000, 0xfff0, 0};
    for (int i = 0; i < 3; i++) cr_assert_eq(((uint16_t *)o.tensor.data)[i], want[i]);
    st_value_clear(&o);
    st_error err = {0};
    cr_assert_neq(run_op("BitShift", 11, 2, in, NULL, 1, &o, &err), ST_OK);
    cr_assert(strstr(err.msg, "direction"), "%s", err.msg);
    clear_all(in, 2);
}

static st_tensor mk_strings(int n, const char *const *v) {
    st_tensor t = ut_tensor(ST_DTYPE_STRING, 1, (int64_t[]){n}, NULL);
    for (int i = 0; i < n; i++) st_tensor_set_string(&t, (size_t)i, v[i], strlen(v[i]), NULL);
    return t;
}

Test(elementwise, strings_equal_and_where) {
    const char *a[] = {"ab", "", "x"}, *b[] = {"ab", "", "y"};
    st_tensor in[2] = {mk_strings(3, a), mk_strings(3, b)};
    st_value o = run_ok("Equal", 13, 2, in, NULL);
    uint8_t want[] = {1, 1, 0};
    for (int i = 0; i < 3; i++) cr_assert_eq(((uint8_t *)o.tensor.data)[i], want[i]);
    st_value_clear(&o);
    uint8_t c[] = {0, 1, 0};
    st_tensor w[3] = {ut_tensor(ST_DTYPE_BOOL, 1, (int64_t[]){3}, c), in[0], in[1]};
    o = run_ok("Where", 16, 3, w, NULL);
    const st_str *s = o.tensor.data;
    cr_assert_str_eq(s[0].data, "ab");
    cr_assert_str_eq(s[1].data, "");
    cr_assert_str_eq(s[2].data, "y");
    st_value_clear(&o);
    clear_all(in, 2);
    st_tensor_clear(&w[0]);
}

Test(elementwise, empty_and_scalar) {
    st_tensor in[2] = {ut_tensor(ST_DTYPE_F32, 2, (int64_t[]){0, 3}, NULL),
                       ut_tensor(ST_DTYPE_F32, 0, NULL, (float[]){2})};
    st_value o = run_ok("Mul", 14, 2, in, NULL);
    cr_assert_eq(o.tensor.ndim, 2);
    cr_assert_eq(o.tensor.dims[0], 0);
    cr_assert_eq(o.tensor.dims[1], 3);
    st_value_clear(&o);
    st_tensor sc[2] = {ut_tensor(ST_DTYPE_F32, 0, NULL, (float[]){3}), in[1]};
    o = run_ok("Pow", 15, 2, sc, NULL);
    cr_assert_eq(o.tensor.ndim, 0);
    cr_assert_float_eq(((float *)o.tensor.data)[0], 9, 1e-6);
    st_value_clear(&o);
    clear_all(in, 2);
    st_tensor_clear(&sc[0]);
}

static void attr_legacy_axis1(st_graph *g, st_node *n) {
    st_node_add_attr(g, n, "broadcast", ST_ATTR_INT)->i = 1;
    st_node_add_attr(g, n, "axis", ST_ATTR_INT)->i = 1;
}

Test(elementwise, legacy_broadcast_axis) {
    float a[12], b[] = {100, 200, 300};
    for (int i = 0; i < 12; i++) a[i] = (float)i;
    st_tensor in[2] = {ut_tensor(ST_DTYPE_F32, 3, (int64_t[]){2, 3, 2}, a),
                       ut_tensor(ST_DTYPE_F32, 1, (int64_t[]){3}, b)};
    st_value o = run_ok("Add", 6, 2, in, attr_legacy_axis1);
    const float *y = o.tensor.data;
    for (int i = 0; i < 12; i++) cr_assert_float_eq(y[i], a[i] + b[(i / 2) % 3], 0);
    st_value_clear(&o);
    clear_all(in, 2);
}

static void attr_to_bf16(st_graph *g, st_node *n) {
    st_node_add_attr(g, n, "to", ST_ATTR_INT)->i = ST_DTYPE_BF16;
}

Test(elementwise, cast_bf16_truncates_and_bool_text) {
    float x[] = {0.47892547f, NAN};
    st_tensor in[1] = {ut_tensor(ST_DTYPE_F32, 1, (int64_t[]){2}, x)};
    st_value o = run_ok("Cast", 13, 1, in, attr_to_bf16);
    uint32_t u;
    memcpy(&u, &x[0], 4);
    cr_assert_eq(((uint16_t *)o.tensor.data)[0], (uint16_t)(u >> 16));
    cr_assert(isnan(st_bf16_to_f32(((uint16_t *)o.tensor.data)[1])));
    st_value_clear(&o);
    clear_all(in, 1);
    uint8_t bv[] = {1, 0};
    st_tensor bi[1] = {ut_tensor(ST_DTYPE_BOOL, 1, (int64_t[]){2}, bv)};
    o = run_ok("Cast", 13, 1, bi, attr_to_string);
    cr_assert_str_eq(((st_str *)o.tensor.data)[0].data, "True");
    cr_assert_str_eq(((st_str *)o.tensor.data)[1].data, "False");
    st_value_clear(&o);
    clear_all(bi, 1);
}

Test(elementwise, type_mismatch_is_an_error) {
    st_tensor in[2] = {ut_tensor(ST_DTYPE_F32, 1, (int64_t[]){2}, NULL),
                       ut_tensor(ST_DTYPE_I32, 1, (int64_t[]){2}, NULL)};
    st_value o;
    st_error err = {0};
    cr_assert_neq(run_op("Add", 14, 2, in, NULL, 1, &o, &err), ST_OK);
    cr_assert(strstr(err.msg, "int32"), "%s", err.msg);
    st_tensor bad[2] = {ut_tensor(ST_DTYPE_F32, 1, (int64_t[]){2}, NULL),
                        ut_tensor(ST_DTYPE_F32, 1, (int64_t[]){3}, NULL)};
    cr_assert_neq(run_op("Add", 14, 2, bad, NULL, 1, &o, &err), ST_OK);
    cr_assert(strstr(err.msg, "broadcast"), "%s", err.msg);
    clear_all(in, 2);
    clear_all(bad, 2);
}

Test(elementwise, cast_same_type_is_a_view_with_equal_values) {
    float x[] = {1.5f, -2.f, 3.25f};
    st_tensor in[1] = {ut_tensor(ST_DTYPE_F32, 1, (int64_t[]){3}, x)};
    st_value o = run_ok("Cast", 13, 1, in, attr_to_float);
    cr_assert_eq(o.tensor.dtype, ST_DTYPE_F32);
    for (int i = 0; i < 3; i++) cr_assert_float_eq(((float *)o.tensor.data)[i], x[i], 0);
    st_value_clear(&o);
    clear_all(in, 1);
}

/* The float32 kernels use their own vectorizable exp/log/tanh/erf; the float64 kernels
 * use libm. Both run on the same values and must agree within a few float32 ulp. */
static void compare_f32_with_f64(const char *op, float lo, float hi) {
    enum { N = 20001 };
    st_tensor xf = ut_tensor(ST_DTYPE_F32, 1, (int64_t[]){N}, NULL),
              xd = ut_tensor(ST_DTYPE_F64, 1, (int64_t[]){N}, NULL);
    for (int i = 0; i < N; i++) {
        float v = lo + (hi - lo) * (float)i / (N - 1);
        ((float *)xf.data)[i] = v;
        ((double *)xd.data)[i] = v;
    }
    st_value of = run_ok(op, 17, 1, &xf, NULL), od = run_ok(op, 17, 1, &xd, NULL);
    for (int i = 0; i < N; i++) {
        float got = ((float *)of.tensor.data)[i];
        double want = ((double *)od.tensor.data)[i];
        double tol = 4 * fabs(want) * 5.96e-8 + 1e-37;
        if (isinf((float)want) || isnan(want)) { /* beyond float32's range: inf too */
            cr_assert(!!isinf(got) == !!isinf((float)want) && !!isnan(got) == !!isnan(want),
                      "%s(%g)", op, ((float *)xf.data)[i]);
            continue;
        }
        cr_assert(fabs(got - want) <= tol, "%s(%.9g) = %.9g, want %.17g", op, ((float *)xf.data)[i],
                  got, want);
    }
    st_value_clear(&of);
    st_value_clear(&od);
    st_tensor_clear(&xf);
    st_tensor_clear(&xd);
}

Test(elementwise, fast_float32_math_matches_float64) {
    compare_f32_with_f64("Exp", -100, 89);
    compare_f32_with_f64("Tanh", -12, 12);
    compare_f32_with_f64("Erf", -5, 5);
    compare_f32_with_f64("Sigmoid", -80, 30);
    compare_f32_with_f64("Log", 1e-30f, 1e30f);
    compare_f32_with_f64("Log", 0, 3);
    compare_f32_with_f64("Softplus", -80, 80);
}

/* Broadcast Add of a[da] + b[db] against index arithmetic, over shapes that exercise
 * row collapsing, short-row tiling (with the repeated row changing along outer axes), and
 * chunks that start mid-row. */
static void check_add_shapes(int na, const int64_t *da, int nb, const int64_t *db) {
    st_tensor in[2] = {ut_tensor(ST_DTYPE_F32, na, da, NULL),
                       ut_tensor(ST_DTYPE_F32, nb, db, NULL)};
    size_t n0 = st_tensor_nelem(&in[0]), n1 = st_tensor_nelem(&in[1]);
    for (size_t i = 0; i < n0; i++) ((float *)in[0].data)[i] = (float)(i % 1013);
    for (size_t i = 0; i < n1; i++) ((float *)in[1].data)[i] = (float)(i % 977) * 1024.0f;
    st_value o = run_ok("Add", 14, 2, in, NULL);
    int nd = o.tensor.ndim;
    int64_t sa[ST_MAX_RANK], sb[ST_MAX_RANK];
    st_broadcast_strides(&in[0], nd, o.tensor.dims, sa);
    st_broadcast_strides(&in[1], nd, o.tensor.dims, sb);
    size_t n = st_tensor_nelem(&o.tensor);
    for (size_t i = 0; i < n; i++) {
        size_t rem = i;
        int64_t oa = 0, ob = 0;
        for (int d = nd - 1; d >= 0; d--) {
            int64_t id = (int64_t)(rem % (size_t)o.tensor.dims[d]);
            rem /= (size_t)o.tensor.dims[d];
            oa += id * sa[d];
            ob += id * sb[d];
        }
        float want = ((float *)in[0].data)[oa] + ((float *)in[1].data)[ob];
        cr_assert_eq(((float *)o.tensor.data)[i], want, "element %zu", i);
    }
    st_value_clear(&o);
    clear_all(in, 2);
}

Test(elementwise, broadcast_shapes_match_index_arithmetic) {
    check_add_shapes(2, (int64_t[]){100000, 3}, 1, (int64_t[]){3});
    check_add_shapes(1, (int64_t[]){3}, 2, (int64_t[]){100000, 3});
    check_add_shapes(3, (int64_t[]){4, 1, 3}, 3, (int64_t[]){4, 30000, 3});
    check_add_shapes(3, (int64_t[]){50, 700, 5}, 2, (int64_t[]){700, 5});
    check_add_shapes(3, (int64_t[]){50, 700, 5}, 3, (int64_t[]){50, 1, 5});
    check_add_shapes(4, (int64_t[]){8, 16, 32, 33}, 4, (int64_t[]){1, 16, 1, 1});
    check_add_shapes(2, (int64_t[]){7000, 1}, 1, (int64_t[]){64});
    check_add_shapes(3, (int64_t[]){3, 1, 40000}, 3, (int64_t[]){1, 2, 1});
}

Test(elementwise, short_fused_rows_with_changing_tiles) {
    check_add_shapes(3, (int64_t[]){4000, 1, 3}, 3, (int64_t[]){4000, 2, 3});
    check_add_shapes(3, (int64_t[]){2, 5, 7}, 3, (int64_t[]){2, 1, 7});
    check_add_shapes(2, (int64_t[]){1, 1}, 2, (int64_t[]){5, 1});
}

static void attr_tanh(st_graph *g, st_node *n) {
    st_attr *a = st_node_add_attr(g, n, "approximate", ST_ATTR_STRING);
    a->s.data = st_ir_strdup(g, "tanh");
    a->s.len = 4;
}
static void attr_alpha2(st_graph *g, st_node *n) {
    st_node_add_attr(g, n, "alpha", ST_ATTR_FLOAT)->f = 2;
}

/* Gelu-20 (erf and tanh forms, float and double) and Swish-24 (alpha 2), against Python's
 * math.erf / math.tanh / math.exp. */
Test(elementwise, gelu_swish) {
    static const double x[4] = {-1, 0, 1, 2};
    static const double erf_w[4] = {-0.15865525393145707, 0, 0.8413447460685429,
                                    1.9544997361036416};
    static const double tanh_w[4] = {-0.15880800939172324, 0, 0.8411919906082768,
                                     1.954597694087775};
    static const double swish_w[4] = {-0.11920292202211755, 0, 0.8807970779778823,
                                      1.964027580075817};
    float xf[4] = {-1, 0, 1, 2};
    st_tensor in[2] = {ut_tensor(ST_DTYPE_F32, 1, (int64_t[]){4}, xf),
                       ut_tensor(ST_DTYPE_F64, 1, (int64_t[]){4}, x)};
    for (int t = 0; t < 2; t++) {
        double tol = t ? 1e-12 : 1e-6;
        st_value g = run_ok("Gelu", 20, 1, &in[t], NULL);
        st_value gt = run_ok("Gelu", 20, 1, &in[t], attr_tanh);
        st_value s = run_ok("Swish", 24, 1, &in[t], attr_alpha2);
        for (size_t i = 0; i < 4; i++) {
            cr_assert(fabs(st_tensor_get_f64(&g.tensor, i) - erf_w[i]) < tol, "gelu %zu", i);
            cr_assert(fabs(st_tensor_get_f64(&gt.tensor, i) - tanh_w[i]) < tol, "tanh %zu", i);
            cr_assert(fabs(st_tensor_get_f64(&s.tensor, i) - swish_w[i]) < tol, "swish %zu", i);
        }
        st_value_clear(&g);
        st_value_clear(&gt);
        st_value_clear(&s);
    }
    clear_all(in, 2);
}

static void attr_exact(st_graph *g, st_node *n) {
    st_attr *a = st_node_add_attr(g, n, "approximate", ST_ATTR_STRING);
    a->s.data = st_ir_strdup(g, "exact");
    a->s.len = 5;
}

Test(elementwise, gelu_bad_approximate) {
    float xf[1] = {1};
    st_tensor in = ut_tensor(ST_DTYPE_F32, 1, (int64_t[]){1}, xf);
    st_value o;
    st_error err = {0};
    cr_assert_neq(run_op("Gelu", 20, 1, &in, attr_exact, 1, &o, &err), ST_OK);
    cr_assert(strstr(err.msg, "approximate"), "%s", err.msg);
    st_tensor_clear(&in);
}

/* BitwiseAnd/Or/Xor broadcast a scalar over int8; BitwiseNot of uint16 and int32. */
Test(elementwise, bitwise_ops) {
    int8_t a[3] = {0x0f, -1, 5}, b[1] = {0x3c};
    st_tensor in[2] = {ut_tensor(ST_DTYPE_I8, 1, (int64_t[]){3}, a),
                       ut_tensor(ST_DTYPE_I8, 0, NULL, b)};
    static const char *const ops[3] = {"BitwiseAnd", "BitwiseOr", "BitwiseXor"};
    static const int8_t want[3][3] = {{0x0c, 0x3c, 4}, {0x3f, -1, 0x3d}, {0x33, -61, 0x39}};
    for (int k = 0; k < 3; k++) {
        st_value o = run_ok(ops[k], 18, 2, in, NULL);
        cr_assert_eq(o.tensor.dtype, ST_DTYPE_I8);
        for (int i = 0; i < 3; i++)
            cr_assert_eq(((int8_t *)o.tensor.data)[i], want[k][i], "%s %d", ops[k], i);
        st_value_clear(&o);
    }
    clear_all(in, 2);
    uint16_t u[2] = {0, 0x00ff};
    int32_t s[2] = {0, -5};
    st_tensor nu = ut_tensor(ST_DTYPE_U16, 1, (int64_t[]){2}, u);
    st_tensor ns = ut_tensor(ST_DTYPE_I32, 1, (int64_t[]){2}, s);
    st_value o = run_ok("BitwiseNot", 18, 1, &nu, NULL);
    cr_assert_eq(((uint16_t *)o.tensor.data)[0], 0xffff);
    cr_assert_eq(((uint16_t *)o.tensor.data)[1], 0xff00);
    st_value_clear(&o);
    o = run_ok("BitwiseNot", 18, 1, &ns, NULL);
    cr_assert_eq(((int32_t *)o.tensor.data)[0], -1);
    cr_assert_eq(((int32_t *)o.tensor.data)[1], 4);
    st_value_clear(&o);
    st_tensor_clear(&nu);
    st_tensor_clear(&ns);
    float f[1] = {1}; /* floats have no bits to flip */
    st_tensor fl = ut_tensor(ST_DTYPE_F32, 1, (int64_t[]){1}, f);
    st_error err = {0};
    cr_assert_neq(run_op("BitwiseNot", 18, 1, &fl, NULL, 1, &o, &err), ST_OK);
    st_tensor_clear(&fl);
}
