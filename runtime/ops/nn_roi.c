/* runtime/ops/nn_roi.c: region ops — MaxRoiPool, RoiAlign and NonMaxSuppression. Features
 * and boxes are read through float64 (any float input type); outputs are written in the
 * input's type. NonMaxSuppression's output size depends on data, so it is not declared. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn_impl.h"

/* ---- MaxRoiPool ------------------------------------------------------------------------- */

typedef struct roi_state {
    int64_t ph, pw;   /* pooled output size */
    double scale;     /* spatial_scale */
    int64_t sampling; /* RoiAlign sampling_ratio */
    bool avg;         /* RoiAlign mode */
    bool half_pixel;  /* RoiAlign coordinate_transformation_mode */
    int64_t nroi, c, h, w;
} roi_state;

static st_status run_max_roi_pool(st_kctx *k, st_error *err) {
    roi_state *st = k->state;
    const st_tensor *x = st_in(k, 0), *rois = st_in(k, 1);
    int64_t dims[4] = {st->nroi, st->c, st->ph, st->pw};
    st_tensor *y = st_out(k, 0, x->dtype, 4, dims, err);
    if (!y) return err->status;
    int64_t nb = x->dims[0];
    for (int64_t r = 0; r < st->nroi; r++) {
        int64_t b = (int64_t)st_tensor_get_f64(rois, (size_t)r * 5);
        if (b < 0 || b >= nb)
            return st_errorf(err, ST_ERR_INVALID, "RoI %lld names batch %lld of %lld", (long long)r,
                             (long long)b, (long long)nb);
        int64_t x1 = (int64_t)round(st_tensor_get_f64(rois, (size_t)r * 5 + 1) * st->scale);
        int64_t y1 = (int64_t)round(st_tensor_get_f64(rois, (size_t)r * 5 + 2) * st->scale);
        int64_t x2 = (int64_t)round(st_tensor_get_f64(rois, (size_t)r * 5 + 3) * st->scale);
        int64_t y2 = (int64_t)round(st_tensor_get_f64(rois, (size_t)r * 5 + 4) * st->scale);
        double rh = (double)ST_MAX(y2 - y1 + 1, 1), rw = (double)ST_MAX(x2 - x1 + 1, 1);
        double bh = rh / (double)st->ph, bw = rw / (double)st->pw;
        for (int64_t c = 0; c < st->c; c++) {
            size_t plane = ((size_t)b * (size_t)st->c + (size_t)c) * (size_t)(st->h * st->w);
            for (int64_t i = 0; i < st->ph; i++)
                for (int64_t j = 0; j < st->pw; j++) {
                    int64_t hs = (int64_t)floor((double)i * bh) + y1;
                    int64_t he = (int64_t)ceil((double)(i + 1) * bh) + y1;
                    int64_t ws = (int64_t)floor((double)j * bw) + x1;
                    int64_t we = (int64_t)ceil((double)(j + 1) * bw) + x1;
                    hs = ST_MIN(ST_MAX(hs, 0), st->h), he = ST_MIN(ST_MAX(he, 0), st->h);
                    ws = ST_MIN(ST_MAX(ws, 0), st->w), we = ST_MIN(ST_MAX(we, 0), st->w);
                    double m = (he <= hs || we <= ws) ? 0.0 : -INFINITY;
                    for (int64_t yy = hs; yy < he; yy++)
                        for (int64_t xx = ws; xx < we; xx++) {
                            double v = st_tensor_get_f64(x, plane + (size_t)(yy * st->w + xx));
                            if (v > m) m = v;
                        }
                    size_t oi =
                        (((size_t)r * (size_t)st->c + (size_t)c) * (size_t)st->ph + (size_t)i) *
                            (size_t)st->pw +
                        (size_t)j;
                    st_tensor_set_f64(y, oi, m);
                }
        }
    }
    return ST_OK;
}

static st_status roi_common(st_kctx *k, roi_state *st, int coords, st_error *err) {
    st_status s;
    if ((s = ST_NN_CHECK_DTYPE(k, 0, err, ST_DTYPE_F32, ST_DTYPE_F64, ST_DTYPE_F16,
                               ST_DTYPE_BF16)) ||
        (s = ST_NN_CHECK_DTYPE(k, 1, err, ST_DTYPE_F32, ST_DTYPE_F64, ST_DTYPE_F16, ST_DTYPE_BF16)))
        return s;
    const st_tensor *x = st_in(k, 0), *rois = st_in(k, 1);
    if (x->ndim != 4) return st_errorf(err, ST_ERR_INVALID, "X must be [N, C, H, W]");
    if (rois->ndim != 2 || rois->dims[1] != coords)
        return st_errorf(err, ST_ERR_INVALID, "rois must be [num_rois, %d]", coords);
    st->nroi = rois->dims[0];
    st->c = x->dims[1], st->h = x->dims[2], st->w = x->dims[3];
    if (st->ph < 1 || st->pw < 1 || st->ph > (1 << 20) || st->pw > (1 << 20))
        return st_errorf(err, ST_ERR_INVALID, "pooled output size must be positive");
    int64_t dims[4] = {st->nroi, st->c, st->ph, st->pw};
    size_t n;
    if ((s = st_shape_nelem(4, dims, &n, err))) return s;
    st_out_declare(k, 0, x->dtype, 4, dims);
    return ST_OK;
}

