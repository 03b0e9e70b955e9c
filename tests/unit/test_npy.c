/* tests/unit/test_npy.c: the .npy/.npz codec against NumPy itself (files written by
 * /usr/bin/python3's numpy are read back, files we write are checked by numpy), plus
 * round trips, hostile headers, random mutations and out-of-memory injection with a
 * counting allocator so that nothing crashes or leaks. */
#include <criterion/criterion.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core.h"
#include "npy/npy.h"
#include "unit_util.h"

static char dir[64];

static void setup(void) { ut_tmpdir(dir, sizeof dir, "st_npy"); }
static void teardown(void) { ut_rmtree(dir); }

TestSuite(npy, .init = setup, .fini = teardown);

static const char *at(const char *name) {
    static char buf[8][256];
    static int k;
    char *b = buf[k++ & 7];
    snprintf(b, 256, "%s/%s", dir, name);
    return b;
}

/* Skip (loudly) when numpy is not there, rather than pretend the interop was checked. */
static void need_numpy(void) {
    if (!ut_python_has("numpy")) {
        fprintf(stderr, "SKIPPED: %s with numpy is not available; numpy interop untested\n",
                UT_PYTHON);
        cr_skip_test("needs %s with numpy", UT_PYTHON);
    }
}

/* Shared by both directions: the value of element i for a numpy type code. */
static const char *PY_PRELUDE =
    "import sys, numpy as np\n"
    "d = sys.argv[1]\n"
    "CODES = ['<f2','<f4','<f8','|i1','<i2','<i4','<i8','|u1','<u2','<u4','<u8','|b1',"
    "'<c8','<c16']\n"
    "STRS = ['a', 'h\\u00e9llo', '\\u65e5\\u672c\\u8a9e', '\\U0001F600x', '', 'tab\\tz']\n"
    "def vals(dt, n):\n"
    "    i = np.arange(n)\n"
    "    k = np.dtype(dt).kind\n"
    "    if k == 'f': return ((i - 3) * 0.5).astype(dt)\n"
    "    if k == 'i': return (i - 3).astype(dt)\n"
    "    if k == 'u': return (i * 7).astype(dt)\n"
    "    if k == 'b': return i % 3 == 0\n"
    "    return ((i - 3) * 0.5 + 1j * (i * 0.25)).astype(dt)\n";

static int run_py(const char *body) {
    return ut_python_run(dir, "script.py", PY_PRELUDE, body, dir);
}

/* ---- the values the Python side uses, computed in C --------------------------------- */

typedef struct code_row {
    const char *tag; /* file name stem: the descr without its byte order */
    st_dtype dtype;
} code_row;

/* Every numeric type numpy and stele share, in PY_PRELUDE's CODES order. */
static const code_row codes[] = {
    {"f2", ST_DTYPE_F16}, {"f4", ST_DTYPE_F32},   {"f8", ST_DTYPE_F64}, {"i1", ST_DTYPE_I8},
    {"i2", ST_DTYPE_I16}, {"i4", ST_DTYPE_I32},   {"i8", ST_DTYPE_I64}, {"u1", ST_DTYPE_U8},
    {"u2", ST_DTYPE_U16}, {"u4", ST_DTYPE_U32},   {"u8", ST_DTYPE_U64}, {"b1", ST_DTYPE_BOOL},
    {"c8", ST_DTYPE_C64}, {"c16", ST_DTYPE_C128},
};

static const char *const strs[] = {
    "a", "h\xc3\xa9llo", "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e", "\xf0\x9f\x98\x80x", "", "tab\tz"};

/* Expected real and imaginary parts of element i. */
static void expect(st_dtype t, size_t i, double *re, double *im) {
    double x = (double)i;
    *im = 0;
    switch (t) {
    case ST_DTYPE_F16:
    case ST_DTYPE_F32:
    case ST_DTYPE_F64:
    case ST_DTYPE_BF16: *re = (x - 3) * 0.5; break;
    case ST_DTYPE_I8:
    case ST_DTYPE_I16:
    case ST_DTYPE_I32:
    case ST_DTYPE_I64: *re = x - 3; break;
    case ST_DTYPE_U8: *re = (double)(uint8_t)(i * 7); break;
    case ST_DTYPE_U16:
    case ST_DTYPE_U32:
    case ST_DTYPE_U64: *re = x * 7; break;
    case ST_DTYPE_BOOL: *re = i % 3 == 0; break;
    default: *re = (x - 3) * 0.5; *im = x * 0.25;
    }
}

