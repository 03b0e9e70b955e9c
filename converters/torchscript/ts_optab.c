/* converters/torchscript/ts_optab.c: aten ops -> IR (ONNX opset 17) ops. One row per aten
 * name (in-place forms share it); each handler reads already-evaluated arguments and emits
 * nodes through the importer's sticky-error helpers. Semantics follow PyTorch's. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ts_internal.h"

/* After a helper failed: the importer's sticky status, the one every handler returns (an
 * internal error when the helper recorded none). */
static st_status sticky(st_ts_imp *im) {
    return im->st ? im->st : st_ts_fail(im, ST_ERR_INVALID, "internal: a step failed silently");
}

static const tv *arg(const tv *a, size_t n, size_t i) {
    return i < n && a[i].k != TV_MISSING && a[i].k != TV_NONE ? &a[i] : NULL;
}
#define ARG(i) arg(a, n, (i))

static st_status bad(st_ts_imp *im, const char *what) {
    return st_ts_fail(im, ST_ERR_UNSUPPORTED, "%s", what);
}

static int64_t I(const tv *v, int64_t def) {
    if (!v) return def;
    if ((v->k == TV_INT || v->k == TV_BOOL) && !v->sym) return v->i;
    if (v->k == TV_FLOAT && !v->sym) return (int64_t)v->f;
    return def;
}
static double F(const tv *v, double def) {
    if (!v) return def;
    if (v->k == TV_FLOAT && !v->sym) return v->f;
    if ((v->k == TV_INT || v->k == TV_BOOL) && !v->sym) return (double)v->i;
    return def;
}
static bool is_scalar(const tv *v) { return v->k == TV_INT || v->k == TV_FLOAT || v->k == TV_BOOL; }

static tv T1(st_ts_imp *im, int vi, int rank, st_dtype dt) {
    return st_ts_tensor(im, vi, rank, dt);
}

/* The constant tensor behind a value, if it is an initializer. */
static const st_tensor *konst(st_ts_imp *im, const tv *v) {
    if (!v || v->k != TV_TENSOR || !v->g) return NULL;
    int vi = v->vi;
    const st_graph *g = v->g;
    while (vi >= 0 && g->values[vi].role == ST_VALUE_OUTER) {
        vi = g->values[vi].outer_index;
        g = g->parent;
    }
    (void)im;
    return vi >= 0 && g->values[vi].has_const ? &g->values[vi].const_val : NULL;
}

/* Indexing dim d proves a rank of at least d + 1 (or -d for a negative d). */
static void needs_dim(st_ts_imp *im, const tv *x, int64_t d) {
    if (d < ST_MAX_RANK && d >= -ST_MAX_RANK) st_ts_rank_at_least(im, x, (int)(d < 0 ? -d : d + 1));
}

static int cast(st_ts_imp *im, int x, st_dtype to) {
    st_node *nd = st_ts_op(im, "Cast", 1, &x, 1, &x);
    st_ts_attr_i(im, nd, "to", to);
    return x;
}

static int unsq0(st_ts_imp *im, int x) { /* [x] from a scalar */
    int in[2] = {x, st_ts_const_i64(im, (int64_t[]){0}, 1, false)};
    return st_ts_op1(im, "Unsqueeze", 2, in);
}

static st_status reduce_min(st_ts_imp *im, tv *a, size_t n, tv *out);

/* ---- elementwise binary --------------------------------------------------------- */
typedef enum { B_ARITH, B_TRUEDIV, B_CMP, B_LOGIC } bkind;

static st_status binary(st_ts_imp *im, const tv *x, const tv *y, const char *op, bkind kind,
                        tv *out) {
    if (!x || !y) return bad(im, "missing operand");
    bool xs = x->k != TV_TENSOR, ys = y->k != TV_TENSOR;
    st_dtype dx = st_ts_dtype_of(x), dy = st_ts_dtype_of(y), dt;
    /* PyTorch promotion: dimensioned tensors win over scalars and 0-d tensors of the same
     * category; a float scalar lifts an integer tensor to the default float type. */
    int rx = st_ts_rank_of(im, x), ry = st_ts_rank_of(im, y);
    bool x_low = xs || rx == 0, y_low = ys || ry == 0;
    if (!dx && !xs) dx = ST_DTYPE_F32;
    if (!dy && !ys) dy = ST_DTYPE_F32;
    if (x_low && !y_low) dt = (st_dtype_is_float(dx) && !st_dtype_is_float(dy)) ? ST_DTYPE_F32 : dy;
    else if (y_low && !x_low)
        dt = (st_dtype_is_float(dy) && !st_dtype_is_float(dx)) ? ST_DTYPE_F32 : dx;
    else if (dx == dy) dt = dx;
    else if (st_dtype_is_float(dx) != st_dtype_is_float(dy)) dt = st_dtype_is_float(dx) ? dx : dy;
    else dt = st_dtype_size(dx) >= st_dtype_size(dy) ? dx : dy;
    if (xs && ys && !x->sym && !y->sym)
        dt = (x->k == TV_FLOAT || y->k == TV_FLOAT) ? ST_DTYPE_F32 : ST_DTYPE_I64;
    if (kind == B_TRUEDIV && !st_dtype_is_float(dt)) dt = ST_DTYPE_F32;
    if (kind == B_LOGIC) dt = ST_DTYPE_BOOL;
    int in[2] = {st_ts_as_tensor(im, x, dt), st_ts_as_tensor(im, y, dt)};
    if (!xs && st_ts_dtype_of(x) && st_ts_dtype_of(x) != dt) in[0] = cast(im, in[0], dt);
    if (!ys && st_ts_dtype_of(y) && st_ts_dtype_of(y) != dt) in[1] = cast(im, in[1], dt);
    int r = st_ts_op1(im, op, 2, in);
    int rank = rx < 0 || ry < 0 ? -1 : ST_MAX(rx, ry);
    st_dtype odt = kind == B_CMP || kind == B_LOGIC ? ST_DTYPE_BOOL : dt;
    *out = T1(im, r, rank, odt);
    if (rank < 0) st_ts_derive(out, rx < 0 ? x : y, 0);
    if (xs && ys) { /* scalar arithmetic stays a (symbolic) scalar */
        out->k = odt == ST_DTYPE_BOOL ? TV_BOOL : st_dtype_is_float(odt) ? TV_FLOAT : TV_INT;
        out->sym = true;
        if (out->k == TV_INT && odt != ST_DTYPE_I64)
            out->vi = cast(im, r, ST_DTYPE_I64), out->dt = ST_DTYPE_I64;
    }
    return im->st;
}

static bool fold2(const tv *x, const tv *y, char op, tv *out) {
    if (!x || !y || !is_scalar(x) || !is_scalar(y) || x->sym || y->sym) return false;
    bool fl = x->k == TV_FLOAT || y->k == TV_FLOAT || op == '/';
    double p = F(x, 0), q = F(y, 0);
    int64_t i = I(x, 0), j = I(y, 0);
    memset(out, 0, sizeof *out);
    out->vi = -1, out->rank = -1;
    switch (op) {
    case '+': fl ? (out->f = p + q) : (out->i = i + j); break;
    case '-': fl ? (out->f = p - q) : (out->i = i - j); break;
    case '*': fl ? (out->f = p * q) : (out->i = i * j); break;
    case '/': out->f = p / q; break;
    case '<': out->k = TV_BOOL, out->i = p < q; return true;
    case '>': out->k = TV_BOOL, out->i = p > q; return true;
    case 'l': out->k = TV_BOOL, out->i = p <= q; return true;
    case 'g': out->k = TV_BOOL, out->i = p >= q; return true;
    case '=': out->k = TV_BOOL, out->i = p == q; return true;
    case '!': out->k = TV_BOOL, out->i = p != q; return true;
    default: return false;
    }
    out->k = fl ? TV_FLOAT : TV_INT;
    return true;
}

static st_status scaled(st_ts_imp *im, const tv *y, const tv *alpha, tv *tmp) {
    if (!alpha || F(alpha, 1) == 1) {
        *tmp = *y;
        return ST_OK;
    }
    tv al = *alpha;
    return binary(im, y, &al, "Mul", B_ARITH, tmp);
}

static st_status op_add(st_ts_imp *im, tv *a, size_t n, tv *out) {
    if (ARG(0) && ARG(1) && !ARG(2) && fold2(ARG(0), ARG(1), '+', out)) return ST_OK;
    if (ARG(0) && (ARG(0)->k == TV_LIST) && ARG(1) && ARG(1)->k == TV_LIST)
        return bad(im, "list concatenation");
    tv y;
    if (scaled(im, ARG(1), ARG(2), &y)) return sticky(im);
    return binary(im, ARG(0), &y, "Add", B_ARITH, out);
}
static st_status op_sub(st_ts_imp *im, tv *a, size_t n, tv *out) {
    if (ARG(0) && ARG(1) && !ARG(2) && fold2(ARG(0), ARG(1), '-', out)) return ST_OK;
    tv y;
    if (scaled(im, ARG(1), ARG(2), &y)) return sticky(im);
    return binary(im, ARG(0), &y, "Sub", B_ARITH, out);
}
static st_status op_rsub(st_ts_imp *im, tv *a, size_t n, tv *out) {
    tv y;
    if (scaled(im, ARG(0), ARG(2), &y)) return sticky(im);
    return binary(im, ARG(1), &y, "Sub", B_ARITH, out);
}
static st_status op_mul(st_ts_imp *im, tv *a, size_t n, tv *out) {
    if (fold2(ARG(0), ARG(1), '*', out)) return ST_OK;
    return binary(im, ARG(0), ARG(1), "Mul", B_ARITH, out);
}
static st_status op_div(st_ts_imp *im, tv *a, size_t n, tv *out) {
    const tv *rm = ARG(2);
    if (!rm && fold2(ARG(0), ARG(1), '/', out)) return ST_OK;
    if (!rm) return binary(im, ARG(0), ARG(1), "Div", B_TRUEDIV, out);
    if (rm->k != TV_STR) return bad(im, "rounding_mode");
    tv q;
    bool integral =
        !st_dtype_is_float(st_ts_dtype_of(ARG(0))) && !st_dtype_is_float(st_ts_dtype_of(ARG(1)));
    if (binary(im, ARG(0), ARG(1), "Div", integral && !strcmp(rm->s, "trunc") ? B_ARITH : B_TRUEDIV,
               &q))
        return sticky(im);
    if (integral && !strcmp(rm->s, "trunc")) return *out = q, ST_OK;
    int x = st_ts_as_tensor(im, &q, ST_DTYPE_UNDEFINED);
    x = st_ts_op1(im, !strcmp(rm->s, "floor") ? "Floor" : "Floor", 1, &x);
    if (!strcmp(rm->s, "trunc")) { /* trunc(x) = sign(x) * floor(|x|) */
        int v = st_ts_as_tensor(im, &q, ST_DTYPE_UNDEFINED);
        int ab = st_ts_op1(im, "Abs", 1, &v), sg = st_ts_op1(im, "Sign", 1, &v);
        int fl = st_ts_op1(im, "Floor", 1, &ab);
        int m[2] = {sg, fl};
        x = st_ts_op1(im, "Mul", 2, m);
    }
    if (integral) x = cast(im, x, st_ts_dtype_of(ARG(0)) ? st_ts_dtype_of(ARG(0)) : ST_DTYPE_I64);
    *out = q;
    out->vi = x;
    out->g = NULL;
    *out = T1(im, x, q.rank, integral ? ST_DTYPE_I64 : q.dt);
    if (q.sym) out->k = q.k, out->sym = true;
    return ST_OK;
}
static st_status op_floor_divide(st_ts_imp *im, tv *a, size_t n, tv *out) {
    tv b[3] = {a[0], n > 1 ? a[1] : a[0]};
    b[2].k = TV_STR;
    b[2].s = "floor";
    if (st_ts_is_const_int(&b[0]) && st_ts_is_const_int(&b[1]) && b[1].i) {
        int64_t i = b[0].i, j = b[1].i;
        *out = b[0];
        out->i = i / j - ((i % j != 0) && ((i < 0) != (j < 0)));
        return ST_OK;
    }
    return op_div(im, b, 3, out);
}
static st_status op_remainder(st_ts_imp *im, tv *a, size_t n, tv *out) {
    bool fl =
        st_dtype_is_float(st_ts_dtype_of(ARG(0))) || st_dtype_is_float(st_ts_dtype_of(ARG(1)));
    if (binary(im, ARG(0), ARG(1), "Mod", B_ARITH, out)) return sticky(im);
    /* Mod with fmod=0 is Python's sign-of-divisor remainder; floats need fmod=1 plus a fix-up,
     * so express x - floor(x / y) * y instead */
    if (fl) {
        tv q, fq, p;
        if (binary(im, ARG(0), ARG(1), "Div", B_TRUEDIV, &q)) return sticky(im);
        int x = st_ts_as_tensor(im, &q, ST_DTYPE_UNDEFINED);
        fq = T1(im, st_ts_op1(im, "Floor", 1, &x), q.rank, q.dt);
        if (binary(im, &fq, ARG(1), "Mul", B_ARITH, &p) ||
            binary(im, ARG(0), &p, "Sub", B_ARITH, out))
            return sticky(im);
    }
    return ST_OK;
}
static st_status op_pow(st_ts_imp *im, tv *a, size_t n, tv *out) {
    return binary(im, ARG(0), ARG(1), "Pow", B_ARITH, out);
}
#define CMP(name, onnx, c)                                                \
    static st_status op_##name(st_ts_imp *im, tv *a, size_t n, tv *out) { \
        if (fold2(ARG(0), ARG(1), c, out)) return ST_OK;                  \
        return binary(im, ARG(0), ARG(1), onnx, B_CMP, out);              \
    }
CMP(lt, "Less", '<')
CMP(gt, "Greater", '>')
CMP(le, "LessOrEqual", 'l')
CMP(ge, "GreaterOrEqual", 'g')
CMP(eq, "Equal", '=')
static st_status op_ne(st_ts_imp *im, tv *a, size_t n, tv *out) {
    if (fold2(ARG(0), ARG(1), '!', out)) return ST_OK;
    if (binary(im, ARG(0), ARG(1), "Equal", B_CMP, out)) return sticky(im);
    int x = st_ts_as_tensor(im, out, ST_DTYPE_UNDEFINED);
    out->vi = st_ts_op1(im, "Not", 1, &x);
    out->g = NULL;
    tv r = T1(im, out->vi, out->rank, ST_DTYPE_BOOL);
    if (out->sym) r.k = out->k, r.sym = true;
    *out = r;
    return ST_OK;
}
static st_status op_logical_and(st_ts_imp *im, tv *a, size_t n, tv *out) {
    return binary(im, ARG(0), ARG(1), "And", B_LOGIC, out);
}
static st_status op_logical_or(st_ts_imp *im, tv *a, size_t n, tv *out) {
    return binary(im, ARG(0), ARG(1), "Or", B_LOGIC, out);
}
static st_status op_maximum(st_ts_imp *im, tv *a, size_t n, tv *out) {
    return binary(im, ARG(0), ARG(1), "Max", B_ARITH, out);
}
static st_status op_minimum(st_ts_imp *im, tv *a, size_t n, tv *out) {
    return binary(im, ARG(0), ARG(1), "Min", B_ARITH, out);
}

