/* formats/torchscript/tsc.c: tokenizer, recursive-descent parser and printer for the
 * TorchScript source subset torch.jit.save emits. Syntax only: names are not resolved and
 * nothing is evaluated here. */
#include "tsc.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_NEST 200 /* expression / block nesting */

typedef enum { T_NAME, T_INT, T_FLOAT, T_STR, T_OP, T_NEWLINE, T_INDENT, T_DEDENT, T_END } tkind;
typedef struct tok {
    tkind k;
    int line;
    char *s;
    int64_t i;
    double f;
} tok;

typedef struct parser {
    st_arena *a;
    const char *what;
    tok *t;
    size_t n, cap, pos;
    int depth;
    st_error *err;
} parser;

static st_status perr(parser *p, int line, const char *fmt, const char *arg) {
    char m[200];
    snprintf(m, sizeof m, fmt, arg ? arg : "");
    return st_errorf(p->err, ST_ERR_FORMAT, "%s:%d: %s", p->what, line, m);
}

static st_status add(parser *p, tkind k, int line, const char *s, size_t n) {
    if (!ST_GROW(p->t, p->cap, p->n + 1)) return st_error_nomem(p->err);
    tok *t = &p->t[p->n++];
    memset(t, 0, sizeof *t);
    t->k = k;
    t->line = line;
    if (s) {
        if (!(t->s = st_arena_alloc(p->a, n + 1))) return st_error_nomem(p->err);
        memcpy(t->s, s, n);
        t->s[n] = 0;
    }
    return ST_OK;
}

