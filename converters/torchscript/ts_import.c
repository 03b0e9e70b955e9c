/* converters/torchscript/ts_import.c: TorchScript archive -> IR. Reads data.pkl and
 * constants.pkl (module tree and weights), parses code/ lazily, and interprets `forward`
 * abstractly: module method calls are inlined, Python scalars fold at import, tensors become
 * IR values and aten calls become IR ops (ts_optab.c). Data-dependent `if`/`for`/`while`
 * become If/Loop nodes with subgraphs. Weights borrow the archive's mapping when aligned. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ts_convert.h"
#include "ts_internal.h"

#define MAX_CALL_DEPTH 64  /* nested module/function calls */
#define MAX_EVAL_DEPTH 100 /* nested expressions */
#define MAX_FLOW_DEPTH 32  /* nested data-dependent if / loops */
#define MAX_RESULTS 64     /* values an if or loop hands on */

/* ---- archive: files, tensors ------------------------------------------------------ */
static st_status read_member(st_ts_imp *im, const char *rel, st_buf **owner, const uint8_t **data,
                             size_t *n) {
    const st_zip_entry *e = st_zip_find(im->z, rel);
    if (!e) return st_ts_fail(im, ST_ERR_FORMAT, "archive has no %s%s", st_zip_prefix(im->z), rel);
    st_error e2;
    st_status s = st_zip_read(im->z, e, owner, data, &e2);
    if (s) return st_ts_fail(im, s, "%s", e2.msg);
    *n = e->size;
    return ST_OK;
}

static st_status load_pickle(st_ts_imp *im, const char *rel, const st_pkl **out) {
    st_buf *b = NULL;
    const uint8_t *d;
    size_t n = 0;
    if (read_member(im, rel, &b, &d, &n)) return im->st;
    st_error e2;
    st_pkl *v = NULL;
    st_status s = st_pkl_parse(d, n, im->pa, rel, &v, &e2);
    st_buf_unref(b);
    if (s) return st_ts_fail(im, s, "%s", e2.msg);
    *out = v;
    return ST_OK;
}

static st_tsc_file *load_code(st_ts_imp *im, const char *mod) {
    for (size_t i = 0; i < im->nfiles; i++)
        if (!strcmp(im->files[i].mod, mod)) return im->files[i].f;
    char rel[1024];
    int k = snprintf(rel, sizeof rel, "code/%s.py", mod);
    if (k < 0 || (size_t)k >= sizeof rel) {
        st_ts_fail(im, ST_ERR_LIMIT, "module name too long");
        return NULL;
    }
    for (char *c = rel + 5; *c && strcmp(c, ".py"); c++)
        if (*c == '.') *c = '/';
    st_buf *b = NULL;
    const uint8_t *d;
    size_t n = 0;
    if (read_member(im, rel, &b, &d, &n)) return NULL;
    st_error e2;
    st_tsc_file *f = NULL;
    st_status s = st_tsc_parse((const char *)d, n, im->pa, rel, &f, &e2);
    st_buf_unref(b);
    if (s) {
        st_ts_fail(im, s, "%s", e2.msg);
        return NULL;
    }
    if (!ST_GROW(im->files, im->capfiles, im->nfiles + 1)) {
        st_ts_nomem(im);
        return NULL;
    }
    im->files[im->nfiles].mod = st_arena_strdup(im->pa, mod);
    im->files[im->nfiles++].f = f;
    return f;
}

static st_dtype storage_dtype(const char *name) {
    static const struct {
        const char *n;
        st_dtype dt;
    } t[] = {
        {"FloatStorage", ST_DTYPE_F32}, {"DoubleStorage", ST_DTYPE_F64},
        {"HalfStorage", ST_DTYPE_F16},  {"BFloat16Storage", ST_DTYPE_BF16},
        {"LongStorage", ST_DTYPE_I64},  {"IntStorage", ST_DTYPE_I32},
        {"ShortStorage", ST_DTYPE_I16}, {"CharStorage", ST_DTYPE_I8},
        {"ByteStorage", ST_DTYPE_U8},   {"BoolStorage", ST_DTYPE_BOOL},
    };
    for (size_t i = 0; i < ST_ARRAY_LEN(t); i++)
        if (!strcmp(t[i].n, name)) return t[i].dt;
    return ST_DTYPE_UNDEFINED;
}

/* _rebuild_tensor_v2(persid(('storage', cls, key, device, numel)), offset, size, stride, ...) */
static st_status load_tensor(st_ts_imp *im, const st_pkl *call, const char *folder, tv *out) {
    for (size_t i = 0; i < im->ntensors; i++)
        if (im->tensors[i].p == call) {
            *out = st_ts_tensor(im, st_ts_here(im, im->top, im->tensors[i].vi), im->tensors[i].rank,
                                im->tensors[i].dt);
            out->g = im->g;
            return im->st;
        }
    const st_pkl *a = call->args;
    if (a->n < 4 || a->items[0]->kind != ST_PKL_PERSID || a->items[1]->kind != ST_PKL_INT ||
        a->items[2]->kind != ST_PKL_TUPLE || a->items[3]->kind != ST_PKL_TUPLE ||
        a->items[2]->n != a->items[3]->n || a->items[2]->n > ST_MAX_RANK)
        return st_ts_fail(im, ST_ERR_FORMAT, "malformed tensor record in the pickle");
    const st_pkl *pid = a->items[0]->args;
    if (pid->kind != ST_PKL_TUPLE || pid->n < 5 || pid->items[0]->kind != ST_PKL_STR ||
        strcmp(pid->items[0]->s, "storage") || pid->items[1]->kind != ST_PKL_GLOBAL ||
        pid->items[2]->kind != ST_PKL_STR || pid->items[4]->kind != ST_PKL_INT)
        return st_ts_fail(im, ST_ERR_FORMAT, "malformed storage reference in the pickle");
    st_dtype dt = storage_dtype(pid->items[1]->name);
    if (!dt)
        return st_ts_fail(im, ST_ERR_UNSUPPORTED, "storage type torch.%s is not supported",
                          pid->items[1]->name);
    size_t esz = st_dtype_size(dt);
    int ndim = (int)a->items[2]->n;
    int64_t dims[ST_MAX_RANK], strides[ST_MAX_RANK];
    int64_t off = a->items[1]->i, numel = pid->items[4]->i;
    for (int i = 0; i < ndim; i++) {
        const st_pkl *d = a->items[2]->items[i], *s = a->items[3]->items[i];
        if (d->kind != ST_PKL_INT || s->kind != ST_PKL_INT || d->i < 0 || s->i < 0)
            return st_ts_fail(im, ST_ERR_FORMAT, "malformed tensor shape in the pickle");
        dims[i] = d->i;
        strides[i] = s->i;
    }
    size_t nel;
    st_error e2;
    if (st_shape_nelem(ndim, dims, &nel, &e2)) return st_ts_fail(im, ST_ERR_LIMIT, "%s", e2.msg);
    /* the furthest element must lie inside the storage, and the storage inside its record */
    int64_t last = off;
    for (int i = 0; i < ndim; i++) {
        int64_t span;
        if (dims[i] > 0 && (!st_mul_i64_ok(dims[i] - 1, strides[i], &span) ||
                            __builtin_add_overflow(last, span, &last)))
            return st_ts_fail(im, ST_ERR_LIMIT, "tensor strides overflow");
    }
    char rel[512];
    snprintf(rel, sizeof rel, "%s/%s", folder, pid->items[2]->s);
    const st_zip_entry *ze = st_zip_find(im->z, rel);
    if (!ze) return st_ts_fail(im, ST_ERR_FORMAT, "archive has no storage %s", rel);
    size_t need;
    if (off < 0 || numel < 0 || (nel && last >= numel) || !st_mul_ok((size_t)numel, esz, &need) ||
        need > ze->size)
        return st_ts_fail(im, ST_ERR_FORMAT, "tensor in %s lies outside its storage (%zu bytes)",
                          rel, (size_t)ze->size);
    st_buf *owner = NULL;
    const uint8_t *data;
    size_t n;
    if (read_member(im, rel, &owner, &data, &n)) return im->st;
    st_tensor t;
    bool contiguous = true;
    int64_t want = 1;
    for (int i = ndim - 1; i >= 0; i--) {
        if (dims[i] != 1 && strides[i] != want) contiguous = false;
        want *= dims[i];
    }
    const uint8_t *base = data + (size_t)off * esz;
    if (contiguous && ((uintptr_t)base % esz) == 0) {
        st_tensor_borrow(&t, dt, ndim, dims, (void *)base, owner);
    } else {
        if (st_tensor_alloc(&t, dt, ndim, dims, &e2)) {
            st_buf_unref(owner);
            return st_ts_fail(im, e2.status, "%s", e2.msg);
        }
        int64_t idx[ST_MAX_RANK] = {0};
        for (size_t e = 0; e < nel; e++) {
            int64_t src = off;
            for (int i = 0; i < ndim; i++) src += idx[i] * strides[i];
            memcpy((uint8_t *)t.data + e * esz, data + (size_t)src * esz, esz);
            for (int i = ndim - 1; i >= 0; i--) {
                if (++idx[i] < dims[i]) break;
                idx[i] = 0;
            }
        }
    }
    st_buf_unref(owner);
    st_graph *save = im->g;
    im->g = im->top;
    int vi = st_ts_const(im, &t);
    im->g = save;
    st_tensor_clear(&t);
    if (im->st) return im->st;
    if (!ST_GROW(im->tensors, im->captensors, im->ntensors + 1)) return st_ts_nomem(im);
    im->tensors[im->ntensors++] = (tensor_ent){call, vi, ndim, dt};
    *out = st_ts_tensor(im, st_ts_here(im, im->top, vi), ndim, dt);
    return im->st;
}

