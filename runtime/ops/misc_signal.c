/* runtime/ops/misc_signal.c: signal-processing kernels of the misc family: DFT, STFT, the
 * Hann/Hamming/Blackman windows and MelWeightMatrix. All arithmetic is in double; lengths
 * that are powers of two use an iterative radix-2 FFT, short other lengths a direct DFT
 * with a twiddle table, and long other lengths Bluestein's chirp-z algorithm on top of the
 * radix-2 FFT. Plans and work buffers are built at prepare (or at the first run when the
 * transform length is a runtime input) and kept in the kernel state; they are not shared
 * between kernels.
 * Choices where opset 17 is silent: DFT's axis may be negative (counted from the end, as
 * opset 20 says) but never the last, real/imaginary axis; `onesided` with complex input
 * (DFT or STFT) or with `inverse` returns bins 0..n/2 of the full transform; a window of
 * size 1 with periodic=0 is [1]. */
#include <math.h>
#include <string.h>

#include "misc_impl.h"

/* Converters shared by the family (misc.c). */
void st_misc_load_f64(st_dtype dt, const void *src, size_t off, size_t sstride, size_t n,
                      double *dst, size_t dstride);
void st_misc_store_f64(st_dtype dt, void *dst, size_t off, size_t dstride, size_t n,
                       const double *src, size_t sstride);
bool st_misc_numeric(st_dtype dt);

#define DIRECT_MAX 64 /* non-power-of-two lengths up to this use the O(n^2) direct DFT */

static bool is_float_dtype(st_dtype t) {
    return t == ST_DTYPE_F16 || t == ST_DTYPE_F32 || t == ST_DTYPE_F64 || t == ST_DTYPE_BF16;
}

/* A one-element integer input (scalar or [1]) read as int64. */
static st_status read_scalar_int(const st_tensor *t, const char *what, int64_t *out,
                                 st_error *err) {
    if (t->dtype != ST_DTYPE_I32 && t->dtype != ST_DTYPE_I64)
        return st_errorf(err, ST_ERR_INVALID, "%s must be int32 or int64, got %s", what,
                         st_dtype_name(t->dtype));
    if (st_tensor_nelem(t) != 1)
        return st_errorf(err, ST_ERR_INVALID, "%s must hold one value, it has %zu", what,
                         st_tensor_nelem(t));
    *out = st_tensor_get_i64(t, 0);
    return ST_OK;
}

static st_status read_scalar_float(const st_tensor *t, const char *what, double *out,
                                   st_error *err) {
    if (!is_float_dtype(t->dtype))
        return st_errorf(err, ST_ERR_INVALID, "%s must be a float tensor, got %s", what,
                         st_dtype_name(t->dtype));
    if (st_tensor_nelem(t) != 1)
        return st_errorf(err, ST_ERR_INVALID, "%s must hold one value, it has %zu", what,
                         st_tensor_nelem(t));
    *out = st_tensor_get_f64(t, 0);
    return ST_OK;
}

/* ---- FFT plans -------------------------------------------------------------------- */
typedef enum {
    FFT_POW2,      /* radix-2 on n itself */
    FFT_DIRECT,    /* O(n^2) with an n-entry twiddle table */
    FFT_BLUESTEIN, /* chirp-z: three radix-2 FFTs of length m >= 2n - 1 */
} fft_kind;

typedef struct fft_plan {
    size_t n; /* transform length */
    fft_kind kind;
    size_t m;      /* radix-2 length (n for POW2, Bluestein's padded length, else 0) */
    double *tw;    /* m/2 complex exp(-2 pi i k / m) (POW2, BLUESTEIN); n for DIRECT */
    double *chirp; /* BLUESTEIN: n complex exp(-i pi k^2 / n) */
    double *bhat;  /* BLUESTEIN: FFT of the conjugate chirp, m complex, scaled by 1/m */
    size_t work;   /* doubles of work buffer a line needs beyond its n complex values */
} fft_plan;

static void fft_plan_free(fft_plan *p) {
    st_free(p->tw);
    st_free(p->chirp);
    st_free(p->bhat);
    memset(p, 0, sizeof *p);
}

static bool is_pow2(size_t n) { return n && !(n & (n - 1)); }

