/* runtime/ops/misc_ml.c: the ai.onnx.ml kernels of the misc family: LabelEncoder (opset 4
 * forms: list or tensor keys/values), Binarizer, ArrayFeatureExtractor and the unified
 * TreeEnsemble (opset 5). Kernels keep no pointers to inputs between runs; state holds
 * only copies of attributes (or model-owned attribute data, which outlives the session). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "misc_impl.h"

/* ---- LabelEncoder ----------------------------------------------------------------- */
enum { KEY_STR, KEY_INT, KEY_FLT };

typedef struct le_key {
    int64_t i;
    double f;
    size_t idx;
} le_key;

typedef struct le_state {
    int kind;
    st_strmap smap; /* KEY_STR: key (borrowed, model-owned) -> value index */
    le_key *keys;   /* KEY_INT / KEY_FLT: sorted */
    size_t nkeys;
    int64_t nan_idx; /* KEY_FLT: value index of a NaN key, or -1 */
    st_tensor vals;  /* values, output dtype */
    st_tensor def;   /* one element, output dtype */
    st_tensor kt;    /* the keys (smap borrows its strings) */
} le_state;

static void le_free(void *p) {
    le_state *s = p;
    if (!s) return;
    st_strmap_free(&s->smap);
    st_free(s->keys);
    st_tensor_clear(&s->vals);
    st_tensor_clear(&s->def);
    st_tensor_clear(&s->kt);
    st_free(s);
}

static int key_kind(st_dtype t) {
    if (t == ST_DTYPE_STRING) return KEY_STR;
    if (st_dtype_is_float(t)) return KEY_FLT;
    return KEY_INT;
}

