/* formats/npy/npy.c: the NumPy .npy codec and the .npz reader. The header's Python dict
 * literal is parsed by hand (never evaluated), every size is checked against the bytes
 * present before anything is allocated, and tensors are built on st_buf heap storage.
 * This file must not reach into the IR: it sees st_tensor (stele.h) and core.h only. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <zip.h>

#include "npy.h"

/* The codec reads and writes little-endian bytes straight into and out of tensors. */
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "npy.c assumes a little-endian host");

#define NPY_MAGIC "\x93NUMPY"
#define NPY_MAGIC_LEN 6
#define NPY_ALIGN 64                    /* numpy pads the header so data starts aligned */
#define NPY_MAX_NELEM ((size_t)1 << 48) /* same bound as st_shape_nelem: larger is absurd */
#define NPY_DESCR_MAX 32                /* longest descr string accepted ('<U123456789') */

/* One row per stele dtype: the descr written for it and its element size in the file.
 * Reading matches a file's descr (kind and size, any byte order) against these rows. */
typedef struct npy_type {
    const char *descr; /* NULL: not a fixed-size numeric type */
    size_t size;       /* bytes per element in the file */
} npy_type;

static const npy_type npy_types[ST_DTYPE_COUNT] = {
    [ST_DTYPE_UNDEFINED] = {NULL, 0}, /* no data type */
    [ST_DTYPE_F32] = {"<f4", 4},      /* float32 */
    [ST_DTYPE_U8] = {"|u1", 1},       /* uint8 */
    [ST_DTYPE_I8] = {"|i1", 1},       /* int8 */
    [ST_DTYPE_U16] = {"<u2", 2},      /* uint16 */
    [ST_DTYPE_I16] = {"<i2", 2},      /* int16 */
    [ST_DTYPE_I32] = {"<i4", 4},      /* int32 */
    [ST_DTYPE_I64] = {"<i8", 8},      /* int64 */
    [ST_DTYPE_STRING] = {NULL, 0},    /* read from '<U<n>' / '|S<n>', written as '<U<longest>' */
    [ST_DTYPE_BOOL] = {"|b1", 1},     /* bool, one byte 0/1 */
    [ST_DTYPE_F16] = {"<f2", 2},      /* float16 */
    [ST_DTYPE_F64] = {"<f8", 8},      /* float64 */
    [ST_DTYPE_U32] = {"<u4", 4},      /* uint32 */
    [ST_DTYPE_U64] = {"<u8", 8},      /* uint64 */
    [ST_DTYPE_C64] = {"<c8", 8},      /* complex64: two float32 */
    [ST_DTYPE_C128] = {"<c16", 16},   /* complex128: two float64 */
    [ST_DTYPE_BF16] = {"<f4", 4},     /* numpy has no bfloat16: written as float32 values */
    /* nor float8/float4 (written as float32 values) nor 4-/2-bit ints (as int8/uint8) */
    [ST_DTYPE_F8E4M3FN] = {"<f4", 4}, [ST_DTYPE_F8E4M3FNUZ] = {"<f4", 4},
    [ST_DTYPE_F8E5M2] = {"<f4", 4}, [ST_DTYPE_F8E5M2FNUZ] = {"<f4", 4},
    [ST_DTYPE_U4] = {"|u1", 1}, [ST_DTYPE_I4] = {"|i1", 1}, [ST_DTYPE_F4E2M1] = {"<f4", 4},
    [ST_DTYPE_F8E8M0] = {"<f4", 4}, [ST_DTYPE_U2] = {"|u1", 1}, [ST_DTYPE_I2] = {"|i1", 1},
};
_Static_assert(sizeof(npy_types) / sizeof(npy_types[0]) == ST_DTYPE_COUNT,
               "npy_types must cover every st_dtype");

/* A parsed header: what the dict says and where the data starts. */
typedef struct npy_header {
    st_dtype dtype;
    char kind;       /* descr kind: 'f' 'i' 'u' 'b' 'c' 'U' 'S' */
    bool swap;       /* big-endian data: swap each unit of `unit` bytes */
    size_t unit;     /* byte-swap unit (element size; half of it for complex; 4 for 'U') */
    size_t itemsize; /* bytes per element in the file */
    bool fortran;
    bool have_descr, have_fortran, have_shape;
    int ndim;
    int64_t dims[ST_MAX_RANK];
    size_t nelem;
    size_t data_off; /* offset of the first data byte */
    size_t nbytes;   /* nelem * itemsize */
} npy_header;

