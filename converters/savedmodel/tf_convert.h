/* converters/savedmodel/tf_convert.h: TensorFlow SavedModel directories <-> the IR. */
#ifndef ST_TF_CONVERT_H
#define ST_TF_CONVERT_H

#include "ir.h"

/* Load signature `signature` (NULL: serving_default) of the SavedModel in dir. */
st_status st_tf_import(const char *dir, const char *signature, st_model **out, st_error *err);
/* Write m as a SavedModel directory (saved_model.pb + variables/). */
st_status st_tf_export(const st_model *m, const char *dir, st_error *err);

/* The importer's op table, for checks against the operator registry: row i (TF op; the IR
 * op a generic converter emits, or NULL). False past the last row. */
bool st_tf_import_row(size_t i, const char **tf_op, const char **ir_op);

#endif