static bool is_id(int c) {
    return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static st_status lex(parser *p, const char *src, size_t n) {
    int line = 1, paren = 0, indents[MAX_NEST] = {0}, ni = 1;
    size_t i = 0;
    bool bol = true;
    st_status s;
    while (i < n) {
        if (bol && paren == 0) {
            size_t j = i;
            int col = 0;
            while (j < n && (src[j] == ' ' || src[j] == '\t'))
                col += src[j] == '\t' ? 8 - col % 8 : 1, j++;
            if (j >= n) break;
            if (src[j] == '\n' || src[j] == '\r' || src[j] == '#') { /* blank or comment line */
                while (j < n && src[j] != '\n') j++;
                i = j + 1;
                line++;
                continue;
            }
            if (col > indents[ni - 1]) {
                if (ni >= MAX_NEST) return perr(p, line, "indentation nested too deeply", NULL);
                indents[ni++] = col;
                if ((s = add(p, T_INDENT, line, NULL, 0))) return s;
            }
            while (col < indents[ni - 1]) {
                ni--;
                if ((s = add(p, T_DEDENT, line, NULL, 0))) return s;
            }
            if (col != indents[ni - 1]) return perr(p, line, "inconsistent dedent", NULL);
            i = j;
            bol = false;
        }
        char c = src[i];
        if (c == '\n') {
            line++;
            i++;
            if (paren == 0) {
                if ((s = add(p, T_NEWLINE, line - 1, NULL, 0))) return s;
                bol = true;
            }
            continue;
        }
        if (c == ' ' || c == '\t' || c == '\r') {
            i++;
            continue;
        }
        if (c == '\\' && i + 1 < n && src[i + 1] == '\n') {
            i += 2, line++;
            continue;
        }
        if (c == '#') {
            while (i < n && src[i] != '\n') i++;
            continue;
        }
        if (is_id((unsigned char)c) && !(c >= '0' && c <= '9')) {
            size_t j = i;
            while (j < n && is_id((unsigned char)src[j])) j++;
            if ((s = add(p, T_NAME, line, src + i, j - i))) return s;
            i = j;
            continue;
        }
        if ((c >= '0' && c <= '9') ||
            (c == '.' && i + 1 < n && src[i + 1] >= '0' && src[i + 1] <= '9')) {
            char buf[64];
            size_t j = i, k = 0;
            bool fl = false;
            while (j < n && k < sizeof buf - 1 &&
                   ((src[j] >= '0' && src[j] <= '9') || src[j] == '.' || src[j] == 'e' ||
                    src[j] == 'E' || src[j] == 'x' ||
                    (src[j] >= 'a' && src[j] <= 'f' && src[i + 1] == 'x') || src[j] == '_' ||
                    ((src[j] == '-' || src[j] == '+') && (src[j - 1] == 'e' || src[j - 1] == 'E') &&
                     src[i + 1] != 'x'))) {
                if (src[j] == '.' || ((src[j] == 'e' || src[j] == 'E') && src[i + 1] != 'x'))
                    fl = true;
                if (src[j] != '_') buf[k++] = src[j];
                j++;
            }
            buf[k] = 0;
            if ((s = add(p, fl ? T_FLOAT : T_INT, line, buf, k))) return s;
            char *end;
            errno = 0;
            if (fl) p->t[p->n - 1].f = strtod(buf, &end);
            else {
                unsigned long long u = strtoull(buf, &end, 0);
                if (u > (unsigned long long)INT64_MAX + 1) errno = ERANGE;
                p->t[p->n - 1].i = (int64_t)u;
            }
            if (*end || errno) return perr(p, line, "bad number \"%s\"", buf);
            i = j;
            continue;
        }
        if (c == '"' || c == '\'') {
            size_t j = i + 1, k = 0;
            char *buf = st_arena_alloc(p->a, n - i + 1);
            if (!buf) return st_error_nomem(p->err);
            while (j < n && src[j] != c && src[j] != '\n') {
                char d = src[j++];
                if (d == '\\' && j < n) {
                    d = src[j++];
                    switch (d) {
                    case 'n': d = '\n'; break;
                    case 't': d = '\t'; break;
                    case 'r': d = '\r'; break;
                    case '0': d = 0; break;
                    case 'x':
                        if (j + 2 <= n) {
                            char h[3] = {src[j], src[j + 1], 0};
                            d = (char)strtol(h, NULL, 16);
                            j += 2;
                        }
                        break;
                    default: break;
                    }
                }
                buf[k++] = d;
            }
            if (j >= n || src[j] != c) return perr(p, line, "unterminated string", NULL);
            if ((s = add(p, T_STR, line, buf, k))) return s;
            p->t[p->n - 1].i = (int64_t)k;
            i = j + 1;
            continue;
        }
        static const char *ops3[] = {"**=", "//=", ">>=", "<<=", "..."};
        static const char *ops2[] = {"==", "!=", "<=", ">=", "//", "**", "->", "+=", "-=",
                                     "*=", "/=", "%=", "&=", "|=", "^=", "<<", ">>"};
        size_t len = 0;
        for (size_t q = 0; q < ST_ARRAY_LEN(ops3) && !len; q++)
            if (i + 3 <= n && !memcmp(src + i, ops3[q], 3)) len = 3;
        for (size_t q = 0; q < ST_ARRAY_LEN(ops2) && !len; q++)
            if (i + 2 <= n && !memcmp(src + i, ops2[q], 2)) len = 2;
        if (!len) {
            if (!strchr("()[]{}:,.=+-*/%<>&|^~@;", c)) {
                char b[2] = {c, 0};
                return perr(p, line, "unexpected character '%s'", b);
            }
            len = 1;
            if (c == '(' || c == '[' || c == '{') paren++;
            if ((c == ')' || c == ']' || c == '}') && paren > 0) paren--;
        }
        if ((s = add(p, T_OP, line, src + i, len))) return s;
        i += len;
    }
    if (p->n && p->t[p->n - 1].k != T_NEWLINE && (s = add(p, T_NEWLINE, line, NULL, 0))) return s;
    while (ni > 1) {
        ni--;
        if ((s = add(p, T_DEDENT, line, NULL, 0))) return s;
    }
    return add(p, T_END, line, NULL, 0);
}

/* ---- parser ------------------------------------------------------------------------ */
static tok *cur(parser *p) { return &p->t[p->pos]; }
static bool is_op(parser *p, const char *op) { return cur(p)->k == T_OP && !strcmp(cur(p)->s, op); }
static bool is_kw(parser *p, const char *kw) {
    return cur(p)->k == T_NAME && !strcmp(cur(p)->s, kw);
}
static bool accept(parser *p, const char *op) {
    if (!is_op(p, op)) return false;
    p->pos++;
    return true;
}
static st_status expect(parser *p, const char *op) {
    if (accept(p, op)) return ST_OK;
    return perr(p, cur(p)->line, "expected '%s'", op);
}

static st_tsc_expr *mk(parser *p, st_tsc_expr_kind k) {
    st_tsc_expr *e = st_arena_alloc(p->a, sizeof *e);
    if (e) {
        memset(e, 0, sizeof *e);
        e->kind = k;
        e->line = cur(p)->line;
    }
    return e;
}

typedef struct elist {
    st_tsc_expr **v;
    char **kw;
    size_t n, cap;
} elist;

static bool elist_add(parser *p, elist *l, st_tsc_expr *e, char *kw) {
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 4;
        st_tsc_expr **v = st_arena_alloc(p->a, cap * sizeof *v);
        char **k = st_arena_alloc(p->a, cap * sizeof *k);
        if (!v || !k) return false;
        if (l->n) memcpy(v, l->v, l->n * sizeof *v), memcpy(k, l->kw, l->n * sizeof *k);
        l->v = v, l->kw = k, l->cap = cap;
    }
    l->v[l->n] = e;
    l->kw[l->n++] = kw;
    return true;
}

static st_status expr(parser *p, st_tsc_expr **out);
static st_status expr_list(parser *p, st_tsc_expr **out); /* a, b -> TUPLE */

/* Comma-separated items up to `close`; keyword arguments when kw_ok. */
static st_status items(parser *p, const char *close, bool kw_ok, elist *l, bool *trailing) {
    st_status s;
    *trailing = false;
    while (!is_op(p, close)) {
        char *kw = NULL;
        if (kw_ok && cur(p)->k == T_NAME && p->t[p->pos + 1].k == T_OP &&
            !strcmp(p->t[p->pos + 1].s, "=")) {
            kw = cur(p)->s;
            p->pos += 2;
        }
        st_tsc_expr *e;
        if ((s = expr(p, &e))) return s;
        if (!elist_add(p, l, e, kw)) return st_error_nomem(p->err);
        *trailing = false;
        if (!accept(p, ",")) break;
        *trailing = true;
    }
    return expect(p, close);
}

