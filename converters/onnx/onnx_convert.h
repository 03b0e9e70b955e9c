/* converters/onnx/onnx_convert.h: ONNX files <-> the IR, the entry points api/ calls.
 * Models (ModelProto with external data), value files as the ONNX node suite stores them
 * (TensorProto, SequenceProto, OptionalProto), and content sniffing. */
#ifndef ST_ONNX_CONVERT_H
#define ST_ONNX_CONVERT_H

#include "ir.h"

/* Load an ONNX model. Tensors borrow from the model file's mapping (raw_data of 64 bytes or
 * more), the parse arena or mapped external data files, never copied when alignment allows.
 * Errors name the file and the reason. */
st_status st_onnx_import(const char *path, st_model **out, st_error *err);

/* Write m as an ONNX model. Tensors of at least external_threshold bytes (when > 0) go to
 * "<model file name>.data" beside the model (4096-aligned offsets); so do large tensors
 * when the model would otherwise exceed protobuf's 2 GiB limit. Files are replaced
 * atomically (written under a temporary name, then renamed). */
st_status st_onnx_export(const st_model *m, const char *path, size_t external_threshold,
                         st_error *err);

/* Read a value file. `expect` (may be NULL) decides the message: optional -> OptionalProto,
 * sequence -> SequenceProto, else TensorProto; without it the message is guessed from the
 * wire fields. *name_out (if name_out) gets a st_malloc'd copy of the stored name or NULL. */
st_status st_onnx_read_value(const char *path, const st_value_info *expect, st_value *out,
                             char **name_out, st_error *err);

/* Write v as TensorProto, SequenceProto or OptionalProto (when v->optional or NONE). */
st_status st_onnx_write_value(const char *path, const st_value *v, const char *name,
                              st_error *err);

/* Move m's ai.onnx nodes to opset `target` (7..25) in place and set its opset import (and
 * IR version) to match (onnx_opset.c). ST_ERR_UNSUPPORTED names the node and the reason when
 * the target cannot express a node; m may then be partly converted (convert a copy). */
st_status st_onnx_convert_opset(st_model *m, int64_t target, st_error *err);

/* Plausibly a serialized ModelProto; `data` may be just the file's first bytes. */
bool st_onnx_sniff(const unsigned char *data, size_t n);

#endif
