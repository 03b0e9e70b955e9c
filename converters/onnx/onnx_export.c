/* converters/onnx/onnx_export.c: IR -> ModelProto -> file. Builds the protobuf-c tree in a
 * scratch arena pointing at the IR's strings and tensor bytes (nothing is copied), moves large
 * tensors to one external data file, and streams the bytes to disk under a temporary name
 * that is renamed into place. It never changes the model it writes. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "onnx_convert.h"
#include "onnx_internal.h"

#define PROTO_LIMIT ((size_t)INT32_MAX) /* protobuf's 2 GiB message limit */
#define EXT_ALIGN 4096                  /* external data offsets */
#define EXT_AUTO_MIN 1024               /* smallest tensor moved out when over the limit */
#define DEFAULT_IR_VERSION 8            /* onnx 1.12 */
#define DEFAULT_OPSET 17

/* A tensor whose bytes may move to the external file. */
typedef struct ext_item {
    Onnx__TensorProto *tp;
    const void *data;
    size_t nbytes;
    bool initializer; /* attribute tensors move only when the model is over the limit */
    bool external;
    uint64_t offset;
} ext_item;

typedef struct exporter {
    st_arena *a;
    ext_item *items;
    size_t n_items, cap_items;
} exporter;

#define ALLOC(e, T) ((T *)st_arena_alloc((e)->a, sizeof(T)))
#define ALLOC_N(e, T, n) ((T *)st_arena_alloc((e)->a, sizeof(T) * ((n) ? (n) : 1)))

static char *nz(const char *s) { return s && *s ? (char *)s : NULL; }

static st_status tensor_out(exporter *e, const st_tensor *t, const char *name, bool init,
                            Onnx__TensorProto **out, st_error *err) {
    st_status s = st_onnx_tensor_encode(e->a, t, name, out, err);
    if (s) return s;
    if ((*out)->has_raw_data) {
        if (!ST_GROW(e->items, e->cap_items, e->n_items + 1)) return st_error_nomem(err);
        e->items[e->n_items++] =
            (ext_item){*out, (*out)->raw_data.data, (*out)->raw_data.len, init, false, 0};
    }
    return ST_OK;
}

/* Dense tensor -> COO SparseTensorProto (values [NNZ], linear int64 indices [NNZ]); an
 * element is stored when any of its bytes is nonzero, so -0.0 survives. */
static st_status sparse_out(exporter *e, const st_tensor *t, Onnx__SparseTensorProto **out,
                            st_error *err) {
    size_t n = st_tensor_nelem(t), esz = st_dtype_size(t->dtype), nnz = 0;
    bool str = t->dtype == ST_DTYPE_STRING;
    for (size_t i = 0; i < n; i++) {
        const uint8_t *p = (const uint8_t *)t->data + i * esz;
        bool nonzero = false;
        if (str) nonzero = ((const st_str *)t->data)[i].len > 0;
        else
            for (size_t b = 0; b < esz; b++) nonzero |= p[b] != 0;
        nnz += nonzero;
    }
    Onnx__SparseTensorProto *sp = ALLOC(e, Onnx__SparseTensorProto);
    int64_t *ix = ALLOC_N(e, int64_t, nnz);
    uint8_t *vals = st_arena_alloc(e->a, nnz * esz + 1);
    int64_t *dims = ALLOC_N(e, int64_t, (size_t)t->ndim);
    if (!sp || !ix || !vals || !dims) return st_error_nomem(err);
    onnx__sparse_tensor_proto__init(sp);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        const uint8_t *p = (const uint8_t *)t->data + i * esz;
        bool nonzero = false;
        if (str) nonzero = ((const st_str *)t->data)[i].len > 0;
        else
            for (size_t b = 0; b < esz; b++) nonzero |= p[b] != 0;
        if (!nonzero) continue;
        ix[k] = (int64_t)i;
        memcpy(vals + k * esz, p, esz);
        k++;
    }
    st_tensor tv = {.dtype = t->dtype, .ndim = 1, .dims = {(int64_t)nnz}, .data = vals};
    st_tensor ti = {.dtype = ST_DTYPE_I64, .ndim = 1, .dims = {(int64_t)nnz}, .data = ix};
    st_status s;
    if ((s = st_onnx_tensor_encode(e->a, &tv, NULL, &sp->values, err)) ||
        (s = st_onnx_tensor_encode(e->a, &ti, NULL, &sp->indices, err)))
        return s;
    memcpy(dims, t->dims, sizeof(int64_t) * (size_t)t->ndim);
    sp->n_dims = (size_t)t->ndim;
    sp->dims = dims;
    *out = sp;
    return ST_OK;
}

