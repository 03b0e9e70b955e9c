/* cli/cmd_demo.c: `stele demo` — the main job on the shipped example model
 * (models/shapes.onnx, a small CNN trained by scripts/make-demo-model to tell outlines of
 * circles, squares, triangles and crosses apart): describe it, convert it, run the original
 * and the converted copy on freshly drawn images, compare them, and show where time goes.
 * The drawing here matches the training script's, so the predictions mean something. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

#ifndef STELE_SOURCE_DIR
#define STELE_SOURCE_DIR "."
#endif

static const char demo_help[] =
    "usage: stele demo [--threads N] [--runs N] [--model PATH]\n\n"
    "A tour of stele on the small shape classifier it ships (models/shapes.onnx):\n"
    "describe the model, convert it, run both copies on drawn images, compare their\n"
    "outputs, and profile every operator type (writing a trace and a TensorBoard logdir).\n\n"
    "options:\n"
    "  --model PATH   use another copy of the shapes model (default: found beside stele)\n"
    "  --threads N    worker threads (default: all cores)\n"
    "  --runs N       timed runs (default 200)\n"
    "  -h, --help     show this help\n";

static const char *const classes[] = {"circle", "square", "triangle", "cross"};
enum { IMG = 32, NCLASS = 4 };

/* One outline shape, as scripts/make-demo-model draws it. */
static void draw(int kind, float cx, float cy, float r, float *img) {
    const float a = sqrtf(3.0f) / 2, thick = 1.6f;
    for (int yi = 0; yi < IMG; yi++)
        for (int xi = 0; xi < IMG; xi++) {
            float dx = xi + 0.5f - cx, dy = yi + 0.5f - cy, d;
            if (kind == 0) {
                d = fabsf(sqrtf(dx * dx + dy * dy) - r);
            } else if (kind == 1) {
                d = fabsf(fmaxf(fabsf(dx), fabsf(dy)) - r);
            } else if (kind == 2) {
                float e1 = dy - r / 2, e2 = -a * dx - 0.5f * dy - r / 2,
                      e3 = a * dx - 0.5f * dy - r / 2;
                d = fabsf(fmaxf(fmaxf(e1, e2), e3));
            } else {
                float h = fabsf(dx) <= r ? fabsf(dy) : 1e9f, v = fabsf(dy) <= r ? fabsf(dx) : 1e9f;
                d = fminf(h, v);
            }
            float p = thick - d;
            img[yi * IMG + xi] = p < 0 ? 0 : p > 1 ? 1 : p;
        }
}

static const char *find_model(void) {
    static char buf[4096];
    const char *env = getenv("STELE_DEMO_MODEL");
    if (env) return env;
    struct stat sb;
    snprintf(buf, sizeof buf, "%s/models/shapes.onnx", STELE_SOURCE_DIR);
    if (stat(buf, &sb) == 0) return buf;
    /* beside the binary: build/stele -> models/, or <prefix>/bin -> <prefix>/share/stele */
    char exe[2048];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    exe[len > 0 ? len : 0] = 0;
    const char *slash = strrchr(exe, '/');
    if (slash) {
        int n = (int)(slash - exe);
        snprintf(buf, sizeof buf, "%.*s/../models/shapes.onnx", n, exe);
        if (stat(buf, &sb) == 0) return buf;
        snprintf(buf, sizeof buf, "%.*s/../share/stele/shapes.onnx", n, exe);
        if (stat(buf, &sb) == 0) return buf;
    }
    return NULL;
}

static void show_images(const float *imgs, int n) {
    /* two rows of pixels per character cell, half the columns: 16x16 cells per image */
    for (int row = 0; row < IMG; row += 2) {
        printf("     ");
        for (int k = 0; k < n; k++) {
            const float *img = imgs + (size_t)k * IMG * IMG;
            for (int col = 0; col < IMG; col += 2) {
                float v = img[row * IMG + col] + img[row * IMG + col + 1] +
                          img[(row + 1) * IMG + col] + img[(row + 1) * IMG + col + 1];
                putchar(v > 2.0f ? '#' : v > 0.9f ? '+' : v > 0.3f ? '.' : ' ');
            }
            printf("   ");
        }
        putchar('\n');
    }
}

/* What the demo holds across its steps; freed once in demo_free. */
typedef struct demo {
    const char *model;
    long long threads, runs;
    st_error err;
    st_model *m, *m2; /* the model, and its converted copy read back */
    st_session *s, *s2;
    st_value in; /* four drawn images */
    st_value *out, *out2;
    st_value_info vi; /* the input */
    st_profiler *prof;
    char *report, *run_dir;
    char dir[32], conv[4096];
    int correct;
    double maxdiff;
} demo;

