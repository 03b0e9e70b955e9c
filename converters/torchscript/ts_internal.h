/* converters/torchscript/ts_internal.h: shared by the importer's files (not the exporter,
 * which needs only ts_types.h). Calls run one way: ts_import.c (archive, interpreter) ->
 * ts_optab.c (aten table) -> ts_build.c (IR emission, values, ranks) -> ts_types.c. */
#ifndef ST_TS_INTERNAL_H
#define ST_TS_INTERNAL_H

#include "infer.h"
#include "ir.h"
#include "pickle/pickle.h"
#include "torchscript/tsc.h"
#include "ts_tables.h"
#include "ts_types.h"
#include "zip/zip.h"

/* A value while interpreting TorchScript: Python scalars and containers are known at import
 * time; tensors (and scalars computed from tensors, "symbolic") are IR values. */
typedef enum {
    TV_MISSING = 0, /* argument not given */
    TV_NONE,
    TV_BOOL,        /* i (or symbolic: g/vi hold a 0-d bool tensor) */
    TV_INT,         /* i (or symbolic: 0-d int64) */
    TV_FLOAT,       /* f (or symbolic: 0-d float) */
    TV_STR,         /* s */
    TV_TENSOR,      /* g/vi, rank (-1 unknown), dt (UNDEFINED unknown) */
    TV_LIST,        /* items */
    TV_TUPLE,       /* items */
    TV_OBJ,         /* a module object from data.pkl */
    TV_DEVICE,      /* torch.device(...): ignored */
    TV_UNSUPPORTED, /* result of an op stele lacks (import fails at the end) */
    TV_FUNC,        /* a TorchScript function by qualified name (s) */
    TV_KIND_COUNT
} st_ts_kind;

typedef struct tv tv;
struct tv {
    st_ts_kind k;
    bool sym; /* scalar held in an IR value */
    int64_t i;
    double f;
    const char *s;
    st_graph *g; /* graph owning vi */
    int vi;
    int rank;
    st_dtype dt;
    size_t n;
    tv *items;
    const st_pkl *obj;
    int org; /* unknown rank: 1 + the graph input this tensor's rank follows, else 0 */
    int off; /* ... as that input's rank plus off */
};

/* The importer: one per st_ts_import call. Every helper that can fail records the failure
 * once in `st` (st_ts_fail, SQLite's pParse->rc) with the message in *err; later helpers are
 * no-ops, and the import returns `st`. */
typedef struct st_ts_imp st_ts_imp;

/* A Transpose of two dims of a tensor whose rank follows a graph input still open: its perm
 * is written once the import knows that rank (st_ts_settle_ranks). */
typedef struct pending_perm {
    st_graph *g;
    size_t node;
    int64_t d0, d1;
    int org, off;
} pending_perm;
typedef struct file_ent {
    char *mod;
    st_tsc_file *f;
} file_ent;

typedef struct tensor_ent {
    const st_pkl *p;
    int vi, rank;
    st_dtype dt;
} tensor_ent;

typedef struct unsup_ent {
    char *name;
    int count;
} unsup_ent;

typedef struct input_ent {
    int vi;
    st_dtype dt;
    int rank;
    int floor;           /* least rank the code needs (indexing) */
    bool decided;        /* rank fixed by st_ts_rank from the code's needs, not stated by it */
    const int64_t *dims; /* bound by the caller (rank entries, -1 unknown), or NULL */
} input_ent;

struct st_ts_imp {
    const char *path;
    st_error *err;
    st_status st;
    st_model *m;
    st_graph *top, *g;
    st_zip *z;
    st_arena *pa; /* pickles, syntax trees, interpreter values */
    const st_pkl *consts;
    file_ent *files;
    size_t nfiles, capfiles;
    tensor_ent *tensors;
    size_t ntensors, captensors;
    unsup_ent *unsup;
    size_t nunsup, capunsup;
    input_ent *inputs;
    size_t ninputs, capinputs;
    int counter, depth, edepth, fdepth;
    int n_rank_decisions;        /* inputs whose rank st_ts_rank had to decide */
    const st_infer_bind *shapes; /* the caller's bindings of forward parameters */
    size_t n_shapes;
    pending_perm *perms;
    size_t nperms, capperms;
};

