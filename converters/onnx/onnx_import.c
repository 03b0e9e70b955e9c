/* converters/onnx/onnx_import.c: ONNX ModelProto -> IR. Builds graphs, subgraphs (with
 * outer-scope references resolved to ST_VALUE_OUTER values), functions, attributes of every
 * kind and initializers that borrow the model's mapping (large raw_data), the parse arena or
 * external data. It checks structure (names, SSA, sizes) but not operator semantics, which
 * belong to the runtime. */
#include <string.h>

#include "onnx_convert.h"
#include "onnx_internal.h"

typedef struct importer {
    st_onnx_ctx c;
    st_model *m;
    int depth; /* subgraph nesting */
} importer;

#define MAX_GRAPH_DEPTH 64

/* Opsets visible to the graph being built (the model's, or a function's). */
typedef struct opsets {
    size_t n;
    const st_opset *v;
} opsets;

static int64_t opset_of(const opsets *o, const char *domain) {
    if (!domain || !strcmp(domain, "ai.onnx")) domain = "";
    for (size_t i = 0; i < o->n; i++) {
        const char *d = o->v[i].domain ? o->v[i].domain : "";
        if (!strcmp(d, "ai.onnx")) d = "";
        if (!strcmp(d, domain)) return o->v[i].version;
    }
    return 0;
}

static st_status copy_opsets(importer *im, Onnx__OperatorSetIdProto **src, size_t n, st_opset **out,
                             size_t *nout, st_error *err) {
    st_opset *v = st_ir_alloc(im->m->graph, sizeof *v * (n ? n : 1));
    if (!v) return st_error_nomem(err);
    for (size_t i = 0; i < n; i++) {
        v[i].domain = st_ir_strdup(im->m->graph, st_onnx_str(src[i]->domain));
        v[i].version = src[i]->has_version ? src[i]->version : 0;
        if (!v[i].domain) return st_error_nomem(err);
    }
    *out = v;
    *nout = n;
    return ST_OK;
}

/* Find or create a value, keeping the name index current once it exists. */
static int value(st_graph *g, const char *name) {
    int i = st_graph_value(g, name);
    if (i >= 0 && !g->indexed) st_graph_index(g);
    return i;
}

static bool defined(const st_ir_value *v) {
    return v->role != ST_VALUE_INTERMEDIATE || v->producer >= 0;
}

/* The value `name` as seen from g: defined here, or an outer-scope reference chained
 * through every enclosing subgraph. -1: out of memory, -2: not defined anywhere. */
static int resolve(st_graph *g, const char *name) {
    int i = st_graph_find(g, name);
    if (i >= 0 && defined(&g->values[i])) return i;
    if (!g->parent) return -2;
    int j = resolve(g->parent, name);
    if (j < 0) return j;
    if (i < 0 && (i = value(g, name)) < 0) return -1;
    st_ir_value *v = &g->values[i];
    v->role = ST_VALUE_OUTER;
    v->outer_index = j;
    if (st_type_copy(g, &v->type, &g->parent->values[j].type)) return -1;
    return i;
}

static st_status build_graph(importer *im, const Onnx__GraphProto *gp, st_graph *g,
                             const opsets *ops, st_error *err);

static st_status string_of(st_graph *g, const ProtobufCBinaryData *b, st_str *out, st_error *err) {
    char *d = st_ir_alloc(g, b->len + 1);
    if (!d) return st_error_nomem(err);
    if (b->len) memcpy(d, b->data, b->len);
    out->data = d;
    out->len = b->len;
    return ST_OK;
}

static st_status subgraph(importer *im, st_graph *parent, const Onnx__GraphProto *gp,
                          st_graph **slot, const opsets *ops, st_error *err) {
    if (im->depth >= MAX_GRAPH_DEPTH)
        return st_errorf(err, ST_ERR_LIMIT, "subgraphs nested deeper than %d levels",
                         MAX_GRAPH_DEPTH);
    st_graph *g = st_graph_new(im->m, parent);
    if (!g) return st_error_nomem(err);
    *slot = g; /* reachable from the model before building, so release finds it */
    im->depth++;
    st_status s = build_graph(im, gp, g, ops, err);
    im->depth--;
    if (s && s != ST_ERR_NOMEM) st_error_prefix(err, "subgraph \"%s\": ", st_onnx_str(gp->name));
    return s;
}

