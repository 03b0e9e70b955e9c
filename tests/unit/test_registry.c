/* tests/unit/test_registry.c: the operator record tables as data. Every row is complete,
 * keys are unique, no row repeats an earlier version's facts, resolution picks the highest
 * `since` not above the opset, FLOPs come out exact for sample shapes, and the impure,
 * pass-through and index-bound facts sit on the ops that need them. */
#include <criterion/criterion.h>
#include <string.h>

#include "ir.h"
#include "op.h"

static const char *dom(const st_op_def *d) {
    return !d->domain || !strcmp(d->domain, "ai.onnx") ? "" : d->domain;
}

/* Walks every row of every family as d. */
#define FOR_ROWS(d)                                        \
    for (size_t f_ = 0; f_ < st_n_op_families; f_++)       \
        for (const st_op_def *d = st_op_families[f_]->ops; \
             d < st_op_families[f_]->ops + st_op_families[f_]->n; d++)

static size_t count_rows(void) {
    size_t n = 0;
    for (size_t f = 0; f < st_n_op_families; f++) n += st_op_families[f]->n;
    return n;
}

Test(registry, every_row_is_complete) {
    size_t n = 0;
    FOR_ROWS(d) {
        cr_assert_not_null(d->domain, "%s: no domain", d->op_type);
        cr_assert_gt(strlen(d->op_type), 0);
        cr_assert_gt(d->since, 0, "%s: since %d", d->op_type, d->since);
        cr_assert_not_null(d->prepare, "%s: no prepare", d->op_type);
        cr_assert_geq(d->flops_per_elem, 0, "%s", d->op_type);
        cr_assert(!(d->flops && d->flops_per_elem > 0), "%s: two FLOP rules", d->op_type);
        if (d->flags & ST_OPF_FLOPS_OF_INPUT)
            cr_assert_gt(d->flops_per_elem, 0, "%s: FLOPS_OF_INPUT without a count", d->op_type);
        if (d->flags & ST_OPF_PASSTHROUGH_ALL)
            cr_assert(d->flags & ST_OPF_PASSTHROUGH, "%s", d->op_type);
        n++;
    }
    /* one row per op (plus versions that need their own prepare): about 210 with the
     * ONNX 1.20 and ai.onnx.ml ops, not the 326 of one row per version */
    cr_assert_gt(n, 150);
    cr_assert_lt(n, 260, "%zu rows: redundant rows are back?", n);
    cr_assert_eq(n, count_rows());
}

Test(registry, keys_are_unique) {
    FOR_ROWS(a) {
        FOR_ROWS(b) {
            if (a == b) continue;
            bool same =
                !strcmp(a->op_type, b->op_type) && !strcmp(dom(a), dom(b)) && a->since == b->since;
            cr_assert_not(same, "%s '%s' since %d twice", dom(a), a->op_type, a->since);
        }
    }
}

/* Two rows of one op are only worth having when they differ in something. */
static bool same_facts(const st_op_def *a, const st_op_def *b) {
    return a->prepare == b->prepare && a->flags == b->flags &&
           a->flops_per_elem == b->flops_per_elem && a->flops == b->flops &&
           a->index_bound == b->index_bound && a->infer == b->infer;
}

Test(registry, no_redundant_rows) {
    FOR_ROWS(a) {
        /* the row of the same op with the next lower since must differ from this one */
        const st_op_def *prev = st_ops_find(dom(a), a->op_type, a->since - 1);
        if (prev)
            cr_assert_not(same_facts(a, prev), "%s since %d repeats since %d", a->op_type, a->since,
                          prev->since);
    }
}

