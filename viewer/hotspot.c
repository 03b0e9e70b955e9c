/* viewer/hotspot.c: the hotspot summary (rows grouped by node or op type, run totals,
 * counters, the profiler's overhead) as a text table or JSON — one formatter for a live
 * profile and for a trace read back by trace.c. It formats into strings; the CLI prints. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "view.h"

/* ---- rows of a live profile ------------------------------------------------------ */

void st_view_rows_free(st_view_row *rows, double *block) {
    st_free(rows);
    st_free(block);
}

st_status st_view_rows(const st_prof *p, const st_view_names *nm, st_view_group by,
                       st_view_row **out, size_t *n_out, double **block, st_error *err) {
    size_t cap = p->n_nodes ? p->n_nodes : 1, n = 0, nc = (size_t)p->n_ctr;
    st_view_row *rows = st_calloc(cap, sizeof *rows);
    double *ctr = st_calloc(cap * (nc ? nc : 1), sizeof *ctr);
    st_strmap ops; /* op type -> row, when grouping by op */
    st_strmap_init_borrow(&ops);
    if (!rows || !ctr) goto nomem;
    for (size_t i = 0; i < p->n_nodes; i++) {
        const st_prof_node *pn = &p->nodes[i];
        if (!pn->seen || !pn->calls) continue;
        intptr_t r = (intptr_t)n;
        if (by == ST_VIEW_BY_OP && st_strmap_get(&ops, pn->op_type, &r)) {
        } else {
            if (by == ST_VIEW_BY_OP && !st_strmap_put(&ops, pn->op_type, r)) goto nomem;
            rows[n].ctr = ctr + n * nc;
            rows[n].op = pn->op_type;
            rows[n].name = by == ST_VIEW_BY_OP                  ? pn->op_type
                           : nm && pn->graph_node < nm->n_nodes ? nm->node[pn->graph_node]
                                                                : pn->name;
            n++;
        }
        st_view_row *w = &rows[r];
        w->calls += pn->calls;
        w->total_ns += pn->total_ns;
        if (!pn->flops_known) w->flops = -1;
        else if (w->flops >= 0) w->flops += pn->flops * (double)pn->calls;
        w->bytes += (double)(pn->bytes_in + pn->bytes_out) * (double)pn->calls;
        for (size_t c = 0; c < nc; c++) w->ctr[c] += pn->ctr[c];
    }
    st_strmap_free(&ops);
    st_view_rows_sort(rows, n);
    *out = rows;
    *n_out = n;
    *block = ctr;
    return ST_OK;
nomem:
    st_strmap_free(&ops);
    st_view_rows_free(rows, ctr);
    return st_error_nomem(err);
}

st_status st_view_summary_prof(const st_prof *p, st_view_group by, st_view_summary *out,
                               st_error *err) {
    st_view_summary s = {.by = by, .prof = p, .n_ctr = p->n_ctr};
    s.names = st_calloc(1, sizeof *s.names);
    s.ctr = st_calloc((size_t)p->n_ctr + 1, sizeof *s.ctr);
    if (!s.names || !s.ctr) {
        st_view_summary_free(&s);
        return st_error_nomem(err);
    }
    st_status st = st_view_names_make(p->graph, s.names, err);
    if (!st) st = st_view_rows(p, s.names, by, &s.rows, &s.n_rows, &s.block, err);
    if (st) {
        st_view_summary_free(&s);
        return st;
    }
    for (int c = 0; c < p->n_ctr; c++) {
        s.ctr[c].name = p->ctr[c].name;
        s.ctr[c].state = p->ctr[c].state;
        for (size_t r = 0; p->run_ctr && r < p->n_runs; r++)
            s.ctr[c].run_total += p->run_ctr[r * (size_t)p->n_ctr + (size_t)c];
    }
    st_view_stats_make(p, &s.stats);
    s.run_ns_total = s.stats.run_mean_ms * 1e6 * (double)(s.stats.runs ? s.stats.runs : 1);
    *out = s;
    return ST_OK;
}

