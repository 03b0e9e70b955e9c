/* tests/unit/test_minifloat.c: the ONNX 1.20 narrow types — float8/float4 codes <-> float32
 * (round to nearest even, saturation, NaN/inf per type, every code round-trips), the
 * 4-/2-bit integer wrap, and the ONNX codec's packing (odd counts, raw_data, int32_data). */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ir.h"
#include "unit_util.h"

static const st_dtype f8_types[] = {ST_DTYPE_F8E4M3FN, ST_DTYPE_F8E4M3FNUZ, ST_DTYPE_F8E5M2,
                                    ST_DTYPE_F8E5M2FNUZ, ST_DTYPE_F4E2M1};

Test(minifloat, every_code_round_trips) {
    for (size_t k = 0; k < sizeof f8_types / sizeof f8_types[0]; k++) {
        st_dtype t = f8_types[k];
        int ncodes = t == ST_DTYPE_F4E2M1 ? 16 : 256, nans = 0;
        for (int c = 0; c < ncodes; c++) {
            float f = st_minifloat_to_f32(t, (uint8_t)c);
            if (isnan(f)) {
                nans++;
                continue;
            }
            cr_assert_eq(st_f32_to_minifloat(t, f, false), c, "%s code 0x%02x -> %g",
                         st_dtype_name(t), c, f);
        }
        int want = t == ST_DTYPE_F8E4M3FN ? 2
                   : t == ST_DTYPE_F8E5M2 ? 6
                   : t == ST_DTYPE_F4E2M1 ? 0
                                          : 1;
        cr_assert_eq(nans, want, "%s has %d NaN codes", st_dtype_name(t), nans);
    }
}

Test(minifloat, e4m3fn) {
    st_dtype t = ST_DTYPE_F8E4M3FN;
    cr_assert_eq(st_minifloat_to_f32(t, 0x7e), 448.0f);
    cr_assert_eq(st_minifloat_to_f32(t, 0x01), ldexpf(1, -9)); /* smallest subnormal */
    cr_assert_eq(st_f32_to_minifloat(t, 464.0f, false), 0x7e); /* tie to even, not NaN */
    cr_assert_eq(st_f32_to_minifloat(t, 465.0f, true), 0x7e);  /* saturates */
    cr_assert_eq(st_f32_to_minifloat(t, 465.0f, false), 0x7f); /* NaN */
    cr_assert_eq(st_f32_to_minifloat(t, -INFINITY, true), 0xfe);
    cr_assert_eq(st_f32_to_minifloat(t, INFINITY, false), 0x7f);
    cr_assert_eq(st_f32_to_minifloat(t, NAN, true), 0x7f);
    cr_assert_eq(st_f32_to_minifloat(t, -0.0f, true), 0x80);
    cr_assert_eq(st_f32_to_minifloat(t, ldexpf(1, -10), true), 0x00); /* tie to even: 0 */
    cr_assert_eq(st_f32_to_minifloat(t, ldexpf(3, -11), true), 0x01); /* 0.75 ulp up */
    cr_assert_eq(st_f32_to_minifloat(t, 1.0625f, true), 0x38);        /* tie to 1.0 */
    cr_assert_eq(st_f32_to_minifloat(t, 1.1875f, true), 0x3a);        /* tie to 1.25 */
}

