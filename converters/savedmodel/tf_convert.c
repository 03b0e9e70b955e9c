/* converters/savedmodel/tf_convert.c: IR -> SavedModel directory in the TF1 graph form that
 * TF 2.x `tf.saved_model.load` accepts: Placeholders for the inputs, VariableV2 + Identity
 * ("<var>/read") for float weights restored by a save/RestoreV2 + Assign saver, Const for
 * the rest, NHWC Conv2D/pools between Transposes, a `serving_default` predict signature and
 * the weights in a tensor bundle. Each IR op goes through its row of a sorted table (xp_rows)
 * naming its emitter; ops without a TF form are refused in one message. Ranks come from the
 * IR's inferred types, never from rules about ops. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "infer.h"
#include "tf_convert.h"
#include "tf_internal.h"

typedef Stele__Tf__NodeDef nodedef;

typedef struct xp {
    st_arena *a;
    const st_graph *g;
    nodedef **nodes;
    size_t n, cap;
    char **vt;       /* IR value -> TF tensor name */
    st_dtype *vd;    /* IR value -> element type */
    st_strmap names; /* TF node names taken */
    int uniq;
    st_tf_bundle_item *vars;
    size_t nvars, capvars;
    char **var_nodes; /* VariableV2 node names, parallel to vars */
    struct xp_miss {
        const char *op;
        int count;
    } * miss; /* ops without a TF form */
    size_t nmiss, capmiss;
    st_strmap missmap; /* op -> index in miss (keys borrowed from the model) */
    /* errors: the first failure's status, sticky (set only through xp_fail); its message
     * goes to err, the caller's st_error, which may be NULL */
    st_status st;
    st_error *err;
} xp;

#define ALLOC(e, T) ((T *)st_arena_alloc((e)->a, sizeof(T)))

static char *xstrdup(xp *e, const char *s) { return st_arena_strdup(e->a, s); }

/* A unique, valid TF node name derived from `want`. */
static char *uniq_name(xp *e, const char *want) {
    char buf[512];
    size_t j = 0;
    for (const char *p = want; *p && j < 400; p++) {
        char ch = *p;
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                  (ch >= '0' && ch <= '9') || ch == '.' ||
                  (j && (ch == '_' || ch == '/' || ch == '-'));
        buf[j] = ok ? ch : (j ? '_' : 'n');
        j++;
    }
    if (!j) buf[j++] = 'n';
    while (j > 1 && buf[j - 1] == '/') j--;
    buf[j] = 0;
    char cand[600];
    snprintf(cand, sizeof cand, "%s", buf);
    int added;
    while (!(added = st_strmap_add(&e->names, cand, 1)))
        snprintf(cand, sizeof cand, "%s_%d", buf, e->uniq++);
    if (added < 0) return NULL;
    return xstrdup(e, cand);
}

static nodedef *node(xp *e, const char *want, const char *op, int nin, const char *const *ins) {
    nodedef *nd = ALLOC(e, nodedef);
    if (!nd || !ST_GROW(e->nodes, e->cap, e->n + 1)) return NULL;
    stele__tf__node_def__init(nd);
    if (!(nd->name = uniq_name(e, want)) || !(nd->op = xstrdup(e, op)) ||
        !(nd->device = xstrdup(e, "")))
        return NULL;
    nd->input = st_arena_alloc(e->a, sizeof(char *) * (size_t)(nin + 1));
    if (!nd->input) return NULL;
    for (int i = 0; i < nin; i++)
        if (!(nd->input[i] = xstrdup(e, ins[i]))) return NULL;
    nd->n_input = (size_t)nin;
    e->nodes[e->n++] = nd;
    return nd;
}

static Stele__Tf__AttrValue *attr(xp *e, nodedef *nd, const char *key) {
    Stele__Tf__NodeDef__AttrEntry **na = st_arena_alloc(e->a, sizeof *na * (nd->n_attr + 1));
    Stele__Tf__NodeDef__AttrEntry *en = ALLOC(e, Stele__Tf__NodeDef__AttrEntry);
    Stele__Tf__AttrValue *v = ALLOC(e, Stele__Tf__AttrValue);
    if (!na || !en || !v) return NULL;
    stele__tf__node_def__attr_entry__init(en);
    stele__tf__attr_value__init(v);
    if (!(en->key = xstrdup(e, key))) return NULL;
    en->value = v;
    if (nd->n_attr) memcpy(na, nd->attr, sizeof *na * nd->n_attr);
    na[nd->n_attr++] = en;
    nd->attr = na;
    return v;
}

static bool a_type(xp *e, nodedef *nd, const char *k, st_dtype t) {
    Stele__Tf__AttrValue *v = attr(e, nd, k);
    if (!v) return false;
    v->value_case = STELE__TF__ATTR_VALUE__VALUE_TYPE;
    v->type = (Stele__Tf__DataType)st_tf_dtype_to_tf(t);
    return true;
}

static bool a_i(xp *e, nodedef *nd, const char *k, int64_t i) {
    Stele__Tf__AttrValue *v = attr(e, nd, k);
    if (!v) return false;
    v->value_case = STELE__TF__ATTR_VALUE__VALUE_I;
    v->i = i;
    return true;
}

static bool a_f(xp *e, nodedef *nd, const char *k, float f) {
    Stele__Tf__AttrValue *v = attr(e, nd, k);
    if (!v) return false;
    v->value_case = STELE__TF__ATTR_VALUE__VALUE_F;
    v->f = f;
    return true;
}

static bool a_b(xp *e, nodedef *nd, const char *k, bool b) {
    Stele__Tf__AttrValue *v = attr(e, nd, k);
    if (!v) return false;
    v->value_case = STELE__TF__ATTR_VALUE__VALUE_B;
    v->b = b;
    return true;
}

static bool a_s(xp *e, nodedef *nd, const char *k, const char *s) {
    Stele__Tf__AttrValue *v = attr(e, nd, k);
    if (!v || !(v->s.data = (uint8_t *)xstrdup(e, s))) return false;
    v->value_case = STELE__TF__ATTR_VALUE__VALUE_S;
    v->s.len = strlen(s);
    return true;
}

static Stele__Tf__AttrValue__ListValue *a_list(xp *e, nodedef *nd, const char *k) {
    Stele__Tf__AttrValue *v = attr(e, nd, k);
    Stele__Tf__AttrValue__ListValue *l = ALLOC(e, Stele__Tf__AttrValue__ListValue);
    if (!v || !l) return NULL;
    stele__tf__attr_value__list_value__init(l);
    v->value_case = STELE__TF__ATTR_VALUE__VALUE_LIST;
    v->list = l;
    return l;
}

static bool a_ints(xp *e, nodedef *nd, const char *k, const int64_t *vals, size_t n) {
    Stele__Tf__AttrValue__ListValue *l = a_list(e, nd, k);
    if (!l || !(l->i = st_arena_alloc(e->a, sizeof(int64_t) * (n + 1)))) return false;
    memcpy(l->i, vals, sizeof(int64_t) * n);
    l->n_i = n;
    return true;
}

static Stele__Tf__TensorShapeProto *shape_proto(xp *e, int rank, const int64_t *dims) {
    Stele__Tf__TensorShapeProto *s = ALLOC(e, Stele__Tf__TensorShapeProto);
    if (!s) return NULL;
    stele__tf__tensor_shape_proto__init(s);
    if (rank < 0) {
        s->unknown_rank = true;
        return s;
    }
    s->dim = st_arena_alloc(e->a, sizeof *s->dim * (size_t)(rank + 1));
    if (!s->dim) return NULL;
    for (int d = 0; d < rank; d++) {
        Stele__Tf__TensorShapeProto__Dim *dm = ALLOC(e, Stele__Tf__TensorShapeProto__Dim);
        if (!dm) return NULL;
        stele__tf__tensor_shape_proto__dim__init(dm);
        dm->size = dims[d];
        s->dim[d] = dm;
    }
    s->n_dim = (size_t)rank;
    return s;
}

static bool a_shape(xp *e, nodedef *nd, const char *k, int rank, const int64_t *dims) {
    Stele__Tf__AttrValue *v = attr(e, nd, k);
    if (!v || !(v->shape = shape_proto(e, rank, dims))) return false;
    v->value_case = STELE__TF__ATTR_VALUE__VALUE_SHAPE;
    return true;
}

