/* api/profile.c: the profiling half of include/stele.h over profiler/ (recording) and
 * viewer/ (tables, traces, logdirs). It adds no semantics of its own. */
#include <string.h>

#include "exec.h"
#include "ir.h"
#include "prof.h"
#include "view.h"

struct st_profiler {
    st_prof *prof;
    st_session *session;
    const st_model *model;
};

st_profile_opts st_profile_opts_default(void) {
    st_profile_opts o;
    memset(&o, 0, sizeof o);
    return o;
}

st_profile_report_opts st_profile_report_opts_default(void) {
    st_profile_report_opts o;
    memset(&o, 0, sizeof o);
    return o;
}

st_status st_profiler_new(const st_model *m, st_session *s, const st_profile_opts *opts,
                          st_profiler **out, st_error *err) {
    if (!m || !m->graph || !s)
        return st_errorf(err, ST_ERR_INVALID, "profiler: no model or session");
    st_profiler *p = st_calloc(1, sizeof *p);
    if (!p) return st_error_nomem(err);
    const char *counters = opts && opts->counters ? opts->counters : ST_PROFILE_DEFAULT_COUNTERS;
    st_status st = st_prof_new(m->graph, counters, &p->prof, err);
    if (st) {
        st_free(p);
        return st;
    }
    p->prof->force_all = opts && opts->all_threads_per_node;
    p->session = s;
    p->model = m;
    *out = p;
    return ST_OK;
}

void st_profiler_free(st_profiler *p) {
    if (!p) return;
    st_session_set_hook(p->session, NULL, NULL);
    st_prof_free(p->prof);
    st_free(p);
}

void st_profiler_run_begin(st_profiler *p) {
    st_prof_run_begin(p->prof);
    st_session_set_hook(p->session, st_prof_hook, p->prof);
}

void st_profiler_run_end(st_profiler *p) {
    st_session_set_hook(p->session, NULL, NULL);
    st_prof_run_end(p->prof);
}

void st_profiler_add_baseline(st_profiler *p, double ms) {
    st_prof *q = p->prof;
    if (ST_GROW(q->baseline_ms, q->cap_baseline, q->n_baseline + 1))
        q->baseline_ms[q->n_baseline++] = ms;
}

size_t st_profiler_n_runs(const st_profiler *p) { return p->prof->n_runs; }

double st_profiler_run_ms(const st_profiler *p, size_t i) {
    return i < p->prof->n_runs ? (double)(p->prof->runs[i].t1 - p->prof->runs[i].t0) / 1e6 : 0;
}

static st_view_opts view_opts(const st_profile_report_opts *o) {
    st_profile_report_opts d = st_profile_report_opts_default();
    if (!o) o = &d;
    return (st_view_opts){o->group_by == ST_PROFILE_BY_OP ? ST_VIEW_BY_OP : ST_VIEW_BY_NODE, o->top,
                          o->model, o->threads, o->warmup};
}

st_status st_profiler_report(const st_profiler *p, const st_profile_report_opts *o, char **out,
                             st_error *err) {
    st_view_opts vo = view_opts(o);
    return o && o->json ? st_view_json(p->prof, &vo, out, err)
                        : st_view_table(p->prof, &vo, out, err);
}

st_status st_profile_trace_report(const char *path, const st_profile_report_opts *o, char **out,
                                  st_error *err) {
    if (!path) return st_errorf(err, ST_ERR_INVALID, "profile: no trace path");
    st_view_opts vo = view_opts(o);
    st_view_summary s;
    st_status st = st_view_trace_read(path, vo.group_by, &s, err);
    if (st) return st;
    st = o && o->json ? st_view_summary_json(&s, &vo, out, err)
                      : st_view_summary_table(&s, &vo, out, err);
    st_view_summary_free(&s);
    return st;
}

static const char *model_label(const st_profiler *p) {
    return p->model->path ? p->model->path : "model";
}

st_status st_profiler_write_trace(const st_profiler *p, const char *path, st_error *err) {
    return st_view_trace(p->prof, model_label(p), path, err);
}

st_status st_profiler_write_logdir(const st_profiler *p, const char *logdir, const char *run,
                                   char **run_dir, st_error *err) {
    return st_view_logdir(p->prof, model_label(p), logdir, run, run_dir, err);
}
