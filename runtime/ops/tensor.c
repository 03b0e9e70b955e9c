/* runtime/ops/tensor.c: shape and data movement. This file holds the family table, the
 * helpers the tensor_*.c files share (strided and index-mapped copies that move elements
 * by byte size, so every dtype including strings goes through one path), and the ops that
 * only describe or create shapes: Constant, Identity, Reshape, Flatten, Squeeze, Unsqueeze,
 * Shape, Size, ConstantOfShape, Range, EyeLike, Trilu.
 * Kernels never read out of bounds: every index taken from data is checked first. */
#include <math.h>
#include <string.h>

#include "infer.h"
#include "op.h"
#include "tensor_impl.h"

/* ==== shared helpers ================================================================== */

void st_tsr_declare(st_kctx *k, int i, st_dtype dtype, int ndim, const int64_t *dims) {
    /* String outputs stay undeclared so the executor allocates them with st_tensor_alloc,
     * whose buffer frees the strings; an arena slot would leak them. Static inference still
     * learns their type (the planner reads only `declared`). */
    if (!st_has_out(k, i)) return;
    if (dtype != ST_DTYPE_STRING) {
        st_out_declare(k, i, dtype, ndim, dims);
        return;
    }
    st_out_decl *d = &k->decl[i];
    d->typed = true;
    d->dtype = dtype;
    d->ndim = ndim;
    if (ndim > 0) memcpy(d->dims, dims, (size_t)ndim * sizeof *dims);
}

st_status st_tsr_own_strings(st_tensor *y, size_t begin, size_t end, st_error *err) {
    if (y->dtype != ST_DTYPE_STRING) return ST_OK;
    st_str *s = y->data;
    for (size_t i = begin; i < end; i++) {
        if (!s[i].data) continue;
        char *d = st_strndup(s[i].data, s[i].len);
        if (!d) {
            for (size_t j = i; j < end; j++) s[j] = (st_str){NULL, 0};
            return st_error_nomem(err);
        }
        s[i].data = d;
    }
    return ST_OK;
}

st_status st_tsr_ints(const st_tensor *t, size_t max, int64_t *out, size_t *n, const char *what,
                      st_error *err) {
    if (!t) return st_errorf(err, ST_ERR_INVALID, "%s is missing", what);
    if (!st_dtype_is_int(t->dtype))
        return st_errorf(err, ST_ERR_INVALID, "%s must be an integer tensor, got %s", what,
                         st_dtype_name(t->dtype));
    if (t->ndim > 1)
        return st_errorf(err, ST_ERR_INVALID, "%s must be 1-D, got rank %d", what, t->ndim);
    size_t c = st_tensor_nelem(t);
    if (c > max)
        return st_errorf(err, ST_ERR_INVALID, "%s has %zu entries, at most %zu allowed", what, c,
                         max);
    for (size_t i = 0; i < c; i++) out[i] = st_tensor_get_i64(t, i);
    *n = c;
    return ST_OK;
}

st_status st_tsr_axes(const int64_t *axes, size_t n, int rank, int *out, st_error *err) {
    bool seen[ST_MAX_RANK] = {0};
    for (size_t i = 0; i < n; i++) {
        int a;
        st_status s = st_norm_axis(axes[i], rank, &a, err);
        if (s) return s;
        if (a >= rank)
            return st_errorf(err, ST_ERR_INVALID, "axis %lld is out of range for rank %d",
                             (long long)axes[i], rank);
        if (seen[a]) return st_errorf(err, ST_ERR_INVALID, "axis %d is repeated", a);
        seen[a] = true;
        out[i] = a;
    }
    return ST_OK;
}

/* An element of 16 bytes (complex128, st_str) moved as a unit. */
typedef struct e16 {
    uint64_t a, b;
} e16;

/* Element types by byte size: every data-movement loop is instantiated once per row. */
#define ST_TSR_ESIZES(X) \
    X(1, uint8_t)        \
    X(2, uint16_t)       \
    X(4, uint32_t)       \
    X(8, uint64_t)       \
    X(16, e16)

static void copy_row(char *dst, int64_t ds, const char *src, int64_t ss, int64_t n, size_t es) {
    if (ds == 1 && ss == 1) {
        memcpy(dst, src, (size_t)n * es);
        return;
    }
    switch (es) {
#define ST_ROW_(size, T)                                       \
    case size: {                                               \
        T *d = (T *)dst;                                       \
        const T *s = (const T *)src;                           \
        for (int64_t i = 0; i < n; i++) d[i * ds] = s[i * ss]; \
        return;                                                \
    }
        ST_TSR_ESIZES(ST_ROW_)
#undef ST_ROW_
    default:
        for (int64_t i = 0; i < n; i++)
            memcpy(dst + i * ds * (int64_t)es, src + i * ss * (int64_t)es, es);
    }
}

void st_tsr_fill(void *dst, size_t n, const void *elem, size_t es) {
    if (!n) return;
    bool zero = true;
    for (size_t i = 0; i < es; i++) zero = zero && ((const uint8_t *)elem)[i] == 0;
    if (zero) {
        memset(dst, 0, n * es);
        return;
    }
    switch (es) {
#define ST_FILL_(size, T)                        \
    case size: {                                 \
        T v;                                     \
        memcpy(&v, elem, sizeof v);              \
        T *d = dst;                              \
        for (size_t i = 0; i < n; i++) d[i] = v; \
        return;                                  \
    }
        ST_TSR_ESIZES(ST_FILL_)
#undef ST_FILL_
    default:
        for (size_t i = 0; i < n; i++) memcpy((char *)dst + i * es, elem, es);
    }
}

/* ---- strided copy ---- */
/* After merging, the last two dims (A, B) form a block the kernel walks itself; the dims
 * before them, times chunks of A, are the rows handed to threads. */
typedef struct strided_job {
    int nd; /* >= 2 after merging */
    int64_t dims[ST_TSR_MAXD];
    int64_t ds[ST_TSR_MAXD], ss[ST_TSR_MAXD];
    char *dst;
    const char *src;
    size_t es;
    int64_t chunk, nchunk; /* A is split into nchunk pieces of chunk rows */
    bool tiled;            /* the block is a transpose: go tile by tile */
} strided_job;

