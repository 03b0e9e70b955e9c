/* formats/pickle/pickle.c: a pickle virtual machine that only builds values (protocols 2-5,
 * the opcodes Python's and PyTorch's picklers emit for plain data), and a protocol-2 writer.
 * It never imports or calls anything: globals are checked against the allow-list below. */
#include "pickle.h"

#include <string.h>

#define MAX_MEMO (1u << 24)
#define MAX_DEPTH 10000 /* stack entries */

/* ---- allow-list ------------------------------------------------------------------- */
typedef enum { EXACT, NAME_SUFFIX, MODULE_PREFIX } match_kind;
static const struct allow {
    const char *module, *name;
    match_kind match;
} allow_list[] = {
    /* module               name                   match          meaning */
    {"torch._utils", "_rebuild_tensor_v2", EXACT},    /* tensor view of a storage */
    {"torch._utils", "_rebuild_tensor", EXACT},       /* older tensor form */
    {"torch._utils", "_rebuild_parameter", EXACT},    /* Parameter wrapping a tensor */
    {"collections", "OrderedDict", EXACT},            /* backward hooks, state dicts */
    {"torch", "Storage", NAME_SUFFIX},                /* torch.FloatStorage & co. */
    {"torch.jit._pickle", "restore_type_tag", EXACT}, /* container with a type tag */
    {"torch.jit._pickle", "build_intlist", EXACT},    /* specialised lists */
    {"torch.jit._pickle", "build_floatlist", EXACT},
    {"torch.jit._pickle", "build_boollist", EXACT},
    {"torch.jit._pickle", "build_doublelist", EXACT},
    {"torch.jit._pickle", "build_tensorlist", EXACT},
    {"__torch__", "", MODULE_PREFIX}, /* TorchScript classes (state only) */
};

bool st_pkl_allowed(const char *module, const char *name) {
    for (size_t i = 0; i < ST_ARRAY_LEN(allow_list); i++) {
        const struct allow *a = &allow_list[i];
        switch (a->match) {
        case EXACT:
            if (!strcmp(module, a->module) && !strcmp(name, a->name)) return true;
            break;
        case NAME_SUFFIX: {
            size_t nl = strlen(name), sl = strlen(a->name);
            if (!strcmp(module, a->module) && nl > sl && !strcmp(name + nl - sl, a->name))
                return true;
            break;
        }
        case MODULE_PREFIX: {
            size_t ml = strlen(a->module);
            if (!strncmp(module, a->module, ml) && (module[ml] == 0 || module[ml] == '.'))
                return true;
            break;
        }
        }
    }
    return false;
}

/* ---- building --------------------------------------------------------------------- */
st_pkl *st_pkl_new(st_arena *a, st_pkl_kind kind) {
    st_pkl *v = st_arena_alloc(a, sizeof *v);
    if (v) {
        memset(v, 0, sizeof *v);
        v->kind = kind;
    }
    return v;
}
st_pkl *st_pkl_int(st_arena *a, int64_t x) {
    st_pkl *v = st_pkl_new(a, ST_PKL_INT);
    if (v) v->i = x;
    return v;
}
st_pkl *st_pkl_float(st_arena *a, double x) {
    st_pkl *v = st_pkl_new(a, ST_PKL_FLOAT);
    if (v) v->f = x;
    return v;
}
st_pkl *st_pkl_bool(st_arena *a, bool x) {
    st_pkl *v = st_pkl_new(a, ST_PKL_BOOL);
    if (v) v->b = x;
    return v;
}
st_pkl *st_pkl_str(st_arena *a, const char *s) {
    st_pkl *v = st_pkl_new(a, ST_PKL_STR);
    if (v && !(v->s = st_arena_strdup(a, s))) return NULL;
    if (v) v->len = strlen(s);
    return v;
}
st_pkl *st_pkl_global(st_arena *a, const char *module, const char *name) {
    st_pkl *v = st_pkl_new(a, ST_PKL_GLOBAL);
    if (v && (!(v->s = st_arena_strdup(a, module)) || !(v->name = st_arena_strdup(a, name))))
        return NULL;
    return v;
}
st_pkl *st_pkl_call(st_arena *a, st_pkl *fn, st_pkl *args, bool newobj) {
    st_pkl *v = st_pkl_new(a, ST_PKL_CALL);
    if (v) v->fn = fn, v->args = args, v->newobj = newobj;
    return v;
}

