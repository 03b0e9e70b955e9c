/* runtime/ops/op.h: the contract between the executor and operator kernels.
 *
 * Each op family (runtime/ops/<family>.c) exports one table of st_op_def rows. The
 * registry resolves (domain, op_type, model opset) to the row with the highest `since`
 * not above the model's opset and stores it in the node.
 *
 * Life of a node in a session:
 *  1. prepare(k) runs once per input-shape signature, on the first run. Every input's
 *     dtype and shape are real; input *data* is visible only for constant inputs
 *     (st_in_const returns it, else NULL). prepare parses attributes into k->state, checks
 *     types, declares each output's dtype and shape with st_out_declare when they follow
 *     from shapes and constants alone (the planner then places them in the arena), sizes
 *     k->scratch_bytes, and sets k->run. Outputs it does not declare are allocated at run
 *     time (data-dependent shapes such as NonZero).
 *  2. run(k) computes. It gets output tensors with st_out (arena memory when declared,
 *     heap otherwise), may use k->scratch and split work with st_parallel_for. It returns
 *     a status only for data-dependent errors (an index out of range).
 * Kernels never print and never keep pointers to inputs between runs.
 */
#ifndef ST_OP_H
#define ST_OP_H

#include "ir.h"

typedef struct st_kctx st_kctx;
typedef struct st_pool st_pool;
typedef struct st_frame st_frame;

typedef st_status (*st_prepare_fn)(st_kctx *k, st_error *err);
typedef st_status (*st_run_fn)(st_kctx *k, st_error *err);

/* ---- the operator record ----------------------------------------------------------
 * One row per (domain, op_type, since): every fact the system knows about an operator.
 * The executor, constant folding, static inference, the profiler, compare --per-node and
 * the exporters all read the row a node resolved to (node->def); nothing after import
 * compares op names. A new row is needed only where the semantics change in a way
 * prepare cannot tell from k->opset; otherwise one row covers every later version. */

/* Shapes of the values one call of a node saw (for FLOPs). kind ST_VAL_NONE = omitted. */
typedef struct st_tinfo {
    st_val_kind kind;
    st_dtype dtype;
    int ndim;
    int64_t dims[ST_MAX_RANK];
} st_tinfo;

typedef struct st_infer_ctx st_infer_ctx;
/* Floating-point operations of one call (a multiply-add counts 2); < 0 when unknown. */
typedef double (*st_flops_fn)(const st_node *nd, const st_tinfo *in, int n_in, const st_tinfo *out,
                              int n_out);
/* The exclusive upper bound a node imposes on the index values of its input `pos`
 * (Gather's indices < data.shape[axis]), or -1 when it imposes none or it is unknown. */
typedef int64_t (*st_index_bound_fn)(const st_graph *g, const st_node *nd, int pos);
/* Static inference for ops prepare cannot describe from shapes alone (subgraphs,
 * sequences, optionals). See runtime/exec/infer.h. */
typedef st_status (*st_infer_fn)(st_infer_ctx *c, st_error *err);

enum {
    ST_OPF_IMPURE = 1u << 0,          /* random or stateful: never folded, runs every time */
    ST_OPF_PASSTHROUGH = 1u << 1,     /* output 0 holds input 0's values, re-laid out or
                                        re-typed (compare follows index values through it) */
    ST_OPF_FLOPS_OF_INPUT = 1u << 2,  /* flops_per_elem counts input 0's elements */
    ST_OPF_PASSTHROUGH_ALL = 1u << 3, /* with PASSTHROUGH: every input's values reach
                                         output 0 (Concat), not only input 0's */
    ST_OPF_POINTWISE = 1u << 5,       /* each output element depends only on the inputs'
                                        elements at the same (broadcast) index: commutes
                                        with any transpose applied to all its inputs */
    ST_OPF_SHAPE_ONLY = 1u << 4,      /* reads only its inputs' shapes, never their data
                                        (Shape, Size): foldable once shapes are known */
};