/* ---- unary ------------------------------------------------------------------------ */
static st_status unary(st_ts_imp *im, const tv *x, const char *op, tv *out) {
    if (!x) return bad(im, "missing operand");
    int v = st_ts_as_tensor(im, x, ST_DTYPE_UNDEFINED);
    *out = T1(im, st_ts_op1(im, op, 1, &v), st_ts_rank_of(im, x), st_ts_dtype_of(x));
    st_ts_derive(out, x, 0);
    if (x->k != TV_TENSOR) out->k = x->k, out->sym = true;
    return ST_OK;
}
#define UNARY(name, onnx)                                                 \
    static st_status op_##name(st_ts_imp *im, tv *a, size_t n, tv *out) { \
        return unary(im, ARG(0), onnx, out);                              \
    }
UNARY(relu, "Relu")
UNARY(sigmoid, "Sigmoid")
UNARY(tanh, "Tanh")
UNARY(exp, "Exp")
UNARY(log, "Log")
UNARY(sqrt, "Sqrt")
UNARY(abs, "Abs")
UNARY(erf, "Erf")
UNARY(floor, "Floor")
UNARY(ceil, "Ceil")
UNARY(sin, "Sin")
UNARY(cos, "Cos")
UNARY(reciprocal, "Reciprocal")
UNARY(hardswish, "HardSwish")
UNARY(sign, "Sign")
UNARY(logical_not, "Not")

static st_status op_neg(st_ts_imp *im, tv *a, size_t n, tv *out) {
    if (ARG(0) && !ARG(0)->sym && ARG(0)->k == TV_INT) return *out = a[0], out->i = -out->i, ST_OK;
    if (ARG(0) && !ARG(0)->sym && ARG(0)->k == TV_FLOAT)
        return *out = a[0], out->f = -out->f, ST_OK;
    return unary(im, ARG(0), "Neg", out);
}
static st_status op_rsqrt(st_ts_imp *im, tv *a, size_t n, tv *out) {
    tv s;
    if (unary(im, ARG(0), "Sqrt", &s)) return sticky(im);
    return unary(im, &s, "Reciprocal", out);
}
static st_status op_silu(st_ts_imp *im, tv *a, size_t n, tv *out) {
    tv s;
    if (unary(im, ARG(0), "Sigmoid", &s)) return sticky(im);
    return binary(im, ARG(0), &s, "Mul", B_ARITH, out);
}
static st_status op_hardsigmoid(st_ts_imp *im, tv *a, size_t n, tv *out) {
    if (unary(im, ARG(0), "HardSigmoid", out)) return sticky(im);
    /* the node just made is the last one of the current graph */
    return ST_OK;
}
static st_status op_gelu(st_ts_imp *im, tv *a, size_t n, tv *out) {
    const tv *x = ARG(0), *ap = ARG(1);
    if (!x) return bad(im, "gelu without input");
    st_dtype dt = st_ts_dtype_of(x) ? st_ts_dtype_of(x) : ST_DTYPE_F32;
    int v = st_ts_as_tensor(im, x, ST_DTYPE_UNDEFINED), inner;
    if (ap && ap->k == TV_STR &&
        !strcmp(ap->s, "tanh")) { /* tanh(sqrt(2/pi) * (x + 0.044715 x^3)) */
        int m1[2] = {v, v}, x2 = st_ts_op1(im, "Mul", 2, m1);
        int m2[2] = {x2, v}, x3 = st_ts_op1(im, "Mul", 2, m2);
        int m3[2] = {x3, st_ts_const_f(im, dt, 0.044715)}, t = st_ts_op1(im, "Mul", 2, m3);
        int s1[2] = {v, t}, u = st_ts_op1(im, "Add", 2, s1);
        int m4[2] = {u, st_ts_const_f(im, dt, sqrt(2.0 / M_PI))}, w = st_ts_op1(im, "Mul", 2, m4);
        inner = st_ts_op1(im, "Tanh", 1, &w);
    } else {
        int d[2] = {v, st_ts_const_f(im, dt, M_SQRT2)}, q = st_ts_op1(im, "Div", 2, d);
        inner = st_ts_op1(im, "Erf", 1, &q);
    }
    int p[2] = {inner, st_ts_const_f(im, dt, 1.0)}, one = st_ts_op1(im, "Add", 2, p);
    int h[2] = {v, st_ts_const_f(im, dt, 0.5)}, hx = st_ts_op1(im, "Mul", 2, h);
    int r[2] = {hx, one};
    *out = T1(im, st_ts_op1(im, "Mul", 2, r), st_ts_rank_of(im, x), dt);
    st_ts_derive(out, x, 0);
    return ST_OK;
}
static st_status clip(st_ts_imp *im, const tv *x, const tv *lo, const tv *hi, tv *out) {
    st_dtype dt = st_ts_dtype_of(x) ? st_ts_dtype_of(x) : ST_DTYPE_F32;
    int in[3] = {st_ts_as_tensor(im, x, ST_DTYPE_UNDEFINED), lo ? st_ts_as_tensor(im, lo, dt) : -1,
                 hi ? st_ts_as_tensor(im, hi, dt) : -1};
    *out = T1(im, st_ts_op1(im, "Clip", 3, in), st_ts_rank_of(im, x), dt);
    return ST_OK;
}
static st_status op_hardtanh(st_ts_imp *im, tv *a, size_t n, tv *out) {
    tv lo = {.k = TV_FLOAT, .f = F(ARG(1), -1)}, hi = {.k = TV_FLOAT, .f = F(ARG(2), 1)};
    return clip(im, ARG(0), &lo, &hi, out);
}
static st_status op_relu6(st_ts_imp *im, tv *a, size_t n, tv *out) {
    tv lo = {.k = TV_FLOAT, .f = 0}, hi = {.k = TV_FLOAT, .f = 6};
    return clip(im, ARG(0), &lo, &hi, out);
}
static st_status op_clamp(st_ts_imp *im, tv *a, size_t n, tv *out) {
    return clip(im, ARG(0), ARG(1), ARG(2), out);
}
static st_status op_leaky_relu(st_ts_imp *im, tv *a, size_t n, tv *out) {
    if (unary(im, ARG(0), "LeakyRelu", out)) return sticky(im);
    (void)F;
    return ST_OK;
}
static st_status op_elu(st_ts_imp *im, tv *a, size_t n, tv *out) {
    if (F(ARG(2), 1) != 1 || F(ARG(3), 1) != 1) return bad(im, "elu with scale");
    return unary(im, ARG(0), "Elu", out);
}
static st_status op_softplus(st_ts_imp *im, tv *a, size_t n, tv *out) {
    if (F(ARG(1), 1) != 1) return bad(im, "softplus with beta != 1");
    return unary(im, ARG(0), "Softplus", out);
}

/* attribute-carrying unaries need the attribute set on the node just emitted */
static st_node *last_node(st_ts_imp *im, const tv *out);
static st_status op_round(st_ts_imp *im, tv *a, size_t n, tv *out) {
    return unary(im, ARG(0), "Round", out);
}

/* ---- shapes and views ------------------------------------------------------------- */
static st_status op_size(st_ts_imp *im, tv *a, size_t n, tv *out) {
    const tv *x = ARG(0);
    if (!x) return bad(im, "size()");
    int v = st_ts_as_tensor(im, x, ST_DTYPE_UNDEFINED);
    int sh = st_ts_op1(im, "Shape", 1, &v);
    if (!ARG(1)) {
        int r = st_ts_rank(im, x, "size()");
        if (r < 0) return im->st;
        tv l = {.k = TV_LIST, .n = (size_t)r, .rank = -1};
        if (!(l.items = st_ts_alloc_items(im, (size_t)r))) return sticky(im);
        for (int i = 0; i < r; i++) {
            int g[2] = {sh, st_ts_const_i64(im, (int64_t[]){i}, 1, true)};
            l.items[i] = T1(im, st_ts_op1(im, "Gather", 2, g), 0, ST_DTYPE_I64);
            l.items[i].k = TV_INT, l.items[i].sym = true;
        }
        *out = l;
        return ST_OK;
    }
    if (I(ARG(1), 0) >= 0) st_ts_rank_at_least(im, x, (int)I(ARG(1), 0) + 1);
    if (!st_ts_dim_ok(im, x, I(ARG(1), 0))) return sticky(im);
    int g[2] = {sh, st_ts_const_i64(im, (int64_t[]){I(ARG(1), 0)}, 1, true)};
    *out = T1(im, st_ts_op1(im, "Gather", 2, g), 0, ST_DTYPE_I64);
    out->k = TV_INT, out->sym = true;
    return ST_OK;
}
static st_status op_identity(st_ts_imp *im, tv *a, size_t n, tv *out) {
    (void)im;
    if (!n) return sticky(im);
    *out = a[0];
    return ST_OK;
}
static st_status op_reshape(st_ts_imp *im, tv *a, size_t n, tv *out) {
    const tv *x = ARG(0), *s = ARG(1);
    if (!x || !s) return bad(im, "reshape arguments");
    int in[2] = {st_ts_as_tensor(im, x, ST_DTYPE_UNDEFINED), st_ts_as_tensor(im, s, ST_DTYPE_I64)};
    int rank = s->k == TV_LIST || s->k == TV_TUPLE ? (int)s->n : -1;
    *out = T1(im, st_ts_op1(im, "Reshape", 2, in), rank, st_ts_dtype_of(x));
    return ST_OK;
}
static st_status op_flatten(st_ts_imp *im, tv *a, size_t n, tv *out) {
    const tv *x = ARG(0);
    int64_t s = I(ARG(1), 0), e = I(ARG(2), -1);
    if (x) needs_dim(im, x, s), needs_dim(im, x, e);
    int r = s < 0 || e < 0 ? st_ts_rank(im, x, "flatten with negative dims") : st_ts_rank_of(im, x);
    if (r >= 0) {
        if (s < 0) s += r;
        if (e < 0) e += r;
        if (r == 0) s = e = 0;
    }
    if (s < 0 || e < 0) return st_ts_fail(im, ST_ERR_UNSUPPORTED, "flatten with negative dims");
    if (!st_ts_dim_ok(im, x, s) || !st_ts_dim_ok(im, x, e)) return sticky(im);
    int v = st_ts_as_tensor(im, x, ST_DTYPE_UNDEFINED);
    int sh = st_ts_op1(im, "Shape", 1, &v);
    int head[4] = {sh, st_ts_const_i64(im, (int64_t[]){0}, 1, false),
                   st_ts_const_i64(im, (int64_t[]){s}, 1, false)};
    int parts[3] = {st_ts_op1(im, "Slice", 3, head),
                    st_ts_const_i64(im, (int64_t[]){-1}, 1, false)};
    int np = 2;
    if (r < 0 || e + 1 < r) {
        int tail[3] = {sh, st_ts_const_i64(im, (int64_t[]){e + 1}, 1, false),
                       st_ts_const_i64(im, (int64_t[]){INT64_MAX}, 1, false)};
        parts[np++] = st_ts_op1(im, "Slice", 3, tail);
    }
    int shape;
    st_node *c = st_ts_op(im, "Concat", np, parts, 1, &shape);
    st_ts_attr_i(im, c, "axis", 0);
    int in[2] = {v, shape};
    *out = T1(im, st_ts_op1(im, "Reshape", 2, in), r >= 0 ? (int)(r - (e - s)) : -1,
              st_ts_dtype_of(x));
    return ST_OK;
}
static st_status op_permute(st_ts_imp *im, tv *a, size_t n, tv *out) {
    int64_t p[ST_MAX_RANK];
    size_t k;
    if (!ARG(0) || !ARG(1) || !st_ts_ints(ARG(1), p, ST_MAX_RANK, &k))
        return bad(im, "permute needs constant dims");
    if (st_ts_rank_of(im, ARG(0)) >= 0 && st_ts_rank_of(im, ARG(0)) != (int)k)
        return st_ts_dim_ok(im, ARG(0), st_ts_rank_of(im, ARG(0))), sticky(im);
    for (size_t i = 0; i < k; i++)
        if (p[i] < 0) p[i] += (int64_t)k;
    int v = st_ts_as_tensor(im, ARG(0), ST_DTYPE_UNDEFINED), r;
    st_node *nd = st_ts_op(im, "Transpose", 1, &v, 1, &r);
    st_ts_attr_is(im, nd, "perm", p, k);
    *out = T1(im, r, (int)k, st_ts_dtype_of(ARG(0)));
    st_ts_derive(out, ARG(0), 0);
    return ST_OK;
}
static st_status transpose_dims(st_ts_imp *im, const tv *x, int64_t d0, int64_t d1, tv *out) {
    needs_dim(im, x, d0), needs_dim(im, x, d1);
    if (d0 >= 0 && d1 >= 0 && d0 < ST_MAX_RANK && d1 < ST_MAX_RANK && x->k == TV_TENSOR && x->org &&
        st_ts_rank_of(im, x) < 0) { /* the perm waits for the input's rank */
        int v = st_ts_as_tensor(im, x, ST_DTYPE_UNDEFINED), o;
        st_ts_swap_later(im, st_ts_op(im, "Transpose", 1, &v, 1, &o), x, d0, d1);
        *out = T1(im, o, -1, st_ts_dtype_of(x));
        st_ts_derive(out, x, 0);
        return im->st;
    }
    int r = st_ts_rank(im, x, "transpose");
    if (r < 0) return im->st;
    if (!st_ts_dim_ok(im, x, d0) || !st_ts_dim_ok(im, x, d1)) return sticky(im);
    if (d0 < 0) d0 += r;
    if (d1 < 0) d1 += r;
    int64_t p[ST_MAX_RANK];
    for (int i = 0; i < r; i++) p[i] = i;
    p[d0] = d1, p[d1] = d0;
    int v = st_ts_as_tensor(im, x, ST_DTYPE_UNDEFINED), o;
    st_node *nd = st_ts_op(im, "Transpose", 1, &v, 1, &o);
    st_ts_attr_is(im, nd, "perm", p, (size_t)r);
    *out = T1(im, o, r, st_ts_dtype_of(x));
    st_ts_derive(out, x, 0);
    return ST_OK;
}
static st_status op_transpose(st_ts_imp *im, tv *a, size_t n, tv *out) {
    return transpose_dims(im, ARG(0), I(ARG(1), 0), I(ARG(2), 1), out);
}
static st_status op_t(st_ts_imp *im, tv *a, size_t n, tv *out) {
    if (st_ts_rank_of(im, ARG(0)) < 2) return *out = a[0], ST_OK;
    return transpose_dims(im, ARG(0), 0, 1, out);
}
static st_status op_unsqueeze(st_ts_imp *im, tv *a, size_t n, tv *out) {
    int64_t d = I(ARG(1), 0);
    int r = st_ts_rank_of(im, ARG(0));
    if (d < 0 && r >= 0) d += r + 1;
    int in[2] = {st_ts_as_tensor(im, ARG(0), ST_DTYPE_UNDEFINED),
                 st_ts_const_i64(im, &d, 1, false)};
    *out = T1(im, st_ts_op1(im, "Unsqueeze", 2, in), r >= 0 ? r + 1 : -1, st_ts_dtype_of(ARG(0)));
    st_ts_derive(out, ARG(0), 1);
    return ST_OK;
}
static st_status op_squeeze(st_ts_imp *im, tv *a, size_t n, tv *out) {
    int r = st_ts_rank_of(im, ARG(0));
    int in[2] = {st_ts_as_tensor(im, ARG(0), ST_DTYPE_UNDEFINED), -1};
    if (ARG(1)) {
        /* torch squeezes the dim only when it is 1; ONNX fails otherwise: assume traced shapes */
        int64_t d = I(ARG(1), 0);
        in[1] = st_ts_const_i64(im, &d, 1, false);
    }
    *out = T1(im, st_ts_op1(im, "Squeeze", ARG(1) ? 2 : 1, in), ARG(1) && r > 0 ? r - 1 : -1,
              st_ts_dtype_of(ARG(0)));
    if (ARG(1)) st_ts_derive(out, ARG(0), -1);
    return ST_OK;
}
static st_status op_select(st_ts_imp *im, tv *a, size_t n, tv *out) {
    if (!st_ts_dim_ok(im, ARG(0), I(ARG(1), 0))) return sticky(im);
    int in[2] = {st_ts_as_tensor(im, ARG(0), ST_DTYPE_UNDEFINED),
                 st_ts_as_tensor(im, ARG(2), ST_DTYPE_I64)};
    st_node *nd;
    int r;
    if (!(nd = st_ts_op(im, "Gather", 2, in, 1, &r))) return sticky(im);
    st_ts_attr_i(im, nd, "axis", I(ARG(1), 0));
    int rk = st_ts_rank_of(im, ARG(0));
    *out = T1(im, r, rk > 0 ? rk - 1 : -1, st_ts_dtype_of(ARG(0)));
    if (I(ARG(1), 0) >= 0) st_ts_rank_at_least(im, ARG(0), (int)I(ARG(1), 0) + 1);
    st_ts_derive(out, ARG(0), -1);
    return ST_OK;
}
static st_status op_slice(st_ts_imp *im, tv *a, size_t n, tv *out) {
    const tv *x = ARG(0);
    if (x && (x->k == TV_LIST || x->k == TV_TUPLE)) { /* list slice(l, start, end, step) */
        int64_t len = (int64_t)x->n, s0 = I(ARG(1), 0), e0 = I(ARG(2), len), st = I(ARG(3), 1);
        if (st != 1) return bad(im, "list slice with a step");
        if (s0 < 0) s0 += len;
        if (e0 < 0) e0 += len;
        s0 = ST_MAX(0, ST_MIN(s0, len)), e0 = ST_MAX(s0, ST_MIN(e0, len));
        *out = *x;
        out->items = x->items + s0;
        out->n = (size_t)(e0 - s0);
        return ST_OK;
    }
    int64_t dim = I(ARG(1), 0), step = I(ARG(4), 1);
    if (!st_ts_dim_ok(im, x, dim)) return sticky(im);
    if (ARG(2) == NULL && ARG(3) == NULL && step == 1) return *out = *x, ST_OK;
    if (st_ts_is_const_int(ARG(2) ? ARG(2) : &(tv){.k = TV_INT}) && I(ARG(2), 0) == 0 && ARG(3) &&
        st_ts_is_const_int(ARG(3)) && ARG(3)->i == INT64_MAX && step == 1)
        return *out = *x, ST_OK; /* x[:] */
    tv zero = {.k = TV_INT, .i = 0}, big = {.k = TV_INT, .i = INT64_MAX};
    const tv *st = ARG(2) ? ARG(2) : &zero, *en = ARG(3) ? ARG(3) : &big;
    int s = st_ts_is_const_int(st) ? st_ts_const_i64(im, &st->i, 1, false)
                                   : unsq0(im, st_ts_as_tensor(im, st, ST_DTYPE_I64));
    int e = st_ts_is_const_int(en) ? st_ts_const_i64(im, &en->i, 1, false)
                                   : unsq0(im, st_ts_as_tensor(im, en, ST_DTYPE_I64));
    int in[5] = {st_ts_as_tensor(im, x, ST_DTYPE_UNDEFINED), s, e,
                 st_ts_const_i64(im, &dim, 1, false), st_ts_const_i64(im, &step, 1, false)};
    *out = T1(im, st_ts_op1(im, "Slice", 5, in), st_ts_rank_of(im, x), st_ts_dtype_of(x));
    if (dim >= 0) st_ts_rank_at_least(im, x, (int)dim + 1);
    st_ts_derive(out, x, 0);
    return ST_OK;
}
/* range(lo, hi, step) as TorchScript prints it: range(__range_length(lo, hi, step)) with
 * i = __derive_index(k, lo, step). */
