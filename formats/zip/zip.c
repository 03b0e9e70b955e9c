/* formats/zip/zip.c: zip reading (own central-directory walk for offsets and validation,
 * libzip for inflating deflated members) and writing of stored, 64-byte aligned members.
 * Nothing here interprets member contents. */
#include "zip.h"

#include <stdio.h>
#include <string.h>
#include <zip.h>
#include <zlib.h>

#define MAX_MEMBERS 1000000u
#define MAX_MEMBER_BYTES ((uint64_t)1 << 40) /* 1 TiB: anything larger is not a model */
#define MAX_DEFLATE_RATIO 1032u              /* deflate's best case */

struct st_zip {
    st_buf *buf;
    char *what;
    size_t n;
    st_zip_entry *e;
    char *prefix;
    zip_t *za; /* opened lazily for deflated members */
};

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t rd32(const uint8_t *p) { return (uint32_t)rd16(p) | (uint32_t)rd16(p + 2) << 16; }
static uint64_t rd64(const uint8_t *p) { return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32; }

size_t st_zip_count(const st_zip *z) { return z->n; }
const st_zip_entry *st_zip_entry_at(const st_zip *z, size_t i) {
    return i < z->n ? &z->e[i] : NULL;
}
const char *st_zip_prefix(const st_zip *z) { return z->prefix; }
st_buf *st_zip_buf(const st_zip *z) { return z->buf; }

const st_zip_entry *st_zip_find(const st_zip *z, const char *rel) {
    for (size_t i = 0; i < z->n; i++)
        if (!strcmp(z->e[i].rel, rel)) return &z->e[i];
    return NULL;
}

void st_zip_close(st_zip *z) {
    if (!z) return;
    if (z->za) zip_discard(z->za);
    for (size_t i = 0; i < z->n; i++) st_free(z->e[i].name);
    st_free(z->e);
    st_free(z->prefix);
    st_free(z->what);
    st_buf_unref(z->buf);
    st_free(z);
}

/* A name is safe when it is relative and never climbs: no leading '/', no '\\', no ".."
 * component, no NUL inside. */
static bool safe_name(const char *s, size_t n) {
    if (n == 0 || s[0] == '/' || memchr(s, '\0', n) || memchr(s, '\\', n)) return false;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && s[j] != '/') j++;
        if (j - i == 2 && s[i] == '.' && s[i + 1] == '.') return false;
        i = j + 1;
    }
    return true;
}

/* Locate the end of central directory; fills the directory's offset, size and count. */
static st_status find_directory(const uint8_t *d, size_t n, uint64_t *off, uint64_t *size,
                                uint64_t *count, st_error *err) {
    if (n < 22)
        return st_errorf(err, ST_ERR_FORMAT, "too short to be a zip archive (%zu bytes)", n);
    size_t lo = n > 22 + 65535 ? n - 22 - 65535 : 0;
    for (size_t p = n - 22 + 1; p-- > lo;) {
        if (rd32(d + p) != 0x06054b50) continue;
        if (p + 22 + rd16(d + p + 20) != n) continue; /* comment must end the file */
        *count = rd16(d + p + 10);
        *size = rd32(d + p + 12);
        *off = rd32(d + p + 16);
        if (p >= 20 && rd32(d + p - 20) == 0x07064b50) { /* zip64 locator */
            uint64_t z64 = rd64(d + p - 20 + 8);
            if (z64 > n - 56 || rd32(d + z64) != 0x06064b50)
                return st_errorf(err, ST_ERR_FORMAT, "truncated or corrupt zip64 directory record");
            *count = rd64(d + z64 + 32);
            *size = rd64(d + z64 + 40);
            *off = rd64(d + z64 + 48);
        }
        if (*off > n || *size > n - *off)
            return st_errorf(
                err, ST_ERR_FORMAT,
                "truncated zip archive: central directory at %llu+%llu beyond %zu bytes",
                (unsigned long long)*off, (unsigned long long)*size, n);
        return ST_OK;
    }
    return st_errorf(err, ST_ERR_FORMAT,
                     "not a zip archive or truncated (no end of central directory)");
}

