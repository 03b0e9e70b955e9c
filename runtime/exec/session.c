/* runtime/exec/session.c: the executor. For each graph it runs (main graph, subgraphs) it
 * keeps a topological order, per-node kernel contexts, a frame of runtime values, and —
 * after the first run with a given input-shape signature — a plan:
 *   - prepare pass: every node is prepared with real input shapes and run once; nodes
 *     whose inputs are all constant (or Shape/Size of a statically shaped value) are
 *     folded: their outputs become constants and the node is skipped afterwards;
 *   - planning: outputs whose shapes prepare declared get offsets in one arena, reusing
 *     memory between values whose lifetimes do not overlap (views extend their root's
 *     lifetime); everything else is heap-allocated at run time;
 *   - later runs only call run() on unfolded nodes, releasing values after their last use.
 * It never prints; errors carry the node's name and op type. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "exec.h"

enum {
    VF_CONST = 1,  /* known before the run: initializer or folded; never released */
    VF_STATIC = 2, /* shape follows from the input signature */
    VF_OUTPUT = 4, /* graph output: kept until the results are handed out */
};

typedef struct kid {
    const st_graph *g;
    st_gexec *e;
} kid;

struct st_gexec {
    st_session *s;
    const st_graph *g;
    st_gexec *parent;
    size_t n;           /* nodes */
    int *order;         /* position -> node index */
    st_kctx *ks;        /* per position */
    st_value **ioptrs;  /* backing for every k->in / k->out */
    bool *inconst;      /* backing for every k->in_is_const */
    st_out_decl *decls; /* backing for every k->decl */
    st_value *vals;     /* the frame: one slot per graph value */
    unsigned char *vflags;
    int *last_use;  /* per value: last position reading it, -1 none */
    bool *skip;     /* per position: folded */
    bool *dyn;      /* per position: an input's shape may change within a signature */
    int64_t **nsig; /* per position: input types and shapes at its last prepare */
    size_t *nsig_n;
    bool prepared;
    uint64_t gen; /* prepare passes so far: folded values change only with it */
    int64_t *sig;
    size_t sig_n, sig_cap;
    size_t *offset;  /* per value: arena offset or SIZE_MAX */
    size_t *planned; /* per value: bytes reserved at offset */
    unsigned char *arena;
    size_t arena_size;
    void *scratch;
    size_t scratch_size;
    kid *kids;
    size_t n_kids, cap_kids;
};

struct st_session {
    const st_model *model;
    st_pool *pool;
    int threads;
    bool keep;
    st_gexec *main;
    st_node_hook hook;
    void *hook_ud;
};

/* ---- op resolution --------------------------------------------------------------- */

static void resolve_graph(st_model *m, st_graph *g) {
    for (size_t i = 0; i < g->n_nodes; i++) {
        st_node *n = &g->nodes[i];
        int64_t opset = st_model_opset(m, n->domain);
        if (opset == 0 && (!n->domain[0] || !strcmp(n->domain, "ai.onnx")))
            opset = ST_DEFAULT_OPSET;
        n->since = (int)opset;
        n->def = st_ops_find(n->domain, n->op_type, opset);
        for (int a = 0; a < n->n_attrs; a++) {
            if (n->attrs[a].g) resolve_graph(m, n->attrs[a].g);
            for (size_t j = 0; n->attrs[a].graphs && j < n->attrs[a].n; j++)
                resolve_graph(m, n->attrs[a].graphs[j]);
        }
    }
}

void st_ops_resolve(st_model *m) {
    if (m->graph) resolve_graph(m, m->graph);
}

typedef struct missing {
    const char *domain, *op;
    size_t count;
} missing;

static bool collect_missing(const st_graph *g, missing **ms, size_t *n, size_t *cap) {
    for (size_t i = 0; i < g->n_nodes; i++) {
        const st_node *nd = &g->nodes[i];
        if (!nd->def) {
            size_t j = 0;
            for (; j < *n; j++)
                if (!strcmp((*ms)[j].op, nd->op_type) && !strcmp((*ms)[j].domain, nd->domain))
                    break;
            if (j == *n) {
                if (!ST_GROW(*ms, *cap, *n + 1)) return false;
                (*ms)[(*n)++] = (missing){nd->domain, nd->op_type, 0};
            }
            (*ms)[j].count++;
        }
        for (int a = 0; a < nd->n_attrs; a++) {
            if (nd->attrs[a].g && !collect_missing(nd->attrs[a].g, ms, n, cap)) return false;
            for (size_t k = 0; nd->attrs[a].graphs && k < nd->attrs[a].n; k++)
                if (!collect_missing(nd->attrs[a].graphs[k], ms, n, cap)) return false;
        }
    }
    return true;
}

st_status st_ops_check(const st_model *m, st_error *err) {
    missing *ms = NULL;
    size_t n = 0, cap = 0;
    if (m->graph && !collect_missing(m->graph, &ms, &n, &cap)) {
        st_free(ms);
        return st_error_nomem(err);
    }
    if (!n) return ST_OK;
    char buf[ST_ERROR_MSG_MAX];
    int off = snprintf(buf, sizeof buf, "%zu operator%s not supported by the runtime:", n,
                       n == 1 ? " is" : "s are");
    for (size_t i = 0; i < n && off > 0 && (size_t)off < sizeof buf; i++)
        off += snprintf(buf + off, sizeof buf - (size_t)off, "%s %s%s%s (%zu node%s)", i ? "," : "",
                        ms[i].domain[0] ? ms[i].domain : "", ms[i].domain[0] ? "::" : "", ms[i].op,
                        ms[i].count, ms[i].count == 1 ? "" : "s");
    st_free(ms);
    return st_errorf(err, ST_ERR_UNSUPPORTED, "%s", buf);
}

