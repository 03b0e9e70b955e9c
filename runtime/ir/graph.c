/* runtime/ir/graph.c: building and querying models and graphs. Everything lives in the
 * model's arena except tensor storage, which st_model_release drops by reference. */
#include <string.h>

#include "ir.h"

st_model *st_model_new(st_format fmt) {
    st_arena *a = st_arena_new(0);
    if (!a) return NULL;
    st_model *m = st_arena_alloc(a, sizeof *m);
    if (!m) {
        st_arena_free(a);
        return NULL;
    }
    memset(m, 0, sizeof *m);
    m->arena = a;
    m->format = fmt;
    return m;
}

st_graph *st_graph_new(st_model *m, st_graph *parent) {
    st_graph *g = st_arena_alloc(m->arena, sizeof *g);
    if (!g) return NULL;
    memset(g, 0, sizeof *g);
    g->arena = m->arena;
    g->model = m;
    g->parent = parent;
    return g;
}

void *st_ir_alloc(st_graph *g, size_t n) {
    void *p = st_arena_alloc(g->arena, n ? n : 1);
    if (p) memset(p, 0, n ? n : 1);
    return p;
}

char *st_ir_strdup(st_graph *g, const char *s) { return st_arena_strdup(g->arena, s ? s : ""); }

/* The name index: value names (arena strings, borrowed) to value indices. Out of memory
 * only drops the index; lookups then scan. */
static void index_drop(st_graph *g) {
    st_strmap_free(&g->index);
    g->indexed = false;
}

void st_graph_index(st_graph *g) {
    index_drop(g);
    st_strmap_init_borrow(&g->index);
    g->indexed = true;
    for (size_t i = 0; i < g->n_values; i++)
        if (st_strmap_add(&g->index, g->values[i].name, (intptr_t)i) < 0) {
            index_drop(g);
            return;
        }
}

int st_graph_find(const st_graph *g, const char *name) {
    if (g->indexed) {
        intptr_t v;
        return st_strmap_get(&g->index, name, &v) ? (int)v : -1;
    }
    for (size_t i = 0; i < g->n_values; i++)
        if (!strcmp(g->values[i].name, name)) return (int)i;
    return -1;
}

int st_graph_value(st_graph *g, const char *name) {
    int i = st_graph_find(g, name);
    if (i >= 0) return i;
    if (!ST_GROW(g->values, g->cap_values, g->n_values + 1)) return -1;
    st_ir_value *v = &g->values[g->n_values];
    memset(v, 0, sizeof *v);
    v->name = st_ir_strdup(g, name);
    if (!v->name) return -1;
    v->producer = -1;
    v->outer_index = -1;
    v->type.rank = -1;
    i = (int)g->n_values++;
    if (g->indexed && st_strmap_add(&g->index, v->name, (intptr_t)i) < 0) index_drop(g);
    return i;
}

st_node *st_graph_add_node(st_graph *g, const char *op_type, const char *domain, const char *name,
                           int n_in, int n_out) {
    if (!ST_GROW(g->nodes, g->cap_nodes, g->n_nodes + 1)) return NULL;
    st_node *n = &g->nodes[g->n_nodes];
    memset(n, 0, sizeof *n);
    n->op_type = st_ir_strdup(g, op_type);
    n->domain = st_ir_strdup(g, domain);
    n->name = st_ir_strdup(g, name);
    n->inputs = st_ir_alloc(g, sizeof(int) * (size_t)(n_in ? n_in : 1));
    n->outputs = st_ir_alloc(g, sizeof(int) * (size_t)(n_out ? n_out : 1));
    if (!n->op_type || !n->domain || !n->name || !n->inputs || !n->outputs) return NULL;
    n->n_in = n_in;
    n->n_out = n_out;
    for (int i = 0; i < n_in; i++) n->inputs[i] = -1;
    for (int i = 0; i < n_out; i++) n->outputs[i] = -1;
    g->n_nodes++;
    return n;
}

