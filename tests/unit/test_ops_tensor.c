/* tests/unit/test_ops_tensor.c: the tensor family (runtime/ops/tensor*.c). The shared
 * element movers are checked against naive index loops on random shapes, strides and
 * element sizes; ops run through a real session on one-node graphs built in memory:
 * Slice against a per-element reference on random starts/ends/steps, Resize's float32
 * fast path against its double path, Unique against a quadratic reference, strings that
 * outlive their inputs, and out-of-range indices that must fail cleanly. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tensor_impl.h"
#include "unit_util.h"

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint32_t rnd(void) {
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(rng_state >> 33);
}
static int64_t rin(int64_t lo, int64_t hi) {
    return lo + (int64_t)(rnd() % (uint32_t)(hi - lo + 1));
}

/* ---- the element movers ---------------------------------------------------------- */

static const size_t esizes[] = {1, 2, 4, 8, 16};

Test(tensor_movers, strided_matches_naive) {
    st_pool *pool = NULL;
    cr_assert_eq(st_pool_new(2, &pool, NULL), ST_OK);
    for (int trial = 0; trial < 400; trial++) {
        int nd = (int)rin(0, 5);
        int64_t dims[8], xdims[8], xs[8], ss[8], ds[8];
        size_t es = esizes[rnd() % 5];
        int perm[8];
        for (int d = 0; d < nd; d++) {
            xdims[d] = rin(1, trial % 7 == 0 ? 70 : 6);
            perm[d] = d;
        }
        for (int d = nd - 1; d > 0; d--) { /* random permutation */
            int e = (int)rin(0, d), t = perm[d];
            perm[d] = perm[e];
            perm[e] = t;
        }
        st_contig_strides(nd, xdims, xs);
        size_t nx = 1, ny = 1;
        for (int d = 0; d < nd; d++) nx *= (size_t)xdims[d];
        int64_t base = 0;
        for (int d = 0; d < nd; d++) {
            dims[d] = xdims[perm[d]];
            ss[d] = xs[perm[d]];
            int kind = (int)(rnd() % 4);
            if (kind == 0 && dims[d] > 1) { /* reversed */
                base += (dims[d] - 1) * ss[d];
                ss[d] = -ss[d];
            } else if (kind == 1) { /* broadcast */
                ss[d] = 0;
            }
            ny *= (size_t)dims[d];
        }
        st_contig_strides(nd, dims, ds);
        uint8_t *x = malloc(nx * es), *y = malloc(ny * es), *r = malloc(ny * es);
        for (size_t i = 0; i < nx * es; i++) x[i] = (uint8_t)rnd();
        int64_t c[8] = {0};
        for (size_t i = 0; i < ny; i++) {
            int64_t so = base;
            for (int d = 0; d < nd; d++) so += c[d] * ss[d];
            memcpy(r + i * es, x + so * (int64_t)es, es);
            for (int d = nd - 1; d >= 0; d--) {
                if (++c[d] < dims[d]) break;
                c[d] = 0;
            }
        }
        st_tsr_copy_strided(trial % 2 ? pool : NULL, nd, dims, y, ds, x + base * (int64_t)es, ss,
                            es);
        cr_assert(!memcmp(y, r, ny * es), "trial %d: nd %d es %zu differs", trial, nd, es);
        free(x), free(y), free(r);
    }
    st_pool_free(pool);
}