st_status st_nn_prep_max_roi_pool(st_kctx *k, st_error *err) {
    st_status s;
    roi_state *st = st_calloc(1, sizeof *st);
    if (!st) return st_error_nomem(err);
    const int64_t *ps;
    if (st_attr_ints(k->node, "pooled_shape", &ps) != 2) {
        s = st_errorf(err, ST_ERR_INVALID, "pooled_shape must have 2 values");
        goto fail;
    }
    st->ph = ps[0], st->pw = ps[1];
    st->scale = st_attr_float(k->node, "spatial_scale", 1.0);
    if ((s = roi_common(k, st, 5, err))) goto fail;
    k->state = st;
    k->run = run_max_roi_pool;
    return ST_OK;
fail:
    st_free(st);
    return s;
}

/* ---- RoiAlign --------------------------------------------------------------------------- */

/* Bilinear sample of plane p (h x w) at (yy, xx); samples beyond one pixel outside are 0. */
static double bilinear(const st_tensor *x, size_t p, int64_t h, int64_t w, double yy, double xx,
                       double *parts) {
    parts[0] = parts[1] = parts[2] = parts[3] = 0;
    if (yy < -1.0 || yy > (double)h || xx < -1.0 || xx > (double)w) return 0;
    if (yy <= 0) yy = 0;
    if (xx <= 0) xx = 0;
    int64_t y0 = (int64_t)yy, x0 = (int64_t)xx, y1, x1;
    if (y0 >= h - 1) y1 = y0 = h - 1, yy = (double)y0;
    else y1 = y0 + 1;
    if (x0 >= w - 1) x1 = x0 = w - 1, xx = (double)x0;
    else x1 = x0 + 1;
    double ly = yy - (double)y0, lx = xx - (double)x0, hy = 1 - ly, hx = 1 - lx;
    parts[0] = hy * hx * st_tensor_get_f64(x, p + (size_t)(y0 * w + x0));
    parts[1] = hy * lx * st_tensor_get_f64(x, p + (size_t)(y0 * w + x1));
    parts[2] = ly * hx * st_tensor_get_f64(x, p + (size_t)(y1 * w + x0));
    parts[3] = ly * lx * st_tensor_get_f64(x, p + (size_t)(y1 * w + x1));
    return parts[0] + parts[1] + parts[2] + parts[3];
}

static st_status run_roi_align(st_kctx *k, st_error *err) {
    roi_state *st = k->state;
    const st_tensor *x = st_in(k, 0), *rois = st_in(k, 1), *bi = st_in(k, 2);
    int64_t dims[4] = {st->nroi, st->c, st->ph, st->pw};
    st_tensor *y = st_out(k, 0, x->dtype, 4, dims, err);
    if (!y) return err->status;
    double off = st->half_pixel ? 0.5 : 0.0;
    for (int64_t r = 0; r < st->nroi; r++) {
        int64_t b = st_tensor_get_i64(bi, (size_t)r);
        if (b < 0 || b >= x->dims[0])
            return st_errorf(err, ST_ERR_INVALID, "batch index %lld out of range", (long long)b);
        double x1 = st_tensor_get_f64(rois, (size_t)r * 4) * st->scale - off;
        double y1 = st_tensor_get_f64(rois, (size_t)r * 4 + 1) * st->scale - off;
        double x2 = st_tensor_get_f64(rois, (size_t)r * 4 + 2) * st->scale - off;
        double y2 = st_tensor_get_f64(rois, (size_t)r * 4 + 3) * st->scale - off;
        double rw = x2 - x1, rh = y2 - y1;
        if (!st->half_pixel) rw = fmax(rw, 1.0), rh = fmax(rh, 1.0);
        double bh = rh / (double)st->ph, bw = rw / (double)st->pw;
        int64_t gh = st->sampling > 0 ? st->sampling : (int64_t)ceil(rh / (double)st->ph);
        int64_t gw = st->sampling > 0 ? st->sampling : (int64_t)ceil(rw / (double)st->pw);
        if (gh < 0) gh = 0;
        if (gw < 0) gw = 0;
        double count = (double)ST_MAX(gh * gw, 1);
        for (int64_t c = 0; c < st->c; c++) {
            size_t plane = ((size_t)b * (size_t)st->c + (size_t)c) * (size_t)(st->h * st->w);
            for (int64_t i = 0; i < st->ph; i++)
                for (int64_t j = 0; j < st->pw; j++) {
                    double acc = 0;
                    bool first = true;
                    for (int64_t iy = 0; iy < gh; iy++) {
                        double yy = y1 + (double)i * bh + ((double)iy + 0.5) * bh / (double)gh;
                        for (int64_t ix = 0; ix < gw; ix++) {
                            double xx = x1 + (double)j * bw + ((double)ix + 0.5) * bw / (double)gw;
                            double parts[4];
                            double v = bilinear(x, plane, st->h, st->w, yy, xx, parts);
                            if (st->avg) {
                                acc += v;
                            } else { /* max of the weighted corner terms, as onnxruntime */
                                double m = fmax(fmax(parts[0], parts[1]), fmax(parts[2], parts[3]));
                                acc = first ? m : fmax(acc, m);
                                first = false;
                            }
                        }
                    }
                    if (st->avg) acc /= count;
                    size_t oi =
                        (((size_t)r * (size_t)st->c + (size_t)c) * (size_t)st->ph + (size_t)i) *
                            (size_t)st->pw +
                        (size_t)j;
                    st_tensor_set_f64(y, oi, acc);
                }
        }
    }
    return ST_OK;
}