/* ---- shared arithmetic ----------------------------------------------------------- */

/* Counter c summed over all runs: the rows plus the threads read once per run. */
static double ctr_total(const st_view_summary *s, int c) {
    double t = s->ctr[c].run_total;
    for (size_t i = 0; i < s->n_rows; i++) t += s->rows[i].ctr[c];
    return t;
}

static int find_ctr(const st_view_summary *s, const char *name) {
    for (int c = 0; c < s->n_ctr; c++)
        if (!strcmp(s->ctr[c].name, name) && s->ctr[c].state == ST_PROF_CNT_OK) return c;
    return -1;
}

/* Instructions per cycle over everything, or < 0 without both counters. */
static double ipc(const st_view_summary *s) {
    int cy = find_ctr(s, "cycles"), in = find_ctr(s, "instructions");
    if (cy < 0 || in < 0) return -1;
    double tc = ctr_total(s, cy);
    return tc > 0 ? ctr_total(s, in) / tc : 0;
}

static double runs_of(const st_view_summary *s) {
    return s->stats.runs ? (double)s->stats.runs : 1;
}

static double pct_of_run(const st_view_summary *s, const st_view_row *r) {
    return s->run_ns_total > 0 ? 100 * (double)r->total_ns / s->run_ns_total : 0;
}

static size_t shown_rows(const st_view_summary *s, const st_view_opts *o) {
    return o->top > 0 && (size_t)o->top < s->n_rows ? (size_t)o->top : s->n_rows;
}

/* A counter value in a short human form: 12.3M, 456k, 789. */
static void short_num(char *buf, size_t n, double v) {
    double a = fabs(v);
    if (a >= 1e9) snprintf(buf, n, "%.2fG", v / 1e9);
    else if (a >= 1e6) snprintf(buf, n, "%.2fM", v / 1e6);
    else if (a >= 1e4) snprintf(buf, n, "%.1fk", v / 1e3);
    else snprintf(buf, n, "%.0f", v);
}

/* ---- the text table -------------------------------------------------------------- */

static int ctr_width(const st_view_ctr *k) { return ST_MAX(10, (int)strlen(k->name)); }

static void table_rows(st_sb *b, const st_view_summary *s, size_t shown) {
    bool by_node = s->by == ST_VIEW_BY_NODE;
    int w = by_node ? 8 : 12;
    for (size_t i = 0; i < shown; i++) w = ST_MAX(w, (int)ST_MIN(strlen(s->rows[i].name), 48));
    st_sb_printf(b, "%-*s %-14s %7s %10s %9s %6s %8s", w, st_view_group_name[s->by],
                 by_node ? "op" : "", "calls", "total ms", "mean ms", "% run", "GFLOP/s");
    for (int c = 0; c < s->n_ctr; c++)
        if (s->ctr[c].state == ST_PROF_CNT_OK)
            st_sb_printf(b, " %*s", ctr_width(&s->ctr[c]), s->ctr[c].name);
    st_sb_putc(b, '\n');
    for (size_t i = 0; i < shown; i++) {
        const st_view_row *r = &s->rows[i];
        double ms = (double)r->total_ns / 1e6;
        char gf[32] = "-";
        if (r->flops > 0 && r->total_ns > 0)
            snprintf(gf, sizeof gf, "%.2f", r->flops / (double)r->total_ns);
        st_sb_printf(b, "%-*.*s %-14.14s %7llu %10.3f %9.4f %5.1f%% %8s", w, 48, r->name,
                     by_node ? r->op : "", (unsigned long long)r->calls, ms,
                     r->calls ? ms / (double)r->calls : 0, pct_of_run(s, r), gf);
        for (int c = 0; c < s->n_ctr; c++) {
            if (s->ctr[c].state != ST_PROF_CNT_OK) continue;
            char v[32];
            short_num(v, sizeof v, r->calls ? r->ctr[c] / (double)r->calls : 0);
            st_sb_printf(b, " %*s", ctr_width(&s->ctr[c]), v);
        }
        st_sb_putc(b, '\n');
    }
    if (shown < s->n_rows)
        st_sb_printf(b, "... %zu more %s\n", s->n_rows - shown, by_node ? "nodes" : "op types");
    if (s->n_ctr)
        st_sb_printf(b, "(counters are per call%s)\n",
                     !s->prof                ? ""
                     : s->prof->all_per_node ? ", summed over the process's threads"
                                             : ", of the thread running the session");
}