Test(registry, find_picks_highest_since_not_above_opset) {
    /* every row resolves at its own since */
    FOR_ROWS(d)
    cr_assert_eq(st_ops_find(d->domain, d->op_type, d->since), d, "%s %d", d->op_type, d->since);
    /* one row covers all later versions */
    const st_op_def *add = st_ops_find("", "Add", 1);
    cr_assert_not_null(add);
    cr_assert_eq(add->since, 1);
    cr_assert_eq(st_ops_find("", "Add", 14), add);
    cr_assert_eq(st_ops_find("ai.onnx", "Add", 17), add);
    const st_op_def *bn = st_ops_find("", "BatchNormalization", 1);
    cr_assert_eq(st_ops_find("", "BatchNormalization", 15), bn);
    /* below the first version there is nothing */
    cr_assert_null(st_ops_find("", "Add", 0));
    cr_assert_null(st_ops_find("", "Round", 10));
    cr_assert_eq(st_ops_find("", "Round", 11)->since, 11);
    cr_assert_null(st_ops_find("", "Mish", 17));
    cr_assert_eq(st_ops_find("", "Mish", 18)->since, 18);
    cr_assert_null(st_ops_find("", "Scan", 7));
    cr_assert_eq(st_ops_find("", "Scan", 16)->since, 8);
    cr_assert_null(st_ops_find("", "LayerNormalization", 16));
    cr_assert_eq(st_ops_find("", "LayerNormalization", 17)->since, 17);
    /* domains are separate: the training ops are not in ai.onnx */
    cr_assert_null(st_ops_find("", "Adam", 17));
    cr_assert_not_null(st_ops_find("ai.onnx.preview.training", "Adam", 1));
    cr_assert_null(st_ops_find("", "NoSuchOp", 17));
    cr_assert(st_ops_known("", "Gemm"));
    cr_assert_not(st_ops_known("", "NoSuchOp"));
    /* an op that exists only from a later opset */
    cr_assert(st_ops_known("", "Gelu"));
    cr_assert_null(st_ops_find("", "Gelu", 19));
    cr_assert_eq(st_ops_find("", "Gelu", 25)->since, 20);
}

static st_tinfo ti(int ndim, const int64_t *dims) {
    st_tinfo t;
    memset(&t, 0, sizeof t);
    t.kind = ST_VAL_TENSOR;
    t.dtype = ST_DTYPE_F32;
    t.ndim = ndim;
    memcpy(t.dims, dims, (size_t)ndim * sizeof *dims);
    return t;
}

static double flops_of(const char *op, const st_node *nd, const st_tinfo *in, int n_in,
                       const st_tinfo *out, int n_out) {
    const st_op_def *d = st_ops_find("", op, 17);
    cr_assert_not_null(d, "%s", op);
    cr_assert_not_null(d->flops, "%s has no FLOPs function", op);
    return d->flops(nd, in, n_in, out, n_out);
}

Test(registry, flops_functions_exact) {
    st_node nd;
    memset(&nd, 0, sizeof nd);
    nd.domain = "";
    /* Conv 1x3x8x8 * 4x3x3x3 (+bias) -> 1x4x8x8: 256 outputs x 27 taps x 2, + 256 bias adds */
    st_tinfo cin[3] = {ti(4, (int64_t[]){1, 3, 8, 8}), ti(4, (int64_t[]){4, 3, 3, 3}),
                       ti(1, (int64_t[]){4})};
    st_tinfo cout[1] = {ti(4, (int64_t[]){1, 4, 8, 8})};
    cr_assert_float_eq(flops_of("Conv", &nd, cin, 3, cout, 1), 14080.0, 1e-9);
    cr_assert_float_eq(flops_of("Conv", &nd, cin, 2, cout, 1), 13824.0, 1e-9);
    /* ConvInteger never adds a bias */
    cr_assert_float_eq(flops_of("ConvInteger", &nd, cin, 3, cout, 1), 13824.0, 1e-9);
    /* QLinearConv: x, x_scale, x_zp, w(4x3x3x3) */
    st_tinfo s = ti(0, NULL);
    st_tinfo qin[4] = {cin[0], s, s, cin[1]};
    cr_assert_float_eq(flops_of("QLinearConv", &nd, qin, 4, cout, 1), 13824.0, 1e-9);
    /* ConvTranspose 1x4x4x4 with weight 4x2x3x3: 64 inputs x 18 taps x 2 */
    st_tinfo tin[2] = {ti(4, (int64_t[]){1, 4, 4, 4}), ti(4, (int64_t[]){4, 2, 3, 3})};
    st_tinfo tout[1] = {ti(4, (int64_t[]){1, 2, 6, 6})};
    cr_assert_float_eq(flops_of("ConvTranspose", &nd, tin, 2, tout, 1), 2304.0, 1e-9);
    /* Gemm [4,32]x[32,10] + C */
    st_tinfo gin[3] = {ti(2, (int64_t[]){4, 32}), ti(2, (int64_t[]){32, 10}),
                       ti(1, (int64_t[]){10})};
    st_tinfo gout[1] = {ti(2, (int64_t[]){4, 10})};
    cr_assert_float_eq(flops_of("Gemm", &nd, gin, 3, gout, 1), 2.0 * 40 * 32 + 80, 1e-9);
    /* MatMul [2,5,7]x[7,3], and its integer and quantized forms the same */
    st_tinfo min[2] = {ti(3, (int64_t[]){2, 5, 7}), ti(2, (int64_t[]){7, 3})};
    st_tinfo mout[1] = {ti(3, (int64_t[]){2, 5, 3})};
    cr_assert_float_eq(flops_of("MatMul", &nd, min, 2, mout, 1), 420.0, 1e-9);
    cr_assert_float_eq(flops_of("MatMulInteger", &nd, min, 2, mout, 1), 420.0, 1e-9);
    /* MaxPool 2x2 windows -> 1x3x4x4: 48 outputs x 4 taps */
    int64_t ks[2] = {2, 2};
    st_attr a;
    memset(&a, 0, sizeof a);
    a.name = "kernel_shape";
    a.kind = ST_ATTR_INTS;
    a.n = 2;
    a.ints = ks;
    nd.attrs = &a;
    nd.n_attrs = 1;
    st_tinfo pin[1] = {ti(4, (int64_t[]){1, 3, 8, 8})};
    st_tinfo pout[1] = {ti(4, (int64_t[]){1, 3, 4, 4})};
    cr_assert_float_eq(flops_of("MaxPool", &nd, pin, 1, pout, 1), 192.0, 1e-9);
    cr_assert_float_eq(flops_of("AveragePool", &nd, pin, 1, pout, 1), 192.0, 1e-9);
    cr_assert_float_eq(flops_of("LpPool", &nd, pin, 1, pout, 1), 192.0, 1e-9);
    /* without the shapes they need, every FLOPs function says "unknown" */
    memset(&nd, 0, sizeof nd);
    nd.domain = "";
    FOR_ROWS(d) {
        if (!d->flops) continue;
        cr_assert_lt(d->flops(&nd, NULL, 0, NULL, 0), 0, "%s", d->op_type);
    }
}

