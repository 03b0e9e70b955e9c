/* runtime/ops/control.c: control flow (If, Loop, Scan, SequenceMap), sequences and
 * optionals. Subgraphs run through st_subgraph_run; values move between the node and its
 * body by reference (st_buf counts), copied only when a tensor has no owner to keep alive.
 * Output shapes here depend on data, so prepare declares nothing but scalars; static
 * inference describes the outputs with each row's infer function instead. */
#include <string.h>

#include "infer.h"
#include "op.h"

/* ---- values ------------------------------------------------------------------------ */

/* dst refers to src's storage, or gets a copy when src has no owning buffer (executor
 * arena memory that may be reused once this node returns). */
static st_status tensor_keep(st_tensor *dst, const st_tensor *src, st_error *err) {
    if (src->buf) {
        st_tensor_share(dst, src);
        return ST_OK;
    }
    return st_tensor_copy(dst, src, err);
}

/* A sequence value of n zeroed elements. */
static st_status seq_alloc(st_value *v, size_t n, st_dtype elem, st_error *err) {
    memset(v, 0, sizeof *v);
    v->kind = ST_VAL_SEQUENCE;
    v->elem_dtype = elem;
    if (n && !(v->seq = st_calloc(n, sizeof *v->seq))) return st_error_nomem(err);
    v->nseq = n;
    return ST_OK;
}

/* dst becomes a new reference to src (tensor, sequence or empty optional). */
static st_status value_keep(st_value *dst, const st_value *src, st_error *err) {
    st_value v;
    st_status rc;
    memset(&v, 0, sizeof v);
    if (src->kind == ST_VAL_SEQUENCE) {
        if ((rc = seq_alloc(&v, src->nseq, src->elem_dtype, err))) goto fail;
        for (size_t i = 0; i < src->nseq; i++)
            if ((rc = tensor_keep(&v.seq[i], &src->seq[i], err))) goto fail;
    } else if (src->kind == ST_VAL_TENSOR) {
        if ((rc = tensor_keep(&v.tensor, &src->tensor, err))) goto fail;
    }
    v.kind = src->kind;
    v.optional = src->optional;
    v.elem_dtype = src->elem_dtype;
    *dst = v;
    return ST_OK;
fail:
    st_value_clear(&v);
    return rc;
}

/* Hand v to output i (ownership moves, v is left empty); dropped when i is omitted. */
static void out_take(st_kctx *k, int i, st_value *v) {
    st_value *o = st_out_value(k, i);
    if (o) {
        st_value_clear(o);
        *o = *v;
    } else {
        st_value_clear(v);
    }
    memset(v, 0, sizeof *v);
}

/* An unowned view of a tensor as a value, for subgraph inputs (bind takes references). */
static st_value tensor_view(const st_tensor *t) {
    st_value v;
    memset(&v, 0, sizeof v);
    v.kind = ST_VAL_TENSOR;
    v.tensor = *t;
    return v;
}

static void values_clear(st_value *v, size_t n) {
    for (size_t i = 0; v && i < n; i++) st_value_clear(&v[i]);
}

/* A zeroed array of a*b*c elements (at least one), NULL on overflow or out of memory. */
static void *calloc3(size_t a, size_t b, size_t c, size_t size) {
    size_t n;
    if (!st_mul_ok(a, b, &n) || !st_mul_ok(n, c, &n)) return NULL;
    return st_calloc(n ? n : 1, size);
}

static const char *kind_name(const st_value *v) {
    if (!v || v->kind == ST_VAL_NONE) return "an empty optional";
    return v->kind == ST_VAL_SEQUENCE ? "a sequence" : "a tensor";
}

/* ---- element copies ----------------------------------------------------------------- */

/* Copy n elements from src[soff..] to dst[doff..]; strings are duplicated. */
static st_status copy_elems(st_tensor *dst, size_t doff, const st_tensor *src, size_t soff,
                            size_t n, st_error *err) {
    if (!n) return ST_OK;
    if (dst->dtype == ST_DTYPE_STRING) {
        const st_str *s = (const st_str *)src->data + soff;
        for (size_t i = 0; i < n; i++) {
            st_status rc =
                st_tensor_set_string(dst, doff + i, s[i].data ? s[i].data : "", s[i].len, err);
            if (rc) return rc;
        }
        return ST_OK;
    }
    size_t es = st_dtype_size(dst->dtype);
    memcpy((char *)dst->data + doff * es, (const char *)src->data + soff * es, n * es);
    return ST_OK;
}

/* Zero n elements of dst (empty strings for string tensors). */
static st_status zero_elems(st_tensor *dst, size_t off, size_t n, st_error *err) {
    if (!n) return ST_OK;
    if (dst->dtype == ST_DTYPE_STRING) {
        for (size_t i = 0; i < n; i++) {
            st_status rc = st_tensor_set_string(dst, off + i, "", 0, err);
            if (rc) return rc;
        }
        return ST_OK;
    }
    size_t es = st_dtype_size(dst->dtype);
    memset((char *)dst->data + off * es, 0, n * es);
    return ST_OK;
}

static size_t prod(const int64_t *dims, int from, int to) {
    size_t n = 1;
    for (int i = from; i < to; i++) n *= (size_t)dims[i];
    return n;
}

static bool same_shape(const st_tensor *a, const st_tensor *b) {
    return a->dtype == b->dtype && a->ndim == b->ndim &&
           (!a->ndim || !memcmp(a->dims, b->dims, (size_t)a->ndim * sizeof *a->dims));
}

/* dst = src[..., start:start+count, ...] along axis; drop removes the axis (count 1). A
 * view of src's storage when the range is contiguous and owned, else a copy. */
static st_status slice_range(st_tensor *dst, const st_tensor *src, int axis, int64_t start,
                             int64_t count, bool drop, st_error *err) {
    int64_t dims[ST_MAX_RANK];
    int nd = 0;
    for (int d = 0; d < src->ndim; d++) {
        if (d == axis && drop) continue;
        dims[nd++] = d == axis ? count : src->dims[d];
    }
    size_t outer = prod(src->dims, 0, axis), len = (size_t)src->dims[axis];
    size_t inner = prod(src->dims, axis + 1, src->ndim);
    if (outer == 1 && src->buf) {
        size_t es = st_dtype_size(src->dtype);
        st_tensor_borrow(dst, src->dtype, nd, dims, (char *)src->data + (size_t)start * inner * es,
                         src->buf);
        return ST_OK;
    }
    st_tensor t;
    st_status rc = st_tensor_alloc(&t, src->dtype, nd, dims, err);
    if (rc) return rc;
    size_t chunk = (size_t)count * inner;
    for (size_t o = 0; o < outer; o++)
        if ((rc = copy_elems(&t, o * chunk, src, (o * len + (size_t)start) * inner, chunk, err))) {
            st_tensor_clear(&t);
            return rc;
        }
    *dst = t;
    return ST_OK;
}

/* Write n same-shaped items into y, stacked along `axis` of y, whose length there is len:
 * item i goes to position len-1-i when reverse, else i; positions n..len-1 are zeroed.
 * base offsets the whole block (for Scan-8's batch). */
static st_status stack_into(st_tensor *y, size_t base, const st_tensor *items, size_t n, size_t len,
                            int axis, bool reverse, st_error *err) {
    const st_tensor *first = n ? &items[0] : NULL;
    size_t outer = first ? prod(first->dims, 0, axis) : prod(y->dims, 0, axis);
    size_t inner = first ? prod(first->dims, axis, first->ndim) : 0;
    if (!first) return ST_OK;
    st_status rc;
    for (size_t i = 0; i < len; i++) {
        size_t p = reverse ? len - 1 - i : i;
        for (size_t o = 0; o < outer; o++) {
            size_t at = base + (o * len + p) * inner;
            rc = i < n ? copy_elems(y, at, &items[i], o * inner, inner, err)
                       : zero_elems(y, at, inner, err);
            if (rc) return rc;
        }
    }
    return ST_OK;
}

/* Shape of a stacked output that received no items: the body's declared element shape
 * (unknown dims as 0, unknown rank as none) with a 0-long axis inserted. */
static void empty_stack_dims(const st_graph *body, int out, int axis, st_dtype *dtype, int *ndim,
                             int64_t *dims) {
    const st_type *ty = &body->values[body->outputs[out]].type;
    int r = ty->rank > 0 && ty->rank < ST_MAX_RANK && ty->dims ? ty->rank : 0;
    *dtype = ty->dtype != ST_DTYPE_UNDEFINED ? ty->dtype : ST_DTYPE_F32;
    if (axis > r) axis = r;
    int nd = 0;
    for (int d = 0; d <= r; d++) {
        if (d == axis) dims[nd++] = 0;
        if (d < r) dims[nd++] = ty->dims[d].value > 0 ? ty->dims[d].value : 0;
    }
    *ndim = nd;
}

/* A single-element integer input as int64 (indices, positions, trip counts). */
static st_status read_scalar(const st_tensor *t, const char *what, int64_t *out, st_error *err) {
    if (!t || st_tensor_nelem(t) != 1 || !(st_dtype_is_int(t->dtype) || t->dtype == ST_DTYPE_BOOL))
        return ST_KERR(err, ST_ERR_INVALID, "%s must be a single integer", what);
    *out = st_tensor_get_i64(t, 0);
    return ST_OK;
}

static st_status read_bool(const st_tensor *t, const char *what, bool *out, st_error *err) {
    if (!t || st_tensor_nelem(t) != 1 || t->dtype == ST_DTYPE_STRING)
        return ST_KERR(err, ST_ERR_INVALID, "%s must be a single boolean", what);
    *out = st_tensor_get_f64(t, 0) != 0;
    return ST_OK;
}

