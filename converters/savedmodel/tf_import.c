/* converters/savedmodel/tf_import.c: SavedModel directory -> IR. Flattens the chosen
 * signature's graph (StatefulPartitionedCall/PartitionedCall bodies inlined under their call
 * path), resolves variables to bundle tensors through the restore ops, walks back from the
 * signature outputs and hands each needed node to the op table (tf_ops.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tf_convert.h"
#include "tf_internal.h"

/* ---- flattening ------------------------------------------------------------------------ */
#define MAX_CALL_DEPTH 64

static const Stele__Tf__FunctionDef *find_func(tf_ctx *c, const char *name) {
    int i = st_tf_find(&c->fmap, name);
    return i >= 0 ? c->lib->function[i] : NULL;
}

/* The function a node calls when it is inlined: PartitionedCall/StatefulPartitionedCall `f`,
 * or an op named after a library function. */
static const Stele__Tf__FunctionDef *callee(tf_ctx *c, const tf_nodedef *nd) {
    if (!strcmp(nd->op, "StatefulPartitionedCall") || !strcmp(nd->op, "PartitionedCall")) {
        const tf_attr *f = st_tf_attr(nd, "f");
        if (f && f->value_case == STELE__TF__ATTR_VALUE__VALUE_FUNC)
            return find_func(c, f->func->name);
        return NULL;
    }
    return find_func(c, nd->op);
}

/* Output arguments of ops with more than one: a tensor named "node:arg:i" is output
 * (position of arg) + i. Every arg here holds one tensor. */
static const struct {
    const char *op;
    const char *args[7];
} multi_out[] = {
    {"FusedBatchNorm", {"y", "batch_mean", "batch_variance", "reserve_space_1", "reserve_space_2"}},
    {"FusedBatchNormV2",
     {"y", "batch_mean", "batch_variance", "reserve_space_1", "reserve_space_2"}},
    {"FusedBatchNormV3",
     {"y", "batch_mean", "batch_variance", "reserve_space_1", "reserve_space_2",
      "reserve_space_3"}},
    {"Unique", {"y", "idx"}},
    {"TopKV2", {"values", "indices"}},
    {"Switch", {"output_false", "output_true"}},
    {"Merge", {"output", "value_index"}},
};

static int out_index(tf_ctx *c, const tf_nodedef *nd, const char *arg, int idx) {
    const Stele__Tf__FunctionDef *f = callee(c, nd);
    if (f && strcmp(nd->op, "StatefulPartitionedCall") && strcmp(nd->op, "PartitionedCall")) {
        for (size_t i = 0; i < f->signature->n_output_arg; i++)
            if (!strcmp(f->signature->output_arg[i]->name, arg)) return (int)i + idx;
        return idx;
    }
    for (size_t i = 0; i < ST_ARRAY_LEN(multi_out); i++) {
        if (strcmp(multi_out[i].op, nd->op)) continue;
        for (int k = 0; k < 7 && multi_out[i].args[k]; k++)
            if (!strcmp(multi_out[i].args[k], arg)) return k + idx;
    }
    return idx;
}

typedef struct frame {
    const char *prefix;              /* "" at the top */
    const Stele__Tf__FunctionDef *f; /* NULL at the top */
    char **arg_bind;                 /* function input i -> outer tensor */
} frame;

static char *join(const char *prefix, const char *name) {
    size_t lp = strlen(prefix), ln = strlen(name);
    char *s = st_malloc(lp + ln + 2);
    if (!s) return NULL;
    if (lp) {
        memcpy(s, prefix, lp);
        s[lp] = '/';
        memcpy(s + lp + 1, name, ln + 1);
    } else {
        memcpy(s, name, ln + 1);
    }
    return s;
}

static char *dup_str(tf_ctx *c, const char *s) {
    char *d = st_strdup(s);
    if (!d) st_tf_nomem(c);
    return d;
}

/* Resolve a reference inside frame fr to a flat "node:k" tensor; NULL for control inputs
 * and on failure (then in c->st). */
static char *resolve_ref(tf_ctx *c, const frame *fr, const char *ref) {
    if (ref[0] == '^') return NULL;
    char buf[1024];
    if (fr->f) {
        const char *colon = strchr(ref, ':');
        if (!colon) { /* a function argument */
            for (size_t i = 0; i < fr->f->signature->n_input_arg; i++)
                if (!strcmp(fr->f->signature->input_arg[i]->name, ref)) {
                    return dup_str(c, fr->arg_bind[i]);
                }
            snprintf(buf, sizeof buf, "%s", ref);
        } else {
            char node[512], arg[256];
            int idx = 0;
            const char *c2 = strchr(colon + 1, ':');
            snprintf(node, sizeof node, "%.*s", (int)(colon - ref), ref);
            if (c2) {
                snprintf(arg, sizeof arg, "%.*s", (int)(c2 - colon - 1), colon + 1);
                idx = atoi(c2 + 1);
            } else {
                snprintf(arg, sizeof arg, "%s", colon + 1);
            }
            int k = idx;
            for (size_t i = 0; i < fr->f->n_node_def; i++)
                if (!strcmp(fr->f->node_def[i]->name, node)) {
                    k = out_index(c, fr->f->node_def[i], arg, idx);
                    break;
                }
            char *flat = join(fr->prefix, node);
            if (!flat) {
                st_tf_nomem(c);
                return NULL;
            }
            snprintf(buf, sizeof buf, "%s:%d", flat, k);
            st_free(flat);
            return dup_str(c, buf);
        }
    } else {
        snprintf(buf, sizeof buf, "%s", ref);
    }
    /* top level: "node" or "node:k" */
    const char *colon = strrchr(buf, ':');
    char out[1100];
    if (colon && colon[1] >= '0' && colon[1] <= '9') snprintf(out, sizeof out, "%s", buf);
    else snprintf(out, sizeof out, "%s:0", buf);
    return dup_str(c, out);
}

static st_status add_alias(tf_ctx *c, const char *from, const char *to) {
    if (!ST_GROW(c->alias_from, c->cap_alias, c->n_alias + 1)) return st_tf_nomem(c);
    size_t cap = c->cap_alias;
    (void)cap;
    char **nt = st_realloc(c->alias_to, sizeof *nt * c->cap_alias);
    if (!nt) return st_tf_nomem(c);
    c->alias_to = nt;
    c->alias_from[c->n_alias] = st_strdup(from);
    c->alias_to[c->n_alias] = st_strdup(to);
    if (!c->alias_from[c->n_alias] || !c->alias_to[c->n_alias] ||
        !st_strmap_put(&c->amap, from, (int)c->n_alias)) {
        st_free(c->alias_from[c->n_alias]);
        st_free(c->alias_to[c->n_alias]);
        return st_tf_nomem(c);
    }
    c->n_alias++;
    return ST_OK;
}

static st_status flatten(tf_ctx *c, const frame *fr, tf_nodedef *const *nodes, size_t n, int depth);