Test(tensor_movers, mapped_matches_naive) {
    for (int trial = 0; trial < 300; trial++) {
        int nd = (int)rin(1, 4);
        int64_t xd[4], od[4], xs[4], *maps[4];
        size_t es = esizes[rnd() % 5], nx = 1, ny = 1;
        for (int d = 0; d < nd; d++) {
            xd[d] = rin(1, 6);
            od[d] = rin(1, 9);
            nx *= (size_t)xd[d];
            ny *= (size_t)od[d];
            maps[d] = malloc((size_t)od[d] * sizeof **maps);
            int64_t shift = rin(-2, 2);
            for (int64_t o = 0; o < od[d]; o++) {
                int64_t i = o + shift; /* runs of consecutive sources, with holes */
                maps[d][o] = (rnd() % 5 == 0 || i < 0 || i >= xd[d])
                                 ? (rnd() % 2 ? -1 : rin(0, xd[d] - 1))
                                 : i;
            }
        }
        st_contig_strides(nd, xd, xs);
        uint8_t *x = malloc(nx * es), *y = malloc(ny * es), *r = malloc(ny * es), fill[16];
        for (size_t i = 0; i < nx * es; i++) x[i] = (uint8_t)rnd();
        for (size_t i = 0; i < 16; i++) fill[i] = (uint8_t)rnd();
        int64_t c[4] = {0};
        for (size_t i = 0; i < ny; i++) {
            int64_t so = 0;
            bool f = false;
            for (int d = 0; d < nd; d++) {
                if (maps[d][c[d]] < 0) f = true;
                so += maps[d][c[d]] * xs[d];
            }
            memcpy(r + i * es, f ? fill : x + so * (int64_t)es, es);
            for (int d = nd - 1; d >= 0; d--) {
                if (++c[d] < od[d]) break;
                c[d] = 0;
            }
        }
        st_tsr_copy_mapped(NULL, nd, od, (const int64_t *const *)maps, y, x, xs, fill, es);
        cr_assert(!memcmp(y, r, ny * es), "trial %d differs", trial);
        for (int d = 0; d < nd; d++) free(maps[d]);
        free(x), free(y), free(r);
    }
}

/* ---- one-node sessions ----------------------------------------------------------- */

Test(tensor_ops, strings_outlive_inputs) {
    ut_one o = ut_one_new("Transpose", "", 17, 1, 1);
    const char *s[] = {"a", "bb", "", "dddd", "e", "ff"};
    int64_t dims[] = {2, 3};
    st_value in[1] = {ut_value(ST_DTYPE_STRING, 2, dims, s)};
    st_value *outs = NULL;
    st_error err;
    cr_assert_eq(ut_one_run(&o, in, NULL, &outs, &err), ST_OK, "%s", err.msg);
    const st_tensor *y = &outs[0].tensor;
    cr_assert_eq(y->dims[0], 3);
    const char *want[] = {"a", "dddd", "bb", "e", "", "ff"};
    for (int i = 0; i < 6; i++) {
        const st_str *e = &((const st_str *)y->data)[i];
        cr_assert_eq(e->len, strlen(want[i]));
        cr_assert(!e->len || !memcmp(e->data, want[i], e->len), "element %d", i);
    }
    ut_one_done(&o, outs);
}

Test(tensor_ops, gather_index_out_of_range_fails) {
    ut_one o = ut_one_new("Gather", "", 13, 2, 1);
    float x[6] = {1, 2, 3, 4, 5, 6};
    int64_t ix[2] = {1, -4}, xd[] = {3, 2}, id[] = {2};
    st_value in[2] = {ut_value(ST_DTYPE_F32, 2, xd, x), ut_value(ST_DTYPE_I64, 1, id, ix)};
    st_value *outs = NULL;
    st_error err;
    cr_assert_eq(ut_one_run(&o, in, NULL, &outs, &err), ST_ERR_INVALID);
    cr_assert(strstr(err.msg, "index -4 is out of range"), "%s", err.msg);
    ut_one_done(&o, NULL);
}

/* Slice on random shapes, starts, ends (far out of range too) and steps, against a
 * per-axis reference of the ONNX clamping rules. */