/* ---- the header dict: a tiny lexer for the Python literals numpy writes ------------- */

typedef struct npy_lex {
    const char *p, *end;
} npy_lex;

static void lex_ws(npy_lex *l) {
    while (l->p < l->end && (*l->p == ' ' || *l->p == '\t' || *l->p == '\n' || *l->p == '\r'))
        l->p++;
}

static bool lex_char(npy_lex *l, char c) {
    lex_ws(l);
    if (l->p < l->end && *l->p == c) {
        l->p++;
        return true;
    }
    return false;
}

/* A quoted string without escapes (numpy never needs them in a header). */
static bool lex_string(npy_lex *l, char *buf, size_t cap) {
    lex_ws(l);
    if (l->p >= l->end || (*l->p != '\'' && *l->p != '"')) return false;
    char q = *l->p++;
    size_t n = 0;
    while (l->p < l->end && *l->p != q) {
        if (*l->p == '\\' || *l->p == '\n' || n + 1 >= cap) return false;
        buf[n++] = *l->p++;
    }
    if (l->p >= l->end) return false;
    l->p++;
    buf[n] = 0;
    return true;
}

/* An exact identifier (True, False) not followed by more identifier characters. */
static bool lex_word(npy_lex *l, const char *w) {
    lex_ws(l);
    size_t n = strlen(w);
    if ((size_t)(l->end - l->p) < n || memcmp(l->p, w, n) != 0) return false;
    const char *after = l->p + n;
    if (after < l->end && (*after == '_' || (*after >= 'a' && *after <= 'z') ||
                           (*after >= 'A' && *after <= 'Z') || (*after >= '0' && *after <= '9')))
        return false;
    l->p = after;
    return true;
}

/* A non-negative decimal integer (Python 2 files may add an 'L'). 1 ok, 0 syntax, -1 too big. */
static int lex_uint(npy_lex *l, int64_t *v) {
    lex_ws(l);
    if (l->p >= l->end || *l->p < '0' || *l->p > '9') return 0;
    int64_t x = 0;
    while (l->p < l->end && *l->p >= '0' && *l->p <= '9') {
        if (!st_mul_i64_ok(x, 10, &x) || __builtin_add_overflow(x, *l->p - '0', &x)) return -1;
        l->p++;
    }
    if (l->p < l->end && *l->p == 'L') l->p++;
    *v = x;
    return 1;
}

/* descr: byte order, kind, size. Sets dtype, itemsize, swap and unit. */
static st_status parse_descr(const char *s, const char *what, npy_header *h, st_error *err) {
    const char *p = s;
    char order = '|';
    if (*p == '<' || *p == '>' || *p == '|' || *p == '=') order = *p++;
    char kind = *p ? *p++ : 0;
    size_t size = 0;
    bool digits = false;
    for (; *p >= '0' && *p <= '9'; p++) {
        digits = true;
        if (!st_mul_ok(size, 10, &size) || !st_add_ok(size, (size_t)(*p - '0'), &size))
            return st_errorf(err, ST_ERR_LIMIT, "%s: descr '%s' has an absurd item size", what, s);
    }
    if (*p || !digits) {
        if (kind == 'O' || kind == 'V' || kind == 'M' || kind == 'm')
            return st_errorf(err, ST_ERR_UNSUPPORTED, "%s: arrays of descr '%s' are not supported",
                             what, s);
        return st_errorf(err, ST_ERR_FORMAT, "%s: bad .npy header: malformed descr '%s'", what, s);
    }
    h->kind = kind;
    h->swap = order == '>';
    if (kind == 'U' || kind == 'S') {
        h->dtype = ST_DTYPE_STRING;
        h->unit = kind == 'U' ? 4 : 1;
        if (!st_mul_ok(size, h->unit, &h->itemsize))
            return st_errorf(err, ST_ERR_LIMIT, "%s: descr '%s' has an absurd item size", what, s);
        return ST_OK;
    }
    char want[8];
    snprintf(want, sizeof want, "%c%zu", kind, size);
    for (int t = 0; t < ST_DTYPE_COUNT; t++) {
        if (t >= ST_DTYPE_BF16 || !npy_types[t].descr || strcmp(npy_types[t].descr + 1, want) != 0)
            continue;
        h->dtype = (st_dtype)t;
        h->itemsize = size;
        h->unit = kind == 'c' ? size / 2 : size;
        return ST_OK;
    }
    return st_errorf(err, ST_ERR_UNSUPPORTED, "%s: arrays of descr '%s' are not supported", what,
                     s);
}