static st_status flatten_node(tf_ctx *c, const frame *fr, const tf_nodedef *nd, int depth) {
    st_status s = ST_OK;
    char *flat = join(fr->prefix, nd->name);
    char **ins = st_calloc(nd->n_input + 1, sizeof *ins);
    int nin = 0;
    if (!flat || !ins) goto oom;
    for (size_t i = 0; i < nd->n_input; i++) {
        char *r = resolve_ref(c, fr, nd->input[i]);
        if (c->st) goto fail;
        if (r) ins[nin++] = r;
    }
    const Stele__Tf__FunctionDef *f = callee(c, nd);
    if (f) {
        if (depth >= MAX_CALL_DEPTH) {
            s = st_tf_fail(c, ST_ERR_LIMIT, "function calls nested deeper than %d at \"%s\"",
                           MAX_CALL_DEPTH, flat);
            goto done;
        }
        if ((size_t)nin != f->signature->n_input_arg) {
            s = st_tf_fail(c, ST_ERR_FORMAT, "call \"%s\" passes %d inputs to %s, which takes %zu",
                           flat, nin, f->signature->name, f->signature->n_input_arg);
            goto done;
        }
        frame sub = {flat, f, ins};
        if ((s = flatten(c, &sub, f->node_def, f->n_node_def, depth + 1))) goto done;
        for (size_t k = 0; k < f->signature->n_output_arg; k++) {
            const char *an = f->signature->output_arg[k]->name;
            const char *ret = NULL;
            for (size_t r = 0; r < f->n_ret; r++)
                if (!strcmp(f->ret[r]->key, an)) ret = f->ret[r]->value;
            if (!ret) continue;
            char *to = resolve_ref(c, &sub, ret);
            if (c->st) goto fail;
            if (!to) continue;
            char from[1100];
            snprintf(from, sizeof from, "%s:%zu", flat, k);
            s = add_alias(c, from, to);
            st_free(to);
            if (s) goto done;
        }
        goto done;
    }
    if (!ST_GROW(c->nodes, c->cap_nodes, c->n_nodes + 1)) goto oom;
    tf_node *t = &c->nodes[c->n_nodes];
    memset(t, 0, sizeof *t);
    t->name = flat;
    t->def = nd;
    t->in = ins;
    t->n_in = nin;
    if (!st_strmap_put(&c->nmap, flat, (int)c->n_nodes)) goto oom;
    c->n_nodes++;
    return ST_OK;
oom:
    st_tf_nomem(c);
fail:
    s = c->st;
done:
    for (int i = 0; i < nin; i++) st_free(ins[i]);
    st_free(ins);
    st_free(flat);
    return s;
}

static st_status flatten(tf_ctx *c, const frame *fr, tf_nodedef *const *nodes, size_t n,
                         int depth) {
    for (size_t i = 0; i < n; i++) {
        st_status s = flatten_node(c, fr, nodes[i], depth);
        if (s) return s;
    }
    return ST_OK;
}

/* ---- tracing --------------------------------------------------------------------------- */
/* The node producing tensor t ("node:k"), with *k set; -1 when unknown. */
static int producer(const tf_ctx *c, const char *t, int *k) {
    t = st_tf_unalias(c, t);
    const char *colon = strrchr(t, ':');
    char name[1100];
    snprintf(name, sizeof name, "%.*s", colon ? (int)(colon - t) : (int)strlen(t), t);
    if (k) *k = colon ? atoi(colon + 1) : 0;
    return st_tf_find(&c->nmap, name);
}

/* Like producer, also looking through Identity-like nodes. */
static int trace(const tf_ctx *c, const char *t, int *k) {
    for (int hops = 0; hops < 1000; hops++) {
        int i = producer(c, t, k);
        if (i < 0) return -1;
        const char *op = c->nodes[i].def->op;
        if ((strcmp(op, "Identity") && strcmp(op, "Snapshot") && strcmp(op, "StopGradient")) ||
            c->nodes[i].n_in < 1)
            return i;
        t = c->nodes[i].in[0];
    }
    return -1;
}

static bool is_while(const char *op) {
    return !strcmp(op, "While") || !strcmp(op, "StatelessWhile");
}
static bool is_if(const char *op) { return !strcmp(op, "If") || !strcmp(op, "StatelessIf"); }

static bool is_var_op(const char *op) {
    return !strcmp(op, "VarHandleOp") || !strcmp(op, "VariableV2") || !strcmp(op, "Variable");
}

/* Map variable nodes to checkpoint keys through the restore ops: Assign/AssignVariableOp
 * (var, RestoreV2:i) with RestoreV2's tensor_names constant. */
static st_status find_var_keys(tf_ctx *c) {
    for (size_t i = 0; i < c->n_nodes; i++) {
        tf_node *n = &c->nodes[i];
        if ((strcmp(n->def->op, "Assign") && strcmp(n->def->op, "AssignVariableOp")) || n->n_in < 2)
            continue;
        int vk, rk;
        int v = trace(c, n->in[0], &vk), r = trace(c, n->in[1], &rk);
        if (v < 0 || r < 0 || !is_var_op(c->nodes[v].def->op)) continue;
        if (strcmp(c->nodes[r].def->op, "RestoreV2") &&
            strcmp(c->nodes[r].def->op, "RestoreSlice") && strcmp(c->nodes[r].def->op, "Restore"))
            continue;
        if (c->nodes[r].n_in < 2) continue;
        int nk;
        int names = trace(c, c->nodes[r].in[1], &nk);
        if (names < 0 || strcmp(c->nodes[names].def->op, "Const")) continue;
        const tf_attr *val = st_tf_attr(c->nodes[names].def, "value");
        if (!val || val->value_case != STELE__TF__ATTR_VALUE__VALUE_TENSOR) continue;
        const Stele__Tf__TensorProto *tp = val->tensor;
        if ((size_t)rk >= tp->n_string_val) continue;
        char key[1024], id[32];
        snprintf(key, sizeof key, "%.*s", (int)tp->string_val[rk].len,
                 (const char *)tp->string_val[rk].data);
        if (!ST_GROW(c->keys, c->cap_keys, c->n_keys + 1) || !(c->keys[c->n_keys] = st_strdup(key)))
            return st_tf_nomem(c);
        snprintf(id, sizeof id, "%d", v);
        if (!st_strmap_put(&c->varkey, id, (int)c->n_keys++)) return st_tf_nomem(c);
    }
    return ST_OK;
}

static st_status emit_node(tf_ctx *c, int idx, int depth);

/* The IR value of a TF tensor, converting its producer first when needed. */
static int tensor_value(tf_ctx *c, const char *t0, int depth) {
    int v = st_tf_value_of(c, t0);
    if (v >= 0) return v;
    const char *t = st_tf_unalias(c, t0);
    int k, p = producer(c, t, &k);
    if (p < 0) {
        st_tf_fail(c, ST_ERR_FORMAT, "tensor \"%s\" has no producer in the graph", t);
        return -1;
    }
    if (emit_node(c, p, depth + 1)) return -1;
    if ((v = st_tf_find(&c->vmap, t)) >= 0) return v;
    st_tf_fail(c, ST_ERR_UNSUPPORTED, "node \"%s\" (%s): output %d is not produced",
               c->nodes[p].name, c->nodes[p].def->op, k);
    return -1;
}

