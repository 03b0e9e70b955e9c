/* cli/cmd_compare.c: `stele compare A B` — run two models on the same inputs (or one model
 * against reference data, or against onnxruntime) and report how far their outputs and,
 * with --per-node, their intermediates differ. Exit 0 within tolerance, 1 outside, 2 error. */
#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "compare.h"

static const char compare_help[] =
    "usage: stele compare A B [B2 ...] [options]\n"
    "       stele compare A --against onnxruntime [options]\n\n"
    "Run model A and compare its outputs with B, which is one of:\n"
    "  - another model of any format stele reads (both run on the same inputs),\n"
    "  - an ONNX test_data_set_N/ directory (its input_N.pb feed A unless --input is given;\n"
    "    its output_N.pb are the expected outputs),\n"
    "  - .npy files (one per output, in output order, or NAME=FILE.npy) or one .npz archive\n"
    "    (arrays named like A's outputs, else taken in order).\n"
    "Inputs not given as files are seeded random data of the declared type and shape;\n"
    "integer inputs used as indices stay below the size they index.\n\n"
    "Per output it reports max absolute / relative and mean absolute error, the count and\n"
    "share of elements outside tolerance (|a - b| > atol + rtol * |b|), the worst element\n"
    "with both values, cosine similarity, NaN/Inf mismatches, and dtype/shape mismatches.\n\n"
    "options:\n"
    "  --input [NAME=]PATH    an input file for A (.npy or ONNX .pb; repeatable)\n"
    "  --shape NAME=AxBxC     shape of a random input, or SYMBOL=N (repeatable)\n"
    "  --seed N               seed for random inputs (default 0)\n"
    "  --atol X               absolute tolerance (default 1e-4)\n"
    "  --rtol Y               relative tolerance (default 1e-3)\n"
    "  --per-node             also compare every intermediate (B must be a model): report the\n"
    "                         first node beyond tolerance and the error's growth from there\n"
    "                         to the output\n"
    "  --against onnxruntime  run B (or A when no B is given) with onnxruntime through the\n"
    "                         Node.js peer (tests/peers/ort_run.js; override with\n"
    "                         STELE_ORT_RUN=/path/to/ort_run.js)\n"
    "  --threads N            stele worker threads (default: all cores)\n"
    "  --json                 print one JSON object instead of text\n"
    "  --report FILE.html     also write a self-contained HTML report\n"
    "  -h, --help             show this help\n\n"
    "exit status: 0 within tolerance, 1 outside tolerance (or mismatched types/shapes),\n"
    "2 bad usage or an error\n";

static bool has_ext(const char *path, const char *ext) {
    size_t n = strlen(path), e = strlen(ext);
    return n >= e && !strcasecmp(path + n - e, ext);
}

static bool is_dir(const char *path) {
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
}

static bool file_exists(const char *path) {
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
}

/* Count PREFIX<k>.pb files 0..k-1 present in dir. */
static int count_numbered(const char *dir, const char *prefix) {
    int k = 0;
    for (;; k++) {
        char p[4096];
        snprintf(p, sizeof p, "%s/%s%d.pb", dir, prefix, k);
        if (!file_exists(p)) return k;
    }
}

static int side_alloc(cmp_side *sd, size_t n) {
    sd->n = n;
    sd->names = calloc(n ? n : 1, sizeof *sd->names);
    sd->vals = calloc(n ? n : 1, sizeof *sd->vals);
    if (!sd->names || !sd->vals) return cli_fail("out of memory");
    return EXIT_OK;
}

/* Expected outputs of an ONNX test_data_set directory. */
static int load_test_data_outputs(const st_model *a, const char *dir, cmp_side *b) {
    int n = count_numbered(dir, "output_");
    if (n == 0) return cli_fail("%s: no output_0.pb: not a test_data_set directory", dir);
    if (side_alloc(b, (size_t)n)) return EXIT_BAD;
    for (int k = 0; k < n; k++) {
        char p[4096];
        snprintf(p, sizeof p, "%s/output_%d.pb", dir, k);
        st_value_info vi;
        st_model_output(a, (size_t)k, &vi);
        char *name = NULL;
        st_error err;
        if (st_value_read(p, (size_t)k < st_model_n_outputs(a) ? &vi : NULL, &b->vals[k], &name,
                          &err))
            return cli_fail("%s", err.msg);
        const char *nm = name && *name ? name : (size_t)k < st_model_n_outputs(a) ? vi.name : "";
        b->names[k] = strdup(nm);
        st_string_free(name);
    }
    return EXIT_OK;
}

