/* cli/cmd_profile.c: `stele profile` — time every operator of a model over several runs,
 * read counters around each, measure the profiler's own overhead against plain runs, print
 * the hotspot table (or JSON), and write a trace and a TensorBoard logdir on request. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static const char profile_help[] =
    "usage: stele profile MODEL [options]\n\n"
    "Run MODEL several times with a per-operator profiler: time (monotonic clock) and\n"
    "counters (perf_event_open groups per thread) around every node. Prints a hotspot\n"
    "table, totals and the profiler's own overhead, measured against runs without it.\n\n"
    "options:\n"
    "  --input [NAME=]PATH   an input file (.npy or ONNX .pb; repeatable), as for `run`\n"
    "  --shape NAME=AxBxC    shape of a random input (repeatable); --seed N\n"
    "  --runs N              profiled runs (default 10)\n"
    "  --warmup N            unprofiled runs first (default 2)\n"
    "  --threads N           worker threads (default: all cores)\n"
    "  --counters LIST       comma-separated events: perf names (cycles, instructions,\n"
    "                        cache-references, cache-misses, branch-misses,\n"
    "                        L1-dcache-load-misses, LLC-load-misses, task-clock,\n"
    "                        page-faults, context-switches, ...) or libpfm4 strings;\n"
    "                        'none' for time only (default: " ST_PROFILE_DEFAULT_COUNTERS ")\n"
    "  --logdir DIR          write a TensorBoard run DIR/<model>/ (scalars, graph with\n"
    "                        measured times, Profile tab .xplane.pb, .pt.trace.json)\n"
    "  --run NAME            the run's folder name in the logdir (default: model's name)\n"
    "  --trace FILE          write a Chrome trace (open in ui.perfetto.dev)\n"
    "  --top K               show the K most expensive rows (default 25, 0 = all)\n"
    "  --group-by node|op    one row per node (default) or per operator type\n"
    "  --no-baseline         skip the plain runs that measure the overhead\n"
    "  --all-threads-per-node  read other threads' counters around every node even where\n"
    "                        that is costly (default: per run when it costs > 1.5%)\n"
    "  --json                print one JSON object instead of the table\n"
    "  -h, --help            show this help\n\n"
    "Counters the CPU does not expose (as in most virtual machines) show as\n"
    "'not supported'; everything else still works.\n";

static void progress(bool tty, long long done, long long total) {
    if (!tty || total <= 0) return;
    int width = 30, fill = (int)(width * done / total);
    fprintf(stderr, "\r  profiling [%.*s%*s] %lld/%lld", fill, "##############################",
            width - fill, "", done, total);
    if (done == total) fprintf(stderr, "\r%*s\r", width + 40, "");
    fflush(stderr);
}

/* "models/resnet18.onnx" -> "resnet18" */
static void stem(const char *path, char *out, size_t n) {
    size_t len = strlen(path);
    while (len > 1 && path[len - 1] == '/') len--;
    const char *b = path + len;
    while (b > path && b[-1] != '/') b--;
    size_t k = (size_t)(path + len - b);
    const char *dot = NULL;
    for (const char *c = b; c < path + len; c++)
        if (*c == '.') dot = c;
    if (dot && dot > b) k = (size_t)(dot - b);
    snprintf(out, n, "%.*s", (int)k, b);
}