static void get(const st_tensor *t, size_t i, double *re, double *im) {
    *im = 0;
    switch (t->dtype) {
#define G(e, T) \
    case e: *re = (double)((const T *)t->data)[i]; break;
        G(ST_DTYPE_F32, float)
        G(ST_DTYPE_F64, double) G(ST_DTYPE_I8, int8_t) G(ST_DTYPE_I16, int16_t)
            G(ST_DTYPE_I32, int32_t) G(ST_DTYPE_I64, int64_t) G(ST_DTYPE_U8, uint8_t)
                G(ST_DTYPE_U16, uint16_t) G(ST_DTYPE_U32, uint32_t) G(ST_DTYPE_U64, uint64_t)
                    G(ST_DTYPE_BOOL, uint8_t)
#undef G
                        case ST_DTYPE_F16 : *re = st_f16_to_f32(((const uint16_t *)t->data)[i]);
        break;
    case ST_DTYPE_BF16: *re = st_bf16_to_f32(((const uint16_t *)t->data)[i]); break;
    case ST_DTYPE_C64:
        *re = ((const float *)t->data)[2 * i];
        *im = ((const float *)t->data)[2 * i + 1];
        break;
    case ST_DTYPE_C128:
        *re = ((const double *)t->data)[2 * i];
        *im = ((const double *)t->data)[2 * i + 1];
        break;
    default: cr_assert_fail("unexpected dtype %d", (int)t->dtype);
    }
}

static void set(st_tensor *t, size_t i) {
    double re, im;
    expect(t->dtype, i, &re, &im);
    switch (t->dtype) {
#define S(e, T) \
    case e: ((T *)t->data)[i] = (T)re; break;
        S(ST_DTYPE_F32, float)
        S(ST_DTYPE_F64, double) S(ST_DTYPE_I8, int8_t) S(ST_DTYPE_I16, int16_t)
            S(ST_DTYPE_I32, int32_t) S(ST_DTYPE_I64, int64_t) S(ST_DTYPE_U8, uint8_t)
                S(ST_DTYPE_U16, uint16_t) S(ST_DTYPE_U32, uint32_t) S(ST_DTYPE_U64, uint64_t)
                    S(ST_DTYPE_BOOL, uint8_t)
#undef S
                        case ST_DTYPE_F16 : ((uint16_t *)t->data)[i] = st_f32_to_f16((float)re);
        break;
    case ST_DTYPE_BF16: ((uint16_t *)t->data)[i] = st_f32_to_bf16((float)re); break;
    case ST_DTYPE_C64:
        ((float *)t->data)[2 * i] = (float)re;
        ((float *)t->data)[2 * i + 1] = (float)im;
        break;
    case ST_DTYPE_C128:
        ((double *)t->data)[2 * i] = re;
        ((double *)t->data)[2 * i + 1] = im;
        break;
    default: cr_assert_fail("unexpected dtype %d", (int)t->dtype);
    }
}

static void check_values(const st_tensor *t, st_dtype dt, int ndim, const int64_t *dims,
                         const char *what) {
    cr_assert_eq(t->dtype, dt, "%s: dtype %d, expected %d", what, (int)t->dtype, (int)dt);
    cr_assert_eq(t->ndim, ndim, "%s: rank %d, expected %d", what, t->ndim, ndim);
    size_t n = 1;
    for (int i = 0; i < ndim; i++) {
        cr_assert_eq(t->dims[i], dims[i], "%s: dim %d", what, i);
        n *= (size_t)dims[i];
    }
    for (size_t i = 0; i < n; i++) {
        double re, im, ere, eim;
        get(t, i, &re, &im);
        expect(dt, i, &ere, &eim);
        cr_assert(re == ere && im == eim, "%s: element %zu is %g%+gi, expected %g%+gi", what, i, re,
                  im, ere, eim);
    }
}

static void check_strings(const st_tensor *t, const char *const *want, size_t n, const char *what) {
    cr_assert_eq(t->dtype, ST_DTYPE_STRING, "%s: not strings", what);
    cr_assert_eq(st_tensor_nelem(t), n, "%s: %zu elements", what, st_tensor_nelem(t));
    const st_str *s = t->data;
    for (size_t i = 0; i < n; i++) {
        cr_assert_eq(s[i].len, strlen(want[i]), "%s: element %zu has length %zu", what, i,
                     s[i].len);
        cr_assert(memcmp(s[i].data, want[i], s[i].len) == 0 && s[i].data[s[i].len] == 0,
                  "%s: element %zu is '%s', expected '%s'", what, i, s[i].data, want[i]);
    }
}

