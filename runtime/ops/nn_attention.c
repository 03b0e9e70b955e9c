/* runtime/ops/nn_attention.c: the transformer ops of opset 23/24: Attention (KV cache,
 * masks, causal, grouped-query heads, softcap, the qk_matmul_output modes),
 * RMSNormalization and RotaryEmbedding. Every dtype computes in double, one row at a
 * time; nothing here keeps pointers to inputs beyond a run. */
#include <math.h>
#include <string.h>

#include "nn_impl.h"

/* Elements of a row of n values of type dt at element offset off, read as double. */
static void row_f64(const st_tensor *t, size_t off, size_t n, double *dst) {
    st_nn_to_f64(t->dtype, (const char *)t->data + off * st_dtype_size(t->dtype), dst, n);
}
static void row_store(st_tensor *t, size_t off, size_t n, const double *src) {
    st_nn_from_f64(t->dtype, src, (char *)t->data + off * st_dtype_size(t->dtype), n);
}

static bool is_float(st_dtype t) {
    return t == ST_DTYPE_F32 || t == ST_DTYPE_F64 || t == ST_DTYPE_F16 || t == ST_DTYPE_BF16;
}

/* ---- Attention ---------------------------------------------------------------------------
 * Q [B, Hq, Lq, D] (or 3-D [B, Lq, Hq*D]), K [B, Hkv, Lk, D], V [B, Hkv, Lk, Dv]; past
 * K/V [B, Hkv, Lp, .] are prepended (present = past ++ new, Lt = Lp + Lk). For each query
 * row: s = Q K^T * scale; + bias (mask padded with -inf to Lt, causal, nonpad lengths);
 * softcap c*tanh(s/c); softmax; times V. Query head h reads KV head h / (Hq / Hkv). */

enum { ATT_Y, ATT_PK, ATT_PV, ATT_QK };

typedef struct att_state {
    int64_t b, hq, hkv, lq, lk, lp, lt, d, dv;
    bool q3, k3; /* Q (K, V) given as 3-D */
    double scale, softcap;
    bool causal;
    int mode;         /* qk_matmul_output_mode 0..3 */
    int64_t mdims[4]; /* mask broadcast shape [B, Hq, Lq, Lm] */
    int64_t mstr[4];  /* mask strides into that shape (0 on broadcast axes) */
    bool has_mask, mask_bool;
    size_t kv_k, kv_v; /* doubles of present K and V */
    int threads;
    size_t tbuf; /* doubles of one thread's buffer */
} att_state;

typedef struct att_run {
    const att_state *st;
    st_kctx *k;
    const double *pk, *pv; /* present K, V as double */
    const int64_t *nonpad; /* [B] or NULL */
    double *tmp;           /* per-thread buffers */
    st_tensor *y, *qk;
} att_run;

/* Element offset of row (b, h, i) of a [B, H, L, D] tensor, or of its 3-D [B, L, H*D] form. */
static size_t att_row(bool three_d, int64_t b, int64_t h, int64_t i, int64_t nh, int64_t l,
                      int64_t d) {
    if (three_d) return (size_t)(((b * l + i) * nh + h) * d);
    return (size_t)(((b * nh + h) * l + i) * d);
}

/* The additive bias of key j for query row (b, h, i). */
static double att_bias(const att_run *r, const double *mask, int64_t b, int64_t h, int64_t i,
                       int64_t j) {
    const att_state *st = r->st;
    double v = 0;
    if (st->has_mask) {
        if (j >= st->mdims[3]) return -INFINITY;
        v = mask[b * st->mstr[0] + h * st->mstr[1] + i * st->mstr[2] + j * st->mstr[3]];
    }
    if (r->nonpad && j >= r->nonpad[b]) return -INFINITY;
    if (st->causal) {
        int64_t off = st->lp;
        if (!st->lp && r->nonpad) off = r->nonpad[b] - st->lq;
        if (j > i + off) return -INFINITY;
    }
    return v;
}

