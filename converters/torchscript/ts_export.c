/* converters/torchscript/ts_export.c: IR -> TorchScript archive that torch.jit.load (PyTorch
 * 1.13) accepts: one module class whose forward calls aten ops on the IR's nodes in
 * topological order (If -> if/else, Loop -> while), constants as buffers in data.pkl with
 * their storages under data/. Ops without a TorchScript spelling here are refused by name. */
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pickle/pickle.h"
#include "ts_convert.h"
#include "ts_tables.h"
#include "ts_types.h"
#include "zip/zip.h"

/* Per-graph facts: a name per value and inferred dtype / rank. */
typedef struct ginfo {
    const st_graph *g;
    int id;
    st_dtype *dt;
    int *rank;
    int *konst; /* buffer index for constants, else -1 */
} ginfo;

#define NAME_RING 16
#define NAME_LEN 64

typedef struct st_ts_ex {
    const st_model *m;
    const char *path;
    st_error *err;
    st_status st;
    st_sb code;
    ginfo *gi;
    size_t ngi, capgi;
    const st_tensor **consts; /* buffers c0, c1, ... */
    size_t nconsts, capconsts;
    st_tensor **owned; /* tensors made here (Constant attrs, reordered LSTM weights) */
    size_t nowned, capowned;
    int tmp;
    char names[NAME_RING][NAME_LEN]; /* see IN / OUT */
    unsigned next_name;
} ex;

static char *ring(ex *e) { return e->names[e->next_name++ % NAME_RING]; }

static st_status fail(ex *e, st_status s, const char *fmt, ...) ST_PRINTF(3, 4);
static st_status fail(ex *e, st_status s, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    st_status r = st_sticky_failv(&e->st, e->err, s, fmt, ap);
    va_end(ap);
    return r;
}

/* A callee's failure, its message in e2, becomes the exporter's (through fail, the one place
 * that sets e->st). */
static st_status took(ex *e, st_status s, const st_error *e2) {
    return s ? fail(e, s, "%s", e2->msg) : e->st;
}

static ginfo *info(ex *e, const st_graph *g) {
    for (size_t i = 0; i < e->ngi; i++)
        if (e->gi[i].g == g) return &e->gi[i];
    return NULL;
}

/* Follow outer references to the defining graph. */
static void resolve(const st_graph **g, int *vi) {
    while (*vi >= 0 && (*g)->values[*vi].role == ST_VALUE_OUTER && (*g)->parent) {
        *vi = (*g)->values[*vi].outer_index;
        *g = (*g)->parent;
    }
}

/* t becomes buffer c<*idx> of the module. */
static st_status add_const(ex *e, const st_tensor *t, int *idx) {
    if (!ST_GROW(e->consts, e->capconsts, e->nconsts + 1))
        return fail(e, ST_ERR_NOMEM, "out of memory");
    e->consts[e->nconsts] = t;
    *idx = (int)e->nconsts++;
    return ST_OK;
}

static st_tensor *own(ex *e) {
    st_tensor *t = ST_GROW(e->owned, e->capowned, e->nowned + 1) ? st_calloc(1, sizeof *t) : NULL;
    if (!t) {
        fail(e, ST_ERR_NOMEM, "out of memory");
        return NULL;
    }
    e->owned[e->nowned++] = t;
    return t;
}

/* The name a value goes by in the generated code. */
static const char *vname(ex *e, const st_graph *g, int vi, char *buf, size_t cap) {
    resolve(&g, &vi);
    ginfo *gi = info(e, g);
    if (!gi || vi < 0) return snprintf(buf, cap, "None"), buf;
    if (gi->konst[vi] >= 0) snprintf(buf, cap, "c%d", gi->konst[vi]);
    else snprintf(buf, cap, "v%d_%d", gi->id, vi);
    return buf;
}

static const st_tensor *const_of(ex *e, const st_graph *g, int vi) {
    resolve(&g, &vi);
    ginfo *gi = info(e, g);
    if (!gi || vi < 0 || gi->konst[vi] < 0) return NULL;
    return e->consts[gi->konst[vi]];
}

static bool const_ints(ex *e, const st_graph *g, int vi, int64_t *out, size_t cap, size_t *n) {
    const st_tensor *t = const_of(e, g, vi);
    if (!t || t->ndim > 1 || !(st_dtype_is_int(t->dtype))) return false;
    size_t k = st_tensor_nelem(t);
    if (k > cap) return false;
    for (size_t i = 0; i < k; i++) out[i] = st_tensor_get_i64(t, i);
    *n = k;
    return true;
}

static void ints_lit(st_sb *b, const int64_t *v, size_t n) {
    st_sb_printf(b, "[");
    for (size_t i = 0; i < n; i++) st_sb_printf(b, "%s%" PRId64, i ? ", " : "", v[i]);
    st_sb_printf(b, "]");
}

static void float_lit(st_sb *b, double v) {
    if (isinf(v)) st_sb_printf(b, "%sfloat(\"inf\")", v < 0 ? "-" : "");
    else if (isnan(v)) st_sb_printf(b, "float(\"nan\")");
    else {
        char t[64];
        snprintf(t, sizeof t, "%.17g", v);
        if (!strpbrk(t, ".eE")) strcat(t, ".");
        st_sb_printf(b, "%s", t);
    }
}

static st_dtype vdt(ex *e, const st_graph *g, int vi) {
    resolve(&g, &vi);
    ginfo *gi = info(e, g);
    return gi && vi >= 0 ? gi->dt[vi] : ST_DTYPE_UNDEFINED;
}
static int vrank(ex *e, const st_graph *g, int vi) {
    resolve(&g, &vi);
    ginfo *gi = info(e, g);
    return gi && vi >= 0 ? gi->rank[vi] : -1;
}

/* How analyse types a node's outputs that the IR (declared or inferred) leaves unknown, from
 * the inputs' types: one rule per export row. */
enum {
    OUT_SAME,       /* the first input's dtype and rank */
    OUT_SAME_DTYPE, /* its dtype, rank unknown */
    OUT_UNKNOWN,    /* nothing (If, Loop: taken from the branch or carried values) */
    OUT_BCAST,      /* the first input's dtype, the largest rank of the inputs */
    OUT_BOOL,       /* bool, the largest rank */
    OUT_SHAPE,      /* int64 [rank] */
    OUT_SIZE,       /* int64 scalar */
    OUT_CAST,       /* attribute `to`, same rank */
    OUT_FILL,       /* ConstantOfShape: the value's dtype, rank = length of a constant shape */
    OUT_WHERE,      /* the second input's dtype */
    OUT_2D,         /* rank 2 */
    OUT_RESHAPE,    /* rank = length of a constant shape */
    OUT_SQUEEZE,    /* rank minus the constant axes */
    OUT_UNSQUEEZE,  /* rank plus the constant axes */
    OUT_GATHER,     /* data rank - 1 + indices rank */
    OUT_MATMUL,     /* NumPy matmul rank */
    OUT_REDUCE,     /* same rank when keepdims */
};

/* ---- analysis: constants, dtypes, ranks ----------------------------------------- */
static st_status analyse(ex *e, const st_graph *g);

/* A Constant node becomes a module buffer. */
static st_status analyse_constant(ex *e, ginfo *gi, const st_node *n) {
    const st_attr *va = st_node_attr(n, "value");
    st_tensor *t = NULL;
    if (va && va->kind == ST_ATTR_TENSOR) {
        if (!(t = own(e))) return e->st;
        st_tensor_share(t, &va->t);
    } else if ((va = st_node_attr(n, "value_float")) || (va = st_node_attr(n, "value_int"))) {
        st_error e2;
        st_dtype dt = va->kind == ST_ATTR_FLOAT ? ST_DTYPE_F32 : ST_DTYPE_I64;
        if (!(t = own(e)) || took(e, st_tensor_alloc(t, dt, 0, NULL, &e2), &e2)) return e->st;
        st_tensor_set_f64(t, 0, va->kind == ST_ATTR_FLOAT ? va->f : (double)va->i);
    } else if ((va = st_node_attr(n, "value_ints")) || (va = st_node_attr(n, "value_floats"))) {
        int64_t k = (int64_t)va->n;
        st_error e2;
        st_dtype dt = va->kind == ST_ATTR_FLOATS ? ST_DTYPE_F32 : ST_DTYPE_I64;
        if (!(t = own(e)) || took(e, st_tensor_alloc(t, dt, 1, &k, &e2), &e2)) return e->st;
        for (size_t i = 0; i < va->n; i++)
            st_tensor_set_f64(t, i,
                              va->kind == ST_ATTR_FLOATS ? va->floats[i] : (double)va->ints[i]);
    } else
        return fail(e, ST_ERR_UNSUPPORTED, "Constant node \"%s\" of an unsupported kind", n->name);
    int o = n->outputs[0];
    if (add_const(e, t, &gi->konst[o])) return e->st;
    gi->dt[o] = t->dtype;
    gi->rank[o] = t->ndim;
    return e->st;
}

static const st_ts_export_row *row_of(const char *op);

/* Constant-shape input i's length (Reshape's shape, ConstantOfShape's), -1 if not constant. */
static int shape_len(ex *e, const st_graph *g, const st_node *n, int i) {
    int64_t s[ST_MAX_RANK];
    size_t k;
    return n->n_in > i && const_ints(e, g, n->inputs[i], s, ST_MAX_RANK, &k) ? (int)k : -1;
}

/* The largest rank of n's inputs (-1 when one is unknown). */
static int bcast_rank(ex *e, const st_graph *g, const st_node *n) {
    int r = -1;
    for (int i = 0; i < n->n_in; i++) {
        int ri = vrank(e, g, n->inputs[i]);
        if (ri < 0) return -1;
        r = ST_MAX(r, ri);
    }
    return r;
}

/* The row's rule for outputs the IR left untyped (see OUT_*). */
static void guess_type(ex *e, const st_graph *g, const st_node *n, int rule, st_dtype *dt,
                       int *rank) {
    bool in0 = n->n_in > 0 && n->inputs[0] >= 0;
    int r0 = in0 ? vrank(e, g, n->inputs[0]) : -1;
    int r1 = n->n_in > 1 ? vrank(e, g, n->inputs[1]) : -1;
    *dt = in0 ? vdt(e, g, n->inputs[0]) : ST_DTYPE_UNDEFINED;
    *rank = r0;
    int64_t ax[ST_MAX_RANK];
    size_t k = 0;
    const int64_t *av;
    bool have;
    switch (rule) {
    case OUT_SAME: break;
    case OUT_SAME_DTYPE: *rank = -1; break;
    case OUT_UNKNOWN: *dt = ST_DTYPE_UNDEFINED, *rank = -1; break;
    case OUT_BCAST: *rank = bcast_rank(e, g, n); break;
    case OUT_BOOL: *dt = ST_DTYPE_BOOL, *rank = bcast_rank(e, g, n); break;
    case OUT_SHAPE: *dt = ST_DTYPE_I64, *rank = 1; break;
    case OUT_SIZE: *dt = ST_DTYPE_I64, *rank = 0; break;
    case OUT_CAST: *dt = (st_dtype)st_attr_int(n, "to", 1); break;
    case OUT_FILL: {
        const st_attr *va = st_node_attr(n, "value");
        *dt = va && va->kind == ST_ATTR_TENSOR ? va->t.dtype : ST_DTYPE_F32;
        *rank = shape_len(e, g, n, 0);
        break;
    }
    case OUT_WHERE:
        *dt = n->n_in > 1 ? vdt(e, g, n->inputs[1]) : ST_DTYPE_UNDEFINED;
        *rank = -1;
        break;
    case OUT_2D: *rank = 2; break;
    case OUT_RESHAPE: *rank = shape_len(e, g, n, 1); break;
    case OUT_SQUEEZE:
    case OUT_UNSQUEEZE:
        have = n->n_in > 1 ? const_ints(e, g, n->inputs[1], ax, ST_MAX_RANK, &k)
                           : (k = st_attr_ints(n, "axes", &av), true);
        if (r0 < 0 || !have) *rank = -1;
        else *rank = rule == OUT_UNSQUEEZE ? r0 + (int)k : k ? r0 - (int)k : -1;
        break;
    case OUT_GATHER: *rank = r0 < 0 || r1 < 0 ? -1 : r0 - 1 + r1; break;
    case OUT_MATMUL:
        *rank = r0 < 0 || r1 < 0     ? -1
                : r0 == 1 && r1 == 1 ? 0
                : r0 == 1            ? r1 - 1
                : r1 == 1            ? r0 - 1
                                     : ST_MAX(r0, r1);
        break;
    case OUT_REDUCE: *rank = st_attr_int(n, "keepdims", 1) ? r0 : -1; break;
    }
}