static st_status atom(parser *p, st_tsc_expr **out) {
    tok *t = cur(p);
    st_tsc_expr *e = NULL;
    st_status s;
    elist l = {0};
    bool tr;
    switch (t->k) {
    case T_NAME:
        if (!strcmp(t->s, "True")) e = mk(p, ST_TSC_TRUE);
        else if (!strcmp(t->s, "False")) e = mk(p, ST_TSC_FALSE);
        else if (!strcmp(t->s, "None")) e = mk(p, ST_TSC_NONE);
        else if ((e = mk(p, ST_TSC_NAME))) e->s = t->s;
        p->pos++;
        break;
    case T_INT:
        if ((e = mk(p, ST_TSC_INT))) e->i = t->i;
        p->pos++;
        break;
    case T_FLOAT:
        if ((e = mk(p, ST_TSC_FLOAT))) e->f = t->f;
        p->pos++;
        break;
    case T_STR:
        if ((e = mk(p, ST_TSC_STR))) e->s = t->s, e->i = t->i;
        p->pos++;
        while (e && cur(p)->k == T_STR) { /* adjacent literals concatenate */
            size_t a = strlen(e->s), b = strlen(cur(p)->s);
            char *c = st_arena_alloc(p->a, a + b + 1);
            if (!c) return st_error_nomem(p->err);
            memcpy(c, e->s, a), memcpy(c + a, cur(p)->s, b + 1);
            e->s = c;
            p->pos++;
        }
        break;
    case T_OP:
        if (accept(p, "(")) {
            if ((s = items(p, ")", false, &l, &tr))) return s;
            if (l.n == 1 && !tr) {
                *out = l.v[0];
                return ST_OK;
            }
            if ((e = mk(p, ST_TSC_TUPLE))) e->n = l.n, e->args = l.v;
        } else if (accept(p, "[")) {
            if ((s = items(p, "]", false, &l, &tr))) return s;
            if ((e = mk(p, ST_TSC_LIST))) e->n = l.n, e->args = l.v;
        } else if (accept(p, "{")) {
            return perr(p, t->line, "dict literals are not supported", NULL);
        } else return perr(p, t->line, "unexpected '%s'", t->s);
        break;
    default: return perr(p, t->line, "expected an expression", NULL);
    }
    if (!e) return st_error_nomem(p->err);
    *out = e;
    return ST_OK;
}

static st_status subscript(parser *p, st_tsc_expr **out) {
    st_tsc_expr *parts[3] = {NULL, NULL, NULL};
    st_status s;
    int k = 0;
    bool slice = false;
    for (;;) {
        if (!is_op(p, ":") && !is_op(p, "]") && !is_op(p, ",") && (s = expr(p, &parts[k])))
            return s;
        if (k < 2 && accept(p, ":")) {
            slice = true;
            k++;
            continue;
        }
        break;
    }
    if (!slice) {
        *out = parts[0];
        return parts[0] ? ST_OK : perr(p, cur(p)->line, "empty subscript", NULL);
    }
    st_tsc_expr *e = mk(p, ST_TSC_SLICE);
    st_tsc_expr **a = st_arena_alloc(p->a, 3 * sizeof *a);
    if (!e || !a) return st_error_nomem(p->err);
    memcpy(a, parts, sizeof parts);
    e->n = 3, e->args = a;
    *out = e;
    return ST_OK;
}

static st_status postfix(parser *p, st_tsc_expr **out) {
    st_status s;
    st_tsc_expr *e = NULL;
    if ((s = atom(p, &e))) return s;
    for (;;) {
        if (accept(p, ".")) {
            if (cur(p)->k != T_NAME)
                return perr(p, cur(p)->line, "expected a name after '.'", NULL);
            st_tsc_expr *a = mk(p, ST_TSC_ATTR);
            if (!a) return st_error_nomem(p->err);
            a->a = e, a->s = cur(p)->s;
            p->pos++;
            e = a;
        } else if (accept(p, "(")) {
            elist l = {0};
            bool tr;
            if ((s = items(p, ")", true, &l, &tr))) return s;
            st_tsc_expr *c = mk(p, ST_TSC_CALL);
            if (!c) return st_error_nomem(p->err);
            c->a = e, c->n = l.n, c->args = l.v, c->kw = l.kw;
            e = c;
        } else if (accept(p, "[")) {
            elist l = {0};
            st_tsc_expr *ix = NULL;
            for (;;) {
                if ((s = subscript(p, &ix))) return s;
                if (!elist_add(p, &l, ix, NULL)) return st_error_nomem(p->err);
                if (!accept(p, ",") || is_op(p, "]")) break;
            }
            if ((s = expect(p, "]"))) return s;
            st_tsc_expr *c = mk(p, ST_TSC_INDEX);
            if (!c) return st_error_nomem(p->err);
            c->a = e;
            if (l.n == 1) c->b = l.v[0];
            else {
                if (!(c->b = mk(p, ST_TSC_TUPLE))) return st_error_nomem(p->err);
                c->b->n = l.n, c->b->args = l.v;
            }
            e = c;
        } else break;
    }
    *out = e;
    return ST_OK;
}

static st_tsc_expr *binop(parser *p, const char *op, st_tsc_expr *a, st_tsc_expr *b) {
    st_tsc_expr *e = mk(p, ST_TSC_BINOP);
    if (e) e->s = st_arena_strdup(p->a, op), e->a = a, e->b = b;
    return e && e->s ? e : NULL;
}

static st_status unary(parser *p, st_tsc_expr **out);
static st_status power(parser *p, st_tsc_expr **out) {
    st_status s;
    if ((s = postfix(p, out))) return s;
    if (accept(p, "**")) {
        st_tsc_expr *b;
        if ((s = unary(p, &b))) return s;
        if (!(*out = binop(p, "**", *out, b))) return st_error_nomem(p->err);
    }
    return ST_OK;
}
static st_status unary(parser *p, st_tsc_expr **out) {
    const char *ops[] = {"-", "+", "~"};
    for (size_t i = 0; i < 3; i++)
        if (accept(p, ops[i])) {
            st_tsc_expr *e = mk(p, ST_TSC_UNOP);
            if (!e) return st_error_nomem(p->err);
            e->s = (char *)ops[i];
            *out = e;
            if (++p->depth > MAX_NEST)
                return perr(p, cur(p)->line, "expression nested too deeply", NULL);
            st_status s = unary(p, &e->a);
            p->depth--;
            return s;
        }
    return power(p, out);
}

