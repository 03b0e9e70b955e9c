/* runtime/ops/nn_einsum.c: Einsum with explicit or implicit output, ellipsis broadcasting
 * and repeated labels (diagonals). The equation becomes, for every operand, a stride per
 * label; the kernel walks output labels outside and summed labels inside. It is exact but
 * not blocked: models with heavy contractions should use MatMul. */
#include <string.h>

#include "nn_impl.h"

#define EIN_MAXL (52 + ST_MAX_RANK) /* letters a-z A-Z, then ellipsis dims */
#define EIN_MAXIN 16

typedef struct ein_state {
    int nin;
    int nout, nsum;                 /* output labels, summed labels */
    int64_t osize[ST_MAX_RANK * 2]; /* sizes of output labels */
    int64_t ssize[EIN_MAXL];        /* sizes of summed labels */
    int64_t ostr[EIN_MAXIN][ST_MAX_RANK * 2];
    int64_t sstr[EIN_MAXIN][EIN_MAXL];
    size_t out_vol, sum_vol;
    st_dtype dt;
    size_t nx[EIN_MAXIN]; /* elements per input (half types convert) */
    const void *in[EIN_MAXIN];
    void *y;
} ein_state;

static int label_id(char c) {
    if (c >= 'a' && c <= 'z') return c - 'a';
    if (c >= 'A' && c <= 'Z') return 26 + (c - 'A');
    return -1;
}

#define EIN_TYPES(X)                                                                            \
    X(f32, ST_DTYPE_F32, float, double)                                                         \
    X(f64, ST_DTYPE_F64, double, double) X(i8, ST_DTYPE_I8, int8_t, int64_t)                    \
        X(u8, ST_DTYPE_U8, uint8_t, uint64_t) X(i16, ST_DTYPE_I16, int16_t, int64_t)            \
            X(u16, ST_DTYPE_U16, uint16_t, uint64_t) X(i32, ST_DTYPE_I32, int32_t, int64_t)     \
                X(u32, ST_DTYPE_U32, uint32_t, uint64_t) X(i64, ST_DTYPE_I64, int64_t, int64_t) \
                    X(u64, ST_DTYPE_U64, uint64_t, uint64_t)

/* Output elements [o0, o1): each is the sum over summed labels of the operands' product. */
#define EIN_BODY(name, E, T, ACC)                                                              \
    static void ein_body_##name(void *arg, size_t o0, size_t o1) {                             \
        const ein_state *st = arg;                                                             \
        for (size_t o = o0; o < o1; o++) {                                                     \
            int64_t base[EIN_MAXIN] = {0};                                                     \
            size_t rem = o;                                                                    \
            for (int j = st->nout - 1; j >= 0; j--) {                                          \
                int64_t c = (int64_t)(rem % (size_t)st->osize[j]);                             \
                rem /= (size_t)st->osize[j];                                                   \
                for (int i = 0; i < st->nin; i++) base[i] += c * st->ostr[i][j];               \
            }                                                                                  \
            ACC acc = 0;                                                                       \
            int64_t sc[EIN_MAXL] = {0}, off[EIN_MAXIN];                                        \
            for (int i = 0; i < st->nin; i++) off[i] = base[i];                                \
            for (size_t s = 0; s < st->sum_vol; s++) {                                         \
                ACC p = 1;                                                                     \
                for (int i = 0; i < st->nin; i++) p *= (ACC)((const T *)st->in[i])[off[i]];    \
                acc += p;                                                                      \
                for (int j = st->nsum - 1; j >= 0; j--) { /* odometer with offsets */          \
                    for (int i = 0; i < st->nin; i++) off[i] += st->sstr[i][j];                \
                    if (++sc[j] < st->ssize[j]) break;                                         \
                    for (int i = 0; i < st->nin; i++) off[i] -= st->sstr[i][j] * st->ssize[j]; \
                    sc[j] = 0;                                                                 \
                }                                                                              \
            }                                                                                  \
            ((T *)st->y)[o] = (T)acc;                                                          \
        }                                                                                      \
    }