/* Const node holding t (numbers only) -> its tensor name. */
static const char *konst(xp *e, const char *want, const st_tensor *t) {
    nodedef *nd = node(e, want, "Const", 0, NULL);
    Stele__Tf__AttrValue *v = nd ? attr(e, nd, "value") : NULL;
    Stele__Tf__TensorProto *tp = ALLOC(e, Stele__Tf__TensorProto);
    if (!v || !tp || !a_type(e, nd, "dtype", t->dtype)) return NULL;
    stele__tf__tensor_proto__init(tp);
    tp->dtype = (Stele__Tf__DataType)st_tf_dtype_to_tf(t->dtype);
    if (!(tp->tensor_shape = shape_proto(e, t->ndim, t->dims))) return NULL;
    size_t nb = st_tensor_nbytes(t);
    if (t->dtype == ST_DTYPE_STRING) {
        size_t n = st_tensor_nelem(t);
        const st_str *s = t->data;
        if (!(tp->string_val = st_arena_alloc(e->a, sizeof *tp->string_val * (n + 1)))) return NULL;
        for (size_t i = 0; i < n; i++) {
            if (!(tp->string_val[i].data = st_arena_alloc(e->a, s[i].len + 1))) return NULL;
            if (s[i].len) memcpy(tp->string_val[i].data, s[i].data, s[i].len);
            tp->string_val[i].len = s[i].len;
        }
        tp->n_string_val = n;
    } else if (nb) {
        if (!(tp->tensor_content.data = st_arena_alloc(e->a, nb))) return NULL;
        memcpy(tp->tensor_content.data, t->data, nb);
        tp->tensor_content.len = nb;
    }
    v->value_case = STELE__TF__ATTR_VALUE__VALUE_TENSOR;
    v->tensor = tp;
    char buf[600];
    snprintf(buf, sizeof buf, "%s:0", nd->name);
    return xstrdup(e, buf);
}

static const char *kints(xp *e, const char *want, st_dtype dt, const int64_t *v, size_t n,
                         bool scalar) {
    st_tensor t;
    int64_t d = (int64_t)n;
    if (st_tensor_alloc(&t, dt, scalar ? 0 : 1, &d, NULL)) return NULL;
    for (size_t i = 0; i < n; i++) st_tensor_set_f64(&t, i, (double)v[i]);
    const char *r = konst(e, want, &t);
    st_tensor_clear(&t);
    return r;
}

static const char *out0(xp *e, const nodedef *nd, int k) {
    char buf[600];
    snprintf(buf, sizeof buf, "%s:%d", nd->name, k);
    return xstrdup(e, buf);
}

/* ---- errors and what has no TF form ------------------------------------------------------ */
static st_status xp_fail(xp *e, st_status s, const char *fmt, ...) ST_PRINTF(3, 4);

/* Record a failure (the first one wins) and return the sticky status. */
static st_status xp_fail(xp *e, st_status s, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    st_status r = st_sticky_failv(&e->st, e->err, s, fmt, ap);
    va_end(ap);
    return r;
}

static st_status xp_nomem(xp *e) { return xp_fail(e, ST_ERR_NOMEM, "out of memory"); }

/* Count an op without a TF form (the list names each once, in order of appearance). */
static st_status missing(xp *e, const char *op) {
    int i = st_tf_find(&e->missmap, op);
    if (i >= 0) {
        e->miss[i].count++;
        return e->st;
    }
    if (!ST_GROW(e->miss, e->capmiss, e->nmiss + 1) ||
        !st_strmap_put(&e->missmap, op, (intptr_t)e->nmiss))
        return xp_nomem(e);
    e->miss[e->nmiss].op = op;
    e->miss[e->nmiss++].count = 1;
    return e->st;
}

/* ---- helpers of the emitters --------------------------------------------------------------- */
static const st_tensor *cval(xp *e, int v) {
    return v >= 0 && e->g->values[v].has_const ? &e->g->values[v].const_val : NULL;
}

static bool cints(xp *e, int v, int64_t *out, size_t cap, size_t *n) {
    const st_tensor *t = cval(e, v);
    if (!t || !st_dtype_is_int(t->dtype) || st_tensor_nelem(t) > cap) return false;
    *n = st_tensor_nelem(t);
    for (size_t i = 0; i < *n; i++) out[i] = st_tensor_get_i64(t, i);
    return true;
}

/* Dims of a rank-4 weight: a constant's, or the inferred ones (all known). */
static bool wdims(xp *e, int v, int64_t d[4]) {
    const st_tensor *t = cval(e, v);
    if (t) {
        if (t->ndim != 4) return false;
        memcpy(d, t->dims, sizeof(int64_t) * 4);
        return true;
    }
    const st_type *ty = v >= 0 ? &e->g->values[v].type : NULL;
    if (!ty || ty->kind != ST_VAL_TENSOR || ty->rank != 4) return false;
    for (int i = 0; i < 4; i++) {
        if (ty->dims[i].symbol || ty->dims[i].value <= 0) return false;
        d[i] = ty->dims[i].value;
    }
    return true;
}

/* A TF node with input/output type T. */
static nodedef *tnode(xp *e, const char *want, const char *op, int nin, const char *const *ins,
                      st_dtype t) {
    nodedef *nd = node(e, want, op, nin, ins);
    if (nd && !a_type(e, nd, "T", t)) return NULL;
    return nd;
}

static const char *tf_transpose(xp *e, const char *base, const char *x, st_dtype t,
                                const int64_t *perm, int r) {
    char w[600];
    snprintf(w, sizeof w, "%s/perm", base);
    const char *p = kints(e, w, ST_DTYPE_I32, perm, (size_t)r, false);
    snprintf(w, sizeof w, "%s/transpose", base);
    const char *ins[2] = {x, p};
    nodedef *nd = p ? tnode(e, w, "Transpose", 2, ins, t) : NULL;
    if (!nd || !a_type(e, nd, "Tperm", ST_DTYPE_I32)) return NULL;
    return out0(e, nd, 0);
}

static const int64_t TO_NHWC[4] = {0, 2, 3, 1}, TO_NCHW[4] = {0, 3, 1, 2};

/* padding of an NCHW IR node as TF's padding attribute; false: no TF spelling */
static bool set_pad(xp *e, nodedef *nd, const st_node *x, bool allow_explicit) {
    const char *ap = st_attr_string(x, "auto_pad", "NOTSET");
    if (!strcmp(ap, "SAME_UPPER")) return a_s(e, nd, "padding", "SAME");
    if (!strcmp(ap, "VALID")) return a_s(e, nd, "padding", "VALID");
    if (strcmp(ap, "NOTSET")) return false;
    const int64_t *p;
    size_t np = st_attr_ints(x, "pads", &p);
    bool zero = true;
    for (size_t i = 0; i < np; i++) zero = zero && p[i] == 0;
    if (zero) return a_s(e, nd, "padding", "VALID");
    if (!allow_explicit || np != 4) return false;
    int64_t ex[8] = {0, 0, p[0], p[2], p[1], p[3], 0, 0};
    return a_s(e, nd, "padding", "EXPLICIT") && a_ints(e, nd, "explicit_paddings", ex, 8);
}

static bool hw4(xp *e, nodedef *nd, const char *k, const st_node *x, const char *onnx_name) {
    const int64_t *v;
    size_t n = st_attr_ints(x, onnx_name, &v);
    int64_t a[4] = {1, n == 2 ? v[0] : 1, n == 2 ? v[1] : 1, 1};
    return a_ints(e, nd, k, a, 4);
}

/* The rank of value v: a constant's, or what inference recorded (-1: unknown). */
static int rank_of(const xp *e, int v) {
    if (v < 0) return -1;
    const st_ir_value *iv = &e->g->values[v];
    if (iv->has_const) return iv->const_val.ndim;
    return iv->type.kind == ST_VAL_TENSOR ? iv->type.rank : -1;
}

/* Is `axis` the last axis of value v? */
static bool last_axis(const xp *e, int v, int64_t axis) {
    if (axis == -1) return true;
    int r = rank_of(e, v);
    return r > 0 && axis == r - 1;
}

/* ---- the emitters: one IR node -> TF nodes ------------------------------------------------ */
typedef struct xp_row xp_row;