Test(tensor_ops, slice_random) {
    for (int trial = 0; trial < 60; trial++) {
        ut_one o = ut_one_new("Slice", "", 13, 5, 1);
        int r = (int)rin(1, 4);
        int64_t xd[4], st[4], en[4], ax[4], sp[4];
        size_t nx = 1;
        for (int d = 0; d < r; d++) {
            xd[d] = rin(0, 6);
            nx *= (size_t)xd[d];
        }
        int na = (int)rin(1, r);
        bool used[4] = {0};
        for (int i = 0; i < na; i++) {
            int a;
            do a = (int)rin(0, r - 1);
            while (used[a]);
            used[a] = true;
            ax[i] = rnd() % 2 ? a : a - r;
            st[i] = rnd() % 8 == 0 ? INT64_MIN : rin(-9, 9);
            en[i] = rnd() % 8 == 0 ? INT64_MAX : rin(-9, 9);
            sp[i] = rnd() % 2 ? rin(1, 3) : -rin(1, 3);
        }
        float *x = malloc((nx ? nx : 1) * sizeof *x);
        for (size_t i = 0; i < nx; i++) x[i] = (float)i;
        /* reference: per axis the list of kept indices */
        int64_t keep[4][16], nk[4], want_d[4];
        for (int d = 0; d < r; d++) {
            nk[d] = xd[d];
            for (int64_t i = 0; i < xd[d]; i++) keep[d][i] = i;
        }
        for (int i = 0; i < na; i++) {
            int d = (int)(ax[i] < 0 ? ax[i] + r : ax[i]);
            int64_t n = xd[d], b = st[i], e = en[i], s = sp[i], k = 0;
            if (b < 0) b = b == INT64_MIN ? -1000 : b + n;
            if (e < 0) e = e + n;
            if (s > 0) {
                b = b < 0 ? 0 : b > n ? n : b;
                e = e < 0 ? 0 : e > n ? n : e;
                for (int64_t j = b; j < e; j += s) keep[d][k++] = j;
            } else {
                b = b < -1 ? -1 : b > n - 1 ? n - 1 : b;
                e = e < -1 ? -1 : e > n - 1 ? n - 1 : e;
                for (int64_t j = b; j > e; j += s) keep[d][k++] = j;
            }
            nk[d] = k;
        }
        int64_t nad[] = {na};
        st_value in[5] = {ut_value(ST_DTYPE_F32, r, xd, x), ut_value(ST_DTYPE_I64, 1, nad, st),
                          ut_value(ST_DTYPE_I64, 1, nad, en), ut_value(ST_DTYPE_I64, 1, nad, ax),
                          ut_value(ST_DTYPE_I64, 1, nad, sp)};
        bool cst[5] = {false, trial % 2 == 0, trial % 2 == 0, true, trial % 3 == 0};
        st_value *outs = NULL;
        st_error err;
        cr_assert_eq(ut_one_run(&o, in, cst, &outs, &err), ST_OK, "trial %d: %s", trial, err.msg);
        const st_tensor *y = &outs[0].tensor;
        cr_assert_eq(y->ndim, r);
        size_t ny = 1;
        for (int d = 0; d < r; d++) {
            want_d[d] = nk[d];
            cr_assert_eq(y->dims[d], want_d[d], "trial %d dim %d", trial, d);
            ny *= (size_t)nk[d];
        }
        int64_t c[4] = {0}, xs[4];
        st_contig_strides(r, xd, xs);
        for (size_t i = 0; i < ny; i++) {
            int64_t off = 0;
            for (int d = 0; d < r; d++) off += keep[d][c[d]] * xs[d];
            cr_assert_eq(((const float *)y->data)[i], (float)off, "trial %d element %zu", trial, i);
            for (int d = r - 1; d >= 0; d--) {
                if (++c[d] < nk[d]) break;
                c[d] = 0;
            }
        }
        free(x);
        ut_one_done(&o, outs);
    }
}

