/* tests/unit/test_exec.c: the executor on small graphs built in memory — planned runs agree
 * with the first run, folding of constant subgraphs, shape changes between runs, shapes
 * that depend on data inside a signature, the missing-operator report, input validation,
 * kept intermediates, and allocation failure at every step of load-and-run. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "unit_util.h"

/* A tiny graph builder: values by name, nodes by op and names. */
typedef struct gb {
    st_model *m;
    st_graph *g;
} gb;

static gb gb_new(int64_t opset) {
    gb b;
    b.m = ut_model_new(opset);
    b.g = b.m->graph;
    b.g->inputs = st_ir_alloc(b.g, sizeof(int) * 8);
    b.g->outputs = st_ir_alloc(b.g, sizeof(int) * 8);
    return b;
}

static void gb_input(gb *b, const char *name, st_dtype dt, int rank) {
    int v = st_graph_value(b->g, name);
    b->g->values[v].role = ST_VALUE_INPUT;
    b->g->values[v].type.kind = ST_VAL_TENSOR;
    b->g->values[v].type.dtype = dt;
    b->g->values[v].type.rank = rank;
    if (rank > 0) {
        b->g->values[v].type.dims = st_ir_alloc(b->g, sizeof(st_dim) * (size_t)rank);
        for (int d = 0; d < rank; d++) b->g->values[v].type.dims[d].value = -1;
    }
    b->g->inputs[b->g->n_inputs++] = v;
}

static void gb_init_i64(gb *b, const char *name, int n, const int64_t *vals) {
    int v = st_graph_value(b->g, name);
    b->g->values[v].role = ST_VALUE_INITIALIZER;
    b->g->values[v].has_const = true;
    int64_t dims[1] = {n};
    st_error err;
    cr_assert_eq(st_tensor_alloc(&b->g->values[v].const_val, ST_DTYPE_I64, 1, dims, &err), ST_OK);
    memcpy(b->g->values[v].const_val.data, vals, sizeof(int64_t) * (size_t)n);
}

static st_node *gb_node(gb *b, const char *op, const char *domain, const char *in0, const char *in1,
                        const char *out) {
    int nin = in1 ? 2 : in0 ? 1 : 0;
    char name[64];
    snprintf(name, sizeof name, "%s_%zu", op, b->g->n_nodes);
    st_node *n = st_graph_add_node(b->g, op, domain, name, nin, 1);
    if (in0) n->inputs[0] = st_graph_value(b->g, in0);
    if (in1) n->inputs[1] = st_graph_value(b->g, in1);
    n->outputs[0] = st_graph_value(b->g, out);
    return n;
}

static void gb_output(gb *b, const char *name) {
    b->g->outputs[b->g->n_outputs++] = st_graph_value(b->g, name);
}

static st_session *gb_session(gb *b, bool keep) {
    st_graph_index(b->g);
    st_ops_resolve(b->m);
    st_session_opts so = st_session_opts_default();
    so.threads = 2;
    so.keep_intermediates = keep;
    st_session *s = NULL;
    st_error err;
    st_status st = st_session_new(b->m, &so, &s, &err);
    cr_assert_eq(st, ST_OK, "%s", err.msg);
    return s;
}

static st_value f32_value(int ndim, const int64_t *dims, float start) {
    st_value v;
    memset(&v, 0, sizeof v);
    st_error err;
    cr_assert_eq(st_tensor_alloc(&v.tensor, ST_DTYPE_F32, ndim, dims, &err), ST_OK);
    v.kind = ST_VAL_TENSOR;
    float *p = v.tensor.data;
    for (size_t i = 0; i < st_tensor_nelem(&v.tensor); i++)
        p[i] = start + (float)i * ((i % 2) ? -1.f : 1.f);
    return v;
}

/* y = Relu(x) + x ; z = Relu(y) : planned runs must match the first (unplanned) run */
Test(exec, planned_runs_match_first_run) {
    gb b = gb_new(17);
    gb_input(&b, "x", ST_DTYPE_F32, 2);
    gb_node(&b, "Relu", "", "x", NULL, "r");
    gb_node(&b, "Add", "", "r", "x", "y");
    gb_node(&b, "Relu", "", "y", NULL, "z");
    gb_output(&b, "z");
    st_session *s = gb_session(&b, false);
    int64_t dims[2] = {3, 5};
    st_value x = f32_value(2, dims, -4.f);
    const char *names[] = {"x"};
    st_error err;
    for (int run = 0; run < 3; run++) {
        st_value *out;
        cr_assert_eq(st_session_run(s, 1, names, &x, &out, &err), ST_OK, "%s", err.msg);
        const float *px = x.tensor.data, *pz = out[0].tensor.data;
        for (int i = 0; i < 15; i++) {
            float r = px[i] > 0 ? px[i] : 0, y = r + px[i];
            cr_assert_float_eq(pz[i], y > 0 ? y : 0, 0, "run %d element %d", run, i);
        }
        st_values_free(out, 1);
    }
    st_value_clear(&x);
    st_session_free(s);
    st_model_release(b.m);
}