static st_status type_out(exporter *e, const st_type *t, Onnx__TypeProto **out, st_error *err) {
    return st_onnx_type_encode(e->a, t, out, err);
}

static st_status value_info_out(exporter *e, const st_ir_value *v, Onnx__ValueInfoProto **out,
                                st_error *err) {
    Onnx__ValueInfoProto *p = ALLOC(e, Onnx__ValueInfoProto);
    if (!p) return st_error_nomem(err);
    onnx__value_info_proto__init(p);
    p->name = v->name;
    p->doc_string = nz(v->doc);
    st_status s = type_out(e, &v->type, &p->type, err);
    if (s) return s;
    if (!p->type && v->has_const) { /* an initializer input without a declared type */
        st_dim dims[ST_MAX_RANK];
        st_type t = {.kind = ST_VAL_TENSOR,
                     .dtype = v->const_val.dtype,
                     .rank = v->const_val.ndim,
                     .dims = dims};
        for (int i = 0; i < t.rank; i++) dims[i] = (st_dim){v->const_val.dims[i], NULL};
        if ((s = type_out(e, &t, &p->type, err))) return s;
    }
    *out = p;
    return ST_OK;
}

static st_status graph_out(exporter *e, const st_graph *g, Onnx__GraphProto **out, st_error *err);

static st_status attr_out(exporter *e, const st_attr *a, Onnx__AttributeProto **out,
                          st_error *err) {
    Onnx__AttributeProto *p = ALLOC(e, Onnx__AttributeProto);
    if (!p) return st_error_nomem(err);
    onnx__attribute_proto__init(p);
    p->name = a->name;
    p->ref_attr_name = nz(a->ref_attr_name);
    p->doc_string = nz(a->doc);
    if (a->kind != ST_ATTR_UNDEFINED) {
        p->has_type = 1;
        p->type = (Onnx__AttributeProto__AttributeType)a->kind;
    }
    *out = p;
    if (p->ref_attr_name) return ST_OK; /* a function-body reference carries no value */
    st_status s = ST_OK;
    size_t n = a->n;
    switch (a->kind) {
    case ST_ATTR_FLOAT:
        p->has_f = 1;
        p->f = (float)a->f;
        break;
    case ST_ATTR_INT:
        p->has_i = 1;
        p->i = a->i;
        break;
    case ST_ATTR_STRING:
        p->has_s = 1;
        p->s.len = a->s.data ? a->s.len : 0;
        p->s.data = (uint8_t *)(a->s.data ? a->s.data : "");
        break;
    case ST_ATTR_TENSOR: s = tensor_out(e, &a->t, NULL, false, &p->t, err); break;
    case ST_ATTR_SPARSE_TENSOR: s = sparse_out(e, &a->t, &p->sparse_tensor, err); break;
    case ST_ATTR_GRAPH:
        if (a->g) s = graph_out(e, a->g, &p->g, err);
        break;
    case ST_ATTR_TYPE_PROTO:
        s = type_out(e, &a->tp, &p->tp, err);
        if (!s && !p->tp) { /* unknown type: an empty TypeProto, as the file had */
            if (!(p->tp = ALLOC(e, Onnx__TypeProto))) return st_error_nomem(err);
            onnx__type_proto__init(p->tp);
        }
        break;
    case ST_ATTR_FLOATS:
        if (!(p->floats = ALLOC_N(e, float, n))) return st_error_nomem(err);
        for (size_t i = 0; i < n; i++) p->floats[i] = (float)a->floats[i];
        p->n_floats = n;
        break;
    case ST_ATTR_INTS:
        p->ints = a->ints;
        p->n_ints = n;
        break;
    case ST_ATTR_STRINGS:
        if (!(p->strings = ALLOC_N(e, ProtobufCBinaryData, n))) return st_error_nomem(err);
        for (size_t i = 0; i < n; i++) {
            p->strings[i].len = a->strings[i].data ? a->strings[i].len : 0;
            p->strings[i].data = (uint8_t *)(a->strings[i].data ? a->strings[i].data : "");
        }
        p->n_strings = n;
        break;
    case ST_ATTR_TENSORS:
        if (!(p->tensors = ALLOC_N(e, Onnx__TensorProto *, n))) return st_error_nomem(err);
        for (size_t i = 0; i < n && !s; i++)
            s = tensor_out(e, &a->tensors[i], NULL, false, &p->tensors[i], err);
        p->n_tensors = n;
        break;
    case ST_ATTR_SPARSE_TENSORS:
        if (!(p->sparse_tensors = ALLOC_N(e, Onnx__SparseTensorProto *, n)))
            return st_error_nomem(err);
        for (size_t i = 0; i < n && !s; i++)
            s = sparse_out(e, &a->tensors[i], &p->sparse_tensors[i], err);
        p->n_sparse_tensors = n;
        break;
    case ST_ATTR_GRAPHS:
        if (!(p->graphs = ALLOC_N(e, Onnx__GraphProto *, n))) return st_error_nomem(err);
        for (size_t i = 0; i < n && !s; i++) s = graph_out(e, a->graphs[i], &p->graphs[i], err);
        p->n_graphs = n;
        break;
    case ST_ATTR_TYPE_PROTOS:
        if (!(p->type_protos = ALLOC_N(e, Onnx__TypeProto *, n))) return st_error_nomem(err);
        for (size_t i = 0; i < n && !s; i++) {
            s = type_out(e, &a->tps[i], &p->type_protos[i], err);
            if (!s && !p->type_protos[i]) { /* unknown type: an empty TypeProto keeps the slot */
                if (!(p->type_protos[i] = ALLOC(e, Onnx__TypeProto))) return st_error_nomem(err);
                onnx__type_proto__init(p->type_protos[i]);
            }
        }
        p->n_type_protos = n;
        break;
    default: break;
    }
    return s;
}

