/* viewer/tfevents.c: a TensorBoard event file for a profile — TFRecord framing with masked
 * CRC32C around Event messages (viewer/proto/tb_event.proto): scalars per run (latency, time
 * per op type, counters), the model as a GraphDef for the Graphs dashboard, and a
 * RunMetadata whose step_stats give each node's measured time and output memory under the
 * same node names. Messages are built in one arena and dropped with it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tb_event.pb-c.h"
#include "tb_graph.pb-c.h"
#include "view.h"

/* ---- TFRecord framing (core's CRC32C) -------------------------------------------- */

static void put_u32(unsigned char *b, uint32_t v) {
    for (int i = 0; i < 4; i++) b[i] = (unsigned char)(v >> (8 * i));
}

static bool write_record(FILE *f, const void *data, size_t n) {
    unsigned char head[12], tail[4];
    for (int i = 0; i < 8; i++) head[i] = (unsigned char)((uint64_t)n >> (8 * i));
    put_u32(head + 8, st_crc32c_mask(st_crc32c(0, head, 8)));
    put_u32(tail, st_crc32c_mask(st_crc32c(0, data, n)));
    return fwrite(head, 1, 12, f) == 12 && fwrite(data, 1, n, f) == n && fwrite(tail, 1, 4, f) == 4;
}

/* Pack a message with protoc-c into st_malloc'd memory. */
static uint8_t *pack(const ProtobufCMessage *m, size_t *n) {
    *n = protobuf_c_message_get_packed_size(m);
    uint8_t *b = st_malloc(*n ? *n : 1);
    if (b) protobuf_c_message_pack(m, b);
    return b;
}

static bool write_event(FILE *f, Stele__Tbevent__Event *ev) {
    size_t n;
    uint8_t *b = pack(&ev->base, &n);
    bool ok = b && write_record(f, b, n);
    st_free(b);
    return ok;
}

/* ---- the graph ------------------------------------------------------------------- */

static const char *const device_name = "/job:localhost/replica:0/task:0/device:CPU:0";

static Stele__Tbgraph__TensorShapeProto *shape_of(st_arena *a, int ndim, const int64_t *dims) {
    Stele__Tbgraph__TensorShapeProto *s = st_view_az(a, sizeof *s);
    if (!s) return NULL;
    stele__tbgraph__tensor_shape_proto__init(s);
    if (ndim < 0) {
        s->unknown_rank = true;
        return s;
    }
    s->n_dim = (size_t)ndim;
    s->dim = st_view_az(a, (size_t)ndim * sizeof *s->dim);
    for (int d = 0; s->dim && d < ndim; d++) {
        s->dim[d] = st_view_az(a, sizeof **s->dim);
        if (!s->dim[d]) return NULL;
        stele__tbgraph__tensor_shape_proto__dim__init(s->dim[d]);
        s->dim[d]->size = dims ? dims[d] : -1;
    }
    return ndim && !s->dim ? NULL : s;
}

/* attr "_output_shapes": one shape per output (list.shape) */
static Stele__Tbgraph__NodeDef__AttrEntry *
output_shapes(st_arena *a, Stele__Tbgraph__TensorShapeProto **shapes, size_t n) {
    Stele__Tbgraph__NodeDef__AttrEntry *e = st_view_az(a, sizeof *e);
    Stele__Tbgraph__AttrValue *v = st_view_az(a, sizeof *v);
    Stele__Tbgraph__AttrValue__ListValue *l = st_view_az(a, sizeof *l);
    if (!e || !v || !l) return NULL;
    stele__tbgraph__node_def__attr_entry__init(e);
    stele__tbgraph__attr_value__init(v);
    stele__tbgraph__attr_value__list_value__init(l);
    l->n_shape = n;
    l->shape = shapes;
    v->value_case = STELE__TBGRAPH__ATTR_VALUE__VALUE_LIST;
    v->list = l;
    e->key = "_output_shapes";
    e->value = v;
    return e;
}

/* An attribute entry whose value has the given kind; the caller sets the value. */
static Stele__Tbgraph__NodeDef__AttrEntry *attr_new(st_arena *a, const char *key,
                                                    Stele__Tbgraph__AttrValue__ValueCase kind) {
    Stele__Tbgraph__NodeDef__AttrEntry *e = st_view_az(a, sizeof *e);
    Stele__Tbgraph__AttrValue *v = st_view_az(a, sizeof *v);
    if (!e || !v) return NULL;
    stele__tbgraph__node_def__attr_entry__init(e);
    stele__tbgraph__attr_value__init(v);
    v->value_case = kind;
    e->key = (char *)key;
    e->value = v;
    return e;
}

