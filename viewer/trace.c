/* viewer/trace.c: the profile as Chrome Trace Event JSON that Perfetto UI and
 * chrome://tracing open, with the fields PyTorch's profiler (Kineto) writes so trace tools
 * built for `*.pt.trace.json` read it too: `cat` on every X event, integer tids,
 * `ProfilerStep#N` spans around runs, `Input Dims`/`Input type` args. Times are exact
 * microseconds with nanosecond decimals, so nested spans stay nested. Reading a trace back
 * (ours or PyTorch's) gives the same hotspot summary a live profile does. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "view.h"

static void dims_json(st_sb *b, const st_prof_tinfo *t, int n) {
    st_sb_printf(b, "[");
    for (int i = 0; i < n; i++) {
        st_sb_printf(b, "%s[", i ? "," : "");
        if (t[i].kind == ST_VAL_TENSOR)
            for (int d = 0; d < t[i].ndim; d++)
                st_sb_printf(b, "%s%lld", d ? "," : "", (long long)t[i].dims[d]);
        st_sb_printf(b, "]");
    }
    st_sb_printf(b, "]");
}

static void types_json(st_sb *b, const st_prof_tinfo *t, int n) {
    st_sb_printf(b, "[");
    for (int i = 0; i < n; i++) {
        st_sb_printf(b, "%s", i ? "," : "");
        st_sb_json_str(b, t[i].kind == ST_VAL_TENSOR     ? st_dtype_name(t[i].dtype)
                          : t[i].kind == ST_VAL_SEQUENCE ? "sequence"
                                                         : "");
    }
    st_sb_printf(b, "]");
}

static void number(st_sb *b, double v) {
    if (v == (double)(long long)v && v < 9e15 && v > -9e15) st_sb_printf(b, "%lld", (long long)v);
    else st_sb_printf(b, "%.17g", v);
}

st_status st_view_trace(const st_prof *p, const char *model, const char *path, st_error *err) {
    st_view_names nm = {0};
    st_status st = st_view_names_make(p->graph, &nm, err);
    if (st) return st;
    st_sb b = {0};
    int pid = (int)getpid(), tid = p->run_tid ? (int)p->run_tid : pid;
    long long base_ns = (long long)(p->origin_wall * 1e9);
    st_sb_printf(
        &b,
        "{\n\"schemaVersion\": 1,\n\"displayTimeUnit\": \"ms\",\n\"baseTimeNanoseconds\": %lld,\n",
        base_ns);
    st_sb_printf(&b, "\"deviceProperties\": [],\n\"traceName\": ");
    st_sb_json_str(&b, path);
    st_sb_printf(&b, ",\n\"traceEvents\": [\n");
    st_sb_printf(
        &b,
        "{\"ph\": \"M\", \"name\": \"process_name\", \"pid\": %d, \"tid\": 0, \"args\": {\"name\": ",
        pid);
    char label[1200];
    snprintf(label, sizeof label, "stele %s", model ? model : "");
    st_sb_json_str(&b, label);
    st_sb_printf(
        &b,
        "}},\n{\"ph\": \"M\", \"name\": \"process_labels\", \"pid\": %d, \"tid\": 0, \"args\": {\"labels\": \"CPU\"}},\n",
        pid);
    st_sb_printf(
        &b,
        "{\"ph\": \"M\", \"name\": \"thread_name\", \"pid\": %d, \"tid\": %d, \"args\": {\"name\": \"stele run (thread %d)\"}},\n",
        pid, tid, tid);
    st_sb_printf(
        &b,
        "{\"ph\": \"M\", \"name\": \"thread_sort_index\", \"pid\": %d, \"tid\": %d, \"args\": {\"sort_index\": 0}}",
        pid, tid);
    long long ext = 1;
    for (size_t r = 0; r < p->n_runs; r++) {
        st_sb_printf(
            &b,
            ",\n{\"ph\": \"X\", \"cat\": \"user_annotation\", \"name\": \"ProfilerStep#%zu\", \"pid\": %d, \"tid\": %d, \"ts\": ",
            r, pid, tid);
        st_sb_ns_us(&b, p->runs[r].t0);
        st_sb_printf(&b, ", \"dur\": ");
        st_sb_ns_us(&b, p->runs[r].t1 - p->runs[r].t0);
        st_sb_printf(&b, ", \"args\": {\"External id\": %lld, \"Step\": %zu}}", ext++, r);
    }
    for (size_t i = 0; i < p->n_recs; i++) {
        const st_prof_rec *rec = &p->recs[i];
        const st_prof_node *n = &p->nodes[rec->pos];
        const char *name = n->graph_node < nm.n_nodes ? nm.node[n->graph_node] : n->name;
        st_sb_printf(&b, ",\n{\"ph\": \"X\", \"cat\": \"cpu_op\", \"name\": ");
        st_sb_json_str(&b, name);
        st_sb_printf(&b, ", \"pid\": %d, \"tid\": %d, \"ts\": ", pid, tid);
        st_sb_ns_us(&b, rec->t0);
        st_sb_printf(&b, ", \"dur\": ");
        st_sb_ns_us(&b, rec->t1 - rec->t0);
        st_sb_printf(
            &b,
            ", \"args\": {\"External id\": %lld, \"Record function id\": %u, \"Sequence number\": %u, \"Op type\": ",
            ext++, rec->pos, rec->run);
        st_sb_json_str(&b, n->op_type);
        st_sb_printf(&b, ", \"Input Dims\": ");
        dims_json(&b, n->in, n->n_in);
        st_sb_printf(&b, ", \"Input type\": ");
        types_json(&b, n->in, n->n_in);
        st_sb_printf(&b, ", \"Output Dims\": ");
        dims_json(&b, n->out, n->n_out);
        st_sb_printf(&b, ", \"Output type\": ");
        types_json(&b, n->out, n->n_out);
        if (n->flops_known) {
            st_sb_printf(&b, ", \"FLOPs\": ");
            number(&b, n->flops);
        }
        st_sb_printf(&b, ", \"Bytes\": %llu", (unsigned long long)(n->bytes_in + n->bytes_out));
        for (int c = 0; c < p->n_ctr; c++) {
            st_sb_printf(&b, ", ");
            st_sb_json_str(&b, p->ctr[c].name);
            if (p->ctr[c].state == ST_PROF_CNT_OK) {
                st_sb_printf(&b, ": ");
                number(&b, p->rec_ctr[i * (size_t)p->n_ctr + (size_t)c]);
            } else {
                st_sb_printf(&b, ": ");
                st_sb_json_str(&b, st_view_counter_state(p->ctr[c].state));
            }
        }
        st_sb_printf(&b, "}}");
    }
    st_sb_printf(&b, "\n]\n}\n");
    st_view_names_free(&nm);
    char *txt = st_sb_take(&b);
    if (!txt) return st_error_nomem(err);
    st = st_write_file(path, txt, strlen(txt), err);
    st_free(txt);
    return st;
}

/* ---- reading a trace back -------------------------------------------------------- */

