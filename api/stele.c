/* api/stele.c: include/stele.h over the layers: format detection and dispatch to the
 * converters, model description, value files. It adds no semantics of its own. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "exec.h"
#include "infer.h"
#include "ir.h"
#include "npy/npy.h"
#include "onnx/onnx_convert.h"
#include "savedmodel/tf_convert.h"
#include "test_control.h"
#include "torchscript/ts_convert.h"

static const char *const format_names[] = {
    [ST_FORMAT_UNKNOWN] = "unknown",
    [ST_FORMAT_ONNX] = "onnx",
    [ST_FORMAT_TORCHSCRIPT] = "torchscript",
    [ST_FORMAT_SAVEDMODEL] = "savedmodel",
};
_Static_assert(ST_ARRAY_LEN(format_names) == ST_FORMAT_COUNT, "format_names covers st_format");

const char *st_format_name(st_format f) {
    return (unsigned)f < ST_FORMAT_COUNT ? format_names[f] : "unknown";
}

st_format st_format_from_name(const char *name) {
    for (int f = 1; f < ST_FORMAT_COUNT; f++)
        if (name && !strcmp(name, format_names[f])) return (st_format)f;
    return ST_FORMAT_UNKNOWN;
}

static bool has_ext(const char *path, const char *ext) {
    size_t n = strlen(path), e = strlen(ext);
    return n >= e && !strcasecmp(path + n - e, ext);
}

st_format st_format_detect(const char *path) {
    struct stat sb;
    if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) {
        char buf[4096];
        snprintf(buf, sizeof buf, "%s/saved_model.pb", path);
        if (stat(buf, &sb) == 0) return ST_FORMAT_SAVEDMODEL;
        return ST_FORMAT_UNKNOWN;
    }
    FILE *f = fopen(path, "rb");
    if (f) {
        unsigned char head[64];
        size_t n = fread(head, 1, sizeof head, f);
        fclose(f);
        if (n >= 4 && !memcmp(head, "PK\x03\x04", 4)) return ST_FORMAT_TORCHSCRIPT;
        if (n > 0 && st_onnx_sniff(head, n)) return ST_FORMAT_ONNX;
    }
    if (has_ext(path, ".onnx")) return ST_FORMAT_ONNX;
    if (has_ext(path, ".pt") || has_ext(path, ".pth") || has_ext(path, ".zip"))
        return ST_FORMAT_TORCHSCRIPT;
    if (has_ext(path, "saved_model.pb")) return ST_FORMAT_SAVEDMODEL;
    return ST_FORMAT_UNKNOWN;
}

st_status st_model_load(const char *path, const st_load_opts *opts, st_model **out, st_error *err) {
    st_format fmt = opts && opts->format ? opts->format : st_format_detect(path);
    st_model *m = NULL;
    st_status s;
    st_infer_bind binds[64];
    size_t nb = opts && opts->shapes ? opts->n_shapes : 0;
    if (nb > ST_ARRAY_LEN(binds))
        return st_errorf(err, ST_ERR_LIMIT, "%s: more than %zu input shapes given", path,
                         ST_ARRAY_LEN(binds));
    for (size_t i = 0; i < nb; i++)
        binds[i] =
            (st_infer_bind){opts->shapes[i].name, opts->shapes[i].ndim, opts->shapes[i].dims};
    switch (fmt) {
    case ST_FORMAT_ONNX: s = st_onnx_import(path, &m, err); break;
    case ST_FORMAT_TORCHSCRIPT: /* TorchScript states no input ranks: bindings give them */
        s = st_ts_import_ex(path, binds, nb, &m, NULL, err);
        break;
    case ST_FORMAT_SAVEDMODEL:
        s = st_tf_import(path, opts ? opts->signature : NULL, &m, err);
        break;
    default: {
        struct stat sb;
        if (stat(path, &sb) != 0)
            return st_errorf(err, ST_ERR_IO, "%s: no such file or directory", path);
        return st_errorf(err, ST_ERR_FORMAT,
                         "%s: not a model stele recognises (ONNX, TorchScript, SavedModel)", path);
    }
    }
    if (s) return s;
    st_ops_resolve(m);
    s = st_infer_model(m, binds, nb, NULL, err);
    if (s) {
        if (s != ST_ERR_NOMEM) st_error_prefix(err, "%s: ", path);
        st_model_release(m);
        return s;
    }
    *out = m;
    return ST_OK;
}

void st_model_free(st_model *m) { st_model_release(m); }

/* ONNX at another opset: the converter rewrites nodes in place, so it works on a copy of m
 * made by writing m and reading it back (m stays as it was, e.g. for verification). */