static st_status new_scalar(st_value *v, st_dtype dt, int64_t x, st_error *err) {
    memset(v, 0, sizeof *v);
    st_status rc = st_tensor_alloc(&v->tensor, dt, 0, NULL, err);
    if (rc) return rc;
    v->kind = ST_VAL_TENSOR;
    if (dt == ST_DTYPE_BOOL) *(uint8_t *)v->tensor.data = x != 0;
    else *(int64_t *)v->tensor.data = x;
    return ST_OK;
}

/* The graph attribute `name` of the node, or an error naming it. */
static st_status graph_attr(const st_kctx *k, const char *name, const st_graph **g, st_error *err) {
    const st_attr *a = st_node_attr(k->node, name);
    if (!a || a->kind != ST_ATTR_GRAPH || !a->g)
        return ST_KERR(err, ST_ERR_INVALID, "%s needs the graph attribute %s", k->node->op_type,
                       name);
    *g = a->g;
    return ST_OK;
}

/* Run g and collect its outputs into a fresh array the caller frees with st_values_free. */
static st_status run_body(st_kctx *k, const st_graph *g, size_t n_in, const st_value *ins,
                          st_value **outs, st_error *err) {
    st_value *o = st_calloc(g->n_outputs ? g->n_outputs : 1, sizeof *o);
    if (!o) return st_error_nomem(err);
    st_status rc = st_subgraph_run(k, g, n_in, ins, o, err);
    if (rc) {
        st_free(o);
        return rc;
    }
    *outs = o;
    return ST_OK;
}

/* ---- If ----------------------------------------------------------------------------- */

static st_status if_run(st_kctx *k, st_error *err) {
    bool cond = false;
    st_status rc = read_bool(st_in(k, 0), "If's condition", &cond, err);
    if (rc) return rc;
    const st_graph *g = NULL;
    if ((rc = graph_attr(k, cond ? "then_branch" : "else_branch", &g, err))) return rc;
    if (g->n_outputs != (size_t)k->n_out)
        return ST_KERR(err, ST_ERR_INVALID, "the %s branch has %zu outputs, the node %d",
                       cond ? "then" : "else", g->n_outputs, k->n_out);
    st_value *outs = NULL;
    if ((rc = run_body(k, g, 0, NULL, &outs, err))) return rc;
    for (int i = 0; i < k->n_out; i++) out_take(k, i, &outs[i]);
    st_free(outs);
    return ST_OK;
}

static st_status prep_if(st_kctx *k, st_error *err) {
    const st_graph *t = NULL, *e = NULL;
    st_status rc;
    if ((rc = graph_attr(k, "then_branch", &t, err)) ||
        (rc = graph_attr(k, "else_branch", &e, err)))
        return rc;
    if (!st_in(k, 0)) return ST_KERR(err, ST_ERR_INVALID, "If's condition must be a tensor");
    k->run = if_run;
    return ST_OK;
}

/* ---- Loop --------------------------------------------------------------------------- */

static st_status loop_run(st_kctx *k, st_error *err) {
    const st_graph *body = NULL;
    st_status rc = graph_attr(k, "body", &body, err);
    if (rc) return rc;
    size_t N = (size_t)k->n_in - 2, K = (size_t)k->n_out - N;
    st_value *ins = NULL, *outs = NULL;
    st_tensor *acc = NULL; /* scan outputs, K per iteration */
    size_t cap = 0, it = 0;
    int64_t max_trip = 0;
    /* an omitted input and an empty optional both mean "not given" */
    bool has_max = st_in(k, 0) != NULL, has_cond = st_in(k, 1) != NULL, cond = true;
    if (has_max && (rc = read_scalar(st_in(k, 0), "Loop's trip count M", &max_trip, err)))
        goto fail;
    if (has_cond && (rc = read_bool(st_in(k, 1), "Loop's condition", &cond, err))) goto fail;
    if (!(ins = st_calloc(N + 2, sizeof *ins))) {
        rc = st_error_nomem(err);
        goto fail;
    }
    st_value *carry = ins + 2; /* loop-carried values, owned */
    for (size_t i = 0; i < N; i++) {
        const st_value *v = st_in_value(k, (int)(2 + i));
        if (v && (rc = value_keep(&carry[i], v, err))) goto fail;
        if (!v) carry[i].optional = true;
    }
    for (; (!has_max || (int64_t)it < max_trip) && cond; it++) {
        if ((rc = new_scalar(&ins[0], ST_DTYPE_I64, (int64_t)it, err)) ||
            (rc = new_scalar(&ins[1], ST_DTYPE_BOOL, cond, err)) ||
            (rc = run_body(k, body, N + 2, ins, &outs, err)))
            goto fail;
        st_value_clear(&ins[0]);
        st_value_clear(&ins[1]);
        /* without a condition input the body's condition output is ignored */
        if (has_cond &&
            (outs[0].kind != ST_VAL_TENSOR ||
             (rc = read_bool(&outs[0].tensor, "the body's condition output", &cond, err)))) {
            if (!rc)
                rc = ST_KERR(err, ST_ERR_INVALID, "the body's condition output is not a tensor");
            goto fail;
        }
        for (size_t i = 0; i < N; i++) {
            st_value_clear(&carry[i]);
            carry[i] = outs[1 + i];
            memset(&outs[1 + i], 0, sizeof outs[1 + i]);
        }
        if (K && !ST_GROW(acc, cap, (it + 1) * K)) {
            rc = st_error_nomem(err);
            goto fail;
        }
        if (K) memset(&acc[it * K], 0, K * sizeof *acc);
        for (size_t j = 0; j < K; j++) {
            st_value *o = &outs[1 + N + j];
            if (o->kind != ST_VAL_TENSOR) {
                rc = ST_KERR(err, ST_ERR_INVALID, "scan output %zu of the body is %s, not a tensor",
                             j, kind_name(o));
                goto fail;
            }
            acc[it * K + j] = o->tensor;
            memset(o, 0, sizeof *o);
            if (it && !same_shape(&acc[j], &acc[it * K + j])) {
                char a[96], b[96];
                rc = ST_KERR(err, ST_ERR_INVALID,
                             "scan output %zu changes shape between iterations: %s then %s", j,
                             st_tensor_desc(&acc[j], a, sizeof a),
                             st_tensor_desc(&acc[it * K + j], b, sizeof b));
                it++; /* this iteration's outputs are in acc: let fail clear them */
                goto fail;
            }
        }
        st_values_free(outs, body->n_outputs);
        outs = NULL;
    }
    for (size_t j = 0; j < K; j++) {
        int64_t dims[ST_MAX_RANK];
        int nd;
        st_dtype dt;
        if (it) {
            const st_tensor *f = &acc[j];
            if (f->ndim + 1 > ST_MAX_RANK) {
                rc = ST_KERR(err, ST_ERR_LIMIT, "scan output %zu has too many dimensions", j);
                goto fail;
            }
            dims[0] = (int64_t)it;
            memcpy(dims + 1, f->dims, (size_t)f->ndim * sizeof *dims);
            nd = f->ndim + 1;
            dt = f->dtype;
        } else {
            empty_stack_dims(body, (int)(1 + N + j), 0, &dt, &nd, dims);
        }
        if (!st_has_out(k, (int)(N + j))) continue;
        st_tensor *y = st_out(k, (int)(N + j), dt, nd, dims, err);
        if (!y) {
            rc = err->status;
            goto fail;
        }
        size_t inner = it ? st_tensor_nelem(&acc[j]) : 0;
        for (size_t i = 0; i < it; i++)
            if ((rc = copy_elems(y, i * inner, &acc[i * K + j], 0, inner, err))) goto fail;
    }
    for (size_t i = 0; i < N; i++) out_take(k, (int)i, &carry[i]);
    rc = ST_OK;
fail:
    if (outs) st_values_free(outs, body->n_outputs);
    for (size_t i = 0; acc && i < it * K; i++) st_tensor_clear(&acc[i]);
    st_free(acc);
    if (ins) st_values_free(ins, N + 2);
    return rc;
}

static st_status prep_loop(st_kctx *k, st_error *err) {
    const st_graph *body = NULL;
    st_status rc = graph_attr(k, "body", &body, err);
    if (rc) return rc;
    if (k->n_in < 2 || k->n_out < k->n_in - 2)
        return ST_KERR(err, ST_ERR_INVALID,
                       "Loop needs M, cond and one output per loop-carried value");
    size_t N = (size_t)k->n_in - 2, K = (size_t)k->n_out - N;
    if (body->n_inputs != N + 2 || body->n_outputs != 1 + N + K)
        return ST_KERR(err, ST_ERR_INVALID,
                       "Loop body has %zu inputs and %zu outputs; with %zu loop-carried values and "
                       "%zu scan outputs it needs %zu and %zu",
                       body->n_inputs, body->n_outputs, N, K, N + 2, N + K + 1);
    k->run = loop_run;
    return ST_OK;
}

/* ---- Scan --------------------------------------------------------------------------- */

typedef struct scan_attrs {
    size_t n_state, n_in, n_out; /* N loop states, M scan inputs, K scan outputs */
    int in_axis[ST_MAX_RANK * 4];
    bool in_rev[ST_MAX_RANK * 4];
    int64_t out_axis_attr[ST_MAX_RANK * 4];
    bool out_rev[ST_MAX_RANK * 4];
} scan_attrs;

/* Run `iters` iterations: states (n_state owned values) are updated in place, xs are the
 * scan inputs whose axis in_axis has at least iters entries, items receives n_out tensors
 * per iteration (items[k * stride + i]). */
