/* converters/savedmodel/tf_build.c: the services the SavedModel converter's files share:
 * the sticky error of a conversion, NodeDef attributes, TF <-> IR dtypes, TensorProto
 * decoding and IR construction (values, constants, nodes, attributes). It calls nothing
 * in tf_import.c, tf_ops.c or tf_convert.c: they depend on it, not the other way round. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "tf_internal.h"

/* ---- sticky errors ---------------------------------------------------------------------- */
st_status st_tf_fail(tf_ctx *c, st_status s, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    st_status r = st_sticky_failv(&c->st, c->err, s, fmt, ap);
    va_end(ap);
    return r;
}

/* A sub-conversion (a subgraph's context) reported into the same st_error: take its
 * status, the message being already there. */
st_status st_tf_join(tf_ctx *c, const tf_ctx *sub) {
    if (!c->st) c->st = sub->st;
    return c->st;
}

st_status st_tf_nomem(tf_ctx *c) { return st_tf_fail(c, ST_ERR_NOMEM, "out of memory"); }

st_status st_tf_adopt(tf_ctx *c, st_status s, const st_error *e) {
    return s ? st_tf_fail(c, s, "%s", e->msg) : c->st;
}

/* ---- attributes and types -------------------------------------------------------------- */
const tf_attr *st_tf_attr(const tf_nodedef *n, const char *name) {
    for (size_t i = 0; i < n->n_attr; i++)
        if (!strcmp(n->attr[i]->key, name)) return n->attr[i]->value;
    return NULL;
}

int64_t st_tf_attr_i(const tf_nodedef *n, const char *name, int64_t def) {
    const tf_attr *a = st_tf_attr(n, name);
    return a && a->value_case == STELE__TF__ATTR_VALUE__VALUE_I ? a->i : def;
}

float st_tf_attr_f(const tf_nodedef *n, const char *name, float def) {
    const tf_attr *a = st_tf_attr(n, name);
    return a && a->value_case == STELE__TF__ATTR_VALUE__VALUE_F ? a->f : def;
}

bool st_tf_attr_b(const tf_nodedef *n, const char *name, bool def) {
    const tf_attr *a = st_tf_attr(n, name);
    return a && a->value_case == STELE__TF__ATTR_VALUE__VALUE_B ? a->b : def;
}

int st_tf_attr_type(const tf_nodedef *n, const char *name, int def) {
    const tf_attr *a = st_tf_attr(n, name);
    return a && a->value_case == STELE__TF__ATTR_VALUE__VALUE_TYPE ? (int)a->type : def;
}

const char *st_tf_attr_s(const tf_nodedef *n, const char *name, char *buf, size_t cap) {
    const tf_attr *a = st_tf_attr(n, name);
    buf[0] = 0;
    if (a && a->value_case == STELE__TF__ATTR_VALUE__VALUE_S)
        snprintf(buf, cap, "%.*s", (int)a->s.len, (const char *)a->s.data);
    return buf;
}

size_t st_tf_attr_ints(const tf_nodedef *n, const char *name, const int64_t **v) {
    const tf_attr *a = st_tf_attr(n, name);
    if (!a || a->value_case != STELE__TF__ATTR_VALUE__VALUE_LIST) return 0;
    *v = a->list->i;
    return a->list->n_i;
}

/* TensorFlow DataType -> IR dtype (index: TF number). */
static const st_dtype tf_to_st[] = {
    [1] = ST_DTYPE_F32,   [2] = ST_DTYPE_F64,   [3] = ST_DTYPE_I32,    [4] = ST_DTYPE_U8,
    [5] = ST_DTYPE_I16,   [6] = ST_DTYPE_I8,    [7] = ST_DTYPE_STRING, [8] = ST_DTYPE_C64,
    [9] = ST_DTYPE_I64,   [10] = ST_DTYPE_BOOL, [14] = ST_DTYPE_BF16,  [17] = ST_DTYPE_U16,
    [18] = ST_DTYPE_C128, [19] = ST_DTYPE_F16,  [22] = ST_DTYPE_U32,   [23] = ST_DTYPE_U64,
};