Test(minifloat, fnuz_and_e5m2) {
    st_dtype u = ST_DTYPE_F8E4M3FNUZ, e = ST_DTYPE_F8E5M2, eu = ST_DTYPE_F8E5M2FNUZ;
    cr_assert_eq(st_minifloat_to_f32(u, 0x7f), 240.0f);
    cr_assert(isnan(st_minifloat_to_f32(u, 0x80)));
    cr_assert_eq(st_f32_to_minifloat(u, -0.0f, true), 0x00);  /* no negative zero */
    cr_assert_eq(st_f32_to_minifloat(u, -1e-7f, true), 0x00); /* underflow to +0 */
    cr_assert_eq(st_f32_to_minifloat(u, INFINITY, true), 0x7f);
    cr_assert_eq(st_f32_to_minifloat(u, -1e6f, false), 0x80);
    cr_assert_eq(st_f32_to_minifloat(u, NAN, false), 0x80);
    cr_assert_eq(st_minifloat_to_f32(e, 0x7b), 57344.0f);
    cr_assert_eq(st_minifloat_to_f32(e, 0xfc), -INFINITY);
    cr_assert_eq(st_f32_to_minifloat(e, INFINITY, true), 0x7b);
    cr_assert_eq(st_f32_to_minifloat(e, -INFINITY, false), 0xfc);
    cr_assert_eq(st_f32_to_minifloat(e, 61440.0f, true), 0x7b);  /* tie rounds up: saturates */
    cr_assert_eq(st_f32_to_minifloat(e, 61440.0f, false), 0x7c); /* ... or is infinity */
    cr_assert_eq(st_f32_to_minifloat(e, 61439.0f, false), 0x7b);
    cr_assert_eq(st_f32_to_minifloat(e, -1e-7f, true), 0x80); /* -0 kept */
    cr_assert_eq(st_minifloat_to_f32(eu, 0x7f), 57344.0f);
    cr_assert_eq(st_minifloat_to_f32(eu, 0x01), ldexpf(1, -17));
    cr_assert_eq(st_f32_to_minifloat(eu, -INFINITY, false), 0x80);
}

Test(minifloat, float4e2m1) {
    st_dtype t = ST_DTYPE_F4E2M1;
    static const float vals[8] = {0, 0.5f, 1, 1.5f, 2, 3, 4, 6};
    for (int c = 0; c < 8; c++) {
        cr_assert_eq(st_minifloat_to_f32(t, (uint8_t)c), vals[c]);
        cr_assert_eq(st_minifloat_to_f32(t, (uint8_t)(c | 8)), -vals[c]);
    }
    cr_assert_eq(st_f32_to_minifloat(t, 0.25f, true), 0x0); /* tie to even */
    cr_assert_eq(st_f32_to_minifloat(t, 0.75f, true), 0x2); /* tie to 1.0 */
    cr_assert_eq(st_f32_to_minifloat(t, 5.0f, true), 0x6);  /* tie to 4 */
    cr_assert_eq(st_f32_to_minifloat(t, -3.5f, true), 0xe); /* tie to -4 */
    cr_assert_eq(st_f32_to_minifloat(t, 1e6f, false), 0x7); /* always saturates */
    cr_assert_eq(st_f32_to_minifloat(t, -INFINITY, false), 0xf);
    cr_assert_eq(st_f32_to_minifloat(t, NAN, true), 0x0);
}

Test(minifloat, e8m0) {
    cr_assert_eq(st_minifloat_to_f32(ST_DTYPE_F8E8M0, 127), 1.0f);
    cr_assert_eq(st_minifloat_to_f32(ST_DTYPE_F8E8M0, 0), ldexpf(1, -127));
    cr_assert(isnan(st_minifloat_to_f32(ST_DTYPE_F8E8M0, 0xff)));
    cr_assert_eq(st_f32_to_e8m0(1.0f, true, ST_E8M0_UP), 127);
    cr_assert_eq(st_f32_to_e8m0(1.1f, true, ST_E8M0_UP), 128);
    cr_assert_eq(st_f32_to_e8m0(1.9f, true, ST_E8M0_DOWN), 127);
    cr_assert_eq(st_f32_to_e8m0(1.4f, true, ST_E8M0_NEAREST), 127);
    cr_assert_eq(st_f32_to_e8m0(1.6f, true, ST_E8M0_NEAREST), 128);
    cr_assert_eq(st_f32_to_e8m0(-4.0f, true, ST_E8M0_UP), 129); /* the sign is dropped */
    cr_assert_eq(st_f32_to_e8m0(INFINITY, true, ST_E8M0_UP), 0xfe);
    cr_assert_eq(st_f32_to_e8m0(INFINITY, false, ST_E8M0_UP), 0xff);
    cr_assert_eq(st_f32_to_e8m0(NAN, true, ST_E8M0_UP), 0xff);
    cr_assert_eq(st_f32_to_e8m0(ldexpf(1.5f, 127), true, ST_E8M0_UP), 0xfe);  /* saturates */
    cr_assert_eq(st_f32_to_e8m0(ldexpf(1.5f, 127), false, ST_E8M0_UP), 0xff); /* NaN */
}

