/* profiler/flops.c: floating-point operations per node call, estimated from the shapes it
 * ran with (a multiply-add counts 2). The numbers live in the operator record (node->def:
 * flops_per_elem or flops); this file only adapts the profiler's shape records to it. It
 * never reads tensor data and returns "unknown" for ops whose row has no cost. */
#include <string.h>

#include "op.h"
#include "prof.h"

static void to_tinfo(st_tinfo *dst, const st_prof_tinfo *src, int n) {
    for (int i = 0; i < n; i++) {
        memset(&dst[i], 0, sizeof dst[i]);
        dst[i].kind = src[i].kind;
        dst[i].dtype = src[i].dtype;
        dst[i].ndim = src[i].ndim;
        memcpy(dst[i].dims, src[i].dims, (size_t)src[i].ndim * sizeof *dst[i].dims);
    }
}

double st_prof_flops(const st_node *nd, const st_prof_tinfo *in, int n_in, const st_prof_tinfo *out,
                     int n_out, bool *known) {
    *known = false;
    /* a node outside a session (never resolved) is looked up at the newest version */
    const st_op_def *def = nd->def ? nd->def : st_ops_find(nd->domain, nd->op_type, INT64_MAX);
    if (!def || (!def->flops && def->flops_per_elem <= 0)) return 0;
    st_tinfo *ti = st_calloc((size_t)(n_in + n_out) + 1, sizeof *ti);
    if (!ti) return 0;
    to_tinfo(ti, in, n_in);
    to_tinfo(ti + n_in, out, n_out);
    const st_tinfo *tin = ti, *tout = ti + n_in;
    double f = -1;
    if (def->flops) {
        f = def->flops(nd, tin, n_in, tout, n_out);
    } else {
        bool of_input = def->flags & ST_OPF_FLOPS_OF_INPUT;
        const st_tinfo *t = of_input ? (n_in > 0 ? &tin[0] : NULL) : (n_out > 0 ? &tout[0] : NULL);
        if (t && t->kind == ST_VAL_TENSOR) f = def->flops_per_elem * st_tinfo_nelem(t);
    }
    st_free(ti);
    if (f < 0) return 0;
    *known = true;
    return f;
}
