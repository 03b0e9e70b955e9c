/* tests/unit/test_ops_nn.c: the nn family's fast kernels (oneDNN convolution and sgemm,
 * the clipped-window 2-D pool) against the readable reference kernels beside them, on
 * random shapes and attributes, by normalized squared error (as ggml's test-backend-ops). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn_impl.h"

/* Deterministic generator so a failure reproduces. */
static uint64_t rng_state = 0x1234567u;
static uint32_t rnd(void) {
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(rng_state >> 33);
}
static int64_t rint_in(int64_t lo, int64_t hi) {
    return lo + (int64_t)(rnd() % (uint32_t)(hi - lo + 1));
}
static void fill(float *p, size_t n) {
    for (size_t i = 0; i < n; i++) p[i] = (float)((double)rnd() / 2147483648.0 - 1.0);
}

/* sum (a - b)^2 / sum a^2 */
static double nmse(const float *a, const float *b, size_t n) {
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) {
        double d = (double)a[i] - (double)b[i];
        num += d * d;
        den += (double)a[i] * (double)a[i];
    }
    return den > 0 ? num / den : num;
}

/* A random valid convolution geometry with nsp spatial dims. */
static void random_conv(st_nn_conv_shape *s, int nsp) {
    memset(s, 0, sizeof *s);
    int kind = (int)rint_in(0, 2); /* 0 dense, 1 grouped, 2 depthwise */
    s->group = kind == 0 ? 1 : kind == 1 ? rint_in(2, 3) : rint_in(2, 8);
    int64_t cg = kind == 2 ? 1 : rint_in(1, 6), mg = kind == 2 ? 1 : rint_in(1, 6);
    s->n = rint_in(1, 2);
    s->c = cg * s->group;
    s->m = mg * s->group;
    st_nn_win *w = &s->win;
    w->nsp = nsp;
    for (int d = 0; d < nsp; d++) {
        w->k[d] = rint_in(1, 3);
        w->stride[d] = rint_in(1, 2);
        w->dil[d] = rint_in(1, 2);
        w->pad0[d] = rint_in(0, 2);
        w->pad1[d] = rint_in(0, 2);
        int64_t ek = (w->k[d] - 1) * w->dil[d] + 1;
        w->in[d] = rint_in(ek, ek + (nsp == 3 ? 4 : 9));
        w->out[d] = (w->in[d] + w->pad0[d] + w->pad1[d] - ek) / w->stride[d] + 1;
    }
    cr_assert_eq(st_nn_win_finish(w, NULL), ST_OK);
}

static void check_conv(int nsp, int trials, bool const_w) {
    for (int t = 0; t < trials; t++) {
        st_nn_conv_shape s;
        random_conv(&s, nsp);
        size_t nx = (size_t)(s.n * s.c) * s.win.in_vol;
        size_t nw = (size_t)(s.m * (s.c / s.group)) * s.win.k_vol;
        size_t ny = (size_t)(s.n * s.m) * s.win.out_vol;
        float *x = malloc(nx * 4), *w = malloc(nw * 4), *b = malloc((size_t)s.m * 4);
        float *yr = malloc(ny * 4), *yf = malloc(ny * 4);
        fill(x, nx);
        fill(w, nw);
        fill(b, (size_t)s.m);
        bool has_b = rnd() % 2;
        st_nn_conv_ref_f32(&s, x, w, has_b ? b : NULL, yr, 0, (size_t)(s.n * s.m));
        st_nn_dconv *d = NULL;
        st_error err;
        cr_assert_eq(st_nn_dconv_new(&s, const_w ? w : NULL, has_b, const_w ? b : NULL, &d, &err),
                     ST_OK, "dconv_new: %s", err.msg);
        cr_assert_eq(st_nn_dconv_run(d, x, w, b, yf, 2, &err), ST_OK, "dconv_run: %s", err.msg);
        double e = nmse(yr, yf, ny);
        cr_expect(e < 1e-9, "conv %dD group %lld c %lld m %lld: nmse %g", nsp, (long long)s.group,
                  (long long)s.c, (long long)s.m, e);
        st_nn_dconv_free(d);
        free(x), free(w), free(b), free(yr), free(yf);
    }
}

Test(ops_nn, conv1d_dnnl_matches_reference) { check_conv(1, 20, true); }
Test(ops_nn, conv2d_dnnl_matches_reference) { check_conv(2, 30, true); }
Test(ops_nn, conv3d_dnnl_matches_reference) { check_conv(3, 10, true); }
Test(ops_nn, conv2d_runtime_weights_match_reference) { check_conv(2, 10, false); }

