/* stele.h: the public C API of stele, a toolkit that loads ONNX, TorchScript and TensorFlow
 * SavedModel models into one IR, runs them on the CPU, converts them between formats, and
 * profiles them. The `stele` command uses nothing else.
 *
 * Load, run, free:
 *
 *     st_error err;
 *     st_model *m;
 *     if (st_model_load("model.onnx", NULL, &m, &err) != ST_OK) {
 *         fprintf(stderr, "%s\n", err.msg);   // "model.onnx: truncated protobuf"
 *         return 2;
 *     }
 *     st_session *s;
 *     st_session_opts so = st_session_opts_default();
 *     so.threads = 2;
 *     if (st_session_new(m, &so, &s, &err) != ST_OK) { ... }
 *     st_value in = {.kind = ST_VAL_TENSOR};
 *     int64_t dims[] = {1, 3, 224, 224};
 *     st_tensor_alloc(&in.tensor, ST_DTYPE_F32, 4, dims, &err);  // fill in.tensor.data
 *     const char *names[] = {"input"};
 *     st_value *outs;           // st_session_n_outputs(s) values, caller frees
 *     st_session_run(s, 1, names, &in, &outs, &err);
 *     ...
 *     st_values_free(outs, st_session_n_outputs(s));
 *     st_value_clear(&in);
 *     st_session_free(s);
 *     st_model_free(m);
 *
 * Conventions:
 *  - Fallible calls return st_status and fill a caller-owned st_error (may be NULL). Its
 *    message is one line naming the file or node and the reason. Out-parameters are written
 *    only on ST_OK, so a failed call leaves nothing to free.
 *  - Every *_free / *_clear accepts NULL.
 *  - Objects are not thread-safe; one session must not run concurrently with itself. A
 *    session splits its kernels' loops over OpenMP threads (st_session_opts.threads).
 */
#ifndef STELE_H
#define STELE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define ST_API __attribute__((visibility("default")))
#else
#define ST_API
#endif

#define STELE_VERSION "0.1.0"

/* ---- status ---------------------------------------------------------------------- */
/* One list defines the codes and their descriptions. */
#define ST_STATUS_MAP(X)              \
    X(OK, "ok")                       \
    X(ERR_IO, "i/o error")            \
    X(ERR_FORMAT, "malformed input")  \
    X(ERR_UNSUPPORTED, "unsupported") \
    X(ERR_LIMIT, "limit exceeded")    \
    X(ERR_NOMEM, "out of memory")     \
    X(ERR_INVALID, "invalid argument")

typedef enum {
#define ST_STATUS_ENUM_(name, text) ST_##name,
    ST_STATUS_MAP(ST_STATUS_ENUM_)
#undef ST_STATUS_ENUM_
        ST_STATUS_COUNT
} st_status;

#define ST_ERROR_MSG_MAX 1024
typedef struct st_error {
    st_status status;
    char msg[ST_ERROR_MSG_MAX];
} st_error;

ST_API const char *st_status_str(st_status s);

/* One allocator for all of stele's heap memory, with Lua's contract: fn(ud, ptr, osize,
 * nsize) frees when nsize == 0 and otherwise behaves as realloc (osize may be 0 when
 * unknown). Set it before creating any object; NULL restores the default. */
typedef void *(*st_alloc_fn)(void *ud, void *ptr, size_t osize, size_t nsize);
ST_API void st_set_allocator(st_alloc_fn fn, void *ud);