static st_status scan_loop(st_kctx *k, const st_graph *body, const scan_attrs *sa, st_value *states,
                           const st_tensor *const *xs, const int *in_axis, int64_t iters,
                           st_tensor *items, size_t stride, st_error *err) {
    size_t N = sa->n_state, M = sa->n_in, K = sa->n_out;
    st_status rc = ST_OK;
    st_value *ins = st_calloc(N + M, sizeof *ins), *outs = NULL;
    if (!ins) return st_error_nomem(err);
    for (int64_t i = 0; i < iters; i++) {
        memcpy(ins, states, N * sizeof *ins); /* borrowed: bind takes its own references */
        for (size_t j = 0; j < M; j++) {
            int64_t at = sa->in_rev[j] ? iters - 1 - i : i;
            ins[N + j].kind = ST_VAL_TENSOR;
            if ((rc = slice_range(&ins[N + j].tensor, xs[j], in_axis[j], at, 1, true, err)))
                goto done;
        }
        rc = run_body(k, body, N + M, ins, &outs, err);
        values_clear(ins + N, M);
        if (rc) goto done;
        for (size_t n = 0; n < N; n++) {
            st_value_clear(&states[n]);
            states[n] = outs[n];
            memset(&outs[n], 0, sizeof outs[n]);
        }
        for (size_t o = 0; o < K; o++) {
            st_value *v = &outs[N + o];
            if (v->kind != ST_VAL_TENSOR) {
                rc = ST_KERR(err, ST_ERR_INVALID, "scan output %zu of the body is %s, not a tensor",
                             o, kind_name(v));
                goto done;
            }
            items[o * stride + (size_t)i] = v->tensor;
            memset(v, 0, sizeof *v);
            if (i && !same_shape(&items[o * stride], &items[o * stride + (size_t)i])) {
                rc = ST_KERR(err, ST_ERR_INVALID,
                             "scan output %zu changes shape between iterations", o);
                goto done;
            }
        }
        st_values_free(outs, body->n_outputs);
        outs = NULL;
    }
done:
    if (outs) st_values_free(outs, body->n_outputs);
    values_clear(ins + N, M);
    st_free(ins);
    return rc;
}

static st_status scan_parse(st_kctx *k, scan_attrs *sa, bool v8, st_error *err) {
    const st_node *n = k->node;
    const st_graph *body = NULL;
    st_status rc = graph_attr(k, "body", &body, err);
    if (rc) return rc;
    int64_t M = st_attr_int(n, "num_scan_inputs", -1);
    int first = v8 ? 1 : 0; /* Scan-8 starts with sequence_lens */
    if (M < 1 || M > k->n_in - first)
        return ST_KERR(err, ST_ERR_INVALID, "num_scan_inputs %lld does not fit %d inputs",
                       (long long)M, k->n_in);
    sa->n_in = (size_t)M;
    sa->n_state = (size_t)(k->n_in - first) - sa->n_in;
    if ((size_t)k->n_out < sa->n_state)
        return ST_KERR(err, ST_ERR_INVALID, "Scan has fewer outputs than loop states");
    sa->n_out = (size_t)k->n_out - sa->n_state;
    if (sa->n_in > ST_ARRAY_LEN(sa->in_axis) || sa->n_out > ST_ARRAY_LEN(sa->out_rev))
        return ST_KERR(err, ST_ERR_LIMIT, "Scan has too many scan inputs or outputs");
    if (body->n_inputs != sa->n_state + sa->n_in || body->n_outputs != sa->n_state + sa->n_out)
        return ST_KERR(
            err, ST_ERR_INVALID, "Scan body has %zu inputs and %zu outputs, expected %zu and %zu",
            body->n_inputs, body->n_outputs, sa->n_state + sa->n_in, sa->n_state + sa->n_out);
    const int64_t *v;
    size_t c;
    /* directions (Scan-8) and scan_input_directions (9+) */
    c = st_attr_ints(n, v8 ? "directions" : "scan_input_directions", &v);
    if (c && c != sa->n_in)
        return ST_KERR(err, ST_ERR_INVALID, "%zu scan input directions for %zu scan inputs", c,
                       sa->n_in);
    for (size_t j = 0; j < sa->n_in; j++) {
        sa->in_rev[j] = c ? v[j] != 0 : false;
        const st_tensor *x = st_in(k, first + (int)(sa->n_state + j));
        if (!x) return ST_KERR(err, ST_ERR_INVALID, "scan input %zu is not a tensor", j);
        int64_t ax = 0;
        if (!v8) {
            const int64_t *axes;
            size_t na = st_attr_ints(n, "scan_input_axes", &axes);
            if (na && na != sa->n_in)
                return ST_KERR(err, ST_ERR_INVALID, "%zu scan_input_axes for %zu scan inputs", na,
                               sa->n_in);
            if (na) ax = axes[j];
        }
        int rank = v8 ? x->ndim - 1 : x->ndim;
        if (rank < 1) return ST_KERR(err, ST_ERR_INVALID, "scan input %zu has no axis to scan", j);
        if ((rc = st_norm_axis(ax, rank, &sa->in_axis[j], err))) return rc;
    }
    const int64_t *axes = NULL;
    size_t na = v8 ? 0 : st_attr_ints(n, "scan_output_axes", &axes);
    c = v8 ? 0 : st_attr_ints(n, "scan_output_directions", &v);
    if ((na && na != sa->n_out) || (c && c != sa->n_out))
        return ST_KERR(err, ST_ERR_INVALID, "scan_output_axes/directions need %zu entries",
                       sa->n_out);
    for (size_t o = 0; o < sa->n_out; o++) {
        sa->out_axis_attr[o] = na ? axes[o] : 0;
        sa->out_rev[o] = c ? v[o] != 0 : false;
    }
    return ST_OK;
}

static st_status scan9_run(st_kctx *k, st_error *err) {
    scan_attrs *sa = k->state;
    const st_graph *body = NULL;
    st_status rc = graph_attr(k, "body", &body, err);
    if (rc) return rc;
    size_t N = sa->n_state, M = sa->n_in, K = sa->n_out;
    const st_tensor *xs[ST_ARRAY_LEN(sa->in_axis)];
    int64_t T = -1;
    for (size_t j = 0; j < M; j++) {
        xs[j] = st_in(k, (int)(N + j));
        if (!xs[j]) return ST_KERR(err, ST_ERR_INVALID, "scan input %zu is not a tensor", j);
        int64_t len = xs[j]->ndim > sa->in_axis[j] ? xs[j]->dims[sa->in_axis[j]] : -1;
        if (len < 0 || (T >= 0 && len != T))
            return ST_KERR(err, ST_ERR_INVALID, "scan inputs disagree on the sequence length");
        T = len;
    }
    st_value *states = st_calloc(N ? N : 1, sizeof *states);
    st_tensor *items = calloc3(K, (size_t)T, 1, sizeof *items);
    if (!states || !items) {
        rc = st_error_nomem(err);
        goto fail;
    }
    for (size_t n = 0; n < N; n++) {
        const st_value *v = st_in_value(k, (int)n);
        if (!v) {
            rc = ST_KERR(err, ST_ERR_INVALID, "scan state %zu is missing", n);
            goto fail;
        }
        if ((rc = value_keep(&states[n], v, err))) goto fail;
    }
    if ((rc = scan_loop(k, body, sa, states, xs, sa->in_axis, T, items, (size_t)T, err))) goto fail;
    for (size_t o = 0; o < K; o++) {
        if (!st_has_out(k, (int)(N + o))) continue;
        int64_t dims[ST_MAX_RANK];
        int nd, axis;
        st_dtype dt;
        int r = T ? items[o * (size_t)T].ndim : 0;
        if (T && r + 1 > ST_MAX_RANK) {
            rc = ST_KERR(err, ST_ERR_LIMIT, "scan output %zu has too many dimensions", o);
            goto fail;
        }
        if (T) {
            if ((rc = st_norm_axis(sa->out_axis_attr[o], r + 1, &axis, err))) goto fail;
            const st_tensor *f = &items[o * (size_t)T];
            for (int d = 0, s = 0; d <= r; d++) dims[d] = d == axis ? T : f->dims[s++];
            nd = r + 1;
            dt = f->dtype;
        } else {
            axis = sa->out_axis_attr[o] > 0 ? (int)sa->out_axis_attr[o] : 0;
            empty_stack_dims(body, (int)(N + o), axis, &dt, &nd, dims);
        }
        st_tensor *y = st_out(k, (int)(N + o), dt, nd, dims, err);
        if (!y) {
            rc = err->status;
            goto fail;
        }
        if ((rc = stack_into(y, 0, &items[o * (size_t)T], (size_t)T, (size_t)T, axis,
                             sa->out_rev[o], err)))
            goto fail;
    }
    for (size_t n = 0; n < N; n++) out_take(k, (int)n, &states[n]);
    rc = ST_OK;
fail:
    for (size_t i = 0; items && i < K * (size_t)(T > 0 ? T : 0); i++) st_tensor_clear(&items[i]);
    st_free(items);
    values_clear(states, N);
    st_free(states);
    return rc;
}

/* Scan-8: every input has a leading batch axis; each batch entry runs its own loop over
 * axis 1 for sequence_lens[b] steps; scan outputs are padded with zeros past that. */
/* Scan-8 (batched): what one run works with. Loop states are [B, ...], scan inputs
 * [B, T, ...]; each batch row runs the loop on its own, for sequence_lens[b] steps. */
typedef struct scan8_run_ctx {
    size_t N, M, K; /* loop states, scan inputs, scan outputs */
    int64_t B, T;   /* batch and sequence extents */
    size_t nB, nT;
    const st_tensor *lens;                /* sequence_lens or NULL (all T) */
    const st_tensor *xs[ST_MAX_RANK * 4]; /* the scan inputs */
    st_value *states;                     /* [B][N] final loop states */
    st_tensor *items;                     /* [B][K][T] per-step scan output items */
} scan8_run_ctx;