/* In-place forward radix-2 FFT of m complex values (a holds 2m doubles). */
static void fft_radix2(const double *tw, size_t m, double *a) {
    for (size_t i = 1, j = 0; i < m; i++) {
        size_t bit = m >> 1;
        for (; j & bit; bit >>= 1) j ^= bit;
        j ^= bit;
        if (i < j) {
            double tr = a[2 * i], ti = a[2 * i + 1];
            a[2 * i] = a[2 * j];
            a[2 * i + 1] = a[2 * j + 1];
            a[2 * j] = tr;
            a[2 * j + 1] = ti;
        }
    }
    for (size_t i = 0; i + 1 < m; i += 2) { /* first stage: twiddle 1 */
        double *u = a + 2 * i, *v = u + 2;
        double vr = v[0], vi = v[1];
        v[0] = u[0] - vr;
        v[1] = u[1] - vi;
        u[0] += vr;
        u[1] += vi;
    }
    for (size_t len = 4; len <= m; len <<= 1) {
        size_t half = len >> 1, step = m / len;
        /* keep the longer loop innermost: blocks for early stages, twiddles for late ones */
        if (half < m / len) {
            for (size_t j = 0; j < half; j++) {
                double wr = tw[2 * j * step], wi = tw[2 * j * step + 1];
                for (size_t i = j; i < m; i += len) {
                    double *u = a + 2 * i, *v = a + 2 * (i + half);
                    double vr = v[0] * wr - v[1] * wi, vi = v[0] * wi + v[1] * wr;
                    v[0] = u[0] - vr;
                    v[1] = u[1] - vi;
                    u[0] += vr;
                    u[1] += vi;
                }
            }
            continue;
        }
        for (size_t i = 0; i < m; i += len) {
            for (size_t j = 0; j < half; j++) {
                double wr = tw[2 * j * step], wi = tw[2 * j * step + 1];
                double *u = a + 2 * (i + j), *v = a + 2 * (i + j + half);
                double vr = v[0] * wr - v[1] * wi, vi = v[0] * wi + v[1] * wr;
                v[0] = u[0] - vr;
                v[1] = u[1] - vi;
                u[0] += vr;
                u[1] += vi;
            }
        }
    }
}

static double *twiddles(size_t count, size_t m) { /* exp(-2 pi i k / m), k < count */
    double *t = st_calloc(count ? 2 * count : 2, sizeof *t);
    if (!t) return NULL;
    for (size_t k = 0; k < count; k++) {
        double ang = -2.0 * M_PI * (double)k / (double)m;
        t[2 * k] = cos(ang);
        t[2 * k + 1] = sin(ang);
    }
    return t;
}

static st_status fft_plan_make(fft_plan *p, size_t n, st_error *err) {
    fft_plan q = {.n = n};
    if (is_pow2(n)) {
        q.kind = FFT_POW2;
        q.m = n;
        if (!(q.tw = twiddles(n / 2, n))) goto nomem;
    } else if (n <= DIRECT_MAX) {
        q.kind = FFT_DIRECT;
        if (!(q.tw = twiddles(n, n))) goto nomem;
        q.work = 2 * n;
    } else {
        q.kind = FFT_BLUESTEIN;
        size_t m = 1;
        while (m < 2 * n - 1) {
            if (m > ((size_t)1 << 40))
                return st_errorf(err, ST_ERR_LIMIT, "DFT length %zu is too large", n);
            m <<= 1;
        }
        q.m = m;
        q.work = 2 * m;
        if (!(q.tw = twiddles(m / 2, m)) || !(q.chirp = st_calloc(2 * n, sizeof(double))) ||
            !(q.bhat = st_calloc(2 * m, sizeof(double))))
            goto nomem;
        for (size_t k = 0; k < n; k++) {
            /* k^2 mod 2n keeps the angle exact for long transforms */
            unsigned __int128 k2 = (unsigned __int128)k * k % (2 * (unsigned __int128)n);
            double ang = -M_PI * (double)(uint64_t)k2 / (double)n;
            q.chirp[2 * k] = cos(ang);
            q.chirp[2 * k + 1] = sin(ang);
        }
        /* b_j = conj(chirp_j) for j in (-n, n), wrapped into [0, m) */
        for (size_t k = 0; k < n; k++) {
            q.bhat[2 * k] = q.chirp[2 * k];
            q.bhat[2 * k + 1] = -q.chirp[2 * k + 1];
            if (k) {
                q.bhat[2 * (m - k)] = q.chirp[2 * k];
                q.bhat[2 * (m - k) + 1] = -q.chirp[2 * k + 1];
            }
        }
        fft_radix2(q.tw, m, q.bhat);
        for (size_t i = 0; i < 2 * m; i++) q.bhat[i] /= (double)m;
    }
    *p = q;
    return ST_OK;
nomem:
    fft_plan_free(&q);
    return st_error_nomem(err);
}

