/* runtime/ops/tensor_resize.c: Resize (opset 10, 11, 13, 18, 19 forms: axes, antialias,
 * keep_aspect_ratio_policy, half_pixel_symmetric), the deprecated Upsample, and GridSample
 * (2-D, and volumetric from opset 20). Nearest resizing is an index-mapped copy, so it
 * moves any dtype; linear and cubic interpolate one axis at a time in double precision
 * through two ping-pong buffers. Shapes from non-constant scales/sizes are computed at run. */
#include <math.h>
#include <string.h>

#include "tensor_impl.h"

typedef enum { RS_NEAREST, RS_LINEAR, RS_CUBIC } rs_mode;

/* coordinate_transformation_mode values: output coordinate -> input coordinate. */
typedef enum {
    CT_HALF_PIXEL,           /* (x + 0.5) / scale - 0.5 */
    CT_PYTORCH_HALF_PIXEL,   /* same, but 0 when the output length is 1 */
    CT_ALIGN_CORNERS,        /* x * (in - 1) / (out - 1) */
    CT_ASYMMETRIC,           /* x / scale */
    CT_TF_HALF_PIXEL_FOR_NN, /* (x + 0.5) / scale */
    CT_TF_CROP_AND_RESIZE,   /* through roi; outside points take extrapolation_value */
    CT_HALF_PIXEL_SYMMETRIC, /* half_pixel, centred when the output length was rounded */
} ct_mode;

/* nearest_mode values, plus the rounding Resize-10 and Upsample use. */
typedef enum { NM_PREFER_FLOOR, NM_PREFER_CEIL, NM_FLOOR, NM_CEIL, NM_SIMPLE } nn_mode;

typedef struct rs_params {
    rs_mode mode;
    ct_mode ct;
    nn_mode nm;
    double a;       /* cubic_coeff_a */
    bool exclude;   /* exclude_outside */
    double extrap;  /* extrapolation_value */
    bool antialias; /* linear / cubic: widen the filter by 1/scale when shrinking */
    int aspect;     /* keep_aspect_ratio_policy: 0 stretch, 1 not_larger, 2 not_smaller */
    int naxes;      /* axes the scales / sizes / roi inputs name (opset 18) */
    int axes[ST_MAX_RANK];
    int r;
    int64_t out[ST_MAX_RANK];
    double scale[ST_MAX_RANK];
    double roi_s[ST_MAX_RANK], roi_e[ST_MAX_RANK];
} rs_params;

static st_status parse_enum(const char *v, const char *const *names, int n, int *out,
                            const char *what, st_error *err) {
    for (int i = 0; i < n; i++)
        if (!strcmp(v, names[i])) {
            *out = i;
            return ST_OK;
        }
    return st_errorf(err, ST_ERR_INVALID, "unknown %s \"%s\"", what, v);
}

static st_status rs_attrs(st_kctx *k, bool upsample, rs_params *p, st_error *err) {
    static const char *const modes[] = {"nearest", "linear", "cubic"};
    static const char *const cts[] = {
        "half_pixel",           "pytorch_half_pixel", "align_corners",       "asymmetric",
        "tf_half_pixel_for_nn", "tf_crop_and_resize", "half_pixel_symmetric"};
    static const char *const aspects[] = {"stretch", "not_larger", "not_smaller"};
    static const char *const nms[] = {"round_prefer_floor", "round_prefer_ceil", "floor", "ceil"};
    int v = 0;
    const char *m = st_attr_string(k->node, "mode", "nearest");
    if (upsample && !strcmp(m, "bilinear")) m = "linear";
    st_status s = parse_enum(m, modes, upsample || k->opset < 11 ? 2 : 3, &v, "mode", err);
    if (s) return s;
    p->mode = (rs_mode)v;
    p->a = -0.75;
    p->exclude = false;
    p->extrap = 0;
    p->antialias = false;
    p->aspect = 0;
    p->naxes = 0;
    if (upsample || k->opset < 11) {
        p->ct = CT_ASYMMETRIC;
        p->nm = NM_SIMPLE;
        return ST_OK;
    }
    if ((s = parse_enum(st_attr_string(k->node, "coordinate_transformation_mode", "half_pixel"),
                        cts, k->opset >= 19 ? 7 : 6, &v, "coordinate_transformation_mode", err)))
        return s;
    p->ct = (ct_mode)v;
    if ((s = parse_enum(st_attr_string(k->node, "nearest_mode", "round_prefer_floor"), nms, 4, &v,
                        "nearest_mode", err)))
        return s;
    p->nm = (nn_mode)v;
    p->a = st_attr_float(k->node, "cubic_coeff_a", -0.75);
    p->exclude = st_attr_int(k->node, "exclude_outside", 0) != 0;
    p->extrap = st_attr_float(k->node, "extrapolation_value", 0.0);
    if (k->opset < 18) return ST_OK;
    p->antialias = st_attr_int(k->node, "antialias", 0) != 0;
    if ((s = parse_enum(st_attr_string(k->node, "keep_aspect_ratio_policy", "stretch"), aspects, 3,
                        &p->aspect, "keep_aspect_ratio_policy", err)))
        return s;
    const int64_t *ax;
    size_t n = st_attr_ints(k->node, "axes", &ax);
    int r = st_in(k, 0)->ndim;
    if ((int)n > r) return st_errorf(err, ST_ERR_INVALID, "axes has %zu entries for rank %d", n, r);
    p->naxes = (int)n;
    for (size_t i = 0; i < n; i++) {
        if ((s = st_norm_axis(ax[i], r, &p->axes[i], err))) return s;
        for (size_t j = 0; j < i; j++)
            if (p->axes[j] == p->axes[i])
                return st_errorf(err, ST_ERR_INVALID, "axes repeats axis %d", p->axes[i]);
    }
    return ST_OK;
}

/* keep_aspect_ratio_policy with sizes: one scale for every resized axis, the smallest
 * (not_larger) or largest (not_smaller) of sizes / input, and sizes rounded half up. */