static st_status parse_shape(npy_lex *l, const char *what, npy_header *h, st_error *err) {
    char close;
    if (lex_char(l, '(')) close = ')';
    else if (lex_char(l, '[')) close = ']';
    else return st_errorf(err, ST_ERR_FORMAT, "%s: bad .npy header: shape is not a tuple", what);
    h->ndim = 0;
    for (;;) {
        if (lex_char(l, close)) break;
        int64_t d;
        int r = lex_uint(l, &d);
        if (r < 0) return st_errorf(err, ST_ERR_LIMIT, "%s: shape has an absurd dimension", what);
        if (r == 0)
            return st_errorf(err, ST_ERR_FORMAT, "%s: bad .npy header: shape holds a non-integer",
                             what);
        if (h->ndim == ST_MAX_RANK)
            return st_errorf(err, ST_ERR_LIMIT, "%s: rank exceeds the limit of %d", what,
                             ST_MAX_RANK);
        h->dims[h->ndim++] = d;
        if (lex_char(l, close)) break;
        if (!lex_char(l, ','))
            return st_errorf(err, ST_ERR_FORMAT, "%s: bad .npy header: malformed shape", what);
    }
    return ST_OK;
}

/* The dict: exactly the keys descr, fortran_order and shape, each once. */
static st_status parse_dict(npy_lex *l, const char *what, npy_header *h, st_error *err) {
    st_status s;
    if (!lex_char(l, '{'))
        return st_errorf(err, ST_ERR_FORMAT, "%s: bad .npy header: not a dict", what);
    for (;;) {
        if (lex_char(l, '}')) break;
        char key[32], descr[NPY_DESCR_MAX];
        if (!lex_string(l, key, sizeof key) || !lex_char(l, ':'))
            return st_errorf(err, ST_ERR_FORMAT, "%s: bad .npy header: malformed key", what);
        if (strcmp(key, "descr") == 0 && !h->have_descr) {
            lex_ws(l);
            if (l->p < l->end && (*l->p == '[' || *l->p == '{'))
                return st_errorf(err, ST_ERR_UNSUPPORTED, "%s: structured arrays are not supported",
                                 what);
            if (!lex_string(l, descr, sizeof descr))
                return st_errorf(err, ST_ERR_FORMAT, "%s: bad .npy header: malformed descr", what);
            if ((s = parse_descr(descr, what, h, err))) return s;
            h->have_descr = true;
        } else if (strcmp(key, "fortran_order") == 0 && !h->have_fortran) {
            if (lex_word(l, "True")) h->fortran = true;
            else if (lex_word(l, "False")) h->fortran = false;
            else
                return st_errorf(err, ST_ERR_FORMAT,
                                 "%s: bad .npy header: fortran_order is not True or False", what);
            h->have_fortran = true;
        } else if (strcmp(key, "shape") == 0 && !h->have_shape) {
            if ((s = parse_shape(l, what, h, err))) return s;
            h->have_shape = true;
        } else {
            return st_errorf(err, ST_ERR_FORMAT,
                             "%s: bad .npy header: unexpected or repeated key '%s'", what, key);
        }
        if (lex_char(l, '}')) break;
        if (!lex_char(l, ','))
            return st_errorf(err, ST_ERR_FORMAT, "%s: bad .npy header: expected ',' or '}'", what);
    }
    lex_ws(l);
    if (l->p != l->end)
        return st_errorf(err, ST_ERR_FORMAT, "%s: bad .npy header: trailing bytes after the dict",
                         what);
    if (!h->have_descr || !h->have_fortran || !h->have_shape)
        return st_errorf(err, ST_ERR_FORMAT, "%s: bad .npy header: missing %s", what,
                         !h->have_descr     ? "descr"
                         : !h->have_fortran ? "fortran_order"
                                            : "shape");
    return ST_OK;
}