EIN_TYPES(EIN_BODY)

static st_status run_einsum(st_kctx *k, st_error *err) {
    ein_state *st = k->state;
    st_tensor *y = st_out(k, 0, st->dt, st->nout, st->osize, err);
    if (!y) return err->status;
    if (!st->out_vol) return ST_OK;
    st_dtype cdt = st->dt;
    if (st_nn_is_half(st->dt)) {
        float *p = k->scratch;
        for (int i = 0; i < st->nin; i++) {
            st_nn_to_f32(st->dt, st_in(k, i)->data, p, st->nx[i]);
            st->in[i] = p;
            p += st->nx[i];
        }
        st->y = p;
        cdt = ST_DTYPE_F32;
    } else {
        for (int i = 0; i < st->nin; i++) st->in[i] = st_in(k, i)->data;
        st->y = y->data;
    }
    size_t grain = ST_MAX((size_t)1, 16384 / (st->sum_vol + 1));
    switch (cdt) {
#define EIN_CASE_(name, E, T, ACC) \
    case E: st_parallel_for(k->pool, st->out_vol, grain, ein_body_##name, st); break;
        EIN_TYPES(EIN_CASE_)
#undef EIN_CASE_
    default: break;
    }
    if (cdt != st->dt) st_nn_from_f32(st->dt, st->y, y->data, st->out_vol);
    return ST_OK;
}

/* The equation as prepare reads it: each operand's term, its labels per dim and what is
 * known about each label. Ellipsis dims get labels 52.. (right-aligned across operands). */
typedef struct ein_parse {
    const char *eq;
    const char *terms[EIN_MAXIN];
    size_t tlen[EIN_MAXIN];
    int ell_of[EIN_MAXIN], ell_rank; /* ellipsis rank per operand, and the largest */
    int lab[EIN_MAXIN][ST_MAX_RANK]; /* label of each operand dim */
    int count[EIN_MAXL];             /* dims carrying the label, over all operands */
    int64_t size[EIN_MAXL];          /* its extent (-1 unseen; 1 broadcasts) */
    int out[ST_MAX_RANK * 2], nout;  /* output labels in order */
    bool in_out[EIN_MAXL];
    const char *rest; /* after the input terms: "->..." or "" */
} ein_parse;

/* Pass 1: split the input terms, check their characters and each operand's type, and find
 * each operand's ellipsis rank. */
static st_status ein_split_terms(const st_kctx *k, const ein_state *st, ein_parse *ps,
                                 st_error *err) {
    const char *p = ps->eq;
    for (int i = 0; i < st->nin; i++) {
        while (*p == ' ') p++;
        ps->terms[i] = p;
        while (*p && *p != ',' && *p != '-') p++;
        ps->tlen[i] = (size_t)(p - ps->terms[i]);
        const st_tensor *t = st_in(k, i);
        if (!t || t->dtype != st->dt)
            return st_errorf(err, ST_ERR_INVALID, "operand %d is missing or has another type", i);
        int letters = 0, dots = 0;
        for (size_t j = 0; j < ps->tlen[i]; j++) {
            char c = ps->terms[i][j];
            if (label_id(c) >= 0) letters++;
            else if (c == '.') dots++;
            else if (c != ' ')
                return st_errorf(err, ST_ERR_INVALID, "bad character '%c' in equation", c);
        }
        if (dots != 0 && dots != 3)
            return st_errorf(err, ST_ERR_INVALID, "malformed ellipsis in equation \"%s\"", ps->eq);
        int er = t->ndim - letters;
        if ((dots == 0 && er != 0) || er < 0)
            return st_errorf(err, ST_ERR_INVALID, "term %d of \"%s\" does not match rank %d", i,
                             ps->eq, t->ndim);
        ps->ell_of[i] = er;
        if (er > ps->ell_rank) ps->ell_rank = er;
        if (i + 1 < st->nin) {
            if (*p != ',')
                return st_errorf(err, ST_ERR_INVALID, "equation has fewer terms than the %d inputs",
                                 st->nin);
            p++;
        }
    }
    while (*p == ' ') p++;
    if (*p && !(p[0] == '-' && p[1] == '>'))
        return st_errorf(err, ST_ERR_INVALID, "equation has more terms than the %d inputs",
                         st->nin);
    ps->rest = p;
    return ST_OK;
}

/* Pass 2: every operand dim's label, and each label's extent (1 broadcasts). */
static st_status ein_label_sizes(const st_kctx *k, int nin, ein_parse *ps, st_error *err) {
    for (int l = 0; l < EIN_MAXL; l++) ps->size[l] = -1;
    for (int i = 0; i < nin; i++) {
        const st_tensor *t = st_in(k, i);
        int d = 0;
        for (size_t j = 0; j < ps->tlen[i]; j++) {
            char c = ps->terms[i][j];
            if (c == '.') {
                if (ps->terms[i][j + 1] == '.') continue;
                for (int e = 0; e < ps->ell_of[i]; e++)
                    ps->lab[i][d++] = 52 + (ps->ell_rank - ps->ell_of[i]) + e;
                continue;
            }
            int l = label_id(c);
            if (l >= 0) ps->lab[i][d++] = l;
        }
        for (d = 0; d < t->ndim; d++) {
            int l = ps->lab[i][d];
            int64_t n = t->dims[d];
            ps->count[l]++;
            if (ps->size[l] < 0 || ps->size[l] == 1) ps->size[l] = n;
            else if (n != ps->size[l] && n != 1)
                return st_errorf(err, ST_ERR_INVALID, "label dimension mismatch: %lld vs %lld",
                                 (long long)n, (long long)ps->size[l]);
        }
    }
    return ST_OK;
}

static void ein_add_out(ein_parse *ps, int l) {
    ps->out[ps->nout++] = l;
    ps->in_out[l] = true;
}

/* The output labels: as written after "->", else the ellipsis dims then every label that
 * occurs once, in ASCII order (uppercase before lowercase). */
static st_status ein_output_labels(ein_parse *ps, st_error *err) {
    const char *p = ps->rest;
    if (p[0] == '-') {
        for (p += 2; *p; p++) {
            if (*p == ' ') continue;
            if (*p == '.') {
                if (p[1] != '.' || p[2] != '.')
                    return st_errorf(err, ST_ERR_INVALID, "malformed ellipsis in output");
                p += 2;
                for (int e = 0; e < ps->ell_rank; e++) ein_add_out(ps, 52 + e);
                continue;
            }
            int l = label_id(*p);
            if (l < 0 || !ps->count[l] || ps->in_out[l] || ps->nout >= ST_MAX_RANK)
                return st_errorf(err, ST_ERR_INVALID, "bad output label '%c'", *p);
            ein_add_out(ps, l);
        }
    } else {
        for (int e = 0; e < ps->ell_rank; e++) ein_add_out(ps, 52 + e);
        for (int pass = 0; pass < 2; pass++)
            for (int l = pass ? 0 : 26; l < (pass ? 26 : 52); l++)
                if (ps->count[l] == 1) {
                    if (ps->nout >= ST_MAX_RANK)
                        return st_errorf(err, ST_ERR_LIMIT, "output rank too large");
                    ein_add_out(ps, l);
                }
    }
    if (ps->nout > ST_MAX_RANK)
        return st_errorf(err, ST_ERR_LIMIT, "output rank %d too large", ps->nout);
    return ST_OK;
}

/* Output and summed label sizes, and each operand's stride per label: a label's stride
 * sums over its positions (diagonals); broadcast dims stride 0. */
static st_status ein_strides(const st_kctx *k, ein_state *st, const ein_parse *ps, st_error *err) {
    st_status s;
    st->nout = ps->nout;
    for (int j = 0; j < ps->nout; j++)
        st->osize[j] = ps->size[ps->out[j]] < 0 ? 1 : ps->size[ps->out[j]];
    int sum_l[EIN_MAXL];
    st->nsum = 0;
    for (int l = 0; l < EIN_MAXL; l++)
        if (ps->count[l] && !ps->in_out[l]) {
            sum_l[st->nsum] = l;
            st->ssize[st->nsum++] = ps->size[l];
        }
    for (int i = 0; i < st->nin; i++) {
        const st_tensor *t = st_in(k, i);
        int64_t cs[ST_MAX_RANK];
        st_contig_strides(t->ndim, t->dims, cs);
        for (int d = 0; d < t->ndim; d++) {
            int l = ps->lab[i][d];
            if (t->dims[d] == 1 && ps->size[l] != 1) continue;
            for (int j = 0; j < ps->nout; j++)
                if (ps->out[j] == l) st->ostr[i][j] += cs[d];
            for (int j = 0; j < st->nsum; j++)
                if (sum_l[j] == l) st->sstr[i][j] += cs[d];
        }
        if ((s = st_shape_nelem(t->ndim, t->dims, &st->nx[i], err))) return s;
    }
    if ((s = st_shape_nelem(st->nout, st->osize, &st->out_vol, err))) return s;
    return st_shape_nelem(st->nsum, st->ssize, &st->sum_vol, err);
}

/* Half types compute in float32: scratch holds every operand and the output converted. */
static st_status ein_half_scratch(st_kctx *k, const ein_state *st, st_error *err) {
    if (!st_nn_is_half(st->dt)) return ST_OK;
    size_t n = st->out_vol, bytes;
    for (int i = 0; i < st->nin; i++)
        if (!st_add_ok(n, st->nx[i], &n)) return st_errorf(err, ST_ERR_LIMIT, "Einsum too large");
    if (!st_mul_ok(n, sizeof(float), &bytes))
        return st_errorf(err, ST_ERR_LIMIT, "Einsum too large");
    k->scratch_bytes = bytes;
    return ST_OK;
}

st_status st_nn_prep_einsum(st_kctx *k, st_error *err) {
    st_status s = ST_OK;
    const char *eq = st_attr_string(k->node, "equation", NULL);
    if (!eq) return st_errorf(err, ST_ERR_INVALID, "equation is required");
    if (k->n_in < 1 || k->n_in > EIN_MAXIN)
        return st_errorf(err, ST_ERR_UNSUPPORTED, "Einsum with %d operands", k->n_in);
    if ((s = ST_NN_CHECK_DTYPE(k, 0, err, ST_DTYPE_F32, ST_DTYPE_F64, ST_DTYPE_F16, ST_DTYPE_BF16,
                               ST_DTYPE_I8, ST_DTYPE_U8, ST_DTYPE_I16, ST_DTYPE_U16, ST_DTYPE_I32,
                               ST_DTYPE_U32, ST_DTYPE_I64, ST_DTYPE_U64)))
        return s;
    ein_state *st = st_calloc(1, sizeof *st);
    ein_parse *ps = st_calloc(1, sizeof *ps);
    if (!st || !ps) {
        s = st_error_nomem(err);
        goto fail;
    }
    st->nin = k->n_in;
    st->dt = st_in(k, 0)->dtype;
    ps->eq = eq;
    if ((s = ein_split_terms(k, st, ps, err)) || (s = ein_label_sizes(k, st->nin, ps, err)) ||
        (s = ein_output_labels(ps, err)) || (s = ein_strides(k, st, ps, err)) ||
        (s = ein_half_scratch(k, st, err)))
        goto fail;
    st_free(ps);
    st_out_declare(k, 0, st->dt, st->nout, st->osize);
    k->state = st;
    k->run = run_einsum;
    return ST_OK;
fail:
    st_free(ps);
    st_free(st);
    return s;
}