/* The inputs agree on B and T and sequence_lens is an integer vector within [0, T]. */
static st_status scan8_check(st_kctx *k, scan8_run_ctx *c, st_error *err) {
    c->B = c->T = -1;
    for (size_t j = 0; j < c->M; j++) {
        const st_tensor *x = c->xs[j] = st_in(k, (int)(1 + c->N + j));
        if (!x || x->ndim < 2 || (c->B >= 0 && (x->dims[0] != c->B || x->dims[1] != c->T)))
            return ST_KERR(err, ST_ERR_INVALID,
                           "scan inputs must share the batch and sequence axes");
        c->B = x->dims[0];
        c->T = x->dims[1];
    }
    for (size_t n = 0; n < c->N; n++) {
        const st_tensor *s = st_in(k, (int)(1 + n));
        if (!s || s->ndim < 1 || s->dims[0] != c->B)
            return ST_KERR(err, ST_ERR_INVALID, "scan state %zu must be a tensor with batch %lld",
                           n, (long long)c->B);
    }
    const st_tensor *lens = c->lens = st_in(k, 0);
    if (lens && (lens->ndim != 1 || lens->dims[0] != c->B || !st_dtype_is_int(lens->dtype)))
        return ST_KERR(err, ST_ERR_INVALID,
                       "sequence_lens must be an integer vector of length %lld", (long long)c->B);
    for (int64_t b = 0; lens && b < c->B; b++) {
        int64_t L = st_tensor_get_i64(lens, (size_t)b);
        if (L < 0 || L > c->T)
            return ST_KERR(err, ST_ERR_INVALID, "sequence_lens[%lld] = %lld is outside [0, %lld]",
                           (long long)b, (long long)L, (long long)c->T);
    }
    c->nB = (size_t)c->B;
    c->nT = (size_t)c->T;
    return ST_OK;
}

static size_t scan8_len(const scan8_run_ctx *c, size_t b) {
    return c->lens ? (size_t)st_tensor_get_i64(c->lens, b) : c->nT;
}

/* Run the body over each batch row: its slice of the states and the scan inputs. */
static st_status scan8_loop_batches(st_kctx *k, const st_graph *body, const scan_attrs *sa,
                                    scan8_run_ctx *c, st_error *err) {
    st_tensor xb[ST_MAX_RANK * 4];
    const st_tensor *xbp[ST_MAX_RANK * 4];
    int zero_axis[ST_MAX_RANK * 4] = {0};
    st_status rc = ST_OK;
    memset(xb, 0, sizeof xb);
    for (size_t b = 0; b < c->nB; b++) {
        st_value *st = c->states + b * c->N;
        for (size_t n = 0; n < c->N; n++) {
            st[n].kind = ST_VAL_TENSOR;
            const st_tensor *init = st_in(k, (int)(1 + n));
            if ((rc = slice_range(&st[n].tensor, init, 0, (int64_t)b, 1, true, err))) goto done;
        }
        for (size_t j = 0; j < c->M; j++) {
            st_tensor_clear(&xb[j]);
            if ((rc = slice_range(&xb[j], c->xs[j], 0, (int64_t)b, 1, true, err))) goto done;
            xbp[j] = &xb[j];
        }
        int64_t L = (int64_t)scan8_len(c, b);
        if ((rc = scan_loop(k, body, sa, st, xbp, zero_axis, L, c->items + b * c->K * c->nT, c->nT,
                            err)))
            goto done;
    }
done:
    for (size_t j = 0; j < c->M; j++) st_tensor_clear(&xb[j]);
    return rc;
}

/* Final states: output n is [B, state shape], the batch rows' states stacked. */
static st_status scan8_final_states(st_kctx *k, const scan8_run_ctx *c, st_error *err) {
    for (size_t n = 0; n < c->N; n++) {
        if (!st_has_out(k, (int)n)) continue;
        const st_tensor *init = st_in(k, (int)(1 + n));
        const st_tensor *f0 = c->nB ? &c->states[n].tensor : NULL;
        int64_t dims[ST_MAX_RANK];
        int nd = 0;
        st_dtype dt = init->dtype;
        dims[nd++] = c->B;
        if (f0) {
            if (c->states[n].kind != ST_VAL_TENSOR || f0->ndim + 1 > ST_MAX_RANK)
                return ST_KERR(err, ST_ERR_INVALID, "scan state %zu is not a tensor", n);
            for (int d = 0; d < f0->ndim; d++) dims[nd++] = f0->dims[d];
            dt = f0->dtype;
        } else {
            for (int d = 1; d < init->ndim; d++) dims[nd++] = init->dims[d];
        }
        st_tensor *y = st_out(k, (int)n, dt, nd, dims, err);
        if (!y) return err->status;
        size_t inner = prod(dims, 1, nd);
        for (size_t b = 0; b < c->nB; b++) {
            const st_value *v = &c->states[b * c->N + n];
            if (v->kind != ST_VAL_TENSOR || !same_shape(&v->tensor, f0))
                return ST_KERR(err, ST_ERR_INVALID,
                               "scan state %zu differs in shape between batches", n);
            st_status rc = copy_elems(y, b * inner, &v->tensor, 0, inner, err);
            if (rc) return rc;
        }
    }
    return ST_OK;
}

/* Shape of scan output o: [B, T, item shape] from the first non-empty batch row's item, or
 * from the body's declared output when every row ran zero steps. *first is that item. */
static st_status scan8_output_shape(const st_graph *body, const scan8_run_ctx *c, size_t o,
                                    const st_tensor **first, st_dtype *dt, int *nd, int64_t *dims,
                                    st_error *err) {
    const st_tensor *f = NULL;
    for (size_t b = 0; b < c->nB && !f; b++)
        if (scan8_len(c, b)) f = &c->items[(b * c->K + o) * c->nT];
    dims[0] = c->B;
    if (f) {
        if (f->ndim + 2 > ST_MAX_RANK)
            return ST_KERR(err, ST_ERR_LIMIT, "scan output %zu has too many dimensions", o);
        dims[1] = c->T;
        memcpy(dims + 2, f->dims, (size_t)f->ndim * sizeof *dims);
        *nd = f->ndim + 2;
        *dt = f->dtype;
    } else {
        int64_t d1[ST_MAX_RANK];
        int n1;
        empty_stack_dims(body, (int)(c->N + o), 0, dt, &n1, d1);
        if (n1 + 1 > ST_MAX_RANK) n1 = ST_MAX_RANK - 1;
        memcpy(dims + 1, d1, (size_t)n1 * sizeof *dims);
        dims[1] = c->T;
        *nd = n1 + 1;
    }
    *first = f;
    return ST_OK;
}

/* Scan outputs: each batch row's items stacked, rows that ran zero steps zero-filled. */
static st_status scan8_scan_outputs(st_kctx *k, const st_graph *body, const scan8_run_ctx *c,
                                    st_error *err) {
    for (size_t o = 0; o < c->K; o++) {
        if (!st_has_out(k, (int)(c->N + o))) continue;
        const st_tensor *f = NULL;
        int64_t dims[ST_MAX_RANK];
        int nd = 0;
        st_dtype dt = ST_DTYPE_F32;
        st_status rc = scan8_output_shape(body, c, o, &f, &dt, &nd, dims, err);
        if (rc) return rc;
        st_tensor *y = st_out(k, (int)(c->N + o), dt, nd, dims, err);
        if (!y) return err->status;
        size_t block = prod(dims, 1, nd);
        for (size_t b = 0; b < c->nB; b++) {
            size_t L = scan8_len(c, b);
            const st_tensor *it = &c->items[(b * c->K + o) * c->nT];
            for (size_t i = 0; i < L; i++)
                if (!same_shape(&it[i], f))
                    return ST_KERR(err, ST_ERR_INVALID,
                                   "scan output %zu differs in shape between batches", o);
            if (!L) rc = zero_elems(y, b * block, block, err);
            else rc = stack_into(y, b * block, it, L, c->nT, 0, false, err);
            if (rc) return rc;
        }
    }
    return ST_OK;
}

static st_status scan8_run(st_kctx *k, st_error *err) {
    scan_attrs *sa = k->state;
    const st_graph *body = NULL;
    st_status rc = graph_attr(k, "body", &body, err);
    if (rc) return rc;
    scan8_run_ctx c;
    memset(&c, 0, sizeof c);
    c.N = sa->n_state;
    c.M = sa->n_in;
    c.K = sa->n_out;
    if ((rc = scan8_check(k, &c, err))) return rc;
    c.states = calloc3(c.nB, c.N, 1, sizeof *c.states);
    c.items = calloc3(c.nB, c.K, c.nT, sizeof *c.items);
    if (!c.states || !c.items) rc = st_error_nomem(err);
    if (!rc) rc = scan8_loop_batches(k, body, sa, &c, err);
    if (!rc) rc = scan8_final_states(k, &c, err);
    if (!rc) rc = scan8_scan_outputs(k, body, &c, err);
    for (size_t i = 0; c.items && i < c.nB * c.K * c.nT; i++) st_tensor_clear(&c.items[i]);
    st_free(c.items);
    values_clear(c.states, c.nB * c.N);
    st_free(c.states);
    return rc;
}

static st_status prep_scan(st_kctx *k, st_error *err) {
    bool v8 = k->opset < 9;
    scan_attrs *sa = st_calloc(1, sizeof *sa);
    if (!sa) return st_error_nomem(err);
    st_status rc = scan_parse(k, sa, v8, err);
    if (rc) {
        st_free(sa);
        return rc;
    }
    k->state = sa;
    k->run = v8 ? scan8_run : scan9_run;
    return ST_OK;
}