static void strided_block(const strided_job *j, char *dst, const char *src, int64_t a0,
                          int64_t a1) {
    int a = j->nd - 2, b = j->nd - 1;
    int64_t B = j->dims[b], es = (int64_t)j->es;
    int64_t sa = j->ss[a], sb = j->ss[b], da = j->ds[a], db = j->ds[b];
    if (j->tiled) {
        const int64_t T = 32;
        for (int64_t i0 = a0; i0 < a1; i0 += T)
            for (int64_t k0 = 0; k0 < B; k0 += T) {
                int64_t i1 = ST_MIN(i0 + T, a1), k1 = ST_MIN(k0 + T, B);
                for (int64_t i = i0; i < i1; i++)
                    copy_row(dst + (i * da + k0 * db) * es, db, src + (i * sa + k0 * sb) * es, sb,
                             k1 - k0, j->es);
            }
    } else if (B >= 16 || B >= a1 - a0) {
        for (int64_t i = a0; i < a1; i++)
            copy_row(dst + i * da * es, db, src + i * sa * es, sb, B, j->es);
    } else { /* short rows: walk the block the other way */
        for (int64_t k = 0; k < B; k++)
            copy_row(dst + (a0 * da + k * db) * es, da, src + (a0 * sa + k * sb) * es, sa, a1 - a0,
                     j->es);
    }
}

static void strided_rows(void *arg, size_t begin, size_t end) {
    const strided_job *j = arg;
    int outer = j->nd - 2;
    int64_t es = (int64_t)j->es, A = j->dims[outer];
    for (size_t row = begin; row < end; row++) {
        size_t r = row / (size_t)j->nchunk;
        int64_t c = (int64_t)(row % (size_t)j->nchunk);
        int64_t so = 0, dof = 0;
        for (int d = outer - 1; d >= 0; d--) {
            int64_t i = (int64_t)(r % (size_t)j->dims[d]);
            r /= (size_t)j->dims[d];
            so += i * j->ss[d];
            dof += i * j->ds[d];
        }
        int64_t a0 = c * j->chunk, a1 = ST_MIN(A, a0 + j->chunk);
        strided_block(j, j->dst + dof * es, j->src + so * es, a0, a1);
    }
}

void st_tsr_copy_strided(st_pool *pool, int ndim, const int64_t *dims, void *dst,
                         const int64_t *dst_strides, const void *src, const int64_t *src_strides,
                         size_t es) {
    strided_job j = {.dst = dst, .src = src, .es = es};
    for (int d = 0; d < ndim; d++)
        if (dims[d] == 0) return;
    /* Two unit dims first, so the block always has two dims; then the real ones, dropping
     * unit dims and merging neighbours contiguous in both source and dest. */
    j.nd = 2;
    j.dims[0] = j.dims[1] = 1;
    j.ss[0] = j.ss[1] = j.ds[0] = j.ds[1] = 1;
    for (int d = 0; d < ndim; d++) {
        if (dims[d] == 1) continue;
        int p = j.nd - 1;
        if (j.dims[p] != 1 && j.ss[p] == src_strides[d] * dims[d] &&
            j.ds[p] == dst_strides[d] * dims[d]) {
            j.dims[p] *= dims[d];
            j.ss[p] = src_strides[d];
            j.ds[p] = dst_strides[d];
            continue;
        }
        j.dims[j.nd] = dims[d];
        j.ss[j.nd] = src_strides[d];
        j.ds[j.nd] = dst_strides[d];
        j.nd++;
    }
    /* Drop the leading unit dims that real ones made unnecessary. */
    int drop = j.nd - 2 >= 2 ? 2 : j.nd - 2;
    if (drop > 0) {
        memmove(j.dims, j.dims + drop, (size_t)(j.nd - drop) * sizeof *j.dims);
        memmove(j.ss, j.ss + drop, (size_t)(j.nd - drop) * sizeof *j.ss);
        memmove(j.ds, j.ds + drop, (size_t)(j.nd - drop) * sizeof *j.ds);
        j.nd -= drop;
    }
    int l = j.nd - 1;
    if (j.ds[l] == 1 && j.ss[l] != 1 && j.ss[l - 1] != 1) {
        /* Iteration order is free: bring the source-contiguous dim next to the last one so
         * the copy can go tile by tile. */
        for (int d = 0; d < l - 1; d++) {
            if (j.ss[d] != 1 || j.dims[d] == 1) continue;
            int64_t dd = j.dims[d], s = j.ss[d], t = j.ds[d];
            for (int e = d; e < l - 1; e++) {
                j.dims[e] = j.dims[e + 1];
                j.ss[e] = j.ss[e + 1];
                j.ds[e] = j.ds[e + 1];
            }
            j.dims[l - 1] = dd;
            j.ss[l - 1] = s;
            j.ds[l - 1] = t;
            break;
        }
    }
    j.tiled =
        j.ss[l] != 1 && j.ss[l - 1] == 1 && j.ds[l] == 1 && j.dims[l] >= 8 && j.dims[l - 1] >= 8;
    size_t outer = 1;
    for (int d = 0; d < l - 1; d++) outer *= (size_t)j.dims[d];
    int64_t A = j.dims[l - 1], B = j.dims[l];
    size_t total = outer * (size_t)A * (size_t)B;
    /* Enough rows for the pool to balance big copies. */
    j.chunk = A;
    if (total >= 65536 && outer < 16 && A >= 64) j.chunk = ((A / 16 + 31) / 32) * 32;
    j.nchunk = (A + j.chunk - 1) / j.chunk;
    size_t rows = outer * (size_t)j.nchunk, per = (size_t)j.chunk * (size_t)B;
    st_parallel_for(pool, rows, per >= 32768 ? 1 : 32768 / per, strided_rows, &j);
}

/* ---- index-mapped copy ---- */
typedef struct mapped_job {
    int nd;
    const int64_t *dims;        /* output dims */
    const int64_t *const *maps; /* per dim: source index, or -1 for the fill value */
    const int64_t *ss;          /* source strides (elements) */
    char *dst;
    const char *src;
    const void *fill;
    size_t es;
    int64_t run_lo, run_hi; /* last-dim range where map[o] == o + run_off */
    int64_t run_off;
} mapped_job;

