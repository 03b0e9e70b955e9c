/* tests/unit/test_ops_reduce.c: the reduce family run through a session on one-node models
 * built in memory. Every Reduce* kind is compared with a plain reference loop on layouts
 * that reach each kernel path (rows, columns, per-run partials, the permuted copy, the
 * threaded single-output split), at 1 and 3 threads; then the edge cases: empty axes,
 * zero-size reductions, NaN, ties in ArgMax/TopK, opset differences, and bad input. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit_util.h"

/* ---- harness ----------------------------------------------------------------------- */

typedef struct tattr {
    const char *name;
    st_attr_kind kind; /* INT, INTS or STRING; UNDEFINED ends the list */
    int64_t i;
    const int64_t *ints;
    size_t n;
    const char *s;
} tattr;
#define A_INT(nm, v) \
    { .name = (nm), .kind = ST_ATTR_INT, .i = (v) }
#define A_INTS(nm, p, c) \
    { .name = (nm), .kind = ST_ATTR_INTS, .ints = (p), .n = (c) }
#define A_STR(nm, v) \
    { .name = (nm), .kind = ST_ATTR_STRING, .s = (v) }

typedef struct tnode {
    const char *op;
    int64_t opset;
    int nin, nout;
    const st_tensor *ins; /* dtype UNDEFINED: omitted */
    const bool *is_const; /* may be NULL */
    const tattr *attrs;   /* may be NULL */
    int threads;
} tnode;

/* Run the node; outs receives nout values the caller clears. */
static st_status run_node(const tnode *t, st_value *outs, st_error *err) {
    ut_one o = ut_one_new(t->op, "", t->opset, t->nin, t->nout);
    o.threads = t->threads ? t->threads : 2;
    o.typed = true;
    st_value vin[8];
    cr_assert_leq(t->nin, 8);
    for (int i = 0; i < t->nin; i++) {
        memset(&vin[i], 0, sizeof vin[i]);
        if (t->ins[i].dtype != ST_DTYPE_UNDEFINED) vin[i] = ut_value_share(&t->ins[i]);
    }
    for (const tattr *a = t->attrs; a && a->name; a++) {
        if (a->kind == ST_ATTR_INT) ut_attr_int(&o, a->name, a->i);
        if (a->kind == ST_ATTR_STRING) ut_attr_str(&o, a->name, a->s);
        if (a->kind == ST_ATTR_INTS) ut_attr_ints(&o, a->name, a->n, a->ints);
    }
    st_value *res = NULL;
    st_status st = ut_one_run(&o, vin, t->is_const, &res, err);
    if (!st) {
        memcpy(outs, res, sizeof *res * (size_t)t->nout);
        memset(res, 0, sizeof *res * (size_t)t->nout);
    }
    ut_one_done(&o, res);
    return st;
}

static uint64_t rng_state = 88172645463325252ull;
static double urand(void) { /* xorshift64: reproducible without libc's rand */
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (double)(rng_state >> 11) / 9007199254740992.0;
}

static st_tensor rand_f32(int ndim, const int64_t *dims, double lo, double hi) {
    st_tensor x = ut_tensor(ST_DTYPE_F32, ndim, dims, NULL);
    float *p = x.data;
    for (size_t i = 0; i < st_tensor_nelem(&x); i++) p[i] = (float)(lo + (hi - lo) * urand());
    return x;
}

static void expect_close(const st_tensor *y, const double *want, size_t n, double rtol,
                         const char *what) {
    cr_assert_eq(st_tensor_nelem(y), n, "%s: %zu elements, want %zu", what, st_tensor_nelem(y), n);
    for (size_t i = 0; i < n; i++) {
        double g = st_tensor_get_f64(y, i), w = want[i];
        if (isnan(w)) {
            cr_assert(isnan(g), "%s[%zu]: got %g, want NaN", what, i, g);
            continue;
        }
        if (isinf(w)) {
            cr_assert_eq(g, w, "%s[%zu]: got %g, want %g", what, i, g, w);
            continue;
        }
        cr_assert(fabs(g - w) <= rtol * fabs(w) + 1e-6, "%s[%zu]: got %.9g, want %.9g", what, i, g,
                  w);
    }
}

/* ---- reference reduction ------------------------------------------------------------ */

enum { K_SUM, K_MEAN, K_SUMSQ, K_L1, K_L2, K_LOGSUM, K_LSE, K_PROD, K_MAX, K_MIN, K_COUNT };
static const char *const kind_op[K_COUNT] = {
    "ReduceSum",    "ReduceMean",      "ReduceSumSquare", "ReduceL1",  "ReduceL2",
    "ReduceLogSum", "ReduceLogSumExp", "ReduceProd",      "ReduceMax", "ReduceMin",
};