/* Shape -> Reshape: folded into constants, the reshape is a view; then a new input shape
 * makes the executor prepare again with the new signature. */
Test(exec, signature_change_reprepares) {
    gb b = gb_new(17);
    gb_input(&b, "x", ST_DTYPE_F32, 2);
    int64_t flat[1] = {-1};
    gb_init_i64(&b, "flat", 1, flat);
    gb_node(&b, "Shape", "", "x", NULL, "shp");
    gb_node(&b, "Reshape", "", "x", "flat", "v");
    gb_node(&b, "Neg", "", "v", NULL, "y");
    gb_output(&b, "y");
    gb_output(&b, "shp");
    st_session *s = gb_session(&b, false);
    const char *names[] = {"x"};
    st_error err;
    int64_t shapes[3][2] = {{2, 3}, {4, 5}, {2, 3}};
    for (int run = 0; run < 3; run++) {
        st_value x = f32_value(2, shapes[run], 1.f), *out;
        cr_assert_eq(st_session_run(s, 1, names, &x, &out, &err), ST_OK, "%s", err.msg);
        size_t n = (size_t)(shapes[run][0] * shapes[run][1]);
        cr_assert_eq(out[0].tensor.ndim, 1);
        cr_assert_eq(out[0].tensor.dims[0], (int64_t)n);
        for (size_t i = 0; i < n; i++)
            cr_assert_float_eq(((float *)out[0].tensor.data)[i], -((float *)x.tensor.data)[i], 0);
        cr_assert_eq(((int64_t *)out[1].tensor.data)[0], shapes[run][0]);
        cr_assert_eq(((int64_t *)out[1].tensor.data)[1], shapes[run][1]);
        st_values_free(out, 2);
        st_value_clear(&x);
    }
    st_session_free(s);
    st_model_release(b.m);
}

/* NonZero's output length depends on data: the consumer must be prepared again when it
 * changes, within one input signature. */
Test(exec, data_dependent_shapes_within_a_signature) {
    gb b = gb_new(17);
    gb_input(&b, "x", ST_DTYPE_F32, 1);
    gb_node(&b, "NonZero", "", "x", NULL, "nz");
    gb_node(&b, "Neg", "", "nz", NULL, "y");
    gb_output(&b, "y");
    st_session *s = gb_session(&b, false);
    const char *names[] = {"x"};
    st_error err;
    int64_t dims[1] = {6};
    const float data[3][6] = {{0, 1, 0, 1, 0, 0}, {1, 1, 1, 1, 1, 1}, {0, 0, 0, 0, 0, 0}};
    const int64_t counts[3] = {2, 6, 0};
    for (int run = 0; run < 3; run++) {
        st_value x = f32_value(1, dims, 0), *out;
        memcpy(x.tensor.data, data[run], sizeof data[run]);
        cr_assert_eq(st_session_run(s, 1, names, &x, &out, &err), ST_OK, "%s", err.msg);
        cr_assert_eq(out[0].tensor.ndim, 2);
        cr_assert_eq(out[0].tensor.dims[1], counts[run], "run %d", run);
        int64_t k = 0;
        for (int i = 0; i < 6; i++)
            if (data[run][i] != 0) cr_assert_eq(((int64_t *)out[0].tensor.data)[k++], -(int64_t)i);
        st_values_free(out, 1);
        st_value_clear(&x);
    }
    st_session_free(s);
    st_model_release(b.m);
}

Test(exec, missing_operators_listed_with_counts) {
    gb b = gb_new(17);
    gb_input(&b, "x", ST_DTYPE_F32, 1);
    gb_node(&b, "Frobnicate", "", "x", NULL, "a");
    gb_node(&b, "Frobnicate", "", "a", NULL, "b");
    gb_node(&b, "Twiddle", "com.example", "b", NULL, "c");
    gb_node(&b, "Relu", "", "c", NULL, "y");
    gb_output(&b, "y");
    st_graph_index(b.g);
    st_ops_resolve(b.m);
    st_session *s = NULL;
    st_error err;
    cr_assert_eq(st_session_new(b.m, NULL, &s, &err), ST_ERR_UNSUPPORTED);
    cr_assert_null(s);
    cr_assert(strstr(err.msg, "2 operators"), "%s", err.msg);
    cr_assert(strstr(err.msg, "Frobnicate (2 nodes)"), "%s", err.msg);
    cr_assert(strstr(err.msg, "com.example::Twiddle (1 node)"), "%s", err.msg);
    cr_assert_null(strstr(err.msg, "Relu"), "%s", err.msg);
    st_model_release(b.m);
}