st_dtype st_tf_dtype(int tf) {
    if (tf > 100) tf -= 100; /* reference types */
    return tf > 0 && (size_t)tf < ST_ARRAY_LEN(tf_to_st) ? tf_to_st[tf] : ST_DTYPE_UNDEFINED;
}

int st_tf_dtype_to_tf(st_dtype t) {
    for (size_t i = 0; i < ST_ARRAY_LEN(tf_to_st); i++)
        if (tf_to_st[i] == t && t != ST_DTYPE_UNDEFINED) return (int)i;
    return 0;
}

st_status st_tf_tensor_decode(tf_ctx *c, const Stele__Tf__TensorProto *tp, st_tensor *out) {
    st_error e;
    st_dtype dt = st_tf_dtype((int)tp->dtype);
    if (dt == ST_DTYPE_UNDEFINED)
        return st_tf_fail(c, ST_ERR_UNSUPPORTED, "constant of TensorFlow type %d", (int)tp->dtype);
    int64_t dims[ST_MAX_RANK];
    int nd = 0;
    if (tp->tensor_shape) {
        if (tp->tensor_shape->n_dim > ST_MAX_RANK)
            return st_tf_fail(c, ST_ERR_LIMIT, "constant of rank %zu", tp->tensor_shape->n_dim);
        for (size_t d = 0; d < tp->tensor_shape->n_dim; d++)
            dims[nd++] = tp->tensor_shape->dim[d]->size;
    }
    st_tensor t;
    st_status s = st_tensor_alloc(&t, dt, nd, dims, &e);
    if (s) return st_tf_adopt(c, s, &e);
    size_t n = st_tensor_nelem(&t), es = st_dtype_size(dt);
    if (dt == ST_DTYPE_STRING) {
        for (size_t i = 0; i < n && tp->n_string_val; i++) {
            const ProtobufCBinaryData *b = &tp->string_val[ST_MIN(i, tp->n_string_val - 1)];
            if ((s = st_tensor_set_string(&t, i, (const char *)b->data, b->len, &e))) {
                st_tf_adopt(c, s, &e);
                goto fail;
            }
        }
    } else if (tp->tensor_content.len) {
        if (tp->tensor_content.len != n * es) {
            s = st_tf_fail(c, ST_ERR_FORMAT, "constant holds %zu bytes, its shape needs %zu",
                           tp->tensor_content.len, n * es);
            goto fail;
        }
        memcpy(t.data, tp->tensor_content.data, n * es);
    } else {
        /* typed value lists; fewer values than elements repeat the last one */
#define FILL(count, arr, expr)                    \
    for (size_t i = 0; i < n && (count); i++) {   \
        size_t j_ = ST_MIN(i, (count)-1);         \
        st_tensor_set_f64(&t, i, (double)(expr)); \
        (void)arr;                                \
        (void)j_;                                 \
    }
        switch (dt) {
        case ST_DTYPE_F32: FILL(tp->n_float_val, tp->float_val, tp->float_val[j_]) break;
        case ST_DTYPE_F64: FILL(tp->n_double_val, tp->double_val, tp->double_val[j_]) break;
        case ST_DTYPE_I64:
            for (size_t i = 0; i < n && tp->n_int64_val; i++)
                ((int64_t *)t.data)[i] = tp->int64_val[ST_MIN(i, tp->n_int64_val - 1)];
            break;
        case ST_DTYPE_BOOL:
            for (size_t i = 0; i < n && tp->n_bool_val; i++)
                ((uint8_t *)t.data)[i] = tp->bool_val[ST_MIN(i, tp->n_bool_val - 1)] ? 1 : 0;
            break;
        case ST_DTYPE_F16:
        case ST_DTYPE_BF16:
            for (size_t i = 0; i < n && tp->n_half_val; i++)
                ((uint16_t *)t.data)[i] = (uint16_t)tp->half_val[ST_MIN(i, tp->n_half_val - 1)];
            break;
        case ST_DTYPE_U32: FILL(tp->n_uint32_val, tp->uint32_val, tp->uint32_val[j_]) break;
        case ST_DTYPE_U64:
            for (size_t i = 0; i < n && tp->n_uint64_val; i++)
                ((uint64_t *)t.data)[i] = tp->uint64_val[ST_MIN(i, tp->n_uint64_val - 1)];
            break;
        case ST_DTYPE_I32:
        case ST_DTYPE_I16:
        case ST_DTYPE_I8:
        case ST_DTYPE_U8:
        case ST_DTYPE_U16: FILL(tp->n_int_val, tp->int_val, tp->int_val[j_]) break;
        default:
            s = st_tf_fail(c, ST_ERR_UNSUPPORTED, "constant of type %s", st_dtype_name(dt));
            goto fail;
        }
#undef FILL
    }
    *out = t;
    return ST_OK;
fail:
    st_tensor_clear(&t);
    return s;
}