Test(minifloat, narrow_int_wrap) {
    cr_assert_eq((int8_t)st_narrow_int_wrap(ST_DTYPE_I4, 8), -8);
    cr_assert_eq((int8_t)st_narrow_int_wrap(ST_DTYPE_I4, -9), 7);
    cr_assert_eq(st_narrow_int_wrap(ST_DTYPE_U4, 17), 1);
    cr_assert_eq(st_narrow_int_wrap(ST_DTYPE_U2, -1), 3);
    cr_assert_eq((int8_t)st_narrow_int_wrap(ST_DTYPE_I2, 2), -2);
    cr_assert_eq(st_dtype_bits(ST_DTYPE_I2), 2);
    cr_assert_eq(st_dtype_bits(ST_DTYPE_F4E2M1), 4);
    cr_assert_eq(st_dtype_bits(ST_DTYPE_F8E8M0), 8);
    cr_assert_eq(st_dtype_size(ST_DTYPE_I4), 1); /* one byte per value in the IR */
    cr_assert_str_eq(st_dtype_name(ST_DTYPE_F8E4M3FNUZ), "float8e4m3fnuz");
}

/* Write t to a .pb, check the file holds `packed` and that it reads back equal. */
static void pack_round_trip(st_dtype dt, const void *v, int n, const uint8_t *packed, int np) {
    char path[] = "/tmp/st-minifloat-XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    close(fd);
    st_value val;
    memset(&val, 0, sizeof val);
    val.kind = ST_VAL_TENSOR;
    int64_t dims[1] = {n};
    st_error err;
    cr_assert_eq(st_tensor_alloc(&val.tensor, dt, 1, dims, &err), ST_OK);
    memcpy(val.tensor.data, v, (size_t)n);
    cr_assert_eq(st_value_write_pb(path, &val, "t", &err), ST_OK, "%s", err.msg);
    uint8_t buf[256];
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f);
    size_t got = fread(buf, 1, sizeof buf, f);
    fclose(f);
    bool found = false;
    for (size_t i = 0; i + (size_t)np <= got && !found; i++)
        found = buf[i] == 0x4a && buf[i + 1] == np && !memcmp(buf + i + 2, packed, (size_t)np);
    cr_assert(found, "%s: raw_data of %d packed bytes not in the file", st_dtype_name(dt), np);
    st_value back;
    cr_assert_eq(st_value_read(path, NULL, &back, NULL, &err), ST_OK, "%s", err.msg);
    cr_assert_eq(back.tensor.dtype, dt);
    cr_assert_eq(back.tensor.dims[0], n);
    cr_assert_arr_eq(back.tensor.data, v, (size_t)n);
    st_value_clear(&back);
    st_value_clear(&val);
    unlink(path);
}

Test(minifloat, onnx_packing_odd_counts) {
    static const int8_t i4[5] = {-8, -1, 0, 7, 3};
    static const uint8_t i4p[3] = {0xf8, 0x70, 0x03};
    pack_round_trip(ST_DTYPE_I4, i4, 5, i4p, 3);
    static const int8_t u2[5] = {0, 1, 2, 3, 1};
    static const uint8_t u2p[2] = {0xe4, 0x01};
    pack_round_trip(ST_DTYPE_U2, u2, 5, u2p, 2);
    static const int8_t i2[3] = {-2, 1, -1};
    static const uint8_t i2p[1] = {0x36};
    pack_round_trip(ST_DTYPE_I2, i2, 3, i2p, 1);
    static const uint8_t f4[3] = {0x7, 0xf, 0x1}; /* 6, -6, 0.5: codes in the low 4 bits */
    static const uint8_t f4p[2] = {0xf7, 0x01};
    pack_round_trip(ST_DTYPE_F4E2M1, f4, 3, f4p, 2);
}

