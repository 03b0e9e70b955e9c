/* viewer/view_util.c: what every viewer file shares — unique display names for nodes and
 * values, run statistics, counter states, summaries' cleanup and cJSON's allocator. It is
 * the bottom of viewer/: it calls no other viewer file and writes no file. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "view.h"

/* ---- names ----------------------------------------------------------------------- */

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

/* Make *name unique in the set (a borrowing map), appending _<index> (then _<index>_<k>). */
static bool unique_into(st_strmap *set, char **name, size_t index) {
    int added = st_strmap_add(set, *name, 0);
    if (added) return added > 0;
    for (int k = 0;; k++) {
        size_t n = strlen(*name) + 48;
        char *t = st_malloc(n);
        if (!t) return false;
        if (k == 0) snprintf(t, n, "%s_%zu", *name, index);
        else snprintf(t, n, "%s_%zu_%d", *name, index, k);
        added = st_strmap_add(set, t, 0);
        if (added > 0) {
            st_free(*name);
            *name = t;
            return true;
        }
        st_free(t);
        if (added < 0) return false;
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

/* The name of value v: its producer's node name (":k" for output k > 0). */
static char *produced_name(const st_graph *g, const st_view_names *nm, size_t v) {
    const st_node *nd = &g->nodes[g->values[v].producer];
    const char *base = nm->node[g->values[v].producer];
    int k = 0;
    while (k < nd->n_out && nd->outputs[k] != (int)v) k++;
    size_t n = strlen(base) + 16;
    char *s = st_malloc(n);
    if (!s) return NULL;
    if (k == 0 || k == nd->n_out) snprintf(s, n, "%s", base);
    else snprintf(s, n, "%s:%d", base, k);
    return s;
}

st_status st_view_names_make(const st_graph *g, st_view_names *out, st_error *err) {
    st_view_names nm = {0};
    st_strmap set;
    st_strmap_init_borrow(&set); /* keys are the names nm owns */
    nm.n_nodes = g->n_nodes;
    nm.n_values = g->n_values;
    nm.node = st_calloc(g->n_nodes + 1, sizeof *nm.node);
    nm.value = st_calloc(g->n_values + 1, sizeof *nm.value);
    nm.leaf = st_calloc(g->n_values + 1, sizeof *nm.leaf);
    if (!nm.node || !nm.value || !nm.leaf) goto nomem;
    for (size_t i = 0; i < g->n_nodes; i++) {
        nm.node[i] = clean_name(g->nodes[i].name, g->nodes[i].op_type, i);
        if (!nm.node[i] || !unique_into(&set, &nm.node[i], i)) goto nomem;
    }
    for (size_t v = 0; v < g->n_values; v++) {
        int prod = g->values[v].producer;
        if (prod >= 0 && (size_t)prod < g->n_nodes) {
            nm.value[v] = produced_name(g, &nm, v);
            if (!nm.value[v]) goto nomem;
        } else {
            nm.leaf[v] = clean_name(g->values[v].name, "value", v);
            if (!nm.leaf[v] || !unique_into(&set, &nm.leaf[v], v)) goto nomem;
            nm.value[v] = st_strdup(nm.leaf[v]);
            if (!nm.value[v]) goto nomem;
        }
    }
    st_strmap_free(&set);
    *out = nm;
    return ST_OK;
nomem:
    st_strmap_free(&set);
    st_view_names_free(&nm);
    return st_error_nomem(err);
}

/* ---- rows, statistics, counters -------------------------------------------------- */

const char *const st_view_group_name[ST_VIEW_GROUP_COUNT] = {
    [ST_VIEW_BY_NODE] = "node", [ST_VIEW_BY_OP] = "op"};

static int by_total(const void *a, const void *b) {
    const st_view_row *x = a, *y = b;
    if (x->total_ns != y->total_ns) return x->total_ns < y->total_ns ? 1 : -1;
    return strcmp(x->name, y->name);
}

void st_view_rows_sort(st_view_row *rows, size_t n) {
    if (n) qsort(rows, n, sizeof *rows, by_total); /* rows keep pointing at their counters */
}

void st_view_summary_free(st_view_summary *s) {
    st_free(s->rows);
    st_free(s->block);
    st_free(s->ctr);
    st_arena_free(s->strings);
    if (s->names) st_view_names_free(s->names);
    st_free(s->names);
    memset(s, 0, sizeof *s);
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

void st_view_stats_runs(double *run_ms, size_t n, st_view_stats *s) {
    double sum = 0, min = INFINITY;
    for (size_t r = 0; r < n; r++) {
        sum += run_ms[r];
        if (run_ms[r] < min) min = run_ms[r];
    }
    s->runs = n;
    s->run_mean_ms = n ? sum / (double)n : 0;
    s->run_min_ms = n ? min : 0;
    s->run_median_ms = median(run_ms, n);
}

void st_view_stats_make(const st_prof *p, st_view_stats *o) {
    memset(o, 0, sizeof *o);
    double *lat = p->n_runs ? st_malloc(p->n_runs * sizeof *lat) : NULL;
    for (size_t r = 0; lat && r < p->n_runs; r++)
        lat[r] = (double)(p->runs[r].t1 - p->runs[r].t0) / 1e6;
    st_view_stats_runs(lat, lat ? p->n_runs : 0, o);
    o->runs = p->n_runs;
    st_free(lat);
    int64_t node_ns = 0;
    for (size_t i = 0; i < p->n_recs; i++) node_ns += p->recs[i].t1 - p->recs[i].t0;
    if (p->n_runs) {
        double runs = (double)p->n_runs;
        o->node_sum_ms = (double)node_ns / 1e6 / runs;
        o->hook_ms = (double)p->hook_ns / 1e6 / runs;
        for (size_t i = 0; i < p->n_nodes; i++) {
            const st_prof_node *pn = &p->nodes[i];
            if (!pn->seen) continue;
            if (pn->flops_known) o->flops += pn->flops * (double)pn->calls / runs;
            o->bytes += (double)(pn->bytes_in + pn->bytes_out) * (double)pn->calls / runs;
        }
    }
    if (o->run_mean_ms > 0) o->coverage_pct = 100 * o->node_sum_ms / o->run_mean_ms;
    if (p->n_baseline) {
        double *b = st_malloc(p->n_baseline * sizeof *b);
        if (b) {
            memcpy(b, p->baseline_ms, p->n_baseline * sizeof *b);
            o->base_median_ms = median(b, p->n_baseline);
            st_free(b);
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

bool st_view_counter_state_parse(const char *text, st_prof_cnt_state *out) {
    for (int s = 0; s < ST_PROF_CNT_STATE_COUNT; s++)
        if (s != ST_PROF_CNT_OK && !strcmp(text, state_text[s])) {
            *out = (st_prof_cnt_state)s;
            return true;
        }
    return false;
}

void st_view_json_init(void) {
    /* setting the same two pointers again is harmless, so no once-flag is needed */
    cJSON_Hooks hooks = {.malloc_fn = st_malloc, .free_fn = st_free};
    cJSON_InitHooks(&hooks);
}

void *st_view_az(st_arena *a, size_t n) {
    void *p = st_arena_alloc(a, n ? n : 1);
    if (p) memset(p, 0, n ? n : 1);
    return p;
}