static void mapped_rows(void *arg, size_t begin, size_t end) {
    const mapped_job *j = arg;
    int l = j->nd - 1, outer = l;
    int64_t idx[ST_MAX_RANK];
    size_t r = begin;
    for (int d = outer - 1; d >= 0; d--) {
        idx[d] = (int64_t)(r % (size_t)j->dims[d]);
        r /= (size_t)j->dims[d];
    }
    int64_t n = j->dims[l], es = (int64_t)j->es;
    const int64_t *m = j->maps[l];
    int64_t prev_so = -1;
    bool prev_fill = false;
    for (size_t row = begin; row < end; row++) {
        char *dst = j->dst + (int64_t)row * n * es;
        int64_t so = 0;
        bool fill = false;
        for (int d = 0; d < outer; d++) {
            int64_t s = j->maps[d][idx[d]];
            if (s < 0) fill = true;
            so += s * j->ss[d];
        }
        if (row > begin && fill == prev_fill && (fill || so == prev_so)) {
            /* same source row as the previous one (nearest upsampling): copy it whole */
            memcpy(dst, dst - n * es, (size_t)n * j->es);
        } else if (fill) {
            st_tsr_fill(dst, (size_t)n, j->fill, j->es);
        } else {
            const char *src = j->src + so * es;
            int64_t sl = j->ss[l], lo = n, hi = n;
            if (j->run_hi > j->run_lo && sl == 1) {
                lo = j->run_lo;
                hi = j->run_hi;
                memcpy(dst + lo * es, src + (lo + j->run_off) * es, (size_t)(hi - lo) * j->es);
            }
            /* the rest element by element: [0, lo) and [hi, n) */
            switch (j->es) {
#define ST_MAPPED_(size, T)                                                   \
    case size: {                                                              \
        T *d = (T *)dst, f;                                                   \
        const T *sp = (const T *)src;                                         \
        memcpy(&f, j->fill, sizeof f);                                        \
        for (int64_t o = 0; o < lo; o++) d[o] = m[o] < 0 ? f : sp[m[o] * sl]; \
        for (int64_t o = hi; o < n; o++) d[o] = m[o] < 0 ? f : sp[m[o] * sl]; \
        break;                                                                \
    }
                ST_TSR_ESIZES(ST_MAPPED_)
#undef ST_MAPPED_
            default:
                for (int64_t o = 0; o < n; o++) {
                    if (o == lo) o = hi;
                    if (o >= n) break;
                    memcpy(dst + o * es, m[o] < 0 ? j->fill : src + m[o] * sl * es, j->es);
                }
            }
        }
        prev_so = so;
        prev_fill = fill;
        for (int d = outer - 1; d >= 0; d--) {
            if (++idx[d] < j->dims[d]) break;
            idx[d] = 0;
        }
    }
}

void st_tsr_copy_mapped(st_pool *pool, int ndim, const int64_t *dims, const int64_t *const *maps,
                        void *dst, const void *src, const int64_t *src_strides, const void *fill,
                        size_t es) {
    for (int d = 0; d < ndim; d++)
        if (dims[d] == 0) return;
    if (ndim == 0) {
        memcpy(dst, src, es);
        return;
    }
    mapped_job j = {.nd = ndim,
                    .dims = dims,
                    .maps = maps,
                    .ss = src_strides,
                    .dst = dst,
                    .src = src,
                    .fill = fill,
                    .es = es,
                    .run_lo = 0,
                    .run_hi = 0};
    /* Find the longest stretch of the last dim that maps to consecutive sources. */
    const int64_t *m = maps[ndim - 1];
    int64_t n = dims[ndim - 1], best = 0;
    for (int64_t o = 0; o < n;) {
        if (m[o] < 0) {
            o++;
            continue;
        }
        int64_t e = o + 1;
        while (e < n && m[e] == m[e - 1] + 1) e++;
        if (e - o > best) {
            best = e - o;
            j.run_lo = o;
            j.run_hi = e;
            j.run_off = m[o] - o;
        }
        o = e;
    }
    size_t rows = 1;
    for (int d = 0; d < ndim - 1; d++) rows *= (size_t)dims[d];
    size_t grain = (size_t)n >= 16384 ? 1 : 16384 / (size_t)n;
    st_parallel_for(pool, rows, grain, mapped_rows, &j);
}

/* ==== Constant ======================================================================== */

static st_status constant_source(st_kctx *k, st_tensor *t, st_error *err) {
    const st_node *n = k->node;
    for (int i = 0; i < n->n_attrs; i++) {
        const st_attr *a = &n->attrs[i];
        const char *nm = a->name;
        memset(t, 0, sizeof *t);
        if (!strcmp(nm, "value") || !strcmp(nm, "sparse_value")) {
            *t = a->t;
            return ST_OK;
        }
        if (!strcmp(nm, "value_float") || !strcmp(nm, "value_int") || !strcmp(nm, "value_string")) {
            t->dtype = nm[6] == 'f' ? ST_DTYPE_F32 : nm[6] == 'i' ? ST_DTYPE_I64 : ST_DTYPE_STRING;
            t->ndim = 0;
            return ST_OK;
        }
        if (!strcmp(nm, "value_floats") || !strcmp(nm, "value_ints") ||
            !strcmp(nm, "value_strings")) {
            t->dtype = nm[6] == 'f' ? ST_DTYPE_F32 : nm[6] == 'i' ? ST_DTYPE_I64 : ST_DTYPE_STRING;
            t->ndim = 1;
            t->dims[0] = (int64_t)a->n;
            return ST_OK;
        }
    }
    return st_errorf(err, ST_ERR_INVALID, "Constant has no value attribute");
}

static st_status run_constant(st_kctx *k, st_error *err) {
    st_tensor src;
    st_status s = constant_source(k, &src, err);
    if (s) return s;
    st_tensor *y = st_out(k, 0, src.dtype, src.ndim, src.dims, err);
    if (!y) return st_tsr_out_status(k, 0, err);
    size_t n = st_tensor_nelem(y);
    const st_attr *a = NULL;
    for (int i = 0; i < k->node->n_attrs && !a; i++)
        if (!strncmp(k->node->attrs[i].name, "value", 5)) a = &k->node->attrs[i];
    if (src.data) {
        if (src.dtype == ST_DTYPE_STRING) {
            const st_str *ss = src.data;
            for (size_t i = 0; i < n; i++)
                if ((s = st_tensor_set_string(y, i, ss[i].data ? ss[i].data : "", ss[i].len, err)))
                    return s;
        } else if (n) {
            memcpy(y->data, src.data, st_tensor_nbytes(y));
        }
        return ST_OK;
    }
    for (size_t i = 0; i < n || (y->ndim == 0 && i == 0); i++) {
        switch (y->dtype) {
        case ST_DTYPE_F32:
            ((float *)y->data)[i] = (float)(a->kind == ST_ATTR_FLOATS ? a->floats[i] : a->f);
            break;
        case ST_DTYPE_I64:
            ((int64_t *)y->data)[i] = a->kind == ST_ATTR_INTS ? a->ints[i] : a->i;
            break;
        default: {
            const st_str *str = a->kind == ST_ATTR_STRINGS ? &a->strings[i] : &a->s;
            if ((s = st_tensor_set_string(y, i, str->data ? str->data : "", str->len, err)))
                return s;
        }
        }
        if (y->ndim == 0) break;
    }
    return ST_OK;
}