/* One IR node being exported. */
typedef struct xnode {
    const st_node *x;
    const xp_row *row;
    const char **in; /* TF tensor of each input (NULL: omitted) */
    int nin;
    st_dtype it;      /* element type of input 0 */
    int y;            /* IR value of output 0 */
    const char *base; /* its name: the stem of the TF nodes' names */
    bool none;        /* no TF form for the node as it is */
} xnode;

/* An emitter writes the TF nodes of a->x and sets its output (set_out / out_node), or marks
 * it as having no TF form (no_form); failures go through xp_fail. */
typedef st_status (*xp_fn)(xp *e, xnode *a);

struct xp_row {
    const char *op; /* IR op (ai.onnx), the key: rows sorted by it */
    xp_fn fn;       /* emitter */
    const char *tf; /* the TF op a generic emitter writes (NULL: the emitter knows) */
};

static st_status no_form(xnode *a) {
    a->none = true;
    return ST_OK;
}

static st_dtype in_dtype(const xp *e, const xnode *a, int i) { return e->vd[a->x->inputs[i]]; }

static st_status set_out(xp *e, xnode *a, const char *t, st_dtype dt) {
    if (!t) return xp_nomem(e);
    e->vt[a->y] = (char *)t;
    e->vd[a->y] = dt;
    return e->st;
}

/* The node's output is output 0 of nd (NULL: allocation failed). */
static st_status out_node(xp *e, xnode *a, nodedef *nd, st_dtype dt) {
    return nd ? set_out(e, a, out0(e, nd, 0), dt) : xp_nomem(e);
}

/* one-to-one: the row's TF op with T = the input type, unary or binary, no attributes */
static st_status ex_same(xp *e, xnode *a) {
    if ((a->nin != 1 && a->nin != 2) || a->x->n_attrs) return no_form(a);
    return out_node(e, a, tnode(e, a->base, a->row->tf, a->nin, a->in, a->it), a->it);
}

/* Elu: TF's has alpha 1 */
static st_status ex_elu(xp *e, xnode *a) {
    if (a->nin != 1 || st_attr_float(a->x, "alpha", 1) != 1) return no_form(a);
    return out_node(e, a, tnode(e, a->base, a->row->tf, 1, a->in, a->it), a->it);
}

/* comparisons: bool output */
static st_status ex_cmp(xp *e, xnode *a) {
    if (a->nin != 2) return no_form(a);
    return out_node(e, a, tnode(e, a->base, a->row->tf, 2, a->in, a->it), ST_DTYPE_BOOL);
}

/* logical ops: bool in and out, no T attribute */
static st_status ex_logical(xp *e, xnode *a) {
    return out_node(e, a, node(e, a->base, a->row->tf, a->nin, a->in), ST_DTYPE_BOOL);
}

static st_status ex_div(xp *e, xnode *a) {
    if (a->nin != 2) return no_form(a);
    const char *op = st_dtype_is_float(a->it) ? "RealDiv" : "TruncateDiv";
    return out_node(e, a, tnode(e, a->base, op, 2, a->in, a->it), a->it);
}

static st_status ex_where(xp *e, xnode *a) {
    if (a->nin != 3) return no_form(a);
    st_dtype t = in_dtype(e, a, 1);
    return out_node(e, a, tnode(e, a->base, "SelectV2", 3, a->in, t), t);
}

static st_status ex_gemm(xp *e, xnode *a) {
    const st_node *x = a->x;
    if (a->nin < 2 || st_attr_float(x, "alpha", 1) != 1 || st_attr_float(x, "beta", 1) != 1)
        return no_form(a);
    nodedef *nd = tnode(e, a->base, "MatMul", 2, a->in, a->it);
    if (!nd || !a_b(e, nd, "transpose_a", st_attr_int(x, "transA", 0)) ||
        !a_b(e, nd, "transpose_b", st_attr_int(x, "transB", 0)))
        return xp_nomem(e);
    if (a->nin > 2 && a->in[2]) {
        const char *ins[2] = {out0(e, nd, 0), a->in[2]};
        char w[600];
        snprintf(w, sizeof w, "%s/bias", a->base);
        nd = tnode(e, w, "AddV2", 2, ins, a->it);
    }
    return out_node(e, a, nd, a->it);
}

/* Softmax/LogSoftmax over the last axis (ONNX before 13 defaults to axis 1) */
static st_status ex_softmax(xp *e, xnode *a) {
    const st_node *x = a->x;
    int64_t axis = st_attr_int(x, "axis", x->since && x->since < 13 ? 1 : -1);
    if (!last_axis(e, x->inputs[0], axis)) return no_form(a);
    return out_node(e, a, tnode(e, a->base, a->row->tf, 1, a->in, a->it), a->it);
}

static st_status ex_transpose(xp *e, xnode *a) {
    const int64_t *p;
    size_t np = st_attr_ints(a->x, "perm", &p);
    if (!np) return no_form(a);
    return set_out(e, a, tf_transpose(e, a->base, a->in[0], a->it, p, (int)np), a->it);
}

static st_status ex_reshape(xp *e, xnode *a) {
    if (a->nin != 2) return no_form(a);
    int64_t s[ST_MAX_RANK];
    size_t ns;
    if (cints(e, a->x->inputs[1], s, ST_MAX_RANK, &ns))
        for (size_t i = 0; i < ns; i++)
            if (s[i] == 0) return no_form(a); /* ONNX's "copy this dim" has no TF spelling */
    nodedef *nd = tnode(e, a->base, "Reshape", 2, a->in, a->it);
    if (nd && !a_type(e, nd, "Tshape", in_dtype(e, a, 1))) return xp_nomem(e);
    return out_node(e, a, nd, a->it);
}

/* Flatten(axis 1): Reshape to [d0, -1] from the runtime shape */
static st_status ex_flatten(xp *e, xnode *a) {
    if (st_attr_int(a->x, "axis", 1) != 1) return no_form(a);
    const char *base = a->base;
    char w[600];
    snprintf(w, sizeof w, "%s/shape", base);
    nodedef *sh = tnode(e, w, "Shape", 1, a->in, a->it);
    if (!sh || !a_type(e, sh, "out_type", ST_DTYPE_I64)) return xp_nomem(e);
    const int64_t b0 = 0, b1 = 1, m1 = -1;
    snprintf(w, sizeof w, "%s/b", base);
    const char *ss[4] = {out0(e, sh, 0), kints(e, w, ST_DTYPE_I64, &b0, 1, false),
                         kints(e, w, ST_DTYPE_I64, &b1, 1, false),
                         kints(e, w, ST_DTYPE_I64, &b1, 1, false)};
    snprintf(w, sizeof w, "%s/d0", base);
    nodedef *d0 = tnode(e, w, "StridedSlice", 4, ss, ST_DTYPE_I64);
    if (!d0 || !a_type(e, d0, "Index", ST_DTYPE_I64)) return xp_nomem(e);
    snprintf(w, sizeof w, "%s/m1", base);
    const char *cc[3] = {out0(e, d0, 0), kints(e, w, ST_DTYPE_I64, &m1, 1, false),
                         kints(e, w, ST_DTYPE_I32, &b0, 1, true)};
    snprintf(w, sizeof w, "%s/newshape", base);
    nodedef *cat = tnode(e, w, "ConcatV2", 3, cc, ST_DTYPE_I64);
    if (!cat || !a_i(e, cat, "N", 2) || !a_type(e, cat, "Tidx", ST_DTYPE_I32)) return xp_nomem(e);
    const char *rr[2] = {a->in[0], out0(e, cat, 0)};
    nodedef *nd = tnode(e, base, "Reshape", 2, rr, a->it);
    if (nd && !a_type(e, nd, "Tshape", ST_DTYPE_I64)) return xp_nomem(e);
    return out_node(e, a, nd, a->it);
}

static st_status ex_cast(xp *e, xnode *a) {
    st_dtype ot = (st_dtype)st_attr_int(a->x, "to", 1);
    nodedef *nd = node(e, a->base, "Cast", 1, a->in);
    if (nd && (!a_type(e, nd, "SrcT", a->it) || !a_type(e, nd, "DstT", ot) ||
               !a_b(e, nd, "Truncate", false)))
        return xp_nomem(e);
    return out_node(e, a, nd, ot);
}