static bool grow(st_arena *a, st_pkl *v, size_t need) {
    if (need <= v->cap) return true;
    size_t cap = v->cap ? v->cap * 2 : 4;
    while (cap < need) cap *= 2;
    st_pkl **it = st_arena_alloc(a, cap * sizeof *it);
    if (!it) return false;
    if (v->items) memcpy(it, v->items, v->cap * sizeof *it);
    v->items = it;
    v->cap = cap;
    return true;
}
bool st_pkl_push(st_arena *a, st_pkl *seq, st_pkl *item) {
    if (!grow(a, seq, seq->n + 1)) return false;
    seq->items[seq->n++] = item;
    return true;
}
bool st_pkl_set(st_arena *a, st_pkl *d, st_pkl *k, st_pkl *v) {
    if (!grow(a, d, 2 * d->n + 2)) return false;
    d->items[2 * d->n] = k;
    d->items[2 * d->n + 1] = v;
    d->n++;
    return true;
}

st_pkl *st_pkl_get(const st_pkl *d, const char *key) {
    if (!d || (d->kind != ST_PKL_DICT && d->kind != ST_PKL_CALL)) return NULL;
    for (size_t i = d->n; i-- > 0;) {
        const st_pkl *k = d->items[2 * i];
        if (k && k->kind == ST_PKL_STR && !strcmp(k->s, key)) return d->items[2 * i + 1];
    }
    return NULL;
}

bool st_pkl_is_global(const st_pkl *v, const char *module, const char *name) {
    if (v && v->kind == ST_PKL_CALL) v = v->fn;
    return v && v->kind == ST_PKL_GLOBAL && !strcmp(v->s, module) && !strcmp(v->name, name);
}

/* ---- the reading machine ---------------------------------------------------------- */
typedef struct vm {
    const uint8_t *p, *end;
    st_arena *a;
    const char *what;
    st_pkl **stack;
    size_t n, cap;
    size_t *marks;
    size_t nm, capm;
    st_pkl **memo;
    size_t nmemo, capmemo;
} vm;

static st_status fmt(vm *m, st_error *err, const char *msg) {
    return st_errorf(err, ST_ERR_FORMAT, "%s: %s", m->what, msg);
}

static st_status push(vm *m, st_pkl *v, st_error *err) {
    if (!v) return st_error_nomem(err);
    if (m->n >= MAX_DEPTH)
        return st_errorf(err, ST_ERR_LIMIT, "%s: pickle stack deeper than %d", m->what, MAX_DEPTH);
    if (!ST_GROW(m->stack, m->cap, m->n + 1)) return st_error_nomem(err);
    m->stack[m->n++] = v;
    return ST_OK;
}

static bool need(vm *m, size_t k) { return (size_t)(m->end - m->p) >= k; }

static uint64_t le(const uint8_t *p, int k) {
    uint64_t v = 0;
    for (int i = k - 1; i >= 0; i--) v = v << 8 | p[i];
    return v;
}

/* Items above the topmost mark: sets *base and pops the mark. */
static st_status pop_mark(vm *m, size_t *base, st_error *err) {
    if (!m->nm) return fmt(m, err, "pickle uses a mark that was never set");
    *base = m->marks[--m->nm];
    if (*base > m->n) return fmt(m, err, "corrupt pickle mark");
    return ST_OK;
}