/* A pickled value as an interpreter value. */
static st_status from_pkl(st_ts_imp *im, const st_pkl *p, const char *folder, tv *out) {
    switch (p->kind) {
    case ST_PKL_NONE: *out = st_ts_scalar(TV_NONE, 0, 0); return ST_OK;
    case ST_PKL_BOOL: *out = st_ts_scalar(TV_BOOL, p->b, 0); return ST_OK;
    case ST_PKL_INT: *out = st_ts_scalar(TV_INT, p->i, 0); return ST_OK;
    case ST_PKL_FLOAT: *out = st_ts_scalar(TV_FLOAT, 0, p->f); return ST_OK;
    case ST_PKL_STR: *out = st_ts_scalar(TV_STR, 0, 0), out->s = p->s; return ST_OK;
    case ST_PKL_TUPLE:
    case ST_PKL_LIST: {
        tv r = st_ts_scalar(p->kind == ST_PKL_TUPLE ? TV_TUPLE : TV_LIST, 0, 0);
        r.n = p->n;
        if (p->n && !(r.items = st_arena_alloc(im->pa, p->n * sizeof(tv)))) return st_ts_nomem(im);
        for (size_t i = 0; i < p->n; i++)
            if (from_pkl(im, p->items[i], folder, &r.items[i])) return im->st;
        *out = r;
        return ST_OK;
    }
    case ST_PKL_CALL:
        if (st_pkl_is_global(p, "torch._utils", "_rebuild_tensor_v2") ||
            st_pkl_is_global(p, "torch._utils", "_rebuild_tensor"))
            return load_tensor(im, p, folder, out);
        if ((st_pkl_is_global(p, "torch._utils", "_rebuild_parameter") ||
             !strcmp(p->fn->s, "torch.jit._pickle")) &&
            p->args->n >= 1)
            return from_pkl(im, p->args->items[0], folder, out);
        if (!strncmp(p->fn->s, "__torch__", 9)) {
            *out = st_ts_scalar(TV_OBJ, 0, 0);
            out->obj = p;
            return ST_OK;
        }
        break;
    default: break;
    }
    return st_ts_fail(im, ST_ERR_UNSUPPORTED, "a pickled %s is not supported here",
                      p->kind == ST_PKL_CALL    ? "call of an unknown global"
                      : p->kind == ST_PKL_DICT  ? "dict"
                      : p->kind == ST_PKL_BYTES ? "bytes value"
                                                : "value");
}

/* ---- the interpreter -------------------------------------------------------------- */
typedef struct env {
    const char **names;
    tv *vals;
    size_t n, cap;
} env;

static tv *env_get(env *e, const char *name) {
    for (size_t i = e->n; i-- > 0;)
        if (!strcmp(e->names[i], name)) return &e->vals[i];
    return NULL;
}

static st_status env_set(st_ts_imp *im, env *e, const char *name, const tv *v) {
    tv *have = env_get(e, name);
    if (have) {
        *have = *v;
        return ST_OK;
    }
    if (e->n == e->cap) {
        size_t cap = e->cap ? e->cap * 2 : 16;
        const char **nn = st_realloc(e->names, cap * sizeof *nn);
        if (!nn) return st_ts_nomem(im);
        e->names = nn;
        tv *nv = st_realloc(e->vals, cap * sizeof *nv);
        if (!nv) return st_ts_nomem(im);
        e->vals = nv;
        e->cap = cap;
    }
    e->names[e->n] = name;
    e->vals[e->n++] = *v;
    return ST_OK;
}

static void env_free(env *e) {
    st_free(e->names);
    st_free(e->vals);
    memset(e, 0, sizeof *e);
}

static st_status env_copy(st_ts_imp *im, env *dst, const env *src) {
    memset(dst, 0, sizeof *dst);
    for (size_t i = 0; i < src->n; i++)
        if (env_set(im, dst, src->names[i], &src->vals[i])) return im->st;
    return ST_OK;
}

typedef struct frame {
    env e;
    bool returned;
    tv ret;
} frame;

static st_status eval(st_ts_imp *im, frame *f, const st_tsc_expr *x, tv *out);
static st_status exec_block(st_ts_imp *im, frame *f, const st_tsc_block *b);

static st_status unsupported(st_ts_imp *im, const char *name, tv *out) {
    for (size_t i = 0; i < im->nunsup; i++)
        if (!strcmp(im->unsup[i].name, name)) {
            im->unsup[i].count++;
            *out = st_ts_scalar(TV_UNSUPPORTED, 0, 0);
            return ST_OK;
        }
    if (!ST_GROW(im->unsup, im->capunsup, im->nunsup + 1)) return st_ts_nomem(im);
    im->unsup[im->nunsup].name = st_arena_strdup(im->pa, name);
    im->unsup[im->nunsup++].count = 1;
    *out = st_ts_scalar(TV_UNSUPPORTED, 0, 0);
    return ST_OK;
}

/* "torch.relu" for NAME/ATTR chains whose root is not a local variable. */
static bool dotted(frame *f, const st_tsc_expr *x, char *buf, size_t cap) {
    if (x->kind == ST_TSC_NAME) {
        if (env_get(&f->e, x->s)) return false;
        return (size_t)snprintf(buf, cap, "%s", x->s) < cap;
    }
    if (x->kind != ST_TSC_ATTR || !dotted(f, x->a, buf, cap)) return false;
    size_t l = strlen(buf);
    return (size_t)snprintf(buf + l, cap - l, ".%s", x->s) < cap - l;
}

static const st_tsc_stmt *find_class(st_ts_imp *im, const char *qual);
static st_status eval(st_ts_imp *im, frame *f, const st_tsc_expr *x, tv *out);

static st_status obj_attr(st_ts_imp *im, const tv *o, const char *name, tv *out) {
    const st_pkl *st = o->obj->state;
    const st_pkl *v = st_pkl_get(st, name);
    if (v) return from_pkl(im, v, "data", out);
    /* class constants (`groups : Final[int] = 1`) live in the code, not the pickle */
    char qual[512];
    snprintf(qual, sizeof qual, "%s.%s", o->obj->fn->s, o->obj->fn->name);
    const st_tsc_stmt *cls = find_class(im, qual);
    for (size_t i = 0; cls && i < cls->body.n; i++) {
        const st_tsc_stmt *d = cls->body.s[i];
        if (d->kind == ST_TSC_DECL && d->value && d->target->kind == ST_TSC_NAME &&
            !strcmp(d->target->s, name)) {
            frame empty;
            memset(&empty, 0, sizeof empty);
            return eval(im, &empty, d->value, out);
        }
    }
    return st_ts_fail(im, ST_ERR_FORMAT, "module %s has no attribute \"%s\"", o->obj->fn->name,
                      name);
}

static const st_tsc_stmt *find_class(st_ts_imp *im, const char *qual) {
    char mod[1024];
    const char *dot = strrchr(qual, '.');
    if (!dot || (size_t)(dot - qual) >= sizeof mod) {
        st_ts_fail(im, ST_ERR_FORMAT, "bad class name \"%s\"", qual);
        return NULL;
    }
    memcpy(mod, qual, (size_t)(dot - qual));
    mod[dot - qual] = 0;
    st_tsc_file *file = load_code(im, mod);
    if (!file) return NULL;
    const st_tsc_stmt *c = st_tsc_find_class(file, dot + 1);
    if (!c) st_ts_fail(im, ST_ERR_FORMAT, "code for %s has no class %s", mod, dot + 1);
    return c;
}

/* Run def `d` with `self` (NULL for functions) and the given arguments. */
static st_status invoke(st_ts_imp *im, const st_tsc_stmt *d, const tv *self, tv *args, size_t n,
                        const st_tsc_expr *call, frame *caller, tv *out) {
    if (im->depth >= MAX_CALL_DEPTH)
        return st_ts_fail(im, ST_ERR_LIMIT, "calls nested deeper than %d", MAX_CALL_DEPTH);
    frame fr;
    memset(&fr, 0, sizeof fr);
    size_t p0 = self ? 1 : 0;
    if (self && (!d->nparams || env_set(im, &fr.e, d->params[0].name, self))) goto done;
    for (size_t i = p0; i < d->nparams && !im->st; i++) {
        const tv *v = NULL;
        if (i - p0 < n) v = &args[i - p0];
        tv kwv;
        for (size_t k = 0; call && k < call->n && !v; k++)
            if (call->kw[k] && !strcmp(call->kw[k], d->params[i].name)) {
                if (eval(im, caller, call->args[k], &kwv)) goto done;
                v = &kwv;
            }
        tv dv;
        if (!v && d->params[i].deflt) {
            if (eval(im, &fr, d->params[i].deflt, &dv)) goto done;
            v = &dv;
        }
        if (!v) {
            st_ts_fail(im, ST_ERR_FORMAT, "call of %s misses argument %s", d->s, d->params[i].name);
            goto done;
        }
        env_set(im, &fr.e, d->params[i].name, v);
    }
    im->depth++;
    if (!im->st) exec_block(im, &fr, &d->body);
    im->depth--;
    if (!im->st) *out = fr.returned ? fr.ret : st_ts_scalar(TV_NONE, 0, 0);
done:
    env_free(&fr.e);
    return im->st;
}

