/* viewer/xplane.c: the profile as an XSpace (viewer/proto/xplane.proto), the only layout
 * the TensorBoard profile plugin (xprof) reads today: a "/host:CPU" plane, one line for the
 * thread that ran the session, a "ProfilerStep#N" event per run and one event per node run
 * named "<node>:<OpType>" (the TF-op form its framework-op statistics parse), each carrying
 * group_id (the step), shapes, FLOPs, bytes and counters as stats. */
#include <stdio.h>
#include <string.h>

#include "view.h"
#include "xplane.pb-c.h"

enum {
    STAT_GROUP_ID = 1,
    STAT_STEP_NUM,
    STAT_IS_ROOT,
    STAT_FLOPS,
    STAT_BYTES,
    STAT_SHAPES,
    STAT_OUT_SHAPES,
    STAT_FIRST_COUNTER
};

/* Stat names xprof knows (group_id, step_num, is_root, flops, bytes_accessed) and two of
 * stele's own. No "tf_op" stat: xprof's host op statistics count an event once for a
 * "<name>:<OpType>" name and again for a tf_op stat, so the name alone carries it. */
static const char *const stat_names[] = {
    [STAT_GROUP_ID] = "group_id",       /* the run (step) an event belongs to */
    [STAT_STEP_NUM] = "step_num",       /* the run index on the step event */
    [STAT_IS_ROOT] = "is_root",         /* marks the step event as a grouping root */
    [STAT_FLOPS] = "flops",             /* estimated floating-point operations */
    [STAT_BYTES] = "bytes_accessed",    /* bytes of inputs and outputs */
    [STAT_SHAPES] = "shape",            /* input types and shapes */
    [STAT_OUT_SHAPES] = "output_shape", /* output types and shapes */
};

/* "<name>:<Type>" in the form xprof's TF-op parser accepts: the name matches
 * [A-Za-z0-9.][A-Za-z0-9_./>-]* and the type [A-Z_][a-zA-Z0-9_]*; other characters become
 * '_' (and a name or type that would start wrongly gets a prefix). */
