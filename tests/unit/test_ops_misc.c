/* tests/unit/test_ops_misc.c: the misc op family (runtime/ops/misc*.c) run through a real
 * session on one-node graphs built in memory. DFT/STFT are checked against a naive
 * long-double DFT over radix-2, direct and Bluestein lengths; the other ops against
 * their formulas, and the random ops for reproducibility, ranges and moments. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit_util.h"

#define TRAIN "ai.onnx.preview.training"

/* A node in a model importing ai.onnx 17 and the training domain 1. */
static ut_one mk(const char *op, const char *dom, int n_in, int n_out) {
    ut_one o = ut_one_new(op, dom, 17, n_in, n_out);
    ut_model_import(o.m, TRAIN, 1);
    return o;
}

static st_value ti64(int64_t x) { return ut_value(ST_DTYPE_I64, 0, NULL, &x); }

static double urand(unsigned *s) {
    *s = *s * 1103515245u + 12345u;
    return ((*s >> 8) & 0xffffff) / (double)0x1000000 - 0.5;
}

/* ---- DFT -------------------------------------------------------------------------- */
/* y[o, k, i] = sum_j x[o, j, i] e^{-+2 pi i jk/nfft} (/nfft when inverse). */
static void ref_dft(const double *x, int64_t outer, int64_t len, int64_t inner, int C, int64_t nfft,
                    bool inverse, int64_t nout, double *y) {
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < inner; i++)
            for (int64_t k = 0; k < nout; k++) {
                long double sr = 0, si = 0;
                for (int64_t j = 0; j < ST_MIN(len, nfft); j++) {
                    const double *p = x + ((o * len + j) * inner + i) * C;
                    long double xr = p[0], xi = C == 2 ? p[1] : 0;
                    long double ang = (inverse ? 2 : -2) * 3.14159265358979323846264L *
                                      (long double)((j * k) % nfft) / (long double)nfft;
                    sr += xr * cosl(ang) - xi * sinl(ang);
                    si += xr * sinl(ang) + xi * cosl(ang);
                }
                if (inverse) {
                    sr /= nfft;
                    si /= nfft;
                }
                double *q = y + ((o * nout + k) * inner + i) * 2;
                q[0] = (double)sr;
                q[1] = (double)si;
            }
}

static void check_dft(int64_t len, int C, int64_t dft_len, bool inverse, bool onesided, bool axis2,
                      bool len_const) {
    int64_t outer = 2, inner = 3;
    int64_t dims[4] = {outer, len, inner, C};
    if (axis2) { /* signal on axis 2 (given as -2): shape [2, 3, len, C], inner = 1 */
        dims[0] = outer;
        dims[1] = 3;
        dims[2] = len;
        outer = 6;
        inner = 1;
    }
    size_t nx = (size_t)(outer * len * inner * C);
    double *x = malloc(nx * sizeof *x);
    unsigned seed = (unsigned)(len * 7 + C);
    for (size_t i = 0; i < nx; i++) x[i] = urand(&seed);
    int64_t nfft = dft_len > 0 ? dft_len : len, nout = onesided ? nfft / 2 + 1 : nfft;
    double *ref = malloc((size_t)(outer * nout * inner * 2) * sizeof *ref);
    ref_dft(x, outer, len, inner, C, nfft, inverse, nout, ref);
    ut_one o = mk("DFT", "", 2, 1);
    ut_attr_int(&o, "axis", axis2 ? -2 : 1);
    ut_attr_int(&o, "inverse", inverse);
    ut_attr_int(&o, "onesided", onesided);
    st_value ins[2] = {ut_value(ST_DTYPE_F64, 4, dims, x)};
    if (dft_len > 0) ins[1] = ti64(dft_len);
    bool cst[2] = {false, len_const};
    st_value *outs;
    st_error err = {0};
    cr_assert_eq(ut_one_run(&o, ins, cst, &outs, &err), ST_OK, "%s", err.msg);
    const st_tensor *y = &outs[0].tensor;
    cr_assert_eq(y->dtype, ST_DTYPE_F64);
    cr_assert_eq(y->dims[axis2 ? 2 : 1], nout);
    cr_assert_eq(y->dims[3], 2);
    const double *yd = y->data;
    for (size_t i = 0; i < st_tensor_nelem(y); i++)
        cr_assert(fabs(yd[i] - ref[i]) <= 1e-10 * (double)(nfft + 1),
                  "len %lld C %d nfft %lld inv %d one %d: y[%zu] = %.17g, expected %.17g",
                  (long long)len, C, (long long)nfft, inverse, onesided, i, yd[i], ref[i]);
    ut_one_done(&o, outs);
    free(x);
    free(ref);
}

Test(misc, dft_lengths) {
    static const int64_t lens[] = {1, 2, 3, 5, 8, 10, 12, 16, 63, 64, 65, 100, 127, 256, 1000};
    for (size_t i = 0; i < ST_ARRAY_LEN(lens); i++) {
        check_dft(lens[i], 1, 0, false, false, false, false);
        check_dft(lens[i], 2, 0, true, false, false, false);
        check_dft(lens[i], 1, 0, false, true, true, false);
    }
}

Test(misc, dft_length_input) {
    check_dft(10, 2, 16, false, false, false, true);  /* zero padding, constant */
    check_dft(10, 1, 7, false, true, false, false);   /* truncation, runtime input */
    check_dft(100, 2, 130, true, false, true, false); /* Bluestein after padding */
}

Test(misc, dft_float32_half) {
    static const st_dtype dts[] = {ST_DTYPE_F32, ST_DTYPE_F16, ST_DTYPE_BF16};
    for (size_t t = 0; t < ST_ARRAY_LEN(dts); t++) {
        float xf[10];
        uint16_t xh[10];
        for (int i = 0; i < 10; i++) {
            xf[i] = (float)i;
            xh[i] = dts[t] == ST_DTYPE_F16 ? st_f32_to_f16(xf[i]) : st_f32_to_bf16(xf[i]);
        }
        int64_t dims[3] = {1, 10, 1};
        ut_one o = mk("DFT", "", 1, 1);
        st_value ins[1] = {ut_value(dts[t], 3, dims, t ? (void *)xh : (void *)xf)};
        st_value *outs;
        st_error err = {0};
        cr_assert_eq(ut_one_run(&o, ins, NULL, &outs, &err), ST_OK, "%s", err.msg);
        const st_tensor *y = &outs[0].tensor;
        cr_assert_eq(y->dtype, dts[t]);
        /* X[0] = 45, X[5] = -5 */
        cr_assert(fabs(st_tensor_get_f64(y, 0) - 45) < 0.3);
        cr_assert(fabs(st_tensor_get_f64(y, 10) + 5) < 0.1);
        cr_assert(fabs(st_tensor_get_f64(y, 11)) < 0.1);
        ut_one_done(&o, outs);
    }
}

Test(misc, dft_bad_axis) {
    double x[4] = {0};
    int64_t dims[2] = {4, 1};
    ut_one o = mk("DFT", "", 1, 1);
    ut_attr_int(&o, "axis", 1); /* the last axis holds the complex parts */
    st_value ins[1] = {ut_value(ST_DTYPE_F64, 2, dims, x)};
    st_value *outs = NULL;
    st_error err = {0};
    cr_assert_neq(ut_one_run(&o, ins, NULL, &outs, &err), ST_OK);
    cr_assert(strstr(err.msg, "axis"), "%s", err.msg);
    st_model_release(o.m);
}