/* Reference: want[ny] for x reduced over mask; returns ny. */
static size_t ref_reduce(int kind, const st_tensor *x, uint32_t mask, double *want) {
    size_t N = st_tensor_nelem(x), ny = 1;
    int64_t ostride[ST_MAX_RANK], s = 1;
    for (int d = x->ndim - 1; d >= 0; d--) {
        ostride[d] = (mask >> d) & 1 ? 0 : s;
        if (!((mask >> d) & 1)) s *= x->dims[d];
    }
    ny = (size_t)s;
    double *acc = calloc(ny, sizeof *acc), *mx = calloc(ny, sizeof *mx);
    size_t *cnt = calloc(ny, sizeof *cnt);
    for (size_t o = 0; o < ny; o++) {
        acc[o] = kind == K_PROD ? 1 : kind == K_MAX ? -INFINITY : kind == K_MIN ? INFINITY : 0;
        mx[o] = -INFINITY;
    }
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < N; i++) {
            size_t rem = i, o = 0;
            for (int d = x->ndim - 1; d >= 0; d--) {
                o += (rem % (size_t)x->dims[d]) * (size_t)ostride[d];
                rem /= (size_t)x->dims[d];
            }
            double v = st_tensor_get_f64(x, i);
            if (pass == 0) {
                mx[o] = v > mx[o] ? v : mx[o];
                cnt[o]++;
                continue;
            }
            switch (kind) {
            case K_SUM:
            case K_MEAN:
            case K_LOGSUM: acc[o] += v; break;
            case K_SUMSQ:
            case K_L2: acc[o] += v * v; break;
            case K_L1: acc[o] += fabs(v); break;
            case K_LSE: acc[o] += exp(v - mx[o]); break;
            case K_PROD: acc[o] *= v; break;
            case K_MAX: acc[o] = v > acc[o] ? v : acc[o]; break;
            case K_MIN: acc[o] = v < acc[o] ? v : acc[o]; break;
            }
        }
    }
    for (size_t o = 0; o < ny; o++) {
        double a = acc[o];
        switch (kind) {
        case K_MEAN: a = cnt[o] ? a / (double)cnt[o] : NAN; break;
        case K_L2: a = sqrt(a); break;
        case K_LOGSUM: a = log(a); break;
        case K_LSE: a = cnt[o] ? mx[o] + log(a) : -INFINITY; break;
        }
        want[o] = a;
    }
    free(acc);
    free(mx);
    free(cnt);
    return ny;
}

/* Run kind over axes (attribute, or ReduceSum's input at opset 13) and compare. */
static void check_reduce(int kind, const st_tensor *x, const int64_t *axes, size_t nax,
                         int keepdims, int threads, bool axes_const) {
    uint32_t mask = 0;
    for (size_t i = 0; i < nax; i++) mask |= 1u << (axes[i] < 0 ? axes[i] + x->ndim : axes[i]);
    if (!nax) mask = (uint32_t)((1ull << x->ndim) - 1);
    double *want = malloc(sizeof(double) * (st_tensor_nelem(x) + 1));
    size_t ny = ref_reduce(kind, x, mask, want);
    tattr attrs[3] = {A_INT("keepdims", keepdims)};
    st_tensor ins[2] = {*x, {0}};
    bool cst[2] = {false, axes_const};
    int nin = 1;
    int64_t opset = kind == K_SUM ? 13 : 11;
    if (kind == K_SUM && nax) {
        ins[1] = ut_tensor(ST_DTYPE_I64, 1, (int64_t[]){(int64_t)nax}, axes);
        nin = 2;
    } else if (nax) {
        attrs[1] = (tattr)A_INTS("axes", axes, nax);
    }
    tnode t = {kind_op[kind], opset, nin, 1, ins, cst, attrs, threads};
    st_value y;
    st_error err = {0};
    cr_assert_eq(run_node(&t, &y, &err), ST_OK, "%s: %s", kind_op[kind], err.msg);
    int nd = keepdims ? x->ndim : x->ndim - __builtin_popcount(mask);
    cr_assert_eq(y.tensor.ndim, nd, "%s: rank %d, want %d", kind_op[kind], y.tensor.ndim, nd);
    char what[64];
    snprintf(what, sizeof what, "%s mask %x threads %d", kind_op[kind], mask, threads);
    expect_close(&y.tensor, want, ny, kind == K_PROD ? 1e-3 : 2e-5, what);
    st_value_clear(&y);
    if (nin == 2) st_tensor_clear(&ins[1]);
    free(want);
}

