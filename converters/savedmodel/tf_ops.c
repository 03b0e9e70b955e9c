/* converters/savedmodel/tf_ops.c: TensorFlow op -> IR (ONNX, ST_DEFAULT_OPSET) mapping, one
 * table row per TF op. Converters build only through tf_build.c and report only through
 * st_tf_fail. NHWC convolutions and pools get Transpose nodes around the NCHW IR op;
 * constant inputs that ONNX takes as attributes must be constants in the graph. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "tf_convert.h"
#include "tf_internal.h"

#define IN(i) st_tf_input(c, n, (i))
#define OUT(k) st_tf_outval(c, n, (k))

static st_dtype attr_dtype(const tf_node *n, const char *name) {
    return st_tf_dtype(st_tf_attr_type(n->def, name, 1));
}

static bool is_nchw(const tf_node *n) {
    char f[16];
    return !strcmp(st_tf_attr_s(n->def, "data_format", f, sizeof f), "NCHW");
}

/* Emit op(ins) -> fresh value; -1 on OOM. */
static int op1(tf_ctx *c, tf_node *n, const char *op, int n_in, const int *ins, st_node **node) {
    int v = st_tf_tmp(c, n, op);
    if (v < 0) return -1;
    st_node *x = st_tf_emit(c, n, op, n_in, ins, 1, &v);
    if (!x) return -1;
    if (node) *node = x;
    return v;
}

static int transpose(tf_ctx *c, tf_node *n, int v, const int64_t *perm, int rank, int out) {
    if (out < 0 && (out = st_tf_tmp(c, n, "Transpose")) < 0) return -1;
    st_node *x = st_tf_emit(c, n, "Transpose", 1, &v, 1, &out);
    if (!x || !st_tf_set_ints(c, x, "perm", perm, (size_t)rank)) return -1;
    return out;
}

static const int64_t TO_NCHW[4] = {0, 3, 1, 2}, TO_NHWC[4] = {0, 2, 3, 1};

static int cast_i64(tf_ctx *c, tf_node *n, int v, int tf_in) {
    if (st_tf_dtype(tf_in) == ST_DTYPE_I64) return v;
    st_node *x;
    int r = op1(c, n, "Cast", 1, &v, &x);
    if (r < 0 || !st_tf_set_int(c, x, "to", ST_DTYPE_I64)) return -1;
    return r;
}

/* All int64 values of a constant input (any integer type); false when not constant. */
static bool const_ints(tf_ctx *c, tf_node *n, int i, int64_t *v, size_t cap, size_t *len) {
    const st_tensor *t = st_tf_const(c, n, i);
    if (!t || !st_dtype_is_int(t->dtype)) return false;
    size_t m = st_tensor_nelem(t);
    if (m > cap) return false;
    for (size_t k = 0; k < m; k++) v[k] = st_tensor_get_i64(t, k);
    *len = m;
    return true;
}

static st_status need_const(tf_ctx *c, int i) {
    return st_tf_fail(c, ST_ERR_UNSUPPORTED,
                      "input %d must be a constant for the conversion (it is computed at run time)",
                      i);
}

/* ---- folding of constant layout ops (keeps weights constant through re-imports) ------- */
static bool fold_transpose(const st_tensor *x, const int64_t *perm, size_t np, st_tensor *out) {
    if ((size_t)x->ndim != np || x->dtype == ST_DTYPE_STRING) return false;
    int64_t dims[ST_MAX_RANK], in_str[ST_MAX_RANK];
    int r = x->ndim;
    bool seen[ST_MAX_RANK] = {0};
    for (int i = 0; i < r; i++) {
        if (perm[i] < 0 || perm[i] >= r || seen[perm[i]]) return false;
        seen[perm[i]] = true;
        dims[i] = x->dims[perm[i]];
    }
    int64_t acc = 1;
    for (int i = r - 1; i >= 0; i--) {
        in_str[i] = acc;
        acc *= x->dims[i];
    }
    if (st_tensor_alloc(out, x->dtype, r, dims, NULL)) return false;
    size_t n = st_tensor_nelem(out), es = st_dtype_size(x->dtype);
    int64_t idx[ST_MAX_RANK] = {0};
    for (size_t o = 0; o < n; o++) {
        int64_t src = 0;
        for (int i = 0; i < r; i++) src += idx[i] * in_str[perm[i]];
        memcpy((char *)out->data + o * es, (const char *)x->data + (size_t)src * es, es);
        for (int i = r - 1; i >= 0; i--) {
            if (++idx[i] < dims[i]) break;
            idx[i] = 0;
        }
    }
    return true;
}

static bool fold_reshape(const st_tensor *x, const int64_t *shape, size_t ns, st_tensor *out) {
    if (ns > ST_MAX_RANK || x->dtype == ST_DTYPE_STRING) return false;
    int64_t dims[ST_MAX_RANK], known = 1;
    int infer = -1;
    for (size_t i = 0; i < ns; i++) {
        dims[i] = shape[i];
        if (shape[i] == -1) {
            if (infer >= 0) return false;
            infer = (int)i;
        } else if (shape[i] <= 0) {
            return false;
        } else {
            known *= shape[i];
        }
    }
    int64_t total = (int64_t)st_tensor_nelem(x);
    if (infer >= 0) {
        if (!known || total % known) return false;
        dims[infer] = total / known;
    } else if (known != total) {
        return false;
    }
    if (st_tensor_copy(out, x, NULL)) return false;
    out->ndim = (int)ns;
    memcpy(out->dims, dims, sizeof(int64_t) * ns);
    return true;
}

/* ---- generic shapes ------------------------------------------------------------------- */
static st_status cv_alias(tf_ctx *c, tf_node *n, const tf_op *row) {
    (void)row;
    int x = IN(0);
    if (x < 0) return c->st;
    return st_tf_alias(c, n, 0, x) ? ST_OK : st_tf_nomem(c);
}

static st_status cv_identity_n(tf_ctx *c, tf_node *n, const tf_op *row) {
    (void)row;
    for (int i = 0; i < n->n_in; i++) {
        int x = IN(i);
        if (x < 0) return c->st;
        if (!st_tf_alias(c, n, i, x)) return st_tf_nomem(c);
    }
    return ST_OK;
}

static st_status cv_noop(tf_ctx *c, tf_node *n, const tf_op *row) {
    (void)n, (void)row;
    return c->st;
}

static st_status cv_const(tf_ctx *c, tf_node *n, const tf_op *row) {
    (void)row;
    const tf_attr *a = st_tf_attr(n->def, "value");
    if (!a || a->value_case != STELE__TF__ATTR_VALUE__VALUE_TENSOR)
        return st_tf_fail(c, ST_ERR_FORMAT, "Const without a tensor value");
    st_tensor t;
    st_status s = st_tf_tensor_decode(c, a->tensor, &t);
    if (s) return s;
    int v = st_tf_cst(c, n, &t);
    if (v < 0 || !st_tf_alias(c, n, 0, v)) return st_tf_nomem(c);
    return ST_OK;
}

/* op(every input) -> output 0, one IR node (NULL on failure, in c->st). */
static st_node *emit_all(tf_ctx *c, tf_node *n, const char *op) {
    int *ins = st_calloc((size_t)n->n_in + 1, sizeof *ins);
    if (!ins) {
        st_tf_nomem(c);
        return NULL;
    }
    for (int i = 0; i < n->n_in; i++) ins[i] = IN(i);
    int y = OUT(0);
    st_node *x = c->st ? NULL : st_tf_emit(c, n, op, n->n_in, ins, 1, &y);
    st_free(ins);
    return x;
}

/* The row's IR op on the same inputs. */
static st_status cv_simple(tf_ctx *c, tf_node *n, const tf_op *row) {
    emit_all(c, n, row->onnx);
    return c->st;
}

static st_status cv_not_equal(tf_ctx *c, tf_node *n, const tf_op *row) {
    (void)row;
    int ins[2] = {IN(0), IN(1)};
    if (ins[0] < 0 || ins[1] < 0) return c->st;
    int e = op1(c, n, "Equal", 2, ins, NULL), y = OUT(0);
    if (e < 0 || y < 0 || !st_tf_emit(c, n, "Not", 1, &e, 1, &y)) return st_tf_nomem(c);
    return ST_OK;
}

static st_status cv_square(tf_ctx *c, tf_node *n, const tf_op *row) {
    (void)row;
    int x = IN(0), y = OUT(0);
    if (x < 0) return c->st;
    int ins[2] = {x, x};
    if (y < 0 || !st_tf_emit(c, n, "Mul", 2, ins, 1, &y)) return st_tf_nomem(c);
    return ST_OK;
}