/* ---- executor construction ------------------------------------------------------- */

static void gexec_free(st_gexec *e);

static void reset_node(st_kctx *k) {
    if (k->state) (k->state_free ? k->state_free : st_free)(k->state);
    k->state = NULL;
    k->state_free = NULL;
    k->run = NULL;
    k->scratch_bytes = 0;
    memset(k->decl, 0, sizeof(st_out_decl) * (size_t)k->n_out);
    for (int i = 0; i < k->n_out; i++) k->decl[i].alias_of = -1;
}

static void reset_states(st_gexec *e) {
    for (size_t p = 0; p < e->n; p++) reset_node(&e->ks[p]);
}

static void mark_outer_uses(st_gexec *e, const st_graph *sub, int pos) {
    for (size_t v = 0; v < sub->n_values; v++)
        if (sub->values[v].role == ST_VALUE_OUTER && sub->values[v].outer_index >= 0 &&
            (size_t)sub->values[v].outer_index < e->g->n_values)
            if (e->last_use[sub->values[v].outer_index] < pos)
                e->last_use[sub->values[v].outer_index] = pos;
}

static st_status gexec_new(st_session *s, const st_graph *g, st_gexec *parent, st_gexec **out,
                           st_error *err) {
    st_gexec *e = st_calloc(1, sizeof *e);
    if (!e) return st_error_nomem(err);
    e->s = s;
    e->g = g;
    e->parent = parent;
    e->n = g->n_nodes;
    size_t nv = g->n_values ? g->n_values : 1, nn = e->n ? e->n : 1, nio = 0, nout = 0;
    for (size_t i = 0; i < g->n_nodes; i++) {
        nio += (size_t)g->nodes[i].n_in + (size_t)g->nodes[i].n_out;
        nout += (size_t)g->nodes[i].n_out;
    }
    e->order = st_calloc(nn, sizeof *e->order);
    e->ks = st_calloc(nn, sizeof *e->ks);
    e->ioptrs = st_calloc(nio ? nio : 1, sizeof *e->ioptrs);
    e->inconst = st_calloc(nio ? nio : 1, sizeof *e->inconst);
    e->decls = st_calloc(nout ? nout : 1, sizeof *e->decls);
    e->vals = st_calloc(nv, sizeof *e->vals);
    e->vflags = st_calloc(nv, 1);
    e->last_use = st_calloc(nv, sizeof *e->last_use);
    e->skip = st_calloc(nn, sizeof *e->skip);
    e->dyn = st_calloc(nn, sizeof *e->dyn);
    e->nsig = st_calloc(nn, sizeof *e->nsig);
    e->nsig_n = st_calloc(nn, sizeof *e->nsig_n);
    e->planned = st_calloc(nv, sizeof *e->planned);
    e->offset = st_calloc(nv, sizeof *e->offset);
    if (!e->order || !e->ks || !e->ioptrs || !e->inconst || !e->decls || !e->vals || !e->vflags ||
        !e->last_use || !e->skip || !e->offset || !e->dyn || !e->nsig || !e->nsig_n ||
        !e->planned) {
        gexec_free(e);
        return st_error_nomem(err);
    }
    st_status st = st_graph_toposort(g, e->order, err);
    if (st) {
        gexec_free(e);
        return st;
    }
    for (size_t v = 0; v < g->n_values; v++) e->last_use[v] = -1;
    size_t io = 0, dc = 0;
    for (size_t p = 0; p < e->n; p++) {
        const st_node *nd = &g->nodes[e->order[p]];
        st_kctx *k = &e->ks[p];
        k->node = nd;
        k->graph = g;
        k->opset = nd->since;
        k->n_in = nd->n_in;
        k->n_out = nd->n_out;
        k->in = e->ioptrs + io;
        k->in_is_const = e->inconst + io;
        io += (size_t)nd->n_in;
        k->out = e->ioptrs + io;
        io += (size_t)nd->n_out;
        k->decl = e->decls + dc;
        dc += (size_t)nd->n_out;
        k->pool = s->pool;
        k->threads = s->threads;
        k->exec = e;
        for (int i = 0; i < nd->n_in; i++) {
            int v = nd->inputs[i];
            k->in[i] = v >= 0 ? &e->vals[v] : NULL;
            if (v >= 0 && e->last_use[v] < (int)p) e->last_use[v] = (int)p;
        }
        for (int i = 0; i < nd->n_out; i++)
            k->out[i] = nd->outputs[i] >= 0 ? &e->vals[nd->outputs[i]] : NULL;
        for (int a = 0; a < nd->n_attrs; a++) {
            if (nd->attrs[a].g) mark_outer_uses(e, nd->attrs[a].g, (int)p);
            for (size_t j = 0; nd->attrs[a].graphs && j < nd->attrs[a].n; j++)
                mark_outer_uses(e, nd->attrs[a].graphs[j], (int)p);
        }
    }
    for (size_t o = 0; o < g->n_outputs; o++)
        if (g->outputs[o] >= 0) e->vflags[g->outputs[o]] |= VF_OUTPUT;
    reset_states(e);
    *out = e;
    return ST_OK;
}

static void clear_frame(st_gexec *e, bool keep_consts) {
    for (size_t v = 0; v < e->g->n_values; v++)
        if (!keep_consts || !(e->vflags[v] & VF_CONST)) st_value_clear(&e->vals[v]);
}