static void read_ok(const char *name, st_tensor *t) {
    st_error err = {0};
    st_status s = st_npy_read(at(name), t, &err);
    cr_assert_eq(s, ST_OK, "%s: %s", name, err.msg);
}

/* ---- numpy writes, we read ----------------------------------------------------------- */

Test(npy, reads_every_numeric_dtype_numpy_writes) {
    need_numpy();
    int rc = run_py("for code in CODES:\n"
                    "    a = vals(code, 24).reshape(2, 3, 4)\n"
                    "    tag = code[1:]\n"
                    "    be = a.astype(np.dtype(code).newbyteorder('>'))\n"
                    "    np.save(f'{d}/{tag}.npy', a)\n"
                    "    np.save(f'{d}/{tag}_be.npy', be)\n"
                    "    np.save(f'{d}/{tag}_f.npy', np.asfortranarray(a))\n"
                    "    np.save(f'{d}/{tag}_bef.npy', np.asfortranarray(be))\n"
                    "    for v in (2, 3):\n"
                    "        with open(f'{d}/{tag}_v{v}.npy', 'wb') as f:\n"
                    "            np.lib.format.write_array(f, a, version=(v, 0))\n");
    cr_assert_eq(rc, 0, "python generator failed");
    static const char *const variants[] = {"", "_be", "_f", "_bef", "_v2", "_v3"};
    int64_t dims[] = {2, 3, 4};
    for (size_t c = 0; c < ST_ARRAY_LEN(codes); c++)
        for (size_t v = 0; v < ST_ARRAY_LEN(variants); v++) {
            char name[64];
            snprintf(name, sizeof name, "%s%s.npy", codes[c].tag, variants[v]);
            st_tensor t;
            read_ok(name, &t);
            check_values(&t, codes[c].dtype, 3, dims, name);
            st_tensor_clear(&t);
        }
}

Test(npy, reads_strings_scalars_and_empty_arrays) {
    need_numpy();
    int rc =
        run_py("u = np.array(STRS).reshape(2, 3)\n"
               "np.save(d + '/U.npy', u)\n"
               "np.save(d + '/U_be.npy', u.astype('>U9'))\n"
               "np.save(d + '/U_f.npy', np.asfortranarray(u))\n"
               "np.save(d + '/S.npy', np.array([b'ab', b'', b'xyz\\x01']))\n"
               "np.save(d + '/scalar.npy', np.float64(2.5))\n"
               "np.save(d + '/empty.npy', np.zeros((0, 3), np.int32))\n"
               "np.save(d + '/extremes.npy', np.array([-2**63, 2**63 - 1, 0], np.int64))\n"
               "np.save(d + '/u64max.npy', np.array([2**64 - 1], np.uint64))\n"
               "np.save(d + '/nan.npy', np.array([np.nan, np.inf, -np.inf, -0.0], np.float32))\n");
    cr_assert_eq(rc, 0, "python generator failed");
    static const char *const names[] = {"U.npy", "U_be.npy", "U_f.npy"};
    for (size_t i = 0; i < ST_ARRAY_LEN(names); i++) {
        st_tensor t;
        read_ok(names[i], &t);
        cr_assert(t.ndim == 2 && t.dims[0] == 2 && t.dims[1] == 3, "%s: shape", names[i]);
        check_strings(&t, strs, 6, names[i]);
        st_tensor_clear(&t);
    }
    st_tensor t;
    read_ok("S.npy", &t);
    static const char *const bytes[] = {"ab", "", "xyz\x01"};
    check_strings(&t, bytes, 3, "S.npy");
    st_tensor_clear(&t);

    read_ok("scalar.npy", &t);
    cr_assert(t.dtype == ST_DTYPE_F64 && t.ndim == 0 && *(double *)t.data == 2.5);
    st_tensor_clear(&t);

    read_ok("empty.npy", &t);
    cr_assert(t.dtype == ST_DTYPE_I32 && t.ndim == 2 && t.dims[0] == 0 && t.dims[1] == 3);
    st_tensor_clear(&t);

    read_ok("extremes.npy", &t);
    const int64_t *e = t.data;
    cr_assert(e[0] == INT64_MIN && e[1] == INT64_MAX && e[2] == 0);
    st_tensor_clear(&t);

    read_ok("u64max.npy", &t);
    cr_assert(*(uint64_t *)t.data == UINT64_MAX);
    st_tensor_clear(&t);

    read_ok("nan.npy", &t);
    const float *f = t.data;
    cr_assert(isnan(f[0]) && isinf(f[1]) && f[1] > 0 && isinf(f[2]) && f[2] < 0 && signbit(f[3]));
    st_tensor_clear(&t);
}

