/* cli/compare_pernode.c: `stele compare --per-node` — pair every node output of model A
 * with an intermediate of model B (same value name first, since converters keep names;
 * else the same-ordinal node of the same op type in running order), find the first node
 * beyond tolerance and the path its error takes to an output. Prints only errors. */
#include <stdlib.h>
#include <string.h>

#include "compare.h"

void cmp_pernode_free(cmp_pernode *p) {
    free(p->rows);
    free(p->path);
    memset(p, 0, sizeof *p);
}

static bool usable(const st_value *v) { return v && v->kind != ST_VAL_NONE; }

/* 1 when x is worse than y: failing beats passing, then more elements outside, then a
 * larger absolute error. */
static bool worse(const cmp_pair *x, const cmp_pair *y) {
    if (x->ok != y->ok) return !x->ok;
    if (x->st.n_outside != y->st.n_outside) return x->st.n_outside > y->st.n_outside;
    return x->st.max_abs > y->st.max_abs;
}

static long find_row_producing(const st_node_info *nodes, size_t n, const char *value) {
    if (!value || !*value) return -1;
    for (size_t i = 0; i < n; i++)
        for (size_t o = 0; o < nodes[i].n_outputs; o++)
            if (!strcmp(nodes[i].outputs[o], value)) return (long)i;
    return -1;
}

int cmp_pernode_build(const cmp_side *a, const cmp_side *b, double atol, double rtol,
                      cmp_pernode *out) {
    st_error err;
    st_node_info *na = NULL, *nb = NULL;
    size_t nna = 0, nnb = 0;
    int rc = EXIT_OK;
    cmp_pernode pn;
    memset(&pn, 0, sizeof pn);
    pn.first = -1;
    bool *desc = NULL;
    if (st_model_nodes(a->m, &na, &nna, &err)) {
        rc = cli_fail("%s: %s", a->path, err.msg);
        goto done;
    }
    if (st_model_nodes(b->m, &nb, &nnb, &err)) {
        rc = cli_fail("%s: %s", b->path, err.msg);
        goto done;
    }
    pn.n = nna;
    pn.rows = calloc(nna ? nna : 1, sizeof *pn.rows);
    desc = calloc(nna ? nna : 1, sizeof *desc);
    if (!pn.rows || !desc) {
        rc = cli_fail("out of memory");
        goto done;
    }
    for (size_t i = 0; i < nna; i++) {
        const st_node_info *ni = &na[i];
        cmp_node_row *row = &pn.rows[i];
        row->node = ni->name;
        row->op_type = ni->op_type;
        /* the same-ordinal node of this op type in B, for structural matching */
        size_t ord = 0;
        for (size_t k = 0; k < i; k++) ord += !strcmp(na[k].op_type, ni->op_type);
        const st_node_info *twin = NULL;
        for (size_t k = 0; k < nnb && !twin; k++)
            if (!strcmp(nb[k].op_type, ni->op_type) && ord-- == 0) twin = &nb[k];
        for (size_t o = 0; o < ni->n_outputs; o++) {
            const char *name = ni->outputs[o];
            const st_value *va = *name ? st_session_value(a->s, name) : NULL;
            if (!usable(va)) continue;
            const st_value *vb = st_session_value(b->s, name);
            const char *bname = name;
            bool by_name = usable(vb);
            if (!by_name) {
                vb = NULL;
                if (twin && o < twin->n_outputs && *twin->outputs[o]) {
                    bname = twin->outputs[o];
                    vb = st_session_value(b->s, bname);
                }
                if (!usable(vb)) continue;
            }
            cmp_pair p;
            memset(&p, 0, sizeof p);
            snprintf(p.name, sizeof p.name, "%s", name);
            snprintf(p.ref_name, sizeof p.ref_name, "%s", bname);
            cmp_values(va, vb, atol, rtol, &p);
            if (!row->matched || worse(&p, &row->pair)) {
                row->pair = p;
                row->output = name;
                row->ref_output = bname;
                row->by_name = by_name;
            }
            row->matched = true;
        }
        if (!row->matched) pn.unmatched++;
        else if (row->by_name) pn.by_name++;
        else pn.by_structure++;
        if (row->matched && !row->pair.ok && pn.first < 0) pn.first = (long)i;
    }
    if (pn.first >= 0) {
        /* nodes downstream of the first divergence */
        desc[pn.first] = true;
        for (size_t i = (size_t)pn.first + 1; i < nna; i++)
            for (size_t k = 0; k < na[i].n_inputs && !desc[i]; k++) {
                long p = find_row_producing(na, i, na[i].inputs[k]);
                desc[i] = p >= 0 && desc[p];
            }
        /* the first graph output it reaches (a failing one when there is one) */
        long end = -1;
        for (size_t o = 0; o < a->n; o++) {
            long p = find_row_producing(na, nna, a->names[o]);
            if (p < 0 || !desc[p]) continue;
            bool failing = pn.rows[p].matched && !pn.rows[p].pair.ok;
            if (end < 0 || (failing && pn.rows[end].pair.ok)) {
                end = p;
                pn.path_output = a->names[o];
            }
        }
        /* walk back from the output along the worst downstream input */
        pn.path = calloc(nna ? nna : 1, sizeof *pn.path);
        if (!pn.path) {
            rc = cli_fail("out of memory");
            goto done;
        }
        long cur = end >= 0 ? end : pn.first;
        if (end < 0) pn.path_output = NULL;
        while (cur >= 0 && pn.n_path < nna) {
            pn.path[pn.n_path++] = (size_t)cur;
            if (cur == pn.first) break;
            long next = -1;
            for (size_t k = 0; k < na[cur].n_inputs; k++) {
                long p = find_row_producing(na, (size_t)cur, na[cur].inputs[k]);
                if (p < 0 || !desc[p]) continue;
                if (next < 0 ||
                    (pn.rows[p].matched &&
                     (!pn.rows[next].matched || worse(&pn.rows[p].pair, &pn.rows[next].pair))))
                    next = p;
            }
            cur = next;
        }
        for (size_t i = 0; i < pn.n_path / 2; i++) {
            size_t t = pn.path[i];
            pn.path[i] = pn.path[pn.n_path - 1 - i];
            pn.path[pn.n_path - 1 - i] = t;
        }
    }
done:
    free(desc);
    st_node_infos_free(na);
    st_node_infos_free(nb);
    if (rc) {
        cmp_pernode_free(&pn);
        return rc;
    }
    *out = pn;
    return EXIT_OK;
}
