/* runtime/exec/infer.c: static type and shape inference (see infer.h). Two passes run every
 * node's prepare on types alone; a symbol stands in as a different sentinel extent in each
 * pass, so an output dim equal in both is fixed and one equal to a symbol's sentinels is
 * that symbol. It never runs a kernel except to fold small constant subexpressions, never
 * fails on a node (the node's outputs stay unknown) and never prints. */
#include <stdio.h>

#include "infer.h"

/* Sentinel extents: symbol j is S0 + 7j in pass 0 and S1 + 11j in pass 1. */
#define SENT0 3001
#define SENT1 5003
#define MAX_SYMS 4096
#define FOLD_MAX_BYTES ((size_t)1 << 20) /* constants larger than this are left to run time */
#define MAX_DEPTH 64                     /* nested subgraphs inferred */

typedef struct gres { /* the results for one graph, per pass */
    const st_graph *g;
    st_itype *ty[2];
} gres;

typedef struct engine {
    st_model *m;
    int pass;
    st_strmap syms;   /* symbol name -> index */
    char **sym_names; /* index -> name (NULL: anonymous) */
    size_t n_syms, cap_syms;
    size_t fresh;      /* fresh anonymous dims handed out in this pass */
    size_t *fresh_idx; /* symbol index of the k-th fresh dim (made in pass 0) */
    size_t n_fresh, cap_fresh;
    gres *gs;
    size_t n_gs, cap_gs;
    const st_infer_bind *binds;
    size_t n_binds;
    size_t n_failed;
    int depth;
    bool oom;
} engine;

/* One graph being inferred in one pass: types and constant data per value. */
typedef struct gframe {
    engine *en;
    const st_graph *g;
    struct gframe *parent;
    st_itype *ty;
    st_value *cval; /* constant data (kind ST_VAL_TENSOR) per value, else kind NONE */
} gframe;

static int64_t sentinel(int pass, size_t j) {
    return pass ? SENT1 + 11 * (int64_t)j : SENT0 + 7 * (int64_t)j;
}

/* The symbol index a sentinel extent stands for in `pass`, or -1. */
static long sym_of(const engine *en, int pass, int64_t d) {
    int64_t base = pass ? SENT1 : SENT0, step = pass ? 11 : 7;
    if (d < base || (d - base) % step) return -1;
    int64_t j = (d - base) / step;
    return (size_t)j < en->n_syms ? (long)j : -1;
}

static long add_sym(engine *en, const char *name) {
    intptr_t j;
    if (name && st_strmap_get(&en->syms, name, &j)) return (long)j;
    if (en->n_syms >= MAX_SYMS) return -1; /* past the cap, extents just stay unknown */
    if (!ST_GROW(en->sym_names, en->cap_syms, en->n_syms + 1)) {
        en->oom = true;
        return -1;
    }
    char *copy = name ? st_strdup(name) : NULL;
    if (name && (!copy || !st_strmap_put(&en->syms, name, (intptr_t)en->n_syms))) {
        st_free(copy);
        en->oom = true;
        return -1;
    }
    en->sym_names[en->n_syms] = copy;
    return (long)en->n_syms++;
}

/* A fresh anonymous extent: the k-th fresh dim of a pass is the same symbol in both. */
static int64_t fresh_dim(engine *en) {
    size_t k = en->fresh++;
    if (k >= en->n_fresh) {
        long j = add_sym(en, NULL);
        if (j < 0) return -1;
        if (!ST_GROW(en->fresh_idx, en->cap_fresh, en->n_fresh + 1)) {
            en->oom = true;
            return -1;
        }
        en->fresh_idx[en->n_fresh++] = (size_t)j;
    }
    return sentinel(en->pass, en->fresh_idx[k]);
}

/* c->engine is the frame of the graph holding the node (see infer_by_fn). */
int64_t st_infer_fresh_dim(st_infer_ctx *c) { return fresh_dim(((gframe *)c->engine)->en); }

static void unknown(st_itype *t) {
    memset(t, 0, sizeof *t);
    t->rank = -1;
}

