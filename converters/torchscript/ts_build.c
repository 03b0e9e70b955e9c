/* converters/torchscript/ts_build.c: the importer's services to the aten table and the
 * interpreter: IR emission with one sticky status (st_ts_fail), interpreter values, and the
 * ranks of graph inputs (decided once, from what the code needs). Knows no aten op. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ts_internal.h"

/* ---- sticky errors and IR emission ------------------------------------------------ */
bool st_ts_failed(const st_ts_imp *im) { return im->st != ST_OK; }

st_status st_ts_fail(st_ts_imp *im, st_status s, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    st_status r = st_sticky_failv(&im->st, im->err, s, fmt, ap);
    va_end(ap);
    return r;
}

st_status st_ts_nomem(st_ts_imp *im) { return st_ts_fail(im, ST_ERR_NOMEM, "out of memory"); }

int st_ts_new_value(st_ts_imp *im, st_graph *g) {
    char name[32];
    snprintf(name, sizeof name, "v.%d", im->counter++);
    int vi = st_graph_value(g, name);
    if (vi < 0) st_ts_nomem(im);
    return vi;
}

st_node *st_ts_op(st_ts_imp *im, const char *op, int nin, const int *ins, int nout, int *outs) {
    if (im->st) return NULL;
    for (int i = 0; i < nin; i++)
        if (ins[i] < -1 || ins[i] >= (int)im->g->n_values) {
            st_ts_fail(im, ST_ERR_INVALID, "internal: bad input to %s", op);
            return NULL;
        }
    if (!st_ts_emits(op)) {
        st_ts_fail(im, ST_ERR_INVALID, "internal: %s is missing from the importer's op list", op);
        return NULL;
    }
    int o[8];
    ST_ASSERT(nout <= 8);
    for (int i = 0; i < nout; i++)
        if ((o[i] = st_ts_new_value(im, im->g)) < 0) return NULL;
    char nm[32];
    snprintf(nm, sizeof nm, "n.%d", im->counter++);
    st_node *n = st_graph_add_node(im->g, op, "", nm, nin, nout);
    if (!n) {
        st_ts_nomem(im);
        return NULL;
    }
    for (int i = 0; i < nin; i++) n->inputs[i] = ins[i];
    for (int i = 0; i < nout; i++) {
        n->outputs[i] = o[i];
        im->g->values[o[i]].producer = (int)(im->g->n_nodes - 1);
        if (outs) outs[i] = o[i];
    }
    return n;
}

int st_ts_op1(st_ts_imp *im, const char *op, int nin, const int *ins) {
    int o = -1;
    st_ts_op(im, op, nin, ins, 1, &o);
    return im->st ? -1 : o;
}

static st_attr *attr(st_ts_imp *im, st_node *n, const char *name, st_attr_kind k) {
    if (im->st || !n) return NULL;
    st_attr *a = st_node_add_attr(im->g, n, name, k);
    if (!a) st_ts_nomem(im);
    return a;
}
void st_ts_attr_i(st_ts_imp *im, st_node *n, const char *name, int64_t v) {
    st_attr *a = attr(im, n, name, ST_ATTR_INT);
    if (a) a->i = v;
}
void st_ts_attr_f(st_ts_imp *im, st_node *n, const char *name, double v) {
    st_attr *a = attr(im, n, name, ST_ATTR_FLOAT);
    if (a) a->f = v;
}
void st_ts_attr_s(st_ts_imp *im, st_node *n, const char *name, const char *v) {
    st_attr *a = attr(im, n, name, ST_ATTR_STRING);
    if (a && !(a->s.data = st_ir_strdup(im->g, v))) st_ts_nomem(im);
    if (a) a->s.len = strlen(v);
}
void st_ts_attr_is(st_ts_imp *im, st_node *n, const char *name, const int64_t *v, size_t k) {
    st_attr *a = attr(im, n, name, ST_ATTR_INTS);
    if (!a) return;
    if (!(a->ints = st_ir_alloc(im->g, sizeof(int64_t) * (k ? k : 1)))) {
        st_ts_nomem(im);
        return;
    }
    if (k) memcpy(a->ints, v, k * sizeof *v);
    a->n = k;
}
void st_ts_attr_t(st_ts_imp *im, st_node *n, const char *name, const st_tensor *t) {
    st_attr *a = attr(im, n, name, ST_ATTR_TENSOR);
    if (a) st_tensor_share(&a->t, t);
}
void st_ts_attr_g(st_ts_imp *im, st_node *n, const char *name, st_graph *g) {
    st_attr *a = attr(im, n, name, ST_ATTR_GRAPH);
    if (a) a->g = g;
}