/* ---- STFT ------------------------------------------------------------------------- */
Test(misc, stft_window) {
    enum { L = 100, FL = 12, STEP = 7 };
    double sig[2 * L], win[FL];
    unsigned seed = 5;
    for (int i = 0; i < 2 * L; i++) sig[i] = urand(&seed);
    for (int i = 0; i < FL; i++) win[i] = 0.5 - 0.5 * cos(2 * M_PI * i / FL);
    int64_t sd[3] = {2, L, 1}, wd[1] = {FL};
    for (int onesided = 0; onesided < 2; onesided++) {
        ut_one o = mk("STFT", "", 4, 1);
        ut_attr_int(&o, "onesided", onesided);
        st_value ins[4] = {ut_value(ST_DTYPE_F64, 3, sd, sig), ti64(STEP),
                           ut_value(ST_DTYPE_F64, 1, wd, win), ti64(FL)};
        bool cst[4] = {false, true, false, onesided};
        st_value *outs;
        st_error err = {0};
        cr_assert_eq(ut_one_run(&o, ins, cst, &outs, &err), ST_OK, "%s", err.msg);
        const st_tensor *y = &outs[0].tensor;
        int64_t frames = (L - FL) / STEP + 1, bins = onesided ? FL / 2 + 1 : FL;
        cr_assert_eq(y->ndim, 4);
        cr_assert_eq(y->dims[1], frames);
        cr_assert_eq(y->dims[2], bins);
        const double *yd = y->data;
        for (int b = 0; b < 2; b++)
            for (int64_t f = 0; f < frames; f++) {
                double fr[FL], ref[2 * FL];
                for (int j = 0; j < FL; j++) fr[j] = sig[b * L + f * STEP + j] * win[j];
                ref_dft(fr, 1, FL, 1, 1, FL, false, FL, ref);
                for (int64_t k = 0; k < bins * 2; k++)
                    cr_assert(fabs(yd[((b * frames + f) * bins) * 2 + k] - ref[k]) < 1e-9);
            }
        ut_one_done(&o, outs);
    }
}

/* ---- windows ---------------------------------------------------------------------- */
Test(misc, windows) {
    static const char *ops[] = {"HannWindow", "HammingWindow", "BlackmanWindow"};
    static const double c[3][3] = {{0.5, 0.5, 0}, {25.0 / 46, 21.0 / 46, 0}, {0.42, 0.5, 0.08}};
    for (int w = 0; w < 3; w++)
        for (int periodic = 0; periodic < 2; periodic++) {
            ut_one o = mk(ops[w], "", 1, 1);
            ut_attr_int(&o, "periodic", periodic);
            ut_attr_int(&o, "output_datatype", ST_DTYPE_F64);
            int32_t size = 10;
            st_value ins[1] = {ut_value(ST_DTYPE_I32, 0, NULL, &size)};
            bool cst[1] = {periodic};
            st_value *outs;
            st_error err = {0};
            cr_assert_eq(ut_one_run(&o, ins, cst, &outs, &err), ST_OK, "%s", err.msg);
            const st_tensor *y = &outs[0].tensor;
            cr_assert_eq(y->ndim, 1);
            cr_assert_eq(y->dims[0], 10);
            double N = periodic ? 10 : 9;
            for (int i = 0; i < 10; i++) {
                double e =
                    c[w][0] - c[w][1] * cos(2 * M_PI * i / N) + c[w][2] * cos(4 * M_PI * i / N);
                cr_assert(fabs(((double *)y->data)[i] - e) < 1e-12);
            }
            ut_one_done(&o, outs);
        }
}

/* ---- MelWeightMatrix -------------------------------------------------------------- */
Test(misc, melweightmatrix) {
    ut_one o = mk("MelWeightMatrix", "", 5, 1);
    int32_t bins = 8, dl = 16, rate = 8192;
    float lo = 0, hi = 4096;
    st_value ins[5] = {ut_value(ST_DTYPE_I32, 0, NULL, &bins), ut_value(ST_DTYPE_I32, 0, NULL, &dl),
                       ut_value(ST_DTYPE_I32, 0, NULL, &rate), ut_value(ST_DTYPE_F32, 0, NULL, &lo),
                       ut_value(ST_DTYPE_F32, 0, NULL, &hi)};
    st_value *outs;
    st_error err = {0};
    cr_assert_eq(ut_one_run(&o, ins, NULL, &outs, &err), ST_OK, "%s", err.msg);
    const st_tensor *y = &outs[0].tensor;
    cr_assert_eq(y->dims[0], 9);
    cr_assert_eq(y->dims[1], 8);
    /* ONNX's reference output: rows 0..5 hold ones at (0,0) (0,1) (1,2) (1,3) (2,4) (3,5)
     * (4,6) (5,7); everything else is zero. */
    static const int ones[][2] = {{0, 0}, {0, 1}, {1, 2}, {1, 3}, {2, 4}, {3, 5}, {4, 6}, {5, 7}};
    const float *yd = y->data;
    for (int r = 0; r < 9; r++)
        for (int c = 0; c < 8; c++) {
            float e = 0;
            for (size_t k = 0; k < ST_ARRAY_LEN(ones); k++)
                if (ones[k][0] == r && ones[k][1] == c) e = 1;
            cr_assert_eq(yd[r * 8 + c], e, "[%d,%d] = %g", r, c, yd[r * 8 + c]);
        }
    ut_one_done(&o, outs);
}