/* Forward DFT of x (n complex) in place; work holds p->work doubles. */
static void fft_exec(const fft_plan *p, double *x, double *work) {
    size_t n = p->n;
    switch (p->kind) {
    case FFT_POW2: fft_radix2(p->tw, n, x); break;
    case FFT_DIRECT:
        for (size_t k = 0; k < n; k++) {
            double sr = 0, si = 0;
            size_t idx = 0; /* (j * k) mod n */
            for (size_t j = 0; j < n; j++) {
                double wr = p->tw[2 * idx], wi = p->tw[2 * idx + 1];
                sr += x[2 * j] * wr - x[2 * j + 1] * wi;
                si += x[2 * j] * wi + x[2 * j + 1] * wr;
                idx += k;
                if (idx >= n) idx -= n;
            }
            work[2 * k] = sr;
            work[2 * k + 1] = si;
        }
        memcpy(x, work, 2 * n * sizeof *x);
        break;
    case FFT_BLUESTEIN: {
        size_t m = p->m;
        const double *c = p->chirp;
        for (size_t j = 0; j < n; j++) {
            work[2 * j] = x[2 * j] * c[2 * j] - x[2 * j + 1] * c[2 * j + 1];
            work[2 * j + 1] = x[2 * j] * c[2 * j + 1] + x[2 * j + 1] * c[2 * j];
        }
        memset(work + 2 * n, 0, 2 * (m - n) * sizeof *work);
        fft_radix2(p->tw, m, work);
        /* multiply by bhat, then inverse FFT as conj(FFT(conj(.))) */
        for (size_t j = 0; j < m; j++) {
            double ar = work[2 * j], ai = work[2 * j + 1];
            double br = p->bhat[2 * j], bi = p->bhat[2 * j + 1];
            work[2 * j] = ar * br - ai * bi;
            work[2 * j + 1] = -(ar * bi + ai * br);
        }
        fft_radix2(p->tw, m, work);
        for (size_t k = 0; k < n; k++) {
            double vr = work[2 * k], vi = -work[2 * k + 1];
            x[2 * k] = vr * c[2 * k] - vi * c[2 * k + 1];
            x[2 * k + 1] = vr * c[2 * k + 1] + vi * c[2 * k];
        }
        break;
    }
    }
}

/* A plan plus one work area per parallel slot. */
typedef struct fft_ctx {
    fft_plan plan;
    size_t slots;
    double *buf; /* slots * per_slot doubles */
    size_t per_slot;
} fft_ctx;

static void fft_ctx_free(fft_ctx *c) {
    fft_plan_free(&c->plan);
    st_free(c->buf);
    memset(c, 0, sizeof *c);
}

static st_status fft_ctx_make(fft_ctx *c, size_t n, size_t slots, st_error *err) {
    fft_ctx t = {.slots = slots};
    st_status s = fft_plan_make(&t.plan, n, err);
    if (s) return s;
    t.per_slot = 2 * n + t.plan.work;
    size_t total;
    if (!st_mul_ok(t.per_slot, slots, &total)) {
        fft_ctx_free(&t);
        return st_errorf(err, ST_ERR_LIMIT, "DFT length %zu is too large", n);
    }
    if (!(t.buf = st_malloc(total * sizeof(double)))) {
        fft_ctx_free(&t);
        return st_error_nomem(err);
    }
    fft_ctx_free(c);
    *c = t;
    return ST_OK;
}

static size_t slot_count(const st_kctx *k) {
    int t = k->pool ? st_pool_threads(k->pool) : k->threads;
    return (size_t)(t > 1 ? t : 1);
}

/* ---- DFT and STFT ----------------------------------------------------------------- */
typedef struct dft_state {
    int axis; /* normalized signal axis */
    bool inverse, onesided;
    bool axis_dyn;   /* DFT-20: the axis input is a run-time value (read by run) */
    int64_t n_fixed; /* dft length when known at prepare, else -1 */
    /* STFT */
    int64_t step_fixed, flen_fixed;
    fft_ctx fc;
    double *window; /* STFT: the window input as doubles, reloaded each run */
    size_t window_cap;
} dft_state;

static void dft_state_free(void *p) {
    dft_state *s = p;
    if (!s) return;
    fft_ctx_free(&s->fc);
    st_free(s->window);
    st_free(s);
}

/* The job one parallel slot runs: lines [slot*L/S, (slot+1)*L/S). */
typedef struct dft_job {
    const dft_state *st;
    const st_tensor *x;
    st_tensor *y;
    size_t lines;
    /* line geometry: line (o, i) starts at (o*len_in*inner + i)*cin in x and at
     * (o*nout*inner + i)*2 in y; consecutive samples are inner*cin (inner*2) apart. */
    size_t inner, len_in, cin, n, nout, ncopy;
    /* STFT: frames per batch and hop */
    bool stft;
    size_t frames, hop;
    const double *window; /* STFT window (n values) or NULL */
} dft_job;