static st_status cv_sqdiff(tf_ctx *c, tf_node *n, const tf_op *row) {
    (void)row;
    int ins[2] = {IN(0), IN(1)};
    if (ins[0] < 0 || ins[1] < 0) return c->st;
    int d = op1(c, n, "Sub", 2, ins, NULL), y = OUT(0);
    int dd[2] = {d, d};
    if (d < 0 || y < 0 || !st_tf_emit(c, n, "Mul", 2, dd, 1, &y)) return st_tf_nomem(c);
    return ST_OK;
}

static st_status cv_rsqrt(tf_ctx *c, tf_node *n, const tf_op *row) {
    (void)row;
    int x = IN(0);
    if (x < 0) return c->st;
    int s = op1(c, n, "Sqrt", 1, &x, NULL), y = OUT(0);
    if (s < 0 || y < 0 || !st_tf_emit(c, n, "Reciprocal", 1, &s, 1, &y)) return st_tf_nomem(c);
    return ST_OK;
}

static st_status cv_relu6(tf_ctx *c, tf_node *n, const tf_op *row) {
    (void)row;
    st_dtype dt = attr_dtype(n, "T");
    int ins[3] = {IN(0), st_tf_cst_scalar(c, n, dt, 0), st_tf_cst_scalar(c, n, dt, 6)};
    if (ins[0] < 0) return c->st;
    int y = OUT(0);
    if (ins[1] < 0 || ins[2] < 0 || y < 0 || !st_tf_emit(c, n, "Clip", 3, ins, 1, &y))
        return st_tf_nomem(c);
    return ST_OK;
}

static st_status cv_leaky(tf_ctx *c, tf_node *n, const tf_op *row) {
    (void)row;
    int x = IN(0), y = OUT(0);
    if (x < 0) return c->st;
    st_node *nd;
    if (y < 0 || !(nd = st_tf_emit(c, n, "LeakyRelu", 1, &x, 1, &y)) ||
        !st_tf_set_float(c, nd, "alpha", st_tf_attr_f(n->def, "alpha", 0.2f)))
        return st_tf_nomem(c);
    return ST_OK;
}

static st_status cv_softmax(tf_ctx *c, tf_node *n, const tf_op *row) {
    int x = IN(0), y = OUT(0);
    if (x < 0) return c->st;
    st_node *nd;
    if (y < 0 || !(nd = st_tf_emit(c, n, row->onnx, 1, &x, 1, &y)) ||
        !st_tf_set_int(c, nd, "axis", -1))
        return st_tf_nomem(c);
    return ST_OK;
}

static st_status cv_cast(tf_ctx *c, tf_node *n, const tf_op *row) {
    (void)row;
    int x = IN(0), y = OUT(0);
    if (x < 0) return c->st;
    st_dtype to = attr_dtype(n, "DstT");
    if (to == ST_DTYPE_UNDEFINED)
        return st_tf_fail(c, ST_ERR_UNSUPPORTED, "Cast to TensorFlow type %d",
                          st_tf_attr_type(n->def, "DstT", 0));
    st_node *nd;
    if (y < 0 || !(nd = st_tf_emit(c, n, "Cast", 1, &x, 1, &y)) || !st_tf_set_int(c, nd, "to", to))
        return st_tf_nomem(c);
    return ST_OK;
}

static st_status cv_matmul(tf_ctx *c, tf_node *n, const tf_op *row) {
    (void)row;
    int a = IN(0), b = IN(1);
    if (a < 0 || b < 0) return c->st;
    static const int64_t t2[2] = {1, 0};
    if (st_tf_attr_b(n->def, "transpose_a", false) && (a = transpose(c, n, a, t2, 2, -1)) < 0)
        return st_tf_nomem(c);
    if (st_tf_attr_b(n->def, "transpose_b", false) && (b = transpose(c, n, b, t2, 2, -1)) < 0)
        return st_tf_nomem(c);
    int ins[2] = {a, b}, y = OUT(0);
    if (y < 0 || !st_tf_emit(c, n, "MatMul", 2, ins, 1, &y)) return st_tf_nomem(c);
    return ST_OK;
}

/* swap the last two axes whatever the rank */
static int swap_last(tf_ctx *c, tf_node *n, int v) {
    st_node *x;
    int r = op1(c, n, "Einsum", 1, &v, &x);
    if (r < 0 || !st_tf_set_str(c, x, "equation", "...ij->...ji")) return -1;
    return r;
}

static st_status cv_batch_matmul(tf_ctx *c, tf_node *n, const tf_op *row) {
    (void)row;
    int a = IN(0), b = IN(1);
    if (a < 0 || b < 0) return c->st;
    if (st_tf_attr_b(n->def, "adj_x", false) && (a = swap_last(c, n, a)) < 0) return st_tf_nomem(c);
    if (st_tf_attr_b(n->def, "adj_y", false) && (b = swap_last(c, n, b)) < 0) return st_tf_nomem(c);
    int ins[2] = {a, b}, y = OUT(0);
    if (y < 0 || !st_tf_emit(c, n, "MatMul", 2, ins, 1, &y)) return st_tf_nomem(c);
    return ST_OK;
}

static st_status cv_bias_add(tf_ctx *c, tf_node *n, const tf_op *row) {
    (void)row;
    int x = IN(0), b = IN(1);
    if (x < 0 || b < 0) return c->st;
    if (is_nchw(n)) { /* bias over axis 1 of a rank-4 input */
        static const int64_t ax[2] = {1, 2};
        int axes = st_tf_cst_i64(c, n, ax, 2, false);
        int ins[2] = {b, axes};
        if (axes < 0 || (b = op1(c, n, "Unsqueeze", 2, ins, NULL)) < 0) return st_tf_nomem(c);
    }
    int ins[2] = {x, b}, y = OUT(0);
    if (y < 0 || !st_tf_emit(c, n, "Add", 2, ins, 1, &y)) return st_tf_nomem(c);
    return ST_OK;
}

/* padding attribute -> auto_pad / pads on an NCHW IR node */
static st_status set_padding(tf_ctx *c, tf_node *n, st_node *x) {
    char pad[32];
    st_tf_attr_s(n->def, "padding", pad, sizeof pad);
    if (!strcmp(pad, "SAME")) {
        if (!st_tf_set_str(c, x, "auto_pad", "SAME_UPPER")) return st_tf_nomem(c);
    } else if (!strcmp(pad, "VALID")) {
        if (!st_tf_set_str(c, x, "auto_pad", "VALID")) return st_tf_nomem(c);
    } else if (!strcmp(pad, "EXPLICIT")) {
        const int64_t *e;
        size_t ne = st_tf_attr_ints(n->def, "explicit_paddings", &e);
        if (ne != 8)
            return st_tf_fail(c, ST_ERR_FORMAT, "explicit_paddings has %zu values, expected 8", ne);
        int h = is_nchw(n) ? 2 : 1, w = h + 1;
        int64_t pads[4] = {e[2 * h], e[2 * w], e[2 * h + 1], e[2 * w + 1]};
        if (!st_tf_set_ints(c, x, "pads", pads, 4)) return st_tf_nomem(c);
    } else {
        return st_tf_fail(c, ST_ERR_UNSUPPORTED, "padding \"%s\"", pad);
    }
    return ST_OK;
}

/* spatial values (H, W) of an NHWC/NCHW 4-list attribute */
static bool hw_attr(const tf_node *n, const char *name, int64_t out[2], int64_t def) {
    const int64_t *v;
    size_t len = st_tf_attr_ints(n->def, name, &v);
    if (!len) {
        out[0] = out[1] = def;
        return true;
    }
    if (len != 4) return false;
    int h = is_nchw(n) ? 2 : 1;
    out[0] = v[h];
    out[1] = v[h + 1];
    return true;
}

/* NHWC input -> NCHW op -> NHWC output, with `body` making the NCHW node. */
/* *node_idx gets the NCHW node's index: a pointer would not survive later emits, which may
 * move the node array. */
