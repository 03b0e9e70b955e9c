/* formats/torchscript/tsc.h: the TorchScript source language as torch.jit.save writes it
 * under code/ (a Python subset): a tokenizer with indentation, a parser into a syntax tree
 * held in an arena, and a printer that writes the tree back as source. It knows nothing of
 * modules' weights, aten semantics or the IR. */
#ifndef ST_TSC_H
#define ST_TSC_H

#include <stddef.h>
#include <stdint.h>

#include "core.h"

typedef enum {
    ST_TSC_NAME,  /* s */
    ST_TSC_INT,   /* i */
    ST_TSC_FLOAT, /* f */
    ST_TSC_STR,   /* s */
    ST_TSC_TRUE,
    ST_TSC_FALSE,
    ST_TSC_NONE,
    ST_TSC_ATTR,  /* a.s */
    ST_TSC_CALL,  /* a(args...), kw[i] names keyword arguments (NULL = positional) */
    ST_TSC_INDEX, /* a[b] (b may be a TUPLE for a[x, y]) */
    ST_TSC_SLICE, /* args[0]:args[1]:args[2], NULL parts omitted (n = 3) */
    ST_TSC_TUPLE, /* args */
    ST_TSC_LIST,  /* args */
    ST_TSC_BINOP, /* a s b: + - * / // % ** < > <= >= == != is "is not" in "not in" and or
                   * & | ^ << >> */
    ST_TSC_UNOP,  /* s a: - + ~ not */
    ST_TSC_IFEXP, /* a if b else args[0] */
    ST_TSC_EXPR_COUNT
} st_tsc_expr_kind;

typedef struct st_tsc_expr st_tsc_expr;
struct st_tsc_expr {
    st_tsc_expr_kind kind;
    int line;
    char *s;
    int64_t i;
    double f;
    st_tsc_expr *a, *b;
    size_t n;
    st_tsc_expr **args;
    char **kw;
};

typedef enum {
    ST_TSC_ASSIGN, /* target = value (target may be a TUPLE of names); op set for "+=" etc. */
    ST_TSC_DECL,   /* target : type [= value] (class attribute declarations) */
    ST_TSC_EXPR,   /* value */
    ST_TSC_RETURN, /* value (NULL for a bare return) */
    ST_TSC_IF,     /* if value: body else: orelse */
    ST_TSC_FOR,    /* for target in value: body */
    ST_TSC_WHILE,  /* while value: body */
    ST_TSC_PASS,
    ST_TSC_BREAK,
    ST_TSC_CONTINUE,
    ST_TSC_RAISE,  /* raise value */
    ST_TSC_ASSERT, /* assert value[, type] */
    ST_TSC_DEF,    /* def (nested: methods in classes, functions at top level) */
    ST_TSC_CLASS,  /* class */
    ST_TSC_IMPORT, /* import / from ... import: kept as text in s */
    ST_TSC_STMT_COUNT
} st_tsc_stmt_kind;

typedef struct st_tsc_stmt st_tsc_stmt;
typedef struct st_tsc_param {
    char *name;
    st_tsc_expr *type;  /* NULL when unannotated */
    st_tsc_expr *deflt; /* NULL when no default */
} st_tsc_param;

typedef struct st_tsc_block {
    size_t n;
    st_tsc_stmt **s;
} st_tsc_block;

struct st_tsc_stmt {
    st_tsc_stmt_kind kind;
    int line;
    char *op; /* ASSIGN: NULL or "+", "-", ... for augmented forms */
    char *s;  /* DEF/CLASS name; IMPORT text */
    st_tsc_expr *target, *value, *type;
    st_tsc_block body, orelse;
    size_t nparams; /* DEF */
    st_tsc_param *params;
    st_tsc_expr *ret; /* DEF return annotation */
    size_t nbases;    /* CLASS */
    st_tsc_expr **bases;
};

typedef struct st_tsc_file {
    st_tsc_block top; /* classes, functions, imports, assignments */
} st_tsc_file;

/* Parse source text (n bytes, need not be NUL-ended). `what` names it in errors, which give
 * the line: "code/__torch__.py:12: expected ')'". */
st_status st_tsc_parse(const char *src, size_t n, st_arena *arena, const char *what,
                       st_tsc_file **out, st_error *err);

/* Write the tree back as TorchScript source (two-space indents) into a NUL-ended heap
 * string *out (st_free it). */
st_status st_tsc_print(const st_tsc_file *f, char **out, st_error *err);
st_status st_tsc_print_expr(const st_tsc_expr *e, char **out, st_error *err);

/* Lookups on a parsed file. */
const st_tsc_stmt *st_tsc_find_class(const st_tsc_file *f, const char *name);
const st_tsc_stmt *st_tsc_find_def(const st_tsc_block *b, const char *name);

#endif