static void gexec_free(st_gexec *e) {
    if (!e) return;
    for (size_t i = 0; i < e->n_kids; i++) gexec_free(e->kids[i].e);
    st_free(e->kids);
    if (e->ks && e->decls) reset_states(e);
    if (e->vals && e->vflags) clear_frame(e, false);
    st_free(e->order);
    st_free(e->ks);
    st_free(e->ioptrs);
    st_free(e->inconst);
    st_free(e->decls);
    st_free(e->vals);
    st_free(e->vflags);
    st_free(e->last_use);
    st_free(e->skip);
    st_free(e->dyn);
    for (size_t p = 0; e->nsig && p < e->n; p++) st_free(e->nsig[p]);
    st_free(e->nsig);
    st_free(e->nsig_n);
    st_free(e->planned);
    st_free(e->offset);
    st_free_aligned(e->arena);
    st_free_aligned(e->scratch);
    st_free(e->sig);
    st_free(e);
}

/* ---- signatures ------------------------------------------------------------------ */

static bool sig_push(st_gexec *e, int64_t x) {
    if (!ST_GROW(e->sig, e->sig_cap, e->sig_n + 1)) return false;
    e->sig[e->sig_n++] = x;
    return true;
}

static bool sig_value(st_gexec *e, const st_value *v) {
    bool ok = sig_push(e, v->kind) && sig_push(e, v->optional);
    if (v->kind == ST_VAL_TENSOR) {
        ok = ok && sig_push(e, v->tensor.dtype) && sig_push(e, v->tensor.ndim);
        for (int d = 0; ok && d < v->tensor.ndim; d++) ok = sig_push(e, v->tensor.dims[d]);
    } else if (v->kind == ST_VAL_SEQUENCE) {
        ok = ok && sig_push(e, (int64_t)v->nseq) && sig_push(e, v->elem_dtype);
        for (size_t i = 0; ok && i < v->nseq; i++) {
            ok = sig_push(e, v->seq[i].dtype) && sig_push(e, v->seq[i].ndim);
            for (int d = 0; ok && d < v->seq[i].ndim; d++) ok = sig_push(e, v->seq[i].dims[d]);
        }
    }
    return ok;
}

/* The types and shapes of node p's inputs, into *out (st_malloc'd). */
static bool node_signature(st_gexec *e, size_t p, int64_t **out, size_t *n) {
    int64_t *save = e->sig;
    size_t save_n = e->sig_n, save_cap = e->sig_cap;
    e->sig = NULL;
    e->sig_n = e->sig_cap = 0;
    const st_kctx *k = &e->ks[p];
    bool ok = true;
    for (int i = 0; ok && i < k->n_in; i++)
        ok = k->in[i] ? sig_value(e, k->in[i]) : sig_push(e, -1);
    *out = e->sig;
    *n = e->sig_n;
    e->sig = save;
    e->sig_n = save_n;
    e->sig_cap = save_cap;
    if (!ok) {
        st_free(*out);
        *out = NULL;
    }
    return ok;
}

/* The signature of the current bindings: every graph input and outer value. Returns
 * true when it equals the one the plan was made for. */
static st_status signature_matches(st_gexec *e, bool *same, st_error *err) {
    int64_t *old = e->sig;
    size_t old_n = e->sig_n;
    e->sig = NULL;
    e->sig_n = e->sig_cap = 0;
    bool ok = true;
    for (size_t v = 0; ok && v < e->g->n_values; v++) {
        const st_ir_value *iv = &e->g->values[v];
        if (iv->role == ST_VALUE_INPUT || iv->role == ST_VALUE_OUTER ||
            (iv->role == ST_VALUE_INITIALIZER && !(e->vflags[v] & VF_CONST)))
            ok = sig_push(e, (int64_t)v) && sig_value(e, &e->vals[v]) &&
                 sig_push(e, e->vflags[v] & VF_CONST);
        /* nodes here may have folded a constant outer value that the parent computed (not
         * an initializer): when the parent prepares again, its contents may differ */
        if (ok && iv->role == ST_VALUE_OUTER && (e->vflags[v] & VF_CONST) &&
            e->parent->g->values[iv->outer_index].role != ST_VALUE_INITIALIZER)
            ok = sig_push(e, (int64_t)e->parent->gen);
    }
    if (!ok) {
        st_free(e->sig);
        e->sig = old;
        e->sig_n = old_n;
        return st_error_nomem(err);
    }
    *same = e->prepared && old_n == e->sig_n && !memcmp(old, e->sig, old_n * sizeof *old);
    st_free(old);
    return ST_OK;
}

/* ---- outputs from kernels -------------------------------------------------------- */

void st_out_declare(st_kctx *k, int i, st_dtype dtype, int ndim, const int64_t *dims) {
    if (i < 0 || i >= k->n_out || ndim < 0 || ndim > ST_MAX_RANK) return;
    st_out_decl *d = &k->decl[i];
    d->declared = true;
    d->typed = true;
    d->dtype = dtype;
    d->ndim = ndim;
    if (ndim) memcpy(d->dims, dims, (size_t)ndim * sizeof *dims);
    d->alias_of = -1;
}

void st_out_declare_type(st_kctx *k, int i, st_dtype dtype, int ndim, const int64_t *dims) {
    if (i < 0 || i >= k->n_out || ndim > ST_MAX_RANK) return;
    st_out_decl *d = &k->decl[i];
    bool full = ndim >= 0;
    for (int x = 0; x < ndim; x++) full = full && dims[x] >= 0;
    if (full) {
        st_out_declare(k, i, dtype, ndim, dims);
        return;
    }
    d->declared = false;
    d->typed = true;
    d->dtype = dtype;
    d->ndim = ndim < 0 ? -1 : ndim;
    for (int x = 0; x < ndim; x++) d->dims[x] = dims ? dims[x] : -1;
    d->alias_of = -1;
}