/* A variable's value from the bundle, as an initializer named by its checkpoint key. */
static st_status variable_value(tf_ctx *c, tf_node *n, int idx) {
    char id[32];
    snprintf(id, sizeof id, "%d", idx);
    int ki = st_tf_find(&c->varkey, id);
    char shared[512];
    const char *key =
        ki >= 0 ? c->keys[ki] : st_tf_attr_s(n->def, "shared_name", shared, sizeof shared);
    if (!*key) key = n->def->name;
    if (!c->bundle)
        return st_tf_fail(c, ST_ERR_FORMAT, "variable \"%s\" but no variables/ bundle", n->name);
    const Stele__Tf__BundleEntryProto *e = st_tf_bundle_entry(c->bundle, key);
    if (!e)
        return st_tf_fail(c, ST_ERR_FORMAT, "variable \"%s\": no checkpoint entry \"%s\"", n->name,
                          key);
    st_dtype dt = st_tf_dtype((int)e->dtype);
    if (dt == ST_DTYPE_UNDEFINED || dt == ST_DTYPE_STRING)
        return st_tf_fail(c, ST_ERR_UNSUPPORTED, "variable \"%s\" of TensorFlow type %d", key,
                          (int)e->dtype);
    int64_t dims[ST_MAX_RANK];
    int nd = e->shape ? (int)e->shape->n_dim : 0;
    if (nd > ST_MAX_RANK) return st_tf_fail(c, ST_ERR_LIMIT, "variable \"%s\" of rank %d", key, nd);
    for (int d = 0; d < nd; d++) dims[d] = e->shape->dim[d]->size;
    const uint8_t *data;
    size_t size, want;
    st_buf *buf;
    st_error err;
    st_status s = st_shape_nelem(nd, dims, &want, &err);
    if (!s) s = st_tf_bundle_data(c->bundle, key, &data, &size, &buf, &err);
    if (s) return st_tf_adopt(c, s, &err);
    if (size != want * st_dtype_size(dt)) {
        st_buf_unref(buf);
        return st_tf_fail(c, ST_ERR_FORMAT, "variable \"%s\": %zu bytes stored, shape needs %zu",
                          key, size, want * st_dtype_size(dt));
    }
    /* a private copy: tensors must be aligned for the kernels */
    st_tensor t;
    s = st_tensor_alloc(&t, dt, nd, dims, &err);
    if (!s && size) memcpy(t.data, data, size);
    st_buf_unref(buf);
    if (s) return st_tf_adopt(c, s, &err);
    /* one initializer per variable, named by its checkpoint key unless that name is taken */
    char vname[1200];
    snprintf(vname, sizeof vname, "%s", key);
    int v = st_graph_find(c->g, vname);
    for (int k = 0; v >= 0 && c->g->values[v].role != ST_VALUE_INITIALIZER; k++) {
        snprintf(vname, sizeof vname, "%s_%d", key, k);
        v = st_graph_find(c->g, vname);
    }
    if (v < 0) v = st_graph_value(c->g, vname);
    if (v < 0) {
        st_tensor_clear(&t);
        return st_tf_nomem(c);
    }
    st_ir_value *iv = &c->g->values[v];
    if (iv->has_const) {
        st_tensor_clear(&t); /* the same variable reached twice */
    } else {
        iv->role = ST_VALUE_INITIALIZER;
        iv->has_const = true;
        iv->const_val = t;
        st_type_from_tensor(c->g, &iv->type, &t);
    }
    return st_tf_alias(c, n, 0, v) ? ST_OK : st_tf_nomem(c);
}

static st_status convert_while(tf_ctx *c, int idx);
static st_status convert_if(tf_ctx *c, int idx);

static st_status emit_node(tf_ctx *c, int idx, int depth) {
    tf_node *n = &c->nodes[idx];
    if (n->state == 2) return ST_OK;
    if (depth > 20000) return st_tf_fail(c, ST_ERR_LIMIT, "graph deeper than 20000 nodes");
    n->state = 2;
    const char *op = n->def->op;
    st_status s;
    if (is_var_op(op)) {
        s = variable_value(c, n, idx);
    } else if (is_while(op)) {
        for (int i = 0; i < c->nodes[idx].n_in; i++)
            if (tensor_value(c, c->nodes[idx].in[i], depth) < 0) return c->st;
        s = convert_while(c, idx);
        n = &c->nodes[idx]; /* flattening the condition may have moved the node array */
    } else if (is_if(op)) {
        for (int i = 0; i < c->nodes[idx].n_in; i++)
            if (tensor_value(c, c->nodes[idx].in[i], depth) < 0) return c->st;
        s = convert_if(c, idx);
        n = &c->nodes[idx];
    } else if (!strcmp(op, "Placeholder")) {
        s = st_tf_fail(c, ST_ERR_FORMAT,
                       "placeholder \"%s\" is needed but is not an input of the signature",
                       n->name);
    } else {
        /* inputs first; converting a While may move the node array, so index it afresh */
        for (int i = 0; i < c->nodes[idx].n_in; i++)
            if (tensor_value(c, c->nodes[idx].in[i], depth) < 0) return c->st;
        n = &c->nodes[idx];
        const tf_op *row = st_tf_op_find(op);
        if (!row) return st_tf_fail(c, ST_ERR_UNSUPPORTED, "TensorFlow op %s is not supported", op);
        s = row->fn(c, n, row);
    }
    if (c->st) s = c->st; /* a converter may finish a pattern after a service failed */
    if (s && s != ST_ERR_NOMEM && c->err && !strstr(c->err->msg, n->name))
        st_error_prefix(c->err, "node \"%s\" (%s): ", n->name, op);
    return s;
}

/* Mark the nodes the outputs need (stopping at signature inputs); count what cannot be
 * converted. */
typedef struct missing {
    const char *op;
    int count;
    bool stateful;
} missing;

static st_status mark(tf_ctx *c, const char *t0, missing **miss, size_t *nmiss, size_t *cap) {
    int *stack = NULL;
    size_t sn = 0, scap = 0;
    st_status s = ST_OK;
    const char *t = st_tf_unalias(c, t0);
    if (st_tf_find(&c->inputs, t) >= 0) return ST_OK;
    int p = producer(c, t, NULL);
    if (p < 0) return st_tf_fail(c, ST_ERR_FORMAT, "tensor \"%s\" has no producer in the graph", t);
    if (c->nodes[p].state) return ST_OK;
    c->nodes[p].state = 1;
    if (!ST_GROW(stack, scap, 1)) return st_tf_nomem(c);
    stack[sn++] = p;
    while (sn) {
        tf_node *n = &c->nodes[stack[--sn]];
        const char *op = n->def->op;
        bool known = is_var_op(op) || is_while(op) || is_if(op) || !strcmp(op, "Placeholder") ||
                     st_tf_op_find(op);
        bool stateful = st_tf_op_stateful(op);
        if (!known || stateful) {
            size_t j = 0;
            while (j < *nmiss && strcmp((*miss)[j].op, op)) j++;
            if (j == *nmiss) {
                if (!ST_GROW(*miss, *cap, j + 1)) goto oom;
                (*miss)[j] = (missing){op, 0, stateful};
                (*nmiss)++;
            }
            (*miss)[j].count++;
        }
        if (is_var_op(op)) continue;
        for (int i = 0; i < n->n_in; i++) {
            const char *u = st_tf_unalias(c, n->in[i]);
            if (st_tf_find(&c->inputs, u) >= 0) continue;
            int q = producer(c, u, NULL);
            if (q < 0) {
                s = st_tf_fail(c, ST_ERR_FORMAT, "node \"%s\": input \"%s\" has no producer",
                               n->name, u);
                goto done;
            }
            if (c->nodes[q].state) continue;
            c->nodes[q].state = 1;
            if (!ST_GROW(stack, scap, sn + 1)) goto oom;
            stack[sn++] = q;
        }
    }
    goto done;
oom:
    s = st_tf_nomem(c);
done:
    st_free(stack);
    return s;
}