/* ---- data types: the values are ONNX's TensorProto.DataType numbers -------------- */
typedef enum {
    ST_DTYPE_UNDEFINED = 0,
    ST_DTYPE_F32 = 1,
    ST_DTYPE_U8 = 2,
    ST_DTYPE_I8 = 3,
    ST_DTYPE_U16 = 4,
    ST_DTYPE_I16 = 5,
    ST_DTYPE_I32 = 6,
    ST_DTYPE_I64 = 7,
    ST_DTYPE_STRING = 8,
    ST_DTYPE_BOOL = 9,
    ST_DTYPE_F16 = 10,
    ST_DTYPE_F64 = 11,
    ST_DTYPE_U32 = 12,
    ST_DTYPE_U64 = 13,
    ST_DTYPE_C64 = 14,
    ST_DTYPE_C128 = 15,
    ST_DTYPE_BF16 = 16,
    /* The ONNX 1.20 narrow types. The IR holds one byte per element: a float8/float4 code,
     * or a 4-/2-bit integer widened to int8/uint8 (ONNX files pack them; .npy files hold
     * the floats as float32 and the integers as int8/uint8). */
    ST_DTYPE_F8E4M3FN = 17,
    ST_DTYPE_F8E4M3FNUZ = 18,
    ST_DTYPE_F8E5M2 = 19,
    ST_DTYPE_F8E5M2FNUZ = 20,
    ST_DTYPE_U4 = 21,
    ST_DTYPE_I4 = 22,
    ST_DTYPE_F4E2M1 = 23,
    ST_DTYPE_F8E8M0 = 24,
    ST_DTYPE_U2 = 25,
    ST_DTYPE_I2 = 26,
    ST_DTYPE_COUNT
} st_dtype;

ST_API const char *st_dtype_name(st_dtype t); /* "float32", "int64", "string", ... */
ST_API size_t st_dtype_size(st_dtype t);      /* bytes per element; sizeof(st_str) for strings */
ST_API bool st_dtype_valid(int t);            /* a known, storable type */

/* ---- tensors --------------------------------------------------------------------- */
#define ST_MAX_RANK 16

/* A string element: bytes (NUL-terminated for convenience) and length. */
typedef struct st_str {
    char *data;
    size_t len;
} st_str;

struct st_buf;

/* A dense row-major tensor. `data` points into `buf`, a reference-counted owner (heap
 * memory, a file mapping, or a parse arena); buf == NULL means the caller owns data and
 * keeps it alive. Strings are an array of st_str owned by buf. */
typedef struct st_tensor {
    st_dtype dtype;
    int ndim;
    int64_t dims[ST_MAX_RANK];
    void *data;
    struct st_buf *buf;
} st_tensor;

ST_API size_t st_tensor_nelem(const st_tensor *t);
ST_API size_t st_tensor_nbytes(const st_tensor *t);
/* Allocate zeroed storage for a tensor of this type and shape (sizes overflow-checked). */
ST_API st_status st_tensor_alloc(st_tensor *t, st_dtype dtype, int ndim, const int64_t *dims,
                                 st_error *err);
/* Drop the tensor's reference to its storage and zero it. */
ST_API void st_tensor_clear(st_tensor *t);
/* Set string element i (copies len bytes). */
ST_API st_status st_tensor_set_string(st_tensor *t, size_t i, const char *s, size_t len,
                                      st_error *err);
/* A new reference to the same storage (no copy). */
ST_API void st_tensor_share(st_tensor *dst, const st_tensor *src);
/* A deep copy with its own storage. */
ST_API st_status st_tensor_copy(st_tensor *dst, const st_tensor *src, st_error *err);

/* ---- runtime values: tensor, sequence of tensors, optional ------------------------ */
typedef enum {
    ST_VAL_NONE = 0, /* an empty optional (or no value) */
    ST_VAL_TENSOR,
    ST_VAL_SEQUENCE,
    ST_VAL_KIND_COUNT
} st_val_kind;

typedef struct st_value {
    st_val_kind kind;
    bool optional;    /* wrapped in an ONNX optional type */
    st_tensor tensor; /* kind == ST_VAL_TENSOR */
    size_t nseq;      /* kind == ST_VAL_SEQUENCE */
    st_tensor *seq;
    st_dtype elem_dtype; /* element type of a sequence (or of a NONE optional), if known */
} st_value;

ST_API void st_value_clear(st_value *v);
ST_API void st_values_free(st_value *v, size_t n); /* clears each then frees the array */

/* ---- models ---------------------------------------------------------------------- */
typedef struct st_model st_model;

typedef enum {
    ST_FORMAT_UNKNOWN = 0,
    ST_FORMAT_ONNX,
    ST_FORMAT_TORCHSCRIPT,
    ST_FORMAT_SAVEDMODEL,
    ST_FORMAT_COUNT
} st_format;
ST_API const char *st_format_name(st_format f); /* "onnx", "torchscript", "savedmodel" */
ST_API st_format st_format_from_name(const char *name);
/* Guess a format from a path's content (magic bytes, directory layout) or extension. */
ST_API st_format st_format_detect(const char *path);