static st_status around_nchw(tf_ctx *c, tf_node *n, int x, int n_extra, const int *extra,
                             const char *op, size_t *node_idx) {
    bool nchw = is_nchw(n);
    int xi = nchw ? x : transpose(c, n, x, TO_NCHW, 4, -1);
    if (xi < 0) return st_tf_nomem(c);
    int ins[4] = {xi, -1, -1, -1};
    for (int i = 0; i < n_extra; i++) ins[1 + i] = extra[i];
    int y = OUT(0);
    if (y < 0) return st_tf_nomem(c);
    int yi = nchw ? y : st_tf_tmp(c, n, op);
    if (yi < 0 || !st_tf_emit(c, n, op, 1 + n_extra, ins, 1, &yi)) return st_tf_nomem(c);
    *node_idx = c->g->n_nodes - 1;
    if (!nchw && transpose(c, n, yi, TO_NHWC, 4, y) < 0) return st_tf_nomem(c);
    return ST_OK;
}

static st_status cv_conv2d(tf_ctx *c, tf_node *n, const tf_op *row) {
    (void)row;
    int x = IN(0), w = IN(1);
    if (x < 0 || w < 0) return c->st;
    static const int64_t hwio_to_oihw[4] = {3, 2, 0, 1};
    int64_t st[2], dl[2];
    if (!hw_attr(n, "strides", st, 1) || !hw_attr(n, "dilations", dl, 1))
        return st_tf_fail(c, ST_ERR_FORMAT, "strides/dilations need 4 values");
    bool depthwise = !strcmp(n->def->op, "DepthwiseConv2dNative");
    int64_t group = 1;
    if (depthwise) {
        const st_tensor *wt = st_tf_const(c, n, 1);
        if (!wt || wt->ndim != 4) return need_const(c, 1);
        group = wt->dims[2];
        int64_t shp[4] = {wt->dims[0], wt->dims[1], 1, wt->dims[2] * wt->dims[3]};
        int s = st_tf_cst_i64(c, n, shp, 4, false);
        int ins[2] = {w, s};
        if (s < 0 || (w = op1(c, n, "Reshape", 2, ins, NULL)) < 0) return st_tf_nomem(c);
    }
    int wo = transpose(c, n, w, hwio_to_oihw, 4, -1);
    if (wo < 0) return st_tf_nomem(c);
    size_t xi = 0;
    st_status s = around_nchw(c, n, x, 1, &wo, "Conv", &xi);
    if (s) return s;
    st_node *x2 = &c->g->nodes[xi];
    if (!st_tf_set_ints(c, x2, "strides", st, 2) || !st_tf_set_ints(c, x2, "dilations", dl, 2) ||
        !st_tf_set_int(c, x2, "group", group))
        return st_tf_nomem(c);
    return set_padding(c, n, x2);
}

static st_status cv_pool(tf_ctx *c, tf_node *n, const tf_op *row) {
    int x = IN(0);
    if (x < 0) return c->st;
    int64_t k[2], st[2];
    if (!hw_attr(n, "ksize", k, 1) || !hw_attr(n, "strides", st, 1))
        return st_tf_fail(c, ST_ERR_FORMAT, "ksize/strides need 4 values");
    size_t xi = 0;
    st_status s = around_nchw(c, n, x, 0, NULL, row->onnx, &xi);
    if (s) return s;
    st_node *x2 = &c->g->nodes[xi];
    if (!st_tf_set_ints(c, x2, "kernel_shape", k, 2) || !st_tf_set_ints(c, x2, "strides", st, 2))
        return st_tf_nomem(c);
    return set_padding(c, n, x2);
}

/* FusedBatchNorm in inference form. NHWC: y = x * a + b with a = scale / sqrt(var + eps)
 * and b = offset - mean * a broadcast over the last axis (no transposes needed). */
static st_status cv_fused_bn(tf_ctx *c, tf_node *n, const tf_op *row) {
    (void)row;
    if (st_tf_attr_b(n->def, "is_training", true))
        return st_tf_fail(c, ST_ERR_UNSUPPORTED,
                          "FusedBatchNorm in training mode (batch statistics)");
    int in[5];
    for (int i = 0; i < 5; i++)
        if ((in[i] = IN(i)) < 0) return c->st;
    double eps = st_tf_attr_f(n->def, "epsilon", 1e-4f);
    int y = OUT(0);
    if (y < 0) return st_tf_nomem(c);
    if (is_nchw(n)) {
        st_node *x = st_tf_emit(c, n, "BatchNormalization", 5, in, 1, &y);
        if (!x || !st_tf_set_float(c, x, "epsilon", eps)) return st_tf_nomem(c);
        return ST_OK;
    }
    st_dtype pt = attr_dtype(n, "U");
    const st_tensor *sc = st_tf_const(c, n, 1), *of = st_tf_const(c, n, 2),
                    *mu = st_tf_const(c, n, 3), *va = st_tf_const(c, n, 4);
    if (sc && of && mu && va && sc->dtype == ST_DTYPE_F32 && of->dtype == ST_DTYPE_F32 &&
        mu->dtype == ST_DTYPE_F32 && va->dtype == ST_DTYPE_F32 && sc->ndim == 1 && of->ndim == 1 &&
        mu->ndim == 1 && va->ndim == 1 && sc->dims[0] == of->dims[0] &&
        sc->dims[0] == mu->dims[0] && sc->dims[0] == va->dims[0]) {
        /* constant statistics: a and b computed here, in float32 as the graph would */
        st_tensor ta, tb;
        if (st_tensor_alloc(&ta, ST_DTYPE_F32, 1, sc->dims, NULL)) return st_tf_nomem(c);
        if (st_tensor_alloc(&tb, ST_DTYPE_F32, 1, sc->dims, NULL)) {
            st_tensor_clear(&ta);
            return st_tf_nomem(c);
        }
        const float *S = sc->data, *O = of->data, *M = mu->data, *V = va->data;
        float *A = ta.data, *B = tb.data;
        for (int64_t i = 0; i < sc->dims[0]; i++) {
            A[i] = S[i] / sqrtf(V[i] + (float)eps);
            B[i] = O[i] - M[i] * A[i];
        }
        int ca = st_tf_cst(c, n, &ta), cb = st_tf_cst(c, n, &tb);
        int xa[2] = {in[0], ca};
        int t = ca < 0 || cb < 0 ? -1 : op1(c, n, "Mul", 2, xa, NULL);
        int tb2[2] = {t, cb};
        if (t < 0 || !st_tf_emit(c, n, "Add", 2, tb2, 1, &y)) return st_tf_nomem(c);
        return ST_OK;
    }
    int e = st_tf_cst_scalar(c, n, pt == ST_DTYPE_UNDEFINED ? ST_DTYPE_F32 : pt, eps);
    int ve[2] = {in[4], e};
    int sum = op1(c, n, "Add", 2, ve, NULL);
    int sq = sum < 0 ? -1 : op1(c, n, "Sqrt", 1, &sum, NULL);
    int sd[2] = {in[1], sq};
    int a = sq < 0 ? -1 : op1(c, n, "Div", 2, sd, NULL);
    int ma[2] = {in[3], a};
    int mm = a < 0 ? -1 : op1(c, n, "Mul", 2, ma, NULL);
    int om[2] = {in[2], mm};
    int b = mm < 0 ? -1 : op1(c, n, "Sub", 2, om, NULL);
    int xa[2] = {in[0], a};
    int t = b < 0 ? -1 : op1(c, n, "Mul", 2, xa, NULL);
    int tb[2] = {t, b};
    if (e < 0 || t < 0 || !st_tf_emit(c, n, "Add", 2, tb, 1, &y)) return st_tf_nomem(c);
    return ST_OK;
}

static st_status cv_reshape(tf_ctx *c, tf_node *n, const tf_op *row) {
    (void)row;
    int x = IN(0), s = IN(1);
    if (x < 0 || s < 0) return c->st;
    const st_tensor *xc = st_tf_const(c, n, 0);
    int64_t shp[ST_MAX_RANK];
    size_t ns;
    st_tensor folded;
    if (xc && const_ints(c, n, 1, shp, ST_MAX_RANK, &ns) && fold_reshape(xc, shp, ns, &folded)) {
        int v = st_tf_cst(c, n, &folded);
        return v >= 0 && st_tf_alias(c, n, 0, v) ? ST_OK : st_tf_nomem(c);
    }
    if ((s = cast_i64(c, n, s, st_tf_attr_type(n->def, "Tshape", 3))) < 0) return st_tf_nomem(c);
    int ins[2] = {x, s}, y = OUT(0);
    if (y < 0 || !st_tf_emit(c, n, "Reshape", 2, ins, 1, &y)) return st_tf_nomem(c);
    return ST_OK;
}