static int cmp_missing(const void *a, const void *b) {
    const missing *x = a, *y = b;
    return x->count != y->count ? y->count - x->count : strcmp(x->op, y->op);
}

/* Mark what `tensors` need and refuse, in one message, everything that cannot be
 * converted: stateful ops with an explanation, then unsupported ops with counts. */
static st_status require(tf_ctx *c, char **tensors, size_t nt, const char *label) {
    missing *miss = NULL;
    size_t nmiss = 0, mcap = 0;
    st_status s = ST_OK;
    for (size_t i = 0; i < nt && !s; i++) s = mark(c, tensors[i], &miss, &nmiss, &mcap);
    if (s || !nmiss) {
        st_free(miss);
        return s;
    }
    qsort(miss, nmiss, sizeof *miss, cmp_missing);
    char list[700], state[500];
    size_t off = 0, soff = 0;
    list[0] = state[0] = 0;
    for (size_t i = 0; i < nmiss; i++) {
        if (miss[i].stateful && soff < sizeof state)
            soff += (size_t)snprintf(state + soff, sizeof state - soff, "%s%s (%d)",
                                     soff ? ", " : "", miss[i].op, miss[i].count);
        else if (!miss[i].stateful && off < sizeof list)
            off += (size_t)snprintf(list + off, sizeof list - off, "%s%s (%d)", off ? ", " : "",
                                    miss[i].op, miss[i].count);
    }
    st_free(miss);
    if (soff)
        return st_tf_fail(
            c, ST_ERR_UNSUPPORTED,
            "%s changes variables with stateful ops: %s. stele runs a graph as a pure "
            "function of its inputs with variables frozen at their saved values, so a "
            "state update would be lost after each run; such signatures are refused%s%s",
            label, state, off ? "; also unsupported: " : "", off ? list : "");
    return st_tf_fail(c, ST_ERR_UNSUPPORTED, "%s uses unsupported TensorFlow ops: %s", label, list);
}

/* ---- signatures --------------------------------------------------------------------------- */
static const Stele__Tf__MetaGraphDef *pick_metagraph(const Stele__Tf__SavedModel *sm) {
    for (size_t i = 0; i < sm->n_meta_graphs; i++) {
        const Stele__Tf__MetaInfoDef *mi = sm->meta_graphs[i]->meta_info_def;
        for (size_t t = 0; mi && t < mi->n_tags; t++)
            if (!strcmp(mi->tags[t], "serve")) return sm->meta_graphs[i];
    }
    return sm->n_meta_graphs ? sm->meta_graphs[0] : NULL;
}

static bool usable_signature(const Stele__Tf__SignatureDef *sd) { return sd && sd->n_outputs; }

static void list_signatures(const Stele__Tf__MetaGraphDef *mg, char *buf, size_t cap) {
    size_t off = 0;
    buf[0] = 0;
    for (size_t i = 0; i < mg->n_signature_def && off < cap; i++) {
        if (!strncmp(mg->signature_def[i]->key, "__", 2)) continue;
        off += (size_t)snprintf(buf + off, cap - off, "%s%s", off ? ", " : "",
                                mg->signature_def[i]->key);
    }
}

static char *norm_tensor(const char *name) {
    const char *colon = strrchr(name, ':');
    char buf[1100];
    if (colon && colon[1] >= '0' && colon[1] <= '9') snprintf(buf, sizeof buf, "%s", name);
    else snprintf(buf, sizeof buf, "%s:0", name);
    return st_strdup(buf);
}

static st_status set_type(tf_ctx *c, int v, const Stele__Tf__TensorInfo *ti) {
    st_ir_value *iv = &c->g->values[v];
    iv->type.kind = ST_VAL_TENSOR;
    iv->type.dtype = st_tf_dtype((int)ti->dtype);
    iv->type.rank = -1;
    if (ti->tensor_shape && !ti->tensor_shape->unknown_rank &&
        ti->tensor_shape->n_dim <= ST_MAX_RANK) {
        size_t nd = ti->tensor_shape->n_dim;
        iv->type.dims = st_ir_alloc(c->g, sizeof(st_dim) * (nd ? nd : 1));
        if (!iv->type.dims) return ST_ERR_NOMEM;
        for (size_t d = 0; d < nd; d++) {
            int64_t sz = ti->tensor_shape->dim[d]->size;
            iv->type.dims[d].value = sz >= 0 ? sz : -1;
            if (sz < 0) {
                char sym[64];
                snprintf(sym, sizeof sym, "%s_d%zu", iv->name, d);
                iv->type.dims[d].symbol = st_ir_strdup(c->g, d == 0 ? "batch" : sym);
            }
        }
        iv->type.rank = (int)nd;
    }
    return ST_OK;
}

static void ctx_free(tf_ctx *c) {
    for (size_t i = 0; i < c->n_nodes; i++) {
        for (int k = 0; k < c->nodes[i].n_in; k++) st_free(c->nodes[i].in[k]);
        st_free(c->nodes[i].in);
        st_free(c->nodes[i].name);
    }
    st_free(c->nodes);
    for (size_t i = 0; i < c->n_alias; i++) {
        st_free(c->alias_from[i]);
        st_free(c->alias_to[i]);
    }
    st_free(c->alias_from);
    st_free(c->alias_to);
    for (size_t i = 0; i < c->n_keys; i++) st_free(c->keys[i]);
    st_free(c->keys);
    st_strmap_free(&c->fmap);
    st_strmap_free(&c->nmap);
    st_strmap_free(&c->amap);
    st_strmap_free(&c->varkey);
    st_strmap_free(&c->vmap);
    st_strmap_free(&c->inputs);
    st_tf_bundle_free(c->bundle);
}

/* ---- layout: cancel NHWC<->NCHW Transpose pairs ------------------------------------------ */
/* Conv/pool/resize come out as Transpose(to NCHW) -> op -> Transpose(to NHWC), and Keras puts
 * bias adds, batch-norm arithmetic and activations between one layer's Transpose back and
 * the next layer's Transpose in. When such a chain is layout-agnostic (unary elementwise ops,
 * binary ones with a scalar or per-channel constant), it runs in NCHW instead and both
 * Transposes become Identity views. */
static bool perm_is(const st_node *x, const int64_t *p) {
    const int64_t *v;
    if (strcmp(x->op_type, "Transpose") || st_attr_ints(x, "perm", &v) != 4) return false;
    return !memcmp(v, p, sizeof(int64_t) * 4);
}

/* The operator record says which ops work element by element (ST_OPF_POINTWISE): those
 * run in either layout when every other input is a scalar or per-channel constant. */
static bool pointwise(const st_node *x) {
    const st_op_def *d = st_ops_find(x->domain, x->op_type, ST_DEFAULT_OPSET);
    return d && (d->flags & ST_OPF_POINTWISE);
}

/* A constant that broadcasts the same way in both layouts after reshaping [C] to [C,1,1]. */
static bool channel_const(const st_graph *g, int v) {
    return v >= 0 && g->values[v].has_const && g->values[v].const_val.ndim <= 1;
}

static void set_identity(st_graph *g, st_node *x) {
    x->op_type = st_ir_strdup(g, "Identity");
    x->n_attrs = 0;
}