int st_ts_here(st_ts_imp *im, st_graph *g, int vi) {
    if (im->st || vi < 0) return -1;
    if (g == im->g) return vi;
    /* chain an outer reference through every graph between g and the current one */
    st_graph *chain[64];
    int depth = 0;
    for (st_graph *c = im->g; c && c != g; c = c->parent) {
        if (depth == 64) {
            st_ts_fail(im, ST_ERR_LIMIT, "control flow nested too deeply");
            return -1;
        }
        chain[depth++] = c;
    }
    if (depth == 0 || chain[depth - 1]->parent != g) {
        st_ts_fail(im, ST_ERR_INVALID, "internal: value from an unrelated graph");
        return -1;
    }
    int idx = vi;
    for (int d = depth - 1; d >= 0; d--) {
        st_graph *c = chain[d];
        const char *name = c->parent->values[idx].name;
        int j = st_graph_find(c, name);
        if (j < 0) {
            if ((j = st_graph_value(c, name)) < 0) {
                st_ts_nomem(im);
                return -1;
            }
            c->values[j].role = ST_VALUE_OUTER;
            c->values[j].outer_index = idx;
            if (st_type_copy(c, &c->values[j].type, &c->parent->values[idx].type)) {
                st_ts_nomem(im);
                return -1;
            }
        }
        idx = j;
    }
    return idx;
}

int st_ts_const(st_ts_imp *im, const st_tensor *t) {
    if (im->st) return -1;
    int vi = st_ts_new_value(im, im->top);
    if (vi < 0) return -1;
    st_ir_value *v = &im->top->values[vi];
    v->role = ST_VALUE_INITIALIZER;
    v->has_const = true;
    st_tensor_share(&v->const_val, t);
    st_type_from_tensor(im->top, &v->type, t);
    return st_ts_here(im, im->top, vi);
}

int st_ts_const_i64(st_ts_imp *im, const int64_t *v, size_t n, bool scalar) {
    if (im->st) return -1;
    st_tensor t;
    int64_t d = (int64_t)n;
    st_error e2;
    st_status s = st_tensor_alloc(&t, ST_DTYPE_I64, scalar ? 0 : 1, &d, &e2);
    if (s) return st_ts_fail(im, s, "%s", e2.msg), -1;
    if (n) memcpy(t.data, v, n * sizeof *v);
    int r = st_ts_const(im, &t);
    st_tensor_clear(&t);
    return r;
}

int st_ts_const_f(st_ts_imp *im, st_dtype dt, double v) {
    if (im->st) return -1;
    st_tensor t;
    st_error e2;
    st_status s = st_tensor_alloc(&t, dt, 0, NULL, &e2);
    if (s) return st_ts_fail(im, s, "%s", e2.msg), -1;
    st_tensor_set_f64(&t, 0, v);
    int r = st_ts_const(im, &t);
    st_tensor_clear(&t);
    return r;
}

/* ---- values ----------------------------------------------------------------------- */
tv st_ts_tensor(st_ts_imp *im, int vi, int rank, st_dtype dt) {
    tv v;
    memset(&v, 0, sizeof v);
    v.k = TV_TENSOR;
    v.g = im->g;
    v.vi = vi;
    v.rank = rank;
    v.dt = dt;
    return v;
}

tv st_ts_scalar(st_ts_kind k, int64_t i, double f) {
    tv v;
    memset(&v, 0, sizeof v);
    v.k = k;
    v.i = i;
    v.f = f;
    v.vi = -1;
    v.rank = -1;
    return v;
}

st_dtype st_ts_dtype_of(const tv *v) {
    switch (v->k) {
    case TV_BOOL: return ST_DTYPE_BOOL;
    case TV_INT: return ST_DTYPE_I64;
    case TV_FLOAT: return v->sym && v->dt ? v->dt : ST_DTYPE_F32;
    case TV_TENSOR: return v->dt;
    default: return ST_DTYPE_UNDEFINED;
    }
}
bool st_ts_is_const_int(const tv *v) { return (v->k == TV_INT || v->k == TV_BOOL) && !v->sym; }

bool st_ts_ints(const tv *v, int64_t *out, size_t cap, size_t *n) {
    if (st_ts_is_const_int(v)) {
        if (cap < 1) return false;
        out[0] = v->i;
        *n = 1;
        return true;
    }
    if (v->k != TV_LIST && v->k != TV_TUPLE) return false;
    if (v->n > cap) return false;
    for (size_t i = 0; i < v->n; i++) {
        if (!st_ts_is_const_int(&v->items[i])) return false;
        out[i] = v->items[i].i;
    }
    *n = v->n;
    return true;
}

input_ent *st_ts_input_of(st_ts_imp *im, const tv *v) {
    if (v->k != TV_TENSOR && !v->sym) return NULL;
    if (v->g != im->top) return NULL;
    for (size_t i = 0; i < im->ninputs; i++)
        if (im->inputs[i].vi == v->vi) return &im->inputs[i];
    return NULL;
}