st_attr *st_node_add_attr(st_graph *g, st_node *n, const char *name, st_attr_kind kind) {
    st_attr *na = st_ir_alloc(g, sizeof(st_attr) * (size_t)(n->n_attrs + 1));
    if (!na) return NULL;
    if (n->n_attrs) memcpy(na, n->attrs, sizeof(st_attr) * (size_t)n->n_attrs);
    n->attrs = na;
    st_attr *a = &na[n->n_attrs++];
    a->name = st_ir_strdup(g, name);
    a->kind = kind;
    return a->name ? a : NULL;
}

const st_attr *st_node_attr(const st_node *n, const char *name) {
    for (int i = 0; i < n->n_attrs; i++)
        if (!strcmp(n->attrs[i].name, name)) return &n->attrs[i];
    return NULL;
}

int64_t st_attr_int(const st_node *n, const char *name, int64_t def) {
    const st_attr *a = st_node_attr(n, name);
    if (!a) return def;
    if (a->kind == ST_ATTR_INT) return a->i;
    if (a->kind == ST_ATTR_FLOAT) return (int64_t)a->f;
    return def;
}

double st_attr_float(const st_node *n, const char *name, double def) {
    const st_attr *a = st_node_attr(n, name);
    if (!a) return def;
    if (a->kind == ST_ATTR_FLOAT) return a->f;
    if (a->kind == ST_ATTR_INT) return (double)a->i;
    return def;
}

const char *st_attr_string(const st_node *n, const char *name, const char *def) {
    const st_attr *a = st_node_attr(n, name);
    return a && a->kind == ST_ATTR_STRING && a->s.data ? a->s.data : def;
}

size_t st_attr_ints(const st_node *n, const char *name, const int64_t **vals) {
    const st_attr *a = st_node_attr(n, name);
    if (!a || a->kind != ST_ATTR_INTS) {
        *vals = NULL;
        return 0;
    }
    *vals = a->ints;
    return a->n;
}

size_t st_attr_floats(const st_node *n, const char *name, const double **vals) {
    const st_attr *a = st_node_attr(n, name);
    if (!a || a->kind != ST_ATTR_FLOATS) {
        *vals = NULL;
        return 0;
    }
    *vals = a->floats;
    return a->n;
}

int64_t st_model_opset(const st_model *m, const char *domain) {
    if (!domain || !strcmp(domain, "ai.onnx")) domain = "";
    for (size_t i = 0; i < m->n_opsets; i++) {
        const char *d = m->opsets[i].domain ? m->opsets[i].domain : "";
        if (!strcmp(d, "ai.onnx")) d = "";
        if (!strcmp(d, domain)) return m->opsets[i].version;
    }
    return 0;
}

/* The values of g a node depends on: its inputs, and every value of g that a subgraph of
 * the node reads from an enclosing scope, at any depth (an If branch reading a value
 * produced earlier in g must run after its producer). */
typedef struct dep_walk {
    const st_graph *g;
    void (*fn)(void *ud, int v);
    void *ud;
} dep_walk;

/* The index in w->g that value v of graph sub finally refers to, or -1. */
static int outer_root(const dep_walk *w, const st_graph *sub, int v) {
    for (int hops = 0; sub && sub != w->g && hops < 256; hops++) {
        const st_ir_value *iv = &sub->values[v];
        if (iv->role != ST_VALUE_OUTER || iv->outer_index < 0 || !sub->parent ||
            (size_t)iv->outer_index >= sub->parent->n_values)
            return -1;
        v = iv->outer_index;
        sub = sub->parent;
    }
    return sub == w->g ? v : -1;
}