/* Types come from the IR: declared, or filled by static inference (st_model_load runs
 * st_infer_model); where it left a value untyped, the node's export row says how to type it
 * from the inputs. Constants become buffers, and If/Loop outputs take their branch's or
 * carried input's type. */
static st_status analyse_node(ex *e, int gid, const st_node *n) {
    for (int a = 0; a < n->n_attrs; a++)
        if (n->attrs[a].kind == ST_ATTR_GRAPH && analyse(e, n->attrs[a].g)) return e->st;
    ginfo *gi = &e->gi[gid]; /* analysing subgraphs may have moved the table */
    const st_graph *g = gi->g;
    if (!strcmp(n->op_type, "Constant")) return analyse_constant(e, gi, n);
    const st_attr *body = st_node_attr(n, "body"), *then = st_node_attr(n, "then_branch");
    const st_ts_export_row *row = row_of(n->op_type);
    for (int i = 0; i < n->n_out; i++) {
        int o = n->outputs[i];
        if (o < 0) continue;
        const st_type *ty = &g->values[o].type;
        bool known = ty->kind == ST_VAL_TENSOR;
        gi->dt[o] = known ? ty->dtype : ST_DTYPE_UNDEFINED;
        gi->rank[o] = known ? ty->rank : -1;
        if (gi->dt[o] && gi->rank[o] >= 0) continue;
        if (row && !body && !then) {
            st_dtype dt;
            int rank;
            guess_type(e, g, n, row->out, &dt, &rank);
            if (!gi->dt[o]) gi->dt[o] = dt;
            if (gi->rank[o] < 0) gi->rank[o] = rank;
            continue;
        }
        if (body && body->kind == ST_ATTR_GRAPH && i + 2 < n->n_in && n->inputs[i + 2] >= 0) {
            /* Loop: carried outputs keep their initial values' types */
            if (!gi->dt[o]) gi->dt[o] = vdt(e, g, n->inputs[i + 2]);
            if (gi->rank[o] < 0) gi->rank[o] = vrank(e, g, n->inputs[i + 2]);
        } else if (then && then->kind == ST_ATTR_GRAPH && (size_t)i < then->g->n_outputs) {
            if (!gi->dt[o]) gi->dt[o] = vdt(e, then->g, then->g->outputs[i]);
            if (gi->rank[o] < 0) gi->rank[o] = vrank(e, then->g, then->g->outputs[i]);
        }
    }
    return e->st;
}

static st_status analyse(ex *e, const st_graph *g) {
    if (!ST_GROW(e->gi, e->capgi, e->ngi + 1)) return fail(e, ST_ERR_NOMEM, "out of memory");
    ginfo *gi = &e->gi[e->ngi];
    memset(gi, 0, sizeof *gi);
    gi->g = g;
    gi->id = (int)e->ngi++;
    size_t nv = g->n_values ? g->n_values : 1;
    if (!(gi->dt = st_calloc(nv, sizeof *gi->dt)) ||
        !(gi->rank = st_calloc(nv, sizeof *gi->rank)) ||
        !(gi->konst = st_calloc(nv, sizeof *gi->konst)))
        return fail(e, ST_ERR_NOMEM, "out of memory");
    int id = gi->id;
    for (size_t i = 0; i < g->n_values; i++) {
        const st_ir_value *v = &g->values[i];
        gi->konst[i] = -1;
        gi->rank[i] = v->type.kind == ST_VAL_TENSOR ? v->type.rank : -1;
        gi->dt[i] = v->type.kind == ST_VAL_TENSOR ? v->type.dtype : ST_DTYPE_UNDEFINED;
        bool is_input = false; /* (an initializer also listed as an input stays a constant) */
        for (size_t k = 0; k < g->n_inputs && !v->has_const; k++)
            is_input |= g->inputs[k] == (int)i;
        if (v->has_const && !is_input && v->role != ST_VALUE_OUTER) {
            if (add_const(e, &v->const_val, &gi->konst[i])) return e->st;
            gi->dt[i] = v->const_val.dtype;
            gi->rank[i] = v->const_val.ndim;
        }
    }
    int *order = st_malloc(sizeof(int) * (g->n_nodes ? g->n_nodes : 1));
    if (!order) return fail(e, ST_ERR_NOMEM, "out of memory");
    st_error e2;
    if (st_graph_toposort(g, order, &e2)) {
        st_free(order);
        return fail(e, e2.status, "%s", e2.msg);
    }
    for (size_t k = 0; k < g->n_nodes && !e->st; k++) analyse_node(e, id, &g->nodes[order[k]]);
    st_free(order);
    return e->st;
}

/* ---- code generation --------------------------------------------------------------- */
/* Names of a node's inputs and outputs, each in the next slot of the exporter's ring (enough
 * for every name one printf takes; no cap on a node's inputs). */
#define IN(i) vname(e, g, n->inputs[i], ring(e), NAME_LEN)
#define OUT(i) vname(e, g, n->outputs[i], ring(e), NAME_LEN)
#define HAS(i) (n->n_in > (i) && n->inputs[i] >= 0)

static void indent(ex *e, int d) {
    for (int i = 0; i < d; i++) st_sb_printf(&e->code, "  ");
}

static st_status emit_graph(ex *e, const st_graph *g, int d);

static void spatial(ex *e, const st_node *n, const char *name, size_t sp, int64_t def,
                    int64_t *out) {
    const int64_t *v;
    size_t k = st_attr_ints(n, name, &v);
    for (size_t i = 0; i < sp; i++) out[i] = i < k ? v[i] : def;
    (void)e;
}

/* Symmetric pads; asymmetric ones pad explicitly first (value `fill`). Returns the name to use. */
static const char *pads_of(ex *e, const st_node *n, const char *x, size_t sp, int64_t *pads,
                           const char *fill, int d, char *buf, size_t cap) {
    const int64_t *p;
    size_t k = st_attr_ints(n, "pads", &p);
    const char *ap = st_attr_string(n, "auto_pad", "NOTSET");
    if (strcmp(ap, "NOTSET") && strcmp(ap, "VALID")) {
        fail(e, ST_ERR_UNSUPPORTED,
             "node \"%s\" (%s): auto_pad %s is not supported for TorchScript", n->name, n->op_type,
             ap);
        return x;
    }
    bool sym = true;
    for (size_t i = 0; i < sp; i++) {
        int64_t b = i < k ? p[i] : 0, en = i + sp < k ? p[i + sp] : 0;
        pads[i] = b;
        if (b != en) sym = false;
    }
    if (sym) return x;
    snprintf(buf, cap, "_p%d", e->tmp++);
    indent(e, d);
    st_sb_printf(&e->code, "%s = ops.aten.constant_pad_nd(%s, [", buf, x);
    for (size_t i = sp; i-- > 0;) /* torch pads the last dim first */
        st_sb_printf(&e->code, "%" PRId64 ", %" PRId64 "%s", i < k ? p[i] : 0,
                     i + sp < k ? p[i + sp] : 0, i ? ", " : "");
    st_sb_printf(&e->code, "], %s)\n", fill);
    for (size_t i = 0; i < sp; i++) pads[i] = 0;
    return buf;
}

/* ONNX LSTM weights [D, 4H, K] in i,o,f,c order -> PyTorch per-direction [4H, K] in i,f,g,o. */
static st_status lstm_weight(ex *e, const st_tensor *t, int64_t dir, bool bias_half, int half,
                             int *idx) {
    static const int order[4] = {0, 2, 3, 1}; /* torch gate g <- onnx gate order[g] */
    int64_t rows = t->ndim == 3 ? t->dims[1] : t->dims[1] / 2, K = t->ndim == 3 ? t->dims[2] : 1;
    int64_t H = rows / 4;
    st_tensor *o = own(e);
    if (!o) return e->st;
    int64_t dims[2] = {rows, K};
    st_error e2;
    if (took(e, st_tensor_alloc(o, ST_DTYPE_F32, bias_half ? 1 : 2, dims, &e2), &e2)) return e->st;
    float *w = o->data;
    for (int g = 0; g < 4; g++)
        for (int64_t r = 0; r < H; r++)
            for (int64_t c = 0; c < K; c++) {
                size_t src = t->ndim == 3 ? (size_t)((dir * 4 * H + order[g] * H + r) * K + c)
                                          : (size_t)(dir * 8 * H + half * 4 * H + order[g] * H + r);
                w[(g * H + r) * K + c] = (float)st_tensor_get_f64(t, src);
            }
    return add_const(e, o, idx);
}

static st_status em_constant(ex *e, const st_graph *g, const st_node *n, int d, const char *aten) {
    (void)e, (void)g, (void)n, (void)d, (void)aten; /* folded into a buffer by analyse_node */
    return ST_OK;
}

static st_status em_identity(ex *e, const st_graph *g, const st_node *n, int d, const char *aten) {
    (void)aten;
    indent(e, d);
    st_sb_printf(&e->code, "%s = %s\n", OUT(0), IN(0));
    return e->st;
}

static st_status em_unary(ex *e, const st_graph *g, const st_node *n, int d, const char *aten) {
    indent(e, d);
    st_sb_printf(&e->code, "%s = ops.aten.%s(%s)\n", OUT(0), aten, IN(0));
    return e->st;
}

static st_status em_binary(ex *e, const st_graph *g, const st_node *n, int d, const char *aten) {
    indent(e, d);
    st_sb_printf(&e->code, "%s = ops.aten.%s(%s, %s)\n", OUT(0), aten, IN(0), IN(1));
    return e->st;
}

static st_status em_div(ex *e, const st_graph *g, const st_node *n, int d, const char *aten) {
    (void)aten;
    st_sb *c = &e->code;
    indent(e, d);
    bool integral = st_dtype_is_int(vdt(e, g, n->inputs[0]));
    st_sb_printf(c, "%s = ops.aten.div(%s, %s%s)\n", OUT(0), IN(0), IN(1),
                 integral ? ", rounding_mode=\"trunc\"" : "");
    return e->st;
}

static st_status em_mod(ex *e, const st_graph *g, const st_node *n, int d, const char *aten) {
    (void)aten;
    st_sb *c = &e->code;
    (void)g;
    indent(e, d);
    st_sb_printf(c, "%s = ops.aten.%s(%s, %s)\n", OUT(0),
                 st_attr_int(n, "fmod", 0) ? "fmod" : "remainder", IN(0), IN(1));
    return e->st;
}

