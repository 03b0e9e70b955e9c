/* runtime/ops/misc_text.c: the string kernels of the misc family: StringNormalizer,
 * TfIdfVectorizer, StringConcat, StringSplit and RegexFullMatch (on PCRE2, limited to RE2's
 * syntax). No locale state and no hand-written regex engine.
 *
 * Case mapping is a fixed table over UTF-8, independent of the C library's locale (no
 * setlocale, so sessions never disturb each other): ASCII, Latin-1 Supplement, Latin
 * Extended-A, basic Greek and basic Cyrillic, with one-to-one simple mappings (so 'ß'
 * keeps its case). The `locale` attribute is honoured for Turkish and Azerbaijani ("tr",
 * "az", with any region/encoding suffix): there 'i' uppercases to 'İ' and 'I' lowercases
 * to 'ı'. Every other locale uses the default mapping. Bytes that are not valid UTF-8 are
 * copied unchanged. */
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "misc_impl.h"

/* ---- UTF-8 case mapping ----------------------------------------------------------- */
/* Decode one code point at s (n bytes left); *len gets its byte length. Returns -1 for
 * an invalid sequence (then *len = 1 and the byte is copied as is). */
static int32_t utf8_decode(const unsigned char *s, size_t n, size_t *len) {
    unsigned c = s[0];
    int need;
    uint32_t cp;
    if (c < 0x80) {
        *len = 1;
        return (int32_t)c;
    } else if ((c & 0xE0) == 0xC0) {
        need = 1;
        cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
        need = 2;
        cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
        need = 3;
        cp = c & 0x07;
    } else {
        *len = 1;
        return -1;
    }
    if ((size_t)need >= n) {
        *len = 1;
        return -1;
    }
    for (int i = 1; i <= need; i++) {
        if ((s[i] & 0xC0) != 0x80) {
            *len = 1;
            return -1;
        }
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    static const uint32_t min_cp[4] = {0, 0x80, 0x800, 0x10000};
    if (cp < min_cp[need] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
        *len = 1;
        return -1;
    }
    *len = (size_t)need + 1;
    return (int32_t)cp;
}

static size_t utf8_encode(uint32_t cp, char *o) {
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    } else if (cp < 0x800) {
        o[0] = (char)(0xC0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    } else if (cp < 0x10000) {
        o[0] = (char)(0xE0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | (cp >> 18));
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

static uint32_t cp_lower(uint32_t c, bool turkic) {
    if (c < 0x80) {
        if (turkic && c == 'I') return 0x131;
        return (c >= 'A' && c <= 'Z') ? c + 32 : c;
    }
    if (c >= 0xC0 && c <= 0xDE && c != 0xD7) return c + 32;
    if (c == 0x130) return 'i'; /* İ */
    if ((c >= 0x100 && c <= 0x137) || (c >= 0x14A && c <= 0x177)) return (c & 1) ? c : c + 1;
    if ((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17E)) return (c & 1) ? c + 1 : c;
    if (c == 0x178) return 0xFF; /* Ÿ */
    if (c >= 0x391 && c <= 0x3A9 && c != 0x3A2) return c + 32;
    if (c >= 0x410 && c <= 0x42F) return c + 32;
    if (c >= 0x400 && c <= 0x40F) return c + 80;
    return c;
}

static uint32_t cp_upper(uint32_t c, bool turkic) {
    if (c < 0x80) {
        if (turkic && c == 'i') return 0x130;
        return (c >= 'a' && c <= 'z') ? c - 32 : c;
    }
    if (c >= 0xE0 && c <= 0xFE && c != 0xF7) return c - 32;
    if (c == 0xFF) return 0x178;
    if (c == 0xB5) return 0x39C; /* micro sign */
    if (c == 0x131) return 'I';  /* ı */
    if (c == 0x17F) return 'S';  /* long s */
    if ((c >= 0x101 && c <= 0x137) || (c >= 0x14B && c <= 0x177)) return (c & 1) ? c - 1 : c;
    if ((c >= 0x13A && c <= 0x148) || (c >= 0x17A && c <= 0x17E)) return (c & 1) ? c : c - 1;
    if (c == 0x3C2) return 0x3A3; /* final sigma */
    if (c >= 0x3B1 && c <= 0x3C9) return c - 32;
    if (c >= 0x430 && c <= 0x44F) return c - 32;
    if (c >= 0x450 && c <= 0x45F) return c - 80;
    return c;
}

typedef enum { CASE_NONE, CASE_LOWER, CASE_UPPER } case_action;

/* Map s (n bytes) into out, which holds at least 2n + 1 bytes; returns the new length. */
static size_t case_map(const char *s, size_t n, case_action a, bool turkic, char *out) {
    const unsigned char *u = (const unsigned char *)s;
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        size_t len;
        int32_t cp = utf8_decode(u + i, n - i, &len);
        if (cp < 0 || a == CASE_NONE) {
            memcpy(out + o, s + i, len);
            o += len;
        } else {
            uint32_t m =
                a == CASE_LOWER ? cp_lower((uint32_t)cp, turkic) : cp_upper((uint32_t)cp, turkic);
            o += utf8_encode(m, out + o);
        }
        i += len;
    }
    out[o] = 0;
    return o;
}

/* ---- StringNormalizer -------------------------------------------------------------- */
typedef struct strnorm_state {
    case_action action;
    bool case_sensitive, turkic;
    size_t n_stop;
    st_str *stop; /* sorted (lowercased when case-insensitive), owned */
    size_t stop_maxlen;
} strnorm_state;

static void strnorm_free(void *p) {
    strnorm_state *s = p;
    if (!s) return;
    for (size_t i = 0; i < s->n_stop; i++) st_free(s->stop[i].data);
    st_free(s->stop);
    st_free(s);
}

static int str_cmp(const char *a, size_t na, const char *b, size_t nb) {
    int c = memcmp(a, b, ST_MIN(na, nb));
    return c ? c : (na < nb ? -1 : na > nb);
}

static int stop_cmp(const void *x, const void *y) {
    const st_str *a = x, *b = y;
    return str_cmp(a->data, a->len, b->data, b->len);
}

static bool is_stopword(const strnorm_state *st, const char *s, size_t n) {
    size_t lo = 0, hi = st->n_stop;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = str_cmp(st->stop[mid].data, st->stop[mid].len, s, n);
        if (!c) return true;
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    return false;
}

static st_status run_strnorm(st_kctx *k, st_error *err) {
    const strnorm_state *st = k->state;
    const st_tensor *x = st_in(k, 0);
    const st_str *in = x->data;
    size_t n = st_tensor_nelem(x), kept = 0, maxlen = 0;
    st_status s = ST_OK;
    for (size_t i = 0; i < n; i++) maxlen = ST_MAX(maxlen, in[i].len);
    size_t cap;
    if (!st_mul_ok(maxlen, 2, &cap) || !st_add_ok(cap, 1, &cap))
        return ST_KERR(err, ST_ERR_LIMIT, "StringNormalizer: string too long");
    char *buf = st_malloc(cap);
    bool *keep = st_malloc(n ? n : 1);
    if (!buf || !keep) {
        s = st_error_nomem(err);
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        keep[i] = true;
        if (!st->n_stop) continue;
        const char *key = in[i].data ? in[i].data : "";
        size_t klen = in[i].len;
        if (!st->case_sensitive) {
            klen = case_map(key, klen, CASE_LOWER, st->turkic, buf);
            key = buf;
        }
        keep[i] = !is_stopword(st, key, klen);
    }
    for (size_t i = 0; i < n; i++) kept += keep[i];
    int64_t dims[2];
    int ndim = x->ndim;
    if (ndim == 1) dims[0] = kept ? (int64_t)kept : 1;
    else {
        dims[0] = 1;
        dims[1] = kept ? (int64_t)kept : 1;
    }
    st_tensor *y = st_out(k, 0, ST_DTYPE_STRING, ndim, dims, err);
    if (!y) {
        s = st_has_out(k, 0) ? err->status : ST_OK;
        goto done;
    }
    if (!kept) { /* everything was a stopword: one empty string */
        s = st_tensor_set_string(y, 0, "", 0, err);
        goto done;
    }
    for (size_t i = 0, o = 0; i < n; i++) {
        if (!keep[i]) continue;
        size_t len = case_map(in[i].data ? in[i].data : "", in[i].len, st->action, st->turkic, buf);
        if ((s = st_tensor_set_string(y, o++, buf, len, err))) goto done;
    }
done:
    st_free(buf);
    st_free(keep);
    return s;
}

static bool locale_is_turkic(const char *loc) {
    if (!loc) return false;
    if (strncmp(loc, "tr", 2) && strncmp(loc, "az", 2)) return false;
    char c = loc[2];
    return c == 0 || c == '_' || c == '-' || c == '.' || c == '@';
}

st_status st_misc_prep_strnorm(st_kctx *k, st_error *err) {
    const st_tensor *x = st_in(k, 0);
    if (!x || x->dtype != ST_DTYPE_STRING)
        return ST_KERR(err, ST_ERR_INVALID, "StringNormalizer: input must be a string tensor");
    if (!(x->ndim == 1 || (x->ndim == 2 && x->dims[0] == 1)))
        return ST_KERR(err, ST_ERR_INVALID,
                       "StringNormalizer: input must be [C] or [1, C], got rank %d%s", x->ndim,
                       x->ndim == 2 ? " with a first dimension other than 1" : "");
    const char *act = st_attr_string(k->node, "case_change_action", "NONE");
    case_action a;
    if (!strcmp(act, "NONE")) a = CASE_NONE;
    else if (!strcmp(act, "LOWER")) a = CASE_LOWER;
    else if (!strcmp(act, "UPPER")) a = CASE_UPPER;
    else
        return ST_KERR(err, ST_ERR_INVALID,
                       "StringNormalizer: case_change_action \"%s\" is not LOWER, UPPER or NONE",
                       act);
    strnorm_state *st = st_calloc(1, sizeof *st);
    if (!st) return st_error_nomem(err);
    st->action = a;
    st->case_sensitive = st_attr_int(k->node, "is_case_sensitive", 0) != 0;
    st->turkic = locale_is_turkic(st_attr_string(k->node, "locale", NULL));
    const st_attr *sw = st_node_attr(k->node, "stopwords");
    if (sw && sw->kind == ST_ATTR_STRINGS && sw->n) {
        if (!(st->stop = st_calloc(sw->n, sizeof *st->stop))) goto nomem;
        for (size_t i = 0; i < sw->n; i++) {
            const st_str *w = &sw->strings[i];
            size_t cap = 2 * w->len + 1;
            char *d = st_malloc(cap);
            if (!d) goto nomem;
            st->stop[i].data = d;
            st->n_stop = i + 1;
            if (st->case_sensitive) {
                if (w->len) memcpy(d, w->data, w->len);
                d[w->len] = 0;
                st->stop[i].len = w->len;
            } else {
                st->stop[i].len =
                    case_map(w->data ? w->data : "", w->len, CASE_LOWER, st->turkic, d);
            }
        }
        qsort(st->stop, st->n_stop, sizeof *st->stop, stop_cmp);
    }
    /* stopwords decide how many strings stay: [C'] or [1, C'] */
    int64_t dims[2] = {x->ndim == 2 ? 1 : -1, -1};
    st_out_declare_type(k, 0, ST_DTYPE_STRING, x->ndim, dims);
    k->state = st;
    k->state_free = strnorm_free;
    k->run = run_strnorm;
    return ST_OK;
nomem:
    strnorm_free(st);
    return st_error_nomem(err);
}

/* ---- TfIdfVectorizer --------------------------------------------------------------- */
typedef enum { TFIDF_TF, TFIDF_IDF, TFIDF_TFIDF } tfidf_mode;

typedef struct tfidf_state {
    tfidf_mode mode;
    int64_t min_n, max_n, max_skip;
    bool strings;           /* pool_strings (else pool_int64s) */
    size_t n_grams;         /* n-grams in the pool */
    int64_t *tok;           /* pool tokens: the integers, or vocabulary ids for strings */
    size_t *gstart;         /* n_grams: first token of each n-gram */
    int64_t *glen;          /* n_grams: its length */
    const int64_t *out_idx; /* n_grams: output coordinate (model-owned) */
    const double *weights;  /* n_grams or NULL (model-owned) */
    int64_t out_size;
    int64_t levels; /* longest n with pool entries */
    size_t gcap;    /* n-gram hash: power of two, slots hold id + 1 */
    size_t *gslot;
    size_t vcap; /* vocabulary hash (strings): slots hold vocab id + 1 */
    size_t *vslot;
    const st_str **vocab; /* vocab id -> pool string (model-owned) */
    size_t n_vocab;
    size_t slots;      /* rows are split over this many scratch slots */
    size_t slot_bytes; /* one slot: a row's token ids, then per-n-gram counts */
} tfidf_state;

static void tfidf_free(void *p) {
    tfidf_state *s = p;
    if (!s) return;
    st_free(s->tok);
    st_free(s->gstart);
    st_free(s->glen);
    st_free(s->gslot);
    st_free(s->vslot);
    st_free(s->vocab);
    st_free(s);
}

static uint64_t hash_ints(const int64_t *t, size_t n, size_t stride) {
    uint64_t h = 0x9e3779b97f4a7c15ULL ^ n;
    for (size_t i = 0; i < n; i++) {
        h ^= (uint64_t)t[i * stride];
        h *= 0xff51afd7ed558ccdULL;
        h ^= h >> 32;
    }
    return h;
}

static uint64_t hash_bytes(const char *s, size_t n) {
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 0x100000001b3ULL;
    }
    return h ^ (h >> 29);
}

static size_t pow2_at_least(size_t n) {
    size_t c = 8;
    while (c < n) c <<= 1;
    return c;
}

/* Vocabulary id of string s, or -1. */
static int64_t vocab_find(const tfidf_state *st, const char *s, size_t n) {
    size_t m = st->vcap - 1;
    for (size_t i = hash_bytes(s, n) & m;; i = (i + 1) & m) {
        size_t v = st->vslot[i];
        if (!v) return -1;
        const st_str *w = st->vocab[v - 1];
        if (w->len == n && !memcmp(w->data, s, n)) return (int64_t)(v - 1);
    }
}

/* Pool n-gram id of the tokens t[0], t[stride], ... (n of them), or -1. */
static int64_t gram_find(const tfidf_state *st, const int64_t *t, size_t n, size_t stride) {
    size_t m = st->gcap - 1;
    for (size_t i = hash_ints(t, n, stride) & m;; i = (i + 1) & m) {
        size_t v = st->gslot[i];
        if (!v) return -1;
        size_t g = v - 1;
        if ((size_t)st->glen[g] != n) continue;
        const int64_t *p = st->tok + st->gstart[g];
        size_t j = 0;
        while (j < n && p[j] == t[j * stride]) j++;
        if (j == n) return (int64_t)g;
    }
}

/* Rows [slot*rows/S, (slot+1)*rows/S) with slot s's own part of the scratch. */
typedef struct tfidf_job {
    const tfidf_state *st;
    const st_tensor *x;
    float *out;
    int64_t rows, C;
    size_t slots, slot_bytes;
    char *scratch;
} tfidf_job;

static void tfidf_rows(void *arg, size_t s0, size_t s1) {
    const tfidf_job *j = arg;
    const tfidf_state *st = j->st;
    const st_tensor *x = j->x;
    int64_t C = j->C;
    for (size_t sl = s0; sl < s1; sl++) {
        int64_t *ids = (int64_t *)(j->scratch + sl * j->slot_bytes);
        uint32_t *count = (uint32_t *)(ids + C);
        int64_t r0 = (int64_t)((size_t)j->rows * sl / j->slots);
        int64_t r1 = (int64_t)((size_t)j->rows * (sl + 1) / j->slots);
        for (int64_t r = r0; r < r1; r++) {
            float *orow = j->out + r * st->out_size;
            for (int64_t i = 0; i < st->out_size; i++) orow[i] = 0;
            for (int64_t i = 0; i < C; i++) {
                size_t e = (size_t)(r * C + i);
                if (x->dtype == ST_DTYPE_STRING) {
                    const st_str *s = (const st_str *)x->data + e;
                    ids[i] = vocab_find(st, s->data ? s->data : "", s->len);
                } else if (x->dtype == ST_DTYPE_I32) {
                    ids[i] = ((const int32_t *)x->data)[e];
                } else {
                    ids[i] = ((const int64_t *)x->data)[e];
                }
            }
            memset(count, 0, st->n_grams * sizeof *count);
            int64_t top = ST_MIN(st->max_n, st->levels);
            for (int64_t i = 0; i < C; i++) {
                for (int64_t n = st->min_n; n <= top; n++) {
                    /* unigrams ignore skips; longer grams try every gap 1..max_skip+1 */
                    int64_t gaps = n == 1 ? 1 : st->max_skip + 1;
                    for (int64_t d = 1; d <= gaps; d++) {
                        if (i + (n - 1) * d >= C) break;
                        int64_t g = gram_find(st, ids + i, (size_t)n, (size_t)d);
                        if (g >= 0) count[g]++;
                    }
                }
            }
            for (size_t g = 0; g < st->n_grams; g++) {
                if (!count[g]) continue;
                double w = st->weights ? st->weights[g] : 1.0, v;
                switch (st->mode) {
                case TFIDF_TF: v = count[g]; break;
                case TFIDF_IDF: v = w; break;
                default: v = count[g] * w; break;
                }
                orow[st->out_idx[g]] += (float)v;
            }
        }
    }
}

static st_status run_tfidf(st_kctx *k, st_error *err) {
    const tfidf_state *st = k->state;
    const st_tensor *x = st_in(k, 0);
    int64_t rows = x->ndim == 2 ? x->dims[0] : 1, C = x->dims[x->ndim - 1];
    int64_t dims[2] = {rows, st->out_size};
    st_tensor *y = x->ndim == 2 ? st_out(k, 0, ST_DTYPE_F32, 2, dims, err)
                                : st_out(k, 0, ST_DTYPE_F32, 1, dims + 1, err);
    if (!y) return st_has_out(k, 0) ? err->status : ST_OK;
    tfidf_job j = {st, x, y->data, rows, C, st->slots, st->slot_bytes, k->scratch};
    st_parallel_for(k->pool, st->slots, 1, tfidf_rows, &j);
    return ST_OK;
}

st_status st_misc_prep_tfidf(st_kctx *k, st_error *err) {
    const st_node *nd = k->node;
    const st_tensor *x = st_in(k, 0);
    st_status s = ST_OK;
    tfidf_state *st = NULL;
#define TF_FAIL(...)                                                       \
    do {                                                                   \
        s = ST_KERR(err, ST_ERR_INVALID, "TfIdfVectorizer: " __VA_ARGS__); \
        goto fail;                                                         \
    } while (0)
    if (!x) TF_FAIL("input X is required");
    if (x->ndim != 1 && x->ndim != 2) TF_FAIL("input must be 1-D or 2-D, got rank %d", x->ndim);
    if (!(st = st_calloc(1, sizeof *st))) goto nomem;
    const char *mode = st_attr_string(nd, "mode", NULL);
    if (!mode) TF_FAIL("the mode attribute is required");
    if (!strcmp(mode, "TF")) st->mode = TFIDF_TF;
    else if (!strcmp(mode, "IDF")) st->mode = TFIDF_IDF;
    else if (!strcmp(mode, "TFIDF")) st->mode = TFIDF_TFIDF;
    else TF_FAIL("mode \"%s\" is not TF, IDF or TFIDF", mode);
    st->min_n = st_attr_int(nd, "min_gram_length", -1);
    st->max_n = st_attr_int(nd, "max_gram_length", -1);
    st->max_skip = st_attr_int(nd, "max_skip_count", -1);
    if (st->min_n < 1 || st->max_n < st->min_n)
        TF_FAIL("need 1 <= min_gram_length (%lld) <= max_gram_length (%lld)", (long long)st->min_n,
                (long long)st->max_n);
    if (st->max_skip < 0) TF_FAIL("max_skip_count must be given and non-negative");
    const st_attr *pi = st_node_attr(nd, "pool_int64s"), *ps = st_node_attr(nd, "pool_strings");
    if (!!pi == !!ps) TF_FAIL("exactly one of pool_int64s and pool_strings must be set");
    st->strings = ps != NULL;
    size_t plen = st->strings ? ps->n : pi->n;
    if (st->strings ? x->dtype != ST_DTYPE_STRING
                    : (x->dtype != ST_DTYPE_I32 && x->dtype != ST_DTYPE_I64))
        TF_FAIL("input is %s but the pool holds %s", st_dtype_name(x->dtype),
                st->strings ? "strings" : "integers");
    const int64_t *counts, *oidx;
    size_t nc = st_attr_ints(nd, "ngram_counts", &counts);
    size_t ni = st_attr_ints(nd, "ngram_indexes", &oidx);
    if (!nc) TF_FAIL("ngram_counts is required");
    /* count the n-grams of each level */
    size_t grams = 0;
    for (size_t l = 0; l < nc; l++) {
        int64_t b = counts[l], e = l + 1 < nc ? counts[l + 1] : (int64_t)plen;
        if (b < 0 || e < b || e > (int64_t)plen)
            TF_FAIL("ngram_counts[%zu] = %lld is out of order or beyond the pool of %zu", l,
                    (long long)b, plen);
        if ((e - b) % (int64_t)(l + 1))
            TF_FAIL("the %zu-gram section of the pool has %lld tokens, not a multiple of %zu",
                    l + 1, (long long)(e - b), l + 1);
        grams += (size_t)(e - b) / (l + 1);
        if (e > b) st->levels = (int64_t)(l + 1);
    }
    if (ni != grams) TF_FAIL("ngram_indexes has %zu entries for %zu pool n-grams", ni, grams);
    const double *w;
    size_t nw = st_attr_floats(nd, "weights", &w);
    if (nw && nw != grams) TF_FAIL("weights has %zu entries for %zu pool n-grams", nw, grams);
    st->weights = nw ? w : NULL;
    st->out_idx = oidx;
    st->n_grams = grams;
    st->out_size = 0;
    for (size_t g = 0; g < ni; g++) {
        if (oidx[g] < 0) TF_FAIL("ngram_indexes[%zu] = %lld is negative", g, (long long)oidx[g]);
        st->out_size = ST_MAX(st->out_size, oidx[g] + 1);
    }
    /* tokens in id space */
    if (!(st->tok = st_calloc(plen ? plen : 1, sizeof *st->tok))) goto nomem;
    if (st->strings) {
        st->vcap = pow2_at_least(2 * plen);
        if (!(st->vslot = st_calloc(st->vcap, sizeof *st->vslot)) ||
            !(st->vocab = st_calloc(plen ? plen : 1, sizeof *st->vocab)))
            goto nomem;
        for (size_t i = 0; i < plen; i++) {
            const st_str *t = &ps->strings[i];
            const char *d = t->data ? t->data : "";
            int64_t id = vocab_find(st, d, t->len);
            if (id < 0) {
                id = (int64_t)st->n_vocab;
                st->vocab[st->n_vocab++] = t;
                size_t m = st->vcap - 1, j = hash_bytes(d, t->len) & m;
                while (st->vslot[j]) j = (j + 1) & m;
                st->vslot[j] = (size_t)id + 1;
            }
            st->tok[i] = id;
        }
    } else if (plen) {
        memcpy(st->tok, pi->ints, plen * sizeof *st->tok);
    }
    /* n-gram table; the first occurrence of a duplicate n-gram wins */
    st->gcap = pow2_at_least(2 * grams);
    if (!(st->gslot = st_calloc(st->gcap, sizeof *st->gslot)) ||
        !(st->gstart = st_calloc(grams ? grams : 1, sizeof *st->gstart)) ||
        !(st->glen = st_calloc(grams ? grams : 1, sizeof *st->glen)))
        goto nomem;
    for (size_t l = 0, g = 0; l < nc; l++) {
        size_t b = (size_t)counts[l], e = l + 1 < nc ? (size_t)counts[l + 1] : plen;
        for (size_t p = b; p < e; p += l + 1, g++) {
            st->gstart[g] = p;
            st->glen[g] = (int64_t)(l + 1);
            if (gram_find(st, st->tok + p, l + 1, 1) >= 0) continue;
            size_t m = st->gcap - 1, j = hash_ints(st->tok + p, l + 1, 1) & m;
            while (st->gslot[j]) j = (j + 1) & m;
            st->gslot[j] = g + 1;
        }
    }
    int64_t C = x->dims[x->ndim - 1], rows = x->ndim == 2 ? x->dims[0] : 1;
    int threads = k->pool ? st_pool_threads(k->pool) : k->threads;
    st->slots = (size_t)ST_MAX(1, ST_MIN((int64_t)ST_MAX(threads, 1), rows));
    size_t bytes, cb, total;
    if (!st_mul_ok((size_t)C, sizeof(int64_t), &bytes) ||
        !st_mul_ok(grams, sizeof(uint32_t), &cb) || !st_add_ok(bytes, cb, &bytes) ||
        !st_add_ok(bytes, 7, &bytes) || !st_mul_ok(bytes & ~(size_t)7, st->slots, &total))
        TF_FAIL("input too large");
    st->slot_bytes = bytes & ~(size_t)7;
    k->scratch_bytes = total ? total : 8;
    int64_t dims[2] = {x->dims[0], st->out_size};
    if (x->ndim == 2) st_out_declare(k, 0, ST_DTYPE_F32, 2, dims);
    else st_out_declare(k, 0, ST_DTYPE_F32, 1, dims + 1);
    k->state = st;
    k->state_free = tfidf_free;
    k->run = run_tfidf;
    return ST_OK;
#undef TF_FAIL
nomem:
    s = st_error_nomem(err);
fail:
    tfidf_free(st);
    return s;
}

/* ---- StringConcat ------------------------------------------------------------------ */
/* Z = X + Y elementwise, with NumPy broadcasting. */
static st_status run_strconcat(st_kctx *k, st_error *err) {
    const st_tensor *x = st_in(k, 0), *yv = st_in(k, 1);
    const st_tensor *ts[2] = {x, yv};
    int ndim;
    int64_t dims[ST_MAX_RANK], sx[ST_MAX_RANK], sy[ST_MAX_RANK], idx[ST_MAX_RANK] = {0};
    st_status s = st_broadcast_shape(2, ts, &ndim, dims, err);
    if (s) return s;
    st_tensor *z = st_out(k, 0, ST_DTYPE_STRING, ndim, dims, err);
    if (!z) return st_has_out(k, 0) ? err->status : ST_OK;
    st_broadcast_strides(x, ndim, dims, sx);
    st_broadcast_strides(yv, ndim, dims, sy);
    const st_str *a = x->data, *b = yv->data;
    size_t n = st_tensor_nelem(z), cap = 0;
    char *buf = NULL;
    int64_t ia = 0, ib = 0;
    for (size_t i = 0; i < n; i++) {
        size_t la = a[ia].len, lb = b[ib].len, need;
        if (!st_add_ok(la, lb, &need) || !st_add_ok(need, 1, &need)) {
            s = ST_KERR(err, ST_ERR_LIMIT, "StringConcat: string too long");
            goto done;
        }
        if (need > cap) {
            st_free(buf);
            if (!(buf = st_malloc(need))) {
                s = st_error_nomem(err);
                goto done;
            }
            cap = need;
        }
        if (la) memcpy(buf, a[ia].data, la);
        if (lb) memcpy(buf + la, b[ib].data, lb);
        if ((s = st_tensor_set_string(z, i, buf, la + lb, err))) goto done;
        for (int d = ndim - 1; d >= 0; d--) { /* next index: advance the odometer */
            ia += sx[d];
            ib += sy[d];
            if (++idx[d] < dims[d]) break;
            ia -= sx[d] * dims[d];
            ib -= sy[d] * dims[d];
            idx[d] = 0;
        }
    }
done:
    st_free(buf);
    return s;
}

st_status st_misc_prep_strconcat(st_kctx *k, st_error *err) {
    const st_tensor *x = st_in(k, 0), *y = st_in(k, 1);
    if (!x || !y || x->dtype != ST_DTYPE_STRING || y->dtype != ST_DTYPE_STRING)
        return ST_KERR(err, ST_ERR_INVALID, "StringConcat: both inputs must be string tensors");
    const st_tensor *ts[2] = {x, y};
    int ndim;
    int64_t dims[ST_MAX_RANK];
    st_status s = st_broadcast_shape(2, ts, &ndim, dims, err);
    if (s) {
        st_error_prefix(err, "StringConcat: ");
        return s;
    }
    st_out_declare(k, 0, ST_DTYPE_STRING, ndim, dims);
    k->run = run_strconcat;
    return ST_OK;
}

/* ---- StringSplit ------------------------------------------------------------------- */
/* Python's str.split: on the delimiter exactly (empty fields kept), or, without one, on
 * runs of Unicode whitespace with leading whitespace dropped; at most maxsplit splits
 * (negative: no limit), the rest of the string being the last substring. */
typedef struct split_state {
    char *delim; /* NULL: whitespace */
    size_t dlen;
    int64_t maxsplit;
} split_state;

static void split_free(void *p) {
    split_state *s = p;
    if (!s) return;
    st_free(s->delim);
    st_free(s);
}

/* Bytes of the whitespace code point at s (n bytes left), 0 when s is not whitespace
 * (str.isspace: ASCII \t-\r, \x1c-\x1f, space, and the Unicode space separators). */
static size_t ws_len(const char *s, size_t n) {
    size_t len;
    int32_t c = utf8_decode((const unsigned char *)s, n, &len);
    bool ws = (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 ||
              c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 ||
              c == 0x202F || c == 0x205F || c == 0x3000;
    return ws ? len : 0;
}

/* Split s; with y, substring j goes to element base + j. Returns ST_OK and *count. */
static st_status split_one(const split_state *st, const char *s, size_t n, st_tensor *y,
                           size_t base, int64_t *count, st_error *err) {
    size_t i = 0, c = 0, w;
    st_status rc = ST_OK;
    if (!s) s = "";
    for (;;) {
        size_t j, next;
        if (!st->delim) {
            while (i < n && (w = ws_len(s + i, n - i))) i += w;
            if (i == n) break;
        }
        if (st->maxsplit >= 0 && c == (uint64_t)st->maxsplit) {
            j = next = n;
        } else if (st->delim) {
            for (j = i; j + st->dlen <= n && memcmp(s + j, st->delim, st->dlen); j++) {}
            if (j + st->dlen > n) j = n;
            next = j < n ? j + st->dlen : n;
        } else {
            for (j = i; j < n && !ws_len(s + j, n - j); j++) {}
            next = j;
        }
        if (y && (rc = st_tensor_set_string(y, base + c, s + i, j - i, err))) return rc;
        c++;
        if (j == n) break;
        i = next;
    }
    *count = (int64_t)c;
    return ST_OK;
}

static st_status run_strsplit(st_kctx *k, st_error *err) {
    const split_state *st = k->state;
    const st_tensor *x = st_in(k, 0);
    const st_str *in = x->data;
    size_t n = st_tensor_nelem(x);
    int64_t maxc = 0, c, dims[ST_MAX_RANK];
    st_status s;
    for (size_t i = 0; i < n; i++) {
        if ((s = split_one(st, in[i].data, in[i].len, NULL, 0, &c, err))) return s;
        maxc = ST_MAX(maxc, c);
    }
    memcpy(dims, x->dims, (size_t)x->ndim * sizeof *dims);
    dims[x->ndim] = maxc;
    st_tensor *z = st_out(k, 1, ST_DTYPE_I64, x->ndim, dims, err);
    if (!z && st_has_out(k, 1)) return err->status;
    st_tensor *y = st_out(k, 0, ST_DTYPE_STRING, x->ndim + 1, dims, err);
    if (!y && st_has_out(k, 0)) return err->status;
    for (size_t i = 0; i < n; i++) {
        if ((s = split_one(st, in[i].data, in[i].len, y, i * (size_t)maxc, &c, err))) return s;
        if (z) ((int64_t *)z->data)[i] = c;
        for (int64_t j = c; y && j < maxc; j++) /* pad with empty strings */
            if ((s = st_tensor_set_string(y, i * (size_t)maxc + (size_t)j, "", 0, err))) return s;
    }
    return ST_OK;
}

st_status st_misc_prep_strsplit(st_kctx *k, st_error *err) {
    const st_tensor *x = st_in(k, 0);
    if (!x || x->dtype != ST_DTYPE_STRING)
        return ST_KERR(err, ST_ERR_INVALID, "StringSplit: input must be a string tensor");
    if (x->ndim + 1 > ST_MAX_RANK)
        return ST_KERR(err, ST_ERR_LIMIT, "StringSplit: input rank %d is above %d", x->ndim,
                       ST_MAX_RANK - 1);
    split_state *st = st_calloc(1, sizeof *st);
    if (!st) return st_error_nomem(err);
    st->maxsplit = st_attr_int(k->node, "maxsplit", -1);
    const st_attr *d = st_node_attr(k->node, "delimiter");
    if (d && d->kind == ST_ATTR_STRING && d->s.len) {
        if (!(st->delim = st_malloc(d->s.len + 1))) {
            split_free(st);
            return st_error_nomem(err);
        }
        memcpy(st->delim, d->s.data, d->s.len);
        st->delim[d->s.len] = 0;
        st->dlen = d->s.len;
    }
    int64_t dims[ST_MAX_RANK];
    memcpy(dims, x->dims, (size_t)x->ndim * sizeof *dims);
    dims[x->ndim] = -1; /* the most substrings of any element */
    st_out_declare_type(k, 0, ST_DTYPE_STRING, x->ndim + 1, dims);
    st_out_declare(k, 1, ST_DTYPE_I64, x->ndim, x->dims);
    k->state = st;
    k->state_free = split_free;
    k->run = run_strsplit;
    return ST_OK;
}

/* ---- RegexFullMatch ---------------------------------------------------------------- */
/* The spec's syntax is RE2's; PCRE2 (UTF mode, anchored at both ends, `$` only at the end)
 * runs it. RE2 has no backreferences, lookaround, atomic groups, possessive quantifiers,
 * recursion or backtracking verbs: patterns using them are refused, as RE2 refuses them. */
typedef struct regex_state {
    pcre2_code *re;
} regex_state;

static void regex_free(void *p) {
    regex_state *s = p;
    if (!s) return;
    pcre2_code_free(s->re);
    st_free(s);
}

/* The first construct of p that RE2 rejects and PCRE2 accepts, or NULL. */
static const char *regex_non_re2(const char *p, size_t n) {
    bool in_class = false;
    for (size_t i = 0; i < n; i++) {
        char c = p[i], d = i + 1 < n ? p[i + 1] : 0;
        if (c == '\\') {
            if (d == 'Q') { /* \Q...\E literal text */
                const char *e = NULL;
                for (size_t j = i + 2; j + 1 < n && !e; j++)
                    if (p[j] == '\\' && p[j + 1] == 'E') e = p + j;
                i = e ? (size_t)(e - p) + 1 : n;
                continue;
            }
            if (!in_class && ((d >= '1' && d <= '9') || d == 'g' || d == 'k'))
                return "backreferences";
            i++;
        } else if (in_class) {
            if (c == ']') in_class = false;
        } else if (c == '[') {
            in_class = true;
            if (d == '^') i++;
            if (i + 1 < n && p[i + 1] == ']') i++; /* a leading ']' is literal */
        } else if (c == '(' && d == '*') {
            return "backtracking verbs";
        } else if (c == '(' && d == '?') {
            char e = i + 2 < n ? p[i + 2] : 0, f = i + 3 < n ? p[i + 3] : 0;
            if (e == '=' || e == '!' || (e == '<' && (f == '=' || f == '!')))
                return "lookaround assertions";
            if (e == '>') return "atomic groups";
            if (e == 'R' || e == '&' || e == '+' || (e >= '0' && e <= '9') ||
                (e == 'P' && f == '>'))
                return "recursion";
            if (e == '|') return "branch reset groups";
            if (e == '#') return "comments";
            if (e == '(') return "conditional groups";
        } else if ((c == '*' || c == '+' || c == '?' || c == '}') && d == '+') {
            return "possessive quantifiers";
        }
    }
    return NULL;
}

static st_status run_regex(st_kctx *k, st_error *err) {
    const regex_state *st = k->state;
    const st_tensor *x = st_in(k, 0);
    st_tensor *y = st_out(k, 0, ST_DTYPE_BOOL, x->ndim, x->dims, err);
    if (!y) return st_has_out(k, 0) ? err->status : ST_OK;
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(st->re, NULL);
    if (!md) return st_error_nomem(err);
    const st_str *in = x->data;
    uint8_t *out = y->data;
    size_t n = st_tensor_nelem(x);
    st_status s = ST_OK;
    for (size_t i = 0; i < n; i++) {
        const char *str = in[i].data ? in[i].data : "";
        int rc = pcre2_match(st->re, (PCRE2_SPTR)str, in[i].len, 0, 0, md, NULL);
        if (rc < 0 && rc != PCRE2_ERROR_NOMATCH) {
            PCRE2_UCHAR msg[160];
            pcre2_get_error_message(rc, msg, sizeof msg);
            s = ST_KERR(err, ST_ERR_INVALID, "RegexFullMatch: element %zu: %s", i, (char *)msg);
            break;
        }
        out[i] = rc >= 0;
    }
    pcre2_match_data_free(md);
    return s;
}

st_status st_misc_prep_regex(st_kctx *k, st_error *err) {
    const st_tensor *x = st_in(k, 0);
    if (!x || x->dtype != ST_DTYPE_STRING)
        return ST_KERR(err, ST_ERR_INVALID, "RegexFullMatch: input must be a string tensor");
    const st_attr *a = st_node_attr(k->node, "pattern");
    if (!a || a->kind != ST_ATTR_STRING)
        return ST_KERR(err, ST_ERR_INVALID, "RegexFullMatch: the pattern attribute is missing");
    const char *p = a->s.data ? a->s.data : "";
    const char *bad = regex_non_re2(p, a->s.len);
    if (bad)
        return ST_KERR(err, ST_ERR_UNSUPPORTED,
                       "RegexFullMatch: pattern \"%.*s\" uses %s, which RE2 syntax does not have",
                       (int)ST_MIN(a->s.len, 200), p, bad);
    int code;
    PCRE2_SIZE off;
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)p, a->s.len,
                                   PCRE2_UTF | PCRE2_ANCHORED | PCRE2_ENDANCHORED |
                                       PCRE2_DOLLAR_ENDONLY | PCRE2_NEVER_BACKSLASH_C,
                                   &code, &off, NULL);
    if (!re) {
        PCRE2_UCHAR msg[160];
        pcre2_get_error_message(code, msg, sizeof msg);
        return ST_KERR(err, ST_ERR_INVALID, "RegexFullMatch: pattern \"%.*s\": %s at offset %zu",
                       (int)ST_MIN(a->s.len, 200), p, (char *)msg, (size_t)off);
    }
    (void)pcre2_jit_compile(re, PCRE2_JIT_COMPLETE); /* optional: the interpreter also works */
    regex_state *st = st_calloc(1, sizeof *st);
    if (!st) {
        pcre2_code_free(re);
        return st_error_nomem(err);
    }
    st->re = re;
    st_out_declare(k, 0, ST_DTYPE_BOOL, x->ndim, x->dims);
    k->state = st;
    k->state_free = regex_free;
    k->run = run_regex;
    return ST_OK;
}