/* The attribute's kind; old files may leave `type` unset, so infer it from the field. */
static int attr_kind(const Onnx__AttributeProto *ap) {
    if (ap->has_type) return (int)ap->type;
    if (ap->has_f) return ST_ATTR_FLOAT;
    if (ap->has_i) return ST_ATTR_INT;
    if (ap->has_s) return ST_ATTR_STRING;
    if (ap->t) return ST_ATTR_TENSOR;
    if (ap->g) return ST_ATTR_GRAPH;
    if (ap->sparse_tensor) return ST_ATTR_SPARSE_TENSOR;
    if (ap->tp) return ST_ATTR_TYPE_PROTO;
    if (ap->n_floats) return ST_ATTR_FLOATS;
    if (ap->n_ints) return ST_ATTR_INTS;
    if (ap->n_strings) return ST_ATTR_STRINGS;
    if (ap->n_tensors) return ST_ATTR_TENSORS;
    if (ap->n_graphs) return ST_ATTR_GRAPHS;
    if (ap->n_sparse_tensors) return ST_ATTR_SPARSE_TENSORS;
    if (ap->n_type_protos) return ST_ATTR_TYPE_PROTOS;
    return ST_ATTR_UNDEFINED;
}

static st_status build_attr(importer *im, st_graph *g, st_node *n, const Onnx__AttributeProto *ap,
                            const opsets *ops, st_error *err) {
    const char *name = st_onnx_str(ap->name);
    int kind = attr_kind(ap);
    if (!*name) return st_errorf(err, ST_ERR_FORMAT, "an attribute has no name");
    if (kind < 0 || kind >= ST_ATTR_KIND_COUNT || (kind == ST_ATTR_UNDEFINED && !ap->ref_attr_name))
        return st_errorf(err, ST_ERR_FORMAT, "attribute \"%s\" has unknown type %d", name, kind);
    bool has_value = ap->ref_attr_name && *ap->ref_attr_name;
    if (!has_value && ((kind == ST_ATTR_TENSOR && !ap->t) || (kind == ST_ATTR_GRAPH && !ap->g) ||
                       (kind == ST_ATTR_SPARSE_TENSOR && !ap->sparse_tensor) ||
                       (kind == ST_ATTR_TYPE_PROTO && !ap->tp)))
        return st_errorf(err, ST_ERR_FORMAT, "attribute \"%s\" has no value", name);
    st_attr *a = st_node_add_attr(g, n, name, (st_attr_kind)kind);
    if (!a) return st_error_nomem(err);
    if ((ap->ref_attr_name && *ap->ref_attr_name &&
         !(a->ref_attr_name = st_ir_strdup(g, ap->ref_attr_name))) ||
        (ap->doc_string && *ap->doc_string && !(a->doc = st_ir_strdup(g, ap->doc_string))))
        return st_error_nomem(err);
    st_graph *gg = g; /* arena owner for lists */
    st_status s = ST_OK;
    size_t n_items = 0;
    switch ((st_attr_kind)kind) {
    case ST_ATTR_UNDEFINED: break;
    case ST_ATTR_FLOAT: a->f = ap->f; break;
    case ST_ATTR_INT: a->i = ap->i; break;
    case ST_ATTR_STRING: s = string_of(gg, &ap->s, &a->s, err); break;
    case ST_ATTR_TENSOR:
        if (ap->t) s = st_onnx_tensor_decode(&im->c, ap->t, &a->t, err);
        break;
    case ST_ATTR_SPARSE_TENSOR:
        if (ap->sparse_tensor) s = st_onnx_sparse_decode(&im->c, ap->sparse_tensor, &a->t, err);
        break;
    case ST_ATTR_GRAPH:
        if (ap->g) s = subgraph(im, g, ap->g, &a->g, ops, err);
        break;
    case ST_ATTR_TYPE_PROTO: s = st_onnx_type_decode(g, ap->tp, &a->tp, err); break;
    case ST_ATTR_FLOATS:
        n_items = ap->n_floats;
        if (!(a->floats = st_ir_alloc(gg, sizeof(double) * (n_items ? n_items : 1))))
            return st_error_nomem(err);
        for (size_t i = 0; i < n_items; i++) a->floats[i] = ap->floats[i];
        a->n = n_items;
        break;
    case ST_ATTR_INTS:
        n_items = ap->n_ints;
        if (!(a->ints = st_ir_alloc(gg, sizeof(int64_t) * (n_items ? n_items : 1))))
            return st_error_nomem(err);
        if (n_items) memcpy(a->ints, ap->ints, sizeof(int64_t) * n_items);
        a->n = n_items;
        break;
    case ST_ATTR_STRINGS:
        n_items = ap->n_strings;
        if (!(a->strings = st_ir_alloc(gg, sizeof(st_str) * (n_items ? n_items : 1))))
            return st_error_nomem(err);
        a->n = n_items;
        for (size_t i = 0; i < n_items && !s; i++)
            s = string_of(gg, &ap->strings[i], &a->strings[i], err);
        break;
    case ST_ATTR_TENSORS:
    case ST_ATTR_SPARSE_TENSORS:
        n_items = kind == ST_ATTR_TENSORS ? ap->n_tensors : ap->n_sparse_tensors;
        if (!(a->tensors = st_ir_alloc(gg, sizeof(st_tensor) * (n_items ? n_items : 1))))
            return st_error_nomem(err);
        a->n = n_items;
        for (size_t i = 0; i < n_items && !s; i++)
            s = kind == ST_ATTR_TENSORS
                    ? st_onnx_tensor_decode(&im->c, ap->tensors[i], &a->tensors[i], err)
                    : st_onnx_sparse_decode(&im->c, ap->sparse_tensors[i], &a->tensors[i], err);
        break;
    case ST_ATTR_GRAPHS:
        n_items = ap->n_graphs;
        if (!(a->graphs = st_ir_alloc(gg, sizeof(st_graph *) * (n_items ? n_items : 1))))
            return st_error_nomem(err);
        a->n = n_items;
        for (size_t i = 0; i < n_items && !s; i++)
            s = subgraph(im, g, ap->graphs[i], &a->graphs[i], ops, err);
        break;
    case ST_ATTR_TYPE_PROTOS:
        n_items = ap->n_type_protos;
        if (!(a->tps = st_ir_alloc(gg, sizeof(st_type) * (n_items ? n_items : 1))))
            return st_error_nomem(err);
        a->n = n_items;
        for (size_t i = 0; i < n_items && !s; i++)
            s = st_onnx_type_decode(g, ap->type_protos[i], &a->tps[i], err);
        break;
    case ST_ATTR_KIND_COUNT: break;
    }
    if (s && s != ST_ERR_NOMEM) st_error_prefix(err, "attribute \"%s\": ", name);
    return s;
}

