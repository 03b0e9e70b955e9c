/* formats/pickle/pickle.h: Python pickles (protocols 2-5) as TorchScript archives use them
 * (data.pkl, constants.pkl), read into a value tree and written back. Nothing from a file is
 * ever executed: REDUCE / NEWOBJ / BUILD only record "call this global with these
 * arguments", and globals must come from a fixed allow-list (anything else is refused with
 * an error naming it). This layer knows nothing of tensors or the IR. */
#ifndef ST_PICKLE_H
#define ST_PICKLE_H

#include <stddef.h>
#include <stdint.h>

#include "core.h"

typedef enum {
    ST_PKL_NONE = 0,
    ST_PKL_BOOL,   /* b */
    ST_PKL_INT,    /* i (values beyond int64 are refused) */
    ST_PKL_FLOAT,  /* f */
    ST_PKL_STR,    /* s, len (UTF-8, NUL-ended) */
    ST_PKL_BYTES,  /* s, len */
    ST_PKL_TUPLE,  /* items[n] */
    ST_PKL_LIST,   /* items[n] */
    ST_PKL_DICT,   /* items[2n]: key, value pairs in insertion order */
    ST_PKL_SET,    /* items[n] */
    ST_PKL_GLOBAL, /* s = module, name */
    ST_PKL_CALL,   /* fn(args) recorded, never run; state from BUILD; items[2n] from SETITEMS */
    ST_PKL_PERSID, /* persistent id: args names external data (TorchScript storages) */
    ST_PKL_KIND_COUNT
} st_pkl_kind;

typedef struct st_pkl st_pkl;
struct st_pkl {
    st_pkl_kind kind;
    bool b;
    bool newobj; /* CALL written with NEWOBJ (class instantiation) rather than REDUCE */
    int64_t i;
    double f;
    char *s;
    size_t len;
    char *name;
    size_t n, cap; /* element count (pairs for DICT / CALL items) */
    st_pkl **items;
    st_pkl *fn, *args, *state;
};

/* Parse a pickle; every node lives in `arena` (freed by the caller). `what` names the data
 * in errors ("data.pkl"). ST_ERR_FORMAT for malformed bytes, ST_ERR_UNSUPPORTED for a
 * global outside the allow-list or an opcode TorchScript never writes. */
st_status st_pkl_parse(const uint8_t *data, size_t n, st_arena *arena, const char *what,
                       st_pkl **out, st_error *err);
/* True when module.name is on the allow-list. */
bool st_pkl_allowed(const char *module, const char *name);

/* ---- building values (for writers and tests; NULL = out of memory) ------------------ */
st_pkl *st_pkl_new(st_arena *a, st_pkl_kind kind);
st_pkl *st_pkl_int(st_arena *a, int64_t v);
st_pkl *st_pkl_float(st_arena *a, double v);
st_pkl *st_pkl_bool(st_arena *a, bool v);
st_pkl *st_pkl_str(st_arena *a, const char *s);
st_pkl *st_pkl_global(st_arena *a, const char *module, const char *name);
st_pkl *st_pkl_call(st_arena *a, st_pkl *fn, st_pkl *args, bool newobj);
/* Append to a TUPLE/LIST/SET; false on OOM. */
bool st_pkl_push(st_arena *a, st_pkl *seq, st_pkl *item);
/* Append a key/value pair to a DICT (or a CALL's SETITEMS); false on OOM. */
bool st_pkl_set(st_arena *a, st_pkl *dict, st_pkl *key, st_pkl *value);

/* ---- queries --------------------------------------------------------------------- */
/* The value for string key `key` in a DICT (or a CALL's items), NULL if absent. */
st_pkl *st_pkl_get(const st_pkl *dict, const char *key);
/* True when v is a GLOBAL (or a CALL of one) named module.name. */
bool st_pkl_is_global(const st_pkl *v, const char *module, const char *name);

/* Serialize v with protocol 2 into a fresh heap buffer (*out, release with st_buf_unref). */
st_status st_pkl_dump(const st_pkl *v, st_buf **out, st_error *err);

#endif
