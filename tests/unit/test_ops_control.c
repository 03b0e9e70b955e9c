/* tests/unit/test_ops_control.c: control flow, sequences and recurrent networks run through
 * a session on small models built in memory: a Loop whose body accumulates and emits scan
 * outputs (for, while and zero-iteration forms), subgraphs reading outer-scope values several
 * graphs up (and folds of them following the parent across runs), sequence ops chained
 * together, and LSTM / GRU checked against plain reference loops written here. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "op.h"
#include "unit_util.h"

/* ---- building models ------------------------------------------------------------- */

/* Node with inputs/outputs by name ("" = omitted). */
static st_node *add(st_graph *g, const char *op, int nin, const char *const *ins, int nout,
                    const char *const *outs) {
    st_node *n = st_graph_add_node(g, op, "", "", nin, nout);
    cr_assert(n);
    for (int i = 0; i < nin; i++) n->inputs[i] = ins[i][0] ? st_graph_value(g, ins[i]) : -1;
    for (int i = 0; i < nout; i++) {
        n->outputs[i] = outs[i][0] ? st_graph_value(g, outs[i]) : -1;
        if (n->outputs[i] >= 0) g->values[n->outputs[i]].producer = (int)(g->n_nodes - 1);
    }
    return n;
}

static void set_io(st_graph *g, int nin, const char *const *ins, int nout,
                   const char *const *outs) {
    g->inputs = st_ir_alloc(g, sizeof(int) * (size_t)(nin ? nin : 1));
    for (int i = 0; i < nin; i++) {
        int v = st_graph_value(g, ins[i]);
        g->values[v].role = ST_VALUE_INPUT;
        g->inputs[g->n_inputs++] = v;
    }
    g->outputs = st_ir_alloc(g, sizeof(int) * (size_t)(nout ? nout : 1));
    for (int i = 0; i < nout; i++) g->outputs[g->n_outputs++] = st_graph_value(g, outs[i]);
}

/* Run m on tensors (positional; dtype UNDEFINED = not given); outs gets every output. */
static st_status run_model(st_model *m, int nin, const st_tensor *ins, st_value **outs,
                           st_error *err) {
    st_graph_index(m->graph);
    st_value vin[8];
    const char *names[8];
    size_t nv = 0;
    for (int i = 0; i < nin; i++) {
        if (ins[i].dtype == ST_DTYPE_UNDEFINED) continue;
        memset(&vin[nv], 0, sizeof vin[nv]);
        vin[nv].kind = ST_VAL_TENSOR;
        vin[nv].tensor = ins[i];
        names[nv] = m->graph->values[m->graph->inputs[i]].name;
        nv++;
    }
    return ut_session_run(m, 2, nv, names, vin, outs, err);
}

/* ---- Loop ------------------------------------------------------------------------- */

/* Loop(M, cond, v) with body: v' = v + v, scan = v', cond' = cond. */
static st_model *loop_model(void) {
    st_model *m = ut_model_new(16);
    st_graph *g = m->graph, *body = st_graph_new(m, g);
    cr_assert(body);
    add(body, "Identity", 1, (const char *[]){"c"}, 1, (const char *[]){"c_out"});
    add(body, "Add", 2, (const char *[]){"v", "v"}, 1, (const char *[]){"v_out"});
    add(body, "Identity", 1, (const char *[]){"v_out"}, 1, (const char *[]){"scan"});
    set_io(body, 3, (const char *[]){"i", "c", "v"}, 3, (const char *[]){"c_out", "v_out", "scan"});
    /* the declared element type gives zero-iteration scan outputs their shape */
    st_type *ty = &body->values[body->outputs[2]].type;
    ty->kind = ST_VAL_TENSOR;
    ty->dtype = ST_DTYPE_F32;
    ty->rank = 1;
    ty->dims = st_ir_alloc(body, sizeof *ty->dims);
    ty->dims[0].value = 2;
    st_graph_index(body);
    st_node *n = add(g, "Loop", 3, (const char *[]){"M", "cond", "v0"}, 2,
                     (const char *[]){"v_final", "scans"});
    st_node_add_attr(g, n, "body", ST_ATTR_GRAPH)->g = body;
    set_io(g, 3, (const char *[]){"M", "cond", "v0"}, 2, (const char *[]){"v_final", "scans"});
    g->values[g->inputs[0]].type.optional = true;
    g->values[g->inputs[1]].type.optional = true;
    return m;
}