struct st_op_def {
    const char *domain; /* "" for ai.onnx */
    const char *op_type;
    int since;                     /* first opset version this row implements */
    st_prepare_fn prepare;         /* per session: attributes, shapes, kernel choice */
    uint32_t flags;                /* ST_OPF_* */
    float flops_per_elem;          /* cost per element of output 0 (or input 0), 0 = see flops */
    st_flops_fn flops;             /* cost that needs shapes or attributes (Conv, Gemm...) */
    st_index_bound_fn index_bound; /* inputs that hold indices, and their bound */
    st_infer_fn infer;             /* NULL: inferred by running prepare on types alone */
};

/* A table row: the four facts every op has, then designated extras, e.g.
 *   ST_OP("", "Relu", 6, prep_relu, .flops_per_elem = 1),                            */
#define ST_OP(dom, op, ver, prep, ...) \
    { .domain = (dom), .op_type = (op), .since = (ver), .prepare = (prep), __VA_ARGS__ }

/* One family's table. */
typedef struct st_op_family {
    const char *name;
    const st_op_def *ops;
    size_t n;
} st_op_family;

typedef struct st_out_decl {
    bool declared; /* dtype and full shape known: the planner may place it */
    bool typed;    /* only dtype (and rank when ndim >= 0) known: for inference */
    st_dtype dtype;
    int ndim;
    int64_t dims[ST_MAX_RANK];
    int alias_of; /* >= 0: output shares input alias_of's storage (Reshape etc) */
} st_out_decl;

struct st_kctx {
    const st_node *node;
    const st_graph *graph;
    int64_t opset; /* the model's opset for the node's domain */
    int n_in, n_out;
    st_value **in; /* n_in entries; NULL = omitted optional input */
    const bool *in_is_const;
    st_value **out;    /* n_out entries; NULL = omitted optional output */
    st_out_decl *decl; /* n_out entries, filled by st_out_declare */
    st_run_fn run;
    void *state; /* op-owned, st_malloc'd; freed with state_free (or st_free) */
    void (*state_free)(void *state);
    size_t scratch_bytes; /* requested by prepare */
    void *scratch;        /* 64-byte aligned, valid during run */
    st_pool *pool;
    int threads;
    st_frame *frame; /* executor frame (for subgraphs) */
    void *exec;      /* executor private */
};

/* ---- inputs ---------------------------------------------------------------------- */
/* Tensor input i, or NULL when omitted (or not a tensor). */
static inline const st_tensor *st_in(const st_kctx *k, int i) {
    if (i >= k->n_in || !k->in[i] || k->in[i]->kind != ST_VAL_TENSOR) return NULL;
    return &k->in[i]->tensor;
}
static inline const st_value *st_in_value(const st_kctx *k, int i) {
    return i < k->n_in ? k->in[i] : NULL;
}
/* During prepare: the tensor when input i is a constant (data readable), else NULL. */
static inline const st_tensor *st_in_const(const st_kctx *k, int i) {
    if (i >= k->n_in || !k->in_is_const[i]) return NULL;
    return st_in(k, i);
}
static inline bool st_has_in(const st_kctx *k, int i) { return i < k->n_in && k->in[i] != NULL; }
static inline bool st_has_out(const st_kctx *k, int i) { return i < k->n_out && k->out[i] != NULL; }

/* ---- outputs --------------------------------------------------------------------- */
/* prepare: declare output i's type and shape (enables arena planning). */
void st_out_declare(st_kctx *k, int i, st_dtype dtype, int ndim, const int64_t *dims);
/* prepare: when the shape depends on data, declare what is known for static inference:
 * the dtype, the rank (ndim, or -1 when unknown) and dims with -1 for unknown extents.
 * The planner ignores such outputs; run allocates them. */
void st_out_declare_type(st_kctx *k, int i, st_dtype dtype, int ndim, const int64_t *dims);
/* prepare: declare output i as a view of input j with a new shape (no copy). */
void st_out_declare_alias(st_kctx *k, int i, int j, int ndim, const int64_t *dims);
/* run: storage for output i (zeroed only when freshly heap-allocated). Returns NULL with
 * err set on a bad shape or out of memory; also NULL without error when output i is
 * omitted (st_has_out false). */