static st_status em_variadic(ex *e, const st_graph *g, const st_node *n, int d, const char *aten) {
    st_sb *c = &e->code;
    indent(e, d);
    st_sb_printf(c, "%s = %s\n", OUT(0), IN(0));
    for (int i = 1; i < n->n_in; i++) {
        char t[64];
        indent(e, d);
        st_sb_printf(c, "%s = ops.aten.%s(%s, %s)\n", OUT(0), aten, OUT(0),
                     vname(e, g, n->inputs[i], t, sizeof t));
    }
    return e->st;
}

static st_status em_clip(ex *e, const st_graph *g, const st_node *n, int d, const char *aten) {
    (void)aten;
    st_sb *c = &e->code;
    indent(e, d);
    const st_tensor *lo = HAS(1) ? const_of(e, g, n->inputs[1]) : NULL,
                    *hi = HAS(2) ? const_of(e, g, n->inputs[2]) : NULL;
    st_sb_printf(c, "%s = ops.aten.clamp(%s, ", OUT(0), IN(0));
    if (lo && st_tensor_nelem(lo) == 1) float_lit(c, st_tensor_get_f64(lo, 0));
    else st_sb_printf(c, "%s", HAS(1) ? "None" : "None");
    st_sb_printf(c, ", ");
    if (hi && st_tensor_nelem(hi) == 1) float_lit(c, st_tensor_get_f64(hi, 0));
    else st_sb_printf(c, "None");
    st_sb_printf(c, ")\n");
    if ((HAS(1) && !(lo && st_tensor_nelem(lo) == 1)) ||
        (HAS(2) && !(hi && st_tensor_nelem(hi) == 1)))
        return fail(e, ST_ERR_UNSUPPORTED, "node \"%s\" (Clip): bounds computed at run time",
                    n->name);
    return e->st;
}

static st_status em_leakyrelu(ex *e, const st_graph *g, const st_node *n, int d, const char *aten) {
    (void)aten;
    st_sb *c = &e->code;
    (void)g;
    indent(e, d);
    st_sb_printf(c, "%s = ops.aten.leaky_relu(%s, ", OUT(0), IN(0));
    float_lit(c, st_attr_float(n, "alpha", 0.01));
    st_sb_printf(c, ")\n");
    return e->st;
}

static st_status em_elu(ex *e, const st_graph *g, const st_node *n, int d, const char *aten) {
    (void)aten;
    st_sb *c = &e->code;
    (void)g;
    indent(e, d);
    st_sb_printf(c, "%s = ops.aten.elu(%s, ", OUT(0), IN(0));
    float_lit(c, st_attr_float(n, "alpha", 1.0));
    st_sb_printf(c, ")\n");
    return e->st;
}

static st_status em_hardsigmoid(ex *e, const st_graph *g, const st_node *n, int d,
                                const char *aten) {
    (void)aten;
    st_sb *c = &e->code;
    (void)g;
    indent(e, d);
    double al = st_attr_float(n, "alpha", 0.2), be = st_attr_float(n, "beta", 0.5);
    st_sb_printf(c, "%s = ops.aten.clamp(ops.aten.add(ops.aten.mul(%s, ", OUT(0), IN(0));
    float_lit(c, al);
    st_sb_printf(c, "), ");
    float_lit(c, be);
    st_sb_printf(c, "), 0., 1.)\n");
    return e->st;
}

static st_status em_softmax(ex *e, const st_graph *g, const st_node *n, int d, const char *aten) {
    (void)aten;
    const char *op = n->op_type;
    st_sb *c = &e->code;
    (void)g;
    indent(e, d);
    st_sb_printf(c, "%s = ops.aten.%s(%s, %" PRId64 ")\n", OUT(0),
                 op[0] == 'S' ? "softmax" : "log_softmax", IN(0), st_attr_int(n, "axis", -1));
    return e->st;
}

static st_status em_conv(ex *e, const st_graph *g, const st_node *n, int d, const char *aten) {
    (void)aten;
    const char *op = n->op_type;
    st_sb *c = &e->code;
    indent(e, d);
    int wr = vrank(e, g, n->inputs[1]);
    const st_tensor *w = const_of(e, g, n->inputs[1]);
    if (w) wr = w->ndim;
    if (wr < 3)
        return fail(e, ST_ERR_UNSUPPORTED, "node \"%s\" (%s): weight rank unknown", n->name, op);
    size_t sp = (size_t)wr - 2;
    int64_t s[ST_MAX_RANK], dl[ST_MAX_RANK], pads[ST_MAX_RANK], opad[ST_MAX_RANK];
    spatial(e, n, "strides", sp, 1, s), spatial(e, n, "dilations", sp, 1, dl),
        spatial(e, n, "output_padding", sp, 0, opad);
    bool tr = op[4] == 'T';
    char xb[64];
    const char *x = pads_of(e, n, IN(0), sp, pads, "0.", d, xb, sizeof xb);
    if (x == xb) indent(e, d);
    st_sb_printf(c, "%s = ops.aten.convolution(%s, %s, %s, ", OUT(0), x, IN(1),
                 HAS(2) ? IN(2) : "None");
    ints_lit(c, s, sp), st_sb_printf(c, ", "), ints_lit(c, pads, sp), st_sb_printf(c, ", "),
        ints_lit(c, dl, sp);
    st_sb_printf(c, ", %s, ", tr ? "True" : "False"), ints_lit(c, opad, sp);
    st_sb_printf(c, ", %" PRId64 ")\n", st_attr_int(n, "group", 1));
    return e->st;
}

static st_status em_batch_normalization(ex *e, const st_graph *g, const st_node *n, int d,
                                        const char *aten) {
    (void)aten;
    st_sb *c = &e->code;
    (void)g;
    indent(e, d);
    st_sb_printf(c, "%s = ops.aten.batch_norm(%s, %s, %s, %s, %s, False, 0.1, ", OUT(0), IN(0),
                 IN(1), IN(2), IN(3), IN(4));
    float_lit(c, st_attr_float(n, "epsilon", 1e-5));
    st_sb_printf(c, ", False)\n");
    return e->st;
}

static st_status em_pool(ex *e, const st_graph *g, const st_node *n, int d, const char *aten) {
    (void)aten;
    const char *op = n->op_type;
    st_sb *c = &e->code;
    (void)g;
    indent(e, d);
    const int64_t *ks;
    size_t sp = st_attr_ints(n, "kernel_shape", &ks);
    if (sp < 1 || sp > 3 || (n->n_out > 1 && n->outputs[1] >= 0))
        return fail(e, ST_ERR_UNSUPPORTED, "node \"%s\" (%s): only 1-3-D pooling without indices",
                    n->name, op);
    int64_t s[ST_MAX_RANK], dl[ST_MAX_RANK], pads[ST_MAX_RANK];
    spatial(e, n, "strides", sp, 1, s), spatial(e, n, "dilations", sp, 1, dl);
    bool mx = op[0] == 'M';
    char xb[64];
    const char *x = pads_of(e, n, IN(0), sp, pads, mx ? "float(\"-inf\")" : "0.", d, xb, sizeof xb);
    if (x == xb) indent(e, d);
    if (!mx && x == xb && !st_attr_int(n, "count_include_pad", 0))
        return fail(e, ST_ERR_UNSUPPORTED, "node \"%s\": asymmetric average pooling excluding pads",
                    n->name);
    st_sb_printf(c, "%s = ops.aten.%s_pool%zud(%s, ", OUT(0), mx ? "max" : "avg", sp, x);
    ints_lit(c, ks, sp), st_sb_printf(c, ", "), ints_lit(c, s, sp), st_sb_printf(c, ", "),
        ints_lit(c, pads, sp);
    if (mx)
        st_sb_printf(c, ", "), ints_lit(c, dl, sp),
            st_sb_printf(c, ", %s)\n", st_attr_int(n, "ceil_mode", 0) ? "True" : "False");
    else
        st_sb_printf(c, ", %s, %s%s)\n", st_attr_int(n, "ceil_mode", 0) ? "True" : "False",
                     st_attr_int(n, "count_include_pad", 0) || x == xb ? "True" : "False",
                     sp == 2 ? ", None" : "");
    return e->st;
}

static st_status em_global_pool(ex *e, const st_graph *g, const st_node *n, int d,
                                const char *aten) {
    (void)aten;
    const char *op = n->op_type;
    st_sb *c = &e->code;
    indent(e, d);
    if (vrank(e, g, n->inputs[0]) >= 2) {
        int64_t ax[ST_MAX_RANK];
        int r = vrank(e, g, n->inputs[0]);
        for (int i = 2; i < r; i++) ax[i - 2] = i;
        st_sb_printf(c, "%s = ops.aten.%s(%s, ", OUT(0), op[6] == 'A' ? "mean" : "amax", IN(0));
        ints_lit(c, ax, (size_t)r - 2), st_sb_printf(c, ", True)\n");
    } else {
        st_sb_printf(c, "%s = ops.aten.%s(%s, [_i for _i in range(2, ops.aten.dim(%s))], True)\n",
                     OUT(0), op[6] == 'A' ? "mean" : "amax", IN(0), IN(0));
    }
    return e->st;
}

static st_status em_gemm(ex *e, const st_graph *g, const st_node *n, int d, const char *aten) {
    (void)aten;
    st_sb *c = &e->code;
    (void)g;
    indent(e, d);
    char a[80], b[80];
    snprintf(a, sizeof a, st_attr_int(n, "transA", 0) ? "ops.aten.t(%s)" : "%s", IN(0));
    snprintf(b, sizeof b, st_attr_int(n, "transB", 0) ? "ops.aten.t(%s)" : "%s", IN(1));
    double al = st_attr_float(n, "alpha", 1), be = st_attr_float(n, "beta", 1);
    if (HAS(2)) {
        st_sb_printf(c, "%s = ops.aten.addmm(%s, %s, %s, beta=", OUT(0), IN(2), a, b);
        float_lit(c, be), st_sb_printf(c, ", alpha="), float_lit(c, al), st_sb_printf(c, ")\n");
    } else {
        st_sb_printf(c, "%s = ops.aten.mul(ops.aten.mm(%s, %s), ", OUT(0), a, b);
        float_lit(c, al), st_sb_printf(c, ")\n");
    }
    return e->st;
}

static st_status em_flatten(ex *e, const st_graph *g, const st_node *n, int d, const char *aten) {
    (void)aten;
    st_sb *c = &e->code;
    indent(e, d);
    int64_t ax = st_attr_int(n, "axis", 1);
    int r = vrank(e, g, n->inputs[0]);
    if (ax < 0 && r >= 0) ax += r;
    if (ax < 0)
        return fail(e, ST_ERR_UNSUPPORTED, "node \"%s\" (Flatten): negative axis of unknown rank",
                    n->name);
    if (ax == 0) st_sb_printf(c, "%s = ops.aten.reshape(%s, [1, -1])\n", OUT(0), IN(0));
    else
        st_sb_printf(c,
                     "%s = ops.aten.flatten(ops.aten.flatten(%s, %" PRId64 "), 0, %" PRId64 ")\n",
                     OUT(0), IN(0), ax, ax - 1);
    return e->st;
}

static st_status em_reshape(ex *e, const st_graph *g, const st_node *n, int d, const char *aten) {
    (void)aten;
    st_sb *c = &e->code;
    indent(e, d);
    int64_t s[ST_MAX_RANK];
    size_t k;
    if (const_ints(e, g, n->inputs[1], s, ST_MAX_RANK, &k)) {
        st_sb_printf(c, "%s = ops.aten.reshape(%s, [", OUT(0), IN(0));
        for (size_t i = 0; i < k; i++) {
            if (s[i] == 0 && !st_attr_int(n, "allowzero", 0))
                st_sb_printf(c, "%sops.aten.size(%s, %zu)", i ? ", " : "", IN(0), i);
            else st_sb_printf(c, "%s%" PRId64, i ? ", " : "", s[i]);
        }
        st_sb_printf(c, "])\n");
    } else
        st_sb_printf(c, "%s = ops.aten.reshape(%s, annotate(List[int], %s.tolist()))\n", OUT(0),
                     IN(0), IN(1));
    return e->st;
}

