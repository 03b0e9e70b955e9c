/* converters/onnx/onnx_value.c: value files as the ONNX node suite stores them
 * (test_data_set_N/input_N.pb): TensorProto, SequenceProto of tensors, OptionalProto of a
 * tensor or a sequence. Reading picks the message from the model input's description when
 * given; writing picks it from the value. */
#include <string.h>

#include "onnx_convert.h"
#include "onnx_internal.h"

static st_status read_sequence(st_onnx_ctx *c, const st_onnx_data *d, st_value *v, st_error *err) {
    v->kind = ST_VAL_SEQUENCE;
    if (d->n_tensors && !(v->seq = st_calloc(d->n_tensors, sizeof *v->seq)))
        return st_error_nomem(err);
    for (size_t i = 0; i < d->n_tensors; i++) {
        st_status s = st_onnx_tensor_decode(c, d->tensors[i], &v->seq[i], err);
        if (s) return s;
        v->nseq = i + 1;
        if (i && v->seq[i].dtype != v->seq[0].dtype)
            return st_errorf(err, ST_ERR_FORMAT, "sequence mixes %s and %s tensors",
                             st_dtype_name(v->seq[0].dtype), st_dtype_name(v->seq[i].dtype));
    }
    if (v->nseq) v->elem_dtype = v->seq[0].dtype;
    return ST_OK;
}

st_status st_onnx_read_value(const char *path, const st_value_info *expect, st_value *out,
                             char **name_out, st_error *err) {
    st_buf *file = NULL;
    st_arena *arena = NULL;
    st_onnx_ctx c;
    bool have_ctx = false;
    st_value v;
    memset(&v, 0, sizeof v);
    char *name = NULL;
    st_status s = st_read_file(path, &file, err);
    if (s) return s;
    st_onnx_msg msg;
    if (expect && expect->optional) msg = ST_ONNX_MSG_OPTIONAL;
    else if (expect && expect->kind == ST_VAL_SEQUENCE) msg = ST_ONNX_MSG_SEQUENCE;
    else if (expect && expect->kind == ST_VAL_TENSOR) msg = ST_ONNX_MSG_TENSOR;
    else msg = st_onnx_pb_guess_data(file->data, file->size);
    if (!(arena = st_arena_new(file->size + 4096))) goto nomem;
    st_onnx_data *d;
    if ((s = st_onnx_pb_parse_data(path, msg, file->data, file->size, arena, &d, err))) {
        st_arena_free(arena);
        goto fail;
    }
    if ((s = st_onnx_ctx_init(&c, path, arena, err))) goto fail; /* took the arena */
    have_ctx = true;
    if (d->name && *d->name && name_out && !(name = st_strdup(d->name))) goto nomem;
    switch (msg) {
    case ST_ONNX_MSG_TENSOR:
        v.kind = ST_VAL_TENSOR;
        s = st_onnx_tensor_decode(&c, d->tensor, &v.tensor, err);
        break;
    case ST_ONNX_MSG_SEQUENCE: s = read_sequence(&c, d, &v, err); break;
    case ST_ONNX_MSG_OPTIONAL:
        v.optional = true;
        if (d->tensor) {
            v.kind = ST_VAL_TENSOR;
            s = st_onnx_tensor_decode(&c, d->tensor, &v.tensor, err);
        } else if (d->sequence) {
            s = read_sequence(&c, d->sequence, &v, err);
        } else {
            v.kind = ST_VAL_NONE;
        }
        break;
    default: ST_ASSERT(0);
    }
    if (s) {
        if (s != ST_ERR_NOMEM) st_error_prefix(err, "%s: ", path);
        if (err) /* names from the file may hold control characters: keep the message one line */
            for (char *c = err->msg; *c; c++)
                if ((unsigned char)*c < 0x20) *c = '?';
        goto fail;
    }
    if (v.kind != ST_VAL_TENSOR && !v.elem_dtype && expect) v.elem_dtype = expect->dtype;
    st_onnx_ctx_release(&c); /* tensors keep their own references */
    st_buf_unref(file);
    if (name_out) *name_out = name;
    *out = v;
    return ST_OK;
nomem:
    s = st_error_nomem(err);
fail:
    st_value_clear(&v);
    st_free(name);
    if (have_ctx) st_onnx_ctx_release(&c);
    st_buf_unref(file);
    return s;
}

st_status st_onnx_write_value(const char *path, const st_value *v, const char *name,
                              st_error *err) {
    st_arena *a = st_arena_new(0);
    st_buf *bytes = NULL;
    st_status s = ST_OK;
    if (!a) return st_error_nomem(err);
    st_onnx_data top = {0}, seq = {0};
    top.name = name && *name ? (char *)name : NULL;
    seq.msg = ST_ONNX_MSG_SEQUENCE;
    seq.elem_type = ST_ONNX_ELEM_TENSOR;
    if (v->kind == ST_VAL_SEQUENCE) {
        if (v->nseq && !(seq.tensors = st_arena_alloc(a, v->nseq * sizeof *seq.tensors)))
            goto nomem;
        for (size_t i = 0; i < v->nseq; i++)
            if ((s = st_onnx_tensor_encode(a, &v->seq[i], NULL, &seq.tensors[i], err))) goto fail;
        seq.n_tensors = v->nseq;
    }
    if (v->optional || v->kind == ST_VAL_NONE) {
        top.msg = ST_ONNX_MSG_OPTIONAL;
        if (v->kind == ST_VAL_TENSOR) {
            top.elem_type = ST_ONNX_ELEM_TENSOR;
            if ((s = st_onnx_tensor_encode(a, &v->tensor, NULL, &top.tensor, err))) goto fail;
        } else if (v->kind == ST_VAL_SEQUENCE) {
            top.elem_type = ST_ONNX_ELEM_SEQUENCE;
            top.sequence = &seq;
        } else {
            top.elem_type = ST_ONNX_ELEM_UNDEFINED;
        }
    } else if (v->kind == ST_VAL_SEQUENCE) {
        seq.name = top.name;
        top = seq;
    } else {
        top.msg = ST_ONNX_MSG_TENSOR;
        if ((s = st_onnx_tensor_encode(a, &v->tensor, name, &top.tensor, err))) goto fail;
    }
    if ((s = st_onnx_pb_pack_data(&top, &bytes, err))) goto fail;
    s = st_write_file(path, bytes->data, bytes->size, err);
    goto done;
nomem:
    s = st_error_nomem(err);
fail:
done:
    st_buf_unref(bytes);
    st_arena_free(a);
    return s;
}