static void subgraph_deps(const dep_walk *w, const st_graph *sub, int depth) {
    if (!sub || depth > 64) return;
    for (size_t v = 0; v < sub->n_values; v++) {
        if (sub->values[v].role != ST_VALUE_OUTER) continue;
        int r = outer_root(w, sub, (int)v);
        if (r >= 0) w->fn(w->ud, r);
    }
    for (size_t i = 0; i < sub->n_nodes; i++)
        for (int a = 0; a < sub->nodes[i].n_attrs; a++) {
            const st_attr *at = &sub->nodes[i].attrs[a];
            subgraph_deps(w, at->g, depth + 1);
            for (size_t k = 0; at->graphs && k < at->n; k++)
                subgraph_deps(w, at->graphs[k], depth + 1);
        }
}

static void node_deps(const dep_walk *w, const st_node *nd) {
    for (int k = 0; k < nd->n_in; k++)
        if (nd->inputs[k] >= 0) w->fn(w->ud, nd->inputs[k]);
    for (int a = 0; a < nd->n_attrs; a++) {
        subgraph_deps(w, nd->attrs[a].g, 0);
        for (size_t k = 0; nd->attrs[a].graphs && k < nd->attrs[a].n; k++)
            subgraph_deps(w, nd->attrs[a].graphs[k], 0);
    }
}

typedef struct dep_state {
    const int *producer;
    size_t *cons_start, *fill;
    int *cons, *pending;
    int node;
} dep_state;

static void count_dep(void *ud, int v) {
    dep_state *d = ud;
    if (d->producer[v] >= 0 && d->producer[v] != d->node) d->cons_start[v + 1]++;
}

static void add_dep(void *ud, int v) {
    dep_state *d = ud;
    if (d->producer[v] >= 0 && d->producer[v] != d->node) {
        d->cons[d->cons_start[v] + d->fill[v]++] = d->node;
        d->pending[d->node]++;
    }
}

/* Kahn's algorithm, stable with respect to file order. A node is ready when every value it
 * depends on (inputs and its subgraphs' outer-scope reads) is a graph input, initializer,
 * outer-scope value, or produced by a placed node. */
st_status st_graph_toposort(const st_graph *g, int *order, st_error *err) {
    size_t nn = g->n_nodes, nv = g->n_values, placed = 0;
    int *pending = st_calloc(nn ? nn : 1, sizeof *pending);
    int *producer = st_malloc((nv ? nv : 1) * sizeof *producer);
    size_t *cons_start = st_calloc(nv + 1, sizeof *cons_start);
    int *cons = NULL, *queue = st_malloc((nn ? nn : 1) * sizeof *queue);
    st_status s = ST_OK;
    if (!pending || !producer || !cons_start || !queue) goto nomem;
    for (size_t v = 0; v < nv; v++) producer[v] = -1;
    for (size_t i = 0; i < nn; i++)
        for (int o = 0; o < g->nodes[i].n_out; o++)
            if (g->nodes[i].outputs[o] >= 0) producer[g->nodes[i].outputs[o]] = (int)i;
    for (size_t i = 0; i < nn; i++)
        for (int k = 0; k < g->nodes[i].n_in; k++) {
            int v = g->nodes[i].inputs[k];
            if (v >= 0 && producer[v] == (int)i) {
                s = st_errorf(err, ST_ERR_FORMAT, "node \"%s\" (%s) consumes its own output \"%s\"",
                              g->nodes[i].name, g->nodes[i].op_type, g->values[v].name);
                goto done;
            }
        }
    /* consumer lists (CSR): count, then fill */
    dep_state ds = {producer, cons_start, NULL, NULL, pending, 0};
    dep_walk w = {g, count_dep, &ds};
    for (size_t i = 0; i < nn; i++) {
        ds.node = (int)i;
        node_deps(&w, &g->nodes[i]);
    }
    for (size_t v = 0; v < nv; v++) cons_start[v + 1] += cons_start[v];
    cons = st_malloc((cons_start[nv] ? cons_start[nv] : 1) * sizeof *cons);
    size_t *fill = st_calloc(nv ? nv : 1, sizeof *fill);
    if (!cons || !fill) {
        st_free(fill);
        goto nomem;
    }
    ds.fill = fill;
    ds.cons = cons;
    w.fn = add_dep;
    for (size_t i = 0; i < nn; i++) {
        ds.node = (int)i;
        node_deps(&w, &g->nodes[i]);
    }
    st_free(fill);
    size_t qh = 0, qt = 0;
    for (size_t i = 0; i < nn; i++)
        if (!pending[i]) queue[qt++] = (int)i;
    while (qh < qt) {
        int i = queue[qh++];
        order[placed++] = i;
        for (int o = 0; o < g->nodes[i].n_out; o++) {
            int v = g->nodes[i].outputs[o];
            if (v < 0 || producer[v] != i) continue;
            for (size_t c = cons_start[v]; c < cons_start[v + 1]; c++)
                if (--pending[cons[c]] == 0) queue[qt++] = cons[c];
            producer[v] = -2; /* mark delivered once even if listed twice */
        }
    }
    if (placed != nn) {
        for (size_t i = 0; i < nn; i++)
            if (pending[i]) {
                s = st_errorf(err, ST_ERR_FORMAT, "graph has a cycle through node \"%s\" (%s)",
                              g->nodes[i].name, g->nodes[i].op_type);
                break;
            }
    }
    goto done;
nomem:
    s = st_error_nomem(err);
done:
    st_free(pending);
    st_free(producer);
    st_free(cons_start);
    st_free(cons);
    st_free(queue);
    return s;
}