static st_status eval_args(st_ts_imp *im, frame *f, const st_tsc_expr *call, tv *a, size_t *n) {
    size_t k = 0;
    for (size_t i = 0; i < call->n; i++) {
        if (call->kw[i]) continue;
        if (k >= TS_MAX_ARGS) return st_ts_fail(im, ST_ERR_LIMIT, "too many arguments");
        if (eval(im, f, call->args[i], &a[k++])) return im->st;
    }
    *n = k;
    return ST_OK;
}

/* An aten call: positional arguments, then keywords placed by the table's parameter list. */
static st_status call_aten(st_ts_imp *im, frame *f, const char *name, const st_tsc_expr *call,
                           tv *out) {
    char base[128];
    snprintf(base, sizeof base, "%s", name);
    size_t bl = strlen(base);
    if (bl > 1 && base[bl - 1] == '_' && base[bl - 2] != '_') base[bl - 1] = 0; /* in-place form */
    const st_ts_op_def *d = st_ts_optab_find(base);
    tv a[TS_MAX_ARGS];
    memset(a, 0, sizeof a);
    size_t n;
    if (eval_args(im, f, call, a, &n)) return im->st;
    if (!d) return unsupported(im, name, out);
    for (size_t i = 0; i < call->n; i++) {
        if (!call->kw[i]) continue;
        size_t pos = 0;
        bool found = false;
        for (const char *p = d->params; *p; pos++) {
            const char *e = strchr(p, ',');
            size_t l = e ? (size_t)(e - p) : strlen(p);
            if (strlen(call->kw[i]) == l && !strncmp(p, call->kw[i], l)) {
                found = true;
                break;
            }
            p += l + (e ? 1 : 0);
        }
        if (!found || pos >= TS_MAX_ARGS)
            return st_ts_fail(im, ST_ERR_UNSUPPORTED, "%s: unknown keyword argument %s", name,
                              call->kw[i]);
        if (eval(im, f, call->args[i], &a[pos])) return im->st;
        if (pos + 1 > n) n = pos + 1;
    }
    for (size_t i = 0; i < n; i++)
        if (a[i].k == TV_UNSUPPORTED) { /* already failing: don't cascade */
            *out = a[i];
            return ST_OK;
        }
    st_status s = d->fn(im, a, n, out);
    if (s && !im->st) st_ts_fail(im, s, "aten::%s failed", name);
    if (im->st && im->err && im->st != ST_ERR_NOMEM && !strstr(im->err->msg, name))
        st_error_prefix(im->err, "aten::%s: ", name);
    /* in-place ops rebind a local first argument so later reads see the new value */
    if (!im->st && base[0] && strcmp(base, name) && call->n && call->args[0]->kind == ST_TSC_NAME &&
        env_get(&f->e, call->args[0]->s))
        env_set(im, &f->e, call->args[0]->s, out);
    return im->st;
}

static bool truthy_const(const tv *v, bool *b) {
    if ((v->k == TV_BOOL || v->k == TV_INT) && !v->sym) return *b = v->i != 0, true;
    if (v->k == TV_FLOAT && !v->sym) return *b = v->f != 0, true;
    if (v->k == TV_NONE) return *b = false, true;
    if (v->k == TV_LIST || v->k == TV_TUPLE) return *b = v->n != 0, true;
    return false;
}

static st_status convert_scalar(st_ts_imp *im, const tv *v, st_ts_kind k, tv *out) {
    if (v->k == TV_UNSUPPORTED) return *out = *v, ST_OK;
    if (!v->sym && (v->k == TV_BOOL || v->k == TV_INT || v->k == TV_FLOAT)) {
        double x = v->k == TV_FLOAT ? v->f : (double)v->i;
        *out = k == TV_FLOAT ? st_ts_scalar(TV_FLOAT, 0, x)
                             : st_ts_scalar(k, k == TV_BOOL ? x != 0 : (int64_t)x, 0);
        return ST_OK;
    }
    if (v->k != TV_TENSOR && !v->sym)
        return st_ts_fail(im, ST_ERR_UNSUPPORTED, "cannot convert %s to a number",
                          st_ts_kind_name(v->k));
    st_dtype to = k == TV_BOOL  ? ST_DTYPE_BOOL
                  : k == TV_INT ? ST_DTYPE_I64
                                : (v->dt && st_dtype_is_float(v->dt) ? v->dt : ST_DTYPE_F32);
    int x = st_ts_as_tensor(im, v, ST_DTYPE_UNDEFINED);
    if (st_ts_dtype_of(v) != to) {
        st_node *cn = st_ts_op(im, "Cast", 1, &x, 1, &x);
        st_ts_attr_i(im, cn, "to", to);
    }
    if (v->k == TV_TENSOR && v->rank != 0) { /* a one-element tensor: drop its dims */
        int ins[2] = {x, st_ts_const_i64(im, NULL, 0, false)};
        x = st_ts_op1(im, "Reshape", 2, ins);
    }
    *out = st_ts_tensor(im, x, 0, to);
    out->k = k;
    out->sym = true;
    return im->st;
}

/* A module-level TorchScript function, by qualified name ("__torch__.torch.nn.functional.relu"). */
static st_status call_func(st_ts_imp *im, frame *f, const char *name, const st_tsc_expr *x,
                           tv *out) {
    const char *dot = strrchr(name, '.');
    char mod[256];
    snprintf(mod, sizeof mod, "%.*s", (int)(dot - name), name);
    st_tsc_file *file = load_code(im, mod);
    if (!file) return im->st;
    const st_tsc_stmt *d = st_tsc_find_def(&file->top, dot + 1);
    if (!d) return st_ts_fail(im, ST_ERR_FORMAT, "no function %s", name);
    tv a[TS_MAX_ARGS];
    size_t n = 0;
    if (eval_args(im, f, x, a, &n)) return im->st;
    return invoke(im, d, NULL, a, n, x, f, out);
}

static st_status call(st_ts_imp *im, frame *f, const st_tsc_expr *x, tv *out) {
    char name[256];
    const st_tsc_expr *c = x->a;
    tv a[TS_MAX_ARGS];
    size_t n = 0;
    if (dotted(f, c, name, sizeof name)) {
        if (!strncmp(name, "torch.", 6) && strcmp(name, "torch.device"))
            return call_aten(im, f, name + 6, x, out);
        if (!strncmp(name, "ops.aten.", 9)) return call_aten(im, f, name + 9, x, out);
        if (!strcmp(name, "torch.device") || !strcmp(name, "ops.prim.device")) {
            *out = st_ts_scalar(TV_DEVICE, 0, 0);
            return ST_OK;
        }
        if (!strncmp(name, "__torch__.", 10)) return call_func(im, f, name, x, out);
        if (!strcmp(name, "annotate") && x->n == 2)
            return eval(im, f, x->args[1], out); /* the type is not a value */
        if (eval_args(im, f, x, a, &n)) return im->st;
        if ((!strcmp(name, "ops.prim.NumToTensor") || !strcmp(name, "ops.prim.unchecked_cast") ||
             !strcmp(name, "unchecked_cast")) &&
            n == 1)
            return *out = a[0], ST_OK;
        if (!strcmp(name, "uninitialized")) return *out = st_ts_scalar(TV_NONE, 0, 0), ST_OK;
        if (!strcmp(name, "int") && n == 1) return convert_scalar(im, &a[0], TV_INT, out);
        if (!strcmp(name, "float") && n == 1) {
            if (a[0].k == TV_STR) {
                double v = !strcmp(a[0].s, "inf")    ? 1.0 / 0.0
                           : !strcmp(a[0].s, "-inf") ? -1.0 / 0.0
                                                     : 0.0 / 0.0;
                return *out = st_ts_scalar(TV_FLOAT, 0, v), ST_OK;
            }
            return convert_scalar(im, &a[0], TV_FLOAT, out);
        }
        if (!strcmp(name, "bool") && n == 1) return convert_scalar(im, &a[0], TV_BOOL, out);
        if (!strcmp(name, "getattr") && n >= 2 && a[0].k == TV_OBJ && a[1].k == TV_STR)
            return obj_attr(im, &a[0], a[1].s, out);
        if (!strcmp(name, "len") && n == 1 && (a[0].k == TV_LIST || a[0].k == TV_TUPLE))
            return *out = st_ts_scalar(TV_INT, (int64_t)a[0].n, 0), ST_OK;
        if (!strcmp(name, "ops.prim.dtype") && n == 1 && a[0].dt)
            return *out = st_ts_scalar(TV_INT, st_ts_dtype_to_torch(a[0].dt), 0), ST_OK;
        if ((!strcmp(name, "ops.prim.min") || !strcmp(name, "ops.prim.max")) && n == 2 &&
            st_ts_is_const_int(&a[0]) && st_ts_is_const_int(&a[1])) {
            bool mn = name[9] == 'i';
            return *out = st_ts_scalar(TV_INT, mn ? ST_MIN(a[0].i, a[1].i) : ST_MAX(a[0].i, a[1].i),
                                       0),
                   ST_OK;
        }
        return unsupported(im, name, out);
    }
    if (c->kind == ST_TSC_NAME) { /* a local bound to a function */
        tv *fn = env_get(&f->e, c->s);
        if (fn && fn->k == TV_FUNC) return call_func(im, f, fn->s, x, out);
    }
    /* a method call on a value: module methods inline */
    if (c->kind == ST_TSC_ATTR) {
        tv self;
        if (eval(im, f, c->a, &self)) return im->st;
        if (self.k == TV_OBJ) {
            char qual[512];
            snprintf(qual, sizeof qual, "%s.%s", self.obj->fn->s, self.obj->fn->name);
            const st_tsc_stmt *cls = find_class(im, qual);
            if (!cls) return im->st;
            const st_tsc_stmt *d = st_tsc_find_def(&cls->body, c->s);
            if (!d) return st_ts_fail(im, ST_ERR_FORMAT, "class %s has no method %s", qual, c->s);
            if (eval_args(im, f, x, a, &n)) return im->st;
            return invoke(im, d, &self, a, n, x, f, out);
        }
        if (self.k == TV_UNSUPPORTED) return *out = self, ST_OK;
        if (!strcmp(c->s, "tolist") && self.k == TV_TENSOR)
            return *out = self, ST_OK; /* a shape tensor stays a tensor */
        char m[300];
        snprintf(m, sizeof m, "method %s", c->s);
        return unsupported(im, m, out);
    }
    return st_ts_fail(im, ST_ERR_UNSUPPORTED, "line %d: call of an expression is not supported",
                      x->line);
}