/* A declared IR type as engine dims: symbols become sentinels, unknown extents fresh. */
static void from_type(engine *en, const st_type *ty, st_itype *out) {
    unknown(out);
    out->kind = ty->kind;
    out->optional = ty->optional;
    out->dtype = ty->dtype;
    out->rank = ty->rank <= ST_MAX_RANK ? ty->rank : -1;
    if (out->rank > 0 && !ty->dims) out->rank = -1;
    for (int d = 0; d < out->rank; d++) {
        const st_dim *dm = &ty->dims[d];
        if (dm->value >= 0) {
            out->dims[d] = dm->value;
        } else {
            long j = dm->symbol && dm->symbol[0] ? add_sym(en, dm->symbol) : -1;
            out->dims[d] = j >= 0 ? sentinel(en->pass, (size_t)j) : fresh_dim(en);
        }
    }
}

static void from_tensor(const st_tensor *t, st_itype *out) {
    unknown(out);
    out->kind = ST_VAL_TENSOR;
    out->dtype = t->dtype;
    out->rank = t->ndim;
    memcpy(out->dims, t->dims, sizeof(int64_t) * (size_t)t->ndim);
}

void st_infer_merge(st_infer_ctx *c, st_itype *a, const st_itype *b) {
    if (a->kind == ST_VAL_NONE && !a->optional) {
        *a = *b;
        return;
    }
    if (b->kind == ST_VAL_NONE && !b->optional) return;
    if (a->kind != b->kind || a->dtype != b->dtype) {
        if (a->kind != b->kind) a->kind = ST_VAL_NONE;
        if (a->dtype != b->dtype) a->dtype = ST_DTYPE_UNDEFINED;
        a->rank = -1;
        return;
    }
    a->optional |= b->optional;
    if (a->rank != b->rank) {
        a->rank = -1;
        return;
    }
    for (int d = 0; d < a->rank; d++)
        if (a->dims[d] != b->dims[d]) a->dims[d] = c ? st_infer_fresh_dim(c) : -1;
}

/* ---- one node -------------------------------------------------------------------- */

static bool known_type(const st_itype *t) {
    if (t->kind == ST_VAL_TENSOR) return t->rank >= 0 && t->dtype != ST_DTYPE_UNDEFINED;
    if (t->kind == ST_VAL_SEQUENCE) return true;
    return t->optional;
}

static bool has_subgraph(const st_node *nd) {
    for (int a = 0; a < nd->n_attrs; a++)
        if (nd->attrs[a].kind == ST_ATTR_GRAPH || nd->attrs[a].kind == ST_ATTR_GRAPHS) return true;
    return false;
}

/* A runtime value for prepare: constant data where known, else a tensor with no data. */
static void fake_value(const gframe *f, int v, st_value *out) {
    memset(out, 0, sizeof *out);
    const st_itype *t = &f->ty[v];
    if (f->cval[v].kind == ST_VAL_TENSOR) {
        out->kind = ST_VAL_TENSOR;
        st_tensor_share(&out->tensor, &f->cval[v].tensor);
        return;
    }
    out->kind = t->kind;
    out->optional = t->optional;
    if (t->kind == ST_VAL_TENSOR) {
        out->tensor.dtype = t->dtype;
        out->tensor.ndim = t->rank;
        memcpy(out->tensor.dims, t->dims, sizeof(int64_t) * (size_t)t->rank);
    } else {
        out->elem_dtype = t->dtype;
    }
}

static size_t decl_bytes(const st_out_decl *d) {
    size_t n = st_dtype_size(d->dtype);
    for (int x = 0; x < d->ndim; x++)
        if (!st_mul_ok(n, (size_t)d->dims[x], &n)) return SIZE_MAX;
    return n;
}

/* Fold a pure node whose inputs are all constants (or whose op reads only shapes): run it
 * and keep its outputs as constants when they are small. */
