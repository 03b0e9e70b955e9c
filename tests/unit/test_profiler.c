/* tests/unit/test_profiler.c: the profiler's counter plumbing with software events (which
 * every Linux gives, PMU or not): event names resolve (perf's generic names and libpfm4
 * strings), counters are grouped, one group read per thread around a node yields real
 * deltas (task-clock, page-faults, a second thread's work), multiplex scaling, hardware
 * events reported as not supported where the CPU exposes no PMU, and FLOPs from shapes.
 * Timing is not asserted tightly here; bench/profile_overhead measures overhead. */
#include <criterion/criterion.h>
#include <linux/perf_event.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "../../profiler/prof.h"

static bool has_pmu(void) {
    return access("/sys/bus/event_source/devices/cpu/events/cpu-cycles", F_OK) == 0 ||
           access("/sys/bus/event_source/devices/cpu_core", F_OK) == 0;
}

static int find(const st_prof *p, const char *name) {
    for (int i = 0; i < p->n_ctr; i++)
        if (!strcmp(p->ctr[i].name, name)) return i;
    return -1;
}

/* A node event with no values (the profiler must cope with a graph-less node). */
static st_node_event fake_event(size_t pos) {
    st_node_event ev;
    memset(&ev, 0, sizeof ev);
    ev.node_index = pos;
    ev.node_name = "busy";
    ev.op_type = "Busy";
    ev.graph_node = pos;
    return ev;
}

/* Spin for ms of this thread's CPU time (so a loaded machine only stretches the wall time). */
static void spin_ms(double ms) {
    struct timespec a, b;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &a);
    volatile double x = 0;
    do {
        for (int i = 0; i < 10000; i++) x += i;
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &b);
    } while ((b.tv_sec - a.tv_sec) * 1e3 + (b.tv_nsec - a.tv_nsec) / 1e6 < ms);
}

Test(profiler, scale_for_multiplexing) {
    cr_assert_float_eq(st_prof_scale(100, 10, 10), 100.0, 1e-12);
    cr_assert_float_eq(st_prof_scale(100, 10, 5), 200.0, 1e-12); /* ran half the time */
    cr_assert_float_eq(st_prof_scale(30, 40, 10), 120.0, 1e-12);
    cr_assert_float_eq(st_prof_scale(0, 0, 0), 0.0, 1e-12);  /* idle thread */
    cr_assert_float_eq(st_prof_scale(7, 10, 0), 0.0, 1e-12); /* never scheduled */
    cr_assert_float_eq(st_prof_scale(5, 0, 0), 5.0, 1e-12);
}

Test(profiler, names_resolve) {
    uint32_t t;
    uint64_t c, c1, c2;
    cr_assert(st_prof_event_resolve("task-clock", &t, &c, &c1, &c2));
    cr_assert_eq(t, PERF_TYPE_SOFTWARE);
    cr_assert_eq(c, PERF_COUNT_SW_TASK_CLOCK);
    cr_assert(st_prof_event_resolve("L1-dcache-load-misses", &t, &c, &c1, &c2));
    cr_assert_eq(t, PERF_TYPE_HW_CACHE);
    cr_assert_eq(c, PERF_COUNT_HW_CACHE_L1D | (PERF_COUNT_HW_CACHE_OP_READ << 8) |
                        ((uint64_t)PERF_COUNT_HW_CACHE_RESULT_MISS << 16));
    cr_assert(st_prof_event_resolve("cycles", &t, &c, &c1, &c2));
    cr_assert_eq(t, PERF_TYPE_HARDWARE);
    /* libpfm4's own syntax: its perf pseudo-PMU */
    cr_assert(st_prof_event_resolve("perf::PERF_COUNT_SW_CONTEXT_SWITCHES", &t, &c, &c1, &c2));
    cr_assert_eq(t, PERF_TYPE_SOFTWARE);
    cr_assert_eq(c, PERF_COUNT_SW_CONTEXT_SWITCHES);
    cr_assert_not(st_prof_event_resolve("no-such-event", &t, &c, &c1, &c2));
}