static st_status prep_constant(st_kctx *k, st_error *err) {
    st_tensor src;
    st_status s = constant_source(k, &src, err);
    if (s) return s;
    const st_attr *a = st_node_attr(k->node, "value");
    if (!a) a = st_node_attr(k->node, "sparse_value");
    if (a && !a->t.data && st_tensor_nelem(&a->t))
        return st_errorf(err, ST_ERR_INVALID, "Constant tensor attribute has no data");
    st_tsr_declare(k, 0, src.dtype, src.ndim, src.dims);
    k->run = run_constant;
    return ST_OK;
}

/* ==== Identity ======================================================================== */

static st_status run_identity(st_kctx *k, st_error *err) {
    const st_value *x = st_in_value(k, 0);
    st_value *y = st_out_value(k, 0);
    if (!y) return ST_OK;
    if (!x) return st_errorf(err, ST_ERR_INVALID, "Identity input is missing");
    if (x->kind == ST_VAL_TENSOR) {
        st_status s = st_out_alias(k, 0, 0, x->tensor.ndim, x->tensor.dims, err);
        if (s) return s;
        y->optional = x->optional;
        return ST_OK;
    }
    st_value v = {.kind = x->kind, .optional = x->optional, .elem_dtype = x->elem_dtype};
    if (x->kind == ST_VAL_SEQUENCE) {
        v.seq = st_calloc(x->nseq ? x->nseq : 1, sizeof *v.seq);
        if (!v.seq) return st_error_nomem(err);
        v.nseq = x->nseq;
        for (size_t i = 0; i < x->nseq; i++) st_tensor_share(&v.seq[i], &x->seq[i]);
    }
    st_value_clear(y);
    *y = v;
    return ST_OK;
}

static st_status prep_identity(st_kctx *k, st_error *err) {
    (void)err;
    const st_tensor *x = st_in(k, 0);
    if (x && !k->in[0]->optional) st_out_declare_alias(k, 0, 0, x->ndim, x->dims);
    k->run = run_identity;
    return ST_OK;
}

/* Static inference: a sequence or optional passes through with its type; a plain tensor is
 * left to prepare (which also folds constants through it). */
static st_status infer_identity(st_infer_ctx *c, st_error *err) {
    (void)err;
    if (c->n_in > 0 && (c->in[0].kind == ST_VAL_SEQUENCE || c->in[0].optional))
        c->out[0] = c->in[0];
    return ST_OK;
}

/* ==== Reshape, Flatten, Squeeze, Unsqueeze: views of the input ======================== */

/* Output dims of Reshape from the requested shape (0 copies, -1 infers). */
static st_status reshape_dims(const st_tensor *x, const int64_t *shape, size_t n, bool allowzero,
                              int64_t *dims, st_error *err) {
    size_t total, known = 1;
    st_status s = st_shape_nelem(x->ndim, x->dims, &total, err);
    if (s) return s;
    int infer = -1;
    for (size_t i = 0; i < n; i++) {
        int64_t v = shape[i];
        if (v == 0 && !allowzero) {
            if ((int)i >= x->ndim)
                return st_errorf(err, ST_ERR_INVALID,
                                 "shape entry %zu is 0 but the input has rank %d", i, x->ndim);
            v = x->dims[i];
        }
        if (v == -1) {
            if (infer >= 0) return st_errorf(err, ST_ERR_INVALID, "shape has more than one -1");
            infer = (int)i;
            dims[i] = -1;
            continue;
        }
        if (v < 0)
            return st_errorf(err, ST_ERR_INVALID, "shape entry %lld is negative", (long long)v);
        dims[i] = v;
        if (!st_mul_ok(known, (size_t)v, &known))
            return st_errorf(err, ST_ERR_LIMIT, "shape overflows");
    }
    if (infer >= 0) {
        if (known == 0)
            return st_errorf(err, ST_ERR_INVALID, "cannot infer the -1 dim next to a 0 dim");
        if (total % known)
            return st_errorf(err, ST_ERR_INVALID, "cannot reshape %zu elements with -1 over %zu",
                             total, known);
        dims[infer] = (int64_t)(total / known);
        known = total;
    }
    if (known != total)
        return st_errorf(err, ST_ERR_INVALID, "cannot reshape %zu elements into %zu", total, known);
    return ST_OK;
}

/* Output dims of any of the view ops for input x; shape/axes come from `aux` (an input
 * tensor) or the attribute. */
