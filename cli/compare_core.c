/* cli/compare_core.c: run models for a comparison and measure output differences; shared
 * by `stele compare` and `stele convert`'s verification. Printing of reports lives in
 * cmd_compare.c; this file only prints errors. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "compare.h"

void cmp_side_clear(cmp_side *sd) {
    st_values_free(sd->vals, sd->n);
    if (sd->names)
        for (size_t i = 0; i < sd->n; i++) free(sd->names[i]);
    free(sd->names);
    st_session_free(sd->s);
    st_model_free(sd->m);
    sd->vals = NULL;
    sd->names = NULL;
    sd->s = NULL;
    sd->m = NULL;
    sd->n = 0;
}

int cmp_side_load(cmp_side *sd, bool keep, int threads) {
    st_error err;
    if (st_model_load(sd->path, NULL, &sd->m, &err)) return cli_fail("%s", err.msg);
    st_session_opts so = st_session_opts_default();
    so.threads = threads;
    so.keep_intermediates = keep;
    if (st_session_new(sd->m, &so, &sd->s, &err)) return cli_fail("%s: %s", sd->path, err.msg);
    return EXIT_OK;
}

/* A copy of tensor x converted to dtype (numeric types only). */
static int convert_input(const st_tensor *x, st_dtype dtype, st_tensor *out, const char *what) {
    st_error err;
    if (x->dtype == ST_DTYPE_STRING || dtype == ST_DTYPE_STRING || dtype == ST_DTYPE_C64 ||
        dtype == ST_DTYPE_C128 || x->dtype == ST_DTYPE_C64 || x->dtype == ST_DTYPE_C128)
        return cli_fail("%s: expects %s, the inputs are %s", what, st_dtype_name(dtype),
                        st_dtype_name(x->dtype));
    if (st_tensor_alloc(out, dtype, x->ndim, x->dims, &err))
        return cli_fail("%s: %s", what, err.msg);
    size_t n = st_tensor_nelem(x);
    /* through double: exact for every value random or file inputs hold in practice */
    for (size_t i = 0; i < n; i++) {
        double v;
        switch (x->dtype) {
#define GET(E, T) \
    case E: v = (double)((const T *)x->data)[i]; break;
            GET(ST_DTYPE_F32, float)
            GET(ST_DTYPE_F64, double) GET(ST_DTYPE_I8, int8_t) GET(ST_DTYPE_I16, int16_t)
                GET(ST_DTYPE_I32, int32_t) GET(ST_DTYPE_I64, int64_t) GET(ST_DTYPE_U8, uint8_t)
                    GET(ST_DTYPE_U16, uint16_t) GET(ST_DTYPE_U32, uint32_t)
                        GET(ST_DTYPE_U64, uint64_t) GET(ST_DTYPE_BOOL, uint8_t)
#undef GET
                            default : st_tensor_clear(out);
            return cli_fail("%s: expects %s, the inputs are %s", what, st_dtype_name(dtype),
                            st_dtype_name(x->dtype));
        }
        switch (dtype) {
#define SET(E, T) \
    case E: ((T *)out->data)[i] = (T)v; break;
            SET(ST_DTYPE_F32, float)
            SET(ST_DTYPE_F64, double) SET(ST_DTYPE_I8, int8_t) SET(ST_DTYPE_I16, int16_t)
                SET(ST_DTYPE_I32, int32_t) SET(ST_DTYPE_I64, int64_t) SET(ST_DTYPE_U8, uint8_t)
                    SET(ST_DTYPE_U16, uint16_t) SET(ST_DTYPE_U32, uint32_t)
                        SET(ST_DTYPE_U64, uint64_t)
#undef SET
                            case ST_DTYPE_BOOL : ((uint8_t *)out->data)[i] = v != 0;
            break;
        default:
            st_tensor_clear(out);
            return cli_fail("%s: expects %s, the inputs are %s", what, st_dtype_name(dtype),
                            st_dtype_name(x->dtype));
        }
    }
    return EXIT_OK;
}

