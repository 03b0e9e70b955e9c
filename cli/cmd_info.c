/* cli/cmd_info.c: `stele info` — what a model is: format, producer, opsets, inputs and
 * outputs with types and shapes, operator histogram, parameters, and every value's type
 * from static inference. Runs no model. */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char info_help[] =
    "usage: stele info MODEL [--json] [--values] [--shape NAME=AxB...]\n\n"
    "Describe MODEL: format, producer, opset imports, inputs and outputs with types and\n"
    "shapes (symbolic dimensions by name), operator histogram, parameter count and bytes.\n"
    "Every value's type and shape comes from static inference over the graph.\n\n"
    "options:\n"
    "  --json       print one JSON object (with \"values\": every value of the main graph)\n"
    "  --values     also print every value of the main graph with its dtype and shape\n"
    "  --shape NAME=AxBxC  bind input NAME to this shape before inferring (repeatable)\n"
    "  --signature NAME  SavedModel signature to describe (default serving_default)\n"
    "  -h, --help   show this help\n";

/* {"name", "dtype", "shape"}: a dim is an integer, a symbol name, or null when unknown. */
static cJSON *shape_json(const st_value_info *vi) {
    if (vi->rank < 0) return cJSON_CreateNull();
    cJSON *s = cJSON_CreateArray();
    for (int d = 0; d < vi->rank; d++) {
        if (vi->dims[d].symbol) cJSON_AddItemToArray(s, cJSON_CreateString(vi->dims[d].symbol));
        else if (vi->dims[d].value >= 0)
            cJSON_AddItemToArray(s, cJSON_CreateNumber((double)vi->dims[d].value));
        else cJSON_AddItemToArray(s, cJSON_CreateNull());
    }
    return s;
}

static cJSON *values_json(const st_model *m) {
    cJSON *a = cJSON_CreateArray();
    for (size_t i = 0; i < st_model_n_values(m); i++) {
        st_value_info vi;
        st_model_value(m, i, &vi);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", vi.name);
        if (vi.kind == ST_VAL_SEQUENCE) cJSON_AddStringToObject(o, "kind", "sequence");
        if (vi.optional) cJSON_AddBoolToObject(o, "optional", true);
        if (vi.dtype && (vi.kind != ST_VAL_NONE || vi.optional))
            cJSON_AddStringToObject(o, "dtype", st_dtype_name(vi.dtype));
        else cJSON_AddNullToObject(o, "dtype");
        cJSON_AddItemToObject(o, "shape",
                              vi.kind != ST_VAL_NONE ? shape_json(&vi) : cJSON_CreateNull());
        cJSON_AddItemToArray(a, o);
    }
    return a;
}

static void print_values(const st_model *m) {
    size_t n = st_model_n_values(m), known = 0;
    char buf[1024];
    for (size_t i = 0; i < n; i++) {
        st_value_info vi;
        st_model_value(m, i, &vi);
        known += vi.kind != ST_VAL_NONE && vi.dtype && (vi.rank >= 0 || vi.kind == ST_VAL_SEQUENCE);
    }
    printf("  values (%zu, %zu with known type and rank)\n", n, known);
    for (size_t i = 0; i < n; i++) {
        st_value_info vi;
        st_model_value(m, i, &vi);
        if (vi.kind == ST_VAL_NONE && !vi.optional) snprintf(buf, sizeof buf, "?");
        else cli_type_str(&vi, buf, sizeof buf);
        printf("    %-40s %s\n", vi.name, buf);
    }
}

/* --shape NAME=AxB into a binding; a usage error otherwise. */
static int shape_opt(const char *v, st_shape_binding *b, char name[256]) {
    const char *eq = strchr(v, '=');
    if (!eq || eq == v)
        return cli_usage_error("info", "--shape takes NAME=DIMxDIMx... (got '%s')", v);
    size_t len = (size_t)(eq - v);
    if (len >= 256) return cli_usage_error("info", "--shape: name too long");
    memcpy(name, v, len);
    name[len] = 0;
    b->name = name;
    if (cli_parse_dims(eq + 1, b->dims, &b->ndim))
        return cli_usage_error("info", "--shape %s: expected dimensions like 1x3x224x224", v);
    return 0;
}