static void dft_slots(void *arg, size_t s0, size_t s1) {
    dft_job *j = arg;
    const dft_state *st = j->st;
    const fft_ctx *fc = &st->fc;
    size_t S = fc->slots, n = j->n;
    for (size_t s = s0; s < s1; s++) {
        double *line = fc->buf + s * fc->per_slot, *work = line + 2 * n;
        size_t l0 = j->lines * s / S, l1 = j->lines * (s + 1) / S;
        for (size_t l = l0; l < l1; l++) {
            size_t src, sstride, dst, dstride = j->inner * 2;
            if (j->stft) { /* l = b * frames + f */
                size_t b = l / j->frames, f = l % j->frames;
                src = (b * j->len_in + f * j->hop) * j->cin;
                sstride = j->cin;
                dst = l * j->nout * 2;
            } else {
                size_t o = l / j->inner, i = l % j->inner;
                src = (o * j->len_in * j->inner + i) * j->cin;
                sstride = j->inner * j->cin;
                dst = (o * j->nout * j->inner + i) * 2;
            }
            st_misc_load_f64(j->x->dtype, j->x->data, src, sstride, j->ncopy, line, 2);
            if (j->cin == 2)
                st_misc_load_f64(j->x->dtype, j->x->data, src + 1, sstride, j->ncopy, line + 1, 2);
            else
                for (size_t t = 0; t < j->ncopy; t++) line[2 * t + 1] = 0;
            for (size_t t = 2 * j->ncopy; t < 2 * n; t++) line[t] = 0;
            if (j->window)
                for (size_t t = 0; t < n; t++) {
                    line[2 * t] *= j->window[t];
                    line[2 * t + 1] *= j->window[t];
                }
            if (st->inverse) /* ifft(x) = conj(fft(conj(x))) / n */
                for (size_t t = 0; t < n; t++) line[2 * t + 1] = -line[2 * t + 1];
            fft_exec(&fc->plan, line, work);
            if (st->inverse)
                for (size_t t = 0; t < n; t++) {
                    line[2 * t] /= (double)n;
                    line[2 * t + 1] = -line[2 * t + 1] / (double)n;
                }
            st_misc_store_f64(j->y->dtype, j->y->data, dst, dstride, j->nout, line, 2);
            st_misc_store_f64(j->y->dtype, j->y->data, dst + 1, dstride, j->nout, line + 1, 2);
        }
    }
}

static st_status ensure_plan(st_kctx *k, dft_state *st, size_t n, st_error *err) {
    if (st->fc.buf && st->fc.plan.n == n) return ST_OK;
    return fft_ctx_make(&st->fc, n, slot_count(k), err);
}

static st_status dft_length_of(st_kctx *k, const dft_state *st, bool at_prepare, int64_t *n,
                               st_error *err) {
    const st_tensor *x = st_in(k, 0);
    if (!st_has_in(k, 1)) {
        *n = x->dims[st->axis];
        return ST_OK;
    }
    const st_tensor *t = at_prepare ? st_in_const(k, 1) : st_in(k, 1);
    if (!t) {
        *n = -1;
        return ST_OK;
    }
    st_status s = read_scalar_int(t, "DFT: dft_length", n, err);
    if (s) return s;
    if (*n < 1)
        return st_errorf(err, ST_ERR_INVALID, "DFT: dft_length %lld must be positive",
                         (long long)*n);
    return ST_OK;
}

static void dft_out_shape(const st_tensor *x, const dft_state *st, int64_t n, int64_t *dims) {
    memcpy(dims, x->dims, (size_t)x->ndim * sizeof *dims);
    dims[st->axis] = st->onesided ? n / 2 + 1 : n;
    dims[x->ndim - 1] = 2;
}

/* The signal axis: the attribute before opset 20, then input 2 (default -2); the last
 * axis holds the real/imaginary parts and is never the signal axis. */
static st_status dft_axis_check(int64_t axis, int r, int *out, st_error *err) {
    if (axis < -r || axis > r - 2 || axis == -1)
        return ST_KERR(err, ST_ERR_INVALID,
                       "DFT: axis %lld is out of range for rank %d (the last axis holds the "
                       "real/imaginary parts)",
                       (long long)axis, r);
    *out = (int)(axis < 0 ? axis + r : axis);
    return ST_OK;
}

