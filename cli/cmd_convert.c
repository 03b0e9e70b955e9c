/* cli/cmd_convert.c: `stele convert` — read a model in one format, write it in another,
 * then verify the result: run the source and the written model on the same seeded inputs
 * and print one verdict line (exit 1 when they disagree). The source format comes from the
 * content; the target from --to or OUT's extension. */
#include <stdlib.h>
#include <string.h>

#include "compare.h"

static const char convert_help[] =
    "usage: stele convert IN OUT [--to onnx|torchscript|savedmodel] [options]\n\n"
    "Convert the model IN (format detected from its content) and write OUT. The target\n"
    "format is --to, else OUT's extension (.onnx, .pt).\n\n"
    "Then verify: OUT is read back and both models run on the same seeded inputs; one line\n"
    "gives the verdict and the max absolute/relative error of each output. When stele\n"
    "cannot read back or run a model, the line says so instead of claiming a pass.\n\n"
    "options:\n"
    "  --to FORMAT            onnx, torchscript or savedmodel\n"
    "  --signature NAME       SavedModel IN: the signature to convert (default serving_default)\n"
    "  --external-data BYTES  ONNX: store tensors of at least BYTES bytes in OUT.data\n"
    "  --opset N              ONNX: write the ai.onnx nodes at opset N (7..25); a node N\n"
    "                         cannot express (an op that did not exist at N, an attribute\n"
    "                         value it cannot state) is an error naming the node\n"
    "  --no-verify            skip the verification\n"
    "  --atol X               verification's absolute tolerance (default 1e-4)\n"
    "  --rtol Y               verification's relative tolerance (default 1e-3)\n"
    "  --input [NAME=]PATH    verify on this input (.npy or ONNX .pb; repeatable)\n"
    "  --shape NAME=AxBxC     shape of a random input, or SYMBOL=N (repeatable)\n"
    "  --seed N               seed for the random inputs (default 0)\n"
    "  -h, --help             show this help\n\n"
    "exit status: 0 converted (and verified, or not verifiable), 1 the result disagrees\n"
    "with the source, 2 bad usage or the conversion failed\n";

/* The verdict's tail: "y max abs 0 max rel 0; z ..." */
static void print_errors(const cmp_result *r) {
    char b1[32], b2[32];
    for (size_t i = 0; i < r->n; i++) {
        const cmp_pair *p = &r->pairs[i];
        printf("%s%s", i ? "; " : "", p->name[0] ? p->name : p->ref_name);
        if (p->missing) printf(" %s", p->note);
        else if (p->st.dtype_mismatch || p->st.shape_mismatch)
            printf(" %s vs %s", p->a_desc, p->b_desc);
        if (!p->missing && !p->st.shape_mismatch) {
            printf(" max abs %s max rel %s", cmp_num(p->st.max_abs, b1, sizeof b1),
                   cmp_num(p->st.max_rel, b2, sizeof b2));
            if (p->st.n_outside) printf(" (%zu of %zu outside)", p->st.n_outside, p->st.n);
        }
    }
}

/* Run src (already loaded) and the model at out on the same inputs; EXIT_OK when they
 * agree or cannot be checked (said so), EXIT_CHECK when they disagree. */
static int verify(st_model *src, const char *in_path, const char *out_path, st_format out_fmt,
                  const cli_inputs *inp, double atol, double rtol) {
    cmp_side sa = {.path = in_path, .label = "stele"}, sb = {.path = out_path, .label = "stele"};
    cmp_result res = {0, NULL, false};
    st_value *ins = NULL;
    const char **names = NULL;
    size_t n_in = 0;
    int rc = EXIT_OK;
    st_error err;
    char b1[32], b2[32];
    st_load_opts lo = {.format = out_fmt};
    st_status s = st_model_load(out_path, &lo, &sb.m, &err);
    if (s) {
        if (s == ST_ERR_UNSUPPORTED) {
            printf("verify: not verified: stele cannot read back %s models (%s)\n",
                   st_format_name(out_fmt), err.msg);
            goto done;
        }
        printf("verify: FAIL: the written model does not load: %s\n", err.msg);
        rc = EXIT_CHECK;
        goto done;
    }
    st_session_opts so = st_session_opts_default();
    if (st_session_new(src, &so, &sa.s, &err)) {
        printf("verify: not verified: stele cannot run %s (%s)\n", in_path, err.msg);
        goto done;
    }
    if ((s = st_session_new(sb.m, &so, &sb.s, &err))) {
        if (s == ST_ERR_UNSUPPORTED)
            printf("verify: not verified: stele cannot run %s (%s)\n", out_path, err.msg);
        else printf("verify: FAIL: %s: %s\n", out_path, err.msg);
        rc = s == ST_ERR_UNSUPPORTED ? EXIT_OK : EXIT_CHECK;
        goto done;
    }
    sa.m = src; /* borrowed: cleared before cmp_side_clear can free it */
    if (cli_inputs_build(src, in_path, inp, &ins, &names, &n_in)) {
        printf("verify: not verified: no inputs for %s (see above; give --input or --shape)\n",
               in_path);
        goto done;
    }
    if (cmp_side_run(&sa, n_in, names, ins)) {
        printf("verify: not verified: %s does not run on these inputs (see above)\n", in_path);
        goto done;
    }
    if (cmp_side_run(&sb, n_in, names, ins)) {
        printf("verify: FAIL: %s does not run on the inputs the source runs on (see above)\n",
               out_path);
        rc = EXIT_CHECK;
        goto done;
    }
    if ((rc = cmp_sides(&sa, &sb, atol, rtol, &res))) goto done;
    bool random = (size_t)inp->n_files < n_in;
    char seed[48] = "";
    if (random) snprintf(seed, sizeof seed, "seed %llu, ", inp->seed);
    printf("verify: %s on %s inputs (%satol %s, rtol %s): ", res.ok ? "PASS" : "FAIL",
           random ? "seeded random"
           : n_in ? "the given"
                  : "no",
           seed, cmp_num(atol, b1, sizeof b1), cmp_num(rtol, b2, sizeof b2));
    print_errors(&res);
    putchar('\n');
    rc = res.ok ? EXIT_OK : EXIT_CHECK;
done:
    cmp_result_free(&res);
    if (ins)
        for (size_t i = 0; i < n_in; i++) st_value_clear(&ins[i]);
    free(ins);
    free(names);
    sa.m = NULL; /* the caller owns src */
    cmp_side_clear(&sa);
    cmp_side_clear(&sb);
    return rc;
}