static st_status ex_shape(xp *e, xnode *a) {
    if (a->x->n_attrs) return no_form(a); /* start/end */
    nodedef *nd = tnode(e, a->base, "Shape", 1, a->in, a->it);
    if (nd && !a_type(e, nd, "out_type", ST_DTYPE_I64)) return xp_nomem(e);
    return out_node(e, a, nd, ST_DTYPE_I64);
}

static st_status ex_concat(xp *e, xnode *a) {
    char w[600];
    snprintf(w, sizeof w, "%s/axis", a->base);
    int64_t ax = st_attr_int(a->x, "axis", 0);
    const char **ins = st_arena_alloc(e->a, sizeof(char *) * (size_t)(a->nin + 1));
    if (!ins) return xp_nomem(e);
    for (int i = 0; i < a->nin; i++) ins[i] = a->in[i];
    ins[a->nin] = kints(e, w, ST_DTYPE_I32, &ax, 1, true);
    nodedef *nd = ins[a->nin] ? tnode(e, a->base, "ConcatV2", a->nin + 1, ins, a->it) : NULL;
    if (nd && (!a_i(e, nd, "N", a->nin) || !a_type(e, nd, "Tidx", ST_DTYPE_I32)))
        return xp_nomem(e);
    return out_node(e, a, nd, a->it);
}

static st_status ex_squeeze(xp *e, xnode *a) {
    int64_t ax[ST_MAX_RANK];
    size_t na;
    if (a->nin != 2 || !cints(e, a->x->inputs[1], ax, ST_MAX_RANK, &na)) return no_form(a);
    nodedef *nd = tnode(e, a->base, "Squeeze", 1, a->in, a->it);
    if (nd && !a_ints(e, nd, "squeeze_dims", ax, na)) return xp_nomem(e);
    return out_node(e, a, nd, a->it);
}

static st_status ex_unsqueeze(xp *e, xnode *a) {
    int64_t ax[ST_MAX_RANK];
    size_t na;
    if (a->nin != 2 || !cints(e, a->x->inputs[1], ax, ST_MAX_RANK, &na) || na != 1)
        return no_form(a);
    char w[600];
    snprintf(w, sizeof w, "%s/axis", a->base);
    const char *ins[2] = {a->in[0], kints(e, w, ST_DTYPE_I32, ax, 1, true)};
    nodedef *nd = ins[1] ? tnode(e, a->base, "ExpandDims", 2, ins, a->it) : NULL;
    if (nd && !a_type(e, nd, "Tdim", ST_DTYPE_I32)) return xp_nomem(e);
    return out_node(e, a, nd, a->it);
}

static st_status ex_gather(xp *e, xnode *a) {
    if (a->nin != 2) return no_form(a);
    char w[600];
    snprintf(w, sizeof w, "%s/axis", a->base);
    int64_t ax = st_attr_int(a->x, "axis", 0);
    const char *ins[3] = {a->in[0], a->in[1], kints(e, w, ST_DTYPE_I32, &ax, 1, true)};
    nodedef *nd = ins[2] ? node(e, a->base, "GatherV2", 3, ins) : NULL;
    if (nd && (!a_type(e, nd, "Tparams", a->it) || !a_type(e, nd, "Tindices", in_dtype(e, a, 1)) ||
               !a_type(e, nd, "Taxis", ST_DTYPE_I32) || !a_i(e, nd, "batch_dims", 0)))
        return xp_nomem(e);
    return out_node(e, a, nd, a->it);
}

/* ReduceX over constant axes (input or attribute): the row's TF reduction */
static st_status ex_reduce(xp *e, xnode *a) {
    int64_t ax[ST_MAX_RANK];
    size_t na = 0;
    const int64_t *aa;
    if (a->nin >= 2 && a->in[1]) {
        if (!cints(e, a->x->inputs[1], ax, ST_MAX_RANK, &na)) return no_form(a);
    } else {
        na = st_attr_ints(a->x, "axes", &aa);
        memcpy(ax, aa, sizeof(int64_t) * ST_MIN(na, (size_t)ST_MAX_RANK));
    }
    if (!na || na > ST_MAX_RANK) return no_form(a); /* all axes: TF needs them listed */
    char w[600];
    snprintf(w, sizeof w, "%s/axes", a->base);
    const char *ins[2] = {a->in[0], kints(e, w, ST_DTYPE_I32, ax, na, false)};
    nodedef *nd = ins[1] ? tnode(e, a->base, a->row->tf, 2, ins, a->it) : NULL;
    if (nd && (!a_b(e, nd, "keep_dims", st_attr_int(a->x, "keepdims", 1)) ||
               !a_type(e, nd, "Tidx", ST_DTYPE_I32)))
        return xp_nomem(e);
    return out_node(e, a, nd, a->it);
}

/* GlobalAveragePool/GlobalMaxPool: the row's reduction over axes 2, 3, kept */
static st_status ex_global_pool(xp *e, xnode *a) {
    char w[600];
    snprintf(w, sizeof w, "%s/axes", a->base);
    const int64_t ax[2] = {2, 3};
    const char *ins[2] = {a->in[0], kints(e, w, ST_DTYPE_I32, ax, 2, false)};
    nodedef *nd = ins[1] ? tnode(e, a->base, a->row->tf, 2, ins, a->it) : NULL;
    if (nd && (!a_b(e, nd, "keep_dims", true) || !a_type(e, nd, "Tidx", ST_DTYPE_I32)))
        return xp_nomem(e);
    return out_node(e, a, nd, a->it);
}

/* Clip(x, min, max) = Maximum(Minimum(x, max), min) */
static st_status ex_clip(xp *e, xnode *a) {
    if (a->nin != 3 || !a->in[1] || !a->in[2]) return no_form(a);
    char w[600];
    snprintf(w, sizeof w, "%s/min", a->base);
    const char *i1[2] = {a->in[0], a->in[2]};
    nodedef *mn = tnode(e, w, "Minimum", 2, i1, a->it);
    if (!mn) return xp_nomem(e);
    const char *i2[2] = {out0(e, mn, 0), a->in[1]};
    return out_node(e, a, tnode(e, a->base, "Maximum", 2, i2, a->it), a->it);
}

/* Slice over axes 0..k-1 with positive steps: StridedSlice with the same (possibly computed)
 * bounds; TF clamps out-of-range begin/end as ONNX does */
static st_status ex_slice(xp *e, xnode *a) {
    const st_node *x = a->x;
    int64_t ax[ST_MAX_RANK], sp[ST_MAX_RANK], st[ST_MAX_RANK];
    size_t na = 0, ns = 0, nst = 0;
    if (a->nin < 3) return no_form(a);
    if (a->nin > 3 && a->in[3]) {
        if (!cints(e, x->inputs[3], ax, ST_MAX_RANK, &na)) return no_form(a);
        for (size_t i = 0; i < na; i++)
            if (ax[i] != (int64_t)i) return no_form(a);
    }
    if (a->nin > 4 && a->in[4]) {
        if (!cints(e, x->inputs[4], sp, ST_MAX_RANK, &ns)) return no_form(a);
        for (size_t i = 0; i < ns; i++)
            if (sp[i] <= 0) return no_form(a);
    }
    st_dtype bt = in_dtype(e, a, 1), et = in_dtype(e, a, 2);
    if (bt != et) return no_form(a);
    const char *strides = a->nin > 4 ? a->in[4] : NULL;
    if (!strides) { /* ones, as many as the bounds */
        char w[600];
        snprintf(w, sizeof w, "%s/strides", a->base);
        if (cints(e, x->inputs[1], st, ST_MAX_RANK, &nst)) {
            for (size_t i = 0; i < nst; i++) st[i] = 1;
            strides = kints(e, w, bt, st, nst, false);
        } else {
            nodedef *ol = tnode(e, w, "OnesLike", 1, &a->in[1], bt);
            strides = ol ? out0(e, ol, 0) : NULL;
        }
        if (!strides) return xp_nomem(e);
    }
    const char *si[4] = {a->in[0], a->in[1], a->in[2], strides};
    nodedef *nd = tnode(e, a->base, "StridedSlice", 4, si, a->it);
    if (nd && (!a_type(e, nd, "Index", bt) || !a_i(e, nd, "begin_mask", 0) ||
               !a_i(e, nd, "end_mask", 0) || !a_i(e, nd, "ellipsis_mask", 0) ||
               !a_i(e, nd, "new_axis_mask", 0) || !a_i(e, nd, "shrink_axis_mask", 0)))
        return xp_nomem(e);
    return out_node(e, a, nd, a->it);
}