static void att_rows(att_run *r, const double *mask, size_t r0, size_t r1, double *buf) {
    const att_state *st = r->st;
    const st_tensor *q = st_in(r->k, 0);
    double *qrow = buf, *s = qrow + st->d, *qk = s + st->lt, *yrow = qk + st->lt;
    int64_t grp = st->hq / st->hkv;
    for (size_t row = r0; row < r1; row++) {
        int64_t i = (int64_t)row % st->lq, h = (int64_t)(row / (size_t)st->lq) % st->hq;
        int64_t b = (int64_t)(row / (size_t)(st->lq * st->hq)), hk = h / grp;
        row_f64(q, att_row(st->q3, b, h, i, st->hq, st->lq, st->d), (size_t)st->d, qrow);
        const double *kb = r->pk + (size_t)((b * st->hkv + hk) * st->lt * st->d);
        const double *vb = r->pv + (size_t)((b * st->hkv + hk) * st->lt * st->dv);
        double mx = -INFINITY;
        for (int64_t j = 0; j < st->lt; j++) {
            double acc = 0;
            for (int64_t e = 0; e < st->d; e++) acc += qrow[e] * kb[j * st->d + e];
            acc *= st->scale;
            if (st->mode == 0) qk[j] = acc;
            acc += att_bias(r, mask, b, h, i, j);
            if (st->mode == 1) qk[j] = acc;
            if (st->softcap > 0) acc = st->softcap * tanh(acc / st->softcap);
            if (st->mode == 2) qk[j] = acc;
            s[j] = acc;
            if (acc > mx) mx = acc;
        }
        double sum = 0;
        for (int64_t j = 0; j < st->lt; j++) {
            s[j] = exp(s[j] - mx);
            sum += s[j];
        }
        for (int64_t j = 0; j < st->lt; j++) s[j] /= sum;
        if (r->qk) {
            size_t qoff = (size_t)(((b * st->hq + h) * st->lq + i) * st->lt);
            row_store(r->qk, qoff, (size_t)st->lt, st->mode <= 2 ? qk : s);
        }
        for (int64_t e = 0; e < st->dv; e++) yrow[e] = 0;
        for (int64_t j = 0; j < st->lt; j++)
            for (int64_t e = 0; e < st->dv; e++) yrow[e] += s[j] * vb[j * st->dv + e];
        row_store(r->y, att_row(st->q3, b, h, i, st->hq, st->lq, st->dv), (size_t)st->dv, yrow);
    }
}

/* One chunk per thread: thread t uses buffer t. */
static void att_chunk(void *arg, size_t t0, size_t t1) {
    att_run *r = arg;
    const att_state *st = r->st;
    size_t rows = (size_t)(st->b * st->hq * st->lq), nt = (size_t)st->threads;
    const double *mask = r->tmp + nt * st->tbuf;
    for (size_t t = t0; t < t1; t++)
        att_rows(r, mask, rows * t / nt, rows * (t + 1) / nt, r->tmp + t * st->tbuf);
}

/* present = past ++ new along the sequence axis, as double [B, Hkv, Lt, d]. */
static void att_concat(const att_state *st, const st_tensor *past, const st_tensor *x, int64_t d,
                       double *dst) {
    for (int64_t b = 0; b < st->b; b++)
        for (int64_t h = 0; h < st->hkv; h++) {
            double *o = dst + (size_t)((b * st->hkv + h) * st->lt * d);
            if (past)
                row_f64(past, (size_t)((b * st->hkv + h) * st->lp * d), (size_t)(st->lp * d), o);
            o += st->lp * d;
            for (int64_t j = 0; j < st->lk; j++)
                row_f64(x, att_row(st->k3, b, h, j, st->hkv, st->lk, d), (size_t)d, o + j * d);
        }
}