/* Binary levels, loosest first; each row lists its operators. */
static const char *const levels[][6] = {
    {"|"}, {"^"}, {"&"}, {"<<", ">>"}, {"+", "-"}, {"*", "/", "//", "%", "@"},
};

static st_status level(parser *p, int lv, st_tsc_expr **out) {
    if (lv == (int)ST_ARRAY_LEN(levels)) return unary(p, out);
    st_status s;
    if ((s = level(p, lv + 1, out))) return s;
    for (;;) {
        const char *hit = NULL;
        for (int i = 0; i < 6 && levels[lv][i]; i++)
            if (is_op(p, levels[lv][i])) hit = levels[lv][i];
        if (!hit) return ST_OK;
        p->pos++;
        st_tsc_expr *b;
        if ((s = level(p, lv + 1, &b))) return s;
        if (!(*out = binop(p, hit, *out, b))) return st_error_nomem(p->err);
    }
}

static st_status comparison(parser *p, st_tsc_expr **out) {
    st_status s;
    if ((s = level(p, 0, out))) return s;
    for (;;) {
        const char *op = NULL;
        static const char *cmp[] = {"<", ">", "<=", ">=", "==", "!="};
        for (size_t i = 0; i < 6; i++)
            if (is_op(p, cmp[i])) op = cmp[i];
        if (op) p->pos++;
        else if (is_kw(p, "is")) {
            p->pos++;
            op = "is";
            if (is_kw(p, "not")) p->pos++, op = "is not";
        } else if (is_kw(p, "in")) p->pos++, op = "in";
        else if (is_kw(p, "not") && p->t[p->pos + 1].k == T_NAME &&
                 !strcmp(p->t[p->pos + 1].s, "in"))
            p->pos += 2, op = "not in";
        else return ST_OK;
        st_tsc_expr *b;
        if ((s = level(p, 0, &b))) return s;
        if (!(*out = binop(p, op, *out, b))) return st_error_nomem(p->err);
    }
}

static st_status not_expr(parser *p, st_tsc_expr **out) {
    if (is_kw(p, "not")) {
        p->pos++;
        st_tsc_expr *e = mk(p, ST_TSC_UNOP);
        if (!e) return st_error_nomem(p->err);
        e->s = "not";
        *out = e;
        if (++p->depth > MAX_NEST)
            return perr(p, cur(p)->line, "expression nested too deeply", NULL);
        st_status s = not_expr(p, &e->a);
        p->depth--;
        return s;
    }
    return comparison(p, out);
}

static st_status and_or(parser *p, bool is_or, st_tsc_expr **out) {
    st_status s = is_or ? and_or(p, false, out) : not_expr(p, out);
    if (s) return s;
    const char *kw = is_or ? "or" : "and";
    while (is_kw(p, kw)) {
        p->pos++;
        st_tsc_expr *b;
        if ((s = is_or ? and_or(p, false, &b) : not_expr(p, &b))) return s;
        if (!(*out = binop(p, kw, *out, b))) return st_error_nomem(p->err);
    }
    return ST_OK;
}

static st_status expr(parser *p, st_tsc_expr **out) {
    if (++p->depth > MAX_NEST) return perr(p, cur(p)->line, "expression nested too deeply", NULL);
    st_status s = and_or(p, true, out);
    if (!s && is_kw(p, "if")) {
        p->pos++;
        st_tsc_expr *e = mk(p, ST_TSC_IFEXP), **a = st_arena_alloc(p->a, sizeof *a);
        if (!e || !a) s = st_error_nomem(p->err);
        else {
            e->a = *out, e->n = 1, e->args = a;
            if (!(s = and_or(p, true, &e->b))) {
                if (!is_kw(p, "else")) s = perr(p, cur(p)->line, "expected 'else'", NULL);
                else {
                    p->pos++;
                    s = expr(p, &a[0]);
                }
            }
            *out = e;
        }
    }
    p->depth--;
    return s;
}

static st_status expr_list(parser *p, st_tsc_expr **out) {
    st_status s;
    if ((s = expr(p, out))) return s;
    if (!is_op(p, ",")) return ST_OK;
    elist l = {0};
    if (!elist_add(p, &l, *out, NULL)) return st_error_nomem(p->err);
    while (accept(p, ",")) {
        if (cur(p)->k == T_NEWLINE || is_op(p, "=") || is_op(p, ":")) break;
        st_tsc_expr *e;
        if ((s = expr(p, &e))) return s;
        if (!elist_add(p, &l, e, NULL)) return st_error_nomem(p->err);
    }
    st_tsc_expr *t = mk(p, ST_TSC_TUPLE);
    if (!t) return st_error_nomem(p->err);
    t->n = l.n, t->args = l.v;
    *out = t;
    return ST_OK;
}

static st_status block(parser *p, st_tsc_block *b);
static st_status statement(parser *p, st_tsc_stmt **out);

static st_tsc_stmt *mks(parser *p, st_tsc_stmt_kind k) {
    st_tsc_stmt *st = st_arena_alloc(p->a, sizeof *st);
    if (st) {
        memset(st, 0, sizeof *st);
        st->kind = k;
        st->line = cur(p)->line;
    }
    return st;
}