static st_status node_out(exporter *e, const st_graph *g, const st_node *n, Onnx__NodeProto **out,
                          st_error *err) {
    Onnx__NodeProto *p = ALLOC(e, Onnx__NodeProto);
    if (!p) return st_error_nomem(err);
    onnx__node_proto__init(p);
    p->name = nz(n->name);
    p->op_type = n->op_type;
    p->domain = nz(n->domain);
    p->doc_string = nz(n->doc);
    if (!(p->input = ALLOC_N(e, char *, (size_t)n->n_in)) ||
        !(p->output = ALLOC_N(e, char *, (size_t)n->n_out)) ||
        !(p->attribute = ALLOC_N(e, Onnx__AttributeProto *, (size_t)n->n_attrs)))
        return st_error_nomem(err);
    for (int i = 0; i < n->n_in; i++)
        p->input[i] = n->inputs[i] >= 0 ? g->values[n->inputs[i]].name : "";
    for (int i = 0; i < n->n_out; i++)
        p->output[i] = n->outputs[i] >= 0 ? g->values[n->outputs[i]].name : "";
    p->n_input = (size_t)n->n_in;
    p->n_output = (size_t)n->n_out;
    for (int i = 0; i < n->n_attrs; i++) {
        st_status s = attr_out(e, &n->attrs[i], &p->attribute[i], err);
        if (s) return s;
    }
    p->n_attribute = (size_t)n->n_attrs;
    *out = p;
    return ST_OK;
}

static st_status graph_out(exporter *e, const st_graph *g, Onnx__GraphProto **out, st_error *err) {
    Onnx__GraphProto *p = ALLOC(e, Onnx__GraphProto);
    bool *produced = st_calloc(g->n_values + 1, 1), *listed = st_calloc(g->n_values + 1, 1);
    st_status s = ST_OK;
    if (!p || !produced || !listed) goto nomem;
    onnx__graph_proto__init(p);
    p->name = g->name && *g->name ? g->name : "graph"; /* the checker wants a name */
    p->doc_string = nz(g->doc);
    for (size_t k = 0; k < g->n_nodes; k++)
        for (int o = 0; o < g->nodes[k].n_out; o++)
            if (g->nodes[k].outputs[o] >= 0) produced[g->nodes[k].outputs[o]] = true;

    if (!(p->input = ALLOC_N(e, Onnx__ValueInfoProto *, g->n_inputs)) ||
        !(p->output = ALLOC_N(e, Onnx__ValueInfoProto *, g->n_outputs)) ||
        !(p->node = ALLOC_N(e, Onnx__NodeProto *, g->n_nodes)) ||
        !(p->initializer = ALLOC_N(e, Onnx__TensorProto *, g->n_values)) ||
        !(p->value_info = ALLOC_N(e, Onnx__ValueInfoProto *, g->n_values)))
        goto nomem;
    for (size_t i = 0; i < g->n_inputs; i++) {
        if ((s = value_info_out(e, &g->values[g->inputs[i]], &p->input[i], err))) goto done;
        listed[g->inputs[i]] = true;
    }
    p->n_input = g->n_inputs;
    for (size_t i = 0; i < g->n_outputs; i++) {
        if ((s = value_info_out(e, &g->values[g->outputs[i]], &p->output[i], err))) goto done;
        listed[g->outputs[i]] = true;
    }
    p->n_output = g->n_outputs;
    for (size_t i = 0; i < g->n_values; i++) {
        const st_ir_value *v = &g->values[i];
        bool init = v->has_const && (v->role == ST_VALUE_INITIALIZER ||
                                     (v->role == ST_VALUE_INTERMEDIATE && !produced[i]));
        if (init) {
            if ((s = tensor_out(e, &v->const_val, v->name, true, &p->initializer[p->n_initializer],
                                err)))
                goto done;
            p->n_initializer++;
        } else if (v->role == ST_VALUE_INTERMEDIATE && !listed[i] && v->type.kind != ST_VAL_NONE) {
            if ((s = value_info_out(e, v, &p->value_info[p->n_value_info], err))) goto done;
            p->n_value_info++;
        }
    }
    for (size_t k = 0; k < g->n_nodes; k++)
        if ((s = node_out(e, g, &g->nodes[k], &p->node[k], err))) goto done;
    p->n_node = g->n_nodes;
    *out = p;
    goto done;
nomem:
    s = st_error_nomem(err);
done:
    st_free(produced);
    st_free(listed);
    return s;
}

