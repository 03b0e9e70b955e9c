/* runtime/ir/ir.h: the in-memory model every format converts to and from. ONNX operator
 * semantics are its op set. It holds no format structs and knows no file layout.
 *
 * Ownership: a model owns its graph; a graph owns its values, nodes (with attributes,
 * nested subgraphs) and names. All of these live in the model's arena and are freed with
 * it. Tensor data (initializers, Constant values, attribute tensors) is held through
 * reference-counted st_buf owners: borrowed from a file mapping or parse arena when the
 * file allows it, otherwise heap copies. */
#ifndef ST_IR_H
#define ST_IR_H

#include "core.h"

typedef struct st_graph st_graph;
typedef struct st_node st_node;
typedef struct st_op_def st_op_def;

/* ---- dtypes ---------------------------------------------------------------------- */
typedef struct st_dtype_traits {
    const char *name;      /* numpy-style: "float32" */
    const char *onnx_name; /* "FLOAT" */
    size_t size;
    char npy_kind; /* 'f', 'i', 'u', 'b', 'c', 'U' (string), 0 = none */
} st_dtype_traits;
extern const st_dtype_traits st_dtype_table[ST_DTYPE_COUNT];
bool st_dtype_is_float(st_dtype t); /* f16, bf16, f32, f64 */
bool st_dtype_is_int(st_dtype t);   /* signed or unsigned integers */
bool st_dtype_is_signed(st_dtype t);
/* The ONNX 1.20 narrow types, one byte per element in the IR (see stele.h). */
bool st_dtype_is_minifloat(st_dtype t);  /* float8 types, float4e2m1 */
bool st_dtype_is_narrow_int(st_dtype t); /* int4, uint4, int2, uint2 */
int st_dtype_bits(st_dtype t);           /* bits per element in a packed ONNX file */
/* v wrapped to a 4-/2-bit type's bits, as the IR byte (signed types sign-extended). */
uint8_t st_narrow_int_wrap(st_dtype t, int64_t v);

/* Read element i of any numeric/bool tensor as double / int64 (for shape inputs etc). */
double st_tensor_get_f64(const st_tensor *t, size_t i);
int64_t st_tensor_get_i64(const st_tensor *t, size_t i);
void st_tensor_set_f64(st_tensor *t, size_t i, double v);
/* Checked element count from dims (ST_ERR_LIMIT on overflow or negative dims). */
st_status st_shape_nelem(int ndim, const int64_t *dims, size_t *out, st_error *err);
/* Point a tensor at existing data inside buf (takes a new reference to buf). */
void st_tensor_borrow(st_tensor *t, st_dtype dtype, int ndim, const int64_t *dims, void *data,
                      st_buf *buf);
/* "float32[1,3,224,224]" into buf. */
const char *st_tensor_desc(const st_tensor *t, char *buf, size_t n);

/* ---- types with symbolic dims ---------------------------------------------------- */
typedef struct st_dim {
    int64_t value; /* >= 0 known, -1 unknown */
    char *symbol;  /* dim_param or NULL */
} st_dim;

typedef struct st_type st_type;
struct st_type {
    st_val_kind kind; /* ST_VAL_NONE = unknown */
    bool optional;
    st_dtype dtype; /* tensor element type (for sequences: the element tensor's) */
    int rank;       /* -1 unknown */
    st_dim *dims;   /* rank entries */
};

/* ---- values ---------------------------------------------------------------------- */
typedef enum {
    ST_VALUE_INTERMEDIATE = 0,
    ST_VALUE_INPUT,       /* graph input fed by the caller */
    ST_VALUE_INITIALIZER, /* constant weight (possibly overridable input) */
    ST_VALUE_OUTER,       /* subgraph reference to an enclosing graph's value */
} st_value_role;

typedef struct st_ir_value {
    char *name;
    st_value_role role;
    st_type type;
    bool has_const; /* const_val holds the value (initializers, folded Constants) */
    st_tensor const_val;
    int producer;    /* node index or -1 */
    int outer_index; /* ST_VALUE_OUTER: index in parent graph's values */
    char *doc;
} st_ir_value;

/* ---- attributes (every ONNX AttributeProto kind) --------------------------------- */
typedef enum {
    ST_ATTR_UNDEFINED = 0,
    ST_ATTR_FLOAT = 1,
    ST_ATTR_INT = 2,
    ST_ATTR_STRING = 3,
    ST_ATTR_TENSOR = 4,
    ST_ATTR_GRAPH = 5,
    ST_ATTR_FLOATS = 6,
    ST_ATTR_INTS = 7,
    ST_ATTR_STRINGS = 8,
    ST_ATTR_TENSORS = 9,
    ST_ATTR_GRAPHS = 10,
    ST_ATTR_SPARSE_TENSOR = 11,
    ST_ATTR_SPARSE_TENSORS = 12,
    ST_ATTR_TYPE_PROTO = 13,
    ST_ATTR_TYPE_PROTOS = 14,
    ST_ATTR_KIND_COUNT
} st_attr_kind; /* values are ONNX's AttributeType numbers */