/* Each layout the planner distinguishes. */
Test(reduce, every_kind_every_layout) {
    static const struct {
        int ndim;
        int64_t dims[5];
        int nax;
        int64_t axes[4];
    } cases[] = {
        {2, {37, 300}, 1, {1}},              /* rows */
        {2, {300, 37}, 1, {0}},              /* columns */
        {3, {5, 70, 300}, 1, {-2}},          /* middle run: columns per slice */
        {3, {6, 5, 40}, 2, {0, 2}},          /* scattered, ending in a long run: partials */
        {4, {3, 4, 5, 6}, 2, {0, 2}},        /* scattered, ending kept: permuted copy */
        {5, {2, 3, 4, 5, 32}, 3, {0, 2, 4}}, /* partials over two outer groups */
        {1, {200000}, 0, {0}},               /* one long output: threaded partials */
        {4, {1, 7, 1, 9}, 2, {0, 2}},        /* only size-1 axes reduced */
        {0, {0}, 0, {0}},                    /* scalar */
    };
    for (size_t c = 0; c < ST_ARRAY_LEN(cases); c++) {
        for (int kind = 0; kind < K_COUNT; kind++) {
            st_tensor x = kind == K_PROD ? rand_f32(cases[c].ndim, cases[c].dims, 0.999, 1.001)
                                         : rand_f32(cases[c].ndim, cases[c].dims, 0.1, 2.0);
            for (int th = 1; th <= 3; th += 2)
                check_reduce(kind, &x, cases[c].axes, (size_t)cases[c].nax, (int)(c & 1), th,
                             th == 1);
            st_tensor_clear(&x);
        }
    }
}

Test(reduce, ints_exact_and_mean_truncates) {
    int32_t v[] = {1, -2, 3, 4, 5, -7};
    st_tensor x = ut_tensor(ST_DTYPE_I32, 2, (int64_t[]){2, 3}, v);
    int64_t ax[] = {1};
    st_tensor ins[1] = {x};
    tattr attrs[] = {A_INTS("axes", ax, 1), A_INT("keepdims", 0), {0}};
    const char *ops[] = {"ReduceMean", "ReduceProd", "ReduceL1", "ReduceMax"};
    int32_t want[][2] = {{0, 0}, {-6, -140}, {6, 16}, {3, 5}};
    for (int o = 0; o < 4; o++) {
        tnode t = {ops[o], 13, 1, 1, ins, NULL, attrs, 1};
        st_value y;
        st_error err = {0};
        cr_assert_eq(run_node(&t, &y, &err), ST_OK, "%s", err.msg);
        cr_assert_eq(y.tensor.dtype, ST_DTYPE_I32);
        for (int i = 0; i < 2; i++)
            cr_assert_eq(((int32_t *)y.tensor.data)[i], want[o][i], "%s[%d] = %d", ops[o], i,
                         ((int32_t *)y.tensor.data)[i]);
        st_value_clear(&y);
    }
    st_tensor_clear(&x);
}

Test(reduce, empty_sets_give_identities) {
    st_tensor x = ut_tensor(ST_DTYPE_F32, 2, (int64_t[]){3, 0}, NULL);
    int64_t ax[] = {1};
    st_tensor ins[1] = {x};
    tattr attrs[] = {A_INTS("axes", ax, 1), {0}};
    const char *ops[] = {"ReduceSum", "ReduceProd", "ReduceMax", "ReduceMin", "ReduceLogSumExp"};
    double want[] = {0, 1, -INFINITY, INFINITY, -INFINITY};
    for (int o = 0; o < 5; o++) {
        tnode t = {ops[o], 11, 1, 1, ins, NULL, attrs, 1};
        st_value y;
        st_error err = {0};
        cr_assert_eq(run_node(&t, &y, &err), ST_OK, "%s", err.msg);
        cr_assert_eq(y.tensor.ndim, 2);
        cr_assert_eq(y.tensor.dims[0], 3);
        cr_assert_eq(y.tensor.dims[1], 1);
        double w[3] = {want[o], want[o], want[o]};
        expect_close(&y.tensor, w, 3, 0, ops[o]);
        st_value_clear(&y);
    }
    st_tensor_clear(&x);
}