static st_status run_attention(st_kctx *k, st_error *err) {
    const att_state *st = k->state;
    const st_tensor *q = st_in(k, 0);
    int64_t ydims[4] = {st->b, st->hq, st->lq, st->dv};
    if (st->q3) ydims[1] = st->lq, ydims[2] = st->hq * st->dv;
    int64_t kd[4] = {st->b, st->hkv, st->lt, st->d}, vd[4] = {st->b, st->hkv, st->lt, st->dv};
    int64_t qkd[4] = {st->b, st->hq, st->lq, st->lt};
    att_run r = {.st = st, .k = k};
    if (!(r.y = st_out(k, ATT_Y, q->dtype, st->q3 ? 3 : 4, ydims, err))) return err->status;
    st_tensor *pk = NULL, *pv = NULL;
    if (st_has_out(k, ATT_PK) && !(pk = st_out(k, ATT_PK, q->dtype, 4, kd, err)))
        return err->status;
    if (st_has_out(k, ATT_PV) && !(pv = st_out(k, ATT_PV, q->dtype, 4, vd, err)))
        return err->status;
    if (st_has_out(k, ATT_QK) && !(r.qk = st_out(k, ATT_QK, q->dtype, 4, qkd, err)))
        return err->status;
    double *kbuf = k->scratch, *vbuf = kbuf + st->kv_k;
    att_concat(st, st_in(k, 4), st_in(k, 1), st->d, kbuf);
    att_concat(st, st_in(k, 5), st_in(k, 2), st->dv, vbuf);
    if (pk) row_store(pk, 0, st->kv_k, kbuf);
    if (pv) row_store(pv, 0, st->kv_v, vbuf);
    r.pk = kbuf;
    r.pv = vbuf;
    r.tmp = vbuf + st->kv_v;
    const st_tensor *np = st_in(k, 6);
    if (np) {
        r.nonpad = np->data;
        for (int64_t b = 0; b < st->b; b++)
            if (r.nonpad[b] < 0 || r.nonpad[b] > st->lt)
                return ST_KERR(err, ST_ERR_INVALID,
                               "nonpad_kv_seqlen[%lld] = %lld is outside [0, %lld]", (long long)b,
                               (long long)r.nonpad[b], (long long)st->lt);
    }
    if (st->has_mask) {
        const st_tensor *m = st_in(k, 3);
        double *md = r.tmp + (size_t)st->threads * st->tbuf;
        size_t n = st_tensor_nelem(m);
        if (st->mask_bool) {
            const uint8_t *mb = m->data;
            for (size_t i = 0; i < n; i++) md[i] = mb[i] ? 0 : -INFINITY;
        } else {
            row_f64(m, 0, n, md);
        }
    }
    st_parallel_for(k->pool, (size_t)st->threads, 1, att_chunk, &r);
    return ST_OK;
}

/* Shapes of Q, K, V (3-D or 4-D) and the past tensors into st. */
static st_status att_shapes(st_kctx *k, att_state *st, st_error *err) {
    const st_tensor *q = st_in(k, 0), *kk = st_in(k, 1), *v = st_in(k, 2);
    const st_tensor *pk = st_in(k, 4), *pv = st_in(k, 5);
    if (q->ndim != kk->ndim || q->ndim != v->ndim || (q->ndim != 3 && q->ndim != 4))
        return st_errorf(err, ST_ERR_INVALID, "Q, K and V must all be 3-D or all 4-D");
    st->b = q->dims[0];
    if (q->ndim == 4) {
        st->hq = q->dims[1], st->lq = q->dims[2], st->d = q->dims[3];
        st->hkv = kk->dims[1], st->lk = kk->dims[2], st->dv = v->dims[3];
        if (kk->dims[3] != st->d || v->dims[1] != st->hkv || v->dims[2] != st->lk)
            return st_errorf(err, ST_ERR_INVALID,
                             "K must be [B, Hkv, L, %lld] and V [B, Hkv, L, Dv]", (long long)st->d);
    } else {
        st->q3 = st->k3 = true;
        st->hq = st_attr_int(k->node, "q_num_heads", 0);
        st->hkv = st_attr_int(k->node, "kv_num_heads", 0);
        if (st->hq <= 0 || st->hkv <= 0 || q->dims[2] % st->hq || kk->dims[2] % st->hkv ||
            v->dims[2] % st->hkv)
            return st_errorf(
                err, ST_ERR_INVALID,
                "3-D inputs need q_num_heads and kv_num_heads dividing the hidden sizes");
        st->lq = q->dims[1], st->d = q->dims[2] / st->hq;
        st->lk = kk->dims[1], st->dv = v->dims[2] / st->hkv;
        if (kk->dims[2] / st->hkv != st->d || v->dims[1] != st->lk)
            return st_errorf(err, ST_ERR_INVALID,
                             "K's head size differs from Q's or V's length from K's");
    }
    if (kk->dims[0] != st->b || v->dims[0] != st->b || st->hkv <= 0 || st->hq % st->hkv)
        return st_errorf(err, ST_ERR_INVALID,
                         "batch sizes differ or q heads (%lld) are not a "
                         "multiple of kv heads (%lld)",
                         (long long)st->hq, (long long)st->hkv);
    if (!pk != !pv) return st_errorf(err, ST_ERR_INVALID, "past_key and past_value go together");
    if (pk) {
        st->lp = pk->dims[2];
        if (pk->ndim != 4 || pv->ndim != 4 || pk->dims[0] != st->b || pk->dims[1] != st->hkv ||
            pk->dims[3] != st->d || pv->dims[0] != st->b || pv->dims[1] != st->hkv ||
            pv->dims[2] != st->lp || pv->dims[3] != st->dv)
            return st_errorf(err, ST_ERR_INVALID,
                             "past_key / past_value must be [B, Hkv, P, head size]");
    }
    st->lt = st->lp + st->lk;
    return ST_OK;
}