static void table_counters(st_sb *b, const st_view_summary *s) {
    st_sb_printf(b, "counters ");
    for (int c = 0; c < s->n_ctr; c++) {
        const st_view_ctr *k = &s->ctr[c];
        const char *sep = c + 1 < s->n_ctr ? "," : "";
        if (k->state == ST_PROF_CNT_OK) {
            char v[32];
            short_num(v, sizeof v, ctr_total(s, c) / runs_of(s));
            st_sb_printf(b, " %s %s/run%s", k->name, v, sep);
        } else {
            st_sb_printf(b, " %s <%s>%s", k->name, st_view_counter_state(k->state), sep);
        }
    }
    st_sb_putc(b, '\n');
    double i = ipc(s);
    if (i >= 0) st_sb_printf(b, "IPC       %.2f instructions per cycle\n", i);
}

/* What only a live profile knows: its own overhead, threads, memory shortage. */
static void table_profiler(st_sb *b, const st_prof *p, const st_view_stats *t) {
    if (t->base_median_ms > 0)
        st_sb_printf(b,
                     "overhead  %+.2f%%: profiled median %.3f ms vs %.3f ms without the "
                     "profiler (hook %.3f ms per run)\n",
                     t->overhead_pct, t->run_median_ms, t->base_median_ms, t->hook_ms);
    else
        st_sb_printf(b, "overhead  hook %.3f ms per run (%.2f%% of the run)\n", t->hook_ms,
                     t->run_mean_ms > 0 ? 100 * t->hook_ms / t->run_mean_ms : 0);
    if (!p->all_per_node)
        st_sb_printf(b,
                     "threads   node counters are the calling thread's; %zu other thread%s read "
                     "once per run (in the\n"
                     "          totals): reading other threads around every node cost %.1f%% "
                     "of the first\n"
                     "          run here (cross-CPU reads); --all-threads-per-node reads them "
                     "per node anyway\n",
                     p->n_threads - 1, p->n_threads == 2 ? " is" : "s are", p->remote_cost_pct);
    if (p->oom)
        st_sb_printf(b, "note      memory ran short: some node runs are missing from the trace\n");
}

st_status st_view_summary_table(const st_view_summary *s, const st_view_opts *o, char **out,
                                st_error *err) {
    const st_view_stats *t = &s->stats;
    st_sb b = {0};
    table_rows(&b, s, shown_rows(s, o));
    st_sb_putc(&b, '\n');
    if (t->runs)
        st_sb_printf(&b, "runs      %zu profiled: mean %.3f ms, median %.3f ms, min %.3f ms\n",
                     t->runs, t->run_mean_ms, t->run_median_ms, t->run_min_ms);
    else
        st_sb_printf(
            &b, "runs      none marked (no ProfilerStep spans): %% run is of the nodes' time\n");
    st_sb_printf(&b, "nodes     times sum to %.3f ms per run = %.1f%% of the run time\n",
                 t->node_sum_ms, t->coverage_pct);
    if (t->flops > 0)
        st_sb_printf(&b,
                     "work      %.3f GFLOP per run (ops with known cost), %.2f GFLOP/s, %.1f MB "
                     "moved, %.2f FLOP/byte\n",
                     t->flops / 1e9, t->run_mean_ms > 0 ? t->flops / (t->run_mean_ms * 1e6) : 0,
                     t->bytes / 1e6, t->bytes > 0 ? t->flops / t->bytes : 0);
    if (s->prof) table_profiler(&b, s->prof, t);
    if (s->n_ctr) table_counters(&b, s);
    char *txt = st_sb_take(&b);
    if (!txt) return st_error_nomem(err);
    *out = txt;
    return ST_OK;
}

