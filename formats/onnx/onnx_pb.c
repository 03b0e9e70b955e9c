/* formats/onnx/onnx_pb.c: ONNX protobuf decoding and encoding with protobuf-c into arenas,
 * a wire-level pre-check (truncation, garbage, nesting depth) that gives one-line reasons
 * where protobuf-c only says "failed", a compaction pass that keeps large raw_data in the
 * model's mapping instead of letting protobuf-c copy it, and the hand-written onnx-data.proto
 * wrappers. Knows nothing of the IR: converters/onnx maps these trees to and from it. */
#include <string.h>
#include <sys/mman.h>

#include "onnx_pb.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the ONNX codec assumes a little-endian host (raw_data is little-endian)"
#endif

/* ---- arena allocator ---------------------------------------------------------------- */
typedef struct arena_alloc_ctx {
    st_arena *arena;
    bool failed; /* an allocation failed: unpack's NULL means out of memory, not bad bytes */
} arena_alloc_ctx;

static void *arena_alloc(void *ud, size_t n) {
    arena_alloc_ctx *c = ud;
    void *p = st_arena_alloc(c->arena, n ? n : 1);
    if (!p) c->failed = true;
    return p;
}

static void arena_free(void *ud, void *p) {
    (void)ud;
    (void)p; /* the whole tree goes with its arena */
}

/* ---- wire reader ------------------------------------------------------------------- */
typedef enum {
    WIRE_OK = 0,
    WIRE_TRUNC, /* a field runs past the end of its enclosing message */
    WIRE_BAD,   /* not protobuf: bad tag, wire type or varint */
    WIRE_DEEP,  /* messages nested deeper than ST_ONNX_MAX_DEPTH */
} wire_status;

typedef struct wire {
    const uint8_t *p;
    size_t n, i;
} wire;

static wire_status wire_varint(wire *w, uint64_t *out) {
    uint64_t v = 0;
    for (int shift = 0; shift < 70; shift += 7) {
        if (w->i >= w->n) return WIRE_TRUNC;
        uint8_t b = w->p[w->i++];
        if (shift == 63 && b > 1) return WIRE_BAD;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *out = v;
            return WIRE_OK;
        }
    }
    return WIRE_BAD;
}

/* One field: number, wire type, the varint value (wire type 0) or the payload (type 2). */
typedef struct wire_field {
    uint32_t num;
    int type;
    uint64_t v;
    const uint8_t *data;
    size_t len;
} wire_field;

static wire_status wire_next(wire *w, wire_field *f) {
    uint64_t tag;
    wire_status s = wire_varint(w, &tag);
    if (s) return s;
    f->num = (uint32_t)(tag >> 3);
    f->type = (int)(tag & 7);
    if ((tag >> 3) == 0 || (tag >> 3) > 536870911u) return WIRE_BAD;
    f->data = NULL;
    f->len = 0;
    f->v = 0;
    switch (f->type) {
    case 0: return wire_varint(w, &f->v);
    case 1:
        if (w->n - w->i < 8) return WIRE_TRUNC;
        w->i += 8;
        return WIRE_OK;
    case 5:
        if (w->n - w->i < 4) return WIRE_TRUNC;
        w->i += 4;
        return WIRE_OK;
    case 2: {
        uint64_t len;
        if ((s = wire_varint(w, &len))) return s;
        if (len > w->n - w->i) return WIRE_TRUNC;
        f->data = w->p + w->i;
        f->len = (size_t)len;
        w->i += (size_t)len;
        return WIRE_OK;
    }
    default: return WIRE_BAD; /* groups (3, 4) are not used by ONNX; 6, 7 do not exist */
    }
}