/* ---- ImageDecoder ----------------------------------------------------------------- */
/* Made with PIL: a 2x2 PNG of red, green, blue, (10,20,30); an 8x8 JPEG of (200,100,50). */
static const uint8_t tiny_png[79] = {
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44,
    0x52, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x02, 0x08, 0x02, 0x00, 0x00, 0x00, 0xfd,
    0xd4, 0x9a, 0x73, 0x00, 0x00, 0x00, 0x16, 0x49, 0x44, 0x41, 0x54, 0x78, 0xda, 0x63, 0xf8,
    0xcf, 0xc0, 0xc0, 0xf0, 0x9f, 0x81, 0x81, 0x81, 0xe1, 0x3f, 0x97, 0x88, 0x1c, 0x00, 0x1a,
    0x58, 0x03, 0x3a, 0x80, 0x3c, 0xe3, 0x64, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44,
    0xae, 0x42, 0x60, 0x82,
};
static const uint8_t tiny_jpeg[634] = {
    0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00, 0x01, 0x01, 0x00, 0x00,
    0x01, 0x00, 0x01, 0x00, 0x00, 0xff, 0xdb, 0x00, 0x43, 0x00, 0x02, 0x01, 0x01, 0x01, 0x01,
    0x01, 0x02, 0x01, 0x01, 0x01, 0x02, 0x02, 0x02, 0x02, 0x02, 0x04, 0x03, 0x02, 0x02, 0x02,
    0x02, 0x05, 0x04, 0x04, 0x03, 0x04, 0x06, 0x05, 0x06, 0x06, 0x06, 0x05, 0x06, 0x06, 0x06,
    0x07, 0x09, 0x08, 0x06, 0x07, 0x09, 0x07, 0x06, 0x06, 0x08, 0x0b, 0x08, 0x09, 0x0a, 0x0a,
    0x0a, 0x0a, 0x0a, 0x06, 0x08, 0x0b, 0x0c, 0x0b, 0x0a, 0x0c, 0x09, 0x0a, 0x0a, 0x0a, 0xff,
    0xdb, 0x00, 0x43, 0x01, 0x02, 0x02, 0x02, 0x02, 0x02, 0x02, 0x05, 0x03, 0x03, 0x05, 0x0a,
    0x07, 0x06, 0x07, 0x0a, 0x0a, 0x0a, 0x0a, 0x0a, 0x0a, 0x0a, 0x0a, 0x0a, 0x0a, 0x0a, 0x0a,
    0x0a, 0x0a, 0x0a, 0x0a, 0x0a, 0x0a, 0x0a, 0x0a, 0x0a, 0x0a, 0x0a, 0x0a, 0x0a, 0x0a, 0x0a,
    0x0a, 0x0a, 0x0a, 0x0a, 0x0a, 0x0a, 0x0a, 0x0a, 0x0a, 0x0a, 0x0a, 0x0a, 0x0a, 0x0a, 0x0a,
    0x0a, 0x0a, 0x0a, 0x0a, 0x0a, 0x0a, 0x0a, 0x0a, 0xff, 0xc0, 0x00, 0x11, 0x08, 0x00, 0x08,
    0x00, 0x08, 0x03, 0x01, 0x22, 0x00, 0x02, 0x11, 0x01, 0x03, 0x11, 0x01, 0xff, 0xc4, 0x00,
    0x1f, 0x00, 0x00, 0x01, 0x05, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b,
    0xff, 0xc4, 0x00, 0xb5, 0x10, 0x00, 0x02, 0x01, 0x03, 0x03, 0x02, 0x04, 0x03, 0x05, 0x05,
    0x04, 0x04, 0x00, 0x00, 0x01, 0x7d, 0x01, 0x02, 0x03, 0x00, 0x04, 0x11, 0x05, 0x12, 0x21,
    0x31, 0x41, 0x06, 0x13, 0x51, 0x61, 0x07, 0x22, 0x71, 0x14, 0x32, 0x81, 0x91, 0xa1, 0x08,
    0x23, 0x42, 0xb1, 0xc1, 0x15, 0x52, 0xd1, 0xf0, 0x24, 0x33, 0x62, 0x72, 0x82, 0x09, 0x0a,
    0x16, 0x17, 0x18, 0x19, 0x1a, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2a, 0x34, 0x35, 0x36, 0x37,
    0x38, 0x39, 0x3a, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49, 0x4a, 0x53, 0x54, 0x55, 0x56,
    0x57, 0x58, 0x59, 0x5a, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x73, 0x74, 0x75,
    0x76, 0x77, 0x78, 0x79, 0x7a, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x92, 0x93,
    0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9a, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9,
    0xaa, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6,
    0xc7, 0xc8, 0xc9, 0xca, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda, 0xe1, 0xe2,
    0xe3, 0xe4, 0xe5, 0xe6, 0xe7, 0xe8, 0xe9, 0xea, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7,
    0xf8, 0xf9, 0xfa, 0xff, 0xc4, 0x00, 0x1f, 0x01, 0x00, 0x03, 0x01, 0x01, 0x01, 0x01, 0x01,
    0x01, 0x01, 0x01, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05,
    0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0xff, 0xc4, 0x00, 0xb5, 0x11, 0x00, 0x02, 0x01, 0x02,
    0x04, 0x04, 0x03, 0x04, 0x07, 0x05, 0x04, 0x04, 0x00, 0x01, 0x02, 0x77, 0x00, 0x01, 0x02,
    0x03, 0x11, 0x04, 0x05, 0x21, 0x31, 0x06, 0x12, 0x41, 0x51, 0x07, 0x61, 0x71, 0x13, 0x22,
    0x32, 0x81, 0x08, 0x14, 0x42, 0x91, 0xa1, 0xb1, 0xc1, 0x09, 0x23, 0x33, 0x52, 0xf0, 0x15,
    0x62, 0x72, 0xd1, 0x0a, 0x16, 0x24, 0x34, 0xe1, 0x25, 0xf1, 0x17, 0x18, 0x19, 0x1a, 0x26,
    0x27, 0x28, 0x29, 0x2a, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x43, 0x44, 0x45, 0x46, 0x47,
    0x48, 0x49, 0x4a, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5a, 0x63, 0x64, 0x65, 0x66,
    0x67, 0x68, 0x69, 0x6a, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a, 0x82, 0x83, 0x84,
    0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9a,
    0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7,
    0xb8, 0xb9, 0xba, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xd2, 0xd3, 0xd4,
    0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda, 0xe2, 0xe3, 0xe4, 0xe5, 0xe6, 0xe7, 0xe8, 0xe9, 0xea,
    0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa, 0xff, 0xda, 0x00, 0x0c, 0x03, 0x01,
    0x00, 0x02, 0x11, 0x03, 0x11, 0x00, 0x3f, 0x00, 0xcf, 0xa2, 0x8a, 0x2b, 0xf9, 0x5c, 0xfe,
    0xd8, 0x3f, 0xff, 0xd9,
};

/* Decode data with pixel_format fmt (NULL: the default); *outs gets the [H,W,C] output. */
static st_status image_run(const uint8_t *data, int64_t n, const char *fmt, st_value **outs,
                           ut_one *o, st_error *err) {
    *o = ut_one_new("ImageDecoder", "", 20, 1, 1);
    if (fmt) ut_attr_str(o, "pixel_format", fmt);
    st_value ins[1] = {ut_value(ST_DTYPE_U8, 1, &n, data)};
    return ut_one_run(o, ins, NULL, outs, err);
}

Test(misc, image_decoder_png_and_jpeg) {
    ut_one o;
    st_value *outs;
    st_error err = {0};
    cr_assert_eq(image_run(tiny_png, sizeof tiny_png, "BGR", &outs, &o, &err), ST_OK, "%s",
                 err.msg);
    const st_tensor *y = &outs[0].tensor;
    cr_assert_eq(y->ndim, 3);
    cr_assert(y->dims[0] == 2 && y->dims[1] == 2 && y->dims[2] == 3);
    static const uint8_t bgr[12] = {0, 0, 255, 0, 255, 0, 255, 0, 0, 30, 20, 10};
    cr_assert_arr_eq(y->data, bgr, 12);
    ut_one_done(&o, outs);

    cr_assert_eq(image_run(tiny_jpeg, sizeof tiny_jpeg, NULL, &outs, &o, &err), ST_OK, "%s",
                 err.msg);
    y = &outs[0].tensor;
    cr_assert(y->dims[0] == 8 && y->dims[1] == 8 && y->dims[2] == 3);
    const uint8_t *p = y->data;
    for (int i = 0; i < 64; i++) /* a flat colour survives JPEG within a step or two */
        cr_assert(abs(p[3 * i] - 200) <= 2 && abs(p[3 * i + 1] - 100) <= 2 &&
                      abs(p[3 * i + 2] - 50) <= 2,
                  "pixel %d = %d %d %d", i, p[3 * i], p[3 * i + 1], p[3 * i + 2]);
    ut_one_done(&o, outs);

    /* Grayscale is PIL's convert("L"): (R*19595 + G*38470 + B*7471 + 32768) >> 16 */
    cr_assert_eq(image_run(tiny_jpeg, sizeof tiny_jpeg, "Grayscale", &outs, &o, &err), ST_OK,
                 "%s", err.msg);
    y = &outs[0].tensor;
    cr_assert(y->dims[0] == 8 && y->dims[1] == 8 && y->dims[2] == 1);
    cr_assert_eq(((const uint8_t *)y->data)[0], 124);
    ut_one_done(&o, outs);
}

Test(misc, image_decoder_refuses_bad_data) {
    static const size_t cuts[] = {8, 40, sizeof tiny_png - 20};
    for (size_t i = 0; i < 3; i++) { /* truncated PNGs */
        ut_one o;
        st_value *outs = NULL;
        st_error err = {0};
        cr_assert_eq(image_run(tiny_png, (int64_t)cuts[i], NULL, &outs, &o, &err),
                     ST_ERR_FORMAT, "cut at %zu", cuts[i]);
        cr_assert(strstr(err.msg, "PNG"), "%s", err.msg);
        st_model_release(o.m);
    }
    ut_one o;
    st_value *outs = NULL;
    st_error err = {0};
    cr_assert_eq(image_run(tiny_jpeg, sizeof tiny_jpeg / 2, NULL, &outs, &o, &err),
                 ST_ERR_FORMAT);
    cr_assert(strstr(err.msg, "JPEG"), "%s", err.msg);
    st_model_release(o.m);
    static const uint8_t junk[6] = {'h', 'e', 'l', 'l', 'o', '!'};
    cr_assert_eq(image_run(junk, 6, NULL, &outs, &o, &err), ST_ERR_FORMAT);
    cr_assert(strstr(err.msg, "unrecognised"), "%s", err.msg);
    st_model_release(o.m);
}