static void try_fold(gframe *f, const st_node *nd, st_kctx *k) {
    if ((nd->def->flags & ST_OPF_IMPURE) || has_subgraph(nd)) return;
    for (int i = 0; i < nd->n_in; i++) {
        int v = nd->inputs[i];
        if (v < 0) continue;
        bool shape_only = (nd->def->flags & ST_OPF_SHAPE_ONLY) && f->ty[v].kind == ST_VAL_TENSOR;
        if (f->cval[v].kind != ST_VAL_TENSOR && !shape_only) return;
    }
    size_t total = 0;
    for (int i = 0; i < nd->n_out; i++) {
        if (!k->out[i]) continue;
        if (!k->decl[i].declared) return;
        size_t b = decl_bytes(&k->decl[i]);
        if (b > FOLD_MAX_BYTES || (total += b) > FOLD_MAX_BYTES) return;
    }
    void *scratch = NULL;
    if (k->scratch_bytes) {
        if (k->scratch_bytes > FOLD_MAX_BYTES * 4) return;
        scratch = st_malloc(k->scratch_bytes + 64);
        if (!scratch) return;
        k->scratch = (void *)(((uintptr_t)scratch + 63) & ~(uintptr_t)63);
    }
    st_status st = k->run(k, NULL);
    if (st == ST_ERR_NOMEM) f->en->oom = true;
    st_free(scratch);
    k->scratch = NULL;
    for (int i = 0; i < nd->n_out; i++) {
        int v = nd->outputs[i];
        if (v < 0 || !k->out[i]) continue;
        if (!st && k->out[i]->kind == ST_VAL_TENSOR) {
            st_value_clear(&f->cval[v]);
            f->cval[v] = *k->out[i];
            memset(k->out[i], 0, sizeof *k->out[i]);
            from_tensor(&f->cval[v].tensor, &f->ty[v]);
        }
        st_value_clear(k->out[i]);
    }
}

/* Two different unknown extents meeting at one axis (broadcasting [?] with [?], a MatMul
 * over an unknown K) make prepare refuse sentinels that differ. Where the inputs, aligned
 * from the right, hold distinct sentinels at one position, give them all one fresh extent:
 * the node then infers with that axis unknown. Returns whether anything changed. */
static bool unify_unknown_dims(engine *en, st_value **in, int n_in, const bool *isc) {
    int maxr = 0;
    for (int i = 0; i < n_in; i++)
        if (in[i] && !isc[i] && in[i]->kind == ST_VAL_TENSOR && in[i]->tensor.ndim > maxr)
            maxr = in[i]->tensor.ndim;
    bool changed = false;
    for (int p = 1; p <= maxr; p++) {
        int64_t first = -1;
        bool differ = false;
        for (int i = 0; i < n_in; i++) {
            if (!in[i] || isc[i] || in[i]->kind != ST_VAL_TENSOR || in[i]->tensor.ndim < p)
                continue;
            int64_t d = in[i]->tensor.dims[in[i]->tensor.ndim - p];
            if (sym_of(en, en->pass, d) < 0) continue;
            if (first < 0) first = d;
            else differ |= d != first;
        }
        if (!differ) continue;
        int64_t fresh = fresh_dim(en);
        for (int i = 0; i < n_in; i++) {
            if (!in[i] || isc[i] || in[i]->kind != ST_VAL_TENSOR || in[i]->tensor.ndim < p)
                continue;
            int64_t *d = &in[i]->tensor.dims[in[i]->tensor.ndim - p];
            if (sym_of(en, en->pass, *d) >= 0) *d = fresh;
        }
        changed = true;
    }
    return changed;
}

static void reset_kctx(st_kctx *k) {
    if (k->state) (k->state_free ? k->state_free : st_free)(k->state);
    k->state = NULL;
    k->state_free = NULL;
    k->run = NULL;
    k->scratch_bytes = 0;
    memset(k->decl, 0, sizeof *k->decl * (size_t)k->n_out);
    for (int i = 0; i < k->n_out; i++) k->decl[i].alias_of = -1;
}