static st_status view_dims(st_kctx *k, const st_tensor *x, const st_tensor *aux, int *ndim,
                           int64_t *dims, st_error *err) {
    const char *op = k->node->op_type;
    int r = x->ndim;
    int64_t buf[ST_MAX_RANK];
    size_t n = 0;
    st_status s;
    if (!strcmp(op, "Reshape")) {
        if (k->opset < 5) {
            const int64_t *v;
            n = st_attr_ints(k->node, "shape", &v);
            if (n > ST_MAX_RANK) return st_errorf(err, ST_ERR_LIMIT, "shape too long");
            if (n) memcpy(buf, v, n * sizeof *v);
        } else if ((s = st_tsr_ints(aux, ST_MAX_RANK, buf, &n, "shape", err))) {
            return s;
        }
        bool allowzero = k->opset >= 14 && st_attr_int(k->node, "allowzero", 0);
        if ((s = reshape_dims(x, buf, n, allowzero, dims, err))) return s;
        *ndim = (int)n;
        return ST_OK;
    }
    if (!strcmp(op, "Flatten")) {
        int64_t axis = st_attr_int(k->node, "axis", 1);
        if (axis < -r || axis > r)
            return st_errorf(err, ST_ERR_INVALID, "axis %lld is out of range for rank %d",
                             (long long)axis, r);
        if (axis < 0) axis += r;
        dims[0] = dims[1] = 1;
        for (int d = 0; d < r; d++) dims[d < axis ? 0 : 1] *= x->dims[d];
        *ndim = 2;
        return ST_OK;
    }
    /* Squeeze / Unsqueeze */
    bool unsq = !strcmp(op, "Unsqueeze");
    bool have_axes = false;
    if (k->opset < 13) {
        const int64_t *v;
        n = st_attr_ints(k->node, "axes", &v);
        if (n > ST_MAX_RANK) return st_errorf(err, ST_ERR_LIMIT, "too many axes");
        if (n) memcpy(buf, v, n * sizeof *v);
        have_axes = st_node_attr(k->node, "axes") != NULL;
    } else if (aux) {
        if ((s = st_tsr_ints(aux, ST_MAX_RANK, buf, &n, "axes", err))) return s;
        have_axes = true;
    }
    int ax[ST_MAX_RANK];
    if (unsq) {
        if (!have_axes) return st_errorf(err, ST_ERR_INVALID, "Unsqueeze needs axes");
        int orank = r + (int)n;
        if (orank > ST_MAX_RANK)
            return st_errorf(err, ST_ERR_LIMIT, "rank exceeds %d", ST_MAX_RANK);
        if ((s = st_tsr_axes(buf, n, orank, ax, err))) return s;
        bool ins[ST_MAX_RANK] = {0};
        for (size_t i = 0; i < n; i++) ins[ax[i]] = true;
        for (int d = 0, j = 0; d < orank; d++) dims[d] = ins[d] ? 1 : x->dims[j++];
        *ndim = orank;
        return ST_OK;
    }
    bool drop[ST_MAX_RANK] = {0};
    if (have_axes && n) {
        if ((s = st_tsr_axes(buf, n, r, ax, err))) return s;
        for (size_t i = 0; i < n; i++) {
            if (x->dims[ax[i]] != 1)
                return st_errorf(err, ST_ERR_INVALID, "cannot squeeze axis %d of size %lld", ax[i],
                                 (long long)x->dims[ax[i]]);
            drop[ax[i]] = true;
        }
    } else {
        for (int d = 0; d < r; d++) drop[d] = x->dims[d] == 1;
    }
    int o = 0;
    for (int d = 0; d < r; d++)
        if (!drop[d]) dims[o++] = x->dims[d];
    *ndim = o;
    return ST_OK;
}

static st_status run_view(st_kctx *k, st_error *err) {
    const st_tensor *x = st_in(k, 0);
    int64_t dims[ST_MAX_RANK];
    int nd;
    st_status s = view_dims(k, x, st_in(k, 1), &nd, dims, err);
    if (s) return s;
    if (!st_has_out(k, 0)) return ST_OK;
    return st_out_alias(k, 0, 0, nd, dims, err);
}

/* The entries of a 1-D shape or axes input known only by type: its length when that is a
 * plausible rank (a symbolic extent stands in as a large sentinel), else -1. */
static int aux_len(const st_tensor *t) {
    if (!t || t->ndim != 1 || t->dims[0] < 0 || t->dims[0] > ST_MAX_RANK) return -1;
    return (int)t->dims[0];
}

static st_status prep_view(st_kctx *k, st_error *err) {
    const st_tensor *x = st_in(k, 0);
    if (!x) return st_errorf(err, ST_ERR_INVALID, "%s needs a tensor input", k->node->op_type);
    bool aux_needed = (!strcmp(k->node->op_type, "Reshape") && k->opset >= 5) ||
                      (k->opset >= 13 && (!strcmp(k->node->op_type, "Squeeze") ||
                                          !strcmp(k->node->op_type, "Unsqueeze")));
    k->run = run_view;
    if (aux_needed && st_has_in(k, 1) && !st_in_const(k, 1)) { /* known at run */
        int64_t dims[ST_MAX_RANK];
        for (int d = 0; d < ST_MAX_RANK; d++) dims[d] = -1;
        int n = aux_len(st_in(k, 1)), nd = -1;
        if (!strcmp(k->node->op_type, "Reshape")) nd = n;
        else if (!strcmp(k->node->op_type, "Unsqueeze") && n >= 0) nd = x->ndim + n;
        if (nd == 0) st_out_declare_alias(k, 0, 0, 0, dims); /* a scalar: the shape is full */
        else st_out_declare_type(k, 0, x->dtype, nd <= ST_MAX_RANK ? nd : -1, dims);
        return ST_OK;
    }
    int64_t dims[ST_MAX_RANK];
    int nd;
    st_status s = view_dims(k, x, aux_needed ? st_in_const(k, 1) : NULL, &nd, dims, err);
    if (s) return s;
    if (st_has_out(k, 0)) st_out_declare_alias(k, 0, 0, nd, dims);
    return ST_OK;
}

/* ==== Shape, Size ===================================================================== */

static void shape_range(st_kctx *k, const st_tensor *x, int64_t *b, int64_t *e) {
    int64_t r = x->ndim;
    int64_t s = k->opset >= 15 ? st_attr_int(k->node, "start", 0) : 0;
    int64_t t = k->opset >= 15 ? st_attr_int(k->node, "end", r) : r;
    if (s < 0) s += r;
    if (t < 0) t += r;
    s = ST_MAX(0, ST_MIN(s, r));
    t = ST_MAX(0, ST_MIN(t, r));
    *b = s;
    *e = ST_MAX(s, t);
}

static st_status run_shape(st_kctx *k, st_error *err) {
    const st_tensor *x = st_in(k, 0);
    int64_t b, e;
    shape_range(k, x, &b, &e);
    int64_t n = e - b;
    st_tensor *y = st_out(k, 0, ST_DTYPE_I64, 1, &n, err);
    if (!y) return st_tsr_out_status(k, 0, err);
    for (int64_t i = 0; i < n; i++) ((int64_t *)y->data)[i] = x->dims[b + i];
    return ST_OK;
}

static st_status run_size(st_kctx *k, st_error *err) {
    const st_tensor *x = st_in(k, 0);
    st_tensor *y = st_out(k, 0, ST_DTYPE_I64, 0, NULL, err);
    if (!y) return st_tsr_out_status(k, 0, err);
    *(int64_t *)y->data = (int64_t)st_tensor_nelem(x);
    return ST_OK;
}