/* Resize by sizes (NCHW) -> ResizeBilinear/ResizeNearestNeighbor on NHWC with the [H, W]
 * part of the sizes */
static st_status ex_resize(xp *e, xnode *a) {
    const st_node *x = a->x;
    if (a->nin != 4 || !a->in[3] || a->in[1] || a->in[2]) return no_form(a);
    const char *mode = st_attr_string(x, "mode", "nearest");
    const char *ctm = st_attr_string(x, "coordinate_transformation_mode", "half_pixel");
    bool lin = !strcmp(mode, "linear"), align = !strcmp(ctm, "align_corners");
    bool half = !strcmp(ctm, "half_pixel") || !strcmp(ctm, "tf_half_pixel_for_nn");
    if ((!lin && strcmp(mode, "nearest")) || (!align && !half && strcmp(ctm, "asymmetric")))
        return no_form(a);
    const char *nm = align || half ? "round_prefer_ceil" : "floor";
    if (!lin && strcmp(st_attr_string(x, "nearest_mode", "round_prefer_floor"), nm))
        return no_form(a);
    char w[600];
    snprintf(w, sizeof w, "%s/nhwc", a->base);
    const char *xh = tf_transpose(e, w, a->in[0], a->it, TO_NHWC, 4);
    const int64_t b2 = 2, e4 = 4, s1 = 1;
    st_dtype zt = in_dtype(e, a, 3);
    snprintf(w, sizeof w, "%s/hw", a->base);
    const char *ss[4] = {a->in[3], kints(e, w, zt, &b2, 1, false), kints(e, w, zt, &e4, 1, false),
                         kints(e, w, zt, &s1, 1, false)};
    nodedef *hw = xh ? tnode(e, w, "StridedSlice", 4, ss, zt) : NULL;
    if (!hw || !a_type(e, hw, "Index", zt)) return xp_nomem(e);
    snprintf(w, sizeof w, "%s/size", a->base);
    const char *hwo = out0(e, hw, 0);
    nodedef *cs = node(e, w, "Cast", 1, &hwo);
    if (!cs || !a_type(e, cs, "SrcT", zt) || !a_type(e, cs, "DstT", ST_DTYPE_I32) ||
        !a_b(e, cs, "Truncate", false))
        return xp_nomem(e);
    const char *ri[2] = {xh, out0(e, cs, 0)};
    snprintf(w, sizeof w, "%s/resize", a->base);
    nodedef *rz = tnode(e, w, lin ? "ResizeBilinear" : "ResizeNearestNeighbor", 2, ri, a->it);
    if (!rz || !a_b(e, rz, "align_corners", align) || !a_b(e, rz, "half_pixel_centers", half))
        return xp_nomem(e);
    st_dtype ot = lin ? ST_DTYPE_F32 : a->it; /* ResizeBilinear computes in float */
    return set_out(e, a, tf_transpose(e, a->base, out0(e, rz, 0), ot, TO_NCHW, 4), ot);
}

static st_status ex_expand(xp *e, xnode *a) {
    if (a->nin != 2) return no_form(a);
    nodedef *nd = tnode(e, a->base, "BroadcastTo", 2, a->in, a->it);
    if (nd && !a_type(e, nd, "Tidx", in_dtype(e, a, 1))) return xp_nomem(e);
    return out_node(e, a, nd, a->it);
}

static st_status ex_leaky(xp *e, xnode *a) {
    nodedef *nd = tnode(e, a->base, "LeakyRelu", 1, a->in, a->it);
    if (nd && !a_f(e, nd, "alpha", (float)st_attr_float(a->x, "alpha", 0.01))) return xp_nomem(e);
    return out_node(e, a, nd, a->it);
}

/* ---- NCHW IR ops -> Transpose, NHWC TF op, Transpose back ---------------------------------- */
/* makes the NHWC core node from the NHWC input xh */
typedef st_status (*nhwc_fn)(xp *e, xnode *a, const char *xh, nodedef **core);

static st_status around_nhwc(xp *e, xnode *a, nhwc_fn fn) {
    if (a->x->n_out != 1) return no_form(a);
    char w[600];
    snprintf(w, sizeof w, "%s/nhwc", a->base);
    const char *xh = tf_transpose(e, w, a->in[0], a->it, TO_NHWC, 4);
    if (!xh) return xp_nomem(e);
    nodedef *core = NULL;
    st_status s = fn(e, a, xh, &core);
    if (s || a->none) return s;
    return set_out(e, a, tf_transpose(e, a->base, out0(e, core, 0), a->it, TO_NCHW, 4), a->it);
}

static st_status conv_core(xp *e, xnode *a, const char *xh, nodedef **core) {
    const st_node *x = a->x;
    int64_t wd[4], group = st_attr_int(x, "group", 1);
    if (group != 1 && !wdims(e, x->inputs[1], wd)) return no_form(a);
    static const int64_t oihw_to_hwio[4] = {2, 3, 1, 0};
    char w[600];
    snprintf(w, sizeof w, "%s/filter", a->base);
    const char *f = tf_transpose(e, w, a->in[1], a->it, oihw_to_hwio, 4);
    if (!f) return xp_nomem(e);
    const char *tfop = "Conv2D";
    if (group != 1) { /* depthwise: [kh,kw,1,C*M] -> [kh,kw,C,M] */
        if (wd[1] != 1) return no_form(a);
        int64_t shp[4] = {wd[2], wd[3], group, wd[0] / group};
        snprintf(w, sizeof w, "%s/dwshape", a->base);
        const char *ri[2] = {f, kints(e, w, ST_DTYPE_I32, shp, 4, false)};
        snprintf(w, sizeof w, "%s/dwfilter", a->base);
        nodedef *r = ri[1] ? tnode(e, w, "Reshape", 2, ri, a->it) : NULL;
        if (!r || !a_type(e, r, "Tshape", ST_DTYPE_I32)) return xp_nomem(e);
        f = out0(e, r, 0);
        tfop = "DepthwiseConv2dNative";
    }
    const char *ci[2] = {xh, f};
    snprintf(w, sizeof w, "%s/conv", a->base);
    nodedef *nd = tnode(e, w, tfop, 2, ci, a->it);
    if (!nd || !hw4(e, nd, "strides", x, "strides") || !hw4(e, nd, "dilations", x, "dilations") ||
        !a_s(e, nd, "data_format", "NHWC"))
        return xp_nomem(e);
    if (!set_pad(e, nd, x, group == 1)) return e->st ? e->st : no_form(a);
    if (a->nin > 2 && a->in[2]) {
        const char *bi[2] = {out0(e, nd, 0), a->in[2]};
        snprintf(w, sizeof w, "%s/bias", a->base);
        nd = tnode(e, w, "BiasAdd", 2, bi, a->it);
        if (!nd || !a_s(e, nd, "data_format", "NHWC")) return xp_nomem(e);
    }
    *core = nd;
    return ST_OK;
}

static st_status bn_core(xp *e, xnode *a, const char *xh, nodedef **core) {
    if (a->nin != 5) return no_form(a);
    const char *bi[5] = {xh, a->in[1], a->in[2], a->in[3], a->in[4]};
    char w[600];
    snprintf(w, sizeof w, "%s/bn", a->base);
    nodedef *nd = tnode(e, w, "FusedBatchNormV3", 5, bi, a->it);
    if (!nd || !a_type(e, nd, "U", in_dtype(e, a, 1)) ||
        !a_f(e, nd, "epsilon", (float)st_attr_float(a->x, "epsilon", 1e-5)) ||
        !a_b(e, nd, "is_training", false) || !a_s(e, nd, "data_format", "NHWC"))
        return xp_nomem(e);
    *core = nd;
    return ST_OK;
}