static char *tf_op_name(st_arena *a, const char *name, const char *type) {
    size_t n = strlen(name) + strlen(type) + 8;
    char *s = st_view_az(a, n), *w = s;
    if (!s) return NULL;
    if (!((*name >= 'A' && *name <= 'Z') || (*name >= 'a' && *name <= 'z') ||
          (*name >= '0' && *name <= '9') || *name == '.'))
        *w++ = 'n';
    for (const char *c = name; *c; c++) {
        bool ok = (*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') ||
                  (*c >= '0' && *c <= '9') || *c == '_' || *c == '.' || *c == '/' || *c == '>' ||
                  *c == '-';
        *w++ = ok ? *c : '_';
    }
    *w++ = ':';
    if (!((*type >= 'A' && *type <= 'Z') || *type == '_')) {
        memcpy(w, "Op_", 3);
        w += 3;
    }
    for (const char *c = type; *c; c++) {
        bool ok = (*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') ||
                  (*c >= '0' && *c <= '9') || *c == '_';
        *w++ = ok ? *c : '_';
    }
    *w = 0;
    return s;
}

static char *shapes_str(st_arena *a, const st_prof_tinfo *t, int n) {
    st_sb b = {0};
    for (int i = 0; i < n; i++) {
        if (i) st_sb_printf(&b, ";");
        if (t[i].kind != ST_VAL_TENSOR) {
            st_sb_printf(&b, t[i].kind == ST_VAL_SEQUENCE ? "sequence" : "-");
            continue;
        }
        st_sb_printf(&b, "%s[", st_dtype_name(t[i].dtype));
        for (int d = 0; d < t[i].ndim; d++)
            st_sb_printf(&b, "%s%lld", d ? "," : "", (long long)t[i].dims[d]);
        st_sb_printf(&b, "]");
    }
    char *s = b.oom ? NULL : st_arena_strdup(a, b.s ? b.s : "");
    st_free(b.s);
    return s;
}

/* A stat of metadata id and value kind; the caller sets the value. */
static Stele__Xplane__XStat *stat_new(st_arena *a, int64_t id,
                                      Stele__Xplane__XStat__ValueCase kind) {
    Stele__Xplane__XStat *s = st_view_az(a, sizeof *s);
    if (!s) return NULL;
    stele__xplane__xstat__init(s);
    s->metadata_id = id;
    s->value_case = kind;
    return s;
}

static Stele__Xplane__XStat *stat_i(st_arena *a, int64_t id, int64_t v) {
    Stele__Xplane__XStat *s = stat_new(a, id, STELE__XPLANE__XSTAT__VALUE_INT64_VALUE);
    if (s) s->int64_value = v;
    return s;
}

static Stele__Xplane__XStat *stat_d(st_arena *a, int64_t id, double v) {
    Stele__Xplane__XStat *s = stat_new(a, id, STELE__XPLANE__XSTAT__VALUE_DOUBLE_VALUE);
    if (s) s->double_value = v;
    return s;
}

static Stele__Xplane__XStat *stat_u(st_arena *a, int64_t id, uint64_t v) {
    Stele__Xplane__XStat *s = stat_new(a, id, STELE__XPLANE__XSTAT__VALUE_UINT64_VALUE);
    if (s) s->uint64_value = v;
    return s;
}

static Stele__Xplane__XStat *stat_s(st_arena *a, int64_t id, char *v) {
    Stele__Xplane__XStat *s = v ? stat_new(a, id, STELE__XPLANE__XSTAT__VALUE_STR_VALUE) : NULL;
    if (s) s->str_value = v;
    return s;
}

static Stele__Xplane__XEventMetadata *event_meta(st_arena *a, int64_t id, const char *name) {
    Stele__Xplane__XEventMetadata *m = st_view_az(a, sizeof *m);
    if (!m) return NULL;
    stele__xplane__xevent_metadata__init(m);
    m->id = id;
    m->name = st_arena_strdup(a, name);
    return m->name ? m : NULL;
}

st_status st_view_xplane(const st_prof *p, const st_view_names *nm, const char *host,
                         const char *path, st_error *err) {
    st_arena *a = st_arena_new(1 << 16);
    if (!a) return st_error_nomem(err);
    st_status st = ST_OK;
    uint8_t *buf = NULL;
    size_t nc = (size_t)p->n_ctr, nstat = STAT_FIRST_COUNTER + nc;
    Stele__Xplane__XSpace space = STELE__XPLANE__XSPACE__INIT;
    Stele__Xplane__XPlane plane = STELE__XPLANE__XPLANE__INIT, *planep = &plane;
    Stele__Xplane__XLine line = STELE__XPLANE__XLINE__INIT, *linep = &line;
    char *hostp = (char *)host;
    space.n_planes = 1;
    space.planes = &planep;
    space.n_hostnames = 1;
    space.hostnames = &hostp;
    plane.id = 1;
    plane.name = "/host:CPU";
    plane.n_lines = 1;
    plane.lines = &linep;
    /* stat metadata */
    plane.stat_metadata = st_view_az(a, nstat * sizeof *plane.stat_metadata);
    if (!plane.stat_metadata) goto nomem;
    for (size_t i = 1; i < nstat; i++) {
        Stele__Xplane__XPlane__StatMetadataEntry *e = st_view_az(a, sizeof *e);
        Stele__Xplane__XStatMetadata *m = st_view_az(a, sizeof *m);
        if (!e || !m) goto nomem;
        stele__xplane__xplane__stat_metadata_entry__init(e);
        stele__xplane__xstat_metadata__init(m);
        m->id = e->key = (int64_t)i;
        m->name =
            i < STAT_FIRST_COUNTER ? (char *)stat_names[i] : p->ctr[i - STAT_FIRST_COUNTER].name;
        e->value = m;
        plane.stat_metadata[plane.n_stat_metadata++] = e;
    }
    /* event metadata: id 1 for steps, then 2 + position for each node */
    plane.event_metadata = st_view_az(a, (p->n_nodes + 1) * sizeof *plane.event_metadata);
    if (!plane.event_metadata) goto nomem;
    {
        Stele__Xplane__XPlane__EventMetadataEntry *e = st_view_az(a, sizeof *e);
        if (!e) goto nomem;
        stele__xplane__xplane__event_metadata_entry__init(e);
        e->key = 1;
        if (!(e->value = event_meta(a, 1, "ProfilerStep"))) goto nomem;
        plane.event_metadata[plane.n_event_metadata++] = e;
    }
    char **tf_op = st_view_az(a, (p->n_nodes + 1) * sizeof *tf_op),
         **in_s = st_view_az(a, (p->n_nodes + 1) * sizeof *in_s),
         **out_s = st_view_az(a, (p->n_nodes + 1) * sizeof *out_s);
    if (!tf_op || !in_s || !out_s) goto nomem;
    for (size_t i = 0; i < p->n_nodes; i++) {
        const st_prof_node *pn = &p->nodes[i];
        if (!pn->seen) continue;
        const char *nn = pn->graph_node < nm->n_nodes ? nm->node[pn->graph_node] : pn->name;
        if (!(tf_op[i] = tf_op_name(a, nn, pn->op_type))) goto nomem;
        in_s[i] = shapes_str(a, pn->in, pn->n_in);
        out_s[i] = shapes_str(a, pn->out, pn->n_out);
        Stele__Xplane__XPlane__EventMetadataEntry *e = st_view_az(a, sizeof *e);
        if (!e || !in_s[i] || !out_s[i]) goto nomem;
        stele__xplane__xplane__event_metadata_entry__init(e);
        e->key = (int64_t)i + 2;
        if (!(e->value = event_meta(a, e->key, tf_op[i]))) goto nomem;
        e->value->display_name = (char *)pn->op_type;
        plane.event_metadata[plane.n_event_metadata++] = e;
    }
    /* the line: steps and node runs, in time order (a step precedes the nodes it holds) */
    int64_t origin_ns = (int64_t)(p->origin_wall * 1e9);
    line.id = p->run_tid;
    line.display_id = 0;
    line.name = "stele run";
    line.display_name = "stele run";
    line.timestamp_ns = origin_ns;
    line.events = st_view_az(a, (p->n_runs + p->n_recs + 1) * sizeof *line.events);
    if (!line.events) goto nomem;
    size_t ri = 0;
    for (size_t r = 0; r <= p->n_runs; r++) {
        if (r < p->n_runs) {
            Stele__Xplane__XEvent *ev = st_view_az(a, sizeof *ev);
            Stele__Xplane__XStat **st3 = st_view_az(a, 3 * sizeof *st3);
            if (!ev || !st3) goto nomem;
            stele__xplane__xevent__init(ev);
            ev->metadata_id = 1;
            ev->data_case = STELE__XPLANE__XEVENT__DATA_OFFSET_PS;
            ev->offset_ps = p->runs[r].t0 * 1000;
            ev->duration_ps = (p->runs[r].t1 - p->runs[r].t0) * 1000;
            st3[0] = stat_i(a, STAT_GROUP_ID, (int64_t)r);
            st3[1] = stat_i(a, STAT_STEP_NUM, (int64_t)r);
            st3[2] = stat_i(a, STAT_IS_ROOT, 1);
            if (!st3[0] || !st3[1] || !st3[2]) goto nomem;
            ev->n_stats = 3;
            ev->stats = st3;
            line.events[line.n_events++] = ev;
        }
        for (; ri < p->n_recs && (r == p->n_runs || p->recs[ri].run <= r); ri++) {
            const st_prof_rec *rec = &p->recs[ri];
            const st_prof_node *pn = &p->nodes[rec->pos];
            Stele__Xplane__XEvent *ev = st_view_az(a, sizeof *ev);
            Stele__Xplane__XStat **ss = st_view_az(a, (5 + nc) * sizeof *ss);
            if (!ev || !ss) goto nomem;
            stele__xplane__xevent__init(ev);
            ev->metadata_id = (int64_t)rec->pos + 2;
            ev->data_case = STELE__XPLANE__XEVENT__DATA_OFFSET_PS;
            ev->offset_ps = rec->t0 * 1000;
            ev->duration_ps = (rec->t1 - rec->t0) * 1000;
            size_t k = 0;
            if (!(ss[k++] = stat_i(a, STAT_GROUP_ID, (int64_t)rec->run))) goto nomem;
            if (pn->flops_known && !(ss[k++] = stat_u(a, STAT_FLOPS, (uint64_t)pn->flops)))
                goto nomem;
            if (!(ss[k++] = stat_u(a, STAT_BYTES, pn->bytes_in + pn->bytes_out))) goto nomem;
            if (!(ss[k++] = stat_s(a, STAT_SHAPES, in_s[rec->pos]))) goto nomem;
            if (!(ss[k++] = stat_s(a, STAT_OUT_SHAPES, out_s[rec->pos]))) goto nomem;
            for (size_t c = 0; c < nc; c++)
                if (p->ctr[c].state == ST_PROF_CNT_OK &&
                    !(ss[k++] =
                          stat_d(a, STAT_FIRST_COUNTER + (int64_t)c, p->rec_ctr[ri * nc + c])))
                    goto nomem;
            ev->n_stats = k;
            ev->stats = ss;
            line.events[line.n_events++] = ev;
        }
    }
    if (p->n_runs) line.duration_ps = (p->runs[p->n_runs - 1].t1) * 1000;
    size_t n = protobuf_c_message_get_packed_size(&space.base);
    buf = st_malloc(n ? n : 1);
    if (!buf) goto nomem;
    protobuf_c_message_pack(&space.base, buf);
    FILE *f = fopen(path, "wb");
    if (!f) {
        st = st_errorf(err, ST_ERR_IO, "%s: cannot create the profile", path);
        goto done;
    }
    bool ok = fwrite(buf, 1, n, f) == n;
    ok = (fclose(f) == 0) && ok;
    if (!ok) st = st_errorf(err, ST_ERR_IO, "%s: write failed", path);
    goto done;
nomem:
    st = st_error_nomem(err);
done:
    st_free(buf);
    st_arena_free(a);
    return st;
}