static const struct {
    const char *op, *aten;
} binops[] = {
    /* operator  aten op used for tensors and symbolic scalars */
    {"+", "add"},
    {"-", "sub"},
    {"*", "mul"},
    {"/", "div"},
    {"//", "floor_divide"},
    {"%", "remainder"},
    {"**", "pow"},
    {"<", "lt"},
    {">", "gt"},
    {"<=", "le"},
    {">=", "ge"},
    {"==", "eq"},
    {"!=", "ne"},
    {"and", "logical_and"},
    {"or", "logical_or"},
    {"&", "bitwise_and"},
    {"|", "bitwise_or"},
};

static bool fold(const char *op, const tv *a, const tv *b, tv *out) {
    if (a->sym || b->sym) return false;
    bool num = (a->k == TV_INT || a->k == TV_BOOL || a->k == TV_FLOAT) &&
               (b->k == TV_INT || b->k == TV_BOOL || b->k == TV_FLOAT);
    if (!strcmp(op, "is") || !strcmp(op, "is not")) {
        if (a->k != TV_NONE && b->k != TV_NONE) return false;
        bool same = a->k == b->k;
        *out = st_ts_scalar(TV_BOOL, !strcmp(op, "is") ? same : !same, 0);
        return true;
    }
    if (a->k == TV_STR && b->k == TV_STR && (!strcmp(op, "==") || !strcmp(op, "!="))) {
        *out = st_ts_scalar(TV_BOOL, (strcmp(a->s, b->s) == 0) == (op[0] == '='), 0);
        return true;
    }
    if (!num) return false;
    bool fl = a->k == TV_FLOAT || b->k == TV_FLOAT;
    double x = a->k == TV_FLOAT ? a->f : (double)a->i, y = b->k == TV_FLOAT ? b->f : (double)b->i;
    int64_t i = a->i, j = b->i;
    if (!strcmp(op, "<")) *out = st_ts_scalar(TV_BOOL, x < y, 0);
    else if (!strcmp(op, ">")) *out = st_ts_scalar(TV_BOOL, x > y, 0);
    else if (!strcmp(op, "<=")) *out = st_ts_scalar(TV_BOOL, x <= y, 0);
    else if (!strcmp(op, ">=")) *out = st_ts_scalar(TV_BOOL, x >= y, 0);
    else if (!strcmp(op, "==")) *out = st_ts_scalar(TV_BOOL, x == y, 0);
    else if (!strcmp(op, "!=")) *out = st_ts_scalar(TV_BOOL, x != y, 0);
    else if (!strcmp(op, "and")) *out = st_ts_scalar(TV_BOOL, x != 0 && y != 0, 0);
    else if (!strcmp(op, "or")) *out = st_ts_scalar(TV_BOOL, x != 0 || y != 0, 0);
    else if (!strcmp(op, "/")) *out = st_ts_scalar(TV_FLOAT, 0, x / y);
    else if (fl) {
        if (!strcmp(op, "+")) *out = st_ts_scalar(TV_FLOAT, 0, x + y);
        else if (!strcmp(op, "-")) *out = st_ts_scalar(TV_FLOAT, 0, x - y);
        else if (!strcmp(op, "*")) *out = st_ts_scalar(TV_FLOAT, 0, x * y);
        else return false;
    } else {
        if (!strcmp(op, "+")) *out = st_ts_scalar(TV_INT, i + j, 0);
        else if (!strcmp(op, "-")) *out = st_ts_scalar(TV_INT, i - j, 0);
        else if (!strcmp(op, "*")) *out = st_ts_scalar(TV_INT, i * j, 0);
        else if (!strcmp(op, "//") && j)
            *out = st_ts_scalar(TV_INT, (i / j) - ((i % j != 0) && ((i < 0) != (j < 0))), 0);
        else if (!strcmp(op, "%") && j) *out = st_ts_scalar(TV_INT, ((i % j) + j) % j, 0);
        else return false;
    }
    return true;
}

static st_status eval_inner(st_ts_imp *im, frame *f, const st_tsc_expr *x, tv *out);
static st_status eval(st_ts_imp *im, frame *f, const st_tsc_expr *x, tv *out) {
    if (im->st) return im->st;
    if (im->edepth >= MAX_EVAL_DEPTH)
        return st_ts_fail(im, ST_ERR_LIMIT, "line %d: expression nested deeper than %d", x->line,
                          MAX_EVAL_DEPTH);
    im->edepth++;
    st_status s = eval_inner(im, f, x, out);
    im->edepth--;
    return s;
}