/* ---- SequenceMap -------------------------------------------------------------------- */

static st_status seqmap_run(st_kctx *k, st_error *err) {
    const st_graph *body = NULL;
    st_status rc = graph_attr(k, "body", &body, err);
    if (rc) return rc;
    const st_value *s0 = st_in_value(k, 0);
    if (!s0 || s0->kind != ST_VAL_SEQUENCE)
        return ST_KERR(err, ST_ERR_INVALID, "SequenceMap's first input is %s, not a sequence",
                       kind_name(s0));
    size_t n = s0->nseq, n_in = (size_t)k->n_in, K = (size_t)k->n_out;
    for (size_t j = 1; j < n_in; j++) {
        const st_value *v = st_in_value(k, (int)j);
        if (!v || v->kind == ST_VAL_NONE)
            return ST_KERR(err, ST_ERR_INVALID, "SequenceMap input %zu is missing", j);
        if (v->kind == ST_VAL_SEQUENCE && v->nseq != n)
            return ST_KERR(err, ST_ERR_INVALID,
                           "SequenceMap input %zu has %zu elements, the first sequence %zu", j,
                           v->nseq, n);
    }
    st_value *res = st_calloc(K ? K : 1, sizeof *res);
    st_value *ins = st_calloc(n_in, sizeof *ins), *outs = NULL;
    if (!res || !ins) {
        rc = st_error_nomem(err);
        goto fail;
    }
    for (size_t o = 0; o < K; o++) {
        st_dtype dt = body->values[body->outputs[o]].type.dtype;
        if ((rc = seq_alloc(&res[o], n, dt, err))) goto fail;
    }
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < n_in; j++) { /* borrowed views: bind takes references */
            const st_value *v = st_in_value(k, (int)j);
            ins[j] = v->kind == ST_VAL_SEQUENCE ? tensor_view(&v->seq[i]) : *v;
        }
        if ((rc = run_body(k, body, n_in, ins, &outs, err))) goto fail;
        for (size_t o = 0; o < K; o++) {
            if (outs[o].kind != ST_VAL_TENSOR) {
                rc = ST_KERR(err, ST_ERR_INVALID, "SequenceMap body output %zu is %s, not a tensor",
                             o, kind_name(&outs[o]));
                goto fail;
            }
            res[o].seq[i] = outs[o].tensor;
            res[o].elem_dtype = outs[o].tensor.dtype;
            memset(&outs[o], 0, sizeof outs[o]);
        }
        st_values_free(outs, body->n_outputs);
        outs = NULL;
    }
    for (size_t o = 0; o < K; o++) out_take(k, (int)o, &res[o]);
    rc = ST_OK;
fail:
    if (outs) st_values_free(outs, body->n_outputs);
    if (res) st_values_free(res, K);
    st_free(ins);
    return rc;
}

static st_status prep_seqmap(st_kctx *k, st_error *err) {
    const st_graph *body = NULL;
    st_status rc = graph_attr(k, "body", &body, err);
    if (rc) return rc;
    if (body->n_inputs != (size_t)k->n_in || body->n_outputs != (size_t)k->n_out)
        return ST_KERR(err, ST_ERR_INVALID,
                       "SequenceMap body has %zu inputs and %zu outputs, the node %d and %d",
                       body->n_inputs, body->n_outputs, k->n_in, k->n_out);
    k->run = seqmap_run;
    return ST_OK;
}

/* ---- sequences ---------------------------------------------------------------------- */

/* Input i as a sequence, or an error. */
static st_status in_seq(const st_kctx *k, int i, const st_value **out, st_error *err) {
    const st_value *v = st_in_value(k, i);
    if (!v || v->kind != ST_VAL_SEQUENCE)
        return ST_KERR(err, ST_ERR_INVALID, "%s input %d is %s, not a sequence", k->node->op_type,
                       i, kind_name(v));
    *out = v;
    return ST_OK;
}

/* An optional position input: in [-n, n + extra), normalized; def when omitted. */
static st_status read_pos(const st_kctx *k, int i, size_t n, int extra, int64_t def, int64_t *out,
                          st_error *err) {
    int64_t p = def;
    if (st_in(k, i)) {
        st_status rc = read_scalar(st_in(k, i), "position", &p, err);
        if (rc) return rc;
    }
    int64_t sn = (int64_t)n;
    if (p < -sn || p >= sn + extra)
        return ST_KERR(err, ST_ERR_INVALID, "position %lld is out of range for a sequence of %zu",
                       (long long)p, n);
    *out = p < 0 ? p + sn : p;
    return ST_OK;
}

static st_status seq_construct_run(st_kctx *k, st_error *err) {
    st_value v;
    st_status rc = seq_alloc(&v, (size_t)k->n_in, ST_DTYPE_UNDEFINED, err);
    if (rc) return rc;
    for (int i = 0; i < k->n_in; i++) {
        const st_tensor *t = st_in(k, i);
        if (!t || (i && t->dtype != v.seq[0].dtype)) {
            rc = ST_KERR(err, ST_ERR_INVALID, "SequenceConstruct input %d is not a %s tensor", i,
                         i ? st_dtype_name(v.seq[0].dtype) : "");
            goto fail;
        }
        if ((rc = tensor_keep(&v.seq[i], t, err))) goto fail;
        v.elem_dtype = t->dtype;
    }
    out_take(k, 0, &v);
    return ST_OK;
fail:
    st_value_clear(&v);
    return rc;
}

typedef struct seq_empty_state {
    st_dtype dtype;
} seq_empty_state;

static st_status seq_empty_run(st_kctx *k, st_error *err) {
    const seq_empty_state *s = k->state;
    st_value v;
    st_status rc = seq_alloc(&v, 0, s->dtype, err);
    if (rc) return rc;
    out_take(k, 0, &v);
    return ST_OK;
}

static st_status prep_seq_empty(st_kctx *k, st_error *err) {
    int64_t dt = st_attr_int(k->node, "dtype", ST_DTYPE_F32);
    if (!st_dtype_valid((int)dt))
        return ST_KERR(err, ST_ERR_INVALID, "SequenceEmpty: unknown dtype %lld", (long long)dt);
    seq_empty_state *s = st_calloc(1, sizeof *s);
    if (!s) return st_error_nomem(err);
    s->dtype = (st_dtype)dt;
    k->state = s;
    k->run = seq_empty_run;
    return ST_OK;
}

static st_status seq_at_run(st_kctx *k, st_error *err) {
    const st_value *s = NULL;
    int64_t p = 0;
    st_status rc;
    if (!st_in(k, 1)) return ST_KERR(err, ST_ERR_INVALID, "SequenceAt needs a position");
    if ((rc = in_seq(k, 0, &s, err)) || (rc = read_pos(k, 1, s->nseq, 0, 0, &p, err))) return rc;
    st_value v;
    memset(&v, 0, sizeof v);
    if ((rc = tensor_keep(&v.tensor, &s->seq[p], err))) return rc;
    v.kind = ST_VAL_TENSOR;
    out_take(k, 0, &v);
    return ST_OK;
}

static st_status seq_insert_run(st_kctx *k, st_error *err) {
    const st_value *s = NULL;
    const st_tensor *t = st_in(k, 1);
    int64_t p = 0;
    st_status rc;
    if ((rc = in_seq(k, 0, &s, err)) ||
        (rc = read_pos(k, 2, s->nseq, 1, (int64_t)s->nseq, &p, err)))
        return rc;
    if (!t) return ST_KERR(err, ST_ERR_INVALID, "SequenceInsert needs a tensor to insert");
    st_dtype want = s->nseq ? s->seq[0].dtype : s->elem_dtype;
    if (want != ST_DTYPE_UNDEFINED && t->dtype != want)
        return ST_KERR(err, ST_ERR_INVALID, "cannot insert a %s tensor into a sequence of %s",
                       st_dtype_name(t->dtype), st_dtype_name(want));
    st_value v;
    if ((rc = seq_alloc(&v, s->nseq + 1, t->dtype, err))) return rc;
    for (size_t i = 0, j = 0; i < v.nseq; i++) {
        const st_tensor *src = i == (size_t)p ? t : &s->seq[j++];
        if ((rc = tensor_keep(&v.seq[i], src, err))) {
            st_value_clear(&v);
            return rc;
        }
    }
    out_take(k, 0, &v);
    return ST_OK;
}

static st_status seq_erase_run(st_kctx *k, st_error *err) {
    const st_value *s = NULL;
    int64_t p = 0;
    st_status rc;
    if ((rc = in_seq(k, 0, &s, err))) return rc;
    if (!s->nseq) return ST_KERR(err, ST_ERR_INVALID, "cannot erase from an empty sequence");
    if ((rc = read_pos(k, 1, s->nseq, 0, -1, &p, err))) return rc;
    st_value v;
    if ((rc = seq_alloc(&v, s->nseq - 1, s->elem_dtype, err))) return rc;
    for (size_t i = 0, j = 0; i < s->nseq; i++) {
        if (i == (size_t)p) continue;
        if ((rc = tensor_keep(&v.seq[j++], &s->seq[i], err))) {
            st_value_clear(&v);
            return rc;
        }
    }
    if (v.elem_dtype == ST_DTYPE_UNDEFINED) v.elem_dtype = s->seq[0].dtype;
    out_take(k, 0, &v);
    return ST_OK;
}

static st_status seq_length_run(st_kctx *k, st_error *err) {
    const st_value *s = NULL;
    st_status rc = in_seq(k, 0, &s, err);
    if (rc) return rc;
    st_tensor *y = st_out(k, 0, ST_DTYPE_I64, 0, NULL, err);
    if (!y) return st_has_out(k, 0) ? err->status : ST_OK;
    *(int64_t *)y->data = (int64_t)s->nseq;
    return ST_OK;
}

