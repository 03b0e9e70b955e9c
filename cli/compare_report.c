/* cli/compare_report.c: `stele compare` reports: --json (one object on stdout) and
 * --report FILE.html (one self-contained page: inline styles, no scripts, no external
 * resources). They present what compare_core/compare_pernode measured; nothing more. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "compare.h"

const char *cmp_num(double x, char *buf, size_t n) {
    if (x == 0) snprintf(buf, n, "0");
    else if (isnan(x)) snprintf(buf, n, "nan");
    else if (isinf(x)) snprintf(buf, n, "%sinf", x < 0 ? "-" : "");
    else snprintf(buf, n, "%.4g", x);
    return buf;
}

/* JSON has no NaN/Inf: those become strings */
static void add_num(cJSON *o, const char *key, double x) {
    if (isfinite(x)) cJSON_AddNumberToObject(o, key, x);
    else cJSON_AddStringToObject(o, key, isnan(x) ? "nan" : x < 0 ? "-inf" : "inf");
}

static cJSON *pair_json(const cmp_pair *p) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", p->name);
    cJSON_AddStringToObject(o, "reference", p->ref_name);
    cJSON_AddStringToObject(o, "a", p->a_desc);
    cJSON_AddStringToObject(o, "b", p->b_desc);
    cJSON_AddBoolToObject(o, "ok", p->ok);
    if (p->missing) {
        cJSON_AddStringToObject(o, "error", p->note);
        return o;
    }
    const st_compare_stats *s = &p->st;
    cJSON_AddBoolToObject(o, "dtype_mismatch", s->dtype_mismatch);
    cJSON_AddBoolToObject(o, "shape_mismatch", s->shape_mismatch);
    cJSON_AddNumberToObject(o, "elements", (double)s->n);
    if (s->shape_mismatch) return o;
    add_num(o, "max_abs", s->max_abs);
    add_num(o, "max_rel", s->max_rel);
    add_num(o, "mean_abs", s->mean_abs);
    add_num(o, "cosine", s->cosine);
    cJSON_AddNumberToObject(o, "outside", (double)s->n_outside);
    cJSON_AddNumberToObject(o, "outside_pct",
                            s->n ? 100.0 * (double)s->n_outside / (double)s->n : 0);
    cJSON_AddNumberToObject(o, "nan_mismatch", (double)s->nan_mismatch);
    cJSON_AddNumberToObject(o, "inf_mismatch", (double)s->inf_mismatch);
    if (s->n) {
        cJSON *w = cJSON_AddObjectToObject(o, "worst");
        cJSON_AddStringToObject(w, "index", p->worst_at);
        add_num(w, "a", s->worst_a);
        add_num(w, "b", s->worst_b);
    }
    return o;
}

static cJSON *row_json(const cmp_node_row *r) {
    cJSON *o = pair_json(&r->pair);
    cJSON_AddStringToObject(o, "node", r->node);
    cJSON_AddStringToObject(o, "op_type", r->op_type);
    cJSON_AddStringToObject(o, "matched_by", r->by_name ? "name" : "structure");
    return o;
}