Test(npy, reads_stored_and_deflated_npz) {
    need_numpy();
    int rc =
        run_py("np.savez(d + '/stored.npz', a=vals('<i8', 24).reshape(2, 3, 4), b=np.array(STRS))\n"
               "np.savez_compressed(d + '/deflated.npz', x=vals('<f4', 24).reshape(2, 3, 4),"
               " y=vals('<c16', 24).reshape(2, 3, 4))\n"
               "np.savez(d + '/none.npz')\n");
    cr_assert_eq(rc, 0, "python generator failed");
    int64_t dims[] = {2, 3, 4};
    size_t n;
    char **names;
    st_tensor *ts;
    st_error err = {0};
    cr_assert_eq(st_npz_read(at("stored.npz"), &n, &names, &ts, &err), ST_OK, "%s", err.msg);
    cr_assert_eq(n, 2);
    cr_assert_str_eq(names[0], "a");
    cr_assert_str_eq(names[1], "b");
    check_values(&ts[0], ST_DTYPE_I64, 3, dims, "stored.npz:a");
    check_strings(&ts[1], strs, 6, "stored.npz:b");
    st_npz_free(n, names, ts);

    cr_assert_eq(st_npz_read(at("deflated.npz"), &n, &names, &ts, &err), ST_OK, "%s", err.msg);
    cr_assert_eq(n, 2);
    cr_assert_str_eq(names[0], "x");
    cr_assert_str_eq(names[1], "y");
    check_values(&ts[0], ST_DTYPE_F32, 3, dims, "deflated.npz:x");
    check_values(&ts[1], ST_DTYPE_C128, 3, dims, "deflated.npz:y");
    st_npz_free(n, names, ts);

    cr_assert_eq(st_npz_read(at("none.npz"), &n, &names, &ts, &err), ST_OK, "%s", err.msg);
    cr_assert_eq(n, 0);
    st_npz_free(n, names, ts);
}

/* ---- we write, numpy reads ----------------------------------------------------------- */

static void write_ok(const char *name, const st_tensor *t) {
    st_error err = {0};
    cr_assert_eq(st_npy_write(at(name), t, &err), ST_OK, "%s: %s", name, err.msg);
}

static void make(st_tensor *t, st_dtype dt, int ndim, const int64_t *dims) {
    st_error err;
    cr_assert_eq(st_tensor_alloc(t, dt, ndim, dims, &err), ST_OK, "%s", err.msg);
    for (size_t i = 0; i < st_tensor_nelem(t); i++) set(t, i);
}

static void make_strings(st_tensor *t, const char *const *s, size_t n) {
    st_error err;
    int64_t dims[] = {(int64_t)n};
    cr_assert_eq(st_tensor_alloc(t, ST_DTYPE_STRING, 1, dims, &err), ST_OK);
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(st_tensor_set_string(t, i, s[i], strlen(s[i]), &err), ST_OK);
}

static void write_all(void) {
    int64_t dims[] = {2, 3, 4};
    for (size_t c = 0; c < ST_ARRAY_LEN(codes); c++) {
        st_tensor t;
        char name[32];
        make(&t, codes[c].dtype, 3, dims);
        snprintf(name, sizeof name, "w_%s.npy", codes[c].tag);
        write_ok(name, &t);
        st_tensor_clear(&t);
    }
    st_tensor t;
    make(&t, ST_DTYPE_BF16, 3, dims);
    write_ok("w_bf16.npy", &t);
    st_tensor_clear(&t);
    make_strings(&t, strs, ST_ARRAY_LEN(strs));
    write_ok("w_U.npy", &t);
    st_tensor_clear(&t);
    make(&t, ST_DTYPE_I64, 0, NULL);
    write_ok("w_scalar.npy", &t);
    st_tensor_clear(&t);
    int64_t zero[] = {3, 0};
    make(&t, ST_DTYPE_F32, 2, zero);
    write_ok("w_empty.npy", &t);
    st_tensor_clear(&t);
    static const char *const empties[] = {"", ""};
    make_strings(&t, empties, 2);
    write_ok("w_U_empty.npy", &t);
    st_tensor_clear(&t);
}