st_tensor *st_out(st_kctx *k, int i, st_dtype dtype, int ndim, const int64_t *dims, st_error *err);
/* run: output i becomes a view of input j with the given shape (shares storage). */
st_status st_out_alias(st_kctx *k, int i, int j, int ndim, const int64_t *dims, st_error *err);
/* run: the output value slot itself, for sequences and optionals (cleared before run). */
static inline st_value *st_out_value(st_kctx *k, int i) { return i < k->n_out ? k->out[i] : NULL; }

/* run: keep a tensor beyond this node (in a sequence or optional): shares storage that
 * has an owner and copies arena memory, which the planner reuses. */
static inline st_status st_tensor_keep(st_tensor *dst, const st_tensor *src, st_error *err) {
    if (src->buf) {
        st_tensor_share(dst, src);
        return ST_OK;
    }
    return st_tensor_copy(dst, src, err);
}

/* Errors from kernels: prefixed by the executor with the node's name and op type. */
#define ST_KERR(err, status, ...) st_errorf((err), (status), __VA_ARGS__)

/* ---- threads --------------------------------------------------------------------- */
/* Run fn(arg, begin, end) over [0, n) split into chunks on the session's pool; fn must
 * not fail. Runs inline when the pool has one thread or n is small (grain). */
typedef void (*st_range_fn)(void *arg, size_t begin, size_t end);
void st_parallel_for(st_pool *pool, size_t n, size_t grain, st_range_fn fn, void *arg);
int st_pool_threads(const st_pool *pool);

/* ---- subgraphs (If, Loop, Scan, SequenceMap) -------------------------------------- */
/* Run subgraph g (an attribute of k->node) with the given inputs (positional over g's
 * inputs); outer-scope names resolve to the values of the enclosing frame. outs receives
 * g->n_outputs values the caller clears. */
st_status st_subgraph_run(st_kctx *k, const st_graph *g, size_t n_in, const st_value *ins,
                          st_value *outs, st_error *err);

/* ---- shared helpers for kernels (runtime/ops/helpers.c) --------------------------- */
/* NumPy broadcasting of a set of shapes into out (ST_ERR_INVALID if incompatible). */
st_status st_broadcast_shape(int n, const st_tensor *const *ts, int *ndim, int64_t *dims,
                             st_error *err);
/* Element strides for t broadcast into the shape (ndim, dims): 0 on broadcast axes. */
void st_broadcast_strides(const st_tensor *t, int ndim, const int64_t *dims, int64_t *strides);
/* Normalize an axis in [-r, r) to [0, r); ST_ERR_INVALID if out of range. */
st_status st_norm_axis(int64_t axis, int rank, int *out, st_error *err);
/* Contiguous strides (in elements) for a shape. */
void st_contig_strides(int ndim, const int64_t *dims, int64_t *strides);
/* Elements of a described value (0 when omitted or not a tensor; unknown dims count 0). */
double st_tinfo_nelem(const st_tinfo *t);
/* Static facts about graph value v for index_bound functions: its rank, and the extent of
 * dimension axis (negative counts from the end); -1 when unknown (or v < 0). */
int st_ops_value_rank(const st_graph *g, int v);
int64_t st_ops_value_dim(const st_graph *g, int v, int64_t axis);

/* Registry. */
extern const st_op_family *const st_op_families[];
extern const size_t st_n_op_families;
/* Find the row for (domain, op_type) at opset, or NULL. */
const st_op_def *st_ops_find(const char *domain, const char *op_type, int64_t opset);
/* Whether any row exists for (domain, op_type), at any opset. */
bool st_ops_known(const char *domain, const char *op_type);
/* The default opset of the ai.onnx domain when a model declares none. */
#define ST_DEFAULT_OPSET 17

#endif
