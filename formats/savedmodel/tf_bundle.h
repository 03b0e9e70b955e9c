/* formats/savedmodel/tf_bundle.h: TensorFlow tensor bundles (variables/variables.index +
 * variables.data-NNNNN-of-NNNNN) and the LevelDB-style sorted table the index is stored in,
 * plus the SavedModel protobuf loader. Bytes and protobuf trees only: nothing of the IR. */
#ifndef ST_TF_BUNDLE_H
#define ST_TF_BUNDLE_H

#include "core.h"
#include "tf_savedmodel.pb-c.h"

/* ---- sorted table (LevelDB layout) ---------------------------------------------------- */
typedef struct st_tf_kv {
    char *key; /* NUL-terminated copy (keys may not hold NUL) */
    size_t key_len;
    uint8_t *value; /* heap copy */
    size_t value_len;
} st_tf_kv;

/* Read every key/value of a table file, verifying block checksums (masked CRC32C over
 * block + type byte), decompressing Snappy blocks, checking the footer magic. */
st_status st_tf_table_read(const char *path, st_tf_kv **out, size_t *n, st_error *err);
void st_tf_kvs_free(st_tf_kv *kv, size_t n);
/* Write a table: one uncompressed data block (restart every 16 keys), an empty
 * meta-index block, an index block and the 48-byte footer. Keys must be sorted. */
st_status st_tf_table_write(const char *path, const st_tf_kv *kv, size_t n, st_error *err);

/* ---- tensor bundles ------------------------------------------------------------------- */
typedef struct st_tf_bundle st_tf_bundle;

/* Open prefix.index and map its shards (prefix: DIR + "/variables/variables"). */
st_status st_tf_bundle_open(const char *prefix, st_tf_bundle **out, st_error *err);
void st_tf_bundle_free(st_tf_bundle *b);
size_t st_tf_bundle_count(const st_tf_bundle *b); /* entries, header excluded */
const char *st_tf_bundle_key(const st_tf_bundle *b, size_t i);
const Stele__Tf__BundleEntryProto *st_tf_bundle_entry(const st_tf_bundle *b, const char *key);
/* The stored bytes of `key`, checked against the entry's CRC32C. *data points into a
 * mapping held by *buf (a new reference the caller drops with st_buf_unref). */
st_status st_tf_bundle_data(const st_tf_bundle *b, const char *key, const uint8_t **data,
                            size_t *size, st_buf **buf, st_error *err);

typedef struct st_tf_bundle_item {
    const char *key;
    int dtype; /* TensorFlow DataType */
    int ndim;
    const int64_t *dims;
    const void *data; /* numeric bytes, little-endian row-major */
    size_t size;
} st_tf_bundle_item;
/* Write prefix.index and prefix.data-00000-of-00001 (items in any order). */
st_status st_tf_bundle_write(const char *prefix, const st_tf_bundle_item *items, size_t n,
                             st_error *err);

/* ---- SavedModel protobuf ---------------------------------------------------------------- */
/* Parse <dir>/saved_model.pb; free with st_tf_saved_model_free. */
st_status st_tf_saved_model_load(const char *dir, Stele__Tf__SavedModel **out, st_error *err);
void st_tf_saved_model_free(Stele__Tf__SavedModel *sm);

#endif