Test(registry, per_element_flops) {
    size_t n_rows = 0;
    FOR_ROWS(d) {
        if (d->flops_per_elem <= 0) continue;
        /* small whole numbers of operations per element */
        cr_assert_geq(d->flops_per_elem, 1, "%s", d->op_type);
        cr_assert_leq(d->flops_per_elem, 8, "%s", d->op_type);
        cr_assert_float_eq(d->flops_per_elem, (float)(int)d->flops_per_elem, 0, "%s", d->op_type);
        n_rows++;
    }
    cr_assert_eq(n_rows, 49);
    struct {
        const char *op;
        float per;
        bool of_input;
    } want[] = {{"Add", 1, false},
                {"Mean", 2, false},
                {"Sigmoid", 4, false},
                {"Tanh", 5, false},
                {"Mish", 6, false},
                {"BatchNormalization", 2, false},
                {"Softmax", 5, true},
                {"ReduceSum", 1, true},
                {"ReduceL2", 2, true},
                {"LayerNormalization", 5, true},
                {"GlobalAveragePool", 1, true},
                {"RMSNormalization", 4, true},
                {"RotaryEmbedding", 3, false}};
    for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
        const st_op_def *d = st_ops_find("", want[i].op, 25);
        cr_assert_not_null(d, "%s", want[i].op);
        cr_assert_float_eq(d->flops_per_elem, want[i].per, 0, "%s", want[i].op);
        cr_assert_eq((d->flags & ST_OPF_FLOPS_OF_INPUT) != 0, want[i].of_input, "%s", want[i].op);
    }
    /* ops without a cost model say so */
    cr_assert_float_eq(st_ops_find("", "Reshape", 17)->flops_per_elem, 0, 0);
    cr_assert_null(st_ops_find("", "Reshape", 17)->flops);
}

