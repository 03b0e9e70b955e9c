/* tests/unit/test_api.c: the public API's error convention — a failure returns the same
 * status whether or not the caller passed an st_error, and leaves *out unwritten — for a
 * node failing in prepare, missing operators, bad input names, missing and truncated files;
 * and st_test_control's save fault in test builds (armed once, written, model unchanged). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "unit_util.h"

#define SHAPES_ONNX STELE_SOURCE_DIR "/models/shapes.onnx"

/* ---- a node that fails in prepare -------------------------------------------------------- */

/* Sqrt of a string tensor, run through st_session_run with err (or NULL); *msg gets the
 * message when err is used. */
static st_status run_sqrt_of_string(bool with_err, char *msg, size_t n) {
    ut_one o = ut_one_new("Sqrt", "", 13, 1, 1);
    int64_t dims[1] = {2};
    const char *words[] = {"four", "nine"};
    st_value in = ut_value(ST_DTYPE_STRING, 1, dims, words);
    st_value *outs = NULL;
    st_error err;
    memset(&err, 0, sizeof err);
    st_status s = ut_one_run(&o, &in, NULL, &outs, with_err ? &err : NULL);
    cr_assert_null(outs, "a failed run wrote its outputs");
    if (with_err) {
        cr_assert_eq(err.status, s, "st_error.status %d, returned %d", err.status, s);
        snprintf(msg, n, "%s", err.msg);
    }
    ut_one_done(&o, NULL);
    return s;
}

Test(api, node_failing_in_prepare_same_status_with_and_without_err) {
    char msg[ST_ERROR_MSG_MAX];
    st_status with = run_sqrt_of_string(true, msg, sizeof msg);
    st_status without = run_sqrt_of_string(false, NULL, 0);
    cr_assert_eq(with, ST_ERR_UNSUPPORTED, "with err: %s (%s)", st_status_str(with), msg);
    cr_assert_eq(without, with, "without err: %s, with err: %s", st_status_str(without),
                 st_status_str(with));
    cr_assert(strstr(msg, "\"node\"") && strstr(msg, "Sqrt"), "message names the node: %s", msg);
}

/* ---- session creation and input binding -------------------------------------------------- */

/* A model of one node op(x) -> y, resolved. */
static st_model *one_node_model(const char *op) {
    ut_one o = ut_one_new(op, "", 17, 1, 1);
    int x = st_graph_value(o.g, "x"), y = st_graph_value(o.g, "y");
    o.g->values[x].role = ST_VALUE_INPUT;
    o.g->inputs = st_ir_alloc(o.g, sizeof(int));
    o.g->outputs = st_ir_alloc(o.g, sizeof(int));
    o.g->inputs[o.g->n_inputs++] = x;
    o.g->outputs[o.g->n_outputs++] = y;
    o.n->inputs[0] = x;
    o.n->outputs[0] = y;
    o.g->values[y].producer = 0;
    st_graph_index(o.g);
    st_ops_resolve(o.m);
    return o.m;
}

Test(api, missing_operator_same_status_with_and_without_err) {
    st_model *m = one_node_model("Frobnicate");
    st_session *s = (st_session *)&m; /* a sentinel: must stay untouched */
    st_session *const sentinel = s;
    st_error err;
    st_status with = st_session_new(m, NULL, &s, &err);
    cr_assert_eq(with, ST_ERR_UNSUPPORTED, "%s", err.msg);
    cr_assert(strstr(err.msg, "Frobnicate"), "%s", err.msg);
    st_status without = st_session_new(m, NULL, &s, NULL);
    cr_assert_eq(without, with);
    cr_assert_eq(s, sentinel, "*out written on failure");
    st_model_release(m);
}

Test(api, unknown_input_name_same_status_with_and_without_err) {
    st_model *m = one_node_model("Relu");
    st_session *s;
    st_error err;
    cr_assert_eq(st_session_new(m, NULL, &s, &err), ST_OK, "%s", err.msg);
    int64_t dims[1] = {3};
    float data[3] = {-1, 0, 2};
    st_value in = ut_value(ST_DTYPE_F32, 1, dims, data);
    const char *bad[] = {"nope"};
    st_value *outs = NULL;
    st_status with = st_session_run(s, 1, bad, &in, &outs, &err);
    cr_assert_eq(with, ST_ERR_INVALID, "%s", err.msg);
    cr_assert_eq(st_session_run(s, 1, bad, &in, &outs, NULL), with);
    cr_assert_null(outs);
    /* and the session still runs correctly afterwards */
    const char *good[] = {"x"};
    cr_assert_eq(st_session_run(s, 1, good, &in, &outs, &err), ST_OK, "%s", err.msg);
    const float *y0 = outs[0].tensor.data;
    cr_assert(y0[0] == 0 && y0[1] == 0 && y0[2] == 2);
    st_values_free(outs, st_session_n_outputs(s));
    st_value_clear(&in);
    st_session_free(s);
    st_model_release(m);
}