static st_status eval_inner(st_ts_imp *im, frame *f, const st_tsc_expr *x, tv *out) {
    switch (x->kind) {
    case ST_TSC_NAME: {
        tv *v = env_get(&f->e, x->s);
        if (v) return *out = *v, ST_OK;
        if (!strcmp(x->s, "inf")) return *out = st_ts_scalar(TV_FLOAT, 0, 1.0 / 0.0), ST_OK;
        if (!strcmp(x->s, "nan")) return *out = st_ts_scalar(TV_FLOAT, 0, 0.0 / 0.0), ST_OK;
        return st_ts_fail(im, ST_ERR_FORMAT, "line %d: name %s is not defined", x->line, x->s);
    }
    case ST_TSC_INT: return *out = st_ts_scalar(TV_INT, x->i, 0), ST_OK;
    case ST_TSC_FLOAT: return *out = st_ts_scalar(TV_FLOAT, 0, x->f), ST_OK;
    case ST_TSC_STR: return *out = st_ts_scalar(TV_STR, 0, 0), out->s = x->s, ST_OK;
    case ST_TSC_TRUE: return *out = st_ts_scalar(TV_BOOL, 1, 0), ST_OK;
    case ST_TSC_FALSE: return *out = st_ts_scalar(TV_BOOL, 0, 0), ST_OK;
    case ST_TSC_NONE: return *out = st_ts_scalar(TV_NONE, 0, 0), ST_OK;
    case ST_TSC_TUPLE:
    case ST_TSC_LIST: {
        tv r = st_ts_scalar(x->kind == ST_TSC_TUPLE ? TV_TUPLE : TV_LIST, 0, 0);
        r.n = x->n;
        if (x->n && !(r.items = st_arena_alloc(im->pa, x->n * sizeof(tv)))) return st_ts_nomem(im);
        for (size_t i = 0; i < x->n; i++)
            if (eval(im, f, x->args[i], &r.items[i])) return im->st;
        *out = r;
        return ST_OK;
    }
    case ST_TSC_ATTR: {
        char name[256];
        if (dotted(f, x, name, sizeof name) && !strncmp(name, "CONSTANTS.c", 11)) {
            char *end;
            long k = strtol(name + 11, &end, 10);
            if (*end || !im->consts || im->consts->kind != ST_PKL_TUPLE || k < 0 ||
                (size_t)k >= im->consts->n)
                return st_ts_fail(im, ST_ERR_FORMAT, "line %d: %s is not in constants.pkl", x->line,
                                  name);
            return from_pkl(im, im->consts->items[k], "constants", out);
        }
        if (dotted(f, x, name, sizeof name) && !strncmp(name, "__torch__.", 10)) {
            *out = st_ts_scalar(TV_FUNC, 0, 0);
            if (!(out->s = st_arena_strdup(im->pa, name))) return st_ts_nomem(im);
            return ST_OK;
        }
        tv base;
        if (eval(im, f, x->a, &base)) return im->st;
        if (base.k == TV_OBJ) return obj_attr(im, &base, x->s, out);
        return st_ts_fail(im, ST_ERR_UNSUPPORTED, "line %d: attribute %s of a non-module value",
                          x->line, x->s);
    }
    case ST_TSC_CALL: return call(im, f, x, out);
    case ST_TSC_INDEX: {
        tv base, ix;
        if (eval(im, f, x->a, &base) || eval(im, f, x->b, &ix)) return im->st;
        if ((base.k == TV_LIST || base.k == TV_TUPLE) && st_ts_is_const_int(&ix)) {
            int64_t k = ix.i < 0 ? ix.i + (int64_t)base.n : ix.i;
            if (k < 0 || k >= (int64_t)base.n)
                return st_ts_fail(im, ST_ERR_FORMAT, "line %d: index out of range", x->line);
            return *out = base.items[k], ST_OK;
        }
        return unsupported(im, "subscript", out);
    }
    case ST_TSC_BINOP: {
        tv a, b;
        if (eval(im, f, x->a, &a)) return im->st;
        bool ca;
        if ((!strcmp(x->s, "and") || !strcmp(x->s, "or")) && truthy_const(&a, &ca) &&
            ca == !strcmp(x->s, "or")) /* short circuit */
            return *out = st_ts_scalar(TV_BOOL, ca, 0), ST_OK;
        if (eval(im, f, x->b, &b)) return im->st;
        if (a.k == TV_UNSUPPORTED || b.k == TV_UNSUPPORTED)
            return *out = st_ts_scalar(TV_UNSUPPORTED, 0, 0), ST_OK;
        if (fold(x->s, &a, &b, out)) return ST_OK;
        for (size_t i = 0; i < ST_ARRAY_LEN(binops); i++) {
            if (strcmp(binops[i].op, x->s)) continue;
            const st_ts_op_def *d = st_ts_optab_find(binops[i].aten);
            if (!d) break;
            tv args[2] = {a, b};
            if (!strcmp(x->s, "and") || !strcmp(x->s, "or")) {
                if (convert_scalar(im, &a, TV_BOOL, &args[0]) ||
                    convert_scalar(im, &b, TV_BOOL, &args[1]))
                    return im->st;
            }
            return d->fn(im, args, 2, out);
        }
        return unsupported(im, x->s, out);
    }
    case ST_TSC_UNOP: {
        tv a;
        if (eval(im, f, x->a, &a)) return im->st;
        if (a.k == TV_UNSUPPORTED) return *out = a, ST_OK;
        bool b;
        if (!strcmp(x->s, "not")) {
            if (truthy_const(&a, &b)) return *out = st_ts_scalar(TV_BOOL, !b, 0), ST_OK;
            tv c;
            if (convert_scalar(im, &a, TV_BOOL, &c)) return im->st;
            int vi = st_ts_as_tensor(im, &c, ST_DTYPE_BOOL);
            *out = st_ts_tensor(im, st_ts_op1(im, "Not", 1, &vi), 0, ST_DTYPE_BOOL);
            out->k = TV_BOOL, out->sym = true;
            return im->st;
        }
        if (!strcmp(x->s, "-")) {
            if (!a.sym && a.k == TV_INT) return *out = st_ts_scalar(TV_INT, -a.i, 0), ST_OK;
            if (!a.sym && a.k == TV_FLOAT) return *out = st_ts_scalar(TV_FLOAT, 0, -a.f), ST_OK;
            const st_ts_op_def *d = st_ts_optab_find("neg");
            return d->fn(im, &a, 1, out);
        }
        if (!strcmp(x->s, "+")) return *out = a, ST_OK;
        return unsupported(im, x->s, out);
    }
    case ST_TSC_IFEXP: {
        tv c;
        bool b;
        if (eval(im, f, x->b, &c)) return im->st;
        if (!truthy_const(&c, &b))
            return unsupported(im, "data-dependent conditional expression", out);
        return eval(im, f, b ? x->a : x->args[0], out);
    }
    default: break;
    }
    return st_ts_fail(im, ST_ERR_UNSUPPORTED, "line %d: expression kind %d is not supported",
                      x->line, (int)x->kind);
}

static st_status assign(st_ts_imp *im, frame *f, const st_tsc_expr *t, const tv *v) {
    if (t->kind == ST_TSC_NAME) return env_set(im, &f->e, t->s, v);
    if (t->kind == ST_TSC_TUPLE || t->kind == ST_TSC_LIST) {
        if (v->k == TV_UNSUPPORTED) {
            for (size_t i = 0; i < t->n; i++)
                if (assign(im, f, t->args[i], v)) return im->st;
            return ST_OK;
        }
        if ((v->k != TV_TUPLE && v->k != TV_LIST) || v->n != t->n)
            return st_ts_fail(im, ST_ERR_FORMAT, "line %d: cannot unpack into %zu names", t->line,
                              t->n);
        for (size_t i = 0; i < t->n; i++)
            if (assign(im, f, t->args[i], &v->items[i])) return im->st;
        return ST_OK;
    }
    return st_ts_fail(im, ST_ERR_UNSUPPORTED, "line %d: assignment target kind %d", t->line,
                      (int)t->kind);
}

/* Names a block assigns (syntactically), appended to names[] without repeats. */
static void assigned_expr(const st_tsc_expr *t, const char **names, size_t *n, size_t cap) {
    if (t->kind == ST_TSC_NAME) {
        for (size_t i = 0; i < *n; i++)
            if (!strcmp(names[i], t->s)) return;
        if (*n < cap) names[(*n)++] = t->s;
    } else if (t->kind == ST_TSC_TUPLE || t->kind == ST_TSC_LIST)
        for (size_t i = 0; i < t->n; i++) assigned_expr(t->args[i], names, n, cap);
}
static void assigned(const st_tsc_block *b, const char **names, size_t *n, size_t cap) {
    for (size_t i = 0; i < b->n; i++) {
        const st_tsc_stmt *s = b->s[i];
        if (s->kind == ST_TSC_ASSIGN || s->kind == ST_TSC_FOR)
            assigned_expr(s->target, names, n, cap);
        if (s->kind == ST_TSC_IF || s->kind == ST_TSC_FOR || s->kind == ST_TSC_WHILE) {
            assigned(&s->body, names, n, cap);
            assigned(&s->orelse, names, n, cap);
        }
        if (s->kind == ST_TSC_EXPR && s->value->kind == ST_TSC_CALL && s->value->n &&
            s->value->args[0]->kind == ST_TSC_NAME) /* in-place calls rebind their first argument */
            assigned_expr(s->value->args[0], names, n, cap);
    }
}

static bool raises(const st_tsc_block *b) {
    for (size_t i = 0; i < b->n; i++) {
        const st_tsc_stmt *s = b->s[i];
        if (s->kind == ST_TSC_RAISE) return true;
        if (s->kind == ST_TSC_EXPR && s->value->kind == ST_TSC_CALL &&
            s->value->a->kind == ST_TSC_ATTR && !strcmp(s->value->a->s, "RaiseException"))
            return true;
    }
    return false;
}

/* A value as a subgraph output (Identity, so outputs are produced inside the subgraph). */
/* Declare a value's type (dtype and rank, dims unknown) where the source leaves it open. */
static void set_type(st_ts_imp *im, st_graph *g, int vi, st_dtype dt, int rank) {
    if (im->st || vi < 0) return;
    st_ir_value *v = &g->values[vi];
    v->type.kind = ST_VAL_TENSOR;
    v->type.dtype = dt ? dt : ST_DTYPE_F32;
    v->type.rank = rank;
    v->type.dims = NULL;
    if (rank > 0 && !(v->type.dims = st_ir_alloc(g, sizeof(st_dim) * (size_t)rank))) {
        st_ts_nomem(im);
        return;
    }
    for (int d = 0; d < rank; d++) v->type.dims[d].value = -1;
}

static int sub_output(st_ts_imp *im, const tv *v) {
    int x = st_ts_as_tensor(im, v, ST_DTYPE_UNDEFINED);
    int r = st_ts_op1(im, "Identity", 1, &x);
    int rank = st_ts_rank_of(im, v);
    if (rank < 0 && v->org && (size_t)v->org <= im->ninputs) { /* relative to an input's rank */
        const input_ent *e = &im->inputs[v->org - 1];
        int ir = e->rank >= 0 ? e->rank : e->floor > 0 ? e->floor : -1;
        if (ir >= 0 && ir + v->off >= 0) rank = ir + v->off;
    }
    set_type(im, im->g, r, st_ts_dtype_of(v), rank);
    return r;
}

static tv result_like(st_ts_imp *im, const tv *v, int vi) {
    tv r = st_ts_tensor(im, vi, st_ts_rank_of(im, v), st_ts_dtype_of(v));
    if (v->k == TV_INT || v->k == TV_BOOL || v->k == TV_FLOAT) r.k = v->k, r.sym = true;
    return r;
}

static st_status set_graph_io(st_ts_imp *im, st_graph *g, int *outs, size_t n) {
    if (!(g->outputs = st_ir_alloc(g, sizeof(int) * (n ? n : 1)))) return st_ts_nomem(im);
    memcpy(g->outputs, outs, n * sizeof *outs);
    g->n_outputs = n;
    return ST_OK;
}

