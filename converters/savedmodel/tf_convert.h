/* converters/savedmodel/tf_convert.h: TensorFlow SavedModel directories <-> the IR. */
#ifndef ST_TF_CONVERT_H
#define ST_TF_CONVERT_H

#include "ir.h"

/* Load signature `signature` (NULL: serving_default) of the SavedModel in dir. */
st_status st_tf_import(const char *dir, const char *signature, st_model **out, st_error *err);
/* Write m as a SavedModel directory (saved_model.pb + variables/). */
st_status st_tf_export(const st_model *m, const char *dir, st_error *err);

/* The converter's op tables, for checks against the operator registry: row i of the import
 * table (TF op; the IR op a generic converter emits, or NULL) and of the export table (IR op;
 * the TF op a generic emitter writes, or NULL). False past the last row. */
bool st_tf_import_row(size_t i, const char **tf_op, const char **ir_op);
bool st_tf_export_row(size_t i, const char **ir_op, const char **tf_op);

#endif