/* ---- strings ---------------------------------------------------------------------- */
static void check_strings(const st_tensor *y, size_t n, const char *const *e) {
    cr_assert_eq(st_tensor_nelem(y), n);
    for (size_t i = 0; i < n; i++) cr_assert_str_eq(((const st_str *)y->data)[i].data, e[i]);
}

Test(misc, strnorm) {
    static const char *in[] = {"Monday", "tuesday", "ÉCOLE", "MONDAY", "Straße", "İzmir"};
    static const char *stop[] = {"monday"};
    int64_t dims[2] = {1, 6};
    ut_one o = mk("StringNormalizer", "", 1, 1);
    ut_attr_str(&o, "case_change_action", "LOWER");
    ut_attr_strs(&o, "stopwords", 1, stop);
    st_value ins[1] = {ut_value(ST_DTYPE_STRING, 2, dims, in)};
    st_value *outs;
    st_error err = {0};
    cr_assert_eq(ut_one_run(&o, ins, NULL, &outs, &err), ST_OK, "%s", err.msg);
    static const char *e[] = {"tuesday", "école", "straße", "izmir"};
    cr_assert_eq(outs[0].tensor.ndim, 2);
    check_strings(&outs[0].tensor, 4, e);
    ut_one_done(&o, outs);

    o = mk("StringNormalizer", "", 1, 1);
    ut_attr_str(&o, "case_change_action", "UPPER");
    ut_attr_str(&o, "locale", "tr_TR.UTF-8");
    ut_attr_int(&o, "is_case_sensitive", 1);
    ut_attr_strs(&o, "stopwords", 1, stop);
    ins[0] = ut_value(ST_DTYPE_STRING, 1, dims + 1, in);
    cr_assert_eq(ut_one_run(&o, ins, NULL, &outs, &err), ST_OK, "%s", err.msg);
    static const char *e2[] = {"MONDAY", "TUESDAY", "ÉCOLE", "MONDAY", "STRAßE", "İZMİR"};
    check_strings(&outs[0].tensor, 6, e2);
    ut_one_done(&o, outs);

    /* everything removed: one empty string */
    static const char *in3[] = {"monday", "Monday"};
    int64_t d3[1] = {2};
    o = mk("StringNormalizer", "", 1, 1);
    ut_attr_strs(&o, "stopwords", 1, stop);
    ins[0] = ut_value(ST_DTYPE_STRING, 1, d3, in3);
    cr_assert_eq(ut_one_run(&o, ins, NULL, &outs, &err), ST_OK, "%s", err.msg);
    static const char *e3[] = {""};
    check_strings(&outs[0].tensor, 1, e3);
    ut_one_done(&o, outs);
}

static void tfidf_case(const char *mode, int64_t mn, int64_t mx, int64_t skip, int rows,
                       const int32_t *x, int64_t C, const double *weights, const float *expect) {
    static const int64_t counts[] = {0, 4}, idx[] = {0, 1, 2, 3, 4, 5, 6};
    static const int64_t pool[] = {2, 3, 5, 4, 5, 6, 7, 8, 6, 7};
    ut_one o = mk("TfIdfVectorizer", "", 1, 1);
    ut_attr_str(&o, "mode", mode);
    ut_attr_int(&o, "min_gram_length", mn);
    ut_attr_int(&o, "max_gram_length", mx);
    ut_attr_int(&o, "max_skip_count", skip);
    ut_attr_ints(&o, "ngram_counts", 2, counts);
    ut_attr_ints(&o, "ngram_indexes", 7, idx);
    ut_attr_ints(&o, "pool_int64s", 10, pool);
    if (weights) ut_attr_floats(&o, "weights", 7, weights);
    int64_t dims[2] = {rows, C};
    st_value ins[1] = {rows > 1 ? ut_value(ST_DTYPE_I32, 2, dims, x)
                                : ut_value(ST_DTYPE_I32, 1, dims + 1, x)};
    st_value *outs;
    st_error err = {0};
    cr_assert_eq(ut_one_run(&o, ins, NULL, &outs, &err), ST_OK, "%s", err.msg);
    const st_tensor *y = &outs[0].tensor;
    cr_assert_eq(st_tensor_nelem(y), (size_t)(7 * rows));
    for (int i = 0; i < 7 * rows; i++)
        cr_assert_float_eq(((float *)y->data)[i], expect[i], 1e-6, "%s y[%d]", mode, i);
    ut_one_done(&o, outs);
}

Test(misc, tfidf) {
    static const int32_t x[] = {1, 1, 3, 3, 3, 7, 8, 6, 7, 5, 6, 8};
    static const float e1[] = {0, 0, 0, 0, 1, 1, 1};
    tfidf_case("TF", 2, 2, 0, 1, x, 12, NULL, e1);
    static const float e2[] = {0, 0, 0, 0, 1, 3, 1};
    tfidf_case("TF", 2, 2, 5, 1, x, 12, NULL, e2);
    static const float e3[] = {0, 3, 1, 0, 1, 3, 1};
    tfidf_case("TF", 1, 2, 5, 1, x, 12, NULL, e3);
    static const float e4[] = {0, 3, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 1, 1};
    tfidf_case("TF", 1, 2, 5, 2, x, 6, NULL, e4);
    static const double w[] = {1, 0.5, 2, 1, 3, 0.25, 4};
    static const float e5[] = {0, 1.5f, 2, 0, 3, 0.75f, 4};
    tfidf_case("TFIDF", 1, 2, 5, 1, x, 12, w, e5);
    static const float e6[] = {0, 0.5f, 2, 0, 3, 0.25f, 4};
    tfidf_case("IDF", 1, 2, 5, 1, x, 12, w, e6);
}

Test(misc, tfidf_strings) {
    static const char *pool[] = {"a", "b", "a", "b", "b", "c"};
    static const int64_t counts[] = {0, 2}, idx[] = {3, 0, 1, 2};
    static const char *x[] = {"a", "b", "x", "b", "c", "a"};
    ut_one o = mk("TfIdfVectorizer", "", 1, 1);
    ut_attr_str(&o, "mode", "TF");
    ut_attr_int(&o, "min_gram_length", 1);
    ut_attr_int(&o, "max_gram_length", 2);
    ut_attr_int(&o, "max_skip_count", 1);
    ut_attr_ints(&o, "ngram_counts", 2, counts);
    ut_attr_ints(&o, "ngram_indexes", 4, idx);
    ut_attr_strs(&o, "pool_strings", 6, pool);
    int64_t dims[1] = {6};
    st_value ins[1] = {ut_value(ST_DTYPE_STRING, 1, dims, x)};
    st_value *outs;
    st_error err = {0};
    cr_assert_eq(ut_one_run(&o, ins, NULL, &outs, &err), ST_OK, "%s", err.msg);
    /* unigrams a: 2 (out 3), b: 2 (out 0); bigrams with gaps 1 or 2: (a,b) only at
     * positions 0,1 (out 1), (b,c) only at 3,4 (out 2); "x" is not in the pool */
    static const float e[] = {2, 1, 1, 2};
    for (int i = 0; i < 4; i++) cr_assert_float_eq(((float *)outs[0].tensor.data)[i], e[i], 1e-6);
    ut_one_done(&o, outs);
}

/* ---- random ----------------------------------------------------------------------- */
static void uniform_run(double seed, double *out, size_t n) {
    ut_one o = mk("RandomUniform", "", 0, 1);
    int64_t shape[2] = {(int64_t)n / 10, 10};
    ut_attr_ints(&o, "shape", 2, shape);
    ut_attr_float(&o, "low", -2);
    ut_attr_float(&o, "high", 5);
    ut_attr_float(&o, "seed", seed);
    ut_attr_int(&o, "dtype", ST_DTYPE_F64);
    st_value *outs;
    st_error err = {0};
    cr_assert_eq(ut_one_run(&o, NULL, NULL, &outs, &err), ST_OK, "%s", err.msg);
    cr_assert_eq(outs[0].tensor.dtype, ST_DTYPE_F64);
    memcpy(out, outs[0].tensor.data, n * sizeof *out);
    ut_one_done(&o, outs);
}