static void check_loop(int64_t trips, int given, int64_t want_iters) {
    st_model *m = loop_model();
    int64_t mval = trips;
    uint8_t cval = 1;
    float v0[] = {1, 2};
    st_tensor ins[3] = {ut_tensor(ST_DTYPE_I64, 0, NULL, &mval),
                        ut_tensor(ST_DTYPE_BOOL, 0, NULL, &cval),
                        ut_tensor(ST_DTYPE_F32, 1, (int64_t[]){2}, v0)};
    if (!(given & 1)) st_tensor_clear(&ins[0]);
    if (!(given & 2)) st_tensor_clear(&ins[1]);
    st_value *outs = NULL;
    st_error err = {0};
    cr_assert_eq(run_model(m, 3, ins, &outs, &err), ST_OK, "%s", err.msg);
    const st_tensor *vf = &outs[0].tensor, *sc = &outs[1].tensor;
    float scale = (float)(1 << want_iters);
    cr_assert_float_eq(((float *)vf->data)[1], 2 * scale, 1e-6);
    cr_assert_eq(sc->ndim, 2);
    cr_assert_eq(sc->dims[0], want_iters);
    cr_assert_eq(sc->dims[1], 2);
    for (int64_t i = 0; i < want_iters; i++)
        cr_assert_float_eq(((float *)sc->data)[i * 2], (float)(2 << i), 1e-6);
    st_values_free(outs, 2);
    for (int i = 0; i < 3; i++) st_tensor_clear(&ins[i]);
    st_model_release(m);
}

Test(control, loop_for) { check_loop(3, 1, 3); }
Test(control, loop_for_and_while) { check_loop(4, 3, 4); }
Test(control, loop_zero_trips) { check_loop(0, 3, 0); }

/* ---- outer-scope values at any depth ------------------------------------------------- */

static int find_value(const st_graph *g, const char *name) {
    for (size_t v = 0; v < g->n_values; v++)
        if (!strcmp(g->values[v].name, name)) return (int)v;
    return -1;
}

/* name as seen from g: its own value, or an outer reference in g and in every graph between
 * g and the one defining it (as the ONNX importer links them). */
static int link_outer(st_graph *g, const char *name) {
    int i = find_value(g, name);
    if (i >= 0) return i;
    cr_assert(g->parent, "\"%s\" is defined nowhere", name);
    int j = link_outer(g->parent, name);
    i = st_graph_value(g, name);
    g->values[i].role = ST_VALUE_OUTER;
    g->values[i].outer_index = j;
    return i;
}

/* A new subgraph of parent reading the outer values named. */
static st_graph *branch_graph(st_model *m, st_graph *parent, const char *const *outer,
                              int n_outer) {
    st_graph *b = st_graph_new(m, parent);
    cr_assert(b);
    for (int i = 0; i < n_outer; i++) link_outer(b, outer[i]);
    return b;
}

static void if_attrs(st_graph *g, st_node *n, st_graph *then_g, st_graph *else_g) {
    st_node_add_attr(g, n, "then_branch", ST_ATTR_GRAPH)->g = then_g;
    st_node_add_attr(g, n, "else_branch", ST_ATTR_GRAPH)->g = else_g;
}

/* main: m = x * x; Loop(M, cond, c0 = x) { t = c + x; If(flag) { b = t * m; If(flag) {
 * x + m + b + c + t } else { b } } else { t - m } }: the innermost branch reads a graph input,
 * a main-graph node's output, the enclosing branch's value, the carried value and the body's
 * own value, three graphs down. */
