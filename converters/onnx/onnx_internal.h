/* converters/onnx/onnx_internal.h: pieces shared by the ONNX importer, exporter and value
 * files: TensorProto / SparseTensorProto / TypeProto <-> IR tensors and types, and the
 * decode context that owns the parse arena and mapped external data files. */
#ifndef ST_ONNX_INTERNAL_H
#define ST_ONNX_INTERNAL_H

#include "ir.h"
#include "onnx/onnx_pb.h"

typedef struct st_onnx_ext {
    char *path;  /* resolved path (st_malloc'd) */
    st_buf *buf; /* its mapping; the context holds one reference */
} st_onnx_ext;

/* Everything decoded tensors may borrow from. */
typedef struct st_onnx_ctx {
    const char *label; /* the file, for messages */
    char *dir;         /* external data locations are relative to it (st_malloc'd) */
    st_buf *arena_buf; /* the parse arena wrapped as a buffer; aligned data is borrowed */
    st_buf *file;      /* the model's mapping when raw_data stayed there (NULL if none) */
    st_onnx_ext *ext;  /* each external data file mapped once */
    size_t n_ext, cap_ext;
} st_onnx_ctx;

/* Set up a context for the file at `path` whose parse tree lives in `arena`; the context
 * takes ownership of the arena (it lives on while decoded tensors borrow from it). */
st_status st_onnx_ctx_init(st_onnx_ctx *c, const char *path, st_arena *arena, st_error *err);
void st_onnx_ctx_release(st_onnx_ctx *c); /* drops the context's references */

/* TensorProto -> tensor. Messages start with 'tensor "name": '. */
st_status st_onnx_tensor_decode(st_onnx_ctx *c, const Onnx__TensorProto *tp, st_tensor *out,
                                st_error *err);
/* SparseTensorProto -> dense tensor. */
st_status st_onnx_sparse_decode(st_onnx_ctx *c, const Onnx__SparseTensorProto *sp, st_tensor *out,
                                st_error *err);
/* tensor -> TensorProto in `a`, pointing at t's bytes (no copy: keep t alive while packing). */
st_status st_onnx_tensor_encode(st_arena *a, const st_tensor *t, const char *name,
                                Onnx__TensorProto **out, st_error *err);

/* TypeProto -> type (NULL or unrepresentable: kind ST_VAL_NONE, rank -1). */
st_status st_onnx_type_decode(st_graph *g, const Onnx__TypeProto *tp, st_type *out, st_error *err);
/* type -> TypeProto in `a`; *out = NULL for an unknown type. */
st_status st_onnx_type_encode(st_arena *a, const st_type *t, Onnx__TypeProto **out, st_error *err);

/* Expand calls to model-local functions the runtime has no kernel for (onnx_inline.c). */
st_status st_onnx_inline_functions(st_model *m, st_error *err);

/* "x" for NULL-able protobuf strings. */
static inline const char *st_onnx_str(const char *s) { return s ? s : ""; }

#endif