static st_status op_range_length(st_ts_imp *im, tv *a, size_t n, tv *out) {
    const tv *lo = ARG(0), *hi = ARG(1), *st = ARG(2);
    if (!lo || !hi || !st || !st_ts_is_const_int(st) || st->i == 0)
        return bad(im, "__range_length needs a nonzero constant step");
    int64_t step = st->i;
    memset(out, 0, sizeof *out);
    out->vi = -1, out->rank = -1;
    if (st_ts_is_const_int(lo) && st_ts_is_const_int(hi)) {
        int64_t cnt =
            step > 0 ? (hi->i - lo->i + step - 1) / step : (lo->i - hi->i - step - 1) / -step;
        out->k = TV_INT, out->i = cnt > 0 ? cnt : 0;
        return ST_OK;
    }
    int d[2] = {st_ts_as_tensor(im, hi, ST_DTYPE_I64), st_ts_as_tensor(im, lo, ST_DTYPE_I64)};
    int diff = st_ts_op1(im, "Sub", 2, d);
    int adj[2] = {diff, st_ts_const_i64(im, &(int64_t){step - (step > 0 ? 1 : -1)}, 1, true)};
    int num = st_ts_op1(im, "Add", 2, adj);
    int dv[2] = {num, st_ts_const_i64(im, &step, 1, true)};
    int q = st_ts_op1(im, "Div", 2,
                      dv); /* truncation is exact: num has step's sign or the count is <= 0 */
    int mx[2] = {q, st_ts_const_i64(im, &(int64_t){0}, 1, true)};
    *out = T1(im, st_ts_op1(im, "Max", 2, mx), 0, ST_DTYPE_I64);
    out->k = TV_INT, out->sym = true;
    return ST_OK;
}
static st_status op_derive_index(st_ts_imp *im, tv *a, size_t n, tv *out) {
    tv prod;
    tv m[2] = {a[0], n > 2 ? a[2] : a[0]};
    if (n < 3) return bad(im, "__derive_index arguments");
    if (op_mul(im, m, 2, &prod)) return sticky(im);
    tv s2[2] = {n > 1 ? a[1] : a[0], prod};
    return op_add(im, s2, 2, out);
}
static st_status op_len(st_ts_imp *im, tv *a, size_t n, tv *out) {
    const tv *x = ARG(0);
    if (x && (x->k == TV_LIST || x->k == TV_TUPLE)) {
        memset(out, 0, sizeof *out);
        out->k = TV_INT, out->i = (int64_t)x->n, out->vi = -1, out->rank = -1;
        return ST_OK;
    }
    tv b[2] = {a[0], {.k = TV_INT, .i = 0}};
    return op_size(im, b, 2, out);
}
static st_status op_dim(st_ts_imp *im, tv *a, size_t n, tv *out) {
    int r = ARG(0) ? st_ts_rank(im, ARG(0), "dim()") : -1;
    if (r < 0) return st_ts_fail(im, ST_ERR_UNSUPPORTED, "dim() of nothing");
    memset(out, 0, sizeof *out);
    out->k = TV_INT, out->i = r, out->vi = -1, out->rank = -1;
    return ST_OK;
}
static st_status op_shape_as_tensor(st_ts_imp *im, tv *a, size_t n, tv *out) {
    int v = st_ts_as_tensor(im, ARG(0), ST_DTYPE_UNDEFINED);
    *out = T1(im, st_ts_op1(im, "Shape", 1, &v), 1, ST_DTYPE_I64);
    return ST_OK;
}
static st_status op_numel(st_ts_imp *im, tv *a, size_t n, tv *out) {
    int v = st_ts_as_tensor(im, ARG(0), ST_DTYPE_UNDEFINED);
    *out = T1(im, st_ts_op1(im, "Size", 1, &v), 0, ST_DTYPE_I64);
    out->k = TV_INT, out->sym = true;
    return ST_OK;
}
static st_status op_tensor(st_ts_imp *im, tv *a, size_t n, tv *out) {
    const tv *x = ARG(0);
    if (!x || (x->k != TV_INT && x->k != TV_FLOAT && x->k != TV_BOOL))
        return bad(im, "tensor() of a non-scalar");
    st_dtype dt = ARG(1) ? st_ts_dtype_from_torch(I(ARG(1), 6)) : st_ts_dtype_of(x);
    if (x->k == TV_FLOAT && !ARG(1)) dt = ST_DTYPE_F32;
    int v = st_ts_as_tensor(im, x, dt);
    if (x->sym && st_ts_dtype_of(x) != dt) v = cast(im, v, dt);
    *out = T1(im, v, 0, dt);
    return ST_OK;
}
static st_status op_index_select(st_ts_imp *im, tv *a, size_t n, tv *out) {
    int in[2] = {st_ts_as_tensor(im, ARG(0), ST_DTYPE_UNDEFINED),
                 st_ts_as_tensor(im, ARG(2), ST_DTYPE_I64)},
        r;
    st_node *nd = st_ts_op(im, "Gather", 2, in, 1, &r);
    st_ts_attr_i(im, nd, "axis", I(ARG(1), 0));
    *out = T1(im, r, st_ts_rank_of(im, ARG(0)), st_ts_dtype_of(ARG(0)));
    return ST_OK;
}
static st_status op_constant_pad_nd(st_ts_imp *im, tv *a, size_t n, tv *out) {
    int64_t p[2 * ST_MAX_RANK], pads[2 * ST_MAX_RANK], ax[ST_MAX_RANK];
    size_t k;
    if (!st_ts_ints(ARG(1), p, 2 * ST_MAX_RANK, &k) || k % 2)
        return bad(im, "constant_pad_nd needs constant pads");
    size_t m = k / 2; /* torch lists the last dim first: (l_last, r_last, l_prev, r_prev, ...) */
    for (size_t i = 0; i < m; i++) {
        ax[i] = -(int64_t)(i + 1);
        pads[i] = p[2 * i], pads[i + m] = p[2 * i + 1];
    }
    st_dtype dt = st_ts_dtype_of(ARG(0)) ? st_ts_dtype_of(ARG(0)) : ST_DTYPE_F32;
    int in[4] = {st_ts_as_tensor(im, ARG(0), ST_DTYPE_UNDEFINED),
                 st_ts_const_i64(im, pads, k, false), st_ts_const_f(im, dt, F(ARG(2), 0)),
                 st_ts_const_i64(im, ax, m, false)};
    *out = T1(im, st_ts_op1(im, "Pad", 4, in), st_ts_rank_of(im, ARG(0)), dt);
    return ST_OK;
}
static st_status op_amin(st_ts_imp *im, tv *a, size_t n, tv *out) {
    return reduce_min(im, a, n, out);
}
static st_status op_split(st_ts_imp *im, tv *a, size_t n, tv *out) {
    int64_t sz[8];
    size_t k;
    if (!st_ts_ints(ARG(1), sz, 8, &k) || ARG(1)->k == TV_INT)
        return bad(im, "split needs a constant list of sizes");
    int in[2] = {st_ts_as_tensor(im, ARG(0), ST_DTYPE_UNDEFINED),
                 st_ts_const_i64(im, sz, k, false)},
        o[8];
    st_node *nd = st_ts_op(im, "Split", 2, in, (int)k, o);
    st_ts_attr_i(im, nd, "axis", I(ARG(2), 0));
    tv l = {.k = TV_LIST, .n = k, .rank = -1};
    if (!(l.items = st_ts_alloc_items(im, k))) return sticky(im);
    for (size_t i = 0; i < k; i++)
        l.items[i] = T1(im, o[i], st_ts_rank_of(im, ARG(0)), st_ts_dtype_of(ARG(0)));
    *out = l;
    return ST_OK;
}
static st_status op_split_with_sizes(st_ts_imp *im, tv *a, size_t n, tv *out) {
    const tv *sz = ARG(1);
    if (!sz || (sz->k != TV_LIST && sz->k != TV_TUPLE) || !sz->n || sz->n > 8)
        return bad(im, "split_with_sizes needs a list of up to 8 sizes");
    size_t k = sz->n;
    int in[2] = {st_ts_as_tensor(im, ARG(0), ST_DTYPE_UNDEFINED),
                 st_ts_as_tensor(im, sz, ST_DTYPE_I64)},
        o[8];
    st_node *nd = st_ts_op(im, "Split", 2, in, (int)k, o);
    st_ts_attr_i(im, nd, "axis", I(ARG(2), 0));
    tv l = {.k = TV_LIST, .n = k, .rank = -1};
    if (!(l.items = st_ts_alloc_items(im, k))) return sticky(im);
    for (size_t i = 0; i < k; i++) {
        l.items[i] = T1(im, o[i], st_ts_rank_of(im, ARG(0)), st_ts_dtype_of(ARG(0)));
        st_ts_derive(&l.items[i], ARG(0), 0);
    }
    *out = l;
    return ST_OK;
}
static st_status op_logical_xor(st_ts_imp *im, tv *a, size_t n, tv *out) {
    return binary(im, ARG(0), ARG(1), "Xor", B_LOGIC, out);
}
static st_status op_fmod(st_ts_imp *im, tv *a, size_t n, tv *out) {
    if (binary(im, ARG(0), ARG(1), "Mod", B_ARITH, out)) return sticky(im);
    st_ts_attr_i(im, last_node(im, out), "fmod", 1);
    return ST_OK;
}