static void sink_transposes(st_graph *g) {
    static const int64_t to_nhwc[4] = {0, 2, 3, 1}, to_nchw[4] = {0, 3, 1, 2};
    int *uses = st_calloc(g->n_values + 1, sizeof *uses),
        *user = st_calloc(g->n_values + 1, sizeof *user);
    size_t *chain = st_calloc(g->n_nodes + 1, sizeof *chain);
    if (!uses || !user || !chain) goto done;
    for (size_t k = 0; k < g->n_nodes; k++)
        for (int i = 0; i < g->nodes[k].n_in; i++) {
            int v = g->nodes[k].inputs[i];
            if (v < 0) continue;
            uses[v]++;
            user[v] = (int)k;
        }
    for (size_t k = 0; k < g->n_nodes; k++) /* values seen by subgraphs stay as they are */
        for (int a = 0; a < g->nodes[k].n_attrs; a++) {
            const st_attr *at = &g->nodes[k].attrs[a];
            for (size_t j = 0; j < (at->kind == ST_ATTR_GRAPHS ? at->n : 1); j++) {
                const st_graph *sg = at->kind == ST_ATTR_GRAPH    ? at->g
                                     : at->kind == ST_ATTR_GRAPHS ? at->graphs[j]
                                                                  : NULL;
                for (size_t i = 0; sg && i < sg->n_values; i++)
                    if (sg->values[i].role == ST_VALUE_OUTER && sg->values[i].outer_index >= 0)
                        uses[sg->values[i].outer_index] += 2;
            }
        }
    for (size_t o = 0; o < g->n_outputs; o++) uses[g->outputs[o]] += 2;
    for (size_t k = 0; k < g->n_nodes; k++) {
        st_node *t1 = &g->nodes[k];
        if (!perm_is(t1, to_nhwc) || t1->n_in != 1 || t1->n_out != 1 || t1->outputs[0] < 0)
            continue;
        size_t n = 0;
        int v = t1->outputs[0];
        bool ok = false;
        while (v >= 0 && uses[v] == 1) {
            st_node *x = &g->nodes[user[v]];
            if (perm_is(x, to_nchw)) {
                ok = true;
                chain[n++] = (size_t)user[v];
                break;
            }
            if (x->n_out != 1 || !pointwise(x)) break;
            /* v once, every other input a scalar or per-channel constant */
            int seen = 0;
            bool consts = true;
            for (int i = 0; i < x->n_in; i++) {
                if (x->inputs[i] == v) seen++;
                else consts = consts && (x->inputs[i] < 0 || channel_const(g, x->inputs[i]));
            }
            if (seen != 1 || !consts) break;
            chain[n++] = (size_t)user[v];
            v = x->outputs[0];
        }
        if (!ok) continue;
        /* rewrite: per-channel constants to [C,1,1], the first op reads the NCHW input */
        for (size_t i = 0; i + 1 < n; i++) {
            st_node *x = &g->nodes[chain[i]];
            for (int j = 0; j < x->n_in; j++) {
                int c = x->inputs[j];
                if (c < 0 || !g->values[c].has_const || g->values[c].const_val.ndim != 1) continue;
                char name[600];
                snprintf(name, sizeof name, "%s/nchw", g->values[c].name);
                int nv = st_graph_find(g, name);
                if (nv < 0) {
                    if ((nv = st_graph_value(g, name)) < 0) goto done;
                    st_ir_value *iv = &g->values[nv];
                    st_tensor_share(&iv->const_val, &g->values[c].const_val);
                    iv->const_val.ndim = 3;
                    iv->const_val.dims[1] = iv->const_val.dims[2] = 1;
                    iv->role = ST_VALUE_INITIALIZER;
                    iv->has_const = true;
                    st_type_from_tensor(g, &iv->type, &iv->const_val);
                }
                x->inputs[j] = nv;
            }
        }
        set_identity(g, t1); /* t1 and t2 become views; the chain now runs on NCHW data */
        set_identity(g, &g->nodes[chain[n - 1]]);
    }
done:
    st_free(uses);
    st_free(user);
    st_free(chain);
}

/* ---- While -> Loop ------------------------------------------------------------------------ */
static const Stele__Tf__FunctionDef *func_attr(tf_ctx *c, const tf_nodedef *nd, const char *name) {
    const tf_attr *a = st_tf_attr(nd, name);
    return a && a->value_case == STELE__TF__ATTR_VALUE__VALUE_FUNC ? find_func(c, a->func->name)
                                                                   : NULL;
}

static const char *func_ret(const Stele__Tf__FunctionDef *f, size_t k) {
    if (k >= f->signature->n_output_arg) return NULL;
    for (size_t r = 0; r < f->n_ret; r++)
        if (!strcmp(f->ret[r]->key, f->signature->output_arg[k]->name)) return f->ret[r]->value;
    return NULL;
}

static void set_var_type(tf_ctx *c, st_graph *g, int v, int tf_type, st_dtype elem) {
    st_ir_value *iv = &g->values[v];
    (void)c;
    iv->type.rank = -1;
    if (tf_type == STELE__TF__DATA_TYPE__DT_VARIANT) {
        iv->type.kind = ST_VAL_SEQUENCE;
        iv->type.dtype = elem;
    } else {
        iv->type.kind = ST_VAL_TENSOR;
        iv->type.dtype = st_tf_dtype(tf_type);
    }
}

/* ---- subgraphs (While bodies, If branches) ---------------------------------------------- */
/* A context for one subgraph of c's graph: it shares c's function library, bundle, name
 * counter and st_error; sub_close hands its status back to c. */
static st_status sub_open(tf_ctx *c, tf_ctx *sc) {
    memset(sc, 0, sizeof *sc);
    sc->dir = c->dir;
    sc->mg = c->mg;
    sc->lib = c->lib;
    sc->fmap = c->fmap;     /* shared: not freed by sub_close */
    sc->bundle = c->bundle; /* shared */
    sc->m = c->m;
    sc->uniq = c->uniq;
    sc->err = c->err;
    if (!(sc->g = st_graph_new(c->m, c->g))) return st_tf_nomem(sc);
    return ST_OK;
}

/* The epilogue of every subgraph: refuse in one message what the results need and cannot be
 * converted, then make each result a graph output "<base>/out<i>" through an Identity. */
static st_status sub_outputs(tf_ctx *sc, char **rets, size_t n, const char *base,
                             const char *label) {
    st_graph *g = sc->g;
    if (require(sc, rets, n, label)) return sc->st;
    char buf[1200];
    for (size_t i = 0; i < n && !sc->st; i++) {
        int src = tensor_value(sc, rets[i], 0);
        snprintf(buf, sizeof buf, "%s/out%zu", base, i);
        int v = src < 0 ? -1 : st_graph_value(g, buf);
        if (src >= 0 && v < 0) st_tf_nomem(sc);
        if (v >= 0 && st_tf_emit(sc, NULL, "Identity", 1, &src, 1, &v))
            g->outputs[g->n_outputs++] = v;
    }
    if (!sc->st) st_graph_index(g);
    return sc->st;
}

/* Free the subgraph's context (the graph itself lives in the model) and give c its status. */
static st_status sub_close(tf_ctx *c, tf_ctx *sc) {
    c->uniq = sc->uniq;
    memset(&sc->fmap, 0, sizeof sc->fmap);
    sc->bundle = NULL;
    st_tf_join(c, sc);
    ctx_free(sc);
    return c->st;
}

static void free_strs(char **v, size_t n) {
    for (size_t i = 0; v && i < n; i++) st_free(v[i]);
    st_free(v);
}

/* The Loop body's inputs (iteration, condition, loop variables), bound as the While body's
 * arguments. */