st_status st_nn_prep_roi_align(st_kctx *k, st_error *err) {
    st_status s;
    roi_state *st = st_calloc(1, sizeof *st);
    if (!st) return st_error_nomem(err);
    st->ph = st_attr_int(k->node, "output_height", 1);
    st->pw = st_attr_int(k->node, "output_width", 1);
    st->sampling = st_attr_int(k->node, "sampling_ratio", 0);
    st->scale = st_attr_float(k->node, "spatial_scale", 1.0);
    const char *mode = st_attr_string(k->node, "mode", "avg");
    const char *ctm = st_attr_string(k->node, "coordinate_transformation_mode",
                                     k->opset >= 16 ? "half_pixel" : "output_half_pixel");
    if (strcmp(mode, "avg") && strcmp(mode, "max")) {
        s = st_errorf(err, ST_ERR_INVALID, "unknown mode \"%s\"", mode);
        goto fail;
    }
    if (strcmp(ctm, "half_pixel") && strcmp(ctm, "output_half_pixel")) {
        s = st_errorf(err, ST_ERR_INVALID, "unknown coordinate_transformation_mode \"%s\"", ctm);
        goto fail;
    }
    st->avg = !strcmp(mode, "avg");
    st->half_pixel = !strcmp(ctm, "half_pixel");
    if ((s = roi_common(k, st, 4, err))) goto fail;
    const st_tensor *bi = st_in(k, 2);
    if (!bi || bi->ndim != 1 || bi->dims[0] != st->nroi ||
        (bi->dtype != ST_DTYPE_I64 && bi->dtype != ST_DTYPE_I32)) {
        s = st_errorf(err, ST_ERR_INVALID, "batch_indices must be int64 [num_rois]");
        goto fail;
    }
    k->state = st;
    k->run = run_roi_align;
    return ST_OK;
fail:
    st_free(st);
    return s;
}

/* ---- NonMaxSuppression ------------------------------------------------------------------ */

typedef struct nms_cand {
    double score;
    int64_t idx;
} nms_cand;

