/* converters/torchscript/ts_convert.h: TorchScript archives (torch.jit.save) <-> the IR. */
#ifndef ST_TS_CONVERT_H
#define ST_TS_CONVERT_H

#include "infer.h"
#include "ir.h"

/* Load a TorchScript archive as one IR graph. Errors name the file and the reason. */
st_status st_ts_import(const char *path, st_model **out, st_error *err);
/* What one import had to work out for itself (for tests and diagnostics). */
typedef struct st_ts_import_info {
    int n_rank_decisions; /* graph inputs whose rank the code needed but never stated */
} st_ts_import_info;
/* st_ts_import with the shapes of some forward parameters bound by name (`--shape`; may be
 * NULL): their ranks and dims come from the bindings instead of from what the code needs.
 * Fills *info (may be NULL) on success. The archive is read once. */
st_status st_ts_import_ex(const char *path, const st_infer_bind *shapes, size_t n_shapes,
                          st_model **out, st_ts_import_info *info, st_error *err);
/* Write m as a TorchScript archive that torch.jit.load accepts. */
st_status st_ts_export(const st_model *m, const char *path, st_error *err);

#endif