static st_status parse_header(const uint8_t *d, size_t n, const char *what, npy_header *h,
                              st_error *err) {
    memset(h, 0, sizeof *h);
    if (n < 10 || memcmp(d, NPY_MAGIC, NPY_MAGIC_LEN) != 0)
        return st_errorf(err, ST_ERR_FORMAT, "%s: not a .npy file (%s)", what,
                         n < 10 ? "too short" : "bad magic");
    int major = d[6], minor = d[7];
    size_t pre, hlen;
    if (major == 1 && minor == 0) {
        pre = 10;
        hlen = (size_t)d[8] | (size_t)d[9] << 8;
    } else if ((major == 2 || major == 3) && minor == 0) {
        if (n < 12) return st_errorf(err, ST_ERR_FORMAT, "%s: truncated .npy header", what);
        pre = 12;
        hlen = (size_t)d[8] | (size_t)d[9] << 8 | (size_t)d[10] << 16 | (size_t)d[11] << 24;
    } else {
        return st_errorf(err, ST_ERR_UNSUPPORTED, "%s: unsupported .npy format version %d.%d", what,
                         major, minor);
    }
    if (hlen > n - pre)
        return st_errorf(err, ST_ERR_FORMAT,
                         "%s: header length %zu runs past the end of the data (%zu bytes)", what,
                         hlen, n);
    npy_lex l = {(const char *)d + pre, (const char *)d + pre + hlen};
    st_status s = parse_dict(&l, what, h, err);
    if (s) return s;
    h->data_off = pre + hlen;
    size_t ne = 1;
    for (int i = 0; i < h->ndim; i++) {
        if (!st_mul_ok(ne, (size_t)h->dims[i], &ne) || ne > NPY_MAX_NELEM)
            return st_errorf(err, ST_ERR_LIMIT, "%s: absurd shape (dimension %d is %" PRId64 ")",
                             what, i, h->dims[i]);
    }
    h->nelem = ne;
    size_t avail = n - h->data_off;
    if (!st_mul_ok(ne, h->itemsize, &h->nbytes))
        return st_errorf(err, ST_ERR_LIMIT, "%s: absurd array size", what);
    if (h->nbytes > avail)
        return st_errorf(err, ST_ERR_FORMAT,
                         "%s: data truncated: the shape needs %zu bytes, %zu are present", what,
                         h->nbytes, avail);
    /* Zero-width strings take no bytes in the file but a st_str each in memory. */
    if (h->itemsize == 0 && ne > n)
        return st_errorf(err, ST_ERR_LIMIT, "%s: absurd count of empty strings", what);
    return ST_OK;
}

/* ---- building tensors ---------------------------------------------------------------- */

/* Release for string storage: each element's bytes, then the st_str array. */
static void npy_release_strings(st_buf *b) {
    st_str *s = b->data;
    size_t n = (size_t)(uintptr_t)b->ctx;
    for (size_t i = 0; i < n; i++) st_free(s[i].data);
    st_free(b->data);
    st_free(b);
}

static st_buf *npy_new_strings(size_t n) {
    size_t bytes;
    if (!st_mul_ok(n, sizeof(st_str), &bytes)) return NULL;
    st_buf *b = st_buf_new_heap(bytes);
    if (!b) return NULL;
    memset(b->data, 0, bytes ? bytes : 1);
    b->release = npy_release_strings;
    b->ctx = (void *)(uintptr_t)n;
    return b;
}

/* Copy the array's bytes into C order: element i of `dst` (row-major over dims) is the
 * element the column-major file stores at the matching position. */
static void npy_transpose(uint8_t *dst, const uint8_t *src, const npy_header *h) {
    size_t fstride[ST_MAX_RANK], idx[ST_MAX_RANK] = {0};
    size_t st = h->itemsize, off = 0;
    int nd = h->ndim;
    for (int k = 0; k < nd; k++) {
        fstride[k] = st;
        st *= (size_t)h->dims[k];
    }
    for (size_t i = 0; i < h->nelem; i++) {
        memcpy(dst + i * h->itemsize, src + off, h->itemsize);
        for (int k = nd - 1; k >= 0; k--) {
            off += fstride[k];
            if (++idx[k] < (size_t)h->dims[k]) break;
            off -= fstride[k] * (size_t)h->dims[k];
            idx[k] = 0;
        }
    }
}

static void npy_swap(uint8_t *p, size_t nbytes, size_t unit) {
    for (size_t i = 0; i + unit <= nbytes; i += unit)
        for (size_t a = 0, b = unit - 1; a < b; a++, b--) {
            uint8_t t = p[i + a];
            p[i + a] = p[i + b];
            p[i + b] = t;
        }
}

