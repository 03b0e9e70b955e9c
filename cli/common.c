/* cli/common.c: option parsing, input gathering and small formatting helpers shared by the
 * subcommands. Random inputs are reproducible: the same --seed gives the same bytes. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

int cli_fail(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("stele: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return EXIT_BAD;
}

int cli_usage_error(const char *cmd, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "stele %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, " (see 'stele %s --help')\n", cmd);
    va_end(ap);
    return EXIT_BAD;
}

bool cli_opt(cli_args *a, const char *name, const char **value, int *status) {
    const char *arg = a->argv[a->i];
    size_t n = strlen(name);
    if (strncmp(arg, name, n)) return false;
    if (arg[n] == '=') {
        *value = arg + n + 1;
        return true;
    }
    if (arg[n]) return false;
    if (a->i + 1 >= a->argc) {
        *status = cli_usage_error(a->cmd, "%s needs a value", name);
        *value = NULL;
        return true;
    }
    *value = a->argv[++a->i];
    return true;
}

bool cli_flag(cli_args *a, const char *name) { return !strcmp(a->argv[a->i], name); }

int cli_model_arg(cli_args *a, const char **model_path) {
    const char *arg = a->argv[a->i];
    if (arg[0] == '-' && arg[1]) return cli_usage_error(a->cmd, "unknown option '%s'", arg);
    if (*model_path) return cli_usage_error(a->cmd, "unexpected argument '%s'", arg);
    *model_path = arg;
    return 0;
}

bool cli_parse_int(const char *s, long long min, long long max, long long *out) {
    if (!s || !*s) return false;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end || v < min || v > max) return false;
    *out = v;
    return true;
}

bool cli_tol_opt(cli_args *a, double *atol, double *rtol, int *status) {
    const char *v;
    double *tol = NULL;
    if (cli_opt(a, "--atol", &v, status)) tol = atol;
    else if (cli_opt(a, "--rtol", &v, status)) tol = rtol;
    if (!tol) return false;
    char *end;
    double x = v ? strtod(v, &end) : 0;
    if (v && (end == v || *end || !(x >= 0)))
        *status = cli_usage_error(a->cmd, "--atol and --rtol take a non-negative number");
    else if (v) *tol = x;
    return true;
}

bool cli_report_opt(cli_args *a, st_profile_report_opts *ro, int *status) {
    const char *v;
    long long top;
    if (cli_opt(a, "--top", &v, status)) {
        if (!v) return true;
        if (cli_parse_int(v, 0, 100000000, &top)) ro->top = (int)top;
        else *status = cli_usage_error(a->cmd, "--top takes a non-negative integer");
    } else if (cli_opt(a, "--group-by", &v, status)) {
        if (!v) return true;
        if (!strcmp(v, "node")) ro->group_by = ST_PROFILE_BY_NODE;
        else if (!strcmp(v, "op")) ro->group_by = ST_PROFILE_BY_OP;
        else *status = cli_usage_error(a->cmd, "--group-by takes node or op");
    } else if (cli_flag(a, "--json")) {
        ro->json = true;
    } else {
        return false;
    }
    return true;
}

void cli_inputs_free(cli_inputs *in) {
    for (int i = 0; i < in->n_files; i++) free((char *)in->file_names[i]);
    for (int i = 0; i < in->n_shapes; i++) free((char *)in->shape_names[i]);
    in->n_files = in->n_shapes = 0;
}

int cli_session_open(const char *model_path, const char *signature, int threads,
                     const cli_inputs *in, cli_session *cs) {
    st_error err;
    memset(cs, 0, sizeof *cs);
    st_load_opts lo = {.signature = signature};
    if (st_model_load(model_path, &lo, &cs->m, &err)) return cli_fail("%s", err.msg);
    st_session_opts so = st_session_opts_default();
    so.threads = threads;
    if (st_session_new(cs->m, &so, &cs->s, &err)) return cli_fail("%s: %s", model_path, err.msg);
    cs->n_out = st_session_n_outputs(cs->s);
    return cli_inputs_build(cs->m, model_path, in, &cs->ins, &cs->names, &cs->n_in);
}

void cli_session_close(cli_session *cs) {
    st_values_free(cs->ins, cs->n_in);
    free(cs->names);
    st_session_free(cs->s);
    st_model_free(cs->m);
    memset(cs, 0, sizeof *cs);
}

bool cli_inputs_opt(cli_args *a, cli_inputs *in, int *status) {
    const char *v;
    if (cli_opt(a, "--input", &v, status) || cli_opt(a, "-i", &v, status)) {
        if (!v) return true;
        if (in->n_files >= 256) {
            *status = cli_usage_error(a->cmd, "too many --input options");
            return true;
        }
        const char *eq = strchr(v, '=');
        /* NAME=PATH, unless the part before '=' looks like a path */
        if (eq && eq != v && !memchr(v, '/', (size_t)(eq - v))) {
            char *name = strndup(v, (size_t)(eq - v));
            in->file_names[in->n_files] = name;
            in->file_paths[in->n_files++] = eq + 1;
        } else {
            in->file_names[in->n_files] = NULL;
            in->file_paths[in->n_files++] = v;
        }
        return true;
    }
    if (cli_opt(a, "--shape", &v, status)) {
        if (!v) return true;
        const char *eq = strchr(v, '=');
        if (!eq || eq == v || in->n_shapes >= 256) {
            *status = cli_usage_error(a->cmd, "--shape takes NAME=DIMxDIMx... (got '%s')", v);
            return true;
        }
        in->shape_names[in->n_shapes] = strndup(v, (size_t)(eq - v));
        in->shape_specs[in->n_shapes++] = eq + 1;
        return true;
    }
    if (cli_opt(a, "--seed", &v, status)) {
        long long s;
        if (v && !cli_parse_int(v, 0, INT64_MAX, &s)) {
            *status = cli_usage_error(a->cmd, "--seed takes a non-negative integer");
            return true;
        }
        if (v) in->seed = (unsigned long long)s;
        return true;
    }
    return false;
}