void st_out_declare_alias(st_kctx *k, int i, int j, int ndim, const int64_t *dims) {
    if (j < 0 || j >= k->n_in || !k->in[j] || k->in[j]->kind != ST_VAL_TENSOR) return;
    st_out_declare(k, i, k->in[j]->tensor.dtype, ndim, dims);
    if (i >= 0 && i < k->n_out) k->decl[i].alias_of = j;
}

st_tensor *st_out(st_kctx *k, int i, st_dtype dtype, int ndim, const int64_t *dims, st_error *err) {
    if (!st_has_out(k, i)) return NULL;
    st_gexec *e = k->exec; /* NULL when static inference folds a constant */
    st_value *v = k->out[i];
    st_value_clear(v);
    int vi = k->node->outputs[i];
    const st_out_decl *d = &k->decl[i];
    size_t n = 1;
    for (int x = 0; x < ndim; x++) n *= (size_t)(dims[x] > 0 ? dims[x] : 0);
    if (e && e->prepared && e->offset[vi] != SIZE_MAX && d->declared && d->alias_of < 0 &&
        d->dtype == dtype && dtype != ST_DTYPE_STRING && ndim <= ST_MAX_RANK &&
        n * st_dtype_size(dtype) <= e->planned[vi]) {
        st_tensor_borrow(&v->tensor, dtype, ndim, dims, e->arena + e->offset[vi], NULL);
        v->kind = ST_VAL_TENSOR;
        return &v->tensor;
    }
    if (st_tensor_alloc(&v->tensor, dtype, ndim, dims, err)) return NULL;
    v->kind = ST_VAL_TENSOR;
    return &v->tensor;
}

st_status st_out_alias(st_kctx *k, int i, int j, int ndim, const int64_t *dims, st_error *err) {
    if (!st_has_out(k, i)) return ST_OK;
    const st_tensor *src = st_in(k, j);
    if (!src) return st_errorf(err, ST_ERR_INVALID, "input %d is not a tensor", j);
    size_t n;
    st_status s = st_shape_nelem(ndim, dims, &n, err);
    if (s) return s;
    if (n != st_tensor_nelem(src))
        return st_errorf(err, ST_ERR_INVALID, "cannot view %zu elements as %zu",
                         st_tensor_nelem(src), n);
    st_value *v = k->out[i];
    if (v == k->in[j]) return ST_OK;
    st_value_clear(v);
    st_tensor_share(&v->tensor, src);
    v->tensor.ndim = ndim;
    if (ndim) memcpy(v->tensor.dims, dims, (size_t)ndim * sizeof *dims);
    v->kind = ST_VAL_TENSOR;
    return ST_OK;
}

/* ---- planning -------------------------------------------------------------------- */

typedef struct span {
    int v;
    int start, end;
    size_t size, off;
} span;

static int by_size_desc(const void *a, const void *b) {
    const span *x = a, *y = b;
    if (x->size != y->size) return x->size < y->size ? 1 : -1;
    return x->v - y->v;
}