/* Expected outputs from .npy files (NAME=PATH or positional) or one .npz archive. */
static int load_array_outputs(const st_model *a, char **refs, int nrefs, cmp_side *b) {
    st_error err;
    if (nrefs == 1 && has_ext(refs[0], ".npz")) {
        size_t n;
        char **names;
        st_value *vals;
        if (st_npz_read_values(refs[0], &n, &names, &vals, &err)) return cli_fail("%s", err.msg);
        b->n = n;
        b->vals = vals;
        b->names = calloc(n ? n : 1, sizeof *b->names);
        for (size_t i = 0; b->names && i < n; i++) b->names[i] = strdup(names[i]);
        st_strings_free(names, n);
        if (!b->names) return cli_fail("out of memory");
        return EXIT_OK;
    }
    if (side_alloc(b, (size_t)nrefs)) return EXIT_BAD;
    for (int k = 0; k < nrefs; k++) {
        const char *path = refs[k], *eq = strchr(refs[k], '=');
        char *name = NULL;
        if (eq && eq != refs[k] && !memchr(refs[k], '/', (size_t)(eq - refs[k]))) {
            name = strndup(refs[k], (size_t)(eq - refs[k]));
            path = eq + 1;
        } else {
            st_value_info vi;
            st_model_output(a, (size_t)k, &vi);
            name = strdup((size_t)k < st_model_n_outputs(a) ? vi.name : "");
        }
        b->names[k] = name;
        if (!has_ext(path, ".npy") && !has_ext(path, ".pb"))
            return cli_fail(
                "%s: reference data must be .npy, .npz, .pb or a test_data_set directory", path);
        if (st_value_read(path, NULL, &b->vals[k], NULL, &err)) return cli_fail("%s", err.msg);
    }
    return EXIT_OK;
}

/* ---- onnxruntime through the Node.js peer ------------------------------------------ */

static const char *ort_script(char *buf, size_t n) {
    const char *env = getenv("STELE_ORT_RUN");
    if (env && *env) return env;
#ifdef STELE_SOURCE_DIR
    snprintf(buf, n, "%s/tests/peers/ort_run.js", STELE_SOURCE_DIR);
    return buf;
#else
    (void)buf;
    (void)n;
    return NULL;
#endif
}

static void remove_tree(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        char p[4096];
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        unlink(p);
    }
    closedir(d);
    rmdir(dir);
}