static st_status axes_op(tf_ctx *c, tf_node *n, const char *op, int x, const int64_t *ax,
                         size_t nax, int out) {
    int ins[2] = {x, -1};
    int nin = 1;
    if (nax) {
        if ((ins[1] = st_tf_cst_i64(c, n, ax, nax, false)) < 0) return st_tf_nomem(c);
        nin = 2;
    }
    if (!st_tf_emit(c, n, op, nin, ins, 1, &out)) return st_tf_nomem(c);
    return ST_OK;
}

static st_status cv_squeeze(tf_ctx *c, tf_node *n, const tf_op *row) {
    (void)row;
    int x = IN(0), y = OUT(0);
    if (x < 0) return c->st;
    if (y < 0) return st_tf_nomem(c);
    const int64_t *ax;
    size_t nax = st_tf_attr_ints(n->def, "squeeze_dims", &ax);
    return axes_op(c, n, "Squeeze", x, ax, nax, y);
}

static st_status cv_expand_dims(tf_ctx *c, tf_node *n, const tf_op *row) {
    (void)row;
    int x = IN(0), y = OUT(0);
    if (x < 0) return c->st;
    int64_t ax[1];
    size_t len;
    if (!const_ints(c, n, 1, ax, 1, &len) || len != 1) return need_const(c, 1);
    if (y < 0) return st_tf_nomem(c);
    return axes_op(c, n, "Unsqueeze", x, ax, 1, y);
}

static st_status cv_concat(tf_ctx *c, tf_node *n, const tf_op *row) {
    (void)row;
    int k = n->n_in - 1;
    int64_t ax;
    size_t len;
    if (k < 1 || !const_ints(c, n, k, &ax, 1, &len) || len != 1) return need_const(c, k);
    int *ins = st_calloc((size_t)k, sizeof *ins);
    if (!ins) return st_tf_nomem(c);
    st_status s = ST_OK;
    for (int i = 0; i < k; i++)
        if ((ins[i] = IN(i)) < 0) {
            s = c->st;
            goto done;
        }
    int y = OUT(0);
    st_node *x;
    if (y < 0 || !(x = st_tf_emit(c, n, "Concat", k, ins, 1, &y)) ||
        !st_tf_set_int(c, x, "axis", ax))
        s = st_tf_nomem(c);
done:
    st_free(ins);
    return s;
}

static st_status cv_pack(tf_ctx *c, tf_node *n, const tf_op *row) {
    (void)row;
    int64_t ax = st_tf_attr_i(n->def, "axis", 0);
    int *ins = st_calloc((size_t)n->n_in + 1, sizeof *ins);
    if (!ins) return st_tf_nomem(c);
    st_status s = ST_OK;
    int y = OUT(0);
    if (y < 0) {
        s = st_tf_nomem(c);
        goto done;
    }
    for (int i = 0; i < n->n_in; i++) {
        int x = IN(i);
        if (x < 0) {
            s = c->st;
            goto done;
        }
        int u = n->n_in == 1 ? y : st_tf_tmp(c, n, "Unsqueeze");
        if (u < 0 || (s = axes_op(c, n, "Unsqueeze", x, &ax, 1, u))) {
            if (!s) s = st_tf_nomem(c);
            goto done;
        }
        ins[i] = u;
    }
    if (n->n_in > 1) {
        st_node *x = st_tf_emit(c, n, "Concat", n->n_in, ins, 1, &y);
        if (!x || !st_tf_set_int(c, x, "axis", ax)) s = st_tf_nomem(c);
    }
done:
    st_free(ins);
    return s;
}

/* Split into `num` outputs along ax (sizes: NULL for equal parts), squeezing when asked. */
static st_status split_to(tf_ctx *c, tf_node *n, int x, int64_t ax, int num, const int64_t *sizes,
                          bool squeeze) {
    if (num < 1 || num > 100000) return st_tf_fail(c, ST_ERR_FORMAT, "bad split count %d", num);
    int *outs = st_calloc((size_t)num, sizeof *outs);
    if (!outs) return st_tf_nomem(c);
    st_status s = ST_OK;
    for (int k = 0; k < num; k++)
        if ((outs[k] = squeeze ? st_tf_tmp(c, n, "Split") : OUT(k)) < 0) goto nomem;
    int ins[2] = {x, sizes ? st_tf_cst_i64(c, n, sizes, (size_t)num, false) : -1};
    if (sizes && ins[1] < 0) goto nomem;
    st_node *nd = st_tf_emit(c, n, "Split", sizes ? 2 : 1, ins, num, outs);
    if (!nd || !st_tf_set_int(c, nd, "axis", ax)) goto nomem;
    for (int k = 0; squeeze && k < num; k++) {
        int y = OUT(k);
        if (y < 0 || (s = axes_op(c, n, "Squeeze", outs[k], &ax, 1, y))) {
            if (!s) s = st_tf_nomem(c);
            break;
        }
    }
    st_free(outs);
    return s;
nomem:
    st_free(outs);
    return st_tf_nomem(c);
}

static st_status cv_unpack(tf_ctx *c, tf_node *n, const tf_op *row) {
    (void)row;
    int x = IN(0);
    if (x < 0) return c->st;
    return split_to(c, n, x, st_tf_attr_i(n->def, "axis", 0), (int)st_tf_attr_i(n->def, "num", 0),
                    NULL, true);
}

static st_status cv_split(tf_ctx *c, tf_node *n, const tf_op *row) {
    (void)row;
    int64_t ax;
    size_t len;
    if (!const_ints(c, n, 0, &ax, 1, &len) || len != 1) return need_const(c, 0);
    int x = IN(1);
    if (x < 0) return c->st;
    return split_to(c, n, x, ax, (int)st_tf_attr_i(n->def, "num_split", 0), NULL, false);
}

static st_status cv_splitv(tf_ctx *c, tf_node *n, const tf_op *row) {
    (void)row;
    int64_t ax, sizes[256];
    size_t len, ns;
    if (!const_ints(c, n, 1, sizes, 256, &ns)) return need_const(c, 1);
    if (!const_ints(c, n, 2, &ax, 1, &len) || len != 1) return need_const(c, 2);
    for (size_t i = 0; i < ns; i++)
        if (sizes[i] < 0)
            return st_tf_fail(c, ST_ERR_UNSUPPORTED, "SplitV with an inferred (-1) size");
    int x = IN(0);
    if (x < 0) return c->st;
    return split_to(c, n, x, ax, (int)ns, sizes, false);
}

static st_status emit_slice(tf_ctx *c, tf_node *n, int x, const int64_t *st, const int64_t *en,
                            const int64_t *ax, const int64_t *sp, size_t k, int out) {
    int ins[5] = {x, st_tf_cst_i64(c, n, st, k, false), st_tf_cst_i64(c, n, en, k, false),
                  st_tf_cst_i64(c, n, ax, k, false), st_tf_cst_i64(c, n, sp, k, false)};
    for (int i = 1; i < 5; i++)
        if (ins[i] < 0) return st_tf_nomem(c);
    if (!st_tf_emit(c, n, "Slice", 5, ins, 1, &out)) return st_tf_nomem(c);
    return ST_OK;
}

static st_status cv_slice(tf_ctx *c, tf_node *n, const tf_op *row) {
    (void)row;
    int64_t b[ST_MAX_RANK], sz[ST_MAX_RANK], e[ST_MAX_RANK], ax[ST_MAX_RANK], sp[ST_MAX_RANK];
    size_t nb, ns;
    if (!const_ints(c, n, 1, b, ST_MAX_RANK, &nb) || !const_ints(c, n, 2, sz, ST_MAX_RANK, &ns) ||
        ns != nb) {
        /* computed begin/size: ends = size < 0 ? INT64_MAX : begin + size, at run time */
        int x = IN(0), bv = IN(1), sv = IN(2), y = OUT(0);
        if (x < 0 || bv < 0 || sv < 0) return c->st;
        int ti = st_tf_attr_type(n->def, "Index", 3);
        bv = cast_i64(c, n, bv, ti);
        sv = bv < 0 ? -1 : cast_i64(c, n, sv, ti);
        int z = st_tf_cst_scalar(c, n, ST_DTYPE_I64, 0);
        int big = st_tf_cst_i64(c, n, (const int64_t[]){INT64_MAX}, 1, true);
        int bs[2] = {bv, sv}, sz0[2] = {sv, z};
        int sum = sv < 0 ? -1 : op1(c, n, "Add", 2, bs, NULL);
        int neg = sum < 0 || z < 0 ? -1 : op1(c, n, "Less", 2, sz0, NULL);
        int w[3] = {neg, big, sum};
        int ends = neg < 0 || big < 0 ? -1 : op1(c, n, "Where", 3, w, NULL);
        int ins[3] = {x, bv, ends};
        if (ends < 0 || y < 0 || !st_tf_emit(c, n, "Slice", 3, ins, 1, &y)) return st_tf_nomem(c);
        return ST_OK;
    }
    for (size_t i = 0; i < nb; i++) {
        e[i] = sz[i] < 0 ? INT64_MAX : b[i] + sz[i];
        ax[i] = (int64_t)i;
        sp[i] = 1;
    }
    int x = IN(0), y = OUT(0);
    if (x < 0) return c->st;
    if (y < 0) return st_tf_nomem(c);
    return emit_slice(c, n, x, b, e, ax, sp, nb, y);
}

