/* converters/torchscript/ts_types.c: PyTorch ScalarType codes <-> IR dtypes, shared by the
 * importer and the exporter (the only fact the exporter takes from the import side). */
#include "ts_types.h"

static const struct {
    int64_t code;
    st_dtype dt;
} torch_types[] = {
    /* ScalarType  dtype */
    {0, ST_DTYPE_U8},    {1, ST_DTYPE_I8},    {2, ST_DTYPE_I16}, {3, ST_DTYPE_I32},
    {4, ST_DTYPE_I64},   {5, ST_DTYPE_F16},   {6, ST_DTYPE_F32}, {7, ST_DTYPE_F64},
    {11, ST_DTYPE_BOOL}, {15, ST_DTYPE_BF16},
};
st_dtype st_ts_dtype_from_torch(int64_t code) {
    for (size_t i = 0; i < ST_ARRAY_LEN(torch_types); i++)
        if (torch_types[i].code == code) return torch_types[i].dt;
    return ST_DTYPE_UNDEFINED;
}
int64_t st_ts_dtype_to_torch(st_dtype dt) {
    for (size_t i = 0; i < ST_ARRAY_LEN(torch_types); i++)
        if (torch_types[i].dt == dt) return torch_types[i].code;
    return -1;
}