static st_status op_cat(st_ts_imp *im, tv *a, size_t n, tv *out) {
    const tv *l = ARG(0);
    if (!l || (l->k != TV_LIST && l->k != TV_TUPLE) || !l->n || l->n > 64)
        return bad(im, "cat of a non-list");
    if (l->n == 1) return *out = l->items[0], ST_OK;
    int in[64], r;
    for (size_t i = 0; i < l->n; i++) in[i] = st_ts_as_tensor(im, &l->items[i], ST_DTYPE_UNDEFINED);
    st_node *nd = st_ts_op(im, "Concat", (int)l->n, in, 1, &r);
    st_ts_attr_i(im, nd, "axis", I(ARG(1), 0));
    *out = T1(im, r, st_ts_rank_of(im, &l->items[0]), st_ts_dtype_of(&l->items[0]));
    st_ts_derive(out, &l->items[0], 0);
    return ST_OK;
}
static st_status op_stack(st_ts_imp *im, tv *a, size_t n, tv *out) {
    const tv *l = ARG(0);
    if (!l || (l->k != TV_LIST && l->k != TV_TUPLE) || !l->n || l->n > 64)
        return bad(im, "stack of a non-list");
    int64_t d = I(ARG(1), 0);
    if (d < -1) needs_dim(im, &l->items[0], d + 1); /* stack's dim indexes the result */
    int r0 = d < 0 ? st_ts_rank(im, &l->items[0], "stack with a negative dim")
                   : st_ts_rank_of(im, &l->items[0]);
    if (d < 0) {
        if (r0 < 0) return im->st;
        d += r0 + 1;
    }
    int in[64], r;
    for (size_t i = 0; i < l->n; i++) {
        int u[2] = {st_ts_as_tensor(im, &l->items[i], ST_DTYPE_UNDEFINED),
                    st_ts_const_i64(im, &d, 1, false)};
        in[i] = st_ts_op1(im, "Unsqueeze", 2, u);
    }
    st_node *nd = st_ts_op(im, "Concat", (int)l->n, in, 1, &r);
    st_ts_attr_i(im, nd, "axis", d);
    *out = T1(im, r, r0 >= 0 ? r0 + 1 : -1, st_ts_dtype_of(&l->items[0]));
    return ST_OK;
}
static st_status op_chunk(st_ts_imp *im, tv *a, size_t n, tv *out) {
    int64_t k = I(ARG(1), 0);
    if (k < 1 || k > 8) return bad(im, "chunk into more than 8 pieces");
    int v = st_ts_as_tensor(im, ARG(0), ST_DTYPE_UNDEFINED), o[8];
    st_node *nd = st_ts_op(im, "Split", 1, &v, (int)k, o);
    st_ts_attr_i(im, nd, "axis", I(ARG(2), 0));
    tv l = {.k = TV_TUPLE, .n = (size_t)k, .rank = -1};
    if (!(l.items = st_ts_alloc_items(im, (size_t)k))) return sticky(im);
    for (int i = 0; i < k; i++)
        l.items[i] = T1(im, o[i], st_ts_rank_of(im, ARG(0)), st_ts_dtype_of(ARG(0)));
    *out = l;
    return ST_OK;
}
static st_status op_expand(st_ts_imp *im, tv *a, size_t n, tv *out) {
    const tv *x = ARG(0), *s = ARG(1);
    if (!x || !s) return bad(im, "expand arguments");
    int64_t v[ST_MAX_RANK];
    size_t k;
    int shape;
    if (st_ts_ints(s, v, ST_MAX_RANK, &k)) {
        for (size_t i = 0; i < k; i++)
            if (v[i] == -1) v[i] = 1; /* -1 keeps the dim: broadcasting against 1 does the same */
        shape = st_ts_const_i64(im, v, k, false);
    } else shape = st_ts_as_tensor(im, s, ST_DTYPE_I64);
    int in[2] = {st_ts_as_tensor(im, x, ST_DTYPE_UNDEFINED), shape};
    *out = T1(im, st_ts_op1(im, "Expand", 2, in),
              (s->k == TV_LIST || s->k == TV_TUPLE) ? (int)s->n : -1, st_ts_dtype_of(x));
    return ST_OK;
}
static st_status op_to(st_ts_imp *im, tv *a, size_t n, tv *out) {
    /* to(x, dtype, non_blocking, copy, memory_format) or to(x, device, dtype, ...) */
    const tv *dt = NULL;
    for (size_t i = 1; i < n && i < 3; i++)
        if (ARG(i) && ARG(i)->k == TV_INT && !ARG(i)->sym) {
            dt = ARG(i);
            break;
        }
    st_dtype to = dt ? st_ts_dtype_from_torch(dt->i) : ST_DTYPE_UNDEFINED;
    if (!to || to == st_ts_dtype_of(ARG(0))) return *out = a[0], ST_OK;
    int v = st_ts_as_tensor(im, ARG(0), ST_DTYPE_UNDEFINED);
    *out = T1(im, cast(im, v, to), st_ts_rank_of(im, ARG(0)), to);
    st_ts_derive(out, ARG(0), 0);
    return ST_OK;
}
static st_status op_type_as(st_ts_imp *im, tv *a, size_t n, tv *out) {
    st_dtype to = st_ts_dtype_of(ARG(1));
    if (!to || to == st_ts_dtype_of(ARG(0))) return *out = a[0], ST_OK;
    int v = st_ts_as_tensor(im, ARG(0), ST_DTYPE_UNDEFINED);
    *out = T1(im, cast(im, v, to), st_ts_rank_of(im, ARG(0)), to);
    return ST_OK;
}

/* zeros/ones/full(size, [value], dtype, ...) */
static st_status filled(st_ts_imp *im, const tv *size, double value, const tv *dtype, tv *out) {
    st_dtype dt = dtype ? st_ts_dtype_from_torch(I(dtype, 6)) : ST_DTYPE_F32;
    if (!dt) dt = ST_DTYPE_F32;
    st_tensor t;
    st_error e;
    if (st_tensor_alloc(&t, dt, 1, (int64_t[]){1}, &e))
        return st_ts_fail(im, e.status, "%s", e.msg);
    st_tensor_set_f64(&t, 0, value);
    int shape = st_ts_as_tensor(im, size, ST_DTYPE_I64), r;
    st_node *nd = st_ts_op(im, "ConstantOfShape", 1, &shape, 1, &r);
    st_ts_attr_t(im, nd, "value", &t);
    st_tensor_clear(&t);
    *out = T1(im, r, (size->k == TV_LIST || size->k == TV_TUPLE) ? (int)size->n : -1, dt);
    return ST_OK;
}
static st_status op_zeros(st_ts_imp *im, tv *a, size_t n, tv *out) {
    return filled(im, ARG(0), 0, ARG(1), out);
}
static st_status op_ones(st_ts_imp *im, tv *a, size_t n, tv *out) {
    return filled(im, ARG(0), 1, ARG(1), out);
}
static st_status op_full(st_ts_imp *im, tv *a, size_t n, tv *out) {
    return filled(im, ARG(0), F(ARG(1), 0), ARG(2), out);
}
static st_status like(st_ts_imp *im, tv *a, size_t n, double v, tv *out) {
    int x = st_ts_as_tensor(im, ARG(0), ST_DTYPE_UNDEFINED);
    tv sh = T1(im, st_ts_op1(im, "Shape", 1, &x), 1, ST_DTYPE_I64);
    st_dtype dt = ARG(1) ? st_ts_dtype_from_torch(I(ARG(1), 6)) : st_ts_dtype_of(ARG(0));
    tv code = {.k = TV_INT, .i = st_ts_dtype_to_torch(dt ? dt : ST_DTYPE_F32)};
    if (filled(im, &sh, v, &code, out)) return sticky(im);
    out->rank = st_ts_rank_of(im, ARG(0));
    return ST_OK;
}
static st_status op_zeros_like(st_ts_imp *im, tv *a, size_t n, tv *out) {
    return like(im, a, n, 0, out);
}
static st_status op_ones_like(st_ts_imp *im, tv *a, size_t n, tv *out) {
    return like(im, a, n, 1, out);
}

/* ---- reductions and normalisation -------------------------------------------------- */
static st_status reduce(st_ts_imp *im, tv *a, size_t n, const char *op, bool axes_input, tv *out) {
    const tv *x = ARG(0);
    int64_t ax[ST_MAX_RANK];
    size_t k = 0;
    bool all = !ARG(1) || (ARG(1)->k == TV_INT && ARG(1)->sym);
    if (ARG(1) && ARG(1)->k == TV_INT && !ARG(1)->sym && ARG(2) == NULL && n == 2 &&
        !strcmp(op, "ReduceSum"))
        all = true; /* sum(x, dtype) */
    if (!all && !st_ts_ints(ARG(1), ax, ST_MAX_RANK, &k))
        return bad(im, "reduction over non-constant dims");
    bool keep = I(ARG(2), 0) != 0;
    if (all) keep = false, k = 0;
    int in[2] = {st_ts_as_tensor(im, x, ST_DTYPE_UNDEFINED), -1}, r;
    if (axes_input && k) in[1] = st_ts_const_i64(im, ax, k, false);
    st_node *nd = st_ts_op(im, op, axes_input && k ? 2 : 1, in, 1, &r);
    if (!axes_input && k) st_ts_attr_is(im, nd, "axes", ax, k);
    st_ts_attr_i(im, nd, "keepdims", keep);
    int rk = st_ts_rank_of(im, x);
    *out = T1(im, r, all ? 0 : keep ? rk : rk >= 0 ? rk - (int)k : -1, st_ts_dtype_of(x));
    if (!all) st_ts_derive(out, x, keep ? 0 : -(int)k);
    return ST_OK;
}
static st_status reduce_min(st_ts_imp *im, tv *a, size_t n, tv *out) {
    return reduce(im, a, n, "ReduceMin", false, out);
}
static st_status op_mean(st_ts_imp *im, tv *a, size_t n, tv *out) {
    return reduce(im, a, n, "ReduceMean", false, out);
}
static st_status op_sum(st_ts_imp *im, tv *a, size_t n, tv *out) {
    return reduce(im, a, n, "ReduceSum", true, out);
}
static st_status op_amax(st_ts_imp *im, tv *a, size_t n, tv *out) {
    return reduce(im, a, n, "ReduceMax", false, out);
}
static st_status softmax(st_ts_imp *im, tv *a, size_t n, const char *op, tv *out) {
    int v = st_ts_as_tensor(im, ARG(0), ST_DTYPE_UNDEFINED), r;
    st_node *nd = st_ts_op(im, op, 1, &v, 1, &r);
    st_ts_attr_i(im, nd, "axis", I(ARG(1), -1));
    *out = T1(im, r, st_ts_rank_of(im, ARG(0)), st_ts_dtype_of(ARG(0)));
    st_ts_derive(out, ARG(0), 0);
    return ST_OK;
}
static st_status op_softmax(st_ts_imp *im, tv *a, size_t n, tv *out) {
    return softmax(im, a, n, "Softmax", out);
}
static st_status op_log_softmax(st_ts_imp *im, tv *a, size_t n, tv *out) {
    return softmax(im, a, n, "LogSoftmax", out);
}

static int ones_like_c(st_ts_imp *im, int64_t c, st_dtype dt, double v) {
    st_tensor t;
    st_error e;
    if (st_tensor_alloc(&t, dt ? dt : ST_DTYPE_F32, 1, &c, &e)) {
        st_ts_fail(im, e.status, "%s", e.msg);
        return -1;
    }
    for (int64_t i = 0; i < c; i++) st_tensor_set_f64(&t, (size_t)i, v);
    int r = st_ts_const(im, &t);
    st_tensor_clear(&t);
    return r;
}

static st_status op_batch_norm(st_ts_imp *im, tv *a, size_t n, tv *out) {
    /* batch_norm(input, weight, bias, running_mean, running_var, training, momentum, eps, cudnn) */
    const tv *x = ARG(0), *w = ARG(1), *b = ARG(2), *m = ARG(3), *v = ARG(4);
    if (!m || !v) return bad(im, "batch_norm without running statistics");
    if (I(ARG(5), 0)) return bad(im, "batch_norm in training mode");
    st_dtype dt = st_ts_dtype_of(x) ? st_ts_dtype_of(x) : ST_DTYPE_F32;
    const st_tensor *mc = konst(im, m);
    int64_t c = mc && mc->ndim == 1 ? mc->dims[0] : -1;
    if ((!w || !b) && c < 0)
        return bad(im, "batch_norm without affine parameters needs constant statistics");
    int in[5] = {st_ts_as_tensor(im, x, ST_DTYPE_UNDEFINED),
                 w ? st_ts_as_tensor(im, w, dt) : ones_like_c(im, c, dt, 1),
                 b ? st_ts_as_tensor(im, b, dt) : ones_like_c(im, c, dt, 0),
                 st_ts_as_tensor(im, m, dt), st_ts_as_tensor(im, v, dt)},
        r;
    st_node *nd = st_ts_op(im, "BatchNormalization", 5, in, 1, &r);
    st_ts_rank_at_least(im, x, 2);
    st_ts_attr_f(im, nd, "epsilon", F(ARG(7), 1e-5));
    st_ts_attr_f(im, nd, "momentum", 1.0 - F(ARG(6), 0.1));
    st_ts_hint(im, x, ST_DTYPE_UNDEFINED, -1);
    *out = T1(im, r, st_ts_rank_of(im, x), dt);
    return ST_OK;
}
static st_status op_layer_norm(st_ts_imp *im, tv *a, size_t n, tv *out) {
    /* layer_norm(input, normalized_shape, weight, bias, eps, cudnn_enable) */
    int64_t sh[ST_MAX_RANK];
    size_t k;
    if (!st_ts_ints(ARG(1), sh, ST_MAX_RANK, &k) || !k)
        return bad(im, "layer_norm needs a constant normalized_shape");
    st_dtype dt = st_ts_dtype_of(ARG(0)) ? st_ts_dtype_of(ARG(0)) : ST_DTYPE_F32;
    int64_t c = 1;
    for (size_t i = 0; i < k; i++) c *= sh[i];
    int in[3] = {st_ts_as_tensor(im, ARG(0), ST_DTYPE_UNDEFINED), -1, -1}, r;
    if (ARG(2)) in[1] = st_ts_as_tensor(im, ARG(2), dt);
    else {
        st_tensor t;
        st_error e;
        if (st_tensor_alloc(&t, dt, (int)k, sh, &e)) return st_ts_fail(im, e.status, "%s", e.msg);
        for (int64_t i = 0; i < c; i++) st_tensor_set_f64(&t, (size_t)i, 1.0);
        in[1] = st_ts_const(im, &t);
        st_tensor_clear(&t);
    }
    if (ARG(3)) in[2] = st_ts_as_tensor(im, ARG(3), dt);
    st_node *nd = st_ts_op(im, "LayerNormalization", ARG(3) ? 3 : 2, in, 1, &r);
    st_ts_attr_i(im, nd, "axis", -(int64_t)k);
    st_ts_attr_f(im, nd, "epsilon", F(ARG(4), 1e-5));
    *out = T1(im, r, st_ts_rank_of(im, ARG(0)), dt);
    st_ts_derive(out, ARG(0), 0);
    return ST_OK;
}