int cmd_profile(int argc, char **argv) {
    cli_args a = {argc, 1, argv, "profile"};
    cli_inputs in;
    memset(&in, 0, sizeof in);
    const char *model_path = NULL, *logdir = NULL, *trace = NULL, *counters = NULL,
               *run_name = NULL, *v;
    long long threads = 0, runs = 10, warmup = 2;
    bool baseline = true, all_threads = false;
    st_profile_report_opts ro = st_profile_report_opts_default();
    ro.top = 25;
    int status = 0;
    for (; a.i < argc && !status; a.i++) {
        if (cli_flag(&a, "-h") || cli_flag(&a, "--help")) {
            fputs(profile_help, stdout);
            return EXIT_OK;
        }
        if (cli_inputs_opt(&a, &in, &status) || cli_report_opt(&a, &ro, &status)) continue;
        if (cli_opt(&a, "--threads", &v, &status)) {
            if (v && !cli_parse_int(v, 1, 1024, &threads))
                status = cli_usage_error("profile", "--threads takes 1..1024");
        } else if (cli_opt(&a, "--runs", &v, &status)) {
            if (v && !cli_parse_int(v, 1, 10000000, &runs))
                status = cli_usage_error("profile", "--runs takes a positive integer");
        } else if (cli_opt(&a, "--warmup", &v, &status)) {
            if (v && !cli_parse_int(v, 0, 10000000, &warmup))
                status = cli_usage_error("profile", "--warmup takes a non-negative integer");
        } else if (cli_opt(&a, "--counters", &v, &status)) {
            counters = v && !strcmp(v, "none") ? "" : v;
        } else if (cli_opt(&a, "--logdir", &v, &status)) {
            logdir = v;
        } else if (cli_opt(&a, "--run", &v, &status)) {
            run_name = v;
        } else if (cli_opt(&a, "--trace", &v, &status)) {
            trace = v;
        } else if (cli_flag(&a, "--no-baseline")) {
            baseline = false;
        } else if (cli_flag(&a, "--all-threads-per-node")) {
            all_threads = true;
        } else {
            status = cli_model_arg(&a, &model_path);
        }
    }
    if (status) return status;
    if (!model_path) return cli_usage_error("profile", "no MODEL given");

    st_error err;
    cli_session cs = {0};
    st_profiler *p = NULL;
    st_value *outs = NULL;
    char *report = NULL, *run_dir = NULL;
    bool tty = isatty(2);
    int rc = cli_session_open(model_path, NULL, (int)threads, &in, &cs);
    if (rc) goto done;
    /* the first run prepares and plans; at least one warm-up keeps it out of the profile */
    for (long long r = 0; r < (warmup > 0 ? warmup : 1); r++) {
        st_values_free(outs, cs.n_out);
        outs = NULL;
        if (st_session_run(cs.s, cs.n_in, cs.names, cs.ins, &outs, &err)) {
            rc = cli_fail("%s: %s", model_path, err.msg);
            goto done;
        }
    }
    st_profile_opts po = st_profile_opts_default();
    po.counters = counters;
    po.all_threads_per_node = all_threads;
    if (st_profiler_new(cs.m, cs.s, &po, &p, &err)) {
        rc = cli_fail("%s: %s", model_path, err.msg);
        goto done;
    }
    /* profiled and plain runs alternate, so drift in machine load hits both alike */
    for (long long r = 0; r < runs; r++) {
        progress(tty, r, runs);
        for (int k = baseline ? 0 : 1; k < 2; k++) {
            st_values_free(outs, cs.n_out);
            outs = NULL;
            double t0 = cli_now_ms();
            if (k) st_profiler_run_begin(p);
            st_status rs = st_session_run(cs.s, cs.n_in, cs.names, cs.ins, &outs, &err);
            if (k) st_profiler_run_end(p);
            else st_profiler_add_baseline(p, cli_now_ms() - t0);
            if (rs) {
                rc = cli_fail("%s: %s", model_path, err.msg);
                goto done;
            }
        }
    }
    progress(tty, runs, runs);
    ro.model = model_path;
    ro.threads = (int)threads;
    ro.warmup = (int)warmup;
    if (st_profiler_report(p, &ro, &report, &err)) {
        rc = cli_fail("%s", err.msg);
        goto done;
    }
    if (trace && st_profiler_write_trace(p, trace, &err)) {
        rc = cli_fail("%s", err.msg);
        goto done;
    }
    if (logdir) {
        char run[256];
        if (run_name) snprintf(run, sizeof run, "%s", run_name);
        else stem(model_path, run, sizeof run);
        if (st_profiler_write_logdir(p, logdir, run, &run_dir, &err)) {
            rc = cli_fail("%s", err.msg);
            goto done;
        }
    }
    if (ro.json) {
        fputs(report, stdout);
        putchar('\n');
    } else {
        char tn[32] = "all cores";
        if (threads) snprintf(tn, sizeof tn, "%lld", threads);
        printf("stele profile %s: %lld runs after %lld warm-up, threads: %s, by %s\n\n", model_path,
               runs, warmup, tn, ro.group_by == ST_PROFILE_BY_OP ? "op type" : "node");
        fputs(report, stdout);
        if (trace)
            printf("trace     %s (open in https://ui.perfetto.dev or chrome://tracing)\n", trace);
        if (run_dir) printf("logdir    %s (tensorboard --logdir %s)\n", run_dir, logdir);
    }
done:
    st_string_free(report);
    st_string_free(run_dir);
    st_profiler_free(p);
    st_values_free(outs, cs.n_out);
    cli_session_close(&cs);
    cli_inputs_free(&in);
    return rc;
}