/* The mask's broadcast into [B, Hq, Lq, Lm] (Lm <= Lt; keys beyond it are masked). */
static st_status att_mask(st_kctx *k, att_state *st, st_error *err) {
    const st_tensor *m = st_in(k, 3);
    if (!m) return ST_OK;
    st->has_mask = true;
    st->mask_bool = m->dtype == ST_DTYPE_BOOL;
    if (!st->mask_bool && !is_float(m->dtype))
        return st_errorf(err, ST_ERR_INVALID, "attn_mask must be bool or a float type");
    if (m->ndim < 1 || m->ndim > 4 || m->dims[m->ndim - 1] > st->lt)
        return st_errorf(err, ST_ERR_INVALID, "attn_mask must have rank 1-4 and at most %lld keys",
                         (long long)st->lt);
    int64_t full[4] = {st->b, st->hq, st->lq, m->dims[m->ndim - 1]};
    for (int d = 0; d < m->ndim - 1; d++) {
        int64_t md = m->dims[m->ndim - 1 - d - 1], fd = full[4 - d - 2];
        if (md != fd && md != 1)
            return st_errorf(err, ST_ERR_INVALID,
                             "attn_mask does not broadcast to [%lld, %lld, %lld, .]",
                             (long long)st->b, (long long)st->hq, (long long)st->lq);
    }
    memcpy(st->mdims, full, sizeof full);
    st_broadcast_strides(m, 4, full, st->mstr);
    return ST_OK;
}

st_status st_nn_prep_attention(st_kctx *k, st_error *err) {
    st_status s;
    if ((s = ST_NN_CHECK_DTYPE(k, 0, err, ST_DTYPE_F32, ST_DTYPE_F64, ST_DTYPE_F16, ST_DTYPE_BF16)))
        return s;
    const st_tensor *q = st_in(k, 0);
    for (int i = 1; i <= 5; i++)
        if (i != 3 && st_in(k, i) && st_in(k, i)->dtype != q->dtype)
            return st_errorf(err, ST_ERR_INVALID, "input %d must have Q's type", i);
    if (!st_in(k, 1) || !st_in(k, 2)) return st_errorf(err, ST_ERR_INVALID, "K and V are required");
    att_state *st = st_calloc(1, sizeof *st);
    if (!st) return st_error_nomem(err);
    if ((s = att_shapes(k, st, err)) || (s = att_mask(k, st, err))) goto fail;
    const st_tensor *np = st_in(k, 6);
    if (np && (np->dtype != ST_DTYPE_I64 || np->ndim != 1 || np->dims[0] != st->b)) {
        s = st_errorf(err, ST_ERR_INVALID, "nonpad_kv_seqlen must be int64 [%lld]",
                      (long long)st->b);
        goto fail;
    }
    st->scale = st_attr_float(k->node, "scale", NAN);
    if (isnan(st->scale)) st->scale = st->d > 0 ? 1.0 / sqrt((double)st->d) : 1;
    st->softcap = st_attr_float(k->node, "softcap", 0);
    st->causal = st_attr_int(k->node, "is_causal", 0) != 0;
    int64_t mode = st_attr_int(k->node, "qk_matmul_output_mode", 0);
    if (mode < 0 || mode > 3) {
        s = st_errorf(err, ST_ERR_INVALID, "qk_matmul_output_mode must be 0-3, got %lld",
                      (long long)mode);
        goto fail;
    }
    st->mode = (int)mode;
    st->threads = ST_MAX(1, k->pool ? st_pool_threads(k->pool) : k->threads);
    st->tbuf = (size_t)(st->d + 2 * st->lt + st->dv);
    size_t total = 0, mn = st->has_mask ? st_tensor_nelem(st_in(k, 3)) : 0;
    if ((s = st_shape_nelem(4, (int64_t[]){st->b, st->hkv, st->lt, st->d}, &st->kv_k, err)) ||
        (s = st_shape_nelem(4, (int64_t[]){st->b, st->hkv, st->lt, st->dv}, &st->kv_v, err)))
        goto fail;
    total = st->kv_k + st->kv_v + (size_t)st->threads * st->tbuf + mn;
    if (!st_mul_ok(total, sizeof(double), &k->scratch_bytes)) {
        s = st_errorf(err, ST_ERR_LIMIT, "tensor too large");
        goto fail;
    }
    int64_t ydims[4] = {st->b, st->hq, st->lq, st->dv};
    if (st->q3) ydims[1] = st->lq, ydims[2] = st->hq * st->dv;
    st_out_declare(k, ATT_Y, q->dtype, st->q3 ? 3 : 4, ydims);
    if (k->n_out > ATT_PK)
        st_out_declare(k, ATT_PK, q->dtype, 4, (int64_t[]){st->b, st->hkv, st->lt, st->d});
    if (k->n_out > ATT_PV)
        st_out_declare(k, ATT_PV, q->dtype, 4, (int64_t[]){st->b, st->hkv, st->lt, st->dv});
    if (k->n_out > ATT_QK)
        st_out_declare(k, ATT_QK, q->dtype, 4, (int64_t[]){st->b, st->hq, st->lq, st->lt});
    k->state = st;
    k->run = run_attention;
    return ST_OK;
fail:
    st_free(st);
    return s;
}

