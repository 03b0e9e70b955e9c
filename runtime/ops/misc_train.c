/* runtime/ops/misc_train.c: the optimizer steps of domain ai.onnx.preview.training
 * (Adagrad, Adam, Momentum), each over any number of tensors at once. Inputs are
 * R, T, then the groups X..., G..., [V...], [H...]; outputs the new X..., then the new
 * state tensors, all with their input's shape. Arithmetic is in double, stored back in
 * the tensors' own type (float or double). */
#include <math.h>
#include <string.h>

#include "misc_impl.h"

typedef enum { OPT_ADAGRAD, OPT_ADAM, OPT_MOMENTUM } opt_kind;

typedef struct opt_state {
    opt_kind kind;
    int groups; /* tensors in each group: X, G, V/H... */
    int n;      /* tensors optimized */
    double norm, eps, decay, alpha, beta, norm_post;
    bool nesterov;
} opt_state;

/* One tensor's step with every scalar already folded. */
typedef struct opt_job {
    const opt_state *st;
    st_dtype dt;
    const void *x, *g, *v, *h; /* v: Adam's V or Momentum's V; h: Adagrad's or Adam's H */
    void *xo, *vo, *ho;        /* outputs (NULL when omitted) */
    double r;                  /* learning rate after decay / bias correction */
    double beta_adj;           /* Momentum: beta, or 1 at T == 0 */
} opt_job;

#define OPT_KERNEL(T)                                                                   \
    static void opt_range_##T(void *arg, size_t b, size_t e) {                          \
        const opt_job *j = arg;                                                         \
        const opt_state *st = j->st;                                                    \
        const T *x = j->x, *g = j->g, *v = j->v, *h = j->h;                             \
        T *xo = j->xo, *vo = j->vo, *ho = j->ho;                                        \
        for (size_t i = b; i < e; i++) {                                                \
            double xi = x[i], gr = st->norm * xi + (double)g[i], xn;                    \
            switch (st->kind) {                                                         \
            case OPT_ADAGRAD: {                                                         \
                double hn = (double)h[i] + gr * gr;                                     \
                xn = xi - j->r * gr / (sqrt(hn) + st->eps);                             \
                if (ho) ho[i] = (T)hn;                                                  \
                break;                                                                  \
            }                                                                           \
            case OPT_ADAM: {                                                            \
                double vn = st->alpha * (double)v[i] + (1.0 - st->alpha) * gr;          \
                double hn = st->beta * (double)h[i] + (1.0 - st->beta) * gr * gr;       \
                xn = (1.0 - st->norm_post) * (xi - j->r * vn / (sqrt(hn) + st->eps));   \
                if (vo) vo[i] = (T)vn;                                                  \
                if (ho) ho[i] = (T)hn;                                                  \
                break;                                                                  \
            }                                                                           \
            default: {                                                                  \
                double vn = st->alpha * (double)v[i] + j->beta_adj * gr;                \
                xn = st->nesterov ? xi - j->r * (gr + st->alpha * vn) : xi - j->r * vn; \
                if (vo) vo[i] = (T)vn;                                                  \
                break;                                                                  \
            }                                                                           \
            }                                                                           \
            if (xo) xo[i] = (T)xn;                                                      \
        }                                                                               \
    }
OPT_KERNEL(float)
OPT_KERNEL(double)

static st_status run_optimizer(st_kctx *k, st_error *err) {
    const opt_state *st = k->state;
    const st_tensor *R = st_in(k, 0), *Tt = st_in(k, 1);
    double r = st_tensor_get_f64(R, 0);
    int64_t t = st_tensor_get_i64(Tt, 0);
    opt_job j = {.st = st, .beta_adj = t > 0 ? st->beta : 1.0};
    switch (st->kind) {
    case OPT_ADAGRAD: j.r = r / (1.0 + (double)t * st->decay); break;
    case OPT_ADAM:
        j.r = t > 0 ? r * sqrt(1.0 - pow(st->beta, (double)t)) / (1.0 - pow(st->alpha, (double)t))
                    : r;
        break;
    default: j.r = r; break;
    }
    for (int i = 0; i < st->n; i++) {
        const st_tensor *x = st_in(k, 2 + i), *g = st_in(k, 2 + st->n + i);
        const st_tensor *s1 = st_in(k, 2 + 2 * st->n + i);
        const st_tensor *s2 = st->groups == 4 ? st_in(k, 2 + 3 * st->n + i) : NULL;
        j.dt = x->dtype;
        j.x = x->data;
        j.g = g->data;
        j.v = st->kind == OPT_ADAGRAD ? NULL : s1->data;
        j.h = st->kind == OPT_ADAGRAD ? s1->data : st->kind == OPT_ADAM ? s2->data : NULL;
        st_tensor *o[3] = {NULL, NULL, NULL};
        const st_tensor *like[3] = {x, s1, s2};
        int outs = st->groups - 1;
        for (int q = 0; q < outs; q++) {
            int idx = q * st->n + i;
            if (!st_has_out(k, idx)) continue;
            if (!(o[q] = st_out(k, idx, x->dtype, like[q]->ndim, like[q]->dims, err)))
                return err->status;
        }
        j.xo = o[0] ? o[0]->data : NULL;
        if (st->kind == OPT_ADAGRAD) {
            j.vo = NULL;
            j.ho = o[1] ? o[1]->data : NULL;
        } else {
            j.vo = o[1] ? o[1]->data : NULL;
            j.ho = o[2] ? o[2]->data : NULL;
        }
        size_t n = st_tensor_nelem(x);
        st_parallel_for(k->pool, n, 16384,
                        x->dtype == ST_DTYPE_F64 ? opt_range_double : opt_range_float, &j);
    }
    return ST_OK;
}