/* splitmix64: small, seedable, good enough for test inputs */
static uint64_t next_rand(uint64_t *s) {
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static double rand_unit(uint64_t *s) { return (double)(next_rand(s) >> 11) / 9007199254740992.0; }

int cli_parse_dims(const char *spec, int64_t *dims, int *ndim) {
    int n = 0;
    if (!strcmp(spec, "") || !strcmp(spec, "scalar")) {
        *ndim = 0;
        return 0;
    }
    const char *p = spec;
    while (*p) {
        char *end;
        errno = 0;
        long long v = strtoll(p, &end, 10);
        if (end == p || errno || v < 0 || n >= ST_MAX_RANK) return -1;
        dims[n++] = v;
        p = end;
        if (*p == 'x' || *p == 'X' || *p == ',') p++;
        else if (*p) return -1;
    }
    *ndim = n;
    return 0;
}

/* Integers are drawn from [0, ibound) (0: [0, 10)), capped to what the type holds. */
static int fill_random(st_tensor *t, uint64_t *rng, int64_t ibound, st_error *err) {
    size_t n = st_tensor_nelem(t);
    double ib = ibound > 0 ? (double)ibound : 10;
    size_t esz = st_dtype_size(t->dtype);
    if (esz && esz < 4 && ib > (double)(1u << (8 * esz - 1))) ib = (double)(1u << (8 * esz - 1));
    for (size_t i = 0; i < n; i++) {
        double u = rand_unit(rng);
        switch (t->dtype) {
        case ST_DTYPE_F32: ((float *)t->data)[i] = (float)(u * 2 - 1); break;
        case ST_DTYPE_F64: ((double *)t->data)[i] = u * 2 - 1; break;
        case ST_DTYPE_F16: {
            /* float16 via a float32 bit pattern: inputs in [-1, 1) */
            float f = (float)(u * 2 - 1);
            union {
                float f;
                uint32_t u;
            } c = {.f = f};
            uint32_t x = c.u, sign = (x >> 16) & 0x8000, exp = (x >> 23) & 0xff, man = x & 0x7fffff;
            uint16_t h = (uint16_t)(exp < 113 ? sign : sign | ((exp - 112) << 10) | (man >> 13));
            ((uint16_t *)t->data)[i] = h;
            break;
        }
        case ST_DTYPE_BF16: {
            float f = (float)(u * 2 - 1);
            union {
                float f;
                uint32_t u;
            } c = {.f = f};
            ((uint16_t *)t->data)[i] = (uint16_t)(c.u >> 16);
            break;
        }
        case ST_DTYPE_BOOL: ((uint8_t *)t->data)[i] = u < 0.5; break;
        case ST_DTYPE_I8: ((int8_t *)t->data)[i] = (int8_t)(u * ib); break;
        case ST_DTYPE_U8: ((uint8_t *)t->data)[i] = (uint8_t)(u * ib); break;
        case ST_DTYPE_I16: ((int16_t *)t->data)[i] = (int16_t)(u * ib); break;
        case ST_DTYPE_U16: ((uint16_t *)t->data)[i] = (uint16_t)(u * ib); break;
        case ST_DTYPE_I32: ((int32_t *)t->data)[i] = (int32_t)(u * ib); break;
        case ST_DTYPE_U32: ((uint32_t *)t->data)[i] = (uint32_t)(u * ib); break;
        case ST_DTYPE_I64: ((int64_t *)t->data)[i] = (int64_t)(u * ib); break;
        case ST_DTYPE_U64: ((uint64_t *)t->data)[i] = (uint64_t)(u * ib); break;
        case ST_DTYPE_C64:
            ((float *)t->data)[2 * i] = (float)u;
            ((float *)t->data)[2 * i + 1] = 0;
            break;
        case ST_DTYPE_C128:
            ((double *)t->data)[2 * i] = u;
            ((double *)t->data)[2 * i + 1] = 0;
            break;
        case ST_DTYPE_STRING: {
            char s[16];
            int len = snprintf(s, sizeof s, "s%u", (unsigned)(u * 1000));
            if (st_tensor_set_string(t, i, s, (size_t)len, err)) return -1;
            break;
        }
        default: break;
        }
    }
    return 0;
}

int cli_inputs_build(const st_model *m, const char *model_path, const cli_inputs *in,
                     st_value **values_out, const char ***names_out, size_t *n_out) {
    size_t n = st_model_n_inputs(m);
    st_value *vals = calloc(n ? n : 1, sizeof *vals);
    const char **names = calloc(n ? n : 1, sizeof *names);
    bool *given = calloc(n ? n : 1, sizeof *given);
    st_error err;
    int rc = EXIT_OK;
    uint64_t rng = in->seed;
    if (!vals || !names || !given) {
        rc = cli_fail("out of memory");
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        st_value_info vi;
        st_model_input(m, i, &vi);
        names[i] = vi.name;
    }
    /* files: named ones first, then positional ones fill the remaining inputs in order */
    for (int f = 0; f < in->n_files; f++) {
        size_t slot = n;
        if (in->file_names[f]) {
            for (slot = 0; slot < n; slot++)
                if (!strcmp(names[slot], in->file_names[f])) break;
            if (slot == n) {
                rc = cli_fail("%s: the model has no input named '%s'", model_path,
                              in->file_names[f]);
                goto done;
            }
        } else {
            for (slot = 0; slot < n && given[slot]; slot++) {
            }
            if (slot == n) {
                rc = cli_fail("%s: more --input files than model inputs (%zu)", in->file_paths[f],
                              n);
                goto done;
            }
        }
        if (given[slot]) {
            rc = cli_fail("input '%s' is given twice", names[slot]);
            goto done;
        }
        st_value_info vi;
        st_model_input(m, slot, &vi);
        if (st_value_read(in->file_paths[f], &vi, &vals[slot], NULL, &err)) {
            rc = cli_fail("%s", err.msg);
            goto done;
        }
        given[slot] = true;
    }
    for (int s = 0; s < in->n_shapes; s++) {
        bool found = false;
        for (size_t i = 0; i < n; i++) found |= !strcmp(names[i], in->shape_names[s]);
        if (!found) {
            rc = cli_fail("%s: --shape names '%s', which is not a model input", model_path,
                          in->shape_names[s]);
            goto done;
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (given[i]) continue;
        st_value_info vi;
        st_model_input(m, i, &vi);
        if (vi.kind == ST_VAL_SEQUENCE) {
            vals[i].kind = ST_VAL_SEQUENCE; /* an empty sequence */
            vals[i].elem_dtype = vi.dtype;
            continue;
        }
        if (vi.optional && vi.kind == ST_VAL_NONE) {
            vals[i].optional = true;
            continue;
        }
        int64_t dims[ST_MAX_RANK];
        int ndim = vi.rank < 0 ? 0 : vi.rank;
        const char *spec = NULL;
        for (int s = 0; s < in->n_shapes; s++)
            if (!strcmp(in->shape_names[s], vi.name)) spec = in->shape_specs[s];
        if (spec) {
            if (cli_parse_dims(spec, dims, &ndim)) {
                rc = cli_fail("--shape %s=%s: expected dimensions like 1x3x224x224", vi.name, spec);
                goto done;
            }
        } else {
            if (vi.rank < 0) {
                rc = cli_fail(
                    "%s: input '%s' has unknown rank: give its shape with --shape %s=DIMxDIM...",
                    model_path, vi.name, vi.name);
                goto done;
            }
            if (ndim > ST_MAX_RANK) {
                rc = cli_fail("%s: input '%s' has rank %d, more than %d", model_path, vi.name, ndim,
                              ST_MAX_RANK);
                goto done;
            }
            for (int d = 0; d < ndim; d++) {
                dims[d] = vi.dims[d].value >= 0 ? vi.dims[d].value : 1;
                /* --shape may also bind a symbolic dimension by name */
                for (int s = 0; vi.dims[d].symbol && s < in->n_shapes; s++)
                    if (!strcmp(in->shape_names[s], vi.dims[d].symbol)) {
                        long long x;
                        if (cli_parse_int(in->shape_specs[s], 0, INT64_MAX, &x)) dims[d] = x;
                    }
            }
        }
        st_dtype dt = vi.dtype ? vi.dtype : ST_DTYPE_F32;
        if (st_tensor_alloc(&vals[i].tensor, dt, ndim, dims, &err)) {
            rc = cli_fail("%s: input '%s': %s", model_path, vi.name, err.msg);
            goto done;
        }
        vals[i].kind = ST_VAL_TENSOR;
        vals[i].optional = vi.optional;
        int64_t ibound = 0; /* integer inputs used as indices stay below the indexed size */
        if (!st_model_input_index_bound(m, i, &ibound)) ibound = 0;
        if (fill_random(&vals[i].tensor, &rng, ibound, &err)) {
            rc = cli_fail("%s", err.msg);
            goto done;
        }
    }
done:
    free(given);
    if (rc) {
        st_values_free(NULL, 0);
        if (vals)
            for (size_t i = 0; i < n; i++) st_value_clear(&vals[i]);
        free(vals);
        free(names);
        return rc;
    }
    *values_out = vals;
    *names_out = names;
    *n_out = n;
    return EXIT_OK;
}

void cli_type_str(const st_value_info *vi, char *buf, size_t n) {
    int off = 0;
    const char *dt = vi->dtype ? st_dtype_name(vi->dtype) : "?";
    if (vi->kind == ST_VAL_SEQUENCE) off = snprintf(buf, n, "sequence<%s>", dt);
    else off = snprintf(buf, n, "%s", dt);
    if (vi->kind != ST_VAL_SEQUENCE) {
        if (vi->rank < 0) {
            off += snprintf(buf + off, n - (size_t)off, "[?]");
        } else {
            off += snprintf(buf + off, n - (size_t)off, "[");
            for (int d = 0; d < vi->rank && (size_t)off < n; d++) {
                if (vi->dims[d].symbol)
                    off += snprintf(buf + off, n - (size_t)off, "%s%s", d ? "," : "",
                                    vi->dims[d].symbol);
                else if (vi->dims[d].value >= 0)
                    off += snprintf(buf + off, n - (size_t)off, "%s%lld", d ? "," : "",
                                    (long long)vi->dims[d].value);
                else off += snprintf(buf + off, n - (size_t)off, "%s?", d ? "," : "");
            }
            if ((size_t)off < n) snprintf(buf + off, n - (size_t)off, "]");
        }
    }
    if (vi->optional && (size_t)off < n) {
        char tmp[256];
        snprintf(tmp, sizeof tmp, "optional<%s>", buf);
        snprintf(buf, n, "%s", tmp);
    }
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

double cli_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

cli_latency cli_latency_stats(double *ms, int n) {
    cli_latency l = {0, 0, 0, 0, 0};
    if (n <= 0) return l;
    qsort(ms, (size_t)n, sizeof *ms, cmp_double);
    double sum = 0;
    for (int i = 0; i < n; i++) sum += ms[i];
    l.min = ms[0];
    l.max = ms[n - 1];
    l.mean = sum / n;
    l.median = n % 2 ? ms[n / 2] : (ms[n / 2 - 1] + ms[n / 2]) / 2;
    /* p90 by linear interpolation between closest ranks */
    double r = 0.9 * (n - 1);
    int lo = (int)floor(r);
    int hi = lo + 1 < n ? lo + 1 : lo;
    l.p90 = ms[lo] + (ms[hi] - ms[lo]) * (r - lo);
    return l;
}

void cli_safe_name(const char *name, char *out, size_t n, char **taken, int n_taken) {
    size_t j = 0;
    for (size_t i = 0; name[i] && j + 8 < n; i++) {
        unsigned char c = (unsigned char)name[i];
        bool keep = isalnum(c) || c == '_' || c == '-' || (c == '.' && j > 0);
        out[j++] = (char)(keep ? c : '_');
    }
    if (j == 0) out[j++] = '_';
    out[j] = 0;
    char base[512];
    snprintf(base, sizeof base, "%s", out);
    for (int k = 1;; k++) {
        bool clash = false;
        for (int t = 0; t < n_taken; t++) clash |= !strcasecmp(taken[t], out);
        if (!clash) break;
        snprintf(out, n, "%s_%d", base, k);
    }
}