/* Multiply-adds of Q K^T and of P V (2 each) and ~5 for scale, bias, softmax per score. */
double st_nn_attention_flops(const st_node *nd, const st_tinfo *in, int n_in, const st_tinfo *out,
                             int n_out) {
    (void)out, (void)n_out;
    if (n_in < 3 || in[0].kind != ST_VAL_TENSOR || in[1].kind != ST_VAL_TENSOR ||
        in[2].kind != ST_VAL_TENSOR || (in[0].ndim != 3 && in[0].ndim != 4) ||
        in[1].ndim != in[0].ndim || in[2].ndim != in[0].ndim)
        return -1;
    double b = (double)in[0].dims[0], hq, lq, d, lk, dv, lp = 0;
    if (in[0].ndim == 4) {
        hq = (double)in[0].dims[1], lq = (double)in[0].dims[2], d = (double)in[0].dims[3];
        lk = (double)in[1].dims[2], dv = (double)in[2].dims[3];
    } else {
        int64_t nq = st_attr_int(nd, "q_num_heads", 0), nkv = st_attr_int(nd, "kv_num_heads", 0);
        if (nq <= 0 || nkv <= 0) return -1;
        hq = (double)nq, lq = (double)in[0].dims[1], d = (double)in[0].dims[2] / hq;
        lk = (double)in[1].dims[1], dv = (double)in[2].dims[2] / (double)nkv;
    }
    if (n_in > 4 && in[4].kind == ST_VAL_TENSOR && in[4].ndim == 4) lp = (double)in[4].dims[2];
    double scores = b * hq * lq * (lk + lp);
    return scores * (2 * d + 2 * dv + 5);
}

/* ---- RMSNormalization -------------------------------------------------------------------
 * Y = X / sqrt(mean(X^2 over axes [axis, r)) + epsilon) * Scale (Scale broadcast into
 * those axes); Y has Scale's type. */

typedef struct rms_state {
    size_t outer, inner;
    double eps;
    int64_t sstr[ST_MAX_RANK]; /* Scale's strides over the normalized dims */
    int nin;
    int64_t idims[ST_MAX_RANK];
} rms_state;

static st_status run_rmsnorm(st_kctx *k, st_error *err) {
    const rms_state *st = k->state;
    const st_tensor *x = st_in(k, 0), *w = st_in(k, 1);
    st_tensor *y = st_out(k, 0, w->dtype, x->ndim, x->dims, err);
    if (!y) return err->status;
    double *sc = k->scratch, *row = sc + st->inner, *wd = row + st->inner;
    row_f64(w, 0, st_tensor_nelem(w), wd);
    int64_t ix[ST_MAX_RANK] = {0};
    for (size_t i = 0; i < st->inner; i++) { /* Scale broadcast to the normalized shape */
        int64_t wi = 0;
        for (int d = 0; d < st->nin; d++) wi += ix[d] * st->sstr[d];
        sc[i] = wd[wi];
        for (int d = st->nin - 1; d >= 0; d--) {
            if (++ix[d] < st->idims[d]) break;
            ix[d] = 0;
        }
    }
    for (size_t o = 0; o < st->outer; o++) {
        row_f64(x, o * st->inner, st->inner, row);
        double q = 0;
        for (size_t i = 0; i < st->inner; i++) q += row[i] * row[i];
        double inv = 1.0 / sqrt((st->inner ? q / (double)st->inner : 0) + st->eps);
        for (size_t i = 0; i < st->inner; i++) row[i] = row[i] * inv * sc[i];
        row_store(y, o * st->inner, st->inner, row);
    }
    return ST_OK;
}