Test(exec, inputs_are_validated) {
    gb b = gb_new(17);
    gb_input(&b, "x", ST_DTYPE_F32, 2);
    gb_node(&b, "Relu", "", "x", NULL, "y");
    gb_output(&b, "y");
    st_session *s = gb_session(&b, false);
    st_error err;
    st_value *out = NULL;
    int64_t d1[1] = {4};
    st_value x = f32_value(1, d1, 0);
    const char *names[] = {"x"}, *bad[] = {"nope"};
    cr_assert_eq(st_session_run(s, 1, names, &x, &out, &err), ST_ERR_INVALID);
    cr_assert(strstr(err.msg, "expected rank 2, got rank 1"), "%s", err.msg);
    cr_assert_eq(st_session_run(s, 1, bad, &x, &out, &err), ST_ERR_INVALID);
    cr_assert(strstr(err.msg, "no input named \"nope\""), "%s", err.msg);
    cr_assert_eq(st_session_run(s, 0, NULL, NULL, &out, &err), ST_ERR_INVALID);
    cr_assert(strstr(err.msg, "\"x\" was not given"), "%s", err.msg);
    st_value_clear(&x);
    int64_t d2[2] = {2, 2};
    st_value xi;
    memset(&xi, 0, sizeof xi);
    cr_assert_eq(st_tensor_alloc(&xi.tensor, ST_DTYPE_I64, 2, d2, &err), ST_OK);
    xi.kind = ST_VAL_TENSOR;
    cr_assert_eq(st_session_run(s, 1, names, &xi, &out, &err), ST_ERR_INVALID);
    cr_assert(strstr(err.msg, "expected float32, got int64"), "%s", err.msg);
    cr_assert_null(out);
    st_value_clear(&xi);
    st_session_free(s);
    st_model_release(b.m);
}

Test(exec, intermediates_kept_on_request) {
    gb b = gb_new(17);
    gb_input(&b, "x", ST_DTYPE_F32, 1);
    gb_node(&b, "Neg", "", "x", NULL, "mid");
    gb_node(&b, "Relu", "", "mid", NULL, "y");
    gb_output(&b, "y");
    st_session *s = gb_session(&b, true);
    int64_t dims[1] = {4};
    st_value x = f32_value(1, dims, 2.f), *out;
    const char *names[] = {"x"};
    st_error err;
    cr_assert_eq(st_session_run(s, 1, names, &x, &out, &err), ST_OK, "%s", err.msg);
    const st_value *mid = st_session_value(s, "mid");
    cr_assert(mid && mid->kind == ST_VAL_TENSOR);
    for (int i = 0; i < 4; i++)
        cr_assert_float_eq(((float *)mid->tensor.data)[i], -((float *)x.tensor.data)[i], 0);
    cr_assert_null(st_session_value(s, "no such value"));
    st_values_free(out, 1);
    st_value_clear(&x);
    st_session_free(s);
    st_model_release(b.m);
}

/* Fail the Nth allocation for N = 1, 2, ... until building, loading and running succeed:
 * every failure must be reported as a status (ASan runs of this test catch leaks). */
Test(exec, allocation_failures_are_reported) {
    bool done = false;
    for (long n = 1; n < 5000 && !done; n++) {
        st_alloc_fail_after(0);
        gb b = gb_new(17);
        gb_input(&b, "x", ST_DTYPE_F32, 2);
        gb_node(&b, "Relu", "", "x", NULL, "r");
        gb_node(&b, "Add", "", "r", "x", "y");
        gb_output(&b, "y");
        st_graph_index(b.g);
        st_ops_resolve(b.m);
        int64_t dims[2] = {2, 3};
        st_value x = f32_value(2, dims, -1.f), *out = NULL;
        const char *names[] = {"x"};
        st_error err;
        st_session *s = NULL;
        st_alloc_fail_after(n);
        st_status st = st_session_new(b.m, NULL, &s, &err);
        if (!st) st = st_session_run(s, 1, names, &x, &out, &err);
        st_alloc_fail_after(0);
        if (!st) {
            done = true;
            /* x = [-1, -2, 1, -4, 3, -6]: y = relu(x) + x */
            cr_assert_float_eq(((float *)out[0].tensor.data)[1], -2.f, 0);
            cr_assert_float_eq(((float *)out[0].tensor.data)[2], 2.f, 0);
            st_values_free(out, 1);
        } else {
            cr_assert_eq(st, ST_ERR_NOMEM, "allocation %ld: %s", n, err.msg);
        }
        st_session_free(s);
        st_value_clear(&x);
        st_model_release(b.m);
    }
    cr_assert(done, "never succeeded");
}