static st_status em_transpose(ex *e, const st_graph *g, const st_node *n, int d, const char *aten) {
    (void)aten;
    st_sb *c = &e->code;
    (void)g;
    indent(e, d);
    const int64_t *p;
    size_t k = st_attr_ints(n, "perm", &p);
    if (!k)
        st_sb_printf(c,
                     "%s = ops.aten.permute(%s, [ops.aten.dim(%s) - 1 - _i for _i in "
                     "range(ops.aten.dim(%s))])\n",
                     OUT(0), IN(0), IN(0), IN(0));
    else
        st_sb_printf(c, "%s = ops.aten.permute(%s, ", OUT(0), IN(0)), ints_lit(c, p, k),
            st_sb_printf(c, ")\n");
    return e->st;
}

static st_status em_squeeze(ex *e, const st_graph *g, const st_node *n, int d, const char *aten) {
    (void)aten;
    const char *op = n->op_type;
    st_sb *c = &e->code;
    indent(e, d);
    int64_t ax[ST_MAX_RANK];
    size_t k = 0;
    const int64_t *av;
    bool have = true;
    if (HAS(1)) have = const_ints(e, g, n->inputs[1], ax, ST_MAX_RANK, &k);
    else if ((k = st_attr_ints(n, "axes", &av))) memcpy(ax, av, k * sizeof *ax);
    if (!have)
        return fail(e, ST_ERR_UNSUPPORTED, "node \"%s\" (%s): axes computed at run time", n->name,
                    op);
    bool un = op[0] == 'U';
    int r = vrank(e, g, n->inputs[0]), rr = un ? (r >= 0 ? r + (int)k : -1) : r;
    for (size_t i = 0; i < k; i++)
        if (ax[i] < 0) {
            if (rr < 0)
                return fail(e, ST_ERR_UNSUPPORTED,
                            "node \"%s\" (%s): negative axes of unknown rank", n->name, op);
            ax[i] += rr;
        }
    for (size_t i = 0; i < k; i++) /* sort ascending */
        for (size_t j = i + 1; j < k; j++)
            if (ax[j] < ax[i]) {
                int64_t t = ax[i];
                ax[i] = ax[j];
                ax[j] = t;
            }
    if (!un && !k) st_sb_printf(c, "%s = ops.aten.squeeze(%s)\n", OUT(0), IN(0));
    else {
        st_sb_printf(c, "%s = %s\n", OUT(0), IN(0));
        for (size_t i = 0; i < k; i++) {
            indent(e, d);
            st_sb_printf(c, "%s = ops.aten.%s(%s, %" PRId64 ")\n", OUT(0),
                         un ? "unsqueeze" : "squeeze", OUT(0), un ? ax[i] : ax[k - 1 - i]);
        }
    }
    return e->st;
}

static st_status em_concat(ex *e, const st_graph *g, const st_node *n, int d, const char *aten) {
    (void)aten;
    st_sb *c = &e->code;
    indent(e, d);
    st_sb_printf(c, "%s = ops.aten.cat([", OUT(0));
    for (int i = 0; i < n->n_in; i++) {
        char t[64];
        st_sb_printf(c, "%s%s", i ? ", " : "", vname(e, g, n->inputs[i], t, sizeof t));
    }
    st_sb_printf(c, "], %" PRId64 ")\n", st_attr_int(n, "axis", 0));
    return e->st;
}

static st_status em_split(ex *e, const st_graph *g, const st_node *n, int d, const char *aten) {
    (void)aten;
    st_sb *c = &e->code;
    char tb[64];
    indent(e, d);
    int64_t ax = st_attr_int(n, "axis", 0), sz[8];
    size_t k = 0;
    const int64_t *sv;
    snprintf(tb, sizeof tb, "_s%d", e->tmp++);
    if (HAS(1) && const_ints(e, g, n->inputs[1], sz, 8, &k))
        st_sb_printf(c, "%s = ops.aten.split(%s, ", tb, IN(0)), ints_lit(c, sz, k),
            st_sb_printf(c, ", %" PRId64 ")\n", ax);
    else if (!HAS(1) && (k = st_attr_ints(n, "split", &sv)))
        st_sb_printf(c, "%s = ops.aten.split(%s, ", tb, IN(0)), ints_lit(c, sv, k),
            st_sb_printf(c, ", %" PRId64 ")\n", ax);
    else if (!HAS(1))
        st_sb_printf(c, "%s = ops.aten.chunk(%s, %d, %" PRId64 ")\n", tb, IN(0), n->n_out, ax);
    else { /* sizes computed at run time: one int per output */
        st_sb_printf(c, "%s = ops.aten.split_with_sizes(%s, [", tb, IN(0));
        for (int i = 0; i < n->n_out; i++)
            st_sb_printf(c, "%sint(ops.aten.select(%s, 0, %d))", i ? ", " : "", IN(1), i);
        st_sb_printf(c, "], %" PRId64 ")\n", ax);
    }
    for (int i = 0; i < n->n_out; i++)
        if (n->outputs[i] >= 0) indent(e, d), st_sb_printf(c, "%s = %s[%d]\n", OUT(i), tb, i);
    return e->st;
}

static st_status em_gather(ex *e, const st_graph *g, const st_node *n, int d, const char *aten) {
    (void)aten;
    st_sb *c = &e->code;
    char tb[64];
    indent(e, d);
    int64_t ax = st_attr_int(n, "axis", 0), iv[1] = {0};
    size_t k;
    const st_tensor *it = const_of(e, g, n->inputs[1]);
    if (it && it->ndim == 0 && const_ints(e, g, n->inputs[1], iv, 1, &k))
        st_sb_printf(c, "%s = ops.aten.select(%s, %" PRId64 ", %" PRId64 ")\n", OUT(0), IN(0), ax,
                     iv[0]);
    else if (ax == 0 && const_of(e, g, n->inputs[0]) && const_of(e, g, n->inputs[0])->ndim == 2)
        st_sb_printf(c, "%s = ops.aten.embedding(%s, ops.aten.remainder(%s, %" PRId64 "))\n",
                     OUT(0), IN(0), IN(1), const_of(e, g, n->inputs[0])->dims[0]);
    else if (ax == 0 && vrank(e, g, n->inputs[0]) == 2)
        st_sb_printf(c,
                     "%s = ops.aten.embedding(%s, ops.aten.remainder(%s, ops.aten.size(%s, 0)))\n",
                     OUT(0), IN(0), IN(1), IN(0));
    else {
        snprintf(tb, sizeof tb, "_g%d", e->tmp++);
        st_sb_printf(c,
                     "%s = ops.aten.index_select(%s, %" PRId64
                     ", ops.aten.reshape(ops.aten.remainder(%s, ops.aten.size(%s, %" PRId64
                     ")), [-1]))\n",
                     tb, IN(0), ax, IN(1), IN(0), ax);
        indent(e, d);
        st_sb_printf(c,
                     "%s = ops.aten.reshape(%s, ops.aten.slice(ops.aten.size(%s), 0, %" PRId64
                     ") + ops.aten.size(%s) + "
                     "ops.aten.slice(ops.aten.size(%s), %" PRId64 " + 1 if %" PRId64
                     " >= 0 else ops.aten.dim(%s) + %" PRId64 " + 1))\n",
                     OUT(0), tb, IN(0), ax, IN(1), IN(0), ax, ax, IN(0), ax);
    }
    return e->st;
}

static st_status em_slice(ex *e, const st_graph *g, const st_node *n, int d, const char *aten) {
    (void)aten;
    st_sb *c = &e->code;
    indent(e, d);
    int64_t st[ST_MAX_RANK], en[ST_MAX_RANK], ax[ST_MAX_RANK], sp[ST_MAX_RANK];
    size_t ks, ke, ka = 0, kp = 0;
    /* bounds may be computed at run time; axes and steps must be constants */
    bool cs = const_ints(e, g, n->inputs[1], st, ST_MAX_RANK, &ks),
         ce = const_ints(e, g, n->inputs[2], en, ST_MAX_RANK, &ke);
    if ((HAS(3) && !const_ints(e, g, n->inputs[3], ax, ST_MAX_RANK, &ka)) ||
        (HAS(4) && !const_ints(e, g, n->inputs[4], sp, ST_MAX_RANK, &kp)))
        return fail(e, ST_ERR_UNSUPPORTED,
                    "node \"%s\" (Slice): axes or steps computed at run time", n->name);
    size_t k = cs ? ks : ce ? ke : HAS(3) ? ka : 0;
    if (!k || (cs && ks != k) || (ce && ke != k) || (HAS(3) && ka != k) || (HAS(4) && kp != k))
        return fail(e, ST_ERR_UNSUPPORTED,
                    "node \"%s\" (Slice): cannot tell how many axes it slices", n->name);
    st_sb_printf(c, "%s = %s\n", OUT(0), IN(0));
    for (size_t i = 0; i < k; i++) {
        int64_t a = HAS(3) ? ax[i] : (int64_t)i, step = HAS(4) ? sp[i] : 1;
        if (step < 0) { /* a whole-axis reversal (what flip exports as) */
            if (!cs || !ce || !(st[i] == -1 || st[i] >= INT32_MAX) || en[i] > -(int64_t)INT32_MAX)
                return fail(e, ST_ERR_UNSUPPORTED,
                            "node \"%s\" (Slice): negative steps other than a full reversal",
                            n->name);
            indent(e, d);
            st_sb_printf(c, "%s = ops.aten.flip(%s, [%" PRId64 "])\n", OUT(0), OUT(0), a);
            if (step < -1)
                indent(e, d), st_sb_printf(c,
                                           "%s = ops.aten.slice(%s, %" PRId64
                                           ", 0, 9223372036854775807, %" PRId64 ")\n",
                                           OUT(0), OUT(0), a, -step);
            continue;
        }
        if (step < 1) return fail(e, ST_ERR_UNSUPPORTED, "node \"%s\" (Slice): zero step", n->name);
        char sbuf[128], ebuf[128];
        if (cs) snprintf(sbuf, sizeof sbuf, "%" PRId64, st[i]);
        else snprintf(sbuf, sizeof sbuf, "int(ops.aten.select(%s, 0, %zu))", IN(1), i);
        if (ce) snprintf(ebuf, sizeof ebuf, "%" PRId64, en[i]);
        else snprintf(ebuf, sizeof ebuf, "int(ops.aten.select(%s, 0, %zu))", IN(2), i);
        indent(e, d);
        st_sb_printf(c, "%s = ops.aten.slice(%s, %" PRId64 ", %s, %s, %" PRId64 ")\n", OUT(0),
                     OUT(0), a, sbuf, ebuf, step);
    }
    return e->st;
}

static st_status em_shape(ex *e, const st_graph *g, const st_node *n, int d, const char *aten) {
    (void)aten;
    st_sb *c = &e->code;
    (void)g;
    indent(e, d);
    st_sb_printf(c, "%s = ops.aten._shape_as_tensor(%s)\n", OUT(0), IN(0));
    int64_t s = st_attr_int(n, "start", 0), en = st_attr_int(n, "end", INT64_MAX);
    if (s || en != INT64_MAX)
        indent(e, d), st_sb_printf(c, "%s = ops.aten.slice(%s, 0, %" PRId64 ", %" PRId64 ")\n",
                                   OUT(0), OUT(0), s, en);
    return e->st;
}