static st_status save_onnx_opset(const st_model *m, const char *path, const st_save_opts *opts,
                                 st_error *err) {
    st_sb tmp = {0};
    st_model *copy = NULL;
    st_status s;
    st_sb_printf(&tmp, "%s.opset-tmp", path);
    if (tmp.oom) return st_error_nomem(err);
    if ((s = st_onnx_export(m, tmp.s, opts->external_threshold, err))) goto fail;
    st_load_opts lo = {.format = ST_FORMAT_ONNX};
    s = st_model_load(tmp.s, &lo, &copy, err);
    if (s) goto fail;
    if ((s = st_onnx_convert_opset(copy, opts->target_opset, err))) {
        st_error_prefix(err, "%s: ", path);
        goto fail;
    }
    s = st_onnx_export(copy, path, opts->external_threshold, err);
fail:
    st_model_free(copy);
    remove(tmp.s);
    st_sb_puts(&tmp, ".data");
    if (!tmp.oom) remove(tmp.s);
    st_sb_free(&tmp);
    return s;
}

static st_status model_save(const st_model *m, const char *path, const st_save_opts *opts,
                            st_error *err) {
    st_format fmt = opts && opts->format ? opts->format : ST_FORMAT_UNKNOWN;
    if (!fmt) {
        if (has_ext(path, ".onnx")) fmt = ST_FORMAT_ONNX;
        else if (has_ext(path, ".pt") || has_ext(path, ".pth")) fmt = ST_FORMAT_TORCHSCRIPT;
        else fmt = ST_FORMAT_UNKNOWN;
    }
    if (opts && opts->target_opset && fmt != ST_FORMAT_ONNX)
        return st_errorf(err, ST_ERR_INVALID, "%s: an opset is only for ONNX output", path);
    if (opts && opts->target_opset) return save_onnx_opset(m, path, opts, err);
    switch (fmt) {
    case ST_FORMAT_ONNX: return st_onnx_export(m, path, opts ? opts->external_threshold : 0, err);
    case ST_FORMAT_TORCHSCRIPT: return st_ts_export(m, path, err);
    case ST_FORMAT_SAVEDMODEL: return st_tf_export(m, path, err);
    default:
        return st_errorf(
            err, ST_ERR_INVALID,
            "%s: cannot tell the output format from the name (use --to onnx|torchscript|savedmodel)",
            path);
    }
}

st_status st_model_save(const st_model *m, const char *path, const st_save_opts *opts,
                        st_error *err) {
#ifdef STELE_TEST_HOOKS
    /* test builds: a fault armed with st_test_control applies to this save */
    void *fault;
    st_status s = st_api_fault_begin(m, &fault, err);
    if (s) return s;
    s = model_save(m, path, opts, err);
    st_api_fault_end(fault);
    return s;
#else
    return model_save(m, path, opts, err);
#endif
}

/* ---- description ----------------------------------------------------------------- */

st_format st_model_format(const st_model *m) { return m->format; }

const char *st_model_producer(const st_model *m) {
    st_model *mm = (st_model *)m; /* lazily built cache */
    if (!mm->producer_str) {
        const char *n = m->producer_name ? m->producer_name : "",
                   *v = m->producer_version ? m->producer_version : "";
        size_t len = strlen(n) + strlen(v) + 2;
        mm->producer_str = st_malloc(len);
        if (!mm->producer_str) return "";
        snprintf(mm->producer_str, len, "%s%s%s", n, *n && *v ? " " : "", v);
    }
    return m->producer_str;
}

int64_t st_model_ir_version(const st_model *m) { return m->ir_version; }
size_t st_model_n_opsets(const st_model *m) { return m->n_opsets; }
const char *st_model_opset_domain(const st_model *m, size_t i) {
    return i < m->n_opsets && m->opsets[i].domain ? m->opsets[i].domain : "";
}
int64_t st_model_opset_version(const st_model *m, size_t i) {
    return i < m->n_opsets ? m->opsets[i].version : 0;
}

static bool is_fed_input(const st_graph *g, size_t i) {
    return g->inputs[i] >= 0 && g->values[g->inputs[i]].role == ST_VALUE_INPUT;
}

size_t st_model_n_inputs(const st_model *m) {
    size_t n = 0;
    for (size_t i = 0; i < m->graph->n_inputs; i++) n += is_fed_input(m->graph, i);
    return n;
}

size_t st_model_n_outputs(const st_model *m) { return m->graph->n_outputs; }