/* A concrete shape for one graph input (`--shape x=1x3x224x224`). */
typedef struct st_shape_binding {
    const char *name;
    int ndim;
    int64_t dims[ST_MAX_RANK];
} st_shape_binding;

typedef struct st_load_opts {
    st_format format;      /* ST_FORMAT_UNKNOWN: detect */
    const char *signature; /* SavedModel signature, NULL for serving_default */
    /* Input shapes to bind before static inference (may be NULL): every value's type is
     * then inferred from them; a name that is not an input, or a rank or fixed extent that
     * contradicts the model, is ST_ERR_INVALID. */
    const st_shape_binding *shapes;
    size_t n_shapes;
} st_load_opts;

ST_API st_status st_model_load(const char *path, const st_load_opts *opts, st_model **out,
                               st_error *err);
ST_API void st_model_free(st_model *m);

typedef struct st_save_opts {
    st_format format;          /* ST_FORMAT_UNKNOWN: from the path's extension */
    size_t external_threshold; /* ONNX: tensors of at least this many bytes go to an
                                   external data file; 0 = only when the model would
                                   exceed protobuf's 2 GiB limit */
    int target_opset;           /* ONNX: write the ai.onnx nodes at this opset (7..25); 0 keeps
                                   the model's. A node the target cannot express fails with
                                   ST_ERR_UNSUPPORTED naming the node and the reason */
} st_save_opts;
ST_API st_status st_model_save(const st_model *m, const char *path, const st_save_opts *opts,
                               st_error *err);

/* Model description (pointers stay valid until st_model_free). */
ST_API st_format st_model_format(const st_model *m);
ST_API const char *st_model_producer(const st_model *m); /* "pytorch 1.13.0" or "" */
ST_API int64_t st_model_ir_version(const st_model *m);
ST_API size_t st_model_n_opsets(const st_model *m);
ST_API const char *st_model_opset_domain(const st_model *m, size_t i); /* "" = ai.onnx */
ST_API int64_t st_model_opset_version(const st_model *m, size_t i);

typedef struct st_dim_info {
    int64_t value;      /* >= 0 when known, -1 otherwise */
    const char *symbol; /* dim_param, or NULL */
} st_dim_info;

typedef struct st_value_info {
    const char *name;
    st_val_kind kind; /* ST_VAL_TENSOR or ST_VAL_SEQUENCE (ST_VAL_NONE: type unknown) */
    bool optional;
    st_dtype dtype; /* tensor or sequence element type */
    int rank;       /* -1 when unknown */
    const st_dim_info *dims;
} st_value_info;

ST_API size_t st_model_n_inputs(const st_model *m); /* excludes initializers */
ST_API size_t st_model_n_outputs(const st_model *m);
ST_API void st_model_input(const st_model *m, size_t i, st_value_info *out);
ST_API void st_model_output(const st_model *m, size_t i, st_value_info *out);
/* Every value of the main graph (inputs, weights, intermediates, outputs) with the type
 * static inference gave it at load: a dim is known (value >= 0), symbolic (symbol) or
 * unknown (value -1, symbol NULL). */
ST_API size_t st_model_n_values(const st_model *m);
ST_API void st_model_value(const st_model *m, size_t i, st_value_info *out);

typedef struct st_op_count {
    const char *domain;
    const char *op_type;
    size_t count;
} st_op_count;
/* Op histogram over the main graph and all subgraphs, most frequent first. The array is
 * owned by the model. */
ST_API size_t st_model_op_histogram(const st_model *m, const st_op_count **out);
ST_API size_t st_model_n_nodes(const st_model *m);
/* Parameters: elements and bytes of all initializers and Constant tensors. */
ST_API void st_model_params(const st_model *m, uint64_t *count, uint64_t *bytes);
/* SavedModel signatures of the loaded directory (0 for other formats); name i is owned by
 * the model, *selected (may be NULL) tells whether it is the one loaded. */
ST_API size_t st_model_n_signatures(const st_model *m);
ST_API const char *st_model_signature(const st_model *m, size_t i, bool *selected);