Test(profiler, groups_and_states) {
    st_prof *p;
    st_error err;
    cr_assert_eq(
        st_prof_new(NULL,
                    " task-clock, cycles,page-faults,,context-switches,instructions,bogus-event ",
                    &p, &err),
        ST_OK);
    cr_assert_eq(p->n_ctr, 6);
    int tc = find(p, "task-clock"), pf = find(p, "page-faults"), cs = find(p, "context-switches");
    int cy = find(p, "cycles"), in = find(p, "instructions"), bo = find(p, "bogus-event");
    cr_assert(tc >= 0 && pf >= 0 && cs >= 0 && cy >= 0 && in >= 0 && bo >= 0);
    cr_assert_eq(p->ctr[tc].state, ST_PROF_CNT_OK);
    cr_assert_eq(p->ctr[bo].state, ST_PROF_CNT_UNKNOWN);
    /* the software counters share one group, in order */
    cr_assert_eq(p->ctr[tc].group, p->ctr[pf].group);
    cr_assert_eq(p->ctr[tc].group, p->ctr[cs].group);
    cr_assert_eq(p->ctr[tc].slot, 0);
    cr_assert_eq(p->ctr[pf].slot, 1);
    cr_assert_eq(p->ctr[cs].slot, 2);
    cr_assert_eq(p->group_size[p->ctr[tc].group], 3);
    if (has_pmu()) {
        cr_assert_eq(p->ctr[cy].state, ST_PROF_CNT_OK);
        cr_assert_eq(p->ctr[cy].group, p->ctr[in].group);
        cr_assert_neq(p->ctr[cy].group, p->ctr[tc].group);
    } else {
        cr_assert_eq(p->ctr[cy].state, ST_PROF_CNT_UNSUPPORTED, "cycles without a PMU: %d",
                     p->ctr[cy].state);
        cr_assert_eq(p->ctr[in].state, ST_PROF_CNT_UNSUPPORTED);
        cr_assert_eq(p->n_groups, 1);
    }
    cr_assert_geq(p->n_threads, 1);
    st_prof_free(p);
}