static st_status exec_if(st_ts_imp *im, frame *f, const st_tsc_stmt *s) {
    tv c;
    bool b;
    if (eval(im, f, s->value, &c)) return im->st;
    if (c.k == TV_UNSUPPORTED) return ST_OK;
    if (truthy_const(&c, &b)) return exec_block(im, f, b ? &s->body : &s->orelse);
    if (raises(&s->body))
        return exec_block(im, f, &s->orelse); /* assertions: take the path that runs */
    if (raises(&s->orelse)) return exec_block(im, f, &s->body);
    tv cb;
    if (convert_scalar(im, &c, TV_BOOL, &cb)) return im->st;
    int cond = st_ts_as_tensor(im, &cb, ST_DTYPE_BOOL);
    if (im->fdepth >= MAX_FLOW_DEPTH)
        return st_ts_fail(im, ST_ERR_LIMIT, "line %d: control flow nested deeper than %d", s->line,
                          MAX_FLOW_DEPTH);
    /* results: names both branches assign, or either assigns over an existing binding */
    const char *ct[MAX_RESULTS], *ce[MAX_RESULTS], *outs[2 * MAX_RESULTS];
    size_t nt = 0, ne = 0, no = 0;
    assigned(&s->body, ct, &nt, MAX_RESULTS);
    assigned(&s->orelse, ce, &ne, MAX_RESULTS);
    for (size_t i = 0; i < nt + ne; i++) {
        const char *nm = i < nt ? ct[i] : ce[i - nt];
        bool in_t = false, in_e = false, dup = false;
        for (size_t j = 0; j < nt; j++) in_t |= !strcmp(ct[j], nm);
        for (size_t j = 0; j < ne; j++) in_e |= !strcmp(ce[j], nm);
        for (size_t j = 0; j < no; j++) dup |= !strcmp(outs[j], nm);
        if (!dup && ((in_t && in_e) || env_get(&f->e, nm))) outs[no++] = nm;
    }
    if (no > 8)
        return st_ts_fail(im, ST_ERR_UNSUPPORTED, "line %d: if with more than 8 results", s->line);
    const st_tsc_block *blocks[2] = {&s->body, &s->orelse};
    st_graph *sub[2];
    tv vals[2][8];
    st_graph *outer = im->g;
    for (int k = 0; k < 2 && !im->st; k++) {
        if (!(sub[k] = st_graph_new(im->m, outer))) return st_ts_nomem(im);
        im->g = sub[k];
        frame bf;
        memset(&bf, 0, sizeof bf);
        im->fdepth++;
        if (!env_copy(im, &bf.e, &f->e)) exec_block(im, &bf, blocks[k]);
        im->fdepth--;
        if (!im->st && bf.returned)
            st_ts_fail(im, ST_ERR_UNSUPPORTED, "line %d: return inside a data-dependent if",
                       s->line);
        int ov[8];
        size_t m = 0;
        for (size_t i = 0; i < no && !im->st; i++) {
            tv *v = env_get(&bf.e, outs[i]);
            if (!v) {
                if (k == 1)
                    st_ts_fail(im, ST_ERR_UNSUPPORTED, "line %d: %s is set in only one branch",
                               s->line, outs[i]);
                continue;
            }
            vals[k][m] = *v;
            ov[m++] = sub_output(im, v);
        }
        if (!im->st) set_graph_io(im, sub[k], ov, m);
        env_free(&bf.e);
        im->g = outer;
    }
    if (im->st) return im->st;
    int res[8];
    st_node *n = st_ts_op(im, "If", 1, &cond, (int)no, res);
    st_ts_attr_g(im, n, "then_branch", sub[0]);
    st_ts_attr_g(im, n, "else_branch", sub[1]);
    for (size_t i = 0; i < no && !im->st; i++) {
        tv r = result_like(im, &vals[0][i], res[i]);
        if (st_ts_rank_of(im, &vals[1][i]) != r.rank) r.rank = -1;
        env_set(im, &f->e, outs[i], &r);
    }
    return im->st;
}

/* for target in range(n) / while cond: an IR Loop whose carried values are the names the
 * body assigns that exist before it. */
/* The header of `for x in range(...)` (trip count into *trip, start and step for the body)
 * or of `for x in <constant list>`, which is unrolled here (*unrolled). */
static st_status for_header(st_ts_imp *im, frame *f, const st_tsc_stmt *s, int *trip, tv *start,
                            int64_t *step, bool *unrolled) {
    const st_tsc_expr *it = s->value;
    tv seq;
    if (!(it->kind == ST_TSC_CALL && it->a->kind == ST_TSC_NAME && !strcmp(it->a->s, "range") &&
          it->n >= 1 && it->n <= 3)) {
        if (eval(im, f, it, &seq)) return im->st;
        if (seq.k != TV_LIST && seq.k != TV_TUPLE)
            return st_ts_fail(im, ST_ERR_UNSUPPORTED,
                              "line %d: for over something other than range() or a list", s->line);
        for (size_t i = 0; i < seq.n && !im->st && !f->returned; i++) /* constant: unroll */
            if (!assign(im, f, s->target, &seq.items[i])) exec_block(im, f, &s->body);
        *unrolled = true;
        return im->st;
    }
    tv n, st;
    if (eval(im, f, it->args[it->n == 1 ? 0 : 1], &n)) return im->st;
    if (it->n >= 2 && eval(im, f, it->args[0], start)) return im->st;
    if (it->n == 3) {
        if (eval(im, f, it->args[2], &st)) return im->st;
        if (!st_ts_is_const_int(&st) || st.i == 0)
            return st_ts_fail(im, ST_ERR_UNSUPPORTED,
                              "line %d: range() step must be a nonzero constant", s->line);
        *step = st.i;
    }
    if (start->k != TV_INT || n.k != TV_INT)
        return st_ts_fail(im, ST_ERR_UNSUPPORTED, "line %d: range() of non-integers", s->line);
    if (!start->sym && !n.sym) { /* trip count known now */
        int64_t cnt = *step > 0 ? (n.i - start->i + *step - 1) / *step
                                : (start->i - n.i - *step - 1) / -*step;
        *trip = st_ts_const_i64(im, &(int64_t){cnt > 0 ? cnt : 0}, 1, true);
    } else if (!start->sym && start->i == 0 && *step == 1) {
        *trip = st_ts_as_tensor(im, &n, ST_DTYPE_I64);
    } else {
        /* max(0, (stop - start + step - sign(step)) / step); ONNX Div truncates, exact here */
        int d[2] = {st_ts_as_tensor(im, &n, ST_DTYPE_I64),
                    st_ts_as_tensor(im, start, ST_DTYPE_I64)};
        int diff = st_ts_op1(im, "Sub", 2, d);
        int adj[2] = {diff, st_ts_const_i64(im, &(int64_t){*step - (*step > 0 ? 1 : -1)}, 1, true)};
        int num = st_ts_op1(im, "Add", 2, adj);
        int dv[2] = {num, st_ts_const_i64(im, step, 1, true)};
        int q = st_ts_op1(im, "Div", 2, dv);
        int mx[2] = {q, st_ts_const_i64(im, &(int64_t){0}, 1, true)};
        *trip = st_ts_op1(im, "Max", 2, mx);
    }
    if (s->target->kind != ST_TSC_NAME)
        return st_ts_fail(im, ST_ERR_UNSUPPORTED, "line %d: loop target", s->line);
    return im->st;
}