Test(reduce, sum_axes_input_empty_and_noop) {
    float v[] = {1, 2, 3, 4, 5, 6};
    st_tensor x = ut_tensor(ST_DTYPE_F32, 2, (int64_t[]){2, 3}, v);
    st_tensor e = ut_tensor(ST_DTYPE_I64, 1, (int64_t[]){0}, NULL);
    st_tensor ins[2] = {x, e};
    for (int cst = 0; cst < 2; cst++) {
        bool is_const[2] = {false, cst != 0};
        tattr noop[] = {A_INT("noop_with_empty_axes", 1), {0}};
        tnode t = {"ReduceSum", 13, 2, 1, ins, is_const, noop, 2};
        st_value y;
        st_error err = {0};
        cr_assert_eq(run_node(&t, &y, &err), ST_OK, "%s", err.msg);
        expect_close(&y.tensor, (double[]){1, 2, 3, 4, 5, 6}, 6, 0, "noop");
        cr_assert_eq(y.tensor.ndim, 2);
        st_value_clear(&y);
        t.attrs = NULL;
        cr_assert_eq(run_node(&t, &y, &err), ST_OK, "%s", err.msg);
        expect_close(&y.tensor, (double[]){21}, 1, 0, "all");
        cr_assert_eq(y.tensor.ndim, 2);
        st_value_clear(&y);
    }
    st_tensor_clear(&x);
    st_tensor_clear(&e);
}

Test(reduce, nan_propagates) {
    float v[] = {1, NAN, 3, 4, 5, 6};
    st_tensor x = ut_tensor(ST_DTYPE_F32, 2, (int64_t[]){2, 3}, v);
    int64_t ax[] = {1};
    st_tensor ins[1] = {x};
    tattr attrs[] = {A_INTS("axes", ax, 1), {0}};
    const char *ops[] = {"ReduceMax", "ReduceMin", "ReduceSum", "ReduceLogSumExp"};
    for (int o = 0; o < 4; o++) {
        tnode t = {ops[o], 11, 1, 1, ins, NULL, attrs, 1};
        st_value y;
        st_error err = {0};
        cr_assert_eq(run_node(&t, &y, &err), ST_OK, "%s", err.msg);
        cr_assert(isnan(((float *)y.tensor.data)[0]), "%s", ops[o]);
        cr_assert(!isnan(((float *)y.tensor.data)[1]), "%s", ops[o]);
        st_value_clear(&y);
    }
    st_tensor_clear(&x);
}

Test(reduce, bad_axes_and_types_fail_cleanly) {
    float v[] = {1, 2, 3, 4};
    st_tensor x = ut_tensor(ST_DTYPE_F32, 2, (int64_t[]){2, 2}, v);
    st_tensor ins[1] = {x};
    int64_t dup[] = {1, -1}, far[] = {2};
    tattr a1[] = {A_INTS("axes", dup, 2), {0}};
    tattr a2[] = {A_INTS("axes", far, 1), {0}};
    st_value y;
    st_error err = {0};
    tnode t = {"ReduceMean", 13, 1, 1, ins, NULL, a1, 1};
    cr_assert_eq(run_node(&t, &y, &err), ST_ERR_INVALID);
    cr_assert(strstr(err.msg, "repeated"), "%s", err.msg);
    t.attrs = a2;
    cr_assert_eq(run_node(&t, &y, &err), ST_ERR_INVALID);
    cr_assert(strstr(err.msg, "out of range"), "%s", err.msg);
    st_tensor s = ut_tensor(ST_DTYPE_STRING, 1, (int64_t[]){2}, NULL);
    ins[0] = s;
    t.attrs = NULL;
    cr_assert_neq(run_node(&t, &y, &err), ST_OK);
    st_tensor_clear(&s);
    st_tensor_clear(&x);
}

/* ---- ArgMax / ArgMin ---------------------------------------------------------------- */

