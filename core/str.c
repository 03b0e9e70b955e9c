/* core/str.c: the string builder and string map every layer shares (names, generated
 * code, JSON and trace text). Memory comes from the allocator hook; nothing here fails
 * loudly: builders record out-of-memory, maps return it. */
#include <stdio.h>

#include "core.h"

/* ---- builder --------------------------------------------------------------------- */

void st_sb_put(st_sb *b, const void *data, size_t n) {
    if (b->oom) return;
    size_t need;
    if (!st_add_ok(b->n, n + 1, &need) || !ST_GROW(b->s, b->cap, need)) {
        b->oom = true;
        return;
    }
    if (n) memcpy(b->s + b->n, data, n);
    b->n += n;
    b->s[b->n] = 0;
}

void st_sb_puts(st_sb *b, const char *s) { st_sb_put(b, s, strlen(s)); }

void st_sb_putc(st_sb *b, char c) { st_sb_put(b, &c, 1); }

void st_sb_vprintf(st_sb *b, const char *fmt, va_list ap) {
    if (b->oom) return;
    char tmp[512];
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    if (n < 0) {
        va_end(ap2);
        return;
    }
    if ((size_t)n < sizeof tmp) {
        st_sb_put(b, tmp, (size_t)n);
    } else if (!ST_GROW(b->s, b->cap, b->n + (size_t)n + 1)) {
        b->oom = true;
    } else {
        vsnprintf(b->s + b->n, (size_t)n + 1, fmt, ap2);
        b->n += (size_t)n;
    }
    va_end(ap2);
}

void st_sb_printf(st_sb *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    st_sb_vprintf(b, fmt, ap);
    va_end(ap);
}

void st_sb_json_str(st_sb *b, const char *s) {
    st_sb_putc(b, '"');
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') st_sb_printf(b, "\\%c", *p);
        else if (*p < 0x20) st_sb_printf(b, "\\u%04x", *p);
        else st_sb_putc(b, (char)*p);
    }
    st_sb_putc(b, '"');
}

void st_sb_ns_us(st_sb *b, int64_t ns) {
    if (ns < 0) {
        st_sb_putc(b, '-');
        ns = -ns;
    }
    st_sb_printf(b, "%lld.%03lld", (long long)(ns / 1000), (long long)(ns % 1000));
}

char *st_sb_take(st_sb *b) {
    char *s = NULL;
    if (!b->oom) s = b->s ? b->s : st_strdup("");
    else st_free(b->s);
    memset(b, 0, sizeof *b);
    return s;
}

void st_sb_free(st_sb *b) {
    st_free(b->s);
    memset(b, 0, sizeof *b);
}

/* ---- map ------------------------------------------------------------------------- */

uint64_t st_hash_str(const char *s) {
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static size_t slot_of(const st_strmap *m, const char *key) {
    size_t mask = m->cap - 1, j = st_hash_str(key) & mask;
    while (m->keys[j] && strcmp(m->keys[j], key)) j = (j + 1) & mask;
    return j;
}

static bool grow(st_strmap *m) {
    if ((m->n + 1) * 2 <= m->cap) return true;
    size_t ncap = m->cap ? m->cap * 2 : 64;
    char **nk = st_calloc(ncap, sizeof *nk);
    intptr_t *nv = st_calloc(ncap, sizeof *nv);
    if (!nk || !nv) {
        st_free(nk);
        st_free(nv);
        return false;
    }
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->keys[i]) continue;
        size_t j = st_hash_str(m->keys[i]) & (ncap - 1);
        while (nk[j]) j = (j + 1) & (ncap - 1);
        nk[j] = m->keys[i];
        nv[j] = m->vals[i];
    }
    st_free(m->keys);
    st_free(m->vals);
    m->keys = nk;
    m->vals = nv;
    m->cap = ncap;
    return true;
}

int st_strmap_add(st_strmap *m, const char *key, intptr_t val) {
    if (!grow(m)) return -1;
    size_t j = slot_of(m, key);
    if (m->keys[j]) return 0;
    char *k = m->borrow ? (char *)key : st_strdup(key);
    if (!k) return -1;
    m->keys[j] = k;
    m->vals[j] = val;
    m->n++;
    return 1;
}

bool st_strmap_put(st_strmap *m, const char *key, intptr_t val) {
    if (!grow(m)) return false;
    size_t j = slot_of(m, key);
    if (!m->keys[j]) {
        char *k = m->borrow ? (char *)key : st_strdup(key);
        if (!k) return false;
        m->keys[j] = k;
        m->n++;
    }
    m->vals[j] = val;
    return true;
}

bool st_strmap_get(const st_strmap *m, const char *key, intptr_t *val) {
    if (!m->cap) return false;
    size_t j = slot_of(m, key);
    if (!m->keys[j]) return false;
    if (val) *val = m->vals[j];
    return true;
}

void st_strmap_free(st_strmap *m) {
    if (!m->borrow)
        for (size_t i = 0; i < m->cap; i++) st_free(m->keys[i]);
    st_free(m->keys);
    st_free(m->vals);
    bool borrow = m->borrow;
    memset(m, 0, sizeof *m);
    m->borrow = borrow;
}
