/* profiler/profiler.c: per-node timing (core's monotonic clock) and counters read through
 * perf_event_open groups, one set of groups per thread of the process, around each node
 * the executor runs. One read() per group per node (the closing read of one node opens the
 * next) keeps the cost low. It records only; formatting lives in viewer/. */
#include <dirent.h>
#include <errno.h>
#include <linux/perf_event.h>
#include <perfmon/pfmlib_perf_event.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "prof.h"

/* perf's generic event names (as `perf list` prints them) and what they open. */
#define HWC(cache, op, res)                                             \
    (PERF_COUNT_HW_CACHE_##cache | (PERF_COUNT_HW_CACHE_OP_##op << 8) | \
     (PERF_COUNT_HW_CACHE_RESULT_##res << 16))
typedef struct generic_event {
    const char *name;
    uint32_t type;
    uint64_t config;
} generic_event;
static const generic_event generic_events[] = {
    {"cycles", PERF_TYPE_HARDWARE, PERF_COUNT_HW_CPU_CYCLES},         /* core clock cycles */
    {"cpu-cycles", PERF_TYPE_HARDWARE, PERF_COUNT_HW_CPU_CYCLES},     /* same */
    {"instructions", PERF_TYPE_HARDWARE, PERF_COUNT_HW_INSTRUCTIONS}, /* retired instructions */
    {"cache-references", PERF_TYPE_HARDWARE,
     PERF_COUNT_HW_CACHE_REFERENCES}, /* last-level cache accesses */
    {"cache-misses", PERF_TYPE_HARDWARE, PERF_COUNT_HW_CACHE_MISSES}, /* last-level cache misses */
    {"branches", PERF_TYPE_HARDWARE, PERF_COUNT_HW_BRANCH_INSTRUCTIONS}, /* retired branches */
    {"branch-instructions", PERF_TYPE_HARDWARE, PERF_COUNT_HW_BRANCH_INSTRUCTIONS}, /* same */
    {"branch-misses", PERF_TYPE_HARDWARE, PERF_COUNT_HW_BRANCH_MISSES}, /* mispredicted branches */
    {"bus-cycles", PERF_TYPE_HARDWARE, PERF_COUNT_HW_BUS_CYCLES},       /* bus clock cycles */
    {"ref-cycles", PERF_TYPE_HARDWARE,
     PERF_COUNT_HW_REF_CPU_CYCLES}, /* unscaled reference cycles */
    {"stalled-cycles-frontend", PERF_TYPE_HARDWARE,
     PERF_COUNT_HW_STALLED_CYCLES_FRONTEND}, /* issue stalls */
    {"stalled-cycles-backend", PERF_TYPE_HARDWARE,
     PERF_COUNT_HW_STALLED_CYCLES_BACKEND},                              /* retire stalls */
    {"L1-dcache-loads", PERF_TYPE_HW_CACHE, HWC(L1D, READ, ACCESS)},     /* L1 data loads */
    {"L1-dcache-load-misses", PERF_TYPE_HW_CACHE, HWC(L1D, READ, MISS)}, /* L1 data load misses */
    {"L1-dcache-stores", PERF_TYPE_HW_CACHE, HWC(L1D, WRITE, ACCESS)},   /* L1 data stores */
    {"L1-icache-load-misses", PERF_TYPE_HW_CACHE,
     HWC(L1I, READ, MISS)},                                           /* instruction cache misses */
    {"LLC-loads", PERF_TYPE_HW_CACHE, HWC(LL, READ, ACCESS)},         /* last-level loads */
    {"LLC-load-misses", PERF_TYPE_HW_CACHE, HWC(LL, READ, MISS)},     /* last-level load misses */
    {"LLC-stores", PERF_TYPE_HW_CACHE, HWC(LL, WRITE, ACCESS)},       /* last-level stores */
    {"LLC-store-misses", PERF_TYPE_HW_CACHE, HWC(LL, WRITE, MISS)},   /* last-level store misses */
    {"dTLB-loads", PERF_TYPE_HW_CACHE, HWC(DTLB, READ, ACCESS)},      /* data TLB lookups */
    {"dTLB-load-misses", PERF_TYPE_HW_CACHE, HWC(DTLB, READ, MISS)},  /* data TLB misses */
    {"iTLB-load-misses", PERF_TYPE_HW_CACHE, HWC(ITLB, READ, MISS)},  /* instruction TLB misses */
    {"branch-loads", PERF_TYPE_HW_CACHE, HWC(BPU, READ, ACCESS)},     /* branch predictor lookups */
    {"branch-load-misses", PERF_TYPE_HW_CACHE, HWC(BPU, READ, MISS)}, /* branch predictor misses */
    {"task-clock", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_TASK_CLOCK},   /* ns the thread ran on a CPU */
    {"cpu-clock", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_CPU_CLOCK},     /* ns of CPU clock */
    {"page-faults", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_PAGE_FAULTS}, /* all page faults */
    {"faults", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_PAGE_FAULTS},      /* same */
    {"minor-faults", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_PAGE_FAULTS_MIN}, /* faults without I/O */
    {"major-faults", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_PAGE_FAULTS_MAJ}, /* faults with I/O */
    {"context-switches", PERF_TYPE_SOFTWARE,
     PERF_COUNT_SW_CONTEXT_SWITCHES},                                     /* times descheduled */
    {"cs", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_CONTEXT_SWITCHES},           /* same */
    {"cpu-migrations", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_CPU_MIGRATIONS}, /* moves between CPUs */
    {"migrations", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_CPU_MIGRATIONS},     /* same */
    {"alignment-faults", PERF_TYPE_SOFTWARE,
     PERF_COUNT_SW_ALIGNMENT_FAULTS}, /* unaligned access fixups */
    {"emulation-faults", PERF_TYPE_SOFTWARE,
     PERF_COUNT_SW_EMULATION_FAULTS}, /* emulated instructions */
};

/* core's monotonic clock, signed: the profile's times are differences from origin_ns. */
static inline int64_t now_ns(void) { return (int64_t)st_now_ns(); }

bool st_prof_event_resolve(const char *name, uint32_t *type, uint64_t *config, uint64_t *config1,
                           uint64_t *config2) {
    for (size_t i = 0; i < ST_ARRAY_LEN(generic_events); i++)
        if (!strcmp(name, generic_events[i].name)) {
            *type = generic_events[i].type;
            *config = generic_events[i].config;
            *config1 = *config2 = 0;
            return true;
        }
    /* libpfm4 keeps its own tables; initializing twice is harmless */
    if (pfm_initialize() != PFM_SUCCESS) return false;
    struct perf_event_attr attr;
    memset(&attr, 0, sizeof attr);
    pfm_perf_encode_arg_t arg;
    memset(&arg, 0, sizeof arg);
    arg.attr = &attr;
    arg.size = sizeof arg;
    if (pfm_get_os_event_encoding(name, PFM_PLM3, PFM_OS_PERF_EVENT, &arg) != PFM_SUCCESS)
        return false;
    *type = attr.type;
    *config = attr.config;
    *config1 = attr.config1;
    *config2 = attr.config2;
    return true;
}

double st_prof_scale(uint64_t raw, uint64_t enabled, uint64_t running) {
    if (running == 0) return enabled == 0 ? (double)raw : 0.0;
    if (running >= enabled) return (double)raw;
    return (double)raw * ((double)enabled / (double)running);
}

static int open_event(const st_prof_counter *c, pid_t tid, int group_fd, bool user_only) {
    struct perf_event_attr a;
    memset(&a, 0, sizeof a);
    a.size = sizeof a;
    a.type = c->type;
    a.config = c->config;
    a.config1 = c->config1;
    a.config2 = c->config2;
    a.exclude_hv = 1;
    a.exclude_kernel = user_only;
    a.read_format =
        PERF_FORMAT_GROUP | PERF_FORMAT_TOTAL_TIME_ENABLED | PERF_FORMAT_TOTAL_TIME_RUNNING;
    return (int)syscall(SYS_perf_event_open, &a, tid, -1, group_fd, PERF_FLAG_FD_CLOEXEC);
}

/* Open one counter; where kernel counting is forbidden (perf_event_paranoid >= 2), count
 * user space only, as `perf stat` falls back to :u. */
static int open_counter(const st_prof_counter *c, pid_t tid, int group_fd, int *why) {
    int fd = open_event(c, tid, group_fd, false);
    if (fd < 0 && (errno == EACCES || errno == EPERM)) fd = open_event(c, tid, group_fd, true);
    if (why) *why = fd < 0 ? errno : 0;
    return fd;
}

static st_prof_cnt_state state_of_errno(int e) {
    return e == EACCES || e == EPERM ? ST_PROF_CNT_DENIED : ST_PROF_CNT_UNSUPPORTED;
}

static void thread_close(st_prof *p, st_prof_thread *t) {
    for (int c = 0; t->member_fd && c < p->n_ctr; c++)
        if (t->member_fd[c] >= 0) close(t->member_fd[c]);
    st_free(t->member_fd);
    st_free(t->fd);
    st_free(t->before);
    st_free(t->after);
    st_free(t->run0);
    st_free(t->run1);
}

/* Open this thread's groups; false only when out of memory. */
static bool thread_open(st_prof *p, pid_t tid) {
    if (!ST_GROW(p->threads, p->cap_threads, p->n_threads + 1)) return false;
    st_prof_thread *t = &p->threads[p->n_threads];
    memset(t, 0, sizeof *t);
    t->tid = tid;
    t->fd = st_malloc((size_t)p->n_groups * sizeof *t->fd);
    t->member_fd = st_malloc((size_t)(p->n_ctr ? p->n_ctr : 1) * sizeof *t->member_fd);
    t->before = st_calloc((size_t)p->n_groups * p->buf_words, sizeof *t->before);
    t->after = st_calloc((size_t)p->n_groups * p->buf_words, sizeof *t->after);
    t->run0 = st_calloc((size_t)p->n_groups * p->buf_words, sizeof *t->run0);
    t->run1 = st_calloc((size_t)p->n_groups * p->buf_words, sizeof *t->run1);
    if (!t->fd || !t->member_fd || !t->before || !t->after || !t->run0 || !t->run1) {
        thread_close(p, t);
        return false;
    }
    for (int g = 0; g < p->n_groups; g++) t->fd[g] = -1;
    for (int c = 0; c < p->n_ctr; c++) t->member_fd[c] = -1;
    for (int c = 0; c < p->n_ctr; c++) {
        const st_prof_counter *k = &p->ctr[c];
        if (k->state != ST_PROF_CNT_OK) continue;
        int leader = t->fd[k->group];
        if (k->slot > 0 && leader < 0) continue; /* the group failed for this thread */
        int fd = open_counter(k, tid, k->slot == 0 ? -1 : leader, NULL);
        t->member_fd[c] = fd;
        if (k->slot == 0) t->fd[k->group] = fd;
        else if (fd < 0) { /* a group must read whole: drop it for this thread */
            t->fd[k->group] = -1;
        }
    }
    p->n_threads++;
    return true;
}

void st_prof_scan_threads(st_prof *p) {
    if (!p->any_open) return;
    DIR *d = opendir("/proc/self/task");
    if (!d) return;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] < '0' || de->d_name[0] > '9') continue;
        pid_t tid = (pid_t)atoi(de->d_name);
        size_t i = 0;
        while (i < p->n_threads && p->threads[i].tid != tid) i++;
        if (i == p->n_threads && !thread_open(p, tid)) break;
    }
    closedir(d);
}