int cmp_side_run(cmp_side *sd, size_t n_in, const char *const *in_names, const st_value *ins) {
    size_t nm = st_model_n_inputs(sd->m);
    st_value *feed = calloc(nm ? nm : 1, sizeof *feed);
    st_tensor *conv = calloc(nm ? nm : 1, sizeof *conv); /* converted copies we own */
    const char **names = calloc(nm ? nm : 1, sizeof *names);
    size_t nf = 0;
    int rc = EXIT_OK;
    st_error err;
    if (!feed || !conv || !names) {
        rc = cli_fail("out of memory");
        goto done;
    }
    /* by name when every model input is among the given names, else by position */
    bool by_name = true;
    for (size_t i = 0; i < nm && by_name; i++) {
        st_value_info vi;
        st_model_input(sd->m, i, &vi);
        bool found = false;
        for (size_t j = 0; j < n_in && !found; j++)
            found = in_names[j] && !strcmp(in_names[j], vi.name);
        by_name = found;
    }
    for (size_t i = 0; i < nm; i++) {
        st_value_info vi;
        st_model_input(sd->m, i, &vi);
        size_t j = n_in;
        if (by_name) {
            for (j = 0; j < n_in; j++)
                if (in_names[j] && !strcmp(in_names[j], vi.name)) break;
        } else if (i < n_in) {
            j = i;
        }
        if (j >= n_in) continue; /* left out: must be optional; the session says otherwise */
        feed[nf] = ins[j];       /* a shallow copy: the run only borrows it */
        if (ins[j].kind == ST_VAL_TENSOR && vi.dtype && ins[j].tensor.dtype != vi.dtype) {
            char what[512];
            snprintf(what, sizeof what, "%s: input '%s'", sd->path, vi.name);
            if ((rc = convert_input(&ins[j].tensor, vi.dtype, &conv[i], what))) goto done;
            feed[nf].tensor = conv[i];
        }
        names[nf++] = vi.name;
    }
    st_value *outs;
    if (st_session_run(sd->s, nf, names, feed, &outs, &err)) {
        rc = cli_fail("%s: %s", sd->path, err.msg);
        goto done;
    }
    st_values_free(sd->vals, sd->n);
    if (sd->names)
        for (size_t i = 0; i < sd->n; i++) free(sd->names[i]);
    free(sd->names);
    sd->n = st_session_n_outputs(sd->s);
    sd->vals = outs;
    sd->names = calloc(sd->n ? sd->n : 1, sizeof *sd->names);
    if (!sd->names) {
        rc = cli_fail("out of memory");
        goto done;
    }
    for (size_t i = 0; i < sd->n; i++) sd->names[i] = strdup(st_session_output_name(sd->s, i));
done:
    if (conv)
        for (size_t i = 0; i < nm; i++) st_tensor_clear(&conv[i]);
    free(conv);
    free(feed);
    free(names);
    return rc;
}

void cmp_value_desc(const st_value *v, char *buf, size_t n) {
    if (v->kind == ST_VAL_NONE) {
        snprintf(buf, n, "none");
        return;
    }
    if (v->kind == ST_VAL_SEQUENCE) {
        snprintf(buf, n, "sequence<%s>(%zu)",
                 st_dtype_name(v->nseq ? v->seq[0].dtype : v->elem_dtype), v->nseq);
        return;
    }
    const st_tensor *t = &v->tensor;
    int off = snprintf(buf, n, "%s[", st_dtype_name(t->dtype));
    for (int d = 0; d < t->ndim && off > 0 && (size_t)off < n; d++)
        off += snprintf(buf + off, n - (size_t)off, "%s%" PRId64, d ? "," : "", t->dims[d]);
    if (off > 0 && (size_t)off < n) snprintf(buf + off, n - (size_t)off, "]");
}

static void index_str(const st_tensor *t, size_t flat, char *buf, size_t n) {
    int64_t idx[ST_MAX_RANK];
    if (t->dtype == ST_DTYPE_C64 || t->dtype == ST_DTYPE_C128) flat /= 2;
    for (int d = t->ndim - 1; d >= 0; d--) {
        int64_t ext = t->dims[d] > 0 ? t->dims[d] : 1;
        idx[d] = (int64_t)(flat % (size_t)ext);
        flat /= (size_t)ext;
    }
    int off = snprintf(buf, n, "[");
    for (int d = 0; d < t->ndim && off > 0 && (size_t)off < n; d++)
        off += snprintf(buf + off, n - (size_t)off, "%s%" PRId64, d ? "," : "", idx[d]);
    if (off > 0 && (size_t)off < n) snprintf(buf + off, n - (size_t)off, "]");
}

static void cmp_tensors(const st_tensor *a, const st_tensor *b, double atol, double rtol,
                        cmp_pair *p) {
    st_tensor_compare(a, b, atol, rtol, &p->st, NULL);
    p->ok = st_compare_ok(&p->st);
    p->worst_at[0] = 0;
    if (!p->st.shape_mismatch && p->st.n)
        index_str(a, p->st.worst, p->worst_at, sizeof p->worst_at);
}