void st_ts_derive(tv *out, const tv *src, int delta) {
    if (!src || !src->org || out->org) return;
    if (out->rank >= 0 && src->rank < 0) return;
    out->org = src->org;
    out->off = src->off + delta;
}

static input_ent *origin(const st_ts_imp *im, const tv *v) {
    if (!v || v->k != TV_TENSOR || !v->org || (size_t)v->org > im->ninputs) return NULL;
    return &im->inputs[v->org - 1];
}

int st_ts_rank_of(const st_ts_imp *im, const tv *v) {
    if (v->k == TV_TENSOR) {
        const input_ent *e = v->rank < 0 ? origin(im, v) : NULL;
        return e && e->rank >= 0 && e->rank + v->off >= 0 ? e->rank + v->off : v->rank;
    }
    if (v->k == TV_BOOL || v->k == TV_INT || v->k == TV_FLOAT) return 0;
    return -1;
}

void st_ts_rank_at_least(st_ts_imp *im, const tv *v, int r) {
    input_ent *e = st_ts_rank_of(im, v) < 0 ? origin(im, v) : NULL;
    if (e && r - v->off > e->floor) e->floor = r - v->off;
}

/* TorchScript never states an input's rank. The first op that cannot go on without it fixes
 * it for good: the least rank the code's indexing has needed so far, or the rank the other
 * inputs have (inputs of one model usually share it: query and key of an attention). */
int st_ts_rank(st_ts_imp *im, const tv *v, const char *what) {
    if (im->st) return -1;
    int r = st_ts_rank_of(im, v);
    if (r >= 0) return r;
    input_ent *e = origin(im, v);
    if (!e || e->rank >= 0) {
        st_ts_fail(im, ST_ERR_UNSUPPORTED, "%s of a tensor of unknown rank", what);
        return -1;
    }
    int peer = 0;
    for (size_t i = 0; i < im->ninputs; i++)
        if (&im->inputs[i] != e && im->inputs[i].rank > peer) peer = im->inputs[i].rank;
    e->rank = ST_MAX(ST_MAX(e->floor, 1), ST_MAX(peer, -v->off));
    e->decided = true;
    im->n_rank_decisions++;
    return st_ts_rank_of(im, v);
}

void st_ts_swap_later(st_ts_imp *im, st_node *n, const tv *x, int64_t d0, int64_t d1) {
    if (im->st || !n) return;
    if (!ST_GROW(im->perms, im->capperms, im->nperms + 1)) {
        st_ts_nomem(im);
        return;
    }
    pending_perm p = {im->g, (size_t)(n - im->g->nodes), d0, d1, x->org, x->off};
    im->perms[im->nperms++] = p;
}

st_status st_ts_settle_ranks(st_ts_imp *im) {
    for (size_t i = 0; i < im->nperms && !im->st; i++) {
        pending_perm *p = &im->perms[i];
        input_ent *e = &im->inputs[p->org - 1];
        if (e->rank < 0) { /* as st_ts_rank decides, with what the code needed by the end */
            int peer = 0;
            for (size_t k = 0; k < im->ninputs; k++)
                if (&im->inputs[k] != e && im->inputs[k].rank > peer) peer = im->inputs[k].rank;
            e->rank = ST_MAX(ST_MAX(e->floor, peer), (int)ST_MAX(p->d0, p->d1) + 1 - p->off);
            e->decided = true;
            im->n_rank_decisions++;
        }
        int r = e->rank + p->off;
        if (r <= p->d0 || r <= p->d1 || r > ST_MAX_RANK)
            return st_ts_fail(im, ST_ERR_FORMAT,
                              "transpose of dims %lld, %lld of a tensor of rank %d",
                              (long long)p->d0, (long long)p->d1, r);
        int64_t perm[ST_MAX_RANK];
        for (int k = 0; k < r; k++) perm[k] = k;
        perm[p->d0] = p->d1, perm[p->d1] = p->d0;
        st_graph *cur = im->g;
        im->g = p->g; /* attributes live in the node's graph */
        st_ts_attr_is(im, &p->g->nodes[p->node], "perm", perm, (size_t)r);
        im->g = cur;
    }
    return im->st;
}

bool st_ts_dim_ok(st_ts_imp *im, const tv *v, int64_t d) {
    int r = st_ts_rank_of(im, v);
    if (r < 0 || (d < r && d >= -r) || (r == 0 && (d == 0 || d == -1))) return true;
    const input_ent *e = origin(im, v);
    if (e && e->decided)
        st_ts_fail(im, ST_ERR_UNSUPPORTED,
                   "dim %lld is out of range for a tensor of rank %d "
                   "(the rank of input %s, decided from its earlier uses; bind its shape)",
                   (long long)d, r, im->top->values[e->vi].name);
    else
        st_ts_fail(im, ST_ERR_FORMAT, "dim %lld is out of range for a tensor of rank %d",
                   (long long)d, r);
    return false;
}