static st_status prep_shape(st_kctx *k, st_error *err) {
    const st_tensor *x = st_in(k, 0);
    if (!x) return st_errorf(err, ST_ERR_INVALID, "%s needs a tensor input", k->node->op_type);
    if (!strcmp(k->node->op_type, "Size")) {
        st_tsr_declare(k, 0, ST_DTYPE_I64, 0, NULL);
        k->run = run_size;
        return ST_OK;
    }
    int64_t b, e;
    shape_range(k, x, &b, &e);
    int64_t n = e - b;
    st_tsr_declare(k, 0, ST_DTYPE_I64, 1, &n);
    k->run = run_shape;
    return ST_OK;
}

/* ==== ConstantOfShape ================================================================= */

static st_status cos_value(st_kctx *k, st_dtype *dt, const void **elem, st_error *err) {
    static const float zero = 0;
    const st_attr *a = st_node_attr(k->node, "value");
    if (!a) {
        *dt = ST_DTYPE_F32;
        *elem = &zero;
        return ST_OK;
    }
    if (a->kind != ST_ATTR_TENSOR || st_tensor_nelem(&a->t) != 1 || !a->t.data)
        return st_errorf(err, ST_ERR_INVALID, "value must be a one-element tensor");
    if (a->t.dtype == ST_DTYPE_STRING)
        return st_errorf(err, ST_ERR_UNSUPPORTED, "ConstantOfShape does not take strings");
    *dt = a->t.dtype;
    *elem = a->t.data;
    return ST_OK;
}

static st_status cos_dims(const st_tensor *shape, int *nd, int64_t *dims, st_error *err) {
    size_t n;
    st_status s = st_tsr_ints(shape, ST_MAX_RANK, dims, &n, "shape", err);
    if (s) return s;
    size_t total;
    if ((s = st_shape_nelem((int)n, dims, &total, err))) return s;
    *nd = (int)n;
    return ST_OK;
}

static st_status run_cos(st_kctx *k, st_error *err) {
    st_dtype dt = ST_DTYPE_UNDEFINED;
    const void *elem = NULL;
    int64_t dims[ST_MAX_RANK];
    int nd;
    st_status s = cos_value(k, &dt, &elem, err);
    if (s || (s = cos_dims(st_in(k, 0), &nd, dims, err))) return s;
    st_tensor *y = st_out(k, 0, dt, nd, dims, err);
    if (!y) return st_tsr_out_status(k, 0, err);
    st_tsr_fill(y->data, st_tensor_nelem(y), elem, st_dtype_size(dt));
    return ST_OK;
}

static st_status prep_cos(st_kctx *k, st_error *err) {
    st_dtype dt = ST_DTYPE_UNDEFINED;
    const void *elem = NULL;
    st_status s = cos_value(k, &dt, &elem, err);
    if (s) return s;
    k->run = run_cos;
    const st_tensor *sh = st_in_const(k, 0);
    if (sh) {
        int64_t dims[ST_MAX_RANK];
        int nd;
        if ((s = cos_dims(sh, &nd, dims, err))) return s;
        st_tsr_declare(k, 0, dt, nd, dims);
    } else {
        int64_t dims[ST_MAX_RANK];
        for (int d = 0; d < ST_MAX_RANK; d++) dims[d] = -1;
        st_out_declare_type(k, 0, dt, aux_len(st_in(k, 0)), dims);
    }
    return ST_OK;
}

/* ==== Range =========================================================================== */

static st_status range_count(const st_tensor *const *in, int64_t *n, st_error *err) {
    for (int i = 0; i < 3; i++) {
        if (!in[i] || st_tensor_nelem(in[i]) != 1)
            return st_errorf(err, ST_ERR_INVALID, "Range input %d must be a scalar", i);
        if (in[i]->dtype != in[0]->dtype)
            return st_errorf(err, ST_ERR_INVALID, "Range inputs must share one type");
    }
    st_dtype dt = in[0]->dtype;
    if (dt != ST_DTYPE_F32 && dt != ST_DTYPE_F64 && dt != ST_DTYPE_I16 && dt != ST_DTYPE_I32 &&
        dt != ST_DTYPE_I64)
        return st_errorf(err, ST_ERR_UNSUPPORTED, "Range does not take %s", st_dtype_name(dt));
    double c;
    if (st_dtype_is_int(dt)) {
        int64_t a = st_tensor_get_i64(in[0], 0), b = st_tensor_get_i64(in[1], 0),
                d = st_tensor_get_i64(in[2], 0);
        if (d == 0) return st_errorf(err, ST_ERR_INVALID, "Range delta is zero");
        /* ceil((b - a) / d) in 128-bit-free form: both differences fit for these types. */
        __int128 diff = (__int128)b - a;
        __int128 q = diff / d;
        if (q * d != diff && ((diff > 0) == (d > 0))) q++;
        c = (double)q;
    } else {
        double a = st_tensor_get_f64(in[0], 0), b = st_tensor_get_f64(in[1], 0),
               d = st_tensor_get_f64(in[2], 0);
        if (d == 0 || d != d) return st_errorf(err, ST_ERR_INVALID, "Range delta is zero or NaN");
        c = ceil((b - a) / d);
        if (c != c) return st_errorf(err, ST_ERR_INVALID, "Range bounds are not finite");
    }
    if (c < 0) c = 0;
    if (c > (double)((int64_t)1 << 40))
        return st_errorf(err, ST_ERR_LIMIT, "Range of %g elements is too large", c);
    *n = (int64_t)c;
    return ST_OK;
}

static st_status run_range(st_kctx *k, st_error *err) {
    const st_tensor *in[3] = {st_in(k, 0), st_in(k, 1), st_in(k, 2)};
    int64_t n;
    st_status s = range_count(in, &n, err);
    if (s) return s;
    st_tensor *y = st_out(k, 0, in[0]->dtype, 1, &n, err);
    if (!y) return st_tsr_out_status(k, 0, err);
    switch (y->dtype) {
#define ST_RANGE_(e, T, G)                                                     \
    case e: {                                                                  \
        T a = (T)G(in[0], 0), d = (T)G(in[2], 0);                              \
        for (int64_t i = 0; i < n; i++) ((T *)y->data)[i] = (T)(a + (T)i * d); \
        break;                                                                 \
    }
        ST_RANGE_(ST_DTYPE_F32, float, st_tensor_get_f64)
        ST_RANGE_(ST_DTYPE_F64, double, st_tensor_get_f64)
        ST_RANGE_(ST_DTYPE_I16, int16_t, st_tensor_get_i64)
        ST_RANGE_(ST_DTYPE_I32, int32_t, st_tensor_get_i64)
        ST_RANGE_(ST_DTYPE_I64, int64_t, st_tensor_get_i64)
#undef ST_RANGE_
    default: break;
    }
    return ST_OK;
}