/* ":" then either an indented block or statements on the same line. */
static st_status suite(parser *p, st_tsc_block *b) {
    st_status s;
    if ((s = expect(p, ":"))) return s;
    if (cur(p)->k != T_NEWLINE) {
        st_tsc_stmt *st;
        if ((s = statement(p, &st))) return s;
        if (!(b->s = st_arena_alloc(p->a, sizeof *b->s))) return st_error_nomem(p->err);
        b->s[0] = st, b->n = 1;
        return ST_OK;
    }
    p->pos++;
    if (cur(p)->k != T_INDENT) return perr(p, cur(p)->line, "expected an indented block", NULL);
    p->pos++;
    if (++p->depth > MAX_NEST) return perr(p, cur(p)->line, "blocks nested too deeply", NULL);
    s = block(p, b);
    p->depth--;
    if (s) return s;
    if (cur(p)->k != T_DEDENT) return perr(p, cur(p)->line, "expected a dedent", NULL);
    p->pos++;
    return ST_OK;
}

static st_status end_line(parser *p) {
    accept(p, ";");
    if (cur(p)->k == T_NEWLINE) {
        p->pos++;
        return ST_OK;
    }
    if (cur(p)->k == T_DEDENT || cur(p)->k == T_END) return ST_OK;
    return perr(p, cur(p)->line, "unexpected '%s' at the end of a statement",
                cur(p)->s ? cur(p)->s : "token");
}

static st_status def_stmt(parser *p, st_tsc_stmt *st) {
    st_status s;
    if (cur(p)->k != T_NAME) return perr(p, cur(p)->line, "expected a function name", NULL);
    st->s = cur(p)->s;
    p->pos++;
    if ((s = expect(p, "("))) return s;
    size_t cap = 0;
    while (!is_op(p, ")")) {
        if (accept(p, "*")) continue;
        if (cur(p)->k != T_NAME) return perr(p, cur(p)->line, "expected a parameter name", NULL);
        if (st->nparams == cap) {
            size_t nc = cap ? cap * 2 : 4;
            st_tsc_param *np = st_arena_alloc(p->a, nc * sizeof *np);
            if (!np) return st_error_nomem(p->err);
            if (st->nparams) memcpy(np, st->params, st->nparams * sizeof *np);
            st->params = np, cap = nc;
        }
        st_tsc_param *pa = &st->params[st->nparams++];
        memset(pa, 0, sizeof *pa);
        pa->name = cur(p)->s;
        p->pos++;
        if (accept(p, ":") && (s = expr(p, &pa->type))) return s;
        if (accept(p, "=") && (s = expr(p, &pa->deflt))) return s;
        if (!accept(p, ",")) break;
    }
    if ((s = expect(p, ")"))) return s;
    if (accept(p, "->") && (s = expr(p, &st->ret))) return s;
    return suite(p, &st->body);
}