Test(registry, impure_and_passthrough_flags) {
    static const char *const impure[] = {"RandomUniform",    "RandomNormal", "RandomUniformLike",
                                         "RandomNormalLike", "Multinomial",  "Bernoulli",
                                         "Dropout"};
    static const char *const through[] = {"Cast",    "Reshape",  "Unsqueeze", "Squeeze",
                                          "Flatten", "Identity", "Expand",    "Transpose",
                                          "Slice",   "Tile",     "Concat"};
    size_t n_impure = 0, n_through = 0;
    FOR_ROWS(d) {
        n_impure += (d->flags & ST_OPF_IMPURE) != 0;
        n_through += (d->flags & ST_OPF_PASSTHROUGH) != 0;
    }
    cr_assert_eq(n_impure, ST_ARRAY_LEN(impure));
    cr_assert_eq(n_through, ST_ARRAY_LEN(through));
    for (size_t i = 0; i < ST_ARRAY_LEN(impure); i++)
        cr_assert(st_ops_find("", impure[i], 18)->flags & ST_OPF_IMPURE, "%s", impure[i]);
    for (size_t i = 0; i < ST_ARRAY_LEN(through); i++)
        cr_assert(st_ops_find("", through[i], 18)->flags & ST_OPF_PASSTHROUGH, "%s", through[i]);
    cr_assert(st_ops_find("", "Concat", 18)->flags & ST_OPF_PASSTHROUGH_ALL);
    cr_assert_not(st_ops_find("", "Reshape", 18)->flags & ST_OPF_PASSTHROUGH_ALL);
    cr_assert_not(st_ops_find("", "Add", 18)->flags & (ST_OPF_IMPURE | ST_OPF_PASSTHROUGH));
    /* Shape and Size read only shapes: folded once the shape is static */
    cr_assert(st_ops_find("", "Shape", 15)->flags & ST_OPF_SHAPE_ONLY);
    cr_assert(st_ops_find("", "Size", 13)->flags & ST_OPF_SHAPE_ONLY);
    /* element-by-element ops (the SavedModel importer moves them across layouts) */
    static const char *const pointwise[] = {"Relu",     "Add",     "Mul", "Clip",  "Where", "Cast",
                                            "Identity", "Sigmoid", "Max", "Equal", "Not"};
    for (size_t i = 0; i < ST_ARRAY_LEN(pointwise); i++)
        cr_assert(st_ops_find("", pointwise[i], 18)->flags & ST_OPF_POINTWISE, "%s", pointwise[i]);
    static const char *const not_pointwise[] = {"Conv",    "MatMul",    "Softmax", "Transpose",
                                                "Reshape", "ReduceSum", "Gather",  "Concat"};
    for (size_t i = 0; i < ST_ARRAY_LEN(not_pointwise); i++)
        cr_assert_not(st_ops_find("", not_pointwise[i], 18)->flags & ST_OPF_POINTWISE, "%s",
                      not_pointwise[i]);
}

Test(registry, index_bounds) {
    /* values: 0 data [5,7] (constant shape), 1 indices, 2 depth = 6 (scalar constant) */
    st_ir_value vals[3];
    memset(vals, 0, sizeof vals);
    vals[0].has_const = true;
    vals[0].const_val.ndim = 2;
    vals[0].const_val.dims[0] = 5;
    vals[0].const_val.dims[1] = 7;
    vals[1].type.rank = -1;
    int64_t depth = 6;
    st_tensor_borrow(&vals[2].const_val, ST_DTYPE_I64, 0, NULL, &depth, NULL);
    vals[2].has_const = true;
    st_graph g;
    memset(&g, 0, sizeof g);
    g.values = vals;
    g.n_values = 3;
    int ins[2] = {0, 1};
    st_attr axis;
    memset(&axis, 0, sizeof axis);
    axis.name = "axis";
    axis.kind = ST_ATTR_INT;
    axis.i = 1;
    st_node nd;
    memset(&nd, 0, sizeof nd);
    nd.domain = "";
    nd.inputs = ins;
    nd.n_in = 2;
    nd.attrs = &axis;
    nd.n_attrs = 1;
    const char *axis_ops[] = {"Gather", "GatherElements", "ScatterElements", "Scatter"};
    for (size_t i = 0; i < ST_ARRAY_LEN(axis_ops); i++) {
        const st_op_def *d = st_ops_find("", axis_ops[i], 13);
        cr_assert_not_null(d->index_bound, "%s", axis_ops[i]);
        cr_assert_eq(d->index_bound(&g, &nd, 1), 7, "%s", axis_ops[i]);
        cr_assert_eq(d->index_bound(&g, &nd, 0), -1, "%s", axis_ops[i]);
    }
    axis.i = -2; /* negative axes count from the end */
    cr_assert_eq(st_ops_find("", "Gather", 13)->index_bound(&g, &nd, 1), 5);
    nd.n_attrs = 0;
    /* class labels index dimension 1 of the scores */
    cr_assert_eq(st_ops_find("", "NegativeLogLikelihoodLoss", 13)->index_bound(&g, &nd, 1), 7);
    cr_assert_eq(st_ops_find("", "SoftmaxCrossEntropyLoss", 13)->index_bound(&g, &nd, 1), 7);
    /* GatherND: the smallest addressed data dim */
    cr_assert_eq(st_ops_find("", "GatherND", 13)->index_bound(&g, &nd, 1), 5);
    /* OneHot: indices (input 0) below the constant depth */
    int oh[2] = {1, 2};
    nd.inputs = oh;
    cr_assert_eq(st_ops_find("", "OneHot", 11)->index_bound(&g, &nd, 0), 6);
    cr_assert_eq(st_ops_find("", "OneHot", 11)->index_bound(&g, &nd, 1), -1);
    /* unknown shapes give no bound */
    int unk[2] = {1, 1};
    nd.inputs = unk;
    cr_assert_eq(st_ops_find("", "Gather", 13)->index_bound(&g, &nd, 1), -1);
    cr_assert_null(st_ops_find("", "Add", 13)->index_bound);
}