/* ---- loading files ------------------------------------------------------------------------ */

/* Load path with and without err; both must fail with the same status, which is returned.
 * *out must stay untouched. */
static st_status load_fails_alike(const char *path, char *msg, size_t n) {
    st_model *m = (st_model *)&m, *const sentinel = m;
    st_error err;
    st_status with = st_model_load(path, NULL, &m, &err);
    cr_assert_neq(with, ST_OK, "%s loaded", path);
    cr_assert_eq(err.status, with);
    snprintf(msg, n, "%s", err.msg);
    st_status without = st_model_load(path, NULL, &m, NULL);
    cr_assert_eq(without, with, "%s: %s without err, %s with err (%s)", path,
                 st_status_str(without), st_status_str(with), msg);
    cr_assert_eq(m, sentinel, "%s: *out written on failure", path);
    return with;
}

Test(api, missing_file_same_status_with_and_without_err) {
    char msg[ST_ERROR_MSG_MAX];
    cr_assert_eq(load_fails_alike("/nonexistent/stele/model.onnx", msg, sizeof msg), ST_ERR_IO,
                 "%s", msg);
    cr_assert(strstr(msg, "/nonexistent/stele/model.onnx"), "message names the file: %s", msg);
}

/* Every truncation of shapes.onnx at these lengths fails alike with and without err. */
Test(api, truncated_file_same_status_with_and_without_err) {
    FILE *f = fopen(SHAPES_ONNX, "rb");
    cr_assert_not_null(f, "cannot open %s", SHAPES_ONNX);
    static unsigned char bytes[1 << 20];
    size_t n = fread(bytes, 1, sizeof bytes, f);
    fclose(f);
    cr_assert(n > 4096 && n < sizeof bytes, "shapes.onnx is %zu bytes", n);
    char dir[256], path[300];
    ut_tmpdir(dir, sizeof dir, "stele-api");
    snprintf(path, sizeof path, "%s/cut.onnx", dir);
    size_t cuts[] = {1, 7, 64, 300, 1000, n / 2, n - 100, n - 1};
    for (size_t i = 0; i < ST_ARRAY_LEN(cuts); i++) {
        FILE *o = fopen(path, "wb");
        cr_assert_not_null(o);
        cr_assert_eq(fwrite(bytes, 1, cuts[i], o), cuts[i]);
        cr_assert_eq(fclose(o), 0);
        char msg[ST_ERROR_MSG_MAX];
        st_status s = load_fails_alike(path, msg, sizeof msg);
        cr_assert(s == ST_ERR_FORMAT || s == ST_ERR_IO, "cut at %zu: %s (%s)", cuts[i],
                  st_status_str(s), msg);
    }
    ut_rmtree(dir);
}

/* ---- st_test_control (test builds) -------------------------------------------------------- */
#ifdef STELE_TEST_HOOKS

/* Element 0 of the first floating-point initializer of m's main graph. */
static double first_weight(const st_model *m) {
    const st_graph *g = m->graph;
    for (size_t v = 0; v < g->n_values; v++) {
        const st_ir_value *iv = &g->values[v];
        if (iv->has_const && iv->role == ST_VALUE_INITIALIZER &&
            st_dtype_is_float(iv->const_val.dtype) && st_tensor_nelem(&iv->const_val))
            return st_tensor_get_f64(&iv->const_val, 0);
    }
    cr_assert_fail("no floating-point initializer");
    return 0;
}

static double saved_first_weight(const st_model *m, const char *path) {
    st_error err;
    cr_assert_eq(st_model_save(m, path, NULL, &err), ST_OK, "%s", err.msg);
    st_model *back;
    cr_assert_eq(st_model_load(path, NULL, &back, &err), ST_OK, "%s", err.msg);
    double w = first_weight(back);
    st_model_free(back);
    return w;
}