/* MaxPool / AveragePool: the row's TF pool */
static st_status pool_core(xp *e, xnode *a, const char *xh, nodedef **core) {
    const st_node *x = a->x;
    const int64_t *d;
    if (st_attr_int(x, "ceil_mode", 0) || st_attr_int(x, "count_include_pad", 0) ||
        (st_attr_ints(x, "dilations", &d) && (d[0] != 1 || d[1] != 1)))
        return no_form(a);
    char w[600];
    snprintf(w, sizeof w, "%s/pool", a->base);
    nodedef *nd = tnode(e, w, a->row->tf, 1, &xh, a->it);
    if (!nd || !hw4(e, nd, "ksize", x, "kernel_shape") || !hw4(e, nd, "strides", x, "strides") ||
        !a_s(e, nd, "data_format", "NHWC"))
        return xp_nomem(e);
    if (!set_pad(e, nd, x, false)) return e->st ? e->st : no_form(a);
    *core = nd;
    return ST_OK;
}

static st_status ex_conv(xp *e, xnode *a) { return around_nhwc(e, a, conv_core); }
static st_status ex_batchnorm(xp *e, xnode *a) { return around_nhwc(e, a, bn_core); }
static st_status ex_pool(xp *e, xnode *a) { return around_nhwc(e, a, pool_core); }

/* ---- the table: one row per IR op with a TF form, sorted by op ----------------------------- */
static const xp_row xp_rows[] = {
    /* IR op, emitter, TF op for generic emitters   meaning */
    {"Abs", ex_same, "Abs"},                       /* |x| */
    {"Add", ex_same, "AddV2"},                     /* x + y */
    {"And", ex_logical, "LogicalAnd"},             /* x and y */
    {"AveragePool", ex_pool, "AvgPool"},           /* NHWC, pads excluded */
    {"BatchNormalization", ex_batchnorm, NULL},    /* FusedBatchNormV3, inference */
    {"Cast", ex_cast, NULL},                       /* Cast with SrcT/DstT */
    {"Ceil", ex_same, "Ceil"},                     /* round up */
    {"Clip", ex_clip, NULL},                       /* Maximum(Minimum(x, hi), lo) */
    {"Concat", ex_concat, NULL},                   /* ConcatV2, axis as last input */
    {"Conv", ex_conv, NULL},                       /* Conv2D/DepthwiseConv2dNative (+BiasAdd) */
    {"Cos", ex_same, "Cos"},                       /* cosine */
    {"Div", ex_div, NULL},                         /* RealDiv, TruncateDiv on integers */
    {"Elu", ex_elu, "Elu"},                        /* alpha 1 only */
    {"Equal", ex_cmp, "Equal"},                    /* x == y */
    {"Erf", ex_same, "Erf"},                       /* error function */
    {"Exp", ex_same, "Exp"},                       /* e^x */
    {"Expand", ex_expand, NULL},                   /* BroadcastTo */
    {"Flatten", ex_flatten, NULL},                 /* axis 1: Reshape to [d0, -1] */
    {"Floor", ex_same, "Floor"},                   /* round down */
    {"Gather", ex_gather, NULL},                   /* GatherV2 */
    {"Gemm", ex_gemm, NULL},                       /* MatMul with transposes (+AddV2) */
    {"GlobalAveragePool", ex_global_pool, "Mean"}, /* mean over H, W, kept */
    {"GlobalMaxPool", ex_global_pool, "Max"},      /* max over H, W, kept */
    {"Greater", ex_cmp, "Greater"},                /* x > y */
    {"GreaterOrEqual", ex_cmp, "GreaterEqual"},    /* x >= y */
    {"Identity", ex_same, "Identity"},             /* same tensor */
    {"LeakyRelu", ex_leaky, NULL},                 /* max(x, alpha x) */
    {"Less", ex_cmp, "Less"},                      /* x < y */
    {"LessOrEqual", ex_cmp, "LessEqual"},          /* x <= y */
    {"Log", ex_same, "Log"},                       /* natural log */
    {"LogSoftmax", ex_softmax, "LogSoftmax"},      /* over the last axis only */
    {"MatMul", ex_same, "BatchMatMulV2"},          /* numpy matmul */
    {"Max", ex_same, "Maximum"},                   /* two inputs */
    {"MaxPool", ex_pool, "MaxPool"},               /* NHWC */
    {"Min", ex_same, "Minimum"},                   /* two inputs */
    {"Mul", ex_same, "Mul"},                       /* x * y */
    {"Neg", ex_same, "Neg"},                       /* -x */
    {"Not", ex_logical, "LogicalNot"},             /* not x */
    {"Or", ex_logical, "LogicalOr"},               /* x or y */
    {"Pow", ex_same, "Pow"},                       /* x ^ y */
    {"Reciprocal", ex_same, "Reciprocal"},         /* 1 / x */
    {"ReduceMax", ex_reduce, "Max"},               /* over constant axes */
    {"ReduceMean", ex_reduce, "Mean"},             /* over constant axes */
    {"ReduceMin", ex_reduce, "Min"},               /* over constant axes */
    {"ReduceProd", ex_reduce, "Prod"},             /* over constant axes */
    {"ReduceSum", ex_reduce, "Sum"},               /* over constant axes */
    {"Relu", ex_same, "Relu"},                     /* max(x, 0) */
    {"Reshape", ex_reshape, NULL},                 /* no 0 ("copy") dims */
    {"Resize", ex_resize, NULL},                   /* by sizes, NHWC bilinear/nearest */
    {"Round", ex_same, "Round"},                   /* half to even */
    {"Selu", ex_same, "Selu"},                     /* default constants */
    {"Shape", ex_shape, NULL},                     /* int64 shape */
    {"Sigmoid", ex_same, "Sigmoid"},               /* logistic */
    {"Sign", ex_same, "Sign"},                     /* sign */
    {"Sin", ex_same, "Sin"},                       /* sine */
    {"Slice", ex_slice, NULL},                     /* StridedSlice, leading axes */
    {"Softmax", ex_softmax, "Softmax"},            /* over the last axis only */
    {"Softplus", ex_same, "Softplus"},             /* log(1 + e^x) */
    {"Softsign", ex_same, "Softsign"},             /* x / (1 + |x|) */
    {"Sqrt", ex_same, "Sqrt"},                     /* square root */
    {"Squeeze", ex_squeeze, NULL},                 /* constant axes */
    {"Sub", ex_same, "Sub"},                       /* x - y */
    {"Tanh", ex_same, "Tanh"},                     /* hyperbolic tangent */
    {"Transpose", ex_transpose, NULL},             /* with perm */
    {"Unsqueeze", ex_unsqueeze, NULL},             /* ExpandDims, one constant axis */
    {"Where", ex_where, NULL},                     /* SelectV2 */
};

static const xp_row *xp_find(const char *op) {
    size_t lo = 0, hi = ST_ARRAY_LEN(xp_rows);
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(xp_rows[mid].op, op);
        if (!c) return &xp_rows[mid];
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    return NULL;
}

bool st_tf_export_row(size_t i, const char **ir_op, const char **tf_op) {
    if (i >= ST_ARRAY_LEN(xp_rows)) return false;
    *ir_op = xp_rows[i].op;
    *tf_op = xp_rows[i].tf;
    return true;
}

/* Convert one IR node through its row; an op without a row or a TF form for this node is
 * counted as missing. */
static st_status export_node(xp *e, const st_node *x) {
    const xp_row *row = x->domain[0] ? NULL : xp_find(x->op_type);
    if (!row || x->n_out < 1 || x->outputs[0] < 0) return missing(e, x->op_type);
    xnode a = {x, row, NULL, x->n_in, ST_DTYPE_UNDEFINED, x->outputs[0], NULL, false};
    a.base = e->g->values[a.y].name;
    if (!(a.in = st_arena_alloc(e->a, sizeof(char *) * (size_t)(x->n_in + 1)))) return xp_nomem(e);
    for (int i = 0; i < x->n_in; i++) {
        a.in[i] = x->inputs[i] >= 0 ? e->vt[x->inputs[i]] : NULL;
        if (i == 0 && x->inputs[0] >= 0) a.it = e->vd[x->inputs[0]];
    }
    st_status s = row->fn(e, &a);
    if (!s && a.none) s = missing(e, x->op_type);
    return s;
}

/* ---- the directory ---------------------------------------------------------------------- */
static st_status write_pb(const char *path, const ProtobufCMessage *msg, st_error *err) {
    size_t n = protobuf_c_message_get_packed_size(msg);
    uint8_t *buf = st_malloc(n ? n : 1);
    if (!buf) return st_error_nomem(err);
    protobuf_c_message_pack(msg, buf);
    st_status s = st_write_file(path, buf, n, err);
    st_free(buf);
    return s;
}