static void loop_inputs(tf_ctx *sc, const char *base, const int *types, const st_dtype *elems,
                        size_t nv, char **bind) {
    st_graph *g = sc->g;
    char buf[1200];
    if (!(g->inputs = st_ir_alloc(g, sizeof(int) * (nv + 2))) ||
        !(g->outputs = st_ir_alloc(g, sizeof(int) * (nv + 2)))) {
        st_tf_nomem(sc);
        return;
    }
    for (size_t i = 0; i < nv + 2; i++) {
        if (i < 2) snprintf(buf, sizeof buf, "%s/%s", base, i ? "cond_in" : "iter");
        else snprintf(buf, sizeof buf, "%s/v%zu", base, i - 2);
        int v = st_graph_value(g, buf);
        if (v < 0) {
            st_tf_nomem(sc);
            return;
        }
        g->values[v].role = ST_VALUE_INPUT;
        if (i < 2)
            g->values[v].type =
                (st_type){ST_VAL_TENSOR, false, i ? ST_DTYPE_BOOL : ST_DTYPE_I64, 0, NULL};
        else set_var_type(sc, g, v, types[i - 2], elems[i - 2]);
        g->inputs[g->n_inputs++] = v;
        if (i < 2) continue;
        snprintf(buf, sizeof buf, "__loopvar_%zu:0", i - 2);
        if (!(bind[i - 2] = st_strdup(buf)) || !st_strmap_put(&sc->inputs, buf, v)) {
            st_tf_nomem(sc);
            return;
        }
    }
}

/* The Loop body: inputs (iteration, condition, loop variables), the While body inlined on
 * them, the While condition inlined on the body's results; outputs (condition, results). */
static st_status loop_body(tf_ctx *c, const char *base, const Stele__Tf__FunctionDef *body,
                           const Stele__Tf__FunctionDef *cond, const int *types,
                           const st_dtype *elems, size_t nv, st_graph **out) {
    tf_ctx sc;
    char **bind = st_calloc(nv + 1, sizeof *bind), **rets = st_calloc(nv + 2, sizeof *rets);
    char buf[1200], cbase[1200];
    if (sub_open(c, &sc) || !bind || !rets) {
        st_tf_nomem(&sc);
        goto done;
    }
    loop_inputs(&sc, base, types, elems, nv, bind);
    snprintf(buf, sizeof buf, "%s/body", base);
    frame fb = {buf, body, bind};
    if (sc.st || flatten(&sc, &fb, body->node_def, body->n_node_def, 1)) goto done;
    for (size_t i = 0; i < nv; i++) {
        const char *r = func_ret(body, i);
        if (!r || !(rets[i + 1] = resolve_ref(&sc, &fb, r))) { /* or out of memory */
            st_tf_fail(&sc, ST_ERR_FORMAT, "While body %s returns no value %zu",
                       body->signature->name, i);
            goto done;
        }
    }
    snprintf(cbase, sizeof cbase, "%s/cond", base);
    frame fc = {cbase, cond, rets + 1};
    if (flatten(&sc, &fc, cond->node_def, cond->n_node_def, 1)) goto done;
    const char *cr = func_ret(cond, 0);
    if (!cr || !(rets[0] = resolve_ref(&sc, &fc, cr))) {
        st_tf_fail(&sc, ST_ERR_FORMAT, "While condition returns nothing"); /* or out of memory */
        goto done;
    }
    snprintf(buf, sizeof buf, "While body %s", body->signature->name);
    if (sub_outputs(&sc, rets, nv + 1, base, buf)) goto done;
    st_graph *g = sc.g;
    g->values[g->outputs[0]].type = (st_type){ST_VAL_TENSOR, false, ST_DTYPE_BOOL, 0, NULL};
    for (size_t i = 0; i < nv; i++) set_var_type(&sc, g, g->outputs[i + 1], types[i], elems[i]);
    *out = g;
done:
    free_strs(bind, nv);
    free_strs(rets, nv + 1);
    return sub_close(c, &sc);
}

/* Element type of a TensorList loop variable: element_dtype of the op that made it. */
static st_dtype list_elem(tf_ctx *c, const char *t) {
    int k, p = trace(c, t, &k);
    if (p >= 0) {
        st_dtype d = st_tf_dtype(st_tf_attr_type(c->nodes[p].def, "element_dtype", 0));
        if (d != ST_DTYPE_UNDEFINED) return d;
    }
    return ST_DTYPE_F32;
}

static st_status convert_while(tf_ctx *c, int idx) {
    const tf_nodedef *nd = c->nodes[idx].def;
    const Stele__Tf__FunctionDef *body = func_attr(c, nd, "body"), *cond = func_attr(c, nd, "cond");
    if (!body || !cond)
        return st_tf_fail(c, ST_ERR_FORMAT, "While without body/cond functions in the library");
    const tf_attr *ta = st_tf_attr(nd, "T");
    size_t nv = (size_t)c->nodes[idx].n_in;
    if (!ta || ta->value_case != STELE__TF__ATTR_VALUE__VALUE_LIST || ta->list->n_type != nv)
        return st_tf_fail(c, ST_ERR_FORMAT, "While's T attribute does not match its %zu inputs",
                          nv);
    if (body->signature->n_input_arg != nv || cond->signature->n_input_arg != nv)
        return st_tf_fail(c, ST_ERR_FORMAT, "While body/cond take %zu/%zu values, the loop has %zu",
                          body->signature->n_input_arg, cond->signature->n_input_arg, nv);
    int *types = st_calloc(nv + 1, sizeof *types), *ins = st_calloc(nv + 2, sizeof *ins),
        *outs = st_calloc(nv + 1, sizeof *outs);
    st_dtype *elems = st_calloc(nv + 1, sizeof *elems);
    char *name = st_strdup(c->nodes[idx].name);
    char **vin = c->nodes[idx].in; /* the array survives moves of the node array */
    st_status s = ST_OK;
    st_graph *bg = NULL;
    char *c0 = NULL;
    if (!types || !ins || !outs || !elems || !name) goto nomem;
    ins[0] = -1; /* no trip count: the condition decides */
    for (size_t i = 0; i < nv; i++) {
        types[i] = (int)ta->list->type[i];
        elems[i] = types[i] == STELE__TF__DATA_TYPE__DT_VARIANT ? list_elem(c, vin[i])
                                                                : ST_DTYPE_UNDEFINED;
        if ((ins[i + 2] = tensor_value(c, vin[i], 0)) < 0) {
            s = c->st;
            goto done;
        }
    }
    /* the condition on the initial values, inlined in this graph */
    char base[1200];
    snprintf(base, sizeof base, "%s/cond_init", name);
    frame f0 = {base, cond, vin};
    if ((s = flatten(c, &f0, cond->node_def, cond->n_node_def, 1))) goto done;
    const char *cr = func_ret(cond, 0);
    if (!cr || !(c0 = resolve_ref(c, &f0, cr))) {
        s = st_tf_fail(c, ST_ERR_FORMAT, "While condition returns nothing");
        goto done;
    }
    char label[1300];
    snprintf(label, sizeof label, "While condition %s", cond->signature->name);
    if ((s = require(c, &c0, 1, label))) goto done;
    if ((ins[1] = tensor_value(c, c0, 0)) < 0) {
        s = c->st;
        goto done;
    }
    if ((s = loop_body(c, name, body, cond, types, elems, nv, &bg))) goto done;
    tf_node *n = &c->nodes[idx];
    for (size_t i = 0; i < nv; i++)
        if ((outs[i] = st_tf_outval(c, n, (int)i)) < 0) goto nomem;
    st_node *x = st_tf_emit(c, n, "Loop", (int)nv + 2, ins, (int)nv, outs);
    st_attr *a = x ? st_node_add_attr(c->g, x, "body", ST_ATTR_GRAPH) : NULL;
    if (!a) goto nomem;
    a->g = bg;
    goto done;
nomem:
    s = st_tf_nomem(c);
done:
    st_free(c0);
    st_free(types);
    st_free(ins);
    st_free(outs);
    st_free(elems);
    st_free(name);
    return s;
}