Test(misc, random_uniform_seeded) {
    enum { N = 20000 };
    static double a[N], b[N], c[N];
    uniform_run(3.0, a, N);
    uniform_run(3.0, b, N);
    uniform_run(4.0, c, N);
    cr_assert(!memcmp(a, b, sizeof a), "same seed, same values");
    cr_assert(memcmp(a, c, sizeof a), "different seed, different values");
    double mean = 0;
    for (int i = 0; i < N; i++) {
        cr_assert(a[i] >= -2 && a[i] < 5);
        mean += a[i] / N;
    }
    cr_assert(fabs(mean - 1.5) < 0.1, "mean %g", mean);
}

Test(misc, random_normal_like) {
    enum { N = 20000 };
    static float x[N];
    int64_t dims[1] = {N};
    ut_one o = mk("RandomNormalLike", "", 1, 1);
    ut_attr_float(&o, "mean", 3);
    ut_attr_float(&o, "scale", 2);
    st_value ins[1] = {ut_value(ST_DTYPE_F32, 1, dims, x)};
    st_value *outs;
    st_error err = {0};
    cr_assert_eq(ut_one_run(&o, ins, NULL, &outs, &err), ST_OK, "%s", err.msg);
    const float *y = outs[0].tensor.data;
    cr_assert_eq(outs[0].tensor.dtype, ST_DTYPE_F32);
    double m = 0, v = 0;
    for (int i = 0; i < N; i++) m += y[i] / (double)N;
    for (int i = 0; i < N; i++) v += (y[i] - m) * (y[i] - m) / N;
    cr_assert(fabs(m - 3) < 0.1 && fabs(sqrt(v) - 2) < 0.1, "mean %g sd %g", m, sqrt(v));
    ut_one_done(&o, outs);
}

Test(misc, bernoulli_multinomial) {
    double p[6] = {0, 1, 0, 1, 1, 0};
    int64_t dims[1] = {6};
    ut_one o = mk("Bernoulli", "", 1, 1);
    ut_attr_int(&o, "dtype", ST_DTYPE_BOOL);
    st_value ins[1] = {ut_value(ST_DTYPE_F64, 1, dims, p)};
    st_value *outs;
    st_error err = {0};
    cr_assert_eq(ut_one_run(&o, ins, NULL, &outs, &err), ST_OK, "%s", err.msg);
    for (int i = 0; i < 6; i++) cr_assert_eq(((uint8_t *)outs[0].tensor.data)[i], (uint8_t)p[i]);
    ut_one_done(&o, outs);

    float logits[2][3] = {{0, -INFINITY, -INFINITY}, {-INFINITY, -INFINITY, 5}};
    int64_t d2[2] = {2, 3};
    o = mk("Multinomial", "", 1, 1);
    ut_attr_int(&o, "sample_size", 50);
    ut_attr_int(&o, "dtype", ST_DTYPE_I64);
    ut_attr_float(&o, "seed", 1);
    ins[0] = ut_value(ST_DTYPE_F32, 2, d2, logits);
    cr_assert_eq(ut_one_run(&o, ins, NULL, &outs, &err), ST_OK, "%s", err.msg);
    const int64_t *s = outs[0].tensor.data;
    cr_assert_eq(outs[0].tensor.dims[1], 50);
    for (int i = 0; i < 50; i++) cr_assert(s[i] == 0 && s[50 + i] == 2);
    ut_one_done(&o, outs);
}

/* ---- training --------------------------------------------------------------------- */
Test(misc, adam_two_tensors) {
    float r = 0.1f, x1 = 1, g1 = -1, v1 = 2, h1 = 0.5f;
    float x2[2] = {1, 2}, g2[2] = {-1, -3}, v2[2] = {4, 1}, h2[2] = {1, 10};
    int64_t d1[1] = {1}, d2[1] = {2};
    ut_one o = mk("Adam", TRAIN, 10, 6);
    ut_attr_float(&o, "norm_coefficient", 0.001);
    ut_attr_float(&o, "alpha", 0.95);
    ut_attr_float(&o, "beta", 0.85);
    ut_attr_float(&o, "epsilon", 1e-2);
    st_value ins[10] = {ut_value(ST_DTYPE_F32, 0, NULL, &r), ti64(3),
                        ut_value(ST_DTYPE_F32, 1, d1, &x1),  ut_value(ST_DTYPE_F32, 1, d2, x2),
                        ut_value(ST_DTYPE_F32, 1, d1, &g1),  ut_value(ST_DTYPE_F32, 1, d2, g2),
                        ut_value(ST_DTYPE_F32, 1, d1, &v1),  ut_value(ST_DTYPE_F32, 1, d2, v2),
                        ut_value(ST_DTYPE_F32, 1, d1, &h1),  ut_value(ST_DTYPE_F32, 1, d2, h2)};
    st_value *outs;
    st_error err = {0};
    cr_assert_eq(ut_one_run(&o, ins, NULL, &outs, &err), ST_OK, "%s", err.msg);
    const float xs[3] = {1, 1, 2}, gs[3] = {-1, -1, -3}, vs[3] = {2, 4, 1}, hs[3] = {0.5, 1, 10};
    for (int e = 0; e < 3; e++) {
        double gr = 0.001 * xs[e] + gs[e], vn = 0.95 * vs[e] + 0.05 * gr;
        double hn = 0.85 * hs[e] + 0.15 * gr * gr;
        double ra = 0.1 * sqrt(1 - pow(0.85, 3)) / (1 - pow(0.95, 3));
        double xn = xs[e] - ra * vn / (sqrt(hn) + 1e-2);
        int t = e == 0 ? 0 : 1, i = e == 0 ? 0 : e - 1;
        cr_assert_float_eq(((float *)outs[t].tensor.data)[i], xn, 1e-5);
        cr_assert_float_eq(((float *)outs[2 + t].tensor.data)[i], vn, 1e-5);
        cr_assert_float_eq(((float *)outs[4 + t].tensor.data)[i], hn, 1e-5);
    }
    ut_one_done(&o, outs);
}

Test(misc, momentum_nesterov_adagrad) {
    double r = 0.1, x[2] = {1.2, 2.8}, g[2] = {-0.94, -2.5}, v[2] = {1.7, 3.6};
    int64_t d[1] = {2};
    ut_one o = mk("Momentum", TRAIN, 5, 2);
    ut_attr_float(&o, "norm_coefficient", 0.01);
    ut_attr_float(&o, "alpha", 0.95);
    ut_attr_float(&o, "beta", 0.5);
    ut_attr_str(&o, "mode", "nesterov");
    st_value ins[5] = {ut_value(ST_DTYPE_F64, 0, NULL, &r), ti64(2),
                       ut_value(ST_DTYPE_F64, 1, d, x), ut_value(ST_DTYPE_F64, 1, d, g),
                       ut_value(ST_DTYPE_F64, 1, d, v)};
    st_value *outs;
    st_error err = {0};
    cr_assert_eq(ut_one_run(&o, ins, NULL, &outs, &err), ST_OK, "%s", err.msg);
    for (int i = 0; i < 2; i++) {
        double gr = 0.01 * x[i] + g[i], vn = 0.95 * v[i] + 0.5 * gr;
        cr_assert_float_eq(((double *)outs[0].tensor.data)[i], x[i] - r * (gr + 0.95 * vn), 1e-12);
        cr_assert_float_eq(((double *)outs[1].tensor.data)[i], vn, 1e-12);
    }
    ut_one_done(&o, outs);

    o = mk("Adagrad", TRAIN, 5, 2);
    ut_attr_float(&o, "norm_coefficient", 0.001);
    ut_attr_float(&o, "epsilon", 1e-5);
    ut_attr_float(&o, "decay_factor", 0.1);
    double h[2] = {0.1, 0.1};
    st_value ins2[5] = {ut_value(ST_DTYPE_F64, 0, NULL, &r), ti64(1),
                        ut_value(ST_DTYPE_F64, 1, d, x), ut_value(ST_DTYPE_F64, 1, d, g),
                        ut_value(ST_DTYPE_F64, 1, d, h)};
    cr_assert_eq(ut_one_run(&o, ins2, NULL, &outs, &err), ST_OK, "%s", err.msg);
    for (int i = 0; i < 2; i++) {
        double gr = 0.001 * x[i] + g[i], hn = h[i] + gr * gr;
        double xn = x[i] - r / 1.1 * gr / (sqrt(hn) + 1e-5);
        cr_assert_float_eq(((double *)outs[0].tensor.data)[i], xn, 1e-12);
        cr_assert_float_eq(((double *)outs[1].tensor.data)[i], hn, 1e-12);
    }
    ut_one_done(&o, outs);
}