static Stele__Tbgraph__NodeDef__AttrEntry *str_attr(st_arena *a, const char *key, const char *val) {
    Stele__Tbgraph__NodeDef__AttrEntry *e = attr_new(a, key, STELE__TBGRAPH__ATTR_VALUE__VALUE_S);
    if (e) {
        e->value->s.data = (uint8_t *)val;
        e->value->s.len = strlen(val);
    }
    return e;
}

/* TensorFlow's DataType numbers for the element types TensorBoard shows. */
static int tf_dtype(st_dtype t) {
    static const int map[ST_DTYPE_COUNT] = {
        [ST_DTYPE_F32] = 1,   [ST_DTYPE_F64] = 2,   [ST_DTYPE_I32] = 3,    [ST_DTYPE_U8] = 4,
        [ST_DTYPE_I16] = 5,   [ST_DTYPE_I8] = 6,    [ST_DTYPE_STRING] = 7, [ST_DTYPE_C64] = 8,
        [ST_DTYPE_I64] = 9,   [ST_DTYPE_BOOL] = 10, [ST_DTYPE_BF16] = 14,  [ST_DTYPE_U16] = 17,
        [ST_DTYPE_C128] = 18, [ST_DTYPE_F16] = 19,  [ST_DTYPE_U32] = 22,   [ST_DTYPE_U64] = 23,
    };
    return (unsigned)t < ST_DTYPE_COUNT ? map[t] : 0;
}

static Stele__Tbgraph__NodeDef__AttrEntry *type_attr(st_arena *a, const char *key, st_dtype t) {
    Stele__Tbgraph__NodeDef__AttrEntry *e =
        attr_new(a, key, STELE__TBGRAPH__ATTR_VALUE__VALUE_TYPE);
    if (e) e->value->type = tf_dtype(t);
    return e;
}

/* Position of each graph node in the profile, or -1. */
static long *positions(const st_prof *p, const st_graph *g) {
    long *pos = st_malloc((g->n_nodes + 1) * sizeof *pos);
    if (!pos) return NULL;
    for (size_t i = 0; i < g->n_nodes; i++) pos[i] = -1;
    for (size_t i = 0; i < p->n_nodes; i++)
        if (p->nodes[i].seen && p->nodes[i].graph_node < g->n_nodes)
            pos[p->nodes[i].graph_node] = (long)i;
    return pos;
}