static void describe(const st_model *m, int v, st_value_info *out) {
    memset(out, 0, sizeof *out);
    if (v < 0) {
        out->name = "";
        out->rank = -1;
        return;
    }
    const st_ir_value *iv = &m->graph->values[v];
    out->name = iv->name;
    out->kind = iv->type.kind;
    out->optional = iv->type.optional;
    out->dtype = iv->type.dtype;
    out->rank = iv->type.rank;
    if (iv->type.rank > 0) {
        st_dim_info *d = st_arena_alloc(m->arena, sizeof *d * (size_t)iv->type.rank);
        if (!d) {
            out->rank = -1;
            return;
        }
        for (int i = 0; i < iv->type.rank; i++) {
            d[i].value = iv->type.dims ? iv->type.dims[i].value : -1;
            d[i].symbol = iv->type.dims ? iv->type.dims[i].symbol : NULL;
        }
        out->dims = d;
    }
}

void st_model_input(const st_model *m, size_t i, st_value_info *out) {
    const st_graph *g = m->graph;
    for (size_t k = 0; k < g->n_inputs; k++) {
        if (!is_fed_input(g, k)) continue;
        if (i-- == 0) {
            describe(m, g->inputs[k], out);
            return;
        }
    }
    describe(m, -1, out);
}

void st_model_output(const st_model *m, size_t i, st_value_info *out) {
    describe(m, i < m->graph->n_outputs ? m->graph->outputs[i] : -1, out);
}

size_t st_model_n_values(const st_model *m) { return m->graph ? m->graph->n_values : 0; }

void st_model_value(const st_model *m, size_t i, st_value_info *out) {
    describe(m, i < st_model_n_values(m) ? (int)i : -1, out);
    if (i < st_model_n_values(m) && m->graph->values[i].has_const) {
        /* weights: their tensor is their type */
        const st_tensor *t = &m->graph->values[i].const_val;
        st_dim_info *d = st_arena_alloc(m->arena, sizeof *d * (size_t)(t->ndim ? t->ndim : 1));
        out->kind = ST_VAL_TENSOR;
        out->dtype = t->dtype;
        out->rank = d ? t->ndim : -1;
        for (int k = 0; d && k < t->ndim; k++) d[k] = (st_dim_info){t->dims[k], NULL};
        out->dims = d;
    }
}

static bool count_ops(const st_graph *g, st_op_count **h, size_t *n, size_t *cap) {
    for (size_t i = 0; i < g->n_nodes; i++) {
        const st_node *nd = &g->nodes[i];
        size_t j = 0;
        for (; j < *n; j++)
            if (!strcmp((*h)[j].op_type, nd->op_type) && !strcmp((*h)[j].domain, nd->domain)) break;
        if (j == *n) {
            if (!ST_GROW(*h, *cap, *n + 1)) return false;
            (*h)[(*n)++] = (st_op_count){nd->domain, nd->op_type, 0};
        }
        (*h)[j].count++;
        for (int a = 0; a < nd->n_attrs; a++) {
            if (nd->attrs[a].g && !count_ops(nd->attrs[a].g, h, n, cap)) return false;
            for (size_t k = 0; nd->attrs[a].graphs && k < nd->attrs[a].n; k++)
                if (!count_ops(nd->attrs[a].graphs[k], h, n, cap)) return false;
        }
    }
    return true;
}

static int by_count(const void *a, const void *b) {
    const st_op_count *x = a, *y = b;
    if (x->count != y->count) return x->count < y->count ? 1 : -1;
    return strcmp(x->op_type, y->op_type);
}

size_t st_model_op_histogram(const st_model *m, const st_op_count **out) {
    st_model *mm = (st_model *)m;
    if (!mm->histogram) {
        size_t n = 0, cap = 0;
        st_op_count *h = NULL;
        if (!count_ops(m->graph, &h, &n, &cap)) {
            st_free(h);
            *out = NULL;
            return 0;
        }
        if (n) qsort(h, n, sizeof *h, by_count);
        mm->histogram = h;
        mm->n_histogram = n;
    }
    *out = m->histogram;
    return m->n_histogram;
}

static size_t count_nodes(const st_graph *g) {
    size_t n = g->n_nodes;
    for (size_t i = 0; i < g->n_nodes; i++)
        for (int a = 0; a < g->nodes[i].n_attrs; a++) {
            const st_attr *at = &g->nodes[i].attrs[a];
            if (at->g) n += count_nodes(at->g);
            for (size_t k = 0; at->graphs && k < at->n; k++) n += count_nodes(at->graphs[k]);
        }
    return n;
}

size_t st_model_n_nodes(const st_model *m) { return count_nodes(m->graph); }