static int le_cmp(const void *a, const void *b) {
    const le_key *x = a, *y = b;
    if (x->i != y->i) return x->i < y->i ? -1 : 1;
    if (x->f != y->f) return x->f < y->f ? -1 : 1;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* Value index of element i of x, or -1. */
static int64_t le_find(const le_state *s, const st_tensor *x, size_t i) {
    if (s->kind == KEY_STR) {
        const st_str *v = &((const st_str *)x->data)[i];
        intptr_t r;
        return st_strmap_get(&s->smap, v->data ? v->data : "", &r) ? (int64_t)r : -1;
    }
    le_key q = {0, 0, 0};
    if (s->kind == KEY_INT) {
        q.i = st_tensor_get_i64(x, i);
    } else {
        q.f = st_tensor_get_f64(x, i);
        if (isnan(q.f)) return s->nan_idx;
    }
    size_t lo = 0, hi = s->nkeys;
    while (lo < hi) { /* first key >= q (ignoring idx) */
        size_t mid = (lo + hi) / 2;
        const le_key *m = &s->keys[mid];
        if (m->i < q.i || (m->i == q.i && m->f < q.f)) lo = mid + 1;
        else hi = mid;
    }
    if (lo < s->nkeys && s->keys[lo].i == q.i && s->keys[lo].f == q.f)
        return (int64_t)s->keys[lo].idx;
    return -1;
}

static void le_copy(st_tensor *y, size_t o, const st_tensor *src, size_t i, st_status *st,
                    st_error *err) {
    if (y->dtype == ST_DTYPE_STRING) {
        const st_str *v = &((const st_str *)src->data)[i];
        if (*st == ST_OK) *st = st_tensor_set_string(y, o, v->data ? v->data : "", v->len, err);
        return;
    }
    size_t es = st_dtype_size(y->dtype);
    memcpy((char *)y->data + o * es, (const char *)src->data + i * es, es);
}

static st_status run_label_encoder(st_kctx *k, st_error *err) {
    const le_state *s = k->state;
    const st_tensor *x = st_in(k, 0);
    st_tensor *y = st_out(k, 0, s->vals.dtype, x->ndim, x->dims, err);
    if (!y) return st_has_out(k, 0) ? ST_ERR_NOMEM : ST_OK;
    size_t n = st_tensor_nelem(x);
    st_status st = ST_OK;
    for (size_t i = 0; i < n && st == ST_OK; i++) {
        int64_t j = le_find(s, x, i);
        if (j >= 0) le_copy(y, i, &s->vals, (size_t)j, &st, err);
        else le_copy(y, i, &s->def, 0, &st, err);
    }
    return st;
}

/* A tensor of dtype dt from an attribute list (ints / floats / strings). */
static st_status list_tensor(st_tensor *t, const st_attr *a, st_dtype dt, st_error *err) {
    int64_t n = (int64_t)a->n;
    st_status st = st_tensor_alloc(t, dt, 1, &n, err);
    for (size_t i = 0; i < a->n && st == ST_OK; i++) {
        if (dt == ST_DTYPE_STRING)
            st = st_tensor_set_string(t, i, a->strings[i].data, a->strings[i].len, err);
        else if (dt == ST_DTYPE_I64) ((int64_t *)t->data)[i] = a->ints[i];
        else ((float *)t->data)[i] = (float)a->floats[i];
    }
    return st;
}

/* The keys or values attribute set (prefix "keys" or "values") as a tensor. */
static st_status le_attr_tensor(const st_node *nd, const char *prefix, st_tensor *t,
                                st_error *err) {
    static const char *sfx[] = {"_strings", "_int64s", "_floats", "_tensor"};
    static const st_dtype dts[] = {ST_DTYPE_STRING, ST_DTYPE_I64, ST_DTYPE_F32};
    int found = 0;
    for (int i = 0; i < 4; i++) {
        char name[32];
        snprintf(name, sizeof name, "%s%s", prefix, sfx[i]);
        const st_attr *a = st_node_attr(nd, name);
        if (!a) continue;
        if (found++)
            return ST_KERR(err, ST_ERR_INVALID, "LabelEncoder: more than one %s_*", prefix);
        if (i == 3) st_tensor_share(t, &a->t);
        else if (list_tensor(t, a, dts[i], err)) return ST_ERR_NOMEM;
    }
    if (!found) return ST_KERR(err, ST_ERR_INVALID, "LabelEncoder: no %s_* attribute", prefix);
    return ST_OK;
}

static st_status le_default(const st_node *nd, st_dtype dt, st_tensor *d, st_error *err) {
    const st_attr *a = st_node_attr(nd, "default_tensor");
    if (a) {
        if (st_tensor_nelem(&a->t) != 1 || a->t.dtype != dt)
            return ST_KERR(err, ST_ERR_INVALID,
                           "LabelEncoder: default_tensor must be one value of the values' type");
        st_tensor_share(d, &a->t);
        return ST_OK;
    }
    int64_t one = 1;
    st_status st = st_tensor_alloc(d, dt, 1, &one, err);
    if (st) return st;
    if (dt == ST_DTYPE_STRING) {
        const char *s = st_attr_string(nd, "default_string", "_Unused");
        return st_tensor_set_string(d, 0, s, strlen(s), err);
    }
    if (st_dtype_is_float(dt)) st_tensor_set_f64(d, 0, st_attr_float(nd, "default_float", -0.0));
    else st_tensor_set_f64(d, 0, (double)st_attr_int(nd, "default_int64", -1));
    return ST_OK;
}

#define LE_FAIL(...)                                                     \
    do {                                                                 \
        st = ST_KERR(err, ST_ERR_INVALID, "LabelEncoder: " __VA_ARGS__); \
        goto fail;                                                       \
    } while (0)

st_status st_misc_prep_label_encoder(st_kctx *k, st_error *err) {
    const st_tensor *x = st_in(k, 0);
    if (!x) return ST_KERR(err, ST_ERR_INVALID, "LabelEncoder: input X must be a tensor");
    le_state *s = st_calloc(1, sizeof *s);
    if (!s) return st_error_nomem(err);
    st_tensor keys = {0};
    st_status st = le_attr_tensor(k->node, "keys", &keys, err);
    if (st) goto fail;
    if ((st = le_attr_tensor(k->node, "values", &s->vals, err))) goto fail;
    if (st_tensor_nelem(&keys) != st_tensor_nelem(&s->vals))
        LE_FAIL("%zu keys but %zu values", st_tensor_nelem(&keys), st_tensor_nelem(&s->vals));
    s->kind = key_kind(keys.dtype);
    if (s->kind != key_kind(x->dtype)) LE_FAIL("keys and input X have different types");
    if ((st = le_default(k->node, s->vals.dtype, &s->def, err))) goto fail;
    s->nkeys = st_tensor_nelem(&keys);
    s->nan_idx = -1;
    st_strmap_init_borrow(&s->smap);
    if (s->kind != KEY_STR && !(s->keys = st_calloc(s->nkeys + 1, sizeof *s->keys))) {
        st = st_error_nomem(err);
        goto fail;
    }
    size_t nk = 0;
    for (size_t i = 0; i < s->nkeys; i++) {
        if (s->kind == KEY_STR) {
            const st_str *v = &((const st_str *)keys.data)[i];
            if (st_strmap_add(&s->smap, v->data ? v->data : "", (intptr_t)i) < 0) {
                st = st_error_nomem(err);
                goto fail;
            }
        } else if (s->kind == KEY_INT) {
            s->keys[nk++] = (le_key){st_tensor_get_i64(&keys, i), 0, i};
        } else {
            double f = st_tensor_get_f64(&keys, i);
            if (isnan(f)) {
                if (s->nan_idx < 0) s->nan_idx = (int64_t)i;
            } else {
                s->keys[nk++] = (le_key){0, f, i};
            }
        }
    }
    if (s->kind != KEY_STR) {
        qsort(s->keys, nk, sizeof *s->keys, le_cmp);
        s->nkeys = nk;
    }
    s->kt = keys; /* owned by the state from here */
    st_out_declare(k, 0, s->vals.dtype, x->ndim, x->dims);
    k->state = s;
    k->state_free = le_free;
    k->run = run_label_encoder;
    return ST_OK;
fail:
    st_tensor_clear(&keys);
    le_free(s);
    return st;
}

/* ---- Binarizer -------------------------------------------------------------------- */
static st_status run_binarizer(st_kctx *k, st_error *err) {
    const st_tensor *x = st_in(k, 0);
    st_tensor *y = st_out(k, 0, x->dtype, x->ndim, x->dims, err);
    if (!y) return st_has_out(k, 0) ? ST_ERR_NOMEM : ST_OK;
    double th = *(const double *)k->state;
    size_t n = st_tensor_nelem(x);
    for (size_t i = 0; i < n; i++) st_tensor_set_f64(y, i, st_tensor_get_f64(x, i) > th ? 1 : 0);
    return ST_OK;
}

st_status st_misc_prep_binarizer(st_kctx *k, st_error *err) {
    const st_tensor *x = st_in(k, 0);
    if (!x ||
        !(st_dtype_is_float(x->dtype) || x->dtype == ST_DTYPE_I32 || x->dtype == ST_DTYPE_I64))
        return ST_KERR(err, ST_ERR_INVALID, "Binarizer: X must be a float or integer tensor");
    double *th = st_malloc(sizeof *th);
    if (!th) return st_error_nomem(err);
    *th = st_attr_float(k->node, "threshold", 0.0);
    st_out_declare(k, 0, x->dtype, x->ndim, x->dims);
    k->state = th;
    k->run = run_binarizer;
    return ST_OK;
}

/* ---- ArrayFeatureExtractor -------------------------------------------------------- */
/* Y = X[..., indices]: shape X.shape[:-1] + [n]; a 1-D X gives [1, n]. */
static void afe_shape(const st_tensor *x, int64_t n, int *ndim, int64_t *dims) {
    if (x->ndim <= 1) {
        *ndim = 2;
        dims[0] = 1;
    } else {
        *ndim = x->ndim;
        memcpy(dims, x->dims, sizeof(int64_t) * (size_t)(x->ndim - 1));
    }
    dims[*ndim - 1] = n;
}

static st_status run_afe(st_kctx *k, st_error *err) {
    const st_tensor *x = st_in(k, 0), *ix = st_in(k, 1);
    int64_t n = (int64_t)st_tensor_nelem(ix), dims[ST_MAX_RANK];
    int64_t last = x->ndim ? x->dims[x->ndim - 1] : 1;
    for (int64_t j = 0; j < n; j++) {
        int64_t v = ((const int64_t *)ix->data)[j];
        if (v < 0 || v >= last)
            return ST_KERR(err, ST_ERR_INVALID,
                           "ArrayFeatureExtractor: index %lld out of range [0, %lld)", (long long)v,
                           (long long)last);
    }
    int ndim;
    afe_shape(x, n, &ndim, dims);
    st_tensor *y = st_out(k, 0, x->dtype, ndim, dims, err);
    if (!y) return st_has_out(k, 0) ? ST_ERR_NOMEM : ST_OK;
    size_t rows = last ? st_tensor_nelem(x) / (size_t)last : 0;
    st_status st = ST_OK;
    for (size_t r = 0; r < rows; r++)
        for (int64_t j = 0; j < n; j++) {
            size_t src = r * (size_t)last + (size_t)((const int64_t *)ix->data)[j];
            le_copy(y, r * (size_t)n + (size_t)j, x, src, &st, err);
        }
    return st;
}

st_status st_misc_prep_afe(st_kctx *k, st_error *err) {
    const st_tensor *x = st_in(k, 0), *ix = st_in(k, 1);
    if (!x || !ix || ix->dtype != ST_DTYPE_I64)
        return ST_KERR(err, ST_ERR_INVALID,
                       "ArrayFeatureExtractor: needs a tensor X and int64 indices Y");
    int64_t dims[ST_MAX_RANK];
    int ndim;
    afe_shape(x, (int64_t)st_tensor_nelem(ix), &ndim, dims);
    st_out_declare(k, 0, x->dtype, ndim, dims);
    k->run = run_afe;
    return ST_OK;
}

/* ---- TreeEnsemble ----------------------------------------------------------------- */
enum { M_LEQ, M_LT, M_GTE, M_GT, M_EQ, M_NEQ, M_MEMBER };
enum { AGG_AVG, AGG_SUM, AGG_MIN, AGG_MAX };
enum { PT_NONE, PT_SOFTMAX, PT_SOFTMAX_ZERO, PT_LOGISTIC, PT_PROBIT };

typedef struct te_node {
    int64_t feat, tnext, fnext;
    double split;
    uint8_t mode, tleaf, fleaf, nan_true;
    size_t set_off, set_n; /* MEMBER: range in te_state.sets */
} te_node;

typedef struct te_state {
    size_t n_nodes, n_leaves, n_trees;
    te_node *nodes;
    int64_t *roots, *leaf_target;
    double *leaf_w, *sets;
    int64_t n_targets;
    int agg, post;
} te_state;

static void te_free(void *p) {
    te_state *s = p;
    if (!s) return;
    st_free(s->nodes);
    st_free(s->roots);
    st_free(s->leaf_target);
    st_free(s->leaf_w);
    st_free(s->sets);
    st_free(s);
}

static bool te_true(const te_state *s, const te_node *nd, double x) {
    if (isnan(x) && nd->nan_true) return true;
    switch (nd->mode) {
    case M_LEQ: return x <= nd->split;
    case M_LT: return x < nd->split;
    case M_GTE: return x >= nd->split;
    case M_GT: return x > nd->split;
    case M_EQ: return x == nd->split;
    case M_NEQ: return x != nd->split;
    default:
        for (size_t i = 0; i < nd->set_n; i++)
            if (s->sets[nd->set_off + i] == x) return true;
        return false;
    }
}

/* The leaf one tree reaches for row x, or -1 on a cycle. */
static int64_t te_walk(const te_state *s, const st_tensor *x, size_t row, int64_t nfeat,
                       int64_t node) {
    for (size_t steps = 0; steps <= s->n_nodes; steps++) {
        const te_node *nd = &s->nodes[node];
        bool t = te_true(s, nd, st_tensor_get_f64(x, row * (size_t)nfeat + (size_t)nd->feat));
        if (t ? nd->tleaf : nd->fleaf) return t ? nd->tnext : nd->fnext;
        node = t ? nd->tnext : nd->fnext;
    }
    return -1;
}

static double erfinv(double y) {
    if (y <= -1) return -INFINITY;
    if (y >= 1) return INFINITY;
    double w = -log((1 - y) * (1 + y)), x; /* Giles' initial guess, then Newton */
    x = y *
        (w < 5 ? 1.50140941 + 0.246640727 * (w - 2.5) : 2.83297682 + 1.00167406 * (sqrt(w) - 3));
    for (int i = 0; i < 4; i++) x -= (erf(x) - y) / (2 / sqrt(M_PI) * exp(-x * x));
    return x;
}

static void te_post(const te_state *s, double *r) {
    int64_t n = s->n_targets;
    if (s->post == PT_SOFTMAX || s->post == PT_SOFTMAX_ZERO) {
        double mx = -INFINITY, sum = 0;
        for (int64_t j = 0; j < n; j++)
            if (!(s->post == PT_SOFTMAX_ZERO && r[j] == 0) && r[j] > mx) mx = r[j];
        for (int64_t j = 0; j < n; j++) {
            if (s->post == PT_SOFTMAX_ZERO && r[j] == 0) continue;
            r[j] = exp(r[j] - mx);
            sum += r[j];
        }
        for (int64_t j = 0; j < n; j++)
            if (sum > 0) r[j] /= sum;
    } else if (s->post == PT_LOGISTIC) {
        for (int64_t j = 0; j < n; j++) r[j] = 1 / (1 + exp(-r[j]));
    } else if (s->post == PT_PROBIT) {
        for (int64_t j = 0; j < n; j++) r[j] = sqrt(2.0) * erfinv(2 * r[j] - 1);
    }
}

static st_status run_tree_ensemble(st_kctx *k, st_error *err) {
    const te_state *s = k->state;
    const st_tensor *x = st_in(k, 0);
    int64_t rows = x->ndim == 2 ? x->dims[0] : 1, nf = x->dims[x->ndim - 1];
    int64_t dims[2] = {rows, s->n_targets};
    st_tensor *y = st_out(k, 0, x->dtype, 2, dims, err);
    if (!y) return st_has_out(k, 0) ? ST_ERR_NOMEM : ST_OK;
    double *r = k->scratch;
    double init = s->agg == AGG_MIN ? INFINITY : s->agg == AGG_MAX ? -INFINITY : 0;
    for (int64_t i = 0; i < rows; i++) {
        for (int64_t j = 0; j < s->n_targets; j++) r[j] = init;
        for (size_t t = 0; t < s->n_trees; t++) {
            int64_t leaf = te_walk(s, x, (size_t)i, nf, s->roots[t]);
            if (leaf < 0)
                return ST_KERR(err, ST_ERR_INVALID, "TreeEnsemble: tree %zu has a cycle", t);
            double w = s->leaf_w[leaf], *d = &r[s->leaf_target[leaf]];
            if (s->agg == AGG_MIN) *d = w < *d ? w : *d;
            else if (s->agg == AGG_MAX) *d = w > *d ? w : *d;
            else *d += w;
        }
        for (int64_t j = 0; j < s->n_targets; j++) {
            if (s->agg == AGG_AVG) r[j] /= (double)s->n_trees;
            if (isinf(r[j]) && (s->agg == AGG_MIN || s->agg == AGG_MAX)) r[j] = 0;
        }
        te_post(s, r);
        for (int64_t j = 0; j < s->n_targets; j++)
            st_tensor_set_f64(y, (size_t)(i * s->n_targets + j), r[j]);
    }
    return ST_OK;
}

#define TE_FAIL(...)                                                     \
    do {                                                                 \
        st = ST_KERR(err, ST_ERR_INVALID, "TreeEnsemble: " __VA_ARGS__); \
        goto fail;                                                       \
    } while (0)

static const st_tensor *attr_tensor(const st_node *nd, const char *name) {
    const st_attr *a = st_node_attr(nd, name);
    return a && a->kind == ST_ATTR_TENSOR ? &a->t : NULL;
}

/* Fill the node array; the per-node lists have n entries (checked by the caller). */
static st_status te_nodes(st_kctx *k, te_state *s, int64_t nfeat, st_error *err) {
    const st_node *nd = k->node;
    const int64_t *feat, *tn, *fn, *tl, *fl, *mv = NULL;
    st_attr_ints(nd, "nodes_featureids", &feat);
    st_attr_ints(nd, "nodes_truenodeids", &tn);
    st_attr_ints(nd, "nodes_falsenodeids", &fn);
    st_attr_ints(nd, "nodes_trueleafs", &tl);
    st_attr_ints(nd, "nodes_falseleafs", &fl);
    size_t nmv = st_attr_ints(nd, "nodes_missing_value_tracks_true", &mv);
    const st_tensor *modes = attr_tensor(nd, "nodes_modes"),
                    *splits = attr_tensor(nd, "nodes_splits");
    const st_tensor *mem = attr_tensor(nd, "membership_values");
    size_t n = s->n_nodes, moff = 0, mlen = mem ? st_tensor_nelem(mem) : 0;
    st_status st = ST_OK;
    if (!modes || !splits || st_tensor_nelem(modes) != n || st_tensor_nelem(splits) != n)
        TE_FAIL("nodes_modes and nodes_splits need one entry per node");
    if (nmv && nmv != n) TE_FAIL("nodes_missing_value_tracks_true needs one entry per node");
    if (mlen && !(s->sets = st_malloc(mlen * sizeof(double)))) return st_error_nomem(err);
    for (size_t i = 0; i < mlen; i++) s->sets[i] = st_tensor_get_f64(mem, i);
    for (size_t i = 0; i < n; i++) {
        te_node *t = &s->nodes[i];
        int64_t m = st_tensor_get_i64(modes, i);
        if (m < M_LEQ || m > M_MEMBER) TE_FAIL("node %zu has unknown mode %lld", i, (long long)m);
        t->mode = (uint8_t)m;
        t->feat = feat[i];
        t->tnext = tn[i];
        t->fnext = fn[i];
        t->tleaf = tl[i] != 0;
        t->fleaf = fl[i] != 0;
        t->nan_true = nmv && mv[i];
        t->split = st_tensor_get_f64(splits, i);
        if (t->feat < 0 || (nfeat >= 0 && t->feat >= nfeat))
            TE_FAIL("node %zu reads feature %lld of %lld", i, (long long)t->feat, (long long)nfeat);
        if ((t->tleaf ? (size_t)t->tnext >= s->n_leaves : (size_t)t->tnext >= n) || t->tnext < 0 ||
            (t->fleaf ? (size_t)t->fnext >= s->n_leaves : (size_t)t->fnext >= n) || t->fnext < 0)
            TE_FAIL("node %zu points outside the node or leaf arrays", i);
        if (m == M_MEMBER) { /* the next NaN-terminated set of membership_values */
            t->set_off = moff;
            while (moff < mlen && !isnan(s->sets[moff])) moff++;
            t->set_n = moff - t->set_off;
            if (moff < mlen) moff++;
        }
    }
fail:
    return st;
}

st_status st_misc_prep_tree_ensemble(st_kctx *k, st_error *err) {
    const st_node *nd = k->node;
    const st_tensor *x = st_in(k, 0);
    if (!x || !st_dtype_is_float(x->dtype) || x->ndim < 1 || x->ndim > 2)
        return ST_KERR(err, ST_ERR_INVALID, "TreeEnsemble: X must be a float tensor [N, F]");
    te_state *s = st_calloc(1, sizeof *s);
    if (!s) return st_error_nomem(err);
    st_status st = ST_OK;
    const int64_t *v, *roots, *lt;
    s->n_nodes = st_attr_ints(nd, "nodes_featureids", &v);
    const char *lists[] = {"nodes_truenodeids", "nodes_falsenodeids", "nodes_trueleafs",
                           "nodes_falseleafs"};
    for (int i = 0; i < 4; i++)
        if (st_attr_ints(nd, lists[i], &v) != s->n_nodes)
            TE_FAIL("%s needs one entry per node", lists[i]);
    s->n_trees = st_attr_ints(nd, "tree_roots", &roots);
    s->n_leaves = st_attr_ints(nd, "leaf_targetids", &lt);
    const st_tensor *lw = attr_tensor(nd, "leaf_weights");
    s->n_targets = st_attr_int(nd, "n_targets", -1);
    s->agg = (int)st_attr_int(nd, "aggregate_function", AGG_SUM);
    s->post = (int)st_attr_int(nd, "post_transform", PT_NONE);
    if (!s->n_nodes || !s->n_trees) TE_FAIL("needs nodes and tree_roots");
    if (!lw || st_tensor_nelem(lw) != s->n_leaves) TE_FAIL("leaf_weights needs one entry per leaf");
    if (s->n_targets < 1) TE_FAIL("n_targets must be positive");
    if (s->agg < AGG_AVG || s->agg > AGG_MAX) TE_FAIL("unknown aggregate_function %d", s->agg);
    if (s->post < PT_NONE || s->post > PT_PROBIT) TE_FAIL("unknown post_transform %d", s->post);
    s->nodes = st_calloc(s->n_nodes, sizeof *s->nodes);
    s->roots = st_malloc(s->n_trees * sizeof *s->roots);
    s->leaf_target = st_malloc((s->n_leaves + 1) * sizeof *s->leaf_target);
    s->leaf_w = st_malloc((s->n_leaves + 1) * sizeof *s->leaf_w);
    if (!s->nodes || !s->roots || !s->leaf_target || !s->leaf_w) {
        st = st_error_nomem(err);
        goto fail;
    }
    for (size_t i = 0; i < s->n_trees; i++) {
        if (roots[i] < 0 || (size_t)roots[i] >= s->n_nodes)
            TE_FAIL("tree root %zu out of range", i);
        s->roots[i] = roots[i];
    }
    for (size_t i = 0; i < s->n_leaves; i++) {
        if (lt[i] < 0 || lt[i] >= s->n_targets)
            TE_FAIL("leaf %zu has target %lld", i, (long long)lt[i]);
        s->leaf_target[i] = lt[i];
        s->leaf_w[i] = st_tensor_get_f64(lw, i);
    }
    if ((st = te_nodes(k, s, x->dims[x->ndim - 1], err))) goto fail;
    int64_t dims[2] = {x->ndim == 2 ? x->dims[0] : 1, s->n_targets};
    st_out_declare(k, 0, x->dtype, 2, dims);
    k->scratch_bytes = (size_t)s->n_targets * sizeof(double);
    k->state = s;
    k->state_free = te_free;
    k->run = run_tree_ensemble;
    return ST_OK;
fail:
    te_free(s);
    return st;
}