static void check_nested(uint8_t flag) {
    st_model *m = ut_model_new(17);
    st_graph *g = m->graph;
    add(g, "Mul", 2, (const char *[]){"x", "x"}, 1, (const char *[]){"m"});
    set_io(g, 4, (const char *[]){"M", "cond", "x", "flag"}, 1, (const char *[]){"c_final"});
    st_graph *body = st_graph_new(m, g);
    cr_assert(body);
    set_io(body, 3, (const char *[]){"i", "cb", "c"}, 2, (const char *[]){"cb_out", "c_out"});
    link_outer(body, "x");
    link_outer(body, "flag");
    add(body, "Add", 2, (const char *[]){"c", "x"}, 1, (const char *[]){"t"});
    add(body, "Identity", 1, (const char *[]){"cb"}, 1, (const char *[]){"cb_out"});
    st_graph *then1 = branch_graph(m, body, (const char *[]){"t", "m"}, 2);
    add(then1, "Mul", 2, (const char *[]){"t", "m"}, 1, (const char *[]){"b"});
    st_graph *then2 = branch_graph(m, then1, (const char *[]){"x", "m", "b", "c", "t"}, 5);
    add(then2, "Sum", 5, (const char *[]){"x", "m", "b", "c", "t"}, 1, (const char *[]){"r2"});
    set_io(then2, 0, NULL, 1, (const char *[]){"r2"});
    st_graph *else2 = branch_graph(m, then1, (const char *[]){"b"}, 1);
    add(else2, "Identity", 1, (const char *[]){"b"}, 1, (const char *[]){"r3"});
    set_io(else2, 0, NULL, 1, (const char *[]){"r3"});
    link_outer(then1, "flag");
    st_node *n = add(then1, "If", 1, (const char *[]){"flag"}, 1, (const char *[]){"r"});
    if_attrs(then1, n, then2, else2);
    set_io(then1, 0, NULL, 1, (const char *[]){"r"});
    st_graph *else1 = branch_graph(m, body, (const char *[]){"t", "m"}, 2);
    add(else1, "Sub", 2, (const char *[]){"t", "m"}, 1, (const char *[]){"e"});
    set_io(else1, 0, NULL, 1, (const char *[]){"e"});
    n = add(body, "If", 1, (const char *[]){"flag"}, 1, (const char *[]){"c_out"});
    if_attrs(body, n, then1, else1);
    st_graph *all[] = {body, then1, then2, else2, else1};
    for (int i = 0; i < 5; i++) st_graph_index(all[i]);
    n = add(g, "Loop", 3, (const char *[]){"M", "cond", "x"}, 1, (const char *[]){"c_final"});
    st_node_add_attr(g, n, "body", ST_ATTR_GRAPH)->g = body;
    /* the main graph's node reads m only through the body's outer reference */
    cr_assert_eq(body->values[find_value(body, "m")].role, ST_VALUE_OUTER);
    int64_t trips = 3;
    uint8_t cval = 1;
    float x[] = {0.5f, -1.25f};
    st_tensor ins[4] = {
        ut_tensor(ST_DTYPE_I64, 0, NULL, &trips), ut_tensor(ST_DTYPE_BOOL, 0, NULL, &cval),
        ut_tensor(ST_DTYPE_F32, 1, (int64_t[]){2}, x), ut_tensor(ST_DTYPE_BOOL, 0, NULL, &flag)};
    st_value *outs = NULL;
    st_error err = {0};
    cr_assert_eq(run_model(m, 4, ins, &outs, &err), ST_OK, "%s", err.msg);
    for (int j = 0; j < 2; j++) {
        double c = x[j], mm = (double)x[j] * x[j];
        for (int it = 0; it < 3; it++) {
            double t = c + x[j];
            c = flag ? x[j] + mm + t * mm + c + t : t - mm;
        }
        cr_assert_float_eq(((float *)outs[0].tensor.data)[j], c, 1e-4 * (1 + fabs(c)),
                           "flag %d element %d", flag, j);
    }
    st_values_free(outs, 1);
    for (int i = 0; i < 4; i++) st_tensor_clear(&ins[i]);
    st_model_release(m);
}

Test(control, outer_values_three_levels_down) {
    check_nested(1);
    check_nested(0);
}

/* Run an open session on named tensor inputs; the first output's float values into y. */
static void session_run_f32(st_session *s, size_t n, const char *const *names, const st_tensor *ts,
                            float *y, size_t ny) {
    st_value vin[4];
    for (size_t i = 0; i < n; i++) {
        memset(&vin[i], 0, sizeof vin[i]);
        vin[i].kind = ST_VAL_TENSOR;
        vin[i].tensor = ts[i];
    }
    st_value *outs = NULL;
    st_error err = {0};
    cr_assert_eq(st_session_run(s, n, names, vin, &outs, &err), ST_OK, "%s", err.msg);
    cr_assert_eq(st_tensor_nelem(&outs[0].tensor), ny);
    for (size_t i = 0; i < ny; i++) y[i] = (float)st_tensor_get_f64(&outs[0].tensor, i);
    st_values_free(outs, st_session_n_outputs(s));
}