/* Infer one node by running its prepare on the inputs' types. */
static void infer_by_prepare(gframe *f, const st_node *nd) {
    int n_in = nd->n_in, n_out = nd->n_out;
    st_value *vals = st_calloc((size_t)(n_in + n_out) + 1, sizeof *vals);
    st_value **ptrs = st_calloc((size_t)(n_in + n_out) + 1, sizeof *ptrs);
    bool *isc = st_calloc((size_t)n_in + 1, sizeof *isc);
    st_out_decl *decl = st_calloc((size_t)n_out + 1, sizeof *decl);
    if (!vals || !ptrs || !isc || !decl) {
        f->en->oom = true;
        goto done;
    }
    for (int i = 0; i < n_in; i++) {
        int v = nd->inputs[i];
        if (v < 0) continue;
        if (!known_type(&f->ty[v]) && f->cval[v].kind != ST_VAL_TENSOR) goto done;
        fake_value(f, v, &vals[i]);
        ptrs[i] = &vals[i];
        isc[i] = f->cval[v].kind == ST_VAL_TENSOR;
    }
    for (int i = 0; i < n_out; i++) {
        ptrs[n_in + i] = nd->outputs[i] >= 0 ? &vals[n_in + i] : NULL;
        decl[i].alias_of = -1;
    }
    st_kctx k = {0};
    k.node = nd;
    k.graph = f->g;
    k.opset = nd->since;
    k.n_in = n_in;
    k.n_out = n_out;
    k.in = ptrs;
    k.in_is_const = isc;
    k.out = ptrs + n_in;
    k.decl = decl;
    k.threads = 1;
    st_status st = nd->def->prepare(&k, NULL);
    if ((st || !k.run) && unify_unknown_dims(f->en, ptrs, n_in, isc)) {
        reset_kctx(&k);
        st = nd->def->prepare(&k, NULL);
    }
    if (st == ST_ERR_NOMEM) f->en->oom = true; /* out of memory is not "cannot infer" */
    if (st || !k.run) {
        f->en->n_failed++;
    } else {
        for (int i = 0; i < n_out; i++) {
            int v = nd->outputs[i];
            if (v < 0 || !decl[i].typed) continue;
            st_itype *t = &f->ty[v];
            unknown(t);
            t->kind = ST_VAL_TENSOR;
            t->dtype = decl[i].dtype;
            t->rank = decl[i].ndim;
            for (int d = 0; d < t->rank; d++)
                t->dims[d] = decl[i].dims[d] >= 0 ? decl[i].dims[d] : fresh_dim(f->en);
        }
        try_fold(f, nd, &k);
    }
    reset_kctx(&k);
done:
    for (int i = 0; vals && i < n_in + n_out; i++) st_value_clear(&vals[i]);
    st_free(vals);
    st_free(ptrs);
    st_free(isc);
    st_free(decl);
}

/* Infer one node with its op's infer function. Returns false when the function succeeded
 * but learned nothing about any output: the caller then runs prepare instead (Identity
 * describes sequences and optionals itself and leaves plain tensors to prepare). */
static bool infer_by_fn(gframe *f, const st_node *nd) {
    bool learned = true;
    int n_in = nd->n_in, n_out = nd->n_out;
    st_itype *in = st_calloc((size_t)n_in + 1, sizeof *in);
    st_itype *out = st_calloc((size_t)n_out + 1, sizeof *out);
    const st_tensor **cst = st_calloc((size_t)n_in + 1, sizeof *cst);
    if (!in || !out || !cst) {
        f->en->oom = true;
        goto done;
    }
    for (int i = 0; i < n_in; i++) {
        int v = nd->inputs[i];
        if (v < 0) {
            unknown(&in[i]);
            continue;
        }
        in[i] = f->ty[v];
        if (f->cval[v].kind == ST_VAL_TENSOR) cst[i] = &f->cval[v].tensor;
    }
    for (int i = 0; i < n_out; i++) unknown(&out[i]);
    st_infer_ctx c = {nd, f->g, nd->since, n_in, n_out, in, cst, out, f};
    st_status st = nd->def->infer(&c, NULL);
    if (st) {
        f->en->n_failed++;
        if (st == ST_ERR_NOMEM) f->en->oom = true;
    } else {
        learned = false;
        for (int i = 0; i < n_out; i++) {
            if (nd->outputs[i] < 0 || (out[i].kind == ST_VAL_NONE && !out[i].optional)) continue;
            f->ty[nd->outputs[i]] = out[i];
            learned = true;
        }
    }
done:
    st_free(in);
    st_free(out);
    st_free(cst);
    return learned;
}