/* Arguments stele's writer and Kineto put on cpu_op events that are not counters. */
static const char *const not_counters[] = {
    "External id",
    "Record function id",
    "Sequence number",
    "Op type",
    "Input Dims",
    "Input type",
    "Input Strides",
    "Output Dims",
    "Output type",
    "FLOPs",
    "Bytes",
    "Concrete Inputs",
    "Ev Idx",
    "Fwd thread id",
    "Python id",
    "Python parent id",
    "Python thread",
    "Trace name",
    "Trace iteration",
    "Call stack",
    "Module Hierarchy",
};

typedef struct trace_reader {
    st_view_summary s;
    st_strmap rows;  /* row key -> row index; keys are the summary's strings */
    st_strmap ctrs;  /* counter name -> counter index; likewise */
    double *step_ms; /* one per ProfilerStep span */
    size_t n_steps, cap_steps, cap_ctr, n_ops;
    int64_t op_ns;
    double flops, bytes; /* over all calls: known FLOPs, bytes moved */
} trace_reader;

static const cJSON *arg(const cJSON *e, const char *key) {
    return cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(e, "args"), key);
}

/* A complete ("X") event's name and duration; NULL for anything else. */
static const char *x_event(const cJSON *e, double *dur_us) {
    const cJSON *ph = cJSON_GetObjectItemCaseSensitive(e, "ph");
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(e, "name");
    const cJSON *dur = cJSON_GetObjectItemCaseSensitive(e, "dur");
    if (!cJSON_IsString(ph) || strcmp(ph->valuestring, "X") || !cJSON_IsString(name) ||
        !cJSON_IsNumber(dur))
        return NULL;
    *dur_us = dur->valuedouble;
    return name->valuestring;
}