/* sh = Shape(x) is folded in the main graph for each input shape; Ifs two deep fold
 * Cast(sh): a later run with another shape of x (same rank, so the subgraphs' own input
 * signature is unchanged) must not reuse the first run's fold. */
Test(control, outer_folded_value_follows_parent) {
    st_model *m = ut_model_new(17);
    st_graph *g = m->graph;
    add(g, "Shape", 1, (const char *[]){"x"}, 1, (const char *[]){"sh"});
    set_io(g, 2, (const char *[]){"x", "flag"}, 1, (const char *[]){"y"});
    st_graph *t1 = branch_graph(m, g, (const char *[]){"sh", "flag"}, 2);
    st_graph *t2 = branch_graph(m, t1, (const char *[]){"sh"}, 1);
    st_node *n = add(t2, "Cast", 1, (const char *[]){"sh"}, 1, (const char *[]){"y2"});
    st_node_add_attr(t2, n, "to", ST_ATTR_INT)->i = ST_DTYPE_F32;
    set_io(t2, 0, NULL, 1, (const char *[]){"y2"});
    st_graph *e2 = branch_graph(m, t1, (const char *[]){"sh"}, 1);
    n = add(e2, "Cast", 1, (const char *[]){"sh"}, 1, (const char *[]){"y3"});
    st_node_add_attr(e2, n, "to", ST_ATTR_INT)->i = ST_DTYPE_F32;
    set_io(e2, 0, NULL, 1, (const char *[]){"y3"});
    n = add(t1, "If", 1, (const char *[]){"flag"}, 1, (const char *[]){"y1"});
    if_attrs(t1, n, t2, e2);
    set_io(t1, 0, NULL, 1, (const char *[]){"y1"});
    n = add(g, "If", 1, (const char *[]){"flag"}, 1, (const char *[]){"y"});
    if_attrs(g, n, t1, t1);
    st_graph *all[] = {g, t1, t2, e2};
    for (int i = 0; i < 4; i++) st_graph_index(all[i]);
    st_ops_resolve(m);
    st_session *s = NULL;
    st_error err = {0};
    cr_assert_eq(st_session_new(m, NULL, &s, &err), ST_OK, "%s", err.msg);
    uint8_t flag = 1;
    for (int64_t len = 2; len <= 6; len += 2) {
        float xs[6] = {0}, y;
        st_tensor ts[2] = {ut_tensor(ST_DTYPE_F32, 1, &len, xs),
                           ut_tensor(ST_DTYPE_BOOL, 0, NULL, &flag)};
        session_run_f32(s, 2, (const char *[]){"x", "flag"}, ts, &y, 1);
        cr_assert_float_eq(y, (float)len, 1e-6, "run with x of length %ld", (long)len);
        for (int i = 0; i < 2; i++) st_tensor_clear(&ts[i]);
    }
    st_session_free(s);
    st_model_release(m);
}

/* w is an initializer that callers may override: its folds (main graph and a branch) hold
 * while it is not given and give way as soon as it is, although its shape stays the same. */
Test(control, overridable_initializer_in_branch) {
    st_model *m = ut_model_new(17);
    st_graph *g = m->graph;
    st_graph *t = branch_graph(m, g, NULL, 0);
    set_io(g, 2, (const char *[]){"w", "flag"}, 2, (const char *[]){"y", "z"});
    st_ir_value *w = &g->values[g->inputs[0]];
    float w0 = 3;
    w->has_const = true;
    w->const_val = ut_tensor(ST_DTYPE_F32, 1, (int64_t[]){1}, &w0);
    link_outer(t, "w");
    add(t, "Add", 2, (const char *[]){"w", "w"}, 1, (const char *[]){"yb"});
    set_io(t, 0, NULL, 1, (const char *[]){"yb"});
    st_node *n = add(g, "If", 1, (const char *[]){"flag"}, 1, (const char *[]){"y"});
    if_attrs(g, n, t, t);
    add(g, "Mul", 2, (const char *[]){"w", "w"}, 1, (const char *[]){"z"});
    st_graph_index(t);
    st_graph_index(g);
    st_ops_resolve(m);
    st_session *s = NULL;
    st_error err = {0};
    cr_assert_eq(st_session_new(m, NULL, &s, &err), ST_OK, "%s", err.msg);
    uint8_t flag = 1;
    float given[] = {0, 5, 0, 7}, y; /* 0: not given */
    for (int r = 0; r < 4; r++) {
        float wv = given[r] ? given[r] : w0;
        st_tensor ts[2] = {ut_tensor(ST_DTYPE_BOOL, 0, NULL, &flag),
                           ut_tensor(ST_DTYPE_F32, 1, (int64_t[]){1}, &given[r])};
        const char *names[] = {"flag", "w"};
        session_run_f32(s, given[r] ? 2 : 1, names, ts, &y, 1);
        cr_assert_float_eq(y, 2 * wv, 1e-6, "run %d", r);
        st_value *outs = NULL;
        st_value vin[2] = {{.kind = ST_VAL_TENSOR, .tensor = ts[0]},
                           {.kind = ST_VAL_TENSOR, .tensor = ts[1]}};
        cr_assert_eq(st_session_run(s, given[r] ? 2 : 1, names, vin, &outs, &err), ST_OK);
        cr_assert_float_eq(((float *)outs[1].tensor.data)[0], wv * wv, 1e-6, "run %d", r);
        st_values_free(outs, 2);
        for (int i = 0; i < 2; i++) st_tensor_clear(&ts[i]);
    }
    st_session_free(s);
    st_model_release(m);
}