Test(ops_nn, sgemm_matches_reference) {
    for (int t = 0; t < 40; t++) {
        bool ta = rnd() % 2, tb = rnd() % 2;
        int64_t m = rint_in(1, 70), n = rint_in(1, 70), kk = rint_in(1, 90);
        float alpha = (float)rint_in(-2, 2) * 0.5f, beta = (float)rint_in(0, 2) * 0.5f;
        size_t na = (size_t)(m * kk), nb = (size_t)(kk * n), nc = (size_t)(m * n);
        float *a = malloc(na * 4), *b = malloc(nb * 4), *cr = malloc(nc * 4), *cf = malloc(nc * 4);
        fill(a, na);
        fill(b, nb);
        fill(cr, nc);
        memcpy(cf, cr, nc * 4);
        int64_t lda = ta ? m : kk, ldb = tb ? kk : n;
        st_nn_gemm_ref_f32(ta, tb, m, n, kk, alpha, a, lda, b, ldb, beta, cr, n);
        st_error err;
        cr_assert_eq(
            st_nn_gemm_fast_f32(ta, tb, m, n, kk, alpha, a, lda, b, ldb, beta, cf, n, &err), ST_OK,
            "%s", err.msg);
        double e = nmse(cr, cf, nc);
        cr_expect(e < 1e-9, "gemm %lldx%lldx%lld ta %d tb %d: nmse %g", (long long)m, (long long)n,
                  (long long)kk, ta, tb, e);
        free(a), free(b), free(cr), free(cf);
    }
}

Test(ops_nn, pool2d_fast_matches_reference) {
    for (int t = 0; t < 60; t++) {
        st_nn_win w;
        memset(&w, 0, sizeof w);
        w.nsp = 2;
        bool avg = rnd() % 2, count_pad = rnd() % 2, ceil_mode = rnd() % 2;
        for (int d = 0; d < 2; d++) {
            w.k[d] = rint_in(1, 4);
            w.stride[d] = rint_in(1, 3);
            w.dil[d] = 1;
            w.pad0[d] = rint_in(0, w.k[d] - 1);
            w.pad1[d] = rint_in(0, w.k[d] - 1);
            w.in[d] = rint_in(w.k[d], 12);
            int64_t span = w.in[d] + w.pad0[d] + w.pad1[d] - w.k[d];
            int64_t out =
                ceil_mode ? (span + w.stride[d] - 1) / w.stride[d] + 1 : span / w.stride[d] + 1;
            if (ceil_mode && (out - 1) * w.stride[d] >= w.in[d] + w.pad0[d]) out--;
            w.out[d] = out;
        }
        cr_assert_eq(st_nn_win_finish(&w, NULL), ST_OK);
        size_t planes = (size_t)rint_in(1, 5), nx = planes * w.in_vol, ny = planes * w.out_vol;
        float *x = malloc(nx * 4), *yr = malloc(ny * 4), *yf = malloc(ny * 4);
        fill(x, nx);
        st_nn_pool_ref_f32(&w, avg, count_pad, x, yr, 0, planes);
        st_nn_pool2d_fast_f32(&w, avg, count_pad, x, yf, 0, planes);
        double e = nmse(yr, yf, ny);
        cr_expect(e < 1e-10, "pool avg %d count_pad %d k %lldx%lld s %lldx%lld: nmse %g", avg,
                  count_pad, (long long)w.k[0], (long long)w.k[1], (long long)w.stride[0],
                  (long long)w.stride[1], e);
        free(x), free(yr), free(yf);
    }
}

Test(ops_nn, conversions_round_half_even_and_saturate) {
    float src[] = {0.5f, 1.5f, 2.5f, -0.5f, 300.0f, -300.0f, NAN};
    uint8_t u[7];
    int8_t i[7];
    st_nn_from_f32(ST_DTYPE_U8, src, u, 7);
    st_nn_from_f32(ST_DTYPE_I8, src, i, 7);
    uint8_t ue[] = {0, 2, 2, 0, 255, 0, 0};
    int8_t ie[] = {0, 2, 2, 0, 127, -128, 0};
    cr_expect_arr_eq(u, ue, 7);
    cr_expect_arr_eq(i, ie, 7);
}