/* ---- linear algebra ------------------------------------------------------------------ */
static st_status op_matmul(st_ts_imp *im, tv *a, size_t n, tv *out);
static st_status op_mm(st_ts_imp *im, tv *a, size_t n,
                       tv *out) { /* mm: 2-D only, which fixes input ranks */
    st_ts_hint(im, ARG(0), ST_DTYPE_UNDEFINED, 2), st_ts_hint(im, ARG(1), ST_DTYPE_UNDEFINED, 2);
    tv b[2] = {a[0], n > 1 ? a[1] : a[0]};
    if (b[0].k == TV_TENSOR && b[0].rank < 0) b[0].rank = 2;
    if (b[1].k == TV_TENSOR && b[1].rank < 0) b[1].rank = 2;
    return op_matmul(im, b, n, out);
}
static st_status op_bmm(st_ts_imp *im, tv *a, size_t n, tv *out) {
    st_ts_hint(im, ARG(0), ST_DTYPE_UNDEFINED, 3), st_ts_hint(im, ARG(1), ST_DTYPE_UNDEFINED, 3);
    tv b[2] = {a[0], n > 1 ? a[1] : a[0]};
    if (b[0].k == TV_TENSOR && b[0].rank < 0) b[0].rank = 3;
    if (b[1].k == TV_TENSOR && b[1].rank < 0) b[1].rank = 3;
    return op_matmul(im, b, n, out);
}
static st_status op_matmul(st_ts_imp *im, tv *a, size_t n, tv *out) {
    int in[2] = {st_ts_as_tensor(im, ARG(0), ST_DTYPE_UNDEFINED),
                 st_ts_as_tensor(im, ARG(1), ST_DTYPE_UNDEFINED)};
    int ra = st_ts_rank_of(im, ARG(0)), rb = st_ts_rank_of(im, ARG(1));
    int rank = ra < 0 || rb < 0     ? -1
               : ra == 1 && rb == 1 ? 0
               : ra == 1            ? rb - 1
               : rb == 1            ? ra - 1
                                    : ST_MAX(ra, rb);
    *out = T1(im, st_ts_op1(im, "MatMul", 2, in), rank, st_ts_dtype_of(ARG(0)));
    st_ts_derive(out, ARG(0), 0);
    return ST_OK;
}
/* W^T of a 2-D weight: folded at import when the weight is a constant. */
static int transposed_weight(st_ts_imp *im, const tv *w) {
    const st_tensor *c = konst(im, w);
    if (c && c->ndim == 2 && (c->dtype == ST_DTYPE_F32 || c->dtype == ST_DTYPE_F64)) {
        st_tensor t;
        st_error e;
        int64_t d[2] = {c->dims[1], c->dims[0]};
        if (st_tensor_alloc(&t, c->dtype, 2, d, &e)) {
            st_ts_fail(im, e.status, "%s", e.msg);
            return -1;
        }
        size_t es = st_dtype_size(c->dtype);
        for (int64_t i = 0; i < c->dims[0]; i++)
            for (int64_t j = 0; j < c->dims[1]; j++)
                memcpy((char *)t.data + ((size_t)(j * c->dims[0] + i)) * es,
                       (const char *)c->data + ((size_t)(i * c->dims[1] + j)) * es, es);
        int r = st_ts_const(im, &t);
        st_tensor_clear(&t);
        return r;
    }
    int v = st_ts_as_tensor(im, w, ST_DTYPE_UNDEFINED), r;
    st_node *nd = st_ts_op(im, "Transpose", 1, &v, 1, &r);
    st_ts_attr_is(im, nd, "perm", (int64_t[]){1, 0}, 2);
    return r;
}
static st_status op_linear(st_ts_imp *im, tv *a, size_t n, tv *out) {
    const tv *x = ARG(0), *w = ARG(1), *b = ARG(2);
    if (!x || !w) return bad(im, "linear arguments");
    int in[2] = {st_ts_as_tensor(im, x, ST_DTYPE_UNDEFINED), transposed_weight(im, w)};
    int y = st_ts_op1(im, "MatMul", 2, in);
    if (b) {
        int s[2] = {y, st_ts_as_tensor(im, b, ST_DTYPE_UNDEFINED)};
        y = st_ts_op1(im, "Add", 2, s);
    }
    *out = T1(im, y, st_ts_rank_of(im, x), st_ts_dtype_of(w));
    st_ts_derive(out, x, 0);
    return ST_OK;
}
static st_status op_addmm(st_ts_imp *im, tv *a, size_t n, tv *out) {
    /* addmm(bias, m1, m2, beta, alpha) */
    st_ts_hint(im, ARG(1), ST_DTYPE_UNDEFINED, 2), st_ts_hint(im, ARG(2), ST_DTYPE_UNDEFINED, 2);
    int in[3] = {st_ts_as_tensor(im, ARG(1), ST_DTYPE_UNDEFINED),
                 st_ts_as_tensor(im, ARG(2), ST_DTYPE_UNDEFINED),
                 st_ts_as_tensor(im, ARG(0), ST_DTYPE_UNDEFINED)},
        r;
    st_node *nd = st_ts_op(im, "Gemm", 3, in, 1, &r);
    st_ts_attr_f(im, nd, "beta", F(ARG(3), 1));
    st_ts_attr_f(im, nd, "alpha", F(ARG(4), 1));
    *out = T1(im, r, 2, st_ts_dtype_of(ARG(1)));
    return ST_OK;
}
static st_status op_embedding(st_ts_imp *im, tv *a, size_t n, tv *out) {
    /* embedding(weight, indices, padding_idx, scale_grad_by_freq, sparse) */
    st_ts_hint(im, ARG(1), ST_DTYPE_I64, -1);
    int in[2] = {st_ts_as_tensor(im, ARG(0), ST_DTYPE_UNDEFINED),
                 st_ts_as_tensor(im, ARG(1), ST_DTYPE_UNDEFINED)},
        r;
    st_node *nd = st_ts_op(im, "Gather", 2, in, 1, &r);
    st_ts_attr_i(im, nd, "axis", 0);
    int ri = st_ts_rank_of(im, ARG(1));
    *out = T1(im, r, ri >= 0 ? ri + 1 : -1, st_ts_dtype_of(ARG(0)));
    st_ts_derive(out, ARG(1), 1);
    return ST_OK;
}

/* ---- convolution and pooling --------------------------------------------------------- */
static size_t ints_or(const tv *v, int64_t *out, size_t want, int64_t def) {
    size_t k = 0;
    if (v && st_ts_ints(v, out, ST_MAX_RANK, &k) && k == 1 && want > 1)
        for (size_t i = 1; i < want; i++) out[i] = out[0];
    else if (!v || !k)
        for (size_t i = 0; i < want; i++) out[i] = def;
    return want;
}
static st_status conv(st_ts_imp *im, const tv *x, const tv *w, const tv *b, const tv *stride,
                      const tv *pad, const tv *dil, bool transposed, const tv *opad, int64_t groups,
                      tv *out) {
    const st_tensor *wc = konst(im, w);
    int wr = wc ? wc->ndim : st_ts_rank_of(im, w);
    if (wr < 3) return bad(im, "convolution weight of unknown rank");
    size_t sp = (size_t)wr - 2;
    int64_t s[ST_MAX_RANK], p[ST_MAX_RANK], d[ST_MAX_RANK], op[ST_MAX_RANK], pads[2 * ST_MAX_RANK];
    if (pad && pad->k == TV_STR) {
        if (strcmp(pad->s, "valid")) return bad(im, "convolution padding \"same\"");
        pad = NULL;
    }
    ints_or(stride, s, sp, 1), ints_or(pad, p, sp, 0), ints_or(dil, d, sp, 1),
        ints_or(opad, op, sp, 0);
    for (size_t i = 0; i < sp; i++) pads[i] = pads[i + sp] = p[i];
    int in[3] = {st_ts_as_tensor(im, x, ST_DTYPE_UNDEFINED),
                 st_ts_as_tensor(im, w, ST_DTYPE_UNDEFINED),
                 b ? st_ts_as_tensor(im, b, ST_DTYPE_UNDEFINED) : -1},
        r;
    st_node *nd = st_ts_op(im, transposed ? "ConvTranspose" : "Conv", b ? 3 : 2, in, 1, &r);
    st_ts_attr_is(im, nd, "strides", s, sp);
    st_ts_attr_is(im, nd, "pads", pads, 2 * sp);
    st_ts_attr_is(im, nd, "dilations", d, sp);
    st_ts_attr_i(im, nd, "group", groups);
    if (transposed) st_ts_attr_is(im, nd, "output_padding", op, sp);
    st_ts_hint(im, x, ST_DTYPE_UNDEFINED, wr);
    *out = T1(im, r, wr, st_ts_dtype_of(w));
    return ST_OK;
}
static st_status op__convolution(st_ts_imp *im, tv *a, size_t n, tv *out) {
    /* _convolution(input, weight, bias, stride, padding, dilation, transposed, output_padding,
     *              groups, ...) */
    return conv(im, ARG(0), ARG(1), ARG(2), ARG(3), ARG(4), ARG(5), I(ARG(6), 0) != 0, ARG(7),
                I(ARG(8), 1), out);
}
static st_status op_conv(st_ts_imp *im, tv *a, size_t n, tv *out) {
    /* convNd(input, weight, bias, stride, padding, dilation, groups) */
    return conv(im, ARG(0), ARG(1), ARG(2), ARG(3), ARG(4), ARG(5), false, NULL, I(ARG(6), 1), out);
}
static st_status pool(st_ts_imp *im, tv *a, size_t n, bool is_max, size_t sp, tv *out) {
    /* max_poolNd(x, kernel, stride, padding, dilation, ceil_mode)
     * avg_poolNd(x, kernel, stride, padding, ceil_mode, count_include_pad, divisor_override) */
    int64_t k[3], s[3], p[3], d[3], pads[6];
    ints_or(ARG(1), k, sp, 1);
    if (ARG(2) && ARG(2)->k == TV_LIST && ARG(2)->n == 0) ints_or(ARG(1), s, sp, 1);
    else if (!ARG(2)) ints_or(ARG(1), s, sp, 1);
    else ints_or(ARG(2), s, sp, 1);
    ints_or(ARG(3), p, sp, 0);
    if (is_max) ints_or(ARG(4), d, sp, 1);
    int64_t ceil = I(ARG(is_max ? 5 : 4), 0);
    for (size_t i = 0; i < sp; i++) pads[i] = pads[i + sp] = p[i];
    if (!is_max && ARG(6)) return bad(im, "avg_pool with divisor_override");
    int v = st_ts_as_tensor(im, ARG(0), ST_DTYPE_UNDEFINED), r;
    st_node *nd = st_ts_op(im, is_max ? "MaxPool" : "AveragePool", 1, &v, 1, &r);
    st_ts_attr_is(im, nd, "kernel_shape", k, sp);
    st_ts_attr_is(im, nd, "strides", s, sp);
    st_ts_attr_is(im, nd, "pads", pads, 2 * sp);
    st_ts_attr_i(im, nd, "ceil_mode", ceil);
    if (is_max) st_ts_attr_is(im, nd, "dilations", d, sp);
    else st_ts_attr_i(im, nd, "count_include_pad", I(ARG(5), 1));
    st_ts_hint(im, ARG(0), ST_DTYPE_UNDEFINED, (int)sp + 2);
    *out = T1(im, r, (int)sp + 2, st_ts_dtype_of(ARG(0)));
    return ST_OK;
}
static st_status op_max_pool2d(st_ts_imp *im, tv *a, size_t n, tv *out) {
    return pool(im, a, n, true, 2, out);
}
static st_status op_max_pool1d(st_ts_imp *im, tv *a, size_t n, tv *out) {
    return pool(im, a, n, true, 1, out);
}
static st_status op_avg_pool2d(st_ts_imp *im, tv *a, size_t n, tv *out) {
    return pool(im, a, n, false, 2, out);
}
static st_status op_avg_pool1d(st_ts_imp *im, tv *a, size_t n, tv *out) {
    return pool(im, a, n, false, 1, out);
}
static st_status op_adaptive_avg_pool2d(st_ts_imp *im, tv *a, size_t n, tv *out) {
    int64_t o[2];
    size_t k;
    if (!st_ts_ints(ARG(1), o, 2, &k) ||
        !((k == 1 && o[0] == 1) || (k == 2 && o[0] == 1 && o[1] == 1)))
        return bad(im, "adaptive_avg_pool2d to a size other than 1x1");
    int v = st_ts_as_tensor(im, ARG(0), ST_DTYPE_UNDEFINED);
    *out = T1(im, st_ts_op1(im, "GlobalAveragePool", 1, &v), 4, st_ts_dtype_of(ARG(0)));
    return ST_OK;
}