static char *trim_dup(const char *s, size_t n) {
    while (n && (*s == ' ' || *s == '\t')) s++, n--;
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t')) n--;
    return st_strndup(s, n);
}

st_status st_prof_new(const st_graph *g, const char *counters, st_prof **out, st_error *err) {
    st_prof *p = st_calloc(1, sizeof *p);
    if (!p) return st_error_nomem(err);
    p->graph = g;
    p->max_recs = (size_t)1 << 21;
    p->all_per_node = true;
    size_t cap = 0;
    for (const char *s = counters; s && *s;) {
        const char *e = strchr(s, ',');
        size_t n = e ? (size_t)(e - s) : strlen(s);
        char *name = trim_dup(s, n);
        if (!name || !ST_GROW(p->ctr, cap, (size_t)p->n_ctr + 1)) {
            st_free(name);
            goto nomem;
        }
        if (!name[0]) st_free(name);
        else {
            st_prof_counter *c = &p->ctr[p->n_ctr++];
            memset(c, 0, sizeof *c);
            c->name = name;
            c->group = c->slot = -1;
        }
        s = e ? e + 1 : s + n;
    }
    /* which counters this machine gives, then the groups: software together, hardware in
     * fours */
    int sw_group = -1, hw_group = -1, hw_fill = ST_PROF_HW_GROUP;
    p->group_size = st_calloc((size_t)(p->n_ctr ? p->n_ctr : 1), sizeof *p->group_size);
    if (!p->group_size) goto nomem;
    for (int i = 0; i < p->n_ctr; i++) {
        st_prof_counter *c = &p->ctr[i];
        if (!st_prof_event_resolve(c->name, &c->type, &c->config, &c->config1, &c->config2)) {
            c->state = ST_PROF_CNT_UNKNOWN;
            continue;
        }
        int why;
        int fd = open_counter(c, 0, -1, &why);
        if (fd < 0) {
            c->state = state_of_errno(why);
            continue;
        }
        close(fd);
        c->state = ST_PROF_CNT_OK;
        c->software = c->type == PERF_TYPE_SOFTWARE;
        if (c->software) {
            if (sw_group < 0) sw_group = p->n_groups++;
            c->group = sw_group;
        } else {
            if (hw_fill == ST_PROF_HW_GROUP) {
                hw_group = p->n_groups++;
                hw_fill = 0;
            }
            c->group = hw_group;
            hw_fill++;
        }
        c->slot = p->group_size[c->group]++;
        p->any_open = true;
    }
    int most = 0;
    for (int gi = 0; gi < p->n_groups; gi++) most = ST_MAX(most, p->group_size[gi]);
    p->buf_words = 3 + (size_t)most;
    p->origin_ns = now_ns();
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    p->origin_wall = (double)ts.tv_sec + ts.tv_nsec * 1e-9;
    st_prof_scan_threads(p);
    *out = p;
    return ST_OK;
nomem:
    st_prof_free(p);
    return st_error_nomem(err);
}