/* ---- If -> If ---------------------------------------------------------------------------- */
/* A branch: the function inlined on outer-scope references to the If's inputs (ONNX branches
 * take no inputs); outputs are the function's results. */
static st_status branch_graph(tf_ctx *c, const char *base, const Stele__Tf__FunctionDef *f,
                              const int *args, size_t nargs, st_graph **out) {
    tf_ctx sc;
    size_t nout = f->signature->n_output_arg;
    char **bind = st_calloc(nargs + 1, sizeof *bind), **rets = st_calloc(nout + 1, sizeof *rets);
    char buf[1200];
    if (sub_open(c, &sc) || !bind || !rets) {
        st_tf_nomem(&sc);
        goto done;
    }
    st_graph *g = sc.g;
    if (!(g->outputs = st_ir_alloc(g, sizeof(int) * (nout + 1)))) {
        st_tf_nomem(&sc);
        goto done;
    }
    if (f->signature->n_input_arg != nargs) {
        st_tf_fail(&sc, ST_ERR_FORMAT, "branch %s takes %zu values, If passes %zu",
                   f->signature->name, f->signature->n_input_arg, nargs);
        goto done;
    }
    for (size_t i = 0; i < nargs; i++) {
        snprintf(buf, sizeof buf, "%s/arg%zu", base, i);
        int v = st_graph_value(g, buf);
        if (v < 0) {
            st_tf_nomem(&sc);
            goto done;
        }
        /* a reference to the enclosing graph's value, under its own name */
        st_ir_value *iv = &g->values[v];
        const st_ir_value *pv = &c->g->values[args[i]];
        iv->role = ST_VALUE_OUTER;
        iv->outer_index = args[i];
        snprintf(buf, sizeof buf, "__ifarg_%zu:0", i);
        if (!(iv->name = st_ir_strdup(g, pv->name)) || st_type_copy(g, &iv->type, &pv->type) ||
            !(bind[i] = st_strdup(buf)) || !st_strmap_put(&sc.inputs, buf, v)) {
            st_tf_nomem(&sc);
            goto done;
        }
    }
    st_graph_index(g);
    snprintf(buf, sizeof buf, "%s", base);
    frame fb = {buf, f, bind};
    if (flatten(&sc, &fb, f->node_def, f->n_node_def, 1)) goto done;
    for (size_t i = 0; i < nout; i++) {
        const char *r = func_ret(f, i);
        if (!r || !(rets[i] = resolve_ref(&sc, &fb, r))) {
            st_tf_fail(&sc, ST_ERR_FORMAT, "branch %s returns no value %zu", f->signature->name, i);
            goto done;
        }
    }
    snprintf(buf, sizeof buf, "If branch %s", f->signature->name);
    if (!sub_outputs(&sc, rets, nout, base, buf)) *out = g;
done:
    free_strs(bind, nargs);
    free_strs(rets, nout);
    return sub_close(c, &sc);
}

static st_status convert_if(tf_ctx *c, int idx) {
    const tf_nodedef *nd = c->nodes[idx].def;
    const Stele__Tf__FunctionDef *th = func_attr(c, nd, "then_branch"),
                                 *el = func_attr(c, nd, "else_branch");
    if (!th || !el)
        return st_tf_fail(c, ST_ERR_FORMAT, "If without branch functions in the library");
    int nin = c->nodes[idx].n_in;
    if (nin < 1) return st_tf_fail(c, ST_ERR_FORMAT, "If without a condition");
    size_t nout = th->signature->n_output_arg;
    if (el->signature->n_output_arg != nout)
        return st_tf_fail(c, ST_ERR_FORMAT, "If branches return different counts");
    int *args = st_calloc((size_t)nin + 1, sizeof *args), *outs = st_calloc(nout + 1, sizeof *outs);
    char *name = st_strdup(c->nodes[idx].name);
    char **vin = c->nodes[idx].in;
    st_status s = ST_OK;
    st_graph *gt = NULL, *ge = NULL;
    if (!args || !outs || !name) goto nomem;
    for (int i = 0; i < nin; i++)
        if ((args[i] = tensor_value(c, vin[i], 0)) < 0) {
            s = c->st;
            goto done;
        }
    char base[1200];
    snprintf(base, sizeof base, "%s/then", name);
    if ((s = branch_graph(c, base, th, args + 1, (size_t)nin - 1, &gt))) goto done;
    snprintf(base, sizeof base, "%s/else", name);
    if ((s = branch_graph(c, base, el, args + 1, (size_t)nin - 1, &ge))) goto done;
    tf_node *n = &c->nodes[idx];
    int cond = args[0];
    if (st_tf_attr_type(n->def, "Tcond", STELE__TF__DATA_TYPE__DT_BOOL) !=
        STELE__TF__DATA_TYPE__DT_BOOL) {
        int cv = st_tf_tmp(c, n, "Cast");
        st_node *cx = cv < 0 ? NULL : st_tf_emit(c, n, "Cast", 1, &cond, 1, &cv);
        if (!cx || !st_tf_set_int(c, cx, "to", ST_DTYPE_BOOL)) goto nomem;
        cond = cv;
    }
    for (size_t i = 0; i < nout; i++)
        if ((outs[i] = st_tf_outval(c, n, (int)i)) < 0) goto nomem;
    st_node *x = st_tf_emit(c, n, "If", 1, &cond, (int)nout, outs);
    st_attr *a = x ? st_node_add_attr(c->g, x, "then_branch", ST_ATTR_GRAPH) : NULL;
    if (a) a->g = gt;
    st_attr *b = a ? st_node_add_attr(c->g, x, "else_branch", ST_ATTR_GRAPH) : NULL;
    if (!b) goto nomem;
    b->g = ge;
    goto done;
nomem:
    s = st_tf_nomem(c);
done:
    st_free(args);
    st_free(outs);
    st_free(name);
    return s;
}

