/* profiler/prof.h: per-node timing and hardware/software counters recorded around the
 * executor's node hook, plus FLOP and byte estimates from shapes. It records; it never
 * formats or prints (viewer/ presents what it records). */
#ifndef ST_PROF_H
#define ST_PROF_H

#include <sys/types.h>

#include "core.h"
#include "ir.h"

/* ---- counters -------------------------------------------------------------------- */
/* Why a requested counter yields no numbers. */
typedef enum {
    ST_PROF_CNT_OK = 0,      /* opened and read */
    ST_PROF_CNT_UNSUPPORTED, /* ENOENT/EOPNOTSUPP/ENODEV/EINVAL: no such PMU event here */
    ST_PROF_CNT_DENIED,      /* EACCES/EPERM: perf_event_paranoid forbids it */
    ST_PROF_CNT_UNKNOWN,     /* neither a generic perf name nor a libpfm4 event string */
    ST_PROF_CNT_STATE_COUNT
} st_prof_cnt_state;

typedef struct st_prof_counter {
    char *name; /* as the user wrote it: "cycles", "L1-dcache-load-misses" */
    st_prof_cnt_state state;
    uint32_t type; /* perf_event_attr.type / config / config1 / config2 */
    uint64_t config, config1, config2;
    bool software;   /* PERF_TYPE_SOFTWARE: never multiplexed */
    int group, slot; /* the group it is read with and its place in it */
} st_prof_counter;

/* Open state per counter name list. Groups: all software counters share one; hardware
 * counters go in groups of at most ST_PROF_HW_GROUP (a group larger than the PMU's
 * counters would never be scheduled). */
#define ST_PROF_HW_GROUP 4
#define ST_PROF_REMOTE_MAX_PCT 1.5

/* Resolve a name to a perf_event_attr triple: perf's generic names first, then libpfm4.
 * Returns false when neither knows it. */
bool st_prof_event_resolve(const char *name, uint32_t *type, uint64_t *config, uint64_t *config1,
                           uint64_t *config2);
/* Multiplex scaling of a counter delta: raw * enabled / running (raw when running == 0
 * and enabled == 0; 0 when the group never ran). */
double st_prof_scale(uint64_t raw, uint64_t enabled, uint64_t running);

/* ---- what a node looked like when it ran ---------------------------------------- */
typedef struct st_prof_tinfo {
    st_val_kind kind; /* ST_VAL_NONE: omitted */
    st_dtype dtype;
    int ndim;
    int64_t dims[ST_MAX_RANK];
    uint64_t bytes;
} st_prof_tinfo;

typedef struct st_prof_node {
    bool seen;                           /* ran at least once while profiling */
    size_t graph_node;                   /* index in the model's main graph */
    const char *name, *op_type, *domain; /* borrowed from the model */
    int n_in, n_out;
    st_prof_tinfo *in, *out;
    double flops; /* estimated per call, 0 when unknown */
    bool flops_known;
    uint64_t bytes_in, bytes_out;
    uint64_t calls;
    int64_t total_ns;
    double *ctr; /* per counter: summed over calls and threads */
} st_prof_node;

/* One node run: times in ns since the profiler's origin; counters follow in
 * st_prof.rec_ctr[i * n_ctr ...]. */
typedef struct st_prof_rec {
    uint32_t pos, run;
    int64_t t0, t1;
} st_prof_rec;

typedef struct st_prof_run {
    int64_t t0, t1; /* ns since origin */
    double wall;    /* seconds since the epoch at the start */
} st_prof_run;

typedef struct st_prof_thread {
    pid_t tid;
    int *fd;          /* per group: leader fd, -1 when it failed */
    int *member_fd;   /* per counter: its own fd (closed on free) */
    uint64_t *before; /* per group: the read buffer taken before a node */
    uint64_t *after;
    uint64_t *run0, *run1; /* per group: reads at a run's start and end (per-run mode) */
} st_prof_thread;

typedef struct st_prof {
    st_prof_counter *ctr;
    int n_ctr;
    int n_groups;
    int *group_size; /* counters per group */
    st_prof_thread *threads;
    size_t n_threads, cap_threads;
    bool any_open;       /* at least one counter group open */
    size_t buf_words;    /* u64 words per group read buffer */
    int64_t origin_ns;   /* CLOCK_MONOTONIC at creation */
    double origin_wall;  /* epoch seconds at creation */
    st_prof_node *nodes; /* by execution position */
    size_t n_nodes, cap_nodes;
    st_prof_rec *recs;
    double *rec_ctr;
    size_t n_recs, cap_recs, cap_rec_ctr;
    size_t max_recs; /* the trace keeps at most this many node runs */
    st_prof_run *runs;
    size_t n_runs, cap_runs;
    bool in_run;
    pid_t run_tid;       /* the thread that runs the session (0 until a run) */
    int64_t node_t0;     /* the running node's start */
    bool have_prev;      /* the last node's closing counter read can open the next:
                               * counter intervals tile the run (the executor's few
                               * instructions between nodes count to the next node) */
    int64_t hook_ns;     /* time spent inside the hook (the profiler's own cost) */
    double *baseline_ms; /* plain runs without the hook, for the overhead figure */
    size_t n_baseline, cap_baseline;
    bool oom; /* a record could not be stored */
    /* Reading a thread's counters while it runs on another CPU takes an interrupt to that
     * CPU (dear in a VM). When that costs more than ST_PROF_REMOTE_MAX_PCT of the first
     * profiled run, other threads are read once per run instead (run_ctr) and nodes carry
     * the calling thread's counters; force_all keeps every thread per node. */
    bool all_per_node; /* every thread is read around every node */
    bool force_all;
    double remote_cost_pct; /* the first run's reading cost that decided it */
    double *run_ctr;        /* per run x counter: other threads' counts (per-run mode) */
    size_t cap_run_ctr;
    const st_graph *graph; /* the profiled model's main graph */
} st_prof;

/* Create a profiler for counters named in a comma-separated list (NULL or "" for none).
 * Unknown and unsupported counters are kept with their state, never an error. */
st_status st_prof_new(const st_graph *g, const char *counters, st_prof **out, st_error *err);
void st_prof_free(st_prof *p);
/* Open counter groups for threads of this process that have none yet. */
void st_prof_scan_threads(st_prof *p);
void st_prof_run_begin(st_prof *p);
void st_prof_run_end(st_prof *p);
/* The node hook (ud = st_prof). */
void st_prof_hook(void *ud, const st_node_event *ev, bool after);

/* FLOPs of one call from the node and its values (0 and *known = false if the op is not
 * in the table). */
double st_prof_flops(const st_node *nd, const st_prof_tinfo *in, int n_in, const st_prof_tinfo *out,
                     int n_out, bool *known);

#endif