static st_status read_entries(st_zip *z, st_error *err) {
    const uint8_t *d = z->buf->data;
    size_t n = z->buf->size;
    uint64_t off = 0, size = 0, count = 0;
    st_status s = find_directory(d, n, &off, &size, &count, err);
    if (s) return s;
    if (count > MAX_MEMBERS || count > size / 46)
        return st_errorf(err, ST_ERR_LIMIT, "zip directory claims %llu members in %llu bytes",
                         (unsigned long long)count, (unsigned long long)size);
    if (!(z->e = st_calloc(count ? count : 1, sizeof *z->e))) return st_error_nomem(err);
    const uint8_t *p = d + off, *end = d + off + size;
    for (uint64_t i = 0; i < count; i++) {
        if (end - p < 46 || rd32(p) != 0x02014b50)
            return st_errorf(err, ST_ERR_FORMAT, "truncated zip directory at member %llu",
                             (unsigned long long)i);
        st_zip_entry *e = &z->e[z->n];
        size_t nl = rd16(p + 28), xl = rd16(p + 30), cl = rd16(p + 32);
        if ((size_t)(end - p) < 46 + nl + xl + cl)
            return st_errorf(err, ST_ERR_FORMAT, "truncated zip directory at member %llu",
                             (unsigned long long)i);
        const char *name = (const char *)p + 46;
        if (!safe_name(name, nl))
            return st_errorf(err, ST_ERR_FORMAT,
                             "unsafe member name \"%.*s\" (absolute or climbing with ..)",
                             (int)ST_MIN(nl, 200), name);
        if (rd16(p + 8) & 1)
            return st_errorf(err, ST_ERR_UNSUPPORTED, "member \"%.*s\" is encrypted", (int)nl,
                             name);
        e->method = rd16(p + 10);
        e->crc = rd32(p + 16);
        e->csize = rd32(p + 20);
        e->size = rd32(p + 24);
        uint64_t loc = rd32(p + 42);
        for (const uint8_t *x = p + 46 + nl; x + 4 <= p + 46 + nl + xl;) { /* zip64 extra */
            size_t id = rd16(x), len = rd16(x + 2);
            const uint8_t *v = x + 4, *ve = x + 4 + len;
            if (ve > p + 46 + nl + xl) break;
            if (id == 1) {
                if (e->size == 0xFFFFFFFFu && v + 8 <= ve) e->size = rd64(v), v += 8;
                if (e->csize == 0xFFFFFFFFu && v + 8 <= ve) e->csize = rd64(v), v += 8;
                if (loc == 0xFFFFFFFFu && v + 8 <= ve) loc = rd64(v);
            }
            x = ve;
        }
        if (!(e->name = st_strndup(name, nl))) return st_error_nomem(err);
        e->index = (uint32_t)i;
        z->n++;
        if (e->method != 0 && e->method != 8)
            return st_errorf(err, ST_ERR_UNSUPPORTED, "member \"%s\" uses compression method %d",
                             e->name, e->method);
        if (e->size > MAX_MEMBER_BYTES || e->csize > n || (e->method == 0 && e->size != e->csize) ||
            (e->method == 8 && e->size / MAX_DEFLATE_RATIO > e->csize + 64))
            return st_errorf(err, ST_ERR_LIMIT,
                             "member \"%s\" has an absurd size (%llu bytes from %llu)", e->name,
                             (unsigned long long)e->size, (unsigned long long)e->csize);
        if (loc > n || n - loc < 30 || rd32(d + loc) != 0x04034b50)
            return st_errorf(err, ST_ERR_FORMAT,
                             "member \"%s\": local header missing (truncated archive?)", e->name);
        e->data_off = loc + 30 + rd16(d + loc + 26) + rd16(d + loc + 28);
        if (e->data_off > n || e->csize > n - e->data_off)
            return st_errorf(err, ST_ERR_FORMAT,
                             "member \"%s\" runs past the end of the file (truncated archive?)",
                             e->name);
        p += 46 + nl + xl + cl;
    }
    /* The common top folder: torch.jit.save puts every member under one. */
    size_t pl = 0;
    if (z->n) {
        const char *sl = strchr(z->e[0].name, '/');
        if (sl) {
            pl = (size_t)(sl - z->e[0].name) + 1;
            for (size_t i = 1; i < z->n; i++)
                if (strncmp(z->e[i].name, z->e[0].name, pl)) pl = 0;
        }
    }
    if (!(z->prefix = st_strndup(z->n ? z->e[0].name : "", pl))) return st_error_nomem(err);
    for (size_t i = 0; i < z->n; i++) z->e[i].rel = z->e[i].name + pl;
    return ST_OK;
}

