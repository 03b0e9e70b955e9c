/* cli/cmd_run.c: `stele run` — run a model once or many times, write outputs (.npy for
 * tensors, ONNX protobuf .pb for sequences and optionals), report latency. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"

static const char run_help[] =
    "usage: stele run MODEL [options]\n\n"
    "Run MODEL (ONNX) on the CPU. Inputs not given as files get seeded random data of\n"
    "the declared type and shape.\n\n"
    "options:\n"
    "  --input [NAME=]PATH   an input from .npy or an ONNX TensorProto/SequenceProto/\n"
    "                        OptionalProto .pb file (repeatable; positional when no NAME)\n"
    "  --shape NAME=AxBxC    shape of a random input with symbolic dimensions, or\n"
    "                        SYMBOL=N to bind a named dimension (repeatable)\n"
    "  --seed N              seed for random inputs (default 0)\n"
    "  --output-dir DIR      write each output to DIR/<name>.npy (.pb for sequences)\n"
    "  --threads N           worker threads (default: all cores)\n"
    "  --runs N              run N times and report latency (default 1)\n"
    "  --warmup N            untimed runs before the timed ones (default 0)\n"
    "  --json                print one JSON object: outputs and latency_ms\n"
    "  --signature NAME      SavedModel signature to run (default serving_default)\n"
    "  -h, --help            show this help\n";

static void print_preview(const st_tensor *t) {
    size_t n = st_tensor_nelem(t), show = n < 8 ? n : 8;
    printf("  [");
    for (size_t i = 0; i < show; i++) {
        if (i) printf(", ");
        switch (t->dtype) {
        case ST_DTYPE_F32: printf("%.6g", ((const float *)t->data)[i]); break;
        case ST_DTYPE_F64: printf("%.6g", ((const double *)t->data)[i]); break;
        case ST_DTYPE_I64: printf("%lld", (long long)((const int64_t *)t->data)[i]); break;
        case ST_DTYPE_I32: printf("%d", ((const int32_t *)t->data)[i]); break;
        case ST_DTYPE_BOOL: printf("%s", ((const uint8_t *)t->data)[i] ? "true" : "false"); break;
        case ST_DTYPE_STRING:
            printf("\"%s\"",
                   ((const st_str *)t->data)[i].data ? ((const st_str *)t->data)[i].data : "");
            break;
        default:
            printf("…");
            i = show;
            break;
        }
    }
    printf("%s]\n", n > show ? ", …" : "");
}

static void shape_str(const st_tensor *t, char *buf, size_t n) {
    int off = snprintf(buf, n, "[");
    for (int d = 0; d < t->ndim && (size_t)off < n; d++)
        off += snprintf(buf + off, n - (size_t)off, "%s%lld", d ? "," : "", (long long)t->dims[d]);
    if ((size_t)off < n) snprintf(buf + off, n - (size_t)off, "]");
}

/* One output as JSON: name, kind, dtype, shape or length, and where it was written. */
static cJSON *output_json(const char *name, const st_value *o, const char *path) {
    cJSON *jo = cJSON_CreateObject();
    cJSON_AddStringToObject(jo, "name", name);
    cJSON_AddStringToObject(jo, "kind",
                            o->kind == ST_VAL_SEQUENCE ? "sequence"
                            : o->kind == ST_VAL_NONE   ? "none"
                                                       : "tensor");
    cJSON_AddBoolToObject(jo, "optional", o->optional);
    if (o->kind == ST_VAL_TENSOR) {
        cJSON_AddStringToObject(jo, "dtype", st_dtype_name(o->tensor.dtype));
        cJSON *js = cJSON_AddArrayToObject(jo, "shape");
        for (int d = 0; d < o->tensor.ndim; d++)
            cJSON_AddItemToArray(js, cJSON_CreateNumber((double)o->tensor.dims[d]));
    } else if (o->kind == ST_VAL_SEQUENCE) {
        cJSON_AddStringToObject(jo, "dtype",
                                st_dtype_name(o->nseq ? o->seq[0].dtype : o->elem_dtype));
        cJSON_AddNumberToObject(jo, "length", (double)o->nseq);
    }
    if (path[0]) cJSON_AddStringToObject(jo, "path", path);
    else cJSON_AddNullToObject(jo, "path");
    return jo;
}

/* One output as text: its type, then where it was written or its first values. */
static void output_text(const char *name, const st_value *o, const char *path) {
    const char *arrow = path[0] ? " -> " : "";
    char shape[256] = "";
    if (o->kind == ST_VAL_TENSOR) {
        shape_str(&o->tensor, shape, sizeof shape);
        printf("  %s: %s%s%s\n", name, st_dtype_name(o->tensor.dtype), shape, arrow);
    } else if (o->kind == ST_VAL_SEQUENCE) {
        printf("  %s: sequence of %zu tensor%s%s\n", name, o->nseq, o->nseq == 1 ? "" : "s", arrow);
    } else {
        printf("  %s: empty optional%s\n", name, arrow);
    }
    if (path[0]) printf("    %s\n", path);
    else if (o->kind == ST_VAL_TENSOR) print_preview(&o->tensor);
}

/* Write each output to outdir (when given) under a unique file-safe name, and describe it:
 * into jouts when printing JSON, else on stdout. */