static uint8_t *graph_def(st_arena *a, const st_prof *p, const st_view_names *nm, const long *pos,
                          size_t *n) {
    const st_graph *g = p->graph;
    size_t cap = g->n_nodes + g->n_values;
    Stele__Tbgraph__GraphDef gd = STELE__TBGRAPH__GRAPH_DEF__INIT;
    Stele__Tbgraph__VersionDef ver = STELE__TBGRAPH__VERSION_DEF__INIT;
    ver.producer = 1;
    gd.versions = &ver;
    gd.node = st_view_az(a, cap * sizeof *gd.node);
    if (!gd.node) return NULL;
    for (size_t v = 0; v < g->n_values; v++) {
        if (!nm->leaf[v]) continue;
        const st_ir_value *iv = &g->values[v];
        Stele__Tbgraph__NodeDef *nd = st_view_az(a, sizeof *nd);
        Stele__Tbgraph__TensorShapeProto **sh = st_view_az(a, sizeof *sh);
        Stele__Tbgraph__NodeDef__AttrEntry **attrs = st_view_az(a, 2 * sizeof *attrs);
        if (!nd || !sh || !attrs) return NULL;
        stele__tbgraph__node_def__init(nd);
        nd->name = nm->leaf[v];
        nd->op = iv->has_const ? "Const" : "Placeholder";
        nd->device = (char *)device_name;
        if (iv->has_const) sh[0] = shape_of(a, iv->const_val.ndim, iv->const_val.dims);
        else if (iv->type.rank >= 0) {
            int64_t dims[ST_MAX_RANK];
            int r = ST_MIN(iv->type.rank, ST_MAX_RANK);
            for (int d = 0; d < r; d++) dims[d] = iv->type.dims ? iv->type.dims[d].value : -1;
            sh[0] = shape_of(a, r, dims);
        } else sh[0] = shape_of(a, -1, NULL);
        attrs[0] = output_shapes(a, sh, 1);
        attrs[1] = type_attr(a, "dtype", iv->has_const ? iv->const_val.dtype : iv->type.dtype);
        if (!sh[0] || !attrs[0] || !attrs[1]) return NULL;
        nd->n_attr = 2;
        nd->attr = attrs;
        gd.node[gd.n_node++] = nd;
    }
    for (size_t i = 0; i < g->n_nodes; i++) {
        const st_node *in = &g->nodes[i];
        const st_prof_node *pn = pos[i] >= 0 ? &p->nodes[pos[i]] : NULL;
        Stele__Tbgraph__NodeDef *nd = st_view_az(a, sizeof *nd);
        char **inputs = st_view_az(a, (size_t)(in->n_in ? in->n_in : 1) * sizeof *inputs);
        Stele__Tbgraph__TensorShapeProto **sh =
            st_view_az(a, (size_t)(in->n_out ? in->n_out : 1) * sizeof *sh);
        Stele__Tbgraph__NodeDef__AttrEntry **attrs = st_view_az(a, 3 * sizeof *attrs);
        if (!nd || !inputs || !sh || !attrs) return NULL;
        stele__tbgraph__node_def__init(nd);
        nd->name = nm->node[i];
        nd->op = in->op_type;
        nd->device = (char *)device_name;
        for (int k = 0; k < in->n_in; k++)
            if (in->inputs[k] >= 0 && (size_t)in->inputs[k] < nm->n_values)
                inputs[nd->n_input++] = nm->value[in->inputs[k]];
        nd->input = inputs;
        for (int k = 0; k < in->n_out; k++) {
            if (pn && k < pn->n_out && pn->out[k].kind == ST_VAL_TENSOR)
                sh[k] = shape_of(a, pn->out[k].ndim, pn->out[k].dims);
            else if (in->outputs[k] >= 0 && g->values[in->outputs[k]].type.rank >= 0) {
                const st_type *t = &g->values[in->outputs[k]].type;
                int64_t dims[ST_MAX_RANK];
                int r = ST_MIN(t->rank, ST_MAX_RANK);
                for (int d = 0; d < r; d++) dims[d] = t->dims ? t->dims[d].value : -1;
                sh[k] = shape_of(a, r, dims);
            } else sh[k] = shape_of(a, -1, NULL);
            if (!sh[k]) return NULL;
        }
        size_t na = 0;
        if (in->n_out && !(attrs[na++] = output_shapes(a, sh, (size_t)in->n_out))) return NULL;
        if (in->domain[0] && !(attrs[na++] = str_attr(a, "domain", in->domain))) return NULL;
        if (pn && pn->n_out && pn->out[0].kind == ST_VAL_TENSOR &&
            !(attrs[na++] = type_attr(a, "T", pn->out[0].dtype)))
            return NULL;
        nd->n_attr = na;
        nd->attr = attrs;
        gd.node[gd.n_node++] = nd;
    }
    return pack(&gd.base, n);
}

/* step_stats of one run: each node's start, compute time and output bytes. */
static uint8_t *run_metadata(st_arena *a, const st_prof *p, const st_view_names *nm, size_t run,
                             size_t *n) {
    Stele__Tbgraph__RunMetadata rm = STELE__TBGRAPH__RUN_METADATA__INIT;
    Stele__Tbgraph__StepStats ss = STELE__TBGRAPH__STEP_STATS__INIT;
    Stele__Tbgraph__DeviceStepStats ds = STELE__TBGRAPH__DEVICE_STEP_STATS__INIT;
    Stele__Tbgraph__DeviceStepStats *dsp = &ds;
    rm.step_stats = &ss;
    ss.n_dev_stats = 1;
    ss.dev_stats = &dsp;
    ds.device = (char *)device_name;
    size_t cnt = 0;
    for (size_t i = 0; i < p->n_recs; i++) cnt += p->recs[i].run == run;
    ds.node_stats = st_view_az(a, (cnt ? cnt : 1) * sizeof *ds.node_stats);
    if (!ds.node_stats) return NULL;
    double origin_us = p->origin_wall * 1e6;
    for (size_t i = 0; i < p->n_recs; i++) {
        const st_prof_rec *r = &p->recs[i];
        if (r->run != run) continue;
        const st_prof_node *pn = &p->nodes[r->pos];
        Stele__Tbgraph__NodeExecStats *s = st_view_az(a, sizeof *s);
        if (!s) return NULL;
        stele__tbgraph__node_exec_stats__init(s);
        s->node_name = pn->graph_node < nm->n_nodes ? nm->node[pn->graph_node] : (char *)pn->name;
        s->all_start_micros = (int64_t)(origin_us + (double)r->t0 / 1e3);
        int64_t dur_ns = r->t1 - r->t0, dur_us = (dur_ns + 999) / 1000;
        s->op_start_rel_micros = 0;
        s->op_end_rel_micros = dur_us > 0 ? dur_us : 1;
        s->all_end_rel_micros = s->op_end_rel_micros;
        s->all_start_nanos = (int64_t)(p->origin_wall * 1e9) + r->t0;
        s->op_end_rel_nanos = s->all_end_rel_nanos = dur_ns;
        s->thread_id = (uint32_t)p->run_tid;
        s->timeline_label = (char *)pn->op_type;
        if (pn->bytes_out) {
            Stele__Tbgraph__AllocatorMemoryUsed *m = st_view_az(a, sizeof *m);
            Stele__Tbgraph__AllocatorMemoryUsed **mp = st_view_az(a, sizeof *mp);
            if (!m || !mp) return NULL;
            stele__tbgraph__allocator_memory_used__init(m);
            m->allocator_name = "cpu";
            m->total_bytes = m->peak_bytes = (int64_t)pn->bytes_out;
            mp[0] = m;
            s->n_memory = 1;
            s->memory = mp;
        }
        ds.node_stats[ds.n_node_stats++] = s;
    }
    return pack(&rm.base, n);
}