static void demo_free(demo *d) {
    if (d->conv[0]) unlink(d->conv);
    if (strcmp(d->dir, "/tmp/stele-demo-XXXXXX")) rmdir(d->dir);
    st_string_free(d->report);
    st_string_free(d->run_dir);
    st_profiler_free(d->prof);
    st_values_free(d->out, 1);
    st_values_free(d->out2, 1);
    st_value_clear(&d->in);
    st_session_free(d->s);
    st_session_free(d->s2);
    st_model_free(d->m);
    st_model_free(d->m2);
}

/* 1. Load the model and say what it is. */
static int demo_describe(demo *d) {
    if (st_model_load(d->model, NULL, &d->m, &d->err)) return cli_fail("%s", d->err.msg);
    uint64_t pc, pb;
    st_model_params(d->m, &pc, &pb);
    const st_op_count *hist;
    size_t nh = st_model_op_histogram(d->m, &hist);
    st_value_info vo;
    st_model_input(d->m, 0, &d->vi);
    st_model_output(d->m, 0, &vo);
    char ti[256], to[256];
    cli_type_str(&d->vi, ti, sizeof ti);
    cli_type_str(&vo, to, sizeof to);
    const char *producer = st_model_producer(d->m);
    printf("1. The model  %s\n", d->model);
    printf("   A small CNN trained with %s to tell outlines of circles, squares,\n"
           "   triangles and crosses apart in 32x32 grayscale images.\n",
           producer[0] ? producer : "PyTorch");
    printf("   input  %s %s\n   output %s %s\n   %zu nodes:", d->vi.name, ti, vo.name, to,
           st_model_n_nodes(d->m));
    for (size_t i = 0; i < nh; i++)
        printf(" %s x%zu%s", hist[i].op_type, hist[i].count, i + 1 < nh ? "," : "");
    printf("\n   %llu parameters (%.1f KiB)\n\n", (unsigned long long)pc, pb / 1024.0);
    return EXIT_OK;
}

/* 2. Save it as ONNX into a scratch directory and read it back. */
static int demo_convert(demo *d) {
    if (!mkdtemp(d->dir)) return cli_fail("demo: cannot create a temporary directory");
    snprintf(d->conv, sizeof d->conv, "%s/shapes.converted.onnx", d->dir);
    st_save_opts so = {.format = ST_FORMAT_ONNX};
    if (st_model_save(d->m, d->conv, &so, &d->err) || st_model_load(d->conv, NULL, &d->m2, &d->err))
        return cli_fail("%s", d->err.msg);
    printf("2. Convert    %s -> %s (ONNX, read back in)\n\n", d->model, d->conv);
    return EXIT_OK;
}

/* 3. Run both copies on four drawn images, one of each class at varied sizes and places. */
static int demo_run(demo *d) {
    int64_t dims[4] = {NCLASS, 1, IMG, IMG};
    if (st_tensor_alloc(&d->in.tensor, ST_DTYPE_F32, 4, dims, &d->err))
        return cli_fail("%s", d->err.msg);
    d->in.kind = ST_VAL_TENSOR;
    float *px = d->in.tensor.data;
    const float place[NCLASS][3] = {{15, 16, 9}, {17, 15, 8}, {16, 18, 11}, {14, 15, 10}};
    for (int k = 0; k < NCLASS; k++)
        draw(k, place[k][0], place[k][1], place[k][2], px + (size_t)k * IMG * IMG);
    st_session_opts opts = st_session_opts_default();
    opts.threads = (int)d->threads;
    const char *names[] = {d->vi.name};
    if (st_session_new(d->m, &opts, &d->s, &d->err) ||
        st_session_new(d->m2, &opts, &d->s2, &d->err) ||
        st_session_run(d->s, 1, names, &d->in, &d->out, &d->err) ||
        st_session_run(d->s2, 1, names, &d->in, &d->out2, &d->err))
        return cli_fail("%s: %s", d->model, d->err.msg);
    printf("3. Run        four freshly drawn images through both copies:\n\n");
    show_images(px, NCLASS);
    const float *p = d->out[0].tensor.data, *p2 = d->out2[0].tensor.data;
    printf("\n   ");
    for (int k = 0; k < NCLASS; k++) {
        int best = 0;
        for (int c = 1; c < NCLASS; c++)
            if (p[k * NCLASS + c] > p[k * NCLASS + best]) best = c;
        d->correct += best == k;
        printf("%-9s %5.1f%%%s", classes[best], 100 * p[k * NCLASS + best],
               k + 1 < NCLASS ? "    " : "\n");
    }
    for (int i = 0; i < NCLASS * NCLASS; i++)
        d->maxdiff = fmax(d->maxdiff, fabs((double)p[i] - p2[i]));
    printf("   %d of %d recognised; original and converted copies differ by at most %.3g\n\n",
           d->correct, NCLASS, d->maxdiff);
    return EXIT_OK;
}