/* ---- sequences -------------------------------------------------------------------- */

Test(control, sequence_chain) {
    /* SplitToSequence(x, axis 1, keepdims 0) -> SequenceErase(first) -> SequenceInsert(at 0)
     * -> ConcatFromSequence(new_axis) and SequenceLength */
    st_model *m = ut_model_new(17);
    st_graph *g = m->graph;
    st_node *n = add(g, "SplitToSequence", 1, (const char *[]){"x"}, 1, (const char *[]){"s"});
    st_node_add_attr(g, n, "axis", ST_ATTR_INT)->i = 1;
    st_node_add_attr(g, n, "keepdims", ST_ATTR_INT)->i = 0;
    add(g, "SequenceErase", 2, (const char *[]){"s", "zero"}, 1, (const char *[]){"s2"});
    add(g, "SequenceAt", 2, (const char *[]){"s", "minus1"}, 1, (const char *[]){"last"});
    add(g, "SequenceInsert", 3, (const char *[]){"s2", "last", "zero"}, 1, (const char *[]){"s3"});
    n = add(g, "ConcatFromSequence", 1, (const char *[]){"s3"}, 1, (const char *[]){"y"});
    st_node_add_attr(g, n, "axis", ST_ATTR_INT)->i = -1;
    st_node_add_attr(g, n, "new_axis", ST_ATTR_INT)->i = 1;
    add(g, "SequenceLength", 1, (const char *[]){"s3"}, 1, (const char *[]){"len"});
    set_io(g, 3, (const char *[]){"x", "zero", "minus1"}, 2, (const char *[]){"y", "len"});
    float x[] = {0, 1, 2, 10, 11, 12}; /* [2, 3]: columns {0,10}, {1,11}, {2,12} */
    int64_t zero = 0, m1 = -1;
    st_tensor ins[3] = {ut_tensor(ST_DTYPE_F32, 2, (int64_t[]){2, 3}, x),
                        ut_tensor(ST_DTYPE_I64, 0, NULL, &zero),
                        ut_tensor(ST_DTYPE_I64, 0, NULL, &m1)};
    st_value *outs = NULL;
    st_error err = {0};
    cr_assert_eq(run_model(m, 3, ins, &outs, &err), ST_OK, "%s", err.msg);
    /* sequence: col2, col1, col2 stacked on the last axis -> [2, 3] */
    const st_tensor *y = &outs[0].tensor;
    cr_assert_eq(y->ndim, 2);
    cr_assert_eq(y->dims[0], 2);
    cr_assert_eq(y->dims[1], 3);
    float want[] = {2, 1, 2, 12, 11, 12};
    for (int i = 0; i < 6; i++) cr_assert_float_eq(((float *)y->data)[i], want[i], 1e-6);
    cr_assert_eq(*(int64_t *)outs[1].tensor.data, 3);
    st_values_free(outs, 2);
    for (int i = 0; i < 3; i++) st_tensor_clear(&ins[i]);
    st_model_release(m);
}