/* ---- JSON ------------------------------------------------------------------------ */

/* A counter's value under its name, or the reason it has none. */
static void ctr_json(cJSON *obj, const st_view_ctr *k, double v) {
    if (k->state == ST_PROF_CNT_OK) cJSON_AddNumberToObject(obj, k->name, v);
    else cJSON_AddStringToObject(obj, k->name, st_view_counter_state(k->state));
}

/* Each *_json adds its part into a node already in the tree, so nothing leaks when an
 * allocation fails (cJSON's Add* calls accept a NULL parent). */
static void row_json(cJSON *arr, const st_view_summary *s, const st_view_row *r) {
    cJSON *j = cJSON_CreateObject();
    if (!cJSON_AddItemToArray(arr, j)) {
        cJSON_Delete(j);
        return;
    }
    double calls = r->calls ? (double)r->calls : 1;
    cJSON_AddStringToObject(j, "name", r->name);
    cJSON_AddStringToObject(j, "op_type", r->op);
    cJSON_AddNumberToObject(j, "calls", (double)r->calls);
    cJSON_AddNumberToObject(j, "total_ms", (double)r->total_ns / 1e6);
    cJSON_AddNumberToObject(j, "mean_ms", r->calls ? (double)r->total_ns / 1e6 / calls : 0);
    cJSON_AddNumberToObject(j, "pct_of_run", pct_of_run(s, r));
    if (r->flops >= 0) {
        cJSON_AddNumberToObject(j, "flops_per_call", r->calls ? r->flops / calls : 0);
        cJSON_AddNumberToObject(j, "gflops_per_s",
                                r->total_ns > 0 ? r->flops / (double)r->total_ns : 0);
        cJSON_AddNumberToObject(j, "flop_per_byte", r->bytes > 0 ? r->flops / r->bytes : 0);
    } else {
        cJSON_AddNullToObject(j, "flops_per_call");
        cJSON_AddNullToObject(j, "gflops_per_s");
        cJSON_AddNullToObject(j, "flop_per_byte");
    }
    cJSON_AddNumberToObject(j, "bytes_per_call", r->calls ? r->bytes / calls : 0);
    cJSON *cj = cJSON_AddObjectToObject(j, "counters");
    for (int c = 0; c < s->n_ctr; c++) ctr_json(cj, &s->ctr[c], r->calls ? r->ctr[c] / calls : 0);
}

static void totals_json(cJSON *root, const st_view_summary *s) {
    const st_view_stats *t = &s->stats;
    cJSON *tot = cJSON_AddObjectToObject(root, "totals");
    cJSON_AddNumberToObject(tot, "rows", (double)s->n_rows);
    cJSON_AddNumberToObject(tot, "run_mean_ms", t->run_mean_ms);
    cJSON_AddNumberToObject(tot, "run_median_ms", t->run_median_ms);
    cJSON_AddNumberToObject(tot, "run_min_ms", t->run_min_ms);
    cJSON_AddNumberToObject(tot, "node_sum_ms", t->node_sum_ms);
    cJSON_AddNumberToObject(tot, "node_sum_pct_of_run", t->coverage_pct);
    cJSON_AddNumberToObject(tot, "flops_per_run", t->flops);
    cJSON_AddNumberToObject(tot, "gflops_per_s",
                            t->run_mean_ms > 0 ? t->flops / (t->run_mean_ms * 1e6) : 0);
    cJSON_AddNumberToObject(tot, "bytes_per_run", t->bytes);
    cJSON *tc = cJSON_AddObjectToObject(tot, "counters_per_run");
    for (int c = 0; c < s->n_ctr; c++) ctr_json(tc, &s->ctr[c], ctr_total(s, c) / runs_of(s));
    double i = ipc(s);
    if (i >= 0) cJSON_AddNumberToObject(tot, "ipc", i);
    else cJSON_AddNullToObject(tot, "ipc");
}