/* ---- scalars --------------------------------------------------------------------- */

static bool scalar(FILE *f, double wall, int64_t step, const char *tag, double value) {
    Stele__Tbevent__Event ev = STELE__TBEVENT__EVENT__INIT;
    Stele__Tbevent__Summary sum = STELE__TBEVENT__SUMMARY__INIT;
    Stele__Tbevent__Summary__Value v = STELE__TBEVENT__SUMMARY__VALUE__INIT, *vp = &v;
    v.tag = (char *)tag;
    v.value_case = STELE__TBEVENT__SUMMARY__VALUE__VALUE_SIMPLE_VALUE;
    v.simple_value = (float)value;
    sum.n_value = 1;
    sum.value = &vp;
    ev.wall_time = wall;
    ev.step = step;
    ev.what_case = STELE__TBEVENT__EVENT__WHAT_SUMMARY;
    ev.summary = &sum;
    return write_event(f, &ev);
}

static int cmp_run(const void *a, const void *b) {
    const double *x = a, *y = b;
    return x[0] < y[0] ? -1 : x[0] > y[0];
}

/* The run with the median latency: the one the Graphs dashboard shows. */
static size_t median_run(const st_prof *p) {
    if (!p->n_runs) return 0;
    double *v = st_malloc(p->n_runs * 2 * sizeof *v);
    if (!v) return p->n_runs - 1;
    for (size_t r = 0; r < p->n_runs; r++) {
        v[2 * r] = (double)(p->runs[r].t1 - p->runs[r].t0);
        v[2 * r + 1] = (double)r;
    }
    qsort(v, p->n_runs, 2 * sizeof *v, cmp_run);
    size_t r = (size_t)v[2 * (p->n_runs / 2) + 1];
    st_free(v);
    return r;
}