static st_status opsets_out(exporter *e, const st_opset *v, size_t n,
                            Onnx__OperatorSetIdProto ***out, size_t *nout, st_error *err) {
    Onnx__OperatorSetIdProto **ps = ALLOC_N(e, Onnx__OperatorSetIdProto *, n);
    if (!ps) return st_error_nomem(err);
    for (size_t i = 0; i < n; i++) {
        if (!(ps[i] = ALLOC(e, Onnx__OperatorSetIdProto))) return st_error_nomem(err);
        onnx__operator_set_id_proto__init(ps[i]);
        ps[i]->domain = v[i].domain ? v[i].domain : "";
        ps[i]->has_version = 1;
        ps[i]->version = v[i].version;
    }
    *out = ps;
    *nout = n;
    return ST_OK;
}

static st_status function_out(exporter *e, const st_function *f, Onnx__FunctionProto **out,
                              st_error *err) {
    Onnx__FunctionProto *p = ALLOC(e, Onnx__FunctionProto);
    if (!p) return st_error_nomem(err);
    onnx__function_proto__init(p);
    p->name = f->name;
    p->domain = f->domain;
    p->doc_string = nz(f->doc);
    p->n_input = (size_t)f->n_in;
    p->input = f->inputs;
    p->n_output = (size_t)f->n_out;
    p->output = f->outputs;
    p->n_attribute = (size_t)f->n_attr_names;
    p->attribute = f->attr_names;
    st_status s = opsets_out(e, f->opsets, f->n_opsets, &p->opset_import, &p->n_opset_import, err);
    if (s) return s;
    if (f->body) {
        if (!(p->node = ALLOC_N(e, Onnx__NodeProto *, f->body->n_nodes)))
            return st_error_nomem(err);
        for (size_t k = 0; k < f->body->n_nodes; k++)
            if ((s = node_out(e, f->body, &f->body->nodes[k], &p->node[k], err))) return s;
        p->n_node = f->body->n_nodes;
    }
    *out = p;
    return ST_OK;
}