/* Append code point c to s as UTF-8; returns bytes written. */
static size_t utf8_put(char *s, uint32_t c) {
    if (c < 0x80) {
        s[0] = (char)c;
        return 1;
    }
    if (c < 0x800) {
        s[0] = (char)(0xC0 | c >> 6);
        s[1] = (char)(0x80 | (c & 0x3F));
        return 2;
    }
    if (c < 0x10000) {
        s[0] = (char)(0xE0 | c >> 12);
        s[1] = (char)(0x80 | (c >> 6 & 0x3F));
        s[2] = (char)(0x80 | (c & 0x3F));
        return 3;
    }
    s[0] = (char)(0xF0 | c >> 18);
    s[1] = (char)(0x80 | (c >> 12 & 0x3F));
    s[2] = (char)(0x80 | (c >> 6 & 0x3F));
    s[3] = (char)(0x80 | (c & 0x3F));
    return 4;
}

/* Decode one UTF-8 code point from s[0..n); returns its length, 0 when invalid. */
static size_t utf8_get(const unsigned char *s, size_t n, uint32_t *cp) {
    uint32_t c = s[0];
    size_t len;
    uint32_t min;
    if (c < 0x80) {
        *cp = c;
        return 1;
    } else if ((c & 0xE0) == 0xC0) {
        len = 2, c &= 0x1F, min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
        len = 3, c &= 0x0F, min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
        len = 4, c &= 0x07, min = 0x10000;
    } else {
        return 0;
    }
    if (len > n) return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        c = c << 6 | (s[i] & 0x3F);
    }
    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) return 0;
    *cp = c;
    return len;
}

/* Raw C-ordered, little-endian element bytes -> st_str elements. */
static st_status npy_strings(const uint8_t *raw, const npy_header *h, const char *what,
                             st_buf **out, st_error *err) {
    st_buf *b = npy_new_strings(h->nelem);
    if (!b) return st_error_nomem(err);
    st_str *dst = b->data;
    st_status s = ST_OK;
    size_t w = h->itemsize / h->unit; /* characters per element */
    for (size_t i = 0; i < h->nelem; i++) {
        const uint8_t *e = raw + i * h->itemsize;
        size_t len = w;
        if (h->kind == 'S') {
            while (len && e[len - 1] == 0) len--;
            dst[i].data = st_strndup((const char *)e, len);
            if (!dst[i].data) goto nomem;
            dst[i].len = len;
            continue;
        }
        while (len) {
            const uint8_t *c = e + (len - 1) * 4;
            if (c[0] | c[1] | c[2] | c[3]) break;
            len--;
        }
        char *u = st_malloc(len * 4 + 1); /* len <= itemsize / 4, so this cannot overflow */
        if (!u) goto nomem;
        size_t k = 0;
        for (size_t j = 0; j < len; j++) {
            const uint8_t *c = e + j * 4;
            uint32_t cp =
                (uint32_t)c[0] | (uint32_t)c[1] << 8 | (uint32_t)c[2] << 16 | (uint32_t)c[3] << 24;
            if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
                st_free(u);
                s = st_errorf(err, ST_ERR_FORMAT,
                              "%s: element %zu holds an invalid code point 0x%X", what, i,
                              (unsigned)cp);
                goto fail;
            }
            k += utf8_put(u + k, cp);
        }
        u[k] = 0;
        dst[i].data = u;
        dst[i].len = k;
    }
    *out = b;
    return ST_OK;
nomem:
    s = st_error_nomem(err);
fail:
    st_buf_unref(b);
    return s;
}

st_status st_npy_read_mem(const void *data, size_t n, const char *what, st_tensor *out,
                          st_error *err) {
    if (!what) what = "npy data";
    npy_header h;
    st_buf *raw = NULL, *strs = NULL;
    st_status s = parse_header(data, n, what, &h, err);
    if (s) return s;
    const uint8_t *src = (const uint8_t *)data + h.data_off;
    raw = st_buf_new_heap(h.nbytes);
    if (!raw) {
        s = st_errorf(err, ST_ERR_NOMEM, "%s: out of memory allocating %zu bytes", what, h.nbytes);
        goto fail;
    }
    if (h.fortran && h.ndim > 1) npy_transpose(raw->data, src, &h);
    else if (h.nbytes) memcpy(raw->data, src, h.nbytes);
    if (h.swap && h.unit > 1) npy_swap(raw->data, h.nbytes, h.unit);
    if (h.dtype == ST_DTYPE_BOOL) {
        uint8_t *p = raw->data;
        for (size_t i = 0; i < h.nelem; i++) p[i] = p[i] != 0;
    }
    if (h.dtype == ST_DTYPE_STRING) {
        if ((s = npy_strings(raw->data, &h, what, &strs, err))) goto fail;
        st_buf_unref(raw);
        raw = strs;
    }
    memset(out, 0, sizeof *out);
    out->dtype = h.dtype;
    out->ndim = h.ndim;
    memcpy(out->dims, h.dims, sizeof h.dims);
    out->data = raw->data;
    out->buf = raw;
    return ST_OK;
fail:
    st_buf_unref(raw);
    return s;
}