Test(reduce, arg_ties_last_index_and_nan) {
    float v[] = {3, 1, 3, 0, 2, 2, 2, 5, NAN, 1, NAN, 0};
    st_tensor x = ut_tensor(ST_DTYPE_F32, 2, (int64_t[]){3, 4}, v);
    st_tensor ins[1] = {x};
    struct {
        const char *op;
        int last;
        int64_t want[3];
    } cases[] = {
        {"ArgMax", 0, {0, 3, 0}},
        {"ArgMax", 1, {2, 3, 2}},
        {"ArgMin", 0, {3, 0, 0}},
        {"ArgMin", 1, {3, 2, 2}},
    };
    for (size_t c = 0; c < ST_ARRAY_LEN(cases); c++) {
        tattr attrs[] = {A_INT("axis", -1),
                         A_INT("keepdims", 0),
                         A_INT("select_last_index", cases[c].last),
                         {0}};
        tnode t = {cases[c].op, 13, 1, 1, ins, NULL, attrs, 1};
        st_value y;
        st_error err = {0};
        cr_assert_eq(run_node(&t, &y, &err), ST_OK, "%s", err.msg);
        cr_assert_eq(y.tensor.dtype, ST_DTYPE_I64);
        cr_assert_eq(y.tensor.ndim, 1);
        for (int i = 0; i < 3; i++)
            cr_assert_eq(((int64_t *)y.tensor.data)[i], cases[c].want[i], "%s last=%d [%d]=%lld",
                         cases[c].op, cases[c].last, i, (long long)((int64_t *)y.tensor.data)[i]);
        st_value_clear(&y);
    }
    st_tensor_clear(&x);
}

Test(reduce, argmax_columns_match_rows) {
    int64_t dims[] = {700, 300};
    st_tensor x = rand_f32(2, dims, -1, 1);
    st_tensor ins[1] = {x};
    tattr attrs[] = {A_INT("axis", 0), {0}};
    tnode t = {"ArgMin", 13, 1, 1, ins, NULL, attrs, 3};
    st_value y;
    st_error err = {0};
    cr_assert_eq(run_node(&t, &y, &err), ST_OK, "%s", err.msg);
    const float *p = x.data;
    for (int c = 0; c < 300; c++) {
        int64_t best = 0;
        for (int r = 1; r < 700; r++)
            if (p[r * 300 + c] < p[best * 300 + c]) best = r;
        cr_assert_eq(((int64_t *)y.tensor.data)[c], best);
    }
    st_value_clear(&y);
    st_tensor_clear(&x);
}

/* ---- Softmax family ----------------------------------------------------------------- */

static void ref_softmax(const float *x, double *y, size_t O, size_t R, size_t K, int log_) {
    for (size_t o = 0; o < O; o++)
        for (size_t k = 0; k < K; k++) {
            double m = -INFINITY, s = 0;
            for (size_t r = 0; r < R; r++) m = fmax(m, x[(o * R + r) * K + k]);
            for (size_t r = 0; r < R; r++) s += exp(x[(o * R + r) * K + k] - m);
            for (size_t r = 0; r < R; r++) {
                double v = x[(o * R + r) * K + k] - m;
                y[(o * R + r) * K + k] = log_ ? v - log(s) : exp(v) / s;
            }
        }
}

Test(reduce, softmax_paths_match_reference) {
    static const struct {
        int ndim;
        int64_t dims[3];
        int axis;
        int64_t opset;
        size_t O, R, K;
    } cases[] = {
        {2, {5, 1}, -1, 13, 5, 1, 1},       {2, {3, 7}, -1, 13, 3, 7, 1},
        {2, {3, 9}, 1, 13, 3, 9, 1},        {2, {64, 1000}, -1, 13, 64, 1000, 1},
        {3, {4, 50, 77}, 1, 13, 4, 50, 77}, {3, {2, 3, 40}, 0, 13, 1, 2, 120},
        {3, {4, 5, 6}, 1, 11, 4, 30, 1}, /* opset 11: flattened at the axis */
    };
    for (size_t c = 0; c < ST_ARRAY_LEN(cases); c++) {
        st_tensor x = rand_f32(cases[c].ndim, cases[c].dims, -30, 30);
        size_t n = st_tensor_nelem(&x);
        double *want = malloc(n * sizeof *want);
        for (int lg = 0; lg < 2; lg++) {
            ref_softmax(x.data, want, cases[c].O, cases[c].R, cases[c].K, lg);
            st_tensor ins[1] = {x};
            tattr attrs[] = {A_INT("axis", cases[c].axis), {0}};
            tnode t = {lg ? "LogSoftmax" : "Softmax", cases[c].opset, 1, 1, ins, NULL, attrs, 2};
            st_value y;
            st_error err = {0};
            cr_assert_eq(run_node(&t, &y, &err), ST_OK, "%s", err.msg);
            char what[48];
            snprintf(what, sizeof what, "%s case %zu", t.op, c);
            expect_close(&y.tensor, want, n, 1e-5, what);
            st_value_clear(&y);
        }
        free(want);
        st_tensor_clear(&x);
    }
}