int cmp_report_json(const cmp_report *r) {
    cJSON *root = cJSON_CreateObject();
    if (!root) return cli_fail("out of memory");
    cJSON_AddStringToObject(root, "a", r->a_path);
    cJSON_AddStringToObject(root, "b", r->b_path);
    cJSON_AddStringToObject(root, "a_runner", r->a_label);
    cJSON_AddStringToObject(root, "b_runner", r->b_label);
    cJSON_AddNumberToObject(root, "atol", r->atol);
    cJSON_AddNumberToObject(root, "rtol", r->rtol);
    cJSON_AddNumberToObject(root, "seed", (double)r->seed);
    cJSON_AddBoolToObject(root, "ok", r->res->ok);
    cJSON *outs = cJSON_AddArrayToObject(root, "outputs");
    for (size_t i = 0; i < r->res->n; i++) cJSON_AddItemToArray(outs, pair_json(&r->res->pairs[i]));
    if (r->pn) {
        const cmp_pernode *pn = r->pn;
        cJSON *jp = cJSON_AddObjectToObject(root, "per_node");
        cJSON_AddNumberToObject(jp, "nodes", (double)pn->n);
        cJSON_AddNumberToObject(jp, "matched_by_name", (double)pn->by_name);
        cJSON_AddNumberToObject(jp, "matched_by_structure", (double)pn->by_structure);
        cJSON_AddNumberToObject(jp, "unmatched", (double)pn->unmatched);
        if (pn->first >= 0)
            cJSON_AddItemToObject(jp, "first_divergence", row_json(&pn->rows[pn->first]));
        else cJSON_AddNullToObject(jp, "first_divergence");
        if (pn->path_output) cJSON_AddStringToObject(jp, "path_output", pn->path_output);
        cJSON *path = cJSON_AddArrayToObject(jp, "path");
        for (size_t i = 0; i < pn->n_path; i++)
            cJSON_AddItemToArray(path, row_json(&pn->rows[pn->path[i]]));
        cJSON *nodes = cJSON_AddArrayToObject(jp, "matched");
        for (size_t i = 0; i < pn->n; i++)
            if (pn->rows[i].matched) cJSON_AddItemToArray(nodes, row_json(&pn->rows[i]));
    }
    char *txt = cJSON_Print(root);
    cJSON_Delete(root);
    if (!txt) return cli_fail("out of memory");
    puts(txt);
    cJSON_free(txt);
    return EXIT_OK;
}

/* ---- HTML ------------------------------------------------------------------------- */

static void esc(FILE *f, const char *s) {
    for (; s && *s; s++) {
        switch (*s) {
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '&': fputs("&amp;", f); break;
        case '"': fputs("&quot;", f); break;
        default: fputc(*s, f);
        }
    }
}

/* A bar whose length grows with log10 of the error: 1e-9 and below is empty, 1e3 full. */
static void bar(FILE *f, double err, bool ok) {
    double w = err > 0 ? (log10(err) + 9) / 12 * 100 : 0;
    if (!isfinite(err)) w = 100;
    if (w < 0) w = 0;
    if (w > 100) w = 100;
    fprintf(f, "<div class=bar><div class=\"fill %s\" style=\"width:%.1f%%\"></div></div>",
            ok ? "okf" : "badf", w);
}

static void stats_cells(FILE *f, const cmp_pair *p) {
    char b1[32], b2[32], b3[32], b4[32], b5[32], b6[32];
    const st_compare_stats *s = &p->st;
    if (p->missing || s->shape_mismatch) {
        fputs("<td colspan=7>", f);
        esc(f, p->missing ? p->note : "shape mismatch: values not compared");
        fputs("</td>", f);
        return;
    }
    fprintf(
        f,
        "<td>%s</td><td>%s</td><td>%s</td><td>%zu / %zu (%.3g%%)</td><td>%s</td><td>%zu / %zu</td>",
        cmp_num(s->max_abs, b1, sizeof b1), cmp_num(s->max_rel, b2, sizeof b2),
        cmp_num(s->mean_abs, b3, sizeof b3), s->n_outside, s->n,
        s->n ? 100.0 * (double)s->n_outside / (double)s->n : 0.0,
        (snprintf(b4, sizeof b4, "%.7g", s->cosine), b4), s->nan_mismatch, s->inf_mismatch);
    fputs("<td>", f);
    if (s->n) {
        esc(f, p->worst_at);
        fprintf(f, ": %s vs %s", cmp_num(s->worst_a, b5, sizeof b5),
                cmp_num(s->worst_b, b6, sizeof b6));
    }
    fputs("</td>", f);
}