/* ---- graphs ---------------------------------------------------------------------- */

static gres *result_of(engine *en, const st_graph *g) {
    for (size_t i = 0; i < en->n_gs; i++)
        if (en->gs[i].g == g) return &en->gs[i];
    if (!ST_GROW(en->gs, en->cap_gs, en->n_gs + 1)) return NULL;
    gres *r = &en->gs[en->n_gs];
    memset(r, 0, sizeof *r);
    r->g = g;
    for (int p = 0; p < 2; p++) {
        r->ty[p] = st_calloc(g->n_values ? g->n_values : 1, sizeof(st_itype));
        if (!r->ty[p]) {
            st_free(r->ty[0]);
            return NULL;
        }
        for (size_t v = 0; v < g->n_values; v++) unknown(&r->ty[p][v]);
    }
    en->n_gs++;
    return r;
}

static const st_infer_bind *find_bind(const engine *en, const char *name) {
    for (size_t i = 0; i < en->n_binds; i++)
        if (!strcmp(en->binds[i].name, name)) return &en->binds[i];
    return NULL;
}

/* Types of values nobody produces: constants, declared inputs, outer values, bindings. */
static void seed_values(gframe *f, int n_in, const st_itype *ins) {
    const st_graph *g = f->g;
    for (size_t v = 0; v < g->n_values; v++) {
        const st_ir_value *iv = &g->values[v];
        if (iv->has_const) {
            f->cval[v].kind = ST_VAL_TENSOR;
            st_tensor_share(&f->cval[v].tensor, &iv->const_val);
            from_tensor(&iv->const_val, &f->ty[v]);
        } else if (iv->role == ST_VALUE_OUTER && f->parent && iv->outer_index >= 0 &&
                   (size_t)iv->outer_index < f->parent->g->n_values) {
            f->ty[v] = f->parent->ty[iv->outer_index];
            const st_value *pc = &f->parent->cval[iv->outer_index];
            if (pc->kind == ST_VAL_TENSOR) {
                f->cval[v].kind = ST_VAL_TENSOR;
                st_tensor_share(&f->cval[v].tensor, &pc->tensor);
            }
        } else if (iv->type.kind != ST_VAL_NONE || iv->type.optional) {
            from_type(f->en, &iv->type, &f->ty[v]);
        }
    }
    for (size_t i = 0; i < g->n_inputs; i++) {
        int v = g->inputs[i];
        if (v < 0) continue;
        if (ins && (int)i < n_in && (ins[i].kind != ST_VAL_NONE || ins[i].optional)) {
            f->ty[v] = ins[i];
            st_value_clear(&f->cval[v]); /* an input given a value is no longer constant */
        }
        const st_infer_bind *b = !g->parent ? find_bind(f->en, g->values[v].name) : NULL;
        if (b) {
            st_itype *t = &f->ty[v];
            if (t->kind == ST_VAL_NONE) t->kind = ST_VAL_TENSOR;
            if (t->dtype == ST_DTYPE_UNDEFINED) t->dtype = ST_DTYPE_F32;
            t->rank = b->ndim;
            memcpy(t->dims, b->dims, sizeof(int64_t) * (size_t)b->ndim);
            st_value_clear(&f->cval[v]);
        }
    }
}

