/* tests/unit/test_ir.c: the IR and core underneath it — dtype table, half-precision
 * conversions, checked shape math, tensor ownership (share, copy, strings), graph building,
 * name lookup, attribute access, topological order and cycle detection, error prefixes. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ir.h"

Test(core, status_strings_and_prefixes) {
    cr_assert_str_eq(st_status_str(ST_OK), "ok");
    cr_assert_str_eq(st_status_str(ST_ERR_FORMAT), "malformed input");
    cr_assert_str_eq(st_status_str((st_status)99), "unknown status");
    st_error err;
    cr_assert_eq(st_errorf(&err, ST_ERR_LIMIT, "weight has %d dims", 3), ST_ERR_LIMIT);
    st_error_prefix(&err, "node \"%s\": ", "conv1");
    st_error_prefix(&err, "%s: ", "model.onnx");
    cr_assert_str_eq(err.msg, "model.onnx: node \"conv1\": weight has 3 dims");
    cr_assert_eq(err.status, ST_ERR_LIMIT);
}

Test(core, dtype_table) {
    cr_assert_eq(st_dtype_size(ST_DTYPE_F32), 4);
    cr_assert_eq(st_dtype_size(ST_DTYPE_BF16), 2);
    cr_assert_eq(st_dtype_size(ST_DTYPE_C128), 16);
    cr_assert_eq(st_dtype_size(ST_DTYPE_BOOL), 1);
    cr_assert_str_eq(st_dtype_name(ST_DTYPE_F64), "float64");
    cr_assert_str_eq(st_dtype_name(ST_DTYPE_STRING), "string");
    cr_assert(!st_dtype_valid(0) && !st_dtype_valid(27));
    cr_assert(st_dtype_valid(16) && st_dtype_valid(26));
    cr_assert(st_dtype_is_float(ST_DTYPE_F16) && !st_dtype_is_float(ST_DTYPE_I32));
    cr_assert(st_dtype_is_signed(ST_DTYPE_I8) && !st_dtype_is_signed(ST_DTYPE_U8));
}

Test(core, half_precision_round_trips) {
    /* every finite float16 converts to float32 and back unchanged */
    for (uint32_t h = 0; h < 0x10000; h++) {
        if ((h & 0x7c00) == 0x7c00 && (h & 0x3ff)) continue; /* NaN payloads */
        float f = st_f16_to_f32((uint16_t)h);
        cr_assert_eq(st_f32_to_f16(f), (uint16_t)h, "half 0x%04x -> %g", h, f);
    }
    cr_assert_eq(st_f32_to_f16(65520.f), 0x7c00);            /* rounds to infinity */
    cr_assert_eq(st_f32_to_f16(1.0f + 1.0f / 2048), 0x3c00); /* tie to even */
    cr_assert(isnan(st_f16_to_f32(st_f32_to_f16(NAN))));
    cr_assert_eq(st_f32_to_bf16(1.0f), 0x3f80);
    cr_assert_float_eq(st_bf16_to_f32(st_f32_to_bf16(3.140625f)), 3.140625f, 0);
    cr_assert_eq(st_f32_to_bf16(1.00390625f), 0x3f80); /* tie to even */
}

/* Readable reference conversions (the straightforward branchy form) for the fast ones. */
static uint16_t ref_f32_to_f16(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    uint32_t sign = (u >> 16) & 0x8000, man = u & 0x7fffff;
    int32_t exp = (int32_t)((u >> 23) & 0xff);
    if (exp == 0xff) return (uint16_t)(sign | 0x7c00 | (man ? 0x200 | (man >> 13) : 0));
    int32_t e = exp - 127 + 15;
    if (e >= 0x1f) return (uint16_t)(sign | 0x7c00);
    if (e <= 0) {
        if (e < -10) return (uint16_t)sign;
        man |= 0x800000;
        uint32_t shift = (uint32_t)(14 - e);
        uint32_t half = man >> shift, rem = man & ((1u << shift) - 1), mid = 1u << (shift - 1);
        if (rem > mid || (rem == mid && (half & 1))) half++;
        return (uint16_t)(sign | half);
    }
    uint32_t half = sign | ((uint32_t)e << 10) | (man >> 13), rem = man & 0x1fff;
    if (rem > 0x1000 || (rem == 0x1000 && (half & 1))) half++;
    return (uint16_t)half;
}

static uint16_t ref_f32_to_bf16(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    if ((u & 0x7fffffff) > 0x7f800000) return (uint16_t)((u >> 16) | 0x40);
    uint32_t lsb = (u >> 16) & 1, rounded = u + 0x7fff + lsb;
    return (uint16_t)(rounded >> 16);
}