/* ---- sessions -------------------------------------------------------------------- */
typedef struct st_session st_session;

typedef struct st_session_opts {
    int threads; /* 0: all cores */
    /* Extra dimension bindings for symbolic dims, "name=value" pairs, may be NULL. */
    size_t n_dim_bindings;
    const char *const *dim_names;
    const int64_t *dim_values;
    bool keep_intermediates; /* keep every value (for compare --per-node) */
} st_session_opts;
ST_API st_session_opts st_session_opts_default(void);

/* Prepare a model to run. Fails with one message listing every operator the runtime lacks,
 * with counts. The session borrows the model: free the session first. */
ST_API st_status st_session_new(const st_model *m, const st_session_opts *opts, st_session **out,
                                st_error *err);
ST_API void st_session_free(st_session *s);
ST_API size_t st_session_n_outputs(const st_session *s);
ST_API const char *st_session_output_name(const st_session *s, size_t i);

/* Run once. Inputs are named (names may be NULL: positional over the model inputs);
 * inputs not given must be optional. *outputs receives st_session_n_outputs(s) values that
 * the caller frees with st_values_free. Inputs are borrowed for the call only. */
ST_API st_status st_session_run(st_session *s, size_t n_inputs, const char *const *names,
                                const st_value *inputs, st_value **outputs, st_error *err);

/* A session made with keep_intermediates: the value named `name` in the main graph after
 * the last run (borrowed until the next run or st_session_free), or NULL when unknown. */
ST_API const st_value *st_session_value(const st_session *s, const char *name);

/* ---- per-node observation (profiler hooks; NULL to remove) ------------------------ */
typedef struct st_node_event {
    size_t node_index; /* position in the session's execution order */
    const char *node_name;
    const char *op_type;
    int thread;        /* worker that ran it (0 = the calling thread) */
    size_t graph_node; /* the node's index in the model's main graph (file order) */
    int n_in, n_out;   /* its input and output values, borrowed for the call (an entry */
    const st_value *const *in, *const *out; /* is NULL when omitted; outputs are empty before) */
} st_node_event;
typedef void (*st_node_hook)(void *ud, const st_node_event *ev, bool after);
ST_API void st_session_set_hook(st_session *s, st_node_hook hook, void *ud);
ST_API size_t st_session_n_nodes(const st_session *s);

/* ---- profiling (begin) --------------------------------------------------------------
 * Time every node of a session's main graph and read counters around it:
 *
 *     st_profiler *p;
 *     st_profile_opts po = st_profile_opts_default();   // counters: "task-clock,cycles,..."
 *     st_profiler_new(m, s, &po, &p, &err);              // s: a session of model m
 *     for (...) {
 *         st_profiler_run_begin(p);                      // installs the node hook
 *         st_session_run(s, ...);
 *         st_profiler_run_end(p);                        // removes it
 *     }
 *     char *table;
 *     st_profile_report_opts ro = st_profile_report_opts_default();
 *     st_profiler_report(p, &ro, &table, &err); puts(table); st_string_free(table);
 *     st_profiler_write_logdir(p, "logs", "resnet18", NULL, &err);
 *     st_profiler_free(p);                               // before st_session_free
 *
 * Counters are perf's generic names (cycles, instructions, cache-references, cache-misses,
 * branch-misses, L1-dcache-load-misses, LLC-load-misses, task-clock, page-faults,
 * context-switches, ...) or any libpfm4 event string. A counter the machine lacks (no PMU
 * in a VM) is reported as "not supported"; it never fails the profile. */
typedef struct st_profiler st_profiler;

typedef struct st_profile_opts {
    const char *counters; /* comma-separated; NULL: ST_PROFILE_DEFAULT_COUNTERS; "": none */
    /* Read every thread's counters around every node even when reading threads running on
     * other CPUs costs more than 1.5% of a run (then, by default, they are read per run). */
    bool all_threads_per_node;
} st_profile_opts;
#define ST_PROFILE_DEFAULT_COUNTERS \
    "task-clock,page-faults,context-switches,cycles,instructions,cache-misses"
ST_API st_profile_opts st_profile_opts_default(void);