static st_status cv_strided_slice(tf_ctx *c, tf_node *n, const tf_op *row) {
    (void)row;
    int64_t b[ST_MAX_RANK], e[ST_MAX_RANK], s[ST_MAX_RANK];
    size_t nb, ne, ns;
    int64_t bm = st_tf_attr_i(n->def, "begin_mask", 0), em = st_tf_attr_i(n->def, "end_mask", 0);
    int64_t elm = st_tf_attr_i(n->def, "ellipsis_mask", 0),
            nam = st_tf_attr_i(n->def, "new_axis_mask", 0);
    int64_t sam = st_tf_attr_i(n->def, "shrink_axis_mask", 0);
    if (!const_ints(c, n, 1, b, ST_MAX_RANK, &nb) || !const_ints(c, n, 2, e, ST_MAX_RANK, &ne) ||
        ne != nb || !const_ints(c, n, 3, s, ST_MAX_RANK, &ns) || ns != nb) {
        /* computed bounds without masks: a Slice over the leading axes */
        if (bm || em || elm || nam || sam) return need_const(c, 1);
        int ti = st_tf_attr_type(n->def, "Index", 3);
        int ins[5] = {IN(0), IN(1), IN(2), -1, IN(3)}, y = OUT(0);
        if (ins[0] < 0 || ins[1] < 0 || ins[2] < 0 || ins[4] < 0) return c->st;
        for (int i = 1; i < 5; i++)
            if (i != 3 && (ins[i] = cast_i64(c, n, ins[i], ti)) < 0) return st_tf_nomem(c);
        if (y < 0 || !st_tf_emit(c, n, "Slice", 5, ins, 1, &y)) return st_tf_nomem(c);
        return ST_OK;
    }
    int64_t st[ST_MAX_RANK], en[ST_MAX_RANK], ax[ST_MAX_RANK], sp[ST_MAX_RANK], sq[ST_MAX_RANK],
        un[ST_MAX_RANK];
    size_t k = 0, nsq = 0, nun = 0;
    int64_t axis = 0, outpos = 0;
    bool after_ellipsis = false;
    for (size_t i = 0; i < nb; i++) {
        if (elm >> i & 1) {
            if (after_ellipsis) return st_tf_fail(c, ST_ERR_FORMAT, "two ellipses in StridedSlice");
            after_ellipsis = true;
            /* the remaining specs address the last axes: count them, then use negative axes */
            int64_t rest = 0;
            for (size_t j = i + 1; j < nb; j++)
                if (!(nam >> j & 1)) rest++;
            axis = -rest;
            continue;
        }
        if (nam >> i & 1) {
            if (after_ellipsis)
                return st_tf_fail(c, ST_ERR_UNSUPPORTED, "StridedSlice new axis after an ellipsis");
            un[nun++] = outpos++;
            continue;
        }
        if (s[i] == 0) return st_tf_fail(c, ST_ERR_FORMAT, "StridedSlice stride 0");
        if (sam >> i & 1) {
            st[k] = b[i];
            en[k] = b[i] == -1 ? INT64_MAX : b[i] + 1;
            sp[k] = 1;
            sq[nsq++] = axis;
        } else {
            st[k] = bm >> i & 1 ? (s[i] > 0 ? 0 : INT64_MAX) : b[i];
            en[k] = em >> i & 1 ? (s[i] > 0 ? INT64_MAX : INT64_MIN) : e[i];
            sp[k] = s[i];
            outpos++;
        }
        ax[k++] = axis++;
    }
    int x = IN(0), y = OUT(0);
    if (x < 0) return c->st;
    if (y < 0) return st_tf_nomem(c);
    int cur = x;
    bool more = nsq || nun;
    st_status r;
    if (k) {
        int t = more ? st_tf_tmp(c, n, "Slice") : y;
        if (t < 0) return st_tf_nomem(c);
        if ((r = emit_slice(c, n, cur, st, en, ax, sp, k, t))) return r;
        cur = t;
    }
    if (nsq) {
        int t = nun ? st_tf_tmp(c, n, "Squeeze") : y;
        if (t < 0) return st_tf_nomem(c);
        if ((r = axes_op(c, n, "Squeeze", cur, sq, nsq, t))) return r;
        cur = t;
    }
    if (nun) {
        if ((r = axes_op(c, n, "Unsqueeze", cur, un, nun, y))) return r;
        cur = y;
    }
    if (cur != y && !st_tf_emit(c, n, "Identity", 1, &cur, 1, &y)) return st_tf_nomem(c);
    return ST_OK;
}

static st_status cv_shape(tf_ctx *c, tf_node *n, const tf_op *row) {
    int x = IN(0), y = OUT(0);
    if (x < 0) return c->st;
    if (y < 0) return st_tf_nomem(c);
    st_dtype ot = attr_dtype(n, "out_type");
    if (ot == ST_DTYPE_F32) ot = ST_DTYPE_I32; /* attr absent: TF's default */
    int s = ot == ST_DTYPE_I64 ? y : st_tf_tmp(c, n, row->onnx);
    if (s < 0 || !st_tf_emit(c, n, row->onnx, 1, &x, 1, &s)) return st_tf_nomem(c);
    if (s != y) {
        st_node *nd = st_tf_emit(c, n, "Cast", 1, &s, 1, &y);
        if (!nd || !st_tf_set_int(c, nd, "to", ot)) return st_tf_nomem(c);
    }
    return ST_OK;
}

static st_status cv_fill(tf_ctx *c, tf_node *n, const tf_op *row) {
    (void)row;
    int d = IN(0), v = IN(1);
    if (d < 0 || v < 0) return c->st;
    if ((d = cast_i64(c, n, d, st_tf_attr_type(n->def, "index_type", 3))) < 0)
        return st_tf_nomem(c);
    int ins[2] = {v, d}, y = OUT(0);
    if (y < 0 || !st_tf_emit(c, n, "Expand", 2, ins, 1, &y)) return st_tf_nomem(c);
    return ST_OK;
}

static st_status cv_pad(tf_ctx *c, tf_node *n, const tf_op *row) {
    (void)row;
    int64_t p[2 * ST_MAX_RANK], pads[2 * ST_MAX_RANK];
    size_t np;
    if (!const_ints(c, n, 1, p, 2 * ST_MAX_RANK, &np) || np % 2) return need_const(c, 1);
    size_t r = np / 2;
    for (size_t i = 0; i < r; i++) {
        pads[i] = p[2 * i];
        pads[r + i] = p[2 * i + 1];
    }
    int x = IN(0), y = OUT(0);
    if (x < 0) return c->st;
    int ins[3] = {x, st_tf_cst_i64(c, n, pads, np, false), -1};
    int nin = 2;
    if (!strcmp(n->def->op, "PadV2")) {
        if ((ins[2] = IN(2)) < 0) return c->st;
        nin = 3;
    }
    if (y < 0 || ins[1] < 0) return st_tf_nomem(c);
    st_node *nd = st_tf_emit(c, n, "Pad", nin, ins, 1, &y);
    if (!nd) return st_tf_nomem(c);
    if (!strcmp(n->def->op, "MirrorPad")) {
        char mode[32];
        if (strcmp(st_tf_attr_s(n->def, "mode", mode, sizeof mode), "REFLECT"))
            return st_tf_fail(c, ST_ERR_UNSUPPORTED, "MirrorPad mode %s", mode);
        if (!st_tf_set_str(c, nd, "mode", "reflect")) return st_tf_nomem(c);
    }
    return ST_OK;
}