Test(npy, numpy_reads_every_dtype_we_write) {
    need_numpy();
    write_all();
    int rc = run_py(
        "for code in CODES:\n"
        "    p = f'{d}/w_{code[1:]}.npy'\n"
        "    a = np.load(p)\n"
        "    e = vals(code, 24).reshape(2, 3, 4)\n"
        "    assert a.dtype == np.dtype(code), (p, a.dtype)\n"
        "    assert a.shape == e.shape and np.array_equal(a, e), (p, a)\n"
        "    with open(p, 'rb') as f:\n"
        "        assert (10 + int.from_bytes(f.read(10)[8:], 'little')) % 64 == 0, p\n"
        "b = np.load(d + '/w_bf16.npy')\n"
        "assert b.dtype == np.float32 and np.array_equal(b, vals('<f4', 24).reshape(2, 3, 4))\n"
        "u = np.load(d + '/w_U.npy')\n"
        "assert u.dtype == np.dtype('<U5') and u.tolist() == STRS, (u.dtype, u)\n"
        "s = np.load(d + '/w_scalar.npy')\n"
        "assert s.shape == () and s.dtype == np.int64 and s == -3, s\n"
        "z = np.load(d + '/w_empty.npy')\n"
        "assert z.shape == (3, 0) and z.dtype == np.float32\n"
        "u = np.load(d + '/w_U_empty.npy')\n"
        "assert u.dtype == np.dtype('<U1') and u.tolist() == ['', ''], u\n");
    cr_assert_eq(rc, 0, "numpy rejected or misread a file we wrote");
}

/* No numpy needed: what we write we read back identically. */
Test(npy, round_trips_without_numpy) {
    write_all();
    int64_t dims[] = {2, 3, 4};
    for (size_t c = 0; c < ST_ARRAY_LEN(codes); c++) {
        char name[32];
        snprintf(name, sizeof name, "w_%s.npy", codes[c].tag);
        st_tensor t;
        read_ok(name, &t);
        check_values(&t, codes[c].dtype, 3, dims, name);
        st_tensor_clear(&t);
    }
    st_tensor t;
    read_ok("w_bf16.npy", &t);
    check_values(&t, ST_DTYPE_F32, 3, dims, "w_bf16.npy");
    st_tensor_clear(&t);
    read_ok("w_U.npy", &t);
    check_strings(&t, strs, ST_ARRAY_LEN(strs), "w_U.npy");
    st_tensor_clear(&t);
    read_ok("w_scalar.npy", &t);
    cr_assert(t.ndim == 0 && *(int64_t *)t.data == -3);
    st_tensor_clear(&t);
}

Test(npy, write_rejects_invalid_utf8_and_bad_paths) {
    static const char *const bad[] = {"ok", "\xff\xfe"};
    st_tensor t;
    make_strings(&t, bad, 2);
    st_error err = {0};
    cr_assert_eq(st_npy_write(at("bad.npy"), &t, &err), ST_ERR_INVALID);
    cr_assert(strstr(err.msg, "UTF-8") && strstr(err.msg, "bad.npy"), "%s", err.msg);
    cr_assert_neq(access(at("bad.npy"), F_OK), 0, "a failed write left a file behind");
    st_tensor_clear(&t);
    int64_t d1[] = {2};
    make(&t, ST_DTYPE_F32, 1, d1);
    cr_assert_eq(st_npy_write("/nonexistent-dir/x.npy", &t, &err), ST_ERR_IO);
    cr_assert(strstr(err.msg, "/nonexistent-dir/x.npy"), "%s", err.msg);
    st_tensor_clear(&t);
}

/* ---- hostile input -------------------------------------------------------------------- */

/* Build .npy bytes: preamble for `major`, the dict verbatim, then `data`. */
static size_t build(uint8_t *out, size_t cap, int major, const char *dict, const void *data,
                    size_t ndata) {
    size_t dl = strlen(dict), pre = major == 1 ? 10 : 12;
    cr_assert(pre + dl + ndata <= cap);
    memcpy(out, "\x93NUMPY", 6);
    out[6] = (uint8_t)major;
    out[7] = 0;
    out[8] = (uint8_t)dl;
    out[9] = (uint8_t)(dl >> 8);
    if (major != 1) out[10] = out[11] = 0;
    memcpy(out + pre, dict, dl);
    if (ndata) memcpy(out + pre + dl, data, ndata);
    return pre + dl + ndata;
}