static st_status em_size(ex *e, const st_graph *g, const st_node *n, int d, const char *aten) {
    (void)aten;
    st_sb *c = &e->code;
    (void)g;
    indent(e, d);
    st_sb_printf(c, "%s = ops.aten.tensor(ops.aten.numel(%s))\n", OUT(0), IN(0));
    return e->st;
}

static st_status em_constant_of_shape(ex *e, const st_graph *g, const st_node *n, int d,
                                      const char *aten) {
    (void)aten;
    st_sb *c = &e->code;
    indent(e, d);
    const st_attr *va = st_node_attr(n, "value");
    st_dtype dt = va && va->kind == ST_ATTR_TENSOR ? va->t.dtype : ST_DTYPE_F32;
    double v = va && va->kind == ST_ATTR_TENSOR && st_tensor_nelem(&va->t)
                   ? st_tensor_get_f64(&va->t, 0)
                   : 0;
    int64_t s[ST_MAX_RANK];
    size_t k;
    st_sb_printf(c, "%s = ops.aten.full(", OUT(0));
    if (const_ints(e, g, n->inputs[0], s, ST_MAX_RANK, &k)) ints_lit(c, s, k);
    else st_sb_printf(c, "annotate(List[int], %s.tolist())", IN(0));
    st_sb_printf(c, ", "), float_lit(c, v),
        st_sb_printf(c, ", dtype=%" PRId64 ")\n", st_ts_dtype_to_torch(dt));
    return e->st;
}

static st_status em_cast(ex *e, const st_graph *g, const st_node *n, int d, const char *aten) {
    (void)aten;
    st_sb *c = &e->code;
    (void)g;
    indent(e, d);
    int64_t code = st_ts_dtype_to_torch((st_dtype)st_attr_int(n, "to", 1));
    if (code < 0)
        return fail(e, ST_ERR_UNSUPPORTED,
                    "node \"%s\" (Cast): type %" PRId64 " has no TorchScript form", n->name,
                    st_attr_int(n, "to", 1));
    st_sb_printf(c, "%s = ops.aten.to(%s, %" PRId64 ")\n", OUT(0), IN(0), code);
    return e->st;
}

static st_status em_where(ex *e, const st_graph *g, const st_node *n, int d, const char *aten) {
    (void)aten;
    st_sb *c = &e->code;
    (void)g;
    indent(e, d);
    st_sb_printf(c, "%s = ops.aten.where(%s, %s, %s)\n", OUT(0), IN(0), IN(1), IN(2));
    return e->st;
}

static st_status em_expand(ex *e, const st_graph *g, const st_node *n, int d, const char *aten) {
    (void)aten;
    st_sb *c = &e->code;
    (void)g;
    indent(e, d);
    st_sb_printf(c,
                 "%s = ops.aten.add(%s, ops.aten.zeros(annotate(List[int], %s.tolist()), "
                 "dtype=ops.prim.dtype(%s)))\n",
                 OUT(0), IN(0), IN(1), IN(0));
    return e->st;
}

static st_status em_layer_normalization(ex *e, const st_graph *g, const st_node *n, int d,
                                        const char *aten) {
    (void)aten;
    st_sb *c = &e->code;
    indent(e, d);
    int64_t ax = st_attr_int(n, "axis", -1);
    const st_tensor *sc = const_of(e, g, n->inputs[1]);
    if (sc) { /* the scale's shape is the normalized shape */
        st_sb_printf(c, "%s = ops.aten.layer_norm(%s, ", OUT(0), IN(0));
        ints_lit(c, sc->dims, (size_t)sc->ndim);
        st_sb_printf(c, ", %s, %s, ", IN(1), HAS(2) ? IN(2) : "None");
    } else
        st_sb_printf(c,
                     "%s = ops.aten.layer_norm(%s, ops.aten.slice(ops.aten.size(%s), %" PRId64
                     "), %s, %s, ",
                     OUT(0), IN(0), IN(0), ax, IN(1), HAS(2) ? IN(2) : "None");
    float_lit(c, st_attr_float(n, "epsilon", 1e-5));
    st_sb_printf(c, ")\n");
    return e->st;
}

static st_status em_reduce(ex *e, const st_graph *g, const st_node *n, int d, const char *aten) {
    const char *op = n->op_type;
    st_sb *c = &e->code;
    indent(e, d);
    const char *at = aten;
    int64_t ax[ST_MAX_RANK];
    size_t k = 0;
    const int64_t *av;
    bool have = true;
    if (HAS(1)) have = const_ints(e, g, n->inputs[1], ax, ST_MAX_RANK, &k);
    else if ((k = st_attr_ints(n, "axes", &av))) memcpy(ax, av, k * sizeof *ax);
    if (!have)
        return fail(e, ST_ERR_UNSUPPORTED, "node \"%s\" (%s): axes computed at run time", n->name,
                    op);
    bool keep = st_attr_int(n, "keepdims", 1) != 0;
    if (!strcmp(at, "norm")) {
        if (!k) st_sb_printf(c, "%s = ops.aten.linalg_vector_norm(%s, 2)\n", OUT(0), IN(0));
        else
            st_sb_printf(c, "%s = ops.aten.linalg_vector_norm(%s, 2, ", OUT(0), IN(0)),
                ints_lit(c, ax, k), st_sb_printf(c, ", %s)\n", keep ? "True" : "False");
        if (!k && keep)
            return fail(e, ST_ERR_UNSUPPORTED, "node \"%s\" (ReduceL2): all axes kept", n->name);
    } else if (!k && st_attr_int(n, "noop_with_empty_axes", 0))
        st_sb_printf(c, "%s = %s\n", OUT(0), IN(0));
    else if (!k && !keep) st_sb_printf(c, "%s = ops.aten.%s(%s)\n", OUT(0), at, IN(0));
    else if (!k && vrank(e, g, n->inputs[0]) >= 0) {
        for (int i = 0; i < vrank(e, g, n->inputs[0]); i++) ax[i] = i;
        st_sb_printf(c, "%s = ops.aten.%s(%s, ", OUT(0), at, IN(0)),
            ints_lit(c, ax, (size_t)vrank(e, g, n->inputs[0]));
        st_sb_printf(c, ", True)\n");
    } else if (!k)
        st_sb_printf(c, "%s = ops.aten.%s(%s, [_i for _i in range(ops.aten.dim(%s))], %s)\n",
                     OUT(0), at, IN(0), IN(0), keep ? "True" : "False");
    else
        st_sb_printf(c, "%s = ops.aten.%s(%s, ", OUT(0), at, IN(0)), ints_lit(c, ax, k),
            st_sb_printf(c, ", %s)\n", keep ? "True" : "False");
    return e->st;
}

static st_status em_lstm(ex *e, const st_graph *g, const st_node *n, int d, const char *aten) {
    (void)aten;
    st_sb *c = &e->code;
    char tb[64];
    indent(e, d);
    const st_tensor *W = const_of(e, g, n->inputs[1]), *R = const_of(e, g, n->inputs[2]);
    const st_tensor *B = HAS(3) ? const_of(e, g, n->inputs[3]) : NULL;
    const char *dir = st_attr_string(n, "direction", "forward");
    int64_t D = !strcmp(dir, "bidirectional") ? 2 : 1, H = st_attr_int(n, "hidden_size", 0);
    if (!W || !R || (HAS(3) && !B) || HAS(4) || !strcmp(dir, "reverse") ||
        st_node_attr(n, "activations") || st_attr_int(n, "layout", 0) ||
        st_attr_int(n, "input_forget", 0) || st_node_attr(n, "clip") || W->ndim != 3)
        return fail(
            e, ST_ERR_UNSUPPORTED,
            "node \"%s\" (LSTM): only constant weights, default activations, forward/bidirectional",
            n->name);
    snprintf(tb, sizeof tb, "_w%d", e->tmp++);
    st_sb_printf(c, "%s = [", tb);
    for (int64_t di = 0; di < D; di++) {
        int wi, ri, b0, b1;
        if (lstm_weight(e, W, di, false, 0, &wi) || lstm_weight(e, R, di, false, 0, &ri))
            return e->st;
        st_sb_printf(c, "%sc%d, c%d", di ? ", " : "", wi, ri);
        if (B && (lstm_weight(e, B, di, true, 0, &b0) || lstm_weight(e, B, di, true, 1, &b1)))
            return e->st;
        if (B) st_sb_printf(c, ", c%d, c%d", b0, b1);
    }
    st_sb_printf(c, "]\n");
    char h0[96], c0[96];
    snprintf(h0, sizeof h0, "%s", HAS(5) ? IN(5) : "");
    snprintf(c0, sizeof c0, "%s", HAS(6) ? IN(6) : "");
    if (!HAS(5) || !HAS(6)) {
        indent(e, d);
        st_sb_printf(c,
                     "_z%d = ops.aten.zeros([%" PRId64 ", ops.aten.size(%s, 1), %" PRId64
                     "], dtype=ops.prim.dtype(%s))\n",
                     e->tmp, D, IN(0), H, IN(0));
        if (!HAS(5)) snprintf(h0, sizeof h0, "_z%d", e->tmp);
        if (!HAS(6)) snprintf(c0, sizeof c0, "_z%d", e->tmp);
        e->tmp++;
    }
    indent(e, d);
    int t = e->tmp++;
    st_sb_printf(
        c, "_y%d, _h%d, _c%d = ops.aten.lstm(%s, [%s, %s], %s, %s, 1, 0., False, %s, False)\n", t,
        t, t, IN(0), h0, c0, tb, B ? "True" : "False", D == 2 ? "True" : "False");
    if (n->n_out > 0 && n->outputs[0] >= 0) {
        indent(e, d);
        st_sb_printf(c,
                     "%s = ops.aten.permute(ops.aten.reshape(_y%d, [ops.aten.size(_y%d, 0), "
                     "ops.aten.size(_y%d, 1), %" PRId64 ", %" PRId64 "]), [0, 2, 1, 3])\n",
                     OUT(0), t, t, t, D, H);
    }
    if (n->n_out > 1 && n->outputs[1] >= 0) indent(e, d), st_sb_printf(c, "%s = _h%d\n", OUT(1), t);
    if (n->n_out > 2 && n->outputs[2] >= 0) indent(e, d), st_sb_printf(c, "%s = _c%d\n", OUT(2), t);
    return e->st;
}

static st_status em_cumsum(ex *e, const st_graph *g, const st_node *n, int d, const char *aten) {
    (void)aten;
    st_sb *c = &e->code;
    indent(e, d);
    int64_t ax[1];
    size_t k;
    if (!const_ints(e, g, n->inputs[1], ax, 1, &k) || k != 1)
        return fail(e, ST_ERR_UNSUPPORTED, "node \"%s\" (CumSum): axis computed at run time",
                    n->name);
    if (st_attr_int(n, "exclusive", 0) || st_attr_int(n, "reverse", 0))
        return fail(e, ST_ERR_UNSUPPORTED, "node \"%s\" (CumSum): exclusive/reverse", n->name);
    st_sb_printf(c, "%s = ops.aten.cumsum(%s, %" PRId64 ")\n", OUT(0), IN(0), ax[0]);
    return e->st;
}

static st_status em_arg(ex *e, const st_graph *g, const st_node *n, int d, const char *aten) {
    (void)aten;
    const char *op = n->op_type;
    st_sb *c = &e->code;
    (void)g;
    indent(e, d);
    if (st_attr_int(n, "select_last_index", 0))
        return fail(e, ST_ERR_UNSUPPORTED, "node \"%s\" (%s): select_last_index", n->name, op);
    st_sb_printf(c, "%s = ops.aten.%s(%s, %" PRId64 ", %s)\n", OUT(0),
                 op[3] == 'M' && op[4] == 'a' ? "argmax" : "argmin", IN(0),
                 st_attr_int(n, "axis", 0), st_attr_int(n, "keepdims", 1) ? "True" : "False");
    return e->st;
}