static st_status cv_transpose(tf_ctx *c, tf_node *n, const tf_op *row) {
    (void)row;
    int64_t perm[ST_MAX_RANK];
    size_t np;
    if (!const_ints(c, n, 1, perm, ST_MAX_RANK, &np)) return need_const(c, 1);
    int x = IN(0);
    if (x < 0) return c->st;
    const st_tensor *xc = st_tf_const(c, n, 0);
    st_tensor folded;
    if (xc && fold_transpose(xc, perm, np, &folded)) {
        int v = st_tf_cst(c, n, &folded);
        return v >= 0 && st_tf_alias(c, n, 0, v) ? ST_OK : st_tf_nomem(c);
    }
    int y = OUT(0);
    if (y < 0 || transpose(c, n, x, perm, (int)np, y) < 0) return st_tf_nomem(c);
    return ST_OK;
}

static st_status cv_gather(tf_ctx *c, tf_node *n, const tf_op *row) {
    (void)row;
    int64_t ax = 0;
    size_t len;
    if (n->n_in > 2 && (!const_ints(c, n, 2, &ax, 1, &len) || len != 1)) return need_const(c, 2);
    if (st_tf_attr_i(n->def, "batch_dims", 0) != 0)
        return st_tf_fail(c, ST_ERR_UNSUPPORTED, "GatherV2 with batch_dims");
    int ins[2] = {IN(0), IN(1)}, y = OUT(0);
    if (ins[0] < 0 || ins[1] < 0) return c->st;
    st_node *nd;
    if (y < 0 || !(nd = st_tf_emit(c, n, "Gather", 2, ins, 1, &y)) ||
        !st_tf_set_int(c, nd, "axis", ax))
        return st_tf_nomem(c);
    return ST_OK;
}

static st_status cv_tile(tf_ctx *c, tf_node *n, const tf_op *row) {
    (void)row;
    int x = IN(0), m = IN(1);
    if (x < 0 || m < 0) return c->st;
    if ((m = cast_i64(c, n, m, st_tf_attr_type(n->def, "Tmultiples", 3))) < 0)
        return st_tf_nomem(c);
    int ins[2] = {x, m}, y = OUT(0);
    if (y < 0 || !st_tf_emit(c, n, "Tile", 2, ins, 1, &y)) return st_tf_nomem(c);
    return ST_OK;
}

static st_status cv_resize(tf_ctx *c, tf_node *n, const tf_op *row) {
    (void)row;
    int x = IN(0), sz = IN(1);
    if (x < 0 || sz < 0) return c->st;
    bool bilinear = !strcmp(n->def->op, "ResizeBilinear");
    bool align = st_tf_attr_b(n->def, "align_corners", false);
    bool half = st_tf_attr_b(n->def, "half_pixel_centers", false);
    int xi = transpose(c, n, x, TO_NCHW, 4, -1);
    int sh = xi < 0 ? -1 : op1(c, n, "Shape", 1, &xi, NULL);
    static const int64_t z[1] = {0}, two[1] = {2};
    int sl[3] = {sh, st_tf_cst_i64(c, n, z, 1, false), st_tf_cst_i64(c, n, two, 1, false)};
    int nc = sl[0] < 0 || sl[1] < 0 || sl[2] < 0 ? -1 : op1(c, n, "Slice", 3, sl, NULL);
    int hw = nc < 0 ? -1 : cast_i64(c, n, sz, 3);
    int cc[2] = {nc, hw};
    st_node *cat = NULL;
    int sizes = hw < 0 ? -1 : op1(c, n, "Concat", 2, cc, &cat);
    if (sizes < 0 || !st_tf_set_int(c, cat, "axis", 0)) return st_tf_nomem(c);
    int ins[4] = {xi, -1, -1, sizes};
    int yi = st_tf_tmp(c, n, "Resize"), y = OUT(0);
    st_node *r;
    if (yi < 0 || y < 0 || !(r = st_tf_emit(c, n, "Resize", 4, ins, 1, &yi))) return st_tf_nomem(c);
    const char *ctm = align  ? "align_corners"
                      : half ? (bilinear ? "half_pixel" : "tf_half_pixel_for_nn")
                             : "asymmetric";
    if (!st_tf_set_str(c, r, "mode", bilinear ? "linear" : "nearest") ||
        !st_tf_set_str(c, r, "coordinate_transformation_mode", ctm) ||
        (!bilinear &&
         !st_tf_set_str(c, r, "nearest_mode", align || half ? "round_prefer_ceil" : "floor")))
        return st_tf_nomem(c);
    if (transpose(c, n, yi, TO_NHWC, 4, y) < 0) return st_tf_nomem(c);
    return ST_OK;
}

static st_status cv_reduce(tf_ctx *c, tf_node *n, const tf_op *row) {
    int64_t ax[ST_MAX_RANK];
    size_t nax;
    if (!const_ints(c, n, 1, ax, ST_MAX_RANK, &nax)) return need_const(c, 1);
    int x = IN(0), y = OUT(0);
    if (x < 0) return c->st;
    if (y < 0) return st_tf_nomem(c);
    bool keep = st_tf_attr_b(n->def, "keep_dims", false);
    bool bools = !strcmp(n->def->op, "All") || !strcmp(n->def->op, "Any");
    if (bools) { /* bool reductions through Min/Max over uint8 would need casts: use int32 */
        st_node *cx;
        if ((x = op1(c, n, "Cast", 1, &x, &cx)) < 0 || !st_tf_set_int(c, cx, "to", ST_DTYPE_I32))
            return st_tf_nomem(c);
    }
    int r = bools ? st_tf_tmp(c, n, row->onnx) : y;
    if (r < 0) return st_tf_nomem(c);
    st_node *nd;
    if (!strcmp(row->onnx, "ReduceSum")) {
        int ins[2] = {x, st_tf_cst_i64(c, n, ax, nax, false)};
        if (ins[1] < 0 || !(nd = st_tf_emit(c, n, row->onnx, 2, ins, 1, &r))) return st_tf_nomem(c);
    } else {
        if (!(nd = st_tf_emit(c, n, row->onnx, 1, &x, 1, &r)) ||
            !st_tf_set_ints(c, nd, "axes", ax, nax))
            return st_tf_nomem(c);
    }
    if (!st_tf_set_int(c, nd, "keepdims", keep)) return st_tf_nomem(c);
    if (bools) {
        st_node *cy = st_tf_emit(c, n, "Cast", 1, &r, 1, &y);
        if (!cy || !st_tf_set_int(c, cy, "to", ST_DTYPE_BOOL)) return st_tf_nomem(c);
    }
    return ST_OK;
}

static st_status cv_argmax(tf_ctx *c, tf_node *n, const tf_op *row) {
    int64_t ax;
    size_t len;
    if (!const_ints(c, n, 1, &ax, 1, &len) || len != 1) return need_const(c, 1);
    int x = IN(0), y = OUT(0);
    if (x < 0) return c->st;
    st_dtype ot = attr_dtype(n, "output_type");
    if (ot == ST_DTYPE_F32) ot = ST_DTYPE_I64;
    int r = ot == ST_DTYPE_I64 ? y : st_tf_tmp(c, n, row->onnx);
    st_node *nd;
    if (y < 0 || r < 0 || !(nd = st_tf_emit(c, n, row->onnx, 1, &x, 1, &r)) ||
        !st_tf_set_int(c, nd, "axis", ax) || !st_tf_set_int(c, nd, "keepdims", 0))
        return st_tf_nomem(c);
    if (r != y) {
        st_node *cy = st_tf_emit(c, n, "Cast", 1, &r, 1, &y);
        if (!cy || !st_tf_set_int(c, cy, "to", ot)) return st_tf_nomem(c);
    }
    return ST_OK;
}

static st_status cv_sum_n(tf_ctx *c, tf_node *n, const tf_op *row) {
    (void)row;
    emit_all(c, n, "Sum");
    return c->st;
}

static st_status cv_einsum(tf_ctx *c, tf_node *n, const tf_op *row) {
    (void)row;
    char eq[256];
    st_tf_set_str(c, emit_all(c, n, "Einsum"), "equation",
                  st_tf_attr_s(n->def, "equation", eq, sizeof eq));
    return c->st;
}

