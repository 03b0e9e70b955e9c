/* tests/unit/unit_util.h: helpers shared by the Criterion unit tests (header only, so the
 * test_*.c glob in tests/CMakeLists.txt keeps one executable per test file):
 *   - models built in memory: an empty model importing ai.onnx at an opset, extra domains,
 *     and the one-node harness (ut_one) that wires inputs (graph inputs or initializers)
 *     and outputs, runs the node through a real session and hands back every output;
 *   - tensors and values from literal data (strings included);
 *   - scratch directories under /tmp that are removed again, and the Python checks.
 * Every helper fails the calling test (cr_assert) on a setup error, never silently. */
#ifndef STELE_TESTS_UNIT_UTIL_H
#define STELE_TESTS_UNIT_UTIL_H

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "exec.h"
#include "ir.h"

/* Debian's interpreter: the one with numpy, onnx and torch. */
#define UT_PYTHON "/usr/bin/python3"

/* ---- models ------------------------------------------------------------------------ */

/* An empty model (root graph, no nodes) importing ai.onnx at opset. */
static inline st_model *ut_model_new(int64_t opset) {
    st_model *m = st_model_new(ST_FORMAT_ONNX);
    cr_assert_not_null(m);
    st_graph *g = st_graph_new(m, NULL);
    cr_assert_not_null(g);
    m->graph = g;
    m->opsets = st_ir_alloc(g, sizeof(st_opset));
    m->opsets[0].domain = st_ir_strdup(g, "");
    m->opsets[0].version = opset;
    m->n_opsets = 1;
    return m;
}

/* Also import domain at version (after the ones already imported). */
static inline void ut_model_import(st_model *m, const char *domain, int64_t version) {
    st_opset *o = st_ir_alloc(m->graph, sizeof(st_opset) * (m->n_opsets + 1));
    cr_assert_not_null(o);
    if (m->n_opsets) memcpy(o, m->opsets, sizeof(st_opset) * m->n_opsets);
    o[m->n_opsets].domain = st_ir_strdup(m->graph, domain);
    o[m->n_opsets].version = version;
    m->opsets = o;
    m->n_opsets++;
}

/* Resolve the kernels of m, open a session with `threads` threads and run it once on
 * n bound values (names NULL: positional); *outs as st_session_run leaves it. */
static inline st_status ut_session_run(st_model *m, int threads, size_t n, const char *const *names,
                                       const st_value *vals, st_value **outs, st_error *err) {
    st_ops_resolve(m);
    st_session_opts so = st_session_opts_default();
    so.threads = threads;
    st_session *s = NULL;
    st_status st = st_session_new(m, &so, &s, err);
    if (!st) st = st_session_run(s, n, (const char **)names, vals, outs, err);
    st_session_free(s);
    return st;
}

/* ---- tensors and values -------------------------------------------------------------- */

/* A tensor holding a copy of data (NULL: left uninitialised). */
static inline st_tensor ut_tensor(st_dtype dt, int ndim, const int64_t *dims, const void *data) {
    st_tensor x;
    st_error err;
    cr_assert_eq(st_tensor_alloc(&x, dt, ndim, dims, &err), ST_OK);
    if (data && st_tensor_nbytes(&x)) memcpy(x.data, data, st_tensor_nbytes(&x));
    return x;
}

/* A tensor value from data; for ST_DTYPE_STRING data is an array of C strings. */
static inline st_value ut_value(st_dtype dt, int ndim, const int64_t *dims, const void *data) {
    st_value v;
    memset(&v, 0, sizeof v);
    v.kind = ST_VAL_TENSOR;
    cr_assert_eq(st_tensor_alloc(&v.tensor, dt, ndim, dims, NULL), ST_OK);
    if (dt == ST_DTYPE_STRING) {
        const char *const *s = data;
        for (size_t i = 0; i < st_tensor_nelem(&v.tensor); i++)
            st_tensor_set_string(&v.tensor, i, s[i], strlen(s[i]), NULL);
    } else if (st_tensor_nbytes(&v.tensor)) {
        memcpy(v.tensor.data, data, st_tensor_nbytes(&v.tensor));
    }
    return v;
}