static cJSON *value_json(const st_value_info *vi) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", vi->name);
    cJSON_AddStringToObject(o, "kind", vi->kind == ST_VAL_SEQUENCE ? "sequence" : "tensor");
    cJSON_AddBoolToObject(o, "optional", vi->optional);
    cJSON_AddStringToObject(o, "dtype", vi->dtype ? st_dtype_name(vi->dtype) : "unknown");
    if (vi->rank < 0) {
        cJSON_AddNullToObject(o, "shape");
    } else {
        cJSON *s = cJSON_AddArrayToObject(o, "shape");
        for (int d = 0; d < vi->rank; d++) {
            if (vi->dims[d].symbol) cJSON_AddItemToArray(s, cJSON_CreateString(vi->dims[d].symbol));
            else if (vi->dims[d].value >= 0)
                cJSON_AddItemToArray(s, cJSON_CreateNumber((double)vi->dims[d].value));
            else cJSON_AddItemToArray(s, cJSON_CreateNull());
        }
    }
    return o;
}

static void human_bytes(uint64_t b, char *buf, size_t n) {
    if (b >= 1ull << 30) snprintf(buf, n, "%.2f GiB", b / (double)(1ull << 30));
    else if (b >= 1ull << 20) snprintf(buf, n, "%.2f MiB", b / (double)(1ull << 20));
    else if (b >= 1ull << 10) snprintf(buf, n, "%.1f KiB", b / 1024.0);
    else snprintf(buf, n, "%llu B", (unsigned long long)b);
}

