/* converters/torchscript/ts_types.h: PyTorch ScalarType codes <-> IR dtypes. The one
 * helper both directions share; it depends on nothing else in the converter. */
#ifndef ST_TS_TYPES_H
#define ST_TS_TYPES_H

#include "ir.h"

st_dtype st_ts_dtype_from_torch(int64_t code); /* ScalarType code -> dtype (UNDEFINED if none) */
int64_t st_ts_dtype_to_torch(st_dtype dt);     /* dtype -> ScalarType code, -1 if none */

#endif