static st_status run_dft(st_kctx *k, st_error *err) {
    dft_state *st = k->state;
    const st_tensor *x = st_in(k, 0);
    int64_t n = st->n_fixed, dims[ST_MAX_RANK];
    st_status s;
    if (st->axis_dyn) {
        int64_t axis;
        if (!st_in(k, 2)) return ST_KERR(err, ST_ERR_INVALID, "DFT: axis must be a tensor");
        if ((s = read_scalar_int(st_in(k, 2), "DFT: axis", &axis, err)) ||
            (s = dft_axis_check(axis, x->ndim, &st->axis, err)))
            return s;
    }
    if (n < 0 && (s = dft_length_of(k, st, false, &n, err))) return s;
    dft_out_shape(x, st, n, dims);
    st_tensor *y = st_out(k, 0, x->dtype, x->ndim, dims, err);
    if (!y) return st_has_out(k, 0) ? err->status : ST_OK;
    size_t outer = 1, inner = 1;
    for (int d = 0; d < st->axis; d++) outer *= (size_t)x->dims[d];
    for (int d = st->axis + 1; d < x->ndim - 1; d++) inner *= (size_t)x->dims[d];
    size_t lines = outer * inner;
    if (!lines || n == 0) return ST_OK;
    if ((s = ensure_plan(k, st, (size_t)n, err))) return s;
    size_t len_in = (size_t)x->dims[st->axis];
    dft_job j = {.st = st,
                 .x = x,
                 .y = y,
                 .lines = lines,
                 .inner = inner,
                 .len_in = len_in,
                 .cin = (size_t)x->dims[x->ndim - 1],
                 .n = (size_t)n,
                 .nout = (size_t)dims[st->axis],
                 .ncopy = ST_MIN(len_in, (size_t)n)};
    st_parallel_for(k->pool, st->fc.slots, 1, dft_slots, &j);
    return ST_OK;
}

st_status st_misc_prep_dft(st_kctx *k, st_error *err) {
    const st_tensor *x = st_in(k, 0);
    st_status s;
    if (!x || !is_float_dtype(x->dtype))
        return ST_KERR(err, ST_ERR_INVALID,
                       "DFT: input must be a float16, float, double or "
                       "bfloat16 tensor");
    int r = x->ndim;
    if (r < 2 || (x->dims[r - 1] != 1 && x->dims[r - 1] != 2))
        return ST_KERR(err, ST_ERR_INVALID,
                       "DFT: input must end in a dimension of 1 (real) or 2 (complex)");
    int64_t axis = k->opset >= 20 ? -2 : st_attr_int(k->node, "axis", 1);
    bool dyn = false;
    if (k->opset >= 20 && st_has_in(k, 2)) {
        const st_tensor *a = st_in_const(k, 2);
        if (!a) dyn = true;
        else if ((s = read_scalar_int(a, "DFT: axis", &axis, err))) return s;
    }
    int ax = 0;
    if (!dyn && (s = dft_axis_check(axis, r, &ax, err))) return s;
    dft_state *st = st_calloc(1, sizeof *st);
    if (!st) return st_error_nomem(err);
    st->axis = ax;
    st->axis_dyn = dyn;
    st->inverse = st_attr_int(k->node, "inverse", 0) != 0;
    st->onesided = st_attr_int(k->node, "onesided", 0) != 0;
    if (dyn) st->n_fixed = -1;
    else if ((s = dft_length_of(k, st, true, &st->n_fixed, err))) goto fail;
    if (st->n_fixed == 0 && !st_has_in(k, 1)) {
        /* an empty signal axis: nothing to transform, output has length 0 (or 1 onesided) */
        if (st->onesided) {
            s = ST_KERR(err, ST_ERR_INVALID, "DFT: the signal axis is empty");
            goto fail;
        }
    }
    if (st->n_fixed >= 0) {
        int64_t dims[ST_MAX_RANK];
        dft_out_shape(x, st, st->n_fixed, dims);
        st_out_declare(k, 0, x->dtype, r, dims);
        if (st->n_fixed > 0 && (s = ensure_plan(k, st, (size_t)st->n_fixed, err))) goto fail;
    } else {
        int64_t dims[ST_MAX_RANK];
        dft_out_shape(x, st, 0, dims);
        dims[st->axis] = -1; /* dft_length is a run-time value */
        if (dyn)             /* so is the axis: only the rank and the last dimension are known */
            for (int d = 0; d < r - 1; d++) dims[d] = -1;
        if (dyn && !st->onesided && !st_has_in(k, 1)) /* ...unless no extent can change */
            for (int d = 0; d < r - 1; d++) dims[d] = x->dims[d];
        st_out_declare_type(k, 0, x->dtype, r, dims);
    }
    k->state = st;
    k->state_free = dft_state_free;
    k->run = run_dft;
    return ST_OK;
fail:
    dft_state_free(st);
    return s;
}

/* STFT geometry from the inputs visible now (constants at prepare, all at run). */
typedef struct stft_geom {
    bool known;
    int64_t step, flen, frames, bins;
} stft_geom;