typedef struct st_attr {
    char *name;
    st_attr_kind kind;
    char *ref_attr_name; /* function-body reference, or NULL */
    char *doc;
    double f;    /* FLOAT */
    int64_t i;   /* INT */
    st_str s;    /* STRING */
    st_tensor t; /* TENSOR (dense form of SPARSE_TENSOR too) */
    st_graph *g; /* GRAPH */
    st_type tp;  /* TYPE_PROTO */
    size_t n;    /* list length for the plural kinds */
    double *floats;
    int64_t *ints;
    st_str *strings;
    st_tensor *tensors;
    st_graph **graphs;
    st_type *tps;
} st_attr;

/* ---- nodes ----------------------------------------------------------------------- */
struct st_node {
    char *name;
    char *op_type;
    char *domain; /* "" for ai.onnx */
    char *doc;
    int n_in, n_out;
    int *inputs;  /* value indices; -1 = omitted optional input */
    int *outputs; /* value indices; -1 = omitted optional output */
    int n_attrs;
    st_attr *attrs;
    int since;            /* opset version of the node's domain in this model */
    const st_op_def *def; /* resolved by st_ops_resolve; NULL when unknown */
};

typedef struct st_opset {
    char *domain;
    int64_t version;
} st_opset;

typedef struct st_meta_prop {
    char *key, *value;
} st_meta_prop;

/* Functions (ModelProto.functions): kept for round trips; nodes calling them are
 * expanded on import when the runtime lacks them. */
typedef struct st_function {
    char *name, *domain, *doc;
    int n_in, n_out, n_attr_names;
    char **inputs, **outputs, **attr_names;
    st_graph *body; /* nodes only; its values named by the function's formal names */
    size_t n_opsets;
    st_opset *opsets;
} st_function;

struct st_graph {
    st_graph *parent; /* enclosing graph for subgraphs, NULL at top */
    char *name;
    char *doc;
    size_t n_values, cap_values;
    st_ir_value *values;
    size_t n_nodes, cap_nodes;
    st_node *nodes; /* in file order; executors sort topologically */
    size_t n_inputs, n_outputs;
    int *inputs; /* value indices, in order (initializers that are also inputs too) */
    int *outputs;
    st_arena *arena; /* the model's arena (shared by all graphs of a model) */
    st_model *model;
    st_strmap index; /* value name -> index (borrowed names), when indexed */
    bool indexed;
};

struct st_model {
    st_format format;
    int64_t ir_version;
    char *producer_name, *producer_version, *domain, *doc;
    int64_t model_version;
    size_t n_opsets;
    st_opset *opsets;
    size_t n_meta;
    st_meta_prop *meta;
    size_t n_functions;
    st_function *functions;
    st_graph *graph;
    st_arena *arena;
    st_buf *file; /* the mapped file (kept alive while tensors borrow it) */
    char *path;
    /* caches for the public description API */
    char *producer_str;
    st_op_count *histogram;
    size_t n_histogram;
    st_dim_info *dim_infos;
};

/* ---- construction (all memory from the model arena; NULL return = out of memory) ---- */
st_model *st_model_new(st_format fmt);
st_graph *st_graph_new(st_model *m, st_graph *parent);
char *st_ir_strdup(st_graph *g, const char *s);
void *st_ir_alloc(st_graph *g, size_t n); /* zeroed */
/* Find a value by name in g only (-1 if absent). Uses a linear scan until the graph is
 * indexed; call st_graph_index after bulk construction for O(1) lookups. */
int st_graph_find(const st_graph *g, const char *name);
/* Find or create a value named `name` in g; returns its index or -1 on OOM. */
int st_graph_value(st_graph *g, const char *name);
/* Append a node with n_in inputs and n_out outputs; returns it or NULL on OOM. */
st_node *st_graph_add_node(st_graph *g, const char *op_type, const char *domain, const char *name,
                           int n_in, int n_out);
st_attr *st_node_add_attr(st_graph *g, st_node *n, const char *name, st_attr_kind kind);
void st_graph_index(st_graph *g); /* (re)build the name index */

/* ---- attribute access (for op prepare functions) --------------------------------- */
const st_attr *st_node_attr(const st_node *n, const char *name);
int64_t st_attr_int(const st_node *n, const char *name, int64_t def);
double st_attr_float(const st_node *n, const char *name, double def);
const char *st_attr_string(const st_node *n, const char *name, const char *def);
/* ints list: returns count (0 if absent) and sets *vals to the model-owned array. */
size_t st_attr_ints(const st_node *n, const char *name, const int64_t **vals);
size_t st_attr_floats(const st_node *n, const char *name, const double **vals);

/* Opset version of a domain imported by the model ("" and "ai.onnx" are the same); 0 if
 * not imported. */
int64_t st_model_opset(const st_model *m, const char *domain);

/* ---- topological order ----------------------------------------------------------- */
/* Fill order (n_nodes entries) with a topological order of g's nodes; ST_ERR_FORMAT on a
 * cycle or on an input that nothing produces. */
st_status st_graph_toposort(const st_graph *g, int *order, st_error *err);

void st_model_release(st_model *m); /* frees tensors' buffer refs then the arena */

/* Type helpers. */
void st_type_from_tensor(st_graph *g, st_type *ty, const st_tensor *t);
st_status st_type_copy(st_graph *g, st_type *dst, const st_type *src);

#endif