static int run_ort(const char *model, size_t n_in, const char *const *names, const st_value *ins,
                   cmp_side *out) {
    char sbuf[4096], tmp[] = "/tmp/stele-compare-XXXXXX";
    const char *script = ort_script(sbuf, sizeof sbuf);
    if (!script || !file_exists(script))
        return cli_fail("--against onnxruntime: the peer script is missing (%s); set STELE_ORT_RUN",
                        script ? script : "tests/peers/ort_run.js");
    if (st_format_detect(model) != ST_FORMAT_ONNX)
        return cli_fail("--against onnxruntime: %s is not an ONNX model", model);
    if (!mkdtemp(tmp)) return cli_fail("cannot create a temporary directory: %s", strerror(errno));
    int rc = EXIT_OK;
    char **argv = calloc(n_in + 5, sizeof *argv);
    char *outbuf = NULL;
    size_t outlen = 0, outcap = 0;
    cJSON *listing = NULL;
    if (!argv) {
        rc = cli_fail("out of memory");
        goto done;
    }
    char outdir[64];
    snprintf(outdir, sizeof outdir, "%s/out", tmp);
    argv[0] = "node";
    argv[1] = (char *)script;
    argv[2] = (char *)model;
    argv[3] = outdir;
    size_t na = 4;
    for (size_t i = 0; i < n_in; i++) {
        if (ins[i].kind != ST_VAL_TENSOR) {
            rc = cli_fail(
                "--against onnxruntime: input '%s' is not a tensor (the peer takes .npy tensors)",
                names[i]);
            goto done;
        }
        char p[128];
        snprintf(p, sizeof p, "%s/in_%zu.npy", tmp, i);
        st_error err;
        if (st_tensor_write_npy(p, &ins[i].tensor, &err)) {
            rc = cli_fail("%s", err.msg);
            goto done;
        }
        size_t len = strlen(names[i]) + strlen(p) + 2;
        argv[na] = malloc(len);
        if (!argv[na]) {
            rc = cli_fail("out of memory");
            goto done;
        }
        snprintf(argv[na++], len, "%s=%s", names[i], p);
    }
    int fds[2];
    if (pipe(fds) != 0) {
        rc = cli_fail("pipe: %s", strerror(errno));
        goto done;
    }
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        rc = cli_fail("fork: %s", strerror(errno));
        goto done;
    }
    if (pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        execvp("node", argv);
        fprintf(stderr, "stele: --against onnxruntime: cannot run node: %s\n", strerror(errno));
        _exit(127);
    }
    close(fds[1]);
    for (;;) {
        if (outlen + 4096 + 1 > outcap) {
            size_t nc = outcap ? outcap * 2 : 16384;
            char *nb = realloc(outbuf, nc);
            if (!nb) break;
            outbuf = nb;
            outcap = nc;
        }
        ssize_t r = read(fds[0], outbuf + outlen, outcap - outlen - 1);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        outlen += (size_t)r;
    }
    close(fds[0]);
    int wst = 0;
    while (waitpid(pid, &wst, 0) < 0 && errno == EINTR) {
    }
    if (!WIFEXITED(wst) || WEXITSTATUS(wst) != 0 || !outbuf) {
        rc = cli_fail("onnxruntime could not run %s (exit %d)", model,
                      WIFEXITED(wst) ? WEXITSTATUS(wst) : -1);
        goto done;
    }
    outbuf[outlen] = 0;
    /* the listing is the last line */
    char *last = outbuf;
    for (char *p = outbuf; *p; p++)
        if (*p == '\n' && p[1]) last = p + 1;
    listing = cJSON_Parse(last);
    if (!cJSON_IsArray(listing)) {
        rc = cli_fail("onnxruntime peer: unexpected output");
        goto done;
    }
    size_t n = (size_t)cJSON_GetArraySize(listing);
    if ((rc = side_alloc(out, n))) goto done;
    for (size_t i = 0; i < n; i++) {
        cJSON *o = cJSON_GetArrayItem(listing, (int)i);
        const char *name = cJSON_GetStringValue(cJSON_GetObjectItem(o, "name"));
        const char *path = cJSON_GetStringValue(cJSON_GetObjectItem(o, "path"));
        out->names[i] = strdup(name ? name : "");
        st_error err;
        if (!path || st_value_read(path, NULL, &out->vals[i], NULL, &err)) {
            rc = cli_fail("onnxruntime peer: %s", path ? err.msg : "output without a path");
            goto done;
        }
    }
done:
    cJSON_Delete(listing);
    free(outbuf);
    if (argv)
        for (size_t i = 4; i < n_in + 4; i++) free(argv[i]);
    free(argv);
    remove_tree(outdir);
    remove_tree(tmp);
    return rc;
}

/* ---- text output ------------------------------------------------------------------- */