static st_status model_out(exporter *e, const st_model *m, Onnx__ModelProto **out, st_error *err) {
    Onnx__ModelProto *p = ALLOC(e, Onnx__ModelProto);
    if (!p) return st_error_nomem(err);
    onnx__model_proto__init(p);
    p->has_ir_version = 1;
    p->ir_version = m->ir_version > 0 ? m->ir_version : DEFAULT_IR_VERSION;
    p->producer_name = nz(m->producer_name);
    p->producer_version = nz(m->producer_version);
    p->domain = nz(m->domain);
    p->doc_string = nz(m->doc);
    if (m->model_version) {
        p->has_model_version = 1;
        p->model_version = m->model_version;
    }
    static const st_opset default_opset = {"", DEFAULT_OPSET};
    st_status s =
        m->n_opsets
            ? opsets_out(e, m->opsets, m->n_opsets, &p->opset_import, &p->n_opset_import, err)
            : opsets_out(e, &default_opset, 1, &p->opset_import, &p->n_opset_import, err);
    if (s) return s;
    if (m->n_meta) {
        if (!(p->metadata_props = ALLOC_N(e, Onnx__StringStringEntryProto *, m->n_meta)))
            return st_error_nomem(err);
        for (size_t i = 0; i < m->n_meta; i++) {
            Onnx__StringStringEntryProto *kv = ALLOC(e, Onnx__StringStringEntryProto);
            if (!kv) return st_error_nomem(err);
            onnx__string_string_entry_proto__init(kv);
            kv->key = m->meta[i].key;
            kv->value = m->meta[i].value;
            p->metadata_props[i] = kv;
        }
        p->n_metadata_props = m->n_meta;
    }
    if (m->n_functions) {
        if (!(p->functions = ALLOC_N(e, Onnx__FunctionProto *, m->n_functions)))
            return st_error_nomem(err);
        for (size_t i = 0; i < m->n_functions; i++)
            if ((s = function_out(e, &m->functions[i], &p->functions[i], err))) return s;
        p->n_functions = m->n_functions;
    }
    if ((s = graph_out(e, m->graph, &p->graph, err))) return s;
    *out = p;
    return ST_OK;
}

/* ---- external data ---------------------------------------------------------------- */
static st_status externalize(exporter *e, ext_item *it, const char *location, uint64_t *next,
                             st_error *err) {
    Onnx__StringStringEntryProto **kv = ALLOC_N(e, Onnx__StringStringEntryProto *, 3);
    char *off = st_arena_alloc(e->a, 24), *len = st_arena_alloc(e->a, 24);
    if (!kv || !off || !len) return st_error_nomem(err);
    it->offset = (*next + EXT_ALIGN - 1) / EXT_ALIGN * EXT_ALIGN;
    *next = it->offset + it->nbytes;
    snprintf(off, 24, "%llu", (unsigned long long)it->offset);
    snprintf(len, 24, "%zu", it->nbytes);
    const char *keys[3] = {"location", "offset", "length"}, *vals[3] = {location, off, len};
    for (int i = 0; i < 3; i++) {
        if (!(kv[i] = ALLOC(e, Onnx__StringStringEntryProto))) return st_error_nomem(err);
        onnx__string_string_entry_proto__init(kv[i]);
        kv[i]->key = (char *)keys[i];
        kv[i]->value = (char *)vals[i];
    }
    Onnx__TensorProto *tp = it->tp;
    tp->has_raw_data = 0;
    tp->raw_data.len = 0;
    tp->raw_data.data = NULL;
    tp->has_data_location = 1;
    tp->data_location = ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
    tp->n_external_data = 3;
    tp->external_data = kv;
    it->external = true;
    return ST_OK;
}

/* ---- writing files ------------------------------------------------------------------ */
typedef struct file_sink {
    ProtobufCBuffer base;
    FILE *f;
    bool failed;
} file_sink;

static void sink_append(ProtobufCBuffer *b, size_t len, const uint8_t *data) {
    file_sink *s = (file_sink *)b;
    if (!s->failed && len && fwrite(data, 1, len, s->f) != len) s->failed = true;
}

/* Create "<path>.XXXXXX" for writing. */
static st_status temp_open(const char *path, char **tmp_out, FILE **f_out, st_error *err) {
    size_t n = strlen(path);
    char *tmp = st_malloc(n + 8);
    if (!tmp) return st_error_nomem(err);
    memcpy(tmp, path, n);
    memcpy(tmp + n, ".XXXXXX", 8);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        st_status s = st_errorf(err, ST_ERR_IO, "%s: %s", path, strerror(errno));
        st_free(tmp);
        return s;
    }
    mode_t mask = umask(0);
    umask(mask);
    (void)fchmod(fd, 0666 & ~mask);
    FILE *f = fdopen(fd, "wb");
    if (!f) {
        st_status s = st_errorf(err, ST_ERR_IO, "%s: %s", path, strerror(errno));
        close(fd);
        unlink(tmp);
        st_free(tmp);
        return s;
    }
    *tmp_out = tmp;
    *f_out = f;
    return ST_OK;
}

/* Close f; on failure remove tmp. The file is moved into place later (temp_rename). */
static st_status temp_close(FILE *f, const char *tmp, const char *path, bool ok, st_error *err) {
    if (fclose(f) != 0) ok = false;
    if (ok) return ST_OK;
    unlink(tmp);
    return st_errorf(err, ST_ERR_IO, "%s: write failed", path);
}