/* ---- Gradient ---------------------------------------------------------------------------- */

static void grad_node(st_graph *g, const char *op, const char *a, const char *b, const char *y) {
    st_node *n = st_graph_add_node(g, op, "", op, b ? 2 : 1, 1);
    cr_assert_not_null(n);
    n->inputs[0] = st_graph_value(g, a);
    if (b) n->inputs[1] = st_graph_value(g, b);
    n->outputs[0] = st_graph_value(g, y);
}

static void grad_input(st_graph *g, const char *name, int rank, const int64_t *dims) {
    int v = st_graph_value(g, name);
    g->values[v].role = ST_VALUE_INPUT;
    g->values[v].type = (st_type){.kind = ST_VAL_TENSOR, .dtype = ST_DTYPE_F32, .rank = rank};
    g->values[v].type.dims = st_ir_alloc(g, sizeof(st_dim) * (size_t)rank);
    for (int d = 0; d < rank; d++) g->values[v].type.dims[d].value = dims[d];
    g->inputs[g->n_inputs++] = v;
}

/* y = (a*b + a) / b = a + a/b, b broadcast over a's rows: dy/da = 1 + 1/b, and dy/db sums
 * -a/b^2 over the rows b was broadcast across. */
Test(misc, gradient_through_a_broadcast_slice) {
    st_model *m = ut_model_new(17);
    ut_model_import(m, "ai.onnx.preview.training", 1);
    st_graph *g = m->graph;
    g->inputs = st_ir_alloc(g, sizeof(int) * 2);
    g->outputs = st_ir_alloc(g, sizeof(int) * 3);
    int64_t da[2] = {2, 3}, db[1] = {3};
    grad_input(g, "a", 2, da);
    grad_input(g, "b", 1, db);
    grad_node(g, "Mul", "a", "b", "t");
    grad_node(g, "Add", "t", "a", "u");
    grad_node(g, "Div", "u", "b", "y");
    st_node *gr = st_graph_add_node(g, "Gradient", "ai.onnx.preview.training", "grad", 2, 2);
    gr->inputs[0] = st_graph_value(g, "a");
    gr->inputs[1] = st_graph_value(g, "b");
    gr->outputs[0] = st_graph_value(g, "ga");
    gr->outputs[1] = st_graph_value(g, "gb");
    st_attr *xs = st_node_add_attr(g, gr, "xs", ST_ATTR_STRINGS);
    xs->n = 2;
    xs->strings = st_ir_alloc(g, 2 * sizeof(st_str));
    xs->strings[0] = (st_str){st_ir_strdup(g, "a"), 1};
    xs->strings[1] = (st_str){st_ir_strdup(g, "b"), 1};
    st_attr *ya = st_node_add_attr(g, gr, "y", ST_ATTR_STRING);
    ya->s = (st_str){st_ir_strdup(g, "y"), 1};
    g->outputs[g->n_outputs++] = st_graph_value(g, "y");
    g->outputs[g->n_outputs++] = st_graph_value(g, "ga");
    g->outputs[g->n_outputs++] = st_graph_value(g, "gb");
    float av[6] = {1, 2, 3, 4, 5, 6}, bv[3] = {2, 4, 8};
    st_value ins[2] = {ut_value(ST_DTYPE_F32, 2, da, av), ut_value(ST_DTYPE_F32, 1, db, bv)};
    st_value *outs = NULL;
    st_error err;
    cr_assert_eq(ut_session_run(m, 1, 2, NULL, ins, &outs, &err), ST_OK, "%s", err.msg);
    const float *y = outs[0].tensor.data, *ga = outs[1].tensor.data, *gb = outs[2].tensor.data;
    cr_assert_eq(outs[1].tensor.ndim, 2);
    cr_assert_eq(outs[2].tensor.ndim, 1);
    for (int i = 0; i < 6; i++) {
        cr_assert_float_eq(y[i], av[i] + av[i] / bv[i % 3], 1e-6);
        cr_assert_float_eq(ga[i], 1 + 1 / bv[i % 3], 1e-6, "da[%d]", i);
    }
    for (int j = 0; j < 3; j++)
        cr_assert_float_eq(gb[j], -(av[j] + av[j + 3]) / (bv[j] * bv[j]), 1e-6, "db[%d]", j);
    st_values_free(outs, 3);
    st_value_clear(&ins[0]);
    st_value_clear(&ins[1]);
    st_model_release(m);
}

/* An op it cannot differentiate is refused at prepare, by name. */
Test(misc, gradient_refuses_what_it_cannot_differentiate) {
    st_model *m = ut_model_new(17);
    ut_model_import(m, "ai.onnx.preview.training", 1);
    st_graph *g = m->graph;
    g->inputs = st_ir_alloc(g, sizeof(int));
    g->outputs = st_ir_alloc(g, sizeof(int));
    int64_t d[1] = {2};
    grad_input(g, "a", 1, d);
    grad_node(g, "Exp", "a", NULL, "y");
    st_node *gr = st_graph_add_node(g, "Gradient", "ai.onnx.preview.training", "grad", 1, 1);
    gr->inputs[0] = st_graph_value(g, "a");
    gr->outputs[0] = st_graph_value(g, "ga");
    st_attr *xs = st_node_add_attr(g, gr, "xs", ST_ATTR_STRINGS);
    xs->n = 1;
    xs->strings = st_ir_alloc(g, sizeof(st_str));
    xs->strings[0] = (st_str){st_ir_strdup(g, "a"), 1};
    st_node_add_attr(g, gr, "y", ST_ATTR_STRING)->s = (st_str){st_ir_strdup(g, "y"), 1};
    g->outputs[g->n_outputs++] = st_graph_value(g, "ga");
    float av[2] = {0, 1};
    st_value in = ut_value(ST_DTYPE_F32, 1, d, av);
    st_value *outs = NULL;
    st_error err;
    cr_assert_eq(ut_session_run(m, 1, 1, NULL, &in, &outs, &err), ST_ERR_UNSUPPORTED);
    cr_assert(strstr(err.msg, "cannot differentiate through Exp"), "%s", err.msg);
    st_value_clear(&in);
    st_model_release(m);
}

/* ---- ai.onnx.ml ------------------------------------------------------------------- */
static ut_one mk_ml(const char *op) {
    ut_one o = ut_one_new(op, "ai.onnx.ml", 17, 1, 1);
    ut_model_import(o.m, "ai.onnx.ml", 5);
    return o;
}

static st_attr *attr_tensor_add(ut_one *o, const char *name, st_dtype dt, int64_t n,
                                const void *data) {
    st_attr *a = st_node_add_attr(o->g, o->n, name, ST_ATTR_TENSOR);
    a->t = ut_value(dt, 1, &n, data).tensor;
    return a;
}