static st_status prep_range(st_kctx *k, st_error *err) {
    const st_tensor *c[3] = {st_in_const(k, 0), st_in_const(k, 1), st_in_const(k, 2)};
    k->run = run_range;
    if (c[0] && c[1] && c[2]) {
        int64_t n;
        st_status s = range_count(c, &n, err);
        if (s) return s;
        st_tsr_declare(k, 0, c[0]->dtype, 1, &n);
    } else if (st_in(k, 0)) {
        int64_t unk = -1; /* the count follows run-time values */
        st_out_declare_type(k, 0, st_in(k, 0)->dtype, 1, &unk);
    }
    return ST_OK;
}

/* ==== EyeLike ========================================================================= */

static st_status eyelike_dtype(st_kctx *k, st_dtype *dt, st_error *err) {
    const st_tensor *x = st_in(k, 0);
    if (!x || x->ndim != 2) return st_errorf(err, ST_ERR_INVALID, "EyeLike input must be 2-D");
    int64_t d = st_attr_int(k->node, "dtype", x->dtype);
    if (!st_dtype_valid((int)d) || d == ST_DTYPE_STRING || d == ST_DTYPE_C64 || d == ST_DTYPE_C128)
        return st_errorf(err, ST_ERR_UNSUPPORTED, "EyeLike cannot produce dtype %lld",
                         (long long)d);
    *dt = (st_dtype)d;
    return ST_OK;
}

static st_status run_eyelike(st_kctx *k, st_error *err) {
    const st_tensor *x = st_in(k, 0);
    st_dtype dt = ST_DTYPE_UNDEFINED;
    st_status s = eyelike_dtype(k, &dt, err);
    if (s) return s;
    st_tensor *y = st_out(k, 0, dt, 2, x->dims, err);
    if (!y) return st_tsr_out_status(k, 0, err);
    if (st_tensor_nbytes(y)) memset(y->data, 0, st_tensor_nbytes(y));
    int64_t kk = st_attr_int(k->node, "k", 0);
    for (int64_t i = 0; i < x->dims[0]; i++) {
        if (kk > x->dims[1] || kk < -x->dims[0]) break;
        int64_t j = i + kk;
        if (j >= 0 && j < x->dims[1]) st_tensor_set_f64(y, (size_t)(i * x->dims[1] + j), 1.0);
    }
    return ST_OK;
}

static st_status prep_eyelike(st_kctx *k, st_error *err) {
    st_dtype dt = ST_DTYPE_UNDEFINED;
    st_status s = eyelike_dtype(k, &dt, err);
    if (s) return s;
    st_tsr_declare(k, 0, dt, 2, st_in(k, 0)->dims);
    k->run = run_eyelike;
    return ST_OK;
}

/* ==== Trilu =========================================================================== */

static st_status run_trilu(st_kctx *k, st_error *err) {
    const st_tensor *x = st_in(k, 0);
    const st_tensor *kt = st_in(k, 1);
    int64_t kk = 0;
    if (kt) {
        if (st_tensor_nelem(kt) != 1 || !st_dtype_is_int(kt->dtype))
            return st_errorf(err, ST_ERR_INVALID, "Trilu k must be an integer scalar");
        kk = st_tensor_get_i64(kt, 0);
    }
    bool upper = st_attr_int(k->node, "upper", 1) != 0;
    st_tensor *y = st_out(k, 0, x->dtype, x->ndim, x->dims, err);
    if (!y) return st_tsr_out_status(k, 0, err);
    size_t n = st_tensor_nelem(x), es = st_dtype_size(x->dtype);
    int64_t R = x->dims[x->ndim - 2], C = x->dims[x->ndim - 1];
    if (!n) return ST_OK;
    size_t mats = n / (size_t)(R * C);
    for (size_t m = 0; m < mats; m++)
        for (int64_t i = 0; i < R; i++) {
            char *d = (char *)y->data + ((int64_t)m * R * C + i * C) * (int64_t)es;
            const char *sp = (const char *)x->data + ((int64_t)m * R * C + i * C) * (int64_t)es;
            /* keep j - i >= k (upper) or j - i <= k (lower) */
            int64_t lo = upper ? ST_MAX(0, ST_MIN(C, i + kk)) : 0;
            int64_t hi = upper ? C : ST_MAX(0, ST_MIN(C, i + kk + 1));
            if (lo > 0) memset(d, 0, (size_t)lo * es);
            if (hi > lo)
                memcpy(d + lo * (int64_t)es, sp + lo * (int64_t)es, (size_t)(hi - lo) * es);
            if (hi < C && hi >= lo) memset(d + hi * (int64_t)es, 0, (size_t)(C - hi) * es);
            else if (hi < lo) memset(d + lo * (int64_t)es, 0, (size_t)(C - lo) * es);
        }
    return st_tsr_own_strings(y, 0, n, err);
}

static st_status prep_trilu(st_kctx *k, st_error *err) {
    const st_tensor *x = st_in(k, 0);
    if (!x || x->ndim < 2) return st_errorf(err, ST_ERR_INVALID, "Trilu input needs rank >= 2");
    st_tsr_declare(k, 0, x->dtype, x->ndim, x->dims);
    k->run = run_trilu;
    return ST_OK;
}

/* ==== index bounds (compare feeds index inputs random values below them) ============= */

/* Gather, GatherElements, Scatter, ScatterElements: indices (input 1) address
 * data.shape[axis]. */
static int64_t bound_axis(const st_graph *g, const st_node *nd, int pos) {
    if (pos != 1 || nd->n_in < 1) return -1;
    return st_ops_value_dim(g, nd->inputs[0], st_attr_int(nd, "axis", 0));
}

/* GatherND: the last index dimension addresses the data dims after batch_dims; the
 * smallest of them bounds every index component. */
static int64_t bound_gathernd(const st_graph *g, const st_node *nd, int pos) {
    if (pos != 1 || nd->n_in < 1) return -1;
    int64_t r = st_ops_value_rank(g, nd->inputs[0]), b = -1;
    for (int64_t d = st_attr_int(nd, "batch_dims", 0); d < r; d++) {
        int64_t x = st_ops_value_dim(g, nd->inputs[0], d);
        if (x < 0) return -1;
        if (b < 0 || x < b) b = x;
    }
    return b;
}