static double rs_keep_aspect(const st_tensor *x, const rs_params *p, const bool *on,
                             int64_t *sizes) {
    double sc = p->aspect == 1 ? INFINITY : -INFINITY;
    for (int d = 0; d < x->ndim; d++) {
        if (!on[d] || !x->dims[d]) continue;
        double v = (double)sizes[d] / (double)x->dims[d];
        sc = p->aspect == 1 ? fmin(sc, v) : fmax(sc, v);
    }
    if (!isfinite(sc) || sc > 1e9) return 0;
    for (int d = 0; d < x->ndim; d++)
        if (on[d]) sizes[d] = (int64_t)(sc * (double)x->dims[d] + 0.5);
    return sc;
}

/* Output dims and per-axis scales from scales or sizes. */
static st_status rs_dims(const st_tensor *x, const double *scales, const int64_t *sizes,
                         rs_params *p, st_error *err) {
    p->r = x->ndim;
    bool on[ST_MAX_RANK];
    int64_t kept[ST_MAX_RANK];
    double common = 0;
    if (sizes && p->aspect) { /* policy scale over the resized axes (all when axes absent) */
        for (int d = 0; d < x->ndim; d++) on[d] = p->naxes == 0;
        for (int i = 0; i < p->naxes; i++) on[p->axes[i]] = true;
        memcpy(kept, sizes, (size_t)x->ndim * sizeof *kept);
        common = rs_keep_aspect(x, p, on, kept);
        sizes = kept;
    }
    for (int d = 0; d < x->ndim; d++) {
        int64_t in = x->dims[d];
        if (sizes) {
            if (sizes[d] < 0) return st_errorf(err, ST_ERR_INVALID, "sizes has a negative entry");
            p->out[d] = sizes[d];
            p->scale[d] = in ? (double)sizes[d] / (double)in : 1.0;
            if (common > 0 && on[d]) p->scale[d] = common;
        } else {
            double sc = scales[d];
            if (!(sc > 0) || sc > 1e9)
                return st_errorf(err, ST_ERR_INVALID, "scale %g is not positive", sc);
            double o = floor((double)in * sc);
            if (o > (double)((int64_t)1 << 40))
                return st_errorf(err, ST_ERR_LIMIT, "resized dim too large");
            p->out[d] = (int64_t)o;
            p->scale[d] = sc;
        }
        if (in == 0 && p->out[d] > 0)
            return st_errorf(err, ST_ERR_INVALID, "cannot resize an empty dim to %lld",
                             (long long)p->out[d]);
    }
    size_t total;
    return st_shape_nelem(x->ndim, p->out, &total, err);
}

static st_status read_floats(const st_tensor *t, int r, double *out, const char *what,
                             st_error *err) {
    if (!st_dtype_is_float(t->dtype))
        return st_errorf(err, ST_ERR_INVALID, "%s must be a float tensor", what);
    if ((int64_t)st_tensor_nelem(t) != r)
        return st_errorf(err, ST_ERR_INVALID, "%s has %zu entries for rank %d", what,
                         st_tensor_nelem(t), r);
    for (int i = 0; i < r; i++) out[i] = st_tensor_get_f64(t, (size_t)i);
    return ST_OK;
}

/* All parameters; ready = false when scales/sizes/roi are not constant (prepare). */
static st_status rs_params_get(st_kctx *k, bool upsample, bool at_run, rs_params *p, bool *ready,
                               st_error *err) {
    const st_tensor *x = st_in(k, 0);
    if (!x) return st_errorf(err, ST_ERR_INVALID, "%s needs a tensor input", k->node->op_type);
    st_status s = rs_attrs(k, upsample, p, err);
    if (s) return s;
    int r = x->ndim;
    double scales[ST_MAX_RANK];
    int64_t sizes[ST_MAX_RANK];
    bool use_sizes = false;
    *ready = true;
    for (int d = 0; d < r; d++) {
        p->roi_s[d] = 0;
        p->roi_e[d] = 1;
    }
#define ST_RS_IN_(i, t)                                            \
    const st_tensor *t = at_run ? st_in(k, i) : st_in_const(k, i); \
    if (st_has_in(k, i) && !t) {                                   \
        *ready = false;                                            \
        return ST_OK;                                              \
    }
    if (upsample && k->opset < 9) {
        if (k->opset < 7) {
            if (r != 4) return st_errorf(err, ST_ERR_INVALID, "Upsample-1 needs 4-D input");
            scales[0] = scales[1] = 1;
            scales[2] = st_attr_float(k->node, "height_scale", 1);
            scales[3] = st_attr_float(k->node, "width_scale", 1);
        } else {
            const double *v;
            size_t n = st_attr_floats(k->node, "scales", &v);
            if ((int)n != r)
                return st_errorf(err, ST_ERR_INVALID, "scales has %zu entries for rank %d", n, r);
            memcpy(scales, v, n * sizeof *v);
        }
    } else if (upsample || k->opset < 11) {
        ST_RS_IN_(1, sc)
        if (!sc) return st_errorf(err, ST_ERR_INVALID, "scales input is missing");
        if ((s = read_floats(sc, r, scales, "scales", err))) return s;
    } else {
        ST_RS_IN_(1, roi)
        ST_RS_IN_(2, sc)
        ST_RS_IN_(3, sz)
        /* with axes (opset 18) the inputs list only those axes; the others keep their size */
        int na = p->naxes ? p->naxes : r, ax[ST_MAX_RANK];
        for (int i = 0; i < na; i++) ax[i] = p->naxes ? p->axes[i] : i;
        for (int d = 0; d < r; d++) scales[d] = 1, sizes[d] = x->dims[d];
        double part[2 * ST_MAX_RANK];
        if (p->ct == CT_TF_CROP_AND_RESIZE) {
            if (!roi || (int64_t)st_tensor_nelem(roi) != 2 * na)
                return st_errorf(err, ST_ERR_INVALID, "tf_crop_and_resize needs roi of 2*%s",
                                 p->naxes ? "len(axes)" : "rank");
            for (int i = 0; i < na; i++) {
                p->roi_s[ax[i]] = st_tensor_get_f64(roi, (size_t)i);
                p->roi_e[ax[i]] = st_tensor_get_f64(roi, (size_t)(i + na));
            }
        }
        if (sz && st_tensor_nelem(sz)) {
            if (sc && st_tensor_nelem(sc))
                return st_errorf(err, ST_ERR_INVALID, "give scales or sizes, not both");
            size_t n;
            int64_t v[ST_MAX_RANK];
            if ((s = st_tsr_ints(sz, ST_MAX_RANK, v, &n, "sizes", err))) return s;
            if ((int)n != na)
                return st_errorf(err, ST_ERR_INVALID, "sizes has %zu entries for %d axes", n, na);
            for (int i = 0; i < na; i++) sizes[ax[i]] = v[i];
            use_sizes = true;
        } else if (sc && st_tensor_nelem(sc)) {
            if ((s = read_floats(sc, na, part, "scales", err))) return s;
            for (int i = 0; i < na; i++) scales[ax[i]] = part[i];
        } else {
            return st_errorf(err, ST_ERR_INVALID, "Resize needs scales or sizes");
        }
    }
#undef ST_RS_IN_
    return rs_dims(x, use_sizes ? NULL : scales, use_sizes ? sizes : NULL, p, err);
}