/* A TensorProto written by hand: int4 [3] in int32_data, two values per int32. */
Test(minifloat, onnx_int32_data) {
    static const uint8_t pb[] = {0x08, 0x03, 0x10, 22, 0x2a, 0x03, 0xf8, 0x01, 0x07};
    char path[] = "/tmp/st-minifloat-XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, pb, sizeof pb), (ssize_t)sizeof pb);
    close(fd);
    char pbpath[64];
    snprintf(pbpath, sizeof pbpath, "%s.pb", path);
    cr_assert_eq(rename(path, pbpath), 0);
    st_value v;
    st_error err;
    cr_assert_eq(st_value_read(pbpath, NULL, &v, NULL, &err), ST_OK, "%s", err.msg);
    unlink(pbpath);
    cr_assert_eq(v.tensor.dtype, ST_DTYPE_I4);
    const int8_t *d = v.tensor.data;
    cr_assert(d[0] == -8 && d[1] == -1 && d[2] == 7, "got %d %d %d", d[0], d[1], d[2]);
    st_value_clear(&v);
    /* a packed field of the wrong length is an error, not a crash */
    static const uint8_t bad[] = {0x08, 0x05, 0x10, 22, 0x4a, 0x02, 0x11, 0x22};
    fd = open(pbpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, bad, sizeof bad), (ssize_t)sizeof bad);
    close(fd);
    cr_assert_eq(st_value_read(pbpath, NULL, &v, NULL, &err), ST_ERR_FORMAT);
    cr_assert(strstr(err.msg, "expected 3"), "%s", err.msg);
    unlink(pbpath);
}

/* .npy has no narrow types: `run` writes float8 as float32 and reads float32 back as the
 * float8 type the model asks for (int8 values as int4 likewise). */
Test(minifloat, npy_in_and_out) {
    char path[] = "/tmp/st-minifloat-XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    close(fd);
    char npy[64];
    snprintf(npy, sizeof npy, "%s.npy", path);
    unlink(path);
    st_tensor t;
    st_error err;
    int64_t dims[1] = {4};
    cr_assert_eq(st_tensor_alloc(&t, ST_DTYPE_F8E4M3FN, 1, dims, &err), ST_OK);
    uint8_t codes[4] = {0x7e, 0x80, 0x01, 0x7f}; /* 448, -0, 2^-9, NaN */
    memcpy(t.data, codes, 4);
    cr_assert_eq(st_tensor_write_npy(npy, &t, &err), ST_OK, "%s", err.msg);
    st_value plain;
    cr_assert_eq(st_value_read(npy, NULL, &plain, NULL, &err), ST_OK, "%s", err.msg);
    cr_assert_eq(plain.tensor.dtype, ST_DTYPE_F32);
    const float *f = plain.tensor.data;
    cr_assert(f[0] == 448.0f && f[1] == 0 && signbit(f[1]) && f[2] == ldexpf(1, -9) && isnan(f[3]));
    st_value_clear(&plain);
    st_value_info want;
    memset(&want, 0, sizeof want);
    want.kind = ST_VAL_TENSOR;
    want.dtype = ST_DTYPE_F8E4M3FN;
    st_value back;
    cr_assert_eq(st_value_read(npy, &want, &back, NULL, &err), ST_OK, "%s", err.msg);
    cr_assert_eq(back.tensor.dtype, ST_DTYPE_F8E4M3FN);
    cr_assert_arr_eq(back.tensor.data, codes, 4);
    st_value_clear(&back);
    unlink(npy);
    st_tensor_clear(&t);
}