static st_status memo_put(vm *m, uint64_t idx, st_error *err) {
    if (!m->n) return fmt(m, err, "memo store from an empty stack");
    if (idx >= MAX_MEMO)
        return st_errorf(err, ST_ERR_LIMIT, "%s: memo index %llu too large", m->what,
                         (unsigned long long)idx);
    if (idx >= m->nmemo) {
        if (!ST_GROW(m->memo, m->capmemo, idx + 1)) return st_error_nomem(err);
        memset(m->memo + m->nmemo, 0, (idx + 1 - m->nmemo) * sizeof *m->memo);
        m->nmemo = idx + 1;
    }
    m->memo[idx] = m->stack[m->n - 1];
    return ST_OK;
}

static st_status make_str(vm *m, st_pkl_kind kind, uint64_t len, st_error *err) {
    if (!need(m, len)) return fmt(m, err, "truncated string in pickle");
    st_pkl *v = st_pkl_new(m->a, kind);
    if (!v || !(v->s = st_arena_alloc(m->a, len + 1))) return st_error_nomem(err);
    memcpy(v->s, m->p, len);
    v->s[len] = 0;
    v->len = len;
    m->p += len;
    return push(m, v, err);
}

static st_status make_global(vm *m, const char *mod, const char *name, st_error *err) {
    if (!st_pkl_allowed(mod, name))
        return st_errorf(err, ST_ERR_UNSUPPORTED,
                         "%s: refusing pickle global %s.%s (not on the allow-list)", m->what, mod,
                         name);
    return push(m, st_pkl_global(m->a, mod, name), err);
}