/* The reference measures the resized length as in * scale (not the floored output dim),
 * which matters for align_corners and friends when scales do not divide evenly. */
static double rs_coord_raw(const rs_params *p, int d, int64_t o, int64_t in) {
    double sc = p->scale[d], x = (double)o, lr = (double)in * sc, li = (double)in;
    switch (p->ct) {
    case CT_HALF_PIXEL: return (x + 0.5) / sc - 0.5;
    case CT_HALF_PIXEL_SYMMETRIC: {
        double adj = lr != 0 ? (double)p->out[d] / lr : 1;
        return li / 2 * (1 - adj) + (x + 0.5) / sc - 0.5;
    }
    case CT_PYTORCH_HALF_PIXEL: return lr > 1 ? (x + 0.5) / sc - 0.5 : 0;
    case CT_ALIGN_CORNERS: return lr != 1 ? x * (li - 1) / (lr - 1) : 0;
    case CT_ASYMMETRIC: return x / sc;
    case CT_TF_HALF_PIXEL_FOR_NN: return (x + 0.5) / sc;
    case CT_TF_CROP_AND_RESIZE: {
        double s = p->roi_s[d], e = p->roi_e[d];
        if (lr > 1) return s * (li - 1) + x * (e - s) * (li - 1) / (lr - 1);
        return 0.5 * (s + e) * (li - 1);
    }
    }
    return x;
}

/* Input coordinate of output index o along axis d, kept finite and castable. */
static double rs_coord(const rs_params *p, int d, int64_t o, int64_t in) {
    double x = rs_coord_raw(p, d, o, in);
    if (x != x) return -1e15;
    return x < -1e15 ? -1e15 : x > 1e15 ? 1e15 : x;
}

static bool rs_outside(const rs_params *p, double x, int64_t in) {
    return p->ct == CT_TF_CROP_AND_RESIZE && (x < 0 || x > (double)(in - 1));
}

static int64_t rs_nearest(const rs_params *p, int d, double x) {
    double f = floor(x);
    switch (p->nm) {
    case NM_PREFER_FLOOR: return (int64_t)(x - f <= 0.5 ? f : f + 1);
    case NM_PREFER_CEIL: return (int64_t)(x - f < 0.5 ? f : f + 1);
    case NM_FLOOR: return (int64_t)f;
    case NM_CEIL: return (int64_t)ceil(x);
    case NM_SIMPLE: return (int64_t)(p->scale[d] < 1 ? ceil(x) : f);
    }
    return (int64_t)f;
}

/* ---- nearest: an index-mapped copy of any dtype ---- */

static st_status rs_run_nearest(st_kctx *k, const rs_params *p, st_tensor *y, st_error *err) {
    const st_tensor *x = st_in(k, 0);
    size_t total = 0;
    for (int d = 0; d < p->r; d++) total += (size_t)p->out[d];
    int64_t *maps = st_malloc((total ? total : 1) * sizeof *maps);
    if (!maps) return st_error_nomem(err);
    const int64_t *mp[ST_MAX_RANK];
    int64_t *m = maps, xs[ST_MAX_RANK];
    for (int d = 0; d < p->r; d++) {
        int64_t in = x->dims[d];
        for (int64_t o = 0; o < p->out[d]; o++) {
            double c = rs_coord(p, d, o, in);
            if (rs_outside(p, c, in)) {
                m[o] = -1;
                continue;
            }
            int64_t i = rs_nearest(p, d, c);
            m[o] = i < 0 ? 0 : i >= in ? in - 1 : i;
        }
        mp[d] = m;
        m += p->out[d];
    }
    uint8_t fill[16] = {0};
    if (x->dtype != ST_DTYPE_STRING) {
        st_tensor t = {.dtype = x->dtype, .data = fill};
        st_tensor_set_f64(&t, 0, p->extrap);
    }
    st_contig_strides(x->ndim, x->dims, xs);
    st_tsr_copy_mapped(k->pool, p->r, p->out, mp, y->data, x->data, xs, fill,
                       st_dtype_size(x->dtype));
    st_free(maps);
    return st_tsr_own_strings(y, 0, st_tensor_nelem(y), err);
}

/* ---- linear / cubic: separable passes in double ---- */

typedef struct rs_axis {
    int taps;
    int64_t *idx;  /* out * taps source indices */
    double *w;     /* out * taps weights */
    bool *outside; /* out flags (tf_crop_and_resize) */
    bool identity;
} rs_axis;