static bool same_shape(const st_tensor *a, const st_tensor *b) {
    return a->ndim == b->ndim && !memcmp(a->dims, b->dims, (size_t)a->ndim * sizeof *a->dims);
}

st_status st_misc_prep_optimizer(st_kctx *k, st_error *err) {
    const st_node *nd = k->node;
    const char *op = nd->op_type;
    opt_state st = {0};
    if (!strcmp(op, "Adagrad")) {
        st.kind = OPT_ADAGRAD;
        st.groups = 3;
    } else if (!strcmp(op, "Adam")) {
        st.kind = OPT_ADAM;
        st.groups = 4;
    } else {
        st.kind = OPT_MOMENTUM;
        st.groups = 3;
    }
    if (k->n_in < 2 + st.groups || (k->n_in - 2) % st.groups)
        return ST_KERR(err, ST_ERR_INVALID,
                       "%s: expected R, T and %d tensors per optimized input, got %d inputs", op,
                       st.groups, k->n_in);
    st.n = (k->n_in - 2) / st.groups;
    if (k->n_out > (st.groups - 1) * st.n)
        return ST_KERR(err, ST_ERR_INVALID, "%s: %d outputs for %d optimized tensors", op, k->n_out,
                       st.n);
    const st_tensor *R = st_in(k, 0), *T = st_in(k, 1);
    if (!R || (R->dtype != ST_DTYPE_F32 && R->dtype != ST_DTYPE_F64) || st_tensor_nelem(R) != 1)
        return ST_KERR(err, ST_ERR_INVALID, "%s: R must be a float or double scalar", op);
    if (!T || T->dtype != ST_DTYPE_I64 || st_tensor_nelem(T) != 1)
        return ST_KERR(err, ST_ERR_INVALID, "%s: T must be an int64 scalar", op);
    const st_tensor *x0 = st_in(k, 2);
    for (int q = 0; q < st.groups; q++) {
        for (int i = 0; i < st.n; i++) {
            const st_tensor *t = st_in(k, 2 + q * st.n + i), *x = st_in(k, 2 + i);
            if (!t || (t->dtype != ST_DTYPE_F32 && t->dtype != ST_DTYPE_F64))
                return ST_KERR(err, ST_ERR_INVALID,
                               "%s: input %d must be a float or double "
                               "tensor",
                               op, 2 + q * st.n + i);
            if (t->dtype != x0->dtype)
                return ST_KERR(err, ST_ERR_INVALID, "%s: input %d is %s but X is %s", op,
                               2 + q * st.n + i, st_dtype_name(t->dtype), st_dtype_name(x0->dtype));
            if (!same_shape(t, x))
                return ST_KERR(err, ST_ERR_INVALID,
                               "%s: input %d does not have the shape of the tensor it goes with "
                               "(input %d)",
                               op, 2 + q * st.n + i, 2 + i);
        }
    }
    st.norm = st_attr_float(nd, "norm_coefficient", 0.0);
    switch (st.kind) {
    case OPT_ADAGRAD:
        st.eps = st_attr_float(nd, "epsilon", 1e-6);
        st.decay = st_attr_float(nd, "decay_factor", 0.0);
        break;
    case OPT_ADAM:
        st.eps = st_attr_float(nd, "epsilon", 1e-6);
        st.alpha = st_attr_float(nd, "alpha", 0.9);
        st.beta = st_attr_float(nd, "beta", 0.999);
        st.norm_post = st_attr_float(nd, "norm_coefficient_post", 0.0);
        break;
    case OPT_MOMENTUM: {
        static const char *const req[] = {"alpha", "beta", "mode", "norm_coefficient"};
        for (size_t i = 0; i < ST_ARRAY_LEN(req); i++)
            if (!st_node_attr(nd, req[i]))
                return ST_KERR(err, ST_ERR_INVALID, "Momentum: attribute %s is required", req[i]);
        st.alpha = st_attr_float(nd, "alpha", 0.0);
        st.beta = st_attr_float(nd, "beta", 0.0);
        const char *mode = st_attr_string(nd, "mode", "");
        if (!strcmp(mode, "nesterov")) st.nesterov = true;
        else if (strcmp(mode, "standard"))
            return ST_KERR(err, ST_ERR_INVALID,
                           "Momentum: mode \"%s\" is not \"standard\" or \"nesterov\"", mode);
        break;
    }
    }
    /* outputs: X_new..., then each state group in input order */
    for (int q = 0; q < st.groups - 1; q++) {
        for (int i = 0; i < st.n; i++) {
            int idx = q * st.n + i;
            if (idx >= k->n_out) break;
            const st_tensor *like = st_in(k, 2 + (q ? q + 1 : 0) * st.n + i);
            st_out_declare(k, idx, x0->dtype, like->ndim, like->dims);
        }
    }
    opt_state *p = st_malloc(sizeof *p);
    if (!p) return st_error_nomem(err);
    *p = st;
    k->state = p;
    k->run = run_optimizer;
    return ST_OK;
}