/* OneHot: indices (input 0) below a constant scalar depth (input 1). */
static int64_t bound_onehot(const st_graph *g, const st_node *nd, int pos) {
    if (pos != 0 || nd->n_in < 2 || nd->inputs[1] < 0) return -1;
    const st_ir_value *dv = &g->values[nd->inputs[1]];
    if (!dv->has_const || st_tensor_nelem(&dv->const_val) != 1) return -1;
    return (int64_t)st_tensor_get_f64(&dv->const_val, 0);
}

/* ==== the family table ================================================================ */

static const st_op_def family_rows[] = {
    /* domain  op_type            since  prepare                 meaning */
    ST_OP("", "Constant", 1, prep_constant), /* attribute tensor or scalar/list */
    /* tensor view; sequences shared */
    ST_OP("", "Identity", 1, prep_identity, .flags = ST_OPF_PASSTHROUGH | ST_OPF_POINTWISE,
          .infer = infer_identity),
    /* shape attr (<5) or input; 0, -1 */
    ST_OP("", "Reshape", 1, prep_view, .flags = ST_OPF_PASSTHROUGH),
    ST_OP("", "Flatten", 1, prep_view, .flags = ST_OPF_PASSTHROUGH), /* 2-D view split at axis */
    ST_OP("", "Squeeze", 1, prep_view, .flags = ST_OPF_PASSTHROUGH), /* axes attr (<13) or input */
    /* axes attr (<13) or input */
    ST_OP("", "Unsqueeze", 1, prep_view, .flags = ST_OPF_PASSTHROUGH),
    /* dims as int64; start/end from 15 */
    ST_OP("", "Shape", 1, prep_shape, .flags = ST_OPF_SHAPE_ONLY),
    ST_OP("", "Size", 1, prep_shape, .flags = ST_OPF_SHAPE_ONLY), /* element count, int64 scalar */
    ST_OP("", "ConstantOfShape", 9, prep_cos),                    /* fill a shape with one value */
    ST_OP("", "Range", 11, prep_range),                           /* start, limit, delta */
    ST_OP("", "EyeLike", 9, prep_eyelike),                        /* ones on diagonal k */
    ST_OP("", "Trilu", 14, prep_trilu),                           /* keep upper/lower triangle */
    /* perm, default reversed */
    ST_OP("", "Transpose", 1, st_tsr_prep_transpose, .flags = ST_OPF_PASSTHROUGH),
    ST_OP("", "Concat", 1, st_tsr_prep_concat,
          .flags = ST_OPF_PASSTHROUGH | ST_OPF_PASSTHROUGH_ALL), /* join along axis */
    ST_OP("", "Split", 1, st_tsr_prep_split), /* split attr (<13) or input; equal */
    /* attrs (<10) or inputs; steps */
    ST_OP("", "Slice", 1, st_tsr_prep_slice, .flags = ST_OPF_PASSTHROUGH),
    /* bidirectional broadcast */
    ST_OP("", "Expand", 8, st_tsr_prep_expand, .flags = ST_OPF_PASSTHROUGH),
    /* repeats (opset 1: tiles + axis) */
    ST_OP("", "Tile", 1, st_tsr_prep_tile, .flags = ST_OPF_PASSTHROUGH),
    ST_OP("", "Pad", 1, st_tsr_prep_pad),                 /* constant/reflect/edge */
    ST_OP("", "DepthToSpace", 1, st_tsr_prep_d2s),        /* DCR or CRD */
    ST_OP("", "SpaceToDepth", 1, st_tsr_prep_s2d),        /* blocks into channels */
    ST_OP("", "ReverseSequence", 10, st_tsr_prep_revseq), /* reverse each batch's prefix */
    /* take slices along axis */
    ST_OP("", "Gather", 1, st_tsr_prep_gather, .index_bound = bound_axis),
    /* per-element along axis */
    ST_OP("", "GatherElements", 11, st_tsr_prep_gather_el, .index_bound = bound_axis),
    /* index tuples, batch_dims (12) */
    ST_OP("", "GatherND", 11, st_tsr_prep_gathernd, .index_bound = bound_gathernd),
    /* deprecated ScatterElements */
    ST_OP("", "Scatter", 9, st_tsr_prep_scatter_el, .index_bound = bound_axis),
    /* reduction from 16 */
    ST_OP("", "ScatterElements", 11, st_tsr_prep_scatter_el, .index_bound = bound_axis),
    ST_OP("", "ScatterND", 11, st_tsr_prep_scatternd), /* reduction from 16 */
    /* depth, [off, on] */
    ST_OP("", "OneHot", 9, st_tsr_prep_onehot, .index_bound = bound_onehot),
    ST_OP("", "NonZero", 9, st_tsr_prep_nonzero),   /* coordinates of non-zeros */
    ST_OP("", "Compress", 9, st_tsr_prep_compress), /* keep slices where condition */
    ST_OP("", "Unique", 11, st_tsr_prep_unique),    /* 4 outputs, sorted or not, axis */
    ST_OP("", "Resize", 10, st_tsr_prep_resize),    /* nearest/linear/cubic */
    ST_OP("", "Upsample", 1, st_tsr_prep_upsample), /* deprecated nearest/linear */
    /* bilinear/nearest/bicubic; also 20 (linear/cubic names, volumetric 5-D), 22 */
    ST_OP("", "GridSample", 16, st_tsr_prep_gridsample),
    /* crop or zero-pad each listed axis around its centre */
    ST_OP("", "CenterCropPad", 18, st_tsr_prep_center_crop_pad),
    /* sum overlapping sliding blocks back into an image (inverse of im2col) */
    ST_OP("", "Col2Im", 18, st_tsr_prep_col2im),
    /* sampling grid from affine matrices: a 2x3 (3x4) product per output point */
    ST_OP("", "AffineGrid", 20, st_tsr_prep_affine_grid, .flops_per_elem = 6),
    /* write update into a KV cache at per-batch offsets (linear or circular) */
    ST_OP("", "TensorScatter", 24, st_tsr_prep_tensor_scatter),
};
const st_op_family st_ops_tensor = {"tensor", family_rows, ST_ARRAY_LEN(family_rows)};