/* Profile session s of model m. The profiler borrows both: free it first. */
ST_API st_status st_profiler_new(const st_model *m, st_session *s, const st_profile_opts *opts,
                                 st_profiler **out, st_error *err);
ST_API void st_profiler_free(st_profiler *p);
/* Bracket one st_session_run: the hook is installed only between these two calls. */
ST_API void st_profiler_run_begin(st_profiler *p);
ST_API void st_profiler_run_end(st_profiler *p);
/* A run timed without the profiler (ms), for the overhead figure. */
ST_API void st_profiler_add_baseline(st_profiler *p, double ms);
ST_API size_t st_profiler_n_runs(const st_profiler *p);
ST_API double st_profiler_run_ms(const st_profiler *p, size_t i);

typedef enum { ST_PROFILE_BY_NODE = 0, ST_PROFILE_BY_OP, ST_PROFILE_GROUP_COUNT } st_profile_group;
typedef struct st_profile_report_opts {
    st_profile_group group_by;
    int top;             /* rows shown, 0 = all */
    bool json;           /* one JSON object instead of the text table */
    const char *model;   /* shown in the report, may be NULL */
    int threads, warmup; /* shown in the report */
} st_profile_report_opts;
ST_API st_profile_report_opts st_profile_report_opts_default(void);
/* The hotspot table (or JSON) with totals, counters and overhead; free with st_string_free. */
ST_API st_status st_profiler_report(const st_profiler *p, const st_profile_report_opts *o,
                                    char **out, st_error *err);
/* Chrome Trace Event JSON (Perfetto UI, chrome://tracing; Kineto fields). */
ST_API st_status st_profiler_write_trace(const st_profiler *p, const char *path, st_error *err);
/* A TensorBoard logdir run <logdir>/<run>/: tfevents scalars, graph and run metadata, the
 * trace as *.pt.trace.json and plugins/profile/<session>/<host>.xplane.pb. *run_dir (may be
 * NULL) receives the run folder; free it with st_string_free. */
ST_API st_status st_profiler_write_logdir(const st_profiler *p, const char *logdir, const char *run,
                                          char **run_dir, st_error *err);
/* The same report for a saved Chrome/Kineto trace (`cpu_op` X events; `ProfilerStep#N`
 * spans are the runs), such as st_profiler_write_trace writes: rows, totals and the counters
 * the trace carries. o->model names the trace in the JSON; free *out with st_string_free. */
ST_API st_status st_profile_trace_report(const char *path, const st_profile_report_opts *o,
                                         char **out, st_error *err);
/* ---- profiling (end) ---------------------------------------------------------------- */

/* ---- files the CLI reads and writes ---------------------------------------------- */
/* Read a tensor or sequence from .npy, or from ONNX protobuf (TensorProto, SequenceProto,
 * OptionalProto) files as the ONNX node suite stores them. `expect` (may be NULL) is the
 * model input's description: it decides which protobuf message a .pb file holds; without
 * it the kind is guessed. If the file names a value (TensorProto.name) and name_out is not
 * NULL, *name_out gets a copy that the caller frees with st_string_free. */
ST_API st_status st_value_read(const char *path, const struct st_value_info *expect, st_value *out,
                               char **name_out, st_error *err);
ST_API st_status st_tensor_write_npy(const char *path, const st_tensor *t, st_error *err);
/* Write a value in ONNX protobuf form (SequenceProto / OptionalProto / TensorProto). */
ST_API st_status st_value_write_pb(const char *path, const st_value *v, const char *name,
                                   st_error *err);
ST_API void st_string_free(char *s);

/* ---- compare: numerical parity (stele compare, convert's verification) ------------- */
/* Differences between a tensor `a` and a reference `b`. An element is outside tolerance
 * when |a - b| > atol + rtol * |b| (numpy.allclose), or when exactly one side is NaN, or
 * when infinities differ; NaN against NaN counts as equal. Complex elements compare their
 * real and imaginary parts as separate elements; strings compare for equality only. */
