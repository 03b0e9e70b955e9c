/* converters/savedmodel/tf_convert.c: IR -> SavedModel directory in the TF1 graph form that
 * TF 2.x `tf.saved_model.load` accepts: Placeholders for the inputs, VariableV2 + Identity
 * ("<var>/read") for float weights restored by a save/RestoreV2 + Assign saver, Const for
 * the rest, NHWC Conv2D/pools between Transposes, a `serving_default` predict signature and
 * the weights in a tensor bundle. Ops without a TF form are refused in one message. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "tf_convert.h"
#include "tf_internal.h"

typedef Stele__Tf__NodeDef nodedef;

typedef struct xp {
    st_arena *a;
    const st_graph *g;
    nodedef **nodes;
    size_t n, cap;
    char **vt;           /* IR value -> TF tensor name */
    st_dtype *vd;        /* IR value -> element type */
    st_strmap names;     /* TF node names taken */
    int uniq;
    st_tf_bundle_item *vars;
    size_t nvars, capvars;
    char **var_nodes;    /* VariableV2 node names, parallel to vars */
    struct { const char *op; int count; } miss[64];
    int nmiss;
} xp;

#define ALLOC(e, T) ((T *)st_arena_alloc((e)->a, sizeof(T)))

static char *xstrdup(xp *e, const char *s) { return st_arena_strdup(e->a, s); }