static st_status cv_floordiv(tf_ctx *c, tf_node *n, const tf_op *row) {
    (void)row;
    int ins[2] = {IN(0), IN(1)}, y = OUT(0);
    if (ins[0] < 0 || ins[1] < 0) return c->st;
    if (y < 0) return st_tf_nomem(c);
    if (st_dtype_is_int(attr_dtype(n, "T"))) { /* floor(a/b) = (a - mod(a, b)) / b, exact */
        st_node *m;
        int r = op1(c, n, "Mod", 2, ins, &m);
        if (r < 0 || !st_tf_set_int(c, m, "fmod", 0)) return st_tf_nomem(c); /* before m can move */
        int d[2] = {ins[0], r};
        int s = op1(c, n, "Sub", 2, d, NULL);
        int q[2] = {s, ins[1]};
        if (s < 0 || !st_tf_emit(c, n, "Div", 2, q, 1, &y)) return st_tf_nomem(c);
        return ST_OK;
    }
    int d = op1(c, n, "Div", 2, ins, NULL);
    if (d < 0 || !st_tf_emit(c, n, "Floor", 1, &d, 1, &y)) return st_tf_nomem(c);
    return ST_OK;
}

static st_status cv_floormod(tf_ctx *c, tf_node *n, const tf_op *row) {
    (void)row;
    int ins[2] = {IN(0), IN(1)}, y = OUT(0);
    if (ins[0] < 0 || ins[1] < 0) return c->st;
    st_node *m;
    bool isint = st_dtype_is_int(attr_dtype(n, "T"));
    if (y < 0 || !(m = st_tf_emit(c, n, "Mod", 2, ins, 1, &y)) ||
        !st_tf_set_int(c, m, "fmod", isint ? 0 : 1))
        return st_tf_nomem(c);
    if (!isint) return st_tf_fail(c, ST_ERR_UNSUPPORTED, "FloorMod on floating point");
    return ST_OK;
}

static st_status cv_broadcast_to(tf_ctx *c, tf_node *n, const tf_op *row) {
    (void)row;
    int x = IN(0), sh = IN(1);
    if (x < 0 || sh < 0) return c->st;
    if ((sh = cast_i64(c, n, sh, st_tf_attr_type(n->def, "Tidx", 3))) < 0) return st_tf_nomem(c);
    int ins[2] = {x, sh}, y = OUT(0);
    if (y < 0 || !st_tf_emit(c, n, "Expand", 2, ins, 1, &y)) return st_tf_nomem(c);
    return ST_OK;
}

/* OnesLike / ZerosLike: the constant expanded to x's runtime shape */
static st_status fill_like(tf_ctx *c, tf_node *n, double value) {
    int x = IN(0), y = OUT(0);
    int sh = x < 0 ? -1 : op1(c, n, "Shape", 1, &x, NULL);
    int k = st_tf_cst_scalar(c, n, attr_dtype(n, "T"), value);
    int ins[2] = {k, sh};
    if (sh >= 0 && k >= 0 && y >= 0) st_tf_emit(c, n, "Expand", 2, ins, 1, &y);
    return c->st;
}

static st_status cv_ones_like(tf_ctx *c, tf_node *n, const tf_op *row) {
    (void)row;
    return fill_like(c, n, 1);
}

static st_status cv_zeros_like(tf_ctx *c, tf_node *n, const tf_op *row) {
    (void)row;
    return fill_like(c, n, 0);
}

/* ---- TensorLists as sequences (Keras RNN loops fill them in order) --------------------- */
static st_status cv_list_reserve(tf_ctx *c, tf_node *n, const tf_op *row) {
    (void)row;
    st_dtype dt = attr_dtype(n, "element_dtype");
    int y = OUT(0);
    st_node *x;
    if (y < 0 || !(x = st_tf_emit(c, n, "SequenceEmpty", 0, NULL, 1, &y)) ||
        !st_tf_set_int(c, x, "dtype", dt))
        return st_tf_nomem(c);
    return ST_OK;
}

static st_status cv_list_from_tensor(tf_ctx *c, tf_node *n, const tf_op *row) {
    (void)row;
    int t = IN(0), y = OUT(0);
    if (t < 0) return c->st;
    st_node *x;
    if (y < 0 || !(x = st_tf_emit(c, n, "SplitToSequence", 1, &t, 1, &y)) ||
        !st_tf_set_int(c, x, "axis", 0) || !st_tf_set_int(c, x, "keepdims", 0))
        return st_tf_nomem(c);
    return ST_OK;
}

/* SetItem on a reserved list: Keras writes indices 0, 1, 2... in order, so appending is the
 * same; a list written out of order would need a scatter. */
static st_status cv_list_set(tf_ctx *c, tf_node *n, const tf_op *row) {
    (void)row;
    int ins[2] = {IN(0), IN(2)}, y = OUT(0);
    if (ins[0] < 0 || ins[1] < 0) return c->st;
    if (y < 0 || !st_tf_emit(c, n, "SequenceInsert", 2, ins, 1, &y)) return st_tf_nomem(c);
    return ST_OK;
}

static st_status cv_list_get(tf_ctx *c, tf_node *n, const tf_op *row) {
    (void)row;
    int ins[2] = {IN(0), IN(1)}, y = OUT(0);
    if (ins[0] < 0 || ins[1] < 0) return c->st;
    if (y < 0 || !st_tf_emit(c, n, "SequenceAt", 2, ins, 1, &y)) return st_tf_nomem(c);
    return ST_OK;
}

static st_status cv_list_stack(tf_ctx *c, tf_node *n, const tf_op *row) {
    (void)row;
    int t = IN(0), y = OUT(0);
    if (t < 0) return c->st;
    st_node *x;
    if (y < 0 || !(x = st_tf_emit(c, n, "ConcatFromSequence", 1, &t, 1, &y)) ||
        !st_tf_set_int(c, x, "axis", 0) || !st_tf_set_int(c, x, "new_axis", 1))
        return st_tf_nomem(c);
    return ST_OK;
}

static st_status cv_list_length(tf_ctx *c, tf_node *n, const tf_op *row) {
    (void)row;
    int t = IN(0), y = OUT(0);
    if (t < 0) return c->st;
    int l = op1(c, n, "SequenceLength", 1, &t, NULL);
    st_node *x;
    if (l < 0 || y < 0 || !(x = st_tf_emit(c, n, "Cast", 1, &l, 1, &y)) ||
        !st_tf_set_int(c, x, "to", ST_DTYPE_I32))
        return st_tf_nomem(c);
    return ST_OK;
}