int cmd_info(int argc, char **argv) {
    cli_args a = {argc, 1, argv, "info"};
    const char *path = NULL, *signature = NULL;
    bool json = false, values = false;
    st_shape_binding shapes[64];
    char shape_names[64][256];
    size_t n_shapes = 0;
    for (; a.i < argc; a.i++) {
        if (cli_flag(&a, "-h") || cli_flag(&a, "--help")) {
            fputs(info_help, stdout);
            return EXIT_OK;
        }
        int st = 0;
        const char *sv = NULL;
        if (cli_flag(&a, "--json")) json = true;
        else if (cli_flag(&a, "--values")) values = true;
        else if (cli_opt(&a, "--shape", &sv, &st)) {
            if (st) return st;
            if (n_shapes >= 64) return cli_usage_error("info", "too many --shape options");
            if ((st = shape_opt(sv, &shapes[n_shapes], shape_names[n_shapes]))) return st;
            n_shapes++;
        } else if (cli_opt(&a, "--signature", &signature, &st)) {
            if (st) return st;
        } else if ((st = cli_model_arg(&a, &path))) return st;
    }
    if (!path) return cli_usage_error("info", "no MODEL given");
    st_error err;
    st_model *m;
    st_load_opts lo = {.signature = signature, .shapes = shapes, .n_shapes = n_shapes};
    if (st_model_load(path, &lo, &m, &err)) return cli_fail("%s", err.msg);

    uint64_t pcount, pbytes;
    st_model_params(m, &pcount, &pbytes);
    const st_op_count *hist;
    size_t nh = st_model_op_histogram(m, &hist);
    size_t nin = st_model_n_inputs(m), nout = st_model_n_outputs(m);
    if (json) {
        cJSON *r = cJSON_CreateObject();
        cJSON_AddStringToObject(r, "path", path);
        cJSON_AddStringToObject(r, "format", st_format_name(st_model_format(m)));
        cJSON_AddStringToObject(r, "producer", st_model_producer(m));
        cJSON_AddNumberToObject(r, "ir_version", (double)st_model_ir_version(m));
        cJSON *ops = cJSON_AddArrayToObject(r, "opsets");
        for (size_t i = 0; i < st_model_n_opsets(m); i++) {
            cJSON *o = cJSON_CreateObject();
            const char *d = st_model_opset_domain(m, i);
            cJSON_AddStringToObject(o, "domain", d[0] ? d : "ai.onnx");
            cJSON_AddNumberToObject(o, "version", (double)st_model_opset_version(m, i));
            cJSON_AddItemToArray(ops, o);
        }
        if (st_model_n_signatures(m)) {
            cJSON *js = cJSON_AddArrayToObject(r, "signatures");
            for (size_t i = 0; i < st_model_n_signatures(m); i++)
                cJSON_AddItemToArray(js, cJSON_CreateString(st_model_signature(m, i, NULL)));
        }
        cJSON *ji = cJSON_AddArrayToObject(r, "inputs"), *jo = cJSON_AddArrayToObject(r, "outputs");
        for (size_t i = 0; i < nin; i++) {
            st_value_info vi;
            st_model_input(m, i, &vi);
            cJSON_AddItemToArray(ji, value_json(&vi));
        }
        for (size_t i = 0; i < nout; i++) {
            st_value_info vi;
            st_model_output(m, i, &vi);
            cJSON_AddItemToArray(jo, value_json(&vi));
        }
        cJSON *jh = cJSON_AddObjectToObject(r, "op_histogram");
        for (size_t i = 0; i < nh; i++) {
            char key[512];
            snprintf(key, sizeof key, "%s%s%s", hist[i].domain[0] ? hist[i].domain : "",
                     hist[i].domain[0] ? "::" : "", hist[i].op_type);
            cJSON_AddNumberToObject(jh, key, (double)hist[i].count);
        }
        cJSON_AddItemToObject(r, "values", values_json(m));
        cJSON_AddNumberToObject(r, "nodes", (double)st_model_n_nodes(m));
        cJSON_AddNumberToObject(r, "parameters", (double)pcount);
        cJSON_AddNumberToObject(r, "parameter_bytes", (double)pbytes);
        char *txt = cJSON_Print(r);
        if (txt) puts(txt);
        cJSON_free(txt);
        cJSON_Delete(r);
    } else {
        char buf[1024];
        printf("%s\n", path);
        const char *prod = st_model_producer(m);
        printf("  format      %s (IR version %lld)\n", st_format_name(st_model_format(m)),
               (long long)st_model_ir_version(m));
        printf("  producer    %s\n", prod[0] ? prod : "(not recorded)");
        printf("  opsets     ");
        for (size_t i = 0; i < st_model_n_opsets(m); i++) {
            const char *d = st_model_opset_domain(m, i);
            printf(" %s %lld%s", d[0] ? d : "ai.onnx", (long long)st_model_opset_version(m, i),
                   i + 1 < st_model_n_opsets(m) ? "," : "");
        }
        if (st_model_n_signatures(m)) printf("\n  signatures ");
        for (size_t i = 0; i < st_model_n_signatures(m); i++) {
            bool sel;
            const char *sn = st_model_signature(m, i, &sel);
            printf(" %s%s%s", sn, sel ? " (loaded)" : "",
                   i + 1 < st_model_n_signatures(m) ? "," : "");
        }
        printf("\n  inputs (%zu)\n", nin);
        for (size_t i = 0; i < nin; i++) {
            st_value_info vi;
            st_model_input(m, i, &vi);
            cli_type_str(&vi, buf, sizeof buf);
            printf("    %-24s %s\n", vi.name, buf);
        }
        printf("  outputs (%zu)\n", nout);
        for (size_t i = 0; i < nout; i++) {
            st_value_info vi;
            st_model_output(m, i, &vi);
            cli_type_str(&vi, buf, sizeof buf);
            printf("    %-24s %s\n", vi.name, buf);
        }
        printf("  operators (%zu nodes, %zu kinds)\n", st_model_n_nodes(m), nh);
        for (size_t i = 0; i < nh; i++) {
            snprintf(buf, sizeof buf, "%s%s%s", hist[i].domain[0] ? hist[i].domain : "",
                     hist[i].domain[0] ? "::" : "", hist[i].op_type);
            printf("    %-24s %zu\n", buf, hist[i].count);
        }
        human_bytes(pbytes, buf, sizeof buf);
        printf("  parameters  %llu (%s)\n", (unsigned long long)pcount, buf);
        if (values) print_values(m);
    }
    st_model_free(m);
    return EXIT_OK;
}