Test(profiler, hook_reads_real_deltas) {
    st_prof *p;
    st_error err;
    cr_assert_eq(st_prof_new(NULL, "task-clock,page-faults,cycles", &p, &err), ST_OK);
    int tc = find(p, "task-clock"), pf = find(p, "page-faults"), cy = find(p, "cycles");
    st_node_event ev = fake_event(0);
    size_t big = 8u << 20;
    for (int run = 0; run < 2; run++) {
        st_prof_run_begin(p);
        st_prof_hook(p, &ev, false);
        spin_ms(20);
        /* fresh anonymous pages fault on first touch (malloc could hand back touched heap) */
        char *mem = mmap(NULL, big, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        cr_assert_neq(mem, MAP_FAILED);
        for (size_t i = 0; i < big; i += 4096) mem[i] = (char)i;
        munmap(mem, big);
        st_prof_hook(p, &ev, true);
        st_prof_run_end(p);
    }
    cr_assert_eq(p->n_runs, 2);
    cr_assert_eq(p->n_recs, 2);
    cr_assert_eq(p->nodes[0].calls, 2);
    const st_prof_rec *r = &p->recs[1];
    cr_assert_eq(r->run, 1);
    cr_assert_geq(r->t1 - r->t0, 20000000);
    double tcv = p->rec_ctr[1 * (size_t)p->n_ctr + (size_t)tc];
    double pfv = p->rec_ctr[1 * (size_t)p->n_ctr + (size_t)pf];
    /* task-clock counts ns on CPU: at most the wall time (one busy thread) and, even on a
     * loaded machine, a fair part of it */
    cr_assert_gt(tcv, 1e6, "task-clock %g", tcv);
    cr_assert_leq(tcv, (double)(r->t1 - r->t0) * 1.05 + 1e6, "task-clock %g > wall", tcv);
    cr_assert_geq(pfv, 100, "page-faults %g", pfv);
    cr_assert_float_eq(p->nodes[0].ctr[tc], p->rec_ctr[tc] + tcv, 1e-6);
    /* the software group never multiplexes: enabled == running in the raw reads */
    const st_prof_thread *t = &p->threads[0];
    int g = p->ctr[tc].group;
    cr_assert_eq(t->after[(size_t)g * p->buf_words + 1], t->after[(size_t)g * p->buf_words + 2]);
    cr_assert_eq(t->after[(size_t)g * p->buf_words], 2); /* nr: task-clock, page-faults */
    if (!has_pmu()) cr_assert_eq(p->rec_ctr[1 * (size_t)p->n_ctr + (size_t)cy], 0);
    cr_assert_gt(p->hook_ns, 0);
    st_prof_free(p);
}

static atomic_int go;

static void *worker(void *arg) {
    (void)arg;
    while (atomic_load(&go) == 0) usleep(100);
    spin_ms(40);
    atomic_store(&go, 2);
    while (atomic_load(&go) != 3) usleep(100);
    return NULL;
}

Test(profiler, other_threads_are_counted) {
    pthread_t th;
    atomic_store(&go, 0);
    cr_assert_eq(pthread_create(&th, NULL, worker, NULL), 0);
    st_prof *p;
    st_error err;
    cr_assert_eq(st_prof_new(NULL, "task-clock", &p, &err), ST_OK); /* scans threads */
    cr_assert_geq(p->n_threads, 2);
    st_node_event ev = fake_event(3);
    st_prof_run_begin(p);
    st_prof_hook(p, &ev, false);
    atomic_store(&go, 1);
    while (atomic_load(&go) != 2) usleep(1000); /* the calling thread sleeps */
    st_prof_hook(p, &ev, true);
    st_prof_run_end(p);
    atomic_store(&go, 3);
    pthread_join(th, NULL);
    cr_assert_eq(p->n_nodes, 4);
    cr_assert_eq(p->nodes[3].calls, 1);
    cr_assert_not(p->nodes[0].seen);
    /* the worker spun ~40 ms while the caller slept: its task-clock dominates */
    cr_assert_gt(p->nodes[3].ctr[0], 10e6, "task-clock %g", p->nodes[3].ctr[0]);
    st_prof_free(p);
}

/* Per-run mode (chosen when cross-CPU reads are dear): the other thread's work lands in
 * the run's totals, not in the node. */
Test(profiler, other_threads_per_run) {
    pthread_t th;
    atomic_store(&go, 0);
    cr_assert_eq(pthread_create(&th, NULL, worker, NULL), 0);
    st_prof *p;
    st_error err;
    cr_assert_eq(st_prof_new(NULL, "task-clock", &p, &err), ST_OK);
    cr_assert_geq(p->n_threads, 2);
    p->all_per_node = false;
    st_node_event ev = fake_event(0);
    st_prof_run_begin(p);
    st_prof_hook(p, &ev, false);
    atomic_store(&go, 1);
    while (atomic_load(&go) != 2) usleep(1000);
    st_prof_hook(p, &ev, true);
    st_prof_run_end(p);
    atomic_store(&go, 3);
    pthread_join(th, NULL);
    cr_assert_lt(p->nodes[0].ctr[0], 10e6, "node task-clock %g (the caller slept)",
                 p->nodes[0].ctr[0]);
    cr_assert_gt(p->run_ctr[0], 10e6, "run task-clock of the worker %g", p->run_ctr[0]);
    st_prof_free(p);
}

Test(profiler, no_counters_still_times) {
    st_prof *p;
    st_error err;
    cr_assert_eq(st_prof_new(NULL, "", &p, &err), ST_OK);
    cr_assert_eq(p->n_ctr, 0);
    cr_assert_not(p->any_open);
    st_node_event ev = fake_event(0);
    st_prof_run_begin(p);
    st_prof_hook(p, &ev, false);
    spin_ms(2);
    st_prof_hook(p, &ev, true);
    st_prof_run_end(p);
    cr_assert_eq(p->n_recs, 1);
    cr_assert_geq(p->recs[0].t1 - p->recs[0].t0, 2000000);
    st_prof_free(p);
}

static st_prof_tinfo ti(int ndim, const int64_t *dims) {
    st_prof_tinfo t;
    memset(&t, 0, sizeof t);
    t.kind = ST_VAL_TENSOR;
    t.dtype = ST_DTYPE_F32;
    t.ndim = ndim;
    memcpy(t.dims, dims, (size_t)ndim * sizeof *dims);
    return t;
}

Test(profiler, flops_from_shapes) {
    st_node nd;
    memset(&nd, 0, sizeof nd);
    nd.domain = "";
    bool known;
    /* Conv 1x3x8x8 * 16x3x3x3 (+bias) -> 1x16x8x8 */
    st_prof_tinfo cin[3] = {ti(4, (int64_t[]){1, 3, 8, 8}), ti(4, (int64_t[]){16, 3, 3, 3}),
                            ti(1, (int64_t[]){16})};
    st_prof_tinfo cout[1] = {ti(4, (int64_t[]){1, 16, 8, 8})};
    nd.op_type = "Conv";
    cr_assert_float_eq(st_prof_flops(&nd, cin, 3, cout, 1, &known), 2.0 * 1024 * 27 + 1024, 1e-6);
    cr_assert(known);
    /* grouped conv: the weight's second dim is Cin/group */
    st_prof_tinfo gw = ti(4, (int64_t[]){16, 1, 3, 3});
    cin[1] = gw;
    cr_assert_float_eq(st_prof_flops(&nd, cin, 2, cout, 1, &known), 2.0 * 1024 * 9, 1e-6);
    /* Gemm [4,32]x[32,10] + C */
    st_prof_tinfo gin[3] = {ti(2, (int64_t[]){4, 32}), ti(2, (int64_t[]){32, 10}),
                            ti(1, (int64_t[]){10})};
    st_prof_tinfo gout[1] = {ti(2, (int64_t[]){4, 10})};
    nd.op_type = "Gemm";
    cr_assert_float_eq(st_prof_flops(&nd, gin, 3, gout, 1, &known), 2.0 * 40 * 32 + 80, 1e-6);
    /* batched MatMul [2,5,7]x[7,3] */
    st_prof_tinfo min[2] = {ti(3, (int64_t[]){2, 5, 7}), ti(2, (int64_t[]){7, 3})};
    st_prof_tinfo mout[1] = {ti(3, (int64_t[]){2, 5, 3})};
    nd.op_type = "MatMul";
    cr_assert_float_eq(st_prof_flops(&nd, min, 2, mout, 1, &known), 2.0 * 30 * 7, 1e-6);
    nd.op_type = "Relu";
    cr_assert_float_eq(st_prof_flops(&nd, mout, 1, mout, 1, &known), 30, 1e-6);
    nd.op_type = "Softmax";
    cr_assert_float_eq(st_prof_flops(&nd, mout, 1, mout, 1, &known), 150, 1e-6);
    nd.op_type = "Reshape";
    cr_assert_float_eq(st_prof_flops(&nd, mout, 1, mout, 1, &known), 0, 1e-6);
    cr_assert_not(known);
    /* an empty tensor costs nothing and divides by nothing */
    st_prof_tinfo e[1] = {ti(2, (int64_t[]){0, 3})};
    nd.op_type = "Gemm";
    cr_assert_float_eq(st_prof_flops(&nd, e, 1, e, 1, &known), 0, 1e-6);
}

/* ---- reading a trace back into the hotspot rows (viewer/trace.c) ------------------- */

#include "../../viewer/view.h"

static const char small_trace[] =
    "{\"traceEvents\": [\n"
    "{\"ph\": \"M\", \"name\": \"thread_name\", \"pid\": 1, \"tid\": 1, \"args\": {\"name\": \"x\"}},\n"
    "{\"ph\": \"X\", \"cat\": \"user_annotation\", \"name\": \"ProfilerStep#0\", \"ts\": 0, \"dur\": 10},\n"
    "{\"ph\": \"X\", \"cat\": \"user_annotation\", \"name\": \"ProfilerStep#1\", \"ts\": 20, \"dur\": 30},\n"
    "{\"ph\": \"X\", \"cat\": \"cpu_op\", \"name\": \"a/Conv\", \"ts\": 1, \"dur\": 4.5, \"args\": "
    "{\"External id\": 2, \"Op type\": \"Conv\", \"FLOPs\": 1000, \"Bytes\": 100, \"task-clock\": 50, "
    "\"cycles\": \"not supported\"}},\n"
    "{\"ph\": \"X\", \"cat\": \"cpu_op\", \"name\": \"b/Relu\", \"ts\": 6, \"dur\": 1, \"args\": "
    "{\"Op type\": \"Relu\", \"Bytes\": 10, \"task-clock\": 5, \"cycles\": \"not supported\"}},\n"
    "{\"ph\": \"X\", \"cat\": \"cpu_op\", \"name\": \"a/Conv\", \"ts\": 21, \"dur\": 5.5, \"args\": "
    "{\"Op type\": \"Conv\", \"FLOPs\": 1000, \"Bytes\": 100, \"task-clock\": 70}},\n"
    "{\"ph\": \"X\", \"cat\": \"cpu_op\", \"name\": \"c/Conv\", \"ts\": 27, \"dur\": 2, \"args\": "
    "{\"Op type\": \"Conv\", \"Bytes\": 20, \"task-clock\": 7}}\n"
    "]}\n";

static void write_tmp(char *path, const char *text) {
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
}

Test(profiler, trace_reads_back_by_node) {
    char path[] = "/tmp/stele-trace-XXXXXX";
    write_tmp(path, small_trace);
    st_view_summary s;
    st_error err;
    cr_assert_eq(st_view_trace_read(path, ST_VIEW_BY_NODE, &s, &err), ST_OK, "%s", err.msg);
    cr_assert_eq(s.n_rows, 3);
    cr_assert_str_eq(s.rows[0].name, "a/Conv");
    cr_assert_str_eq(s.rows[0].op, "Conv");
    cr_assert_eq(s.rows[0].calls, 2);
    cr_assert_eq(s.rows[0].total_ns, 10000);
    cr_assert_float_eq(s.rows[0].flops, 2000, 1e-9);
    cr_assert_float_eq(s.rows[0].bytes, 200, 1e-9);
    cr_assert_str_eq(s.rows[1].name, "c/Conv");
    cr_assert_lt(s.rows[1].flops, 0, "no FLOPs in the trace: unknown");
    cr_assert_str_eq(s.rows[2].name, "b/Relu");
    cr_assert_eq(s.rows[2].total_ns, 1000);
    /* counters: task-clock read, cycles not; "External id" is no counter */
    cr_assert_eq(s.n_ctr, 2);
    int tc = strcmp(s.ctr[0].name, "task-clock") ? 1 : 0;
    cr_assert_str_eq(s.ctr[tc].name, "task-clock");
    cr_assert_eq(s.ctr[tc].state, ST_PROF_CNT_OK);
    cr_assert_str_eq(s.ctr[1 - tc].name, "cycles");
    cr_assert_eq(s.ctr[1 - tc].state, ST_PROF_CNT_UNSUPPORTED);
    cr_assert_float_eq(s.rows[0].ctr[tc], 120, 1e-9);
    /* two ProfilerStep spans are the runs */
    cr_assert_eq(s.stats.runs, 2);
    cr_assert_float_eq(s.stats.run_mean_ms, 0.020, 1e-12);
    cr_assert_float_eq(s.stats.run_min_ms, 0.010, 1e-12);
    cr_assert_float_eq(s.stats.node_sum_ms, 0.0065, 1e-12);
    cr_assert_float_eq(s.stats.flops, 1000, 1e-9);
    cr_assert_float_eq(s.run_ns_total, 40000, 1e-6);
    st_view_opts o = {.group_by = ST_VIEW_BY_NODE, .top = 2, .model = path};
    char *table = NULL;
    cr_assert_eq(st_view_summary_table(&s, &o, &table, &err), ST_OK);
    cr_assert(strstr(table, "a/Conv") && strstr(table, "... 1 more nodes"), "%s", table);
    cr_assert(strstr(table, "25.0%"), "a/Conv is 10 of 40 us: %s", table);
    cr_assert(strstr(table, "runs      2 profiled"), "%s", table);
    st_free(table);
    st_view_summary_free(&s);
    unlink(path);
}

Test(profiler, trace_reads_back_by_op) {
    char path[] = "/tmp/stele-trace-XXXXXX";
    write_tmp(path, small_trace);
    st_view_summary s;
    cr_assert_eq(st_view_trace_read(path, ST_VIEW_BY_OP, &s, NULL), ST_OK);
    cr_assert_eq(s.n_rows, 2);
    cr_assert_str_eq(s.rows[0].name, "Conv");
    cr_assert_eq(s.rows[0].calls, 3);
    cr_assert_eq(s.rows[0].total_ns, 12000);
    cr_assert_lt(s.rows[0].flops, 0, "one Conv call has no FLOPs");
    cr_assert_str_eq(s.rows[1].name, "Relu");
    st_view_opts o = {.group_by = ST_VIEW_BY_OP, .model = path};
    char *json = NULL;
    cr_assert_eq(st_view_summary_json(&s, &o, &json, NULL), ST_OK);
    cr_assert(strstr(json, "\"steps\":\t2") && strstr(json, "\"op_type\":\t\"Relu\""), "%s", json);
    st_free(json);
    st_view_summary_free(&s);
    unlink(path);
}

Test(profiler, trace_read_refuses_other_json) {
    char path[] = "/tmp/stele-trace-XXXXXX";
    write_tmp(path, "{\"rows\": []}");
    st_view_summary s;
    st_error err;
    cr_assert_eq(st_view_trace_read(path, ST_VIEW_BY_NODE, &s, &err), ST_ERR_FORMAT);
    cr_assert(strstr(err.msg, "not a Chrome trace"), "%s", err.msg);
    unlink(path);
}
