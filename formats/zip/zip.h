/* formats/zip/zip.h: zip archives as torch.jit.save writes them (and .pt2 later): a reader
 * over a read-only file mapping that hands out stored members without copying, and a writer
 * that stores members uncompressed with their data 64-byte aligned. Bytes only: this layer
 * knows nothing of pickles, TorchScript or the IR.
 *
 * The reader refuses archives it cannot trust as a whole: a member name that is absolute or
 * climbs out with "..", sizes beyond the file (stored) or beyond any plausible compression
 * ratio (deflated), truncated central directories. Errors are one line; out-parameters are
 * written only on ST_OK. */
#ifndef ST_ZIP_H
#define ST_ZIP_H

#include <stddef.h>
#include <stdint.h>

#include "core.h"

typedef struct st_zip_entry {
    char *name;        /* full member name as stored */
    const char *rel;   /* name after the archive's common top folder ("data.pkl") */
    uint64_t size;     /* uncompressed bytes */
    uint64_t csize;    /* compressed bytes */
    uint64_t data_off; /* file offset of the member's (compressed) bytes */
    int method;        /* 0 stored, 8 deflated */
    uint32_t crc;
    uint32_t index; /* libzip index */
} st_zip_entry;

typedef struct st_zip st_zip;

/* Map `path` and read its central directory. */
st_status st_zip_open(const char *path, st_zip **out, st_error *err);
/* Same over bytes already in a buffer (takes a new reference to buf); `what` names them. */
st_status st_zip_open_buf(st_buf *buf, const char *what, st_zip **out, st_error *err);
void st_zip_close(st_zip *z); /* NULL is a no-op */

size_t st_zip_count(const st_zip *z);
const st_zip_entry *st_zip_entry_at(const st_zip *z, size_t i);
/* The common top folder with its slash ("model/"), or "" when members have none. */
const char *st_zip_prefix(const st_zip *z);
/* A member by its name relative to the top folder (NULL if absent). */
const st_zip_entry *st_zip_find(const st_zip *z, const char *rel);
/* The mapping the archive lives in (for borrowers of stored members). */
st_buf *st_zip_buf(const st_zip *z);

/* A member's bytes. Stored members point into the mapping (*owner = a new reference to
 * it); deflated ones are inflated into a fresh heap buffer (*owner owns it). Release with
 * st_buf_unref(*owner). The bytes are followed by nothing in particular: not NUL-ended. */
st_status st_zip_read(st_zip *z, const st_zip_entry *e, st_buf **owner, const uint8_t **data,
                      st_error *err);

/* ---- writing ---------------------------------------------------------------------- */
typedef struct st_zip_writer st_zip_writer;
st_status st_zip_writer_open(const char *path, st_zip_writer **out, st_error *err);
/* Append a stored member whose data starts on a 64-byte boundary. */
st_status st_zip_writer_add(st_zip_writer *w, const char *name, const void *data, size_t n,
                            st_error *err);
/* Write the central directory and close the file; frees w whatever the outcome. */
st_status st_zip_writer_finish(st_zip_writer *w, st_error *err);
/* Abandon a writer (removes nothing; the partial file stays). NULL is a no-op. */
void st_zip_writer_free(st_zip_writer *w);

#endif
