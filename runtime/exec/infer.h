/* runtime/exec/infer.h: static type and shape inference over the IR. Every importer calls
 * st_infer_model once the graph is built; it writes each value's st_type (kind, dtype,
 * rank, dims as integers or symbols) in every graph and subgraph. It never runs a model:
 * it runs each node's prepare on types alone (symbolic dims stand in as sentinel
 * extents, twice, so a dim that follows a symbol is told from one that is fixed), folds
 * small constant subexpressions (shape arithmetic) and calls an op's own `infer` where
 * prepare cannot describe the outputs (subgraphs, sequences, optionals). */
#ifndef ST_INFER_H
#define ST_INFER_H

#include "op.h"

/* Bind a graph input to a concrete shape before inferring (`--shape x=1x3x224x224`). */
typedef struct st_infer_bind {
    const char *name;
    int ndim;
    const int64_t *dims;
} st_infer_bind;

typedef struct st_infer_stats {
    size_t n_values, n_known; /* values in the main graph; those with dtype and rank known */
    size_t n_failed;          /* nodes whose outputs could not be inferred */
} st_infer_stats;

/* Infer every value of m's graphs. Declared types (graph inputs, value_info) are kept where
 * inference learns nothing; inferred facts refine them. Node failures leave the node's
 * outputs unknown and are counted in stats (may be NULL); only out-of-memory or a bad
 * binding (unknown input name, rank mismatch) fails the call. Resolves ops first when the
 * model has not been resolved. */
st_status st_infer_model(st_model *m, const st_infer_bind *binds, size_t n_binds,
                         st_infer_stats *stats, st_error *err);

/* The engine-side type of a value during one inference pass: every dim is an integer
 * (symbols stand in as sentinels); rank -1 = unknown; kind ST_VAL_NONE = unknown. For
 * sequences dtype/rank/dims describe the elements (rank -1 when they differ). */
typedef struct st_itype {
    st_val_kind kind;
    bool optional;
    st_dtype dtype;
    int rank;
    int64_t dims[ST_MAX_RANK];
} st_itype;

/* What an op's own infer function sees (st_op_def.infer). */
struct st_infer_ctx {
    const st_node *node;
    const st_graph *graph;
    int64_t opset;
    int n_in, n_out;
    const st_itype *in;               /* n_in entries; kind ST_VAL_NONE = omitted or unknown */
    const st_tensor *const *in_const; /* n_in entries: constant data, or NULL */
    st_itype *out;                    /* n_out entries, preset to unknown */
    void *engine;
};

/* For infer functions: infer subgraph g of c->node with its formal inputs typed ins
 * (n_in of them; fewer than g's inputs leaves the rest unknown); writes g->n_outputs types
 * to outs. */
st_status st_infer_subgraph(st_infer_ctx *c, const st_graph *g, int n_in, const st_itype *ins,
                            st_itype *outs, st_error *err);
/* A fresh unknown extent (consistent across the engine's passes), for dims an op cannot
 * know (a Loop's trip count, NonZero's count). */
int64_t st_infer_fresh_dim(st_infer_ctx *c);
/* Merge b into a where both describe the same value (If branches, Loop iterations):
 * dims that differ become fresh unknowns, a rank that differs becomes unknown. */
void st_infer_merge(st_infer_ctx *c, st_itype *a, const st_itype *b);

#endif
