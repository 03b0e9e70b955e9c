/* converters/onnx/onnx_inline.c: expands calls to model-local functions (ModelProto.functions)
 * that the runtime has no kernel for, as ir.h promises: each call node is replaced in place by
 * the function's body with fresh value names, formal parameters bound to the call's values and
 * attribute references (ref_attr_name) bound to the call's attributes. The functions stay in
 * m->functions so an export still carries them. Bodies holding subgraphs are left as calls. */
#include <stdio.h>
#include <string.h>

#include "onnx_internal.h"
#include "op.h"

#define MAX_ROUNDS 8 /* functions calling functions; a cycle stops here */

static const st_function *callee(const st_model *m, const st_node *n) {
    for (size_t i = 0; i < m->n_functions; i++) {
        const st_function *f = &m->functions[i];
        if (!f->body || strcmp(f->name, n->op_type) || strcmp(f->domain, n->domain)) continue;
        if (st_ops_find(n->domain, n->op_type, n->since)) return NULL; /* the runtime has it */
        for (size_t k = 0; k < f->body->n_nodes; k++)
            for (int a = 0; a < f->body->nodes[k].n_attrs; a++) {
                st_attr_kind kd = f->body->nodes[k].attrs[a].kind;
                if (kd == ST_ATTR_GRAPH || kd == ST_ATTR_GRAPHS) return NULL;
            }
        for (int a = 0; a < n->n_attrs; a++)
            if (n->attrs[a].kind == ST_ATTR_GRAPH || n->attrs[a].kind == ST_ATTR_GRAPHS)
                return NULL;
        return f;
    }
    return NULL;
}

/* Copy an attribute into g, taking new references to its tensors; `name` renames it. */
static st_status attr_copy(st_graph *g, st_node *dst, const st_attr *src, const char *name,
                           st_error *err) {
    st_attr *a = st_node_add_attr(g, dst, name, src->kind);
    if (!a) return st_error_nomem(err);
    char *nm = a->name;
    *a = *src;
    a->name = nm;
    a->ref_attr_name = NULL;
    if (src->kind == ST_ATTR_TENSOR || src->kind == ST_ATTR_SPARSE_TENSOR)
        st_tensor_share(&a->t, &src->t);
    if (src->tensors) {
        if (!(a->tensors = st_ir_alloc(g, sizeof(st_tensor) * (src->n ? src->n : 1))))
            return st_error_nomem(err);
        for (size_t i = 0; i < src->n; i++) st_tensor_share(&a->tensors[i], &src->tensors[i]);
    }
    return ST_OK;
}

/* The value in g standing for body value bv of function f called by `call`. */
static int bind(st_graph *g, const st_function *f, const st_node *call, int bv, const char *prefix,
                st_error *err) {
    if (bv < 0) return -1;
    const char *name = f->body->values[bv].name;
    for (int i = 0; i < f->n_in; i++)
        if (!strcmp(f->inputs[i], name)) return i < call->n_in ? call->inputs[i] : -1;
    for (int i = 0; i < f->n_out; i++)
        if (!strcmp(f->outputs[i], name)) return i < call->n_out ? call->outputs[i] : -1;
    size_t pl = strlen(prefix), nl = strlen(name);
    char *full = st_malloc(pl + nl + 1);
    if (!full) {
        st_error_nomem(err);
        return -2;
    }
    memcpy(full, prefix, pl);
    memcpy(full + pl, name, nl + 1);
    int vi = st_graph_value(g, full);
    st_free(full);
    if (vi < 0) {
        st_error_nomem(err);
        return -2;
    }
    return vi;
}

/* A prefix no value of g starts with: "<call name or op>/<k>/". */
static st_status fresh_prefix(const st_graph *g, const st_node *call, unsigned *counter, char *buf,
                              size_t n) {
    for (;;) {
        snprintf(buf, n, "%s/%u/", *call->name ? call->name : call->op_type, (*counter)++);
        size_t pl = strlen(buf);
        bool clash = false;
        for (size_t i = 0; i < g->n_values && !clash; i++)
            clash = !strncmp(g->values[i].name, buf, pl);
        if (!clash) return ST_OK;
    }
}