static int cand_cmp(const void *a, const void *b) {
    const nms_cand *x = a, *y = b;
    if (x->score != y->score) return x->score > y->score ? -1 : 1;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* Box i of batch b as (ymin, xmin, ymax, xmax). */
static void nms_box(const st_tensor *boxes, size_t base, bool center, double *o) {
    double a = st_tensor_get_f64(boxes, base), b = st_tensor_get_f64(boxes, base + 1);
    double c = st_tensor_get_f64(boxes, base + 2), d = st_tensor_get_f64(boxes, base + 3);
    if (center) { /* [x_center, y_center, width, height] */
        o[0] = b - d / 2, o[1] = a - c / 2, o[2] = b + d / 2, o[3] = a + c / 2;
    } else {
        o[0] = fmin(a, c), o[1] = fmin(b, d), o[2] = fmax(a, c), o[3] = fmax(b, d);
    }
}

static double nms_iou(const double *p, const double *q) {
    double ih = fmin(p[2], q[2]) - fmax(p[0], q[0]), iw = fmin(p[3], q[3]) - fmax(p[1], q[1]);
    if (ih <= 0 || iw <= 0) return 0;
    double inter = ih * iw;
    double uni = (p[2] - p[0]) * (p[3] - p[1]) + (q[2] - q[0]) * (q[3] - q[1]) - inter;
    return uni > 0 ? inter / uni : 0;
}

static st_status run_nms(st_kctx *k, st_error *err) {
    st_status s = ST_OK;
    const st_tensor *boxes = st_in(k, 0), *scores = st_in(k, 1);
    const st_tensor *mo = st_in(k, 2), *iou_t = st_in(k, 3), *sc_t = st_in(k, 4);
    bool center = st_attr_int(k->node, "center_point_box", 0) != 0;
    int64_t nb = boxes->dims[0], ns = boxes->dims[1], nc = scores->dims[1];
    int64_t maxo = mo && st_tensor_nelem(mo) ? st_tensor_get_i64(mo, 0) : 0;
    double iou_th = iou_t && st_tensor_nelem(iou_t) ? st_tensor_get_f64(iou_t, 0) : 0.0;
    bool has_sc = sc_t && st_tensor_nelem(sc_t);
    double sc_th = has_sc ? st_tensor_get_f64(sc_t, 0) : 0.0;
    if (maxo < 0) maxo = 0;
    nms_cand *cand = st_calloc((size_t)ns + 1, sizeof *cand);
    int64_t *sel = st_calloc((size_t)ns + 1, sizeof *sel);
    double *bx = st_calloc((size_t)ns * 4 + 1, sizeof *bx);
    int64_t *out = NULL;
    size_t nout = 0, cap = 0;
    if (!cand || !sel || !bx) {
        s = st_error_nomem(err);
        goto fail;
    }
    for (int64_t b = 0; b < nb; b++) {
        for (int64_t i = 0; i < ns; i++)
            nms_box(boxes, ((size_t)b * (size_t)ns + (size_t)i) * 4, center, bx + i * 4);
        for (int64_t c = 0; c < nc; c++) {
            size_t nc_ = 0;
            for (int64_t i = 0; i < ns; i++) {
                double sv = st_tensor_get_f64(
                    scores, ((size_t)b * (size_t)nc + (size_t)c) * (size_t)ns + (size_t)i);
                if (has_sc && !(sv > sc_th)) continue;
                cand[nc_].score = sv;
                cand[nc_++].idx = i;
            }
            qsort(cand, nc_, sizeof *cand, cand_cmp);
            size_t nsel = 0;
            for (size_t i = 0; i < nc_ && (int64_t)nsel < maxo; i++) {
                bool keep = true;
                for (size_t j = 0; j < nsel && keep; j++)
                    if (nms_iou(bx + cand[i].idx * 4, bx + sel[j] * 4) > iou_th) keep = false;
                if (!keep) continue;
                sel[nsel++] = cand[i].idx;
                if (!ST_GROW(out, cap, (nout + 1) * 3)) {
                    s = st_error_nomem(err);
                    goto fail;
                }
                out[nout * 3] = b, out[nout * 3 + 1] = c, out[nout * 3 + 2] = cand[i].idx;
                nout++;
            }
        }
    }
    int64_t dims[2] = {(int64_t)nout, 3};
    st_tensor *y = st_out(k, 0, ST_DTYPE_I64, 2, dims, err);
    if (!y) {
        s = err->status;
        goto fail;
    }
    if (nout) memcpy(y->data, out, nout * 3 * sizeof(int64_t));
fail:
    st_free(cand);
    st_free(sel);
    st_free(bx);
    st_free(out);
    return s;
}

st_status st_nn_prep_nms(st_kctx *k, st_error *err) {
    st_status s;
    if ((s = ST_NN_CHECK_DTYPE(k, 0, err, ST_DTYPE_F32, ST_DTYPE_F64, ST_DTYPE_F16)) ||
        (s = ST_NN_CHECK_DTYPE(k, 1, err, ST_DTYPE_F32, ST_DTYPE_F64, ST_DTYPE_F16)))
        return s;
    const st_tensor *boxes = st_in(k, 0), *scores = st_in(k, 1);
    if (boxes->ndim != 3 || boxes->dims[2] != 4)
        return st_errorf(err, ST_ERR_INVALID, "boxes must be [batch, spatial, 4]");
    if (scores->ndim != 3 || scores->dims[0] != boxes->dims[0] || scores->dims[2] != boxes->dims[1])
        return st_errorf(err, ST_ERR_INVALID, "scores must be [batch, classes, spatial]");
    int64_t dims[2] = {-1, 3}; /* [selected, (batch, class, box)]: the count follows data */
    st_out_declare_type(k, 0, ST_DTYPE_I64, 2, dims);
    k->run = run_nms;
    return ST_OK;
}