static int report_outputs(const st_session *s, const st_value *outs, size_t n_out,
                          const char *outdir, cJSON *jouts) {
    st_error err;
    int rc = EXIT_OK;
    char **taken = calloc(n_out ? n_out : 1, sizeof *taken);
    if (!taken) return cli_fail("out of memory");
    for (size_t i = 0; i < n_out && !rc; i++) {
        const char *name = st_session_output_name(s, i);
        const st_value *o = &outs[i];
        char safe[512], path[4096] = "";
        cli_safe_name(name, safe, sizeof safe, taken, (int)i);
        taken[i] = strdup(safe);
        bool tensor = o->kind == ST_VAL_TENSOR && !o->optional;
        if (outdir) {
            snprintf(path, sizeof path, "%s/%s.%s", outdir, safe, tensor ? "npy" : "pb");
            st_status ws = tensor ? st_tensor_write_npy(path, &o->tensor, &err)
                                  : st_value_write_pb(path, o, name, &err);
            if (ws) rc = cli_fail("%s", err.msg);
        }
        if (rc) break;
        if (jouts) cJSON_AddItemToArray(jouts, output_json(name, o, path));
        else output_text(name, o, path);
    }
    for (size_t i = 0; i < n_out; i++) free(taken[i]);
    free(taken);
    return rc;
}

/* warmup untimed runs, then runs timed into lat[]; *outs holds the last run's outputs. */
static int timed_runs(st_session *s, const char *model_path, size_t n_in, const char **names,
                      const st_value *ins, long long warmup, long long runs, double *lat,
                      st_value **outs) {
    st_error err;
    size_t n_out = st_session_n_outputs(s);
    for (long long r = 0; r < warmup + runs; r++) {
        st_values_free(*outs, n_out);
        *outs = NULL;
        double t0 = cli_now_ms();
        if (st_session_run(s, n_in, names, ins, outs, &err))
            return cli_fail("%s: %s", model_path, err.msg);
        if (r >= warmup) lat[r - warmup] = cli_now_ms() - t0;
    }
    return EXIT_OK;
}

static void print_latency(cJSON *root, double *lat, long long runs, long long warmup,
                          bool runs_given) {
    cli_latency l = cli_latency_stats(lat, (int)runs);
    if (root) {
        cJSON *jl = cJSON_AddObjectToObject(root, "latency_ms");
        cJSON_AddNumberToObject(jl, "median", l.median);
        cJSON_AddNumberToObject(jl, "min", l.min);
        cJSON_AddNumberToObject(jl, "mean", l.mean);
        cJSON_AddNumberToObject(jl, "p90", l.p90);
        cJSON_AddNumberToObject(root, "runs", (double)runs);
        cJSON_AddNumberToObject(root, "warmup", (double)warmup);
        char *txt = cJSON_Print(root);
        if (txt) puts(txt);
        cJSON_free(txt);
    } else if (runs_given || runs > 1) {
        printf("latency over %lld run%s (ms): median %.3f  min %.3f  mean %.3f  p90 %.3f\n", runs,
               runs == 1 ? "" : "s", l.median, l.min, l.mean, l.p90);
    }
}

int cmd_run(int argc, char **argv) {
    cli_args a = {argc, 1, argv, "run"};
    cli_inputs in;
    memset(&in, 0, sizeof in);
    const char *model_path = NULL, *outdir = NULL, *v, *signature = NULL;
    long long threads = 0, runs = 1, warmup = 0;
    bool json = false, runs_given = false;
    int status = 0;
    for (; a.i < argc && !status; a.i++) {
        if (cli_flag(&a, "-h") || cli_flag(&a, "--help")) {
            fputs(run_help, stdout);
            return EXIT_OK;
        }
        if (cli_inputs_opt(&a, &in, &status)) continue;
        if (cli_opt(&a, "--output-dir", &v, &status) || cli_opt(&a, "-o", &v, &status)) {
            outdir = v;
        } else if (cli_opt(&a, "--threads", &v, &status)) {
            if (v && !cli_parse_int(v, 1, 1024, &threads))
                status = cli_usage_error("run", "--threads takes 1..1024");
        } else if (cli_opt(&a, "--runs", &v, &status)) {
            if (v && !cli_parse_int(v, 1, 100000000, &runs))
                status = cli_usage_error("run", "--runs takes a positive integer");
            runs_given = true;
        } else if (cli_opt(&a, "--warmup", &v, &status)) {
            if (v && !cli_parse_int(v, 0, 100000000, &warmup))
                status = cli_usage_error("run", "--warmup takes a non-negative integer");
        } else if (cli_flag(&a, "--json")) {
            json = true;
        } else if (cli_opt(&a, "--signature", &v, &status)) {
            signature = v;
        } else {
            status = cli_model_arg(&a, &model_path);
        }
    }
    if (status) return status;
    if (!model_path) return cli_usage_error("run", "no MODEL given");

    cli_session cs = {0};
    st_value *outs = NULL;
    cJSON *root = NULL;
    double *lat = calloc((size_t)runs, sizeof *lat);
    int rc = lat ? cli_session_open(model_path, signature, (int)threads, &in, &cs)
                 : cli_fail("out of memory");
    if (!rc) rc = timed_runs(cs.s, model_path, cs.n_in, cs.names, cs.ins, warmup, runs, lat, &outs);
    if (rc) goto done;
    if (outdir && mkdir(outdir, 0777) != 0 && errno != EEXIST) {
        rc = cli_fail("%s: cannot create directory: %s", outdir, strerror(errno));
        goto done;
    }
    if (json) root = cJSON_CreateObject();
    else printf("%s: %zu output%s\n", model_path, cs.n_out, cs.n_out == 1 ? "" : "s");
    rc = report_outputs(cs.s, outs, cs.n_out, outdir,
                        json ? cJSON_AddArrayToObject(root, "outputs") : NULL);
    if (!rc) print_latency(root, lat, runs, warmup, runs_given);
done:
    cJSON_Delete(root);
    free(lat);
    st_values_free(outs, cs.n_out);
    cli_session_close(&cs);
    cli_inputs_free(&in);
    return rc;
}