st_status st_zip_open_buf(st_buf *buf, const char *what, st_zip **out, st_error *err) {
    st_zip *z = st_calloc(1, sizeof *z);
    if (!z) return st_error_nomem(err);
    z->buf = st_buf_ref(buf);
    st_status s;
    if (!(z->what = st_strdup(what ? what : "zip archive"))) {
        s = st_error_nomem(err);
        goto fail;
    }
    if ((s = read_entries(z, err))) goto fail;
    *out = z;
    return ST_OK;
fail:
    if (err) /* member names may hold control characters: keep the message one line */
        for (char *c = err->msg; *c; c++)
            if ((unsigned char)*c < 0x20) *c = '?';
    st_zip_close(z);
    return s;
}

st_status st_zip_open(const char *path, st_zip **out, st_error *err) {
    st_buf *b = NULL;
    st_status s = st_buf_map_file(path, &b, err);
    if (s) return s;
    s = st_zip_open_buf(b, path, out, err);
    st_buf_unref(b);
    return s;
}

/* Deflated members go through libzip, opened over the same mapping on first need. */
static st_status inflate_member(st_zip *z, const st_zip_entry *e, st_buf **owner, st_error *err) {
    if (!z->za) {
        zip_error_t ze;
        zip_error_init(&ze);
        zip_source_t *src = zip_source_buffer_create(z->buf->data, z->buf->size, 0, &ze);
        if (src && !(z->za = zip_open_from_source(src, ZIP_RDONLY, &ze))) zip_source_free(src);
        if (!z->za) {
            st_status s = st_errorf(err, ST_ERR_FORMAT, "libzip: %s", zip_error_strerror(&ze));
            zip_error_fini(&ze);
            return s;
        }
        zip_error_fini(&ze);
    }
    if ((zip_int64_t)e->index >= zip_get_num_entries(z->za, 0) ||
        strcmp(zip_get_name(z->za, e->index, ZIP_FL_ENC_RAW)
                   ? zip_get_name(z->za, e->index, ZIP_FL_ENC_RAW)
                   : "",
               e->name))
        return st_errorf(err, ST_ERR_FORMAT, "member \"%s\": directory disagrees with libzip",
                         e->name);
    st_buf *b = st_buf_new_heap(e->size ? e->size : 1);
    if (!b) return st_error_nomem(err);
    zip_file_t *f = zip_fopen_index(z->za, e->index, 0);
    zip_int64_t got = f ? zip_fread(f, b->data, e->size) : -1;
    char extra;
    bool more = f && got == (zip_int64_t)e->size && zip_fread(f, &extra, 1) != 0;
    st_status s = ST_OK;
    if (!f || got != (zip_int64_t)e->size || more)
        s = st_errorf(err, ST_ERR_FORMAT, "member \"%s\": %s", e->name,
                      f ? zip_file_strerror(f) : zip_strerror(z->za));
    if (f) zip_fclose(f);
    if (s) {
        st_buf_unref(b);
        return s;
    }
    b->size = e->size;
    *owner = b;
    return ST_OK;
}

st_status st_zip_read(st_zip *z, const st_zip_entry *e, st_buf **owner, const uint8_t **data,
                      st_error *err) {
    if (e->method == 0) {
        const uint8_t *p = (const uint8_t *)z->buf->data + e->data_off;
        uLong c = crc32(0L, Z_NULL, 0);
        for (uint64_t o = 0; o < e->size; o += 1u << 30)
            c = crc32(c, p + o, (uInt)ST_MIN(e->size - o, (uint64_t)1 << 30));
        if (c != e->crc)
            return st_errorf(err, ST_ERR_FORMAT, "member \"%s\": CRC mismatch", e->name);
        *owner = st_buf_ref(z->buf);
        *data = p;
        return ST_OK;
    }
    st_buf *b = NULL;
    st_status s = inflate_member(z, e, &b, err);
    if (s) return s;
    *owner = b;
    *data = b->data;
    return ST_OK;
}

/* ---- writing ---------------------------------------------------------------------- */
typedef struct wentry {
    char *name;
    uint32_t crc, size, off;
} wentry;

struct st_zip_writer {
    FILE *f;
    char *path;
    uint64_t pos;
    size_t n, cap;
    wentry *e;
};

static void put16(uint8_t *p, unsigned v) { p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8); }
static void put32(uint8_t *p, uint32_t v) { put16(p, v & 0xFFFF), put16(p + 2, v >> 16); }