static st_status expand(st_graph *g, const st_node *call, const st_function *f, unsigned *counter,
                        st_error *err) {
    char prefix[256];
    st_status s = fresh_prefix(g, call, counter, prefix, sizeof prefix);
    if (s) return s;
    for (size_t k = 0; k < f->body->n_nodes; k++) {
        const st_node *b = &f->body->nodes[k];
        const char *base = *b->name ? b->name : b->op_type;
        size_t nl = strlen(prefix) + strlen(base);
        char *name = st_ir_alloc(g, nl + 1);
        if (!name) return st_error_nomem(err);
        snprintf(name, nl + 1, "%s%s", prefix, base);
        st_node *n = st_graph_add_node(g, b->op_type, b->domain, name, b->n_in, b->n_out);
        if (!n) return st_error_nomem(err);
        n->since = b->since;
        n->doc = b->doc;
        int idx = (int)(n - g->nodes);
        for (int i = 0; i < b->n_in; i++) {
            int vi = bind(g, f, call, b->inputs[i], prefix, err);
            if (vi == -2) return ST_ERR_NOMEM;
            g->nodes[idx].inputs[i] = vi;
        }
        for (int i = 0; i < b->n_out; i++) {
            int vi = bind(g, f, call, b->outputs[i], prefix, err);
            if (vi == -2) return ST_ERR_NOMEM;
            g->nodes[idx].outputs[i] = vi;
        }
        for (int a = 0; a < b->n_attrs; a++) {
            const st_attr *ba = &b->attrs[a];
            const st_attr *src = ba;
            if (ba->ref_attr_name) { /* bound by the caller, or left to the op's default */
                src = st_node_attr(call, ba->ref_attr_name);
                if (!src) continue;
            }
            if ((s = attr_copy(g, &g->nodes[idx], src, ba->name, err))) return s;
        }
    }
    return ST_OK;
}

/* One pass over g: rebuild the node list with every expandable call replaced. */
static st_status inline_pass(st_model *m, st_graph *g, unsigned *counter, bool *changed,
                             st_error *err) {
    size_t n_old = g->n_nodes;
    st_node *old = g->nodes;
    bool any = false;
    for (size_t k = 0; k < n_old && !any; k++) any = callee(m, &old[k]) != NULL;
    if (!any) return ST_OK;
    g->nodes = NULL;
    g->n_nodes = g->cap_nodes = 0;
    st_status s = ST_OK;
    size_t k = 0;
    for (; k < n_old; k++) {
        const st_function *f = callee(m, &old[k]);
        if (f) {
            if ((s = expand(g, &old[k], f, counter, err))) break;
            for (int a = 0; a < old[k].n_attrs; a++) { /* the call goes: drop its references */
                st_tensor_clear(&old[k].attrs[a].t);
                for (size_t i = 0; old[k].attrs[a].tensors && i < old[k].attrs[a].n; i++)
                    st_tensor_clear(&old[k].attrs[a].tensors[i]);
            }
            continue;
        }
        if (!ST_GROW(g->nodes, g->cap_nodes, g->n_nodes + 1)) {
            s = st_error_nomem(err);
            break;
        }
        g->nodes[g->n_nodes++] = old[k];
    }
    if (s) { /* keep every node reachable so release frees what they hold */
        for (; k < n_old; k++)
            if (ST_GROW(g->nodes, g->cap_nodes, g->n_nodes + 1)) g->nodes[g->n_nodes++] = old[k];
        st_free(old);
        return s;
    }
    st_free(old);
    for (size_t v = 0; v < g->n_values; v++)
        if (g->values[v].role == ST_VALUE_INTERMEDIATE) g->values[v].producer = -1;
    for (size_t i = 0; i < g->n_nodes; i++)
        for (int o = 0; o < g->nodes[i].n_out; o++)
            if (g->nodes[i].outputs[o] >= 0) g->values[g->nodes[i].outputs[o]].producer = (int)i;
    *changed = true;
    return ST_OK;
}

static st_status inline_graph(st_model *m, st_graph *g, unsigned *counter, st_error *err) {
    st_status s;
    bool changed = true;
    for (int round = 0; round < MAX_ROUNDS && changed; round++) {
        changed = false;
        if ((s = inline_pass(m, g, counter, &changed, err))) return s;
    }
    for (size_t k = 0; k < g->n_nodes; k++)
        for (int a = 0; a < g->nodes[k].n_attrs; a++) {
            st_attr *at = &g->nodes[k].attrs[a];
            if (at->kind == ST_ATTR_GRAPH && at->g && (s = inline_graph(m, at->g, counter, err)))
                return s;
            for (size_t i = 0; at->kind == ST_ATTR_GRAPHS && i < at->n; i++)
                if (at->graphs[i] && (s = inline_graph(m, at->graphs[i], counter, err))) return s;
        }
    return ST_OK;
}

st_status st_onnx_inline_functions(st_model *m, st_error *err) {
    if (!m->n_functions || !m->graph) return ST_OK;
    unsigned counter = 0;
    return inline_graph(m, m->graph, &counter, err);
}