static st_status temp_rename(const char *tmp, const char *path, st_error *err) {
    if (rename(tmp, path) == 0) return ST_OK;
    st_status s = st_errorf(err, ST_ERR_IO, "%s: %s", path, strerror(errno));
    unlink(tmp);
    return s;
}

/* Write the external tensors into a temporary file beside `path`; *tmp_out names it. */
static st_status write_data_file(exporter *e, const char *path, char **tmp_out, st_error *err) {
    char *tmp;
    FILE *f;
    st_status s = temp_open(path, &tmp, &f, err);
    if (s) return s;
    static const uint8_t zeros[EXT_ALIGN];
    uint64_t pos = 0;
    bool ok = true;
    for (size_t i = 0; i < e->n_items && ok; i++) {
        const ext_item *it = &e->items[i];
        if (!it->external) continue;
        size_t pad = (size_t)(it->offset - pos);
        if (pad && fwrite(zeros, 1, pad, f) != pad) ok = false;
        if (ok && fwrite(it->data, 1, it->nbytes, f) != it->nbytes) ok = false;
        pos = it->offset + it->nbytes;
    }
    if ((s = temp_close(f, tmp, path, ok, err))) {
        st_free(tmp);
        return s;
    }
    *tmp_out = tmp;
    return ST_OK;
}

st_status st_onnx_export(const st_model *m, const char *path, size_t external_threshold,
                         st_error *err) {
    if (!m || !m->graph || !path)
        return st_errorf(err, ST_ERR_INVALID, "st_onnx_export: no model or path");
    exporter e = {0};
    char *data_path = NULL, *tmp = NULL, *data_tmp = NULL;
    FILE *f = NULL;
    Onnx__ModelProto *mp = NULL;
    st_status s = ST_OK;
    if (!(e.a = st_arena_new(1 << 16))) return st_error_nomem(err);
    if ((s = model_out(&e, m, &mp, err))) goto fail;

    /* where the big tensors go */
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t pl = strlen(path), bl = strlen(base);
    char *location = st_arena_alloc(e.a, bl + 6);
    if (!location || !(data_path = st_malloc(pl + 6))) goto nomem;
    memcpy(location, base, bl);
    memcpy(location + bl, ".data", 6);
    memcpy(data_path, path, pl);
    memcpy(data_path + pl, ".data", 6);
    uint64_t next = 0;
    size_t n_ext = 0;
    if (external_threshold > 0)
        for (size_t i = 0; i < e.n_items; i++)
            /* initializers only: onnxruntime's shape inference cannot read Constant
             * attributes stored outside the model */
            if (e.items[i].initializer && e.items[i].nbytes >= external_threshold) {
                if ((s = externalize(&e, &e.items[i], location, &next, err))) goto fail;
                n_ext++;
            }
    /* over protobuf's limit: move initializers out, then attribute tensors */
    for (int pass = 0; pass < 2 && onnx__model_proto__get_packed_size(mp) > PROTO_LIMIT; pass++)
        for (size_t i = 0; i < e.n_items; i++) {
            ext_item *it = &e.items[i];
            if (it->external || it->nbytes < EXT_AUTO_MIN || it->initializer != (pass == 0))
                continue;
            if ((s = externalize(&e, it, location, &next, err))) goto fail;
            n_ext++;
        }
    if (onnx__model_proto__get_packed_size(mp) > PROTO_LIMIT) {
        s = st_errorf(err, ST_ERR_LIMIT,
                      "%s: the model's graph alone exceeds protobuf's 2 GiB limit", path);
        goto fail;
    }
    /* both files are written under temporary names first, then renamed data-first, so a
     * failure leaves the previous files as they were */
    if (n_ext && (s = write_data_file(&e, data_path, &data_tmp, err))) goto fail;
    if ((s = temp_open(path, &tmp, &f, err))) goto fail;
    file_sink sink = {{sink_append}, f, false};
    onnx__model_proto__pack_to_buffer(mp, &sink.base);
    if ((s = temp_close(f, tmp, path, !sink.failed, err))) goto fail;
    if (data_tmp && (s = temp_rename(data_tmp, data_path, err))) goto fail;
    st_free(data_tmp);
    data_tmp = NULL;
    s = temp_rename(tmp, path, err);
    goto done;
nomem:
    s = st_error_nomem(err);
fail:
    if (data_tmp) unlink(data_tmp);
    if (tmp) unlink(tmp);
done:
    st_free(data_tmp);
    st_free(tmp);
    st_free(data_path);
    st_free(e.items);
    st_arena_free(e.a);
    return s;
}