/* Cast x (consumed) to `to` at opset; saturate < 0 leaves the attribute out. */
static st_value cast_one(st_value x, st_dtype to, int64_t opset, int saturate) {
    ut_one o = ut_one_new("Cast", "", opset, 1, 1);
    ut_attr_int(&o, "to", to);
    if (saturate >= 0) ut_attr_int(&o, "saturate", saturate);
    st_value *outs = NULL;
    st_error err;
    cr_assert_eq(ut_one_run(&o, &x, NULL, &outs, &err), ST_OK, "%s", err.msg);
    st_value y;
    st_tensor_copy(&y.tensor, &outs[0].tensor, NULL);
    y.kind = ST_VAL_TENSOR;
    ut_one_done(&o, outs);
    return y;
}

Test(minifloat, cast) {
    int64_t d4[1] = {4}, d3[1] = {3};
    const char *txt[4] = {"448", "1000", "nan", "-0.3"};
    st_value y = cast_one(ut_value(ST_DTYPE_STRING, 1, d4, txt), ST_DTYPE_F8E4M3FN, 21, -1);
    static const uint8_t from_text[4] = {0x7e, 0x7e, 0x7f, 0xaa};
    cr_assert_eq(y.tensor.dtype, ST_DTYPE_F8E4M3FN);
    cr_assert_arr_eq(y.tensor.data, from_text, 4);
    st_value_clear(&y);

    static const float big[3] = {1000.0f, -1000.0f, 0.3f};
    y = cast_one(ut_value(ST_DTYPE_F32, 1, d3, big), ST_DTYPE_F8E4M3FN, 21, 0);
    static const uint8_t no_sat[3] = {0x7f, 0x7f, 0x2a}; /* NaN (no -NaN in E4M3FN's spec) */
    cr_assert_eq(((uint8_t *)y.tensor.data)[0], no_sat[0]);
    cr_assert_eq(((uint8_t *)y.tensor.data)[2], no_sat[2]);
    cr_assert(isnan(st_minifloat_to_f32(ST_DTYPE_F8E4M3FN, ((uint8_t *)y.tensor.data)[1])));
    st_value_clear(&y);

    static const float wrap[3] = {-9.0f, 8.0f, 7.9f};
    y = cast_one(ut_value(ST_DTYPE_F32, 1, d3, wrap), ST_DTYPE_I4, 21, -1);
    static const int8_t wrapped[3] = {7, -8, 7};
    cr_assert_arr_eq(y.tensor.data, wrapped, 3);
    /* int4 -> float8 goes through the value: -8 is 1.0 * 2^3 */
    y = cast_one(y, ST_DTYPE_F8E4M3FN, 21, -1);
    cr_assert_eq(((uint8_t *)y.tensor.data)[1], 0xd0);
    y = cast_one(y, ST_DTYPE_F16, 21, -1);
    cr_assert_eq(st_f16_to_f32(((uint16_t *)y.tensor.data)[1]), -8.0f);
    cr_assert_eq(st_f16_to_f32(((uint16_t *)y.tensor.data)[0]), 7.0f);
    st_value_clear(&y);
}

/* Cast to bfloat16 truncates before opset 19 (the reference data of ONNX 1.12) and rounds
 * to nearest even from Cast-19 (ONNX 1.20's). */
Test(minifloat, cast_bfloat16_by_opset) {
    uint32_t bits = 0x3f80c000u;
    float f;
    memcpy(&f, &bits, sizeof f);
    int64_t d1[1] = {1};
    st_value y = cast_one(ut_value(ST_DTYPE_F32, 1, d1, &f), ST_DTYPE_BF16, 13, -1);
    cr_assert_eq(*(uint16_t *)y.tensor.data, 0x3f80);
    st_value_clear(&y);
    y = cast_one(ut_value(ST_DTYPE_F32, 1, d1, &f), ST_DTYPE_BF16, 19, -1);
    cr_assert_eq(*(uint16_t *)y.tensor.data, 0x3f81);
    st_value_clear(&y);
}