Test(control, sequence_at_out_of_range) {
    st_model *m = ut_model_new(17);
    st_graph *g = m->graph;
    add(g, "SequenceConstruct", 2, (const char *[]){"a", "a"}, 1, (const char *[]){"s"});
    add(g, "SequenceAt", 2, (const char *[]){"s", "p"}, 1, (const char *[]){"y"});
    set_io(g, 2, (const char *[]){"a", "p"}, 1, (const char *[]){"y"});
    float a = 1;
    int64_t p = -3;
    st_tensor ins[2] = {ut_tensor(ST_DTYPE_F32, 0, NULL, &a), ut_tensor(ST_DTYPE_I64, 0, NULL, &p)};
    st_value *outs = NULL;
    st_error err = {0};
    cr_assert_eq(run_model(m, 2, ins, &outs, &err), ST_ERR_INVALID);
    cr_assert(strstr(err.msg, "out of range"), "%s", err.msg);
    for (int i = 0; i < 2; i++) st_tensor_clear(&ins[i]);
    st_model_release(m);
}

/* ---- recurrent networks ------------------------------------------------------------- */

static double sigm(double x) { return 1 / (1 + exp(-x)); }

/* Deterministic pseudo-random values in [-0.5, 0.5). */
static void fill(float *p, size_t n, unsigned seed) {
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        p[i] = (float)((seed >> 8) & 0xffff) / 65536.0f - 0.5f;
    }
}

enum { T_ = 5, B_ = 3, I_ = 4, H_ = 6 };

/* Bidirectional LSTM with biases, peepholes and sequence_lens, against a reference. */
Test(rnn, lstm_bidirectional_reference) {
    static float x[T_ * B_ * I_], w[2 * 4 * H_ * I_], r[2 * 4 * H_ * H_], b[2 * 8 * H_],
        p[2 * 3 * H_];
    fill(x, ST_ARRAY_LEN(x), 1);
    fill(w, ST_ARRAY_LEN(w), 2);
    fill(r, ST_ARRAY_LEN(r), 3);
    fill(b, ST_ARRAY_LEN(b), 4);
    fill(p, ST_ARRAY_LEN(p), 5);
    int32_t lens[B_] = {5, 2, 0};
    st_model *m = ut_model_new(14);
    st_graph *g = m->graph;
    st_node *n = add(g, "LSTM", 8, (const char *[]){"X", "W", "R", "B", "L", "", "", "P"}, 3,
                     (const char *[]){"Y", "Yh", "Yc"});
    st_attr *a = st_node_add_attr(g, n, "direction", ST_ATTR_STRING);
    a->s.data = st_ir_strdup(g, "bidirectional");
    a->s.len = strlen(a->s.data);
    st_node_add_attr(g, n, "hidden_size", ST_ATTR_INT)->i = H_;
    set_io(g, 6, (const char *[]){"X", "W", "R", "B", "L", "P"}, 3,
           (const char *[]){"Y", "Yh", "Yc"});
    st_tensor ins[6] = {
        ut_tensor(ST_DTYPE_F32, 3, (int64_t[]){T_, B_, I_}, x),
        ut_tensor(ST_DTYPE_F32, 3, (int64_t[]){2, 4 * H_, I_}, w),
        ut_tensor(ST_DTYPE_F32, 3, (int64_t[]){2, 4 * H_, H_}, r),
        ut_tensor(ST_DTYPE_F32, 2, (int64_t[]){2, 8 * H_}, b),
        ut_tensor(ST_DTYPE_I32, 1, (int64_t[]){B_}, lens),
        ut_tensor(ST_DTYPE_F32, 2, (int64_t[]){2, 3 * H_}, p),
    };
    st_value *outs = NULL;
    st_error err = {0};
    cr_assert_eq(run_model(m, 6, ins, &outs, &err), ST_OK, "%s", err.msg);
    const float *y = outs[0].tensor.data, *yh = outs[1].tensor.data, *yc = outs[2].tensor.data;
    for (int d = 0; d < 2; d++) {
        for (int bb = 0; bb < B_; bb++) {
            double h[H_] = {0}, c[H_] = {0};
            for (int s = 0; s < lens[bb]; s++) {
                int t = d ? lens[bb] - 1 - s : s;
                double gates[4 * H_], hn[H_];
                for (int j = 0; j < 4 * H_; j++) {
                    double acc = b[d * 8 * H_ + j] + b[d * 8 * H_ + 4 * H_ + j];
                    for (int i = 0; i < I_; i++)
                        acc += w[(d * 4 * H_ + j) * I_ + i] * x[(t * B_ + bb) * I_ + i];
                    for (int i = 0; i < H_; i++) acc += r[(d * 4 * H_ + j) * H_ + i] * h[i];
                    gates[j] = acc;
                }
                const float *pp = p + d * 3 * H_;
                for (int j = 0; j < H_; j++) {
                    double ig = sigm(gates[j] + pp[j] * c[j]);
                    double fg = sigm(gates[2 * H_ + j] + pp[2 * H_ + j] * c[j]);
                    double cg = tanh(gates[3 * H_ + j]);
                    c[j] = fg * c[j] + ig * cg;
                    double og = sigm(gates[H_ + j] + pp[H_ + j] * c[j]);
                    hn[j] = og * tanh(c[j]);
                }
                for (int j = 0; j < H_; j++) {
                    h[j] = hn[j];
                    cr_assert_float_eq(y[((t * 2 + d) * B_ + bb) * H_ + j], h[j], 1e-5);
                }
            }
            for (int t = lens[bb]; t < T_; t++)
                for (int j = 0; j < H_; j++)
                    cr_assert_eq(y[((t * 2 + d) * B_ + bb) * H_ + j], 0.0f);
            for (int j = 0; j < H_; j++) {
                cr_assert_float_eq(yh[(d * B_ + bb) * H_ + j], h[j], 1e-5);
                cr_assert_float_eq(yc[(d * B_ + bb) * H_ + j], c[j], 1e-5);
            }
        }
    }
    st_values_free(outs, 3);
    for (int i = 0; i < 6; i++) st_tensor_clear(&ins[i]);
    st_model_release(m);
}