void st_zip_writer_free(st_zip_writer *w) {
    if (!w) return;
    if (w->f) fclose(w->f);
    for (size_t i = 0; i < w->n; i++) st_free(w->e[i].name);
    st_free(w->e);
    st_free(w->path);
    st_free(w);
}

st_status st_zip_writer_open(const char *path, st_zip_writer **out, st_error *err) {
    st_zip_writer *w = st_calloc(1, sizeof *w);
    if (!w || !(w->path = st_strdup(path))) {
        st_free(w);
        return st_error_nomem(err);
    }
    if (!(w->f = fopen(path, "wb"))) {
        st_zip_writer_free(w);
        return st_errorf(err, ST_ERR_IO, "%s: cannot create", path);
    }
    *out = w;
    return ST_OK;
}

static st_status wr(st_zip_writer *w, const void *p, size_t n, st_error *err) {
    if (n && fwrite(p, 1, n, w->f) != n)
        return st_errorf(err, ST_ERR_IO, "%s: write failed", w->path);
    w->pos += n;
    return ST_OK;
}

st_status st_zip_writer_add(st_zip_writer *w, const char *name, const void *data, size_t n,
                            st_error *err) {
    size_t nl = strlen(name);
    if (n >= 0xFFFFFFFFu || w->pos + n + nl + 200 >= 0xFFFFFFFFu || nl > 0xFFFF)
        return st_errorf(err, ST_ERR_LIMIT, "%s: member \"%s\" too large for a 32-bit zip", w->path,
                         name);
    if (!ST_GROW(w->e, w->cap, w->n + 1)) return st_error_nomem(err);
    wentry *e = &w->e[w->n];
    if (!(e->name = st_strdup(name))) return st_error_nomem(err);
    w->n++;
    e->crc = (uint32_t)crc32(0L, data, (uInt)n);
    e->size = (uint32_t)n;
    e->off = (uint32_t)w->pos;
    /* Pad with an extra field ("FB", as PyTorch's writer does) so the data lands on 64. */
    size_t base = w->pos + 30 + nl, pad = (64 - (base + 4) % 64) % 64;
    uint8_t h[30];
    put32(h, 0x04034b50), put16(h + 4, 20), put16(h + 6, 0), put16(h + 8, 0);
    put16(h + 10, 0), put16(h + 12, 0x21);
    put32(h + 14, e->crc), put32(h + 18, e->size), put32(h + 22, e->size);
    put16(h + 26, (unsigned)nl), put16(h + 28, (unsigned)(4 + pad));
    uint8_t x[4 + 64] = {'F', 'B'};
    put16(x + 2, (unsigned)pad);
    memset(x + 4, 'Z', pad);
    st_status s;
    if ((s = wr(w, h, 30, err)) || (s = wr(w, name, nl, err)) || (s = wr(w, x, 4 + pad, err)) ||
        (s = wr(w, data, n, err)))
        return s;
    return ST_OK;
}

st_status st_zip_writer_finish(st_zip_writer *w, st_error *err) {
    st_status s = ST_OK;
    uint64_t start = w->pos;
    for (size_t i = 0; i < w->n && !s; i++) {
        wentry *e = &w->e[i];
        size_t nl = strlen(e->name);
        uint8_t h[46];
        memset(h, 0, sizeof h);
        put32(h, 0x02014b50), put16(h + 4, 20), put16(h + 6, 20), put16(h + 14, 0x21);
        put32(h + 16, e->crc), put32(h + 20, e->size), put32(h + 24, e->size);
        put16(h + 28, (unsigned)nl), put32(h + 42, e->off);
        if (!(s = wr(w, h, 46, err))) s = wr(w, e->name, nl, err);
    }
    if (!s) {
        if (w->n > 0xFFFF) s = st_errorf(err, ST_ERR_LIMIT, "%s: too many members", w->path);
        uint8_t h[22];
        memset(h, 0, sizeof h);
        put32(h, 0x06054b50), put16(h + 8, (unsigned)w->n), put16(h + 10, (unsigned)w->n);
        put32(h + 12, (uint32_t)(w->pos - start)), put32(h + 16, (uint32_t)start);
        if (!s) s = wr(w, h, 22, err);
    }
    if (fclose(w->f) != 0 && !s) s = st_errorf(err, ST_ERR_IO, "%s: write failed", w->path);
    w->f = NULL;
    st_zip_writer_free(w);
    return s;
}