static const char html_head[] =
    "<!DOCTYPE html>\n<html lang=en><head><meta charset=utf-8>\n<title>stele compare</title>\n"
    "<style>\n"
    "body{font:14px/1.45 system-ui,sans-serif;margin:2em;color:#222;max-width:90em}\n"
    "h1{font-size:1.4em}h2{font-size:1.15em;margin-top:1.6em}\n"
    "table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:.25em .6em;"
    "text-align:left;vertical-align:top}th{background:#f3f3f3}\n"
    "td{font-family:ui-monospace,monospace;font-size:13px}\n"
    ".verdict{display:inline-block;padding:.4em 1em;border-radius:4px;font-weight:bold;color:#fff}\n"
    ".pass{background:#2a7d2a}.fail{background:#b3261e}\n"
    "tr.bad td{background:#fdecea}tr.first td{background:#f9c9c4;font-weight:bold}\n"
    ".bar{width:12em;height:.8em;background:#eee}.fill{height:100%}.okf{background:#7cb87c}.badf{background:#d9534f}\n"
    ".meta td{font-family:inherit}\n"
    "</style></head><body>\n";

int cmp_report_html(const cmp_report *r, const char *path) {
    FILE *f = fopen(path, "w");
    if (!f) return cli_fail("%s: cannot write: %s", path, strerror(errno));
    char b1[32], b2[32];
    fputs(html_head, f);
    fputs("<h1>stele compare</h1>\n<table class=meta>", f);
    fputs("<tr><th>A</th><td>", f);
    esc(f, r->a_path);
    fprintf(f, " (%s)</td></tr><tr><th>B</th><td>", r->a_label);
    esc(f, r->b_path);
    fprintf(f, " (%s)</td></tr>", r->b_label);
    fprintf(f, "<tr><th>tolerance</th><td>|a &minus; b| &le; %s + %s &middot; |b|</td></tr>",
            cmp_num(r->atol, b1, sizeof b1), cmp_num(r->rtol, b2, sizeof b2));
    if (r->random_inputs)
        fprintf(f, "<tr><th>inputs</th><td>seeded random data, seed %llu</td></tr>", r->seed);
    else fputs("<tr><th>inputs</th><td>from files</td></tr>", f);
    size_t bad = 0;
    for (size_t i = 0; i < r->res->n; i++) bad += !r->res->pairs[i].ok;
    fprintf(
        f,
        "</table>\n<p><span class=\"verdict %s\">%s</span> %zu of %zu output%s within tolerance</p>\n",
        r->res->ok ? "pass" : "fail", r->res->ok ? "PASS" : "FAIL", r->res->n - bad, r->res->n,
        r->res->n == 1 ? "" : "s");

    fputs(
        "<h2>Outputs</h2>\n<table><tr><th>output</th><th>A</th><th>B</th><th>max abs</th><th>max rel</th>"
        "<th>mean abs</th><th>outside tolerance</th><th>cosine</th><th>NaN / Inf mismatches</th>"
        "<th>worst element (A vs B)</th><th>error</th></tr>\n",
        f);
    for (size_t i = 0; i < r->res->n; i++) {
        const cmp_pair *p = &r->res->pairs[i];
        fprintf(f, "<tr class=\"%s\"><td>", p->ok ? "" : "bad");
        esc(f, p->name[0] ? p->name : p->ref_name);
        if (p->ref_name[0] && strcmp(p->name, p->ref_name)) {
            fputs(" &harr; ", f);
            esc(f, p->ref_name);
        }
        fputs("</td><td>", f);
        esc(f, p->a_desc);
        if (p->st.dtype_mismatch || p->st.shape_mismatch) fputs(" <b>&ne;</b>", f);
        fputs("</td><td>", f);
        esc(f, p->b_desc);
        fputs("</td>", f);
        stats_cells(f, p);
        fputs("<td>", f);
        bar(f, p->st.max_abs, p->ok);
        fputs("</td></tr>\n", f);
    }
    fputs("</table>\n", f);

    if (r->pn) {
        const cmp_pernode *pn = r->pn;
        fprintf(
            f,
            "<h2>Per node</h2>\n<p>%zu nodes in A: %zu matched by name, %zu by structure, %zu unmatched.</p>\n",
            pn->n, pn->by_name, pn->by_structure, pn->unmatched);
        if (pn->first >= 0) {
            const cmp_node_row *fr = &pn->rows[pn->first];
            fputs("<p>First node beyond tolerance: <b>", f);
            esc(f, fr->node[0] ? fr->node : fr->output);
            fputs("</b> (", f);
            esc(f, fr->op_type);
            fputs("), output <code>", f);
            esc(f, fr->output);
            fprintf(f, "</code>, max abs error %s.</p>\n",
                    cmp_num(fr->pair.st.max_abs, b1, sizeof b1));
            fputs("<h2>Error growth along the path to ", f);
            esc(f, pn->path_output ? pn->path_output : "the output");
            fputs(
                "</h2>\n<table><tr><th>#</th><th>node</th><th>op</th><th>output</th><th>max abs</th>"
                "<th>max rel</th><th>mean abs</th><th>outside tolerance</th><th>cosine</th>"
                "<th>NaN / Inf</th><th>worst element</th><th>growth</th><th>error</th></tr>\n",
                f);
            double prev = 0;
            for (size_t i = 0; i < pn->n_path; i++) {
                const cmp_node_row *row = &pn->rows[pn->path[i]];
                fprintf(f, "<tr class=\"%s\"><td>%zu</td><td>",
                        i == 0         ? "first"
                        : row->pair.ok ? ""
                                       : "bad",
                        i + 1);
                esc(f, row->node);
                fputs("</td><td>", f);
                esc(f, row->op_type);
                fputs("</td><td>", f);
                esc(f, row->matched ? row->output : "(unmatched)");
                fputs("</td>", f);
                if (row->matched) stats_cells(f, &row->pair);
                else fputs("<td colspan=7></td>", f);
                double e = row->pair.st.max_abs;
                if (i > 0 && prev > 0 && row->matched) fprintf(f, "<td>&times;%.3g</td>", e / prev);
                else fputs("<td></td>", f);
                if (row->matched) prev = e;
                fputs("<td>", f);
                bar(f, e, row->pair.ok);
                fputs("</td></tr>\n", f);
            }
            fputs("</table>\n", f);
        } else {
            fputs("<p>Every matched intermediate is within tolerance.</p>\n", f);
        }
        fputs(
            "<h2>All matched nodes (running order)</h2>\n<table><tr><th>node</th><th>op</th><th>output</th>"
            "<th>matched by</th><th>max abs</th><th>max rel</th><th>mean abs</th><th>outside tolerance</th>"
            "<th>cosine</th><th>NaN / Inf</th><th>worst element</th><th>error</th></tr>\n",
            f);
        for (size_t i = 0; i < pn->n; i++) {
            const cmp_node_row *row = &pn->rows[i];
            if (!row->matched) continue;
            fprintf(f, "<tr class=\"%s\"><td>",
                    (long)i == pn->first ? "first"
                    : row->pair.ok       ? ""
                                         : "bad");
            esc(f, row->node);
            fputs("</td><td>", f);
            esc(f, row->op_type);
            fputs("</td><td>", f);
            esc(f, row->output);
            fprintf(f, "</td><td>%s</td>", row->by_name ? "name" : "structure");
            stats_cells(f, &row->pair);
            fputs("<td>", f);
            bar(f, row->pair.st.max_abs, row->pair.ok);
            fputs("</td></tr>\n", f);
        }
        fputs("</table>\n", f);
    }
    fputs("<p><small>Generated by stele " STELE_VERSION ".</small></p>\n</body></html>\n", f);
    if (fclose(f) != 0) return cli_fail("%s: write failed", path);
    return EXIT_OK;
}