void st_prof_free(st_prof *p) {
    if (!p) return;
    for (size_t i = 0; i < p->n_threads; i++) thread_close(p, &p->threads[i]);
    st_free(p->threads);
    for (int i = 0; i < p->n_ctr; i++) st_free(p->ctr[i].name);
    st_free(p->ctr);
    st_free(p->group_size);
    for (size_t i = 0; i < p->n_nodes; i++) {
        st_free(p->nodes[i].in);
        st_free(p->nodes[i].out);
        st_free(p->nodes[i].ctr);
    }
    st_free(p->nodes);
    st_free(p->recs);
    st_free(p->rec_ctr);
    st_free(p->runs);
    st_free(p->run_ctr);
    st_free(p->baseline_ms);
    st_free(p);
}

/* Is this thread read around every node? */
static inline bool per_node(const st_prof *p, const st_prof_thread *t) {
    return p->all_per_node || t->tid == p->run_tid;
}

static void read_thread(st_prof *p, st_prof_thread *t, uint64_t *buf) {
    size_t bytes = p->buf_words * sizeof(uint64_t);
    for (int g = 0; g < p->n_groups; g++)
        if (t->fd[g] >= 0 && read(t->fd[g], buf + (size_t)g * p->buf_words, bytes) < 24)
            memset(buf + (size_t)g * p->buf_words, 0, bytes);
}