static void infer_graph(engine *en, gframe *parent, const st_graph *g, int n_in,
                        const st_itype *ins, st_itype *outs) {
    for (size_t o = 0; outs && o < g->n_outputs; o++) unknown(&outs[o]);
    gres *r = result_of(en, g);
    if (!r) {
        en->oom = true;
        return;
    }
    if (en->depth >= MAX_DEPTH) return;
    gframe f = {en, g, parent, r->ty[en->pass], NULL};
    size_t nv = g->n_values ? g->n_values : 1;
    f.cval = st_calloc(nv, sizeof *f.cval);
    int *order = st_malloc((g->n_nodes ? g->n_nodes : 1) * sizeof *order);
    if (!f.cval || !order) {
        en->oom = true;
        goto done;
    }
    for (size_t v = 0; v < g->n_values; v++) unknown(&f.ty[v]);
    seed_values(&f, n_in, ins);
    en->depth++;
    if (st_graph_toposort(g, order, NULL) == ST_OK) {
        for (size_t p = 0; p < g->n_nodes && !en->oom; p++) {
            const st_node *nd = &g->nodes[order[p]];
            if (!nd->def) continue;
            if (!nd->def->infer || !infer_by_fn(&f, nd)) infer_by_prepare(&f, nd);
            /* where inference learned nothing, the file's declared type stands; where it
             * left an extent unknown, a fixed extent the file declares fills it */
            for (int i = 0; i < nd->n_out; i++) {
                int v = nd->outputs[i];
                const st_type *dt = v >= 0 ? &g->values[v].type : NULL;
                if (!dt || dt->kind == ST_VAL_NONE) continue;
                st_itype *t = &f.ty[v];
                if (!known_type(t)) {
                    from_type(en, dt, t);
                } else if (t->kind == dt->kind && t->rank == dt->rank && dt->dims) {
                    for (int d = 0; d < t->rank; d++)
                        if (dt->dims[d].value >= 0 && sym_of(en, en->pass, t->dims[d]) >= 0 &&
                            !en->sym_names[sym_of(en, en->pass, t->dims[d])])
                            t->dims[d] = dt->dims[d].value;
                }
            }
        }
    }
    en->depth--;
    for (size_t o = 0; outs && o < g->n_outputs; o++)
        if (g->outputs[o] >= 0) outs[o] = f.ty[g->outputs[o]];
done:
    for (size_t v = 0; f.cval && v < g->n_values; v++) st_value_clear(&f.cval[v]);
    st_free(f.cval);
    st_free(order);
}

st_status st_infer_subgraph(st_infer_ctx *c, const st_graph *g, int n_in, const st_itype *ins,
                            st_itype *outs, st_error *err) {
    gframe *f = c->engine;
    infer_graph(f->en, f, g, n_in, ins, outs);
    return f->en->oom ? st_error_nomem(err) : ST_OK;
}

/* ---- results --------------------------------------------------------------------- */

/* Merge the two passes' views of one value into an IR type. */
static st_status write_type(engine *en, st_graph *g, st_ir_value *iv, const st_itype *a,
                            const st_itype *b) {
    /* a tensor whose dtype alone is known (NonZero's count, a Reshape to a run-time shape)
     * is still worth writing: rank -1 */
    bool dtype_only = a->kind == ST_VAL_TENSOR && a->dtype != ST_DTYPE_UNDEFINED;
    if ((!known_type(a) && !dtype_only) || a->kind != b->kind || a->dtype != b->dtype) return ST_OK;
    bool fixed_input =
        iv->role == ST_VALUE_INPUT && !(g->parent == NULL && find_bind(en, iv->name));
    st_type t = {a->kind, a->optional, a->dtype, a->rank == b->rank ? a->rank : -1, NULL};
    if (a->kind == ST_VAL_SEQUENCE && iv->type.kind == ST_VAL_SEQUENCE && t.rank < 0) return ST_OK;
    if (fixed_input && iv->type.kind != ST_VAL_NONE) return ST_OK;
    if (t.rank > 0) {
        t.dims = st_ir_alloc(g, sizeof(st_dim) * (size_t)t.rank);
        if (!t.dims) return ST_ERR_NOMEM;
    }
    const st_type *old = &iv->type;
    bool keep_old = old->kind == t.kind && old->rank == t.rank && old->dims;
    for (int d = 0; d < t.rank; d++) {
        st_dim *dm = &t.dims[d];
        int64_t x = a->dims[d], y = b->dims[d];
        long j0 = sym_of(en, 0, x), j1 = sym_of(en, 1, y);
        dm->value = -1;
        if (x == y && x >= 0) {
            dm->value = x;
        } else if (j0 >= 0 && j0 == j1 && en->sym_names[j0]) {
            dm->symbol = st_ir_strdup(g, en->sym_names[j0]);
            if (!dm->symbol) return ST_ERR_NOMEM;
        } else if (keep_old && (old->dims[d].value >= 0 || old->dims[d].symbol)) {
            *dm = old->dims[d];
        }
    }
    if (t.rank < 0 && old->kind == t.kind && old->rank >= 0) t = *old;
    iv->type = t;
    return ST_OK;
}