void cmp_values(const st_value *a, const st_value *b, double atol, double rtol, cmp_pair *p) {
    cmp_value_desc(a, p->a_desc, sizeof p->a_desc);
    cmp_value_desc(b, p->b_desc, sizeof p->b_desc);
    memset(&p->st, 0, sizeof p->st);
    p->missing = false;
    p->note[0] = 0;
    p->worst_at[0] = 0;
    if (a->kind != b->kind) {
        p->missing = true;
        p->ok = false;
        snprintf(p->note, sizeof p->note, "kinds differ: %s vs %s", p->a_desc, p->b_desc);
        return;
    }
    if (a->kind == ST_VAL_NONE) {
        p->ok = true;
        p->st.cosine = 1;
        return;
    }
    if (a->kind == ST_VAL_TENSOR) {
        cmp_tensors(&a->tensor, &b->tensor, atol, rtol, p);
        return;
    }
    if (a->nseq != b->nseq) {
        p->missing = true;
        p->ok = false;
        snprintf(p->note, sizeof p->note, "sequence lengths differ: %zu vs %zu", a->nseq, b->nseq);
        return;
    }
    /* sequences: accumulate over elements; the worst element is reported */
    st_compare_stats acc;
    memset(&acc, 0, sizeof acc);
    acc.cosine = 1;
    double sum = 0;
    p->ok = true;
    for (size_t k = 0; k < a->nseq; k++) {
        cmp_pair e;
        cmp_tensors(&a->seq[k], &b->seq[k], atol, rtol, &e);
        acc.dtype_mismatch |= e.st.dtype_mismatch;
        acc.shape_mismatch |= e.st.shape_mismatch;
        acc.n += e.st.n;
        acc.n_outside += e.st.n_outside;
        acc.nan_mismatch += e.st.nan_mismatch;
        acc.inf_mismatch += e.st.inf_mismatch;
        if (e.st.max_rel > acc.max_rel) acc.max_rel = e.st.max_rel;
        if (e.st.cosine < acc.cosine) acc.cosine = e.st.cosine;
        sum += e.st.mean_abs * (double)e.st.n;
        if (k == 0 || e.st.max_abs > acc.max_abs) {
            acc.max_abs = e.st.max_abs;
            acc.worst = e.st.worst;
            acc.worst_a = e.st.worst_a;
            acc.worst_b = e.st.worst_b;
            snprintf(p->worst_at, sizeof p->worst_at, "{%zu}%.80s", k, e.worst_at);
        }
        p->ok &= e.ok;
    }
    acc.mean_abs = acc.n ? sum / (double)acc.n : 0;
    p->st = acc;
}

static bool all_named_in(const cmp_side *x, const cmp_side *y) {
    for (size_t i = 0; i < x->n; i++) {
        bool found = false;
        for (size_t j = 0; j < y->n && !found; j++) found = !strcmp(x->names[i], y->names[j]);
        if (!found) return false;
    }
    return x->n > 0;
}

int cmp_sides(const cmp_side *a, const cmp_side *b, double atol, double rtol, cmp_result *out) {
    size_t n = a->n + b->n;
    cmp_pair *pairs = calloc(n ? n : 1, sizeof *pairs);
    bool *used = calloc(b->n ? b->n : 1, sizeof *used);
    if (!pairs || !used) {
        free(pairs);
        free(used);
        return cli_fail("out of memory");
    }
    /* by name when one side's names are all found on the other, else by position */
    bool by_name = all_named_in(a, b) || all_named_in(b, a);
    bool ok = true;
    size_t k = 0;
    for (size_t i = 0; i < a->n; i++, k++) {
        cmp_pair *p = &pairs[k];
        snprintf(p->name, sizeof p->name, "%s", a->names[i]);
        size_t j = i;
        if (by_name)
            for (j = 0; j < b->n && strcmp(a->names[i], b->names[j]); j++) {
            }
        if (j >= b->n) {
            p->missing = true;
            p->ok = false;
            cmp_value_desc(&a->vals[i], p->a_desc, sizeof p->a_desc);
            snprintf(p->note, sizeof p->note, "no counterpart in %s", b->path);
        } else {
            used[j] = true;
            snprintf(p->ref_name, sizeof p->ref_name, "%s", b->names[j]);
            cmp_values(&a->vals[i], &b->vals[j], atol, rtol, p);
        }
        ok &= p->ok;
    }
    for (size_t j = 0; j < b->n; j++) {
        if (used[j]) continue;
        cmp_pair *p = &pairs[k++];
        snprintf(p->ref_name, sizeof p->ref_name, "%s", b->names[j]);
        cmp_value_desc(&b->vals[j], p->b_desc, sizeof p->b_desc);
        p->missing = true;
        p->ok = false;
        snprintf(p->note, sizeof p->note, "no counterpart in %s", a->path);
        ok = false;
    }
    free(used);
    out->n = k;
    out->pairs = pairs;
    out->ok = ok;
    return EXIT_OK;
}

void cmp_result_free(cmp_result *r) {
    free(r->pairs);
    r->pairs = NULL;
    r->n = 0;
}
