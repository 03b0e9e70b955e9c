/* api/compare.c: the public pieces behind `stele compare` and convert's verification:
 * element-wise difference statistics, the main graph's nodes in running order, index
 * bounds of integer inputs (for valid random data) and .npz reading. It runs nothing and
 * prints nothing. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ir.h"
#include "npy/npy.h"
#include "op.h"

/* ---- element statistics ------------------------------------------------------------ */

/* Element i of a numeric tensor as double; complex tensors are viewed as 2n reals. */
static double elem(const st_tensor *t, size_t i) {
    if (t->dtype == ST_DTYPE_C64) return ((const float *)t->data)[i];
    if (t->dtype == ST_DTYPE_C128) return ((const double *)t->data)[i];
    return st_tensor_get_f64(t, i);
}

static bool same_shape(const st_tensor *a, const st_tensor *b) {
    if (a->ndim != b->ndim) return false;
    for (int d = 0; d < a->ndim; d++)
        if (a->dims[d] != b->dims[d]) return false;
    return true;
}

static bool is_complex(st_dtype t) { return t == ST_DTYPE_C64 || t == ST_DTYPE_C128; }

st_status st_tensor_compare(const st_tensor *a, const st_tensor *b, double atol, double rtol,
                            st_compare_stats *out, st_error *err) {
    if (!a || !b || !out) return st_errorf(err, ST_ERR_INVALID, "st_tensor_compare: NULL argument");
    st_compare_stats s;
    memset(&s, 0, sizeof s);
    s.cosine = 1;
    s.dtype_mismatch = a->dtype != b->dtype;
    s.shape_mismatch = !same_shape(a, b);
    bool a_str = a->dtype == ST_DTYPE_STRING, b_str = b->dtype == ST_DTYPE_STRING;
    if (s.shape_mismatch || a_str != b_str || is_complex(a->dtype) != is_complex(b->dtype)) {
        s.shape_mismatch = s.shape_mismatch || !s.dtype_mismatch;
        *out = s;
        return ST_OK;
    }
    size_t n = st_tensor_nelem(a);
    if (a_str) {
        const st_str *x = a->data, *y = b->data;
        bool first = true;
        for (size_t i = 0; i < n; i++) {
            bool eq =
                x[i].len == y[i].len && (!x[i].len || !memcmp(x[i].data, y[i].data, x[i].len));
            if (!eq) {
                s.n_outside++;
                if (first) s.worst = i;
                first = false;
            }
        }
        s.n = n;
        s.cosine = s.n_outside ? 0 : 1;
        *out = s;
        return ST_OK;
    }
    if (is_complex(a->dtype)) n *= 2;
    double sum_abs = 0, dot = 0, na = 0, nb = 0;
    size_t finite = 0;
    bool have_special = false;
    for (size_t i = 0; i < n; i++) {
        double x = elem(a, i), y = elem(b, i);
        bool xn = isnan(x), yn = isnan(y);
        if (xn || yn) {
            if (xn != yn) {
                s.nan_mismatch++;
                s.n_outside++;
                if (!have_special) s.worst = i, s.worst_a = x, s.worst_b = y;
                have_special = true;
            }
            continue;
        }
        if (isinf(x) || isinf(y)) {
            if (x != y) {
                s.inf_mismatch++;
                s.n_outside++;
                if (!have_special) s.worst = i, s.worst_a = x, s.worst_b = y;
                have_special = true;
            }
            continue;
        }
        double d = fabs(x - y);
        if (d > atol + rtol * fabs(y)) s.n_outside++;
        if (!have_special && (finite == 0 || d > s.max_abs))
            s.worst = i, s.worst_a = x, s.worst_b = y;
        if (d > s.max_abs) s.max_abs = d;
        if (y != 0 && d / fabs(y) > s.max_rel) s.max_rel = d / fabs(y);
        sum_abs += d;
        dot += x * y;
        na += x * x;
        nb += y * y;
        finite++;
    }
    s.n = n;
    s.mean_abs = finite ? sum_abs / (double)finite : 0;
    if (na == 0 && nb == 0) s.cosine = 1;
    else if (na == 0 || nb == 0) s.cosine = 0;
    else s.cosine = dot / (sqrt(na) * sqrt(nb));
    *out = s;
    return ST_OK;
}

bool st_compare_ok(const st_compare_stats *s) {
    return s && !s->dtype_mismatch && !s->shape_mismatch && s->n_outside == 0;
}

/* ---- nodes in running order -------------------------------------------------------- */

static const char *value_name(const st_graph *g, int v) {
    return v >= 0 && (size_t)v < g->n_values && g->values[v].name ? g->values[v].name : "";
}