/* The IR model and its main graph: producer, opset, and the signature keys as metadata. */
static st_status new_model(tf_ctx *c, const Stele__Tf__MetaGraphDef *mg, const char *want) {
    if (!(c->m = st_model_new(ST_FORMAT_SAVEDMODEL)) || !(c->g = st_graph_new(c->m, NULL)))
        return st_tf_nomem(c);
    st_model *m = c->m;
    st_graph *g = c->g;
    m->graph = g;
    m->ir_version = 8;
    const Stele__Tf__MetaInfoDef *mi = mg->meta_info_def;
    if (!(m->producer_name = st_ir_strdup(g, "tensorflow")) ||
        !(m->producer_version =
              st_ir_strdup(g, mi && mi->tensorflow_version ? mi->tensorflow_version : "")) ||
        !(m->domain = st_ir_strdup(g, "")) || !(m->doc = st_ir_strdup(g, "")) ||
        !(m->path = st_ir_strdup(g, c->dir)) || !(g->name = st_ir_strdup(g, want)) ||
        !(m->opsets = st_ir_alloc(g, sizeof *m->opsets)) ||
        !(m->opsets[0].domain = st_ir_strdup(g, "")))
        return st_tf_nomem(c);
    m->opsets[0].version = ST_DEFAULT_OPSET; /* what tf_ops.c writes */
    m->n_opsets = 1;
    /* signature keys and their order: kept as metadata so `stele info` can list them */
    size_t nsig = 0;
    for (size_t i = 0; i < mg->n_signature_def; i++)
        if (strncmp(mg->signature_def[i]->key, "__", 2) &&
            usable_signature(mg->signature_def[i]->value))
            nsig++;
    if (!(m->meta = st_ir_alloc(g, sizeof *m->meta * (nsig + 1)))) return st_tf_nomem(c);
    for (size_t i = 0; i < mg->n_signature_def; i++) {
        const char *key = mg->signature_def[i]->key;
        if (!strncmp(key, "__", 2) || !usable_signature(mg->signature_def[i]->value)) continue;
        char mk[600];
        snprintf(mk, sizeof mk, "savedmodel.signature.%s", key);
        st_meta_prop *p = &m->meta[m->n_meta++];
        if (!(p->key = st_ir_strdup(g, mk)) ||
            !(p->value = st_ir_strdup(g, !strcmp(key, want) ? "selected" : "available")))
            return st_tf_nomem(c);
    }
    return ST_OK;
}

static st_status build(tf_ctx *c, const Stele__Tf__SavedModel *sm, const char *signature) {
    st_status s;
    const Stele__Tf__MetaGraphDef *mg = pick_metagraph(sm);
    if (!mg || !mg->graph_def) return st_tf_fail(c, ST_ERR_FORMAT, "the SavedModel holds no graph");
    c->mg = mg;
    c->lib = mg->graph_def->library;
    const char *want = signature ? signature : "serving_default";
    const Stele__Tf__SignatureDef *sd = NULL;
    for (size_t i = 0; i < mg->n_signature_def; i++)
        if (!strcmp(mg->signature_def[i]->key, want)) sd = mg->signature_def[i]->value;
    if (!usable_signature(sd)) {
        char names[800];
        list_signatures(mg, names, sizeof names);
        return st_tf_fail(c, ST_ERR_INVALID,
                          "no signature \"%s\" (available: %s; choose one with --signature)", want,
                          *names ? names : "none");
    }
    for (size_t i = 0; c->lib && i < c->lib->n_function; i++)
        if (!st_strmap_put(&c->fmap, c->lib->function[i]->signature->name, (int)i))
            return st_tf_nomem(c);
    frame top = {"", NULL, NULL};
    if ((s = flatten(c, &top, mg->graph_def->node, mg->graph_def->n_node, 0))) return s;
    if ((s = find_var_keys(c))) return s;

    char prefix[4096];
    snprintf(prefix, sizeof prefix, "%s/variables/variables", c->dir);
    FILE *probe = NULL;
    char idx[4200];
    snprintf(idx, sizeof idx, "%s.index", prefix);
    if ((probe = fopen(idx, "rb"))) {
        fclose(probe);
        st_error err;
        if ((s = st_tf_bundle_open(prefix, &c->bundle, &err))) return st_tf_adopt(c, s, &err);
    }

    if ((s = new_model(c, mg, want))) return s;
    st_graph *g = c->g;

    if (!(g->inputs = st_ir_alloc(g, sizeof(int) * (sd->n_inputs + 1))) ||
        !(g->outputs = st_ir_alloc(g, sizeof(int) * (sd->n_outputs + 1))))
        return st_tf_nomem(c);
    for (size_t i = 0; i < sd->n_inputs; i++) {
        const Stele__Tf__TensorInfo *ti = sd->inputs[i]->value;
        if (!ti->name)
            return st_tf_fail(c, ST_ERR_UNSUPPORTED, "input \"%s\" is not a dense tensor",
                              sd->inputs[i]->key);
        int v = st_graph_value(g, sd->inputs[i]->key);
        char *t = norm_tensor(ti->name);
        if (v < 0 || !t || !st_strmap_put(&c->inputs, t, v)) {
            st_free(t);
            return st_tf_nomem(c);
        }
        st_free(t);
        g->values[v].role = ST_VALUE_INPUT;
        if (set_type(c, v, ti)) return st_tf_nomem(c);
        if (g->values[v].type.dtype == ST_DTYPE_UNDEFINED)
            return st_tf_fail(c, ST_ERR_UNSUPPORTED, "input \"%s\" has TensorFlow type %d",
                              sd->inputs[i]->key, (int)ti->dtype);
        g->inputs[g->n_inputs++] = v;
    }

    /* what the outputs need, and what of it cannot be converted */
    char **outs = st_calloc(sd->n_outputs + 1, sizeof *outs);
    if (!outs) return st_tf_nomem(c);
    for (size_t i = 0; i < sd->n_outputs; i++) {
        const Stele__Tf__TensorInfo *ti = sd->outputs[i]->value;
        if (!ti->name) {
            s = st_tf_fail(c, ST_ERR_UNSUPPORTED, "output \"%s\" is not a dense tensor",
                           sd->outputs[i]->key);
            break;
        }
        if (!(outs[i] = norm_tensor(ti->name))) {
            s = st_tf_nomem(c);
            break;
        }
    }
    char label[600];
    snprintf(label, sizeof label, "signature \"%s\"", want);
    if (!s) s = require(c, outs, sd->n_outputs, label);
    for (size_t i = 0; i < sd->n_outputs; i++) st_free(outs[i]);
    st_free(outs);
    if (s) return s;

    for (size_t i = 0; i < sd->n_outputs; i++) {
        const Stele__Tf__TensorInfo *ti = sd->outputs[i]->value;
        char *t = norm_tensor(ti->name);
        if (!t) return st_tf_nomem(c);
        int src = tensor_value(c, t, 0);
        st_free(t);
        if (src < 0) return c->st;
        const char *key = sd->outputs[i]->key;
        char oname[600];
        snprintf(oname, sizeof oname, "%s", key);
        if (st_graph_find(g, oname) >= 0) snprintf(oname, sizeof oname, "%s_output", key);
        int v = st_graph_value(g, oname);
        if (v < 0) return st_tf_nomem(c);
        if (set_type(c, v, ti)) return st_tf_nomem(c);
        if (!st_tf_emit(c, NULL, "Identity", 1, &src, 1, &v)) return st_tf_nomem(c);
        g->outputs[g->n_outputs++] = v;
    }
    sink_transposes(g);
    st_graph_index(g);
    return ST_OK;
}

st_status st_tf_import(const char *dir, const char *signature, st_model **out, st_error *err) {
    tf_ctx c;
    memset(&c, 0, sizeof c);
    c.dir = dir;
    c.err = err;
    Stele__Tf__SavedModel *sm = NULL;
    st_status s = st_tf_saved_model_load(dir, &sm, err);
    if (s) return s;
    if ((s = build(&c, sm, signature))) {
        if (s != ST_ERR_NOMEM && err && strncmp(err->msg, dir, strlen(dir)))
            st_error_prefix(err, "%s: ", dir);
        st_model_release(c.m);
        goto done;
    }
    *out = c.m;
done:
    ctx_free(&c);
    st_tf_saved_model_free(sm);
    return s;
}