static void profiler_json(cJSON *root, const st_prof *p, const st_view_stats *t) {
    cJSON *th = cJSON_AddObjectToObject(root, "threads");
    cJSON_AddNumberToObject(th, "count", (double)p->n_threads);
    cJSON_AddStringToObject(th, "node_counters_from",
                            p->all_per_node ? "all threads" : "calling thread");
    cJSON_AddNumberToObject(th, "per_node_read_cost_pct", p->remote_cost_pct);
    cJSON *ov = cJSON_AddObjectToObject(root, "overhead");
    cJSON_AddNumberToObject(ov, "hook_ms_per_run", t->hook_ms);
    if (t->base_median_ms > 0) {
        cJSON_AddNumberToObject(ov, "baseline_median_ms", t->base_median_ms);
        cJSON_AddNumberToObject(ov, "profiled_median_ms", t->run_median_ms);
        cJSON_AddNumberToObject(ov, "overhead_pct", t->overhead_pct);
    }
}

/* A live profile's heading names the model and its settings; a trace's, the file and the
 * ProfilerStep spans in it. */
static void heading_json(cJSON *root, const st_view_summary *s, const st_view_opts *o) {
    const st_view_stats *t = &s->stats;
    if (s->prof) {
        if (o->model) cJSON_AddStringToObject(root, "model", o->model);
        cJSON_AddStringToObject(root, "group_by", st_view_group_name[s->by]);
        cJSON_AddNumberToObject(root, "runs", (double)t->runs);
        cJSON_AddNumberToObject(root, "warmup", o->warmup);
        cJSON_AddNumberToObject(root, "threads", o->threads);
        return;
    }
    if (o->model) cJSON_AddStringToObject(root, "trace", o->model);
    cJSON_AddStringToObject(root, "group_by", st_view_group_name[s->by]);
    cJSON_AddNumberToObject(root, "steps", (double)t->runs);
    cJSON_AddNumberToObject(root, "step_ms", t->run_mean_ms * (double)t->runs);
    cJSON_AddNumberToObject(root, "op_ms", t->node_sum_ms * runs_of(s));
}

st_status st_view_summary_json(const st_view_summary *s, const st_view_opts *o, char **out,
                               st_error *err) {
    st_view_json_init();
    cJSON *root = cJSON_CreateObject();
    if (!root) return st_error_nomem(err);
    heading_json(root, s, o);
    cJSON *arr = cJSON_AddArrayToObject(root, "rows");
    size_t shown = shown_rows(s, o);
    for (size_t i = 0; i < shown && arr; i++) row_json(arr, s, &s->rows[i]);
    totals_json(root, s);
    if (s->prof) profiler_json(root, s->prof, &s->stats);
    cJSON *ctrs = cJSON_AddArrayToObject(root, "counters");
    for (int c = 0; c < s->n_ctr && ctrs; c++) {
        cJSON *j = cJSON_CreateObject();
        if (!cJSON_AddItemToArray(ctrs, j)) {
            cJSON_Delete(j);
            break;
        }
        cJSON_AddStringToObject(j, "name", s->ctr[c].name);
        cJSON_AddStringToObject(j, "status", st_view_counter_state(s->ctr[c].state));
    }
    char *txt = cJSON_Print(root); /* st_malloc'd through the hooks */
    cJSON_Delete(root);
    if (!txt) return st_error_nomem(err);
    *out = txt;
    return ST_OK;
}

/* ---- a live profile ------------------------------------------------------------- */

static st_status prof_format(const st_prof *p, const st_view_opts *o, bool json, char **out,
                             st_error *err) {
    st_view_summary s;
    st_status st = st_view_summary_prof(p, o->group_by, &s, err);
    if (st) return st;
    st = json ? st_view_summary_json(&s, o, out, err) : st_view_summary_table(&s, o, out, err);
    st_view_summary_free(&s);
    return st;
}

st_status st_view_table(const st_prof *p, const st_view_opts *o, char **out, st_error *err) {
    return prof_format(p, o, false, out, err);
}

st_status st_view_json(const st_prof *p, const st_view_opts *o, char **out, st_error *err) {
    return prof_format(p, o, true, out, err);
}