/* ---- recurrent ----------------------------------------------------------------------- */
/* A constant tensor's rows regrouped: PyTorch gates i,f,g,o -> ONNX i,o,f,c. */
static int lstm_pack(st_ts_imp *im, const st_tensor *const *parts, size_t np, int64_t H,
                     bool concat_last) {
    /* parts: per direction one tensor [4H, K] (weights) or two [4H] (biases, concatenated) */
    static const int order[4] = {0, 3, 1, 2};
    size_t per = concat_last ? 2 : 1, dirs = np / per;
    int64_t K = concat_last ? 1 : parts[0]->dims[1];
    int64_t dims[3] = {(int64_t)dirs, concat_last ? 8 * H : 4 * H, K};
    st_tensor t;
    st_error e;
    if (st_tensor_alloc(&t, ST_DTYPE_F32, concat_last ? 2 : 3, dims, &e))
        return st_ts_fail(im, e.status, "%s", e.msg), -1;
    float *o = t.data;
    for (size_t d = 0; d < dirs; d++)
        for (size_t q = 0; q < per; q++) {
            const st_tensor *src = parts[d * per + q];
            for (int g = 0; g < 4; g++)
                for (int64_t r = 0; r < H; r++)
                    for (int64_t c = 0; c < K; c++) {
                        size_t si = (size_t)(((int64_t)order[g] * H + r) * K + c);
                        size_t di =
                            (size_t)(((int64_t)d * dims[1] + (int64_t)q * 4 * H + g * H + r) * K +
                                     c);
                        o[di] = (float)st_tensor_get_f64(src, si);
                    }
        }
    int r = st_ts_const(im, &t);
    st_tensor_clear(&t);
    return r;
}
static st_status op_lstm(st_ts_imp *im, tv *a, size_t n, tv *out) {
    /* lstm(input, hx[h0, c0], params, has_biases, num_layers, dropout, train, bidirectional,
     *      batch_first) */
    const tv *x = ARG(0), *hx = ARG(1), *params = ARG(2);
    if (!x || !hx || !params || hx->k != TV_LIST || hx->n != 2 || params->k != TV_LIST || n < 9)
        return bad(im, "lstm with packed sequences or unexpected arguments");
    bool bias = I(ARG(3), 1) != 0, bidir = I(ARG(7), 0) != 0, bf = I(ARG(8), 0) != 0;
    int64_t layers = I(ARG(4), 1), dirs = bidir ? 2 : 1, per = bias ? 4 : 2;
    if (I(ARG(6), 0)) return bad(im, "lstm in training mode");
    if ((int64_t)params->n != layers * dirs * per) return bad(im, "lstm with projections");
    st_ts_hint(im, x, ST_DTYPE_UNDEFINED, 3);
    int cur = st_ts_as_tensor(im, x, ST_DTYPE_UNDEFINED);
    if (bf) {
        st_node *nd = st_ts_op(im, "Transpose", 1, &cur, 1, &cur);
        st_ts_attr_is(im, nd, "perm", (int64_t[]){1, 0, 2}, 3);
    }
    int h0 = st_ts_as_tensor(im, &hx->items[0], ST_DTYPE_UNDEFINED),
        c0 = st_ts_as_tensor(im, &hx->items[1], ST_DTYPE_UNDEFINED);
    int hs[64], cs[64];
    if (layers > 64) return bad(im, "lstm with more than 64 layers");
    for (int64_t l = 0; l < layers && !st_ts_failed(im); l++) {
        const st_tensor *w[4], *r[4], *b[4];
        for (int64_t d = 0; d < dirs; d++) {
            const tv *p = &params->items[(l * dirs + d) * per];
            w[d] = konst(im, &p[0]), r[d] = konst(im, &p[1]);
            b[2 * d] = bias ? konst(im, &p[2]) : NULL,
                  b[2 * d + 1] = bias ? konst(im, &p[3]) : NULL;
            if (!w[d] || !r[d] || (bias && (!b[2 * d] || !b[2 * d + 1])) || w[d]->ndim != 2 ||
                r[d]->ndim != 2)
                return bad(im, "lstm with non-constant weights");
        }
        int64_t H = r[0]->dims[1];
        if (r[0]->dims[0] != 4 * H) return bad(im, "lstm weight shapes");
        int W = lstm_pack(im, w, (size_t)dirs, H, false),
            R = lstm_pack(im, r, (size_t)dirs, H, false);
        int B = bias ? lstm_pack(im, b, (size_t)(2 * dirs), H, true) : -1;
        int sl[5] = {h0, st_ts_const_i64(im, (int64_t[]){l * dirs}, 1, false),
                     st_ts_const_i64(im, (int64_t[]){(l + 1) * dirs}, 1, false),
                     st_ts_const_i64(im, (int64_t[]){0}, 1, false)};
        int hl = st_ts_op1(im, "Slice", 4, sl);
        sl[0] = c0;
        int cl = st_ts_op1(im, "Slice", 4, sl);
        int in[7] = {cur, W, R, B, -1, hl, cl}, o[3];
        st_node *nd = st_ts_op(im, "LSTM", 7, in, 3, o);
        st_ts_attr_i(im, nd, "hidden_size", H);
        st_ts_attr_s(im, nd, "direction", bidir ? "bidirectional" : "forward");
        hs[l] = o[1], cs[l] = o[2];
        /* Y [T, D, B, H] -> [T, B, D*H] */
        int y = o[0];
        st_node *tp = st_ts_op(im, "Transpose", 1, &y, 1, &y);
        st_ts_attr_is(im, tp, "perm", (int64_t[]){0, 2, 1, 3}, 4);
        int rs[2] = {y, st_ts_const_i64(im, (int64_t[]){0, 0, -1}, 3, false)};
        cur = st_ts_op1(im, "Reshape", 2, rs);
    }
    if (bf) {
        st_node *nd = st_ts_op(im, "Transpose", 1, &cur, 1, &cur);
        st_ts_attr_is(im, nd, "perm", (int64_t[]){1, 0, 2}, 3);
    }
    int hn = hs[0], cn = cs[0];
    if (layers > 1) {
        st_node *c1 = st_ts_op(im, "Concat", (int)layers, hs, 1, &hn);
        st_ts_attr_i(im, c1, "axis", 0);
        st_node *c2 = st_ts_op(im, "Concat", (int)layers, cs, 1, &cn);
        st_ts_attr_i(im, c2, "axis", 0);
    }
    tv t = {.k = TV_TUPLE, .n = 3, .rank = -1};
    if (!(t.items = st_ts_alloc_items(im, 3))) return sticky(im);
    t.items[0] = T1(im, cur, 3, ST_DTYPE_F32);
    t.items[1] = T1(im, hn, 3, ST_DTYPE_F32);
    t.items[2] = T1(im, cn, 3, ST_DTYPE_F32);
    *out = t;
    return ST_OK;
}

static st_status op_where(st_ts_imp *im, tv *a, size_t n, tv *out) {
    st_dtype dt = st_ts_dtype_of(ARG(1)) ? st_ts_dtype_of(ARG(1)) : st_ts_dtype_of(ARG(2));
    int in[3] = {st_ts_as_tensor(im, ARG(0), ST_DTYPE_BOOL), st_ts_as_tensor(im, ARG(1), dt),
                 st_ts_as_tensor(im, ARG(2), dt)};
    *out = T1(im, st_ts_op1(im, "Where", 3, in), -1, dt);
    return ST_OK;
}
static st_status op_masked_fill(st_ts_imp *im, tv *a, size_t n, tv *out) {
    st_dtype dt = st_ts_dtype_of(ARG(0));
    int in[3] = {st_ts_as_tensor(im, ARG(1), ST_DTYPE_BOOL), st_ts_as_tensor(im, ARG(2), dt),
                 st_ts_as_tensor(im, ARG(0), ST_DTYPE_UNDEFINED)};
    *out = T1(im, st_ts_op1(im, "Where", 3, in), st_ts_rank_of(im, ARG(0)), dt);
    return ST_OK;
}

/* ---- more ops: indexing, scans, sorting, construction -------------------------------- */