static st_status run(vm *m, st_pkl **out, st_error *err) {
    st_status s;
    while (m->p < m->end) {
        uint8_t op = *m->p++;
        size_t base = 0;
        switch (op) {
        case 0x80: /* PROTO */
            if (!need(m, 1)) return fmt(m, err, "truncated pickle");
            if (*m->p > 5)
                return st_errorf(err, ST_ERR_UNSUPPORTED, "%s: pickle protocol %d", m->what, *m->p);
            m->p++;
            break;
        case 0x95: /* FRAME */
            if (!need(m, 8)) return fmt(m, err, "truncated pickle");
            m->p += 8;
            break;
        case '.': /* STOP */
            if (m->n != 1) return fmt(m, err, "pickle ends with a malformed stack");
            *out = m->stack[0];
            return ST_OK;
        case 'N':
            if ((s = push(m, st_pkl_new(m->a, ST_PKL_NONE), err))) return s;
            break;
        case 0x88:
            if ((s = push(m, st_pkl_bool(m->a, true), err))) return s;
            break;
        case 0x89:
            if ((s = push(m, st_pkl_bool(m->a, false), err))) return s;
            break;
        case 'K':
        case 'M':
        case 'J': { /* BININT1, BININT2, BININT */
            int k = op == 'K' ? 1 : op == 'M' ? 2 : 4;
            if (!need(m, (size_t)k)) return fmt(m, err, "truncated integer in pickle");
            uint64_t v = le(m->p, k);
            m->p += k;
            if ((s = push(m, st_pkl_int(m->a, k == 4 ? (int64_t)(int32_t)v : (int64_t)v), err)))
                return s;
            break;
        }
        case 0x8a:
        case 0x8b: { /* LONG1, LONG4 */
            int lk = op == 0x8a ? 1 : 4;
            if (!need(m, (size_t)lk)) return fmt(m, err, "truncated integer in pickle");
            uint64_t len = le(m->p, lk);
            m->p += lk;
            if (len > 8)
                return st_errorf(err, ST_ERR_UNSUPPORTED, "%s: integer of %llu bytes exceeds int64",
                                 m->what, (unsigned long long)len);
            if (!need(m, len)) return fmt(m, err, "truncated integer in pickle");
            uint64_t v = len ? le(m->p, (int)len) : 0;
            if (len && len < 8 && (m->p[len - 1] & 0x80)) v |= ~(uint64_t)0 << (8 * len);
            m->p += len;
            if ((s = push(m, st_pkl_int(m->a, (int64_t)v), err))) return s;
            break;
        }
        case 'G': { /* BINFLOAT, big-endian */
            if (!need(m, 8)) return fmt(m, err, "truncated float in pickle");
            uint64_t u = 0;
            for (int i = 0; i < 8; i++) u = u << 8 | m->p[i];
            m->p += 8;
            double d;
            memcpy(&d, &u, 8);
            if ((s = push(m, st_pkl_float(m->a, d), err))) return s;
            break;
        }
        case 'X':
        case 0x8c:
        case 0x8d:
        case 'B':
        case 'C':
        case 0x8e:
        case 0x96:
        case 'T':
        case 'U': {
            int k = (op == 0x8c || op == 'C' || op == 'U')     ? 1
                    : (op == 0x8d || op == 0x8e || op == 0x96) ? 8
                                                               : 4;
            if (!need(m, (size_t)k)) return fmt(m, err, "truncated string in pickle");
            uint64_t len = le(m->p, k);
            m->p += k;
            st_pkl_kind kind = (op == 'X' || op == 0x8c || op == 0x8d || op == 'T' || op == 'U')
                                   ? ST_PKL_STR
                                   : ST_PKL_BYTES;
            if ((s = make_str(m, kind, len, err))) return s;
            break;
        }
        case 'c': { /* GLOBAL "module\nname\n" */
            const uint8_t *nl1 = memchr(m->p, '\n', (size_t)(m->end - m->p));
            const uint8_t *nl2 = nl1 ? memchr(nl1 + 1, '\n', (size_t)(m->end - nl1 - 1)) : NULL;
            if (!nl2) return fmt(m, err, "truncated GLOBAL in pickle");
            char *mod = st_arena_alloc(m->a, (size_t)(nl1 - m->p) + 1),
                 *name = st_arena_alloc(m->a, (size_t)(nl2 - nl1));
            if (!mod || !name) return st_error_nomem(err);
            memcpy(mod, m->p, (size_t)(nl1 - m->p)), mod[nl1 - m->p] = 0;
            memcpy(name, nl1 + 1, (size_t)(nl2 - nl1 - 1)), name[nl2 - nl1 - 1] = 0;
            m->p = nl2 + 1;
            if ((s = make_global(m, mod, name, err))) return s;
            break;
        }
        case 0x93: { /* STACK_GLOBAL */
            if (m->n < 2) return fmt(m, err, "STACK_GLOBAL on a short stack");
            st_pkl *mod = m->stack[m->n - 2], *name = m->stack[m->n - 1];
            if (mod->kind != ST_PKL_STR || name->kind != ST_PKL_STR)
                return fmt(m, err, "STACK_GLOBAL of non-strings");
            m->n -= 2;
            if ((s = make_global(m, mod->s, name->s, err))) return s;
            break;
        }
        case 'q':
        case 'r':
        case 0x94: { /* BINPUT, LONG_BINPUT, MEMOIZE */
            uint64_t idx;
            if (op == 0x94) idx = m->nmemo;
            else {
                int k = op == 'q' ? 1 : 4;
                if (!need(m, (size_t)k)) return fmt(m, err, "truncated memo index");
                idx = le(m->p, k);
                m->p += k;
            }
            if ((s = memo_put(m, idx, err))) return s;
            break;
        }
        case 'h':
        case 'j': { /* BINGET, LONG_BINGET */
            int k = op == 'h' ? 1 : 4;
            if (!need(m, (size_t)k)) return fmt(m, err, "truncated memo index");
            uint64_t idx = le(m->p, k);
            m->p += k;
            if (idx >= m->nmemo || !m->memo[idx])
                return fmt(m, err, "pickle reads an unset memo slot");
            if ((s = push(m, m->memo[idx], err))) return s;
            break;
        }
        case '(': /* MARK */
            if (!ST_GROW(m->marks, m->capm, m->nm + 1)) return st_error_nomem(err);
            m->marks[m->nm++] = m->n;
            break;
        case '0': /* POP */
            if (!m->n) return fmt(m, err, "POP on an empty stack");
            m->n--;
            break;
        case '1': /* POP_MARK */
            if ((s = pop_mark(m, &base, err))) return s;
            m->n = base;
            break;
        case '2': /* DUP */
            if (!m->n) return fmt(m, err, "DUP on an empty stack");
            if ((s = push(m, m->stack[m->n - 1], err))) return s;
            break;
        case ')':
            if ((s = push(m, st_pkl_new(m->a, ST_PKL_TUPLE), err))) return s;
            break;
        case ']':
            if ((s = push(m, st_pkl_new(m->a, ST_PKL_LIST), err))) return s;
            break;
        case '}':
            if ((s = push(m, st_pkl_new(m->a, ST_PKL_DICT), err))) return s;
            break;
        case 0x8f:
            if ((s = push(m, st_pkl_new(m->a, ST_PKL_SET), err))) return s;
            break;
        case 't':
        case 'l':
        case 'd':
        case 0x91:
        case 0x85:
        case 0x86:
        case 0x87: {
            /* TUPLE, LIST, DICT, FROZENSET (from a mark), TUPLE1-3 */
            if (op >= 0x85 && op <= 0x87) {
                base = (size_t)(op - 0x84);
                if (m->n < base) return fmt(m, err, "TUPLE on a short stack");
                base = m->n - base;
            } else if ((s = pop_mark(m, &base, err))) return s;
            st_pkl *v = st_pkl_new(m->a, op == 'l'    ? ST_PKL_LIST
                                         : op == 'd'  ? ST_PKL_DICT
                                         : op == 0x91 ? ST_PKL_SET
                                                      : ST_PKL_TUPLE);
            if (!v) return st_error_nomem(err);
            if (op == 'd') {
                if ((m->n - base) % 2) return fmt(m, err, "DICT with an odd item count");
                for (size_t i = base; i < m->n; i += 2)
                    if (!st_pkl_set(m->a, v, m->stack[i], m->stack[i + 1]))
                        return st_error_nomem(err);
            } else {
                for (size_t i = base; i < m->n; i++)
                    if (!st_pkl_push(m->a, v, m->stack[i])) return st_error_nomem(err);
            }
            m->n = base;
            if ((s = push(m, v, err))) return s;
            break;
        }
        case 'a':
        case 'e':
        case 0x90: { /* APPEND, APPENDS, ADDITEMS */
            if (op == 'a') base = m->n - 1;
            else if ((s = pop_mark(m, &base, err))) return s;
            if (m->n < 1 || base < 1) return fmt(m, err, "APPEND without a list");
            st_pkl *l = m->stack[base - 1];
            if (l->kind != ST_PKL_LIST && l->kind != ST_PKL_SET && l->kind != ST_PKL_CALL)
                return fmt(m, err, "APPEND to something that is not a list");
            for (size_t i = base; i < m->n; i++)
                if (!st_pkl_push(m->a, l, m->stack[i])) return st_error_nomem(err);
            m->n = base;
            break;
        }
        case 's':
        case 'u': { /* SETITEM, SETITEMS */
            if (op == 's') {
                if (m->n < 3) return fmt(m, err, "SETITEM on a short stack");
                base = m->n - 2;
            } else if ((s = pop_mark(m, &base, err))) return s;
            if (base < 1 || (m->n - base) % 2) return fmt(m, err, "SETITEMS without a dict");
            st_pkl *d = m->stack[base - 1];
            if (d->kind != ST_PKL_DICT && d->kind != ST_PKL_CALL)
                return fmt(m, err, "SETITEM on something that is not a dict");
            for (size_t i = base; i < m->n; i += 2)
                if (!st_pkl_set(m->a, d, m->stack[i], m->stack[i + 1])) return st_error_nomem(err);
            m->n = base;
            break;
        }
        case 'R':
        case 0x81: { /* REDUCE, NEWOBJ: recorded, not called */
            if (m->n < 2) return fmt(m, err, "REDUCE on a short stack");
            st_pkl *fn = m->stack[m->n - 2], *args = m->stack[m->n - 1];
            if (fn->kind != ST_PKL_GLOBAL || args->kind != ST_PKL_TUPLE)
                return fmt(m, err, "REDUCE of something that is not a global");
            m->n -= 2;
            if ((s = push(m, st_pkl_call(m->a, fn, args, op == 0x81), err))) return s;
            break;
        }
        case 0x92: { /* NEWOBJ_EX: cls, args, kwargs */
            if (m->n < 3) return fmt(m, err, "NEWOBJ_EX on a short stack");
            st_pkl *fn = m->stack[m->n - 3], *args = m->stack[m->n - 2];
            if (fn->kind != ST_PKL_GLOBAL || args->kind != ST_PKL_TUPLE)
                return fmt(m, err, "NEWOBJ_EX of something that is not a global");
            m->n -= 3;
            if ((s = push(m, st_pkl_call(m->a, fn, args, true), err))) return s;
            break;
        }
        case 'b': { /* BUILD: record the state */
            if (m->n < 2) return fmt(m, err, "BUILD on a short stack");
            st_pkl *obj = m->stack[m->n - 2];
            if (obj->kind != ST_PKL_CALL)
                return fmt(m, err, "BUILD on something that is not an object");
            obj->state = m->stack[m->n - 1];
            m->n--;
            break;
        }
        case 'Q': { /* BINPERSID */
            if (!m->n) return fmt(m, err, "BINPERSID on an empty stack");
            st_pkl *v = st_pkl_new(m->a, ST_PKL_PERSID);
            if (!v) return st_error_nomem(err);
            v->args = m->stack[m->n - 1];
            m->stack[m->n - 1] = v;
            break;
        }
        case 0x97: /* NEXT_BUFFER */
        case 0x98: /* READONLY_BUFFER */
            return st_errorf(err, ST_ERR_UNSUPPORTED,
                             "%s: out-of-band pickle buffers are not supported", m->what);
        default:
            return st_errorf(err, ST_ERR_UNSUPPORTED, "%s: pickle opcode 0x%02x is not supported",
                             m->what, op);
        }
    }
    return fmt(m, err, "truncated pickle (no STOP)");
}