/* ==== Gradient ==============================================================================
 * Gradient(xs..., zs...) -> d y / d xs: the derivative of graph value y with respect to the
 * values named in xs, through the nodes of the enclosing graph that compute y from xs, zs and
 * constants. The kernel replays that slice forward in double and then backward (reverse
 * mode, broadcasting gradients summed onto the smaller shape). Ops on the slice must be
 * ones it can differentiate (below); any other is refused at prepare, naming it. */

typedef enum { GR_ADD, GR_SUB, GR_MUL, GR_DIV, GR_NEG, GR_ID, GR_RELU, GR_OP_COUNT } gr_op;
static const char *const gr_names[] = {"Add", "Sub", "Mul", "Div", "Neg", "Identity", "Relu"};
_Static_assert(ST_ARRAY_LEN(gr_names) == GR_OP_COUNT, "one name per differentiable op");

typedef struct gr_slot { /* one value of the slice */
    int ndim;
    int64_t dims[ST_MAX_RANK];
    size_t n, off;        /* elements; offset (in doubles) of value, then of its gradient */
    int input;            /* >= 0: the node's input it comes from */
    const st_tensor *cst; /* or a constant */
} gr_slot;

typedef struct gr_step {
    gr_op op;
    int a, b, out; /* slots; b < 0 for unary ops */
} gr_step;

typedef struct gr_state {
    gr_slot *slots;
    gr_step *steps;
    int n_slots, n_steps, y, n_xs;
    size_t total; /* doubles of scratch: values and gradients */
} gr_state;

static void gr_free(void *p) {
    gr_state *s = p;
    if (!s) return;
    st_free(s->slots);
    st_free(s->steps);
    st_free(s);
}

static bool gr_name_is(const st_str *s, const char *name) {
    return strlen(name) == s->len && !memcmp(s->data, name, s->len);
}

/* Slot of graph value v: a leaf (named in xs/zs, or a constant) or the output of a step,
 * appended after the steps computing its inputs. -1 with err set when it cannot be. */
