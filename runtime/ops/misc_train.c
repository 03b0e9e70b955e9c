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