static void print_pair(const cmp_pair *p, const char *indent) {
    char b1[32], b2[32], b3[32], b4[32];
    const st_compare_stats *s = &p->st;
    printf("%s%s", indent, p->name[0] ? p->name : p->ref_name);
    if (p->ref_name[0] && p->name[0] && strcmp(p->name, p->ref_name))
        printf(" <-> %s", p->ref_name);
    printf(": %s", p->ok ? "ok" : "MISMATCH");
    if (p->missing) {
        printf(" (%s)\n", p->note);
        return;
    }
    if (s->dtype_mismatch || s->shape_mismatch)
        printf(" (%s %s vs %s)",
               s->dtype_mismatch && s->shape_mismatch ? "dtype and shape differ"
               : s->dtype_mismatch                    ? "dtype differs"
                                                      : "shape differs",
               p->a_desc, p->b_desc);
    else printf(" %s", p->a_desc);
    putchar('\n');
    if (s->shape_mismatch) return;
    printf("%s  max abs %s  max rel %s  mean abs %s  cosine %.9g\n", indent,
           cmp_num(s->max_abs, b1, sizeof b1), cmp_num(s->max_rel, b2, sizeof b2),
           cmp_num(s->mean_abs, b3, sizeof b3), s->cosine);
    printf("%s  outside tolerance %zu of %zu (%.3g%%)", indent, s->n_outside, s->n,
           s->n ? 100.0 * (double)s->n_outside / (double)s->n : 0.0);
    if (s->nan_mismatch || s->inf_mismatch)
        printf("  NaN mismatches %zu  Inf mismatches %zu", s->nan_mismatch, s->inf_mismatch);
    putchar('\n');
    if (s->n)
        printf("%s  worst element %s: %s vs %s\n", indent, p->worst_at,
               cmp_num(s->worst_a, b1, sizeof b1), cmp_num(s->worst_b, b4, sizeof b4));
}

static void print_pernode(const cmp_pernode *pn) {
    char b1[32], b2[32], b3[32];
    printf("\nper node: %zu nodes in A, %zu matched by name, %zu by structure, %zu unmatched\n",
           pn->n, pn->by_name, pn->by_structure, pn->unmatched);
    if (pn->first < 0) {
        printf("every matched intermediate is within tolerance\n");
        return;
    }
    const cmp_node_row *fr = &pn->rows[pn->first];
    const cmp_pair *fp = &fr->pair;
    char why[600];
    if (fp->missing) snprintf(why, sizeof why, "%s", fp->note);
    else if (fp->st.shape_mismatch || fp->st.dtype_mismatch)
        snprintf(why, sizeof why, "%s vs %s", fp->a_desc, fp->b_desc);
    else
        snprintf(why, sizeof why, "max abs %s, %zu of %zu elements outside tolerance",
                 cmp_num(fp->st.max_abs, b1, sizeof b1), fp->st.n_outside, fp->st.n);
    printf("first node beyond tolerance: \"%s\" (%s), output \"%s\": %s\n",
           fr->node[0] ? fr->node : fr->output, fr->op_type, fr->output, why);
    printf("error growth along the path to %s%s%s:\n", pn->path_output ? "output \"" : "",
           pn->path_output ? pn->path_output : "the output", pn->path_output ? "\"" : "");
    printf("  %-3s %-28s %-16s %-11s %-11s %-11s %-9s %s\n", "#", "node", "op", "max abs",
           "max rel", "outside %", "growth", "");
    double prev = 0;
    for (size_t i = 0; i < pn->n_path; i++) {
        const cmp_node_row *row = &pn->rows[pn->path[i]];
        char growth[32] = "";
        if (i > 0 && prev > 0 && row->matched)
            snprintf(growth, sizeof growth, "x%.3g", row->pair.st.max_abs / prev);
        if (row->matched) prev = row->pair.st.max_abs;
        const st_compare_stats *s = &row->pair.st;
        char pct[32];
        snprintf(pct, sizeof pct, "%.3g", s->n ? 100.0 * (double)s->n_outside / (double)s->n : 0.0);
        printf("  %-3zu %-28.28s %-16.16s %-11s %-11s %-11s %-9s %s\n", i + 1,
               row->node[0] ? row->node : row->output, row->op_type,
               row->matched ? cmp_num(s->max_abs, b1, sizeof b1) : "-",
               row->matched ? cmp_num(s->max_rel, b2, sizeof b2) : "-", row->matched ? pct : "-",
               growth,
               !row->matched  ? "(unmatched)"
               : row->pair.ok ? ""
                              : "beyond tolerance");
    }
    (void)b3;
}