static st_status exec_loop(st_ts_imp *im, frame *f, const st_tsc_stmt *s) {
    bool is_for = s->kind == ST_TSC_FOR;
    int trip = -1, cond_in = -1;
    tv start = st_ts_scalar(TV_INT, 0, 0);
    int64_t step = 1;
    if (is_for) {
        bool unrolled = false;
        if (for_header(im, f, s, &trip, &start, &step, &unrolled) || unrolled) return im->st;
    } else {
        tv c, cb;
        if (eval(im, f, s->value, &c)) return im->st;
        bool b;
        if (truthy_const(&c, &b) && !b) return ST_OK;
        if (convert_scalar(im, &c, TV_BOOL, &cb)) return im->st;
        cond_in = st_ts_as_tensor(im, &cb, ST_DTYPE_BOOL);
    }
    if (im->fdepth >= MAX_FLOW_DEPTH)
        return st_ts_fail(im, ST_ERR_LIMIT, "line %d: control flow nested deeper than %d", s->line,
                          MAX_FLOW_DEPTH);
    const char *cand[MAX_RESULTS], *carried[MAX_RESULTS];
    size_t nc = 0, nk = 0;
    assigned(&s->body, cand, &nc, MAX_RESULTS);
    for (size_t i = 0; i < nc; i++)
        if (env_get(&f->e, cand[i]) && !(is_for && !strcmp(cand[i], s->target->s)))
            carried[nk++] = cand[i];
    if (nk > 6)
        return st_ts_fail(im, ST_ERR_UNSUPPORTED, "line %d: loop carries more than 6 values",
                          s->line);
    tv init[8];
    int ins[8];
    ins[0] = trip;
    ins[1] = cond_in;
    for (size_t i = 0; i < nk; i++) {
        init[i] = *env_get(&f->e, carried[i]);
        ins[2 + i] = st_ts_as_tensor(im, &init[i], ST_DTYPE_UNDEFINED);
    }
    if (im->st) return im->st;
    st_graph *outer = im->g, *body = st_graph_new(im->m, outer);
    if (!body) return st_ts_nomem(im);
    im->g = body;
    frame bf;
    memset(&bf, 0, sizeof bf);
    int bin[8], bout[8];
    env_copy(im, &bf.e, &f->e);
    for (size_t i = 0; i < nk + 2 && !im->st; i++) {
        bin[i] = st_ts_new_value(im, body);
        if (bin[i] < 0) break;
        st_ir_value *v = &body->values[bin[i]];
        v->role = ST_VALUE_INPUT;
        set_type(im, body, bin[i],
                 i == 0   ? ST_DTYPE_I64
                 : i == 1 ? ST_DTYPE_BOOL
                          : st_ts_dtype_of(&init[i - 2]),
                 i < 2 ? 0 : st_ts_rank_of(im, &init[i - 2]));
        if (i >= 2) {
            tv b = result_like(im, &init[i - 2], bin[i]);
            env_set(im, &bf.e, carried[i - 2], &b);
        }
    }
    if (is_for && !im->st) { /* i = start + iteration * step */
        int iv = bin[0];
        if (step != 1) {
            int m[2] = {iv, st_ts_const_i64(im, &step, 1, true)};
            iv = st_ts_op1(im, "Mul", 2, m);
        }
        if (start.sym || start.i != 0) {
            int a2[2] = {iv, st_ts_as_tensor(im, &start, ST_DTYPE_I64)};
            iv = st_ts_op1(im, "Add", 2, a2);
        }
        tv itv = st_ts_tensor(im, iv, 0, ST_DTYPE_I64);
        itv.k = TV_INT, itv.sym = true;
        env_set(im, &bf.e, s->target->s, &itv);
    }
    im->fdepth++;
    if (!im->st) exec_block(im, &bf, &s->body);
    im->fdepth--;
    if (!im->st && bf.returned)
        st_ts_fail(im, ST_ERR_UNSUPPORTED, "line %d: return inside a loop", s->line);
    if (!im->st) {
        if (is_for)
            bout[0] = st_ts_op1(im, "Identity", 1, &bin[1]),
            set_type(im, body, bout[0], ST_DTYPE_BOOL, 0);
        else {
            tv c, cb;
            if (!eval(im, &bf, s->value, &c) && !convert_scalar(im, &c, TV_BOOL, &cb))
                bout[0] = sub_output(im, &cb);
        }
        for (size_t i = 0; i < nk && !im->st; i++) {
            tv *v = env_get(&bf.e, carried[i]);
            bout[1 + i] = sub_output(im, v);
        }
    }
    if (!im->st) {
        body->inputs = st_ir_alloc(body, sizeof(int) * (nk + 2));
        if (!body->inputs) st_ts_nomem(im);
        else memcpy(body->inputs, bin, sizeof(int) * (nk + 2)), body->n_inputs = nk + 2;
        set_graph_io(im, body, bout, nk + 1);
    }
    env_free(&bf.e);
    im->g = outer;
    if (im->st) return im->st;
    int res[8];
    st_node *n = st_ts_op(im, "Loop", (int)nk + 2, ins, (int)nk, res);
    st_ts_attr_g(im, n, "body", body);
    for (size_t i = 0; i < nk && !im->st; i++) {
        tv r = result_like(im, &init[i], res[i]);
        env_set(im, &f->e, carried[i], &r);
    }
    return im->st;
}

static st_status exec_block(st_ts_imp *im, frame *f, const st_tsc_block *b) {
    for (size_t i = 0; i < b->n && !im->st && !f->returned; i++) {
        const st_tsc_stmt *s = b->s[i];
        tv v;
        switch (s->kind) {
        case ST_TSC_ASSIGN:
            if (eval(im, f, s->value, &v)) break;
            if (s->op) {
                tv cur;
                st_tsc_expr bin = {.kind = ST_TSC_BINOP,
                                   .s = s->op,
                                   .a = s->target,
                                   .b = s->value,
                                   .line = s->line};
                (void)cur;
                if (eval(im, f, &bin, &v)) break;
            }
            assign(im, f, s->target, &v);
            break;
        case ST_TSC_EXPR:
            if (s->value->kind == ST_TSC_CALL && s->value->a->kind == ST_TSC_ATTR &&
                !strcmp(s->value->a->s, "RaiseException"))
                st_ts_fail(im, ST_ERR_UNSUPPORTED,
                           "line %d: the model raises an exception on every path", s->line);
            else eval(im, f, s->value, &v);
            break;
        case ST_TSC_RETURN:
            if (s->value) eval(im, f, s->value, &f->ret);
            else f->ret = st_ts_scalar(TV_NONE, 0, 0);
            f->returned = true;
            break;
        case ST_TSC_IF: exec_if(im, f, s); break;
        case ST_TSC_FOR:
        case ST_TSC_WHILE: exec_loop(im, f, s); break;
        case ST_TSC_ASSERT:
            /* `assert ops.aten.dim(x) == r` / `ops.prim.dtype(x) == t` (stele's exports write
             * them): rank and type hints for inputs */
            if (s->value->kind == ST_TSC_BINOP && !strcmp(s->value->s, "==") &&
                s->value->b->kind == ST_TSC_INT && s->value->a->kind == ST_TSC_CALL &&
                s->value->a->n == 1 && s->value->a->a->kind == ST_TSC_ATTR &&
                s->value->a->args[0]->kind == ST_TSC_NAME) {
                tv *x = env_get(&f->e, s->value->a->args[0]->s);
                bool dim = !strcmp(s->value->a->a->s, "dim"),
                     dtype = !strcmp(s->value->a->a->s, "dtype");
                int64_t k = s->value->b->i;
                if (x && x->k == TV_TENSOR && st_ts_input_of(im, x)) {
                    if (dim && x->rank < 0) {
                        st_ts_hint(im, x, ST_DTYPE_UNDEFINED, (int)k);
                        x->rank = (int)k, x->org = 0;
                    } else if (dtype && !x->dt && st_ts_dtype_from_torch(k)) {
                        st_ts_hint(im, x, st_ts_dtype_from_torch(k), -1);
                        x->dt = st_ts_dtype_from_torch(k);
                    }
                }
            }
            break;
        case ST_TSC_PASS:
        case ST_TSC_DECL:
        case ST_TSC_IMPORT: break;
        case ST_TSC_RAISE:
            st_ts_fail(im, ST_ERR_UNSUPPORTED, "line %d: the model raises an exception", s->line);
            break;
        default:
            st_ts_fail(im, ST_ERR_UNSUPPORTED, "line %d: statement kind %d is not supported",
                       s->line, (int)s->kind);
        }
    }
    return im->st;
}

/* ---- top level -------------------------------------------------------------------- */
static st_status flatten_outputs(st_ts_imp *im, const tv *v, int *outs, size_t *n, size_t cap) {
    if (v->k == TV_TUPLE || v->k == TV_LIST) {
        for (size_t i = 0; i < v->n; i++)
            if (flatten_outputs(im, &v->items[i], outs, n, cap)) return im->st;
        return ST_OK;
    }
    if (v->k == TV_NONE) return ST_OK;
    if (*n >= cap) return st_ts_fail(im, ST_ERR_LIMIT, "too many outputs");
    outs[(*n)++] = sub_output(im, v);
    return im->st;
}

/* The shape the caller bound to a forward parameter, if any. */
static const st_infer_bind *bound(st_ts_imp *im, const char *name) {
    for (size_t i = 0; i < im->n_shapes; i++)
        if (!strcmp(im->shapes[i].name, name)) return &im->shapes[i];
    return NULL;
}

static st_status check_binds(st_ts_imp *im) {
    for (size_t k = 0; k < im->n_shapes; k++) {
        const st_infer_bind *b = &im->shapes[k];
        if (b->ndim < 0 || b->ndim > ST_MAX_RANK)
            return st_ts_fail(im, ST_ERR_INVALID, "--shape %s: rank %d", b->name, b->ndim);
        bool found = false;
        for (size_t i = 0; i < im->ninputs && !found; i++)
            found = !strcmp(im->top->values[im->inputs[i].vi].name, b->name);
        if (!found) return st_ts_fail(im, ST_ERR_INVALID, "--shape %s: no such input", b->name);
    }
    return ST_OK;
}