static void release_graph(st_graph *g);

static void release_attr(st_attr *a) {
    st_tensor_clear(&a->t);
    for (size_t i = 0; a->tensors && i < a->n; i++) st_tensor_clear(&a->tensors[i]);
    if (a->g) release_graph(a->g);
    for (size_t i = 0; a->graphs && i < a->n; i++)
        if (a->graphs[i]) release_graph(a->graphs[i]);
}

static void release_graph(st_graph *g) {
    for (size_t i = 0; i < g->n_values; i++) st_tensor_clear(&g->values[i].const_val);
    for (size_t i = 0; i < g->n_nodes; i++)
        for (int k = 0; k < g->nodes[i].n_attrs; k++) release_attr(&g->nodes[i].attrs[k]);
    st_free(g->values);
    st_free(g->nodes);
    index_drop(g);
    g->values = NULL;
    g->nodes = NULL;
    g->n_values = g->n_nodes = 0;
}

void st_model_release(st_model *m) {
    if (!m) return;
    if (m->graph) release_graph(m->graph);
    for (size_t i = 0; i < m->n_functions; i++)
        if (m->functions[i].body) release_graph(m->functions[i].body);
    st_free(m->histogram);
    st_free(m->dim_infos);
    st_free(m->producer_str);
    st_buf_unref(m->file);
    st_arena_free(m->arena);
}

void st_type_from_tensor(st_graph *g, st_type *ty, const st_tensor *t) {
    ty->kind = ST_VAL_TENSOR;
    ty->optional = false;
    ty->dtype = t->dtype;
    ty->rank = t->ndim;
    ty->dims = st_ir_alloc(g, sizeof(st_dim) * (size_t)(t->ndim ? t->ndim : 1));
    if (!ty->dims) {
        ty->rank = -1;
        return;
    }
    for (int i = 0; i < t->ndim; i++) ty->dims[i].value = t->dims[i];
}

st_status st_type_copy(st_graph *g, st_type *dst, const st_type *src) {
    *dst = *src;
    if (src->rank > 0 && src->dims) {
        dst->dims = st_ir_alloc(g, sizeof(st_dim) * (size_t)src->rank);
        if (!dst->dims) return ST_ERR_NOMEM;
        for (int i = 0; i < src->rank; i++) {
            dst->dims[i].value = src->dims[i].value;
            dst->dims[i].symbol = src->dims[i].symbol ? st_ir_strdup(g, src->dims[i].symbol) : NULL;
        }
    }
    return ST_OK;
}
