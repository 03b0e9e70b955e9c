/* core/minifloat.c: float8 (E4M3FN, E4M3FNUZ, E5M2, E5M2FNUZ, E8M0) and float4 (E2M1) codes
 * <-> float32, as the ONNX spec defines them (round to nearest even, saturation table). One
 * code per byte; packing of 4-bit codes belongs to the formats, not here. */
#include <math.h>

#include "core.h"

typedef struct mf_format {
    int mbits, bias;
    float max;    /* largest finite value */
    uint8_t nan;  /* the positive NaN code (0 when there is none) */
    bool fnuz;    /* no negative zero, no infinity, 0x80 is NaN */
    bool has_inf; /* E5M2: IEEE infinities */
} mf_format;

static const mf_format *mf_of(st_dtype t) {
    static const mf_format e4m3fn = {3, 7, 448.0f, 0x7f, false, false};
    static const mf_format e4m3fnuz = {3, 8, 240.0f, 0x80, true, false};
    static const mf_format e5m2 = {2, 15, 57344.0f, 0x7f, false, true};
    static const mf_format e5m2fnuz = {2, 16, 57344.0f, 0x80, true, false};
    static const mf_format e2m1 = {1, 1, 6.0f, 0, false, false};
    switch (t) {
    case ST_DTYPE_F8E4M3FN: return &e4m3fn;
    case ST_DTYPE_F8E4M3FNUZ: return &e4m3fnuz;
    case ST_DTYPE_F8E5M2: return &e5m2;
    case ST_DTYPE_F8E5M2FNUZ: return &e5m2fnuz;
    case ST_DTYPE_F4E2M1: return &e2m1;
    default: return NULL;
    }
}

float st_minifloat_to_f32(st_dtype t, uint8_t code) {
    if (t == ST_DTYPE_F8E8M0) return code == 0xff ? NAN : ldexpf(1.0f, (int)code - 127);
    const mf_format *f = mf_of(t);
    if (!f) return 0;
    int bits = t == ST_DTYPE_F4E2M1 ? 4 : 8;
    uint8_t sign = (uint8_t)(1u << (bits - 1)), mag = (uint8_t)(code & (sign - 1));
    if (f->fnuz && code == 0x80) return NAN;
    if (f->nan && !f->fnuz && mag >= f->nan - (f->has_inf ? 3 : 0)) {
        if (!f->has_inf || mag > 0x7c) return NAN;
        return code & sign ? -INFINITY : INFINITY;
    }
    int e = mag >> f->mbits, m = mag & ((1 << f->mbits) - 1);
    float v = e ? ldexpf(1.0f + (float)m / (float)(1 << f->mbits), e - f->bias)
                : ldexpf((float)m / (float)(1 << f->mbits), 1 - f->bias);
    return code & sign ? -v : v;
}

/* The code of a finite, non-negative value that the format holds exactly. */
static uint8_t mf_encode_exact(const mf_format *f, float r) {
    if (r == 0) return 0;
    int e;
    float m = frexpf(r, &e); /* r = m * 2^e, m in [0.5, 1) */
    int be = e - 1 + f->bias;
    if (be <= 0) /* subnormal */
        return (uint8_t)lrintf(ldexpf(r, f->bias - 1 + f->mbits));
    return (uint8_t)((be << f->mbits) | (int)lrintf((m * 2 - 1) * (float)(1 << f->mbits)));
}

uint8_t st_f32_to_minifloat(st_dtype t, float x, bool saturate) {
    const mf_format *f = mf_of(t);
    if (!f) return 0;
    int bits = t == ST_DTYPE_F4E2M1 ? 4 : 8;
    uint8_t sign = signbit(x) ? (uint8_t)(1u << (bits - 1)) : 0;
    if (isnan(x)) return f->nan ? (uint8_t)(f->nan | (f->fnuz ? 0 : sign)) : sign;
    float a = fabsf(x);
    uint8_t mag;
    if (isinf(a)) {
        mag = 0xff; /* overflow below */
    } else {
        int e;
        frexpf(a, &e);
        int q = ST_MAX(e - 1, 1 - f->bias) - f->mbits; /* the quantum at a's exponent */
        float r = ldexpf(rintf(ldexpf(a, -q)), q);     /* round to nearest even */
        mag = r > f->max ? 0xff : mf_encode_exact(f, r);
    }
    if (mag == 0xff) { /* beyond the largest value */
        if (saturate || !f->nan) mag = mf_encode_exact(f, f->max);
        else if (f->has_inf && !isnan(x)) mag = 0x7c;
        else return f->nan;
    }
    if (f->fnuz && mag == 0) return 0; /* no negative zero */
    return (uint8_t)(mag | sign);
}

uint8_t st_f32_to_e8m0(float x, bool saturate, st_e8m0_round mode) {
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    uint32_t e = (u >> 23) & 0xff, m = u & 0x7fffff;
    if (e == 0xff) return m || !saturate ? 0xff : 0xfe; /* NaN; infinity */
    bool up = false;
    if (mode == ST_E8M0_UP) up = m != 0;
    else if (mode == ST_E8M0_NEAREST) up = (m & 0x400000) && ((m & 0x3fffff) || (e & 1));
    if (up) {
        if (e == 0xfe) return saturate ? 0xfe : 0xff;
        e++;
    }
    return (uint8_t)e;
}