Test(misc, label_encoder_strings_to_int) {
    static const char *keys[] = {"a", "b", "c"}, *x[] = {"a", "b", "d", "c", "g"};
    static const int64_t vals[] = {0, 1, 2};
    for (int with_default = 0; with_default < 2; with_default++) {
        ut_one o = mk_ml("LabelEncoder");
        ut_attr_strs(&o, "keys_strings", 3, keys);
        ut_attr_ints(&o, "values_int64s", 3, vals);
        if (with_default) ut_attr_int(&o, "default_int64", 42);
        int64_t d = 5;
        st_value ins[1] = {ut_value(ST_DTYPE_STRING, 1, &d, x)};
        st_value *outs;
        st_error err = {0};
        cr_assert_eq(ut_one_run(&o, ins, NULL, &outs, &err), ST_OK, "%s", err.msg);
        int64_t def = with_default ? 42 : -1, e[] = {0, 1, def, 2, def};
        cr_assert_eq(outs[0].tensor.dtype, ST_DTYPE_I64);
        for (int i = 0; i < 5; i++) cr_assert_eq(((int64_t *)outs[0].tensor.data)[i], e[i]);
        ut_one_done(&o, outs);
    }
}

/* keys_tensor / values_tensor / default_tensor, float keys with NaN, float -> string. */
Test(misc, label_encoder_tensors) {
    static const float keys[] = {2.5f, NAN, -1.0f};
    static const char *vals[] = {"two", "nan", "minus"}, *def[] = {"other"};
    ut_one o = mk_ml("LabelEncoder");
    attr_tensor_add(&o, "keys_tensor", ST_DTYPE_F32, 3, keys);
    attr_tensor_add(&o, "values_tensor", ST_DTYPE_STRING, 3, vals);
    attr_tensor_add(&o, "default_tensor", ST_DTYPE_STRING, 1, def);
    int64_t d[2] = {2, 2};
    float x[] = {-1.0f, NAN, 3.0f, 2.5f};
    st_value ins[1] = {ut_value(ST_DTYPE_F32, 2, d, x)};
    st_value *outs;
    st_error err = {0};
    cr_assert_eq(ut_one_run(&o, ins, NULL, &outs, &err), ST_OK, "%s", err.msg);
    static const char *e[] = {"minus", "nan", "other", "two"};
    cr_assert_eq(outs[0].tensor.ndim, 2);
    check_strings(&outs[0].tensor, 4, e);
    ut_one_done(&o, outs);

    /* keys and values of different lengths are refused */
    o = mk_ml("LabelEncoder");
    static const int64_t k2[] = {1, 2};
    static const double v2[] = {1};
    ut_attr_ints(&o, "keys_int64s", 2, k2);
    ut_attr_floats(&o, "values_floats", 1, v2);
    int64_t xi = 1, one = 1;
    ins[0] = ut_value(ST_DTYPE_I64, 1, &one, &xi);
    cr_assert_eq(ut_one_run(&o, ins, NULL, &outs, &err), ST_ERR_INVALID);
    cr_assert(strstr(err.msg, "2 keys but 1 values"), "%s", err.msg);
    ut_one_done(&o, NULL);
}

Test(misc, binarizer_and_array_feature_extractor) {
    ut_one o = mk_ml("Binarizer");
    ut_attr_float(&o, "threshold", 1.0);
    int64_t d = 4;
    double x[] = {0.5, 1.0, 1.5, -3};
    st_value ins[2] = {ut_value(ST_DTYPE_F64, 1, &d, x)};
    st_value *outs;
    st_error err = {0};
    cr_assert_eq(ut_one_run(&o, ins, NULL, &outs, &err), ST_OK, "%s", err.msg);
    double e[] = {0, 0, 1, 0};
    for (int i = 0; i < 4; i++) cr_assert_eq(((double *)outs[0].tensor.data)[i], e[i]);
    ut_one_done(&o, outs);

    o = ut_one_new("ArrayFeatureExtractor", "ai.onnx.ml", 17, 2, 1);
    ut_model_import(o.m, "ai.onnx.ml", 1);
    int64_t dx[2] = {3, 4}, di = 2, idx[] = {3, 0};
    int32_t xv[12] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
    ins[0] = ut_value(ST_DTYPE_I32, 2, dx, xv);
    ins[1] = ut_value(ST_DTYPE_I64, 1, &di, idx);
    cr_assert_eq(ut_one_run(&o, ins, NULL, &outs, &err), ST_OK, "%s", err.msg);
    int32_t ea[] = {3, 0, 7, 4, 11, 8};
    cr_assert_eq(outs[0].tensor.dims[0], 3);
    cr_assert_eq(outs[0].tensor.dims[1], 2);
    for (int i = 0; i < 6; i++) cr_assert_eq(((int32_t *)outs[0].tensor.data)[i], ea[i]);
    ut_one_done(&o, outs);

    o = ut_one_new("ArrayFeatureExtractor", "ai.onnx.ml", 17, 2, 1);
    ut_model_import(o.m, "ai.onnx.ml", 1);
    int64_t bad = 4;
    ins[0] = ut_value(ST_DTYPE_I32, 2, dx, xv);
    d = 1;
    ins[1] = ut_value(ST_DTYPE_I64, 1, &d, &bad);
    cr_assert_eq(ut_one_run(&o, ins, NULL, &outs, &err), ST_ERR_INVALID);
    cr_assert(strstr(err.msg, "index 4 out of range"), "%s", err.msg);
    ut_one_done(&o, NULL);
}

/* One tree: node 0 (x0 <= 3.14) -> node 1 (x0 <= 1.2: leaf 0 | leaf 1),
 * else node 2 (x0 <= 4.2: leaf 2 | leaf 3); leaves 0,2 -> target 0, leaves 1,3 -> 1. */
static void tree_case(int agg, int post, int n_trees, const int64_t *modes8, const float *mem,
                      int64_t n_mem, const float *x, int rows, const float *expect) {
    ut_one o = mk_ml("TreeEnsemble");
    static const int64_t f[] = {0, 0, 0}, tn[] = {1, 0, 2}, fn[] = {2, 1, 3};
    static const int64_t tl[] = {0, 1, 1}, fl[] = {0, 1, 1}, tg[] = {0, 1, 0, 1};
    static const int64_t roots[] = {0, 0};
    static const float w[] = {5, 12, -12, 7}, sp[] = {3.14f, 1.2f, 4.2f};
    uint8_t md[3];
    for (int i = 0; i < 3; i++) md[i] = (uint8_t)modes8[i];
    ut_attr_ints(&o, "nodes_featureids", 3, f);
    ut_attr_ints(&o, "nodes_truenodeids", 3, tn);
    ut_attr_ints(&o, "nodes_falsenodeids", 3, fn);
    ut_attr_ints(&o, "nodes_trueleafs", 3, tl);
    ut_attr_ints(&o, "nodes_falseleafs", 3, fl);
    ut_attr_ints(&o, "leaf_targetids", 4, tg);
    ut_attr_ints(&o, "tree_roots", (size_t)n_trees, roots);
    ut_attr_int(&o, "n_targets", 2);
    ut_attr_int(&o, "aggregate_function", agg);
    ut_attr_int(&o, "post_transform", post);
    attr_tensor_add(&o, "leaf_weights", ST_DTYPE_F32, 4, w);
    attr_tensor_add(&o, "nodes_splits", ST_DTYPE_F32, 3, sp);
    attr_tensor_add(&o, "nodes_modes", ST_DTYPE_U8, 3, md);
    if (mem) attr_tensor_add(&o, "membership_values", ST_DTYPE_F32, n_mem, mem);
    int64_t d[2] = {rows, 1};
    st_value ins[1] = {ut_value(ST_DTYPE_F32, 2, d, x)};
    st_value *outs;
    st_error err = {0};
    cr_assert_eq(ut_one_run(&o, ins, NULL, &outs, &err), ST_OK, "%s", err.msg);
    cr_assert_eq(outs[0].tensor.dims[1], 2);
    for (int i = 0; i < rows * 2; i++)
        cr_assert_float_eq(((float *)outs[0].tensor.data)[i], expect[i], 1e-5, "y[%d]", i);
    ut_one_done(&o, outs);
}