Test(reduce, softmax_half_types) {
    int64_t dims[] = {37, 100};
    size_t n = 3700;
    float *xf = malloc(n * sizeof *xf);
    double *want = malloc(n * sizeof *want);
    for (int bf = 0; bf < 2; bf++) {
        st_tensor x = ut_tensor(bf ? ST_DTYPE_BF16 : ST_DTYPE_F16, 2, dims, NULL);
        uint16_t *p = x.data;
        for (size_t i = 0; i < n; i++) {
            float v = (float)(urand() * 16 - 8);
            p[i] = bf ? st_f32_to_bf16(v) : st_f32_to_f16(v);
            xf[i] = bf ? st_bf16_to_f32(p[i]) : st_f16_to_f32(p[i]);
        }
        for (int lg = 0; lg < 2; lg++) {
            ref_softmax(xf, want, 37, 100, 1, lg);
            st_tensor ins[1] = {x};
            tnode t = {lg ? "LogSoftmax" : "Softmax", 13, 1, 1, ins, NULL, NULL, 3};
            st_value y;
            st_error err = {0};
            cr_assert_eq(run_node(&t, &y, &err), ST_OK, "%s", err.msg);
            cr_assert_eq(y.tensor.dtype, x.dtype);
            expect_close(&y.tensor, want, n, bf ? 1e-2 : 2e-3, bf ? "bfloat16" : "float16");
            st_value_clear(&y);
        }
        st_tensor_clear(&x);
    }
    free(xf);
    free(want);
}

Test(reduce, softmax_masked_rows) {
    float v[10] = {-INFINITY, -INFINITY, 0,         -INFINITY, -INFINITY,
                   -INFINITY, -INFINITY, -INFINITY, -INFINITY, 1000};
    st_tensor x = ut_tensor(ST_DTYPE_F32, 2, (int64_t[]){1, 10}, v);
    st_tensor ins[1] = {x};
    tnode t = {"Softmax", 13, 1, 1, ins, NULL, NULL, 1};
    st_value y;
    st_error err = {0};
    cr_assert_eq(run_node(&t, &y, &err), ST_OK, "%s", err.msg);
    double want[10] = {0};
    want[9] = 1;
    expect_close(&y.tensor, want, 10, 1e-6, "masked");
    st_value_clear(&y);
    st_tensor_clear(&x);
}

Test(reduce, hardmax_first_max_and_coercion) {
    float v[] = {1, 3, 3, 0, 5, 2};
    st_tensor x = ut_tensor(ST_DTYPE_F32, 2, (int64_t[]){2, 3}, v);
    st_tensor ins[1] = {x};
    tattr a0[] = {A_INT("axis", 0), {0}};
    tnode t = {"Hardmax", 13, 1, 1, ins, NULL, NULL, 1};
    st_value y;
    st_error err = {0};
    cr_assert_eq(run_node(&t, &y, &err), ST_OK, "%s", err.msg);
    expect_close(&y.tensor, (double[]){0, 1, 0, 0, 1, 0}, 6, 0, "hardmax -1");
    st_value_clear(&y);
    t.opset = 11;
    t.attrs = a0; /* axis 0 before 13: one row of all six */
    cr_assert_eq(run_node(&t, &y, &err), ST_OK, "%s", err.msg);
    expect_close(&y.tensor, (double[]){0, 0, 0, 0, 1, 0}, 6, 0, "hardmax 2-D");
    st_value_clear(&y);
    st_tensor_clear(&x);
}

/* ---- CumSum, TopK ------------------------------------------------------------------- */

Test(reduce, cumsum_modes) {
    int32_t v[] = {1, 2, 3, 4, 5, 6};
    st_tensor x = ut_tensor(ST_DTYPE_I32, 2, (int64_t[]){2, 3}, v);
    int64_t axv = 1;
    st_tensor ax = ut_tensor(ST_DTYPE_I64, 0, NULL, &axv);
    st_tensor ins[2] = {x, ax};
    struct {
        int ex, rv;
        double want[6];
    } cases[] = {
        {0, 0, {1, 3, 6, 4, 9, 15}},
        {1, 0, {0, 1, 3, 0, 4, 9}},
        {0, 1, {6, 5, 3, 15, 11, 6}},
        {1, 1, {5, 3, 0, 11, 6, 0}},
    };
    for (size_t c = 0; c < ST_ARRAY_LEN(cases); c++) {
        tattr attrs[] = {A_INT("exclusive", cases[c].ex), A_INT("reverse", cases[c].rv), {0}};
        tnode t = {"CumSum", 14, 2, 1, ins, NULL, attrs, 1};
        st_value y;
        st_error err = {0};
        cr_assert_eq(run_node(&t, &y, &err), ST_OK, "%s", err.msg);
        expect_close(&y.tensor, cases[c].want, 6, 0, "cumsum");
        st_value_clear(&y);
    }
    st_tensor_clear(&x);
    st_tensor_clear(&ax);
}