static st_status set_value_info(st_graph *g, int vi, const Onnx__ValueInfoProto *p, st_error *err) {
    st_type t;
    st_status s = st_onnx_type_decode(g, p->type, &t, err);
    if (s) return s;
    st_ir_value *v = &g->values[vi];
    if (t.kind != ST_VAL_NONE) v->type = t;
    if (p->doc_string && *p->doc_string && !(v->doc = st_ir_strdup(g, p->doc_string)))
        return st_error_nomem(err);
    return ST_OK;
}

static st_status add_initializer(importer *im, st_graph *g, const char *name, bool sparse,
                                 const void *proto, st_error *err) {
    if (!*name) return st_errorf(err, ST_ERR_FORMAT, "an initializer has no name");
    int vi = value(g, name);
    if (vi < 0) return st_error_nomem(err);
    if (g->values[vi].role == ST_VALUE_INITIALIZER)
        return st_errorf(err, ST_ERR_FORMAT, "initializer \"%s\" is defined twice", name);
    st_tensor t;
    st_status s = sparse ? st_onnx_sparse_decode(&im->c, proto, &t, err)
                         : st_onnx_tensor_decode(&im->c, proto, &t, err);
    if (s) {
        if (s != ST_ERR_NOMEM) st_error_prefix(err, "initializer: ");
        return s;
    }
    st_ir_value *v = &g->values[vi];
    v->role = ST_VALUE_INITIALIZER;
    v->has_const = true;
    v->const_val = t;
    st_type_from_tensor(g, &v->type, &t);
    if (v->type.rank < 0) return st_error_nomem(err);
    return ST_OK;
}

static st_status node_prefix(st_error *err, st_status s, const Onnx__NodeProto *np) {
    if (s && s != ST_ERR_NOMEM)
        st_error_prefix(err, "node \"%s\" (%s): ", st_onnx_str(np->name), st_onnx_str(np->op_type));
    return s;
}