static int gr_visit(st_kctx *k, gr_state *s, int *slot_of, int v, int depth, st_error *err) {
    const st_graph *g = k->graph;
    if (slot_of[v] >= 0) return slot_of[v];
    if (depth > 4096) return st_errorf(err, ST_ERR_LIMIT, "Gradient: slice too deep"), -1;
    const st_attr *xs = st_node_attr(k->node, "xs"), *zs = st_node_attr(k->node, "zs");
    int input = -1, nx = xs ? (int)xs->n : 0,
        nz = zs && zs->kind == ST_ATTR_STRINGS ? (int)zs->n : 0;
    for (int i = 0; i < nx + nz && input < 0; i++)
        if (gr_name_is(i < nx ? &xs->strings[i] : &zs->strings[i - nx], g->values[v].name))
            input = i;
    gr_slot sl = {.input = input};
    gr_step st = {.a = -1, .b = -1};
    if (input >= 0) {
        const st_tensor *t = st_in(k, input);
        if (!t) return st_errorf(err, ST_ERR_INVALID, "Gradient: input %d is missing", input), -1;
        sl.ndim = t->ndim;
        memcpy(sl.dims, t->dims, sizeof(int64_t) * (size_t)t->ndim);
    } else if (g->values[v].has_const) {
        sl.cst = &g->values[v].const_val;
        sl.ndim = sl.cst->ndim;
        memcpy(sl.dims, sl.cst->dims, sizeof(int64_t) * (size_t)sl.ndim);
    } else {
        const st_node *p = NULL;
        for (size_t i = 0; i < g->n_nodes && !p; i++)
            for (int o = 0; o < g->nodes[i].n_out; o++)
                if (g->nodes[i].outputs[o] == v) p = &g->nodes[i];
        if (!p)
            return st_errorf(err, ST_ERR_INVALID,
                             "Gradient: \"%s\" is neither produced nor in xs/zs",
                             g->values[v].name),
                   -1;
        int op = 0;
        while (op < GR_OP_COUNT && (strcmp(p->op_type, gr_names[op]) || p->domain[0])) op++;
        if (op == GR_OP_COUNT || p->n_out != 1 || p->n_in < 1 || p->n_in > 2)
            return st_errorf(err, ST_ERR_UNSUPPORTED, "Gradient: cannot differentiate through %s",
                             p->op_type),
                   -1;
        st.op = (gr_op)op;
        if ((st.a = gr_visit(k, s, slot_of, p->inputs[0], depth + 1, err)) < 0) return -1;
        if (p->n_in == 2 && (st.b = gr_visit(k, s, slot_of, p->inputs[1], depth + 1, err)) < 0)
            return -1;
        const gr_slot *a = &s->slots[st.a], *b = st.b >= 0 ? &s->slots[st.b] : NULL;
        st_tensor ta = {.ndim = a->ndim}, tb = {.ndim = b ? b->ndim : 0};
        memcpy(ta.dims, a->dims, sizeof ta.dims);
        if (b) memcpy(tb.dims, b->dims, sizeof tb.dims);
        const st_tensor *ts[2] = {&ta, &tb};
        if (st_broadcast_shape(b ? 2 : 1, ts, &sl.ndim, sl.dims, err)) return -1;
    }
    if (st_shape_nelem(sl.ndim, sl.dims, &sl.n, err)) return -1;
    sl.off = s->total;
    s->total += 2 * sl.n;
    s->slots[s->n_slots] = sl;
    slot_of[v] = s->n_slots++;
    if (st.a >= 0) {
        st.out = slot_of[v];
        s->steps[s->n_steps++] = st;
    }
    return slot_of[v];
}

/* Element offsets of slot x inside the broadcast shape of slot o, for flat index i. */
static size_t gr_index(const gr_slot *x, const gr_slot *o, size_t i) {
    size_t off = 0, stride = 1;
    for (int d = o->ndim - 1, e = x->ndim - 1; d >= 0; d--, e--) {
        size_t c = (size_t)(i % (size_t)o->dims[d]);
        i /= (size_t)o->dims[d];
        if (e >= 0) {
            if (x->dims[e] != 1) off += c * stride;
            stride *= (size_t)x->dims[e];
        }
    }
    return off;
}