/* GRU in float64 and float32 (both linear_before_reset settings) agree. */
static void gru_run(st_dtype dt, int lbr, double *yh_out) {
    static float x[T_ * B_ * I_], w[3 * H_ * I_], r[3 * H_ * H_], b[6 * H_];
    fill(x, ST_ARRAY_LEN(x), 7);
    fill(w, ST_ARRAY_LEN(w), 8);
    fill(r, ST_ARRAY_LEN(r), 9);
    fill(b, ST_ARRAY_LEN(b), 10);
    st_model *m = ut_model_new(14);
    st_graph *g = m->graph;
    st_node *n =
        add(g, "GRU", 4, (const char *[]){"X", "W", "R", "B"}, 2, (const char *[]){"", "Yh"});
    st_node_add_attr(g, n, "hidden_size", ST_ATTR_INT)->i = H_;
    st_node_add_attr(g, n, "linear_before_reset", ST_ATTR_INT)->i = lbr;
    set_io(g, 4, (const char *[]){"X", "W", "R", "B"}, 1, (const char *[]){"Yh"});
    const float *src[4] = {x, w, r, b};
    const int64_t dims[4][3] = {{T_, B_, I_}, {1, 3 * H_, I_}, {1, 3 * H_, H_}, {1, 6 * H_, 0}};
    st_tensor ins[4];
    for (int i = 0; i < 4; i++) {
        ins[i] = ut_tensor(dt, i == 3 ? 2 : 3, dims[i], NULL);
        for (size_t e = 0; e < st_tensor_nelem(&ins[i]); e++)
            st_tensor_set_f64(&ins[i], e, src[i][e]);
    }
    st_value *outs = NULL;
    st_error err = {0};
    cr_assert_eq(run_model(m, 4, ins, &outs, &err), ST_OK, "%s", err.msg);
    for (int i = 0; i < B_ * H_; i++) yh_out[i] = st_tensor_get_f64(&outs[0].tensor, (size_t)i);
    st_values_free(outs, 1);
    for (int i = 0; i < 4; i++) st_tensor_clear(&ins[i]);
    st_model_release(m);
}

Test(rnn, gru_f32_matches_f64) {
    for (int lbr = 0; lbr < 2; lbr++) {
        double a[B_ * H_], b[B_ * H_], h16[B_ * H_];
        gru_run(ST_DTYPE_F64, lbr, a);
        gru_run(ST_DTYPE_F32, lbr, b);
        gru_run(ST_DTYPE_F16, lbr, h16);
        for (int i = 0; i < B_ * H_; i++) {
            cr_assert_float_eq(a[i], b[i], 1e-5, "lbr %d element %d", lbr, i);
            cr_assert_float_eq(a[i], h16[i], 1e-2, "float16, lbr %d element %d", lbr, i);
        }
    }
}