static Stele__Tf__TensorInfo *tensor_info(xp *e, const char *name, st_dtype dt, const st_type *ty) {
    Stele__Tf__TensorInfo *ti = ALLOC(e, Stele__Tf__TensorInfo);
    if (!ti) return NULL;
    stele__tf__tensor_info__init(ti);
    ti->name = (char *)name;
    ti->dtype = (Stele__Tf__DataType)st_tf_dtype_to_tf(dt);
    int64_t dims[ST_MAX_RANK];
    int r = ty->kind == ST_VAL_TENSOR ? ty->rank : -1;
    for (int d = 0; d < r; d++)
        dims[d] = ty->dims[d].value >= 0 && !ty->dims[d].symbol ? ty->dims[d].value : -1;
    ti->tensor_shape = shape_proto(e, r, dims);
    return ti->tensor_shape ? ti : NULL;
}

/* Placeholders for the graph inputs. */
static st_status export_inputs(xp *e) {
    const st_graph *g = e->g;
    for (size_t i = 0; i < g->n_inputs && !e->st; i++) {
        int v = g->inputs[i];
        const st_ir_value *iv = &g->values[v];
        if (iv->role == ST_VALUE_INITIALIZER) continue;
        if (iv->type.kind != ST_VAL_TENSOR || st_tf_dtype_to_tf(iv->type.dtype) == 0)
            return xp_fail(e, ST_ERR_UNSUPPORTED,
                           "input \"%s\" is not a tensor TensorFlow can hold", iv->name);
        nodedef *nd = node(e, iv->name, "Placeholder", 0, NULL);
        int64_t dims[ST_MAX_RANK];
        for (int d = 0; d < iv->type.rank; d++)
            dims[d] = iv->type.dims[d].value >= 0 && !iv->type.dims[d].symbol
                          ? iv->type.dims[d].value
                          : -1;
        if (!nd || !a_type(e, nd, "dtype", iv->type.dtype) ||
            !a_shape(e, nd, "shape", iv->type.rank, dims) || !(e->vt[v] = (char *)out0(e, nd, 0)))
            return xp_nomem(e);
        e->vd[v] = iv->type.dtype;
    }
    return e->st;
}

/* A float constant as a VariableV2 with its "<var>/read" Identity, its data in the bundle. */
static st_status export_variable(xp *e, int v) {
    const st_ir_value *iv = &e->g->values[v];
    const st_tensor *t = &iv->const_val;
    nodedef *var = node(e, iv->name, "VariableV2", 0, NULL);
    if (!var || !a_type(e, var, "dtype", t->dtype) || !a_shape(e, var, "shape", t->ndim, t->dims) ||
        !a_s(e, var, "container", "") || !a_s(e, var, "shared_name", ""))
        return xp_nomem(e);
    char w[600];
    snprintf(w, sizeof w, "%s/read", var->name);
    const char *vin = var->name;
    nodedef *rd = tnode(e, w, "Identity", 1, &vin, t->dtype);
    if (!rd || !ST_GROW(e->vars, e->capvars, e->nvars + 1)) return xp_nomem(e);
    char **vn = st_realloc(e->var_nodes, sizeof *vn * e->capvars);
    if (!vn) return xp_nomem(e);
    e->var_nodes = vn;
    e->var_nodes[e->nvars] = var->name;
    e->vars[e->nvars++] = (st_tf_bundle_item){
        var->name, st_tf_dtype_to_tf(t->dtype), t->ndim, t->dims, t->data, st_tensor_nbytes(t)};
    if (!(e->vt[v] = (char *)out0(e, rd, 0))) return xp_nomem(e);
    return e->st;
}

/* Constants: float tensors become restored variables, the rest Const nodes. */
static st_status export_constants(xp *e) {
    const st_graph *g = e->g;
    for (size_t v = 0; v < g->n_values && !e->st; v++) {
        const st_ir_value *iv = &g->values[v];
        if (!iv->has_const || e->vt[v]) continue;
        const st_tensor *t = &iv->const_val;
        if (st_tf_dtype_to_tf(t->dtype) == 0)
            return xp_fail(e, ST_ERR_UNSUPPORTED, "constant \"%s\" of type %s", iv->name,
                           st_dtype_name(t->dtype));
        e->vd[v] = t->dtype;
        if (st_dtype_is_float(t->dtype) && t->dtype != ST_DTYPE_STRING) export_variable(e, (int)v);
        else if (!(e->vt[v] = (char *)konst(e, iv->name, t))) xp_nomem(e);
    }
    return e->st;
}

/* Every node in topological order; one message for all ops without a TF form. */
static st_status export_nodes(xp *e) {
    const st_graph *g = e->g;
    st_error err;
    int *order = st_calloc(g->n_nodes + 1, sizeof *order);
    if (!order) return xp_nomem(e);
    st_status s = st_graph_toposort(g, order, &err);
    if (s) {
        st_free(order);
        return xp_fail(e, s, "%s", err.msg);
    }
    size_t skipped = 0;
    for (size_t k = 0; k < g->n_nodes && !e->st; k++) {
        const st_node *x = &g->nodes[order[k]];
        bool fed = true;
        for (int i = 0; i < x->n_in; i++) fed = fed && (x->inputs[i] < 0 || e->vt[x->inputs[i]]);
        if (fed) export_node(e, x);
        else skipped++; /* fed by a node that could not be exported */
    }
    st_free(order);
    if (e->st || !e->nmiss) return e->st;
    st_sb list = {0};
    for (size_t i = 0; i < e->nmiss; i++)
        st_sb_printf(&list, "%s%s (%d)", i ? ", " : "", e->miss[i].op, e->miss[i].count);
    if (skipped) st_sb_printf(&list, "; %zu nodes after them were not reached", skipped);
    if (list.oom) {
        st_sb_free(&list);
        return xp_nomem(e);
    }
    xp_fail(e, ST_ERR_UNSUPPORTED,
            "no TensorFlow form for these ops (or the form they take here): %s", st_sb_str(&list));
    st_sb_free(&list);
    return e->st;
}

/* String constant of n elements (NULL: the empty string each), or a scalar when n == 0. */
static const char *kstrings(xp *e, const char *want, const char *const *v, size_t n, bool scalar) {
    st_tensor t;
    int64_t d = (int64_t)n;
    if (st_tensor_alloc(&t, ST_DTYPE_STRING, scalar ? 0 : 1, &d, NULL)) return NULL;
    const char *r = NULL;
    for (size_t i = 0; i < (scalar ? 1 : n); i++) {
        const char *s = v && v[i] ? v[i] : "";
        if (st_tensor_set_string(&t, i, s, strlen(s), NULL)) goto done;
    }
    r = konst(e, want, &t);
done:
    st_tensor_clear(&t);
    return r;
}

/* The saver: RestoreV2 + Assign per variable (restore_all), SaveV2 + control_dependency. */
static st_status export_saver(xp *e, const char **fconst) {
    size_t nv = e->nvars;
    const char **keys = st_arena_alloc(e->a, sizeof(char *) * (nv + 1));
    if (!keys) return xp_nomem(e);
    for (size_t i = 0; i < nv; i++) keys[i] = e->vars[i].key;
    const char *model = "model";
    const char *fc = kstrings(e, "save/filename", &model, 1, true);
    const char *tn = kstrings(e, "save/RestoreV2/tensor_names", keys, nv, false);
    const char *sl = kstrings(e, "save/RestoreV2/shape_and_slices", NULL, nv, false);
    if (!fc || !tn || !sl) return xp_nomem(e);
    const char *ri[3] = {fc, tn, sl};
    nodedef *restore = node(e, "save/RestoreV2", "RestoreV2", 3, ri);
    Stele__Tf__AttrValue__ListValue *dl = restore ? a_list(e, restore, "dtypes") : NULL;
    const char **si = st_arena_alloc(e->a, sizeof(char *) * (nv + 3));
    char **ctrl = st_arena_alloc(e->a, sizeof(char *) * (nv + 1));
    if (!dl || !si || !ctrl || !(dl->type = st_arena_alloc(e->a, sizeof *dl->type * (nv + 1))))
        return xp_nomem(e);
    si[0] = fc;
    si[1] = tn;
    si[2] = sl;
    for (size_t i = 0; i < nv; i++) {
        dl->type[i] = (Stele__Tf__DataType)e->vars[i].dtype;
        char src[600], c[600];
        snprintf(src, sizeof src, "save/RestoreV2:%zu", i);
        const char *ai[2] = {e->var_nodes[i], src};
        nodedef *as = node(e, i ? "save/Assign_1" : "save/Assign", "Assign", 2, ai);
        if (!as || !a_type(e, as, "T", st_tf_dtype(e->vars[i].dtype)) ||
            !a_b(e, as, "validate_shape", true) || !a_b(e, as, "use_locking", true))
            return xp_nomem(e);
        snprintf(c, sizeof c, "^%s", as->name);
        if (!(ctrl[i] = xstrdup(e, c))) return xp_nomem(e);
        si[3 + i] = e->var_nodes[i];
    }
    dl->n_type = nv;
    nodedef *ra = node(e, "save/restore_all", "NoOp", (int)nv, (const char *const *)ctrl);
    nodedef *save = node(e, "save/SaveV2", "SaveV2", (int)nv + 3, si);
    Stele__Tf__AttrValue__ListValue *sdl = save ? a_list(e, save, "dtypes") : NULL;
    if (!ra || !sdl) return xp_nomem(e);
    sdl->type = dl->type;
    sdl->n_type = nv;
    const char *cd[2] = {fc, "^save/SaveV2"};
    nodedef *cdn = node(e, "save/control_dependency", "Identity", 2, cd);
    if (!cdn || !a_type(e, cdn, "T", ST_DTYPE_STRING)) return xp_nomem(e);
    *fconst = fc;
    return e->st;
}