static st_status stft_geom_of(st_kctx *k, const dft_state *st, bool at_prepare, stft_geom *g,
                              st_error *err) {
    const st_tensor *x = st_in(k, 0);
    const st_tensor *ts = at_prepare ? st_in_const(k, 1) : st_in(k, 1);
    const st_tensor *w = st_in(k, 2);
    const st_tensor *tl = st_has_in(k, 3) ? (at_prepare ? st_in_const(k, 3) : st_in(k, 3)) : NULL;
    st_status s;
    memset(g, 0, sizeof *g);
    if (!ts || (st_has_in(k, 3) && !tl)) return ST_OK; /* wait for the run */
    if ((s = read_scalar_int(ts, "STFT: frame_step", &g->step, err))) return s;
    if (g->step < 1)
        return st_errorf(err, ST_ERR_INVALID, "STFT: frame_step %lld must be positive",
                         (long long)g->step);
    if (tl) {
        if ((s = read_scalar_int(tl, "STFT: frame_length", &g->flen, err))) return s;
        if (w && w->dims[0] != g->flen)
            return st_errorf(err, ST_ERR_INVALID,
                             "STFT: window has %lld samples but frame_length is %lld",
                             (long long)w->dims[0], (long long)g->flen);
    } else if (w) {
        g->flen = w->dims[0];
    } else {
        return st_errorf(err, ST_ERR_INVALID, "STFT needs a window or a frame_length");
    }
    if (g->flen < 1)
        return st_errorf(err, ST_ERR_INVALID, "STFT: frame_length %lld must be positive",
                         (long long)g->flen);
    int64_t L = x->dims[1];
    if (L < g->flen)
        return st_errorf(err, ST_ERR_INVALID,
                         "STFT: signal of %lld samples is shorter than a frame of %lld",
                         (long long)L, (long long)g->flen);
    g->frames = (L - g->flen) / g->step + 1;
    g->bins = st->onesided ? g->flen / 2 + 1 : g->flen;
    g->known = true;
    return ST_OK;
}

static st_status run_stft(st_kctx *k, st_error *err) {
    dft_state *st = k->state;
    const st_tensor *x = st_in(k, 0), *w = st_in(k, 2);
    stft_geom g;
    st_status s = stft_geom_of(k, st, false, &g, err);
    if (s) return s;
    int64_t dims[4] = {x->dims[0], g.frames, g.bins, 2};
    st_tensor *y = st_out(k, 0, x->dtype, 4, dims, err);
    if (!y) return st_has_out(k, 0) ? err->status : ST_OK;
    size_t lines = (size_t)(x->dims[0] * g.frames);
    if (!lines) return ST_OK;
    if ((s = ensure_plan(k, st, (size_t)g.flen, err))) return s;
    if (w) {
        if (st->window_cap < (size_t)g.flen) {
            double *nw = st_realloc(st->window, (size_t)g.flen * sizeof *nw);
            if (!nw) return st_error_nomem(err);
            st->window = nw;
            st->window_cap = (size_t)g.flen;
        }
        st_misc_load_f64(w->dtype, w->data, 0, 1, (size_t)g.flen, st->window, 1);
    }
    dft_job j = {.st = st,
                 .x = x,
                 .y = y,
                 .lines = lines,
                 .inner = 1,
                 .len_in = (size_t)x->dims[1],
                 .cin = x->ndim == 3 ? (size_t)x->dims[2] : 1,
                 .n = (size_t)g.flen,
                 .nout = (size_t)g.bins,
                 .ncopy = (size_t)g.flen,
                 .stft = true,
                 .frames = (size_t)g.frames,
                 .hop = (size_t)g.step,
                 .window = w ? st->window : NULL};
    st_parallel_for(k->pool, st->fc.slots, 1, dft_slots, &j);
    return ST_OK;
}

st_status st_misc_prep_stft(st_kctx *k, st_error *err) {
    const st_tensor *x = st_in(k, 0), *w = st_in(k, 2);
    st_status s;
    if (!x || !is_float_dtype(x->dtype))
        return ST_KERR(err, ST_ERR_INVALID,
                       "STFT: signal must be a float16, float, double "
                       "or bfloat16 tensor");
    if (!(x->ndim == 3 && (x->dims[2] == 1 || x->dims[2] == 2)) && x->ndim != 2)
        return ST_KERR(err, ST_ERR_INVALID,
                       "STFT: signal must be [batch, length, 1] (real) or [batch, length, 2] "
                       "(complex)");
    if (!st_has_in(k, 1)) return ST_KERR(err, ST_ERR_INVALID, "STFT: frame_step is required");
    if (w && (w->ndim != 1 || !is_float_dtype(w->dtype)))
        return ST_KERR(err, ST_ERR_INVALID, "STFT: window must be a 1-D float tensor");
    dft_state *st = st_calloc(1, sizeof *st);
    if (!st) return st_error_nomem(err);
    st->onesided = st_attr_int(k->node, "onesided", 1) != 0;
    stft_geom g;
    if ((s = stft_geom_of(k, st, true, &g, err))) goto fail;
    if (g.known) {
        int64_t dims[4] = {x->dims[0], g.frames, g.bins, 2};
        st_out_declare(k, 0, x->dtype, 4, dims);
        if ((s = ensure_plan(k, st, (size_t)g.flen, err))) goto fail;
    } else {
        int64_t dims[4] = {x->dims[0], -1, -1, 2}; /* frames and bins follow run-time inputs */
        st_out_declare_type(k, 0, x->dtype, 4, dims);
    }
    k->state = st;
    k->state_free = dft_state_free;
    k->run = run_stft;
    return ST_OK;
fail:
    dft_state_free(st);
    return s;
}