static st_status run_gradient(st_kctx *k, st_error *err) {
    gr_state *s = k->state;
    double *m = k->scratch;
    memset(m, 0, s->total * sizeof *m);
    for (int i = 0; i < s->n_slots; i++) { /* leaves */
        const gr_slot *sl = &s->slots[i];
        const st_tensor *t = sl->input >= 0 ? st_in(k, sl->input) : sl->cst;
        for (size_t j = 0; t && j < sl->n; j++) m[sl->off + j] = st_tensor_get_f64(t, j);
    }
    for (int i = 0; i < s->n_steps; i++) { /* forward */
        const gr_step *st = &s->steps[i];
        const gr_slot *o = &s->slots[st->out], *a = &s->slots[st->a];
        const gr_slot *b = st->b >= 0 ? &s->slots[st->b] : NULL;
        for (size_t j = 0; j < o->n; j++) {
            double x = m[a->off + gr_index(a, o, j)], y = b ? m[b->off + gr_index(b, o, j)] : 0, r;
            switch (st->op) {
            case GR_ADD: r = x + y; break;
            case GR_SUB: r = x - y; break;
            case GR_MUL: r = x * y; break;
            case GR_DIV: r = x / y; break;
            case GR_NEG: r = -x; break;
            case GR_RELU: r = x > 0 ? x : 0; break;
            default: r = x; break;
            }
            m[o->off + j] = r;
        }
    }
    const gr_slot *ys = &s->slots[s->y];
    for (size_t j = 0; j < ys->n; j++) m[ys->off + ys->n + j] = 1; /* d y / d y */
    for (int i = s->n_steps - 1; i >= 0; i--) {                    /* backward */
        const gr_step *st = &s->steps[i];
        const gr_slot *o = &s->slots[st->out], *a = &s->slots[st->a];
        const gr_slot *b = st->b >= 0 ? &s->slots[st->b] : NULL;
        for (size_t j = 0; j < o->n; j++) {
            size_t ia = gr_index(a, o, j), ib = b ? gr_index(b, o, j) : 0;
            double g = m[o->off + o->n + j], x = m[a->off + ia], y = b ? m[b->off + ib] : 0;
            double ga = g, gb = 0;
            switch (st->op) {
            case GR_ADD: gb = g; break;
            case GR_SUB: gb = -g; break;
            case GR_MUL: ga = g * y, gb = g * x; break;
            case GR_DIV: ga = g / y, gb = -g * x / (y * y); break;
            case GR_NEG: ga = -g; break;
            case GR_RELU: ga = x > 0 ? g : 0; break;
            default: break;
            }
            m[a->off + a->n + ia] += ga;
            if (b) m[b->off + b->n + ib] += gb;
        }
    }
    for (int i = 0; i < s->n_xs; i++) {
        const st_tensor *x = st_in(k, i);
        st_tensor *out = st_out(k, i, x->dtype, x->ndim, x->dims, err);
        if (!out && st_has_out(k, i)) return err ? err->status : ST_ERR_NOMEM;
        int slot = -1;
        for (int j = 0; j < s->n_slots && slot < 0; j++)
            if (s->slots[j].input == i) slot = j;
        for (size_t j = 0; out && j < st_tensor_nelem(out); j++)
            st_tensor_set_f64(out, j, slot >= 0 ? m[s->slots[slot].off + s->slots[slot].n + j] : 0);
    }
    return ST_OK;
}

st_status st_misc_prep_gradient(st_kctx *k, st_error *err) {
    const st_graph *g = k->graph;
    const st_attr *xs = st_node_attr(k->node, "xs");
    const char *yname = st_attr_string(k->node, "y", NULL);
    if (!xs || xs->kind != ST_ATTR_STRINGS || !yname)
        return st_errorf(err, ST_ERR_INVALID, "Gradient needs the xs and y attributes");
    if ((int)xs->n != k->n_out)
        return st_errorf(err, ST_ERR_INVALID, "Gradient: %zu xs for %d outputs", xs->n, k->n_out);
    for (int i = 0; i < k->n_out; i++) {
        const st_tensor *x = st_in(k, i);
        if (!x || (x->dtype != ST_DTYPE_F32 && x->dtype != ST_DTYPE_F64))
            return st_errorf(err, ST_ERR_UNSUPPORTED,
                             "Gradient: xs must be float or double tensors");
    }
    int yv = st_graph_find(g, yname);
    if (yv < 0)
        return st_errorf(err, ST_ERR_INVALID, "Gradient: the graph has no value \"%s\"", yname);
    gr_state *s = st_calloc(1, sizeof *s);
    int *slot_of = st_malloc((g->n_values + 1) * sizeof *slot_of);
    st_status st = ST_OK;
    if (!s || !slot_of || !(s->slots = st_calloc(g->n_values + 1, sizeof *s->slots)) ||
        !(s->steps = st_calloc(g->n_nodes + 1, sizeof *s->steps))) {
        st = st_error_nomem(err);
        goto fail;
    }
    for (size_t v = 0; v < g->n_values; v++) slot_of[v] = -1;
    s->n_xs = k->n_out;
    if ((s->y = gr_visit(k, s, slot_of, yv, 0, err)) < 0) {
        st = err ? err->status : ST_ERR_UNSUPPORTED;
        goto fail;
    }
    size_t bytes;
    if (!st_mul_ok(s->total, sizeof(double), &bytes)) {
        st = st_errorf(err, ST_ERR_LIMIT, "Gradient: slice too large");
        goto fail;
    }
    k->scratch_bytes = bytes;
    for (int i = 0; i < k->n_out; i++)
        st_out_declare(k, i, st_in(k, i)->dtype, st_in(k, i)->ndim, st_in(k, i)->dims);
    st_free(slot_of);
    k->state = s;
    k->state_free = gr_free;
    k->run = run_gradient;
    return ST_OK;
fail:
    st_free(slot_of);
    gr_free(s);
    return st;
}