st_status st_npy_read(const char *path, st_tensor *out, st_error *err) {
    st_buf *b = NULL;
    /* Map regular files (no copy of the file besides the tensor); read anything else. */
    if (st_buf_map_file(path, &b, NULL) != ST_OK) {
        st_status s = st_read_file(path, &b, err);
        if (s) return s;
    }
    st_status s = st_npy_read_mem(b->data, b->size, path, out, err);
    st_buf_unref(b);
    return s;
}

/* ---- writing ------------------------------------------------------------------------- */

/* A buffered writer that remembers the first failure. */
typedef struct npy_out {
    FILE *f;
    bool bad;
    size_t n;
    uint8_t buf[16384];
} npy_out;

static void out_flush(npy_out *o) {
    if (o->n && !o->bad && fwrite(o->buf, 1, o->n, o->f) != o->n) o->bad = true;
    o->n = 0;
}

static void out_put(npy_out *o, const void *p, size_t n) {
    const uint8_t *s = p;
    while (n) {
        if (o->n == sizeof o->buf) out_flush(o);
        size_t k = ST_MIN(n, sizeof o->buf - o->n);
        memcpy(o->buf + o->n, s, k);
        o->n += k;
        s += k;
        n -= k;
    }
}

/* Code points in a UTF-8 string, or SIZE_MAX when it is not valid UTF-8. */
static size_t utf8_count(const st_str *e) {
    size_t cps = 0;
    const unsigned char *p = (const unsigned char *)e->data;
    for (size_t i = 0; i < e->len; cps++) {
        uint32_t c;
        size_t k = utf8_get(p + i, e->len - i, &c);
        if (!k) return SIZE_MAX;
        i += k;
    }
    return cps;
}

static void out_utf32(npy_out *o, const st_str *e, size_t width) {
    const unsigned char *p = (const unsigned char *)e->data;
    size_t cps = 0;
    for (size_t i = 0; i < e->len; cps++) {
        uint32_t c = 0;
        i += utf8_get(p + i, e->len - i, &c); /* validated by utf8_count */
        uint8_t b[4] = {(uint8_t)c, (uint8_t)(c >> 8), (uint8_t)(c >> 16), (uint8_t)(c >> 24)};
        out_put(o, b, 4);
    }
    static const uint8_t zero[4];
    for (; cps < width; cps++) out_put(o, zero, 4);
}