/* ---- windows ---------------------------------------------------------------------- */
typedef struct win_state {
    int kind; /* 0 Hann, 1 Hamming, 2 Blackman */
    bool periodic;
    st_dtype out_dtype;
} win_state;

/* Generalized cosine window coefficients a0 - a1 cos(2 pi n / N) + a2 cos(4 pi n / N). */
static const double win_coef[3][3] = {
    {0.5, 0.5, 0.0},                 /* Hann */
    {25.0 / 46.0, 21.0 / 46.0, 0.0}, /* Hamming (ONNX's alpha = 25/46) */
    {0.42, 0.5, 0.08},               /* Blackman */
};

static st_status run_window(st_kctx *k, st_error *err) {
    const win_state *st = k->state;
    int64_t size;
    st_status s = read_scalar_int(st_in(k, 0), "window size", &size, err);
    if (s) return s;
    if (size < 0)
        return ST_KERR(err, ST_ERR_INVALID, "window size %lld is negative", (long long)size);
    st_tensor *y = st_out(k, 0, st->out_dtype, 1, &size, err);
    if (!y) return st_has_out(k, 0) ? err->status : ST_OK;
    const double *c = win_coef[st->kind];
    double N = (double)(st->periodic ? size : size - 1), buf[256];
    for (int64_t i0 = 0; i0 < size; i0 += 256) {
        int64_t m = ST_MIN(256, size - i0);
        for (int64_t t = 0; t < m; t++) {
            double ph = 2.0 * M_PI * (double)(i0 + t) / N;
            buf[t] = N > 0 ? c[0] - c[1] * cos(ph) + c[2] * cos(2.0 * ph) : 1.0;
        }
        st_misc_store_f64(st->out_dtype, y->data, (size_t)i0, 1, (size_t)m, buf, 1);
    }
    return ST_OK;
}

st_status st_misc_prep_window(st_kctx *k, st_error *err) {
    const st_tensor *x = st_in(k, 0);
    const char *op = k->node->op_type;
    int64_t dt = st_attr_int(k->node, "output_datatype", ST_DTYPE_F32);
    if (!x) return ST_KERR(err, ST_ERR_INVALID, "%s: the size input is required", op);
    if (!st_dtype_valid((int)dt) || dt == ST_DTYPE_BOOL || !st_misc_numeric((st_dtype)dt))
        return ST_KERR(err, ST_ERR_INVALID, "%s: unsupported output_datatype %lld", op,
                       (long long)dt);
    win_state *st = st_calloc(1, sizeof *st);
    if (!st) return st_error_nomem(err);
    st->kind = !strcmp(op, "HannWindow") ? 0 : !strcmp(op, "HammingWindow") ? 1 : 2;
    st->periodic = st_attr_int(k->node, "periodic", 1) != 0;
    st->out_dtype = (st_dtype)dt;
    const st_tensor *c = st_in_const(k, 0);
    if (c) {
        int64_t size;
        st_status s = read_scalar_int(c, op, &size, err);
        if (!s && size < 0)
            s = ST_KERR(err, ST_ERR_INVALID, "%s: size %lld is negative", op, (long long)size);
        if (s) {
            st_free(st);
            return s;
        }
        st_out_declare(k, 0, st->out_dtype, 1, &size);
    } else {
        int64_t unk = -1; /* the size is a run-time value */
        st_out_declare_type(k, 0, st->out_dtype, 1, &unk);
    }
    k->state = st;
    k->run = run_window;
    return ST_OK;
}

/* ---- MelWeightMatrix -------------------------------------------------------------- */
typedef struct mel_args {
    int64_t bins, dft_length, rate;
    double lo, hi;
} mel_args;