st_status st_view_events(const st_prof *p, const st_view_names *nm, const char *path,
                         st_error *err) {
    st_arena *a = st_arena_new(1 << 16);
    long *pos = positions(p, p->graph);
    size_t nops = 0, nc = (size_t)p->n_ctr, runs = p->n_runs;
    const char **ops = st_calloc(p->n_nodes + 1, sizeof *ops);
    int *op_of = st_calloc(p->n_nodes + 1, sizeof *op_of);
    double *per = NULL;
    uint8_t *buf = NULL;
    FILE *f = NULL;
    st_status st = ST_OK;
    st_strmap op_index; /* op type -> its column in ops */
    st_strmap_init_borrow(&op_index);
    if (!a || !pos || !ops || !op_of) goto nomem;
    for (size_t i = 0; i < p->n_nodes; i++) {
        if (!p->nodes[i].seen) continue;
        intptr_t k = (intptr_t)nops;
        int added = st_strmap_add(&op_index, p->nodes[i].op_type, k);
        if (added < 0) goto nomem;
        if (added) ops[nops++] = p->nodes[i].op_type;
        else st_strmap_get(&op_index, p->nodes[i].op_type, &k);
        op_of[i] = (int)k;
    }
    /* per run: node sum, per-op time, counters, flops */
    size_t width = 2 + nops + nc;
    per = st_calloc((runs ? runs : 1) * width, sizeof *per);
    if (!per) goto nomem;
    for (size_t i = 0; i < p->n_recs; i++) {
        const st_prof_rec *r = &p->recs[i];
        if (r->run >= runs) continue;
        double *row = per + (size_t)r->run * width, ms = (double)(r->t1 - r->t0) / 1e6;
        const st_prof_node *pn = &p->nodes[r->pos];
        row[0] += ms;
        if (pn->flops_known) row[1] += pn->flops;
        row[2 + op_of[r->pos]] += ms;
        for (size_t c = 0; c < nc; c++) row[2 + nops + c] += p->rec_ctr[i * nc + c];
    }
    for (size_t r = 0; p->run_ctr && r < runs; r++) /* threads read once per run */
        for (size_t c = 0; c < nc; c++) per[r * width + 2 + nops + c] += p->run_ctr[r * nc + c];
    f = fopen(path, "wb");
    if (!f) {
        st = st_errorf(err, ST_ERR_IO, "%s: cannot create the event file", path);
        goto done;
    }
    Stele__Tbevent__Event ev = STELE__TBEVENT__EVENT__INIT;
    ev.wall_time = p->origin_wall;
    ev.what_case = STELE__TBEVENT__EVENT__WHAT_FILE_VERSION;
    ev.file_version = "brain.Event:2";
    bool ok = write_event(f, &ev);
    size_t n;
    buf = graph_def(a, p, nm, pos, &n);
    if (!buf) goto nomem;
    ev = (Stele__Tbevent__Event)STELE__TBEVENT__EVENT__INIT;
    ev.wall_time = p->origin_wall;
    ev.what_case = STELE__TBEVENT__EVENT__WHAT_GRAPH_DEF;
    ev.graph_def.data = buf;
    ev.graph_def.len = n;
    ok = ok && write_event(f, &ev);
    st_free(buf);
    buf = NULL;
    if (runs) {
        size_t mr = median_run(p);
        buf = run_metadata(a, p, nm, mr, &n);
        if (!buf) goto nomem;
        Stele__Tbevent__TaggedRunMetadata trm = STELE__TBEVENT__TAGGED_RUN_METADATA__INIT;
        char tag[64];
        snprintf(tag, sizeof tag, "run_%zu", mr);
        trm.tag = tag;
        trm.run_metadata.data = buf;
        trm.run_metadata.len = n;
        ev = (Stele__Tbevent__Event)STELE__TBEVENT__EVENT__INIT;
        ev.wall_time = p->runs[mr].wall;
        ev.step = (int64_t)mr;
        ev.what_case = STELE__TBEVENT__EVENT__WHAT_TAGGED_RUN_METADATA;
        ev.tagged_run_metadata = &trm;
        ok = ok && write_event(f, &ev);
        st_free(buf);
        buf = NULL;
    }
    char tag[512];
    for (size_t r = 0; r < runs && ok; r++) {
        const double *row = per + r * width;
        double wall = p->runs[r].wall, ms = (double)(p->runs[r].t1 - p->runs[r].t0) / 1e6;
        ok = scalar(f, wall, (int64_t)r, "latency/run_ms", ms) &&
             scalar(f, wall, (int64_t)r, "latency/node_sum_ms", row[0]);
        if (ok && row[1] > 0 && ms > 0)
            ok = scalar(f, wall, (int64_t)r, "throughput/gflops_per_s", row[1] / (ms * 1e6));
        for (size_t k = 0; k < nops && ok; k++) {
            snprintf(tag, sizeof tag, "op_time_ms/%s", ops[k]);
            ok = scalar(f, wall, (int64_t)r, tag, row[2 + k]);
        }
        for (size_t c = 0; c < nc && ok; c++) {
            if (p->ctr[c].state != ST_PROF_CNT_OK) continue;
            snprintf(tag, sizeof tag, "counters/%s", p->ctr[c].name);
            ok = scalar(f, wall, (int64_t)r, tag, row[2 + nops + c]);
        }
    }
    ok = (fclose(f) == 0) && ok;
    f = NULL;
    if (!ok) st = st_errorf(err, ST_ERR_IO, "%s: write failed", path);
    goto done;
nomem:
    st = st_error_nomem(err);
done:
    if (f) fclose(f);
    st_strmap_free(&op_index);
    st_free(buf);
    st_free(per);
    st_free(ops);
    st_free(op_of);
    st_free(pos);
    st_arena_free(a);
    return st;
}