/* 4. Time profiled runs of the original copy. */
static int demo_time(demo *d) {
    st_profile_opts po = st_profile_opts_default();
    if (st_profiler_new(d->m, d->s, &po, &d->prof, &d->err))
        return cli_fail("%s: %s", d->model, d->err.msg);
    double *lat = calloc((size_t)d->runs, sizeof *lat);
    if (!lat) return cli_fail("out of memory");
    const char *names[] = {d->vi.name};
    for (long long r = 0; r < d->runs; r++) {
        st_values_free(d->out, 1);
        d->out = NULL;
        double t0 = cli_now_ms();
        st_profiler_run_begin(d->prof);
        st_status rs = st_session_run(d->s, 1, names, &d->in, &d->out, &d->err);
        st_profiler_run_end(d->prof);
        if (rs) {
            free(lat);
            return cli_fail("%s: %s", d->model, d->err.msg);
        }
        lat[r] = cli_now_ms() - t0;
    }
    cli_latency l = cli_latency_stats(lat, (int)d->runs);
    free(lat);
    printf("4. Time       %lld runs of a batch of 4: median %.3f ms, p90 %.3f ms, min %.3f ms\n",
           d->runs, l.median, l.p90, l.min);
    return EXIT_OK;
}

/* 4 (cont.) and 5. The profile per op type, and where the trace and logdir went. */
static int demo_profile(demo *d) {
    char logdir[4200], trace[4200];
    st_profile_report_opts ro = st_profile_report_opts_default();
    ro.group_by = ST_PROFILE_BY_OP;
    ro.model = d->model;
    snprintf(logdir, sizeof logdir, "%s/logs", d->dir);
    snprintf(trace, sizeof trace, "%s/trace.json", d->dir);
    if (st_profiler_report(d->prof, &ro, &d->report, &d->err) ||
        st_profiler_write_trace(d->prof, trace, &d->err) ||
        st_profiler_write_logdir(d->prof, logdir, "shapes", &d->run_dir, &d->err))
        return cli_fail("%s", d->err.msg);
    printf("   profile of the timed runs, per operator type:\n\n");
    for (const char *line = d->report; *line;) { /* indent the report under the step */
        const char *nl = strchr(line, '\n');
        int len = nl ? (int)(nl - line) : (int)strlen(line);
        printf("   %.*s\n", len, line);
        line += len + (nl != NULL);
    }
    printf("\n5. Look       trace   %s\n"
           "                       open it in https://ui.perfetto.dev (or chrome://tracing)\n"
           "              logdir  %s\n"
           "                       tensorboard --logdir %s  (Scalars, Graphs coloured by compute\n"
           "                       time, Profile tab)\n",
           trace, d->run_dir, logdir);
    printf(
        "\nNext: stele info %s | stele profile %s --counters cycles,cache-misses | stele --help\n",
        d->model, d->model);
    return EXIT_OK;
}

int cmd_demo(int argc, char **argv) {
    cli_args a = {argc, 1, argv, "demo"};
    demo d = {.runs = 200, .dir = "/tmp/stele-demo-XXXXXX"};
    const char *v;
    int status = 0;
    for (; a.i < argc && !status; a.i++) {
        if (cli_flag(&a, "-h") || cli_flag(&a, "--help")) {
            fputs(demo_help, stdout);
            return EXIT_OK;
        }
        if (cli_opt(&a, "--model", &v, &status)) {
            d.model = v;
        } else if (cli_opt(&a, "--threads", &v, &status)) {
            if (v && !cli_parse_int(v, 1, 1024, &d.threads))
                status = cli_usage_error("demo", "--threads takes 1..1024");
        } else if (cli_opt(&a, "--runs", &v, &status)) {
            if (v && !cli_parse_int(v, 1, 1000000, &d.runs))
                status = cli_usage_error("demo", "--runs takes a positive integer");
        } else {
            status = cli_usage_error("demo", "unexpected argument '%s'", argv[a.i]);
        }
    }
    if (status) return status;
    if (!d.model) d.model = find_model();
    if (!d.model)
        return cli_fail("demo: cannot find models/shapes.onnx (set STELE_DEMO_MODEL or --model)");
    printf("stele demo: carry a model across, run it, check it, time it\n\n");
    int rc = demo_describe(&d);
    if (!rc) rc = demo_convert(&d);
    if (!rc) rc = demo_run(&d);
    if (!rc) rc = demo_time(&d);
    if (!rc) rc = demo_profile(&d);
    if (!rc) rc = d.correct == NCLASS && d.maxdiff == 0 ? EXIT_OK : EXIT_CHECK;
    demo_free(&d);
    return rc;
}