/* One read per open group of every thread read per node. */
static inline void read_groups(st_prof *p, bool after) {
    for (size_t i = 0; i < p->n_threads; i++) {
        st_prof_thread *t = &p->threads[i];
        if (per_node(p, t)) read_thread(p, t, after ? t->after : t->before);
    }
}

/* Counter c's scaled delta between two reads of thread t. */
static double delta(const st_prof *p, const st_prof_thread *t, int c, const uint64_t *before,
                    const uint64_t *after) {
    const st_prof_counter *k = &p->ctr[c];
    if (k->state != ST_PROF_CNT_OK || t->fd[k->group] < 0) return 0;
    const uint64_t *b = before + (size_t)k->group * p->buf_words,
                   *a = after + (size_t)k->group * p->buf_words;
    if (!a[0] || a[0] != b[0]) return 0;
    return st_prof_scale(a[3 + k->slot] - b[3 + k->slot], a[1] - b[1], a[2] - b[2]);
}

void st_prof_run_begin(st_prof *p) {
    if (p->n_runs < 3) st_prof_scan_threads(p); /* pools and OpenMP teams start lazily */
    size_t nc = (size_t)p->n_ctr;
    if (!ST_GROW(p->runs, p->cap_runs, p->n_runs + 1) ||
        (nc && !ST_GROW(p->run_ctr, p->cap_run_ctr, (p->n_runs + 1) * nc))) {
        p->oom = true;
        p->in_run = false;
        return;
    }
    if (nc) memset(p->run_ctr + p->n_runs * nc, 0, nc * sizeof *p->run_ctr);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    st_prof_run *r = &p->runs[p->n_runs];
    r->wall = (double)ts.tv_sec + ts.tv_nsec * 1e-9;
    if (!p->run_tid) p->run_tid = (pid_t)syscall(SYS_gettid);
    p->have_prev = false;
    if (p->any_open && !p->all_per_node)
        for (size_t i = 0; i < p->n_threads; i++)
            if (!per_node(p, &p->threads[i])) read_thread(p, &p->threads[i], p->threads[i].run0);
    r->t0 = now_ns() - p->origin_ns;
    r->t1 = r->t0;
    p->in_run = true;
}

