/* viewer/view.h: presents what profiler/ recorded — a hotspot table (text or JSON), a
 * Chrome/Kineto trace, a TensorBoard logdir (tfevents scalars, graph, run metadata, and an
 * xplane.pb profile). It reads a finished st_prof and the model graph, or a saved trace;
 * it never runs. Files form a chain: view_util.c (names, stats) <- hotspot.c, trace.c,
 * tfevents.c, xplane.c <- logdir.c (writes them all). */
#ifndef ST_VIEW_H
#define ST_VIEW_H

#include "prof.h"

/* ---- names (view_util.c) ----------------------------------------------------------- */
/* One display name per node of the main graph, unique, without a leading '/' and without
 * ':' (TensorBoard and xprof split on it): "layer1/layer1.0/conv1/Conv". Empty names become
 * "<OpType>_<index>". Also one per graph value that no node produces (inputs, weights). */
typedef struct st_view_names {
    char **node;  /* per graph node */
    char **value; /* per graph value: its producer's name (+":k") or its own node name */
    char **leaf;  /* per graph value without producer: a node name for it, else NULL */
    size_t n_nodes, n_values;
} st_view_names;
st_status st_view_names_make(const st_graph *g, st_view_names *out, st_error *err);
void st_view_names_free(st_view_names *nm);

/* ---- rows and totals (view_util.c) ---------------------------------------------- */
typedef enum { ST_VIEW_BY_NODE = 0, ST_VIEW_BY_OP, ST_VIEW_GROUP_COUNT } st_view_group;
extern const char *const st_view_group_name[ST_VIEW_GROUP_COUNT]; /* "node", "op" */

typedef struct st_view_row {
    const char *name; /* node display name or op type */
    const char *op;   /* op type */
    uint64_t calls;
    int64_t total_ns;
    double flops; /* total over calls; < 0 unknown */
    double bytes; /* total bytes read and written over calls */
    double *ctr;  /* per counter: total over calls */
} st_view_row;

/* Where the numbers in the summary come from (shared by the table and JSON). */
typedef struct st_view_stats {
    size_t runs;
    double run_mean_ms, run_median_ms, run_min_ms;
    double node_sum_ms;    /* per run: sum of node times */
    double coverage_pct;   /* node_sum / run time */
    double base_median_ms; /* plain runs, 0 when not measured */
    double overhead_pct;
    double hook_ms; /* per run: time inside the profiler's hook */
    double flops;   /* per run, known ops only */
    double bytes;   /* per run */
} st_view_stats;
void st_view_stats_make(const st_prof *p, st_view_stats *out);
/* Run statistics from n run times in ms (sorted in place). */
void st_view_stats_runs(double *run_ms, size_t n, st_view_stats *s);

typedef struct st_view_ctr {
    const char *name;
    st_prof_cnt_state state;
    double run_total; /* summed over runs: threads read once per run, outside the rows */
} st_view_ctr;

/* One hotspot summary, from a live profile (hotspot.c) or a saved trace (trace.c), printed
 * by one formatter (hotspot.c). Rows sorted by total time, descending. */
typedef struct st_view_summary {
    st_view_group by;
    st_view_row *rows;
    size_t n_rows;
    double *block; /* the rows' counters: n_rows * n_ctr */
    st_view_ctr *ctr;
    int n_ctr;
    st_view_stats stats;
    double run_ns_total;  /* what "% run" divides by: all runs' time */
    const st_prof *prof;  /* the live profile (threads, overhead), NULL for a trace */
    st_arena *strings;    /* names the rows point to, when the summary owns them */
    st_view_names *names; /* likewise, for a live profile */
} st_view_summary;
void st_view_summary_free(st_view_summary *s);
/* Sort rows by total time, descending (ties by name). */
void st_view_rows_sort(st_view_row *rows, size_t n);

/* "not supported" (ENOENT/EOPNOTSUPP), "not permitted", "unknown event", or "ok". */
const char *st_view_counter_state(st_prof_cnt_state s);
/* The state a trace stored for a counter it could not read, by its text; false if none. */
bool st_view_counter_state_parse(const char *text, st_prof_cnt_state *out);
/* Route cJSON's allocations through st_malloc/st_free; call before any cJSON use here. */
void st_view_json_init(void);
/* n zeroed bytes (at least 1) from arena a, or NULL: protobuf-c messages are built in one. */
void *st_view_az(st_arena *a, size_t n);

/* ---- the hotspot table (hotspot.c) ----------------------------------------------- */
typedef struct st_view_opts {
    st_view_group group_by;
    int top;           /* rows to show, 0 all */
    const char *model; /* shown in headings; for a trace, its path */
    int threads;
    int warmup;
} st_view_opts;

/* Rows of a live profile; each row's ctr points into *block. Free both with
 * st_view_rows_free. */
st_status st_view_rows(const st_prof *p, const st_view_names *nm, st_view_group by,
                       st_view_row **out, size_t *n, double **block, st_error *err);
void st_view_rows_free(st_view_row *rows, double *block);
st_status st_view_summary_prof(const st_prof *p, st_view_group by, st_view_summary *out,
                               st_error *err);
/* The text table or JSON of a summary (st_free the string). */
st_status st_view_summary_table(const st_view_summary *s, const st_view_opts *o, char **out,
                                st_error *err);
st_status st_view_summary_json(const st_view_summary *s, const st_view_opts *o, char **out,
                               st_error *err);
/* Both for a live profile. */
st_status st_view_table(const st_prof *p, const st_view_opts *o, char **out, st_error *err);
st_status st_view_json(const st_prof *p, const st_view_opts *o, char **out, st_error *err);

/* ---- files ----------------------------------------------------------------------- */
/* Chrome Trace Event JSON with the fields PyTorch's profiler writes (Kineto style). */
st_status st_view_trace(const st_prof *p, const char *model, const char *path, st_error *err);
/* Read a Chrome/Kineto trace back (`cpu_op` X events, `ProfilerStep#N` spans as runs) into
 * a summary grouped by node name or op type. */
st_status st_view_trace_read(const char *path, st_view_group by, st_view_summary *out,
                             st_error *err);
/* <logdir>/<run>/: events.out.tfevents.<secs>.<host>, <host>_<pid>.<ms>.pt.trace.json and
 * plugins/profile/<session>/<host>.xplane.pb. *run_dir (may be NULL) gets the run folder
 * (st_free). */
st_status st_view_logdir(const st_prof *p, const char *model, const char *logdir, const char *run,
                         char **run_dir, st_error *err);
/* The writers the logdir uses, each on its own. */
st_status st_view_events(const st_prof *p, const st_view_names *nm, const char *path,
                         st_error *err);
st_status st_view_xplane(const st_prof *p, const st_view_names *nm, const char *host,
                         const char *path, st_error *err);

#endif