/* A tensor value sharing t's storage (the caller keeps its own reference). */
static inline st_value ut_value_share(const st_tensor *t) {
    st_value v;
    memset(&v, 0, sizeof v);
    v.kind = ST_VAL_TENSOR;
    st_tensor_share(&v.tensor, t);
    return v;
}

/* ---- the one-node harness ------------------------------------------------------------ */

/* One node (named "node") in a fresh model. threads (default 2) and typed (default false:
 * graph inputs carry no declared type; true: each input's type is taken from its tensor
 * and the graph is indexed) may be changed before ut_one_run. */
typedef struct ut_one {
    st_model *m;
    st_graph *g;
    st_node *n;
    int threads;
    bool typed;
} ut_one;

static inline ut_one ut_one_new(const char *op, const char *domain, int64_t opset, int n_in,
                                int n_out) {
    ut_one o;
    memset(&o, 0, sizeof o);
    o.m = ut_model_new(opset);
    o.g = o.m->graph;
    o.n = st_graph_add_node(o.g, op, domain, "node", n_in, n_out);
    cr_assert_not_null(o.n);
    o.threads = 2;
    return o;
}

static inline void ut_attr_int(ut_one *o, const char *name, int64_t v) {
    st_node_add_attr(o->g, o->n, name, ST_ATTR_INT)->i = v;
}
static inline void ut_attr_float(ut_one *o, const char *name, double v) {
    st_node_add_attr(o->g, o->n, name, ST_ATTR_FLOAT)->f = v;
}
static inline void ut_attr_str(ut_one *o, const char *name, const char *s) {
    st_attr *a = st_node_add_attr(o->g, o->n, name, ST_ATTR_STRING);
    a->s.data = st_ir_strdup(o->g, s);
    a->s.len = strlen(s);
}
static inline void ut_attr_ints(ut_one *o, const char *name, size_t n, const int64_t *v) {
    st_attr *a = st_node_add_attr(o->g, o->n, name, ST_ATTR_INTS);
    a->n = n;
    a->ints = st_ir_alloc(o->g, (n ? n : 1) * sizeof *v);
    memcpy(a->ints, v, n * sizeof *v);
}
static inline void ut_attr_floats(ut_one *o, const char *name, size_t n, const double *v) {
    st_attr *a = st_node_add_attr(o->g, o->n, name, ST_ATTR_FLOATS);
    a->n = n;
    a->floats = st_ir_alloc(o->g, (n ? n : 1) * sizeof *v);
    memcpy(a->floats, v, n * sizeof *v);
}
static inline void ut_attr_strs(ut_one *o, const char *name, size_t n, const char *const *v) {
    st_attr *a = st_node_add_attr(o->g, o->n, name, ST_ATTR_STRINGS);
    a->n = n;
    a->strings = st_ir_alloc(o->g, (n ? n : 1) * sizeof *a->strings);
    for (size_t i = 0; i < n; i++) {
        a->strings[i].data = st_ir_strdup(o->g, v[i]);
        a->strings[i].len = strlen(v[i]);
    }
}

/* Wire the node and run it once. ins[i] (n_in of them, consumed) with kind ST_VAL_NONE
 * omits input i; is_const (may be NULL) makes an input an initializer instead of a graph
 * input. Inputs are named in0.., outputs out0... *outs (n_out values) belongs to the
 * caller: free it with ut_one_done. Call once per ut_one. */