Test(core, fast_half_conversions_match_reference) {
    /* a dense stride through all 2^32 float bit patterns, plus every boundary nearby */
    for (uint64_t i = 0; i < (1ull << 32); i += 4099) {
        uint32_t u = (uint32_t)i;
        float f;
        memcpy(&f, &u, sizeof f);
        uint16_t a = st_f32_to_f16(f), b = ref_f32_to_f16(f);
        if (f != f) cr_assert((a & 0x7c00) == 0x7c00 && (a & 0x3ff), "NaN 0x%08x", u);
        else cr_assert_eq(a, b, "f16 of 0x%08x: 0x%04x vs 0x%04x", u, a, b);
        cr_assert_eq(st_f32_to_bf16(f), ref_f32_to_bf16(f), "bf16 of 0x%08x", u);
    }
    for (uint32_t h = 0; h < 0x10000; h++) {
        uint32_t sign = (h & 0x8000u) << 16, exp = (h >> 10) & 0x1f, man = h & 0x3ff;
        double want = exp == 0    ? ldexp(man, -24)
                      : exp == 31 ? (man ? NAN : INFINITY)
                                  : ldexp(man | 0x400, (int)exp - 25);
        float got = st_f16_to_f32((uint16_t)h);
        if (sign) want = -want;
        if (want != want) cr_assert(got != got);
        else cr_assert_eq((double)got, want, "half 0x%04x", h);
    }
}

Test(core, checked_shape_math) {
    st_error err;
    size_t n;
    int64_t ok[3] = {2, 3, 4}, neg[2] = {2, -1}, huge[3] = {1ll << 40, 1ll << 40, 4};
    cr_assert_eq(st_shape_nelem(3, ok, &n, &err), ST_OK);
    cr_assert_eq(n, 24);
    cr_assert_eq(st_shape_nelem(2, neg, &n, &err), ST_ERR_INVALID);
    cr_assert_eq(st_shape_nelem(3, huge, &n, &err), ST_ERR_LIMIT);
    cr_assert_eq(st_shape_nelem(ST_MAX_RANK + 1, ok, &n, &err), ST_ERR_LIMIT);
    st_tensor t;
    cr_assert_eq(st_tensor_alloc(&t, ST_DTYPE_F32, 3, huge, &err), ST_ERR_LIMIT);
    cr_assert_eq(st_tensor_alloc(&t, (st_dtype)42, 1, ok, &err), ST_ERR_UNSUPPORTED);
}

Test(tensor, share_copy_and_strings) {
    st_error err;
    st_tensor a, b, c;
    int64_t dims[2] = {2, 2};
    cr_assert_eq(st_tensor_alloc(&a, ST_DTYPE_STRING, 2, dims, &err), ST_OK);
    cr_assert_eq(st_tensor_set_string(&a, 0, "héllo", strlen("héllo"), &err), ST_OK);
    cr_assert_eq(st_tensor_set_string(&a, 3, "a\0b", 3, &err), ST_OK);
    st_tensor_share(&b, &a);
    cr_assert_eq(b.data, a.data);
    cr_assert_eq(a.buf->refs, 2);
    cr_assert_eq(st_tensor_copy(&c, &a, &err), ST_OK);
    cr_assert_neq(c.data, a.data);
    st_tensor_clear(&a);
    cr_assert_eq(b.buf->refs, 1);
    const st_str *s = b.data, *cs = c.data;
    cr_assert_str_eq(s[0].data, "héllo");
    cr_assert_eq(cs[3].len, 3);
    cr_assert(!memcmp(cs[3].data, "a\0b", 3));
    cr_assert_null(cs[1].data);
    st_tensor_clear(&b);
    st_tensor_clear(&c);
    cr_assert_null(c.buf);
    st_tensor_clear(NULL);
}

Test(tensor, element_access_and_description) {
    st_error err;
    st_tensor t;
    int64_t dims[1] = {3};
    cr_assert_eq(st_tensor_alloc(&t, ST_DTYPE_F16, 1, dims, &err), ST_OK);
    st_tensor_set_f64(&t, 0, 1.5);
    st_tensor_set_f64(&t, 1, -2.25);
    st_tensor_set_f64(&t, 2, 7.0);
    cr_assert_float_eq(st_tensor_get_f64(&t, 1), -2.25, 0);
    cr_assert_eq(st_tensor_get_i64(&t, 2), 7);
    char buf[64];
    cr_assert_str_eq(st_tensor_desc(&t, buf, sizeof buf), "float16[3]");
    st_tensor_clear(&t);
}

static st_model *two_node_model(st_graph **gp) {
    st_model *m = st_model_new(ST_FORMAT_ONNX);
    st_graph *g = st_graph_new(m, NULL);
    m->graph = g;
    /* listed out of order: the consumer first */
    st_node *b = st_graph_add_node(g, "Relu", "", "second", 1, 1);
    st_node *a = st_graph_add_node(g, "Neg", "", "first", 1, 1);
    a->inputs[0] = st_graph_value(g, "x");
    a->outputs[0] = st_graph_value(g, "mid");
    b = &g->nodes[0];
    b->inputs[0] = st_graph_value(g, "mid");
    b->outputs[0] = st_graph_value(g, "y");
    *gp = g;
    return m;
}