Test(api, test_control_save_fault_applies_once_and_leaves_the_model) {
    st_error err;
    st_model *m;
    cr_assert_eq(st_model_load(SHAPES_ONNX, NULL, &m, &err), ST_OK, "%s", err.msg);
    double w = first_weight(m), want = fabs(w) >= 1 ? w * 2 : w + 1;
    char dir[256], a[300], b[300], c[300];
    ut_tmpdir(dir, sizeof dir, "stele-api");
    snprintf(a, sizeof a, "%s/fault.onnx", dir);
    snprintf(b, sizeof b, "%s/after.onnx", dir);
    snprintf(c, sizeof c, "%s/disarmed.onnx", dir);

    cr_assert_eq(st_test_control(ST_TESTCTRL_SAVE_FAULT, ST_TESTFAULT_PERTURB_FIRST_WEIGHT), ST_OK);
    cr_assert_float_eq(saved_first_weight(m, a), want, 1e-6 * (1 + fabs(want)));
    cr_assert_eq(first_weight(m), w, "the model was left perturbed");
    cr_assert_eq(saved_first_weight(m, b), w, "the fault applied to a second save");

    cr_assert_eq(st_test_control(ST_TESTCTRL_SAVE_FAULT, ST_TESTFAULT_PERTURB_FIRST_WEIGHT), ST_OK);
    cr_assert_eq(st_test_control(ST_TESTCTRL_SAVE_FAULT, ST_TESTFAULT_NONE), ST_OK);
    cr_assert_eq(saved_first_weight(m, c), w, "ST_TESTFAULT_NONE did not disarm");

    cr_assert_eq(st_test_control(ST_TESTCTRL_SAVE_FAULT, ST_TESTFAULT_COUNT), ST_ERR_INVALID);
    cr_assert_eq(st_test_control(ST_TESTCTRL_COUNT, 0), ST_ERR_INVALID);
    cr_assert_eq(st_test_control(0), ST_ERR_INVALID);
    st_model_free(m);
    ut_rmtree(dir);
}

#endif

/* ---- out of memory through the public API ------------------------------------------------ */

/* Load (import and static inference), open a session and run shapes.onnx on a filled
 * square, failing allocation number fail_at (0: none). *probs gets the 4 class scores. */
static st_status load_and_run(long fail_at, float probs[4], bool *wrote, bool *fired) {
    st_model *m = NULL;
    st_session *s = NULL;
    st_value *out = NULL;
    st_error err;
    int64_t dims[4] = {1, 1, 32, 32};
    st_value x = {.kind = ST_VAL_TENSOR};
    cr_assert_eq(st_tensor_alloc(&x.tensor, ST_DTYPE_F32, 4, dims, NULL), ST_OK);
    float *px = x.tensor.data;
    for (int i = 8; i < 24; i++)
        for (int j = 8; j < 24; j++) px[i * 32 + j] = 1.f;
    const char *names[] = {"image"};
    st_alloc_fail_after(fail_at);
    st_status st = st_model_load(SHAPES_ONNX, NULL, &m, &err);
    if (!st) st = st_session_new(m, NULL, &s, &err);
    if (!st) st = st_session_run(s, 1, names, &x, &out, &err);
    *fired = fail_at > 0 && st_alloc_fail_after(0) == 0;
    *wrote = out != NULL;
    if (!st) {
        memcpy(probs, out[0].tensor.data, 4 * sizeof(float));
        st_values_free(out, 1);
    }
    st_session_free(s);
    st_model_free(m);
    st_value_clear(&x);
    return st;
}

/* Fail the Nth allocation for N = 1, 2, ... until load, inference, session and run make
 * fewer than N allocations: each failure is ST_ERR_NOMEM with no outputs written, or is
 * absorbed by a cache that falls back (the name index) and changes no result: every run
 * that succeeds gives the same scores, bit for bit, as a run without failures. */
Test(api, every_allocation_failure_in_load_infer_and_run_is_nomem) {
    float want[4], got[4];
    bool wrote, fired = true;
    cr_assert_eq(load_and_run(0, want, &wrote, &fired), ST_OK);
    long n = 1, failed = 0;
    for (; n < 50000; n++) {
        st_status st = load_and_run(n, got, &wrote, &fired);
        if (!fired) break;
        if (st) {
            failed++;
            cr_assert_eq(st, ST_ERR_NOMEM, "allocation %ld: %s", n, st_status_str(st));
            cr_assert(!wrote, "allocation %ld: a failed run wrote its outputs", n);
        } else {
            cr_assert(!memcmp(want, got, sizeof want), "allocation %ld: scores differ", n);
        }
    }
    cr_assert_lt(n, 50000, "the fault never stopped firing");
    cr_assert_gt(failed, 100, "only %ld of %ld allocations failed the run", failed, n);
}