/* A unique, valid TF node name derived from `want`. */
static char *uniq_name(xp *e, const char *want) {
    char buf[512];
    size_t j = 0;
    for (const char *p = want; *p && j < 400; p++) {
        char ch = *p;
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '.' ||
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
    while (!(added = st_strmap_add(&e->names, cand, 1))) snprintf(cand, sizeof cand, "%s_%d", buf, e->uniq++);
    if (added < 0) return NULL;
    return xstrdup(e, cand);
}

static nodedef *node(xp *e, const char *want, const char *op, int nin, const char *const *ins) {
    nodedef *nd = ALLOC(e, nodedef);
    if (!nd || !ST_GROW(e->nodes, e->cap, e->n + 1)) return NULL;
    stele__tf__node_def__init(nd);
    if (!(nd->name = uniq_name(e, want)) || !(nd->op = xstrdup(e, op)) || !(nd->device = xstrdup(e, ""))) return NULL;
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

static const char *kints(xp *e, const char *want, st_dtype dt, const int64_t *v, size_t n, bool scalar) {
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

static void missing(xp *e, const char *op) {
    for (int i = 0; i < e->nmiss; i++)
        if (!strcmp(e->miss[i].op, op)) {
            e->miss[i].count++;
            return;
        }
    if (e->nmiss < 64) {
        e->miss[e->nmiss].op = op;
        e->miss[e->nmiss++].count = 1;
    }
}

/* ---- op export -------------------------------------------------------------------------- */
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

/* Dims of a rank-4 weight: a constant, or a Transpose/Reshape of one (as imported). */
static bool wdims(xp *e, int v, int64_t d[4], int depth) {
    const st_tensor *t = cval(e, v);
    if (t) {
        if (t->ndim != 4) return false;
        memcpy(d, t->dims, sizeof(int64_t) * 4);
        return true;
    }
    int p = v >= 0 ? e->g->values[v].producer : -1;
    if (p < 0 || depth > 4) return false;
    const st_node *x = &e->g->nodes[p];
    int64_t in[4];
    size_t n;
    if (!strcmp(x->op_type, "Transpose") && wdims(e, x->inputs[0], in, depth + 1)) {
        const int64_t *perm;
        if (st_attr_ints(x, "perm", &perm) != 4) return false;
        for (int i = 0; i < 4; i++) {
            if (perm[i] < 0 || perm[i] > 3) return false;
            d[i] = in[perm[i]];
        }
        return true;
    }
    if (!strcmp(x->op_type, "Reshape") && x->n_in == 2 && cints(e, x->inputs[1], d, 4, &n) && n == 4) {
        for (int i = 0; i < 4; i++)
            if (d[i] <= 0) return false;
        return true;
    }
    return false;
}

/* name of a TF op with input/output type T; returns the node */
static nodedef *tnode(xp *e, const char *want, const char *op, int nin, const char *const *ins, st_dtype t) {
    nodedef *nd = node(e, want, op, nin, ins);
    if (nd && !a_type(e, nd, "T", t)) return NULL;
    return nd;
}

static const char *tf_transpose(xp *e, const char *base, const char *x, st_dtype t, const int64_t *perm, int r) {
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

/* padding of an NCHW IR node as TF's padding attribute */
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

/* The rank of value v when the model records it or simple rules give it; -1 otherwise. */
static int rank_of(const xp *e, int v, int depth) {
    if (v < 0 || depth > 64) return -1;
    const st_ir_value *iv = &e->g->values[v];
    if (iv->has_const) return iv->const_val.ndim;
    if (iv->type.rank >= 0) return iv->type.rank;
    if (iv->producer < 0) return -1;
    const st_node *x = &e->g->nodes[iv->producer];
    if (!strcmp(x->op_type, "Gemm") || !strcmp(x->op_type, "Flatten")) return 2;
    static const char *const same[] = {"Relu", "Sigmoid", "Tanh", "Identity", "Cast", "Softmax", "LogSoftmax", "Neg",
                                       "Exp", "Log", "Sqrt", "Abs", "Clip", "LeakyRelu", "Elu", "Dropout"};
    for (size_t i = 0; i < ST_ARRAY_LEN(same); i++)
        if (!strcmp(x->op_type, same[i]) && x->n_in >= 1) return rank_of(e, x->inputs[0], depth + 1);
    if (!strcmp(x->op_type, "Add") || !strcmp(x->op_type, "Mul") || !strcmp(x->op_type, "Sub") ||
        !strcmp(x->op_type, "Div")) {
        int a = rank_of(e, x->inputs[0], depth + 1), b = rank_of(e, x->inputs[1], depth + 1);
        return a < 0 || b < 0 ? -1 : ST_MAX(a, b);
    }
    return -1;
}

/* Is `axis` the last axis of value v? */
static bool last_axis(const xp *e, int v, int64_t axis) {
    if (axis == -1) return true;
    int r = rank_of(e, v, 0);
    return r > 0 && axis == r - 1;
}

/* Convert one IR node; false when it has no TF form here (name recorded) or on OOM. */
static bool export_node(xp *e, const st_node *x) {
    const char *op = x->op_type;
    int nin = x->n_in;
    const char *in[8] = {0};
    st_dtype it = ST_DTYPE_UNDEFINED;
    for (int i = 0; i < nin && i < 8; i++)
        if (x->inputs[i] >= 0) {
            in[i] = e->vt[x->inputs[i]];
            if (i == 0) it = e->vd[x->inputs[i]];
        }
    if (strcmp(x->domain, "") || nin > 8 || x->n_out < 1 || x->outputs[0] < 0) goto no;
    int y = x->outputs[0];
    const char *base = e->g->values[y].name;
    st_dtype ot = it;
    nodedef *nd = NULL;
    /* one-to-one elementwise ops: IR op, TF op */
    static const char *const same[][2] = {
        {"Add", "AddV2"}, {"Sub", "Sub"}, {"Mul", "Mul"}, {"Pow", "Pow"}, {"Max", "Maximum"}, {"Min", "Minimum"},
        {"Relu", "Relu"}, {"Sigmoid", "Sigmoid"}, {"Tanh", "Tanh"}, {"Sqrt", "Sqrt"}, {"Exp", "Exp"}, {"Log", "Log"},
        {"Neg", "Neg"}, {"Abs", "Abs"}, {"Reciprocal", "Reciprocal"}, {"Identity", "Identity"}, {"Erf", "Erf"},
        {"Floor", "Floor"}, {"Ceil", "Ceil"}, {"Softplus", "Softplus"}, {"Elu", "Elu"}, {"Selu", "Selu"},
        {"Sin", "Sin"}, {"Cos", "Cos"}, {"Sign", "Sign"}, {"Round", "Round"}, {"Softsign", "Softsign"},
    };
    static const char *const cmp[][2] = {{"Equal", "Equal"}, {"Less", "Less"}, {"Greater", "Greater"},
                                         {"LessOrEqual", "LessEqual"}, {"GreaterOrEqual", "GreaterEqual"}};
    for (size_t i = 0; i < ST_ARRAY_LEN(same); i++)
        if (!strcmp(op, same[i][0]) && (nin == 1 || nin == 2)) {
            if ((x->n_attrs && strcmp(op, "Elu")) || (!strcmp(op, "Elu") && st_attr_float(x, "alpha", 1) != 1)) goto no;
            nd = tnode(e, base, same[i][1], nin, in, it);
            goto done;
        }
    for (size_t i = 0; i < ST_ARRAY_LEN(cmp); i++)
        if (!strcmp(op, cmp[i][0]) && nin == 2) {
            nd = tnode(e, base, cmp[i][1], 2, in, it);
            ot = ST_DTYPE_BOOL;
            goto done;
        }
    if (!strcmp(op, "Div") && nin == 2) {
        nd = tnode(e, base, st_dtype_is_float(it) ? "RealDiv" : "TruncateDiv", 2, in, it);
    } else if (!strcmp(op, "Not") || !strcmp(op, "And") || !strcmp(op, "Or")) {
        nd = node(e, base, !strcmp(op, "Not") ? "LogicalNot" : !strcmp(op, "And") ? "LogicalAnd" : "LogicalOr", nin, in);
    } else if (!strcmp(op, "Where") && nin == 3) {
        nd = tnode(e, base, "SelectV2", 3, in, e->vd[x->inputs[1]]);
        ot = e->vd[x->inputs[1]];
    } else if (!strcmp(op, "MatMul") && nin == 2) {
        nd = tnode(e, base, "BatchMatMulV2", 2, in, it);
    } else if (!strcmp(op, "Gemm") && nin >= 2) {
        if (st_attr_float(x, "alpha", 1) != 1 || st_attr_float(x, "beta", 1) != 1) goto no;
        nd = tnode(e, base, "MatMul", 2, in, it);
        if (!nd || !a_b(e, nd, "transpose_a", st_attr_int(x, "transA", 0)) ||
            !a_b(e, nd, "transpose_b", st_attr_int(x, "transB", 0)))
            return false;
        if (nin > 2 && in[2]) {
            const char *ins[2] = {out0(e, nd, 0), in[2]};
            char w[600];
            snprintf(w, sizeof w, "%s/bias", base);
            nd = tnode(e, w, "AddV2", 2, ins, it);
        }
    } else if ((!strcmp(op, "Softmax") || !strcmp(op, "LogSoftmax")) &&
               last_axis(e, x->inputs[0], st_attr_int(x, "axis", x->since && x->since < 13 ? 1 : -1))) {
        nd = tnode(e, base, op, 1, in, it);
    } else if (!strcmp(op, "Transpose")) {
        const int64_t *p;
        size_t np = st_attr_ints(x, "perm", &p);
        if (!np) goto no;
        const char *t = tf_transpose(e, base, in[0], it, p, (int)np);
        if (!t) return false;
        e->vt[y] = (char *)t;
        e->vd[y] = it;
        return true;
    } else if (!strcmp(op, "Reshape") && nin == 2) {
        int64_t s[ST_MAX_RANK];
        size_t ns;
        if (cints(e, x->inputs[1], s, ST_MAX_RANK, &ns))
            for (size_t i = 0; i < ns; i++)
                if (s[i] == 0) goto no; /* ONNX's "copy this dim" has no TF spelling */
        nd = tnode(e, base, "Reshape", 2, in, it);
        if (nd && !a_type(e, nd, "Tshape", e->vd[x->inputs[1]])) return false;
    } else if (!strcmp(op, "Flatten")) {
        int64_t ax = st_attr_int(x, "axis", 1);
        if (ax != 1) goto no;
        /* [d0, -1] from the runtime shape */
        char w[600];
        snprintf(w, sizeof w, "%s/shape", base);
        nodedef *sh = tnode(e, w, "Shape", 1, in, it);
        if (!sh || !a_type(e, sh, "out_type", ST_DTYPE_I64)) return false;
        const int64_t b0 = 0, b1 = 1, m1 = -1;
        snprintf(w, sizeof w, "%s/b", base);
        const char *ss[4] = {out0(e, sh, 0), kints(e, w, ST_DTYPE_I64, &b0, 1, false), kints(e, w, ST_DTYPE_I64, &b1, 1, false),
                             kints(e, w, ST_DTYPE_I64, &b1, 1, false)};
        snprintf(w, sizeof w, "%s/d0", base);
        nodedef *d0 = tnode(e, w, "StridedSlice", 4, ss, ST_DTYPE_I64);
        if (!d0 || !a_type(e, d0, "Index", ST_DTYPE_I64)) return false;
        snprintf(w, sizeof w, "%s/m1", base);
        const char *cc[3] = {out0(e, d0, 0), kints(e, w, ST_DTYPE_I64, &m1, 1, false), kints(e, w, ST_DTYPE_I32, &b0, 1, true)};
        snprintf(w, sizeof w, "%s/newshape", base);
        nodedef *cat = tnode(e, w, "ConcatV2", 3, cc, ST_DTYPE_I64);
        if (!cat || !a_i(e, cat, "N", 2) || !a_type(e, cat, "Tidx", ST_DTYPE_I32)) return false;
        const char *rr[2] = {in[0], out0(e, cat, 0)};
        nd = tnode(e, base, "Reshape", 2, rr, it);
        if (nd && !a_type(e, nd, "Tshape", ST_DTYPE_I64)) return false;
    } else if (!strcmp(op, "Cast")) {
        ot = (st_dtype)st_attr_int(x, "to", 1);
        nd = node(e, base, "Cast", 1, in);
        if (nd && (!a_type(e, nd, "SrcT", it) || !a_type(e, nd, "DstT", ot) || !a_b(e, nd, "Truncate", false))) return false;
    } else if (!strcmp(op, "Shape") && !x->n_attrs) {
        nd = tnode(e, base, "Shape", 1, in, it);
        ot = ST_DTYPE_I64;
        if (nd && !a_type(e, nd, "out_type", ST_DTYPE_I64)) return false;
    } else if (!strcmp(op, "Concat")) {
        char w[600];
        snprintf(w, sizeof w, "%s/axis", base);
        int64_t ax = st_attr_int(x, "axis", 0);
        const char *ins[9];
        for (int i = 0; i < nin; i++) ins[i] = in[i];
        ins[nin] = kints(e, w, ST_DTYPE_I32, &ax, 1, true);
        nd = tnode(e, base, "ConcatV2", nin + 1, ins, it);
        if (nd && (!a_i(e, nd, "N", nin) || !a_type(e, nd, "Tidx", ST_DTYPE_I32))) return false;
    } else if ((!strcmp(op, "Unsqueeze") || !strcmp(op, "Squeeze")) && nin == 2) {
        int64_t ax[ST_MAX_RANK];
        size_t na;
        if (!cints(e, x->inputs[1], ax, ST_MAX_RANK, &na)) goto no;
        if (!strcmp(op, "Squeeze")) {
            nd = tnode(e, base, "Squeeze", 1, in, it);
            if (nd && !a_ints(e, nd, "squeeze_dims", ax, na)) return false;
        } else {
            if (na != 1) goto no;
            char w[600];
            snprintf(w, sizeof w, "%s/axis", base);
            const char *ins[2] = {in[0], kints(e, w, ST_DTYPE_I32, ax, 1, true)};
            nd = tnode(e, base, "ExpandDims", 2, ins, it);
            if (nd && !a_type(e, nd, "Tdim", ST_DTYPE_I32)) return false;
        }
    } else if (!strcmp(op, "Gather") && nin == 2) {
        char w[600];
        snprintf(w, sizeof w, "%s/axis", base);
        int64_t ax = st_attr_int(x, "axis", 0);
        const char *ins[3] = {in[0], in[1], kints(e, w, ST_DTYPE_I32, &ax, 1, true)};
        nd = node(e, base, "GatherV2", 3, ins);
        if (nd && (!a_type(e, nd, "Tparams", it) || !a_type(e, nd, "Tindices", e->vd[x->inputs[1]]) ||
                   !a_type(e, nd, "Taxis", ST_DTYPE_I32) || !a_i(e, nd, "batch_dims", 0)))
            return false;
    } else if (!strncmp(op, "Reduce", 6) && strcmp(op, "ReduceSumSquare") && strcmp(op, "ReduceL2")) {
        int64_t ax[ST_MAX_RANK];
        size_t na = 0;
        const int64_t *aa;
        if (nin >= 2 && in[1]) {
            if (!cints(e, x->inputs[1], ax, ST_MAX_RANK, &na)) goto no;
        } else {
            na = st_attr_ints(x, "axes", &aa);
            memcpy(ax, aa, sizeof(int64_t) * ST_MIN(na, (size_t)ST_MAX_RANK));
        }
        if (!na) goto no; /* all axes: rank unknown here */
        const char *tfop = !strcmp(op, "ReduceMean") ? "Mean" : !strcmp(op, "ReduceSum") ? "Sum"
                         : !strcmp(op, "ReduceMax") ? "Max" : !strcmp(op, "ReduceMin") ? "Min"
                         : !strcmp(op, "ReduceProd") ? "Prod" : NULL;
        if (!tfop) goto no;
        char w[600];
        snprintf(w, sizeof w, "%s/axes", base);
        const char *ins[2] = {in[0], kints(e, w, ST_DTYPE_I32, ax, na, false)};
        nd = tnode(e, base, tfop, 2, ins, it);
        if (nd && (!a_b(e, nd, "keep_dims", st_attr_int(x, "keepdims", 1)) || !a_type(e, nd, "Tidx", ST_DTYPE_I32)))
            return false;
    } else if (!strcmp(op, "GlobalAveragePool") || !strcmp(op, "GlobalMaxPool")) {
        char w[600];
        snprintf(w, sizeof w, "%s/axes", base);
        const int64_t ax[2] = {2, 3};
        const char *ins[2] = {in[0], kints(e, w, ST_DTYPE_I32, ax, 2, false)};
        nd = tnode(e, base, op[6] == 'A' ? "Mean" : "Max", 2, ins, it);
        if (nd && (!a_b(e, nd, "keep_dims", true) || !a_type(e, nd, "Tidx", ST_DTYPE_I32))) return false;
    } else if (!strcmp(op, "Clip") && nin == 3 && in[1] && in[2]) {
        char w[600];
        snprintf(w, sizeof w, "%s/min", base);
        const char *i1[2] = {in[0], in[2]};
        nodedef *mn = tnode(e, w, "Minimum", 2, i1, it);
        if (!mn) return false;
        const char *i2[2] = {out0(e, mn, 0), in[1]};
        nd = tnode(e, base, "Maximum", 2, i2, it);
    } else if (!strcmp(op, "Slice") && nin >= 3) {
        /* axes 0..k-1 and positive steps: StridedSlice with the same (possibly computed)
         * bounds; TF clamps out-of-range begin/end as ONNX does */
        int64_t ax[ST_MAX_RANK], sp[ST_MAX_RANK], st[ST_MAX_RANK];
        size_t na = 0, ns = 0, nst = 0;
        if (nin > 3 && in[3]) {
            if (!cints(e, x->inputs[3], ax, ST_MAX_RANK, &na)) goto no;
            for (size_t i = 0; i < na; i++)
                if (ax[i] != (int64_t)i) goto no;
        }
        if (nin > 4 && in[4]) {
            if (!cints(e, x->inputs[4], sp, ST_MAX_RANK, &ns)) goto no;
            for (size_t i = 0; i < ns; i++)
                if (sp[i] <= 0) goto no;
        }
        const char *strides = in[4];
        if (!strides) { /* ones, as many as the bounds */
            if (cints(e, x->inputs[1], st, ST_MAX_RANK, &nst)) {
                for (size_t i = 0; i < nst; i++) st[i] = 1;
                char w[600];
                snprintf(w, sizeof w, "%s/strides", base);
                strides = kints(e, w, e->vd[x->inputs[1]], st, nst, false);
            } else {
                char w[600];
                snprintf(w, sizeof w, "%s/strides", base);
                const char *oi[1] = {in[1]};
                nodedef *ol = tnode(e, w, "OnesLike", 1, oi, e->vd[x->inputs[1]]);
                strides = ol ? out0(e, ol, 0) : NULL;
            }
            if (!strides) return false;
        }
        st_dtype bt = e->vd[x->inputs[1]], et = e->vd[x->inputs[2]];
        if (bt != et) goto no;
        const char *si[4] = {in[0], in[1], in[2], strides};
        nd = tnode(e, base, "StridedSlice", 4, si, it);
        if (nd && (!a_type(e, nd, "Index", bt) || !a_i(e, nd, "begin_mask", 0) || !a_i(e, nd, "end_mask", 0) ||
                   !a_i(e, nd, "ellipsis_mask", 0) || !a_i(e, nd, "new_axis_mask", 0) || !a_i(e, nd, "shrink_axis_mask", 0)))
            return false;
    } else if (!strcmp(op, "Resize") && nin == 4 && in[3] && !in[1] && !in[2]) {
        const char *mode = st_attr_string(x, "mode", "nearest"), *ctm = st_attr_string(x, "coordinate_transformation_mode", "half_pixel");
        bool lin = !strcmp(mode, "linear");
        bool align = !strcmp(ctm, "align_corners"), half = !strcmp(ctm, "half_pixel") || !strcmp(ctm, "tf_half_pixel_for_nn");
        if ((!lin && strcmp(mode, "nearest")) || (!align && !half && strcmp(ctm, "asymmetric"))) goto no;
        if (!lin && strcmp(st_attr_string(x, "nearest_mode", "round_prefer_floor"), align || half ? "round_prefer_ceil" : "floor"))
            goto no;
        char w[600];
        snprintf(w, sizeof w, "%s/nhwc", base);
        const char *xh = tf_transpose(e, w, in[0], it, TO_NHWC, 4);
        const int64_t b2 = 2, e4 = 4, s1 = 1;
        st_dtype zt = e->vd[x->inputs[3]];
        snprintf(w, sizeof w, "%s/hw", base);
        const char *ss[4] = {in[3], kints(e, w, zt, &b2, 1, false), kints(e, w, zt, &e4, 1, false), kints(e, w, zt, &s1, 1, false)};
        nodedef *hw = xh ? tnode(e, w, "StridedSlice", 4, ss, zt) : NULL;
        if (!hw || !a_type(e, hw, "Index", zt)) return false;
        snprintf(w, sizeof w, "%s/size", base);
        const char *hwo = out0(e, hw, 0);
        nodedef *cs = node(e, w, "Cast", 1, &hwo);
        if (!cs || !a_type(e, cs, "SrcT", zt) || !a_type(e, cs, "DstT", ST_DTYPE_I32) || !a_b(e, cs, "Truncate", false))
            return false;
        const char *ri[2] = {xh, out0(e, cs, 0)};
        snprintf(w, sizeof w, "%s/resize", base);
        nodedef *rz = tnode(e, w, lin ? "ResizeBilinear" : "ResizeNearestNeighbor", 2, ri, it);
        if (!rz || !a_b(e, rz, "align_corners", align) || !a_b(e, rz, "half_pixel_centers", half)) return false;
        const char *yh = tf_transpose(e, base, out0(e, rz, 0), lin ? ST_DTYPE_F32 : it, TO_NCHW, 4);
        if (!yh) return false;
        e->vt[y] = (char *)yh;
        e->vd[y] = lin ? ST_DTYPE_F32 : it;
        return true;
    } else if (!strcmp(op, "Expand") && nin == 2) {
        nd = tnode(e, base, "BroadcastTo", 2, in, it);
        if (nd && !a_type(e, nd, "Tidx", e->vd[x->inputs[1]])) return false;
    } else if (!strcmp(op, "LeakyRelu")) {
        nd = tnode(e, base, "LeakyRelu", 1, in, it);
        if (nd && !a_f(e, nd, "alpha", (float)st_attr_float(x, "alpha", 0.01))) return false;
    } else if ((!strcmp(op, "Conv") || !strcmp(op, "MaxPool") || !strcmp(op, "AveragePool") ||
                !strcmp(op, "BatchNormalization")) && x->n_out == 1) {
        /* NCHW IR op -> Transpose, NHWC TF op, Transpose back */
        char w[600];
        snprintf(w, sizeof w, "%s/nhwc", base);
        const char *xh = tf_transpose(e, w, in[0], it, TO_NHWC, 4);
        if (!xh) return false;
        nodedef *core = NULL;
        if (!strcmp(op, "Conv")) {
            int64_t wd[4], group = st_attr_int(x, "group", 1);
            if (group != 1 && !wdims(e, x->inputs[1], wd, 0)) goto no;
            static const int64_t oihw_to_hwio[4] = {2, 3, 1, 0};
            snprintf(w, sizeof w, "%s/filter", base);
            const char *f = tf_transpose(e, w, in[1], it, oihw_to_hwio, 4);
            if (!f) return false;
            const char *tfop = "Conv2D";
            if (group != 1) { /* depthwise: [kh,kw,1,C*M] -> [kh,kw,C,M] */
                if (wd[1] != 1) goto no;
                int64_t shp[4] = {wd[2], wd[3], group, wd[0] / group};
                snprintf(w, sizeof w, "%s/dwshape", base);
                const char *ri[2] = {f, kints(e, w, ST_DTYPE_I32, shp, 4, false)};
                snprintf(w, sizeof w, "%s/dwfilter", base);
                nodedef *r = tnode(e, w, "Reshape", 2, ri, it);
                if (!r || !a_type(e, r, "Tshape", ST_DTYPE_I32)) return false;
                f = out0(e, r, 0);
                tfop = "DepthwiseConv2dNative";
            }
            const char *ci[2] = {xh, f};
            snprintf(w, sizeof w, "%s/conv", base);
            core = tnode(e, w, tfop, 2, ci, it);
            if (!core || !hw4(e, core, "strides", x, "strides") || !hw4(e, core, "dilations", x, "dilations") ||
                !a_s(e, core, "data_format", "NHWC"))
                return false;
            if (!set_pad(e, core, x, group == 1)) goto no;
            if (nin > 2 && in[2]) {
                const char *bi[2] = {out0(e, core, 0), in[2]};
                snprintf(w, sizeof w, "%s/bias", base);
                core = tnode(e, w, "BiasAdd", 2, bi, it);
                if (!core || !a_s(e, core, "data_format", "NHWC")) return false;
            }
        } else if (!strcmp(op, "BatchNormalization")) {
            const char *bi[5] = {xh, in[1], in[2], in[3], in[4]};
            snprintf(w, sizeof w, "%s/bn", base);
            core = tnode(e, w, "FusedBatchNormV3", 5, bi, it);
            if (!core || !a_type(e, core, "U", e->vd[x->inputs[1]]) ||
                !a_f(e, core, "epsilon", (float)st_attr_float(x, "epsilon", 1e-5)) || !a_b(e, core, "is_training", false) ||
                !a_s(e, core, "data_format", "NHWC"))
                return false;
        } else {
            if (st_attr_int(x, "ceil_mode", 0) || (!strcmp(op, "AveragePool") && st_attr_int(x, "count_include_pad", 0)))
                goto no;
            const int64_t *d;
            if (st_attr_ints(x, "dilations", &d) && (d[0] != 1 || d[1] != 1)) goto no;
            snprintf(w, sizeof w, "%s/pool", base);
            core = tnode(e, w, op[0] == 'M' ? "MaxPool" : "AvgPool", 1, &xh, it);
            if (!core || !hw4(e, core, "ksize", x, "kernel_shape") || !hw4(e, core, "strides", x, "strides") ||
                !a_s(e, core, "data_format", "NHWC"))
                return false;
            if (!set_pad(e, core, x, false)) goto no;
        }
        const char *yh = tf_transpose(e, base, out0(e, core, 0), it, TO_NCHW, 4);
        if (!yh) return false;
        e->vt[y] = (char *)yh;
        e->vd[y] = it;
        return true;
    } else {
        goto no;
    }
done:
    if (!nd) return false;
    e->vt[y] = (char *)out0(e, nd, 0);
    e->vd[y] = ot;
    return true;
no:
    missing(e, op);
    return true;
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
    for (int d = 0; d < r; d++) dims[d] = ty->dims[d].value >= 0 && !ty->dims[d].symbol ? ty->dims[d].value : -1;
    ti->tensor_shape = shape_proto(e, r, dims);
    return ti->tensor_shape ? ti : NULL;
}

static st_status build_export(xp *e, const st_model *m, const char *dir, st_error *err) {
    const st_graph *g = m->graph;
    st_status s;
    int *order = st_calloc(g->n_nodes + 1, sizeof *order);
    if (!order) return st_error_nomem(err);
    if ((s = st_graph_toposort(g, order, err))) {
        st_free(order);
        return s;
    }
    /* inputs */
    for (size_t i = 0; i < g->n_inputs; i++) {
        int v = g->inputs[i];
        const st_ir_value *iv = &g->values[v];
        if (iv->role == ST_VALUE_INITIALIZER) continue;
        if (iv->type.kind != ST_VAL_TENSOR || st_tf_dtype_to_tf(iv->type.dtype) == 0) {
            st_free(order);
            return st_errorf(err, ST_ERR_UNSUPPORTED, "input \"%s\" is not a tensor TensorFlow can hold", iv->name);
        }
        nodedef *nd = node(e, iv->name, "Placeholder", 0, NULL);
        int64_t dims[ST_MAX_RANK];
        for (int d = 0; d < iv->type.rank; d++)
            dims[d] = iv->type.dims[d].value >= 0 && !iv->type.dims[d].symbol ? iv->type.dims[d].value : -1;
        if (!nd || !a_type(e, nd, "dtype", iv->type.dtype) || !a_shape(e, nd, "shape", iv->type.rank, dims)) goto nomem;
        e->vt[v] = (char *)out0(e, nd, 0);
        e->vd[v] = iv->type.dtype;
    }
    /* constants: float tensors become restored variables, the rest Const nodes */
    for (size_t v = 0; v < g->n_values; v++) {
        const st_ir_value *iv = &g->values[v];
        if (!iv->has_const || e->vt[v]) continue;
        const st_tensor *t = &iv->const_val;
        if (st_tf_dtype_to_tf(t->dtype) == 0) {
            st_free(order);
            return st_errorf(err, ST_ERR_UNSUPPORTED, "constant \"%s\" of type %s", iv->name, st_dtype_name(t->dtype));
        }
        e->vd[v] = t->dtype;
        if (!st_dtype_is_float(t->dtype) || t->dtype == ST_DTYPE_STRING) {
            if (!(e->vt[v] = (char *)konst(e, iv->name, t))) goto nomem;
            continue;
        }
        nodedef *var = node(e, iv->name, "VariableV2", 0, NULL);
        if (!var || !a_type(e, var, "dtype", t->dtype) || !a_shape(e, var, "shape", t->ndim, t->dims) ||
            !a_s(e, var, "container", "") || !a_s(e, var, "shared_name", ""))
            goto nomem;
        char w[600];
        snprintf(w, sizeof w, "%s/read", var->name);
        const char *vin = var->name;
        nodedef *rd = tnode(e, w, "Identity", 1, &vin, t->dtype);
        if (!rd || !ST_GROW(e->vars, e->capvars, e->nvars + 1)) goto nomem;
        char **vn = st_realloc(e->var_nodes, sizeof *vn * e->capvars);
        if (!vn) goto nomem;
        e->var_nodes = vn;
        e->var_nodes[e->nvars] = var->name;
        e->vars[e->nvars++] = (st_tf_bundle_item){var->name, st_tf_dtype_to_tf(t->dtype), t->ndim, t->dims, t->data,
                                                  st_tensor_nbytes(t)};
        e->vt[v] = (char *)out0(e, rd, 0);
    }
    size_t skipped = 0;
    for (size_t k = 0; k < g->n_nodes; k++) {
        const st_node *x = &g->nodes[order[k]];
        for (int i = 0; i < x->n_in; i++)
            if (x->inputs[i] >= 0 && !e->vt[x->inputs[i]]) {
                skipped++; /* fed by a node that could not be exported */
                goto next;
            }
        if (!export_node(e, x)) goto nomem;
    next:;
    }
    st_free(order);
    order = NULL;
    if (e->nmiss) {
        char list[700];
        size_t off = 0;
        for (int i = 0; i < e->nmiss && off < sizeof list; i++)
            off += (size_t)snprintf(list + off, sizeof list - off, "%s%s (%d)", i ? ", " : "", e->miss[i].op,
                                    e->miss[i].count);
        char tail[96] = "";
        if (skipped) snprintf(tail, sizeof tail, "; %zu nodes after them were not reached", skipped);
        return st_errorf(err, ST_ERR_UNSUPPORTED, "no TensorFlow form for these ops (or the form they take here): %s%s",
                         list, tail);
    }
    /* saver: RestoreV2 + Assign per variable, and SaveV2 */
    size_t nv = e->nvars;
    st_tensor names;
    int64_t nd1 = (int64_t)nv;
    if (st_tensor_alloc(&names, ST_DTYPE_STRING, 1, &nd1, err)) return err->status;
    st_tensor slices;
    if (st_tensor_alloc(&slices, ST_DTYPE_STRING, 1, &nd1, err)) {
        st_tensor_clear(&names);
        return err->status;
    }
    for (size_t i = 0; i < nv; i++)
        if (st_tensor_set_string(&names, i, e->vars[i].key, strlen(e->vars[i].key), err) ||
            st_tensor_set_string(&slices, i, "", 0, err)) {
            st_tensor_clear(&names);
            st_tensor_clear(&slices);
            return err->status;
        }
    st_tensor fname;
    if (st_tensor_alloc(&fname, ST_DTYPE_STRING, 0, NULL, err) || st_tensor_set_string(&fname, 0, "model", 5, err)) {
        st_tensor_clear(&names);
        st_tensor_clear(&slices);
        return err->status;
    }
    const char *fconst = konst(e, "save/filename", &fname), *tn = konst(e, "save/RestoreV2/tensor_names", &names),
               *sl = konst(e, "save/RestoreV2/shape_and_slices", &slices);
    st_tensor_clear(&names);
    st_tensor_clear(&slices);
    st_tensor_clear(&fname);
    if (!fconst || !tn || !sl) goto nomem;
    const char *ri[3] = {fconst, tn, sl};
    nodedef *restore = node(e, "save/RestoreV2", "RestoreV2", 3, ri);
    Stele__Tf__AttrValue__ListValue *dl = restore ? a_list(e, restore, "dtypes") : NULL;
    const char **si = st_arena_alloc(e->a, sizeof(char *) * (nv + 3));
    char **ctrl = st_arena_alloc(e->a, sizeof(char *) * (nv + 1));
    if (!dl || !si || !ctrl || !(dl->type = st_arena_alloc(e->a, sizeof *dl->type * (nv + 1)))) goto nomem;
    si[0] = fconst;
    si[1] = tn;
    si[2] = sl;
    for (size_t i = 0; i < nv; i++) {
        dl->type[i] = (Stele__Tf__DataType)e->vars[i].dtype;
        char src[600];
        snprintf(src, sizeof src, "save/RestoreV2:%zu", i);
        const char *ai[2] = {e->var_nodes[i], src};
        nodedef *as = node(e, i ? "save/Assign_1" : "save/Assign", "Assign", 2, ai);
        if (!as || !a_type(e, as, "T", st_tf_dtype(e->vars[i].dtype)) || !a_b(e, as, "validate_shape", true) ||
            !a_b(e, as, "use_locking", true))
            goto nomem;
        char c[600];
        snprintf(c, sizeof c, "^%s", as->name);
        if (!(ctrl[i] = xstrdup(e, c))) goto nomem;
        si[3 + i] = e->var_nodes[i];
    }
    dl->n_type = nv;
    nodedef *ra = node(e, "save/restore_all", "NoOp", (int)nv, (const char *const *)ctrl);
    nodedef *save = node(e, "save/SaveV2", "SaveV2", (int)nv + 3, si);
    Stele__Tf__AttrValue__ListValue *sdl = save ? a_list(e, save, "dtypes") : NULL;
    if (!ra || !sdl) goto nomem;
    sdl->type = dl->type;
    sdl->n_type = nv;
    const char *cd[2] = {fconst, "^save/SaveV2"};
    nodedef *cdn = node(e, "save/control_dependency", "Identity", 2, cd);
    if (!cdn || !a_type(e, cdn, "T", ST_DTYPE_STRING)) goto nomem;

    /* messages */
    Stele__Tf__VersionDef ver = STELE__TF__VERSION_DEF__INIT;
    ver.producer = 27; /* the GraphDef version of TF 1.13-1.15 graphs such as the fixtures */
    Stele__Tf__GraphDef gd = STELE__TF__GRAPH_DEF__INIT;
    gd.node = e->nodes;
    gd.n_node = e->n;
    gd.versions = &ver;
    Stele__Tf__SignatureDef sd = STELE__TF__SIGNATURE_DEF__INIT;
    sd.method_name = "tensorflow/serving/predict";
    Stele__Tf__SignatureDef__InputsEntry **ie = st_arena_alloc(e->a, sizeof *ie * (g->n_inputs + 1));
    Stele__Tf__SignatureDef__OutputsEntry **oe = st_arena_alloc(e->a, sizeof *oe * (g->n_outputs + 1));
    if (!ie || !oe) goto nomem;
    for (size_t i = 0; i < g->n_inputs; i++) {
        int v = g->inputs[i];
        if (g->values[v].role == ST_VALUE_INITIALIZER) continue;
        Stele__Tf__SignatureDef__InputsEntry *en = ALLOC(e, Stele__Tf__SignatureDef__InputsEntry);
        if (!en) goto nomem;
        stele__tf__signature_def__inputs_entry__init(en);
        en->key = g->values[v].name;
        if (!(en->value = tensor_info(e, e->vt[v], e->vd[v], &g->values[v].type))) goto nomem;
        ie[sd.n_inputs++] = en;
    }
    for (size_t i = 0; i < g->n_outputs; i++) {
        int v = g->outputs[i];
        Stele__Tf__SignatureDef__OutputsEntry *en = ALLOC(e, Stele__Tf__SignatureDef__OutputsEntry);
        if (!en) goto nomem;
        stele__tf__signature_def__outputs_entry__init(en);
        en->key = g->values[v].name;
        if (!(en->value = tensor_info(e, e->vt[v], e->vd[v], &g->values[v].type))) goto nomem;
        oe[sd.n_outputs++] = en;
    }
    sd.inputs = ie;
    sd.outputs = oe;
    Stele__Tf__MetaGraphDef__SignatureDefEntry se = STELE__TF__META_GRAPH_DEF__SIGNATURE_DEF_ENTRY__INIT, *sep = &se;
    se.key = "serving_default";
    se.value = &sd;
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
    if (mkdir(dir, 0777) && errno != EEXIST) return st_errorf(err, ST_ERR_IO, "%s: cannot create the directory", dir);
    snprintf(path, sizeof path, "%s/variables", dir);
    if (mkdir(path, 0777) && errno != EEXIST) return st_errorf(err, ST_ERR_IO, "%s: cannot create the directory", path);
    snprintf(path, sizeof path, "%s/variables/variables", dir);
    if ((s = st_tf_bundle_write(path, e->vars, e->nvars, err))) return s;
    snprintf(path, sizeof path, "%s/saved_model.pb", dir);
    return write_pb(path, &sm.base, err);
nomem:
    st_free(order);
    return st_error_nomem(err);
}

st_status st_tf_export(const st_model *m, const char *dir, st_error *err) {
    xp e;
    memset(&e, 0, sizeof e);
    e.g = m->graph;
    size_t nvals = m->graph->n_values + 1;
    st_status s;
    if (!(e.a = st_arena_new(1 << 16)) || !(e.vt = st_calloc(nvals, sizeof *e.vt)) ||
        !(e.vd = st_calloc(nvals, sizeof *e.vd))) {
        s = st_error_nomem(err);
        goto done;
    }
    s = build_export(&e, m, dir, err);
    if (s && s != ST_ERR_NOMEM) st_error_prefix(err, "%s: ", dir);
done:
    st_free(e.nodes);
    st_free(e.vt);
    st_free(e.vd);
    st_free(e.vars);
    st_free(e.var_nodes);
    st_strmap_free(&e.names);
    st_arena_free(e.a);
    return s;
}