static st_status plan(st_gexec *e, st_error *err) {
    const st_graph *g = e->g;
    size_t nv = g->n_values;
    int *def = st_malloc((nv ? nv : 1) * sizeof *def),
        *end = st_malloc((nv ? nv : 1) * sizeof *end);
    int *root = st_malloc((nv ? nv : 1) * sizeof *root);
    span *sp = st_malloc((nv ? nv : 1) * sizeof *sp);
    st_status st = ST_OK;
    if (!def || !end || !root || !sp) {
        st = st_error_nomem(err);
        goto done;
    }
    for (size_t v = 0; v < nv; v++) {
        def[v] = -1;
        root[v] = (int)v;
        end[v] = e->last_use[v];
        e->offset[v] = SIZE_MAX;
        e->planned[v] = 0;
    }
    /* which values get arena slots, and how views extend their root's lifetime */
    for (size_t p = 0; p < e->n; p++) {
        if (e->skip[p]) continue;
        const st_kctx *k = &e->ks[p];
        for (int i = 0; i < k->n_out; i++) {
            int v = k->node->outputs[i];
            if (v < 0) continue;
            def[v] = (int)p;
            if (end[v] < (int)p) end[v] = (int)p;
            const st_out_decl *d = &k->decl[i];
            if (d->declared && d->alias_of >= 0 && k->node->inputs[d->alias_of] >= 0) {
                int r = root[k->node->inputs[d->alias_of]];
                root[v] = r;
                if (end[r] < end[v]) end[r] = end[v];
                if (e->vflags[v] & VF_OUTPUT) end[r] = INT32_MAX;
            }
        }
    }
    /* values that a node may keep a reference to beyond its last use (sequences, optionals,
     * subgraph results) stay on the heap, where references keep them alive */
    for (size_t p = 0; p < e->n; p++) {
        const st_kctx *k = &e->ks[p];
        bool retains = false;
        for (int a = 0; a < k->node->n_attrs; a++)
            retains |=
                k->node->attrs[a].kind == ST_ATTR_GRAPH || k->node->attrs[a].kind == ST_ATTR_GRAPHS;
        for (int i = 0; i < k->n_out; i++)
            retains |= k->out[i] && (k->out[i]->kind == ST_VAL_SEQUENCE || k->out[i]->optional);
        for (int i = 0; retains && i < k->n_in; i++)
            if (k->node->inputs[i] >= 0) end[root[k->node->inputs[i]]] = -2;
    }
    /* a root's end must cover all of its views, which may be declared later */
    for (size_t v = 0; v < nv; v++)
        if (root[v] != (int)v && end[root[v]] != -2 && end[root[v]] < end[v]) end[root[v]] = end[v];
    size_t ns = 0;
    for (size_t p = 0; p < e->n; p++) {
        if (e->skip[p]) continue;
        const st_kctx *k = &e->ks[p];
        for (int i = 0; i < k->n_out; i++) {
            int v = k->node->outputs[i];
            const st_out_decl *d = &k->decl[i];
            if (v < 0 || !d->declared || d->alias_of >= 0 || d->dtype == ST_DTYPE_STRING ||
                (e->vflags[v] & (VF_OUTPUT | VF_CONST)) || !(e->vflags[v] & VF_STATIC) ||
                root[v] != v || end[v] == -2)
                continue;
            size_t n = 1;
            for (int x = 0; x < d->ndim; x++) n *= (size_t)d->dims[x];
            size_t bytes = n * st_dtype_size(d->dtype);
            if (!bytes) continue;
            sp[ns++] = (span){v, def[v], end[v], (bytes + 63) & ~(size_t)63, 0};
        }
    }
    qsort(sp, ns, sizeof *sp, by_size_desc);
    size_t total = 0;
    for (size_t i = 0; i < ns; i++) {
        /* lowest offset that collides with no placed span alive at the same time */
        size_t off = 0;
        bool moved = true;
        while (moved) {
            moved = false;
            for (size_t j = 0; j < i; j++) {
                if (sp[j].end < sp[i].start || sp[i].end < sp[j].start) continue;
                if (off < sp[j].off + sp[j].size && sp[j].off < off + sp[i].size) {
                    off = sp[j].off + sp[j].size;
                    moved = true;
                }
            }
        }
        sp[i].off = off;
        if (off + sp[i].size > total) total = off + sp[i].size;
    }
    st_free_aligned(e->arena);
    e->arena = NULL;
    e->arena_size = 0;
    if (total) {
        e->arena = st_malloc_aligned(total, 64);
        if (!e->arena) {
            st = st_error_nomem(err);
            goto done;
        }
        e->arena_size = total;
        for (size_t i = 0; i < ns; i++) {
            e->offset[sp[i].v] = sp[i].off;
            e->planned[sp[i].v] = sp[i].size;
        }
    }
done:
    st_free(def);
    st_free(end);
    st_free(root);
    st_free(sp);
    return st;
}

/* ---- running --------------------------------------------------------------------- */

/* Whether a node's outputs may be computed once at prepare and kept: not impure (the
 * record's flags), no subgraphs, and every input constant, or a shape-only op (Shape,
 * Size) whose input's shape is static. */
static bool foldable(const st_gexec *e, const st_kctx *k) {
    const st_node *nd = k->node;
    uint32_t flags = nd->def ? nd->def->flags : 0;
    if (flags & ST_OPF_IMPURE) return false;
    for (int a = 0; a < nd->n_attrs; a++)
        if (nd->attrs[a].kind == ST_ATTR_GRAPH || nd->attrs[a].kind == ST_ATTR_GRAPHS) return false;
    if ((flags & ST_OPF_SHAPE_ONLY) && nd->n_in >= 1 && nd->inputs[0] >= 0 &&
        (e->vflags[nd->inputs[0]] & VF_STATIC) && e->vals[nd->inputs[0]].kind == ST_VAL_TENSOR)
        return true;
    for (int i = 0; i < nd->n_in; i++)
        if (nd->inputs[i] >= 0 && !(e->vflags[nd->inputs[i]] & VF_CONST)) return false;
    return true;
}

static st_status ensure_scratch(st_gexec *e, size_t n, st_error *err) {
    if (n <= e->scratch_size) return ST_OK;
    size_t sz = (n + 63) & ~(size_t)63;
    void *p = st_malloc_aligned(sz, 64);
    if (!p) return st_errorf(err, ST_ERR_NOMEM, "out of memory allocating %zu bytes of scratch", n);
    st_free_aligned(e->scratch);
    e->scratch = p;
    e->scratch_size = sz;
    return ST_OK;
}

static void release_after(st_gexec *e, int p) {
    if (e->s->keep) return;
    const st_node *nd = e->ks[p].node;
    for (int i = 0; i < nd->n_in; i++) {
        int v = nd->inputs[i];
        if (v >= 0 && e->last_use[v] == p && !(e->vflags[v] & (VF_CONST | VF_OUTPUT)))
            st_value_clear(&e->vals[v]);
    }
    for (int i = 0; i < nd->n_out; i++) {
        int v = nd->outputs[i];
        if (v >= 0 && e->last_use[v] < 0 && !(e->vflags[v] & (VF_CONST | VF_OUTPUT)))
            st_value_clear(&e->vals[v]);
    }
}

/* Prefix err with the node (its name, or the first output it produces when unnamed) and
 * return the kernel's status st unchanged, whether or not a message was requested. */
static st_status node_error(const st_gexec *e, const st_node *nd, st_status st, st_error *err) {
    if (nd->name[0]) {
        st_error_prefix(err, "node \"%s\" (%s): ", nd->name, nd->op_type);
    } else {
        const char *out =
            nd->n_out && nd->outputs[0] >= 0 ? e->g->values[nd->outputs[0]].name : "?";
        st_error_prefix(err, "node producing \"%s\" (%s): ", out, nd->op_type);
    }
    return st;
}