static st_status build_graph(importer *im, const Onnx__GraphProto *gp, st_graph *g,
                             const opsets *ops, st_error *err) {
    st_status s;
    if ((gp->name && !(g->name = st_ir_strdup(g, gp->name))) ||
        (gp->doc_string && *gp->doc_string && !(g->doc = st_ir_strdup(g, gp->doc_string))))
        return st_error_nomem(err);

    /* initializers (dense and sparse) */
    for (size_t i = 0; i < gp->n_initializer; i++)
        if ((s = add_initializer(im, g, st_onnx_str(gp->initializer[i]->name), false,
                                 gp->initializer[i], err)))
            return s;
    for (size_t i = 0; i < gp->n_sparse_initializer; i++) {
        const Onnx__SparseTensorProto *sp = gp->sparse_initializer[i];
        if ((s = add_initializer(im, g, sp->values ? st_onnx_str(sp->values->name) : "", true, sp,
                                 err)))
            return s;
    }

    /* inputs: an initializer listed here stays an initializer, overridable by the caller */
    if (gp->n_input && !(g->inputs = st_ir_alloc(g, sizeof(int) * gp->n_input)))
        return st_error_nomem(err);
    for (size_t i = 0; i < gp->n_input; i++) {
        const Onnx__ValueInfoProto *p = gp->input[i];
        const char *name = st_onnx_str(p->name);
        if (!*name) return st_errorf(err, ST_ERR_FORMAT, "graph input #%zu has no name", i);
        int vi = value(g, name);
        if (vi < 0) return st_error_nomem(err);
        for (size_t k = 0; k < g->n_inputs; k++)
            if (g->inputs[k] == vi)
                return st_errorf(err, ST_ERR_FORMAT, "graph input \"%s\" is listed twice", name);
        if (g->values[vi].role != ST_VALUE_INITIALIZER) g->values[vi].role = ST_VALUE_INPUT;
        if ((s = set_value_info(g, vi, p, err))) {
            if (s != ST_ERR_NOMEM) st_error_prefix(err, "graph input \"%s\": ", name);
            return s;
        }
        g->inputs[g->n_inputs++] = vi;
    }

    /* every node output first, so nodes may come in any order and subgraphs see them */
    size_t base = g->n_nodes;
    for (size_t k = 0; k < gp->n_node; k++) {
        const Onnx__NodeProto *np = gp->node[k];
        for (size_t o = 0; o < np->n_output; o++) {
            const char *name = st_onnx_str(np->output[o]);
            if (!*name) continue;
            int vi = value(g, name);
            if (vi < 0) return st_error_nomem(err);
            if (defined(&g->values[vi]))
                return node_prefix(
                    err, st_errorf(err, ST_ERR_FORMAT, "output \"%s\" is already defined", name),
                    np);
            g->values[vi].producer = (int)(base + k);
        }
    }
    if (gp->n_node > (size_t)INT32_MAX) return st_errorf(err, ST_ERR_LIMIT, "too many nodes");
    for (size_t k = 0; k < gp->n_node; k++) {
        const Onnx__NodeProto *np = gp->node[k];
        if (np->n_input > (size_t)INT32_MAX || np->n_output > (size_t)INT32_MAX)
            return st_errorf(err, ST_ERR_LIMIT, "node with too many inputs");
        if (!np->op_type || !*np->op_type)
            return node_prefix(err, st_errorf(err, ST_ERR_FORMAT, "no op_type"), np);
        const char *domain = st_onnx_str(np->domain);
        if (!strcmp(domain, "ai.onnx")) domain = "";
        st_node *n = st_graph_add_node(g, np->op_type, domain, st_onnx_str(np->name),
                                       (int)np->n_input, (int)np->n_output);
        if (!n) return st_error_nomem(err);
        n->since = (int)opset_of(ops, domain);
        if (np->doc_string && *np->doc_string && !(n->doc = st_ir_strdup(g, np->doc_string)))
            return st_error_nomem(err);
        for (size_t o = 0; o < np->n_output; o++) {
            const char *name = st_onnx_str(np->output[o]);
            n->outputs[o] = *name ? st_graph_find(g, name) : -1;
        }
        for (size_t i = 0; i < np->n_input; i++) {
            const char *name = st_onnx_str(np->input[i]);
            if (!*name) continue;
            int vi = resolve(g, name);
            if (vi == -1) return st_error_nomem(err);
            if (vi < 0)
                return node_prefix(
                    err, st_errorf(err, ST_ERR_FORMAT, "input \"%s\" is not defined", name), np);
            n->inputs[i] = vi;
        }
        for (size_t i = 0; i < np->n_attribute; i++) {
            if ((s = build_attr(im, g, &g->nodes[base + k], np->attribute[i], ops, err)))
                return node_prefix(err, s, np);
        }
    }

    /* outputs may name inputs, initializers or outer-scope values directly */
    if (gp->n_output && !(g->outputs = st_ir_alloc(g, sizeof(int) * gp->n_output)))
        return st_error_nomem(err);
    for (size_t i = 0; i < gp->n_output; i++) {
        const Onnx__ValueInfoProto *p = gp->output[i];
        const char *name = st_onnx_str(p->name);
        int vi = *name ? resolve(g, name) : -2;
        if (vi == -1) return st_error_nomem(err);
        if (vi < 0)
            return st_errorf(err, ST_ERR_FORMAT, "graph output \"%s\" is not produced by any node",
                             name);
        if ((s = set_value_info(g, vi, p, err))) {
            if (s != ST_ERR_NOMEM) st_error_prefix(err, "graph output \"%s\": ", name);
            return s;
        }
        g->outputs[g->n_outputs++] = vi;
    }

    /* types of intermediates */
    for (size_t i = 0; i < gp->n_value_info; i++) {
        const Onnx__ValueInfoProto *p = gp->value_info[i];
        const char *name = st_onnx_str(p->name);
        if (!*name) continue;
        int vi = value(g, name);
        if (vi < 0) return st_error_nomem(err);
        if ((s = set_value_info(g, vi, p, err))) {
            if (s != ST_ERR_NOMEM) st_error_prefix(err, "value_info \"%s\": ", name);
            return s;
        }
    }
    st_graph_index(g);
    return ST_OK;
}