static void cubic_weights(double a, double t, double *w) {
    double x;
    x = t + 1;
    w[0] = ((a * x - 5 * a) * x + 8 * a) * x - 4 * a;
    x = t;
    w[1] = ((a + 2) * x - (a + 3)) * x * x + 1;
    x = 1 - t;
    w[2] = ((a + 2) * x - (a + 3)) * x * x + 1;
    x = 2 - t;
    w[3] = ((a * x - 5 * a) * x + 8 * a) * x - 4 * a;
}

/* Whether axis d filters with the antialiasing kernel: the op asks for it and it shrinks. */
static bool rs_aa(const rs_params *p, int d) {
    return p->antialias && p->mode != RS_NEAREST && p->scale[d] < 1;
}

/* Taps per output element along axis d: 2 (linear) or 4 (cubic), widened by 1/scale. */
static int rs_taps(const rs_params *p, int d) {
    if (!rs_aa(p, d)) return p->mode == RS_LINEAR ? 2 : 4;
    double support = p->mode == RS_LINEAR ? 1 : 2;
    return 2 - 2 * (int)(floor(-support / p->scale[d]) + 1);
}

/* The antialiasing filter: the linear (triangle) or cubic kernel stretched by 1/scale
 * around x, over T taps centred as the reference's nearest-neighbour window, normalized;
 * taps beyond the edges read the edge (or weigh 0 with exclude_outside). */
static void rs_aa_weights(const rs_params *p, int d, double x, int64_t in, int T, int64_t *ix,
                          double *w) {
    double s = p->scale[d], f = floor(x), ratio = x == f ? 1 : x - f, sum = 0, a = p->a;
    int64_t base = (int64_t)(x == f ? f - 1 : f), start = 1 - T / 2;
    for (int t = 0; t < T; t++) {
        double u = fabs(s * ((double)(start + t) - ratio)), v;
        if (p->mode == RS_LINEAR) v = u < 1 ? 1 - u : 0;
        else if (u <= 1) v = ((a + 2) * u - (a + 3)) * u * u + 1;
        else if (u < 2) v = ((a * u - 5 * a) * u + 8 * a) * u - 4 * a;
        else v = 0;
        w[t] = v;
        sum += v;
        int64_t i = base + start + t;
        ix[t] = i < 0 ? 0 : i >= in ? in - 1 : i;
    }
    if (sum != 0)
        for (int t = 0; t < T; t++) w[t] /= sum;
    if (!p->exclude) return;
    sum = 0;
    for (int t = 0; t < T; t++) {
        int64_t i = base + start + t;
        if (i < 0 || i >= in) w[t] = 0;
        sum += w[t];
    }
    if (sum != 0)
        for (int t = 0; t < T; t++) w[t] /= sum;
}

static void rs_axis_fill(const rs_params *p, int d, int64_t in, rs_axis *ax) {
    int T = ax->taps;
    ax->identity = p->out[d] == in;
    for (int64_t o = 0; o < p->out[d]; o++) {
        double x = rs_coord(p, d, o, in);
        int64_t *ix = ax->idx + o * T;
        double *w = ax->w + o * T;
        ax->outside[o] = rs_outside(p, x, in);
        if (ax->outside[o]) ax->identity = false;
        if (rs_aa(p, d)) {
            rs_aa_weights(p, d, x, in, T, ix, w);
        } else if (T == 2) {
            double c = x < 0 ? 0 : x > (double)(in - 1) ? (double)(in - 1) : x;
            int64_t i0 = (int64_t)floor(c);
            ix[0] = i0;
            ix[1] = i0 + 1 < in ? i0 + 1 : in - 1;
            w[1] = c - (double)i0;
            w[0] = 1 - w[1];
        } else {
            double f = floor(x);
            int64_t i0 = (int64_t)f;
            cubic_weights(p->a, x - f, w);
            double sum = 0;
            for (int t = 0; t < 4; t++) {
                int64_t i = i0 - 1 + t;
                if (p->exclude && (i < 0 || i >= in)) w[t] = 0;
                sum += w[t];
                ix[t] = i < 0 ? 0 : i >= in ? in - 1 : i;
            }
            if (p->exclude && sum != 0)
                for (int t = 0; t < 4; t++) w[t] /= sum;
        }
        for (int t = 0; t < T && ax->identity; t++) {
            double want = ix[t] == o ? 1.0 : 0.0;
            if (fabs(w[t] - want) > 1e-12 && !(ix[t] == o && fabs(w[t]) < 1e-12))
                ax->identity = false;
        }
        if (ax->identity) {
            double s = 0;
            for (int t = 0; t < T; t++) s += ix[t] == o ? w[t] : 0;
            if (fabs(s - 1) > 1e-12) ax->identity = false;
        }
    }
}

typedef struct rs_pass {
    const double *src;
    double *dst;
    size_t n_in, n_out, inner;
    const rs_axis *ax;
} rs_pass;

static void rs_pass_rows(void *arg, size_t b, size_t e) {
    const rs_pass *j = arg;
    int T = j->ax->taps;
    for (size_t r = b; r < e; r++) {
        size_t o = r / j->n_out, q = r % j->n_out;
        double *dst = j->dst + r * j->inner;
        const int64_t *ix = j->ax->idx + q * (size_t)T;
        const double *w = j->ax->w + q * (size_t)T;
        const double *src = j->src + o * j->n_in * j->inner;
        if (j->inner == 1) {
            double acc = 0;
            for (int t = 0; t < T; t++) acc += w[t] * src[ix[t]];
            dst[0] = acc;
            continue;
        }
        for (size_t i = 0; i < j->inner; i++) dst[i] = 0;
        for (int t = 0; t < T; t++) {
            if (w[t] == 0) continue;
            const double *s = src + (size_t)ix[t] * j->inner;
            double wt = w[t];
            for (size_t i = 0; i < j->inner; i++) dst[i] += wt * s[i];
        }
    }
}