static st_status em_topk(ex *e, const st_graph *g, const st_node *n, int d, const char *aten) {
    (void)aten;
    st_sb *c = &e->code;
    indent(e, d);
    int64_t k[1];
    size_t kn;
    char kb[96];
    if (const_ints(e, g, n->inputs[1], k, 1, &kn) && kn == 1)
        snprintf(kb, sizeof kb, "%" PRId64, k[0]);
    else snprintf(kb, sizeof kb, "int(ops.aten.select(%s, 0, 0))", IN(1));
    int t = e->tmp++;
    st_sb_printf(c, "_t%d, _ti%d = ops.aten.topk(%s, %s, %" PRId64 ", %s, True)\n", t, t, IN(0), kb,
                 st_attr_int(n, "axis", -1), st_attr_int(n, "largest", 1) ? "True" : "False");
    if (n->outputs[0] >= 0) indent(e, d), st_sb_printf(c, "%s = _t%d\n", OUT(0), t);
    if (n->n_out > 1 && n->outputs[1] >= 0)
        indent(e, d), st_sb_printf(c, "%s = _ti%d\n", OUT(1), t);
    return e->st;
}

static st_status em_range(ex *e, const st_graph *g, const st_node *n, int d, const char *aten) {
    (void)aten;
    st_sb *c = &e->code;
    indent(e, d);
    bool fl = st_dtype_is_float(vdt(e, g, n->inputs[0]));
    const char *cv = fl ? "float" : "int";
    st_sb_printf(
        c, "%s = ops.aten.arange(%s(%s), %s(%s), %s(%s), dtype=%" PRId64 ")\n", OUT(0), cv, IN(0),
        cv, IN(1), cv, IN(2),
        st_ts_dtype_to_torch(vdt(e, g, n->inputs[0]) ? vdt(e, g, n->inputs[0]) : ST_DTYPE_I64));
    return e->st;
}

static st_status em_tile(ex *e, const st_graph *g, const st_node *n, int d, const char *aten) {
    (void)aten;
    st_sb *c = &e->code;
    indent(e, d);
    int64_t r[ST_MAX_RANK];
    size_t k;
    st_sb_printf(c, "%s = ops.aten.repeat(%s, ", OUT(0), IN(0));
    if (const_ints(e, g, n->inputs[1], r, ST_MAX_RANK, &k)) ints_lit(c, r, k);
    else st_sb_printf(c, "annotate(List[int], %s.tolist())", IN(1));
    st_sb_printf(c, ")\n");
    return e->st;
}

static st_status em_prelu(ex *e, const st_graph *g, const st_node *n, int d, const char *aten) {
    (void)aten;
    st_sb *c = &e->code;
    (void)g;
    indent(e, d);
    /* ONNX broadcasts the slope; torch.prelu wants it along dim 1: use the formula */
    st_sb_printf(c, "%s = ops.aten.where(ops.aten.ge(%s, 0), %s, ops.aten.mul(%s, %s))\n", OUT(0),
                 IN(0), IN(0), IN(0), IN(1));
    return e->st;
}

static st_status em_einsum(ex *e, const st_graph *g, const st_node *n, int d, const char *aten) {
    (void)aten;
    st_sb *c = &e->code;
    indent(e, d);
    st_sb_printf(c, "%s = ops.aten.einsum(\"%s\", [", OUT(0), st_attr_string(n, "equation", ""));
    for (int i = 0; i < n->n_in; i++) {
        char t2[64];
        st_sb_printf(c, "%s%s", i ? ", " : "", vname(e, g, n->inputs[i], t2, sizeof t2));
    }
    st_sb_printf(c, "])\n");
    return e->st;
}

static st_status em_trilu(ex *e, const st_graph *g, const st_node *n, int d, const char *aten) {
    (void)aten;
    st_sb *c = &e->code;
    indent(e, d);
    int64_t k[1] = {0};
    size_t kn = 0;
    if (HAS(1) && (!const_ints(e, g, n->inputs[1], k, 1, &kn) || kn != 1))
        return fail(e, ST_ERR_UNSUPPORTED, "node \"%s\" (Trilu): k computed at run time", n->name);
    st_sb_printf(c, "%s = ops.aten.%s(%s, %" PRId64 ")\n", OUT(0),
                 st_attr_int(n, "upper", 1) ? "triu" : "tril", IN(0), k[0]);
    return e->st;
}

static st_status em_dropout(ex *e, const st_graph *g, const st_node *n, int d, const char *aten) {
    (void)aten;
    st_sb *c = &e->code;
    (void)g;
    indent(e, d);
    st_sb_printf(c, "%s = %s\n", OUT(0), IN(0));
    if (n->n_out > 1 && n->outputs[1] >= 0)
        indent(e, d), st_sb_printf(c, "%s = ops.aten.ones_like(%s, dtype=11)\n", OUT(1), IN(0));
    return e->st;
}

static st_status em_pad(ex *e, const st_graph *g, const st_node *n, int d, const char *aten) {
    (void)aten;
    st_sb *c = &e->code;
    indent(e, d);
    int64_t p[2 * ST_MAX_RANK], ax[ST_MAX_RANK];
    size_t k, ka = 0;
    const char *mode = st_attr_string(n, "mode", "constant");
    const st_tensor *cv = HAS(2) ? const_of(e, g, n->inputs[2]) : NULL;
    if (!const_ints(e, g, n->inputs[1], p, 2 * ST_MAX_RANK, &k) || k % 2 ||
        strcmp(mode, "constant") || (HAS(2) && !cv) ||
        (HAS(3) && !const_ints(e, g, n->inputs[3], ax, ST_MAX_RANK, &ka)))
        return fail(e, ST_ERR_UNSUPPORTED,
                    "node \"%s\" (Pad): only constant-mode pads known at conversion", n->name);
    size_t m = k / 2;
    int r = vrank(e, g, n->inputs[0]);
    if (!HAS(3)) {
        if (r < 0 || (size_t)r != m)
            return fail(e, ST_ERR_UNSUPPORTED, "node \"%s\" (Pad): rank unknown", n->name);
        for (size_t i = 0; i < m; i++) ax[i] = (int64_t)i;
    }
    /* torch lists pads from the last dim backwards; axes must be the trailing ones */
    int64_t tp[2 * ST_MAX_RANK] = {0};
    int64_t lo = 0;
    for (size_t i = 0; i < m; i++) {
        int64_t a2 = ax[i] < 0 ? ax[i]
                               : (r >= 0 ? ax[i] - r
                                         : (fail(e, ST_ERR_UNSUPPORTED,
                                                 "node \"%s\" (Pad): rank unknown", n->name),
                                            0));
        if (a2 < lo) lo = a2;
        tp[2 * (-a2 - 1)] = p[i], tp[2 * (-a2 - 1) + 1] = p[i + m];
    }
    if (e->st) return e->st;
    st_sb_printf(c, "%s = ops.aten.constant_pad_nd(%s, ", OUT(0), IN(0));
    ints_lit(c, tp, (size_t)(-2 * lo));
    st_sb_printf(c, ", "), float_lit(c, cv && st_tensor_nelem(cv) ? st_tensor_get_f64(cv, 0) : 0.0),
        st_sb_printf(c, ")\n");
    return e->st;
}

static st_status em_instance_normalization(ex *e, const st_graph *g, const st_node *n, int d,
                                           const char *aten) {
    (void)aten;
    st_sb *c = &e->code;
    (void)g;
    indent(e, d);
    st_sb_printf(c, "%s = ops.aten.instance_norm(%s, %s, %s, None, None, True, 0.1, ", OUT(0),
                 IN(0), IN(1), IN(2));
    float_lit(c, st_attr_float(n, "epsilon", 1e-5));
    st_sb_printf(c, ", False)\n");
    return e->st;
}

static st_status em_selu(ex *e, const st_graph *g, const st_node *n, int d, const char *aten) {
    (void)aten;
    st_sb *c = &e->code;
    (void)g;
    indent(e, d);
    double al = st_attr_float(n, "alpha", 1.67326319217681884765625),
           ga = st_attr_float(n, "gamma", 1.05070102214813232421875);
    st_sb_printf(c, "%s = ops.aten.mul(ops.aten.elu(%s, ", OUT(0), IN(0));
    float_lit(c, al), st_sb_printf(c, "), "), float_lit(c, ga), st_sb_printf(c, ")\n");
    return e->st;
}

static st_status em_softsign(ex *e, const st_graph *g, const st_node *n, int d, const char *aten) {
    (void)aten;
    st_sb *c = &e->code;
    (void)g;
    indent(e, d);
    st_sb_printf(c, "%s = ops.aten.div(%s, ops.aten.add(ops.aten.abs(%s), 1.))\n", OUT(0), IN(0),
                 IN(0));
    return e->st;
}

static st_status em_if(ex *e, const st_graph *g, const st_node *n, int d, const char *aten) {
    st_sb *c = &e->code;
    (void)aten;
    indent(e, d);
    const st_attr *ta = st_node_attr(n, "then_branch"), *ea = st_node_attr(n, "else_branch");
    if (!ta || !ea || !ta->g || !ea->g)
        return fail(e, ST_ERR_FORMAT, "node \"%s\" (If) lacks a branch", n->name);
    st_sb_printf(c, "if bool(%s):\n", IN(0));
    for (int k = 0; k < 2 && !e->st; k++) {
        const st_graph *br = k ? ea->g : ta->g;
        if (k) indent(e, d), st_sb_printf(c, "else:\n");
        emit_graph(e, br, d + 1);
        for (int i = 0; i < n->n_out && (size_t)i < br->n_outputs; i++) {
            char t[64];
            indent(e, d + 1);
            st_sb_printf(c, "%s = %s\n", OUT(i), vname(e, br, br->outputs[i], t, sizeof t));
        }
        indent(e, d + 1), st_sb_printf(c, "pass\n");
    }
    return e->st;
}