/* ---- the table ------------------------------------------------------------------------ */
static const tf_op ops[] = {
    /* TF op                 converter            IR op: meaning */
    {"Abs", cv_simple, "Abs"},                           /* |x| */
    {"Add", cv_simple, "Add"},                           /* x + y, broadcasting */
    {"AddN", cv_sum_n, NULL},                            /* sum of N tensors */
    {"AddV2", cv_simple, "Add"},                         /* x + y */
    {"All", cv_reduce, "ReduceMin"},                     /* logical and over axes */
    {"Any", cv_reduce, "ReduceMax"},                     /* logical or over axes */
    {"ArgMax", cv_argmax, "ArgMax"},                     /* index of the largest */
    {"ArgMin", cv_argmax, "ArgMin"},                     /* index of the smallest */
    {"AvgPool", cv_pool, "AveragePool"},                 /* NHWC average pooling, pads excluded */
    {"BatchMatMul", cv_batch_matmul, NULL},              /* batched matmul with adj_x/adj_y */
    {"BatchMatMulV2", cv_batch_matmul, NULL},            /* same, broadcasting batch dims */
    {"BatchMatMulV3", cv_batch_matmul, NULL},            /* same, output type attr */
    {"BiasAdd", cv_bias_add, NULL},                      /* add a bias on the channel axis */
    {"BroadcastTo", cv_broadcast_to, NULL},              /* numpy broadcast to a shape */
    {"Cast", cv_cast, NULL},                             /* element type conversion */
    {"Ceil", cv_simple, "Ceil"},                         /* round up */
    {"CheckNumerics", cv_alias, NULL},                   /* identity (no NaN check) */
    {"ConcatV2", cv_concat, NULL},                       /* concatenation, axis last input */
    {"Const", cv_const, NULL},                           /* constant tensor */
    {"Conv2D", cv_conv2d, NULL},                         /* 2-D convolution, HWIO filter */
    {"Cos", cv_simple, "Cos"},                           /* cosine */
    {"DepthwiseConv2dNative", cv_conv2d, NULL},          /* depthwise convolution */
    {"Div", cv_simple, "Div"},                           /* x / y */
    {"Einsum", cv_einsum, NULL},                         /* Einstein summation */
    {"Elu", cv_simple, "Elu"},                           /* exponential linear unit */
    {"EnsureShape", cv_alias, NULL},                     /* identity (shape asserted by TF) */
    {"Equal", cv_simple, "Equal"},                       /* x == y */
    {"Erf", cv_simple, "Erf"},                           /* error function */
    {"Exp", cv_simple, "Exp"},                           /* e^x */
    {"ExpandDims", cv_expand_dims, NULL},                /* insert an axis */
    {"Fill", cv_fill, NULL},                             /* tensor of one value */
    {"Floor", cv_simple, "Floor"},                       /* round down */
    {"FloorDiv", cv_floordiv, NULL},                     /* floor(x / y) */
    {"FloorMod", cv_floormod, NULL},                     /* x mod y, sign of y */
    {"FusedBatchNorm", cv_fused_bn, NULL},               /* inference batch norm */
    {"FusedBatchNormV2", cv_fused_bn, NULL},             /* same */
    {"FusedBatchNormV3", cv_fused_bn, NULL},             /* same */
    {"GatherV2", cv_gather, NULL},                       /* gather along an axis */
    {"Greater", cv_simple, "Greater"},                   /* x > y */
    {"GreaterEqual", cv_simple, "GreaterOrEqual"},       /* x >= y */
    {"Identity", cv_alias, NULL},                        /* same tensor */
    {"IdentityN", cv_identity_n, NULL},                  /* same tensors */
    {"LeakyRelu", cv_leaky, NULL},                       /* max(x, alpha x) */
    {"Less", cv_simple, "Less"},                         /* x < y */
    {"LessEqual", cv_simple, "LessOrEqual"},             /* x <= y */
    {"Log", cv_simple, "Log"},                           /* natural log */
    {"LogSoftmax", cv_softmax, "LogSoftmax"},            /* log softmax over the last axis */
    {"LogicalAnd", cv_simple, "And"},                    /* x and y */
    {"LogicalNot", cv_simple, "Not"},                    /* not x */
    {"LogicalOr", cv_simple, "Or"},                      /* x or y */
    {"MatMul", cv_matmul, NULL},                         /* 2-D matmul with transposes */
    {"Max", cv_reduce, "ReduceMax"},                     /* max over axes */
    {"MaxPool", cv_pool, "MaxPool"},                     /* NHWC max pooling */
    {"Maximum", cv_simple, "Max"},                       /* elementwise max */
    {"Mean", cv_reduce, "ReduceMean"},                   /* mean over axes */
    {"Min", cv_reduce, "ReduceMin"},                     /* min over axes */
    {"Minimum", cv_simple, "Min"},                       /* elementwise min */
    {"MirrorPad", cv_pad, NULL},                         /* reflect padding */
    {"Mul", cv_simple, "Mul"},                           /* x * y */
    {"Neg", cv_simple, "Neg"},                           /* -x */
    {"NoOp", cv_noop, NULL},                             /* control only */
    {"NotEqual", cv_not_equal, NULL},                    /* x != y */
    {"OnesLike", cv_ones_like, "Expand"},                /* ones of x's shape */
    {"Pack", cv_pack, NULL},                             /* stack along a new axis */
    {"Pad", cv_pad, NULL},                               /* zero padding */
    {"PadV2", cv_pad, NULL},                             /* constant padding */
    {"PlaceholderWithDefault", cv_alias, NULL},          /* its default when not fed */
    {"Pow", cv_simple, "Pow"},                           /* x ^ y */
    {"Prod", cv_reduce, "ReduceProd"},                   /* product over axes */
    {"Range", cv_simple, "Range"},                       /* start, limit, delta */
    {"ReadVariableOp", cv_alias, NULL},                  /* a variable's (frozen) value */
    {"RealDiv", cv_simple, "Div"},                       /* x / y */
    {"Reciprocal", cv_simple, "Reciprocal"},             /* 1 / x */
    {"Relu", cv_simple, "Relu"},                         /* max(x, 0) */
    {"Relu6", cv_relu6, NULL},                           /* min(max(x, 0), 6) */
    {"Reshape", cv_reshape, NULL},                       /* new shape, -1 inferred */
    {"ResizeBilinear", cv_resize, NULL},                 /* NHWC bilinear resize */
    {"ResizeNearestNeighbor", cv_resize, NULL},          /* NHWC nearest resize */
    {"ResourceGather", cv_gather, NULL},                 /* gather rows of a variable */
    {"Round", cv_simple, "Round"},                       /* round half to even */
    {"Rsqrt", cv_rsqrt, NULL},                           /* 1 / sqrt(x) */
    {"Select", cv_simple, "Where"},                      /* cond ? x : y (same shapes) */
    {"SelectV2", cv_simple, "Where"},                    /* cond ? x : y, broadcasting */
    {"Selu", cv_simple, "Selu"},                         /* scaled elu (same constants) */
    {"Shape", cv_shape, "Shape"},                        /* shape as int32/int64 */
    {"Sigmoid", cv_simple, "Sigmoid"},                   /* logistic */
    {"Sign", cv_simple, "Sign"},                         /* sign */
    {"Sin", cv_simple, "Sin"},                           /* sine */
    {"Size", cv_shape, "Size"},                          /* element count */
    {"Slice", cv_slice, NULL},                           /* begin + size slice */
    {"Snapshot", cv_alias, NULL},                        /* copy */
    {"Softmax", cv_softmax, "Softmax"},                  /* softmax over the last axis */
    {"Softplus", cv_simple, "Softplus"},                 /* log(1 + e^x) */
    {"Softsign", cv_simple, "Softsign"},                 /* x / (1 + |x|) */
    {"Split", cv_split, NULL},                           /* equal parts */
    {"SplitV", cv_splitv, NULL},                         /* given sizes */
    {"Sqrt", cv_simple, "Sqrt"},                         /* square root */
    {"Square", cv_square, NULL},                         /* x * x */
    {"SquaredDifference", cv_sqdiff, NULL},              /* (x - y)^2 */
    {"Squeeze", cv_squeeze, NULL},                       /* drop size-1 axes */
    {"StopGradient", cv_alias, NULL},                    /* identity at inference */
    {"StridedSlice", cv_strided_slice, NULL},            /* numpy-style slicing with masks */
    {"Sub", cv_simple, "Sub"},                           /* x - y */
    {"Sum", cv_reduce, "ReduceSum"},                     /* sum over axes */
    {"Tanh", cv_simple, "Tanh"},                         /* hyperbolic tangent */
    {"TensorListFromTensor", cv_list_from_tensor, NULL}, /* tensor -> sequence of rows */
    {"TensorListGetItem", cv_list_get, NULL},            /* element i */
    {"TensorListLength", cv_list_length, NULL},          /* element count */
    {"TensorListReserve", cv_list_reserve, NULL},        /* empty sequence to fill */
    {"TensorListSetItem", cv_list_set, NULL},            /* write element i (in order) */
    {"TensorListStack", cv_list_stack, NULL},            /* sequence -> stacked tensor */
    {"Tile", cv_tile, NULL},                             /* repeat */
    {"Transpose", cv_transpose, NULL},                   /* permute axes */
    {"Unpack", cv_unpack, NULL},                         /* unstack along an axis */
    {"ZerosLike", cv_zeros_like, "Expand"},              /* zeros of x's shape */
};

bool st_tf_import_row(size_t i, const char **tf_op, const char **ir_op) {
    if (i >= ST_ARRAY_LEN(ops)) return false;
    *tf_op = ops[i].op;
    *ir_op = ops[i].onnx;
    return true;
}

const tf_op *st_tf_op_find(const char *op) {
    size_t lo = 0, hi = ST_ARRAY_LEN(ops);
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(ops[mid].op, op);
        if (!c) return &ops[mid];
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    return NULL;
}

bool st_tf_op_stateful(const char *op) {
    static const char *const stateful[] = {
        "Assign",
        "AssignAdd",
        "AssignSub",
        "AssignVariableOp",
        "AssignAddVariableOp",
        "AssignSubVariableOp",
        "ScatterAdd",
        "ScatterSub",
        "ScatterUpdate",
        "ResourceScatterAdd",
        "ResourceScatterUpdate",
        "ResourceScatterSub",
        "CountUpTo",
        "ResourceCountUpTo",
    };
    for (size_t i = 0; i < ST_ARRAY_LEN(stateful); i++)
        if (!strcmp(stateful[i], op)) return true;
    return !strncmp(op, "ResourceApply", 13) || !strncmp(op, "Apply", 5);
}