static st_status op_cumsum(st_ts_imp *im, tv *a, size_t n, tv *out) {
    int64_t d = I(ARG(1), 0);
    int in[2] = {st_ts_as_tensor(im, ARG(0), ST_DTYPE_UNDEFINED), st_ts_const_i64(im, &d, 1, true)};
    *out =
        T1(im, st_ts_op1(im, "CumSum", 2, in), st_ts_rank_of(im, ARG(0)), st_ts_dtype_of(ARG(0)));
    st_ts_derive(out, ARG(0), 0);
    return ST_OK;
}
static st_status arg_reduce(st_ts_imp *im, tv *a, size_t n, const char *op, tv *out) {
    int v = st_ts_as_tensor(im, ARG(0), ST_DTYPE_UNDEFINED), r;
    bool keep = I(ARG(2), 0) != 0;
    if (!ARG(1)) { /* over the flattened tensor */
        int f[2] = {v, st_ts_const_i64(im, (int64_t[]){-1}, 1, false)};
        v = st_ts_op1(im, "Reshape", 2, f);
        keep = false;
    }
    st_node *nd = st_ts_op(im, op, 1, &v, 1, &r);
    st_ts_attr_i(im, nd, "axis", ARG(1) ? I(ARG(1), 0) : 0);
    st_ts_attr_i(im, nd, "keepdims", keep);
    int rk = st_ts_rank_of(im, ARG(0));
    *out = T1(im, r, !ARG(1) ? 0 : keep ? rk : rk > 0 ? rk - 1 : -1, ST_DTYPE_I64);
    if (ARG(1)) st_ts_derive(out, ARG(0), keep ? 0 : -1);
    return ST_OK;
}
static st_status op_argmax(st_ts_imp *im, tv *a, size_t n, tv *out) {
    return arg_reduce(im, a, n, "ArgMax", out);
}
static st_status op_argmin(st_ts_imp *im, tv *a, size_t n, tv *out) {
    return arg_reduce(im, a, n, "ArgMin", out);
}
/* max(x) / max(x, dim, keepdim) -> (values, indices) / max(x, other) */
static st_status minmax(st_ts_imp *im, tv *a, size_t n, bool is_max, tv *out) {
    if (ARG(1) && ARG(1)->k == TV_TENSOR)
        return binary(im, ARG(0), ARG(1), is_max ? "Max" : "Min", B_ARITH, out);
    if (!ARG(1)) {
        tv b[1] = {a[0]};
        return reduce(im, b, 1, is_max ? "ReduceMax" : "ReduceMin", false, out);
    }
    tv vals, idx;
    tv b[3] = {a[0], a[1], n > 2 ? a[2] : (tv){.k = TV_BOOL, .i = 0}};
    if (reduce(im, b, 3, is_max ? "ReduceMax" : "ReduceMin", false, &vals) ||
        arg_reduce(im, b, 3, is_max ? "ArgMax" : "ArgMin", &idx))
        return sticky(im);
    tv t = {.k = TV_TUPLE, .n = 2, .rank = -1};
    if (!(t.items = st_ts_alloc_items(im, 2))) return sticky(im);
    t.items[0] = vals, t.items[1] = idx;
    *out = t;
    return ST_OK;
}
static st_status op_max(st_ts_imp *im, tv *a, size_t n, tv *out) {
    return minmax(im, a, n, true, out);
}
static st_status op_min(st_ts_imp *im, tv *a, size_t n, tv *out) {
    return minmax(im, a, n, false, out);
}
static st_status op_arange(st_ts_imp *im, tv *a, size_t n, tv *out) {
    /* arange(end | start, end | start, end, step) with dtype/layout/device/pin_memory as keywords
     * (the table puts them at positions 3-6) */
    size_t nums = 0;
    while (nums < n && nums < 3 && (a[nums].k == TV_INT || a[nums].k == TV_FLOAT)) nums++;
    if (!nums) return bad(im, "arange without bounds");
    const tv *dtv = ARG(3);
    bool fl = false;
    for (size_t i = 0; i < nums; i++) fl |= a[i].k == TV_FLOAT;
    st_dtype dt = dtv && dtv->k == TV_INT && !dtv->sym ? st_ts_dtype_from_torch(dtv->i)
                  : fl                                 ? ST_DTYPE_F32
                                                       : ST_DTYPE_I64;
    if (!dt) dt = fl ? ST_DTYPE_F32 : ST_DTYPE_I64;
    tv zero = {.k = TV_INT, .i = 0}, one = {.k = TV_INT, .i = 1};
    const tv *st = nums >= 2 ? &a[0] : &zero, *en = nums >= 2 ? &a[1] : &a[0],
             *sp = nums == 3 ? &a[2] : &one;
    int in[3] = {st_ts_as_tensor(im, st, dt), st_ts_as_tensor(im, en, dt),
                 st_ts_as_tensor(im, sp, dt)};
    for (int i = 0; i < 3; i++) {
        const tv *v = i == 0 ? st : i == 1 ? en : sp;
        if (v->sym && st_ts_dtype_of(v) != dt) in[i] = cast(im, in[i], dt);
    }
    *out = T1(im, st_ts_op1(im, "Range", 3, in), 1, dt);
    return ST_OK;
}
static st_status op_repeat(st_ts_imp *im, tv *a, size_t n, tv *out) {
    int64_t r[ST_MAX_RANK];
    size_t k;
    if (!st_ts_ints(ARG(1), r, ST_MAX_RANK, &k)) return bad(im, "repeat needs constant counts");
    int rk = st_ts_rank_of(im, ARG(0));
    int v = st_ts_as_tensor(im, ARG(0), ST_DTYPE_UNDEFINED);
    if (rk >= 0 && (size_t)rk < k) { /* repeat prepends dims first (unknown rank: taken as k) */
        int64_t ax[ST_MAX_RANK];
        for (size_t i = 0; i < k - (size_t)rk; i++) ax[i] = (int64_t)i;
        int u[2] = {v, st_ts_const_i64(im, ax, k - (size_t)rk, false)};
        v = st_ts_op1(im, "Unsqueeze", 2, u);
    }
    int in[2] = {v, st_ts_const_i64(im, r, k, false)};
    *out = T1(im, st_ts_op1(im, "Tile", 2, in), rk >= 0 ? ST_MAX((int)k, rk) : (int)k,
              st_ts_dtype_of(ARG(0)));
    return ST_OK;
}
static st_status op_prelu(st_ts_imp *im, tv *a, size_t n, tv *out) {
    /* PyTorch's weight runs along dim 1; ONNX broadcasts the slope from the right */
    int rk = st_ts_rank_of(im, ARG(0));
    int w = st_ts_as_tensor(im, ARG(1), ST_DTYPE_UNDEFINED);
    const st_tensor *wc = konst(im, ARG(1));
    if (rk > 2 && !(wc && st_tensor_nelem(wc) == 1)) {
        int64_t ax[ST_MAX_RANK];
        for (int i = 0; i < rk - 2; i++) ax[i] = i + 1;
        int u[2] = {w, st_ts_const_i64(im, ax, (size_t)rk - 2, false)};
        w = st_ts_op1(im, "Unsqueeze", 2, u);
    } else if (rk < 0 && !(wc && st_tensor_nelem(wc) ==
                                     1)) { /* shape [C, 1, ..., 1] from the run-time rank */
        int x = st_ts_as_tensor(im, ARG(0), ST_DTYPE_UNDEFINED);
        int sh = st_ts_op1(im, "Shape", 1, &x);
        int r = st_ts_op1(im, "Size", 1, &sh);
        int sb[2] = {r, st_ts_const_i64(im, (int64_t[]){2}, 1, true)};
        int cnt = unsq0(im, st_ts_op1(im, "Sub", 2, sb));
        st_tensor one;
        st_error e2;
        if (st_tensor_alloc(&one, ST_DTYPE_I64, 1, (int64_t[]){1}, &e2))
            return st_ts_fail(im, e2.status, "%s", e2.msg);
        ((int64_t *)one.data)[0] = 1;
        int ones;
        st_node *cn = st_ts_op(im, "ConstantOfShape", 1, &cnt, 1, &ones);
        st_ts_attr_t(im, cn, "value", &one);
        st_tensor_clear(&one);
        int parts[2] = {st_ts_const_i64(im, (int64_t[]){-1}, 1, false), ones}, shape;
        st_node *cc = st_ts_op(im, "Concat", 2, parts, 1, &shape);
        st_ts_attr_i(im, cc, "axis", 0);
        int rs[2] = {w, shape};
        w = st_ts_op1(im, "Reshape", 2, rs);
    }
    int in[2] = {st_ts_as_tensor(im, ARG(0), ST_DTYPE_UNDEFINED), w};
    *out = T1(im, st_ts_op1(im, "PRelu", 2, in), rk, st_ts_dtype_of(ARG(0)));
    st_ts_derive(out, ARG(0), 0);
    return ST_OK;
}
static st_status op_einsum(st_ts_imp *im, tv *a, size_t n, tv *out) {
    const tv *eq = ARG(0), *l = ARG(1);
    if (!eq || eq->k != TV_STR || !l || (l->k != TV_LIST && l->k != TV_TUPLE) || !l->n || l->n > 8)
        return bad(im, "einsum arguments");
    int in[8], r;
    for (size_t i = 0; i < l->n; i++) in[i] = st_ts_as_tensor(im, &l->items[i], ST_DTYPE_UNDEFINED);
    st_node *nd = st_ts_op(im, "Einsum", (int)l->n, in, 1, &r);
    st_ts_attr_s(im, nd, "equation", eq->s);
    const char *arrow = strstr(eq->s, "->");
    int rank = -1;
    if (arrow && !strstr(eq->s, "...")) { /* explicit output subscripts give the rank */
        rank = 0;
        for (const char *q = arrow + 2; *q; q++)
            rank += (*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z');
    }
    *out = T1(im, r, rank, st_ts_dtype_of(&l->items[0]));
    return ST_OK;
}
static st_status op_unbind(st_ts_imp *im, tv *a, size_t n, tv *out) {
    /* needs the dim's size: known only from a constant input */
    int64_t d = I(ARG(1), 0);
    const st_tensor *c = konst(im, ARG(0));
    if (!c || d < 0 || d >= c->ndim || c->dims[d] > 8 || c->dims[d] < 1)
        return bad(im, "unbind of a tensor whose size is not known");
    int64_t k = c->dims[d];
    int v = st_ts_as_tensor(im, ARG(0), ST_DTYPE_UNDEFINED), o[8];
    st_node *nd = st_ts_op(im, "Split", 1, &v, (int)k, o);
    st_ts_attr_i(im, nd, "axis", d);
    tv l = {.k = TV_LIST, .n = (size_t)k, .rank = -1};
    if (!(l.items = st_ts_alloc_items(im, (size_t)k))) return sticky(im);
    for (int64_t i = 0; i < k; i++) {
        int s2[2] = {o[i], st_ts_const_i64(im, &d, 1, false)};
        l.items[i] = T1(im, st_ts_op1(im, "Squeeze", 2, s2), c->ndim - 1, c->dtype);
    }
    *out = l;
    return ST_OK;
}
static st_status op_flip(st_ts_imp *im, tv *a, size_t n, tv *out) {
    int64_t d[ST_MAX_RANK], st[ST_MAX_RANK], en[ST_MAX_RANK], sp[ST_MAX_RANK];
    size_t k;
    if (!st_ts_ints(ARG(1), d, ST_MAX_RANK, &k)) return bad(im, "flip needs constant dims");
    for (size_t i = 0; i < k; i++) st[i] = -1, en[i] = INT64_MIN, sp[i] = -1;
    int in[5] = {st_ts_as_tensor(im, ARG(0), ST_DTYPE_UNDEFINED), st_ts_const_i64(im, st, k, false),
                 st_ts_const_i64(im, en, k, false), st_ts_const_i64(im, d, k, false),
                 st_ts_const_i64(im, sp, k, false)};
    *out = T1(im, st_ts_op1(im, "Slice", 5, in), st_ts_rank_of(im, ARG(0)), st_ts_dtype_of(ARG(0)));
    st_ts_derive(out, ARG(0), 0);
    return ST_OK;
}
static st_status op_topk(st_ts_imp *im, tv *a, size_t n, tv *out) {
    /* topk(self, k, dim=-1, largest=True, sorted=True) -> (values, indices) */
    int64_t k = I(ARG(1), -1);
    int kv = ARG(1) && ARG(1)->sym ? unsq0(im, st_ts_as_tensor(im, ARG(1), ST_DTYPE_I64))
                                   : st_ts_const_i64(im, &k, 1, false);
    int in[2] = {st_ts_as_tensor(im, ARG(0), ST_DTYPE_UNDEFINED), kv}, o[2];
    st_node *nd = st_ts_op(im, "TopK", 2, in, 2, o);
    st_ts_attr_i(im, nd, "axis", I(ARG(2), -1));
    st_ts_attr_i(im, nd, "largest", I(ARG(3), 1));
    st_ts_attr_i(im, nd, "sorted", 1);
    tv t = {.k = TV_TUPLE, .n = 2, .rank = -1};
    if (!(t.items = st_ts_alloc_items(im, 2))) return sticky(im);
    t.items[0] = T1(im, o[0], st_ts_rank_of(im, ARG(0)), st_ts_dtype_of(ARG(0)));
    t.items[1] = T1(im, o[1], st_ts_rank_of(im, ARG(0)), ST_DTYPE_I64);
    st_ts_derive(&t.items[0], ARG(0), 0), st_ts_derive(&t.items[1], ARG(0), 0);
    *out = t;
    return ST_OK;
}
static st_status trilu(st_ts_imp *im, tv *a, size_t n, bool upper, tv *out) {
    int64_t k = I(ARG(1), 0);
    int in[2] = {st_ts_as_tensor(im, ARG(0), ST_DTYPE_UNDEFINED), st_ts_const_i64(im, &k, 1, true)},
        r;
    st_node *nd = st_ts_op(im, "Trilu", 2, in, 1, &r);
    st_ts_attr_i(im, nd, "upper", upper);
    *out = T1(im, r, st_ts_rank_of(im, ARG(0)), st_ts_dtype_of(ARG(0)));
    st_ts_derive(out, ARG(0), 0);
    return ST_OK;
}
static st_status op_tril(st_ts_imp *im, tv *a, size_t n, tv *out) {
    return trilu(im, a, n, false, out);
}
static st_status op_triu(st_ts_imp *im, tv *a, size_t n, tv *out) {
    return trilu(im, a, n, true, out);
}
static st_status op_baddbmm(st_ts_imp *im, tv *a, size_t n, tv *out) {
    /* beta * self + alpha * (b1 @ b2) */
    tv mm, sa, sb2;
    tv m[2] = {n > 1 ? a[1] : a[0], n > 2 ? a[2] : a[0]};
    if (n < 3 || op_matmul(im, m, 2, &mm)) return bad(im, "baddbmm arguments");
    tv beta = {.k = TV_FLOAT, .f = F(ARG(3), 1)}, alpha = {.k = TV_FLOAT, .f = F(ARG(4), 1)};
    if (binary(im, &mm, &alpha, "Mul", B_ARITH, &sa) ||
        binary(im, ARG(0), &beta, "Mul", B_ARITH, &sb2))
        return sticky(im);
    return binary(im, &sb2, &sa, "Add", B_ARITH, out);
}
static st_status op_full_like(st_ts_imp *im, tv *a, size_t n, tv *out) {
    return like(im, (tv[]){a[0], n > 2 ? a[2] : (tv){0}}, 2, F(ARG(1), 0), out);
}
static st_status op_new_zeros(st_ts_imp *im, tv *a, size_t n, tv *out) {
    tv code = {
        .k = TV_INT,
        .i = st_ts_dtype_to_torch(st_ts_dtype_of(ARG(0)) ? st_ts_dtype_of(ARG(0)) : ST_DTYPE_F32)};
    return filled(im, ARG(1), 0, ARG(2) ? ARG(2) : &code, out);
}
static st_status op_new_ones(st_ts_imp *im, tv *a, size_t n, tv *out) {
    tv code = {
        .k = TV_INT,
        .i = st_ts_dtype_to_torch(st_ts_dtype_of(ARG(0)) ? st_ts_dtype_of(ARG(0)) : ST_DTYPE_F32)};
    return filled(im, ARG(1), 1, ARG(2) ? ARG(2) : &code, out);
}
static st_status op_log1p(st_ts_imp *im, tv *a, size_t n, tv *out) {
    tv one = {.k = TV_FLOAT, .f = 1}, s2;
    if (binary(im, ARG(0), &one, "Add", B_ARITH, &s2)) return sticky(im);
    return unary(im, &s2, "Log", out);
}
static st_status op_norm_l2(st_ts_imp *im, tv *a, size_t n, tv *out) {
    /* linalg_vector_norm(x, ord=2, dim, keepdim) / frobenius-style norm(x, p=2, dim, keepdim) */
    if (F(ARG(1), 2) != 2) return bad(im, "vector norms other than L2");
    tv b[3] = {a[0], n > 2 ? a[2] : (tv){0}, n > 3 ? a[3] : (tv){0}};
    return reduce(im, b, 3, "ReduceL2", false, out);
}

/* ---- PyTorch's fused transformer fast paths (eval under no_grad), decomposed ---------- */
static tv I64(int64_t v) {
    tv t = {.k = TV_INT, .i = v, .vi = -1, .rank = -1};
    return t;
}
static tv intlist(st_ts_imp *im, const int64_t *v, size_t k) {
    tv l = {.k = TV_LIST, .n = k, .rank = -1, .vi = -1};
    if ((l.items = st_ts_alloc_items(im, k)))
        for (size_t i = 0; i < k; i++) l.items[i] = I64(v[i]);
    return l;
}
static st_status call2(st_ts_imp *im, st_ts_op_fn fn, tv a0, tv a1, tv *out) {
    tv a[2] = {a0, a1};
    return fn(im, a, 2, out);
}
static st_status call3(st_ts_imp *im, st_ts_op_fn fn, tv a0, tv a1, tv a2, tv *out) {
    tv a[3] = {a0, a1, a2};
    return fn(im, a, 3, out);
}
/* Rows [lo, hi) of a 1-D or 2-D weight (the q, k or v block of a packed projection). */
static tv rows(st_ts_imp *im, const tv *w, int64_t lo, int64_t hi) {
    tv r;
    tv a[5] = {*w, I64(0), I64(lo), I64(hi), I64(1)};
    if (op_slice(im, a, 5, &r)) memset(&r, 0, sizeof r);
    return r;
}
/* softmax(q k^T / sqrt(d) [+ mask]) v over heads: x* are [B, T, E] (batch first). Returns the
 * merged [B, T, E] result before the output projection, and the per-head weights. */
static st_status attention(st_ts_imp *im, tv xq, tv xk, tv xv, int64_t E, int64_t H, const tv *mask,
                           tv *merged, tv *weights) {
    int64_t D = E / H, heads[4] = {0, 0, H, D}, perm[4] = {0, 2, 1, 3}, back[3] = {0, 0, E};
    tv hs = intlist(im, heads, 4), pm = intlist(im, perm, 4), q, k, v, kt, sc, sm, o;
    tv in3[3] = {xq, xk, xv}, *outs[3] = {&q, &k, &v};
    for (int i = 0; i < 3; i++) {
        tv r;
        if (call2(im, op_reshape, in3[i], hs, &r) || call2(im, op_permute, r, pm, outs[i]))
            return sticky(im);
    }
    tv scale = {.k = TV_FLOAT, .f = 1.0 / sqrt((double)D)};
    if (call3(im, op_transpose, k, I64(-2), I64(-1), &kt) || call2(im, op_matmul, q, kt, &sc) ||
        call2(im, op_mul, sc, scale, &sc))
        return sticky(im);
    if (mask && mask->k == TV_TENSOR) {
        if (mask->dt == ST_DTYPE_BOOL) { /* True = masked out */
            tv ninf = {.k = TV_FLOAT, .f = -INFINITY};
            if (call3(im, op_masked_fill, sc, *mask, ninf, &sc)) return sticky(im);
        } else if (call2(im, op_add, sc, *mask, &sc)) return sticky(im);
    }
    if (call2(im, op_softmax, sc, I64(-1), &sm) || call2(im, op_matmul, sm, v, &o) ||
        call2(im, op_permute, o, pm, &o) || call2(im, op_reshape, o, intlist(im, back, 3), merged))
        return sticky(im);
    *weights = sm;
    return ST_OK;
}
static st_status op_transformer_encoder_layer_fwd(st_ts_imp *im, tv *a, size_t n, tv *out) {
    /* (src, embed_dim, num_heads, qkv_weight, qkv_bias, proj_weight, proj_bias, use_gelu,
     *  norm_first, eps, norm_weight_1, norm_bias_1, norm_weight_2, norm_bias_2, ffn_weight_1,
     *  ffn_bias_1, ffn_weight_2, ffn_bias_2, mask, mask_type) */
    if (n < 18) return bad(im, "_transformer_encoder_layer_fwd arguments");
    int64_t E = I(ARG(1), 0), H = I(ARG(2), 0);
    if (E <= 0 || H <= 0 || E % H) return bad(im, "_transformer_encoder_layer_fwd sizes");
    st_ts_hint(im, ARG(0), ST_DTYPE_UNDEFINED, 3);
    tv x = a[0];
    if (x.rank < 0) x.rank = 3;
    bool gelu = I(ARG(7), 0) != 0, norm_first = I(ARG(8), 0) != 0;
    tv eps = {.k = TV_FLOAT, .f = F(ARG(9), 1e-5)}, shape = intlist(im, &E, 1);
    tv h, qkv, m, w, attn, y, f1, f2;
    tv ln1[5] = {x, shape, a[10], a[11], eps};
    if (norm_first) {
        if (op_layer_norm(im, ln1, 5, &h)) return sticky(im);
    } else h = x;
    if (call3(im, op_linear, h, a[3], a[4], &qkv)) return sticky(im);
    tv parts[3];
    for (int i = 0; i < 3; i++) {
        tv sa[5] = {qkv, I64(-1), I64(i * E), I64((i + 1) * E), I64(1)};
        if (op_slice(im, sa, 5, &parts[i])) return sticky(im);
    }
    if (attention(im, parts[0], parts[1], parts[2], E, H, ARG(18), &m, &w) ||
        call3(im, op_linear, m, a[5], a[6], &attn) || call2(im, op_add, x, attn, &y))
        return sticky(im);
    tv ln2[5] = {y, shape, a[12], a[13], eps};
    if (!norm_first) {
        ln1[0] = y;
        if (op_layer_norm(im, ln1, 5, &y)) return sticky(im);
        ln2[0] = y;
    }
    tv hin = y;
    if (norm_first && op_layer_norm(im, ln2, 5, &hin)) return sticky(im);
    if (call3(im, op_linear, hin, a[14], a[15], &f1)) return sticky(im);
    tv act[1] = {f1};
    if ((gelu ? op_gelu(im, act, 1, &f1) : op_relu(im, act, 1, &f1)) ||
        call3(im, op_linear, f1, a[16], a[17], &f2) || call2(im, op_add, y, f2, out))
        return sticky(im);
    if (!norm_first) {
        ln2[0] = *out;
        return op_layer_norm(im, ln2, 5, out);
    }
    return ST_OK;
}
static st_status op_native_multi_head_attention(st_ts_imp *im, tv *a, size_t n, tv *out) {
    /* (query, key, value, embed_dim, num_head, qkv_weight, qkv_bias, proj_weight, proj_bias,
     *  mask, need_weights, average_attn_weights, mask_type) -> (out, weights) */
    if (n < 9) return bad(im, "_native_multi_head_attention arguments");
    int64_t E = I(ARG(3), 0), H = I(ARG(4), 0);
    if (E <= 0 || H <= 0 || E % H) return bad(im, "_native_multi_head_attention sizes");
    tv p[3], m, w, o;
    for (int i = 0; i < 3; i++) {
        tv wr = rows(im, &a[5], i * E, (i + 1) * E), br = rows(im, &a[6], i * E, (i + 1) * E);
        tv x = a[i];
        if (x.rank < 0) x.rank = 3;
        if (call3(im, op_linear, x, wr, br, &p[i])) return sticky(im);
    }
    if (attention(im, p[0], p[1], p[2], E, H, ARG(9), &m, &w) ||
        call3(im, op_linear, m, a[7], a[8], &o))
        return sticky(im);
    tv t = {.k = TV_TUPLE, .n = 2, .rank = -1};
    if (!(t.items = st_ts_alloc_items(im, 2))) return sticky(im);
    t.items[0] = o;
    if (I(ARG(10), 1)) {
        if (I(ARG(11), 1)) {
            tv b[3] = {w, intlist(im, (int64_t[]){1}, 1), I64(0)};
            if (reduce(im, b, 3, "ReduceMean", false, &t.items[1])) return sticky(im);
        } else t.items[1] = w;
    } else t.items[1] = (tv){.k = TV_NONE, .vi = -1, .rank = -1};
    *out = t;
    return ST_OK;
}

static st_node *last_node(st_ts_imp *im, const tv *out) {
    (void)im;
    st_graph *g = out->g;
    return g && g->n_nodes ? &g->nodes[g->n_nodes - 1] : NULL;
}

/* Ops whose handler emitted a node needing one more attribute. */
static st_status op_hardsigmoid_attr(st_ts_imp *im, tv *a, size_t n, tv *out) {
    if (op_hardsigmoid(im, a, n, out)) return sticky(im);
    st_node *nd = last_node(im, out);
    st_ts_attr_f(im, nd, "alpha", 1.0 / 6.0);
    st_ts_attr_f(im, nd, "beta", 0.5);
    return ST_OK;
}
static st_status op_leaky_relu_attr(st_ts_imp *im, tv *a, size_t n, tv *out) {
    if (op_leaky_relu(im, a, n, out)) return sticky(im);
    st_ts_attr_f(im, last_node(im, out), "alpha", F(ARG(1), 0.01));
    return ST_OK;
}
static st_status op_elu_attr(st_ts_imp *im, tv *a, size_t n, tv *out) {
    if (op_elu(im, a, n, out)) return sticky(im);
    st_ts_attr_f(im, last_node(im, out), "alpha", F(ARG(1), 1));
    return ST_OK;
}

/* clang-format off */
static const st_ts_op_def optab[] = {
    /* aten name                 parameters (keywords map by these)                handler */
    {"__derive_index",           "index,start,step", op_derive_index},
    {"__range_length",           "lo,hi,step", op_range_length},
    {"_convolution",
     "input,weight,bias,stride,padding,dilation,transposed,output_padding,groups",
     op__convolution},
    {"_native_multi_head_attention",
     "query,key,value,embed_dim,num_head,qkv_weight,qkv_bias,proj_weight,proj_bias,mask,"
     "need_weights,average_attn_weights,mask_type",
     op_native_multi_head_attention},
    {"_shape_as_tensor",         "self", op_shape_as_tensor},
    {"_transformer_encoder_layer_fwd",
     "src,embed_dim,num_heads,qkv_weight,qkv_bias,proj_weight,proj_bias,use_gelu,norm_first,"
     "eps,norm_weight_1,norm_bias_1,norm_weight_2,norm_bias_2,ffn_weight_1,ffn_bias_1,"
     "ffn_weight_2,ffn_bias_2,mask,mask_type",
     op_transformer_encoder_layer_fwd},
    {"abs",                      "self",                                            op_abs},
    {"adaptive_avg_pool2d",      "self,output_size", op_adaptive_avg_pool2d},
    {"add",                      "self,other,alpha",                                op_add},
    {"addmm",                    "self,mat1,mat2,beta,alpha",                       op_addmm},
    {"amax",                     "self,dim,keepdim",                                op_amax},
    {"amin",                     "self,dim,keepdim",                                op_amin},
    {"arange",                   "start,end,step,dtype,layout,device,pin_memory",   op_arange},
    {"argmax",                   "self,dim,keepdim",                                op_argmax},
    {"argmin",                   "self,dim,keepdim",                                op_argmin},
    {"avg_pool1d",
     "self,kernel_size,stride,padding,ceil_mode,count_include_pad",
     op_avg_pool1d},
    {"avg_pool2d",
     "self,kernel_size,stride,padding,ceil_mode,count_include_pad,divisor_override",
     op_avg_pool2d},
    {"baddbmm",                  "self,batch1,batch2,beta,alpha",                   op_baddbmm},
    {"batch_norm",
     "input,weight,bias,running_mean,running_var,training,momentum,eps,cudnn_enabled",
     op_batch_norm},
    {"bmm",                      "self,mat2",                                       op_bmm},
    {"cat",                      "tensors,dim",                                     op_cat},
    {"ceil",                     "self",                                            op_ceil},
    {"chunk",                    "self,chunks,dim",                                 op_chunk},
    {"clamp",                    "self,min,max",                                    op_clamp},
    {"clip",                     "self,min,max",                                    op_clamp},
    {"clone",                    "self,memory_format",                              op_identity},
    {"constant_pad_nd",          "self,pad,value", op_constant_pad_nd},
    {"contiguous",               "self,memory_format",                              op_identity},
    {"conv1d",                   "input,weight,bias,stride,padding,dilation,groups", op_conv},
    {"conv2d",                   "input,weight,bias,stride,padding,dilation,groups", op_conv},
    {"conv3d",                   "input,weight,bias,stride,padding,dilation,groups", op_conv},
    {"convolution",
     "input,weight,bias,stride,padding,dilation,transposed,output_padding,groups",
     op__convolution},
    {"cos",                      "self",                                            op_cos},
    {"cumsum",                   "self,dim,dtype",                                  op_cumsum},
    {"detach",                   "self",                                            op_identity},
    {"dim",                      "self",                                            op_dim},
    {"div",                      "self,other,rounding_mode",                        op_div},
    {"dropout",                  "input,p,train",                                   op_identity},
    {"einsum",                   "equation,tensors,path",                           op_einsum},
    {"elu",                      "self,alpha,scale,input_scale",                    op_elu_attr},
    {"embedding",
     "weight,indices,padding_idx,scale_grad_by_freq,sparse",
     op_embedding},
    {"eq",                       "self,other",                                      op_eq},
    {"erf",                      "self",                                            op_erf},
    {"exp",                      "self",                                            op_exp},
    {"expand",                   "self,size,implicit",                              op_expand},
    {"feature_dropout",          "input,p,train",                                   op_identity},
    {"flatten",                  "self,start_dim,end_dim",                          op_flatten},
    {"flip",                     "self,dims",                                       op_flip},
    {"floor",                    "self",                                            op_floor},
    {"floor_divide",             "self,other", op_floor_divide},
    {"floordiv",                 "self,other", op_floor_divide},
    {"fmod",                     "self,other",                                      op_fmod},
    {"full",                     "size,fill_value,dtype,layout,device,pin_memory",  op_full},
    {"full_like",
     "self,fill_value,dtype,layout,device,pin_memory,memory_format",
     op_full_like},
    {"ge",                       "self,other",                                      op_ge},
    {"gelu",                     "self,approximate",                                op_gelu},
    {"gt",                       "self,other",                                      op_gt},
    {"hardsigmoid",              "self", op_hardsigmoid_attr},
    {"hardswish",                "self",                                            op_hardswish},
    {"hardtanh",                 "self,min_val,max_val",                            op_hardtanh},
    {"index_select",             "self,dim,index", op_index_select},
    {"layer_norm",
     "input,normalized_shape,weight,bias,eps,cudnn_enable",
     op_layer_norm},
    {"le",                       "self,other",                                      op_le},
    {"leaky_relu",               "self,negative_slope", op_leaky_relu_attr},
    {"len",                      "self",                                            op_len},
    {"linalg_vector_norm",       "self,ord,dim,keepdim,dtype",                      op_norm_l2},
    {"linear",                   "input,weight,bias",                               op_linear},
    {"log",                      "self",                                            op_log},
    {"log1p",                    "self",                                            op_log1p},
    {"log_softmax",              "self,dim,dtype",                                  op_log_softmax},
    {"logical_and",              "self,other",                                      op_logical_and},
    {"logical_not",              "self",                                            op_logical_not},
    {"logical_or",               "self,other",                                      op_logical_or},
    {"logical_xor",              "self,other",                                      op_logical_xor},
    {"lstm",
     "input,hx,params,has_biases,num_layers,dropout,train,bidirectional,batch_first",
     op_lstm},
    {"lt",                       "self,other",                                      op_lt},
    {"masked_fill",              "self,mask,value",                                 op_masked_fill},
    {"matmul",                   "self,other",                                      op_matmul},
    {"max",                      "self,dim,keepdim",                                op_max},
    {"max_pool1d",
     "self,kernel_size,stride,padding,dilation,ceil_mode",
     op_max_pool1d},
    {"max_pool2d",
     "self,kernel_size,stride,padding,dilation,ceil_mode",
     op_max_pool2d},
    {"maximum",                  "self,other",                                      op_maximum},
    {"mean",                     "self,dim,keepdim,dtype",                          op_mean},
    {"min",                      "self,dim,keepdim",                                op_min},
    {"minimum",                  "self,other",                                      op_minimum},
    {"mm",                       "self,mat2",                                       op_mm},
    {"mul",                      "self,other",                                      op_mul},
    {"ne",                       "self,other",                                      op_ne},
    {"neg",                      "self",                                            op_neg},
    {"new_ones",                 "self,size,dtype,layout,device,pin_memory",        op_new_ones},
    {"new_zeros",                "self,size,dtype,layout,device,pin_memory",        op_new_zeros},
    {"norm",                     "self,p,dim,keepdim,dtype",                        op_norm_l2},
    {"numel",                    "self",                                            op_numel},
    {"ones",                     "size,dtype,layout,device,pin_memory",             op_ones},
    {"ones_like",                "self,dtype,layout,device,pin_memory,memory_format", op_ones_like},
    {"permute",                  "self,dims",                                       op_permute},
    {"pow",                      "self,exponent",                                   op_pow},
    {"prelu",                    "self,weight",                                     op_prelu},
    {"reciprocal",               "self",                                            op_reciprocal},
    {"relu",                     "self",                                            op_relu},
    {"relu6",                    "self",                                            op_relu6},
    {"remainder",                "self,other",                                      op_remainder},
    {"repeat",                   "self,repeats",                                    op_repeat},
    {"reshape",                  "self,shape",                                      op_reshape},
    {"round",                    "self",                                            op_round},
    {"rsqrt",                    "self",                                            op_rsqrt},
    {"rsub",                     "self,other,alpha",                                op_rsub},
    {"select",                   "self,dim,index",                                  op_select},
    {"sigmoid",                  "self",                                            op_sigmoid},
    {"sign",                     "self",                                            op_sign},
    {"silu",                     "self",                                            op_silu},
    {"sin",                      "self",                                            op_sin},
    {"size",                     "self,dim",                                        op_size},
    {"slice",                    "self,dim,start,end,step",                         op_slice},
    {"softmax",                  "self,dim,dtype",                                  op_softmax},
    {"softplus",                 "self,beta,threshold",                             op_softplus},
    {"split",                    "self,split_size,dim",                             op_split},
    {"split_with_sizes",         "self,split_sizes,dim", op_split_with_sizes},
    {"sqrt",                     "self",                                            op_sqrt},
    {"squeeze",                  "self,dim",                                        op_squeeze},
    {"stack",                    "tensors,dim",                                     op_stack},
    {"sub",                      "self,other,alpha",                                op_sub},
    {"sum",                      "self,dim,keepdim,dtype",                          op_sum},
    {"t",                        "self",                                            op_t},
    {"tanh",                     "self",                                            op_tanh},
    {"tensor",                   "t,dtype,device,requires_grad",                    op_tensor},
    {"to",                       "self,dtype,non_blocking,copy,memory_format",      op_to},
    {"topk",                     "self,k,dim,largest,sorted",                       op_topk},
    {"transpose",                "self,dim0,dim1",                                  op_transpose},
    {"tril",                     "self,diagonal",                                   op_tril},
    {"triu",                     "self,diagonal",                                   op_triu},
    {"type_as",                  "self,other",                                      op_type_as},
    {"unbind",                   "self,dim",                                        op_unbind},
    {"unsqueeze",                "self,dim",                                        op_unsqueeze},
    {"view",                     "self,size",                                       op_reshape},
    {"where",                    "condition,self,other",                            op_where},
    {"zeros",                    "size,dtype,layout,device,pin_memory",             op_zeros},
    {"zeros_like",
     "self,dtype,layout,device,pin_memory,memory_format",
     op_zeros_like},
};
/* clang-format on */

/* Every IR op (default domain) a handler above or the interpreter may emit, sorted: st_ts_op
 * refuses any other, so this list cannot fall behind the handlers; the unit test checks each
 * against the operator registry. */
/* clang-format off */
static const char *const emitted_ops[] = {
    "Abs", "Add", "And", "ArgMax", "ArgMin", "AveragePool", "BatchNormalization", "Cast", "Ceil",
    "Clip", "Concat", "ConstantOfShape", "Conv", "ConvTranspose", "Cos", "CumSum", "Div",
    "Einsum", "Elu", "Equal", "Erf", "Exp", "Expand", "Floor", "Gather", "Gemm",
    "GlobalAveragePool", "Greater", "GreaterOrEqual", "HardSigmoid", "HardSwish", "Identity",
    "If", "LSTM", "LayerNormalization", "LeakyRelu", "Less", "LessOrEqual", "Log", "LogSoftmax",
    "Loop", "MatMul", "Max", "MaxPool", "Min", "Mod", "Mul", "Neg", "Not", "Or", "PRelu", "Pad",
    "Pow", "Range", "Reciprocal", "ReduceL2", "ReduceMax", "ReduceMean", "ReduceMin", "ReduceSum",
    "Relu", "Reshape", "Round", "Shape", "Sigmoid", "Sign", "Sin", "Size", "Slice", "Softmax",
    "Softplus", "Split", "Sqrt", "Squeeze", "Sub", "Tanh", "Tile", "TopK", "Transpose", "Trilu",
    "Unsqueeze", "Where", "Xor",
};
/* clang-format on */

static int name_cmp(const void *key, const void *item) {
    return strcmp(key, *(const char *const *)item);
}

const char *const *st_ts_emitted_ops(size_t *n) {
    *n = ST_ARRAY_LEN(emitted_ops);
    return emitted_ops;
}

bool st_ts_emits(const char *op_type) {
    return bsearch(op_type, emitted_ops, ST_ARRAY_LEN(emitted_ops), sizeof *emitted_ops,
                   name_cmp) != NULL;
}

const st_ts_op_def *st_ts_optab_rows(size_t *n) {
    *n = ST_ARRAY_LEN(optab);
    return optab;
}

const char *st_ts_optab_name(const st_ts_op_def *row) { return row->name; }

const st_ts_op_def *st_ts_optab_find(const char *name) {
    size_t lo = 0, hi = ST_ARRAY_LEN(optab);
    while (lo < hi) { /* the table is sorted by name */
        size_t mid = (lo + hi) / 2;
        int c = strcmp(name, optab[mid].name);
        if (!c) return &optab[mid];
        if (c < 0) hi = mid;
        else lo = mid + 1;
    }
    return NULL;
}