/* ---- IR construction ----------------------------------------------------------------------- */
/* Every service records its own failure (out of memory) in the sticky status and then makes
 * nothing more: a converter can emit a whole pattern and return c->st once. */
const char *st_tf_unalias(const tf_ctx *c, const char *t) {
    for (int hops = 0; hops < 1000; hops++) {
        int a = st_tf_find(&c->amap, t);
        if (a < 0) return t;
        t = c->alias_to[a];
    }
    return t;
}

int st_tf_value_of(const tf_ctx *c, const char *t0) {
    const char *t = st_tf_unalias(c, t0);
    int v = st_tf_find(&c->inputs, t);
    return v >= 0 ? v : st_tf_find(&c->vmap, t);
}

/* The driver converts a node's inputs before its converter runs, so these only look up. */
int st_tf_input(tf_ctx *c, tf_node *n, int i) {
    if (i >= n->n_in) {
        st_tf_fail(c, ST_ERR_FORMAT, "input %d missing", i);
        return -1;
    }
    int v = st_tf_value_of(c, n->in[i]);
    if (v < 0) st_tf_fail(c, ST_ERR_FORMAT, "input %d (\"%s\") was not converted", i, n->in[i]);
    return v;
}

const st_tensor *st_tf_const(tf_ctx *c, tf_node *n, int i) {
    int v = i < n->n_in ? st_tf_value_of(c, n->in[i]) : -1;
    return v >= 0 && c->g->values[v].has_const ? &c->g->values[v].const_val : NULL;
}

int st_tf_tmp(tf_ctx *c, tf_node *n, const char *tag) {
    if (c->st) return -1;
    char buf[1200];
    do /* a fresh value: names from an earlier export may look like ours */
        snprintf(buf, sizeof buf, "%s/%s_%d", n ? n->name : "stele", tag, c->uniq++);
    while (st_graph_find(c->g, buf) >= 0);
    int v = st_graph_value(c->g, buf);
    if (v < 0) st_tf_nomem(c);
    return v;
}

int st_tf_outval(tf_ctx *c, tf_node *n, int k) {
    if (c->st) return -1;
    char buf[1200];
    snprintf(buf, sizeof buf, "%s:%d", n->name, k);
    int v = st_tf_find(&c->vmap, buf);
    if (v >= 0) return v;
    v = st_graph_value(c->g, buf);
    if (v < 0 || !st_strmap_put(&c->vmap, buf, v)) {
        st_tf_nomem(c);
        return -1;
    }
    return v;
}

bool st_tf_alias(tf_ctx *c, tf_node *n, int k, int value) {
    if (c->st || value < 0) return false;
    char buf[1200];
    snprintf(buf, sizeof buf, "%s:%d", n->name, k);
    if (st_strmap_put(&c->vmap, buf, value)) return true;
    st_tf_nomem(c);
    return false;
}