static st_status write_results(engine *en) {
    for (size_t i = 0; i < en->n_gs; i++) {
        st_graph *g = (st_graph *)en->gs[i].g;
        for (size_t v = 0; v < g->n_values; v++) {
            st_ir_value *iv = &g->values[v];
            if (iv->has_const) continue;
            if (write_type(en, g, iv, &en->gs[i].ty[0][v], &en->gs[i].ty[1][v]))
                return ST_ERR_NOMEM;
        }
    }
    return ST_OK;
}

static void engine_free(engine *en) {
    for (size_t i = 0; i < en->n_syms; i++) st_free(en->sym_names[i]);
    st_free(en->sym_names);
    st_free(en->fresh_idx);
    st_strmap_free(&en->syms);
    for (size_t i = 0; i < en->n_gs; i++) {
        st_free(en->gs[i].ty[0]);
        st_free(en->gs[i].ty[1]);
    }
    st_free(en->gs);
}

static st_status check_binds(const st_model *m, const st_infer_bind *binds, size_t n,
                             st_error *err) {
    const st_graph *g = m->graph;
    for (size_t i = 0; i < n; i++) {
        int v = -1;
        for (size_t k = 0; k < g->n_inputs && v < 0; k++)
            if (g->inputs[k] >= 0 && !strcmp(g->values[g->inputs[k]].name, binds[i].name))
                v = g->inputs[k];
        if (v < 0)
            return st_errorf(err, ST_ERR_INVALID, "--shape: the model has no input \"%s\"",
                             binds[i].name);
        const st_type *t = &g->values[v].type;
        if (binds[i].ndim < 0 || binds[i].ndim > ST_MAX_RANK)
            return st_errorf(err, ST_ERR_INVALID, "--shape %s: rank %d is out of range",
                             binds[i].name, binds[i].ndim);
        if (t->rank >= 0 && t->rank != binds[i].ndim)
            return st_errorf(err, ST_ERR_INVALID, "--shape %s: the input has rank %d, not %d",
                             binds[i].name, t->rank, binds[i].ndim);
        for (int d = 0; d < binds[i].ndim; d++) {
            if (binds[i].dims[d] < 0)
                return st_errorf(err, ST_ERR_INVALID, "--shape %s: negative extent", binds[i].name);
            if (t->rank > 0 && t->dims && t->dims[d].value >= 0 &&
                t->dims[d].value != binds[i].dims[d])
                return st_errorf(
                    err, ST_ERR_INVALID, "--shape %s: dimension %d is fixed at %lld, not %lld",
                    binds[i].name, d, (long long)t->dims[d].value, (long long)binds[i].dims[d]);
        }
    }
    return ST_OK;
}

st_status st_infer_model(st_model *m, const st_infer_bind *binds, size_t n_binds,
                         st_infer_stats *stats, st_error *err) {
    if (!m || !m->graph) return ST_OK;
    st_status st = check_binds(m, binds, n_binds, err);
    if (st) return st;
    engine en = {0};
    en.m = m;
    en.binds = binds;
    en.n_binds = n_binds;
    for (int p = 0; p < 2 && !en.oom; p++) {
        en.pass = p;
        en.fresh = 0;
        en.n_failed = 0;
        infer_graph(&en, NULL, m->graph, 0, NULL, NULL);
    }
    if (!en.oom && write_results(&en)) en.oom = true;
    if (!en.oom && stats) {
        memset(stats, 0, sizeof *stats);
        stats->n_values = m->graph->n_values;
        stats->n_failed = en.n_failed;
        for (size_t v = 0; v < m->graph->n_values; v++) {
            const st_type *t = &m->graph->values[v].type;
            stats->n_known += m->graph->values[v].has_const ||
                              (t->kind == ST_VAL_TENSOR && t->rank >= 0 && t->dtype) ||
                              t->kind == ST_VAL_SEQUENCE;
        }
    }
    engine_free(&en);
    return en.oom ? st_error_nomem(err) : ST_OK;
}