/* ---- emitting IR (sticky errors: after a failure every helper is a no-op) ---------- */
bool st_ts_failed(const st_ts_imp *im);
/* The one way to fail: records s and the message once; returns the sticky status. */
st_status st_ts_fail(st_ts_imp *im, st_status s, const char *fmt, ...) ST_PRINTF(3, 4);
st_status st_ts_nomem(st_ts_imp *im);
int st_ts_new_value(st_ts_imp *im, st_graph *g); /* a fresh intermediate of g, -1 on failure */
/* Value indexes below are -1 once the import has failed; the status is always im->st. */
st_node *st_ts_op(st_ts_imp *im, const char *op, int nin, const int *ins, int nout, int *outs);
int st_ts_op1(st_ts_imp *im, const char *op, int nin, const int *ins); /* one output */
void st_ts_attr_i(st_ts_imp *im, st_node *n, const char *name, int64_t v);
void st_ts_attr_f(st_ts_imp *im, st_node *n, const char *name, double v);
void st_ts_attr_s(st_ts_imp *im, st_node *n, const char *name, const char *v);
void st_ts_attr_is(st_ts_imp *im, st_node *n, const char *name, const int64_t *v, size_t k);
void st_ts_attr_t(st_ts_imp *im, st_node *n, const char *name, const st_tensor *t); /* shares t */
void st_ts_attr_g(st_ts_imp *im, st_node *n, const char *name, st_graph *g);
/* A constant (initializer) as seen from the current graph. */
int st_ts_const(st_ts_imp *im, const st_tensor *t); /* shares t */
int st_ts_const_i64(st_ts_imp *im, const int64_t *v, size_t n, bool scalar);
int st_ts_const_f(st_ts_imp *im, st_dtype dt, double v); /* 0-d */
/* The current graph's index for a value of graph g (outer references chained). */
int st_ts_here(st_ts_imp *im, st_graph *g, int vi);

/* ---- values ---------------------------------------------------------------------- */
tv st_ts_tensor(st_ts_imp *im, int vi, int rank, st_dtype dt);
tv st_ts_scalar(st_ts_kind k, int64_t i, double f);
const char *st_ts_kind_name(st_ts_kind k);
tv *st_ts_alloc_items(st_ts_imp *im, size_t n); /* zeroed list/tuple items, freed with the import */
/* The tensor for any value (scalars become 0-d constants in dt, or their natural type when
 * dt is UNDEFINED; int lists become 1-D int64). A sticky error (and -1) when impossible. */
int st_ts_as_tensor(st_ts_imp *im, const tv *v, st_dtype dt);
st_dtype st_ts_dtype_of(const tv *v); /* natural element type of a value */
/* -1 unknown; a tensor whose rank follows a graph input's reads the input's rank once fixed. */
int st_ts_rank_of(const st_ts_imp *im, const tv *v);
bool st_ts_is_const_int(const tv *v);
/* Constant int list (also a single int). */
bool st_ts_ints(const tv *v, int64_t *out, size_t cap, size_t *n);
/* Record what an op expects of a graph input (dtype, rank) when the source left it open. */
void st_ts_hint(st_ts_imp *im, const tv *v, st_dtype dt, int rank);
input_ent *st_ts_input_of(st_ts_imp *im, const tv *v);
/* Unknown ranks relative to a graph input: out's rank is src's plus delta; v has at least r
 * dims (indexing dim r-1 proves it). Inputs left without a rank get the least they need. */
void st_ts_derive(tv *out, const tv *src, int delta);
void st_ts_rank_at_least(st_ts_imp *im, const tv *v, int r);
/* An op cannot go on without v's rank: returns it, fixing once (for the whole import) the
 * rank of the graph input v follows when the code has not stated it; -1 and a sticky
 * failure naming `what` when v follows no input. st_ts_dim_ok: false (and a failure) when
 * dim d cannot index v. */
int st_ts_rank(st_ts_imp *im, const tv *v, const char *what);
/* Swap dims d0, d1 (both >= 0) of x, whose rank is not known yet, through Transpose node n:
 * the perm is filled by st_ts_settle_ranks. */
void st_ts_swap_later(st_ts_imp *im, st_node *n, const tv *x, int64_t d0, int64_t d1);
/* At the end of an import: inputs still without a rank take the least their uses need, and
 * the pending perms are written. */
st_status st_ts_settle_ranks(st_ts_imp *im);
bool st_ts_dim_ok(st_ts_imp *im, const tv *v, int64_t d);

/* ---- the aten op table ----------------------------------------------------------- */
#define TS_MAX_ARGS 64
typedef st_status (*st_ts_op_fn)(st_ts_imp *im, tv *a, size_t n, tv *out);
struct st_ts_op_def {
    const char *name;   /* aten name without namespace or trailing '_' */
    const char *params; /* comma-separated parameter names (keyword arguments map by them) */
    st_ts_op_fn fn;
};
const st_ts_op_def *st_ts_optab_find(const char *name);

#endif
