/* core/core.h: status codes, errors, the allocator hook, checked size math, arenas and
 * reference-counted byte buffers. Every other layer sits on this one; it knows nothing
 * of models, formats or the IR, and never prints or exits. */
#ifndef ST_CORE_H
#define ST_CORE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "stele.h" /* st_status, st_error, st_alloc_fn: the public half of core */

#if defined(__GNUC__)
#define ST_PRINTF(a, b) __attribute__((format(printf, a, b)))
#define ST_UNUSED __attribute__((unused))
#define ST_LIKELY(x) __builtin_expect(!!(x), 1)
#define ST_UNLIKELY(x) __builtin_expect(!!(x), 0)
#else
#define ST_PRINTF(a, b)
#define ST_UNUSED
#define ST_LIKELY(x) (x)
#define ST_UNLIKELY(x) (x)
#endif

#define ST_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define ST_MIN(a, b) ((a) < (b) ? (a) : (b))
#define ST_MAX(a, b) ((a) > (b) ? (a) : (b))

/* Internal invariants and API misuse only; anything derived from a file returns a status. */
void st_assert_fail(const char *expr, const char *file, int line);
#define ST_ASSERT(e) ((e) ? (void)0 : st_assert_fail(#e, __FILE__, __LINE__))

/* ---- errors ---------------------------------------------------------------------- */
/* Set err (may be NULL) to status and a formatted message; returns status so a failure
 * site can write `return st_errorf(err, ST_ERR_FORMAT, "...")`. */
st_status st_errorf(st_error *err, st_status status, const char *fmt, ...) ST_PRINTF(3, 4);
/* Prefix the existing message with context ("model.onnx: " + msg). No status is returned:
 * the caller returns the status it already holds, so a status never depends on whether a
 * message was requested (err may be NULL). */
void st_error_prefix(st_error *err, const char *fmt, ...) ST_PRINTF(2, 3);
/* va_list form of st_errorf. */
st_status st_errorv(st_error *err, st_status status, const char *fmt, va_list ap);
/* The sticky status of an importer or exporter (SQLite's pParse->rc): the first failure
 * is recorded in *sticky and, when err is given, its message; later failures are dropped.
 * Returns the sticky status, so `return st_sticky_fail(&im->st, im->err, ...)` stops a
 * caller with the status that stopped the first one. */
st_status st_sticky_fail(st_status *sticky, st_error *err, st_status status, const char *fmt,
                         ...) ST_PRINTF(4, 5);
st_status st_sticky_failv(st_status *sticky, st_error *err, st_status status, const char *fmt,
                          va_list ap);
/* ST_ERR_NOMEM with a standard message. */
st_status st_error_nomem(st_error *err);

/* ---- allocation ------------------------------------------------------------------ */
/* All heap memory goes through the hook set by st_set_allocator (Lua's contract). */
void *st_malloc(size_t n);
void *st_calloc(size_t count, size_t size); /* overflow-checked, zeroed */
void *st_realloc(void *p, size_t n);
void st_free(void *p);
char *st_strdup(const char *s);
/* n bytes aligned to align (a power of two) through the hook; free with st_free_aligned. */
void *st_malloc_aligned(size_t n, size_t align);
void st_free_aligned(void *p); /* NULL is a no-op */
char *st_strndup(const char *s, size_t n);
/* Test hook: make allocation number n (1-based, counted from this call) fail; 0 disables. */
long st_alloc_fail_after(long n); /* returns the count left: > 0 = it never failed */

/* ---- checked size math (every size derived from untrusted input) ----------------- */
static inline bool st_mul_ok(size_t a, size_t b, size_t *out) {
    return !__builtin_mul_overflow(a, b, out);
}
static inline bool st_add_ok(size_t a, size_t b, size_t *out) {
    return !__builtin_add_overflow(a, b, out);
}
static inline bool st_mul_i64_ok(int64_t a, int64_t b, int64_t *out) {
    return !__builtin_mul_overflow(a, b, out);
}