static st_status prep_seq_length(st_kctx *k, st_error *err) {
    (void)err;
    st_out_declare(k, 0, ST_DTYPE_I64, 0, NULL);
    k->run = seq_length_run;
    return ST_OK;
}

typedef struct split_seq_state {
    int64_t axis;
    bool keepdims;
} split_seq_state;

static st_status split_seq_run(st_kctx *k, st_error *err) {
    const split_seq_state *ss = k->state;
    const st_tensor *x = st_in(k, 0), *split = st_in(k, 1);
    int axis;
    st_status rc;
    if (!x) return ST_KERR(err, ST_ERR_INVALID, "SplitToSequence input is not a tensor");
    if (x->ndim < 1) return ST_KERR(err, ST_ERR_INVALID, "SplitToSequence cannot split a scalar");
    if ((rc = st_norm_axis(ss->axis, x->ndim, &axis, err))) return rc;
    int64_t len = x->dims[axis];
    size_t n;
    int64_t chunk = 1; /* piece size unless split is a list */
    bool list = split && split->ndim >= 1, drop = !split && !ss->keepdims;
    if (split && !st_dtype_is_int(split->dtype))
        return ST_KERR(err, ST_ERR_INVALID, "split must be int32 or int64");
    if (list) {
        if (split->ndim != 1) return ST_KERR(err, ST_ERR_INVALID, "split must be a scalar or 1-D");
        n = st_tensor_nelem(split);
        int64_t sum = 0;
        for (size_t i = 0; i < n; i++) {
            int64_t v = st_tensor_get_i64(split, i);
            if (v < 0 || v > len - sum)
                return ST_KERR(err, ST_ERR_INVALID, "split sizes do not add up to %lld",
                               (long long)len);
            sum += v;
        }
        if (sum != len)
            return ST_KERR(err, ST_ERR_INVALID, "split sizes add up to %lld, the axis is %lld",
                           (long long)sum, (long long)len);
    } else {
        if (split) chunk = st_tensor_get_i64(split, 0);
        if (chunk <= 0)
            return ST_KERR(err, ST_ERR_INVALID, "split size must be positive, got %lld",
                           (long long)chunk);
        n = (size_t)((len + chunk - 1) / chunk);
    }
    st_value v;
    if ((rc = seq_alloc(&v, n, x->dtype, err))) return rc;
    int64_t start = 0;
    for (size_t i = 0; i < n; i++) {
        int64_t size = list ? st_tensor_get_i64(split, i) : ST_MIN(chunk, len - start);
        if ((rc = slice_range(&v.seq[i], x, axis, start, size, drop, err))) {
            st_value_clear(&v);
            return rc;
        }
        start += size;
    }
    out_take(k, 0, &v);
    return ST_OK;
}

static st_status prep_split_seq(st_kctx *k, st_error *err) {
    split_seq_state *s = st_calloc(1, sizeof *s);
    if (!s) return st_error_nomem(err);
    s->axis = st_attr_int(k->node, "axis", 0);
    s->keepdims = st_attr_int(k->node, "keepdims", 1) != 0;
    k->state = s;
    k->run = split_seq_run;
    return ST_OK;
}

typedef struct concat_seq_state {
    int64_t axis;
    bool new_axis;
} concat_seq_state;

static st_status concat_seq_run(st_kctx *k, st_error *err) {
    const concat_seq_state *cs = k->state;
    const st_value *s = NULL;
    st_status rc = in_seq(k, 0, &s, err);
    if (rc) return rc;
    if (!s->nseq) return ST_KERR(err, ST_ERR_INVALID, "cannot concatenate an empty sequence");
    const st_tensor *f = &s->seq[0];
    int r = f->ndim, axis;
    if (!cs->new_axis && r < 1) return ST_KERR(err, ST_ERR_INVALID, "cannot concatenate scalars");
    if (r + 1 > ST_MAX_RANK) return ST_KERR(err, ST_ERR_LIMIT, "too many dimensions");
    if ((rc = st_norm_axis(cs->axis, cs->new_axis ? r + 1 : r, &axis, err))) return rc;
    int64_t dims[ST_MAX_RANK];
    int nd = cs->new_axis ? r + 1 : r;
    int64_t total = 0;
    for (size_t i = 0; i < s->nseq; i++) {
        const st_tensor *t = &s->seq[i];
        bool ok = t->dtype == f->dtype && t->ndim == r;
        for (int d = 0; ok && d < r; d++) /* only the concatenation axis may differ */
            ok = (d == axis && !cs->new_axis) || t->dims[d] == f->dims[d];
        if (!ok) {
            char a[96], b[96];
            return ST_KERR(err, ST_ERR_INVALID, "cannot concatenate %s with %s",
                           st_tensor_desc(f, a, sizeof a), st_tensor_desc(t, b, sizeof b));
        }
        total += cs->new_axis ? 1 : t->dims[axis];
    }
    for (int d = 0; d < nd; d++)
        dims[d] = d == axis ? total : f->dims[cs->new_axis && d > axis ? d - 1 : d];
    st_tensor *y = st_out(k, 0, f->dtype, nd, dims, err);
    if (!y) return st_has_out(k, 0) ? err->status : ST_OK;
    size_t outer = prod(dims, 0, axis), row = prod(dims, axis, nd), off = 0;
    for (size_t i = 0; i < s->nseq; i++) {
        const st_tensor *t = &s->seq[i];
        size_t inner = prod(t->dims, axis, t->ndim); /* this element's share of a row */
        for (size_t o = 0; o < outer; o++)
            if ((rc = copy_elems(y, o * row + off, t, o * inner, inner, err))) return rc;
        off += inner;
    }
    return ST_OK;
}

static st_status prep_concat_seq(st_kctx *k, st_error *err) {
    concat_seq_state *s = st_calloc(1, sizeof *s);
    if (!s) return st_error_nomem(err);
    const st_attr *a = st_node_attr(k->node, "axis");
    if (!a) {
        st_free(s);
        return ST_KERR(err, ST_ERR_INVALID, "ConcatFromSequence needs the axis attribute");
    }
    s->axis = a->i;
    s->new_axis = st_attr_int(k->node, "new_axis", 0) != 0;
    k->state = s;
    k->run = concat_seq_run;
    return ST_OK;
}

static st_status prep_simple(st_kctx *k, st_run_fn run) {
    k->run = run;
    return ST_OK;
}
static st_status prep_seq_construct(st_kctx *k, st_error *err) {
    (void)err;
    return prep_simple(k, seq_construct_run);
}
static st_status prep_seq_at(st_kctx *k, st_error *err) {
    (void)err;
    return prep_simple(k, seq_at_run);
}
static st_status prep_seq_insert(st_kctx *k, st_error *err) {
    (void)err;
    return prep_simple(k, seq_insert_run);
}
static st_status prep_seq_erase(st_kctx *k, st_error *err) {
    (void)err;
    return prep_simple(k, seq_erase_run);
}

/* ---- optionals ---------------------------------------------------------------------- */

typedef struct optional_state {
    st_val_kind kind; /* from the type attribute: tensor or sequence */
    st_dtype dtype;
} optional_state;

static st_status optional_run(st_kctx *k, st_error *err) {
    const optional_state *os = k->state;
    const st_value *in = st_in_value(k, 0);
    st_value v;
    memset(&v, 0, sizeof v);
    if (in) {
        st_status rc = value_keep(&v, in, err);
        if (rc) return rc;
    } else {
        v.kind = ST_VAL_NONE;
        v.elem_dtype = os->dtype;
    }
    v.optional = true;
    out_take(k, 0, &v);
    return ST_OK;
}

static st_status prep_optional(st_kctx *k, st_error *err) {
    const st_attr *a = st_node_attr(k->node, "type");
    if (!st_has_in(k, 0) && (!a || a->kind != ST_ATTR_TYPE_PROTO))
        return ST_KERR(err, ST_ERR_INVALID, "Optional without an input needs the type attribute");
    optional_state *s = st_calloc(1, sizeof *s);
    if (!s) return st_error_nomem(err);
    if (a && a->kind == ST_ATTR_TYPE_PROTO) {
        s->kind = a->tp.kind;
        s->dtype = a->tp.dtype;
    }
    k->state = s;
    k->run = optional_run;
    return ST_OK;
}

static st_status opt_has_run(st_kctx *k, st_error *err) {
    const st_value *in = st_in_value(k, 0);
    st_tensor *y = st_out(k, 0, ST_DTYPE_BOOL, 0, NULL, err);
    if (!y) return st_has_out(k, 0) ? err->status : ST_OK;
    *(uint8_t *)y->data = in && in->kind != ST_VAL_NONE;
    return ST_OK;
}

static st_status prep_opt_has(st_kctx *k, st_error *err) {
    (void)err;
    st_out_declare(k, 0, ST_DTYPE_BOOL, 0, NULL);
    k->run = opt_has_run;
    return ST_OK;
}

static st_status opt_get_run(st_kctx *k, st_error *err) {
    const st_value *in = st_in_value(k, 0);
    if (!in || in->kind == ST_VAL_NONE)
        return ST_KERR(err, ST_ERR_INVALID, "OptionalGetElement: the optional is empty");
    st_value v;
    st_status rc = value_keep(&v, in, err);
    if (rc) return rc;
    v.optional = false;
    out_take(k, 0, &v);
    return ST_OK;
}

static st_status prep_opt_get(st_kctx *k, st_error *err) {
    (void)err;
    return prep_simple(k, opt_get_run);
}