st_status st_pkl_parse(const uint8_t *data, size_t n, st_arena *arena, const char *what,
                       st_pkl **out, st_error *err) {
    vm m;
    memset(&m, 0, sizeof m);
    m.p = data;
    m.end = data + n;
    m.a = arena;
    m.what = what ? what : "pickle";
    st_pkl *v = NULL;
    st_status s = run(&m, &v, err);
    st_free(m.stack);
    st_free(m.marks);
    st_free(m.memo);
    if (s) return s;
    *out = v;
    return ST_OK;
}

/* ---- writing ---------------------------------------------------------------------- */
/* The stream goes into core's byte builder (st_sb holds binary too). */
typedef st_sb wbuf;

static void put(wbuf *w, const void *p, size_t n) { st_sb_put(w, p, n); }
static void put1(wbuf *w, uint8_t c) { put(w, &c, 1); }
static void putle(wbuf *w, uint64_t v, int k) {
    uint8_t b[8];
    for (int i = 0; i < k; i++) b[i] = (uint8_t)(v >> (8 * i));
    put(w, b, (size_t)k);
}

static st_status dump(wbuf *w, const st_pkl *v, int depth, st_error *err) {
    if (depth > 1000) return st_errorf(err, ST_ERR_LIMIT, "pickle value nested too deeply");
    st_status s = ST_OK;
    switch (v->kind) {
    case ST_PKL_NONE: put1(w, 'N'); break;
    case ST_PKL_BOOL: put1(w, v->b ? 0x88 : 0x89); break;
    case ST_PKL_INT:
        if (v->i >= 0 && v->i < 256) put1(w, 'K'), putle(w, (uint64_t)v->i, 1);
        else if (v->i >= 0 && v->i < 65536) put1(w, 'M'), putle(w, (uint64_t)v->i, 2);
        else if (v->i >= INT32_MIN && v->i <= INT32_MAX) put1(w, 'J'), putle(w, (uint64_t)v->i, 4);
        else put1(w, 0x8a), put1(w, 8), putle(w, (uint64_t)v->i, 8);
        break;
    case ST_PKL_FLOAT: {
        uint64_t u;
        memcpy(&u, &v->f, 8);
        put1(w, 'G');
        for (int i = 7; i >= 0; i--) put1(w, (uint8_t)(u >> (8 * i)));
        break;
    }
    case ST_PKL_STR:
    case ST_PKL_BYTES:
        put1(w, v->kind == ST_PKL_STR ? 'X' : 'B');
        putle(w, v->len, 4);
        put(w, v->s, v->len);
        break;
    case ST_PKL_TUPLE:
    case ST_PKL_LIST:
    case ST_PKL_SET:
        if (v->kind == ST_PKL_TUPLE && !v->n) {
            put1(w, ')');
            break;
        }
        if (v->kind == ST_PKL_LIST) put1(w, ']');
        if (v->kind == ST_PKL_SET) put1(w, 0x8f);
        if (v->n) {
            put1(w, '(');
            for (size_t i = 0; i < v->n && !s; i++) s = dump(w, v->items[i], depth + 1, err);
            put1(w, v->kind == ST_PKL_TUPLE ? 't' : v->kind == ST_PKL_LIST ? 'e' : 0x90);
        }
        break;
    case ST_PKL_DICT:
    case ST_PKL_CALL:
        if (v->kind == ST_PKL_CALL) {
            if ((s = dump(w, v->fn, depth + 1, err)) || (s = dump(w, v->args, depth + 1, err)))
                return s;
            put1(w, v->newobj ? 0x81 : 'R');
        } else put1(w, '}');
        if (v->n) {
            put1(w, '(');
            for (size_t i = 0; i < 2 * v->n && !s; i++) s = dump(w, v->items[i], depth + 1, err);
            put1(w, 'u');
        }
        if (!s && v->kind == ST_PKL_CALL && v->state) {
            s = dump(w, v->state, depth + 1, err);
            put1(w, 'b');
        }
        break;
    case ST_PKL_GLOBAL:
        put1(w, 'c');
        put(w, v->s, strlen(v->s)), put1(w, '\n');
        put(w, v->name, strlen(v->name)), put1(w, '\n');
        break;
    case ST_PKL_PERSID:
        if ((s = dump(w, v->args, depth + 1, err))) return s;
        put1(w, 'Q');
        break;
    default: return st_errorf(err, ST_ERR_INVALID, "pickle value of unknown kind %d", (int)v->kind);
    }
    return s;
}

st_status st_pkl_dump(const st_pkl *v, st_buf **out, st_error *err) {
    wbuf w = {0};
    put1(&w, 0x80), put1(&w, 2);
    st_status s = dump(&w, v, 0, err);
    put1(&w, '.');
    if (!s && w.oom) s = st_error_nomem(err);
    st_buf *b = NULL;
    if (!s && !(b = st_buf_new_heap(w.n))) s = st_error_nomem(err);
    if (!s) {
        memcpy(b->data, w.s, w.n);
        b->size = w.n;
        *out = b;
    }
    st_sb_free(&w);
    return s;
}