/* The serving_default predict signature over the graph's inputs and outputs. */
static Stele__Tf__SignatureDef *signature(xp *e) {
    const st_graph *g = e->g;
    Stele__Tf__SignatureDef *sd = ALLOC(e, Stele__Tf__SignatureDef);
    Stele__Tf__SignatureDef__InputsEntry **ie =
        st_arena_alloc(e->a, sizeof *ie * (g->n_inputs + 1));
    Stele__Tf__SignatureDef__OutputsEntry **oe =
        st_arena_alloc(e->a, sizeof *oe * (g->n_outputs + 1));
    if (!sd || !ie || !oe) return NULL;
    stele__tf__signature_def__init(sd);
    sd->method_name = "tensorflow/serving/predict";
    for (size_t i = 0; i < g->n_inputs; i++) {
        int v = g->inputs[i];
        if (g->values[v].role == ST_VALUE_INITIALIZER) continue;
        Stele__Tf__SignatureDef__InputsEntry *en = ALLOC(e, Stele__Tf__SignatureDef__InputsEntry);
        if (!en) return NULL;
        stele__tf__signature_def__inputs_entry__init(en);
        en->key = g->values[v].name;
        if (!(en->value = tensor_info(e, e->vt[v], e->vd[v], &g->values[v].type))) return NULL;
        ie[sd->n_inputs++] = en;
    }
    for (size_t i = 0; i < g->n_outputs; i++) {
        int v = g->outputs[i];
        Stele__Tf__SignatureDef__OutputsEntry *en = ALLOC(e, Stele__Tf__SignatureDef__OutputsEntry);
        if (!en) return NULL;
        stele__tf__signature_def__outputs_entry__init(en);
        en->key = g->values[v].name;
        if (!(en->value = tensor_info(e, e->vt[v], e->vd[v], &g->values[v].type))) return NULL;
        oe[sd->n_outputs++] = en;
    }
    sd->inputs = ie;
    sd->outputs = oe;
    return sd;
}

/* saved_model.pb (one MetaGraphDef tagged "serve") and variables/ in dir. */
static st_status write_dir(xp *e, const char *dir, const char *fconst) {
    Stele__Tf__SignatureDef *sd = signature(e);
    if (!sd) return xp_nomem(e);
    Stele__Tf__VersionDef ver = STELE__TF__VERSION_DEF__INIT;
    ver.producer = 27; /* the GraphDef version of TF 1.13-1.15 graphs such as the fixtures */
    Stele__Tf__GraphDef gd = STELE__TF__GRAPH_DEF__INIT;
    gd.node = e->nodes;
    gd.n_node = e->n;
    gd.versions = &ver;
    Stele__Tf__MetaGraphDef__SignatureDefEntry
        se = STELE__TF__META_GRAPH_DEF__SIGNATURE_DEF_ENTRY__INIT,
        *sep = &se;
    se.key = "serving_default";
    se.value = sd;
    Stele__Tf__SaverDef sv = STELE__TF__SAVER_DEF__INIT;
    sv.filename_tensor_name = (char *)fconst;
    sv.save_tensor_name = "save/control_dependency:0";
    sv.restore_op_name = "save/restore_all";
    sv.max_to_keep = 5;
    sv.keep_checkpoint_every_n_hours = 10000.0f;
    sv.version = 2; /* SaverDef.V2 */
    Stele__Tf__MetaInfoDef mi = STELE__TF__META_INFO_DEF__INIT;
    char *tags[1] = {"serve"};
    mi.tags = tags;
    mi.n_tags = 1;
    mi.tensorflow_version = "1.15.0";
    mi.tensorflow_git_version = "stele " STELE_VERSION;
    Stele__Tf__MetaGraphDef mg = STELE__TF__META_GRAPH_DEF__INIT, *mgp = &mg;
    mg.meta_info_def = &mi;
    mg.graph_def = &gd;
    mg.saver_def = &sv;
    mg.signature_def = &sep;
    mg.n_signature_def = 1;
    Stele__Tf__SavedModel sm = STELE__TF__SAVED_MODEL__INIT;
    sm.saved_model_schema_version = 1;
    sm.meta_graphs = &mgp;
    sm.n_meta_graphs = 1;

    char path[4096];
    if (mkdir(dir, 0777) && errno != EEXIST)
        return xp_fail(e, ST_ERR_IO, "%s: cannot create the directory", dir);
    snprintf(path, sizeof path, "%s/variables", dir);
    if (mkdir(path, 0777) && errno != EEXIST)
        return xp_fail(e, ST_ERR_IO, "%s: cannot create the directory", path);
    st_error err;
    snprintf(path, sizeof path, "%s/variables/variables", dir);
    st_status s = st_tf_bundle_write(path, e->vars, e->nvars, &err);
    snprintf(path, sizeof path, "%s/saved_model.pb", dir);
    if (!s) s = write_pb(path, &sm.base, &err);
    return s ? xp_fail(e, s, "%s", err.msg) : e->st;
}

/* Whether some value of the main graph has no type yet (the model was built without
 * st_model_load, which runs inference). */
static bool untyped(const st_graph *g) {
    for (size_t v = 0; v < g->n_values; v++)
        if (g->values[v].type.kind == ST_VAL_NONE && !g->values[v].has_const) return true;
    return false;
}

st_status st_tf_export(const st_model *m, const char *dir, st_error *err) {
    if (untyped(m->graph)) {
        /* ranks (Softmax's last axis, depthwise filters) come from inferred types; inference
         * only fills value types in place, as st_model_load does, and leaves the model's
         * meaning unchanged */
        st_status s = st_infer_model((st_model *)m, NULL, 0, NULL, err);
        if (s) return s;
    }
    xp e;
    memset(&e, 0, sizeof e);
    e.g = m->graph;
    e.err = err;
    st_strmap_init_borrow(&e.missmap);
    size_t nvals = m->graph->n_values + 1;
    const char *fconst = NULL;
    if (!(e.a = st_arena_new(1 << 16)) || !(e.vt = st_calloc(nvals, sizeof *e.vt)) ||
        !(e.vd = st_calloc(nvals, sizeof *e.vd))) {
        xp_nomem(&e);
        goto done;
    }
    if (!export_inputs(&e) && !export_constants(&e) && !export_nodes(&e) &&
        !export_saver(&e, &fconst))
        write_dir(&e, dir, fconst);
    if (e.st && e.st != ST_ERR_NOMEM && err) st_error_prefix(err, "%s: ", dir);
done:
    st_free(e.nodes);
    st_free(e.vt);
    st_free(e.vd);
    st_free(e.vars);
    st_free(e.var_nodes);
    st_free(e.miss);
    st_strmap_free(&e.missmap);
    st_strmap_free(&e.names);
    st_arena_free(e.a);
    return e.st;
}
