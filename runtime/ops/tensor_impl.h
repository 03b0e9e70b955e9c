/* runtime/ops/tensor_impl.h: private to the tensor family (tensor.c, tensor_*.c): the
 * element movers they share and the prepare functions the family table in tensor.c names.
 * Nothing outside runtime/ops/tensor*.c includes it. */
#ifndef ST_TENSOR_IMPL_H
#define ST_TENSOR_IMPL_H

#include "op.h"

/* Dims a strided copy may use: Tile views each dim as (repeat, dim). */
#define ST_TSR_MAXD (2 * ST_MAX_RANK)

/* Declare output i unless it is a string tensor (those are heap-allocated at run so
 * their buffer owns the strings) or omitted. */
void st_tsr_declare(st_kctx *k, int i, st_dtype dtype, int ndim, const int64_t *dims);
/* After elements of a string tensor were copied as raw st_str values (borrowing the
 * source's bytes), give elements [begin, end) their own copies. No-op for other dtypes. */
st_status st_tsr_own_strings(st_tensor *y, size_t begin, size_t end, st_error *err);
/* Read a 1-D (or scalar) integer tensor of at most max entries into out. */
st_status st_tsr_ints(const st_tensor *t, size_t max, int64_t *out, size_t *n, const char *what,
                      st_error *err);
/* Normalize n axes against rank into out, rejecting repeats. */
st_status st_tsr_axes(const int64_t *axes, size_t n, int rank, int *out, st_error *err);
/* Fill n elements of es bytes with *elem. */
void st_tsr_fill(void *dst, size_t n, const void *elem, size_t es);
/* dst[i] = src[i] over an index space of ndim (<= ST_TSR_MAXD) dims, with element strides
 * for each side (source strides may be 0 or negative). Threads for large copies. */
void st_tsr_copy_strided(st_pool *pool, int ndim, const int64_t *dims, void *dst,
                         const int64_t *dst_strides, const void *src, const int64_t *src_strides,
                         size_t es);
/* Contiguous dst over dims (ndim <= ST_MAX_RANK) from src at per-dim source indices
 * maps[d][o] (-1: the element *fill). */
void st_tsr_copy_mapped(st_pool *pool, int ndim, const int64_t *dims, const int64_t *const *maps,
                        void *dst, const void *src, const int64_t *src_strides, const void *fill,
                        size_t es);

/* What run returns when st_out gave NULL for output i: its error, or OK if omitted. */
static inline st_status st_tsr_out_status(const st_kctx *k, int i, const st_error *err) {
    if (!st_has_out(k, i)) return ST_OK;
    return err && err->status != ST_OK ? err->status : ST_ERR_INVALID;
}

/* Prepare functions, by file. */
/* tensor_move.c */
st_status st_tsr_prep_transpose(st_kctx *k, st_error *err);
st_status st_tsr_prep_concat(st_kctx *k, st_error *err);
st_status st_tsr_prep_split(st_kctx *k, st_error *err);
st_status st_tsr_prep_slice(st_kctx *k, st_error *err);
st_status st_tsr_prep_expand(st_kctx *k, st_error *err);
st_status st_tsr_prep_tile(st_kctx *k, st_error *err);
st_status st_tsr_prep_pad(st_kctx *k, st_error *err);
st_status st_tsr_prep_d2s(st_kctx *k, st_error *err);
st_status st_tsr_prep_s2d(st_kctx *k, st_error *err);
st_status st_tsr_prep_revseq(st_kctx *k, st_error *err);
/* tensor_index.c */
st_status st_tsr_prep_gather(st_kctx *k, st_error *err);
st_status st_tsr_prep_gather_el(st_kctx *k, st_error *err);
st_status st_tsr_prep_gathernd(st_kctx *k, st_error *err);
st_status st_tsr_prep_scatter_el(st_kctx *k, st_error *err);
st_status st_tsr_prep_scatternd(st_kctx *k, st_error *err);
st_status st_tsr_prep_onehot(st_kctx *k, st_error *err);
st_status st_tsr_prep_nonzero(st_kctx *k, st_error *err);
st_status st_tsr_prep_compress(st_kctx *k, st_error *err);
st_status st_tsr_prep_unique(st_kctx *k, st_error *err);
/* tensor_resize.c */
st_status st_tsr_prep_resize(st_kctx *k, st_error *err);
st_status st_tsr_prep_upsample(st_kctx *k, st_error *err);
st_status st_tsr_prep_gridsample(st_kctx *k, st_error *err);
/* tensor_geom.c */
st_status st_tsr_prep_center_crop_pad(st_kctx *k, st_error *err);
st_status st_tsr_prep_col2im(st_kctx *k, st_error *err);
st_status st_tsr_prep_affine_grid(st_kctx *k, st_error *err);
st_status st_tsr_prep_tensor_scatter(st_kctx *k, st_error *err);

#endif