static st_status run_node(st_gexec *e, size_t p, st_error *err) {
    st_kctx *k = &e->ks[p];
    const st_node *nd = k->node;
    st_status st = ensure_scratch(e, k->scratch_bytes, err);
    if (st) return st;
    k->scratch = e->scratch;
    for (int i = 0; i < k->n_out; i++)
        if (k->out[i]) st_value_clear(k->out[i]);
    st_node_event ev = {p,
                        nd->name,
                        nd->op_type,
                        0,
                        (size_t)e->order[p],
                        k->n_in,
                        k->n_out,
                        (const st_value *const *)k->in,
                        (const st_value *const *)k->out};
    if (e->s->hook && e == e->s->main) e->s->hook(e->s->hook_ud, &ev, false);
    st = k->run(k, err);
    if (e->s->hook && e == e->s->main) e->s->hook(e->s->hook_ud, &ev, true);
    return st ? node_error(e, nd, st, err) : ST_OK;
}

/* Prepare node p for the current input shapes (its state from an earlier prepare is
 * dropped), remembering those shapes so a dynamic node can tell when to prepare again. */
static st_status prepare_node(st_gexec *e, size_t p, st_error *err) {
    st_kctx *k = &e->ks[p];
    const st_node *nd = k->node;
    if (!nd->def)
        return st_errorf(err, ST_ERR_UNSUPPORTED, "node \"%s\": operator %s is not supported",
                         nd->name, nd->op_type);
    for (int i = 0; i < nd->n_in; i++) {
        int v = nd->inputs[i];
        ((bool *)k->in_is_const)[i] = v >= 0 && (e->vflags[v] & VF_CONST);
        if (v >= 0 && e->vals[v].kind == ST_VAL_NONE && !e->vals[v].optional)
            return st_errorf(err, ST_ERR_INVALID, "node \"%s\" (%s): input \"%s\" has no value",
                             nd->name, nd->op_type, e->g->values[v].name);
    }
    reset_node(k);
    st_status st = nd->def->prepare(k, err);
    if (!st && !k->run) st = st_errorf(err, ST_ERR_UNSUPPORTED, "prepare chose no kernel");
    if (st) return node_error(e, nd, st, err);
    st_free(e->nsig[p]);
    e->nsig[p] = NULL;
    if (e->dyn[p] && !node_signature(e, p, &e->nsig[p], &e->nsig_n[p])) return st_error_nomem(err);
    return ST_OK;
}

/* Before running a dynamic node: prepare it again if its inputs changed shape. */
static st_status refresh_node(st_gexec *e, size_t p, st_error *err) {
    int64_t *sig;
    size_t n;
    if (!node_signature(e, p, &sig, &n)) return st_error_nomem(err);
    bool same = e->nsig[p] && n == e->nsig_n[p] && !memcmp(sig, e->nsig[p], n * sizeof *sig);
    st_free(sig);
    return same ? ST_OK : prepare_node(e, p, err);
}

static st_status prepare_pass(st_gexec *e, st_error *err) {
    st_status st = ST_OK;
    e->prepared = false;
    e->gen++;
    reset_states(e);
    /* forget folded values from an earlier signature */
    for (size_t v = 0; v < e->g->n_values; v++) {
        const st_ir_value *iv = &e->g->values[v];
        if ((e->vflags[v] & VF_CONST) && iv->role == ST_VALUE_INTERMEDIATE) {
            st_value_clear(&e->vals[v]);
            e->vflags[v] &= (unsigned char)~VF_CONST;
        }
        e->vflags[v] &= (unsigned char)~VF_STATIC;
        if (iv->role == ST_VALUE_INPUT || iv->role == ST_VALUE_OUTER || (e->vflags[v] & VF_CONST))
            e->vflags[v] |= VF_STATIC;
    }
    for (size_t p = 0; p < e->n; p++) {
        st_kctx *k = &e->ks[p];
        const st_node *nd = k->node;
        e->skip[p] = false;
        bool all_static = true;
        for (int i = 0; i < nd->n_in; i++)
            if (nd->inputs[i] >= 0 && !(e->vflags[nd->inputs[i]] & (VF_STATIC | VF_CONST)))
                all_static = false;
        e->dyn[p] = !all_static;
        if ((st = prepare_node(e, p, err)) || (st = run_node(e, p, err))) return st;
        bool fold = !e->s->keep && foldable(e, k);
        for (int i = 0; i < nd->n_out; i++) {
            int v = nd->outputs[i];
            if (v < 0) continue;
            if (fold) e->vflags[v] |= VF_CONST | VF_STATIC;
            else if (k->decl[i].declared && all_static) e->vflags[v] |= VF_STATIC;
        }
        e->skip[p] = fold;
        release_after(e, (int)p);
    }
    if (!e->s->keep && (st = plan(e, err))) return st;
    e->prepared = true;
    return ST_OK;
}

/* dst becomes a new reference to src's tensor or sequence elements (no copy). */
static st_status share_value(st_value *dst, const st_value *src, st_error *err) {
    *dst = *src;
    dst->seq = NULL;
    dst->nseq = 0;
    memset(&dst->tensor, 0, sizeof dst->tensor);
    if (src->kind == ST_VAL_TENSOR) st_tensor_share(&dst->tensor, &src->tensor);
    if (src->kind == ST_VAL_SEQUENCE && src->nseq) {
        dst->seq = st_calloc(src->nseq, sizeof *dst->seq);
        if (!dst->seq) return st_error_nomem(err);
        dst->nseq = src->nseq;
        for (size_t j = 0; j < src->nseq; j++) st_tensor_share(&dst->seq[j], &src->seq[j]);
    }
    return ST_OK;
}