st_status st_nn_prep_rmsnorm(st_kctx *k, st_error *err) {
    st_status s;
    if ((s = ST_NN_CHECK_DTYPE(k, 0, err, ST_DTYPE_F32, ST_DTYPE_F64, ST_DTYPE_F16,
                               ST_DTYPE_BF16)) ||
        (s = ST_NN_CHECK_DTYPE(k, 1, err, ST_DTYPE_F32, ST_DTYPE_F64, ST_DTYPE_F16, ST_DTYPE_BF16)))
        return s;
    const st_tensor *x = st_in(k, 0), *w = st_in(k, 1);
    if (x->ndim == 0) return st_errorf(err, ST_ERR_INVALID, "X must have rank >= 1");
    rms_state *st = st_calloc(1, sizeof *st);
    if (!st) return st_error_nomem(err);
    int axis;
    if ((s = st_norm_axis(st_attr_int(k->node, "axis", -1), x->ndim, &axis, err))) goto fail;
    st->eps = st_attr_float(k->node, "epsilon", 1e-5);
    st->nin = x->ndim - axis;
    memcpy(st->idims, x->dims + axis, (size_t)st->nin * sizeof(int64_t));
    if (w->ndim > st->nin) {
        s = st_errorf(err, ST_ERR_INVALID, "scale has rank %d, more than the normalized %d",
                      w->ndim, st->nin);
        goto fail;
    }
    for (int d = 0; d < w->ndim; d++) {
        int64_t wd = w->dims[w->ndim - 1 - d];
        if (wd != 1 && wd != st->idims[st->nin - 1 - d]) {
            s = st_errorf(err, ST_ERR_INVALID, "scale cannot broadcast to the normalized shape");
            goto fail;
        }
    }
    st_broadcast_strides(w, st->nin, st->idims, st->sstr);
    if ((s = st_shape_nelem(axis, x->dims, &st->outer, err)) ||
        (s = st_shape_nelem(st->nin, st->idims, &st->inner, err)))
        goto fail;
    size_t n = 2 * st->inner + st_tensor_nelem(w) + 1;
    if (!st_mul_ok(n, sizeof(double), &k->scratch_bytes)) {
        s = st_errorf(err, ST_ERR_LIMIT, "tensor too large");
        goto fail;
    }
    st_out_declare(k, 0, w->dtype, x->ndim, x->dims);
    k->state = st;
    k->run = run_rmsnorm;
    return ST_OK;
fail:
    st_free(st);
    return s;
}

/* ---- RotaryEmbedding ----------------------------------------------------------------------
 * X [B, H, S, D] (or 3-D [B, S, H*D] with num_heads). The first rot dims of each head
 * rotate by the cos/sin row of the position (position_ids[b, s], else (b, s)): pairs are
 * (i, i + rot/2), or (2i, 2i + 1) when interleaved; the other dims pass through. */

typedef struct rope_state {
    int64_t b, h, s, d, rot;
    bool three_d, interleaved;
    int64_t max_pos; /* rows of the caches with position_ids */
} rope_state;

