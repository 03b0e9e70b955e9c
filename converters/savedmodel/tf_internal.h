/* converters/savedmodel/tf_internal.h: what the SavedModel converter's files share: the
 * flattened TensorFlow graph (function calls inlined, names prefixed by the call path), the
 * conversion context with its sticky status, the builder services (tf_build.c) and the
 * TF op -> IR table (tf_ops.c). Files depend one way: tf_import -> tf_ops -> tf_build and
 * tf_convert -> tf_build. Not a public interface. */
#ifndef ST_TF_INTERNAL_H
#define ST_TF_INTERNAL_H

#include "ir.h"
#include "op.h"
#include "savedmodel/tf_bundle.h"

typedef Stele__Tf__NodeDef tf_nodedef;
typedef Stele__Tf__AttrValue tf_attr;

/* The index stored under key in a map of indices, or -1 when the key is absent. */
static inline int st_tf_find(const st_strmap *m, const char *key) {
    intptr_t v;
    return st_strmap_get(m, key, &v) ? (int)v : -1;
}

/* One node of the flattened graph. */
typedef struct tf_node {
    char *name;            /* flat name: call path + "/" + local name */
    const tf_nodedef *def; /* op and attributes */
    int n_in;
    char **in; /* "flatname:k" (control inputs dropped) */
    int state; /* 0 unvisited, 1 needed, 2 emitted */
} tf_node;

typedef struct tf_ctx {
    const char *dir;
    const Stele__Tf__MetaGraphDef *mg;
    const Stele__Tf__FunctionDefLibrary *lib;
    st_strmap fmap; /* function name -> index in lib */
    tf_node *nodes;
    size_t n_nodes, cap_nodes;
    st_strmap nmap;                /* flat node name -> index */
    char **alias_from, **alias_to; /* call outputs -> the callee's returned tensor */
    size_t n_alias, cap_alias;
    st_strmap amap;   /* alias_from -> index */
    st_strmap varkey; /* variable node index (as decimal string) -> key index */
    char **keys;
    size_t n_keys, cap_keys;
    st_tf_bundle *bundle;
    /* IR under construction */
    st_model *m;
    st_graph *g;
    st_strmap vmap;   /* TF tensor "node:k" -> IR value index */
    st_strmap inputs; /* signature input tensor -> IR value index */
    int uniq;
    /* errors: the first failure's status, sticky (set only through st_tf_fail); its
     * message goes to err, the caller's st_error, which may be NULL */
    st_status st;
    st_error *err;
} tf_ctx;

/* Record a failure (the first one wins) and return the sticky status. */
st_status st_tf_fail(tf_ctx *c, st_status s, const char *fmt, ...) ST_PRINTF(3, 4);
st_status st_tf_nomem(tf_ctx *c);
/* Take the status of a sub-conversion that reported into the same st_error. */
st_status st_tf_join(tf_ctx *c, const tf_ctx *sub);
/* Adopt the status and message a callee left in e (ST_OK: nothing to record). */
st_status st_tf_adopt(tf_ctx *c, st_status s, const st_error *e);

/* ---- services (tf_build.c) ---------------------------------------------------------- */
/* attribute access on a NodeDef */
const tf_attr *st_tf_attr(const tf_nodedef *n, const char *name);
int64_t st_tf_attr_i(const tf_nodedef *n, const char *name, int64_t def);
float st_tf_attr_f(const tf_nodedef *n, const char *name, float def);
bool st_tf_attr_b(const tf_nodedef *n, const char *name, bool def);
int st_tf_attr_type(const tf_nodedef *n, const char *name, int def);
/* string attribute into buf ("" when absent) */
const char *st_tf_attr_s(const tf_nodedef *n, const char *name, char *buf, size_t cap);
size_t st_tf_attr_ints(const tf_nodedef *n, const char *name, const int64_t **v);

st_dtype st_tf_dtype(int tf);      /* ST_DTYPE_UNDEFINED when no IR equivalent */
int st_tf_dtype_to_tf(st_dtype t); /* 0 when none */
/* Decode a TensorProto into a tensor with its own storage. */
st_status st_tf_tensor_decode(tf_ctx *c, const Stele__Tf__TensorProto *tp, st_tensor *out);

/* IR construction. Value-returning services give -1 when no value could be made; the
 * reason is then in the sticky status (c->st), so callers may go on and check once. */
const char *st_tf_unalias(const tf_ctx *c, const char *t);  /* through call outputs */
int st_tf_value_of(const tf_ctx *c, const char *t);         /* converted tensor; -1: not yet */
int st_tf_input(tf_ctx *c, tf_node *n, int i);              /* IR value of input i */
const st_tensor *st_tf_const(tf_ctx *c, tf_node *n, int i); /* constant input or NULL */
int st_tf_outval(tf_ctx *c, tf_node *n, int k);             /* value for output k */
int st_tf_tmp(tf_ctx *c, tf_node *n, const char *tag);      /* a fresh helper value */
st_node *st_tf_emit(tf_ctx *c, tf_node *n, const char *op, int n_in, const int *ins, int n_out,
                    const int *outs);
int st_tf_cst(tf_ctx *c, tf_node *n, st_tensor *t); /* takes t */
int st_tf_cst_i64(tf_ctx *c, tf_node *n, const int64_t *v, size_t len, bool scalar);
int st_tf_cst_scalar(tf_ctx *c, tf_node *n, st_dtype dt, double v);
bool st_tf_alias(tf_ctx *c, tf_node *n, int k, int value); /* output k is this value */
/* attributes on an emitted node (x may be NULL after a failure: then a no-op) */
st_attr *st_tf_set_ints(tf_ctx *c, st_node *x, const char *name, const int64_t *v, size_t len);
st_attr *st_tf_set_int(tf_ctx *c, st_node *x, const char *name, int64_t v);
st_attr *st_tf_set_float(tf_ctx *c, st_node *x, const char *name, double v);
st_attr *st_tf_set_str(tf_ctx *c, st_node *x, const char *name, const char *v);

/* ---- the op table (tf_ops.c): one converter per TF op ------------------------------- */
typedef struct tf_op tf_op;
/* Convert node n (its inputs already converted); failures go through st_tf_fail. */
typedef st_status (*tf_conv_fn)(tf_ctx *c, tf_node *n, const tf_op *row);
struct tf_op {
    const char *op;   /* TensorFlow op type */
    tf_conv_fn fn;    /* converter */
    const char *onnx; /* the IR op a generic converter emits (NULL: the converter knows) */
};
const tf_op *st_tf_op_find(const char *op);
/* Ops that change state: refused with an explanation rather than listed as missing. */
bool st_tf_op_stateful(const char *op);

#endif
