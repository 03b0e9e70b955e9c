/* converters/onnx/onnx_opset.c: move a model's ai.onnx nodes to another opset (7..25), one
 * table row per op and version where its signature changed. It must not change what the
 * model computes: a form the target cannot express is an error naming the node. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "onnx_convert.h"

#define OPSET_MIN 7
#define OPSET_MAX 25

/* One node being moved from opset `from` to `to`. */
typedef struct cv {
    st_graph *g;
    st_node *n;
    int from, to;
    int at; /* the version of the adapter row running */
} cv;

static st_status node_err(const cv *c, st_error *err, const char *fmt, ...) ST_PRINTF(3, 4);
static st_status node_err(const cv *c, st_error *err, const char *fmt, ...) {
    char msg[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return st_errorf(err, ST_ERR_UNSUPPORTED, "node \"%s\" (%s): %s (opset %d -> %d)",
                     c->n->name ? c->n->name : "", c->n->op_type, msg, c->from, c->to);
}

static bool crosses(const cv *c, int v) {
    return (c->from < v && c->to >= v) || (c->to < v && c->from >= v);
}
static bool up(const cv *c) { return c->to > c->from; }

/* ---- node surgery ------------------------------------------------------------------ */

static void drop_attr(st_node *n, const char *name) {
    for (int i = 0; i < n->n_attrs; i++)
        if (!strcmp(n->attrs[i].name, name)) {
            size_t tail = (size_t)(n->n_attrs - i - 1);
            memmove(&n->attrs[i], &n->attrs[i + 1], sizeof *n->attrs * tail);
            n->n_attrs--;
            return;
        }
}

static st_value_role role_of(const st_graph *g, int v) { return g->values[v].role; }

/* The constant behind value v of g (an initializer or a Constant node's tensor), or NULL. */
static const st_tensor *const_of(const st_graph *g, int v) {
    if (v < 0) return NULL;
    const st_ir_value *iv = &g->values[v];
    if (iv->has_const && role_of(g, v) != ST_VALUE_INPUT) return &iv->const_val;
    if (iv->producer >= 0) {
        const st_node *p = &g->nodes[iv->producer];
        const st_attr *a = st_node_attr(p, "value");
        if (!strcmp(p->op_type, "Constant") && a && a->kind == ST_ATTR_TENSOR) return &a->t;
    }
    return NULL;
}

static int input(const st_node *n, int i) { return i < n->n_in ? n->inputs[i] : -1; }

/* Make input slot i exist (new slots are omitted: -1). */
static st_status ensure_inputs(cv *c, int count, st_error *err) {
    if (c->n->n_in >= count) return ST_OK;
    int *v = st_ir_alloc(c->g, sizeof *v * (size_t)count);
    if (!v) return st_error_nomem(err);
    for (int i = 0; i < count; i++) v[i] = i < c->n->n_in ? c->n->inputs[i] : -1;
    c->n->inputs = v;
    c->n->n_in = count;
    return ST_OK;
}

static void trim_inputs(st_node *n, int count) {
    if (n->n_in > count) n->n_in = count;
    while (n->n_in > 0 && n->inputs[n->n_in - 1] < 0) n->n_in--;
}

/* A new initializer of `ndim` (0 or 1) dims holding vals (as dtype), wired as input `slot`. */
static st_status add_const_input(cv *c, int slot, const char *what, st_dtype dtype, int ndim,
                                 size_t n, const double *vals, st_error *err) {
    char name[256];
    const char *base = c->n->name && *c->n->name ? c->n->name : c->n->op_type;
    snprintf(name, sizeof name, "%s_%s_opset%d", base, what, c->to);
    for (int k = 2; st_graph_find(c->g, name) >= 0; k++)
        snprintf(name, sizeof name, "%s_%s_opset%d_%d", base, what, c->to, k);
    st_tensor t;
    int64_t dims[1] = {(int64_t)n};
    st_status s = st_tensor_alloc(&t, dtype, ndim, dims, err);
    if (s) return s;
    for (size_t i = 0; i < n; i++) st_tensor_set_f64(&t, i, vals[i]);
    int v = st_graph_value(c->g, name);
    if (v < 0 || (s = ensure_inputs(c, slot + 1, err))) {
        st_tensor_clear(&t);
        return s ? s : st_error_nomem(err);
    }
    st_ir_value *iv = &c->g->values[v];
    iv->role = ST_VALUE_INITIALIZER;
    iv->has_const = true;
    iv->const_val = t;
    iv->producer = -1;
    st_type_from_tensor(c->g, &iv->type, &t);
    c->n->inputs[slot] = v;
    return ST_OK;
}

/* ---- attribute <-> input moves ------------------------------------------------------ */

/* Up: attribute `attr` (ints or a float) becomes input `slot`. Down: a constant input
 * `slot` becomes the attribute. `dtype` is the input's type (UNDEFINED: input 0's). */
static st_status move_attr(cv *c, const char *attr, int slot, st_attr_kind kind, st_dtype dtype,
                           bool scalar, st_error *err) {
    st_node *n = c->n;
    if (!dtype) {
        int x = input(n, 0);
        dtype = x >= 0 && c->g->values[x].type.dtype ? c->g->values[x].type.dtype : ST_DTYPE_F32;
    }
    if (up(c)) {
        const st_attr *a = st_node_attr(n, attr);
        if (!a) return ST_OK;
        double buf[64];
        bool one = a->kind == ST_ATTR_FLOAT || a->kind == ST_ATTR_INT;
        size_t cnt = one ? 1 : a->n;
        if (cnt > 64) return node_err(c, err, "more than 64 values in '%s'", attr);
        for (size_t i = 0; i < cnt; i++)
            buf[i] = a->kind == ST_ATTR_FLOAT    ? a->f
                     : a->kind == ST_ATTR_INT    ? (double)a->i
                     : a->kind == ST_ATTR_FLOATS ? a->floats[i]
                                                 : (double)a->ints[i];
        st_status s = add_const_input(c, slot, attr, dtype, scalar ? 0 : 1, cnt, buf, err);
        if (s) return s;
        drop_attr(n, attr);
        return ST_OK;
    }
    int v = input(n, slot);
    if (v < 0) return ST_OK;
    const st_tensor *t = const_of(c->g, v);
    if (!t)
        return node_err(c, err, "input '%s' is computed, opset %d takes it as an attribute", attr,
                        c->to);
    size_t cnt = st_tensor_nelem(t);
    st_attr *a = st_node_add_attr(c->g, n, attr, kind);
    if (!a) return st_error_nomem(err);
    if (kind == ST_ATTR_FLOAT) {
        a->f = cnt ? st_tensor_get_f64(t, 0) : 0;
    } else if (kind == ST_ATTR_FLOATS) {
        a->n = cnt;
        a->floats = st_ir_alloc(c->g, sizeof *a->floats * (cnt ? cnt : 1));
        if (!a->floats) return st_error_nomem(err);
        for (size_t i = 0; i < cnt; i++) a->floats[i] = st_tensor_get_f64(t, i);
    } else {
        a->n = cnt;
        a->ints = st_ir_alloc(c->g, sizeof *a->ints * (cnt ? cnt : 1));
        if (!a->ints) return st_error_nomem(err);
        for (size_t i = 0; i < cnt; i++) a->ints[i] = st_tensor_get_i64(t, i);
    }
    n->inputs[slot] = -1;
    return ST_OK;
}

/* ---- adapters ----------------------------------------------------------------------- */

typedef st_status (*adapt_fn)(cv *c, st_error *err);

static st_status ad_axes(cv *c, st_error *err) {
    st_status s = move_attr(c, "axes", 1, ST_ATTR_INTS, ST_DTYPE_I64, false, err);
    if (s || up(c)) return s;
    const st_attr *noop = st_node_attr(c->n, "noop_with_empty_axes");
    const st_attr *axes = st_node_attr(c->n, "axes");
    if (noop && noop->i && (!axes || !axes->n))
        return node_err(c, err, "noop_with_empty_axes=1 with no axes has no form at opset %d",
                        c->to);
    if (axes && !axes->n) drop_attr(c->n, "axes");
    drop_attr(c->n, "noop_with_empty_axes");
    trim_inputs(c->n, 1);
    return ST_OK;
}

static st_status ad_split(cv *c, st_error *err) {
    st_status s = move_attr(c, "split", 1, ST_ATTR_INTS, ST_DTYPE_I64, false, err);
    trim_inputs(c->n, up(c) ? c->n->n_in : 1);
    return s;
}

/* Split-18: num_outputs (ceil parts) when no split is given. */
static st_status ad_split18(cv *c, st_error *err) {
    st_node *n = c->n;
    bool has_split = input(n, 1) >= 0 || st_node_attr(n, "split");
    if (up(c)) {
        if (has_split) return ST_OK;
        st_attr *a = st_node_add_attr(c->g, n, "num_outputs", ST_ATTR_INT);
        if (!a) return st_error_nomem(err);
        a->i = n->n_out;
        return ST_OK;
    }
    const st_attr *a = st_node_attr(n, "num_outputs");
    if (!a) return ST_OK;
    int x = input(n, 0);
    const st_type *ty = x >= 0 ? &c->g->values[x].type : NULL;
    int64_t axis = st_attr_int(n, "axis", 0);
    if (ty && ty->rank > 0 && axis < 0) axis += ty->rank;
    int64_t len = ty && ty->rank > 0 && axis >= 0 && axis < ty->rank ? ty->dims[axis].value : -1;
    if (a->i <= 0 || len < 0 || len % a->i)
        return node_err(c, err, "num_outputs needs an axis length it divides (%s)",
                        len < 0 ? "unknown" : "not divisible");
    drop_attr(n, "num_outputs");
    return ST_OK;
}

static st_status ad_clip(cv *c, st_error *err) {
    st_status s = move_attr(c, "min", 1, ST_ATTR_FLOAT, ST_DTYPE_UNDEFINED, true, err);
    if (!s) s = move_attr(c, "max", 2, ST_ATTR_FLOAT, ST_DTYPE_UNDEFINED, true, err);
    if (!s && !up(c)) trim_inputs(c->n, 1);
    return s;
}

static st_status ad_pad(cv *c, st_error *err) {
    st_status s = move_attr(c, "pads", 1, ST_ATTR_INTS, ST_DTYPE_I64, false, err);
    if (!s) s = move_attr(c, "value", 2, ST_ATTR_FLOAT, ST_DTYPE_UNDEFINED, true, err);
    if (!s && !up(c)) trim_inputs(c->n, 1);
    return s;
}

static st_status ad_pad18(cv *c, st_error *err) {
    if (!up(c) && input(c->n, 3) >= 0)
        return node_err(c, err, "the axes input has no form at opset %d", c->to);
    return ST_OK;
}

static st_status ad_pad19(cv *c, st_error *err) {
    if (!up(c) && !strcmp(st_attr_string(c->n, "mode", "constant"), "wrap"))
        return node_err(c, err, "mode 'wrap' has no form at opset %d", c->to);
    return ST_OK;
}

static st_status ad_slice(cv *c, st_error *err) {
    if (!up(c)) {
        const st_tensor *steps = const_of(c->g, input(c->n, 4));
        if (input(c->n, 4) >= 0 && !steps)
            return node_err(c, err, "computed steps have no form at opset %d", c->to);
        for (size_t i = 0; steps && i < st_tensor_nelem(steps); i++)
            if (st_tensor_get_i64(steps, i) != 1)
                return node_err(c, err, "steps other than 1 have no form at opset %d", c->to);
    }
    static const char *const names[] = {"starts", "ends", "axes"};
    for (int i = 0; i < 3; i++) {
        st_status s = move_attr(c, names[i], i + 1, ST_ATTR_INTS, ST_DTYPE_I64, false, err);
        if (s) return s;
    }
    if (!up(c)) trim_inputs(c->n, 1);
    return ST_OK;
}

static st_status ad_topk(cv *c, st_error *err) {
    st_status s = move_attr(c, "k", 1, ST_ATTR_INTS, ST_DTYPE_I64, false, err);
    if (s) return s;
    st_attr *a = (st_attr *)st_node_attr(c->n, "k");
    if (!up(c) && a) { /* k is an int attribute, the input a 1-element tensor */
        if (a->n != 1) return node_err(c, err, "k must be one value");
        a->kind = ST_ATTR_INT;
        a->i = a->ints[0];
        trim_inputs(c->n, 1);
    }
    return ST_OK;
}

static st_status ad_dropout(cv *c, st_error *err) {
    if (!up(c)) {
        const st_tensor *tm = const_of(c->g, input(c->n, 2));
        if (input(c->n, 2) >= 0 && (!tm || st_tensor_get_i64(tm, 0)))
            return node_err(c, err, "training_mode has no form at opset %d", c->to);
        if (input(c->n, 2) >= 0) c->n->inputs[2] = -1;
    }
    st_status s = move_attr(c, "ratio", 1, ST_ATTR_FLOAT, ST_DTYPE_UNDEFINED, true, err);
    if (!s && !up(c)) trim_inputs(c->n, 1);
    return s;
}

/* Softmax/LogSoftmax/Hardmax-13 act on one axis, the older forms on the flattened tail:
 * the same only when the axis is the last. */
static st_status ad_softmax13(cv *c, st_error *err) {
    int x = input(c->n, 0);
    int rank = x >= 0 ? c->g->values[x].type.rank : -1;
    int64_t axis = st_attr_int(c->n, "axis", c->from >= 13 ? -1 : 1);
    if (rank < 0) return node_err(c, err, "the input's rank is unknown");
    if (axis < 0) axis += rank;
    if (axis != rank - 1)
        return node_err(c, err, "axis %lld is not the last; the forms differ at opset 13",
                        (long long)axis);
    drop_attr(c->n, "axis");
    st_attr *a = st_node_add_attr(c->g, c->n, "axis", ST_ATTR_INT);
    if (!a) return st_error_nomem(err);
    a->i = axis;
    return ST_OK;
}

static st_status ad_bn9(cv *c, st_error *err) {
    if (up(c) && !st_attr_int(c->n, "spatial", 1))
        return node_err(c, err, "spatial=0 has no form at opset %d", c->to);
    drop_attr(c->n, "spatial");
    return ST_OK;
}

static st_status ad_bn14(cv *c, st_error *err) {
    if (c->n->n_out > 1 || st_attr_int(c->n, "training_mode", 0))
        return node_err(c, err, "training outputs differ across opset 14");
    drop_attr(c->n, "training_mode");
    return ST_OK;
}

static st_status ad_gemm11(cv *c, st_error *err) {
    if (!up(c) && input(c->n, 2) < 0) return node_err(c, err, "C is required at opset %d", c->to);
    return ST_OK;
}

static st_status ad_scatter11(cv *c, st_error *err) {
    (void)err;
    if (!up(c) && !strcmp(c->n->op_type, "ScatterElements"))
        c->n->op_type = st_ir_strdup(c->g, "Scatter");
    else if (up(c) && !strcmp(c->n->op_type, "Scatter"))
        c->n->op_type = st_ir_strdup(c->g, "ScatterElements");
    return c->n->op_type ? ST_OK : st_error_nomem(err);
}

/* Constant-11 added sparse_value, Constant-12 the value_* forms: below, all are `value`. */
static st_status ad_constant(cv *c, st_error *err) {
    if (up(c) || st_node_attr(c->n, "value")) return ST_OK;
    for (int i = 0; i < c->n->n_attrs; i++) {
        st_attr *a = &c->n->attrs[i];
        bool sparse = a->kind == ST_ATTR_SPARSE_TENSOR && c->at == 11;
        if (!sparse && (c->at != 12 || !strncmp(a->name, "value_string", 12))) continue;
        if (!sparse && a->kind != ST_ATTR_FLOAT && a->kind != ST_ATTR_FLOATS &&
            a->kind != ST_ATTR_INT && a->kind != ST_ATTR_INTS)
            continue;
        st_tensor t = {0};
        if (!sparse) {
            bool fl = a->kind == ST_ATTR_FLOAT || a->kind == ST_ATTR_FLOATS;
            bool list = a->kind == ST_ATTR_FLOATS || a->kind == ST_ATTR_INTS;
            int64_t dims[1] = {(int64_t)a->n};
            st_status s =
                st_tensor_alloc(&t, fl ? ST_DTYPE_F32 : ST_DTYPE_I64, list ? 1 : 0, dims, err);
            if (s) return s;
            for (size_t k = 0; k < (list ? a->n : 1); k++)
                st_tensor_set_f64(&t, k,
                                  a->kind == ST_ATTR_FLOAT ? a->f
                                  : a->kind == ST_ATTR_INT ? (double)a->i
                                  : fl                     ? a->floats[k]
                                                           : (double)a->ints[k]);
            a->t = t;
        }
        a->kind = ST_ATTR_TENSOR;
        a->name = st_ir_strdup(c->g, "value");
        return a->name ? ST_OK : st_error_nomem(err);
    }
    if (c->at == 12 && st_node_attr(c->n, "sparse_value")) return ST_OK; /* for row 11 */
    return node_err(c, err, "this form of the value has no form at opset %d", c->to);
}

/* ---- Upsample / Resize ---------------------------------------------------------- */

static st_status set_string(cv *c, const char *name, const char *v, st_error *err) {
    drop_attr(c->n, name);
    st_attr *a = st_node_add_attr(c->g, c->n, name, ST_ATTR_STRING);
    if (!a || !(a->s.data = st_ir_strdup(c->g, v))) return st_error_nomem(err);
    a->s.len = strlen(v);
    return ST_OK;
}

static bool attr_is(const st_node *n, const char *name, const char *def, const char *want) {
    return !strcmp(st_attr_string(n, name, def), want);
}

/* Nearest rounding of the opset-10 forms matches nearest_mode=floor only when upsampling. */
static st_status scales_at_least_one(cv *c, int slot, st_error *err) {
    const st_tensor *t = const_of(c->g, input(c->n, slot));
    if (!t || !st_tensor_nelem(t))
        return node_err(c, err, "the scales must be constant across opset 10/11");
    for (size_t i = 0; attr_is(c->n, "mode", "nearest", "nearest") && i < st_tensor_nelem(t); i++)
        if (st_tensor_get_f64(t, i) < 1)
            return node_err(c, err, "nearest downsampling rounds differently across opset 10/11");
    return ST_OK;
}

/* Upsample-9 takes scales as an input, Upsample-7 as an attribute. */
static st_status ad_upsample9(cv *c, st_error *err) {
    st_status s = move_attr(c, "scales", 1, ST_ATTR_FLOATS, ST_DTYPE_F32, false, err);
    if (!s && !up(c)) trim_inputs(c->n, 1);
    return s;
}

/* Resize-10 is Upsample-9 under a new name. */
static st_status ad_resize10(cv *c, st_error *err) {
    const char *name = up(c) ? "Resize" : "Upsample";
    if (strcmp(c->n->op_type, up(c) ? "Upsample" : "Resize")) return ST_OK;
    return (c->n->op_type = st_ir_strdup(c->g, name)) ? ST_OK : st_error_nomem(err);
}

/* Resize-11 adds roi (input 1) and the coordinate modes; Resize-10 is asymmetric, floor. */
static st_status ad_resize11(cv *c, st_error *err) {
    st_node *n = c->n;
    bool nearest = attr_is(n, "mode", "nearest", "nearest");
    if (up(c)) {
        st_status s = scales_at_least_one(c, 1, err);
        int scales = input(n, 1);
        if (!s) s = add_const_input(c, 1, "roi", ST_DTYPE_F32, 1, 0, NULL, err);
        if (!s) s = ensure_inputs(c, 3, err);
        if (s) return s;
        n->inputs[2] = scales;
        s = set_string(c, "coordinate_transformation_mode", "asymmetric", err);
        if (!s && nearest) s = set_string(c, "nearest_mode", "floor", err);
        return s;
    }
    if (!attr_is(n, "coordinate_transformation_mode", "half_pixel", "asymmetric"))
        return node_err(c, err,
                        "only coordinate_transformation_mode 'asymmetric' exists at "
                        "opset %d",
                        c->to);
    if (attr_is(n, "mode", "nearest", "cubic") ||
        (nearest && !attr_is(n, "nearest_mode", "round_prefer_floor", "floor")))
        return node_err(c, err, "opset %d has only the nearest (floor) and linear modes", c->to);
    if (input(n, 3) >= 0)
        return node_err(c, err, "sizes have no form at opset %d (give scales)", c->to);
    st_status s = scales_at_least_one(c, 2, err);
    if (s) return s;
    n->inputs[1] = n->inputs[2];
    trim_inputs(n, 2);
    static const char *const gone[] = {"coordinate_transformation_mode", "nearest_mode",
                                       "cubic_coeff_a", "exclude_outside", "extrapolation_value"};
    for (size_t i = 0; i < ST_ARRAY_LEN(gone); i++) drop_attr(n, gone[i]);
    return ST_OK;
}

/* Resize-13 made roi and scales optional (11/12 take empty tensors) and dropped the mode
 * tf_half_pixel_for_nn. */
static st_status ad_resize13(cv *c, st_error *err) {
    if (attr_is(c->n, "coordinate_transformation_mode", "", "tf_half_pixel_for_nn"))
        return node_err(c, err, "tf_half_pixel_for_nn has no form at opset 13 and later");
    if (up(c)) return ST_OK;
    static const char *const what[] = {"", "roi", "scales"};
    for (int slot = 1; slot <= 2; slot++)
        if (input(c->n, slot) < 0) {
            st_status s = add_const_input(c, slot, what[slot], ST_DTYPE_F32, 1, 0, NULL, err);
            if (s) return s;
        }
    return ST_OK;
}

static st_status ad_resize18(cv *c, st_error *err) {
    if (up(c)) return ST_OK;
    if (st_node_attr(c->n, "axes") ||
        !attr_is(c->n, "keep_aspect_ratio_policy", "stretch", "stretch"))
        return node_err(c, err, "axes and keep_aspect_ratio_policy have no form at opset %d",
                        c->to);
    drop_attr(c->n, "keep_aspect_ratio_policy");
    return ST_OK;
}

static st_status ad_resize19(cv *c, st_error *err) {
    if (!up(c) && attr_is(c->n, "coordinate_transformation_mode", "", "half_pixel_symmetric"))
        return node_err(c, err, "half_pixel_symmetric has no form at opset %d", c->to);
    return ST_OK;
}

/* Negative axes arrived at 11: below, axis/axes count from the front (rank must be known). */
static st_status ad_neg_axes11(cv *c, st_error *err) {
    if (up(c)) return ST_OK;
    st_attr *a = (st_attr *)st_node_attr(c->n, "axis");
    if (!a) a = (st_attr *)st_node_attr(c->n, "axes");
    if (!a) return ST_OK;
    bool list = a->kind == ST_ATTR_INTS;
    size_t cnt = list ? a->n : 1;
    int x = input(c->n, 0);
    int64_t rank = x >= 0 ? c->g->values[x].type.rank : -1;
    if (rank >= 0 && !strcmp(c->n->op_type, "Unsqueeze")) rank += (int64_t)cnt; /* output's */
    for (size_t i = 0; i < cnt; i++) {
        int64_t *v = list ? &a->ints[i] : &a->i;
        if (*v >= 0) continue;
        if (rank < 0) return node_err(c, err, "a negative axis needs a known rank below opset 11");
        *v += rank;
    }
    return ST_OK;
}

/* Max/Min/Sum/Mean broadcast from 8: below, every input must have one known shape. */
static st_status ad_bcast8(cv *c, st_error *err) {
    if (up(c)) return ST_OK;
    const st_type *t0 = NULL;
    for (int i = 0; i < c->n->n_in; i++) {
        int v = c->n->inputs[i];
        const st_type *t = v >= 0 ? &c->g->values[v].type : NULL;
        bool same = t && t->rank >= 0 && (!t0 || t->rank == t0->rank);
        for (int d = 0; same && d < t->rank; d++)
            same = t->dims[d].value >= 0 && (!t0 || t->dims[d].value == t0->dims[d].value);
        if (!same)
            return node_err(c, err,
                            "inputs of different or unknown shapes need broadcasting, "
                            "which opset %d lacks",
                            c->to);
        t0 = t;
    }
    return ST_OK;
}

static st_status ad_refuse(cv *c, st_error *err) {
    return node_err(c, err, "its form changed at opset %d and stele has no adapter for it", c->at);
}

typedef struct adapt_row {
    const char *op;
    int version; /* the signature changed here */
    adapt_fn fn;
} adapt_row;

static const adapt_row adapters[] = {
    /* first in the table: going down these run last, after axes inputs became attributes */
    {"ArgMax", 11, ad_neg_axes11},
    {"ArgMin", 11, ad_neg_axes11},
    {"Compress", 11, ad_neg_axes11},
    {"Concat", 11, ad_neg_axes11},
    {"Flatten", 11, ad_neg_axes11},
    {"Gather", 11, ad_neg_axes11},
    {"Split", 11, ad_neg_axes11},
    {"Squeeze", 11, ad_neg_axes11},
    {"Unsqueeze", 11, ad_neg_axes11},
    {"ReduceSum", 11, ad_neg_axes11},
    {"ReduceMean", 11, ad_neg_axes11},
    {"ReduceMax", 11, ad_neg_axes11},
    {"ReduceMin", 11, ad_neg_axes11},
    {"ReduceProd", 11, ad_neg_axes11},
    {"ReduceL1", 11, ad_neg_axes11},
    {"ReduceL2", 11, ad_neg_axes11},
    {"ReduceLogSum", 11, ad_neg_axes11},
    {"ReduceLogSumExp", 11, ad_neg_axes11},
    {"ReduceSumSquare", 11, ad_neg_axes11},
    {"Squeeze", 13, ad_axes},
    {"Unsqueeze", 13, ad_axes},
    {"ReduceSum", 13, ad_axes},
    {"ReduceMean", 18, ad_axes},
    {"ReduceMax", 18, ad_axes},
    {"ReduceMin", 18, ad_axes},
    {"ReduceProd", 18, ad_axes},
    {"ReduceL1", 18, ad_axes},
    {"ReduceL2", 18, ad_axes},
    {"ReduceLogSum", 18, ad_axes},
    {"ReduceLogSumExp", 18, ad_axes},
    {"ReduceSumSquare", 18, ad_axes},
    {"Split", 13, ad_split},
    {"Split", 18, ad_split18},
    {"Clip", 11, ad_clip},
    {"Pad", 11, ad_pad},
    {"Pad", 18, ad_pad18},
    {"Pad", 19, ad_pad19},
    {"Slice", 10, ad_slice},
    {"TopK", 10, ad_topk},
    {"Dropout", 12, ad_dropout},
    {"Softmax", 13, ad_softmax13},
    {"LogSoftmax", 13, ad_softmax13},
    {"Hardmax", 13, ad_softmax13},
    {"BatchNormalization", 9, ad_bn9},
    {"BatchNormalization", 14, ad_bn14},
    {"Gemm", 11, ad_gemm11},
    {"Scatter", 11, ad_scatter11},
    {"ScatterElements", 11, ad_scatter11},
    /* changes stele does not rewrite yet: refused rather than guessed */
    /* in this order: going up Upsample becomes Resize-10, going down the reverse */
    {"Upsample", 9, ad_upsample9},
    {"Resize", 10, ad_resize10},
    {"Upsample", 10, ad_resize10},
    {"Resize", 11, ad_resize11},
    {"Resize", 13, ad_resize13},
    {"Resize", 18, ad_resize18},
    {"Resize", 19, ad_resize19},
    {"Scan", 9, ad_refuse},
    {"Constant", 11, ad_constant},
    {"Constant", 12, ad_constant},
    {"DFT", 20, ad_refuse},
    {"GroupNormalization", 21, ad_refuse},
    {"Max", 8, ad_bcast8},
    {"Min", 8, ad_bcast8},
    {"Sum", 8, ad_bcast8},
    {"Mean", 8, ad_bcast8},
};

/* Attributes added at `version` that the older form cannot express unless default. */
typedef struct new_attr {
    const char *op;
    int version;
    const char *attr;
    int64_t def;      /* int attribute default; for ints lists, every element */
    const char *sdef; /* string attribute default (NULL: an int attribute) */
} new_attr;

static const new_attr new_attrs[] = {
    {"ArgMax", 12, "select_last_index", 0, NULL},
    {"ArgMin", 12, "select_last_index", 0, NULL},
    {"Reshape", 14, "allowzero", 0, NULL},
    {"MaxPool", 8, "storage_order", 0, NULL},
    {"MaxPool", 10, "ceil_mode", 0, NULL},
    {"MaxPool", 10, "dilations", 1, NULL},
    {"AveragePool", 10, "ceil_mode", 0, NULL},
    {"AveragePool", 19, "dilations", 1, NULL},
    {"LpPool", 18, "ceil_mode", 0, NULL},
    {"LpPool", 18, "dilations", 1, NULL},
    {"LSTM", 14, "layout", 0, NULL},
    {"GRU", 14, "layout", 0, NULL},
    {"RNN", 14, "layout", 0, NULL},
    {"TopK", 11, "largest", 1, NULL},
    {"TopK", 11, "sorted", 1, NULL},
    {"Cast", 19, "saturate", 1, NULL},
    {"QuantizeLinear", 19, "saturate", 1, NULL},
    {"QuantizeLinear", 21, "block_size", 0, NULL},
    {"DequantizeLinear", 21, "block_size", 0, NULL},
    {"GatherND", 12, "batch_dims", 0, NULL},
    {"ScatterElements", 16, "reduction", 0, "none"},
    {"ScatterND", 16, "reduction", 0, "none"},
    {"DepthToSpace", 11, "mode", 0, "DCR"},
    {"Shape", 15, "start", 0, NULL},
    {"Resize", 18, "antialias", 0, NULL},
};

/* Ops that did not exist before `since` (ai.onnx), and ops removed at `until`. */
typedef struct op_life {
    const char *op;
    int since, until; /* until 0: still defined */
} op_life;

static const op_life lives[] = {
    {"Expand", 8, 0},
    {"Scan", 8, 0},
    {"Acosh", 9, 0},
    {"Asinh", 9, 0},
    {"Atanh", 9, 0},
    {"Compress", 9, 0},
    {"ConstantOfShape", 9, 0},
    {"Cosh", 9, 0},
    {"Erf", 9, 0},
    {"EyeLike", 9, 0},
    {"IsNaN", 9, 0},
    {"MaxUnpool", 9, 0},
    {"MeanVarianceNormalization", 9, 0},
    {"NonZero", 9, 0},
    {"OneHot", 9, 0},
    {"Shrink", 9, 0},
    {"Sign", 9, 0},
    {"Sinh", 9, 0},
    {"TfIdfVectorizer", 9, 0},
    {"Where", 9, 0},
    {"ConvInteger", 10, 0},
    {"DequantizeLinear", 10, 0},
    {"IsInf", 10, 0},
    {"MatMulInteger", 10, 0},
    {"Mod", 10, 0},
    {"NonMaxSuppression", 10, 0},
    {"QLinearConv", 10, 0},
    {"QLinearMatMul", 10, 0},
    {"QuantizeLinear", 10, 0},
    {"ReverseSequence", 10, 0},
    {"RoiAlign", 10, 0},
    {"StringNormalizer", 10, 0},
    {"ThresholdedRelu", 10, 0},
    {"BitShift", 11, 0},
    {"ConcatFromSequence", 11, 0},
    {"CumSum", 11, 0},
    {"Det", 11, 0},
    {"DynamicQuantizeLinear", 11, 0},
    {"GatherElements", 11, 0},
    {"GatherND", 11, 0},
    {"Range", 11, 0},
    {"Round", 11, 0},
    {"ScatterElements", 11, 0},
    {"ScatterND", 11, 0},
    {"SequenceAt", 11, 0},
    {"SequenceConstruct", 11, 0},
    {"SequenceEmpty", 11, 0},
    {"SequenceErase", 11, 0},
    {"SequenceInsert", 11, 0},
    {"SequenceLength", 11, 0},
    {"SplitToSequence", 11, 0},
    {"Unique", 11, 0},
    {"Celu", 12, 0},
    {"Einsum", 12, 0},
    {"GreaterOrEqual", 12, 0},
    {"LessOrEqual", 12, 0},
    {"NegativeLogLikelihoodLoss", 12, 0},
    {"SoftmaxCrossEntropyLoss", 12, 0},
    {"HardSwish", 14, 0},
    {"Trilu", 14, 0},
    {"Bernoulli", 15, 0},
    {"CastLike", 15, 0},
    {"Optional", 15, 0},
    {"OptionalGetElement", 15, 0},
    {"OptionalHasElement", 15, 0},
    {"GridSample", 16, 0},
    {"BlackmanWindow", 17, 0},
    {"DFT", 17, 0},
    {"HammingWindow", 17, 0},
    {"HannWindow", 17, 0},
    {"LayerNormalization", 17, 0},
    {"MelWeightMatrix", 17, 0},
    {"STFT", 17, 0},
    {"SequenceMap", 17, 0},
    {"BitwiseAnd", 18, 0},
    {"BitwiseNot", 18, 0},
    {"BitwiseOr", 18, 0},
    {"BitwiseXor", 18, 0},
    {"CenterCropPad", 18, 0},
    {"Col2Im", 18, 0},
    {"GroupNormalization", 18, 0},
    {"Mish", 18, 0},
    {"DeformConv", 19, 0},
    {"AffineGrid", 20, 0},
    {"Gelu", 20, 0},
    {"ImageDecoder", 20, 0},
    {"RegexFullMatch", 20, 0},
    {"StringConcat", 20, 0},
    {"StringSplit", 20, 0},
    {"Attention", 23, 0},
    {"RMSNormalization", 23, 0},
    {"RotaryEmbedding", 23, 0},
    {"Swish", 24, 0},
    {"TensorScatter", 24, 0},
    {"Scatter", 9, 11},
};

/* Attributes new at a version crossed downwards must hold their default; they are dropped. */
static st_status check_new_attrs(cv *c, st_error *err) {
    for (size_t r = 0; r < ST_ARRAY_LEN(new_attrs); r++) {
        const new_attr *na = &new_attrs[r];
        if (strcmp(na->op, c->n->op_type) || !(c->to < na->version && c->from >= na->version))
            continue;
        const st_attr *a = st_node_attr(c->n, na->attr);
        if (!a) continue;
        bool ok = true;
        if (na->sdef)
            ok = a->kind == ST_ATTR_STRING && a->s.len == strlen(na->sdef) &&
                 !memcmp(a->s.data, na->sdef, a->s.len);
        else if (a->kind == ST_ATTR_INTS)
            for (size_t i = 0; i < a->n; i++) ok = ok && a->ints[i] == na->def;
        else ok = a->kind == ST_ATTR_INT && a->i == na->def;
        if (!ok)
            return node_err(c, err,
                            "attribute '%s' other than its default has no form at "
                            "opset %d",
                            na->attr, c->to);
        drop_attr(c->n, na->attr);
    }
    return ST_OK;
}

static st_status convert_node(cv *c, st_error *err) {
    const char *op = c->n->op_type;
    for (size_t r = 0; r < ST_ARRAY_LEN(lives); r++) {
        if (strcmp(lives[r].op, op)) continue;
        if (c->to < lives[r].since)
            return node_err(c, err, "%s does not exist before opset %d", op, lives[r].since);
        if (lives[r].until && c->to >= lives[r].until && strcmp(op, "Scatter"))
            return node_err(c, err, "%s was removed at opset %d", op, lives[r].until);
    }
    st_status s = check_new_attrs(c, err);
    /* adapters run in version order going up, in reverse going down */
    size_t nr = ST_ARRAY_LEN(adapters);
    for (size_t k = 0; !s && k < nr; k++) {
        const adapt_row *a = &adapters[up(c) ? k : nr - 1 - k];
        if (strcmp(a->op, c->n->op_type) || !crosses(c, a->version)) continue;
        c->at = a->version;
        s = a->fn(c, err);
    }
    return s;
}

static st_status convert_graph(st_graph *g, int from, int to, st_error *err) {
    for (size_t i = 0; i < g->n_nodes; i++) {
        st_node *n = &g->nodes[i];
        for (int k = 0; k < n->n_attrs; k++) {
            st_attr *a = &n->attrs[k];
            st_status s = ST_OK;
            if (a->kind == ST_ATTR_GRAPH && a->g) s = convert_graph(a->g, from, to, err);
            for (size_t j = 0; !s && a->kind == ST_ATTR_GRAPHS && j < a->n; j++)
                s = convert_graph(a->graphs[j], from, to, err);
            if (s) return s;
        }
        if (n->domain && *n->domain && strcmp(n->domain, "ai.onnx")) continue;
        cv c = {g, n, from, to, 0};
        st_status s = convert_node(&c, err);
        if (s) return s;
        n->since = to;
    }
    return ST_OK;
}

/* The IR version each opset came with (ONNX's versioning table), except that opsets 7 and 8
 * get IR 4, not 3: IR 3 wants every initializer listed as a graph input. */
static int64_t ir_for_opset(int64_t v) {
    static const int64_t ir[] = {4, 4, 4, 5, 6, 7, 7, 7, 8, 8, 8, 8, 9, 9, 10, 10, 11, 11, 11};
    return ir[v - OPSET_MIN];
}

st_status st_onnx_convert_opset(st_model *m, int64_t target, st_error *err) {
    if (target < OPSET_MIN || target > OPSET_MAX)
        return st_errorf(err, ST_ERR_INVALID, "opset %lld is outside %d..%d", (long long)target,
                         OPSET_MIN, OPSET_MAX);
    st_opset *os = NULL;
    for (size_t i = 0; i < m->n_opsets; i++)
        if (!m->opsets[i].domain || !*m->opsets[i].domain ||
            !strcmp(m->opsets[i].domain, "ai.onnx"))
            os = &m->opsets[i];
    if (!os) return st_errorf(err, ST_ERR_INVALID, "the model imports no ai.onnx opset");
    int64_t from = os->version;
    if (from < 1 || from > OPSET_MAX)
        return st_errorf(err, ST_ERR_UNSUPPORTED, "the model's opset %lld is outside 1..%d",
                         (long long)from, OPSET_MAX);
    for (size_t i = 0; i < m->n_functions; i++)
        if (from != target)
            return st_errorf(err, ST_ERR_UNSUPPORTED,
                             "function \"%s\": model-local functions are not converted",
                             m->functions[i].name ? m->functions[i].name : "");
    st_status s = convert_graph(m->graph, (int)from, (int)target, err);
    if (s) return s;
    os->version = target;
    int64_t ir = ir_for_opset(target);
    if (target > from ? m->ir_version < ir : m->ir_version > ir) m->ir_version = ir;
    return ST_OK;
}