static void expect_error(const void *bytes, size_t n, st_status want, const char *needle) {
    st_tensor t;
    memset(&t, 0xAB, sizeof t);
    st_tensor before = t;
    st_error err = {0};
    st_status s = st_npy_read_mem(bytes, n, "evil.npy", &t, &err);
    cr_assert_eq(s, want, "status %s (%s), expected %s", st_status_str(s), err.msg,
                 st_status_str(want));
    cr_assert(strncmp(err.msg, "evil.npy: ", 10) == 0, "message does not name the file: %s",
              err.msg);
    cr_assert_null(strchr(err.msg, '\n'), "message is not one line: %s", err.msg);
    if (needle) cr_assert(strstr(err.msg, needle), "'%s' not in: %s", needle, err.msg);
    cr_assert(memcmp(&t, &before, sizeof t) == 0, "out-parameter written on failure");
}

#define DICT(descr, shape) "{'descr': '" descr "', 'fortran_order': False, 'shape': " shape ", }\n"

Test(npy, hostile_headers_fail_cleanly) {
    uint8_t b[4096];
    uint8_t zeros[64] = {0};
    size_t n;

    expect_error("\x93NUMP", 5, ST_ERR_FORMAT, "not a .npy");
    expect_error("\x93NUMPX\x01\x00\x00\x00", 10, ST_ERR_FORMAT, "magic");
    n = build(b, sizeof b, 9, DICT("<f4", "(1,)"), zeros, 4);
    expect_error(b, n, ST_ERR_UNSUPPORTED, "version 9.0");
    n = build(b, sizeof b, 1, DICT("<f4", "(1,)"), zeros, 4);
    b[8] = 0xFF, b[9] = 0xFF;
    expect_error(b, n, ST_ERR_FORMAT, "header length");
    n = build(b, sizeof b, 2, DICT("<f4", "(1,)"), zeros, 4);
    b[11] = 0x7F;
    expect_error(b, n, ST_ERR_FORMAT, "header length");

    static const struct {
        const char *dict;
        st_status want;
        const char *needle;
    } cases[] = {
        {"[1, 2]", ST_ERR_FORMAT, "not a dict"},
        {"{'descr': '<f4', 'fortran_order': False}", ST_ERR_FORMAT, "missing shape"},
        {"{'descr': '<f4', 'shape': (1,)}", ST_ERR_FORMAT, "missing fortran_order"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'x': 1}", ST_ERR_FORMAT, "'x'"},
        {"{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (1,)}", ST_ERR_FORMAT,
         "repeated"},
        {"{'descr': '<f4, 'fortran_order': False, 'shape': (1,)}", ST_ERR_FORMAT, NULL},
        {"{'descr': '<f4', 'fortran_order': maybe, 'shape': (1,)}", ST_ERR_FORMAT, "True or False"},
        {"{'descr': '<f4', 'fortran_order': Falsey, 'shape': (1,)}", ST_ERR_FORMAT, NULL},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (-1,)}", ST_ERR_FORMAT, "non-integer"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (1,) junk", ST_ERR_FORMAT, NULL},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (1,)} junk", ST_ERR_FORMAT, "trailing"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (1 2)}", ST_ERR_FORMAT, "malformed"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': 7}", ST_ERR_FORMAT, "tuple"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (1099511627776, 1099511627776)}",
         ST_ERR_LIMIT, "absurd"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,)}", ST_ERR_LIMIT,
         "absurd"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': "
         "(1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1)}",
         ST_ERR_LIMIT, "rank"},
        {"{'descr': '<U99999999999999999999', 'fortran_order': False, 'shape': (1,)}", ST_ERR_LIMIT,
         NULL},
        {"{'descr': '<U4611686018427387904', 'fortran_order': False, 'shape': (1,)}", ST_ERR_LIMIT,
         NULL},
        {"{'descr': '<U0', 'fortran_order': False, 'shape': (1000000, 1000000)}", ST_ERR_LIMIT,
         NULL},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (1000,)}", ST_ERR_FORMAT, "truncated"},
        {"{'descr': '|O', 'fortran_order': False, 'shape': (1,)}", ST_ERR_UNSUPPORTED, "'|O'"},
        {"{'descr': [('a', '<i4')], 'fortran_order': False, 'shape': (1,)}", ST_ERR_UNSUPPORTED,
         "structured"},
        {"{'descr': '<f16', 'fortran_order': False, 'shape': (1,)}", ST_ERR_UNSUPPORTED, "'<f16'"},
        {"{'descr': '<q8', 'fortran_order': False, 'shape': (1,)}", ST_ERR_UNSUPPORTED, NULL},
        {"{'descr': '<f', 'fortran_order': False, 'shape': (1,)}", ST_ERR_FORMAT, "descr"},
        {"{'descr': '', 'fortran_order': False, 'shape': (1,)}", ST_ERR_FORMAT, "descr"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (1,)", ST_ERR_FORMAT, NULL},
        {"", ST_ERR_FORMAT, "not a dict"},
    };
    for (size_t i = 0; i < ST_ARRAY_LEN(cases); i++) {
        n = build(b, sizeof b, 1, cases[i].dict, zeros, 8);
        expect_error(b, n, cases[i].want, cases[i].needle);
    }

    /* An invalid code point (a surrogate) inside a unicode array. */
    uint8_t sur[8] = {'a', 0, 0, 0, 0x00, 0xD8, 0, 0};
    n = build(b, sizeof b, 1, DICT("<U2", "(1,)"), sur, 8);
    expect_error(b, n, ST_ERR_FORMAT, "code point");
}