st_status st_npy_write(const char *path, const st_tensor *t, st_error *err) {
    st_status s = ST_OK;
    npy_out *o = NULL;
    if ((unsigned)t->dtype >= ST_DTYPE_COUNT || t->dtype == ST_DTYPE_UNDEFINED)
        return st_errorf(err, ST_ERR_UNSUPPORTED, "%s: cannot write data type %d as .npy", path,
                         (int)t->dtype);
    if (t->ndim < 0 || t->ndim > ST_MAX_RANK)
        return st_errorf(err, ST_ERR_INVALID, "%s: rank %d out of range", path, t->ndim);
    size_t ne = 1;
    for (int i = 0; i < t->ndim; i++)
        if (t->dims[i] < 0 || !st_mul_ok(ne, (size_t)t->dims[i], &ne))
            return st_errorf(err, ST_ERR_INVALID, "%s: invalid shape", path);

    char descr[NPY_DESCR_MAX];
    size_t width = 1; /* strings: code points per element */
    if (t->dtype == ST_DTYPE_STRING) {
        const st_str *e = t->data;
        for (size_t i = 0; i < ne; i++) {
            size_t c = e[i].data ? utf8_count(&e[i]) : 0;
            if (c == SIZE_MAX)
                return st_errorf(err, ST_ERR_INVALID, "%s: string element %zu is not valid UTF-8",
                                 path, i);
            width = ST_MAX(width, c);
        }
        snprintf(descr, sizeof descr, "<U%zu", width);
    } else {
        snprintf(descr, sizeof descr, "%s", npy_types[t->dtype].descr);
    }

    /* The header: dict, spaces, newline, so the data starts on a 64-byte boundary. */
    char dict[64 + 24 * ST_MAX_RANK];
    int k =
        snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (", descr);
    for (int i = 0; i < t->ndim; i++)
        k += snprintf(dict + k, sizeof dict - (size_t)k, "%s%" PRId64, i ? ", " : "", t->dims[i]);
    k += snprintf(dict + k, sizeof dict - (size_t)k, "%s), }", t->ndim == 1 ? "," : "");
    size_t pre = 10, body = (size_t)k + 1;
    size_t hlen = body + (NPY_ALIGN - (pre + body) % NPY_ALIGN) % NPY_ALIGN;
    ST_ASSERT(hlen <= 0xFFFF); /* a rank-16 dict is far shorter: version 1.0 always fits */
    uint8_t pre_bytes[10] = {0x93, 'N', 'U', 'M',           'P',
                             'Y',  1,   0,   (uint8_t)hlen, (uint8_t)(hlen >> 8)};

    o = st_malloc(sizeof *o);
    if (!o) return st_error_nomem(err);
    o->bad = false;
    o->n = 0;
    o->f = fopen(path, "wb");
    if (!o->f) {
        s = st_errorf(err, ST_ERR_IO, "%s: %s", path, strerror(errno));
        goto fail;
    }
    out_put(o, pre_bytes, sizeof pre_bytes);
    out_put(o, dict, (size_t)k);
    for (size_t i = (size_t)k; i + 1 < hlen; i++) out_put(o, " ", 1);
    out_put(o, "\n", 1);
    if (t->dtype == ST_DTYPE_STRING) {
        const st_str *e = t->data;
        for (size_t i = 0; i < ne; i++) {
            static const st_str empty = {NULL, 0};
            out_utf32(o, e[i].data ? &e[i] : &empty, width);
        }
    } else if (t->dtype == ST_DTYPE_BF16) {
        const uint16_t *p = t->data;
        for (size_t i = 0; i < ne; i++) {
            float f = st_bf16_to_f32(p[i]);
            out_put(o, &f, sizeof f);
        }
    } else if (npy_types[t->dtype].size == 4 && st_dtype_size(t->dtype) == 1) { /* float8/4 */
        const uint8_t *p = t->data;
        for (size_t i = 0; i < ne; i++) {
            float f = st_minifloat_to_f32(t->dtype, p[i]);
            out_put(o, &f, sizeof f);
        }
    } else if (t->dtype == ST_DTYPE_BOOL) {
        const uint8_t *p = t->data;
        for (size_t i = 0; i < ne; i++) {
            uint8_t b = p[i] != 0;
            out_put(o, &b, 1);
        }
    } else if (ne) {
        size_t nbytes;
        if (!st_mul_ok(ne, npy_types[t->dtype].size, &nbytes)) {
            s = st_errorf(err, ST_ERR_INVALID, "%s: tensor too large", path);
            goto fail;
        }
        out_flush(o);
        if (!o->bad && fwrite(t->data, 1, nbytes, o->f) != nbytes) o->bad = true;
    }
    out_flush(o);
    FILE *f = o->f;
    o->f = NULL;
    if (fclose(f) != 0 || o->bad) {
        s = st_errorf(err, ST_ERR_IO, "%s: write failed: %s", path, strerror(errno));
        remove(path);
        goto fail;
    }
    st_free(o);
    return ST_OK;
fail:
    if (o && o->f) {
        fclose(o->f);
        remove(path);
    }
    st_free(o);
    return s;
}

/* ---- .npz: a zip of .npy members ---------------------------------------------------- */

void st_npz_free(size_t n, char **names, st_tensor *tensors) {
    for (size_t i = 0; i < n; i++) {
        if (names) st_free(names[i]);
        if (tensors) st_buf_unref(tensors[i].buf);
    }
    st_free(names);
    st_free(tensors);
}

/* Read member i whole into a fresh heap block. */
static st_status npz_member(zip_t *z, zip_uint64_t i, const zip_stat_t *sb, const char *path,
                            uint64_t file_size, uint8_t **data, st_error *err) {
    /* Deflate expands at most ~1032:1: a bigger claim is a lie, not a reason to allocate. */
    if (!(sb->valid & ZIP_STAT_SIZE) || !(sb->valid & ZIP_STAT_COMP_SIZE) ||
        sb->comp_size > file_size || sb->size / 1100 > sb->comp_size + 1)
        return st_errorf(err, ST_ERR_FORMAT, "%s: member %s: implausible sizes", path, sb->name);
    if (sb->size > SIZE_MAX - 1)
        return st_errorf(err, ST_ERR_LIMIT, "%s: member %s is too large", path, sb->name);
    size_t size = (size_t)sb->size;
    uint8_t *buf = st_malloc(size ? size : 1);
    if (!buf) return st_error_nomem(err);
    st_status s = ST_OK;
    zip_file_t *zf = zip_fopen_index(z, i, 0);
    if (!zf) {
        s = st_errorf(err, ST_ERR_FORMAT, "%s: member %s: %s", path, sb->name, zip_strerror(z));
        goto fail;
    }
    size_t got = 0;
    while (got < size) {
        zip_int64_t r = zip_fread(zf, buf + got, size - got);
        if (r <= 0) {
            s = st_errorf(err, ST_ERR_FORMAT, "%s: member %s: %s", path, sb->name,
                          r < 0 ? zip_file_strerror(zf) : "truncated");
            zip_fclose(zf);
            goto fail;
        }
        got += (size_t)r;
    }
    /* Read to the end: libzip checks the CRC only when it reaches it. */
    uint8_t extra;
    zip_int64_t r = zip_fread(zf, &extra, 1);
    if (r != 0) {
        s = st_errorf(err, ST_ERR_FORMAT, "%s: member %s: %s", path, sb->name,
                      r < 0 ? zip_file_strerror(zf) : "longer than its declared size");
        zip_fclose(zf);
        goto fail;
    }
    zip_fclose(zf);
    *data = buf;
    return ST_OK;
fail:
    st_free(buf);
    return s;
}

st_status st_npz_read(const char *path, size_t *n_out, char ***names_out, st_tensor **tensors_out,
                      st_error *err) {
    st_status s = ST_OK;
    char **names = NULL;
    st_tensor *tensors = NULL;
    size_t n = 0;
    uint8_t *data = NULL;
    char *what = NULL;
    struct stat fst;
    if (stat(path, &fst) != 0) return st_errorf(err, ST_ERR_IO, "%s: %s", path, strerror(errno));
    int zerr = 0;
    zip_t *z = zip_open(path, ZIP_RDONLY, &zerr);
    if (!z) {
        zip_error_t ze;
        zip_error_init_with_code(&ze, zerr);
        s = st_errorf(err, zerr == ZIP_ER_OPEN || zerr == ZIP_ER_READ ? ST_ERR_IO : ST_ERR_FORMAT,
                      "%s: %s", path, zip_error_strerror(&ze));
        zip_error_fini(&ze);
        return s;
    }
    zip_int64_t ne = zip_get_num_entries(z, 0);
    if (ne < 0) ne = 0;
    names = st_calloc((size_t)ne + 1, sizeof *names);
    tensors = st_calloc((size_t)ne + 1, sizeof *tensors);
    if (!names || !tensors) {
        s = st_error_nomem(err);
        goto fail;
    }
    for (zip_int64_t i = 0; i < ne; i++) {
        zip_stat_t sb;
        if (zip_stat_index(z, (zip_uint64_t)i, 0, &sb) != 0 || !(sb.valid & ZIP_STAT_NAME)) {
            s = st_errorf(err, ST_ERR_FORMAT, "%s: entry %" PRId64 ": %s", path, (int64_t)i,
                          zip_strerror(z));
            goto fail;
        }
        size_t len = strlen(sb.name);
        if (len && sb.name[len - 1] == '/') continue; /* a directory */
        if ((s = npz_member(z, (zip_uint64_t)i, &sb, path, (uint64_t)fst.st_size, &data, err)))
            goto fail;
        size_t wl = strlen(path) + len + 3;
        what = st_malloc(wl);
        if (!what) {
            s = st_error_nomem(err);
            goto fail;
        }
        snprintf(what, wl, "%s: %s", path, sb.name);
        if ((s = st_npy_read_mem(data, (size_t)sb.size, what, &tensors[n], err))) goto fail;
        if (len >= 4 && strcmp(sb.name + len - 4, ".npy") == 0) len -= 4;
        names[n] = st_strndup(sb.name, len);
        n++; /* the tensor is counted even if the name failed, so fail: releases it */
        if (!names[n - 1]) {
            s = st_error_nomem(err);
            goto fail;
        }
        st_free(data);
        st_free(what);
        data = NULL;
        what = NULL;
    }
    zip_discard(z);
    *n_out = n;
    *names_out = names;
    *tensors_out = tensors;
    return ST_OK;
fail:
    st_free(data);
    st_free(what);
    st_npz_free(n, names, tensors);
    zip_discard(z);
    return s;
}