Test(graph, build_lookup_and_order) {
    st_graph *g;
    st_model *m = two_node_model(&g);
    cr_assert_eq(g->n_values, 3);
    cr_assert_eq(st_graph_find(g, "mid"), 1);
    cr_assert_eq(st_graph_find(g, "nope"), -1);
    st_graph_index(g);
    for (int i = 0; i < 200; i++) {
        char name[16];
        snprintf(name, sizeof name, "v%d", i);
        cr_assert_eq(st_graph_value(g, name), 3 + i);
    }
    cr_assert_eq(st_graph_find(g, "v123"), 126);
    cr_assert_eq(st_graph_value(g, "mid"), 1); /* existing name: same value */
    int order[2];
    st_error err;
    cr_assert_eq(st_graph_toposort(g, order, &err), ST_OK);
    cr_assert_eq(order[0], 1);
    cr_assert_eq(order[1], 0);
    st_model_release(m);
}

/* An If listed first whose branch (two levels down) reads a value a later node produces:
 * the producer must be ordered before the If, as if the read were an input. */
Test(graph, subgraph_reads_order_their_producers) {
    st_model *m = st_model_new(ST_FORMAT_ONNX);
    st_graph *g = st_graph_new(m, NULL);
    m->graph = g;
    st_node *iff = st_graph_add_node(g, "If", "", "if", 1, 1);
    st_node *neg = st_graph_add_node(g, "Neg", "", "neg", 1, 1);
    iff = &g->nodes[0];
    iff->inputs[0] = st_graph_value(g, "cond");
    iff->outputs[0] = st_graph_value(g, "y");
    neg->inputs[0] = st_graph_value(g, "x");
    neg->outputs[0] = st_graph_value(g, "mid");
    /* then-branch -> a nested graph -> reads "mid" through two outer references */
    st_graph *br = st_graph_new(m, g), *inner = st_graph_new(m, br);
    int bv = st_graph_value(br, "mid");
    br->values[bv].role = ST_VALUE_OUTER;
    br->values[bv].outer_index = st_graph_find(g, "mid");
    int iv = st_graph_value(inner, "mid");
    inner->values[iv].role = ST_VALUE_OUTER;
    inner->values[iv].outer_index = bv;
    st_node *loop = st_graph_add_node(br, "Loop", "", "loop", 0, 0);
    st_node_add_attr(br, loop, "body", ST_ATTR_GRAPH)->g = inner;
    st_node_add_attr(g, iff, "then_branch", ST_ATTR_GRAPH)->g = br;
    int order[2];
    st_error err;
    cr_assert_eq(st_graph_toposort(g, order, &err), ST_OK, "%s", err.msg);
    cr_assert_eq(order[0], 1, "the Neg producing \"mid\" runs first");
    cr_assert_eq(order[1], 0);
    st_model_release(m);
}

Test(graph, cycles_are_reported) {
    st_graph *g;
    st_model *m = two_node_model(&g);
    g->nodes[1].inputs[0] = st_graph_value(g, "y"); /* Neg reads Relu's output */
    int order[2];
    st_error err;
    cr_assert_eq(st_graph_toposort(g, order, &err), ST_ERR_FORMAT);
    cr_assert(strstr(err.msg, "cycle"), "%s", err.msg);
    st_model_release(m);
}

Test(graph, attributes) {
    st_graph *g;
    st_model *m = two_node_model(&g);
    st_node *n = &g->nodes[0];
    st_attr *a = st_node_add_attr(g, n, "alpha", ST_ATTR_FLOAT);
    a->f = 0.25;
    a = st_node_add_attr(g, n, "axes", ST_ATTR_INTS);
    a->n = 2;
    a->ints = st_ir_alloc(g, 2 * sizeof(int64_t));
    a->ints[0] = -1;
    a->ints[1] = 3;
    a = st_node_add_attr(g, n, "mode", ST_ATTR_STRING);
    a->s.data = st_ir_strdup(g, "linear");
    a->s.len = 6;
    cr_assert_float_eq(st_attr_float(n, "alpha", 1), 0.25, 0);
    cr_assert_eq(st_attr_int(n, "missing", 7), 7);
    const int64_t *axes;
    cr_assert_eq(st_attr_ints(n, "axes", &axes), 2);
    cr_assert_eq(axes[0], -1);
    cr_assert_eq(st_attr_ints(n, "alpha", &axes), 0); /* wrong kind reads as absent */
    cr_assert_str_eq(st_attr_string(n, "mode", "nearest"), "linear");
    cr_assert_str_eq(st_attr_string(n, "other", "nearest"), "nearest");
    st_model_release(m);
}

Test(graph, opset_lookup) {
    st_graph *g;
    st_model *m = two_node_model(&g);
    m->opsets = st_ir_alloc(g, 2 * sizeof(st_opset));
    m->opsets[0] = (st_opset){st_ir_strdup(g, "ai.onnx"), 13};
    m->opsets[1] = (st_opset){st_ir_strdup(g, "com.microsoft"), 1};
    m->n_opsets = 2;
    cr_assert_eq(st_model_opset(m, ""), 13);
    cr_assert_eq(st_model_opset(m, "ai.onnx"), 13);
    cr_assert_eq(st_model_opset(m, "com.microsoft"), 1);
    cr_assert_eq(st_model_opset(m, "ai.onnx.ml"), 0);
    st_model_release(m);
}