static void count_params(const st_graph *g, uint64_t *count, uint64_t *bytes) {
    for (size_t v = 0; v < g->n_values; v++)
        if (g->values[v].has_const) {
            *count += st_tensor_nelem(&g->values[v].const_val);
            *bytes += st_tensor_nbytes(&g->values[v].const_val);
        }
    for (size_t i = 0; i < g->n_nodes; i++)
        for (int a = 0; a < g->nodes[i].n_attrs; a++) {
            const st_attr *at = &g->nodes[i].attrs[a];
            if (at->kind == ST_ATTR_TENSOR && !strcmp(g->nodes[i].op_type, "Constant")) {
                *count += st_tensor_nelem(&at->t);
                *bytes += st_tensor_nbytes(&at->t);
            }
            if (at->g) count_params(at->g, count, bytes);
            for (size_t k = 0; at->graphs && k < at->n; k++)
                count_params(at->graphs[k], count, bytes);
        }
}

void st_model_params(const st_model *m, uint64_t *count, uint64_t *bytes) {
    *count = *bytes = 0;
    count_params(m->graph, count, bytes);
}

/* The SavedModel importer records signatures as "savedmodel.signature.<name>" metadata. */
#define SIG_PREFIX "savedmodel.signature."
size_t st_model_n_signatures(const st_model *m) {
    size_t n = 0;
    for (size_t i = 0; i < m->n_meta; i++)
        n += !strncmp(m->meta[i].key, SIG_PREFIX, strlen(SIG_PREFIX));
    return n;
}

const char *st_model_signature(const st_model *m, size_t k, bool *selected) {
    for (size_t i = 0; i < m->n_meta; i++) {
        if (strncmp(m->meta[i].key, SIG_PREFIX, strlen(SIG_PREFIX)) || k--) continue;
        if (selected) *selected = !strcmp(m->meta[i].value, "selected");
        return m->meta[i].key + strlen(SIG_PREFIX);
    }
    return NULL;
}

/* ---- value files ----------------------------------------------------------------- */

/* .npy has no float8/float4 or 4-/2-bit types: when the model wants one, float32 values
 * (int8/uint8 for the integers) are converted to it, as `run` writes them. */
static st_status npy_to_narrow(const st_value_info *expect, st_tensor *t, st_error *err) {
    st_dtype want = expect ? expect->dtype : ST_DTYPE_UNDEFINED;
    bool fl = st_dtype_is_minifloat(want), in = st_dtype_is_narrow_int(want);
    if (!(fl && t->dtype == ST_DTYPE_F32) &&
        !(in && (t->dtype == ST_DTYPE_I8 || t->dtype == ST_DTYPE_U8)))
        return ST_OK; /* anything else is left to the session's type check */
    st_tensor n;
    st_status s = st_tensor_alloc(&n, want, t->ndim, t->dims, err);
    if (s) return s;
    for (size_t i = 0, ne = st_tensor_nelem(t); i < ne; i++)
        st_tensor_set_f64(&n, i, st_tensor_get_f64(t, i));
    st_tensor_clear(t);
    *t = n;
    return ST_OK;
}

st_status st_value_read(const char *path, const st_value_info *expect, st_value *out,
                        char **name_out, st_error *err) {
    bool npy = has_ext(path, ".npy");
    if (!npy && !has_ext(path, ".pb")) {
        FILE *f = fopen(path, "rb");
        unsigned char magic[6] = {0};
        if (f) {
            npy = fread(magic, 1, 6, f) == 6 && !memcmp(magic, "\x93NUMPY", 6);
            fclose(f);
        }
    }
    if (npy) {
        st_value v;
        memset(&v, 0, sizeof v);
        st_status s = st_npy_read(path, &v.tensor, err);
        if (!s && (s = npy_to_narrow(expect, &v.tensor, err))) st_tensor_clear(&v.tensor);
        if (s) return s;
        v.kind = ST_VAL_TENSOR;
        if (name_out) *name_out = NULL;
        *out = v;
        return ST_OK;
    }
    st_status s = st_onnx_read_value(path, expect, out, name_out, err);
    /* ONNX stores bfloat16 test data as UINT16 tensors holding the bits: take them as
     * bfloat16 when the model asks for bfloat16 */
    if (!s && expect && expect->dtype == ST_DTYPE_BF16 && out->kind == ST_VAL_TENSOR &&
        out->tensor.dtype == ST_DTYPE_U16)
        out->tensor.dtype = ST_DTYPE_BF16;
    return s;
}

st_status st_tensor_write_npy(const char *path, const st_tensor *t, st_error *err) {
    return st_npy_write(path, t, err);
}

st_status st_value_write_pb(const char *path, const st_value *v, const char *name, st_error *err) {
    return st_onnx_write_value(path, v, name, err);
}

void st_string_free(char *s) { st_free(s); }