static st_status em_loop(ex *e, const st_graph *g, const st_node *n, int d, const char *aten) {
    (void)aten;
    st_sb *c = &e->code;
    indent(e, d);
    const st_attr *ba = st_node_attr(n, "body");
    if (!ba || !ba->g) return fail(e, ST_ERR_FORMAT, "node \"%s\" (Loop) lacks a body", n->name);
    const st_graph *b = ba->g;
    int nk = n->n_in - 2;
    if (nk < 0 || b->n_inputs != (size_t)nk + 2 || b->n_outputs < (size_t)nk + 1)
        return fail(e, ST_ERR_FORMAT, "node \"%s\" (Loop): body signature does not match", n->name);
    if (b->n_outputs > (size_t)nk + 1)
        return fail(e, ST_ERR_UNSUPPORTED, "node \"%s\" (Loop): scan outputs", n->name);
    int t = e->tmp++;
    char bn[64];
    st_sb_printf(c, "_i%d = 0\n", t);
    indent(e, d);
    if (HAS(0)) st_sb_printf(c, "_m%d = int(%s)\n", t, IN(0));
    else st_sb_printf(c, "_m%d = 9223372036854775807\n", t);
    indent(e, d);
    if (HAS(1)) st_sb_printf(c, "_k%d = bool(%s)\n", t, IN(1));
    else st_sb_printf(c, "_k%d = True\n", t);
    for (int i = 0; i < nk; i++) /* carried values live in the body's input names */
        indent(e, d),
            st_sb_printf(c, "%s = %s\n", vname(e, b, b->inputs[i + 2], bn, sizeof bn), IN(i + 2));
    indent(e, d), st_sb_printf(c, "while _i%d < _m%d and _k%d:\n", t, t, t);
    indent(e, d + 1), st_sb_printf(c, "%s = ops.aten.tensor(_i%d)\n",
                                   vname(e, b, b->inputs[0], bn, sizeof bn), t);
    indent(e, d + 1), st_sb_printf(c, "%s = ops.aten.tensor(_k%d)\n",
                                   vname(e, b, b->inputs[1], bn, sizeof bn), t);
    emit_graph(e, b, d + 1);
    indent(e, d + 1),
        st_sb_printf(c, "_k%d = bool(%s)\n", t, vname(e, b, b->outputs[0], bn, sizeof bn));
    for (int i = 0; i < nk; i++) {
        char o2[64];
        indent(e, d + 1);
        st_sb_printf(c, "%s = %s\n", vname(e, b, b->inputs[i + 2], bn, sizeof bn),
                     vname(e, b, b->outputs[i + 1], o2, sizeof o2));
    }
    indent(e, d + 1), st_sb_printf(c, "_i%d = _i%d + 1\n", t, t);
    for (int i = 0; i < n->n_out; i++)
        if (n->outputs[i] >= 0)
            indent(e, d),
                st_sb_printf(c, "%s = %s\n", OUT(i), vname(e, b, b->inputs[i + 2], bn, sizeof bn));
    return e->st;
}
/* One row per IR operator (ONNX op_type, default domain) that has a TorchScript form, sorted
 * by op for binary search: the emitter and, for the generic ones, the aten spelling. */
/* clang-format off */
static const st_ts_export_row export_rows[] = {
    /* IR op                 emitter                    aten           untyped outputs */
    {"Abs",                  em_unary,                  "abs",         OUT_SAME},
    {"Add",                  em_binary,                 "add",         OUT_BCAST},
    {"And",                  em_binary,                 "logical_and", OUT_BOOL},
    {"ArgMax",               em_arg,                    "argmax",      OUT_SAME},
    {"ArgMin",               em_arg,                    "argmin",      OUT_SAME},
    {"AveragePool",          em_pool,                   "avg",         OUT_SAME},
    {"BatchNormalization",   em_batch_normalization,    NULL,          OUT_SAME},
    {"Cast",                 em_cast,                   NULL,          OUT_CAST},
    {"Ceil",                 em_unary,                  "ceil",        OUT_SAME},
    {"Clip",                 em_clip,                   NULL,          OUT_SAME},
    {"Concat",               em_concat,                 NULL,          OUT_SAME},
    {"Constant",             em_constant,               NULL,          OUT_SAME},
    {"ConstantOfShape",      em_constant_of_shape,      NULL,          OUT_FILL},
    {"Conv",                 em_conv,                   NULL,          OUT_SAME},
    {"ConvTranspose",        em_conv,                   NULL,          OUT_SAME},
    {"Cos",                  em_unary,                  "cos",         OUT_SAME},
    {"CumSum",               em_cumsum,                 NULL,          OUT_SAME},
    {"Div",                  em_div,                    "div",         OUT_BCAST},
    {"Dropout",              em_dropout,                NULL,          OUT_SAME},
    {"Einsum",               em_einsum,                 NULL,          OUT_SAME},
    {"Elu",                  em_elu,                    NULL,          OUT_SAME},
    {"Equal",                em_binary,                 "eq",          OUT_BOOL},
    {"Erf",                  em_unary,                  "erf",         OUT_SAME},
    {"Exp",                  em_unary,                  "exp",         OUT_SAME},
    {"Expand",               em_expand,                 NULL,          OUT_SAME_DTYPE},
    {"Flatten",              em_flatten,                NULL,          OUT_2D},
    {"Floor",                em_unary,                  "floor",       OUT_SAME},
    {"Gather",               em_gather,                 NULL,          OUT_GATHER},
    {"Gemm",                 em_gemm,                   NULL,          OUT_2D},
    {"GlobalAveragePool",    em_global_pool,            "mean",        OUT_SAME},
    {"GlobalMaxPool",        em_global_pool,            "amax",        OUT_SAME},
    {"Greater",              em_binary,                 "gt",          OUT_BOOL},
    {"GreaterOrEqual",       em_binary,                 "ge",          OUT_BOOL},
    {"HardSigmoid",          em_hardsigmoid,            NULL,          OUT_SAME},
    {"HardSwish",            em_unary,                  "hardswish",   OUT_SAME},
    {"Identity",             em_identity,               NULL,          OUT_SAME},
    {"If",                   em_if,                     NULL,          OUT_UNKNOWN},
    {"InstanceNormalization", em_instance_normalization, NULL,          OUT_SAME},
    {"LSTM",                 em_lstm,                   NULL,          OUT_SAME_DTYPE},
    {"LayerNormalization",   em_layer_normalization,    NULL,          OUT_SAME},
    {"LeakyRelu",            em_leakyrelu,              NULL,          OUT_SAME},
    {"Less",                 em_binary,                 "lt",          OUT_BOOL},
    {"LessOrEqual",          em_binary,                 "le",          OUT_BOOL},
    {"Log",                  em_unary,                  "log",         OUT_SAME},
    {"LogSoftmax",           em_softmax,                "log_softmax", OUT_SAME},
    {"Loop",                 em_loop,                   NULL,          OUT_UNKNOWN},
    {"MatMul",               em_binary,                 "matmul",      OUT_MATMUL},
    {"Max",                  em_variadic,               "maximum",     OUT_BCAST},
    {"MaxPool",              em_pool,                   "max",         OUT_SAME},
    {"Min",                  em_variadic,               "minimum",     OUT_BCAST},
    {"Mod",                  em_mod,                    "remainder",   OUT_BCAST},
    {"Mul",                  em_binary,                 "mul",         OUT_BCAST},
    {"Neg",                  em_unary,                  "neg",         OUT_SAME},
    {"Not",                  em_unary,                  "logical_not", OUT_BOOL},
    {"Or",                   em_binary,                 "logical_or",  OUT_BOOL},
    {"PRelu",                em_prelu,                  NULL,          OUT_SAME},
    {"Pad",                  em_pad,                    NULL,          OUT_SAME},
    {"Pow",                  em_binary,                 "pow",         OUT_BCAST},
    {"Range",                em_range,                  NULL,          OUT_SAME},
    {"Reciprocal",           em_unary,                  "reciprocal",  OUT_SAME},
    {"ReduceL2",             em_reduce,                 "norm",        OUT_REDUCE},
    {"ReduceMax",            em_reduce,                 "amax",        OUT_REDUCE},
    {"ReduceMean",           em_reduce,                 "mean",        OUT_REDUCE},
    {"ReduceMin",            em_reduce,                 "amin",        OUT_REDUCE},
    {"ReduceSum",            em_reduce,                 "sum",         OUT_REDUCE},
    {"Relu",                 em_unary,                  "relu",        OUT_SAME},
    {"Reshape",              em_reshape,                NULL,          OUT_RESHAPE},
    {"Round",                em_unary,                  "round",       OUT_SAME},
    {"Selu",                 em_selu,                   NULL,          OUT_SAME},
    {"Shape",                em_shape,                  NULL,          OUT_SHAPE},
    {"Sigmoid",              em_unary,                  "sigmoid",     OUT_SAME},
    {"Sign",                 em_unary,                  "sign",        OUT_SAME},
    {"Sin",                  em_unary,                  "sin",         OUT_SAME},
    {"Size",                 em_size,                   NULL,          OUT_SIZE},
    {"Slice",                em_slice,                  NULL,          OUT_SAME},
    {"Softmax",              em_softmax,                "softmax",     OUT_SAME},
    {"Softplus",             em_unary,                  "softplus",    OUT_SAME},
    {"Softsign",             em_softsign,               NULL,          OUT_SAME},
    {"Split",                em_split,                  NULL,          OUT_SAME},
    {"Sqrt",                 em_unary,                  "sqrt",        OUT_SAME},
    {"Squeeze",              em_squeeze,                "squeeze",     OUT_SQUEEZE},
    {"Sub",                  em_binary,                 "sub",         OUT_BCAST},
    {"Sum",                  em_variadic,               "add",         OUT_BCAST},
    {"Tanh",                 em_unary,                  "tanh",        OUT_SAME},
    {"Tile",                 em_tile,                   NULL,          OUT_SAME},
    {"TopK",                 em_topk,                   NULL,          OUT_SAME},
    {"Transpose",            em_transpose,              NULL,          OUT_SAME},
    {"Trilu",                em_trilu,                  NULL,          OUT_SAME},
    {"Unsqueeze",            em_squeeze,                "unsqueeze",   OUT_UNSQUEEZE},
    {"Where",                em_where,                  NULL,          OUT_WHERE},
    {"Xor",                  em_binary,                 "logical_xor", OUT_BOOL},
};
/* clang-format on */

static int row_cmp(const void *key, const void *row) {
    return strcmp(key, ((const st_ts_export_row *)row)->op);
}

const st_ts_export_row *st_ts_export_rows(size_t *n) {
    *n = ST_ARRAY_LEN(export_rows);
    return export_rows;
}

static const st_ts_export_row *row_of(const char *op) {
    return bsearch(op, export_rows, ST_ARRAY_LEN(export_rows), sizeof *export_rows, row_cmp);
}

static st_status emit_node(ex *e, const st_graph *g, const st_node *n, int d) {
    if (n->domain[0] && strcmp(n->domain, "ai.onnx"))
        return fail(e, ST_ERR_UNSUPPORTED, "node \"%s\": domain %s has no TorchScript form",
                    n->name, n->domain);
    const st_ts_export_row *r = row_of(n->op_type);
    if (!r)
        return fail(e, ST_ERR_UNSUPPORTED, "node \"%s\": %s has no TorchScript form in stele yet",
                    n->name, n->op_type);
    return r->emit(e, g, n, d, r->aten);
}

static st_status emit_graph(ex *e, const st_graph *g, int d) {
    int *order = st_malloc(sizeof(int) * (g->n_nodes ? g->n_nodes : 1));
    if (!order) return fail(e, ST_ERR_NOMEM, "out of memory");
    st_error e2;
    if (st_graph_toposort(g, order, &e2)) {
        st_free(order);
        return fail(e, e2.status, "%s", e2.msg);
    }
    for (size_t k = 0; k < g->n_nodes && !e->st; k++) emit_node(e, g, &g->nodes[order[k]], d);
    st_free(order);
    return e->st;
}

/* ---- archive ----------------------------------------------------------------------- */
static const char *storage_name(st_dtype dt) {
    switch (dt) {
    case ST_DTYPE_F32: return "FloatStorage";
    case ST_DTYPE_F64: return "DoubleStorage";
    case ST_DTYPE_F16: return "HalfStorage";
    case ST_DTYPE_BF16: return "BFloat16Storage";
    case ST_DTYPE_I64: return "LongStorage";
    case ST_DTYPE_I32: return "IntStorage";
    case ST_DTYPE_I16: return "ShortStorage";
    case ST_DTYPE_I8: return "CharStorage";
    case ST_DTYPE_U8: return "ByteStorage";
    case ST_DTYPE_BOOL: return "BoolStorage";
    default: return NULL;
    }
}