static void to_double(const st_tensor *x, double *out, size_t n) {
    switch (x->dtype) {
    case ST_DTYPE_F32:
        for (size_t i = 0; i < n; i++) out[i] = ((const float *)x->data)[i];
        break;
    case ST_DTYPE_F64: memcpy(out, x->data, n * sizeof *out); break;
    default:
        for (size_t i = 0; i < n; i++) out[i] = st_tensor_get_f64(x, i);
    }
}

/* Store v into element i of y: integers round to nearest and saturate. */
static void store_double(st_tensor *y, const double *v, size_t n) {
    if (y->dtype == ST_DTYPE_F32) {
        for (size_t i = 0; i < n; i++) ((float *)y->data)[i] = (float)v[i];
        return;
    }
    if (st_dtype_is_float(y->dtype)) {
        for (size_t i = 0; i < n; i++) st_tensor_set_f64(y, i, v[i]);
        return;
    }
    size_t bits = st_dtype_size(y->dtype) * 8;
    bool sgn = st_dtype_is_signed(y->dtype);
    double hi = y->dtype == ST_DTYPE_BOOL ? 1
                : sgn                     ? ldexp(1, (int)bits - 1) - 1
                                          : ldexp(1, (int)bits) - 1;
    double lo = sgn ? -hi - 1 : 0;
    for (size_t i = 0; i < n; i++) {
        double r = nearbyint(v[i]);
        r = r != r ? 0 : r < lo ? lo : r > hi ? hi : r;
        if (y->dtype == ST_DTYPE_I64 || y->dtype == ST_DTYPE_U64) {
            /* the clamp bounds round up to 2^63 / 2^64 in double */
            if (y->dtype == ST_DTYPE_I64)
                ((int64_t *)y->data)[i] = r >= 9.2233720368547758e18 ? INT64_MAX : (int64_t)r;
            else ((uint64_t *)y->data)[i] = r >= 1.8446744073709552e19 ? UINT64_MAX : (uint64_t)r;
        } else {
            st_tensor_set_f64(y, i, r);
        }
    }
}

/* float32 fast path: only the last two axes resize. Each output pixel sums its taps
 * straight from the input, with no conversion passes. */
typedef struct rs_plane_job {
    const float *src;
    float *dst;
    int64_t H, W, Ho, Wo;
    const rs_axis *ay, *ax; /* NULL: that axis is an identity */
} rs_plane_job;

static void rs_plane_rows(void *arg, size_t b, size_t e) {
    const rs_plane_job *j = arg;
    int Tx = j->ax ? j->ax->taps : 1, Ty = j->ay ? j->ay->taps : 1;
    for (size_t r = b; r < e; r++) {
        int64_t p = (int64_t)r / j->Ho, oy = (int64_t)r % j->Ho;
        float *dst = j->dst + r * (size_t)j->Wo;
        const float *plane = j->src + p * j->H * j->W;
        int64_t iy1 = oy;
        double w1 = 1;
        const int64_t *iy = j->ay ? j->ay->idx + oy * Ty : &iy1;
        const double *wy = j->ay ? j->ay->w + oy * Ty : &w1;
        if (!j->ax) {
            for (int64_t ox = 0; ox < j->Wo; ox++) dst[ox] = 0;
            for (int t = 0; t < Ty; t++) {
                const float *row = plane + iy[t] * j->W;
                float w = (float)wy[t];
                for (int64_t ox = 0; ox < j->Wo; ox++) dst[ox] += w * row[ox];
            }
            continue;
        }
        for (int64_t ox = 0; ox < j->Wo; ox++) {
            const int64_t *ix = j->ax->idx + ox * Tx;
            const double *wx = j->ax->w + ox * Tx;
            float acc = 0;
            for (int t = 0; t < Ty; t++) {
                const float *row = plane + iy[t] * j->W;
                float h = 0;
                for (int u = 0; u < Tx; u++) h += (float)wx[u] * row[ix[u]];
                acc += (float)wy[t] * h;
            }
            dst[ox] = acc;
        }
    }
}

static void rs_run_planar(st_kctx *k, const rs_params *p, const rs_axis *ax, st_tensor *y) {
    const st_tensor *x = st_in(k, 0);
    int r = p->r;
    rs_plane_job j = {.src = x->data, .dst = y->data};
    j.W = x->dims[r - 1];
    j.Wo = p->out[r - 1];
    j.ax = ax[r - 1].identity ? NULL : &ax[r - 1];
    j.H = r >= 2 ? x->dims[r - 2] : 1;
    j.Ho = r >= 2 ? p->out[r - 2] : 1;
    j.ay = r >= 2 && !ax[r - 2].identity ? &ax[r - 2] : NULL;
    size_t planes = 1;
    for (int d = 0; d < r - 2; d++) planes *= (size_t)x->dims[d];
    size_t rows = planes * (size_t)j.Ho;
    st_parallel_for(k->pool, rows, j.Wo >= 1024 ? 1 : 1024 / (size_t)j.Wo, rs_plane_rows, &j);
}