static st_status statement(parser *p, st_tsc_stmt **out) {
    st_status s;
    st_tsc_stmt *st;
    tok *t = cur(p);
    if (t->k == T_NAME) {
        const char *k = t->s;
        if (!strcmp(k, "class")) {
            p->pos++;
            if (!(st = mks(p, ST_TSC_CLASS))) return st_error_nomem(p->err);
            if (cur(p)->k != T_NAME) return perr(p, cur(p)->line, "expected a class name", NULL);
            st->s = cur(p)->s;
            p->pos++;
            if (accept(p, "(")) {
                elist l = {0};
                bool tr;
                if ((s = items(p, ")", false, &l, &tr))) return s;
                st->nbases = l.n, st->bases = l.v;
            }
            if ((s = suite(p, &st->body))) return s;
            *out = st;
            return ST_OK;
        }
        if (!strcmp(k, "def")) {
            p->pos++;
            if (!(st = mks(p, ST_TSC_DEF))) return st_error_nomem(p->err);
            if ((s = def_stmt(p, st))) return s;
            *out = st;
            return ST_OK;
        }
        if (!strcmp(k, "if") || !strcmp(k, "elif") || !strcmp(k, "while")) {
            p->pos++;
            if (!(st = mks(p, k[0] == 'w' ? ST_TSC_WHILE : ST_TSC_IF)))
                return st_error_nomem(p->err);
            if ((s = expr(p, &st->value)) || (s = suite(p, &st->body))) return s;
            if (st->kind == ST_TSC_IF && is_kw(p, "elif")) {
                st_tsc_stmt *e;
                if ((s = statement(p, &e))) return s;
                if (!(st->orelse.s = st_arena_alloc(p->a, sizeof *st->orelse.s)))
                    return st_error_nomem(p->err);
                st->orelse.s[0] = e, st->orelse.n = 1;
            } else if (st->kind == ST_TSC_IF && is_kw(p, "else")) {
                p->pos++;
                if ((s = suite(p, &st->orelse))) return s;
            }
            *out = st;
            return ST_OK;
        }
        if (!strcmp(k, "for")) {
            p->pos++;
            if (!(st = mks(p, ST_TSC_FOR))) return st_error_nomem(p->err);
            elist l = {0};
            for (;;) { /* targets stop at 'in' */
                st_tsc_expr *e;
                if ((s = postfix(p, &e))) return s;
                if (!elist_add(p, &l, e, NULL)) return st_error_nomem(p->err);
                if (!accept(p, ",")) break;
            }
            if (l.n == 1) st->target = l.v[0];
            else {
                if (!(st->target = mk(p, ST_TSC_TUPLE))) return st_error_nomem(p->err);
                st->target->n = l.n, st->target->args = l.v;
            }
            if (!is_kw(p, "in")) return perr(p, cur(p)->line, "expected 'in'", NULL);
            p->pos++;
            if ((s = expr_list(p, &st->value)) || (s = suite(p, &st->body))) return s;
            *out = st;
            return ST_OK;
        }
        static const struct {
            const char *kw;
            st_tsc_stmt_kind kind;
        } simple[] = {
            {"pass", ST_TSC_PASS},     {"break", ST_TSC_BREAK}, {"continue", ST_TSC_CONTINUE},
            {"return", ST_TSC_RETURN}, {"raise", ST_TSC_RAISE}, {"assert", ST_TSC_ASSERT},
        };
        for (size_t i = 0; i < ST_ARRAY_LEN(simple); i++) {
            if (strcmp(k, simple[i].kw)) continue;
            p->pos++;
            if (!(st = mks(p, simple[i].kind))) return st_error_nomem(p->err);
            if (cur(p)->k != T_NEWLINE && cur(p)->k != T_DEDENT && !is_op(p, ";") &&
                simple[i].kind >= ST_TSC_RETURN) {
                if ((s = expr_list(p, &st->value))) return s;
                if (st->kind == ST_TSC_ASSERT && st->value->kind == ST_TSC_TUPLE &&
                    st->value->n == 2)
                    st->type = st->value->args[1], st->value = st->value->args[0];
            }
            if ((s = end_line(p))) return s;
            *out = st;
            return ST_OK;
        }
        if (!strcmp(k, "import") || !strcmp(k, "from")) {
            if (!(st = mks(p, ST_TSC_IMPORT))) return st_error_nomem(p->err);
            size_t len = 0;
            for (size_t q = p->pos; p->t[q].k != T_NEWLINE && p->t[q].k != T_END; q++)
                len += (p->t[q].s ? strlen(p->t[q].s) : 0) + 1;
            if (!(st->s = st_arena_alloc(p->a, len + 1))) return st_error_nomem(p->err);
            st->s[0] = 0;
            for (; cur(p)->k != T_NEWLINE && cur(p)->k != T_END; p->pos++) {
                tok *q = cur(p);
                if (*st->s && q->k == T_NAME && (p->t[p->pos - 1].k == T_NAME)) strcat(st->s, " ");
                if (q->s) strcat(st->s, q->s);
            }
            if ((s = end_line(p))) return s;
            *out = st;
            return ST_OK;
        }
    }
    st_tsc_expr *lhs;
    if ((s = expr_list(p, &lhs))) return s;
    if (accept(p, ":")) { /* declaration */
        if (!(st = mks(p, ST_TSC_DECL))) return st_error_nomem(p->err);
        st->target = lhs;
        if ((s = expr(p, &st->type))) return s;
        if (accept(p, "=") && (s = expr_list(p, &st->value))) return s;
    } else if (accept(p, "=")) {
        if (!(st = mks(p, ST_TSC_ASSIGN))) return st_error_nomem(p->err);
        st->target = lhs;
        if ((s = expr_list(p, &st->value))) return s;
        while (accept(p, "=")) { /* a = b = c: keep the last as value, chain not needed */
            return perr(p, cur(p)->line, "chained assignment is not supported", NULL);
        }
    } else if (cur(p)->k == T_OP && strlen(cur(p)->s) >= 2 &&
               cur(p)->s[strlen(cur(p)->s) - 1] == '=' && strcmp(cur(p)->s, "==") &&
               strcmp(cur(p)->s, "!=") && strcmp(cur(p)->s, "<=") && strcmp(cur(p)->s, ">=")) {
        if (!(st = mks(p, ST_TSC_ASSIGN))) return st_error_nomem(p->err);
        size_t ol = strlen(cur(p)->s) - 1;
        if (!(st->op = st_arena_alloc(p->a, ol + 1))) return st_error_nomem(p->err);
        memcpy(st->op, cur(p)->s, ol), st->op[ol] = 0;
        p->pos++;
        st->target = lhs;
        if ((s = expr_list(p, &st->value))) return s;
    } else {
        if (!(st = mks(p, ST_TSC_EXPR))) return st_error_nomem(p->err);
        st->value = lhs;
    }
    if ((s = end_line(p))) return s;
    *out = st;
    return ST_OK;
}

static st_status block(parser *p, st_tsc_block *b) {
    size_t cap = 0;
    while (cur(p)->k != T_DEDENT && cur(p)->k != T_END) {
        if (cur(p)->k == T_NEWLINE) {
            p->pos++;
            continue;
        }
        st_tsc_stmt *st;
        st_status s = statement(p, &st);
        if (s) return s;
        if (b->n == cap) {
            size_t nc = cap ? cap * 2 : 8;
            st_tsc_stmt **ns = st_arena_alloc(p->a, nc * sizeof *ns);
            if (!ns) return st_error_nomem(p->err);
            if (b->n) memcpy(ns, b->s, b->n * sizeof *ns);
            b->s = ns, cap = nc;
        }
        b->s[b->n++] = st;
    }
    return ST_OK;
}