Test(reduce, topk_ties_lower_index_first) {
    float v[] = {2, 5, 5, 1, 5, 2};
    st_tensor x = ut_tensor(ST_DTYPE_F32, 1, (int64_t[]){6}, v);
    int64_t kv = 4;
    st_tensor kt = ut_tensor(ST_DTYPE_I64, 1, (int64_t[]){1}, &kv);
    st_tensor ins[2] = {x, kt};
    for (int largest = 0; largest < 2; largest++)
        for (int cst = 0; cst < 2; cst++) {
            bool is_const[2] = {false, cst != 0};
            tattr attrs[] = {A_INT("largest", largest), {0}};
            tnode t = {"TopK", 11, 2, 2, ins, is_const, attrs, 1};
            st_value y[2];
            st_error err = {0};
            cr_assert_eq(run_node(&t, y, &err), ST_OK, "%s", err.msg);
            int64_t wi[2][4] = {{3, 0, 5, 1}, {1, 2, 4, 0}};
            double wv[2][4] = {{1, 2, 2, 5}, {5, 5, 5, 2}};
            expect_close(&y[0].tensor, wv[largest], 4, 0, "topk values");
            for (int i = 0; i < 4; i++)
                cr_assert_eq(((int64_t *)y[1].tensor.data)[i], wi[largest][i]);
            st_value_clear(&y[0]);
            st_value_clear(&y[1]);
        }
    *(int64_t *)kt.data = 7; /* more than the axis holds */
    bool dyn[2] = {false, false};
    tnode t = {"TopK", 11, 2, 2, ins, dyn, NULL, 1};
    st_value y[2];
    st_error err = {0};
    cr_assert_eq(run_node(&t, y, &err), ST_ERR_INVALID);
    st_tensor_clear(&x);
    st_tensor_clear(&kt);
}

/* ---- losses, Det -------------------------------------------------------------------- */

Test(reduce, nll_weights_ignore_index_and_bad_label) {
    float v[] = {-1, -2, -3, -4, -5, -6}; /* N=2, C=3 */
    float w[] = {1, 2, 3};
    int64_t lab[] = {2, 1};
    st_tensor x = ut_tensor(ST_DTYPE_F32, 2, (int64_t[]){2, 3}, v);
    st_tensor wt = ut_tensor(ST_DTYPE_F32, 1, (int64_t[]){3}, w);
    st_tensor lt = ut_tensor(ST_DTYPE_I64, 1, (int64_t[]){2}, lab);
    st_tensor ins[3] = {x, lt, wt};
    tattr mean[] = {{0}};
    tnode t = {"NegativeLogLikelihoodLoss", 13, 3, 1, ins, NULL, mean, 1};
    st_value y;
    st_error err = {0};
    cr_assert_eq(run_node(&t, &y, &err), ST_OK, "%s", err.msg);
    expect_close(&y.tensor, (double[]){(3 * 3 + 5 * 2) / 5.0}, 1, 1e-6, "mean");
    cr_assert_eq(y.tensor.ndim, 0);
    st_value_clear(&y);
    tattr ii[] = {A_INT("ignore_index", 1), A_STR("reduction", "none"), {0}};
    t.attrs = ii;
    cr_assert_eq(run_node(&t, &y, &err), ST_OK, "%s", err.msg);
    expect_close(&y.tensor, (double[]){9, 0}, 2, 1e-6, "none");
    st_value_clear(&y);
    ((int64_t *)lt.data)[0] = 3;
    cr_assert_eq(run_node(&t, &y, &err), ST_ERR_INVALID);
    cr_assert(strstr(err.msg, "outside"), "%s", err.msg);
    st_tensor_clear(&x);
    st_tensor_clear(&wt);
    st_tensor_clear(&lt);
}