static st_status rs_run_interp(st_kctx *k, const rs_params *p, st_tensor *y, st_error *err) {
    const st_tensor *x = st_in(k, 0);
    int r = p->r;
    if (x->dtype == ST_DTYPE_STRING || x->dtype == ST_DTYPE_C64 || x->dtype == ST_DTYPE_C128)
        return st_errorf(err, ST_ERR_UNSUPPORTED, "%s interpolation of %s is not supported",
                         p->mode == RS_LINEAR ? "linear" : "cubic", st_dtype_name(x->dtype));
    size_t nout = st_tensor_nelem(y), nin = st_tensor_nelem(x);
    if (!nout) return ST_OK;
    size_t tab = 0, T = 0;
    for (int d = 0; d < r; d++) {
        if (x->dims[d] > (1 << 24) || rs_taps(p, d) > (1 << 24))
            return st_errorf(err, ST_ERR_LIMIT, "antialias filter too wide");
        tab += (size_t)p->out[d] * (size_t)rs_taps(p, d);
        T += (size_t)p->out[d];
    }
    rs_axis ax[ST_MAX_RANK];
    int64_t *idx = st_malloc(tab * sizeof *idx);
    double *w = st_malloc(tab * sizeof *w);
    bool *outside = st_malloc(T * sizeof *outside);
    double *bufa = NULL, *bufb = NULL;
    st_status s = ST_OK;
    if (!idx || !w || !outside) goto nomem;
    size_t off = 0, offo = 0;
    for (int d = 0; d < r; d++) {
        int Td = rs_taps(p, d);
        ax[d] = (rs_axis){Td, idx + off, w + off, outside + offo, false};
        rs_axis_fill(p, d, x->dims[d], &ax[d]);
        off += (size_t)p->out[d] * (size_t)Td;
        offo += (size_t)p->out[d];
    }
    bool planar = x->dtype == ST_DTYPE_F32 && p->ct != CT_TF_CROP_AND_RESIZE;
    for (int d = 0; d < r - 2 && planar; d++) planar = ax[d].identity;
    if (planar) {
        rs_run_planar(k, p, ax, y);
        goto done;
    }
    /* Axes that shrink go first so later passes touch less data. */
    int order[ST_MAX_RANK], no = 0;
    for (int pass = 0; pass < 2; pass++)
        for (int d = 0; d < r; d++) {
            if (ax[d].identity) continue;
            bool shrink = p->out[d] < x->dims[d];
            if (shrink == (pass == 0)) order[no++] = d;
        }
    int64_t cur[ST_MAX_RANK];
    memcpy(cur, x->dims, (size_t)r * sizeof *cur);
    size_t maxn = nin > nout ? nin : nout;
    for (int i = 0; i < no; i++) {
        cur[order[i]] = p->out[order[i]];
        size_t n = 1;
        for (int d = 0; d < r; d++) n *= (size_t)cur[d];
        if (n > maxn) maxn = n;
    }
    bufa = st_malloc(maxn * sizeof *bufa);
    bufb = st_malloc(maxn * sizeof *bufb);
    if (!bufa || !bufb) goto nomem;
    to_double(x, bufa, nin);
    memcpy(cur, x->dims, (size_t)r * sizeof *cur);
    for (int i = 0; i < no; i++) {
        int d = order[i];
        rs_pass j = {.src = bufa,
                     .dst = bufb,
                     .n_in = (size_t)cur[d],
                     .n_out = (size_t)p->out[d],
                     .inner = 1,
                     .ax = &ax[d]};
        size_t outer = 1;
        for (int e = 0; e < d; e++) outer *= (size_t)cur[e];
        for (int e = d + 1; e < r; e++) j.inner *= (size_t)cur[e];
        size_t rows = outer * j.n_out;
        if (rows && j.inner)
            st_parallel_for(k->pool, rows, j.inner >= 2048 ? 1 : 2048 / j.inner, rs_pass_rows, &j);
        cur[d] = p->out[d];
        double *t = bufa;
        bufa = bufb;
        bufb = t;
    }
    if (p->ct == CT_TF_CROP_AND_RESIZE) {
        int64_t c[ST_MAX_RANK] = {0};
        for (size_t i = 0; i < nout; i++) {
            bool o = false;
            for (int d = 0; d < r && !o; d++) o = ax[d].outside[c[d]];
            if (o) bufa[i] = p->extrap;
            for (int d = r - 1; d >= 0; d--) {
                if (++c[d] < p->out[d]) break;
                c[d] = 0;
            }
        }
    }
    store_double(y, bufa, nout);
    goto done;
nomem:
    s = st_error_nomem(err);
done:
    st_free(idx);
    st_free(w);
    st_free(outside);
    st_free(bufa);
    st_free(bufb);
    return s;
}

static st_status rs_run_common(st_kctx *k, bool upsample, st_error *err) {
    rs_params p;
    bool ready;
    st_status s = rs_params_get(k, upsample, true, &p, &ready, err);
    if (s) return s;
    const st_tensor *x = st_in(k, 0);
    st_tensor *y = st_out(k, 0, x->dtype, p.r, p.out, err);
    if (!y) return st_tsr_out_status(k, 0, err);
    if (p.mode == RS_NEAREST) return rs_run_nearest(k, &p, y, err);
    return rs_run_interp(k, &p, y, err);
}

static st_status run_resize(st_kctx *k, st_error *err) { return rs_run_common(k, false, err); }
static st_status run_upsample(st_kctx *k, st_error *err) { return rs_run_common(k, true, err); }

static st_status rs_prep_common(st_kctx *k, bool upsample, st_error *err) {
    rs_params p;
    bool ready;
    st_status s = rs_params_get(k, upsample, false, &p, &ready, err);
    if (s) return s;
    if (ready) {
        st_tsr_declare(k, 0, st_in(k, 0)->dtype, p.r, p.out);
    } else { /* scales, sizes or roi at run time: only the rank is known */
        const st_tensor *x = st_in(k, 0);
        int64_t dims[ST_MAX_RANK];
        for (int d = 0; d < x->ndim; d++) dims[d] = -1;
        st_out_declare_type(k, 0, x->dtype, x->ndim, dims);
    }
    k->run = upsample ? run_upsample : run_resize;
    return ST_OK;
}

st_status st_tsr_prep_resize(st_kctx *k, st_error *err) { return rs_prep_common(k, false, err); }
st_status st_tsr_prep_upsample(st_kctx *k, st_error *err) { return rs_prep_common(k, true, err); }

/* ==== GridSample ====================================================================== */

typedef enum { GS_BILINEAR, GS_NEAREST, GS_BICUBIC } gs_mode;
typedef enum { GS_ZEROS, GS_BORDER, GS_REFLECTION } gs_pad;

typedef struct gs_params {
    gs_mode mode;
    gs_pad pad;
    bool align;
} gs_params;