void st_prof_run_end(st_prof *p) {
    if (!p->in_run) return;
    st_prof_run *r = &p->runs[p->n_runs];
    r->t1 = now_ns() - p->origin_ns;
    if (p->any_open && !p->all_per_node) {
        double *rc = p->run_ctr + p->n_runs * (size_t)p->n_ctr;
        for (size_t i = 0; i < p->n_threads; i++) {
            st_prof_thread *t = &p->threads[i];
            if (per_node(p, t)) continue;
            read_thread(p, t, t->run1);
            for (int c = 0; c < p->n_ctr; c++) rc[c] += delta(p, t, c, t->run0, t->run1);
        }
    }
    p->n_runs++;
    p->in_run = false;
    if (p->n_runs == 1 && p->any_open && p->n_threads > 1 && r->t1 > r->t0) {
        p->remote_cost_pct = 100.0 * (double)p->hook_ns / (double)(r->t1 - r->t0);
        if (!p->force_all && p->remote_cost_pct > ST_PROF_REMOTE_MAX_PCT) p->all_per_node = false;
    }
}

static void describe(st_prof_tinfo *ti, const st_value *v) {
    memset(ti, 0, sizeof *ti);
    if (!v) return;
    ti->kind = v->kind;
    if (v->kind == ST_VAL_TENSOR) {
        ti->dtype = v->tensor.dtype;
        ti->ndim = v->tensor.ndim;
        memcpy(ti->dims, v->tensor.dims, (size_t)v->tensor.ndim * sizeof *ti->dims);
        ti->bytes = st_tensor_nbytes(&v->tensor);
    } else if (v->kind == ST_VAL_SEQUENCE) {
        ti->dtype = v->elem_dtype;
        for (size_t i = 0; i < v->nseq; i++) ti->bytes += st_tensor_nbytes(&v->seq[i]);
    }
}