/* ---- static inference (st_op_def.infer) ------------------------------------------------
 * Shapes here depend on data or on subgraphs, so prepare cannot describe the outputs; these
 * functions describe them from the inputs' types and the subgraphs' inferred outputs. */

static const st_graph *infer_graph_attr(const st_infer_ctx *c, const char *name) {
    const st_attr *a = st_node_attr(c->node, name);
    return a && a->kind == ST_ATTR_GRAPH ? a->g : NULL;
}

static void itype_unknown(st_itype *t) {
    memset(t, 0, sizeof *t);
    t->rank = -1;
}

static void itype_scalar(st_itype *t, st_dtype dt) {
    itype_unknown(t);
    t->kind = ST_VAL_TENSOR;
    t->dtype = dt;
    t->rank = 0;
}

/* The element of sequence or tensor type t as a tensor type (a tensor stays itself). */
static st_itype itype_elem(const st_itype *t) {
    st_itype e = *t;
    e.optional = false;
    if (e.kind == ST_VAL_SEQUENCE) e.kind = ST_VAL_TENSOR;
    return e;
}

/* Tensor type t with a new axis of extent n inserted at position axis (rank unknown stays). */
static void itype_insert_axis(st_itype *t, int axis, int64_t n) {
    if (t->rank < 0 || t->rank >= ST_MAX_RANK || axis < 0 || axis > t->rank) {
        t->rank = -1;
        return;
    }
    memmove(t->dims + axis + 1, t->dims + axis, sizeof(int64_t) * (size_t)(t->rank - axis));
    t->dims[axis] = n;
    t->rank++;
}

static void itype_drop_axis(st_itype *t, int axis) {
    if (t->rank <= 0 || axis < 0 || axis >= t->rank) {
        t->rank = -1;
        return;
    }
    memmove(t->dims + axis, t->dims + axis + 1, sizeof(int64_t) * (size_t)(t->rank - axis - 1));
    t->rank--;
}

static bool itype_same(const st_itype *a, const st_itype *b) {
    if (a->kind != b->kind || a->optional != b->optional || a->dtype != b->dtype ||
        a->rank != b->rank)
        return false;
    for (int d = 0; d < a->rank; d++)
        if (a->dims[d] != b->dims[d]) return false;
    return true;
}

/* A type attribute (Optional's `type`) as an engine type: fixed extents kept, others fresh. */
static void itype_from_attr(st_infer_ctx *c, const st_type *ty, st_itype *t) {
    itype_unknown(t);
    t->kind = ty->kind;
    t->dtype = ty->dtype;
    if (ty->rank < 0 || ty->rank > ST_MAX_RANK || (ty->rank > 0 && !ty->dims)) return;
    t->rank = ty->rank;
    for (int d = 0; d < ty->rank; d++)
        t->dims[d] = ty->dims[d].value >= 0 ? ty->dims[d].value : st_infer_fresh_dim(c);
}

/* If: both branches are inferred; a constant condition picks one, else they merge. */
static st_status infer_if(st_infer_ctx *c, st_error *err) {
    const st_graph *g[2] = {infer_graph_attr(c, "then_branch"), infer_graph_attr(c, "else_branch")};
    if (!g[0] || !g[1]) return ST_OK;
    st_itype *o[2] = {st_calloc(g[0]->n_outputs + 1, sizeof(st_itype)),
                      st_calloc(g[1]->n_outputs + 1, sizeof(st_itype))};
    st_status rc = ST_OK;
    if (!o[0] || !o[1]) {
        rc = st_error_nomem(err);
        goto done;
    }
    for (int b = 0; b < 2 && !rc; b++) rc = st_infer_subgraph(c, g[b], 0, NULL, o[b], err);
    if (rc) goto done;
    const st_tensor *cond = c->in_const[0];
    int pick = cond && st_tensor_nelem(cond) == 1 && cond->dtype != ST_DTYPE_STRING
                   ? (st_tensor_get_f64(cond, 0) != 0 ? 0 : 1)
                   : -1;
    for (int i = 0; i < c->n_out; i++) {
        if ((size_t)i >= g[0]->n_outputs || (size_t)i >= g[1]->n_outputs) break;
        if (pick >= 0) {
            c->out[i] = o[pick][i];
            continue;
        }
        c->out[i] = o[0][i];
        st_infer_merge(c, &c->out[i], &o[1][i]);
    }
done:
    st_free(o[0]);
    st_free(o[1]);
    return rc;
}

/* Infer a loop body whose first n_fixed inputs are fixed and whose n_carry loop-carried
 * inputs (at ins[n_fixed...]) take the body's own carried outputs (at outs[out_at...]) on
 * the next iteration: re-infer with the merged types until they settle (a few rounds). */
static st_status infer_body_fixpoint(st_infer_ctx *c, const st_graph *body, st_itype *ins,
                                     int n_fixed, int n_carry, st_itype *outs, int out_at,
                                     st_error *err) {
    for (int round = 0; round < 3; round++) {
        st_status rc = st_infer_subgraph(c, body, n_fixed + n_carry, ins, outs, err);
        if (rc) return rc;
        bool settled = true;
        for (int i = 0; i < n_carry; i++) {
            st_itype *in = &ins[n_fixed + i];
            st_itype m = *in;
            st_infer_merge(c, &m, &outs[out_at + i]);
            if (!itype_same(&m, in)) settled = false;
            *in = m;
        }
        if (settled) return ST_OK;
    }
    return ST_OK;
}

/* Loop: the body sees the iteration number, the condition and the carried values; scan
 * outputs stack the body's per-iteration tensors along a new first axis. */
static st_status infer_loop(st_infer_ctx *c, st_error *err) {
    const st_graph *body = infer_graph_attr(c, "body");
    if (!body || c->n_in < 2) return ST_OK;
    int N = c->n_in - 2, K = c->n_out - N;
    if (K < 0 || body->n_inputs != (size_t)N + 2 || body->n_outputs != (size_t)(1 + N + K))
        return ST_OK;
    st_itype *ins = st_calloc((size_t)N + 2, sizeof *ins);
    st_itype *outs = st_calloc(body->n_outputs + 1, sizeof *outs);
    if (!ins || !outs) {
        st_free(ins);
        st_free(outs);
        return st_error_nomem(err);
    }
    itype_scalar(&ins[0], ST_DTYPE_I64);
    itype_scalar(&ins[1], ST_DTYPE_BOOL);
    for (int i = 0; i < N; i++) ins[2 + i] = c->in[2 + i];
    st_status rc = infer_body_fixpoint(c, body, ins, 2, N, outs, 1, err);
    if (!rc) {
        for (int i = 0; i < N; i++) c->out[i] = ins[2 + i];
        /* the trip count: M when no condition input can stop the loop early, else unknown */
        const st_tensor *m = c->in_const[0];
        int64_t trips = m && c->in[1].kind == ST_VAL_NONE && st_tensor_nelem(m) == 1 &&
                                st_dtype_is_int(m->dtype)
                            ? ST_MAX(0, st_tensor_get_i64(m, 0))
                            : st_infer_fresh_dim(c);
        for (int j = 0; j < K; j++) {
            st_itype t = outs[1 + N + j];
            if (t.kind != ST_VAL_TENSOR) continue;
            itype_insert_axis(&t, 0, trips);
            c->out[N + j] = t;
        }
    }
    st_free(ins);
    st_free(outs);
    return rc;
}

/* Scan: the body sees the states and one slice of each scan input; scan outputs stack the
 * body's tensors along scan_output_axes. Scan-8 adds a leading batch axis to everything. */
static st_status infer_scan(st_infer_ctx *c, st_error *err) {
    const st_graph *body = infer_graph_attr(c, "body");
    bool v8 = c->opset < 9;
    int first = v8 ? 1 : 0;
    int64_t M = st_attr_int(c->node, "num_scan_inputs", -1);
    if (!body || M < 1 || M > c->n_in - first) return ST_OK;
    int N = c->n_in - first - (int)M, K = c->n_out - N;
    if (K < 0 || body->n_inputs != (size_t)(N + M) || body->n_outputs != (size_t)(N + K))
        return ST_OK;
    const int64_t *in_axes = NULL, *out_axes = NULL;
    size_t n_ia = v8 ? 0 : st_attr_ints(c->node, "scan_input_axes", &in_axes);
    size_t n_oa = v8 ? 0 : st_attr_ints(c->node, "scan_output_axes", &out_axes);
    st_itype *ins = st_calloc((size_t)(N + M) + 1, sizeof *ins);
    st_itype *outs = st_calloc(body->n_outputs + 1, sizeof *outs);
    st_status rc = ST_OK;
    if (!ins || !outs) {
        rc = st_error_nomem(err);
        goto done;
    }
    int64_t T = -1, B = -1; /* sequence and (Scan-8) batch extents */
    for (int i = 0; i < N; i++) {
        ins[i] = c->in[first + i];
        if (v8 && ins[i].kind == ST_VAL_TENSOR) {
            if (ins[i].rank > 0) B = ins[i].dims[0];
            itype_drop_axis(&ins[i], 0);
        }
    }
    for (int j = 0; j < M; j++) {
        st_itype x = c->in[first + N + j];
        if (x.kind != ST_VAL_TENSOR) goto done;
        int ax = 0;
        if (v8) {
            if (x.rank >= 2) B = x.dims[0], T = x.dims[1];
            itype_drop_axis(&x, 0);
        } else if ((size_t)j < n_ia && x.rank >= 0) {
            int64_t a = in_axes[j] < 0 ? in_axes[j] + x.rank : in_axes[j];
            ax = a >= 0 && a < x.rank ? (int)a : -1;
        }
        if (!v8 && ax >= 0 && x.rank > ax) T = x.dims[ax];
        itype_drop_axis(&x, ax);
        ins[N + j] = x;
    }
    if ((rc = infer_body_fixpoint(c, body, ins, 0, N, outs, 0, err))) goto done;
    if (T < 0) T = st_infer_fresh_dim(c);
    if (v8 && B < 0) B = st_infer_fresh_dim(c);
    for (int i = 0; i < N; i++) {
        c->out[i] = ins[i];
        if (v8 && c->out[i].kind == ST_VAL_TENSOR) itype_insert_axis(&c->out[i], 0, B);
    }
    for (int k = 0; k < K; k++) {
        st_itype t = outs[N + k];
        if (t.kind != ST_VAL_TENSOR) continue;
        if (v8) {
            itype_insert_axis(&t, 0, T);
            itype_insert_axis(&t, 0, B);
        } else {
            int64_t a = (size_t)k < n_oa ? out_axes[k] : 0;
            if (a < 0 && t.rank >= 0) a += t.rank + 1;
            itype_insert_axis(&t, (int)a, T);
        }
        c->out[N + k] = t;
    }
done:
    st_free(ins);
    st_free(outs);
    return rc;
}