Test(misc, tree_ensemble) {
    static const int64_t leq[] = {0, 0, 0}, mem_modes[] = {0, 6, 6};
    static const float x[] = {1.0f, 2.0f, 4.0f, 100.0f};
    /* leaves: 0 (5 -> t0), 1 (12 -> t1), 2 (-12 -> t0), 3 (7 -> t1) */
    static const float sum[] = {5, 0, 0, 12, -12, 0, 0, 7};
    tree_case(1, 0, 1, leq, NULL, 0, x, 4, sum);
    static const float sum2[] = {10, 0, 0, 24, -24, 0, 0, 14};
    tree_case(1, 0, 2, leq, NULL, 0, x, 4, sum2);
    tree_case(0, 0, 2, leq, NULL, 0, x, 4, sum); /* average of two equal trees */
    static const float lg[] = {0.993307f, 0.5f, 0.5f, 0.999994f, 6.1442e-6f, 0.5f, 0.5f, 0.999089f};
    tree_case(1, 3, 1, leq, NULL, 0, x, 4, lg);
    static const float sm[] = {0.993307f, 0.006693f, 0.000006f, 0.999994f,
                               0.000006f, 0.999994f, 0.000911f, 0.999089f};
    tree_case(1, 1, 1, leq, NULL, 0, x, 4, sm);
    /* node 1 tests membership of {1.2, 3.7}, node 2 of {8}: 3.7 > 3.14 goes to node 2,
     * not 8 -> leaf 3; 1.0 goes to node 1, not a member -> leaf 1 */
    static const float mv[] = {1.2f, 3.7f, NAN, 8.0f, NAN};
    static const float xm[] = {1.0f, 1.2f, 3.7f, 8.0f};
    static const float em[] = {0, 12, 5, 0, 0, 7, -12, 0};
    tree_case(1, 0, 1, mem_modes, mv, 5, xm, 4, em);
}

/* ---- StringConcat, StringSplit, RegexFullMatch (opset 20) -------------------------- */
Test(misc, string_concat_broadcasts) {
    static const char *x[] = {"a", "bé"}, *y[] = {"x", "", "yz"};
    int64_t dx[2] = {2, 1}, dy[1] = {3};
    ut_one o = ut_one_new("StringConcat", "", 20, 2, 1);
    st_value ins[2] = {ut_value(ST_DTYPE_STRING, 2, dx, x), ut_value(ST_DTYPE_STRING, 1, dy, y)};
    st_value *outs;
    st_error err = {0};
    cr_assert_eq(ut_one_run(&o, ins, NULL, &outs, &err), ST_OK, "%s", err.msg);
    static const char *e[] = {"ax", "a", "ayz", "béx", "bé", "béyz"};
    cr_assert_eq(outs[0].tensor.ndim, 2);
    cr_assert_eq(outs[0].tensor.dims[0], 2);
    cr_assert_eq(outs[0].tensor.dims[1], 3);
    check_strings(&outs[0].tensor, 6, e);
    ut_one_done(&o, outs);
}

/* Y [n, most substrings] padded with "", Z the counts; Python's str.split semantics. */
static void split_case(const char *delim, int64_t maxsplit, size_t n, const char *const *x,
                       int64_t width, const char *const *ey, const int64_t *ez) {
    ut_one o = ut_one_new("StringSplit", "", 20, 1, 2);
    if (delim) ut_attr_str(&o, "delimiter", delim);
    if (maxsplit >= 0) ut_attr_int(&o, "maxsplit", maxsplit);
    int64_t d = (int64_t)n;
    st_value ins[1] = {ut_value(ST_DTYPE_STRING, 1, &d, x)};
    st_value *outs;
    st_error err = {0};
    cr_assert_eq(ut_one_run(&o, ins, NULL, &outs, &err), ST_OK, "%s", err.msg);
    cr_assert_eq(outs[0].tensor.ndim, 2);
    cr_assert_eq(outs[0].tensor.dims[1], width);
    check_strings(&outs[0].tensor, n * (size_t)width, ey);
    cr_assert_eq(outs[1].tensor.dtype, ST_DTYPE_I64);
    for (size_t i = 0; i < n; i++) cr_assert_eq(((int64_t *)outs[1].tensor.data)[i], ez[i]);
    ut_one_done(&o, outs);
}

Test(misc, string_split) {
    static const char *x1[] = {"a--b", "", "c-"};
    static const char *y1[] = {"a", "", "b", "", "", "", "c", "", ""};
    static const int64_t z1[] = {3, 1, 2};
    split_case("-", -1, 3, x1, 3, y1, z1);
    /* whitespace (no delimiter, or ""): runs collapse, ends dropped, U+3000 counts */
    static const char *x2[] = {"  a b\t\tc ", "   ", "x\u3000y"};
    static const char *y2[] = {"a", "b\t\tc ", "", "", "x", "y"};
    static const int64_t z2[] = {2, 0, 2};
    split_case(NULL, 1, 3, x2, 2, y2, z2);
    static const char *y3[] = {"a", "b", "c", "", "", "", "x", "y", ""};
    static const int64_t z3[] = {3, 0, 2};
    split_case("", -1, 3, x2, 3, y3, z3);
    static const char *x4[] = {"1.2.3.4"}, *y4[] = {"1", "2", "3.4"};
    static const int64_t z4[] = {3};
    split_case(".", 2, 1, x4, 3, y4, z4);
}

static st_status regex_run(const char *pattern, size_t n, const char *const *x, bool *y,
                           st_error *err) {
    ut_one o = ut_one_new("RegexFullMatch", "", 20, 1, 1);
    ut_attr_str(&o, "pattern", pattern);
    int64_t d = (int64_t)n;
    st_value ins[1] = {ut_value(ST_DTYPE_STRING, 1, &d, x)};
    st_value *outs = NULL;
    st_status s = ut_one_run(&o, ins, NULL, &outs, err);
    if (!s) {
        cr_assert_eq(outs[0].tensor.dtype, ST_DTYPE_BOOL);
        for (size_t i = 0; i < n; i++) y[i] = ((const uint8_t *)outs[0].tensor.data)[i];
    }
    ut_one_done(&o, outs);
    return s;
}

Test(misc, regex_full_match) {
    static const char *x[] = {"bob@gmail.com", "bob@gmail.com.x", "Bob@yahoo.com", "al@yahoo.com",
                              "x bob@gmail.com"};
    bool y[5];
    st_error err = {0};
    cr_assert_eq(regex_run("[a-z]+@(gmail|yahoo)\\.com", 5, x, y, &err), ST_OK, "%s", err.msg);
    bool e[] = {true, false, false, true, false};
    for (int i = 0; i < 5; i++) cr_assert_eq(y[i], e[i], "element %d", i);
    /* UTF-8: "é+" repeats the code point; `$` does not match before a final newline */
    static const char *u[] = {"ééé", "a\n", "a"};
    cr_assert_eq(regex_run("é+|a$", 3, u, y, &err), ST_OK, "%s", err.msg);
    cr_assert(y[0] && !y[1] && y[2]);
    /* what RE2 refuses is refused by name; a malformed pattern gets PCRE2's reason */
    static const char *const bad[][2] = {{"(a)\\1", "backreferences"},
                                         {"(?=a)a", "lookaround"},
                                         {"(?<!b)a", "lookaround"},
                                         {"a++", "possessive"},
                                         {"(?>a)", "atomic"},
                                         {"(a", "offset"}};
    for (size_t i = 0; i < ST_ARRAY_LEN(bad); i++) {
        st_error e2 = {0};
        cr_assert_neq(regex_run(bad[i][0], 1, x, y, &e2), ST_OK, "%s", bad[i][0]);
        cr_assert(strstr(e2.msg, bad[i][1]), "%s: %s", bad[i][0], e2.msg);
    }
    /* escapes and classes are not mistaken for those constructs */
    static const char *z[] = {"(?=1", "+"};
    cr_assert_eq(regex_run("\\(\\?=[1]|[+]", 2, z, y, &err), ST_OK, "%s", err.msg);
    cr_assert(y[0] && y[1]);
}