static st_status gs_check(st_kctx *k, gs_params *p, int64_t *odims, st_error *err) {
    static const char *const modes[] = {"bilinear", "nearest", "bicubic"};
    static const char *const pads[] = {"zeros", "border", "reflection"};
    const st_tensor *x = st_in(k, 0), *g = st_in(k, 1);
    int r = x ? x->ndim : 0; /* 4, or 5 (volumetric) from opset 20 */
    if (!x || !g || (r != 4 && (r != 5 || k->opset < 20)) || g->ndim != r ||
        g->dims[r - 1] != r - 2 || g->dims[0] != x->dims[0])
        return st_errorf(err, ST_ERR_INVALID, "GridSample needs X [N,C,H,W] and grid [N,H,W,2]%s",
                         k->opset >= 20 ? " (or X [N,C,D,H,W] and grid [N,D,H,W,3])" : "");
    if (!st_dtype_is_float(g->dtype))
        return st_errorf(err, ST_ERR_INVALID, "grid must be a float tensor");
    if (x->dtype == ST_DTYPE_STRING || x->dtype == ST_DTYPE_C64 || x->dtype == ST_DTYPE_C128)
        return st_errorf(err, ST_ERR_UNSUPPORTED, "GridSample does not take %s",
                         st_dtype_name(x->dtype));
    int v = 0;
    /* GridSample-20 names the 2-D modes after their N-D forms: linear and cubic */
    const char *m = st_attr_string(k->node, "mode", k->opset >= 20 ? "linear" : "bilinear");
    if (!strcmp(m, "linear")) m = "bilinear";
    else if (!strcmp(m, "cubic")) m = "bicubic";
    st_status s = parse_enum(m, modes, 3, &v, "mode", err);
    if (s) return s;
    p->mode = (gs_mode)v;
    if ((s = parse_enum(st_attr_string(k->node, "padding_mode", "zeros"), pads, 3, &v,
                        "padding_mode", err)))
        return s;
    p->pad = (gs_pad)v;
    p->align = st_attr_int(k->node, "align_corners", 0) != 0;
    if (r == 5 && p->mode == GS_BICUBIC)
        return st_errorf(err, ST_ERR_INVALID, "GridSample: cubic mode takes 4-D input only");
    odims[0] = x->dims[0];
    odims[1] = x->dims[1];
    for (int d = 2; d < r; d++) odims[d] = g->dims[d - 1];
    return ST_OK;
}

/* Reflect x into [lo2/2, hi2/2] (bounds given doubled, as in the reference). */
static double gs_reflect(double x, double lo2, double hi2) {
    if (lo2 == hi2) return 0;
    double mn = lo2 / 2, span = (hi2 - lo2) / 2;
    x = fabs(x - mn);
    double extra = fmod(x, span);
    int64_t flips = (int64_t)floor(x / span);
    return flips % 2 == 0 ? extra + mn : span - extra + mn;
}

/* Apply the padding mode to a coordinate along an axis of the given size. */
static double gs_pad_coord(const gs_params *p, double x, int64_t size) {
    if (p->pad == GS_BORDER) {
        x = x < 0 ? 0 : x > (double)(size - 1) ? (double)(size - 1) : x;
    } else if (p->pad == GS_REFLECTION) {
        x = p->align ? gs_reflect(x, 0, 2.0 * (double)(size - 1))
                     : gs_reflect(x, -1, 2.0 * (double)size - 1);
        x = x < 0 ? 0 : x > (double)(size - 1) ? (double)(size - 1) : x;
    }
    return x;
}

typedef struct gs_job {
    const gs_params *p;
    const st_tensor *x, *g;
    double *out; /* N*C*Ho*Wo */
    const double *in;
} gs_job;

static double gs_pixel(const double *plane, int64_t H, int64_t W, int64_t yi, int64_t xi) {
    if (yi < 0 || yi >= H || xi < 0 || xi >= W) return 0;
    return plane[yi * W + xi];
}

static void gs_rows(void *arg, size_t b, size_t e) {
    const gs_job *j = arg;
    const st_tensor *x = j->x, *g = j->g;
    int64_t C = x->dims[1], H = x->dims[2], W = x->dims[3];
    int64_t Ho = g->dims[1], Wo = g->dims[2];
    const gs_params *p = j->p;
    for (size_t r = b; r < e; r++) { /* r = n * Ho + h */
        int64_t n = (int64_t)r / Ho, h = (int64_t)r % Ho;
        for (int64_t w = 0; w < Wo; w++) {
            size_t gi = (size_t)(((n * Ho + h) * Wo + w) * 2);
            double gx = st_tensor_get_f64(g, gi), gy = st_tensor_get_f64(g, gi + 1);
            double ux = p->align ? (gx + 1) / 2 * (double)(W - 1) : ((gx + 1) * (double)W - 1) / 2;
            double uy = p->align ? (gy + 1) / 2 * (double)(H - 1) : ((gy + 1) * (double)H - 1) / 2;
            bool nan = ux != ux || uy != uy;
            /* far outside is as good as infinitely outside, and keeps casts defined */
            ux = ux < -1e12 ? -1e12 : ux > 1e12 ? 1e12 : ux;
            uy = uy < -1e12 ? -1e12 : uy > 1e12 ? 1e12 : uy;
            for (int64_t c = 0; c < C; c++) {
                const double *plane = j->in + (n * C + c) * H * W;
                double v = 0;
                if (nan) {
                    v = 0;
                } else if (p->mode == GS_BICUBIC) {
                    double fx = floor(ux), fy = floor(uy), wx[4], wy[4];
                    cubic_weights(-0.75, ux - fx, wx);
                    cubic_weights(-0.75, uy - fy, wy);
                    for (int a = 0; a < 4; a++) {
                        double yy = gs_pad_coord(p, fy - 1 + a, H);
                        for (int bb = 0; bb < 4; bb++) {
                            double xx = gs_pad_coord(p, fx - 1 + bb, W);
                            v += wy[a] * wx[bb] * gs_pixel(plane, H, W, (int64_t)yy, (int64_t)xx);
                        }
                    }
                } else {
                    double sx = gs_pad_coord(p, ux, W), sy = gs_pad_coord(p, uy, H);
                    if (p->mode == GS_NEAREST) {
                        v = gs_pixel(plane, H, W, (int64_t)nearbyint(sy), (int64_t)nearbyint(sx));
                    } else {
                        double x0 = floor(sx), y0 = floor(sy), tx = sx - x0, ty = sy - y0;
                        int64_t xi = (int64_t)x0, yi = (int64_t)y0;
                        v = (1 - ty) * ((1 - tx) * gs_pixel(plane, H, W, yi, xi) +
                                        tx * gs_pixel(plane, H, W, yi, xi + 1)) +
                            ty * ((1 - tx) * gs_pixel(plane, H, W, yi + 1, xi) +
                                  tx * gs_pixel(plane, H, W, yi + 1, xi + 1));
                    }
                }
                j->out[((n * C + c) * Ho + h) * Wo + w] = v;
            }
        }
    }
}