static void print_text(const cmp_report *rep) {
    const cmp_result *res = rep->res;
    char b1[32], b2[32];
    printf("compare %s (%s) with %s (%s): atol %s, rtol %s, ", rep->a_path, rep->a_label,
           rep->b_path, rep->b_label, cmp_num(rep->atol, b1, sizeof b1),
           cmp_num(rep->rtol, b2, sizeof b2));
    if (rep->random_inputs) printf("seeded random inputs (seed %llu)\n", rep->seed);
    else printf("inputs from files\n");
    for (size_t i = 0; i < res->n; i++) print_pair(&res->pairs[i], "  ");
    if (rep->pn) print_pernode(rep->pn);
    size_t bad = 0;
    for (size_t i = 0; i < res->n; i++) bad += !res->pairs[i].ok;
    if (res->ok) printf("PASS: %zu output%s within tolerance\n", res->n, res->n == 1 ? "" : "s");
    else
        printf("FAIL: %zu of %zu output%s outside tolerance\n", bad, res->n,
               res->n == 1 ? "" : "s");
}

/* ---- the command ------------------------------------------------------------------- */

/* What B is: onnxruntime, a model, a test_data_set directory (*tds), or reference arrays.
 * Sets B's label; a usage error or a missing file returns its exit status. */
static int classify_b(const char *const *pos, int npos, const char *against, bool per_node,
                      cmp_side *sb, bool *b_model, const char **tds) {
    if (against) {
        sb->label = "onnxruntime";
        if (npos > 2)
            return cli_usage_error("compare", "--against onnxruntime takes at most one B model");
    } else if (npos == 2 && !has_ext(pos[1], ".npz") && !has_ext(pos[1], ".npy") &&
               !has_ext(pos[1], ".pb") && st_format_detect(pos[1]) != ST_FORMAT_UNKNOWN) {
        *b_model = true;
    } else if (npos == 2 && is_dir(pos[1])) {
        *tds = pos[1];
        sb->label = "reference";
    } else {
        sb->label = "reference";
        if (npos == 2 && !file_exists(pos[1]) && !strchr(pos[1], '='))
            return cli_fail("%s: no such file or directory", pos[1]);
    }
    if (per_node && !*b_model)
        return cli_usage_error("compare", "--per-node needs B to be a model stele runs (not "
                                          "reference data or onnxruntime)");
    return EXIT_OK;
}

/* A test_data_set's input_N.pb as A's inputs (paths malloc'd, file_names NULL). */
static int tds_inputs_add(const char *tds, cli_inputs *in) {
    int k = count_numbered(tds, "input_");
    for (int i = 0; i < k && in->n_files < 256; i++) {
        char *p = malloc(strlen(tds) + 32);
        if (!p) return cli_fail("out of memory");
        sprintf(p, "%s/input_%d.pb", tds, i);
        in->file_names[in->n_files] = NULL;
        in->file_paths[in->n_files++] = p;
    }
    if (k == 0 && count_numbered(tds, "output_") == 0)
        return cli_fail("%s: not a model and not a test_data_set directory (no input_N.pb / "
                        "output_N.pb)",
                        tds);
    return EXIT_OK;
}