void st_ts_hint(st_ts_imp *im, const tv *v, st_dtype dt, int rank) {
    input_ent *e = st_ts_input_of(im, v);
    if (!e) return;
    if (dt && !e->dt) e->dt = dt;
    if (rank >= 0 && e->rank < 0) e->rank = rank;
}

static const char *const kind_names[TV_KIND_COUNT] = {
    /* st_ts_kind          how messages name it */
    [TV_MISSING] = "a missing argument",
    [TV_NONE] = "None",
    [TV_BOOL] = "a bool",
    [TV_INT] = "an int",
    [TV_FLOAT] = "a float",
    [TV_STR] = "a string",
    [TV_TENSOR] = "a tensor",
    [TV_LIST] = "a list",
    [TV_TUPLE] = "a tuple",
    [TV_OBJ] = "a module",
    [TV_DEVICE] = "a device",
    [TV_UNSUPPORTED] = "an unsupported value",
    [TV_FUNC] = "a function",
};
_Static_assert(sizeof kind_names / sizeof *kind_names == TV_KIND_COUNT,
               "kind_names covers st_ts_kind");

const char *st_ts_kind_name(st_ts_kind k) {
    return k < TV_KIND_COUNT && kind_names[k] ? kind_names[k] : "a value";
}

int st_ts_as_tensor(st_ts_imp *im, const tv *v, st_dtype dt) {
    if (im->st) return -1;
    switch (v->k) {
    case TV_TENSOR:
    case TV_BOOL:
    case TV_INT:
    case TV_FLOAT:
        if (v->k == TV_TENSOR || v->sym) {
            int vi = st_ts_here(im, v->g, v->vi);
            st_dtype have = st_ts_dtype_of(v);
            if (dt && have && have != dt &&
                v->k != TV_TENSOR) { /* symbolic scalars follow the tensor */
                st_node *n = st_ts_op(im, "Cast", 1, &vi, 1, &vi);
                st_ts_attr_i(im, n, "to", dt);
            }
            return vi;
        }
        if (!dt) dt = st_ts_dtype_of(v);
        return st_ts_const_f(im, dt, v->k == TV_FLOAT ? v->f : (double)v->i);
    case TV_LIST:
    case TV_TUPLE: {
        int64_t vals[ST_MAX_RANK * 4];
        size_t n;
        if (st_ts_ints(v, vals, ST_ARRAY_LEN(vals), &n)) return st_ts_const_i64(im, vals, n, false);
        /* mixed constants and symbolic ints (or tensors): concatenate 1-element pieces */
        if (v->n == 0 || v->n > 64) break;
        int parts[64];
        for (size_t i = 0; i < v->n; i++) {
            const tv *it = &v->items[i];
            if (it->k == TV_INT && !it->sym) parts[i] = st_ts_const_i64(im, &it->i, 1, false);
            else if (it->k == TV_INT || (it->k == TV_TENSOR && it->rank == 0)) {
                int x[2] = {st_ts_as_tensor(im, it, ST_DTYPE_I64),
                            st_ts_const_i64(im, (int64_t[]){0}, 1, false)};
                parts[i] = st_ts_op1(im, "Unsqueeze", 2, x);
            } else if (it->k == TV_TENSOR) {
                int x[2] = {st_ts_as_tensor(im, it, ST_DTYPE_UNDEFINED),
                            st_ts_const_i64(im, (int64_t[]){0}, 1, false)};
                parts[i] = st_ts_op1(im, "Unsqueeze", 2, x);
            } else
                return st_ts_fail(im, ST_ERR_UNSUPPORTED,
                                  "a list holding %s cannot become a tensor",
                                  st_ts_kind_name(it->k)),
                       -1;
        }
        st_node *cn = st_ts_op(im, "Concat", (int)v->n, parts, 1, parts);
        st_ts_attr_i(im, cn, "axis", 0);
        return im->st ? -1 : parts[0];
    }
    case TV_UNSUPPORTED: return -1;
    default: break;
    }
    st_ts_fail(im, ST_ERR_UNSUPPORTED,
               "%s is used where a tensor is expected (as a loop or if result, or an op input)",
               st_ts_kind_name(v->k));
    return -1;
}

tv *st_ts_alloc_items(st_ts_imp *im, size_t n) {
    tv *t = st_arena_alloc(im->pa, (n ? n : 1) * sizeof *t);
    if (!t) st_ts_nomem(im);
    else memset(t, 0, (n ? n : 1) * sizeof *t);
    return t;
}