/* ---- growable array -------------------------------------------------------------- */
/* Grow *p (element size esz, capacity *cap) to hold at least n elements. */
bool st_grow(void **p, size_t *cap, size_t n, size_t esz);
#define ST_GROW(arr, cap, n) st_grow((void **)&(arr), &(cap), (n), sizeof(*(arr)))

/* ---- arena: many small objects freed at once ------------------------------------- */
typedef struct st_arena st_arena;
st_arena *st_arena_new(size_t chunk);
void st_arena_free(st_arena *a);             /* NULL is a no-op */
void *st_arena_alloc(st_arena *a, size_t n); /* 16-byte aligned, NULL on OOM */
char *st_arena_strdup(st_arena *a, const char *s);

/* ---- reference-counted byte buffers ---------------------------------------------- */
/* A buffer owns bytes that tensors borrow: heap memory, a read-only file mapping, or an
 * arena. Borrowers call st_buf_ref; the last st_buf_unref releases the bytes. */
typedef struct st_buf st_buf;
struct st_buf {
    int refs;
    void *data;
    size_t size;
    void (*release)(st_buf *b); /* frees data (and the buffer struct) */
    void *ctx;
};
st_buf *st_buf_new_heap(size_t size);       /* uninitialized bytes */
st_buf *st_buf_wrap_arena(st_arena *arena); /* takes ownership of arena */
st_status st_buf_map_file(const char *path, st_buf **out, st_error *err); /* read-only mmap */
st_buf *st_buf_ref(st_buf *b);                                            /* NULL passes through */
void st_buf_unref(st_buf *b);                                             /* NULL is a no-op */

/* Read a whole file into a heap buffer (used where mmap is not possible). */
st_status st_read_file(const char *path, st_buf **out, st_error *err);
st_status st_write_file(const char *path, const void *data, size_t n, st_error *err);

/* ---- half-precision conversions (used by IR, formats and kernels) ---------------- */
/* Branch-free, so loops over them vectorize; bit-exact with IEEE round-to-nearest-even
 * (test_ir checks them against plain reference conversions). NaN payloads are kept quiet. */
static inline float st_f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16, em = h & 0x7fff, u = em << 13;
    float f;
    memcpy(&f, &u, sizeof f);
    f *= 0x1p112f; /* rebias the exponent; subnormal halves become normal floats */
    memcpy(&u, &f, sizeof u);
    u = em >= 0x7c00 ? (0x7f800000u | (em << 13)) : u;
    u |= sign;
    memcpy(&f, &u, sizeof f);
    return f;
}
static inline uint16_t st_f32_to_f16(float f) {
    uint32_t x, sign, sub;
    memcpy(&x, &f, sizeof x);
    sign = (x >> 16) & 0x8000;
    x &= 0x7fffffffu;
    /* below 2^-14 the result is subnormal: adding 0.5 makes the FPU round at bit 2^-24 */
    float a;
    memcpy(&a, &x, sizeof a);
    a += 0.5f;
    memcpy(&sub, &a, sizeof sub);
    sub -= 0x3f000000u;
    /* normal: rebias and round to nearest even at bit 13 (a carry may reach inf: right) */
    uint32_t nor = (x + ((uint32_t)(15 - 127) << 23) + 0xfff + ((x >> 13) & 1)) >> 13;
    uint32_t o = x < 0x38800000u ? sub : nor;
    o = x >= 0x47800000u ? 0x7c00u : o;
    o = x > 0x7f800000u ? (0x7e00u | ((x >> 13) & 0x3ff)) : o;
    return (uint16_t)(o | sign);
}
static inline float st_bf16_to_f32(uint16_t b) {
    uint32_t u = (uint32_t)b << 16;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}
static inline uint16_t st_f32_to_bf16(float f) { /* round to nearest even, NaN kept quiet */
    uint32_t x;
    memcpy(&x, &f, sizeof x);
    uint32_t r = (x + 0x7fff + ((x >> 16) & 1)) >> 16;
    return (uint16_t)((x & 0x7fffffffu) > 0x7f800000u ? (x >> 16) | 0x40 : r);
}