int cmd_compare(int argc, char **argv) {
    cli_args a = {argc, 1, argv, "compare"};
    cli_inputs in;
    memset(&in, 0, sizeof in);
    const char *pos[258], *against = NULL, *report = NULL, *v;
    int npos = 0, status = 0;
    double atol = 1e-4, rtol = 1e-3;
    bool per_node = false, json = false;
    long long threads = 0;
    for (; a.i < argc && !status; a.i++) {
        if (cli_flag(&a, "-h") || cli_flag(&a, "--help")) {
            fputs(compare_help, stdout);
            return EXIT_OK;
        }
        if (cli_inputs_opt(&a, &in, &status)) continue;
        if (cli_tol_opt(&a, &atol, &rtol, &status)) continue;
        if (cli_opt(&a, "--against", &v, &status)) {
            against = v;
            if (v && strcmp(v, "onnxruntime") && strcmp(v, "ort"))
                status = cli_usage_error("compare", "--against takes onnxruntime, not '%s'", v);
        } else if (cli_opt(&a, "--report", &v, &status)) {
            report = v;
        } else if (cli_opt(&a, "--threads", &v, &status)) {
            if (v && !cli_parse_int(v, 1, 1024, &threads))
                status = cli_usage_error("compare", "--threads takes 1..1024");
        } else if (cli_flag(&a, "--per-node")) {
            per_node = true;
        } else if (cli_flag(&a, "--json")) {
            json = true;
        } else if (argv[a.i][0] == '-' && argv[a.i][1]) {
            status = cli_usage_error("compare", "unknown option '%s'", argv[a.i]);
        } else if (npos < 258) {
            pos[npos++] = argv[a.i];
        } else {
            status = cli_usage_error("compare", "too many arguments");
        }
    }
    if (status) goto free_opts;
    if (npos < 1 || (npos < 2 && !against)) {
        status = cli_usage_error(
            "compare", "needs A and B (a model or reference data), or A --against onnxruntime");
        goto free_opts;
    }

    cmp_side sa = {.path = pos[0], .label = "stele"},
             sb = {.path = npos > 1 ? pos[1] : pos[0], .label = "stele"};
    cmp_result res = {0, NULL, false};
    cmp_pernode pn;
    memset(&pn, 0, sizeof pn);
    st_value *ins = NULL;
    const char **names = NULL;
    size_t n_in = 0;
    int rc = EXIT_OK;
    bool b_model = false, random_inputs = false, tds_inputs = false;

    const char *tds = NULL; /* a test_data_set directory */
    if ((rc = classify_b(pos, npos, against, per_node, &sb, &b_model, &tds))) goto done;
    if ((rc = cmp_side_load(&sa, per_node, (int)threads))) goto done;
    if (tds && in.n_files == 0) {
        tds_inputs = true;
        if ((rc = tds_inputs_add(tds, &in))) goto done;
    }
    if ((rc = cli_inputs_build(sa.m, sa.path, &in, &ins, &names, &n_in))) goto done;
    random_inputs = (size_t)in.n_files < n_in;
    if ((rc = cmp_side_run(&sa, n_in, names, ins))) goto done;

    if (against) {
        if ((rc = run_ort(sb.path, n_in, names, ins, &sb))) goto done;
    } else if (b_model) {
        if ((rc = cmp_side_load(&sb, per_node, (int)threads))) goto done;
        if ((rc = cmp_side_run(&sb, n_in, names, ins))) goto done;
    } else if (tds) {
        if ((rc = load_test_data_outputs(sa.m, tds, &sb))) goto done;
    } else {
        if ((rc = load_array_outputs(sa.m, (char **)pos + 1, npos - 1, &sb))) goto done;
        if (npos > 2) sb.path = pos[1];
    }

    if ((rc = cmp_sides(&sa, &sb, atol, rtol, &res))) goto done;
    if (per_node && (rc = cmp_pernode_build(&sa, &sb, atol, rtol, &pn))) goto done;

    cmp_report rep = {sa.path, sb.path, sa.label,      sb.label, atol,
                      rtol,    in.seed, random_inputs, &res,     per_node ? &pn : NULL};
    if (json) {
        if ((rc = cmp_report_json(&rep))) goto done;
    } else {
        print_text(&rep);
    }
    if (report) {
        if ((rc = cmp_report_html(&rep, report))) goto done;
        if (!json) printf("report: %s\n", report);
    }
    rc = res.ok ? EXIT_OK : EXIT_CHECK;
done:
    cmp_pernode_free(&pn);
    cmp_result_free(&res);
    if (ins)
        for (size_t i = 0; i < n_in; i++) st_value_clear(&ins[i]);
    free(ins);
    free(names);
    /* B's session borrows nothing from A; free B first anyway (mirrors the load order) */
    cmp_side_clear(&sb);
    cmp_side_clear(&sa);
    if (tds_inputs)
        for (int i = 0; i < in.n_files; i++)
            if (!in.file_names[i]) free((char *)in.file_paths[i]);
    status = rc;
free_opts:
    for (int i = 0; i < in.n_files; i++) free((char *)in.file_names[i]);
    for (int i = 0; i < in.n_shapes; i++) free((char *)in.shape_names[i]);
    return status;
}