Test(reduce, sce_log_prob_output) {
    float v[] = {0, 0, 0, 1, 2, 3};
    int32_t lab[] = {0, 2};
    st_tensor x = ut_tensor(ST_DTYPE_F32, 2, (int64_t[]){2, 3}, v);
    st_tensor lt = ut_tensor(ST_DTYPE_I32, 1, (int64_t[]){2}, lab);
    st_tensor ins[2] = {x, lt};
    tattr sum[] = {A_STR("reduction", "sum"), {0}};
    tnode t = {"SoftmaxCrossEntropyLoss", 13, 2, 2, ins, NULL, sum, 1};
    st_value y[2];
    st_error err = {0};
    cr_assert_eq(run_node(&t, y, &err), ST_OK, "%s", err.msg);
    double l2 = log(exp(1) + exp(2) + exp(3));
    expect_close(&y[0].tensor, (double[]){log(3.0) + (l2 - 3)}, 1, 1e-6, "sce");
    expect_close(&y[1].tensor, (double[]){-log(3.0), -log(3.0), -log(3.0), 1 - l2, 2 - l2, 3 - l2},
                 6, 1e-6, "log_prob");
    st_value_clear(&y[0]);
    st_value_clear(&y[1]);
    st_tensor_clear(&x);
    st_tensor_clear(&lt);
}

Test(reduce, det_batched_and_pivoting) {
    double v[] = {0, 1, 1, 0,  /* swap: -1 */
                  2, 0, 0, 3,  /* 6 */
                  1, 2, 2, 4}; /* singular */
    st_tensor x = ut_tensor(ST_DTYPE_F64, 3, (int64_t[]){3, 2, 2}, v);
    st_tensor ins[1] = {x};
    tnode t = {"Det", 11, 1, 1, ins, NULL, NULL, 3};
    st_value y;
    st_error err = {0};
    cr_assert_eq(run_node(&t, &y, &err), ST_OK, "%s", err.msg);
    expect_close(&y.tensor, (double[]){-1, 6, 0}, 3, 1e-12, "det");
    st_value_clear(&y);
    st_tensor_clear(&x);
}

/* ReduceMax/Min-20 take bool: any / all along the axis; an empty set gives false for max
 * and true for min; other kinds and older opsets still refuse bool. */
Test(reduce, bool_max_min_opset20) {
    bool x[6] = {true, false, false, false, false, false};
    st_tensor in[2] = {ut_tensor(ST_DTYPE_BOOL, 2, (int64_t[]){2, 3}, x),
                       ut_tensor(ST_DTYPE_I64, 1, (int64_t[]){1}, (int64_t[]){1})};
    static const char *const ops[2] = {"ReduceMax", "ReduceMin"};
    static const uint8_t want[2][2] = {{1, 0}, {0, 0}};
    for (int m = 0; m < 2; m++) {
        tnode t = {.op = ops[m],
                   .opset = 20,
                   .nin = 2,
                   .nout = 1,
                   .ins = in,
                   .threads = 1,
                   .attrs = (const tattr[]){A_INT("keepdims", 0), {0}}};
        st_value out;
        st_error err = {0};
        cr_assert_eq(run_node(&t, &out, &err), ST_OK, "%s", err.msg);
        cr_assert_eq(out.tensor.dtype, ST_DTYPE_BOOL);
        for (int i = 0; i < 2; i++)
            cr_assert_eq(((uint8_t *)out.tensor.data)[i], want[m][i], "%s %d", ops[m], i);
        st_value_clear(&out);
    }
    st_tensor e[2] = {ut_tensor(ST_DTYPE_BOOL, 2, (int64_t[]){2, 0}, NULL), in[1]};
    for (int m = 0; m < 2; m++) {
        tnode t = {.op = ops[m], .opset = 20, .nin = 2, .nout = 1, .ins = e, .threads = 1};
        st_value out;
        st_error err = {0};
        cr_assert_eq(run_node(&t, &out, &err), ST_OK, "%s", err.msg);
        for (int i = 0; i < 2; i++)
            cr_assert_eq(((uint8_t *)out.tensor.data)[i], m, "empty %s %d", ops[m], i);
        st_value_clear(&out);
    }
    tnode bad[2] = {{.op = "ReduceSum", .opset = 20, .nin = 2, .nout = 1, .ins = in, .threads = 1},
                    {.op = "ReduceMax", .opset = 18, .nin = 2, .nout = 1, .ins = in, .threads = 1}};
    for (int b = 0; b < 2; b++) {
        st_value out;
        st_error err = {0};
        cr_assert_neq(run_node(&bad[b], &out, &err), ST_OK);
        cr_assert(strstr(err.msg, "bool"), "%s", err.msg);
    }
    st_tensor_clear(&in[0]);
    st_tensor_clear(&in[1]);
    st_tensor_clear(&e[0]);
}