/* The float32 fast path (direct taps on H/W) against the double separable passes. */
static void resize_once(st_dtype dt, const double *x, const int64_t *xd, const float *scales,
                        const char *mode, const char *ct, int exclude, double *out, size_t *n) {
    ut_one o = ut_one_new("Resize", "", 13, 3, 1);
    ut_attr_str(&o, "mode", mode);
    ut_attr_str(&o, "coordinate_transformation_mode", ct);
    ut_attr_int(&o, "exclude_outside", exclude);
    size_t nx = (size_t)(xd[0] * xd[1] * xd[2] * xd[3]);
    st_value in[3];
    memset(in, 0, sizeof in);
    in[0].kind = ST_VAL_TENSOR;
    cr_assert_eq(st_tensor_alloc(&in[0].tensor, dt, 4, xd, NULL), ST_OK);
    for (size_t i = 0; i < nx; i++) st_tensor_set_f64(&in[0].tensor, i, x[i]);
    int64_t four[] = {4};
    in[2] = ut_value(ST_DTYPE_F32, 1, four, scales);
    bool cst[3] = {false, false, true};
    st_value *outs = NULL;
    st_error err;
    cr_assert_eq(ut_one_run(&o, in, cst, &outs, &err), ST_OK, "%s", err.msg);
    *n = st_tensor_nelem(&outs[0].tensor);
    for (size_t i = 0; i < *n; i++) out[i] = st_tensor_get_f64(&outs[0].tensor, i);
    ut_one_done(&o, outs);
}

Test(tensor_ops, resize_fast_path_matches_double_path) {
    static const char *const modes[] = {"linear", "cubic"};
    static const char *const cts[] = {"half_pixel", "align_corners", "asymmetric",
                                      "pytorch_half_pixel"};
    for (int trial = 0; trial < 24; trial++) {
        int64_t xd[4] = {rin(1, 2), rin(1, 3), rin(1, 7), rin(1, 7)};
        size_t nx = (size_t)(xd[0] * xd[1] * xd[2] * xd[3]);
        double *x = malloc(nx * sizeof *x), *a = malloc(4096 * sizeof *a),
               *b = malloc(4096 * sizeof *b);
        for (size_t i = 0; i < nx; i++) x[i] = (double)(rnd() % 1000) / 100.0;
        float sc[4] = {1, 1, (float)rin(3, 25) / 10.0f, (float)rin(3, 25) / 10.0f};
        const char *mode = modes[trial % 2], *ct = cts[(trial / 2) % 4];
        size_t na, nb;
        resize_once(ST_DTYPE_F32, x, xd, sc, mode, ct, trial % 3 == 0, a, &na);
        resize_once(ST_DTYPE_F64, x, xd, sc, mode, ct, trial % 3 == 0, b, &nb);
        cr_assert_eq(na, nb);
        for (size_t i = 0; i < na; i++)
            cr_assert(fabs(a[i] - b[i]) <= 1e-4 * (1 + fabs(b[i])),
                      "trial %d (%s %s) element %zu: %g vs %g", trial, mode, ct, i, a[i], b[i]);
        free(x), free(a), free(b);
    }
}

Test(tensor_ops, unique_matches_quadratic_reference) {
    for (int trial = 0; trial < 20; trial++) {
        ut_one o = ut_one_new("Unique", "", 11, 1, 4);
        bool sorted = trial % 2;
        ut_attr_int(&o, "sorted", sorted);
        int64_t n = rin(0, 40);
        int32_t x[40];
        for (int64_t i = 0; i < n; i++) x[i] = (int32_t)rin(-5, 5);
        st_value in[1] = {ut_value(ST_DTYPE_I32, 1, &n, x)};
        st_value *outs = NULL;
        st_error err;
        cr_assert_eq(ut_one_run(&o, in, NULL, &outs, &err), ST_OK, "%s", err.msg);
        /* reference: first occurrences in order, then sorted if asked */
        int32_t u[40];
        int64_t first[40], cnt[40], U = 0;
        for (int64_t i = 0; i < n; i++) {
            int64_t g = 0;
            while (g < U && u[g] != x[i]) g++;
            if (g == U) {
                u[U] = x[i];
                first[U] = i;
                cnt[U++] = 0;
            }
            cnt[g]++;
        }
        if (sorted)
            for (int64_t i = 0; i < U; i++)
                for (int64_t j = i + 1; j < U; j++)
                    if (u[j] < u[i]) {
                        int32_t t = u[i];
                        u[i] = u[j];
                        u[j] = t;
                        int64_t f = first[i];
                        first[i] = first[j];
                        first[j] = f;
                        int64_t c = cnt[i];
                        cnt[i] = cnt[j];
                        cnt[j] = c;
                    }
        cr_assert_eq(outs[0].tensor.dims[0], U);
        for (int64_t g = 0; g < U; g++) {
            cr_assert_eq(((int32_t *)outs[0].tensor.data)[g], u[g]);
            cr_assert_eq(((int64_t *)outs[1].tensor.data)[g], first[g]);
            cr_assert_eq(((int64_t *)outs[3].tensor.data)[g], cnt[g]);
        }
        for (int64_t i = 0; i < n; i++) {
            int64_t g = ((int64_t *)outs[2].tensor.data)[i];
            cr_assert(g >= 0 && g < U && u[g] == x[i]);
        }
        ut_one_done(&o, outs);
    }
}