static bool is_op(const cJSON *e) {
    const cJSON *cat = cJSON_GetObjectItemCaseSensitive(e, "cat");
    return cJSON_IsString(cat) && !strcmp(cat->valuestring, "cpu_op");
}

/* A counter's value, or its state when the profile could not read it. */
static bool counter_arg(const cJSON *a, st_prof_cnt_state *state) {
    if (!a->string) return false;
    for (size_t i = 0; i < ST_ARRAY_LEN(not_counters); i++)
        if (!strcmp(a->string, not_counters[i])) return false;
    *state = ST_PROF_CNT_OK;
    return cJSON_IsNumber(a) ||
           (cJSON_IsString(a) && st_view_counter_state_parse(a->valuestring, state));
}

/* First pass: the runs, the counters and how many operator events there are. */
static bool trace_scan(trace_reader *t, const cJSON *evs) {
    const cJSON *e;
    cJSON_ArrayForEach(e, evs) {
        double dur;
        const char *name = x_event(e, &dur);
        if (!name) continue;
        if (!strncmp(name, "ProfilerStep#", 13)) {
            if (!ST_GROW(t->step_ms, t->cap_steps, t->n_steps + 1)) return false;
            t->step_ms[t->n_steps++] = dur / 1e3;
            continue;
        }
        if (!is_op(e)) continue;
        t->n_ops++;
        const cJSON *a;
        cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(e, "args")) {
            st_prof_cnt_state state;
            if (!counter_arg(a, &state) || st_strmap_get(&t->ctrs, a->string, NULL)) continue;
            if (!ST_GROW(t->s.ctr, t->cap_ctr, (size_t)t->s.n_ctr + 1)) return false;
            st_view_ctr *k = &t->s.ctr[t->s.n_ctr];
            k->name = st_arena_strdup(t->s.strings, a->string);
            k->state = state;
            k->run_total = 0;
            if (!k->name || !st_strmap_put(&t->ctrs, k->name, t->s.n_ctr)) return false;
            t->s.n_ctr++;
        }
    }
    return true;
}

/* The row of an operator event, made on first sight; NULL when memory ran short. */
static st_view_row *trace_row(trace_reader *t, const char *name, const char *op) {
    const char *key = t->s.by == ST_VIEW_BY_OP ? op : name;
    intptr_t r;
    if (st_strmap_get(&t->rows, key, &r)) return &t->s.rows[r];
    st_view_row *w = &t->s.rows[t->s.n_rows];
    w->op = st_arena_strdup(t->s.strings, op);
    w->name = t->s.by == ST_VIEW_BY_OP ? w->op : st_arena_strdup(t->s.strings, name);
    w->ctr = t->s.block + t->s.n_rows * (size_t)t->s.n_ctr;
    if (!w->op || !w->name || !st_strmap_put(&t->rows, w->name, (intptr_t)t->s.n_rows)) return NULL;
    t->s.n_rows++;
    return w;
}