static inline st_status ut_one_run(ut_one *o, st_value *ins, const bool *is_const, st_value **outs,
                                   st_error *err) {
    enum { MAX_IN = 32 };
    st_graph *g = o->g;
    st_node *n = o->n;
    cr_assert_leq(n->n_in, MAX_IN);
    g->inputs = st_ir_alloc(g, sizeof(int) * (size_t)(n->n_in + 1));
    g->outputs = st_ir_alloc(g, sizeof(int) * (size_t)(n->n_out + 1));
    st_value bound[MAX_IN];
    size_t nb = 0;
    for (int i = 0; i < n->n_in; i++) {
        if (ins[i].kind == ST_VAL_NONE) continue;
        char name[16];
        snprintf(name, sizeof name, "in%d", i);
        int v = st_graph_value(g, name);
        n->inputs[i] = v;
        if (o->typed && ins[i].kind == ST_VAL_TENSOR)
            st_type_from_tensor(g, &g->values[v].type, &ins[i].tensor);
        if (is_const && is_const[i]) {
            g->values[v].role = ST_VALUE_INITIALIZER;
            g->values[v].has_const = true;
            st_tensor_share(&g->values[v].const_val, &ins[i].tensor);
        } else {
            g->values[v].role = ST_VALUE_INPUT;
            g->inputs[g->n_inputs++] = v;
            bound[nb++] = ins[i];
        }
    }
    for (int i = 0; i < n->n_out; i++) {
        char name[16];
        snprintf(name, sizeof name, "out%d", i);
        int v = st_graph_value(g, name);
        n->outputs[i] = v;
        g->values[v].producer = 0;
        g->outputs[g->n_outputs++] = v;
    }
    if (o->typed) st_graph_index(g);
    st_status st = ut_session_run(o->m, o->threads, nb, NULL, bound, outs, err);
    for (int i = 0; i < n->n_in; i++) st_value_clear(&ins[i]);
    return st;
}

/* Free the outputs of ut_one_run (may be NULL) and the model. */
static inline void ut_one_done(ut_one *o, st_value *outs) {
    if (outs) st_values_free(outs, o->g->n_outputs);
    st_model_release(o->m);
}

/* ---- scratch directories and Python ------------------------------------------------ */

/* Make a fresh directory /tmp/<prefix>-XXXXXX into buf (n bytes). */
static inline char *ut_tmpdir(char *buf, size_t n, const char *prefix) {
    int w = snprintf(buf, n, "/tmp/%s-XXXXXX", prefix);
    cr_assert(w > 0 && (size_t)w < n, "temporary directory name too long");
    cr_assert_not_null(mkdtemp(buf), "mkdtemp %s failed", buf);
    return buf;
}

/* Remove dir and everything below it; false (with a warning) when that fails. */
static inline bool ut_rmtree(const char *dir) {
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%.4000s'", dir);
    if (system(cmd) == 0) return true;
    fprintf(stderr, "could not remove %s\n", dir);
    return false;
}

/* Whether UT_PYTHON runs and imports every module of the comma-separated list. */
static inline bool ut_python_has(const char *modules) {
    char cmd[512];
    snprintf(cmd, sizeof cmd, UT_PYTHON " -c 'import %.400s' >/dev/null 2>&1", modules);
    return access(UT_PYTHON, X_OK) == 0 && system(cmd) == 0;
}

/* Write prelude (may be NULL) then body to dir/name and run it as `UT_PYTHON dir/name arg`;
 * returns system()'s status (0: the script succeeded). */
static inline int ut_python_run(const char *dir, const char *name, const char *prelude,
                                const char *body, const char *arg) {
    char script[2100], cmd[4400];
    int w = snprintf(script, sizeof script, "%.1000s/%.1000s", dir, name);
    cr_assert(w > 0 && (size_t)w < sizeof script);
    FILE *f = fopen(script, "w");
    cr_assert_not_null(f, "cannot write %s", script);
    if (prelude) fputs(prelude, f);
    fputs(body, f);
    cr_assert_eq(fclose(f), 0, "cannot write %s", script);
    snprintf(cmd, sizeof cmd, UT_PYTHON " '%s' '%.2000s'", script, arg);
    return system(cmd);
}

#endif