Test(npy, accepts_header_variants_numpy_allows) {
    uint8_t b[512];
    float one = 1.0f;
    static const char *const dicts[] = {
        "{\"descr\": \"<f4\", \"fortran_order\": False, \"shape\": (1,)}",
        "{'shape': [1], 'fortran_order': False, 'descr': '=f4'}",
        "{'descr':'<f4','fortran_order':True,'shape':(1L,),}   \n",
    };
    for (size_t i = 0; i < ST_ARRAY_LEN(dicts); i++) {
        size_t n = build(b, sizeof b, 3, dicts[i], &one, 4);
        st_tensor t;
        st_error err = {0};
        cr_assert_eq(st_npy_read_mem(b, n, NULL, &t, &err), ST_OK, "%s: %s", dicts[i], err.msg);
        cr_assert(t.dtype == ST_DTYPE_F32 && t.ndim == 1 && *(float *)t.data == 1.0f);
        st_tensor_clear(&t);
    }
}

Test(npy, missing_file_and_bad_npz) {
    st_tensor t;
    st_error err = {0};
    cr_assert_eq(st_npy_read(at("nope.npy"), &t, &err), ST_ERR_IO);
    cr_assert(strstr(err.msg, "nope.npy"), "%s", err.msg);

    FILE *f = fopen(at("junk.npz"), "wb");
    fputs("this is not a zip archive at all", f);
    fclose(f);
    size_t n = 7;
    char **names = NULL;
    st_tensor *ts = NULL;
    cr_assert_eq(st_npz_read(at("junk.npz"), &n, &names, &ts, &err), ST_ERR_FORMAT, "%s", err.msg);
    cr_assert(strstr(err.msg, "junk.npz"), "%s", err.msg);
    cr_assert(n == 7 && !names && !ts, "out-parameters written on failure");
}

Test(npy, npz_member_errors_name_the_member) {
    need_numpy();
    int rc = run_py("import zipfile\n"
                    "with zipfile.ZipFile(d + '/bad.npz', 'w') as z:\n"
                    "    z.writestr('good.npy', b'')\n"
                    "    z.writestr('evil.npy', b'\\x93NUMPY\\x01\\x00\\xff\\xff{}')\n"
                    "import io\n"
                    "buf = io.BytesIO(); np.save(buf, np.arange(1000.0))\n"
                    "with zipfile.ZipFile(d + '/trunc.npz', 'w', zipfile.ZIP_DEFLATED) as z:\n"
                    "    z.writestr('a.npy', buf.getvalue())\n"
                    "data = open(d + '/trunc.npz', 'rb').read()\n"
                    "open(d + '/trunc.npz', 'wb').write(data[:len(data) // 2])\n"
                    "with zipfile.ZipFile(d + '/crc.npz', 'w') as z:\n"
                    "    z.writestr('a.npy', buf.getvalue())\n"
                    "data = bytearray(open(d + '/crc.npz', 'rb').read())\n"
                    "data[200] ^= 0xFF\n"
                    "open(d + '/crc.npz', 'wb').write(data)\n");
    cr_assert_eq(rc, 0);
    size_t n;
    char **names;
    st_tensor *ts;
    st_error err = {0};
    cr_assert_eq(st_npz_read(at("bad.npz"), &n, &names, &ts, &err), ST_ERR_FORMAT);
    cr_assert(strstr(err.msg, "bad.npz: good.npy: not a .npy"), "%s", err.msg);
    cr_assert_neq(st_npz_read(at("trunc.npz"), &n, &names, &ts, &err), ST_OK);
    cr_assert(strstr(err.msg, "trunc.npz"), "%s", err.msg);
    cr_assert_neq(st_npz_read(at("crc.npz"), &n, &names, &ts, &err), ST_OK);
    cr_assert(strstr(err.msg, "crc.npz"), "%s", err.msg);
}