st_status st_tsc_parse(const char *src, size_t n, st_arena *arena, const char *what,
                       st_tsc_file **out, st_error *err) {
    parser p;
    memset(&p, 0, sizeof p);
    p.a = arena;
    p.what = what ? what : "TorchScript source";
    p.err = err;
    st_tsc_file *f = st_arena_alloc(arena, sizeof *f);
    st_status s = f ? lex(&p, src, n) : st_error_nomem(err);
    if (!s) {
        memset(f, 0, sizeof *f);
        s = block(&p, &f->top);
        if (!s && cur(&p)->k != T_END) s = perr(&p, cur(&p)->line, "unexpected dedent", NULL);
    }
    st_free(p.t);
    if (s) return s;
    *out = f;
    return ST_OK;
}

const st_tsc_stmt *st_tsc_find_def(const st_tsc_block *b, const char *name) {
    for (size_t i = 0; i < b->n; i++)
        if (b->s[i]->kind == ST_TSC_DEF && !strcmp(b->s[i]->s, name)) return b->s[i];
    return NULL;
}

const st_tsc_stmt *st_tsc_find_class(const st_tsc_file *f, const char *name) {
    for (size_t i = 0; i < f->top.n; i++)
        if (f->top.s[i]->kind == ST_TSC_CLASS && !strcmp(f->top.s[i]->s, name)) return f->top.s[i];
    return NULL;
}

/* ---- printer ----------------------------------------------------------------------- */
static int prec(const st_tsc_expr *e) {
    if (e->kind == ST_TSC_IFEXP) return 0;
    if (e->kind == ST_TSC_UNOP) return !strcmp(e->s, "not") ? 3 : 11;
    if (e->kind != ST_TSC_BINOP) return 13;
    static const struct {
        const char *op;
        int p;
    } t[] = {
        {"or", 1},  {"and", 2}, {"<", 4},      {">", 4},   {"<=", 4},     {">=", 4}, {"==", 4},
        {"!=", 4},  {"is", 4},  {"is not", 4}, {"in", 4},  {"not in", 4}, {"|", 5},  {"^", 6},
        {"&", 7},   {"<<", 8},  {">>", 8},     {"+", 9},   {"-", 9},      {"*", 10}, {"/", 10},
        {"//", 10}, {"%", 10},  {"@", 10},     {"**", 12},
    };
    for (size_t i = 0; i < ST_ARRAY_LEN(t); i++)
        if (!strcmp(t[i].op, e->s)) return t[i].p;
    return 0;
}

static void pexpr(st_sb *b, const st_tsc_expr *e, int min);

static void pseq(st_sb *b, const st_tsc_expr *e, const char *open, const char *close,
                 bool trailing) {
    st_sb_puts(b, open);
    for (size_t i = 0; i < e->n; i++) {
        if (i) st_sb_puts(b, ", ");
        if (e->kw && e->kw[i]) st_sb_puts(b, e->kw[i]), st_sb_puts(b, "=");
        pexpr(b, e->args[i], 1);
    }
    if (trailing) st_sb_puts(b, ",");
    st_sb_puts(b, close);
}

static void pexpr(st_sb *b, const st_tsc_expr *e, int min) {
    char num[64];
    if (!e) return;
    int p = prec(e);
    if (p < min) st_sb_puts(b, "(");
    switch (e->kind) {
    case ST_TSC_NAME: st_sb_puts(b, e->s); break;
    case ST_TSC_INT: snprintf(num, sizeof num, "%" PRId64, e->i), st_sb_puts(b, num); break;
    case ST_TSC_FLOAT:
        snprintf(num, sizeof num, "%.17g", e->f);
        if (!strpbrk(num, ".eEn")) strcat(num, ".");
        st_sb_puts(b, num);
        break;
    case ST_TSC_STR:
        st_sb_puts(b, "\"");
        for (const char *c = e->s; *c; c++) {
            if (*c == '"' || *c == '\\') st_sb_put(b, "\\", 1);
            if (*c == '\n') st_sb_puts(b, "\\n");
            else st_sb_put(b, c, 1);
        }
        st_sb_puts(b, "\"");
        break;
    case ST_TSC_TRUE: st_sb_puts(b, "True"); break;
    case ST_TSC_FALSE: st_sb_puts(b, "False"); break;
    case ST_TSC_NONE: st_sb_puts(b, "None"); break;
    case ST_TSC_ATTR: pexpr(b, e->a, 13), st_sb_puts(b, "."), st_sb_puts(b, e->s); break;
    case ST_TSC_CALL: pexpr(b, e->a, 13), pseq(b, e, "(", ")", false); break;
    case ST_TSC_INDEX:
        pexpr(b, e->a, 13);
        st_sb_puts(b, "[");
        if (e->b->kind == ST_TSC_TUPLE)
            for (size_t i = 0; i < e->b->n; i++) {
                if (i) st_sb_puts(b, ", ");
                pexpr(b, e->b->args[i], 1);
            }
        else pexpr(b, e->b, 1);
        st_sb_puts(b, "]");
        break;
    case ST_TSC_SLICE:
        pexpr(b, e->args[0], 1), st_sb_puts(b, ":"), pexpr(b, e->args[1], 1);
        if (e->args[2]) st_sb_puts(b, ":"), pexpr(b, e->args[2], 1);
        break;
    case ST_TSC_TUPLE: pseq(b, e, "(", ")", e->n == 1); break;
    case ST_TSC_LIST: pseq(b, e, "[", "]", false); break;
    case ST_TSC_BINOP:
        pexpr(b, e->a, !strcmp(e->s, "**") ? p + 1 : p);
        st_sb_puts(b, " "), st_sb_puts(b, e->s), st_sb_puts(b, " ");
        pexpr(b, e->b, !strcmp(e->s, "**") ? p : p + 1);
        break;
    case ST_TSC_UNOP:
        st_sb_puts(b, e->s);
        if (!strcmp(e->s, "not")) st_sb_puts(b, " ");
        pexpr(b, e->a, p);
        break;
    case ST_TSC_IFEXP:
        pexpr(b, e->a, 1), st_sb_puts(b, " if "), pexpr(b, e->b, 1), st_sb_puts(b, " else "),
            pexpr(b, e->args[0], 0);
        break;
    default: break;
    }
    if (p < min) st_sb_puts(b, ")");
}