/* Bind inputs (positional over g->inputs) and outer values into the frame. */
static st_status bind(st_gexec *e, size_t n_in, const st_value *ins, st_error *err) {
    const st_graph *g = e->g;
    for (size_t i = 0; i < g->n_inputs; i++) {
        int v = g->inputs[i];
        if (v < 0) continue;
        const st_ir_value *iv = &g->values[v];
        st_value *slot = &e->vals[v];
        st_value_clear(slot);
        if (i < n_in && (ins[i].kind != ST_VAL_NONE || ins[i].optional)) {
            if (share_value(slot, &ins[i], err)) return ST_ERR_NOMEM;
            e->vflags[v] &= (unsigned char)~VF_CONST;
        } else if (iv->has_const) {
            slot->kind = ST_VAL_TENSOR;
            st_tensor_share(&slot->tensor, &iv->const_val);
            e->vflags[v] |= VF_CONST;
        } else if (iv->type.optional) {
            slot->kind = ST_VAL_NONE;
            slot->optional = true;
        } else {
            return st_errorf(err, ST_ERR_INVALID, "input \"%s\" was not given", iv->name);
        }
    }
    for (size_t v = 0; v < g->n_values; v++) {
        const st_ir_value *iv = &g->values[v];
        if (iv->role == ST_VALUE_INITIALIZER && e->vals[v].kind == ST_VAL_NONE && iv->has_const) {
            bool is_input = false;
            for (size_t i = 0; i < g->n_inputs; i++) is_input |= g->inputs[i] == (int)v;
            if (!is_input) {
                e->vals[v].kind = ST_VAL_TENSOR;
                st_tensor_share(&e->vals[v].tensor, &iv->const_val);
                e->vflags[v] |= VF_CONST | VF_STATIC;
            }
        } else if (iv->role == ST_VALUE_OUTER) {
            st_value_clear(&e->vals[v]);
            if (!e->parent || iv->outer_index < 0 ||
                (size_t)iv->outer_index >= e->parent->g->n_values)
                return st_errorf(err, ST_ERR_FORMAT,
                                 "subgraph value \"%s\" is not defined in an enclosing graph",
                                 iv->name);
            if (share_value(&e->vals[v], &e->parent->vals[iv->outer_index], err))
                return ST_ERR_NOMEM;
            bool pc = e->parent->vflags[iv->outer_index] & VF_CONST;
            e->vflags[v] = (unsigned char)((e->vflags[v] & ~(VF_CONST | VF_STATIC)) |
                                           (pc ? VF_CONST | VF_STATIC : 0));
        }
    }
    return ST_OK;
}

/* Copy a value out of the frame: arena-backed tensors are copied, others shared. */
static st_status export_value(const st_value *src, st_value *dst, st_error *err) {
    memset(dst, 0, sizeof *dst);
    dst->kind = src->kind;
    dst->optional = src->optional;
    dst->elem_dtype = src->elem_dtype;
    if (src->kind == ST_VAL_TENSOR) {
        if (src->tensor.buf) st_tensor_share(&dst->tensor, &src->tensor);
        else return st_tensor_copy(&dst->tensor, &src->tensor, err);
    } else if (src->kind == ST_VAL_SEQUENCE && src->nseq) {
        dst->seq = st_calloc(src->nseq, sizeof *dst->seq);
        if (!dst->seq) return st_error_nomem(err);
        dst->nseq = src->nseq;
        for (size_t j = 0; j < src->nseq; j++) {
            if (src->seq[j].buf) {
                st_tensor_share(&dst->seq[j], &src->seq[j]);
            } else {
                st_status s = st_tensor_copy(&dst->seq[j], &src->seq[j], err);
                if (s) return s;
            }
        }
    }
    return ST_OK;
}

static st_status gexec_run(st_gexec *e, size_t n_in, const st_value *ins, st_value *outs,
                           st_error *err) {
    st_status st = bind(e, n_in, ins, err);
    bool same = false;
    if (!st) st = signature_matches(e, &same, err);
    if (!st) {
        if (!same) {
            st = prepare_pass(e, err);
            if (st) e->prepared = false;
        } else {
            for (size_t p = 0; p < e->n && !st; p++) {
                if (e->skip[p]) continue;
                if (e->dyn[p] && (st = refresh_node(e, p, err))) break;
                st = run_node(e, p, err);
                if (!st) release_after(e, (int)p);
            }
        }
    }
    if (!st) {
        size_t done = 0;
        for (; done < e->g->n_outputs && !st; done++) {
            int v = e->g->outputs[done];
            if (v < 0) {
                memset(&outs[done], 0, sizeof outs[done]);
                continue;
            }
            st = export_value(&e->vals[v], &outs[done], err);
        }
        if (st)
            for (size_t i = 0; i < done; i++) st_value_clear(&outs[i]);
    }
    if (!e->s->keep || st) clear_frame(e, true);
    return st;
}

st_status st_subgraph_run(st_kctx *k, const st_graph *g, size_t n_in, const st_value *ins,
                          st_value *outs, st_error *err) {
    st_gexec *e = k->exec, *child = NULL;
    for (size_t i = 0; i < e->n_kids; i++)
        if (e->kids[i].g == g) child = e->kids[i].e;
    if (!child) {
        if (!ST_GROW(e->kids, e->cap_kids, e->n_kids + 1)) return st_error_nomem(err);
        st_status st = gexec_new(e->s, g, e, &child, err);
        if (st) return st;
        e->kids[e->n_kids++] = (kid){g, child};
    }
    if (n_in > g->n_inputs) n_in = g->n_inputs;
    return gexec_run(child, n_in, ins, outs, err);
}