int cmd_convert(int argc, char **argv) {
    cli_args a = {argc, 1, argv, "convert"};
    cli_inputs inp;
    memset(&inp, 0, sizeof inp);
    const char *in = NULL, *out = NULL, *to = NULL, *v, *signature = NULL;
    long long ext = 0, opset = 0;
    double atol = 1e-4, rtol = 1e-3;
    bool no_verify = false;
    int status = 0;
    for (; a.i < argc && !status; a.i++) {
        if (cli_flag(&a, "-h") || cli_flag(&a, "--help")) {
            fputs(convert_help, stdout);
            goto free_opts;
        }
        if (cli_inputs_opt(&a, &inp, &status)) continue;
        if (cli_tol_opt(&a, &atol, &rtol, &status)) continue;
        if (cli_opt(&a, "--to", &v, &status)) {
            to = v;
        } else if (cli_opt(&a, "--signature", &v, &status)) {
            signature = v;
        } else if (cli_opt(&a, "--external-data", &v, &status)) {
            if (v && !cli_parse_int(v, 1, INT64_MAX, &ext))
                status = cli_usage_error("convert", "--external-data takes a byte count");
        } else if (cli_opt(&a, "--opset", &v, &status)) {
            if (v && !cli_parse_int(v, 7, 25, &opset))
                status = cli_usage_error("convert", "--opset takes a version from 7 to 25");
        } else if (cli_flag(&a, "--no-verify")) {
            no_verify = true;
        } else if (argv[a.i][0] == '-' && argv[a.i][1]) {
            status = cli_usage_error("convert", "unknown option '%s'", argv[a.i]);
        } else if (!in) {
            in = argv[a.i];
        } else if (!out) {
            out = argv[a.i];
        } else {
            status = cli_usage_error("convert", "unexpected argument '%s'", argv[a.i]);
        }
    }
    if (status) goto free_opts;
    if (!in || !out) {
        status = cli_usage_error("convert", "needs IN and OUT");
        goto free_opts;
    }
    st_save_opts so = {.external_threshold = (size_t)ext, .target_opset = (int)opset};
    if (to) {
        so.format = st_format_from_name(to);
        if (!so.format) {
            status = cli_usage_error("convert",
                                     "--to takes onnx, torchscript or savedmodel, not '%s'", to);
            goto free_opts;
        }
    }
    st_error err;
    st_model *m;
    st_load_opts lo = {.signature = signature};
    if (st_model_load(in, &lo, &m, &err)) {
        status = cli_fail("%s", err.msg);
        goto free_opts;
    }
#ifdef STELE_TEST_HOOKS
    /* test builds only: tests/compare makes this save wrong on purpose to test verification */
    const char *fault = getenv("STELE_TEST_FAULT");
    if (fault && !strcmp(fault, "perturb-first-weight"))
        st_test_control(ST_TESTCTRL_SAVE_FAULT, ST_TESTFAULT_PERTURB_FIRST_WEIGHT);
#endif
    if (st_model_save(m, out, &so, &err)) {
        status = cli_fail("%s", err.msg);
    } else {
        printf("%s (%s) -> %s\n", in, st_format_name(st_model_format(m)), out);
        fflush(stdout);
        /* the written format: as asked, else what the file turned out to be */
        st_format fmt = so.format ? so.format : st_format_detect(out);
        if (!no_verify) status = verify(m, in, out, fmt, &inp, atol, rtol);
    }
    st_model_free(m);
free_opts:
    for (int i = 0; i < inp.n_files; i++) free((char *)inp.file_names[i]);
    for (int i = 0; i < inp.n_shapes; i++) free((char *)inp.shape_names[i]);
    return status;
}