static st_status run_rope(st_kctx *k, st_error *err) {
    const rope_state *st = k->state;
    const st_tensor *x = st_in(k, 0), *cc = st_in(k, 1), *sc = st_in(k, 2), *pid = st_in(k, 3);
    st_tensor *y = st_out(k, 0, x->dtype, x->ndim, x->dims, err);
    if (!y) return err->status;
    int64_t half = st->rot / 2;
    double *row = k->scratch, *c = row + st->d, *sn = c + half, *o = sn + half;
    for (int64_t b = 0; b < st->b; b++)
        for (int64_t p = 0; p < st->s; p++) {
            size_t cr = (size_t)(b * st->s + p);
            if (pid) {
                int64_t v = ((const int64_t *)pid->data)[cr];
                if (v < 0 || v >= st->max_pos)
                    return ST_KERR(err, ST_ERR_INVALID, "position id %lld is outside [0, %lld)",
                                   (long long)v, (long long)st->max_pos);
                cr = (size_t)v;
            }
            row_f64(cc, cr * (size_t)half, (size_t)half, c);
            row_f64(sc, cr * (size_t)half, (size_t)half, sn);
            for (int64_t h = 0; h < st->h; h++) {
                size_t off = att_row(st->three_d, b, h, p, st->h, st->s, st->d);
                row_f64(x, off, (size_t)st->d, row);
                memcpy(o, row, (size_t)st->d * sizeof *o);
                for (int64_t i = 0; i < half; i++) {
                    int64_t i1 = st->interleaved ? 2 * i : i;
                    int64_t i2 = st->interleaved ? 2 * i + 1 : i + half;
                    o[i1] = c[i] * row[i1] - sn[i] * row[i2];
                    o[i2] = sn[i] * row[i1] + c[i] * row[i2];
                }
                row_store(y, off, (size_t)st->d, o);
            }
        }
    return ST_OK;
}

st_status st_nn_prep_rope(st_kctx *k, st_error *err) {
    st_status s;
    if ((s = ST_NN_CHECK_DTYPE(k, 0, err, ST_DTYPE_F32, ST_DTYPE_F64, ST_DTYPE_F16, ST_DTYPE_BF16)))
        return s;
    const st_tensor *x = st_in(k, 0), *cc = st_in(k, 1), *sc = st_in(k, 2), *pid = st_in(k, 3);
    if (!cc || !sc || cc->dtype != x->dtype || sc->dtype != x->dtype)
        return st_errorf(err, ST_ERR_INVALID, "cos_cache and sin_cache must have X's type");
    rope_state st = {.interleaved = st_attr_int(k->node, "interleaved", 0) != 0};
    if (x->ndim == 4) {
        st.b = x->dims[0], st.h = x->dims[1], st.s = x->dims[2], st.d = x->dims[3];
    } else if (x->ndim == 3) {
        st.three_d = true;
        st.h = st_attr_int(k->node, "num_heads", 0);
        if (st.h <= 0 || x->dims[2] % st.h)
            return st_errorf(err, ST_ERR_INVALID, "3-D X needs num_heads dividing its hidden size");
        st.b = x->dims[0], st.s = x->dims[1], st.d = x->dims[2] / st.h;
    } else {
        return st_errorf(err, ST_ERR_INVALID, "X must be 3-D or 4-D, has rank %d", x->ndim);
    }
    st.rot = st_attr_int(k->node, "rotary_embedding_dim", 0);
    if (st.rot == 0) st.rot = st.d;
    if (st.rot < 0 || st.rot > st.d || st.rot % 2)
        return st_errorf(err, ST_ERR_INVALID, "rotary_embedding_dim %lld must be even and <= %lld",
                         (long long)st.rot, (long long)st.d);
    int64_t half = st.rot / 2;
    if (pid) {
        if (pid->dtype != ST_DTYPE_I64 || pid->ndim != 2 || pid->dims[0] != st.b ||
            pid->dims[1] != st.s || cc->ndim != 2 || cc->dims[1] != half || sc->ndim != 2 ||
            sc->dims[0] != cc->dims[0] || sc->dims[1] != half)
            return st_errorf(err, ST_ERR_INVALID,
                             "position_ids must be int64 [B, S] and the "
                             "caches [max_position, %lld]",
                             (long long)half);
        st.max_pos = cc->dims[0];
    } else if (cc->ndim != 3 || cc->dims[0] != st.b || cc->dims[1] != st.s || cc->dims[2] != half ||
               sc->ndim != 3 || memcmp(sc->dims, cc->dims, 3 * sizeof(int64_t))) {
        return st_errorf(err, ST_ERR_INVALID,
                         "without position_ids the caches must be [%lld, "
                         "%lld, %lld]",
                         (long long)st.b, (long long)st.s, (long long)half);
    }
    rope_state *p = st_malloc(sizeof *p);
    if (!p) return st_error_nomem(err);
    *p = st;
    k->scratch_bytes = (size_t)(2 * st.d + st.rot + 1) * sizeof(double);
    st_out_declare(k, 0, x->dtype, x->ndim, x->dims);
    k->state = p;
    k->run = run_rope;
    return ST_OK;
}