st_node *st_tf_emit(tf_ctx *c, tf_node *n, const char *op, int n_in, const int *ins, int n_out,
                    const int *outs) {
    if (c->st) return NULL;
    char name[1200];
    snprintf(name, sizeof name, "%s/%s_%d", n ? n->name : "stele", op, c->uniq++);
    st_node *x = st_graph_add_node(c->g, op, "", name, n_in, n_out);
    if (!x) {
        st_tf_nomem(c);
        return NULL;
    }
    x->since = ST_DEFAULT_OPSET; /* the IR opset the converters write (the model's) */
    int idx = (int)c->g->n_nodes - 1;
    for (int i = 0; i < n_in; i++) x->inputs[i] = ins[i];
    for (int i = 0; i < n_out; i++) {
        x->outputs[i] = outs[i];
        if (outs[i] >= 0) c->g->values[outs[i]].producer = idx;
    }
    return x;
}

int st_tf_cst(tf_ctx *c, tf_node *n, st_tensor *t) {
    int v = st_tf_tmp(c, n, "const");
    if (v < 0) {
        st_tensor_clear(t);
        return -1;
    }
    st_ir_value *iv = &c->g->values[v];
    iv->role = ST_VALUE_INITIALIZER;
    iv->has_const = true;
    iv->const_val = *t;
    st_type_from_tensor(c->g, &iv->type, t);
    if (iv->type.rank >= 0) return v;
    st_tf_nomem(c);
    return -1;
}

int st_tf_cst_i64(tf_ctx *c, tf_node *n, const int64_t *v, size_t len, bool scalar) {
    st_tensor t;
    int64_t d = (int64_t)len;
    st_error e;
    st_status s = c->st ? c->st : st_tensor_alloc(&t, ST_DTYPE_I64, scalar ? 0 : 1, &d, &e);
    if (s) {
        st_tf_adopt(c, s, &e);
        return -1;
    }
    if (len) memcpy(t.data, v, len * sizeof *v);
    return st_tf_cst(c, n, &t);
}

int st_tf_cst_scalar(tf_ctx *c, tf_node *n, st_dtype dt, double v) {
    st_tensor t;
    st_error e;
    st_status s = c->st ? c->st : st_tensor_alloc(&t, dt, 0, NULL, &e);
    if (s) {
        st_tf_adopt(c, s, &e);
        return -1;
    }
    st_tensor_set_f64(&t, 0, v);
    return st_tf_cst(c, n, &t);
}

static st_attr *add_attr(tf_ctx *c, st_node *x, const char *name, st_attr_kind kind) {
    if (!x || c->st) return NULL;
    st_attr *a = st_node_add_attr(c->g, x, name, kind);
    if (!a) st_tf_nomem(c);
    return a;
}

st_attr *st_tf_set_ints(tf_ctx *c, st_node *x, const char *name, const int64_t *v, size_t len) {
    st_attr *a = add_attr(c, x, name, ST_ATTR_INTS);
    if (!a) return NULL;
    if (!(a->ints = st_ir_alloc(c->g, sizeof(int64_t) * (len ? len : 1)))) {
        st_tf_nomem(c);
        return NULL;
    }
    if (len) memcpy(a->ints, v, len * sizeof *v);
    a->n = len;
    return a;
}

st_attr *st_tf_set_int(tf_ctx *c, st_node *x, const char *name, int64_t v) {
    st_attr *a = add_attr(c, x, name, ST_ATTR_INT);
    if (a) a->i = v;
    return a;
}

st_attr *st_tf_set_float(tf_ctx *c, st_node *x, const char *name, double v) {
    st_attr *a = add_attr(c, x, name, ST_ATTR_FLOAT);
    if (a) a->f = v;
    return a;
}

st_attr *st_tf_set_str(tf_ctx *c, st_node *x, const char *name, const char *v) {
    st_attr *a = add_attr(c, x, name, ST_ATTR_STRING);
    if (!a) return NULL;
    if (!(a->s.data = st_ir_strdup(c->g, v))) {
        st_tf_nomem(c);
        return NULL;
    }
    a->s.len = strlen(v);
    return a;
}
