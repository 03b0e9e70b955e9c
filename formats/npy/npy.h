/* formats/npy/npy.h: NumPy .npy files (format versions 1.0, 2.0, 3.0) to and from
 * st_tensor, and .npz archives (zip of .npy members) read into named tensors. Bytes and
 * tensors only: this layer knows nothing of graphs, sessions or the IR.
 *
 * Types read: '<f2' '<f4' '<f8' '|i1' '<i2' '<i4' '<i8' '|u1' '<u2' '<u4' '<u8' '|b1' '<c8'
 * '<c16' (and their big-endian '>' forms, byte-swapped), '<U<n>' (UTF-32, becomes UTF-8
 * strings) and '|S<n>' (bytes, become strings). fortran_order arrays are transposed to C
 * order. Written: the same little-endian types; bfloat16 is written as '<f4' values and
 * strings as '<U<longest>'.
 *
 * Errors are one line naming the file (or `what`): ST_ERR_FORMAT for malformed bytes,
 * ST_ERR_LIMIT for absurd shapes, ST_ERR_UNSUPPORTED for valid types stele does not hold
 * (object arrays, structured dtypes). Out-parameters are written only on ST_OK. Tensors
 * returned own their storage (tensor->buf); release them with st_tensor_clear or
 * st_buf_unref(t->buf). */
#ifndef ST_NPY_H
#define ST_NPY_H

#include <stddef.h>

#include "core.h"

/* Read one .npy file into *out (a fresh heap copy; the file is not kept open). */
st_status st_npy_read(const char *path, st_tensor *out, st_error *err);
/* Parse .npy bytes; `what` names them in error messages (NULL: "npy data"). The bytes are
 * copied: *out does not borrow `data`. */
st_status st_npy_read_mem(const void *data, size_t n, const char *what, st_tensor *out,
                          st_error *err);
/* Write t as a .npy file (version 1.0, or 2.0 when the header needs it). */
st_status st_npy_write(const char *path, const st_tensor *t, st_error *err);

/* Read every member of an .npz archive (stored or deflated). On ST_OK, *n_out members,
 * *names_out[i] is the member name without its ".npy" suffix and (*tensors_out)[i] its
 * tensor; free all three with st_npz_free. */
st_status st_npz_read(const char *path, size_t *n_out, char ***names_out, st_tensor **tensors_out,
                      st_error *err);
/* Release what st_npz_read returned (NULL arrays are fine). */
void st_npz_free(size_t n, char **names, st_tensor *tensors);

#endif