/* Unnormalize a grid coordinate in [-1, 1] to a pixel index along an axis of n. */
static double gs_unnorm(const gs_params *p, double g, int64_t n) {
    double u = p->align ? (g + 1) / 2 * (double)(n - 1) : ((g + 1) * (double)n - 1) / 2;
    return u < -1e12 ? -1e12 : u > 1e12 ? 1e12 : u;
}

static double gs_voxel(const double *vol, int64_t D, int64_t H, int64_t W, int64_t z, int64_t y,
                       int64_t x) {
    if (z < 0 || z >= D || y < 0 || y >= H || x < 0 || x >= W) return 0;
    return vol[(z * H + y) * W + x];
}

/* Volumetric (5-D) rows r = n * Do + d: nearest or trilinear over (z, y, x). */
static void gs_rows3(void *arg, size_t b, size_t e) {
    const gs_job *j = arg;
    const st_tensor *x = j->x, *g = j->g;
    int64_t C = x->dims[1], D = x->dims[2], H = x->dims[3], W = x->dims[4];
    int64_t Do = g->dims[1], Ho = g->dims[2], Wo = g->dims[3];
    const gs_params *p = j->p;
    for (size_t r = b; r < e; r++) {
        int64_t n = (int64_t)r / Do, d = (int64_t)r % Do;
        for (int64_t h = 0; h < Ho; h++)
            for (int64_t w = 0; w < Wo; w++) {
                size_t gi = (size_t)((((n * Do + d) * Ho + h) * Wo + w) * 3);
                double gx = st_tensor_get_f64(g, gi), gy = st_tensor_get_f64(g, gi + 1);
                double gz = st_tensor_get_f64(g, gi + 2);
                bool nan = gx != gx || gy != gy || gz != gz;
                double sx = gs_pad_coord(p, gs_unnorm(p, gx, W), W);
                double sy = gs_pad_coord(p, gs_unnorm(p, gy, H), H);
                double sz = gs_pad_coord(p, gs_unnorm(p, gz, D), D);
                double x0 = floor(sx), y0 = floor(sy), z0 = floor(sz);
                double t[3] = {sx - x0, sy - y0, sz - z0};
                for (int64_t c = 0; c < C; c++) {
                    const double *vol = j->in + (n * C + c) * D * H * W;
                    double v = 0;
                    if (nan) {
                        v = 0;
                    } else if (p->mode == GS_NEAREST) {
                        v = gs_voxel(vol, D, H, W, (int64_t)nearbyint(sz), (int64_t)nearbyint(sy),
                                     (int64_t)nearbyint(sx));
                    } else {
                        for (int q = 0; q < 8; q++) {
                            int bx = q & 1, by = (q >> 1) & 1, bz = q >> 2;
                            double wq = (bx ? t[0] : 1 - t[0]) * (by ? t[1] : 1 - t[1]) *
                                        (bz ? t[2] : 1 - t[2]);
                            if (wq != 0)
                                v += wq * gs_voxel(vol, D, H, W, (int64_t)z0 + bz, (int64_t)y0 + by,
                                                   (int64_t)x0 + bx);
                        }
                    }
                    j->out[(((n * C + c) * Do + d) * Ho + h) * Wo + w] = v;
                }
            }
    }
}

static st_status run_gridsample(st_kctx *k, st_error *err) {
    gs_params p;
    int64_t od[5];
    st_status s = gs_check(k, &p, od, err);
    if (s) return s;
    const st_tensor *x = st_in(k, 0), *g = st_in(k, 1);
    st_tensor *y = st_out(k, 0, x->dtype, x->ndim, od, err);
    if (!y) return st_tsr_out_status(k, 0, err);
    size_t nin = st_tensor_nelem(x), nout = st_tensor_nelem(y);
    if (!nout) return ST_OK;
    double *in = st_malloc((nin ? nin : 1) * sizeof *in), *out = st_malloc(nout * sizeof *out);
    if (!in || !out) {
        s = st_error_nomem(err);
        goto done;
    }
    to_double(x, in, nin);
    if (!nin) {
        memset(out, 0, nout * sizeof *out);
    } else {
        gs_job j = {.p = &p, .x = x, .g = g, .out = out, .in = in};
        st_parallel_for(k->pool, (size_t)(od[0] * od[2]), 1, x->ndim == 5 ? gs_rows3 : gs_rows, &j);
    }
    store_double(y, out, nout);
done:
    st_free(in);
    st_free(out);
    return s;
}

st_status st_tsr_prep_gridsample(st_kctx *k, st_error *err) {
    gs_params p;
    int64_t od[5];
    st_status s = gs_check(k, &p, od, err);
    if (s) return s;
    st_tsr_declare(k, 0, st_in(k, 0)->dtype, st_in(k, 0)->ndim, od);
    k->run = run_gridsample;
    return ST_OK;
}