/* First sight of the node at this position: what it is, its shapes and its FLOPs. */
static bool node_learn(st_prof *p, const st_node_event *ev) {
    size_t pos = ev->node_index;
    if (pos >= p->n_nodes) {
        if (!ST_GROW(p->nodes, p->cap_nodes, pos + 1)) return false;
        memset(p->nodes + p->n_nodes, 0, (pos + 1 - p->n_nodes) * sizeof *p->nodes);
        p->n_nodes = pos + 1;
    }
    st_prof_node *n = &p->nodes[pos];
    if (n->seen) return true;
    n->in = st_calloc((size_t)(ev->n_in ? ev->n_in : 1), sizeof *n->in);
    n->out = st_calloc((size_t)(ev->n_out ? ev->n_out : 1), sizeof *n->out);
    n->ctr = st_calloc((size_t)(p->n_ctr ? p->n_ctr : 1), sizeof *n->ctr);
    if (!n->in || !n->out || !n->ctr) {
        st_free(n->in);
        st_free(n->out);
        st_free(n->ctr);
        n->in = n->out = NULL;
        n->ctr = NULL;
        return false;
    }
    n->seen = true;
    n->graph_node = ev->graph_node;
    n->name = ev->node_name;
    n->op_type = ev->op_type;
    const st_node *nd =
        p->graph && ev->graph_node < p->graph->n_nodes ? &p->graph->nodes[ev->graph_node] : NULL;
    n->domain = nd ? nd->domain : "";
    n->n_in = ev->n_in;
    n->n_out = ev->n_out;
    for (int i = 0; i < ev->n_in; i++) {
        describe(&n->in[i], ev->in[i]);
        n->bytes_in += n->in[i].bytes;
    }
    for (int i = 0; i < ev->n_out; i++) {
        describe(&n->out[i], ev->out[i]);
        n->bytes_out += n->out[i].bytes;
    }
    n->flops = nd ? st_prof_flops(nd, n->in, n->n_in, n->out, n->n_out, &n->flops_known) : 0;
    return true;
}

void st_prof_hook(void *ud, const st_node_event *ev, bool after) {
    st_prof *p = ud;
    if (!after) {
        int64_t h0 = now_ns();
        if (p->any_open) {
            if (p->have_prev) { /* the previous node's closing read opens this one: half the reads */
                for (size_t i = 0; i < p->n_threads; i++) {
                    if (!per_node(p, &p->threads[i])) continue;
                    uint64_t *t = p->threads[i].before;
                    p->threads[i].before = p->threads[i].after;
                    p->threads[i].after = t;
                }
            } else {
                read_groups(p, false);
            }
        }
        p->node_t0 = now_ns();
        p->hook_ns += p->node_t0 - h0;
        return;
    }
    int64_t t1 = now_ns();
    if (p->any_open) read_groups(p, true);
    p->have_prev = p->in_run;
    size_t pos = ev->node_index;
    if ((pos >= p->n_nodes || !p->nodes[pos].seen) && !node_learn(p, ev)) {
        p->oom = true;
        return;
    }
    st_prof_node *n = &p->nodes[pos];
    int64_t dt = t1 - p->node_t0;
    n->calls++;
    n->total_ns += dt;
    double *rc = NULL;
    if (p->in_run && p->n_recs < p->max_recs) {
        size_t need = (p->n_recs + 1) * (size_t)p->n_ctr;
        if (ST_GROW(p->recs, p->cap_recs, p->n_recs + 1) &&
            (!p->n_ctr || ST_GROW(p->rec_ctr, p->cap_rec_ctr, need))) {
            p->recs[p->n_recs] = (st_prof_rec){(uint32_t)pos, (uint32_t)p->n_runs,
                                               p->node_t0 - p->origin_ns, t1 - p->origin_ns};
            if (p->n_ctr) rc = p->rec_ctr + p->n_recs * (size_t)p->n_ctr;
            p->n_recs++;
        } else {
            p->oom = true;
        }
    }
    for (int c = 0; c < p->n_ctr; c++) {
        double sum = 0;
        for (size_t i = 0; i < p->n_threads; i++)
            if (per_node(p, &p->threads[i]))
                sum += delta(p, &p->threads[i], c, p->threads[i].before, p->threads[i].after);
        n->ctr[c] += sum;
        if (rc) rc[c] = sum;
    }
    p->hook_ns += now_ns() - t1;
}