/* ---- sessions -------------------------------------------------------------------- */

st_session_opts st_session_opts_default(void) {
    st_session_opts o;
    memset(&o, 0, sizeof o);
    return o;
}

st_status st_session_new(const st_model *m, const st_session_opts *opts, st_session **out,
                         st_error *err) {
    if (!m || !m->graph) return st_errorf(err, ST_ERR_INVALID, "no model");
    st_status st = st_ops_check(m, err);
    if (st) return st;
    st_session *s = st_calloc(1, sizeof *s);
    if (!s) return st_error_nomem(err);
    s->model = m;
    int threads = opts && opts->threads > 0 ? opts->threads : 0;
    if (!threads) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        threads = n > 0 ? (int)n : 1;
    }
    s->threads = threads;
    s->keep = opts && opts->keep_intermediates;
    if ((st = st_pool_new(threads, &s->pool, err)) ||
        (st = gexec_new(s, m->graph, NULL, &s->main, err))) {
        st_session_free(s);
        return st;
    }
    *out = s;
    return ST_OK;
}

void st_session_free(st_session *s) {
    if (!s) return;
    gexec_free(s->main);
    st_pool_free(s->pool);
    st_free(s);
}

size_t st_session_n_outputs(const st_session *s) { return s->model->graph->n_outputs; }

const char *st_session_output_name(const st_session *s, size_t i) {
    const st_graph *g = s->model->graph;
    return i < g->n_outputs && g->outputs[i] >= 0 ? g->values[g->outputs[i]].name : "";
}

size_t st_session_n_nodes(const st_session *s) { return s->main->n; }

void st_session_set_hook(st_session *s, st_node_hook hook, void *ud) {
    s->hook = hook;
    s->hook_ud = ud;
}

const st_value *st_session_value(const st_session *s, const char *name) {
    int v = st_graph_find(s->model->graph, name);
    return v >= 0 ? &s->main->vals[v] : NULL;
}

static st_status check_input(const st_ir_value *iv, const st_value *v, st_error *err) {
    const st_type *t = &iv->type;
    if (v->kind == ST_VAL_NONE) {
        if (!v->optional && !t->optional)
            return st_errorf(err, ST_ERR_INVALID, "input \"%s\": no value", iv->name);
        return ST_OK;
    }
    if (t->kind != ST_VAL_NONE && t->kind != v->kind)
        return st_errorf(err, ST_ERR_INVALID, "input \"%s\": expected a %s, got a %s", iv->name,
                         t->kind == ST_VAL_SEQUENCE ? "sequence" : "tensor",
                         v->kind == ST_VAL_SEQUENCE ? "sequence" : "tensor");
    if (v->kind != ST_VAL_TENSOR) return ST_OK;
    const st_tensor *x = &v->tensor;
    if (t->dtype != ST_DTYPE_UNDEFINED && t->dtype != x->dtype)
        return st_errorf(err, ST_ERR_INVALID, "input \"%s\": expected %s, got %s", iv->name,
                         st_dtype_name(t->dtype), st_dtype_name(x->dtype));
    if (t->rank >= 0 && t->rank != x->ndim)
        return st_errorf(err, ST_ERR_INVALID, "input \"%s\": expected rank %d, got rank %d",
                         iv->name, t->rank, x->ndim);
    for (int d = 0; t->rank > 0 && t->dims && d < t->rank; d++)
        if (t->dims[d].value >= 0 && t->dims[d].value != x->dims[d])
            return st_errorf(err, ST_ERR_INVALID,
                             "input \"%s\": dimension %d is %" PRId64
                             ", the model expects %" PRId64,
                             iv->name, d, x->dims[d], t->dims[d].value);
    return ST_OK;
}

st_status st_session_run(st_session *s, size_t n_inputs, const char *const *names,
                         const st_value *inputs, st_value **outputs, st_error *err) {
    const st_graph *g = s->model->graph;
    st_value *bound = st_calloc(g->n_inputs ? g->n_inputs : 1, sizeof *bound);
    st_value *outs = st_calloc(g->n_outputs ? g->n_outputs : 1, sizeof *outs);
    st_status st = ST_OK;
    if (!bound || !outs) {
        st = st_error_nomem(err);
        goto fail;
    }
    for (size_t i = 0; i < n_inputs; i++) {
        size_t slot = i;
        if (names && names[i]) {
            for (slot = 0; slot < g->n_inputs; slot++)
                if (!strcmp(g->values[g->inputs[slot]].name, names[i])) break;
            if (slot == g->n_inputs) {
                st =
                    st_errorf(err, ST_ERR_INVALID, "the model has no input named \"%s\"", names[i]);
                goto fail;
            }
        } else if (slot >= g->n_inputs) {
            st = st_errorf(err, ST_ERR_INVALID, "%zu inputs given, the model takes %zu", n_inputs,
                           g->n_inputs);
            goto fail;
        }
        if ((st = check_input(&g->values[g->inputs[slot]], &inputs[i], err))) goto fail;
        bound[slot] = inputs[i]; /* shallow: bind() takes its own references */
    }
    st = gexec_run(s->main, g->n_inputs, bound, outs, err);
    if (st) goto fail;
    st_free(bound);
    *outputs = outs;
    return ST_OK;
fail:
    st_free(bound);
    st_free(outs);
    return st;
}