/* ---- float8 / float4 codes (core/minifloat.c) ------------------------------------ */
/* t is one of the float8 types or float4e2m1; code is one element's bits (float4: the low
 * 4). To a code: round to nearest even; beyond the largest value (and infinity) saturate
 * to it, or without saturate give NaN (E5M2: infinity); the FNUZ types have no -0.
 * float4 has no NaN or infinity: it always saturates, NaN gives (signed) zero. */
float st_minifloat_to_f32(st_dtype t, uint8_t code);
uint8_t st_f32_to_minifloat(st_dtype t, float x, bool saturate);
/* float8e8m0 (a power of two, 0xff is NaN): the float32 exponent, rounded per mode. */
typedef enum { ST_E8M0_UP, ST_E8M0_DOWN, ST_E8M0_NEAREST } st_e8m0_round;
uint8_t st_f32_to_e8m0(float x, bool saturate, st_e8m0_round mode);

/* Monotonic time in nanoseconds (the one clock every layer uses). */
uint64_t st_now_ns(void);

/* ---- string builder (core/str.c) ------------------------------------------------- */
/* A growable NUL-terminated string. Appends after an allocation failure are dropped and
 * `oom` stays set, so a builder can be filled without checks and tested once at the end.
 * Zero-initialize; release with st_sb_free (the bytes may instead be taken with
 * st_sb_take). */
typedef struct st_sb {
    char *s; /* NULL until the first append */
    size_t n, cap;
    bool oom;
} st_sb;
void st_sb_put(st_sb *b, const void *data, size_t n);
void st_sb_puts(st_sb *b, const char *s);
void st_sb_putc(st_sb *b, char c);
void st_sb_printf(st_sb *b, const char *fmt, ...) ST_PRINTF(2, 3);
void st_sb_vprintf(st_sb *b, const char *fmt, va_list ap);
void st_sb_json_str(st_sb *b, const char *s); /* a quoted, escaped JSON string */
void st_sb_ns_us(st_sb *b, int64_t ns);       /* ns as microseconds with 3 exact decimals */
static inline const char *st_sb_str(const st_sb *b) { return b->s ? b->s : ""; }
/* The bytes (st_free them), or NULL when an append failed; the builder is emptied. */
char *st_sb_take(st_sb *b);
void st_sb_free(st_sb *b);

/* ---- string map (core/str.c) ----------------------------------------------------- */
/* Open-addressing map from NUL-terminated keys to intptr_t values. Keys are copied unless
 * the map was made with st_strmap_init_borrow, in which case they must outlive the map. */
typedef struct st_strmap {
    char **keys;
    intptr_t *vals;
    size_t n, cap;
    bool borrow;
} st_strmap;
uint64_t st_hash_str(const char *s); /* FNV-1a */
static inline void st_strmap_init_borrow(st_strmap *m) {
    memset(m, 0, sizeof *m);
    m->borrow = true;
}
/* Insert or overwrite; false on out of memory. */
bool st_strmap_put(st_strmap *m, const char *key, intptr_t val);
/* Insert only when absent: 1 inserted, 0 already there (value untouched), -1 out of memory. */
int st_strmap_add(st_strmap *m, const char *key, intptr_t val);
/* The value, or false when absent. */
bool st_strmap_get(const st_strmap *m, const char *key, intptr_t *val);
void st_strmap_free(st_strmap *m);

/* ---- CRC32C (core/crc32c.c) ------------------------------------------------------ */
/* Castagnoli CRC (TFRecord, LevelDB tables, tensor bundles); crc is the running value,
 * 0 to start. */
uint32_t st_crc32c(uint32_t crc, const void *data, size_t n);
/* The masking TFRecord and LevelDB store instead of the raw CRC. */
static inline uint32_t st_crc32c_mask(uint32_t crc) {
    return ((crc >> 15) | (crc << 17)) + 0xa282ead8u;
}
static inline uint32_t st_crc32c_unmask(uint32_t m) {
    uint32_t r = m - 0xa282ead8u;
    return (r >> 17) | (r << 15);
}

#endif