static st_status build(st_ts_imp *im) {
    const st_pkl *root;
    if (load_pickle(im, "data.pkl", &root)) return im->st;
    if (st_zip_find(im->z, "constants.pkl") && load_pickle(im, "constants.pkl", &im->consts))
        return im->st;
    if (root->kind != ST_PKL_CALL || root->fn->kind != ST_PKL_GLOBAL ||
        strncmp(root->fn->s, "__torch__", 9))
        return st_ts_fail(im, ST_ERR_FORMAT, "data.pkl does not hold a TorchScript module");
    tv self = st_ts_scalar(TV_OBJ, 0, 0);
    self.obj = root;
    char qual[512];
    snprintf(qual, sizeof qual, "%s.%s", root->fn->s, root->fn->name);
    const st_tsc_stmt *cls = find_class(im, qual);
    if (!cls) return im->st;
    const st_tsc_stmt *fwd = st_tsc_find_def(&cls->body, "forward");
    if (!fwd) return st_ts_fail(im, ST_ERR_FORMAT, "class %s has no forward method", qual);
    frame fr;
    memset(&fr, 0, sizeof fr);
    st_graph *g = im->top;
    if (!(g->inputs = st_ir_alloc(g, sizeof(int) * (fwd->nparams + 1)))) return st_ts_nomem(im);
    for (size_t i = 0; i < fwd->nparams && !im->st; i++) {
        if (i == 0) {
            env_set(im, &fr.e, fwd->params[0].name, &self);
            continue;
        }
        const st_tsc_param *p = &fwd->params[i];
        const char *ty = p->type && p->type->kind == ST_TSC_NAME ? p->type->s : "";
        int vi = st_graph_value(g, p->name);
        if (vi < 0) {
            st_ts_nomem(im);
            break;
        }
        g->values[vi].role = ST_VALUE_INPUT;
        g->inputs[g->n_inputs++] = vi;
        tv v = st_ts_tensor(im, vi, -1, ST_DTYPE_UNDEFINED);
        input_ent e = {vi, ST_DTYPE_UNDEFINED, -1, 0, false, NULL};
        v.org = (int)im->ninputs + 1;
        const st_infer_bind *b = bound(im, p->name);
        if (b && !strcmp(ty, "Tensor")) v.rank = e.rank = b->ndim, e.dims = b->dims;
        if (!strcmp(ty, "int"))
            v.k = TV_INT, v.sym = true, v.rank = 0, v.dt = e.dt = ST_DTYPE_I64, e.rank = 0;
        else if (!strcmp(ty, "float"))
            v.k = TV_FLOAT, v.sym = true, v.rank = 0, v.dt = e.dt = ST_DTYPE_F32, e.rank = 0;
        else if (!strcmp(ty, "bool"))
            v.k = TV_BOOL, v.sym = true, v.rank = 0, v.dt = e.dt = ST_DTYPE_BOOL, e.rank = 0;
        else if (strcmp(ty, "Tensor")) {
            st_ts_fail(im, ST_ERR_UNSUPPORTED,
                       "forward parameter %s has type %s; only Tensor, int, float and bool inputs "
                       "are supported",
                       p->name, *ty ? ty : "(complex)");
            break;
        }
        if (!ST_GROW(im->inputs, im->capinputs, im->ninputs + 1)) {
            st_ts_nomem(im);
            break;
        }
        im->inputs[im->ninputs++] = e;
        env_set(im, &fr.e, p->name, &v);
    }
    if (!im->st && !check_binds(im)) exec_block(im, &fr, &fwd->body);
    int outs[256];
    size_t no = 0;
    if (!im->st && !im->nunsup) flatten_outputs(im, &fr.ret, outs, &no, 256);
    env_free(&fr.e);
    if (im->nunsup && (!im->st || im->st == ST_ERR_UNSUPPORTED)) { /* one error listing them all */
        char msg[sizeof im->err->msg];
        size_t l = (size_t)snprintf(msg, sizeof msg, "unsupported TorchScript ops:");
        for (size_t i = 0; i < im->nunsup && l < sizeof msg; i++)
            l += (size_t)snprintf(msg + l, sizeof msg - l, "%s %s (%d)", i ? "," : "",
                                  im->unsup[i].name, im->unsup[i].count);
        im->st = ST_OK; /* the list replaces the first op's message */
        return st_ts_fail(im, ST_ERR_UNSUPPORTED, "%s", msg);
    }
    if (im->st) return im->st;
    if (!no) return st_ts_fail(im, ST_ERR_UNSUPPORTED, "forward returns no tensors");
    if (st_ts_settle_ranks(im)) return im->st;
    set_graph_io(im, g, outs, no);
    for (size_t i = 0; i < no; i++) { /* readable output names */
        char nm[32];
        if (no == 1) snprintf(nm, sizeof nm, "output");
        else snprintf(nm, sizeof nm, "output_%zu", i);
        g->values[outs[i]].name = st_ir_strdup(g, nm);
    }
    for (size_t i = 0; i < im->ninputs; i++) {
        st_ir_value *v = &g->values[im->inputs[i].vi];
        v->type.kind = ST_VAL_TENSOR;
        v->type.dtype = im->inputs[i].dt ? im->inputs[i].dt : ST_DTYPE_F32;
        v->type.rank = im->inputs[i].rank >= 0   ? im->inputs[i].rank
                       : im->inputs[i].floor > 0 ? im->inputs[i].floor
                                                 : -1;
        if (v->type.rank > 0) {
            if (!(v->type.dims = st_ir_alloc(g, sizeof(st_dim) * (size_t)v->type.rank)))
                return st_ts_nomem(im);
            for (int d = 0; d < v->type.rank; d++) {
                v->type.dims[d].value = -1;
                if (im->inputs[i].dims && im->inputs[i].dims[d] >= 0) {
                    v->type.dims[d].value = im->inputs[i].dims[d];
                    continue;
                }
                char sym[48];
                snprintf(sym, sizeof sym, "%s_dim%d", v->name, d);
                v->type.dims[d].symbol = st_ir_strdup(g, sym);
            }
        }
    }
    return im->st;
}

/* Mark the top-graph values that g's nodes and outputs read (through outer references). */
static void mark_used(const st_graph *g, const st_graph *top, bool *used) {
    for (size_t k = 0; k < g->n_nodes; k++) {
        const st_node *n = &g->nodes[k];
        for (int i = 0; i < n->n_in; i++) {
            const st_graph *h = g;
            int vi = n->inputs[i];
            while (vi >= 0 && h->values[vi].role == ST_VALUE_OUTER && h->parent)
                vi = h->values[vi].outer_index, h = h->parent;
            if (vi >= 0 && h == top) used[vi] = true;
        }
        for (int a = 0; a < n->n_attrs; a++)
            if (n->attrs[a].kind == ST_ATTR_GRAPH) mark_used(n->attrs[a].g, top, used);
    }
}

/* Drop weights nothing reads (a Linear's weight once its transpose is folded in). */
static st_status prune(st_ts_imp *im) {
    st_graph *g = im->top;
    bool *used = st_calloc(g->n_values ? g->n_values : 1, sizeof *used);
    if (!used) return st_ts_nomem(im);
    mark_used(g, g, used);
    for (size_t i = 0; i < g->n_outputs; i++) used[g->outputs[i]] = true;
    for (size_t i = 0; i < g->n_values; i++) {
        st_ir_value *v = &g->values[i];
        if (used[i] || v->role != ST_VALUE_INITIALIZER) continue;
        st_tensor_clear(&v->const_val);
        v->has_const = false;
        v->role = ST_VALUE_INTERMEDIATE;
        v->type.kind = ST_VAL_NONE;
    }
    st_free(used);
    return ST_OK;
}

static void index_all(st_graph *g) {
    st_graph_index(g);
    for (size_t i = 0; i < g->n_nodes; i++)
        for (int a = 0; a < g->nodes[i].n_attrs; a++)
            if (g->nodes[i].attrs[a].kind == ST_ATTR_GRAPH) index_all(g->nodes[i].attrs[a].g);
}

static void import_free(st_ts_imp *im) {
    st_free(im->files);
    st_free(im->tensors);
    st_free(im->unsup);
    st_free(im->inputs);
    st_free(im->perms);
    st_zip_close(im->z);
    st_arena_free(im->pa);
}

static st_status import_model(st_ts_imp *im) {
    if (!(im->pa = st_arena_new(0)) || !(im->m = st_model_new(ST_FORMAT_TORCHSCRIPT)) ||
        !(im->top = im->g = st_graph_new(im->m, NULL)))
        return st_ts_nomem(im);
    st_model *m = im->m;
    m->graph = im->top;
    m->ir_version = 8;
    m->producer_name = st_ir_strdup(im->top, "pytorch");
    m->producer_version = st_ir_strdup(im->top, "torchscript");
    if (!(m->opsets = st_ir_alloc(im->top, sizeof(st_opset)))) return st_ts_nomem(im);
    m->opsets[0].domain = st_ir_strdup(im->top, "");
    m->opsets[0].version = 17;
    m->n_opsets = 1;
    m->file = st_buf_ref(st_zip_buf(im->z));
    if (build(im) || prune(im)) return im->st;
    index_all(im->top);
    return im->st;
}

/* One pass over the archive: ranks the code leaves open are fixed once, where first needed
 * (st_ts_rank), never by importing again. */
st_status st_ts_import_ex(const char *path, const st_infer_bind *shapes, size_t n_shapes,
                          st_model **out, st_ts_import_info *info, st_error *err) {
    st_ts_imp im;
    memset(&im, 0, sizeof im);
    im.path = path;
    im.err = err;
    im.shapes = shapes;
    im.n_shapes = n_shapes;
    st_status s = st_zip_open(path, &im.z, err);
    if (s) {
        st_error_prefix(err, "%s: ", path);
        return s;
    }
    s = import_model(&im);
    if (s) {
        if (s != ST_ERR_NOMEM) st_error_prefix(err, "%s: ", path);
        if (err) /* names from the file may hold control characters: keep the message one line */
            for (char *c = err->msg; *c; c++)
                if ((unsigned char)*c < 0x20) *c = '?';
        st_model_release(im.m);
    } else {
        if (info) info->n_rank_decisions = im.n_rank_decisions;
        *out = im.m;
    }
    import_free(&im);
    return s;
}

st_status st_ts_import(const char *path, st_model **out, st_error *err) {
    return st_ts_import_ex(path, NULL, 0, out, NULL, err);
}