/* A function body: values named by the formal inputs, nodes, formal outputs. */
static st_status build_function(importer *im, const Onnx__FunctionProto *fp, st_function *f,
                                st_error *err) {
    st_model *m = im->m;
    st_graph *g0 = m->graph;
    if (!(f->name = st_ir_strdup(g0, st_onnx_str(fp->name))) ||
        !(f->domain = st_ir_strdup(g0, st_onnx_str(fp->domain))) ||
        (fp->doc_string && *fp->doc_string && !(f->doc = st_ir_strdup(g0, fp->doc_string))))
        return st_error_nomem(err);
    if (fp->n_input > (size_t)INT32_MAX || fp->n_output > (size_t)INT32_MAX ||
        fp->n_attribute > (size_t)INT32_MAX)
        return st_errorf(err, ST_ERR_LIMIT, "function with too many inputs");
    char ***lists[3] = {&f->inputs, &f->outputs, &f->attr_names};
    char **src[3] = {fp->input, fp->output, fp->attribute};
    size_t cnt[3] = {fp->n_input, fp->n_output, fp->n_attribute};
    for (int l = 0; l < 3; l++) {
        char **v = st_ir_alloc(g0, sizeof(char *) * (cnt[l] ? cnt[l] : 1));
        if (!v) return st_error_nomem(err);
        for (size_t i = 0; i < cnt[l]; i++)
            if (!(v[i] = st_ir_strdup(g0, st_onnx_str(src[l][i])))) return st_error_nomem(err);
        *lists[l] = v;
    }
    f->n_in = (int)fp->n_input;
    f->n_out = (int)fp->n_output;
    f->n_attr_names = (int)fp->n_attribute;
    st_status s =
        copy_opsets(im, fp->opset_import, fp->n_opset_import, &f->opsets, &f->n_opsets, err);
    if (s) return s;
    opsets ops = {f->n_opsets, f->opsets};
    if (!ops.n) ops = (opsets){m->n_opsets, m->opsets};

    /* Reuse build_graph through a synthetic GraphProto: inputs and outputs become untyped
     * value infos named by the formal parameters. */
    Onnx__GraphProto gp;
    onnx__graph_proto__init(&gp);
    gp.name = fp->name;
    gp.n_node = fp->n_node;
    gp.node = fp->node;
    Onnx__ValueInfoProto *vis = st_calloc(fp->n_input + fp->n_output + 1, sizeof *vis);
    Onnx__ValueInfoProto **ins = st_calloc(fp->n_input + 1, sizeof *ins);
    Onnx__ValueInfoProto **outs = st_calloc(fp->n_output + 1, sizeof *outs);
    if (!vis || !ins || !outs) {
        s = st_error_nomem(err);
        goto done;
    }
    for (size_t i = 0; i < fp->n_input + fp->n_output; i++) {
        onnx__value_info_proto__init(&vis[i]);
        vis[i].name = i < fp->n_input ? fp->input[i] : fp->output[i - fp->n_input];
        if (i < fp->n_input) ins[i] = &vis[i];
        else outs[i - fp->n_input] = &vis[i];
    }
    gp.n_input = fp->n_input;
    gp.input = ins;
    gp.n_output = fp->n_output;
    gp.output = outs;
    if (!(f->body = st_graph_new(m, NULL))) {
        s = st_error_nomem(err);
        goto done;
    }
    s = build_graph(im, &gp, f->body, &ops, err);
done:
    st_free(vis);
    st_free(ins);
    st_free(outs);
    if (s && s != ST_ERR_NOMEM) st_error_prefix(err, "function \"%s\": ", st_onnx_str(fp->name));
    return s;
}