static void indent(st_sb *b, int d) {
    for (int i = 0; i < d; i++) st_sb_puts(b, "  ");
}

static void pblock(st_sb *b, const st_tsc_block *bl, int d);

static void ptarget(st_sb *b, const st_tsc_expr *t) {
    if (t->kind == ST_TSC_TUPLE)
        for (size_t i = 0; i < t->n; i++) {
            if (i) st_sb_puts(b, ", ");
            pexpr(b, t->args[i], 1);
        }
    else pexpr(b, t, 1);
}

static void pstmt(st_sb *b, const st_tsc_stmt *s, int d) {
    indent(b, d);
    switch (s->kind) {
    case ST_TSC_ASSIGN:
        ptarget(b, s->target);
        st_sb_puts(b, " "), st_sb_puts(b, s->op ? s->op : ""), st_sb_puts(b, "= ");
        ptarget(b, s->value);
        break;
    case ST_TSC_DECL:
        ptarget(b, s->target), st_sb_puts(b, " : "), pexpr(b, s->type, 1);
        if (s->value) st_sb_puts(b, " = "), ptarget(b, s->value);
        break;
    case ST_TSC_EXPR: ptarget(b, s->value); break;
    case ST_TSC_RETURN:
    case ST_TSC_RAISE:
    case ST_TSC_ASSERT:
        st_sb_puts(b, s->kind == ST_TSC_RETURN  ? "return"
                      : s->kind == ST_TSC_RAISE ? "raise"
                                                : "assert");
        if (s->value) st_sb_puts(b, " "), ptarget(b, s->value);
        if (s->type) st_sb_puts(b, ", "), pexpr(b, s->type, 1);
        break;
    case ST_TSC_IF:
    case ST_TSC_WHILE:
        st_sb_puts(b, s->kind == ST_TSC_IF ? "if " : "while "), pexpr(b, s->value, 0),
            st_sb_puts(b, ":\n");
        pblock(b, &s->body, d + 1);
        if (s->orelse.n) indent(b, d), st_sb_puts(b, "else:\n"), pblock(b, &s->orelse, d + 1);
        return;
    case ST_TSC_FOR:
        st_sb_puts(b, "for "), ptarget(b, s->target), st_sb_puts(b, " in "), ptarget(b, s->value),
            st_sb_puts(b, ":\n");
        pblock(b, &s->body, d + 1);
        return;
    case ST_TSC_PASS: st_sb_puts(b, "pass"); break;
    case ST_TSC_BREAK: st_sb_puts(b, "break"); break;
    case ST_TSC_CONTINUE: st_sb_puts(b, "continue"); break;
    case ST_TSC_IMPORT: st_sb_puts(b, s->s); break;
    case ST_TSC_DEF:
        st_sb_puts(b, "def "), st_sb_puts(b, s->s), st_sb_puts(b, "(");
        for (size_t i = 0; i < s->nparams; i++) {
            if (i) st_sb_puts(b, ",\n"), indent(b, d + 1);
            st_sb_puts(b, s->params[i].name);
            if (s->params[i].type) st_sb_puts(b, ": "), pexpr(b, s->params[i].type, 1);
            if (s->params[i].deflt) st_sb_puts(b, "="), pexpr(b, s->params[i].deflt, 1);
        }
        st_sb_puts(b, ")");
        if (s->ret) st_sb_puts(b, " -> "), pexpr(b, s->ret, 1);
        st_sb_puts(b, ":\n");
        pblock(b, &s->body, d + 1);
        return;
    case ST_TSC_CLASS:
        st_sb_puts(b, "class "), st_sb_puts(b, s->s);
        if (s->nbases) {
            st_sb_puts(b, "(");
            for (size_t i = 0; i < s->nbases; i++) {
                if (i) st_sb_puts(b, ", ");
                pexpr(b, s->bases[i], 1);
            }
            st_sb_puts(b, ")");
        }
        st_sb_puts(b, ":\n");
        pblock(b, &s->body, d + 1);
        return;
    default: break;
    }
    st_sb_puts(b, "\n");
}

static void pblock(st_sb *b, const st_tsc_block *bl, int d) {
    if (!bl->n) indent(b, d), st_sb_puts(b, "pass\n");
    for (size_t i = 0; i < bl->n; i++) pstmt(b, bl->s[i], d);
}

static st_status finish(st_sb *b, char **out, st_error *err) {
    char *s = st_sb_take(b);
    if (!s) return st_error_nomem(err);
    *out = s;
    return ST_OK;
}

st_status st_tsc_print(const st_tsc_file *f, char **out, st_error *err) {
    st_sb b = {0};
    for (size_t i = 0; i < f->top.n; i++) pstmt(&b, f->top.s[i], 0);
    return finish(&b, out, err);
}

st_status st_tsc_print_expr(const st_tsc_expr *e, char **out, st_error *err) {
    st_sb b = {0};
    pexpr(&b, e, 0);
    return finish(&b, out, err);
}