/* ---- nothing leaks: a counting allocator around random mutations and failures ------- */

static long live;

static void *counting_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
    (void)ud;
    (void)osize;
    if (nsize == 0) {
        if (ptr) live--;
        free(ptr);
        return NULL;
    }
    if (!ptr) live++;
    return realloc(ptr, nsize);
}

/* A fortran-ordered, big-endian unicode array and a float32 array: both paths. */
static size_t seed(int which, uint8_t *b, size_t cap) {
    if (which == 0) {
        uint8_t data[6 * 8] = {0};
        for (int i = 0; i < 6; i++) data[i * 8 + 3] = (uint8_t)('a' + i);
        return build(b, cap, 1, "{'descr': '>U2', 'fortran_order': True, 'shape': (2, 3), }", data,
                     sizeof data);
    }
    float f[6] = {1, 2, 3, 4, 5, 6};
    return build(b, cap, 2, "{'descr': '<f4', 'fortran_order': True, 'shape': (3, 2), }", f,
                 sizeof f);
}

Test(npy, random_mutations_never_crash_or_leak) {
    st_set_allocator(counting_alloc, NULL);
    uint64_t x = 0x9E3779B97F4A7C15u;
    for (int which = 0; which < 2; which++) {
        uint8_t orig[512], b[512];
        size_t n0 = seed(which, orig, sizeof orig);
        for (int it = 0; it < 20000; it++) {
            memcpy(b, orig, n0);
            size_t n = n0;
            int flips = 1 + (int)(x % 4);
            for (int k = 0; k < flips; k++) {
                x ^= x << 13, x ^= x >> 7, x ^= x << 17;
                b[x % n] = (uint8_t)(x >> 24);
            }
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            if (x % 8 == 0) n = (size_t)(x >> 8) % n0;
            st_tensor t;
            st_error err;
            if (st_npy_read_mem(b, n, "m.npy", &t, &err) == ST_OK) {
                st_buf_unref(t.buf);
            } else {
                cr_assert_null(strchr(err.msg, '\n'));
            }
            cr_assert_eq(live, 0, "leak after mutation %d of seed %d", it, which);
        }
    }
    st_set_allocator(NULL, NULL);
}

Test(npy, allocation_failures_are_reported_without_leaks) {
    uint8_t b[512];
    size_t n = seed(0, b, sizeof b);
    st_set_allocator(counting_alloc, NULL);
    for (long k = 1;; k++) {
        st_alloc_fail_after(k);
        st_tensor t;
        st_error err;
        st_status s = st_npy_read_mem(b, n, "oom.npy", &t, &err);
        st_alloc_fail_after(0);
        if (s == ST_OK) {
            static const char *const want[] = {"a", "c", "e", "b", "d", "f"};
            check_strings(&t, want, 6, "oom.npy");
            st_buf_unref(t.buf);
            cr_assert_eq(live, 0);
            break;
        }
        cr_assert_eq(s, ST_ERR_NOMEM, "allocation %ld: %s", k, err.msg);
        cr_assert_eq(live, 0, "leak when allocation %ld fails", k);
        cr_assert(k < 100, "never succeeded");
    }
    /* The writer too. */
    st_tensor t;
    make_strings(&t, strs, ST_ARRAY_LEN(strs));
    for (long k = 1;; k++) {
        long before = live;
        st_alloc_fail_after(k);
        st_error err;
        st_status s = st_npy_write(at("oom_w.npy"), &t, &err);
        st_alloc_fail_after(0);
        cr_assert_eq(live, before, "leak when allocation %ld fails", k);
        if (s == ST_OK) break;
        cr_assert_eq(s, ST_ERR_NOMEM, "%s", err.msg);
    }
    st_tensor_clear(&t);
    cr_assert_eq(live, 0);
    st_set_allocator(NULL, NULL);
}