static st_pkl *tensor_pkl(ex *e, st_arena *a, const st_tensor *t, int key) {
    const char *sn = storage_name(t->dtype);
    if (!sn) {
        fail(e, ST_ERR_UNSUPPORTED, "tensors of type %s have no TorchScript storage",
             st_dtype_name(t->dtype));
        return NULL;
    }
    char ks[32];
    snprintf(ks, sizeof ks, "%d", key);
    st_pkl *pid = st_pkl_new(a, ST_PKL_TUPLE), *size = st_pkl_new(a, ST_PKL_TUPLE),
           *stride = st_pkl_new(a, ST_PKL_TUPLE);
    st_pkl *args = st_pkl_new(a, ST_PKL_TUPLE), *pers = st_pkl_new(a, ST_PKL_PERSID);
    st_pkl *od = st_pkl_call(a, st_pkl_global(a, "collections", "OrderedDict"),
                             st_pkl_new(a, ST_PKL_TUPLE), false);
    if (!pid || !size || !stride || !args || !pers || !od) return NULL;
    bool ok = st_pkl_push(a, pid, st_pkl_str(a, "storage")) &&
              st_pkl_push(a, pid, st_pkl_global(a, "torch", sn)) &&
              st_pkl_push(a, pid, st_pkl_str(a, ks)) && st_pkl_push(a, pid, st_pkl_str(a, "cpu")) &&
              st_pkl_push(a, pid, st_pkl_int(a, (int64_t)st_tensor_nelem(t)));
    int64_t st = 1;
    st_pkl *sv[ST_MAX_RANK];
    for (int i = t->ndim - 1; i >= 0 && ok; i--) {
        sv[i] = st_pkl_int(a, st);
        st *= t->dims[i];
    }
    for (int i = 0; i < t->ndim && ok; i++)
        ok = st_pkl_push(a, size, st_pkl_int(a, t->dims[i])) && st_pkl_push(a, stride, sv[i]);
    pers->args = pid;
    ok = ok && st_pkl_push(a, args, pers) && st_pkl_push(a, args, st_pkl_int(a, 0)) &&
         st_pkl_push(a, args, size) && st_pkl_push(a, args, stride) &&
         st_pkl_push(a, args, st_pkl_bool(a, false)) && st_pkl_push(a, args, od);
    if (!ok) return NULL;
    return st_pkl_call(a, st_pkl_global(a, "torch._utils", "_rebuild_tensor_v2"), args, false);
}

static bool ident_ok(const char *s) {
    static const char *kw[] = {
        "and",    "as",    "assert", "break",    "class", "continue", "def",    "del",
        "elif",   "else",  "except", "finally",  "for",   "from",     "global", "if",
        "import", "in",    "is",     "lambda",   "not",   "or",       "pass",   "raise",
        "return", "try",   "while",  "with",     "yield", "None",     "True",   "False",
        "self",   "torch", "ops",    "annotate", "int",   "float",    "bool"};
    if (!*s || (*s >= '0' && *s <= '9')) return false;
    for (const char *c = s; *c; c++)
        if (!(*c == '_' || (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
              (*c >= '0' && *c <= '9')))
            return false;
    if (s[0] == 'v' || s[0] == 'c' || s[0] == '_') return false; /* reserved for generated names */
    for (size_t i = 0; i < ST_ARRAY_LEN(kw); i++)
        if (!strcmp(s, kw[i])) return false;
    return true;
}

static st_status write_archive(ex *e, const char *path) {
    const st_graph *g = e->m->graph;
    st_sb hdr = {0};
    st_sb_printf(&hdr, "class Model(Module):\n  __parameters__ = []\n  __buffers__ = [");
    for (size_t i = 0; i < e->nconsts; i++) st_sb_printf(&hdr, "\"c%zu\", ", i);
    st_sb_printf(&hdr, "]\n");
    for (size_t i = 0; i < e->nconsts; i++) st_sb_printf(&hdr, "  c%zu : Tensor\n", i);
    st_sb_printf(&hdr, "  training : bool\n  def forward(self: __torch__.Model");
    char pn[64];
    for (size_t i = 0; i < g->n_inputs; i++) {
        const st_ir_value *v = &g->values[g->inputs[i]];
        const char *ty = "Tensor";
        if (v->has_const) continue;
        if (v->type.kind == ST_VAL_TENSOR && v->type.rank == 0) {
            if (v->type.dtype == ST_DTYPE_I64) ty = "int";
            else if (v->type.dtype == ST_DTYPE_BOOL) ty = "bool";
            else if (v->type.dtype == ST_DTYPE_F64 || v->type.dtype == ST_DTYPE_F32) ty = "float";
        }
        if (ident_ok(v->name)) snprintf(pn, sizeof pn, "%s", v->name);
        else snprintf(pn, sizeof pn, "input_%zu", i);
        st_sb_printf(&hdr, ",\n    %s: %s", pn, ty);
    }
    if (g->n_outputs == 1) st_sb_printf(&hdr, ") -> Tensor:\n");
    else {
        st_sb_printf(&hdr, ") -> Tuple[");
        for (size_t i = 0; i < g->n_outputs; i++) st_sb_printf(&hdr, "%sTensor", i ? ", " : "");
        st_sb_printf(&hdr, "]:\n");
    }
    for (size_t i = 0; i < e->nconsts; i++) st_sb_printf(&hdr, "    c%zu = self.c%zu\n", i, i);
    for (size_t i = 0; i < g->n_inputs; i++) {
        const st_ir_value *v = &g->values[g->inputs[i]];
        char vn[64];
        if (v->has_const) continue;
        if (ident_ok(v->name)) snprintf(pn, sizeof pn, "%s", v->name);
        else snprintf(pn, sizeof pn, "input_%zu", i);
        vname(e, g, g->inputs[i], vn, sizeof vn);
        if (v->type.kind == ST_VAL_TENSOR && v->type.rank == 0 &&
            (v->type.dtype == ST_DTYPE_I64 || v->type.dtype == ST_DTYPE_BOOL ||
             v->type.dtype == ST_DTYPE_F64 || v->type.dtype == ST_DTYPE_F32))
            st_sb_printf(&hdr, "    %s = ops.aten.tensor(%s, dtype=%" PRId64 ")\n", vn, pn,
                         st_ts_dtype_to_torch(v->type.dtype));
        else {
            if (v->type.kind == ST_VAL_TENSOR &&
                v->type.rank >= 0) /* TorchScript types carry no rank */
                st_sb_printf(&hdr, "    assert ops.aten.dim(%s) == %d\n", pn, v->type.rank);
            if (v->type.kind == ST_VAL_TENSOR && st_ts_dtype_to_torch(v->type.dtype) >= 0)
                st_sb_printf(&hdr, "    assert ops.prim.dtype(%s) == %" PRId64 "\n", pn,
                             st_ts_dtype_to_torch(v->type.dtype));
            st_sb_printf(&hdr, "    %s = %s\n", vn, pn);
        }
    }
    st_sb_printf(&hdr, "%s", st_sb_str(&e->code));
    st_sb_printf(&hdr, "    return ");
    if (g->n_outputs != 1) st_sb_printf(&hdr, "(");
    for (size_t i = 0; i < g->n_outputs; i++) {
        char vn[64];
        st_sb_printf(&hdr, "%s%s", i ? ", " : "", vname(e, g, g->outputs[i], vn, sizeof vn));
    }
    st_sb_printf(&hdr, "%s\n", g->n_outputs != 1 ? ")" : "");
    if (hdr.oom) {
        st_sb_free(&hdr);
        return fail(e, ST_ERR_NOMEM, "out of memory");
    }
    /* data.pkl: the module object with its buffers */
    st_arena *a = st_arena_new(0);
    st_pkl *state = a ? st_pkl_new(a, ST_PKL_DICT) : NULL;
    st_pkl *obj = state ? st_pkl_call(a, st_pkl_global(a, "__torch__", "Model"),
                                      st_pkl_new(a, ST_PKL_TUPLE), true)
                        : NULL;
    bool ok = obj && st_pkl_set(a, state, st_pkl_str(a, "training"), st_pkl_bool(a, false));
    for (size_t i = 0; i < e->nconsts && ok && !e->st; i++) {
        char k[32];
        snprintf(k, sizeof k, "c%zu", i);
        st_pkl *tp = tensor_pkl(e, a, e->consts[i], (int)i);
        ok = tp && st_pkl_set(a, state, st_pkl_str(a, k), tp);
    }
    if (obj) obj->state = state;
    st_buf *pk = NULL, *cpk = NULL;
    st_pkl *empty = a ? st_pkl_new(a, ST_PKL_TUPLE) : NULL;
    if (!e->st && (!ok || !empty)) fail(e, ST_ERR_NOMEM, "out of memory");
    st_error e2;
    if (!e->st && !took(e, st_pkl_dump(obj, &pk, &e2), &e2))
        took(e, st_pkl_dump(empty, &cpk, &e2), &e2);
    st_zip_writer *w = NULL;
    if (!e->st) took(e, st_zip_writer_open(path, &w, &e2), &e2);
    char name[256];
    const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    char top[128];
    snprintf(top, sizeof top, "%s", base);
    char *dot = strrchr(top, '.');
    if (dot && dot != top) *dot = 0;
    for (char *q = top; *q; q++)
        if (!((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') || (*q >= '0' && *q <= '9') ||
              *q == '_'))
            *q = '_';
    if (!*top) snprintf(top, sizeof top, "model");
#define ADD(rel, data, len)                                                   \
    do {                                                                      \
        snprintf(name, sizeof name, "%s/%s", top, rel);                       \
        if (!e->st) took(e, st_zip_writer_add(w, name, data, len, &e2), &e2); \
    } while (0)
    ADD("version", "10\n", 3);
    ADD("byteorder", "little", 6);
    if (pk) ADD("data.pkl", pk->data, pk->size);
    ADD("code/__torch__.py", hdr.s, hdr.n);
    if (cpk) ADD("constants.pkl", cpk->data, cpk->size);
    for (size_t i = 0; i < e->nconsts && !e->st; i++) {
        char rel[32];
        snprintf(rel, sizeof rel, "data/%zu", i);
        ADD(rel, e->consts[i]->data ? e->consts[i]->data : "", st_tensor_nbytes(e->consts[i]));
    }
#undef ADD
    if (w) took(e, st_zip_writer_finish(w, &e2), &e2); /* (closes w after a failure too) */
    st_buf_unref(pk);
    st_buf_unref(cpk);
    st_arena_free(a);
    st_sb_free(&hdr);
    return e->st;
}

st_status st_ts_export(const st_model *m, const char *path, st_error *err) {
    ex e;
    memset(&e, 0, sizeof e);
    e.m = m;
    e.path = path;
    e.err = err;
    const st_graph *g = m->graph;
    for (size_t i = 0; i < g->n_inputs && !e.st; i++) {
        const st_ir_value *v = &g->values[g->inputs[i]];
        if (v->type.kind != ST_VAL_TENSOR && v->type.kind != ST_VAL_NONE)
            fail(&e, ST_ERR_UNSUPPORTED, "input %s is not a tensor", v->name);
    }
    if (!e.st) analyse(&e, g);
    if (!e.st) emit_graph(&e, g, 2);
    if (!e.st && e.code.oom) fail(&e, ST_ERR_NOMEM, "out of memory");
    if (!e.st) write_archive(&e, path);
    for (size_t i = 0; i < e.ngi; i++) {
        st_free(e.gi[i].dt);
        st_free(e.gi[i].rank);
        st_free(e.gi[i].konst);
    }
    st_free(e.gi);
    st_free(e.consts);
    for (size_t i = 0; i < e.nowned; i++) {
        st_tensor_clear(e.owned[i]);
        st_free(e.owned[i]);
    }
    st_free(e.owned);
    st_sb_free(&e.code);
    if (e.st && e.st != ST_ERR_NOMEM && err) st_error_prefix(err, "%s: ", path);
    return e.st;
}
