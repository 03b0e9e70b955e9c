/* runtime/ops/helpers.c: the one place broadcasting, axis normalization and strides are
 * computed, so no kernel carries its own special cases; plus the shape facts the FLOPs and
 * index-bound functions of the op tables read. */
#include "op.h"

st_status st_broadcast_shape(int n, const st_tensor *const *ts, int *ndim, int64_t *dims,
                             st_error *err) {
    int r = 0;
    for (int i = 0; i < n; i++)
        if (ts[i] && ts[i]->ndim > r) r = ts[i]->ndim;
    for (int d = 0; d < r; d++) dims[d] = 1;
    for (int i = 0; i < n; i++) {
        if (!ts[i]) continue;
        int off = r - ts[i]->ndim;
        for (int d = 0; d < ts[i]->ndim; d++) {
            int64_t a = dims[off + d], b = ts[i]->dims[d];
            if (a == b || b == 1) continue;
            if (a == 1) {
                dims[off + d] = b;
                continue;
            }
            return st_errorf(err, ST_ERR_INVALID,
                             "shapes cannot be broadcast: dimension %d is %lld and %lld", off + d,
                             (long long)a, (long long)b);
        }
    }
    *ndim = r;
    return ST_OK;
}

void st_broadcast_strides(const st_tensor *t, int ndim, const int64_t *dims, int64_t *strides) {
    int off = ndim - t->ndim;
    int64_t s = 1;
    for (int d = ndim - 1; d >= 0; d--) {
        if (d < off) {
            strides[d] = 0;
            continue;
        }
        int64_t td = t->dims[d - off];
        strides[d] = (td == 1 && dims[d] != 1) ? 0 : s;
        s *= td;
    }
}

st_status st_norm_axis(int64_t axis, int rank, int *out, st_error *err) {
    if (axis < -(int64_t)rank || axis >= (int64_t)(rank ? rank : 1))
        return st_errorf(err, ST_ERR_INVALID, "axis %lld is out of range for rank %d",
                         (long long)axis, rank);
    *out = (int)(axis < 0 ? axis + rank : axis);
    return ST_OK;
}

void st_contig_strides(int ndim, const int64_t *dims, int64_t *strides) {
    int64_t s = 1;
    for (int d = ndim - 1; d >= 0; d--) {
        strides[d] = s;
        s *= dims[d];
    }
}

double st_tinfo_nelem(const st_tinfo *t) {
    if (!t || t->kind != ST_VAL_TENSOR) return 0;
    double n = 1;
    for (int d = 0; d < t->ndim; d++) n *= (double)(t->dims[d] > 0 ? t->dims[d] : 0);
    return n;
}

int st_ops_value_rank(const st_graph *g, int v) {
    if (v < 0 || (size_t)v >= g->n_values) return -1;
    const st_ir_value *iv = &g->values[v];
    return iv->has_const ? iv->const_val.ndim : iv->type.rank;
}

int64_t st_ops_value_dim(const st_graph *g, int v, int64_t axis) {
    int rank = st_ops_value_rank(g, v);
    if (rank <= 0) return -1;
    if (axis < 0) axis += rank;
    if (axis < 0 || axis >= rank) return -1;
    const st_ir_value *iv = &g->values[v];
    if (iv->has_const) return iv->const_val.dims[axis];
    return iv->type.dims ? iv->type.dims[axis].value : -1;
}