/* Resize-18/19 on X = (1, 2, 3, 4) (or 1..8 as [1, 1, 2, 4]); expected values worked by
 * hand from the ONNX reference's formulas. in: the scales (n > 0) or sizes (n < 0). */
static void resize18(int64_t opset, int xr, const char *mode, const char *ct, int aa,
                     const char *aspect, size_t naxes, const int64_t *axes, const double *in, int n,
                     const int64_t *want_dims, const double *want, size_t nwant) {
    static const float x8[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    int64_t xd[4] = {1, 1, 2, 4}, x1[1] = {4}, cnt[1] = {n > 0 ? n : -n};
    ut_one o = ut_one_new("Resize", "", opset, 4, 1);
    ut_attr_str(&o, "mode", mode);
    ut_attr_str(&o, "coordinate_transformation_mode", ct);
    ut_attr_int(&o, "antialias", aa);
    if (aspect) ut_attr_str(&o, "keep_aspect_ratio_policy", aspect);
    if (naxes) ut_attr_ints(&o, "axes", naxes, axes);
    st_value ins[4];
    memset(ins, 0, sizeof ins);
    ins[0] = ut_value(ST_DTYPE_F32, xr, xr == 1 ? x1 : xd, x8);
    float sc[4];
    int64_t sz[4];
    for (int i = 0; i < cnt[0]; i++) sc[i] = (float)in[i], sz[i] = (int64_t)in[i];
    if (n > 0) ins[2] = ut_value(ST_DTYPE_F32, 1, cnt, sc);
    else ins[3] = ut_value(ST_DTYPE_I64, 1, cnt, sz);
    st_value *outs = NULL;
    st_error err = {0};
    cr_assert_eq(ut_one_run(&o, ins, NULL, &outs, &err), ST_OK, "%s", err.msg);
    const st_tensor *y = &outs[0].tensor;
    cr_assert_eq(y->ndim, xr);
    for (int d = 0; d < xr; d++) cr_assert_eq(y->dims[d], want_dims[d], "dim %d", d);
    cr_assert_eq(st_tensor_nelem(y), nwant);
    for (size_t i = 0; i < nwant; i++)
        cr_assert(fabs(st_tensor_get_f64(y, i) - want[i]) < 1e-5, "%s %s y[%zu] = %g, expected %g",
                  mode, ct, i, st_tensor_get_f64(y, i), want[i]);
    ut_one_done(&o, outs);
}

Test(tensor_ops, resize18_axes_aspect_antialias_symmetric) {
    /* sizes (2, 2) on axes (2, 3), not_larger: one scale min(2/2, 2/4) = 0.5 -> [1, 2];
     * nearest half_pixel takes x = (0, 0) and (0, 2) */
    resize18(18, 4, "nearest", "half_pixel", 0, "not_larger", 2, (const int64_t[]){2, 3},
             (const double[]){2, 2}, -2, (const int64_t[]){1, 1, 1, 2}, (const double[]){1, 3}, 2);
    /* the same axes reversed, not_smaller: scale max(0.5, 1) = 1 -> X unchanged */
    resize18(18, 4, "nearest", "half_pixel", 0, "not_smaller", 2, (const int64_t[]){3, -2},
             (const double[]){2, 2}, -2, (const int64_t[]){1, 1, 2, 4},
             (const double[]){1, 2, 3, 4, 5, 6, 7, 8}, 8);
    /* linear antialias at scale 0.5: a triangle of half-width 2, taps (1/8, 3/8, 3/8, 1/8)
     * around x = 0.5 and 2.5, edges clamped */
    resize18(18, 1, "linear", "half_pixel", 1, NULL, 0, NULL, (const double[]){0.5}, 1,
             (const int64_t[]){2}, (const double[]){1.625, 3.375}, 2);
    /* without antialias: plain interpolation at 0.5 and 2.5 */
    resize18(18, 1, "linear", "half_pixel", 0, NULL, 0, NULL, (const double[]){0.5}, 1,
             (const int64_t[]){2}, (const double[]){1.5, 3.5}, 2);
    /* half_pixel_symmetric at scale 0.6: out 2 of 2.4, offset 2 (1 - 2/2.4) = 1/3 */
    resize18(19, 1, "linear", "half_pixel_symmetric", 0, NULL, 0, NULL, (const double[]){0.6}, 1,
             (const int64_t[]){2}, (const double[]){1 + 2.0 / 3, 3 + 1.0 / 3}, 2);
}

/* ---- the opset 18-24 geometry ops (tensor_geom.c), on hand-worked values -------------- */

static st_value run1(ut_one *o, st_value *ins, const bool *cst) {
    st_value *outs = NULL;
    st_error err = {0};
    cr_assert_eq(ut_one_run(o, ins, cst, &outs, &err), ST_OK, "%s", err.msg);
    st_value v = outs[0];
    memset(&outs[0], 0, sizeof outs[0]);
    ut_one_done(o, outs);
    return v;
}

static void want_f64(const st_value *v, const double *w, size_t n) {
    cr_assert_eq(st_tensor_nelem(&v->tensor), n);
    for (size_t i = 0; i < n; i++)
        cr_assert(fabs(st_tensor_get_f64(&v->tensor, i) - w[i]) < 1e-6, "[%zu] = %g, expected %g",
                  i, st_tensor_get_f64(&v->tensor, i), w[i]);
}

Test(tensor_ops, center_crop_pad) {
    int32_t x[3] = {1, 2, 3};
    int64_t three[1] = {3}, one[1] = {1}, five[1] = {5}, two[1] = {2};
    for (int c = 0; c < 2; c++) { /* pad 3 -> 5 around the centre; crop 3 -> 2 from index 0 */
        ut_one o = ut_one_new("CenterCropPad", "", 18, 2, 1);
        st_value ins[2] = {ut_value(ST_DTYPE_I32, 1, three, x),
                           ut_value(ST_DTYPE_I64, 1, one, c ? two : five)};
        bool cst[2] = {false, c == 1};
        st_value y = run1(&o, ins, cst);
        want_f64(&y, c ? (const double[]){1, 2} : (const double[]){0, 1, 2, 3, 0}, c ? 2 : 5);
        st_value_clear(&y);
    }
    /* axes (-1) of a [2, 3] string tensor: crop to the middle column */
    const char *s[6] = {"a", "b", "c", "d", "e", "f"};
    int64_t sd[2] = {2, 3};
    ut_one o = ut_one_new("CenterCropPad", "", 18, 2, 1);
    ut_attr_ints(&o, "axes", 1, (const int64_t[]){-1});
    st_value ins[2] = {ut_value(ST_DTYPE_STRING, 2, sd, s), ut_value(ST_DTYPE_I64, 1, one, one)};
    st_value y = run1(&o, ins, NULL);
    cr_assert_eq(y.tensor.dims[0], 2);
    cr_assert_eq(y.tensor.dims[1], 1);
    const st_str *ys = y.tensor.data;
    cr_assert(ys[0].len == 1 && ys[0].data[0] == 'b' && ys[1].data[0] == 'e');
    st_value_clear(&y);
}

/* image [1, 3], blocks [1, 2] at stride 1: two columns overlap in the middle pixel. */
Test(tensor_ops, col2im_overlap) {
    float x[4] = {1, 2, 3, 4};
    int64_t xd[3] = {1, 2, 2}, two[1] = {2};
    ut_one o = ut_one_new("Col2Im", "", 18, 3, 1);
    st_value ins[3] = {ut_value(ST_DTYPE_F32, 3, xd, x),
                       ut_value(ST_DTYPE_I64, 1, two, (const int64_t[]){1, 3}),
                       ut_value(ST_DTYPE_I64, 1, two, (const int64_t[]){1, 2})};
    bool cst[3] = {false, true, true};
    st_value y = run1(&o, ins, cst);
    cr_assert_eq(y.tensor.ndim, 4);
    cr_assert_eq(y.tensor.dims[3], 3);
    want_f64(&y, (const double[]){1, 5, 4}, 3);
    st_value_clear(&y);
    /* pads (0, 1, 0, 0) shift the image right: the first column falls outside */
    o = ut_one_new("Col2Im", "", 18, 3, 1);
    ut_attr_ints(&o, "pads", 4, (const int64_t[]){0, 1, 0, 0});
    int64_t xd2[3] = {1, 2, 3};
    float x2[6] = {1, 2, 3, 4, 5, 6};
    st_value ins2[3] = {ut_value(ST_DTYPE_F32, 3, xd2, x2),
                        ut_value(ST_DTYPE_I64, 1, two, (const int64_t[]){1, 3}),
                        ut_value(ST_DTYPE_I64, 1, two, (const int64_t[]){1, 2})};
    y = run1(&o, ins2, NULL);
    /* pixel p = l - 1 + q: q0 l1, l2 -> 0, 1; q1 l0, l1, l2 -> 0, 1, 2 */
    want_f64(&y, (const double[]){2 + 4, 3 + 5, 6}, 3);
    st_value_clear(&y);
}

Test(tensor_ops, affine_grid_2d) {
    for (int align = 0; align < 2; align++) {
        float th[6] = {2, 0, 1, 0, 1, 0}; /* x' = 2x + 1, y' = y */
        int64_t td[3] = {1, 2, 3}, four[1] = {4}, sz[4] = {1, 1, 2, 2};
        ut_one o = ut_one_new("AffineGrid", "", 20, 2, 1);
        ut_attr_int(&o, "align_corners", align);
        st_value ins[2] = {ut_value(ST_DTYPE_F32, 3, td, th), ut_value(ST_DTYPE_I64, 1, four, sz)};
        st_value y = run1(&o, ins, NULL);
        cr_assert_eq(y.tensor.ndim, 4);
        cr_assert_eq(y.tensor.dims[3], 2);
        double c = align ? 1 : 0.5; /* base coordinates -c, +c */
        double w[8] = {1 - 2 * c, -c, 1 + 2 * c, -c, 1 - 2 * c, c, 1 + 2 * c, c};
        want_f64(&y, w, 8);
        st_value_clear(&y);
    }
}

Test(tensor_ops, tensor_scatter_linear_circular) {
    float past[6] = {0}, upd[4] = {1, 2, 3, 4};
    int64_t pd[3] = {2, 3, 1}, ud[3] = {2, 2, 1}, bd[1] = {2}, wi[2] = {0, 2};
    ut_one o = ut_one_new("TensorScatter", "", 24, 3, 1);
    ut_attr_str(&o, "mode", "circular");
    st_value ins[3] = {ut_value(ST_DTYPE_F32, 3, pd, past), ut_value(ST_DTYPE_F32, 3, ud, upd),
                       ut_value(ST_DTYPE_I64, 1, bd, wi)};
    st_value y = run1(&o, ins, NULL);
    want_f64(&y, (const double[]){1, 2, 0, 4, 0, 3}, 6); /* batch 1 wraps from 2 to 0 */
    st_value_clear(&y);
    o = ut_one_new("TensorScatter", "", 24, 3, 1); /* linear: 2 + 1 is past the end */
    st_value ins2[3] = {ut_value(ST_DTYPE_F32, 3, pd, past), ut_value(ST_DTYPE_F32, 3, ud, upd),
                        ut_value(ST_DTYPE_I64, 1, bd, wi)};
    st_value *outs = NULL;
    st_error err = {0};
    cr_assert_neq(ut_one_run(&o, ins2, NULL, &outs, &err), ST_OK);
    cr_assert(strstr(err.msg, "outside"), "%s", err.msg);
    ut_one_done(&o, outs);
}

/* GridSample-20 on a 2x2x2 volume v = 4z + 2y + x (align_corners): trilinear at the centre
 * is 3.5 (nearest: 0.5 rounds to even, voxel 0), at corners the voxel; nearest rounds x
 * 0.6 to 1; a point beyond x = 1 reads zeros. */
Test(tensor_ops, gridsample_volumetric) {
    float x[8] = {0, 1, 2, 3, 4, 5, 6, 7};
    float g[12] = {0, 0, 0, 1, -1, 1, 0.2f, -1, 1, 5, 0, 0}; /* (x, y, z) per point */
    int64_t xd[5] = {1, 1, 2, 2, 2}, gd[5] = {1, 1, 1, 4, 3};
    for (int nearest = 0; nearest < 2; nearest++) {
        ut_one o = ut_one_new("GridSample", "", 22, 2, 1);
        ut_attr_int(&o, "align_corners", 1);
        ut_attr_str(&o, "mode", nearest ? "nearest" : "linear");
        st_value ins[2] = {ut_value(ST_DTYPE_F32, 5, xd, x), ut_value(ST_DTYPE_F32, 5, gd, g)};
        st_value y = run1(&o, ins, NULL);
        cr_assert_eq(y.tensor.ndim, 5);
        cr_assert_eq(y.tensor.dims[4], 4);
        want_f64(&y, nearest ? (const double[]){0, 5, 5, 0} : (const double[]){3.5, 5, 4.6, 0}, 4);
        st_value_clear(&y);
    }
    ut_one o = ut_one_new("GridSample", "", 22, 2, 1); /* cubic is 2-D only */
    ut_attr_str(&o, "mode", "cubic");
    st_value ins[2] = {ut_value(ST_DTYPE_F32, 5, xd, x), ut_value(ST_DTYPE_F32, 5, gd, g)};
    st_value *outs = NULL;
    st_error err = {0};
    cr_assert_neq(ut_one_run(&o, ins, NULL, &outs, &err), ST_OK);
    cr_assert(strstr(err.msg, "cubic"), "%s", err.msg);
    ut_one_done(&o, outs);
}

/* Split-18 with num_outputs: 7 elements into 4 parts of ceil(7 / 4) = 2, the last 1. */
Test(tensor_ops, split18_uneven) {
    int32_t x[7] = {1, 2, 3, 4, 5, 6, 7};
    int64_t xd[1] = {7};
    ut_one o = ut_one_new("Split", "", 18, 1, 4);
    ut_attr_int(&o, "num_outputs", 4);
    st_value ins[1] = {ut_value(ST_DTYPE_I32, 1, xd, x)};
    st_value *outs = NULL;
    st_error err = {0};
    cr_assert_eq(ut_one_run(&o, ins, NULL, &outs, &err), ST_OK, "%s", err.msg);
    for (int i = 0; i < 4; i++) {
        cr_assert_eq(outs[i].tensor.dims[0], i < 3 ? 2 : 1);
        cr_assert_eq(((int32_t *)outs[i].tensor.data)[0], 1 + 2 * i);
    }
    ut_one_done(&o, outs);
    o = ut_one_new("Split", "", 18, 1, 4); /* num_outputs must match the outputs */
    ut_attr_int(&o, "num_outputs", 3);
    st_value ins2[1] = {ut_value(ST_DTYPE_I32, 1, xd, x)};
    outs = NULL;
    cr_assert_neq(ut_one_run(&o, ins2, NULL, &outs, &err), ST_OK);
    cr_assert(strstr(err.msg, "num_outputs"), "%s", err.msg);
    ut_one_done(&o, outs);
}