typedef struct st_compare_stats {
    bool dtype_mismatch; /* a and b have different element types (values still compared) */
    bool shape_mismatch; /* different shapes: no values compared */
    size_t n;            /* elements compared */
    size_t n_outside;    /* elements outside tolerance (including NaN/Inf mismatches) */
    size_t nan_mismatch; /* NaN on exactly one side */
    size_t inf_mismatch; /* an infinity on either side that the other does not match */
    double max_abs;      /* largest |a - b| over finite pairs */
    double max_rel;      /* largest |a - b| / |b| over finite pairs with b != 0 */
    double mean_abs;     /* mean |a - b| over finite pairs */
    double cosine;       /* cosine similarity over finite pairs (1 when both are zero) */
    size_t worst;        /* flat index of the worst element: first NaN/Inf mismatch, else
                              the largest |a - b|; meaningless when n == 0 */
    double worst_a, worst_b;
} st_compare_stats;
/* Compare a against b. Fails only with ST_ERR_INVALID for a NULL argument; mismatched
 * types and shapes are reported in *out, not as errors. */
ST_API st_status st_tensor_compare(const st_tensor *a, const st_tensor *b, double atol, double rtol,
                                   st_compare_stats *out, st_error *err);
/* true when s shows no difference beyond tolerance and no type or shape mismatch. */
ST_API bool st_compare_ok(const st_compare_stats *s);

/* The main graph's nodes in a topological order (the order they can run in), for matching
 * intermediates across two models. Names point into the model (valid until
 * st_model_free); the array is freed with st_node_infos_free. Omitted optional inputs and
 * outputs are "" entries. */
typedef struct st_node_info {
    const char *name; /* may be "" */
    const char *op_type;
    const char *domain; /* "" = ai.onnx */
    size_t n_inputs, n_outputs;
    const char *const *inputs;
    const char *const *outputs;
} st_node_info;
ST_API st_status st_model_nodes(const st_model *m, st_node_info **out, size_t *n, st_error *err);
ST_API void st_node_infos_free(st_node_info *nodes);

/* For random test inputs: when model input i (as st_model_input numbers them) is an
 * integer tensor that the graph uses as indices (Gather, GatherElements, GatherND,
 * Scatter(Elements), OneHot, NegativeLogLikelihoodLoss/SoftmaxCrossEntropyLoss labels,
 * possibly through Cast/Reshape/Unsqueeze/...), *bound gets the smallest indexed
 * dimension: values in [0, *bound) are valid. Returns false when no such use is known. */
ST_API bool st_model_input_index_bound(const st_model *m, size_t i, int64_t *bound);

/* Read every array of an .npz archive. On ST_OK, *names (member names without ".npy",
 * freed with st_strings_free) and *values (tensors, freed with st_values_free) have *n
 * entries. */
ST_API st_status st_npz_read_values(const char *path, size_t *n, char ***names, st_value **values,
                                    st_error *err);
ST_API void st_strings_free(char **names, size_t n);
/* ---- end of compare ------------------------------------------------------------------ */

/* ---- test control (test builds only) --------------------------------------------------- */
/* Hooks for stele's own tests, in the manner of sqlite3_test_control. Only a library built
 * with -DSTELE_TEST_HOOKS=ON (the default when tests are built; OFF for release) contains
 * st_test_control, and its targets define STELE_TEST_HOOKS for their users. The library
 * never arms a hook by itself (it reads no environment variable).
 *   ST_TESTCTRL_SAVE_FAULT, int fault (st_testfault): the next st_model_save on the calling
 *     thread applies `fault`, then the hook disarms. ST_TESTFAULT_PERTURB_FIRST_WEIGHT writes
 *     the first floating-point initializer with element 0 changed (+1, or x2 when |x| >= 1);
 *     the model itself is unchanged after the save. ST_TESTFAULT_NONE disarms.
 * Returns ST_ERR_INVALID for an unknown op or argument. */
#ifdef STELE_TEST_HOOKS
typedef enum { ST_TESTCTRL_SAVE_FAULT = 1, ST_TESTCTRL_COUNT } st_testctrl;
typedef enum {
    ST_TESTFAULT_NONE,
    ST_TESTFAULT_PERTURB_FIRST_WEIGHT,
    ST_TESTFAULT_COUNT
} st_testfault;
ST_API st_status st_test_control(int op, ...);
#endif

#ifdef __cplusplus
}
#endif
#endif
