/* viewer/viewer.c: the hotspot summary of a profile (rows grouped by node or op type, run
 * totals, the profiler's overhead) as a text table or JSON, the unique display names every
 * writer shares, and the logdir layout. It formats into strings; the CLI prints them. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "view.h"

/* ---- names ----------------------------------------------------------------------- */

typedef struct name_set {
    const char **slot;
    size_t cap;
} name_set;

static uint64_t hash_str(const char *s) {
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

/* Insert s; false when it is already there. */
static bool set_add(name_set *ns, const char *s) {
    size_t i = hash_str(s) & (ns->cap - 1);
    while (ns->slot[i]) {
        if (!strcmp(ns->slot[i], s)) return false;
        i = (i + 1) & (ns->cap - 1);
    }
    ns->slot[i] = s;
    return true;
}

static char *clean_name(const char *raw, const char *fallback, size_t index) {
    while (*raw == '/') raw++;
    char *s;
    if (!*raw) {
        size_t n = strlen(fallback) + 24;
        s = st_malloc(n);
        if (s) snprintf(s, n, "%s_%zu", fallback, index);
        return s;
    }
    s = st_strdup(raw);
    for (char *p = s; p && *p; p++)
        if (*p == ':') *p = '_';
    return s;
}

/* Make *name unique in the set, appending _<index> (then _<index>_<k>). */
static bool unique_into(name_set *ns, char **name, size_t index) {
    if (set_add(ns, *name)) return true;
    for (int k = 0;; k++) {
        size_t n = strlen(*name) + 48;
        char *t = st_malloc(n);
        if (!t) return false;
        if (k == 0) snprintf(t, n, "%s_%zu", *name, index);
        else snprintf(t, n, "%s_%zu_%d", *name, index, k);
        if (set_add(ns, t)) {
            st_free(*name);
            *name = t;
            return true;
        }
        st_free(t);
    }
}

void st_view_names_free(st_view_names *nm) {
    for (size_t i = 0; nm->node && i < nm->n_nodes; i++) st_free(nm->node[i]);
    for (size_t i = 0; nm->value && i < nm->n_values; i++) st_free(nm->value[i]);
    for (size_t i = 0; nm->leaf && i < nm->n_values; i++) st_free(nm->leaf[i]);
    st_free(nm->node);
    st_free(nm->value);
    st_free(nm->leaf);
    memset(nm, 0, sizeof *nm);
}

st_status st_view_names_make(const st_graph *g, st_view_names *out, st_error *err) {
    st_view_names nm = {0};
    name_set ns = {0};
    nm.n_nodes = g->n_nodes;
    nm.n_values = g->n_values;
    nm.node = st_calloc(g->n_nodes + 1, sizeof *nm.node);
    nm.value = st_calloc(g->n_values + 1, sizeof *nm.value);
    nm.leaf = st_calloc(g->n_values + 1, sizeof *nm.leaf);
    ns.cap = 16;
    while (ns.cap < 2 * (g->n_nodes + g->n_values) + 16) ns.cap *= 2;
    ns.slot = st_calloc(ns.cap, sizeof *ns.slot);
    if (!nm.node || !nm.value || !nm.leaf || !ns.slot) goto nomem;
    for (size_t i = 0; i < g->n_nodes; i++) {
        nm.node[i] = clean_name(g->nodes[i].name, g->nodes[i].op_type, i);
        if (!nm.node[i] || !unique_into(&ns, &nm.node[i], i)) goto nomem;
    }
    for (size_t v = 0; v < g->n_values; v++) {
        const st_ir_value *iv = &g->values[v];
        int prod = iv->producer;
        if (prod >= 0 && (size_t)prod < g->n_nodes) {
            const st_node *nd = &g->nodes[prod];
            int k = 0;
            while (k < nd->n_out && nd->outputs[k] != (int)v) k++;
            size_t n = strlen(nm.node[prod]) + 16;
            nm.value[v] = st_malloc(n);
            if (!nm.value[v]) goto nomem;
            if (k == 0 || k == nd->n_out) snprintf(nm.value[v], n, "%s", nm.node[prod]);
            else snprintf(nm.value[v], n, "%s:%d", nm.node[prod], k);
        } else {
            nm.leaf[v] = clean_name(iv->name, "value", v);
            if (!nm.leaf[v] || !unique_into(&ns, &nm.leaf[v], v)) goto nomem;
            nm.value[v] = st_strdup(nm.leaf[v]);
            if (!nm.value[v]) goto nomem;
        }
    }
    st_free(ns.slot);
    *out = nm;
    return ST_OK;
nomem:
    st_free(ns.slot);
    st_view_names_free(&nm);
    return st_error_nomem(err);
}

/* ---- rows and totals ------------------------------------------------------------- */

static int by_total(const void *a, const void *b) {
    const st_view_row *x = a, *y = b;
    if (x->total_ns != y->total_ns) return x->total_ns < y->total_ns ? 1 : -1;
    return strcmp(x->name, y->name);
}

void st_view_rows_free(st_view_row *rows, double *block) {
    st_free(rows);
    st_free(block);
}

st_status st_view_rows(const st_prof *p, const st_view_names *nm, st_view_group by, st_view_row **out,
                       size_t *n_out, double **block, st_error *err) {
    size_t cap = p->n_nodes ? p->n_nodes : 1, n = 0, nc = (size_t)p->n_ctr;
    st_view_row *rows = st_calloc(cap, sizeof *rows);
    double *ctr = st_calloc(cap * (nc ? nc : 1), sizeof *ctr);
    if (!rows || !ctr) {
        st_free(rows);
        st_free(ctr);
        return st_error_nomem(err);
    }
    for (size_t i = 0; i < p->n_nodes; i++) {
        const st_prof_node *pn = &p->nodes[i];
        if (!pn->seen || !pn->calls) continue;
        size_t r = n;
        if (by == ST_VIEW_BY_OP)
            for (r = 0; r < n && strcmp(rows[r].op, pn->op_type); r++) {
            }
        if (r == n) {
            rows[n].ctr = ctr + n * nc;
            rows[n].op = pn->op_type;
            rows[n].name = by == ST_VIEW_BY_OP ? pn->op_type
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
    qsort(rows, n, sizeof *rows, by_total); /* rows keep pointing at their own counters */
    *out = rows;
    *n_out = n;
    *block = ctr;
    return ST_OK;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, size_t n) {
    if (!n) return 0;
    qsort(v, n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

void st_view_stats_make(const st_prof *p, st_view_stats *o) {
    memset(o, 0, sizeof *o);
    o->runs = p->n_runs;
    double *lat = p->n_runs ? malloc(p->n_runs * sizeof *lat) : NULL;
    double sum = 0, min = INFINITY;
    for (size_t r = 0; r < p->n_runs; r++) {
        double ms = (double)(p->runs[r].t1 - p->runs[r].t0) / 1e6;
        if (lat) lat[r] = ms;
        sum += ms;
        if (ms < min) min = ms;
    }
    if (p->n_runs) {
        o->run_mean_ms = sum / (double)p->n_runs;
        o->run_min_ms = min;
        if (lat) o->run_median_ms = median(lat, p->n_runs);
    }
    free(lat);
    int64_t node_ns = 0;
    for (size_t i = 0; i < p->n_recs; i++) node_ns += p->recs[i].t1 - p->recs[i].t0;
    if (p->n_runs) {
        o->node_sum_ms = (double)node_ns / 1e6 / (double)p->n_runs;
        o->hook_ms = (double)p->hook_ns / 1e6 / (double)p->n_runs;
        for (size_t i = 0; i < p->n_nodes; i++) {
            const st_prof_node *pn = &p->nodes[i];
            if (!pn->seen) continue;
            if (pn->flops_known) o->flops += pn->flops * (double)pn->calls / (double)p->n_runs;
            o->bytes += (double)(pn->bytes_in + pn->bytes_out) * (double)pn->calls / (double)p->n_runs;
        }
    }
    if (o->run_mean_ms > 0) o->coverage_pct = 100 * o->node_sum_ms / o->run_mean_ms;
    if (p->n_baseline) {
        double *b = malloc(p->n_baseline * sizeof *b);
        if (b) {
            memcpy(b, p->baseline_ms, p->n_baseline * sizeof *b);
            o->base_median_ms = median(b, p->n_baseline);
            free(b);
        }
        if (o->base_median_ms > 0 && o->run_median_ms > 0)
            o->overhead_pct = 100 * (o->run_median_ms / o->base_median_ms - 1);
    }
}

static const char *const state_text[] = {
    [ST_PROF_CNT_OK] = "ok",
    [ST_PROF_CNT_UNSUPPORTED] = "not supported",
    [ST_PROF_CNT_DENIED] = "not permitted",
    [ST_PROF_CNT_UNKNOWN] = "unknown event",
};
_Static_assert(ST_ARRAY_LEN(state_text) == ST_PROF_CNT_STATE_COUNT, "state_text covers the states");

const char *st_view_counter_state(st_prof_cnt_state s) {
    return (unsigned)s < ST_PROF_CNT_STATE_COUNT ? state_text[s] : "not supported";
}

/* Counter c summed over runs for the threads read once per run (0 in per-node mode). */
static double per_run_total(const st_prof *p, int c) {
    double t = 0;
    for (size_t r = 0; p->run_ctr && r < p->n_runs; r++) t += p->run_ctr[r * (size_t)p->n_ctr + (size_t)c];
    return t;
}

static int find_ctr(const st_prof *p, const char *name) {
    for (int c = 0; c < p->n_ctr; c++)
        if (!strcmp(p->ctr[c].name, name) && p->ctr[c].state == ST_PROF_CNT_OK) return c;
    return -1;
}

static const char *const group_names[] = {[ST_VIEW_BY_NODE] = "node", [ST_VIEW_BY_OP] = "op"};
_Static_assert(ST_ARRAY_LEN(group_names) == ST_VIEW_GROUP_COUNT, "group_names covers st_view_group");

/* A counter value in a short human form: 12.3M, 456k, 789. */
static void short_num(char *buf, size_t n, double v) {
    double a = fabs(v);
    if (a >= 1e9) snprintf(buf, n, "%.2fG", v / 1e9);
    else if (a >= 1e6) snprintf(buf, n, "%.2fM", v / 1e6);
    else if (a >= 1e4) snprintf(buf, n, "%.1fk", v / 1e3);
    else snprintf(buf, n, "%.0f", v);
}

st_status st_view_table(const st_prof *p, const st_view_opts *o, char **out, st_error *err) {
    st_view_names nm = {0};
    st_view_row *rows = NULL;
    double *block = NULL;
    size_t n = 0;
    st_status st = st_view_names_make(p->graph, &nm, err);
    if (!st) st = st_view_rows(p, &nm, o->group_by, &rows, &n, &block, err);
    if (st) {
        st_view_names_free(&nm);
        return st;
    }
    st_view_stats s;
    st_view_stats_make(p, &s);
    st_sb b = {0};
    double runs = s.runs ? (double)s.runs : 1, run_ns_total = s.run_mean_ms * 1e6 * runs;
    size_t shown = o->top > 0 && (size_t)o->top < n ? (size_t)o->top : n;
    int w = o->group_by == ST_VIEW_BY_OP ? 12 : 8;
    for (size_t i = 0; i < shown; i++) w = ST_MAX(w, (int)ST_MIN(strlen(rows[i].name), 48));
    st_sb_printf(&b, "%-*s %s%-14s %7s %10s %9s %6s %8s", w, group_names[o->group_by],
                 o->group_by == ST_VIEW_BY_NODE ? "" : "", o->group_by == ST_VIEW_BY_NODE ? "op" : "",
                 "calls", "total ms", "mean ms", "% run", "GFLOP/s");
    for (int c = 0; c < p->n_ctr; c++)
        if (p->ctr[c].state == ST_PROF_CNT_OK) st_sb_printf(&b, " %*s", ST_MAX(10, (int)strlen(p->ctr[c].name)), p->ctr[c].name);
    st_sb_printf(&b, "\n");
    for (size_t i = 0; i < shown; i++) {
        const st_view_row *r = &rows[i];
        double ms = (double)r->total_ns / 1e6;
        char gf[32] = "-";
        if (r->flops >= 0 && r->total_ns > 0 && r->flops > 0) snprintf(gf, sizeof gf, "%.2f", r->flops / (double)r->total_ns);
        st_sb_printf(&b, "%-*.*s %-14.14s %7llu %10.3f %9.4f %5.1f%% %8s", w, 48, r->name,
                     o->group_by == ST_VIEW_BY_NODE ? r->op : "", (unsigned long long)r->calls, ms,
                     r->calls ? ms / (double)r->calls : 0, run_ns_total > 0 ? 100 * (double)r->total_ns / run_ns_total : 0, gf);
        for (int c = 0; c < p->n_ctr; c++) {
            if (p->ctr[c].state != ST_PROF_CNT_OK) continue;
            char v[32];
            short_num(v, sizeof v, r->calls ? r->ctr[c] / (double)r->calls : 0);
            st_sb_printf(&b, " %*s", ST_MAX(10, (int)strlen(p->ctr[c].name)), v);
        }
        st_sb_printf(&b, "\n");
    }
    if (shown < n) st_sb_printf(&b, "... %zu more %s\n", n - shown, o->group_by == ST_VIEW_BY_OP ? "op types" : "nodes");
    if (p->n_ctr)
        st_sb_printf(&b, "(counters are per call, %s)\n", p->all_per_node ? "summed over the process's threads"
                                                                           : "of the thread running the session");
    st_sb_printf(&b, "\n");
    st_sb_printf(&b, "runs      %zu profiled: mean %.3f ms, median %.3f ms, min %.3f ms\n", s.runs, s.run_mean_ms,
                 s.run_median_ms, s.run_min_ms);
    st_sb_printf(&b, "nodes     times sum to %.3f ms per run = %.1f%% of the run time\n", s.node_sum_ms, s.coverage_pct);
    if (s.flops > 0)
        st_sb_printf(&b, "work      %.3f GFLOP per run (ops with known cost), %.2f GFLOP/s, %.1f MB moved, %.2f FLOP/byte\n",
                     s.flops / 1e9, s.run_mean_ms > 0 ? s.flops / (s.run_mean_ms * 1e6) : 0, s.bytes / 1e6,
                     s.bytes > 0 ? s.flops / s.bytes : 0);
    if (s.base_median_ms > 0)
        st_sb_printf(&b, "overhead  %+.2f%%: profiled median %.3f ms vs %.3f ms without the profiler (hook %.3f ms per run)\n",
                     s.overhead_pct, s.run_median_ms, s.base_median_ms, s.hook_ms);
    else
        st_sb_printf(&b, "overhead  hook %.3f ms per run (%.2f%% of the run)\n", s.hook_ms,
                     s.run_mean_ms > 0 ? 100 * s.hook_ms / s.run_mean_ms : 0);
    if (p->n_ctr) {
        st_sb_printf(&b, "counters ");
        for (int c = 0; c < p->n_ctr; c++) {
            const st_prof_counter *k = &p->ctr[c];
            if (k->state == ST_PROF_CNT_OK) {
                double tot = per_run_total(p, c);
                for (size_t i = 0; i < n; i++) tot += rows[i].ctr[c];
                char v[32];
                short_num(v, sizeof v, tot / runs);
                st_sb_printf(&b, " %s %s/run%s", k->name, v, c + 1 < p->n_ctr ? "," : "");
            } else {
                st_sb_printf(&b, " %s <%s>%s", k->name, state_text[k->state], c + 1 < p->n_ctr ? "," : "");
            }
        }
        st_sb_printf(&b, "\n");
        int cy = find_ctr(p, "cycles"), in = find_ctr(p, "instructions");
        if (cy >= 0 && in >= 0) {
            double tc = per_run_total(p, cy), ti = per_run_total(p, in);
            for (size_t i = 0; i < n; i++) tc += rows[i].ctr[cy], ti += rows[i].ctr[in];
            st_sb_printf(&b, "IPC       %.2f instructions per cycle\n", tc > 0 ? ti / tc : 0);
        }
    }
    if (!p->all_per_node)
        st_sb_printf(&b,
                     "threads   node counters are the calling thread's; %zu other thread%s read once per run (in the\n"
                     "          totals): reading other threads around every node cost %.1f%% of the first\n"
                     "          run here (cross-CPU reads); --all-threads-per-node reads them per node anyway\n",
                     p->n_threads - 1, p->n_threads == 2 ? " is" : "s are", p->remote_cost_pct);
    if (p->oom) st_sb_printf(&b, "note      memory ran short: some node runs are missing from the trace\n");
    st_view_rows_free(rows, block);
    st_view_names_free(&nm);
    if (b.oom) {
        st_free(b.s);
        return st_error_nomem(err);
    }
    *out = b.s ? b.s : st_strdup("");
    return *out ? ST_OK : st_error_nomem(err);
}

static cJSON *ctr_json(const st_prof_counter *k, double v) {
    return k->state == ST_PROF_CNT_OK ? cJSON_CreateNumber(v) : cJSON_CreateString(state_text[k->state]);
}

st_status st_view_json(const st_prof *p, const st_view_opts *o, char **out, st_error *err) {
    st_view_names nm = {0};
    st_view_row *rows = NULL;
    double *block = NULL;
    size_t n = 0;
    st_status st = st_view_names_make(p->graph, &nm, err);
    if (!st) st = st_view_rows(p, &nm, o->group_by, &rows, &n, &block, err);
    if (st) {
        st_view_names_free(&nm);
        return st;
    }
    st_view_stats s;
    st_view_stats_make(p, &s);
    double runs = s.runs ? (double)s.runs : 1, run_ns_total = s.run_mean_ms * 1e6 * runs;
    cJSON *root = cJSON_CreateObject(), *arr = cJSON_CreateArray(), *tot = cJSON_CreateObject(),
          *ctrs = cJSON_CreateArray();
    if (o->model) cJSON_AddStringToObject(root, "model", o->model);
    cJSON_AddStringToObject(root, "group_by", group_names[o->group_by]);
    cJSON_AddNumberToObject(root, "runs", (double)s.runs);
    cJSON_AddNumberToObject(root, "warmup", o->warmup);
    cJSON_AddNumberToObject(root, "threads", o->threads);
    size_t shown = o->top > 0 && (size_t)o->top < n ? (size_t)o->top : n;
    for (size_t i = 0; i < shown; i++) {
        const st_view_row *r = &rows[i];
        cJSON *j = cJSON_CreateObject(), *cj = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "name", r->name);
        cJSON_AddStringToObject(j, "op_type", r->op);
        cJSON_AddNumberToObject(j, "calls", (double)r->calls);
        cJSON_AddNumberToObject(j, "total_ms", (double)r->total_ns / 1e6);
        cJSON_AddNumberToObject(j, "mean_ms", r->calls ? (double)r->total_ns / 1e6 / (double)r->calls : 0);
        cJSON_AddNumberToObject(j, "pct_of_run", run_ns_total > 0 ? 100 * (double)r->total_ns / run_ns_total : 0);
        if (r->flops >= 0) {
            cJSON_AddNumberToObject(j, "flops_per_call", r->calls ? r->flops / (double)r->calls : 0);
            cJSON_AddNumberToObject(j, "gflops_per_s", r->total_ns > 0 ? r->flops / (double)r->total_ns : 0);
            cJSON_AddNumberToObject(j, "flop_per_byte", r->bytes > 0 ? r->flops / r->bytes : 0);
        } else {
            cJSON_AddNullToObject(j, "flops_per_call");
            cJSON_AddNullToObject(j, "gflops_per_s");
            cJSON_AddNullToObject(j, "flop_per_byte");
        }
        cJSON_AddNumberToObject(j, "bytes_per_call", r->calls ? r->bytes / (double)r->calls : 0);
        for (int c = 0; c < p->n_ctr; c++)
            cJSON_AddItemToObject(cj, p->ctr[c].name, ctr_json(&p->ctr[c], r->calls ? r->ctr[c] / (double)r->calls : 0));
        cJSON_AddItemToObject(j, "counters", cj);
        cJSON_AddItemToArray(arr, j);
    }
    cJSON_AddItemToObject(root, "rows", arr);
    cJSON_AddNumberToObject(tot, "rows", (double)n);
    cJSON_AddNumberToObject(tot, "run_mean_ms", s.run_mean_ms);
    cJSON_AddNumberToObject(tot, "run_median_ms", s.run_median_ms);
    cJSON_AddNumberToObject(tot, "run_min_ms", s.run_min_ms);
    cJSON_AddNumberToObject(tot, "node_sum_ms", s.node_sum_ms);
    cJSON_AddNumberToObject(tot, "node_sum_pct_of_run", s.coverage_pct);
    cJSON_AddNumberToObject(tot, "flops_per_run", s.flops);
    cJSON_AddNumberToObject(tot, "gflops_per_s", s.run_mean_ms > 0 ? s.flops / (s.run_mean_ms * 1e6) : 0);
    cJSON_AddNumberToObject(tot, "bytes_per_run", s.bytes);
    cJSON *tc = cJSON_CreateObject();
    for (int c = 0; c < p->n_ctr; c++) {
        double t = per_run_total(p, c);
        for (size_t i = 0; i < n; i++) t += rows[i].ctr[c];
        cJSON_AddItemToObject(tc, p->ctr[c].name, ctr_json(&p->ctr[c], t / runs));
    }
    cJSON_AddItemToObject(tot, "counters_per_run", tc);
    int cy = find_ctr(p, "cycles"), in = find_ctr(p, "instructions");
    if (cy >= 0 && in >= 0) {
        double a = per_run_total(p, cy), b2 = per_run_total(p, in);
        for (size_t i = 0; i < n; i++) a += rows[i].ctr[cy], b2 += rows[i].ctr[in];
        cJSON_AddNumberToObject(tot, "ipc", a > 0 ? b2 / a : 0);
    } else {
        cJSON_AddNullToObject(tot, "ipc");
    }
    cJSON_AddItemToObject(root, "totals", tot);
    cJSON *th = cJSON_CreateObject();
    cJSON_AddNumberToObject(th, "count", (double)p->n_threads);
    cJSON_AddStringToObject(th, "node_counters_from", p->all_per_node ? "all threads" : "calling thread");
    cJSON_AddNumberToObject(th, "per_node_read_cost_pct", p->remote_cost_pct);
    cJSON_AddItemToObject(root, "threads", th);
    cJSON *ov = cJSON_CreateObject();
    cJSON_AddNumberToObject(ov, "hook_ms_per_run", s.hook_ms);
    if (s.base_median_ms > 0) {
        cJSON_AddNumberToObject(ov, "baseline_median_ms", s.base_median_ms);
        cJSON_AddNumberToObject(ov, "profiled_median_ms", s.run_median_ms);
        cJSON_AddNumberToObject(ov, "overhead_pct", s.overhead_pct);
    }
    cJSON_AddItemToObject(root, "overhead", ov);
    for (int c = 0; c < p->n_ctr; c++) {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "name", p->ctr[c].name);
        cJSON_AddStringToObject(j, "status", state_text[p->ctr[c].state]);
        cJSON_AddItemToArray(ctrs, j);
    }
    cJSON_AddItemToObject(root, "counters", ctrs);
    char *txt = cJSON_Print(root);
    cJSON_Delete(root);
    st_view_rows_free(rows, block);
    st_view_names_free(&nm);
    if (!txt) return st_error_nomem(err);
    *out = st_strdup(txt);
    free(txt);
    return *out ? ST_OK : st_error_nomem(err);
}

/* ---- the logdir ------------------------------------------------------------------ */

static st_status mkdirs(const char *path, st_error *err) {
    char buf[4096];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf)
        return st_errorf(err, ST_ERR_LIMIT, "%s: path too long", path);
    for (char *p = buf + 1; *p; p++)
        if (*p == '/') {
            *p = 0;
            if (mkdir(buf, 0777) && errno != EEXIST)
                return st_errorf(err, ST_ERR_IO, "%s: %s", buf, strerror(errno));
            *p = '/';
        }
    if (mkdir(buf, 0777) && errno != EEXIST) return st_errorf(err, ST_ERR_IO, "%s: %s", buf, strerror(errno));
    return ST_OK;
}

st_status st_view_logdir(const st_prof *p, const char *model, const char *logdir, const char *run,
                         char **run_dir, st_error *err) {
    char host[256] = "localhost", dir[4096], path[4608], session[64];
    if (gethostname(host, sizeof host - 1) || !host[0]) snprintf(host, sizeof host, "localhost");
    host[sizeof host - 1] = 0;
    for (char *c = host; *c; c++)
        if (*c == '/' || *c == '.') *c = '_';
    if (snprintf(dir, sizeof dir, "%s/%s", logdir, run && run[0] ? run : "stele") >= (int)sizeof dir)
        return st_errorf(err, ST_ERR_LIMIT, "%s: path too long", logdir);
    st_view_names nm = {0};
    st_status st = mkdirs(dir, err);
    if (!st) st = st_view_names_make(p->graph, &nm, err);
    if (st) return st;
    time_t secs = (time_t)p->origin_wall;
    long long ms = (long long)(p->origin_wall * 1000);
    snprintf(path, sizeof path, "%s/events.out.tfevents.%lld.%s", dir, (long long)secs, host);
    st = st_view_events(p, &nm, path, err);
    if (!st) {
        snprintf(path, sizeof path, "%s/%s_%d.%lld.pt.trace.json", dir, host, (int)getpid(), ms);
        st = st_view_trace(p, model, path, err);
    }
    if (!st) {
        struct tm tmv;
        gmtime_r(&secs, &tmv);
        strftime(session, sizeof session, "%Y_%m_%d_%H_%M_%S", &tmv);
        snprintf(path, sizeof path, "%s/plugins/profile/%s", dir, session);
        st = mkdirs(path, err);
        if (!st) {
            snprintf(path, sizeof path, "%s/plugins/profile/%s/%s.xplane.pb", dir, session, host);
            st = st_view_xplane(p, &nm, host, path, err);
        }
    }
    st_view_names_free(&nm);
    if (st) return st;
    if (run_dir) {
        *run_dir = st_strdup(dir);
        if (!*run_dir) return st_error_nomem(err);
    }
    return ST_OK;
}