static st_status build_model(importer *im, const Onnx__ModelProto *mp, st_error *err) {
    st_model *m = im->m;
    st_graph *g = st_graph_new(m, NULL);
    if (!g) return st_error_nomem(err);
    m->graph = g;
    m->ir_version = mp->has_ir_version ? mp->ir_version : 0;
    m->model_version = mp->has_model_version ? mp->model_version : 0;
    if (!(m->producer_name = st_ir_strdup(g, st_onnx_str(mp->producer_name))) ||
        !(m->producer_version = st_ir_strdup(g, st_onnx_str(mp->producer_version))) ||
        !(m->domain = st_ir_strdup(g, st_onnx_str(mp->domain))) ||
        !(m->doc = st_ir_strdup(g, st_onnx_str(mp->doc_string))) ||
        !(m->path = st_ir_strdup(g, im->c.label)))
        return st_error_nomem(err);
    st_status s =
        copy_opsets(im, mp->opset_import, mp->n_opset_import, &m->opsets, &m->n_opsets, err);
    if (s) return s;
    if (mp->n_metadata_props) {
        if (!(m->meta = st_ir_alloc(g, sizeof *m->meta * mp->n_metadata_props)))
            return st_error_nomem(err);
        for (size_t i = 0; i < mp->n_metadata_props; i++) {
            m->meta[i].key = st_ir_strdup(g, st_onnx_str(mp->metadata_props[i]->key));
            m->meta[i].value = st_ir_strdup(g, st_onnx_str(mp->metadata_props[i]->value));
            if (!m->meta[i].key || !m->meta[i].value) return st_error_nomem(err);
        }
        m->n_meta = mp->n_metadata_props;
    }
    if (mp->n_functions) {
        if (!(m->functions = st_ir_alloc(g, sizeof *m->functions * mp->n_functions)))
            return st_error_nomem(err);
        m->n_functions = mp->n_functions; /* zeroed entries: release skips empty bodies */
        for (size_t i = 0; i < mp->n_functions; i++)
            if ((s = build_function(im, mp->functions[i], &m->functions[i], err))) return s;
    }
    opsets ops = {m->n_opsets, m->opsets};
    return build_graph(im, mp->graph, g, &ops, err);
}

st_status st_onnx_import(const char *path, st_model **out, st_error *err) {
    st_arena *arena = NULL;
    st_buf *file = NULL;
    Onnx__ModelProto *mp = NULL;
    st_status s = st_onnx_pb_load_model(path, &arena, &mp, &file, err);
    if (s) return s;
    importer im;
    memset(&im, 0, sizeof im);
    if ((s = st_onnx_ctx_init(&im.c, path, arena, err))) { /* took the arena */
        st_buf_unref(file);
        return s;
    }
    im.c.file = file; /* raw_data left in the mapping: tensors borrow it */
    if (!(im.m = st_model_new(ST_FORMAT_ONNX))) {
        s = st_error_nomem(err);
        goto fail;
    }
    if ((s = build_model(&im, mp, err)) || (s = st_onnx_inline_functions(im.m, err))) {
        if (s != ST_ERR_NOMEM) st_error_prefix(err, "%s: ", path);
        if (err) /* names from the file may hold control characters: keep the message one line */
            for (char *c = err->msg; *c; c++)
                if ((unsigned char)*c < 0x20) *c = '?';
        goto fail;
    }
    st_onnx_ctx_release(&im.c); /* tensors hold their own references */
    *out = im.m;
    return ST_OK;
fail:
    st_model_release(im.m);
    st_onnx_ctx_release(&im.c);
    return s;
}

bool st_onnx_sniff(const unsigned char *data, size_t n) { return st_onnx_pb_sniff_model(data, n); }