/* Second pass: one operator event into its row. */
static bool trace_add(trace_reader *t, const cJSON *e, const char *name, double dur_us) {
    const cJSON *op = arg(e, "Op type"), *fl = arg(e, "FLOPs"), *by = arg(e, "Bytes");
    st_view_row *w = trace_row(t, name, cJSON_IsString(op) ? op->valuestring : name);
    if (!w) return false;
    int64_t ns = llround(dur_us * 1e3);
    w->calls++;
    w->total_ns += ns;
    t->op_ns += ns;
    if (!cJSON_IsNumber(fl)) {
        w->flops = -1;
    } else {
        t->flops += fl->valuedouble;
        if (w->flops >= 0) w->flops += fl->valuedouble;
    }
    if (cJSON_IsNumber(by)) {
        w->bytes += by->valuedouble;
        t->bytes += by->valuedouble;
    }
    const cJSON *a;
    cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(e, "args")) {
        intptr_t c;
        if (cJSON_IsNumber(a) && a->string && st_strmap_get(&t->ctrs, a->string, &c))
            w->ctr[c] += a->valuedouble;
    }
    return true;
}

static void trace_stats(trace_reader *t) {
    st_view_stats *s = &t->s.stats;
    st_view_stats_runs(t->step_ms, t->n_steps, s);
    double runs = t->n_steps ? (double)t->n_steps : 1;
    s->node_sum_ms = (double)t->op_ns / 1e6 / runs;
    s->coverage_pct = s->run_mean_ms > 0 ? 100 * s->node_sum_ms / s->run_mean_ms : 0;
    s->flops = t->flops / runs;
    s->bytes = t->bytes / runs;
    t->s.run_ns_total = t->n_steps ? s->run_mean_ms * 1e6 * runs : (double)t->op_ns;
}

static st_status trace_rows(trace_reader *t, const cJSON *evs, st_error *err) {
    if (!trace_scan(t, evs)) return st_error_nomem(err);
    size_t cap = t->n_ops ? t->n_ops : 1, nc = (size_t)t->s.n_ctr;
    t->s.rows = st_calloc(cap, sizeof *t->s.rows);
    t->s.block = st_calloc(cap * (nc ? nc : 1), sizeof *t->s.block);
    if (!t->s.rows || !t->s.block) return st_error_nomem(err);
    const cJSON *e;
    cJSON_ArrayForEach(e, evs) {
        double dur;
        const char *name = x_event(e, &dur);
        if (name && strncmp(name, "ProfilerStep#", 13) && is_op(e) && !trace_add(t, e, name, dur))
            return st_error_nomem(err);
    }
    st_view_rows_sort(t->s.rows, t->s.n_rows);
    trace_stats(t);
    return ST_OK;
}

st_status st_view_trace_read(const char *path, st_view_group by, st_view_summary *out,
                             st_error *err) {
    trace_reader t = {.s = {.by = by}};
    st_strmap_init_borrow(&t.rows);
    st_strmap_init_borrow(&t.ctrs);
    st_buf *file = NULL;
    cJSON *root = NULL;
    st_status st = st_read_file(path, &file, err);
    if (st) goto fail;
    st_view_json_init();
    root = cJSON_ParseWithLength(file->data, file->size);
    const cJSON *evs =
        cJSON_IsArray(root) ? root : cJSON_GetObjectItemCaseSensitive(root, "traceEvents");
    if (!cJSON_IsArray(evs)) {
        st = st_errorf(err, ST_ERR_FORMAT, "%s: not a Chrome trace (no traceEvents list)", path);
        goto fail;
    }
    t.s.strings = st_arena_new(1 << 12);
    st = t.s.strings ? trace_rows(&t, evs, err) : st_error_nomem(err);
    if (st) goto fail;
    *out = t.s;
    t.s = (st_view_summary){0};
fail:
    cJSON_Delete(root);
    st_buf_unref(file);
    st_strmap_free(&t.rows);
    st_strmap_free(&t.ctrs);
    st_free(t.step_ms);
    st_view_summary_free(&t.s);
    return st;
}