static size_t varint_size(uint64_t v) {
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

static uint8_t *put_varint(uint8_t *o, uint64_t v) {
    while (v >= 0x80) {
        *o++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *o++ = (uint8_t)v;
    return o;
}

static wire_status wire_scan(const ProtobufCMessageDescriptor *d, const uint8_t *p, size_t n,
                             int depth) {
    wire w = {p, n, 0};
    while (w.i < w.n) {
        wire_field f;
        wire_status s = wire_next(&w, &f);
        if (s) return s;
        if (f.type != 2 || !d) continue;
        const ProtobufCFieldDescriptor *fd = protobuf_c_message_descriptor_get_field(d, f.num);
        if (!fd || fd->type != PROTOBUF_C_TYPE_MESSAGE) continue;
        if (depth + 1 > ST_ONNX_MAX_DEPTH) return WIRE_DEEP;
        if ((s = wire_scan(fd->descriptor, f.data, f.len, depth + 1))) return s;
    }
    return WIRE_OK;
}

static st_status wire_error(const char *label, wire_status s, st_error *err) {
    switch (s) {
    case WIRE_TRUNC: return st_errorf(err, ST_ERR_FORMAT, "%s: truncated", label);
    case WIRE_DEEP:
        return st_errorf(err, ST_ERR_LIMIT, "%s: messages nested deeper than %d levels", label,
                         ST_ONNX_MAX_DEPTH);
    default:
        return st_errorf(err, ST_ERR_FORMAT, "%s: not an ONNX model (protobuf parse failed)",
                         label);
    }
}

st_status st_onnx_pb_check(const char *label, const ProtobufCMessageDescriptor *d, const uint8_t *p,
                           size_t n, st_error *err) {
    wire_status s = wire_scan(d, p, n, 0);
    return s ? wire_error(label, s, err) : ST_OK;
}

st_status st_onnx_pb_unpack(const char *label, const ProtobufCMessageDescriptor *d,
                            const uint8_t *p, size_t n, st_arena *arena, ProtobufCMessage **out,
                            st_error *err) {
    st_status s = st_onnx_pb_check(label, d, p, n, err);
    if (s) return s;
    arena_alloc_ctx ac = {arena, false};
    ProtobufCAllocator pa = {arena_alloc, arena_free, &ac};
    ProtobufCMessage *msg = protobuf_c_message_unpack(d, &pa, n, p);
    if (!msg && ac.failed) return st_error_nomem(err);
    if (!msg) /* the wire was fine, so a field's content was wrong */
        return st_errorf(err, ST_ERR_FORMAT, "%s: not an ONNX model (protobuf parse failed)",
                         label);
    *out = msg;
    return ST_OK;
}

/* ---- zero-copy raw_data ------------------------------------------------------------- */
/* The compact copy marks a payload left in the file with this TensorProto field (a number
 * onnx.proto does not use; the file's own fields of that number are dropped, so a marker
 * can only come from here): 16 bytes, the payload's offset and length in the mapping,
 * little-endian. */
#define SPAN_FIELD 536870911u
#define SPAN_BYTES 16u
#define TP_DATA_TYPE 2u /* TensorProto.data_type */
#define TP_RAW_DATA 9u  /* TensorProto.raw_data */

/* Messages that may hold a TensorProto somewhere below: the walk descends only into these
 * and copies every other field verbatim. */
static const ProtobufCMessageDescriptor *const tensor_holders[] = {
    &onnx__model_proto__descriptor,         /* graph, training_info, functions */
    &onnx__graph_proto__descriptor,         /* initializer, sparse_initializer, node */
    &onnx__node_proto__descriptor,          /* attribute */
    &onnx__attribute_proto__descriptor,     /* t, tensors, g, graphs, sparse tensors */
    &onnx__sparse_tensor_proto__descriptor, /* values, indices */
    &onnx__function_proto__descriptor,      /* node */
    &onnx__training_info_proto__descriptor, /* initialization, algorithm */
    &onnx__tensor_proto__descriptor,        /* raw_data itself */
};

static bool holds_tensors(const ProtobufCMessageDescriptor *d) {
    for (size_t i = 0; i < ST_ARRAY_LEN(tensor_holders); i++)
        if (tensor_holders[i] == d) return true;
    return false;
}

/* Alignment the IR needs for a TensorProto.DataType's elements (1 for unknown types). */
static size_t onnx_type_align(uint64_t dt) {
    static const uint8_t align[] = {
        1, /* 0 UNDEFINED */
        4, /* 1 FLOAT */
        1, /* 2 UINT8 */
        1, /* 3 INT8 */
        2, /* 4 UINT16 */
        2, /* 5 INT16 */
        4, /* 6 INT32 */
        8, /* 7 INT64 */
        1, /* 8 STRING */
        1, /* 9 BOOL */
        2, /* 10 FLOAT16 */
        8, /* 11 DOUBLE */
        4, /* 12 UINT32 */
        8, /* 13 UINT64 */
        4, /* 14 COMPLEX64: float pairs */
        8, /* 15 COMPLEX128: double pairs */
        2, /* 16 BFLOAT16 */
    };
    return dt < ST_ARRAY_LEN(align) ? align[dt] : 1;
}

typedef struct zc_walk {
    uint8_t *base;  /* the mapped file */
    size_t min_len; /* payloads at least this long stay in the file */
    bool movable;   /* the mapping is writable: misaligned payloads may move back */
    size_t floor;   /* a moved payload must start at or after this offset */
    size_t n_spans; /* payloads left in the file */
    size_t n_misaligned;
    size_t *sizes; /* compacted sizes of the messages descended into, in walk order */
    size_t n_sizes, cap_sizes, next_size;
} zc_walk;

/* One TensorProto's last raw_data (protobuf keeps the last of a repeated singular field) and
 * its data type. */
static void tensor_scan(const uint8_t *p, size_t n, size_t *last_raw, uint64_t *dtype) {
    wire w = {p, n, 0};
    *last_raw = SIZE_MAX;
    *dtype = 0;
    for (size_t k = 0; w.i < w.n; k++) {
        wire_field f;
        if (wire_next(&w, &f)) return; /* checked before: cannot happen */
        if (f.num == TP_RAW_DATA && f.type == 2) *last_raw = k;
        if (f.num == TP_DATA_TYPE && f.type == 0) *dtype = f.v;
    }
}

/* Compact message `d` (n bytes at p, inside the mapping): with o NULL, compute the compacted
 * size into *out_n (recording nested sizes); else write it to o, consuming those sizes.
 * Only the sizing pass allocates: false means out of memory. */
static bool zc_msg(zc_walk *z, const ProtobufCMessageDescriptor *d, const uint8_t *p, size_t n,
                   uint8_t *o, size_t *out_n) {
    bool tensor = d == &onnx__tensor_proto__descriptor;
    size_t last_raw = SIZE_MAX, total = 0;
    uint64_t dtype = 0;
    if (tensor) tensor_scan(p, n, &last_raw, &dtype);
    wire w = {p, n, 0};
    for (size_t k = 0; w.i < w.n; k++) {
        size_t start = w.i;
        wire_field f;
        if (wire_next(&w, &f)) break; /* checked before: cannot happen */
        size_t flen = w.i - start;    /* the whole field as stored */
        if (tensor && f.num == SPAN_FIELD) continue;
        if (tensor && f.num == TP_RAW_DATA && f.type == 2) {
            if (k != last_raw) continue; /* overridden by a later raw_data */
            if (f.len >= z->min_len) {
                size_t off = (size_t)(f.data - z->base), mis = off % onnx_type_align(dtype);
                if (!o) {
                    z->n_spans++;
                    if (mis) z->n_misaligned++;
                } else {
                    /* bytes in [floor, off) are wire data already decoded (or ignored) */
                    if (mis && z->movable && off - mis >= z->floor) {
                        memmove(z->base + off - mis, f.data, f.len);
                        off -= mis;
                    }
                    z->floor = (size_t)(f.data - z->base) + f.len;
                    uint8_t *q = put_varint(o + total, ((uint64_t)SPAN_FIELD << 3) | 2);
                    *q++ = SPAN_BYTES;
                    uint64_t span[2] = {off, f.len};
                    memcpy(q, span, SPAN_BYTES);
                }
                total += varint_size(((uint64_t)SPAN_FIELD << 3) | 2) + 1 + SPAN_BYTES;
                continue;
            }
        }
        const ProtobufCFieldDescriptor *fd =
            f.type == 2 && !tensor ? protobuf_c_message_descriptor_get_field(d, f.num) : NULL;
        if (fd && fd->type == PROTOBUF_C_TYPE_MESSAGE && holds_tensors(fd->descriptor)) {
            size_t sub, slot = 0;
            uint64_t tag = ((uint64_t)f.num << 3) | 2;
            if (!o) {
                if (!ST_GROW(z->sizes, z->cap_sizes, z->n_sizes + 1)) return false;
                slot = z->n_sizes++;
                if (!zc_msg(z, fd->descriptor, f.data, f.len, NULL, &sub)) return false;
                z->sizes[slot] = sub;
            } else {
                sub = z->sizes[z->next_size++];
                uint8_t *q = put_varint(put_varint(o + total, tag), sub);
                size_t wrote;
                (void)zc_msg(z, fd->descriptor, f.data, f.len, q, &wrote);
                ST_ASSERT(wrote == sub);
            }
            total += varint_size(tag) + varint_size(sub) + sub;
            continue;
        }
        if (o) memcpy(o + total, p + start, flen);
        total += flen;
    }
    *out_n = total;
    return true;
}

/* Unpack the ModelProto in `file` with large raw_data payloads left in the mapping. */
static st_status unpack_compact(const char *path, st_buf *file, st_arena *arena,
                                ProtobufCMessage **out, size_t *n_spans, st_error *err) {
    zc_walk z = {.base = file->data, .min_len = ST_ONNX_SPAN_MIN};
    uint8_t *copy = NULL;
    size_t n = 0;
    st_status s =
        st_onnx_pb_check(path, &onnx__model_proto__descriptor, file->data, file->size, err);
    if (s) return s;
    if (!zc_msg(&z, &onnx__model_proto__descriptor, file->data, file->size, NULL, &n)) {
        s = st_error_nomem(err);
        goto fail;
    }
    if (!(copy = st_malloc(n ? n : 1))) {
        s = st_error_nomem(err);
        goto fail;
    }
    /* A private mapping may be written: the touched pages become this process's own copy
     * (the file is unchanged). Read-only again before anything borrows from it. */
    if (z.n_misaligned && mprotect(file->data, file->size, PROT_READ | PROT_WRITE) == 0)
        z.movable = true;
    size_t wrote;
    (void)zc_msg(&z, &onnx__model_proto__descriptor, file->data, file->size, copy, &wrote);
    ST_ASSERT(wrote == n && z.next_size == z.n_sizes);
    if (z.movable) (void)mprotect(file->data, file->size, PROT_READ);
    s = st_onnx_pb_unpack(path, &onnx__model_proto__descriptor, copy, n, arena, out, err);
    if (s) goto fail;
    st_free(copy);
    st_free(z.sizes);
    *n_spans = z.n_spans;
    return ST_OK;
fail:
    st_free(copy);
    st_free(z.sizes);
    return s;
}

bool st_onnx_pb_raw_span(const Onnx__TensorProto *tp, const st_buf *file, const uint8_t **data,
                         size_t *len) {
    if (!file) return false;
    for (unsigned i = 0; i < tp->base.n_unknown_fields; i++) {
        const ProtobufCMessageUnknownField *u = &tp->base.unknown_fields[i];
        if (u->tag != SPAN_FIELD || u->wire_type != PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED) continue;
        /* protobuf-c keeps the length prefix with the payload */
        const uint8_t *q = u->data;
        if (u->len == SPAN_BYTES + 1 && q[0] == SPAN_BYTES) q++;
        else if (u->len != SPAN_BYTES) continue;
        uint64_t span[2];
        memcpy(span, q, SPAN_BYTES);
        if (span[0] > file->size || span[1] > file->size - span[0]) return false;
        *data = (const uint8_t *)file->data + span[0];
        *len = (size_t)span[1];
        return true;
    }
    return false;
}

st_status st_onnx_pb_load_model(const char *path, st_arena **arena_out, Onnx__ModelProto **out,
                                st_buf **file_out, st_error *err) {
    st_buf *file = NULL;
    st_arena *arena = NULL;
    ProtobufCMessage *msg = NULL;
    size_t n_spans = 0;
    st_status s = st_buf_map_file(path, &file, err);
    if (s) return s;
    if (file->size == 0) {
        s = st_errorf(err, ST_ERR_FORMAT, "%s: not an ONNX model (empty file)", path);
        goto fail;
    }
    if (!(arena = st_arena_new(1 << 20))) {
        s = st_error_nomem(err);
        goto fail;
    }
    if (file_out) s = unpack_compact(path, file, arena, &msg, &n_spans, err);
    else
        s = st_onnx_pb_unpack(path, &onnx__model_proto__descriptor, file->data, file->size, arena,
                              &msg, err);
    if (s) goto fail;
    Onnx__ModelProto *mp = (Onnx__ModelProto *)msg;
    if (!mp->graph) {
        s = st_errorf(err, ST_ERR_FORMAT, "%s: not an ONNX model (no graph)", path);
        goto fail;
    }
    if (file_out) {
        *file_out = n_spans ? file : NULL;
        if (n_spans) file = NULL; /* the caller's reference now */
    }
    st_buf_unref(file);
    *arena_out = arena;
    *out = mp;
    return ST_OK;
fail:
    st_arena_free(arena);
    st_buf_unref(file);
    return s;
}

/* ---- sniffing -------------------------------------------------------------------- */
/* ModelProto's fields: number and wire type. */
static const struct {
    uint32_t num;
    int type;
} model_fields[] = {
    {1, 0},  /* ir_version */
    {2, 2},  /* producer_name */
    {3, 2},  /* producer_version */
    {4, 2},  /* domain */
    {5, 0},  /* model_version */
    {6, 2},  /* doc_string */
    {7, 2},  /* graph */
    {8, 2},  /* opset_import */
    {14, 2}, /* metadata_props */
    {20, 2}, /* training_info */
    {25, 2}, /* functions */
};

static bool printable(const uint8_t *p, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (p[i] < 0x20 && p[i] != '\t' && p[i] != '\n' && p[i] != '\r') return false;
    return true;
}

bool st_onnx_pb_sniff_model(const unsigned char *data, size_t n) {
    wire w = {data, n, 0};
    int fields = 0;
    bool anchor = false; /* ir_version or graph seen */
    while (w.i < w.n && fields < 64) {
        size_t start = w.i;
        wire_field f;
        wire_status s = wire_next(&w, &f);
        bool known = false;
        for (size_t k = 0; k < ST_ARRAY_LEN(model_fields); k++)
            if (model_fields[k].num == f.num && model_fields[k].type == f.type) known = true;
        if (s == WIRE_TRUNC) {
            /* the prefix ends inside this field: judge it by its tag and length alone */
            wire t = {data, n, start};
            uint64_t tag, len = 0;
            if (wire_varint(&t, &tag) != WIRE_OK) return anchor;
            f.num = (uint32_t)(tag >> 3);
            f.type = (int)(tag & 7);
            if (f.type == 2 && wire_varint(&t, &len) == WIRE_BAD) return false;
            known = false;
            for (size_t k = 0; k < ST_ARRAY_LEN(model_fields); k++)
                if (model_fields[k].num == f.num && model_fields[k].type == f.type) known = true;
            if ((f.num == 2 || f.num == 3 || f.num == 4) &&
                (len > 4096 || !printable(data + t.i, n - t.i)))
                return false;
            return known && (anchor || f.num == 7);
        }
        if (s || !known) return false;
        /* names and versions are short text; a SavedModel's meta graph is not */
        if ((f.num == 2 || f.num == 3 || f.num == 4) && (f.len > 4096 || !printable(f.data, f.len)))
            return false;
        if (f.num == 1 && f.v > 1000) return false;
        if (f.num == 1 || f.num == 7) anchor = true;
        fields++;
    }
    return fields > 0 && anchor;
}

/* ---- onnx-data.proto wrappers ------------------------------------------------------ */
static st_status data_unpack_tensor(const char *label, const wire_field *f, st_arena *arena,
                                    Onnx__TensorProto **out, st_error *err) {
    ProtobufCMessage *m = NULL;
    st_status s =
        st_onnx_pb_unpack(label, &onnx__tensor_proto__descriptor, f->data, f->len, arena, &m, err);
    if (s) return s;
    *out = (Onnx__TensorProto *)m;
    return ST_OK;
}

static const char *const elem_names[] = {"undefined", "tensor", "sparse tensor",
                                         "sequence",  "map",    "optional"};

static st_status data_parse(const char *label, st_onnx_msg msg, const uint8_t *p, size_t n,
                            st_arena *arena, int depth, st_onnx_data **out, st_error *err) {
    st_onnx_data *d = st_arena_alloc(arena, sizeof *d);
    if (!d) return st_error_nomem(err);
    memset(d, 0, sizeof *d);
    d->msg = msg;
    if (msg == ST_ONNX_MSG_TENSOR) {
        ProtobufCMessage *m = NULL;
        st_status s =
            st_onnx_pb_unpack(label, &onnx__tensor_proto__descriptor, p, n, arena, &m, err);
        if (s) return s;
        d->tensor = (Onnx__TensorProto *)m;
        d->name = d->tensor->name;
        *out = d;
        return ST_OK;
    }
    /* first pass: count tensor_values so the array is allocated once */
    size_t count = 0;
    wire w = {p, n, 0};
    while (w.i < w.n) {
        wire_field f;
        wire_status ws = wire_next(&w, &f);
        if (ws)
            return ws == WIRE_TRUNC
                       ? st_errorf(err, ST_ERR_FORMAT, "%s: truncated", label)
                       : st_errorf(err, ST_ERR_FORMAT, "%s: not a %s (protobuf parse failed)",
                                   label,
                                   msg == ST_ONNX_MSG_SEQUENCE ? "SequenceProto" : "OptionalProto");
        if (f.num == 3 && f.type == 2) count++;
    }
    if (msg == ST_ONNX_MSG_OPTIONAL && count > 1)
        return st_errorf(err, ST_ERR_FORMAT, "%s: OptionalProto holds %zu tensors", label, count);
    if (count && msg == ST_ONNX_MSG_SEQUENCE &&
        !(d->tensors = st_arena_alloc(arena, count * sizeof *d->tensors)))
        return st_error_nomem(err);
    w.i = 0;
    while (w.i < w.n) {
        wire_field f;
        (void)wire_next(&w, &f); /* checked above */
        st_status s = ST_OK;
        switch (f.num) {
        case 1: /* name */
            if (f.type != 2) break;
            if (!(d->name = st_arena_alloc(arena, f.len + 1))) return st_error_nomem(err);
            memcpy(d->name, f.data, f.len);
            d->name[f.len] = 0;
            break;
        case 2: /* elem_type */
            if (f.type == 0) d->elem_type = (int32_t)f.v;
            break;
        case 3: /* tensor_values / tensor_value */
            if (f.type != 2) break;
            if (msg == ST_ONNX_MSG_SEQUENCE)
                s = data_unpack_tensor(label, &f, arena, &d->tensors[d->n_tensors++], err);
            else s = data_unpack_tensor(label, &f, arena, &d->tensor, err);
            break;
        case 5: /* sequence_values / sequence_value */
            if (msg == ST_ONNX_MSG_OPTIONAL && f.type == 2) {
                if (depth >= 4)
                    return st_errorf(err, ST_ERR_LIMIT, "%s: values nested too deeply", label);
                s = data_parse(label, ST_ONNX_MSG_SEQUENCE, f.data, f.len, arena, depth + 1,
                               &d->sequence, err);
                break;
            }
            __attribute__((fallthrough)); /* sequences of sequences */
        case 4:
        case 6:
        case 7:
            return st_errorf(err, ST_ERR_UNSUPPORTED, "%s: %s of %s values is not supported", label,
                             msg == ST_ONNX_MSG_SEQUENCE ? "a sequence" : "an optional",
                             f.num == 4   ? "sparse tensor"
                             : f.num == 5 ? "sequence"
                             : f.num == 6 ? "map"
                                          : "optional");
        default: /* SequenceProto and OptionalProto end at field 7: TensorProto has 8-14 */
            return st_errorf(
                err, ST_ERR_FORMAT, "%s: not a%s (has field %u; a TensorProto?)", label,
                msg == ST_ONNX_MSG_SEQUENCE ? " SequenceProto" : "n OptionalProto", f.num);
        }
        if (s) return s;
    }
    if (d->elem_type != ST_ONNX_ELEM_UNDEFINED && d->elem_type != ST_ONNX_ELEM_TENSOR &&
        !(msg == ST_ONNX_MSG_OPTIONAL && d->elem_type == ST_ONNX_ELEM_SEQUENCE)) {
        if (d->elem_type > 0 && d->elem_type < (int32_t)ST_ARRAY_LEN(elem_names))
            return st_errorf(err, ST_ERR_UNSUPPORTED, "%s: %s elements are not supported", label,
                             elem_names[d->elem_type]);
        return st_errorf(err, ST_ERR_FORMAT, "%s: unknown element type %d", label,
                         (int)d->elem_type);
    }
    *out = d;
    return ST_OK;
}

st_status st_onnx_pb_parse_data(const char *label, st_onnx_msg msg, const uint8_t *p, size_t n,
                                st_arena *arena, st_onnx_data **out, st_error *err) {
    return data_parse(label, msg, p, n, arena, 0, out, err);
}

st_onnx_msg st_onnx_pb_guess_data(const uint8_t *p, size_t n) {
    if (n == 0) return ST_ONNX_MSG_OPTIONAL; /* nothing set: an empty optional */
    wire w = {p, n, 0};
    int n3 = 0;
    bool has5 = false, name_like = false, has_elem = false;
    uint64_t elem = 0;
    while (w.i < w.n) {
        wire_field f;
        if (wire_next(&w, &f)) return ST_ONNX_MSG_TENSOR;        /* let the tensor parser explain */
        if (f.num >= 8 || f.num == 4) return ST_ONNX_MSG_TENSOR; /* name, raw_data, ... */
        if (f.type != 2) {
            if (f.num == 2 && f.type == 0) {
                has_elem = true;
                elem = f.v;
                continue;
            }
            return ST_ONNX_MSG_TENSOR; /* unpacked dims, int32_data or int64_data */
        }
        if (f.num == 1) name_like = f.len > 0 && printable(f.data, f.len);
        if (f.num == 3) n3++;
        if (f.num == 5) has5 = true;
    }
    if (has_elem && elem > ST_ONNX_ELEM_OPTIONAL) return ST_ONNX_MSG_TENSOR;
    if (has_elem && elem >= 2 && elem != ST_ONNX_ELEM_SEQUENCE) return ST_ONNX_MSG_TENSOR;
    if (!has_elem || elem == 0) return n3 || has5 ? ST_ONNX_MSG_SEQUENCE : ST_ONNX_MSG_OPTIONAL;
    if (elem == ST_ONNX_ELEM_SEQUENCE) return has5 ? ST_ONNX_MSG_OPTIONAL : ST_ONNX_MSG_TENSOR;
    /* elem == 1: a float tensor or a sequence/optional of tensors */
    if (n3) return ST_ONNX_MSG_SEQUENCE;
    return name_like ? ST_ONNX_MSG_SEQUENCE : ST_ONNX_MSG_TENSOR;
}

/* ---- encoding the wrappers ---------------------------------------------------------- */
static size_t data_size(const st_onnx_data *d) {
    if (d->msg == ST_ONNX_MSG_TENSOR) return onnx__tensor_proto__get_packed_size(d->tensor);
    size_t n = 0, k;
    if (d->name) n += 1 + varint_size(strlen(d->name)) + strlen(d->name);
    n += 1 + varint_size((uint64_t)(int64_t)d->elem_type);
    for (size_t i = 0; i < d->n_tensors; i++) {
        k = onnx__tensor_proto__get_packed_size(d->tensors[i]);
        n += 1 + varint_size(k) + k;
    }
    if (d->msg == ST_ONNX_MSG_OPTIONAL && d->tensor) {
        k = onnx__tensor_proto__get_packed_size(d->tensor);
        n += 1 + varint_size(k) + k;
    }
    if (d->msg == ST_ONNX_MSG_OPTIONAL && d->sequence) {
        k = data_size(d->sequence);
        n += 1 + varint_size(k) + k;
    }
    return n;
}

static uint8_t *data_put(uint8_t *o, const st_onnx_data *d) {
    if (d->msg == ST_ONNX_MSG_TENSOR) return o + onnx__tensor_proto__pack(d->tensor, o);
    if (d->name) {
        size_t l = strlen(d->name);
        *o++ = (1 << 3) | 2;
        o = put_varint(o, l);
        memcpy(o, d->name, l);
        o += l;
    }
    *o++ = (2 << 3) | 0;
    o = put_varint(o, (uint64_t)(int64_t)d->elem_type);
    for (size_t i = 0; i < d->n_tensors; i++) {
        *o++ = (3 << 3) | 2;
        o = put_varint(o, onnx__tensor_proto__get_packed_size(d->tensors[i]));
        o += onnx__tensor_proto__pack(d->tensors[i], o);
    }
    if (d->msg == ST_ONNX_MSG_OPTIONAL && d->tensor) {
        *o++ = (3 << 3) | 2;
        o = put_varint(o, onnx__tensor_proto__get_packed_size(d->tensor));
        o += onnx__tensor_proto__pack(d->tensor, o);
    }
    if (d->msg == ST_ONNX_MSG_OPTIONAL && d->sequence) {
        *o++ = (5 << 3) | 2;
        o = put_varint(o, data_size(d->sequence));
        o = data_put(o, d->sequence);
    }
    return o;
}

st_status st_onnx_pb_pack_data(const st_onnx_data *d, st_buf **out, st_error *err) {
    size_t n = data_size(d);
    st_buf *b = st_buf_new_heap(n);
    if (!b) return st_error_nomem(err);
    uint8_t *end = data_put(b->data, d);
    ST_ASSERT((size_t)(end - (uint8_t *)b->data) == n);
    *out = b;
    return ST_OK;
}