st_status st_model_nodes(const st_model *m, st_node_info **out, size_t *n_out, st_error *err) {
    const st_graph *g = m ? m->graph : NULL;
    if (!g) return st_errorf(err, ST_ERR_INVALID, "st_model_nodes: no model");
    size_t nn = g->n_nodes, nptr = 0;
    for (size_t i = 0; i < nn; i++) nptr += (size_t)g->nodes[i].n_in + (size_t)g->nodes[i].n_out;
    int *order = st_malloc((nn ? nn : 1) * sizeof *order);
    st_node_info *infos = st_calloc(nn + 1, sizeof *infos);
    const char **ptrs = st_calloc(nptr ? nptr : 1, sizeof *ptrs);
    st_status st = ST_OK;
    if (!order || !infos || !ptrs) {
        st = st_error_nomem(err);
        goto fail;
    }
    if ((st = st_graph_toposort(g, order, err))) goto fail;
    /* infos[nn] (zeroed) carries the pointer block so st_node_infos_free finds it */
    infos[nn].inputs = ptrs;
    size_t p = 0;
    for (size_t i = 0; i < nn; i++) {
        const st_node *nd = &g->nodes[order[i]];
        st_node_info *ni = &infos[i];
        ni->name = nd->name ? nd->name : "";
        ni->op_type = nd->op_type;
        ni->domain = nd->domain ? nd->domain : "";
        ni->n_inputs = (size_t)nd->n_in;
        ni->n_outputs = (size_t)nd->n_out;
        ni->inputs = ptrs + p;
        for (int k = 0; k < nd->n_in; k++) ptrs[p++] = value_name(g, nd->inputs[k]);
        ni->outputs = ptrs + p;
        for (int k = 0; k < nd->n_out; k++) ptrs[p++] = value_name(g, nd->outputs[k]);
    }
    st_free(order);
    *out = infos;
    *n_out = nn;
    return ST_OK;
fail:
    st_free(order);
    st_free(infos);
    st_free(ptrs);
    return st;
}

void st_node_infos_free(st_node_info *nodes) {
    if (!nodes) return;
    size_t i = 0;
    while (nodes[i].op_type) i++;
    st_free((void *)nodes[i].inputs);
    st_free(nodes);
}

/* ---- index bounds of integer inputs ------------------------------------------------ */
/* Which inputs hold indices, and their bound, is a fact of each operator's row
 * (index_bound); so is whether an op passes index values through (ST_OPF_PASSTHROUGH).
 * This part only walks the graph from a model input to the nodes that bound it. */

/* The bound node nd imposes on its input at position pos, or -1. */
static int64_t use_bound(const st_graph *g, const st_node *nd, int pos) {
    return nd->def && nd->def->index_bound ? nd->def->index_bound(g, nd, pos) : -1;
}

/* Whether input pos's values reach nd's output 0 unchanged (only re-laid out or re-typed):
 * input 0 of a pass-through op, or any input when every one does (Concat). */
static bool passes_through(const st_node *nd, int pos) {
    uint32_t f = nd->def ? nd->def->flags : 0;
    return (f & ST_OPF_PASSTHROUGH) && (pos == 0 || (f & ST_OPF_PASSTHROUGH_ALL));
}

bool st_model_input_index_bound(const st_model *m, size_t i, int64_t *bound) {
    const st_graph *g = m ? m->graph : NULL;
    if (!g) return false;
    int start = -1;
    for (size_t k = 0; k < g->n_inputs; k++) {
        int v = g->inputs[k];
        if (v < 0 || g->values[v].role != ST_VALUE_INPUT) continue;
        if (i-- == 0) {
            start = v;
            break;
        }
    }
    if (start < 0 || !st_dtype_is_int(g->values[start].type.dtype)) return false;
    /* breadth-first over the values the input flows into unchanged */
    int *queue = st_malloc((g->n_values ? g->n_values : 1) * sizeof *queue);
    bool *seen = st_calloc(g->n_values ? g->n_values : 1, 1);
    int64_t best = -1;
    if (!queue || !seen) goto done;
    size_t head = 0, tail = 0;
    queue[tail++] = start;
    seen[start] = true;
    while (head < tail) {
        int v = queue[head++];
        for (size_t k = 0; k < g->n_nodes; k++) {
            const st_node *nd = &g->nodes[k];
            for (int p = 0; p < nd->n_in; p++) {
                if (nd->inputs[p] != v) continue;
                int64_t b = use_bound(g, nd, p);
                if (b > 0 && (best < 0 || b < best)) best = b;
                if (passes_through(nd, p) && nd->n_out > 0) {
                    int o = nd->outputs[0];
                    if (o >= 0 && !seen[o]) {
                        seen[o] = true;
                        queue[tail++] = o;
                    }
                }
            }
        }
    }
done:
    st_free(queue);
    st_free(seen);
    if (best <= 0) return false;
    *bound = best;
    return true;
}

/* ---- .npz ------------------------------------------------------------------------- */

st_status st_npz_read_values(const char *path, size_t *n_out, char ***names_out,
                             st_value **values_out, st_error *err) {
    size_t n = 0;
    char **names = NULL;
    st_tensor *ts = NULL;
    st_status st = st_npz_read(path, &n, &names, &ts, err);
    if (st) return st;
    st_value *vals = st_calloc(n ? n : 1, sizeof *vals);
    if (!vals) {
        st_npz_free(n, names, ts);
        return st_error_nomem(err);
    }
    for (size_t i = 0; i < n; i++) {
        vals[i].kind = ST_VAL_TENSOR;
        vals[i].tensor = ts[i]; /* ownership moves to the value */
        memset(&ts[i], 0, sizeof ts[i]);
    }
    st_npz_free(0, NULL, ts);
    *n_out = n;
    *names_out = names;
    *values_out = vals;
    return ST_OK;
}

void st_strings_free(char **names, size_t n) {
    if (!names) return;
    for (size_t i = 0; i < n; i++) st_free(names[i]);
    st_free(names);
}
