/* formats/savedmodel/tf_bundle.c: the LevelDB-style sorted table behind variables.index,
 * tensor bundle reading (every block and tensor checked against its CRC32C) and writing,
 * and the saved_model.pb loader. It must not know the IR: bytes and protobuf trees only. */
#include <snappy-c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tf_bundle.h"

#define TABLE_MAGIC 0xdb4775248b80fb57ull
#define FOOTER_LEN 48
#define RESTART_INTERVAL 16

/* ---- varints ---------------------------------------------------------------------------- */
static bool get_varint(const uint8_t **p, const uint8_t *end, uint64_t *out) {
    uint64_t v = 0;
    for (int shift = 0; shift < 64 && *p < end; shift += 7) {
        uint8_t b = *(*p)++;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *out = v;
            return true;
        }
    }
    return false;
}

static size_t put_varint(uint8_t *p, uint64_t v) {
    size_t n = 0;
    while (v >= 0x80) {
        p[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (uint8_t)v;
    return n;
}

static uint32_t get_u32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put_u32(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

/* ---- table reading ---------------------------------------------------------------------- */
typedef struct kv_list {
    st_tf_kv *v;
    size_t n, cap;
} kv_list;

void st_tf_kvs_free(st_tf_kv *kv, size_t n) {
    if (!kv) return;
    for (size_t i = 0; i < n; i++) {
        st_free(kv[i].key);
        st_free(kv[i].value);
    }
    st_free(kv);
}

/* Read block (off, size) + trailer: check the CRC, decompress; *out is a heap copy. */
static st_status read_block(const char *path, const uint8_t *file, size_t fsize, uint64_t off,
                            uint64_t size, uint8_t **out, size_t *out_n, st_error *err) {
    if (off > fsize || size > fsize - off || fsize - off - size < 5)
        return st_errorf(err, ST_ERR_FORMAT, "%s: block at %llu+%llu lies outside the file", path,
                         (unsigned long long)off, (unsigned long long)size);
    const uint8_t *b = file + off;
    uint8_t type = b[size];
    uint32_t want = st_crc32c_unmask(get_u32(b + size + 1));
    uint32_t got = st_crc32c(st_crc32c(0, b, size), &type, 1);
    if (want != got)
        return st_errorf(err, ST_ERR_FORMAT,
                         "%s: checksum mismatch in the block at offset %llu (stored crc32c %08x, "
                         "computed %08x): the file is corrupted",
                         path, (unsigned long long)off, want, got);
    uint8_t *copy = NULL;
    size_t n = 0;
    if (type == 0) {
        if (!(copy = st_malloc(size ? size : 1))) return st_error_nomem(err);
        memcpy(copy, b, size);
        n = size;
    } else if (type == 1) {
        if (snappy_uncompressed_length((const char *)b, size, &n) != SNAPPY_OK || n > (1u << 30))
            return st_errorf(err, ST_ERR_FORMAT, "%s: bad Snappy block at offset %llu", path,
                             (unsigned long long)off);
        if (!(copy = st_malloc(n ? n : 1))) return st_error_nomem(err);
        size_t got_n = n;
        if (snappy_uncompress((const char *)b, size, (char *)copy, &got_n) != SNAPPY_OK ||
            got_n != n) {
            st_free(copy);
            return st_errorf(err, ST_ERR_FORMAT, "%s: bad Snappy block at offset %llu", path,
                             (unsigned long long)off);
        }
    } else {
        return st_errorf(err, ST_ERR_UNSUPPORTED, "%s: block compression type %u is not known",
                         path, type);
    }
    *out = copy;
    *out_n = n;
    return ST_OK;
}

/* Decode every entry of one block (prefix-compressed keys) into list. */
static st_status parse_block(const char *path, const uint8_t *b, size_t n, kv_list *list,
                             st_error *err) {
    if (n < 4) return st_errorf(err, ST_ERR_FORMAT, "%s: block too short", path);
    uint32_t nrestart = get_u32(b + n - 4);
    if (nrestart > (n - 4) / 4) return st_errorf(err, ST_ERR_FORMAT, "%s: bad restart count", path);
    const uint8_t *p = b, *end = b + n - 4 - 4 * (size_t)nrestart;
    char *prev = NULL;
    size_t prev_len = 0;
    while (p < end) {
        uint64_t shared, unshared, vlen;
        if (!get_varint(&p, end, &shared) || !get_varint(&p, end, &unshared) ||
            !get_varint(&p, end, &vlen) || shared > prev_len || unshared > (size_t)(end - p) ||
            vlen > (size_t)(end - p) - unshared)
            return st_errorf(err, ST_ERR_FORMAT, "%s: malformed block entry", path);
        if (!ST_GROW(list->v, list->cap, list->n + 1)) return st_error_nomem(err);
        st_tf_kv *kv = &list->v[list->n];
        memset(kv, 0, sizeof *kv);
        kv->key_len = shared + unshared;
        if (!(kv->key = st_malloc(kv->key_len + 1)) || !(kv->value = st_malloc(vlen ? vlen : 1))) {
            st_free(kv->key);
            return st_error_nomem(err);
        }
        if (shared) memcpy(kv->key, prev, shared);
        memcpy(kv->key + shared, p, unshared);
        kv->key[kv->key_len] = 0;
        p += unshared;
        memcpy(kv->value, p, vlen);
        kv->value_len = vlen;
        p += vlen;
        prev = kv->key;
        prev_len = kv->key_len;
        list->n++;
    }
    return ST_OK;
}

st_status st_tf_table_read(const char *path, st_tf_kv **out, size_t *nout, st_error *err) {
    st_buf *f = NULL;
    kv_list data = {0}, index = {0};
    uint8_t *blk = NULL;
    size_t blk_n = 0;
    st_status s = st_read_file(path, &f, err);
    if (s) return s;
    const uint8_t *file = f->data;
    size_t fsize = f->size;
    if (fsize < FOOTER_LEN) {
        s = st_errorf(err, ST_ERR_FORMAT, "%s: too short for a table (%zu bytes)", path, fsize);
        goto fail;
    }
    const uint8_t *foot = file + fsize - FOOTER_LEN;
    uint64_t magic = (uint64_t)get_u32(foot + 40) | (uint64_t)get_u32(foot + 44) << 32;
    if (magic != TABLE_MAGIC) {
        s = st_errorf(err, ST_ERR_FORMAT, "%s: bad table magic %016llx", path,
                      (unsigned long long)magic);
        goto fail;
    }
    const uint8_t *p = foot, *pend = foot + 40;
    uint64_t mo, ms, io, is;
    if (!get_varint(&p, pend, &mo) || !get_varint(&p, pend, &ms) || !get_varint(&p, pend, &io) ||
        !get_varint(&p, pend, &is)) {
        s = st_errorf(err, ST_ERR_FORMAT, "%s: bad table footer", path);
        goto fail;
    }
    if ((s = read_block(path, file, fsize, io, is, &blk, &blk_n, err)) ||
        (s = parse_block(path, blk, blk_n, &index, err)))
        goto fail;
    st_free(blk);
    blk = NULL;
    for (size_t i = 0; i < index.n; i++) {
        const uint8_t *h = index.v[i].value, *hend = h + index.v[i].value_len;
        uint64_t bo, bs;
        if (!get_varint(&h, hend, &bo) || !get_varint(&h, hend, &bs)) {
            s = st_errorf(err, ST_ERR_FORMAT, "%s: bad block handle in the index", path);
            goto fail;
        }
        if ((s = read_block(path, file, fsize, bo, bs, &blk, &blk_n, err)) ||
            (s = parse_block(path, blk, blk_n, &data, err)))
            goto fail;
        st_free(blk);
        blk = NULL;
    }
    st_tf_kvs_free(index.v, index.n);
    st_buf_unref(f);
    *out = data.v;
    *nout = data.n;
    return ST_OK;
fail:
    st_free(blk);
    st_tf_kvs_free(index.v, index.n);
    st_tf_kvs_free(data.v, data.n);
    st_buf_unref(f);
    return s;
}

/* ---- table writing ---------------------------------------------------------------------- */
typedef struct bytes {
    uint8_t *p;
    size_t n, cap;
} bytes;

static bool put(bytes *b, const void *d, size_t n) {
    if (!ST_GROW(b->p, b->cap, b->n + n + 1)) return false;
    if (n) memcpy(b->p + b->n, d, n);
    b->n += n;
    return true;
}

static bool put_v(bytes *b, uint64_t v) {
    uint8_t t[10];
    return put(b, t, put_varint(t, v));
}

/* A block of entries with restart points; returns false on OOM. */
static bool build_block(bytes *b, const st_tf_kv *kv, size_t n) {
    uint32_t *restarts = st_calloc(n / RESTART_INTERVAL + 1, sizeof *restarts);
    size_t nr = 0;
    if (!restarts) return false;
    for (size_t i = 0; i < n; i++) {
        size_t shared = 0;
        if (i % RESTART_INTERVAL == 0) {
            restarts[nr++] = (uint32_t)b->n;
        } else {
            const st_tf_kv *pr = &kv[i - 1];
            while (shared < pr->key_len && shared < kv[i].key_len &&
                   pr->key[shared] == kv[i].key[shared])
                shared++;
        }
        if (!put_v(b, shared) || !put_v(b, kv[i].key_len - shared) || !put_v(b, kv[i].value_len) ||
            !put(b, kv[i].key + shared, kv[i].key_len - shared) ||
            !put(b, kv[i].value, kv[i].value_len))
            goto oom;
    }
    if (!nr) restarts[nr++] = 0;
    for (size_t i = 0; i < nr; i++) {
        uint8_t t[4];
        put_u32(t, restarts[i]);
        if (!put(b, t, 4)) goto oom;
    }
    uint8_t t[4];
    put_u32(t, (uint32_t)nr);
    st_free(restarts);
    return put(b, t, 4);
oom:
    st_free(restarts);
    return false;
}

/* Append block + trailer (type 0, masked CRC) to out; off and size receive its handle. */
static bool emit_block(bytes *out, const bytes *blk, uint64_t *off, uint64_t *size) {
    uint8_t trailer[5] = {0};
    uint32_t crc = st_crc32c(st_crc32c(0, blk->p, blk->n), trailer, 1);
    put_u32(trailer + 1, st_crc32c_mask(crc));
    *off = out->n;
    *size = blk->n;
    return put(out, blk->p, blk->n) && put(out, trailer, 5);
}

st_status st_tf_table_write(const char *path, const st_tf_kv *kv, size_t n, st_error *err) {
    bytes out = {0}, blk = {0}, meta = {0}, idx = {0};
    st_status s = ST_OK;
    uint64_t doff, dsize, moff, msize, ioff, isize;
    uint8_t handle[20];
    if (!build_block(&blk, kv, n) || !emit_block(&out, &blk, &doff, &dsize) ||
        !build_block(&meta, NULL, 0) || !emit_block(&out, &meta, &moff, &msize))
        goto oom;
    size_t hl = put_varint(handle, doff);
    hl += put_varint(handle + hl, dsize);
    /* the index key must sort at or after the block's last key: the last key itself */
    st_tf_kv ie = {n ? kv[n - 1].key : (char *)"", n ? kv[n - 1].key_len : 0, handle, hl};
    if (!build_block(&idx, n ? &ie : NULL, n ? 1 : 0) || !emit_block(&out, &idx, &ioff, &isize))
        goto oom;
    uint8_t foot[FOOTER_LEN] = {0};
    size_t fl = put_varint(foot, moff);
    fl += put_varint(foot + fl, msize);
    fl += put_varint(foot + fl, ioff);
    fl += put_varint(foot + fl, isize);
    put_u32(foot + 40, (uint32_t)TABLE_MAGIC);
    put_u32(foot + 44, (uint32_t)(TABLE_MAGIC >> 32));
    if (!put(&out, foot, FOOTER_LEN)) goto oom;
    s = st_write_file(path, out.p, out.n, err);
    goto done;
oom:
    s = st_error_nomem(err);
done:
    st_free(out.p);
    st_free(blk.p);
    st_free(meta.p);
    st_free(idx.p);
    return s;
}

/* ---- bundles ---------------------------------------------------------------------------- */
struct st_tf_bundle {
    char *prefix;
    st_tf_kv *kv;
    size_t n;                              /* kv entries, header included */
    Stele__Tf__BundleEntryProto **entries; /* parallel to kv; NULL for the header */
    Stele__Tf__BundleHeaderProto *header;
    int nshards;
    st_buf **shards; /* mapped lazily-opened shards */
};

void st_tf_bundle_free(st_tf_bundle *b) {
    if (!b) return;
    for (size_t i = 0; i < b->n; i++)
        if (b->entries && b->entries[i])
            stele__tf__bundle_entry_proto__free_unpacked(b->entries[i], NULL);
    if (b->header) stele__tf__bundle_header_proto__free_unpacked(b->header, NULL);
    for (int i = 0; b->shards && i < b->nshards; i++) st_buf_unref(b->shards[i]);
    st_free(b->shards);
    st_free(b->entries);
    st_tf_kvs_free(b->kv, b->n);
    st_free(b->prefix);
    st_free(b);
}

st_status st_tf_bundle_open(const char *prefix, st_tf_bundle **out, st_error *err) {
    st_status s;
    char path[4096];
    st_tf_bundle *b = st_calloc(1, sizeof *b);
    if (!b || !(b->prefix = st_strdup(prefix))) {
        st_free(b);
        return st_error_nomem(err);
    }
    snprintf(path, sizeof path, "%s.index", prefix);
    if ((s = st_tf_table_read(path, &b->kv, &b->n, err))) goto fail;
    if (!(b->entries = st_calloc(b->n ? b->n : 1, sizeof *b->entries))) {
        s = st_error_nomem(err);
        goto fail;
    }
    for (size_t i = 0; i < b->n; i++) {
        st_tf_kv *kv = &b->kv[i];
        if (kv->key_len == 0) {
            b->header = stele__tf__bundle_header_proto__unpack(NULL, kv->value_len, kv->value);
            if (!b->header) {
                s = st_errorf(err, ST_ERR_FORMAT, "%s: unreadable BundleHeaderProto", path);
                goto fail;
            }
            continue;
        }
        b->entries[i] = stele__tf__bundle_entry_proto__unpack(NULL, kv->value_len, kv->value);
        if (!b->entries[i]) {
            s = st_errorf(err, ST_ERR_FORMAT, "%s: unreadable BundleEntryProto for \"%s\"", path,
                          kv->key);
            goto fail;
        }
    }
    if (!b->header) {
        s = st_errorf(err, ST_ERR_FORMAT, "%s: no bundle header (key \"\")", path);
        goto fail;
    }
    if (b->header->endianness != STELE__TF__BUNDLE_HEADER_PROTO__ENDIANNESS__LITTLE) {
        s = st_errorf(err, ST_ERR_UNSUPPORTED, "%s: big-endian bundles are not supported", path);
        goto fail;
    }
    b->nshards = b->header->num_shards;
    if (b->nshards < 1 || b->nshards > 100000) {
        s = st_errorf(err, ST_ERR_FORMAT, "%s: bad shard count %d", path, b->nshards);
        goto fail;
    }
    if (!(b->shards = st_calloc((size_t)b->nshards, sizeof *b->shards))) {
        s = st_error_nomem(err);
        goto fail;
    }
    *out = b;
    return ST_OK;
fail:
    st_tf_bundle_free(b);
    return s;
}

size_t st_tf_bundle_count(const st_tf_bundle *b) { return b->n - (b->header ? 1 : 0); }

const char *st_tf_bundle_key(const st_tf_bundle *b, size_t i) {
    for (size_t k = 0; k < b->n; k++) {
        if (!b->entries[k]) continue;
        if (i-- == 0) return b->kv[k].key;
    }
    return NULL;
}

const Stele__Tf__BundleEntryProto *st_tf_bundle_entry(const st_tf_bundle *b, const char *key) {
    size_t lo = 0, hi = b->n; /* keys are sorted bytewise */
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(b->kv[mid].key, key);
        if (!c) return b->entries[mid];
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    for (size_t k = 0; k < b->n; k++) /* in case a writer did not sort */
        if (!strcmp(b->kv[k].key, key)) return b->entries[k];
    return NULL;
}

/* String tensors are stored as varint64 lengths, a masked CRC32C of the lengths, then the
 * bytes; the entry's CRC32C runs over each length as a little-endian uint32, the 4 stored
 * checksum bytes and the string bytes. ~0 (never a match in practice) when malformed. */
static uint32_t string_crc(const Stele__Tf__BundleEntryProto *e, const uint8_t *p, size_t n) {
    size_t count = 1;
    for (size_t d = 0; e->shape && d < e->shape->n_dim; d++)
        if (e->shape->dim[d]->size < 0 || !st_mul_ok(count, (size_t)e->shape->dim[d]->size, &count))
            return ~0u;
    const uint8_t *q = p, *end = p + n;
    uint32_t crc = 0;
    for (size_t i = 0; i < count; i++) {
        uint64_t len;
        if (!get_varint(&q, end, &len)) return ~0u;
        uint8_t le[4];
        put_u32(le, (uint32_t)len);
        crc = st_crc32c(crc, le, 4);
    }
    if (end - q < 4) return ~0u;
    crc = st_crc32c(crc, q, 4);
    q += 4;
    return st_crc32c(crc, q, (size_t)(end - q));
}

st_status st_tf_bundle_data(const st_tf_bundle *b, const char *key, const uint8_t **data,
                            size_t *size, st_buf **buf, st_error *err) {
    const Stele__Tf__BundleEntryProto *e = st_tf_bundle_entry(b, key);
    if (!e)
        return st_errorf(err, ST_ERR_FORMAT, "%s: no tensor \"%s\" in the bundle", b->prefix, key);
    if (e->n_slices)
        return st_errorf(err, ST_ERR_UNSUPPORTED, "%s: \"%s\" is stored in slices", b->prefix, key);
    if (e->shard_id < 0 || e->shard_id >= b->nshards)
        return st_errorf(err, ST_ERR_FORMAT, "%s: \"%s\" names shard %d of %d", b->prefix, key,
                         e->shard_id, b->nshards);
    char path[4096];
    snprintf(path, sizeof path, "%s.data-%05d-of-%05d", b->prefix, e->shard_id, b->nshards);
    if (!b->shards[e->shard_id]) {
        st_status s = st_read_file(path, &b->shards[e->shard_id], err);
        if (s) return s;
    }
    st_buf *sh = b->shards[e->shard_id];
    if (e->offset < 0 || e->size < 0 || (uint64_t)e->offset > sh->size ||
        (uint64_t)e->size > sh->size - (uint64_t)e->offset)
        return st_errorf(err, ST_ERR_FORMAT,
                         "%s: \"%s\" (%lld bytes at %lld) lies outside the shard", path, key,
                         (long long)e->size, (long long)e->offset);
    const uint8_t *p = (const uint8_t *)sh->data + e->offset;
    uint32_t got = e->dtype == STELE__TF__DATA_TYPE__DT_STRING ? string_crc(e, p, (size_t)e->size)
                                                               : st_crc32c(0, p, (size_t)e->size);
    if (st_crc32c_unmask(e->crc32c) != got)
        return st_errorf(err, ST_ERR_FORMAT,
                         "%s: checksum mismatch for \"%s\" (stored crc32c %08x, computed %08x): "
                         "the data shard is corrupted",
                         path, key, st_crc32c_unmask(e->crc32c), got);
    *data = p;
    *size = (size_t)e->size;
    *buf = st_buf_ref(sh);
    return ST_OK;
}

static int cmp_kv(const void *a, const void *b) {
    const st_tf_kv *x = a, *y = b;
    size_t n = ST_MIN(x->key_len, y->key_len);
    int c = memcmp(x->key, y->key, n);
    return c ? c : (x->key_len > y->key_len) - (x->key_len < y->key_len);
}

st_status st_tf_bundle_write(const char *prefix, const st_tf_bundle_item *items, size_t n,
                             st_error *err) {
    st_status s = ST_OK;
    bytes data = {0};
    st_tf_kv *kv = st_calloc(n + 1, sizeof *kv);
    Stele__Tf__TensorShapeProto__Dim *dims = NULL;
    Stele__Tf__TensorShapeProto__Dim **dimp = NULL;
    size_t ndims = 0;
    for (size_t i = 0; i < n; i++) ndims += (size_t)items[i].ndim;
    dims = st_calloc(ndims + 1, sizeof *dims);
    dimp = st_calloc(ndims + 1, sizeof *dimp);
    if (!kv || !dims || !dimp) goto oom;
    Stele__Tf__VersionDef ver = STELE__TF__VERSION_DEF__INIT;
    ver.producer = 1;
    Stele__Tf__BundleHeaderProto hdr = STELE__TF__BUNDLE_HEADER_PROTO__INIT;
    hdr.num_shards = 1;
    hdr.version = &ver;
    kv[0].key = st_strdup("");
    kv[0].value_len = stele__tf__bundle_header_proto__get_packed_size(&hdr);
    if (!kv[0].key || !(kv[0].value = st_malloc(kv[0].value_len + 1))) goto oom;
    stele__tf__bundle_header_proto__pack(&hdr, kv[0].value);
    size_t di = 0;
    for (size_t i = 0; i < n; i++) {
        const st_tf_bundle_item *it = &items[i];
        Stele__Tf__TensorShapeProto shape = STELE__TF__TENSOR_SHAPE_PROTO__INIT;
        shape.dim = dimp + di;
        shape.n_dim = (size_t)it->ndim;
        for (int d = 0; d < it->ndim; d++, di++) {
            stele__tf__tensor_shape_proto__dim__init(&dims[di]);
            dims[di].size = it->dims[d];
            dimp[di] = &dims[di];
        }
        Stele__Tf__BundleEntryProto e = STELE__TF__BUNDLE_ENTRY_PROTO__INIT;
        e.dtype = (Stele__Tf__DataType)it->dtype;
        e.shape = &shape;
        e.shard_id = 0;
        e.offset = (int64_t)data.n;
        e.size = (int64_t)it->size;
        e.crc32c = st_crc32c_mask(st_crc32c(0, it->data, it->size));
        if (!put(&data, it->data, it->size)) goto oom;
        kv[i + 1].key = st_strdup(it->key);
        kv[i + 1].key_len = strlen(it->key);
        kv[i + 1].value_len = stele__tf__bundle_entry_proto__get_packed_size(&e);
        if (!kv[i + 1].key || !(kv[i + 1].value = st_malloc(kv[i + 1].value_len + 1))) goto oom;
        stele__tf__bundle_entry_proto__pack(&e, kv[i + 1].value);
    }
    qsort(kv, n + 1, sizeof *kv, cmp_kv);
    for (size_t i = 1; i < n + 1; i++)
        if (cmp_kv(&kv[i - 1], &kv[i]) == 0) {
            s = st_errorf(err, ST_ERR_INVALID, "%s: checkpoint key \"%s\" is used twice", prefix,
                          kv[i].key);
            goto done;
        }
    char path[4096];
    snprintf(path, sizeof path, "%s.data-00000-of-00001", prefix);
    if ((s = st_write_file(path, data.p ? (void *)data.p : (void *)"", data.n, err))) goto done;
    snprintf(path, sizeof path, "%s.index", prefix);
    s = st_tf_table_write(path, kv, n + 1, err);
    goto done;
oom:
    s = st_error_nomem(err);
done:
    st_tf_kvs_free(kv, kv ? n + 1 : 0);
    st_free(dims);
    st_free(dimp);
    st_free(data.p);
    return s;
}

/* ---- saved_model.pb ------------------------------------------------------------------- */
st_status st_tf_saved_model_load(const char *dir, Stele__Tf__SavedModel **out, st_error *err) {
    char path[4096];
    st_buf *f = NULL;
    snprintf(path, sizeof path, "%s/saved_model.pb", dir);
    st_status s = st_read_file(path, &f, err);
    if (s) return s;
    Stele__Tf__SavedModel *sm = stele__tf__saved_model__unpack(NULL, f->size, f->data);
    st_buf_unref(f);
    if (!sm) return st_errorf(err, ST_ERR_FORMAT, "%s: not a SavedModel protobuf", path);
    *out = sm;
    return ST_OK;
}

void st_tf_saved_model_free(Stele__Tf__SavedModel *sm) {
    if (sm) stele__tf__saved_model__free_unpacked(sm, NULL);
}