/* SequenceMap: the body sees one element of each sequence input (tensors as they are);
 * each output is a sequence of the body's outputs. */
static st_status infer_seqmap(st_infer_ctx *c, st_error *err) {
    const st_graph *body = infer_graph_attr(c, "body");
    if (!body || body->n_inputs != (size_t)c->n_in || body->n_outputs != (size_t)c->n_out)
        return ST_OK;
    st_itype *ins = st_calloc((size_t)c->n_in + 1, sizeof *ins);
    st_itype *outs = st_calloc(body->n_outputs + 1, sizeof *outs);
    st_status rc = ST_OK;
    if (!ins || !outs) {
        rc = st_error_nomem(err);
        goto done;
    }
    for (int i = 0; i < c->n_in; i++) ins[i] = itype_elem(&c->in[i]);
    if ((rc = st_infer_subgraph(c, body, c->n_in, ins, outs, err))) goto done;
    for (int o = 0; o < c->n_out; o++) {
        if (outs[o].kind != ST_VAL_TENSOR) continue;
        c->out[o] = outs[o];
        c->out[o].kind = ST_VAL_SEQUENCE;
    }
done:
    st_free(ins);
    st_free(outs);
    return rc;
}

static st_status infer_seq_empty(st_infer_ctx *c, st_error *err) {
    (void)err;
    int64_t dt = st_attr_int(c->node, "dtype", ST_DTYPE_F32);
    if (!st_dtype_valid((int)dt)) return ST_OK;
    itype_unknown(&c->out[0]);
    c->out[0].kind = ST_VAL_SEQUENCE;
    c->out[0].dtype = (st_dtype)dt;
    return ST_OK;
}

static st_status infer_seq_construct(st_infer_ctx *c, st_error *err) {
    (void)err;
    st_itype e;
    itype_unknown(&e);
    for (int i = 0; i < c->n_in; i++) {
        if (c->in[i].kind != ST_VAL_TENSOR) return ST_OK;
        if (i == 0) e = c->in[0];
        else st_infer_merge(c, &e, &c->in[i]);
    }
    if (e.kind != ST_VAL_TENSOR) return ST_OK;
    c->out[0] = e;
    c->out[0].kind = ST_VAL_SEQUENCE;
    return ST_OK;
}

static st_status infer_seq_at(st_infer_ctx *c, st_error *err) {
    (void)err;
    if (c->in[0].kind == ST_VAL_SEQUENCE) c->out[0] = itype_elem(&c->in[0]);
    return ST_OK;
}

static st_status infer_seq_insert(st_infer_ctx *c, st_error *err) {
    (void)err;
    if (c->in[0].kind != ST_VAL_SEQUENCE || c->n_in < 2) return ST_OK;
    c->out[0] = c->in[0];
    c->out[0].optional = false;
    if (c->in[1].kind != ST_VAL_TENSOR) return ST_OK;
    st_itype e = c->in[1];
    e.kind = ST_VAL_SEQUENCE;
    /* an empty sequence's elements have no shape yet: the merge keeps what both know */
    st_infer_merge(c, &c->out[0], &e);
    return ST_OK;
}

static st_status infer_seq_erase(st_infer_ctx *c, st_error *err) {
    (void)err;
    if (c->in[0].kind == ST_VAL_SEQUENCE) c->out[0] = c->in[0];
    return ST_OK;
}

/* SplitToSequence: pieces of x along axis; the split axis keeps its extent only when
 * pieces are single slices (no split input), and is dropped when keepdims is 0. */
static st_status infer_split_seq(st_infer_ctx *c, st_error *err) {
    (void)err;
    st_itype t = c->in[0];
    if (t.kind != ST_VAL_TENSOR) return ST_OK;
    if (t.rank >= 1) {
        int64_t a = st_attr_int(c->node, "axis", 0);
        if (a < 0) a += t.rank;
        if (a < 0 || a >= t.rank) return ST_OK;
        bool has_split = c->n_in > 1 && c->in[1].kind == ST_VAL_TENSOR;
        if (!has_split && !st_attr_int(c->node, "keepdims", 1)) itype_drop_axis(&t, (int)a);
        else t.dims[a] = has_split ? st_infer_fresh_dim(c) : 1;
    }
    c->out[0] = t;
    c->out[0].kind = ST_VAL_SEQUENCE;
    return ST_OK;
}

/* ConcatFromSequence: the elements joined along axis (an unknown extent) or stacked. */
static st_status infer_concat_seq(st_infer_ctx *c, st_error *err) {
    (void)err;
    if (c->in[0].kind != ST_VAL_SEQUENCE) return ST_OK;
    st_itype t = itype_elem(&c->in[0]);
    bool new_axis = st_attr_int(c->node, "new_axis", 0) != 0;
    int64_t a = st_attr_int(c->node, "axis", 0);
    if (t.rank >= 0) {
        int r = t.rank + (new_axis ? 1 : 0);
        if (a < 0) a += r;
        if (a < 0 || a >= r) return ST_OK;
        if (new_axis) itype_insert_axis(&t, (int)a, st_infer_fresh_dim(c));
        else t.dims[a] = st_infer_fresh_dim(c);
    }
    c->out[0] = t;
    return ST_OK;
}

static st_status infer_optional(st_infer_ctx *c, st_error *err) {
    (void)err;
    const st_attr *a = st_node_attr(c->node, "type");
    if (c->n_in > 0 && (c->in[0].kind != ST_VAL_NONE || c->in[0].optional)) c->out[0] = c->in[0];
    else if (a && a->kind == ST_ATTR_TYPE_PROTO) itype_from_attr(c, &a->tp, &c->out[0]);
    else itype_unknown(&c->out[0]);
    c->out[0].optional = true;
    return ST_OK;
}

static st_status infer_opt_get(st_infer_ctx *c, st_error *err) {
    (void)err;
    if (c->in[0].kind == ST_VAL_NONE) return ST_OK;
    c->out[0] = c->in[0];
    c->out[0].optional = false;
    return ST_OK;
}

/* Rows: ONNX versions up to 17. Later versions of If/Loop/Scan only widen the types, so
 * one kernel serves them; Scan-8's batched form is chosen inside by k->opset. */
static const st_op_def family_rows[] = {
    /* run then_branch or else_branch; also 11 (branches may differ in output shape), 13 (sequence
     * outputs), 16 (optional outputs) */
    ST_OP("", "If", 1, prep_if, .infer = infer_if),
    /* for/while loop with scan outputs; also 11 (cond and M may be omitted), 13 (sequence
     * loop-carried values), 16 (optional loop-carried values) */
    ST_OP("", "Loop", 1, prep_loop, .infer = infer_loop),
    /* batched, sequence_lens, directions; also 9 (unbatched; axes, directions per input/output),
     * 11 (negative axes), 16 (bfloat16) */
    ST_OP("", "Scan", 8, prep_scan, .infer = infer_scan),
    /* tensors -> sequence */
    ST_OP("", "SequenceConstruct", 11, prep_seq_construct, .infer = infer_seq_construct),
    /* empty sequence of dtype */
    ST_OP("", "SequenceEmpty", 11, prep_seq_empty, .infer = infer_seq_empty),
    /* element at (negative) position */
    ST_OP("", "SequenceAt", 11, prep_seq_at, .infer = infer_seq_at),
    /* insert at position (default end) */
    ST_OP("", "SequenceInsert", 11, prep_seq_insert, .infer = infer_seq_insert),
    /* remove at position (default last) */
    ST_OP("", "SequenceErase", 11, prep_seq_erase, .infer = infer_seq_erase),
    ST_OP("", "SequenceLength", 11, prep_seq_length), /* element count as int64 scalar */
    /* split along axis into a sequence */
    ST_OP("", "SplitToSequence", 11, prep_split_seq, .infer = infer_split_seq),
    /* concatenate or stack elements */
    ST_OP("", "ConcatFromSequence", 11, prep_concat_seq, .infer = infer_concat_seq),
    /* run body per element */
    ST_OP("", "SequenceMap", 17, prep_seqmap, .infer = infer_seqmap),
    /* wrap a value, or an empty optional of type */
    ST_OP("", "Optional", 15, prep_optional, .infer = infer_optional),
    ST_OP("", "OptionalHasElement", 15, prep_opt_has), /* is the optional non-empty */
    /* unwrap (a plain value passes through) */
    ST_OP("", "OptionalGetElement", 15, prep_opt_get, .infer = infer_opt_get),
};
const st_op_family st_ops_control = {"control", family_rows, ST_ARRAY_LEN(family_rows)};