static st_status mel_read(st_kctx *k, bool at_prepare, mel_args *a, bool *known, st_error *err) {
    const st_tensor *t[5];
    static const char *const names[5] = {"num_mel_bins", "dft_length", "sample_rate",
                                         "lower_edge_hertz", "upper_edge_hertz"};
    *known = false;
    for (int i = 0; i < 5; i++) {
        if (!st_has_in(k, i))
            return st_errorf(err, ST_ERR_INVALID, "MelWeightMatrix: %s is required", names[i]);
        t[i] = at_prepare ? st_in_const(k, i) : st_in(k, i);
        if (!t[i]) return ST_OK;
    }
    st_status s;
    if ((s = read_scalar_int(t[0], names[0], &a->bins, err)) ||
        (s = read_scalar_int(t[1], names[1], &a->dft_length, err)) ||
        (s = read_scalar_int(t[2], names[2], &a->rate, err)) ||
        (s = read_scalar_float(t[3], names[3], &a->lo, err)) ||
        (s = read_scalar_float(t[4], names[4], &a->hi, err)))
        return s;
    if (a->bins < 1 || a->dft_length < 1 || a->rate < 1)
        return st_errorf(err, ST_ERR_INVALID,
                         "MelWeightMatrix: num_mel_bins, dft_length and sample_rate must be "
                         "positive");
    if (!(a->lo >= 0 && a->hi >= a->lo))
        return st_errorf(err, ST_ERR_INVALID,
                         "MelWeightMatrix: need 0 <= lower_edge_hertz <= upper_edge_hertz");
    *known = true;
    return ST_OK;
}

static st_status run_melweight(st_kctx *k, st_error *err) {
    mel_args a;
    bool known;
    st_status s = mel_read(k, false, &a, &known, err);
    if (s) return s;
    st_dtype dt = *(const st_dtype *)k->state;
    int64_t nspec = a.dft_length / 2 + 1, dims[2] = {nspec, a.bins};
    st_tensor *y = st_out(k, 0, dt, 2, dims, err);
    if (!y) return st_has_out(k, 0) ? err->status : ST_OK;
    int64_t *fb = st_malloc((size_t)(a.bins + 2) * sizeof *fb);
    double *col = st_malloc((size_t)nspec * sizeof *col);
    if (!fb || !col) {
        s = st_error_nomem(err);
        goto done;
    }
    /* The mel edges are spread over num_mel_bins + 2 steps as in ONNX's reference, then
     * mapped to FFT bins with floor((dft_length + 1) * f / sample_rate). */
    double lmel = 2595.0 * log10(1.0 + a.lo / 700.0), hmel = 2595.0 * log10(1.0 + a.hi / 700.0);
    double step = (hmel - lmel) / (double)(a.bins + 2);
    for (int64_t i = 0; i < a.bins + 2; i++) {
        double hz = 700.0 * (pow(10.0, ((double)i * step + lmel) / 2595.0) - 1.0);
        fb[i] = (int64_t)floor((double)(a.dft_length + 1) * hz / (double)a.rate);
    }
    for (int64_t i = 0; i < a.bins; i++) {
        for (int64_t j = 0; j < nspec; j++) col[j] = 0;
        int64_t lo = fb[i], c = fb[i + 1], hi = fb[i + 2];
        if (c - lo == 0) {
            if (c >= 0 && c < nspec) col[c] = 1;
        } else {
            for (int64_t j = ST_MAX(lo, 0); j <= c && j < nspec; j++)
                col[j] = (double)(j - lo) / (double)(c - lo);
        }
        if (hi - c > 0)
            for (int64_t j = ST_MAX(c, 0); j < hi && j < nspec; j++)
                col[j] = (double)(hi - j) / (double)(hi - c);
        st_misc_store_f64(dt, y->data, (size_t)i, (size_t)a.bins, (size_t)nspec, col, 1);
    }
done:
    st_free(fb);
    st_free(col);
    return s;
}

st_status st_misc_prep_melweight(st_kctx *k, st_error *err) {
    int64_t dt = st_attr_int(k->node, "output_datatype", ST_DTYPE_F32);
    if (!st_dtype_valid((int)dt) || dt == ST_DTYPE_BOOL || !st_misc_numeric((st_dtype)dt))
        return ST_KERR(err, ST_ERR_INVALID, "MelWeightMatrix: unsupported output_datatype %lld",
                       (long long)dt);
    mel_args a;
    bool known;
    st_status s = mel_read(k, true, &a, &known, err);
    if (s) return s;
    st_dtype *st = st_calloc(1, sizeof *st);
    if (!st) return st_error_nomem(err);
    *st = (st_dtype)dt;
    if (known) {
        int64_t dims[2] = {a.dft_length / 2 + 1, a.bins};
        st_out_declare(k, 0, *st, 2, dims);
    } else {
        int64_t dims[2] = {-1, -1}; /* [dft_length / 2 + 1, num_mel_bins] at run time */
        st_out_declare_type(k, 0, *st, 2, dims);
    }
    k->state = st;
    k->run = run_melweight;
    return ST_OK;
}
